//! Health scorecards: configurable measures, each mapped from raw account data to 0–100,
//! weighted, and graded into colour bands. The overall score is the weighted mean over
//! the measures that have data; a measure without data is missing, never zero.

pub(crate) mod defaults;
pub mod facts;
mod measures;

use serde::{Deserialize, Serialize};

pub use defaults::default_scorecards;
pub use facts::AccountFacts;
pub use measures::{active_user_change, raw_value, RawValue, Words};

use crate::model::{Segment, Stage};
use crate::{Error, Result};

crate::model::text_enum!(
    /// What a measure is computed from. `CsmSentiment` has no data of its own: it comes
    /// only from a CSM's override.
    MeasureKind {
        SeatUtilization => "seat_utilization",
        ActiveUserTrend => "active_user_trend",
        LoginFrequency => "login_frequency",
        KeyFeatureAdoption => "key_feature_adoption",
        OpenTickets => "open_tickets",
        TicketAge => "ticket_age",
        NpsLatest => "nps_latest",
        NpsTrend => "nps_trend",
        Stakeholders => "stakeholders",
        OnboardingProgress => "onboarding_progress",
        EngagementRecency => "engagement_recency",
        CsmSentiment => "csm_sentiment",
    }
);

impl MeasureKind {
    pub fn label(self) -> &'static str {
        match self {
            MeasureKind::SeatUtilization => "Seat utilization",
            MeasureKind::ActiveUserTrend => "Active-user trend",
            MeasureKind::LoginFrequency => "Login frequency",
            MeasureKind::KeyFeatureAdoption => "Key-feature adoption",
            MeasureKind::OpenTickets => "Open support tickets",
            MeasureKind::TicketAge => "Oldest open ticket",
            MeasureKind::NpsLatest => "NPS (latest)",
            MeasureKind::NpsTrend => "NPS trend",
            MeasureKind::Stakeholders => "Sponsor and champion",
            MeasureKind::OnboardingProgress => "Onboarding progress",
            MeasureKind::EngagementRecency => "Engagement recency",
            MeasureKind::CsmSentiment => "CSM sentiment",
        }
    }

    /// The unit the raw value is in, for editors and explanations.
    pub fn unit(self) -> &'static str {
        match self {
            MeasureKind::SeatUtilization
            | MeasureKind::KeyFeatureAdoption
            | MeasureKind::ActiveUserTrend => "%",
            MeasureKind::LoginFrequency => "logins per active user per week",
            MeasureKind::OpenTickets => "tickets",
            MeasureKind::TicketAge
            | MeasureKind::OnboardingProgress
            | MeasureKind::EngagementRecency => "days",
            MeasureKind::NpsLatest => "score 0–10",
            MeasureKind::NpsTrend => "points",
            MeasureKind::Stakeholders => "of 2 key roles filled",
            MeasureKind::CsmSentiment => "score 0–100",
        }
    }
}

/// How a raw value becomes a 0–100 score. `Linear` interpolates between points (a curve);
/// `Steps` takes the score of the highest threshold the raw value reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", content = "points", rename_all = "snake_case")]
pub enum Mapping {
    Linear(Vec<MapPoint>),
    Steps(Vec<MapPoint>),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MapPoint {
    pub raw: f64,
    pub score: f64,
}

impl Mapping {
    fn points(&self) -> &[MapPoint] {
        match self {
            Mapping::Linear(p) | Mapping::Steps(p) => p,
        }
    }

    /// The score for `raw`, clamped to the ends of the mapping.
    pub fn apply(&self, raw: f64) -> f64 {
        let points = self.points();
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return 0.0;
        };
        if raw <= first.raw {
            return first.score;
        }
        if raw >= last.raw {
            return last.score;
        }
        match self {
            Mapping::Steps(_) => points
                .iter()
                .take_while(|p| p.raw <= raw)
                .last()
                .map_or(first.score, |p| p.score),
            Mapping::Linear(_) => {
                let i = points
                    .iter()
                    .position(|p| p.raw > raw)
                    .unwrap_or(points.len() - 1);
                let (a, b) = (points[i - 1], points[i]);
                a.score + (b.score - a.score) * (raw - a.raw) / (b.raw - a.raw)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeasureConfig {
    pub kind: MeasureKind,
    pub weight: f64,
    pub group: Option<String>,
    pub mapping: Mapping,
}

/// A colour band of the grading scheme: scores from `min` up to the next band's `min`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Band {
    pub name: String,
    pub min: f64,
    /// CSS colour, e.g. "#dc2626".
    pub color: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScorecardDefinition {
    pub description: String,
    /// Segments this scorecard applies to; empty means any.
    pub segments: Vec<Segment>,
    /// Lifecycle stages this scorecard applies to; empty means any.
    pub stages: Vec<Stage>,
    pub measures: Vec<MeasureConfig>,
    /// Lowest band first.
    pub bands: Vec<Band>,
    /// The least share (0–1) of the measures' weight that must have data for an account to
    /// get a score: below it the account is "not enough data", never a perfect score made
    /// of the few measures that happen to have some.
    #[serde(default = "default_min_coverage")]
    pub min_coverage: f64,
}

/// Half the scorecard's weight, unless the scorecard says otherwise.
pub fn default_min_coverage() -> f64 {
    0.5
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Scorecard {
    pub id: String,
    pub name: String,
    pub version: i32,
    pub definition: ScorecardDefinition,
}

impl ScorecardDefinition {
    /// Every problem with this definition, each naming the part at fault.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.measures.is_empty() {
            out.push("measures: a scorecard needs at least one measure".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.measures.iter().enumerate() {
            let at = format!("measures[{i}] ({})", m.kind.label());
            if !seen.insert(m.kind) {
                out.push(format!("{at}: appears more than once"));
            }
            if !(m.weight.is_finite() && m.weight > 0.0 && m.weight <= 100.0) {
                out.push(format!(
                    "{at}.weight: {} is not between 0 (exclusive) and 100",
                    m.weight
                ));
            }
            let points = m.mapping.points();
            if points.len() < 2 {
                out.push(format!("{at}.mapping: needs at least two points"));
            }
            if points.windows(2).any(|w| w[1].raw <= w[0].raw) {
                out.push(format!(
                    "{at}.mapping: raw values must increase from point to point"
                ));
            }
            if points
                .iter()
                .any(|p| !p.raw.is_finite() || !(0.0..=100.0).contains(&p.score))
            {
                out.push(format!(
                    "{at}.mapping: scores must be 0–100 and raw values finite"
                ));
            }
        }
        if !(self.min_coverage.is_finite() && (0.0..=1.0).contains(&self.min_coverage)) {
            out.push(format!(
                "min_coverage: {} is not a share between 0 and 1",
                self.min_coverage
            ));
        }
        if !(2..=12).contains(&self.bands.len()) {
            out.push(format!(
                "bands: a grading scheme has 2 to 12 bands, not {}",
                self.bands.len()
            ));
        }
        if self.bands.first().is_some_and(|b| b.min != 0.0) {
            out.push("bands[0].min: the lowest band starts at 0".into());
        }
        if self.bands.windows(2).any(|w| w[1].min <= w[0].min) {
            out.push("bands: each band must start above the one before".into());
        }
        for (i, b) in self.bands.iter().enumerate() {
            if b.name.trim().is_empty() {
                out.push(format!("bands[{i}].name: must not be empty"));
            }
            if !(0.0..=100.0).contains(&b.min) {
                out.push(format!("bands[{i}].min: {} is not 0–100", b.min));
            }
        }
        out
    }

    pub fn validate(&self) -> Result<()> {
        match self.problems().as_slice() {
            [] => Ok(()),
            problems => Err(Error::invalid("scorecard", problems.join("; "))),
        }
    }

    /// The band a score falls in.
    pub fn band(&self, score: f64) -> Option<&Band> {
        self.bands
            .iter()
            .rev()
            .find(|b| score >= b.min)
            .or(self.bands.first())
    }

    /// How specifically this scorecard fits an account: None when it does not apply.
    fn fit(&self, segment: Segment, stage: Stage) -> Option<u8> {
        let seg = self.segments.is_empty() || self.segments.contains(&segment);
        let stg = self.stages.is_empty() || self.stages.contains(&stage);
        (seg && stg)
            .then(|| u8::from(!self.segments.is_empty()) + 2 * u8::from(!self.stages.is_empty()))
    }
}

/// The scorecard that applies to an account: the most specific fit (stage beats
/// segment), ties going to the first in `cards`.
pub fn assign(cards: &[Scorecard], segment: Segment, stage: Stage) -> Option<&Scorecard> {
    cards
        .iter()
        .filter_map(|c| c.definition.fit(segment, stage).map(|f| (f, c)))
        .fold(None, |best: Option<(u8, &Scorecard)>, (f, c)| match best {
            Some((bf, _)) if bf >= f => best,
            _ => Some((f, c)),
        })
        .map(|(_, c)| c)
}

/// Where a measure's score came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScoreSource {
    Data,
    Override {
        comment: String,
        author: Option<String>,
        expires_on: Option<chrono::NaiveDate>,
    },
    Missing,
}

/// One measure as computed for one account: the explanation of its part in the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeasureResult {
    pub kind: MeasureKind,
    // The kind's label, borrowed: a whole book scores ~700K measures a day.
    pub label: std::borrow::Cow<'static, str>,
    pub group: Option<String>,
    pub weight: f64,
    pub raw: Option<f64>,
    /// The raw value as a person reads it ("41 % of 120 seats").
    pub raw_display: String,
    /// The data behind the raw value.
    pub evidence: String,
    pub score: Option<f64>,
    /// Points this measure adds to the overall score; contributions add up to it.
    pub contribution: f64,
    pub source: ScoreSource,
}

/// How much of a scorecard an account's data covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Coverage {
    pub with_data: u32,
    pub total: u32,
    /// The share (0–1) of the measures' weight that has data.
    pub weight_share: f64,
    /// The measures without data, by label.
    pub missing: Vec<String>,
}

impl Coverage {
    pub fn of(measures: &[MeasureResult]) -> Coverage {
        let total_weight: f64 = measures.iter().map(|m| m.weight).sum();
        let with: Vec<&MeasureResult> = measures.iter().filter(|m| m.score.is_some()).collect();
        let weight: f64 = with.iter().map(|m| m.weight).sum();
        Coverage {
            with_data: with.len() as u32,
            total: measures.len() as u32,
            weight_share: if total_weight > 0.0 {
                weight / total_weight
            } else {
                0.0
            },
            missing: measures
                .iter()
                .filter(|m| m.score.is_none())
                .map(|m| m.label.to_string())
                .collect(),
        }
    }

    /// "2 of 11 measures".
    pub fn summary(&self) -> String {
        format!("{} of {} measures", self.with_data, self.total)
    }
}

/// A scored account: the overall score, its band and every measure's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthScore {
    pub scorecard_id: String,
    pub scorecard_name: String,
    pub scorecard_version: i32,
    /// None when the measures with data carry less than the scorecard's `min_coverage`
    /// of its weight: not enough data to say.
    pub score: Option<f64>,
    pub band: Option<String>,
    pub band_color: Option<String>,
    pub measures: Vec<MeasureResult>,
    pub coverage: Coverage,
}

/// Scores `facts` with `card` as of `today`.
pub fn score(card: &Scorecard, facts: &AccountFacts, today: chrono::NaiveDate) -> HealthScore {
    score_in(card, facts, today, Words::Built)
}

/// [`score`], with the raw values' words built or not (`raw_display` and `evidence` are
/// left empty when skipped).
pub fn score_in(
    card: &Scorecard,
    facts: &AccountFacts,
    today: chrono::NaiveDate,
    words: Words,
) -> HealthScore {
    let mut measures: Vec<MeasureResult> = card
        .definition
        .measures
        .iter()
        .map(|m| {
            let raw = measures::raw_value_in(m.kind, facts, today, words);
            let active_override = facts
                .overrides
                .iter()
                .find(|o| o.measure == m.kind && o.is_active(today));
            let (score, source) = match (active_override, &raw) {
                (Some(o), _) => (
                    Some(o.score.clamp(0.0, 100.0)),
                    ScoreSource::Override {
                        comment: o.comment.clone(),
                        author: o.author_name.clone(),
                        expires_on: o.expires_on,
                    },
                ),
                (None, Some(r)) => (
                    Some(m.mapping.apply(r.value).clamp(0.0, 100.0)),
                    ScoreSource::Data,
                ),
                (None, None) => (None, ScoreSource::Missing),
            };
            let (raw, raw_display, evidence) = match (raw, words) {
                (Some(r), _) => (Some(r.value), r.display, r.evidence),
                (None, Words::Built) => (None, "no data".to_string(), String::new()),
                (None, Words::Skipped) => (None, String::new(), String::new()),
            };
            MeasureResult {
                kind: m.kind,
                label: m.kind.label().into(),
                group: m.group.clone(),
                weight: m.weight,
                raw,
                raw_display,
                evidence,
                score,
                contribution: 0.0,
                source,
            }
        })
        .collect();
    let weight_with_data: f64 = measures
        .iter()
        .filter(|m| m.score.is_some())
        .map(|m| m.weight)
        .sum();
    let coverage = Coverage::of(&measures);
    let enough =
        weight_with_data > 0.0 && coverage.weight_share + 1e-9 >= card.definition.min_coverage;
    let overall = enough.then(|| {
        for m in measures.iter_mut() {
            if let Some(s) = m.score {
                m.contribution = m.weight * s / weight_with_data;
            }
        }
        measures.iter().map(|m| m.contribution).sum::<f64>()
    });
    let band = overall.and_then(|s| card.definition.band(s));
    HealthScore {
        scorecard_id: card.id.clone(),
        scorecard_name: card.name.clone(),
        scorecard_version: card.version,
        score: overall,
        band: band.map(|b| b.name.clone()),
        band_color: band.map(|b| b.color.clone()),
        measures,
        coverage,
    }
}

/// What changed between two scores of one account, measure by measure, largest first:
/// "Seat utilization 82 → 41: −10.3 points".
pub fn changes(previous: &[MeasureResult], current: &[MeasureResult]) -> Vec<String> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for m in current {
        let before = previous.iter().find(|p| p.kind == m.kind);
        let delta = m.contribution - before.map_or(0.0, |p| p.contribution);
        if delta.abs() < 0.05 {
            continue;
        }
        let from = before
            .and_then(|p| p.score)
            .map_or("—".to_string(), |s| format!("{s:.0}"));
        let to = m.score.map_or("—".to_string(), |s| format!("{s:.0}"));
        let why = if m.evidence.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.evidence)
        };
        out.push((
            delta.abs(),
            format!(
                "{} {from} → {to}: {}{:.1} points{why}",
                m.label,
                if delta < 0.0 { "−" } else { "+" },
                delta.abs()
            ),
        ));
    }
    for p in previous
        .iter()
        .filter(|p| !current.iter().any(|m| m.kind == p.kind) && p.contribution.abs() >= 0.05)
    {
        out.push((
            p.contribution.abs(),
            format!(
                "{} no longer measured: −{:.1} points",
                p.label, p.contribution
            ),
        ));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
pub(crate) mod tests;
