//! Account severity: how bad the risk is (health and active signals) times how much it
//! matters (ARR and time to renewal). A healthy account stays low however large it is.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::scorecard::{MapPoint, Mapping};
use crate::signals::{Detected, Level, SignalKind};

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

/// What a severity was computed from, and its score and level: everything its
/// explanation needs. A refresh keeps this (a few numbers) instead of the explanation,
/// which is rebuilt from it when read.
///
/// The score is kept to a tenth of a point (lists show whole points) and the stored form
/// holds the renewal date, not the days to it: the days move every account's exact
/// severity a little every day, and a tenth leaves about one account in ten changing on a
/// day without new data, so the rest keep their stored severity and rank untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub health: Option<f64>,
    /// The active signals, in the order they were detected.
    pub signals: Vec<(SignalKind, Level)>,
    /// Their points under the settings of the day, summed and capped at 100.
    pub signal_points: f64,
    pub arr_base_minor: i64,
    pub renewal: NaiveDate,
    /// From the day assessed, which is not stored: a reader passes the day the account
    /// was last scored, on which the stored score still held.
    pub days_to_renewal: i64,
    /// Share of risk from poor health under the settings of the day.
    pub health_weight: f64,
    pub score: f64,
    pub level: Level,
}

/// The numbers of an assessment, each computed one way for the score and its explanation.
struct Parts {
    health_risk: f64,
    risk: f64,
    arr: f64,
    renewal: f64,
    impact: f64,
    score: f64,
}

impl Assessment {
    pub fn new(
        health: Option<f64>,
        signals: &[Detected],
        arr_base_minor: i64,
        renewal: NaiveDate,
        on: NaiveDate,
        c: &SeverityConfig,
    ) -> Assessment {
        let signal_points: f64 = signals
            .iter()
            .map(|s| match s.severity {
                Level::High => c.high_signal_points,
                Level::Medium => c.medium_signal_points,
                Level::Low => c.low_signal_points,
            })
            .fold(0.0, |a, b| a + b)
            .min(100.0);
        let mut a = Assessment {
            health,
            signals: signals.iter().map(|s| (s.kind, s.severity)).collect(),
            signal_points,
            arr_base_minor,
            renewal,
            days_to_renewal: (renewal - on).num_days(),
            health_weight: c.health_weight,
            score: 0.0,
            level: Level::Low,
        };
        a.score = tenth(a.parts().score);
        a.level = c.level(a.score);
        a
    }

    fn parts(&self) -> Parts {
        let health_risk = self.health.map_or(50.0, |h| (100.0 - h).clamp(0.0, 100.0));
        let risk =
            self.health_weight * health_risk + (1.0 - self.health_weight) * self.signal_points;
        let arr = arr_value(self.arr_base_minor);
        let renewal = renewal_value(self.days_to_renewal);
        let impact = 0.6 + 0.4 * (0.5 * arr + 0.5 * renewal) / 100.0;
        Parts {
            health_risk,
            risk,
            arr,
            renewal,
            impact,
            score: (risk * impact).clamp(0.0, 100.0),
        }
    }

    /// The explanation a person reads: each factor with its input and role.
    pub fn explain(&self) -> Severity {
        let p = self.parts();
        let signal_list = if self.signals.is_empty() {
            "none".to_string()
        } else {
            self.signals
                .iter()
                .map(|(kind, level)| format!("{} ({level})", kind.label()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Severity {
            score: self.score,
            level: self.level,
            risk: p.risk,
            impact: p.impact,
            factors: vec![
                SeverityFactor {
                    name: "Health".into(),
                    input: self.health.map_or("no score (counted as 50)".into(), |h| {
                        format!("score {h:.0}")
                    }),
                    value: p.health_risk,
                    role: format!("risk × {:.2}", self.health_weight),
                },
                SeverityFactor {
                    name: "Active signals".into(),
                    input: signal_list,
                    value: self.signal_points,
                    role: format!("risk × {:.2}", 1.0 - self.health_weight),
                },
                SeverityFactor {
                    name: "ARR".into(),
                    input: crate::money::format_minor(
                        self.arr_base_minor,
                        "USD (base currency)",
                        2,
                    ),
                    value: p.arr,
                    role: "impact × 0.2".into(),
                },
                SeverityFactor {
                    name: "Time to renewal".into(),
                    input: format!("{} days", self.days_to_renewal),
                    value: p.renewal,
                    role: "impact × 0.2".into(),
                },
            ],
            formula: format!(
                "risk {:.0} × impact {:.2} = {}",
                p.risk,
                p.impact,
                whole(self.score)
            ),
        }
    }

    /// The stored form of the inputs the score and level columns do not hold:
    /// `weight;signal points;ARR minor;renewal date;kind:level,…` (floats in Rust's
    /// shortest form, which reads back to the same bits). Nothing in it moves with the day.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(48 + 24 * self.signals.len());
        self.encode_into(&mut text);
        text
    }

    /// [`Assessment::encode`] into `text` (cleared first), for comparing with a stored
    /// form without a new string per account.
    pub(crate) fn encode_into(&self, text: &mut String) {
        use std::fmt::Write;
        text.clear();
        let _ = write!(
            text,
            "{};{};{};{};",
            self.health_weight, self.signal_points, self.arr_base_minor, self.renewal
        );
        for (i, (kind, level)) in self.signals.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(kind.as_str());
            text.push(':');
            text.push_str(level.as_str());
        }
    }

    /// Reads [`Assessment::encode`]'s form back, given the columns stored beside it and
    /// `on`, the day the account was last scored. Rows written before the renewal date
    /// was kept hold the days to it on the day they were written, which was the day the
    /// account was last scored (they were rewritten daily).
    pub fn decode(
        text: &str,
        health: Option<f64>,
        score: f64,
        level: Level,
        on: NaiveDate,
    ) -> crate::Result<Assessment> {
        let bad =
            || crate::Error::invalid("severity", format!("'{text}' is not a stored severity"));
        let mut parts = text.splitn(5, ';');
        let mut next = || parts.next().ok_or_else(bad);
        let health_weight: f64 = next()?.parse().map_err(|_| bad())?;
        let signal_points: f64 = next()?.parse().map_err(|_| bad())?;
        let arr_base_minor: i64 = next()?.parse().map_err(|_| bad())?;
        let renewal = next()?;
        let renewal = match renewal.parse::<NaiveDate>() {
            Ok(date) => date,
            Err(_) => {
                let days: i64 = renewal.parse().map_err(|_| bad())?;
                chrono::TimeDelta::try_days(days)
                    .and_then(|d| on.checked_add_signed(d))
                    .ok_or_else(bad)?
            }
        };
        let list = next()?;
        let signals = if list.is_empty() {
            Vec::new()
        } else {
            list.split(',')
                .map(|pair| {
                    let (kind, level) = pair.split_once(':').ok_or_else(bad)?;
                    Ok((kind.parse()?, level.parse()?))
                })
                .collect::<crate::Result<_>>()?
        };
        Ok(Assessment {
            health,
            signals,
            signal_points,
            arr_base_minor,
            renewal,
            days_to_renewal: (renewal - on).num_days(),
            health_weight,
            score,
            level,
        })
    }
}

/// A severity score as kept and compared: to a tenth of a point.
fn tenth(score: f64) -> f64 {
    (score * 10.0).round() / 10.0
}

/// A severity score as people read it, in whole points: halves round up, as the screens
/// round (`{:.0}` alone rounds 4.5 to 4, and a tenth is a half one time in ten).
pub fn whole(score: f64) -> String {
    format!("{:.0}", score.round())
}

/// A stored severity as a person reads it: the compact form a refresh writes, or the
/// whole explanation as JSON that stores written before it hold.
pub fn read_stored(
    text: &str,
    health: Option<f64>,
    score: f64,
    level: Level,
    on: NaiveDate,
) -> crate::Result<Severity> {
    if text.starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| crate::Error::invalid("severity", e.to_string()));
    }
    Ok(Assessment::decode(text, health, score, level, on)?.explain())
}

/// The severity on `on` of an account renewing on `renewal`.
pub fn assess(
    health: Option<f64>,
    signals: &[Detected],
    arr_base_minor: i64,
    renewal: NaiveDate,
    on: NaiveDate,
    c: &SeverityConfig,
) -> Severity {
    Assessment::new(health, signals, arr_base_minor, renewal, on, c).explain()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: NaiveDate = NaiveDate::from_ymd_opt(2026, 12, 1).expect("day");

    /// The renewal date `days` after [`ON`].
    fn renewing(days: i64) -> NaiveDate {
        ON + chrono::Duration::days(days)
    }

    fn at(
        health: Option<f64>,
        signals: &[Detected],
        arr: i64,
        days: i64,
        c: &SeverityConfig,
    ) -> Severity {
        assess(health, signals, arr, renewing(days), ON, c)
    }

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
        let s = at(Some(92.0), &[], 5_000_000_00, 10, &c);
        assert_eq!(s.level, Level::Low, "{}", s.formula);
    }

    #[test]
    fn poor_health_and_signals_on_a_big_renewing_account_is_high() {
        let c = SeverityConfig::default();
        let s = at(
            Some(30.0),
            &[signal(Level::High), signal(Level::Medium)],
            2_000_000_00,
            45,
            &c,
        );
        assert_eq!(s.level, Level::High, "{}", s.formula);
        assert!((s.score - s.risk * s.impact).abs() <= 0.05 + 1e-9);
        assert_eq!(s.score, (s.score * 10.0).round() / 10.0, "kept to a tenth");
    }

    #[test]
    fn more_arr_sooner_renewal_or_more_signals_never_lower_severity() {
        let c = SeverityConfig::default();
        let base = at(Some(40.0), &[signal(Level::Medium)], 50_000_00, 200, &c).score;
        assert!(at(Some(40.0), &[signal(Level::Medium)], 500_000_00, 200, &c).score >= base);
        assert!(at(Some(40.0), &[signal(Level::Medium)], 50_000_00, 20, &c).score >= base);
        assert!(
            at(
                Some(40.0),
                &[signal(Level::Medium), signal(Level::Low)],
                50_000_00,
                200,
                &c
            )
            .score
                >= base
        );
        assert!(at(Some(30.0), &[signal(Level::Medium)], 50_000_00, 200, &c).score >= base);
    }

    #[test]
    fn a_half_point_reads_rounded_up_as_on_the_screens() {
        assert_eq!(whole(4.5), "5");
        assert_eq!(whole(52.5), "53");
        assert_eq!(whole(4.45), "4");
        assert_eq!(whole(0.0), "0");
        let c = SeverityConfig::default();
        // Find an assessment that lands on a half and read its formula.
        let half = (0..400)
            .map(|days| at(Some(50.0), &[], 80_000_00, days, &c))
            .find(|s| (s.score * 10.0).round() as i64 % 10 == 5)
            .expect("some day lands on a half");
        assert!(
            half.formula.ends_with(&format!("= {}", half.score.ceil())),
            "{} for {}",
            half.formula,
            half.score
        );
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

    #[test]
    fn a_stored_assessment_explains_itself_exactly_as_when_it_was_computed() {
        let c = SeverityConfig {
            health_weight: 0.6180339887,
            medium_signal_points: 17.3,
            ..Default::default()
        };
        let cases = [
            (Some(83.421_052_631_578_95), vec![], 1_535_82, 312),
            (
                Some(12.5),
                vec![
                    signal(Level::High),
                    signal(Level::Medium),
                    signal(Level::Low),
                ],
                987_654_321_00,
                -40,
            ),
            (None, vec![signal(Level::Medium)], 0, 0),
        ];
        for (health, signals, arr, days) in cases {
            let a = Assessment::new(health, &signals, arr, renewing(days), ON, &c);
            let stored = a.encode();
            let back = Assessment::decode(&stored, health, a.score, a.level, ON).expect("decode");
            assert_eq!(back, a);
            let read = read_stored(&stored, health, a.score, a.level, ON).expect("read");
            assert_eq!(read, at(health, &signals, arr, days, &c));
            // Read on a later day (the account scored again, its severity unchanged to
            // the tenth), the days to renewal are that day's.
            let later = ON + chrono::Duration::days(3);
            let moved =
                Assessment::decode(&stored, health, a.score, a.level, later).expect("later");
            assert_eq!(moved.days_to_renewal, days - 3);
            assert_eq!(moved.renewal, a.renewal);
            // Rows written before the renewal date was kept hold the days on their day.
            let old = format!(
                "{};{};{};{};{}",
                a.health_weight,
                a.signal_points,
                a.arr_base_minor,
                days,
                stored.rsplit(';').next().unwrap_or_default()
            );
            assert_eq!(
                Assessment::decode(&old, health, a.score, a.level, ON).expect("days form"),
                a
            );
            // A store written before the compact form holds the explanation itself.
            let legacy = serde_json::to_string(&read).expect("json");
            assert!(stored.len() * 4 < legacy.len(), "{stored}");
            assert_eq!(
                read_stored(&legacy, health, a.score, a.level, ON).expect("legacy"),
                read
            );
        }
        for bad in [
            "",
            "0.5;x;1;2;",
            "0.5;0;1;2;usage_drop",
            "0.5;0;1;2;usage_drop:dire",
            "0.5;0;1;2026-13-01;",
            "0.5;0;1;9223372036854775807;",
        ] {
            assert!(
                Assessment::decode(bad, None, 0.0, Level::Low, ON).is_err(),
                "{bad}"
            );
        }
    }
}
