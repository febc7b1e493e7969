//! Settings of this device, such as who is using the app.

use sqlx::SqlitePool;

use super::Tx;
use crate::Result;

pub const CURRENT_USER: &str = "current_user_id";

pub async fn get(pool: &SqlitePool, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM local_settings WHERE key = ?")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(v,)| v))
}

/// Forgets the given keys.
pub async fn remove(tx: &mut Tx, keys: &[&str]) -> Result<()> {
    for key in keys {
        sqlx::query("DELETE FROM local_settings WHERE key = ?")
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn set(tx: &mut Tx, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO local_settings (key, value) VALUES (?, ?) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets `key` to `to` where it holds `from` (a person folded into another).
pub async fn replace(tx: &mut Tx, key: &str, from: &str, to: &str) -> Result<()> {
    sqlx::query("UPDATE local_settings SET value = ?1 WHERE key = ?2 AND value = ?3")
        .bind(to)
        .bind(key)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
