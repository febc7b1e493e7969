use super::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn account(n: usize, arr: f64, days: i64) -> TriageInput {
    TriageInput {
        account_id: format!("a{n:03}"),
        name: format!("Account {n:03}"),
        arr,
        days_to_renewal: days,
        severity: Level::Low,
        severity_score: 10.0,
        detractor: false,
        upsell: None,
        unscored: false,
        causes: Vec::new(),
    }
}

fn high(a: &mut TriageInput, score: f64) {
    a.severity = Level::High;
    a.severity_score = score;
    a.causes = vec![
        "Active users down 77 % against the trailing baseline".into(),
        "5 unresolved tickets".into(),
    ];
}

fn upsell(arr: f64) -> Option<Expansion> {
    Some(Expansion {
        value: 0.2 * arr,
        why: "high expansion potential".into(),
    })
}

/// The case from the issue: 100 renewals next quarter; 10 flagged at risk, 15 with upsell
/// patterns, 30 medium risk, 12 detractors — 4 of the detractors also at risk and 3 also
/// medium risk, so 5 are detractors only.
fn hundred_renewals() -> Vec<TriageInput> {
    let mut v = Vec::new();
    for n in 0..100 {
        // ARR from 20K to 1.2M, renewals spread over the quarter (38 to 128 days out).
        let arr = 20_000.0 + ((n * 37) % 100) as f64 * 12_000.0;
        let mut a = account(n, arr, 38 + (n as i64 * 7) % 91);
        match n {
            0..=9 => {
                high(&mut a, 76.0);
                a.detractor = n < 4;
            }
            10..=39 => {
                a.severity = Level::Medium;
                a.severity_score = 45.0;
                a.causes = vec!["Health down 20 % since 2026-10-01".into()];
                a.detractor = n < 13;
            }
            40..=44 => {
                a.detractor = true;
                a.causes = vec!["NPS 3 on 2026-11-02".into()];
            }
            45..=59 => a.upsell = upsell(arr),
            _ => {}
        }
        v.push(a);
    }
    v
}

#[test]
fn a_hundred_renewals_are_grouped_once_each_and_ordered_by_stake_and_urgency() {
    let today = day("2026-11-23");
    let (from, to) = next_quarter(today);
    assert_eq!((from, to), (day("2027-01-01"), day("2027-03-31")));
    let t = triage(
        today,
        from,
        to,
        hundred_renewals(),
        &TriageSettings::default(),
    );

    assert_eq!(t.order.len(), 100, "each account once");
    let mut ids: Vec<&str> = t.order.iter().map(|i| i.account_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    let count = |g| t.groups.iter().find(|s| s.group == g).map(|s| s.accounts);
    assert_eq!(count(TriageGroup::AtRisk), Some(10));
    // 12 detractors: 4 are handled as at risk; the 3 medium-risk ones with the detractors.
    assert_eq!(count(TriageGroup::Detractor), Some(8));
    assert_eq!(count(TriageGroup::MediumRisk), Some(27));
    assert_eq!(count(TriageGroup::Upsell), Some(15));
    assert_eq!(count(TriageGroup::Healthy), Some(40));
    // A detractor at risk is handled with the at-risk group, and says it is both.
    let both = t
        .order
        .iter()
        .find(|i| i.account_id == "a001")
        .expect("a001");
    assert_eq!(
        (both.group, both.also.clone()),
        (TriageGroup::AtRisk, vec![TriageGroup::Detractor])
    );
    assert!(
        both.reason.contains("at risk (also NPS detractor)"),
        "{}",
        both.reason
    );

    // Positions are 1..=100 and the reason starts with the position.
    for (n, i) in t.order.iter().enumerate() {
        assert_eq!(i.position as usize, n + 1);
        assert!(i.reason.starts_with(&format!("{}", n + 1)), "{}", i.reason);
    }
    // Healthy renewals come last; the most valuable at-risk renewal comes first.
    let first_healthy = t
        .order
        .iter()
        .position(|i| i.group == TriageGroup::Healthy)
        .expect("healthy");
    assert!(t.order[first_healthy..]
        .iter()
        .all(|i| i.group == TriageGroup::Healthy));
    let top_at_risk = t
        .order
        .iter()
        .filter(|i| i.group == TriageGroup::AtRisk)
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .expect("at risk");
    assert_eq!(t.order[0].account_id, top_at_risk.account_id);
    // Revenue and urgency: within a group, more ARR renewing sooner is never behind.
    for a in &t.order {
        for b in &t.order {
            if a.group == b.group && a.arr >= b.arr && a.days_to_renewal <= b.days_to_renewal {
                assert!(a.score >= b.score, "{} scores below {}", a.name, b.name);
                if a.score > b.score {
                    assert!(
                        a.position < b.position,
                        "{} should precede {}",
                        a.name,
                        b.name
                    );
                }
            }
        }
    }
    // The same ARR and date: an at-risk renewal precedes a medium one, which precedes upsell.
    let same = |g: fn(&mut TriageInput)| {
        let mut a = account(500, 300_000.0, 60);
        g(&mut a);
        a
    };
    let t2 = triage(
        today,
        from,
        to,
        vec![
            same(|a| a.upsell = upsell(300_000.0)),
            same(|a| {
                a.severity = Level::Medium;
                a.severity_score = 45.0;
            }),
            same(|a| high(a, 80.0)),
        ],
        &TriageSettings::default(),
    );
    let order: Vec<TriageGroup> = t2.order.iter().map(|i| i.group).collect();
    assert_eq!(
        order,
        [
            TriageGroup::AtRisk,
            TriageGroup::MediumRisk,
            TriageGroup::Upsell
        ]
    );
    // Every risk row names its causes and how its stake was reached.
    for i in t.order.iter().filter(|i| i.likelihood.is_some()) {
        assert!(!i.causes.is_empty(), "{}", i.reason);
        assert!(i.reason.contains(&i.causes[0]), "{}", i.reason);
        assert!(i.reason.contains("likely lost"), "{}", i.reason);
    }
}

/// No healthy upsell ranks above a renewal at risk unless the setting says so; then the
/// expansion competes with the revenue at stake.
#[test]
fn upsells_follow_every_risk_unless_the_setting_weighs_them_together() {
    let today = day("2026-11-23");
    let (from, to) = next_quarter(today);
    let mut small_risk = account(1, 60_000.0, 90);
    high(&mut small_risk, 76.0);
    let mut huge_upsell = account(2, 5_000_000.0, 40);
    huge_upsell.upsell = upsell(5_000_000.0);
    let inputs = vec![huge_upsell, small_risk];
    let t = triage(today, from, to, inputs.clone(), &TriageSettings::default());
    assert_eq!(t.order[0].group, TriageGroup::AtRisk);
    assert_eq!(t.order[1].group, TriageGroup::Upsell);
    assert!(
        t.order[1]
            .reason
            .contains("high expansion potential: ~1,000,000 USD expansion"),
        "{}",
        t.order[1].reason
    );
    let together = TriageSettings {
        upsell_with_risk: true,
    };
    let t = triage(today, from, to, inputs, &together);
    assert_eq!(t.order[0].group, TriageGroup::Upsell);
}

/// How likely the renewal is lost comes from severity: the same ARR and date at a higher
/// severity goes first, and a mild detractor still counts a floor of doubt.
#[test]
fn the_stake_follows_severity() {
    let today = day("2026-11-23");
    let (from, to) = next_quarter(today);
    let mut worse = account(1, 200_000.0, 60);
    high(&mut worse, 90.0);
    let mut bad = account(2, 200_000.0, 60);
    high(&mut bad, 60.0);
    let mut detractor = account(3, 200_000.0, 60);
    detractor.detractor = true;
    detractor.severity_score = 12.0;
    let t = triage(
        today,
        from,
        to,
        vec![bad, detractor, worse],
        &TriageSettings::default(),
    );
    let ids: Vec<&str> = t.order.iter().map(|i| i.account_id.as_str()).collect();
    assert_eq!(ids, ["a001", "a002", "a003"]);
    assert_eq!(t.order[0].likelihood, Some(0.9));
    assert_eq!(t.order[2].likelihood, Some(DETRACTOR_LIKELIHOOD));
    assert!(
        t.order[0]
            .reason
            .contains("200,000 USD ARR × 90 % likely lost (severity 90) = 180,000 USD at stake"),
        "{}",
        t.order[0].reason
    );
}

/// Seat overage is priced at the account's own seat price.
#[test]
fn expansion_is_read_from_seats_and_potential() {
    let e = expansion_of(120_000.0, Some(130), Some(100), "low").expect("overage");
    assert_eq!(
        (e.value, e.why.as_str()),
        (36_000.0, "30 users over 100 seats")
    );
    let e = expansion_of(120_000.0, Some(95), Some(100), "low").expect("nearly full");
    assert_eq!(e.value, 12_000.0);
    let e = expansion_of(120_000.0, Some(95), Some(100), "high").expect("potential");
    assert_eq!(e.why, "high expansion potential");
    assert_eq!(expansion_of(120_000.0, Some(40), Some(100), "medium"), None);
}

/// Where the worklist orders two renewals the other way round, each row says so and why.
#[test]
fn a_different_worklist_order_is_explained() {
    let today = day("2026-11-23");
    let (from, to) = next_quarter(today);
    let mut big = account(1, 1_000_000.0, 60);
    high(&mut big, 50.0);
    let mut small = account(2, 50_000.0, 60);
    high(&mut small, 95.0);
    let mut t = triage(
        today,
        from,
        to,
        vec![small, big],
        &TriageSettings::default(),
    );
    assert_eq!(t.order[0].account_id, "a001");
    let place = |points: f64| WorklistPlace {
        points,
        at_risk: true,
        how: format!("{points:.0} points"),
    };
    let places = [
        ("a001".to_string(), place(40.0)),
        ("a002".to_string(), place(90.0)),
    ]
    .into_iter()
    .collect();
    compare_with_worklist(&mut t, &places);
    assert_eq!(t.order[0].worklist_position, Some(2));
    let note = t.order[0].worklist_note.as_deref().expect("note");
    assert!(
        note.starts_with("The worklist has it 2nd of these renewals"),
        "{note}"
    );
    assert!(note.contains("40 points"), "{note}");
}

#[test]
fn next_quarter_wraps_the_year() {
    assert_eq!(
        next_quarter(day("2026-02-10")),
        (day("2026-04-01"), day("2026-06-30"))
    );
    assert_eq!(
        next_quarter(day("2026-12-31")),
        (day("2027-01-01"), day("2027-03-31"))
    );
    assert_eq!(ordinal(1), "1st");
    assert_eq!(ordinal(12), "12th");
    assert_eq!(ordinal(23), "23rd");
}

/// An account with no score is never "healthy": it has its own group, before the healthy
/// renewals.
#[test]
fn an_unscored_renewal_is_not_healthy() {
    let today = day("2026-11-23");
    let (from, to) = next_quarter(today);
    let mut blind = account(1, 50_000.0, 60);
    blind.unscored = true;
    let t = triage(
        today,
        from,
        to,
        vec![account(0, 900_000.0, 50), blind],
        &TriageSettings::default(),
    );
    assert_eq!(t.order[0].group, TriageGroup::Unscored, "{:?}", t.order);
    assert_eq!(t.order[1].group, TriageGroup::Healthy);
    assert!(
        t.order[0].reason.contains("not enough data"),
        "{}",
        t.order[0].reason
    );
}

/// On a scored book whose rules have opened CTAs (the detractor rule opens risk CTAs),
/// groups follow each account's state: a detractor that is not High severity is in the
/// detractor group, the at-risk group holds High severity only, and every risk row names
/// its causes.
#[tokio::test]
async fn groups_come_from_the_accounts_state_not_from_open_ctas() {
    let (_dir, store) = crate::store::testing::temp_store().await;
    let today = crate::store::testing::test_day();
    crate::book::load(
        &store,
        &crate::book::BookSpec::new(400, 11, today),
        |_, _| {},
    )
    .await
    .expect("book");
    crate::refresh::run(&store, crate::refresh::Scope::Book, today, "t", |_, _| {})
        .await
        .expect("refresh");
    let risk_ctas: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ctas c JOIN accounts a ON a.id = c.account_id JOIN account_health h ON h.account = a.rowid \
         WHERE c.status <> 'closed' AND c.type = 'risk' AND h.severity_level <> 'high'",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert!(
        risk_ctas > 0,
        "the book should have risk CTAs on accounts that are not High"
    );
    let t = renewals(&store, today, today + Duration::days(365), None, today)
        .await
        .expect("triage");
    let levels: std::collections::HashMap<String, (Option<String>, bool)> = sqlx::query_as::<_, (String, Option<String>, bool)>(
        "SELECT a.id, h.severity_level, EXISTS (SELECT 1 FROM signals s WHERE s.account_id = a.id AND s.cleared_at IS NULL AND s.kind = 'nps_detractor') \
         FROM accounts a LEFT JOIN account_health h ON h.account = a.rowid",
    )
    .fetch_all(store.pool())
    .await
    .expect("levels")
    .into_iter()
    .map(|(id, level, detractor)| (id, (level, detractor)))
    .collect();
    let mut detractors = 0;
    for i in &t.order {
        let (level, detractor) = &levels[&i.account_id];
        match i.group {
            TriageGroup::AtRisk => assert_eq!(level.as_deref(), Some("high"), "{}", i.reason),
            _ => assert_ne!(level.as_deref(), Some("high"), "{}", i.reason),
        }
        if *detractor && level.as_deref() != Some("high") {
            assert_eq!(i.group, TriageGroup::Detractor, "{}", i.reason);
            detractors += 1;
        }
        if i.likelihood.is_some() && i.group != TriageGroup::Unscored {
            assert!(!i.causes.is_empty(), "{}", i.reason);
        }
    }
    assert!(
        detractors > 0,
        "the book should have detractors that are not at risk"
    );
    let last_risk = t
        .order
        .iter()
        .rposition(|i| i.likelihood.is_some())
        .expect("risk");
    let first_upsell = t.order.iter().position(|i| i.group == TriageGroup::Upsell);
    assert!(
        first_upsell.is_none_or(|u| u > last_risk),
        "an upsell ranks above a risk"
    );
    assert!(
        t.order.iter().any(|i| i.worklist_note.is_some()),
        "the worklist orders some of these differently"
    );
}
