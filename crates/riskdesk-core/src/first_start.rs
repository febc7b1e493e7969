//! A new store's first minutes: either the demo book, made with progress a window can
//! show, or an empty store whose first person is the one starting it, as its admin (who
//! then imports people and accounts).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::book::{self, BookSpec};
use crate::model::Role;
use crate::people::{self, NewPerson, Person};
use crate::store::{settings, Store};
use crate::Result;

/// Size of the demo book a new user can explore.
pub const DEMO_ACCOUNTS: usize = 2_500;
pub const DEMO_SEED: u64 = 7;
/// Weeks of score history a demo book starts with.
const DEMO_HISTORY_WEEKS: u32 = 12;

/// Where the demo book is, for a progress screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DemoProgress {
    /// What is being done, as the user reads it.
    pub phase: String,
    /// Steps done of `total` (accounts, for the long phases).
    pub done: u32,
    pub total: u32,
    /// Which phase this is, 1-based, of `phases`.
    pub step: u32,
    pub phases: u32,
}

/// Whether the store has never been set up: no people, no accounts.
pub async fn is_new(pool: &SqlitePool) -> Result<bool> {
    let (users, accounts): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM accounts)")
            .fetch_one(pool)
            .await?;
    Ok(users == 0 && accounts == 0)
}

/// Whether the store holds the demo book (or another synthetic one): people at the made-up
/// domain.
pub async fn holds_demo(pool: &SqlitePool) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email LIKE '%@' || ?)")
            .bind(book::SYNTHETIC_DOMAIN)
            .fetch_one(pool)
            .await?,
    )
}

/// Makes the demo book of `accounts` as of `as_of`: the book, its score history, the
/// rules' CTAs and some work in progress, reporting each phase.
pub async fn load_demo(
    store: &Store,
    accounts: usize,
    as_of: NaiveDate,
    mut progress: impl FnMut(DemoProgress),
) -> Result<()> {
    const PHASES: u32 = 3;
    let spec = BookSpec::new(accounts, DEMO_SEED, as_of);
    let mut report = |step: u32, phase: &str, done: usize, total: usize| {
        progress(DemoProgress {
            phase: phase.to_string(),
            done: done as u32,
            total: total as u32,
            step,
            phases: PHASES,
        })
    };
    let making = format!("Making {} demo accounts", crate::money::thousands(accounts));
    report(1, &making, 0, accounts);
    book::load(store, &spec, |done, total| report(1, &making, done, total)).await?;
    let scoring = format!("Scoring {DEMO_HISTORY_WEEKS} weeks of health history");
    report(2, &scoring, 0, accounts);
    crate::health::initialize_with_progress(store, as_of, DEMO_HISTORY_WEEKS, 14, |done, total| {
        report(2, &scoring, done, total)
    })
    .await?;
    report(3, "Opening CTAs and ranking the worklist", 0, 1);
    crate::rules::run::run(store, None, as_of, false, "first start").await?;
    book::seed_work(store, as_of, DEMO_SEED).await?;
    report(3, "Opening CTAs and ranking the worklist", 1, 1);
    Ok(())
}

/// Starts an empty store: its first person, an admin, is the one using this device.
pub async fn start_empty(store: &Store, name: &str, email: &str) -> Result<Person> {
    let me = people::add(
        store,
        &NewPerson {
            name: name.to_string(),
            email: email.to_string(),
            role: Some(Role::Admin),
            title: Some("Customer Success Operations".into()),
            team: None,
            salesforce_id: None,
            hubspot_id: None,
        },
    )
    .await?;
    let mut tx = store.write().await?;
    settings::set(&mut tx, settings::CURRENT_USER, &me.id).await?;
    tx.commit().await?;
    Ok(me)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{temp_store, test_day};

    #[tokio::test]
    async fn the_demo_reports_every_phase_and_ends_a_working_book() {
        let (_dir, store) = temp_store().await;
        assert!(is_new(store.pool()).await.expect("new"));
        let mut seen: Vec<DemoProgress> = Vec::new();
        load_demo(&store, 120, test_day(), |p| seen.push(p))
            .await
            .expect("demo");
        let steps: Vec<u32> = seen.iter().map(|p| p.step).collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
        assert_eq!(steps.first(), Some(&1));
        assert!(seen
            .iter()
            .any(|p| p.step == 2 && p.done > 0 && p.done < p.total));
        let last = seen.last().expect("progress");
        assert_eq!((last.step, last.done, last.total), (3, 1, 1));
        assert!(!is_new(store.pool()).await.expect("new"));
        assert!(holds_demo(store.pool()).await.expect("demo"));
        let ctas: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ctas")
            .fetch_one(store.pool())
            .await
            .expect("ctas");
        assert!(ctas > 0);
    }

    #[tokio::test]
    async fn an_empty_start_makes_me_its_admin() {
        let (_dir, store) = temp_store().await;
        let me = start_empty(&store, "Ana Ruiz", "ana@acme.example")
            .await
            .expect("start");
        assert_eq!(me.role, Role::Admin);
        assert_eq!(
            settings::get(store.pool(), settings::CURRENT_USER)
                .await
                .expect("setting"),
            Some(me.id.clone())
        );
        assert!(!is_new(store.pool()).await.expect("new"));
        assert!(!holds_demo(store.pool()).await.expect("demo"));
        // A bad email is refused, naming the field, and leaves the store new.
        let (_dir, other) = temp_store().await;
        let e = start_empty(&other, "Ana", "not-an-email")
            .await
            .expect_err("bad email");
        assert!(e.to_string().contains("email"), "{e}");
        assert!(is_new(other.pool()).await.expect("new"));
    }
}
