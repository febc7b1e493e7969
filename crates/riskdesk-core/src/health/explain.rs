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

/// The current score and its explanation as `account_health` keeps them.
#[derive(sqlx::FromRow)]
struct CurrentRow {
    computed_at: DateTime<Utc>,
    scorecard_id: String,
    scorecard_name: String,
    scorecard_version: i32,
    score: Option<f64>,
    band: Option<String>,
    band_color: Option<String>,
    measures: Vec<u8>,
    trend_7: Option<f64>,
    trend_30: Option<f64>,
    trend_90: Option<f64>,
    severity: String,
}

pub async fn account_health(pool: &SqlitePool, account_id: &str) -> Result<AccountHealth> {
    let row: Option<CurrentRow> = sqlx::query_as(
        "SELECT h.computed_at, h.scorecard_id, COALESCE(x.scorecard_name, '') AS scorecard_name, \
         COALESCE(x.scorecard_version, 0) AS scorecard_version, h.score, h.band, h.band_color, \
         COALESCE(x.measures, '[]') AS measures, h.trend_7, h.trend_30, h.trend_90, h.severity \
         FROM account_health h LEFT JOIN health_explanations x ON x.account_id = h.account_id WHERE h.account_id = ?",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await?;
    let stored = history::of_account(pool, account_id).await?;
    // The newest history row is today's score; the one before it is what changed since.
    let previous = stored.iter().rev().nth(1).map(|(d, _, m)| (*d, m));
    let (current, trend, severity, computed_at) = match row {
        Some(r) => {
            let measures: Vec<MeasureResult> =
                serde_json::from_str(&super::packed::unpack(&r.measures)?)
                    .map_err(|e| Error::invalid("measures", e.to_string()))?;
            let severity = serde_json::from_str::<Severity>(&r.severity)
                .map_err(|e| Error::invalid("severity", e.to_string()))?;
            (
                Some(HealthScore {
                    scorecard_id: r.scorecard_id,
                    scorecard_name: r.scorecard_name,
                    scorecard_version: r.scorecard_version,
                    score: r.score,
                    band: r.band,
                    band_color: r.band_color,
                    coverage: crate::scorecard::Coverage::of(&measures),
                    measures,
                }),
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
        (Some(c), Some((_, p))) => scorecard::changes(&history::decode(p), &c.measures),
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
    .map(|(id, kind, severity, summary, evidence, detected_at, cleared_at)| Signal {
        id,
        kind,
        label: kind.label().to_string(),
        severity,
        summary,
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        detected_at,
        cleared_at,
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
