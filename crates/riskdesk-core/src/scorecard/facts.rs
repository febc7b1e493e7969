//! Everything scoring and signal detection read about one account, loaded in batches.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::MeasureKind;
use crate::model::{Account, Contact, NpsResponse, Ticket, UsageWeek};
use crate::store::in_list;
use crate::Result;

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

/// Which accounts a load reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Exactly the ids given (at most a few hundred at a time).
    List,
    /// Every account from the first id to the last: `ids` is a sorted, contiguous slice of
    /// the book, so each table is read as one index range in account order.
    Range,
}

/// Appends the account predicate of `span` over `ids` to a query ending in a column name.
fn push_accounts<'a>(qb: &mut QueryBuilder<'a, Sqlite>, ids: &'a [String], span: Span) {
    match (span, ids.first(), ids.last()) {
        (Span::Range, Some(first), Some(last)) => {
            qb.push(" BETWEEN ")
                .push_bind(first.as_str())
                .push(" AND ")
                .push_bind(last.as_str());
        }
        _ => in_list(qb, ids),
    }
}

/// Loads the facts of `ids`, in the order given. The score history comes from each
/// account's recent series, or from the history table for accounts without one yet.
pub async fn load(
    pool: &SqlitePool,
    ids: &[String],
    span: Span,
    history_since: NaiveDate,
) -> Result<Vec<AccountFacts>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        account: Account,
        arr_base_minor: i64,
        stage_since: Option<NaiveDate>,
        adopted_on: Option<NaiveDate>,
    }
    let mut qb = QueryBuilder::new(
        "SELECT id, name, arr_minor, currency, segment, stage, contract_start, renewal_date, owner_id, strategic, \
         expansion_potential, industry, region, crm_id, created_at, updated_at, arr_base_minor, stage_since, adopted_on \
         FROM accounts WHERE id",
    );
    push_accounts(&mut qb, ids, span);
    let mut by_id: HashMap<String, AccountFacts> = qb
        .build_query_as::<Row>()
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            let mut f = AccountFacts::new(r.account, r.arr_base_minor);
            f.stage_since = r.stage_since;
            f.adopted_on = r.adopted_on;
            (f.account.id.clone(), f)
        })
        .collect();
    if span == Span::Range {
        // The range also holds accounts this device only mirrors.
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        by_id.retain(|id, _| wanted.contains(id.as_str()));
    }

    let mut qb = QueryBuilder::new(
        "SELECT account_id, week_start, active_users, licensed_seats, logins, key_feature_adoption FROM usage_weekly WHERE account_id",
    );
    push_accounts(&mut qb, ids, span);
    qb.push(" ORDER BY account_id, week_start");
    for w in qb.build_query_as::<UsageWeek>().fetch_all(pool).await? {
        if let Some(f) = by_id.get_mut(&w.account_id) {
            f.usage.push(w);
        }
    }

    let mut qb = QueryBuilder::new(
        "SELECT id, account_id, external_id, subject, priority, category, opened_at, resolved_at FROM tickets WHERE account_id",
    );
    push_accounts(&mut qb, ids, span);
    qb.push(" ORDER BY opened_at");
    for t in qb.build_query_as::<Ticket>().fetch_all(pool).await? {
        if let Some(f) = by_id.get_mut(&t.account_id) {
            f.tickets.push(t);
        }
    }

    let mut qb = QueryBuilder::new("SELECT id, account_id, contact_id, score, comment, responded_on, external_id FROM nps_responses WHERE account_id");
    push_accounts(&mut qb, ids, span);
    qb.push(" ORDER BY responded_on, id");
    for r in qb.build_query_as::<NpsResponse>().fetch_all(pool).await? {
        if let Some(f) = by_id.get_mut(&r.account_id) {
            f.nps.push(r);
        }
    }

    let mut qb = QueryBuilder::new(
        "SELECT id, account_id, name, email, title, role, status, left_on, created_at, external_id FROM contacts WHERE account_id",
    );
    push_accounts(&mut qb, ids, span);
    for c in qb.build_query_as::<Contact>().fetch_all(pool).await? {
        if let Some(f) = by_id.get_mut(&c.account_id) {
            f.contacts.push(c);
        }
    }

    let mut qb = QueryBuilder::new(
        "SELECT account_id, occurred_at FROM timeline_entries WHERE kind <> 'system' AND account_id",
    );
    push_accounts(&mut qb, ids, span);
    qb.push(" ORDER BY occurred_at");
    for (account_id, at) in qb
        .build_query_as::<(String, DateTime<Utc>)>()
        .fetch_all(pool)
        .await?
    {
        if let Some(f) = by_id.get_mut(&account_id) {
            f.touches.push(at);
        }
    }

    let mut qb = QueryBuilder::new(
        "SELECT o.id, o.account_id, o.measure, o.score, o.comment, u.name, o.expires_on FROM measure_overrides o \
         LEFT JOIN users u ON u.id = o.author_id WHERE o.removed_at IS NULL AND o.account_id",
    );
    push_accounts(&mut qb, ids, span);
    qb.push(" ORDER BY o.created_at DESC");
    type OverrideRow = (
        String,
        String,
        String,
        f64,
        String,
        Option<String>,
        Option<NaiveDate>,
    );
    for (id, account_id, measure, score, comment, author_name, expires_on) in
        qb.build_query_as::<OverrideRow>().fetch_all(pool).await?
    {
        let Ok(measure) = measure.parse::<MeasureKind>() else {
            continue;
        };
        if let Some(f) = by_id.get_mut(&account_id) {
            f.overrides.push(MeasureOverride {
                id,
                measure,
                score,
                comment,
                author_name,
                expires_on,
            });
        }
    }

    let mut qb =
        QueryBuilder::new("SELECT account_id, recent FROM account_health WHERE account_id");
    push_accounts(&mut qb, ids, span);
    let mut without: Vec<String> = by_id.keys().cloned().collect();
    for (account_id, recent) in qb
        .build_query_as::<(String, String)>()
        .fetch_all(pool)
        .await?
    {
        if let Some(f) = by_id.get_mut(&account_id) {
            f.history = crate::health::history::decode_recent(&recent);
            f.history.retain(|(d, _)| *d >= history_since);
        }
    }
    let with: std::collections::HashSet<&String> = by_id
        .values()
        .filter(|f| !f.history.is_empty())
        .map(|f| &f.account.id)
        .collect();
    without.retain(|id| !with.contains(id));
    without.sort();
    // A fresh book's history was written before its first current score.
    for chunk in without.chunks(500) {
        let mut qb = QueryBuilder::new(
            "SELECT account_id, day, score FROM health_history WHERE score IS NOT NULL AND day >= ",
        );
        qb.push_bind(history_since).push(" AND account_id");
        in_list(&mut qb, chunk);
        qb.push(" ORDER BY account_id, day");
        for (account_id, day, score) in qb
            .build_query_as::<(String, NaiveDate, f64)>()
            .fetch_all(pool)
            .await?
        {
            if let Some(f) = by_id.get_mut(&account_id) {
                // As the recent series keeps it, so either source gives the same trend.
                f.history.push((day, (score * 100.0).round() / 100.0));
            }
        }
    }

    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
