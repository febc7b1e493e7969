//! Named points where a test can make the process die as `kill -9` would (no destructors,
//! no rollback handlers, no flush), to prove that a crash there loses nothing. Set
//! `RISKDESK_CRASH_AT=name` (the first time the point is reached) or `name:n` (the n-th
//! time). Unset, a point costs one relaxed atomic load.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

fn target() -> &'static Option<(String, u32)> {
    static TARGET: OnceLock<Option<(String, u32)>> = OnceLock::new();
    TARGET.get_or_init(|| {
        let spec = std::env::var("RISKDESK_CRASH_AT").ok()?;
        let (name, n) = match spec.split_once(':') {
            Some((name, n)) => (name.to_string(), n.parse().ok()?),
            None => (spec, 1),
        };
        Some((name, n))
    })
}

/// Dies here if the environment asks for it.
pub fn crashpoint(name: &str) {
    static HITS: AtomicU32 = AtomicU32::new(0);
    if let Some((target, n)) = target() {
        if target == name && HITS.fetch_add(1, Ordering::Relaxed) + 1 == *n {
            eprintln!("crashpoint {name}:{n}: aborting");
            std::process::abort();
        }
    }
}
