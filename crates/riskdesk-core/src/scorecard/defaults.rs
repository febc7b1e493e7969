//! The scorecards a new store starts with: a standard one, one for onboarding accounts
//! and a lighter one for tech-touch accounts, all graded red < 50 ≤ yellow < 75 ≤ green.

use super::{Band, MapPoint, Mapping, MeasureConfig, MeasureKind, ScorecardDefinition};
use crate::model::{Segment, Stage};

pub(crate) fn linear(points: &[(f64, f64)]) -> Mapping {
    Mapping::Linear(
        points
            .iter()
            .map(|&(raw, score)| MapPoint { raw, score })
            .collect(),
    )
}

fn steps(points: &[(f64, f64)]) -> Mapping {
    Mapping::Steps(
        points
            .iter()
            .map(|&(raw, score)| MapPoint { raw, score })
            .collect(),
    )
}

fn m(kind: MeasureKind, weight: f64, group: &str, mapping: Mapping) -> MeasureConfig {
    MeasureConfig {
        kind,
        weight,
        group: Some(group.to_string()),
        mapping,
    }
}

pub fn bands() -> Vec<Band> {
    vec![
        Band {
            name: "Red".into(),
            min: 0.0,
            color: "#dc2626".into(),
        },
        Band {
            name: "Yellow".into(),
            min: 50.0,
            color: "#d97706".into(),
        },
        Band {
            name: "Green".into(),
            min: 75.0,
            color: "#16a34a".into(),
        },
    ]
}

fn seat_utilization() -> Mapping {
    linear(&[
        (0.0, 0.0),
        (30.0, 20.0),
        (50.0, 50.0),
        (70.0, 80.0),
        (85.0, 100.0),
    ])
}
fn user_trend() -> Mapping {
    linear(&[
        (-50.0, 0.0),
        (-25.0, 30.0),
        (-10.0, 60.0),
        (0.0, 80.0),
        (10.0, 100.0),
    ])
}
fn logins() -> Mapping {
    linear(&[(0.0, 0.0), (1.0, 30.0), (3.0, 70.0), (5.0, 100.0)])
}
fn adoption() -> Mapping {
    linear(&[
        (0.0, 0.0),
        (20.0, 30.0),
        (40.0, 60.0),
        (60.0, 85.0),
        (80.0, 100.0),
    ])
}
fn open_tickets() -> Mapping {
    steps(&[
        (0.0, 100.0),
        (2.0, 80.0),
        (4.0, 50.0),
        (7.0, 20.0),
        (10.0, 0.0),
    ])
}
fn ticket_age() -> Mapping {
    linear(&[
        (0.0, 100.0),
        (7.0, 80.0),
        (14.0, 50.0),
        (30.0, 20.0),
        (60.0, 0.0),
    ])
}
fn nps_latest() -> Mapping {
    linear(&[
        (0.0, 0.0),
        (6.0, 40.0),
        (7.0, 60.0),
        (8.0, 75.0),
        (9.0, 90.0),
        (10.0, 100.0),
    ])
}
fn nps_trend() -> Mapping {
    linear(&[(-5.0, 0.0), (-2.0, 40.0), (0.0, 70.0), (2.0, 100.0)])
}
fn stakeholders() -> Mapping {
    steps(&[(0.0, 0.0), (1.0, 50.0), (2.0, 100.0)])
}
fn recency() -> Mapping {
    linear(&[
        (0.0, 100.0),
        (30.0, 80.0),
        (60.0, 50.0),
        (120.0, 10.0),
        (180.0, 0.0),
    ])
}
fn sentiment() -> Mapping {
    linear(&[(0.0, 0.0), (100.0, 100.0)])
}

/// (name, definition) of each default scorecard.
pub fn default_scorecards() -> Vec<(String, ScorecardDefinition)> {
    use MeasureKind::*;
    vec![
        (
            "Standard health".into(),
            ScorecardDefinition {
                description: "Adopting, mature and renewing accounts with a named CSM.".into(),
                segments: vec![],
                stages: vec![],
                measures: vec![
                    m(SeatUtilization, 20.0, "Adoption", seat_utilization()),
                    m(ActiveUserTrend, 15.0, "Adoption", user_trend()),
                    m(LoginFrequency, 5.0, "Adoption", logins()),
                    m(KeyFeatureAdoption, 10.0, "Adoption", adoption()),
                    m(OpenTickets, 10.0, "Support", open_tickets()),
                    m(TicketAge, 5.0, "Support", ticket_age()),
                    m(NpsLatest, 10.0, "Sentiment", nps_latest()),
                    m(NpsTrend, 5.0, "Sentiment", nps_trend()),
                    m(CsmSentiment, 5.0, "Sentiment", sentiment()),
                    m(Stakeholders, 10.0, "Relationship", stakeholders()),
                    m(EngagementRecency, 5.0, "Relationship", recency()),
                ],
                bands: bands(),
                min_coverage: super::default_min_coverage(),
            },
        ),
        (
            "Onboarding".into(),
            ScorecardDefinition {
                description: "New customers: judged on getting live, not on steady-state usage."
                    .into(),
                segments: vec![],
                stages: vec![Stage::Onboarding],
                measures: vec![
                    m(
                        OnboardingProgress,
                        30.0,
                        "Onboarding",
                        linear(&[
                            (0.0, 100.0),
                            (45.0, 90.0),
                            (90.0, 50.0),
                            (120.0, 20.0),
                            (180.0, 0.0),
                        ]),
                    ),
                    m(
                        SeatUtilization,
                        20.0,
                        "Adoption",
                        linear(&[(0.0, 0.0), (20.0, 50.0), (40.0, 80.0), (60.0, 100.0)]),
                    ),
                    m(
                        KeyFeatureAdoption,
                        15.0,
                        "Adoption",
                        linear(&[(0.0, 0.0), (15.0, 40.0), (30.0, 75.0), (50.0, 100.0)]),
                    ),
                    m(Stakeholders, 15.0, "Relationship", stakeholders()),
                    m(EngagementRecency, 10.0, "Relationship", recency()),
                    m(OpenTickets, 5.0, "Support", open_tickets()),
                    m(CsmSentiment, 5.0, "Sentiment", sentiment()),
                ],
                bands: bands(),
                min_coverage: super::default_min_coverage(),
            },
        ),
        (
            "Tech-touch".into(),
            ScorecardDefinition {
                description: "Pooled accounts without a named CSM: product data only.".into(),
                segments: vec![Segment::TechTouch],
                stages: vec![Stage::Adopting, Stage::Mature, Stage::Renewal],
                measures: vec![
                    m(SeatUtilization, 30.0, "Adoption", seat_utilization()),
                    m(ActiveUserTrend, 25.0, "Adoption", user_trend()),
                    m(LoginFrequency, 10.0, "Adoption", logins()),
                    m(KeyFeatureAdoption, 15.0, "Adoption", adoption()),
                    m(OpenTickets, 10.0, "Support", open_tickets()),
                    m(NpsLatest, 10.0, "Sentiment", nps_latest()),
                ],
                bands: bands(),
                min_coverage: super::default_min_coverage(),
            },
        ),
    ]
}
