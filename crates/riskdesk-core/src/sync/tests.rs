use std::collections::HashSet;
use std::sync::Mutex;

use riskdesk_sync::change::DELETED as DELETED_FIELD;

use super::*;
use crate::book::{self, BookSpec};
use crate::store::testing::{temp_store, test_day, worked_book};

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect(sql)
}

/// A device of the same organisation that has nothing yet but the people.
async fn empty_device(n: usize, seed: u64) -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    book::load_people(&store, &BookSpec::new(n, seed, test_day()))
        .await
        .expect("people");
    (dir, store)
}

/// A worked book that records every change for sync, as a connected device sharing it.
async fn recording_book(n: usize, seed: u64) -> (tempfile::TempDir, Store) {
    let (dir, store) = worked_book(n, seed, 0).await;
    start_recording(&store, Share::Everything)
        .await
        .expect("record");
    (dir, store)
}

#[tokio::test]
async fn every_synced_column_exists() {
    let (_dir, store) = temp_store().await;
    for t in TABLES {
        let cols: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT name FROM pragma_table_info('{}')",
            t.table
        ))
        .fetch_all(store.pool())
        .await
        .expect("columns");
        assert!(
            cols.contains(&t.id_column.to_string()),
            "{}.{}",
            t.table,
            t.id_column
        );
        for c in t.columns {
            assert!(
                cols.contains(&c.to_string()),
                "{}.{c} is synced but does not exist",
                t.table
            );
        }
    }
}

#[tokio::test]
async fn writes_are_captured_field_by_field_once_recording() {
    let (_dir, store) = worked_book(30, 5, 0).await;
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM sync_outbox").await,
        0,
        "capture is off until connected"
    );
    start_recording(&store, Share::Nothing)
        .await
        .expect("record");
    let cta: String = sqlx::query_scalar("SELECT id FROM ctas WHERE status = 'open' LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("an open cta");
    let mut tx = store.write().await.expect("tx");
    crate::cta::snooze(
        &mut tx,
        &cta,
        test_day() + chrono::Duration::days(7),
        "on leave",
        test_day(),
    )
    .await
    .expect("snooze");
    tx.commit().await.expect("commit");
    let fields: Vec<String> =
        sqlx::query_scalar("SELECT field FROM sync_outbox WHERE entity = 'cta' ORDER BY field")
            .fetch_all(store.pool())
            .await
            .expect("outbox");
    assert!(
        fields.contains(&"status".to_string()) && fields.contains(&"snoozed_until".to_string()),
        "{fields:?}"
    );
    assert!(
        !fields.contains(&"reason".to_string()),
        "unchanged fields are not sent"
    );
    // Change ids are UUIDv7, ordered by when they were made, for edits and snapshots alike.
    start_recording(&store, Share::Everything)
        .await
        .expect("share");
    let ids: Vec<String> = sqlx::query_scalar("SELECT change_id FROM sync_outbox ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let parsed: Vec<uuid::Uuid> = ids
        .iter()
        .map(|id| uuid::Uuid::parse_str(id).expect("a uuid"))
        .collect();
    assert!(parsed
        .iter()
        .all(|u| u.get_version_num() == 7 && u.get_variant() == uuid::Variant::RFC4122));
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    let first = parsed[0].get_timestamp().expect("time").to_unix();
    let last = parsed[ids.len() - 1]
        .get_timestamp()
        .expect("time")
        .to_unix();
    assert!(
        first <= last && last.0 >= 1_700_000_000,
        "{first:?} {last:?}"
    );
    // The snapshot's ids rise in the order it is sent, across tables: the server's
    // change-id index grows at its end.
    let snapshot: Vec<String> = sqlx::query_scalar(
        // The snapshot's rows share one stamp (wall and counter); edits made in the same
        // millisecond carry another counter.
        "SELECT change_id FROM sync_outbox o JOIN (SELECT wall_ms, counter FROM sync_outbox ORDER BY seq DESC LIMIT 1) s \
         ON o.wall_ms = s.wall_ms AND o.counter = s.counter ORDER BY o.seq",
    )
    .fetch_all(store.pool())
    .await
    .expect("snapshot ids");
    assert!(snapshot.len() > 100, "{}", snapshot.len());
    assert!(
        snapshot.windows(2).all(|w| w[0] < w[1]),
        "snapshot change ids rise with the outbox"
    );
}

/// What a device shares when it connects is stamped then: an edit made elsewhere before
/// that loses to it, one made after wins.
#[tokio::test]
async fn a_shared_book_outranks_older_edits_from_elsewhere() {
    let (_dir, a) = recording_book(5, 3).await;
    let account: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_one(a.pool())
        .await
        .expect("account");
    let edit = |wall_ms: u64, region: &str| Change {
        change_id: format!("other-{wall_ms}"),
        entity: "account".into(),
        entity_id: account.clone(),
        account_id: account.clone(),
        field: "region".into(),
        value: serde_json::json!(region),
        hlc: Hlc {
            wall_ms,
            counter: 0,
            device: "other".into(),
        },
        device_id: "other".into(),
    };
    let region = || async {
        sqlx::query_scalar::<_, String>("SELECT region FROM accounts WHERE id = ?")
            .bind(&account)
            .fetch_one(a.pool())
            .await
            .expect("region")
    };
    let before = region().await;
    let (won, _) = apply_pulled(&a, &[edit(1_000, "Antarctica")])
        .await
        .expect("old");
    assert_eq!((won, region().await), (0, before));
    let later = chrono::Utc::now().timestamp_millis() as u64 + 60_000;
    let (won, _) = apply_pulled(&a, &[edit(later, "Atlantis")])
        .await
        .expect("new");
    assert_eq!((won, region().await), (1, "Atlantis".to_string()));
}

/// A device that synced before migration 0010 kept a row per field; after upgrading it
/// still knows every stamp, still holds the half-arrived record, and finishes it.
#[tokio::test]
async fn a_device_upgraded_from_field_rows_keeps_what_it_knew() {
    let (_a_dir, a) = recording_book(5, 3).await;
    let device = device_id(a.pool()).await.expect("device");
    let changes: Vec<Change> = outbox_page(&a, &device, 0)
        .await
        .expect("outbox")
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| c.entity == "account")
        .collect();
    let account = changes[0].entity_id.clone();
    let (first, rest): (Vec<Change>, Vec<Change>) = changes
        .into_iter()
        .filter(|c| c.entity_id == account)
        .partition(|c| c.field == "name" || c.field == "region");
    assert_eq!(first.len(), 2);

    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let old = Store::open_before(&path, 20261124000010)
        .await
        .expect("old");
    book::load_people(&old, &BookSpec::new(5, 3, test_day()))
        .await
        .expect("people");
    for c in &first {
        sqlx::query(
            "INSERT INTO sync_fields (entity, entity_id, field, hlc, value) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&c.entity)
        .bind(&c.entity_id)
        .bind(&c.field)
        .bind(c.hlc.encode())
        .bind(c.value.to_string())
        .execute(old.pool())
        .await
        .expect("field row");
    }
    // A removed record, too.
    sqlx::query("INSERT INTO sync_fields VALUES ('cta', 'gone', '_deleted', '00000000000000000001-0000000000-x', 'true')")
        .execute(old.pool())
        .await
        .expect("tombstone");
    sqlx::query("INSERT INTO sync_pending (entity, entity_id) VALUES ('account', ?)")
        .bind(&account)
        .execute(old.pool())
        .await
        .expect("pending");
    old.close().await;

    let b = Store::open(&path).await.expect("upgrade");
    let (clocks, staged): (String, String) = sqlx::query_as(
        "SELECT clocks, staged FROM sync_records WHERE entity = 'account' AND entity_id = ?",
    )
    .bind(&account)
    .fetch_one(b.pool())
    .await
    .expect("record row");
    let clocks: serde_json::Value = serde_json::from_str(&clocks).expect("clocks");
    assert_eq!(clocks["name"], serde_json::json!(first[0].hlc.encode()));
    let staged: serde_json::Value = serde_json::from_str(&staged).expect("staged");
    assert_eq!(
        staged["name"],
        first
            .iter()
            .find(|c| c.field == "name")
            .expect("name")
            .value
    );
    assert_eq!(
        scalar(
            &b,
            "SELECT deleted FROM sync_records WHERE entity_id = 'gone'"
        )
        .await,
        1
    );

    // An older edit of the name loses to what the device knew; the rest completes it.
    let mut stale = first[0].clone();
    stale.field = "name".into();
    stale.value = serde_json::json!("An older name");
    stale.hlc.wall_ms -= 1;
    let mut pulled = vec![stale];
    pulled.extend(rest);
    let (_, pending) = apply_pulled(&b, &pulled).await.expect("apply");
    assert_eq!(pending, 0);
    let (name, region): (String, String) =
        sqlx::query_as("SELECT name, region FROM accounts WHERE id = ?")
            .bind(&account)
            .fetch_one(b.pool())
            .await
            .expect("the account is written");
    let (a_name, a_region): (String, String) =
        sqlx::query_as("SELECT name, region FROM accounts WHERE id = ?")
            .bind(&account)
            .fetch_one(a.pool())
            .await
            .expect("a");
    assert_eq!((name, region), (a_name, a_region));
}

#[tokio::test]
async fn a_second_device_rebuilds_the_book_and_edits_converge() {
    let (_a_dir, a) = worked_book(40, 5, 0).await;
    let (_b_dir, b) = empty_device(40, 5).await;
    let server = MemoryServer::default();
    let escalated: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY name LIMIT 1")
        .fetch_one(a.pool())
        .await
        .expect("account");
    let escalated_name: String = sqlx::query_scalar("SELECT name FROM accounts WHERE id = ?")
        .bind(&escalated)
        .fetch_one(a.pool())
        .await
        .expect("name");
    crate::escalation::escalate(
        &a,
        &escalated,
        "Sponsor left two weeks before renewal",
        None,
    )
    .await
    .expect("escalate");

    start_recording(&a, Share::Everything)
        .await
        .expect("a records");
    start_recording(&b, Share::Nothing)
        .await
        .expect("b records");
    let mut seen = Vec::new();
    let pushed = sync_once(&a, &server, |p| seen.push(p))
        .await
        .expect("a syncs");
    assert!(pushed.pushed > 0);
    let mut pulling = Vec::new();
    let pulled = sync_once(&b, &server, |p| pulling.push(p))
        .await
        .expect("b syncs");
    assert_eq!(pulled.pending, 0, "every record found its parents");
    // A device that knows nobody yet gets the people directory too, and with it every
    // record whose owner or author it names.
    let (_c_dir, c) = temp_store().await;
    start_recording(&c, Share::Nothing)
        .await
        .expect("c records");
    let fresh = sync_once(&c, &server, |_| {}).await.expect("c syncs");
    assert_eq!(fresh.pending, 0, "nothing waits for a person");
    for table in ["teams", "users", "accounts", "ctas", "escalations"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(scalar(&c, &sql).await, scalar(&a, &sql).await, "{table}");
    }
    // A first sync of a book loads it in bulk: the indexes and the search trigger it set
    // aside are back, and search finds what arrived.
    let schema = "SELECT name || COALESCE(sql, '') FROM sqlite_master WHERE tbl_name IN ('accounts', 'accounts_search') \
                  AND type IN ('index', 'trigger') ORDER BY name";
    let schema_of = |s: &Store| {
        let pool = s.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>(schema)
                .fetch_all(&pool)
                .await
                .expect("schema")
        }
    };
    assert_eq!(schema_of(&b).await, schema_of(&a).await);
    let found = crate::store::accounts::query_accounts(
        b.pool(),
        &crate::store::AccountQuery {
            search: Some(escalated_name.clone()),
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .expect("search");
    assert!(
        found.rows.iter().any(|r| r.name == escalated_name),
        "{escalated_name} not found on the new device"
    );
    // Accounts that came by sync are not this device's to score or run rules over.
    let all = crate::store::accounts::ids_or_all(&b, None)
        .await
        .expect("all");
    assert_eq!(all.len(), 40);
    let local_b = crate::store::accounts::ids_or_local(&b, None)
        .await
        .expect("local b");
    assert!(local_b.is_empty(), "{local_b:?}");
    let local_a = crate::store::accounts::ids_or_local(&a, None)
        .await
        .expect("local a");
    assert_eq!(local_a.len(), 40);
    // Progress starts at once and climbs to its total in each phase, for a progress bar.
    assert_eq!(seen.first().map(|p| p.done), Some(0));
    for (events, phase) in [(&seen, Phase::Pushing), (&pulling, Phase::Pulling)] {
        let mine: Vec<&Progress> = events.iter().filter(|p| p.phase == phase).collect();
        assert!(!mine.is_empty(), "{phase:?} reports each page");
        assert!(mine.windows(2).all(|w| w[0].done <= w[1].done));
        let last = mine.last().expect("a last event");
        assert_eq!(last.done, last.total, "{phase:?} ends at 100 %");
    }
    assert_eq!(
        seen.iter()
            .rfind(|p| p.phase == Phase::Pushing)
            .map(|p| p.total),
        Some(u64::from(pushed.pushed))
    );
    for table in ["accounts", "ctas", "cta_updates", "escalations"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(scalar(&b, &sql).await, scalar(&a, &sql).await, "{table}");
    }
    let wbr_a = crate::escalation::wbr(a.pool(), test_day())
        .await
        .expect("wbr a");
    let wbr_b = crate::escalation::wbr(b.pool(), test_day())
        .await
        .expect("wbr b");
    let names = |w: &[crate::escalation::WbrItem]| {
        w.iter()
            .map(|i| (i.account_name.clone(), i.reason.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&wbr_b),
        names(&wbr_a),
        "the second device shows the same WBR"
    );

    // Both edit the same CTA offline; the later edit wins on both after they sync.
    let cta: String =
        sqlx::query_scalar("SELECT id FROM ctas WHERE status = 'open' ORDER BY id LIMIT 1")
            .fetch_one(a.pool())
            .await
            .expect("cta");
    sqlx::query("UPDATE ctas SET reason = 'A: usage down 40%' WHERE id = ?")
        .bind(&cta)
        .execute(a.pool())
        .await
        .expect("a edits");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    sqlx::query("UPDATE ctas SET reason = 'B: champion left' WHERE id = ?")
        .bind(&cta)
        .execute(b.pool())
        .await
        .expect("b edits");
    for store in [&a, &b, &a] {
        sync_once(store, &server, |_| {}).await.expect("sync");
    }
    let reason = |s: &Store| {
        let cta = cta.clone();
        let pool = s.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT reason FROM ctas WHERE id = ?")
                .bind(cta)
                .fetch_one(&pool)
                .await
                .expect("reason")
        }
    };
    assert_eq!(reason(&a).await, "B: champion left");
    assert_eq!(reason(&b).await, "B: champion left");
    // Applying pulled changes echoes nothing back.
    assert_eq!(pending_changes(a.pool()).await.expect("outbox"), 0);
    assert_eq!(pending_changes(b.pool()).await.expect("outbox"), 0);
}

/// A link whose answers get lost: the server stores the push, the device never hears.
struct LostAnswers<'a>(&'a MemoryServer);

impl Transport for LostAnswers<'_> {
    async fn push(&self, req: PushRequest) -> std::result::Result<PushResponse, Refusal> {
        self.0.push(req).await?;
        Err(Refusal::Unavailable("connection reset".into()))
    }
    async fn pull(
        &self,
        since: i64,
        limit: u32,
        device: &str,
    ) -> std::result::Result<PullResponse, String> {
        self.0.pull(since, limit, device).await
    }
}

/// A server slow enough that two rounds overlap, counting what it was sent twice.
#[derive(Default)]
struct Slow(MemoryServer, Mutex<u32>);
impl Transport for Slow {
    async fn push(&self, req: PushRequest) -> std::result::Result<PushResponse, Refusal> {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let out = self.0.push(req).await?;
        *self
            .1
            .lock()
            .map_err(|e| Refusal::Unavailable(e.to_string()))? += out.duplicates;
        Ok(out)
    }
    async fn pull(
        &self,
        since: i64,
        limit: u32,
        device: &str,
    ) -> std::result::Result<PullResponse, String> {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        self.0.pull(since, limit, device).await
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Edit {
            device: usize,
            cta: usize,
            field: usize,
            value: u8,
        },
        Sync {
            device: usize,
        },
        SyncLosingTheAnswer {
            device: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0usize..3, 0usize..2, 0usize..2, 0u8..50).prop_map(|(device, cta, field, value)| Op::Edit { device, cta, field, value }),
            2 => (0usize..3).prop_map(|device| Op::Sync { device }),
            1 => (0usize..3).prop_map(|device| Op::SyncLosingTheAnswer { device }),
        ]
    }

    async fn ctas(store: &Store) -> Vec<(String, String, String)> {
        sqlx::query_as("SELECT id, reason, priority FROM ctas ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("ctas")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Three devices edit the same CTAs while syncing in any order, some answers lost
        /// (so pushes repeat); once all have synced, all hold the same CTAs.
        #[test]
        fn devices_converge_under_any_interleaving(ops in proptest::collection::vec(op(), 1..25)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            rt.block_on(async {
                let server = MemoryServer::default();
                let (_a_dir, a) = worked_book(8, 11, 0).await;
                let (_b_dir, b) = empty_device(8, 11).await;
                let (_c_dir, c) = empty_device(8, 11).await;
                start_recording(&a, Share::Everything).await.expect("a");
                sync_once(&a, &server, |_| {}).await.expect("seed");
                for d in [&b, &c] {
                    start_recording(d, Share::Nothing).await.expect("record");
                    sync_once(d, &server, |_| {}).await.expect("first pull");
                }
                let devices = [&a, &b, &c];
                let ids: Vec<String> = ctas(&a).await.into_iter().map(|(id, _, _)| id).take(2).collect();
                assert_eq!(ids.len(), 2, "the book has CTAs to edit");
                for op in &ops {
                    match *op {
                        Op::Edit { device, cta, field, value } => {
                            let (col, v) = if field == 0 {
                                ("reason", format!("reason {value} from {device}"))
                            } else {
                                ("priority", ["high", "medium", "low"][value as usize % 3].to_string())
                            };
                            sqlx::query(&format!("UPDATE ctas SET {col} = ? WHERE id = ?"))
                                .bind(v)
                                .bind(&ids[cta])
                                .execute(devices[device].pool())
                                .await
                                .expect("edit");
                        }
                        Op::Sync { device } => {
                            sync_once(devices[device], &server, |_| {}).await.expect("sync");
                        }
                        Op::SyncLosingTheAnswer { device } => {
                            let lost = sync_once(devices[device], &LostAnswers(&server), |_| {}).await;
                            if pending_changes(devices[device].pool()).await.expect("pending") > 0 {
                                assert!(lost.is_err());
                            }
                        }
                    }
                }
                for _ in 0..2 {
                    for d in devices {
                        sync_once(d, &server, |_| {}).await.expect("final sync");
                    }
                }
                let want = ctas(&a).await;
                assert_eq!(ctas(&b).await, want);
                assert_eq!(ctas(&c).await, want);
                // Every change reached the server exactly once.
                let stored = server.changes.lock().expect("lock").len();
                let unique = server.ids.lock().expect("lock").len();
                assert_eq!(stored, unique);
            });
        }
    }
}

#[tokio::test]
async fn the_background_interval_is_kept_within_its_range() {
    let (_dir, store) = temp_store().await;
    assert_eq!(
        interval(store.pool()).await.expect("read"),
        DEFAULT_INTERVAL
    );
    set_interval(&store, 300).await.expect("five minutes");
    assert_eq!(interval(store.pool()).await.expect("read"), 300);
    assert_eq!(
        status(store.pool(), &no_token())
            .await
            .expect("status")
            .interval_seconds,
        300
    );
    for bad in [0, 14, 3601] {
        let err = set_interval(&store, bad).await.expect_err("out of range");
        assert!(err.to_string().contains("15–3600"), "{err}");
    }
    assert_eq!(interval(store.pool()).await.expect("read"), 300);
}

/// The exact push that used to stop every device: a person who owns accounts deleted,
/// plus a far-future stamp and a kind of record this device does not know. Each is set
/// aside with its reason, the cursor moves on, and later work still arrives.
#[tokio::test]
async fn a_change_the_store_refuses_is_set_aside_and_the_sync_goes_on() {
    let (_a_dir, a) = worked_book(20, 3, 0).await;
    let (_b_dir, b) = empty_device(20, 3).await;
    let server = MemoryServer::default();
    start_recording(&a, Share::Everything).await.expect("a");
    start_recording(&b, Share::Nothing).await.expect("b");
    sync_once(&a, &server, |_| {}).await.expect("a syncs");
    sync_once(&b, &server, |_| {}).await.expect("b syncs");
    let owner: String =
        sqlx::query_scalar("SELECT owner_id FROM accounts WHERE owner_id IS NOT NULL LIMIT 1")
            .fetch_one(b.pool())
            .await
            .expect("an owner");
    let evil =
        |n: u32, entity: &str, id: &str, field: &str, value: serde_json::Value, wall_ms: u64| {
            Change {
                change_id: format!("evil-{n}"),
                entity: entity.into(),
                entity_id: id.into(),
                account_id: DIRECTORY_ACCOUNT.into(),
                field: field.into(),
                value,
                hlc: Hlc {
                    wall_ms,
                    counter: 0,
                    device: "evil".into(),
                },
                device_id: "evil".into(),
            }
        };
    let future = u64::MAX / 2;
    {
        let mut changes = server.changes.lock().expect("lock");
        changes.push(evil(
            1,
            "person",
            &owner,
            DELETED_FIELD,
            serde_json::json!(true),
            1_000,
        ));
        changes.push(evil(
            2,
            "hologram",
            "h-1",
            "name",
            serde_json::json!("?"),
            1_000,
        ));
        changes.push(evil(
            3,
            "team",
            "t-future",
            "name",
            serde_json::json!("Time travellers"),
            future,
        ));
    }
    // Later, real work on A.
    let account: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY name LIMIT 1")
        .fetch_one(a.pool())
        .await
        .expect("account");
    sqlx::query("UPDATE accounts SET name = 'Renamed after the attack' WHERE id = ?")
        .bind(&account)
        .execute(a.pool())
        .await
        .expect("rename");
    sync_once(&a, &server, |_| {}).await.expect("a syncs again");

    let report = sync_once(&b, &server, |_| {})
        .await
        .expect("b never wedges");
    assert!(report.pulled >= 4, "{report:?}");
    let name: String = sqlx::query_scalar("SELECT name FROM accounts WHERE id = ?")
        .bind(&account)
        .fetch_one(b.pool())
        .await
        .expect("name");
    assert_eq!(name, "Renamed after the attack");
    assert_eq!(
        scalar(
            &b,
            &format!("SELECT COUNT(*) FROM users WHERE id = '{owner}'")
        )
        .await,
        1,
        "the person who owns accounts is still there"
    );
    let aside = set_aside(b.pool()).await.expect("set aside");
    assert!(
        aside.iter().any(|s| s.direction == "in"
            && s.entity_id == owner
            && s.reason.contains("FOREIGN KEY")),
        "{aside:?}"
    );
    assert!(
        aside
            .iter()
            .any(|s| s.entity == "hologram" && s.reason.contains("does not know")),
        "{aside:?}"
    );
    assert_eq!(
        status(b.pool(), &no_token())
            .await
            .expect("status")
            .set_aside,
        2
    );
    // The device's clock did not jump to the far-future stamp.
    let wall = scalar(&b, "SELECT wall_ms FROM sync_clock").await;
    let now = chrono::Utc::now().timestamp_millis();
    assert!(wall < now + 10 * 60 * 1000, "clock at {wall}, now {now}");
    // And it keeps syncing: nothing is pulled twice, the delete is tried again and refused.
    let again = sync_once(&b, &server, |_| {}).await.expect("b syncs again");
    assert_eq!(again.pulled, 0);
    assert_eq!(
        status(b.pool(), &no_token())
            .await
            .expect("status")
            .set_aside,
        2
    );
}

/// A server that refuses any change to a person: the device splits its push until the
/// refused change stands alone, keeps it aside with the reason, and everything else lands.
#[tokio::test]
async fn a_change_the_server_refuses_is_set_aside_and_the_rest_lands() {
    struct Picky(MemoryServer, Mutex<u32>);
    impl Transport for Picky {
        async fn push(&self, req: PushRequest) -> std::result::Result<PushResponse, Refusal> {
            *self
                .1
                .lock()
                .map_err(|e| Refusal::Unavailable(e.to_string()))? += 1;
            if let Some(c) = req.changes().find(|c| c.entity == "person") {
                return Err(Refusal::Refused(format!(
                    "{} may not be changed",
                    c.entity_id
                )));
            }
            self.0.push(req).await
        }
        async fn pull(
            &self,
            since: i64,
            limit: u32,
            device: &str,
        ) -> std::result::Result<PullResponse, String> {
            self.0.pull(since, limit, device).await
        }
    }
    let (_dir, a) = worked_book(10, 4, 0).await;
    start_recording(&a, Share::Nothing).await.expect("record");
    let person: String = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 1")
        .fetch_one(a.pool())
        .await
        .expect("person");
    let mut tx = a.write().await.expect("tx");
    sqlx::query("UPDATE accounts SET region = 'EMEA'")
        .execute(&mut *tx)
        .await
        .expect("accounts");
    sqlx::query("UPDATE users SET title = 'Hacker' WHERE id = ?")
        .bind(&person)
        .execute(&mut *tx)
        .await
        .expect("person");
    sqlx::query("UPDATE accounts SET industry = 'Retail'")
        .execute(&mut *tx)
        .await
        .expect("accounts");
    tx.commit().await.expect("commit");
    let queued = pending_changes(a.pool()).await.expect("outbox");
    let server = Picky(MemoryServer::default(), Mutex::new(0));
    let report = sync_once(&a, &server, |_| {}).await.expect("sync");
    assert_eq!(report.set_aside, 1, "{report:?}");
    assert_eq!(pending_changes(a.pool()).await.expect("outbox"), 0);
    let landed = server.0.changes.lock().expect("lock").len() as i64;
    assert_eq!(
        landed,
        queued - 1,
        "everything but the refused change landed"
    );
    let aside = set_aside(a.pool()).await.expect("aside");
    assert_eq!(aside.len(), 1);
    assert_eq!(
        (aside[0].direction.as_str(), aside[0].entity_id.as_str()),
        ("out", person.as_str())
    );
    assert!(aside[0].reason.contains("may not be changed"), "{aside:?}");
    // Named as the manager knows them, not by id alone.
    let (name, email): (String, String) =
        sqlx::query_as("SELECT name, email FROM users WHERE id = ?")
            .bind(&person)
            .fetch_one(a.pool())
            .await
            .expect("the person");
    assert_eq!(aside[0].label, Some(format!("{name} <{email}>")));
    // Splitting costs a handful of pushes, not one per change.
    assert!(*server.1.lock().expect("lock") <= 2 * 14 + 1);
}

/// A vault holding no token.
fn no_token() -> Vault {
    Vault::file_only(std::path::PathBuf::from("/nonexistent/riskdesk.sync-token"))
}

/// Another person signing in on the same device gets a new device id (ids belong to one
/// user on the server) and pulls from the start (the cursor was the other user's scope).
#[tokio::test]
async fn another_user_on_the_same_device_starts_as_a_new_device() {
    let (dir, store) = temp_store().await;
    let vault = Vault::file_only(dir.path().join("t.sync-token"));
    connect(
        &store,
        &vault,
        "http://s",
        "ana@acme.example",
        "tok-a",
        Share::Nothing,
    )
    .await
    .expect("ana");
    let first = device_id(store.pool()).await.expect("device");
    let mut tx = store.write().await.expect("tx");
    settings::set(&mut tx, CURSOR, "42").await.expect("cursor");
    tx.commit().await.expect("commit");
    // Ana again: nothing changes.
    connect(
        &store,
        &vault,
        "http://s",
        "ANA@acme.example",
        "tok-a2",
        Share::Nothing,
    )
    .await
    .expect("ana again");
    assert_eq!(device_id(store.pool()).await.expect("device"), first);
    assert!(settings::get(store.pool(), CURSOR)
        .await
        .expect("cursor")
        .is_some());
    // Morgan on the same laptop.
    connect(
        &store,
        &vault,
        "http://s",
        "mgr@acme.example",
        "tok-m",
        Share::Nothing,
    )
    .await
    .expect("mgr");
    assert_ne!(device_id(store.pool()).await.expect("device"), first);
    assert!(settings::get(store.pool(), CURSOR)
        .await
        .expect("cursor")
        .is_none());
    assert_eq!(vault.load().expect("token").as_deref(), Some("tok-m"));
}

/// Records synced before a field existed (a CTA without its playbook, a person without the
/// active flag and CRM ids) arrive without it and are written all the same.
#[tokio::test]
async fn records_from_before_a_field_existed_still_arrive() {
    let (_a_dir, a) = worked_book(15, 6, 0).await;
    let (_b_dir, b) = temp_store().await;
    let server = MemoryServer::default();
    start_recording(&a, Share::Everything).await.expect("a");
    start_recording(&b, Share::Nothing).await.expect("b");
    sync_once(&a, &server, |_| {}).await.expect("a syncs");
    let later = ["playbook_id", "active", "salesforce_id", "hubspot_id"];
    server
        .changes
        .lock()
        .expect("lock")
        .retain(|c| !later.contains(&c.field.as_str()));
    let report = sync_once(&b, &server, |_| {}).await.expect("b syncs");
    assert_eq!(report.pending, 0, "{report:?}");
    for table in ["users", "ctas"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(scalar(&a, &sql).await, scalar(&b, &sql).await, "{table}");
    }
    assert_eq!(
        scalar(&b, "SELECT COUNT(*) FROM users WHERE active = 1").await,
        scalar(&b, "SELECT COUNT(*) FROM users").await
    );
}

/// Connected, the server's people are the truth: only a signed-in admin or manager (by
/// the directory's role for that email) changes them here; unconnected, the device's own.
#[tokio::test]
async fn connected_people_are_changed_only_by_a_manager_or_admin() {
    let (dir, store) = temp_store().await;
    let vault = Vault::file_only(dir.path().join("t.sync-token"));
    check_directory_edit(store.pool(), &vault)
        .await
        .expect("unconnected: the device's own people");
    let add = |email: &str, role: crate::model::Role| crate::people::NewPerson {
        name: email.split('@').next().unwrap_or_default().into(),
        email: email.into(),
        role: Some(role),
        title: None,
        team: None,
        salesforce_id: None,
        hubspot_id: None,
    };
    crate::people::add(&store, &add("csm@acme.example", crate::model::Role::Csm))
        .await
        .expect("csm");
    crate::people::add(
        &store,
        &add("boss@acme.example", crate::model::Role::Manager),
    )
    .await
    .expect("manager");
    for (email, allowed) in [
        ("csm@acme.example", false),
        ("BOSS@acme.example", true),
        ("stranger@acme.example", false),
    ] {
        connect(&store, &vault, "http://s", email, "tok", Share::Nothing)
            .await
            .expect("connect");
        let result = check_directory_edit(store.pool(), &vault).await;
        assert_eq!(result.is_ok(), allowed, "{email}: {result:?}");
        if let Err(e) = result {
            assert!(e.to_string().contains("only an admin or a manager"), "{e}");
        }
    }
}

/// A pulled edit of an account scored here (a manager's new renewal date) is owed a
/// refresh with the edit itself, and the refresh pays it.
#[tokio::test]
async fn a_pulled_edit_of_a_local_account_is_owed_a_refresh() {
    let (_dir, a) = worked_book(5, 3, 0).await;
    let account: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_one(a.pool())
        .await
        .expect("account");
    let later = chrono::Utc::now().timestamp_millis() as u64 + 60_000;
    let edit = Change {
        change_id: "manager-1".into(),
        entity: "account".into(),
        entity_id: account.clone(),
        account_id: account.clone(),
        field: "renewal_date".into(),
        value: serde_json::json!("2026-12-20"),
        hlc: Hlc {
            wall_ms: later,
            counter: 0,
            device: "manager".into(),
        },
        device_id: "manager".into(),
    };
    apply_pulled(&a, &[edit]).await.expect("pull");
    match crate::refresh::pending(a.pool()).await.expect("pending") {
        Some((crate::refresh::Scope::Accounts(ids), _)) => assert_eq!(ids, vec![account.clone()]),
        other => panic!("the edit should be owed a refresh: {other:?}"),
    }
    crate::refresh::finish_pending(&a).await.expect("finish");
    assert_eq!(
        crate::refresh::pending(a.pool()).await.expect("pending"),
        None
    );
}

/// A full outbox page ends at a record's last field, so each record change travels whole
/// and a retried page groups exactly as it did.
#[tokio::test]
async fn an_outbox_page_never_cuts_a_record_change_short() {
    let (_dir, store) = temp_store().await;
    let device = device_id(store.pool()).await.expect("device");
    // Record a: PUSH_PAGE - 2 fields at one stamp; record b: five fields at another.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 + 3) \
         INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter) \
         SELECT printf('c-%06d', i), 'account', CASE WHEN i <= ?1 - 2 THEN 'a' ELSE 'b' END, 'x', \
           printf('f%d', i), '1', CASE WHEN i <= ?1 - 2 THEN 10 ELSE 11 END, 0 FROM n",
    )
    .bind(PUSH_PAGE)
    .execute(store.pool())
    .await
    .expect("outbox");
    let first = outbox_page(&store, &device, 0).await.expect("page");
    assert_eq!(
        first.len() as i64,
        PUSH_PAGE - 2,
        "b waits for the next page"
    );
    assert!(first.iter().all(|(_, c)| c.entity_id == "a"));
    let last = first.last().map(|(seq, _)| *seq).expect("rows");
    let second = outbox_page(&store, &device, last).await.expect("page");
    assert_eq!(second.len(), 5);
    let request = PushRequest::new(&device, second.into_iter().map(|(_, c)| c));
    assert_eq!(request.records.len(), 1, "b travels as one record change");
    assert_eq!(request.len(), 5);
}

#[tokio::test]
async fn a_round_asked_for_while_one_runs_waits_for_it() {
    let (_dir, a) = recording_book(10, 4).await;
    let queued = pending_changes(a.pool()).await.expect("outbox");
    assert!(queued > 0);
    let server = Slow::default();
    // The background round and "Sync now", at once.
    let (mut seen_first, mut seen_second) = (Vec::new(), Vec::new());
    let (first, second) = tokio::join!(
        sync_once(&a, &server, |p| seen_first.push(p.phase)),
        sync_once(&a, &server, |p| seen_second.push(p.phase))
    );
    // The one that waited said so first, and only it.
    let waited: Vec<bool> = [&seen_first, &seen_second]
        .iter()
        .map(|seen| seen.first() == Some(&Phase::Waiting))
        .collect();
    assert_eq!(
        waited.iter().filter(|w| **w).count(),
        1,
        "{seen_first:?} {seen_second:?}"
    );
    assert!(![&seen_first, &seen_second]
        .iter()
        .any(|seen| seen.iter().skip(1).any(|p| *p == Phase::Waiting)));
    let (first, second) = (first.expect("first"), second.expect("second"));
    assert_eq!(
        *server.1.lock().expect("lock"),
        0,
        "no change was sent twice"
    );
    assert_eq!(
        i64::from(first.pushed + second.pushed),
        queued,
        "{first:?} {second:?}"
    );
    assert_eq!(server.0.changes.lock().expect("lock").len() as i64, queued);
    assert_eq!(pending_changes(a.pool()).await.expect("outbox"), 0);
}

#[tokio::test]
async fn another_user_signing_in_waits_for_the_round_under_way() {
    // Another device's book is on the server.
    let (_x_dir, x) = worked_book(10, 4, 0).await;
    let server = Slow::default();
    start_recording(&x, Share::Everything)
        .await
        .expect("x records");
    sync_once(&x, &server, |_| {}).await.expect("x pushes");
    let (dir, a) = empty_device(10, 4).await;
    let vault = Vault::file_only(dir.path().join("t.sync-token"));
    let ana = |email: &'static str| connect(&a, &vault, "http://s", email, "tok", Share::Nothing);
    ana("ana@acme.example").await.expect("ana");
    // Ana's round is pulling when Morgan signs in on the same laptop.
    let (round, morgan) = tokio::join!(sync_once(&a, &server, |_| {}), async {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        ana("mgr@acme.example").await
    });
    assert!(round.expect("ana's round").pulled > 0);
    morgan.expect("morgan");
    // Morgan's device starts from the beginning of Morgan's scope, not where Ana's round
    // left off.
    assert_eq!(settings::get(a.pool(), CURSOR).await.expect("cursor"), None);
}

/// "Compact now" pressed while a sync round runs that will finish an owed refresh: each
/// waits its turn, in one order (taken the other way round, compacting would hold the
/// refresh's turn while waiting for the round, and the round would wait for the refresh),
/// and both finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compacting_while_a_round_finishes_owed_work_finishes_both() {
    let (_dir, a) = recording_book(60, 4).await;
    let mut tx = a.write().await.expect("tx");
    crate::refresh::mark(&mut tx, &crate::refresh::Scope::Book, test_day())
        .await
        .expect("owed");
    tx.commit().await.expect("commit");
    let server = Slow::default();
    let both = async {
        tokio::join!(sync_once(&a, &server, |_| {}), async {
            // The round has its turn and is pushing (the server takes 20 ms a page).
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            a.compact().await
        })
    };
    let (synced, compacted) = tokio::time::timeout(std::time::Duration::from_secs(60), both)
        .await
        .expect("both finish");
    assert!(synced.expect("sync").pushed > 0);
    compacted.expect("compact");
    assert_eq!(
        crate::refresh::pending(a.pool()).await.expect("pending"),
        None,
        "the round finished the owed refresh"
    );
}

#[tokio::test]
async fn a_csm_who_started_empty_joins_the_team_as_the_person_the_server_knows() {
    // The team's book is on the server, shared by its admin.
    let (_a_dir, a) = recording_book(40, 5).await;
    let server = MemoryServer::default();
    sync_once(&a, &server, |_| {}).await.expect("a shares");
    let (csm_id, csm_email): (String, String) = sqlx::query_as(
        "SELECT u.id, u.email FROM users u WHERE u.role = 'csm' AND EXISTS (SELECT 1 FROM accounts WHERE owner_id = u.id) ORDER BY u.email LIMIT 1",
    )
    .fetch_one(a.pool())
    .await
    .expect("a csm with accounts");
    let owned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE owner_id = ?")
        .bind(&csm_id)
        .fetch_one(a.pool())
        .await
        .expect("owned");

    // The CSM installs the app, starts empty (as its only person, with their own email in
    // another case), and signs in to the team's server.
    let (_b_dir, b) = temp_store().await;
    let me = crate::first_start::start_empty(&b, "Their Name", &csm_email.to_uppercase())
        .await
        .expect("start empty");
    // Before signing in they made something of their own that names them.
    crate::categories::save(&b, None, "onboarding gaps", Some(&me.id))
        .await
        .expect("a category of theirs");
    let vault = Vault::file_only(_b_dir.path().join("t.sync-token"));
    connect(&b, &vault, "http://s", &csm_email, "tok", Share::Nothing)
        .await
        .expect("connect");
    let report = sync_once(&b, &server, |_| {}).await.expect("b syncs");
    assert_eq!(report.set_aside, 0, "{report:?}");
    assert_eq!(report.pending, 0, "{report:?}");
    // One person with that email: the server's, and the device's user is that person.
    let same: Vec<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower(?)")
            .bind(&csm_email)
            .fetch_all(b.pool())
            .await
            .expect("people");
    assert_eq!(
        same,
        vec![csm_id.clone()],
        "the local {} was not folded in",
        me.id
    );
    let current = settings::get(b.pool(), settings::CURRENT_USER)
        .await
        .expect("current");
    assert_eq!(current.as_deref(), Some(csm_id.as_str()));
    let mine: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE owner_id = ?")
        .bind(&csm_id)
        .fetch_one(b.pool())
        .await
        .expect("mine");
    assert_eq!(mine, owned, "every account the server says is theirs");
    let category_owner: Option<String> =
        sqlx::query_scalar("SELECT owner_id FROM risk_categories WHERE name = 'onboarding gaps'")
            .fetch_one(b.pool())
            .await
            .expect("category");
    assert_eq!(category_owner.as_deref(), Some(csm_id.as_str()));
    // Nothing of the local person is left to send.
    assert_eq!(
        scalar(
            &b,
            "SELECT COUNT(*) FROM sync_outbox WHERE entity = 'person'"
        )
        .await,
        0
    );
}
