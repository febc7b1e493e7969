//! Reading an account's health back as the account page shows it: the current score
//! and its explanation, what changed since the previous day, the chart, signals and
//! overrides.

use super::*;

/// A signal as stored: detected, and maybe cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Signal {
    pub id: String,
    pub kind: SignalKind,
    pub label: String,
    pub severity: Level,
    pub summary: String,
    pub evidence: Vec<String>,
    pub detected_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HistoryPoint {
    pub day: NaiveDate,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Trend {
    pub days_7: Option<f64>,
    pub days_30: Option<f64>,
    pub days_90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OverrideView {
    pub id: String,
    pub measure: MeasureKind,
    pub score: f64,
    pub comment: String,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_on: Option<NaiveDate>,
}

/// Everything the account page shows about health, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountHealth {
    pub current: Option<HealthScore>,
    pub computed_at: Option<DateTime<Utc>>,
    /// What moved against the previous snapshot, largest first.
    pub changes: Vec<String>,
    pub previous_day: Option<NaiveDate>,
    pub trend: Trend,
    /// Daily scores, oldest first.
    pub history: Vec<HistoryPoint>,
    /// Active signals first, then those cleared in the last 90 days.
    pub signals: Vec<Signal>,
    pub severity: Option<Severity>,
    pub overrides: Vec<OverrideView>,
}

/// The current score as `account_health` keeps it; its explanation is built when read.
#[derive(sqlx::FromRow)]
struct CurrentRow {
    computed_at: DateTime<Utc>,
    score: Option<f64>,
    trend_7: Option<f64>,
    trend_30: Option<f64>,
    trend_90: Option<f64>,
    severity_score: f64,
    severity_level: Level,
    severity: String,
}

pub async fn account_health(store: &Store, account_id: &str) -> Result<AccountHealth> {
    let pool = store.pool();
    let row: Option<CurrentRow> = sqlx::query_as(
        "SELECT h.computed_at, h.score, s.trend_7, s.trend_30, s.trend_90, h.severity_score, h.severity_level, h.severity FROM accounts a \
         JOIN account_health h ON h.account = a.rowid LEFT JOIN health_state s ON s.account = a.rowid WHERE a.id = ?",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    let stored = history::of_account(pool, account_id).await?;
    // The day the stored signals were last judged: their day counts read as of then (a
    // cleared one's as of the day it cleared).
    let judged_on = stored
        .last()
        .map_or_else(|| Utc::now().date_naive(), |(d, _, _)| *d);
    // The newest history row is the day last scored; the one before it is what changed since.
    let previous = stored.iter().rev().nth(1).map(|(d, _, m)| (*d, m));
    let (current, trend, severity, computed_at) = match row {
        Some(r) => {
            let day = stored
                .last()
                .map_or(r.computed_at.date_naive(), |(d, _, _)| *d);
            let severity = crate::severity::read_stored(
                &r.severity,
                r.score,
                r.severity_score,
                r.severity_level,
                day,
            )?;
            let mut current = rebuilt(store, account_id, day).await?;
            // The stored score is the one ranked and shown in lists; its explanation is
            // rebuilt from the same data (equal but for the last bit of a float).
            if let Some(c) = current.as_mut() {
                c.score = r.score;
            }
            (
                current,
                Trend {
                    days_7: r.trend_7,
                    days_30: r.trend_30,
                    days_90: r.trend_90,
                },
                Some(severity),
                Some(r.computed_at),
            )
        }
        None => (
            None,
            Trend {
                days_7: None,
                days_30: None,
                days_90: None,
            },
            None,
            None,
        ),
    };
    let changes = match (&current, previous) {
        (Some(c), Some((_, p))) => scorecard::changes(&history::unpack(p), &c.measures),
        _ => Vec::new(),
    };
    let history: Vec<HistoryPoint> = stored
        .iter()
        .filter_map(|(day, score, _)| score.map(|score| HistoryPoint { day: *day, score }))
        .collect();
    type SignalRow = (
        String,
        SignalKind,
        Level,
        String,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let since = Utc::now() - Duration::days(90);
    let signals = sqlx::query_as::<_, SignalRow>(
        "SELECT id, kind, severity, summary, evidence, detected_at, cleared_at FROM signals WHERE account_id = ? \
         AND (cleared_at IS NULL OR cleared_at >= ?) ORDER BY cleared_at IS NOT NULL, CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, detected_at DESC",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(id, kind, severity, summary, evidence, detected_at, cleared_at)| {
        let on = cleared_at.map_or(judged_on, |t| t.date_naive());
        let evidence: Vec<String> = serde_json::from_str(&evidence).unwrap_or_default();
        Signal {
            id,
            kind,
            label: kind.label().to_string(),
            severity,
            summary: crate::signals::render(kind, &summary, on),
            evidence: evidence
                .iter()
                .map(|e| crate::signals::render(kind, e, on))
                .collect(),
            detected_at,
            cleared_at,
        }
    })
    .collect();
    let overrides = sqlx::query_as::<_, (String, String, f64, String, Option<String>, DateTime<Utc>, Option<NaiveDate>)>(
        "SELECT o.id, o.measure, o.score, o.comment, u.name, o.created_at, o.expires_on FROM measure_overrides o \
         LEFT JOIN users u ON u.id = o.author_id WHERE o.account_id = ? AND o.removed_at IS NULL ORDER BY o.created_at DESC",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .filter_map(|(id, measure, score, comment, author, created_at, expires_on)| {
        Some(OverrideView { id, measure: measure.parse().ok()?, score, comment, author, created_at, expires_on })
    })
    .collect();
    Ok(AccountHealth {
        computed_at,
        previous_day: previous.map(|(d, _)| d),
        current,
        changes,
        trend,
        history,
        signals,
        severity,
        overrides,
    })
}

/// The account's score as scoring produces it on `day` from what the store holds now:
/// labels, raw values as a person reads them and evidence included. What a refresh wrote
/// that day is this, so the explanation need not be stored.
pub(crate) async fn rebuilt(
    store: &Store,
    account_id: &str,
    day: NaiveDate,
) -> Result<Option<HealthScore>> {
    let cards = scorecards(store).await?;
    let thresholds = signal_thresholds(store).await?;
    let sev = severity_config(store).await?;
    let ids = [account_id.to_string()];
    let facts = facts::load(
        store,
        &ids,
        facts::Span::List,
        day - Duration::days(history::RECENT_DAYS),
    )
    .await?;
    Ok(facts
        .first()
        .and_then(|f| {
            evaluate(
                &cards,
                f,
                day,
                &thresholds,
                &sev,
                &Default::default(),
                scorecard::Words::Built,
            )
        })
        .map(|o| o.health))
}
