//! Two real device stores and the real server: a CSM's escalation reaches the manager's
//! WBR after both sync, and the manager's decision reaches the CSM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::sync;
use riskdesk_core::Store;
use riskdesk_sync::http::HttpClient;

const PASSWORD: &str = "correct horse battery";

/// Kills the server when the test ends, passing or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_csm_escalation_reaches_the_managers_wbr_and_the_decision_comes_back() {
    let dir = tempfile::tempdir().expect("dir");
    let server_dir = dir.path().join("server");
    let pool = riskdesk_server::db::open(&server_dir).await.expect("db");
    for (email, role, team) in [
        ("csm@acme.example", "csm", "Enterprise"),
        ("mgr@acme.example", "manager", "Leadership"),
    ] {
        riskdesk_server::auth::add_user(&pool, email, email, role, Some(team), PASSWORD)
            .await
            .expect("user");
    }
    pool.close().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_riskdesk-server"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&server_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server");
    let stdout = child.stdout.take().expect("stdout");
    let _server = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("addr");
    let base = format!("http://{}", line.trim().trim_start_matches("listening on "));

    let today = chrono::Utc::now().date_naive();
    let spec = BookSpec::new(40, 3, today);
    // The CSM's laptop: a scored book with its rules run, used offline before connecting.
    let csm = Store::open(&dir.path().join("csm.db"))
        .await
        .expect("csm store");
    book::load(&csm, &spec, |_, _| {}).await.expect("book");
    riskdesk_core::health::recompute(
        &csm,
        None,
        today,
        riskdesk_core::health::Trigger::Scheduled,
        |_, _| {},
    )
    .await
    .expect("score");
    let account: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY name LIMIT 1")
        .fetch_one(csm.pool())
        .await
        .expect("acct");
    let escalation = riskdesk_core::escalation::escalate(
        &csm,
        &account,
        "Champion left; renewal in 45 days",
        None,
    )
    .await
    .expect("escalate");
    // The manager's laptop: the same organisation's people, no accounts yet.
    let mgr = Store::open(&dir.path().join("mgr.db"))
        .await
        .expect("mgr store");
    book::load_people(&mgr, &spec).await.expect("people");

    let csm_link = HttpClient::sign_in(&base, "csm@acme.example", PASSWORD)
        .await
        .expect("csm signs in");
    let mgr_link = HttpClient::sign_in(&base, "mgr@acme.example", PASSWORD)
        .await
        .expect("mgr signs in");
    sync::start_recording(&csm, true)
        .await
        .expect("csm records");
    sync::start_recording(&mgr, false)
        .await
        .expect("mgr records");
    let up = sync::sync_once(&csm, &csm_link, |_, _| {})
        .await
        .expect("csm syncs");
    // At least every field of every account went up.
    assert!(up.pushed >= 40 * 16, "{up:?}");
    let down = sync::sync_once(&mgr, &mgr_link, |_, _| {})
        .await
        .expect("mgr syncs");
    assert_eq!(down.pending, 0, "{down:?}");

    let wbr = riskdesk_core::escalation::wbr(mgr.pool(), today)
        .await
        .expect("wbr");
    let item = wbr
        .iter()
        .find(|w| w.cta_id == escalation)
        .expect("the escalation is in the manager's WBR");
    assert_eq!(item.reason, "Champion left; renewal in 45 days");

    // The manager records a decision in the WBR; the CSM sees it after syncing.
    riskdesk_core::escalation::add_decision(
        &mgr,
        &escalation,
        "VP CS calls the sponsor this week",
        None,
    )
    .await
    .expect("decision");
    sync::sync_once(&mgr, &mgr_link, |_, _| {})
        .await
        .expect("mgr pushes");
    sync::sync_once(&csm, &csm_link, |_, _| {})
        .await
        .expect("csm pulls");
    let wbr = riskdesk_core::escalation::wbr(csm.pool(), today)
        .await
        .expect("wbr");
    let item = wbr
        .iter()
        .find(|w| w.cta_id == escalation)
        .expect("still escalated");
    assert!(
        item.decisions
            .iter()
            .any(|d| d.text == "VP CS calls the sponsor this week"),
        "{:?}",
        item.decisions
    );
}
