//! What push requests are planned from (`chat_domain::push::PushPlan`): the
//! message, the thread's participants, the members and their unread
//! totals. Read by the webhook deliverer when it expands a push request,
//! never by a request.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::conversation::Membership;
use crate::push::PushSubject;
use crate::{ChatError, ConversationId, MessageId, Timestamp, UserId};

/// The facts push rules read.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PushFacts: Send + Sync {
    /// The message, with its conversation's kind; `None` when it is gone or
    /// deleted.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn pushed_message(&self, id: MessageId) -> Result<Option<PushSubject>, ChatError>;

    /// Who wrote in the thread of `parent` before `before_seq`: the parent's
    /// author and the authors of earlier replies, in any order.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn thread_participants(
        &self,
        conversation: ConversationId,
        parent: MessageId,
        before_seq: i64,
    ) -> Result<Vec<UserId>, ChatError>;

    /// The conversation's memberships with a user id above `after`, in user
    /// id order, at most `limit`; only those of `among` (sorted) when given.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn members_after<'a>(
        &self,
        conversation: ConversationId,
        after: Option<UserId>,
        among: Option<&'a [UserId]>,
        limit: usize,
    ) -> Result<Vec<Membership>, ChatError>;

    /// Each user's `totalUnread` at `now`, as get-unread-counts answers it
    /// (users with nothing unread may be left out).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn total_unread(
        &self,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<HashMap<UserId, i64>, ChatError>;
}
