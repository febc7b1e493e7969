//! `riskdesk score` and `riskdesk explain`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use chrono::{NaiveDate, Utc};
use riskdesk_core::health;
use riskdesk_core::refresh;
use riskdesk_core::scorecard::ScoreSource;
use riskdesk_core::Store;

async fn open(db: &Path) -> Result<Store> {
    crate::store::existing(db).await
}

/// The whole book's refresh: scores, stages, signals, rules, escalation and priority.
/// Resumable: a kill leaves the book owed, and the next command finishes it.
/// Asked again the same day, only accounts whose data or work changed are computed,
/// unless `full`.
pub async fn run(db: PathBuf, as_of: Option<NaiveDate>, full: bool) -> Result<()> {
    let store = open(&db).await?;
    if full {
        refresh::forget_full(&store).await?;
    }
    let today = as_of.unwrap_or_else(|| Utc::now().date_naive());
    let started = Instant::now();
    let r = refresh::run(
        &store,
        refresh::Scope::Book,
        today,
        "score",
        |done, total| eprint!("\rscoring {done}/{total}"),
    )
    .await?;
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    let s = &r.health;
    if s.unchanged > 0 {
        println!(
            "{} accounts unchanged since today's refresh (nothing they depend on changed; --full computes them anyway)",
            s.unchanged
        );
    }
    println!(
        "Scored {} of {} {}accounts in {secs:.2} s ({:.0} accounts/s); signals raised {}, cleared {}; stages moved {}; CTAs opened {}, closed {}",
        s.scored,
        s.accounts,
        if s.unchanged > 0 { "changed " } else { "" },
        s.accounts as f64 / secs.max(1e-9),
        s.signals_raised,
        s.signals_cleared,
        s.stages_moved,
        r.ctas_created,
        r.ctas_closed
    );
    Ok(())
}

async fn resolve(store: &Store, key: &str) -> Result<String> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE id = ?1 OR crm_id = ?1 OR name = ?1 LIMIT 1",
    )
    .bind(key)
    .fetch_optional(store.pool())
    .await?;
    id.ok_or_else(|| anyhow::anyhow!("no account with id, CRM id or name '{key}'"))
}

pub async fn explain(db: PathBuf, key: String, json: bool) -> Result<()> {
    let store = open(&db).await?;
    let id = resolve(&store, &key).await?;
    let h = health::account_health(&store, &id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&h)?);
        return Ok(());
    }
    let Some(current) = &h.current else {
        println!("{key}: not scored yet (run `riskdesk score`)");
        return Ok(());
    };
    match current.score {
        Some(score) => println!(
            "{key}: health {score:.1} ({}) on scorecard “{}” v{}",
            current.band.as_deref().unwrap_or("-"),
            current.scorecard_name,
            current.scorecard_version
        ),
        None => println!("{key}: no measure has data"),
    }
    let t = &h.trend;
    let fmt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:+.1}"));
    println!(
        "trend: 7 days {}, 30 days {}, 90 days {}",
        fmt(t.days_7),
        fmt(t.days_30),
        fmt(t.days_90)
    );
    println!(
        "\n{:<24} {:<28} {:>6} {:>7} {:>13}  source",
        "measure", "raw", "score", "weight", "contribution"
    );
    for m in &current.measures {
        let source = match &m.source {
            ScoreSource::Data => m.evidence.clone(),
            ScoreSource::Override { comment, .. } => format!("override: {comment}"),
            ScoreSource::Missing => "missing: not counted".into(),
        };
        println!(
            "{:<24} {:<28} {:>6} {:>7.1} {:>13.1}  {source}",
            m.label,
            m.raw_display,
            m.score.map_or("–".into(), |s| format!("{s:.0}")),
            m.weight,
            m.contribution
        );
    }
    if !h.changes.is_empty() {
        println!(
            "\nsince {}:",
            h.previous_day
                .map_or("the previous snapshot".into(), |d| d.to_string())
        );
        for c in &h.changes {
            println!("  {c}");
        }
    }
    println!("\nsignals:");
    for s in h.signals.iter().filter(|s| s.cleared_at.is_none()) {
        println!("  [{}] {}: {}", s.severity, s.label, s.summary);
        for e in &s.evidence {
            println!("      {e}");
        }
    }
    if let Some(sev) = &h.severity {
        println!(
            "\nseverity {} ({}): {}",
            riskdesk_core::severity::whole(sev.score),
            sev.level,
            sev.formula
        );
        for f in &sev.factors {
            println!(
                "  {:<16} {:>5.0}  {:<18} {}",
                f.name, f.value, f.role, f.input
            );
        }
    }
    Ok(())
}
