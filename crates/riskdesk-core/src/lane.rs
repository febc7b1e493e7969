//! The tech-touch lane: low-ARR accounts run by digital playbooks, seen as aggregates and
//! trends, with only the exceptions surfaced to a person.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::signals::Level;
use crate::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Count {
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlaybookOutcomes {
    pub playbook: String,
    pub running: i64,
    pub saved: i64,
    pub churned: i64,
    pub other_closed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrendPoint {
    pub day: NaiveDate,
    /// Lane accounts scoring under 50 on that day's snapshot.
    pub at_risk: i64,
    pub scored: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LaneException {
    pub account_id: String,
    pub name: String,
    pub arr_base_minor: i64,
    pub severity_level: Option<Level>,
    pub expansion_potential: String,
    pub owner_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LaneSummary {
    /// The ARR line (base currency, major units) below which accounts are tech-touch.
    pub arr_line: f64,
    pub accounts: i64,
    pub at_risk: i64,
    pub arr_base_minor: i64,
    pub at_risk_arr_base_minor: i64,
    pub by_category: Vec<Count>,
    pub by_severity: Vec<Count>,
    pub playbooks: Vec<PlaybookOutcomes>,
    pub trend: Vec<TrendPoint>,
    /// Tech-touch accounts surfaced to a person (High severity with expansion potential).
    pub exceptions: Vec<LaneException>,
}

pub async fn summary(store: &crate::Store, today: NaiveDate) -> Result<LaneSummary> {
    let pool = store.pool();
    let config = crate::priority::config(store).await?;
    let (accounts, at_risk, arr, at_risk_arr): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(p.at_risk), 0), COALESCE(SUM(a.arr_base_minor), 0), \
         COALESCE(SUM(CASE WHEN p.at_risk = 1 THEN a.arr_base_minor ELSE 0 END), 0) \
         FROM account_priority p JOIN accounts a ON a.rowid = p.account WHERE p.lane = 'digital'",
    )
    .fetch_one(pool)
    .await?;
    let by_category = sqlx::query_as(
        "SELECT COALESCE(p.category, 'not categorized') AS label, COUNT(*) AS count FROM account_priority p \
         WHERE p.lane = 'digital' AND p.at_risk = 1 GROUP BY label ORDER BY count DESC, label",
    )
    .fetch_all(pool)
    .await?;
    let by_severity = sqlx::query_as(
        "SELECT COALESCE(h.severity_level, 'unscored') AS label, COUNT(*) AS count FROM account_priority p \
         LEFT JOIN accounts a ON a.rowid = p.account LEFT JOIN account_health h ON h.account = a.rowid \
         WHERE p.lane = 'digital' \
         GROUP BY label ORDER BY CASE label WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END",
    )
    .fetch_all(pool)
    .await?;
    let playbooks = sqlx::query_as(
        "SELECT COALESCE(pb.name, c.reason) AS playbook, \
         SUM(c.status <> 'closed') AS running, SUM(c.outcome = 'saved') AS saved, SUM(c.outcome = 'churned') AS churned, \
         SUM(c.status = 'closed' AND c.outcome NOT IN ('saved', 'churned')) AS other_closed \
         FROM ctas c LEFT JOIN playbooks pb ON pb.id = c.playbook_id WHERE c.type = 'digital' \
         GROUP BY playbook ORDER BY running DESC, playbook",
    )
    .fetch_all(pool)
    .await?;
    let trend = crate::health::history::at_risk_by_day(
        pool,
        "SELECT account FROM account_priority WHERE lane = 'digital'",
        today - Duration::days(90),
    )
    .await?
    .into_iter()
    .map(|(day, at_risk, scored)| TrendPoint {
        day,
        at_risk,
        scored,
    })
    .collect();
    let exceptions = sqlx::query_as(
        "SELECT a.id AS account_id, a.name, a.arr_base_minor, h.severity_level, a.expansion_potential, u.name AS owner_name \
         FROM account_priority p JOIN accounts a ON a.rowid = p.account LEFT JOIN account_health h ON h.account = a.rowid \
         LEFT JOIN users u ON u.id = a.owner_id \
         WHERE p.lane = 'csm' AND p.at_risk = 1 AND (a.segment = 'tech_touch' OR a.arr_base_minor < ?) \
         ORDER BY p.score DESC LIMIT 100",
    )
    .bind((config.digital_lane_arr * 100.0).round() as i64)
    .fetch_all(pool)
    .await?;
    Ok(LaneSummary {
        arr_line: config.digital_lane_arr,
        accounts,
        at_risk,
        arr_base_minor: arr,
        at_risk_arr_base_minor: at_risk_arr,
        by_category,
        by_severity,
        playbooks,
        trend,
        exceptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    #[tokio::test]
    async fn the_lane_holds_the_small_accounts_and_surfaces_only_exceptions() {
        let (_dir, store) = worked_book(800, 9, 4).await;
        let today = test_day();
        let s = summary(&store, today).await.expect("lane");
        let tech_touch: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE segment = 'tech_touch'")
                .fetch_one(store.pool())
                .await
                .expect("count");
        assert!(
            s.accounts > 0 && s.accounts <= tech_touch + 800,
            "{}",
            s.accounts
        );
        assert!(s.at_risk <= s.accounts);
        assert_eq!(
            s.by_severity.iter().map(|c| c.count).sum::<i64>(),
            s.accounts
        );
        assert_eq!(
            s.by_category.iter().map(|c| c.count).sum::<i64>(),
            s.at_risk
        );
        assert!(
            s.playbooks.iter().any(|p| p.running > 0),
            "digital playbooks run: {:?}",
            s.playbooks
        );
        assert!(
            s.trend.len() >= 2,
            "a trend over the snapshots: {:?}",
            s.trend
        );
        // No lane account is in a CSM worklist, and every exception is High severity.
        let csm_tech_touch: Vec<String> = sqlx::query_scalar(
            "SELECT a.id FROM account_priority p JOIN accounts a ON a.rowid = p.account \
             WHERE p.lane = 'csm' AND a.segment = 'tech_touch'",
        )
        .fetch_all(store.pool())
        .await
        .expect("csm lane");
        let explained = crate::priority::explained(&store, &csm_tech_touch, today)
            .await
            .expect("explained");
        let leaked: Vec<&String> = explained
            .iter()
            .filter(|(_, p)| !p.explanation.lane_reason.contains("surfaced to a person"))
            .map(|(id, _)| id)
            .collect();
        assert!(leaked.is_empty(), "{leaked:?}");
        assert_eq!(explained.len(), csm_tech_touch.len());
        assert!(s
            .exceptions
            .iter()
            .all(|e| e.severity_level == Some(Level::High)));
    }
}
