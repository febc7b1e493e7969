use super::*;
use crate::store::testing::temp_store;

fn spec(n: usize) -> BookSpec {
    BookSpec::new(n, 42, NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"))
}

#[test]
fn same_seed_same_book_other_seed_other_book() {
    let a = spec(300);
    let org_a = org(&a);
    let first: Vec<_> = accounts(&a, &org_a, 0..300)
        .into_iter()
        .map(|b| (b.account, b.usage, b.tickets, b.stories))
        .collect();
    let again: Vec<_> = accounts(&a, &org(&a), 0..300)
        .into_iter()
        .map(|b| (b.account, b.usage, b.tickets, b.stories))
        .collect();
    assert_eq!(first, again);

    let b = BookSpec { seed: 43, ..a };
    let other: Vec<_> = accounts(&b, &org(&b), 0..300)
        .into_iter()
        .map(|b| b.account.arr_minor)
        .collect();
    assert_ne!(
        first.iter().map(|x| x.0.arr_minor).collect::<Vec<_>>(),
        other
    );
}

#[test]
fn an_account_is_the_same_whether_generated_alone_or_in_a_run() {
    let s = spec(1_000);
    let o = org(&s);
    let run = accounts(&s, &o, 500..510);
    assert_eq!(run[7].account, account(&s, &o, 507).account);
}

#[test]
fn ids_are_uuid_v7_and_unique() {
    let s = spec(2_000);
    let o = org(&s);
    let mut seen = std::collections::HashSet::new();
    for b in accounts(&s, &o, 0..2_000) {
        for id in std::iter::once(&b.account.id)
            .chain(b.contacts.iter().map(|c| &c.id))
            .chain(b.tickets.iter().map(|t| &t.id))
        {
            let uuid = uuid::Uuid::parse_str(id).expect("uuid");
            assert_eq!(uuid.get_version_num(), 7, "{id} is not v7");
            assert!(seen.insert(id.clone()), "duplicate id {id}");
        }
    }
    for u in &o.users {
        assert_eq!(
            uuid::Uuid::parse_str(&u.id)
                .expect("uuid")
                .get_version_num(),
            7
        );
    }
}

#[test]
fn arr_is_long_tailed_and_segments_match_their_shares() {
    let s = spec(10_000);
    let o = org(&s);
    let book = accounts(&s, &o, 0..10_000);
    let usd = |b: &AccountBundle| {
        b.account.arr_minor as f64
            * match b.account.currency.as_str() {
                "EUR" => 1.08,
                "GBP" => 1.27,
                "CAD" => 0.73,
                "AUD" => 0.66,
                _ => 1.0,
            }
    };
    let total: f64 = book.iter().map(usd).sum();
    let strategic: f64 = book
        .iter()
        .filter(|b| b.account.segment == Segment::Strategic)
        .map(usd)
        .sum();
    let strategic_count = book
        .iter()
        .filter(|b| b.account.segment == Segment::Strategic)
        .count();
    let tech_touch_count = book
        .iter()
        .filter(|b| b.account.segment == Segment::TechTouch)
        .count();
    // About 2 % of accounts hold a third or more of ARR; most accounts are tech-touch.
    assert!(
        (150..=250).contains(&strategic_count),
        "strategic accounts: {strategic_count}"
    );
    assert!(
        strategic / total > 0.3,
        "strategic ARR share {:.2}",
        strategic / total
    );
    assert!(
        (5_700..=6_300).contains(&tech_touch_count),
        "tech-touch accounts: {tech_touch_count}"
    );
    let mut sorted: Vec<f64> = book.iter().map(usd).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let top_decile: f64 = sorted[..1_000].iter().sum();
    assert!(
        top_decile / total > 0.6,
        "top 10 % hold {:.2}",
        top_decile / total
    );
}

#[test]
fn stories_are_planted_in_their_known_share() {
    let n = 20_000;
    let s = spec(n);
    let book = accounts(&s, &org(&s), 0..n);
    for story in Story::ALL {
        let count = book.iter().filter(|b| b.stories.contains(&story)).count();
        let expected = story.expected_share() * n as f64;
        // Binomial standard deviation is under 40 here; allow five of them.
        assert!(
            (count as f64 - expected).abs() < 200.0,
            "{story:?}: {count} vs expected {expected:.0}"
        );
    }
}

#[test]
fn stories_show_in_the_data() {
    let s = spec(3_000);
    let o = org(&s);
    for b in accounts(&s, &o, 0..3_000) {
        let a = &b.account;
        if b.stories.contains(&Story::ImplementationStalled) {
            assert_eq!(a.stage, Stage::Onboarding);
            assert!(
                (s.as_of - a.contract_start).num_days() >= 90,
                "{} is not past 90 days",
                a.name
            );
        }
        if b.stories.contains(&Story::SponsorLeft) {
            let sponsor = b
                .contacts
                .iter()
                .find(|c| c.role == ContactRole::Sponsor)
                .expect("sponsor");
            assert_eq!(sponsor.status, ContactStatus::Left);
        }
        if b.stories.contains(&Story::DetractorNps) {
            assert!(b.nps.last().expect("nps").score <= 6);
        }
        // Past the onboarding ramp, the last four weeks are well below the weeks before.
        if b.stories.contains(&Story::UsageDecline)
            && (s.as_of - a.contract_start).num_weeks() > 40
            && b.usage[0].licensed_seats >= 10
        {
            let before: i32 = b.usage[8..16].iter().map(|w| w.active_users).sum();
            let late: i32 = b.usage[22..].iter().map(|w| w.active_users).sum();
            assert!(
                (late as f64 / 4.0) < (before as f64 / 8.0) * 0.85,
                "{}: no decline {:?} {:?}",
                a.name,
                b.stories,
                b.usage
                    .iter()
                    .map(|w| (w.active_users, w.licensed_seats))
                    .collect::<Vec<_>>()
            );
        }
        if b.stories.contains(&Story::SeatsNearlyFull) && b.usage.len() == 26 {
            let last = b.usage.last().expect("usage");
            assert!(last.active_users as f64 >= last.licensed_seats as f64 * 0.8);
        }
        if b.stories.contains(&Story::TicketSpike) {
            let recent_open = b
                .tickets
                .iter()
                .filter(|t| {
                    t.resolved_at.is_none() && (midnight(s.as_of) - t.opened_at).num_days() <= 28
                })
                .count();
            assert!(recent_open >= 1, "{}: spike without open tickets", a.name);
        }
        assert!(a.renewal_date > s.as_of && (a.renewal_date - s.as_of).num_days() <= 366);
        assert!(b.usage.len() <= 26);
    }
}

#[test]
fn renewals_spread_over_the_year() {
    let s = spec(6_000);
    let book = accounts(&s, &org(&s), 0..6_000);
    let mut per_quarter = [0usize; 4];
    for b in &book {
        let q = ((b.account.renewal_date - s.as_of).num_days() / 92).min(3) as usize;
        per_quarter[q] += 1;
    }
    for (q, n) in per_quarter.iter().enumerate() {
        assert!((1_200..=1_800).contains(n), "quarter {q}: {n} renewals");
    }
}

#[test]
fn company_names_are_distinct_within_the_name_space() {
    let names: std::collections::HashSet<String> = (0..COMPANY_NAMES).map(names::company).collect();
    assert_eq!(names.len(), COMPANY_NAMES);
    assert_ne!(names::company(0), names::company(COMPANY_NAMES));
}

#[tokio::test]
async fn load_writes_the_whole_book() {
    let (_dir, store) = temp_store().await;
    let s = spec(2_500);
    let mut last_progress = (0, 0);
    let summary = load(&store, &s, |done, total| last_progress = (done, total))
        .await
        .expect("load");
    assert_eq!(last_progress, (2_500, 2_500));
    assert_eq!(summary.accounts, 2_500);
    let count = |sql: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect("count") as usize
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM accounts").await, 2_500);
    assert_eq!(
        crate::store::testing::usage_weeks(&store).await.len(),
        summary.usage_weeks
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM contacts").await,
        summary.contacts
    );
    assert_eq!(count("SELECT COUNT(*) FROM tickets").await, summary.tickets);
    assert_eq!(
        count("SELECT COUNT(*) FROM nps_responses").await,
        summary.nps_responses
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM timeline_entries").await,
        summary.timeline_entries
    );
    assert_eq!(count("SELECT COUNT(*) FROM users").await, summary.users);
    assert!(
        summary.usage_weeks > 2_500 * 20,
        "usage weeks: {}",
        summary.usage_weeks
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM accounts WHERE owner_id IS NULL").await,
        0
    );
}
