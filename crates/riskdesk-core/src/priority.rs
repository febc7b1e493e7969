//! Priority: where an account with open risk ranks in the worklist, and why.
//!
//! priority = severity × revenue × strategic value × urgency × avoidability. Every factor
//! is non-decreasing in ARR and severity, so raising either never lowers a rank; an
//! expected-and-unavoidable risk on a low-value account sinks. Scores are kept in
//! `account_priority`, refreshed whenever an input changes, so the worklist reads one
//! index instead of ranking the book on every query.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::money::format_usd;
use std::collections::HashMap;

use crate::model::{ExpansionPotential, Segment};
use crate::signals::Level;
use crate::store::reader::{day, parsed, Accounts};
use crate::store::{Span, Store, Tx};
use crate::{Error, Result};

/// Days-to-renewal bands: a renewal within `within_days` multiplies by `multiplier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UrgencyBand {
    pub within_days: u32,
    pub multiplier: f64,
}

/// The weights of the priority score, edited in Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PriorityConfig {
    /// ARR (base currency, major units) that counts as ×1 revenue impact.
    pub reference_arr: f64,
    /// How strongly ARR moves the score: ×(1 + weight × log10(ARR / reference)).
    pub revenue_weight: f64,
    pub strategic_multiplier: f64,
    pub expansion_high_multiplier: f64,
    pub expansion_medium_multiplier: f64,
    /// Checked in order of `within_days`; the first that holds applies.
    pub urgency: Vec<UrgencyBand>,
    /// An avoidable risk (at-risk matrix) is worth more of a CSM's time.
    pub avoidable_multiplier: f64,
    pub expected_unavoidable_multiplier: f64,
    /// Below this ARR an expected-and-unavoidable risk sinks further.
    pub low_value_arr: f64,
    pub expected_unavoidable_low_value_multiplier: f64,
    /// Below this ARR (or in the tech-touch segment) an account is in the tech-touch lane:
    /// digital playbooks, not a CSM's worklist, unless it is an exception.
    pub digital_lane_arr: f64,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            reference_arr: 50_000.0,
            revenue_weight: 0.5,
            strategic_multiplier: 1.3,
            expansion_high_multiplier: 1.15,
            expansion_medium_multiplier: 1.05,
            urgency: vec![
                UrgencyBand {
                    within_days: 30,
                    multiplier: 1.5,
                },
                UrgencyBand {
                    within_days: 90,
                    multiplier: 1.3,
                },
                UrgencyBand {
                    within_days: 180,
                    multiplier: 1.1,
                },
            ],
            avoidable_multiplier: 1.15,
            expected_unavoidable_multiplier: 0.7,
            low_value_arr: 25_000.0,
            expected_unavoidable_low_value_multiplier: 0.3,
            digital_lane_arr: 10_000.0,
        }
    }
}

const MAX_MULTIPLIER: f64 = 5.0;

impl PriorityConfig {
    /// Every problem, each naming the field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let multipliers = [
            ("strategic_multiplier", self.strategic_multiplier),
            ("expansion_high_multiplier", self.expansion_high_multiplier),
            (
                "expansion_medium_multiplier",
                self.expansion_medium_multiplier,
            ),
            ("avoidable_multiplier", self.avoidable_multiplier),
            (
                "expected_unavoidable_multiplier",
                self.expected_unavoidable_multiplier,
            ),
            (
                "expected_unavoidable_low_value_multiplier",
                self.expected_unavoidable_low_value_multiplier,
            ),
        ];
        for (name, m) in multipliers {
            if !(m > 0.0 && m <= MAX_MULTIPLIER) {
                out.push(format!(
                    "{name}: {m} is not above 0 and at most {MAX_MULTIPLIER}"
                ));
            }
        }
        if !(self.reference_arr > 0.0 && self.reference_arr.is_finite()) {
            out.push("reference_arr: must be above 0".into());
        }
        if !(0.0..=2.0).contains(&self.revenue_weight) {
            out.push(format!(
                "revenue_weight: {} is not between 0 and 2",
                self.revenue_weight
            ));
        }
        for (name, v) in [
            ("low_value_arr", self.low_value_arr),
            ("digital_lane_arr", self.digital_lane_arr),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                out.push(format!("{name}: must not be negative"));
            }
        }
        if self.expected_unavoidable_low_value_multiplier > self.expected_unavoidable_multiplier {
            out.push("expected_unavoidable_low_value_multiplier: must not exceed expected_unavoidable_multiplier (low-value accounts sink further)".into());
        }
        for (i, b) in self.urgency.iter().enumerate() {
            if !(b.multiplier >= 1.0 && b.multiplier <= MAX_MULTIPLIER) {
                out.push(format!(
                    "urgency[{}].multiplier: {} is not between 1 and {MAX_MULTIPLIER}",
                    i + 1,
                    b.multiplier
                ));
            }
            if let Some(prev) = i.checked_sub(1).map(|j| &self.urgency[j]) {
                if b.within_days <= prev.within_days {
                    out.push(format!(
                        "urgency[{}].within_days: bands must widen ({} after {})",
                        i + 1,
                        b.within_days,
                        prev.within_days
                    ));
                }
                if b.multiplier > prev.multiplier {
                    out.push(format!(
                        "urgency[{}].multiplier: a later renewal must not weigh more than a sooner one",
                        i + 1
                    ));
                }
            }
        }
        out
    }
}

/// What priority is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityInput {
    pub severity: f64,
    pub level: Level,
    pub arr: f64,
    pub strategic: bool,
    pub expansion: ExpansionPotential,
    pub segment: Segment,
    pub days_to_renewal: i64,
    /// Live risk or escalation CTAs.
    pub risk_ctas: u32,
    /// Some live CTA is judged expected and unavoidable / avoidable.
    pub expected_unavoidable: bool,
    pub avoidable: bool,
}

/// One factor of the score, with what it saw and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PriorityFactor {
    pub factor: String,
    pub input: String,
    pub multiplier: f64,
    /// The running score after this factor.
    pub points: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PriorityExplanation {
    pub factors: Vec<PriorityFactor>,
    /// Why the account is in the CSM or the tech-touch lane.
    pub lane_reason: String,
    pub at_risk_reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Priority {
    pub score: f64,
    pub at_risk: bool,
    /// "csm" or "digital".
    pub lane: &'static str,
    pub explanation: PriorityExplanation,
}

/// The urgency factor's name in an explanation.
const URGENCY: &str = "Urgency";

pub(crate) fn renewal_words(days_to_renewal: i64) -> String {
    if days_to_renewal < 0 {
        format!("renewal {} days overdue", -days_to_renewal)
    } else {
        format!("renewal in {days_to_renewal} days")
    }
}

/// What a re-rank stores of an account: the score, whether it is at risk and its lane,
/// without the words of [`compute`]'s explanation (a re-rank of 100K accounts formatted
/// ~1M strings it then dropped; explanations are built when read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub at_risk: bool,
    /// "csm" or "digital".
    pub lane: &'static str,
}

/// How avoidability weighs, so the multiplier and its words come from one judgement.
enum Avoid {
    ExpectedLowValue,
    Expected,
    Avoidable,
    NotJudged,
}

impl Avoid {
    fn of(c: &PriorityConfig, i: &PriorityInput) -> Self {
        if i.expected_unavoidable && i.arr < c.low_value_arr {
            Self::ExpectedLowValue
        } else if i.expected_unavoidable {
            Self::Expected
        } else if i.avoidable {
            Self::Avoidable
        } else {
            Self::NotJudged
        }
    }

    fn multiplier(&self, c: &PriorityConfig) -> f64 {
        match self {
            Self::ExpectedLowValue => c.expected_unavoidable_low_value_multiplier,
            Self::Expected => c.expected_unavoidable_multiplier,
            Self::Avoidable => c.avoidable_multiplier,
            Self::NotJudged => 1.0,
        }
    }

    fn words(&self, c: &PriorityConfig) -> String {
        match self {
            Self::ExpectedLowValue => format!(
                "expected and unavoidable, on an account below {}",
                format_usd(c.low_value_arr)
            ),
            Self::Expected => "expected and unavoidable".to_string(),
            Self::Avoidable => "avoidable".to_string(),
            Self::NotJudged => "not judged yet".to_string(),
        }
    }
}

/// The multipliers applied after severity, in the explanation's order: revenue impact,
/// strategic value, urgency, avoidability.
fn multipliers(c: &PriorityConfig, i: &PriorityInput, avoid: &Avoid) -> [f64; 4] {
    // Clamped below so a tiny account is not worth nothing, above so one huge account
    // cannot drown the list; monotone in ARR either way.
    let revenue =
        (1.0 + c.revenue_weight * (i.arr.max(1.0) / c.reference_arr).log10()).clamp(0.25, 3.0);
    let strategic = if i.strategic {
        c.strategic_multiplier
    } else {
        1.0
    };
    let expansion = match i.expansion {
        ExpansionPotential::High => c.expansion_high_multiplier,
        ExpansionPotential::Medium => c.expansion_medium_multiplier,
        _ => 1.0,
    };
    let urgency = c
        .urgency
        .iter()
        .find(|b| i.days_to_renewal <= b.within_days as i64)
        .map_or(1.0, |b| b.multiplier);
    [revenue, strategic * expansion, urgency, avoid.multiplier(c)]
}

/// Open risk: severity above Low, or a live risk CTA.
fn at_risk(i: &PriorityInput) -> bool {
    i.level != Level::Low || i.risk_ctas > 0
}

/// The score, at-risk flag and lane alone: what [`compute`] gives, without its words.
pub fn score(c: &PriorityConfig, i: &PriorityInput) -> Scored {
    let avoid = Avoid::of(c, i);
    let mut points = i.severity.clamp(0.0, 100.0);
    for m in multipliers(c, i, &avoid) {
        points *= m;
    }
    Scored {
        score: points,
        at_risk: at_risk(i),
        lane: Lane::of(c, i.segment, i.arr, i.level, i.expansion).key(),
    }
}

/// The score and its explanation; pure, so ranking properties are tested directly.
pub fn compute(c: &PriorityConfig, i: &PriorityInput) -> Priority {
    let avoid = Avoid::of(c, i);
    let [revenue, strategic, urgency, avoidability] = multipliers(c, i, &avoid);
    let mut factors = Vec::new();
    let mut points = i.severity.clamp(0.0, 100.0);
    factors.push(PriorityFactor {
        factor: "Severity".into(),
        input: format!("{} ({})", crate::severity::whole(i.severity), i.level),
        multiplier: 1.0,
        points,
    });
    let mut apply = |factor: &str, input: String, m: f64| {
        points *= m;
        factors.push(PriorityFactor {
            factor: factor.into(),
            input,
            multiplier: m,
            points,
        });
    };
    apply(
        "Revenue impact",
        format!("ARR {}", format_usd(i.arr)),
        revenue,
    );
    apply(
        "Strategic value",
        format!(
            "{}expansion potential {}",
            if i.strategic { "strategic; " } else { "" },
            i.expansion
        ),
        strategic,
    );
    apply(URGENCY, renewal_words(i.days_to_renewal), urgency);
    apply("Avoidability", avoid.words(c), avoidability);

    let at_risk = at_risk(i);
    let at_risk_reason = match (i.level, i.risk_ctas) {
        (Level::Low, 0) => "no open risk: Low severity and no live risk CTA".to_string(),
        (Level::Low, n) => format!("{n} live risk CTA(s)"),
        (level, 0) => format!("{level} severity"),
        (level, n) => format!("{level} severity and {n} live risk CTA(s)"),
    };
    let (lane, lane_reason) = lane(c, i.segment, i.arr, i.level, i.expansion);
    Priority {
        score: points,
        at_risk,
        lane,
        explanation: PriorityExplanation {
            factors,
            lane_reason,
            at_risk_reason,
        },
    }
}

/// Why an account works in its lane; the key and the words come from one judgement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Lane {
    Named,
    Exception,
    TechTouch,
    BelowArr,
}

impl Lane {
    /// Small accounts (the tech-touch segment or ARR below the line) go to the digital
    /// lane's playbooks, unless High severity with expansion potential makes one an
    /// exception a person takes.
    pub(crate) fn of(
        c: &PriorityConfig,
        segment: Segment,
        arr: f64,
        level: Level,
        expansion: ExpansionPotential,
    ) -> Self {
        let small = segment == Segment::TechTouch || arr < c.digital_lane_arr;
        let exception = level == Level::High
            && matches!(
                expansion,
                ExpansionPotential::High | ExpansionPotential::Medium
            );
        match (small, exception) {
            (false, _) => Self::Named,
            (true, true) => Self::Exception,
            (true, false) if segment == Segment::TechTouch => Self::TechTouch,
            (true, false) => Self::BelowArr,
        }
    }

    /// "csm" for a person, "digital" for the tech-touch lane.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Named | Self::Exception => "csm",
            Self::TechTouch | Self::BelowArr => "digital",
        }
    }

    fn words(self, c: &PriorityConfig) -> String {
        match self {
            Self::Named => "a named CSM account".to_string(),
            Self::Exception => {
                "tech-touch, surfaced to a person: High severity with expansion potential"
                    .to_string()
            }
            Self::TechTouch => "tech-touch segment: digital playbooks".to_string(),
            Self::BelowArr => format!(
                "ARR below {}: digital playbooks",
                format_usd(c.digital_lane_arr)
            ),
        }
    }
}

/// Whether an account ranks in the digital (tech-touch) lane: what the lane's daily trend
/// counts when the account's score of the day is written.
pub(crate) fn digital(
    c: &PriorityConfig,
    segment: Segment,
    arr_base_minor: i64,
    level: Level,
    expansion: ExpansionPotential,
) -> bool {
    Lane::of(c, segment, arr_base_minor as f64 / 100.0, level, expansion).key() == "digital"
}

/// The lane an account works in ("csm" or "digital"), and why.
pub fn lane(
    c: &PriorityConfig,
    segment: Segment,
    arr: f64,
    level: Level,
    expansion: ExpansionPotential,
) -> (&'static str, String) {
    let l = Lane::of(c, segment, arr, level, expansion);
    (l.key(), l.words(c))
}

const CONFIG_KEY: &str = "priority";

pub async fn config(store: &crate::Store) -> Result<PriorityConfig> {
    crate::config::cached(store, CONFIG_KEY).await
}

/// Saves the weights and re-ranks the book with them.
pub async fn save_config(store: &Store, c: &PriorityConfig, today: NaiveDate) -> Result<()> {
    if let problems @ [_, ..] = c.problems().as_slice() {
        return Err(Error::invalid("priority", problems.join("; ")));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, CONFIG_KEY, c).await?;
    tx.commit().await?;
    refresh(store, None, today).await
}

/// Ranks any account that has no priority yet (a store from before priorities existed,
/// or accounts imported since), so the worklist never silently misses one.
pub async fn ensure(store: &Store, today: NaiveDate) -> Result<()> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT a.id FROM accounts a LEFT JOIN account_priority p ON p.account = a.rowid WHERE p.account IS NULL",
    )
    .fetch_all(store.pool())
    .await?;
    if missing.is_empty() {
        return Ok(());
    }
    refresh(store, Some(missing), today).await
}

/// Accounts per batch when a refresh names them, and when it reads the whole book.
const BATCH: usize = 2_000;
#[cfg(not(test))]
const BOOK_BATCH: usize = 10_000;
/// Changed ranks per write transaction: about a second of holding the write lock at most.
#[cfg(not(test))]
const WRITE_BATCH: usize = 50_000;
// Small in tests, so a worked book is read in many batches and written in several.
#[cfg(test)]
const BOOK_BATCH: usize = 64;
#[cfg(test)]
const WRITE_BATCH: usize = 100;

/// What the refresh reads of one account: its own fields and its CTAs, folded.
#[derive(Default)]
struct Input {
    /// `accounts.rowid`: the rank's key.
    row: i64,
    arr: i64,
    strategic: bool,
    expansion: Option<ExpansionPotential>,
    segment: Option<Segment>,
    renewal: NaiveDate,
    sev: Option<f64>,
    level: Option<Level>,
    owner_id: Option<String>,
    contract_start: NaiveDate,
    /// The fingerprint of the stored rank, if any.
    digest: Option<i64>,
    /// The stored rank's columns other than its score, if any.
    stored: Option<Columns>,
    open: i64,
    risk: i64,
    flagged: bool,
    /// The live CTA whose category the account shows: (priority rank, created_at, category).
    category: Option<(u8, String, String)>,
    eu: bool,
    av: bool,
    churned: bool,
}

/// A rank's stored columns: a re-rank sets only those that moved. (SQLite rewrites every
/// index on every column an UPDATE sets, changed or not; a new day moves nearly every score
/// through the days to renewal and little else, and a rule run moves the CTA columns.)
struct Columns {
    score: f64,
    at_risk: bool,
    lane: String,
    category: Option<String>,
    flagged: bool,
    open_ctas: i64,
    owner_id: Option<String>,
    segment: String,
    renewal: NaiveDate,
    level: Option<String>,
    arr: i64,
    contract_start: NaiveDate,
    churned: bool,
}

/// An account's priority with what the worklist filters on (its explanation is computed
/// when read: `explained`). Opaque outside this module.
pub(crate) struct Ranked {
    /// `accounts.rowid`: the rank's key.
    row: i64,
    priority: Scored,
    category: Option<String>,
    flagged: bool,
    open_ctas: i64,
    owner_id: Option<String>,
    segment: Segment,
    renewal: NaiveDate,
    level: Option<Level>,
    arr: i64,
    contract_start: NaiveDate,
    churned: bool,
    digest: i64,
    /// The stored rank's columns that moved (bits of `COLUMNS`); None when there is no
    /// stored rank to update.
    moved: Option<u16>,
}

/// The rank's columns an update can set, in the order of `Ranked::moved`'s bits.
const COLUMNS: [&str; 13] = [
    "score",
    "at_risk",
    "lane",
    "category",
    "flagged",
    "open_ctas",
    "owner_id",
    "segment",
    "renewal_date",
    "severity_level",
    "arr_base_minor",
    "contract_start",
    "churned",
];

impl Ranked {
    /// Which of the stored rank's columns differ from these (compared in place: a re-rank
    /// asks this of every account).
    fn moved(&self, s: &Columns) -> u16 {
        [
            s.score.to_bits() != self.priority.score.to_bits(),
            s.at_risk != self.priority.at_risk,
            s.lane != self.priority.lane,
            s.category != self.category,
            s.flagged != self.flagged,
            s.open_ctas != self.open_ctas,
            s.owner_id != self.owner_id,
            s.segment != self.segment.as_str(),
            s.renewal != self.renewal,
            s.level.as_deref() != self.level.map(Level::as_str),
            s.arr != self.arr,
            s.contract_start != self.contract_start,
            s.churned != self.churned,
        ]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, moved)| bits | (u16::from(*moved) << i))
    }
}

fn read_inputs(
    conn: &rusqlite::Connection,
    ids: &[String],
    span: Span,
) -> rusqlite::Result<Vec<(String, Input)>> {
    let accounts = Accounts::new(ids, span);
    // Dates by the store's own reader and ids hashed with Fx: a re-rank reads 100K rows of
    // four dates each (chrono's parser and SipHash were a fifth of the read).
    let mut by_id = rustc_hash::FxHashMap::<String, Input>::default();
    by_id.reserve(ids.len());
    accounts.each(
        conn,
        "SELECT a.id, a.arr_base_minor, a.strategic, a.expansion_potential, a.segment, a.renewal_date, \
         h.severity_score, h.severity_level, a.owner_id, a.contract_start, p.digest, \
         p.at_risk, p.lane, p.category, p.flagged, p.open_ctas, p.owner_id, p.segment, p.renewal_date, \
         p.severity_level, p.arr_base_minor, p.contract_start, p.churned, p.score, a.rowid \
         FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid \
         LEFT JOIN account_priority p ON p.account = a.rowid WHERE a.id{accounts}",
        |r| {
            let level: Option<String> = r.get(7)?;
            let stored = stored_rank(r, 10)?;
            by_id.insert(
                r.get(0)?,
                Input {
                    row: r.get(24)?,
                    arr: r.get(1)?,
                    strategic: r.get(2)?,
                    expansion: Some(parsed(r, 3)?),
                    segment: Some(parsed(r, 4)?),
                    renewal: day(r, 5)?,
                    sev: r.get(6)?,
                    level: level.and_then(|l| l.parse().ok()),
                    owner_id: r.get(8)?,
                    contract_start: day(r, 9)?,
                    digest: r.get(10)?,
                    stored,
                    ..Default::default()
                },
            );
            Ok(())
        },
    )?;
    fold_ctas(conn, &accounts, |id, r| match by_id.get_mut(id) {
        Some(i) => fold_cta(i, r),
        None => Ok(()),
    })?;
    Ok(ids.iter().filter_map(|id| by_id.remove_entry(id)).collect())
}

/// The columns of the account's stored rank, read as `p.digest, p.at_risk, p.lane,
/// p.category, p.flagged, p.open_ctas, p.owner_id, p.segment, p.renewal_date,
/// p.severity_level, p.arr_base_minor, p.contract_start, p.churned, p.score` from column
/// `at` (the digest) on; None when there is no stored rank.
fn stored_rank(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Columns>> {
    let Some(at_risk) = r.get::<_, Option<bool>>(at + 1)? else {
        return Ok(None);
    };
    Ok(Some(Columns {
        score: r.get(at + 13)?,
        at_risk,
        lane: r.get(at + 2)?,
        category: r.get(at + 3)?,
        flagged: r.get(at + 4)?,
        open_ctas: r.get(at + 5)?,
        owner_id: r.get(at + 6)?,
        segment: r.get(at + 7)?,
        renewal: day(r, at + 8)?,
        level: r.get(at + 9)?,
        arr: r.get(at + 10)?,
        contract_start: day(r, at + 11)?,
        churned: r.get(at + 12)?,
    }))
}

/// Folds the live CTAs (and churned outcomes) of `accounts` into their inputs: `fold`
/// gets each CTA row with its account id, and folds it with [`fold_cta`] into that
/// account's input when it has one.
fn fold_ctas(
    conn: &rusqlite::Connection,
    accounts: &Accounts<'_>,
    mut fold: impl FnMut(&str, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    accounts.each(
        conn,
        "SELECT account_id, status, type, priority, category, created_at, flagged, expected, avoidable, outcome FROM ctas \
         WHERE (status <> 'closed' OR outcome = 'churned') AND account_id{accounts}",
        |r| fold(r.get_ref(0)?.as_str()?, r),
    )
}

/// Folds one of [`fold_ctas`]' rows into its account's input.
fn fold_cta(i: &mut Input, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    if r.get_ref(9)?.as_str_or_null()? == Some("churned") {
        i.churned = true;
    }
    if r.get_ref(1)?.as_str()? == "closed" {
        return Ok(());
    }
    i.open += 1;
    if matches!(r.get_ref(2)?.as_str()?, "risk" | "escalation") {
        i.risk += 1;
    }
    let yes = |n: usize| r.get::<_, Option<bool>>(n).map(|v| v.unwrap_or(false));
    i.flagged |= yes(6)?;
    let (expected, avoidable) = (yes(7)?, yes(8)?);
    i.eu |= expected && !avoidable;
    i.av |= avoidable;
    if let Some(category) = r.get::<_, Option<String>>(4)? {
        let rank = match r.get_ref(3)?.as_str()? {
            "high" => 0,
            "medium" => 1,
            _ => 2,
        };
        let created: String = r.get(5)?;
        // The most urgent live CTA's category, the oldest first among equals.
        if i.category
            .as_ref()
            .is_none_or(|(r0, c0, _)| (rank, &created) < (*r0, c0))
        {
            i.category = Some((rank, created, category));
        }
    }
    Ok(())
}

/// What the account's priority on `today` is computed from, as read of it.
fn input_of(i: &Input, today: NaiveDate) -> PriorityInput {
    PriorityInput {
        severity: i.sev.unwrap_or(0.0),
        level: i.level.unwrap_or(Level::Low),
        arr: i.arr as f64 / 100.0,
        strategic: i.strategic,
        expansion: i.expansion.unwrap_or(ExpansionPotential::None),
        segment: i.segment.unwrap_or(Segment::MidMarket),
        days_to_renewal: (i.renewal - today).num_days(),
        risk_ctas: i.risk as u32,
        expected_unavoidable: i.eu,
        avoidable: i.av,
    }
}

/// The priorities of `ids` on `today`, explanations included, computed from what the store
/// holds now: what the last re-rank stored for them (it runs whenever their inputs
/// change), so explanations need not be stored.
pub(crate) async fn explained(
    store: &Store,
    ids: &[String],
    today: NaiveDate,
) -> Result<HashMap<String, Priority>> {
    let c = config(store).await?;
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let slice = chunk.to_vec();
        let inputs = store
            .read(move |conn| read_inputs(conn, &slice, Span::List))
            .await?;
        for (id, input) in inputs {
            out.insert(id, compute(&c, &input_of(&input, today)));
        }
    }
    Ok(out)
}

fn rank(c: &PriorityConfig, i: Input, today: NaiveDate) -> Result<Ranked> {
    let segment = i.segment.unwrap_or(Segment::MidMarket);
    let priority = score(c, &input_of(&i, today));
    let category = i.category.map(|(_, _, c)| c);
    let digest = {
        use std::hash::{Hash, Hasher};
        // SipHash was half of ranking's instructions.
        let mut h = crate::fingerprint_hasher();
        (priority.at_risk, priority.lane, priority.score.to_bits()).hash(&mut h);
        (&category, i.flagged, i.open, &i.owner_id, segment.as_str()).hash(&mut h);
        (
            i.renewal,
            i.level.map(Level::as_str),
            i.arr,
            i.contract_start,
        )
            .hash(&mut h);
        i.churned.hash(&mut h);
        h.finish() as i64
    };
    let mut ranked = Ranked {
        row: i.row,
        priority,
        category,
        flagged: i.flagged,
        open_ctas: i.open,
        owner_id: i.owner_id,
        segment,
        renewal: i.renewal,
        level: i.level,
        arr: i.arr,
        contract_start: i.contract_start,
        churned: i.churned,
        digest,
        moved: None,
    };
    ranked.moved = i.stored.as_ref().map(|s| ranked.moved(s));
    Ok(ranked)
}

/// Re-ranks `ids` (every account when None) from their current health and CTAs; only
/// ranks that changed are written, so a re-rank of an unchanged book writes nothing.
pub async fn refresh(store: &Store, ids: Option<Vec<String>>, today: NaiveDate) -> Result<()> {
    let c = config(store).await?;
    let started = std::time::Instant::now();
    let book = ids.is_none();
    let mut ids = crate::store::accounts::ids_or_all(store, ids).await?;
    // Many accounts (a rule run's tens of thousands) are read as ranges in account order,
    // as the whole book is: accounts in a range that were not asked for are ranked too,
    // which writes nothing unless their rank is stale.
    let (span, batch) = if book || ids.len() > BOOK_BATCH {
        ids.sort_unstable();
        (Span::Range, BOOK_BATCH)
    } else {
        (Span::List, BATCH)
    };
    let now = Utc::now();
    // Where the time goes (read, rank, write, commit), for `RUST_LOG=riskdesk_core=debug`.
    let mut took = [std::time::Duration::ZERO; 4];
    let mut lap = std::time::Instant::now();
    let mut mark = |slot: usize| {
        took[slot] += lap.elapsed();
        lap = std::time::Instant::now();
    };
    let mut written = 0;
    // The next batch is read while this one is ranked and written.
    let mut batches =
        crate::store::ahead::Ahead::over(store, &ids, batch, move |store, chunk| async move {
            store
                .read(move |conn| {
                    let inputs = read_inputs(conn, &chunk, span)?;
                    Ok((chunk, inputs))
                })
                .await
        });
    // Changed ranks are committed WRITE_BATCH at a time: each transaction rewrites most
    // pages of the score indexes wherever its rows fall, so fewer, larger ones write far
    // less. Each batch's are written as soon as it is ranked, while the next is read.
    let mut changed = Vec::new();
    let mut open: Option<Tx> = None;
    let mut held = 0;
    loop {
        let read = batches.next().await;
        let last = read.is_none();
        if let Some(read) = read {
            let (_, inputs) = read?;
            mark(0);
            for (_, input) in inputs {
                let stored = input.digest;
                let ranked = rank(&c, input, today)?;
                if stored != Some(ranked.digest) {
                    changed.push(ranked);
                }
            }
            mark(1);
        }
        if !changed.is_empty() {
            let tx = match open.as_mut() {
                Some(tx) => tx,
                None => open.insert(store.write().await?),
            };
            write_ranks(tx, &changed, now).await?;
            held += changed.len();
            written += changed.len();
            changed.clear();
            mark(2);
        }
        if held >= WRITE_BATCH || last {
            if let Some(tx) = open.take() {
                tx.commit().await?;
            }
            held = 0;
            mark(3);
        }
        if last {
            break;
        }
    }
    tracing::debug!(
        took = ?started.elapsed(), read = ?took[0], rank = ?took[1], write = ?took[2], commit = ?took[3],
        "ranked {} accounts, {written} changed", ids.len()
    );
    Ok(())
}

/// A batch's stored ranks and CTAs, read with its facts by a whole-book refresh, which
/// ranks the book as it scores it (`rank_judged`, `write_ranks`) instead of in a second
/// pass over every account after. The account's own fields and severity come from the
/// facts and the judging, so the rank reads only what they do not hold. By account row.
pub(crate) struct BatchInputs(rustc_hash::FxHashMap<i64, Input>);

/// Reads the stored ranks and CTAs of a batch's accounts (on the bulk reader, in the
/// snapshot of their facts): `rows` their row numbers (ascending), `row_of` each one's by
/// id. Ranks are read by row-number range, as the facts' feeds are: a next day reads
/// 100K of them, and finding each through the id index cost a seek apiece.
pub(crate) fn read_batch(
    conn: &rusqlite::Connection,
    ids: &[String],
    span: Span,
    rows: &[i64],
    row_of: &rustc_hash::FxHashMap<&str, i64>,
) -> rusqlite::Result<BatchInputs> {
    let mut by_row = rustc_hash::FxHashMap::<i64, Input>::default();
    by_row.reserve(rows.len());
    for &row in rows {
        by_row.insert(
            row,
            Input {
                row,
                ..Default::default()
            },
        );
    }
    crate::store::reader::each_keyed(
        conn,
        rows,
        true,
        "SELECT account, digest, at_risk, lane, category, flagged, open_ctas, owner_id, \
         segment, renewal_date, severity_level, arr_base_minor, contract_start, churned, score \
         FROM account_priority WHERE account{rows}",
        |r| {
            // A range also holds the ranks of accounts outside the batch.
            if let Some(input) = by_row.get_mut(&r.get(0)?) {
                input.digest = r.get(1)?;
                input.stored = stored_rank(r, 1)?;
            }
            Ok(())
        },
    )?;
    let accounts = Accounts::new(ids, span);
    fold_ctas(conn, &accounts, |id, r| {
        match row_of.get(id).and_then(|row| by_row.get_mut(row)) {
            Some(i) => fold_cta(i, r),
            None => Ok(()),
        }
    })?;
    Ok(BatchInputs(by_row))
}

/// What the refresh knows of an account it ranks: its own fields (from its facts) and its
/// severity (just judged, or as stored when it has no scorecard; None when never scored).
pub(crate) struct Known<'a> {
    /// `accounts.rowid`.
    pub row: i64,
    pub account: &'a crate::model::Account,
    pub arr_base_minor: i64,
    pub severity: Option<(f64, Level)>,
}

/// Ranks a batch's accounts from what the refresh knows of them and the stored ranks and
/// CTAs read with them; returns the ranks that changed. An account not read (it was
/// deleted since) is left out.
pub(crate) fn rank_judged<'a>(
    c: &PriorityConfig,
    mut inputs: BatchInputs,
    known: impl Iterator<Item = Known<'a>>,
    today: NaiveDate,
) -> Result<Vec<Ranked>> {
    let mut changed = Vec::new();
    for k in known {
        let Some(mut input) = inputs.0.remove(&k.row) else {
            continue;
        };
        let a = k.account;
        input.arr = k.arr_base_minor;
        input.strategic = a.strategic;
        input.expansion = Some(a.expansion_potential);
        input.segment = Some(a.segment);
        input.renewal = a.renewal_date;
        input.owner_id = a.owner_id.clone();
        input.contract_start = a.contract_start;
        input.sev = k.severity.map(|(score, _)| score);
        input.level = k.severity.map(|(_, level)| level);
        let stored = input.digest;
        let ranked = rank(c, input, today)?;
        if stored != Some(ranked.digest) {
            changed.push(ranked);
        }
    }
    Ok(changed)
}

/// Ranks what a whole-book refresh did not rank as it scored: the accounts `moved` since
/// (by the rules) and those another device scores.
pub(crate) async fn refresh_after_book(
    store: &Store,
    mut moved: Vec<String>,
    today: NaiveDate,
) -> Result<()> {
    moved.extend(crate::store::accounts::remote_ids(store).await?);
    moved.sort_unstable();
    moved.dedup();
    if moved.is_empty() {
        return Ok(());
    }
    refresh(store, Some(moved), today).await
}

/// A new rank, or one whose stored row is gone since it was read, is written whole.
const WHOLE: &str = " ON CONFLICT(account) DO UPDATE SET computed_at = excluded.computed_at, at_risk = excluded.at_risk, lane = excluded.lane, \
     score = excluded.score, category = excluded.category, flagged = excluded.flagged, open_ctas = excluded.open_ctas, \
     owner_id = excluded.owner_id, segment = excluded.segment, \
     renewal_date = excluded.renewal_date, severity_level = excluded.severity_level, arr_base_minor = excluded.arr_base_minor, \
     contract_start = excluded.contract_start, churned = excluded.churned, digest = excluded.digest";

/// The upsert tail that sets only the columns in `moved` (bits of `COLUMNS`).
fn setting(moved: u16) -> String {
    let mut tail =
        String::from(" ON CONFLICT(account) DO UPDATE SET computed_at = excluded.computed_at, digest = excluded.digest");
    for (i, column) in COLUMNS.iter().enumerate() {
        if moved & (1 << i) != 0 {
            tail.push_str(&format!(", {column} = excluded.{column}"));
        }
    }
    tail
}

/// A renamed risk category, in the ranks that name it (no rank moves).
pub(crate) async fn rename_category(tx: &mut Tx, old: &str, new: &str) -> Result<()> {
    sqlx::query("UPDATE account_priority SET category = ? WHERE category = ?")
        .bind(new)
        .bind(old)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes changed ranks in `tx`: a re-rank's, or `rank_judged`'s in the transaction that
/// writes their scores.
pub(crate) async fn write_ranks(
    tx: &mut Tx,
    rows: &[Ranked],
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    // Ranks that moved the same columns go in one upsert setting just those, so each
    // index is rewritten only where one of its columns moved.
    let mut groups: std::collections::BTreeMap<Option<u16>, Vec<&Ranked>> = Default::default();
    for r in rows {
        groups.entry(r.moved).or_default().push(r);
    }
    let now = crate::store::stamp(now);
    // Row by row on the transaction's own connection: a next day moves ~27K ranks of 16
    // values each (sqlx's batched inserts: 0.43 s).
    crate::store::write_raw(tx, "ranks", |conn| {
        for (moved, rows) in groups {
            let tail = moved.map_or_else(|| WHOLE.to_string(), setting);
            let mut upsert = conn.prepare(&format!(
                "INSERT INTO account_priority (account, computed_at, at_risk, lane, score, category, flagged, open_ctas, \
                 owner_id, segment, renewal_date, severity_level, arr_base_minor, contract_start, churned, digest) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16){tail}"
            ))?;
            for r in rows {
                upsert.execute(rusqlite::params![
                    r.row,
                    now,
                    r.priority.at_risk,
                    r.priority.lane,
                    r.priority.score,
                    r.category,
                    r.flagged,
                    r.open_ctas,
                    r.owner_id,
                    r.segment.as_str(),
                    r.renewal,
                    r.level.map(Level::as_str),
                    r.arr,
                    r.contract_start,
                    r.churned,
                    r.digest,
                ])?;
            }
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests;
