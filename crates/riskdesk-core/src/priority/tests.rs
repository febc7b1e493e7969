use super::*;

fn input() -> PriorityInput {
    PriorityInput {
        severity: 60.0,
        level: Level::Medium,
        arr: 120_000.0,
        strategic: false,
        expansion: ExpansionPotential::Low,
        segment: Segment::Enterprise,
        days_to_renewal: 200,
        risk_ctas: 1,
        expected_unavoidable: false,
        avoidable: false,
    }
}

fn score(i: &PriorityInput) -> f64 {
    compute(&PriorityConfig::default(), i).score
}

#[test]
fn raising_arr_or_severity_never_lowers_the_score() {
    let base = input();
    let mut last = 0.0;
    for arr in [
        0.0, 500.0, 5_000.0, 24_999.0, 50_000.0, 120_000.0, 1e6, 1e7, 1e9,
    ] {
        let s = score(&PriorityInput {
            arr,
            ..base.clone()
        });
        assert!(s >= last, "ARR {arr}: {s} < {last}");
        last = s;
    }
    // The same, for every combination of the other inputs.
    for strategic in [false, true] {
        for expected_unavoidable in [false, true] {
            for days in [-10, 20, 60, 150, 400] {
                let other = PriorityInput {
                    strategic,
                    expected_unavoidable,
                    days_to_renewal: days,
                    ..base.clone()
                };
                let mut last = -1.0;
                for severity in [0.0, 10.0, 35.0, 60.0, 99.0, 100.0] {
                    let s = score(&PriorityInput {
                        severity,
                        ..other.clone()
                    });
                    assert!(s >= last, "severity {severity}");
                    last = s;
                }
                let mut last = -1.0;
                for arr in [100.0, 20_000.0, 30_000.0, 2e6] {
                    let s = score(&PriorityInput {
                        arr,
                        ..other.clone()
                    });
                    assert!(s >= last, "ARR {arr} with {other:?}");
                    last = s;
                }
            }
        }
    }
}

#[test]
fn an_expected_unavoidable_low_value_risk_sinks_below_an_avoidable_one_of_the_same_arr() {
    let low = PriorityInput {
        arr: 12_000.0,
        ..input()
    };
    let sunk = score(&PriorityInput {
        expected_unavoidable: true,
        ..low.clone()
    });
    let avoidable = score(&PriorityInput {
        avoidable: true,
        ..low.clone()
    });
    let unjudged = score(&low);
    assert!(
        sunk < unjudged && unjudged < avoidable,
        "{sunk} {unjudged} {avoidable}"
    );
    // On a high-value account the same judgment sinks it less.
    let big = PriorityInput {
        arr: 900_000.0,
        expected_unavoidable: true,
        ..input()
    };
    let c = PriorityConfig::default();
    let factor = |i: &PriorityInput| compute(&c, i).explanation.factors[4].multiplier;
    assert!(
        factor(&big)
            > factor(&PriorityInput {
                expected_unavoidable: true,
                ..low
            })
    );
}

#[test]
fn the_explanation_lists_each_factor_and_multiplies_out_to_the_score() {
    let i = PriorityInput {
        strategic: true,
        expansion: ExpansionPotential::High,
        days_to_renewal: 45,
        avoidable: true,
        ..input()
    };
    let p = compute(&PriorityConfig::default(), &i);
    let names: Vec<&str> = p
        .explanation
        .factors
        .iter()
        .map(|f| f.factor.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Severity",
            "Revenue impact",
            "Strategic value",
            "Urgency",
            "Avoidability"
        ]
    );
    let product: f64 = p
        .explanation
        .factors
        .iter()
        .map(|f| f.multiplier)
        .product::<f64>()
        * 60.0;
    assert!((product - p.score).abs() < 1e-9);
    assert_eq!(
        p.explanation.factors.last().map(|f| f.points),
        Some(p.score)
    );
    assert_eq!(p.explanation.factors[3].input, "renewal in 45 days");
    assert_eq!(p.explanation.factors[3].multiplier, 1.3);
    assert!((p.explanation.factors[2].multiplier - 1.3 * 1.15).abs() < 1e-9);
    assert_eq!(p.explanation.factors[1].input, "ARR 120,000 USD");
    assert!(p.at_risk);
    assert_eq!(
        p.explanation.at_risk_reason,
        "medium severity and 1 live risk CTA(s)"
    );
}

#[test]
fn small_accounts_go_to_the_tech_touch_lane_unless_they_are_an_exception() {
    let small = PriorityInput {
        arr: 6_000.0,
        segment: Segment::TechTouch,
        ..input()
    };
    let p = compute(&PriorityConfig::default(), &small);
    assert_eq!(p.lane, "digital");
    assert_eq!(
        p.explanation.lane_reason,
        "tech-touch segment: digital playbooks"
    );
    let exception = compute(
        &PriorityConfig::default(),
        &PriorityInput {
            level: Level::High,
            severity: 80.0,
            expansion: ExpansionPotential::High,
            ..small.clone()
        },
    );
    assert_eq!(exception.lane, "csm");
    let below_line = compute(
        &PriorityConfig::default(),
        &PriorityInput {
            segment: Segment::MidMarket,
            ..small
        },
    );
    assert_eq!(
        below_line.explanation.lane_reason,
        "ARR below 10,000 USD: digital playbooks"
    );
    let quiet = compute(
        &PriorityConfig::default(),
        &PriorityInput {
            level: Level::Low,
            risk_ctas: 0,
            ..input()
        },
    );
    assert!(!quiet.at_risk);
}

#[test]
fn bad_weights_are_named() {
    let c = PriorityConfig {
        strategic_multiplier: 0.0,
        urgency: vec![
            UrgencyBand {
                within_days: 90,
                multiplier: 1.2,
            },
            UrgencyBand {
                within_days: 30,
                multiplier: 1.5,
            },
        ],
        expected_unavoidable_low_value_multiplier: 0.9,
        ..PriorityConfig::default()
    };
    let problems = c.problems().join("\n");
    assert!(
        problems.contains("strategic_multiplier: 0 is not above 0"),
        "{problems}"
    );
    assert!(
        problems.contains("urgency[2].within_days: bands must widen"),
        "{problems}"
    );
    assert!(
        problems.contains("urgency[2].multiplier: a later renewal"),
        "{problems}"
    );
    assert!(
        problems.contains("expected_unavoidable_low_value_multiplier"),
        "{problems}"
    );
    assert!(PriorityConfig::default().problems().is_empty());
}

/// Every index on `account_priority` is what SQLite picks for the screen query it serves,
/// and no other index is kept: the worklist's pages (everyone, one owner, and with the
/// tech-touch lane each lane in rank order merged) and the dashboards' at-risk slices read
/// covering indexes; the attrition and
/// tenure charts name theirs with INDEXED BY (a missing index fails the dashboard).
#[tokio::test]
async fn every_priority_index_is_the_plan_of_the_query_it_serves() {
    use crate::worklist::{page_plan, WorklistQuery};
    let (_dir, store) = crate::store::testing::worked_book(300, 3, 0).await;
    let today = crate::store::testing::test_day();
    let owner: String = sqlx::query_scalar(
        "SELECT owner_id FROM account_priority WHERE owner_id IS NOT NULL LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("owner");
    let mut proved = vec!["account_priority_attrition", "account_priority_tenure"];
    let pages = [
        ("account_priority_rank", WorklistQuery::everyone(100)),
        (
            "account_priority_owner",
            WorklistQuery {
                owner_id: Some(owner.clone()),
                ..WorklistQuery::everyone(100)
            },
        ),
    ];
    for (index, q) in pages {
        let plan = page_plan(store.pool(), &q, today).await.expect("plan");
        assert!(
            plan.contains(index),
            "{index} not used by the worklist page:\n{plan}"
        );
        // The worklist shows only at-risk ranks (migration 43).
        assert_partial(&store, index).await;
        proved.push(index);
    }
    // Both lanes: each read in rank order from its index and merged, never sorted whole
    // (the page's own few rows are ordered once more after the merge).
    for (index, owner_id) in [
        ("account_priority_rank", None),
        ("account_priority_owner", Some(owner)),
    ] {
        let q = WorklistQuery {
            include_digital: true,
            owner_id,
            ..WorklistQuery::everyone(100)
        };
        let plan = page_plan(store.pool(), &q, today).await.expect("plan");
        let arms = plan
            .lines()
            .filter(|l| l.contains(&format!("USING INDEX {index} (")))
            .count();
        assert!(
            plan.contains("MERGE (UNION ALL)") && arms == 2,
            "the lanes are not merged from {index}:\n{plan}"
        );
        let merged = plan.split("MERGE (UNION ALL)").nth(1).unwrap_or_default();
        let inner = merged.split("SCAN p").next().unwrap_or_default();
        assert!(!inner.contains("TEMP B-TREE"), "a lane is sorted:\n{plan}");
    }
    for (column, index) in [
        ("severity_level", "account_priority_by_severity"),
        ("category", "account_priority_by_category"),
        ("segment", "account_priority_by_segment"),
        ("owner_id", "account_priority_by_owner"),
    ] {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
            "EXPLAIN QUERY PLAN {}",
            crate::dashboard::slice_sql(column)
        ))
        .bind(10)
        .fetch_all(store.pool())
        .await
        .expect("plan");
        let plan: Vec<String> = rows.into_iter().map(|r| r.3).collect();
        assert!(
            plan.iter()
                .any(|p| p.contains(&format!("COVERING INDEX {index}"))),
            "{index} not used by the {column} slice: {plan:?}"
        );
        // Only at-risk ranks are the slices' (migration 39).
        assert_partial(&store, index).await;
        proved.push(index);
    }
    // The tech-touch lane's counts read the lane's own covering index (migration 44).
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", crate::lane::LANE_GROUPS))
            .fetch_all(store.pool())
            .await
            .expect("lane plan");
    assert!(
        plan.iter()
            .any(|(_, _, _, detail)| detail.contains("COVERING INDEX account_priority_lane")),
        "the lane's counts do not read their covering index: {plan:?}"
    );
    proved.push("account_priority_lane");
    let mut kept: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'account_priority' AND sql IS NOT NULL",
    )
    .fetch_all(store.pool())
    .await
    .expect("indexes");
    kept.sort();
    proved.sort();
    assert_eq!(kept, proved, "an index no screen query is proved to use");
}

/// Fails unless `index` holds only at-risk ranks.
async fn assert_partial(store: &Store, index: &str) {
    let sql: String =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?")
            .bind(index)
            .fetch_one(store.pool())
            .await
            .expect("index");
    assert!(
        sql.ends_with("WHERE at_risk = 1"),
        "{index} is whole: {sql}"
    );
}

#[tokio::test]
async fn a_new_day_rewrites_only_the_ranks_whose_urgency_band_it_crossed() {
    let (_dir, store) = crate::store::testing::worked_book(300, 3, 0).await;
    let today = crate::store::testing::test_day();
    refresh(&store, None, today).await.expect("rank");
    let read = || async {
        let rows: Vec<(String, String, NaiveDate)> = sqlx::query_as(
            "SELECT a.id, concat_ws('|', printf('%.12f', p.score), p.digest, p.computed_at), p.renewal_date \
             FROM account_priority p JOIN accounts a ON a.rowid = p.account ORDER BY a.id",
        )
        .fetch_all(store.pool())
        .await
        .expect("ranks");
        rows
    };
    let before = read().await;
    let c = config(&store).await.expect("config");
    let band = |renewal: NaiveDate, day: NaiveDate| {
        let days = (renewal - day).num_days();
        c.urgency.iter().position(|b| days <= b.within_days as i64)
    };
    let tomorrow = today + chrono::Duration::days(1);
    // Enough days that some renewals cross a band.
    let later = today + chrono::Duration::days(20);
    for day in [tomorrow, later] {
        let prev = read().await;
        refresh(&store, None, day).await.expect("rank");
        let now = read().await;
        let rewritten: Vec<&String> = prev
            .iter()
            .zip(&now)
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| &a.0)
            .collect();
        let prev_day = if day == tomorrow { today } else { tomorrow };
        let crossed: Vec<&String> = prev
            .iter()
            .filter(|(_, _, renewal)| band(*renewal, prev_day) != band(*renewal, day))
            .map(|(id, ..)| id)
            .collect();
        assert_eq!(rewritten, crossed, "as of {day}");
    }
    assert!(
        before
            .iter()
            .zip(read().await.iter())
            .any(|(a, b)| a.1 != b.1),
        "20 days on, some band was crossed"
    );
}

/// Ranks written column group by column group, only where a group changed, end exactly
/// as ranks written whole: after the owner, segment, ARR and renewal of some
/// accounts change, some CTAs close as churned, and a new day moves every score, the
/// table equals a fresh ranking.
#[tokio::test]
async fn ranks_updated_in_parts_equal_ranks_written_whole() {
    let (_dir, store) = crate::store::testing::worked_book(300, 3, 0).await;
    let today = crate::store::testing::test_day();
    refresh(&store, None, today).await.expect("rank");
    let owner: Option<String> =
        sqlx::query_scalar("SELECT owner_id FROM accounts WHERE owner_id IS NOT NULL LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("an owner");
    for sql in [
        "UPDATE accounts SET owner_id = ?1 WHERE rowid % 7 = 0",
        "UPDATE accounts SET segment = CASE segment WHEN 'tech_touch' THEN 'enterprise' ELSE 'tech_touch' END WHERE rowid % 11 = 0",
        "UPDATE accounts SET arr_base_minor = arr_base_minor * 3 + 100, renewal_date = date(renewal_date, '+40 days') WHERE rowid % 13 = 0",
        "UPDATE ctas SET status = 'closed', outcome = 'churned', closed_at = '2026-01-01T00:00:00Z', \
         snoozed_until = NULL WHERE status <> 'closed' AND rowid % 3 = 0",
        "UPDATE account_health SET severity_level = 'high', severity_score = 95 WHERE rowid % 5 = 0",
        // What a new day does to most accounts: the severity moves within its level.
        "UPDATE account_health SET severity_score = severity_score * 0.93 WHERE rowid % 5 = 1",
    ] {
        sqlx::query(sql)
            .bind(owner.clone())
            .execute(store.pool())
            .await
            .expect(sql);
    }
    let read = || async {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT concat_ws('|', p.account, at_risk, lane, printf('%.12f', score), category, flagged, \
             open_ctas, owner_id, segment, renewal_date, severity_level, arr_base_minor, contract_start, \
             churned, digest) FROM account_priority p ORDER BY p.account",
        )
        .fetch_all(store.pool())
        .await
        .expect("ranks");
        rows
    };
    let day = today + chrono::Duration::days(1);
    // Most ranks the next day move only their score; the edited ones move more.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("ids");
    let c = config(&store).await.expect("config");
    let inputs = store
        .read(move |conn| read_inputs(conn, &ids, Span::List))
        .await
        .expect("inputs");
    let (mut score_only, mut whole_rows, mut unchanged) = (0, 0, 0);
    let mut groups = std::collections::HashSet::new();
    for (_, input) in inputs {
        let stored = input.digest;
        let r = rank(&c, input, day).expect("rank");
        if stored != Some(r.digest) {
            groups.insert(r.moved);
        }
        match (stored == Some(r.digest), r.moved) {
            (true, _) => unchanged += 1,
            (false, Some(1)) => score_only += 1,
            (false, _) => whole_rows += 1,
        }
    }
    assert!(
        score_only >= 30,
        "{score_only} score-only, {whole_rows} whole, {unchanged} unchanged"
    );
    assert!(
        whole_rows >= 300 / 7,
        "{score_only} score-only, {whole_rows} whole, {unchanged} unchanged"
    );
    // The edits above move different sets of columns, each written as its own group.
    assert!(groups.len() >= 4, "{groups:?}");
    refresh(&store, None, day).await.expect("rank");
    let in_parts = read().await;
    for table in ["account_priority"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(store.pool())
            .await
            .expect("clear");
    }
    refresh(&store, None, day).await.expect("rank");
    let whole = read().await;
    assert_eq!(in_parts.len(), 300);
    assert_eq!(in_parts, whole);
    // Some of each group did move.
    let count = |sql: &'static str| {
        let pool = store.pool().clone();
        let owner = owner.clone();
        async move {
            let n: i64 = sqlx::query_scalar(sql)
                .bind(owner)
                .fetch_one(&pool)
                .await
                .expect(sql);
            n
        }
    };
    assert!(count("SELECT COUNT(*) FROM account_priority WHERE owner_id = ?").await >= 300 / 7);
    assert!(
        count("SELECT COUNT(*) + 0 * length(?) FROM account_priority WHERE churned = 1").await >= 1
    );
}

/// A rank's explanation is computed when read, from the inputs the rank was: for every
/// account of a worked book, on the day and the next, it adds up to the stored rank, with
/// the stored lane and open risk, and words the renewal as of the day read.
#[tokio::test]
async fn explanations_computed_when_read_add_up_to_the_stored_rank() {
    let (_dir, store) = crate::store::testing::worked_book(300, 5, 0).await;
    let today = crate::store::testing::test_day();
    for day in [today, today + chrono::Duration::days(1)] {
        refresh(&store, None, day).await.expect("rank");
        let rows: Vec<(String, f64, bool, String, NaiveDate)> = sqlx::query_as(
            "SELECT a.id, p.score, p.at_risk, p.lane, p.renewal_date FROM account_priority p JOIN accounts a ON a.rowid = p.account ORDER BY a.id",
        )
        .fetch_all(store.pool())
        .await
        .expect("ranks");
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let explained = explained(&store, &ids, day).await.expect("explained");
        assert_eq!(explained.len(), 300);
        for (id, score, at_risk, lane, renewal) in rows {
            let p = &explained[&id];
            assert_eq!(
                (p.score, p.at_risk, p.lane),
                (score, at_risk, lane.as_str()),
                "{id}"
            );
            let last = p.explanation.factors.last().expect("factors");
            assert!(
                (last.points - score).abs() < 1e-9,
                "{id}: {last:?} vs {score}"
            );
            let urgency = p
                .explanation
                .factors
                .iter()
                .find(|f| f.factor == "Urgency")
                .expect("urgency");
            assert_eq!(
                urgency.input,
                renewal_words((renewal - day).num_days()),
                "{id}"
            );
            assert!(
                !p.explanation.lane_reason.is_empty() && !p.explanation.at_risk_reason.is_empty()
            );
        }
    }
}

proptest::proptest! {
    /// A re-rank stores `score`'s numbers and the explanation screens show `compute`'s:
    /// they are one judgement, bit for bit, over every kind of input.
    #[test]
    fn the_numbers_alone_are_the_explained_numbers(
        severity in -10.0f64..120.0,
        level in 0usize..3,
        arr in 0.0f64..5_000_000.0,
        strategic: bool,
        expansion in 0usize..4,
        segment in 0usize..4,
        days_to_renewal in -400i64..800,
        risk_ctas in 0u32..3,
        expected_unavoidable: bool,
        avoidable: bool,
    ) {
        let i = PriorityInput {
            severity,
            level: [Level::Low, Level::Medium, Level::High][level],
            arr,
            strategic,
            expansion: [
                ExpansionPotential::None,
                ExpansionPotential::Low,
                ExpansionPotential::Medium,
                ExpansionPotential::High,
            ][expansion],
            segment: [
                Segment::Strategic,
                Segment::Enterprise,
                Segment::MidMarket,
                Segment::TechTouch,
            ][segment],
            days_to_renewal,
            risk_ctas,
            expected_unavoidable,
            avoidable,
        };
        let c = PriorityConfig::default();
        let explained = compute(&c, &i);
        let scored = super::score(&c, &i);
        proptest::prop_assert_eq!(scored.score.to_bits(), explained.score.to_bits());
        proptest::prop_assert_eq!(scored.at_risk, explained.at_risk);
        proptest::prop_assert_eq!(scored.lane, explained.lane);
        let last = explained.explanation.factors.last().map(|f| f.points);
        proptest::prop_assert_eq!(last.map(f64::to_bits), Some(explained.score.to_bits()));
    }
}

/// A whole-book recompute or refresh ranks each batch as it scores it, with the
/// severities it just judged, and then what the rules moved and the accounts another
/// device scores: a re-rank after it finds every rank current and writes nothing, on new
/// days that moved many severities and renewals' urgency.
#[tokio::test]
async fn a_whole_book_refresh_leaves_every_rank_current() {
    let (_dir, store) = crate::store::testing::worked_book(300, 3, 0).await;
    let today = crate::store::testing::test_day();
    let read = || async {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.id, concat_ws('|', printf('%.12f', p.score), p.digest, p.computed_at) \
             FROM account_priority p JOIN accounts a ON a.rowid = p.account ORDER BY a.id",
        )
        .fetch_all(store.pool())
        .await
        .expect("ranks");
        rows
    };
    // An account scored on another device, whose ARR moved (its rank is stale).
    let remote: String =
        sqlx::query_scalar("SELECT id FROM accounts ORDER BY rowid LIMIT 1 OFFSET 7")
            .fetch_one(store.pool())
            .await
            .expect("account");
    sqlx::query("INSERT INTO sync_remote (account_id) VALUES (?)")
        .bind(&remote)
        .execute(store.pool())
        .await
        .expect("remote");
    for (n, day) in [1, 20].into_iter().enumerate() {
        let day = today + chrono::Duration::days(day);
        sqlx::query("UPDATE accounts SET arr_base_minor = arr_base_minor * 2 + 100 WHERE id = ?")
            .bind(&remote)
            .execute(store.pool())
            .await
            .expect("arr");
        let before = read().await;
        if n == 0 {
            crate::health::recompute(&store, None, day, |_, _| {})
                .await
                .expect("recompute");
        } else {
            crate::refresh::run(&store, crate::refresh::Scope::Book, day, "test", |_, _| {})
                .await
                .expect("refresh");
        }
        let after = read().await;
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        assert!(moved > 30, "{day}: only {moved} ranks moved");
        let stale = |rows: &[(String, String)]| rows.iter().find(|r| r.0 == remote).cloned();
        assert_ne!(
            stale(&before),
            stale(&after),
            "{day}: the remote account's rank"
        );
        refresh(&store, None, day).await.expect("rank");
        assert_eq!(read().await, after, "{day}: a re-rank found stale ranks");
    }
}
