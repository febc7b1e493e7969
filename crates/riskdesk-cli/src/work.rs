//! `riskdesk rules …` and `riskdesk ctas`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{NaiveDate, Utc};
use riskdesk_core::rules::run::{self, FiringOutcome};
use riskdesk_core::{cta, Store};

async fn open(db: &Path) -> Result<Store> {
    crate::store::existing(db).await
}

pub async fn list_rules(db: PathBuf) -> Result<()> {
    let store = open(&db).await?;
    for r in run::rules(&store).await? {
        println!(
            "{} {} (v{})",
            if r.enabled { "●" } else { "○" },
            r.name,
            r.version
        );
        println!("    {}", r.definition.description);
        println!(
            "    when {}",
            serde_json::to_string(&r.definition.condition)?
        );
        println!("    then {}", serde_json::to_string(&r.definition.actions)?);
    }
    Ok(())
}

pub async fn run_rules(db: PathBuf, dry_run: bool, as_of: Option<NaiveDate>) -> Result<()> {
    let store = open(&db).await?;
    let today = as_of.unwrap_or_else(|| Utc::now().date_naive());
    let r = run::run(&store, None, today, dry_run, "cli").await?;
    let verb = if dry_run { "would create" } else { "created" };
    println!(
        "{} accounts in {:.2} s: {} firings, {verb} {} CTAs, closed {}, {} suppressed by snoozes",
        r.accounts,
        r.duration_ms as f64 / 1000.0,
        r.fired,
        r.created,
        r.closed,
        r.suppressed
    );
    for f in r
        .firings
        .iter()
        .filter(|f| f.outcome != FiringOutcome::AlreadyOpen)
        .take(40)
    {
        println!(
            "  [{}] {} — {}: {} ({})",
            f.outcome,
            f.account_name,
            f.rule,
            f.reason,
            f.evidence.join("; ")
        );
    }
    for e in &r.errors {
        println!("  error: {e}");
    }
    Ok(())
}

pub async fn ctas(db: PathBuf, owner: Option<String>, json: bool) -> Result<()> {
    let store = open(&db).await?;
    let list = cta::live(store.pool(), owner.as_deref()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!(
        "{:<8} {:<11} {:<10} {:<46} {:<10}",
        "PRIORITY", "TYPE", "STATUS", "REASON", "DUE"
    );
    for c in &list {
        println!(
            "{:<8} {:<11} {:<10} {:<46} {:<10}",
            c.priority,
            c.cta_type,
            c.status,
            c.reason.chars().take(46).collect::<String>(),
            c.due_on.map_or("-".into(), |d| d.to_string())
        );
    }
    println!("{} live CTAs", list.len());
    Ok(())
}

pub async fn worklist(
    db: PathBuf,
    owner: Option<String>,
    limit: u32,
    why: bool,
    json: bool,
) -> Result<()> {
    use riskdesk_core::worklist::{self, WorklistQuery};
    let store = open(&db).await?;
    let today = Utc::now().date_naive();
    let page = worklist::page(
        store.pool(),
        &WorklistQuery {
            owner_id: owner,
            ..WorklistQuery::everyone(limit)
        },
        today,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    println!("{} accounts with open risk", page.total);
    for r in &page.rows {
        println!(
            "{:>4}. {:<34} {:>7.1}  {:<7} renews {}  {}",
            r.rank,
            r.name,
            r.score,
            r.severity_level.map_or("-".to_string(), |l| l.to_string()),
            r.renewal_date,
            r.owner_name.as_deref().unwrap_or("unassigned")
        );
        if why {
            let w = worklist::why(store.pool(), &r.account_id).await?;
            for f in &w.explanation.factors {
                println!(
                    "        {:<16} {:<44} ×{:.2} → {:.1}",
                    f.factor, f.input, f.multiplier, f.points
                );
            }
        }
    }
    Ok(())
}

pub async fn triage(
    db: PathBuf,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    json: bool,
) -> Result<()> {
    use riskdesk_core::triage;
    let store = open(&db).await?;
    let today = Utc::now().date_naive();
    let (default_from, default_to) = triage::next_quarter(today);
    let (from, to) = (from.unwrap_or(default_from), to.unwrap_or(default_to));
    let t = triage::renewals(store.pool(), from, to, None, today).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&t)?);
        return Ok(());
    }
    println!("Renewals {from} to {to}: {}", t.order.len());
    for g in &t.groups {
        println!("  {:<18} {:>4}", g.group.label(), g.accounts);
    }
    for i in &t.order {
        println!("  {}  {}", i.name, i.reason);
    }
    Ok(())
}

pub async fn huddle(db: PathBuf) -> Result<()> {
    let store = open(&db).await?;
    let h = riskdesk_core::huddle::huddle(store.pool(), None).await?;
    print!(
        "{}",
        riskdesk_core::huddle::to_markdown(&h, Utc::now().date_naive())
    );
    Ok(())
}
