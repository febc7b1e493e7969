use super::*;
use crate::model::{Segment, Stage};
use crate::scorecard::tests::{account, day, usage};
use chrono::Duration;

/// Usage weeks end in the week of 2026-11-16; "today" is the Sunday after.
fn today() -> NaiveDate {
    day(2026, 11, 22)
}

fn facts(stage: Stage, active: impl Fn(usize) -> i32) -> AccountFacts {
    let mut a = account(Segment::MidMarket, stage);
    a.renewal_date = day(2027, 9, 1);
    let id = a.id.clone();
    let mut f = AccountFacts::new(a, 100_000_00);
    f.usage = usage(&id, active);
    f
}

#[test]
fn an_onboarding_account_is_adopted_after_four_weeks_at_the_share() {
    // 30 % for eight weeks, then 45 %, 50 %, 41 %, 60 %.
    let f = facts(Stage::Onboarding, |w| {
        if w < 8 {
            30
        } else {
            [45, 50, 41, 60][w - 8]
        }
    });
    let m = next(&f, today(), &StageCriteria::default()).expect("a move");
    assert_eq!((m.from, m.to), (Stage::Onboarding, Stage::Adopting));
    // The run completed at the end of the week of 2026-11-16.
    assert_eq!(m.adopted_on, Some(day(2026, 11, 22)));
    assert!(m.reason.contains("45 %, 50 %, 41 %, 60 %"), "{}", m.reason);
}

#[test]
fn three_weeks_or_a_broken_run_is_not_adoption() {
    let c = StageCriteria::default();
    let three = facts(Stage::Onboarding, |w| if w < 9 { 20 } else { 80 });
    assert_eq!(next(&three, today(), &c), None);
    let broken = facts(Stage::Onboarding, |w| if w % 3 == 2 { 10 } else { 80 });
    assert_eq!(next(&broken, today(), &c), None);
    assert!(matches!(
        adoption(&broken, today(), &c),
        Adoption::NotYet { .. }
    ));
}

#[test]
fn no_usage_data_is_unknown_not_unadopted() {
    let mut a = account(Segment::MidMarket, Stage::Onboarding);
    a.renewal_date = day(2027, 9, 1);
    let f = AccountFacts::new(a, 100_000_00);
    assert_eq!(
        adoption(&f, today(), &StageCriteria::default()),
        Adoption::Unknown
    );
    assert_eq!(next(&f, today(), &StageCriteria::default()), None);
}

#[test]
fn adoption_is_kept_and_matures_after_the_configured_days() {
    let c = StageCriteria::default();
    // Adopted 200 days ago, usage collapsed since: still adopted, now mature.
    let mut f = facts(Stage::Adopting, |_| 5);
    f.adopted_on = Some(today() - Duration::days(200));
    let m = next(&f, today(), &c).expect("a move");
    assert_eq!((m.from, m.to), (Stage::Adopting, Stage::Mature));
    assert_eq!(m.adopted_on, f.adopted_on);
    // 100 days ago: still adopted, not yet mature.
    f.adopted_on = Some(today() - Duration::days(100));
    assert_eq!(next(&f, today(), &c), None);
}

#[test]
fn the_renewal_window_takes_over_and_lets_go_after_renewal() {
    let c = StageCriteria::default();
    let mut f = facts(Stage::Mature, |_| 70);
    f.adopted_on = Some(day(2025, 3, 1));
    f.account.renewal_date = today() + Duration::days(120);
    let m = next(&f, today(), &c).expect("into renewal");
    assert_eq!(m.to, Stage::Renewal);
    // Renewed: the date moves a year on and the account goes back to mature.
    f.account.stage = Stage::Renewal;
    f.account.renewal_date = today() + Duration::days(365);
    let m = next(&f, today(), &c).expect("out of renewal");
    assert_eq!(m.to, Stage::Mature);
    // An account never adopted goes back to onboarding.
    let mut g = facts(Stage::Renewal, |_| 10);
    g.account.renewal_date = today() + Duration::days(365);
    assert_eq!(next(&g, today(), &c).map(|m| m.to), Some(Stage::Onboarding));
}

#[test]
fn a_stage_from_a_file_stands_until_the_data_moves_it() {
    // A file said "mature"; no adoption day is known and none is invented.
    let f = facts(Stage::Mature, |_| 10);
    assert_eq!(next(&f, today(), &StageCriteria::default()), None);
}

#[test]
fn criteria_are_validated() {
    let bad = StageCriteria {
        adopt_weeks: 0,
        ..Default::default()
    };
    assert!(bad.validate().is_err());
    let bad = StageCriteria {
        adopt_seat_pct: 150.0,
        ..Default::default()
    };
    assert!(bad.validate().is_err());
    assert!(StageCriteria::default().validate().is_ok());
}

#[test]
fn leaving_an_adopted_stage_keeps_the_adoption() {
    // A file said "adopted"; the renewal window begins: the account stays adopted.
    let mut f = facts(Stage::Adopting, |_| 10);
    f.account.renewal_date = today() + Duration::days(60);
    let m = next(&f, today(), &StageCriteria::default()).expect("into renewal");
    assert_eq!(m.to, Stage::Renewal);
    assert_eq!(m.adopted_on, Some(f.account.contract_start));
}
