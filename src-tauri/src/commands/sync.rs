//! Settings › Sync and the status bar: connect to a server, sync now, sign out.

use riskdesk_core::store::settings;
use riskdesk_core::sync::{self, ConflictView, SyncReport, SyncStatus};
use riskdesk_core::Store;
use riskdesk_sync::http::HttpClient;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::{AppError, AppResult};
use crate::AppState;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SyncProgress {
    /// "pushing" or "pulling".
    pub phase: String,
    pub changes: u32,
}

/// One sync round with the stored server and token, its outcome noted for the status bar.
pub async fn sync_with_stored(
    store: &Store,
    mut progress: impl FnMut(&str, u32),
) -> AppResult<SyncReport> {
    let pool = store.pool();
    let (Some(url), Some(token)) = (
        settings::get(pool, sync::SERVER_URL).await?,
        settings::get(pool, sync::TOKEN).await?,
    ) else {
        return Err(AppError::Invalid {
            field: "sync".into(),
            reason: "connect to a server in Settings › Sync first".into(),
        });
    };
    let client = HttpClient::with_token(&url, &token);
    let outcome = sync::sync_once(store, &client, |phase, n| progress(phase, n))
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
    Ok(sync::status(state.store.pool()).await?)
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
    on_progress: Channel<SyncProgress>,
) -> AppResult<SyncReport> {
    let url = server_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(AppError::Invalid {
            field: "server_url".into(),
            reason: "must start with https:// (or http:// for a server on this network)".into(),
        });
    }
    let client = HttpClient::sign_in(url, email.trim(), &password)
        .await
        .map_err(|reason| AppError::Invalid {
            field: "sign in".into(),
            reason,
        })?;
    sync::connect(
        &state.store,
        url,
        email.trim(),
        client.token(),
        share_existing,
    )
    .await?;
    sync_with_stored(&state.store, |phase, changes| {
        let _ = on_progress.send(SyncProgress {
            phase: phase.into(),
            changes,
        });
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    state: State<'_, AppState>,
    on_progress: Channel<SyncProgress>,
) -> AppResult<SyncReport> {
    sync_with_stored(&state.store, |phase, changes| {
        let _ = on_progress.send(SyncProgress {
            phase: phase.into(),
            changes,
        });
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn sync_disconnect(state: State<'_, AppState>) -> AppResult<SyncStatus> {
    sync::disconnect(&state.store).await?;
    Ok(sync::status(state.store.pool()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn sync_conflicts(state: State<'_, AppState>) -> AppResult<Vec<ConflictView>> {
    Ok(sync::conflicts(&state.store).await?)
}
