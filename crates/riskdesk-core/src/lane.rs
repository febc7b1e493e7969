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

/// Lane accounts of one (at risk, category, severity level): how many, and their ARR.
type LaneGroup = (bool, Option<String>, Option<String>, i64, i64);

/// The lane's ranks counted by (at risk, category, severity level), with their ARR: read
/// from the lane's own covering index (migration 44), not the whole table.
pub(crate) const LANE_GROUPS: &str =
    "SELECT at_risk, category, severity_level, COUNT(*), COALESCE(SUM(arr_base_minor), 0) \
     FROM account_priority INDEXED BY account_priority_lane WHERE lane = 'digital' GROUP BY 1, 2, 3";

pub async fn summary(store: &crate::Store, today: NaiveDate) -> Result<LaneSummary> {
    let pool = store.pool();
    let started = std::time::Instant::now();
    let config = crate::priority::config(store).await?;
    // One pass over the lane's ranks, which keep copies of the ARR and severity level:
    // three queries joined to accounts and current health took 0.37 s at 100K accounts.
    let groups: Vec<LaneGroup> = sqlx::query_as(LANE_GROUPS).fetch_all(pool).await?;
    let (mut accounts, mut at_risk, mut arr, mut at_risk_arr) = (0, 0, 0, 0);
    let mut categories: std::collections::BTreeMap<&str, i64> = Default::default();
    let mut severities: std::collections::BTreeMap<(u8, &str), i64> = Default::default();
    for (risky, category, level, count, group_arr) in &groups {
        accounts += count;
        arr += group_arr;
        if *risky {
            at_risk += count;
            at_risk_arr += group_arr;
            *categories
                .entry(category.as_deref().unwrap_or("not categorized"))
                .or_default() += count;
        }
        let label = level.as_deref().unwrap_or("unscored");
        let order = match label {
            "high" => 0,
            "medium" => 1,
            "low" => 2,
            _ => 3,
        };
        *severities.entry((order, label)).or_default() += count;
    }
    let mut by_category: Vec<Count> = categories
        .into_iter()
        .map(|(label, count)| Count {
            label: label.to_string(),
            count,
        })
        .collect();
    // Most first, then by name (the map gave name order; the sort is stable).
    by_category.sort_by_key(|c| std::cmp::Reverse(c.count));
    let by_severity = severities
        .into_iter()
        .map(|((_, label), count)| Count {
            label: label.to_string(),
            count,
        })
        .collect();
    let counted = started.elapsed();
    let playbooks = sqlx::query_as(
        "SELECT COALESCE(pb.name, c.reason) AS playbook, \
         SUM(c.status <> 'closed') AS running, SUM(c.outcome = 'saved') AS saved, SUM(c.outcome = 'churned') AS churned, \
         SUM(c.status = 'closed' AND c.outcome NOT IN ('saved', 'churned')) AS other_closed \
         FROM ctas c LEFT JOIN playbooks pb ON pb.id = c.playbook_id WHERE c.type = 'digital' \
         GROUP BY playbook ORDER BY running DESC, playbook",
    )
    .fetch_all(pool)
    .await?;
    let played = started.elapsed();
    let trend = trend(store, today - Duration::days(90)).await?;
    let trended = started.elapsed();
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
    tracing::debug!(?counted, playbooks = ?(played - counted), trend = ?(trended - played), exceptions = ?(started.elapsed() - trended), "lane summary");
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

/// The lane's accounts scoring under 50, per day since `since`: the daily aggregate kept as
/// scores are written, each day counting the accounts in the lane that day. A day it does
/// not know (history from before it was kept) is counted from the history with today's
/// lanes, as [`keep_trend`] keeps it.
async fn trend(store: &crate::Store, since: NaiveDate) -> Result<Vec<TrendPoint>> {
    let kept: Vec<(NaiveDate, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT day, lane_at_risk, lane_scored FROM risk_daily WHERE day >= ? ORDER BY day",
    )
    .bind(since)
    .fetch_all(store.pool())
    .await?;
    let mut days: std::collections::BTreeMap<NaiveDate, (i64, i64)> = kept
        .iter()
        .filter_map(|(day, at_risk, scored)| Some((*day, (*at_risk)?, (*scored)?)))
        .map(|(day, at_risk, scored)| (day, (at_risk, scored)))
        .collect();
    for (day, at_risk, scored) in unknown_days(store, since, &days).await? {
        days.insert(day, (at_risk, scored));
    }
    Ok(days
        .into_iter()
        .map(|(day, (at_risk, scored))| TrendPoint {
            day,
            at_risk,
            scored,
        })
        .collect())
}

/// The days since `since` that the daily aggregate or the history holds and `known` does
/// not, counted from the history with today's lanes.
async fn unknown_days(
    store: &crate::Store,
    since: NaiveDate,
    known: &std::collections::BTreeMap<NaiveDate, (i64, i64)>,
) -> Result<Vec<(NaiveDate, i64, i64)>> {
    let mut days: Vec<NaiveDate> = sqlx::query_scalar("SELECT day FROM risk_daily WHERE day >= ?")
        .bind(since)
        .fetch_all(store.pool())
        .await?;
    let held: Vec<i64> =
        sqlx::query_scalar("SELECT epoch_day FROM history_days WHERE epoch_day >= ?")
            .bind(crate::store::reader::epoch_day(since))
            .fetch_all(store.pool())
            .await?;
    days.extend(
        held.into_iter()
            .filter_map(crate::store::reader::from_epoch_day),
    );
    let Some(first) = days
        .into_iter()
        .filter(|day| !known.contains_key(day))
        .min()
    else {
        return Ok(Vec::new());
    };
    Ok(crate::health::history::at_risk_by_day(
        store.pool(),
        "SELECT account FROM account_priority WHERE lane = 'digital'",
        first,
    )
    .await?
    .into_iter()
    .filter(|(day, ..)| !known.contains_key(day))
    .collect())
}

/// Keeps the lane's figures of the last 90 days that the daily aggregate does not know
/// (a store upgraded from before it was kept), counted once from the history with today's
/// lanes, so the lane screen does not count them on each visit. Run by the whole-book
/// refresh.
pub async fn keep_trend(store: &crate::Store, today: NaiveDate) -> Result<usize> {
    let since = today - Duration::days(90);
    let known: std::collections::BTreeMap<NaiveDate, (i64, i64)> = sqlx::query_as(
        "SELECT day, lane_at_risk, lane_scored FROM risk_daily WHERE day >= ? AND lane_at_risk IS NOT NULL AND lane_scored IS NOT NULL",
    )
    .bind(since)
    .fetch_all(store.pool())
    .await?
    .into_iter()
    .map(|(day, at_risk, scored): (NaiveDate, i64, i64)| (day, (at_risk, scored)))
    .collect();
    let counted = unknown_days(store, since, &known).await?;
    if counted.is_empty() {
        return Ok(0);
    }
    let kept = crate::health::keep_lane_days(store, &counted).await?;
    tracing::debug!(days = counted.len(), kept, "lane trend kept from history");
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::{self, Scope};
    use crate::store::testing::{temp_store, test_day, worked_book};

    /// The trend counted from the history with today's lanes (what the screen counted on
    /// each visit before the aggregate was kept).
    async fn recounted(store: &crate::Store, today: NaiveDate) -> Vec<TrendPoint> {
        crate::health::history::at_risk_by_day(
            store.pool(),
            "SELECT account FROM account_priority WHERE lane = 'digital'",
            today - Duration::days(90),
        )
        .await
        .expect("recount")
        .into_iter()
        .map(|(day, at_risk, scored)| TrendPoint {
            day,
            at_risk,
            scored,
        })
        .collect()
    }

    async fn unknown(store: &crate::Store) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM risk_daily WHERE lane_at_risk IS NULL OR lane_scored IS NULL",
        )
        .fetch_one(store.pool())
        .await
        .expect("unknown days")
    }

    /// With no account able to change lanes (no expansion potential, so none is surfaced
    /// as an exception) the kept trend is the recount, day by day; then one account that
    /// becomes an exception leaves today's figures, and only today's.
    #[tokio::test]
    async fn the_lanes_trend_is_kept_as_scores_are_written() {
        let (_dir, store) = temp_store().await;
        let today = test_day();
        crate::book::load(
            &store,
            &crate::book::BookSpec::new(400, 31, today),
            |_, _| {},
        )
        .await
        .expect("book");
        sqlx::query("UPDATE accounts SET expansion_potential = 'none'")
            .execute(store.pool())
            .await
            .expect("no expansion");
        crate::health::initialize(&store, today, 12, 3)
            .await
            .expect("history");
        refresh::run(&store, Scope::Book, today, "test", |_, _| {})
            .await
            .expect("refresh");
        assert_eq!(unknown(&store).await, 0, "every day kept as scored");
        let before = summary(&store, today).await.expect("lane").trend;
        assert!(before.len() >= 28, "{before:?}");
        assert!(
            before.iter().all(|p| p.scored > 50 && p.at_risk > 0),
            "a lane with accounts at risk each day: {before:?}"
        );
        assert_eq!(before, recounted(&store, today).await);

        // A lane account at High severity with expansion potential is surfaced to a person.
        let (id, under_50): (String, bool) = sqlx::query_as(
            "SELECT a.id, h.score < 50 FROM account_priority p JOIN accounts a ON a.rowid = p.account \
             JOIN account_health h ON h.account = p.account \
             WHERE p.lane = 'digital' AND p.severity_level = 'high' AND h.score IS NOT NULL ORDER BY a.rowid LIMIT 1",
        )
        .fetch_one(store.pool())
        .await
        .expect("a High severity lane account");
        sqlx::query("UPDATE accounts SET expansion_potential = 'high' WHERE id = ?")
            .bind(&id)
            .execute(store.pool())
            .await
            .expect("expansion");
        refresh::run(
            &store,
            Scope::Accounts(vec![id.clone()]),
            today,
            "test",
            |_, _| {},
        )
        .await
        .expect("one account");
        let lane: String = sqlx::query_scalar(
            "SELECT p.lane FROM account_priority p JOIN accounts a ON a.rowid = p.account WHERE a.id = ?",
        )
        .bind(&id)
        .fetch_one(store.pool())
        .await
        .expect("lane");
        assert_eq!(lane, "csm");
        let after = summary(&store, today).await.expect("lane").trend;
        let (last_before, last_after) = (
            before[before.len() - 1].clone(),
            after[after.len() - 1].clone(),
        );
        assert_eq!(last_after.day, today);
        assert_eq!(last_after.scored, last_before.scored - 1);
        assert_eq!(
            last_after.at_risk,
            last_before.at_risk - i64::from(under_50)
        );
        // The days before keep the lanes they were scored in.
        assert_eq!(after[..after.len() - 1], before[..before.len() - 1]);
    }

    /// A store from before the aggregate: the screen counts the days it does not know from
    /// the history, the whole-book refresh keeps them once, and the figures do not move.
    #[tokio::test]
    async fn days_from_before_the_aggregate_are_counted_then_kept() {
        let (_dir, store) = worked_book(300, 12, 12).await;
        let today = test_day();
        sqlx::query("UPDATE risk_daily SET lane_at_risk = NULL, lane_scored = NULL")
            .execute(store.pool())
            .await
            .expect("forget");
        sqlx::query("UPDATE health_history SET digital = NULL")
            .execute(store.pool())
            .await
            .expect("rows from before");
        let days: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM risk_daily")
            .fetch_one(store.pool())
            .await
            .expect("days");
        assert_eq!(unknown(&store).await, days);
        let expected = recounted(&store, today).await;
        assert!(expected.len() >= 6, "{expected:?}");
        assert_eq!(summary(&store, today).await.expect("lane").trend, expected);
        assert_eq!(unknown(&store).await, days, "a screen writes nothing");
        let kept = keep_trend(&store, today).await.expect("keep");
        assert_eq!(kept as i64, days);
        assert_eq!(unknown(&store).await, 0);
        assert_eq!(summary(&store, today).await.expect("lane").trend, expected);
        assert_eq!(keep_trend(&store, today).await.expect("again"), 0);
    }

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
