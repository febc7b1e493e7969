use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::model::*;
use crate::scorecard::facts::AccountFacts;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

const TODAY: (i32, u32, u32) = (2026, 11, 23);

fn today() -> NaiveDate {
    day(TODAY.0, TODAY.1, TODAY.2)
}

fn facts(stage: Stage) -> AccountFacts {
    let mut account = crate::scorecard::tests::account(Segment::Enterprise, stage);
    account.renewal_date = day(2027, 6, 1);
    AccountFacts::new(account, 100_000_00)
}

fn kinds(d: &[Detected]) -> Vec<SignalKind> {
    d.iter().map(|s| s.kind).collect()
}

fn weeks(f: &mut AccountFacts, active: &[i32]) {
    let n = active.len() as i64;
    f.usage = active
        .iter()
        .enumerate()
        .map(|(i, a)| UsageWeek {
            account_id: f.account.id.clone(),
            week_start: day(2026, 11, 16) - Duration::weeks(n - 1 - i as i64),
            active_users: *a,
            licensed_seats: 100,
            logins: a * 3,
            key_feature_adoption: 40,
        })
        .collect();
}

fn ticket(
    f: &AccountFacts,
    days_ago: i64,
    category: &str,
    priority: TicketPriority,
    open: bool,
) -> Ticket {
    let opened = Utc.from_utc_datetime(
        &(today() - Duration::days(days_ago))
            .and_hms_opt(10, 0, 0)
            .expect("time"),
    );
    Ticket {
        id: crate::new_id(),
        account_id: f.account.id.clone(),
        external_id: Some(format!("T-{days_ago}")),
        subject: "Something broke".into(),
        priority,
        category: category.into(),
        opened_at: opened,
        resolved_at: (!open).then(|| opened + Duration::hours(5)),
    }
}

#[test]
fn a_steady_account_shows_no_signal() {
    let mut f = facts(Stage::Mature);
    weeks(&mut f, &[60; 12]);
    assert!(detect(
        &f,
        today(),
        Some(85.0),
        Some((2, 3, "Green")),
        &SignalThresholds::default()
    )
    .is_empty());
}

#[test]
fn usage_drop_against_the_trailing_baseline() {
    let mut f = facts(Stage::Mature);
    weeks(&mut f, &[80, 80, 80, 80, 80, 80, 80, 80, 50, 45, 40, 40]);
    let d = detect(&f, today(), None, None, &SignalThresholds::default());
    assert_eq!(kinds(&d), [SignalKind::UsageDrop]);
    assert_eq!(d[0].severity, Level::Medium);
    assert!(d[0].summary.contains("45 %"), "{}", d[0].summary);
    weeks(&mut f, &[80, 80, 80, 80, 80, 80, 80, 80, 30, 25, 20, 20]);
    assert_eq!(
        detect(&f, today(), None, None, &SignalThresholds::default())[0].severity,
        Level::High
    );
    // A smaller dip stays under the threshold.
    weeks(&mut f, &[80, 80, 80, 80, 80, 80, 80, 80, 70, 65, 62, 60]);
    assert!(detect(&f, today(), None, None, &SignalThresholds::default()).is_empty());
}

#[test]
fn sponsor_left_unless_replaced() {
    let mut f = facts(Stage::Mature);
    let at = f.account.created_at;
    let contact = |role, status, left_on| Contact {
        id: crate::new_id(),
        account_id: f.account.id.clone(),
        name: "Lena Vogel".into(),
        email: String::new(),
        title: "COO".into(),
        role,
        status,
        left_on,
        created_at: at,
        external_id: None,
    };
    f.contacts = vec![
        contact(
            ContactRole::Sponsor,
            ContactStatus::Left,
            Some(today() - Duration::days(10)),
        ),
        contact(ContactRole::Champion, ContactStatus::Active, None),
    ];
    let d = detect(&f, today(), None, None, &SignalThresholds::default());
    assert_eq!(kinds(&d), [SignalKind::SponsorLeft]);
    assert_eq!(d[0].severity, Level::High);
    f.contacts
        .push(contact(ContactRole::Sponsor, ContactStatus::Active, None));
    assert!(detect(&f, today(), None, None, &SignalThresholds::default()).is_empty());
}

#[test]
fn tickets_rising_and_recurring_issues() {
    let mut f = facts(Stage::Mature);
    f.tickets = (0..4)
        .map(|i| ticket(&f, 3 + i, "Bug", TicketPriority::High, true))
        .collect();
    let d = detect(&f, today(), None, None, &SignalThresholds::default());
    assert_eq!(
        kinds(&d),
        [SignalKind::TicketsRising, SignalKind::RecurringIssues]
    );
    assert_eq!(d[0].evidence.len(), 4);
    // Resolved tickets of many categories are not a signal.
    f.tickets = ["Bug", "Billing", "Access", "How-to"]
        .iter()
        .enumerate()
        .map(|(i, c)| ticket(&f, 3 + i as i64, c, TicketPriority::Normal, false))
        .collect();
    assert!(detect(&f, today(), None, None, &SignalThresholds::default()).is_empty());
}

#[test]
fn detractor_implementation_delay_health_drop_and_renewal() {
    let mut f = facts(Stage::Onboarding);
    f.account.contract_start = today() - Duration::days(100);
    f.account.renewal_date = today() + Duration::days(60);
    // Usage that shows no adoption (without usage, adoption is unknown, not a delay).
    f.usage = crate::scorecard::tests::usage(&f.account.id, |_| 10);
    f.nps.push(NpsResponse {
        id: crate::new_id(),
        account_id: f.account.id.clone(),
        contact_id: None,
        score: 2,
        comment: "Considering alternatives".into(),
        responded_on: today() - Duration::days(5),
        external_id: None,
    });
    f.history = vec![(today() - Duration::days(28), 80.0)];
    let d = detect(
        &f,
        today(),
        Some(45.0),
        Some((0, 3, "Red")),
        &SignalThresholds::default(),
    );
    assert_eq!(
        kinds(&d),
        [
            SignalKind::NpsDetractor,
            SignalKind::ImplementationDelay,
            SignalKind::HealthDrop,
            SignalKind::RenewalAtRisk
        ]
    );
    assert!(d.iter().all(|s| !s.evidence.is_empty()));
    let sev: Vec<Level> = d.iter().map(|s| s.severity).collect();
    assert_eq!(sev, [Level::High, Level::Medium, Level::High, Level::High]);
    // Raising the thresholds silences them.
    let strict = SignalThresholds {
        implementation_days: 120,
        health_drop_pct: 50.0,
        renewal_window_days: 30,
        detractor_lookback_days: 3,
        ..Default::default()
    };
    assert!(detect(&f, today(), Some(45.0), Some((0, 3, "Red")), &strict).is_empty());
}

#[test]
fn thresholds_are_validated() {
    let t = SignalThresholds {
        usage_drop_pct: 0.0,
        implementation_days: 0,
        ..Default::default()
    };
    let p = t.problems();
    assert!(
        p.iter().any(|x| x.starts_with("usage_drop_pct"))
            && p.iter().any(|x| x.starts_with("implementation_days")),
        "{p:?}"
    );
}

/// The signals whose words count days keep the date instead and read as the count on the
/// day they are read: the same words as before on the day judged, the same stored text
/// the next day (so nothing is rewritten for a day passing), the next day's count when
/// read then.
#[test]
fn day_counts_are_stored_as_dates_and_read_as_counts() {
    let mut f = facts(Stage::Onboarding);
    f.account.contract_start = today() - Duration::days(100);
    f.account.renewal_date = today() + Duration::days(60);
    f.usage = crate::scorecard::tests::usage(&f.account.id, |_| 10);
    let at = f.account.created_at;
    f.contacts = vec![Contact {
        id: crate::new_id(),
        account_id: f.account.id.clone(),
        name: "Lena Vogel".into(),
        email: String::new(),
        title: "COO".into(),
        role: ContactRole::Champion,
        status: ContactStatus::Left,
        left_on: Some(today() - Duration::days(10)),
        created_at: at,
        external_id: None,
    }];
    let t = SignalThresholds::default();
    let band = Some((0, 3, "Red"));
    let judged = |on: NaiveDate| detect(&f, on, Some(45.0), band, &t);
    let (now, next) = (judged(today()), judged(today() + Duration::days(1)));
    let read = |d: &[Detected], on: NaiveDate| -> Vec<(String, Vec<String>)> {
        d.iter()
            .map(|s| {
                let e = s.evidence.iter().map(|e| render(s.kind, e, on)).collect();
                (render(s.kind, &s.summary, on), e)
            })
            .collect()
    };
    let words = read(&now, today());
    let find = |words: &[(String, Vec<String>)], start: &str| {
        words
            .iter()
            .find(|(s, _)| s.starts_with(start))
            .cloned()
            .unwrap_or_else(|| panic!("no {start} in {words:?}"))
    };
    assert_eq!(
        find(&words, "Renews").0,
        "Renews in 60 days with Red health"
    );
    assert_eq!(
        find(&words, "Not adopted").0,
        "Not adopted 100 days after the contract date"
    );
    assert_eq!(
        find(&words, "Lena").1,
        ["champion Lena Vogel left 10 days ago"]
    );
    // A day later the stored words are the same; read that day, they count one more.
    let texts = |d: &[Detected]| -> Vec<(String, Vec<String>)> {
        d.iter()
            .map(|s| (s.summary.clone(), s.evidence.clone()))
            .collect()
    };
    assert_eq!(texts(&now), texts(&next));
    let later = read(&next, today() + Duration::days(1));
    assert_eq!(
        find(&later, "Renews").0,
        "Renews in 59 days with Red health"
    );
    assert_eq!(
        find(&later, "Not adopted").0,
        "Not adopted 101 days after the contract date"
    );
    // Other kinds' words, and anything that is not a day count, read as stored.
    let quoted = "NPS 2 on 2026-11-18: “{until:2027-01-01} is our deadline”";
    assert_eq!(render(SignalKind::NpsDetractor, quoted, today()), quoted);
    for odd in [
        "{",
        "}{",
        "{until:}",
        "{until:tomorrow} days",
        "{soon:2026-11-30}",
        "a {b",
    ] {
        assert_eq!(render(SignalKind::RenewalAtRisk, odd, today()), odd);
    }
    assert_eq!(
        render(
            SignalKind::RenewalAtRisk,
            "{since:2026-11-20}/{until:2026-11-30}",
            today()
        ),
        "3/7"
    );
}
