//! Push and pull: the server side of the protocol.

use std::collections::HashMap;

use chrono::Utc;
use riskdesk_sync::change::{check_version, Sequenced};
use riskdesk_sync::{Change, Conflict, PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::auth::Caller;
use crate::error::{Error, Result};

/// The most changes one push may carry; a first sync sends its book in pages.
pub const MAX_PUSH: usize = 10_000;
/// The most changes one pull returns.
pub const MAX_PULL: u32 = 5_000;

/// Escalation work managers and executives see and write across the organisation.
pub const ORG_ENTITIES: &[&str] = &[
    "account",
    "cta",
    "risk_update",
    "escalation",
    "escalation_action",
    "escalation_decision",
];

async fn scope_of(
    tx: &mut Transaction<'_, Sqlite>,
    account_id: &str,
) -> Result<Option<Option<String>>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT team_id FROM account_scope WHERE account_id = ?",
    )
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// May `caller` write `change`? An account nobody has claimed yet joins the caller's team.
async fn check_scope(
    tx: &mut Transaction<'_, Sqlite>,
    caller: &Caller,
    change: &Change,
    known: &mut HashMap<String, Option<String>>,
) -> Result<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let team = match known.get(&change.account_id) {
        Some(t) => t.clone(),
        None => {
            let team = match scope_of(tx, &change.account_id).await? {
                Some(t) => t,
                None => {
                    sqlx::query("INSERT INTO account_scope (account_id, team_id) VALUES (?, ?)")
                        .bind(&change.account_id)
                        .bind(&caller.team_id)
                        .execute(&mut **tx)
                        .await?;
                    caller.team_id.clone()
                }
            };
            known.insert(change.account_id.clone(), team.clone());
            team
        }
    };
    let own_team = team.is_some() && team == caller.team_id;
    let org_work = caller.sees_org() && ORG_ENTITIES.contains(&change.entity.as_str());
    if own_team || org_work {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "change {} touches account {}, which is outside your team",
            change.change_id, change.account_id
        )))
    }
}

/// Stores a push in one transaction: all of it or none of it, so a push cut off half way
/// is simply sent again, and what had landed counts as duplicates.
pub async fn push(pool: &SqlitePool, caller: &Caller, req: PushRequest) -> Result<PushResponse> {
    req.check_version()?;
    if req.changes.len() > MAX_PUSH {
        return Err(Error::BadRequest(format!(
            "a push carries at most {MAX_PUSH} changes; this one has {}",
            req.changes.len()
        )));
    }
    for c in &req.changes {
        c.validate()?;
        if c.device_id != req.device_id {
            return Err(Error::BadRequest(format!(
                "change {} comes from device {}, not the pushing device {}",
                c.change_id, c.device_id, req.device_id
            )));
        }
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut known = HashMap::new();
    for c in &req.changes {
        check_scope(&mut tx, caller, c, &mut known).await?;
    }
    let now = Utc::now();
    let mut out = PushResponse {
        protocol: PROTOCOL_VERSION,
        accepted: 0,
        duplicates: 0,
        conflicts: Vec::new(),
    };
    for c in &req.changes {
        let body = serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))?;
        let hlc = c.hlc.encode();
        let seq: Option<i64> = sqlx::query_scalar(
            "INSERT INTO changes (change_id, entity, entity_id, account_id, field, hlc, device_id, user_id, body, received_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(change_id) DO NOTHING RETURNING seq",
        )
        .bind(&c.change_id)
        .bind(&c.entity)
        .bind(&c.entity_id)
        .bind(&c.account_id)
        .bind(&c.field)
        .bind(&hlc)
        .bind(&c.device_id)
        .bind(&caller.user_id)
        .bind(&body)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else {
            out.duplicates += 1;
            continue;
        };
        out.accepted += 1;
        let winner: Option<(String, i64)> = sqlx::query_as(
            "SELECT hlc, seq FROM field_winners WHERE entity = ? AND entity_id = ? AND field = ?",
        )
        .bind(&c.entity)
        .bind(&c.entity_id)
        .bind(&c.field)
        .fetch_optional(&mut *tx)
        .await?;
        match winner {
            Some((winning_hlc, winner_seq)) if winning_hlc >= hlc => {
                sqlx::query("INSERT INTO conflicts (user_id, lost_seq, winner_seq, created_at) VALUES (?, ?, ?, ?)")
                    .bind(&caller.user_id)
                    .bind(seq)
                    .bind(winner_seq)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let winner_body: String =
                    sqlx::query_scalar("SELECT body FROM changes WHERE seq = ?")
                        .bind(winner_seq)
                        .fetch_one(&mut *tx)
                        .await?;
                out.conflicts.push(Conflict {
                    lost: c.clone(),
                    winner: parse(&winner_body)?,
                });
            }
            _ => {
                sqlx::query(
                    "INSERT INTO field_winners (entity, entity_id, field, hlc, seq) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc, seq = excluded.seq",
                )
                .bind(&c.entity)
                .bind(&c.entity_id)
                .bind(&c.field)
                .bind(&hlc)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(out)
}

fn parse(body: &str) -> Result<Change> {
    serde_json::from_str(body)
        .map_err(|e| Error::Internal(format!("a stored change is unreadable: {e}")))
}

/// Changes after `since` that the caller may see, oldest first.
pub async fn pull(
    pool: &SqlitePool,
    caller: &Caller,
    protocol: u32,
    since: i64,
    limit: u32,
) -> Result<PullResponse> {
    check_version(protocol)?;
    let limit = limit.clamp(1, MAX_PULL);
    let org: Vec<String> = ORG_ENTITIES.iter().map(|e| e.to_string()).collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, body FROM changes WHERE seq > ? AND ( ? \
           OR account_id IN (SELECT account_id FROM account_scope WHERE team_id = ?) \
           OR (? AND entity IN (SELECT value FROM json_each(?))) ) \
         ORDER BY seq LIMIT ?",
    )
    .bind(since)
    .bind(caller.is_admin())
    .bind(&caller.team_id)
    .bind(caller.sees_org())
    .bind(serde_json::to_string(&org).unwrap_or_default())
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() > limit as usize;
    let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
    for (seq, body) in rows.into_iter().take(limit as usize) {
        changes.push(Sequenced {
            seq,
            change: parse(&body)?,
        });
    }
    let cursor = changes.last().map_or(since, |c| c.seq);
    Ok(PullResponse {
        protocol: PROTOCOL_VERSION,
        changes,
        cursor,
        more,
    })
}

/// The caller's edits that lost to later ones, newest first.
pub async fn conflicts(pool: &SqlitePool, caller: &Caller) -> Result<Vec<Conflict>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT l.body, w.body FROM conflicts c JOIN changes l ON l.seq = c.lost_seq \
         JOIN changes w ON w.seq = c.winner_seq WHERE c.user_id = ? ORDER BY c.id DESC LIMIT 200",
    )
    .bind(&caller.user_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|(l, w)| {
            Ok(Conflict {
                lost: parse(l)?,
                winner: parse(w)?,
            })
        })
        .collect()
}
