//! CTAs, their tasks and weekly updates, and the account timeline.

use riskdesk_core::cta::{self, CockpitQuery, CockpitRow, CtaDetail, CtaEdit, ManualCta};
use riskdesk_core::model::TimelineKind;
use riskdesk_core::store::settings;
use riskdesk_core::timeline::{self, NewActivity, TimelineItem};
use tauri::State;

use super::{parse_day, parse_id, today};
use crate::error::{AppError, AppResult};
use crate::AppState;

pub(crate) async fn current_user_id(state: &AppState) -> AppResult<Option<String>> {
    Ok(settings::get(state.store.pool(), settings::CURRENT_USER).await?)
}

/// A CTA change can move its account in the worklist: re-rank that account.
async fn rerank(state: &AppState, cta_id: &str) -> AppResult<()> {
    let account = cta::account_of(state.store.pool(), cta_id).await?;
    riskdesk_core::priority::refresh(&state.store, Some(vec![account]), today()).await?;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn account_ctas(
    state: State<'_, AppState>,
    account_id: String,
) -> AppResult<Vec<CtaDetail>> {
    let id = parse_id("account_id", &account_id)?;
    Ok(cta::account_ctas(state.store.pool(), &id).await?)
}

/// The Cockpit's list; "mine" and "team" are the current user's.
#[tauri::command]
#[specta::specta]
pub async fn cockpit_ctas(
    state: State<'_, AppState>,
    mut query: CockpitQuery,
) -> AppResult<Vec<CockpitRow>> {
    query.user_id = current_user_id(&state).await?;
    Ok(cta::cockpit(state.store.pool(), &query).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn cta_detail(state: State<'_, AppState>, cta_id: String) -> AppResult<CtaDetail> {
    let id = parse_id("cta_id", &cta_id)?;
    Ok(cta::detail(state.store.pool(), &id).await?)
}

/// Opens a CTA by hand; returns it as the Cockpit shows it.
#[tauri::command]
#[specta::specta]
pub async fn create_cta(state: State<'_, AppState>, cta: ManualCta) -> AppResult<CtaDetail> {
    let mut m = cta;
    m.account_id = parse_id("account_id", &m.account_id)?;
    if let Some(owner) = &m.owner_id {
        m.owner_id = Some(parse_id("owner_id", owner)?);
    }
    let id = cta::create_manual(&state.store, &m, today()).await?;
    // Made here by this device's user: not news to notify them of.
    riskdesk_core::notify::note_own(&state.store, &id).await?;
    rerank(&state, &id).await?;
    Ok(cta::detail(state.store.pool(), &id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn edit_cta(
    state: State<'_, AppState>,
    cta_id: String,
    edit: CtaEdit,
) -> AppResult<CtaDetail> {
    let id = parse_id("cta_id", &cta_id)?;
    let mut tx = state.store.write().await?;
    cta::edit(&mut tx, &id, &edit).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    riskdesk_core::notify::note_own(&state.store, &id).await?;
    rerank(&state, &id).await?;
    Ok(cta::detail(state.store.pool(), &id).await?)
}

/// Closes a CTA with an outcome (saved, downsell, churned, no longer relevant).
#[tauri::command]
#[specta::specta]
pub async fn close_cta(
    state: State<'_, AppState>,
    cta_id: String,
    outcome: String,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    if riskdesk_core::escalation::is_open(state.store.pool(), &id).await? {
        return Err(AppError::Invalid {
            field: "cta".into(),
            reason: "this is a leadership escalation: close it in Escalations with its outcome, or de-escalate it".into(),
        });
    }
    let mut tx = state.store.write().await?;
    cta::close(&mut tx, &id, &outcome).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    rerank(&state, &id).await
}

/// Snoozes a CTA until a date with a reason; rules leave it alone until then.
#[tauri::command]
#[specta::specta]
pub async fn snooze_cta(
    state: State<'_, AppState>,
    cta_id: String,
    until: String,
    reason: String,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    let until = parse_day("until", Some(until))?.ok_or_else(|| AppError::Invalid {
        field: "until".into(),
        reason: "is required".into(),
    })?;
    let mut tx = state.store.write().await?;
    cta::snooze(&mut tx, &id, until, &reason, today()).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    rerank(&state, &id).await
}

/// Adds a weekly risk update (background, done so far, next steps) by the current user.
#[tauri::command]
#[specta::specta]
pub async fn add_risk_update(
    state: State<'_, AppState>,
    cta_id: String,
    background: String,
    done_so_far: String,
    next_steps: String,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    let author = current_user_id(&state).await?;
    let mut tx = state.store.write().await?;
    cta::add_update(
        &mut tx,
        &id,
        author.as_deref(),
        &background,
        &done_so_far,
        &next_steps,
    )
    .await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn flag_cta(state: State<'_, AppState>, cta_id: String, flagged: bool) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    let mut tx = state.store.write().await?;
    cta::set_flag(&mut tx, &id, flagged).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    rerank(&state, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_cta_task(
    state: State<'_, AppState>,
    cta_id: String,
    title: String,
    due_on: Option<String>,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    let due = parse_day("due_on", due_on)?;
    let mut tx = state.store.write().await?;
    cta::add_task(&mut tx, &id, &title, due).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn set_task_done(
    state: State<'_, AppState>,
    task_id: String,
    done: bool,
) -> AppResult<()> {
    let id = parse_id("task_id", &task_id)?;
    let mut tx = state.store.write().await?;
    cta::set_task_done(&mut tx, &id, done).await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    Ok(())
}

/// Logs a call, meeting, email or note on an account (optionally about one CTA), by the
/// current user, on a day (the day is what the CSM knows).
#[tauri::command]
#[specta::specta]
pub async fn log_activity(
    state: State<'_, AppState>,
    account_id: String,
    kind: TimelineKind,
    occurred_on: String,
    body: String,
    cta_id: Option<String>,
) -> AppResult<()> {
    let account_id = parse_id("account_id", &account_id)?;
    let cta_id = cta_id
        .filter(|c| !c.is_empty())
        .map(|c| parse_id("cta_id", &c))
        .transpose()?;
    let day = parse_day("occurred_on", Some(occurred_on))?.ok_or_else(|| AppError::Invalid {
        field: "occurred_on".into(),
        reason: "is required".into(),
    })?;
    // Today's activity happened just now; an earlier day's, at noon UTC.
    let now = chrono::Utc::now();
    let at = if day >= today() {
        now
    } else {
        day.and_hms_opt(12, 0, 0).map_or(now, |t| t.and_utc())
    };
    let author = current_user_id(&state).await?;
    let mut tx = state.store.write().await?;
    timeline::log(
        &mut tx,
        &NewActivity {
            account_id,
            kind,
            occurred_at: at,
            body,
            cta_id,
        },
        author.as_deref(),
    )
    .await?;
    tx.commit().await.map_err(riskdesk_core::Error::from)?;
    Ok(())
}

/// The newest 200 entries of an account's timeline.
#[tauri::command]
#[specta::specta]
pub async fn account_timeline(
    state: State<'_, AppState>,
    account_id: String,
) -> AppResult<Vec<TimelineItem>> {
    let id = parse_id("account_id", &account_id)?;
    Ok(timeline::of_account(state.store.pool(), &id, 200).await?)
}
