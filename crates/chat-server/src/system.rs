//! The real clock and event-id source.

use async_trait::async_trait;
use chat_domain::events::OutboxEvent;
use chat_domain::ports::{Clock, EphemeralPublisher, EventIds, IssuedToken, RealtimeTokens};
use chat_domain::{ChatError, ConversationId, EventId, Timestamp, UserId};

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

/// Drops ephemeral events when no realtime server is configured.
pub(crate) struct DiscardEphemeral;

#[async_trait]
impl EphemeralPublisher for DiscardEphemeral {
    async fn publish(&self, event: OutboxEvent) -> Result<(), ChatError> {
        tracing::debug!(
            event = event.payload.event_type(),
            "no Centrifugo configured: ephemeral event dropped"
        );
        Ok(())
    }
}

/// Refuses tokens when no Centrifugo token secret is configured.
pub(crate) struct NoRealtimeTokens;

impl NoRealtimeTokens {
    fn refuse() -> ChatError {
        ChatError::Unavailable(anyhow::anyhow!(
            "realtime is not configured (CENTRIFUGO_TOKEN_SECRET)"
        ))
    }
}

impl RealtimeTokens for NoRealtimeTokens {
    fn connection(&self, _: UserId, _: Timestamp) -> Result<IssuedToken, ChatError> {
        Err(Self::refuse())
    }

    fn subscription(
        &self,
        _: UserId,
        _: ConversationId,
        _: Timestamp,
    ) -> Result<IssuedToken, ChatError> {
        Err(Self::refuse())
    }
}
