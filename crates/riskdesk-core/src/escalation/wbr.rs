//! The weekly business review: open escalations with the actions agreed and the
//! decisions taken on them.

use super::*;

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
        "SELECT e.cta_id, a.id, a.name, a.arr_base_minor, h.severity_score, h.severity_level, s.trend_30, c.category, \
         x.name, o.name, e.criterion, e.reason, e.opened_at, a.renewal_date, e.linked_cta_id \
         FROM escalations e JOIN accounts a ON a.id = e.account_id JOIN ctas c ON c.id = e.cta_id \
         LEFT JOIN account_health h ON h.account = a.rowid LEFT JOIN health_state s ON s.account = a.rowid LEFT JOIN users x ON x.id = c.owner_id \
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
