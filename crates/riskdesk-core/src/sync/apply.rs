//! Applying pulled changes on a device. What the device knows of each synced record is
//! one row of `sync_records` (migration 0010): the stamp most of its fields carry plus a
//! bitmask of which, the fields stamped otherwise, the winning values not yet written to
//! the record's table, and whether it is deleted. A pulled change wins its field when
//! its stamp is later; the records with winning fields are then written to their tables
//! in a few set-based statements per kind of record, parents first.
//!
//! One row per record rather than per field: a first sync of a 100K-account book writes
//! 100K small rows instead of 1.6M, which is most of what it used to cost.

use std::collections::{BTreeMap, HashMap, HashSet};

use riskdesk_sync::change::DELETED;
use riskdesk_sync::Change;
use serde_json::{Map, Value};

use super::{SyncTable, TABLES};
use crate::store::{Tx, MAX_VARIABLES};
use crate::{Error, Result, Store};
use riskdesk_sync::hlc::MAX_CLOCK_SKEW_MS;

/// What this device knows of one record.
#[derive(Debug, Default)]
struct Known {
    stamp: Option<String>,
    /// Bit i set: `columns[i]` carries `stamp`.
    stamp_fields: i64,
    /// Fields stamped otherwise (local edits, later pulls, tombstones, unknown fields).
    clocks: BTreeMap<String, String>,
    /// Winning values not yet in the record's table.
    staged: Option<Map<String, Value>>,
    deleted: bool,
    /// Why the store refused the record the last time it was tried (None: written, or
    /// simply waiting for more fields).
    set_aside: Option<String>,
}

impl Known {
    fn clock(&self, t: &SyncTable, field: &str) -> Option<&str> {
        if let Some(c) = self.clocks.get(field) {
            return Some(c);
        }
        let i = t.columns.iter().position(|c| *c == field)?;
        if self.stamp_fields >> i & 1 == 1 {
            self.stamp.as_deref()
        } else {
            None
        }
    }

    /// Re-encodes around the commonest stamp: a record pulled whole costs one stamp and
    /// a bitmask, not a stamp per field.
    fn normalize(&mut self, t: &SyncTable) {
        let columns: Vec<Option<String>> = t
            .columns
            .iter()
            .map(|c| self.clock(t, c).map(str::to_string))
            .collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for c in columns.iter().flatten() {
            *counts.entry(c.as_str()).or_default() += 1;
        }
        let stamp = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)))
            .map(|(s, _)| s.to_string());
        let mut clocks: BTreeMap<String, String> = self
            .clocks
            .iter()
            .filter(|(f, _)| !t.columns.contains(&f.as_str()))
            .map(|(f, c)| (f.clone(), c.clone()))
            .collect();
        let mut bits = 0i64;
        for (i, clock) in columns.into_iter().enumerate() {
            match clock {
                Some(c) if Some(&c) == stamp.as_ref() => bits |= 1 << i,
                Some(c) => {
                    clocks.insert(t.columns[i].to_string(), c);
                }
                None => {}
            }
        }
        self.stamp = stamp;
        self.stamp_fields = bits;
        self.clocks = clocks;
    }
}

/// A record's id and the values to write to it.
type Record = (String, Map<String, Value>);

type KnownRow = (String, Option<String>, i64, String, Option<String>, bool);

fn parse<T: serde::de::DeserializeOwned>(
    t: &SyncTable,
    id: &str,
    what: &str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::invalid("sync_records", format!("{what} of {} {id}: {e}", t.name)))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::invalid("sync", e.to_string()))
}

/// Applies pulled changes in one transaction; returns the changes that won their field
/// and the records still waiting for a parent or for fields yet to come.
pub async fn apply_pulled(store: &Store, changes: &[Change]) -> Result<(u32, u32)> {
    let mut tx = store.write().await?;
    let out = apply_in(&mut tx, changes).await?;
    tx.commit().await?;
    Ok(out)
}

/// `apply_pulled` inside the caller's transaction: a first sync writes several pages per
/// commit, since each commit rewrites every index page the page touched.
pub(super) async fn apply_in(tx: &mut Tx, changes: &[Change]) -> Result<(u32, u32)> {
    sqlx::query("UPDATE sync_clock SET applying = 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    // The clock moves past what it has seen, so later local edits stamp after it; never to
    // a stamp from the future (a device with a wrong clock), which would make every later
    // edit on this device carry it too.
    let horizon = u64::try_from(chrono::Utc::now().timestamp_millis())
        .unwrap_or(0)
        .saturating_add(MAX_CLOCK_SKEW_MS);
    if let Some(latest) = changes
        .iter()
        .map(|c| &c.hlc)
        .filter(|h| h.wall_ms <= horizon)
        .max()
    {
        sqlx::query(
            "UPDATE sync_clock SET counter = CASE WHEN ? > wall_ms THEN ? + 1 WHEN ? = wall_ms THEN max(counter, ?) + 1 ELSE counter END, \
             wall_ms = max(wall_ms, ?) WHERE id = 1",
        )
        .bind(latest.wall_ms as i64)
        .bind(latest.counter as i64)
        .bind(latest.wall_ms as i64)
        .bind(latest.counter as i64)
        .bind(latest.wall_ms as i64)
        .execute(&mut **tx)
        .await?;
    }
    let started = std::time::Instant::now();
    let mut applied = 0;
    // A CTA names its playbook; the defaults exist on every device under the same ids.
    if changes
        .iter()
        .any(|c| c.entity == "cta" && c.field == "playbook_id")
    {
        crate::cta::seed_default_playbooks(tx).await?;
    }
    // Parents first, so a page holding an account and its CTAs writes both.
    for t in TABLES {
        let mine: Vec<&Change> = changes.iter().filter(|c| c.entity == t.name).collect();
        applied += apply_table(tx, t, &mine).await?;
    }
    // A kind of record this device does not know (a newer peer made it) is set aside,
    // named, and the rest of the page applies.
    for c in changes
        .iter()
        .filter(|c| !TABLES.iter().any(|t| t.name == c.entity))
    {
        set_aside_incoming(
            tx,
            &c.entity,
            &c.entity_id,
            "a kind of record this version of Riskdesk does not know: update the app",
        )
        .await?;
    }
    // A pulled edit of an account scored here (a manager's new owner, ARR or renewal
    // date) is owed a refresh, recorded with the edit.
    let mut edited: Vec<String> = changes
        .iter()
        .filter(|c| c.entity == "account")
        .map(|c| c.entity_id.clone())
        .collect();
    edited.sort();
    edited.dedup();
    let mut scored_here = Vec::new();
    for chunk in edited.chunks(5_000) {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT a.id FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM sync_remote r WHERE r.account_id = a.id) AND a.id",
        );
        crate::store::in_list(&mut qb, chunk);
        let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
        scored_here.extend(ids);
    }
    crate::refresh::mark(
        tx,
        &crate::refresh::Scope::Accounts(scored_here),
        chrono::Utc::now().date_naive(),
    )
    .await?;
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sync_records WHERE staged IS NOT NULL")
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query("UPDATE sync_clock SET applying = 0 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    tracing::debug!(
        changes = changes.len(),
        applied,
        pending,
        ms = started.elapsed().as_millis() as u64,
        "applied a pulled page"
    );
    Ok((applied, pending.max(0) as u32))
}

async fn apply_table(tx: &mut Tx, t: &SyncTable, changes: &[&Change]) -> Result<u32> {
    let waiting: Vec<String> = sqlx::query_scalar(
        "SELECT entity_id FROM sync_records WHERE entity = ? AND staged IS NOT NULL",
    )
    .bind(t.name)
    .fetch_all(&mut **tx)
    .await?;
    if changes.is_empty() && waiting.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<&str> = waiting.iter().map(String::as_str).collect();
    ids.extend(changes.iter().map(|c| c.entity_id.as_str()));
    ids.sort_unstable();
    ids.dedup();
    let list = json(&ids)?;
    let rows: Vec<KnownRow> = sqlx::query_as(
        "SELECT entity_id, stamp, stamp_fields, clocks, staged, deleted FROM sync_records \
         WHERE entity = ? AND entity_id IN (SELECT value FROM json_each(?))",
    )
    .bind(t.name)
    .bind(&list)
    .fetch_all(&mut **tx)
    .await?;
    let mut known: HashMap<String, Known> = HashMap::with_capacity(ids.len());
    for (id, stamp, stamp_fields, clocks, staged, deleted) in rows {
        let clocks: BTreeMap<String, String> = parse(t, &id, "clocks", &clocks)?;
        let staged: Option<Map<String, Value>> = match staged {
            Some(s) => Some(parse(t, &id, "staged values", &s)?),
            None => None,
        };
        known.insert(
            id.clone(),
            Known {
                stamp,
                stamp_fields,
                clocks,
                staged: staged.map(|s| {
                    s.into_iter()
                        .filter(|(f, _)| t.columns.contains(&f.as_str()))
                        .collect()
                }),
                deleted,
                set_aside: None,
            },
        );
    }
    // Names come from TABLES, never from input.
    let exists: HashSet<String> = sqlx::query_scalar(&format!(
        "SELECT {id} FROM {table} WHERE {id} IN (SELECT value FROM json_each(?))",
        id = t.id_column,
        table = t.table
    ))
    .bind(&list)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();

    let mut applied = 0u32;
    let mut touched: HashSet<&str> = waiting.iter().map(String::as_str).collect();
    for c in changes {
        let k = known.entry(c.entity_id.clone()).or_default();
        let stamp = c.hlc.encode();
        if k.clock(t, &c.field)
            .is_some_and(|now| now >= stamp.as_str())
        {
            continue;
        }
        applied += 1;
        touched.insert(&c.entity_id);
        k.clocks.insert(c.field.clone(), stamp);
        if c.field == DELETED {
            k.deleted = c.value == Value::Bool(true);
        } else if t.columns.contains(&c.field.as_str()) {
            k.staged
                .get_or_insert_with(Map::new)
                .insert(c.field.clone(), c.value.clone());
        }
    }

    let mut deletes = Vec::new();
    let mut inserts = Vec::new();
    let mut updates: BTreeMap<Vec<String>, Vec<Record>> = BTreeMap::new();
    for id in &touched {
        let Some(k) = known.get_mut(*id) else {
            continue;
        };
        k.set_aside = None;
        if k.deleted {
            k.staged = None;
            if exists.contains(*id) {
                deletes.push(id.to_string());
            }
            continue;
        }
        let Some(values) = k.staged.take() else {
            continue;
        };
        if exists.contains(*id) {
            updates
                .entry(values.keys().cloned().collect())
                .or_default()
                .push((id.to_string(), values));
        } else if t
            .columns
            .iter()
            .all(|c| values.contains_key(*c) || t.later_default(c).is_some())
        {
            // A record made before a later field existed arrives without it.
            let mut values = values;
            for (field, default) in t.later {
                if !values.contains_key(*field) {
                    values.insert(
                        field.to_string(),
                        serde_json::from_str(default).unwrap_or(Value::Null),
                    );
                }
            }
            inserts.push((id.to_string(), values));
        } else {
            // A new record with fields still to come waits for them.
            k.staged = Some(values);
        }
    }

    // A delete the store refuses (records still name the one deleted) is set aside and
    // tried again after every pull; nothing else waits for it.
    for (id, reason) in delete_batch(tx, t, deletes).await? {
        if let Some(k) = known.get_mut(&id) {
            k.staged = Some(Map::new());
            k.set_aside = Some(reason);
        }
    }
    let columns: Vec<String> = t.columns.iter().map(|c| c.to_string()).collect();
    let folds = if t.table == "users" {
        super::fold::prepare(tx, &inserts).await?
    } else {
        Vec::new()
    };
    for refused in write_batch(tx, t, &columns, inserts, true).await? {
        stage(&mut known, refused);
    }
    super::fold::finish(tx, folds).await?;
    for (fields, batch) in updates {
        for refused in write_batch(tx, t, &fields, batch, false).await? {
            stage(&mut known, refused);
        }
    }

    let mut rows = Vec::with_capacity(touched.len());
    for id in touched {
        let Some(k) = known.get_mut(id) else {
            continue;
        };
        k.normalize(t);
        rows.push((
            id,
            json(&k.clocks)?,
            k.staged.as_ref().map(json).transpose()?,
        ));
    }
    for chunk in rows.chunks(MAX_VARIABLES / 8) {
        let sql = format!(
            "INSERT INTO sync_records (entity, entity_id, stamp, stamp_fields, clocks, staged, deleted, set_aside) VALUES {} \
             ON CONFLICT (entity, entity_id) DO UPDATE SET stamp = excluded.stamp, stamp_fields = excluded.stamp_fields, \
             clocks = excluded.clocks, staged = excluded.staged, deleted = excluded.deleted, set_aside = excluded.set_aside",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (id, clocks, staged) in chunk {
            let k = known.get(*id);
            q = q
                .bind(t.name)
                .bind(*id)
                .bind(k.and_then(|k| k.stamp.as_deref()))
                .bind(k.map_or(0, |k| k.stamp_fields))
                .bind(clocks.as_str())
                .bind(staged.as_deref())
                .bind(k.is_some_and(|k| k.deleted))
                .bind(k.and_then(|k| k.set_aside.as_deref()));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(applied)
}

/// A record the store refused keeps its values staged, to be tried after the next pull,
/// with the reason the store gave.
fn stage(known: &mut HashMap<String, Known>, (id, values, reason): Refused) {
    if let Some(k) = known.get_mut(&id) {
        let staged = k.staged.get_or_insert_with(Map::new);
        for (f, v) in values {
            staged.entry(f).or_insert(v);
        }
        k.set_aside = Some(reason);
    }
}

/// A record the store refused, its values and the store's reason.
type Refused = (String, Map<String, Value>, String);

/// Deletes `ids` in one statement; when the store refuses, one by one, and returns the
/// ids it still refuses with its reason.
async fn delete_batch(
    tx: &mut Tx,
    t: &SyncTable,
    ids: Vec<String>,
) -> Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Names come from TABLES, never from input.
    let sql = format!(
        "DELETE FROM {} WHERE {} IN (SELECT value FROM json_each(?))",
        t.table, t.id_column
    );
    if refusal(sqlx::query(&sql).bind(json(&ids)?).execute(&mut **tx).await)?.is_none() {
        return Ok(Vec::new());
    }
    let mut refused = Vec::new();
    for id in ids {
        let one = json(&[&id])?;
        if let Some(reason) = refusal(sqlx::query(&sql).bind(one).execute(&mut **tx).await)? {
            refused.push((id, format!("cannot be deleted here: {reason}")));
        }
    }
    Ok(refused)
}

/// None when the statement ran; the store's reason when it refused (a constraint); an
/// error for anything else.
fn refusal<T>(outcome: std::result::Result<T, sqlx::Error>) -> Result<Option<String>> {
    match outcome {
        Ok(_) => Ok(None),
        Err(sqlx::Error::Database(e)) => Ok(Some(e.message().to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Notes a pulled change this device cannot take at all, for Settings › Sync.
async fn set_aside_incoming(tx: &mut Tx, entity: &str, id: &str, reason: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_set_aside (direction, entity, entity_id, reason, at) VALUES ('in', ?, ?, ?, ?) \
         ON CONFLICT (direction, entity, entity_id) DO UPDATE SET reason = excluded.reason",
    )
    .bind(entity)
    .bind(id)
    .bind(reason)
    .bind(chrono::Utc::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts (or updates) `records`, each setting `fields`, a few statements for all;
/// when the store refuses one (a parent not here yet, a check), record by record, and
/// returns the records it still refuses.
async fn write_batch(
    tx: &mut Tx,
    t: &SyncTable,
    fields: &[String],
    mut records: Vec<Record>,
    insert: bool,
) -> Result<Vec<Refused>> {
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let per_statement = if insert {
        (MAX_VARIABLES / (fields.len() + 1)).max(1)
    } else {
        records.len().max(1)
    };
    let mut refused = Vec::new();
    while !records.is_empty() {
        let rest = records.split_off(per_statement.min(records.len()));
        let chunk = std::mem::replace(&mut records, rest);
        if try_write(tx, t, fields, &chunk, insert).await?.is_none() {
            continue;
        }
        for record in chunk {
            if let Some(reason) =
                try_write(tx, t, fields, std::slice::from_ref(&record), insert).await?
            {
                refused.push((record.0, record.1, reason));
            }
        }
    }
    Ok(refused)
}

/// One statement writing `records`; the store's reason when it refuses it: NOT NULL,
/// CHECK, UNIQUE or FOREIGN KEY, more of a record (or its parent) is to come.
async fn try_write(
    tx: &mut Tx,
    t: &SyncTable,
    fields: &[String],
    records: &[Record],
    insert: bool,
) -> Result<Option<String>> {
    // Names come from TABLES (or are checked against it), never from input.
    let written = if insert {
        // Bound values, not a JSON document: SQLite then parses nothing per column.
        let marks = format!("({})", vec!["?"; fields.len() + 1].join(", "));
        let sql = format!(
            "INSERT INTO {table} ({id}, {cols}) VALUES {rows}",
            table = t.table,
            id = t.id_column,
            cols = fields.join(", "),
            rows = vec![marks; records.len()].join(", "),
        );
        let mut q = sqlx::query(&sql);
        for (id, values) in records {
            q = q.bind(id.as_str());
            for f in fields {
                q = bind_value(q, values.get(f));
            }
        }
        q.execute(&mut **tx).await
    } else {
        let values = |i: usize| format!("json_extract(w.v, '$[{}]')", i + 1);
        let sql = format!(
            "UPDATE {table} SET {sets} FROM (SELECT json_extract(value, '$[0]') AS id, value AS v FROM json_each(?)) AS w \
             WHERE {table}.{id} = w.id",
            table = t.table,
            id = t.id_column,
            sets = fields
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{f} = {}", values(i)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let rows: Vec<Value> = records
            .iter()
            .map(|(id, values)| {
                let mut r = Vec::with_capacity(fields.len() + 1);
                r.push(Value::String(id.clone()));
                r.extend(
                    fields
                        .iter()
                        .map(|f| values.get(f).cloned().unwrap_or(Value::Null)),
                );
                Value::Array(r)
            })
            .collect();
        sqlx::query(&sql)
            .bind(json(&rows)?)
            .execute(&mut **tx)
            .await
    };
    refusal(written)
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// A JSON value bound as SQLite stores it: what `json_extract` would give.
fn bind_value<'q>(q: Query<'q>, v: Option<&'q Value>) -> Query<'q> {
    match v {
        None | Some(Value::Null) => q.bind(None::<String>),
        Some(Value::Bool(b)) => q.bind(i64::from(*b)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => q.bind(i),
            None => q.bind(n.as_f64()),
        },
        Some(Value::String(s)) => q.bind(s.as_str()),
        Some(other) => q.bind(other.to_string()),
    }
}
