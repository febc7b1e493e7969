use super::templates::templates;
use super::*;

fn healthy() -> AccountState {
    AccountState {
        health: Some(82.0),
        band: Some("Green".into()),
        health_change_30_pct: Some(2.0),
        severity: Some(8.0),
        severity_level: Some(Level::Low),
        arr_major: 250_000.0,
        days_to_renewal: 200,
        days_since_contract: 700,
        seat_utilization_pct: Some(70.0),
        measures: vec![(MeasureKind::NpsLatest, Some(90.0))],
        segment: Some(Segment::Enterprise),
        stage: Some(Stage::Mature),
        days_in_stage: Some(400),
        days_since_adopted: Some(540),
        adopted: Some(true),
        adoption_evidence: "adopted on 2025-06-01".into(),
        strategic: true,
        expansion: Some(ExpansionPotential::Medium),
        signals: vec![],
        live_ctas: vec![],
    }
}

fn template(name: &str) -> RuleDefinition {
    templates()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, d)| d)
        .expect("template")
}

#[test]
fn templates_are_valid_and_quiet_on_a_healthy_account() {
    for (name, d) in templates() {
        assert!(d.problems().is_empty(), "{name}: {:?}", d.problems());
        assert!(
            !d.condition.evaluate(&healthy()).holds,
            "{name} fired on a healthy account"
        );
    }
}

#[test]
fn high_severity_high_arr_fires_with_its_evidence() {
    let mut s = healthy();
    s.severity = Some(61.0);
    let v = template("High severity on a high-ARR account")
        .condition
        .evaluate(&s);
    assert!(v.holds);
    assert_eq!(
        v.evidence,
        ["severity score 61 ≥ 45", "ARR 250,000 USD ≥ 100,000 USD"]
    );
    s.arr_major = 40_000.0;
    let miss = template("High severity on a high-ARR account")
        .condition
        .evaluate(&s);
    assert!(!miss.holds);
    assert_eq!(miss.evidence, ["ARR 40,000 USD < 100,000 USD"]);
}

#[test]
fn each_story_template_fires_on_its_story() {
    type Story = Box<dyn Fn(&mut AccountState)>;
    let cases: Vec<(&str, Story)> = vec![
        (
            "Not adopted 90 days after contract",
            Box::new(|s| {
                s.stage = Some(Stage::Onboarding);
                s.adopted = Some(false);
                s.days_since_contract = 120;
            }),
        ),
        (
            "Usage drop on a strategic account",
            Box::new(|s| {
                s.signals.push((
                    SignalKind::UsageDrop,
                    Level::High,
                    "Active users down 45 %".into(),
                ))
            }),
        ),
        (
            "NPS detractor",
            Box::new(|s| {
                s.signals
                    .push((SignalKind::NpsDetractor, Level::Medium, "NPS 5".into()))
            }),
        ),
        (
            "Health drop of 20 % in 30 days",
            Box::new(|s| s.health_change_30_pct = Some(-31.0)),
        ),
        ("Renewal in 120 days", Box::new(|s| s.days_to_renewal = 90)),
        (
            "Seats nearly full and healthy",
            Box::new(|s| s.seat_utilization_pct = Some(94.0)),
        ),
        (
            "Low-ARR account at risk: digital playbook",
            Box::new(|s| {
                s.arr_major = 6_000.0;
                s.severity = Some(30.0);
            }),
        ),
    ];
    for (name, story) in cases {
        let mut s = healthy();
        story(&mut s);
        let v = template(name).condition.evaluate(&s);
        assert!(v.holds, "{name}: {:?}", v.evidence);
        assert!(!v.evidence.is_empty());
    }
    // Tech-touch accounts get no renewal CTA from the CSM template.
    let mut s = healthy();
    s.days_to_renewal = 30;
    s.segment = Some(Segment::TechTouch);
    assert!(!template("Renewal in 120 days").condition.evaluate(&s).holds);
}

#[test]
fn missing_data_never_matches_a_number() {
    let mut s = healthy();
    s.health = None;
    let c = Condition::Number {
        field: NumberField::HealthScore,
        compare: Compare::Lt,
        value: 50.0,
    };
    let v = c.evaluate(&s);
    assert!(!v.holds);
    assert_eq!(v.evidence, ["health score has no data"]);
    // … and NOT of a missing number holds, saying why.
    let not = Condition::Not {
        condition: Box::new(c),
    }
    .evaluate(&s);
    assert!(not.holds);
    assert_eq!(not.evidence, ["health score has no data"]);
    let renewal = template("Renewal in 120 days")
        .condition
        .evaluate(&AccountState {
            days_to_renewal: 90,
            ..healthy()
        });
    assert_eq!(
        renewal.evidence,
        [
            "days to renewal 90 ≤ 120",
            "segment enterprise is not one of tech_touch"
        ]
    );
}

#[test]
fn invalid_rules_name_the_part_at_fault() {
    let d = RuleDefinition {
        description: String::new(),
        condition: Condition::All {
            conditions: vec![
                Condition::Any { conditions: vec![] },
                Condition::SegmentIn { segments: vec![] },
            ],
        },
        actions: vec![
            Action::CreateCta {
                cta_type: CtaType::Risk,
                reason: " ".into(),
                priority: Level::High,
                playbook: None,
                owner: CtaOwner::User("bob".into()),
                due_in_days: 400,
            },
            Action::CloseWhenCleared {
                outcome: "churned".into(),
            },
        ],
    };
    let p = d.problems();
    for expected in [
        "condition.all[0].any: an empty group",
        "condition.all[1].segment_in: pick at least one segment",
        "actions[0].create_cta.reason",
        "actions[0].create_cta.due_in_days",
        "actions[0].create_cta.owner: 'bob' is not a user id",
        "actions[1].close_when_cleared.outcome",
    ] {
        assert!(
            p.iter().any(|x| x.starts_with(expected)),
            "missing {expected}: {p:?}"
        );
    }
    let empty = RuleDefinition {
        description: String::new(),
        condition: Condition::Strategic { is: true },
        actions: vec![],
    };
    assert_eq!(
        empty.problems(),
        ["actions: a rule needs at least one action"]
    );
}

#[test]
fn rules_round_trip_as_json() {
    for (name, d) in templates() {
        let json = serde_json::to_string(&d).expect("json");
        let back: RuleDefinition = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, d, "{name}");
    }
    let json = r#"{"kind":"number","field":{"field":"measure_score","measure":"nps_latest"},"compare":"lt","value":40}"#;
    let c: Condition = serde_json::from_str(json).expect("measure condition");
    let mut s = healthy();
    s.measures = vec![(MeasureKind::NpsLatest, Some(20.0))];
    assert_eq!(c.evaluate(&s).evidence, ["NPS (latest) score 20 < 40"]);
}

#[test]
fn not_adopted_fires_only_on_usage_that_says_so() {
    let rule = template("Not adopted 90 days after contract");
    let mut s = healthy();
    s.stage = Some(Stage::Onboarding);
    s.days_since_contract = 120;
    // Adopted: quiet, whatever the stage says.
    assert!(!rule.condition.evaluate(&s).holds);
    // No usage data: adoption unknown, not judged.
    s.adopted = None;
    assert!(!rule.condition.evaluate(&s).holds);
    s.adopted = Some(false);
    s.adoption_evidence = "not adopted: seat utilization 12 % in the latest week".into();
    let v = rule.condition.evaluate(&s);
    assert!(v.holds);
    assert!(
        v.evidence.iter().any(|e| e.contains("12 %")),
        "{:?}",
        v.evidence
    );
    // Not yet 90 days in: quiet.
    s.days_since_contract = 60;
    assert!(!rule.condition.evaluate(&s).holds);
}

#[test]
fn days_in_stage_is_a_number_a_rule_can_compare() {
    let c = Condition::Number {
        field: NumberField::DaysInStage,
        compare: Compare::Ge,
        value: 365.0,
    };
    let mut s = healthy();
    assert!(c.evaluate(&s).holds);
    s.days_in_stage = None;
    assert!(!c.evaluate(&s).holds);
}

/// A condition on the severity level follows the level, whatever cut-offs made it.
#[test]
fn severity_level_is_a_condition() {
    let high = Condition::SeverityAtLeast { level: Level::High };
    let medium = Condition::SeverityAtLeast {
        level: Level::Medium,
    };
    let mut s = healthy();
    assert!(!high.evaluate(&s).holds);
    s.severity_level = Some(Level::Medium);
    let v = medium.evaluate(&s);
    assert!(v.holds);
    assert_eq!(v.evidence, ["severity medium ≥ medium"]);
    assert_eq!(high.evaluate(&s).evidence, ["severity medium < high"]);
    s.severity_level = None;
    assert!(!medium.evaluate(&s).holds);
}

/// A rule escalates through its own action; an escalation-type CTA would be a lookalike
/// that never reaches the WBR, so it is refused by name.
#[test]
fn escalating_is_an_action_and_a_lookalike_cta_is_refused() {
    let mut d = RuleDefinition {
        description: String::new(),
        condition: Condition::SeverityAtLeast { level: Level::High },
        actions: vec![Action::EscalateToLeadership {
            reason: "High severity on a large account".into(),
        }],
    };
    assert!(d.problems().is_empty(), "{:?}", d.problems());
    d.actions = vec![Action::EscalateToLeadership { reason: " ".into() }];
    assert_eq!(
        d.problems(),
        ["actions[0].escalate_to_leadership.reason: say why leadership should look"]
    );
    d.actions = vec![Action::CreateCta {
        cta_type: CtaType::Escalation,
        reason: "Escalate".into(),
        priority: Level::High,
        playbook: None,
        owner: CtaOwner::AccountOwner,
        due_in_days: 3,
    }];
    assert!(
        d.problems()[0].contains("use escalate_to_leadership"),
        "{:?}",
        d.problems()
    );
}

/// "Adopted more than 90 days ago" reads the day adoption was reached.
#[test]
fn the_day_a_stage_was_reached_is_a_condition() {
    let c = Condition::Number {
        field: NumberField::DaysSinceAdopted,
        compare: Compare::Ge,
        value: 90.0,
    };
    let mut s = healthy();
    let v = c.evaluate(&s);
    assert!(v.holds);
    assert_eq!(v.evidence, ["days since adoption 540 ≥ 90"]);
    s.days_since_adopted = None;
    assert_eq!(c.evaluate(&s).evidence, ["days since adoption has no data"]);
}
