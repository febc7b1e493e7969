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

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::AppState;

/// How long a sign-in lasts.
pub const TOKEN_DAYS: i64 = 30;
/// How long an invite can be accepted.
pub const INVITE_DAYS: i64 = 7;

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

/// A hash no password matches, verified when the email is unknown so that sign-in costs
/// the same whether the user exists or not.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(secret(32).as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Computes the dummy hash now, so the first unknown-email sign-in does not stand out.
pub fn warm_up() {
    let _ = dummy_hash();
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

/// `bytes` random bytes as hex: tokens and invite codes.
fn secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Emails are compared and stored lower-cased on both backends.
fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
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

/// id, email, role, team, password hash, when disabled.
type UserRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Checks a password and issues a token. The same answer, after the same work, for an
/// unknown email and a wrong password, so sign-in does not reveal who has an account.
pub async fn sign_in(db: &Db, email: &str, password: &str) -> Result<Session> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, role, team_id, password_hash, disabled_at FROM users WHERE lower(email) = $1",
    )
    .bind(normal_email(email))
    .fetch_optional(&db.pool)
    .await?;
    let phc = row
        .as_ref()
        .and_then(|r| r.4.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let Some((user_id, email, role, team_id, Some(_), disabled)) = row.filter(|_| matches) else {
        return Err(Error::Unauthorized("wrong email or password"));
    };
    if disabled.is_some() {
        return Err(Error::Unauthorized("this user is disabled: ask an admin"));
    }
    issue_token(
        db,
        Caller {
            user_id,
            email,
            role,
            team_id,
        },
    )
    .await
}

async fn issue_token(db: &Db, user: Caller) -> Result<Session> {
    let token = secret(32);
    let now = Utc::now();
    let expires_at = now + Duration::days(TOKEN_DAYS);
    sqlx::query(
        "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(user.user_id.clone())
    .bind(db::time(now))
    .bind(db::time(expires_at))
    .execute(&db.pool)
    .await?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

pub async fn revoke(db: &Db, token: &str) -> Result<()> {
    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
        .bind(db::time(Utc::now()))
        .bind(token_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Revokes every token of a user: signed out everywhere (they may sign in again).
pub async fn revoke_all(db: &Db, email: &str) -> Result<u64> {
    let mut tx = db.begin_write().await?;
    let n = revoke_all_in(&mut tx, email).await?;
    tx.commit().await?;
    Ok(n)
}

async fn revoke_all_in(tx: &mut sqlx::Transaction<'static, sqlx::Any>, email: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND user_id = (SELECT id FROM users WHERE lower(email) = $2)",
    )
    .bind(db::time(Utc::now()))
    .bind(normal_email(email))
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Disables a user (no sign-in, every token dead) or enables them again. Returns the
/// tokens revoked.
pub async fn set_disabled(db: &Db, email: &str, disabled: bool) -> Result<u64> {
    let mut tx = db.begin_write().await?;
    let found = sqlx::query(
        "UPDATE users SET disabled_at = CASE WHEN $1 THEN COALESCE(disabled_at, $2) ELSE NULL END WHERE lower(email) = $3",
    )
    .bind(disabled)
    .bind(db::time(Utc::now()))
    .bind(normal_email(email))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(Error::BadRequest(format!("no user has the email {email}")));
    }
    let revoked = if disabled {
        revoke_all_in(&mut tx, email).await?
    } else {
        0
    };
    tx.commit().await?;
    tracing::info!(target: "audit", email = %normal_email(email), disabled, revoked, "user access changed");
    Ok(revoked)
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
             WHERE t.hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_hash(&token))
        .bind(db::time(Utc::now()))
        .fetch_optional(&state.db.pool)
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

/// Creates (or updates) a team and a user with a password; the admin CLI's path.
pub async fn add_user(
    db: &Db,
    email: &str,
    name: &str,
    role: &str,
    team: Option<&str>,
    password: &str,
) -> Result<String> {
    let hash = hash_password(password)?;
    upsert_user(db, email, name, role, team, Some(hash)).await
}

/// An invite: the user it made and the one-time code to hand them (shown once, stored
/// only as a hash).
#[derive(Debug)]
pub struct Invite {
    pub user_id: String,
    pub code: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Creates (or updates) a user without a password and a code with which they choose one.
/// Re-inviting someone replaces their open invites.
pub async fn invite(
    db: &Db,
    email: &str,
    name: &str,
    role: &str,
    team: Option<&str>,
) -> Result<Invite> {
    let user_id = upsert_user(db, email, name, role, team, None).await?;
    let code = secret(16);
    let now = Utc::now();
    let expires_at = now + Duration::days(INVITE_DAYS);
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM invites WHERE user_id = $1 AND accepted_at IS NULL")
        .bind(user_id.clone())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO invites (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&code))
    .bind(user_id.clone())
    .bind(db::time(now))
    .bind(db::time(expires_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Invite {
        user_id,
        code,
        expires_at,
    })
}

/// Sets the invited user's password and signs them in. A code works once, before it
/// expires; the same answer for every kind of bad code.
pub async fn accept_invite(db: &Db, code: &str, password: &str) -> Result<Session> {
    let hash = hash_password(password)?;
    let now = db::time(Utc::now());
    let mut tx = db.begin_write().await?;
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE invites SET accepted_at = $1 WHERE hash = $2 AND accepted_at IS NULL AND expires_at > $1 \
         RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash(code.trim()))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user_id else {
        return Err(Error::Unauthorized(
            "the invite code is unknown, used or expired",
        ));
    };
    let user: (String, String, String, Option<String>) = sqlx::query_as(
        "UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING id, email, role, team_id",
    )
    .bind(hash)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let (user_id, email, role, team_id) = user;
    issue_token(
        db,
        Caller {
            user_id,
            email,
            role,
            team_id,
        },
    )
    .await
}

async fn upsert_user(
    db: &Db,
    email: &str,
    name: &str,
    role: &str,
    team: Option<&str>,
    password_hash: Option<String>,
) -> Result<String> {
    if !matches!(role, "csm" | "manager" | "executive" | "admin") {
        return Err(Error::BadRequest(format!(
            "'{role}' is not a role: csm, manager, executive or admin"
        )));
    }
    let email = normal_email(email);
    if !email.contains('@') {
        return Err(Error::BadRequest(format!(
            "'{email}' is not an email address"
        )));
    }
    let mut tx = db.begin_write().await?;
    let before: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT role, team_id FROM users WHERE email = $1")
            .bind(email.clone())
            .fetch_optional(&mut *tx)
            .await?;
    let team_id = match team {
        Some(name) => {
            sqlx::query(
                "INSERT INTO teams (id, name) VALUES ($1, $2) ON CONFLICT(name) DO NOTHING",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(name.to_string())
            .execute(&mut *tx)
            .await?;
            Some(
                sqlx::query_scalar::<_, String>("SELECT id FROM teams WHERE name = $1")
                    .bind(name.to_string())
                    .fetch_one(&mut *tx)
                    .await?,
            )
        }
        None => None,
    };
    // An invite (no password) leaves a password already chosen as it is.
    let id: String = sqlx::query_scalar(
        "INSERT INTO users (id, email, name, role, team_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT(email) DO UPDATE SET name = excluded.name, role = excluded.role, team_id = excluded.team_id, \
         password_hash = COALESCE(excluded.password_hash, users.password_hash) RETURNING id",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(email.clone())
    .bind(name.trim().to_string())
    .bind(role.to_string())
    .bind(team_id.clone())
    .bind(password_hash.clone())
    .bind(db::time(Utc::now()))
    .fetch_one(&mut *tx)
    .await?;
    if let Some((old_role, old_team)) = before {
        // A new password ends every session the old one opened.
        if password_hash.is_some() {
            let n = revoke_all_in(&mut tx, &email).await?;
            tracing::info!(target: "audit", email = %email, revoked = n, "password reset");
        }
        if old_role != role || old_team != team_id {
            // Roles and teams are read from here on every request: the change applies at once.
            tracing::info!(target: "audit", email = %email, from = %old_role, to = %role, "role or team changed");
        }
    }
    tx.commit().await?;
    Ok(id)
}
