//! Instants with the contract's precision (C3: milliseconds, UTC).

use std::fmt;

use time::{OffsetDateTime, UtcOffset};

/// An instant in UTC, truncated to whole milliseconds so that every store
/// round-trips it exactly (Postgres keeps microseconds, the wire milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Truncates `at` to milliseconds and moves it to UTC.
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        let millis = utc.millisecond();
        // Setting the millisecond drops the sub-millisecond rest.
        Self(utc.replace_millisecond(millis).unwrap_or(utc))
    }

    /// The instant `millis` milliseconds after the Unix epoch, if representable.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        let nanos = i128::from(millis) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(Self)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        let millis = self.0.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).unwrap_or(i64::MAX)
    }

    /// The underlying date-time (UTC).
    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_to_milliseconds() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let ts = Timestamp::from_datetime(at);
        assert_eq!(ts.unix_millis(), 1_700_000_000_123);
        assert_eq!(Timestamp::from_unix_millis(ts.unix_millis()), Some(ts));
    }
}
