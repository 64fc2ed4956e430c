//! When to try a failed delivery again: exponential back-off with full
//! jitter, until the event is older than the retry window.

use std::hash::BuildHasher;
use std::time::Duration;

/// The retry schedule of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure, before jitter.
    pub first: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// Deliveries of events older than this are given up (dead letters).
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    /// 5 s, doubling up to an hour, for 24 hours: about 30 attempts, the
    /// last ones an hour apart, so an endpoint down for a day loses nothing.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(5),
            max: Duration::from_secs(3_600),
            give_up_after: Duration::from_secs(24 * 3_600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the attempt after `attempts` failed ones: a random
    /// point in `[ceiling / 2, ceiling]`, the ceiling doubling from `first`
    /// up to `max`. Half the ceiling at least, so a dead endpoint is not
    /// hammered; the rest random, so a backlog spreads out instead of
    /// coming back all at once.
    pub fn wait_after(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let ceiling = self
            .first
            .saturating_mul(2_u32.saturating_pow(doublings))
            .min(self.max);
        let half = ceiling / 2;
        half + half.mul_f64(unit_random())
    }

    /// Whether an event created `age` ago is past the window.
    pub fn gives_up(&self, age: Duration) -> bool {
        age > self.give_up_after
    }
}

/// A number in `[0, 1)`. Jitter needs no cryptographic randomness:
/// `RandomState` is seeded randomly per process and per instance.
fn unit_random() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(0_u8);
    // 53 bits: every value exactly representable.
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_maximum_with_jitter() {
        let policy = RetryPolicy::default();
        for (attempts, ceiling) in [(1, 5), (2, 10), (3, 20), (8, 640), (12, 3_600), (40, 3_600)] {
            for _ in 0..50 {
                let wait = policy.wait_after(attempts);
                let ceiling = Duration::from_secs(ceiling);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{attempts}: {wait:?}"
                );
            }
        }
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| policy.wait_after(5)).collect();
        assert!(waits.len() > 1, "jittered");
    }

    #[test]
    fn a_day_of_failures_keeps_trying() {
        let policy = RetryPolicy::default();
        let mut elapsed = Duration::ZERO;
        let mut attempts = 0;
        while !policy.gives_up(elapsed) {
            attempts += 1;
            elapsed += policy.wait_after(attempts);
        }
        assert!(elapsed >= Duration::from_secs(24 * 3_600));
        assert!((20..=60).contains(&attempts), "{attempts} attempts");
    }
}
