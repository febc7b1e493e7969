//! A server store kept field by field (protocol 2) read after the move to one row per
//! record change (protocol 3): devices' cursors, what a pull returns, recorded conflicts
//! and last-writer-wins against the old winners all stay as they were.

mod common;

use common::Backing;
use riskdesk_server::auth::{self, Caller};
use riskdesk_server::db::{Backend, Db, Location};
use riskdesk_sync::{Change, Hlc, PullResponse, PushRequest, PROTOCOL_VERSION};
use serde_json::json;
use sqlx::any::AnyPoolOptions;

/// The migrations a protocol 2 server had run.
const BEFORE: &str = "20261202000001";

async fn old_store(backing: &Backing) -> Db {
    let (url, backend, dir) = match backing.location() {
        Location::Dir(dir) => {
            std::fs::create_dir_all(&dir).expect("data dir");
            let file = dir.join("riskdesk-server.db");
            (
                format!("sqlite://{}?mode=rwc", file.display()),
                Backend::Sqlite,
                "sqlite",
            )
        }
        Location::Postgres(url) => (url, Backend::Postgres, "postgres"),
    };
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let old = tempfile::tempdir().expect("dir");
    for entry in std::fs::read_dir(&shipped).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name < BEFORE {
            std::fs::copy(&path, old.path().join(name)).expect("copy");
        }
    }
    sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrations")
        .run(&pool)
        .await
        .expect("migrate to protocol 2");
    Db { pool, backend }
}

fn change(n: u32, entity: &str, id: &str, field: &str, value: serde_json::Value) -> Change {
    let hlc = Hlc {
        wall_ms: 1_700_000_000_000 + u64::from(n),
        counter: 0,
        device: if n == 3 { "ben-laptop" } else { "ana-laptop" }.into(),
    };
    Change {
        change_id: format!("0190a000-0000-7000-8000-00000000000{n}"),
        entity: entity.into(),
        entity_id: id.into(),
        account_id: "acc-1".into(),
        field: field.into(),
        value,
        device_id: hlc.device.clone(),
        hlc,
    }
}

async fn caller(db: &Db, email: &str, role: &str) -> Caller {
    let user_id = auth::add_user(db, email, email, role, Some("Enterprise"), "a password 123")
        .await
        .expect("user");
    let team_id: Option<String> = sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1")
        .bind(user_id.clone())
        .fetch_one(&db.pool)
        .await
        .expect("team");
    Caller {
        user_id,
        email: email.into(),
        role: role.into(),
        team_id,
    }
}

async fn a_field_by_field_store_reads_the_same_as_records(backing: &Backing) {
    let old = old_store(backing).await;
    let ana = caller(&old, "ana@acme.example", "csm").await;
    let ben = caller(&old, "ben@acme.example", "csm").await;
    // Three fields as protocol 2 kept them: ana names the account and sets its ARR, ben
    // renames it later (ana's name lost to his, and was recorded as a conflict).
    let kept = [
        change(1, "account", "acc-1", "name", json!("Acme")),
        change(2, "account", "acc-1", "arr_minor", json!(1_200_000)),
        change(3, "account", "acc-1", "name", json!("Acme Corp")),
    ];
    for (seq, c) in kept.iter().enumerate() {
        let user = if c.device_id == "ben-laptop" {
            &ben
        } else {
            &ana
        };
        sqlx::query(
            "INSERT INTO changes (seq, change_id, entity, entity_id, account_id, field, hlc, device_id, user_id, body, received_at, bytes_end) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '2026-11-30T00:00:00.000000Z', $11)",
        )
        .bind(seq as i64 + 1)
        .bind(c.change_id.clone())
        .bind(c.entity.clone())
        .bind(c.entity_id.clone())
        .bind(c.account_id.clone())
        .bind(c.field.clone())
        .bind(c.hlc.encode())
        .bind(c.device_id.clone())
        .bind(user.user_id.clone())
        .bind(serde_json::to_string(c).expect("body"))
        .bind(100 * (seq as i64 + 1))
        .execute(&old.pool)
        .await
        .expect("old change");
    }
    for (field, seq) in [("name", 3i64), ("arr_minor", 2)] {
        sqlx::query("INSERT INTO field_winners (entity, entity_id, field, hlc, seq) VALUES ('account', 'acc-1', $1, $2, $3)")
            .bind(field)
            .bind(kept[seq as usize - 1].hlc.encode())
            .bind(seq)
            .execute(&old.pool)
            .await
            .expect("winner");
    }
    for sql in [
        "INSERT INTO conflicts (user_id, lost_seq, winner_seq, created_at) VALUES ($1, 1, 3, '2026-11-30T00:00:00.000000Z')",
        "INSERT INTO record_scope (entity, entity_id, account_id) VALUES ('account', 'acc-1', 'acc-1')",
        "INSERT INTO account_scope (account_id, team_id) VALUES ('acc-1', $2)",
    ] {
        sqlx::query(sql)
            .bind(ana.user_id.clone())
            .bind(ana.team_id.clone())
            .execute(&old.pool)
            .await
            .expect("old row");
    }
    old.close().await;

    let db = backing.open().await;
    // Every kept field comes back under its own sequence number, as it was pulled before.
    let page = riskdesk_server::sync::pull(&db, &ana, PROTOCOL_VERSION, 0, 100, None)
        .await
        .expect("pull");
    let page: PullResponse =
        serde_json::from_value(serde_json::to_value(&page).expect("json")).expect("page");
    assert_eq!(page.changes(), kept.to_vec());
    assert_eq!(
        page.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // A device whose cursor stood at 2 gets only ben's rename.
    let rest = riskdesk_server::sync::pull(&db, &ana, PROTOCOL_VERSION, 2, 100, None)
        .await
        .expect("pull");
    assert_eq!(rest.records.len(), 1);
    assert_eq!(rest.records[0].seq, 3);
    // The recorded conflict still names both edits.
    let conflicts = riskdesk_server::sync::conflicts(&db, &ana)
        .await
        .expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].lost, kept[0]);
    assert_eq!(conflicts[0].winner, kept[2]);

    // Last writer still wins against the old winners: ana's offline edit made before
    // ben's rename loses to it, her later ARR wins, both as one record change.
    let mut late = change(4, "account", "acc-1", "name", json!("ACME"));
    // Between ana's old ARR and ben's rename.
    late.hlc.wall_ms = kept[1].hlc.wall_ms;
    late.hlc.counter = 1;
    let mut arr = change(5, "account", "acc-1", "arr_minor", json!(1_500_000));
    arr.hlc = late.hlc.clone();
    let pushed = riskdesk_server::sync::push(
        &db,
        &ana,
        PushRequest::new("ana-laptop", vec![late.clone(), arr.clone()]),
    )
    .await
    .expect("push");
    assert_eq!(pushed.accepted, 2);
    assert_eq!(pushed.conflicts.len(), 1);
    assert_eq!(pushed.conflicts[0].lost, late);
    assert_eq!(pushed.conflicts[0].winner, kept[2]);
    let after = riskdesk_server::sync::pull(&db, &ben, PROTOCOL_VERSION, 3, 100, None)
        .await
        .expect("pull");
    assert_eq!(after.records.len(), 1, "one row for the two fields");
    assert!(after.records[0].seq > 3, "new rows follow the old sequence");
    // One row of winners for the record: ben's rename, then ana's new ARR.
    let winners: String = sqlx::query_scalar(
        "SELECT winners FROM record_winners WHERE entity = 'account' AND entity_id = 'acc-1'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("winners");
    let winners: serde_json::Value = serde_json::from_str(&winners).expect("json");
    let seq_of = |field: &str| {
        let i = winners["f"][field].as_u64().expect("field") as usize;
        winners["s"][i][1].as_i64().expect("seq")
    };
    assert_eq!(seq_of("name"), 3, "{winners}");
    assert_eq!(seq_of("arr_minor"), after.records[0].seq, "{winners}");
    assert_eq!(winners["s"].as_array().map(Vec::len), Some(2), "{winners}");
    db.close().await;
}

on_both_backends!(a_field_by_field_store_reads_the_same_as_records);
