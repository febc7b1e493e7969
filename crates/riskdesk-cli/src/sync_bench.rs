//! `riskdesk bench-sync`: the sync server in-process on loopback, real device stores, and
//! the figures issue 8 asks for.

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::sync;
use riskdesk_core::Store;
use riskdesk_sync::http::HttpClient;
use riskdesk_sync::{Change, Clock, PushRequest};

use crate::bench::{print_rows, Row};
use crate::memory::Peak;

const PASSWORD: &str = "bench password 123";

fn row(what: String, d: Duration, target: Option<Duration>) -> Row {
    Row {
        what,
        median: d,
        max: d,
        target,
        peak_mb: None,
        judge: crate::bench::Judge::Median,
    }
}

async fn device(
    dir: &std::path::Path,
    name: &str,
    spec: &BookSpec,
    with_book: bool,
) -> Result<Store> {
    let store = Store::open(&dir.join(format!("{name}.db"))).await?;
    if with_book {
        book::load(&store, spec, |_, _| {}).await?;
    } else {
        book::load_people(&store, spec).await?;
    }
    Ok(store)
}

pub async fn run(accounts: usize, clients: usize, server_database: Option<String>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let location = riskdesk_server::Location::parse(
        server_database.is_none().then(|| dir.path().join("server")),
        server_database,
    )?;
    println!("server store: {}", location.describe());
    let db = riskdesk_server::db::open(&location).await?;
    riskdesk_server::auth::add_user(
        &db,
        "csm@bench.example",
        "CSM",
        "csm",
        Some("Enterprise"),
        PASSWORD,
    )
    .await?;
    riskdesk_server::auth::add_user(&db, "vp@bench.example", "VP", "executive", None, PASSWORD)
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = riskdesk_server::router(riskdesk_server::AppState::new(db));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });

    let spec = BookSpec::new(accounts, 7, Utc::now().date_naive());
    let a = device(dir.path(), "a", &spec, true).await?;
    let b = device(dir.path(), "b", &spec, false).await?;
    let csm = HttpClient::sign_in(&base, "csm@bench.example", PASSWORD)
        .await
        .map_err(anyhow::Error::msg)?;
    let vp = HttpClient::sign_in(&base, "vp@bench.example", PASSWORD)
        .await
        .map_err(anyhow::Error::msg)?;
    let mut rows = Vec::new();

    let started = Instant::now();
    sync::start_recording(&a, sync::Share::Work).await?;
    let queued = sync::pending_changes(a.pool()).await?;
    let snapshot = started.elapsed();
    let up = sync::sync_once(&a, &csm, |_| {}).await?;
    let total = started.elapsed();
    rows.push(row(
        format!("first sync up: {accounts} accounts ({queued} field changes queued and pushed)"),
        total,
        (accounts <= 100_000).then_some(Duration::from_secs(20)),
    ));
    rows.push(row(
        "  of which the snapshot (every field queued in the outbox)".into(),
        snapshot,
        None,
    ));
    rows.push(row(
        "  of which pushing them, one record change per account".into(),
        total - snapshot,
        None,
    ));

    // The server and the wire alone: every page pulled and decoded, nothing applied.
    let started = Instant::now();
    let (mut since, mut fetched) = (0i64, 0usize);
    loop {
        let page = vp
            .pull(since, 10_000, None)
            .await
            .map_err(anyhow::Error::msg)?;
        fetched += page.changes().len();
        since = page.cursor;
        if !page.more {
            break;
        }
    }
    rows.push(row(
        format!("  of which serving and decoding {fetched} changes (nothing applied)"),
        started.elapsed(),
        None,
    ));

    sync::start_recording(&b, sync::Share::Nothing).await?;
    let started = Instant::now();
    let down = sync::sync_once(&b, &vp, |_| {}).await?;
    rows.push(row(
        format!(
            "initial sync of a new device: {} changes pulled, {} accounts rebuilt",
            down.pulled, accounts
        ),
        started.elapsed(),
        (accounts <= 100_000).then_some(Duration::from_secs(10)),
    ));
    anyhow::ensure!(
        up.pushed as i64 == queued && down.pending == 0,
        "incomplete: {up:?} {down:?}"
    );

    // 1,000 edits on one device, seen on the other.
    sqlx::query("UPDATE accounts SET region = region || ' ' WHERE rowid IN (SELECT rowid FROM accounts ORDER BY rowid LIMIT 1000)")
        .execute(a.pool())
        .await?;
    let mut times = Vec::new();
    for round in 0..5 {
        sqlx::query("UPDATE accounts SET industry = ? WHERE rowid IN (SELECT rowid FROM accounts ORDER BY rowid LIMIT 1000)")
            .bind(format!("Round {round}"))
            .execute(a.pool())
            .await?;
        let started = Instant::now();
        sync::sync_once(&a, &csm, |_| {}).await?;
        let got = sync::sync_once(&b, &vp, |_| {}).await?;
        times.push(started.elapsed());
        anyhow::ensure!(got.applied >= 1000, "round {round}: {got:?}");
    }
    times.sort();
    rows.push(Row {
        what:
            "round trip of 1,000 changes (push on one device, pull + apply on another), median of 5"
                .into(),
        median: times[2],
        max: times[4],
        target: Some(Duration::from_millis(200)),
        peak_mb: None,
        judge: crate::bench::Judge::Median,
    });

    // Many devices at once, each pushing its own edits and pulling everyone's new ones
    // (from where the server stood before they started).
    let per_client = 200usize;
    let since0: i64 = riskdesk_core::store::settings::get(b.pool(), "sync.cursor")
        .await?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..clients {
        // One sign-in shared: sign-in is rate limited per user.
        let client = HttpClient::with_token(&base, csm.token());
        tasks.push(tokio::spawn(async move {
            let device = format!("bench-device-{n}");
            let mut clock = Clock::new(device.clone());
            let changes: Vec<Change> = (0..per_client)
                .map(|i| Change {
                    change_id: format!("{device}-{i}"),
                    entity: "cta".into(),
                    entity_id: format!("cta-{n}-{}", i % 20),
                    account_id: format!("acct-{n}"),
                    field: "reason".into(),
                    value: serde_json::json!(format!("edit {i}")),
                    hlc: clock.tick(i as u64),
                    device_id: device.clone(),
                })
                .collect();
            client
                .push(PushRequest::new(&device, changes))
                .await
                .map_err(|e| e.to_string())?;
            let mut since = since0;
            loop {
                let page = client.pull(since, 5_000, None).await?;
                since = page.cursor;
                if !page.more {
                    break;
                }
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await?.map_err(anyhow::Error::msg)?;
    }
    let took = started.elapsed();
    let total = clients * per_client;
    rows.push(row(
        format!(
            "{clients} devices at once, each pushing {per_client} changes and pulling all new: {:.0} changes/s",
            total as f64 / took.as_secs_f64()
        ),
        took,
        None,
    ));

    // Many new devices pulling the book from the start at once: the server's memory is
    // bounded by its page limits (changes and bytes), not by the book or the crowd.
    let pages = 10usize;
    let sampler = Peak::start();
    let before = crate::memory::own_kb().unwrap_or(0) / 1024;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = HttpClient::with_token(&base, vp.token());
        tasks.push(tokio::spawn(async move {
            let mut since = 0;
            for _ in 0..pages {
                let page = client.pull(since, 10_000, None).await?;
                since = page.cursor;
                if !page.more {
                    break;
                }
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await?.map_err(anyhow::Error::msg)?;
    }
    let peak = sampler.stop().unwrap_or(0);
    rows.push(row(
        format!(
            "{clients} new devices pulling {pages} pages of the book at once: process memory {before} MB before, peak {peak} MB (+{} MB)",
            peak.saturating_sub(before)
        ),
        started.elapsed(),
        None,
    ));
    print_rows(rows);
    Ok(())
}
