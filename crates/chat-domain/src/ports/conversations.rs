//! Conversations: creating, reading and changing a conversation's shared state.

use async_trait::async_trait;

use super::Created;

use crate::conversation::{
    Access, Conversation, ConversationListQuery, ConversationPatch, ConversationView,
    NewConversation,
};
use crate::events::EventsFor;
use crate::{ChatError, ConversationId, Timestamp, UserId};

/// Conversations.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConversationRepository: Send + Sync {
    /// Creates the conversation with its members and events. For a direct
    /// conversation whose pair already has one, returns that one unchanged
    /// (`is_new: false`) and writes no event.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn create(
        &self,
        new: NewConversation,
        events: EventsFor<Conversation>,
    ) -> Result<Created<Conversation>, ChatError>;

    /// The conversation and the viewer's membership; `None` when it does not
    /// exist or the viewer is not a member (not readable).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn access(&self, id: ConversationId, viewer: UserId)
    -> Result<Option<Access>, ChatError>;

    /// The conversation as the viewer's sidebar shows it; `None` when not
    /// readable.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn view(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> Result<Option<ConversationView>, ChatError>;

    /// Those of `ids` who are members of the conversation.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn member_ids_among(
        &self,
        id: ConversationId,
        ids: &[UserId],
    ) -> Result<Vec<UserId>, ChatError>;

    /// One page of the viewer's conversations, newest activity first, ties by
    /// id descending.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn list(&self, query: ConversationListQuery) -> Result<Vec<ConversationView>, ChatError>;

    /// Applies a patch to the conversation's shared state; the events get the
    /// updated conversation as events show it.
    ///
    /// # Errors
    /// `NotFound` when the conversation is gone; `Unavailable` / `Unexpected`.
    async fn update(
        &self,
        id: ConversationId,
        patch: ConversationPatch,
        now: Timestamp,
        events: EventsFor<ConversationView>,
    ) -> Result<Conversation, ChatError>;

    /// Deletes the conversation with everything in it. The events get the
    /// conversation as it was, and `Audience::Members` still reaches its
    /// members.
    ///
    /// # Errors
    /// `NotFound` when already gone; `Unavailable` / `Unexpected`.
    async fn delete(
        &self,
        id: ConversationId,
        events: EventsFor<ConversationView>,
    ) -> Result<(), ChatError>;
}
