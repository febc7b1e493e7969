//! Opening the store a command works on. Every command first finishes derived work a
//! killed run left owed (an import's re-score, a `score` cut short), so nothing it reads
//! is half-made.

use std::path::Path;

use anyhow::{bail, Context, Result};
use riskdesk_core::{refresh, Store};

/// A store that exists: a mistyped path is an error, not a new empty store.
pub async fn existing(db: &Path) -> Result<Store> {
    if !db.exists() {
        bail!(
            "no store at {} (create one with `riskdesk demo`, the app, or `riskdesk import … --new-store`)",
            db.display()
        );
    }
    open(db).await
}

/// Stores this run opened, closed before it exits (`close_all`).
static OPENED: std::sync::Mutex<Vec<Store>> = std::sync::Mutex::new(Vec::new());

/// Closes every store the command opened. A clean close checkpoints the write-ahead log
/// into the store file and removes it, so a copy of the `.db` file alone (a CSM's
/// backup) holds what the command wrote.
pub async fn close_all() {
    let stores = std::mem::take(&mut *OPENED.lock().unwrap_or_else(|p| p.into_inner()));
    for store in stores {
        store.close().await;
    }
}

/// The store at `db`, created when there is none.
pub async fn open(db: &Path) -> Result<Store> {
    let store = Store::open(db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    OPENED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(store.clone());
    if let Some(done) = refresh::finish_pending(&store).await? {
        eprintln!(
            "Finished what an interrupted run left to do: re-scored {} accounts in {:.1} s.",
            done.health.accounts,
            done.duration_ms as f64 / 1000.0
        );
    }
    Ok(store)
}
