use std::path::PathBuf;

use chrono::NaiveDate;

use super::*;
use crate::model::{Role, Segment, Stage, User};
use crate::store::testing::{temp_store, test_day};
use crate::store::{accounts, activity, AccountQuery};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

fn request(kind: ImportKind, path: &Path, mode: ImportMode) -> ImportRequest {
    ImportRequest::suggested(kind, path, mode).expect("analyze")
}

async fn run(store: &Store, req: &ImportRequest) -> ImportReport {
    import(store, req, test_day(), |_| {})
        .await
        .expect("import")
        .report
}

/// The two CSMs the CRM fixtures name as owners.
async fn with_owners(store: &Store) {
    let mut tx = store.write().await.expect("tx");
    let user = |name: &str, email: &str| User {
        id: crate::new_id(),
        name: name.into(),
        email: email.into(),
        role: Role::Csm,
        title: "Customer Success Manager".into(),
        team_id: None,
        created_at: chrono::Utc::now(),
    };
    crate::store::people::upsert_users(
        &mut tx,
        &[
            user("Dana Whitfield", "dana@riskdesk.example"),
            user("Omar Haddad", "omar@riskdesk.example"),
        ],
    )
    .await
    .expect("users");
    tx.commit().await.expect("commit");
}

async fn by_crm(store: &Store, crm: &str) -> crate::model::Account {
    let id: String = sqlx::query_scalar("SELECT id FROM accounts WHERE crm_id = ?")
        .bind(crm)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{crm}: {e}"));
    accounts::get_account(store.pool(), &id)
        .await
        .expect("account")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[tokio::test]
async fn a_salesforce_export_maps_itself_and_imports() {
    let (_dir, store) = temp_store().await;
    with_owners(&store).await;
    let path = fixture("salesforce_accounts.csv");
    let analysis = analyze(ImportKind::Accounts, &path).expect("analyze");
    assert_eq!(analysis.source.as_deref(), Some("Salesforce"));
    let mapped = |f: &str| {
        analysis
            .mapping
            .iter()
            .find(|m| m.field == f)
            .and_then(|m| m.column.clone())
    };
    assert_eq!(mapped("external_id").as_deref(), Some("Account ID"));
    assert_eq!(mapped("owner").as_deref(), Some("Account Owner"));
    assert_eq!(mapped("segment").as_deref(), Some("Customer Tier"));
    assert_eq!(mapped("region").as_deref(), Some("Billing Country"));
    assert_eq!(analysis.samples.len(), 5);

    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert_eq!(report.errors, vec![]);
    assert_eq!(
        (report.rows, report.inserted, report.committed),
        (5, 5, true)
    );
    assert_eq!(report.touched_accounts, 5);

    let northwind = by_crm(&store, "0015g00000AbCdEAA1").await;
    assert_eq!(northwind.name, "Northwind Traders");
    assert_eq!(
        (northwind.arr_minor, northwind.currency.as_str()),
        (1_200_000_00, "USD")
    );
    assert_eq!(northwind.renewal_date, day("2027-03-31"));
    assert_eq!(northwind.contract_start, day("2024-04-01"));
    assert_eq!(northwind.segment, Segment::Enterprise);
    assert!(northwind.strategic);
    assert!(northwind.owner_id.is_some());
    let contoso = by_crm(&store, "0015g00000AbCdFAA1").await;
    assert_eq!(
        (contoso.arr_minor, contoso.currency.as_str()),
        (950_000_00, "EUR")
    );
    assert_eq!(contoso.segment, Segment::Strategic);
    let fabrikam = by_crm(&store, "0015g00000AbCdGAA1").await;
    assert_eq!(
        (fabrikam.arr_minor, fabrikam.currency.as_str()),
        (310_000_00, "GBP")
    );
    let tailspin = by_crm(&store, "0015g00000AbCdHAA1").await;
    assert_eq!(
        (tailspin.arr_minor, tailspin.segment),
        (85_000_00, Segment::TechTouch)
    );
    // No contract start in the file: a year before the renewal.
    assert_eq!(tailspin.contract_start, day("2026-01-15"));
    let litware = by_crm(&store, "0015g00000AbCdIAA1").await;
    assert_eq!((litware.currency.as_str(), litware.owner_id), ("CAD", None));
    // Not in the file: segment from ARR (CAD 240K ≈ USD 175K); the stage starts at
    // onboarding, for the recompute to move by the stage criteria.
    assert_eq!(litware.segment, Segment::MidMarket);
    assert_eq!(litware.stage, Stage::Onboarding);
}

#[tokio::test]
async fn re_importing_changes_nothing_and_an_edit_changes_only_itself() {
    let (dir, store) = temp_store().await;
    with_owners(&store).await;
    let path = fixture("salesforce_accounts.csv");
    let req = request(ImportKind::Accounts, &path, ImportMode::AllOrNothing);
    run(&store, &req).await;
    let before = by_crm(&store, "0015g00000AbCdGAA1").await;

    let again = run(&store, &req).await;
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 5));
    assert_eq!(again.touched_accounts, 0);
    assert_eq!(by_crm(&store, "0015g00000AbCdGAA1").await, before);

    // A CSM set Tailspin's segment by hand; the CRM file does not say, so it stays.
    let tailspin = by_crm(&store, "0015g00000AbCdHAA1").await;
    let mut tx = store.write().await.expect("tx");
    accounts::upsert_accounts(
        &mut tx,
        &[crate::model::Account {
            stage: Stage::Renewal,
            ..tailspin.clone()
        }],
    )
    .await
    .expect("edit");
    tx.commit().await.expect("commit");

    let edited = std::fs::read_to_string(&path)
        .expect("read")
        .replace("\"$1,200,000.00\"", "\"$1,150,000.00\"");
    let edited_path = dir.path().join("edited.csv");
    std::fs::write(&edited_path, edited).expect("write");
    let outcome = import(
        &store,
        &ImportRequest {
            path: edited_path.display().to_string(),
            ..req.clone()
        },
        test_day(),
        |_| {},
    )
    .await
    .expect("import");
    let r = outcome.report;
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 1, 4));
    let northwind = by_crm(&store, "0015g00000AbCdEAA1").await;
    assert_eq!(outcome.touched, vec![northwind.id.clone()]);
    assert_eq!(northwind.arr_minor, 1_150_000_00);
    assert_eq!(
        by_crm(&store, "0015g00000AbCdHAA1").await.stage,
        Stage::Renewal
    );
}

#[tokio::test]
async fn a_hubspot_export_maps_itself() {
    let (_dir, store) = temp_store().await;
    with_owners(&store).await;
    let path = fixture("hubspot_companies.csv");
    let analysis = analyze(ImportKind::Accounts, &path).expect("analyze");
    assert_eq!(analysis.source.as_deref(), Some("HubSpot"));
    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert_eq!(
        (report.inserted, report.rejected),
        (3, 0),
        "{:?}",
        report.errors
    );
    let coho = by_crm(&store, "9876543202").await;
    assert_eq!(
        (coho.name.as_str(), coho.arr_minor),
        ("Coho Winery", 36_500_00)
    );
    assert_eq!(coho.segment, Segment::TechTouch);
    assert_eq!(coho.region, "France");
    let aw = by_crm(&store, "9876543203").await;
    assert_eq!(
        (aw.arr_minor, aw.segment),
        (2_100_000_00, Segment::Strategic)
    );
}

#[tokio::test]
async fn a_messy_excel_file_reads_cleanly() {
    let (_dir, store) = temp_store().await;
    let path = fixture("messy_accounts.csv");
    let analysis = analyze(ImportKind::Accounts, &path).expect("analyze");
    assert_eq!(analysis.delimiter, "semicolon");
    assert!(analysis.latin1);
    assert_eq!(
        analysis.headers.last().map(String::as_str),
        Some("Name (2)")
    );
    assert!(analysis.warnings.iter().any(|w| w.contains("'Name'")));
    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert_eq!(
        (report.rows, report.inserted),
        (3, 3),
        "{:?}",
        report.errors
    );
    let muller = by_crm(&store, "DE-1001").await;
    assert_eq!(muller.name, "Müller Maschinenbau\nGmbH");
    assert_eq!(
        (muller.arr_minor, muller.currency.as_str()),
        (1_200_000_00, "EUR")
    );
    assert_eq!(muller.renewal_date, day("2027-03-31"));
    let sge = by_crm(&store, "DE-1002").await;
    assert_eq!(
        (sge.name.as_str(), sge.arr_minor),
        ("Société Générale des Eaux", 450_000_50)
    );
    let aero = by_crm(&store, "DE-1003").await;
    assert_eq!(
        (aero.name.as_str(), aero.currency.as_str()),
        ("Ærø Shipping", "USD")
    );
}

#[tokio::test]
async fn bad_rows_are_reported_and_nothing_is_half_written() {
    let (dir, store) = temp_store().await;
    let path = fixture("accounts_with_errors.csv");
    let req = request(ImportKind::Accounts, &path, ImportMode::AllOrNothing);
    let report = run(&store, &req).await;
    assert!(!report.committed);
    assert_eq!((report.rows, report.valid, report.rejected), (6, 2, 4));
    assert_eq!(
        accounts::count_accounts(store.pool()).await.expect("count"),
        0
    );
    let e = |line: u32, column: &str| {
        report
            .errors
            .iter()
            .find(|e| e.line == line && e.column == column)
            .unwrap_or_else(|| panic!("no error at line {line} {column}: {:?}", report.errors))
            .clone()
    };
    assert_eq!(e(3, "Account Name").reason, "is required but empty");
    let negative = e(4, "ARR");
    assert_eq!(negative.value, "-5");
    assert!(negative.reason.contains("negative"));
    assert!(e(6, "Renewal Date").reason.contains("not a date"));
    assert!(e(6, "Customer Tier")
        .reason
        .contains("'Galactic' is not a segment"));
    assert_eq!(e(7, "Account ID").reason, "repeats the CRM id from line 2");
    assert_eq!(report.error_count, 5);

    // The check says the same without writing, and counts what would change.
    let check = run(
        &store,
        &ImportRequest {
            mode: ImportMode::Check,
            ..req.clone()
        },
    )
    .await;
    assert_eq!(
        (check.inserted, check.rejected, check.committed),
        (2, 4, false)
    );

    // Import the valid rows; the rest come back as a CSV to fix.
    let rejects = dir.path().join("rejects.csv");
    let report = run(
        &store,
        &ImportRequest {
            mode: ImportMode::ValidRows,
            rejects_path: Some(rejects.display().to_string()),
            ..req
        },
    )
    .await;
    assert!(report.committed);
    assert_eq!(report.inserted, 2);
    assert_eq!(
        accounts::count_accounts(store.pool()).await.expect("count"),
        2
    );
    let mut rdr = csv::Reader::from_path(&rejects).expect("rejects file");
    let headers = rdr.headers().expect("headers").clone();
    assert_eq!(headers.get(0), Some("Line"));
    assert_eq!(headers.get(headers.len() - 1), Some("Errors"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].get(1), Some("ACME-2"));
    assert_eq!(rows[3].get(0), Some("7"));
    assert!(rows[2]
        .get(6)
        .unwrap_or("")
        .contains("Customer Tier: 'Galactic'"));
}

#[tokio::test]
async fn a_broken_mapping_or_file_is_refused_up_front() {
    let (_dir, store) = temp_store().await;
    let path = fixture("salesforce_accounts.csv");
    let mut req = request(ImportKind::Accounts, &path, ImportMode::AllOrNothing);
    req.mapping.retain(|m| m.field != "arr");
    let err = import(&store, &req, test_day(), |_| {})
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("ARR is required"), "{err}");
    req.mapping.push(FieldMapping {
        field: "arr".into(),
        column: Some("Annual Revenue".into()),
    });
    let err = import(&store, &req, test_day(), |_| {})
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("no column 'Annual Revenue'"),
        "{err}"
    );
    let err = import(
        &store,
        &ImportRequest {
            path: "/nowhere/accounts.csv".into(),
            ..req
        },
        test_day(),
        |_| {},
    )
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("/nowhere/accounts.csv"), "{err}");
}

#[tokio::test]
async fn contacts_usage_tickets_and_nps_attach_to_imported_accounts() {
    let (_dir, store) = temp_store().await;
    with_owners(&store).await;
    let accounts_req = request(
        ImportKind::Accounts,
        &fixture("salesforce_accounts.csv"),
        ImportMode::AllOrNothing,
    );
    run(&store, &accounts_req).await;
    let northwind = by_crm(&store, "0015g00000AbCdEAA1").await;

    for (kind, file, rows) in [
        (ImportKind::Contacts, "salesforce_contacts.csv", 3),
        (ImportKind::Usage, "usage.csv", 3),
        (ImportKind::Tickets, "salesforce_cases.csv", 3),
        (ImportKind::Nps, "nps.csv", 2),
    ] {
        let req = request(kind, &fixture(file), ImportMode::AllOrNothing);
        let first = run(&store, &req).await;
        assert_eq!(
            (first.inserted, first.rejected),
            (rows, 0),
            "{kind}: {:?}",
            first.errors
        );
        let again = run(&store, &req).await;
        assert_eq!(
            (again.inserted, again.updated, again.unchanged),
            (0, 0, rows),
            "{kind}"
        );
    }

    let contacts = activity::contacts_of(store.pool(), &northwind.id)
        .await
        .expect("contacts");
    assert_eq!(contacts[0].name, "Grace Liu");
    assert_eq!(contacts[0].role, crate::model::ContactRole::Sponsor);
    assert_eq!(contacts[1].role, crate::model::ContactRole::Champion);
    let usage = activity::usage_of(store.pool(), &northwind.id, 10)
        .await
        .expect("usage");
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[1].week_start, day("2026-11-16"));
    assert_eq!(
        (usage[0].key_feature_adoption, usage[1].key_feature_adoption),
        (62, 61)
    );
    let tickets = activity::tickets_of(store.pool(), &northwind.id)
        .await
        .expect("tickets");
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets[1].priority, crate::model::TicketPriority::Urgent);
    assert_eq!(
        tickets[1].resolved_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-03T16:40:00+00:00")
    );
    assert!(tickets[0].resolved_at.is_none());
    let nps = activity::nps_of(store.pool(), &northwind.id)
        .await
        .expect("nps");
    assert_eq!(
        (nps[0].score, nps[0].contact_id.as_deref()),
        (3, Some(contacts[0].id.as_str()))
    );

    // The imported data feeds health: re-scoring the touched accounts scores them.
    rescore(&store, vec![northwind.id.clone()], test_day(), |_, _| {})
        .await
        .expect("rescore");
    let health = crate::health::account_health(&store, &northwind.id)
        .await
        .expect("health");
    assert!(
        health.current.and_then(|c| c.score).is_some(),
        "northwind was not scored"
    );
}

#[tokio::test]
async fn rows_naming_unknown_accounts_are_refused() {
    let (dir, store) = temp_store().await;
    let path = dir.path().join("usage.csv");
    std::fs::write(
        &path,
        "Account,Week,Active Users,Seats,Logins\nNobody Inc,2026-11-16,1,2,3\n",
    )
    .expect("write");
    let report = run(
        &store,
        &request(ImportKind::Usage, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert_eq!(report.rejected, 1);
    assert_eq!(report.errors[0].column, "Account");
    assert!(report.errors[0]
        .reason
        .contains("no account has the CRM id or name 'Nobody Inc'"));
}

/// A large book of rows for the crash test and the benchmark.
pub(crate) fn accounts_csv(path: &Path, n: usize) {
    let mut w = csv::Writer::from_path(path).expect("create");
    w.write_record([
        "Account ID",
        "Account Name",
        "ARR",
        "Currency",
        "Renewal Date",
        "Customer Tier",
        "Industry",
        "Region",
    ])
    .expect("header");
    let tiers = ["Strategic", "Enterprise", "Mid-Market", "SMB"];
    for i in 0..n {
        w.write_record([
            format!("ACC-{i:07}"),
            format!("Company {i}"),
            format!("${},000.00", 20 + (i * 37) % 2000),
            "USD".to_string(),
            format!("2027-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            tiers[i % 4].to_string(),
            "Software".to_string(),
            "North America".to_string(),
        ])
        .expect("row");
    }
    w.flush().expect("flush");
}

#[tokio::test]
async fn a_crash_mid_import_leaves_the_store_as_it_was() {
    let (dir, store) = temp_store().await;
    let schema = schema_of_accounts(&store).await;
    let path = dir.path().join("big.csv");
    accounts_csv(&path, 30_000);
    let req = request(ImportKind::Accounts, &path, ImportMode::AllOrNothing);
    let crashing = store.clone();
    let task = tokio::spawn(async move {
        import(&crashing, &req, test_day(), |p| {
            // Dies after the first of three chunks has been written.
            if p.phase == "writing" {
                panic!("simulated crash at {} of {} rows", p.done, p.total);
            }
        })
        .await
    });
    assert!(task.await.expect_err("crashed").is_panic());
    assert_eq!(
        accounts::count_accounts(store.pool()).await.expect("count"),
        0
    );
    // The bulk path had dropped the indexes and the search trigger: the rollback restored them.
    assert_eq!(schema_of_accounts(&store).await, schema);
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM imports")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(logged, 0);
}

async fn schema_of_accounts(store: &Store) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE tbl_name IN ('accounts', 'accounts_search') \
         AND type IN ('index', 'trigger') ORDER BY name",
    )
    .fetch_all(store.pool())
    .await
    .expect("schema")
}

async fn search(store: &Store, text: &str) -> Vec<String> {
    accounts::query_accounts(
        store.pool(),
        &crate::store::AccountQuery {
            search: Some(text.into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("search")
    .rows
    .into_iter()
    .map(|r| r.name)
    .collect()
}

#[tokio::test]
async fn a_first_large_import_rebuilds_indexes_and_search_finds_its_accounts() {
    let (dir, store) = temp_store().await;
    let schema = schema_of_accounts(&store).await;
    let path = dir.path().join("big.csv");
    accounts_csv(&path, 3_000);
    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert_eq!(report.inserted, 3_000);
    // The bulk path dropped and rebuilt the indexes and the search trigger: all back.
    assert_eq!(schema_of_accounts(&store).await, schema);
    assert_eq!(search(&store, "Company 2999").await, vec!["Company 2999"]);
    assert_eq!(search(&store, "ACC-0001234").await, vec!["Company 1234"]);
    let sorted: Vec<String> = accounts::query_accounts(
        store.pool(),
        &crate::store::AccountQuery {
            sort: crate::store::AccountSort::Arr,
            descending: true,
            limit: 3,
            ..Default::default()
        },
    )
    .await
    .expect("by arr")
    .rows
    .into_iter()
    .map(|r| r.arr_minor.to_string())
    .collect();
    assert_eq!(sorted.len(), 3);
    // A small import afterwards takes the ordinary path, and the trigger indexes it.
    let small = dir.path().join("one.csv");
    std::fs::write(
        &small,
        "Account ID,Account Name,ARR,Renewal Date\nNEW-1,Zephyr Freight,\"$5,000\",2027-01-01\n",
    )
    .expect("write");
    run(
        &store,
        &request(ImportKind::Accounts, &small, ImportMode::AllOrNothing),
    )
    .await;
    assert_eq!(search(&store, "Zephyr").await, vec!["Zephyr Freight"]);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// No cell text makes a value parser panic.
        #[test]
        fn value_parsers_never_panic(s in "\\PC{0,40}") {
            let _ = values::date(&s);
            let _ = values::datetime(&s);
            let _ = values::amount(&s).map(|a| a.to_minor(2));
            let _ = values::count(&s);
            let _ = values::percent(&s);
            let _ = values::nps_score(&s);
            let _ = values::flag(&s);
        }

        /// Amounts written the usual ways read back exactly.
        #[test]
        fn grouped_amounts_round_trip(major in 0u64..10_000_000_000, cents in 0u64..100) {
            let grouped = {
                let digits = major.to_string();
                let mut out = String::new();
                for (i, c) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i) % 3 == 0 { out.push(','); }
                    out.push(c);
                }
                out
            };
            let want = (major * 100 + cents) as i64;
            let us = values::amount(&format!("${grouped}.{cents:02}")).and_then(|a| a.to_minor(2));
            prop_assert_eq!(us, Ok(want));
            let eu = values::amount(&format!("{},{cents:02} €", grouped.replace(',', " ")))
                .and_then(|a| a.to_minor(2));
            prop_assert_eq!(eu, Ok(want));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever bytes a file holds, reading and checking it ends in a report or an
        /// error, never a panic, and a check never writes.
        #[test]
        fn any_file_is_read_without_panic(
            body in proptest::collection::vec(
                prop_oneof![
                    Just(b',' ), Just(b';'), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(0xE9u8),
                    Just(b'1'), Just(b'$'), Just(b'.'), Just(b'A'), Just(b' '), Just(0xEFu8)
                ],
                0..400,
            )
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            rt.block_on(async {
                let (dir, store) = temp_store().await;
                let path = dir.path().join("fuzz.csv");
                let mut bytes = b"Account ID,Account Name,ARR,Renewal Date\n".to_vec();
                bytes.extend_from_slice(&body);
                std::fs::write(&path, &bytes).expect("write");
                if let Ok(analysis) = analyze(ImportKind::Accounts, &path) {
                    let req = ImportRequest {
                        kind: ImportKind::Accounts,
                        path: path.display().to_string(),
                        mapping: analysis.mapping,
                        default_currency: "USD".into(),
                        mode: ImportMode::Check,
                        rejects_path: None,
                        owner_map: vec![],
                    };
                    let _ = import(&store, &req, test_day(), |_| {}).await;
                }
                assert_eq!(accounts::count_accounts(store.pool()).await.expect("count"), 0);
            });
        }
    }
}

/// A 1 MB name is a named reject found by the check, and a cell carrying a spreadsheet
/// formula goes to the rejects file guarded, then reads back as it was.
#[tokio::test]
async fn long_cells_are_named_rejects_and_formulas_never_reach_a_spreadsheet() {
    let (dir, store) = temp_store().await;
    let path = dir.path().join("accounts.csv");
    let huge = "N".repeat(1_048_576);
    let mut text = String::from("Account ID,Account Name,ARR,Renewal Date\n");
    for i in 2..=6 {
        text.push_str(&format!("A-{i},Company {i},1000,2027-03-01\n"));
    }
    text.push_str(&format!("A-7,{huge},1000,2027-03-01\n"));
    text.push_str("A-8,=HYPERLINK(\"http://evil.example\"),not money,2027-03-01\n");
    std::fs::write(&path, text).expect("write");
    let req = request(ImportKind::Accounts, &path, ImportMode::Check);
    let check = run(&store, &req).await;
    let long = check
        .errors
        .iter()
        .find(|e| e.line == 7)
        .expect("line 7 is named");
    assert_eq!(
        (long.column.as_str(), long.reason.as_str()),
        ("Account Name", "1,048,576 characters, at most 200")
    );
    assert!(
        long.value.len() < 100,
        "the error does not carry the whole cell"
    );
    assert_eq!((check.valid, check.rejected), (5, 2));

    let rejects = dir.path().join("rejects.csv");
    let report = run(
        &store,
        &ImportRequest {
            mode: ImportMode::ValidRows,
            rejects_path: Some(rejects.display().to_string()),
            ..req.clone()
        },
    )
    .await;
    assert_eq!(report.inserted, 5);
    let written = std::fs::read_to_string(&rejects).expect("rejects");
    assert!(
        written.contains("'=HYPERLINK"),
        "guarded in the rejects file"
    );
    assert!(!written.contains(",=HYPERLINK"), "never as a formula");
    // The user fixes the amount in the rejects file and imports it: the name is the
    // original text, without the guard.
    let fixed = written.replace("not money", "2000");
    let again = dir.path().join("fixed.csv");
    std::fs::write(&again, fixed).expect("write");
    let mut req = request(ImportKind::Accounts, &again, ImportMode::ValidRows);
    req.rejects_path = Some(dir.path().join("rejects2.csv").display().to_string());
    let report = run(&store, &req).await;
    assert_eq!(report.inserted, 1, "{:?}", report.errors);
    assert_eq!(
        by_crm(&store, "A-8").await.name,
        "=HYPERLINK(\"http://evil.example\")"
    );
}

/// A fresh store with a CRM export and nothing else: no account shows a score, and the
/// dashboard counts them all as unscored.
#[tokio::test]
async fn accounts_without_data_have_no_score() {
    let (_dir, store) = temp_store().await;
    with_owners(&store).await;
    let path = fixture("salesforce_accounts.csv");
    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::ValidRows),
    )
    .await;
    assert!(report.inserted > 0, "{report:?}");
    crate::health::recompute(&store, None, test_day(), |_, _| {})
        .await
        .expect("score");
    let scored: i64 = sqlx::query_scalar("SELECT COUNT(score) FROM account_health")
        .fetch_one(store.pool())
        .await
        .expect("scored");
    assert_eq!(scored, 0, "an account without data got a score");
    let coverage: Vec<(Option<i32>, Option<i32>)> =
        sqlx::query_as("SELECT measures_with_data, measures_total FROM account_health")
            .fetch_all(store.pool())
            .await
            .expect("coverage");
    assert_eq!(coverage.len() as u32, report.inserted);
    assert!(coverage
        .iter()
        .all(|(w, t)| w.is_some() && t.is_some_and(|t| t > 0)));
    let d = crate::dashboard::dashboard(store.pool(), test_day())
        .await
        .expect("dashboard");
    assert_eq!(d.unscored_accounts, i64::from(report.inserted));
}

/// A CRM export whose owners Riskdesk does not know yet imports every valid account
/// unassigned, names the owners with how many accounts each, and assigns them once the
/// people are there and the file is imported again.
#[tokio::test]
async fn unknown_owners_leave_accounts_unassigned_not_rejected() {
    let (_dir, store) = temp_store().await;
    let path = fixture("salesforce_accounts.csv");
    let check = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::Check),
    )
    .await;
    assert_eq!(check.rejected, 0, "{:?}", check.errors);
    let warning = check
        .warnings
        .iter()
        .find(|w| w.contains("owners Riskdesk does not know"))
        .unwrap_or_else(|| panic!("no owner warning: {:?}", check.warnings));
    assert!(warning.contains("Dana Whitfield ("), "{warning}");
    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert!(report.committed && report.inserted > 0, "{report:?}");
    let owned: i64 = sqlx::query_scalar("SELECT COUNT(owner_id) FROM accounts")
        .fetch_one(store.pool())
        .await
        .expect("owned");
    assert_eq!(owned, 0, "unassigned until the people are known");
    // The people arrive; the same file assigns them and changes nothing else.
    with_owners(&store).await;
    let again = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    assert!(
        again.warnings.iter().all(|w| !w.contains("does not know")),
        "{:?}",
        again.warnings
    );
    assert!(again.updated > 0 && again.inserted == 0, "{again:?}");
    assert!(by_crm(&store, "0015g00000AbCdEAA1")
        .await
        .owner_id
        .is_some());
}

/// A manager finds the accounts an import left unassigned and gives them to a CSM in one
/// go; a deactivated person cannot be given accounts.
#[tokio::test]
async fn unassigned_accounts_are_found_and_assigned_in_bulk() {
    let (_dir, store) = temp_store().await;
    let path = fixture("salesforce_accounts.csv");
    let report = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::AllOrNothing),
    )
    .await;
    let unassigned = || AccountQuery {
        owner_id: Some(accounts::UNASSIGNED.to_string()),
        limit: 100,
        ..Default::default()
    };
    let page = accounts::query_accounts(store.pool(), &unassigned())
        .await
        .expect("query");
    assert_eq!(page.total, report.inserted);
    with_owners(&store).await;
    let dana: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'dana@riskdesk.example'")
            .fetch_one(store.pool())
            .await
            .expect("dana");
    let omar: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'omar@riskdesk.example'")
            .fetch_one(store.pool())
            .await
            .expect("omar");
    sqlx::query("UPDATE users SET active = 0 WHERE id = ?")
        .bind(&omar)
        .execute(store.pool())
        .await
        .expect("deactivate");
    let err = crate::people::assign_accounts(&store, &unassigned(), &omar, test_day())
        .await
        .expect_err("deactivated");
    assert!(err.to_string().contains("deactivated"), "{err}");
    let moved = crate::people::assign_accounts(&store, &unassigned(), &dana, test_day())
        .await
        .expect("assign");
    assert_eq!(moved, report.inserted);
    let page = accounts::query_accounts(store.pool(), &unassigned())
        .await
        .expect("query");
    assert_eq!(page.total, 0);
    let ranked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM account_priority WHERE owner_id = ?")
            .bind(&dana)
            .fetch_one(store.pool())
            .await
            .expect("ranked");
    assert_eq!(
        ranked,
        i64::from(moved),
        "the worklist sees the new owner at once"
    );
    let (live, unowned): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(c.owner_id IS NULL), 0) FROM ctas c \
         JOIN accounts a ON a.id = c.account_id JOIN account_priority p ON p.account = a.rowid \
         WHERE c.status <> 'closed' AND p.owner_id = ? AND p.lane = 'csm'",
    )
    .bind(&dana)
    .fetch_one(store.pool())
    .await
    .expect("ctas");
    // The accounts were refreshed with the change: the rules have given the new owner
    // their work (nothing ran them after the import).
    assert!(live > 0, "no live CTAs on the assigned accounts");
    assert_eq!(unowned, 0, "their live CTAs follow the new owner at once");
}

/// The first-day story: 2025 customers from a HubSpot export carry no stage. Without
/// usage nobody is judged "not adopted"; usage moves an adopted account's stage (on the
/// timeline) and leaves the one that never adopted to the rule.
#[tokio::test]
async fn stages_move_from_usage_and_only_real_non_adoption_fires() {
    let (dir, store) = temp_store().await;
    let today = test_day();
    let accounts = dir.path().join("companies.csv");
    std::fs::write(
        &accounts,
        "Record ID,Company name,Annual recurring revenue,Renewal Date,Became a Customer Date\n\
         7001,Adopted Co,50000,2027-06-01,2025-06-01\n\
         7002,Stalled Co,50000,2027-06-01,2025-06-01\n\
         7003,Quiet Co,50000,2027-06-01,2025-06-01\n",
    )
    .expect("write");
    let outcome = import(
        &store,
        &request(ImportKind::Accounts, &accounts, ImportMode::AllOrNothing),
        today,
        |_| {},
    )
    .await
    .expect("import");
    rescore(&store, outcome.touched, today, |_, _| {})
        .await
        .expect("rescore");
    for crm in ["7001", "7002", "7003"] {
        assert_eq!(by_crm(&store, crm).await.stage, Stage::Onboarding);
    }

    // Six weeks of usage: Adopted Co at 55 % of 100 seats, Stalled Co at 12 %.
    let mut usage = String::from(
        "Account ID,Week Start,Active Users,Licensed Seats,Logins,Key Feature Adoption\n",
    );
    for w in 0..6 {
        let week = NaiveDate::from_ymd_opt(2026, 10, 12).expect("day") + chrono::Duration::weeks(w);
        usage.push_str(&format!(
            "7001,{week},55,100,300,60\n7002,{week},12,100,40,20\n"
        ));
    }
    let usage_path = dir.path().join("usage.csv");
    std::fs::write(&usage_path, usage).expect("write");
    let outcome = import(
        &store,
        &request(ImportKind::Usage, &usage_path, ImportMode::AllOrNothing),
        today,
        |_| {},
    )
    .await
    .expect("import usage");
    rescore(&store, outcome.touched, today, |_, _| {})
        .await
        .expect("rescore");

    let adopted = by_crm(&store, "7001").await;
    assert_eq!(adopted.stage, Stage::Adopting);
    let (since, on): (Option<NaiveDate>, Option<NaiveDate>) =
        sqlx::query_as("SELECT stage_since, adopted_on FROM accounts WHERE id = ?")
            .bind(&adopted.id)
            .fetch_one(store.pool())
            .await
            .expect("dates");
    assert_eq!(since, Some(today));
    // The fourth week at 55 % (week of 2026-11-02) completed on 2026-11-08.
    assert_eq!(on, NaiveDate::from_ymd_opt(2026, 11, 8));
    let moved: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM timeline_entries WHERE account = (SELECT rowid FROM accounts WHERE id = ?) AND body LIKE 'Stage moved%'",
    )
    .bind(&adopted.id)
    .fetch_all(store.pool())
    .await
    .expect("timeline");
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        moved[0].starts_with("Stage moved: Onboarding → Adopted (adopted on 2026-11-08"),
        "{}",
        moved[0]
    );
    assert_eq!(by_crm(&store, "7002").await.stage, Stage::Onboarding);

    // Months later, a dry run: only the account whose usage shows no adoption fires.
    let later = today + chrono::Duration::days(200);
    let report = crate::rules::run::run(&store, None, later, true, "test")
        .await
        .expect("dry run");
    let fired: Vec<&str> = report
        .firings
        .iter()
        .filter(|f| f.rule == "Not adopted 90 days after contract")
        .map(|f| f.account_name.as_str())
        .collect();
    assert_eq!(fired, ["Stalled Co"]);
}

/// The check names each unknown owner with what it looks like; mapping one by hand (the
/// check step's "map to an existing person") assigns its accounts on that import, and a
/// mapping to nobody is refused, naming the value.
#[tokio::test]
async fn unknown_owners_are_listed_and_can_be_mapped_by_hand() {
    let (_dir, store) = temp_store().await;
    let path = fixture("salesforce_accounts.csv");
    let check = run(
        &store,
        &request(ImportKind::Accounts, &path, ImportMode::Check),
    )
    .await;
    let dana = check
        .unknown_owners
        .iter()
        .find(|o| o.value == "Dana Whitfield")
        .unwrap_or_else(|| panic!("{:?}", check.unknown_owners));
    assert_eq!(dana.looks_like, OwnerLooksLike::Name);
    assert!(dana.accounts > 0);
    let counts: Vec<u32> = check.unknown_owners.iter().map(|o| o.accounts).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "most accounts first: {counts:?}"
    );

    with_owners(&store).await;
    let omar: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'omar@riskdesk.example'")
            .fetch_one(store.pool())
            .await
            .expect("omar");
    // Dana's accounts go to Omar for this import, by hand.
    let mut req = request(ImportKind::Accounts, &path, ImportMode::AllOrNothing);
    req.owner_map = vec![OwnerMapping {
        value: "dana whitfield".into(),
        user_id: omar.clone(),
    }];
    let report = run(&store, &req).await;
    assert!(report.committed);
    let dana_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE owner_id = ?")
        .bind(&omar)
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert!(dana_rows >= dana.accounts as i64);

    req.owner_map[0].user_id = crate::new_id();
    let e = import(&store, &req, test_day(), |_| {})
        .await
        .expect_err("nobody");
    assert!(e.to_string().contains("dana whitfield"), "{e}");
}

#[test]
fn owner_values_are_told_apart() {
    assert_eq!(
        OwnerLooksLike::of("0055g0000000002AAA"),
        OwnerLooksLike::SalesforceId
    );
    assert_eq!(
        OwnerLooksLike::of("0055g000000000A"),
        OwnerLooksLike::SalesforceId
    );
    assert_eq!(OwnerLooksLike::of("81234567"), OwnerLooksLike::HubspotId);
    assert_eq!(
        OwnerLooksLike::of("dana@acme.example"),
        OwnerLooksLike::Email
    );
    assert_eq!(OwnerLooksLike::of("Dana Whitfield"), OwnerLooksLike::Name);
    assert_eq!(
        OwnerLooksLike::of("0015g00000AbCdEAA1"),
        OwnerLooksLike::Name
    );
}
