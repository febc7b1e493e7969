//! The server's store: SQLite in a data directory by default, PostgreSQL for teams that
//! outgrow one machine. One set of queries serves both through sqlx's `Any` driver; the few
//! places the dialects differ (JSON lists, write locking) are named here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::error::{Error, Result};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Where the server keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `riskdesk-server.db` in this directory (created when missing).
    Dir(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Location {
    /// A data directory, or a database URL when given one.
    pub fn parse(data_dir: Option<PathBuf>, database: Option<String>) -> Result<Location> {
        match (data_dir, database) {
            (Some(_), Some(_)) => Err(Error::BadRequest(
                "give either --data-dir or --database, not both".into(),
            )),
            (Some(dir), None) => Ok(Location::Dir(dir)),
            (None, Some(url))
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                Ok(Location::Postgres(url))
            }
            (None, Some(url)) => Err(Error::BadRequest(format!(
                "--database takes a postgres:// URL, not '{}'; for SQLite give --data-dir",
                redact(&url)
            ))),
            (None, None) => Err(Error::BadRequest(
                "say where the data lives: --data-dir DIR (SQLite) or --database postgres://…"
                    .into(),
            )),
        }
    }

    /// For logs: never the password.
    pub fn describe(&self) -> String {
        match self {
            Location::Dir(dir) => format!("sqlite in {}", dir.display()),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A URL with its password replaced.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool and the dialect it speaks.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Opens (creating when missing) and migrates the store.
pub async fn open(location: &Location) -> Result<Db> {
    sqlx::any::install_default_drivers();
    let (url, backend) = match location {
        Location::Dir(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
            let file = dir.join("riskdesk-server.db");
            (sqlite_url(&file), Backend::Sqlite)
        }
        Location::Postgres(url) => (url.clone(), Backend::Postgres),
    };
    let options: AnyConnectOptions = url.parse()?;
    let pool = match backend {
        Backend::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // A push is acknowledged only once it is on disk. 32 MB of page
                        // cache per connection keeps a big push's indexes off the disk.
                        conn.execute(sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
                        ))
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?
        }
    };
    match backend {
        Backend::Sqlite => SQLITE.run(&pool).await?,
        Backend::Postgres => POSTGRES.run(&pool).await?,
    }
    Ok(Db { pool, backend })
}

fn sqlite_url(file: &Path) -> String {
    // Percent-encode what a URL path cannot carry as is.
    let path = file
        .to_string_lossy()
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    format!("sqlite://{path}?mode=rwc")
}

/// Times are stored as fixed-width RFC 3339 UTC text, so they sort and compare as text on
/// both backends.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Db {
    /// `FROM` clause over the elements of a JSON array parameter, each as `value` (JSON).
    pub fn json_rows(&self, param: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("json_each({param})"),
            Backend::Postgres => format!("jsonb_array_elements({param}::jsonb) AS j(value)"),
        }
    }

    /// A query returning one row, one column: `rows` (a query whose columns are
    /// `columns`) as a JSON array of arrays, in order. `json_columns` are JSON held as text
    /// and are nested as JSON, not as strings. A big page then crosses from the database
    /// as one value rather than row by row, each row its own hand-off between threads.
    pub fn json_page(&self, rows: &str, columns: &[&str], json_columns: &[&str]) -> String {
        let cols: Vec<String> = columns
            .iter()
            .map(|c| match (json_columns.contains(c), self.backend) {
                (false, _) => format!("p.{c}"),
                (true, Backend::Sqlite) => format!("json(p.{c})"),
                (true, Backend::Postgres) => format!("p.{c}::json"),
            })
            .collect();
        match self.backend {
            Backend::Sqlite => format!(
                "SELECT COALESCE(json_group_array(json_array({})), '[]') FROM ({rows}) AS p",
                cols.join(", ")
            ),
            Backend::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array({}) ORDER BY p.{})::text, '[]') FROM ({rows}) AS p",
                cols.join(", "),
                columns[0]
            ),
        }
    }

    /// The JSON text of `key` in the JSON object held (as text) in `column`.
    pub fn json_member(&self, column: &str, key: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("{column} -> '$.{key}'"),
            Backend::Postgres => format!("({column}::json -> '{key}')::text"),
        }
    }

    /// Element `index` of the JSON array `column`, as a 64-bit integer.
    pub fn json_int(&self, column: &str, index: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("{column}->>{index}"),
            Backend::Postgres => format!("({column}->>{index})::bigint"),
        }
    }

    /// A subquery of the strings in a JSON array parameter, as column `value`.
    pub fn text_list(&self, param: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("SELECT value FROM json_each({param})"),
            Backend::Postgres => {
                format!("SELECT value FROM jsonb_array_elements_text({param}::jsonb) AS j(value)")
            }
        }
    }

    /// A subquery of the integers in a JSON array parameter, as column `value`.
    pub fn int_list(&self, param: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("SELECT value FROM json_each({param})"),
            Backend::Postgres => {
                format!(
                    "SELECT value::bigint FROM jsonb_array_elements_text({param}::jsonb) AS j(value)"
                )
            }
        }
    }

    /// A transaction that holds the store's write lock from its first statement. Pushes
    /// are serialised so that sequence numbers become visible in order: a pull never sees
    /// seq 10 committed while seq 9 is still in flight, and so never skips 9.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7878001)")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_directory_or_a_postgres_url() {
        assert_eq!(
            Location::parse(Some("d".into()), None).ok(),
            Some(Location::Dir("d".into()))
        );
        assert!(Location::parse(None, Some("postgres://u:p@h/db".into())).is_ok());
        let err =
            Location::parse(None, Some("mysql://u:secret@h/db".into())).expect_err("not postgres");
        assert!(err.to_string().contains("postgres://"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(Location::parse(None, None).is_err());
        assert!(Location::parse(Some("d".into()), Some("postgres://h/db".into())).is_err());
    }

    #[test]
    fn logs_never_show_the_password() {
        let loc = Location::Postgres("postgres://rd:hunter22@db.example:5432/rd".into());
        assert_eq!(loc.describe(), "postgres://rd:***@db.example:5432/rd");
        let bare = Location::Postgres("postgres://db.example/rd".into());
        assert_eq!(bare.describe(), "postgres://db.example/rd");
    }

    #[test]
    fn times_sort_as_text() {
        let a = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").map(|t| t.to_utc());
        let b = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z").map(|t| t.to_utc());
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("parse")
        };
        assert_eq!(time(a), "2026-01-02T03:04:05.000000Z");
        assert!(time(a) < time(b));
    }
}
