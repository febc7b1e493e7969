//! `riskdesk rules …` and `riskdesk ctas`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use chrono::{NaiveDate, Utc};
use riskdesk_core::rules::run::{self, FiringOutcome};
use riskdesk_core::{cta, Store};

async fn open(db: &Path) -> Result<Store> {
    if !db.exists() {
        bail!("no store at {}", db.display());
    }
    Ok(Store::open(db).await?)
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
