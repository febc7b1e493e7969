//! Riskdesk core: the domain model, the local SQLite store and the synthetic book
//! generator. Nothing here depends on Tauri, so all of it is tested headless.

pub mod book;
pub mod categories;
pub mod config;
mod crashpoint;
pub mod csv_safe;
pub mod cta;
pub mod dashboard;
pub mod error;
pub mod escalation;
pub mod export;
pub mod first_start;
pub mod health;
pub mod huddle;
pub mod import;
pub mod lane;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod notify;
pub mod overrides;
pub mod people;
pub mod priority;
pub mod process;
pub mod refresh;
pub mod report;
pub mod rules;
pub mod scorecard;
pub mod severity;
pub mod signals;
pub mod store;
pub mod sync;
pub mod timeline;
pub mod triage;
pub mod worklist;

pub use crashpoint::crashpoint;
pub use error::{Error, Result};
pub use store::Store;

/// The hasher of the fingerprints kept beside derived rows (a day's health, a rank), so
/// an unchanged one is not written again: foldhash's quality hasher with a fixed seed, 64
/// well-mixed bits at a fraction of SipHash's cost. It is fixed within a build; a build
/// that changes it rewrites each row once.
pub(crate) fn fingerprint_hasher() -> impl std::hash::Hasher {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x5249_534b_4445_534b).build_hasher()
}

/// A new UUIDv7 in its hyphenated text form, the form ids take in the store and over IPC.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
