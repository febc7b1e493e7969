//! Renewal triage: the accounts renewing in a window, grouped (at risk, NPS detractors,
//! medium risk, upsell candidates, healthy) and put in one work order — revenue at stake
//! and urgency first, each account once, with the reason for its position.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::signals::Level;
use crate::Result;

crate::model::text_enum!(
    /// Triage groups, in the order an account is claimed by them.
    TriageGroup { AtRisk => "at_risk", Detractor => "detractor", MediumRisk => "medium_risk", Upsell => "upsell", Unscored => "unscored", Healthy => "healthy" }
);

impl TriageGroup {
    pub fn label(self) -> &'static str {
        match self {
            TriageGroup::AtRisk => "at risk",
            TriageGroup::Detractor => "NPS detractor",
            TriageGroup::MediumRisk => "medium risk",
            TriageGroup::Upsell => "upsell candidate",
            TriageGroup::Unscored => "not enough data to score",
            TriageGroup::Healthy => "healthy",
        }
    }

    /// How much of the ARR is at stake in this group's conversation.
    fn stake(self) -> f64 {
        match self {
            TriageGroup::AtRisk => 1.0,
            TriageGroup::Detractor => 0.8,
            TriageGroup::MediumRisk => 0.6,
            TriageGroup::Upsell => 0.45,
            // Unknown health before a renewal is a conversation to have, not a given.
            TriageGroup::Unscored => 0.3,
            TriageGroup::Healthy => 0.1,
        }
    }
}

/// What triage knows of one renewing account.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageInput {
    pub account_id: String,
    pub name: String,
    /// Base currency, major units.
    pub arr: f64,
    pub days_to_renewal: i64,
    pub severity: Level,
    /// A live risk or escalation CTA.
    pub risk_cta: bool,
    pub detractor: bool,
    /// Seats nearly full on a healthy account, or high expansion potential and healthy.
    pub upsell: bool,
    /// No health score (not enough data): never counted healthy.
    pub unscored: bool,
}

impl TriageInput {
    /// Every group the account belongs to, in claim order; Healthy only when no other.
    pub fn groups(&self) -> Vec<TriageGroup> {
        let mut g = Vec::new();
        if self.severity == Level::High || self.risk_cta {
            g.push(TriageGroup::AtRisk);
        }
        if self.detractor {
            g.push(TriageGroup::Detractor);
        }
        if self.severity == Level::Medium {
            g.push(TriageGroup::MediumRisk);
        }
        if self.upsell {
            g.push(TriageGroup::Upsell);
        }
        if g.is_empty() {
            g.push(if self.unscored {
                TriageGroup::Unscored
            } else {
                TriageGroup::Healthy
            });
        }
        g
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TriageItem {
    pub position: u32,
    pub account_id: String,
    pub name: String,
    pub group: TriageGroup,
    /// Other groups it also falls in: handled here, once.
    pub also: Vec<TriageGroup>,
    pub arr: f64,
    pub days_to_renewal: i64,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GroupSummary {
    pub group: TriageGroup,
    pub accounts: u32,
    pub arr: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Triage {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub groups: Vec<GroupSummary>,
    pub order: Vec<TriageItem>,
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Groups and orders renewals: score = ARR × the group's share at stake × urgency, where
/// urgency runs from 2 (renewing at the window's start) down to 1 (at its end); healthy
/// renewals follow all the others.
pub fn triage(
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    inputs: Vec<TriageInput>,
) -> Triage {
    let span = (to - from).num_days().max(1) as f64;
    let start = (from - today).num_days().max(0) as f64;
    let mut items: Vec<TriageItem> = inputs
        .into_iter()
        .map(|i| {
            let groups = i.groups();
            let group = groups[0];
            let into_window = (i.days_to_renewal as f64 - start).clamp(0.0, span);
            let urgency = 2.0 - into_window / span;
            let score = i.arr.max(0.0) * group.stake() * urgency;
            TriageItem {
                position: 0,
                account_id: i.account_id,
                name: i.name,
                group,
                also: groups[1..].to_vec(),
                arr: i.arr,
                days_to_renewal: i.days_to_renewal,
                score,
                reason: String::new(),
            }
        })
        .collect();
    // Healthy renewals are routine: after every renewal that needs a conversation.
    items.sort_by(|a, b| {
        (a.group == TriageGroup::Healthy)
            .cmp(&(b.group == TriageGroup::Healthy))
            .then(b.score.total_cmp(&a.score))
            .then(a.days_to_renewal.cmp(&b.days_to_renewal))
            .then(a.name.cmp(&b.name))
    });
    for (n, item) in items.iter_mut().enumerate() {
        item.position = n as u32 + 1;
        let also = if item.also.is_empty() {
            String::new()
        } else {
            let list: Vec<&str> = item.also.iter().map(|g| g.label()).collect();
            format!(" (also {})", list.join(", "))
        };
        let when = if item.days_to_renewal < 0 {
            format!("renewal {} days overdue", -item.days_to_renewal)
        } else {
            format!("renews in {} days", item.days_to_renewal)
        };
        item.reason = format!(
            "{}: {}{}, {} ARR at {:.0} % stake, {}",
            ordinal(item.position),
            item.group.label(),
            also,
            crate::money::format_minor(item.arr.round() as i64, "USD", 0),
            item.group.stake() * 100.0,
            when
        );
    }
    let groups = TriageGroup::ALL
        .iter()
        .map(|g| GroupSummary {
            group: *g,
            accounts: items.iter().filter(|i| i.group == *g).count() as u32,
            // + 0.0: an empty f64 sum is -0.0, which displays as "-$0".
            arr: items
                .iter()
                .filter(|i| i.group == *g)
                .map(|i| i.arr)
                .sum::<f64>()
                + 0.0,
        })
        .collect();
    Triage {
        from,
        to,
        groups,
        order: items,
    }
}

/// The calendar quarter after the one `today` is in.
pub fn next_quarter(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let q = (today.month0() / 3 + 1) % 4;
    let year = today.year() + i32::from(today.month0() / 3 == 3);
    let from = NaiveDate::from_ymd_opt(year, q * 3 + 1, 1).unwrap_or(today);
    let next = if q == 3 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, q * 3 + 4, 1)
    };
    (from, next.map_or(from, |n| n - Duration::days(1)))
}

type Row = (
    String,
    String,
    i64,
    NaiveDate,
    Option<Level>,
    bool,
    bool,
    Option<f64>,
    Option<f64>,
    String,
);

/// Triage of the accounts renewing between `from` and `to` (inclusive), optionally of one
/// owner's or team's book.
pub async fn renewals(
    pool: &SqlitePool,
    from: NaiveDate,
    to: NaiveDate,
    owner_ids: Option<&[String]>,
    today: NaiveDate,
) -> Result<Triage> {
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT a.id, a.name, a.arr_base_minor, a.renewal_date, h.severity_level, \
         EXISTS (SELECT 1 FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.type IN ('risk', 'escalation')), \
         EXISTS (SELECT 1 FROM signals s WHERE s.account_id = a.id AND s.cleared_at IS NULL AND s.kind = 'nps_detractor'), \
         h.score, \
         (SELECT CAST(u.active_users AS REAL) / NULLIF(u.licensed_seats, 0) FROM usage_weekly u WHERE u.account_id = a.id ORDER BY u.week_start DESC LIMIT 1), \
         a.expansion_potential \
         FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id WHERE a.renewal_date BETWEEN ",
    );
    qb.push_bind(from).push(" AND ").push_bind(to);
    if let Some(owners) = owner_ids {
        qb.push(" AND a.owner_id");
        crate::store::in_list(&mut qb, owners);
    }
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    let inputs = rows
        .into_iter()
        .map(
            |(id, name, arr, renewal, level, risk_cta, detractor, health, seats, expansion)| {
                let healthy = health.is_some_and(|h| h >= 70.0);
                TriageInput {
                    account_id: id,
                    name,
                    arr: arr as f64 / 100.0,
                    days_to_renewal: (renewal - today).num_days(),
                    severity: level.unwrap_or(Level::Low),
                    risk_cta,
                    detractor,
                    upsell: healthy && (seats.is_some_and(|s| s >= 0.9) || expansion == "high"),
                    unscored: health.is_none(),
                }
            },
        )
        .collect();
    Ok(triage(today, from, to, inputs))
}

#[cfg(test)]
mod tests;
