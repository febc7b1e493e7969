//! What shapes scoring, as saved: signal thresholds, severity, and the scorecards
//! (the shipped ones written the first time a store is read).

use super::*;

const SIGNAL_THRESHOLDS: &str = "signal_thresholds";

const SEVERITY: &str = "severity";

pub async fn signal_thresholds(store: &crate::Store) -> Result<SignalThresholds> {
    crate::config::cached(store, SIGNAL_THRESHOLDS).await
}

pub async fn save_signal_thresholds(store: &Store, t: &SignalThresholds) -> Result<()> {
    if let [first, ..] = t.problems().as_slice() {
        return Err(Error::invalid("signal thresholds", first.clone()));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SIGNAL_THRESHOLDS, t).await?;
    Ok(tx.commit().await?)
}

pub async fn severity_config(store: &crate::Store) -> Result<SeverityConfig> {
    crate::config::cached(store, SEVERITY).await
}

pub async fn save_severity_config(store: &Store, c: &SeverityConfig) -> Result<()> {
    if let [first, ..] = c.problems().as_slice() {
        return Err(Error::invalid("severity", first.clone()));
    }
    let mut tx = store.write().await?;
    crate::config::set(&mut tx, SEVERITY, c).await?;
    Ok(tx.commit().await?)
}

/// Every scorecard, the defaults first written when the store has none.
pub async fn scorecards(store: &Store) -> Result<Vec<Scorecard>> {
    store.cached("scorecards", read_scorecards(store)).await
}

async fn read_scorecards(store: &Store) -> Result<Vec<Scorecard>> {
    let rows: Vec<(String, String, i32, String)> =
        sqlx::query_as("SELECT id, name, version, definition FROM scorecards ORDER BY rowid")
            .fetch_all(store.pool())
            .await?;
    if rows.is_empty() {
        let mut tx = store.write().await?;
        // Another task may have written them since the read (two refreshes at first start).
        let written: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM scorecards)")
            .fetch_one(&mut *tx)
            .await?;
        for (name, definition) in scorecard::default_scorecards()
            .into_iter()
            .filter(|_| !written)
        {
            write_scorecard(&mut tx, &new_id(), &name, 1, &definition).await?;
        }
        tx.commit().await?;
        return Box::pin(read_scorecards(store)).await;
    }
    rows.into_iter()
        .map(|(id, name, version, json)| {
            let definition = serde_json::from_str(&json)
                .map_err(|e| Error::invalid(format!("scorecard {name}"), e.to_string()))?;
            Ok(Scorecard {
                id,
                name,
                version,
                definition,
            })
        })
        .collect()
}

pub(super) async fn write_scorecard(
    tx: &mut Tx,
    id: &str,
    name: &str,
    version: i32,
    d: &ScorecardDefinition,
) -> Result<()> {
    let json = serde_json::to_string(d).map_err(|e| Error::invalid("scorecard", e.to_string()))?;
    sqlx::query(
        "INSERT INTO scorecards (id, name, definition, version, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, definition = excluded.definition, version = excluded.version, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(json)
    .bind(version)
    .bind(Utc::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates (id None) or updates a scorecard after validating it; returns it as saved.
/// Past snapshots keep the measures they were computed with, so history stays readable.
pub async fn save_scorecard(
    store: &Store,
    id: Option<&str>,
    name: &str,
    definition: &ScorecardDefinition,
) -> Result<Scorecard> {
    if name.trim().is_empty() {
        return Err(Error::invalid("scorecard.name", "must not be empty"));
    }
    definition.validate()?;
    let existing = scorecards(store).await?;
    if existing
        .iter()
        .any(|c| c.name == name.trim() && Some(c.id.as_str()) != id)
    {
        return Err(Error::invalid(
            "scorecard.name",
            format!("another scorecard is called {name}"),
        ));
    }
    let (id, version) = match id {
        Some(id) => {
            let current = existing
                .iter()
                .find(|c| c.id == id)
                .ok_or_else(|| Error::NotFound {
                    entity: "scorecard",
                    id: id.to_string(),
                })?;
            (id.to_string(), current.version + 1)
        }
        None => (new_id(), 1),
    };
    let mut tx = store.write().await?;
    write_scorecard(&mut tx, &id, name.trim(), version, definition).await?;
    tx.commit().await?;
    Ok(Scorecard {
        id,
        name: name.trim().to_string(),
        version,
        definition: definition.clone(),
    })
}
