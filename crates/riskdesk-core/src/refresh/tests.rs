use super::*;
use crate::store::testing::{temp_store, test_day};

async fn book(n: usize) -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    crate::book::load(
        &store,
        &crate::book::BookSpec::new(n, 3, test_day()),
        |_, _| {},
    )
    .await
    .expect("book");
    (dir, store)
}

async fn count(pool: &SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn state(pool: &SqlitePool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for sql in [
        "SELECT a.id || ':' || COALESCE(h.score, '') || COALESCE(h.band, '') || COALESCE(h.severity_score, '') FROM account_health h JOIN accounts a ON a.rowid = h.account ORDER BY 1",
        "SELECT account_id || ':' || kind || severity || COALESCE(cleared_at, '') FROM signals ORDER BY 1",
        "SELECT account_id || ':' || type || reason || status FROM ctas ORDER BY 1",
        "SELECT a.id || ':' || h.epoch_day || COALESCE(h.score, '') || hex(h.measures) FROM health_history h JOIN accounts a ON a.rowid = h.account ORDER BY 1",
        "SELECT a.id || ':' || t.body FROM timeline_entries t JOIN accounts a ON a.rowid = t.account ORDER BY 1",
        "SELECT id || ':' || stage || COALESCE(adopted_on, '') FROM accounts ORDER BY 1",
    ] {
        out.push(
            sqlx::query_scalar::<_, String>(sql)
                .fetch_all(pool)
                .await
                .expect("state"),
        );
    }
    out
}

#[tokio::test]
async fn owed_work_is_recorded_and_paid_once() {
    let (_dir, store) = book(40).await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 5")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let mut tx = store.write().await.expect("tx");
    mark(&mut tx, &Scope::Accounts(ids.clone()), test_day())
        .await
        .expect("mark");
    tx.commit().await.expect("commit");
    let mut owed = match pending(store.pool()).await.expect("pending") {
        Some((Scope::Accounts(owed), day)) if day == test_day() => owed,
        other => panic!("{other:?}"),
    };
    owed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(owed, want);

    let done = finish_pending(&store)
        .await
        .expect("finish")
        .expect("something was owed");
    assert_eq!(done.health.accounts, 5);
    assert_eq!(pending(store.pool()).await.expect("pending"), None);
    assert_eq!(
        count(store.pool(), "SELECT COUNT(*) FROM account_health").await,
        5
    );
    assert_eq!(finish_pending(&store).await.expect("again"), None);
}

#[tokio::test]
async fn the_whole_book_outranks_its_parts_and_clears_them() {
    let (_dir, store) = book(30).await;
    let one: String = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("id");
    let mut tx = store.write().await.expect("tx");
    mark(&mut tx, &Scope::Accounts(vec![one]), test_day())
        .await
        .expect("mark");
    mark(&mut tx, &Scope::Book, test_day()).await.expect("mark");
    tx.commit().await.expect("commit");
    assert_eq!(
        pending(store.pool()).await.expect("pending"),
        Some((Scope::Book, test_day()))
    );
    let done = finish_pending(&store).await.expect("finish").expect("owed");
    assert_eq!(done.health.accounts, 30);
    assert_eq!(
        count(store.pool(), "SELECT COUNT(*) FROM refresh_pending").await,
        0
    );
}

#[tokio::test]
async fn a_refresh_run_twice_leaves_what_one_run_leaves() {
    let (_dir, store) = book(60).await;
    run(&store, Scope::Book, test_day(), "test", |_, _| {})
        .await
        .expect("first");
    let once = state(store.pool()).await;
    assert!(!once[2].is_empty(), "the book should open some CTAs");
    assert_eq!(
        pending(store.pool()).await.expect("pending"),
        None,
        "a run pays its own debt"
    );
    // A full run again, not the same-day shortcut.
    forget_full(&store).await.expect("forget");
    let second = run(&store, Scope::Book, test_day(), "test", |_, _| {})
        .await
        .expect("second");
    assert_eq!(second.health.unchanged, 0);
    assert_eq!((second.ctas_created, second.ctas_closed), (0, 0));
    assert_eq!(state(store.pool()).await, once);
}

/// One account's refresh moves the day's dashboard aggregate by its own difference, and
/// that leaves it exactly as a full recount would.
#[tokio::test]
async fn a_small_refresh_keeps_the_days_aggregate_exact() {
    let (_dir, store) = book(80).await;
    run(&store, Scope::Book, test_day(), "test", |_, _| {})
        .await
        .expect("book");
    let healthy: String = sqlx::query_scalar(
        "SELECT a.id FROM account_health h JOIN accounts a ON a.rowid = h.account WHERE h.score >= 70 ORDER BY a.id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("a healthy account");
    // A CSM's judgment sinks it below 50: it joins the at-risk count.
    use crate::scorecard::MeasureKind as M;
    for m in [
        M::SeatUtilization,
        M::ActiveUserTrend,
        M::LoginFrequency,
        M::KeyFeatureAdoption,
        M::OpenTickets,
        M::TicketAge,
        M::NpsLatest,
        M::NpsTrend,
        M::Stakeholders,
        M::OnboardingProgress,
        M::EngagementRecency,
        M::CsmSentiment,
    ] {
        let _ = crate::overrides::override_measure(
            &store,
            &healthy,
            m,
            0.0,
            "test",
            None,
            None,
            test_day(),
        )
        .await;
    }
    let stored: (i64, i64, i64) =
        sqlx::query_as("SELECT accounts, arr_base_minor, scored FROM risk_daily WHERE day = ?")
            .bind(test_day())
            .fetch_one(store.pool())
            .await
            .expect("stored");
    let recount: (i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(s.score < 50), 0), COALESCE(SUM(CASE WHEN s.score < 50 THEN a.arr_base_minor ELSE 0 END), 0), COUNT(s.score) \
         FROM health_history s JOIN accounts a ON a.rowid = s.account WHERE s.epoch_day = ?",
    )
    .bind(crate::store::reader::epoch_day(test_day()))
    .fetch_one(store.pool())
    .await
    .expect("recount");
    assert_eq!(stored, recount);
    let score: Option<f64> =
        sqlx::query_scalar("SELECT h.score FROM account_health h JOIN accounts a ON a.rowid = h.account WHERE a.id = ?")
            .bind(&healthy)
            .fetch_one(store.pool())
            .await
            .expect("score");
    assert!(
        score.is_some_and(|s| s < 50.0),
        "the overrides should have sunk it: {score:?}"
    );
}

#[tokio::test]
async fn the_whole_book_again_the_same_day_refreshes_only_what_changed() {
    let (_dir, store) = book(40).await;
    let day = test_day();
    let first = run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");
    assert_eq!((first.health.accounts, first.health.unchanged), (40, 0));
    // Settings written by the first run's first read (shipped scorecards) settle here.
    run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");

    let again = run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");
    assert_eq!((again.health.accounts, again.health.unchanged), (0, 40));

    // One account's data changes: only it is refreshed, and the book ends as a full
    // refresh would leave it.
    let id: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("id");
    let before = state(store.pool()).await;
    let mut idle = crate::store::activity::usage_of(store.pool(), &id, 1000)
        .await
        .expect("usage");
    assert!(!idle.is_empty(), "the account has usage");
    for w in &mut idle {
        w.active_users = 0;
    }
    let mut tx = store.write().await.expect("tx");
    crate::store::activity::upsert_usage(&mut tx, &idle)
        .await
        .expect("usage");
    // An edit of the record, as a CSM's is.
    sqlx::query("UPDATE accounts SET updated_at = ? WHERE id = ?")
        .bind(chrono::Utc::now())
        .bind(&id)
        .execute(&mut *tx)
        .await
        .expect("edit");
    mark(&mut tx, &Scope::Accounts(vec![id.clone()]), day)
        .await
        .expect("mark");
    tx.commit().await.expect("commit");
    let one = run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");
    assert_eq!((one.health.accounts, one.health.unchanged), (1, 39));
    // The narrowed run brought the book up to date: asked again, nothing is owed.
    let settled = run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");
    assert_eq!((settled.health.accounts, settled.health.unchanged), (0, 40));
    let narrowed = state(store.pool()).await;
    assert_ne!(narrowed, before, "the changed account was scored again");
    forget_full(&store).await.expect("forget");
    let full = run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");
    assert_eq!((full.health.accounts, full.health.unchanged), (40, 0));
    assert_eq!(state(store.pool()).await, narrowed);

    // A changed setting makes the next one whole again, as does another day.
    let mut severity = crate::health::severity_config(&store)
        .await
        .expect("severity");
    severity.high_at -= 1.0;
    crate::health::save_severity_config(&store, &severity)
        .await
        .expect("save");
    let after_setting = run(&store, Scope::Book, day, "t", |_, _| {})
        .await
        .expect("run");
    assert_eq!(after_setting.health.unchanged, 0);
    let next_day = run(
        &store,
        Scope::Book,
        day.succ_opt().expect("day"),
        "t",
        |_, _| {},
    )
    .await
    .expect("run");
    assert_eq!(
        (next_day.health.accounts, next_day.health.unchanged),
        (40, 0)
    );
}

/// Retention runs at the end of the whole book's refresh, after scores and ranks: the
/// rows of the accounts due (a seventh of the book a day, and any whose rows reach past
/// two weeks: here every account, backfilled a day at a time as rows) are sealed into
/// series, history that left the daily window thinned to each account's first score of its
/// week; a recompute of scores alone leaves history as it is.
#[tokio::test]
async fn the_whole_books_refresh_thins_history_that_left_the_daily_window() {
    let (_dir, store) = book(12).await;
    let today = test_day();
    // Every day of the last 130, written as rows (as a store from before sealing holds
    // them): past the default 90 daily days, in weeks.
    let days: Vec<NaiveDate> = (1..=130)
        .rev()
        .map(|d| today - chrono::Duration::days(d))
        .collect();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let mut tx = store.write().await.expect("tx");
    for day in &days {
        let entries: Vec<health::history::Entry> = ids
            .iter()
            .map(|id| health::history::Entry {
                account_id: id,
                row: None,
                scorecard_id: "card",
                scorecard_version: 1,
                score: Some(60.0),
                band: Some("Green"),
                measures: vec![],
                digital: false,
            })
            .collect();
        health::history::write(&mut tx, &entries, *day)
            .await
            .expect("write");
    }
    tx.commit().await.expect("commit");
    let history = |store: &Store| {
        let (pool, ids) = (store.pool().clone(), ids.clone());
        async move {
            let mut all = Vec::new();
            for id in &ids {
                let days: Vec<NaiveDate> = health::history::of_account(&pool, id)
                    .await
                    .expect("history")
                    .into_iter()
                    .map(|(day, ..)| day)
                    .collect();
                all.push(days);
            }
            all
        }
    };
    assert!(history(&store).await.iter().all(|d| d.len() == 130));
    let rows = "SELECT COUNT(*) FROM health_history";
    health::recompute(&store, None, today, |_, _| {})
        .await
        .expect("recompute");
    assert_eq!(
        count(store.pool(), rows).await,
        12 * 131,
        "scores alone seal and thin nothing"
    );

    run(&store, Scope::Book, today, "test", |_, _| {})
        .await
        .expect("refresh");
    assert_eq!(
        count(store.pool(), rows).await,
        12,
        "today's rows stay rows"
    );
    let daily_from = week_of(today - chrono::Duration::days(90));
    for days in history(&store).await {
        assert_eq!(days.last(), Some(&today));
        let (old, recent): (Vec<NaiveDate>, Vec<NaiveDate>) =
            days.iter().partition(|d| **d < daily_from);
        assert_eq!(recent.len() as i64, (today - daily_from).num_days() + 1);
        // What stays is each account's first score of its week.
        assert!(!old.is_empty());
        for w in old.windows(2) {
            assert_ne!(week_of(w[0]), week_of(w[1]), "{w:?}");
        }
        assert!(old.iter().skip(1).all(|d| *d == week_of(*d)), "{old:?}");
    }
}

fn week_of(d: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// The daily schedule and "Recompute now" (or an import's refresh) at once: both finish,
/// and the store holds what one run leaves.
#[tokio::test]
async fn two_refreshes_at_once_leave_what_one_run_leaves() {
    let (_dir, one) = book(300).await;
    run(&one, Scope::Book, test_day(), "test", |_, _| {})
        .await
        .expect("one run");
    let once = state(one.pool()).await;
    let (_dir2, store) = book(300).await;
    let some: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid DESC LIMIT 40")
            .fetch_all(store.pool())
            .await
            .expect("ids");
    let (daily, asked, edited) = tokio::join!(
        run(&store, Scope::Book, test_day(), "daily", |_, _| {}),
        run(&store, Scope::Book, test_day(), "test", |_, _| {}),
        run(&store, Scope::Accounts(some), test_day(), "test", |_, _| {}),
    );
    daily.expect("the daily run");
    asked.expect("the run asked for");
    edited.expect("the accounts' run");
    assert_eq!(state(store.pool()).await, once);
}

/// The app and a scheduled `riskdesk import` on the same store are two processes, each
/// with its own turns in memory: their refreshes take turns through the lock file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refreshes_of_two_processes_on_one_store_take_turns() {
    let (_dir, one) = book(300).await;
    run(&one, Scope::Book, test_day(), "test", |_, _| {})
        .await
        .expect("one run");
    let once = state(one.pool()).await;
    let (dir, app) = book(300).await;
    // A second handle opened on its own, as another process opens the store.
    let cli = Store::open(&dir.path().join("riskdesk.db"))
        .await
        .expect("the other process's store");
    let (daily, imported) = tokio::join!(
        run(&app, Scope::Book, test_day(), "daily", |_, _| {}),
        run(&cli, Scope::Book, test_day(), "import", |_, _| {}),
    );
    daily.expect("the app's run");
    imported.expect("the other process's run");
    assert_eq!(state(app.pool()).await, once);
    cli.close().await;
}
