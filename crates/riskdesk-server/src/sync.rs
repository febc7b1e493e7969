//! Push and pull: the server side of the protocol.

mod emails;
mod pull;
mod records;
mod winners;

use std::collections::HashMap;

use chrono::Utc;
use riskdesk_sync::change::{DELETED, DIRECTORY_ACCOUNT};
use riskdesk_sync::hlc::MAX_CLOCK_SKEW_MS;
use riskdesk_sync::{Change, Conflict, PushRequest, PushResponse, PROTOCOL_VERSION};
use sqlx::{Any, Transaction};

use crate::auth::Caller;
use crate::db::{self, Db};
use crate::error::{Error, Result};
pub use pull::{pull, StoredPull, StoredRecord, MAX_PULL, MAX_PULL_BYTES};
use records::NewRecord;

/// The most changes (fields) one push may carry; a first sync sends its book in pages.
pub const MAX_PUSH: usize = 10_000;

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
pub(crate) fn forbidden(why: String) -> Error {
    Error::Forbidden(why)
}

fn now_ms() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

/// What a push may contain before anything is read: known entities and fields, bounded
/// values, one device, no stamp from the future.
fn check_shape(req: &PushRequest) -> Result<()> {
    let n = req.len();
    if n > MAX_PUSH {
        return Err(Error::BadRequest(format!(
            "a push carries at most {MAX_PUSH} changes; this one has {n}"
        )));
    }
    let limit = now_ms().saturating_add(MAX_CLOCK_SKEW_MS);
    let mut bytes = 0usize;
    for r in &req.records {
        r.validate()?;
        if r.hlc.device != req.device_id {
            return Err(Error::BadRequest(format!(
                "change {} comes from device {}, not the pushing device {}",
                r.id(),
                r.hlc.device,
                req.device_id
            )));
        }
        if r.hlc.wall_ms > limit {
            let ahead = (r.hlc.wall_ms - now_ms()) / 60_000;
            return Err(Error::BadRequest(format!(
                "change {} is stamped {} minutes ahead of the server's clock: the clock of device {} is wrong; set it right and sync again",
                r.id(), ahead, req.device_id
            )));
        }
        bytes += r
            .fields
            .iter()
            .map(|f| f.value.to_string().len())
            .sum::<usize>();
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
    db: &Db,
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
        None => person_email(db, tx, person).await?,
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
            owner_teams.insert(owner, team_of_person(db, tx, changes, owner).await?);
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
        resend_account(db, tx, caller, &account).await?;
    }
    Ok(teams)
}

/// An account that moved to another team is sent again to the devices that now see it:
/// every record's winning fields are sequenced anew (same stamps and values, so a device
/// that has them already keeps them), since those devices' cursors passed them long ago.
async fn resend_account(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
    account: &str,
) -> Result<()> {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let winners = winners::of_account(db, tx, account).await?;
    let mut again = Vec::with_capacity(winners.len());
    for (stored, won) in &winners {
        let fields: Vec<_> = stored
            .fields()?
            .into_iter()
            .filter(|f| won.contains(&f.field))
            .collect();
        again.push(NewRecord {
            change_id: format!("{}~{tag}", stored.change_id),
            entity: &stored.entity,
            entity_id: &stored.entity_id,
            account_id: &stored.account_id,
            hlc: stored.hlc.clone(),
            device_id: &stored.device_id,
            fields: serde_json::to_string(&fields).map_err(|e| Error::Internal(e.to_string()))?,
        });
    }
    let now = db::time(Utc::now());
    let n = records::insert(db, tx, &caller.user_id, &now, &again)
        .await?
        .len();
    tracing::info!(account, records = n, "a moved account's records sent again");
    Ok(())
}

/// The email a directory person has on the server now, lower-cased.
async fn person_email(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    person: &str,
) -> Result<Option<String>> {
    let Some(stored) = winners::winner_of(db, tx, "person", person, "email").await? else {
        return Ok(None);
    };
    Ok(stored
        .change("email")?
        .value
        .as_str()
        .map(|e| e.trim().to_lowercase()))
}

/// The directory is the organisation's: admins and managers keep it; anyone may fix
/// their own name and title. Nobody deletes a team or a person (people are deactivated:
/// devices hold records they own).
async fn check_directory(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
    c: &Change,
) -> Result<()> {
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
        person_email(db, tx, &c.entity_id).await?
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
/// thousands of changes is a handful of statements, and each record one row. Scope and
/// identity come from the server's records, never from the push: a refusal names the
/// change and refuses it whole.
pub async fn push(db: &Db, caller: &Caller, req: PushRequest) -> Result<PushResponse> {
    req.check_version()?;
    let t0 = std::time::Instant::now();
    check_shape(&req)?;
    let changes: Vec<Change> = req.changes().collect();
    let mut tx = db.begin_write().await?;
    let t_begin = t0.elapsed();
    if !req.is_empty() {
        claim_device(&mut tx, caller, &req.device_id).await?;
    }
    let fresh = check_records(db, &mut tx, &changes).await?;
    let t_records = t0.elapsed();
    let teams = scopes(db, &mut tx, caller, &changes).await?;
    let t_scopes = t0.elapsed();
    for c in &changes {
        if c.account_id == DIRECTORY_ACCOUNT {
            check_directory(db, &mut tx, caller, c).await?;
        } else {
            check_scope(caller, c, teams.get(&c.account_id).and_then(Option::as_ref))?;
        }
    }
    emails::check(db, &mut tx, &changes).await?;
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
    let new: Vec<NewRecord> = req
        .records
        .iter()
        .map(|r| {
            Ok(NewRecord {
                change_id: r.id().to_string(),
                entity: &r.entity,
                entity_id: &r.entity_id,
                account_id: &r.account_id,
                hlc: r.hlc.encode(),
                device_id: &req.device_id,
                fields: serde_json::to_string(&r.fields)
                    .map_err(|e| Error::Internal(e.to_string()))?,
            })
        })
        .collect::<Result<_>>()?;
    let inserted = records::insert(db, &mut tx, &caller.user_id, &now, &new).await?;
    let t_inserted = t0.elapsed();
    // Each record stored for the first time, with its sequence number (a record a retried
    // push carries again was stored before).
    let index: HashMap<&str, usize> = new
        .iter()
        .enumerate()
        .rev()
        .map(|(i, r)| (r.change_id.as_str(), i))
        .collect();
    let accepted: Vec<(usize, i64)> = inserted
        .iter()
        .filter_map(|(seq, id)| index.get(id.as_str()).map(|i| (*i, *seq)))
        .collect();
    let conflicts = settle_winners(db, &mut tx, caller, &req, &new, &accepted, &now).await?;
    let t_winners = t0.elapsed();
    tx.commit().await?;
    tracing::debug!(?t_begin, ?t_records, ?t_scopes, ?t_checked, ?t_inserted, ?t_winners, total = ?t0.elapsed(), "push phases");
    let accepted_changes: usize = accepted
        .iter()
        .map(|(i, _)| req.records[*i].fields.len())
        .sum();
    Ok(PushResponse {
        protocol: PROTOCOL_VERSION,
        accepted: accepted_changes as u32,
        duplicates: (req.len() - accepted_changes) as u32,
        conflicts,
    })
}

/// Last writer wins per field: the accepted records' fields become their fields' winners
/// where their stamps are later (decided here, on one row of winners per record). A field that lost to another device's later edit of a
/// different value is a conflict, recorded for the user who made it (a device
/// superseding itself is none).
async fn settle_winners(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    caller: &Caller,
    req: &PushRequest,
    new: &[NewRecord<'_>],
    accepted: &[(usize, i64)],
    now: &str,
) -> Result<Vec<Conflict>> {
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<(&str, &str)> = {
        let mut keys: Vec<(&str, &str)> = accepted
            .iter()
            .map(|(i, _)| {
                (
                    req.records[*i].entity.as_str(),
                    req.records[*i].entity_id.as_str(),
                )
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    };
    let mut known = winners::load(db, tx, &keys).await?;
    let mut state: HashMap<(&str, &str), winners::Winners> = HashMap::with_capacity(keys.len());
    // Each accepted field that did not win.
    let mut lost: Vec<(usize, i64, &str)> = Vec::new();
    for (i, seq) in accepted {
        let (r, hlc) = (&req.records[*i], new[*i].hlc.as_str());
        let w = state
            .entry((r.entity.as_str(), r.entity_id.as_str()))
            .or_insert_with(|| {
                known
                    .remove(&(r.entity.clone(), r.entity_id.clone()))
                    .unwrap_or_default()
            });
        for f in &r.fields {
            if w.offer(&f.field, hlc, *seq).is_some() {
                lost.push((*i, *seq, f.field.as_str()));
            }
        }
    }
    // ... and the record change that finally holds it, when another device made it (a
    // device superseding itself is no conflict).
    let beaten: Vec<(usize, i64, &str, i64)> = lost
        .into_iter()
        .filter_map(|(i, seq, field)| {
            let r = &req.records[i];
            let (won, by) = state
                .get(&(r.entity.as_str(), r.entity_id.as_str()))?
                .get(field)?;
            let device = riskdesk_sync::Hlc::decode(won).map(|h| h.device);
            (device.as_deref() != Some(req.device_id.as_str())).then_some((i, seq, field, *by))
        })
        .collect();
    winners::save(db, tx, state.into_iter().collect()).await?;
    if beaten.is_empty() {
        return Ok(Vec::new());
    }
    let winner_seqs: Vec<i64> = beaten.iter().map(|b| b.3).collect();
    let stored = records::by_seq(db, tx, &winner_seqs).await?;
    let mut conflicts = Vec::new();
    for (i, seq, field, by) in beaten {
        let Some(lost) = req.records[i].changes().find(|c| c.field == field) else {
            continue;
        };
        let winner = stored
            .get(&by)
            .ok_or_else(|| Error::Internal(format!("record change {by} won {field} and is gone")))?
            .change(field)?;
        // Two devices that set a field to the same value did not disagree (two copies
        // of the same directory, say): nothing to tell anyone.
        if lost.value == winner.value {
            continue;
        }
        sqlx::query(
            "INSERT INTO conflicts (user_id, lost_seq, winner_seq, field, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(caller.user_id.clone())
        .bind(seq)
        .bind(by)
        .bind(field.to_string())
        .bind(now.to_string())
        .execute(&mut **tx)
        .await?;
        conflicts.push(Conflict { lost, winner });
    }
    Ok(conflicts)
}

/// The caller's edits that lost to later ones, newest first.
pub async fn conflicts(db: &Db, caller: &Caller) -> Result<Vec<Conflict>> {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT lost_seq, winner_seq, field FROM conflicts WHERE user_id = $1 ORDER BY id DESC LIMIT 200",
    )
    .bind(caller.user_id.clone())
    .fetch_all(&db.pool)
    .await?;
    let seqs: Vec<i64> = rows.iter().flat_map(|(l, w, _)| [*l, *w]).collect();
    let mut tx = db.pool.begin().await?;
    let stored = records::by_seq(db, &mut tx, &seqs).await?;
    tx.commit().await?;
    rows.iter()
        .map(|(l, w, field)| {
            let find = |seq: &i64| {
                stored.get(seq).ok_or_else(|| {
                    Error::Internal(format!("conflict names record change {seq}, which is gone"))
                })
            };
            Ok(Conflict {
                lost: find(l)?.change(field)?,
                winner: find(w)?.change(field)?,
            })
        })
        .collect()
}
