//! Passwords (argon2id), bearer tokens (random, stored as SHA-256, expiring, revocable)
//! and the extractor every endpoint uses to know who is calling.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::error::{Error, Result};
use crate::AppState;

/// How long a sign-in lasts.
pub const TOKEN_DAYS: i64 = 30;

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 10 {
        return Err(Error::BadRequest(
            "a password needs at least 10 characters".into(),
        ));
    }
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub team_id: Option<String>,
}

impl Caller {
    /// Managers, executives and admins see the organisation's escalation work.
    pub fn sees_org(&self) -> bool {
        matches!(self.role.as_str(), "manager" | "executive" | "admin")
    }

    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub user: Caller,
}

/// Checks a password and issues a token. The same answer for an unknown email and a
/// wrong password, so sign-in does not reveal who has an account.
pub async fn sign_in(pool: &SqlitePool, email: &str, password: &str) -> Result<Session> {
    /// id, email, role, team, password hash.
    type UserRow = (String, String, String, Option<String>, Option<String>);
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, role, team_id, password_hash FROM users WHERE email = ? COLLATE NOCASE",
    )
    .bind(email.trim())
    .fetch_optional(pool)
    .await?;
    let Some((user_id, email, role, team_id, Some(phc))) = row else {
        return Err(Error::Unauthorized("wrong email or password"));
    };
    if !verify_password(password, &phc) {
        return Err(Error::Unauthorized("wrong email or password"));
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let now = Utc::now();
    let expires_at = now + Duration::days(TOKEN_DAYS);
    sqlx::query("INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(token_hash(&token))
        .bind(&user_id)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(Session {
        token,
        expires_at,
        user: Caller {
            user_id,
            email,
            role,
            team_id,
        },
    })
}

pub async fn revoke(pool: &SqlitePool, token: &str) -> Result<()> {
    sqlx::query("UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL")
        .bind(Utc::now())
        .bind(token_hash(token))
        .execute(pool)
        .await?;
    Ok(())
}

/// Revokes every token of a user (an admin locking someone out).
pub async fn revoke_all(pool: &SqlitePool, email: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND user_id = (SELECT id FROM users WHERE email = ? COLLATE NOCASE)",
    )
    .bind(Utc::now())
    .bind(email)
    .execute(pool)
    .await?
    .rows_affected())
}

/// The raw bearer token of a request.
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(Error::Unauthorized("no Authorization header"))?
            .to_str()
            .map_err(|_| Error::Unauthorized("unreadable Authorization header"))?;
        let token = header.strip_prefix("Bearer ").ok_or(Error::Unauthorized(
            "the Authorization header is not a bearer token",
        ))?;
        Ok(Bearer(token.trim().to_string()))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT u.id, u.email, u.role, u.team_id FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?",
        )
        .bind(token_hash(&token))
        .bind(Utc::now())
        .fetch_optional(&state.pool)
        .await?;
        let (user_id, email, role, team_id) = row.ok_or(Error::Unauthorized(
            "the token is unknown, expired or revoked",
        ))?;
        Ok(Caller {
            user_id,
            email,
            role,
            team_id,
        })
    }
}

/// Creates (or updates) a team and a user; the admin CLI's path.
pub async fn add_user(
    pool: &SqlitePool,
    email: &str,
    name: &str,
    role: &str,
    team: Option<&str>,
    password: &str,
) -> Result<String> {
    if !matches!(role, "csm" | "manager" | "executive" | "admin") {
        return Err(Error::BadRequest(format!(
            "'{role}' is not a role: csm, manager, executive or admin"
        )));
    }
    if !email.contains('@') {
        return Err(Error::BadRequest(format!(
            "'{email}' is not an email address"
        )));
    }
    let hash = hash_password(password)?;
    let mut tx = pool.begin().await?;
    let team_id = match team {
        Some(name) => {
            sqlx::query("INSERT INTO teams (id, name) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(name)
                .execute(&mut *tx)
                .await?;
            Some(
                sqlx::query_scalar::<_, String>("SELECT id FROM teams WHERE name = ?")
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?,
            )
        }
        None => None,
    };
    let id: String = sqlx::query_scalar(
        "INSERT INTO users (id, email, name, role, team_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT(email) DO UPDATE SET name = excluded.name, role = excluded.role, team_id = excluded.team_id, \
         password_hash = excluded.password_hash RETURNING id",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(email.trim())
    .bind(name.trim())
    .bind(role)
    .bind(team_id)
    .bind(hash)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}
