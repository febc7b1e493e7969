//! What a desktop app is expected to do: one running copy per store, a window that
//! comes back where it was left, and logs in the OS log directory.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tauri::plugin::TauriPlugin;
use tauri::{Manager, Runtime, Window, WindowEvent};
use tauri_plugin_log::{Target, TargetKind};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// The file name (without extension) of the app's log in the OS log directory.
pub const LOG_FILE: &str = "riskdesk";

/// The data directory the environment names (tests, portable installs), if any.
pub fn data_dir_from_env() -> Option<PathBuf> {
    std::env::var_os("RISKDESK_DATA_DIR").map(PathBuf::from)
}

/// A second start brings the running window forward instead of opening the store twice.
/// On Linux the lock is a D-Bus name; one per data directory, so two stores (a portable
/// install, a test) may still run side by side.
pub fn single_instance<R: Runtime>() -> TauriPlugin<R> {
    let mut builder = tauri_plugin_single_instance::Builder::new().callback(
        |app: &tauri::AppHandle<R>, _args, _cwd| {
            tracing::info!("a second start: bringing the running window forward");
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        },
    );
    if let Some(dir) = data_dir_from_env() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        dir.hash(&mut h);
        builder = builder.dbus_id(format!("app.riskdesk.desktop.store{:016x}", h.finish()));
    }
    builder.build()
}

/// Logs go to the OS log directory (and the terminal), through the Tauri log plugin;
/// the domain crates' tracing events arrive as log records.
pub fn logging<R: Runtime>() -> TauriPlugin<R> {
    // RUST_LOG's plain level ("debug", "info,sqlx=warn") sets the app's level.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.split(',').next().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(log::LevelFilter::Info);
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .target(Target::new(TargetKind::Stdout))
        .target(Target::new(TargetKind::LogDir {
            file_name: Some(LOG_FILE.into()),
        }))
        .level(level)
        .level_for("sqlx", log::LevelFilter::Warn)
        .level_for("tao", log::LevelFilter::Warn)
        .level_for("wry", log::LevelFilter::Warn)
        .level_for("hyper", log::LevelFilter::Warn)
        .level_for("reqwest", log::LevelFilter::Warn)
        .max_file_size(10_000_000)
        .rotation_strategy(tauri_plugin_log::RotationStrategy::KeepOne)
        .build()
}

/// The window's size and position, kept beside the store when a data directory is
/// given (so tests and portable installs keep their own), else in the app config dir.
pub fn window_state<R: Runtime>() -> TauriPlugin<R> {
    let mut builder = tauri_plugin_window_state::Builder::new()
        .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED);
    if let Some(dir) = data_dir_from_env() {
        builder = builder.with_filename(dir.join("window-state.json").to_string_lossy());
    }
    builder.build()
}

/// Saves the window's place a moment after it stops moving: the plugin saves on a clean
/// exit, and this keeps it when the app ends otherwise (a crash, a logout).
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    if !matches!(event, WindowEvent::Resized(_) | WindowEvent::Moved(_)) {
        return;
    }
    let this = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    let app = window.app_handle().clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        if GENERATION.load(Ordering::SeqCst) == this {
            if let Err(e) = app
                .save_window_state(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
            {
                tracing::warn!(error = %e, "could not save the window's place");
            }
        }
    });
}
