//! What the server tests share: a store on either backend, and the real server process.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use riskdesk_server::{Db, Location};
use riskdesk_sync::{
    Change, Clock, PullResponse, PushRequest, PushResponse, Replica, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use sqlx::migrate::MigrateDatabase;

pub const PASSWORD: &str = "correct horse battery";

/// Two CSMs on Enterprise, one CSM on Mid-Market, a Mid-Market manager, the VP.
pub const USERS: &[(&str, &str, Option<&str>)] = &[
    ("ana@acme.example", "csm", Some("Enterprise")),
    ("ben@acme.example", "csm", Some("Enterprise")),
    ("cy@acme.example", "csm", Some("Mid-Market")),
    ("mo@acme.example", "manager", Some("Mid-Market")),
    ("vp@acme.example", "executive", None),
];

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

    /// Drops a PostgreSQL test database (call after the server has stopped). A plain drop
    /// first: PostgreSQL stops an autovacuum worker on the new database for it, where a
    /// forced drop refuses to end that superuser process (it failed CI once). Forced when
    /// a connection of the stopped server is still going away; a few tries, then the error.
    pub async fn finish(self) {
        if let Backing::Postgres(url) = self {
            let mut last = None;
            for _ in 0..10 {
                match sqlx::Any::drop_database(&url).await {
                    Ok(()) => return,
                    Err(plain) => match sqlx::Any::force_drop_database(&url).await {
                        Ok(()) => return,
                        Err(forced) => last = Some(format!("{plain}; forced: {forced}")),
                    },
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            panic!("drop the test database: {}", last.unwrap_or_default());
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

/// A device speaking the protocol by hand: edits kept in a replica and an outbox.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub clock: Clock,
    pub device: String,
    pub n: usize,
    pub outbox: Vec<Change>,
    pub replica: Replica,
    pub cursor: i64,
}

impl Client {
    pub async fn sign_in(base: &str, email: &str, device: &str) -> Client {
        Client::sign_in_from(base, email, device, "127.0.0.1").await
    }

    /// Signs in from another loopback address: another client, as rate limits see it.
    pub async fn sign_in_from(base: &str, email: &str, device: &str, ip: &str) -> Client {
        let http = reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().ok())
            .build()
            .expect("client");
        let r = http
            .post(format!("{base}/v1/sessions"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), StatusCode::OK, "{email} could not sign in");
        let session: Value = r.json().await.expect("session");
        Client {
            http,
            base: base.to_string(),
            token: session["token"].as_str().expect("token").to_string(),
            clock: Clock::new(device),
            device: device.to_string(),
            n: 0,
            outbox: Vec::new(),
            replica: Replica::default(),
            cursor: 0,
        }
    }

    /// An edit made on this device, applied locally and queued.
    pub fn edit(
        &mut self,
        entity: &str,
        id: &str,
        account: &str,
        field: &str,
        value: Value,
        now_ms: u64,
    ) -> Change {
        self.n += 1;
        let c = Change {
            change_id: format!("{}-{}", self.device, self.n),
            entity: entity.into(),
            entity_id: id.into(),
            account_id: account.into(),
            field: field.into(),
            value,
            hlc: self.clock.tick(now_ms),
            device_id: self.device.clone(),
        };
        self.replica.apply(&c);
        self.outbox.push(c.clone());
        c
    }

    pub async fn push_raw(&self, changes: &[Change]) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/push", self.base))
            .bearer_auth(&self.token)
            .json(&PushRequest::new(&self.device, changes.to_vec()))
            .send()
            .await
            .expect("push")
    }

    pub async fn push(&mut self) -> PushResponse {
        let r = self.push_raw(&self.outbox).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "push refused: {}",
            r.text().await.unwrap_or_default()
        );
        self.outbox.clear();
        r.json().await.expect("push response")
    }

    pub async fn pull(&mut self) -> usize {
        let mut seen = 0;
        loop {
            let r = self
                .http
                .get(format!(
                    "{}/v1/pull?protocol={PROTOCOL_VERSION}&since={}&limit=500",
                    self.base, self.cursor
                ))
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("pull");
            assert_eq!(r.status(), StatusCode::OK);
            let page: PullResponse = r.json().await.expect("pull response");
            let changes = page.changes();
            for c in &changes {
                self.clock.observe(&c.hlc, 0);
                self.replica.apply(c);
            }
            seen += changes.len();
            // The head says how far there is to go (a progress bar's total).
            assert!(page.head >= page.cursor, "{} < {}", page.head, page.cursor);
            self.cursor = page.cursor;
            if !page.more {
                return seen;
            }
        }
    }

    pub async fn sync(&mut self) {
        self.push().await;
        self.pull().await;
    }
}

/// The CLI tool an admin runs, against the same store as the server.
fn admin_run(backing: &Backing, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_riskdesk-server"))
        .args(args)
        .args(backing.args())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the admin CLI")
}

/// Runs an admin command that must succeed: its standard output.
pub fn admin(backing: &Backing, args: &[&str]) -> String {
    let out = admin_run(backing, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs an admin command that must fail: its standard error.
pub fn admin_fails(backing: &Backing, args: &[&str]) -> String {
    let out = admin_run(backing, args);
    assert!(!out.status.success(), "{args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}
