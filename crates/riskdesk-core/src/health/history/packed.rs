//! Sealed history: each account's past snapshots of one calendar quarter as one short
//! series, each snapshot stored as what moved since the one before it.
//!
//! A history row costs ~73 bytes (~84 in daily use: 12.2M rows, 1 GB, after 100 days at
//! 100K accounts) because every row repeats its keys, a header and every measure's numbers,
//! while from one day (or week) to the next most measures do not move. A day's scores are
//! still written as rows (an append clustered by day, nothing read back); once a week each
//! account's rows from before today are folded into its quarters' series (a seventh of the
//! book a day, `super::seal`), where retention thins them too. A daily snapshot then costs
//! ~12 bytes and a weekly one ~24.
//!
//! A series starts with [`FORMAT`]; each snapshot is a flags byte, then variable-length
//! integers: the days since the previous snapshot, the scorecard and version (when they
//! changed), the band (when it changed), the score's change in hundredths (when it has
//! one), and the measures: when their kinds or which values they hold changed, the list
//! of heads and every value; otherwise a bitmap of the measures that moved and the change
//! of each of their values. Numbers keep `pack`'s rounding (raw in thousandths, score in
//! tenths, contribution in hundredths), so a sealed snapshot reads back exactly as its row
//! did, except the overall score, kept in hundredths as the recent series does.

use chrono::{Datelike, NaiveDate};

use super::{from_epoch_day, unvarint, varint, MeasureResult, CODES, PACKED_HEADED};

/// The series' first byte; a later layout takes another.
const FORMAT: u8 = 1;

const CARD: u8 = 1;
const BAND: u8 = 2;
const SCORE: u8 = 4;
const HEADS: u8 = 8;

/// One measure as history keeps it: `pack`'s head byte (kind number and which of raw,
/// score and contribution it holds) and those values in integer units (0 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Part {
    head: u8,
    values: [i64; 3],
}

impl Part {
    fn has(&self, slot: usize) -> bool {
        self.head & (32 << slot) != 0
    }
}

/// One account's score on one day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Snapshot {
    /// Days since 1970-01-01.
    pub day: i64,
    /// `history_scorecards.n`.
    pub scorecard: i64,
    pub version: i64,
    /// Hundredths.
    pub score: Option<i64>,
    /// `history_bands.n`.
    pub band: Option<i64>,
    pub measures: Vec<Part>,
}

/// Scales of a part's values: raw, score, contribution (as `pack` rounds them).
const SCALES: [f64; 3] = [1e3, 1e1, 1e2];

/// A row's measures (any stored form `unpack` reads) as parts.
pub(crate) fn parts(measures: &[MeasureResult]) -> Vec<Part> {
    measures
        .iter()
        .map(|m| {
            let number = CODES.iter().position(|(k, _)| *k == m.kind).unwrap_or(0) as u8;
            let mut part = Part {
                head: number,
                values: [0; 3],
            };
            let contribution = Some(m.contribution).filter(|c| (c * 1e2).round() != 0.0);
            for (slot, v) in [m.raw, m.score, contribution].into_iter().enumerate() {
                if let Some(v) = v {
                    part.head |= 32 << slot;
                    part.values[slot] = (v * SCALES[slot]).round() as i64;
                }
            }
            part
        })
        .collect()
}

/// A row's measures as parts, read straight from `pack`'s form (a seal reads ~100K rows a
/// day: building each measure's labels and display text to drop them cost ~0.2 s); the
/// forms written before it go through `unpack`.
pub(crate) fn stored_parts(stored: &[u8]) -> Vec<Part> {
    let Some((&PACKED_HEADED, mut rest)) = stored.split_first() else {
        return parts(&super::unpack(stored));
    };
    let mut out = Vec::with_capacity(12);
    while let Some((&head, tail)) = rest.split_first() {
        rest = tail;
        if usize::from(head & 31) >= CODES.len() {
            break;
        }
        let mut part = Part {
            head,
            values: [0; 3],
        };
        for slot in 0..3 {
            if part.has(slot) {
                match next(&mut rest) {
                    Some(v) => part.values[slot] = v,
                    None => return out,
                }
            }
        }
        out.push(part);
    }
    out
}

/// Parts in `pack`'s stored form, for readers that `unpack` what history holds.
pub(crate) fn stored(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + parts.len() * 7);
    out.push(PACKED_HEADED);
    for p in parts {
        out.push(p.head);
        for slot in 0..3 {
            if p.has(slot) {
                varint(&mut out, p.values[slot]);
            }
        }
    }
    out
}

/// The quarter a day belongs to: `year * 4 + quarter index` (within 0..65536: years
/// before 16384).
pub(crate) fn quarter(day: i64) -> i64 {
    from_epoch_day(day).map_or(0, |d| {
        (i64::from(d.year()) * 4 + i64::from(d.month0() / 3)).clamp(0, QUARTERS - 1)
    })
}

/// Quarters per account in `health_history_packed.key` (migration 36).
pub(crate) const QUARTERS: i64 = 65_536;

/// A series' key: the account's row number and the quarter in one integer, so an account's
/// series are the range `key(account, 0)..=key(account, QUARTERS - 1)`.
pub(crate) fn key(account: i64, quarter: i64) -> i64 {
    account * QUARTERS + quarter
}

/// The condition on `p.key` (`health_history_packed p`) for the series of the account whose
/// row number is the SQL expression `account`.
pub(crate) fn series_of(account: &str) -> String {
    format!(
        "p.key BETWEEN {account} * {QUARTERS} AND {account} * {QUARTERS} + {}",
        QUARTERS - 1
    )
}

/// The account and quarter of a key.
pub(crate) fn unkey(key: i64) -> (i64, i64) {
    (key.div_euclid(QUARTERS), key.rem_euclid(QUARTERS))
}

/// Snapshots (oldest first, one a day) as one series.
pub(crate) fn encode(snapshots: &[Snapshot]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + snapshots.len() * 16);
    out.push(FORMAT);
    let empty = Snapshot::default();
    let mut prev = &empty;
    for s in snapshots {
        let card = (s.scorecard, s.version) != (prev.scorecard, prev.version);
        let band = s.band != prev.band;
        let heads = s.measures.len() != prev.measures.len()
            || s.measures
                .iter()
                .zip(&prev.measures)
                .any(|(a, b)| a.head != b.head);
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        out.push(
            flag(card, CARD)
                | flag(band, BAND)
                | flag(s.score.is_some(), SCORE)
                | flag(heads, HEADS),
        );
        varint(&mut out, s.day - prev.day);
        if card {
            varint(&mut out, s.scorecard);
            varint(&mut out, s.version);
        }
        if band {
            varint(&mut out, s.band.map_or(0, |b| b + 1));
        }
        if let Some(score) = s.score {
            varint(&mut out, score - prev.score.unwrap_or(0));
        }
        if heads {
            varint(&mut out, s.measures.len() as i64);
            out.extend(s.measures.iter().map(|p| p.head));
            for p in &s.measures {
                for slot in (0..3).filter(|&slot| p.has(slot)) {
                    varint(&mut out, p.values[slot]);
                }
            }
        } else {
            let at = out.len();
            out.resize(at + s.measures.len().div_ceil(8), 0);
            for (i, (p, before)) in s.measures.iter().zip(&prev.measures).enumerate() {
                if p.values == before.values {
                    continue;
                }
                out[at + i / 8] |= 1 << (i % 8);
                for slot in (0..3).filter(|&slot| p.has(slot)) {
                    varint(&mut out, p.values[slot] - before.values[slot]);
                }
            }
        }
        prev = s;
    }
    out
}

/// Reads a series back. A damaged or unknown tail ends it there, never an error: history
/// is an explanation's past, not its present.
pub(crate) fn decode(series: &[u8]) -> Vec<Snapshot> {
    let mut out: Vec<Snapshot> = Vec::new();
    let Some((&FORMAT, mut rest)) = series.split_first() else {
        return out;
    };
    while let Some((&flags, tail)) = rest.split_first() {
        rest = tail;
        let Some(s) = (|| {
            let prev = out.last().cloned().unwrap_or_default();
            let mut s = Snapshot {
                day: prev.day + next(&mut rest)?,
                ..prev.clone()
            };
            if flags & CARD != 0 {
                s.scorecard = next(&mut rest)?;
                s.version = next(&mut rest)?;
            }
            if flags & BAND != 0 {
                s.band = Some(next(&mut rest)?).filter(|b| *b > 0).map(|b| b - 1);
            }
            s.score = if flags & SCORE != 0 {
                Some(prev.score.unwrap_or(0) + next(&mut rest)?)
            } else {
                None
            };
            if flags & HEADS != 0 {
                let n = usize::try_from(next(&mut rest)?).ok()?;
                let (heads, tail) = (rest.get(..n)?, rest.get(n..)?);
                rest = tail;
                s.measures = heads
                    .iter()
                    .map(|&head| Part {
                        head,
                        values: [0; 3],
                    })
                    .collect();
                for p in &mut s.measures {
                    for slot in 0..3 {
                        if p.has(slot) {
                            p.values[slot] = next(&mut rest)?;
                        }
                    }
                }
            } else {
                let n = s.measures.len().div_ceil(8);
                let (bits, tail) = (rest.get(..n)?.to_vec(), rest.get(n..)?);
                rest = tail;
                for (i, p) in s.measures.iter_mut().enumerate() {
                    if bits[i / 8] & (1 << (i % 8)) == 0 {
                        continue;
                    }
                    for slot in 0..3 {
                        if p.has(slot) {
                            p.values[slot] += next(&mut rest)?;
                        }
                    }
                }
            }
            // A kind this version does not know ends the series.
            s.measures
                .iter()
                .all(|p| usize::from(p.head & 31) < CODES.len())
                .then_some(s)
        })() else {
            break;
        };
        out.push(s);
    }
    out
}

fn next(rest: &mut &[u8]) -> Option<i64> {
    let (v, tail) = unvarint(rest)?;
    *rest = tail;
    Some(v)
}

/// Days of `snapshots` (oldest first) that retention keeps as of `today`: everything from
/// `daily_cut`; before it each week's first, and before `weekly_cut` each month's first.
pub(crate) fn thin(
    snapshots: &mut Vec<Snapshot>,
    daily_cut: NaiveDate,
    weekly_cut: NaiveDate,
) -> u64 {
    let before = snapshots.len();
    let mut last_period = None;
    snapshots.retain(|s| {
        let Some(d) = from_epoch_day(s.day) else {
            return false;
        };
        if d >= daily_cut {
            return true;
        }
        let period = if d < weekly_cut {
            (true, super::month_start(d))
        } else {
            (false, super::week_start(d))
        };
        let keep = last_period != Some(period);
        last_period = Some(period);
        keep
    });
    (before - snapshots.len()) as u64
}
