use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::testing::temp_store;
use super::*;
use crate::model::*;
use crate::new_id;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0)
        .single()
        .expect("time")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn user(role: Role, team: Option<String>) -> User {
    let id = new_id();
    User {
        email: format!("{id}@example.com"),
        id,
        name: "Dana Reyes".into(),
        role,
        title: "CSM".into(),
        team_id: team,
        created_at: now(),
    }
}

fn account(owner: Option<String>, name: &str, arr_minor: i64, currency: &str) -> Account {
    Account {
        id: new_id(),
        name: name.into(),
        arr_minor,
        currency: currency.into(),
        segment: Segment::Enterprise,
        stage: Stage::Adopting,
        contract_start: date(2026, 2, 1),
        renewal_date: date(2027, 2, 1),
        owner_id: owner,
        strategic: true,
        expansion_potential: ExpansionPotential::Medium,
        industry: "Logistics".into(),
        region: "EMEA".into(),
        crm_id: Some(format!("CRM-{name}")),
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn migrations_run_on_an_empty_file_and_again_on_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("nested/dir/riskdesk.db");
    let store = Store::open(&path).await.expect("open");
    assert_eq!(
        store.applied_migrations().await.expect("migrations"),
        vec![
            "foundation".to_string(),
            "health".to_string(),
            "work".to_string(),
            "priority".to_string(),
            "escalation".to_string(),
            "dashboard".to_string(),
            "import".to_string(),
            "sync".to_string(),
            "sync remote".to_string(),
            "sync records".to_string(),
            "uuid7 change ids".to_string(),
            "sync directory".to_string(),
            "sync trust".to_string(),
            "data coverage".to_string(),
            "people".to_string(),
            "lifecycle".to_string(),
            "refresh pending".to_string(),
            "compact history".to_string(),
            "history by day".to_string(),
            "explanations when read".to_string(),
            "rank explanations when read".to_string(),
            "settings version".to_string(),
            "history account keys".to_string(),
            "one rank index per lane".to_string(),
            "daily state apart".to_string(),
            "usage account keys".to_string(),
            "usage summary".to_string(),
            "last touch".to_string(),
            "health account keys".to_string(),
            "usage summary weeks".to_string(),
            "rank account keys".to_string(),
            "health level check".to_string(),
            "feed account keys".to_string(),
            "usage week numbers".to_string(),
            "history day numbers".to_string(),
            "sealed history".to_string(),
            "lane trend".to_string(),
            "feed ids".to_string(),
            "at risk slice indexes".to_string(),
            "usage packed".to_string(),
            "usage summary lean".to_string(),
            "feed account indexes".to_string(),
            "at risk rank indexes".to_string(),
            "digital lane indexes".to_string(),
            "feed summary".to_string(),
        ]
    );
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(store.pool())
            .await
            .expect("tables");
    let tables: Vec<String> = tables.into_iter().map(|(t,)| t).collect();
    for t in [
        "accounts",
        "contacts",
        "usage_packed",
        "tickets",
        "nps_responses",
        "timeline_entries",
        "users",
        "teams",
    ] {
        assert!(tables.contains(&t.to_string()), "missing table {t}");
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .expect("pragma");
    assert_eq!(fk, 1);
    store.close().await;
    let again = Store::open(&path).await.expect("reopen");
    assert_eq!(
        again.applied_migrations().await.expect("migrations").len(),
        45
    );
}

#[tokio::test]
async fn every_entity_round_trips() {
    let (_dir, store) = temp_store().await;
    let team = Team {
        id: new_id(),
        name: "Enterprise".into(),
        created_at: now(),
    };
    let csm = user(Role::Csm, Some(team.id.clone()));
    let acct = account(
        Some(csm.id.clone()),
        "Harbor Freight GmbH",
        250_000_00,
        "EUR",
    );
    let sponsor = Contact {
        id: new_id(),
        account_id: acct.id.clone(),
        name: "Lena Vogel".into(),
        email: "lena@harbor.example".into(),
        title: "COO".into(),
        role: ContactRole::Sponsor,
        status: ContactStatus::Left,
        left_on: Some(date(2026, 11, 2)),
        created_at: now(),
        external_id: None,
    };
    let week = UsageWeek {
        account_id: acct.id.clone(),
        week_start: date(2026, 11, 16),
        active_users: 41,
        licensed_seats: 100,
        logins: 230,
        key_feature_adoption: 37,
    };
    let ticket = Ticket {
        id: new_id(),
        account_id: acct.id.clone(),
        external_id: Some("T-1".into()),
        subject: "Sync fails".into(),
        priority: TicketPriority::Urgent,
        category: "Bug".into(),
        opened_at: now() - Duration::days(3),
        resolved_at: None,
    };
    let nps = NpsResponse {
        id: new_id(),
        account_id: acct.id.clone(),
        contact_id: Some(sponsor.id.clone()),
        score: 3,
        comment: "Too many bugs".into(),
        responded_on: date(2026, 11, 2),
        external_id: None,
    };
    let entry = TimelineEntry {
        id: new_id(),
        account_id: acct.id.clone(),
        kind: TimelineKind::Call,
        occurred_at: now(),
        author_id: Some(csm.id.clone()),
        body: "Call with Lena".into(),
    };

    let mut tx = store.write().await.expect("tx");
    people::upsert_teams(&mut tx, std::slice::from_ref(&team))
        .await
        .expect("team");
    people::upsert_users(&mut tx, std::slice::from_ref(&csm))
        .await
        .expect("user");
    accounts::upsert_accounts(&mut tx, std::slice::from_ref(&acct))
        .await
        .expect("account");
    activity::upsert_contacts(&mut tx, std::slice::from_ref(&sponsor))
        .await
        .expect("contact");
    activity::upsert_usage(&mut tx, std::slice::from_ref(&week))
        .await
        .expect("usage");
    activity::upsert_tickets(&mut tx, std::slice::from_ref(&ticket))
        .await
        .expect("ticket");
    activity::upsert_nps(&mut tx, std::slice::from_ref(&nps))
        .await
        .expect("nps");
    crate::timeline::upsert(&mut tx, std::slice::from_ref(&entry))
        .await
        .expect("timeline");
    settings::set(&mut tx, settings::CURRENT_USER, &csm.id)
        .await
        .expect("setting");
    tx.commit().await.expect("commit");

    let pool = store.pool();
    assert_eq!(people::list_teams(pool).await.expect("teams"), vec![team]);
    assert_eq!(people::get_user(pool, &csm.id).await.expect("user"), csm);
    let detail = accounts::account_detail(pool, &acct.id)
        .await
        .expect("detail");
    assert_eq!(detail.account, acct);
    assert_eq!(detail.owner, Some(csm.clone()));
    assert_eq!(detail.contacts, vec![sponsor]);
    assert_eq!(detail.usage, vec![week]);
    assert_eq!(detail.tickets, vec![ticket]);
    assert_eq!(detail.nps, vec![nps]);
    let timeline = crate::timeline::of_account(pool, &acct.id, 10)
        .await
        .expect("timeline");
    assert_eq!(
        timeline
            .iter()
            .map(|t| (&t.id, &t.body))
            .collect::<Vec<_>>(),
        [(&entry.id, &entry.body)]
    );
    assert_eq!(
        settings::get(pool, settings::CURRENT_USER)
            .await
            .expect("get"),
        Some(csm.id)
    );

    // ARR is converted to the base currency once, at write time.
    let base: i64 = sqlx::query_scalar("SELECT arr_base_minor FROM accounts WHERE id = ?")
        .bind(&acct.id)
        .fetch_one(pool)
        .await
        .expect("base");
    assert_eq!(base, 270_000_00);
}

#[tokio::test]
async fn upsert_updates_in_place() {
    let (_dir, store) = temp_store().await;
    let mut a = account(None, "Cedar Labs", 10_000_00, "USD");
    let mut tx = store.write().await.expect("tx");
    accounts::upsert_accounts(&mut tx, std::slice::from_ref(&a))
        .await
        .expect("insert");
    a.arr_minor = 12_500_00;
    a.stage = Stage::Renewal;
    accounts::upsert_accounts(&mut tx, std::slice::from_ref(&a))
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(
        accounts::count_accounts(store.pool()).await.expect("count"),
        1
    );
    assert_eq!(
        accounts::get_account(store.pool(), &a.id)
            .await
            .expect("get"),
        a
    );
}

#[tokio::test]
async fn a_bad_row_rolls_back_the_whole_write() {
    let (_dir, store) = temp_store().await;
    let good = account(None, "Good Co", 1_000_00, "USD");
    let bad = account(None, "Bad Co", 1_000_00, "XXX");
    let mut tx = store.write().await.expect("tx");
    accounts::upsert_accounts(&mut tx, std::slice::from_ref(&good))
        .await
        .expect("good");
    let err = accounts::upsert_accounts(&mut tx, &[bad])
        .await
        .expect_err("unknown currency");
    assert!(err.to_string().contains("XXX"), "{err}");
    drop(tx);
    assert_eq!(
        accounts::count_accounts(store.pool()).await.expect("count"),
        0
    );

    let mut tx = store.write().await.expect("tx");
    let mut nameless = account(None, "  ", 1, "USD");
    nameless.name = " ".into();
    let err = accounts::upsert_accounts(&mut tx, &[nameless])
        .await
        .expect_err("empty name");
    assert!(err.to_string().contains("name"), "{err}");
    let err = activity::upsert_nps(
        &mut tx,
        &[NpsResponse {
            id: new_id(),
            account_id: good.id.clone(),
            contact_id: None,
            score: 11,
            comment: String::new(),
            responded_on: date(2026, 1, 1),
            external_id: None,
        }],
    )
    .await
    .expect_err("score 11");
    assert!(err.to_string().contains("score"), "{err}");
}

#[tokio::test]
async fn unknown_account_is_not_found() {
    let (_dir, store) = temp_store().await;
    let err = accounts::account_detail(store.pool(), "0190f3c4-0000-7000-8000-000000000000")
        .await
        .expect_err("missing");
    assert!(
        matches!(
            err,
            crate::Error::NotFound {
                entity: "account",
                ..
            }
        ),
        "{err}"
    );
}

async fn seeded() -> (tempfile::TempDir, Store, Vec<Account>, User) {
    let (dir, store) = temp_store().await;
    let a = user(Role::Csm, None);
    let mut b = user(Role::Csm, None);
    b.name = "Aaron Quinn".into();
    let accounts_in = vec![
        account(Some(a.id.clone()), "Zenith Travel AB", 5_000_00, "USD"),
        account(Some(b.id.clone()), "acme Robotics Inc", 900_000_00, "USD"),
        account(Some(a.id.clone()), "Beacon 50%_Off Ltd", 30_000_00, "GBP"),
        account(None, "Maple Foods Co", 30_000_00, "USD"),
    ];
    let mut tx = store.write().await.expect("tx");
    people::upsert_users(&mut tx, &[a.clone(), b])
        .await
        .expect("users");
    accounts::upsert_accounts(&mut tx, &accounts_in)
        .await
        .expect("accounts");
    tx.commit().await.expect("commit");
    (dir, store, accounts_in, a)
}

fn names(page: &AccountPage) -> Vec<&str> {
    page.rows.iter().map(|r| r.name.as_str()).collect()
}

#[tokio::test]
async fn the_accounts_table_sorts_filters_and_pages() {
    let (_dir, store, _, dana) = seeded().await;
    let pool = store.pool();
    let q = |f: fn(&mut AccountQuery)| {
        let mut q = AccountQuery {
            limit: 50,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let by_name = accounts::query_accounts(pool, &q(|_| {}))
        .await
        .expect("query");
    assert_eq!(by_name.total, 4);
    assert_eq!(
        names(&by_name),
        [
            "acme Robotics Inc",
            "Beacon 50%_Off Ltd",
            "Maple Foods Co",
            "Zenith Travel AB"
        ]
    );

    // ARR sorts in the base currency: 30,000 GBP is worth more than 30,000 USD.
    let by_arr = accounts::query_accounts(
        pool,
        &q(|q| {
            q.sort = AccountSort::Arr;
            q.descending = true;
        }),
    )
    .await
    .expect("query");
    assert_eq!(
        names(&by_arr),
        [
            "acme Robotics Inc",
            "Beacon 50%_Off Ltd",
            "Maple Foods Co",
            "Zenith Travel AB"
        ]
    );

    let search = accounts::query_accounts(pool, &q(|q| q.search = Some("ROBOT".into())))
        .await
        .expect("query");
    assert_eq!(names(&search), ["acme Robotics Inc"]);
    // LIKE wildcards in the search text are literal.
    let literal = accounts::query_accounts(pool, &q(|q| q.search = Some("50%_".into())))
        .await
        .expect("query");
    assert_eq!(names(&literal), ["Beacon 50%_Off Ltd"]);
    let wildcard = accounts::query_accounts(pool, &q(|q| q.search = Some("%".into())))
        .await
        .expect("query");
    assert_eq!(wildcard.total, 1);
    let crm = accounts::query_accounts(pool, &q(|q| q.search = Some("crm-maple".into())))
        .await
        .expect("query");
    assert_eq!(names(&crm), ["Maple Foods Co"]);

    let mut mine = q(|q| q.sort = AccountSort::Owner);
    mine.owner_id = Some(dana.id.clone());
    let mine = accounts::query_accounts(pool, &mine).await.expect("query");
    assert_eq!(mine.total, 2);
    assert!(mine
        .rows
        .iter()
        .all(|r| r.owner_name.as_deref() == Some("Dana Reyes")));

    let page = accounts::query_accounts(
        pool,
        &q(|q| {
            q.offset = 2;
            q.limit = 1;
        }),
    )
    .await
    .expect("query");
    assert_eq!(
        (page.total, page.offset, names(&page)),
        (4, 2, vec!["Maple Foods Co"])
    );

    let err = accounts::query_accounts(pool, &q(|q| q.limit = 0))
        .await
        .expect_err("limit 0");
    assert!(err.to_string().contains("limit"));
}

#[tokio::test]
async fn paging_in_small_steps_yields_the_same_order_as_one_page() {
    let (_dir, store, _, _) = seeded().await;
    let pool = store.pool();
    for sort in [
        AccountSort::Name,
        AccountSort::Arr,
        AccountSort::Segment,
        AccountSort::Stage,
        AccountSort::Renewal,
        AccountSort::Owner,
        AccountSort::Health,
        AccountSort::Severity,
    ] {
        for descending in [false, true] {
            let whole = accounts::query_accounts(
                pool,
                &AccountQuery {
                    sort,
                    descending,
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .expect("whole");
            let mut stepped = Vec::new();
            for offset in (0..whole.total).step_by(3) {
                let page = accounts::query_accounts(
                    pool,
                    &AccountQuery {
                        sort,
                        descending,
                        offset,
                        limit: 3,
                        ..Default::default()
                    },
                )
                .await
                .expect("page");
                stepped.extend(page.rows.into_iter().map(|r| r.id));
            }
            let expected: Vec<String> = whole.rows.iter().map(|r| r.id.clone()).collect();
            assert_eq!(stepped, expected, "{sort:?} descending={descending}");
        }
    }
}

#[tokio::test]
async fn owner_sort_puts_accounts_without_owner_first_ascending_and_last_descending() {
    let (_dir, store, _, _) = seeded().await;
    let pool = store.pool();
    let owners = |page: &AccountPage| {
        page.rows
            .iter()
            .map(|r| r.owner_name.clone())
            .collect::<Vec<_>>()
    };
    let asc = accounts::query_accounts(
        pool,
        &AccountQuery {
            sort: AccountSort::Owner,
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("asc");
    assert_eq!(
        owners(&asc),
        [
            None,
            Some("Aaron Quinn".into()),
            Some("Dana Reyes".into()),
            Some("Dana Reyes".into())
        ]
    );
    let desc = accounts::query_accounts(
        pool,
        &AccountQuery {
            sort: AccountSort::Owner,
            descending: true,
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("desc");
    assert_eq!(
        owners(&desc),
        [
            Some("Dana Reyes".into()),
            Some("Dana Reyes".into()),
            Some("Aaron Quinn".into()),
            None
        ]
    );
    // The filtered path sorts the same way.
    let filtered = accounts::query_accounts(
        pool,
        &AccountQuery {
            sort: AccountSort::Owner,
            stage: Some(Stage::Adopting),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("filtered");
    assert_eq!(owners(&filtered), owners(&asc));
}

/// A new account's stage day is unknown (a file or the generator gave the stage); a
/// later write that changes the stage records the day it changed; one that keeps it,
/// keeps the day.
#[tokio::test]
async fn the_stage_day_is_the_day_a_write_changed_the_stage() {
    let (_dir, store) = crate::store::testing::temp_store().await;
    let mut a = account(None, "Stagecraft", 10_000_00, "USD");
    let since = |store: &Store, id: String| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, Option<chrono::NaiveDate>>(
                "SELECT stage_since FROM accounts WHERE id = ?",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("stage day")
        }
    };
    let write = |a: Account| {
        let store = store.clone();
        async move {
            let mut tx = store.write().await.expect("tx");
            accounts::upsert_accounts(&mut tx, &[a])
                .await
                .expect("upsert");
            tx.commit().await.expect("commit");
        }
    };
    write(a.clone()).await;
    assert_eq!(since(&store, a.id.clone()).await, None);
    a.stage = Stage::Renewal;
    a.updated_at = Utc
        .with_ymd_and_hms(2026, 11, 20, 9, 30, 0)
        .single()
        .expect("time");
    write(a.clone()).await;
    assert_eq!(since(&store, a.id.clone()).await, Some(date(2026, 11, 20)));
    a.name = "Stagecraft Ltd".into();
    a.updated_at = Utc
        .with_ymd_and_hms(2026, 11, 25, 9, 30, 0)
        .single()
        .expect("time");
    write(a.clone()).await;
    assert_eq!(since(&store, a.id.clone()).await, Some(date(2026, 11, 20)));
}

/// A close leaves the whole store in its one file, so a CSM's copy of the `.db` is a
/// backup, even when another connection is still open as the store closes (two pool
/// connections closing at once each see the other; SQLite then skips its own
/// checkpoint-on-close, which the CLI's store-copy test caught under load).
#[tokio::test]
async fn a_closed_store_leaves_no_write_ahead_log() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("riskdesk.db");
    let store = Store::open(&path).await.expect("open");
    for i in 0..50 {
        sqlx::query("INSERT INTO local_settings (key, value) VALUES (?, 'x')")
            .bind(format!("close-test-{i}"))
            .execute(store.pool())
            .await
            .expect("write");
    }
    let other =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("other connection");
    let seen: i64 = other
        .query_row("SELECT count(*) FROM local_settings", [], |r| r.get(0))
        .expect("read");
    assert_eq!(seen, 50);
    store.close().await;
    drop(other);
    let left = std::fs::metadata(dir.path().join("riskdesk.db-wal")).map_or(0, |m| m.len());
    assert_eq!(left, 0, "{left} bytes of log left behind");
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy");
    let copied: i64 = rusqlite::Connection::open(&copy)
        .and_then(|c| c.query_row("SELECT count(*) FROM local_settings", [], |r| r.get(0)))
        .expect("read copy");
    assert_eq!(copied, 50);
}

/// A new store is created with the larger pages a whole-book refresh reads fastest; a
/// store created before keeps its own, and opens and upgrades as it did.
#[tokio::test]
async fn a_new_store_has_large_pages_and_an_old_one_keeps_its_own() {
    let (_dir, store) = crate::store::testing::temp_store().await;
    let size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(store.pool())
        .await
        .expect("page size");
    assert_eq!(size, i64::from(crate::store::PAGE_SIZE));
    assert_eq!(size, 16_384);
    store.close().await;

    // A store from before: SQLite's default 4 KB pages, in WAL mode, with a table in it.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = old_store(dir.path());
    let store = crate::Store::open(&path).await.expect("open an old store");
    let (size, kept): (i64, String) = sqlx::query_as(
        "SELECT (SELECT page_size FROM pragma_page_size), (SELECT v FROM kept_from_before)",
    )
    .fetch_one(store.pool())
    .await
    .expect("read");
    assert_eq!((size, kept.as_str()), (4096, "here"));
    // Its data and the app's tables are all there.
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(store.pool())
        .await
        .expect("migrated");
    assert_eq!(accounts, 0);
    store.close().await;
}

/// Both the writer's connections and the bulk reader map the store file (a whole-book
/// refresh reads it without copying each page through the kernel).
#[tokio::test]
async fn the_store_is_read_through_a_memory_map() {
    let (_dir, store) = crate::store::testing::temp_store().await;
    let pooled: i64 = sqlx::query_scalar("PRAGMA mmap_size")
        .fetch_one(store.pool())
        .await
        .expect("pool mmap size");
    let read: i64 = store
        .read(|conn| conn.query_row("PRAGMA mmap_size", [], |r| r.get(0)))
        .await
        .expect("reader mmap size");
    assert_eq!((pooled, read), (super::MMAP_SIZE, super::MMAP_SIZE));
    store.close().await;
}

/// A store with 4 KB pages, as releases before 16 KB pages made it, with a row in it.
/// (Made without a `Store`: a closed pool's connections may still be closing when the test
/// goes on, and `repage` rightly finds the store open.)
fn old_store(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("old.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; \
                 CREATE TABLE kept_from_before (v TEXT); INSERT INTO kept_from_before VALUES ('here');",
            )
        })
        .expect("old store");
    path
}

fn page_size_and_mode(path: &std::path::Path) -> (i64, String) {
    let c = rusqlite::Connection::open(path).expect("open");
    let size = c
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("size");
    let mode = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    (size, mode)
}

/// `riskdesk compact` gives an old store the larger pages, keeping every row and WAL mode;
/// asked again it has nothing to do.
#[tokio::test]
async fn an_old_store_is_repaged_with_its_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = old_store(dir.path());
    assert_eq!(page_size_and_mode(&path), (4096, "wal".into()));
    assert_eq!(crate::store::repage(&path).expect("repage"), Some(4096));
    assert_eq!(page_size_and_mode(&path), (16_384, "wal".into()));
    assert_eq!(crate::store::repage(&path).expect("again"), None);
    // It opens as a store, its schema brought up to date, its row kept.
    let store = crate::Store::open(&path).await.expect("open");
    let kept: String = sqlx::query_scalar("SELECT v FROM kept_from_before")
        .fetch_one(store.pool())
        .await
        .expect("kept");
    assert_eq!(kept, "here");
    store.close().await;
    assert!(matches!(
        crate::store::repage(&dir.path().join("missing.db")),
        Err(crate::Error::NotFound { .. })
    ));
}

/// The app's start gives a small old store the larger pages and leaves a new one, a
/// missing one (a first start) and one too large to rewrite at once as they are.
#[tokio::test]
async fn the_start_repages_a_small_old_store_only() {
    use crate::store::{repage_at_start, Repaged, REPAGE_AT_START_BYTES};
    let dir = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        repage_at_start(&dir.path().join("first-start.db")).expect("missing"),
        Repaged::Nothing
    );
    let path = old_store(dir.path());
    assert_eq!(repage_at_start(&path).expect("old"), Repaged::From(4096));
    assert_eq!(page_size_and_mode(&path), (16_384, "wal".into()));
    assert_eq!(repage_at_start(&path).expect("again"), Repaged::Nothing);
    // Too large: a 4 KB store grown past the limit by a sparse tail SQLite never reads
    // (its header still says how many pages it has).
    let large = dir.path().join("large");
    std::fs::create_dir(&large).expect("dir");
    let large = old_store(&large);
    rusqlite::Connection::open(&large)
        .and_then(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
        .expect("checkpoint");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&large)
        .and_then(|f| f.set_len(REPAGE_AT_START_BYTES + 4096))
        .expect("grow");
    assert_eq!(
        repage_at_start(&large).expect("large"),
        Repaged::TooLarge(REPAGE_AT_START_BYTES + 4096)
    );
    assert_eq!(page_size_and_mode(&large).0, 4096);
}

/// With the store open elsewhere (the app running), repaging is refused and changes nothing.
#[tokio::test]
async fn a_store_open_elsewhere_is_not_repaged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = old_store(dir.path());
    let open = crate::Store::open(&path).await.expect("open");
    let refused = crate::store::repage(&path).expect_err("refused");
    assert!(refused.to_string().contains("open elsewhere"), "{refused}");
    assert_eq!(page_size_and_mode(&path), (4096, "wal".into()));
    let kept: String = sqlx::query_scalar("SELECT v FROM kept_from_before")
        .fetch_one(open.pool())
        .await
        .expect("still works");
    assert_eq!(kept, "here");
    open.close().await;
}

/// Compacting returns the pages deleted rows left to the disk and keeps every row.
#[tokio::test]
async fn compacting_returns_free_pages_and_keeps_the_data() {
    let (dir, store) = crate::store::testing::temp_store().await;
    let big = "x".repeat(4_000);
    for i in 0..2_000 {
        sqlx::query("INSERT INTO local_settings (key, value) VALUES (?, ?)")
            .bind(format!("k{i}"))
            .bind(&big)
            .execute(store.pool())
            .await
            .expect("insert");
    }
    sqlx::query("DELETE FROM local_settings WHERE key <> 'k7'")
        .execute(store.pool())
        .await
        .expect("delete");
    let pages = |sql: &'static str| {
        let pool = store.pool().clone();
        async move {
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
            n
        }
    };
    let free_before = pages("PRAGMA freelist_count").await;
    let count_before = pages("PRAGMA page_count").await;
    let page = i64::from(crate::store::PAGE_SIZE);
    // 2,000 rows of 4 KB, all but one deleted: most of 8 MB is free.
    assert!(free_before * page > 6_000_000, "{free_before} free pages");
    // A bulk read left its connection open: compacting still runs.
    let kept: i64 = store
        .read(|c| c.query_row("SELECT count(*) FROM local_settings", [], |r| r.get(0)))
        .await
        .expect("read");
    assert_eq!(kept, 1);
    let size = store.size().await.expect("size");
    assert_eq!(size.free_bytes, free_before * page);
    let done = store.compact().await.expect("compact");
    assert_eq!(done.before, size);
    assert_eq!(pages("PRAGMA freelist_count").await, 0);
    assert!(pages("PRAGMA page_count").await < count_before - free_before / 2);
    assert_eq!(done.after, store.size().await.expect("size"));
    assert_eq!(done.after.free_bytes, 0);
    assert!(done.after.bytes <= size.bytes - size.free_bytes);
    let value: String = sqlx::query_scalar("SELECT value FROM local_settings WHERE key = 'k7'")
        .fetch_one(store.pool())
        .await
        .expect("kept row");
    assert_eq!(value, big);
    store.close().await;
    drop(dir);
}

/// The module that writes each table. A screen may join any table it shows, but every
/// INSERT, UPDATE and DELETE of a table lives in its owner, so "who changes this" has one
/// answer. (Sync applies pulled records to any shared table through its own generic
/// statements, which name no table.)
const WRITERS: &[(&str, &str)] = &[
    ("accounts", "store/accounts.rs"),
    ("accounts_search", "store/accounts.rs"),
    ("fx_rates", "store/accounts.rs"),
    ("contacts", "store/activity.rs"),
    ("usage_packed", "store/activity.rs"),
    ("tickets", "store/activity.rs"),
    ("nps_responses", "store/activity.rs"),
    ("timeline_entries", "timeline.rs"),
    ("users", "store/people.rs"),
    ("teams", "store/people.rs"),
    ("local_settings", "store/settings.rs"),
    ("config", "config.rs"),
    ("ctas", "cta/"),
    ("cta_tasks", "cta/"),
    ("cta_updates", "cta/"),
    ("playbooks", "cta/"),
    ("escalations", "escalation/"),
    ("escalation_actions", "escalation/"),
    ("escalation_decisions", "escalation/"),
    ("signals", "health/"),
    ("account_health", "health/"),
    ("health_state", "health/"),
    ("usage_summary", "health/"),
    ("feed_summary", "health/"),
    ("health_history", "health/"),
    ("health_history_packed", "health/"),
    ("history_days", "health/"),
    ("history_scorecards", "health/"),
    ("history_bands", "health/"),
    ("scorecards", "health/"),
    ("risk_daily", "health/"),
    ("account_priority", "priority.rs"),
    ("measure_overrides", "overrides.rs"),
    ("risk_categories", "categories.rs"),
    ("rules", "rules/"),
    ("rule_runs", "rules/"),
    ("imports", "import/"),
    ("refresh_pending", "refresh.rs"),
    ("sync_clock", "sync"),
    ("sync_conflicts", "sync"),
    ("sync_fields", "sync"),
    ("sync_outbox", "sync"),
    ("sync_pending", "sync"),
    ("sync_records", "sync"),
    ("sync_remote", "sync"),
    ("sync_set_aside", "sync"),
];

/// Source files under `dir` with their path relative to `src/`, tests left out.
fn product_sources(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            product_sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            // A file's own tests sit at its end, after `#[cfg(test)] mod tests`.
            let product = text
                .find("#[cfg(test)]\nmod tests")
                .map_or(text.as_str(), |end| &text[..end]);
            let rel = path
                .strip_prefix(root)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push((rel, product.to_string()));
        }
    }
}

#[test]
fn each_table_is_written_by_its_one_module() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    product_sources(&root, &root, &mut sources);
    assert!(sources.len() > 40, "{} source files", sources.len());
    let mut strays = Vec::new();
    let mut seen = 0;
    for (file, text) in &sources {
        let code: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        let code = code.join("\n");
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_ascii_alphanumeric() || "_{}".contains(c)))
            .filter(|w| !w.is_empty())
            .collect();
        {
            for (i, w) in words.iter().enumerate() {
                let table = match (*w, words.get(i + 1), words.get(i + 2), words.get(i + 3)) {
                    ("INTO", Some(t), _, _) => t,
                    ("DELETE", Some(&"FROM"), Some(t), _) => t,
                    ("UPDATE", Some(t), Some(&"SET"), _) if i == 0 || words[i - 1] != "DO" => t,
                    _ => continue,
                };
                // A name filled in at run time: sync's generic apply (names from its table list).
                if table.starts_with('{') {
                    continue;
                }
                seen += 1;
                match WRITERS.iter().find(|(t, _)| t == table) {
                    Some((_, owner)) if file.starts_with(owner) => {}
                    Some((_, owner)) => {
                        strays.push(format!("{file} writes {table} (owner: {owner})"))
                    }
                    None => strays.push(format!("{file} writes {table}, which has no owner")),
                }
            }
        }
    }
    assert!(seen > 80, "{seen} write statements found");
    assert!(
        strays.is_empty(),
        "writes outside their table's module:\n{}",
        strays.join("\n")
    );
}

/// The crate's top-level modules whose product code names `module`, by `crate::module`
/// or inside `crate::{…}`.
fn modules_named(code: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
            None => vec![rest],
        };
        for n in names {
            let n: String = n
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !n.is_empty() {
                out.insert(n);
            }
        }
    }
    out
}

/// No two domain modules need each other: "what depends on what" reads one way, so a
/// module can be understood (and tested) with only what it names below it.
#[test]
fn no_import_cycle_between_the_crates_modules() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    product_sources(&root, &root, &mut sources);
    let mut uses: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (file, text) in &sources {
        let module = file
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        // The shared test fixtures build whole books; they are not the product's code.
        let product = text
            .find("#[cfg(test)]\npub(crate) mod testing")
            .map_or(text.as_str(), |end| &text[..end]);
        uses.entry(module.clone())
            .or_default()
            .extend(modules_named(product).into_iter().filter(|m| *m != module));
    }
    let known: Vec<String> = uses.keys().cloned().collect();
    for deps in uses.values_mut() {
        deps.retain(|d| known.contains(d));
    }
    assert!(uses["health"].contains("scorecard"), "{uses:?}");
    // A depth-first walk from each module; reaching it again is a cycle.
    let mut cycles = Vec::new();
    for start in &known {
        let mut stack: Vec<Vec<String>> = vec![vec![start.clone()]];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().cloned().unwrap_or_default();
            for next in &uses[&last] {
                if next == start {
                    cycles.push(format!("{} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// Loads a book into a store opened before migration 26, 33, 34 or 40, whose usage (before
/// 26) and contacts, tickets, NPS responses and timeline (before 33) are keyed by the
/// account's id, whose usage weeks are text (before 34) and rows (before 40): the book is
/// written in today's layout and those rows moved back.
pub(crate) async fn load_in_old_layout(old: &Store, spec: &crate::book::BookSpec) {
    // Each feed's columns after its account, as the old and today's layouts share them.
    const FEEDS: [(&str, &str); 4] = [
        (
            "contacts",
            "name, email, title, role, status, left_on, created_at, external_id",
        ),
        (
            "tickets",
            "external_id, subject, priority, category, opened_at, resolved_at",
        ),
        (
            "nps_responses",
            "contact_id, score, comment, responded_on, external_id",
        ),
        (
            "timeline_entries",
            "kind, occurred_at, author_id, body, cta_id",
        ),
    ];
    let has = |table: &'static str, column: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
            .bind(table)
            .bind(column)
            .fetch_one(old.pool())
            .await
            .expect("columns")
            > 0
    };
    let by_id = |table: &'static str| has(table, "account_id");
    let (mut today, mut back) = (String::new(), String::new());
    // Before 40 usage is a row a week: the book's weeks land packed (today's layout) and
    // are moved back as rows, keyed and dated as the old layout has them (the week is text
    // before 34; the account is its id before 26).
    let rows_back = !has("usage_packed", "weeks").await;
    if rows_back {
        let (account, week) = match (
            by_id("usage_weekly").await,
            has("usage_weekly", "week").await,
        ) {
            (true, _) => ("account_id", "week_start"),
            (false, false) => ("account", "week_start"),
            (false, true) => ("account", "week"),
        };
        let from = if account == "account_id" {
            "a.id"
        } else {
            "r.account"
        };
        let day = if week == "week" {
            "r.week"
        } else {
            "date(r.week * 86400, 'unixepoch')"
        };
        today.push_str(
            "CREATE TABLE usage_packed (account INTEGER PRIMARY KEY, weeks BLOB NOT NULL,
                 latest_week INTEGER NOT NULL, latest_active_users INTEGER NOT NULL,
                 latest_licensed_seats INTEGER NOT NULL, latest_adoption INTEGER NOT NULL);
             CREATE TABLE usage_rows (account INTEGER NOT NULL, week INTEGER NOT NULL, active_users INTEGER NOT NULL,
                 licensed_seats INTEGER NOT NULL, logins INTEGER NOT NULL, key_feature_adoption INTEGER NOT NULL);",
        );
        back.push_str(&format!(
            "INSERT INTO usage_weekly ({account}, {week}, active_users, licensed_seats, logins, key_feature_adoption)
                 SELECT {from}, {day}, r.active_users, r.licensed_seats, r.logins, r.key_feature_adoption
                 FROM usage_rows r JOIN accounts a ON a.rowid = r.account ORDER BY 1, 2;
             DROP TABLE usage_rows;
             DROP TABLE usage_packed;"
        ));
    }
    let feeds = if by_id("contacts").await {
        &FEEDS[..]
    } else {
        &[]
    };
    for (table, columns) in feeds {
        today.push_str(&format!(
            "ALTER TABLE {table} RENAME TO {table}_by_id;
             CREATE TABLE {table} (id TEXT PRIMARY KEY NOT NULL, account INTEGER NOT NULL, {columns});"
        ));
        // Ids as the text they were before migration 38.
        let from: Vec<String> = columns
            .split(", ")
            .map(|c| match c {
                "contact_id" => crate::store::keys::id_text("f.contact_id"),
                c => format!("f.{c}"),
            })
            .collect();
        back.push_str(&format!(
            "INSERT INTO {table}_by_id (rowid, id, account_id, {columns})
                 SELECT f.rowid, {}, a.id, {} FROM {table} f JOIN accounts a ON a.rowid = f.account ORDER BY f.rowid;
             DROP TABLE {table};
             ALTER TABLE {table}_by_id RENAME TO {table};",
            crate::store::keys::id_text("f.id"),
            from.join(", ")
        ));
    }
    sqlx::raw_sql(&today)
        .execute(old.pool())
        .await
        .expect("today's usage and feed layout");
    crate::book::load(old, spec, |_, _| {}).await.expect("book");
    if rows_back {
        for w in crate::store::testing::usage_weeks(old).await {
            sqlx::query(
                "INSERT INTO usage_rows SELECT rowid, ?, ?, ?, ?, ? FROM accounts WHERE id = ?",
            )
            .bind(super::reader::epoch_day(w.week_start))
            .bind(w.active_users)
            .bind(w.licensed_seats)
            .bind(w.logins)
            .bind(w.key_feature_adoption)
            .bind(&w.account_id)
            .execute(old.pool())
            .await
            .expect("usage row");
        }
    }
    sqlx::raw_sql(&back)
        .execute(old.pool())
        .await
        .expect("usage and feeds by account id");
}

/// Usage keyed by the account's row number (migration 26) and the week's day number
/// (migration 34) holds every week of the old layout under its account and on its day; an
/// account's weeks go when it does, and a week for an account the store does not hold is
/// refused, naming it.
#[tokio::test]
async fn usage_weeks_keep_their_account_through_the_row_number_key() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let today = crate::store::testing::test_day();
    let old = Store::open_before(&path, 20261202000026)
        .await
        .expect("old");
    load_in_old_layout(&old, &crate::book::BookSpec::new(4, 9, today)).await;
    // Numbers of every length the packed form has (one to five bytes).
    sqlx::query(
        "UPDATE usage_weekly SET logins = 2000000, active_users = 150000000 \
         WHERE week_start = (SELECT MIN(week_start) FROM usage_weekly)",
    )
    .execute(old.pool())
    .await
    .expect("large numbers");
    type Week = (String, NaiveDate, i64, i64, i64, i64);
    let before: Vec<Week> = sqlx::query_as(
        "SELECT account_id, week_start, active_users, licensed_seats, logins, key_feature_adoption \
         FROM usage_weekly ORDER BY 1, 2",
    )
    .fetch_all(old.pool())
    .await
    .expect("old weeks");
    assert!(before.len() > 20, "{}", before.len());
    old.close().await;

    let store = Store::open(&path).await.expect("upgrade");
    let held = || async {
        crate::store::testing::usage_weeks(&store)
            .await
            .into_iter()
            .map(|w| {
                (
                    w.account_id,
                    w.week_start,
                    i64::from(w.active_users),
                    i64::from(w.licensed_seats),
                    i64::from(w.logins),
                    i64::from(w.key_feature_adoption),
                )
            })
            .collect::<Vec<Week>>()
    };
    assert_eq!(held().await, before);
    // The latest week's numbers beside the series are the latest week's.
    let latest: Vec<(String, NaiveDate, i64, i64, i64)> = sqlx::query_as(
        "SELECT a.id, date(u.latest_week * 86400, 'unixepoch'), u.latest_active_users, u.latest_licensed_seats, \
         u.latest_adoption FROM usage_packed u JOIN accounts a ON a.rowid = u.account ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("latest");
    let mut expected: Vec<(String, NaiveDate, i64, i64, i64)> = Vec::new();
    for w in &before {
        match expected.last_mut() {
            Some(last) if last.0 == w.0 => *last = (w.0.clone(), w.1, w.2, w.3, w.5),
            _ => expected.push((w.0.clone(), w.1, w.2, w.3, w.5)),
        }
    }
    assert_eq!(latest, expected);
    // The migration's bytes are the writer's: written again, nothing changes.
    let bytes = || async {
        sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT account, weeks FROM usage_packed ORDER BY 1")
            .fetch_all(store.pool())
            .await
            .expect("bytes")
    };
    let migrated = bytes().await;
    let epoch = || async {
        sqlx::query_scalar::<_, i64>("SELECT n FROM usage_epoch")
            .fetch_one(store.pool())
            .await
            .expect("epoch")
    };
    let epoch_before = epoch().await;
    let mut tx = store.write().await.expect("tx");
    activity::upsert_usage(&mut tx, &crate::store::testing::usage_weeks(&store).await)
        .await
        .expect("again");
    tx.commit().await.expect("commit");
    assert_eq!(bytes().await, migrated);
    assert_eq!(
        epoch().await,
        epoch_before,
        "an unchanged series is not written"
    );
    // The account page reads them as before.
    let first = &before[0].0;
    let shown = activity::usage_of(store.pool(), first, 1000)
        .await
        .expect("usage of");
    let expected: Vec<(NaiveDate, i64)> = before
        .iter()
        .filter(|w| &w.0 == first)
        .map(|w| (w.1, w.2))
        .collect();
    assert_eq!(
        shown
            .iter()
            .map(|w| (w.week_start, w.active_users as i64))
            .collect::<Vec<_>>(),
        expected
    );
    assert!(shown.iter().all(|w| &w.account_id == first));

    // Deleting an account deletes its weeks and only its weeks.
    let mut tx = store.write().await.expect("tx");
    sqlx::query("DELETE FROM accounts WHERE id = ?")
        .bind(first)
        .execute(&mut *tx)
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
    assert_eq!(
        held().await,
        before
            .iter()
            .filter(|w| &w.0 != first)
            .cloned()
            .collect::<Vec<Week>>()
    );

    // A week for an account the store does not hold is refused, and nothing is written.
    let mut week = UsageWeek {
        account_id: "not-an-account".into(),
        week_start: today,
        active_users: 1,
        licensed_seats: 2,
        logins: 3,
        key_feature_adoption: 4,
    };
    let mut tx = store.write().await.expect("tx");
    let refused = activity::upsert_usage(&mut tx, std::slice::from_ref(&week))
        .await
        .expect_err("no such account");
    assert!(refused.to_string().contains("not-an-account"), "{refused}");
    drop(tx);
    // And one for a held account lands under its row number, updated in place.
    week.account_id = before.last().expect("weeks").0.clone();
    for users in [5, 6] {
        week.active_users = users;
        let mut tx = store.write().await.expect("tx");
        activity::upsert_usage(&mut tx, std::slice::from_ref(&week))
            .await
            .expect("upsert");
        tx.commit().await.expect("commit");
    }
    let now = activity::usage_of(store.pool(), &week.account_id, 1)
        .await
        .expect("latest");
    assert_eq!(now.len(), 1);
    assert_eq!((now[0].week_start, now[0].active_users), (today, 6));
}

/// Contacts, tickets, NPS responses and timeline entries keyed by the account's row
/// number (migration 33) hold every row of the old layout under its account, in its order,
/// with each response's contact; the account page reads them as before; an account's rows
/// go when it does (and its last touch); a row for an account the store does not hold is
/// refused, naming it.
#[tokio::test]
async fn feeds_keep_their_account_through_the_row_number_key() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let today = crate::store::testing::test_day();
    let old = Store::open_before(&path, 20261203000033)
        .await
        .expect("old");
    load_in_old_layout(&old, &crate::book::BookSpec::new(12, 30, today)).await;
    // Responses from a known contact: the reference must survive the rebuild of both.
    sqlx::query(
        "UPDATE nps_responses SET contact_id = \
         (SELECT c.id FROM contacts c WHERE c.account_id = nps_responses.account_id ORDER BY c.rowid LIMIT 1)",
    )
    .execute(old.pool())
    .await
    .expect("contacts of responses");
    // Every row of each feed as text, its account by id, in row order.
    const FEEDS: [(&str, &str); 4] = [
        ("contacts", "id || name || email || role || status || COALESCE(left_on, '') || created_at || COALESCE(external_id, '')"),
        ("tickets", "id || subject || priority || category || opened_at || COALESCE(resolved_at, '') || COALESCE(external_id, '')"),
        ("nps_responses", "id || COALESCE(contact_id, '-') || score || comment || responded_on"),
        ("timeline_entries", "id || kind || occurred_at || COALESCE(author_id, '') || body || COALESCE(cta_id, '')"),
    ];
    let mut before = Vec::new();
    for (table, row) in FEEDS {
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT account_id, {row} FROM {table} ORDER BY rowid"
        ))
        .fetch_all(old.pool())
        .await
        .expect("old rows");
        assert!(rows.len() > 8, "{table}: {}", rows.len());
        before.push(rows);
    }
    let touches_before: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT account, at FROM last_touch ORDER BY 1")
            .fetch_all(old.pool())
            .await
            .expect("touches");
    let with_contact: i64 = sqlx::query_scalar("SELECT COUNT(contact_id) FROM nps_responses")
        .fetch_one(old.pool())
        .await
        .expect("count");
    assert!(with_contact > 5, "{with_contact}");
    old.close().await;

    let store = Store::open(&path).await.expect("upgrade");
    // Ids are 16 bytes now (migration 38), each response still naming its contact.
    for table in ["contacts", "tickets", "nps_responses", "timeline_entries"] {
        let text: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE typeof(id) <> 'blob' OR length(id) <> 16"
        ))
        .fetch_one(store.pool())
        .await
        .expect("ids");
        assert_eq!(text, 0, "{table}");
    }
    let broken: Vec<(String, i64)> =
        sqlx::query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check")
            .fetch_all(store.pool())
            .await
            .expect("foreign keys");
    assert!(broken.is_empty(), "{broken:?}");
    let named: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM nps_responses n JOIN contacts c ON c.id = n.contact_id",
    )
    .fetch_one(store.pool())
    .await
    .expect("named");
    assert_eq!(named, with_contact);
    for ((table, row), rows) in FEEDS.iter().zip(&before) {
        let column = |c: &str| match c {
            "id" => crate::store::keys::id_text("f.id"),
            "COALESCE(contact_id, '-')" => format!(
                "COALESCE({}, '-')",
                crate::store::keys::id_text("f.contact_id")
            ),
            c if c.starts_with("COALESCE(") => c.replacen("COALESCE(", "COALESCE(f.", 1),
            c => format!("f.{c}"),
        };
        let after: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT a.id, {} FROM {table} f JOIN accounts a ON a.rowid = f.account ORDER BY f.rowid",
            row.split(" || ").map(column).collect::<Vec<_>>().join(" || ")
        ))
        .fetch_all(store.pool())
        .await
        .expect("rows");
        assert_eq!(&after, rows, "{table}");
    }
    let touches: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT account, at FROM last_touch ORDER BY 1")
            .fetch_all(store.pool())
            .await
            .expect("touches");
    assert_eq!(touches, touches_before);

    // The account page reads them as before.
    let first = before[1][0].0.clone();
    let tickets = activity::tickets_of(store.pool(), &first)
        .await
        .expect("tickets");
    assert_eq!(
        tickets.len(),
        before[1].iter().filter(|(a, _)| *a == first).count()
    );
    assert!(tickets.iter().all(|t| t.account_id == first));
    let contacts = activity::contacts_of(store.pool(), &first)
        .await
        .expect("contacts");
    assert_eq!(
        contacts.len(),
        before[0].iter().filter(|(a, _)| *a == first).count()
    );
    let entries = crate::timeline::of_account(store.pool(), &first, 1000)
        .await
        .expect("timeline");
    assert_eq!(
        entries.len(),
        before[3].iter().filter(|(a, _)| *a == first).count()
    );
    assert!(entries.iter().all(|e| e.account_id == first));

    // Deleting an account deletes its rows and only its rows, and its last touch.
    let mut tx = store.write().await.expect("tx");
    sqlx::query("DELETE FROM accounts WHERE id = ?")
        .bind(&first)
        .execute(&mut *tx)
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
    for ((table, _), rows) in FEEDS.iter().zip(&before) {
        let left: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
            .expect("left");
        assert_eq!(
            left as usize,
            rows.iter().filter(|(a, _)| *a != first).count(),
            "{table}"
        );
    }
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM last_touch WHERE account NOT IN (SELECT rowid FROM accounts)",
    )
    .fetch_one(store.pool())
    .await
    .expect("orphans");
    assert_eq!(orphans, 0);

    // A ticket of an account the store does not hold is refused by name; nothing is written.
    let mut ticket = tickets[0].clone();
    ticket.id = new_id();
    ticket.account_id = "not-an-account".into();
    let mut tx = store.write().await.expect("tx");
    let refused = activity::upsert_tickets(&mut tx, std::slice::from_ref(&ticket))
        .await
        .expect_err("no such account");
    assert!(refused.to_string().contains("not-an-account"), "{refused}");
    drop(tx);
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE id = ?")
        .bind(crate::store::keys::FeedKey::of(&ticket.id))
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(held, 0);
}

/// A raw write is part of the caller's transaction: it reads what the transaction wrote
/// through sqlx, a rollback undoes it, a commit keeps it, and a failure names the write.
#[tokio::test]
async fn a_raw_write_is_inside_the_callers_transaction() {
    let (_dir, store) = temp_store().await;
    let count = |store: Store| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM local_settings WHERE key LIKE 'raw-%'")
            .fetch_one(store.pool())
            .await
            .expect("count")
    };
    for commit in [false, true] {
        let mut tx = store.write().await.expect("tx");
        sqlx::query("INSERT INTO local_settings (key, value) VALUES ('raw-sqlx', '1')")
            .execute(&mut *tx)
            .await
            .expect("sqlx insert");
        let seen = write_raw(&mut tx, "a test row", |conn| {
            conn.execute(
                "INSERT INTO local_settings (key, value) VALUES ('raw-rusqlite', '2')",
                [],
            )?;
            conn.query_row(
                "SELECT COUNT(*) FROM local_settings WHERE key LIKE 'raw-%'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .expect("raw write");
        assert_eq!(seen, 2, "the raw write sees the transaction's own rows");
        // sqlx goes on in the same transaction after it.
        let after: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM local_settings WHERE key LIKE 'raw-%'")
                .fetch_one(&mut *tx)
                .await
                .expect("count in tx");
        assert_eq!(after, 2);
        if commit {
            tx.commit().await.expect("commit");
        } else {
            tx.rollback().await.expect("rollback");
        }
        assert_eq!(count(store.clone()).await, if commit { 2 } else { 0 });
    }
    let mut tx = store.write().await.expect("tx");
    let err = write_raw(&mut tx, "a test row", |conn| {
        conn.execute(
            "INSERT INTO local_settings (key, value) VALUES ('raw-sqlx', '3')",
            [],
        )
    })
    .await
    .expect_err("a duplicate key is refused");
    assert!(err.to_string().contains("a test row"), "{err}");
}

/// The text bound for a time is the text sqlx would bind for it, so the columns read
/// back (and sort) as before.
#[tokio::test]
async fn a_stamp_is_the_text_sqlx_binds() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:")
        .await
        .expect("pool");
    for at in [
        Utc::now(),
        "2026-12-02T09:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time"),
        "2026-12-02T09:00:00.120Z"
            .parse::<DateTime<Utc>>()
            .expect("time"),
    ] {
        let bound: String = sqlx::query_scalar("SELECT ?")
            .bind(at)
            .fetch_one(&pool)
            .await
            .expect("select");
        assert_eq!(super::stamp(at), bound);
    }
    let day = NaiveDate::from_ymd_opt(2026, 3, 9).expect("day");
    let bound: String = sqlx::query_scalar("SELECT ?")
        .bind(day)
        .fetch_one(&pool)
        .await
        .expect("select");
    assert_eq!(day.format("%F").to_string(), bound);
}
