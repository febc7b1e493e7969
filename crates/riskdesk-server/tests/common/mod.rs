//! What the server tests share: a store on either backend, and the real server process.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use riskdesk_server::{Db, Location};
use sqlx::migrate::MigrateDatabase;

pub const PASSWORD: &str = "correct horse battery";

/// A fresh, empty store for one test: SQLite in a temporary directory, or a database of its
/// own on the PostgreSQL server named by `RISKDESK_TEST_PG_URL`.
pub enum Backing {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Backing {
    pub fn sqlite() -> Backing {
        Backing::Sqlite(tempfile::tempdir().expect("temporary directory"))
    }

    /// None when no PostgreSQL server is configured; CI always configures one, so there a
    /// missing URL fails the test instead of skipping it.
    pub async fn postgres() -> Option<Backing> {
        let Ok(base) = std::env::var("RISKDESK_TEST_PG_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set RISKDESK_TEST_PG_URL (scripts/test.sh starts PostgreSQL)"
            );
            eprintln!("skipped: RISKDESK_TEST_PG_URL is not set");
            return None;
        };
        sqlx::any::install_default_drivers();
        let (head, tail) = base
            .split_once('?')
            .map_or((base.as_str(), ""), |(h, q)| (h, q));
        let (server, _) = head.rsplit_once('/').expect("a database URL ends in /name");
        let name = format!("rdtest_{}", uuid::Uuid::now_v7().simple());
        let url = if tail.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{tail}")
        };
        sqlx::Any::create_database(&url)
            .await
            .expect("create the test database");
        Some(Backing::Postgres(url))
    }

    pub fn location(&self) -> Location {
        match self {
            Backing::Sqlite(dir) => Location::Dir(dir.path().join("server")),
            Backing::Postgres(url) => Location::Postgres(url.clone()),
        }
    }

    pub fn args(&self) -> Vec<OsString> {
        match self.location() {
            Location::Dir(dir) => vec!["--data-dir".into(), dir.into()],
            Location::Postgres(url) => vec!["--database".into(), url.into()],
        }
    }

    pub async fn open(&self) -> Db {
        riskdesk_server::db::open(&self.location())
            .await
            .expect("open the server store")
    }

    /// Creates users (team names create teams), then lets go of the store.
    pub async fn seed(&self, users: &[(&str, &str, Option<&str>)]) {
        let db = self.open().await;
        for (email, role, team) in users {
            riskdesk_server::auth::add_user(&db, email, email, role, *team, PASSWORD)
                .await
                .expect("user");
        }
        db.close().await;
    }

    /// Drops a PostgreSQL test database (call after the server has stopped).
    pub async fn finish(self) {
        if let Backing::Postgres(url) = self {
            sqlx::Any::force_drop_database(&url)
                .await
                .expect("drop the test database");
        }
    }
}

/// The real `riskdesk-server` process, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(backing: &Backing) -> Server {
        Server::start_with(backing, &[])
    }

    pub fn start_with(backing: &Backing, extra: &[OsString]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_riskdesk-server"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(backing.args())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read address");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
            .to_string();
        Server { child, base }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a scenario `async fn name(backing: &Backing)` once on SQLite and once on PostgreSQL
/// (when configured), as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let backing = super::common::Backing::sqlite();
                super::$name(&backing).await;
                backing.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(backing) = super::common::Backing::postgres().await {
                    super::$name(&backing).await;
                    backing.finish().await;
                }
            }
        }
    )*};
}
