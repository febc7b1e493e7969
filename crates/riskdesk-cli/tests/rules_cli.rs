//! What a CS Ops admin does with rules from a terminal: keep them in a file, move them to
//! another store with the plan shown first, switch one off, preview every firing; and a
//! mistyped store path is an error, never a new empty store.

use std::path::Path;
use std::process::{Command, Output};

fn riskdesk(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskdesk"))
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("riskdesk")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn demo(db: &Path) {
    ok(riskdesk(
        &["demo", "--accounts", "120", "--history-weeks", "0"],
        db,
    ));
}

#[test]
fn rules_round_trip_through_a_file_between_stores() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    demo(&a);
    demo(&b);
    ok(riskdesk(&["rules", "disable", "NPS detractor"], &a));
    let exported = ok(riskdesk(&["rules", "export"], &a));
    let file = dir.path().join("rules.json");
    std::fs::write(&file, &exported).expect("write");
    let path = file.to_str().expect("path");

    // The plan first: one rule differs (disabled in a), nothing written.
    let plan = ok(riskdesk(&["rules", "import", path], &b));
    assert!(plan.contains("~ NPS detractor (disabled)"), "{plan}");
    assert!(plan.contains("Run again with --apply"), "{plan}");
    assert_ne!(ok(riskdesk(&["rules", "export"], &b)), exported);

    let done = ok(riskdesk(&["rules", "import", path, "--apply"], &b));
    assert!(
        done.contains("Imported: 0 added, 1 changed, 0 removed"),
        "{done}"
    );
    assert_eq!(
        ok(riskdesk(&["rules", "export"], &b)),
        exported,
        "unchanged round trip"
    );
    let again = ok(riskdesk(&["rules", "import", path], &b));
    assert!(again.starts_with("Nothing to change"), "{again}");

    // A broken file is refused with where it broke, and nothing is written.
    std::fs::write(
        &file,
        exported.replace("\"enabled\": true", "\"enabled\": 1"),
    )
    .expect("write");
    let bad = riskdesk(&["rules", "import", path, "--apply"], &b);
    assert!(!bad.status.success());
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(why.contains("rules file") && why.contains("line"), "{why}");

    let missing = riskdesk(&["rules", "disable", "No such rule"], &b);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no rule is called “No such rule”"));
}

#[test]
fn a_dry_run_lists_every_firing_with_counts_per_rule() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("a.db");
    demo(&db);
    let json: serde_json::Value =
        serde_json::from_str(&ok(riskdesk(&["rules", "run", "--dry-run", "--json"], &db)))
            .expect("json");
    let listed = json["firings"].as_array().expect("firings").len() as u64;
    let left_out = json["firings_left_out"].as_u64().expect("left out");
    let per_rule: u64 = json["by_rule"]
        .as_array()
        .expect("by rule")
        .iter()
        .map(|c| {
            c["created"].as_u64().unwrap_or(0)
                + c["already_open"].as_u64().unwrap_or(0)
                + c["suppressed"].as_u64().unwrap_or(0)
                + c["closed"].as_u64().unwrap_or(0)
        })
        .sum();
    assert!(listed > 0);
    assert_eq!(
        listed + left_out,
        per_rule,
        "every firing is listed or counted"
    );
    let text = ok(riskdesk(&["rules", "run", "--dry-run"], &db));
    let creates = text
        .lines()
        .filter(|l| l.trim_start().starts_with("[create]"))
        .count() as u64;
    assert_eq!(
        creates,
        json["created"].as_u64().expect("created"),
        "every firing printed"
    );
    assert!(text.contains("ALREADY OPEN"), "{text}");
}

#[test]
fn commands_refuse_a_store_that_is_not_there() {
    let dir = tempfile::tempdir().expect("dir");
    let typo = dir.path().join("stroe.db");
    let csv = dir.path().join("accounts.csv");
    std::fs::write(&csv, "Account Name,ARR\nAcme,1000\n").expect("csv");
    let csv = csv.to_str().expect("path");
    for args in [
        vec!["import", "accounts", csv, "--check"],
        vec!["import", "accounts", csv],
        vec!["ctas"],
        vec!["rules", "export"],
        vec!["people", "list"],
        vec!["compact"],
    ] {
        let out = riskdesk(&args, &typo);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no store at"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!typo.exists(), "{args:?} created a store");
    }
}

#[test]
fn ctas_show_account_names_and_take_an_owner_by_email() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("a.db");
    demo(&db);
    ok(riskdesk(&["rules", "run"], &db));
    let people = ok(riskdesk(&["people", "list", "--json"], &db));
    let people: serde_json::Value = serde_json::from_str(&people).expect("json");
    let csm = people
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["role"] == "csm" && p["accounts"].as_u64().unwrap_or(0) > 0)
        .expect("a CSM with accounts");
    let email = csm["email"].as_str().expect("email");
    let list = ok(riskdesk(&["ctas", "--owner", email], &db));
    let mut lines = list.lines();
    let header = lines.next().expect("header");
    assert!(header.starts_with("ACCOUNT"), "{header}");
    let reason_at = header.find("REASON").expect("reason column");
    let rows: Vec<&str> = lines.filter(|l| !l.ends_with("live CTAs")).collect();
    assert!(!rows.is_empty(), "{list}");
    for row in &rows {
        // Aligned: every row's reason starts under the header's.
        let chars: Vec<char> = row.chars().collect();
        assert!(chars.len() > reason_at, "{row}");
        assert_eq!(chars[reason_at - 1], ' ', "{row}");
        assert_ne!(chars[reason_at], ' ', "{row}");
        assert!(row.contains(csm["name"].as_str().expect("name")), "{row}");
    }
}

#[test]
fn a_command_leaves_the_store_whole_in_its_one_file() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("book.db");
    demo(&db);
    ok(riskdesk(&["rules", "disable", "NPS detractor"], &db));
    ok(riskdesk(&["rules", "run"], &db));
    // Closed cleanly: the log was folded into the file, so copying the .db alone copies
    // everything the commands wrote.
    let wal = dir.path().join("book.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "a write-ahead log was left behind"
    );
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).expect("copy");
    let exported = ok(riskdesk(&["rules", "export"], &copy));
    assert!(exported.contains("NPS detractor"), "{exported}");
    let rules: serde_json::Value = serde_json::from_str(&exported).expect("json");
    let detractor = rules["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "NPS detractor"))
        .cloned()
        .expect("rule");
    assert_eq!(detractor["enabled"], false, "{detractor}");
}

#[test]
fn compacting_a_store_keeps_what_it_holds() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("book.db");
    demo(&db);
    ok(riskdesk(&["rules", "disable", "NPS detractor"], &db));
    let before = ok(riskdesk(&["rules", "export"], &db));
    let said = ok(riskdesk(&["compact"], &db));
    assert!(said.starts_with("Compacted "), "{said}");
    assert!(said.contains(" MB -> "), "{said}");
    assert_eq!(ok(riskdesk(&["rules", "export"], &db)), before);
}
