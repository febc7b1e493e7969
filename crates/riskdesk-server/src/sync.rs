//! Push and pull: the server side of the protocol.

use std::collections::HashMap;

use chrono::Utc;
use riskdesk_sync::change::{check_version, DELETED, DIRECTORY_ACCOUNT};
use riskdesk_sync::hlc::MAX_CLOCK_SKEW_MS;
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
    "cta_task",
    "risk_update",
    "escalation",
    "escalation_action",
    "escalation_decision",
];

/// The most bytes of values one push may carry (the request body is capped in `router`).
pub const MAX_PUSH_VALUE_BYTES: usize = 12 * 1024 * 1024;
/// About the most bytes of changes one pull page returns: a page ends after this many
/// or at its count of changes, whichever comes first.
pub const MAX_PULL_BYTES: i64 = 4 * 1024 * 1024;

fn forbidden(why: String) -> Error {
    Error::Forbidden(why)
}

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

/// What a push may contain before anything is read: known entities and fields, bounded
/// values, one device, no stamp from the future.
fn check_shape(req: &PushRequest) -> Result<()> {
    if req.changes.len() > MAX_PUSH {
        return Err(Error::BadRequest(format!(
            "a push carries at most {MAX_PUSH} changes; this one has {}",
            req.changes.len()
        )));
    }
    let limit = now_ms().saturating_add(MAX_CLOCK_SKEW_MS);
    let mut bytes = 0usize;
    for c in &req.changes {
        c.validate()?;
        if c.device_id != req.device_id {
            return Err(Error::BadRequest(format!(
                "change {} comes from device {}, not the pushing device {}",
                c.change_id, c.device_id, req.device_id
            )));
        }
        if c.hlc.wall_ms > limit {
            let ahead = (c.hlc.wall_ms - now_ms()) / 60_000;
            return Err(Error::BadRequest(format!(
                "change {} is stamped {} minutes ahead of the server's clock: the clock of device {} is wrong; set it right and sync again",
                c.change_id, ahead, c.device_id
            )));
        }
        bytes += c.value.to_string().len();
    }
    if bytes > MAX_PUSH_VALUE_BYTES {
        return Err(Error::BadRequest(format!(
            "a push carries at most {MAX_PUSH_VALUE_BYTES} bytes of values; this one has {bytes}: send it in smaller pages"
        )));
    }
    Ok(())
}

/// A device id belongs to the user who first pushed with it: nobody else may push as
/// that device (its owner would then never be sent those changes).
async fn claim_device(tx: &mut Transaction<'_, Any>, caller: &Caller, device: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO devices (device_id, user_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT(device_id) DO NOTHING",
    )
    .bind(device.to_string())
    .bind(caller.user_id.clone())
    .bind(db::time(Utc::now()))
    .execute(&mut **tx)
    .await?;
    let owner: String = sqlx::query_scalar("SELECT user_id FROM devices WHERE device_id = $1")
        .bind(device.to_string())
        .fetch_one(&mut **tx)
        .await?;
    if owner != caller.user_id {
        return Err(forbidden(format!(
            "device {device} belongs to another user: each device pushes under its own id"
        )));
    }
    Ok(())
}

/// The record each change names must belong to the account it says: the first write of
/// a record fixes its account, and a change naming another one is refused. Returns the
/// records seen for the first time.
async fn check_records(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    changes: &[Change],
) -> Result<Vec<(String, String, String)>> {
    let mut claimed: HashMap<(&str, &str), &str> = HashMap::new();
    for c in changes {
        match claimed.insert((&c.entity, &c.entity_id), &c.account_id) {
            Some(other) if other != c.account_id => {
                return Err(forbidden(format!(
                    "{} {} is named under two accounts ({other} and {}) in one push",
                    c.entity, c.entity_id, c.account_id
                )))
            }
            _ => {}
        }
    }
    let keys: Vec<[&str; 2]> = claimed.keys().map(|(e, id)| [*e, *id]).collect();
    let list = serde_json::to_string(&keys).map_err(|e| Error::Internal(e.to_string()))?;
    let known: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT s.entity, s.entity_id, s.account_id FROM record_scope s JOIN ({}) AS k \
         ON s.entity = k.value->>0 AND s.entity_id = k.value->>1",
        format_args!("SELECT value FROM {}", db.json_rows("$1"))
    ))
    .bind(list)
    .fetch_all(&mut **tx)
    .await?;
    let mut fresh: Vec<(String, String, String)> = Vec::new();
    let known: HashMap<(String, String), String> =
        known.into_iter().map(|(e, id, a)| ((e, id), a)).collect();
    for ((entity, id), account) in claimed {
        match known.get(&(entity.to_string(), id.to_string())) {
            Some(fixed) if fixed != account => {
                return Err(forbidden(format!(
                    "{entity} {id} belongs to account {fixed}, not {account}: a record never moves to another account"
                )))
            }
            Some(_) => {}
            None => fresh.push((entity.to_string(), id.to_string(), account.to_string())),
        }
    }
    Ok(fresh)
}

/// The team of the server user a directory person is, found by the person's email:
/// the server's users table, not the directory, says who is in which team.
async fn team_of_person(
    tx: &mut Transaction<'_, Any>,
    changes: &[Change],
    person: &str,
) -> Result<Option<Option<String>>> {
    let pushed = changes
        .iter()
        .rev()
        .find(|c| c.entity == "person" && c.entity_id == person && c.field == "email")
        .and_then(|c| c.value.as_str().map(str::to_string));
    let email = match pushed {
        Some(e) => Some(e),
        None => person_email(tx, person).await?,
    };
    let Some(email) = email else {
        return Ok(None);
    };
    let team: Option<Option<String>> =
        sqlx::query_scalar("SELECT team_id FROM users WHERE lower(email) = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(team)
}

/// The team of each account the push touches. A new account joins its owner's team (the
/// owner's server user), else the pusher's; an owner change that moves an account to
/// another team is a manager's or an admin's act, and moves its scope with it.
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
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT account_id, team_id FROM account_scope WHERE account_id IN ({})",
        db.text_list("$1")
    ))
    .bind(list)
    .fetch_all(&mut **tx)
    .await?;
    let mut teams: HashMap<String, Option<String>> = rows.into_iter().collect();
    // The latest owner each account is given in this push.
    let mut owners: HashMap<&str, &str> = HashMap::new();
    for c in changes {
        if c.entity == "account" && c.field == "owner_id" {
            match c.value.as_str() {
                Some(owner) => owners.insert(&c.account_id, owner),
                None => owners.remove(c.account_id.as_str()),
            };
        }
    }
    let mut owner_teams: HashMap<&str, Option<Option<String>>> = HashMap::new();
    for owner in owners.values() {
        if !owner_teams.contains_key(owner) {
            owner_teams.insert(owner, team_of_person(tx, changes, owner).await?);
        }
    }
    let manages = matches!(caller.role.as_str(), "manager" | "admin");
    let mut writes: Vec<(String, String)> = Vec::new();
    let mut moved: Vec<String> = Vec::new();
    for account in accounts {
        let owner_team = owners
            .get(account)
            .and_then(|o| owner_teams.get(o).cloned().flatten())
            .flatten();
        match teams.get(account).cloned() {
            None => {
                let Some(team) = owner_team.or_else(|| caller.team_id.clone()) else {
                    return Err(forbidden(format!(
                        "account {account} would belong to no team: you have none, so give it an owner who has one"
                    )));
                };
                writes.push((account.to_string(), team.clone()));
                teams.insert(account.to_string(), Some(team));
            }
            Some(current) => {
                if let Some(team) = owner_team.filter(|t| Some(t) != current.as_ref()) {
                    if !manages {
                        return Err(forbidden(format!(
                            "giving account {account} an owner in another team moves it there: that is a manager's act"
                        )));
                    }
                    tracing::info!(account, team = %team, by = %caller.email, "account moved to another team");
                    moved.push(account.to_string());
                    writes.push((account.to_string(), team.clone()));
                    teams.insert(account.to_string(), Some(team));
                }
            }
        }
    }
    if !writes.is_empty() {
        let rows = serde_json::to_string(&writes).map_err(|e| Error::Internal(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO account_scope (account_id, team_id) SELECT value->>0, value->>1 FROM {} WHERE true \
             ON CONFLICT(account_id) DO UPDATE SET team_id = excluded.team_id",
            db.json_rows("$1")
        ))
        .bind(rows)
        .execute(&mut **tx)
        .await?;
    }
    for account in moved {
        resend_account(tx, caller, &account).await?;
    }
    Ok(teams)
}

/// An account that moved to another team is sent again to the devices that now see it:
/// every record's winning fields are sequenced anew (same stamps and values, so a device
/// that has them already keeps them), since those devices' cursors passed them long ago.
async fn resend_account(
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
    account: &str,
) -> Result<()> {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let n = sqlx::query(
        "INSERT INTO changes (change_id, entity, entity_id, account_id, field, hlc, device_id, user_id, body, received_at, bytes_end) \
         SELECT c.change_id || '~' || $1, c.entity, c.entity_id, c.account_id, c.field, c.hlc, c.device_id, $2, c.body, $3, \
           $5 + SUM(LENGTH(c.body)) OVER (ORDER BY c.seq) \
         FROM field_winners w JOIN changes c ON c.seq = w.seq \
         JOIN record_scope s ON s.entity = w.entity AND s.entity_id = w.entity_id \
         WHERE s.account_id = $4 ORDER BY c.seq",
    )
    .bind(tag)
    .bind(caller.user_id.clone())
    .bind(db::time(Utc::now()))
    .bind(account.to_string())
    .bind(bytes_so_far(tx).await?)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    tracing::info!(account, changes = n, "a moved account's records sent again");
    Ok(())
}

/// The email a directory person has on the server now, lower-cased.
async fn person_email(tx: &mut Transaction<'_, Any>, person: &str) -> Result<Option<String>> {
    let body: Option<String> = sqlx::query_scalar(
        "SELECT c.body FROM field_winners w JOIN changes c ON c.seq = w.seq \
         WHERE w.entity = 'person' AND w.entity_id = $1 AND w.field = 'email'",
    )
    .bind(person.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(body
        .map(|b| parse(&b))
        .transpose()?
        .and_then(|w| w.value.as_str().map(|e| e.trim().to_lowercase())))
}

/// The directory is the organisation's: admins and managers keep it; anyone may fix
/// their own name and title. Nobody deletes a team or a person (people are deactivated:
/// devices hold records they own).
async fn check_directory(tx: &mut Transaction<'_, Any>, caller: &Caller, c: &Change) -> Result<()> {
    if c.field == DELETED
        && matches!(c.entity.as_str(), "team" | "person")
        && c.value == serde_json::Value::Bool(true)
    {
        return Err(forbidden(format!(
            "{} {} cannot be deleted: people are deactivated, and teams and people are kept while records name them",
            c.entity, c.entity_id
        )));
    }
    let manages = matches!(caller.role.as_str(), "manager" | "admin");
    // The person's email matters for a manager's role or email change and for a user's own
    // name or title: looked up only then (a directory shared in bulk is mostly other fields).
    let needs_email = c.entity == "person"
        && if manages {
            matches!(c.field.as_str(), "role" | "email")
        } else {
            matches!(c.field.as_str(), "name" | "title")
        };
    let email = if needs_email {
        person_email(tx, &c.entity_id).await?
    } else {
        None
    };
    if manages {
        // A signed-in user's role and email are the server's (`riskdesk-server user add`):
        // the directory may show them, never change them.
        if let Some(email) = email
            .as_deref()
            .filter(|_| matches!(c.field.as_str(), "role" | "email"))
        {
            let role: Option<String> =
                sqlx::query_scalar("SELECT role FROM users WHERE lower(email) = $1")
                    .bind(email.to_string())
                    .fetch_optional(&mut **tx)
                    .await?;
            let same = match c.field.as_str() {
                "role" => role.as_deref() == c.value.as_str(),
                _ => c.value.as_str().map(|v| v.trim().to_lowercase()).as_deref() == Some(email),
            };
            if let Some(role) = role.filter(|_| !same) {
                return Err(forbidden(format!(
                    "{email} signs in to this server as {role}: their {} is set on the server (riskdesk-server user add), not by a push",
                    c.field
                )));
            }
        }
        return Ok(());
    }
    if matches!(c.field.as_str(), "name" | "title")
        && email.as_deref() == Some(caller.email.as_str())
    {
        return Ok(());
    }
    Err(forbidden(format!(
        "change {} sets {}.{} of {}: only admins and managers change the organisation's teams, people and playbooks (you may change your own name and title)",
        c.change_id, c.entity, c.field, c.entity_id
    )))
}

/// May `caller` write `change`, given the account's team?
fn check_scope(caller: &Caller, change: &Change, team: Option<&String>) -> Result<()> {
    if caller.is_admin() || change.account_id == DIRECTORY_ACCOUNT {
        // The directory is checked on its own (check_directory).
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
/// thousands of changes is a handful of statements. Scope and identity come from the
/// server's records, never from the push: a refusal names the change and refuses it whole.
pub async fn push(db: &Db, caller: &Caller, req: PushRequest) -> Result<PushResponse> {
    req.check_version()?;
    let t0 = std::time::Instant::now();
    check_shape(&req)?;
    let mut tx = db.begin_write().await?;
    let t_begin = t0.elapsed();
    if !req.changes.is_empty() {
        claim_device(&mut tx, caller, &req.device_id).await?;
    }
    let fresh = check_records(db, &mut tx, &req.changes).await?;
    let t_records = t0.elapsed();
    let teams = scopes(db, &mut tx, caller, &req.changes).await?;
    let t_scopes = t0.elapsed();
    for c in &req.changes {
        if c.account_id == DIRECTORY_ACCOUNT {
            check_directory(&mut tx, caller, c).await?;
        } else {
            check_scope(caller, c, teams.get(&c.account_id).and_then(Option::as_ref))?;
        }
    }
    if !fresh.is_empty() {
        let rows = serde_json::to_string(&fresh).map_err(|e| Error::Internal(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO record_scope (entity, entity_id, account_id) SELECT value->>0, value->>1, value->>2 FROM {} WHERE true \
             ON CONFLICT(entity, entity_id) DO NOTHING",
            db.json_rows("$1")
        ))
        .bind(rows)
        .execute(&mut *tx)
        .await?;
    }
    let t_checked = t0.elapsed();
    let now = db::time(Utc::now());
    let mut bytes = bytes_so_far(&mut tx).await?;
    let rows = req
        .changes
        .iter()
        .map(|c| {
            let body = serde_json::to_string(c).map_err(|e| Error::Internal(e.to_string()))?;
            bytes += body.len() as i64;
            Ok(serde_json::json!([
                c.change_id,
                c.entity,
                c.entity_id,
                c.account_id,
                c.field,
                c.hlc.encode(),
                c.device_id,
                body,
                bytes
            ]))
        })
        .collect::<Result<Vec<_>>>()?;
    let accepted: Vec<i64> = sqlx::query_scalar(&format!(
        "INSERT INTO changes (change_id, entity, entity_id, account_id, field, hlc, device_id, user_id, body, received_at, bytes_end) \
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, $1, value->>7, $2, {} \
         FROM {} WHERE true ON CONFLICT(change_id) DO NOTHING RETURNING seq",
        db.json_int("value", 8),
        db.json_rows("$3")
    ))
    .bind(caller.user_id.clone())
    .bind(now.clone())
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(&mut *tx)
    .await?;
    let t_inserted = t0.elapsed();
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
    let t_winners = t0.elapsed();
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
    let t_lost = t0.elapsed();
    tx.commit().await?;
    tracing::debug!(?t_begin, ?t_records, ?t_scopes, ?t_checked, ?t_inserted, ?t_winners, ?t_lost, total = ?t0.elapsed(), "push phases");
    Ok(PushResponse {
        protocol: PROTOCOL_VERSION,
        accepted: accepted.len() as u32,
        duplicates: (req.changes.len() - accepted.len()) as u32,
        conflicts,
    })
}

/// Where the running count of change bytes stands (pushes are serialised, so it only
/// grows with the sequence).
async fn bytes_so_far(tx: &mut Transaction<'_, Any>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE((SELECT bytes_end FROM changes ORDER BY seq DESC LIMIT 1), 0)",
    )
    .fetch_one(&mut **tx)
    .await?)
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
    if let Some(device) = device {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM devices WHERE device_id = $1")
                .bind(device.to_string())
                .fetch_optional(&db.pool)
                .await?;
        if owner.is_some_and(|o| o != caller.user_id) {
            return Err(forbidden(format!(
                "device {device} belongs to another user"
            )));
        }
    }
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
    // A page ends at `limit` changes or after about MAX_PULL_BYTES of changes, whichever
    // comes first, whatever the caller's scope: the byte bound is a range of sequence
    // numbers found through the running byte count (one index lookup), so ten teammates'
    // large values cannot make one answer hundreds of megabytes.
    let start: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT bytes_end FROM changes WHERE seq <= $1 ORDER BY seq DESC LIMIT 1), 0)",
    )
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    let crossing: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM changes WHERE bytes_end > $1 ORDER BY bytes_end LIMIT 1",
    )
    .bind(start.saturating_add(MAX_PULL_BYTES))
    .fetch_optional(&db.pool)
    .await?;
    // The crossing change itself travels: a page always makes progress.
    let bound = crossing.map_or(head, |c| c.max(since + 1).min(head));
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
    .bind(bound)
    .bind(device.unwrap_or_default().to_string())
    .bind(DIRECTORY_ACCOUNT)
    .fetch_one(&db.pool)
    .await?;
    let mut rows: Vec<PulledRow> = serde_json::from_str(&page)
        .map_err(|e| Error::Internal(format!("a page of stored changes is unreadable: {e}")))?;
    rows.sort_by_key(|r| r.0);
    let full = rows.len() > limit as usize;
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
    // A full page ends at its last change; otherwise everything up to the bound was read
    // (what the caller may not see included), and more waits beyond it if it is not the head.
    let (cursor, more) = if full {
        (last, true)
    } else {
        (bound.max(since), bound < head)
    };
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
