//! Rules and playbooks: list, edit, preview, enable, run, and the run log.

use riskdesk_core::cta::{self, Playbook};
use riskdesk_core::rules::files::{self, ImportPlan};
use riskdesk_core::rules::run::{self, Rule, RuleSchedule, RunLogEntry, RunReport};
use riskdesk_core::rules::RuleDefinition;
use tauri::State;

use super::data::existing_file;
use super::{parse_id, today};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// Writes every rule to `path` as a rules file (the format `riskdesk rules export` writes).
#[tauri::command]
#[specta::specta]
pub async fn export_rules(state: State<'_, AppState>, path: String) -> AppResult<u32> {
    let path = path.trim();
    if path.is_empty() {
        return Err(AppError::Invalid {
            field: "path".into(),
            reason: "choose where to save the rules".into(),
        });
    }
    let file = files::export(&state.store).await?;
    let text = serde_json::to_string_pretty(&file).map_err(|e| AppError::Store {
        message: e.to_string(),
    })?;
    std::fs::write(path, text + "\n").map_err(|e| AppError::Invalid {
        field: "path".into(),
        reason: format!("could not write {path}: {e}"),
    })?;
    Ok(file.rules.len() as u32)
}

/// What importing the rules file at `path` would do (`apply` false) or did: the store's
/// rules become the file's. An invalid file is refused whole, each problem named.
#[tauri::command]
#[specta::specta]
pub async fn import_rules(
    state: State<'_, AppState>,
    path: String,
    apply: bool,
) -> AppResult<ImportPlan> {
    let path = existing_file("path", &path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| AppError::Invalid {
        field: "path".into(),
        reason: format!("could not read {}: {e}", path.display()),
    })?;
    let file = files::parse(&text)?;
    Ok(if apply {
        files::import(&state.store, &file).await?
    } else {
        files::plan(&state.store, &file).await?
    })
}

#[tauri::command]
#[specta::specta]
pub async fn list_rules(state: State<'_, AppState>) -> AppResult<Vec<Rule>> {
    Ok(run::rules(&state.store).await?)
}

/// Saves a rule; an invalid one is refused with every problem named.
#[tauri::command]
#[specta::specta]
pub async fn save_rule(
    state: State<'_, AppState>,
    rule_id: Option<String>,
    name: String,
    enabled: bool,
    definition: RuleDefinition,
) -> AppResult<Rule> {
    let id = rule_id.map(|id| parse_id("rule_id", &id)).transpose()?;
    Ok(run::save_rule(&state.store, id.as_deref(), &name, enabled, &definition).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_rule_enabled(
    state: State<'_, AppState>,
    rule_id: String,
    enabled: bool,
) -> AppResult<()> {
    let id = parse_id("rule_id", &rule_id)?;
    Ok(run::set_enabled(&state.store, &id, enabled).await?)
}

/// Which accounts a rule (saved or not) would fire on, and why; changes nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_rule(
    state: State<'_, AppState>,
    name: String,
    definition: RuleDefinition,
) -> AppResult<RunReport> {
    Ok(run::preview(&state.store, &name, &definition, today()).await?)
}

/// Runs every enabled rule over the whole book now (or previews it, with `dry_run`).
#[tauri::command]
#[specta::specta]
pub async fn run_rules(state: State<'_, AppState>, dry_run: bool) -> AppResult<RunReport> {
    Ok(run::run(&state.store, None, today(), dry_run, "on demand").await?)
}

#[tauri::command]
#[specta::specta]
pub async fn rule_run_log(state: State<'_, AppState>) -> AppResult<Vec<RunLogEntry>> {
    Ok(run::run_log(state.store.pool(), 50).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn rule_schedule(state: State<'_, AppState>) -> AppResult<RuleSchedule> {
    Ok(run::schedule(state.store.pool()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_rule_schedule(
    state: State<'_, AppState>,
    schedule: RuleSchedule,
) -> AppResult<RuleSchedule> {
    run::save_schedule(&state.store, schedule).await?;
    Ok(schedule)
}

#[tauri::command]
#[specta::specta]
pub async fn list_playbooks(state: State<'_, AppState>) -> AppResult<Vec<Playbook>> {
    Ok(cta::playbooks(&state.store).await?)
}

/// Saves a playbook; renaming it renames it in the rules that start it.
#[tauri::command]
#[specta::specta]
pub async fn save_playbook(
    state: State<'_, AppState>,
    playbook_id: Option<String>,
    playbook: Playbook,
) -> AppResult<Playbook> {
    let id = playbook_id
        .map(|id| parse_id("playbook_id", &id))
        .transpose()?;
    Ok(
        riskdesk_core::rules::playbooks::save_playbook(&state.store, id.as_deref(), &playbook)
            .await?,
    )
}
