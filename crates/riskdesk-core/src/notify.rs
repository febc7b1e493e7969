//! What the desktop tells a CSM when they are not looking: a new escalation on one of
//! their accounts, a CTA someone else gave them (it arrived by sync, or was assigned on
//! another device), and once a day how many of their CTAs are due today. Each kind can be
//! switched off; the shell decides whether the OS may show them at all.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::store::{settings, Store};
use crate::{Error, Result};

const SETTINGS: &str = "notify.settings";
/// When the last look was: escalations opened after it are new.
const SINCE: &str = "notify.since";
/// The user's live CTAs at the last look, and whose they were.
const KNOWN: &str = "notify.known_ctas";
/// The last day the "due today" notice went out.
const DUE_DAY: &str = "notify.due_day";

/// Which notices this device shows; all on until switched off in Settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NotifySettings {
    pub escalations: bool,
    pub assigned: bool,
    pub due_today: bool,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            escalations: true,
            assigned: true,
            due_today: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Escalation,
    Assigned,
    DueToday,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub cta_id: Option<String>,
}

pub async fn notify_settings(pool: &SqlitePool) -> Result<NotifySettings> {
    Ok(match settings::get(pool, SETTINGS).await? {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| Error::invalid(SETTINGS, e.to_string()))?
        }
        None => NotifySettings::default(),
    })
}

pub async fn save_notify_settings(store: &Store, s: &NotifySettings) -> Result<()> {
    let json = serde_json::to_string(s).map_err(|e| Error::invalid(SETTINGS, e.to_string()))?;
    let mut tx = store.write().await?;
    settings::set(&mut tx, SETTINGS, &json).await?;
    Ok(tx.commit().await?)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Known {
    user: String,
    ctas: Vec<String>,
}

async fn known(pool: &SqlitePool) -> Result<Option<Known>> {
    Ok(settings::get(pool, KNOWN)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok()))
}

/// A CTA the user of this device created or assigned here: theirs to know about, never a
/// notice.
pub async fn note_own(store: &Store, cta_id: &str) -> Result<()> {
    let Some(mut k) = known(store.pool()).await? else {
        return Ok(());
    };
    if !k.ctas.iter().any(|c| c == cta_id) {
        k.ctas.push(cta_id.to_string());
        let json = serde_json::to_string(&k).map_err(|e| Error::invalid(KNOWN, e.to_string()))?;
        let mut tx = store.write().await?;
        settings::set(&mut tx, KNOWN, &json).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The notices `user` is owed since the last look, and the look recorded. The first look
/// (or the first after the user changed) only takes stock: nothing old is announced.
pub async fn collect(
    store: &Store,
    user: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Vec<Notice>> {
    let pool = store.pool();
    let on = notify_settings(pool).await?;
    let since = settings::get(pool, SINCE)
        .await?
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.with_timezone(&Utc));
    let before = known(pool).await?.filter(|k| k.user == user);
    let mine: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.id, a.name, c.reason FROM ctas c JOIN accounts a ON a.id = c.account_id \
         WHERE c.owner_id = ? AND c.status <> 'closed' AND c.source = 'manual' ORDER BY c.created_at",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    let mut notices = Vec::new();
    if let (Some(since), Some(before)) = (since, &before) {
        if on.escalations {
            let opened: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT e.cta_id, a.name, e.reason FROM escalations e JOIN accounts a ON a.id = e.account_id \
                 WHERE a.owner_id = ? AND e.opened_at > ? AND e.closed_at IS NULL ORDER BY e.opened_at",
            )
            .bind(user)
            .bind(since)
            .fetch_all(pool)
            .await?;
            notices.extend(opened.into_iter().map(|(cta, account, reason)| Notice {
                kind: NoticeKind::Escalation,
                title: format!("{account} was escalated to leadership"),
                body: reason,
                cta_id: Some(cta),
            }));
        }
        if on.assigned {
            notices.extend(
                mine.iter()
                    .filter(|(id, _, _)| !before.ctas.contains(id))
                    .map(|(id, account, reason)| Notice {
                        kind: NoticeKind::Assigned,
                        title: format!("A CTA on {account} is yours now"),
                        body: reason.clone(),
                        cta_id: Some(id.clone()),
                    }),
            );
        }
    }
    let due_sent = settings::get(pool, DUE_DAY).await?;
    if on.due_today && before.is_some() && due_sent.as_deref() != Some(&today.to_string()) {
        let due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ctas WHERE owner_id = ? AND status IN ('open', 'in_progress') AND due_on = ?",
        )
        .bind(user)
        .bind(today)
        .fetch_one(pool)
        .await?;
        if due > 0 {
            notices.push(Notice {
                kind: NoticeKind::DueToday,
                title: format!(
                    "{due} CTA{} due today",
                    if due == 1 { " is" } else { "s are" }
                ),
                body: "Open the Cockpit to work them.".into(),
                cta_id: None,
            });
        }
    }
    let k = Known {
        user: user.to_string(),
        ctas: mine.into_iter().map(|(id, _, _)| id).collect(),
    };
    let json = serde_json::to_string(&k).map_err(|e| Error::invalid(KNOWN, e.to_string()))?;
    let mut tx = store.write().await?;
    settings::set(&mut tx, KNOWN, &json).await?;
    settings::set(&mut tx, SINCE, &now.to_rfc3339()).await?;
    if before.is_some() {
        settings::set(&mut tx, DUE_DAY, &today.to_string()).await?;
    }
    tx.commit().await?;
    Ok(notices)
}

#[cfg(test)]
mod tests;
