//! The change-capture triggers, generated from `riskdesk_sync::schema`: every write to a
//! synced table records its changed fields in `sync_outbox` in the writer's transaction.
//! A migration that adds or changes a synced table carries this generator's output (see
//! `migration_sql`); a test holds every shipped trigger to the schema, so capture and
//! what the server accepts can never drift apart. Shipped migrations are never rewritten.

use super::{account_sql, SyncTable};

const NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
/// A UUIDv7 change id: the HLC wall time in milliseconds, version 7, the RFC 4122
/// variant, 74 random bits.
const CHANGE_ID: &str = "printf('%08x-%04x-7%03x-%x%03x-%012x', (k.wall_ms >> 16) & 4294967295, k.wall_ms & 65535, random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655)";
const GATE: &str = "(SELECT recording = 1 AND applying = 0 FROM sync_clock)";

fn tick() -> String {
    format!(
        "    UPDATE sync_clock SET counter = CASE WHEN {NOW} > wall_ms THEN 0 ELSE counter + 1 END,\n        wall_ms = max(wall_ms, {NOW});"
    )
}

fn record(t: &SyncTable, only_changed: bool) -> String {
    let rows: Vec<String> = t
        .columns
        .iter()
        .map(|f| {
            let cond = if only_changed {
                format!(" WHERE new.{f} IS NOT old.{f}")
            } else {
                String::new()
            };
            format!("SELECT '{f}' AS field, json_quote(new.{f}) AS value{cond}")
        })
        .collect();
    format!(
        "    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)\n        SELECT {CHANGE_ID}, '{entity}', new.{id}, {account}, c.field, c.value, k.wall_ms, k.counter\n        FROM (\n            {union}\n        ) c, sync_clock k;",
        entity = t.name,
        id = t.id_column,
        account = account_sql(t, "new"),
        union = rows.join("\n            UNION ALL "),
    )
}

/// The insert, update and delete triggers of one synced table, by name.
pub fn triggers(t: &SyncTable) -> Vec<(String, String)> {
    let table = t.table;
    let old_account = account_sql(t, "old");
    vec![
        (
            format!("sync_{table}_insert"),
            format!(
                "CREATE TRIGGER sync_{table}_insert AFTER INSERT ON {table} WHEN {GATE} BEGIN\n{}\n{}\nEND;",
                tick(),
                record(t, false)
            ),
        ),
        (
            format!("sync_{table}_update"),
            format!(
                "CREATE TRIGGER sync_{table}_update AFTER UPDATE ON {table} WHEN {GATE} BEGIN\n{}\n{}\nEND;",
                tick(),
                record(t, true)
            ),
        ),
        (
            format!("sync_{table}_delete"),
            format!(
                "CREATE TRIGGER sync_{table}_delete AFTER DELETE ON {table} WHEN {GATE} BEGIN\n{}\n    INSERT INTO sync_outbox (change_id, entity, entity_id, account_id, field, value, wall_ms, counter)\n        SELECT {CHANGE_ID}, '{entity}', old.{id}, {old_account}, '_deleted', 'true', k.wall_ms, k.counter\n        FROM sync_clock k\n        -- A child removed with its parent needs no tombstone: the parent's carries it.\n        WHERE {old_account} IS NOT NULL;\nEND;",
                tick(),
                entity = t.name,
                id = t.id_column,
            ),
        ),
    ]
}

/// The SQL a migration carries to (re)create the capture of `tables`: drops of
/// `replacing` triggers first (tables whose synced columns changed).
pub fn migration_sql(tables: &[&SyncTable], replacing: &[&SyncTable]) -> String {
    let mut out = String::new();
    for t in replacing {
        for (name, _) in triggers(t) {
            out.push_str(&format!("DROP TRIGGER {name};\n"));
        }
    }
    for t in replacing.iter().chain(tables) {
        for (_, sql) in triggers(t) {
            out.push('\n');
            out.push_str(&sql);
            out.push('\n');
        }
    }
    out
}

/// SQL without comments and with white space folded: how a trigger is compared.
pub fn normalized(sql: &str) -> String {
    sql.lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(';')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;
    use crate::sync::TABLES;

    /// Every table and column of the local store that does not sync, and why. A new
    /// column fails `every_column_syncs_or_is_local_for_a_reason` until it is added to the
    /// schema (and a migration captures it) or listed here.
    const LOCAL_ONLY: &[(&str, &str, &str)] = &[
        ("account_health", "*", "derived: each device scores the accounts whose data it holds"),
        ("account_priority", "*", "derived: ranks are recomputed on every device"),
        ("health_history", "*", "derived score history"),
        ("health_history_packed", "*", "derived score history, sealed"),
        ("history_days", "*", "the days the device's own score history holds"),
        ("history_scorecards", "*", "numbers for scorecards in the device's own history"),
        ("history_bands", "*", "numbers for band names in the device's own history"),
        ("health_state", "*", "derived: what scoring carries from day to day"),
        ("risk_daily", "*", "derived dashboard aggregate"),
        ("signals", "*", "derived from the account's data"),
        ("contacts", "*", "the account's data feeds stay on the device that imports them (synced accounts are not scored elsewhere)"),
        ("usage_packed", "*", "an account's data feed, as contacts"),
        ("usage_summary", "*", "derived from the device's usage feed"),
        ("usage_epoch", "*", "counts the device's own writes to its usage feed"),
        ("feed_summary", "*", "derived from the device's ticket, NPS and contact feeds"),
        ("feed_epoch", "*", "counts the device's own writes to those feeds"),
        ("tickets", "*", "an account's data feed, as contacts"),
        ("nps_responses", "*", "an account's data feed, as contacts"),
        ("timeline_entries", "*", "the device's own log of calls and system events"),
        ("last_touch", "*", "derived from the device's own timeline"),
        ("measure_overrides", "*", "a CSM's judgment applies where the account is scored"),
        ("imports", "*", "this device's import history"),
        ("refresh_pending", "*", "derived work this device owes after a change"),
        ("rule_runs", "*", "this device's rule run log"),
        ("rules", "*", "rules run on the device that holds an account's data"),
        ("scorecards", "*", "scoring configuration of the device that scores"),
        ("config", "*", "this device's settings"),
        ("local_settings", "*", "this device's settings and sync state"),
        ("settings_version", "*", "counts this store's settings writes, so it re-reads them only after one (store/cache.rs)"),
        ("risk_categories", "*", "category owners are configured per store"),
        ("fx_rates", "*", "reference data every store ships with"),
        ("sync_clock", "*", "sync's own state"),
        ("sync_outbox", "*", "sync's own state"),
        ("sync_records", "*", "sync's own state"),
        ("sync_remote", "*", "sync's own state"),
        ("sync_conflicts", "*", "sync's own state"),
        ("sync_set_aside", "*", "sync's own state"),
        ("sync_fields", "*", "sync's own state (before migration 0010)"),
        ("sync_pending", "*", "sync's own state (before migration 0010)"),
        ("accounts_search", "*", "search index, rebuilt from accounts"),
        ("sqlite_sequence", "*", "SQLite's own"),
        ("_sqlx_migrations", "*", "the migration log"),
    ];

    #[tokio::test]
    async fn shipped_capture_triggers_are_the_schemas() {
        let (_dir, store) = temp_store().await;
        for t in TABLES {
            for (name, expected) in triggers(t) {
                let shipped: Option<String> = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                )
                .bind(&name)
                .fetch_optional(store.pool())
                .await
                .expect("read triggers");
                let shipped = shipped.unwrap_or_else(|| {
                    panic!("no trigger {name}: a migration must capture {}", t.name)
                });
                assert_eq!(normalized(&shipped), normalized(&expected), "{name}");
            }
        }
    }

    #[tokio::test]
    async fn every_column_syncs_or_is_local_for_a_reason() {
        let (_dir, store) = temp_store().await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'accounts_search_%'",
        )
        .fetch_all(store.pool())
        .await
        .expect("tables");
        let mut unexplained = Vec::new();
        for table in tables {
            if LOCAL_ONLY.iter().any(|(t, c, _)| *t == table && *c == "*") {
                continue;
            }
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                .bind(&table)
                .fetch_all(store.pool())
                .await
                .expect("columns");
            let synced = TABLES.iter().find(|t| t.table == table);
            for column in columns {
                let ok = synced
                    .is_some_and(|t| t.id_column == column || t.columns.contains(&column.as_str()))
                    || LOCAL_ONLY
                        .iter()
                        .any(|(t, c, _)| *t == table && *c == column);
                if !ok {
                    unexplained.push(format!("{table}.{column}"));
                }
            }
        }
        assert!(
            unexplained.is_empty(),
            "neither synced nor local-only with a reason: {unexplained:?}"
        );
        assert!(LOCAL_ONLY.iter().all(|(_, _, why)| !why.is_empty()));
    }

    /// Prints a migration's trigger SQL: `RISKDESK_CAPTURE_OUT=file cargo test -p
    /// riskdesk-core write_capture_sql -- --ignored`, with the tables named in the test.
    #[test]
    #[ignore = "a tool for writing a new migration, not a check"]
    fn write_capture_sql() {
        let find = |name: &str| TABLES.iter().find(|t| t.name == name).expect("entity");
        let sql = migration_sql(&[], &[find("account")]);
        let out = std::env::var("RISKDESK_CAPTURE_OUT").expect("RISKDESK_CAPTURE_OUT");
        std::fs::write(out, sql).expect("write");
    }
}
