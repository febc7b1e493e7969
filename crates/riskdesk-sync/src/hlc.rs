//! Hybrid logical clocks: wall time in milliseconds plus a counter, so timestamps follow
//! real time when clocks agree and still order causally when they drift. Ties between
//! devices are broken by device id, which makes the order total.

use serde::{Deserialize, Serialize};

/// How far ahead of the server's clock a change may be stamped: a stamp from the far
/// future would win its field against every real edit after it. The server refuses
/// such a change and a device never moves its clock to one.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// A timestamp. Ordered by wall time, then counter, then device id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
    pub device: String,
}

impl Hlc {
    /// A sortable text form ("00000001732380000000-0000000000-<device>") for storage and
    /// comparison in SQL, where tuples are awkward.
    pub fn encode(&self) -> String {
        format!("{:020}-{:010}-{}", self.wall_ms, self.counter, self.device)
    }

    /// Reads `encode`'s form back; None when `text` is not one.
    pub fn decode(text: &str) -> Option<Hlc> {
        let wall = text.get(..20)?.parse().ok()?;
        let counter = text.get(21..31)?.parse().ok()?;
        let device = text.get(32..)?;
        (text.as_bytes().get(20) == Some(&b'-') && text.as_bytes().get(31) == Some(&b'-')).then(
            || Hlc {
                wall_ms: wall,
                counter,
                device: device.to_string(),
            },
        )
    }
}

/// One device's clock.
#[derive(Debug, Clone)]
pub struct Clock {
    device: String,
    wall_ms: u64,
    counter: u32,
}

impl Clock {
    pub fn new(device: impl Into<String>) -> Self {
        Clock {
            device: device.into(),
            wall_ms: 0,
            counter: 0,
        }
    }

    /// A timestamp for a local change at physical time `now_ms`: never earlier than any
    /// timestamp this clock has issued or seen.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        if now_ms > self.wall_ms {
            self.wall_ms = now_ms;
            self.counter = 0;
        } else {
            self.counter = self.counter.saturating_add(1);
        }
        self.stamp()
    }

    /// Moves the clock past a timestamp received from another device.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) {
        let wall = self.wall_ms.max(remote.wall_ms).max(now_ms);
        self.counter = if wall == self.wall_ms && wall == remote.wall_ms {
            self.counter.max(remote.counter).saturating_add(1)
        } else if wall == self.wall_ms {
            self.counter.saturating_add(1)
        } else if wall == remote.wall_ms {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        self.wall_ms = wall;
    }

    fn stamp(&self) -> Hlc {
        Hlc {
            wall_ms: self.wall_ms,
            counter: self.counter,
            device: self.device.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_monotonic_even_when_the_wall_clock_goes_back() {
        let mut c = Clock::new("a");
        let t1 = c.tick(1_000);
        let t2 = c.tick(900);
        let t3 = c.tick(900);
        assert!(t1 < t2 && t2 < t3);
        assert_eq!((t2.wall_ms, t2.counter), (1_000, 1));
    }

    #[test]
    fn observing_a_later_remote_stamp_orders_after_it() {
        let mut a = Clock::new("a");
        let mut b = Clock::new("b");
        let remote = b.tick(5_000);
        a.observe(&remote, 1_000);
        let local = a.tick(1_000);
        assert!(local > remote, "{local:?} should follow {remote:?}");
    }

    #[test]
    fn device_breaks_ties_and_encoding_sorts_like_the_stamp() {
        let x = Hlc {
            wall_ms: 7,
            counter: 1,
            device: "a".into(),
        };
        let y = Hlc {
            wall_ms: 7,
            counter: 1,
            device: "b".into(),
        };
        let z = Hlc {
            wall_ms: 10,
            counter: 0,
            device: "a".into(),
        };
        assert!(x < y && y < z);
        assert!(x.encode() < y.encode() && y.encode() < z.encode());
    }

    #[test]
    fn a_stamp_reads_back_from_its_text() {
        let h = Hlc {
            wall_ms: 1_732_380_000_123,
            counter: 42,
            device: "bench-device-7".into(),
        };
        assert_eq!(Hlc::decode(&h.encode()), Some(h));
        assert_eq!(Hlc::decode("00000000000000000001-0000000001"), None);
        assert_eq!(Hlc::decode("0000000000000000000x-0000000001-a"), None);
    }
}
