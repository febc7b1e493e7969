//! Ids of an account's feed rows (contacts, tickets, NPS responses, timeline entries) as
//! the store keeps them: a UUID in its canonical text form (lowercase, hyphenated, what
//! `new_id` makes) as its 16 bytes, anything else as the text it is.
//!
//! The feeds hold ~1.2M rows at 100K accounts, each id written in the row and again in its
//! primary-key index: 36 characters each time (91 of the bench store's 722 MB). Stored as
//! 16 bytes they read back as the same text, and a lookup finds a row by the text it was
//! given. Migration 38 converts rows written before, by the same rule (`CANONICAL`).

use std::borrow::Cow;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo};
use sqlx::{Sqlite, Type};

/// A feed row's id, bound as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedKey(pub String);

impl FeedKey {
    pub(crate) fn of(id: &str) -> Self {
        Self(id.to_string())
    }
}

/// The 16 bytes of `id` when it is a UUID in canonical text form.
fn canonical(id: &str) -> Option<[u8; 16]> {
    let uuid = uuid::Uuid::try_parse(id).ok()?;
    let mut buf = uuid::Uuid::encode_buffer();
    (uuid.hyphenated().encode_lower(&mut buf) == id).then(|| *uuid.as_bytes())
}

impl<'q> sqlx::Encode<'q, Sqlite> for FeedKey {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        buf.push(match canonical(&self.0) {
            Some(bytes) => SqliteArgumentValue::Blob(Cow::Owned(bytes.to_vec())),
            None => SqliteArgumentValue::Text(Cow::Owned(self.0.clone())),
        });
        Ok(IsNull::No)
    }
}

impl Type<Sqlite> for FeedKey {
    fn type_info() -> SqliteTypeInfo {
        <Vec<u8> as Type<Sqlite>>::type_info()
    }
}

/// A stored feed id as its text (16 bytes as a hyphenated UUID).
pub(crate) fn id_of(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<String> {
    use rusqlite::types::{FromSqlError, ValueRef};
    match v {
        ValueRef::Blob(b) => uuid::Uuid::from_slice(b)
            .map(|u| u.hyphenated().to_string())
            .map_err(|e| FromSqlError::Other(Box::new(e))),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(str::to_string)
            .map_err(|e| FromSqlError::Other(Box::new(e))),
        _ => Err(FromSqlError::InvalidType),
    }
}

/// Column `i` of a bulk read's row as a feed id.
pub(crate) fn feed_id(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    let v = r.get_ref(i)?;
    id_of(v).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e)))
}

/// `feed_id`, or None for NULL.
pub(crate) fn feed_id_or_null(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => feed_id(r, i).map(Some),
    }
}

/// SQL reading the feed id in `column` (a constant of this crate, never input) as its text.
pub(crate) fn id_text(column: &str) -> String {
    let hex = format!("lower(hex({column}))");
    format!(
        "CASE WHEN typeof({column}) = 'blob' THEN substr({hex}, 1, 8) || '-' || substr({hex}, 9, 4) || '-' || \
         substr({hex}, 13, 4) || '-' || substr({hex}, 17, 4) || '-' || substr({hex}, 21) ELSE {column} END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    /// Canonical UUIDs go in as 16 bytes and every other id as its text; each reads back
    /// as it was given, through SQL and through the bulk reader, and is found by it.
    #[tokio::test]
    async fn a_feed_id_reads_back_as_given_and_finds_its_row() {
        let (_dir, store) = temp_store().await;
        let ids = [
            crate::new_id(),
            "0190a000-0000-7000-8000-000000000001".to_string(),
            "0190A000-0000-7000-8000-000000000001".to_string(),
            "{0190a000-0000-7000-8000-000000000002}".to_string(),
            "0190a00000007000800000000000000a".to_string(),
            "not a uuid".to_string(),
            String::new(),
        ];
        let mut conn = store.pool().acquire().await.expect("conn");
        sqlx::query("CREATE TEMP TABLE t (id TEXT PRIMARY KEY NOT NULL)")
            .execute(&mut *conn)
            .await
            .expect("table");
        for id in &ids {
            sqlx::query("INSERT INTO t (id) VALUES (?)")
                .bind(FeedKey::of(id))
                .execute(&mut *conn)
                .await
                .expect("insert");
        }
        let kinds: Vec<(String, i64)> =
            sqlx::query_as("SELECT typeof(id), length(id) FROM t ORDER BY rowid")
                .fetch_all(&mut *conn)
                .await
                .expect("kinds");
        assert_eq!(kinds[0], ("blob".to_string(), 16));
        assert_eq!(kinds[1], ("blob".to_string(), 16));
        assert!(kinds[2..].iter().all(|(k, _)| k == "text"), "{kinds:?}");
        let back: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {} FROM t ORDER BY rowid", id_text("id")))
                .fetch_all(&mut *conn)
                .await
                .expect("read");
        assert_eq!(back, ids);
        for id in &ids {
            let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE id = ?")
                .bind(FeedKey::of(id))
                .fetch_one(&mut *conn)
                .await
                .expect("find");
            assert_eq!(found, 1, "{id}");
        }
        // The migration's rule is this module's: a canonical id stored as text before
        // it is converted, any other left as it is.
        sqlx::query("DELETE FROM t")
            .execute(&mut *conn)
            .await
            .expect("empty");
        for id in &ids {
            sqlx::query("INSERT INTO t (id) VALUES (?)")
                .bind(id)
                .execute(&mut *conn)
                .await
                .expect("old row");
        }
        sqlx::query(&format!(
            "UPDATE t SET id = unhex(replace(id, '-', '')) WHERE id GLOB '{CANONICAL}'"
        ))
        .execute(&mut *conn)
        .await
        .expect("convert");
        for id in &ids {
            let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE id = ?")
                .bind(FeedKey::of(id))
                .fetch_one(&mut *conn)
                .await
                .expect("find converted");
            assert_eq!(found, 1, "{id}");
        }
        // The bulk reader's side of the same rule.
        use rusqlite::types::ValueRef;
        let bytes = canonical(&ids[1]).expect("canonical");
        assert_eq!(id_of(ValueRef::Blob(&bytes)).expect("blob"), ids[1]);
        assert_eq!(
            id_of(ValueRef::Text(ids[2].as_bytes())).expect("text"),
            ids[2]
        );
        assert!(id_of(ValueRef::Blob(b"short")).is_err());
        assert!(id_of(ValueRef::Null).is_err());
        // And the migration converts by this pattern, table by table.
        let migration = include_str!("../../../../migrations/20261204000038_feed_ids.sql");
        for column in [
            "contacts SET id",
            "nps_responses SET id",
            "nps_responses SET contact_id",
            "tickets SET id",
            "timeline_entries SET id",
        ] {
            assert!(migration.contains(column), "{column}");
        }
        assert_eq!(migration.matches(&format!("GLOB '{CANONICAL}'")).count(), 5);
    }

    const CANONICAL: &str = "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-\
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-\
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]";
}
