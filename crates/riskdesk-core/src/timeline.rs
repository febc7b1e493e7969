//! The account timeline: what a CSM logged (calls, meetings, emails, notes) and what the
//! system did (CTA opened or closed, health changed band), in one dated stream.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::model::{TimelineEntry, TimelineKind};
use crate::store::keys::{id_text, FeedKey};
use crate::store::{insert_batched, with_rows, Tx};
use crate::{new_id, Error, Result};

/// A timeline entry as the account page and CTA detail show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TimelineItem {
    pub id: String,
    pub account_id: String,
    pub kind: TimelineKind,
    pub occurred_at: DateTime<Utc>,
    pub author_name: Option<String>,
    pub body: String,
    pub cta_id: Option<String>,
    /// The linked CTA's reason, so an entry reads on its own.
    pub cta_reason: Option<String>,
}

/// What a person logs by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewActivity {
    pub account_id: String,
    pub kind: TimelineKind,
    pub occurred_at: DateTime<Utc>,
    pub body: String,
    pub cta_id: Option<String>,
}

/// Logs a call, meeting, email or note. System entries and risk updates are written by
/// the code that does the thing, never by hand.
pub async fn log(tx: &mut Tx, a: &NewActivity, author_id: Option<&str>) -> Result<String> {
    if !matches!(
        a.kind,
        TimelineKind::Call | TimelineKind::Meeting | TimelineKind::Email | TimelineKind::Note
    ) {
        return Err(Error::invalid(
            "timeline.kind",
            format!("'{}' is not call, meeting, email or note", a.kind.as_str()),
        ));
    }
    if a.body.trim().is_empty() {
        return Err(Error::invalid("timeline.text", "say what happened"));
    }
    if a.occurred_at > Utc::now() + chrono::Duration::days(1) {
        return Err(Error::invalid(
            "timeline.date",
            "an activity cannot be logged in the future",
        ));
    }
    let account: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
        .bind(&a.account_id)
        .fetch_optional(&mut **tx)
        .await?;
    if account.is_none() {
        return Err(Error::NotFound {
            entity: "account",
            id: a.account_id.clone(),
        });
    }
    if let Some(cta_id) = &a.cta_id {
        let of: Option<String> = sqlx::query_scalar("SELECT account_id FROM ctas WHERE id = ?")
            .bind(cta_id)
            .fetch_optional(&mut **tx)
            .await?;
        if of.as_deref() != Some(a.account_id.as_str()) {
            return Err(Error::invalid(
                "timeline.cta",
                format!("CTA {cta_id} is not on this account"),
            ));
        }
    }
    insert(
        tx,
        &a.account_id,
        a.kind,
        a.occurred_at,
        author_id,
        a.body.trim(),
        a.cta_id.as_deref(),
    )
    .await
}

/// Records something the system did on an account, now.
pub async fn system_event(
    tx: &mut Tx,
    account_id: &str,
    cta_id: Option<&str>,
    body: &str,
) -> Result<String> {
    insert(
        tx,
        account_id,
        TimelineKind::System,
        Utc::now(),
        None,
        body,
        cta_id,
    )
    .await
}

/// One system event on the timeline.
pub(crate) struct SystemEvent<'a> {
    pub account_id: &'a str,
    pub cta_id: Option<&'a str>,
    pub body: String,
}

/// Records many system events at once (a rule run's new CTAs and their notes), now.
pub(crate) async fn system_events(tx: &mut Tx, events: &[SystemEvent<'_>]) -> Result<()> {
    let now = Utc::now();
    let keyed = with_rows(
        tx,
        events,
        |e| e.account_id,
        |e| format!("timeline event \"{}\"", e.body),
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO timeline_entries (id, account, kind, occurred_at, author_id, body, cta_id) ",
        7,
        "",
        &keyed,
        |b, (row, e)| {
            b.push_bind(FeedKey(new_id()))
                .push_bind(*row)
                .push_bind(TimelineKind::System)
                .push_bind(now)
                .push_bind(None::<String>)
                .push_bind(e.body.clone())
                .push_bind(e.cta_id.map(str::to_string));
        },
    )
    .await
}

/// Writes entries as they are (the synthetic book's history): new ones inserted,
/// existing ones updated.
pub async fn upsert(tx: &mut Tx, entries: &[TimelineEntry]) -> Result<()> {
    for e in entries {
        if e.body.trim().is_empty() {
            return Err(Error::invalid(
                format!("timeline entry {}.body", e.id),
                "must not be empty",
            ));
        }
    }
    let keyed = with_rows(
        tx,
        entries,
        |e| &e.account_id,
        |e| format!("timeline entry {}", e.id),
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO timeline_entries (id, account, kind, occurred_at, author_id, body) ",
        6,
        " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, occurred_at = excluded.occurred_at, \
         author_id = excluded.author_id, body = excluded.body",
        &keyed,
        |b, (row, e)| {
            b.push_bind(FeedKey::of(&e.id))
                .push_bind(*row)
                .push_bind(e.kind)
                .push_bind(e.occurred_at)
                .push_bind(e.author_id.clone())
                .push_bind(e.body.clone());
        },
    )
    .await
}

async fn insert(
    tx: &mut Tx,
    account_id: &str,
    kind: TimelineKind,
    at: DateTime<Utc>,
    author_id: Option<&str>,
    body: &str,
    cta_id: Option<&str>,
) -> Result<String> {
    let id = new_id();
    // The account's row number (migration 33); one the store does not hold leaves it NULL,
    // which the table refuses.
    sqlx::query(
        "INSERT INTO timeline_entries (id, account, kind, occurred_at, author_id, body, cta_id) \
         VALUES (?, (SELECT rowid FROM accounts WHERE id = ?), ?, ?, ?, ?, ?)",
    )
    .bind(FeedKey::of(&id))
    .bind(account_id)
    .bind(kind)
    .bind(at)
    .bind(author_id)
    .bind(body)
    .bind(cta_id)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// An item's columns; its id as text (store/keys.rs).
fn item_select() -> String {
    format!(
        "SELECT {} AS id, a.id AS account_id, t.kind, t.occurred_at, u.name AS author_name, t.body, t.cta_id, c.reason AS cta_reason \
         FROM timeline_entries t JOIN accounts a ON a.rowid = t.account LEFT JOIN users u ON u.id = t.author_id LEFT JOIN ctas c ON c.id = t.cta_id",
        id_text("t.id")
    )
}

/// An account's timeline, newest first.
pub async fn of_account(
    pool: &SqlitePool,
    account_id: &str,
    limit: u32,
) -> Result<Vec<TimelineItem>> {
    Ok(sqlx::query_as(&format!(
        "{} WHERE t.account = (SELECT rowid FROM accounts WHERE id = ?) ORDER BY t.occurred_at DESC, t.rowid DESC LIMIT ?",
        item_select()
    ))
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// What was logged against one CTA, newest first.
pub async fn of_cta(pool: &SqlitePool, cta_id: &str) -> Result<Vec<TimelineItem>> {
    Ok(sqlx::query_as(&format!(
        "{} WHERE t.cta_id = ? ORDER BY t.occurred_at DESC, t.rowid DESC",
        item_select()
    ))
    .bind(cta_id)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{self, BookSpec};
    use crate::store::testing::temp_store;
    use chrono::NaiveDate;

    #[tokio::test]
    async fn logged_activity_is_validated_and_reads_newest_first() {
        let (_dir, store) = temp_store().await;
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        book::load(&store, &BookSpec::new(3, 1, today), |_, _| {})
            .await
            .expect("book");
        let account_id: String = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("account");
        let at = |h| {
            today
                .and_hms_opt(h, 0, 0)
                .expect("time")
                .and_utc()
                .min(Utc::now())
        };
        let call = NewActivity {
            account_id: account_id.clone(),
            kind: TimelineKind::Call,
            occurred_at: at(9),
            body: "  Called the champion about the renewal  ".into(),
            cta_id: None,
        };
        let mut tx = store.write().await.expect("tx");
        log(&mut tx, &call, None).await.expect("call");
        let mut bad = call.clone();
        bad.body = " ".into();
        let err = log(&mut tx, &bad, None).await.expect_err("empty");
        assert!(err.to_string().contains("timeline.text"), "{err}");
        bad = call.clone();
        bad.kind = TimelineKind::System;
        let err = log(&mut tx, &bad, None).await.expect_err("system by hand");
        assert!(err.to_string().contains("timeline.kind"), "{err}");
        bad = call.clone();
        bad.cta_id = Some(new_id());
        let err = log(&mut tx, &bad, None).await.expect_err("foreign cta");
        assert!(err.to_string().contains("timeline.cta"), "{err}");
        bad = call.clone();
        bad.account_id = new_id();
        assert!(matches!(
            log(&mut tx, &bad, None).await,
            Err(Error::NotFound { .. })
        ));
        system_event(&mut tx, &account_id, None, "Health changed band")
            .await
            .expect("system");
        tx.commit().await.expect("commit");

        let items = of_account(store.pool(), &account_id, 500)
            .await
            .expect("items");
        let ours: Vec<_> = items
            .iter()
            .filter(|i| i.body.contains("champion about") || i.body.contains("changed band"))
            .collect();
        assert_eq!(ours.len(), 2);
        assert_eq!(ours[0].kind, TimelineKind::System, "newest first");
        assert_eq!(ours[1].body, "Called the champion about the renewal");
    }
}
