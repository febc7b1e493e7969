//! CTAs (calls to action): units of work on an account, and the playbooks whose tasks
//! they carry.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::rules::CtaType;
use crate::signals::Level;
use crate::store::{Store, Tx};
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

/// Every playbook, the defaults first written when the store has none.
pub async fn playbooks(store: &Store) -> Result<Vec<Playbook>> {
    let rows: Vec<(String, String, String, String, String)> =
        sqlx::query_as("SELECT id, name, description, kind, tasks FROM playbooks ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        let mut tx = store.write().await?;
        for (name, kind, description, tasks) in default_playbooks() {
            let json = serde_json::to_string(&tasks)
                .map_err(|e| Error::invalid("playbook", e.to_string()))?;
            sqlx::query("INSERT INTO playbooks (id, name, description, kind, tasks, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(new_id())
                .bind(name)
                .bind(description)
                .bind(kind)
                .bind(json)
                .bind(Utc::now())
                .execute(&mut *tx)
                .await?;
        }
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
    pub playbook_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

const CTA_COLUMNS: &str = "id, account_id, type, reason, priority, status, owner_id, due_on, snoozed_until, snooze_reason, \
    outcome, closed_at, source, rule_id, evidence, flagged, category, playbook_id, created_at";

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

/// Closes a live CTA with an outcome.
pub async fn close(tx: &mut Tx, id: &str, outcome: &str) -> Result<()> {
    let done = sqlx::query("UPDATE ctas SET status = 'closed', outcome = ?, closed_at = ?, snoozed_until = NULL, updated_at = ? WHERE id = ? AND status <> 'closed'")
        .bind(outcome)
        .bind(Utc::now())
        .bind(Utc::now())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "open CTA",
            id: id.to_string(),
        });
    }
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
    let done = sqlx::query("UPDATE ctas SET status = 'snoozed', snoozed_until = ?, snooze_reason = ?, updated_at = ? WHERE id = ? AND status <> 'closed'")
        .bind(until)
        .bind(reason.trim())
        .bind(Utc::now())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "open CTA",
            id: id.to_string(),
        });
    }
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

/// A CTA with its tasks and where it came from, as the account page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CtaDetail {
    pub cta: Cta,
    pub tasks: Vec<CtaTask>,
    /// The rule that created it, when a rule did.
    pub rule_name: Option<String>,
    pub owner_name: Option<String>,
    pub playbook_name: Option<String>,
    /// Weekly risk updates, newest first.
    pub updates: Vec<RiskUpdate>,
}

/// An account's CTAs, live first, each with its tasks and source.
pub async fn account_ctas(pool: &SqlitePool, account_id: &str) -> Result<Vec<CtaDetail>> {
    let mut out = Vec::new();
    for cta in of_account(pool, account_id).await? {
        let tasks = sqlx::query_as(
            "SELECT id, title, due_on, done_at FROM cta_tasks WHERE cta_id = ? ORDER BY position",
        )
        .bind(&cta.id)
        .fetch_all(pool)
        .await?;
        let (rule_name, owner_name, playbook_name): (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
            "SELECT (SELECT name FROM rules WHERE id = ?), (SELECT name FROM users WHERE id = ?), (SELECT name FROM playbooks WHERE id = ?)",
        )
        .bind(&cta.rule_id)
        .bind(&cta.owner_id)
        .bind(&cta.playbook_id)
        .fetch_one(pool)
        .await?;
        let updates = updates_of(pool, &cta.id).await?;
        out.push(CtaDetail {
            cta,
            tasks,
            rule_name,
            owner_name,
            playbook_name,
            updates,
        });
    }
    Ok(out)
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
        .bind(Utc::now())
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
}
