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
    riskdesk_core::health::recompute(&csm, None, today, |_, _| {})
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
    // The manager sets up the organisation's people first, as an admin would.
    sync::sync_once(&mgr, &mgr_link, |_| {})
        .await
        .expect("mgr shares the directory");
    // The CSM opens a CTA with the "Risk save" playbook and ticks its first task.
    let playbook = riskdesk_core::cta::playbooks(&csm)
        .await
        .expect("playbooks")
        .into_iter()
        .find(|p| p.name == "Risk save")
        .expect("Risk save");
    let save = riskdesk_core::cta::create_manual(
        &csm,
        &riskdesk_core::cta::ManualCta {
            account_id: account.clone(),
            cta_type: riskdesk_core::rules::CtaType::Risk,
            reason: "Save plan after the sponsor left".into(),
            priority: riskdesk_core::signals::Level::High,
            owner_id: None,
            due_on: None,
            playbook_id: Some(playbook.id.clone()),
            category: None,
        },
        today,
    )
    .await
    .expect("cta with a playbook");
    let first_task: String =
        sqlx::query_scalar("SELECT id FROM cta_tasks WHERE cta_id = ? ORDER BY position LIMIT 1")
            .bind(&save)
            .fetch_one(csm.pool())
            .await
            .expect("task");
    let mut tx = csm.write().await.expect("tx");
    riskdesk_core::cta::set_task_done(&mut tx, &first_task, true)
        .await
        .expect("tick");
    tx.commit().await.expect("commit");
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
    let scored = riskdesk_core::health::recompute(&mgr, None, today, |_, _| {})
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

    // The playbook CTA arrived whole: its playbook, its tasks, the ticked one ticked.
    let tasks = |store: &Store| {
        let (pool, save) = (store.pool().clone(), save.clone());
        async move {
            sqlx::query_as::<_, (Option<String>, i64, i64)>(
                "SELECT c.playbook_id, COUNT(t.id), COUNT(t.done_at) FROM ctas c JOIN cta_tasks t ON t.cta_id = c.id WHERE c.id = ? GROUP BY c.id",
            )
            .bind(save)
            .fetch_one(&pool)
            .await
            .expect("the CTA and its tasks")
        }
    };
    assert_eq!(
        tasks(&mgr).await,
        (Some(playbook.id.clone()), playbook.tasks.len() as i64, 1)
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
    // The manager ticks the second task; and removes a person who owns nothing, which the
    // server refuses (people are deactivated, never deleted): that one change is set
    // aside with the server's reason, the rest of the push lands.
    let second: String = sqlx::query_scalar(
        "SELECT id FROM cta_tasks WHERE cta_id = ? ORDER BY position LIMIT 1 OFFSET 1",
    )
    .bind(&save)
    .fetch_one(mgr.pool())
    .await
    .expect("second task");
    let idle: String = sqlx::query_scalar(
        "SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.owner_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM ctas c WHERE c.owner_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM escalation_actions e WHERE e.owner_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM escalation_decisions d WHERE d.author_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM cta_updates r WHERE r.author_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM risk_categories k WHERE k.owner_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM timeline_entries t WHERE t.author_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM measure_overrides m WHERE m.author_id = u.id) LIMIT 1",
    )
    .fetch_one(mgr.pool())
    .await
    .expect("a person who owns nothing");
    let mut tx = mgr.write().await.expect("tx");
    riskdesk_core::cta::set_task_done(&mut tx, &second, true)
        .await
        .expect("tick");
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(&idle)
        .execute(&mut *tx)
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
    let round = sync::sync_once(&mgr, &mgr_link, |_| {})
        .await
        .expect("mgr pushes");
    assert_eq!(round.set_aside, 1, "{round:?}");
    let aside = sync::set_aside(mgr.pool()).await.expect("set aside");
    assert!(
        aside.iter().any(|a| a.direction == "out"
            && a.entity_id == idle
            && a.reason.contains("cannot be deleted")),
        "{aside:?}"
    );
    assert_eq!(sync::pending_changes(mgr.pool()).await.expect("outbox"), 0);
    sync::sync_once(&csm, &csm_link, |_| {})
        .await
        .expect("csm pulls");
    assert_eq!(
        tasks(&csm).await,
        (Some(playbook.id.clone()), playbook.tasks.len() as i64, 2)
    );
    let person: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = ?")
        .bind(&idle)
        .fetch_one(csm.pool())
        .await
        .expect("count");
    assert_eq!(person, 1, "the refused delete reached nobody");
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

/// A CSM joins: installs the app, starts empty with their work email (a local person of
/// their own) and signs in. The first pull makes the directory's record of that email the
/// device's user, and brings the accounts the server scopes to them.
async fn a_csm_who_started_empty_signs_in_and_gets_their_accounts(backing: &Backing) {
    let dir = tempfile::tempdir().expect("dir");
    let today = chrono::Utc::now().date_naive();
    let spec = BookSpec::new(40, 3, today);
    // The admin's store: the team's people and book, shared whole.
    let admin = Store::open(&dir.path().join("admin.db"))
        .await
        .expect("admin store");
    book::load(&admin, &spec, |_, _| {}).await.expect("book");
    let (person, email, owned): (String, String, i64) = sqlx::query_as(
        "SELECT u.id, u.email, COUNT(*) FROM users u JOIN accounts a ON a.owner_id = u.id \
         WHERE u.role = 'csm' GROUP BY u.id ORDER BY COUNT(*) DESC, u.email LIMIT 1",
    )
    .fetch_one(admin.pool())
    .await
    .expect("a csm with accounts");
    backing
        .seed(&[
            ("ops@acme.example", "admin", None),
            (email.as_str(), "csm", Some("Enterprise")),
        ])
        .await;
    let server = Server::start(backing);
    let base = server.base.clone();
    let ops = HttpClient::sign_in(&base, "ops@acme.example", PASSWORD)
        .await
        .expect("admin signs in");
    sync::start_recording(&admin, sync::Share::Everything)
        .await
        .expect("admin records");
    sync::sync_once(&admin, &ops, |_| {})
        .await
        .expect("admin shares the book");

    let laptop = Store::open(&dir.path().join("csm.db"))
        .await
        .expect("csm store");
    let me = riskdesk_core::first_start::start_empty(&laptop, "Me", &email)
        .await
        .expect("start empty");
    let link = HttpClient::sign_in(&base, &email, PASSWORD)
        .await
        .expect("csm signs in");
    let vault = sync::Vault::file_only(dir.path().join("csm.sync-token"));
    sync::connect(
        &laptop,
        &vault,
        &base,
        &email,
        link.token(),
        sync::Share::for_role(true, link.role()),
    )
    .await
    .expect("connect");
    let report = sync::sync_once(&laptop, &link, |_| {})
        .await
        .expect("first sync");
    assert_eq!((report.pending, report.set_aside), (0, 0), "{report:?}");
    let people: Vec<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower(?)")
            .bind(&email)
            .fetch_all(laptop.pool())
            .await
            .expect("people");
    assert_eq!(
        people,
        vec![person.clone()],
        "the local {} is folded",
        me.id
    );
    let current = riskdesk_core::store::settings::get(
        laptop.pool(),
        riskdesk_core::store::settings::CURRENT_USER,
    )
    .await
    .expect("current");
    assert_eq!(current.as_deref(), Some(person.as_str()));
    let mine: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE owner_id = ?")
        .bind(&person)
        .fetch_one(laptop.pool())
        .await
        .expect("mine");
    assert_eq!(mine, owned);
}

on_both_backends!(a_csm_who_started_empty_signs_in_and_gets_their_accounts);
