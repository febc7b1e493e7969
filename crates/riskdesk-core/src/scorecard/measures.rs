//! Raw values of the measures, read from an account's facts. Each comes with how a
//! person reads it and the data behind it, so a score can explain itself.

use chrono::NaiveDate;

use super::{AccountFacts, MeasureKind};
use crate::model::{ContactRole, ContactStatus, Stage};

#[derive(Debug, Clone, PartialEq)]
pub struct RawValue {
    pub value: f64,
    pub display: String,
    pub evidence: String,
}

/// Whether a raw value's words are built. A recompute stores numbers only (the words are
/// built again when the score is read), and formatting them was a tenth of its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    Built,
    Skipped,
}

impl Words {
    fn raw(
        self,
        value: f64,
        display: impl FnOnce() -> String,
        evidence: impl FnOnce() -> String,
    ) -> Option<RawValue> {
        let (display, evidence) = match self {
            Words::Built => (display(), evidence()),
            Words::Skipped => (String::new(), String::new()),
        };
        Some(RawValue {
            value,
            display,
            evidence,
        })
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Average active users of the last 4 weeks against the (up to) 8 weeks before them, in
/// percent; None without 4 weeks of baseline.
pub fn active_user_change(facts: &AccountFacts) -> Option<(f64, f64, f64)> {
    let n = facts.usage.len();
    if n < 8 {
        return None;
    }
    let recent = mean(facts.usage[n - 4..].iter().map(|w| w.active_users as f64))?;
    let baseline = mean(
        facts.usage[n.saturating_sub(super::facts::RECENT_WEEKS)..n - 4]
            .iter()
            .map(|w| w.active_users as f64),
    )?;
    (baseline > 0.0).then(|| ((recent - baseline) / baseline * 100.0, recent, baseline))
}

pub fn raw_value(kind: MeasureKind, facts: &AccountFacts, today: NaiveDate) -> Option<RawValue> {
    raw_value_in(kind, facts, today, Words::Built)
}

pub(crate) fn raw_value_in(
    kind: MeasureKind,
    facts: &AccountFacts,
    today: NaiveDate,
    words: Words,
) -> Option<RawValue> {
    let latest = facts.usage.last();
    match kind {
        MeasureKind::SeatUtilization => {
            let w = latest.filter(|w| w.licensed_seats > 0)?;
            let pct = w.active_users as f64 / w.licensed_seats as f64 * 100.0;
            words.raw(
                pct,
                || format!("{pct:.0} % of {} seats", w.licensed_seats),
                || {
                    format!(
                        "week of {}: {} active users, {} seats",
                        w.week_start, w.active_users, w.licensed_seats
                    )
                },
            )
        }
        MeasureKind::ActiveUserTrend => {
            let (change, recent, baseline) = active_user_change(facts)?;
            words.raw(
                change,
                || if change.abs() < 0.5 { "0 %".to_string() } else { format!("{change:+.0} %") },
                || format!("last 4 weeks average {recent:.1} active users against {baseline:.1} the 8 weeks before"))
        }
        MeasureKind::LoginFrequency => {
            let n = facts.usage.len();
            let weeks = &facts.usage[n.saturating_sub(4)..];
            if weeks.is_empty() {
                return None;
            }
            let users: i64 = weeks.iter().map(|w| w.active_users as i64).sum();
            let logins: i64 = weeks.iter().map(|w| w.logins as i64).sum();
            let per_user = if users > 0 {
                logins as f64 / users as f64
            } else {
                0.0
            };
            words.raw(
                per_user,
                || format!("{per_user:.1} per active user per week"),
                || {
                    format!(
                        "{logins} logins by {users} user-weeks over the last {} weeks",
                        weeks.len()
                    )
                },
            )
        }
        MeasureKind::KeyFeatureAdoption => {
            let w = latest?;
            let v = w.key_feature_adoption as f64;
            words.raw(
                v,
                || format!("{v:.0} %"),
                || format!("week of {}", w.week_start),
            )
        }
        // An account that never had a ticket has no support data: "0 open" would count as
        // a perfect measure for an account whose ticket feed was never connected.
        MeasureKind::OpenTickets | MeasureKind::TicketAge if !facts.has_tickets() => None,
        MeasureKind::OpenTickets => {
            let open: Vec<_> = facts
                .tickets
                .iter()
                .filter(|t| t.resolved_at.is_none())
                .collect();
            let urgent = open
                .iter()
                .filter(|t| {
                    matches!(
                        t.priority,
                        crate::model::TicketPriority::Urgent | crate::model::TicketPriority::High
                    )
                })
                .count();
            words.raw(
                open.len() as f64,
                || format!("{} open", open.len()),
                || format!("{} open, {urgent} of them high or urgent", open.len()),
            )
        }
        MeasureKind::TicketAge => {
            let oldest = facts
                .tickets
                .iter()
                .filter(|t| t.resolved_at.is_none())
                .map(|t| t.opened_at.date_naive())
                .min();
            match oldest {
                None => words.raw(0.0, || "no open tickets".into(), String::new),
                Some(d) => {
                    let days = (today - d).num_days().max(0) as f64;
                    words.raw(
                        days,
                        || format!("{days:.0} days"),
                        || format!("oldest open ticket opened {d}"),
                    )
                }
            }
        }
        MeasureKind::NpsLatest => {
            let r = facts.nps.last()?;
            words.raw(
                r.score as f64,
                || format!("{}", r.score),
                || format!("response of {}", r.responded_on),
            )
        }
        MeasureKind::NpsTrend => {
            let n = facts.nps.len();
            if n < 2 {
                return None;
            }
            let (prev, last) = (&facts.nps[n - 2], &facts.nps[n - 1]);
            let delta = (last.score - prev.score) as f64;
            words.raw(
                delta,
                || format!("{delta:+.0}"),
                || {
                    format!(
                        "{} on {} after {} on {}",
                        last.score, last.responded_on, prev.score, prev.responded_on
                    )
                },
            )
        }
        MeasureKind::Stakeholders => {
            if !facts.has_contacts() {
                return None;
            }
            let filled = |role: ContactRole| {
                facts
                    .contacts
                    .iter()
                    .any(|c| c.role == role && c.status == ContactStatus::Active)
            };
            let missing: Vec<&str> = [
                (ContactRole::Sponsor, "sponsor"),
                (ContactRole::Champion, "champion"),
            ]
            .into_iter()
            .filter(|(r, _)| !filled(*r))
            .map(|(_, n)| n)
            .collect();
            let count = 2 - missing.len();
            words.raw(
                count as f64,
                || format!("{count} of 2"),
                || {
                    if missing.is_empty() {
                        "sponsor and champion active".to_string()
                    } else {
                        format!("no active {}", missing.join(" or "))
                    }
                },
            )
        }
        MeasureKind::OnboardingProgress => {
            if facts.account.stage != Stage::Onboarding {
                return None;
            }
            let days = (today - facts.account.contract_start).num_days().max(0) as f64;
            words.raw(
                days,
                || format!("{days:.0} days in onboarding"),
                || format!("contract started {}", facts.account.contract_start),
            )
        }
        MeasureKind::EngagementRecency => {
            let last = *facts.touches.last()?;
            let days = (today - last.date_naive()).num_days().max(0) as f64;
            words.raw(
                days,
                || format!("{days:.0} days ago"),
                || format!("last touch on {}", last.date_naive()),
            )
        }
        MeasureKind::CsmSentiment => None,
    }
}
