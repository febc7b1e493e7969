//! Self-hosted updates: the app asks the team's own riskdesk-server (the one it syncs
//! with) whether a newer release exists, downloads it and checks its signature against
//! the public key built into the app; it installs only when the user says so. Without a
//! server the app runs as it is and never updates itself.

use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_updater::{Update, UpdaterExt};
use tokio::sync::Mutex;

use crate::error::{AppError, AppResult};
use crate::AppState;

/// A downloaded, verified update waiting for "Install and restart".
#[derive(Default)]
pub struct Pending(Mutex<Option<(Update, Vec<u8>)>>);

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct UpdateCheck {
    pub current: String,
    /// The server asked; None when the app syncs with none.
    pub server: Option<String>,
    /// A newer release, downloaded and its signature checked.
    pub available: Option<AvailableUpdate>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AvailableUpdate {
    pub version: String,
    pub notes: String,
}

/// `what` failed, with each cause under it (a timed-out download reads "error decoding
/// response body" alone; what lies under it says why).
fn failed(what: &str, e: impl std::error::Error) -> AppError {
    AppError::Update {
        message: format!("{what}: {}", riskdesk_sync::http::with_causes(&e)),
    }
}

/// How long the update server (or the file share a bundle is on) may take to answer a
/// connection, and then to send the next bytes: a server that stops answering ends the
/// check with an error instead of leaving it "Checking…" for good. No limit on the whole
/// download, which a slow but moving link may need minutes for.
const CONNECT_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);
const STALL_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// [`STALL_AFTER`], or in a debug build `RISKDESK_UPDATE_STALL_SECS` (the end-to-end test
/// of a stalled download waits seconds, not half a minute).
fn stall_after() -> std::time::Duration {
    #[cfg(debug_assertions)]
    if let Some(secs) = std::env::var("RISKDESK_UPDATE_STALL_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        return std::time::Duration::from_secs(secs);
    }
    STALL_AFTER
}

/// Why the update server's address was not taken. A release build takes updates over
/// HTTPS only, while the same server may sync over plain HTTP: that case says what to do.
fn endpoint_refused(server: &str, e: tauri_plugin_updater::Error) -> AppError {
    match e {
        tauri_plugin_updater::Error::InsecureTransportProtocol => AppError::Update {
            message: format!(
                "{server} speaks plain HTTP, and updates come only over HTTPS: the server's admin serves it with --tls-cert and --tls-key, or behind a TLS proxy"
            ),
        },
        e => failed("the update server's address", e),
    }
}

/// Whether a failed download failed on the way (the network, the file share), not on
/// the bundle's signature: only the latter is a refusal.
fn on_the_way(e: &tauri_plugin_updater::Error) -> bool {
    use tauri_plugin_updater::Error;
    matches!(e, Error::Reqwest(_) | Error::Network(_) | Error::Io(_))
}

/// Asks the team's server for a newer release; when there is one, downloads it and checks
/// its signature. A bundle whose signature does not match the app's key is refused.
#[tauri::command]
#[specta::specta]
pub async fn check_for_update(
    app: AppHandle,
    state: State<'_, AppState>,
    pending: State<'_, Pending>,
) -> AppResult<UpdateCheck> {
    let current = app.package_info().version.to_string();
    let server =
        riskdesk_core::store::settings::get(state.store.pool(), riskdesk_core::sync::SERVER_URL)
            .await?;
    let Some(server) = server.filter(|s| !s.trim().is_empty()) else {
        return Ok(UpdateCheck {
            current,
            server: None,
            available: None,
        });
    };
    let endpoint = format!(
        "{}/v1/updates/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}",
        server.trim_end_matches('/')
    );
    let url = endpoint
        .parse()
        .map_err(|e| failed("the update server's address", e))?;
    let stall = stall_after();
    let builder = app
        .updater_builder()
        .endpoints(vec![url])
        .map_err(|e| endpoint_refused(&server, e))?
        .configure_client(move |client| client.connect_timeout(CONNECT_WITHIN).read_timeout(stall));
    // Tests sign with a key of their own; a release build trusts only its built-in key.
    #[cfg(debug_assertions)]
    let builder = match std::env::var("RISKDESK_UPDATER_PUBKEY") {
        Ok(key) => builder.pubkey(key),
        Err(_) => builder,
    };
    let updater = builder.build().map_err(|e| failed("the updater", e))?;
    let started = std::time::Instant::now();
    tracing::info!(%server, "checking for updates");
    let found = updater.check().await.map_err(|e| {
        tracing::warn!(%server, error = %e, elapsed = ?started.elapsed(), "the update check failed");
        failed(&format!("asking {server} for updates"), e)
    })?;
    let Some(update) = found else {
        tracing::info!(%server, elapsed = ?started.elapsed(), "no newer release");
        *pending.0.lock().await = None;
        return Ok(UpdateCheck {
            current,
            server: Some(server),
            available: None,
        });
    };
    // The download is where the signature is checked: a mismatch is an error, and
    // nothing is kept.
    let bytes = update.download(|_, _| {}, || {}).await.map_err(|e| {
        if on_the_way(&e) {
            tracing::warn!(version = %update.version, url = %update.download_url, error = %e, "an update could not be downloaded");
            return failed(
                &format!(
                    "Riskdesk {} could not be downloaded from {}",
                    update.version, update.download_url
                ),
                e,
            );
        }
        tracing::warn!(version = %update.version, error = %e, "an update was refused");
        failed(
            &format!(
                "Riskdesk {} was refused (its signature is not this app's key)",
                update.version
            ),
            e,
        )
    })?;
    tracing::info!(version = %update.version, bytes = bytes.len(), "an update was downloaded and verified");
    let available = AvailableUpdate {
        version: update.version.clone(),
        notes: update.body.clone().unwrap_or_default(),
    };
    *pending.0.lock().await = Some((update, bytes));
    Ok(UpdateCheck {
        current,
        server: Some(server),
        available: Some(available),
    })
}

/// Installs the verified update and restarts into it.
#[tauri::command]
#[specta::specta]
pub async fn install_update(app: AppHandle, pending: State<'_, Pending>) -> AppResult<()> {
    let Some((update, bytes)) = pending.0.lock().await.take() else {
        return Err(AppError::Invalid {
            field: "update".into(),
            reason: "check for updates first".into(),
        });
    };
    update
        .install(bytes)
        .map_err(|e| failed("installing the update", e))?;
    app.restart()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error decoding response body")]
    struct Body(#[source] Cause);
    #[derive(Debug, thiserror::Error)]
    #[error("operation timed out")]
    struct Cause;

    #[test]
    fn a_failure_names_what_failed_and_every_cause_under_it() {
        let AppError::Update { message } =
            failed("Riskdesk 9.9.2 could not be downloaded", Body(Cause))
        else {
            panic!("not an update error");
        };
        assert_eq!(
            message,
            "Riskdesk 9.9.2 could not be downloaded: error decoding response body: operation timed out"
        );
    }

    #[test]
    fn a_plain_http_server_is_told_how_to_serve_updates() {
        use tauri_plugin_updater::Error;
        let AppError::Update { message } =
            endpoint_refused("http://sync.acme.example", Error::InsecureTransportProtocol)
        else {
            panic!("not an update error");
        };
        assert!(message.starts_with("http://sync.acme.example speaks plain HTTP"));
        assert!(message.contains("--tls-cert"));
        let AppError::Update { message } =
            endpoint_refused("https://sync.acme.example", Error::UnsupportedOs)
        else {
            panic!("not an update error");
        };
        assert!(message.starts_with("the update server's address: "));
    }

    #[test]
    fn only_a_failure_on_the_way_is_not_a_refusal() {
        use tauri_plugin_updater::Error;
        assert!(on_the_way(&Error::Network("status 503".into())));
        assert!(on_the_way(&Error::Io(std::io::Error::other("reset"))));
        assert!(!on_the_way(&Error::ReleaseNotFound));
        assert!(!on_the_way(&Error::UnsupportedOs));
    }
}
