use super::*;
use crate::book::{self, BookSpec};
use crate::store::testing::temp_store;

#[tokio::test]
async fn ctas_keep_their_updates_flags_and_refuse_duplicates() {
    let (_dir, store) = temp_store().await;
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
    book::load(&store, &BookSpec::new(5, 1, today), |_, _| {})
        .await
        .expect("book");
    let account_id: String = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("account");
    let playbook = playbooks(&store)
        .await
        .expect("playbooks")
        .into_iter()
        .find(|p| p.name == "Risk save");
    let new = NewCta {
        account_id: account_id.clone(),
        cta_type: CtaType::Risk,
        reason: "Sponsor left".into(),
        priority: Level::High,
        owner_id: None,
        due_on: Some(today + Duration::days(7)),
        rule_id: None,
        evidence: vec![],
        category: Some("sponsor change".into()),
        playbook,
    };
    let mut tx = store.write().await.expect("tx");
    let id = create(&mut tx, &new, today)
        .await
        .expect("create")
        .expect("created");
    assert_eq!(
        create(&mut tx, &new, today).await.expect("again"),
        None,
        "same account, type and reason"
    );
    let err = add_update(&mut tx, &id, None, " ", "", "")
        .await
        .expect_err("empty update");
    assert!(err.to_string().contains("at least one"), "{err}");
    add_update(
        &mut tx,
        &id,
        None,
        "Sponsor moved to a competitor",
        "Called the champion",
        "Meet the new VP",
    )
    .await
    .expect("update 1");
    add_update(
        &mut tx,
        &id,
        None,
        "",
        "Met the new VP",
        "Send the value review",
    )
    .await
    .expect("update 2");
    set_flag(&mut tx, &id, true).await.expect("flag");
    tx.commit().await.expect("commit");

    let details = account_ctas(store.pool(), &account_id)
        .await
        .expect("details");
    assert_eq!(details.len(), 1);
    let d = &details[0];
    assert_eq!((d.cta.status, d.cta.flagged), (CtaStatus::InProgress, true));
    assert_eq!(d.tasks.len(), 4);
    assert_eq!(d.playbook_name.as_deref(), Some("Risk save"));
    let updates = updates_of(store.pool(), &id).await.expect("updates");
    assert_eq!(
        updates
            .iter()
            .map(|u| u.done_so_far.as_str())
            .collect::<Vec<_>>(),
        ["Met the new VP", "Called the champion"]
    );

    let mut tx = store.write().await.expect("tx");
    close(&mut tx, &id, "saved").await.expect("close");
    assert!(close(&mut tx, &id, "saved").await.is_err(), "closing twice");
    // Once closed, the same work can be opened again.
    assert!(create(&mut tx, &new, today)
        .await
        .expect("reopen")
        .is_some());
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn the_cockpit_scopes_filters_and_orders_and_the_timeline_tells_the_story() {
    let (_dir, store) = temp_store().await;
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
    book::load(&store, &BookSpec::new(60, 3, today), |_, _| {})
        .await
        .expect("book");
    // A CSM, a teammate (their manager, in a small book) and someone of another team.
    let users: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, team_id FROM users WHERE team_id IS NOT NULL ORDER BY role = 'manager', team_id, name")
            .fetch_all(store.pool())
            .await
            .expect("users");
    let (me, my_team) = users[0].clone();
    let mate = users
        .iter()
        .find(|(id, t)| *t == my_team && *id != me)
        .expect("a teammate")
        .0
        .clone();
    let stranger = users
        .iter()
        .find(|(_, t)| *t != my_team)
        .expect("another team")
        .0
        .clone();
    let accounts: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 4")
            .fetch_all(store.pool())
            .await
            .expect("accounts");
    let new = |account: &str, reason: &str, priority, owner: &str, due: i64| NewCta {
        account_id: account.to_string(),
        cta_type: CtaType::Risk,
        reason: reason.into(),
        priority,
        owner_id: Some(owner.to_string()),
        due_on: Some(today + Duration::days(due)),
        rule_id: None,
        evidence: vec![],
        category: None,
        playbook: None,
    };
    let mut tx = store.write().await.expect("tx");
    let low = create(
        &mut tx,
        &new(&accounts[0], "Low one", Level::Low, &me, 1),
        today,
    )
    .await
    .expect("create")
    .expect("new");
    let late = create(
        &mut tx,
        &new(&accounts[1], "High later", Level::High, &me, 9),
        today,
    )
    .await
    .expect("create")
    .expect("new");
    let soon = create(
        &mut tx,
        &new(&accounts[2], "High sooner", Level::High, &me, 2),
        today,
    )
    .await
    .expect("create")
    .expect("new");
    let mates = create(
        &mut tx,
        &new(&accounts[3], "Teammate's", Level::Medium, &mate, 3),
        today,
    )
    .await
    .expect("create")
    .expect("new");
    create(
        &mut tx,
        &new(&accounts[3], "Other team's", Level::High, &stranger, 3),
        today,
    )
    .await
    .expect("create")
    .expect("new");
    let task = add_task(&mut tx, &soon, "  Call the sponsor ", Some(today))
        .await
        .expect("task");
    assert!(add_task(&mut tx, &soon, " ", None).await.is_err());
    assert!(add_task(&mut tx, &new_id(), "x", None).await.is_err());
    set_task_done(&mut tx, &task, true).await.expect("done");
    set_flag(&mut tx, &late, true).await.expect("flag");
    edit(
        &mut tx,
        &mates,
        &CtaEdit {
            priority: Level::High,
            owner_id: Some(mate.clone()),
            due_on: None,
            category: Some(" product gap ".into()),
            expected: Some(false),
            avoidable: Some(true),
        },
    )
    .await
    .expect("edit");
    snooze(
        &mut tx,
        &low,
        today + Duration::days(5),
        "Waiting on their reorg",
        today,
    )
    .await
    .expect("snooze");
    close(&mut tx, &late, "saved").await.expect("close");
    assert!(
        close(&mut tx, &soon, "won").await.is_err(),
        "unknown outcome"
    );
    tx.commit().await.expect("commit");

    let query = |scope, search: Option<&str>| CockpitQuery {
        scope,
        user_id: Some(me.clone()),
        cta_type: None,
        priority: None,
        status: None,
        flagged_only: false,
        search: search.map(str::to_string),
    };
    let reasons =
        |rows: Vec<CockpitRow>| rows.into_iter().map(|r| r.cta.reason).collect::<Vec<_>>();
    let mine = cockpit(store.pool(), &query(CtaScope::Mine, None))
        .await
        .expect("mine");
    assert_eq!(
        reasons(mine.clone()),
        ["High sooner", "Low one"],
        "high first, closed gone"
    );
    assert_eq!((mine[0].tasks_total, mine[0].tasks_done), (1, 1));
    let team = cockpit(store.pool(), &query(CtaScope::Team, None))
        .await
        .expect("team");
    // The teammate's CTA is now high with no due date: after the dated high one.
    assert_eq!(reasons(team), ["High sooner", "Teammate's", "Low one"]);
    assert_eq!(
        cockpit(store.pool(), &query(CtaScope::All, None))
            .await
            .expect("all")
            .len(),
        4
    );
    let found = cockpit(store.pool(), &query(CtaScope::Team, Some("teammate")))
        .await
        .expect("search");
    assert_eq!(found[0].cta.category.as_deref(), Some("product gap"));
    assert_eq!(
        (found[0].cta.expected, found[0].cta.avoidable),
        (Some(false), Some(true))
    );
    let closed = cockpit(
        store.pool(),
        &CockpitQuery {
            status: Some(CtaStatus::Closed),
            flagged_only: true,
            ..query(CtaScope::Mine, None)
        },
    )
    .await
    .expect("closed");
    assert_eq!(reasons(closed), ["High later"]);
    let nobody = CockpitQuery {
        user_id: None,
        ..query(CtaScope::Mine, None)
    };
    assert!(cockpit(store.pool(), &nobody).await.is_err());

    // The account's timeline shows what happened to its CTAs; the CTA its own part.
    let d = detail(store.pool(), &late).await.expect("detail");
    let told: Vec<&str> = d.timeline.iter().map(|t| t.body.as_str()).collect();
    assert_eq!(
        told,
        [
            "CTA closed: High later — saved",
            "CTA opened by hand: High later (high priority risk)"
        ]
    );
    let snoozed = detail(store.pool(), &low).await.expect("detail");
    assert!(snoozed.timeline[0]
        .body
        .starts_with("CTA snoozed until 2026-11-28: Low one — Waiting"));
    assert!(matches!(
        detail(store.pool(), &new_id()).await,
        Err(Error::NotFound { .. })
    ));
}
