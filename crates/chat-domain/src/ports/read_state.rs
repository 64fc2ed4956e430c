//! Read state: read cursors and unread totals.

use async_trait::async_trait;

use crate::conversation::{MembershipView, ReadCursorUpdate, UnreadTotals};
use crate::events::EventsFor;
use crate::{ChatError, Timestamp, UserId};

/// Read cursors and unread figures.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ReadStateRepository: Send + Sync {
    /// Moves a member's read cursor (forward only unless asked otherwise) and
    /// returns the membership with its new unread figures.
    ///
    /// # Errors
    /// `NotFound` when the membership is gone; `Unavailable` / `Unexpected`.
    async fn move_read_cursor(
        &self,
        update: ReadCursorUpdate,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError>;

    /// The user's unread totals over conversations neither hidden nor muted
    /// at `now`.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn unread_totals(&self, user: UserId, now: Timestamp) -> Result<UnreadTotals, ChatError>;
}
