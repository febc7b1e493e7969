//! Reading batches one ahead: while a caller judges and writes one batch of accounts, the
//! next is read on the bulk-read connection (the batches hold different accounts, so what
//! one writes cannot change what the next reads). On two cores the reads then cost next
//! to nothing of a whole-book run.

use std::future::Future;

use tokio::task::JoinHandle;

use crate::{Error, Result, Store};

/// A batch's read: its ids and what was read for them.
type Reading<T> = JoinHandle<Result<(Vec<String>, T)>>;
type Start<T> = Box<dyn FnMut(Vec<String>) -> Reading<T> + Send>;

pub(crate) struct Ahead<T> {
    chunks: std::vec::IntoIter<Vec<String>>,
    reading: std::collections::VecDeque<Reading<T>>,
    start: Start<T>,
}

impl<T: Send + 'static> Ahead<T> {
    /// Starts reading the first `depth` of `chunks` with `read`.
    pub(crate) fn new<F, Fut>(chunks: Vec<Vec<String>>, depth: usize, read: F) -> Self
    where
        F: Fn(Vec<String>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(Vec<String>, T)>> + Send + 'static,
    {
        let mut start: Start<T> = Box::new(move |chunk| tokio::spawn(read(chunk)));
        let mut chunks = chunks.into_iter();
        let reading = chunks.by_ref().take(depth.max(1)).map(&mut start).collect();
        Ahead {
            chunks,
            reading,
            start,
        }
    }

    /// `ids` in batches of `batch`, each read from `store` by `read`, one batch ahead.
    pub(crate) fn over<F, Fut>(store: &Store, ids: &[String], batch: usize, read: F) -> Self
    where
        F: Fn(Store, Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(Vec<String>, T)>> + Send + 'static,
    {
        Self::deep(store, ids, batch, 1, read)
    }

    /// `over`, `depth` batches ahead: for a read that also computes, so one batch's
    /// computing overlaps the next one's reading (the reads themselves take turns on the
    /// one read connection).
    pub(crate) fn deep<F, Fut>(
        store: &Store,
        ids: &[String],
        batch: usize,
        depth: usize,
        read: F,
    ) -> Self
    where
        F: Fn(Store, Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(Vec<String>, T)>> + Send + 'static,
    {
        let store = store.clone();
        Self::new(
            ids.chunks(batch.max(1)).map(<[String]>::to_vec).collect(),
            depth,
            move |chunk| read(store.clone(), chunk),
        )
    }

    /// The next batch's ids and what was read for them, starting the read of a later one.
    pub(crate) async fn next(&mut self) -> Option<Result<(Vec<String>, T)>> {
        let reading = self.reading.pop_front()?;
        let done = reading
            .await
            .map_err(|e| Error::invalid("reading a batch", e.to_string()));
        if let Some(chunk) = self.chunks.next() {
            self.reading.push_back((self.start)(chunk));
        }
        Some(done.and_then(|r| r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_come_back_in_order_each_with_its_ids() {
        let chunks: Vec<Vec<String>> = (0..5)
            .map(|i| vec![format!("a{i}"), format!("b{i}")])
            .collect();
        for depth in [1, 2, 3, 9] {
            // Later batches finish first; they still come back in order.
            let mut ahead = Ahead::new(chunks.clone(), depth, |chunk: Vec<String>| async move {
                let late = 5 - chunk[0][1..].parse::<u64>().unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(late * 3)).await;
                let n = chunk.len();
                Ok((chunk, n))
            });
            let mut seen = Vec::new();
            while let Some(batch) = ahead.next().await {
                let (ids, n) = batch.expect("batch");
                assert_eq!(n, 2);
                seen.push(ids);
            }
            assert_eq!(seen, chunks, "{depth} ahead");
        }
    }

    #[tokio::test]
    async fn a_failed_read_is_the_callers_error() {
        let chunks = vec![vec!["a".to_string()], vec!["b".to_string()]];
        let mut ahead = Ahead::new(chunks, 2, |chunk: Vec<String>| async move {
            if chunk[0] == "b" {
                Err(Error::invalid("read", "the disk went away"))
            } else {
                Ok((chunk, ()))
            }
        });
        assert!(ahead.next().await.expect("first").is_ok());
        let err = ahead.next().await.expect("second").expect_err("failed");
        assert!(err.to_string().contains("the disk went away"), "{err}");
        assert!(ahead.next().await.is_none());
    }
}
