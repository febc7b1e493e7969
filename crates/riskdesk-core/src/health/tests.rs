use chrono::NaiveDate;

use super::*;
use crate::book::{self, BookSpec, Story};
use crate::model::Stage;
use crate::overrides::{log_nps_response, override_measure, remove_override};
use crate::store::testing::temp_store;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).expect("date")
}

async fn demo(n: usize) -> (tempfile::TempDir, Store, Vec<book::AccountBundle>) {
    let (dir, store) = temp_store().await;
    let spec = BookSpec::new(n, 11, today());
    book::load(&store, &spec, |_, _| {}).await.expect("book");
    let bundles = book::accounts(&spec, &book::org(&spec), 0..n);
    (dir, store, bundles)
}

#[tokio::test]
async fn a_full_recompute_scores_every_account_and_finds_the_planted_stories() {
    let (_dir, store, bundles) = demo(400).await;
    let mut seen = 0;
    let summary = recompute(&store, None, today(), |done, total| {
        assert!(done <= total);
        seen = done;
    })
    .await
    .expect("recompute");
    assert_eq!((summary.accounts, seen), (400, 400));
    assert!(summary.scored >= 395, "{summary:?}");
    let pool = store.pool();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM account_health")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(rows, 400);
    for b in bundles
        .iter()
        .filter(|b| b.stories.contains(&Story::SponsorLeft))
    {
        let h = account_health(&store, &b.account.id).await.expect("health");
        assert!(
            h.signals
                .iter()
                .any(|s| s.kind == SignalKind::SponsorLeft && s.cleared_at.is_none()),
            "{} has no sponsor signal",
            b.account.name
        );
    }
    for b in bundles
        .iter()
        .filter(|b| b.stories.contains(&Story::ImplementationStalled))
    {
        let h = account_health(&store, &b.account.id).await.expect("health");
        assert!(
            h.signals
                .iter()
                .any(|s| s.kind == SignalKind::ImplementationDelay),
            "{} has no delay signal",
            b.account.name
        );
        // Never adopted: still onboarding, unless the renewal window has begun.
        let stage = crate::store::accounts::get_account(pool, &b.account.id)
            .await
            .expect("account")
            .stage;
        let card = h.current.as_ref().map(|c| c.scorecard_name.as_str());
        match stage {
            Stage::Onboarding => assert_eq!(card, Some("Onboarding")),
            Stage::Renewal => assert!((b.account.renewal_date - today()).num_days() <= 120),
            other => panic!("{} moved to {other:?} without adopting", b.account.name),
        }
    }
    // Stalled implementations and declining usage score lower than the book as a whole.
    let mut scores: Vec<(bool, f64)> = Vec::new();
    for b in &bundles {
        if let Some(s) = account_health(&store, &b.account.id)
            .await
            .expect("health")
            .current
            .and_then(|c| c.score)
        {
            scores.push((b.stories.contains(&Story::ImplementationStalled), s));
        }
    }
    let mean = |keep: &dyn Fn(bool) -> bool| {
        let picked: Vec<f64> = scores
            .iter()
            .filter(|(st, _)| keep(*st))
            .map(|(_, s)| *s)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    };
    let all = mean(&|_| true);
    let stalled = mean(&|st| st);
    assert!(stalled < all - 10.0, "stalled {stalled:.1} vs all {all:.1}");
}

/// A demo book with `weeks` of weekly history, scored today.
async fn with_history(
    n: usize,
    weeks: i64,
) -> (tempfile::TempDir, Store, Vec<book::AccountBundle>) {
    let (dir, store, bundles) = demo(n).await;
    let days: Vec<NaiveDate> = (1..=weeks)
        .rev()
        .map(|w| today() - Duration::weeks(w))
        .collect();
    backfill(&store, &days).await.expect("backfill");
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("first");
    (dir, store, bundles)
}

#[tokio::test]
async fn one_snapshot_a_day_history_trend_and_what_changed() {
    let (_dir, store, bundles) = with_history(60, 4).await;
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("again the same day");
    let pool = store.pool();
    let mut per_account = 0;
    for b in &bundles {
        let days = history::of_account(pool, &b.account.id)
            .await
            .expect("days");
        per_account = per_account.max(days.len());
    }
    assert_eq!(per_account, 5, "four backfilled days and one for today");
    let id = &bundles[0].account.id;
    let h = account_health(&store, id).await.expect("health");
    assert_eq!(h.history.len(), 5);
    assert_eq!(h.history.last().map(|p| p.day), Some(today()));
    let now = h.current.as_ref().and_then(|c| c.score).expect("score");
    let week_ago = h.history[h.history.len() - 2].score;
    // Past scores feed trends to the hundredth of a point.
    assert!((h.trend.days_7.expect("trend") - (now - week_ago)).abs() < 0.006);
    assert_eq!(h.previous_day, Some(today() - Duration::weeks(1)));
    let sum: f64 = h
        .current
        .as_ref()
        .expect("current")
        .measures
        .iter()
        .map(|m| m.contribution)
        .sum();
    assert!(
        (sum - now).abs() < 1e-9,
        "contributions add up to the score"
    );

    // Scoring again the same day replaces the day's snapshot: one per account per day,
    // however often it is scored (a re-run after a crash leaves what one run would).
    recompute(&store, Some(vec![id.clone()]), today(), |_, _| {})
        .await
        .expect("again");
    let days = history::of_account(pool, id).await.expect("days");
    assert_eq!(days.len(), 5);
}

#[tokio::test]
async fn an_override_rescores_at_once_and_needs_a_comment() {
    let (_dir, store, bundles) = demo(40).await;
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("recompute");
    // The standard scorecard has a CSM-sentiment measure; tech-touch and onboarding cards differ.
    let id = &bundles
        .iter()
        .find(|b| {
            b.account.stage != crate::model::Stage::Onboarding
                && b.account.segment != crate::model::Segment::TechTouch
        })
        .expect("account")
        .account
        .id;
    let err = override_measure(
        &store,
        id,
        MeasureKind::CsmSentiment,
        10.0,
        "  ",
        None,
        None,
        today(),
    )
    .await
    .expect_err("no comment");
    assert!(err.to_string().contains("comment"), "{err}");
    let before = account_health(&store, id)
        .await
        .expect("health")
        .current
        .and_then(|c| c.score)
        .expect("score");
    let after = override_measure(
        &store,
        id,
        MeasureKind::CsmSentiment,
        0.0,
        "Exec sponsor is shopping around",
        None,
        None,
        today(),
    )
    .await
    .expect("override");
    let sentiment = after
        .current
        .as_ref()
        .expect("current")
        .measures
        .iter()
        .find(|m| m.kind == MeasureKind::CsmSentiment)
        .expect("measure");
    assert!(
        matches!(&sentiment.source, scorecard::ScoreSource::Override { comment, .. } if comment.contains("shopping"))
    );
    assert!(after.current.and_then(|c| c.score).expect("score") < before);
    assert_eq!(after.overrides.len(), 1);
    let removed = remove_override(&store, &after.overrides[0].id, today())
        .await
        .expect("remove");
    assert!(removed.overrides.is_empty());
    assert!((removed.current.and_then(|c| c.score).expect("score") - before).abs() < 1e-9);
}

#[tokio::test]
async fn signals_clear_when_their_condition_goes() {
    let (_dir, store, bundles) = demo(300).await;
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("recompute");
    // Nothing changed: a second run raises and clears nothing.
    let again = recompute(&store, None, today(), |_, _| {})
        .await
        .expect("again");
    assert_eq!((again.signals_raised, again.signals_cleared), (0, 0));
    let b = bundles
        .iter()
        .find(|b| b.stories.contains(&Story::SponsorLeft))
        .expect("a sponsor story");
    // A new sponsor is named.
    let mut sponsor = b.contacts[0].clone();
    sponsor.id = crate::new_id();
    sponsor.status = crate::model::ContactStatus::Active;
    sponsor.left_on = None;
    let mut tx = store.write().await.expect("tx");
    crate::store::activity::upsert_contacts(&mut tx, &[sponsor])
        .await
        .expect("contact");
    tx.commit().await.expect("commit");
    let summary = recompute(&store, Some(vec![b.account.id.clone()]), today(), |_, _| {})
        .await
        .expect("recompute");
    assert!(summary.signals_cleared >= 1);
    let h = account_health(&store, &b.account.id).await.expect("health");
    let s = h
        .signals
        .iter()
        .find(|s| s.kind == SignalKind::SponsorLeft)
        .expect("kept as cleared");
    assert!(s.cleared_at.is_some());
}

#[tokio::test]
async fn scorecards_start_with_defaults_and_edits_are_validated_and_versioned() {
    let (_dir, store) = temp_store().await;
    let cards = scorecards(&store).await.expect("cards");
    assert_eq!(
        cards.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["Standard health", "Onboarding", "Tech-touch"]
    );
    let mut d = cards[0].definition.clone();
    d.measures[0].weight = 40.0;
    let saved = save_scorecard(&store, Some(&cards[0].id), "Standard health", &d)
        .await
        .expect("save");
    assert_eq!(saved.version, 2);
    d.bands.clear();
    let err = save_scorecard(&store, Some(&cards[0].id), "Standard health", &d)
        .await
        .expect_err("no bands");
    assert!(err.to_string().contains("bands"), "{err}");
    let err = save_scorecard(&store, None, "Onboarding", &cards[1].definition)
        .await
        .expect_err("duplicate name");
    assert!(err.to_string().contains("another scorecard"), "{err}");
    assert_eq!(
        scorecards(&store).await.expect("cards")[0]
            .definition
            .measures[0]
            .weight,
        40.0
    );
}

#[tokio::test]
async fn logging_a_detractor_response_rescores_the_account_at_once() {
    let (_dir, store, bundles) = demo(40).await;
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("recompute");
    let b = bundles
        .iter()
        .find(|b| {
            b.account.segment != crate::model::Segment::TechTouch
                && b.account.stage != crate::model::Stage::Onboarding
                && !b.stories.contains(&Story::DetractorNps)
        })
        .expect("an account");
    let before = account_health(&store, &b.account.id).await.expect("health");
    let response = crate::model::NpsResponse {
        id: crate::new_id(),
        account_id: b.account.id.clone(),
        contact_id: None,
        score: 1,
        comment: "Nothing works since the migration".into(),
        responded_on: today(),
        external_id: None,
    };
    let after = log_nps_response(&store, &response, today())
        .await
        .expect("log");
    let nps = after
        .current
        .as_ref()
        .expect("current")
        .measures
        .iter()
        .find(|m| m.kind == MeasureKind::NpsLatest)
        .expect("nps measure");
    assert_eq!(nps.raw, Some(1.0));
    assert!(after.current.and_then(|c| c.score) < before.current.and_then(|c| c.score));
    assert!(after
        .signals
        .iter()
        .any(|s| s.kind == SignalKind::NpsDetractor
            && s.severity == Level::High
            && s.summary.contains("migration")));
    let mut future = response.clone();
    future.id = crate::new_id();
    future.responded_on = today() + Duration::days(3);
    assert!(log_nps_response(&store, &future, today()).await.is_err());
}

#[tokio::test]
async fn the_accounts_table_sorts_by_health_and_severity_with_unscored_accounts_at_the_end() {
    use crate::store::accounts::{query_accounts, AccountQuery, AccountSort};
    let (_dir, store, bundles) = demo(80).await;
    // Score all but one account.
    let ids: Vec<String> = bundles
        .iter()
        .skip(1)
        .map(|b| b.account.id.clone())
        .collect();
    recompute(&store, Some(ids), today(), |_, _| {})
        .await
        .expect("recompute");
    for sort in [AccountSort::Health, AccountSort::Severity] {
        for descending in [false, true] {
            let q = AccountQuery {
                sort,
                descending,
                limit: 100,
                ..Default::default()
            };
            let whole = query_accounts(store.pool(), &q).await.expect("page");
            let key = |r: &crate::store::AccountRow| {
                if sort == AccountSort::Health {
                    r.health
                } else {
                    r.severity_score
                }
            };
            let keys: Vec<Option<f64>> = whole.rows.iter().map(key).collect();
            assert_eq!(keys.len(), 80);
            // The unscored account sits where SQLite puts NULLs: first ascending, last descending.
            assert_eq!(
                if descending { keys[79] } else { keys[0] },
                None,
                "{sort:?} desc={descending}"
            );
            let scored: Vec<f64> = keys.iter().flatten().copied().collect();
            assert!(
                scored.windows(2).all(|w| if descending {
                    w[0] >= w[1]
                } else {
                    w[0] <= w[1]
                }),
                "{sort:?} desc={descending}"
            );
            let mut stepped = Vec::new();
            for offset in (0..80).step_by(7) {
                let page = query_accounts(
                    store.pool(),
                    &AccountQuery {
                        offset,
                        limit: 7,
                        ..q.clone()
                    },
                )
                .await
                .expect("page");
                stepped.extend(page.rows.into_iter().map(|r| r.id));
            }
            assert_eq!(
                stepped,
                whole.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
            );
            // A filter takes the other path and agrees on the order of scores.
            let filtered = query_accounts(
                store.pool(),
                &AccountQuery {
                    search: Some("o".into()),
                    ..q.clone()
                },
            )
            .await
            .expect("filtered");
            let fkeys: Vec<f64> = filtered.rows.iter().filter_map(key).collect();
            assert!(fkeys.windows(2).all(|w| if descending {
                w[0] >= w[1]
            } else {
                w[0] <= w[1]
            }));
        }
    }
}

#[tokio::test]
async fn a_band_change_goes_on_the_timeline_and_a_first_score_does_not() {
    let (_dir, store, _) = demo(30).await;
    let system = |store: &Store| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT body FROM timeline_entries WHERE kind = 'system' ORDER BY rowid",
            )
            .fetch_all(&pool)
            .await
            .expect("timeline")
        }
    };
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("first");
    assert!(
        system(&store).await.is_empty(),
        "a first score is not a change"
    );
    let (id, band): (String, String) = sqlx::query_as(
        "SELECT a.id, h.band FROM account_health h JOIN accounts a ON a.rowid = h.account WHERE h.band IS NOT NULL LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("scored");
    // As if yesterday's score had been in another band (yesterday's fingerprint is not
    // today's, so the recompute writes).
    sqlx::query("UPDATE account_health SET band = 'Yesterday' WHERE account = (SELECT rowid FROM accounts WHERE id = ?)")
        .bind(&id)
        .execute(store.pool())
        .await
        .expect("update");
    sqlx::query("UPDATE health_state SET digest = 0 WHERE account = (SELECT rowid FROM accounts WHERE id = ?)")
        .bind(&id)
        .execute(store.pool())
        .await
        .expect("update");
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("again");
    let events = system(&store).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].starts_with(&format!("Health changed band: Yesterday → {band} (score ")),
        "{events:?}"
    );
}

/// A second recompute the same day finds everything current and writes nothing: no
/// history row, current row, signal or timeline entry is inserted or updated.
#[tokio::test]
async fn a_second_recompute_the_same_day_writes_nothing() {
    let (_dir, store, _) = with_history(300, 3).await;
    let mut ddl = String::from("CREATE TABLE writes_seen (what TEXT NOT NULL);");
    for table in [
        "account_health",
        "health_history",
        "health_history_packed",
        "signals",
        "timeline_entries",
        "account_priority",
    ] {
        for op in ["INSERT", "UPDATE", "DELETE"] {
            ddl.push_str(&format!(
                "CREATE TRIGGER seen_{table}_{op} AFTER {op} ON {table} BEGIN \
                 INSERT INTO writes_seen VALUES ('{op} {table}'); END;"
            ));
        }
    }
    sqlx::raw_sql(&ddl)
        .execute(store.pool())
        .await
        .expect("triggers");
    let again = recompute(&store, None, today(), |_, _| {})
        .await
        .expect("again");
    assert_eq!(again.accounts, 300);
    let seen: Vec<String> = sqlx::query_scalar("SELECT what FROM writes_seen")
        .fetch_all(store.pool())
        .await
        .expect("seen");
    assert!(
        seen.is_empty(),
        "{} writes: {:?}",
        seen.len(),
        &seen[..seen.len().min(10)]
    );
}

/// The explanation is built when read, from the account's data as scored that day: for
/// every account of a worked book, on the day it was scored, after a next-day refresh and
/// with an override, its numbers are exactly what the refresh computed and kept.
#[tokio::test]
async fn explanations_built_when_read_equal_the_stored_ones() {
    let (_dir, store) = crate::store::testing::worked_book(400, 17, 4).await;
    let today = crate::store::testing::test_day();
    for day in [today, today + chrono::Duration::days(1)] {
        if day != today {
            let kept_severity = || async {
                sqlx::query_as::<_, (String, String, f64)>(
                    "SELECT a.id, h.severity, h.severity_score FROM account_health h JOIN accounts a ON a.rowid = h.account ORDER BY a.id",
                )
                .fetch_all(store.pool())
                .await
                .expect("severities")
            };
            let before = kept_severity().await;
            crate::refresh::run(&store, crate::refresh::Scope::Book, day, "test", |_, _| {})
                .await
                .expect("next day");
            // A day later the days to renewal moved for every account, yet most severities
            // are the same to the tenth and are not rewritten: their explanations below are
            // read with the new day's days to renewal.
            let after = kept_severity().await;
            let same = before.iter().zip(&after).filter(|(b, a)| b == a).count();
            assert!(same * 2 > after.len(), "{same} of {} kept", after.len());
            // A CSM's override, with its comment, is part of the explanation.
            let first: String = sqlx::query_scalar(
                "SELECT a.id FROM account_health h JOIN accounts a ON a.rowid = h.account ORDER BY a.id LIMIT 1",
            )
            .fetch_one(store.pool())
            .await
            .expect("scored");
            let after = override_measure(
                &store,
                &first,
                MeasureKind::SeatUtilization,
                35.0,
                "Seats are being re-assigned after the reorg",
                None,
                Some(day + chrono::Duration::days(30)),
                day,
            )
            .await
            .expect("override");
            let current = after.current.expect("current");
            assert!(
                current
                    .measures
                    .iter()
                    .any(|m| format!("{:?}", m.source).contains("re-assigned after the reorg")),
                "{current:?}"
            );
        }
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("ids");
        let mut compared = 0;
        for id in &ids {
            // What the refresh computed that day, kept exactly: each measure's kind, raw
            // value, score and contribution, and the score and band.
            let kept: Option<(Vec<u8>, Option<f64>, Option<String>)> = sqlx::query_as(
                "SELECT h.scores, h.score, h.band FROM account_health h JOIN accounts a ON a.rowid = h.account WHERE a.id = ?",
            )
            .bind(id)
            .fetch_optional(store.pool())
            .await
            .expect("kept");
            let built = super::explain::rebuilt(&store, id, day)
                .await
                .expect("built");
            match (kept, built) {
                (Some((scores, score, band)), Some(b)) => {
                    let numbers = |m: &crate::scorecard::MeasureResult| {
                        (m.kind, m.raw, m.score, m.contribution)
                    };
                    let kept: Vec<_> = history::unpack_exact(&scores).iter().map(numbers).collect();
                    let built: Vec<_> = b.measures.iter().map(numbers).collect();
                    assert_eq!(kept, built, "{id} on {day}");
                    assert_eq!(score, b.score, "{id} on {day}");
                    assert_eq!(band, b.band, "{id} on {day}");
                    // What the page shows is that explanation, with its words.
                    let shown = account_health(&store, id).await.expect("shown");
                    assert_eq!(shown.current.map(|c| c.measures), Some(b.measures));
                    // Severity, kept as its inputs, reads as assessing the account's ARR,
                    // renewal and active signals that day would.
                    let (arr, renewal, severity): (i64, NaiveDate, f64) = sqlx::query_as(
                        "SELECT a.arr_base_minor, a.renewal_date, h.severity_score FROM accounts a \
                         JOIN account_health h ON h.account = a.rowid WHERE a.id = ?",
                    )
                    .bind(id)
                    .fetch_one(store.pool())
                    .await
                    .expect("account");
                    let active: Vec<Detected> = sqlx::query_as::<_, (SignalKind, Level)>(
                        "SELECT kind, severity FROM signals WHERE account_id = ? AND cleared_at IS NULL",
                    )
                    .bind(id)
                    .fetch_all(store.pool())
                    .await
                    .expect("signals")
                    .into_iter()
                    .map(|(kind, severity)| Detected {
                        kind,
                        severity,
                        summary: String::new(),
                        evidence: vec![],
                    })
                    .collect();
                    let config = severity_config(&store).await.expect("config");
                    let mut expected =
                        crate::severity::assess(score, &active, arr, renewal, day, &config);
                    let mut read = shown.severity.expect("severity");
                    assert_eq!(read.score, severity, "{id} on {day}");
                    // The signals are listed as detected; compare them as a set.
                    for s in [&mut expected, &mut read] {
                        let mut listed: Vec<&str> = s.factors[1].input.split(", ").collect();
                        listed.sort_unstable();
                        s.factors[1].input = listed.join(", ");
                    }
                    assert_eq!(read, expected, "{id} on {day}");
                    compared += 1;
                }
                (None, None) => {}
                (k, b) => panic!("{id} on {day}: kept {k:?}, built {b:?}"),
            }
        }
        assert!(compared >= 380, "{compared}");
    }
}

/// The next day moves every account's days to renewal and recent series, but a current
/// row or signal is only written when what it holds changes: none is rewritten as it was.
#[tokio::test]
async fn a_next_day_rewrites_no_current_row_or_signal_as_it_was() {
    let (_dir, store, _) = with_history(300, 3).await;
    sqlx::raw_sql(
        "CREATE TABLE rewrites (what TEXT NOT NULL);
         CREATE TRIGGER same_health AFTER UPDATE ON account_health
         WHEN (OLD.scorecard_id, OLD.score, OLD.band, OLD.band_color, OLD.severity_score, OLD.severity_level,
               OLD.severity, OLD.measures_with_data, OLD.measures_total, OLD.scores)
           IS (NEW.scorecard_id, NEW.score, NEW.band, NEW.band_color, NEW.severity_score, NEW.severity_level,
               NEW.severity, NEW.measures_with_data, NEW.measures_total, NEW.scores)
         BEGIN INSERT INTO rewrites VALUES ('account_health ' || NEW.account); END;
         CREATE TRIGGER same_signal AFTER UPDATE ON signals
         WHEN (OLD.severity, OLD.summary, OLD.evidence, OLD.cleared_at) IS (NEW.severity, NEW.summary, NEW.evidence, NEW.cleared_at)
         BEGIN INSERT INTO rewrites VALUES ('signal ' || NEW.id); END;
         CREATE TABLE moved (n INTEGER NOT NULL);
         CREATE TRIGGER moved_health AFTER UPDATE ON account_health BEGIN INSERT INTO moved VALUES (1); END;
         CREATE TABLE counted (id TEXT NOT NULL);
         CREATE TRIGGER counting_signal AFTER UPDATE ON signals
         WHEN OLD.kind IN ('renewal_at_risk', 'implementation_delay') AND NEW.cleared_at IS NULL
         BEGIN INSERT INTO counted VALUES (NEW.id); END;",
    )
    .execute(store.pool())
    .await
    .expect("triggers");
    let counting = count(
        &store,
        "SELECT COUNT(*) FROM signals WHERE kind IN ('renewal_at_risk', 'implementation_delay') AND cleared_at IS NULL",
    )
    .await;
    let next = today() + Duration::days(1);
    recompute(&store, None, next, |_, _| {})
        .await
        .expect("next day");
    let rewrites: Vec<String> = sqlx::query_scalar("SELECT what FROM rewrites")
        .fetch_all(store.pool())
        .await
        .expect("rewrites");
    assert!(rewrites.is_empty(), "{rewrites:?}");
    // Some did move (trends, ticket ages): the comparison is not skipping everything.
    let moved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM moved")
        .fetch_one(store.pool())
        .await
        .expect("moved");
    assert!(
        moved > 0 && moved < 300,
        "{moved} of 300 current rows moved"
    );
    // Signals whose words count days are stored with the date: a day passing rewrites
    // them only when their severity or band moves.
    let rewritten = count(&store, "SELECT COUNT(*) FROM counted").await;
    assert!(
        counting >= 10 && rewritten * 5 < counting,
        "{rewritten} of {counting} day-counting signals rewritten"
    );
}

/// Facts read usage by the accounts' row numbers, as one range or as a list: either way
/// each account gets exactly its own weeks, oldest first, as the account page reads them.
#[tokio::test]
async fn facts_read_each_accounts_usage_by_range_or_list() {
    let (_dir, store) = crate::store::testing::worked_book(90, 5, 2).await;
    let mut all: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    all.sort_unstable();
    let spread: Vec<String> = all.iter().step_by(9).cloned().collect();
    let since = today() - Duration::days(120);
    for (ids, span) in [
        (&all, facts::Span::Range),
        (&spread, facts::Span::List),
        (&all[10..12].to_vec(), facts::Span::List),
    ] {
        let read = facts::load(&store, ids, span, since).await.expect("facts");
        assert_eq!(read.len(), ids.len());
        let mut weeks = 0;
        for f in &read {
            let own = crate::store::activity::usage_of(store.pool(), &f.account.id, 10_000)
                .await
                .expect("usage");
            assert_eq!(f.usage, own, "{}", f.account.id);
            weeks += own.len();
        }
        assert!(
            weeks >= ids.len() * 4,
            "{weeks} weeks for {} accounts",
            ids.len()
        );
    }
}

/// What a recompute leaves in the store, by account row number and without wall-clock
/// times or fresh ids: to compare two stores that started as copies.
async fn derived(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT rowid || ' ' || stage || ' ' || COALESCE(stage_since, '-') || ' ' || COALESCE(adopted_on, '-') FROM accounts ORDER BY rowid",
        "SELECT a.rowid || ' ' || h.scorecard_id || ' ' || COALESCE(h.score, '-') || ' ' || COALESCE(h.band, '-') || ' ' || h.severity_score \
         || ' ' || h.severity_level || ' ' || h.severity || ' ' || COALESCE(hex(h.scores), '-') \
         FROM account_health h JOIN accounts a ON a.rowid = h.account ORDER BY a.rowid",
        "SELECT a.rowid || ' ' || hex(s.recent) || ' ' || s.digest || ' ' || COALESCE(s.trend_7, '-') || ' ' || COALESCE(s.trend_30, '-') \
         FROM health_state s JOIN accounts a ON a.rowid = s.account ORDER BY a.rowid",
        "SELECT a.rowid || ' ' || s.kind || ' ' || s.severity || ' ' || s.summary || ' ' || s.evidence || ' ' || (s.cleared_at IS NULL) \
         FROM signals s JOIN accounts a ON a.id = s.account_id ORDER BY a.rowid, s.kind, s.detected_at",
        "SELECT epoch_day || ' ' || account || ' ' || COALESCE(score, '-') || ' ' || COALESCE(band_n, '-') || ' ' || hex(measures) \
         FROM health_history ORDER BY epoch_day, account",
        "SELECT key || ' ' || hex(series) FROM health_history_packed ORDER BY key",
        "SELECT a.rowid || ' ' || t.body FROM timeline_entries t JOIN accounts a ON a.rowid = t.account \
         WHERE t.kind = 'system' ORDER BY a.rowid, t.occurred_at, t.body",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(store.pool())
            .await
            .expect(sql);
        out.extend(rows);
    }
    out
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect(sql)
}

/// The store in `dir` (`riskdesk.db`), reopened, and a copy of it as it stands
/// (`whole.db`): two stores to recompute side by side.
async fn with_copy(dir: &tempfile::TempDir, store: Store) -> (Store, Store) {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await
        .expect("checkpoint");
    store.close().await;
    std::fs::copy(dir.path().join("riskdesk.db"), dir.path().join("whole.db")).expect("copy");
    let store = Store::open(&dir.path().join("riskdesk.db"))
        .await
        .expect("reopen");
    let copy = Store::open(&dir.path().join("whole.db"))
        .await
        .expect("copy");
    (store, copy)
}

/// A whole-book recompute reads only the recent weeks of accounts whose usage summary it
/// kept, and writes exactly what reading every week writes: stages and the reasons for
/// them, scores, severities, state, signals and history. Also after a usage write (its
/// trigger drops the account's summary) and after the criteria change (summaries made
/// under others are not used).
#[tokio::test]
async fn a_recompute_on_kept_usage_summaries_writes_what_a_whole_read_writes() {
    let (dir, narrowed, _) = demo(300).await;
    recompute(&narrowed, None, today(), |_, _| {})
        .await
        .expect("first day");
    let kept = count(&narrowed, "SELECT COUNT(*) FROM usage_summary").await;
    let weeks = crate::store::testing::usage_weeks(&narrowed).await;
    let mut per_account: std::collections::HashMap<&str, usize> = Default::default();
    for w in &weeks {
        *per_account.entry(w.account_id.as_str()).or_default() += 1;
    }
    let with_usage = per_account.len() as i64;
    let long = per_account.values().filter(|n| **n > 12).count() as i64;
    // All but an account whose run completes in the week under way (kept from a later day).
    assert!(
        kept >= with_usage - 3 && long > 200,
        "{kept} summaries for {with_usage} accounts with usage, {long} with more than 12 weeks"
    );
    // The whole-read store: a copy that keeps no summary.
    let (narrowed, whole) = with_copy(&dir, narrowed).await;
    sqlx::query("DELETE FROM usage_summary")
        .execute(whole.pool())
        .await
        .expect("drop summaries");

    // A week of high use completes a run for an onboarding account with usage.
    let onboarding: String = sqlx::query_scalar(
        "SELECT a.id FROM accounts a JOIN usage_summary s ON s.account = a.rowid \
         WHERE a.stage = 'onboarding' AND s.first_run_on IS NULL ORDER BY a.rowid LIMIT 1",
    )
    .fetch_one(narrowed.pool())
    .await
    .expect("an onboarding account");
    let latest: NaiveDate = sqlx::query_scalar(
        "SELECT date(u.latest_week * 86400, 'unixepoch') FROM usage_packed u JOIN accounts a ON a.rowid = u.account WHERE a.id = ?",
    )
    .bind(&onboarding)
    .fetch_one(narrowed.pool())
    .await
    .expect("latest week");
    let week = |n: i64| crate::model::UsageWeek {
        account_id: onboarding.clone(),
        week_start: latest + Duration::days(7 * n),
        active_users: 95,
        licensed_seats: 100,
        logins: 400,
        key_feature_adoption: 70,
    };
    let weeks: Vec<_> = (1..=4).map(week).collect();

    let days = [
        today() + Duration::days(1),
        today() + Duration::days(40),
        today() + Duration::days(47),
    ];
    for (i, day) in days.into_iter().enumerate() {
        if i == 1 {
            for store in [&narrowed, &whole] {
                let mut tx = store.write().await.expect("tx");
                crate::store::activity::upsert_usage(&mut tx, &weeks)
                    .await
                    .expect("usage");
                tx.commit().await.expect("commit");
            }
            let left = count(
                &narrowed,
                &format!("SELECT COUNT(*) FROM usage_summary s JOIN accounts a ON a.rowid = s.account WHERE a.id = '{onboarding}'"),
            )
            .await;
            assert_eq!(left, 0, "a usage write drops the account's summary");
        }
        if i == 2 {
            let c = crate::lifecycle::StageCriteria {
                adopt_weeks: 3,
                adopt_seat_pct: 35.0,
                ..Default::default()
            };
            for store in [&narrowed, &whole] {
                crate::lifecycle::save_criteria(store, &c)
                    .await
                    .expect("criteria");
            }
        }
        let before = count(&narrowed, "SELECT COUNT(*) FROM usage_summary").await;
        for store in [&narrowed, &whole] {
            recompute(store, None, day, |_, _| {})
                .await
                .expect("recompute");
        }
        let (a, b) = (derived(&narrowed).await, derived(&whole).await);
        assert_eq!(a.len(), b.len(), "{day}");
        let differ: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).take(5).collect();
        assert!(differ.is_empty(), "{day}: {differ:#?}");
        assert!(
            before > 200,
            "{day}: {before} summaries kept before the run"
        );
    }
    // The onboarding account adopted through the added weeks, in both.
    let stage: String = sqlx::query_scalar("SELECT stage FROM accounts WHERE id = ?")
        .bind(&onboarding)
        .fetch_one(narrowed.pool())
        .await
        .expect("stage");
    assert_eq!(stage, "adopting");
    // Summaries made under the new criteria replaced the old ones.
    let old = count(
        &narrowed,
        "SELECT COUNT(*) FROM usage_summary WHERE adopt_weeks <> 3",
    )
    .await;
    assert_eq!(old, 0);
}

/// A summary made from a read that a usage write followed is not kept: it would describe
/// usage the store no longer holds.
#[tokio::test]
async fn a_usage_summary_read_before_a_usage_write_is_not_kept() {
    let (_dir, store, bundles) = demo(20).await;
    let ids: Vec<String> = {
        let mut ids: Vec<String> = bundles.iter().map(|b| b.account.id.clone()).collect();
        ids.sort_unstable();
        ids
    };
    let day = today();
    let narrow = facts::Narrow::new(day, &crate::lifecycle::StageCriteria::default());
    let read = facts::load_with_kept(&store, &ids, facts::Span::Range, day, Some(narrow))
        .await
        .expect("read");
    let rows = UsageSeenRows::of(&read.facts, Some(narrow), read.usage_epoch);
    assert!(rows.rows.len() > 10, "{} summaries", rows.rows.len());
    let b = &bundles[0];
    let mut w = b.usage.last().expect("usage").clone();
    w.active_users += 1;
    let mut tx = store.write().await.expect("tx");
    crate::store::activity::upsert_usage(&mut tx, &[w])
        .await
        .expect("usage");
    write_usage_seen(&mut tx, &rows).await.expect("write");
    tx.commit().await.expect("commit");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM usage_summary").await, 0);
    // Read again after the write: kept.
    let read = facts::load_with_kept(&store, &ids, facts::Span::Range, day, Some(narrow))
        .await
        .expect("read");
    let rows = UsageSeenRows::of(&read.facts, Some(narrow), read.usage_epoch);
    let mut tx = store.write().await.expect("tx");
    write_usage_seen(&mut tx, &rows).await.expect("write");
    tx.commit().await.expect("commit");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM usage_summary").await,
        rows.rows.len() as i64
    );
}

/// The accounts (row numbers) holding a kept feed summary.
async fn feed_summaries(store: &Store) -> Vec<i64> {
    sqlx::query_scalar("SELECT account FROM feed_summary ORDER BY account")
        .fetch_all(store.pool())
        .await
        .expect("feed summaries")
}

async fn row_of(store: &Store, id: &str) -> i64 {
    sqlx::query_scalar("SELECT rowid FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_one(store.pool())
        .await
        .expect("row")
}

/// A whole-book recompute on kept feed summaries writes exactly what reading the tickets,
/// NPS responses and contacts writes: on later days, as the ticket window moves past what
/// a summary holds; after a write to each feed (its trigger drops that account's summary,
/// no other); and on a day before the summaries were made (they are not used then).
#[tokio::test]
async fn a_recompute_on_kept_feed_summaries_writes_what_reading_the_feeds_writes() {
    let (dir, narrowed, bundles) = demo(300).await;
    recompute(&narrowed, None, today(), |_, _| {})
        .await
        .expect("first day");
    assert_eq!(feed_summaries(&narrowed).await.len(), 300, "one an account");
    let (narrowed, whole) = with_copy(&dir, narrowed).await;

    // A new urgent ticket, a sponsor who left, a detractor's response: three accounts.
    let day_of_writes = today() + Duration::days(20);
    let at = |d: NaiveDate| d.and_hms_opt(9, 30, 0).expect("time").and_utc();
    let ticket_account = &bundles[3].account.id;
    let ticket = crate::model::Ticket {
        id: crate::new_id(),
        account_id: ticket_account.clone(),
        external_id: Some("T-NEW".into()),
        subject: "Dashboards time out".into(),
        priority: crate::model::TicketPriority::Urgent,
        category: "Performance".into(),
        opened_at: at(day_of_writes),
        resolved_at: None,
    };
    let sponsor = bundles
        .iter()
        .flat_map(|b| &b.contacts)
        .find(|c| {
            c.role == crate::model::ContactRole::Sponsor
                && c.status == crate::model::ContactStatus::Active
                && c.account_id != *ticket_account
        })
        .expect("an active sponsor");
    let left = crate::model::Contact {
        status: crate::model::ContactStatus::Left,
        left_on: Some(day_of_writes),
        ..sponsor.clone()
    };
    let nps_account = bundles
        .iter()
        .map(|b| &b.account.id)
        .find(|id| *id != ticket_account && **id != sponsor.account_id)
        .expect("a third account");
    let response = crate::model::NpsResponse {
        id: crate::new_id(),
        account_id: nps_account.clone(),
        contact_id: None,
        score: 2,
        comment: "Support never answers".into(),
        responded_on: day_of_writes,
        external_id: None,
    };
    let written = [
        row_of(&narrowed, ticket_account).await,
        row_of(&narrowed, &sponsor.account_id).await,
        row_of(&narrowed, nps_account).await,
    ];

    let days = [1, 20, 45, 70, 10].map(|n| today() + Duration::days(n));
    for (i, day) in days.into_iter().enumerate() {
        if i == 1 {
            let before = feed_summaries(&narrowed).await;
            for store in [&narrowed, &whole] {
                let mut tx = store.write().await.expect("tx");
                crate::store::activity::upsert_tickets(&mut tx, std::slice::from_ref(&ticket))
                    .await
                    .expect("ticket");
                crate::store::activity::upsert_contacts(&mut tx, std::slice::from_ref(&left))
                    .await
                    .expect("contact");
                crate::store::activity::upsert_nps(&mut tx, std::slice::from_ref(&response))
                    .await
                    .expect("nps");
                tx.commit().await.expect("commit");
            }
            let expected: Vec<i64> = before
                .into_iter()
                .filter(|r| !written.contains(r))
                .collect();
            assert_eq!(
                feed_summaries(&narrowed).await,
                expected,
                "a feed write drops its account's summary, no other"
            );
        }
        let kept = feed_summaries(&narrowed).await.len();
        assert!(kept >= 297, "{day}: {kept} summaries kept before the run");
        // The whole-read store reads every feed every day.
        sqlx::query("DELETE FROM feed_summary")
            .execute(whole.pool())
            .await
            .expect("drop summaries");
        for store in [&narrowed, &whole] {
            recompute(store, None, day, |_, _| {})
                .await
                .expect("recompute");
        }
        let (a, b) = (derived(&narrowed).await, derived(&whole).await);
        assert_eq!(a.len(), b.len(), "{day}");
        let differ: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).take(5).collect();
        assert!(differ.is_empty(), "{day}: {differ:#?}");
    }
    // The writes show: the new ticket, the sponsor's leaving and the detractor are signals.
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM signals s WHERE cleared_at IS NULL AND account_id IN (?, ?, ?) ORDER BY kind",
    )
    .bind(ticket_account)
    .bind(&sponsor.account_id)
    .bind(nps_account)
    .fetch_all(narrowed.pool())
    .await
    .expect("signals");
    for kind in ["nps_detractor", "sponsor_left"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    // The first day's summaries held throughout; the three written accounts' were made
    // again on the day of the writes, which does not hold on the earlier last day: made
    // again then.
    let made: Vec<(i64, i64)> =
        sqlx::query_as("SELECT account, made_on FROM feed_summary ORDER BY account")
            .fetch_all(narrowed.pool())
            .await
            .expect("made on");
    assert_eq!(made.len(), 300);
    for (account, on) in made {
        let expected = match written.contains(&account) {
            true => days[4],
            false => today(),
        };
        assert_eq!(on, crate::store::reader::epoch_day(expected), "{account}");
    }
}

/// A feed summary made from a read that a feed write followed is not kept: it would
/// describe feeds the store no longer holds.
#[tokio::test]
async fn a_feed_summary_read_before_a_feed_write_is_not_kept() {
    let (_dir, store, bundles) = demo(20).await;
    let mut ids: Vec<String> = bundles.iter().map(|b| b.account.id.clone()).collect();
    ids.sort_unstable();
    let day = today();
    let narrow = facts::Narrow::new(day, &crate::lifecycle::StageCriteria::default());
    let read = facts::load_with_kept(&store, &ids, facts::Span::Range, day, Some(narrow))
        .await
        .expect("read");
    let made = FeedSummaryRows::of(&read.facts, Some(narrow), read.feed_epoch);
    assert_eq!(made.rows.len(), 20);
    let mut response = bundles[0].nps.first().expect("a response").clone();
    response.score = (response.score + 1) % 11;
    let mut tx = store.write().await.expect("tx");
    crate::store::activity::upsert_nps(&mut tx, &[response])
        .await
        .expect("nps");
    write_feed_summaries(&mut tx, &made).await.expect("write");
    tx.commit().await.expect("commit");
    assert!(feed_summaries(&store).await.is_empty());
    // Read again after the write: kept, and read back by the next read.
    let read = facts::load_with_kept(&store, &ids, facts::Span::Range, day, Some(narrow))
        .await
        .expect("read");
    assert!(read.facts.iter().all(|f| !f.feeds_kept));
    let made = FeedSummaryRows::of(&read.facts, Some(narrow), read.feed_epoch);
    let mut tx = store.write().await.expect("tx");
    write_feed_summaries(&mut tx, &made).await.expect("write");
    tx.commit().await.expect("commit");
    assert_eq!(feed_summaries(&store).await.len(), 20);
    let read = facts::load_with_kept(&store, &ids, facts::Span::Range, day, Some(narrow))
        .await
        .expect("read");
    assert!(read.facts.iter().all(|f| f.feeds_kept));
}

/// Each account's last touch as the timeline says it (the greatest non-system entry time,
/// as text), and as `last_touch` keeps it, by account row number.
async fn last_touches(store: &Store) -> (Vec<(i64, String)>, Vec<(i64, String)>) {
    let said = sqlx::query_as(
        "SELECT a.rowid, MAX(t.occurred_at) FROM timeline_entries t JOIN accounts a ON a.rowid = t.account \
         WHERE t.kind <> 'system' GROUP BY a.rowid ORDER BY a.rowid",
    )
    .fetch_all(store.pool())
    .await
    .expect("from the timeline");
    let kept =
        sqlx::query_as("SELECT account, at FROM last_touch WHERE at IS NOT NULL ORDER BY account")
            .fetch_all(store.pool())
            .await
            .expect("kept");
    (said, kept)
}

/// A whole book's read gives each account its last touch alone, the one reading every
/// entry ends with (the engagement measure reads no other).
async fn assert_touches_read_narrow_as_whole(store: &Store) {
    let mut ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    ids.sort_unstable();
    let since = today() - Duration::days(120);
    let whole = facts::load(store, &ids, facts::Span::Range, since)
        .await
        .expect("whole");
    let narrow = facts::Narrow::new(today(), &crate::lifecycle::StageCriteria::default());
    let read = facts::load_with_kept(store, &ids, facts::Span::Range, since, Some(narrow))
        .await
        .expect("narrow");
    assert_eq!(whole.len(), read.facts.len());
    let mut touched = 0;
    for (w, n) in whole.iter().zip(&read.facts) {
        assert_eq!(w.account.id, n.account.id);
        let last: Vec<_> = w.touches.last().copied().into_iter().collect();
        assert_eq!(n.touches, last, "{}", w.account.id);
        touched += usize::from(!last.is_empty());
    }
    assert!(
        touched > ids.len() / 2,
        "{touched} of {} touched",
        ids.len()
    );
}

/// `last_touch` follows the timeline through every way an entry can arrive, change or go
/// (a logged call, an upserted entry, a system event, a moved, re-kinded, re-dated or
/// deleted entry, an account deleted and its row number handed to a new one), and a whole
/// book's read of it gives what reading every entry gives.
#[tokio::test]
async fn the_last_touch_is_kept_as_entries_arrive_change_and_go() {
    let (_dir, store) = crate::store::testing::worked_book(60, 5, 2).await;
    let check = |step: &'static str| {
        let store = store.clone();
        async move {
            let (said, kept) = last_touches(&store).await;
            assert!(!said.is_empty(), "{step}");
            assert_eq!(kept, said, "after {step}");
            assert_touches_read_narrow_as_whole(&store).await;
        }
    };
    check("the migration's fill and the book's load").await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let at = |days: i64| Utc::now() - Duration::days(days);
    let mut tx = store.write().await.expect("tx");
    for (i, id) in ids.iter().take(6).enumerate() {
        // A later touch, then an older one (which moves nothing), then a later system event.
        crate::timeline::log(
            &mut tx,
            &crate::timeline::NewActivity {
                account_id: id.clone(),
                kind: crate::model::TimelineKind::Call,
                occurred_at: at(i as i64),
                body: "Checked in".into(),
                cta_id: None,
            },
            None,
        )
        .await
        .expect("log");
        crate::timeline::upsert(
            &mut tx,
            &[crate::model::TimelineEntry {
                id: crate::new_id(),
                account_id: id.clone(),
                kind: crate::model::TimelineKind::Email,
                occurred_at: at(400),
                author_id: None,
                body: "An old email".into(),
            }],
        )
        .await
        .expect("upsert");
        crate::timeline::system_event(&mut tx, id, None, "Health changed band")
            .await
            .expect("system event");
    }
    tx.commit().await.expect("commit");
    check("new entries").await;
    let last_of = |id: String| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT id FROM timeline_entries WHERE account = (SELECT rowid FROM accounts WHERE id = ?) AND kind <> 'system' ORDER BY occurred_at DESC LIMIT 1",
            )
            .bind(id)
            .fetch_one(store.pool())
            .await
            .expect("last entry")
        }
    };
    for (step, sql) in [
        (
            "a last touch dated back",
            "UPDATE timeline_entries SET occurred_at = '2020-01-01T00:00:00+00:00' WHERE id = ?1",
        ),
        (
            "a last touch made a system event",
            "UPDATE timeline_entries SET kind = 'system' WHERE id = ?1",
        ),
        (
            "a last touch moved to another account",
            "UPDATE timeline_entries SET account = (SELECT rowid FROM accounts WHERE id = ?2) WHERE id = ?1",
        ),
        (
            "a last touch deleted",
            "DELETE FROM timeline_entries WHERE id = ?1",
        ),
    ] {
        for i in 0..3 {
            let entry = last_of(ids[i].clone()).await;
            sqlx::query(sql)
                .bind(&entry)
                .bind(&ids[ids.len() - 1 - i])
                .execute(store.pool())
                .await
                .expect(step);
        }
        check(step).await;
    }
    // Every touch of an account gone: it has none.
    sqlx::query("DELETE FROM timeline_entries WHERE account = (SELECT rowid FROM accounts WHERE id = ?1) AND kind <> 'system'")
        .bind(&ids[3])
        .execute(store.pool())
        .await
        .expect("delete touches");
    check("an account's touches all deleted").await;
    let none: Option<String> = sqlx::query_scalar(
        "SELECT at FROM last_touch WHERE account = (SELECT rowid FROM accounts WHERE id = ?)",
    )
    .bind(&ids[3])
    .fetch_optional(store.pool())
    .await
    .expect("row")
    .flatten();
    assert_eq!(none, None);
    // The newest account deleted, and its row number handed to a new one: no touch.
    let gone = ids.last().expect("account");
    let (was, key) = crate::store::accounts::testing::delete_account(&store, gone).await;
    crate::store::accounts::testing::reuse_row_number(&store, was, key).await;
    check("an account deleted and its row number reused").await;
    let kept: i64 = count(
        &store,
        &format!("SELECT COUNT(*) FROM last_touch WHERE account = {key}"),
    )
    .await;
    assert_eq!(kept, 0);
}

/// The current score, daily state and rank are keyed by the account's row number
/// (migrations 29 and 31): they go with their account, and an account SQLite hands the
/// same number shows no score or rank until it is scored, then its own.
#[tokio::test]
async fn the_current_score_goes_with_its_account_and_no_new_one_inherits_it() {
    let (_dir, store, _) = demo(30).await;
    recompute(&store, None, today(), |_, _| {})
        .await
        .expect("scored");
    let rows = |key: i64| {
        let pool = store.pool().clone();
        async move {
            let mut n = 0;
            for table in ["account_health", "health_state", "account_priority"] {
                n += sqlx::query_scalar::<_, i64>(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE account = ?"
                ))
                .bind(key)
                .fetch_one(&pool)
                .await
                .expect("count");
            }
            n
        }
    };
    let newest: String = sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid DESC LIMIT 1")
        .fetch_one(store.pool())
        .await
        .expect("newest");
    let scored = account_health(&store, &newest).await.expect("health");
    assert!(scored.current.is_some(), "scored before");
    let (was, key) = crate::store::accounts::testing::delete_account(&store, &newest).await;
    assert_eq!(rows(key).await, 0, "its rows went with it");
    let again = crate::store::accounts::testing::reuse_row_number(&store, was, key).await;
    let fresh = account_health(&store, &again).await.expect("health");
    assert!(
        fresh.current.is_none(),
        "{:?}",
        fresh.current.map(|c| c.score)
    );
    assert_eq!((fresh.trend.days_7, fresh.trend.days_30), (None, None));
    assert!(
        crate::worklist::why(&store, &again, today()).await.is_err(),
        "no rank until ranked"
    );
    recompute(&store, Some(vec![again.clone()]), today(), |_, _| {})
        .await
        .expect("scored again");
    assert_eq!(rows(key).await, 3);
    for table in ["account_health", "account_priority"] {
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} t JOIN accounts a ON a.rowid = t.account"
        ))
        .fetch_one(store.pool())
        .await
        .expect("count");
        assert_eq!(total, 30, "{table}: every account's row, and no other");
    }
}

/// A whole book's read leaves out only the tickets and contacts no measure or signal reads
/// (resolved tickets opened before the judged days; contacts neither sponsor nor
/// champion), and every account is judged exactly as reading all of them judges it: on the
/// day and 45 days on (tickets cross the window), including an account whose only ticket is
/// an old resolved one (support data, "0 open") and one whose only contact is a user.
#[tokio::test]
async fn a_whole_books_narrow_read_judges_tickets_and_contacts_as_reading_them_all() {
    use crate::model::{Contact, ContactRole, ContactStatus, Ticket, TicketPriority};
    let (_dir, store, bundles) = demo(300).await;
    let mut ids: Vec<String> = bundles.iter().map(|b| b.account.id.clone()).collect();
    ids.sort_unstable();
    let cards = scorecards(&store).await.expect("cards");
    let thresholds = signal_thresholds(&store).await.expect("thresholds");
    let sev = severity_config(&store).await.expect("severity");
    let raw = |f: &AccountFacts, day: NaiveDate, kind: MeasureKind| {
        let o = evaluate(
            &cards,
            f,
            day,
            &thresholds,
            &sev,
            &Default::default(),
            scorecard::Words::Built,
        )?;
        o.health
            .measures
            .into_iter()
            .find(|m| m.kind == kind)
            .map(|m| m.raw)
    };
    // Accounts whose scorecard has the measure (it reads Some(None) without data).
    let before = facts::load(&store, &ids, facts::Span::Range, today())
        .await
        .expect("facts");
    let with = |kind: MeasureKind, not: Option<&String>| {
        before
            .iter()
            .find(|f| Some(&f.account.id) != not && raw(f, today(), kind).is_some())
            .map(|f| f.account.id.clone())
            .expect("an account scored on it")
    };
    let old_ticket = &with(MeasureKind::OpenTickets, None);
    let user_only = &with(MeasureKind::Stakeholders, Some(old_ticket));
    let mut tx = store.write().await.expect("tx");
    for (table, id) in [("tickets", old_ticket), ("contacts", user_only)] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE account = (SELECT rowid FROM accounts WHERE id = ?)"
        ))
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("clear");
    }
    let opened = (today() - Duration::days(200))
        .and_hms_opt(9, 0, 0)
        .expect("time")
        .and_utc();
    crate::store::activity::upsert_tickets(
        &mut tx,
        &[Ticket {
            id: crate::new_id(),
            account_id: old_ticket.clone(),
            external_id: Some("T-OLD".into()),
            subject: "Export failed".into(),
            priority: TicketPriority::Urgent,
            category: "Bug".into(),
            opened_at: opened,
            resolved_at: Some(opened + Duration::days(3)),
        }],
    )
    .await
    .expect("ticket");
    crate::store::activity::upsert_contacts(
        &mut tx,
        &[Contact {
            id: crate::new_id(),
            account_id: user_only.clone(),
            name: "Ada User".into(),
            email: "ada@example.com".into(),
            title: "Analyst".into(),
            role: ContactRole::User,
            status: ContactStatus::Active,
            left_on: None,
            created_at: opened,
            external_id: None,
        }],
    )
    .await
    .expect("contact");
    tx.commit().await.expect("commit");

    for day in [today(), today() + Duration::days(45)] {
        let since = day - Duration::days(120);
        let whole = facts::load(&store, &ids, facts::Span::Range, since)
            .await
            .expect("whole");
        let narrow = facts::Narrow::new(day, &crate::lifecycle::StageCriteria::default());
        let read = facts::load_with_kept(&store, &ids, facts::Span::Range, since, Some(narrow))
            .await
            .expect("narrow");
        assert_eq!(whole.len(), read.facts.len());
        let cut = (day - Duration::days(crate::scorecard::facts::TICKETS_JUDGED_DAYS))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        let (mut tickets_left, mut contacts_left, mut left_named) = (0, 0, 0);
        for (w, n) in whole.iter().zip(&read.facts) {
            assert_eq!(w.account.id, n.account.id);
            let kept: Vec<&Ticket> = w
                .tickets
                .iter()
                .filter(|t| t.resolved_at.is_none() || t.opened_at >= cut)
                .collect();
            // Read narrow, each keeps what measures and signals read of it, and only that.
            let judged_part = |t: &Ticket| {
                (
                    t.external_id.clone(),
                    t.subject.clone(),
                    t.priority,
                    t.category.clone(),
                    t.opened_at,
                    t.resolved_at,
                )
            };
            assert_eq!(
                n.tickets.iter().map(judged_part).collect::<Vec<_>>(),
                kept.iter().map(|t| judged_part(t)).collect::<Vec<_>>(),
                "{}",
                w.account.id
            );
            assert!(n.tickets.iter().all(|t| t.id.is_empty()));
            let response = |r: &crate::model::NpsResponse| {
                (r.id.clone(), r.score, r.comment.clone(), r.responded_on)
            };
            assert_eq!(
                n.nps.iter().map(response).collect::<Vec<_>>(),
                w.nps.iter().map(response).collect::<Vec<_>>()
            );
            assert_eq!(
                (n.account.segment, n.account.stage, n.account.contract_start),
                (w.account.segment, w.account.stage, w.account.contract_start)
            );
            assert_eq!(
                (
                    n.account.renewal_date,
                    n.arr_base_minor,
                    n.stage_since,
                    n.adopted_on
                ),
                (
                    w.account.renewal_date,
                    w.arr_base_minor,
                    w.stage_since,
                    w.adopted_on
                )
            );
            assert!(n.account.name.is_empty() && !w.account.name.is_empty());
            assert_eq!(n.earlier_tickets, kept.len() < w.tickets.len());
            let named: Vec<&Contact> = w
                .contacts
                .iter()
                .filter(|c| matches!(c.role, ContactRole::Sponsor | ContactRole::Champion))
                .collect();
            // Role and status; who left, and when, only of those who left.
            let seen = |c: &Contact| {
                let left = c.status == ContactStatus::Left;
                (
                    c.role,
                    c.status,
                    left.then(|| (c.name.clone(), c.title.clone(), c.left_on)),
                )
            };
            assert_eq!(
                n.contacts.iter().map(seen).collect::<Vec<_>>(),
                named.iter().map(|c| seen(c)).collect::<Vec<_>>(),
                "{}",
                w.account.id
            );
            left_named += n
                .contacts
                .iter()
                .filter(|c| c.status == ContactStatus::Left && !c.name.is_empty())
                .count();
            assert_eq!(n.other_contacts, named.len() < w.contacts.len());
            tickets_left += usize::from(n.earlier_tickets);
            contacts_left += usize::from(n.other_contacts);

            let judged = |f: &AccountFacts| {
                evaluate(
                    &cards,
                    f,
                    day,
                    &thresholds,
                    &sev,
                    &Default::default(),
                    scorecard::Words::Built,
                )
                .map(|o| (o.health, o.detected, o.severity))
            };
            assert_eq!(judged(w), judged(n), "{day}: {}", w.account.id);
        }
        assert!(
            tickets_left > 30 && contacts_left > 30 && left_named > 0,
            "{day}: {tickets_left} accounts with tickets left out, {contacts_left} with contacts, {left_named} who left named"
        );
        // The crafted accounts: support data with nothing open, contacts with no sponsor.
        let at = |id: &String| {
            read.facts
                .iter()
                .find(|f| &f.account.id == id)
                .expect("read")
        };
        let f = at(old_ticket);
        assert!(f.tickets.is_empty() && f.earlier_tickets);
        assert_eq!(
            raw(f, day, MeasureKind::OpenTickets),
            Some(Some(0.0)),
            "{day}"
        );
        let f = at(user_only);
        assert!(f.contacts.is_empty() && f.other_contacts);
        assert_eq!(
            raw(f, day, MeasureKind::Stakeholders),
            Some(Some(0.0)),
            "{day}"
        );
    }
}

/// The current-row upsert runs once per moved account: a CHECK's IN list of three values
/// made SQLite build a temporary b-tree on every run (migration 32 replaced it). The
/// check still refuses what it refused.
#[tokio::test]
async fn the_current_row_upsert_builds_no_temporary_table_and_still_checks_the_level() {
    let (_dir, store) = temp_store().await;
    let plan: Vec<String> = sqlx::query(&format!("EXPLAIN {}", &super::write::upsert_current()))
        .fetch_all(store.pool())
        .await
        .expect("explain")
        .iter()
        .map(|r| sqlx::Row::get::<String, _>(r, "opcode"))
        .collect();
    assert!(plan.iter().any(|op| op == "Insert"), "{plan:?}");
    assert!(
        !plan.iter().any(|op| op == "OpenEphemeral"),
        "the upsert builds a temporary table per row: {plan:?}"
    );

    let write = |level: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query(&super::write::upsert_current())
                .bind(1_i64)
                .bind("2026-12-03T00:00:00Z")
                .bind("scorecard")
                .bind(61.0)
                .bind("Watch")
                .bind("amber")
                .bind(40.0)
                .bind(level)
                .bind("1;0;0;2027-01-01;")
                .bind(5)
                .bind(11)
                .bind(Vec::<u8>::new())
                .execute(&pool)
                .await
        }
    };
    for level in ["high", "medium", "low"] {
        write(level).await.expect(level);
    }
    for bad in ["severe", "High", "", "high "] {
        let err = write(bad).await.expect_err(bad).to_string();
        assert!(err.contains("CHECK constraint failed"), "{bad}: {err}");
    }
    let level: String =
        sqlx::query_scalar("SELECT severity_level FROM account_health WHERE account = 1")
            .fetch_one(store.pool())
            .await
            .expect("row");
    assert_eq!(level, "low");
}

/// Tickets and touches reach scoring in time order though their index holds no time
/// (migration 42): a ticket and a call written after the account's others but dated
/// before them are read first, whole and narrow.
#[tokio::test]
async fn tickets_and_touches_are_read_in_time_order_whatever_order_they_were_written() {
    let (_dir, store, bundles) = demo(20).await;
    let b = bundles
        .iter()
        .find(|b| !b.tickets.is_empty())
        .expect("an account with tickets");
    let earliest = |mut times: Vec<chrono::DateTime<chrono::Utc>>| {
        times.sort();
        times.first().copied().unwrap_or_else(chrono::Utc::now)
    };
    let before =
        earliest(b.tickets.iter().map(|t| t.opened_at).collect()) - chrono::Duration::days(3);
    let mut tx = store.write().await.expect("tx");
    crate::store::activity::upsert_tickets(
        &mut tx,
        &[crate::model::Ticket {
            id: crate::new_id(),
            opened_at: before,
            subject: "written last, opened first".into(),
            ..b.tickets[0].clone()
        }],
    )
    .await
    .expect("ticket");
    crate::timeline::log(
        &mut tx,
        &crate::timeline::NewActivity {
            account_id: b.account.id.clone(),
            kind: crate::model::TimelineKind::Call,
            occurred_at: before,
            body: "an early call, logged late".into(),
            cta_id: None,
        },
        None,
    )
    .await
    .expect("call");
    tx.commit().await.expect("commit");
    let ids = vec![b.account.id.clone()];
    let day = today();
    for narrow in [
        None,
        Some(facts::Narrow::new(
            day,
            &crate::lifecycle::StageCriteria::default(),
        )),
    ] {
        let read = facts::load_with_kept(&store, &ids, facts::Span::Range, day, narrow)
            .await
            .expect("read");
        let f = &read.facts[0];
        let opened: Vec<_> = f.tickets.iter().map(|t| t.opened_at).collect();
        let mut sorted = opened.clone();
        sorted.sort();
        assert_eq!(opened, sorted, "narrow {}", narrow.is_some());
        if narrow.is_none() {
            assert_eq!(f.tickets[0].subject, "written last, opened first");
        }
        let mut touches = f.touches.clone();
        touches.sort();
        assert_eq!(f.touches, touches);
        assert_eq!(f.touches.first(), Some(&before));
    }
}

/// A moved current row sets only the columns that moved, so the score and severity
/// indexes are written only where their own column moved: the statement for a row whose
/// score alone moved opens the score index and not the severity one; a whole row opens
/// both. (`Current::moved` names each column that differs, and only those.)
#[tokio::test]
async fn a_moved_current_row_writes_only_the_indexes_of_what_moved() {
    let (_dir, store) = temp_store().await;
    let root = |index: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT rootpage FROM sqlite_master WHERE name = ?")
                .bind(index)
                .fetch_one(&pool)
                .await
                .expect(index)
        }
    };
    let (score, severity) = (
        root("account_health_score").await,
        root("account_health_severity").await,
    );
    // The indexes (root pages) the statement deletes an entry from: only an index
    // whose column the update sets (the insert half writes every index of a new row).
    let updated = |moved: Option<u16>| {
        let pool = store.pool().clone();
        async move {
            let sql = match moved {
                Some(m) => super::write::update_current(m),
                None => super::write::upsert_current(),
            };
            let rows = sqlx::query(&format!("EXPLAIN {sql}"))
                .fetch_all(&pool)
                .await
                .expect("explain");
            let op = |r: &sqlx::sqlite::SqliteRow| {
                (
                    sqlx::Row::get::<String, _>(r, "opcode"),
                    sqlx::Row::get::<i64, _>(r, "p1"),
                    sqlx::Row::get::<i64, _>(r, "p2"),
                )
            };
            let ops: Vec<(String, i64, i64)> = rows.iter().map(op).collect();
            let root_of = |cursor: i64| {
                ops.iter()
                    .find(|(o, c, _)| o == "OpenWrite" && *c == cursor)
                    .map(|(.., root)| *root)
            };
            ops.iter()
                .filter(|(o, ..)| o == "IdxDelete")
                .filter_map(|(_, cursor, _)| root_of(*cursor))
                .collect::<Vec<i64>>()
        }
    };
    let old = facts::Current {
        scorecard_id: "card".into(),
        score: Some(61.25),
        band: Some("Watch".into()),
        band_color: Some("amber".into()),
        severity_score: 40.0,
        severity_level: crate::signals::Level::Medium,
        severity: "1;0;0;2027-01-01;".into(),
        measures_with_data: Some(5),
        measures_total: Some(11),
        scores: Some(vec![1, 2, 3]),
    };
    let new = facts::Current {
        score: Some(61.5),
        scores: Some(vec![1, 2, 4]),
        ..old.clone()
    };
    let moved = new.moved(&old);
    assert_eq!(moved, 0b10_0000_0010, "score and scores moved");
    assert_eq!(old.moved(&old), 0);
    assert_eq!(updated(Some(moved)).await, vec![score]);
    let mut whole = updated(None).await;
    whole.sort();
    let mut both = vec![score, severity];
    both.sort();
    assert_eq!(whole, both);
}

/// A small account at High severity with expansion potential is worked by a person (the
/// lane's exception). The whole-book run reads the expansion potential too: it once read
/// accounts narrowly without it, and put such accounts in the digital lane's daily trend
/// while their rank put them in the CSM lane.
#[tokio::test]
async fn the_whole_book_run_puts_each_account_in_the_lane_its_rank_shows() {
    let (_dir, store) = crate::store::testing::worked_book(300, 3, 0).await;
    let today = crate::store::testing::test_day() + Duration::days(1);
    sqlx::query("UPDATE accounts SET segment = 'tech_touch', expansion_potential = 'high'")
        .execute(store.pool())
        .await
        .expect("accounts");
    recompute(&store, None, today, |_, _| {})
        .await
        .expect("recompute");
    let rows: Vec<(String, bool, String, String)> = sqlx::query_as(
        "SELECT a.id, h.digital, p.lane, p.severity_level FROM health_history h \
         JOIN accounts a ON a.rowid = h.account JOIN account_priority p ON p.account = h.account \
         WHERE h.epoch_day = ? ORDER BY a.id",
    )
    .bind(crate::store::reader::epoch_day(today))
    .fetch_all(store.pool())
    .await
    .expect("rows");
    let exceptions = rows.iter().filter(|r| r.3 == "high").count();
    assert!(exceptions > 0, "no account is an exception to the lane");
    for (id, digital, lane, level) in &rows {
        assert_eq!(
            *digital,
            lane == "digital",
            "{id}: history and rank disagree"
        );
        // Every account is small with high potential: at High severity, a person's.
        assert_eq!(
            lane == "csm",
            level == "high",
            "{id} at {level} is in {lane}"
        );
    }
}
