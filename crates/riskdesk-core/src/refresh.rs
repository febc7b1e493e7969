//! The work that follows a data change, in one place: re-score (stages, health, signals,
//! severity), rules, escalation criteria and priority, for exactly the accounts whose
//! inputs changed or for the whole book.
//!
//! It survives a crash: a change records its accounts in `refresh_pending` in its own
//! transaction (an import does, so "imported" and "owed a refresh" commit together), a
//! refresh records its scope before it starts and clears it only when everything is done,
//! and `finish_pending` (called when the app starts and before every CLI command) runs
//! whatever a killed process left owed. Every step is idempotent on a day (one snapshot
//! per account per day, rules never open a second live CTA for a firing, one open
//! escalation per account), so a finished re-run leaves the store as one run would.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::health::{self, RecomputeSummary};
use crate::store::{in_list, insert_batched, Store, Tx};
use crate::Result;

pub use crate::health::LAST_FULL_DAY;

/// The whole book's marker in `refresh_pending`.
const BOOK: &str = "*";
/// What the last whole-book refresh was computed from: the day, the build and a digest of
/// every setting that shapes a result (see `inputs_key`).
const FULL_KEY: &str = "refresh.full_key";
/// When the last whole-book refresh finished: work changed after it is owed again.
const FULL_DONE_AT: &str = "refresh.full_done_at";
/// The tables whose rows decide how data turns into scores, signals, CTAs and ranks.
/// Small, so hashing all of them costs milliseconds.
const SETTINGS_TABLES: &[&str] = &[
    "config",
    "scorecards",
    "rules",
    "playbooks",
    "risk_categories",
    "fx_rates",
    "teams",
    "users",
];
/// Ids per statement when clearing: well under SQLite's bound-parameter limit.
const CLEAR_BATCH: usize = 10_000;

/// Which accounts a refresh covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every account whose data lives on this device.
    Book,
    Accounts(Vec<String>),
}

impl Scope {
    fn ids(&self) -> Option<Vec<String>> {
        match self {
            Scope::Book => None,
            Scope::Accounts(ids) => Some(ids.clone()),
        }
    }
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RefreshSummary {
    pub health: RecomputeSummary,
    pub ctas_created: u32,
    pub ctas_closed: u32,
    pub duration_ms: u32,
}

/// Records `scope` as owed as of `day`, in the caller's transaction.
pub async fn mark(tx: &mut Tx, scope: &Scope, day: NaiveDate) -> Result<()> {
    let now = Utc::now();
    let ids: Vec<String> = match scope {
        Scope::Book => vec![BOOK.to_string()],
        Scope::Accounts(ids) => ids.clone(),
    };
    if ids.is_empty() {
        return Ok(());
    }
    insert_batched(
        tx,
        "INSERT INTO refresh_pending (account_id, since, day) ",
        3,
        " ON CONFLICT(account_id) DO UPDATE SET day = max(day, excluded.day)",
        &ids,
        |b, id| {
            b.push_bind(id.clone()).push_bind(now).push_bind(day);
        },
    )
    .await
}

/// What is owed, if anything (the whole book when any part of the owed work is), and
/// the latest day it is owed for.
pub async fn pending(pool: &SqlitePool) -> Result<Option<(Scope, NaiveDate)>> {
    let rows: Vec<(String, NaiveDate)> =
        sqlx::query_as("SELECT account_id, day FROM refresh_pending")
            .fetch_all(pool)
            .await?;
    let Some(day) = rows.iter().map(|(_, d)| *d).max() else {
        return Ok(None);
    };
    let scope = if rows.iter().any(|(i, _)| i == BOOK) {
        Scope::Book
    } else {
        Scope::Accounts(rows.into_iter().map(|(i, _)| i).collect())
    };
    Ok(Some((scope, day)))
}

async fn clear(
    store: &Store,
    scope: &Scope,
    started_at: DateTime<Utc>,
    today: NaiveDate,
    key: Option<String>,
) -> Result<()> {
    let mut tx = store.write().await?;
    if *scope == Scope::Book {
        // A run for a later day (`--as-of`) does not stand in for today's.
        let day = today.min(Utc::now().date_naive());
        crate::store::settings::set(&mut tx, LAST_FULL_DAY, &day.to_string()).await?;
    }
    // A run that stands for the whole book (all of it, or all that changed since the last
    // one): the book is current as of now.
    if let Some(key) = key {
        crate::store::settings::set(&mut tx, FULL_KEY, &key).await?;
        // The run's own CTAs are older than this; a user's edit during the run is
        // picked up by the next day's refresh.
        crate::store::settings::set(&mut tx, FULL_DONE_AT, &Utc::now().to_rfc3339()).await?;
    }
    match scope {
        // The whole book covers every account's owed work recorded before it started.
        Scope::Book => {
            sqlx::query("DELETE FROM refresh_pending WHERE since <= ?")
                .bind(started_at)
                .execute(&mut *tx)
                .await?;
        }
        Scope::Accounts(ids) => {
            for chunk in ids.chunks(CLEAR_BATCH) {
                let mut qb = sqlx::QueryBuilder::new("DELETE FROM refresh_pending WHERE since <= ");
                qb.push_bind(started_at).push(" AND account_id");
                in_list(&mut qb, chunk);
                qb.build().execute(&mut *tx).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The day, the build and a digest of every settings table: equal keys mean a whole-book
/// refresh would compute what the last one did, for every account whose data has not
/// changed since.
async fn inputs_key(store: &Store, today: NaiveDate) -> Result<String> {
    let digest = store
        .read(|conn| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for table in SETTINGS_TABLES {
                table.hash(&mut h);
                // Names come from SETTINGS_TABLES, never from input.
                let mut stmt =
                    conn.prepare_cached(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
                let columns = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    for i in 0..columns {
                        match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => 0u8.hash(&mut h),
                            rusqlite::types::ValueRef::Integer(v) => (1u8, v).hash(&mut h),
                            rusqlite::types::ValueRef::Real(v) => (2u8, v.to_bits()).hash(&mut h),
                            rusqlite::types::ValueRef::Text(v) => (3u8, v).hash(&mut h),
                            rusqlite::types::ValueRef::Blob(v) => (4u8, v).hash(&mut h),
                        }
                    }
                }
            }
            Ok(h.finish())
        })
        .await?;
    Ok(format!(
        "{today}|{}|{digest:016x}",
        env!("CARGO_PKG_VERSION")
    ))
}

/// For a whole-book refresh asked for again on the day of the last one, with the same
/// settings and build: the accounts that can have a different result (owed a refresh, or
/// their record or their work changed since). None when the whole book must be computed.
async fn changed_since_full(store: &Store, key: &str) -> Result<Option<Vec<String>>> {
    let pool = store.pool();
    let (Some(last), Some(done_at)) = (
        crate::store::settings::get(pool, FULL_KEY).await?,
        crate::store::settings::get(pool, FULL_DONE_AT).await?,
    ) else {
        return Ok(None);
    };
    if last != key {
        return Ok(None);
    }
    let Ok(done_at) = DateTime::parse_from_rfc3339(&done_at) else {
        return Ok(None);
    };
    let done_at = done_at.with_timezone(&Utc);
    let owed: Vec<String> = sqlx::query_scalar("SELECT account_id FROM refresh_pending")
        .fetch_all(pool)
        .await?;
    if owed.iter().any(|id| id == BOOK) {
        return Ok(None);
    }
    let mut ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE updated_at > ?1 UNION SELECT account_id FROM ctas WHERE updated_at > ?1",
    )
    .bind(done_at)
    .fetch_all(pool)
    .await?;
    ids.extend(owed);
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(ids))
}

/// Forgets the last whole-book refresh, so the next one computes every account again
/// (`riskdesk score --full`).
pub async fn forget_full(store: &Store) -> Result<()> {
    let mut tx = store.write().await?;
    crate::store::settings::remove(&mut tx, &[FULL_KEY]).await?;
    tx.commit().await?;
    Ok(())
}

/// Brings `scope` up to date as of `today`; `progress` gets (done, total) while scoring.
/// `trigger` names the run in the rule run log.
///
/// The whole book asked for again on the day of its last refresh, with the same settings,
/// refreshes only the accounts whose data or work changed since: every other result would
/// come out as it is (each step depends only on the day, the settings and the account's
/// own data), so the rest are reported as unchanged.
pub async fn run(
    store: &Store,
    scope: Scope,
    today: NaiveDate,
    trigger: &str,
    progress: impl FnMut(usize, usize),
) -> Result<RefreshSummary> {
    // The daily run, "Recompute now", an import's and an edit's: one at a time, so a
    // whole book asked for while another runs finds it done and refreshes what changed.
    let _turn = store.deriving().await;
    // The settings a whole-book run reads, taken once before it starts: a setting saved
    // while it runs makes the next one full.
    let key = match scope {
        Scope::Book => Some(inputs_key(store, today).await?),
        Scope::Accounts(_) => None,
    };
    // Asked again the same day: only what changed since, the rest reported unchanged.
    let mut unchanged = None;
    let scope = match (scope, &key) {
        (Scope::Book, Some(key)) => match changed_since_full(store, key).await? {
            Some(changed) => {
                let book: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
                    .fetch_one(store.pool())
                    .await?;
                let left = (book.max(0) as usize).saturating_sub(changed.len());
                tracing::debug!(
                    changed = changed.len(),
                    unchanged = left,
                    "whole book asked again the same day"
                );
                unchanged = Some(left.min(u32::MAX as usize) as u32);
                Scope::Accounts(changed)
            }
            None => Scope::Book,
        },
        (scope, _) => scope,
    };
    // Narrowed to what changed, the run still stands for the whole book: what it leaves
    // out was current already, so the next run the same day starts from its end.
    let mut summary = if matches!(&scope, Scope::Accounts(ids) if ids.is_empty()) {
        // Nothing changed since: the marker stands as it is.
        RefreshSummary::default()
    } else {
        let mut tx = store.write().await?;
        mark(&mut tx, &scope, today).await?;
        tx.commit().await?;
        run_marked(store, scope, today, trigger, key, progress).await?
    };
    if let Some(u) = unchanged {
        summary.health.unchanged = u;
    }
    Ok(summary)
}

/// `run` for a scope already recorded as owed (in the change's own transaction), by a
/// caller whose turn it is ([`Store::deriving`]).
async fn run_marked(
    store: &Store,
    scope: Scope,
    today: NaiveDate,
    trigger: &str,
    key: Option<String>,
    progress: impl FnMut(usize, usize),
) -> Result<RefreshSummary> {
    let started = std::time::Instant::now();
    // Owed work recorded from here on (a change made while this runs) stays owed.
    let started_at = Utc::now();

    // Each step for exactly the scope; each account ranked once (the whole book's as it
    // is scored, then what the rules moved), or at the end for named accounts.
    let lap = std::time::Instant::now();
    let (health, _) = health::score(store, scope.ids(), today, progress).await?;
    let scored = lap.elapsed();
    let (rules, moved) =
        crate::rules::run::apply(store, scope.ids(), today, false, trigger).await?;
    let ruled = lap.elapsed();
    // The whole book's scored accounts were ranked as they were scored: what the rules
    // moved since and the accounts another device scores are ranked now.
    match &scope {
        Scope::Book => crate::priority::refresh_after_book(store, moved, today).await?,
        Scope::Accounts(ids) if ids.is_empty() => {}
        Scope::Accounts(ids) => crate::priority::refresh(store, Some(ids.clone()), today).await?,
    }
    let ranked = lap.elapsed();
    // Retention last: nothing above reads the history it thins.
    if matches!(scope, Scope::Book) {
        health::thin_history(store, today).await?;
        crate::lane::keep_trend(store, today).await?;
    }
    tracing::debug!(score = ?scored, rules = ?(ruled - scored), rank = ?(ranked - ruled), thin = ?(lap.elapsed() - ranked), "refresh");
    crate::crashpoint("refresh.done");
    clear(store, &scope, started_at, today, key).await?;
    Ok(RefreshSummary {
        health,
        ctas_created: rules.created,
        ctas_closed: rules.closed,
        duration_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
    })
}

/// Commits a change to one account's inputs made in `tx` together with the refresh it is
/// owed, then runs that refresh.
pub async fn after_change(
    store: &Store,
    tx: Tx,
    account_id: &str,
    today: NaiveDate,
) -> Result<RefreshSummary> {
    after_changes(store, tx, vec![account_id.to_string()], today).await
}

/// `after_change` for many accounts (a bulk reassignment); nothing when none changed.
pub async fn after_changes(
    store: &Store,
    mut tx: Tx,
    account_ids: Vec<String>,
    today: NaiveDate,
) -> Result<RefreshSummary> {
    let scope = Scope::Accounts(account_ids);
    mark(&mut tx, &scope, today).await?;
    tx.commit().await?;
    let _turn = store.deriving().await;
    run_marked(
        store,
        scope,
        today,
        crate::rules::run::DATA_CHANGE,
        None,
        |_, _| {},
    )
    .await
}

/// Finishes what a killed process left owed, as of the day it was owed for (what the
/// killed run would have done; the daily refresh then brings the book to today); None
/// when nothing was.
pub async fn finish_pending(store: &Store) -> Result<Option<RefreshSummary>> {
    let Some((scope, today)) = pending(store.pool()).await? else {
        return Ok(None);
    };
    let accounts = match &scope {
        Scope::Book => "the whole book".to_string(),
        Scope::Accounts(ids) => format!("{} accounts", ids.len()),
    };
    tracing::info!(accounts, "finishing derived work a previous run left owed");
    Ok(Some(run(store, scope, today, RESUMED, |_, _| {}).await?))
}

/// The rule run log's name for a refresh that finishes a killed one.
pub const RESUMED: &str = "resumed";

#[cfg(test)]
mod tests;
