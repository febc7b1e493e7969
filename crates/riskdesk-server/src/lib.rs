//! `riskdesk-server`: where every CSM's device pushes its changes and pulls its team's, and
//! where managers and leadership pull the organisation's escalation work for the shared
//! WBR view. The protocol is `riskdesk-sync`'s; this crate adds identity, scope and storage.

pub mod auth;
pub mod db;
pub mod error;
pub mod releases;
pub mod sync;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use riskdesk_sync::{Conflict, PushRequest, PushResponse, PROTOCOL_VERSION};
use serde::Deserialize;

pub use db::{Db, Location};
pub use error::{Error, Result};

use auth::{Bearer, Caller, Session};

/// Sign-in attempts allowed per minute for one email from one client address: a
/// stranger guessing a password uses up their own allowance, not the user's.
pub const SIGN_INS_PER_MINUTE: u32 = 5;
/// Sign-in attempts allowed per minute from one client address, whatever the emails.
pub const SIGN_INS_PER_CLIENT: u32 = 10;
/// Sign-in attempts allowed per minute for one email from all addresses together: the
/// ceiling on a guessing attack spread over many machines.
pub const SIGN_INS_PER_EMAIL: u32 = 60;
/// Invite attempts allowed per minute per code, and per client address.
pub const INVITES_PER_MINUTE: u32 = 5;
pub const INVITES_PER_CLIENT: u32 = 10;

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

fn limiter(per_minute: u32) -> Limiter {
    Arc::new(RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
    )))
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    email_client: Limiter,
    client: Limiter,
    email: Limiter,
    invite_code: Limiter,
    invite_client: Limiter,
}

impl AppState {
    pub fn new(db: Db) -> Self {
        auth::warm_up();
        AppState {
            db,
            email_client: limiter(SIGN_INS_PER_MINUTE),
            client: limiter(SIGN_INS_PER_CLIENT),
            email: limiter(SIGN_INS_PER_EMAIL),
            invite_code: limiter(INVITES_PER_MINUTE),
            invite_client: limiter(INVITES_PER_CLIENT),
        }
    }

    /// Every limit must allow the attempt; the refusal names what was limited (never
    /// whether the email exists).
    fn limit(checks: &[(&Limiter, String, &str)]) -> Result<()> {
        for (limiter, key, what) in checks {
            if limiter.check_key(key).is_err() {
                tracing::warn!(key = %key, "rate limited");
                return Err(Error::RateLimited(what.to_string()));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct AcceptInvite {
    code: String,
    password: String,
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "protocol": PROTOCOL_VERSION,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<SignIn>,
) -> Result<Json<Session>> {
    let email = body.email.trim().to_lowercase();
    let client = peer.ip().to_string();
    AppState::limit(&[
        (&state.client, client.clone(), "sign-ins from this address"),
        (
            &state.email_client,
            format!("{email} {client}"),
            "sign-ins for this email from this address",
        ),
        (&state.email, email, "sign-ins for this email"),
    ])?;
    Ok(Json(
        auth::sign_in(&state.db, &body.email, &body.password).await?,
    ))
}

/// An invited user chooses a password and is signed in.
async fn accept_invite(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<AcceptInvite>,
) -> Result<Json<Session>> {
    // Codes are 128-bit random, so guessing is hopeless; the limits keep a client from
    // hammering the argon2 hashing behind this endpoint, without one stranger's garbage
    // blocking everyone else's valid code.
    AppState::limit(&[
        (
            &state.invite_client,
            peer.ip().to_string(),
            "invite attempts from this address",
        ),
        (
            &state.invite_code,
            body.code.trim().to_string(),
            "attempts with this invite code",
        ),
    ])?;
    let session = auth::accept_invite(&state.db, &body.code, &body.password).await?;
    tracing::info!(user = %session.user.email, "invite accepted");
    Ok(Json(session))
}

async fn sign_out(
    State(state): State<AppState>,
    _caller: Caller,
    Bearer(token): Bearer,
) -> Result<StatusCode> {
    auth::revoke(&state.db, &token).await?;
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
    let n = req.len();
    let out = sync::push(&state.db, &caller, req).await?;
    tracing::info!(user = %caller.email, changes = n, conflicts = out.conflicts.len(), "push");
    Ok(Json(out))
}

#[derive(Deserialize)]
struct PullQuery {
    protocol: u32,
    #[serde(default)]
    since: i64,
    limit: Option<u32>,
    /// The pulling device: its own changes are left out.
    device: Option<String>,
}

async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PullQuery>,
) -> Result<Json<sync::StoredPull>> {
    Ok(Json(
        sync::pull(
            &state.db,
            &caller,
            q.protocol,
            q.since,
            q.limit.unwrap_or(sync::MAX_PULL),
            q.device.as_deref(),
        )
        .await?,
    ))
}

async fn conflicts(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Conflict>>> {
    Ok(Json(sync::conflicts(&state.db, &caller).await?))
}

/// The Tauri updater's question: is there a release newer than mine for my platform?
/// A manifest when there is, 204 when not.
async fn update(
    State(state): State<AppState>,
    Path((target, arch, current)): Path<(String, String, String)>,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    Ok(
        match releases::newer(&state.db, &target, &arch, &current).await? {
            Some(manifest) => Json(manifest).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    )
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/sessions", post(sign_in).delete(sign_out))
        .route("/v1/invites/accept", post(accept_invite))
        .route("/v1/me", get(me))
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/conflicts", get(conflicts))
        .route("/v1/updates/{target}/{arch}/{current}", get(update))
        // A first sync pushes a book in pages of up to MAX_PUSH changes.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The largest request body: a page of MAX_PUSH changes at the values' limits.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub struct Config {
    pub location: Location,
    pub bind: SocketAddr,
    /// PEM certificate chain and private key: serve HTTPS (rustls) instead of plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a client may keep a request waiting on it: a connection with no complete
    /// request, headers coming no further, a body that stops. Past it the connection
    /// closes, or a stalled body's request is answered with a 4xx, so a client that opens connections and goes silent
    /// cannot hold them, and the server's file descriptors, for good. A slow upload that
    /// keeps moving is not cut off.
    pub stall: std::time::Duration,
}

/// [`Config::stall`] unless the operator says otherwise.
pub const STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads a request's body a chunk at a time, each within `stall`: a body that stops
/// coming ends in an error the handler's extractor answers, instead of a handler waiting
/// on it for good.
async fn body_within(
    State(stall): State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use futures_util::StreamExt;
    let (parts, body) = req.into_parts();
    let chunks = body.into_data_stream();
    let guarded = futures_util::stream::unfold(Some(chunks), move |chunks| async move {
        let mut chunks = chunks?;
        match tokio::time::timeout(stall, chunks.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(chunks))),
            Ok(None) => None,
            Err(_) => {
                tracing::warn!(
                    stall_secs = stall.as_secs_f64(),
                    "a request body stopped coming"
                );
                Some((Err(axum::Error::new(BodyStalled)), None))
            }
        }
    });
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from_stream(guarded),
    ))
    .await
}

#[derive(Debug, thiserror::Error)]
#[error("the request body stopped coming")]
struct BodyStalled;

/// Serves until Ctrl-C or SIGTERM. Prints its base URL first ("listening on http://…") so
/// a caller that asked for port 0 learns the port.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // One crypto provider for the whole process, whichever features other crates enable.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = db::open(&config.location).await?;
    let app = router(AppState::new(db.clone())).layer(axum::middleware::from_fn_with_state(
        config.stall,
        body_within,
    ));
    let listener = std::net::TcpListener::bind(config.bind)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, %scheme, store = %config.location.describe(), "riskdesk-server started");
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    match config.tls {
        Some((cert, key)) => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot use {} and {} for TLS: {e}",
                        cert.display(),
                        key.display()
                    )
                })?;
            patient(
                axum_server::from_tcp_rustls(listener, tls)?,
                handle,
                config.stall,
            )
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await?;
        }
        None => {
            patient(axum_server::from_tcp(listener)?, handle, config.stall)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await?;
        }
    }
    db.close().await;
    Ok(())
}

/// `server` stopped by `handle`, ending a connection whose first request, or any
/// request's headers, take longer than `stall` to come.
fn patient<A: axum_server::Address, Acc>(
    server: axum_server::Server<A, Acc>,
    handle: axum_server::Handle<A>,
    stall: std::time::Duration,
) -> axum_server::Server<A, Acc> {
    let mut server = server.handle(handle).first_request_timeout(stall);
    server
        .http_builder()
        .http1()
        .header_read_timeout(Some(stall));
    server
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
