//! `record_changes`: every record change the server accepted, one row each (a record's
//! fields set at one moment by one device), in the order it accepted them. The table's SQL
//! lives here.

use std::collections::HashMap;

use riskdesk_sync::{Change, FieldChange, Hlc};
use sqlx::{Any, Transaction};

use crate::db::Db;
use crate::error::{Error, Result};

/// A record change about to be stored.
pub(super) struct NewRecord<'a> {
    pub change_id: String,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub account_id: &'a str,
    pub hlc: String,
    pub device_id: &'a str,
    /// The fields as JSON: `[{"change_id", "field", "value"}, …]`.
    pub fields: String,
}

/// Stores `records` set-based; returns the sequence number and change id of each one
/// stored for the first time (a record whose change id is known already is a retry).
pub(super) async fn insert(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    user_id: &str,
    received_at: &str,
    records: &[NewRecord<'_>],
) -> Result<Vec<(i64, String)>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut bytes = bytes_so_far(tx).await?;
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            bytes += r.fields.len() as i64;
            serde_json::json!([
                r.change_id,
                r.entity,
                r.entity_id,
                r.account_id,
                r.hlc,
                r.device_id,
                r.fields,
                bytes
            ])
        })
        .collect();
    Ok(sqlx::query_as(&format!(
        "INSERT INTO record_changes (change_id, entity, entity_id, account_id, hlc, device_id, user_id, fields, received_at, bytes_end) \
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, $1, value->>6, $2, {} \
         FROM {} WHERE true ON CONFLICT(change_id) DO NOTHING RETURNING seq, change_id",
        db.json_int("value", 7),
        db.json_rows("$3")
    ))
    .bind(user_id.to_string())
    .bind(received_at.to_string())
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(&mut **tx)
    .await?)
}

/// Where the running count of record bytes stands (pushes are serialised, so it only
/// grows with the sequence).
async fn bytes_so_far(tx: &mut Transaction<'_, Any>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE((SELECT bytes_end FROM record_changes ORDER BY seq DESC LIMIT 1), 0)",
    )
    .fetch_one(&mut **tx)
    .await?)
}

type Row = (i64, String, String, String, String, String, String, String);

/// A stored record change, read back.
#[derive(Debug)]
pub(super) struct Stored {
    pub seq: i64,
    pub change_id: String,
    pub entity: String,
    pub entity_id: String,
    pub account_id: String,
    pub hlc: String,
    pub device_id: String,
    pub fields: String,
}

/// The columns `Stored` is read from, under the table alias `c`.
const COLUMNS: &str =
    "c.seq, c.change_id, c.entity, c.entity_id, c.account_id, c.hlc, c.device_id, c.fields";

impl From<Row> for Stored {
    fn from(
        (seq, change_id, entity, entity_id, account_id, hlc, device_id, fields): Row,
    ) -> Stored {
        Stored {
            seq,
            change_id,
            entity,
            entity_id,
            account_id,
            hlc,
            device_id,
            fields,
        }
    }
}

impl Stored {
    pub fn fields(&self) -> Result<Vec<FieldChange>> {
        serde_json::from_str(&self.fields).map_err(|e| {
            Error::Internal(format!(
                "stored record change {} has unreadable fields: {e}",
                self.seq
            ))
        })
    }

    /// The change that set `field`, as the device that made it sent it.
    pub fn change(&self, field: &str) -> Result<Change> {
        let f = self
            .fields()?
            .into_iter()
            .find(|f| f.field == field)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "stored record change {} does not set {field}",
                    self.seq
                ))
            })?;
        let hlc = Hlc::decode(&self.hlc).ok_or_else(|| {
            Error::Internal(format!(
                "stored record change {} has an unreadable stamp",
                self.seq
            ))
        })?;
        Ok(Change {
            change_id: f.change_id,
            entity: self.entity.clone(),
            entity_id: self.entity_id.clone(),
            account_id: self.account_id.clone(),
            field: f.field,
            value: f.value,
            device_id: hlc.device.clone(),
            hlc,
        })
    }
}

/// The stored record changes with these sequence numbers, by sequence number.
pub(super) async fn by_seq(
    db: &Db,
    tx: &mut Transaction<'_, Any>,
    seqs: &[i64],
) -> Result<HashMap<i64, Stored>> {
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    let list = serde_json::to_string(seqs).map_err(|e| Error::Internal(e.to_string()))?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM record_changes c WHERE c.seq IN ({})",
        db.int_list("$1")
    ))
    .bind(list)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.0, Stored::from(r))).collect())
}
