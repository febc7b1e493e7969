//! Every way a request can fail, each with its status and a message naming what and why.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sign in first: {0}")]
    Unauthorized(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("too many {0}: wait a minute")]
    RateLimited(String),
    #[error(transparent)]
    Protocol(#[from] riskdesk_sync::Error),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Error::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Error::Protocol(riskdesk_sync::Error::Version { .. }) => {
                (StatusCode::CONFLICT, "protocol_version")
            }
            Error::Protocol(_) => (StatusCode::BAD_REQUEST, "invalid_change"),
            Error::Database(_) | Error::Migration(_) | Error::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": kind, "message": self.to_string() })),
        )
            .into_response()
    }
}
