//! Writing a batch's results: the day's history rows, the current rows (the
//! explanation is built when read), signals raised, updated and cleared, band changes on the
//! timeline, and the day's dashboard aggregate.

use super::*;

/// What `ids` add to the day's at-risk aggregate (accounts below 50, their ARR, scored).
pub(super) async fn day_share(
    tx: &mut Tx,
    ids: &[String],
    day: NaiveDate,
) -> Result<(i64, i64, i64)> {
    let mut qb = QueryBuilder::new(
        "SELECT COALESCE(SUM(s.score < 50), 0), COALESCE(SUM(CASE WHEN s.score < 50 THEN a.arr_base_minor ELSE 0 END), 0), \
         COUNT(s.score) FROM health_history s JOIN accounts a ON a.rowid = s.account \
         WHERE s.day = ",
    );
    qb.push_bind(day).push(" AND a.id");
    crate::store::in_list(&mut qb, ids);
    Ok(qb.build_query_as().fetch_one(&mut **tx).await?)
}

/// Puts "health changed band" on the timeline of every account whose band moved since
/// its last score (a first score is not a change).
pub(super) async fn note_band_changes(
    tx: &mut Tx,
    ids: &[String],
    outcomes: &[Outcome],
) -> Result<()> {
    // Nothing scored differently (a same-day refresh of an unchanged account): no query.
    if ids.is_empty() {
        return Ok(());
    }
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT account_id, band FROM account_health WHERE band IS NOT NULL AND account_id",
    );
    crate::store::in_list(&mut qb, ids);
    let before: HashMap<String, String> = qb
        .build_query_as::<(String, String)>()
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect();
    for o in outcomes {
        let (Some(old), Some(new)) = (before.get(&o.account_id), o.health.band.as_ref()) else {
            continue;
        };
        if old != new {
            let score = o
                .health
                .score
                .map_or(String::new(), |s| format!(" (score {s:.0})"));
            crate::timeline::system_event(
                tx,
                &o.account_id,
                None,
                &format!("Health changed band: {old} → {new}{score}"),
            )
            .await?;
        }
    }
    Ok(())
}

/// Rewrites the dashboards' daily at-risk aggregates for `days` from their snapshots.
pub(super) async fn aggregate_days(store: &Store, days: &[NaiveDate]) -> Result<()> {
    let mut tx = store.write().await?;
    for day in days {
        sqlx::query(
            "INSERT INTO risk_daily (day, accounts, arr_base_minor, scored)              SELECT ?, COALESCE(SUM(s.score < 50), 0), COALESCE(SUM(CASE WHEN s.score < 50 THEN a.arr_base_minor ELSE 0 END), 0), COUNT(s.score)              FROM health_history s JOIN accounts a ON a.rowid = s.account WHERE s.day = ?              ON CONFLICT(day) DO UPDATE SET accounts = excluded.accounts, arr_base_minor = excluded.arr_base_minor, scored = excluded.scored",
        )
        .bind(day)
        .bind(day)
        .execute(&mut *tx)
        .await?;
    }
    Ok(tx.commit().await?)
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
            scorecard_id: &o.health.scorecard_id,
            scorecard_version: o.health.scorecard_version,
            score: o.health.score,
            band: o.health.band.as_deref(),
            measures: history::pack(&o.health.measures),
        })
        .collect();
    history::write(tx, &entries, day).await
}

pub(super) async fn write_current(
    tx: &mut Tx,
    outcomes: &[Outcome],
    at: DateTime<Utc>,
) -> Result<()> {
    let rows: Vec<(&Outcome, String)> = outcomes.iter().map(|o| (o, o.severity.encode())).collect();
    insert_batched(
        tx,
        "INSERT INTO account_health (account_id, computed_at, scorecard_id, score, band, band_color, trend_7, trend_30, trend_90, severity_score, \
         severity_level, severity, measures_with_data, measures_total) ",
        14,
        " ON CONFLICT(account_id) DO UPDATE SET computed_at = excluded.computed_at, scorecard_id = excluded.scorecard_id, score = excluded.score, \
         band = excluded.band, band_color = excluded.band_color, trend_7 = excluded.trend_7, trend_30 = excluded.trend_30, trend_90 = excluded.trend_90, \
         severity_score = excluded.severity_score, severity_level = excluded.severity_level, severity = excluded.severity, \
         measures_with_data = excluded.measures_with_data, measures_total = excluded.measures_total \
         WHERE (account_health.scorecard_id, account_health.score, account_health.band, account_health.band_color, \
                account_health.trend_7, account_health.trend_30, account_health.trend_90, account_health.severity_score, \
                account_health.severity_level, account_health.severity, account_health.measures_with_data, account_health.measures_total) \
           IS NOT (excluded.scorecard_id, excluded.score, excluded.band, excluded.band_color, excluded.trend_7, excluded.trend_30, \
                excluded.trend_90, excluded.severity_score, excluded.severity_level, excluded.severity, excluded.measures_with_data, \
                excluded.measures_total)",
        &rows,
        |b, (o, severity)| {
            b.push_bind(o.account_id.clone())
                .push_bind(at)
                .push_bind(o.health.scorecard_id.clone())
                .push_bind(o.health.score)
                .push_bind(o.health.band.clone())
                .push_bind(o.health.band_color.clone())
                .push_bind(o.trends[0])
                .push_bind(o.trends[1])
                .push_bind(o.trends[2])
                .push_bind(o.severity.score)
                .push_bind(o.severity.level)
                .push_bind(severity.clone())
                .push_bind(o.health.coverage.with_data)
                .push_bind(o.health.coverage.total);
        },
    )
    .await?;
    insert_batched(
        tx,
        "INSERT INTO health_state (account_id, recent, scores, digest) ",
        4,
        " ON CONFLICT(account_id) DO UPDATE SET recent = excluded.recent, scores = excluded.scores, digest = excluded.digest",
        outcomes,
        |b, o| {
            b.push_bind(o.account_id.clone())
                .push_bind(o.recent.clone())
                .push_bind(history::encode_exact(&o.health.measures))
                .push_bind(o.digest);
        },
    )
    .await
}

/// Raises new signals, refreshes the ones still present and clears the ones that are gone.
pub(super) async fn write_signals(
    tx: &mut Tx,
    chunk: &[String],
    outcomes: &[Outcome],
    at: DateTime<Utc>,
) -> Result<(u32, u32)> {
    if chunk.is_empty() {
        return Ok((0, 0));
    }
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT id, account_id, kind, severity, summary, evidence FROM signals WHERE cleared_at IS NULL AND account_id IN (",
    );
    let mut list = qb.separated(", ");
    for id in chunk {
        list.push_bind(id.as_str());
    }
    qb.push(")");
    type ActiveRow = (String, String, String, Level, String, String);
    let active: Vec<ActiveRow> = qb.build_query_as().fetch_all(&mut **tx).await?;
    let mut active: HashMap<(String, String), (String, Level, String, String)> = active
        .into_iter()
        .map(|(id, a, k, sev, summary, evidence)| ((a, k), (id, sev, summary, evidence)))
        .collect();
    // New signals and changed ones go in one upsert by id; gone ones are cleared together.
    type Upsert<'a> = (String, &'a str, &'a Detected, String);
    let mut upserts: Vec<Upsert> = Vec::new();
    let mut raised = 0;
    for o in outcomes {
        for d in &o.detected {
            let evidence = serde_json::to_string(&d.evidence)
                .map_err(|e| Error::invalid("signal", e.to_string()))?;
            match active.remove(&(o.account_id.clone(), d.kind.as_str().to_string())) {
                // Unchanged: nothing to write, which is most signals on most days.
                Some((_, sev, summary, ev))
                    if sev == d.severity && summary == d.summary && ev == evidence => {}
                Some((id, ..)) => upserts.push((id, &o.account_id, d, evidence)),
                None => {
                    upserts.push((new_id(), &o.account_id, d, evidence));
                    raised += 1;
                }
            }
        }
    }
    insert_batched(
        tx,
        "INSERT INTO signals (id, account_id, kind, severity, summary, evidence, detected_at) ",
        7,
        " ON CONFLICT(id) DO UPDATE SET severity = excluded.severity, summary = excluded.summary, evidence = excluded.evidence",
        &upserts,
        |b, (id, account, d, evidence)| {
            b.push_bind(id.clone())
                .push_bind(account.to_string())
                .push_bind(d.kind)
                .push_bind(d.severity)
                .push_bind(d.summary.clone())
                .push_bind(evidence.clone())
                .push_bind(at);
        },
    )
    .await?;
    // Accounts that were evaluated but no longer show a signal: clear it.
    let evaluated: std::collections::HashSet<&str> =
        outcomes.iter().map(|o| o.account_id.as_str()).collect();
    let gone: Vec<String> = active
        .into_iter()
        .filter(|((account_id, _), _)| evaluated.contains(account_id.as_str()))
        .map(|(_, (id, ..))| id)
        .collect();
    for ids in gone.chunks(crate::store::MAX_VARIABLES - 1) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE signals SET cleared_at = ");
        qb.push_bind(at).push(" WHERE id");
        crate::store::in_list(&mut qb, ids);
        qb.build().execute(&mut **tx).await?;
    }
    Ok((raised, gone.len() as u32))
}
