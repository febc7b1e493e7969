//! Contacts, weekly usage, support tickets and NPS responses: rows that hang off an
//! account, which each names by CRM id or exact name.

use crate::store::keys::id_text;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::lookup::Lookup;
use super::row::{Key, Keys, Row};
use super::values::{self, one_of};
use super::{fetch_in, head, write_in_chunks, Applied};
use crate::model::{
    Contact, ContactRole, ContactStatus, NpsResponse, Ticket, TicketPriority, UsageWeek,
};
use crate::store::{activity, Tx};
use crate::Result;

const ROLES: &[(ContactRole, &[&str])] = &[
    (
        ContactRole::Sponsor,
        &[
            "sponsor",
            "executive sponsor",
            "exec sponsor",
            "economic buyer",
            "decision maker",
            "budget holder",
        ],
    ),
    (
        ContactRole::Champion,
        &["champion", "advocate", "internal champion"],
    ),
    (
        ContactRole::User,
        &[
            "user",
            "end user",
            "influencer",
            "evaluator",
            "technical buyer",
            "other",
            "admin",
            "blocker",
            "legal & compliance",
        ],
    ),
    (
        ContactRole::Billing,
        &["billing", "billing contact", "finance", "accounts payable"],
    ),
];

const PRIORITIES: &[(TicketPriority, &[&str])] = &[
    (
        TicketPriority::Urgent,
        &["urgent", "critical", "p1", "blocker", "sev1", "highest"],
    ),
    (TicketPriority::High, &["high", "p2", "sev2"]),
    (
        TicketPriority::Normal,
        &["normal", "medium", "p3", "sev3", "moderate"],
    ),
    (
        TicketPriority::Low,
        &["low", "p4", "sev4", "lowest", "minor"],
    ),
];

fn account(row: &mut Row<'_>, lookup: &Lookup) -> Option<u32> {
    row.parse_required("account", |s| lookup.account(s))
}

/// HubSpot writes multi-valued properties as "Champion;End User": the first one counts.
fn first_value(s: &str) -> &str {
    s.split(';').next().unwrap_or(s).trim()
}

pub struct ContactDraft {
    account: u32,
    key: String,
    name: String,
    email: Option<String>,
    title: Option<String>,
    role: Option<ContactRole>,
    /// Some(None) when the file says the person is still there.
    left_on: Option<Option<NaiveDate>>,
}

pub fn parse_contact(row: &mut Row<'_>, lookup: &Lookup, keys: &mut Keys) -> Option<ContactDraft> {
    let account = account(row, lookup);
    let name = match row.text("name") {
        Some(n) => Some(n.to_string()),
        None => {
            let parts: Vec<&str> = [row.text("first_name"), row.text("last_name")]
                .into_iter()
                .flatten()
                .collect();
            if parts.is_empty() {
                let field = if row.mapped("name") {
                    "name"
                } else {
                    "last_name"
                };
                row.fail(field, "a contact needs a name");
                None
            } else {
                Some(parts.join(" "))
            }
        }
    };
    let email = row.text("email").map(str::to_string);
    if let Some(e) = &email {
        if !e.contains('@') {
            row.fail("email", "is not an email address");
        }
    }
    let role = row.parse("role", |s| one_of(first_value(s), "contact role", ROLES));
    let left_on = if row.mapped("left_on") {
        match row.text("left_on") {
            Some(_) => row.parse("left_on", values::date).map(Some),
            None => Some(None),
        }
    } else {
        None
    };
    let account = account?;
    let key = match (row.text("external_id"), &email, &name) {
        (Some(id), _, _) => id.to_string(),
        (None, Some(e), _) => format!("email:{}:{}", lookup.account_id(account), e.to_lowercase()),
        (None, None, Some(n)) => {
            format!("name:{}:{}", lookup.account_id(account), n.to_lowercase())
        }
        _ => return None,
    };
    keys.claim(
        row,
        if row.mapped("external_id") {
            "external_id"
        } else {
            "email"
        },
        Key::Text(key.clone()),
        "this contact",
    );
    if !row.ok() {
        return None;
    }
    Some(ContactDraft {
        account,
        key,
        name: name?,
        email,
        title: row.text("title").map(str::to_string),
        role,
        left_on,
    })
}

pub async fn apply_contacts(
    tx: &mut Tx,
    write: bool,
    drafts: Vec<ContactDraft>,
    lookup: &Lookup,
    now: DateTime<Utc>,
    progress: &mut impl FnMut(usize, usize),
) -> Result<Applied> {
    let before: HashMap<String, Contact> = fetch_in::<Contact>(
        tx,
        head(format!("SELECT {} AS id, a.id AS account_id, c.name, c.email, c.title, c.role, c.status, c.left_on, c.created_at, c.external_id \
         FROM contacts c JOIN accounts a ON a.rowid = c.account WHERE c.external_id IN", id_text("c.id"))),
        drafts.iter().map(|d| d.key.clone()),
    )
    .await?
    .into_iter()
    .filter_map(|c| Some((c.external_id.clone()?, c)))
    .collect();
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    for d in drafts {
        let old = before.get(&d.key);
        let mut c = old.cloned().unwrap_or_else(|| Contact {
            id: crate::new_id(),
            account_id: lookup.account_id(d.account).to_string(),
            name: String::new(),
            email: String::new(),
            title: String::new(),
            role: ContactRole::User,
            status: ContactStatus::Active,
            left_on: None,
            created_at: now,
            external_id: Some(d.key.clone()),
        });
        c.name = d.name;
        if let Some(e) = d.email {
            c.email = e;
        }
        if let Some(t) = d.title {
            c.title = t;
        }
        if let Some(r) = d.role {
            c.role = r;
        }
        if let Some(left) = d.left_on {
            c.left_on = left;
            c.status = if left.is_some() {
                ContactStatus::Left
            } else {
                ContactStatus::Active
            };
        }
        applied.count(old, &c, &c.account_id);
        if old != Some(&c) {
            changed.push(c);
        }
    }
    if write {
        write_in_chunks!(tx, &changed, progress, activity::upsert_contacts);
    }
    Ok(applied)
}

pub struct UsageDraft {
    account: u32,
    week: NaiveDate,
    active_users: i32,
    licensed_seats: i32,
    logins: i32,
    adoption: Option<i32>,
}

pub fn parse_usage(row: &mut Row<'_>, lookup: &Lookup, keys: &mut Keys) -> Option<UsageDraft> {
    let account = account(row, lookup);
    let week = row.parse_required("week", |s| values::date(s).map(values::week_start));
    let active_users = row.parse_required("active_users", values::count);
    let licensed_seats = row.parse_required("licensed_seats", values::count);
    let logins = row.parse_required("logins", values::count);
    let adoption = row.parse("key_feature_adoption", values::percent);
    let (account, week) = (account?, week?);
    let key = ((account as u64) << 32) | week.num_days_from_ce() as u32 as u64;
    keys.claim(row, "week", Key::Number(key), "this account's week");
    if !row.ok() {
        return None;
    }
    Some(UsageDraft {
        account,
        week,
        active_users: active_users?,
        licensed_seats: licensed_seats?,
        logins: logins?,
        adoption,
    })
}

pub async fn apply_usage(
    tx: &mut Tx,
    write: bool,
    drafts: Vec<UsageDraft>,
    lookup: &Lookup,
    progress: &mut impl FnMut(usize, usize),
) -> Result<Applied> {
    let mut accounts: Vec<u32> = drafts.iter().map(|d| d.account).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let ids = || accounts.iter().map(|a| lookup.account_id(*a).to_string());
    let (first, last) = drafts
        .iter()
        .fold((NaiveDate::MAX, NaiveDate::MIN), |(lo, hi), d| {
            (lo.min(d.week), hi.max(d.week))
        });
    let index: HashMap<&str, u32> = accounts
        .iter()
        .map(|a| (lookup.account_id(*a), *a))
        .collect();
    let mut before: HashMap<(u32, NaiveDate), UsageWeek> = HashMap::new();
    for (id, bytes) in fetch_in::<(String, Vec<u8>)>(
        tx,
        head("SELECT a.id, u.weeks FROM accounts a JOIN usage_packed u ON u.account = a.rowid WHERE a.id IN"),
        ids(),
    )
    .await?
    {
        let Some(&account) = index.get(id.as_str()) else {
            continue;
        };
        let weeks = crate::store::usage_weeks::unpack(&bytes, &id)
            .ok_or_else(|| crate::store::usage_weeks::unreadable(&id))?;
        before.extend(
            weeks
                .into_iter()
                .filter(|w| (first..=last).contains(&w.week_start))
                .map(|w| ((account, w.week_start), w)),
        );
    }
    // A new week without an adoption figure carries the account's last known one.
    let latest: HashMap<String, i32> = if drafts.iter().any(|d| d.adoption.is_none()) {
        fetch_in::<(String, i32)>(
            tx,
            head("SELECT a.id, u.latest_adoption FROM accounts a JOIN usage_packed u ON u.account = a.rowid \
             WHERE a.id IN"),
            ids(),
        )
        .await?
        .into_iter()
        .collect()
    } else {
        HashMap::new()
    };
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    for d in drafts {
        let old = before.get(&(d.account, d.week));
        let id = lookup.account_id(d.account);
        let adoption = d
            .adoption
            .or(old.map(|o| o.key_feature_adoption))
            .or_else(|| latest.get(id).copied())
            .unwrap_or(0);
        let w = UsageWeek {
            account_id: id.to_string(),
            week_start: d.week,
            active_users: d.active_users,
            licensed_seats: d.licensed_seats,
            logins: d.logins,
            key_feature_adoption: adoption,
        };
        applied.count(old, &w, id);
        if old != Some(&w) {
            changed.push(w);
        }
    }
    if write {
        write_in_chunks!(tx, &changed, progress, activity::upsert_usage);
    }
    Ok(applied)
}

pub struct TicketDraft {
    account: u32,
    external_id: String,
    subject: String,
    priority: Option<TicketPriority>,
    category: Option<String>,
    opened_at: DateTime<Utc>,
    /// Some(None) when the file says the ticket is open.
    resolved_at: Option<Option<DateTime<Utc>>>,
}

pub fn parse_ticket(row: &mut Row<'_>, lookup: &Lookup, keys: &mut Keys) -> Option<TicketDraft> {
    let account = account(row, lookup);
    let external_id = row.required("external_id");
    let subject = row.required("subject");
    let priority = row.parse("priority", |s| one_of(s, "ticket priority", PRIORITIES));
    let opened_at = row.parse_required("opened_at", values::datetime);
    let resolved_at = if row.mapped("resolved_at") {
        match row.text("resolved_at") {
            Some(_) => row.parse("resolved_at", values::datetime).map(Some),
            None => Some(None),
        }
    } else {
        None
    };
    if let (Some(open), Some(Some(resolved))) = (opened_at, resolved_at) {
        if resolved < open {
            row.fail("resolved_at", "is before the ticket was opened");
        }
    }
    if let (Some(a), Some(id)) = (account, external_id) {
        keys.claim(
            row,
            "external_id",
            Key::Text(format!("{a}:{id}")),
            "this ticket id",
        );
    }
    if !row.ok() {
        return None;
    }
    Some(TicketDraft {
        account: account?,
        external_id: external_id?.to_string(),
        subject: subject?.to_string(),
        priority,
        category: row.text("category").map(str::to_string),
        opened_at: opened_at?,
        resolved_at,
    })
}

pub async fn apply_tickets(
    tx: &mut Tx,
    write: bool,
    drafts: Vec<TicketDraft>,
    lookup: &Lookup,
    progress: &mut impl FnMut(usize, usize),
) -> Result<Applied> {
    let before: HashMap<(String, String), Ticket> = fetch_in::<Ticket>(
        tx,
        head(format!("SELECT {} AS id, a.id AS account_id, t.external_id, t.subject, t.priority, t.category, t.opened_at, t.resolved_at \
         FROM tickets t JOIN accounts a ON a.rowid = t.account WHERE t.external_id IN", id_text("t.id"))),
        drafts.iter().map(|d| d.external_id.clone()),
    )
    .await?
    .into_iter()
    .filter_map(|t| Some(((t.account_id.clone(), t.external_id.clone()?), t)))
    .collect();
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    for d in drafts {
        let account_id = lookup.account_id(d.account).to_string();
        let old = before.get(&(account_id.clone(), d.external_id.clone()));
        let mut t = old.cloned().unwrap_or_else(|| Ticket {
            id: crate::new_id(),
            account_id,
            external_id: Some(d.external_id.clone()),
            subject: String::new(),
            priority: TicketPriority::Normal,
            category: String::new(),
            opened_at: d.opened_at,
            resolved_at: None,
        });
        t.subject = d.subject;
        t.opened_at = d.opened_at;
        if let Some(p) = d.priority {
            t.priority = p;
        }
        if let Some(c) = d.category {
            t.category = c;
        }
        if let Some(r) = d.resolved_at {
            t.resolved_at = r;
        }
        applied.count(old, &t, &t.account_id);
        if old != Some(&t) {
            changed.push(t);
        }
    }
    if write {
        write_in_chunks!(tx, &changed, progress, activity::upsert_tickets);
    }
    Ok(applied)
}

pub struct NpsDraft {
    account: u32,
    key: String,
    score: i32,
    responded_on: NaiveDate,
    comment: Option<String>,
    email: Option<String>,
}

pub fn parse_nps(row: &mut Row<'_>, lookup: &Lookup, keys: &mut Keys) -> Option<NpsDraft> {
    let account = account(row, lookup);
    let score = row.parse_required("score", values::nps_score);
    let responded_on = row.parse_required("responded_on", values::date);
    let email = row.text("email").map(str::to_lowercase);
    let (account, day) = (account?, responded_on?);
    let key = match row.text("external_id") {
        Some(id) => id.to_string(),
        None => format!(
            "nps:{}:{day}:{}",
            lookup.account_id(account),
            email.as_deref().unwrap_or("")
        ),
    };
    let field = if row.mapped("external_id") {
        "external_id"
    } else {
        "responded_on"
    };
    keys.claim(row, field, Key::Text(key.clone()), "this response");
    if !row.ok() {
        return None;
    }
    Some(NpsDraft {
        account,
        key,
        score: score?,
        responded_on: day,
        comment: row.text("comment").map(str::to_string),
        email,
    })
}

pub async fn apply_nps(
    tx: &mut Tx,
    write: bool,
    drafts: Vec<NpsDraft>,
    lookup: &Lookup,
    progress: &mut impl FnMut(usize, usize),
) -> Result<Applied> {
    let before: HashMap<String, NpsResponse> = fetch_in::<NpsResponse>(
        tx,
        head(format!(
            "SELECT {} AS id, a.id AS account_id, {} AS contact_id, n.score, n.comment, n.responded_on, n.external_id \
         FROM nps_responses n JOIN accounts a ON a.rowid = n.account WHERE n.external_id IN",
            id_text("n.id"),
            id_text("n.contact_id")
        )),
        drafts.iter().map(|d| d.key.clone()),
    )
    .await?
    .into_iter()
    .filter_map(|r| Some((r.external_id.clone()?, r)))
    .collect();
    let mut accounts: Vec<String> = drafts
        .iter()
        .filter(|d| d.email.is_some())
        .map(|d| lookup.account_id(d.account).to_string())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let contacts: HashMap<(String, String), String> = fetch_in::<(String, String, String)>(
        tx,
        head(format!(
            "SELECT a.id, lower(c.email), {} FROM accounts a JOIN contacts c ON c.account = a.rowid \
             WHERE c.email != '' AND a.id IN",
            id_text("c.id")
        )),
        accounts.into_iter(),
    )
    .await?
    .into_iter()
    .map(|(a, e, id)| ((a, e), id))
    .collect();
    let mut applied = Applied::default();
    let mut changed = Vec::new();
    for d in drafts {
        let account_id = lookup.account_id(d.account).to_string();
        let old = before.get(&d.key);
        let mut r = old.cloned().unwrap_or_else(|| NpsResponse {
            id: crate::new_id(),
            account_id: account_id.clone(),
            contact_id: None,
            score: 0,
            comment: String::new(),
            responded_on: d.responded_on,
            external_id: Some(d.key.clone()),
        });
        r.score = d.score;
        r.responded_on = d.responded_on;
        if let Some(c) = d.comment {
            r.comment = c;
        }
        if let Some(e) = d.email {
            if let Some(contact) = contacts.get(&(account_id, e)) {
                r.contact_id = Some(contact.clone());
            }
        }
        applied.count(old, &r, &r.account_id);
        if old != Some(&r) {
            changed.push(r);
        }
    }
    if write {
        write_in_chunks!(tx, &changed, progress, activity::upsert_nps);
    }
    Ok(applied)
}
