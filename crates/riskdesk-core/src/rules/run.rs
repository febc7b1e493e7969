//! Running rules over accounts: evaluate, then create, close or suppress CTAs — or, in a
//! dry run, only say what would happen and why.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, SqlitePool};

use super::{templates, AccountState, Action, CtaOwner, CtaType, RuleDefinition};
use crate::cta::{self, NewCta, Playbook};
use crate::model::{ExpansionPotential, Segment, Stage};
use crate::scorecard::MeasureResult;
use crate::signals::{Level, SignalKind};
use crate::store::{in_list, Store};
use crate::{new_id, Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub version: i32,
    pub definition: RuleDefinition,
}

/// Every rule, the templates first written (enabled) when the store has none.
pub async fn rules(store: &Store) -> Result<Vec<Rule>> {
    let rows: Vec<(String, String, bool, i32, String)> =
        sqlx::query_as("SELECT id, name, enabled, version, definition FROM rules ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        for (name, definition) in templates::templates() {
            save_rule(store, None, &name, true, &definition).await?;
        }
        return Box::pin(rules(store)).await;
    }
    rows.into_iter()
        .map(|(id, name, enabled, version, json)| {
            let definition = serde_json::from_str(&json)
                .map_err(|e| Error::invalid(format!("rule {name}"), e.to_string()))?;
            Ok(Rule {
                id,
                name,
                enabled,
                version,
                definition,
            })
        })
        .collect()
}

/// Creates or updates a rule; an invalid rule is rejected with every problem named.
pub async fn save_rule(
    store: &Store,
    id: Option<&str>,
    name: &str,
    enabled: bool,
    definition: &RuleDefinition,
) -> Result<Rule> {
    if name.trim().is_empty() {
        return Err(Error::invalid("rule.name", "must not be empty"));
    }
    if let problems @ [_, ..] = definition.problems().as_slice() {
        return Err(Error::invalid(
            format!("rule {}", name.trim()),
            problems.join("; "),
        ));
    }
    let json =
        serde_json::to_string(definition).map_err(|e| Error::invalid("rule", e.to_string()))?;
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    let mut tx = store.write().await?;
    sqlx::query(
        "INSERT INTO rules (id, name, enabled, definition, version, updated_at) VALUES (?, ?, ?, ?, 1, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled, definition = excluded.definition, \
         version = rules.version + 1, updated_at = excluded.updated_at",
    )
    .bind(&id)
    .bind(name.trim())
    .bind(enabled)
    .bind(json)
    .bind(Utc::now())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid("rule.name", format!("another rule is called {}", name.trim())),
        other => other.into(),
    })?;
    let version: i32 = sqlx::query_scalar("SELECT version FROM rules WHERE id = ?")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Rule {
        id,
        name: name.trim().to_string(),
        enabled,
        version,
        definition: definition.clone(),
    })
}

crate::model::text_enum!(
    /// What a rule did, or in a dry run would do, on one account.
    FiringOutcome { Create => "create", AlreadyOpen => "already_open", Suppressed => "suppressed", Close => "close" }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Firing {
    pub rule: String,
    pub account_id: String,
    pub account_name: String,
    pub outcome: FiringOutcome,
    pub cta_type: CtaType,
    pub reason: String,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunReport {
    pub dry_run: bool,
    pub accounts: u32,
    pub fired: u32,
    pub created: u32,
    pub closed: u32,
    pub suppressed: u32,
    pub duration_ms: u32,
    /// What happened where, first `FIRINGS_KEPT` of them.
    pub firings: Vec<Firing>,
    pub errors: Vec<String>,
}

const FIRINGS_KEPT: usize = 2_000;
const BATCH: usize = 400;

struct Loaded {
    name: String,
    owner_id: Option<String>,
    state: AccountState,
}

struct LiveCta {
    id: String,
    status: String,
    snoozed_until: Option<NaiveDate>,
    rule_id: Option<String>,
}

async fn load(
    pool: &SqlitePool,
    ids: &[String],
    today: NaiveDate,
) -> Result<HashMap<String, Loaded>> {
    type AccountRow = (
        String,
        String,
        Option<String>,
        Segment,
        Stage,
        bool,
        ExpansionPotential,
        i64,
        NaiveDate,
        NaiveDate,
        Option<f64>,
        Option<String>,
        Option<f64>,
        Option<f64>,
    );
    let mut qb = QueryBuilder::new(
        "SELECT a.id, a.name, a.owner_id, a.segment, a.stage, a.strategic, a.expansion_potential, a.arr_base_minor, a.renewal_date, \
         a.contract_start, h.score, h.band, h.trend_30, h.severity_score FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id WHERE a.id",
    );
    in_list(&mut qb, ids);
    let mut out = HashMap::new();
    for (
        id,
        name,
        owner_id,
        segment,
        stage,
        strategic,
        expansion,
        arr,
        renewal,
        contract,
        score,
        band,
        trend_30,
        severity,
    ) in qb.build_query_as::<AccountRow>().fetch_all(pool).await?
    {
        let change_pct = match (score, trend_30) {
            (Some(s), Some(t)) if s - t > 0.0 => Some(t / (s - t) * 100.0),
            _ => None,
        };
        let state = AccountState {
            health: score,
            band,
            health_change_30_pct: change_pct,
            severity,
            arr_major: arr as f64 / 100.0,
            days_to_renewal: (renewal - today).num_days(),
            days_since_contract: (today - contract).num_days(),
            segment: Some(segment),
            stage: Some(stage),
            strategic,
            expansion: Some(expansion),
            ..Default::default()
        };
        out.insert(
            id,
            Loaded {
                name,
                owner_id,
                state,
            },
        );
    }
    let mut qb = QueryBuilder::new(
        "SELECT account_id, measures, MAX(computed_at) FROM health_snapshots WHERE account_id",
    );
    in_list(&mut qb, ids);
    qb.push(" GROUP BY account_id");
    for (id, measures, _) in qb
        .build_query_as::<(String, String, String)>()
        .fetch_all(pool)
        .await?
    {
        if let (Some(l), Ok(list)) = (
            out.get_mut(&id),
            serde_json::from_str::<Vec<MeasureResult>>(&measures),
        ) {
            l.state.measures = list.into_iter().map(|m| (m.kind, m.score)).collect();
        }
    }
    let mut qb = QueryBuilder::new("SELECT account_id, active_users, licensed_seats, MAX(week_start) FROM usage_weekly WHERE account_id");
    in_list(&mut qb, ids);
    qb.push(" GROUP BY account_id");
    for (id, active, seats, _) in qb
        .build_query_as::<(String, i64, i64, String)>()
        .fetch_all(pool)
        .await?
    {
        if let (Some(l), true) = (out.get_mut(&id), seats > 0) {
            l.state.seat_utilization_pct = Some(active as f64 / seats as f64 * 100.0);
        }
    }
    let mut qb = QueryBuilder::new("SELECT account_id, kind, severity, summary FROM signals WHERE cleared_at IS NULL AND account_id");
    in_list(&mut qb, ids);
    for (id, kind, severity, summary) in qb
        .build_query_as::<(String, SignalKind, Level, String)>()
        .fetch_all(pool)
        .await?
    {
        if let Some(l) = out.get_mut(&id) {
            l.state.signals.push((kind, severity, summary));
        }
    }
    Ok(out)
}

async fn live_ctas(
    pool: &SqlitePool,
    ids: &[String],
) -> Result<HashMap<(String, String, String), LiveCta>> {
    let mut qb = QueryBuilder::new("SELECT id, account_id, type, reason, status, snoozed_until, rule_id FROM ctas WHERE status <> 'closed' AND account_id");
    in_list(&mut qb, ids);
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<NaiveDate>,
        Option<String>,
    );
    Ok(qb
        .build_query_as::<Row>()
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id, account, t, reason, status, snoozed_until, rule_id)| {
            (
                (account, t, reason),
                LiveCta {
                    id,
                    status,
                    snoozed_until,
                    rule_id,
                },
            )
        })
        .collect())
}

/// Runs every enabled rule over `ids` (every account when None).
pub async fn run(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    trigger: &str,
) -> Result<RunReport> {
    let started = Instant::now();
    let started_at = Utc::now();
    let rules: Vec<Rule> = rules(store)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .collect();
    let playbooks: HashMap<String, Playbook> = cta::playbooks(store)
        .await?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
    let ids = match ids {
        Some(ids) => ids,
        None => {
            sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
                .fetch_all(store.pool())
                .await?
        }
    };
    let mut report = RunReport {
        dry_run,
        accounts: ids.len() as u32,
        ..Default::default()
    };
    let keep = |report: &mut RunReport, f: Firing| {
        if report.firings.len() < FIRINGS_KEPT {
            report.firings.push(f);
        }
    };
    for chunk in ids.chunks(BATCH) {
        let loaded = load(store.pool(), chunk, today).await?;
        let mut live = live_ctas(store.pool(), chunk).await?;
        let mut tx = store.write().await?;
        for id in chunk {
            let Some(account) = loaded.get(id) else {
                continue;
            };
            for rule in &rules {
                let verdict = rule.definition.condition.evaluate(&account.state);
                let category = rule.definition.actions.iter().find_map(|a| match a {
                    Action::SetCategory { category } => Some(category.clone()),
                    _ => None,
                });
                let close_outcome = rule.definition.actions.iter().find_map(|a| match a {
                    Action::CloseWhenCleared { outcome } => Some(outcome.clone()),
                    _ => None,
                });
                let note = rule.definition.actions.iter().find_map(|a| match a {
                    Action::AddTimelineNote { text } => Some(text.clone()),
                    _ => None,
                });
                for action in &rule.definition.actions {
                    let (cta_type, reason, priority, playbook, owner, due_in_days) = match action {
                        Action::CreateCta {
                            cta_type,
                            reason,
                            priority,
                            playbook,
                            owner,
                            due_in_days,
                        } => (
                            *cta_type,
                            reason.clone(),
                            *priority,
                            playbook.clone(),
                            owner.clone(),
                            *due_in_days,
                        ),
                        Action::StartDigitalPlaybook { playbook } => (
                            CtaType::Digital,
                            format!("Digital playbook: {playbook}"),
                            Level::Low,
                            Some(playbook.clone()),
                            CtaOwner::AccountOwner,
                            0,
                        ),
                        _ => continue,
                    };
                    let key = (id.clone(), cta_type.as_str().to_string(), reason.clone());
                    let firing = |outcome| Firing {
                        rule: rule.name.clone(),
                        account_id: id.clone(),
                        account_name: account.name.clone(),
                        outcome,
                        cta_type,
                        reason: reason.clone(),
                        evidence: verdict.evidence.clone(),
                    };
                    if verdict.holds {
                        report.fired += 1;
                        match live.get(&key) {
                            Some(c)
                                if c.status == "snoozed"
                                    && c.snoozed_until.is_some_and(|u| u > today) =>
                            {
                                report.suppressed += 1;
                                keep(&mut report, firing(FiringOutcome::Suppressed));
                            }
                            Some(c) => {
                                if c.status == "snoozed" && !dry_run {
                                    // The snooze has ended: the CTA is back in the worklist.
                                    sqlx::query("UPDATE ctas SET status = 'open', snoozed_until = NULL, updated_at = ? WHERE id = ?")
                                        .bind(Utc::now())
                                        .bind(&c.id)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                                keep(&mut report, firing(FiringOutcome::AlreadyOpen));
                            }
                            None => {
                                let pb = match &playbook {
                                    Some(name) => match playbooks.get(name) {
                                        Some(p) => Some(p.clone()),
                                        None => {
                                            report.errors.push(format!("rule {}: playbook '{name}' not found; CTA created without tasks", rule.name));
                                            None
                                        }
                                    },
                                    None => None,
                                };
                                report.created += 1;
                                keep(&mut report, firing(FiringOutcome::Create));
                                if !dry_run {
                                    let owner_id = match &owner {
                                        CtaOwner::AccountOwner => account.owner_id.clone(),
                                        CtaOwner::User(u) => Some(u.clone()),
                                    };
                                    let mut evidence =
                                        vec![format!("rule “{}” on {today}", rule.name)];
                                    evidence.extend(verdict.evidence.iter().cloned());
                                    let new = NewCta {
                                        account_id: id.clone(),
                                        cta_type,
                                        reason: reason.clone(),
                                        priority,
                                        owner_id,
                                        due_on: Some(today + Duration::days(due_in_days as i64)),
                                        rule_id: Some(rule.id.clone()),
                                        evidence,
                                        category: category.clone(),
                                        playbook: pb,
                                    };
                                    if let Some(cta_id) = cta::create(&mut tx, &new, today).await? {
                                        live.insert(
                                            key.clone(),
                                            LiveCta {
                                                id: cta_id,
                                                status: "open".into(),
                                                snoozed_until: None,
                                                rule_id: Some(rule.id.clone()),
                                            },
                                        );
                                        if let Some(text) = &note {
                                            sqlx::query("INSERT INTO timeline_entries (id, account_id, kind, occurred_at, author_id, body) VALUES (?, ?, 'system', ?, NULL, ?)")
                                                .bind(new_id())
                                                .bind(id)
                                                .bind(Utc::now())
                                                .bind(text)
                                                .execute(&mut *tx)
                                                .await?;
                                        }
                                    }
                                }
                            }
                        }
                    } else if let (Some(outcome), Some(c)) = (&close_outcome, live.get(&key)) {
                        // Only what this rule opened, and never a snoozed CTA: someone decided to wait.
                        if c.rule_id.as_deref() == Some(rule.id.as_str()) && c.status != "snoozed" {
                            report.closed += 1;
                            keep(&mut report, firing(FiringOutcome::Close));
                            if !dry_run {
                                cta::close(&mut tx, &c.id, outcome).await?;
                                live.remove(&key);
                            }
                        }
                    }
                }
            }
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
    }
    report.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    let errors = serde_json::to_string(&report.errors)
        .map_err(|e| Error::invalid("run log", e.to_string()))?;
    let mut tx = store.write().await?;
    sqlx::query(
        "INSERT INTO rule_runs (id, started_at, finished_at, dry_run, trigger, accounts, fired, created, closed, suppressed, errors) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new_id())
    .bind(started_at)
    .bind(Utc::now())
    .bind(dry_run)
    .bind(trigger)
    .bind(report.accounts)
    .bind(report.fired)
    .bind(report.created)
    .bind(report.closed)
    .bind(report.suppressed)
    .bind(errors)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests;
