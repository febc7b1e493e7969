//! Recomputing health, signals and severity for a set of accounts or the whole book.
//!
//! A recompute reads accounts' facts in batches (the whole book in account order), moves
//! lifecycle stages, scores each account with the scorecard that applies, detects signals,
//! assesses severity, and fingerprints the day's result: an account whose fingerprint is
//! already stored is not written again. `write` writes the rest of a batch in one
//! transaction, `history` keeps the compact daily history and its retention, `explain`
//! reads it all back for the account page, and `settings` holds what shapes scoring.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::scorecard::{
    self, AccountFacts, HealthScore, MeasureKind, ScoreSource, Scorecard, ScorecardDefinition,
};
use crate::severity::{Assessment, Severity, SeverityConfig};
use crate::signals::{self, Detected, Level, SignalKind, SignalThresholds};
use crate::store::{insert_batched, Store, Tx};
use crate::{new_id, Error, Result};

mod explain;
pub mod facts;
mod feed_summary;
pub mod history;
mod settings;
mod write;
pub(crate) use write::keep_lane_days;

pub use explain::*;
pub use settings::*;
use write::*;

/// The setting holding the day of the last whole-book refresh.
pub const LAST_FULL_DAY: &str = "refresh.last_full_day";

/// Accounts per batch when a refresh names them.
const BATCH: usize = 400;
/// Accounts per batch when the whole book is read in account order: each table is one
/// index range per batch.
#[cfg(not(test))]
const BOOK_BATCH: usize = 5_000;
/// Small in tests, so a worked book is read and written in many batches.
#[cfg(test)]
const BOOK_BATCH: usize = 64;
/// Batches written in one transaction. The moved current rows move entries all over the
/// score and severity indexes, and each commit writes every index page it touched: a
/// commit per 5,000 accounts wrote them 20 times over at 100K (commits 0.6-0.7 s, 0.4-0.45
/// s this way). More a transaction saved no more, and would keep a CSM's own writes (a
/// logged call) waiting for longer than the ~1 s four take.
const BATCHES_A_TRANSACTION: usize = 4;

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
    /// Accounts a whole-book refresh left as they were: nothing they depend on changed
    /// since the book's last refresh that day.
    pub unchanged: u32,
}

/// The result for one account, before it is written.
struct Outcome {
    account_id: String,
    /// `accounts.rowid`, when read with the facts.
    row: Option<i64>,
    health: HealthScore,
    detected: Vec<Detected>,
    severity: Assessment,
    trends: [Option<f64>; 3],
    /// The recent-score series with today's score in it.
    recent: Vec<u8>,
    /// Fingerprint of all of the above and the day.
    digest: i64,
    /// The store already holds exactly this for the day.
    unchanged: bool,
    /// The account's daily state was read with its facts (it is updated, not inserted).
    state_stored: bool,
    /// Its `account_health` row, when it differs from the stored one (set when judged),
    /// with the columns that moved (None: no row was stored, all of it is written).
    moved_current: Option<(facts::Current, Option<u16>)>,
    /// In the digital lane with this score (the lane's daily trend counts it).
    digital: bool,
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
    lanes: &crate::priority::PriorityConfig,
    words: scorecard::Words,
) -> Option<Outcome> {
    let card = scorecard::assign(cards, f.account.segment, f.account.stage)?;
    let health = scorecard::score_in(card, f, today, words);
    let bands = &card.definition.bands;
    let band = health.band.as_deref().and_then(|name| {
        bands
            .iter()
            .position(|b| b.name == name)
            .map(|i| (i, bands.len(), name))
    });
    let detected = signals::detect(f, today, health.score, band, thresholds);
    let severity = Assessment::new(
        health.score,
        &detected,
        f.arr_base_minor,
        f.account.renewal_date,
        today,
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
    let mut points: Vec<(NaiveDate, f64)> = Vec::with_capacity(f.history.len() + 1);
    points.extend(f.history.iter().copied().filter(|(d, _)| *d < today));
    if let Some(s) = health.score {
        points.push((today, s));
    }
    let recent = history::encode_recent(&points, today);
    let digital = crate::priority::digital(
        lanes,
        f.account.segment,
        f.arr_base_minor,
        severity.level,
        f.account.expansion_potential,
    );
    let digest = fingerprint(
        today, &health, &severity, &trends, &recent, &detected, digital,
    );
    Some(Outcome {
        account_id: f.account.id.clone(),
        row: f.row,
        unchanged: f.digest == Some(digest),
        state_stored: f.digest.is_some(),
        moved_current: None,
        recent,
        digest,
        health,
        detected,
        severity,
        trends,
        digital,
    })
}

/// A fingerprint of everything a recompute writes for an account on `today`, hashed from
/// the values themselves so an unchanged account costs no serialising. (The hasher is
/// fixed within a build; a new build may rewrite each account once.) See
/// [`crate::fingerprint_hasher`] (SipHash was 3.7 % of a next day's instructions).
fn fingerprint(
    today: NaiveDate,
    health: &HealthScore,
    severity: &Assessment,
    trends: &[Option<f64>; 3],
    recent: &[u8],
    detected: &[Detected],
    digital: bool,
) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::fingerprint_hasher();
    let bits = |v: Option<f64>| v.map(f64::to_bits);
    (today, digital).hash(&mut h);
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
        bits(severity.health),
        severity.signal_points.to_bits(),
        severity.arr_base_minor,
        severity.renewal,
        severity.health_weight.to_bits(),
    )
        .hash(&mut h);
    for (kind, level) in &severity.signals {
        (kind.as_str(), level.as_str()).hash(&mut h);
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

/// What scoring a batch needs besides its facts: the settings of the run.
struct Judge {
    cards: Vec<Scorecard>,
    thresholds: SignalThresholds,
    sev: SeverityConfig,
    lanes: crate::priority::PriorityConfig,
    stages: crate::lifecycle::StageCriteria,
}

/// A batch scored and compared with what the store holds, so that only what differs is
/// written: the store's side is read with the facts, and the comparing happens beside the
/// writing of the batch before.
struct Judged {
    moves: Vec<crate::lifecycle::StageMove>,
    /// The outcomes the store does not hold for the day yet.
    outcomes: Vec<Outcome>,
    /// "Health changed band" for the timeline, by account.
    band_notes: Vec<(String, String)>,
    /// The batch's ranks that changed, when the refresh ranks as it scores.
    ranks: Vec<crate::priority::Ranked>,
    signals: SignalChanges,
    /// Usage summaries to keep, made from accounts read whole.
    usage_seen: UsageSeenRows,
    /// Feed summaries to keep, made from accounts whose feeds were read.
    feeds: FeedSummaryRows,
    /// Accounts given a score (written or not).
    scored: u32,
    /// Time spent judging, beside the writes.
    took: std::time::Duration,
}

/// Signals raised or changed (one upsert by id) and cleared.
#[derive(Default)]
struct SignalChanges {
    upserts: Vec<SignalRow>,
    gone: Vec<String>,
    raised: u32,
}

struct SignalRow {
    id: String,
    account_id: String,
    detected: Detected,
    evidence: String,
}

/// Usage summaries made from accounts whose whole usage was read, to keep if no usage
/// was written since the read (`epoch`: the count of usage writes it saw).
#[derive(Default)]
struct UsageSeenRows {
    epoch: i64,
    rows: Vec<UsageSeenRow>,
}

struct UsageSeenRow {
    account: i64,
    narrow: facts::Narrow,
    seen: scorecard::facts::UsageSeen,
}

/// Feed summaries made from accounts whose feeds a whole-book read read (no summary held),
/// to keep if no feed was written since the read (`epoch`: the count of feed writes it saw).
#[derive(Default)]
struct FeedSummaryRows {
    epoch: i64,
    made_on: NaiveDate,
    /// (account row number, packed summary)
    rows: Vec<(i64, Vec<u8>)>,
}

impl FeedSummaryRows {
    fn of(facts: &[AccountFacts], narrow: Option<facts::Narrow>, epoch: i64) -> FeedSummaryRows {
        let Some(n) = narrow else {
            return FeedSummaryRows::default();
        };
        let rows = facts
            .iter()
            .filter(|f| !f.feeds_kept)
            .filter_map(|f| Some((f.row?, feed_summary::pack(f, n.today))))
            .collect();
        FeedSummaryRows {
            epoch,
            made_on: n.today,
            rows,
        }
    }
}

impl UsageSeenRows {
    /// The summaries of the accounts `narrow` read whole that later days can use.
    fn of(facts: &[AccountFacts], narrow: Option<facts::Narrow>, epoch: i64) -> UsageSeenRows {
        let Some(n) = narrow else {
            return UsageSeenRows::default();
        };
        let rows = facts
            .iter()
            .filter(|f| f.usage_seen.is_none())
            .filter_map(|f| {
                let latest_week = f.usage.last()?.week_start;
                let seen = scorecard::facts::UsageSeen::of(
                    &f.usage,
                    n.today,
                    n.adopt_seat_pct,
                    n.adopt_weeks,
                );
                if !n.keeps(latest_week, seen.first_run.as_ref().map(|(on, _)| *on)) {
                    return None;
                }
                Some(UsageSeenRow {
                    account: f.row?,
                    narrow: n,
                    seen,
                })
            })
            .collect();
        UsageSeenRows { epoch, rows }
    }
}

impl Judge {
    fn batch(
        &self,
        read: facts::Read,
        today: NaiveDate,
        narrow: Option<facts::Narrow>,
    ) -> Result<Judged> {
        let started = Instant::now();
        let facts::Read {
            mut facts,
            mut kept,
            usage_epoch,
            feed_epoch,
            ranks,
        } = read;
        let usage_seen = UsageSeenRows::of(&facts, narrow, usage_epoch);
        let feeds = FeedSummaryRows::of(&facts, narrow, feed_epoch);
        // The stage picks the scorecard, so it moves first.
        let moves: Vec<crate::lifecycle::StageMove> = facts
            .iter_mut()
            .filter_map(|f| {
                let m = crate::lifecycle::next(f, today, &self.stages)?;
                if f.account.stage != m.to {
                    f.stage_since = Some(today);
                }
                f.account.stage = m.to;
                f.adopted_on = m.adopted_on;
                Some(m)
            })
            .collect();
        let outcomes: Vec<Outcome> = facts
            .iter()
            .filter_map(|f| {
                evaluate(
                    &self.cards,
                    f,
                    today,
                    &self.thresholds,
                    &self.sev,
                    &self.lanes,
                    scorecard::Words::Skipped,
                )
            })
            .collect();
        let scored = outcomes.iter().filter(|o| o.health.score.is_some()).count() as u32;
        // Ranked with the severities just judged (an account without a scorecard keeps
        // its stored one); the writer writes them with the scores.
        let ranks = match ranks {
            Some(inputs) => {
                let judged: rustc_hash::FxHashMap<i64, (f64, Level)> = outcomes
                    .iter()
                    .filter_map(|o| Some((o.row?, (o.severity.score, o.severity.level))))
                    .collect();
                let known = facts.iter().filter_map(|f| {
                    let row = f.row?;
                    Some(crate::priority::Known {
                        row,
                        account: &f.account,
                        arr_base_minor: f.arr_base_minor,
                        severity: judged.get(&row).copied().or_else(|| {
                            let c = kept.current.get(&row)?;
                            Some((c.severity_score, c.severity_level))
                        }),
                    })
                });
                crate::priority::rank_judged(&self.lanes, inputs, known, today)?
            }
            None => Vec::new(),
        };
        // What the store already holds for the day is not written again.
        let mut outcomes: Vec<Outcome> = outcomes.into_iter().filter(|o| !o.unchanged).collect();
        let mut band_notes = Vec::new();
        let mut signals = SignalChanges::default();
        let mut scratch = Scratch::default();
        for o in &mut outcomes {
            let current = o.row.and_then(|row| kept.current.remove(&row));
            let active = kept.signals.remove(&o.account_id).unwrap_or_default();
            let old_band = current.as_ref().and_then(|c| c.band.as_ref());
            // A first score is not a change of band.
            if let (Some(old), Some(new)) = (old_band, o.health.band.as_ref()) {
                if old != new {
                    let score = o
                        .health
                        .score
                        .map_or(String::new(), |s| format!(" (score {s:.0})"));
                    band_notes.push((
                        o.account_id.clone(),
                        format!("Health changed band: {old} → {new}{score}"),
                    ));
                }
            }
            // Every test that scores checks the shortcut against the row it stands for.
            debug_assert!(current
                .as_ref()
                .is_none_or(|old| { o.holds(old, &mut scratch) == (*old == o.current()) }));
            o.moved_current = match current.as_ref() {
                Some(old) if o.holds(old, &mut scratch) => None,
                Some(old) => {
                    let now = o.current();
                    let moved = now.moved(old);
                    Some((now, Some(moved)))
                }
                None => Some((o.current(), None)),
            };
            signals.compare(o, active)?;
        }
        Ok(Judged {
            moves,
            ranks,
            outcomes,
            band_notes,
            signals,
            usage_seen,
            feeds,
            scored,
            took: started.elapsed(),
        })
    }
}

impl SignalChanges {
    /// New signals and changed ones are upserted; active ones no longer detected are
    /// cleared. Unchanged, which is most signals on most days, writes nothing.
    fn compare(&mut self, o: &Outcome, active: Vec<facts::KeptSignal>) -> Result<()> {
        // A handful per account: a list, not a map.
        let mut active = active;
        for d in &o.detected {
            let evidence = serde_json::to_string(&d.evidence)
                .map_err(|e| Error::invalid("signal", e.to_string()))?;
            let found = active.iter().position(|s| s.kind == d.kind.as_str());
            let id = match found.map(|i| active.swap_remove(i)) {
                Some(s)
                    if s.severity == d.severity
                        && s.summary == d.summary
                        && s.evidence == evidence =>
                {
                    continue
                }
                Some(s) => s.id,
                None => {
                    self.raised += 1;
                    new_id()
                }
            };
            self.upserts.push(SignalRow {
                id,
                account_id: o.account_id.clone(),
                detected: d.clone(),
                evidence,
            });
        }
        self.gone.extend(active.into_iter().map(|s| s.id));
        Ok(())
    }
}

/// Buffers [`Outcome::holds`] writes the severity's and the measures' stored forms into.
#[derive(Default)]
struct Scratch {
    severity: String,
    scores: Vec<u8>,
}

impl Outcome {
    /// Whether `old` is exactly the row [`Outcome::current`] would make (its `==`),
    /// compared without making it: ~57 % of a next day's rows did not move, and making
    /// each cost five allocations.
    fn holds(&self, old: &facts::Current, scratch: &mut Scratch) -> bool {
        let h = &self.health;
        let same = old.scorecard_id == h.scorecard_id
            && old.score == h.score
            && old.band == h.band
            && old.band_color == h.band_color
            && old.severity_score == self.severity.score
            && old.severity_level == self.severity.level
            && old.measures_with_data == Some(h.coverage.with_data)
            && old.measures_total == Some(h.coverage.total);
        if !same {
            return false;
        }
        self.severity.encode_into(&mut scratch.severity);
        if old.severity != scratch.severity {
            return false;
        }
        history::pack_exact_into(&mut scratch.scores, &h.measures);
        old.scores.as_deref() == Some(scratch.scores.as_slice())
    }

    /// The `account_health` row this outcome writes, but for when.
    fn current(&self) -> facts::Current {
        facts::Current {
            scorecard_id: self.health.scorecard_id.clone(),
            score: self.health.score,
            band: self.health.band.clone(),
            band_color: self.health.band_color.clone(),
            severity_score: self.severity.score,
            severity_level: self.severity.level,
            severity: self.severity.encode(),
            measures_with_data: Some(self.health.coverage.with_data),
            measures_total: Some(self.health.coverage.total),
            scores: Some(history::pack_exact(&self.health.measures)),
        }
    }
}

/// Recomputes `ids` (every account when None) as of `today` and re-ranks them.
/// `progress` gets (done, total).
pub async fn recompute(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    progress: impl FnMut(usize, usize),
) -> Result<RecomputeSummary> {
    let _turn = store.deriving().await;
    let book = ids.is_none();
    let (summary, ids) = score(store, ids, today, progress).await?;
    // Severity moved: so may the worklist. The whole book's scored accounts were ranked as
    // they were scored; the accounts another device scores are ranked here.
    if book {
        crate::priority::refresh_after_book(store, Vec::new(), today).await?;
    } else if !ids.is_empty() {
        crate::priority::refresh(store, Some(ids), today).await?;
    }
    Ok(summary)
}

/// `recompute` without the re-rank of the accounts named (the whole book's are ranked as
/// they are scored), for a caller that ranks once; returns the accounts scored.
pub(crate) async fn score(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    mut progress: impl FnMut(usize, usize),
) -> Result<(RecomputeSummary, Vec<String>)> {
    let started = Instant::now();
    let judge = std::sync::Arc::new(Judge {
        cards: scorecards(store).await?,
        thresholds: signal_thresholds(store).await?,
        sev: severity_config(store).await?,
        lanes: crate::priority::config(store).await?,
        stages: crate::lifecycle::criteria(store).await?,
    });
    let book = ids.is_none();
    let mut ids = crate::store::accounts::ids_or_local(store, ids).await?;
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
    // A few accounts move the day's dashboard aggregate by their own difference; the
    // whole book (or a large part) recounts it.
    let incremental = ids.len() <= BATCH;
    let mut aggregated = true;
    // Where the time goes, for `RUST_LOG=riskdesk_core::health=debug`.
    let mut took = [std::time::Duration::ZERO; 7];
    let mut judged_for = std::time::Duration::ZERO;
    let mut lap = Instant::now();
    let mut mark = |slot: usize| {
        took[slot] += lap.elapsed();
        lap = Instant::now();
    };
    let since = today - Duration::days(history::RECENT_DAYS);
    // The whole book is ranked batch by batch as it is scored: read with the facts,
    // ranked by the judge with the new severities, written with the scores.
    let mut ranked = 0;
    // A whole book reads each account's kept usage summary and only its recent weeks.
    let narrow = book.then(|| facts::Narrow::new(today, &judge.stages));
    // Each batch is judged as soon as it is read, beside the writing of the one before.
    // Three batches ahead: two are read at once (the store has two read connections) or
    // one is judged while the next is read, beside the writing.
    let mut batches =
        crate::store::ahead::Ahead::deep(store, &ids, batch, 3, move |store, chunk| {
            let judge = std::sync::Arc::clone(&judge);
            async move {
                let read =
                    facts::load_for_refresh(&store, &chunk, span, since, narrow, book).await?;
                let judged = tokio::task::spawn_blocking(move || judge.batch(read, today, narrow))
                    .await
                    .map_err(|e| Error::invalid("scoring a batch", e.to_string()))??;
                Ok((chunk, judged))
            }
        });
    let mut done = 0;
    let mut open: Option<Tx> = None;
    let mut held = 0;
    while let Some(read) = batches.next().await {
        let (chunk, judged) = read?;
        let chunk = chunk.as_slice();
        let Judged {
            moves,
            outcomes,
            band_notes,
            ranks,
            signals,
            usage_seen,
            feeds,
            scored,
            took: judging,
        } = judged;
        summary.stages_moved += moves.iter().filter(|m| m.from != m.to).count() as u32;
        summary.scored += scored;
        summary.signals_raised += signals.raised;
        summary.signals_cleared += signals.gone.len() as u32;
        judged_for += judging;
        mark(0);
        let mut tx = match open.take() {
            Some(tx) => tx,
            None => store.write().await?,
        };
        let before = if incremental {
            Some(day_share(&mut tx, chunk, today).await?)
        } else {
            None
        };
        crate::lifecycle::apply(&mut tx, &moves, today).await?;
        // A next day moves ~600 accounts' bands: their notes go in as one insert.
        if !band_notes.is_empty() {
            let notes: Vec<crate::timeline::SystemEvent> = band_notes
                .iter()
                .map(|(account_id, note)| crate::timeline::SystemEvent {
                    account_id,
                    cta_id: None,
                    body: note.clone(),
                })
                .collect();
            crate::timeline::system_events(&mut tx, &notes).await?;
        }
        write_snapshots(&mut tx, &outcomes, today).await?;
        mark(1);
        write_current(&mut tx, &outcomes, now).await?;
        mark(2);
        write_signals(&mut tx, &signals, now).await?;
        mark(3);
        write_usage_seen(&mut tx, &usage_seen).await?;
        write_feed_summaries(&mut tx, &feeds).await?;
        mark(5);
        ranked += ranks.len();
        crate::priority::write_ranks(&mut tx, &ranks, now).await?;
        mark(6);
        if let Some(before) = before {
            let after = day_share(&mut tx, chunk, today).await?;
            aggregated = move_day(&mut tx, today, before, after).await?;
        } else {
            aggregated = false;
        }
        done += chunk.len();
        held += 1;
        if held >= BATCHES_A_TRANSACTION || done >= ids.len() {
            tx.commit().await?;
            held = 0;
        } else {
            open = Some(tx);
        }
        mark(4);
        crate::crashpoint("recompute.batch");
        progress(done.min(ids.len()), ids.len());
    }
    tracing::debug!(
        waiting = ?took[0], judging_beside = ?judged_for, history = ?took[1], current = ?took[2], signals = ?took[3],
        usage_summaries = ?took[5], rank = ?took[6], ranked, commit = ?took[4], total = ?started.elapsed(), "recompute of {} accounts", ids.len()
    );
    if !aggregated {
        aggregate_days(store, &[today]).await?;
    }
    summary.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    Ok((summary, ids))
}

/// Seals the score history due today (a seventh of the book, and any account whose rows
/// reach back past two weeks) into its quarters' series, thinning what aged past the
/// retention's daily (weekly) window, as `today`'s whole-book refresh does after its scores
/// and ranks are written: no score or rank waits for it. Returns what it did.
pub async fn thin_history(store: &Store, today: NaiveDate) -> Result<history::Sealed> {
    let started = std::time::Instant::now();
    let due = history::due(store, today).await?;
    let sealed = history::seal(store, &due.accounts, today, due.reach).await?;
    history::note_sealed(store, &due).await?;
    tracing::debug!(accounts = due.accounts.len(), reach = ?due.reach, ?sealed, took = ?started.elapsed(), "history sealed");
    Ok(sealed)
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
    let ids = crate::store::accounts::ids_or_local(store, None).await?;
    let (Some(first), Some(_)) = (days.iter().min(), days.iter().max()) else {
        return Ok(());
    };
    let thresholds = signal_thresholds(store).await?;
    let sev = severity_config(store).await?;
    let lanes = crate::priority::config(store).await?;
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
                    evaluate(
                        &cards,
                        &then,
                        day,
                        &thresholds,
                        &sev,
                        &lanes,
                        scorecard::Words::Skipped,
                    )
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
    aggregate_days(store, days).await?;
    // The past days go straight to their sealed series (the day after the last is the
    // backfill's "today": its own rows stay rows).
    let after = *days.iter().max().unwrap_or(first) + Duration::days(1);
    let accounts = history::with_rows_before(store.pool(), after).await?;
    history::seal(store, &accounts, after, history::Reach::All).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
