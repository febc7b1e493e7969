//! Getting a store ready without holding the window blank: the window opens at once and
//! polls `startup_status`, while the demo book is made (with its progress), a new store
//! waits for the user's choice, or work a killed run left owed is finished.

use std::sync::{Arc, Mutex};

use riskdesk_core::first_start::{self, DemoProgress};
use riskdesk_core::Store;
use serde::Serialize;

/// Where getting the store ready stands.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Startup {
    /// Getting ready: making the demo book (with progress) or finishing owed work.
    Preparing {
        progress: Option<DemoProgress>,
    },
    /// A new store: explore the demo book, or start empty.
    Choose,
    Ready,
    Failed {
        message: String,
    },
}

pub type Shared = Arc<Mutex<Startup>>;

pub fn shared() -> Shared {
    Arc::new(Mutex::new(Startup::Preparing { progress: None }))
}

pub fn get(s: &Shared) -> Startup {
    s.lock().map(|g| g.clone()).unwrap_or(Startup::Failed {
        message: "the startup state was lost".into(),
    })
}

fn set(s: &Shared, value: Startup) {
    if let Ok(mut g) = s.lock() {
        *g = value;
    }
}

/// Moves to `Preparing` only from `Choose`: a second click, or a click after another
/// window chose, changes nothing.
pub fn claim_choice(s: &Shared) -> bool {
    match s.lock() {
        Ok(mut g) if *g == Startup::Choose => {
            *g = Startup::Preparing { progress: None };
            true
        }
        _ => false,
    }
}

/// Whether the demo book loads without asking (`RISKDESK_FIRST_START=demo`: the quick
/// start and the end-to-end tests).
pub fn demo_without_asking() -> bool {
    std::env::var("RISKDESK_FIRST_START").is_ok_and(|v| v == "demo")
}

/// Gets the store ready: a new store loads the demo (when asked to without asking) or
/// waits for the choice; an existing one finishes owed work. Returns whether it is ready.
pub async fn prepare(store: &Store, status: &Shared, demo: bool) -> bool {
    let result = async {
        if first_start::is_new(store.pool()).await? {
            if !demo {
                set(status, Startup::Choose);
                return Ok(false);
            }
            load_demo(store, status).await?;
        }
        finish(store, status).await?;
        Ok::<bool, riskdesk_core::Error>(true)
    }
    .await;
    match result {
        Ok(ready) => ready,
        Err(e) => {
            tracing::error!(error = %e, "the store could not be made ready");
            set(
                status,
                Startup::Failed {
                    message: e.to_string(),
                },
            );
            false
        }
    }
}

/// Gets the store ready, then keeps the schedules while the app runs (a new store that
/// waits for the user's choice ends here; the choice starts this again).
pub async fn run(store: Store, status: Shared, demo: bool) {
    if prepare(&store, &status, demo).await {
        crate::schedules(store).await;
    }
}

/// Makes the demo book, publishing its progress.
pub async fn load_demo(store: &Store, status: &Shared) -> riskdesk_core::Result<()> {
    let started = std::time::Instant::now();
    first_start::load_demo(
        store,
        first_start::DEMO_ACCOUNTS,
        chrono::Utc::now().date_naive(),
        |p| {
            set(status, Startup::Preparing { progress: Some(p) });
        },
    )
    .await?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "made the demo book"
    );
    Ok(())
}

/// What every start does before it is ready: owed work, then the worklist's ranks.
pub async fn finish(store: &Store, status: &Shared) -> riskdesk_core::Result<()> {
    riskdesk_core::refresh::finish_pending(store).await?;
    riskdesk_core::priority::ensure(store, chrono::Utc::now().date_naive()).await?;
    set(status, Startup::Ready);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_store_waits_for_a_choice_and_the_demo_loads_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("riskdesk.db"))
            .await
            .expect("open");
        let status = shared();
        assert!(!prepare(&store, &status, false).await);
        assert_eq!(get(&status), Startup::Choose);
        assert!(claim_choice(&status));
        assert!(!claim_choice(&status), "a second click changes nothing");

        let status = shared();
        assert!(prepare(&store, &status, true).await);
        assert_eq!(get(&status), Startup::Ready);
        let count = || riskdesk_core::store::accounts::count_accounts(store.pool());
        assert_eq!(
            count().await.expect("count"),
            first_start::DEMO_ACCOUNTS as i64
        );
        // The next start finds a store, not a new one.
        assert!(prepare(&store, &status, true).await);
        assert_eq!(
            count().await.expect("count"),
            first_start::DEMO_ACCOUNTS as i64
        );
    }
}
