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
        risk_cta: false,
        detractor: false,
        upsell: false,
        unscored: false,
    }
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
                a.severity = Level::High;
                a.risk_cta = n % 2 == 0;
                a.detractor = n < 4;
            }
            10..=39 => {
                a.severity = Level::Medium;
                a.detractor = n < 13;
            }
            40..=44 => a.detractor = true,
            45..=59 => a.upsell = true,
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
    let t = triage(today, from, to, hundred_renewals());

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
            same(|a| a.upsell = true),
            same(|a| a.severity = Level::Medium),
            same(|a| a.severity = Level::High),
        ],
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
    let t = triage(today, from, to, vec![account(0, 900_000.0, 50), blind]);
    assert_eq!(t.order[0].group, TriageGroup::Unscored, "{:?}", t.order);
    assert_eq!(t.order[1].group, TriageGroup::Healthy);
    assert!(
        t.order[0].reason.contains("not enough data"),
        "{}",
        t.order[0].reason
    );
}
