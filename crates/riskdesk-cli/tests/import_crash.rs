//! A real crash: `riskdesk import` killed with SIGKILL while it writes leaves the store
//! exactly as it was, and the same import run again completes.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn riskdesk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_riskdesk"))
}

fn count(db: &std::path::Path, json: bool) -> String {
    let out = riskdesk()
        .args(["accounts", "--limit", "1", "--db"])
        .arg(db)
        .args(if json { vec!["--json"] } else { vec![] })
        .output()
        .expect("run accounts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn killing_an_import_mid_write_loses_nothing_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("store.db");
    let csv = dir.path().join("csv");
    let status = riskdesk()
        .args([
            "sample-csv",
            "--accounts",
            "60000",
            "--usage-rows",
            "0",
            "--out",
        ])
        .arg(&csv)
        .status()
        .expect("sample");
    assert!(status.success());
    // A store with a small book already in it: what must survive the crash.
    let status = riskdesk()
        .args(["demo", "--accounts", "50", "--history-weeks", "0", "--db"])
        .arg(&db)
        .status()
        .expect("demo");
    assert!(status.success());
    let before = count(&db, true);

    let mut child = riskdesk()
        .args(["import", "accounts"])
        .arg(csv.join("accounts.csv"))
        .args(["--map", "owner=", "--no-rescore", "--db"])
        .arg(&db)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("import");
    let stderr = child.stderr.take().expect("stderr");
    let mut killed_while_writing = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("line");
        // The first chunk of rows is in the transaction, the rest are not.
        if line.starts_with("writing") && !line.contains("100%") {
            child.kill().expect("kill");
            killed_while_writing = true;
            break;
        }
    }
    child.wait().expect("wait");
    assert!(
        killed_while_writing,
        "the import finished before it could be killed"
    );
    assert_eq!(count(&db, true), before, "the store changed");

    let again = riskdesk()
        .args(["import", "accounts"])
        .arg(csv.join("accounts.csv"))
        .args(["--map", "owner=", "--no-rescore", "--json", "--db"])
        .arg(&db)
        .output()
        .expect("import again");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json report");
    // The demo book's 50 accounts carry the same CRM ids as the file's first 50 rows.
    let n = |k: &str| report[k].as_u64().unwrap_or(0);
    assert_eq!((n("inserted"), n("updated") + n("unchanged")), (59_950, 50));
    assert_eq!(report["committed"], true);
}
