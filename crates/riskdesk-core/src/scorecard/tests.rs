use chrono::{NaiveDate, TimeZone, Utc};

use super::facts::MeasureOverride;
use super::*;
use crate::model::*;

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

pub(crate) fn account(segment: Segment, stage: Stage) -> Account {
    let at = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    Account {
        id: crate::new_id(),
        name: "Test Co".into(),
        arr_minor: 100_000_00,
        currency: "USD".into(),
        segment,
        stage,
        contract_start: day(2025, 1, 1),
        renewal_date: day(2027, 1, 1),
        owner_id: None,
        strategic: false,
        expansion_potential: ExpansionPotential::Low,
        industry: String::new(),
        region: String::new(),
        crm_id: None,
        created_at: at,
        updated_at: at,
    }
}

/// 12 weeks of usage ending in the week of 2026-11-16, with `active(week)` users of 100 seats.
pub(crate) fn usage(account_id: &str, active: impl Fn(usize) -> i32) -> Vec<UsageWeek> {
    (0..12)
        .map(|w| UsageWeek {
            account_id: account_id.into(),
            week_start: day(2026, 11, 16) - chrono::Duration::weeks(11 - w as i64),
            active_users: active(w),
            licensed_seats: 100,
            logins: active(w) * 4,
            key_feature_adoption: 50,
        })
        .collect()
}

fn card(measures: Vec<MeasureConfig>) -> Scorecard {
    Scorecard {
        id: "card".into(),
        name: "Test".into(),
        version: 1,
        definition: ScorecardDefinition {
            description: String::new(),
            segments: vec![],
            stages: vec![],
            measures,
            bands: defaults::bands(),
            // The weighted-mean tests below score from any data; coverage has its own.
            min_coverage: 0.0,
        },
    }
}

use super::defaults::linear;

#[test]
fn mappings_interpolate_step_and_clamp() {
    let l = linear(&[(0.0, 0.0), (50.0, 50.0), (100.0, 100.0)]);
    assert_eq!(l.apply(-5.0), 0.0);
    assert_eq!(l.apply(25.0), 25.0);
    assert_eq!(l.apply(75.0), 75.0);
    assert_eq!(l.apply(500.0), 100.0);
    let s = Mapping::Steps(vec![
        MapPoint {
            raw: 0.0,
            score: 100.0,
        },
        MapPoint {
            raw: 2.0,
            score: 80.0,
        },
        MapPoint {
            raw: 4.0,
            score: 50.0,
        },
    ]);
    assert_eq!(s.apply(1.0), 100.0);
    assert_eq!(s.apply(2.0), 80.0);
    assert_eq!(s.apply(3.9), 80.0);
    assert_eq!(s.apply(9.0), 50.0);
}

#[test]
fn overall_is_the_weighted_mean_of_measures_with_data_and_contributions_add_up() {
    let a = account(Segment::Enterprise, Stage::Mature);
    let mut f = AccountFacts::new(a.clone(), a.arr_minor);
    f.usage = usage(&a.id, |_| 40);
    let c = card(vec![
        MeasureConfig {
            kind: MeasureKind::SeatUtilization,
            weight: 30.0,
            group: None,
            mapping: linear(&[(0.0, 0.0), (100.0, 100.0)]),
        },
        MeasureConfig {
            kind: MeasureKind::KeyFeatureAdoption,
            weight: 10.0,
            group: None,
            mapping: linear(&[(0.0, 0.0), (100.0, 100.0)]),
        },
        // No NPS response: missing, so it must not drag the score down.
        MeasureConfig {
            kind: MeasureKind::NpsLatest,
            weight: 60.0,
            group: None,
            mapping: linear(&[(0.0, 0.0), (10.0, 100.0)]),
        },
    ]);
    let h = score(&c, &f, day(2026, 11, 23));
    let expected = (30.0 * 40.0 + 10.0 * 50.0) / 40.0;
    assert!(
        (h.score.expect("score") - expected).abs() < 1e-9,
        "{:?}",
        h.score
    );
    let sum: f64 = h.measures.iter().map(|m| m.contribution).sum();
    assert!((sum - expected).abs() < 1e-9);
    let nps = h
        .measures
        .iter()
        .find(|m| m.kind == MeasureKind::NpsLatest)
        .expect("nps");
    assert_eq!(
        (nps.score, &nps.source, nps.contribution),
        (None, &ScoreSource::Missing, 0.0)
    );
    assert_eq!(h.band.as_deref(), Some("Red"));
    let seat = &h.measures[0];
    assert_eq!(seat.raw_display, "40 % of 100 seats");
    assert!(seat.evidence.contains("40 active users"));
}

#[test]
fn no_data_at_all_means_no_score_not_zero() {
    let a = account(Segment::Enterprise, Stage::Mature);
    let f = AccountFacts::new(a.clone(), a.arr_minor);
    let c = card(vec![MeasureConfig {
        kind: MeasureKind::NpsLatest,
        weight: 1.0,
        group: None,
        mapping: linear(&[(0.0, 0.0), (10.0, 100.0)]),
    }]);
    let h = score(&c, &f, day(2026, 11, 23));
    assert_eq!((h.score, h.band), (None, None));
}

#[test]
fn an_active_override_wins_and_an_expired_one_does_not() {
    let a = account(Segment::Enterprise, Stage::Mature);
    let mut f = AccountFacts::new(a.clone(), a.arr_minor);
    f.usage = usage(&a.id, |_| 40);
    let c = card(vec![MeasureConfig {
        kind: MeasureKind::SeatUtilization,
        weight: 1.0,
        group: None,
        mapping: linear(&[(0.0, 0.0), (100.0, 100.0)]),
    }]);
    f.overrides.push(MeasureOverride {
        id: "o".into(),
        measure: MeasureKind::SeatUtilization,
        score: 90.0,
        comment: "Seasonal dip; team is on summer break".into(),
        author_name: Some("Dana".into()),
        expires_on: Some(day(2026, 12, 1)),
    });
    let h = score(&c, &f, day(2026, 11, 23));
    assert_eq!(h.score, Some(90.0));
    assert!(
        matches!(&h.measures[0].source, ScoreSource::Override { comment, .. } if comment.contains("summer"))
    );
    let later = score(&c, &f, day(2026, 12, 2));
    assert_eq!(later.score, Some(40.0));
}

#[test]
fn the_most_specific_scorecard_applies() {
    let defaults: Vec<Scorecard> = default_scorecards()
        .into_iter()
        .enumerate()
        .map(|(i, (name, definition))| Scorecard {
            id: i.to_string(),
            name,
            version: 1,
            definition,
        })
        .collect();
    let name = |seg, stage| assign(&defaults, seg, stage).map(|c| c.name.as_str());
    assert_eq!(
        name(Segment::Enterprise, Stage::Mature),
        Some("Standard health")
    );
    assert_eq!(
        name(Segment::Enterprise, Stage::Onboarding),
        Some("Onboarding")
    );
    assert_eq!(
        name(Segment::TechTouch, Stage::Onboarding),
        Some("Onboarding")
    );
    assert_eq!(name(Segment::TechTouch, Stage::Mature), Some("Tech-touch"));
}

#[test]
fn default_scorecards_are_valid_and_bad_ones_name_the_part_at_fault() {
    for (name, d) in default_scorecards() {
        assert!(d.problems().is_empty(), "{name}: {:?}", d.problems());
    }
    let (_, mut d) = default_scorecards().remove(0);
    d.measures[1].weight = 0.0;
    d.measures[2].mapping = linear(&[(5.0, 0.0), (1.0, 100.0)]);
    d.measures.push(d.measures[0].clone());
    d.bands = vec![d.bands[0].clone()];
    let problems = d.problems();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("measures[1] (Active-user trend).weight")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("measures[2] (Login frequency).mapping")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("appears more than once")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("bands: a grading scheme has 2 to 12 bands")),
        "{problems:?}"
    );
    assert!(d.validate().is_err());
}

#[test]
fn changes_name_the_measure_and_points_moved() {
    let a = account(Segment::Enterprise, Stage::Mature);
    let c = card(vec![
        MeasureConfig {
            kind: MeasureKind::SeatUtilization,
            weight: 50.0,
            group: None,
            mapping: linear(&[(0.0, 0.0), (100.0, 100.0)]),
        },
        MeasureConfig {
            kind: MeasureKind::KeyFeatureAdoption,
            weight: 50.0,
            group: None,
            mapping: linear(&[(0.0, 0.0), (100.0, 100.0)]),
        },
    ]);
    let mut before = AccountFacts::new(a.clone(), a.arr_minor);
    before.usage = usage(&a.id, |_| 82);
    let mut after = before.clone();
    after.usage = usage(&a.id, |_| 41);
    let (p, n) = (
        score(&c, &before, day(2026, 11, 23)),
        score(&c, &after, day(2026, 11, 23)),
    );
    let lines = changes(&p.measures, &n.measures);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("Seat utilization 82 → 41: −20.5 points"),
        "{lines:?}"
    );
    assert!((n.score.unwrap_or_default() - p.score.unwrap_or_default() + 20.5).abs() < 1e-9);
}

/// An imported account with no usage, no ticket and no NPS yet has no score ("not enough
/// data"), not a perfect one made of "0 open tickets"; one with its feeds scores.
#[test]
fn no_data_is_not_healthy() {
    let today = day(2026, 11, 23);
    let (name, definition) = defaults::default_scorecards().remove(0);
    assert_eq!(definition.min_coverage, 0.5);
    let card = Scorecard {
        id: "c".into(),
        name,
        version: 1,
        definition,
    };
    let a = account(Segment::Enterprise, Stage::Mature);
    let bare = AccountFacts::new(a.clone(), a.arr_minor);
    let scored = score(&card, &bare, today);
    assert_eq!(
        (scored.score, scored.band.clone()),
        (None, None),
        "{:?}",
        scored.coverage
    );
    assert!(scored.coverage.with_data < scored.coverage.total);
    assert!(
        scored
            .coverage
            .missing
            .iter()
            .any(|m| m == "Open support tickets"),
        "{:?}",
        scored.coverage.missing
    );
    // With usage, a ticket and NPS it scores.
    let mut fed = bare.clone();
    fed.usage = usage(&a.id, |_| 80);
    fed.tickets = vec![Ticket {
        id: "t".into(),
        account_id: a.id.clone(),
        external_id: None,
        subject: "Login fails".into(),
        priority: TicketPriority::Normal,
        category: "bug".into(),
        opened_at: Utc
            .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
            .single()
            .expect("time"),
        resolved_at: None,
    }];
    fed.nps = vec![NpsResponse {
        id: "n".into(),
        account_id: a.id.clone(),
        contact_id: None,
        score: 9,
        comment: String::new(),
        responded_on: day(2026, 10, 2),
        external_id: None,
    }];
    let scored = score(&card, &fed, today);
    assert!(scored.score.is_some(), "{:?}", scored.coverage);
    assert!(scored.coverage.weight_share >= 0.5);
    // The threshold is the scorecard's: at 0 any data scores.
    let mut lenient = card.clone();
    lenient.definition.min_coverage = 0.0;
    let mut one = bare.clone();
    one.nps = fed.nps.clone();
    assert!(score(&lenient, &one, today).score.is_some());
    assert!(score(&card, &one, today).score.is_none());
}
