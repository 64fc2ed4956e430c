//! Conversations, their members and the per-member state (role, read cursor,
//! preferences).

use crate::message::MessagePreview;
use crate::user::User;
use crate::{AttachmentId, ConversationId, MessageId, OrgId, Timestamp, UserId};

/// Defines a closed set of names with their wire spelling.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The contract's spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses the contract's spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

named_enum!(
    /// What a conversation is.
    ConversationKind {
        /// 1:1 (or with oneself).
        Direct = "direct",
        /// A small private group.
        Group = "group",
        /// A named channel, private or org-wide.
        Channel = "channel",
    }
);

named_enum!(
    /// Who is a member.
    Visibility {
        /// Only members added explicitly.
        Private = "private",
        /// Every member of the org, implicitly.
        Org = "org",
    }
);

named_enum!(
    /// What history a member added later sees.
    HistoryMode {
        /// Everything.
        Full = "full",
        /// Only messages sent after they joined.
        SinceJoin = "sinceJoin",
    }
);

named_enum!(
    /// Who may send messages.
    PostingPolicy {
        Everyone = "everyone",
        /// Owners and admins only.
        Admins = "admins",
    }
);

named_enum!(
    /// A member's role.
    Role {
        Owner = "owner",
        Admin = "admin",
        Member = "member",
    }
);

named_enum!(
    /// Which messages notify a member.
    NotifyLevel {
        All = "all",
        Mentions = "mentions",
        Everyone = "everyone",
        None = "none",
    }
);

impl Role {
    /// Owners and admins administer a conversation.
    pub const fn is_admin(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// A conversation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub org_id: OrgId,
    pub kind: ConversationKind,
    pub visibility: Visibility,
    pub history_mode: HistoryMode,
    pub posting_policy: PostingPolicy,
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_file_id: Option<AttachmentId>,
    /// Serialized JSON object.
    pub metadata: Option<String>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub archived_at: Option<Timestamp>,
    /// When the newest top-level message was sent.
    pub last_message_at: Option<Timestamp>,
    /// The newest `seq` handed out (replies included); 0 before any message.
    pub last_seq: i64,
    pub member_count: i64,
    /// The number of the conversation's newest event (`eventSeq` on
    /// `chat:<id>`); 0 before any.
    pub last_event_seq: i64,
}

impl Conversation {
    /// The instant lists sort by: the newest top-level message, else creation.
    pub fn activity_at(&self) -> Timestamp {
        self.last_message_at.unwrap_or(self.created_at)
    }

    /// Archived conversations are read-only for content.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// One user's membership of one conversation, with their private state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: Timestamp,
    /// Messages with `seq` at or below this are not visible to the member
    /// (`sinceJoin` history for members added later; 0 otherwise).
    pub history_from_seq: i64,
    /// Events numbered at or below this are not the member's: the
    /// conversation's `lastEventSeq` when a `sinceJoin` member was added
    /// later, 0 otherwise.
    pub history_from_event_seq: i64,
    /// The read cursor: messages with `seq` at or below it are read.
    pub last_read_seq: i64,
    pub last_read_message_id: Option<MessageId>,
    pub starred: bool,
    pub mute_until: Option<Timestamp>,
    pub notify_level: NotifyLevel,
    /// Left (a DM or org channel): hidden until the member posts or is
    /// mentioned there.
    pub hidden: bool,
}

impl Membership {
    /// Whether the member sees the message with this `seq`.
    pub fn sees_seq(&self, seq: i64) -> bool {
        seq > self.history_from_seq
    }

    /// Whether the member sees a conversation event when catching up: from
    /// the moment they could read the conversation on, and never one about a
    /// message they cannot see.
    pub fn sees_event(&self, event_seq: i64, message_seq: Option<i64>) -> bool {
        event_seq > self.history_from_event_seq && message_seq.is_none_or(|seq| self.sees_seq(seq))
    }

    /// What the store filters a catch-up read by, for [`Self::sees_event`].
    pub fn event_visibility(&self) -> crate::catch_up::EventVisibility {
        crate::catch_up::EventVisibility {
            from_event_seq: self.history_from_event_seq,
            hidden_through_message_seq: self.history_from_seq,
        }
    }
}

/// A membership with its unread figures, as the member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipView {
    pub membership: Membership,
    pub unread_count: i64,
    pub mention_count: i64,
}

/// A member as listed: the user and their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: Timestamp,
}

/// A conversation with what a sidebar needs to render it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub last_message: Option<MessagePreview>,
    /// Up to five members other than the viewer (direct and group only). In
    /// events, which have no viewer, up to five members.
    pub other_members: Vec<User>,
    /// The viewer's membership; `None` in events.
    pub membership: Option<MembershipView>,
    /// A download URL of the avatar, filled in by the service.
    pub avatar_url: Option<String>,
}

/// The caller's access to a conversation: the conversation and, when the
/// caller is a member, their membership. No membership means not readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub conversation: Conversation,
    pub membership: Membership,
}

impl Access {
    /// Whether the member sees the message with this `seq`.
    pub fn sees_seq(&self, seq: i64) -> bool {
        self.membership.sees_seq(seq)
    }
}

/// A conversation to create. The store adds the creator as owner, the listed
/// members as members, and for org channels every user of the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConversation {
    pub org_id: OrgId,
    pub kind: ConversationKind,
    pub visibility: Visibility,
    pub history_mode: HistoryMode,
    pub posting_policy: PostingPolicy,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<String>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// Explicit members besides the creator.
    pub member_ids: Vec<UserId>,
    /// For direct conversations, the pair that makes it unique in its org.
    pub direct_pair: Option<DirectPair>,
}

/// The two users of a direct conversation, in a canonical order so that
/// either side finds the same DM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DirectPair {
    low: UserId,
    high: UserId,
}

impl DirectPair {
    /// The pair of `a` and `b`, in either order; `a == b` is a DM with oneself.
    pub fn new(a: UserId, b: UserId) -> Self {
        Self {
            low: a.min(b),
            high: a.max(b),
        }
    }

    /// A stable text key, unique per pair.
    pub fn key(self) -> String {
        format!("{}:{}", self.low, self.high)
    }
}

/// Filters and position of a list-conversations page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationListQuery {
    pub viewer: UserId,
    /// Empty means every kind.
    pub kinds: Vec<ConversationKind>,
    pub starred: Option<bool>,
    /// `true` lists only archived conversations, `false` leaves them out.
    pub archived: bool,
    pub include_hidden: bool,
    /// Start strictly after this position (newest activity first).
    pub after: Option<ConversationCursor>,
    pub limit: usize,
}

/// A position in list-conversations: activity instant, then id, descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    pub activity_at: Timestamp,
    pub id: ConversationId,
}

/// A move of a member's read cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCursorUpdate {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub seq: i64,
    pub message_id: Option<MessageId>,
    /// Forward-only unless the member asked to mark unread.
    pub forward_only: bool,
}

/// The caller's unread figures across conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnreadTotals {
    pub total_unread: i64,
    pub unread_conversation_count: i64,
    pub mention_count: i64,
}

/// A change to a conversation's shared state. `None` leaves a field as it
/// is; `Some(None)` clears a clearable one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConversationPatch {
    pub kind: Option<ConversationKind>,
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub avatar_file_id: Option<Option<AttachmentId>>,
    pub posting_policy: Option<PostingPolicy>,
    pub metadata: Option<Option<String>>,
    pub archived_at: Option<Option<Timestamp>>,
}

impl ConversationPatch {
    /// Applies the change to `conversation`, stamping `updated_at`. A store
    /// that holds conversations as values calls this; the PostgreSQL store
    /// says the same in one `UPDATE`.
    pub fn apply_to(self, conversation: &mut Conversation, now: Timestamp) {
        let Self {
            kind,
            name,
            description,
            avatar_file_id,
            posting_policy,
            metadata,
            archived_at,
        } = self;
        if let Some(kind) = kind {
            conversation.kind = kind;
        }
        if let Some(name) = name {
            conversation.name = name;
        }
        if let Some(description) = description {
            conversation.description = description;
        }
        if let Some(avatar_file_id) = avatar_file_id {
            conversation.avatar_file_id = avatar_file_id;
        }
        if let Some(posting_policy) = posting_policy {
            conversation.posting_policy = posting_policy;
        }
        if let Some(metadata) = metadata {
            conversation.metadata = metadata;
        }
        if let Some(archived_at) = archived_at {
            conversation.archived_at = archived_at;
        }
        conversation.updated_at = now;
    }
}

/// A page of a conversation's members, oldest members first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberListQuery {
    pub conversation_id: ConversationId,
    pub role: Option<Role>,
    /// Start strictly after this member.
    pub after: Option<MemberCursor>,
    pub limit: usize,
}

/// A position in a member list: join instant, then user id, ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberCursor {
    pub joined_at: Timestamp,
    pub user_id: UserId,
}

/// Members added to or removed from a conversation, with the conversation as
/// events show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersChanged {
    pub conversation: ConversationView,
    pub members: Vec<Member>,
}

/// How a member leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveMode {
    /// Direct and org conversations: hidden until they post or are mentioned.
    Hide,
    /// Groups and private channels: the membership goes.
    Remove,
}

/// What leaving did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveOutcome {
    /// The conversation as events show it (before it was deleted, if it was).
    pub conversation: ConversationView,
    /// The member who left, as they were.
    pub left: Member,
    /// The caller's membership after hiding (`Hide` only).
    pub hidden: Option<MembershipView>,
    /// The longest-standing member, made owner because the last owner left.
    pub new_owner: Option<Member>,
    /// Nobody was left: the conversation was deleted.
    pub deleted: bool,
}

/// A change to a member's own preferences.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreferencesPatch {
    pub starred: Option<bool>,
    pub mute_until: Option<Option<Timestamp>>,
    pub notify_level: Option<NotifyLevel>,
}
