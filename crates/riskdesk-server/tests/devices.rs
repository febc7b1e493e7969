//! Two real device stores and the real server: a CSM's escalation reaches the manager's
//! WBR after both sync, and the manager's decision reaches the CSM.

mod common;

use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::sync;
use riskdesk_core::Store;
use riskdesk_sync::http::HttpClient;

use common::{Backing, Server, PASSWORD};

async fn a_csm_escalation_reaches_the_managers_wbr_and_the_decision_comes_back(backing: &Backing) {
    let dir = tempfile::tempdir().expect("dir");
    backing
        .seed(&[
            ("csm@acme.example", "csm", Some("Enterprise")),
            ("mgr@acme.example", "manager", Some("Leadership")),
        ])
        .await;
    let server = Server::start(backing);
    let base = server.base.clone();

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
    sync::start_recording(&csm, sync::Share::Work)
        .await
        .expect("csm records");
    sync::start_recording(&mgr, sync::Share::Everything)
        .await
        .expect("mgr records");
    let up = sync::sync_once(&csm, &csm_link, |_| {})
        .await
        .expect("csm syncs");
    // At least every field of every account went up.
    assert!(up.pushed >= 40 * 16, "{up:?}");
    let down = sync::sync_once(&mgr, &mgr_link, |_| {})
        .await
        .expect("mgr syncs");
    assert_eq!(down.pending, 0, "{down:?}");

    // The manager's daily scoring and rule run leave the CSM's accounts alone (their usage,
    // tickets and NPS are on the CSM's laptop): nothing is scored, opened or sent back.
    let ctas = |store: &Store| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ctas")
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    let before = ctas(&mgr).await;
    assert!(before > 0, "the CSM's CTAs arrived");
    let scored = riskdesk_core::health::recompute(
        &mgr,
        None,
        today,
        riskdesk_core::health::Trigger::Scheduled,
        |_, _| {},
    )
    .await
    .expect("mgr scores");
    assert_eq!(scored.accounts, 0, "{scored:?}");
    riskdesk_core::rules::run::run(&mgr, None, today, false, "daily")
        .await
        .expect("mgr runs rules");
    assert_eq!(ctas(&mgr).await, before);
    assert_eq!(
        sync::pending_changes(mgr.pool()).await.expect("outbox"),
        0,
        "nothing to send back"
    );

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
    sync::sync_once(&mgr, &mgr_link, |_| {})
        .await
        .expect("mgr pushes");
    sync::sync_once(&csm, &csm_link, |_| {})
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

on_both_backends!(a_csm_escalation_reaches_the_managers_wbr_and_the_decision_comes_back);
