use chrono::NaiveDate;

use super::*;
use crate::book::{self, BookSpec};
use crate::health;
use crate::rules::{Action, Compare, Condition, CtaOwner, NumberField};
use crate::signals::Level;
use crate::store::testing::temp_store;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

async fn scored_book(n: usize) -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    book::load(&store, &BookSpec::new(n, 5, today()), |_, _| {})
        .await
        .expect("book");
    health::recompute(&store, None, today(), |_, _| {})
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
        // Escalations the run opened are counted by the escalation tests.
        count(
            &store,
            "SELECT COUNT(*) FROM ctas WHERE type <> 'escalation'"
        )
        .await,
        first.created as i64
    );
    // Playbook tasks came along, dated from today, in the playbook's order.
    assert!(count(&store, "SELECT COUNT(*) FROM cta_tasks").await > first.created as i64);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM cta_tasks t JOIN ctas c ON c.id = t.cta_id JOIN playbooks p ON p.id = c.playbook_id \
             WHERE t.due_on < '2026-11-23'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM ctas c WHERE c.playbook_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cta_tasks t WHERE t.cta_id = c.id AND t.position = 0)"
        )
        .await,
        0,
        "every playbook CTA has its first task"
    );
    // Each CTA's opening is on its account's timeline, linked to it.
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM ctas c WHERE c.source = 'rule' AND NOT EXISTS \
             (SELECT 1 FROM timeline_entries e WHERE e.cta_id = c.id AND e.account = (SELECT rowid FROM accounts WHERE id = c.account_id) AND e.body LIKE 'CTA opened by a rule: %')"
        )
        .await,
        0
    );
    // Every rule CTA says which rule fired and on what.
    let evidence: Vec<String> =
        sqlx::query_scalar("SELECT evidence FROM ctas WHERE source = 'rule'")
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
        // Escalations the run opened are counted by the escalation tests.
        count(
            &store,
            "SELECT COUNT(*) FROM ctas WHERE type <> 'escalation'"
        )
        .await,
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

#[tokio::test]
async fn a_preview_of_an_unsaved_rule_says_who_would_fire_and_logs_nothing() {
    let (_dir, store) = scored_book(200).await;
    let definition = RuleDefinition {
        description: "Renewal soon on a red account".into(),
        condition: Condition::All {
            conditions: vec![
                Condition::Number {
                    field: NumberField::DaysToRenewal,
                    compare: Compare::Le,
                    value: 90.0,
                },
                Condition::Number {
                    field: NumberField::HealthScore,
                    compare: Compare::Lt,
                    value: 50.0,
                },
            ],
        },
        actions: vec![Action::CreateCta {
            cta_type: CtaType::Renewal,
            reason: "Red renewal".into(),
            priority: Level::High,
            playbook: None,
            owner: CtaOwner::AccountOwner,
            due_in_days: 7,
        }],
    };
    let expected = count(
        &store,
        "SELECT COUNT(*) FROM accounts a JOIN account_health h ON h.account = a.rowid \
         WHERE julianday(a.renewal_date) - julianday('2026-11-23') <= 90 AND h.score < 50",
    )
    .await;
    assert!(expected > 0, "the book has red renewals");
    let report = preview(&store, "Red renewals", &definition, today())
        .await
        .expect("preview");
    assert_eq!(report.created as i64, expected);
    assert!(report.firings.iter().all(|f| f.evidence.len() == 2
        && f.evidence[0].starts_with("days to renewal")
        && f.evidence[1].starts_with("health score")));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM ctas").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM rule_runs").await, 0);

    let mut broken = definition.clone();
    broken.actions.clear();
    let err = preview(&store, "Red renewals", &broken, today())
        .await
        .expect_err("invalid");
    assert!(
        err.to_string()
            .contains("actions: a rule needs at least one action"),
        "{err}"
    );
}

#[tokio::test]
async fn disabled_rules_do_not_fire_and_every_run_is_logged() {
    let (_dir, store) = scored_book(150).await;
    for r in rules(&store).await.expect("rules") {
        set_enabled(&store, &r.id, false).await.expect("disable");
    }
    let quiet = run(&store, None, today(), false, "on demand")
        .await
        .expect("run");
    assert_eq!((quiet.fired, quiet.created), (0, 0));
    let detractor = rules(&store)
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.name.contains("detractor"))
        .expect("detractor template");
    set_enabled(&store, &detractor.id, true)
        .await
        .expect("enable");
    let loud = run(&store, None, today(), false, SCHEDULED)
        .await
        .expect("run");
    assert!(loud.created > 0);
    let types: Vec<String> = sqlx::query_scalar("SELECT DISTINCT reason FROM ctas")
        .fetch_all(store.pool())
        .await
        .expect("reasons");
    assert_eq!(types.len(), 1, "only the enabled rule fired: {types:?}");
    assert!(set_enabled(&store, &new_id(), true).await.is_err());

    let log = run_log(store.pool(), 10).await.expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].trigger, SCHEDULED, "newest first");
    assert_eq!((log[0].created, log[1].created), (loud.created, 0));
    assert_eq!(log[0].accounts, 150);

    // A data change that changes nobody's work is not a line in the log; one that opens
    // a CTA is.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let again = run(&store, Some(ids.clone()), today(), false, DATA_CHANGE)
        .await
        .expect("run");
    assert_eq!(again.created, 0);
    assert_eq!(run_log(store.pool(), 10).await.expect("log").len(), 2);
    sqlx::query("DELETE FROM ctas")
        .execute(store.pool())
        .await
        .expect("delete");
    let reopened = run(&store, Some(ids), today(), false, DATA_CHANGE)
        .await
        .expect("run");
    assert_eq!(reopened.created, loud.created);
    let log = run_log(store.pool(), 10).await.expect("log");
    assert_eq!((log.len(), log[0].trigger.as_str()), (3, DATA_CHANGE));
}

#[tokio::test]
async fn the_schedule_is_due_when_the_last_full_run_is_older_than_its_interval() {
    let (_dir, store) = scored_book(20).await;
    let now = Utc::now();
    assert!(
        scheduled_run_due(store.pool(), now).await.expect("due"),
        "never run"
    );
    run(&store, None, today(), false, SCHEDULED)
        .await
        .expect("run");
    assert!(!scheduled_run_due(store.pool(), now).await.expect("due"));
    assert!(scheduled_run_due(store.pool(), now + Duration::hours(7))
        .await
        .expect("due"));
    // A run for one touched account is not a full run.
    run(&store, Some(vec![]), today(), false, DATA_CHANGE)
        .await
        .expect("run");
    assert!(scheduled_run_due(store.pool(), now + Duration::hours(7))
        .await
        .expect("due"));
    save_schedule(&store, RuleSchedule { every_hours: 0 })
        .await
        .expect("off");
    assert!(!scheduled_run_due(store.pool(), now + Duration::days(30))
        .await
        .expect("due"));
    assert!(save_schedule(&store, RuleSchedule { every_hours: 1000 })
        .await
        .is_err());
}

#[tokio::test]
async fn a_condition_on_cta_state_sees_the_live_ctas() {
    let (_dir, store) = scored_book(120).await;
    run(&store, None, today(), false, "test")
        .await
        .expect("run");
    let with_risk = count(
        &store,
        "SELECT COUNT(DISTINCT account_id) FROM ctas WHERE type = 'risk' AND status <> 'closed'",
    )
    .await;
    assert!(with_risk > 0);
    let definition = RuleDefinition {
        description: "Risk work that needs an escalation look".into(),
        condition: Condition::OpenCta {
            cta_type: Some(CtaType::Risk),
            open: true,
        },
        actions: vec![Action::CreateCta {
            cta_type: CtaType::Renewal,
            reason: "Review for escalation".into(),
            priority: Level::Medium,
            playbook: None,
            owner: CtaOwner::AccountOwner,
            due_in_days: 3,
        }],
    };
    let report = preview(&store, "Escalation review", &definition, today())
        .await
        .expect("preview");
    assert_eq!(report.created as i64, with_risk);
    assert!(report
        .firings
        .iter()
        .all(|f| f.evidence[0].starts_with("open risk CTA: ")));
}

#[tokio::test]
async fn renaming_a_playbook_takes_the_rules_that_name_it_along() {
    let (_dir, store) = scored_book(10).await;
    let before = rules(&store).await.expect("rules");
    let uses = |rs: &[Rule], name: &str| {
        rs.iter()
            .filter(|r| {
                r.definition.actions.iter().any(|a| match a {
                    Action::CreateCta { playbook, .. } => playbook.as_deref() == Some(name),
                    Action::StartDigitalPlaybook { playbook } => playbook == name,
                    _ => false,
                })
            })
            .count()
    };
    let n = uses(&before, "Risk save");
    assert!(n > 0);
    let mut playbook = cta::playbooks(&store)
        .await
        .expect("playbooks")
        .into_iter()
        .find(|p| p.name == "Risk save")
        .expect("risk save");
    playbook.name = "Risk save plan".into();
    playbook.tasks.push(cta::PlaybookTask {
        title: "Executive sponsor call".into(),
        due_in_days: 10,
    });
    let id = playbook.id.clone();
    crate::rules::playbooks::save_playbook(&store, Some(&id), &playbook)
        .await
        .expect("save");
    let after = rules(&store).await.expect("rules");
    assert_eq!(
        (uses(&after, "Risk save"), uses(&after, "Risk save plan")),
        (0, n)
    );

    playbook.tasks[0].title = " ".into();
    playbook.kind = "robot".into();
    let err = crate::rules::playbooks::save_playbook(&store, Some(&id), &playbook)
        .await
        .expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("kind: 'robot'") && text.contains("tasks[1].title"),
        "{text}"
    );
}

/// "Severity High and ARR above a line → leadership": a rule opens real escalations that
/// reach the WBR, one per account, none again while one is open or quiet.
#[tokio::test]
async fn a_rule_opens_escalations_that_reach_the_wbr() {
    let (_dir, store) = scored_book(300).await;
    for r in rules(&store).await.expect("rules") {
        set_enabled(&store, &r.id, false).await.expect("disable");
    }
    // The criteria stay out of it: only the rule escalates.
    let mut criteria = crate::escalation::criteria(&store).await.expect("criteria");
    criteria.enabled = false;
    crate::escalation::save_criteria(&store, &criteria)
        .await
        .expect("save");
    let definition = RuleDefinition {
        description: "Gainsight practice: High severity on a large account goes to leadership"
            .into(),
        condition: Condition::All {
            conditions: vec![
                Condition::SeverityAtLeast { level: Level::High },
                Condition::Number {
                    field: NumberField::Arr,
                    compare: Compare::Ge,
                    value: 20_000.0,
                },
            ],
        },
        actions: vec![Action::EscalateToLeadership {
            reason: "High severity on a large account".into(),
        }],
    };
    save_rule(
        &store,
        None,
        "High severity to leadership",
        true,
        &definition,
    )
    .await
    .expect("save");
    let expected = count(
        &store,
        "SELECT COUNT(*) FROM accounts a JOIN account_health h ON h.account = a.rowid \
         WHERE h.severity_level = 'high' AND a.arr_base_minor >= 2000000",
    )
    .await;
    assert!(expected > 0, "the book should have High-severity accounts");
    let preview = run(&store, None, today(), true, "test")
        .await
        .expect("dry run");
    assert_eq!(preview.escalated as i64, expected);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM escalations").await, 0);

    let first = run(&store, None, today(), false, "test")
        .await
        .expect("run");
    assert_eq!(first.escalated as i64, expected);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM escalations WHERE criterion = 'rule'"
        )
        .await,
        expected
    );
    let wbr = crate::escalation::wbr(store.pool(), today())
        .await
        .expect("wbr");
    assert_eq!(
        wbr.len() as i64,
        expected,
        "every rule escalation is on the WBR"
    );
    assert!(wbr.iter().all(|w| w.reason.starts_with("rule “High severity to leadership”: High severity on a large account (severity high ≥ high; ARR")), "{:?}", wbr[0].reason);
    assert!(
        wbr.iter().all(|w| w.executive.is_some()),
        "an executive owns each"
    );
    let counts = first
        .by_rule
        .iter()
        .find(|c| c.rule == "High severity to leadership")
        .expect("counts");
    assert_eq!(counts.created as i64, expected);

    let again = run(&store, None, today(), false, "test")
        .await
        .expect("again");
    assert_eq!(again.escalated, 0, "one open escalation per account");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM escalations").await,
        expected
    );

    // De-escalated: quiet for the configured days, then the rule may escalate again.
    let cta: String = sqlx::query_scalar("SELECT cta_id FROM escalations LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("cta");
    crate::escalation::de_escalate(&store, &cta, "handled by the account team", today())
        .await
        .expect("de-escalate");
    let quiet = run(&store, None, today(), false, "test")
        .await
        .expect("quiet");
    assert_eq!(quiet.escalated, 0, "quiet period");
    let later = today() + chrono::Duration::days(i64::from(criteria.quiet_days) + 1);
    let after = run(&store, None, later, false, "test")
        .await
        .expect("after");
    assert_eq!(after.escalated, 1);
}

/// Digital playbooks run themselves: their CTAs belong to the tech-touch lane, not to a
/// CSM, unless the account is an exception a person must take; one a CSM got before
/// goes back to the lane.
#[tokio::test]
async fn digital_playbook_ctas_stay_out_of_a_csms_list() {
    let (_dir, store) = scored_book(600).await;
    crate::priority::refresh(&store, None, today())
        .await
        .expect("rank");
    run(&store, None, today(), false, "test")
        .await
        .expect("run");
    let digital = count(
        &store,
        "SELECT COUNT(*) FROM ctas WHERE type = 'digital' AND status <> 'closed'",
    )
    .await;
    assert!(digital > 0, "the book should start digital playbooks");
    let owned_in_lane = count(
        &store,
        "SELECT COUNT(*) FROM ctas c JOIN accounts a ON a.id = c.account_id JOIN account_priority p ON p.account = a.rowid \
         WHERE c.type = 'digital' AND c.status <> 'closed' AND c.owner_id IS NOT NULL AND p.lane = 'digital'",
    )
    .await;
    assert_eq!(owned_in_lane, 0, "no CSM owns a digital-lane playbook CTA");
    // One handed to its CSM the old way goes back to the lane on the next run.
    let cta: String = sqlx::query_scalar(
        "SELECT c.id FROM ctas c JOIN accounts a ON a.id = c.account_id JOIN account_priority p ON p.account = a.rowid \
         WHERE c.type = 'digital' AND p.lane = 'digital' LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("cta");
    sqlx::query("UPDATE ctas SET owner_id = (SELECT owner_id FROM accounts WHERE id = ctas.account_id) WHERE id = ?")
        .bind(&cta)
        .execute(store.pool())
        .await
        .expect("legacy owner");
    run(&store, None, today(), false, "test")
        .await
        .expect("run");
    let owner: Option<String> = sqlx::query_scalar("SELECT owner_id FROM ctas WHERE id = ?")
        .bind(&cta)
        .fetch_one(store.pool())
        .await
        .expect("owner");
    assert_eq!(owner, None);
    // A CSM's "Mine" holds none of them.
    let csm: String = sqlx::query_scalar("SELECT owner_id FROM accounts WHERE owner_id IS NOT NULL GROUP BY owner_id ORDER BY COUNT(*) DESC LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("csm");
    let mine = crate::cta::cockpit(
        store.pool(),
        &crate::cta::CockpitQuery {
            scope: crate::cta::CtaScope::Mine,
            user_id: Some(csm),
            cta_type: None,
            priority: None,
            status: None,
            flagged_only: false,
            search: None,
        },
    )
    .await
    .expect("mine");
    assert!(!mine.is_empty());
    for r in mine.iter().filter(|r| r.cta.cta_type == CtaType::Digital) {
        let lane: String =
            sqlx::query_scalar("SELECT p.lane FROM account_priority p JOIN accounts a ON a.rowid = p.account WHERE a.id = ?")
                .bind(&r.cta.account_id)
                .fetch_one(store.pool())
                .await
                .expect("lane");
        assert_eq!(
            lane, "csm",
            "a digital CTA in Mine is an exception a person takes"
        );
    }
}

#[tokio::test]
async fn the_quick_verdict_agrees_with_the_worded_one_on_every_account_and_template() {
    let (_dir, store) = scored_book(300).await;
    let ids = crate::store::accounts::ids_or_local(&store, None)
        .await
        .expect("ids");
    let (states, _) = state::load(&store, &ids, Span::List, today())
        .await
        .expect("states");
    assert_eq!(states.len(), 300);
    let mut held = 0;
    for (name, def) in crate::rules::templates::templates() {
        // Under a negation the misses' evidence becomes the reason: both ways must agree.
        let negated = Condition::Not {
            condition: Box::new(def.condition.clone()),
        };
        for condition in [&def.condition, &negated] {
            for loaded in states.values() {
                let worded = condition.evaluate(&loaded.state);
                assert_eq!(condition.holds(&loaded.state), worded.holds, "{name}");
                assert!(!worded.evidence.is_empty(), "{name}: a verdict says why");
                held += worded.holds as usize;
            }
        }
    }
    assert!(held > 0);
}

/// A rule reads a day-counting signal's words as counted on the run's day, never the date
/// the store keeps in their place: a CTA's evidence quotes what the account page shows.
#[tokio::test]
async fn rules_read_day_counting_signals_as_counted_on_their_day() {
    let (_dir, store) = scored_book(300).await;
    let (id, renewal): (String, NaiveDate) = sqlx::query_as(
        "SELECT a.id, a.renewal_date FROM signals s JOIN accounts a ON a.id = s.account_id \
         WHERE s.kind = 'renewal_at_risk' AND s.cleared_at IS NULL ORDER BY a.id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("an account renewing at risk");
    let stored: String = sqlx::query_scalar(
        "SELECT summary FROM signals WHERE account_id = ? AND kind = 'renewal_at_risk' AND cleared_at IS NULL",
    )
    .bind(&id)
    .fetch_one(store.pool())
    .await
    .expect("stored");
    assert!(stored.contains(&format!("{{until:{renewal}}}")), "{stored}");
    for day in [today(), today() + chrono::Duration::days(3)] {
        let (loaded, _) = state::load(
            &store,
            std::slice::from_ref(&id),
            crate::store::Span::List,
            day,
        )
        .await
        .expect("state");
        let (_, _, summary) = loaded[&id]
            .state
            .signals
            .iter()
            .find(|(k, ..)| *k == crate::signals::SignalKind::RenewalAtRisk)
            .expect("the signal")
            .clone();
        let days = (renewal - day).num_days();
        assert!(
            summary.starts_with(&format!("Renews in {days} days with ")),
            "{summary}"
        );
    }
}
