use chrono::Duration;

use super::*;
use crate::cta::{self, CtaType, ManualCta};
use crate::signals::Level;
use crate::store::testing::{temp_store, test_day};

async fn first_two(store: &Store) -> (String, String, String) {
    let (account, owner): (String, String) = sqlx::query_as(
        "SELECT id, owner_id FROM accounts WHERE owner_id IS NOT NULL ORDER BY rowid LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("account");
    let other: String = sqlx::query_scalar("SELECT id FROM accounts WHERE owner_id IS NOT NULL AND owner_id <> ? ORDER BY rowid LIMIT 1")
        .bind(&owner)
        .fetch_one(store.pool())
        .await
        .expect("other");
    (account, owner, other)
}

fn manual(account: &str, owner: &str, reason: &str, due: NaiveDate) -> ManualCta {
    ManualCta {
        account_id: account.into(),
        cta_type: CtaType::Risk,
        reason: reason.into(),
        priority: Level::High,
        owner_id: Some(owner.into()),
        due_on: Some(due),
        playbook_id: None,
        category: None,
    }
}

#[tokio::test]
async fn a_csm_hears_of_escalations_work_given_to_them_and_what_is_due_once() {
    let (_dir, store) = temp_store().await;
    let day = test_day();
    crate::book::load(&store, &crate::book::BookSpec::new(30, 4, day), |_, _| {})
        .await
        .expect("book");
    let (account, csm, elsewhere) = first_two(&store).await;
    let t0 = Utc::now();
    // The first look only takes stock.
    assert!(collect(&store, &csm, t0, day)
        .await
        .expect("first")
        .is_empty());

    // Given to them elsewhere (it arrives as if by sync), and one they made here.
    let given = cta::create_manual(
        &store,
        &manual(&account, &csm, "Call the new CFO", day),
        day,
    )
    .await
    .expect("given");
    let own = cta::create_manual(
        &store,
        &manual(&account, &csm, "Send the QBR deck", day + Duration::days(3)),
        day,
    )
    .await
    .expect("own");
    note_own(&store, &own).await.expect("own");
    crate::escalation::escalate(&store, &account, "Sponsor left before the renewal", None)
        .await
        .expect("escalate");
    // Someone else's account escalated: not theirs to hear about.
    crate::escalation::escalate(&store, &elsewhere, "Usage collapsed", None)
        .await
        .expect("escalate elsewhere");

    let notices = collect(&store, &csm, Utc::now(), day)
        .await
        .expect("notices");
    let kinds: Vec<(NoticeKind, Option<String>)> =
        notices.iter().map(|n| (n.kind, n.cta_id.clone())).collect();
    assert!(
        kinds.contains(&(NoticeKind::Assigned, Some(given.clone()))),
        "{notices:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|(_, c)| c.as_deref() == Some(own.as_str())),
        "their own CTA: {notices:?}"
    );
    let escalations: Vec<&Notice> = notices
        .iter()
        .filter(|n| n.kind == NoticeKind::Escalation)
        .collect();
    assert_eq!(escalations.len(), 1, "{notices:?}");
    assert_eq!(escalations[0].body, "Sponsor left before the renewal");
    let due = notices
        .iter()
        .find(|n| n.kind == NoticeKind::DueToday)
        .expect("due today");
    assert!(due.title.ends_with("due today"), "{}", due.title);

    // Nothing twice; the next day's digest comes again.
    assert!(collect(&store, &csm, Utc::now(), day)
        .await
        .expect("again")
        .is_empty());
    let tomorrow = collect(&store, &csm, Utc::now(), day + Duration::days(3))
        .await
        .expect("later");
    assert_eq!(
        tomorrow.iter().map(|n| n.kind).collect::<Vec<_>>(),
        [NoticeKind::DueToday]
    );

    // Switched off, each kind stays quiet.
    save_notify_settings(
        &store,
        &NotifySettings {
            escalations: false,
            assigned: false,
            due_today: false,
        },
    )
    .await
    .expect("off");
    cta::create_manual(&store, &manual(&account, &csm, "Renewal pricing", day), day)
        .await
        .expect("another");
    assert!(collect(&store, &csm, Utc::now(), day + Duration::days(4))
        .await
        .expect("off")
        .is_empty());
    assert_eq!(
        notify_settings(store.pool()).await.expect("settings"),
        NotifySettings {
            escalations: false,
            assigned: false,
            due_today: false
        }
    );
}
