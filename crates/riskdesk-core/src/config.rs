//! Settings that shape scoring and work (signal thresholds, severity, stage criteria,
//! priority, escalation): typed values kept as JSON under a key in `config`, each with
//! its default until someone saves one. The device's own state lives in `settings`.

use chrono::Utc;
use serde::{de::DeserializeOwned, Serialize};
use sqlx::SqlitePool;

use crate::store::Tx;
use crate::{Error, Result};

/// The value under `key`, or the type's default when none was saved.
pub async fn get<T: DeserializeOwned + Default>(pool: &SqlitePool, key: &str) -> Result<T> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM config WHERE key = ?")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    match row {
        None => Ok(T::default()),
        Some((json,)) => serde_json::from_str(&json)
            .map_err(|e| Error::invalid(format!("config {key}"), e.to_string())),
    }
}

/// `get`, kept in memory until a settings table changes (see `store::cache`).
pub(crate) async fn cached<T>(store: &crate::Store, key: &'static str) -> Result<T>
where
    T: DeserializeOwned + Default + Clone + Send + Sync + 'static,
{
    store.cached(key, get(store.pool(), key)).await
}

/// Saves `value` under `key` in the caller's transaction.
pub async fn set<T: Serialize>(tx: &mut Tx, key: &str, value: &T) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| Error::invalid(key, e.to_string()))?;
    sqlx::query("INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
        .bind(key)
        .bind(json)
        .bind(Utc::now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
