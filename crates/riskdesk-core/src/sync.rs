//! Sync, the device side. Writes to the synced tables are captured field by field into
//! `sync_outbox` by triggers, in the writer's own transaction (migration 0008), once the
//! user has connected to a server. `sync_once` pushes the outbox in pages, pulls what the
//! server has for this user after the stored cursor, and applies it: last writer wins
//! per field by hybrid logical clock, and records are rebuilt from their winning fields.

use riskdesk_sync::change::DIRECTORY_ACCOUNT;
use riskdesk_sync::schema::{AccountOf, Entity};
use riskdesk_sync::{
    Change, Conflict, Hlc, PullResponse, PushRequest, PushResponse, Refusal, PROTOCOL_VERSION,
};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::store::{settings, Tx};
use crate::{Error, Result, Store};

/// A synced table: what the triggers capture and what pulled fields may write. The list
/// is `riskdesk_sync::schema`, shared with the server (which refuses anything else).
pub type SyncTable = Entity;
pub use riskdesk_sync::schema::ENTITIES as TABLES;

/// What a device sends when it starts syncing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Nothing: the device starts empty-handed and only pulls.
    Nothing,
    /// The accounts and their work, not the organisation's directory (a CSM: the
    /// directory is the admins' and managers', and the server refuses it from others).
    Work,
    /// Everything, directory included (an admin or manager setting up the organisation).
    Everything,
}

impl Share {
    /// What a user of `role` shares when they choose to send what the device holds.
    pub fn for_role(share_existing: bool, role: &str) -> Share {
        match (share_existing, role) {
            (false, _) => Share::Nothing,
            (true, "admin" | "manager") => Share::Everything,
            (true, _) => Share::Work,
        }
    }
}

/// The SQL naming the account of the record `src` (a row alias: `new`, `old`, `t`).
pub fn account_sql(e: &Entity, src: &str) -> String {
    match e.account {
        AccountOf::Directory => format!("'{DIRECTORY_ACCOUNT}'"),
        AccountOf::Itself => format!("{src}.{}", e.id_column),
        AccountOf::Column(c) => format!("{src}.{c}"),
        AccountOf::Parent { column, table, key } => {
            format!("(SELECT account_id FROM {table} WHERE {key} = {src}.{column})")
        }
    }
}

/// How a device reaches the server; `riskdesk_sync::http` is the real one.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn push(&self, req: PushRequest) -> std::result::Result<PushResponse, Refusal>;
    /// Changes after `since`, less those `device` made.
    async fn pull(
        &self,
        since: i64,
        limit: u32,
        device: &str,
    ) -> std::result::Result<PullResponse, String>;
}

#[cfg(feature = "http")]
impl Transport for riskdesk_sync::http::HttpClient {
    async fn push(&self, req: PushRequest) -> std::result::Result<PushResponse, Refusal> {
        riskdesk_sync::http::HttpClient::push(self, req).await
    }
    async fn pull(
        &self,
        since: i64,
        limit: u32,
        device: &str,
    ) -> std::result::Result<PullResponse, String> {
        riskdesk_sync::http::HttpClient::pull(self, since, limit, Some(device)).await
    }
}

/// Where this device syncs to, kept in the device's own settings.
pub const SERVER_URL: &str = "sync.server_url";
/// Where a token was kept before it moved to the keychain (read once, then removed).
const OLD_TOKEN: &str = "sync.token";
pub const EMAIL: &str = "sync.email";
pub const LAST_SYNCED: &str = "sync.last_synced_at";
pub const LAST_ERROR: &str = "sync.last_error";

/// What the status bar and Settings › Sync show.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    pub connected: bool,
    pub server_url: Option<String>,
    pub email: Option<String>,
    pub device_id: String,
    pub last_synced_at: Option<String>,
    /// The last attempt's failure (the server unreachable: offline), cleared by a success.
    pub last_error: Option<String>,
    pub pending: u32,
    pub unseen_conflicts: u32,
    /// Changes set aside: pulled ones the store refused, pushed ones the server refused.
    pub set_aside: u32,
    /// Seconds between background syncs while connected.
    pub interval_seconds: u32,
    /// The store holds the demo book: its made-up accounts would sit beside the team's,
    /// and edits to them would be sent (Settings › Sync says so before connecting).
    pub holds_demo: bool,
}

/// Background syncs come every minute unless the user says otherwise.
pub const DEFAULT_INTERVAL: u32 = 60;
/// The allowed range: often enough to feel live, rarely enough to spare a laptop.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 15..=3600;

/// Seconds between background syncs.
pub async fn interval(pool: &SqlitePool) -> Result<u32> {
    Ok(settings::get(pool, INTERVAL)
        .await?
        .and_then(|s| s.parse().ok())
        .filter(|s| INTERVAL_RANGE.contains(s))
        .unwrap_or(DEFAULT_INTERVAL))
}

pub async fn set_interval(store: &Store, seconds: u32) -> Result<()> {
    if !INTERVAL_RANGE.contains(&seconds) {
        return Err(Error::invalid(
            "sync.interval_seconds",
            format!(
                "{seconds} is outside {}–{} seconds",
                INTERVAL_RANGE.start(),
                INTERVAL_RANGE.end()
            ),
        ));
    }
    let mut tx = store.write().await?;
    settings::set(&mut tx, INTERVAL, &seconds.to_string()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn status(pool: &SqlitePool, vault: &Vault) -> Result<SyncStatus> {
    let token = vault.load()?;
    let unseen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_conflicts WHERE seen = 0")
        .fetch_one(pool)
        .await?;
    Ok(SyncStatus {
        connected: token.is_some(),
        server_url: settings::get(pool, SERVER_URL).await?,
        email: settings::get(pool, EMAIL).await?,
        device_id: device_id(pool).await?,
        last_synced_at: settings::get(pool, LAST_SYNCED).await?,
        last_error: settings::get(pool, LAST_ERROR).await?,
        pending: pending_changes(pool).await?.clamp(0, u32::MAX as i64) as u32,
        unseen_conflicts: unseen.clamp(0, u32::MAX as i64) as u32,
        set_aside: sqlx::query_scalar::<_, i64>(
            "SELECT (SELECT COUNT(*) FROM sync_records WHERE staged IS NOT NULL AND set_aside IS NOT NULL) \
             + (SELECT COUNT(*) FROM sync_set_aside)",
        )
        .fetch_one(pool)
        .await?
        .clamp(0, u32::MAX as i64) as u32,
        interval_seconds: interval(pool).await?,
        holds_demo: crate::first_start::holds_demo(pool).await?,
    })
}

/// While this device is connected, the team server's people are the truth, and the
/// server takes changes to them only from an admin or a manager: the same rule here, so
/// a refused change is told at once instead of being set aside at the next push. The
/// role is the one the server's directory gives the signed-in email. A device that is not
/// connected keeps its own people.
pub async fn check_directory_edit(pool: &SqlitePool, vault: &Vault) -> Result<()> {
    if vault.load()?.is_none() {
        return Ok(());
    }
    let email = settings::get(pool, EMAIL).await?.unwrap_or_default();
    let role: Option<crate::model::Role> =
        sqlx::query_scalar("SELECT role FROM users WHERE lower(email) = lower(?)")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
    match role {
        Some(crate::model::Role::Admin | crate::model::Role::Manager) => Ok(()),
        _ => Err(Error::invalid(
            "people",
            format!(
                "this device syncs with a team server, whose people are the truth: only an admin or a manager changes them, and {} is signed in as neither",
                if email.is_empty() { "nobody" } else { email.as_str() }
            ),
        )),
    }
}

/// Moves a token an older version kept in the store's settings into `vault`.
pub async fn adopt_old_token(store: &Store, vault: &Vault) -> Result<()> {
    if let Some(token) = settings::get(store.pool(), OLD_TOKEN).await? {
        vault.save(&token)?;
        let mut tx = store.write().await?;
        settings::remove(&mut tx, &[OLD_TOKEN]).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Remembers the server and token after a sign-in, and starts capturing changes.
pub async fn connect(
    store: &Store,
    vault: &Vault,
    server_url: &str,
    email: &str,
    token: &str,
    share: Share,
) -> Result<()> {
    // A round under way finishes first: it would leave its user's cursor behind.
    let _round = store.sync_round().await;
    // Another person signing in on this device: a device id belongs to one user on the
    // server, and the cursor was that user's scope, so the device starts over as a new
    // device of the new user (what it holds stays; pulls apply as usual).
    let previous = settings::get(store.pool(), EMAIL).await?;
    if previous.is_some_and(|p| !p.trim().eq_ignore_ascii_case(email.trim())) {
        let mut tx = store.write().await?;
        sqlx::query("UPDATE sync_clock SET device_id = ? WHERE id = 1")
            .bind(crate::new_id())
            .execute(&mut *tx)
            .await?;
        settings::remove(&mut tx, &[CURSOR]).await?;
        tx.commit().await?;
    }
    start_recording(store, share).await?;
    vault.save(token)?;
    let mut tx = store.write().await?;
    settings::set(&mut tx, SERVER_URL, server_url).await?;
    settings::set(&mut tx, EMAIL, email).await?;
    settings::remove(&mut tx, &[LAST_ERROR]).await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets the token; captured changes stay queued for the next sign-in.
///
/// It does not wait for a round under way (on a network gone silent that is up to a
/// minute): that round's last writes are this user's own; a different user's sign-in waits
/// for it instead.
pub async fn disconnect(store: &Store, vault: &Vault) -> Result<()> {
    vault.clear()?;
    let mut tx = store.write().await?;
    settings::remove(&mut tx, &[OLD_TOKEN, LAST_ERROR]).await?;
    tx.commit().await?;
    Ok(())
}

/// Notes how a sync attempt ended, for the status bar.
pub async fn note_attempt(
    store: &Store,
    outcome: &std::result::Result<SyncReport, String>,
) -> Result<()> {
    let mut tx = store.write().await?;
    match outcome {
        Ok(_) => {
            settings::set(&mut tx, LAST_SYNCED, &chrono::Utc::now().to_rfc3339()).await?;
            settings::remove(&mut tx, &[LAST_ERROR]).await?;
        }
        Err(e) => settings::set(&mut tx, LAST_ERROR, e).await?,
    }
    tx.commit().await?;
    Ok(())
}

/// A conflict as Settings › Sync lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictView {
    pub id: i64,
    pub entity: String,
    pub entity_id: String,
    pub field: String,
    pub lost_value: String,
    pub winner_value: String,
    pub reported_at: String,
}

/// This device's edits that lost, newest first; listing them marks them seen.
pub async fn conflicts(store: &Store) -> Result<Vec<ConflictView>> {
    let rows: Vec<ConflictView> = sqlx::query_as(
        "SELECT id, entity, entity_id, field, lost_value, winner_value, reported_at FROM sync_conflicts ORDER BY id DESC LIMIT 100",
    )
    .fetch_all(store.pool())
    .await?;
    let mut tx = store.write().await?;
    sqlx::query("UPDATE sync_conflicts SET seen = 1 WHERE seen = 0")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// What one sync did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncReport {
    pub pushed: u32,
    pub pulled: u32,
    /// Pulled changes that won their field and were written.
    pub applied: u32,
    pub conflicts: u32,
    /// Records still waiting for a parent or a required field.
    pub pending: u32,
    /// Changes the server refused in this round (listed in Settings › Sync).
    pub set_aside: u32,
}

/// Where a sync round is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Another round on this store (the background one) is under way; this one starts
    /// when it ends.
    Waiting,
    Pushing,
    Pulling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    pub phase: Phase,
    /// Changes sent, or server sequence numbers passed, so far.
    pub done: u64,
    /// Of how many: `done == total` when the phase is finished.
    pub total: u64,
}

const CURSOR: &str = "sync.cursor";
const INTERVAL: &str = "sync.interval_seconds";
/// Changes per push and per pull: the most the server takes and gives. Fewer, larger
/// pages halved the time of a first sync against pages of 2,000.
const PUSH_PAGE: i64 = 10_000;
const PULL_PAGE: u32 = 10_000;
/// Pulled changes written per transaction: a page per commit rewrote the same index
/// pages 160 times in a first sync of 100K accounts; five pages hold a write lock for
/// about half a second.
const COMMIT_EVERY: usize = 50_000;
/// Changes on the server from which a first sync loads accounts in bulk (tests take the
/// bulk path with small books).
#[cfg(not(test))]
const BULK_FIRST_SYNC: i64 = 100_000;
#[cfg(test)]
const BULK_FIRST_SYNC: i64 = 500;
/// Changes moved in one round above which the WAL is checkpointed afterwards.
const BIG_ROUND: u32 = 50_000;

pub async fn device_id(pool: &SqlitePool) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT device_id FROM sync_clock WHERE id = 1")
            .fetch_one(pool)
            .await?,
    )
}

pub async fn is_recording(pool: &SqlitePool) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT recording = 1 FROM sync_clock WHERE id = 1")
            .fetch_one(pool)
            .await?,
    )
}

pub async fn pending_changes(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sync_outbox")
        .fetch_one(pool)
        .await?)
}

/// Starts capturing changes. What the device already holds is queued once as well, as
/// `share` says (a device that was used offline before connecting).
pub async fn start_recording(store: &Store, share: Share) -> Result<()> {
    let device = device_id(store.pool()).await?;
    let mut tx = store.write().await?;
    if share != Share::Nothing {
        // One stamp for the whole snapshot: every field is its own key, so they need not
        // differ, and set-based inserts keep a 100K-account book to seconds.
        let (wall, counter) = tick(&mut tx).await?;
        let stamp = Hlc {
            wall_ms: wall.max(0) as u64,
            counter: counter.clamp(0, i64::from(u32::MAX)) as u32,
            device,
        }
        .encode();
        let mut queued = 0;
        for t in TABLES {
            if t.is_directory() && share != Share::Everything {
                continue;
            }
            queued += snapshot_table(&mut tx, t, wall, counter, queued).await?;
            stamp_table(&mut tx, t, &stamp).await?;
        }
    }
    sqlx::query("UPDATE sync_clock SET recording = 1 WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn tick(tx: &mut Tx) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "UPDATE sync_clock SET counter = CASE WHEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) > wall_ms \
         THEN 0 ELSE counter + 1 END, wall_ms = max(wall_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) \
         WHERE id = 1 RETURNING wall_ms, counter",
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// Queues every field of every record of `t`; returns how many. `base` counts the fields
/// queued before, so change ids keep rising across tables.
async fn snapshot_table(
    tx: &mut Tx,
    t: &SyncTable,
    wall: i64,
    counter: i64,
    base: i64,
) -> Result<i64> {
    let account = account_sql(t, "t");
    // Change ids are UUIDv7 like the capture triggers' (migration 0011), with the field's
    // place in the snapshot where the triggers put random bits (RFC 9562's monotonic
    // counter): the server's change-id index then grows at its end instead of at a
    // random place per change, which kept a 100K-account first push slowing page by page.
    // One statement, record by record (all of a record's fields together), so a device
    // pulling the snapshot in pages can write each record as soon as its page arrives:
    // the table read once in id order, each row crossed with the list of its fields
    // (CROSS JOIN keeps the table the outer loop), each field's place numbered from the
    // row's. Reading the table once per field and sorting 1.8M fields took twice as long.
    let fields: Vec<String> = t
        .columns
        .iter()
        .enumerate()
        .map(|(k, c)| format!("SELECT {k} AS k, '{c}' AS field"))
        .collect();
    let values: Vec<String> = t
        .columns
        .iter()
        .enumerate()
        .map(|(k, c)| format!("WHEN {k} THEN json_quote(t.{c})"))
        .collect();
    // Table and column names come from TABLES, never from input.
    let queued = sqlx::query(&format!(
        "INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter) \
         SELECT printf('%08x-%04x-7%03x-%x%03x-%012x', (?2 >> 16) & 4294967295, ?2 & 65535, (n >> 14) & 4095, \
           8 + ((n >> 12) & 3), n & 4095, random() & 281474976710655), ?1, eid, aid, field, value, ?2, ?3 \
         FROM (SELECT ?4 + (t._snapshot_row - 1) * {width} + f.k + 1 AS n, t.{id} AS eid, {account} AS aid, \
           f.field AS field, CASE f.k {values} END AS value \
           FROM (SELECT ROW_NUMBER() OVER (ORDER BY {id}) AS _snapshot_row, * FROM {table}) t \
           CROSS JOIN ({fields}) f)",
        width = t.columns.len(),
        id = t.id_column,
        table = t.table,
        values = values.join(" "),
        fields = fields.join(" UNION ALL "),
    ))
    .bind(t.name)
    .bind(wall)
    .bind(counter)
    .bind(base)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(queued as i64)
}

/// Every record of `t` now carries the snapshot's stamp on all its columns: one row per
/// record, written in one statement instead of a trigger per queued field.
async fn stamp_table(tx: &mut Tx, t: &SyncTable, stamp: &str) -> Result<()> {
    let columns: Vec<String> = t.columns.iter().map(|c| format!("'$.\"{c}\"'")).collect();
    // Names come from TABLES, never from input.
    sqlx::query(&format!(
        "INSERT INTO sync_records (entity, entity_id, stamp, stamp_fields) SELECT ?, {id}, ?, ? FROM {table} WHERE true \
         ON CONFLICT (entity, entity_id) DO UPDATE SET stamp = excluded.stamp, stamp_fields = excluded.stamp_fields, \
         clocks = json_remove(sync_records.clocks, {columns}), staged = NULL",
        id = t.id_column,
        table = t.table,
        columns = columns.join(", ")
    ))
    .bind(t.name)
    .bind(stamp)
    .bind((1i64 << t.columns.len()) - 1)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The next page of the outbox after `after`, ending at a record's last field: a record
/// change (one record's fields set at one moment) travels whole, so a retried page
/// groups exactly as it did. Read on the bulk connection: a first sync reads millions.
async fn outbox_page(store: &Store, device: &str, after: i64) -> Result<Vec<(i64, Change)>> {
    let device = device.to_string();
    let mut page = store
        .read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, change_id, entity, entity_id, account_id, field, value, wall_ms, counter \
                 FROM sync_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let mut rows = stmt.query(rusqlite::params![after, PUSH_PAGE])?;
            let mut page = Vec::with_capacity(PUSH_PAGE as usize);
            while let Some(row) = rows.next()? {
                let value: String = row.get(6)?;
                let value = serde_json::from_str(&value).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
                })?;
                let (wall, counter): (i64, i64) = (row.get(7)?, row.get(8)?);
                page.push((
                    row.get::<_, i64>(0)?,
                    Change {
                        change_id: row.get(1)?,
                        entity: row.get(2)?,
                        entity_id: row.get(3)?,
                        account_id: row.get(4)?,
                        field: row.get(5)?,
                        value,
                        hlc: Hlc {
                            wall_ms: wall.max(0) as u64,
                            counter: counter.clamp(0, u32::MAX as i64) as u32,
                            device: device.clone(),
                        },
                        device_id: device.clone(),
                    },
                ));
            }
            Ok(page)
        })
        .await?;
    if page.len() as i64 == PUSH_PAGE {
        // The page may have cut the last record short: it goes whole with the next one
        // (unless it fills the page alone, which no record's fields can).
        let same = |a: &Change, b: &Change| {
            a.entity == b.entity && a.entity_id == b.entity_id && a.hlc == b.hlc
        };
        if let Some(last) = page.last().map(|(_, c)| c.clone()) {
            let keep = page
                .iter()
                .rposition(|(_, c)| !same(c, &last))
                .map_or(page.len(), |i| i + 1);
            page.truncate(keep);
        }
    }
    Ok(page)
}

async fn record_conflicts(store: &Store, conflicts: &[Conflict]) -> Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    let mut tx = store.write().await?;
    for c in conflicts {
        sqlx::query(
            "INSERT INTO sync_conflicts (entity, entity_id, field, lost_value, winner_value, winner_device, reported_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.lost.entity)
        .bind(&c.lost.entity_id)
        .bind(&c.lost.field)
        .bind(c.lost.value.to_string())
        .bind(c.winner.value.to_string())
        .bind(&c.winner.device_id)
        .bind(chrono::Utc::now())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Pushes one page as record changes. A push the server refuses is split in halves until
/// the records it refuses stand alone: those are returned with the server's reason (one
/// of each record's changes stands for it), everything else lands, and the device never
/// wedges on one record the server will not take.
async fn push_page(
    transport: &impl Transport,
    device: &str,
    page: Vec<(i64, Change)>,
) -> Result<(Vec<Conflict>, Vec<(Change, String)>)> {
    let mut conflicts = Vec::new();
    let mut refused = Vec::new();
    let mut parts = vec![PushRequest::new(device, page.into_iter().map(|(_, c)| c)).records];
    while let Some(mut part) = parts.pop() {
        let answer = transport
            .push(PushRequest {
                protocol: PROTOCOL_VERSION,
                device_id: device.to_string(),
                records: part.clone(),
            })
            .await;
        match answer {
            Ok(r) => conflicts.extend(r.conflicts),
            Err(Refusal::Refused(reason)) if part.len() == 1 => {
                refused.extend(
                    part.pop()
                        .and_then(|r| r.changes().next())
                        .map(|c| (c, reason)),
                );
            }
            Err(Refusal::Refused(_)) => {
                let back = part.split_off(part.len() / 2);
                // The front half goes first: a stack, so pushed last.
                parts.push(back);
                parts.push(part);
            }
            Err(Refusal::Unavailable(e)) => return Err(Error::invalid("sync.push", e)),
        }
    }
    Ok((conflicts, refused))
}

/// A change this device could not take, or the server would not: what Settings › Sync
/// lists, with the reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SetAside {
    /// "in": pulled and not applied (retried after every pull); "out": refused by the
    /// server (kept here, not sent again).
    pub direction: String,
    pub entity: String,
    pub entity_id: String,
    pub reason: String,
    /// How people know the record, when this device holds it: a person's name and email,
    /// an account's name (an id alone tells a manager nothing).
    pub label: Option<String>,
}

/// What is set aside, both ways, newest first.
pub async fn set_aside(pool: &SqlitePool) -> Result<Vec<SetAside>> {
    Ok(sqlx::query_as(
        "SELECT direction, entity, entity_id, reason, CASE entity \
           WHEN 'person' THEN (SELECT u.name || ' <' || u.email || '>' FROM users u WHERE u.id = entity_id) \
           WHEN 'account' THEN (SELECT a.name FROM accounts a WHERE a.id = entity_id) END AS label FROM ( \
           SELECT 'in' AS direction, entity, entity_id, COALESCE(set_aside, 'waiting for its parent or the rest of its fields') AS reason, 0 AS k \
           FROM sync_records WHERE staged IS NOT NULL \
           UNION ALL SELECT direction, entity, entity_id, \
             CASE WHEN field IS NULL THEN reason ELSE field || ': ' || reason END, id FROM sync_set_aside) \
         ORDER BY k DESC LIMIT 200",
    )
    .fetch_all(pool)
    .await?)
}

/// A pushed page the server answered.
struct Landed {
    /// Its last outbox sequence number.
    last: i64,
    conflicts: Vec<Conflict>,
    refused: Vec<(Change, String)>,
}

/// Records what the server said of a pushed page and drops it from the outbox: the server
/// has it (a retry after a lost answer is a no-op there), or refused it for good, and it
/// is kept aside with the server's reason.
async fn acknowledge(store: &Store, landed: Option<Landed>) -> Result<()> {
    let Some(Landed {
        last,
        conflicts,
        refused,
    }) = landed
    else {
        return Ok(());
    };
    record_conflicts(store, &conflicts).await?;
    let mut tx = store.write().await?;
    for (c, reason) in &refused {
        tracing::warn!(change = %c.change_id, entity = %c.entity, id = %c.entity_id, %reason, "the server refused a change");
        sqlx::query(
            "INSERT INTO sync_set_aside (direction, entity, entity_id, field, reason, at) VALUES ('out', ?, ?, ?, ?, ?) \
             ON CONFLICT (direction, entity, entity_id) DO UPDATE SET field = excluded.field, reason = excluded.reason, at = excluded.at",
        )
        .bind(&c.entity)
        .bind(&c.entity_id)
        .bind(&c.field)
        .bind(reason)
        .bind(chrono::Utc::now())
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM sync_outbox WHERE seq <= ?")
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `f`'s output and how long it took: what a pipelined push spends where.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, std::time::Duration) {
    let started = std::time::Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

/// One round: push the outbox, then pull and apply everything new. One round at a time
/// per store: a round asked for while another runs (the background one, "Sync now")
/// starts when that one ends, and finds only what is new since.
pub async fn sync_once(
    store: &Store,
    transport: &impl Transport,
    mut progress: impl FnMut(Progress),
) -> Result<SyncReport> {
    if store.sync_round_busy() {
        progress(Progress {
            phase: Phase::Waiting,
            done: 0,
            total: 0,
        });
    }
    let _round = store.sync_round().await;
    let pool = store.pool();
    let device = device_id(pool).await?;
    let mut report = SyncReport::default();
    let to_push = pending_changes(pool).await?.max(0) as u64;
    if to_push > 0 {
        progress(Progress {
            phase: Phase::Pushing,
            done: 0,
            total: to_push,
        });
    }
    // Pipelined: while a page travels and the server stores it, the next one is read and
    // the one before is acknowledged here (a first push of a big book is a few hundred
    // pages; each side waited for the other).
    let mut page = outbox_page(store, &device, 0).await?;
    let mut landed: Option<Landed> = None;
    while let Some(last) = page.last().map(|(seq, _)| *seq) {
        let n = page.len() as u32;
        let ((pushed, t_push), (next, t_read), (acked, t_ack)) = tokio::join!(
            timed(push_page(transport, &device, page)),
            timed(outbox_page(store, &device, last)),
            timed(acknowledge(store, landed.take())),
        );
        tracing::debug!(changes = n, ?t_push, ?t_read, ?t_ack, "pushed a page");
        acked?;
        let (conflicts, refused) = pushed?;
        report.conflicts += conflicts.len() as u32;
        report.set_aside += refused.len() as u32;
        report.pushed += n;
        landed = Some(Landed {
            last,
            conflicts,
            refused,
        });
        progress(Progress {
            phase: Phase::Pushing,
            done: u64::from(report.pushed),
            total: to_push.max(u64::from(report.pushed)),
        });
        page = next?;
    }
    acknowledge(store, landed.take()).await?;
    let mut cursor: i64 = settings::get(pool, CURSOR)
        .await?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let start = cursor;
    let device = device.as_str();
    let pull = |since: i64| async move {
        transport
            .pull(since, PULL_PAGE, device)
            .await
            .map_err(|e| Error::invalid("sync.pull", e))
    };
    let mut page = pull(cursor).await?;
    // A first sync of a big book into a store with few accounts loads them the way a first
    // import does: secondary indexes and search rebuilt once at the end, in one
    // transaction (a cut-off first sync starts again from nothing).
    let bulk = start == 0 && page.head >= BULK_FIRST_SYNC && {
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(pool)
            .await?;
        accounts.saturating_mul(32) <= page.head
    };
    // Otherwise pages are written a few to a transaction; the cursor moves in the same
    // one, so a sync cut off anywhere resumes from what was written.
    let mut batch: Option<Batch> = None;
    loop {
        let (more, next, head) = (page.more, page.cursor, page.head);
        let changes: Vec<Change> = page.changes();
        report.pulled += changes.len() as u32;
        // The next page travels (served, sent, decoded) while this one is written.
        let (written, following) = tokio::join!(
            async {
                let b = match &mut batch {
                    Some(b) => b,
                    None => batch.insert(Batch::begin(store, bulk).await?),
                };
                let out = apply::apply_in(&mut b.tx, &changes).await?;
                settings::set(&mut b.tx, CURSOR, &next.to_string()).await?;
                b.changes += changes.len();
                Ok::<_, Error>(out)
            },
            async {
                if more {
                    Some(pull(next).await)
                } else {
                    None
                }
            }
        );
        let (applied, pending) = written?;
        report.applied += applied;
        report.pending = pending;
        cursor = next;
        if !more
            || batch
                .as_ref()
                .is_some_and(|b| b.bulk.is_none() && b.changes >= COMMIT_EVERY)
        {
            if let Some(b) = batch.take() {
                b.commit().await?;
            }
        }
        progress(Progress {
            phase: Phase::Pulling,
            done: (cursor - start).max(0) as u64,
            total: (head.max(cursor) - start).max(0) as u64,
        });
        match following {
            Some(Ok(p)) => page = p,
            Some(Err(e)) => {
                // Keep what arrived before the link failed.
                if let Some(b) = batch.take() {
                    b.commit().await?;
                }
                return Err(e);
            }
            None => break,
        }
    }
    // Pulled edits of accounts scored here are refreshed before the round ends.
    crate::refresh::finish_pending(store).await?;
    if report.pushed + report.pulled >= BIG_ROUND {
        // A first sync wrote the whole book through the WAL: fold it back into the store
        // now rather than leave every later read searching a WAL of that size.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await?;
    }
    Ok(report)
}

/// Pulled pages being written in one transaction.
struct Batch {
    tx: Tx,
    bulk: Option<crate::store::accounts::BulkLoad>,
    changes: usize,
}

impl Batch {
    async fn begin(store: &Store, bulk: bool) -> Result<Batch> {
        let mut tx = store.write().await?;
        let bulk = if bulk {
            Some(crate::store::accounts::begin_bulk_load(&mut tx).await?)
        } else {
            None
        };
        Ok(Batch {
            tx,
            bulk,
            changes: 0,
        })
    }

    async fn commit(mut self) -> Result<()> {
        if let Some(load) = self.bulk.take() {
            crate::store::accounts::finish_bulk_load(&mut self.tx, load).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

mod apply;
pub mod capture;
pub mod credentials;
mod fold;
mod memory;
pub use memory::MemoryServer;

pub use credentials::Vault;

pub use apply::apply_pulled;

#[cfg(test)]
mod tests;
