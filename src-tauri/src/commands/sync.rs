//! Settings › Sync and the status bar: connect to a server (password or invite), sync now,
//! how often to sync, sign out.

use riskdesk_core::store::settings;
use riskdesk_core::sync::{self, ConflictView, Progress, SyncReport, SyncStatus};
use riskdesk_core::Store;
use riskdesk_sync::http::HttpClient;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::{AppError, AppResult};
use crate::AppState;

/// One sync round with the stored server and token, its outcome noted for the status bar.
pub async fn sync_with_stored(
    store: &Store,
    vault: &sync::Vault,
    progress: impl FnMut(Progress),
) -> AppResult<SyncReport> {
    let pool = store.pool();
    let (Some(url), Some(token)) = (settings::get(pool, sync::SERVER_URL).await?, vault.load()?)
    else {
        return Err(AppError::Invalid {
            field: "sync".into(),
            reason: "connect to a server in Settings › Sync first".into(),
        });
    };
    let client = HttpClient::with_token(&url, &token);
    let outcome = sync::sync_once(store, &client, progress)
        .await
        .map_err(|e| e.to_string());
    sync::note_attempt(store, &outcome).await?;
    outcome.map_err(|reason| AppError::Invalid {
        field: "sync".into(),
        reason,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn sync_status(state: State<'_, AppState>) -> AppResult<SyncStatus> {
    Ok(sync::status(state.store.pool(), &state.vault).await?)
}

fn server_url(url: &str) -> AppResult<&str> {
    let url = url.trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(AppError::Invalid {
            field: "server_url".into(),
            reason: "must start with https:// (or http:// for a server on this network)".into(),
        })
    }
}

/// Remembers a signed-in client, starts capturing this device's changes and syncs once,
/// reporting progress (a first sync of a large book takes a while).
async fn start_syncing(
    state: &AppState,
    url: &str,
    fallback_email: &str,
    client: Result<HttpClient, String>,
    share_existing: bool,
    on_progress: Channel<Progress>,
) -> AppResult<SyncReport> {
    let client = client.map_err(|reason| AppError::Invalid {
        field: "sign in".into(),
        reason,
    })?;
    let email = if client.email().is_empty() {
        fallback_email
    } else {
        client.email()
    };
    // What a device shares depends on who signs in: the directory is the admins' and
    // managers' to send (the server refuses it from anyone else).
    let share = sync::Share::for_role(share_existing, client.role());
    sync::connect(
        &state.store,
        &state.vault,
        url,
        email,
        client.token(),
        share,
    )
    .await?;
    sync_with_stored(&state.store, &state.vault, |p| {
        let _ = on_progress.send(p);
    })
    .await
}

/// Signs in to `server_url`, starts capturing this device's changes and syncs once.
/// `share_existing` sends what this device already holds (else it only receives).
#[tauri::command]
#[specta::specta]
pub async fn sync_connect(
    state: State<'_, AppState>,
    server_url: String,
    email: String,
    password: String,
    share_existing: bool,
    on_progress: Channel<Progress>,
) -> AppResult<SyncReport> {
    let url = self::server_url(&server_url)?;
    let client = HttpClient::sign_in(url, email.trim(), &password).await;
    start_syncing(
        &state,
        url,
        email.trim(),
        client,
        share_existing,
        on_progress,
    )
    .await
}

/// Accepts an invite from the admin: chooses this user's password, then connects as
/// `sync_connect` does.
#[tauri::command]
#[specta::specta]
pub async fn sync_accept_invite(
    state: State<'_, AppState>,
    server_url: String,
    code: String,
    password: String,
    share_existing: bool,
    on_progress: Channel<Progress>,
) -> AppResult<SyncReport> {
    let url = self::server_url(&server_url)?;
    if code.trim().is_empty() {
        return Err(AppError::Invalid {
            field: "invite code".into(),
            reason: "paste the code your admin sent you".into(),
        });
    }
    let client = HttpClient::accept_invite(url, code.trim(), &password).await;
    start_syncing(&state, url, "", client, share_existing, on_progress).await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    state: State<'_, AppState>,
    on_progress: Channel<Progress>,
) -> AppResult<SyncReport> {
    sync_with_stored(&state.store, &state.vault, |p| {
        let _ = on_progress.send(p);
    })
    .await
}

/// How often the background sync runs, in seconds (15–3600).
#[tauri::command]
#[specta::specta]
pub async fn sync_set_interval(state: State<'_, AppState>, seconds: u32) -> AppResult<SyncStatus> {
    sync::set_interval(&state.store, seconds).await?;
    Ok(sync::status(state.store.pool(), &state.vault).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn sync_disconnect(state: State<'_, AppState>) -> AppResult<SyncStatus> {
    sync::disconnect(&state.store, &state.vault).await?;
    Ok(sync::status(state.store.pool(), &state.vault).await?)
}

/// What is set aside: pulled changes this store could not take, pushed ones the server
/// refused, each with its reason.
#[tauri::command]
#[specta::specta]
pub async fn sync_set_aside(state: State<'_, AppState>) -> AppResult<Vec<sync::SetAside>> {
    Ok(sync::set_aside(state.store.pool()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn sync_conflicts(state: State<'_, AppState>) -> AppResult<Vec<ConflictView>> {
    Ok(sync::conflicts(&state.store).await?)
}
