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

/// What an escalation records of its account when it opens: ARR, severity, the category
/// of its most urgent live CTA and the risk CTA it links.
type Standing = (i64, Option<f64>, Option<String>, Option<String>);

/// An escalation asked for: by hand ("manual", with who), by a rule's action ("rule")
/// or by a crossed criterion, and why.
pub(crate) struct Asked<'a> {
    pub account_id: &'a str,
    pub criterion: &'a str,
    pub reason: &'a str,
    pub by: Option<&'a str>,
}

/// Opens escalations in the caller's transaction: each an escalation CTA for the
/// executive who owns the risk's category, linked to the CSM's risk CTA. In a few
/// statements for the lot (a first rule run over a large book opens thousands), as one
/// after another in this order would: an account already escalated is skipped, as is one
/// a rule asks for in a de-escalation's quiet period, and an account asked twice is
/// opened once. Returns (account, escalation CTA) for each one opened.
pub(crate) async fn open_many(
    tx: &mut Tx,
    asked: &[Asked<'_>],
    today: NaiveDate,
) -> Result<Vec<(String, String)>> {
    use std::collections::{HashMap, HashSet};
    let mut accounts: Vec<String> = asked.iter().map(|a| a.account_id.to_string()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let (mut open, mut quiet) = (HashSet::new(), HashSet::new());
    let mut info: HashMap<String, Standing> = HashMap::new();
    for chunk in accounts.chunks(crate::store::MAX_VARIABLES - 1) {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT account_id, closed_at IS NULL FROM escalations WHERE (closed_at IS NULL OR quiet_until > ",
        );
        qb.push_bind(today).push(") AND account_id");
        crate::store::in_list(&mut qb, chunk);
        let rows: Vec<(String, bool)> = qb.build_query_as().fetch_all(&mut **tx).await?;
        for (account, is_open) in rows {
            if is_open {
                open.insert(account);
            } else {
                quiet.insert(account);
            }
        }
    }
    // In order: the first ask for an account opens it; the rest find it open.
    let mut chosen: Vec<&Asked> = Vec::new();
    for a in asked {
        let rule_in_quiet = a.criterion == "rule" && quiet.contains(a.account_id);
        if !rule_in_quiet && open.insert(a.account_id.to_string()) {
            chosen.push(a);
        }
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = chosen.iter().map(|a| a.account_id.to_string()).collect();
    for chunk in ids.chunks(crate::store::MAX_VARIABLES - 1) {
        // After the run's CTAs, so the link finds the risk CTA a rule just opened.
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT a.id, a.arr_base_minor, h.severity_score, \
             (SELECT c.category FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.category IS NOT NULL \
                ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END LIMIT 1), \
             (SELECT c.id FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.type = 'risk' \
                ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, c.created_at LIMIT 1) \
             FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid WHERE a.id",
        );
        crate::store::in_list(&mut qb, chunk);
        type Row = (String, i64, Option<f64>, Option<String>, Option<String>);
        let rows: Vec<Row> = qb.build_query_as().fetch_all(&mut **tx).await?;
        for (id, arr, severity, category, linked) in rows {
            info.insert(id, (arr, severity, category, linked));
        }
    }
    let mut owners: HashMap<Option<String>, Option<String>> = HashMap::new();
    let mut news: Vec<(String, NewCta)> = Vec::with_capacity(chosen.len());
    for a in &chosen {
        let (_, _, category, _) = info.get(a.account_id).ok_or_else(|| Error::NotFound {
            entity: "account",
            id: a.account_id.to_string(),
        })?;
        let owner = match owners.get(category) {
            Some(owner) => owner.clone(),
            None => {
                let owner = owning_executive(tx, category.as_deref()).await?;
                owners.insert(category.clone(), owner.clone());
                owner
            }
        };
        news.push((
            new_id(),
            escalation_cta(a.account_id, a.criterion, a.reason, category, owner, today),
        ));
    }
    let landed = cta::create_many(tx, &news, today).await?;
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    for owner in owners.values().flatten() {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
            .bind(owner)
            .fetch_optional(&mut **tx)
            .await?;
        names.insert(owner.clone(), name);
    }
    let at = Utc::now();
    let made: Vec<(&String, &Asked)> = news
        .iter()
        .zip(&chosen)
        .filter(|((id, _), _)| landed.contains(id))
        .map(|((id, _), a)| (id, *a))
        .collect();
    crate::store::insert_batched(
        tx,
        "INSERT INTO escalations (cta_id, account_id, linked_cta_id, criterion, reason, escalated_by, severity_at_open, arr_at_open_minor, opened_at) ",
        9,
        "",
        &made,
        |b, (cta_id, a)| {
            let (arr, severity, _, linked) = &info[a.account_id];
            b.push_bind(cta_id.to_string())
                .push_bind(a.account_id.to_string())
                .push_bind(linked.clone())
                .push_bind(a.criterion.to_string())
                .push_bind(a.reason.to_string())
                .push_bind(a.by.map(str::to_string))
                .push_bind(*severity)
                .push_bind(*arr)
                .push_bind(at);
        },
    )
    .await?;
    let bodies: Vec<String> = made
        .iter()
        .map(|(_, a)| {
            let owner = owners.get(&info[a.account_id].2).cloned().flatten();
            let exec = owner.and_then(|o| names.get(&o).cloned().flatten());
            format!(
                "Escalated to {}: {}",
                exec.as_deref().unwrap_or("leadership"),
                a.reason
            )
        })
        .collect();
    let events: Vec<timeline::SystemEvent> = made
        .iter()
        .zip(&bodies)
        .map(|((cta_id, a), body)| timeline::SystemEvent {
            account_id: a.account_id,
            cta_id: Some(cta_id.as_str()),
            body: body.clone(),
        })
        .collect();
    timeline::system_events(tx, &events).await?;
    Ok(made
        .iter()
        .map(|(cta_id, a)| (a.account_id.to_string(), cta_id.to_string()))
        .collect())
}

/// The escalation CTA for the executive who owns the risk.
fn escalation_cta(
    account_id: &str,
    criterion: &str,
    reason: &str,
    category: &Option<String>,
    owner: Option<String>,
    today: NaiveDate,
) -> NewCta {
    NewCta {
        account_id: account_id.to_string(),
        cta_type: CtaType::Escalation,
        reason: format!("Escalation: {}", criterion_label(criterion)),
        priority: Level::High,
        owner_id: owner,
        due_on: Some(today + Duration::days(7)),
        rule_id: None,
        evidence: vec![format!("escalated on {today} because {reason}")],
        category: category.clone(),
        playbook: None,
    }
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
    let asked = Asked {
        account_id,
        criterion: "manual",
        reason: reason.trim(),
        by,
    };
    let (_, id) = open_many(&mut tx, &[asked], Utc::now().date_naive())
        .await?
        .pop()
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
    let quiet = criteria(store).await?.quiet_days;
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
