//! Teams and users.

use sqlx::SqlitePool;

use super::{insert_batched, Tx};
use chrono::Utc;

use crate::model::{NewPerson, Role, Team, User};
use crate::{new_id, Error, Result};

pub async fn upsert_teams(tx: &mut Tx, teams: &[Team]) -> Result<()> {
    insert_batched(
        tx,
        "INSERT INTO teams (id, name, created_at) ",
        3,
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name",
        teams,
        |b, t| {
            b.push_bind(t.id.clone())
                .push_bind(t.name.clone())
                .push_bind(t.created_at);
        },
    )
    .await
}

pub async fn upsert_users(tx: &mut Tx, users: &[User]) -> Result<()> {
    for u in users {
        if u.name.trim().is_empty() {
            return Err(Error::invalid(
                "user.name",
                format!("user {} has an empty name", u.id),
            ));
        }
    }
    insert_batched(
        tx,
        "INSERT INTO users (id, name, email, role, title, team_id, created_at) ",
        7,
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, email = excluded.email, \
         role = excluded.role, title = excluded.title, team_id = excluded.team_id",
        users,
        |b, u| {
            b.push_bind(u.id.clone())
                .push_bind(u.name.clone())
                .push_bind(u.email.clone())
                .push_bind(u.role)
                .push_bind(u.title.clone())
                .push_bind(u.team_id.clone())
                .push_bind(u.created_at);
        },
    )
    .await
}

pub async fn list_teams(pool: &SqlitePool) -> Result<Vec<Team>> {
    Ok(
        sqlx::query_as("SELECT id, name, created_at FROM teams ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

/// Every user, managers and executives first, then by name.
pub async fn list_users(pool: &SqlitePool) -> Result<Vec<User>> {
    Ok(sqlx::query_as(
        "SELECT id, name, email, role, title, team_id, created_at FROM users \
         ORDER BY CASE role WHEN 'executive' THEN 0 WHEN 'manager' THEN 1 WHEN 'admin' THEN 2 ELSE 3 END, name",
    )
    .fetch_all(pool)
    .await?)
}

pub async fn get_user(pool: &SqlitePool, id: &str) -> Result<User> {
    sqlx::query_as(
        "SELECT id, name, email, role, title, team_id, created_at FROM users WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::NotFound {
        entity: "user",
        id: id.to_string(),
    })
}

/// Everyone in `user_id`'s team (the user included), for "my team" views.
pub async fn team_member_ids(pool: &SqlitePool, user_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE id = ? OR team_id = (SELECT team_id FROM users WHERE id = ?) ORDER BY id",
    )
    .bind(user_id)
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

/// What writing a person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Inserted,
    Updated,
    Unchanged,
}

async fn team_id(tx: &mut Tx, name: &str) -> Result<String> {
    if let Some(id) = sqlx::query_scalar("SELECT id FROM teams WHERE name = ? COLLATE NOCASE")
        .bind(name.trim())
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(id);
    }
    let id = new_id();
    sqlx::query("INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)")
        .bind(&id)
        .bind(name.trim())
        .bind(Utc::now())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

type Existing = (
    String,
    String,
    String,
    Role,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Inserts or updates one person, field by field: what the file leaves out is kept.
pub(crate) async fn write_person(tx: &mut Tx, p: &NewPerson) -> Result<Written> {
    let email = p.email.trim().to_lowercase();
    let found: Option<Existing> = sqlx::query_as(
        "SELECT id, name, email, role, title, team_id, salesforce_id, hubspot_id FROM users \
         WHERE (salesforce_id IS NOT NULL AND salesforce_id = ?) OR (hubspot_id IS NOT NULL AND hubspot_id = ?) \
         OR lower(email) = ? ORDER BY (lower(email) = ?) LIMIT 1",
    )
    .bind(p.salesforce_id.as_deref())
    .bind(p.hubspot_id.as_deref())
    .bind(&email)
    .bind(&email)
    .fetch_optional(&mut **tx)
    .await?;
    let team = match p.team.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(team_id(tx, t).await?),
        None => None,
    };
    match found {
        None => {
            sqlx::query(
                "INSERT INTO users (id, name, email, role, title, team_id, created_at, salesforce_id, hubspot_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(new_id())
            .bind(p.name.trim())
            .bind(&email)
            .bind(p.role.unwrap_or(Role::Csm))
            .bind(p.title.as_deref().unwrap_or("").trim())
            .bind(team)
            .bind(Utc::now())
            .bind(p.salesforce_id.as_deref())
            .bind(p.hubspot_id.as_deref())
            .execute(&mut **tx)
            .await?;
            Ok(Written::Inserted)
        }
        Some((id, name, old_email, role, title, old_team, sf, hs)) => {
            let next = (
                p.name.trim().to_string(),
                email.clone(),
                p.role.unwrap_or(role),
                p.title
                    .as_deref()
                    .map_or(title.clone(), |t| t.trim().to_string()),
                team.or(old_team.clone()),
                p.salesforce_id.clone().or(sf.clone()),
                p.hubspot_id.clone().or(hs.clone()),
            );
            if next == (name, old_email, role, title, old_team, sf, hs) {
                return Ok(Written::Unchanged);
            }
            sqlx::query(
                "UPDATE users SET name = ?, email = ?, role = ?, title = ?, team_id = ?, salesforce_id = ?, hubspot_id = ? WHERE id = ?",
            )
            .bind(next.0)
            .bind(next.1)
            .bind(next.2)
            .bind(next.3)
            .bind(next.4)
            .bind(next.5)
            .bind(next.6)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Ok(Written::Updated)
        }
    }
}

/// Deactivates a person (or activates them again).
pub(crate) async fn set_active(tx: &mut Tx, id: &str, active: bool) -> Result<()> {
    sqlx::query("UPDATE users SET active = ? WHERE id = ? AND active <> ?")
        .bind(active)
        .bind(id)
        .bind(active)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets a person's email to their id, which no email is: the email is free for a pulled
/// person taking this one's place (`sync/fold.rs`).
pub(crate) async fn free_email(tx: &mut Tx, id: &str) -> Result<()> {
    sqlx::query("UPDATE users SET email = id WHERE id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Gives a person their email back (the pulled person did not take their place).
pub(crate) async fn restore_email(tx: &mut Tx, id: &str, email: &str) -> Result<()> {
    sqlx::query("UPDATE users SET email = ? WHERE id = ?")
        .bind(email)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes a person nothing names any more (folded into the server's record).
pub(crate) async fn remove_folded(tx: &mut Tx, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
