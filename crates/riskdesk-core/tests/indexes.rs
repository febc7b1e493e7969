//! Every index in the store earns its keep: each one is in the query plan of a statement
//! the product runs, or enforces a rule (a UNIQUE index the data relies on).
//!
//! The statements are not a list kept by hand: a worked book goes through what the
//! screens, the refresh, rules, imports and a sync do, every statement SQLite runs is
//! captured (sqlx's statement events and the bulk reader's trace), and the plan of each
//! is read. An index no statement uses costs every write and the disk for nothing. This
//! test is its own binary so that no other test's statements count.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{Duration, NaiveDate, Utc};
use riskdesk_core::book::{self, BookSpec};
use riskdesk_core::cta::{self, CockpitQuery, CtaScope, CtaType, ManualCta};
use riskdesk_core::escalation::{self, EscalationOutcome};
use riskdesk_core::import::{self, ImportKind, ImportMode, ImportRequest};
use riskdesk_core::model::{NpsResponse, TimelineKind};
use riskdesk_core::refresh::{self, Scope};
use riskdesk_core::scorecard::MeasureKind;
use riskdesk_core::signals::Level;
use riskdesk_core::store::{accounts, AccountQuery, AccountSort};
use riskdesk_core::sync::{self, MemoryServer, Share};
use riskdesk_core::timeline::{self, NewActivity};
use riskdesk_core::worklist::{self, WorklistQuery};
use riskdesk_core::Store;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

static STATEMENTS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Keeps the text of every statement run through sqlx or the bulk reader.
struct Capture;

#[derive(Default)]
struct Sql {
    summary: String,
    statement: String,
}

impl Visit for Sql {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" | "sql" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let target = event.metadata().target();
        if target != "sqlx::query" && target != "riskdesk_core::read" {
            return;
        }
        let mut sql = Sql::default();
        event.record(&mut sql);
        let text = if sql.statement.trim().is_empty() {
            sql.summary
        } else {
            sql.statement
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            STATEMENTS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(text);
        }
    }
}

/// UNIQUE indexes kept for the rule they enforce, whether or not a plan reads them.
const RULES: &[(&str, &str)] = &[
    ("ctas_live", "one live CTA per account, type and reason"),
    ("escalations_open", "one open escalation per account"),
    ("signals_active", "one active signal of a kind per account"),
    ("contacts_external", "a CRM contact id names one contact"),
    ("nps_external", "a survey response id names one response"),
    ("users_salesforce", "a Salesforce user id names one person"),
    ("users_hubspot", "a HubSpot owner id names one person"),
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default()
}

async fn open(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&dir.path().join(name)).await.expect("open")
}

async fn id(store: &Store, sql: &str) -> String {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect(sql)
}

/// What the product does to a store, screen by screen.
async fn work_a_book(dir: &tempfile::TempDir) -> Store {
    let day = today();
    let store = open(dir, "book.db").await;
    book::load(&store, &BookSpec::new(300, 7, day), |_, _| {})
        .await
        .expect("book");
    riskdesk_core::health::initialize(&store, day - Duration::days(1), 6, 14)
        .await
        .expect("history");
    riskdesk_core::rules::run::run(&store, None, day - Duration::days(1), false, "test")
        .await
        .expect("rules");
    // The daily refresh of a new day, then the same day again.
    refresh::run(&store, Scope::Book, day, "daily", |_, _| {})
        .await
        .expect("refresh");
    refresh::run(&store, Scope::Book, day, "daily", |_, _| {})
        .await
        .expect("refresh again");

    // Imports of every kind, twice (the second finds everything unchanged).
    for (kind, file) in [
        (ImportKind::Accounts, "salesforce_accounts.csv"),
        (ImportKind::Contacts, "salesforce_contacts.csv"),
        (ImportKind::Usage, "usage.csv"),
        (ImportKind::Tickets, "salesforce_cases.csv"),
        (ImportKind::Nps, "nps.csv"),
    ] {
        let req = ImportRequest::suggested(kind, &fixture(file), ImportMode::AllOrNothing)
            .expect("analyze");
        for _ in 0..2 {
            let outcome = import::import(&store, &req, day, |_| {})
                .await
                .expect("import");
            import::rescore(&store, outcome.touched.clone(), day, |_, _| {})
                .await
                .expect("rescore");
        }
    }
    import::history(store.pool(), 20).await.expect("history");

    // Accounts: every sort both ways, unfiltered and filtered, and one account.
    let owner = id(
        &store,
        "SELECT owner_id FROM accounts WHERE owner_id IS NOT NULL LIMIT 1",
    )
    .await;
    let account = id(
        &store,
        "SELECT a.id FROM account_priority p JOIN accounts a ON a.rowid = p.account WHERE NOT EXISTS (SELECT 1 FROM escalations e \
         WHERE e.account_id = a.id AND e.closed_at IS NULL) ORDER BY p.score DESC LIMIT 1",
    )
    .await;
    for sort in AccountSort::ALL {
        for descending in [false, true] {
            for q in [
                AccountQuery::default(),
                AccountQuery {
                    owner_id: Some(owner.clone()),
                    ..AccountQuery::default()
                },
                AccountQuery {
                    search: Some("north".into()),
                    ..AccountQuery::default()
                },
                AccountQuery {
                    search: Some("no".into()),
                    ..AccountQuery::default()
                },
            ] {
                let q = AccountQuery {
                    sort: *sort,
                    descending,
                    limit: 50,
                    offset: 10,
                    ..q
                };
                accounts::query_accounts(store.pool(), &q)
                    .await
                    .expect("accounts page");
            }
        }
    }
    accounts::account_detail(store.pool(), &account)
        .await
        .expect("detail");
    accounts::get_account(store.pool(), &account)
        .await
        .expect("account");
    accounts::currencies(store.pool())
        .await
        .expect("currencies");
    riskdesk_core::health::account_health(&store, &account)
        .await
        .expect("health");
    timeline::of_account(store.pool(), &account, 50)
        .await
        .expect("timeline");
    cta::account_ctas(store.pool(), &account)
        .await
        .expect("ctas");

    // The worklist in its filters, and why an account stands where it does.
    for q in [
        WorklistQuery::everyone(50),
        WorklistQuery {
            include_digital: true,
            ..WorklistQuery::everyone(50)
        },
        WorklistQuery {
            owner_id: Some(owner.clone()),
            ..WorklistQuery::everyone(50)
        },
        WorklistQuery {
            severity: Some(Level::High),
            renewal_within_days: Some(90),
            flagged_only: true,
            ..WorklistQuery::everyone(50)
        },
        WorklistQuery {
            scope: CtaScope::Mine,
            user_id: Some(owner.clone()),
            ..WorklistQuery::everyone(50)
        },
    ] {
        worklist::page(store.pool(), &q, day).await.expect("page");
    }
    worklist::why(&store, &account, day).await.expect("why");

    // Dashboards, lanes, huddle, reports, triage, notifications, people.
    riskdesk_core::dashboard::dashboard(store.pool(), day)
        .await
        .expect("dashboard");
    riskdesk_core::lane::summary(&store, day)
        .await
        .expect("lanes");
    riskdesk_core::huddle::huddle(store.pool(), None)
        .await
        .expect("huddle");
    let (from, to) = riskdesk_core::report::last_quarter(day);
    riskdesk_core::report::monthly(store.pool(), from, to)
        .await
        .expect("monthly");
    riskdesk_core::report::root_cause(store.pool(), from, to)
        .await
        .expect("root cause");
    let (from, to) = riskdesk_core::triage::next_quarter(day);
    riskdesk_core::triage::renewals(&store, from, to, None, day)
        .await
        .expect("triage");
    riskdesk_core::notify::collect(&store, &owner, Utc::now(), day)
        .await
        .expect("notices");
    riskdesk_core::people::list(store.pool())
        .await
        .expect("people");
    riskdesk_core::people::find(store.pool(), &owner)
        .await
        .expect("person");

    // Work: a CTA by hand, its tasks, updates, a logged call, snooze, close.
    let made = cta::create_manual(
        &store,
        &ManualCta {
            account_id: account.clone(),
            cta_type: CtaType::Risk,
            reason: "Index proof".into(),
            priority: Level::High,
            owner_id: Some(owner.clone()),
            due_on: Some(day + Duration::days(7)),
            playbook_id: None,
            category: None,
        },
        day,
    )
    .await
    .expect("cta");
    let mut tx = store.write().await.expect("tx");
    let task = cta::add_task(&mut tx, &made, "Call the sponsor", None)
        .await
        .expect("task");
    cta::set_task_done(&mut tx, &task, true)
        .await
        .expect("task done");
    cta::add_update(&mut tx, &made, Some(&owner), "b", "d", "n")
        .await
        .expect("update");
    cta::set_flag(&mut tx, &made, true).await.expect("flag");
    timeline::log(
        &mut tx,
        &NewActivity {
            account_id: account.clone(),
            kind: TimelineKind::Call,
            occurred_at: Utc::now(),
            body: "Spoke to the sponsor".into(),
            cta_id: Some(made.clone()),
        },
        Some(&owner),
    )
    .await
    .expect("log");
    cta::snooze(&mut tx, &made, day + Duration::days(3), "waiting", day)
        .await
        .expect("snooze");
    tx.commit().await.expect("commit");
    cta::detail(store.pool(), &made).await.expect("detail");
    timeline::of_cta(store.pool(), &made).await.expect("of cta");
    for scope in CtaScope::ALL {
        cta::cockpit(
            store.pool(),
            &CockpitQuery {
                scope: *scope,
                user_id: Some(owner.clone()),
                cta_type: None,
                priority: None,
                status: None,
                flagged_only: false,
                search: Some("index".into()),
            },
        )
        .await
        .expect("cockpit");
    }

    // Escalation: raise, act, decide, the review, close.
    let raised = escalation::escalate(&store, &account, "Sponsor left", Some(&owner))
        .await
        .expect("escalate");
    escalation::add_action(
        &store,
        &raised,
        "executive_outreach",
        "Call the CIO",
        None,
        None,
    )
    .await
    .expect("action");
    escalation::add_decision(&store, &raised, "Offer a discount", Some(&owner))
        .await
        .expect("decision");
    escalation::wbr(store.pool(), day).await.expect("wbr");
    escalation::is_open(store.pool(), &raised)
        .await
        .expect("is open");
    escalation::close(&store, &raised, EscalationOutcome::Saved, None)
        .await
        .expect("close escalation");
    escalation::refinement::report(&store)
        .await
        .expect("refinement");
    let mut tx = store.write().await.expect("tx");
    cta::close(&mut tx, &made, "resolved").await.expect("close");
    tx.commit().await.expect("commit");

    // A measure override and an NPS response, each refreshing its account.
    riskdesk_core::overrides::override_measure(
        &store,
        &account,
        MeasureKind::ALL[0],
        80.0,
        "Checked with the customer",
        Some(&owner),
        Some(day + Duration::days(30)),
        day,
    )
    .await
    .expect("override");
    riskdesk_core::overrides::log_nps_response(
        &store,
        &NpsResponse {
            id: riskdesk_core::new_id(),
            account_id: account.clone(),
            contact_id: None,
            score: 4,
            comment: "Slow support".into(),
            responded_on: day,
            external_id: None,
        },
        day,
    )
    .await
    .expect("nps");
    refresh::finish_pending(&store).await.expect("pending");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_index_serves_a_statement_the_product_runs_or_a_rule() {
    let subscriber = tracing_subscriber::registry().with(Capture);
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let dir = tempfile::tempdir().expect("temp dir");
    let store = work_a_book(&dir).await;
    // A sync: the worked book goes up, a new device of the same org pulls it down.
    sync::start_recording(&store, Share::Everything)
        .await
        .expect("record");
    let server = MemoryServer::default();
    sync::sync_once(&store, &server, |_| {})
        .await
        .expect("push");
    let other = open(&dir, "other.db").await;
    sync::start_recording(&other, Share::Nothing)
        .await
        .expect("record");
    sync::sync_once(&other, &server, |_| {})
        .await
        .expect("pull");
    sync::set_aside(other.pool()).await.expect("set aside");
    sync::conflicts(&other).await.expect("conflicts");
    store.compact().await.expect("compact");

    let statements: Vec<String> = STATEMENTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .cloned()
        .collect();
    assert!(statements.len() > 100, "{} statements", statements.len());

    // Every statement's plan as it runs today.
    let mut plans: Vec<(&str, Vec<String>)> = Vec::new();
    let mut unplanned = Vec::new();
    for sql in &statements {
        let head = sql.split_whitespace().next().unwrap_or("").to_uppercase();
        if !matches!(
            head.as_str(),
            "SELECT" | "WITH" | "INSERT" | "UPDATE" | "DELETE" | "REPLACE"
        ) {
            continue;
        }
        let mut conn = store.pool().acquire().await.expect("connection");
        match plan(&mut conn, sql).await {
            Ok(p) => plans.push((sql, p)),
            // Temporary tables of a finished transaction are gone.
            Err(e) => unplanned.push(format!("{e}: {sql}")),
        }
    }
    assert!(
        unplanned.iter().all(|e| e.contains("no such table: temp.")),
        "statements whose plan could not be read:\n{}",
        unplanned.join("\n")
    );

    // The sealed history is a series per account and quarter (~300K at 100K accounts):
    // a statement reads the series of the accounts it needs by key, never the whole table
    // (the lane's trend once joined it the other way round, minutes at 100K).
    let whole: Vec<&str> = plans
        .iter()
        .filter(|(_, p)| {
            p.iter().any(|l| {
                l.starts_with("SCAN ")
                    && (l.contains("health_history_packed") || l.starts_with("SCAN p"))
            })
        })
        .map(|(sql, _)| *sql)
        .filter(|sql| sql.contains("health_history_packed"))
        .collect();
    assert!(
        whole.is_empty(),
        "statements that read every sealed series:\n{}",
        whole.join("\n")
    );

    // An index is needed when some statement that reads it runs worse without it: a
    // table scanned where it was searched, or a sort SQLite has to do itself.
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY tbl_name, name",
    )
    .fetch_all(store.pool())
    .await
    .expect("indexes");
    let mut report = String::new();
    let mut idle = Vec::new();
    for (name, table, create) in &indexes {
        if let Some((_, rule)) = RULES.iter().find(|(n, _)| n == name) {
            assert!(
                create.starts_with("CREATE UNIQUE INDEX"),
                "{name} is kept for a rule but does not enforce one"
            );
            report.push_str(&format!("{table}.{name}: the rule that {rule}\n"));
            continue;
        }
        let readers: Vec<&(&str, Vec<String>)> = plans
            .iter()
            .filter(|(_, p)| p.iter().any(|line| names_index(line, name)))
            .collect();
        let mut tx = store.pool().begin().await.expect("tx");
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut *tx)
            .await
            .expect("drop");
        let mut needed_by = Vec::new();
        for (sql, before) in &readers {
            // A statement that names the index (INDEXED BY) fails without it.
            let worse = match plan(&mut tx, sql).await {
                Ok(after) => cost(&after) > cost(before),
                Err(e) => e.to_string().contains("no such index"),
            };
            if worse {
                needed_by.push(*sql);
            }
        }
        tx.rollback().await.expect("rollback");
        match needed_by
            .iter()
            .min_by_key(|s| (!s.starts_with("SELECT"), s.len()))
        {
            Some(sql) => report.push_str(&format!(
                "{table}.{name}: read by {} statements, needed by {}, e.g. {sql}\n",
                readers.len(),
                needed_by.len()
            )),
            None => idle.push(format!("{table}.{name} (read by {})", readers.len())),
        }
    }
    println!(
        "{} plans read of {} statements\n{report}",
        plans.len(),
        statements.len()
    );
    assert!(
        idle.is_empty(),
        "indexes no statement needs and no rule enforces: {idle:?}\n\nneeded:\n{report}"
    );
}

/// The lines of a statement's query plan.
async fn plan(conn: &mut sqlx::SqliteConnection, sql: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
        .persistent(false)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.3).collect())
}

fn names_index(line: &str, index: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).any(|w| w[0] == "INDEX" && w[1] == index)
}

/// What a plan costs, worst first: tables read whole and sorts of its own; indexes walked
/// whole; rows looked up in the table behind an index that does not cover the query;
/// and, less being better, the terms an index search narrows on.
fn cost(plan: &[String]) -> (usize, usize, usize, i64) {
    let mut c = (0, 0, 0, 0);
    for l in plan {
        if (l.starts_with("SCAN ") && !l.contains(" INDEX ") && !l.contains("CONSTANT ROW"))
            || l.contains("TEMP B-TREE")
        {
            c.0 += 1;
        }
        if l.starts_with("SCAN ") && l.contains(" INDEX ") {
            c.1 += 1;
        }
        if l.contains(" USING INDEX ") {
            c.2 += 1;
        }
        if l.starts_with("SEARCH ") {
            let terms = l.split_once('(').map_or("", |(_, t)| t);
            c.3 -= terms.matches(" AND ").count() as i64 + i64::from(!terms.is_empty());
        }
    }
    c
}
