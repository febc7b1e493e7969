//! Writing a batch's results, as judged against what the store held: the day's history
//! rows, the current rows that moved (the explanation is built when read), signals raised,
//! updated and cleared, and the day's dashboard aggregate.

use super::*;
use crate::store::usage_weeks;

/// What a set of accounts adds to a day's at-risk aggregates: accounts below 50, their
/// ARR and accounts scored, for the book and for the digital lane.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct DayShare {
    at_risk: i64,
    arr_base_minor: i64,
    scored: i64,
    lane_at_risk: i64,
    lane_scored: i64,
}

/// The day's aggregates from its history rows (`s`, joined to `accounts a`). A lane figure
/// is NULL when a row of the day was written before rows said their lane.
const SHARES: &str = "COALESCE(SUM(s.score < 50), 0) AS at_risk, \
     COALESCE(SUM(CASE WHEN s.score < 50 THEN a.arr_base_minor ELSE 0 END), 0) AS arr_base_minor, \
     COUNT(s.score) AS scored, \
     COALESCE(SUM(s.digital = 1 AND s.score < 50), 0) AS lane_at_risk, \
     COALESCE(SUM(s.digital = 1 AND s.score IS NOT NULL), 0) AS lane_scored";

/// What `ids` add to the day's at-risk aggregates.
pub(super) async fn day_share(tx: &mut Tx, ids: &[String], day: NaiveDate) -> Result<DayShare> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {SHARES} FROM health_history s JOIN accounts a ON a.rowid = s.account WHERE s.epoch_day = "
    ));
    qb.push_bind(crate::store::reader::epoch_day(day))
        .push(" AND a.id");
    crate::store::in_list(&mut qb, ids);
    Ok(qb.build_query_as().fetch_one(&mut **tx).await?)
}

/// Moves the day's aggregates by what a few accounts' new scores changed. A lane figure
/// not known for the day (NULL) stays unknown.
pub(super) async fn move_day(
    tx: &mut Tx,
    day: NaiveDate,
    before: DayShare,
    after: DayShare,
) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE risk_daily SET accounts = accounts + ?, arr_base_minor = arr_base_minor + ?, scored = scored + ?, \
         lane_at_risk = lane_at_risk + ?, lane_scored = lane_scored + ? WHERE day = ?",
    )
    .bind(after.at_risk - before.at_risk)
    .bind(after.arr_base_minor - before.arr_base_minor)
    .bind(after.scored - before.scored)
    .bind(after.lane_at_risk - before.lane_at_risk)
    .bind(after.lane_scored - before.lane_scored)
    .bind(day)
    .execute(&mut **tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Rewrites the dashboards' daily at-risk aggregates for `days` from their snapshots.
pub(super) async fn aggregate_days(store: &Store, days: &[NaiveDate]) -> Result<()> {
    let mut tx = store.write().await?;
    for day in days {
        sqlx::query(&format!(
            "INSERT INTO risk_daily (day, accounts, arr_base_minor, scored, lane_at_risk, lane_scored) \
             SELECT ?, at_risk, arr_base_minor, scored, CASE WHEN known THEN lane_at_risk END, CASE WHEN known THEN lane_scored END \
             FROM (SELECT {SHARES}, COUNT(*) = COUNT(s.digital) AS known \
                   FROM health_history s JOIN accounts a ON a.rowid = s.account WHERE s.epoch_day = ?) WHERE true \
             ON CONFLICT(day) DO UPDATE SET accounts = excluded.accounts, arr_base_minor = excluded.arr_base_minor, \
             scored = excluded.scored, lane_at_risk = excluded.lane_at_risk, lane_scored = excluded.lane_scored"
        ))
        .bind(day)
        .bind(crate::store::reader::epoch_day(*day))
        .execute(&mut *tx)
        .await?;
    }
    Ok(tx.commit().await?)
}

/// Sets the digital lane's figures of days the daily aggregate did not know; returns the
/// days set (a day the aggregate does not hold at all is left out).
pub(crate) async fn keep_lane_days(store: &Store, days: &[(NaiveDate, i64, i64)]) -> Result<usize> {
    let mut tx = store.write().await?;
    let mut kept = 0;
    for (day, at_risk, scored) in days {
        kept += sqlx::query("UPDATE risk_daily SET lane_at_risk = ?, lane_scored = ? WHERE day = ?")
            .bind(at_risk)
            .bind(scored)
            .bind(day)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(kept)
}

pub(super) async fn write_snapshots(
    tx: &mut Tx,
    outcomes: &[Outcome],
    day: NaiveDate,
) -> Result<()> {
    let entries: Vec<history::Entry> = outcomes
        .iter()
        .map(|o| history::Entry {
            account_id: &o.account_id,
            row: o.row,
            scorecard_id: &o.health.scorecard_id,
            scorecard_version: o.health.scorecard_version,
            score: o.health.score,
            band: o.health.band.as_deref(),
            measures: history::pack(&o.health.measures),
            digital: o.digital,
        })
        .collect();
    history::write(tx, &entries, day).await
}

/// One account's current row written whole (a first score, or a row gone since it was
/// read), run per row, so nothing in it may cost per execution what a set-based write
/// pays once (migration 32).
pub(super) fn upsert_current() -> String {
    let mut sql = String::from(
        "INSERT INTO account_health (account, computed_at, scorecard_id, score, band, band_color, severity_score, \
         severity_level, severity, measures_with_data, measures_total, scores) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT(account) DO UPDATE SET computed_at = excluded.computed_at",
    );
    for column in facts::CURRENT_COLUMNS {
        sql.push_str(&format!(", {column} = excluded.{column}"));
    }
    sql
}

/// A stored current row's update of the columns `moved` names (bits of
/// `CURRENT_COLUMNS`) and its time, bound as [`upsert_current`] is (?1 the account, ?2 the
/// time, then each column's number in order; only those up to the last one used).
pub(super) fn update_current(moved: u16) -> String {
    let mut sql = String::from("UPDATE account_health SET computed_at = ?2");
    for (i, column) in facts::CURRENT_COLUMNS.iter().enumerate() {
        if moved & (1 << i) != 0 {
            sql.push_str(&format!(", {column} = ?{}", i + 3));
        }
    }
    sql.push_str(" WHERE account = ?1");
    sql
}

/// Upserts the current rows that moved, and every outcome's state (its recent series
/// moves each day), keyed by the account's row number (read with its facts).
pub(super) async fn write_current(
    tx: &mut Tx,
    outcomes: &[Outcome],
    at: DateTime<Utc>,
) -> Result<()> {
    let at_text = crate::store::stamp(at);
    crate::store::write_raw(tx, "current health", |conn| {
        // Rows that moved the same columns share one statement (account order within
        // it). A row read with the facts is updated in the columns that moved (an update
        // costs less than an upsert); a new one, or one gone since, is written whole.
        let mut groups: std::collections::BTreeMap<Option<u16>, Vec<(&Outcome, &facts::Current)>> =
            Default::default();
        for o in outcomes {
            if let Some((c, moved)) = o.moved_current.as_ref() {
                groups.entry(*moved).or_default().push((o, c));
            }
        }
        let mut whole = conn.prepare(&upsert_current())?;
        for (moved, rows) in groups {
            let mut update = moved.map(|m| conn.prepare(&update_current(m))).transpose()?;
            let used = update.as_ref().map_or(0, |u| u.parameter_count());
            for (o, c) in rows {
                let row = row_of(o)?;
                let level = c.severity_level.as_str();
                let values: [&dyn rusqlite::ToSql; 12] = [
                    &row,
                    &at_text,
                    &c.scorecard_id,
                    &c.score,
                    &c.band,
                    &c.band_color,
                    &c.severity_score,
                    &level,
                    &c.severity,
                    &c.measures_with_data,
                    &c.measures_total,
                    &c.scores,
                ];
                if let Some(update) = update.as_mut() {
                    for (i, v) in values.iter().enumerate().take(used) {
                        update.raw_bind_parameter(i + 1, *v)?;
                    }
                    if update.raw_execute()? == 1 {
                        continue;
                    }
                }
                whole.execute(&values[..])?;
            }
        }
        // An account's state read with its facts is updated in place (a plain update costs
        // less than an upsert, and a next day writes every account's); one read without a
        // state, or whose state went since, is upserted.
        let mut update = conn.prepare(
            "UPDATE health_state SET recent = ?2, digest = ?3, trend_7 = ?4, trend_30 = ?5, trend_90 = ?6 \
             WHERE account = ?1",
        )?;
        let mut upsert = conn.prepare(
            "INSERT INTO health_state (account, recent, digest, trend_7, trend_30, trend_90) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT(account) DO UPDATE SET recent = excluded.recent, digest = excluded.digest, \
             trend_7 = excluded.trend_7, trend_30 = excluded.trend_30, trend_90 = excluded.trend_90",
        )?;
        for o in outcomes {
            let params = rusqlite::params![
                row_of(o)?,
                o.recent,
                o.digest,
                o.trends[0],
                o.trends[1],
                o.trends[2],
            ];
            if !o.state_stored || update.execute(params)? == 0 {
                upsert.execute(params)?;
            }
        }
        Ok(())
    })
    .await
}

/// An outcome's account row number. Every outcome a recompute writes was read with it; one
/// without would be a new key (SQLite numbers a NULL one), so it is an error.
fn row_of(o: &Outcome) -> rusqlite::Result<i64> {
    o.row.ok_or_else(|| {
        rusqlite::Error::ToSqlConversionFailure(
            format!("account {} has no row number", o.account_id).into(),
        )
    })
}

/// Raises new signals, refreshes the ones still present and clears the ones that are gone,
/// as judged against the active ones read with the batch.
pub(super) async fn write_signals(
    tx: &mut Tx,
    changes: &SignalChanges,
    at: DateTime<Utc>,
) -> Result<()> {
    let at_text = crate::store::stamp(at);
    insert_batched(
        tx,
        "INSERT INTO signals (id, account_id, kind, severity, summary, evidence, detected_at) ",
        7,
        " ON CONFLICT(id) DO UPDATE SET severity = excluded.severity, summary = excluded.summary, evidence = excluded.evidence",
        &changes.upserts,
        |b, s| {
            b.push_bind(s.id.clone())
                .push_bind(s.account_id.clone())
                .push_bind(s.detected.kind)
                .push_bind(s.detected.severity)
                .push_bind(s.detected.summary.clone())
                .push_bind(s.evidence.clone())
                .push_bind(at_text.clone());
        },
    )
    .await?;
    for ids in changes.gone.chunks(crate::store::MAX_VARIABLES - 1) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE signals SET cleared_at = ");
        qb.push_bind(at).push(" WHERE id");
        crate::store::in_list(&mut qb, ids);
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Keeps the usage summaries of the batch's accounts read whole, unless usage was written
/// since they were read (they would summarise what no longer is).
pub(super) async fn write_usage_seen(tx: &mut Tx, seen: &UsageSeenRows) -> Result<()> {
    if seen.rows.is_empty() {
        return Ok(());
    }
    let epoch: i64 = sqlx::query_scalar("SELECT n FROM usage_epoch")
        .fetch_one(&mut **tx)
        .await?;
    if epoch != seen.epoch {
        return Ok(());
    }
    insert_batched(
        tx,
        "INSERT OR REPLACE INTO usage_summary (account, adopt_seat_pct, adopt_weeks, first_run_on, \
         first_run_shares, tail, any_seats) ",
        7,
        "",
        &seen.rows,
        |b, r| {
            let (on, first) = match &r.seen.first_run {
                Some((on, first)) => (Some(*on), usage_weeks::shares(first)),
                None => (None, Vec::new()),
            };
            b.push_bind(r.account)
                .push_bind(r.narrow.adopt_seat_pct)
                .push_bind(r.narrow.adopt_weeks)
                .push_bind(on)
                .push_bind(first)
                .push_bind(usage_weeks::shares(&r.seen.tail))
                .push_bind(r.seen.any_seats);
        },
    )
    .await
}

/// Keeps the feed summaries made from the batch's accounts whose feeds were read, unless a
/// feed was written since they were read (they would summarise what no longer is).
pub(super) async fn write_feed_summaries(tx: &mut Tx, made: &FeedSummaryRows) -> Result<()> {
    if made.rows.is_empty() {
        return Ok(());
    }
    let epoch: i64 = sqlx::query_scalar("SELECT n FROM feed_epoch")
        .fetch_one(&mut **tx)
        .await?;
    if epoch != made.epoch {
        return Ok(());
    }
    let day = crate::store::reader::epoch_day(made.made_on);
    crate::store::write_raw(tx, "feed summaries", |conn| {
        let mut insert = conn.prepare(
            "INSERT OR REPLACE INTO feed_summary (account, made_on, packed) VALUES (?1, ?2, ?3)",
        )?;
        for (account, packed) in &made.rows {
            insert.execute(rusqlite::params![account, day, packed])?;
        }
        Ok(())
    })
    .await
}
