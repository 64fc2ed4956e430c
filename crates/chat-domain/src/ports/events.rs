//! The kept event streams, for catching up after a disconnect.

use async_trait::async_trait;

use crate::catch_up::{EventRead, EventSlice, SyncRead, SyncSlice};
use crate::{ChatError, ConversationId, Timestamp, UserId};

/// Reads the numbered event streams the stores write with every change
/// (see [`crate::catch_up`]), and prunes them.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventHistoryRepository: Send + Sync {
    /// A conversation's kept events after a position, with what the reader
    /// may see, from one snapshot.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn conversation_events(
        &self,
        id: ConversationId,
        read: EventRead,
    ) -> Result<EventSlice, ChatError>;

    /// A user's kept personal events after a position (visibility does not
    /// apply: they are all the user's).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn personal_events(&self, user: UserId, read: EventRead)
    -> Result<EventSlice, ChatError>;

    /// The user's conversations whose stream or membership changed at or
    /// after a marker (all current ones without one), and the memberships
    /// that ended since then, by conversation id, from one snapshot.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn changed_conversations(
        &self,
        user: UserId,
        read: SyncRead,
    ) -> Result<SyncSlice, ChatError>;

    /// Deletes up to `batch` kept events (and ended memberships) that
    /// occurred before `before`; returns how many went. Never holds a lock
    /// a write waits for.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn prune_events(&self, before: Timestamp, batch: usize) -> Result<usize, ChatError>;
}
