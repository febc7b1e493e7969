//! `riskdesk bench`: speed targets as a printed table, not as timed tests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::model::Segment;
use riskdesk_core::store::{accounts, AccountQuery, AccountSort};
use riskdesk_core::Store;

use crate::memory::Peak;

/// The column a row's target is judged on.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Judge {
    Median,
    /// The max column holds a p95.
    P95,
    /// The max column holds the slowest of a few runs.
    Slowest,
}

pub(crate) struct Row {
    pub what: String,
    pub median: Duration,
    pub max: Duration,
    pub target: Option<Duration>,
    /// The process's peak resident memory during the step, when measured.
    pub peak_mb: Option<u64>,
    /// Which column the target holds for.
    pub judge: Judge,
}

/// Runs one step once, timing it and its peak memory.
async fn step<T>(
    rows: &mut Vec<Row>,
    what: String,
    target: Option<Duration>,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let peak = Peak::start();
    let started = Instant::now();
    let out = f.await?;
    let took = started.elapsed();
    rows.push(Row {
        what,
        median: took,
        max: took,
        target,
        peak_mb: peak.stop(),
        judge: Judge::Median,
    });
    Ok(out)
}

/// Consecutive next days the daily run is timed over.
const NEXT_DAYS: i64 = 3;

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
        peak_mb: None,
        judge: Judge::Median,
    });

    if generate_only {
        print_rows(rows);
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = db.unwrap_or_else(|| dir.path().join("bench.db"));
    let store = Store::open(&path).await?;
    // The targets are set for a 100K book.
    let target = |ms: u64| (n <= 100_000).then_some(Duration::from_millis(ms));
    let today = spec.as_of;
    let tomorrow = today + chrono::Duration::days(1);
    if accounts::count_accounts(store.pool()).await? == 0 {
        step(
            &mut rows,
            format!("generate and write {n} accounts to the store"),
            None,
            async { Ok(book::load(&store, &spec, |_, _| {}).await?) },
        )
        .await?;
        // 26 weeks of weekly history, as a store that has been in use has.
        let days: Vec<chrono::NaiveDate> = (1..=26)
            .rev()
            .map(|w| today - chrono::Duration::weeks(w))
            .collect();
        step(
            &mut rows,
            format!("write 26 weeks of history for {n} accounts"),
            None,
            async { Ok(riskdesk_core::health::backfill(&store, &days).await?) },
        )
        .await?;
    }
    use riskdesk_core::health;
    use riskdesk_core::refresh::{self, Scope};
    if health::last_computed_day(store.pool()).await?.is_none() {
        step(
            &mut rows,
            format!("first health recompute of {n} accounts"),
            None,
            async { Ok(health::recompute(&store, None, today, |_, _| {}).await?) },
        )
        .await?;
    }
    if riskdesk_core::cta::live(store.pool(), None)
        .await?
        .is_empty()
    {
        let report = step(
            &mut rows,
            format!("full rule run over {n} accounts"),
            target(6_000),
            async {
                Ok(riskdesk_core::rules::run::run(&store, None, today, false, "bench").await?)
            },
        )
        .await?;
        if let Some(r) = rows.last_mut() {
            r.what = format!("full rule run over {n} accounts ({} CTAs)", report.created);
        }
        step(
            &mut rows,
            "rule run again (creating nothing)".into(),
            target(1_000),
            async {
                Ok(riskdesk_core::rules::run::run(&store, None, today, false, "bench").await?)
            },
        )
        .await?;
    }
    // The daily run: a new day for every account (scores, signals, severity, history,
    // priority), the day after the last one this store was scored for (a store benched
    // before has tomorrow's scores already).
    let latest: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT date(MAX(epoch_day) * 86400, 'unixepoch') FROM health_history")
            .fetch_one(store.pool())
            .await?;
    let first = latest.map_or(tomorrow, |d| d.max(today) + chrono::Duration::days(1));
    // Three days in a row, each scored and then refreshed as the daily schedule does: one
    // run varies by ±20 % on this machine, so the row gives the median and the slowest.
    let (mut scoring, mut rest) = (Vec::new(), Vec::new());
    let (mut scoring_peak, mut rest_peak) = (None, None);
    let mut tomorrow = first;
    for day in 0..NEXT_DAYS {
        tomorrow = first + chrono::Duration::days(day);
        let peak = Peak::start();
        let started = Instant::now();
        health::recompute(&store, None, tomorrow, |_, _| {}).await?;
        scoring.push(started.elapsed());
        scoring_peak = scoring_peak.max(peak.stop());
        // The rest of the daily refresh: scores are current, rules, escalation and ranks
        // follow for the whole book.
        let peak = Peak::start();
        let started = Instant::now();
        refresh::run(&store, Scope::Book, tomorrow, "bench", |_, _| {}).await?;
        rest.push(started.elapsed());
        rest_peak = rest_peak.max(peak.stop());
    }
    for (what, mut times, target, peak_mb) in [
        (
            format!("full health recompute of {n} accounts, next day (median and slowest of {NEXT_DAYS} days)"),
            scoring,
            target(2_000),
            scoring_peak,
        ),
        (
            format!("whole-book refresh after it (rules, escalation, rank; {n} accounts)"),
            rest,
            None,
            rest_peak,
        ),
    ] {
        times.sort();
        rows.push(Row {
            what,
            median: times[times.len() / 2],
            max: times[times.len() - 1],
            target,
            peak_mb,
            judge: Judge::Slowest,
        });
    }
    // The same daily run with every thread of the process on one CPU: what the machine
    // gives it in its busy hours (a next day measured 2.0–2.3 s then, as here).
    // Its history adds a day to the store: the size is also taken before it, as runs
    // before this row measured it (26 weeks of history and three daily runs).
    let three_days = store.size().await?.bytes;
    #[cfg(target_os = "linux")]
    if let Some(all) = one_cpu::pin() {
        tomorrow = first + chrono::Duration::days(NEXT_DAYS);
        let peak = Peak::start();
        let started = Instant::now();
        let scored = health::recompute(&store, None, tomorrow, |_, _| {}).await;
        let took = started.elapsed();
        one_cpu::restore(&all);
        scored?;
        rows.push(Row {
            what: format!("full health recompute of {n} accounts, next day, on one CPU"),
            median: took,
            max: took,
            target: target(2_000),
            peak_mb: peak.stop(),
            judge: Judge::Median,
        });
        refresh::run(&store, Scope::Book, tomorrow, "bench", |_, _| {}).await?;
    }
    // Everything is current: the whole book asked again finds nothing that changed.
    step(
        &mut rows,
        format!("refresh {n} accounts again the same day (nothing changed)"),
        target(1_000),
        async { Ok(refresh::run(&store, Scope::Book, tomorrow, "bench", |_, _| {}).await?) },
    )
    .await?;
    // One account after a data change: score, stage, signals, rules, escalation, priority,
    // run as an edit, an import or a pulled page runs it (a data change's rule run is logged
    // only when it changed someone's work).
    let sample: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 100")
            .fetch_all(store.pool())
            .await?;
    let mut times = Vec::with_capacity(sample.len());
    let peak = Peak::start();
    for id in sample {
        let started = Instant::now();
        refresh::run(
            &store,
            Scope::Accounts(vec![id]),
            tomorrow,
            riskdesk_core::rules::run::DATA_CHANGE,
            |_, _| {},
        )
        .await?;
        times.push(started.elapsed());
    }
    times.sort();
    tracing::debug!(slowest = ?&times[times.len().saturating_sub(8)..], "one account's refresh");
    rows.push(Row {
        what: "one account's refresh after a change (median; max is p95 of 100)".into(),
        median: times[times.len() / 2],
        max: times[(times.len() * 95 / 100).min(times.len() - 1)],
        target: Some(Duration::from_millis(5)),
        peak_mb: peak.stop(),
        judge: Judge::P95,
    });
    step(
        &mut rows,
        format!("re-rank {n} accounts (priority refresh)"),
        target(1_000),
        async { Ok(riskdesk_core::priority::refresh(&store, None, tomorrow).await?) },
    )
    .await?;
    let spec = BookSpec {
        as_of: tomorrow,
        ..spec
    };
    let owner = sqlx_owner(&store).await?;
    worklist_rows(&store, &owner, spec.as_of, iterations, &mut rows).await?;
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations.max(1) {
        let started = Instant::now();
        let d = riskdesk_core::dashboard::dashboard(store.pool(), spec.as_of).await?;
        times.push(started.elapsed());
        std::hint::black_box(d);
    }
    rows.push(screen_row("dashboard data (every chart)", times));
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations.max(1) {
        let started = Instant::now();
        let d = riskdesk_core::lane::summary(&store, spec.as_of).await?;
        times.push(started.elapsed());
        std::hint::black_box(d);
    }
    rows.push(screen_row(
        "tech-touch lane (every chart, 90-day trend)",
        times,
    ));

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
            peak_mb: None,
            judge: Judge::Median,
        });
    }
    store.close().await;
    let bytes = ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum::<u64>();

    print_rows(rows);
    println!(
        "store size: {} MB ({}); {} MB after the three next days, before the one-CPU day",
        bytes / 1_000_000,
        path.display(),
        three_days / 1_000_000
    );
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
            peak_mb: None,
            judge: Judge::Median,
        });
    }
    Ok(())
}

pub(crate) fn print_rows(rows: Vec<Row>) {
    println!(
        "{:<62} {:>12} {:>12} {:>9} {:>10}",
        "benchmark", "median", "max", "peak MB", "target"
    );
    for r in rows {
        let (judged, which) = match r.judge {
            Judge::Median => (r.median, ""),
            Judge::P95 => (r.max, "p95 "),
            Judge::Slowest => (r.max, "max "),
        };
        let target = match r.target {
            Some(t) if judged <= t => format!("{which}< {} ok", ms(t)),
            Some(t) => format!("{which}< {} MISS", ms(t)),
            None => String::new(),
        };
        let peak = r.peak_mb.map_or(String::new(), |m| m.to_string());
        println!(
            "{:<62} {:>12} {:>12} {:>9} {:>10}",
            r.what,
            ms(r.median),
            ms(r.max),
            peak,
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

/// A screen's data, judged by its median against the 100 ms a screen may take.
fn screen_row(what: &str, mut times: Vec<Duration>) -> Row {
    times.sort();
    Row {
        what: what.into(),
        median: times[times.len() / 2],
        max: times[times.len() - 1],
        target: Some(Duration::from_millis(100)),
        peak_mb: None,
        judge: Judge::Median,
    }
}

/// Pinning the whole process to one CPU and back (Linux: each thread has its own mask, and
/// a thread started later takes its starter's).
#[cfg(target_os = "linux")]
mod one_cpu {
    /// Every thread of the process now.
    fn threads() -> Vec<libc::pid_t> {
        std::fs::read_dir("/proc/self/task")
            .map(|dir| {
                dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn set_all(mask: &libc::cpu_set_t) -> bool {
        threads().into_iter().all(|tid| {
            // SAFETY: `mask` is a valid cpu_set_t of the size passed.
            unsafe {
                libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), mask) == 0
            }
        })
    }

    /// Pins every thread to the first CPU this one may use; returns the mask to restore,
    /// or None (nothing pinned) when the machine has one CPU or the OS refuses.
    pub fn pin() -> Option<libc::cpu_set_t> {
        // SAFETY: a zeroed cpu_set_t is an empty set, filled in by sched_getaffinity.
        let mut all: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `all` is a valid cpu_set_t of the size passed.
        if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut all) }
            != 0
        {
            return None;
        }
        // SAFETY: `all` was filled by sched_getaffinity.
        if unsafe { libc::CPU_COUNT(&all) } < 2 {
            return None;
        }
        let first = (0..libc::CPU_SETSIZE as usize).find(|&c| {
            // SAFETY: c is below CPU_SETSIZE.
            unsafe { libc::CPU_ISSET(c, &all) }
        })?;
        // SAFETY: as above; `one` holds the one CPU.
        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        unsafe { libc::CPU_SET(first, &mut one) };
        if set_all(&one) {
            Some(all)
        } else {
            restore(&all);
            None
        }
    }

    /// Lets every thread run where it could before `pin`.
    pub fn restore(all: &libc::cpu_set_t) {
        if !set_all(all) {
            tracing::warn!("the bench could not give its threads back every CPU");
        }
    }
}
