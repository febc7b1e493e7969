//! Import wizard and list exports.

use std::path::{Path, PathBuf};

use riskdesk_core::export::{self, ExportFormat, ExportResult, ExportView};
use riskdesk_core::import::{
    self, Analysis, ImportKind, ImportLogEntry, ImportMode, ImportProgress, ImportReport,
    ImportRequest,
};
use tauri::ipc::Channel;
use tauri::State;

use super::today;
use super::work::current_user_id;
use crate::error::{AppError, AppResult};
use crate::AppState;

pub(crate) fn existing_file(field: &str, path: &str) -> AppResult<PathBuf> {
    let path = path.trim();
    if path.is_empty() {
        return Err(AppError::Invalid {
            field: field.into(),
            reason: "choose a file".into(),
        });
    }
    let p = PathBuf::from(path);
    if !p.is_file() {
        return Err(AppError::Invalid {
            field: field.into(),
            reason: format!("{path} is not a file this app can read"),
        });
    }
    Ok(p)
}

/// Reads a file's header and first rows and suggests how its columns map.
#[tauri::command]
#[specta::specta]
pub async fn analyze_import(kind: ImportKind, path: String) -> AppResult<Analysis> {
    let path = existing_file("path", &path)?;
    tauri::async_runtime::spawn_blocking(move || import::analyze(kind, &path))
        .await
        .map_err(|e| AppError::Store {
            message: e.to_string(),
        })?
        .map_err(Into::into)
}

/// Checks or imports a file. After an import that changed something, the touched
/// accounts are re-scored and the rules run over them before this returns ("scoring").
#[tauri::command]
#[specta::specta]
pub async fn run_import(
    state: State<'_, AppState>,
    request: ImportRequest,
    on_progress: Channel<ImportProgress>,
) -> AppResult<ImportReport> {
    existing_file("path", &request.path)?;
    let send = |p: ImportProgress| {
        // A closed window is no reason to stop importing.
        let _ = on_progress.send(p);
    };
    let outcome = import::import(&state.store, &request, today(), send).await?;
    if outcome.report.committed && request.mode != ImportMode::Check {
        import::rescore(&state.store, outcome.touched, today(), |done, total| {
            send(ImportProgress {
                phase: "scoring".into(),
                done: done as f64,
                total: total as f64,
            })
        })
        .await?;
    }
    Ok(outcome.report)
}

#[tauri::command]
#[specta::specta]
pub async fn import_history(state: State<'_, AppState>) -> AppResult<Vec<ImportLogEntry>> {
    Ok(import::history(state.store.pool(), 20).await?)
}

/// Writes a list, with the filters on screen, to `path` as CSV or Excel.
#[tauri::command]
#[specta::specta]
pub async fn export_list(
    state: State<'_, AppState>,
    view: ExportView,
    format: ExportFormat,
    path: String,
) -> AppResult<ExportResult> {
    let path = path.trim();
    if path.is_empty() {
        return Err(AppError::Invalid {
            field: "path".into(),
            reason: "choose where to save the file".into(),
        });
    }
    let me = current_user_id(&state).await?;
    let view = match view {
        ExportView::Worklist(mut q) => {
            q.user_id = me;
            ExportView::Worklist(q)
        }
        ExportView::Ctas(mut q) => {
            q.user_id = me;
            ExportView::Ctas(q)
        }
        other => other,
    };
    Ok(export::export(state.store.pool(), &view, format, Path::new(path), today()).await?)
}
