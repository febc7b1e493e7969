use thiserror::Error;

/// Every way a core operation can fail; each names what and where.
#[derive(Debug, Error)]
pub enum Error {
    #[error("not found: {entity} {id}")]
    NotFound { entity: &'static str, id: String },

    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },

    #[error("unknown currency {0}: add it to the exchange rates first")]
    UnknownCurrency(String),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("database read error on {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: rusqlite::Error,
    },

    #[error("database write error in {what}: {source}")]
    Write {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
