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

fn failed(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Store {
        message: format!("{what}: {e}"),
    }
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
    let builder = app
        .updater_builder()
        .endpoints(vec![url])
        .map_err(|e| failed("the update server's address", e))?;
    // Tests sign with a key of their own; a release build trusts only its built-in key.
    #[cfg(debug_assertions)]
    let builder = match std::env::var("RISKDESK_UPDATER_PUBKEY") {
        Ok(key) => builder.pubkey(key),
        Err(_) => builder,
    };
    let updater = builder.build().map_err(|e| failed("the updater", e))?;
    let found = updater
        .check()
        .await
        .map_err(|e| failed(&format!("asking {server} for updates"), e))?;
    let Some(update) = found else {
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
