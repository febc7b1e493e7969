//! The local SQLite store. Every write goes through the functions of this module, one
//! path per entity, inside a transaction the caller holds, so a later sync layer can
//! record each change in that same transaction.

pub mod accounts;
pub mod activity;
pub(crate) mod ahead;
mod cache;
mod checkpoint;
pub(crate) mod keys;
pub mod people;
pub(crate) mod reader;
pub(crate) use activity::with_rows;
pub use reader::Span;
pub mod settings;
pub(crate) mod usage_weeks;
pub(crate) mod varint;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite, SqlitePool};

use crate::{Error, Result};

pub use accounts::{AccountDetail, AccountPage, AccountQuery, AccountRow, AccountSort, Currency};

/// A write transaction, begun with `BEGIN IMMEDIATE` so it never fails mid-way upgrading
/// from a read lock.
pub type Tx = sqlx::Transaction<'static, Sqlite>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Turns off SQLite's memory statistics, once, before its first connection (it takes such
/// settings only before it starts; a later call is refused and changes nothing). With them
/// on, every allocation SQLite makes takes one process-wide mutex, and a whole-book
/// refresh allocates on the bulk reader's thread and the writer's at once: profiled on a
/// 100K-account next day, the writer spent 14 % of its time locking and unlocking it.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a process-wide setting taken before SQLite initializes (or refused with
        // SQLITE_MISUSE, changing nothing); it touches no Rust memory.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite had started: its memory statistics stay on");
        }
    });
}

/// The page size of a store created from now on. A whole-book refresh reads most of the
/// store through the kernel in page-sized reads and rewrites rows all over the current
/// health, state and rank tables: on a 100K-account book, 16 KB pages instead of SQLite's
/// default 4 KB took ~15 % off a next day's CPU and wall time (README, the 2026-12-04
/// sixth session). Larger pages took little more off it and slowed the first page of the
/// accounts list, where each row fetched is a page read. An existing store keeps the size
/// it was created with (SQLite changes it only by a VACUUM outside WAL mode), so for it
/// this is a no-op.
pub const PAGE_SIZE: u32 = 16_384;

/// How much of the store file SQLite reads through a memory map instead of `read` calls.
/// A whole-book refresh reads every account's rows: through `pread` the kernel copied each
/// page into SQLite's cache, 8.9 % of a 100K-account next day's CPU on one core (perf);
/// mapped, that fell to 1.9 % and the day's health part took ~2–4 % less time (README, the
/// 2026-12-06 session). Pages the log holds are still read from it. The value is SQLite's
/// own ceiling (`SQLITE_MAX_MMAP_SIZE`); a larger store reads the rest as before. The
/// mapping is the kernel's file cache, shared, so it is counted in the resident size
/// without costing memory of its own.
///
/// Not on Windows: there a file mapped by one connection cannot be shortened by another,
/// so compacting the store (a VACUUM on its own connection) would fail while the pool's
/// connections hold their maps.
pub(crate) const MMAP_SIZE: i64 = if cfg!(windows) { 0 } else { 0x7fff_0000 };

/// The pool every store is opened with: WAL, foreign keys on, a generous page cache.
async fn connect(path: &Path) -> Result<SqlitePool> {
    without_memory_statistics();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.display().to_string(),
            source,
        })?;
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .page_size(PAGE_SIZE)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory")
        .pragma("mmap_size", MMAP_SIZE.to_string())
        // The checkpoint thread folds the log in (see `checkpoint`), never a commit.
        .pragma("wal_autocheckpoint", "0");
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Rewrites a store created with other pages (4 KB, before [`PAGE_SIZE`]) at that size,
/// keeping every row; returns the size it had, or None when it had the size already. It
/// needs the store to itself: SQLite changes the page size only by a VACUUM outside WAL
/// mode, and leaves WAL mode only with no other connection open, so a store open
/// elsewhere (the app running) is refused, unchanged. Takes about as long as copying the
/// file, and that much free space while it runs.
pub fn repage(path: &Path) -> Result<Option<u32>> {
    let failed = |source| Error::Write {
        what: "changing the store's page size",
        source,
    };
    if !path.is_file() {
        return Err(Error::NotFound {
            entity: "store",
            id: path.display().to_string(),
        });
    }
    // With another connection open SQLite says the store is locked, or answers with the
    // mode it stays in. A connection closing as this starts (the app just quit) is given
    // about two seconds to go; each try opens afresh, as a refused switch can leave its
    // connection unable to make the next.
    let mut tries = 0;
    let (conn, size) = loop {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        conn.busy_timeout(Duration::from_millis(200))
            .map_err(failed)?;
        let size: u32 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(failed)?;
        if size == PAGE_SIZE {
            return Ok(None);
        }
        let mode = match conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        }) {
            Ok(mode) => Some(mode),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                None
            }
            Err(e) => return Err(failed(e)),
        };
        if mode.is_some_and(|m| m.eq_ignore_ascii_case("delete")) {
            break (conn, size);
        }
        drop(conn);
        tries += 1;
        if tries >= 10 {
            return Err(Error::invalid(
                "store",
                format!(
                    "{} is open elsewhere (close Riskdesk first)",
                    path.display()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // A VACUUM is one transaction: if it fails the store is as it was. WAL mode comes back
    // either way.
    let vacuumed = conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}; VACUUM;"));
    let back: rusqlite::Result<String> =
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0));
    vacuumed.map_err(failed)?;
    back.map_err(failed)?;
    Ok(Some(size))
}

/// The largest store the app gives [`PAGE_SIZE`] pages as it starts, before opening it: a
/// repage takes about as long as copying the file (3.5 s for a 587 MB 100K-account book,
/// well under a second for a 2,500-account one), and the window waits for it. A larger
/// store keeps its pages until `riskdesk compact` is run with the app closed.
pub const REPAGE_AT_START_BYTES: u64 = 256 * 1024 * 1024;

/// What [`repage_at_start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repaged {
    /// No store yet, or it has [`PAGE_SIZE`] pages already.
    Nothing,
    /// Rewritten with [`PAGE_SIZE`] pages; it had these.
    From(u32),
    /// Larger than [`REPAGE_AT_START_BYTES`]: left for `riskdesk compact`.
    TooLarge(u64),
}

/// Run where a store is opened for the day (the app's start): a store made with other
/// pages, small enough to rewrite at once, is given [`PAGE_SIZE`] pages first. An error
/// (the store open in the command line, a full disk) leaves the store as it was; the
/// caller logs it and opens the store anyway.
pub fn repage_at_start(path: &Path) -> Result<Repaged> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(Repaged::Nothing);
    };
    if meta.len() > REPAGE_AT_START_BYTES {
        let size: u32 = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| c.query_row("PRAGMA page_size", [], |r| r.get(0)))
        .map_err(|source| Error::Write {
            what: "reading the store's page size",
            source,
        })?;
        return Ok(match size == PAGE_SIZE {
            true => Repaged::Nothing,
            false => Repaged::TooLarge(meta.len()),
        });
    }
    Ok(repage(path)?.map_or(Repaged::Nothing, Repaged::From))
}

/// SQLite allows at most 32766 bound variables per statement; stay well below it.
pub(crate) const MAX_VARIABLES: usize = 30_000;

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    reader: reader::Reader,
    cache: cache::Cache,
    checkpointer: Arc<checkpoint::Checkpointer>,
    /// Held by a sync round: the background round and "Sync now" would otherwise push the
    /// same outbox page and apply the same pulled records twice.
    sync_round: Turn,
    /// Held by a refresh (or a rule run): two at once judge against the same stored
    /// results and both write what changed, the second failing on what the first wrote.
    deriving: Turn,
}

/// One task at a time, in this process and in any other on the same store (the app and a
/// scheduled `riskdesk import`); the others wait for their turn.
#[derive(Clone, Debug, Default)]
struct Turn {
    task: Arc<tokio::sync::Mutex<()>>,
    /// A file beside the store, locked while the turn is held: the OS releases the lock
    /// when the holder closes it or dies. (Never the store file itself: closing another
    /// handle on it would drop SQLite's own locks.)
    file: Option<std::path::PathBuf>,
}

/// Held while it is the holder's turn.
pub(crate) struct TurnGuard {
    _task: tokio::sync::OwnedMutexGuard<()>,
    _file: Option<std::fs::File>,
}

impl Turn {
    fn beside(store: &Path, what: &str) -> Turn {
        let mut name = store.as_os_str().to_owned();
        name.push(format!("-{what}.lock"));
        Turn {
            task: Default::default(),
            file: Some(name.into()),
        }
    }

    async fn take(&self) -> TurnGuard {
        let task = Arc::clone(&self.task).lock_owned().await;
        let file = match self.file.clone() {
            None => None,
            Some(path) => {
                let locked =
                    tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
                        let file = std::fs::OpenOptions::new()
                            .create(true)
                            .truncate(false)
                            .write(true)
                            .open(&path)?;
                        file.lock()?;
                        Ok(file)
                    })
                    .await;
                match locked.map_err(std::io::Error::other).and_then(|file| file) {
                    Ok(file) => Some(file),
                    // A folder that cannot hold the file (read-only media) still works,
                    // one process at a time being then the user's to keep.
                    Err(error) => {
                        tracing::warn!(%error, "no lock file beside the store: other processes are not kept out");
                        None
                    }
                }
            }
        };
        TurnGuard {
            _task: task,
            _file: file,
        }
    }
}

impl Store {
    /// Opens (creating if missing) the store at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Store> {
        let pool = connect(path).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            reader: reader::Reader::new(path),
            cache: Default::default(),
            checkpointer: Arc::new(checkpoint::Checkpointer::start(path)),
            sync_round: Turn::beside(path, "sync"),
            deriving: Turn::beside(path, "refresh"),
        })
    }

    /// A store brought only up to the migrations before `version`: what a device that
    /// has not upgraded yet holds, for upgrade tests.
    #[cfg(test)]
    pub(crate) async fn open_before(path: &Path, version: i64) -> Result<Store> {
        let pool = connect(path).await?;
        let older: Vec<sqlx::migrate::Migration> = MIGRATOR
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect();
        let migrator = sqlx::migrate::Migrator {
            migrations: older.into(),
            ignore_missing: false,
            locking: true,
            no_tx: false,
        };
        migrator.run(&pool).await?;
        Ok(Store {
            pool,
            reader: reader::Reader::new(path),
            cache: Default::default(),
            checkpointer: Arc::new(checkpoint::Checkpointer::start(path)),
            sync_round: Turn::beside(path, "sync"),
            deriving: Turn::beside(path, "refresh"),
        })
    }

    /// Waits for any other sync round on this store to end; the round runs while the guard
    /// is held.
    pub(crate) async fn sync_round(&self) -> TurnGuard {
        self.sync_round.take().await
    }

    /// Whether a sync round of this process holds its turn now (a round asked for says it
    /// waits).
    pub(crate) fn sync_round_busy(&self) -> bool {
        self.sync_round.task.try_lock().is_err()
    }

    /// Waits for any refresh or rule run on this store to end; this one runs while the
    /// guard is held. Not reentrant: a holder calls the steps, never another run.
    pub(crate) async fn deriving(&self) -> TurnGuard {
        self.deriving.take().await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs a bulk read on the store's synchronous read connection, off the async runtime.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        self.reader.read(f).await
    }

    /// Begins a write transaction.
    pub async fn write(&self) -> Result<Tx> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes every connection with the write-ahead log folded into the store file, so a
    /// copy of the `.db` alone holds everything written.
    ///
    /// SQLite checkpoints on the last connection's close only when that close gets an
    /// exclusive lock; two pool connections closing at once (one returned by a task that
    /// just finished) can each see the other and both skip it. So the log is emptied
    /// explicitly first, while this is the only connection reading.
    pub async fn close(&self) {
        self.checkpointer.stop();
        self.reader.close();
        if !self.pool.is_closed() {
            let folded: std::result::Result<(i64, i64, i64), sqlx::Error> =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&self.pool)
                    .await;
            match folded {
                Ok((0, _, _)) => {}
                Ok((busy, log, done)) => tracing::warn!(
                    busy,
                    log,
                    done,
                    "closing the store: the write-ahead log could not be emptied"
                ),
                Err(error) => tracing::warn!(%error, "closing the store: checkpoint failed"),
            }
        }
        self.pool.close().await;
    }

    /// Rewrites the store file without its free pages. Deleted rows, dropped tables and an
    /// upgrade that rebuilt a table (history by day) leave pages SQLite reuses but never
    /// returns to the disk; this returns them. It takes as long as copying the file and
    /// briefly needs that much free space again, so it is a command a person runs, never
    /// automatic.
    pub async fn compact(&self) -> Result<Compaction> {
        // No sync round or refresh writes while the file is rewritten (they would wait
        // out their busy timeout on a big store). Taken in the order a sync round takes
        // them (its pulled pages finish owed refreshes).
        let _round = self.sync_round().await;
        let _turn = self.deriving().await;
        let before = self.size().await?;
        let started = std::time::Instant::now();
        self.reader.close();
        // Its own connection: a VACUUM is slow by nature, and sqlx would warn of it as a
        // slow statement in the user's log.
        let options = (*self.pool.connect_options())
            .clone()
            .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(1));
        let mut conn = options.connect().await?;
        let vacuumed = sqlx::query("VACUUM").execute(&mut conn).await;
        conn.close().await?;
        vacuumed?;
        Ok(Compaction {
            before,
            after: self.size().await?,
            millis: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// How big the store file is and how much of it compacting would give back.
    pub async fn size(&self) -> Result<StoreSize> {
        let (page_size, pages, free): (i64, i64, i64) = sqlx::query_as(
            "SELECT page_size, page_count, freelist_count \
             FROM pragma_page_size, pragma_page_count, pragma_freelist_count",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoreSize {
            bytes: page_size * pages,
            free_bytes: page_size * free,
        })
    }

    /// Names of the applied migrations, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT description FROM _sqlx_migrations WHERE success = 1 ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }
}

/// The store file's size (its write-ahead log aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StoreSize {
    pub bytes: i64,
    /// Bytes of free pages: what compacting returns to the disk.
    pub free_bytes: i64,
}

/// What compacting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Compaction {
    pub before: StoreSize,
    pub after: StoreSize,
    pub millis: i64,
}

/// Inserts `rows` in batched multi-row statements. Batches of equal size produce the same
/// SQL, so SQLite's prepared statement is reused across them.
pub(crate) async fn insert_batched<T>(
    tx: &mut Tx,
    head: &str,
    columns: usize,
    tail: &str,
    rows: &[T],
    mut bind: impl FnMut(&mut sqlx::query_builder::Separated<'_, '_, Sqlite, &'static str>, &T),
) -> Result<()> {
    let per_batch = (MAX_VARIABLES / columns).clamp(1, 500);
    for chunk in rows.chunks(per_batch) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(head);
        qb.push_values(chunk, |mut b, row| bind(&mut b, row));
        qb.push(tail);
        qb.build().persistent(true).execute(&mut **tx).await?;
    }
    Ok(())
}

/// `at` as sqlx binds a time, made once for a batch's rows (formatting it per row was a
/// visible share of a recompute), for the writes made through rusqlite.
pub(crate) fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// Runs `write` on the transaction's own connection through rusqlite, inside the same
/// transaction: for a hot bulk write, where sqlx's per-row cost (values handed to its
/// worker thread, a statement rebuilt per batch of rows) is a visible share (a 100K-account
/// next day's `account_health` and `health_state` rows: 1.2-1.5 s -> 1.1-1.3 s). `what`
/// names the write in an error.
pub(crate) async fn write_raw<T>(
    tx: &mut Tx,
    what: &'static str,
    write: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T> {
    let mut handle = tx.lock_handle().await?;
    let raw = handle.as_raw_handle();
    // SAFETY: sqlx and rusqlite link the same libsqlite3-sys (one `sqlite3` type); while
    // `handle` lives sqlx's worker makes no call on this connection, and a connection made
    // `from_handle` never closes it (its statements are finalized when it drops, below,
    // before the handle is released).
    let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }
        .map_err(|source| Error::Write { what, source })?;
    let out = write(&conn).map_err(|source| Error::Write { what, source });
    drop(conn);
    drop(handle);
    out
}

/// Appends ` IN (?, ?, …)` binding each id.
pub(crate) fn in_list<'a>(qb: &mut QueryBuilder<'a, Sqlite>, ids: &'a [String]) {
    qb.push(" IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    qb.push(")");
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Store;

    /// A store on a real file in a fresh temporary directory.
    pub async fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("riskdesk.db"))
            .await
            .expect("open store");
        (dir, store)
    }

    /// Every usage week the store holds: (account id, week), in account and week order.
    pub async fn usage_weeks(store: &Store) -> Vec<crate::model::UsageWeek> {
        let held: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT a.id, u.weeks FROM usage_packed u JOIN accounts a ON a.rowid = u.account ORDER BY a.id",
        )
        .fetch_all(store.pool())
        .await
        .expect("usage");
        held.iter()
            .flat_map(|(id, bytes)| super::usage_weeks::unpack(bytes, id).expect("weeks read back"))
            .collect()
    }

    /// The day every test book is "today".
    pub fn test_day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default()
    }

    /// A synthetic book of `n` accounts with `weeks` of health history (0: scored today
    /// only) and the rules run once: the state most tests start from.
    pub async fn worked_book(n: usize, seed: u64, weeks: u32) -> (tempfile::TempDir, Store) {
        let (dir, store) = temp_store().await;
        let today = test_day();
        crate::book::load(
            &store,
            &crate::book::BookSpec::new(n, seed, today),
            |_, _| {},
        )
        .await
        .expect("book");
        if weeks > 0 {
            crate::health::initialize(&store, today, weeks, 14)
                .await
                .expect("history");
        } else {
            crate::health::recompute(&store, None, today, |_, _| {})
                .await
                .expect("score");
        }
        crate::rules::run::run(&store, None, today, false, "test")
            .await
            .expect("rules");
        (dir, store)
    }
}

#[cfg(test)]
pub(crate) mod tests;
