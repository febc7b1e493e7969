//! The rules a new store is offered, one per story in PRODUCT.md.

use super::{Action, Compare, Condition, CtaOwner, CtaType, NumberField, RuleDefinition};
use crate::model::{Segment, Stage};
use crate::signals::{Level, SignalKind};

fn number(field: NumberField, compare: Compare, value: f64) -> Condition {
    Condition::Number {
        field,
        compare,
        value,
    }
}

fn all(conditions: Vec<Condition>) -> Condition {
    Condition::All { conditions }
}

fn cta(
    cta_type: CtaType,
    reason: &str,
    priority: Level,
    playbook: Option<&str>,
    due_in_days: u32,
) -> Action {
    Action::CreateCta {
        cta_type,
        reason: reason.into(),
        priority,
        playbook: playbook.map(Into::into),
        owner: CtaOwner::AccountOwner,
        due_in_days,
    }
}

fn close() -> Action {
    Action::CloseWhenCleared {
        outcome: "resolved".into(),
    }
}

/// (name, definition) of each template.
pub fn templates() -> Vec<(String, RuleDefinition)> {
    let rule = |name: &str, description: &str, condition: Condition, actions: Vec<Action>| {
        (
            name.to_string(),
            RuleDefinition {
                description: description.into(),
                condition,
                actions,
            },
        )
    };
    vec![
        rule(
            "High severity on a high-ARR account",
            "Severity High on an account worth $100K or more gets a risk CTA.",
            all(vec![
                number(NumberField::SeverityScore, Compare::Ge, 45.0),
                number(NumberField::Arr, Compare::Ge, 100_000.0),
            ]),
            vec![
                cta(
                    CtaType::Risk,
                    "High severity on a high-ARR account",
                    Level::High,
                    Some("Risk save"),
                    7,
                ),
                close(),
            ],
        ),
        rule(
            "Not adopted 90 days after contract",
            "Still onboarding and not adopted (by the stage criteria) 90 days after the original contract date: implementation risk. An account without usage data is not judged.",
            all(vec![
                Condition::StageIn {
                    stages: vec![Stage::Onboarding],
                },
                Condition::Adopted { is: false },
                number(NumberField::DaysSinceContract, Compare::Ge, 90.0),
            ]),
            vec![
                cta(
                    CtaType::Onboarding,
                    "Not adopted 90 days after contract",
                    Level::High,
                    Some("Implementation recovery"),
                    7,
                ),
                Action::SetCategory {
                    category: "implementation".into(),
                },
                close(),
            ],
        ),
        rule(
            "Usage drop on a strategic account",
            "A strategic account whose active users drop gets a risk CTA.",
            all(vec![
                Condition::Strategic { is: true },
                Condition::Signal {
                    signal: Some(SignalKind::UsageDrop),
                    min_severity: Level::Medium,
                },
            ]),
            vec![
                cta(
                    CtaType::Risk,
                    "Usage drop on a strategic account",
                    Level::High,
                    Some("Risk save"),
                    5,
                ),
                close(),
                // Falling use is most often a fit problem; the CSM re-files it if not.
                Action::SetCategory {
                    category: "product fit".into(),
                },
            ],
        ),
        rule(
            "NPS detractor",
            "A recent detractor response gets a follow-up.",
            Condition::Signal {
                signal: Some(SignalKind::NpsDetractor),
                min_severity: Level::Medium,
            },
            vec![
                cta(
                    CtaType::Risk,
                    "NPS detractor follow-up",
                    Level::Medium,
                    Some("Detractor follow-up"),
                    7,
                ),
                close(),
                Action::SetCategory {
                    category: "sentiment".into(),
                },
            ],
        ),
        rule(
            "Health drop of 20 % in 30 days",
            "A steep fall in health gets a risk CTA before the next review.",
            number(NumberField::HealthChange30Pct, Compare::Le, -20.0),
            vec![
                cta(
                    CtaType::Risk,
                    "Health dropped 20 % or more in 30 days",
                    Level::Medium,
                    Some("Risk save"),
                    10,
                ),
                close(),
            ],
        ),
        rule(
            "Renewal in 120 days",
            "Accounts with a CSM start renewal preparation 120 days out.",
            all(vec![
                number(NumberField::DaysToRenewal, Compare::Le, 120.0),
                Condition::Not {
                    condition: Box::new(Condition::SegmentIn {
                        segments: vec![Segment::TechTouch],
                    }),
                },
            ]),
            vec![cta(
                CtaType::Renewal,
                "Renewal preparation",
                Level::Medium,
                Some("Renewal preparation"),
                30,
            )],
        ),
        rule(
            "Seats nearly full and healthy",
            "A healthy account using 90 % of its seats is an expansion conversation.",
            all(vec![
                number(NumberField::SeatUtilizationPct, Compare::Ge, 90.0),
                number(NumberField::HealthScore, Compare::Ge, 75.0),
            ]),
            vec![
                cta(
                    CtaType::Expansion,
                    "Seats nearly full on a healthy account",
                    Level::Low,
                    Some("Expansion"),
                    21,
                ),
                close(),
            ],
        ),
        rule(
            "Low-ARR account at risk: digital playbook",
            "Below $20K ARR, risk starts a digital playbook instead of a CSM task.",
            all(vec![
                number(NumberField::Arr, Compare::Lt, 20_000.0),
                number(NumberField::SeverityScore, Compare::Ge, 25.0),
            ]),
            vec![Action::StartDigitalPlaybook {
                playbook: "Digital re-engagement".into(),
            }],
        ),
    ]
}
