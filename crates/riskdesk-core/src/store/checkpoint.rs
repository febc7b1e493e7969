//! Folding the write-ahead log into the store file once the writer pauses, not inside a commit.
//!
//! SQLite's automatic checkpoint runs in whichever connection commits the transaction that
//! takes the log past 1,000 pages: that commit then copies every logged page into the
//! store file and waits for two `fsync`s. A 100K-account next day commits five times and
//! paid 0.4–0.6 s of its ~2.5 s that way, with the other core idle for I/O. The pool's
//! connections therefore never checkpoint; this thread does, with its own connection, a
//! moment after the log was last written ([`QUIET`]). A passive checkpoint never blocks a
//! reader or the writer, and the log is still folded in on close (`Store::close`).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};

/// How often the log is looked at. Short enough that a burst of commits leaves at most a
/// few tens of MB unfolded; long enough that an idle app does nothing measurable.
const EVERY: Duration = Duration::from_millis(200);

/// How long the log must have gone unwritten before it is folded in. Folding beside a
/// whole-book refresh took CPU from it when the machine had one core to give (3.8 % of a
/// 100K-account next day, perf) and copied pages the refresh was about to log again;
/// folded once it is done, the day's health part took ~7 % less on one core and ~5 % less
/// on two (README, the 2026-12-06 session). The log grows no larger for it: SQLite starts
/// it over only once a fold has caught up with the writer, which a busy writer never lets
/// happen (a next day's log reached ~190 MB either way).
const QUIET: Duration = Duration::from_millis(1000);

/// A log this large is folded even while written to (a long import), so it stays bounded.
const BUSY_LOG_BYTES: u64 = 256 << 20;

/// Owns the checkpoint thread; dropping it (with the last `Store` clone) stops it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let db = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("riskdesk-checkpoint".into())
            .spawn(move || run(&db, &rx));
        let stop = match handle {
            Ok(handle) => Some((tx, handle)),
            // Without the thread the log still folds in on close; the store stays usable.
            Err(error) => {
                tracing::warn!(%error, "the checkpoint thread did not start");
                None
            }
        };
        Checkpointer {
            stop: Mutex::new(stop),
        }
    }

    /// Stops the thread and waits for a checkpoint in progress to end.
    pub(crate) fn stop(&self) {
        let taken = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((tx, handle)) = taken {
            drop(tx);
            if handle.join().is_err() {
                tracing::warn!("the checkpoint thread panicked");
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(db: &Path, stop: &mpsc::Receiver<()>) {
    let wal = wal_path(db);
    let mut conn: Option<Connection> = None;
    let mut folded: Option<SystemTime> = None;
    loop {
        match stop.recv_timeout(EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            // Stopped (the sender dropped) or asked to stop.
            _ => return,
        }
        // The log's modification time moves with every commit; unchanged, nothing is new.
        let Ok((written, size)) =
            std::fs::metadata(&wal).and_then(|m| Ok((m.modified()?, m.len())))
        else {
            continue;
        };
        if folded == Some(written) {
            continue;
        }
        let quiet = SystemTime::now()
            .duration_since(written)
            .unwrap_or_default()
            >= QUIET;
        if !quiet && size < BUSY_LOG_BYTES {
            continue;
        }
        if conn.is_none() {
            conn = open(db)
                .map_err(|error| tracing::warn!(%error, "checkpoint connection"))
                .ok();
        }
        let Some(c) = conn.as_ref() else {
            continue;
        };
        match c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        }) {
            // Everything logged is in the store file: nothing to do until the next write.
            Ok((0, log, done)) if log == done => folded = Some(written),
            // A reader still needs older pages, or the writer moved on: try again shortly.
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "checkpoint");
                conn = None;
            }
        }
    }
}

fn open(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(1))?;
    Ok(conn)
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use crate::store::testing::temp_store;
    use std::time::{Duration, Instant};

    /// No commit folds the log itself: that is the thread's work.
    #[tokio::test]
    async fn commits_leave_the_log_to_the_checkpoint_thread() {
        let (_dir, store) = temp_store().await;
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(store.pool())
            .await
            .expect("read the setting");
        assert_eq!(pages, 0);
    }

    /// What a transaction logs reaches the store file while the store stays open, without
    /// anyone asking: a store that only ever writes never grows its log without bound.
    #[tokio::test]
    async fn the_log_is_folded_into_the_store_file_while_open() {
        let (dir, store) = temp_store().await;
        let mut tx = store.write().await.expect("begin");
        // ~4 MB: past the 1,000 pages after which SQLite would have folded it in the commit.
        sqlx::query("CREATE TABLE bulk AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) SELECT i, hex(randomblob(500)) AS v FROM n")
            .execute(&mut *tx)
            .await
            .expect("write");
        tx.commit().await.expect("commit");
        let (pages, size): (i64, i64) =
            sqlx::query_as("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size")
                .fetch_one(store.pool())
                .await
                .expect("size");
        let file = dir.path().join("riskdesk.db");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let len = std::fs::metadata(&file).expect("store file").len() as i64;
            if len >= pages * size {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the store file holds {len} of {} bytes 30 s after the commit",
                pages * size
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        store.close().await;
    }
}
