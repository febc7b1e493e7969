//! Pull: the record changes after a cursor that the caller may see.

use riskdesk_sync::change::{check_version, DIRECTORY_ACCOUNT};
use riskdesk_sync::{Hlc, PROTOCOL_VERSION};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{forbidden, ORG_ENTITIES};
use crate::auth::Caller;
use crate::db::Db;
use crate::error::{Error, Result};

/// The most record changes one pull returns.
pub const MAX_PULL: u32 = 10_000;
/// About the most bytes of fields one pull page returns: a page ends after this many or
/// at its count of records, whichever comes first.
pub const MAX_PULL_BYTES: i64 = 2 * 1024 * 1024;

/// A pull as sent: the same JSON as `riskdesk_sync::PullResponse`, each record's fields
/// passed through as stored (they were validated on the way in) rather than parsed and
/// written out again.
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
    pub fields: Box<RawValue>,
}

type PulledRow = (i64, String, String, String, String, Box<RawValue>);

/// Record changes after `since` that the caller may see, oldest first; without those
/// `device` made (it has them already: half of a round trip's pull, otherwise).
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
    // the head is in place, and a last page may move the cursor to it past records the
    // caller does not get.
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM record_changes")
        .fetch_one(&db.pool)
        .await?;
    // A page ends at `limit` records or after about MAX_PULL_BYTES of fields, whichever
    // comes first, whatever the caller's scope: the byte bound is a range of sequence
    // numbers found through the running byte count (one index lookup), so ten teammates'
    // large values cannot make one answer hundreds of megabytes.
    let start: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT bytes_end FROM record_changes WHERE seq <= $1 ORDER BY seq DESC LIMIT 1), 0)",
    )
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    let crossing: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM record_changes WHERE bytes_end > $1 ORDER BY bytes_end LIMIT 1",
    )
    .bind(start.saturating_add(MAX_PULL_BYTES))
    .fetch_optional(&db.pool)
    .await?;
    // The crossing record itself travels: a page always makes progress.
    let bound = crossing.map_or(head, |c| c.max(since + 1).min(head));
    // EXISTS per record, not IN (all the team's accounts): a round trip of a thousand
    // changes must not read a 100K-account scope table. Cheapest test first: the
    // organisation's escalation work needs no lookup.
    let rows = format!(
        "SELECT seq, entity, entity_id, account_id, hlc, fields FROM record_changes c WHERE seq > $1 AND seq <= $7 AND device_id <> $8 AND ( $2 \
           OR account_id = $9 OR ($4 AND entity IN ({})) \
           OR EXISTS (SELECT 1 FROM account_scope s WHERE s.account_id = c.account_id AND s.team_id = $3) ) \
         ORDER BY seq LIMIT $6",
        db.text_list("$5"),
    );
    let page: String = sqlx::query_scalar(&db.json_page(
        &rows,
        &["seq", "entity", "entity_id", "account_id", "hlc", "fields"],
        &["fields"],
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
    let mut last = since;
    let records = rows
        .into_iter()
        .take(limit as usize)
        .map(|(seq, entity, entity_id, account_id, hlc, fields)| {
            last = seq;
            Ok(StoredRecord {
                seq,
                entity,
                entity_id,
                account_id,
                hlc: Hlc::decode(&hlc).ok_or_else(|| {
                    Error::Internal(format!(
                        "stored record change {seq} has an unreadable stamp"
                    ))
                })?,
                fields,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // A full page ends at its last record; otherwise everything up to the bound was read
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
