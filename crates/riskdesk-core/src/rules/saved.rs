//! The saved rules, and how often the whole book is run through them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::{templates, Action, RuleDefinition};
use crate::store::{Store, Tx};
use crate::{new_id, Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub version: i32,
    pub definition: RuleDefinition,
}

/// Every rule, the templates first written (enabled) when the store has none.
pub async fn rules(store: &Store) -> Result<Vec<Rule>> {
    store.cached("rules", read_rules(store)).await
}

async fn read_rules(store: &Store) -> Result<Vec<Rule>> {
    let rows: Vec<(String, String, bool, i32, String)> =
        sqlx::query_as("SELECT id, name, enabled, version, definition FROM rules ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        seed_templates(store).await?;
        return Box::pin(read_rules(store)).await;
    }
    rows.into_iter()
        .map(|(id, name, enabled, version, json)| {
            let definition = serde_json::from_str(&json)
                .map_err(|e| Error::invalid(format!("rule {name}"), e.to_string()))?;
            Ok(Rule {
                id,
                name,
                enabled,
                version,
                definition,
            })
        })
        .collect()
}

/// Creates or updates a rule; an invalid rule is rejected with every problem named.
pub async fn save_rule(
    store: &Store,
    id: Option<&str>,
    name: &str,
    enabled: bool,
    definition: &RuleDefinition,
) -> Result<Rule> {
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let mut tx = store.write().await?;
    let version = write_rule(&mut tx, &id, name, enabled, definition).await?;
    tx.commit().await?;
    Ok(Rule {
        id,
        name: name.trim().to_string(),
        enabled,
        version,
        definition: definition.clone(),
    })
}

/// Checks and upserts one rule in `tx`; returns its version.
async fn write_rule(
    tx: &mut Tx,
    id: &str,
    name: &str,
    enabled: bool,
    definition: &RuleDefinition,
) -> Result<i32> {
    if name.trim().is_empty() {
        return Err(Error::invalid("rule.name", "must not be empty"));
    }
    if let problems @ [_, ..] = definition.problems().as_slice() {
        return Err(Error::invalid(
            format!("rule {}", name.trim()),
            problems.join("; "),
        ));
    }
    let json =
        serde_json::to_string(definition).map_err(|e| Error::invalid("rule", e.to_string()))?;
    sqlx::query(
        "INSERT INTO rules (id, name, enabled, definition, version, updated_at) VALUES (?, ?, ?, ?, 1, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled, definition = excluded.definition, \
         version = rules.version + 1, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(name.trim())
    .bind(enabled)
    .bind(json)
    .bind(Utc::now())
    .execute(&mut **tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid("rule.name", format!("another rule is called {}", name.trim())),
        other => other.into(),
    })?;
    Ok(sqlx::query_scalar("SELECT version FROM rules WHERE id = ?")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?)
}

/// Writes the templates, all in one transaction (a kill cannot leave some), unless a rule
/// was written since the read found none (first reads at once write them once).
async fn seed_templates(store: &Store) -> Result<()> {
    let mut tx = store.write().await?;
    let written: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM rules)")
        .fetch_one(&mut *tx)
        .await?;
    if written {
        return Ok(());
    }
    for (name, definition) in templates::templates() {
        write_rule(&mut tx, &new_id(), &name, true, &definition).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rules name playbooks; a renamed playbook takes its rules along, in the same
/// transaction as the rename.
pub(crate) async fn rename_playbook(tx: &mut Tx, old: &str, new: &str) -> Result<()> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, name, definition FROM rules")
            .fetch_all(&mut **tx)
            .await?;
    for (id, name, json) in rows {
        let mut definition: RuleDefinition = serde_json::from_str(&json)
            .map_err(|e| Error::invalid(format!("rule {name}"), e.to_string()))?;
        let mut changed = false;
        for action in &mut definition.actions {
            let named = match action {
                Action::CreateCta {
                    playbook: Some(p), ..
                } => p,
                Action::StartDigitalPlaybook { playbook } => playbook,
                _ => continue,
            };
            if named == old {
                *named = new.to_string();
                changed = true;
            }
        }
        if changed {
            let json = serde_json::to_string(&definition)
                .map_err(|e| Error::invalid("rule", e.to_string()))?;
            sqlx::query("UPDATE rules SET definition = ?, version = version + 1, updated_at = ? WHERE id = ?")
                .bind(json)
                .bind(Utc::now())
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Turns a rule on or off; a disabled rule neither fires nor closes anything.
pub async fn set_enabled(store: &Store, id: &str, enabled: bool) -> Result<()> {
    let mut tx = store.write().await?;
    let done = sqlx::query("UPDATE rules SET enabled = ?, updated_at = ? WHERE id = ?")
        .bind(enabled)
        .bind(Utc::now())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "rule",
            id: id.to_string(),
        });
    }
    tx.commit().await?;
    Ok(())
}

/// How often the whole book is run through the rules, besides the runs after each
/// recompute. 0 turns the schedule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleSchedule {
    pub every_hours: u32,
}

impl Default for RuleSchedule {
    fn default() -> Self {
        RuleSchedule { every_hours: 6 }
    }
}

const SCHEDULE: &str = "rules.schedule";
/// The trigger name scheduled runs are logged under.
pub const SCHEDULED: &str = "schedule";
/// The trigger of runs over the accounts a data change touched; every other run is a
/// full run.
pub const DATA_CHANGE: &str = "data_change";

pub async fn schedule(pool: &SqlitePool) -> Result<RuleSchedule> {
    crate::config::get(pool, SCHEDULE).await
}

pub async fn save_schedule(store: &Store, s: RuleSchedule) -> Result<()> {
    if s.every_hours > 24 * 7 {
        return Err(Error::invalid(
            "rules.schedule.every_hours",
            format!("{} is more than a week", s.every_hours),
        ));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SCHEDULE, &s).await?;
    Ok(tx.commit().await?)
}

/// Whether a scheduled full run is due at `now`: on, and the last full (non-dry) run of
/// any trigger is older than the interval.
pub async fn scheduled_run_due(pool: &SqlitePool, now: DateTime<Utc>) -> Result<bool> {
    let s = schedule(pool).await?;
    if s.every_hours == 0 {
        return Ok(false);
    }
    let last: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT MAX(started_at) FROM rule_runs WHERE dry_run = 0 AND trigger <> ?",
    )
    .bind(DATA_CHANGE)
    .fetch_one(pool)
    .await?;
    Ok(last.is_none_or(|t| now - t >= Duration::hours(s.every_hours as i64)))
}
