//! Running rules over accounts: evaluate, then create, close or suppress CTAs — or, in a
//! dry run, only say what would happen and why.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::{templates, AccountState, Action, CtaOwner, CtaType, RuleDefinition, Verdict};
use crate::cta::{self, NewCta, Playbook};
use crate::escalation::{EscalationCriteria, EscalationFacts};
use crate::model::{ExpansionPotential, Stage};
use crate::signals::Level;
use crate::store::reader::{parsed, Accounts};
use crate::store::{Span, Store, Tx};
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
    store.cached("rules", read_rules(store)).await
}

async fn read_rules(store: &Store) -> Result<Vec<Rule>> {
    let rows: Vec<(String, String, bool, i32, String)> =
        sqlx::query_as("SELECT id, name, enabled, version, definition FROM rules ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        for (name, definition) in templates::templates() {
            save_rule(store, None, &name, true, &definition).await?;
        }
        return Box::pin(read_rules(store)).await;
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

/// Rules name playbooks; a renamed playbook takes its rules along, in the same
/// transaction as the rename.
pub(crate) async fn rename_playbook(tx: &mut Tx, old: &str, new: &str) -> Result<()> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, name, definition FROM rules")
            .fetch_all(&mut **tx)
            .await?;
    for (id, name, json) in rows {
        let mut definition: RuleDefinition = serde_json::from_str(&json)
            .map_err(|e| Error::invalid(format!("rule {name}"), e.to_string()))?;
        let mut changed = false;
        for action in &mut definition.actions {
            let named = match action {
                Action::CreateCta {
                    playbook: Some(p), ..
                } => p,
                Action::StartDigitalPlaybook { playbook } => playbook,
                _ => continue,
            };
            if named == old {
                *named = new.to_string();
                changed = true;
            }
        }
        if changed {
            let json = serde_json::to_string(&definition)
                .map_err(|e| Error::invalid("rule", e.to_string()))?;
            sqlx::query("UPDATE rules SET definition = ?, version = version + 1, updated_at = ? WHERE id = ?")
                .bind(json)
                .bind(Utc::now())
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
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
    /// Leadership escalations opened by rules.
    pub escalated: u32,
    pub duration_ms: u32,
    pub started_at: DateTime<Utc>,
    /// What happened where, first `FIRINGS_KEPT` of them.
    pub firings: Vec<Firing>,
    /// Firings beyond `FIRINGS_KEPT`, counted but not listed.
    pub firings_left_out: u32,
    /// Each rule's count of firings, by what they did.
    pub by_rule: Vec<RuleCounts>,
    pub errors: Vec<String>,
}

/// What one rule did (or would do) in a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleCounts {
    pub rule: String,
    pub fired: u32,
    pub created: u32,
    pub already_open: u32,
    pub suppressed: u32,
    pub closed: u32,
}

const FIRINGS_KEPT: usize = 2_000;
const BATCH: usize = 400;
/// Accounts per batch when the whole book is read in account order, each batch one
/// transaction. (Writing 20,000 accounts' CTAs a transaction was measured: the rule run
/// went 3.0-3.2 -> 3.8-4.5 s, the reads waiting on the writes and the commits no cheaper.)
#[cfg(not(test))]
const BOOK_BATCH: usize = 5_000;
/// Small in tests, so a worked book is judged and written in many batches.
#[cfg(test)]
const BOOK_BATCH: usize = 64;

struct Loaded {
    name: String,
    owner_id: Option<String>,
    state: AccountState,
    /// An open escalation, or a de-escalation's quiet period until this day.
    escalation: Option<Option<NaiveDate>>,
}

impl Loaded {
    /// Whether a rule may open an escalation today (the criteria's rule).
    fn may_escalate(&self, today: NaiveDate) -> bool {
        match self.escalation {
            None => true,
            Some(Some(quiet_until)) => quiet_until <= today,
            Some(None) => false,
        }
    }
}

struct LiveCta {
    id: String,
    status: String,
    snoozed_until: Option<NaiveDate>,
    rule_id: Option<String>,
    owner_id: Option<String>,
}

/// Live CTAs by (account, type, reason).
type LiveMap = HashMap<(String, String, String), LiveCta>;

/// What the rules read about `ids`, on the store's bulk-read connection.
async fn load(
    store: &Store,
    ids: &[String],
    span: Span,
    today: NaiveDate,
) -> Result<(HashMap<String, Loaded>, LiveMap)> {
    let ids = ids.to_vec();
    store
        .read(move |conn| read_states(conn, &ids, span, today))
        .await
}

fn read_states(
    conn: &rusqlite::Connection,
    ids: &[String],
    span: Span,
    today: NaiveDate,
) -> rusqlite::Result<(HashMap<String, Loaded>, LiveMap)> {
    let accounts = Accounts::new(ids, span);
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut out: HashMap<String, Loaded> = HashMap::with_capacity(ids.len());
    accounts.each(
        conn,
        "SELECT a.id, a.name, a.owner_id, a.segment, a.stage, a.strategic, a.expansion_potential, a.arr_base_minor, a.renewal_date, \
         a.contract_start, h.score, h.band, h.trend_30, h.severity_score, a.stage_since, a.adopted_on, s.scores, h.severity_level, \
         u.active_users, u.licensed_seats \
         FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id \
         LEFT JOIN health_state s ON s.account_id = a.id \
         LEFT JOIN usage_weekly u ON u.account_id = a.id \
           AND u.week_start = (SELECT MAX(m.week_start) FROM usage_weekly m WHERE m.account_id = a.id) \
         WHERE a.id{accounts}",
        |r| {
            let id: String = r.get(0)?;
            // A range also holds accounts this device only mirrors.
            if !wanted.contains(id.as_str()) {
                return Ok(());
            }
            let stage: Stage = parsed(r, 4)?;
            let score: Option<f64> = r.get(10)?;
            let trend_30: Option<f64> = r.get(12)?;
            let renewal: NaiveDate = r.get(8)?;
            let contract: NaiveDate = r.get(9)?;
            let stage_since: Option<NaiveDate> = r.get(14)?;
            let adopted_on: Option<NaiveDate> = r.get(15)?;
            let change_pct = match (score, trend_30) {
                (Some(s), Some(t)) if s - t > 0.0 => Some(t / (s - t) * 100.0),
                _ => None,
            };
            let measures = r
                .get_ref(16)?
                .as_str_or_null()?
                .map(crate::health::history::decode_scores)
                .unwrap_or_default();
            let arr: i64 = r.get(7)?;
            // The latest usage week, two index seeks (not every week of the account).
            let usage: (Option<i64>, Option<i64>) = (r.get(18)?, r.get(19)?);
            let mut state = AccountState {
                health: score,
                band: r.get(11)?,
                health_change_30_pct: change_pct,
                severity: r.get(13)?,
                severity_level: match r.get_ref(17)?.as_str_or_null()? {
                    Some(_) => Some(parsed(r, 17)?),
                    None => None,
                },
                arr_major: arr as f64 / 100.0,
                days_to_renewal: (renewal - today).num_days(),
                days_since_contract: (today - contract).num_days(),
                segment: Some(parsed(r, 3)?),
                stage: Some(stage),
                days_in_stage: stage_since.map(|d| (today - d).num_days()),
                days_since_adopted: adopted_on.map(|d| (today - d).num_days()),
                // Settled here when known; accounts with usage data are judged below.
                adopted: match (adopted_on, stage) {
                    (Some(_), _) | (None, Stage::Adopting | Stage::Mature) => Some(true),
                    _ => None,
                },
                adoption_evidence: match adopted_on {
                    Some(on) => format!("adopted on {on}"),
                    None if matches!(stage, Stage::Adopting | Stage::Mature) => {
                        format!("stage {} (adoption day not known)", stage.as_str())
                    }
                    None => "adoption unknown: no usage data with licensed seats".into(),
                },
                strategic: r.get(5)?,
                expansion: Some(parsed::<ExpansionPotential>(r, 6)?),
                measures,
                ..Default::default()
            };
            if let (Some(active), Some(seats)) = usage {
                if seats > 0 {
                    let pct = active as f64 / seats as f64 * 100.0;
                    state.seat_utilization_pct = Some(pct);
                    // Usage with seats and no adoption recorded by the recompute: not adopted.
                    if state.adopted.is_none() {
                        state.adopted = Some(false);
                        state.adoption_evidence =
                            format!("not adopted: seat utilization {pct:.0} % in the latest week");
                    }
                }
            }
            out.insert(
                id,
                Loaded {
                    name: r.get(1)?,
                    owner_id: r.get(2)?,
                    state,
                    escalation: None,
                },
            );
            Ok(())
        },
    )?;
    accounts.each(
        conn,
        "SELECT account_id, kind, severity, summary FROM signals WHERE cleared_at IS NULL AND account_id{accounts}",
        |r| {
            if let Some(l) = out.get_mut(r.get_ref(0)?.as_str()?) {
                l.state
                    .signals
                    .push((parsed(r, 1)?, parsed(r, 2)?, r.get(3)?));
            }
            Ok(())
        },
    )?;
    accounts.each(
        conn,
        "SELECT account_id, closed_at IS NULL, quiet_until FROM escalations \
         WHERE (closed_at IS NULL OR quiet_until IS NOT NULL) AND account_id{accounts}",
        |r| {
            if let Some(l) = out.get_mut(r.get_ref(0)?.as_str()?) {
                let open: bool = r.get(1)?;
                let quiet: Option<NaiveDate> = r.get(2)?;
                l.escalation = match (open, l.escalation) {
                    (true, _) | (_, Some(None)) => Some(None),
                    (false, Some(Some(q))) => Some(quiet.max(Some(q))),
                    (false, None) => quiet.map(Some),
                };
            }
            Ok(())
        },
    )?;
    let mut live = HashMap::new();
    accounts.each(
        conn,
        "SELECT id, account_id, type, reason, status, snoozed_until, rule_id, owner_id FROM ctas WHERE status <> 'closed' AND account_id{accounts}",
        |r| {
            let account: String = r.get(1)?;
            if wanted.contains(account.as_str()) {
                live.insert(
                    (account, r.get(2)?, r.get(3)?),
                    LiveCta {
                        id: r.get(0)?,
                        status: r.get(4)?,
                        snoozed_until: r.get(5)?,
                        rule_id: r.get(6)?,
                        owner_id: r.get(7)?,
                    },
                );
            }
            Ok(())
        },
    )?;
    Ok((out, live))
}

/// Whether a digital playbook's CTA on this account needs a person: not in the tech-touch
/// lane, or an exception in it (see `priority::lane`).
fn needs_person(c: &crate::priority::PriorityConfig, s: &AccountState) -> bool {
    let Some(segment) = s.segment else {
        return true;
    };
    let (lane, _) = crate::priority::lane(
        c,
        segment,
        s.arr_major,
        s.severity_level.unwrap_or(Level::Low),
        s.expansion.unwrap_or(ExpansionPotential::None),
    );
    lane == "csm"
}

/// Runs every enabled rule over `ids` (every account when None).
pub async fn run(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    trigger: &str,
) -> Result<RunReport> {
    let (report, moved) = apply(store, ids, today, dry_run, trigger).await?;
    // New and closed CTAs and new escalations move their accounts in the worklist.
    if !moved.is_empty() {
        crate::priority::refresh(store, Some(moved), today).await?;
    }
    Ok(report)
}

/// `run` without the re-rank: the rules, then the escalation criteria; returns the
/// accounts whose live work changed, for a caller that ranks once.
pub(crate) async fn apply(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    trigger: &str,
) -> Result<(RunReport, Vec<String>)> {
    let rules: Vec<Rule> = rules(store)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .collect();
    // What crosses the escalation criteria goes to leadership, judged on what the rules
    // read (a dry run opens nothing).
    let criteria = match dry_run {
        false => Some(crate::escalation::criteria(store).await?).filter(|c| c.enabled),
        true => None,
    };
    let (report, touched) =
        run_rules(store, &rules, ids, today, dry_run, criteria.as_ref()).await?;
    let mut moved: Vec<String> = touched.into_iter().collect();
    moved.sort_unstable();
    if !dry_run {
        crate::crashpoint("rules.applied");
    }
    // Every edit, NPS response or sync page runs the rules for its accounts: the log keeps
    // those runs only when they changed someone's work (or failed), not one line per edit.
    let quiet = trigger == DATA_CHANGE && moved.is_empty() && report.errors.is_empty();
    if !quiet {
        log_run(store, &report, trigger).await?;
    }
    Ok((report, moved))
}

/// What a rule being edited would do across the book, before it is saved: a dry run
/// of that one rule, not written to the run log.
pub async fn preview(
    store: &Store,
    name: &str,
    definition: &RuleDefinition,
    today: NaiveDate,
) -> Result<RunReport> {
    if let problems @ [_, ..] = definition.problems().as_slice() {
        return Err(Error::invalid(
            format!("rule {}", name.trim()),
            problems.join("; "),
        ));
    }
    // A saved rule keeps its id, so "already open" and "close" see its own CTAs.
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM rules WHERE name = ?")
        .bind(name.trim())
        .fetch_optional(store.pool())
        .await?;
    let rule = Rule {
        id: id.unwrap_or_else(new_id),
        name: name.trim().to_string(),
        enabled: true,
        version: 0,
        definition: definition.clone(),
    };
    Ok(run_rules(store, &[rule], None, today, true, None).await?.0)
}

async fn run_rules(
    store: &Store,
    rules: &[Rule],
    ids: Option<Vec<String>>,
    today: NaiveDate,
    dry_run: bool,
    criteria: Option<&EscalationCriteria>,
) -> Result<(RunReport, HashSet<String>)> {
    let started = Instant::now();
    // Accounts whose CTAs this run created or closed.
    let mut touched = HashSet::new();
    let started_at = Utc::now();
    let playbooks: HashMap<String, Playbook> = cta::playbooks(store)
        .await?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
    let book = ids.is_none();
    let mut ids = crate::store::accounts::ids_or_local(store, ids).await?;
    // The whole book is read in account order, a large slice at a time.
    let (span, batch) = if book {
        ids.sort_unstable();
        (Span::Range, BOOK_BATCH)
    } else {
        (Span::List, BATCH)
    };
    let mut report = RunReport {
        dry_run,
        accounts: ids.len() as u32,
        ..Default::default()
    };
    report.by_rule = rules
        .iter()
        .map(|r| RuleCounts {
            rule: r.name.clone(),
            ..Default::default()
        })
        .collect();
    let keep = |report: &mut RunReport, f: Firing| {
        if let Some(c) = report.by_rule.iter_mut().find(|c| c.rule == f.rule) {
            match f.outcome {
                FiringOutcome::Create => c.created += 1,
                FiringOutcome::AlreadyOpen => c.already_open += 1,
                FiringOutcome::Suppressed => c.suppressed += 1,
                FiringOutcome::Close => c.closed += 1,
            }
            if f.outcome != FiringOutcome::Close {
                c.fired += 1;
            }
        }
        if report.firings.len() < FIRINGS_KEPT {
            report.firings.push(f);
        } else {
            report.firings_left_out += 1;
        }
    };
    // Who owns a digital playbook's CTA depends on the account's lane.
    let lanes = crate::priority::config(store).await?;
    // Category owners decide who gets an escalation a rule opens: make sure they exist.
    if !dry_run {
        crate::categories::list(store).await?;
    }
    // Where the time goes, for `RUST_LOG=riskdesk_core::rules=debug`.
    let mut took = [std::time::Duration::ZERO; 4];
    let mut lap: Instant;
    // The next batch is read while this one is judged and written.
    let mut batches =
        crate::store::ahead::Ahead::over(store, &ids, batch, move |store, chunk| async move {
            let read = load(&store, &chunk, span, today).await?;
            Ok((chunk, read))
        });
    while let Some(read) = {
        lap = Instant::now();
        batches.next().await
    } {
        let (chunk, (mut loaded, mut live)) = read?;
        let chunk = &chunk;
        took[0] += lap.elapsed();
        lap = Instant::now();
        for (account, cta_type, reason) in live.keys() {
            if let (Some(l), Ok(t)) = (loaded.get_mut(account), cta_type.parse::<CtaType>()) {
                l.state.live_ctas.push((t, reason.clone()));
            }
        }
        // What this batch writes, gathered first: a batch that changes nothing (most of a
        // re-run) never takes the write lock.
        let mut reopening: Vec<String> = Vec::new();
        let mut closing: Vec<(String, String)> = Vec::new();
        // CTAs this chunk opens, written together at its end: (id, CTA, timeline note).
        let mut opening: Vec<(String, NewCta)> = Vec::new();
        let mut opening_notes: Vec<Option<String>> = Vec::new();
        // Escalations rules open: (account, reason with the rule's evidence).
        let mut escalating: Vec<(String, String)> = Vec::new();
        // Escalations the criteria open: (account, criterion, the facts that crossed it).
        let mut crossing: Vec<(String, &'static str, String)> = Vec::new();
        // Digital CTAs whose owner follows the account's lane: (CTA, owner).
        let mut handing: Vec<(String, Option<String>)> = Vec::new();
        // A digital playbook runs itself: its CTA belongs to the tech-touch lane (no
        // person) unless the account is an exception a person must take.
        for ((account_id, cta_type, _), c) in live.iter() {
            if cta_type != CtaType::Digital.as_str() || c.rule_id.is_none() || dry_run {
                continue;
            }
            let Some(account) = loaded.get(account_id) else {
                continue;
            };
            let wanted = if needs_person(&lanes, &account.state) {
                account.owner_id.clone()
            } else {
                None
            };
            // Someone who took the CTA by hand keeps it.
            let lane_owned = c.owner_id.is_none() || c.owner_id == account.owner_id;
            if lane_owned && c.owner_id != wanted {
                handing.push((c.id.clone(), wanted));
                touched.insert(account_id.clone());
            }
        }
        for id in chunk {
            let Some(account) = loaded.get_mut(id) else {
                continue;
            };
            let person = needs_person(&lanes, &account.state);
            for rule in rules {
                // Words the evidence only where the rule fires (most accounts it does not).
                let verdict = if rule.definition.condition.holds(&account.state) {
                    rule.definition.condition.evaluate(&account.state)
                } else {
                    Verdict::default()
                };
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
                    // An escalation-type CTA from a rule saved before rules could escalate
                    // opens a real escalation too.
                    let escalation = match action {
                        Action::EscalateToLeadership { reason } => Some(reason.clone()),
                        Action::CreateCta {
                            cta_type: CtaType::Escalation,
                            reason,
                            ..
                        } => Some(reason.clone()),
                        _ => None,
                    };
                    if let Some(reason) = escalation {
                        if !verdict.holds {
                            continue;
                        }
                        report.fired += 1;
                        let outcome = if account.may_escalate(today) {
                            report.escalated += 1;
                            let mut why = format!("rule “{}”: {reason}", rule.name);
                            if !verdict.evidence.is_empty() {
                                why.push_str(&format!(" ({})", verdict.evidence.join("; ")));
                            }
                            escalating.push((id.clone(), why));
                            // One per account: a later rule sees it open.
                            account.escalation = Some(None);
                            FiringOutcome::Create
                        } else {
                            FiringOutcome::AlreadyOpen
                        };
                        keep(
                            &mut report,
                            Firing {
                                rule: rule.name.clone(),
                                account_id: id.clone(),
                                account_name: account.name.clone(),
                                outcome,
                                cta_type: CtaType::Escalation,
                                reason,
                                evidence: verdict.evidence.clone(),
                            },
                        );
                        continue;
                    }
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
                                    reopening.push(c.id.clone());
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
                                        CtaOwner::AccountOwner
                                            if cta_type == CtaType::Digital && !person =>
                                        {
                                            None
                                        }
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
                                        owner_id: owner_id.clone(),
                                        due_on: Some(today + Duration::days(due_in_days as i64)),
                                        rule_id: Some(rule.id.clone()),
                                        evidence,
                                        category: category.clone(),
                                        playbook: pb,
                                    };
                                    // Live from here on, so a later rule sees it open.
                                    let cta_id = new_id();
                                    live.insert(
                                        key.clone(),
                                        LiveCta {
                                            id: cta_id.clone(),
                                            status: "open".into(),
                                            snoozed_until: None,
                                            rule_id: Some(rule.id.clone()),
                                            owner_id: owner_id.clone(),
                                        },
                                    );
                                    opening.push((cta_id, new));
                                    opening_notes.push(note.clone());
                                }
                            }
                        }
                    } else if let (Some(outcome), Some(c)) = (&close_outcome, live.get(&key)) {
                        // Only what this rule opened, and never a snoozed CTA: someone decided to wait.
                        if c.rule_id.as_deref() == Some(rule.id.as_str()) && c.status != "snoozed" {
                            report.closed += 1;
                            // Why it no longer holds.
                            let evidence =
                                rule.definition.condition.evaluate(&account.state).evidence;
                            keep(
                                &mut report,
                                Firing {
                                    evidence,
                                    ..firing(FiringOutcome::Close)
                                },
                            );
                            if !dry_run {
                                closing.push((c.id.clone(), outcome.clone()));
                                touched.insert(id.clone());
                                live.remove(&key);
                            }
                        }
                    }
                }
            }
            // The criteria after the rules: an escalation a rule opened counts as open.
            if let Some(c) = criteria.filter(|c| account.state.arr_major >= c.arr_floor) {
                if account.may_escalate(today) {
                    let facts = EscalationFacts {
                        arr: account.state.arr_major,
                        strategic: account.state.strategic,
                        severity: account.state.severity,
                        signals: account
                            .state
                            .signals
                            .iter()
                            .map(|(k, l, _)| (*k, *l))
                            .collect(),
                    };
                    if let Some((criterion, why)) = crate::escalation::crossed(c, &facts) {
                        crossing.push((id.clone(), criterion, why));
                        account.escalation = Some(None);
                    }
                }
            }
        }
        took[1] += lap.elapsed();
        lap = Instant::now();
        if dry_run
            || (opening.is_empty()
                && closing.is_empty()
                && reopening.is_empty()
                && escalating.is_empty()
                && crossing.is_empty()
                && handing.is_empty())
        {
            continue;
        }
        let mut tx = store.write().await?;
        cta::reassign(&mut tx, &handing).await?;
        cta::wake(&mut tx, &reopening).await?;
        for (id, outcome) in &closing {
            cta::close(&mut tx, id, outcome).await?;
        }
        if !opening.is_empty() {
            let landed = cta::create_many(&mut tx, &opening, today).await?;
            let notes: Vec<crate::timeline::SystemEvent> = opening
                .iter()
                .zip(&opening_notes)
                .filter(|((i, _), _)| landed.contains(i))
                .filter_map(|((_, n), note)| {
                    note.as_deref().map(|t| crate::timeline::SystemEvent {
                        account_id: n.account_id.as_str(),
                        cta_id: None,
                        body: t.to_string(),
                    })
                })
                .collect();
            crate::timeline::system_events(&mut tx, &notes).await?;
            for (i, n) in &opening {
                if landed.contains(i) {
                    touched.insert(n.account_id.clone());
                }
            }
        }
        // After the batch's CTAs, so an escalation links the risk CTA a rule just opened.
        let asked: Vec<crate::escalation::Asked> = escalating
            .iter()
            .map(|(account, why)| crate::escalation::Asked {
                account_id: account,
                criterion: "rule",
                reason: why,
                by: None,
            })
            .chain(
                crossing
                    .iter()
                    .map(|(account, criterion, why)| crate::escalation::Asked {
                        account_id: account,
                        criterion,
                        reason: why,
                        by: None,
                    }),
            )
            .collect();
        let opened = crate::escalation::open_many(&mut tx, &asked, today).await?;
        touched.extend(opened.into_iter().map(|(account, _)| account));
        took[2] += lap.elapsed();
        lap = Instant::now();
        tx.commit().await?;
        took[3] += lap.elapsed();
    }
    let _ = lap;
    tracing::debug!(load = ?took[0], evaluate = ?took[1], create = ?took[2], commit = ?took[3], "rule run over {} accounts", ids.len());
    report.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
    report.started_at = started_at;
    Ok((report, touched))
}

async fn log_run(store: &Store, report: &RunReport, trigger: &str) -> Result<()> {
    let errors = serde_json::to_string(&report.errors)
        .map_err(|e| Error::invalid("run log", e.to_string()))?;
    let mut tx = store.write().await?;
    sqlx::query(
        "INSERT INTO rule_runs (id, started_at, finished_at, dry_run, trigger, accounts, fired, created, closed, suppressed, errors) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new_id())
    .bind(report.started_at)
    .bind(report.started_at + Duration::milliseconds(report.duration_ms as i64))
    .bind(report.dry_run)
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
    Ok(())
}

/// One line of the run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunLogEntry {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub dry_run: bool,
    pub trigger: String,
    pub accounts: u32,
    pub fired: u32,
    pub created: u32,
    pub closed: u32,
    pub suppressed: u32,
    #[sqlx(json)]
    pub errors: Vec<String>,
}

/// The newest runs first.
pub async fn run_log(pool: &SqlitePool, limit: u32) -> Result<Vec<RunLogEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, started_at, finished_at, dry_run, trigger, accounts, fired, created, closed, suppressed, errors \
         FROM rule_runs ORDER BY started_at DESC, rowid DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Turns a rule on or off; a disabled rule neither fires nor closes anything.
pub async fn set_enabled(store: &Store, id: &str, enabled: bool) -> Result<()> {
    let mut tx = store.write().await?;
    let done = sqlx::query("UPDATE rules SET enabled = ?, updated_at = ? WHERE id = ?")
        .bind(enabled)
        .bind(Utc::now())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "rule",
            id: id.to_string(),
        });
    }
    tx.commit().await?;
    Ok(())
}

/// How often the whole book is run through the rules, besides the runs after each
/// recompute. 0 turns the schedule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleSchedule {
    pub every_hours: u32,
}

impl Default for RuleSchedule {
    fn default() -> Self {
        RuleSchedule { every_hours: 6 }
    }
}

const SCHEDULE: &str = "rules.schedule";
/// The trigger name scheduled runs are logged under.
pub const SCHEDULED: &str = "schedule";
/// The trigger of runs over the accounts a data change touched; every other run is a
/// full run.
pub const DATA_CHANGE: &str = "data_change";

pub async fn schedule(pool: &SqlitePool) -> Result<RuleSchedule> {
    crate::config::get(pool, SCHEDULE).await
}

pub async fn save_schedule(store: &Store, s: RuleSchedule) -> Result<()> {
    if s.every_hours > 24 * 7 {
        return Err(Error::invalid(
            "rules.schedule.every_hours",
            format!("{} is more than a week", s.every_hours),
        ));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SCHEDULE, &s).await?;
    Ok(tx.commit().await?)
}

/// Whether a scheduled full run is due at `now`: on, and the last full (non-dry) run of
/// any trigger is older than the interval.
pub async fn scheduled_run_due(pool: &SqlitePool, now: DateTime<Utc>) -> Result<bool> {
    let s = schedule(pool).await?;
    if s.every_hours == 0 {
        return Ok(false);
    }
    let last: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT MAX(started_at) FROM rule_runs WHERE dry_run = 0 AND trigger <> ?",
    )
    .bind(DATA_CHANGE)
    .fetch_one(pool)
    .await?;
    Ok(last.is_none_or(|t| now - t >= Duration::hours(s.every_hours as i64)))
}

#[cfg(test)]
mod tests;
