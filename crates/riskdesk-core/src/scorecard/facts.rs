//! Everything scoring and signal detection read about one account (`health::facts`
//! loads it in batches).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::MeasureKind;
use crate::model::{Account, Contact, NpsResponse, Ticket, UsageWeek};

/// The usage weeks the measures read: the last 12 (the active-user trend's 4 against the
/// 8 before them). A whole-book recompute reads no more of an account whose
/// [`UsageSeen`] it keeps.
pub const RECENT_WEEKS: usize = 12;

/// A CSM's override of one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureOverride {
    pub id: String,
    pub measure: MeasureKind,
    pub score: f64,
    pub comment: String,
    pub author_name: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

impl MeasureOverride {
    pub fn is_active(&self, today: NaiveDate) -> bool {
        self.expires_on.is_none_or(|e| today <= e)
    }
}

#[derive(Debug, Clone)]
pub struct AccountFacts {
    pub account: Account,
    pub arr_base_minor: i64,
    /// Oldest week first.
    pub usage: Vec<UsageWeek>,
    /// Oldest first. A whole book's read holds only those a measure or signal reads:
    /// the open ones and those opened in the last [`TICKETS_JUDGED_DAYS`] (see
    /// [`AccountFacts::earlier_tickets`]).
    pub tickets: Vec<Ticket>,
    /// Whether the account has tickets `tickets` leaves out (a whole book's read): it has
    /// support data even when none is listed.
    pub earlier_tickets: bool,
    /// Oldest first.
    pub nps: Vec<NpsResponse>,
    /// In the order they were added. A whole book's read holds only sponsors and
    /// champions, the roles a measure or signal reads (see [`AccountFacts::other_contacts`]).
    pub contacts: Vec<Contact>,
    /// Whether the account has contacts `contacts` leaves out (a whole book's read).
    pub other_contacts: bool,
    /// Calls, meetings, emails, notes and risk updates, oldest first. A whole-book
    /// recompute's read holds only the last (all the measures read), never `as_of`'s.
    pub touches: Vec<DateTime<Utc>>,
    pub overrides: Vec<MeasureOverride>,
    /// Past daily scores, oldest first.
    pub history: Vec<(NaiveDate, f64)>,
    /// The day the account reached its stage and the day it was adopted, when known.
    pub stage_since: Option<NaiveDate>,
    pub adopted_on: Option<NaiveDate>,
    /// The fingerprint of what the last recompute wrote (see `health`).
    pub digest: Option<i64>,
    /// `accounts.rowid`, when read from a store.
    pub row: Option<i64>,
    /// What the whole usage history says about adoption, when kept from an earlier run:
    /// `usage` then holds only the last [`RECENT_WEEKS`] weeks (a whole-book recompute's
    /// read, never `as_of`'s).
    pub usage_seen: Option<UsageSeen>,
    /// Whether `tickets`, `nps` and `contacts` came from the account's kept feed summary
    /// (a whole-book recompute's read, see `health::feed_summary`): `nps` then holds
    /// only the last two responses.
    pub feeds_kept: bool,
}

/// What an account's whole usage says about adoption, as of a day by which every one of
/// its weeks had ended (so later days say the same until the usage changes).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSeen {
    /// The first run of `weeks` consecutive weeks at or above the share: the day it
    /// completed and the weeks' utilizations.
    pub first_run: Option<(NaiveDate, Vec<f64>)>,
    /// The last `weeks` utilizations (of weeks with seats).
    pub tail: Vec<f64>,
    /// Whether any week had licensed seats.
    pub any_seats: bool,
}

/// A week's seat utilization in percent; None without seats.
pub fn utilization(w: &UsageWeek) -> Option<f64> {
    (w.licensed_seats > 0).then(|| w.active_users as f64 / w.licensed_seats as f64 * 100.0)
}

impl UsageSeen {
    /// Reads `usage` (oldest first) as of `today`, by the criteria: at least `pct` % of
    /// seats used for `weeks` consecutive weeks.
    pub fn of(usage: &[UsageWeek], today: NaiveDate, pct: f64, weeks: u32) -> UsageSeen {
        let seen: Vec<f64> = usage
            .iter()
            .filter(|w| w.week_start <= today)
            .filter_map(utilization)
            .collect();
        UsageSeen {
            first_run: first_run(usage, today, pct, weeks),
            tail: seen[seen.len().saturating_sub(weeks as usize)..].to_vec(),
            any_seats: !seen.is_empty(),
        }
    }
}

/// The first run of `weeks` consecutive weeks at or above `pct`, as (the day the run
/// completed, the shares), among weeks up to `today`.
fn first_run(
    usage: &[UsageWeek],
    today: NaiveDate,
    pct: f64,
    weeks: u32,
) -> Option<(NaiveDate, Vec<f64>)> {
    let weeks = weeks.max(1) as usize;
    let mut run: Vec<(NaiveDate, f64)> = Vec::new();
    for w in usage.iter().filter(|w| w.week_start <= today) {
        let consecutive = run
            .last()
            .is_some_and(|(d, _)| w.week_start - *d == Duration::days(7));
        match utilization(w) {
            Some(share) if share >= pct => {
                if !consecutive {
                    run.clear();
                }
                run.push((w.week_start, share));
                if run.len() == weeks {
                    let done = (w.week_start + Duration::days(6)).min(today);
                    return Some((done, run.into_iter().map(|(_, p)| p).collect()));
                }
            }
            _ => run.clear(),
        }
    }
    None
}

impl AccountFacts {
    pub fn new(account: Account, arr_base_minor: i64) -> Self {
        AccountFacts {
            account,
            arr_base_minor,
            usage: Vec::new(),
            tickets: Vec::new(),
            earlier_tickets: false,
            nps: Vec::new(),
            contacts: Vec::new(),
            other_contacts: false,
            touches: Vec::new(),
            overrides: Vec::new(),
            history: Vec::new(),
            stage_since: None,
            adopted_on: None,
            digest: None,
            row: None,
            usage_seen: None,
            feeds_kept: false,
        }
    }

    /// Whether the account has any ticket: one without never had its support feed
    /// connected, which no measure reads as "0 open".
    pub fn has_tickets(&self) -> bool {
        self.earlier_tickets || !self.tickets.is_empty()
    }

    /// Whether the account has any contact named.
    pub fn has_contacts(&self) -> bool {
        self.other_contacts || !self.contacts.is_empty()
    }

    /// Whether any week up to `today` had licensed seats.
    pub fn any_seats_by(&self, today: NaiveDate) -> bool {
        match &self.usage_seen {
            Some(seen) => seen.any_seats,
            None => self
                .usage
                .iter()
                .any(|w| w.week_start <= today && w.licensed_seats > 0),
        }
    }

    /// The facts as they stood at the end of `day`: what a score computed that day saw.
    /// (Of facts read whole: a kept [`UsageSeen`] stands for weeks not read.)
    pub fn as_of(&self, day: NaiveDate) -> AccountFacts {
        debug_assert!(
            self.usage_seen.is_none()
                && !self.earlier_tickets
                && !self.other_contacts
                && !self.feeds_kept,
            "as_of of narrowed facts"
        );
        let end = day.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
        let before_end = |t: &DateTime<Utc>| end.is_none_or(|e| *t <= e);
        let mut f = self.clone();
        f.usage.retain(|w| w.week_start <= day);
        f.tickets.retain(|t| before_end(&t.opened_at));
        for t in f.tickets.iter_mut() {
            if t.resolved_at.as_ref().is_some_and(|r| !before_end(r)) {
                t.resolved_at = None;
            }
        }
        f.nps.retain(|r| r.responded_on <= day);
        for c in f.contacts.iter_mut() {
            if c.left_on.is_some_and(|l| l > day) {
                c.left_on = None;
                c.status = crate::model::ContactStatus::Active;
            }
        }
        f.touches.retain(|t| before_end(t));
        f.history.retain(|(d, _)| *d < day);
        f.adopted_on = f.adopted_on.filter(|d| *d <= day);
        f
    }
}

/// The days of tickets, back from today, that a measure or signal reads beside the open
/// ones: the longest look back of the ticket signals.
pub const TICKETS_JUDGED_DAYS: i64 = if RISING_TICKET_DAYS > RECURRING_TICKET_DAYS {
    RISING_TICKET_DAYS
} else {
    RECURRING_TICKET_DAYS
};

/// How far back the rising-tickets signal looks: unresolved tickets opened in these last
/// days.
pub const RISING_TICKET_DAYS: i64 = 28;
/// How far back the recurring-issues signal looks: tickets of any state opened in these
/// last days.
pub const RECURRING_TICKET_DAYS: i64 = 60;

/// Days of recent daily scores an account's facts carry (and `health_state` keeps): the
/// trend and the health-drop signal read no further back.
pub const RECENT_DAYS: i64 = 120;
