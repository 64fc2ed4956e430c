//! Messages, their validated parts, and the views readers get.

use crate::limits::Limits;
use crate::user::User;
use crate::{AttachmentId, ChatError, ConversationId, MessageId, Timestamp, UserId};

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// Position in the conversation: gap-free, in commit order.
    pub seq: i64,
    pub sender_id: UserId,
    pub content: String,
    pub gif: Option<String>,
    pub mentions: Vec<UserId>,
    pub mention_everyone: bool,
    pub parent_id: Option<MessageId>,
    pub thread_reply_count: i64,
    pub last_reply_at: Option<Timestamp>,
    pub quoted_message_id: Option<MessageId>,
    /// Serialized JSON object.
    pub metadata: Option<String>,
    pub client_msg_id: Option<String>,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Message {
    /// Top-level messages are not thread replies.
    pub fn is_top_level(&self) -> bool {
        self.parent_id.is_none()
    }

    /// Deleted messages stay as tombstones.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// The quoted message as embedded in the quoting one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedMessage {
    pub id: MessageId,
    pub sender: User,
    /// Empty when the quoted message was deleted.
    pub content: String,
    pub deleted: bool,
}

/// An uploaded file, pending until its upload is checked, then ready and
/// (once sent) linked to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub conversation_id: ConversationId,
    pub message_id: Option<MessageId>,
    pub uploader_id: UserId,
    /// Sanitized, kept for display.
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub ready: bool,
    pub created_at: Timestamp,
    /// Where the object lives in the object store.
    pub object_key: String,
    /// A URL to download it, filled in by the service for responses.
    pub url: Option<String>,
}

/// An unfurled link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPreview {
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub site_name: Option<String>,
}

/// A message with everything a reader sees, for one viewer (or none, in events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub message: Message,
    pub sender: User,
    pub quoted: Option<QuotedMessage>,
    /// Emoji and how many reacted with it, most used first.
    pub reaction_counts: Vec<(String, i64)>,
    /// The viewer's own reactions; empty in events.
    pub user_reactions: Vec<String>,
    pub pinned: bool,
    pub attachments: Vec<Attachment>,
    pub link_previews: Vec<LinkPreview>,
}

impl MessageView {
    /// The view events carry: nobody's own reactions.
    pub fn for_everyone(&self) -> Self {
        Self {
            user_reactions: Vec::new(),
            ..self.clone()
        }
    }

    /// The view of a freshly written message, before anyone reacted.
    pub fn fresh(message: Message, sender: User, quoted: Option<QuotedMessage>) -> Self {
        Self {
            message,
            sender,
            quoted,
            reaction_counts: Vec::new(),
            user_reactions: Vec::new(),
            pinned: false,
            attachments: Vec::new(),
            link_previews: Vec::new(),
        }
    }
}

/// The last message of a conversation, as a sidebar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePreview {
    pub id: MessageId,
    pub seq: i64,
    pub sender: User,
    /// Empty when deleted.
    pub content: String,
    pub created_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// A message to write. The store assigns `id` and `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    pub content: MessageContent,
    pub gif: Option<String>,
    pub mentions: Vec<UserId>,
    pub mention_everyone: bool,
    pub parent_id: Option<MessageId>,
    pub quoted_message_id: Option<MessageId>,
    pub metadata: Option<String>,
    pub client_msg_id: Option<ClientMsgId>,
    pub created_at: Timestamp,
    /// Up to this many members, the store reports each member's unread
    /// figures (`SentMessage::member_unread`) for exact `unread.updated`.
    pub unread_fanout_max: i64,
    /// Links to unfurl; the store queues one job for them with the message.
    pub links: Vec<String>,
    /// The sender's ready, unsent attachments of this conversation to link.
    pub attachment_ids: Vec<AttachmentId>,
    /// What else the send changes; the store applies it in the send's
    /// transaction.
    pub effects: SendEffects,
}

impl NewMessage {
    /// Whether a conversation of `member_count` members is too large for
    /// per-member unread figures in the send's events: its members get one
    /// "changed" `unread.updated` instead.
    pub fn is_large(&self, member_count: i64) -> bool {
        member_count > self.unread_fanout_max
    }
}

/// What a send changes besides the message itself. The domain decides it
/// ([`SendEffects::of`]); both stores only apply it, in the send's
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendEffects {
    /// Members whose hidden conversation comes back: the sender (posting
    /// brings it back) and the people mentioned; others' posts alone do not.
    pub unhide: Vec<UserId>,
    /// The sender's read cursor moves to the new message (posting in a
    /// conversation means having read it). Top-level messages only: replies
    /// are not in the conversation's unread figures.
    pub sender_reads_it: bool,
    /// Mentions that count as unread mentions: of a top-level message, of
    /// others than the sender.
    pub unread_mentions: Vec<UserId>,
    /// A reply's parent, whose thread counters (`threadReplyCount`,
    /// `lastReplyAt`) the reply moves.
    pub thread_parent: Option<MessageId>,
}

impl SendEffects {
    /// The effects of `sender` sending a message that mentions `mentions`,
    /// as a reply to `parent` or at the top level.
    pub fn of(sender: UserId, parent: Option<MessageId>, mentions: &[UserId]) -> Self {
        let top_level = parent.is_none();
        let mut unhide = vec![sender];
        unhide.extend(mentions.iter().filter(|m| **m != sender));
        Self {
            unhide,
            sender_reads_it: top_level,
            unread_mentions: if top_level {
                mentions.iter().copied().filter(|m| *m != sender).collect()
            } else {
                Vec::new()
            },
            thread_parent: parent,
        }
    }
}

/// Message text within the length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Checks the length in characters (Unicode scalar values).
    ///
    /// # Errors
    /// `validation_failed` on `content` when too long.
    pub fn parse(text: String, limits: &Limits) -> Result<Self, ChatError> {
        if text.chars().count() > limits.content_chars {
            return Err(ChatError::validation(
                "content",
                format!("at most {} characters", limits.content_chars),
            ));
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether there is no text at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client's id for a send, which makes retries idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMsgId(String);

impl ClientMsgId {
    /// Checks it is 1 to `limits.client_msg_id_chars` characters.
    ///
    /// # Errors
    /// `validation_failed` on `clientMsgId`.
    pub fn parse(text: String, limits: &Limits) -> Result<Self, ChatError> {
        let chars = text.chars().count();
        if chars == 0 || chars > limits.client_msg_id_chars {
            return Err(ChatError::validation(
                "clientMsgId",
                format!("1 to {} characters", limits.client_msg_id_chars),
            ));
        }
        Ok(Self(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which slice of a conversation's messages to read, in store terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRange {
    pub conversation_id: ConversationId,
    /// `None`: top-level messages; `Some(p)`: the replies to `p`.
    pub parent_id: Option<MessageId>,
    /// Only messages with `seq` strictly greater.
    pub after_seq: Option<i64>,
    /// Only messages with `seq` strictly smaller.
    pub before_seq: Option<i64>,
    /// The viewer's history floor: only `seq` strictly greater.
    pub visible_after_seq: i64,
    /// `Some(true)`: only messages with replies; `Some(false)`: only without.
    pub has_replies: Option<bool>,
    /// Newest first when true, oldest first otherwise.
    pub newest_first: bool,
    pub limit: usize,
}

/// A reaction emoji: 1 to 10 characters (a Unicode emoji or a `:shortcode:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Emoji(String);

impl Emoji {
    /// Checks the length in characters.
    ///
    /// # Errors
    /// `validation_failed` on `emoji`.
    pub fn parse(text: String) -> Result<Self, ChatError> {
        let chars = text.chars().count();
        if chars == 0 || chars > 10 || text.trim().is_empty() {
            return Err(ChatError::validation("emoji", "1 to 10 characters"));
        }
        Ok(Self(text))
    }

    /// The emoji as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to a message's editable parts. `None` leaves a field; for the
/// clearable ones `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePatch {
    pub content: Option<MessageContent>,
    pub gif: Option<Option<String>>,
    pub mentions: Option<Vec<UserId>>,
    pub mention_everyone: Option<bool>,
    pub metadata: Option<Option<String>>,
    pub edited_at: Timestamp,
    /// With new content, the links to unfurl instead of the old ones (the
    /// old previews go).
    pub links: Option<Vec<String>>,
}

/// What a reaction request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionAction {
    Add,
    Remove,
    /// Add when absent, remove when present.
    Toggle,
}

/// A reaction request, as the store carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRequest {
    pub message_id: MessageId,
    pub user_id: UserId,
    pub emoji: Emoji,
    pub action: ReactionAction,
    /// Distinct emoji a message may hold; a new one past it is refused.
    pub max_distinct: usize,
    pub at: Timestamp,
}

/// A message's reactions after a reaction request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionChange {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// The message's place in its conversation (for the event).
    pub message_seq: i64,
    pub emoji: String,
    pub user_id: UserId,
    /// +1 added, -1 removed, 0 nothing changed.
    pub delta: i64,
    /// Every emoji and its count, most used first.
    pub reaction_counts: Vec<(String, i64)>,
    /// The caller's reactions.
    pub user_reactions: Vec<String>,
}

/// Who reacted with an emoji.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub user: User,
    pub emoji: String,
    pub created_at: Timestamp,
}

/// A page of the users who reacted with one emoji, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionListQuery {
    pub message_id: MessageId,
    pub emoji: Emoji,
    /// Start strictly after this reaction (instant, then user id).
    pub after: Option<(Timestamp, UserId)>,
    pub limit: usize,
}

/// A pinned message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub message: MessageView,
    pub pinned_by: UserId,
    pub pinned_at: Timestamp,
}

/// A change of a message's pinned state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinChange {
    pub message: MessageView,
    pub pinned_by: UserId,
    /// Whether anything changed (pinning a pinned message does not).
    pub changed: bool,
}

/// A page of a conversation's pins, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinListQuery {
    pub conversation_id: ConversationId,
    /// The viewer's history floor.
    pub visible_after_seq: i64,
    /// Start strictly after this pin (instant, then message id, descending).
    pub after: Option<(Timestamp, MessageId)>,
    pub limit: usize,
}

/// Why a message is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportReason {
    Spam,
    Harassment,
    Hate,
    Violence,
    Sexual,
    SelfHarm,
    Other,
}

impl ReportReason {
    /// Every reason.
    pub const ALL: &'static [Self] = &[
        Self::Spam,
        Self::Harassment,
        Self::Hate,
        Self::Violence,
        Self::Sexual,
        Self::SelfHarm,
        Self::Other,
    ];

    /// The contract's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Harassment => "harassment",
            Self::Hate => "hate",
            Self::Violence => "violence",
            Self::Sexual => "sexual",
            Self::SelfHarm => "self_harm",
            Self::Other => "other",
        }
    }

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == text)
    }
}

/// A report for moderators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub reporter_id: UserId,
    pub reason: ReportReason,
    pub details: Option<String>,
    pub created_at: Timestamp,
}

/// A queued unfurl: the links of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfurlJob {
    pub message_id: MessageId,
    pub urls: Vec<String>,
}
