use chrono::NaiveDate;

use super::*;
use crate::book::{self, BookSpec};
use crate::health::{self, Trigger};
use crate::rules::{Compare, Condition, NumberField};
use crate::store::testing::temp_store;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

async fn scored_book(n: usize) -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    book::load(&store, &BookSpec::new(n, 5, today()), |_, _| {})
        .await
        .expect("book");
    health::recompute(&store, None, today(), Trigger::Scheduled, |_, _| {})
        .await
        .expect("score");
    (dir, store)
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_dry_run_previews_and_writes_nothing_then_a_run_creates_each_cta_once() {
    let (_dir, store) = scored_book(300).await;
    let preview = run(&store, None, today(), true, "test")
        .await
        .expect("dry run");
    assert!(preview.created > 10, "{preview:?}");
    assert!(preview.firings.iter().all(|f| !f.evidence.is_empty()));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM ctas").await, 0);

    let first = run(&store, None, today(), false, "test")
        .await
        .expect("run");
    assert_eq!(
        first.created, preview.created,
        "the preview said what the run did"
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ctas").await,
        first.created as i64
    );
    // Playbook tasks came along, dated from today.
    assert!(count(&store, "SELECT COUNT(*) FROM cta_tasks").await > first.created as i64);
    // Every rule CTA says which rule fired and on what.
    let evidence: Vec<String> = sqlx::query_scalar("SELECT evidence FROM ctas")
        .fetch_all(store.pool())
        .await
        .expect("evidence");
    assert!(
        evidence.iter().all(|e| e.contains("rule “")),
        "{:?}",
        &evidence[..2]
    );

    let second = run(&store, None, today(), false, "test")
        .await
        .expect("again");
    assert_eq!(second.created, 0, "no duplicate open CTA");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ctas").await,
        first.created as i64
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rule_runs").await, 3);
}

#[tokio::test]
async fn a_snooze_suppresses_refiring_until_it_ends_and_cleared_conditions_close() {
    let (_dir, store) = scored_book(200).await;
    // One rule that fires on every scored account.
    for r in rules(&store).await.expect("rules") {
        save_rule(&store, Some(&r.id), &r.name, false, &r.definition)
            .await
            .expect("disable");
    }
    let definition = RuleDefinition {
        description: "test".into(),
        condition: Condition::Number {
            field: NumberField::HealthScore,
            compare: Compare::Ge,
            value: 0.0,
        },
        actions: vec![
            Action::CreateCta {
                cta_type: CtaType::Risk,
                reason: "Check in".into(),
                priority: Level::Low,
                playbook: None,
                owner: CtaOwner::AccountOwner,
                due_in_days: 5,
            },
            Action::CloseWhenCleared {
                outcome: "resolved".into(),
            },
        ],
    };
    let rule = save_rule(&store, None, "Everyone", true, &definition)
        .await
        .expect("rule");
    let created = run(&store, None, today(), false, "test")
        .await
        .expect("run")
        .created;
    assert!(created > 0);
    let cta_id: String = sqlx::query_scalar("SELECT id FROM ctas LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("cta");
    let mut tx = store.write().await.expect("tx");
    cta::snooze(
        &mut tx,
        &cta_id,
        today() + Duration::days(14),
        "Waiting for their budget cycle",
        today(),
    )
    .await
    .expect("snooze");
    tx.commit().await.expect("commit");
    let r = run(&store, None, today(), false, "test")
        .await
        .expect("run");
    assert_eq!((r.created, r.suppressed), (0, 1));

    // The condition no longer holds: the rule closes what it opened, but not the snoozed one.
    let impossible = RuleDefinition {
        condition: Condition::Number {
            field: NumberField::HealthScore,
            compare: Compare::Gt,
            value: 1000.0,
        },
        ..definition
    };
    save_rule(&store, Some(&rule.id), "Everyone", true, &impossible)
        .await
        .expect("edit");
    let r = run(&store, None, today(), false, "test")
        .await
        .expect("run");
    assert_eq!(r.closed, created - 1);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM ctas WHERE status = 'closed' AND outcome = 'resolved'"
        )
        .await,
        (created - 1) as i64
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM ctas WHERE status = 'snoozed'").await,
        1
    );
}

#[tokio::test]
async fn an_invalid_rule_is_rejected_on_save_with_the_part_named() {
    let (_dir, store) = temp_store().await;
    let bad = RuleDefinition {
        description: String::new(),
        condition: Condition::All { conditions: vec![] },
        actions: vec![],
    };
    let err = save_rule(&store, None, "Broken", true, &bad)
        .await
        .expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("condition.all: an empty group")
            && text.contains("actions: a rule needs at least one action"),
        "{text}"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rules").await, 0);
    let templates = rules(&store).await.expect("templates");
    assert_eq!(templates.len(), 8);
    let err = save_rule(
        &store,
        None,
        &templates[0].name,
        true,
        &templates[0].definition,
    )
    .await
    .expect_err("duplicate name");
    assert!(err.to_string().contains("another rule"), "{err}");
}
