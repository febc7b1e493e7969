//! Leadership escalation: criteria, escalate and de-escalate, the WBR, actions,
//! decisions, outcomes and the refinement report.

use riskdesk_core::escalation::refinement::{self, Refinement};
use riskdesk_core::escalation::{self, EscalationCriteria, EscalationOutcome, WbrItem};
use tauri::State;

use super::work::current_user_id;
use super::{parse_day, parse_id, today};
use crate::error::AppResult;
use crate::AppState;

#[tauri::command]
#[specta::specta]
pub async fn escalation_criteria(state: State<'_, AppState>) -> AppResult<EscalationCriteria> {
    Ok(escalation::criteria(&state.store).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_escalation_criteria(
    state: State<'_, AppState>,
    criteria: EscalationCriteria,
) -> AppResult<EscalationCriteria> {
    escalation::save_criteria(&state.store, &criteria).await?;
    Ok(criteria)
}

/// A CSM escalates an account to leadership, with a reason.
#[tauri::command]
#[specta::specta]
pub async fn escalate_account(
    state: State<'_, AppState>,
    account_id: String,
    reason: String,
) -> AppResult<String> {
    let id = parse_id("account_id", &account_id)?;
    let by = current_user_id(&state).await?;
    Ok(escalation::escalate(&state.store, &id, &reason, by.as_deref()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn de_escalate(
    state: State<'_, AppState>,
    cta_id: String,
    reason: String,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    Ok(escalation::de_escalate(&state.store, &id, &reason, today()).await?)
}

/// Closes an escalation with its outcome; a downsell says how much ARR (minor units of
/// the base currency) was kept.
#[tauri::command]
#[specta::specta]
pub async fn close_escalation(
    state: State<'_, AppState>,
    cta_id: String,
    outcome: EscalationOutcome,
    arr_retained_minor: Option<i64>,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    Ok(escalation::close(&state.store, &id, outcome, arr_retained_minor).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn wbr(state: State<'_, AppState>) -> AppResult<Vec<WbrItem>> {
    Ok(escalation::wbr(state.store.pool(), today()).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn add_escalation_action(
    state: State<'_, AppState>,
    cta_id: String,
    kind: String,
    description: String,
    owner_id: Option<String>,
    due_on: Option<String>,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    let owner = owner_id
        .filter(|o| !o.is_empty())
        .map(|o| parse_id("owner_id", &o))
        .transpose()?;
    let due = parse_day("due_on", due_on)?;
    escalation::add_action(
        &state.store,
        &id,
        &kind,
        &description,
        owner.as_deref(),
        due,
    )
    .await?;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn set_escalation_action_done(
    state: State<'_, AppState>,
    action_id: String,
    done: bool,
) -> AppResult<()> {
    let id = parse_id("action_id", &action_id)?;
    Ok(escalation::set_action_done(&state.store, &id, done).await?)
}

/// Records a decision by the current user.
#[tauri::command]
#[specta::specta]
pub async fn add_escalation_decision(
    state: State<'_, AppState>,
    cta_id: String,
    text: String,
) -> AppResult<()> {
    let id = parse_id("cta_id", &cta_id)?;
    let by = current_user_id(&state).await?;
    escalation::add_decision(&state.store, &id, &text, by.as_deref()).await?;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn escalation_refinement(state: State<'_, AppState>) -> AppResult<Refinement> {
    Ok(refinement::report(&state.store).await?)
}
