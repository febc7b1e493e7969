//! The sync protocol shared by the desktop client and `riskdesk-server`, with no I/O:
//! hybrid logical clocks, the field-level change that travels between them, and the
//! last-writer-wins merge both sides apply, so every replica that has seen the same
//! changes holds the same state whatever order they arrived in.

pub mod change;
pub mod hlc;
#[cfg(feature = "http")]
pub mod http;
pub mod merge;
pub mod schema;

pub use change::{
    Change, Conflict, FieldChange, PullResponse, PushRequest, PushResponse, RecordChange,
    PROTOCOL_VERSION,
};
pub use hlc::{Clock, Hlc};
pub use merge::{Applied, Replica};

/// Why a push did not land: the server refused what it carries (it never will take it:
/// the device sets the change aside), or it could not be delivered (try again later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the server refused the push: {0}")]
    Refused(String),
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("protocol version {theirs} is not spoken here (this side speaks {ours}): update the older side")]
    Version { ours: u32, theirs: u32 },
    #[error("invalid change {change_id}: {reason}")]
    InvalidChange { change_id: String, reason: String },
}
