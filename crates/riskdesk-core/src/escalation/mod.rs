//! Leadership escalation: criteria that open an escalation for the executive who owns the
//! risk's category, escalating and de-escalating by hand, the actions and decisions of the
//! weekly business review, and how each escalation ended.

mod criteria;
pub mod refinement;
mod wbr;

pub use criteria::*;
pub use wbr::*;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::cta::CtaType;
use crate::cta::{self, NewCta};
use crate::signals::{Level, SignalKind};
use crate::store::{Store, Tx};
use crate::{new_id, timeline, Error, Result};

crate::model::text_enum!(
    /// How an escalation ended.
    EscalationOutcome { Saved => "saved", Downsell => "downsell", Churned => "churned", Resolved => "resolved", DeEscalated => "de_escalated" }
);

/// The executive who owns the account's risk category, else the VP Customer Success,
/// else any executive.
async fn owning_executive(tx: &mut Tx, category: Option<&str>) -> Result<Option<String>> {
    if let Some(category) = category {
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner_id FROM risk_categories WHERE name = ?")
                .bind(category)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(Some(owner)) = owner {
            return Ok(Some(owner));
        }
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'executive' ORDER BY title <> 'VP Customer Success', name LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

struct Opening<'a> {
    account_id: &'a str,
    criterion: &'a str,
    reason: &'a str,
    by: Option<&'a str>,
    at: DateTime<Utc>,
    /// The business day it is opened on (a run's `today`), for its evidence and due date.
    day: NaiveDate,
}

/// Opens an escalation: an escalation CTA for the owning executive, linked to the CSM's
/// risk CTA. Returns None when the account already has an open escalation.
async fn open(tx: &mut Tx, o: Opening<'_>) -> Result<Option<String>> {
    let open: Option<String> = sqlx::query_scalar(
        "SELECT cta_id FROM escalations WHERE account_id = ? AND closed_at IS NULL",
    )
    .bind(o.account_id)
    .fetch_optional(&mut **tx)
    .await?;
    if open.is_some() {
        return Ok(None);
    }
    type Row = (i64, Option<f64>, Option<String>, Option<String>);
    let (arr, severity, category, linked): Row = sqlx::query_as(
        "SELECT a.arr_base_minor, h.severity_score, \
         (SELECT c.category FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.category IS NOT NULL \
            ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END LIMIT 1), \
         (SELECT c.id FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.type = 'risk' \
            ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, c.created_at LIMIT 1) \
         FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id WHERE a.id = ?",
    )
    .bind(o.account_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound {
        entity: "account",
        id: o.account_id.to_string(),
    })?;
    let owner = owning_executive(tx, category.as_deref()).await?;
    let today = o.day;
    let new = NewCta {
        account_id: o.account_id.to_string(),
        cta_type: CtaType::Escalation,
        reason: format!("Escalation: {}", criterion_label(o.criterion)),
        priority: Level::High,
        owner_id: owner.clone(),
        due_on: Some(today + Duration::days(7)),
        rule_id: None,
        evidence: vec![format!("escalated on {today} because {}", o.reason)],
        category: category.clone(),
        playbook: None,
    };
    let Some(cta_id) = cta::create(tx, &new, today).await? else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO escalations (cta_id, account_id, linked_cta_id, criterion, reason, escalated_by, severity_at_open, arr_at_open_minor, opened_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&cta_id)
    .bind(o.account_id)
    .bind(&linked)
    .bind(o.criterion)
    .bind(o.reason)
    .bind(o.by)
    .bind(severity)
    .bind(arr)
    .bind(o.at)
    .execute(&mut **tx)
    .await?;
    let exec: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(&owner)
        .fetch_optional(&mut **tx)
        .await?;
    timeline::system_event(
        tx,
        o.account_id,
        Some(&cta_id),
        &format!(
            "Escalated to {}: {}",
            exec.as_deref().unwrap_or("leadership"),
            o.reason
        ),
    )
    .await?;
    Ok(Some(cta_id))
}

/// Opens an escalation a rule asked for, in the rule run's transaction: None when the
/// account has one open or is in a de-escalation's quiet period.
pub(crate) async fn open_for_rule(
    tx: &mut Tx,
    account_id: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<Option<String>> {
    let quiet: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM escalations WHERE account_id = ? AND (closed_at IS NULL OR quiet_until > ?)",
    )
    .bind(account_id)
    .bind(today)
    .fetch_one(&mut **tx)
    .await?;
    if quiet > 0 {
        return Ok(None);
    }
    open(
        tx,
        Opening {
            account_id,
            criterion: "rule",
            reason,
            by: None,
            at: Utc::now(),
            day: today,
        },
    )
    .await
}

/// Opens the escalation a criterion asked for, in the rule run's transaction (the run
/// judges the criteria on what it read; see `rules::run`): None when one is open.
pub(crate) async fn open_for_criterion(
    tx: &mut Tx,
    account_id: &str,
    criterion: &'static str,
    reason: &str,
    today: NaiveDate,
) -> Result<Option<String>> {
    open(
        tx,
        Opening {
            account_id,
            criterion,
            reason,
            by: None,
            at: Utc::now(),
            day: today,
        },
    )
    .await
}

/// Whether this CTA is an open escalation (closed only through `close` or `de_escalate`).
pub async fn is_open(pool: &SqlitePool, cta_id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM escalations WHERE cta_id = ? AND closed_at IS NULL",
    )
    .bind(cta_id)
    .fetch_one(pool)
    .await?
        > 0)
}

/// A CSM escalates an account by hand, with a reason.
pub async fn escalate(
    store: &Store,
    account_id: &str,
    reason: &str,
    by: Option<&str>,
) -> Result<String> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "escalation.reason",
            "say why leadership is needed",
        ));
    }
    crate::categories::list(store).await?;
    let mut tx = store.write().await?;
    let id = open(
        &mut tx,
        Opening {
            account_id,
            criterion: "manual",
            reason: reason.trim(),
            by,
            at: Utc::now(),
            day: Utc::now().date_naive(),
        },
    )
    .await?
    .ok_or_else(|| Error::invalid("escalation", "this account is already escalated"))?;
    tx.commit().await?;
    crate::priority::refresh(
        store,
        Some(vec![account_id.to_string()]),
        Utc::now().date_naive(),
    )
    .await?;
    Ok(id)
}

async fn end(
    tx: &mut Tx,
    cta_id: &str,
    outcome: EscalationOutcome,
    arr_retained_minor: Option<i64>,
    quiet_until: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> Result<String> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT account_id, arr_at_open_minor FROM escalations WHERE cta_id = ? AND closed_at IS NULL",
    )
    .bind(cta_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((account_id, arr)) = row else {
        return Err(Error::NotFound {
            entity: "open escalation",
            id: cta_id.to_string(),
        });
    };
    let retained = match (outcome, arr_retained_minor) {
        (EscalationOutcome::Downsell, Some(r)) if r > 0 && r < arr => Some(r),
        (EscalationOutcome::Downsell, _) => {
            return Err(Error::invalid(
                "escalation.arr_retained",
                format!(
                    "a downsell keeps some ARR: more than 0 and less than {}",
                    crate::money::format_minor(arr, "USD", 2)
                ),
            ))
        }
        (EscalationOutcome::Saved, _) => Some(arr),
        (EscalationOutcome::Churned, _) => Some(0),
        _ => None,
    };
    sqlx::query("UPDATE escalations SET closed_at = ?, outcome = ?, arr_retained_minor = ?, quiet_until = ? WHERE cta_id = ?")
        .bind(at)
        .bind(outcome)
        .bind(retained)
        .bind(quiet_until)
        .bind(cta_id)
        .execute(&mut **tx)
        .await?;
    let cta_outcome = match outcome {
        EscalationOutcome::DeEscalated => "no_longer_relevant",
        other => other.as_str(),
    };
    cta::close(tx, cta_id, cta_outcome).await?;
    Ok(account_id)
}

/// Closes an escalation with its outcome; a downsell says how much ARR was kept.
pub async fn close(
    store: &Store,
    cta_id: &str,
    outcome: EscalationOutcome,
    arr_retained_minor: Option<i64>,
) -> Result<()> {
    if outcome == EscalationOutcome::DeEscalated {
        return Err(Error::invalid("escalation.outcome", "de-escalate instead"));
    }
    let mut tx = store.write().await?;
    let account = end(
        &mut tx,
        cta_id,
        outcome,
        arr_retained_minor,
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    // A churn or a save changes the account's place in the worklist and dashboards.
    crate::priority::refresh(store, Some(vec![account]), Utc::now().date_naive()).await
}

/// Hands an escalation back to the CSM; the criteria leave the account alone for the
/// configured quiet days.
pub async fn de_escalate(
    store: &Store,
    cta_id: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "escalation.reason",
            "say why leadership is no longer needed",
        ));
    }
    let quiet = criteria(store.pool()).await?.quiet_days;
    let mut tx = store.write().await?;
    let account = end(
        &mut tx,
        cta_id,
        EscalationOutcome::DeEscalated,
        None,
        Some(today + Duration::days(quiet as i64)),
        Utc::now(),
    )
    .await?;
    timeline::system_event(
        &mut tx,
        &account,
        Some(cta_id),
        &format!("De-escalated: {}", reason.trim()),
    )
    .await?;
    tx.commit().await?;
    crate::priority::refresh(store, Some(vec![account]), today).await
}

#[cfg(test)]
mod tests;
