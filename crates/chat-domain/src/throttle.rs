//! In-process rate limits: a token bucket per key (sends per user) and a
//! minimum interval per key (typing per user and conversation).
//!
//! They live in each replica's memory: behind N replicas a user can reach N
//! times the rate. See `docs/decisions/0003-messages.md`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::Timestamp;

/// Keys kept before idle ones are first swept, so memory stays bounded.
const SWEEP_AT: usize = 50_000;

/// A map of per-key state that drops idle keys now and then. A sweep visits
/// every key, so it runs only once the map has doubled since the last one:
/// each call pays O(1) on average however many keys are live. (A sweep at a
/// fixed size ran on every call once that many keys were live: at 60,000
/// users sending within the refill window, each send scanned them all under
/// the lock.)
struct SweptMap<K, V> {
    entries: HashMap<K, V>,
    sweep_at: usize,
}

impl<K: Eq + Hash, V> SweptMap<K, V> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
            sweep_at: SWEEP_AT,
        }
    }

    /// Keeps only the entries `live` says are, when the map is due.
    fn sweep_if_due(&mut self, live: impl FnMut(&K, &mut V) -> bool) {
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(live);
            self.sweep_at = (self.entries.len() * 2).max(SWEEP_AT);
        }
    }
}

/// Token buckets: `rate` tokens per second, at most `burst`.
pub struct TokenBuckets<K> {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<SweptMap<K, (f64, Timestamp)>>,
}

impl<K: Eq + Hash + Copy> TokenBuckets<K> {
    /// Buckets refilling at `rate_per_sec`, holding at most `burst`.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        Self {
            rate_per_sec: rate_per_sec.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(SweptMap::new()),
        }
    }

    /// Takes a token for `key` at `now`; when none is left, how many whole
    /// seconds until one is.
    ///
    /// # Errors
    /// The seconds to wait, when the bucket is empty.
    pub fn take(&self, key: K, now: Timestamp) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let full_after = self.burst / self.rate_per_sec;
        buckets.sweep_if_due(|_, (_, at)| seconds_between(*at, now) < full_after);
        let (tokens, at) = buckets.entries.entry(key).or_insert((self.burst, now));
        let refilled = (*tokens + seconds_between(*at, now) * self.rate_per_sec).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            let wait = ((1.0 - refilled) / self.rate_per_sec).ceil();
            // The float is positive and small enough here: a rate below one
            // per u64::MAX seconds is not a rate anyone configures.
            Err(if wait.is_finite() && wait >= 1.0 {
                wait as u64
            } else {
                1
            })
        }
    }
}

/// At most one pass per key per `interval_ms`.
pub struct MinInterval<K> {
    interval_ms: i64,
    last: Mutex<SweptMap<K, Timestamp>>,
}

impl<K: Eq + Hash + Copy> MinInterval<K> {
    /// A gate letting one call per key through every `interval_ms`.
    pub fn new(interval_ms: i64) -> Self {
        Self {
            interval_ms,
            last: Mutex::new(SweptMap::new()),
        }
    }

    /// Whether a call for `key` at `now` passes (and, if so, records it).
    pub fn pass(&self, key: K, now: Timestamp) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let interval = self.interval_ms;
        last.sweep_if_due(|_, at| now.unix_millis() - at.unix_millis() < interval);
        match last.entries.get(&key) {
            Some(at) if now.unix_millis() - at.unix_millis() < self.interval_ms => false,
            _ => {
                last.entries.insert(key, now);
                true
            }
        }
    }
}

/// Remembers values for `ttl_ms`, to skip repeating work whose result is
/// still known (a user's unchanged claims, say).
pub struct RecentlySeen<K, V> {
    ttl_ms: i64,
    seen: Mutex<SweptMap<K, (V, Timestamp)>>,
}

impl<K: Eq + Hash + Copy, V: PartialEq + Clone> RecentlySeen<K, V> {
    /// Remembers each value for `ttl_ms` milliseconds.
    pub fn new(ttl_ms: i64) -> Self {
        Self {
            ttl_ms,
            seen: Mutex::new(SweptMap::new()),
        }
    }

    /// Whether `key` was recorded with this same `value` less than the TTL
    /// before `now`.
    pub fn contains(&self, key: K, value: &V, now: Timestamp) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.entries
            .get(&key)
            .is_some_and(|(v, at)| v == value && now.unix_millis() - at.unix_millis() < self.ttl_ms)
    }

    /// Records `value` for `key` at `now`.
    pub fn record(&self, key: K, value: V, now: Timestamp) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl_ms;
        seen.sweep_if_due(|_, (_, at)| now.unix_millis() - at.unix_millis() < ttl);
        seen.entries.insert(key, (value, now));
    }
}

fn seconds_between(earlier: Timestamp, later: Timestamp) -> f64 {
    let millis = (later.unix_millis() - earlier.unix_millis()).max(0);
    // Millisecond differences fit an f64 exactly for any realistic span.
    millis as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn a_burst_then_the_rate() {
        let buckets = TokenBuckets::new(10.0, 20);
        for _ in 0..20 {
            assert_eq!(buckets.take(1, at(0)), Ok(()));
        }
        assert_eq!(buckets.take(1, at(0)), Err(1));
        assert_eq!(buckets.take(2, at(0)), Ok(()), "per key");
        assert_eq!(
            buckets.take(1, at(100)),
            Ok(()),
            "a tenth of a second refills one"
        );
        assert_eq!(buckets.take(1, at(150)), Err(1));
        for _ in 0..20 {
            assert_eq!(buckets.take(1, at(10_000)), Ok(()));
        }
        assert!(
            buckets.take(1, at(10_000)).is_err(),
            "never above the burst"
        );
    }

    #[test]
    fn slow_rates_say_how_long_to_wait() {
        let buckets = TokenBuckets::new(0.01, 1);
        assert_eq!(buckets.take(1, at(0)), Ok(()));
        assert_eq!(buckets.take(1, at(0)), Err(100));
    }

    #[test]
    fn remembers_values_for_a_while() {
        let seen = RecentlySeen::new(1_000);
        assert!(!seen.contains(1, &"a", at(0)));
        seen.record(1, "a", at(0));
        assert!(seen.contains(1, &"a", at(999)));
        assert!(!seen.contains(1, &"b", at(10)), "another value is news");
        assert!(!seen.contains(1, &"a", at(1_000)), "expired");
    }

    #[test]
    fn many_live_keys_are_swept_rarely_and_idle_ones_dropped() {
        let buckets = TokenBuckets::new(1.0, 1);
        // More live keys than the first sweep size: every one is kept (each
        // within its refill window), and the next sweep waits for twice as
        // many.
        for key in 0..60_000 {
            assert_eq!(buckets.take(key, at(0)), Ok(()));
        }
        {
            let map = buckets.buckets.lock().unwrap_or_else(|p| p.into_inner());
            assert_eq!(map.entries.len(), 60_000);
            assert_eq!(map.sweep_at, 100_000, "swept once, at 50,000");
        }
        // Much later every key is idle: the next due sweep drops them all.
        for key in 60_000..100_001 {
            assert_eq!(buckets.take(key, at(10_000)), Ok(()));
        }
        let map = buckets.buckets.lock().unwrap_or_else(|p| p.into_inner());
        assert!(map.entries.len() <= 40_001, "{} kept", map.entries.len());
    }

    #[test]
    fn one_pass_per_interval() {
        let gate = MinInterval::new(2_000);
        assert!(gate.pass((1, 1), at(0)));
        assert!(!gate.pass((1, 1), at(1_999)));
        assert!(gate.pass((1, 2), at(1_999)), "per key");
        assert!(gate.pass((1, 1), at(2_000)));
    }
}
