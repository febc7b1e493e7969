//! Desktop notifications: every two minutes the current user's notices (see
//! `riskdesk_core::notify`) go to the OS, unless Riskdesk is the window in front (the app
//! shows the change itself) or the OS does not allow them.

use riskdesk_core::notify::{self, NotifySettings};
use riskdesk_core::Store;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_notification::{NotificationExt, PermissionState};

use crate::error::AppResult;
use crate::AppState;

const EVERY: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether the OS lets the app notify; asks once when it has not been asked.
fn allowed(app: &AppHandle) -> bool {
    let n = app.notification();
    match n.permission_state() {
        Ok(PermissionState::Granted) => true,
        Ok(PermissionState::Denied) | Err(_) => false,
        Ok(_) => matches!(n.request_permission(), Ok(PermissionState::Granted)),
    }
}

pub async fn run(app: AppHandle, store: Store) {
    loop {
        tokio::time::sleep(EVERY).await;
        if let Err(e) = once(&app, &store).await {
            tracing::warn!(error = %e, "could not gather notifications");
        }
    }
}

async fn once(app: &AppHandle, store: &Store) -> riskdesk_core::Result<()> {
    let Some(user) = riskdesk_core::store::settings::get(
        store.pool(),
        riskdesk_core::store::settings::CURRENT_USER,
    )
    .await?
    else {
        return Ok(());
    };
    let now = chrono::Utc::now();
    // Gathered even when nothing is shown, so nothing old pours out later.
    let notices = notify::collect(store, &user, now, now.date_naive()).await?;
    if notices.is_empty() {
        return Ok(());
    }
    let in_front = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if in_front || !allowed(app) {
        tracing::debug!(notices = notices.len(), in_front, "notifications not shown");
        return Ok(());
    }
    for n in notices {
        if let Err(e) = app
            .notification()
            .builder()
            .title(&n.title)
            .body(&n.body)
            .show()
        {
            tracing::warn!(error = %e, "the OS refused a notification");
        }
    }
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn notify_settings(state: State<'_, AppState>) -> AppResult<NotifySettings> {
    Ok(notify::notify_settings(state.store.pool()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_notify_settings(
    state: State<'_, AppState>,
    settings: NotifySettings,
) -> AppResult<NotifySettings> {
    notify::save_notify_settings(&state.store, &settings).await?;
    Ok(settings)
}
