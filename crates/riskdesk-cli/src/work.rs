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

pub async fn run_rules(
    db: PathBuf,
    dry_run: bool,
    as_of: Option<NaiveDate>,
    json: bool,
) -> Result<()> {
    let store = open(&db).await?;
    let today = as_of.unwrap_or_else(|| Utc::now().date_naive());
    let r = run::run(&store, None, today, dry_run, "cli").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let verb = if dry_run { "would create" } else { "created" };
    println!(
        "{} accounts in {:.2} s: {} firings, {verb} {} CTAs, {} escalations, closed {}, {} suppressed by snoozes",
        r.accounts,
        r.duration_ms as f64 / 1000.0,
        r.fired,
        r.created,
        r.escalated,
        r.closed,
        r.suppressed
    );
    let width = r
        .by_rule
        .iter()
        .map(|c| c.rule.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "  {:<width$}  {:>6}  {:>7}  {:>12}  {:>10}  {:>6}",
        "RULE", "FIRED", "CREATE", "ALREADY OPEN", "SUPPRESSED", "CLOSE"
    );
    for c in &r.by_rule {
        println!(
            "  {:<width$}  {:>6}  {:>7}  {:>12}  {:>10}  {:>6}",
            c.rule, c.fired, c.created, c.already_open, c.suppressed, c.closed
        );
    }
    // Every firing that does something (those already open change nothing).
    let acting: Vec<_> = r
        .firings
        .iter()
        .filter(|f| f.outcome != FiringOutcome::AlreadyOpen)
        .collect();
    for f in &acting {
        println!(
            "  [{}] {} — {}: {} ({})",
            f.outcome,
            f.account_name,
            f.rule,
            f.reason,
            f.evidence.join("; ")
        );
    }
    if r.firings_left_out > 0 {
        println!(
            "  … {} more firings not listed (the report keeps the first {}); --json has the counts per rule",
            r.firings_left_out,
            r.firings.len()
        );
    }
    for e in &r.errors {
        println!("  error: {e}");
    }
    Ok(())
}

pub async fn export_rules(db: PathBuf) -> Result<()> {
    let store = open(&db).await?;
    let file = riskdesk_core::rules::files::export(&store).await?;
    println!("{}", serde_json::to_string_pretty(&file)?);
    Ok(())
}

pub async fn import_rules(db: PathBuf, file: PathBuf, apply: bool) -> Result<()> {
    use riskdesk_core::rules::files;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let rules = files::parse(&text)?;
    let store = open(&db).await?;
    let plan = if apply {
        files::import(&store, &rules).await?
    } else {
        files::plan(&store, &rules).await?
    };
    for name in &plan.added {
        println!("+ {name}");
    }
    for c in &plan.changed {
        println!("~ {} ({})", c.name, c.what.join(", "));
    }
    for name in &plan.removed {
        println!("- {name}");
    }
    let summary = format!(
        "{} added, {} changed, {} removed, {} unchanged",
        plan.added.len(),
        plan.changed.len(),
        plan.removed.len(),
        plan.unchanged
    );
    if plan.applied {
        println!("Imported: {summary}.");
    } else if plan.is_empty() {
        println!("Nothing to change: {summary}.");
    } else {
        println!("Would import: {summary}. Run again with --apply to write it.");
    }
    Ok(())
}

pub async fn enable_rule(db: PathBuf, name: String, enabled: bool) -> Result<()> {
    let store = open(&db).await?;
    let rules = run::rules(&store).await?;
    let Some(rule) = rules
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name.trim()))
    else {
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        anyhow::bail!(
            "no rule is called “{name}”; the rules are: {}",
            names.join(", ")
        );
    };
    run::set_enabled(&store, &rule.id, enabled).await?;
    println!(
        "{} {}",
        if enabled { "Enabled" } else { "Disabled" },
        rule.name
    );
    Ok(())
}

/// A person named by id, email or exact name.
async fn person_id(store: &Store, who: &str) -> Result<String> {
    if let Ok(p) = riskdesk_core::people::find(store.pool(), who).await {
        return Ok(p.id);
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE lower(name) = lower(?)")
        .bind(who.trim())
        .fetch_all(store.pool())
        .await?;
    match ids.as_slice() {
        [id] => Ok(id.clone()),
        [] => anyhow::bail!(
            "no person is “{who}” (by id, email or name; `riskdesk people list` shows them)"
        ),
        _ => anyhow::bail!(
            "{} people are called “{who}”: name one by email or id",
            ids.len()
        ),
    }
}

pub async fn ctas(db: PathBuf, owner: Option<String>, json: bool) -> Result<()> {
    use riskdesk_core::cta::{CockpitQuery, CtaScope};
    let store = open(&db).await?;
    let owner = match owner {
        Some(who) => Some(person_id(&store, &who).await?),
        None => None,
    };
    let rows = cta::cockpit(
        store.pool(),
        &CockpitQuery {
            scope: if owner.is_some() {
                CtaScope::Mine
            } else {
                CtaScope::All
            },
            user_id: owner,
            cta_type: None,
            priority: None,
            status: None,
            flagged_only: false,
            search: None,
        },
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let name_width = rows
        .iter()
        .map(|r| r.account_name.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 32);
    println!(
        "{:<name_width$}  {:<8}  {:<11}  {:<11}  {:<10}  {:<20}  REASON",
        "ACCOUNT", "PRIORITY", "TYPE", "STATUS", "DUE", "OWNER"
    );
    for r in &rows {
        let c = &r.cta;
        let owner = match (&r.owner_name, c.cta_type) {
            (Some(n), _) => n.clone(),
            (None, cta::CtaType::Digital) => "tech-touch lane".into(),
            (None, _) => "unassigned".into(),
        };
        println!(
            "{:<name_width$}  {:<8}  {:<11}  {:<11}  {:<10}  {:<20}  {}",
            crate::truncate(&r.account_name, name_width),
            // The enums' Display ignores padding: their text pads.
            c.priority.to_string(),
            c.cta_type.to_string(),
            c.status.to_string(),
            c.due_on.map_or("-".into(), |d| d.to_string()),
            crate::truncate(&owner, 20),
            c.reason
        );
    }
    if rows.len() as u32 == cta::COCKPIT_LIMIT {
        println!(
            "first {} live CTAs shown, highest priority first; --owner narrows the list",
            rows.len()
        );
    } else {
        println!("{} live CTAs", rows.len());
    }
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
            let w = worklist::why(&store, &r.account_id, today).await?;
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
    let t = triage::renewals(&store, from, to, None, today).await?;
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
