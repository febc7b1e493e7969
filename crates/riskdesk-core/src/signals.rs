//! Risk signals: early-warning signs detected in an account's data, each with a severity
//! and the evidence that triggered it. Thresholds are configuration with defaults.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{ContactRole, ContactStatus, Stage, TicketPriority};
use crate::scorecard::active_user_change;
use crate::scorecard::facts::{AccountFacts, RECURRING_TICKET_DAYS, RISING_TICKET_DAYS};

pub use crate::model::Level;

crate::model::text_enum!(
    SignalKind {
        UsageDrop => "usage_drop",
        TicketsRising => "tickets_rising",
        SponsorLeft => "sponsor_left",
        ChampionLeft => "champion_left",
        RecurringIssues => "recurring_issues",
        NpsDetractor => "nps_detractor",
        ImplementationDelay => "implementation_delay",
        HealthDrop => "health_drop",
        RenewalAtRisk => "renewal_at_risk",
    }
);

impl SignalKind {
    pub fn label(self) -> &'static str {
        match self {
            SignalKind::UsageDrop => "Usage drop",
            SignalKind::TicketsRising => "Unresolved tickets rising",
            SignalKind::SponsorLeft => "Sponsor left",
            SignalKind::ChampionLeft => "Champion left",
            SignalKind::RecurringIssues => "Recurring product issues",
            SignalKind::NpsDetractor => "NPS detractor",
            SignalKind::ImplementationDelay => "Implementation delay",
            SignalKind::HealthDrop => "Health drop",
            SignalKind::RenewalAtRisk => "Renewal near with poor health",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SignalThresholds {
    /// Active users of the last 4 weeks at least this % below the 8 weeks before.
    pub usage_drop_pct: f64,
    /// Unresolved tickets opened in the last 28 days.
    pub tickets_rising_count: u32,
    /// How far back a sponsor or champion leaving still counts, in days.
    pub stakeholder_lookback_days: u32,
    /// Tickets of one product category within 60 days.
    pub recurring_issue_count: u32,
    /// A detractor response counts for this many days.
    pub detractor_lookback_days: u32,
    /// Not adopted this many days after the original contract date.
    pub implementation_days: u32,
    /// Health down at least this % …
    pub health_drop_pct: f64,
    /// … over this many days.
    pub health_drop_window_days: u32,
    /// Renewal within this many days with health below the top band.
    pub renewal_window_days: u32,
}

impl Default for SignalThresholds {
    fn default() -> Self {
        SignalThresholds {
            usage_drop_pct: 30.0,
            tickets_rising_count: 4,
            stakeholder_lookback_days: 90,
            recurring_issue_count: 3,
            detractor_lookback_days: 90,
            implementation_days: 90,
            health_drop_pct: 20.0,
            health_drop_window_days: 30,
            renewal_window_days: 90,
        }
    }
}

impl SignalThresholds {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, v) in [
            ("usage_drop_pct", self.usage_drop_pct),
            ("health_drop_pct", self.health_drop_pct),
        ] {
            if !(v > 0.0 && v < 100.0) {
                out.push(format!("{name}: {v} is not a percentage between 0 and 100"));
            }
        }
        for (name, v) in [
            ("tickets_rising_count", self.tickets_rising_count),
            ("stakeholder_lookback_days", self.stakeholder_lookback_days),
            ("recurring_issue_count", self.recurring_issue_count),
            ("detractor_lookback_days", self.detractor_lookback_days),
            ("implementation_days", self.implementation_days),
            ("health_drop_window_days", self.health_drop_window_days),
            ("renewal_window_days", self.renewal_window_days),
        ] {
            if v == 0 {
                out.push(format!("{name}: must be at least 1"));
            }
        }
        // Scoring keeps this many days of recent scores per account.
        let recent = crate::scorecard::facts::RECENT_DAYS as u32;
        if self.health_drop_window_days > recent {
            out.push(format!(
                "health_drop_window_days: {} is longer than the {recent} days of recent scores kept",
                self.health_drop_window_days
            ));
        }
        out
    }
}

/// A signal as detected now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Detected {
    pub kind: SignalKind,
    pub severity: Level,
    pub summary: String,
    pub evidence: Vec<String>,
}

/// The kinds whose words count days from a date ("Renews in 45 days"). They are stored
/// with the date in place of the count (`{until:2027-01-18}`, `{since:2026-08-06}`) and
/// [`render`]ed when read, so the passing of a day rewrites none of them (at 100K accounts
/// ~29K signals a day were rewritten for their count alone).
const COUNTING: [SignalKind; 4] = [
    SignalKind::RenewalAtRisk,
    SignalKind::ImplementationDelay,
    SignalKind::SponsorLeft,
    SignalKind::ChampionLeft,
];

/// A stored signal's summary or evidence line as read on `on`: each day-counting place of
/// a [`COUNTING`] kind becomes its number of days. Other kinds' words (which may quote a
/// customer) are returned as stored.
pub fn render(kind: SignalKind, text: &str, on: NaiveDate) -> String {
    if !COUNTING.contains(&kind) || !text.contains('{') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let counted = tail.find('}').and_then(|end| {
            let (way, day) = tail[1..end].split_once(':')?;
            let day: NaiveDate = day.parse().ok()?;
            let days = match way {
                "until" => (day - on).num_days(),
                "since" => (on - day).num_days(),
                _ => return None,
            };
            Some((days, end))
        });
        match counted {
            Some((days, end)) => {
                out.push_str(&days.to_string());
                rest = &tail[end + 1..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whole days from `d` to `today` (negative for a day after it).
fn days_ago(today: NaiveDate, d: NaiveDate) -> i64 {
    (today - d).num_days()
}

/// A signal is High when it is well past its threshold, else Medium.
fn high_if(well_past: bool) -> Level {
    if well_past {
        Level::High
    } else {
        Level::Medium
    }
}

fn detected(kind: SignalKind, severity: Level, summary: String, evidence: Vec<String>) -> Detected {
    Detected {
        kind,
        severity,
        summary,
        evidence,
    }
}

/// Product-side ticket categories: the ones that repeat when the product falls short.
const PRODUCT_CATEGORIES: [&str; 3] = ["Bug", "Performance", "Integration"];

/// Whether a signal may quote `ticket` (its external id and subject) in its evidence on
/// `day` or any later day, the ticket unchanged: the rising-tickets signal quotes the
/// unresolved ones of its window, recurring issues the product-side ones of its. Windows
/// only move past a ticket, so one not quoted on `day` never is later (the feed summary
/// keeps no words of the others).
pub(crate) fn may_quote(ticket: &crate::model::Ticket, day: NaiveDate) -> bool {
    let age = days_ago(day, ticket.opened_at.date_naive());
    (ticket.resolved_at.is_none() && age <= RISING_TICKET_DAYS) || reads_category(ticket, day)
}

/// Whether a signal reads `ticket`'s category on `day` or any later day: recurring issues
/// groups the product-side tickets of its window by it; no other signal or measure reads
/// it (the feed summary keeps no other).
pub(crate) fn reads_category(ticket: &crate::model::Ticket, day: NaiveDate) -> bool {
    days_ago(day, ticket.opened_at.date_naive()) <= RECURRING_TICKET_DAYS
        && PRODUCT_CATEGORIES.contains(&ticket.category.as_str())
}

/// A response at or below this is a detractor's.
const DETRACTOR_AT_MOST: i32 = 6;

/// Whether a signal may quote `response`'s comment: the detractor signal quotes a
/// detractor's (the feed summary keeps no other comment).
pub(crate) fn may_quote_response(response: &crate::model::NpsResponse) -> bool {
    response.score <= DETRACTOR_AT_MOST
}

/// Every signal the facts show today, one rule each below, in this order. `health` is
/// today's score and `band` today's band: its position (0 = worst), how many there are,
/// its name.
pub fn detect(
    facts: &AccountFacts,
    today: NaiveDate,
    health: Option<f64>,
    band: Option<(usize, usize, &str)>,
    t: &SignalThresholds,
) -> Vec<Detected> {
    let mut out = Vec::new();
    usage_drop(&mut out, facts, t);
    tickets_rising(&mut out, facts, today, t);
    stakeholders_left(&mut out, facts, today, t);
    recurring_issues(&mut out, facts, today, t);
    nps_detractor(&mut out, facts, today, t);
    implementation_delay(&mut out, facts, today, t);
    health_drop(&mut out, facts, today, health, t);
    renewal_at_risk(&mut out, facts, today, band, t);
    out
}

/// Active users down against their trailing baseline.
fn usage_drop(out: &mut Vec<Detected>, facts: &AccountFacts, t: &SignalThresholds) {
    if let Some((change, recent, baseline)) = active_user_change(facts) {
        if -change >= t.usage_drop_pct {
            let severity = high_if(-change >= t.usage_drop_pct * 1.6);
            out.push(detected(
                SignalKind::UsageDrop,
                severity,
                format!(
                    "Active users down {:.0} % against the trailing baseline",
                    -change
                ),
                vec![
                    format!("last 4 weeks: {recent:.1} active users on average"),
                    format!("8 weeks before: {baseline:.1}"),
                ],
            ));
        }
    }
}

/// Unresolved tickets opened in the last 28 days, past the threshold.
fn tickets_rising(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    t: &SignalThresholds,
) {
    let recent_open: Vec<_> = facts
        .tickets
        .iter()
        .filter(|tk| {
            tk.resolved_at.is_none()
                && days_ago(today, tk.opened_at.date_naive()) <= RISING_TICKET_DAYS
        })
        .collect();
    if recent_open.len() as u32 >= t.tickets_rising_count {
        let urgent = recent_open
            .iter()
            .filter(|tk| tk.priority == TicketPriority::Urgent)
            .count();
        let severity =
            high_if(urgent > 0 || recent_open.len() as u32 >= t.tickets_rising_count * 2);
        out.push(detected(
            SignalKind::TicketsRising,
            severity,
            format!(
                "{} unresolved tickets opened in the last 28 days",
                recent_open.len()
            ),
            recent_open
                .iter()
                .take(6)
                .map(|tk| {
                    format!(
                        "{} {} ({}, {})",
                        tk.external_id.as_deref().unwrap_or("ticket"),
                        tk.subject,
                        tk.priority,
                        tk.opened_at.date_naive()
                    )
                })
                .collect(),
        ));
    }
}

/// A sponsor or champion who left within the lookback, with no active one named.
fn stakeholders_left(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    t: &SignalThresholds,
) {
    for (role, kind, severity) in [
        (ContactRole::Sponsor, SignalKind::SponsorLeft, Level::High),
        (
            ContactRole::Champion,
            SignalKind::ChampionLeft,
            Level::Medium,
        ),
    ] {
        let active = facts
            .contacts
            .iter()
            .any(|c| c.role == role && c.status == ContactStatus::Active);
        let left = facts
            .contacts
            .iter()
            .filter(|c| c.role == role && c.status == ContactStatus::Left)
            .filter_map(|c| c.left_on.map(|d| (c, d)))
            .filter(|(_, d)| days_ago(today, *d) <= t.stakeholder_lookback_days as i64)
            .max_by_key(|(_, d)| *d);
        if let (false, Some((c, d))) = (active, left) {
            out.push(detected(
                kind,
                severity,
                format!(
                    "{} ({}) left on {d}; no active {role} named",
                    c.name, c.title
                ),
                vec![format!("{} {} left {{since:{d}}} days ago", role, c.name)],
            ));
        }
    }
}

/// The product category with the most tickets in 60 days, past the threshold.
fn recurring_issues(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    t: &SignalThresholds,
) {
    let mut by_category: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for tk in facts.tickets.iter().filter(|tk| {
        days_ago(today, tk.opened_at.date_naive()) <= RECURRING_TICKET_DAYS
            && PRODUCT_CATEGORIES.contains(&tk.category.as_str())
    }) {
        by_category
            .entry(tk.category.as_str())
            .or_default()
            .push(tk);
    }
    if let Some((category, list)) = by_category.into_iter().max_by_key(|(_, l)| l.len()) {
        if list.len() as u32 >= t.recurring_issue_count {
            let severity = high_if(list.len() as u32 >= t.recurring_issue_count * 2);
            out.push(detected(
                SignalKind::RecurringIssues,
                severity,
                format!("{} {category} tickets in 60 days", list.len()),
                list.iter()
                    .take(6)
                    .map(|tk| {
                        format!(
                            "{} {} ({})",
                            tk.external_id.as_deref().unwrap_or("ticket"),
                            tk.subject,
                            tk.opened_at.date_naive()
                        )
                    })
                    .collect(),
            ));
        }
    }
}

/// The latest NPS response a detractor's, within the lookback.
fn nps_detractor(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    t: &SignalThresholds,
) {
    if let Some(r) = facts.nps.last().filter(|r| {
        may_quote_response(r) && days_ago(today, r.responded_on) <= t.detractor_lookback_days as i64
    }) {
        let severity = high_if(r.score <= 3);
        let comment = if r.comment.is_empty() {
            String::new()
        } else {
            format!(": “{}”", r.comment)
        };
        out.push(detected(
            SignalKind::NpsDetractor,
            severity,
            format!("NPS {} on {}{comment}", r.score, r.responded_on),
            vec![format!("score {} (0–6 is a detractor)", r.score)],
        ));
    }
}

/// Not adopted long after the contract date.
fn implementation_delay(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    t: &SignalThresholds,
) {
    let since_contract = days_ago(today, facts.account.contract_start);
    // Not adopted: no adoption day (the recompute records it from usage before signals
    // run), and usage data that could have shown one.
    // A first-term account that reaches its renewal window unadopted still counts.
    let first_term =
        facts.account.renewal_date <= facts.account.contract_start + chrono::Duration::days(400);
    let not_adopted = facts.adopted_on.is_none_or(|d| d > today)
        && (facts.account.stage == Stage::Onboarding
            || (facts.account.stage == Stage::Renewal && first_term))
        && facts.any_seats_by(today);
    if not_adopted && since_contract >= t.implementation_days as i64 {
        let severity = high_if(since_contract >= t.implementation_days as i64 + 30);
        out.push(detected(
            SignalKind::ImplementationDelay,
            severity,
            format!(
                "Not adopted {{since:{}}} days after the contract date",
                facts.account.contract_start
            ),
            vec![
                format!("original contract date {}", facts.account.contract_start),
                format!("expected adopted within {} days", t.implementation_days),
            ],
        ));
    }
}

/// Today's score well below the first one in the window.
fn health_drop(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    health: Option<f64>,
    t: &SignalThresholds,
) {
    if let Some(now) = health {
        let window_start = today - chrono::Duration::days(t.health_drop_window_days as i64);
        if let Some((day, before)) = facts
            .history
            .iter()
            .find(|(d, _)| *d >= window_start && *d < today)
        {
            let drop = (before - now) / before * 100.0;
            if *before > 0.0 && drop >= t.health_drop_pct {
                let severity = high_if(drop >= t.health_drop_pct * 1.75);
                out.push(detected(
                    SignalKind::HealthDrop,
                    severity,
                    format!("Health down {drop:.0} % since {day}"),
                    vec![format!("{before:.0} on {day}, {now:.0} today")],
                ));
            }
        }
    }
}

/// Renewing soon from a band below the best.
fn renewal_at_risk(
    out: &mut Vec<Detected>,
    facts: &AccountFacts,
    today: NaiveDate,
    band: Option<(usize, usize, &str)>,
    t: &SignalThresholds,
) {
    if let Some((rank, count, name)) = band {
        let days = (facts.account.renewal_date - today).num_days();
        if days <= t.renewal_window_days as i64 && rank + 1 < count {
            let severity = high_if(rank == 0);
            out.push(detected(
                SignalKind::RenewalAtRisk,
                severity,
                format!(
                    "Renews in {{until:{}}} days with {name} health",
                    facts.account.renewal_date
                ),
                vec![format!("renewal date {}", facts.account.renewal_date)],
            ));
        }
    }
}

#[cfg(test)]
mod tests;
