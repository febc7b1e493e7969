//! Settings › People: the team, with the CRM ids an account export's owners map to.

use riskdesk_core::people::{self, NewPerson, PeopleReport, Person};
use tauri::State;

use crate::error::{AppError, AppResult};
use crate::AppState;

#[tauri::command]
#[specta::specta]
pub async fn people_list(state: State<'_, AppState>) -> AppResult<Vec<Person>> {
    Ok(people::list(state.store.pool()).await?)
}

/// Adds a person, or updates the one with that email or CRM id.
#[tauri::command]
#[specta::specta]
pub async fn people_add(state: State<'_, AppState>, person: NewPerson) -> AppResult<Person> {
    riskdesk_core::sync::check_directory_edit(state.store.pool(), &state.vault).await?;
    Ok(people::add(&state.store, &person).await?)
}

/// Checks (`check`) or imports a Salesforce User report or HubSpot owners export.
#[tauri::command]
#[specta::specta]
pub async fn people_import(
    state: State<'_, AppState>,
    path: String,
    check: bool,
) -> AppResult<PeopleReport> {
    let path = std::path::PathBuf::from(path.trim());
    if !path.is_file() {
        return Err(AppError::Invalid {
            field: "file".into(),
            reason: format!("{} is not a file", path.display()),
        });
    }
    if !check {
        riskdesk_core::sync::check_directory_edit(state.store.pool(), &state.vault).await?;
    }
    Ok(people::import(&state.store, &path, check).await?)
}

/// Deactivates (or reactivates) a person: they keep the records they own.
#[tauri::command]
#[specta::specta]
pub async fn people_set_active(
    state: State<'_, AppState>,
    person_id: String,
    active: bool,
) -> AppResult<Person> {
    riskdesk_core::sync::check_directory_edit(state.store.pool(), &state.vault).await?;
    Ok(people::set_active(&state.store, &person_id, active).await?)
}
