//! Renewal triage: the accounts renewing in a window, grouped (at risk, NPS detractors,
//! medium risk, upsell candidates, healthy) and put in one work order — revenue at stake
//! and urgency first, each account once, with the reason for its position.

use crate::Store;
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::money::format_usd;
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

    /// Where the group's renewals stand in the work order: risk conversations, then
    /// expansion, then routine renewals.
    fn tier(self, settings: &TriageSettings) -> u8 {
        match self {
            TriageGroup::Upsell if settings.upsell_with_risk => 0,
            TriageGroup::Upsell => 1,
            TriageGroup::Healthy => 2,
            _ => 0,
        }
    }
}

/// How triage orders groups against each other: by default every renewal with risk comes
/// before any upsell candidate; with `upsell_with_risk` an upsell's expected expansion
/// competes with the revenue at stake of the risk groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TriageSettings {
    pub upsell_with_risk: bool,
}

const SETTINGS_KEY: &str = "triage";

pub async fn settings(pool: &SqlitePool) -> Result<TriageSettings> {
    crate::config::get(pool, SETTINGS_KEY).await
}

pub async fn save_settings(store: &crate::Store, s: &TriageSettings) -> Result<()> {
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SETTINGS_KEY, s).await?;
    Ok(tx.commit().await?)
}

/// The expansion a healthy account may bring, and what it is read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// Base currency, major units.
    pub value: f64,
    pub why: String,
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
    /// 0–100.
    pub severity_score: f64,
    /// An active NPS-detractor signal.
    pub detractor: bool,
    /// Healthy with seats nearly full or high expansion potential: what it may bring.
    pub upsell: Option<Expansion>,
    /// No health score (not enough data): never counted healthy.
    pub unscored: bool,
    /// What makes the account a risk, worst first (its active signals, or its health).
    pub causes: Vec<String>,
}

impl TriageInput {
    /// Every group the account belongs to, in claim order; Healthy only when no other.
    /// Membership comes from the account's state (severity, signals, health), never from
    /// which CTAs rules happened to open.
    pub fn groups(&self) -> Vec<TriageGroup> {
        let mut g = Vec::new();
        if self.severity == Level::High {
            g.push(TriageGroup::AtRisk);
        }
        if self.detractor {
            g.push(TriageGroup::Detractor);
        }
        if self.severity == Level::Medium {
            g.push(TriageGroup::MediumRisk);
        }
        if self.upsell.is_some() && self.severity == Level::Low {
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

/// The least a detractor's renewal is taken to be in doubt, however mild its severity:
/// an unhappy customer is a risk to the renewal conversation itself.
const DETRACTOR_LIKELIHOOD: f64 = 0.3;
/// How likely a renewal with unknown health is to be lost: a conversation to have.
const UNSCORED_LIKELIHOOD: f64 = 0.3;

/// How likely the renewal is lost, and why that figure.
fn likelihood(group: TriageGroup, i: &TriageInput) -> Option<(f64, String)> {
    let from_severity = (i.severity_score / 100.0).clamp(0.05, 1.0);
    match group {
        TriageGroup::AtRisk | TriageGroup::MediumRisk => Some((
            from_severity,
            format!("severity {}", crate::severity::whole(i.severity_score)),
        )),
        TriageGroup::Detractor if from_severity >= DETRACTOR_LIKELIHOOD => Some((
            from_severity,
            format!("severity {}", crate::severity::whole(i.severity_score)),
        )),
        TriageGroup::Detractor => Some((
            DETRACTOR_LIKELIHOOD,
            format!(
                "a detractor, at least {:.0} %",
                DETRACTOR_LIKELIHOOD * 100.0
            ),
        )),
        TriageGroup::Unscored => Some((UNSCORED_LIKELIHOOD, "health unknown".to_string())),
        TriageGroup::Upsell | TriageGroup::Healthy => None,
    }
}

/// Where the worklist puts an account among the same renewals, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistPlace {
    /// The worklist's priority points.
    pub points: f64,
    pub at_risk: bool,
    /// How the points were reached ("severity 76 × revenue 1.4 × …").
    pub how: String,
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
    /// How likely the renewal is lost (risk groups), 0–1.
    pub likelihood: Option<f64>,
    /// Revenue at stake (risk groups) or expected expansion (upsell), base currency.
    pub value: f64,
    /// What the order sorts by: `value` × urgency.
    pub score: f64,
    pub causes: Vec<String>,
    /// How the value was reached ("… ARR × 57 % likely lost (severity 57) = … at stake").
    pub basis: String,
    /// The whole story in one line: position, group, causes, basis, renewal.
    pub reason: String,
    /// Its place among the same renewals in the worklist's order, when ranked there.
    pub worklist_position: Option<u32>,
    /// Why the worklist places it elsewhere, when it does.
    pub worklist_note: Option<String>,
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
    pub settings: TriageSettings,
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

/// Groups and orders renewals. A risk renewal's value is its ARR × how likely it is lost
/// (its severity); an upsell's is the expansion it may bring; either is weighed by urgency,
/// which runs from 2 (renewing at the window's start) down to 1 (at its end). Risk
/// renewals come before upsells unless `settings` says otherwise; healthy ones come last.
pub fn triage(
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    inputs: Vec<TriageInput>,
    settings: &TriageSettings,
) -> Triage {
    let span = (to - from).num_days().max(1) as f64;
    let start = (from - today).num_days().max(0) as f64;
    let mut items: Vec<(TriageItem, String)> = inputs
        .into_iter()
        .map(|i| {
            let groups = i.groups();
            let group = groups[0];
            let into_window = (i.days_to_renewal as f64 - start).clamp(0.0, span);
            let urgency = 2.0 - into_window / span;
            let likely = likelihood(group, &i);
            let (value, basis) = match (&likely, group, &i.upsell) {
                (Some((p, why)), _, _) => (
                    i.arr.max(0.0) * p,
                    format!(
                        "{} ARR × {:.0} % likely lost ({why}) = {} at stake",
                        format_usd(i.arr),
                        p * 100.0,
                        format_usd(i.arr.max(0.0) * p)
                    ),
                ),
                (None, TriageGroup::Upsell, Some(e)) => (
                    e.value,
                    format!(
                        "{}: ~{} expansion on {} ARR",
                        e.why,
                        format_usd(e.value),
                        format_usd(i.arr)
                    ),
                ),
                _ => (0.0, format!("no open risk; {} ARR", format_usd(i.arr))),
            };
            let item = TriageItem {
                position: 0,
                account_id: i.account_id,
                name: i.name,
                group,
                also: groups[1..].to_vec(),
                arr: i.arr,
                days_to_renewal: i.days_to_renewal,
                likelihood: likely.map(|(p, _)| p),
                value,
                score: value * urgency,
                causes: i.causes,
                basis: String::new(),
                reason: String::new(),
                worklist_position: None,
                worklist_note: None,
            };
            (item, basis)
        })
        .collect();
    items.sort_by(|(a, _), (b, _)| {
        a.group
            .tier(settings)
            .cmp(&b.group.tier(settings))
            .then(b.score.total_cmp(&a.score))
            .then(b.arr.total_cmp(&a.arr))
            .then(a.days_to_renewal.cmp(&b.days_to_renewal))
            .then(a.name.cmp(&b.name))
    });
    let items: Vec<TriageItem> = items
        .into_iter()
        .enumerate()
        .map(|(n, (mut item, basis))| {
            item.position = n as u32 + 1;
            let also = if item.also.is_empty() {
                String::new()
            } else {
                let list: Vec<&str> = item.also.iter().map(|g| g.label()).collect();
                format!(" (also {})", list.join(", "))
            };
            let causes = if item.causes.is_empty() || item.group == TriageGroup::Healthy {
                String::new()
            } else {
                format!(" — {}", item.causes.join(", "))
            };
            let when = if item.days_to_renewal < 0 {
                format!("renewal {} days overdue", -item.days_to_renewal)
            } else {
                format!("renews in {} days", item.days_to_renewal)
            };
            item.reason = format!(
                "{}: {}{}{causes}; {basis}; {when}",
                ordinal(item.position),
                item.group.label(),
                also,
            );
            item.basis = basis;
            item
        })
        .collect();
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
        settings: settings.clone(),
        groups,
        order: items,
    }
}

/// Places each renewal in the worklist's order among the same renewals (at risk first,
/// then priority points) and, where that differs from triage, says why.
pub fn compare_with_worklist(
    t: &mut Triage,
    places: &std::collections::HashMap<String, WorklistPlace>,
) {
    let mut ranked: Vec<(&str, &WorklistPlace)> = t
        .order
        .iter()
        .filter_map(|i| {
            places
                .get(&i.account_id)
                .map(|p| (i.account_id.as_str(), p))
        })
        .collect();
    ranked.sort_by(|(a_id, a), (b_id, b)| {
        b.at_risk
            .cmp(&a.at_risk)
            .then(b.points.total_cmp(&a.points))
            .then(a_id.cmp(b_id))
    });
    let position: std::collections::HashMap<String, u32> = ranked
        .iter()
        .enumerate()
        .map(|(n, (id, _))| (id.to_string(), n as u32 + 1))
        .collect();
    for item in &mut t.order {
        let (Some(&pos), Some(place)) =
            (position.get(&item.account_id), places.get(&item.account_id))
        else {
            continue;
        };
        item.worklist_position = Some(pos);
        if pos != item.position {
            item.worklist_note = Some(format!(
                "The worklist has it {} of these renewals: {}{}; it weighs severity over revenue at stake.",
                ordinal(pos),
                if place.at_risk { "" } else { "no open risk there, " },
                place.how
            ));
        }
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

/// The worklist's view of the renewals: points, open risk and how the points were made.
async fn worklist_places(
    store: &Store,
    ids: &[String],
    today: NaiveDate,
) -> Result<std::collections::HashMap<String, WorklistPlace>> {
    let mut places = std::collections::HashMap::new();
    let mut explained = crate::priority::explained(store, ids, today).await?;
    for chunk in ids.chunks(5_000) {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT a.id, p.score, p.at_risk FROM accounts a CROSS JOIN account_priority p ON p.account = a.rowid WHERE a.id",
        );
        crate::store::in_list(&mut qb, chunk);
        let rows: Vec<(String, f64, bool)> = qb.build_query_as().fetch_all(store.pool()).await?;
        for (id, points, at_risk) in rows {
            let how = explained
                .remove(&id)
                .map(|p| {
                    let parts: Vec<String> = p
                        .explanation
                        .factors
                        .iter()
                        .filter(|f| f.factor == "Severity" || (f.multiplier - 1.0).abs() > 1e-9)
                        .map(|f| {
                            if f.factor == "Severity" {
                                format!("severity {}", f.input)
                            } else {
                                format!("{} ×{:.2}", f.factor.to_lowercase(), f.multiplier)
                            }
                        })
                        .collect();
                    format!("{} → {points:.0} points", parts.join(", "))
                })
                .unwrap_or_else(|| format!("{points:.0} points"));
            places.insert(
                id,
                WorklistPlace {
                    points,
                    at_risk,
                    how,
                },
            );
        }
    }
    Ok(places)
}

/// A signal's summary, short enough for a list of causes.
fn short_cause(summary: &str) -> String {
    let cut = summary
        .find(": “")
        .or_else(|| summary.find("; "))
        .unwrap_or(summary.len());
    summary[..cut].trim().to_string()
}

/// At most this many causes per row, worst first.
const MAX_CAUSES: usize = 3;

type Row = (
    String,
    String,
    i64,
    NaiveDate,
    Option<Level>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
);

/// Triage of the accounts renewing between `from` and `to` (inclusive), optionally of one
/// owner's or team's book.
pub async fn renewals(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
    owner_ids: Option<&[String]>,
    today: NaiveDate,
) -> Result<Triage> {
    let pool = store.pool();
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT a.id, a.name, a.arr_base_minor, a.renewal_date, h.severity_level, h.severity_score, h.score, h.band, \
         u.latest_active_users, u.latest_licensed_seats, a.expansion_potential \
         FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid \
         LEFT JOIN usage_packed u ON u.account = a.rowid \
         WHERE a.renewal_date BETWEEN ",
    );
    qb.push_bind(from).push(" AND ").push_bind(to);
    if let Some(owners) = owner_ids {
        qb.push(" AND a.owner_id");
        crate::store::in_list(&mut qb, owners);
    }
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    // Active signals of the renewals, worst first: the causes each row names.
    let mut signals: std::collections::HashMap<String, Vec<(String, String)>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(5_000) {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT account_id, kind, summary FROM signals WHERE cleared_at IS NULL AND account_id",
        );
        crate::store::in_list(&mut qb, chunk);
        qb.push(" ORDER BY account_id, CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, detected_at");
        let found: Vec<(String, String, String)> = qb.build_query_as().fetch_all(pool).await?;
        for (id, kind, summary) in found {
            let summary = match kind.parse() {
                Ok(k) => crate::signals::render(k, &summary, today),
                Err(_) => summary,
            };
            signals.entry(id).or_default().push((kind, summary));
        }
    }
    let inputs = rows
        .into_iter()
        .map(
            |(
                id,
                name,
                arr_minor,
                renewal,
                level,
                severity,
                health,
                band,
                active,
                seats,
                expansion,
            )| {
                let arr = arr_minor as f64 / 100.0;
                let healthy = health.is_some_and(|h| h >= 70.0);
                let own = signals.remove(&id).unwrap_or_default();
                let detractor = own.iter().any(|(k, _)| k == "nps_detractor");
                let mut causes: Vec<String> = own
                    .iter()
                    .map(|(_, s)| short_cause(s))
                    .take(MAX_CAUSES)
                    .collect();
                if own.len() > MAX_CAUSES {
                    causes.push(format!("{} more signals", own.len() - MAX_CAUSES));
                }
                if causes.is_empty() {
                    if let (Some(h), Some(b)) = (health, band.as_deref()) {
                        if !healthy {
                            causes.push(format!("health {h:.0} ({b})"));
                        }
                    }
                }
                let upsell = healthy
                    .then(|| expansion_of(arr, active, seats, &expansion))
                    .flatten();
                TriageInput {
                    account_id: id,
                    name,
                    arr,
                    days_to_renewal: (renewal - today).num_days(),
                    severity: level.unwrap_or(Level::Low),
                    severity_score: severity.unwrap_or(0.0),
                    detractor,
                    upsell,
                    unscored: health.is_none(),
                    causes,
                }
            },
        )
        .collect();
    let settings = settings(pool).await?;
    let mut t = triage(today, from, to, inputs, &settings);
    let places = worklist_places(store, &ids, today).await?;
    compare_with_worklist(&mut t, &places);
    Ok(t)
}

/// The expansion a healthy account may bring: users beyond its seats priced at its own
/// seat price, the next block of seats when they are nearly full, or a share of ARR for a
/// high expansion potential; the largest, with what it came from.
pub fn expansion_of(
    arr: f64,
    active: Option<i64>,
    seats: Option<i64>,
    potential: &str,
) -> Option<Expansion> {
    let mut found: Vec<Expansion> = Vec::new();
    if let (Some(active), Some(seats)) = (active, seats.filter(|s| *s > 0)) {
        let per_seat = arr / seats as f64;
        if active > seats {
            found.push(Expansion {
                value: (active - seats) as f64 * per_seat,
                why: format!("{} users over {seats} seats", active - seats),
            });
        } else if active as f64 >= 0.9 * seats as f64 {
            found.push(Expansion {
                value: 0.1 * arr,
                why: format!("seats {:.0} % used", active as f64 * 100.0 / seats as f64),
            });
        }
    }
    if potential == "high" {
        found.push(Expansion {
            value: 0.2 * arr,
            why: "high expansion potential".into(),
        });
    }
    found.into_iter().max_by(|a, b| a.value.total_cmp(&b.value))
}

#[cfg(test)]
mod tests;
