//! CTAs (calls to action): units of work on an account, and the playbooks whose tasks
//! they carry.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::signals::Level;
use crate::store::{Store, Tx};
use crate::timeline::{self, TimelineItem};
use crate::{new_id, Error, Result};

mod cockpit;
mod playbook;
mod updates;

pub use cockpit::*;
pub use playbook::*;
pub use updates::*;

crate::model::text_enum!(
    /// The kind of work a CTA is.
    CtaType { Risk => "risk", Escalation => "escalation", Renewal => "renewal", Expansion => "expansion", Onboarding => "onboarding", Digital => "digital" }
);

crate::model::text_enum!(
    CtaStatus { Open => "open", InProgress => "in_progress", Snoozed => "snoozed", Closed => "closed" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Cta {
    pub id: String,
    pub account_id: String,
    #[sqlx(rename = "type")]
    pub cta_type: CtaType,
    pub reason: String,
    pub priority: Level,
    pub status: CtaStatus,
    pub owner_id: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub snoozed_until: Option<NaiveDate>,
    pub snooze_reason: Option<String>,
    pub outcome: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub source: String,
    pub rule_id: Option<String>,
    #[sqlx(json)]
    pub evidence: Vec<String>,
    pub flagged: bool,
    pub category: Option<String>,
    /// The at-risk matrix cell, once the CSM has judged it: expected or a surprise,
    /// avoidable or not.
    pub expected: Option<bool>,
    pub avoidable: Option<bool>,
    pub playbook_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

const CTA_COLUMNS: &str = "id, account_id, type, reason, priority, status, owner_id, due_on, snoozed_until, snooze_reason, \
    outcome, closed_at, source, rule_id, evidence, flagged, category, expected, avoidable, playbook_id, created_at";

/// What a new CTA needs.
#[derive(Debug, Clone)]
pub struct NewCta {
    pub account_id: String,
    pub cta_type: CtaType,
    pub reason: String,
    pub priority: Level,
    pub owner_id: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub rule_id: Option<String>,
    pub evidence: Vec<String>,
    pub category: Option<String>,
    pub playbook: Option<Playbook>,
}

/// Creates a CTA with its playbook's tasks. Returns None when a live CTA with the same
/// account, type and reason exists: there is never a duplicate.
pub async fn create(tx: &mut Tx, new: &NewCta, today: NaiveDate) -> Result<Option<String>> {
    if new.reason.trim().is_empty() {
        return Err(Error::invalid("cta.reason", "say why the CTA exists"));
    }
    let id = new_id();
    let now = Utc::now();
    let evidence = serde_json::to_string(&new.evidence)
        .map_err(|e| Error::invalid("cta.evidence", e.to_string()))?;
    let inserted = sqlx::query(
        "INSERT INTO ctas (id, account_id, type, reason, priority, status, owner_id, due_on, source, rule_id, evidence, category, playbook_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&new.account_id)
    .bind(new.cta_type)
    .bind(new.reason.trim())
    .bind(new.priority)
    .bind(&new.owner_id)
    .bind(new.due_on)
    .bind(if new.rule_id.is_some() { "rule" } else { "manual" })
    .bind(&new.rule_id)
    .bind(evidence)
    .bind(&new.category)
    .bind(new.playbook.as_ref().map(|p| p.id.clone()))
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let by = if new.rule_id.is_some() {
        "by a rule"
    } else {
        "by hand"
    };
    timeline::system_event(
        tx,
        &new.account_id,
        Some(&id),
        &format!(
            "CTA opened {by}: {} ({} priority {})",
            new.reason.trim(),
            new.priority,
            new.cta_type
        ),
    )
    .await?;
    if let Some(p) = &new.playbook {
        for (i, t) in p.tasks.iter().enumerate() {
            sqlx::query("INSERT INTO cta_tasks (id, cta_id, position, title, due_on) VALUES (?, ?, ?, ?, ?)")
                .bind(new_id())
                .bind(&id)
                .bind(i as i64)
                .bind(&t.title)
                .bind(today + Duration::days(t.due_in_days as i64))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(Some(id))
}

/// Creates many CTAs at once, with their "opened" timeline entries and playbook tasks, in
/// a few multi-row statements instead of three or more per CTA (a rule run opening tens
/// of thousands). Each CTA comes with its new id; returns the ids actually inserted (a
/// CTA already live for its account, type and reason is not created again).
pub async fn create_many(
    tx: &mut Tx,
    news: &[(String, NewCta)],
    today: NaiveDate,
) -> Result<std::collections::HashSet<String>> {
    use crate::store::insert_batched;
    if let Some((_, bad)) = news.iter().find(|(_, n)| n.reason.trim().is_empty()) {
        return Err(Error::invalid(
            "cta.reason",
            format!("say why the CTA exists (account {})", bad.account_id),
        ));
    }
    let now = Utc::now();
    let rows: Vec<(&String, &NewCta, String)> = news
        .iter()
        .map(|(id, n)| {
            let evidence = serde_json::to_string(&n.evidence)
                .map_err(|e| Error::invalid("cta.evidence", e.to_string()))?;
            Ok((id, n, evidence))
        })
        .collect::<Result<_>>()?;
    let mut inserted = std::collections::HashSet::new();
    // 15 columns a row, within SQLite's bound-parameter limit; RETURNING names what landed.
    for chunk in rows.chunks(500) {
        let mut qb: sqlx::QueryBuilder<sqlx::Sqlite> = sqlx::QueryBuilder::new(
            "INSERT INTO ctas (id, account_id, type, reason, priority, status, owner_id, due_on, source, rule_id, evidence, category, playbook_id, created_at, updated_at) ",
        );
        qb.push_values(chunk, |mut b, (id, n, evidence)| {
            b.push_bind(id.as_str())
                .push_bind(n.account_id.as_str())
                .push_bind(n.cta_type)
                .push_bind(n.reason.trim())
                .push_bind(n.priority)
                .push_bind("open")
                .push_bind(n.owner_id.as_deref())
                .push_bind(n.due_on)
                .push_bind(if n.rule_id.is_some() {
                    "rule"
                } else {
                    "manual"
                })
                .push_bind(n.rule_id.as_deref())
                .push_bind(evidence.as_str())
                .push_bind(n.category.as_deref())
                .push_bind(n.playbook.as_ref().map(|p| p.id.as_str()))
                .push_bind(now)
                .push_bind(now);
        });
        qb.push(" ON CONFLICT DO NOTHING RETURNING id");
        let landed: Vec<String> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
        inserted.extend(landed);
    }
    let made: Vec<&(&String, &NewCta, String)> = rows
        .iter()
        .filter(|(id, ..)| inserted.contains(*id))
        .collect();
    let events: Vec<timeline::SystemEvent> = made
        .iter()
        .map(|(id, n, _)| {
            let by = if n.rule_id.is_some() {
                "by a rule"
            } else {
                "by hand"
            };
            timeline::SystemEvent {
                account_id: n.account_id.as_str(),
                cta_id: Some(id.as_str()),
                body: format!(
                    "CTA opened {by}: {} ({} priority {})",
                    n.reason.trim(),
                    n.priority,
                    n.cta_type
                ),
            }
        })
        .collect();
    timeline::system_events(tx, &events).await?;
    let tasks: Vec<(String, &str, i64, &str, NaiveDate)> = made
        .iter()
        .flat_map(|(id, n, _)| {
            n.playbook.iter().flat_map(move |p| {
                p.tasks.iter().enumerate().map(move |(i, t)| {
                    (
                        new_id(),
                        id.as_str(),
                        i as i64,
                        t.title.as_str(),
                        today + Duration::days(t.due_in_days as i64),
                    )
                })
            })
        })
        .collect();
    insert_batched(
        tx,
        "INSERT INTO cta_tasks (id, cta_id, position, title, due_on) ",
        5,
        "",
        &tasks,
        |b, (id, cta, position, title, due)| {
            b.push_bind(id.clone())
                .push_bind(cta.to_string())
                .push_bind(*position)
                .push_bind(title.to_string())
                .push_bind(*due);
        },
    )
    .await?;
    Ok(inserted)
}

/// How a CTA can end.
pub const OUTCOMES: [&str; 5] = [
    "saved",
    "downsell",
    "churned",
    "no_longer_relevant",
    "resolved",
];

/// A CTA a person opens by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ManualCta {
    pub account_id: String,
    pub cta_type: CtaType,
    pub reason: String,
    pub priority: Level,
    pub owner_id: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub playbook_id: Option<String>,
    pub category: Option<String>,
}

/// Opens a CTA by hand; a live duplicate (same account, type and reason) is refused
/// with a message that says so.
pub async fn create_manual(store: &Store, m: &ManualCta, today: NaiveDate) -> Result<String> {
    let playbook = match &m.playbook_id {
        Some(id) => Some(
            playbooks(store)
                .await?
                .into_iter()
                .find(|p| &p.id == id)
                .ok_or_else(|| Error::NotFound {
                    entity: "playbook",
                    id: id.clone(),
                })?,
        ),
        None => None,
    };
    let mut tx = store.write().await?;
    let account: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
        .bind(&m.account_id)
        .fetch_optional(&mut *tx)
        .await?;
    if account.is_none() {
        return Err(Error::NotFound {
            entity: "account",
            id: m.account_id.clone(),
        });
    }
    if let Some(owner) = &m.owner_id {
        let user: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?")
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(Error::NotFound {
                entity: "user",
                id: owner.clone(),
            });
        }
    }
    let new = NewCta {
        account_id: m.account_id.clone(),
        cta_type: m.cta_type,
        reason: m.reason.clone(),
        priority: m.priority,
        owner_id: m.owner_id.clone(),
        due_on: m.due_on,
        rule_id: None,
        evidence: vec![],
        category: m
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        playbook,
    };
    match create(&mut tx, &new, today).await? {
        Some(id) => {
            tx.commit().await?;
            Ok(id)
        }
        None => Err(Error::invalid(
            "cta",
            format!(
                "this account already has an open {} CTA “{}”",
                m.cta_type,
                m.reason.trim()
            ),
        )),
    }
}

/// Closes a live CTA with an outcome, and says so on the account's timeline.
/// A renamed risk category, on every CTA filed under it.
/// Hands live CTAs to new owners (a rule run following an account's new owner).
pub(crate) async fn reassign(tx: &mut Tx, to: &[(String, Option<String>)]) -> Result<()> {
    for (cta, owner) in to {
        sqlx::query("UPDATE ctas SET owner_id = ?, updated_at = ? WHERE id = ?")
            .bind(owner)
            .bind(Utc::now())
            .bind(cta)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Wakes snoozed CTAs before their day (their rule fired again, worse).
pub(crate) async fn wake(tx: &mut Tx, ids: &[String]) -> Result<()> {
    for id in ids {
        sqlx::query(
            "UPDATE ctas SET status = 'open', snoozed_until = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(Utc::now())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(crate) async fn rename_category(tx: &mut Tx, old: &str, new: &str) -> Result<()> {
    sqlx::query("UPDATE ctas SET category = ?, updated_at = ? WHERE category = ?")
        .bind(new)
        .bind(Utc::now())
        .bind(old)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn close(tx: &mut Tx, id: &str, outcome: &str) -> Result<()> {
    if !OUTCOMES.contains(&outcome) {
        return Err(Error::invalid(
            "cta.outcome",
            format!("'{outcome}' is not one of {}", OUTCOMES.join(", ")),
        ));
    }
    let closed: Option<(String, String)> = sqlx::query_as("UPDATE ctas SET status = 'closed', outcome = ?, closed_at = ?, snoozed_until = NULL, snooze_reason = NULL, updated_at = ? \
         WHERE id = ? AND status <> 'closed' RETURNING account_id, reason")
        .bind(outcome)
        .bind(Utc::now())
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some((account_id, reason)) = closed else {
        return Err(Error::NotFound {
            entity: "open CTA",
            id: id.to_string(),
        });
    };
    timeline::system_event(
        tx,
        &account_id,
        Some(id),
        &format!("CTA closed: {reason} — {}", outcome.replace('_', " ")),
    )
    .await?;
    Ok(())
}

/// Snoozes a live CTA until a date, with a reason; rules do not re-fire it meanwhile.
pub async fn snooze(
    tx: &mut Tx,
    id: &str,
    until: NaiveDate,
    reason: &str,
    today: NaiveDate,
) -> Result<()> {
    if until <= today {
        return Err(Error::invalid("snooze.until", "must be after today"));
    }
    if reason.trim().is_empty() {
        return Err(Error::invalid("snooze.reason", "say why it can wait"));
    }
    let snoozed: Option<(String, String)> = sqlx::query_as(
        "UPDATE ctas SET status = 'snoozed', snoozed_until = ?, snooze_reason = ?, updated_at = ? \
         WHERE id = ? AND status <> 'closed' RETURNING account_id, reason",
    )
    .bind(until)
    .bind(reason.trim())
    .bind(Utc::now())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((account_id, cta_reason)) = snoozed else {
        return Err(Error::NotFound {
            entity: "open CTA",
            id: id.to_string(),
        });
    };
    timeline::system_event(
        tx,
        &account_id,
        Some(id),
        &format!(
            "CTA snoozed until {until}: {cta_reason} — {}",
            reason.trim()
        ),
    )
    .await?;
    Ok(())
}

/// Live CTAs (optionally of one owner), most urgent first.
pub async fn live(pool: &SqlitePool, owner_id: Option<&str>) -> Result<Vec<Cta>> {
    let sql = format!(
        "SELECT {CTA_COLUMNS} FROM ctas WHERE status <> 'closed' AND (? IS NULL OR owner_id = ?) \
         ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, due_on, created_at"
    );
    Ok(sqlx::query_as(&sql)
        .bind(owner_id)
        .bind(owner_id)
        .fetch_all(pool)
        .await?)
}

pub async fn of_account(pool: &SqlitePool, account_id: &str) -> Result<Vec<Cta>> {
    let sql = format!(
        "SELECT {CTA_COLUMNS} FROM ctas WHERE account_id = ? ORDER BY status = 'closed', \
         CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, due_on, created_at DESC"
    );
    Ok(sqlx::query_as(&sql)
        .bind(account_id)
        .fetch_all(pool)
        .await?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CtaTask {
    pub id: String,
    pub title: String,
    pub due_on: Option<NaiveDate>,
    pub done_at: Option<DateTime<Utc>>,
}

/// A CTA with its tasks, its source, its weekly updates and what was logged against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CtaDetail {
    pub cta: Cta,
    pub account_name: String,
    pub tasks: Vec<CtaTask>,
    /// The rule that created it, when a rule did.
    pub rule_name: Option<String>,
    pub owner_name: Option<String>,
    pub playbook_name: Option<String>,
    /// Weekly risk updates, newest first.
    pub updates: Vec<RiskUpdate>,
    /// Timeline entries linked to this CTA, newest first.
    pub timeline: Vec<TimelineItem>,
}

async fn detail_of(pool: &SqlitePool, cta: Cta) -> Result<CtaDetail> {
    let tasks = sqlx::query_as(
        "SELECT id, title, due_on, done_at FROM cta_tasks WHERE cta_id = ? ORDER BY position",
    )
    .bind(&cta.id)
    .fetch_all(pool)
    .await?;
    let (account_name, rule_name, owner_name, playbook_name): (String, Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT name FROM accounts WHERE id = ?), (SELECT name FROM rules WHERE id = ?), (SELECT name FROM users WHERE id = ?), (SELECT name FROM playbooks WHERE id = ?)",
    )
    .bind(&cta.account_id)
    .bind(&cta.rule_id)
    .bind(&cta.owner_id)
    .bind(&cta.playbook_id)
    .fetch_one(pool)
    .await?;
    let updates = updates_of(pool, &cta.id).await?;
    let timeline = timeline::of_cta(pool, &cta.id).await?;
    Ok(CtaDetail {
        cta,
        account_name,
        tasks,
        rule_name,
        owner_name,
        playbook_name,
        updates,
        timeline,
    })
}

/// An account's CTAs, live first, each with its tasks and source.
pub async fn account_ctas(pool: &SqlitePool, account_id: &str) -> Result<Vec<CtaDetail>> {
    let mut out = Vec::new();
    for cta in of_account(pool, account_id).await? {
        out.push(detail_of(pool, cta).await?);
    }
    Ok(out)
}

/// One CTA with everything the Cockpit's detail pane shows.
pub async fn detail(pool: &SqlitePool, id: &str) -> Result<CtaDetail> {
    let cta: Option<Cta> = sqlx::query_as(&format!("SELECT {CTA_COLUMNS} FROM ctas WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    match cta {
        Some(cta) => detail_of(pool, cta).await,
        None => Err(Error::NotFound {
            entity: "CTA",
            id: id.to_string(),
        }),
    }
}

/// The account a CTA is on.
pub async fn account_of(pool: &SqlitePool, cta_id: &str) -> Result<String> {
    sqlx::query_scalar("SELECT account_id FROM ctas WHERE id = ?")
        .bind(cta_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity: "CTA",
            id: cta_id.to_string(),
        })
}

/// What a person changes on a CTA after it exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CtaEdit {
    pub priority: Level,
    pub owner_id: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub category: Option<String>,
    pub expected: Option<bool>,
    pub avoidable: Option<bool>,
}

pub async fn edit(tx: &mut Tx, id: &str, e: &CtaEdit) -> Result<()> {
    let category = e
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let done = sqlx::query("UPDATE ctas SET priority = ?, owner_id = ?, due_on = ?, category = ?, expected = ?, avoidable = ?, updated_at = ? WHERE id = ?")
        .bind(e.priority)
        .bind(&e.owner_id)
        .bind(e.due_on)
        .bind(category)
        .bind(e.expected)
        .bind(e.avoidable)
        .bind(Utc::now())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "CTA",
            id: id.to_string(),
        });
    }
    Ok(())
}

/// Adds a task by hand, after the playbook's.
pub async fn add_task(
    tx: &mut Tx,
    cta_id: &str,
    title: &str,
    due_on: Option<NaiveDate>,
) -> Result<String> {
    if title.trim().is_empty() {
        return Err(Error::invalid("task.title", "say what needs doing"));
    }
    let position: Option<i64> = sqlx::query_scalar(
        "SELECT COALESCE(MAX(t.position) + 1, 0) FROM ctas c LEFT JOIN cta_tasks t ON t.cta_id = c.id WHERE c.id = ?",
    )
    .bind(cta_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(position) = position else {
        return Err(Error::NotFound {
            entity: "CTA",
            id: cta_id.to_string(),
        });
    };
    let id = new_id();
    sqlx::query(
        "INSERT INTO cta_tasks (id, cta_id, position, title, due_on) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(cta_id)
    .bind(position)
    .bind(title.trim())
    .bind(due_on)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Marks a task done (now) or not done.
pub async fn set_task_done(tx: &mut Tx, task_id: &str, done: bool) -> Result<()> {
    let changed = sqlx::query("UPDATE cta_tasks SET done_at = ? WHERE id = ?")
        .bind(done.then(Utc::now))
        .bind(task_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound {
            entity: "task",
            id: task_id.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
