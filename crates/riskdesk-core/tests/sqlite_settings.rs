//! Process-wide SQLite settings a store makes when it is the first to use SQLite, as in
//! the app and the command line (its own test binary: in the library's, another test may
//! start SQLite first, and then the setting is refused).

use riskdesk_core::Store;

/// Memory statistics are off: SQLite then takes no process-wide mutex per allocation, and
/// reports no memory in use however much it allocates.
#[tokio::test]
async fn the_first_store_turns_off_sqlites_memory_statistics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("riskdesk.db"))
        .await
        .expect("open");
    sqlx::query("CREATE TABLE u AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT hex(randomblob(500)) AS v FROM n")
        .execute(store.pool())
        .await
        .expect("allocate");
    // SAFETY: reads a counter.
    let used = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    assert_eq!(used, 0, "memory statistics are kept");
    store.close().await;
}
