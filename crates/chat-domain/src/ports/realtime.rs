//! Realtime: ephemeral events (typing) and connection tokens.

use async_trait::async_trait;

use crate::events::OutboxEvent;
use crate::{ChatError, ConversationId, Timestamp, UserId};

/// Publishes ephemeral events (typing) straight to clients, bypassing the
/// outbox: losing one is harmless, delaying one is not.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EphemeralPublisher: Send + Sync {
    /// Publishes the event to its audience.
    ///
    /// # Errors
    /// `Unavailable` when the realtime server cannot be reached.
    async fn publish(&self, event: OutboxEvent) -> Result<(), ChatError>;
}

/// A realtime token and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: Timestamp,
    /// The channels it names.
    pub channels: Vec<String>,
}

/// Mints tokens for the realtime server.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RealtimeTokens: Send + Sync {
    /// A connection token subscribing the user to their personal channel.
    ///
    /// # Errors
    /// `Unavailable` when realtime is not configured.
    fn connection(&self, user: UserId, now: Timestamp) -> Result<IssuedToken, ChatError>;

    /// A subscription token for a conversation's channel.
    ///
    /// # Errors
    /// `Unavailable` when realtime is not configured.
    fn subscription(
        &self,
        user: UserId,
        conversation: ConversationId,
        now: Timestamp,
    ) -> Result<IssuedToken, ChatError>;
}
