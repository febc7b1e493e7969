//! Settings a refresh reads every time (scorecards, rules, playbooks, risk categories and
//! the typed values in `config`), kept in memory until one of their tables changes. A
//! trigger on each of those tables moves `settings_version` whoever writes (a settings
//! screen, a people import, a pulled sync page, another process on the same file), so a
//! one-account refresh reads that one number instead of ten rows of settings.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::Store;
use crate::Result;

/// What was read, and at which settings version.
#[derive(Clone, Default)]
pub(crate) struct Cache(Arc<Mutex<Held>>);

#[derive(Default)]
struct Held {
    version: Option<i64>,
    values: HashMap<&'static str, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cache")
    }
}

impl Cache {
    fn get<T: Clone + 'static>(&self, version: i64, key: &str) -> Option<T> {
        let held = self.0.lock().ok()?;
        if held.version != Some(version) {
            return None;
        }
        held.values.get(key)?.downcast_ref::<T>().cloned()
    }

    fn put<T: Send + Sync + 'static>(&self, version: i64, key: &'static str, value: T) {
        let Ok(mut held) = self.0.lock() else {
            return;
        };
        if held.version != Some(version) {
            held.values.clear();
            held.version = Some(version);
        }
        held.values.insert(key, Arc::new(value));
    }
}

impl Store {
    /// What `load` reads, from memory when no settings table changed since it was read.
    /// (Read at version v, the value is at least as new as v: a change made meanwhile
    /// moves the version past it, and the next call reads again.)
    pub(crate) async fn cached<T, F>(&self, key: &'static str, load: F) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T>>,
    {
        let version = self
            .read(|conn| {
                conn.prepare_cached("SELECT n FROM settings_version")?
                    .query_row([], |r| r.get::<_, i64>(0))
            })
            .await?;
        if let Some(value) = self.cache.get::<T>(version, key) {
            return Ok(value);
        }
        let value = load.await?;
        self.cache.put(version, key, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::temp_store;

    /// A cached value is read again after any write to a settings table, through any
    /// path: the app's own save, a raw statement (as a pulled sync page or another
    /// process writes), and not otherwise.
    #[tokio::test]
    async fn a_cached_setting_is_read_again_after_any_settings_write() {
        let (_dir, store) = temp_store().await;
        let reads = std::sync::atomic::AtomicU32::new(0);
        let read = || async {
            store
                .cached("test.severity", async {
                    reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    crate::health::severity_config(&store).await
                })
                .await
                .expect("cached")
        };
        crate::categories::list(&store).await.expect("categories");
        crate::rules::run::rules(&store).await.expect("rules");
        let first = read().await;
        let again = read().await;
        assert_eq!(first.health_weight, again.health_weight);
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1, "kept");
        let mut changed = first.clone();
        changed.health_weight = 0.7;
        crate::health::save_severity_config(&store, &changed)
            .await
            .expect("save");
        assert_eq!(read().await.health_weight, 0.7);
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Written around the app's functions, as sync's generic apply writes.
        for sql in [
            "UPDATE config SET value = json_set(value, '$.health_weight', 0.6) WHERE key = 'severity'",
            "INSERT INTO users (id, name, email, role, created_at) VALUES ('u', 'Ana', 'ana@example.com', 'executive', '2026-12-01')",
            "UPDATE users SET name = 'Ana Ruiz' WHERE id = 'u'",
            "DELETE FROM risk_categories",
            "INSERT INTO rules (id, name, enabled, version, definition, updated_at) SELECT 'x', 'x', 0, 1, definition, updated_at FROM rules LIMIT 1",
        ] {
            let before = reads.load(std::sync::atomic::Ordering::SeqCst);
            sqlx::query(sql).execute(store.pool()).await.expect(sql);
            read().await;
            assert_eq!(
                reads.load(std::sync::atomic::Ordering::SeqCst),
                before + 1,
                "read again after {sql}"
            );
        }
        assert_eq!(read().await.health_weight, 0.6);
        // Other tables leave it be.
        let before = reads.load(std::sync::atomic::Ordering::SeqCst);
        sqlx::query("UPDATE accounts SET name = name || ' '")
            .execute(store.pool())
            .await
            .expect("accounts");
        read().await;
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), before);
    }
}
