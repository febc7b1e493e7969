//! Learning from closed escalations: outcome mix per criterion, time to resolution, and
//! what a higher severity threshold would have changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{criterion_label, EscalationOutcome};
use crate::Result;

/// A closed escalation, as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedEscalation {
    pub criterion: String,
    pub severity_at_open: Option<f64>,
    pub outcome: EscalationOutcome,
    pub arr_at_open_minor: i64,
    pub arr_retained_minor: Option<i64>,
    pub days_to_resolution: i64,
}

impl ClosedEscalation {
    /// Saved, downsell and churn are the cases leadership had to see; resolved and
    /// de-escalated ones were not.
    fn needed_leadership(&self) -> bool {
        matches!(
            self.outcome,
            EscalationOutcome::Saved | EscalationOutcome::Downsell | EscalationOutcome::Churned
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutcomeMix {
    pub label: String,
    pub total: u32,
    pub saved: u32,
    pub downsell: u32,
    pub churned: u32,
    pub resolved: u32,
    pub de_escalated: u32,
}

impl OutcomeMix {
    fn add(&mut self, o: EscalationOutcome) {
        self.total += 1;
        match o {
            EscalationOutcome::Saved => self.saved += 1,
            EscalationOutcome::Downsell => self.downsell += 1,
            EscalationOutcome::Churned => self.churned += 1,
            EscalationOutcome::Resolved => self.resolved += 1,
            EscalationOutcome::DeEscalated => self.de_escalated += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutcomeSummary {
    pub mix: OutcomeMix,
    pub arr_at_stake_minor: i64,
    pub arr_retained_minor: i64,
    pub arr_lost_minor: i64,
    pub median_days_to_resolution: Option<f64>,
    pub mean_days_to_resolution: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WhatIf {
    pub threshold: f64,
    /// Severity escalations that would still have opened.
    pub escalations: u32,
    pub fewer: u32,
    /// Of those fewer, resolved without leadership or de-escalated.
    pub fewer_without_leadership: u32,
    /// Of those fewer, saved, downsold or churned: cases leadership should have seen.
    pub fewer_needing_leadership: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Refinement {
    pub summary: OutcomeSummary,
    pub per_criterion: Vec<OutcomeMix>,
    pub current_threshold: f64,
    pub what_if: Vec<WhatIf>,
    pub suggested_threshold: Option<f64>,
    pub suggestion: String,
}

/// The share of escalations that needed leadership a higher threshold may drop.
pub const TOLERATED_LOSS: f64 = 0.10;

fn outcomes(list: &[&ClosedEscalation]) -> OutcomeSummary {
    let mut s = OutcomeSummary {
        mix: OutcomeMix {
            label: "All escalations".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut days: Vec<i64> = Vec::new();
    for e in list {
        s.mix.add(e.outcome);
        days.push(e.days_to_resolution);
        if e.outcome == EscalationOutcome::DeEscalated {
            continue;
        }
        s.arr_at_stake_minor += e.arr_at_open_minor;
        let kept = match e.outcome {
            EscalationOutcome::Resolved => e.arr_at_open_minor,
            _ => e.arr_retained_minor.unwrap_or(0),
        };
        s.arr_retained_minor += kept;
        s.arr_lost_minor += e.arr_at_open_minor - kept;
    }
    days.sort_unstable();
    if !days.is_empty() {
        let mid = days.len() / 2;
        s.median_days_to_resolution = Some(if days.len().is_multiple_of(2) {
            (days[mid - 1] + days[mid]) as f64 / 2.0
        } else {
            days[mid] as f64
        });
        s.mean_days_to_resolution = Some(days.iter().sum::<i64>() as f64 / days.len() as f64);
    }
    s
}

/// The report over closed escalations, with what-ifs for thresholds above `current`.
pub fn refine(closed: &[ClosedEscalation], current: f64) -> Refinement {
    let all: Vec<&ClosedEscalation> = closed.iter().collect();
    let summary = outcomes(&all);
    let mut per_criterion: Vec<OutcomeMix> = Vec::new();
    for e in closed {
        let label = criterion_label(&e.criterion);
        match per_criterion.iter_mut().find(|m| m.label == label) {
            Some(m) => m.add(e.outcome),
            None => {
                let mut m = OutcomeMix {
                    label: label.to_string(),
                    ..Default::default()
                };
                m.add(e.outcome);
                per_criterion.push(m);
            }
        }
    }
    per_criterion.sort_by(|a, b| b.total.cmp(&a.total).then(a.label.cmp(&b.label)));

    let severity: Vec<&ClosedEscalation> = closed
        .iter()
        .filter(|e| e.criterion == "severity" && e.severity_at_open.is_some())
        .collect();
    let needing = severity.iter().filter(|e| e.needed_leadership()).count();
    let mut what_if = Vec::new();
    let mut t = current;
    while t <= 95.0 {
        let (kept, dropped): (Vec<&&ClosedEscalation>, Vec<&&ClosedEscalation>) = severity
            .iter()
            .partition(|e| e.severity_at_open.unwrap_or(0.0) >= t);
        what_if.push(WhatIf {
            threshold: t,
            escalations: kept.len() as u32,
            fewer: dropped.len() as u32,
            fewer_without_leadership: dropped.iter().filter(|e| !e.needed_leadership()).count()
                as u32,
            fewer_needing_leadership: dropped.iter().filter(|e| e.needed_leadership()).count()
                as u32,
        });
        t += 5.0;
    }
    let acceptable = |w: &&WhatIf| {
        w.threshold > current
            && w.fewer_without_leadership > 0
            && (w.fewer_needing_leadership as f64) <= TOLERATED_LOSS * needing as f64
    };
    let best = what_if
        .iter()
        .filter(acceptable)
        .max_by(|a, b| a.threshold.total_cmp(&b.threshold));
    let (suggested_threshold, suggestion) = match best {
        Some(w) => (
            Some(w.threshold),
            format!(
                "Raise the severity threshold to {:.0}: {} fewer escalations, {} of them resolved without leadership or handed back, {} of {} that needed leadership.",
                w.threshold, w.fewer, w.fewer_without_leadership, w.fewer_needing_leadership, needing
            ),
        ),
        None if severity.is_empty() => (
            None,
            "No closed severity escalations yet: nothing to learn from.".to_string(),
        ),
        None => (
            None,
            format!(
                "Keep {current:.0}: a higher threshold would drop more than {:.0} % of the escalations that needed leadership.",
                TOLERATED_LOSS * 100.0
            ),
        ),
    };
    Refinement {
        summary,
        per_criterion,
        current_threshold: current,
        what_if,
        suggested_threshold,
        suggestion,
    }
}

type Row = (
    String,
    Option<f64>,
    EscalationOutcome,
    i64,
    Option<i64>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// The report over every closed escalation in the store.
pub async fn report(store: &crate::Store) -> Result<Refinement> {
    let pool = store.pool();
    let current = super::criteria(store).await?.severity_threshold;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT criterion, severity_at_open, outcome, arr_at_open_minor, arr_retained_minor, opened_at, closed_at \
         FROM escalations WHERE closed_at IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    let closed: Vec<ClosedEscalation> = rows
        .into_iter()
        .map(
            |(criterion, severity, outcome, arr, retained, opened, closed)| ClosedEscalation {
                criterion,
                severity_at_open: severity,
                outcome,
                arr_at_open_minor: arr,
                arr_retained_minor: retained,
                days_to_resolution: (closed - opened).num_days().max(0),
            },
        )
        .collect();
    Ok(refine(&closed, current))
}

#[cfg(test)]
mod tests {
    use super::*;
    use EscalationOutcome::*;

    fn e(severity: f64, outcome: EscalationOutcome, days: i64) -> ClosedEscalation {
        ClosedEscalation {
            criterion: "severity".into(),
            severity_at_open: Some(severity),
            outcome,
            arr_at_open_minor: 100_000_00,
            arr_retained_minor: match outcome {
                Saved => Some(100_000_00),
                Downsell => Some(60_000_00),
                Churned => Some(0),
                _ => None,
            },
            days_to_resolution: days,
        }
    }

    #[test]
    fn the_what_if_has_known_answers_and_suggests_the_highest_safe_threshold() {
        let closed = vec![
            e(52.0, Resolved, 5),
            e(55.0, Resolved, 9),
            e(58.0, DeEscalated, 2),
            e(61.0, Saved, 30),
            e(64.0, Resolved, 12),
            e(70.0, Saved, 41),
            e(75.0, Churned, 60),
            e(80.0, Downsell, 35),
            e(85.0, Saved, 21),
            e(90.0, Saved, 18),
            ClosedEscalation {
                criterion: "manual".into(),
                severity_at_open: Some(30.0),
                ..e(30.0, Saved, 10)
            },
        ];
        let r = refine(&closed, 50.0);
        let at = |t: f64| {
            r.what_if
                .iter()
                .find(|w| w.threshold == t)
                .cloned()
                .expect("threshold")
        };
        assert_eq!(
            at(60.0),
            WhatIf {
                threshold: 60.0,
                escalations: 7,
                fewer: 3,
                fewer_without_leadership: 3,
                fewer_needing_leadership: 0
            }
        );
        assert_eq!(
            at(65.0),
            WhatIf {
                threshold: 65.0,
                escalations: 5,
                fewer: 5,
                fewer_without_leadership: 4,
                fewer_needing_leadership: 1
            }
        );
        assert_eq!(at(50.0).fewer, 0);
        // 65 would drop 1 of the 6 that needed leadership (17 % > 10 %): 60 is the answer.
        assert_eq!(r.suggested_threshold, Some(60.0));
        assert!(
            r.suggestion
                .starts_with("Raise the severity threshold to 60: 3 fewer escalations"),
            "{}",
            r.suggestion
        );

        // Outcome math: de-escalations are not ARR at stake; downsell keeps 60 %.
        let s = &r.summary;
        assert_eq!(
            (s.mix.total, s.mix.saved, s.mix.resolved, s.mix.de_escalated),
            (11, 5, 3, 1)
        );
        assert_eq!(s.arr_at_stake_minor, 10 * 100_000_00);
        assert_eq!(
            s.arr_lost_minor,
            100_000_00 + 40_000_00,
            "one churn and one downsell"
        );
        assert_eq!(
            s.arr_retained_minor,
            s.arr_at_stake_minor - s.arr_lost_minor
        );
        assert_eq!(s.median_days_to_resolution, Some(18.0));
        assert_eq!(r.per_criterion[0].label, "Severity over threshold");
        assert_eq!(r.per_criterion[1].label, "Escalated by hand");
    }

    #[test]
    fn with_nothing_safe_to_drop_it_says_keep() {
        let r = refine(&[e(52.0, Saved, 3), e(70.0, Saved, 3)], 50.0);
        assert_eq!(r.suggested_threshold, None);
        assert!(r.suggestion.starts_with("Keep 50"), "{}", r.suggestion);
        assert!(refine(&[], 50.0)
            .suggestion
            .starts_with("No closed severity escalations"));
    }
}
