//! Tauri commands: each validates its input, calls riskdesk-core and maps the error.

pub mod data;
pub mod escalation;
pub mod rules;
pub mod sync;
pub mod team;
pub mod work;
pub mod worklist;

use riskdesk_core::health;
use riskdesk_core::health::history::{self, HistoryRetention};
use riskdesk_core::lifecycle::{self, StageCriteria};
use riskdesk_core::model::{Team, User};
use riskdesk_core::refresh;
use riskdesk_core::scorecard::{MeasureKind, Scorecard, ScorecardDefinition};
use riskdesk_core::severity::SeverityConfig;
use riskdesk_core::signals::SignalThresholds;
use riskdesk_core::store::{
    accounts, people, settings, AccountDetail, AccountPage, AccountQuery, Currency,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::{AppError, AppResult};
use crate::AppState;

/// The rule run log's name for a refresh a user asked for.
const RECOMPUTE: &str = "recompute";

pub(crate) fn parse_id(field: &str, id: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| AppError::Invalid {
            field: field.into(),
            reason: format!("'{id}' is not an id"),
        })
}

#[derive(Debug, Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    /// Where the local store lives, so a user can find and back it up.
    pub database_path: String,
    pub accounts: u32,
    /// Where the app's log is written (the OS log directory).
    pub log_dir: String,
}

/// Whether the store is ready; the window polls this until it is.
#[tauri::command]
#[specta::specta]
pub async fn startup_status(state: State<'_, AppState>) -> AppResult<crate::startup::Startup> {
    Ok(crate::startup::get(&state.startup))
}

/// First start: make the demo book (progress shows in `startup_status`).
#[tauri::command]
#[specta::specta]
pub async fn start_demo(state: State<'_, AppState>) -> AppResult<()> {
    if !crate::startup::claim_choice(&state.startup) {
        return Err(AppError::Invalid {
            field: "startup".into(),
            reason: "the store is already set up".into(),
        });
    }
    tauri::async_runtime::spawn(crate::startup::run(
        state.store.clone(),
        state.startup.clone(),
        true,
    ));
    Ok(())
}

/// First start: an empty store, with me as its admin.
#[tauri::command]
#[specta::specta]
pub async fn start_empty(
    state: State<'_, AppState>,
    name: String,
    email: String,
) -> AppResult<User> {
    if crate::startup::get(&state.startup) != crate::startup::Startup::Choose {
        return Err(AppError::Invalid {
            field: "startup".into(),
            reason: "the store is already set up".into(),
        });
    }
    let me = riskdesk_core::first_start::start_empty(&state.store, &name, &email).await?;
    if crate::startup::claim_choice(&state.startup) {
        let (store, status) = (state.store.clone(), state.startup.clone());
        crate::startup::finish(&store, &status).await?;
        tauri::async_runtime::spawn(crate::schedules(store));
    }
    Ok(people::get_user(state.store.pool(), &me.id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn app_info(app: tauri::AppHandle, state: State<'_, AppState>) -> AppResult<AppInfo> {
    let count = accounts::count_accounts(state.store.pool()).await?;
    Ok(AppInfo {
        version: app.package_info().version.to_string(),
        database_path: state.database_path.display().to_string(),
        accounts: u32::try_from(count).unwrap_or(u32::MAX),
        log_dir: log_dir(&app)?.display().to_string(),
    })
}

/// The store file's size and what compacting would give back (Settings › You).
#[tauri::command]
#[specta::specta]
pub async fn store_size(state: State<'_, AppState>) -> AppResult<riskdesk_core::store::StoreSize> {
    Ok(state.store.size().await?)
}

/// Returns the store's free pages to the disk (after a history retention change or an
/// upgrade that rebuilt a table).
#[tauri::command]
#[specta::specta]
pub async fn compact_store(
    state: State<'_, AppState>,
) -> AppResult<riskdesk_core::store::Compaction> {
    Ok(state.store.compact().await?)
}

fn log_dir(app: &tauri::AppHandle) -> AppResult<std::path::PathBuf> {
    use tauri::Manager;
    app.path().app_log_dir().map_err(|e| AppError::Store {
        message: format!("the log directory is unknown: {e}"),
    })
}

/// Opens the log directory in the system's file manager ("Show logs"); returns it.
#[tauri::command]
#[specta::specta]
pub async fn show_logs(app: tauri::AppHandle) -> AppResult<String> {
    use tauri_plugin_opener::OpenerExt;
    let dir = log_dir(&app)?;
    std::fs::create_dir_all(&dir).map_err(|e| AppError::Store {
        message: format!("could not create {}: {e}", dir.display()),
    })?;
    let shown = dir.display().to_string();
    app.opener()
        .open_path(shown.clone(), None::<&str>)
        .map_err(|e| AppError::Store {
            message: format!("could not open {shown}: {e}"),
        })?;
    Ok(shown)
}

#[tauri::command]
#[specta::specta]
pub async fn list_users(state: State<'_, AppState>) -> AppResult<Vec<User>> {
    Ok(people::list_users(state.store.pool()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_teams(state: State<'_, AppState>) -> AppResult<Vec<Team>> {
    Ok(people::list_teams(state.store.pool()).await?)
}

/// Who is using this device, if they have said.
#[tauri::command]
#[specta::specta]
pub async fn current_user(state: State<'_, AppState>) -> AppResult<Option<User>> {
    let pool = state.store.pool();
    match settings::get(pool, settings::CURRENT_USER).await? {
        Some(id) => match people::get_user(pool, &id).await {
            Ok(user) => Ok(Some(user)),
            Err(riskdesk_core::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        },
        None => Ok(None),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn set_current_user(state: State<'_, AppState>, user_id: String) -> AppResult<User> {
    let id = parse_id("user_id", &user_id)?;
    let user = people::get_user(state.store.pool(), &id).await?;
    let mut tx = state.store.write().await?;
    settings::set(&mut tx, settings::CURRENT_USER, &user.id).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    Ok(user)
}

#[tauri::command]
#[specta::specta]
pub async fn query_accounts(
    state: State<'_, AppState>,
    query: AccountQuery,
) -> AppResult<AccountPage> {
    let query = checked_query(query)?;
    Ok(accounts::query_accounts(state.store.pool(), &query).await?)
}

/// An Accounts query as the UI sends it, checked: the owner is an id or "unassigned".
fn checked_query(mut query: AccountQuery) -> AppResult<AccountQuery> {
    if let Some(owner) = query
        .owner_id
        .as_deref()
        .filter(|o| *o != accounts::UNASSIGNED)
    {
        query.owner_id = Some(parse_id("owner_id", owner)?);
    }
    if query.search.as_ref().is_some_and(|s| s.len() > 200) {
        return Err(AppError::Invalid {
            field: "search".into(),
            reason: "is longer than 200 characters".into(),
        });
    }
    Ok(query)
}

/// Gives every account the query matches (all pages, typically the unassigned ones) to
/// `owner_id`; returns how many.
#[tauri::command]
#[specta::specta]
pub async fn assign_accounts(
    state: State<'_, AppState>,
    query: AccountQuery,
    owner_id: String,
) -> AppResult<u32> {
    let query = checked_query(query)?;
    let owner = parse_id("owner_id", &owner_id)?;
    Ok(riskdesk_core::people::assign_accounts(&state.store, &query, &owner, today()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn account_detail(
    state: State<'_, AppState>,
    account_id: String,
) -> AppResult<AccountDetail> {
    let id = parse_id("account_id", &account_id)?;
    Ok(accounts::account_detail(state.store.pool(), &id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn currencies(state: State<'_, AppState>) -> AppResult<Vec<Currency>> {
    Ok(accounts::currencies(state.store.pool()).await?)
}

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[tauri::command]
#[specta::specta]
pub async fn account_health(
    state: State<'_, AppState>,
    account_id: String,
) -> AppResult<health::AccountHealth> {
    let id = parse_id("account_id", &account_id)?;
    Ok(health::account_health(&state.store, &id).await?)
}

/// Refreshes one account now: scores, stage, signals, rules, escalation, priority.
#[tauri::command]
#[specta::specta]
pub async fn recompute_account(
    state: State<'_, AppState>,
    account_id: String,
) -> AppResult<health::AccountHealth> {
    let id = parse_id("account_id", &account_id)?;
    accounts::get_account(state.store.pool(), &id).await?;
    refresh::run(
        &state.store,
        refresh::Scope::Accounts(vec![id.clone()]),
        today(),
        RECOMPUTE,
        |_, _| {},
    )
    .await?;
    Ok(health::account_health(&state.store, &id).await?)
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RecomputeProgress {
    pub done: u32,
    pub total: u32,
}

/// Re-scores the whole book, reporting progress on `on_progress`.
#[tauri::command]
#[specta::specta]
pub async fn recompute_all(
    state: State<'_, AppState>,
    on_progress: Channel<RecomputeProgress>,
) -> AppResult<health::RecomputeSummary> {
    let summary = refresh::run(
        &state.store,
        refresh::Scope::Book,
        today(),
        RECOMPUTE,
        |done, total| {
            // A closed window is no reason to stop scoring.
            let _ = on_progress.send(RecomputeProgress {
                done: done as u32,
                total: total as u32,
            });
        },
    )
    .await?;
    Ok(summary.health)
}

#[tauri::command]
#[specta::specta]
pub async fn last_recompute_day(
    state: State<'_, AppState>,
) -> AppResult<Option<chrono::NaiveDate>> {
    Ok(health::last_computed_day(state.store.pool()).await?)
}

pub(crate) fn parse_day(
    field: &str,
    value: Option<String>,
) -> AppResult<Option<chrono::NaiveDate>> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| AppError::Invalid {
                field: field.into(),
                reason: format!("'{v}' is not a date (YYYY-MM-DD)"),
            })
        })
        .transpose()
}

/// A CSM's judgment on one measure, with the reason; authored by the current user.
#[tauri::command]
#[specta::specta]
pub async fn override_measure(
    state: State<'_, AppState>,
    account_id: String,
    measure: MeasureKind,
    score: f64,
    comment: String,
    expires_on: Option<String>,
) -> AppResult<health::AccountHealth> {
    let id = parse_id("account_id", &account_id)?;
    let expires = parse_day("expires_on", expires_on)?;
    let author = settings::get(state.store.pool(), settings::CURRENT_USER).await?;
    Ok(riskdesk_core::overrides::override_measure(
        &state.store,
        &id,
        measure,
        score,
        &comment,
        author.as_deref(),
        expires,
        today(),
    )
    .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_override(
    state: State<'_, AppState>,
    override_id: String,
) -> AppResult<health::AccountHealth> {
    let id = parse_id("override_id", &override_id)?;
    Ok(riskdesk_core::overrides::remove_override(&state.store, &id, today()).await?)
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct MeasureInfo {
    pub kind: MeasureKind,
    pub label: String,
    pub unit: String,
}

#[tauri::command]
#[specta::specta]
pub async fn measure_kinds() -> AppResult<Vec<MeasureInfo>> {
    Ok(MeasureKind::ALL
        .iter()
        .map(|k| MeasureInfo {
            kind: *k,
            label: k.label().into(),
            unit: k.unit().into(),
        })
        .collect())
}

#[tauri::command]
#[specta::specta]
pub async fn list_scorecards(state: State<'_, AppState>) -> AppResult<Vec<Scorecard>> {
    Ok(health::scorecards(&state.store).await?)
}

/// Saves a scorecard (a new one when `id` is null) after validating it.
#[tauri::command]
#[specta::specta]
pub async fn save_scorecard(
    state: State<'_, AppState>,
    id: Option<String>,
    name: String,
    definition: ScorecardDefinition,
) -> AppResult<Scorecard> {
    let id = id.map(|i| parse_id("id", &i)).transpose()?;
    Ok(health::save_scorecard(&state.store, id.as_deref(), &name, &definition).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn signal_thresholds(state: State<'_, AppState>) -> AppResult<SignalThresholds> {
    Ok(health::signal_thresholds(&state.store).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_signal_thresholds(
    state: State<'_, AppState>,
    thresholds: SignalThresholds,
) -> AppResult<SignalThresholds> {
    health::save_signal_thresholds(&state.store, &thresholds).await?;
    Ok(thresholds)
}

#[tauri::command]
#[specta::specta]
pub async fn stage_criteria(state: State<'_, AppState>) -> AppResult<StageCriteria> {
    Ok(lifecycle::criteria(&state.store).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_stage_criteria(
    state: State<'_, AppState>,
    criteria: StageCriteria,
) -> AppResult<StageCriteria> {
    lifecycle::save_criteria(&state.store, &criteria).await?;
    Ok(criteria)
}

#[tauri::command]
#[specta::specta]
pub async fn history_retention(state: State<'_, AppState>) -> AppResult<HistoryRetention> {
    Ok(history::retention(state.store.pool()).await?)
}

/// Saves how long score history is kept; the next daily refresh thins it.
#[tauri::command]
#[specta::specta]
pub async fn save_history_retention(
    state: State<'_, AppState>,
    retention: HistoryRetention,
) -> AppResult<HistoryRetention> {
    history::save_retention(&state.store, &retention).await?;
    Ok(retention)
}

/// Logs an NPS response; the account is re-scored before this returns.
#[tauri::command]
#[specta::specta]
pub async fn log_nps_response(
    state: State<'_, AppState>,
    account_id: String,
    contact_id: Option<String>,
    score: i32,
    comment: String,
    responded_on: String,
) -> AppResult<health::AccountHealth> {
    let account_id = parse_id("account_id", &account_id)?;
    let contact_id = contact_id
        .filter(|c| !c.is_empty())
        .map(|c| parse_id("contact_id", &c))
        .transpose()?;
    let responded_on =
        parse_day("responded_on", Some(responded_on))?.ok_or_else(|| AppError::Invalid {
            field: "responded_on".into(),
            reason: "is required".into(),
        })?;
    let response = riskdesk_core::model::NpsResponse {
        id: riskdesk_core::new_id(),
        account_id,
        contact_id,
        score,
        comment: comment.trim().to_string(),
        responded_on,
        external_id: None,
    };
    let account_id = response.account_id.clone();
    riskdesk_core::overrides::log_nps_response(&state.store, &response, today()).await?;
    Ok(health::account_health(&state.store, &account_id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn severity_config(state: State<'_, AppState>) -> AppResult<SeverityConfig> {
    Ok(health::severity_config(&state.store).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_severity_config(
    state: State<'_, AppState>,
    config: SeverityConfig,
) -> AppResult<SeverityConfig> {
    health::save_severity_config(&state.store, &config).await?;
    Ok(config)
}
