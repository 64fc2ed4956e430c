//! Messages: sending, reading pages, editing and deleting.

use async_trait::async_trait;

use crate::conversation::Access;
use crate::events::EventsFor;
use crate::message::{Message, MessagePatch, MessageRange, MessageView, NewMessage};
use crate::{ChatError, MessageId, Timestamp, UserId};

/// A stored value, and whether this call created it or found it already there
/// (idempotent creates: direct conversations, retried sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created<T> {
    pub value: T,
    pub is_new: bool,
}

/// A sent message and, for a thread reply, its parent with new thread counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message: MessageView,
    /// For a reply: its parent as get-message shows it after the reply
    /// (reactions, pin, attachments, previews and the new thread counts),
    /// for nobody in particular: its `message.updated` replaces a client's
    /// copy of the parent.
    pub parent: Option<MessageView>,
    /// For conversations of at most `NewMessage::unread_fanout_max` members:
    /// every other member's unread figures after the send. Empty otherwise.
    pub member_unread: Vec<MemberUnread>,
    /// The conversation has more members than `unread_fanout_max`.
    pub large: bool,
}

impl SentMessage {
    /// The answer to a repeated send (same sender, same `clientMsgId`): the
    /// original message, and nothing happened, so nothing to publish.
    pub fn repeated(message: MessageView) -> Created<Self> {
        Created {
            value: Self {
                message,
                parent: None,
                member_unread: Vec::new(),
                large: false,
            },
            is_new: false,
        }
    }
}

/// A member's unread figures in one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberUnread {
    pub user_id: UserId,
    pub unread_count: i64,
    pub mention_count: i64,
}

/// Messages.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MessageRepository: Send + Sync {
    /// Writes the message with the next `seq` of its conversation, bumps the
    /// conversation (and the thread parent), unhides the conversation for the
    /// sender and the mentioned, and writes the events, atomically. When the
    /// sender already sent this `client_msg_id` in this conversation, returns
    /// that message (`is_new: false`) and writes nothing.
    ///
    /// # Errors
    /// `NotFound` when the conversation is gone; `Unavailable` / `Unexpected`.
    async fn insert(
        &self,
        new: NewMessage,
        events: EventsFor<SentMessage>,
    ) -> Result<Created<SentMessage>, ChatError>;

    /// The message as stored, whoever may read it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find(&self, id: MessageId) -> Result<Option<Message>, ChatError>;

    /// [`find`](Self::find) and, read at the same time, `viewer`'s access
    /// to the message's conversation as
    /// [`ConversationRepository::access`](crate::ports::ConversationRepository::access)
    /// answers it: one trip to the store before every change to a message.
    /// The access is `None` when the message is missing or the viewer is no
    /// member; the caller decides what the facts allow.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find_with_access(
        &self,
        id: MessageId,
        viewer: UserId,
    ) -> Result<(Option<Message>, Option<Access>), ChatError>;

    /// The message as `viewer` sees it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn view(&self, id: MessageId, viewer: UserId) -> Result<Option<MessageView>, ChatError>;

    /// A slice of a conversation's messages as `viewer` sees them, in the
    /// range's order.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn range(
        &self,
        range: MessageRange,
        viewer: UserId,
    ) -> Result<Vec<MessageView>, ChatError>;

    /// [`range`](Self::range) and, read at the same time, `viewer`'s access
    /// to the range's conversation as
    /// [`ConversationRepository::access`](crate::ports::ConversationRepository::access)
    /// answers it: one trip to the store for the busiest read. The range is
    /// read whatever the access turns out to be; the caller decides whether
    /// to use it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn range_with_access(
        &self,
        range: MessageRange,
        viewer: UserId,
    ) -> Result<(Option<Access>, Vec<MessageView>), ChatError>;

    /// Edits a live message; mention bookkeeping follows the new mentions.
    ///
    /// # Errors
    /// `NotFound` when gone; `Conflict` when deleted meanwhile.
    async fn edit(
        &self,
        id: MessageId,
        patch: MessagePatch,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError>;

    /// Turns the message into a tombstone (content, gif, metadata, mentions
    /// cleared; unpinned). Deleting a tombstone changes nothing and writes no
    /// event.
    ///
    /// # Errors
    /// `NotFound` when gone.
    async fn delete(
        &self,
        id: MessageId,
        at: Timestamp,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError>;
}
