//! Everything scoring and signal detection read about one account (`health::facts`
//! loads it in batches).

use chrono::{DateTime, NaiveDate, Utc};

use super::MeasureKind;
use crate::model::{Account, Contact, NpsResponse, Ticket, UsageWeek};

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
    pub tickets: Vec<Ticket>,
    /// Oldest first.
    pub nps: Vec<NpsResponse>,
    pub contacts: Vec<Contact>,
    /// Calls, meetings, emails, notes and risk updates, oldest first.
    pub touches: Vec<DateTime<Utc>>,
    pub overrides: Vec<MeasureOverride>,
    /// Past daily scores, oldest first.
    pub history: Vec<(NaiveDate, f64)>,
    /// The day the account reached its stage and the day it was adopted, when known.
    pub stage_since: Option<NaiveDate>,
    pub adopted_on: Option<NaiveDate>,
    /// The fingerprint of what the last recompute wrote (see `health`).
    pub digest: Option<i64>,
}

impl AccountFacts {
    pub fn new(account: Account, arr_base_minor: i64) -> Self {
        AccountFacts {
            account,
            arr_base_minor,
            usage: Vec::new(),
            tickets: Vec::new(),
            nps: Vec::new(),
            contacts: Vec::new(),
            touches: Vec::new(),
            overrides: Vec::new(),
            history: Vec::new(),
            stage_since: None,
            adopted_on: None,
            digest: None,
        }
    }

    /// The facts as they stood at the end of `day`: what a score computed that day saw.
    pub fn as_of(&self, day: NaiveDate) -> AccountFacts {
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

/// Days of recent daily scores an account's facts carry (and `health_state` keeps): the
/// trend and the health-drop signal read no further back.
pub const RECENT_DAYS: i64 = 120;
