//! CTAs (calls to action): units of work on an account, and the playbooks whose tasks
//! they carry.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::rules::CtaType;
use crate::signals::Level;
use crate::store::{Store, Tx};
use crate::timeline::{self, TimelineItem};
use crate::{new_id, Error, Result};

crate::model::text_enum!(
    CtaStatus { Open => "open", InProgress => "in_progress", Snoozed => "snoozed", Closed => "closed" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlaybookTask {
    pub title: String,
    pub due_in_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Playbook {
    pub id: String,
    pub name: String,
    pub description: String,
    /// "csm" or "digital".
    pub kind: String,
    pub tasks: Vec<PlaybookTask>,
}

fn task(title: &str, due_in_days: u32) -> PlaybookTask {
    PlaybookTask {
        title: title.into(),
        due_in_days,
    }
}

/// A default playbook has the same id (and the same timestamp) on every device, so a
/// synced CTA's playbook is the same playbook everywhere (migration 0013 moved older
/// stores' defaults to these ids).
pub fn default_playbook_id(n: usize) -> String {
    format!("0190a000-0000-7000-8000-{:012}", n + 1)
}
const DEFAULT_PLAYBOOKS_AT: &str = "2026-01-01T00:00:00+00:00";

/// The playbooks a new store starts with, for the stories in PRODUCT.md.
pub fn default_playbooks() -> Vec<(&'static str, &'static str, &'static str, Vec<PlaybookTask>)> {
    vec![
        (
            "Risk save",
            "csm",
            "Understand the risk, agree a save plan, follow through.",
            vec![
                task("Review health, signals and recent tickets", 1),
                task("Call the champion: confirm the root cause", 3),
                task("Agree a save plan with the sponsor", 7),
                task("Weekly risk update until resolved", 7),
            ],
        ),
        (
            "Implementation recovery",
            "csm",
            "Get a stalled onboarding live.",
            vec![
                task("Find the blocker with the project lead", 2),
                task("Re-plan go-live with services", 5),
                task("Executive check-in on the new plan", 10),
            ],
        ),
        (
            "Sponsor re-engagement",
            "csm",
            "Replace a lost executive sponsor.",
            vec![
                task("Ask the champion who now owns the budget", 2),
                task("Introduce our executive to the new sponsor", 7),
                task("Re-present the value delivered so far", 14),
            ],
        ),
        (
            "Detractor follow-up",
            "csm",
            "Close the loop with a detractor.",
            vec![
                task("Read the comment and the account's tickets", 1),
                task("Call the respondent within a week", 5),
                task("Log what we will change and tell them", 10),
            ],
        ),
        (
            "Renewal preparation",
            "csm",
            "Renewal 120 days out.",
            vec![
                task("Confirm the decision makers and process", 7),
                task("Prepare the value review", 21),
                task("Hold the value review; send the proposal", 45),
            ],
        ),
        (
            "Expansion",
            "csm",
            "Seats nearly full on a healthy account.",
            vec![
                task("Confirm growth plans with the champion", 7),
                task("Introduce the account executive", 14),
            ],
        ),
        (
            "Digital re-engagement",
            "digital",
            "Automated touches for tech-touch accounts at risk.",
            vec![
                task("Send the re-engagement email with best practices", 0),
                task("Invite to the monthly training webinar", 3),
                task("Send the adoption checklist", 10),
            ],
        ),
        (
            "Digital onboarding",
            "digital",
            "Automated onboarding for tech-touch accounts.",
            vec![
                task("Send the welcome series", 0),
                task("Invite to onboarding office hours", 7),
            ],
        ),
    ]
}

/// Writes the default playbooks when the store has none: on first use, and before a
/// pulled CTA names one (they have the same ids on every device).
pub(crate) async fn seed_default_playbooks(tx: &mut crate::store::Tx) -> Result<()> {
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM playbooks)")
        .fetch_one(&mut **tx)
        .await?;
    if any {
        return Ok(());
    }
    for (n, (name, kind, description, tasks)) in default_playbooks().into_iter().enumerate() {
        let json =
            serde_json::to_string(&tasks).map_err(|e| Error::invalid("playbook", e.to_string()))?;
        sqlx::query("INSERT INTO playbooks (id, name, description, kind, tasks, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(default_playbook_id(n))
            .bind(name)
            .bind(description)
            .bind(kind)
            .bind(json)
            .bind(DEFAULT_PLAYBOOKS_AT)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Every playbook, the defaults first written when the store has none.
pub async fn playbooks(store: &Store) -> Result<Vec<Playbook>> {
    let rows: Vec<(String, String, String, String, String)> =
        sqlx::query_as("SELECT id, name, description, kind, tasks FROM playbooks ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        let mut tx = store.write().await?;
        seed_default_playbooks(&mut tx).await?;
        tx.commit().await?;
        return Box::pin(playbooks(store)).await;
    }
    rows.into_iter()
        .map(|(id, name, description, kind, tasks)| {
            let tasks = serde_json::from_str(&tasks)
                .map_err(|e| Error::invalid(format!("playbook {name}"), e.to_string()))?;
            Ok(Playbook {
                id,
                name,
                description,
                kind,
                tasks,
            })
        })
        .collect()
}

/// Creates or updates a playbook; every problem is named. Existing CTAs keep the tasks
/// they were given: a playbook edit shapes the next CTA, not past ones.
pub async fn save_playbook(store: &Store, id: Option<&str>, p: &Playbook) -> Result<Playbook> {
    let name = p.name.trim();
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("name: must not be empty".to_string());
    }
    if !["csm", "digital"].contains(&p.kind.as_str()) {
        problems.push(format!("kind: '{}' is not csm or digital", p.kind));
    }
    if p.tasks.is_empty() {
        problems.push("tasks: a playbook needs at least one task".into());
    }
    for (i, t) in p.tasks.iter().enumerate() {
        if t.title.trim().is_empty() {
            problems.push(format!("tasks[{}].title: say what needs doing", i + 1));
        }
        if t.due_in_days > 365 {
            problems.push(format!(
                "tasks[{}].due_in_days: {} is more than a year",
                i + 1,
                t.due_in_days
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::invalid(
            format!(
                "playbook {}",
                if name.is_empty() { "(unnamed)" } else { name }
            ),
            problems.join("; "),
        ));
    }
    let tasks: Vec<PlaybookTask> = p
        .tasks
        .iter()
        .map(|t| task(t.title.trim(), t.due_in_days))
        .collect();
    let json =
        serde_json::to_string(&tasks).map_err(|e| Error::invalid("playbook", e.to_string()))?;
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let mut tx = store.write().await?;
    let old_name: Option<String> = sqlx::query_scalar("SELECT name FROM playbooks WHERE id = ?")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(old) = old_name.filter(|old| old != name) {
        crate::rules::run::rename_playbook(&mut tx, &old, name).await?;
    }
    sqlx::query(
        "INSERT INTO playbooks (id, name, description, kind, tasks, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description, kind = excluded.kind, \
         tasks = excluded.tasks, updated_at = excluded.updated_at",
    )
    .bind(&id)
    .bind(name)
    .bind(p.description.trim())
    .bind(&p.kind)
    .bind(json)
    .bind(Utc::now())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::invalid("playbook.name", format!("another playbook is called {name}"))
        }
        other => other.into(),
    })?;
    tx.commit().await?;
    Ok(Playbook {
        id,
        name: name.to_string(),
        description: p.description.trim().to_string(),
        kind: p.kind.clone(),
        tasks,
    })
}

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
    let events: Vec<(String, &str, &str, String)> = made
        .iter()
        .map(|(id, n, _)| {
            let by = if n.rule_id.is_some() {
                "by a rule"
            } else {
                "by hand"
            };
            (
                new_id(),
                n.account_id.as_str(),
                id.as_str(),
                format!(
                    "CTA opened {by}: {} ({} priority {})",
                    n.reason.trim(),
                    n.priority,
                    n.cta_type
                ),
            )
        })
        .collect();
    insert_batched(
        tx,
        "INSERT INTO timeline_entries (id, account_id, kind, occurred_at, author_id, body, cta_id) ",
        7,
        "",
        &events,
        |b, (id, account, cta, body)| {
            b.push_bind(id.clone())
                .push_bind(account.to_string())
                .push_bind("system")
                .push_bind(now)
                .push_bind(None::<String>)
                .push_bind(body.clone())
                .push_bind(cta.to_string());
        },
    )
    .await?;
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

crate::model::text_enum!(
    /// Whose CTAs the Cockpit shows.
    CtaScope { Mine => "mine", Team => "team", All => "all" }
);

/// The Cockpit's filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CockpitQuery {
    pub scope: CtaScope,
    /// Whose "mine" and "team" mean.
    pub user_id: Option<String>,
    pub cta_type: Option<CtaType>,
    pub priority: Option<Level>,
    /// Live (open, in progress, snoozed) when None.
    pub status: Option<CtaStatus>,
    pub flagged_only: bool,
    /// Matches the account name or the reason.
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CockpitRow {
    #[sqlx(flatten)]
    pub cta: Cta,
    pub account_name: String,
    pub arr_base_minor: i64,
    pub owner_name: Option<String>,
    pub tasks_total: u32,
    pub tasks_done: u32,
    pub severity_level: Option<Level>,
}

/// The most CTAs the Cockpit lists at once; filters narrow a longer list.
pub const COCKPIT_LIMIT: u32 = 2_000;

/// CTAs for the Cockpit, highest priority first, then soonest due.
pub async fn cockpit(pool: &SqlitePool, q: &CockpitQuery) -> Result<Vec<CockpitRow>> {
    let columns: Vec<String> = CTA_COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect();
    let mut qb = sqlx::QueryBuilder::new(format!(
        "SELECT {}, a.name AS account_name, a.arr_base_minor, u.name AS owner_name, \
         (SELECT COUNT(*) FROM cta_tasks t WHERE t.cta_id = c.id) AS tasks_total, \
         (SELECT COUNT(*) FROM cta_tasks t WHERE t.cta_id = c.id AND t.done_at IS NOT NULL) AS tasks_done, \
         h.severity_level \
         FROM ctas c JOIN accounts a ON a.id = c.account_id LEFT JOIN users u ON u.id = c.owner_id \
         LEFT JOIN account_health h ON h.account_id = c.account_id WHERE 1 = 1",
        columns.join(", ")
    ));
    match (q.scope, &q.user_id) {
        (CtaScope::All, _) => {}
        (_, None) => return Err(Error::invalid("cockpit.scope", "say who you are first")),
        (CtaScope::Mine, Some(user)) => {
            qb.push(" AND c.owner_id = ").push_bind(user.clone());
        }
        (CtaScope::Team, Some(user)) => {
            qb.push(" AND c.owner_id IN (SELECT id FROM users WHERE team_id = (SELECT team_id FROM users WHERE id = ")
                .push_bind(user.clone())
                .push(") UNION SELECT ")
                .push_bind(user.clone())
                .push(")");
        }
    }
    match q.status {
        Some(status) => {
            qb.push(" AND c.status = ").push_bind(status);
        }
        None => {
            qb.push(" AND c.status <> 'closed'");
        }
    }
    if let Some(t) = q.cta_type {
        qb.push(" AND c.type = ").push_bind(t);
    }
    if let Some(p) = q.priority {
        qb.push(" AND c.priority = ").push_bind(p);
    }
    if q.flagged_only {
        qb.push(" AND c.flagged = 1");
    }
    if let Some(text) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let like = format!("%{}%", crate::store::accounts::escape_like(text));
        qb.push(" AND (a.name LIKE ")
            .push_bind(like.clone())
            .push(" ESCAPE '\\' OR c.reason LIKE ")
            .push_bind(like)
            .push(" ESCAPE '\\')");
    }
    qb.push(
        " ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, \
         c.due_on IS NULL, c.due_on, a.arr_base_minor DESC, c.created_at LIMIT ",
    )
    .push_bind(COCKPIT_LIMIT);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// A weekly risk update on a CTA: where things stand, in three parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RiskUpdate {
    pub id: String,
    pub author_name: Option<String>,
    pub background: String,
    pub done_so_far: String,
    pub next_steps: String,
    pub created_at: DateTime<Utc>,
}

/// Adds a weekly risk update; history is kept, newest shown first.
pub async fn add_update(
    tx: &mut Tx,
    cta_id: &str,
    author_id: Option<&str>,
    background: &str,
    done_so_far: &str,
    next_steps: &str,
) -> Result<String> {
    add_update_at(
        tx,
        cta_id,
        author_id,
        [background, done_so_far, next_steps],
        Utc::now(),
    )
    .await
}

/// `add_update` at a given time: the demo book's work history is dated in the past.
pub async fn add_update_at(
    tx: &mut Tx,
    cta_id: &str,
    author_id: Option<&str>,
    [background, done_so_far, next_steps]: [&str; 3],
    at: DateTime<Utc>,
) -> Result<String> {
    if [background, done_so_far, next_steps]
        .iter()
        .all(|s| s.trim().is_empty())
    {
        return Err(Error::invalid(
            "update",
            "write at least one of background, done so far and next steps",
        ));
    }
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM ctas WHERE id = ?")
        .bind(cta_id)
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_none() {
        return Err(Error::NotFound {
            entity: "CTA",
            id: cta_id.to_string(),
        });
    }
    let id = new_id();
    sqlx::query("INSERT INTO cta_updates (id, cta_id, author_id, background, done_so_far, next_steps, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(cta_id)
        .bind(author_id)
        .bind(background.trim())
        .bind(done_so_far.trim())
        .bind(next_steps.trim())
        .bind(at)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE ctas SET status = CASE WHEN status = 'open' THEN 'in_progress' ELSE status END, updated_at = ? WHERE id = ?")
        .bind(Utc::now())
        .bind(cta_id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

pub async fn updates_of(pool: &SqlitePool, cta_id: &str) -> Result<Vec<RiskUpdate>> {
    Ok(sqlx::query_as(
        "SELECT c.id, u.name AS author_name, c.background, c.done_so_far, c.next_steps, c.created_at FROM cta_updates c \
         LEFT JOIN users u ON u.id = c.author_id WHERE c.cta_id = ? ORDER BY c.created_at DESC, c.rowid DESC",
    )
    .bind(cta_id)
    .fetch_all(pool)
    .await?)
}

/// Sets or clears the CSM's flag on a CTA.
pub async fn set_flag(tx: &mut Tx, cta_id: &str, flagged: bool) -> Result<()> {
    let done = sqlx::query("UPDATE ctas SET flagged = ?, updated_at = ? WHERE id = ?")
        .bind(flagged)
        .bind(Utc::now())
        .bind(cta_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "CTA",
            id: cta_id.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{self, BookSpec};
    use crate::store::testing::temp_store;

    #[tokio::test]
    async fn ctas_keep_their_updates_flags_and_refuse_duplicates() {
        let (_dir, store) = temp_store().await;
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        book::load(&store, &BookSpec::new(5, 1, today), |_, _| {})
            .await
            .expect("book");
        let account_id: String = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("account");
        let playbook = playbooks(&store)
            .await
            .expect("playbooks")
            .into_iter()
            .find(|p| p.name == "Risk save");
        let new = NewCta {
            account_id: account_id.clone(),
            cta_type: CtaType::Risk,
            reason: "Sponsor left".into(),
            priority: Level::High,
            owner_id: None,
            due_on: Some(today + Duration::days(7)),
            rule_id: None,
            evidence: vec![],
            category: Some("sponsor change".into()),
            playbook,
        };
        let mut tx = store.write().await.expect("tx");
        let id = create(&mut tx, &new, today)
            .await
            .expect("create")
            .expect("created");
        assert_eq!(
            create(&mut tx, &new, today).await.expect("again"),
            None,
            "same account, type and reason"
        );
        let err = add_update(&mut tx, &id, None, " ", "", "")
            .await
            .expect_err("empty update");
        assert!(err.to_string().contains("at least one"), "{err}");
        add_update(
            &mut tx,
            &id,
            None,
            "Sponsor moved to a competitor",
            "Called the champion",
            "Meet the new VP",
        )
        .await
        .expect("update 1");
        add_update(
            &mut tx,
            &id,
            None,
            "",
            "Met the new VP",
            "Send the value review",
        )
        .await
        .expect("update 2");
        set_flag(&mut tx, &id, true).await.expect("flag");
        tx.commit().await.expect("commit");

        let details = account_ctas(store.pool(), &account_id)
            .await
            .expect("details");
        assert_eq!(details.len(), 1);
        let d = &details[0];
        assert_eq!((d.cta.status, d.cta.flagged), (CtaStatus::InProgress, true));
        assert_eq!(d.tasks.len(), 4);
        assert_eq!(d.playbook_name.as_deref(), Some("Risk save"));
        let updates = updates_of(store.pool(), &id).await.expect("updates");
        assert_eq!(
            updates
                .iter()
                .map(|u| u.done_so_far.as_str())
                .collect::<Vec<_>>(),
            ["Met the new VP", "Called the champion"]
        );

        let mut tx = store.write().await.expect("tx");
        close(&mut tx, &id, "saved").await.expect("close");
        assert!(close(&mut tx, &id, "saved").await.is_err(), "closing twice");
        // Once closed, the same work can be opened again.
        assert!(create(&mut tx, &new, today)
            .await
            .expect("reopen")
            .is_some());
        tx.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn the_cockpit_scopes_filters_and_orders_and_the_timeline_tells_the_story() {
        let (_dir, store) = temp_store().await;
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        book::load(&store, &BookSpec::new(60, 3, today), |_, _| {})
            .await
            .expect("book");
        // A CSM, a teammate (their manager, in a small book) and someone of another team.
        let users: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, team_id FROM users WHERE team_id IS NOT NULL ORDER BY role = 'manager', team_id, name")
                .fetch_all(store.pool())
                .await
                .expect("users");
        let (me, my_team) = users[0].clone();
        let mate = users
            .iter()
            .find(|(id, t)| *t == my_team && *id != me)
            .expect("a teammate")
            .0
            .clone();
        let stranger = users
            .iter()
            .find(|(_, t)| *t != my_team)
            .expect("another team")
            .0
            .clone();
        let accounts: Vec<String> =
            sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 4")
                .fetch_all(store.pool())
                .await
                .expect("accounts");
        let new = |account: &str, reason: &str, priority, owner: &str, due: i64| NewCta {
            account_id: account.to_string(),
            cta_type: CtaType::Risk,
            reason: reason.into(),
            priority,
            owner_id: Some(owner.to_string()),
            due_on: Some(today + Duration::days(due)),
            rule_id: None,
            evidence: vec![],
            category: None,
            playbook: None,
        };
        let mut tx = store.write().await.expect("tx");
        let low = create(
            &mut tx,
            &new(&accounts[0], "Low one", Level::Low, &me, 1),
            today,
        )
        .await
        .expect("create")
        .expect("new");
        let late = create(
            &mut tx,
            &new(&accounts[1], "High later", Level::High, &me, 9),
            today,
        )
        .await
        .expect("create")
        .expect("new");
        let soon = create(
            &mut tx,
            &new(&accounts[2], "High sooner", Level::High, &me, 2),
            today,
        )
        .await
        .expect("create")
        .expect("new");
        let mates = create(
            &mut tx,
            &new(&accounts[3], "Teammate's", Level::Medium, &mate, 3),
            today,
        )
        .await
        .expect("create")
        .expect("new");
        create(
            &mut tx,
            &new(&accounts[3], "Other team's", Level::High, &stranger, 3),
            today,
        )
        .await
        .expect("create")
        .expect("new");
        let task = add_task(&mut tx, &soon, "  Call the sponsor ", Some(today))
            .await
            .expect("task");
        assert!(add_task(&mut tx, &soon, " ", None).await.is_err());
        assert!(add_task(&mut tx, &new_id(), "x", None).await.is_err());
        set_task_done(&mut tx, &task, true).await.expect("done");
        set_flag(&mut tx, &late, true).await.expect("flag");
        edit(
            &mut tx,
            &mates,
            &CtaEdit {
                priority: Level::High,
                owner_id: Some(mate.clone()),
                due_on: None,
                category: Some(" product gap ".into()),
                expected: Some(false),
                avoidable: Some(true),
            },
        )
        .await
        .expect("edit");
        snooze(
            &mut tx,
            &low,
            today + Duration::days(5),
            "Waiting on their reorg",
            today,
        )
        .await
        .expect("snooze");
        close(&mut tx, &late, "saved").await.expect("close");
        assert!(
            close(&mut tx, &soon, "won").await.is_err(),
            "unknown outcome"
        );
        tx.commit().await.expect("commit");

        let query = |scope, search: Option<&str>| CockpitQuery {
            scope,
            user_id: Some(me.clone()),
            cta_type: None,
            priority: None,
            status: None,
            flagged_only: false,
            search: search.map(str::to_string),
        };
        let reasons =
            |rows: Vec<CockpitRow>| rows.into_iter().map(|r| r.cta.reason).collect::<Vec<_>>();
        let mine = cockpit(store.pool(), &query(CtaScope::Mine, None))
            .await
            .expect("mine");
        assert_eq!(
            reasons(mine.clone()),
            ["High sooner", "Low one"],
            "high first, closed gone"
        );
        assert_eq!((mine[0].tasks_total, mine[0].tasks_done), (1, 1));
        let team = cockpit(store.pool(), &query(CtaScope::Team, None))
            .await
            .expect("team");
        // The teammate's CTA is now high with no due date: after the dated high one.
        assert_eq!(reasons(team), ["High sooner", "Teammate's", "Low one"]);
        assert_eq!(
            cockpit(store.pool(), &query(CtaScope::All, None))
                .await
                .expect("all")
                .len(),
            4
        );
        let found = cockpit(store.pool(), &query(CtaScope::Team, Some("teammate")))
            .await
            .expect("search");
        assert_eq!(found[0].cta.category.as_deref(), Some("product gap"));
        assert_eq!(
            (found[0].cta.expected, found[0].cta.avoidable),
            (Some(false), Some(true))
        );
        let closed = cockpit(
            store.pool(),
            &CockpitQuery {
                status: Some(CtaStatus::Closed),
                flagged_only: true,
                ..query(CtaScope::Mine, None)
            },
        )
        .await
        .expect("closed");
        assert_eq!(reasons(closed), ["High later"]);
        let nobody = CockpitQuery {
            user_id: None,
            ..query(CtaScope::Mine, None)
        };
        assert!(cockpit(store.pool(), &nobody).await.is_err());

        // The account's timeline shows what happened to its CTAs; the CTA its own part.
        let d = detail(store.pool(), &late).await.expect("detail");
        let told: Vec<&str> = d.timeline.iter().map(|t| t.body.as_str()).collect();
        assert_eq!(
            told,
            [
                "CTA closed: High later — saved",
                "CTA opened by hand: High later (high priority risk)"
            ]
        );
        let snoozed = detail(store.pool(), &low).await.expect("detail");
        assert!(snoozed.timeline[0]
            .body
            .starts_with("CTA snoozed until 2026-11-28: Low one — Waiting"));
        assert!(matches!(
            detail(store.pool(), &new_id()).await,
            Err(Error::NotFound { .. })
        ));
    }
}
