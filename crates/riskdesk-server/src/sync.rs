//! Push and pull: the server side of the protocol.

use std::collections::HashMap;

use chrono::Utc;
use riskdesk_sync::change::{check_version, DIRECTORY_ACCOUNT};
use riskdesk_sync::{Change, Conflict, Hlc, PushRequest, PushResponse, PROTOCOL_VERSION};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::{Any, Transaction};

use crate::auth::Caller;
use crate::db::{self, Db};
use crate::error::{Error, Result};

/// The most changes one push may carry; a first sync sends its book in pages.
pub const MAX_PUSH: usize = 10_000;
/// The most changes one pull returns.
pub const MAX_PULL: u32 = 10_000;

/// Escalation work managers and executives see and write across the organisation.
pub const ORG_ENTITIES: &[&str] = &[
    "account",
    "cta",
    "risk_update",
    "escalation",
    "escalation_action",
    "escalation_decision",
];

/// The team of each account the push touches; accounts nobody has claimed join the
/// caller's team. Two statements, however many accounts.
async fn scopes(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
    changes: &[Change],
) -> Result<HashMap<String, Option<String>>> {
    let mut accounts: Vec<&str> = changes
        .iter()
        .map(|c| c.account_id.as_str())
        .filter(|a| *a != DIRECTORY_ACCOUNT)
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let list = serde_json::to_string(&accounts).map_err(|e| Error::Internal(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO account_scope (account_id, team_id) SELECT value, $1 FROM ({}) AS l WHERE true \
         ON CONFLICT(account_id) DO NOTHING",
        db.text_list("$2")
    ))
    .bind(caller.team_id.clone())
    .bind(list.clone())
    .execute(&mut **tx)
    .await?;
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT account_id, team_id FROM account_scope WHERE account_id IN ({})",
        db.text_list("$1")
    ))
    .bind(list)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// May `caller` write `change`, given the account's team?
fn check_scope(caller: &Caller, change: &Change, team: Option<&String>) -> Result<()> {
    if caller.is_admin() || change.account_id == DIRECTORY_ACCOUNT {
        // The directory is the organisation's (Change::validate keeps work out of it).
        return Ok(());
    }
    let own_team = team.is_some() && team == caller.team_id.as_ref();
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
/// is simply sent again, and what had landed counts as duplicates. Set-based: a page of
/// thousands of changes is a handful of statements.
pub async fn push(db: &Db, caller: &Caller, req: PushRequest) -> Result<PushResponse> {
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
    let mut tx = db.begin_write().await?;
    let teams = scopes(db, &mut tx, caller, &req.changes).await?;
    for c in &req.changes {
        check_scope(caller, c, teams.get(&c.account_id).and_then(Option::as_ref))?;
    }
    let now = db::time(Utc::now());
    let rows = req
        .changes
        .iter()
        .map(|c| {
            Ok(serde_json::json!([
                c.change_id,
                c.entity,
                c.entity_id,
                c.account_id,
                c.field,
                c.hlc.encode(),
                c.device_id,
                serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))?
            ]))
        })
        .collect::<Result<Vec<_>>>()?;
    let accepted: Vec<i64> = sqlx::query_scalar(&format!(
        "INSERT INTO changes (change_id, entity, entity_id, account_id, field, hlc, device_id, user_id, body, received_at) \
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, $1, value->>7, $2 \
         FROM {} WHERE true ON CONFLICT(change_id) DO NOTHING RETURNING seq",
        db.json_rows("$3")
    ))
    .bind(caller.user_id.clone())
    .bind(now.clone())
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(&mut *tx)
    .await?;
    let seqs = serde_json::to_string(&accepted).map_err(|e| Error::Internal(e.to_string()))?;
    // One candidate per field (its latest change in this push): an upsert may touch a row
    // only once per statement on PostgreSQL.
    sqlx::query(&format!(
        "INSERT INTO field_winners (entity, entity_id, field, hlc, seq) \
         SELECT entity, entity_id, field, hlc, seq FROM ( \
           SELECT entity, entity_id, field, hlc, seq, \
             ROW_NUMBER() OVER (PARTITION BY entity, entity_id, field ORDER BY hlc DESC) AS nth \
           FROM changes WHERE seq IN ({})) AS latest WHERE nth = 1 \
         ON CONFLICT(entity, entity_id, field) DO UPDATE SET hlc = excluded.hlc, seq = excluded.seq \
         WHERE excluded.hlc > field_winners.hlc",
        db.int_list("$1")
    ))
    .bind(seqs.clone())
    .execute(&mut *tx)
    .await?;
    // An accepted change that is not its field's winner lost to another device's later
    // edit: the user who made it is told (a device superseding itself is no conflict).
    let lost: Vec<(i64, i64, String, String)> = sqlx::query_as(&format!(
        "SELECT c.seq, w.seq, c.body, wc.body FROM changes c \
         JOIN field_winners w ON w.entity = c.entity AND w.entity_id = c.entity_id AND w.field = c.field \
         JOIN changes wc ON wc.seq = w.seq \
         WHERE c.seq IN ({}) AND w.seq <> c.seq AND wc.device_id <> c.device_id ORDER BY c.seq",
        db.int_list("$1")
    ))
    .bind(seqs)
    .fetch_all(&mut *tx)
    .await?;
    let mut conflicts = Vec::with_capacity(lost.len());
    for (lost_seq, winner_seq, lost_body, winner_body) in lost {
        let (lost, winner) = (parse(&lost_body)?, parse(&winner_body)?);
        // Two devices that set a field to the same value did not disagree (two copies of
        // the same directory, say): nothing to tell anyone.
        if lost.value == winner.value {
            continue;
        }
        sqlx::query(
            "INSERT INTO conflicts (user_id, lost_seq, winner_seq, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(caller.user_id.clone())
        .bind(lost_seq)
        .bind(winner_seq)
        .bind(now.clone())
        .execute(&mut *tx)
        .await?;
        conflicts.push(Conflict { lost, winner });
    }
    tx.commit().await?;
    Ok(PushResponse {
        protocol: PROTOCOL_VERSION,
        accepted: accepted.len() as u32,
        duplicates: (req.changes.len() - accepted.len()) as u32,
        conflicts,
    })
}

fn parse(body: &str) -> Result<Change> {
    serde_json::from_str(body)
        .map_err(|e| Error::Internal(format!("a stored change is unreadable: {e}")))
}

/// A pull as sent: the same JSON as `riskdesk_sync::PullResponse`, each value passed
/// through as stored (it was validated on the way in) rather than parsed and written out
/// again.
#[derive(Debug, Serialize)]
pub struct StoredPull {
    pub protocol: u32,
    pub records: Vec<StoredRecord>,
    pub cursor: i64,
    pub more: bool,
    pub head: i64,
}

/// `riskdesk_sync::PulledRecord` as sent.
#[derive(Debug, Serialize)]
pub struct StoredRecord {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub account_id: String,
    pub hlc: Hlc,
    pub fields: Vec<StoredField>,
}

#[derive(Debug, Serialize)]
pub struct StoredField {
    pub change_id: String,
    pub field: String,
    pub value: Box<RawValue>,
}

type PulledRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Box<RawValue>,
);

/// Changes after `since` that the caller may see, oldest first; without those `device`
/// made (it has them already: half of a round trip's pull, otherwise).
pub async fn pull(
    db: &Db,
    caller: &Caller,
    protocol: u32,
    since: i64,
    limit: u32,
    device: Option<&str>,
) -> Result<StoredPull> {
    check_version(protocol)?;
    let limit = limit.clamp(1, MAX_PULL);
    let org: Vec<String> = ORG_ENTITIES.iter().map(|e| e.to_string()).collect();
    // Read first: writers commit in sequence order (db::begin_write), so everything up to
    // the head is in place, and a last page may move the cursor to it past changes the
    // caller does not get.
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
        .fetch_one(&db.pool)
        .await?;
    // EXISTS per change, not IN (all the team's accounts): a round trip of a thousand
    // changes must not read a 100K-account scope table. Cheapest test first: the
    // organisation's escalation work needs no lookup.
    let rows = format!(
        "SELECT seq, change_id, entity, entity_id, account_id, field, hlc, {value} AS value FROM changes c WHERE seq > $1 AND seq <= $7 AND device_id <> $8 AND ( $2 \
           OR account_id = $9 OR ($4 AND entity IN ({})) \
           OR EXISTS (SELECT 1 FROM account_scope s WHERE s.account_id = c.account_id AND s.team_id = $3) ) \
         ORDER BY seq LIMIT $6",
        db.text_list("$5"),
        value = db.json_member("body", "value"),
    );
    let page: String = sqlx::query_scalar(&db.json_page(
        &rows,
        &[
            "seq",
            "change_id",
            "entity",
            "entity_id",
            "account_id",
            "field",
            "hlc",
            "value",
        ],
        &["value"],
    ))
    .bind(since)
    .bind(caller.is_admin())
    .bind(caller.team_id.clone())
    .bind(caller.sees_org())
    .bind(serde_json::to_string(&org).unwrap_or_default())
    .bind(i64::from(limit) + 1)
    .bind(head)
    .bind(device.unwrap_or_default().to_string())
    .bind(DIRECTORY_ACCOUNT)
    .fetch_one(&db.pool)
    .await?;
    let mut rows: Vec<PulledRow> = serde_json::from_str(&page)
        .map_err(|e| Error::Internal(format!("a page of stored changes is unreadable: {e}")))?;
    rows.sort_by_key(|r| r.0);
    let more = rows.len() > limit as usize;
    let mut records: Vec<StoredRecord> = Vec::new();
    let mut last = since;
    let mut last_hlc = String::new();
    for (seq, change_id, entity, entity_id, account_id, field, hlc, value) in
        rows.into_iter().take(limit as usize)
    {
        last = seq;
        let unreadable =
            |what: &str| Error::Internal(format!("stored change {seq} has an unreadable {what}"));
        let field = StoredField {
            change_id,
            field,
            value,
        };
        // Consecutive changes to one record at one stamp travel as one record.
        match records.last_mut() {
            Some(r)
                if r.entity == entity
                    && r.entity_id == entity_id
                    && r.account_id == account_id
                    && last_hlc == hlc =>
            {
                r.seq = seq;
                r.fields.push(field);
            }
            _ => {
                records.push(StoredRecord {
                    seq,
                    entity,
                    entity_id,
                    account_id,
                    hlc: Hlc::decode(&hlc).ok_or_else(|| unreadable("stamp"))?,
                    fields: vec![field],
                });
                last_hlc = hlc;
            }
        }
    }
    let cursor = if more { last } else { head.max(since) };
    Ok(StoredPull {
        head: head.max(cursor),
        protocol: PROTOCOL_VERSION,
        records,
        cursor,
        more,
    })
}

/// The caller's edits that lost to later ones, newest first.
pub async fn conflicts(db: &Db, caller: &Caller) -> Result<Vec<Conflict>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT l.body, w.body FROM conflicts c JOIN changes l ON l.seq = c.lost_seq \
         JOIN changes w ON w.seq = c.winner_seq WHERE c.user_id = $1 ORDER BY c.id DESC LIMIT 200",
    )
    .bind(caller.user_id.clone())
    .fetch_all(&db.pool)
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
