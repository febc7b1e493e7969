//! The worklist: accounts with open risk, ranked by priority, for me, my team or everyone.

use crate::Store;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::cta::CtaScope;
use crate::model::Segment;
use crate::priority::PriorityExplanation;
use crate::signals::{Level, SignalKind};
use crate::store::in_list;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorklistQuery {
    pub scope: CtaScope,
    /// Whose "mine" and "team" mean; set by the shell from the current user.
    pub user_id: Option<String>,
    pub owner_id: Option<String>,
    pub segment: Option<Segment>,
    pub category: Option<String>,
    pub severity: Option<Level>,
    /// Renewing within this many days (overdue renewals included).
    pub renewal_within_days: Option<u32>,
    pub flagged_only: bool,
    /// Tech-touch accounts stay in their lane unless asked for.
    pub include_digital: bool,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorklistRow {
    #[sqlx(skip)]
    pub rank: u32,
    pub account_id: String,
    pub name: String,
    pub arr_minor: i64,
    pub currency: String,
    pub segment: Segment,
    pub strategic: bool,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub renewal_date: NaiveDate,
    pub health: Option<f64>,
    pub band: Option<String>,
    pub band_color: Option<String>,
    pub trend_30: Option<f64>,
    pub severity_score: Option<f64>,
    pub severity_level: Option<Level>,
    pub score: f64,
    pub lane: String,
    pub category: Option<String>,
    pub flagged: bool,
    pub open_ctas: i64,
    /// An open leadership escalation.
    pub escalated: bool,
    /// Active signals, most severe first.
    #[sqlx(skip)]
    pub signals: Vec<SignalKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorklistPage {
    pub total: u32,
    pub offset: u32,
    pub rows: Vec<WorklistRow>,
}

pub const MAX_LIMIT: u32 = 500;

impl WorklistQuery {
    /// Everyone's at-risk accounts in the CSM lane, first `limit` rows, no filters.
    pub fn everyone(limit: u32) -> Self {
        WorklistQuery {
            scope: CtaScope::All,
            user_id: None,
            owner_id: None,
            segment: None,
            category: None,
            severity: None,
            renewal_within_days: None,
            flagged_only: false,
            include_digital: false,
            offset: 0,
            limit,
        }
    }
}

/// Appends the page's filters: at risk, in `lane` (both lanes when None), and the query's.
fn push_filters<'a>(
    qb: &mut QueryBuilder<'a, Sqlite>,
    q: &'a WorklistQuery,
    lane: Option<&'static str>,
    today: NaiveDate,
) -> Result<()> {
    qb.push(" WHERE p.at_risk = 1");
    if let Some(lane) = lane {
        qb.push(" AND p.lane = '").push(lane).push("'");
    }
    // Unassigned accounts are nobody's, so no team's: that filter looks past the scope.
    let unassigned = q.owner_id.as_deref() == Some(crate::store::accounts::UNASSIGNED);
    match (q.scope, &q.user_id) {
        (CtaScope::All, _) => {}
        _ if unassigned => {}
        (_, None) => return Err(Error::invalid("worklist.scope", "say who you are first")),
        (CtaScope::Mine, Some(user)) => {
            qb.push(" AND p.owner_id = ").push_bind(user.as_str());
        }
        (CtaScope::Team, Some(user)) => {
            qb.push(" AND p.owner_id IN (SELECT id FROM users WHERE team_id = (SELECT team_id FROM users WHERE id = ")
                .push_bind(user.as_str())
                .push("))");
        }
    }
    match q.owner_id.as_deref() {
        // Accounts nobody owns yet (an import named an owner Riskdesk did not know).
        Some(crate::store::accounts::UNASSIGNED) => {
            qb.push(" AND p.owner_id IS NULL");
        }
        Some(owner) => {
            qb.push(" AND p.owner_id = ").push_bind(owner);
        }
        None => {}
    }
    if let Some(segment) = q.segment {
        qb.push(" AND p.segment = ").push_bind(segment);
    }
    if let Some(category) = &q.category {
        qb.push(" AND p.category = ").push_bind(category.as_str());
    }
    if let Some(level) = q.severity {
        qb.push(" AND p.severity_level = ").push_bind(level);
    }
    if let Some(days) = q.renewal_within_days {
        qb.push(" AND p.renewal_date <= ")
            .push_bind(today + chrono::Duration::days(days as i64));
    }
    if q.flagged_only {
        qb.push(" AND p.flagged = 1");
    }
    Ok(())
}

/// Every filter reads `account_priority` alone; the page joins what it shows.
const FILTERED: &str = " FROM account_priority p";

/// The page's query (after `prefix`, e.g. "EXPLAIN QUERY PLAN " in the index tests).
fn page_query<'a>(
    prefix: &str,
    q: &'a WorklistQuery,
    limit: u32,
    today: NaiveDate,
) -> Result<QueryBuilder<'a, Sqlite>> {
    // The page's rows, ranked: each lane read in rank order from its index and the two
    // merged (a compound SELECT's ORDER BY merges its arms), so no index on the score
    // across lanes is kept up to date every day for the screens that show both.
    let mut qb = QueryBuilder::new(format!(
        "{prefix}SELECT a.id AS account_id, a.name, a.arr_minor, a.currency, a.segment, a.strategic, a.owner_id, u.name AS owner_name, \
         a.renewal_date, h.score AS health, h.band, h.band_color, s.trend_30, h.severity_score, h.severity_level, \
         p.score, p.lane, p.category, p.flagged, p.open_ctas, \
         EXISTS (SELECT 1 FROM escalations e WHERE e.account_id = a.id AND e.closed_at IS NULL) AS escalated \
         FROM (SELECT p.account, p.score, p.lane, p.category, p.flagged, p.open_ctas{FILTERED}"
    ));
    let lanes: &[&'static str] = if q.include_digital {
        &["csm", "digital"]
    } else {
        &["csm"]
    };
    for (i, lane) in lanes.iter().enumerate() {
        if i > 0 {
            qb.push(
                " UNION ALL SELECT p.account, p.score, p.lane, p.category, p.flagged, p.open_ctas",
            )
            .push(FILTERED);
        }
        push_filters(&mut qb, q, Some(lane), today)?;
    }
    qb.push(" ORDER BY 2 DESC, 1 LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(q.offset)
        .push(
            ") p JOIN accounts a ON a.rowid = p.account LEFT JOIN account_health h ON h.account = a.rowid \
             LEFT JOIN health_state s ON s.account = a.rowid \
             LEFT JOIN users u ON u.id = a.owner_id ORDER BY p.score DESC, p.account",
        );
    Ok(qb)
}

/// How SQLite runs the page's query: the index tests read it.
#[cfg(test)]
pub(crate) async fn page_plan(
    pool: &SqlitePool,
    q: &WorklistQuery,
    today: NaiveDate,
) -> Result<String> {
    let mut qb = page_query("EXPLAIN QUERY PLAN ", q, q.limit.clamp(1, MAX_LIMIT), today)?;
    let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n"))
}

/// One page of the ranked worklist: highest priority first, ties in a stable order.
pub async fn page(pool: &SqlitePool, q: &WorklistQuery, today: NaiveDate) -> Result<WorklistPage> {
    let limit = q.limit.clamp(1, MAX_LIMIT);
    let mut count = QueryBuilder::new(format!("SELECT COUNT(*){FILTERED}"));
    push_filters(&mut count, q, (!q.include_digital).then_some("csm"), today)?;
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let mut qb = page_query("", q, limit, today)?;
    let mut rows: Vec<WorklistRow> = qb.build_query_as().fetch_all(pool).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.account_id.clone()).collect();
    if !ids.is_empty() {
        let mut sq = QueryBuilder::new(
            "SELECT account_id, kind FROM signals WHERE cleared_at IS NULL AND account_id",
        );
        in_list(&mut sq, &ids);
        sq.push(" ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, detected_at");
        let signals: Vec<(String, SignalKind)> = sq.build_query_as().fetch_all(pool).await?;
        for (account, kind) in signals {
            if let Some(r) = rows.iter_mut().find(|r| r.account_id == account) {
                r.signals.push(kind);
            }
        }
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = q.offset + i as u32 + 1;
    }
    Ok(WorklistPage {
        total: total as u32,
        offset: q.offset,
        rows,
    })
}

/// "Why is this account here?": the factors of its score and its lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WhyHere {
    pub score: f64,
    pub at_risk: bool,
    pub lane: String,
    pub explanation: PriorityExplanation,
}

pub async fn why(store: &Store, account_id: &str, today: NaiveDate) -> Result<WhyHere> {
    let ranked: Option<(f64, bool, String)> =
        sqlx::query_as(
            "SELECT score, at_risk, lane FROM account_priority WHERE account = (SELECT rowid FROM accounts WHERE id = ?)",
        )
            .bind(account_id)
            .fetch_optional(store.pool())
            .await?;
    let not_found = || Error::NotFound {
        entity: "account priority",
        id: account_id.to_string(),
    };
    let (score, at_risk, lane) = ranked.ok_or_else(not_found)?;
    // The explanation is computed from the same inputs the rank was (a re-rank follows
    // every change to them); the ranked numbers are the stored ones.
    let explanation = crate::priority::explained(store, &[account_id.to_string()], today)
        .await?
        .remove(account_id)
        .ok_or_else(not_found)?
        .explanation;
    Ok(WhyHere {
        score,
        at_risk,
        lane,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    fn query(scope: CtaScope, user_id: Option<String>) -> WorklistQuery {
        WorklistQuery {
            scope,
            user_id,
            ..WorklistQuery::everyone(50)
        }
    }

    #[tokio::test]
    async fn a_manager_filters_the_worklist_to_unassigned_accounts() {
        let (_dir, store) = worked_book(300, 6, 0).await;
        let today = test_day();
        let all = page(store.pool(), &query(CtaScope::All, None), today)
            .await
            .expect("page");
        let orphans: Vec<String> = all
            .rows
            .iter()
            .take(2)
            .map(|r| r.account_id.clone())
            .collect();
        for id in &orphans {
            sqlx::query("UPDATE accounts SET owner_id = NULL WHERE id = ?")
                .bind(id)
                .execute(store.pool())
                .await
                .expect("unassign");
        }
        crate::priority::refresh(&store, Some(orphans.clone()), today)
            .await
            .expect("rerank");
        // A manager's "My team" view shows them too: nobody's accounts are no team's.
        let manager: String =
            sqlx::query_scalar("SELECT id FROM users WHERE role = 'manager' LIMIT 1")
                .fetch_one(store.pool())
                .await
                .expect("manager");
        let q = WorklistQuery {
            owner_id: Some(crate::store::accounts::UNASSIGNED.into()),
            ..query(CtaScope::Team, Some(manager))
        };
        let unassigned = page(store.pool(), &q, today).await.expect("page");
        let mut got: Vec<String> = unassigned
            .rows
            .iter()
            .map(|r| r.account_id.clone())
            .collect();
        got.sort();
        let mut want = orphans.clone();
        want.sort();
        assert_eq!(got, want);
        assert!(unassigned.rows.iter().all(|r| r.owner_id.is_none()));
    }

    #[tokio::test]
    async fn the_worklist_ranks_at_risk_accounts_and_filters_them() {
        let (_dir, store) = worked_book(500, 6, 0).await;
        let today = test_day();
        let all = page(store.pool(), &query(CtaScope::All, None), today)
            .await
            .expect("page");
        assert!(all.total > 20, "{}", all.total);
        assert!(all.rows.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(
            all.rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
            (1..=50).collect::<Vec<_>>()
        );
        assert!(all.rows.iter().all(|r| r.lane == "csm"));
        assert!(all.rows.iter().any(|r| !r.signals.is_empty()));
        // The next page continues the ranking.
        let next = page(
            store.pool(),
            &WorklistQuery {
                offset: 50,
                ..query(CtaScope::All, None)
            },
            today,
        )
        .await
        .expect("page 2");
        assert_eq!(next.rows[0].rank, 51);
        assert!(next.rows[0].score <= all.rows[49].score);

        let owner = all.rows[0].owner_id.clone().expect("owned");
        let mine = page(
            store.pool(),
            &query(CtaScope::Mine, Some(owner.clone())),
            today,
        )
        .await
        .expect("mine");
        assert!(mine
            .rows
            .iter()
            .all(|r| r.owner_id.as_deref() == Some(owner.as_str())));
        assert_eq!(mine.rows[0].account_id, all.rows[0].account_id);
        let soon = page(
            store.pool(),
            &WorklistQuery {
                renewal_within_days: Some(90),
                ..query(CtaScope::All, None)
            },
            today,
        )
        .await
        .expect("soon");
        assert!(soon.total < all.total);
        assert!(soon
            .rows
            .iter()
            .all(|r| (r.renewal_date - today).num_days() <= 90));
        let high = page(
            store.pool(),
            &WorklistQuery {
                severity: Some(Level::High),
                ..query(CtaScope::All, None)
            },
            today,
        )
        .await
        .expect("high");
        assert!(high
            .rows
            .iter()
            .all(|r| r.severity_level == Some(Level::High)));
        let with_lane = page(
            store.pool(),
            &WorklistQuery {
                include_digital: true,
                ..query(CtaScope::All, None)
            },
            today,
        )
        .await
        .expect("lane");
        assert!(
            with_lane.total > all.total,
            "tech-touch accounts stay out of the worklist"
        );
        // Both lanes merged read as one ranking, page after page, with filters too.
        for filtered in [None, Some(Level::Medium)] {
            let expected: Vec<String> = sqlx::query_scalar(
                "SELECT a.id FROM account_priority p JOIN accounts a ON a.rowid = p.account WHERE p.at_risk = 1 \
                 AND (?1 IS NULL OR p.severity_level = ?1) ORDER BY p.score DESC, p.account",
            )
            .bind(filtered)
            .fetch_all(store.pool())
            .await
            .expect("ranking");
            assert!(expected.len() > 15, "{}", expected.len());
            let mut paged = Vec::new();
            for offset in (0..expected.len() as u32).step_by(7) {
                let p = page(
                    store.pool(),
                    &WorklistQuery {
                        include_digital: true,
                        severity: filtered,
                        offset,
                        limit: 7,
                        ..query(CtaScope::All, None)
                    },
                    today,
                )
                .await
                .expect("page");
                assert_eq!(p.total as usize, expected.len());
                paged.extend(p.rows.into_iter().map(|r| r.account_id));
            }
            assert_eq!(paged, expected, "{filtered:?}");
        }
        assert!(page(store.pool(), &query(CtaScope::Mine, None), today)
            .await
            .is_err());

        let w = why(&store, &all.rows[0].account_id, today)
            .await
            .expect("why");
        assert_eq!(w.explanation.factors.len(), 5);
        // The days to renewal are worded as of the day asked.
        let days = (all.rows[0].renewal_date - today).num_days();
        let urgency = &w.explanation.factors[3];
        assert_eq!(urgency.factor, "Urgency");
        assert_eq!(urgency.input, crate::priority::renewal_words(days));
        let later = why(
            &store,
            &all.rows[0].account_id,
            today + chrono::Duration::days(3),
        )
        .await
        .expect("why");
        assert_eq!(
            later.explanation.factors[3].input,
            crate::priority::renewal_words(days - 3)
        );
        assert!((w.score - all.rows[0].score).abs() < 1e-9);
    }
}
