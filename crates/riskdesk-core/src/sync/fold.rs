//! One person, one record: a device that made a person of its own and never sent it (the
//! CSM who started empty before signing in) and then pulls the server's record of the same
//! email takes the server's. Without it the pulled person is refused (emails are unique)
//! and everything naming them, their accounts first, waits for a parent that never comes.

use serde_json::{Map, Value};

use crate::store::{people, settings, Tx};
use crate::Result;

/// A local person about to be replaced by the pulled one of the same email.
pub(super) struct Fold {
    local: String,
    incoming: String,
    email: String,
}

/// Every column that names a person: each foreign key to `users`, read from the schema so
/// a table added later is covered, and the worklist's copy of the owner.
async fn naming_columns(tx: &mut Tx) -> Result<Vec<(String, String)>> {
    let mut columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, f.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table' AND f.\"table\" = 'users' ORDER BY m.name",
    )
    .fetch_all(&mut **tx)
    .await?;
    columns.push(("account_priority".into(), "owner_id".into()));
    Ok(columns)
}

/// Frees the emails of local people that pulled `inserts` (people new to this device)
/// carry under another id, so the pulled ones can be written; returns what to finish.
pub(super) async fn prepare(
    tx: &mut Tx,
    inserts: &[(String, Map<String, Value>)],
) -> Result<Vec<Fold>> {
    let mut folds = Vec::new();
    for (id, values) in inserts {
        let Some(email) = values.get("email").and_then(Value::as_str) else {
            continue;
        };
        // Only a person this device never sent: one the server holds may be named by
        // other devices' records, and folding it here would leave them apart.
        let local: Option<String> = sqlx::query_scalar(
            "SELECT id FROM users WHERE lower(email) = lower(?) AND id <> ? AND NOT EXISTS \
             (SELECT 1 FROM sync_records r WHERE r.entity = 'person' AND r.entity_id = users.id)",
        )
        .bind(email)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(local) = local else { continue };
        // Out of the way until the pulled record is in.
        people::free_email(tx, &local).await?;
        folds.push(Fold {
            local,
            incoming: id.clone(),
            email: email.to_string(),
        });
    }
    Ok(folds)
}

/// Moves what named each local person onto the pulled one and removes the local one;
/// a pulled person the store refused after all (their team not here yet) leaves the local
/// one as it was, to be folded when it comes.
pub(super) async fn finish(tx: &mut Tx, folds: Vec<Fold>) -> Result<usize> {
    if folds.is_empty() {
        return Ok(0);
    }
    let columns = naming_columns(tx).await?;
    let mut folded = 0;
    for f in folds {
        let written: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)")
            .bind(&f.incoming)
            .fetch_one(&mut **tx)
            .await?;
        if !written {
            people::restore_email(tx, &f.local, &f.email).await?;
            continue;
        }
        for (table, column) in &columns {
            // Names come from the schema, never from input.
            sqlx::query(&format!(
                "UPDATE {table} SET {column} = ?1 WHERE {column} = ?2"
            ))
            .bind(&f.incoming)
            .bind(&f.local)
            .execute(&mut **tx)
            .await?;
        }
        // The device's user, when it was the local one, is now the server's.
        settings::replace(tx, settings::CURRENT_USER, &f.local, &f.incoming).await?;
        // Changes not yet sent name the pulled person; the local one is never sent.
        let (local, incoming) = (
            Value::from(f.local.as_str()),
            Value::from(f.incoming.as_str()),
        );
        sqlx::query("UPDATE sync_outbox SET value = ? WHERE value = ? AND field <> '_deleted'")
            .bind(incoming.to_string())
            .bind(local.to_string())
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM sync_outbox WHERE entity = 'person' AND entity_id = ?")
            .bind(&f.local)
            .execute(&mut **tx)
            .await?;
        people::remove_folded(tx, &f.local).await?;
        tracing::info!(local = %f.local, server = %f.incoming, "a person made on this device is now the server's record of the same email");
        folded += 1;
    }
    Ok(folded)
}
