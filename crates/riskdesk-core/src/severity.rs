//! Account severity: how bad the risk is (health and active signals) times how much it
//! matters (ARR and time to renewal). A healthy account stays low however large it is.

use serde::{Deserialize, Serialize};

use crate::scorecard::{MapPoint, Mapping};
use crate::signals::{Detected, Level};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SeverityConfig {
    /// Share of risk from poor health (the rest from signals).
    pub health_weight: f64,
    /// Points per active signal by its severity, summed and capped at 100.
    pub high_signal_points: f64,
    pub medium_signal_points: f64,
    pub low_signal_points: f64,
    /// Severity score from which an account is High, and Medium.
    pub high_at: f64,
    pub medium_at: f64,
}

impl Default for SeverityConfig {
    fn default() -> Self {
        SeverityConfig {
            health_weight: 0.55,
            high_signal_points: 40.0,
            medium_signal_points: 20.0,
            low_signal_points: 8.0,
            high_at: 45.0,
            medium_at: 25.0,
        }
    }
}

impl SeverityConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.health_weight) {
            out.push(format!(
                "health_weight: {} is not between 0 and 1",
                self.health_weight
            ));
        }
        if !(0.0 < self.medium_at && self.medium_at < self.high_at && self.high_at <= 100.0) {
            out.push(format!(
                "cut-offs: need 0 < medium ({}) < high ({}) ≤ 100",
                self.medium_at, self.high_at
            ));
        }
        out
    }

    pub fn level(&self, score: f64) -> Level {
        if score >= self.high_at {
            Level::High
        } else if score >= self.medium_at {
            Level::Medium
        } else {
            Level::Low
        }
    }
}

/// One input to the severity score and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SeverityFactor {
    pub name: String,
    /// The input as a person reads it.
    pub input: String,
    /// The factor's own 0–100 value.
    pub value: f64,
    /// How it enters: "risk × 0.55" or "impact".
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Severity {
    pub score: f64,
    pub level: Level,
    pub risk: f64,
    /// 0.6 to 1.0: how much the risk matters.
    pub impact: f64,
    pub factors: Vec<SeverityFactor>,
    /// "Risk 62 × impact 0.85 = 53"
    pub formula: String,
}

fn arr_value(arr_base_minor: i64) -> f64 {
    // $1K → 0, $5M → 100, on a log scale: each tenfold of ARR counts the same.
    let dollars = (arr_base_minor as f64 / 100.0).max(1.0);
    ((dollars.log10() - 3.0) / (5_000_000f64.log10() - 3.0) * 100.0).clamp(0.0, 100.0)
}

fn renewal_value(days: i64) -> f64 {
    Mapping::Linear(
        [
            (0.0, 100.0),
            (30.0, 100.0),
            (90.0, 75.0),
            (180.0, 45.0),
            (365.0, 15.0),
        ]
        .into_iter()
        .map(|(raw, score)| MapPoint { raw, score })
        .collect(),
    )
    .apply(days as f64)
}

pub fn assess(
    health: Option<f64>,
    signals: &[Detected],
    arr_base_minor: i64,
    days_to_renewal: i64,
    c: &SeverityConfig,
) -> Severity {
    let health_risk = health.map_or(50.0, |h| (100.0 - h).clamp(0.0, 100.0));
    let signal_points: f64 = signals
        .iter()
        .map(|s| match s.severity {
            Level::High => c.high_signal_points,
            Level::Medium => c.medium_signal_points,
            Level::Low => c.low_signal_points,
        })
        .fold(0.0, |a, b| a + b)
        .min(100.0);
    let risk = c.health_weight * health_risk + (1.0 - c.health_weight) * signal_points;
    let arr = arr_value(arr_base_minor);
    let renewal = renewal_value(days_to_renewal);
    let impact = 0.6 + 0.4 * (0.5 * arr + 0.5 * renewal) / 100.0;
    let score = (risk * impact).clamp(0.0, 100.0);
    let signal_list = if signals.is_empty() {
        "none".to_string()
    } else {
        signals
            .iter()
            .map(|s| format!("{} ({})", s.kind.label(), s.severity))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Severity {
        score,
        level: c.level(score),
        risk,
        impact,
        factors: vec![
            SeverityFactor {
                name: "Health".into(),
                input: health.map_or("no score (counted as 50)".into(), |h| {
                    format!("score {h:.0}")
                }),
                value: health_risk,
                role: format!("risk × {:.2}", c.health_weight),
            },
            SeverityFactor {
                name: "Active signals".into(),
                input: signal_list,
                value: signal_points,
                role: format!("risk × {:.2}", 1.0 - c.health_weight),
            },
            SeverityFactor {
                name: "ARR".into(),
                input: crate::money::format_minor(arr_base_minor, "USD (base currency)", 2),
                value: arr,
                role: "impact × 0.2".into(),
            },
            SeverityFactor {
                name: "Time to renewal".into(),
                input: format!("{days_to_renewal} days"),
                value: renewal,
                role: "impact × 0.2".into(),
            },
        ],
        formula: format!("risk {risk:.0} × impact {impact:.2} = {score:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::SignalKind;

    fn signal(severity: Level) -> Detected {
        Detected {
            kind: SignalKind::UsageDrop,
            severity,
            summary: String::new(),
            evidence: vec![],
        }
    }

    #[test]
    fn healthy_accounts_stay_low_however_large() {
        let c = SeverityConfig::default();
        let s = assess(Some(92.0), &[], 5_000_000_00, 10, &c);
        assert_eq!(s.level, Level::Low, "{}", s.formula);
    }

    #[test]
    fn poor_health_and_signals_on_a_big_renewing_account_is_high() {
        let c = SeverityConfig::default();
        let s = assess(
            Some(30.0),
            &[signal(Level::High), signal(Level::Medium)],
            2_000_000_00,
            45,
            &c,
        );
        assert_eq!(s.level, Level::High, "{}", s.formula);
        assert!((s.score - s.risk * s.impact).abs() < 1e-9);
    }

    #[test]
    fn more_arr_sooner_renewal_or_more_signals_never_lower_severity() {
        let c = SeverityConfig::default();
        let base = assess(Some(40.0), &[signal(Level::Medium)], 50_000_00, 200, &c).score;
        assert!(assess(Some(40.0), &[signal(Level::Medium)], 500_000_00, 200, &c).score >= base);
        assert!(assess(Some(40.0), &[signal(Level::Medium)], 50_000_00, 20, &c).score >= base);
        assert!(
            assess(
                Some(40.0),
                &[signal(Level::Medium), signal(Level::Low)],
                50_000_00,
                200,
                &c
            )
            .score
                >= base
        );
        assert!(assess(Some(30.0), &[signal(Level::Medium)], 50_000_00, 200, &c).score >= base);
    }

    #[test]
    fn cut_offs_are_validated() {
        let c = SeverityConfig {
            high_at: 20.0,
            medium_at: 30.0,
            ..Default::default()
        };
        assert_eq!(c.problems().len(), 1);
    }
}
