//! The process's own memory while a bench step runs, for the benches' peak columns.
//!
//! Read as `RssAnon`, not the resident size: the store is read through a memory map, and
//! the resident size (and its high-water mark, VmHWM) also counts every store page the map
//! touched. Those are the kernel's file cache, shared and dropped under pressure, not
//! memory the step holds; they raised the resident peak by up to the store's size when the
//! map came in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the sampler looks: a step's peak lasts far longer.
const EVERY: Duration = Duration::from_millis(10);

/// The process's own memory now, in KB (None off Linux).
pub(crate) fn own_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the process's own memory on a thread of its own until stopped.
pub(crate) struct Peak {
    peak_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Peak {
    /// Starts sampling; off Linux nothing is sampled and the peak is None.
    pub(crate) fn start() -> Peak {
        let now = own_kb();
        let peak_kb = Arc::new(AtomicU64::new(now.unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = now.and_then(|_| {
            let (peak, stop) = (peak_kb.clone(), stop.clone());
            std::thread::Builder::new()
                .name("bench-memory".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(kb) = own_kb() {
                            peak.fetch_max(kb, Ordering::Relaxed);
                        }
                        std::thread::sleep(EVERY);
                    }
                })
                .ok()
        });
        Peak {
            peak_kb,
            stop,
            thread,
        }
    }

    /// Stops sampling; the peak since the start, in MB.
    pub(crate) fn stop(mut self) -> Option<u64> {
        let now = own_kb()?;
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        Some(self.peak_kb.fetch_max(now, Ordering::Relaxed).max(now) / 1024)
    }
}

impl Drop for Peak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Memory taken and given back inside a window is in its peak.
    #[test]
    fn the_peak_holds_memory_taken_and_given_back_inside_the_window() {
        let peak = Peak::start();
        let before = own_kb().expect("RssAnon") / 1024;
        let mut held = vec![1u8; 64 << 20];
        // Touched, so the pages are really the process's.
        for page in held.chunks_mut(4096) {
            page[0] = 2;
        }
        std::thread::sleep(EVERY * 4);
        drop(std::hint::black_box(held));
        let mb = peak.stop().expect("a peak on Linux");
        assert!(mb >= before + 60, "peak {mb} MB, {before} MB before");
    }
}
