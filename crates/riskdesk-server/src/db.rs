//! The server's store. SQLite on a data directory by default.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::Result;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub async fn open(data_dir: &Path) -> Result<SqlitePool> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        crate::Error::Internal(format!("cannot create {}: {e}", data_dir.display()))
    })?;
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(data_dir.join("riskdesk-server.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // A push is acknowledged only once it is on disk.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}
