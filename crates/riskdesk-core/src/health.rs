//! Recomputing health, signals and severity, keeping their history, and explaining them.
//!
//! A recompute loads accounts' facts in batches, scores each with the scorecard that
//! applies, detects signals, assesses severity and writes the results of a batch in one
//! transaction: the day's snapshot (one a day per account, replaced by a later recompute
//! that day when its result moved), the current health row, and the
//! signals (raised, updated, or cleared when their condition is gone).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::scorecard::{
    self, facts, AccountFacts, HealthScore, MeasureKind, MeasureResult, ScoreSource, Scorecard,
    ScorecardDefinition,
};
use crate::severity::{self, Severity, SeverityConfig};
use crate::signals::{self, Detected, Level, SignalKind, SignalThresholds};
use crate::store::{insert_batched, Store, Tx};
use crate::{new_id, Error, Result};

const SIGNAL_THRESHOLDS: &str = "signal_thresholds";
const SEVERITY: &str = "severity";
/// The setting holding the day of the last whole-book refresh.
pub const LAST_FULL_DAY: &str = "refresh.last_full_day";

/// Accounts per batch when a refresh names them.
const BATCH: usize = 400;
/// Accounts per batch when the whole book is read in account order: each table is one
/// index range per batch, and each batch one transaction.
const BOOK_BATCH: usize = 5_000;

pub async fn signal_thresholds(pool: &SqlitePool) -> Result<SignalThresholds> {
    crate::config::get(pool, SIGNAL_THRESHOLDS).await
}

pub async fn save_signal_thresholds(store: &Store, t: &SignalThresholds) -> Result<()> {
    if let [first, ..] = t.problems().as_slice() {
        return Err(Error::invalid("signal thresholds", first.clone()));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SIGNAL_THRESHOLDS, t).await?;
    Ok(tx.commit().await?)
}

pub async fn severity_config(pool: &SqlitePool) -> Result<SeverityConfig> {
    crate::config::get(pool, SEVERITY).await
}

pub async fn save_severity_config(store: &Store, c: &SeverityConfig) -> Result<()> {
    if let [first, ..] = c.problems().as_slice() {
        return Err(Error::invalid("severity", first.clone()));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SEVERITY, c).await?;
    Ok(tx.commit().await?)
}

/// Every scorecard, the defaults first written when the store has none.
pub async fn scorecards(store: &Store) -> Result<Vec<Scorecard>> {
    let rows: Vec<(String, String, i32, String)> =
        sqlx::query_as("SELECT id, name, version, definition FROM scorecards ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        let mut tx = store.write().await?;
        for (name, definition) in scorecard::default_scorecards() {
            write_scorecard(&mut tx, &new_id(), &name, 1, &definition).await?;
        }
        tx.commit().await?;
        return Box::pin(scorecards(store)).await;
    }
    rows.into_iter()
        .map(|(id, name, version, json)| {
            let definition = serde_json::from_str(&json)
                .map_err(|e| Error::invalid(format!("scorecard {name}"), e.to_string()))?;
            Ok(Scorecard {
                id,
                name,
                version,
                definition,
            })
        })
        .collect()
}

async fn write_scorecard(
    tx: &mut Tx,
    id: &str,
    name: &str,
    version: i32,
    d: &ScorecardDefinition,
) -> Result<()> {
    let json = serde_json::to_string(d).map_err(|e| Error::invalid("scorecard", e.to_string()))?;
    sqlx::query(
        "INSERT INTO scorecards (id, name, definition, version, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, definition = excluded.definition, version = excluded.version, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(json)
    .bind(version)
    .bind(Utc::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates (id None) or updates a scorecard after validating it; returns it as saved.
/// Past snapshots keep the measures they were computed with, so history stays readable.
pub async fn save_scorecard(
    store: &Store,
    id: Option<&str>,
    name: &str,
    definition: &ScorecardDefinition,
) -> Result<Scorecard> {
    if name.trim().is_empty() {
        return Err(Error::invalid("scorecard.name", "must not be empty"));
    }
    definition.validate()?;
    let existing = scorecards(store).await?;
    if existing
        .iter()
        .any(|c| c.name == name.trim() && Some(c.id.as_str()) != id)
    {
        return Err(Error::invalid(
            "scorecard.name",
            format!("another scorecard is called {name}"),
        ));
    }
    let (id, version) = match id {
        Some(id) => {
            let current = existing
                .iter()
                .find(|c| c.id == id)
                .ok_or_else(|| Error::NotFound {
                    entity: "scorecard",
                    id: id.to_string(),
                })?;
            (id.to_string(), current.version + 1)
        }
        None => (new_id(), 1),
    };
    let mut tx = store.write().await?;
    write_scorecard(&mut tx, &id, name.trim(), version, definition).await?;
    tx.commit().await?;
    Ok(Scorecard {
        id,
        name: name.trim().to_string(),
        version,
        definition: definition.clone(),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecomputeSummary {
    pub accounts: u32,
    pub scored: u32,
    pub signals_raised: u32,
    pub signals_cleared: u32,
    /// Accounts whose lifecycle stage moved.
    pub stages_moved: u32,
    pub duration_ms: u32,
}

/// The result for one account, before it is written.
struct Outcome {
    account_id: String,
    health: HealthScore,
    detected: Vec<Detected>,
    severity: Severity,
    trends: [Option<f64>; 3],
    /// The recent-score series with today's score in it.
    recent: String,
    /// Fingerprint of all of the above and the day.
    digest: i64,
    /// The store already holds exactly this for the day.
    unchanged: bool,
}

fn score_at(history: &[(NaiveDate, f64)], day: NaiveDate) -> Option<f64> {
    history
        .iter()
        .rev()
        .find(|(d, _)| *d <= day)
        .map(|(_, s)| *s)
}

fn evaluate(
    cards: &[Scorecard],
    f: &AccountFacts,
    today: NaiveDate,
    thresholds: &SignalThresholds,
    sev: &SeverityConfig,
) -> Option<Outcome> {
    let card = scorecard::assign(cards, f.account.segment, f.account.stage)?;
    let health = scorecard::score(card, f, today);
    let bands = &card.definition.bands;
    let band = health.band.as_deref().and_then(|name| {
        bands
            .iter()
            .position(|b| b.name == name)
            .map(|i| (i, bands.len(), name))
    });
    let detected = signals::detect(f, today, health.score, band, thresholds);
    let severity = severity::assess(
        health.score,
        &detected,
        f.arr_base_minor,
        (f.account.renewal_date - today).num_days(),
        sev,
    );
    let trends = [7, 30, 90].map(|d| {
        match (
            health.score,
            score_at(&f.history, today - Duration::days(d)),
        ) {
            (Some(now), Some(then)) => Some(now - then),
            _ => None,
        }
    });
    let mut points: Vec<(NaiveDate, f64)> = f
        .history
        .iter()
        .copied()
        .filter(|(d, _)| *d < today)
        .collect();
    if let Some(s) = health.score {
        points.push((today, s));
    }
    let recent = history::encode_recent(&points, today);
    let digest = fingerprint(today, &health, &severity, &trends, &recent, &detected);
    Some(Outcome {
        account_id: f.account.id.clone(),
        unchanged: f.digest == Some(digest),
        recent,
        digest,
        health,
        detected,
        severity,
        trends,
    })
}

/// A fingerprint of everything a recompute writes for an account on `today`, hashed from
/// the values themselves so an unchanged account costs no serialising. (The hasher is
/// fixed within a build; a new build may rewrite each account once.)
fn fingerprint(
    today: NaiveDate,
    health: &HealthScore,
    severity: &Severity,
    trends: &[Option<f64>; 3],
    recent: &str,
    detected: &[Detected],
) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let bits = |v: Option<f64>| v.map(f64::to_bits);
    today.hash(&mut h);
    (
        &health.scorecard_id,
        &health.scorecard_name,
        health.scorecard_version,
    )
        .hash(&mut h);
    bits(health.score).hash(&mut h);
    (&health.band, &health.band_color).hash(&mut h);
    (health.coverage.with_data, health.coverage.total).hash(&mut h);
    trends.map(bits).hash(&mut h);
    recent.hash(&mut h);
    for m in &health.measures {
        (m.kind.as_str(), &m.label, &m.group, m.weight.to_bits()).hash(&mut h);
        (bits(m.raw), &m.raw_display, &m.evidence).hash(&mut h);
        (bits(m.score), m.contribution.to_bits()).hash(&mut h);
        match &m.source {
            ScoreSource::Data => 0u8.hash(&mut h),
            ScoreSource::Missing => 1u8.hash(&mut h),
            ScoreSource::Override {
                comment,
                author,
                expires_on,
            } => (2u8, comment, author, expires_on).hash(&mut h),
        }
    }
    (severity.score.to_bits(), severity.level.as_str()).hash(&mut h);
    (
        severity.risk.to_bits(),
        severity.impact.to_bits(),
        &severity.formula,
    )
        .hash(&mut h);
    for f in &severity.factors {
        (&f.name, &f.input, f.value.to_bits(), &f.role).hash(&mut h);
    }
    for d in detected {
        (
            d.kind.as_str(),
            d.severity.as_str(),
            &d.summary,
            &d.evidence,
        )
            .hash(&mut h);
    }
    h.finish() as i64
}

/// Recomputes `ids` (every account when None) as of `today` and re-ranks them.
/// `progress` gets (done, total).
pub async fn recompute(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    progress: impl FnMut(usize, usize),
) -> Result<RecomputeSummary> {
    let book = ids.is_none();
    let (summary, ids) = score(store, ids, today, progress).await?;
    // Severity moved: so may the worklist.
    crate::priority::refresh(store, if book { None } else { Some(ids) }, today).await?;
    Ok(summary)
}

/// `recompute` without the re-rank, for a caller that ranks once; returns the accounts
/// scored.
pub(crate) async fn score(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    mut progress: impl FnMut(usize, usize),
) -> Result<(RecomputeSummary, Vec<String>)> {
    let started = Instant::now();
    let cards = scorecards(store).await?;
    let thresholds = signal_thresholds(store.pool()).await?;
    let sev = severity_config(store.pool()).await?;
    let book = ids.is_none();
    let mut ids = crate::store::accounts::ids_or_local(store.pool(), ids).await?;
    let (span, batch) = if book {
        ids.sort_unstable();
        (facts::Span::Range, BOOK_BATCH)
    } else {
        (facts::Span::List, BATCH)
    };
    let now = Utc::now();
    let mut summary = RecomputeSummary {
        accounts: ids.len() as u32,
        ..Default::default()
    };
    let stages = crate::lifecycle::criteria(store.pool()).await?;
    // A few accounts move the day's dashboard aggregate by their own difference; the
    // whole book (or a large part) recounts it.
    let incremental = ids.len() <= BATCH;
    let mut aggregated = true;
    // Where the time goes, for `RUST_LOG=riskdesk_core::health=debug`.
    let mut took = [std::time::Duration::ZERO; 6];
    let mut lap = Instant::now();
    let mut mark = |slot: usize| {
        took[slot] += lap.elapsed();
        lap = Instant::now();
    };
    for (i, chunk) in ids.chunks(batch).enumerate() {
        let mut facts = facts::load(
            store,
            chunk,
            span,
            today - Duration::days(history::RECENT_DAYS),
        )
        .await?;
        // The stage picks the scorecard, so it moves first.
        let moves: Vec<crate::lifecycle::StageMove> = facts
            .iter_mut()
            .filter_map(|f| {
                let m = crate::lifecycle::next(f, today, &stages)?;
                if f.account.stage != m.to {
                    f.stage_since = Some(today);
                }
                f.account.stage = m.to;
                f.adopted_on = m.adopted_on;
                Some(m)
            })
            .collect();
        summary.stages_moved += moves.iter().filter(|m| m.from != m.to).count() as u32;
        mark(0);
        let outcomes: Vec<Outcome> = facts
            .iter()
            .filter_map(|f| evaluate(&cards, f, today, &thresholds, &sev))
            .collect();
        summary.scored += outcomes.iter().filter(|o| o.health.score.is_some()).count() as u32;
        // What the store already holds for the day is not written again.
        let outcomes: Vec<Outcome> = outcomes.into_iter().filter(|o| !o.unchanged).collect();
        let changed: Vec<String> = outcomes.iter().map(|o| o.account_id.clone()).collect();
        mark(1);
        let mut tx = store.write().await?;
        let before = if incremental {
            Some(day_share(&mut tx, chunk, today).await?)
        } else {
            None
        };
        crate::lifecycle::apply(&mut tx, &moves, today).await?;
        note_band_changes(&mut tx, &changed, &outcomes).await?;
        write_snapshots(&mut tx, &outcomes, today).await?;
        mark(2);
        write_current(&mut tx, &outcomes, now).await?;
        mark(3);
        let (raised, cleared) = write_signals(&mut tx, &changed, &outcomes, now).await?;
        mark(4);
        if let Some(before) = before {
            let after = day_share(&mut tx, chunk, today).await?;
            let moved = sqlx::query(
                "UPDATE risk_daily SET accounts = accounts + ?, arr_base_minor = arr_base_minor + ?, scored = scored + ? WHERE day = ?",
            )
            .bind(after.0 - before.0)
            .bind(after.1 - before.1)
            .bind(after.2 - before.2)
            .bind(today)
            .execute(&mut *tx)
            .await?;
            aggregated = moved.rows_affected() == 1;
        } else {
            aggregated = false;
        }
        tx.commit().await?;
        mark(5);
        crate::crashpoint("recompute.batch");
        summary.signals_raised += raised;
        summary.signals_cleared += cleared;
        progress((i * batch + chunk.len()).min(ids.len()), ids.len());
    }
    tracing::debug!(
        load = ?took[0], evaluate = ?took[1], history = ?took[2], current = ?took[3], signals = ?took[4],
        commit = ?took[5], "recompute of {} accounts", ids.len()
    );
    if book {
        let retention = history::retention(store.pool()).await?;
        let mut tx = store.write().await?;
        history::prune(&mut tx, today, &retention).await?;
        tx.commit().await?;
    }
    if !aggregated {
        aggregate_days(store, &[today]).await?;
    }
    summary.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    Ok((summary, ids))
}

/// What `ids` add to the day's at-risk aggregate (accounts below 50, their ARR, scored).
async fn day_share(tx: &mut Tx, ids: &[String], day: NaiveDate) -> Result<(i64, i64, i64)> {
    let mut qb = QueryBuilder::new(
        "SELECT COALESCE(SUM(s.score < 50), 0), COALESCE(SUM(CASE WHEN s.score < 50 THEN a.arr_base_minor ELSE 0 END), 0), \
         COUNT(s.score) FROM health_history s JOIN accounts a ON a.id = s.account_id \
         WHERE s.day = ",
    );
    qb.push_bind(day).push(" AND s.account_id");
    crate::store::in_list(&mut qb, ids);
    Ok(qb.build_query_as().fetch_one(&mut **tx).await?)
}

/// Puts "health changed band" on the timeline of every account whose band moved since
/// its last score (a first score is not a change).
async fn note_band_changes(tx: &mut Tx, ids: &[String], outcomes: &[Outcome]) -> Result<()> {
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT account_id, band FROM account_health WHERE band IS NOT NULL AND account_id",
    );
    crate::store::in_list(&mut qb, ids);
    let before: HashMap<String, String> = qb
        .build_query_as::<(String, String)>()
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect();
    for o in outcomes {
        let (Some(old), Some(new)) = (before.get(&o.account_id), o.health.band.as_ref()) else {
            continue;
        };
        if old != new {
            let score = o
                .health
                .score
                .map_or(String::new(), |s| format!(" (score {s:.0})"));
            crate::timeline::system_event(
                tx,
                &o.account_id,
                None,
                &format!("Health changed band: {old} → {new}{score}"),
            )
            .await?;
        }
    }
    Ok(())
}

/// The day of the last full recompute, if any: the daily schedule runs when it is before
/// today. (An unchanged score is not rewritten, so `computed_at` alone cannot say.)
pub async fn last_computed_day(pool: &SqlitePool) -> Result<Option<NaiveDate>> {
    if let Some(day) = crate::store::settings::get(pool, LAST_FULL_DAY)
        .await?
        .and_then(|d| d.parse::<NaiveDate>().ok())
    {
        return Ok(Some(day));
    }
    let at: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT MAX(computed_at) FROM account_health")
            .fetch_one(pool)
            .await?;
    Ok(at.map(|t| t.date_naive()))
}

/// Gives a freshly loaded book a past: snapshots every `step_days` over `weeks` weeks,
/// then today's full recompute.
pub async fn initialize(
    store: &Store,
    today: NaiveDate,
    weeks: u32,
    step_days: u32,
) -> Result<RecomputeSummary> {
    initialize_with_progress(store, today, weeks, step_days, |_, _| {}).await
}

/// `initialize`, reporting (accounts done, total) over the history and then today.
pub async fn initialize_with_progress(
    store: &Store,
    today: NaiveDate,
    weeks: u32,
    step_days: u32,
    mut progress: impl FnMut(usize, usize),
) -> Result<RecomputeSummary> {
    let step = step_days.max(1) as i64;
    let days: Vec<NaiveDate> = (1..=(weeks as i64 * 7 / step))
        .rev()
        .map(|i| today - Duration::days(i * step))
        .collect();
    // The history costs about as much per account as today's score: half the bar each.
    backfill_with_progress(store, &days, |done, total| progress(done, total * 2)).await?;
    recompute(store, None, today, |done, total| {
        progress(total + done, total * 2)
    })
    .await
}

/// Writes daily snapshots for past `days`, scoring each account on its data as it stood
/// then, so a new store starts with a history and trends.
pub async fn backfill(store: &Store, days: &[NaiveDate]) -> Result<()> {
    backfill_with_progress(store, days, |_, _| {}).await
}

async fn backfill_with_progress(
    store: &Store,
    days: &[NaiveDate],
    mut progress: impl FnMut(usize, usize),
) -> Result<()> {
    let cards = scorecards(store).await?;
    let ids = crate::store::accounts::ids_or_local(store.pool(), None).await?;
    let (Some(first), Some(_)) = (days.iter().min(), days.iter().max()) else {
        return Ok(());
    };
    let thresholds = signal_thresholds(store.pool()).await?;
    let sev = severity_config(store.pool()).await?;
    let mut done = 0;
    for chunk in ids.chunks(BATCH) {
        let facts =
            facts::load(store, chunk, facts::Span::List, *first - Duration::days(1)).await?;
        let mut tx = store.write().await?;
        let mut sorted = days.to_vec();
        sorted.sort();
        let mut history: HashMap<String, Vec<(NaiveDate, f64)>> = HashMap::new();
        for day in sorted {
            let outcomes: Vec<Outcome> = facts
                .iter()
                .filter_map(|f| {
                    let mut then = f.as_of(day);
                    then.history = history.get(&f.account.id).cloned().unwrap_or_default();
                    evaluate(&cards, &then, day, &thresholds, &sev)
                })
                .collect();
            for o in &outcomes {
                if let Some(s) = o.health.score {
                    history
                        .entry(o.account_id.clone())
                        .or_default()
                        .push((day, s));
                }
            }
            write_snapshots(&mut tx, &outcomes, day).await?;
        }
        tx.commit().await?;
        done += chunk.len();
        progress(done, ids.len());
    }
    aggregate_days(store, days).await
}

/// Rewrites the dashboards' daily at-risk aggregates for `days` from their snapshots.
async fn aggregate_days(store: &Store, days: &[NaiveDate]) -> Result<()> {
    let mut tx = store.write().await?;
    for day in days {
        sqlx::query(
            "INSERT INTO risk_daily (day, accounts, arr_base_minor, scored)              SELECT ?, COALESCE(SUM(s.score < 50), 0), COALESCE(SUM(CASE WHEN s.score < 50 THEN a.arr_base_minor ELSE 0 END), 0), COUNT(s.score)              FROM health_history s JOIN accounts a ON a.id = s.account_id WHERE s.day = ?              ON CONFLICT(day) DO UPDATE SET accounts = excluded.accounts, arr_base_minor = excluded.arr_base_minor, scored = excluded.scored",
        )
        .bind(day)
        .bind(day)
        .execute(&mut *tx)
        .await?;
    }
    Ok(tx.commit().await?)
}

async fn write_snapshots(tx: &mut Tx, outcomes: &[Outcome], day: NaiveDate) -> Result<()> {
    let entries: Vec<history::Entry> = outcomes
        .iter()
        .map(|o| history::Entry {
            account_id: &o.account_id,
            scorecard_id: &o.health.scorecard_id,
            scorecard_version: o.health.scorecard_version,
            score: o.health.score,
            band: o.health.band.as_deref(),
            measures: history::encode(&o.health.measures),
        })
        .collect();
    history::write(tx, &entries, day).await
}

async fn write_current(tx: &mut Tx, outcomes: &[Outcome], at: DateTime<Utc>) -> Result<()> {
    let rows: Vec<(&Outcome, String, String)> = outcomes
        .iter()
        .map(|o| {
            Ok((
                o,
                serde_json::to_string(&o.severity)
                    .map_err(|e| Error::invalid("severity", e.to_string()))?,
                serde_json::to_string(&o.health.measures)
                    .map_err(|e| Error::invalid("measures", e.to_string()))?,
            ))
        })
        .collect::<Result<_>>()?;
    insert_batched(
        tx,
        "INSERT INTO account_health (account_id, computed_at, scorecard_id, score, band, band_color, trend_7, trend_30, trend_90, severity_score, \
         severity_level, severity, measures_with_data, measures_total) ",
        14,
        " ON CONFLICT(account_id) DO UPDATE SET computed_at = excluded.computed_at, scorecard_id = excluded.scorecard_id, score = excluded.score, \
         band = excluded.band, band_color = excluded.band_color, trend_7 = excluded.trend_7, trend_30 = excluded.trend_30, trend_90 = excluded.trend_90, \
         severity_score = excluded.severity_score, severity_level = excluded.severity_level, severity = excluded.severity, \
         measures_with_data = excluded.measures_with_data, measures_total = excluded.measures_total \
         WHERE (account_health.scorecard_id, account_health.score, account_health.band, account_health.band_color, \
                account_health.trend_7, account_health.trend_30, account_health.trend_90, account_health.severity_score, \
                account_health.severity_level, account_health.severity, account_health.measures_with_data, account_health.measures_total) \
           IS NOT (excluded.scorecard_id, excluded.score, excluded.band, excluded.band_color, excluded.trend_7, excluded.trend_30, \
                excluded.trend_90, excluded.severity_score, excluded.severity_level, excluded.severity, excluded.measures_with_data, \
                excluded.measures_total)",
        &rows,
        |b, (o, severity, _)| {
            b.push_bind(o.account_id.clone())
                .push_bind(at)
                .push_bind(o.health.scorecard_id.clone())
                .push_bind(o.health.score)
                .push_bind(o.health.band.clone())
                .push_bind(o.health.band_color.clone())
                .push_bind(o.trends[0])
                .push_bind(o.trends[1])
                .push_bind(o.trends[2])
                .push_bind(o.severity.score)
                .push_bind(o.severity.level)
                .push_bind(severity.clone())
                .push_bind(o.health.coverage.with_data)
                .push_bind(o.health.coverage.total);
        },
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO health_explanations (account_id, scorecard_name, scorecard_version, measures) ",
        4,
        " ON CONFLICT(account_id) DO UPDATE SET scorecard_name = excluded.scorecard_name, \
         scorecard_version = excluded.scorecard_version, measures = excluded.measures \
         WHERE (health_explanations.scorecard_name, health_explanations.scorecard_version, health_explanations.measures) \
           IS NOT (excluded.scorecard_name, excluded.scorecard_version, excluded.measures)",
        &rows,
        |b, (o, _, measures)| {
            b.push_bind(o.account_id.clone())
                .push_bind(o.health.scorecard_name.clone())
                .push_bind(o.health.scorecard_version)
                .push_bind(measures.clone());
        },
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO health_state (account_id, recent, scores, digest) ",
        4,
        " ON CONFLICT(account_id) DO UPDATE SET recent = excluded.recent, scores = excluded.scores, digest = excluded.digest",
        outcomes,
        |b, o| {
            b.push_bind(o.account_id.clone())
                .push_bind(o.recent.clone())
                .push_bind(history::encode_exact(&o.health.measures))
                .push_bind(o.digest);
        },
    )
    .await
}

/// Raises new signals, refreshes the ones still present and clears the ones that are gone.
async fn write_signals(
    tx: &mut Tx,
    chunk: &[String],
    outcomes: &[Outcome],
    at: DateTime<Utc>,
) -> Result<(u32, u32)> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT id, account_id, kind, severity, summary, evidence FROM signals WHERE cleared_at IS NULL AND account_id IN (",
    );
    let mut list = qb.separated(", ");
    for id in chunk {
        list.push_bind(id.as_str());
    }
    qb.push(")");
    type ActiveRow = (String, String, String, Level, String, String);
    let active: Vec<ActiveRow> = qb.build_query_as().fetch_all(&mut **tx).await?;
    let mut active: HashMap<(String, String), (String, Level, String, String)> = active
        .into_iter()
        .map(|(id, a, k, sev, summary, evidence)| ((a, k), (id, sev, summary, evidence)))
        .collect();
    // New signals and changed ones go in one upsert by id; gone ones are cleared together.
    type Upsert<'a> = (String, &'a str, &'a Detected, String);
    let mut upserts: Vec<Upsert> = Vec::new();
    let mut raised = 0;
    for o in outcomes {
        for d in &o.detected {
            let evidence = serde_json::to_string(&d.evidence)
                .map_err(|e| Error::invalid("signal", e.to_string()))?;
            match active.remove(&(o.account_id.clone(), d.kind.as_str().to_string())) {
                // Unchanged: nothing to write, which is most signals on most days.
                Some((_, sev, summary, ev))
                    if sev == d.severity && summary == d.summary && ev == evidence => {}
                Some((id, ..)) => upserts.push((id, &o.account_id, d, evidence)),
                None => {
                    upserts.push((new_id(), &o.account_id, d, evidence));
                    raised += 1;
                }
            }
        }
    }
    insert_batched(
        tx,
        "INSERT INTO signals (id, account_id, kind, severity, summary, evidence, detected_at) ",
        7,
        " ON CONFLICT(id) DO UPDATE SET severity = excluded.severity, summary = excluded.summary, evidence = excluded.evidence",
        &upserts,
        |b, (id, account, d, evidence)| {
            b.push_bind(id.clone())
                .push_bind(account.to_string())
                .push_bind(d.kind)
                .push_bind(d.severity)
                .push_bind(d.summary.clone())
                .push_bind(evidence.clone())
                .push_bind(at);
        },
    )
    .await?;
    // Accounts that were evaluated but no longer show a signal: clear it.
    let evaluated: std::collections::HashSet<&str> =
        outcomes.iter().map(|o| o.account_id.as_str()).collect();
    let gone: Vec<String> = active
        .into_iter()
        .filter(|((account_id, _), _)| evaluated.contains(account_id.as_str()))
        .map(|(_, (id, ..))| id)
        .collect();
    for ids in gone.chunks(crate::store::MAX_VARIABLES - 1) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE signals SET cleared_at = ");
        qb.push_bind(at).push(" WHERE id");
        crate::store::in_list(&mut qb, ids);
        qb.build().execute(&mut **tx).await?;
    }
    Ok((raised, gone.len() as u32))
}

/// A signal as stored: detected, and maybe cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Signal {
    pub id: String,
    pub kind: SignalKind,
    pub label: String,
    pub severity: Level,
    pub summary: String,
    pub evidence: Vec<String>,
    pub detected_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HistoryPoint {
    pub day: NaiveDate,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Trend {
    pub days_7: Option<f64>,
    pub days_30: Option<f64>,
    pub days_90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OverrideView {
    pub id: String,
    pub measure: MeasureKind,
    pub score: f64,
    pub comment: String,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_on: Option<NaiveDate>,
}

/// Everything the account page shows about health, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountHealth {
    pub current: Option<HealthScore>,
    pub computed_at: Option<DateTime<Utc>>,
    /// What moved against the previous snapshot, largest first.
    pub changes: Vec<String>,
    pub previous_day: Option<NaiveDate>,
    pub trend: Trend,
    /// Daily scores, oldest first.
    pub history: Vec<HistoryPoint>,
    /// Active signals first, then those cleared in the last 90 days.
    pub signals: Vec<Signal>,
    pub severity: Option<Severity>,
    pub overrides: Vec<OverrideView>,
}

/// The current score and its explanation as `account_health` keeps them.
#[derive(sqlx::FromRow)]
struct CurrentRow {
    computed_at: DateTime<Utc>,
    scorecard_id: String,
    scorecard_name: String,
    scorecard_version: i32,
    score: Option<f64>,
    band: Option<String>,
    band_color: Option<String>,
    measures: String,
    trend_7: Option<f64>,
    trend_30: Option<f64>,
    trend_90: Option<f64>,
    severity: String,
}

pub async fn account_health(pool: &SqlitePool, account_id: &str) -> Result<AccountHealth> {
    let row: Option<CurrentRow> = sqlx::query_as(
        "SELECT h.computed_at, h.scorecard_id, COALESCE(x.scorecard_name, '') AS scorecard_name, \
         COALESCE(x.scorecard_version, 0) AS scorecard_version, h.score, h.band, h.band_color, \
         COALESCE(x.measures, '[]') AS measures, h.trend_7, h.trend_30, h.trend_90, h.severity \
         FROM account_health h LEFT JOIN health_explanations x ON x.account_id = h.account_id WHERE h.account_id = ?",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    // The newest history row is today's score; the one before it is what changed since.
    let previous: Option<(NaiveDate, String)> = sqlx::query_as(
        "SELECT day, measures FROM health_history WHERE account_id = ? ORDER BY day DESC LIMIT 1 OFFSET 1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    let (current, trend, severity, computed_at) = match row {
        Some(r) => {
            let measures: Vec<MeasureResult> = serde_json::from_str(&r.measures)
                .map_err(|e| Error::invalid("measures", e.to_string()))?;
            let severity = serde_json::from_str::<Severity>(&r.severity)
                .map_err(|e| Error::invalid("severity", e.to_string()))?;
            (
                Some(HealthScore {
                    scorecard_id: r.scorecard_id,
                    scorecard_name: r.scorecard_name,
                    scorecard_version: r.scorecard_version,
                    score: r.score,
                    band: r.band,
                    band_color: r.band_color,
                    coverage: crate::scorecard::Coverage::of(&measures),
                    measures,
                }),
                Trend {
                    days_7: r.trend_7,
                    days_30: r.trend_30,
                    days_90: r.trend_90,
                },
                Some(severity),
                Some(r.computed_at),
            )
        }
        None => (
            None,
            Trend {
                days_7: None,
                days_30: None,
                days_90: None,
            },
            None,
            None,
        ),
    };
    let changes = match (&current, &previous) {
        (Some(c), Some((_, p))) => scorecard::changes(&history::decode(p), &c.measures),
        _ => Vec::new(),
    };
    let history: Vec<HistoryPoint> = sqlx::query_as::<_, (NaiveDate, f64)>(
        "SELECT day, score FROM health_history WHERE account_id = ? AND score IS NOT NULL ORDER BY day",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(day, score)| HistoryPoint { day, score })
    .collect();
    type SignalRow = (
        String,
        SignalKind,
        Level,
        String,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let since = Utc::now() - Duration::days(90);
    let signals = sqlx::query_as::<_, SignalRow>(
        "SELECT id, kind, severity, summary, evidence, detected_at, cleared_at FROM signals WHERE account_id = ? \
         AND (cleared_at IS NULL OR cleared_at >= ?) ORDER BY cleared_at IS NOT NULL, CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, detected_at DESC",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(id, kind, severity, summary, evidence, detected_at, cleared_at)| Signal {
        id,
        kind,
        label: kind.label().to_string(),
        severity,
        summary,
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        detected_at,
        cleared_at,
    })
    .collect();
    let overrides = sqlx::query_as::<_, (String, String, f64, String, Option<String>, DateTime<Utc>, Option<NaiveDate>)>(
        "SELECT o.id, o.measure, o.score, o.comment, u.name, o.created_at, o.expires_on FROM measure_overrides o \
         LEFT JOIN users u ON u.id = o.author_id WHERE o.account_id = ? AND o.removed_at IS NULL ORDER BY o.created_at DESC",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .filter_map(|(id, measure, score, comment, author, created_at, expires_on)| {
        Some(OverrideView { id, measure: measure.parse().ok()?, score, comment, author, created_at, expires_on })
    })
    .collect();
    Ok(AccountHealth {
        computed_at,
        previous_day: previous.as_ref().map(|(d, _)| *d),
        current,
        changes,
        trend,
        history,
        signals,
        severity,
        overrides,
    })
}

pub mod history;

#[cfg(test)]
mod tests;
