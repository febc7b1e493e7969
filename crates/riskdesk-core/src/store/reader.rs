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

#[derive(Clone, Debug)]
pub(crate) struct Reader {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
}

impl Reader {
    pub(crate) fn new(path: &Path) -> Self {
        Reader {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(None)),
        }
    }

    fn open(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA temp_store = memory;")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere while holding the lock leaves a usable connection.
            let mut guard = this.conn.lock().unwrap_or_else(|p| p.into_inner());
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
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        *guard = None;
    }
}

fn read_error(path: &Path, source: rusqlite::Error) -> Error {
    Error::Read {
        path: path.display().to_string(),
        source,
    }
}
