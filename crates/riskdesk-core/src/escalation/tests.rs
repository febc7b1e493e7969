use super::*;
use crate::book::{self, BookSpec};
use crate::store::testing::temp_store;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

async fn scored(n: usize) -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    book::load(&store, &BookSpec::new(n, 8, today()), |_, _| {})
        .await
        .expect("book");
    crate::health::recompute(&store, None, today(), |_, _| {})
        .await
        .expect("score");
    (dir, store)
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect("scalar")
}

#[test]
fn criteria_take_the_first_that_holds_and_respect_the_arr_floor() {
    let c = EscalationCriteria::default();
    let f = EscalationFacts {
        arr: 250_000.0,
        strategic: true,
        severity: Some(62.0),
        signals: vec![(SignalKind::SponsorLeft, Level::High)],
    };
    let (criterion, reason) = crossed(&c, &f).expect("crossed");
    assert_eq!(criterion, "severity");
    assert_eq!(reason, "severity 62 ≥ 50; ARR 250,000 USD ≥ 100,000 USD");
    let calm = EscalationFacts {
        severity: Some(30.0),
        ..f.clone()
    };
    assert_eq!(
        crossed(&c, &calm).map(|x| x.0),
        Some("strategic_sponsor_lost")
    );
    let small = EscalationFacts {
        arr: 99_000.0,
        ..f.clone()
    };
    assert_eq!(crossed(&c, &small), None, "below the ARR floor");
    let drop = EscalationFacts {
        strategic: false,
        severity: Some(10.0),
        signals: vec![(SignalKind::UsageDrop, Level::Medium)],
        ..f.clone()
    };
    assert_eq!(crossed(&c, &drop), None, "a medium usage drop is not steep");
    let off = EscalationCriteria {
        enabled: false,
        ..c.clone()
    };
    assert_eq!(crossed(&off, &f), None);
    assert!(EscalationCriteria {
        severity_threshold: 120.0,
        ..c
    }
    .problems()[0]
        .starts_with("severity_threshold"));
}

#[tokio::test]
async fn crossing_a_criterion_escalates_once_to_the_owning_executive() {
    let (_dir, store) = scored(400).await;
    // A rule run checks the criteria for the accounts it ran over.
    crate::rules::run::run(&store, None, today(), false, "test")
        .await
        .expect("rules");
    let opened = scalar(&store, "SELECT COUNT(*) FROM escalations").await;
    assert!(opened > 0, "{opened}");
    crate::rules::run::run(&store, None, today(), false, "test")
        .await
        .expect("again");
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM escalations").await,
        opened,
        "never two open escalations for an account"
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM escalations WHERE closed_at IS NULL"
        )
        .await,
        opened
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM escalations e JOIN accounts a ON a.id = e.account_id WHERE a.arr_base_minor < 10000000").await,
        0,
        "the ARR floor holds"
    );
    // Each escalation CTA is high priority, owned by an executive, and says why.
    let owners: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT u.role, c.priority, c.evidence FROM escalations e JOIN ctas c ON c.id = e.cta_id JOIN users u ON u.id = c.owner_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("owners");
    assert_eq!(owners.len() as i64, opened);
    assert!(
        owners
            .iter()
            .all(|(role, priority, evidence)| role == "executive"
                && priority == "high"
                && evidence.contains("escalated on 2026-11-23 because")),
        "{owners:?}"
    );
    // One filed under implementation goes to the VP Services, who owns that category.
    let implementation: Vec<String> = sqlx::query_scalar(
        "SELECT u.title FROM escalations e JOIN ctas c ON c.id = e.cta_id JOIN users u ON u.id = c.owner_id WHERE c.category = 'implementation'",
    )
    .fetch_all(store.pool())
    .await
    .expect("implementation");
    assert!(
        implementation.iter().all(|t| t == "VP Services"),
        "{implementation:?}"
    );
    // Linked to the CSM's risk CTA where there is one.
    let linked = scalar(
        &store,
        "SELECT COUNT(*) FROM escalations WHERE linked_cta_id IS NOT NULL",
    )
    .await;
    assert!(linked > 0);
    let wbr_items = wbr(store.pool(), today()).await.expect("wbr");
    assert_eq!(wbr_items.len() as i64, opened);
    assert!(wbr_items
        .windows(2)
        .all(|w| w[0].arr_base_minor >= w[1].arr_base_minor));
}

#[tokio::test]
async fn by_hand_escalation_actions_decisions_outcomes_and_de_escalation() {
    let (_dir, store) = scored(60).await;
    let c = EscalationCriteria {
        enabled: false,
        ..EscalationCriteria::default()
    };
    save_criteria(&store, &c).await.expect("criteria off");
    let account: String =
        sqlx::query_scalar("SELECT id FROM accounts ORDER BY arr_base_minor DESC LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("account");
    assert!(
        escalate(&store, &account, " ", None).await.is_err(),
        "a reason is required"
    );
    let id = escalate(&store, &account, "Competitor offered 40 % off", None)
        .await
        .expect("escalate");
    let err = escalate(&store, &account, "again", None)
        .await
        .expect_err("twice");
    assert!(err.to_string().contains("already escalated"), "{err}");

    let exec: String = sqlx::query_scalar("SELECT id FROM users WHERE role = 'executive' LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("exec");
    add_action(
        &store,
        &id,
        "commercial_concession",
        "Offer a two-year price lock",
        Some(&exec),
        Some(today() + Duration::days(10)),
    )
    .await
    .expect("action");
    assert!(add_action(&store, &id, "bribe", "x", None, None)
        .await
        .is_err());
    add_decision(&store, &id, "CRO calls their CFO this week", None)
        .await
        .expect("decision");
    let item = wbr(store.pool(), today())
        .await
        .expect("wbr")
        .into_iter()
        .find(|i| i.cta_id == id)
        .expect("in the WBR");
    assert_eq!(item.criterion, "Escalated by hand");
    assert_eq!(item.actions[0].description, "Offer a two-year price lock");
    assert_eq!(item.decisions[0].text, "CRO calls their CFO this week");

    let arr: i64 = sqlx::query_scalar("SELECT arr_base_minor FROM accounts WHERE id = ?")
        .bind(&account)
        .fetch_one(store.pool())
        .await
        .expect("arr");
    let err = close(&store, &id, EscalationOutcome::Downsell, Some(arr))
        .await
        .expect_err("downsell keeps less");
    assert!(
        err.to_string().contains("a downsell keeps some ARR"),
        "{err}"
    );
    close(&store, &id, EscalationOutcome::Downsell, Some(arr / 2))
        .await
        .expect("close");
    assert!(
        add_decision(&store, &id, "late", None).await.is_err(),
        "closed"
    );
    let status: String =
        sqlx::query_scalar("SELECT status || ':' || outcome FROM ctas WHERE id = ?")
            .bind(&id)
            .fetch_one(store.pool())
            .await
            .expect("cta");
    assert_eq!(status, "closed:downsell");
    let report = refinement::report(&store).await.expect("report");
    assert_eq!(report.summary.mix.downsell, 1);
    assert_eq!(report.summary.arr_retained_minor, arr / 2);

    // De-escalation hands it back, and keeps the criteria quiet for a while.
    save_criteria(
        &store,
        &EscalationCriteria {
            severity_threshold: 0.0,
            arr_floor: 0.0,
            ..EscalationCriteria::default()
        },
    )
    .await
    .expect("criteria on");
    let again = escalate(&store, &account, "Churn threat is back", None)
        .await
        .expect("escalate");
    de_escalate(
        &store,
        &again,
        "Handled by the CSM with a training plan",
        today(),
    )
    .await
    .expect("de-escalate");
    let quiet_until: NaiveDate =
        sqlx::query_scalar("SELECT quiet_until FROM escalations WHERE cta_id = ?")
            .bind(&again)
            .fetch_one(store.pool())
            .await
            .expect("quiet");
    assert_eq!(quiet_until, today() + Duration::days(30));
    crate::rules::run::run(&store, Some(vec![account.clone()]), today(), false, "test")
        .await
        .expect("run");
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM escalations WHERE closed_at IS NULL"
        )
        .await,
        0,
        "not re-escalated while quiet"
    );
    crate::rules::run::run(
        &store,
        Some(vec![account]),
        today() + Duration::days(31),
        false,
        "test",
    )
    .await
    .expect("run later");
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM escalations WHERE closed_at IS NULL"
        )
        .await,
        1
    );
}

/// A rule run's escalations opened together come out as opening them one by one would:
/// the first ask for an account opens it (a second ask, by rule or criterion, finds it
/// open), an account already escalated is skipped, a rule's ask in a quiet period is
/// skipped while a criterion's is not, and each one says who it went to.
#[tokio::test]
async fn escalations_opened_together_are_those_opened_one_by_one() {
    let (_dir, store) = scored(30).await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 5")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let (a, b, c, d, e) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    // c is escalated already, by hand; d and e were de-escalated and are in their quiet period.
    let csm: String = sqlx::query_scalar("SELECT id FROM users WHERE role = 'csm' LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("csm");
    let by_hand = escalate(&store, c, "Churn threat", Some(&csm))
        .await
        .expect("c");
    let (by, reason): (Option<String>, String) = sqlx::query_as(
        "SELECT e.escalated_by, c.reason FROM escalations e JOIN ctas c ON c.id = e.cta_id WHERE e.cta_id = ?",
    )
    .bind(&by_hand)
    .fetch_one(store.pool())
    .await
    .expect("by hand");
    assert_eq!(
        (by.as_deref(), reason.as_str()),
        (Some(csm.as_str()), "Escalation: Escalated by hand")
    );
    assert!(
        escalate(&store, c, "Again", None).await.is_err(),
        "a second escalation of an escalated account is refused"
    );
    for quiet in [d, e] {
        let cta = escalate(&store, quiet, "Budget cut", None)
            .await
            .expect("escalate");
        de_escalate(&store, &cta, "Handled by the CSM", today())
            .await
            .expect("de-escalate");
    }
    let asked = [
        (a.as_str(), "rule", "usage fell 40 %"),
        (a.as_str(), "severity", "severity 82"),
        (b.as_str(), "severity", "severity 75"),
        (c.as_str(), "rule", "champion left"),
        (d.as_str(), "rule", "usage fell 30 %"),
        (e.as_str(), "severity", "severity 90"),
    ]
    .map(|(account_id, criterion, reason)| Asked {
        account_id,
        criterion,
        reason,
        by: None,
    });
    let mut tx = store.write().await.expect("tx");
    let opened = open_many(&mut tx, &asked, today()).await.expect("open");
    tx.commit().await.expect("commit");
    let accounts: Vec<&String> = opened.iter().map(|(account, _)| account).collect();
    assert_eq!(accounts, vec![a, b, e]);
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT e.account_id, e.criterion, e.reason, c.reason, c.evidence FROM escalations e \
         JOIN ctas c ON c.id = e.cta_id WHERE e.closed_at IS NULL AND e.account_id <> ? ORDER BY e.account_id",
    )
    .bind(c)
    .fetch_all(store.pool())
    .await
    .expect("rows");
    let mut expected = vec![
        (
            a.clone(),
            "rule",
            "usage fell 40 %",
            "Escalation: Escalated by a rule",
        ),
        (
            b.clone(),
            "severity",
            "severity 75",
            "Escalation: Severity over threshold",
        ),
        (
            e.clone(),
            "severity",
            "severity 90",
            "Escalation: Severity over threshold",
        ),
    ];
    expected.sort();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (row, (account, criterion, reason, cta_reason)) in rows.iter().zip(&expected) {
        assert_eq!(
            (&row.0, row.1.as_str(), row.2.as_str()),
            (account, *criterion, *reason)
        );
        assert_eq!(row.3, *cta_reason);
        assert!(
            row.4
                .contains(&format!("escalated on {} because {reason}", today())),
            "{}",
            row.4
        );
    }
    // Each says in the account's timeline who it went to, after its CTA was opened.
    for account in [a, b, e] {
        let notes: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM timeline_entries WHERE account = (SELECT rowid FROM accounts WHERE id = ?) AND cta_id IN \
             (SELECT cta_id FROM escalations WHERE account_id = ? AND closed_at IS NULL) ORDER BY id",
        )
        .bind(account)
        .bind(account)
        .fetch_all(store.pool())
        .await
        .expect("notes");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("CTA opened by hand: Escalation: "),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("Escalated to ")
                && !notes[1].starts_with("Escalated to leadership"),
            "{notes:?}"
        );
    }
}
