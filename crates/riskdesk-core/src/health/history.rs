//! Score history: a day's scores are written as one compact row per account (clustered by
//! day, so a day's rows are an append); each week an account's rows from before today are
//! folded into its quarters' delta-encoded series (`packed`), where retention thins them.
//!
//! A history row keeps what a later reader needs to say what moved (the scorecard and
//! its version, the score and band, and each measure's raw value, score and
//! contribution) in a short binary form (`pack`; rows from before it hold a text form,
//! still read); labels come from the measure kind when read. The current score's full
//! explanation (raw values as a person reads them, evidence, override comments) is built
//! when read from the account's data. Trends and the health-drop signal read the
//! account's recent scores from a short series in `health_state`, so scoring never scans
//! the history table.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, SqlitePool};

use crate::scorecard::{MeasureKind, MeasureResult, ScoreSource};
use crate::store::{insert_batched, Store, Tx};
use crate::{Error, Result};

mod packed;

pub use crate::scorecard::facts::RECENT_DAYS;

const RETENTION: &str = "history_retention";

/// How long each resolution of score history is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HistoryRetention {
    /// Every day's score for this many days.
    pub daily_days: u32,
    /// Then one score a week (the week's first) until this many days old; one a month after.
    pub weekly_days: u32,
}

impl Default for HistoryRetention {
    fn default() -> Self {
        HistoryRetention {
            daily_days: 90,
            weekly_days: 730,
        }
    }
}

impl HistoryRetention {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        // The recent series and the 90-day trend read daily scores this far back.
        if self.daily_days < 90 {
            out.push(format!(
                "daily history: {} days is too short, at least 90 (the 90-day trend reads it)",
                self.daily_days
            ));
        }
        if self.weekly_days < self.daily_days {
            out.push(format!(
                "weekly history: {} days must be at least the daily history's {} days",
                self.weekly_days, self.daily_days
            ));
        }
        if self.weekly_days > 36_500 {
            out.push(format!(
                "weekly history: {} days is more than a century",
                self.weekly_days
            ));
        }
        out
    }
}

pub async fn retention(pool: &SqlitePool) -> Result<HistoryRetention> {
    crate::config::get(pool, RETENTION).await
}

pub async fn save_retention(store: &Store, r: &HistoryRetention) -> Result<()> {
    if let [first, ..] = r.problems().as_slice() {
        return Err(Error::invalid("history retention", first.clone()));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, RETENTION, r).await?;
    Ok(tx.commit().await?)
}

/// A short, stable code per measure kind (history rows outlive any renaming), and by
/// its position the number `pack` stores: append only, never reorder.
const CODES: [(MeasureKind, &str); 12] = [
    (MeasureKind::SeatUtilization, "su"),
    (MeasureKind::ActiveUserTrend, "au"),
    (MeasureKind::LoginFrequency, "lf"),
    (MeasureKind::KeyFeatureAdoption, "ka"),
    (MeasureKind::OpenTickets, "ot"),
    (MeasureKind::TicketAge, "ta"),
    (MeasureKind::NpsLatest, "nl"),
    (MeasureKind::NpsTrend, "nt"),
    (MeasureKind::Stakeholders, "sh"),
    (MeasureKind::OnboardingProgress, "op"),
    (MeasureKind::EngagementRecency, "er"),
    (MeasureKind::CsmSentiment, "cs"),
];

fn number(kind: MeasureKind) -> usize {
    CODES.iter().position(|(k, _)| *k == kind).unwrap_or(0)
}

#[cfg(test)]
fn code(kind: MeasureKind) -> &'static str {
    CODES[number(kind)].1
}

fn from_code(c: &str) -> Option<MeasureKind> {
    CODES.iter().find(|(_, code)| *code == c).map(|(k, _)| *k)
}

/// Shortest text that reads back within the rounding a person can see.
fn num(v: f64, decimals: i32) -> String {
    let f = 10f64.powi(decimals);
    let r = (v * f).round() / f;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// `su:0.41:82:12.35;ot:3:60:5.4;…`: kind, raw value, score and contribution; an empty
/// field is "no data". History rows written before `pack` hold this form.
#[cfg(test)]
pub fn encode(measures: &[MeasureResult]) -> String {
    encode_with(measures, |out, v, digits| out.push_str(&num(v, digits)))
}

/// `encode` without rounding (each number reads back bit for bit): the current row's form
/// before [`pack_exact`]; such rows still read.
#[cfg(test)]
pub fn encode_exact(measures: &[MeasureResult]) -> String {
    // Written in place: a whole-book recompute writes 3.3M numbers.
    encode_with(measures, |out, v, _| {
        use std::fmt::Write;
        let _ = write!(out, "{v}");
    })
}

#[cfg(test)]
fn encode_with(measures: &[MeasureResult], num: impl Fn(&mut String, f64, i32)) -> String {
    let mut out = String::with_capacity(measures.len() * 20);
    for (i, m) in measures.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(code(m.kind));
        out.push(':');
        if let Some(r) = m.raw {
            num(&mut out, r, 3);
        }
        out.push(':');
        if let Some(s) = m.score {
            num(&mut out, s, 1);
        }
        out.push(':');
        num(&mut out, m.contribution, 2);
    }
    out
}

/// Reads `encode`'s form back: what "what changed since" needs of a past score. Parts a
/// later version does not know are skipped, never an error.
pub fn decode(text: &str) -> Vec<MeasureResult> {
    text.split(';')
        .filter_map(|part| {
            let mut f = part.split(':');
            let kind = from_code(f.next()?)?;
            let raw = f.next().and_then(|v| v.parse::<f64>().ok());
            let score = f.next().and_then(|v| v.parse::<f64>().ok());
            let contribution = f.next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            Some(kept(kind, raw, score, contribution))
        })
        .collect()
}

/// Marks [`pack_exact`]'s first form (every number as 8 bytes); text rows (written
/// before it) start with a letter.
const EXACT: u8 = 3;
/// Marks [`pack_exact`]'s form.
const EXACT_SHORT: u8 = 4;

/// The decimal scales a number is tried at, smallest first (a number's code is its index;
/// `RAW` marks one written as its 8 bytes).
const DECIMALS: [f64; 5] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];
const RAW: i64 = 7;

/// The current row's measures, each number bit for bit (what rules compare against their
/// thresholds, and what a recompute compares to know whether the row moved): per measure
/// `pack`'s head byte, then its raw value, score and (unless zero) contribution. A number
/// that is an integer count of tenths, hundredths … ten-thousandths, and reads back as
/// exactly the same float, is that count and its scale in one variable-length integer
/// (most raw values and scores: 1-3 bytes); any other is a marker and its 8 bytes. At
/// 100K accounts the rows' numbers went from 17.5 to ~10 MB. Formatting them as text
/// instead was 4.5 % of a next day's instructions and parsing them back 2 % of a rule
/// run's.
pub fn pack_exact(measures: &[MeasureResult]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + measures.len() * 12);
    pack_exact_into(&mut out, measures);
    out
}

/// [`pack_exact`] into `out` (cleared first): a next day compares each account's form
/// with the stored one, and most are the same, so one buffer serves them all.
pub(crate) fn pack_exact_into(out: &mut Vec<u8>, measures: &[MeasureResult]) {
    out.clear();
    out.push(EXACT_SHORT);
    for m in measures {
        let contribution = (m.contribution != 0.0).then_some(m.contribution);
        out.push(
            number(m.kind) as u8
                | u8::from(m.raw.is_some()) << 5
                | u8::from(m.score.is_some()) << 6
                | u8::from(contribution.is_some()) << 7,
        );
        for v in [m.raw, m.score, contribution].into_iter().flatten() {
            exact_number(out, v);
        }
    }
}

fn exact_number(out: &mut Vec<u8>, v: f64) {
    if !decimal_at_most(v) {
        varint(out, RAW);
        out.extend_from_slice(&v.to_le_bytes());
        return;
    }
    for (code, scale) in DECIMALS.iter().enumerate() {
        let n = (v * scale).round();
        // Compared as it will be read (an integer back to a float): -0.0 stays raw.
        if n.abs() < 2f64.powi(52) && ((n as i64) as f64 / scale).to_bits() == v.to_bits() {
            varint(out, (n as i64) << 3 | code as i64);
            return;
        }
    }
    varint(out, RAW);
    out.extend_from_slice(&v.to_le_bytes());
}

/// Whether `v` may read back from one of [`DECIMALS`] (false: it cannot, it is written
/// raw). Most contributions and ratios have more decimals than the last scale keeps, and
/// trying every scale on them was a third of a next day's packing. A number that reads back
/// at a scale reads back at every larger one (the same quotient, correctly rounded), so one
/// that does not at the largest reads back at none; the check is made only where the
/// products are far too small for their own rounding to move an integer.
fn decimal_at_most(v: f64) -> bool {
    let scale = DECIMALS[DECIMALS.len() - 1];
    let n = (v * scale).round();
    n.abs() >= 2f64.powi(40) || ((n as i64) as f64 / scale).to_bits() == v.to_bits()
}

fn read_exact_number(rest: &mut &[u8]) -> Option<f64> {
    let (z, tail) = unvarint(rest)?;
    *rest = tail;
    if z == RAW {
        let (bytes, tail) = rest.split_first_chunk::<8>()?;
        *rest = tail;
        return Some(f64::from_le_bytes(*bytes));
    }
    let scale = DECIMALS.get(usize::try_from(z & 7).ok()?)?;
    Some((z >> 3) as f64 / scale)
}

/// Reads a current row's measures in either form (`pack_exact`'s, or the text rows written
/// before it). A damaged or unknown part ends the list there.
pub fn unpack_exact(stored: &[u8]) -> Vec<MeasureResult> {
    match exact_parts(stored) {
        Some(parts) => parts
            .into_iter()
            .map(|(kind, raw, score, contribution)| kept(kind, raw, score, contribution))
            .collect(),
        None => std::str::from_utf8(stored).map(decode).unwrap_or_default(),
    }
}

/// Only each measure's score from a current row, in either form, for the rules, which
/// read every account's on each run (without the labels and formatted values
/// [`unpack_exact`] builds).
pub fn exact_scores(stored: &[u8]) -> Vec<(MeasureKind, Option<f64>)> {
    match exact_parts(stored) {
        Some(parts) => parts.into_iter().map(|(k, _, s, _)| (k, s)).collect(),
        None => std::str::from_utf8(stored)
            .map(decode_scores)
            .unwrap_or_default(),
    }
}

type ExactPart = (MeasureKind, Option<f64>, Option<f64>, f64);

/// `pack_exact`'s parts; None when `stored` is not in that form.
fn exact_parts(stored: &[u8]) -> Option<Vec<ExactPart>> {
    let (&form, mut rest) = stored.split_first()?;
    if form != EXACT && form != EXACT_SHORT {
        return None;
    }
    // A part per measure kind, each at least a byte.
    let mut out = Vec::with_capacity(rest.len().min(CODES.len()));
    while let Some((&head, tail)) = rest.split_first() {
        rest = tail;
        let Some(&(kind, _)) = CODES.get(usize::from(head & 31)) else {
            break;
        };
        let mut next = |present: bool| -> Option<Option<f64>> {
            if !present {
                return Some(None);
            }
            if form == EXACT_SHORT {
                return read_exact_number(&mut rest).map(Some);
            }
            let (bytes, tail) = rest.split_first_chunk::<8>()?;
            rest = tail;
            Some(Some(f64::from_le_bytes(*bytes)))
        };
        let (Some(raw), Some(score), Some(contribution)) = (
            next(head & 32 != 0),
            next(head & 64 != 0),
            next(head & 128 != 0),
        ) else {
            break;
        };
        out.push((kind, raw, score, contribution.unwrap_or(0.0)));
    }
    Some(out)
}

/// Only each measure's score from `encode`'s form (see [`exact_scores`]).
pub fn decode_scores(text: &str) -> Vec<(MeasureKind, Option<f64>)> {
    text.split(';')
        .filter_map(|part| {
            let mut f = part.split(':');
            let kind = from_code(f.next()?)?;
            let score = f.nth(1).and_then(|v| v.parse::<f64>().ok());
            Some((kind, score))
        })
        .collect()
}

/// A measure as history keeps it: numbers, with the label its kind has today.
fn kept(
    kind: MeasureKind,
    raw: Option<f64>,
    score: Option<f64>,
    contribution: f64,
) -> MeasureResult {
    MeasureResult {
        kind,
        label: kind.label().into(),
        group: None,
        weight: 0.0,
        raw,
        raw_display: raw.map_or_else(|| "no data".to_string(), |r| num(r, 3)),
        evidence: String::new(),
        score,
        contribution,
        source: if score.is_some() {
            ScoreSource::Data
        } else {
            ScoreSource::Missing
        },
    }
}

/// Marks the binary forms; text rows (written before them) start with a letter.
const PACKED: u8 = 1;
const PACKED_HEADED: u8 = 2;

// A measure's number and its three flags share one byte in `PACKED_HEADED`.
const _: () = assert!(CODES.len() <= 32);

/// History's stored form: per measure one byte for its kind's number and which values it
/// has, then the raw value (thousandths), score (tenths) and contribution (hundredths,
/// left out when zero) as variable-length integers: the rounding `encode` keeps, in ~6
/// bytes a measure instead of ~15 (a measure without data: 1). Rows written before hold
/// the first binary form (two bytes a measure before its values, the contribution always
/// there) or the text form; both still read.
pub fn pack(measures: &[MeasureResult]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + measures.len() * 7);
    out.push(PACKED_HEADED);
    for m in measures {
        let contribution = (m.contribution * 1e2).round() as i64;
        out.push(
            number(m.kind) as u8
                | u8::from(m.raw.is_some()) << 5
                | u8::from(m.score.is_some()) << 6
                | u8::from(contribution != 0) << 7,
        );
        for (v, scale) in [(m.raw, 1e3), (m.score, 1e1)] {
            if let Some(v) = v {
                varint(&mut out, (v * scale).round() as i64);
            }
        }
        if contribution != 0 {
            varint(&mut out, contribution);
        }
    }
    out
}

/// Reads what history stores, in any of its forms. A damaged or unknown part ends the
/// list there, never an error: history is an explanation's past, not its present.
pub fn unpack(stored: &[u8]) -> Vec<MeasureResult> {
    let (headed, mut rest) = match stored.split_first() {
        Some((&PACKED_HEADED, rest)) => (true, rest),
        Some((&PACKED, rest)) => (false, rest),
        _ => return std::str::from_utf8(stored).map(decode).unwrap_or_default(),
    };
    let mut out = Vec::new();
    loop {
        // (number, has raw, has score, has contribution)
        let head = match (headed, rest) {
            (true, [h, tail @ ..]) => {
                rest = tail;
                (*h & 31, h & 32 != 0, h & 64 != 0, h & 128 != 0)
            }
            (false, [number, flags, tail @ ..]) => {
                rest = tail;
                (*number, flags & 1 != 0, flags & 2 != 0, true)
            }
            _ => break,
        };
        let (number, has_raw, has_score, has_contribution) = head;
        let Some(&(kind, _)) = CODES.get(number as usize) else {
            break;
        };
        let mut next = |present: bool, scale: f64| -> Option<Option<f64>> {
            if !present {
                return Some(None);
            }
            let (v, tail) = unvarint(rest)?;
            rest = tail;
            Some(Some(v as f64 / scale))
        };
        let (Some(raw), Some(score), Some(contribution)) = (
            next(has_raw, 1e3),
            next(has_score, 1e1),
            next(has_contribution, 1e2),
        ) else {
            break;
        };
        out.push(kept(kind, raw, score, contribution.unwrap_or(0.0)));
    }
    out
}

pub(crate) use crate::store::reader::{epoch_day, from_epoch_day};
pub(crate) use crate::store::varint::{unvarint, varint};

/// The recent series, oldest first, only days within `RECENT_DAYS` of `today`: a
/// `PACKED` byte, then per point the days since the previous point's day and the change
/// of the score in hundredths, as variable-length integers. A daily series costs about
/// 3 bytes a day (120 days: ~360 bytes against ~1.4 KB as text), and it is rewritten for
/// every account each day.
pub fn encode_recent(points: &[(NaiveDate, f64)], today: NaiveDate) -> Vec<u8> {
    let from = today - Duration::days(RECENT_DAYS);
    let mut out = Vec::with_capacity(4 + points.len() * 3);
    out.push(PACKED);
    let (mut day, mut score) = (0, 0);
    for (d, s) in points.iter().filter(|(d, _)| *d >= from && *d <= today) {
        let (d, s) = (epoch_day(*d), (s * 100.0).round() as i64);
        varint(&mut out, d - day);
        varint(&mut out, s - score);
        (day, score) = (d, s);
    }
    out
}

/// Reads the recent series in either form: `encode_recent`'s, or the text form stores
/// wrote before it (`20688:81.2,20689:80.9,…`). Each score reads back as the text form's
/// two-decimal rounding did, bit for bit.
pub fn decode_recent(stored: &[u8]) -> Vec<(NaiveDate, f64)> {
    let day_of = from_epoch_day;
    let Some((&PACKED, mut rest)) = stored.split_first() else {
        let text = std::str::from_utf8(stored).unwrap_or_default();
        return text
            .split(',')
            .filter_map(|p| {
                let (d, s) = p.split_once(':')?;
                Some((day_of(d.parse().ok()?)?, s.parse().ok()?))
            })
            .collect();
    };
    // Each point takes at least two bytes.
    let mut out = Vec::with_capacity(rest.len() / 2);
    let (mut day, mut score) = (0, 0);
    let mut last: Option<NaiveDate> = None;
    while let Some((d, tail)) = unvarint(rest) {
        let Some((s, tail)) = unvarint(tail) else {
            break;
        };
        (day, score, rest) = (day + d, score + s, tail);
        // A day after the one before is that date moved on (chrono's cheap path within a
        // year), the same date the day's number gives.
        let date = match (last, u64::try_from(d)) {
            (Some(before), Ok(ahead)) => before.checked_add_days(chrono::Days::new(ahead)),
            _ => day_of(day),
        };
        let Some(date) = date else {
            break;
        };
        last = Some(date);
        out.push((date, score as f64 / 100.0));
    }
    out
}

/// History rows are clustered by day (a day's rows are an append), so one account's rows
/// are reached by a seek per day the rows hold (`history_days`, kept with the rows; a
/// week or two of days once sealed) instead of a scan: `FROM history_days d CROSS JOIN
/// health_history h WHERE h.epoch_day = d.epoch_day AND h.account = …`. Days are stored as
/// their number (migration 35) and read back as dates.
pub(crate) fn one_account() -> &'static str {
    "SELECT date(h.epoch_day * 86400, 'unixepoch'), h.score, CAST(h.measures AS BLOB) FROM history_days d \
     CROSS JOIN health_history h \
     WHERE h.epoch_day = d.epoch_day AND h.account = (SELECT rowid FROM accounts WHERE id = ?) ORDER BY d.epoch_day"
}

/// A sealed snapshot's score (kept in hundredths).
fn sealed_score(s: &packed::Snapshot) -> Option<f64> {
    s.score.map(|v| v as f64 / 100.0)
}

/// One account's stored days, oldest first: (day, score, measures as stored, for `unpack`),
/// from its sealed series and its rows (a row wins a day both hold: it was written later,
/// by a recompute of a past day).
pub(crate) async fn of_account(
    pool: &SqlitePool,
    account_id: &str,
) -> Result<Vec<(NaiveDate, Option<f64>, Vec<u8>)>> {
    let series: Vec<Vec<u8>> = sqlx::query_scalar(&format!(
        "SELECT p.series FROM accounts a JOIN health_history_packed p ON {} WHERE a.id = ? ORDER BY p.key",
        packed::series_of("a.rowid")
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    let mut days = std::collections::BTreeMap::new();
    for s in series.iter().flat_map(|s| packed::decode(s)) {
        if let Some(day) = from_epoch_day(s.day) {
            days.insert(day, (sealed_score(&s), packed::stored(&s.measures)));
        }
    }
    let rows: Vec<(NaiveDate, Option<f64>, Vec<u8>)> = sqlx::query_as(one_account())
        .bind(account_id)
        .fetch_all(pool)
        .await?;
    for (day, score, measures) in rows {
        days.insert(day, (score, measures));
    }
    Ok(days
        .into_iter()
        .map(|(day, (score, measures))| (day, score, measures))
        .collect())
}

/// The scores since `since` of the accounts `accounts` covers, each account's in day order:
/// (account, day, score), from sealed series and rows (a row wins a day both hold).
pub(crate) fn scores_since(
    conn: &rusqlite::Connection,
    accounts: &crate::store::reader::Accounts<'_>,
    since: NaiveDate,
    mut row: impl FnMut(&str, NaiveDate, f64),
) -> rusqlite::Result<()> {
    let mut found: std::collections::BTreeMap<String, std::collections::BTreeMap<NaiveDate, f64>> =
        Default::default();
    let first_quarter = packed::quarter(epoch_day(since));
    accounts.each(
        conn,
        &format!(
            "SELECT a.id, p.key, p.series FROM accounts a JOIN health_history_packed p ON {} \
             WHERE a.id{{accounts}}",
            packed::series_of("a.rowid")
        ),
        |r| {
            if packed::unkey(r.get(1)?).1 < first_quarter {
                return Ok(());
            }
            let scores = found.entry(r.get(0)?).or_default();
            for s in packed::decode(r.get_ref(2)?.as_bytes()?) {
                if let (Some(day), Some(score)) = (from_epoch_day(s.day), sealed_score(&s)) {
                    if day >= since {
                        scores.insert(day, score);
                    }
                }
            }
            Ok(())
        },
    )?;
    accounts.each(
        conn,
        "SELECT a.id, h.epoch_day, h.score FROM history_days d CROSS JOIN health_history h JOIN accounts a ON a.rowid = h.account \
         WHERE h.epoch_day = d.epoch_day AND h.account IN (SELECT rowid FROM accounts WHERE id{accounts}) AND h.score IS NOT NULL",
        |r| {
            let day = crate::store::reader::day_number(r, 1)?;
            if day >= since {
                let scores = found.entry(r.get(0)?).or_default();
                scores.insert(day, r.get(2)?);
            }
            Ok(())
        },
    )?;
    for (id, scores) in &found {
        for (day, score) in scores {
            row(id, *day, *score);
        }
    }
    Ok(())
}

/// Per day since `since`: how many of the accounts `accounts` (a query of `rowid`s, this
/// crate's constant, never input) scored under 50, and how many had a score, from sealed
/// series and rows (a row wins a day both hold).
pub(crate) async fn at_risk_by_day(
    pool: &SqlitePool,
    accounts: &'static str,
    since: NaiveDate,
) -> Result<Vec<(NaiveDate, i64, i64)>> {
    let started = std::time::Instant::now();
    let from = epoch_day(since);
    let rows: Vec<(i64, i64, f64)> = sqlx::query_as(&format!(
        "SELECT h.account, h.epoch_day, h.score FROM history_days d CROSS JOIN health_history h \
         WHERE h.epoch_day = d.epoch_day AND d.epoch_day >= ? AND h.score IS NOT NULL AND h.account IN ({accounts})"
    ))
    .bind(from)
    .fetch_all(pool)
    .await?;
    let series: Vec<(i64, Vec<u8>)> = sqlx::query_as(&format!(
        // CROSS JOIN keeps the accounts outside: the planner otherwise scans every series
        // against an automatic index of the accounts (minutes at 100K).
        "WITH x(account) AS ({accounts}) SELECT x.account, p.series FROM x CROSS JOIN health_history_packed p \
         ON {} AND p.key >= x.account * {} + ?",
        packed::series_of("x.account"),
        packed::QUARTERS
    ))
    .bind(packed::quarter(from))
    .fetch_all(pool)
    .await?;
    let read = started.elapsed();
    let mut days: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    let mut count = |day: i64, below: bool| {
        let d = days.entry(day).or_default();
        d.0 += i64::from(below);
        d.1 += 1;
    };
    let written: std::collections::HashSet<(i64, i64)> =
        rows.iter().map(|(a, day, _)| (*a, *day)).collect();
    for (_, day, score) in &rows {
        count(*day, *score < 50.0);
    }
    for (account, s) in &series {
        for s in packed::decode(s) {
            if let Some(score) = s.score.filter(|_| s.day >= from) {
                if !written.contains(&(*account, s.day)) {
                    count(s.day, score < 5_000);
                }
            }
        }
    }
    tracing::debug!(rows = rows.len(), series = series.len(), ?read, took = ?started.elapsed(), "at risk by day");
    Ok(days
        .into_iter()
        .filter_map(|(day, (below, scored))| Some((from_epoch_day(day)?, below, scored)))
        .collect())
}

/// One account's score for one day, as the history keeps it.
pub(crate) struct Entry<'a> {
    pub account_id: &'a str,
    /// `accounts.rowid`, when the writer knows it (else it is looked up by id).
    pub row: Option<i64>,
    pub scorecard_id: &'a str,
    pub scorecard_version: i32,
    pub score: Option<f64>,
    pub band: Option<&'a str>,
    /// `pack`'s form.
    pub measures: Vec<u8>,
    /// In the digital lane with this score.
    pub digital: bool,
}

/// The small numbers history stores for scorecards (`history_scorecards`) or band names
/// (`history_bands`), numbering any it has not seen. `table` and `column` are this
/// module's constants, never input.
async fn numbers<'a>(
    tx: &mut Tx,
    table: &str,
    column: &str,
    values: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, i64>> {
    let mut values: Vec<&str> = values.collect();
    values.sort_unstable();
    values.dedup();
    for v in &values {
        sqlx::query(&format!(
            "INSERT INTO {table} ({column}) VALUES (?) ON CONFLICT DO NOTHING"
        ))
        .bind(*v)
        .execute(&mut **tx)
        .await?;
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!("SELECT {column}, n FROM {table}"))
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Writes the day's rows; a second run that day rewrites only the rows whose result moved.
pub(crate) async fn write(tx: &mut Tx, entries: &[Entry<'_>], day: NaiveDate) -> Result<()> {
    let cards = numbers(
        tx,
        "history_scorecards",
        "scorecard_id",
        entries.iter().map(|e| e.scorecard_id),
    )
    .await?;
    let bands = numbers(
        tx,
        "history_bands",
        "band",
        entries.iter().filter_map(|e| e.band),
    )
    .await?;
    let mut rows: Vec<(&Entry, i64, Option<i64>)> = entries
        .iter()
        .map(|e| {
            let card = cards.get(e.scorecard_id).copied().unwrap_or_default();
            (e, card, e.band.and_then(|b| bands.get(b).copied()))
        })
        .collect();
    let day_number = epoch_day(day);
    sqlx::query("INSERT INTO history_days (epoch_day) VALUES (?) ON CONFLICT DO NOTHING")
        .bind(day_number)
        .execute(&mut **tx)
        .await?;
    let on_conflict = " ON CONFLICT(epoch_day, account) DO UPDATE SET scorecard = excluded.scorecard, \
         scorecard_version = excluded.scorecard_version, score = excluded.score, band_n = excluded.band_n, measures = excluded.measures, \
         digital = excluded.digital \
         WHERE (health_history.scorecard, health_history.scorecard_version, health_history.score, health_history.band_n, health_history.measures, health_history.digital) \
           IS NOT (excluded.scorecard, excluded.scorecard_version, excluded.score, excluded.band_n, excluded.measures, excluded.digital)";
    if rows.iter().all(|(e, ..)| e.row.is_some()) {
        // Row numbers known (a recompute reads them with the facts): written in key order,
        // with no lookup or sort per row (0.38-0.44 -> 0.25-0.28 s for 100K rows), by one
        // prepared statement a row on the transaction's connection, where sqlx parsed a
        // statement of 3,750 rows' values per batch.
        rows.sort_by_key(|(e, ..)| e.row);
        let sql = format!(
            "INSERT INTO health_history (epoch_day, account, scorecard, scorecard_version, score, band_n, measures, digital) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8){on_conflict}"
        );
        return crate::store::write_raw(tx, "score history", |conn| {
            let mut insert = conn.prepare(&sql)?;
            for (e, card, band) in &rows {
                insert.execute(rusqlite::params![
                    day_number,
                    e.row,
                    card,
                    e.scorecard_version,
                    e.score,
                    band,
                    e.measures,
                    e.digital
                ])?;
            }
            Ok(())
        })
        .await;
    }
    // Each row's account key is its row number, looked up by id as the rows go in.
    insert_batched(
        tx,
        "INSERT INTO health_history (epoch_day, account, scorecard, scorecard_version, score, band_n, measures, digital) \
         SELECT v.column1, a.rowid, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8 FROM (",
        8,
        &format!(") v JOIN accounts a ON a.id = v.column2 WHERE true ORDER BY a.rowid{on_conflict}"),
        &rows,
        |b, (e, card, band)| {
            b.push_bind(day_number)
                .push_bind(e.account_id.to_string())
                .push_bind(*card)
                .push_bind(e.scorecard_version)
                .push_bind(e.score)
                .push_bind(*band)
                .push_bind(e.measures.clone())
                .push_bind(e.digital);
        },
    )
    .await
}

/// The Monday of `d`'s week.
fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// What a seal did: rows folded into series, and snapshots retention removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub rows: u64,
    pub thinned: u64,
}

impl std::ops::AddAssign for Sealed {
    fn add_assign(&mut self, o: Sealed) {
        self.rows += o.rows;
        self.thinned += o.thinned;
    }
}

/// Accounts sealed per transaction: a kill loses at most the step under way, whose rows
/// are still rows (sealed the next time), and a step's history fits in memory.
const SEAL_STEP: usize = 4_000;
/// Accounts per read or delete of a step: the lists stay short.
const SEAL_BATCH: usize = 500;

/// Which of an account's sealed quarters a seal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every quarter: retention changed, the schedule paused, or a backfill.
    All,
    /// Only the quarters retention can have changed since the account's last seal (a
    /// week ago: the weeks around the daily and weekly horizons, with five weeks' slack)
    /// and those its rows go to: older sealed quarters are thinned already.
    Recent,
}

/// One account's history as a seal reads it: its rows before the day, as snapshots, and the
/// sealed quarters it reaches (quarter, series).
#[derive(Default)]
struct Held {
    rows: Vec<packed::Snapshot>,
    series: Vec<(i64, Vec<u8>)>,
}

/// Folds `accounts`' history rows from before `today` into their quarters' series and
/// thins their series by the retention as of `today`: past `daily_days` each week's first
/// score, past `weekly_days` each month's first (each account its own first). A series is
/// rewritten only when it changed; an account's rows leave in the transaction its series
/// is written. Today's rows stay rows: a second recompute today may still rewrite them.
pub(crate) async fn seal(
    store: &Store,
    accounts: &[i64],
    today: NaiveDate,
    reach: Reach,
) -> Result<Sealed> {
    let r = retention(store.pool()).await?;
    let mut accounts = accounts.to_vec();
    accounts.sort_unstable();
    accounts.dedup();
    let mut sealed = Sealed::default();
    for step in accounts.chunks(SEAL_STEP) {
        let mut tx = store.write().await?;
        sealed += seal_step(store, &mut tx, step, today, &r, reach).await?;
        tx.commit().await?;
    }
    Ok(sealed)
}

async fn seal_step(
    store: &Store,
    tx: &mut Tx,
    step: &[i64],
    today: NaiveDate,
    r: &HistoryRetention,
    reach: Reach,
) -> Result<Sealed> {
    use std::collections::BTreeMap;
    let before = epoch_day(today);
    let daily_cut = week_start(today - Duration::days(r.daily_days as i64));
    let weekly_cut = month_start(today - Duration::days(r.weekly_days as i64));
    let around = |cut: NaiveDate| {
        (
            packed::quarter(epoch_day(cut - Duration::days(35))),
            packed::quarter(epoch_day(cut + Duration::days(7))),
        )
    };
    let windows = [around(daily_cut), around(weekly_cut)];
    // Where a seal's time goes (read, fold, write series, delete rows).
    let mut took = [std::time::Duration::ZERO; 4];
    let mut lap = std::time::Instant::now();
    let mut mark = |phase: usize| {
        took[phase] += lap.elapsed();
        lap = std::time::Instant::now();
    };
    // Read on the bulk reader once this transaction holds the write lock, so what it reads
    // is what the transaction starts from; nothing is written before every read is done.
    let accounts = step.to_vec();
    let held: BTreeMap<i64, Held> = store
        .read(move |conn| {
            let mut held: BTreeMap<i64, Held> = accounts.iter().map(|a| (*a, Held::default())).collect();
            for batch in accounts.chunks(SEAL_BATCH) {
                crate::store::reader::each_keyed(
                    conn,
                    batch,
                    true,
                    &format!(
                        "SELECT h.account, h.epoch_day, h.scorecard, h.scorecard_version, h.score, h.band_n, CAST(h.measures AS BLOB) \
                         FROM history_days d CROSS JOIN health_history h \
                         WHERE h.epoch_day = d.epoch_day AND d.epoch_day < {before} AND h.account{{rows}}"
                    ),
                    |row| {
                        if let Some(h) = held.get_mut(&row.get(0)?) {
                            h.rows.push(packed::Snapshot {
                                day: row.get(1)?,
                                scorecard: row.get(2)?,
                                version: row.get(3)?,
                                score: row.get::<_, Option<f64>>(4)?.map(|s| (s * 100.0).round() as i64),
                                band: row.get(5)?,
                                measures: packed::stored_parts(row.get_ref(6)?.as_bytes()?),
                            });
                        }
                        Ok(())
                    },
                )?;
                // Each account's series are one key range.
                let list = serde_json::to_string(batch).unwrap_or_default();
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT p.key, p.series FROM json_each(?1) j JOIN health_history_packed p ON {}",
                    packed::series_of("j.value")
                ))?;
                let mut found = stmt.query([list])?;
                while let Some(row) = found.next()? {
                    let (account, quarter) = packed::unkey(row.get(0)?);
                    let Some(h) = held.get_mut(&account) else {
                        continue;
                    };
                    let from_rows = h.rows.iter().map(|s| packed::quarter(s.day)).min();
                    let reached = reach == Reach::All
                        || from_rows.is_some_and(|q| quarter >= q)
                        || windows.iter().any(|(lo, hi)| (*lo..=*hi).contains(&quarter));
                    if reached {
                        h.series.push((quarter, row.get_ref(1)?.as_bytes()?.to_vec()));
                    }
                }
            }
            Ok(held)
        })
        .await?;
    mark(0);
    let mut sealed = Sealed::default();
    let mut writes: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    let mut emptied: Vec<(i64, i64)> = Vec::new();
    for (account, h) in held {
        if h.rows.is_empty() && h.series.is_empty() {
            continue;
        }
        sealed.rows += h.rows.len() as u64;
        let mut days: BTreeMap<i64, packed::Snapshot> = BTreeMap::new();
        for (_, series) in &h.series {
            days.extend(packed::decode(series).into_iter().map(|s| (s.day, s)));
        }
        // A row wins a day a series holds: it was written later (a past day recomputed).
        days.extend(h.rows.into_iter().map(|s| (s.day, s)));
        let mut snapshots: Vec<packed::Snapshot> = days.into_values().collect();
        sealed.thinned += packed::thin(&mut snapshots, daily_cut, weekly_cut);
        let mut quarters: BTreeMap<i64, Vec<packed::Snapshot>> = BTreeMap::new();
        for s in snapshots {
            quarters.entry(packed::quarter(s.day)).or_default().push(s);
        }
        for (quarter, old) in &h.series {
            match quarters.remove(quarter) {
                None => emptied.push((account, *quarter)),
                Some(snapshots) => {
                    let series = packed::encode(&snapshots);
                    if series != *old {
                        writes.push((account, *quarter, series));
                    }
                }
            }
        }
        for (quarter, snapshots) in quarters {
            writes.push((account, quarter, packed::encode(&snapshots)));
        }
    }
    mark(1);
    for (account, quarter) in emptied {
        sqlx::query("DELETE FROM health_history_packed WHERE key = ?")
            .bind(packed::key(account, quarter))
            .execute(&mut **tx)
            .await?;
    }
    insert_batched(
        tx,
        "INSERT INTO health_history_packed (key, series) ",
        2,
        " ON CONFLICT(key) DO UPDATE SET series = excluded.series",
        &writes,
        |b, (account, quarter, series)| {
            b.push_bind(packed::key(*account, *quarter))
                .push_bind(series.clone());
        },
    )
    .await?;
    mark(2);
    for batch in step.chunks(SEAL_BATCH) {
        let mut qb = QueryBuilder::new(
            "DELETE FROM health_history WHERE epoch_day IN (SELECT epoch_day FROM history_days WHERE epoch_day < ",
        );
        qb.push_bind(before).push(") AND account");
        match (batch.first(), batch.last()) {
            // Every account between the first and the last (a backfill's): one range a day.
            (Some(first), Some(last)) if (last - first) as usize == batch.len() - 1 => {
                qb.push(" BETWEEN ")
                    .push_bind(*first)
                    .push(" AND ")
                    .push_bind(*last);
            }
            _ => {
                qb.push(" IN (");
                let mut list = qb.separated(", ");
                for a in batch {
                    list.push_bind(*a);
                }
                qb.push(")");
            }
        }
        qb.build().execute(&mut **tx).await?;
    }
    // Days whose rows all left leave the list of days.
    sqlx::query(
        "DELETE FROM history_days WHERE epoch_day < ? \
         AND NOT EXISTS (SELECT 1 FROM health_history h WHERE h.epoch_day = history_days.epoch_day)",
    )
    .bind(before)
    .execute(&mut **tx)
    .await?;
    mark(3);
    let [read, fold, write, delete] = took;
    tracing::debug!(
        accounts = step.len(),
        ?reach,
        ?read,
        ?fold,
        ?write,
        ?delete,
        "seal"
    );
    Ok(sealed)
}

/// The setting recording the daily seal: its day, the retention it applied, and until
/// when every sealed quarter is read (a week: each account's turn comes once).
const SEALED_WITH: &str = "history.sealed_with";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SealedWith {
    day: NaiveDate,
    retention: HistoryRetention,
    all_until: Option<NaiveDate>,
}

/// What today's daily seal covers.
pub(crate) struct Due {
    pub accounts: Vec<i64>,
    pub reach: Reach,
    record: SealedWith,
}

/// Consecutive row numbers sealed on the same day: each day's accounts are a few whole
/// ranges, so their rows are read and deleted as ranges of each day's rows (and leave
/// whole pages free) instead of a seek per account and day.
pub(crate) const SEAL_BLOCK: i64 = 1024;

/// Rows are sealed a seventh of the book a day (every seventh block of `SEAL_BLOCK` row
/// numbers, by the day's number), so each day costs about the same; an account whose rows
/// reach further back than two weeks (the schedule did not run for a while, or a store
/// from before sealing) is sealed whatever the day. For a week after the retention
/// changed, the schedule paused for more than two weeks, or the first seal, every sealed
/// quarter of the accounts due is read (`Reach::All`), so each account is thinned whole.
pub(crate) async fn due(store: &Store, today: NaiveDate) -> Result<Due> {
    let pool = store.pool();
    let r = retention(pool).await?;
    let last: Option<SealedWith> = crate::store::settings::get(pool, SEALED_WITH)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok());
    let all_until = match last {
        Some(l) if l.retention == r && l.day <= today && (today - l.day).num_days() <= 14 => {
            l.all_until.filter(|u| today <= *u)
        }
        _ => Some(today + Duration::days(6)),
    };
    let mut accounts: Vec<i64> =
        sqlx::query_scalar("SELECT rowid FROM accounts WHERE (rowid / ?) % 7 = ?")
            .bind(SEAL_BLOCK)
            .bind(epoch_day(today).rem_euclid(7))
            .fetch_all(pool)
            .await?;
    accounts.extend(with_rows_before(pool, today - Duration::days(14)).await?);
    accounts.sort_unstable();
    accounts.dedup();
    Ok(Due {
        accounts,
        reach: if all_until.is_some() {
            Reach::All
        } else {
            Reach::Recent
        },
        record: SealedWith {
            day: today,
            retention: r,
            all_until,
        },
    })
}

/// Records that `due`'s seal is done.
pub(crate) async fn note_sealed(store: &Store, due: &Due) -> Result<()> {
    let mut tx = store.write().await?;
    let value = serde_json::to_string(&due.record)
        .map_err(|e| Error::invalid("history seal record", e.to_string()))?;
    crate::store::settings::set(&mut tx, SEALED_WITH, &value).await?;
    Ok(tx.commit().await?)
}

/// Every account holding history rows from before `today` (a backfill's, sealed at once;
/// those overdue for their turn).
pub(crate) async fn with_rows_before(pool: &SqlitePool, today: NaiveDate) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT h.account FROM history_days d CROSS JOIN health_history h \
         WHERE h.epoch_day = d.epoch_day AND d.epoch_day < ? ORDER BY 1",
    )
    .bind(epoch_day(today))
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests;
