//! The real clock and event-id source.

use chat_domain::ports::{Clock, EventIds};
use chat_domain::{EventId, Timestamp};

/// The system clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(time::OffsetDateTime::now_utc())
    }
}

/// UUIDv7 event ids: unique across replicas, roughly time-ordered.
pub(crate) struct UuidEventIds;

impl EventIds for UuidEventIds {
    fn next_event_id(&self) -> EventId {
        EventId::new(uuid::Uuid::now_v7().to_string())
    }
}
