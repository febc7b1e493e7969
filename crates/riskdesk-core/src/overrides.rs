//! What a CSM enters about an account's health in the app: an override of one measure
//! (with the comment that explains it) and a logged NPS response. Each is written with
//! the account marked owed a refresh, then refreshed at once, so the score, signals,
//! rules and rank already reflect it when the call returns.

use chrono::{NaiveDate, Utc};

use crate::health::{account_health, AccountHealth};
use crate::refresh;
use crate::scorecard::MeasureKind;
use crate::store::Store;
use crate::{new_id, Error, Result};

/// Records a CSM's judgment on one measure and refreshes the account at once (scores,
/// signals, rules, priority).
#[allow(clippy::too_many_arguments)]
pub async fn override_measure(
    store: &Store,
    account_id: &str,
    measure: MeasureKind,
    score: f64,
    comment: &str,
    author_id: Option<&str>,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<AccountHealth> {
    if comment.trim().is_empty() {
        return Err(Error::invalid(
            "override.comment",
            "say why: an override needs a comment",
        ));
    }
    if !(0.0..=100.0).contains(&score) || !score.is_finite() {
        return Err(Error::invalid(
            "override.score",
            format!("{score} is not 0–100"),
        ));
    }
    if expires_on.is_some_and(|e| e < today) {
        return Err(Error::invalid("override.expires_on", "is in the past"));
    }
    crate::store::accounts::get_account(store.pool(), account_id).await?;
    let mut tx = store.write().await?;
    sqlx::query("UPDATE measure_overrides SET removed_at = ? WHERE account_id = ? AND measure = ? AND removed_at IS NULL")
        .bind(Utc::now())
        .bind(account_id)
        .bind(measure.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO measure_overrides (id, account_id, measure, score, comment, author_id, created_at, expires_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(new_id())
        .bind(account_id)
        .bind(measure.as_str())
        .bind(score)
        .bind(comment.trim())
        .bind(author_id)
        .bind(Utc::now())
        .bind(expires_on)
        .execute(&mut *tx)
        .await?;
    refresh::after_change(store, tx, account_id, today).await?;
    account_health(store, account_id).await
}

/// Logs an NPS response and re-scores its account at once, so the score, signals and
/// severity already reflect it when this returns.
pub async fn log_nps_response(
    store: &Store,
    response: &crate::model::NpsResponse,
    today: NaiveDate,
) -> Result<AccountHealth> {
    crate::store::accounts::get_account(store.pool(), &response.account_id).await?;
    if response.responded_on > today {
        return Err(Error::invalid("nps.responded_on", "is in the future"));
    }
    let mut tx = store.write().await?;
    crate::store::activity::upsert_nps(&mut tx, std::slice::from_ref(response)).await?;
    refresh::after_change(store, tx, &response.account_id, today).await?;
    account_health(store, &response.account_id).await
}

/// Removes an override; the measure goes back to its data.
pub async fn remove_override(
    store: &Store,
    override_id: &str,
    today: NaiveDate,
) -> Result<AccountHealth> {
    let account_id: Option<String> = sqlx::query_scalar(
        "SELECT account_id FROM measure_overrides WHERE id = ? AND removed_at IS NULL",
    )
    .bind(override_id)
    .fetch_optional(store.pool())
    .await?;
    let account_id = account_id.ok_or_else(|| Error::NotFound {
        entity: "override",
        id: override_id.to_string(),
    })?;
    let mut tx = store.write().await?;
    sqlx::query("UPDATE measure_overrides SET removed_at = ? WHERE id = ?")
        .bind(Utc::now())
        .bind(override_id)
        .execute(&mut *tx)
        .await?;
    refresh::after_change(store, tx, &account_id, today).await?;
    account_health(store, &account_id).await
}
