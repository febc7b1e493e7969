//! Leadership escalation: criteria that open an escalation for the executive who owns the
//! risk's category, escalating and de-escalating by hand, the actions and decisions of the
//! weekly business review, and how each escalation ended.

pub mod refinement;

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::cta::CtaType;
use crate::cta::{self, NewCta};
use crate::signals::{Level, SignalKind};
use crate::store::{in_list, Store, Tx};
use crate::{new_id, timeline, Error, Result};

/// When an account goes to leadership, edited in Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EscalationCriteria {
    pub enabled: bool,
    /// Severity score at or above which an account is escalated.
    pub severity_threshold: f64,
    /// No criterion escalates an account below this ARR (base currency, major units).
    pub arr_floor: f64,
    pub strategic_sponsor_lost: bool,
    /// A High-severity usage drop signal.
    pub steep_usage_drop: bool,
    pub recurring_issues: bool,
    /// After a de-escalation, the criteria leave the account alone this many days.
    pub quiet_days: u32,
}

impl Default for EscalationCriteria {
    fn default() -> Self {
        EscalationCriteria {
            enabled: true,
            severity_threshold: 50.0,
            arr_floor: 100_000.0,
            strategic_sponsor_lost: true,
            steep_usage_drop: true,
            recurring_issues: true,
            quiet_days: 30,
        }
    }
}

impl EscalationCriteria {
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(0.0..=100.0).contains(&self.severity_threshold) {
            out.push(format!(
                "severity_threshold: {} is not between 0 and 100",
                self.severity_threshold
            ));
        }
        if !(self.arr_floor >= 0.0 && self.arr_floor.is_finite()) {
            out.push("arr_floor: must not be negative".into());
        }
        if self.quiet_days > 365 {
            out.push(format!(
                "quiet_days: {} is more than a year",
                self.quiet_days
            ));
        }
        out
    }
}

const CONFIG_KEY: &str = "escalation";

pub async fn criteria(pool: &SqlitePool) -> Result<EscalationCriteria> {
    crate::config::get(pool, CONFIG_KEY).await
}

pub async fn save_criteria(store: &Store, c: &EscalationCriteria) -> Result<()> {
    if let problems @ [_, ..] = c.problems().as_slice() {
        return Err(Error::invalid("escalation criteria", problems.join("; ")));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, CONFIG_KEY, c).await?;
    Ok(tx.commit().await?)
}

crate::model::text_enum!(
    /// How an escalation ended.
    EscalationOutcome { Saved => "saved", Downsell => "downsell", Churned => "churned", Resolved => "resolved", DeEscalated => "de_escalated" }
);

/// What the criteria see of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationFacts {
    pub arr: f64,
    pub strategic: bool,
    pub severity: Option<f64>,
    pub signals: Vec<(SignalKind, Level)>,
}

fn money(v: f64) -> String {
    crate::money::format_minor(v.round() as i64, "USD", 0)
}

/// The first criterion the account crosses, with the facts that crossed it.
pub fn crossed(c: &EscalationCriteria, f: &EscalationFacts) -> Option<(&'static str, String)> {
    if !c.enabled || f.arr < c.arr_floor {
        return None;
    }
    let floor = format!("ARR {} ≥ {}", money(f.arr), money(c.arr_floor));
    if let Some(s) = f.severity.filter(|s| *s >= c.severity_threshold) {
        return Some((
            "severity",
            format!("severity {s:.0} ≥ {:.0}; {floor}", c.severity_threshold),
        ));
    }
    let has = |kind: SignalKind, min: Level| {
        f.signals
            .iter()
            .any(|(k, l)| *k == kind && l.rank() >= min.rank())
    };
    if c.strategic_sponsor_lost && f.strategic && has(SignalKind::SponsorLeft, Level::Low) {
        return Some((
            "strategic_sponsor_lost",
            format!("strategic account whose sponsor left; {floor}"),
        ));
    }
    if c.steep_usage_drop && has(SignalKind::UsageDrop, Level::High) {
        return Some((
            "steep_usage_drop",
            format!("steep usage drop (High); {floor}"),
        ));
    }
    if c.recurring_issues && has(SignalKind::RecurringIssues, Level::Medium) {
        return Some((
            "recurring_issues",
            format!("recurring product issues; {floor}"),
        ));
    }
    None
}

pub fn criterion_label(criterion: &str) -> &'static str {
    match criterion {
        "severity" => "Severity over threshold",
        "strategic_sponsor_lost" => "Strategic account, sponsor lost",
        "steep_usage_drop" => "Steep usage drop",
        "recurring_issues" => "Recurring product issues",
        _ => "Escalated by hand",
    }
}

/// The executive who owns the account's risk category, else the VP Customer Success,
/// else any executive.
async fn owning_executive(tx: &mut Tx, category: Option<&str>) -> Result<Option<String>> {
    if let Some(category) = category {
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner_id FROM risk_categories WHERE name = ?")
                .bind(category)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(Some(owner)) = owner {
            return Ok(Some(owner));
        }
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'executive' ORDER BY title <> 'VP Customer Success', name LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

struct Opening<'a> {
    account_id: &'a str,
    criterion: &'a str,
    reason: &'a str,
    by: Option<&'a str>,
    at: DateTime<Utc>,
    /// The business day it is opened on (a run's `today`), for its evidence and due date.
    day: NaiveDate,
}

/// Opens an escalation: an escalation CTA for the owning executive, linked to the CSM's
/// risk CTA. Returns None when the account already has an open escalation.
async fn open(tx: &mut Tx, o: Opening<'_>) -> Result<Option<String>> {
    let open: Option<String> = sqlx::query_scalar(
        "SELECT cta_id FROM escalations WHERE account_id = ? AND closed_at IS NULL",
    )
    .bind(o.account_id)
    .fetch_optional(&mut **tx)
    .await?;
    if open.is_some() {
        return Ok(None);
    }
    type Row = (i64, Option<f64>, Option<String>, Option<String>);
    let (arr, severity, category, linked): Row = sqlx::query_as(
        "SELECT a.arr_base_minor, h.severity_score, \
         (SELECT c.category FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.category IS NOT NULL \
            ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END LIMIT 1), \
         (SELECT c.id FROM ctas c WHERE c.account_id = a.id AND c.status <> 'closed' AND c.type = 'risk' \
            ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, c.created_at LIMIT 1) \
         FROM accounts a LEFT JOIN account_health h ON h.account_id = a.id WHERE a.id = ?",
    )
    .bind(o.account_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound {
        entity: "account",
        id: o.account_id.to_string(),
    })?;
    let owner = owning_executive(tx, category.as_deref()).await?;
    let today = o.day;
    let new = NewCta {
        account_id: o.account_id.to_string(),
        cta_type: CtaType::Escalation,
        reason: format!("Escalation: {}", criterion_label(o.criterion)),
        priority: Level::High,
        owner_id: owner.clone(),
        due_on: Some(today + Duration::days(7)),
        rule_id: None,
        evidence: vec![format!("escalated on {today} because {}", o.reason)],
        category: category.clone(),
        playbook: None,
    };
    let Some(cta_id) = cta::create(tx, &new, today).await? else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO escalations (cta_id, account_id, linked_cta_id, criterion, reason, escalated_by, severity_at_open, arr_at_open_minor, opened_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&cta_id)
    .bind(o.account_id)
    .bind(&linked)
    .bind(o.criterion)
    .bind(o.reason)
    .bind(o.by)
    .bind(severity)
    .bind(arr)
    .bind(o.at)
    .execute(&mut **tx)
    .await?;
    let exec: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(&owner)
        .fetch_optional(&mut **tx)
        .await?;
    timeline::system_event(
        tx,
        o.account_id,
        Some(&cta_id),
        &format!(
            "Escalated to {}: {}",
            exec.as_deref().unwrap_or("leadership"),
            o.reason
        ),
    )
    .await?;
    Ok(Some(cta_id))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EscalationRun {
    pub checked: u32,
    pub opened: u32,
}

type FactsRow = (String, i64, bool, Option<f64>);

/// Checks `ids` (every account when None) against the criteria and escalates the ones
/// that cross one, at most one open escalation per account, none while a de-escalation
/// keeps it quiet.
pub async fn run(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
) -> Result<EscalationRun> {
    let (report, escalated) = check(store, ids, today).await?;
    // An open escalation counts as live risk work: re-rank the accounts that got one.
    if !escalated.is_empty() {
        crate::priority::refresh(store, Some(escalated), today).await?;
    }
    Ok(report)
}

/// `run` without the re-rank: the accounts escalated, for a caller that ranks once.
pub(crate) async fn check(
    store: &Store,
    ids: Option<Vec<String>>,
    today: NaiveDate,
) -> Result<(EscalationRun, Vec<String>)> {
    let c = criteria(store.pool()).await?;
    let ids = crate::store::accounts::ids_or_local(store.pool(), ids).await?;
    let mut report = EscalationRun {
        checked: ids.len() as u32,
        opened: 0,
    };
    let mut escalated: Vec<String> = Vec::new();
    if !c.enabled {
        return Ok((report, escalated));
    }
    // Category owners decide who gets an escalation: make sure the list exists.
    crate::categories::list(store).await?;
    for chunk in ids.chunks(2_000) {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT a.id, a.arr_base_minor, a.strategic, h.severity_score FROM accounts a \
             LEFT JOIN account_health h ON h.account_id = a.id WHERE a.arr_base_minor >= ",
        );
        qb.push_bind((c.arr_floor * 100.0).round() as i64)
            .push(" AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.account_id = a.id AND (e.closed_at IS NULL OR e.quiet_until > ")
            .push_bind(today)
            .push(")) AND a.id");
        in_list(&mut qb, chunk);
        let rows: Vec<FactsRow> = qb.build_query_as().fetch_all(store.pool()).await?;
        if rows.is_empty() {
            continue;
        }
        let candidates: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let mut sq = sqlx::QueryBuilder::new(
            "SELECT account_id, kind, severity FROM signals WHERE cleared_at IS NULL AND account_id",
        );
        in_list(&mut sq, &candidates);
        let signals: Vec<(String, SignalKind, Level)> =
            sq.build_query_as().fetch_all(store.pool()).await?;
        let mut by_account: HashMap<String, Vec<(SignalKind, Level)>> = HashMap::new();
        for (account, kind, level) in signals {
            by_account.entry(account).or_default().push((kind, level));
        }
        let crossing: Vec<(String, &'static str, String)> = rows
            .into_iter()
            .filter_map(|(id, arr, strategic, severity)| {
                let facts = EscalationFacts {
                    arr: arr as f64 / 100.0,
                    strategic,
                    severity,
                    signals: by_account.remove(&id).unwrap_or_default(),
                };
                crossed(&c, &facts).map(|(criterion, reason)| (id, criterion, reason))
            })
            .collect();
        // Most batches cross nothing: no write transaction for them.
        if crossing.is_empty() {
            continue;
        }
        let mut tx = store.write().await?;
        for (id, criterion, reason) in crossing {
            let opened = open(
                &mut tx,
                Opening {
                    account_id: &id,
                    criterion,
                    reason: &reason,
                    by: None,
                    at: Utc::now(),
                    day: today,
                },
            )
            .await?;
            if opened.is_some() {
                report.opened += 1;
                escalated.push(id);
            }
        }
        tx.commit().await?;
    }
    Ok((report, escalated))
}

/// Whether this CTA is an open escalation (closed only through `close` or `de_escalate`).
pub async fn is_open(pool: &SqlitePool, cta_id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM escalations WHERE cta_id = ? AND closed_at IS NULL",
    )
    .bind(cta_id)
    .fetch_one(pool)
    .await?
        > 0)
}

/// A CSM escalates an account by hand, with a reason.
pub async fn escalate(
    store: &Store,
    account_id: &str,
    reason: &str,
    by: Option<&str>,
) -> Result<String> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "escalation.reason",
            "say why leadership is needed",
        ));
    }
    crate::categories::list(store).await?;
    let mut tx = store.write().await?;
    let id = open(
        &mut tx,
        Opening {
            account_id,
            criterion: "manual",
            reason: reason.trim(),
            by,
            at: Utc::now(),
            day: Utc::now().date_naive(),
        },
    )
    .await?
    .ok_or_else(|| Error::invalid("escalation", "this account is already escalated"))?;
    tx.commit().await?;
    crate::priority::refresh(
        store,
        Some(vec![account_id.to_string()]),
        Utc::now().date_naive(),
    )
    .await?;
    Ok(id)
}

async fn end(
    tx: &mut Tx,
    cta_id: &str,
    outcome: EscalationOutcome,
    arr_retained_minor: Option<i64>,
    quiet_until: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> Result<String> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT account_id, arr_at_open_minor FROM escalations WHERE cta_id = ? AND closed_at IS NULL",
    )
    .bind(cta_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((account_id, arr)) = row else {
        return Err(Error::NotFound {
            entity: "open escalation",
            id: cta_id.to_string(),
        });
    };
    let retained = match (outcome, arr_retained_minor) {
        (EscalationOutcome::Downsell, Some(r)) if r > 0 && r < arr => Some(r),
        (EscalationOutcome::Downsell, _) => {
            return Err(Error::invalid(
                "escalation.arr_retained",
                format!(
                    "a downsell keeps some ARR: more than 0 and less than {}",
                    crate::money::format_minor(arr, "USD", 2)
                ),
            ))
        }
        (EscalationOutcome::Saved, _) => Some(arr),
        (EscalationOutcome::Churned, _) => Some(0),
        _ => None,
    };
    sqlx::query("UPDATE escalations SET closed_at = ?, outcome = ?, arr_retained_minor = ?, quiet_until = ? WHERE cta_id = ?")
        .bind(at)
        .bind(outcome)
        .bind(retained)
        .bind(quiet_until)
        .bind(cta_id)
        .execute(&mut **tx)
        .await?;
    let cta_outcome = match outcome {
        EscalationOutcome::DeEscalated => "no_longer_relevant",
        other => other.as_str(),
    };
    cta::close(tx, cta_id, cta_outcome).await?;
    Ok(account_id)
}

/// Closes an escalation with its outcome; a downsell says how much ARR was kept.
pub async fn close(
    store: &Store,
    cta_id: &str,
    outcome: EscalationOutcome,
    arr_retained_minor: Option<i64>,
) -> Result<()> {
    if outcome == EscalationOutcome::DeEscalated {
        return Err(Error::invalid("escalation.outcome", "de-escalate instead"));
    }
    let mut tx = store.write().await?;
    let account = end(
        &mut tx,
        cta_id,
        outcome,
        arr_retained_minor,
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    // A churn or a save changes the account's place in the worklist and dashboards.
    crate::priority::refresh(store, Some(vec![account]), Utc::now().date_naive()).await
}

/// Hands an escalation back to the CSM; the criteria leave the account alone for the
/// configured quiet days.
pub async fn de_escalate(
    store: &Store,
    cta_id: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::invalid(
            "escalation.reason",
            "say why leadership is no longer needed",
        ));
    }
    let quiet = criteria(store.pool()).await?.quiet_days;
    let mut tx = store.write().await?;
    let account = end(
        &mut tx,
        cta_id,
        EscalationOutcome::DeEscalated,
        None,
        Some(today + Duration::days(quiet as i64)),
        Utc::now(),
    )
    .await?;
    timeline::system_event(
        &mut tx,
        &account,
        Some(cta_id),
        &format!("De-escalated: {}", reason.trim()),
    )
    .await?;
    tx.commit().await?;
    crate::priority::refresh(store, Some(vec![account]), today).await
}

/// What leadership agreed to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgreedAction {
    pub id: String,
    pub kind: String,
    pub description: String,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub done_at: Option<DateTime<Utc>>,
}

pub const ACTION_KINDS: [&str; 5] = [
    "executive_outreach",
    "product_intervention",
    "commercial_concession",
    "services",
    "other",
];

pub async fn add_action(
    store: &Store,
    escalation_id: &str,
    kind: &str,
    description: &str,
    owner_id: Option<&str>,
    due_on: Option<NaiveDate>,
) -> Result<String> {
    if !ACTION_KINDS.contains(&kind) {
        return Err(Error::invalid(
            "action.kind",
            format!("'{kind}' is not one of {}", ACTION_KINDS.join(", ")),
        ));
    }
    if description.trim().is_empty() {
        return Err(Error::invalid("action.description", "say what was agreed"));
    }
    let mut tx = store.write().await?;
    ensure_open(&mut tx, escalation_id).await?;
    let id = new_id();
    sqlx::query("INSERT INTO escalation_actions (id, escalation_id, kind, description, owner_id, due_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(escalation_id)
        .bind(kind)
        .bind(description.trim())
        .bind(owner_id)
        .bind(due_on)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn set_action_done(store: &Store, action_id: &str, done: bool) -> Result<()> {
    let mut tx = store.write().await?;
    let n = sqlx::query("UPDATE escalation_actions SET done_at = ? WHERE id = ?")
        .bind(done.then(Utc::now))
        .bind(action_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound {
            entity: "agreed action",
            id: action_id.to_string(),
        });
    }
    Ok(tx.commit().await?)
}

async fn ensure_open(tx: &mut Tx, escalation_id: &str) -> Result<()> {
    let open: Option<Option<String>> =
        sqlx::query_scalar("SELECT closed_at FROM escalations WHERE cta_id = ?")
            .bind(escalation_id)
            .fetch_optional(&mut **tx)
            .await?;
    match open {
        None => Err(Error::NotFound {
            entity: "escalation",
            id: escalation_id.to_string(),
        }),
        Some(Some(_)) => Err(Error::invalid("escalation", "it is closed")),
        Some(None) => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Decision {
    pub id: String,
    pub decided_at: DateTime<Utc>,
    pub author_name: Option<String>,
    pub text: String,
}

/// Records a decision taken on an escalation (in the WBR, typically).
pub async fn add_decision(
    store: &Store,
    escalation_id: &str,
    text: &str,
    author: Option<&str>,
) -> Result<String> {
    if text.trim().is_empty() {
        return Err(Error::invalid("decision.text", "write the decision"));
    }
    let mut tx = store.write().await?;
    ensure_open(&mut tx, escalation_id).await?;
    let id = new_id();
    sqlx::query("INSERT INTO escalation_decisions (id, escalation_id, decided_at, author_id, text) VALUES (?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(escalation_id)
        .bind(Utc::now())
        .bind(author)
        .bind(text.trim())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// One open escalation as the weekly business review shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WbrItem {
    pub cta_id: String,
    pub account_id: String,
    pub account_name: String,
    pub arr_base_minor: i64,
    pub severity_score: Option<f64>,
    pub severity_level: Option<Level>,
    pub trend_30: Option<f64>,
    pub category: Option<String>,
    pub executive: Option<String>,
    pub csm: Option<String>,
    pub criterion: String,
    pub reason: String,
    pub days_open: i64,
    pub renewal_date: NaiveDate,
    /// The newest weekly update on the escalation or the CSM's risk CTA.
    pub update: Option<crate::cta::RiskUpdate>,
    pub actions: Vec<AgreedAction>,
    pub decisions: Vec<Decision>,
}

type WbrRow = (
    String,
    String,
    String,
    i64,
    Option<f64>,
    Option<Level>,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    DateTime<Utc>,
    NaiveDate,
    Option<String>,
);

/// Every open escalation, the most ARR at stake first.
pub async fn wbr(pool: &SqlitePool, today: NaiveDate) -> Result<Vec<WbrItem>> {
    let rows: Vec<WbrRow> = sqlx::query_as(
        "SELECT e.cta_id, a.id, a.name, a.arr_base_minor, h.severity_score, h.severity_level, h.trend_30, c.category, \
         x.name, o.name, e.criterion, e.reason, e.opened_at, a.renewal_date, e.linked_cta_id \
         FROM escalations e JOIN accounts a ON a.id = e.account_id JOIN ctas c ON c.id = e.cta_id \
         LEFT JOIN account_health h ON h.account_id = a.id LEFT JOIN users x ON x.id = c.owner_id \
         LEFT JOIN users o ON o.id = a.owner_id WHERE e.closed_at IS NULL ORDER BY a.arr_base_minor DESC, a.name",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (
        cta_id,
        account_id,
        account_name,
        arr,
        sev,
        level,
        trend,
        category,
        exec,
        csm,
        criterion,
        reason,
        opened,
        renewal,
        linked,
    ) in rows
    {
        let mut updates = cta::updates_of(pool, &cta_id).await?;
        if let Some(linked) = &linked {
            updates.extend(cta::updates_of(pool, linked).await?);
        }
        updates.sort_by_key(|u| std::cmp::Reverse(u.created_at));
        let actions = sqlx::query_as(
            "SELECT a.id, a.kind, a.description, a.owner_id, u.name AS owner_name, a.due_on, a.done_at FROM escalation_actions a \
             LEFT JOIN users u ON u.id = a.owner_id WHERE a.escalation_id = ? ORDER BY a.done_at IS NOT NULL, a.due_on, a.created_at",
        )
        .bind(&cta_id)
        .fetch_all(pool)
        .await?;
        let decisions = sqlx::query_as(
            "SELECT d.id, d.decided_at, u.name AS author_name, d.text FROM escalation_decisions d \
             LEFT JOIN users u ON u.id = d.author_id WHERE d.escalation_id = ? ORDER BY d.decided_at DESC",
        )
        .bind(&cta_id)
        .fetch_all(pool)
        .await?;
        out.push(WbrItem {
            days_open: (today - opened.date_naive()).num_days(),
            cta_id,
            account_id,
            account_name,
            arr_base_minor: arr,
            severity_score: sev,
            severity_level: level,
            trend_30: trend,
            category,
            executive: exec,
            csm,
            criterion: criterion_label(&criterion).to_string(),
            reason,
            renewal_date: renewal,
            update: updates.into_iter().next(),
            actions,
            decisions,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
