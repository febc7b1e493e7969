//! `riskdesk-server`: where every CSM's device pushes its changes and pulls its team's, and
//! where managers and leadership pull the organisation's escalation work for the shared
//! WBR view. The protocol is `riskdesk-sync`'s; this crate adds identity, scope and storage.

pub mod auth;
pub mod db;
pub mod error;
pub mod sync;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use riskdesk_sync::{Conflict, PullResponse, PushRequest, PushResponse, PROTOCOL_VERSION};
use serde::Deserialize;
use sqlx::SqlitePool;

pub use error::{Error, Result};

use auth::{Bearer, Caller, Session};

/// Sign-in attempts allowed per email address per minute.
pub const SIGN_INS_PER_MINUTE: u32 = 5;

#[derive(Clone)]
pub struct AppState {
    pub pool: SqlitePool,
    sign_ins: Arc<DefaultKeyedRateLimiter<String>>,
}

impl AppState {
    pub fn new(pool: SqlitePool) -> Self {
        let quota =
            Quota::per_minute(NonZeroU32::new(SIGN_INS_PER_MINUTE).unwrap_or(NonZeroU32::MIN));
        AppState {
            pool,
            sign_ins: Arc::new(RateLimiter::keyed(quota)),
        }
    }
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "protocol": PROTOCOL_VERSION,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn sign_in(State(state): State<AppState>, Json(body): Json<SignIn>) -> Result<Json<Session>> {
    let key = body.email.trim().to_lowercase();
    if state.sign_ins.check_key(&key).is_err() {
        tracing::warn!(email = %key, "sign-in rate limited");
        return Err(Error::RateLimited(key));
    }
    Ok(Json(
        auth::sign_in(&state.pool, &body.email, &body.password).await?,
    ))
}

async fn sign_out(
    State(state): State<AppState>,
    _caller: Caller,
    Bearer(token): Bearer,
) -> Result<StatusCode> {
    auth::revoke(&state.pool, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> Json<Caller> {
    Json(caller)
}

async fn push(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PushRequest>,
) -> Result<Json<PushResponse>> {
    let n = req.changes.len();
    let out = sync::push(&state.pool, &caller, req).await?;
    tracing::info!(user = %caller.email, changes = n, conflicts = out.conflicts.len(), "push");
    Ok(Json(out))
}

#[derive(Deserialize)]
struct PullQuery {
    protocol: u32,
    #[serde(default)]
    since: i64,
    limit: Option<u32>,
}

async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>> {
    Ok(Json(
        sync::pull(
            &state.pool,
            &caller,
            q.protocol,
            q.since,
            q.limit.unwrap_or(sync::MAX_PULL),
        )
        .await?,
    ))
}

async fn conflicts(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Conflict>>> {
    Ok(Json(sync::conflicts(&state.pool, &caller).await?))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/sessions", post(sign_in).delete(sign_out))
        .route("/v1/me", get(me))
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/conflicts", get(conflicts))
        // A first sync pushes a book in pages of up to MAX_PUSH changes.
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}

pub struct Config {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
}

/// Serves until Ctrl-C or SIGTERM. Prints the bound address first ("listening on …") so
/// a caller that asked for port 0 learns the port.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let pool = db::open(&config.data_dir).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "riskdesk-server started");
    axum::serve(listener, router(AppState::new(pool.clone())))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    pool.close().await;
    Ok(())
}
