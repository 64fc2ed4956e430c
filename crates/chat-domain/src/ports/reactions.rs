//! Reactions, pins and reports on messages.

use async_trait::async_trait;

use crate::events::EventsFor;
use crate::message::{
    NewReport, Pin, PinChange, PinListQuery, Reaction, ReactionChange, ReactionListQuery,
    ReactionRequest,
};
use crate::{ChatError, MessageId, Timestamp, UserId};

/// Reactions, pins and reports.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ReactionRepository: Send + Sync {
    /// Adds, removes or toggles `user`'s `emoji` on a message; refuses a new
    /// distinct emoji past `max_distinct`, atomically. The message and the
    /// caller's access, read in the same transaction before anything
    /// changes, must pass `rules::may_react`; its error is the answer.
    ///
    /// # Errors
    /// `Conflict` past the distinct-emoji capacity; `NotFound` when gone.
    async fn react(
        &self,
        request: ReactionRequest,
        events: EventsFor<ReactionChange>,
    ) -> Result<ReactionChange, ChatError>;

    /// A page of who reacted with an emoji, and how many did.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn reactions(&self, query: ReactionListQuery) -> Result<(Vec<Reaction>, i64), ChatError>;

    /// Pins or unpins a message; refuses a pin past `max_pins` in its
    /// conversation, atomically.
    ///
    /// # Errors
    /// `Conflict` past the capacity; `NotFound` when gone.
    async fn set_pinned(
        &self,
        id: MessageId,
        user: UserId,
        pinned: bool,
        max_pins: usize,
        now: Timestamp,
        events: EventsFor<PinChange>,
    ) -> Result<PinChange, ChatError>;

    /// A page of a conversation's pins as `viewer` sees them, newest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn pins(&self, query: PinListQuery, viewer: UserId) -> Result<Vec<Pin>, ChatError>;

    /// Stores a report; `false` when this reporter already reported it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn report(&self, report: NewReport) -> Result<bool, ChatError>;
}
