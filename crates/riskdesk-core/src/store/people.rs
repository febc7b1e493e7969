//! Teams and users.

use sqlx::SqlitePool;

use super::{insert_batched, Tx};
use crate::model::{Team, User};
use crate::{Error, Result};

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
