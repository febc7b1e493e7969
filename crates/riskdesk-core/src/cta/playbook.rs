//! Playbooks: named task lists a CTA carries, the shipped ones and those an admin edits.

use super::*;

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

pub(crate) fn task(title: &str, due_in_days: u32) -> PlaybookTask {
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

/// Inserts or replaces a playbook; a name another playbook has is refused.
pub(crate) async fn write_playbook(tx: &mut crate::store::Tx, p: &Playbook) -> Result<()> {
    let json =
        serde_json::to_string(&p.tasks).map_err(|e| Error::invalid("playbook", e.to_string()))?;
    sqlx::query(
        "INSERT INTO playbooks (id, name, description, kind, tasks, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description, kind = excluded.kind, \
         tasks = excluded.tasks, updated_at = excluded.updated_at",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.description)
    .bind(&p.kind)
    .bind(json)
    .bind(chrono::Utc::now())
    .execute(&mut **tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid(
            "playbook.name",
            format!("another playbook is called {}", p.name),
        ),
        other => other.into(),
    })?;
    Ok(())
}

/// Every playbook, the defaults first written when the store has none.
pub async fn playbooks(store: &Store) -> Result<Vec<Playbook>> {
    store.cached("playbooks", read_playbooks(store)).await
}

async fn read_playbooks(store: &Store) -> Result<Vec<Playbook>> {
    let rows: Vec<(String, String, String, String, String)> =
        sqlx::query_as("SELECT id, name, description, kind, tasks FROM playbooks ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        let mut tx = store.write().await?;
        seed_default_playbooks(&mut tx).await?;
        tx.commit().await?;
        return Box::pin(read_playbooks(store)).await;
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
