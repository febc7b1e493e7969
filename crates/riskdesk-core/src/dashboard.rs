//! Dashboards: ARR at risk by severity, category, segment and owner; at-risk over time;
//! the escalation funnel and outcomes; churn reasons; attrition by segment and tenure.
//! Every slice carries the filter that lists the accounts behind it.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::Result;

/// One bar: a label, how many accounts, how much ARR (base currency, minor units), and
/// the key that filters the worklist to the accounts behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Slice {
    pub key: Option<String>,
    pub label: String,
    pub accounts: i64,
    pub arr_base_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RiskPoint {
    pub day: NaiveDate,
    /// Accounts scoring under 50 on that day's snapshot, and their ARR.
    pub accounts: i64,
    pub arr_base_minor: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Funnel {
    pub escalated: i64,
    pub with_actions: i64,
    pub with_decisions: i64,
    pub closed: i64,
    pub saved: i64,
    pub downsell: i64,
    pub churned: i64,
    pub resolved: i64,
    pub de_escalated: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Attrition {
    pub label: String,
    pub accounts: i64,
    pub churned: i64,
    pub arr_base_minor: i64,
    pub churned_arr_base_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Dashboard {
    pub at_risk_accounts: i64,
    /// Accounts of this device's book without a health score: not enough data (or not
    /// scored yet). Never counted healthy.
    pub unscored_accounts: i64,
    pub at_risk_arr_base_minor: i64,
    pub total_arr_base_minor: i64,
    pub by_severity: Vec<Slice>,
    pub by_category: Vec<Slice>,
    pub by_segment: Vec<Slice>,
    pub by_owner: Vec<Slice>,
    pub over_time: Vec<RiskPoint>,
    pub funnel: Funnel,
    pub churn_reasons: Vec<Slice>,
    pub attrition_by_segment: Vec<Attrition>,
    pub attrition_by_tenure: Vec<Attrition>,
}

/// The slice query for one column (a fixed name from this module, never input), named
/// to its index: the slice indexes hold only at-risk ranks (migration 39), which a planner
/// without statistics weighs below the rank index's `at_risk` prefix.
pub(crate) fn slice_sql(column: &str) -> String {
    let index = match column {
        "severity_level" => "account_priority_by_severity",
        "category" => "account_priority_by_category",
        "segment" => "account_priority_by_segment",
        _ => "account_priority_by_owner",
    };
    format!(
        "SELECT {column} AS key, COALESCE({column}, 'not categorized') AS label, COUNT(*) AS accounts, \
         SUM(arr_base_minor) AS arr_base_minor FROM account_priority INDEXED BY {index} WHERE at_risk = 1 \
         GROUP BY {column} ORDER BY arr_base_minor DESC LIMIT ?"
    )
}

/// At-risk accounts grouped by one column, read from that column's covering index.
async fn slices(pool: &SqlitePool, column: &str, limit: u32) -> Result<Vec<Slice>> {
    Ok(sqlx::query_as(&slice_sql(column))
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// Attrition by segment, with the at-risk totals, in one scan of the attrition index.
#[derive(sqlx::FromRow)]
struct SegmentRow {
    segment: String,
    accounts: i64,
    churned: i64,
    arr: i64,
    churned_arr: i64,
    at_risk: i64,
    at_risk_arr: i64,
}

const TENURES: [&str; 4] = ["under 1 year", "1–2 years", "2–3 years", "3 years or more"];

/// At-risk ARR by owner, named.
async fn owners(pool: &SqlitePool) -> Result<Vec<Slice>> {
    let mut list = slices(pool, "owner_id", 15).await?;
    let names: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM users")
        .fetch_all(pool)
        .await?;
    for s in &mut list {
        s.label = s
            .key
            .as_ref()
            .and_then(|k| names.iter().find(|(id, _)| id == k))
            .map_or_else(|| "unassigned".to_string(), |(_, n)| n.clone());
    }
    Ok(list)
}

/// Every chart's data. The queries are independent and run side by side on the pool's
/// read connections: the two whole-book scans (attrition by segment and by tenure, ~35 ms
/// each at 100K accounts) take as long as one where a second core is free.
pub async fn dashboard(pool: &SqlitePool, today: NaiveDate) -> Result<Dashboard> {
    let segments = async {
        Ok::<Vec<SegmentRow>, crate::Error>(
            sqlx::query_as(
                "SELECT segment, COUNT(*) AS accounts, SUM(churned) AS churned, SUM(arr_base_minor) AS arr, \
                 SUM(CASE WHEN churned = 1 THEN arr_base_minor ELSE 0 END) AS churned_arr, SUM(at_risk) AS at_risk, \
                 SUM(CASE WHEN at_risk = 1 THEN arr_base_minor ELSE 0 END) AS at_risk_arr \
                 FROM account_priority INDEXED BY account_priority_attrition GROUP BY segment ORDER BY arr DESC",
            )
            .fetch_all(pool)
            .await?,
        )
    };
    // Accounts that arrived by sync are scored on the device that holds their data.
    let unscored_accounts = async {
        Ok::<i64, crate::Error>(
            sqlx::query_scalar(
                // Scored local accounts = every score (read from the score index alone) less the
                // scores of mirrored ones (few): 4 ms at 100K instead of 36 ms scanning the rows.
                "SELECT (SELECT COUNT(*) FROM accounts) - (SELECT COUNT(*) FROM sync_remote) \
                 - ((SELECT COUNT(score) FROM account_health) \
                    - (SELECT COUNT(h.score) FROM sync_remote r JOIN accounts a ON a.id = r.account_id JOIN account_health h ON h.account = a.rowid))",
            )
            .fetch_one(pool)
            .await?,
        )
    };
    let over_time = async {
        Ok::<Vec<RiskPoint>, crate::Error>(
            sqlx::query_as(
                "SELECT day, accounts, arr_base_minor FROM risk_daily WHERE day >= ? ORDER BY day",
            )
            .bind(today - Duration::days(180))
            .fetch_all(pool)
            .await?,
        )
    };
    let funnel = async {
        Ok::<Funnel, crate::Error>(
            sqlx::query_as(
                "SELECT COUNT(*) AS escalated, \
                 COALESCE(SUM(EXISTS (SELECT 1 FROM escalation_actions x WHERE x.escalation_id = e.cta_id)), 0) AS with_actions, \
                 COALESCE(SUM(EXISTS (SELECT 1 FROM escalation_decisions d WHERE d.escalation_id = e.cta_id)), 0) AS with_decisions, \
                 COALESCE(SUM(e.closed_at IS NOT NULL), 0) AS closed, COALESCE(SUM(e.outcome = 'saved'), 0) AS saved, \
                 COALESCE(SUM(e.outcome = 'downsell'), 0) AS downsell, COALESCE(SUM(e.outcome = 'churned'), 0) AS churned, \
                 COALESCE(SUM(e.outcome = 'resolved'), 0) AS resolved, COALESCE(SUM(e.outcome = 'de_escalated'), 0) AS de_escalated \
                 FROM escalations e",
            )
            .fetch_one(pool)
            .await?,
        )
    };
    let churn_reasons = async {
        Ok::<Vec<Slice>, crate::Error>(
            sqlx::query_as(
                "SELECT c.category AS key, COALESCE(c.category, 'not categorized') AS label, COUNT(DISTINCT c.account_id) AS accounts, \
                 COALESCE(SUM(a.arr_base_minor), 0) AS arr_base_minor FROM ctas c JOIN accounts a ON a.id = c.account_id \
                 WHERE c.outcome = 'churned' GROUP BY c.category ORDER BY accounts DESC",
            )
            .fetch_all(pool)
            .await?,
        )
    };
    let by_tenure = async {
        Ok::<Vec<(i64, i64, i64, i64, i64)>, crate::Error>(
            sqlx::query_as(
                "SELECT CASE WHEN contract_start > ? THEN 0 WHEN contract_start > ? THEN 1 WHEN contract_start > ? THEN 2 ELSE 3 END AS t, \
                 COUNT(*), SUM(churned), SUM(arr_base_minor), SUM(CASE WHEN churned = 1 THEN arr_base_minor ELSE 0 END) \
                 FROM account_priority INDEXED BY account_priority_tenure GROUP BY t ORDER BY t",
            )
            .bind(today - Duration::days(365))
            .bind(today - Duration::days(730))
            .bind(today - Duration::days(1095))
            .fetch_all(pool)
            .await?,
        )
    };
    let (
        (segments, by_tenure, unscored_accounts, over_time),
        (funnel, churn_reasons, by_severity, by_category, by_segment, by_owner),
    ) = tokio::try_join!(
        async { tokio::try_join!(segments, by_tenure, unscored_accounts, over_time) },
        async {
            tokio::try_join!(
                funnel,
                churn_reasons,
                slices(pool, "severity_level", 10),
                slices(pool, "category", 20),
                slices(pool, "segment", 10),
                owners(pool),
            )
        },
    )?;
    let at_risk_accounts = segments.iter().map(|s| s.at_risk).sum();
    let at_risk_arr = segments.iter().map(|s| s.at_risk_arr).sum();
    let total_arr = segments.iter().map(|s| s.arr).sum();
    let attrition_by_segment = segments
        .into_iter()
        .map(|s| Attrition {
            label: s.segment,
            accounts: s.accounts,
            churned: s.churned,
            arr_base_minor: s.arr,
            churned_arr_base_minor: s.churned_arr,
        })
        .collect();
    let attrition_by_tenure = by_tenure
        .into_iter()
        .map(|(t, accounts, churned, arr, churned_arr)| Attrition {
            label: TENURES[t.clamp(0, 3) as usize].to_string(),
            accounts,
            churned,
            arr_base_minor: arr,
            churned_arr_base_minor: churned_arr,
        })
        .collect();
    Ok(Dashboard {
        at_risk_accounts,
        unscored_accounts: unscored_accounts.max(0),
        at_risk_arr_base_minor: at_risk_arr,
        total_arr_base_minor: total_arr,
        by_severity,
        by_category,
        by_segment,
        by_owner,
        over_time,
        funnel,
        churn_reasons,
        attrition_by_segment,
        attrition_by_tenure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    #[tokio::test]
    async fn slices_add_up_and_an_outcome_moves_the_funnel() {
        let (_dir, store) = worked_book(300, 2, 4).await;
        let today = test_day();
        let d = dashboard(store.pool(), today).await.expect("dashboard");
        assert!(d.at_risk_accounts > 0);
        for slices in [&d.by_severity, &d.by_segment, &d.by_category] {
            assert_eq!(
                slices.iter().map(|s| s.accounts).sum::<i64>(),
                d.at_risk_accounts
            );
            assert_eq!(
                slices.iter().map(|s| s.arr_base_minor).sum::<i64>(),
                d.at_risk_arr_base_minor
            );
        }
        assert!(d.over_time.len() >= 2);
        assert_eq!(
            d.attrition_by_segment
                .iter()
                .map(|a| a.accounts)
                .sum::<i64>(),
            300
        );
        assert_eq!(
            d.attrition_by_tenure
                .iter()
                .map(|a| a.accounts)
                .sum::<i64>(),
            300
        );
        let before = d.funnel.clone();
        assert!(before.escalated > 0, "the default criteria escalate");

        // One escalation churns: the funnel, the churn reasons and attrition all move.
        let (id, account): (String, String) = sqlx::query_as(
            "SELECT cta_id, account_id FROM escalations WHERE closed_at IS NULL LIMIT 1",
        )
        .fetch_one(store.pool())
        .await
        .expect("open escalation");
        crate::escalation::close(
            &store,
            &id,
            crate::escalation::EscalationOutcome::Churned,
            None,
        )
        .await
        .expect("close");
        let after = dashboard(store.pool(), today).await.expect("dashboard");
        assert_eq!(
            (after.funnel.closed, after.funnel.churned),
            (before.closed + 1, before.churned + 1)
        );
        assert_eq!(
            after.churn_reasons.iter().map(|s| s.accounts).sum::<i64>(),
            1
        );
        let segment: String = sqlx::query_scalar("SELECT segment FROM accounts WHERE id = ?")
            .bind(&account)
            .fetch_one(store.pool())
            .await
            .expect("segment");
        let row = after
            .attrition_by_segment
            .iter()
            .find(|a| a.label == segment)
            .expect("segment row");
        assert_eq!(row.churned, 1);
        assert!(row.churned_arr_base_minor > 0);
    }
}
