//! The Cockpit: CTAs to work, filtered and ordered for one person, team or everyone.

use super::*;

crate::model::text_enum!(
    /// Whose CTAs the Cockpit shows.
    CtaScope { Mine => "mine", Team => "team", All => "all" }
);

/// The Cockpit's filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CockpitQuery {
    pub scope: CtaScope,
    /// Whose "mine" and "team" mean.
    pub user_id: Option<String>,
    pub cta_type: Option<CtaType>,
    pub priority: Option<Level>,
    /// Live (open, in progress, snoozed) when None.
    pub status: Option<CtaStatus>,
    pub flagged_only: bool,
    /// Matches the account name or the reason.
    pub search: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CockpitRow {
    #[sqlx(flatten)]
    pub cta: Cta,
    pub account_name: String,
    pub arr_base_minor: i64,
    pub owner_name: Option<String>,
    pub tasks_total: u32,
    pub tasks_done: u32,
    pub severity_level: Option<Level>,
}

/// The most CTAs the Cockpit lists at once; filters narrow a longer list.
pub const COCKPIT_LIMIT: u32 = 2_000;

/// CTAs for the Cockpit, highest priority first, then soonest due.
pub async fn cockpit(pool: &SqlitePool, q: &CockpitQuery) -> Result<Vec<CockpitRow>> {
    let columns: Vec<String> = CTA_COLUMNS
        .split(',')
        .map(|c| format!("c.{}", c.trim()))
        .collect();
    let mut qb = sqlx::QueryBuilder::new(format!(
        "SELECT {}, a.name AS account_name, a.arr_base_minor, u.name AS owner_name, \
         (SELECT COUNT(*) FROM cta_tasks t WHERE t.cta_id = c.id) AS tasks_total, \
         (SELECT COUNT(*) FROM cta_tasks t WHERE t.cta_id = c.id AND t.done_at IS NOT NULL) AS tasks_done, \
         h.severity_level \
         FROM ctas c JOIN accounts a ON a.id = c.account_id LEFT JOIN users u ON u.id = c.owner_id \
         LEFT JOIN account_health h ON h.account = a.rowid WHERE 1 = 1",
        columns.join(", ")
    ));
    match (q.scope, &q.user_id) {
        (CtaScope::All, _) => {}
        (_, None) => return Err(Error::invalid("cockpit.scope", "say who you are first")),
        (CtaScope::Mine, Some(user)) => {
            qb.push(" AND c.owner_id = ").push_bind(user.clone());
        }
        (CtaScope::Team, Some(user)) => {
            qb.push(" AND c.owner_id IN (SELECT id FROM users WHERE team_id = (SELECT team_id FROM users WHERE id = ")
                .push_bind(user.clone())
                .push(") UNION SELECT ")
                .push_bind(user.clone())
                .push(")");
        }
    }
    match q.status {
        Some(status) => {
            qb.push(" AND c.status = ").push_bind(status);
        }
        None => {
            qb.push(" AND c.status <> 'closed'");
        }
    }
    if let Some(t) = q.cta_type {
        qb.push(" AND c.type = ").push_bind(t);
    }
    if let Some(p) = q.priority {
        qb.push(" AND c.priority = ").push_bind(p);
    }
    if q.flagged_only {
        qb.push(" AND c.flagged = 1");
    }
    if let Some(text) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let like = format!("%{}%", crate::store::accounts::escape_like(text));
        qb.push(" AND (a.name LIKE ")
            .push_bind(like.clone())
            .push(" ESCAPE '\\' OR c.reason LIKE ")
            .push_bind(like)
            .push(" ESCAPE '\\')");
    }
    qb.push(
        " ORDER BY CASE c.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, \
         c.due_on IS NULL, c.due_on, a.arr_base_minor DESC, c.created_at LIMIT ",
    )
    .push_bind(COCKPIT_LIMIT);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}
