//! Running rules over accounts: evaluate, then create, close or suppress CTAs — or, in a
//! dry run, only say what would happen and why.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::{CtaType, RuleDefinition};
use crate::cta::{self, Playbook};
use crate::escalation::EscalationCriteria;
use crate::store::{Span, Store};
use crate::{new_id, Error, Result};

pub use super::saved::*;

mod batch;
mod state;

crate::model::text_enum!(
    /// What a rule did, or in a dry run would do, on one account.
    FiringOutcome { Create => "create", AlreadyOpen => "already_open", Suppressed => "suppressed", Close => "close" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Firing {
    pub rule: String,
    pub account_id: String,
    pub account_name: String,
    pub outcome: FiringOutcome,
    pub cta_type: CtaType,
    pub reason: String,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunReport {
    pub dry_run: bool,
    pub accounts: u32,
    pub fired: u32,
    pub created: u32,
    pub closed: u32,
    pub suppressed: u32,
    /// Leadership escalations opened by rules.
    pub escalated: u32,
    pub duration_ms: u32,
    pub started_at: DateTime<Utc>,
    /// What happened where, first `FIRINGS_KEPT` of them.
    pub firings: Vec<Firing>,
    /// Firings beyond `FIRINGS_KEPT`, counted but not listed.
    pub firings_left_out: u32,
    /// Each rule's count of firings, by what they did.
    pub by_rule: Vec<RuleCounts>,
    pub errors: Vec<String>,
}

/// What one rule did (or would do) in a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleCounts {
    pub rule: String,
    pub fired: u32,
    pub created: u32,
    pub already_open: u32,
    pub suppressed: u32,
    pub closed: u32,
}

const FIRINGS_KEPT: usize = 2_000;
const BATCH: usize = 400;
/// Accounts per batch when the whole book is read in account order, each batch one
/// transaction. (Writing 20,000 accounts' CTAs a transaction was measured: the rule run
/// went 3.0-3.2 -> 3.8-4.5 s, the reads waiting on the writes and the commits no cheaper.)
#[cfg(not(test))]
const BOOK_BATCH: usize = 5_000;
/// Small in tests, so a worked book is judged and written in many batches.
#[cfg(test)]
const BOOK_BATCH: usize = 64;
/// Runs every enabled rule over `ids` (every account when None).
pub async fn run(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    trigger: &str,
) -> Result<RunReport> {
    // A preview writes nothing; a real run waits for a refresh under way (its rules step
    // would open the same CTAs).
    let _turn = match dry_run {
        true => None,
        false => Some(store.deriving().await),
    };
    let (report, moved) = apply(store, ids, today, dry_run, trigger).await?;
    // New and closed CTAs and new escalations move their accounts in the worklist.
    if !moved.is_empty() {
        crate::priority::refresh(store, Some(moved), today).await?;
    }
    Ok(report)
}

/// `run` without the re-rank: the rules, then the escalation criteria; returns the
/// accounts whose live work changed, for a caller that ranks once.
pub(crate) async fn apply(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    trigger: &str,
) -> Result<(RunReport, Vec<String>)> {
    let rules: Vec<Rule> = rules(store)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .collect();
    // What crosses the escalation criteria goes to leadership, judged on what the rules
    // read (a dry run opens nothing).
    let criteria = match dry_run {
        false => Some(crate::escalation::criteria(store).await?).filter(|c| c.enabled),
        true => None,
    };
    let (report, touched) =
        run_rules(store, &rules, ids, today, dry_run, criteria.as_ref()).await?;
    let mut moved: Vec<String> = touched.into_iter().collect();
    moved.sort_unstable();
    if !dry_run {
        crate::crashpoint("rules.applied");
    }
    // Every edit, NPS response or sync page runs the rules for its accounts: the log keeps
    // those runs only when they changed someone's work (or failed), not one line per edit.
    let quiet = trigger == DATA_CHANGE && moved.is_empty() && report.errors.is_empty();
    if !quiet {
        log_run(store, &report, trigger).await?;
    }
    Ok((report, moved))
}

/// What a rule being edited would do across the book, before it is saved: a dry run
/// of that one rule, not written to the run log.
pub async fn preview(
    store: &Store,
    name: &str,
    definition: &RuleDefinition,
    today: NaiveDate,
) -> Result<RunReport> {
    if let problems @ [_, ..] = definition.problems().as_slice() {
        return Err(Error::invalid(
            format!("rule {}", name.trim()),
            problems.join("; "),
        ));
    }
    // A saved rule keeps its id, so "already open" and "close" see its own CTAs.
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM rules WHERE name = ?")
        .bind(name.trim())
        .fetch_optional(store.pool())
        .await?;
    let rule = Rule {
        id: id.unwrap_or_else(new_id),
        name: name.trim().to_string(),
        enabled: true,
        version: 0,
        definition: definition.clone(),
    };
    Ok(run_rules(store, &[rule], None, today, true, None).await?.0)
}
/// Runs `rules` over `ids` (every account when None), a batch at a time, the next batch
/// read while one is judged and written. Returns the report and the accounts whose live
/// work changed.
async fn run_rules(
    store: &Store,
    rules: &[Rule],
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    criteria: Option<&EscalationCriteria>,
) -> Result<(RunReport, HashSet<String>)> {
    let started = Instant::now();
    let started_at = Utc::now();
    let playbooks: HashMap<String, Playbook> = cta::playbooks(store)
        .await?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
    let book = ids.is_none();
    let mut ids = crate::store::accounts::ids_or_local(store, ids).await?;
    // The whole book is read in account order, a large slice at a time.
    let (span, batch) = if book {
        ids.sort_unstable();
        (Span::Range, BOOK_BATCH)
    } else {
        (Span::List, BATCH)
    };
    let mut report = RunReport {
        dry_run,
        accounts: ids.len() as u32,
        by_rule: rules
            .iter()
            .map(|r| RuleCounts {
                rule: r.name.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let lanes = crate::priority::config(store).await?;
    // Category owners decide who gets an escalation a rule opens: make sure they exist.
    if !dry_run {
        crate::categories::list(store).await?;
    }
    let judge = batch::Judge::new(rules, &playbooks, &lanes, criteria, today, dry_run);
    // Accounts whose CTAs or escalations this run changed.
    let mut touched = HashSet::new();
    // Where the time goes, for `RUST_LOG=riskdesk_core::rules=debug`.
    let mut took = [std::time::Duration::ZERO; 4];
    let mut lap: Instant;
    let mut batches =
        crate::store::ahead::Ahead::over(store, &ids, batch, move |store, chunk| async move {
            let read = state::load(&store, &chunk, span, today).await?;
            Ok((chunk, read))
        });
    while let Some(read) = {
        lap = Instant::now();
        batches.next().await
    } {
        let (chunk, (mut loaded, mut live)) = read?;
        took[0] += lap.elapsed();
        lap = Instant::now();
        for (account, cta_type, reason) in live.keys() {
            if let (Some(l), Ok(t)) = (loaded.get_mut(account), cta_type.parse::<CtaType>()) {
                l.state.live_ctas.push((t, reason.clone()));
            }
        }
        let mut work = batch::Batch::default();
        work.hand_digital(&judge, &loaded, &live);
        for id in &chunk {
            if let Some(account) = loaded.get_mut(id) {
                work.judge(&judge, id, account, &mut live, &mut report);
            }
        }
        took[1] += lap.elapsed();
        lap = Instant::now();
        if !work.writes_nothing(&judge) {
            let mut tx = store.write().await?;
            work.write(&mut tx, today).await?;
            took[2] += lap.elapsed();
            lap = Instant::now();
            tx.commit().await?;
            took[3] += lap.elapsed();
        }
        touched.extend(work.touched);
    }
    let _ = lap;
    tracing::debug!(load = ?took[0], evaluate = ?took[1], create = ?took[2], commit = ?took[3], "rule run over {} accounts", ids.len());
    report.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    report.started_at = started_at;
    Ok((report, touched))
}

impl RunReport {
    /// Counts a firing for its rule and lists it, up to `FIRINGS_KEPT`.
    fn keep(&mut self, f: Firing) {
        if let Some(c) = self.by_rule.iter_mut().find(|c| c.rule == f.rule) {
            match f.outcome {
                FiringOutcome::Create => c.created += 1,
                FiringOutcome::AlreadyOpen => c.already_open += 1,
                FiringOutcome::Suppressed => c.suppressed += 1,
                FiringOutcome::Close => c.closed += 1,
            }
            if f.outcome != FiringOutcome::Close {
                c.fired += 1;
            }
        }
        if self.firings.len() < FIRINGS_KEPT {
            self.firings.push(f);
        } else {
            self.firings_left_out += 1;
        }
    }
}

async fn log_run(store: &Store, report: &RunReport, trigger: &str) -> Result<()> {
    let errors = serde_json::to_string(&report.errors)
        .map_err(|e| Error::invalid("run log", e.to_string()))?;
    let mut tx = store.write().await?;
    sqlx::query(
        "INSERT INTO rule_runs (id, started_at, finished_at, dry_run, trigger, accounts, fired, created, closed, suppressed, errors) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new_id())
    .bind(report.started_at)
    .bind(report.started_at + Duration::milliseconds(report.duration_ms as i64))
    .bind(report.dry_run)
    .bind(trigger)
    .bind(report.accounts)
    .bind(report.fired)
    .bind(report.created)
    .bind(report.closed)
    .bind(report.suppressed)
    .bind(errors)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One line of the run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunLogEntry {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub dry_run: bool,
    pub trigger: String,
    pub accounts: u32,
    pub fired: u32,
    pub created: u32,
    pub closed: u32,
    pub suppressed: u32,
    #[sqlx(json)]
    pub errors: Vec<String>,
}

/// The newest runs first.
pub async fn run_log(pool: &SqlitePool, limit: u32) -> Result<Vec<RunLogEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, started_at, finished_at, dry_run, trigger, accounts, fired, created, closed, suppressed, errors \
         FROM rule_runs ORDER BY started_at DESC, rowid DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests;
