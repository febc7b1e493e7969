//! A demo book's work in progress: weekly risk updates on some of the CTAs the rules
//! opened, so a new user's huddle and Cockpit look like a team's, not an empty desk.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::store::Store;
use crate::Result;

const UPDATES: [[&str; 3]; 6] = [
    [
        "Usage fell after their reorg; the champion moved teams.",
        "Met the new operations lead; shared the adoption report.",
        "Run a workflow workshop with the new team next week.",
    ],
    [
        "Two escalated tickets on the reporting export.",
        "Support shipped a workaround; product confirmed a fix date.",
        "Confirm the fix with their admin and close the loop.",
    ],
    [
        "Budget review in Q1; our line item is questioned.",
        "Sent the ROI summary to the sponsor.",
        "Walk the CFO through the value case before renewal.",
    ],
    [
        "Detractor response from their head of support.",
        "Called the respondent; the issue is onboarding of new hires.",
        "Offer the new-hire training track and check back in two weeks.",
    ],
    [
        "Implementation stalled on the SSO integration.",
        "Services re-planned go-live with their IT.",
        "Executive check-in on the new plan.",
    ],
    [
        "Sponsor left; no one owns the renewal yet.",
        "Champion named the new budget owner.",
        "Introduce our VP to the new sponsor.",
    ],
];

/// Writes one or two weekly updates, from the owner and dated over the last two weeks, on
/// about a third of the live high and medium priority risk CTAs. Deterministic per seed.
pub async fn seed_work(store: &Store, today: NaiveDate, seed: u64) -> Result<u32> {
    let ctas: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, owner_id FROM ctas WHERE status <> 'closed' AND type = 'risk' AND priority IN ('high', 'medium') ORDER BY account_id, reason",
    )
    .fetch_all(store.pool())
    .await?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_3013);
    let noon = Utc.from_utc_datetime(&today.and_hms_opt(12, 0, 0).unwrap_or_default());
    let mut written = 0;
    let mut tx = store.write().await?;
    for (id, owner) in ctas {
        if !rng.gen_bool(0.35) {
            continue;
        }
        let count = rng.gen_range(1..=2);
        for n in (0..count).rev() {
            let update = UPDATES.choose(&mut rng).copied().unwrap_or(UPDATES[0]);
            let days_ago = rng.gen_range(1..=6) + n * 7;
            let at = noon - Duration::days(days_ago);
            crate::cta::add_update_at(&mut tx, &id, owner.as_deref(), update, at).await?;
            written += 1;
        }
    }
    tx.commit().await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{test_day, worked_book};

    #[tokio::test]
    async fn demo_work_is_dated_in_the_past_and_repeatable() {
        let today = test_day();
        let mut counts = Vec::new();
        for _ in 0..2 {
            let (_dir, store) = worked_book(300, 3, 0).await;
            let n = seed_work(&store, today, 7).await.expect("seed");
            let future: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM cta_updates WHERE created_at >= ?")
                    .bind(today.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
                    .fetch_one(store.pool())
                    .await
                    .expect("count");
            assert_eq!(future, 0, "updates are in the past");
            counts.push(n);
        }
        assert!(counts[0] > 0);
        assert_eq!(counts[0], counts[1], "same seed, same work");
    }
}
