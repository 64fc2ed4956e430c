//! The ports: what the domain needs from the outside world. Adapters implement
//! them; [`crate::service::ChatService`] takes them as `Arc<dyn Port>`.
//!
//! A change that must be atomic is one method, taking the events it causes;
//! transactions never leak out of a store.

use async_trait::async_trait;

use crate::attachment::{AttachmentQuery, NewAttachment};
use crate::conversation::{
    Access, Conversation, ConversationListQuery, ConversationPatch, ConversationView, LeaveMode,
    LeaveOutcome, Member, MemberListQuery, MembersChanged, MembershipView, NewConversation,
    PreferencesPatch, ReadCursorUpdate, Role, UnreadTotals,
};
use crate::events::{EventsFor, OutboxEvent};
use crate::message::{
    Attachment, LinkPreview, Message, MessagePatch, MessageRange, MessageView, NewMessage,
    NewReport, Pin, PinChange, PinListQuery, Reaction, ReactionChange, ReactionListQuery,
    ReactionRequest, UnfurlJob,
};
use crate::search::{MessageSearch, SearchHit};
use crate::user::User;
use crate::{
    AttachmentId, ChatError, ConversationId, EventId, MessageId, OrgId, Timestamp, UserId,
};

/// Tells the time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in milliseconds.
    fn now(&self) -> Timestamp;
}

/// Makes unique event ids.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait EventIds: Send + Sync {
    /// A fresh, globally unique id.
    fn next_event_id(&self) -> EventId;
}

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
    pub parent: Option<MessageView>,
    /// For conversations of at most `NewMessage::unread_fanout_max` members:
    /// every other member's unread figures after the send. Empty otherwise.
    pub member_unread: Vec<MemberUnread>,
    /// The conversation has more members than `unread_fanout_max`.
    pub large: bool,
}

/// A member's unread figures in one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberUnread {
    pub user_id: UserId,
    pub unread_count: i64,
    pub mention_count: i64,
}

/// The user directory, fed from token claims.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Creates or refreshes the user. A user seen for the first time joins
    /// every org-wide channel of their org.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn provision(&self, user: User, now: Timestamp) -> Result<(), ChatError>;

    /// The users of `org` among `ids`; unknown ids and other orgs' users are
    /// left out.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find_in_org(&self, org: OrgId, ids: &[UserId]) -> Result<Vec<User>, ChatError>;
}

/// Conversations, memberships and read state.
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

    /// A page of members (oldest first) and how many match the filter.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn members(&self, query: MemberListQuery) -> Result<(Vec<Member>, i64), ChatError>;

    /// Adds users as members (existing members are left as they are). Late
    /// joiners start with their read cursor at the newest message, and with
    /// `sinceJoin` history from there. Refuses, atomically, to grow past
    /// `max_members`.
    ///
    /// # Errors
    /// `Conflict` when the capacity would be exceeded; `NotFound` when the
    /// conversation is gone; `Unavailable` / `Unexpected`.
    async fn add_members(
        &self,
        id: ConversationId,
        users: Vec<UserId>,
        max_members: Option<i64>,
        now: Timestamp,
        events: EventsFor<MembersChanged>,
    ) -> Result<Vec<Member>, ChatError>;

    /// Removes a member. Refuses, atomically, to remove the last owner.
    ///
    /// # Errors
    /// `NotFound` when not a member; `Conflict` for the last owner.
    async fn remove_member(
        &self,
        id: ConversationId,
        user: UserId,
        events: EventsFor<MembersChanged>,
    ) -> Result<Member, ChatError>;

    /// Changes a member's role. Refuses, atomically, to demote the last owner.
    ///
    /// # Errors
    /// `NotFound` when not a member; `Conflict` for the last owner.
    async fn change_role(
        &self,
        id: ConversationId,
        user: UserId,
        role: Role,
        events: EventsFor<Member>,
    ) -> Result<Member, ChatError>;

    /// The caller leaves: hidden, or removed with ownership handed to the
    /// longest-standing member when the last owner goes (and the conversation
    /// deleted when nobody is left).
    ///
    /// # Errors
    /// `NotFound` when not a member; `Unavailable` / `Unexpected`.
    async fn leave(
        &self,
        id: ConversationId,
        user: UserId,
        mode: LeaveMode,
        events: EventsFor<LeaveOutcome>,
    ) -> Result<LeaveOutcome, ChatError>;

    /// Changes the member's own preferences.
    ///
    /// # Errors
    /// `NotFound` when not a member; `Unavailable` / `Unexpected`.
    async fn update_preferences(
        &self,
        id: ConversationId,
        user: UserId,
        patch: PreferencesPatch,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError>;

    /// The user's unread totals over conversations neither hidden nor muted
    /// at `now`.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn unread_totals(&self, user: UserId, now: Timestamp) -> Result<UnreadTotals, ChatError>;
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

    /// Adds, removes or toggles `user`'s `emoji` on a message; refuses a new
    /// distinct emoji past `max_distinct`, atomically.
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

    /// Messages matching a search in the conversations the viewer reads
    /// (within their history, never deleted ones), newest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn search(&self, search: MessageSearch) -> Result<Vec<SearchHit>, ChatError>;

    /// Stores a report; `false` when this reporter already reported it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn report(&self, report: NewReport) -> Result<bool, ChatError>;
}

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

/// Whether the stores can serve requests (readiness).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Succeeds when the store answers.
    ///
    /// # Errors
    /// `Unavailable` when it does not.
    async fn ping(&self) -> Result<(), ChatError>;
}

/// One outbox row: a Centrifugo server-API call, already encoded. Only the
/// relay reads them; the domain never looks inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRow {
    pub id: i64,
    /// `publish` or `broadcast`.
    pub method: String,
    /// The call's params as JSON, with an `idempotency_key`.
    pub payload: String,
}

/// What delivering one row came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered: delete the row.
    Delivered,
    /// Refused for good (Centrifugo's error `code`, any but an internal
    /// one): move the row to the dead letters, it will never pass.
    Rejected { code: i64, message: String },
    /// Not delivered, but it may pass later: keep this row and every row
    /// after it in the partition, and try again.
    Retry,
}

/// Delivers outbox rows, in order.
#[async_trait]
pub trait OutboxSink: Send + Sync {
    /// Delivers `rows` in order (one call for the whole batch); one outcome
    /// per row, in the same order.
    async fn deliver(&self, rows: &[RelayRow]) -> Vec<Delivery>;
}

/// How the outbox stands, for the gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Rows waiting.
    pub depth: i64,
    /// Age of the oldest waiting row, in milliseconds.
    pub oldest_ms: i64,
    /// Rows Centrifugo refused for good, kept for an operator.
    pub dead_letters: i64,
}

/// What one drain of a partition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Another worker (any replica, or Centrifugo's own consumer) holds the
    /// partition.
    Busy,
    /// `delivered` rows went out (and `rejected` were dropped); `more` when
    /// the batch was full, so more rows may wait.
    Done {
        delivered: usize,
        rejected: usize,
        more: bool,
    },
    /// Delivery failed after `delivered` rows; the rest stay for a retry.
    Stalled { delivered: usize },
}

/// The outbox, as the relay drains it.
#[async_trait]
pub trait OutboxRelayStore: Send + Sync {
    /// Under the partition's lock, hands up to `limit` rows to `sink` in id
    /// order and deletes those it delivered or rejected, in one transaction:
    /// a relay that dies mid-batch loses nothing.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn drain(
        &self,
        partition: i32,
        limit: usize,
        sink: &dyn OutboxSink,
    ) -> Result<Drained, ChatError>;

    /// How many rows wait, how old the oldest is, and how many were refused.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn backlog(&self) -> Result<Backlog, ChatError>;
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

/// The unfurl queue, the preview cache, and previews on messages.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LinkPreviewRepository: Send + Sync {
    /// Takes up to `limit` queued jobs off the queue. A job taken is never
    /// handed out again: previews are best-effort, nothing retries forever.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn take_unfurl_jobs(&self, limit: usize) -> Result<Vec<UnfurlJob>, ChatError>;

    /// The cached result for `url` if fetched at or after `fresh_after`:
    /// `Some(None)` is a cached failure.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn cached_preview(
        &self,
        url: &str,
        fresh_after: Timestamp,
    ) -> Result<Option<Option<LinkPreview>>, ChatError>;

    /// Caches the result of fetching `url` (`None`: nothing usable).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn cache_preview(
        &self,
        url: &str,
        preview: Option<LinkPreview>,
        at: Timestamp,
    ) -> Result<(), ChatError>;

    /// Sets a live message's previews and writes its events; `None` when the
    /// message is gone or deleted (nothing written).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn attach_previews(
        &self,
        message: MessageId,
        previews: Vec<LinkPreview>,
        events: EventsFor<MessageView>,
    ) -> Result<Option<MessageView>, ChatError>;
}

/// Fetches and parses a link's preview, safely (only public addresses).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LinkFetcher: Send + Sync {
    /// The preview of `url`, or `None` when it cannot or may not be fetched,
    /// or has nothing to show.
    async fn fetch(&self, url: &str) -> Option<LinkPreview>;
}

/// Attachments as stored (the rows; the bytes are in the [`ObjectStore`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AttachmentRepository: Send + Sync {
    /// Creates an attachment.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn create_attachment(&self, new: NewAttachment) -> Result<Attachment, ChatError>;

    /// The attachment, whoever uploaded it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find_attachment(&self, id: AttachmentId) -> Result<Option<Attachment>, ChatError>;

    /// Marks a pending attachment ready.
    ///
    /// # Errors
    /// `NotFound` when gone.
    async fn mark_ready(&self, id: AttachmentId) -> Result<Attachment, ChatError>;

    /// Links a ready, unlinked attachment to a live message and writes the
    /// message's events.
    ///
    /// # Errors
    /// `Conflict` when it is linked already or the message is deleted.
    async fn link_attachment(
        &self,
        id: AttachmentId,
        message: MessageId,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError>;

    /// A page of a conversation's sent attachments (live messages within the
    /// viewer's history), newest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn list_attachments(&self, query: AttachmentQuery) -> Result<Vec<Attachment>, ChatError>;

    /// Pending attachments created before `before`, oldest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn stale_attachments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, ChatError>;

    /// Deletes a pending attachment's row.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn delete_attachment(&self, id: AttachmentId) -> Result<(), ChatError>;
}

/// Bytes to store, pulled chunk by chunk (so a file is never held whole).
#[async_trait]
pub trait ByteSource: Send {
    /// The next chunk, or `None` at the end.
    ///
    /// # Errors
    /// When the source fails (a broken upload).
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ChatError>;
}

/// Where attachment bytes live (R2, or memory in the zero-config mode).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A presigned `PUT` for `key`: the URL and the headers the upload must
    /// carry. Computed locally, no IO.
    ///
    /// # Errors
    /// `Unexpected` when the URL cannot be made.
    fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: i64,
        expires_in_secs: u64,
    ) -> Result<(String, Vec<(String, String)>), ChatError>;

    /// A URL to download `key`: presigned with an expiry, or public.
    fn download_url(&self, key: &str, expires_in_secs: u64) -> String;

    /// The stored object's size, `None` when there is no object.
    ///
    /// # Errors
    /// `Unavailable` when the store does not answer.
    async fn object_size(&self, key: &str) -> Result<Option<i64>, ChatError>;

    /// Stores `body` at `key`, refusing past `max_size` bytes; returns the
    /// size stored.
    ///
    /// # Errors
    /// `PayloadTooLarge` past `max_size`; `Unavailable` when the store fails.
    async fn put_object(
        &self,
        key: &str,
        content_type: &str,
        body: Box<dyn ByteSource>,
        max_size: i64,
    ) -> Result<i64, ChatError>;

    /// Deletes `key` (no error when it is already gone).
    ///
    /// # Errors
    /// `Unavailable` when the store does not answer.
    async fn delete_object(&self, key: &str) -> Result<(), ChatError>;
}
