//! The worklist and what hangs off it: why-here, renewal triage, the risk huddle, the
//! tech-touch lane, priority weights and risk categories.

use riskdesk_core::categories::{self, RiskCategory};
use riskdesk_core::cta::CtaScope;
use riskdesk_core::huddle::{self, HuddleCsm};
use riskdesk_core::lane::{self, LaneSummary};
use riskdesk_core::priority::{self, PriorityConfig};
use riskdesk_core::triage::{self, Triage};
use riskdesk_core::worklist::{self, WhyHere, WorklistPage, WorklistQuery};
use serde::Serialize;
use tauri::State;

use super::work::current_user_id;
use super::{parse_day, parse_id, today};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// One page of the ranked worklist; "mine" and "team" are the current user's.
#[tauri::command]
#[specta::specta]
pub async fn worklist_page(
    state: State<'_, AppState>,
    mut query: WorklistQuery,
) -> AppResult<WorklistPage> {
    query.user_id = current_user_id(&state).await?;
    // An owner is an id, or "unassigned" for accounts nobody owns yet.
    if let Some(owner) = query
        .owner_id
        .as_deref()
        .filter(|o| *o != riskdesk_core::store::accounts::UNASSIGNED)
    {
        query.owner_id = Some(parse_id("owner_id", owner)?);
    }
    Ok(worklist::page(state.store.pool(), &query, today()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn why_here(state: State<'_, AppState>, account_id: String) -> AppResult<WhyHere> {
    let id = parse_id("account_id", &account_id)?;
    Ok(worklist::why(&state.store, &id, today()).await?)
}

/// The owners whose books a scope covers: None for everyone.
async fn owners(state: &AppState, scope: CtaScope) -> AppResult<Option<Vec<String>>> {
    if scope == CtaScope::All {
        return Ok(None);
    }
    let me = current_user_id(state)
        .await?
        .ok_or_else(|| AppError::Invalid {
            field: "scope".into(),
            reason: "say who you are first".into(),
        })?;
    if scope == CtaScope::Mine {
        return Ok(Some(vec![me]));
    }
    Ok(Some(
        riskdesk_core::store::people::team_member_ids(state.store.pool(), &me).await?,
    ))
}

/// Renewal triage over a window (the next quarter when none is given).
#[tauri::command]
#[specta::specta]
pub async fn renewal_triage(
    state: State<'_, AppState>,
    scope: CtaScope,
    from: Option<String>,
    to: Option<String>,
) -> AppResult<Triage> {
    let (default_from, default_to) = triage::next_quarter(today());
    let from = parse_day("from", from)?.unwrap_or(default_from);
    let to = parse_day("to", to)?.unwrap_or(default_to);
    if to < from {
        return Err(AppError::Invalid {
            field: "to".into(),
            reason: format!("{to} is before {from}"),
        });
    }
    let owners = owners(&state, scope).await?;
    Ok(triage::renewals(&state.store, from, to, owners.as_deref(), today()).await?)
}

/// How triage orders upsells against risk.
#[tauri::command]
#[specta::specta]
pub async fn triage_settings(state: State<'_, AppState>) -> AppResult<triage::TriageSettings> {
    Ok(triage::settings(state.store.pool()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_triage_settings(
    state: State<'_, AppState>,
    settings: triage::TriageSettings,
) -> AppResult<triage::TriageSettings> {
    triage::save_settings(&state.store, &settings).await?;
    Ok(settings)
}

/// Each CSM's top five: the current user's team, or everyone's with `everyone`.
#[tauri::command]
#[specta::specta]
pub async fn risk_huddle(state: State<'_, AppState>, everyone: bool) -> AppResult<Vec<HuddleCsm>> {
    let me = if everyone {
        None
    } else {
        current_user_id(&state).await?
    };
    Ok(huddle::huddle(state.store.pool(), me.as_deref()).await?)
}

#[derive(Debug, Serialize, specta::Type)]
pub struct HuddleExport {
    pub path: String,
    pub markdown: String,
}

/// Writes the huddle as Markdown into the data directory's `exports` folder.
#[tauri::command]
#[specta::specta]
pub async fn export_huddle(state: State<'_, AppState>, everyone: bool) -> AppResult<HuddleExport> {
    let me = if everyone {
        None
    } else {
        current_user_id(&state).await?
    };
    let h = huddle::huddle(state.store.pool(), me.as_deref()).await?;
    let markdown = huddle::to_markdown(&h, today());
    let dir = state
        .database_path
        .parent()
        .map(|p| p.join("exports"))
        .ok_or_else(|| AppError::Store {
            message: "the data directory is unknown".into(),
        })?;
    let path = dir.join(format!("risk-huddle-{}.md", today()));
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, &markdown))
        .map_err(|e| AppError::Store {
            message: format!("could not write {}: {e}", path.display()),
        })?;
    Ok(HuddleExport {
        path: path.display().to_string(),
        markdown,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn tech_touch_lane(state: State<'_, AppState>) -> AppResult<LaneSummary> {
    Ok(lane::summary(&state.store, today()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn priority_config(state: State<'_, AppState>) -> AppResult<PriorityConfig> {
    Ok(priority::config(&state.store).await?)
}

/// Saves the weights and re-ranks the whole book with them.
#[tauri::command]
#[specta::specta]
pub async fn save_priority_config(
    state: State<'_, AppState>,
    config: PriorityConfig,
) -> AppResult<PriorityConfig> {
    priority::save_config(&state.store, &config, today()).await?;
    Ok(config)
}

#[tauri::command]
#[specta::specta]
pub async fn risk_categories(state: State<'_, AppState>) -> AppResult<Vec<RiskCategory>> {
    Ok(categories::list(&state.store).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_risk_category(
    state: State<'_, AppState>,
    category_id: Option<String>,
    name: String,
    owner_id: Option<String>,
) -> AppResult<RiskCategory> {
    let id = category_id
        .map(|id| parse_id("category_id", &id))
        .transpose()?;
    let owner = owner_id
        .filter(|o| !o.is_empty())
        .map(|o| parse_id("owner_id", &o))
        .transpose()?;
    Ok(categories::save(&state.store, id.as_deref(), &name, owner.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_risk_category(
    state: State<'_, AppState>,
    category_id: String,
) -> AppResult<()> {
    let id = parse_id("category_id", &category_id)?;
    Ok(categories::remove(&state.store, &id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn dashboard(
    state: State<'_, AppState>,
) -> AppResult<riskdesk_core::dashboard::Dashboard> {
    Ok(riskdesk_core::dashboard::dashboard(state.store.pool(), today()).await?)
}

#[derive(Debug, Serialize, specta::Type)]
pub struct ReportPreview {
    pub report: riskdesk_core::report::Report,
    /// The print-ready page, for the in-app preview and printing.
    pub html: String,
    /// Where exports go unless the user picks another folder.
    pub default_folder: String,
}

fn report_period(
    kind: riskdesk_core::report::ReportKind,
    to_date: bool,
) -> (chrono::NaiveDate, chrono::NaiveDate) {
    use chrono::Datelike;
    use riskdesk_core::report::{last_month, last_quarter, ReportKind};
    let now = today();
    match (kind, to_date) {
        (ReportKind::Monthly, false) => last_month(now),
        (ReportKind::RootCause, false) => last_quarter(now),
        (ReportKind::Monthly, true) => (now.with_day(1).unwrap_or(now), now),
        (ReportKind::RootCause, true) => (
            chrono::NaiveDate::from_ymd_opt(now.year(), now.month0() / 3 * 3 + 1, 1).unwrap_or(now),
            now,
        ),
    }
}

async fn build_report(
    state: &AppState,
    kind: riskdesk_core::report::ReportKind,
    to_date: bool,
) -> AppResult<riskdesk_core::report::Report> {
    use riskdesk_core::report::{self, ReportKind};
    let (from, to) = report_period(kind, to_date);
    Ok(match kind {
        ReportKind::Monthly => report::monthly(state.store.pool(), from, to).await?,
        ReportKind::RootCause => report::root_cause(state.store.pool(), from, to).await?,
    })
}

fn exports_folder(state: &AppState) -> String {
    state
        .database_path
        .parent()
        .map(|p| p.join("exports").display().to_string())
        .unwrap_or_default()
}

/// The monthly risk report or the quarterly root-cause review, for the last full period
/// or the current one so far.
#[tauri::command]
#[specta::specta]
pub async fn report_preview(
    state: State<'_, AppState>,
    kind: riskdesk_core::report::ReportKind,
    to_date: bool,
) -> AppResult<ReportPreview> {
    let report = build_report(&state, kind, to_date).await?;
    Ok(ReportPreview {
        html: riskdesk_core::report::to_html(&report),
        report,
        default_folder: exports_folder(&state),
    })
}

/// Writes the report as HTML (print it to PDF) and CSV into `folder`.
#[tauri::command]
#[specta::specta]
pub async fn export_report(
    state: State<'_, AppState>,
    kind: riskdesk_core::report::ReportKind,
    to_date: bool,
    folder: String,
) -> AppResult<Vec<String>> {
    if folder.trim().is_empty() {
        return Err(AppError::Invalid {
            field: "folder".into(),
            reason: "pick a folder".into(),
        });
    }
    let report = build_report(&state, kind, to_date).await?;
    let paths = riskdesk_core::report::export(&report, std::path::Path::new(folder.trim()))?;
    Ok(paths.into_iter().map(|p| p.display().to_string()).collect())
}
