//! The one error type that crosses IPC: a tagged union the UI matches on by `kind`.

use serde::Serialize;

#[derive(Debug, thiserror::Error, Serialize, specta::Type)]
#[serde(tag = "kind", content = "detail")]
pub enum AppError {
    #[error("{entity} {id} was not found")]
    NotFound { entity: String, id: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the local store failed: {message}")]
    Store { message: String },
    /// Checking for, downloading or verifying an update failed: the message says which
    /// and where (it is not the local store's).
    #[error("{message}")]
    Update { message: String },
}

impl From<riskdesk_core::Error> for AppError {
    fn from(e: riskdesk_core::Error) -> Self {
        use riskdesk_core::Error as E;
        match e {
            E::NotFound { entity, id } => AppError::NotFound {
                entity: entity.to_string(),
                id,
            },
            E::Invalid { field, reason } => AppError::Invalid { field, reason },
            E::UnknownCurrency(c) => AppError::Invalid {
                field: "currency".into(),
                reason: format!("unknown currency {c}"),
            },
            other => AppError::Store {
                message: other.to_string(),
            },
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
