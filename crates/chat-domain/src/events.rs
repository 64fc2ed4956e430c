//! Realtime events: what a state change tells clients, written to the outbox
//! in the same transaction as the change.

use crate::conversation::{ConversationView, Member, MembershipView};
use crate::message::MessageView;
use crate::{ConversationId, EventId, MessageId, Timestamp, UserId};

/// One event, addressed to a conversation's channel or to users' personal
/// channels. The outbox row it becomes is the store's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: EventId,
    /// The conversation the event is about; also the ordering partition.
    pub conversation_id: ConversationId,
    pub occurred_at: Timestamp,
    pub audience: Audience,
    pub payload: EventPayload,
}

/// Who receives an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The conversation's channel, `chat:<conversationId>`.
    Conversation,
    /// Each user's personal channel, `personal:<userId>`.
    Users(Vec<UserId>),
    /// The personal channel of every member of the conversation when the
    /// change commits (resolved by the store: an org channel has thousands).
    Members,
}

/// The channel of a conversation.
pub fn conversation_channel(id: ConversationId) -> String {
    format!("chat:{id}")
}

/// The personal channel of a user.
pub fn personal_channel(id: UserId) -> String {
    format!("personal:{id}")
}

/// What happened, with the contract's data for each event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    MessageCreated(MessageView),
    MessageUpdated(MessageView),
    /// The tombstone.
    MessageDeleted(MessageView),
    ReactionUpdated(ReactionUpdate),
    PinAdded(PinUpdate),
    PinRemoved(PinUpdate),
    /// Ephemeral: published directly, never through the outbox.
    Typing(TypingUpdate),
    /// A conversation-level change, with the conversation (no membership).
    Conversation(ConversationChange, ConversationView),
    /// A membership change, with the member.
    Member(MemberChange, Member),
    /// The member's own read state, to sync their other devices.
    ReadUpdated(MembershipView),
    /// The member's own preferences, to sync their other devices.
    PreferencesUpdated(MembershipView),
    UnreadUpdated(UnreadUpdate),
}

/// Kinds of conversation-level events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationChange {
    /// To the channel: name, description, policy or metadata changed.
    Updated,
    Archived,
    Unarchived,
    /// A group became a private channel.
    Converted,
    Deleted,
    /// To personal channels: you were added.
    Added,
    /// To personal channels: you were removed (or the conversation is gone).
    Removed,
}

/// Kinds of membership events (to the conversation's channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Added,
    Removed,
    /// The role changed.
    Updated,
}

/// The event types delivered to webhooks: everything a conversation's
/// channel carries and numbers (decision 0011). Personal events are copies
/// of one user's state for their devices; typing is ephemeral.
pub const WEBHOOK_EVENT_TYPES: [&str; 14] = [
    "message.created",
    "message.updated",
    "message.deleted",
    "reaction.updated",
    "pin.added",
    "pin.removed",
    "conversation.updated",
    "conversation.archived",
    "conversation.unarchived",
    "conversation.converted",
    "conversation.deleted",
    "member.added",
    "member.removed",
    "member.updated",
];

/// The push requests a new message makes (contract: "Webhooks and push"):
/// an endpoint that takes this type gets, for each new message, one
/// delivery per batch of its recipients (`chat_domain::push`).
pub const PUSH_REQUESTED: &str = "push.requested";

/// What an endpoint's filter may name: the stream's events and push requests.
pub fn is_webhook_event_type(name: &str) -> bool {
    name == PUSH_REQUESTED || WEBHOOK_EVENT_TYPES.contains(&name)
}

/// The event types that carry no `eventSeq` and are not kept (see
/// [`OutboxEvent::is_numbered`]).
pub const UNNUMBERED_EVENT_TYPES: [&str; 2] = ["typing", "unread.updated"];

impl OutboxEvent {
    /// Whether the event takes the next number of its stream (`eventSeq`)
    /// and is kept for catching up. Two kinds are not: `typing` (ephemeral,
    /// as the contract says) and `unread.updated`, a figure derived from the
    /// conversation's numbered events and the member's read state. Numbering
    /// it would cost every member's personal stream a locked write per
    /// message, unbounded in an org channel; a client that missed one
    /// reads get-unread-counts (decision 0010).
    pub fn is_numbered(&self) -> bool {
        !UNNUMBERED_EVENT_TYPES.contains(&self.payload.event_type())
    }

    /// The new message whose recipients are pushed, for a `message.created`
    /// event (a top-level message or a reply): push requests are queued
    /// with it and expanded into recipients when delivered.
    pub fn requests_push(&self) -> Option<MessageId> {
        match &self.payload {
            EventPayload::MessageCreated(view) => Some(view.message.id),
            _ => None,
        }
    }

    /// The `seq` of the message the event is about, so that a member who
    /// cannot see that message (`sinceJoin`) does not get it when catching up.
    pub fn message_seq(&self) -> Option<i64> {
        match &self.payload {
            EventPayload::MessageCreated(view)
            | EventPayload::MessageUpdated(view)
            | EventPayload::MessageDeleted(view) => Some(view.message.seq),
            EventPayload::ReactionUpdated(update) => Some(update.message_seq),
            EventPayload::PinAdded(update) | EventPayload::PinRemoved(update) => {
                Some(update.message_seq)
            }
            _ => None,
        }
    }
}

impl EventPayload {
    /// The contract's event `type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::MessageCreated(_) => "message.created",
            Self::MessageUpdated(_) => "message.updated",
            Self::MessageDeleted(_) => "message.deleted",
            Self::ReactionUpdated(_) => "reaction.updated",
            Self::PinAdded(_) => "pin.added",
            Self::PinRemoved(_) => "pin.removed",
            Self::Typing(_) => "typing",
            Self::Conversation(change, _) => match change {
                ConversationChange::Updated => "conversation.updated",
                ConversationChange::Archived => "conversation.archived",
                ConversationChange::Unarchived => "conversation.unarchived",
                ConversationChange::Converted => "conversation.converted",
                ConversationChange::Deleted => "conversation.deleted",
                ConversationChange::Added => "conversation.added",
                ConversationChange::Removed => "conversation.removed",
            },
            Self::Member(change, _) => match change {
                MemberChange::Added => "member.added",
                MemberChange::Removed => "member.removed",
                MemberChange::Updated => "member.updated",
            },
            Self::ReadUpdated(_) => "read.updated",
            Self::PreferencesUpdated(_) => "preferences.updated",
            Self::UnreadUpdated(_) => "unread.updated",
        }
    }
}

/// The data of `reaction.updated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionUpdate {
    pub message_id: MessageId,
    /// The message's position, for visibility (not on the wire).
    pub message_seq: i64,
    pub emoji: String,
    pub user_id: UserId,
    pub delta: i64,
    pub reaction_counts: Vec<(String, i64)>,
}

/// The data of `pin.added` / `pin.removed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinUpdate {
    pub message_id: MessageId,
    /// The message's position, for visibility (not on the wire).
    pub message_seq: i64,
    pub pinned_by: UserId,
}

/// The data of `typing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingUpdate {
    pub user_id: UserId,
    pub parent_id: Option<MessageId>,
}

/// The data of `unread.updated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadUpdate {
    pub conversation_id: ConversationId,
    /// `None` in the broadcast form for large conversations: "changed".
    pub unread_count: Option<i64>,
    pub mention_count: Option<i64>,
    pub last_message_at: Option<Timestamp>,
}

/// Builds the events of a change from its stored result, inside the store's
/// transaction: ids and `seq` are only known once the change is written.
pub type EventsFor<T> = Box<dyn FnOnce(&T) -> Vec<OutboxEvent> + Send>;

/// Turns an event into the JSON envelope clients receive
/// (`{type, eventId, conversationId, occurredAt, data}`). Implemented where
/// the wire shapes live (`chat-http`); stores call it to fill outbox rows.
pub trait EventEncoder: Send + Sync {
    /// The envelope as JSON text.
    fn encode(&self, event: &OutboxEvent) -> String;
}
