//! What happens on an account: contacts, weekly usage, tickets, NPS and the timeline.

use sqlx::SqlitePool;

use super::keys::{id_text, FeedKey};
use super::reader::epoch_day;
use super::{insert_batched, usage_weeks, Tx};
use crate::model::{Contact, ContactStatus, NpsResponse, Ticket, UsageWeek};
use crate::{Error, Result};

pub async fn upsert_contacts(tx: &mut Tx, contacts: &[Contact]) -> Result<()> {
    for c in contacts {
        if (c.status == ContactStatus::Left) != c.left_on.is_some() {
            return Err(Error::invalid(
                format!("contact {} ({}).left_on", c.name, c.id),
                "is required when, and only when, the contact has left",
            ));
        }
    }
    let keyed = with_rows(
        tx,
        contacts,
        |c| &c.account_id,
        |c| format!("contact {} ({})", c.name, c.id),
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO contacts (id, account, name, email, title, role, status, left_on, created_at, external_id) ",
        10,
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, email = excluded.email, \
         title = excluded.title, role = excluded.role, status = excluded.status, left_on = excluded.left_on, \
         external_id = excluded.external_id",
        &keyed,
        |b, (row, c)| {
            b.push_bind(FeedKey::of(&c.id))
                .push_bind(*row)
                .push_bind(c.name.clone())
                .push_bind(c.email.clone())
                .push_bind(c.title.clone())
                .push_bind(c.role)
                .push_bind(c.status)
                .push_bind(c.left_on)
                .push_bind(c.created_at)
                .push_bind(c.external_id.clone());
        },
    )
    .await
}

pub async fn upsert_usage(tx: &mut Tx, weeks: &[UsageWeek]) -> Result<()> {
    for w in weeks {
        if w.active_users < 0 || w.licensed_seats < 0 || w.logins < 0 {
            return Err(Error::invalid(
                format!("usage {} week {}", w.account_id, w.week_start),
                "counts must not be negative",
            ));
        }
        if !(0..=100).contains(&w.key_feature_adoption) {
            return Err(Error::invalid(
                format!(
                    "usage {} week {}.key_feature_adoption",
                    w.account_id, w.week_start
                ),
                format!("{} is not a percentage 0–100", w.key_feature_adoption),
            ));
        }
    }
    let keyed = with_rows(
        tx,
        weeks,
        |w| &w.account_id,
        |w| format!("usage {} week {}", w.account_id, w.week_start),
    )
    .await?;
    // Each account's weeks merged into what it holds (a week already held is replaced),
    // and written only where that changed anything.
    let mut incoming: std::collections::BTreeMap<i64, Vec<&UsageWeek>> = Default::default();
    for (row, w) in keyed {
        incoming.entry(row).or_default().push(w);
    }
    let rows: Vec<i64> = incoming.keys().copied().collect();
    let mut packed = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(50_000) {
        let held: std::collections::HashMap<i64, Vec<u8>> =
            sqlx::query_as("SELECT account, weeks FROM usage_packed WHERE account IN (SELECT value FROM json_each(?))")
                .bind(serde_json::to_string(chunk).unwrap_or_default())
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .collect();
        for row in chunk {
            let new = &incoming[row];
            let old = held.get(row);
            let mut merged: std::collections::BTreeMap<chrono::NaiveDate, UsageWeek> = match old {
                Some(bytes) => usage_weeks::unpack(bytes, &new[0].account_id)
                    .ok_or_else(|| usage_weeks::unreadable(&new[0].account_id))?
                    .into_iter()
                    .map(|w| (w.week_start, w))
                    .collect(),
                None => Default::default(),
            };
            for w in new {
                merged.insert(w.week_start, (*w).clone());
            }
            let merged: Vec<UsageWeek> = merged.into_values().collect();
            let bytes = usage_weeks::pack_all(&merged);
            if old != Some(&bytes) {
                if let Some(latest) = merged.last() {
                    packed.push((*row, bytes, epoch_day(latest.week_start), latest.clone()));
                }
            }
        }
    }
    insert_batched(
        tx,
        "INSERT INTO usage_packed (account, weeks, latest_week, latest_active_users, latest_licensed_seats, \
         latest_adoption) ",
        6,
        " ON CONFLICT(account) DO UPDATE SET weeks = excluded.weeks, latest_week = excluded.latest_week, \
         latest_active_users = excluded.latest_active_users, latest_licensed_seats = excluded.latest_licensed_seats, \
         latest_adoption = excluded.latest_adoption",
        &packed,
        |b, (row, bytes, week, w)| {
            b.push_bind(*row)
                .push_bind(bytes.clone())
                .push_bind(*week)
                .push_bind(w.active_users)
                .push_bind(w.licensed_seats)
                .push_bind(w.key_feature_adoption);
        },
    )
    .await
}

/// Each of `items` with its account's row number: usage, contacts, tickets, NPS responses
/// and the timeline are keyed by it (migrations 26 and 33). The accounts are looked up
/// once, and an item of an account the store does not hold is refused by name.
pub(crate) async fn with_rows<'t, T>(
    tx: &mut Tx,
    items: &'t [T],
    account: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> String,
) -> Result<Vec<(i64, &'t T)>> {
    let rows = row_numbers(tx, items.iter().map(&account)).await?;
    items
        .iter()
        .map(|item| match rows.get(account(item)) {
            Some(&row) => Ok((row, item)),
            None => Err(Error::invalid(
                format!("{}.account_id", name(item)),
                format!("no such account: {}", account(item)),
            )),
        })
        .collect()
}

/// `accounts.rowid` of each of `ids` the store holds.
async fn row_numbers<'a>(
    tx: &mut Tx,
    ids: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, i64>> {
    let mut ids: Vec<&str> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(50_000) {
        let list = serde_json::to_string(chunk).unwrap_or_default();
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, rowid FROM accounts WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(list)
        .fetch_all(&mut **tx)
        .await?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn upsert_tickets(tx: &mut Tx, tickets: &[Ticket]) -> Result<()> {
    for t in tickets {
        if t.resolved_at.is_some_and(|r| r < t.opened_at) {
            return Err(Error::invalid(
                format!("ticket {}.resolved_at", t.id),
                "is before the ticket was opened",
            ));
        }
    }
    let keyed = with_rows(
        tx,
        tickets,
        |t| &t.account_id,
        |t| format!("ticket {}", t.id),
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO tickets (id, account, external_id, subject, priority, category, opened_at, resolved_at) ",
        8,
        " ON CONFLICT(id) DO UPDATE SET subject = excluded.subject, priority = excluded.priority, \
         category = excluded.category, opened_at = excluded.opened_at, resolved_at = excluded.resolved_at",
        &keyed,
        |b, (row, t)| {
            b.push_bind(FeedKey::of(&t.id))
                .push_bind(*row)
                .push_bind(t.external_id.clone())
                .push_bind(t.subject.clone())
                .push_bind(t.priority)
                .push_bind(t.category.clone())
                .push_bind(t.opened_at)
                .push_bind(t.resolved_at);
        },
    )
    .await
}

pub async fn upsert_nps(tx: &mut Tx, responses: &[NpsResponse]) -> Result<()> {
    for r in responses {
        if !(0..=10).contains(&r.score) {
            return Err(Error::invalid(
                format!("nps response {}.score", r.id),
                format!("{} is not 0–10", r.score),
            ));
        }
    }
    let keyed = with_rows(
        tx,
        responses,
        |r| &r.account_id,
        |r| format!("nps response {}", r.id),
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO nps_responses (id, account, contact_id, score, comment, responded_on, external_id) ",
        7,
        " ON CONFLICT(id) DO UPDATE SET contact_id = excluded.contact_id, score = excluded.score, \
         comment = excluded.comment, responded_on = excluded.responded_on, external_id = excluded.external_id",
        &keyed,
        |b, (row, r)| {
            b.push_bind(FeedKey::of(&r.id))
                .push_bind(*row)
                .push_bind(r.contact_id.as_deref().map(FeedKey::of))
                .push_bind(r.score)
                .push_bind(r.comment.clone())
                .push_bind(r.responded_on)
                .push_bind(r.external_id.clone());
        },
    )
    .await
}

/// Sponsors and champions first: they are who the CSM needs to see.
pub async fn contacts_of(pool: &SqlitePool, account_id: &str) -> Result<Vec<Contact>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} AS id, a.id AS account_id, c.name, c.email, c.title, c.role, c.status, c.left_on, c.created_at, c.external_id \
         FROM accounts a JOIN contacts c ON c.account = a.rowid WHERE a.id = ? ORDER BY CASE c.role WHEN 'sponsor' THEN 0 WHEN 'champion' THEN 1 \
         WHEN 'billing' THEN 2 ELSE 3 END, c.name",
        id_text("c.id")
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

/// The latest `weeks` weeks, oldest first.
pub async fn usage_of(pool: &SqlitePool, account_id: &str, weeks: u32) -> Result<Vec<UsageWeek>> {
    let held: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT u.weeks FROM accounts a JOIN usage_packed u ON u.account = a.rowid WHERE a.id = ?",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    let Some(bytes) = held else {
        return Ok(Vec::new());
    };
    let mut all = usage_weeks::unpack(&bytes, account_id)
        .ok_or_else(|| usage_weeks::unreadable(account_id))?;
    Ok(all.split_off(all.len().saturating_sub(weeks as usize)))
}

pub async fn tickets_of(pool: &SqlitePool, account_id: &str) -> Result<Vec<Ticket>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} AS id, a.id AS account_id, t.external_id, t.subject, t.priority, t.category, t.opened_at, t.resolved_at \
         FROM accounts a JOIN tickets t ON t.account = a.rowid WHERE a.id = ? ORDER BY t.opened_at DESC",
        id_text("t.id")
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}

pub async fn nps_of(pool: &SqlitePool, account_id: &str) -> Result<Vec<NpsResponse>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} AS id, a.id AS account_id, {} AS contact_id, n.score, n.comment, n.responded_on, n.external_id \
         FROM accounts a JOIN nps_responses n ON n.account = a.rowid WHERE a.id = ? ORDER BY n.responded_on DESC",
        id_text("n.id"),
        id_text("n.contact_id")
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?)
}
