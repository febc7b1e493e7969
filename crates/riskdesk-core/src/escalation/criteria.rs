//! The criteria that escalate an account to leadership by themselves, and how a
//! crossing is worded.

use super::*;
use crate::money::format_usd;

/// When an account goes to leadership, edited in Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EscalationCriteria {
    pub enabled: bool,
    /// Severity score at or above which an account is escalated.
    pub severity_threshold: f64,
    /// No criterion escalates an account below this ARR (base currency, major units).
    pub arr_floor: f64,
    pub strategic_sponsor_lost: bool,
    /// A High-severity usage drop signal.
    pub steep_usage_drop: bool,
    pub recurring_issues: bool,
    /// After a de-escalation, the criteria leave the account alone this many days.
    pub quiet_days: u32,
}

impl Default for EscalationCriteria {
    fn default() -> Self {
        EscalationCriteria {
            enabled: true,
            severity_threshold: 50.0,
            arr_floor: 100_000.0,
            strategic_sponsor_lost: true,
            steep_usage_drop: true,
            recurring_issues: true,
            quiet_days: 30,
        }
    }
}

impl EscalationCriteria {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(0.0..=100.0).contains(&self.severity_threshold) {
            out.push(format!(
                "severity_threshold: {} is not between 0 and 100",
                self.severity_threshold
            ));
        }
        if !(self.arr_floor >= 0.0 && self.arr_floor.is_finite()) {
            out.push("arr_floor: must not be negative".into());
        }
        if self.quiet_days > 365 {
            out.push(format!(
                "quiet_days: {} is more than a year",
                self.quiet_days
            ));
        }
        out
    }
}

const CONFIG_KEY: &str = "escalation";

pub async fn criteria(store: &crate::Store) -> Result<EscalationCriteria> {
    crate::config::cached(store, CONFIG_KEY).await
}

pub async fn save_criteria(store: &Store, c: &EscalationCriteria) -> Result<()> {
    if let problems @ [_, ..] = c.problems().as_slice() {
        return Err(Error::invalid("escalation criteria", problems.join("; ")));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, CONFIG_KEY, c).await?;
    Ok(tx.commit().await?)
}

/// What the criteria see of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationFacts {
    pub arr: f64,
    pub strategic: bool,
    pub severity: Option<f64>,
    pub signals: Vec<(SignalKind, Level)>,
}

/// The first criterion the account crosses, with the facts that crossed it.
pub fn crossed(c: &EscalationCriteria, f: &EscalationFacts) -> Option<(&'static str, String)> {
    if !c.enabled || f.arr < c.arr_floor {
        return None;
    }
    let floor = format!("ARR {} ≥ {}", format_usd(f.arr), format_usd(c.arr_floor));
    if let Some(s) = f.severity.filter(|s| *s >= c.severity_threshold) {
        return Some((
            "severity",
            format!(
                "severity {} ≥ {:.0}; {floor}",
                crate::severity::whole(s),
                c.severity_threshold
            ),
        ));
    }
    let has = |kind: SignalKind, min: Level| {
        f.signals
            .iter()
            .any(|(k, l)| *k == kind && l.rank() >= min.rank())
    };
    if c.strategic_sponsor_lost && f.strategic && has(SignalKind::SponsorLeft, Level::Low) {
        return Some((
            "strategic_sponsor_lost",
            format!("strategic account whose sponsor left; {floor}"),
        ));
    }
    if c.steep_usage_drop && has(SignalKind::UsageDrop, Level::High) {
        return Some((
            "steep_usage_drop",
            format!("steep usage drop (High); {floor}"),
        ));
    }
    if c.recurring_issues && has(SignalKind::RecurringIssues, Level::Medium) {
        return Some((
            "recurring_issues",
            format!("recurring product issues; {floor}"),
        ));
    }
    None
}

pub fn criterion_label(criterion: &str) -> &'static str {
    match criterion {
        "severity" => "Severity over threshold",
        "strategic_sponsor_lost" => "Strategic account, sponsor lost",
        "steep_usage_drop" => "Steep usage drop",
        "recurring_issues" => "Recurring product issues",
        "rule" => "Escalated by a rule",
        _ => "Escalated by hand",
    }
}
