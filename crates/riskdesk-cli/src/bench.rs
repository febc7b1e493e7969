//! `riskdesk bench`: speed targets as a printed table, not as timed tests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::model::Segment;
use riskdesk_core::store::{accounts, AccountQuery, AccountSort};
use riskdesk_core::Store;

pub(crate) struct Row {
    pub what: String,
    pub median: Duration,
    pub max: Duration,
    pub target: Option<Duration>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub async fn run(
    n: usize,
    db: Option<PathBuf>,
    iterations: usize,
    generate_only: bool,
) -> Result<()> {
    let spec = BookSpec::new(n, 7, Utc::now().date_naive());
    let mut rows = Vec::new();

    // Generation alone, in chunks so memory stays flat at any size.
    let started = Instant::now();
    let org = book::org(&spec);
    let mut usage_rows = 0usize;
    let mut start = 0;
    while start < n {
        let end = (start + 10_000).min(n);
        usage_rows += book::accounts(&spec, &org, start..end)
            .iter()
            .map(|b| b.usage.len())
            .sum::<usize>();
        start = end;
    }
    let generated = started.elapsed();
    rows.push(Row {
        what: format!("generate {n} accounts in memory ({usage_rows} usage weeks)"),
        median: generated,
        max: generated,
        // The target is set for a 100K book.
        target: (n <= 100_000).then_some(Duration::from_secs(10)),
    });

    if generate_only {
        print_rows(rows);
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = db.unwrap_or_else(|| dir.path().join("bench.db"));
    let store = Store::open(&path).await?;
    if accounts::count_accounts(store.pool()).await? == 0 {
        let started = Instant::now();
        book::load(&store, &spec, |_, _| {}).await?;
        let loaded = started.elapsed();
        rows.push(Row {
            what: format!("generate and write {n} accounts to the store"),
            median: loaded,
            max: loaded,
            target: None,
        });
    }
    if riskdesk_core::health::last_computed_day(store.pool())
        .await?
        .is_none()
    {
        let started = Instant::now();
        riskdesk_core::health::recompute(&store, None, spec.as_of, |_, _| {}).await?;
        let scored = started.elapsed();
        rows.push(Row {
            what: format!("full health recompute of {n} accounts"),
            median: scored,
            max: scored,
            target: None,
        });
    }
    let ctas: i64 = riskdesk_core::cta::live(store.pool(), None).await?.len() as i64;
    if ctas == 0 {
        let started = Instant::now();
        let report =
            riskdesk_core::rules::run::run(&store, None, spec.as_of, false, "bench").await?;
        let ran = started.elapsed();
        rows.push(Row {
            what: format!("full rule run over {n} accounts ({} CTAs)", report.created),
            median: ran,
            max: ran,
            target: None,
        });
    }
    // Everything is current: a whole-book refresh finds nothing to write.
    let started = Instant::now();
    riskdesk_core::refresh::run(
        &store,
        riskdesk_core::refresh::Scope::Book,
        spec.as_of,
        "bench",
        |_, _| {},
    )
    .await?;
    let again = started.elapsed();
    rows.push(Row {
        what: format!("refresh {n} accounts again the same day (nothing changed)"),
        median: again,
        max: again,
        target: (n <= 100_000).then_some(Duration::from_secs(1)),
    });
    // One account after a data change: score, stage, signals, rules, escalation, priority.
    let sample: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 20")
        .fetch_all(store.pool())
        .await?;
    let mut times = Vec::with_capacity(sample.len());
    for id in sample {
        let started = Instant::now();
        riskdesk_core::refresh::run(
            &store,
            riskdesk_core::refresh::Scope::Accounts(vec![id]),
            spec.as_of,
            "bench",
            |_, _| {},
        )
        .await?;
        times.push(started.elapsed());
    }
    times.sort();
    rows.push(Row {
        what: "one account's refresh after a change (median; max is p95 of 20)".into(),
        median: times[times.len() / 2],
        max: times[(times.len() * 95 / 100).min(times.len() - 1)],
        target: Some(Duration::from_millis(5)),
    });
    let started = Instant::now();
    riskdesk_core::priority::refresh(&store, None, spec.as_of).await?;
    let ranked = started.elapsed();
    rows.push(Row {
        what: format!("re-rank {n} accounts (priority refresh)"),
        median: ranked,
        max: ranked,
        target: None,
    });
    let owner = sqlx_owner(&store).await?;
    worklist_rows(&store, &owner, spec.as_of, iterations, &mut rows).await?;
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations.max(1) {
        let started = Instant::now();
        let d = riskdesk_core::dashboard::dashboard(store.pool(), spec.as_of).await?;
        times.push(started.elapsed());
        std::hint::black_box(d);
    }
    times.sort();
    rows.push(Row {
        what: "dashboard data (every chart)".into(),
        median: times[times.len() / 2],
        max: times[times.len() - 1],
        target: Some(Duration::from_millis(100)),
    });

    let queries: Vec<(String, AccountQuery)> = vec![
        (
            "first page: name ascending".into(),
            AccountQuery {
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: ARR descending".into(),
            AccountQuery {
                sort: AccountSort::Arr,
                descending: true,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: renewal ascending".into(),
            AccountQuery {
                sort: AccountSort::Renewal,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: owner ascending".into(),
            AccountQuery {
                sort: AccountSort::Owner,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: segment=enterprise, ARR desc".into(),
            AccountQuery {
                segment: Some(Segment::Enterprise),
                sort: AccountSort::Arr,
                descending: true,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: owner filter, renewal asc".into(),
            AccountQuery {
                owner_id: Some(owner),
                sort: AccountSort::Renewal,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: search \"harbor\", ARR desc".into(),
            AccountQuery {
                search: Some("harbor".into()),
                sort: AccountSort::Arr,
                descending: true,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: severity descending".into(),
            AccountQuery {
                sort: AccountSort::Severity,
                descending: true,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "first page: health ascending".into(),
            AccountQuery {
                sort: AccountSort::Health,
                limit: 100,
                ..Default::default()
            },
        ),
        (
            "deep page: offset 50000, name ascending".into(),
            AccountQuery {
                offset: (n as u32 / 2),
                limit: 100,
                ..Default::default()
            },
        ),
    ];
    for (what, q) in queries {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = Instant::now();
            let page = accounts::query_accounts(store.pool(), &q).await?;
            times.push(started.elapsed());
            std::hint::black_box(page);
        }
        times.sort();
        rows.push(Row {
            what,
            median: times[times.len() / 2],
            max: times[times.len() - 1],
            target: Some(Duration::from_millis(20)),
        });
    }
    store.close().await;

    print_rows(rows);
    Ok(())
}

/// The worklist from the store to its first page, under the filters the UI offers.
async fn worklist_rows(
    store: &Store,
    owner: &str,
    today: chrono::NaiveDate,
    iterations: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    use riskdesk_core::cta::CtaScope;
    use riskdesk_core::signals::Level;
    use riskdesk_core::worklist::{self, WorklistQuery};
    let base = WorklistQuery {
        user_id: Some(owner.to_string()),
        ..WorklistQuery::everyone(100)
    };
    let cases = vec![
        ("worklist: everyone, first page", base.clone()),
        (
            "worklist: mine",
            WorklistQuery {
                scope: CtaScope::Mine,
                ..base.clone()
            },
        ),
        (
            "worklist: my team",
            WorklistQuery {
                scope: CtaScope::Team,
                ..base.clone()
            },
        ),
        (
            "worklist: High severity, renewing within 90 days",
            WorklistQuery {
                severity: Some(Level::High),
                renewal_within_days: Some(90),
                ..base.clone()
            },
        ),
        (
            "worklist: category implementation, enterprise",
            WorklistQuery {
                category: Some("implementation".into()),
                segment: Some(Segment::Enterprise),
                ..base.clone()
            },
        ),
        (
            "worklist: with tech-touch lane, page 10",
            WorklistQuery {
                include_digital: true,
                offset: 900,
                ..base.clone()
            },
        ),
    ];
    for (what, q) in cases {
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let started = Instant::now();
            let page = worklist::page(store.pool(), &q, today).await?;
            times.push(started.elapsed());
            std::hint::black_box(page);
        }
        times.sort();
        rows.push(Row {
            what: what.to_string(),
            median: times[times.len() / 2],
            max: times[times.len() - 1],
            target: Some(Duration::from_millis(50)),
        });
    }
    Ok(())
}

pub(crate) fn print_rows(rows: Vec<Row>) {
    println!(
        "{:<62} {:>12} {:>12} {:>10}",
        "benchmark", "median", "max", "target"
    );
    for r in rows {
        let target = match r.target {
            Some(t) if r.median <= t => format!("< {} ok", ms(t)),
            Some(t) => format!("< {} MISS", ms(t)),
            None => String::new(),
        };
        println!(
            "{:<62} {:>12} {:>12} {:>10}",
            r.what,
            ms(r.median),
            ms(r.max),
            target
        );
    }
}

async fn sqlx_owner(store: &Store) -> Result<String> {
    let users = riskdesk_core::store::people::list_users(store.pool()).await?;
    users
        .into_iter()
        .find(|u| {
            u.role == riskdesk_core::model::Role::Csm && u.title == "Customer Success Manager"
        })
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("no CSM in the book"))
}
