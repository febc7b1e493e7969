//! A synchronous read connection for bulk reads.
//!
//! sqlx hands every row across a worker thread as owned values; reading a whole book's
//! usage that way costs several times what SQLite itself does. Bulk reads (a refresh's
//! facts) run on this plain connection on a blocking thread instead. It only reads, so
//! writes keep going through the pool's transactions; under WAL it sees what they commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use crate::{Error, Result};

/// Read connections: a whole-book refresh reads two batches at once (one on each), so its
/// reading (the longest part of its path) is not held to one thread's share of the cores
/// it shares with the judging and the writing.
const CONNECTIONS: usize = 2;

#[derive(Clone, Debug)]
pub(crate) struct Reader {
    path: PathBuf,
    conns: Arc<[Mutex<Option<Connection>>; CONNECTIONS]>,
    /// Where a read that finds every connection busy waits its turn.
    next: Arc<std::sync::atomic::AtomicUsize>,
}

impl Reader {
    pub(crate) fn new(path: &Path) -> Self {
        Reader {
            path: path.to_path_buf(),
            conns: Arc::new(std::array::from_fn(|_| Mutex::new(None))),
            next: Default::default(),
        }
    }

    fn open(path: &Path) -> rusqlite::Result<Connection> {
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -32768; PRAGMA temp_store = memory; PRAGMA mmap_size = {};",
            super::MMAP_SIZE
        ))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Statements are traced only when someone listens (the index test does): SQLite
        // formats each traced statement, which a bulk read should not pay for otherwise.
        if tracing::enabled!(target: "riskdesk_core::read", tracing::Level::TRACE) {
            conn.trace(Some(traced));
        }
        Ok(conn)
    }

    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            // A free connection, else one in turn. A panic elsewhere while holding the
            // lock leaves a usable connection.
            let free = this.conns.iter().find_map(|c| match c.try_lock() {
                Ok(guard) => Some(guard),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            });
            let mut guard = match free {
                Some(guard) => guard,
                None => {
                    let turn = this.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    this.conns[turn % CONNECTIONS]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                }
            };
            if guard.is_none() {
                *guard = Some(Self::open(&this.path).map_err(|e| read_error(&this.path, e))?);
            }
            match guard.as_ref() {
                Some(conn) => f(conn).map_err(|e| read_error(&this.path, e)),
                None => Err(Error::invalid("store", "the read connection did not open")),
            }
        })
        .await
        .map_err(|e| Error::invalid("store read", e.to_string()))?
    }

    /// Drops the connection (it reopens on the next read).
    pub(crate) fn close(&self) {
        for conn in self.conns.iter() {
            *conn.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

fn traced(sql: &str) {
    tracing::trace!(target: "riskdesk_core::read", sql);
}

fn read_error(path: &Path, source: rusqlite::Error) -> Error {
    Error::Read {
        path: path.display().to_string(),
        source,
    }
}

/// Which accounts a bulk read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Exactly the ids given (at most a few hundred at a time).
    List,
    /// Every account from the first id to the last: the ids are a sorted, contiguous slice
    /// of the book, so each table is read as one index range in account order. Rows of
    /// accounts in the range but not in the slice (mirrored from another device) are the
    /// reader's to skip.
    Range,
}

/// The account predicate of a bulk read: `{accounts}` in a query's text becomes
/// ` BETWEEN ?1 AND ?2` or ` IN (?, …)`, with the parameters to match.
pub(crate) struct Accounts<'a> {
    predicate: String,
    params: Vec<&'a str>,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(ids: &'a [String], span: Span) -> Self {
        match (span, ids.first(), ids.last()) {
            (Span::Range, Some(first), Some(last)) => Accounts {
                predicate: " BETWEEN ?1 AND ?2".into(),
                params: vec![first.as_str(), last.as_str()],
            },
            _ => Accounts {
                predicate: format!(" IN ({})", vec!["?"; ids.len()].join(", ")),
                params: ids.iter().map(String::as_str).collect(),
            },
        }
    }

    /// Runs `sql` (with `{accounts}` after the account column) and hands each row to `row`.
    pub(crate) fn each(
        &self,
        conn: &Connection,
        sql: &str,
        mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached(&sql.replace("{accounts}", &self.predicate))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(self.params.iter()))?;
        while let Some(r) = rows.next()? {
            row(r)?;
        }
        Ok(())
    }
}

/// Runs `sql` over the tables keyed by `accounts.rowid` for the accounts on `rows`
/// (ascending): `{rows}` after the account column becomes one row-number range when they
/// are about as many as it spans (a book loaded in order) and `range_ok` allows rows of
/// others inside it, else a list.
pub(crate) fn each_keyed(
    conn: &Connection,
    rows: &[i64],
    range_ok: bool,
    sql: &str,
    mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) else {
        return Ok(());
    };
    let (predicate, params): (&str, Vec<rusqlite::types::Value>) =
        if range_ok && (hi - lo) as usize <= rows.len() * 2 {
            (" BETWEEN ?1 AND ?2", vec![lo.into(), hi.into()])
        } else {
            let list = serde_json::to_string(rows).unwrap_or_default();
            (" IN (SELECT value FROM json_each(?1))", vec![list.into()])
        };
    let mut stmt = conn.prepare_cached(&sql.replace("{rows}", predicate))?;
    let mut found = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(r) = found.next()? {
        row(r)?;
    }
    Ok(())
}

/// A `YYYY-MM-DD` column as a date, read without a format parser (a whole-book pass
/// reads several per account); any other text is an error naming the column.
pub(crate) fn day(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<chrono::NaiveDate> {
    let text = row.get_ref(i)?.as_str()?;
    ymd(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("'{text}' is not a YYYY-MM-DD date").into(),
        )
    })
}

/// Days since 1970-01-01: the compact day of usage weeks and the recent score series.
pub(crate) fn epoch_day(d: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(d.num_days_from_ce()) - CE_TO_EPOCH
}

/// [`epoch_day`]'s inverse, by the day count itself rather than chrono's date arithmetic
/// (a whole book reads 1.2M usage weeks and 12M recent points a run).
pub(crate) fn from_epoch_day(day: i64) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_num_days_from_ce_opt(i32::try_from(day.checked_add(CE_TO_EPOCH)?).ok()?)
}

/// 1970-01-01 counted from 0001-01-01 as day 1.
const CE_TO_EPOCH: i64 = 719_163;

/// A day stored as its number ([`epoch_day`]);
/// anything else is an error naming the column.
pub(crate) fn day_number(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<chrono::NaiveDate> {
    let n: i64 = row.get(i)?;
    from_epoch_day(n).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Integer,
            format!("{n} is not a day number").into(),
        )
    })
}

/// [`day`] for a column that may be NULL.
pub(crate) fn day_or_null(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<chrono::NaiveDate>> {
    match row.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => day(row, i).map(Some),
    }
}

/// A stored time, read without chrono's format parser in the common form sqlx writes
/// (`2026-10-22T17:52:00+00:00`, or with `Z`); any other form (fractions of a second,
/// another offset) goes through rusqlite's reading. A whole book reads ~800K of them.
pub(crate) fn time(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
    match utc_seconds(row.get_ref(i)?.as_str()?) {
        Some(t) => Ok(t),
        None => row.get(i),
    }
}

/// [`time`] for a column that may be NULL.
pub(crate) fn time_or_null(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<chrono::DateTime<chrono::Utc>>> {
    match row.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => time(row, i).map(Some),
    }
}

fn utc_seconds(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let (stamp, zone) = text.split_at_checked(19)?;
    if !matches!(zone, "+00:00" | "Z") {
        return None;
    }
    let b = stamp.as_bytes();
    if b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let two = |at: usize| -> Option<u32> {
        let (h, l) = (b[at], b[at + 1]);
        (h.is_ascii_digit() && l.is_ascii_digit())
            .then(|| u32::from(h - b'0') * 10 + u32::from(l - b'0'))
    };
    let day = ymd(stamp.get(..10)?)?;
    Some(day.and_hms_opt(two(11)?, two(14)?, two(17)?)?.and_utc())
}

fn ymd(text: &str) -> Option<chrono::NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    chrono::NaiveDate::from_ymd_opt(num(&b[..4])? as i32, num(&b[5..7])?, num(&b[8..])?)
}

/// A text column parsed into one of the model's enums.
pub(crate) fn parsed<T: std::str::FromStr>(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    let text = row.get_ref(i)?.as_str()?;
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unexpected value '{text}'").into(),
        )
    })
}

#[cfg(test)]
mod day_tests {
    use super::{utc_seconds, ymd};

    #[test]
    fn a_stored_time_reads_as_chrono_parses_it() {
        let mut t = "1999-12-25T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .expect("time");
        for _ in 0..20_000 {
            for text in [
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ] {
                assert_eq!(utc_seconds(&text), Some(t), "{text}");
            }
            t += chrono::Duration::seconds(4_513);
        }
        // Forms the fast path leaves to chrono, and damage, read as not its own.
        for text in [
            "2026-10-22T17:52:00.120+00:00",
            "2026-10-22T17:52:00+02:00",
            "2026-10-22 17:52:00",
            "2026-10-22T17:52:0x+00:00",
            "2026-10-22T25:52:00+00:00",
            "2026-1é-22T17:52:00+00:00",
            "",
        ] {
            assert_eq!(utc_seconds(text), None, "{text}");
        }
    }
    use chrono::NaiveDate;

    #[test]
    fn a_stored_day_reads_as_chrono_parses_it() {
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 25).expect("day");
        for _ in 0..12_000 {
            assert_eq!(ymd(&d.to_string()), Some(d));
            d += chrono::Duration::days(3);
        }
        for bad in [
            "2026-02-30",
            "2026-1-02",
            "2026/01/02",
            "abcd-ef-gh",
            "2026-01-021",
            "",
            "+202-01-01",
        ] {
            assert_eq!(ymd(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two bulk reads run at once, each on its own connection: each waits inside its read
    /// for the other to start, which one shared connection would never let happen (the
    /// first would wait out its time alone).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_reads_run_at_once() {
        let dir = tempfile::tempdir().expect("dir");
        let store = crate::Store::open(&dir.path().join("r.db"))
            .await
            .expect("store");
        let started = Arc::new((Mutex::new(0), std::sync::Condvar::new()));
        let reads: Vec<_> = (0..2)
            .map(|_| {
                let started = Arc::clone(&started);
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .read(move |conn| {
                            let (count, changed) = &*started;
                            let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
                            *n += 1;
                            changed.notify_all();
                            let (n, _) = changed
                                .wait_timeout_while(n, std::time::Duration::from_secs(10), |n| {
                                    *n < 2
                                })
                                .unwrap_or_else(|p| p.into_inner());
                            let met = *n >= 2;
                            let accounts: i64 =
                                conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))?;
                            Ok((met, accounts))
                        })
                        .await
                })
            })
            .collect();
        for read in reads {
            let (met, accounts) = read.await.expect("joined").expect("read");
            assert!(
                met,
                "a read waited alone: the other could not start beside it"
            );
            assert_eq!(accounts, 0);
        }
    }
}
