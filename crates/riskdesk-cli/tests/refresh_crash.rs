//! Nothing half-done after a crash: `riskdesk import` and `riskdesk score` die (as
//! `kill -9` would, at named points: after the import commits, between scoring batches,
//! after the rules, before the owed work is cleared), the next command finishes what they
//! owed, and the store ends exactly as a run that was never killed.

#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

const ACCOUNTS: usize = 900;

fn riskdesk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_riskdesk"))
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().expect("run riskdesk");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` with the process set to die at `point`; it must have died there.
fn dies_at(cmd: &mut Command, point: &str) {
    let out = cmd
        .env("RISKDESK_CRASH_AT", point)
        .output()
        .expect("run riskdesk");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{point}: the run was meant to die there; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A copy of a store (its file and WAL) in a fresh place.
fn copy_store(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{suffix}", from.display()));
        if src.exists() {
            std::fs::copy(&src, format!("{}{suffix}", to.display())).expect("copy store");
        }
    }
    to
}

/// Everything derived, as comparable text: ids of records made during the run and
/// timestamps become "set"/"null" (two runs make different ones), everything else is kept.
async fn derived_state(db: &Path) -> Vec<(String, Vec<String>)> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .expect("open");
    let stable_ids = [
        "account_id",
        "owner_id",
        "rule_id",
        "playbook_id",
        "scorecard_id",
        "author_id",
        "escalated_by",
    ];
    let mut out = Vec::new();
    for table in [
        "accounts",
        "account_health",
        "health_history",
        "signals",
        "ctas",
        "cta_tasks",
        "escalations",
        "account_priority",
        "timeline_entries",
        "risk_daily",
        "refresh_pending",
    ] {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .bind(table)
                .fetch_all(&mut conn)
                .await
                .expect("columns");
        let exprs: Vec<String> = columns
            .iter()
            .map(|c| {
                let volatile = c == "id"
                    || c.ends_with("_at")
                    || c == "since"
                    || (c.ends_with("_id") && !stable_ids.contains(&c.as_str()));
                if volatile && table != "accounts" {
                    format!("CASE WHEN \"{c}\" IS NULL THEN 'null' ELSE 'set' END")
                } else if c == "updated_at" {
                    "'-'".to_string()
                } else {
                    format!("quote(\"{c}\")")
                }
            })
            .collect();
        let sql = format!("SELECT {} FROM {table}", exprs.join(" || '|' || "));
        let mut rows: Vec<String> = sqlx::query_scalar(&sql)
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        rows.sort();
        out.push((table.to_string(), rows));
    }
    conn.close().await.expect("close");
    out
}

fn assert_same(what: &str, got: &[(String, Vec<String>)], want: &[(String, Vec<String>)]) {
    for ((table, g), (_, w)) in got.iter().zip(want) {
        let missing: Vec<&String> = w.iter().filter(|r| !g.contains(r)).take(3).collect();
        let extra: Vec<&String> = g.iter().filter(|r| !w.contains(r)).take(3).collect();
        assert!(
            g == w,
            "{what}: {table} differs ({} rows, want {}); missing {missing:?}; extra {extra:?}",
            g.len(),
            w.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_import_or_score_is_finished_by_the_next_command() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("csv");
    ok(riskdesk()
        .args([
            "sample-csv",
            "--accounts",
            &ACCOUNTS.to_string(),
            "--usage-rows",
            "20000",
            "--out",
        ])
        .arg(&csv));
    // The baseline: the accounts are in and refreshed, their usage is not.
    let base = dir.path().join("base.db");
    ok(riskdesk()
        .args(["import", "accounts"])
        .arg(csv.join("accounts.csv"))
        .args(["--map", "owner=", "--new-store", "--db"])
        .arg(&base));
    let import_usage = |db: &Path| {
        let mut c = riskdesk();
        c.args(["import", "usage"])
            .arg(csv.join("usage.csv"))
            .arg("--db")
            .arg(db);
        c
    };
    let next_command = |db: &Path| {
        let mut c = riskdesk();
        c.args(["accounts", "--limit", "1", "--db"]).arg(db);
        c
    };

    let reference = copy_store(&base, dir.path(), "reference");
    ok(&mut import_usage(&reference));
    ok(&mut next_command(&reference));
    let want = derived_state(&reference).await;
    assert!(
        want.iter().any(|(t, rows)| t == "ctas" && !rows.is_empty()),
        "the import should open CTAs, or the test proves little"
    );

    // 900 accounts score in three batches of 400.
    for point in [
        "import.committed",
        "recompute.batch:1",
        "recompute.batch:2",
        "rules.applied",
        "refresh.done",
    ] {
        let db = copy_store(&base, dir.path(), &point.replace([':', '.'], "-"));
        dies_at(&mut import_usage(&db), point);
        ok(&mut next_command(&db));
        assert_same(
            &format!("import killed at {point}"),
            &derived_state(&db).await,
            &want,
        );
    }

    // A score for a later day, killed part-way, then finished by the next command.
    let later = (chrono::Utc::now().date_naive() + chrono::Duration::days(45)).to_string();
    let score = |db: &Path| {
        let mut c = riskdesk();
        c.args(["score", "--as-of", &later, "--db"]).arg(db);
        c
    };
    let scored = copy_store(&reference, dir.path(), "scored");
    ok(&mut score(&scored));
    let want = derived_state(&scored).await;
    // (The whole book is read in slices of 5,000: here one batch, killed after its commit
    // and before the day's aggregate, history pruning, rules and ranks.)
    for point in ["recompute.batch:1", "rules.applied"] {
        let db = copy_store(
            &reference,
            dir.path(),
            &format!("score-{}", point.replace([':', '.'], "-")),
        );
        dies_at(&mut score(&db), point);
        ok(&mut next_command(&db));
        assert_same(
            &format!("score killed at {point}"),
            &derived_state(&db).await,
            &want,
        );
    }
}
