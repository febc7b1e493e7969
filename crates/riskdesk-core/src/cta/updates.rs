//! Weekly risk updates on CTAs, and the flag that marks one for leadership.

use super::*;

/// A weekly risk update on a CTA: where things stand, in three parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RiskUpdate {
    pub id: String,
    pub author_name: Option<String>,
    pub background: String,
    pub done_so_far: String,
    pub next_steps: String,
    pub created_at: DateTime<Utc>,
}

/// Adds a weekly risk update; history is kept, newest shown first.
pub async fn add_update(
    tx: &mut Tx,
    cta_id: &str,
    author_id: Option<&str>,
    background: &str,
    done_so_far: &str,
    next_steps: &str,
) -> Result<String> {
    add_update_at(
        tx,
        cta_id,
        author_id,
        [background, done_so_far, next_steps],
        Utc::now(),
    )
    .await
}

/// `add_update` at a given time: the demo book's work history is dated in the past.
pub async fn add_update_at(
    tx: &mut Tx,
    cta_id: &str,
    author_id: Option<&str>,
    [background, done_so_far, next_steps]: [&str; 3],
    at: DateTime<Utc>,
) -> Result<String> {
    if [background, done_so_far, next_steps]
        .iter()
        .all(|s| s.trim().is_empty())
    {
        return Err(Error::invalid(
            "update",
            "write at least one of background, done so far and next steps",
        ));
    }
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM ctas WHERE id = ?")
        .bind(cta_id)
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_none() {
        return Err(Error::NotFound {
            entity: "CTA",
            id: cta_id.to_string(),
        });
    }
    let id = new_id();
    sqlx::query("INSERT INTO cta_updates (id, cta_id, author_id, background, done_so_far, next_steps, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(cta_id)
        .bind(author_id)
        .bind(background.trim())
        .bind(done_so_far.trim())
        .bind(next_steps.trim())
        .bind(at)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE ctas SET status = CASE WHEN status = 'open' THEN 'in_progress' ELSE status END, updated_at = ? WHERE id = ?")
        .bind(Utc::now())
        .bind(cta_id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

pub async fn updates_of(pool: &SqlitePool, cta_id: &str) -> Result<Vec<RiskUpdate>> {
    Ok(sqlx::query_as(
        "SELECT c.id, u.name AS author_name, c.background, c.done_so_far, c.next_steps, c.created_at FROM cta_updates c \
         LEFT JOIN users u ON u.id = c.author_id WHERE c.cta_id = ? ORDER BY c.created_at DESC, c.rowid DESC",
    )
    .bind(cta_id)
    .fetch_all(pool)
    .await?)
}

/// Sets or clears the CSM's flag on a CTA.
pub async fn set_flag(tx: &mut Tx, cta_id: &str, flagged: bool) -> Result<()> {
    let done = sqlx::query("UPDATE ctas SET flagged = ?, updated_at = ? WHERE id = ?")
        .bind(flagged)
        .bind(Utc::now())
        .bind(cta_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(Error::NotFound {
            entity: "CTA",
            id: cta_id.to_string(),
        });
    }
    Ok(())
}
