//! Conversation, membership and user shapes.

use chat_domain::conversation::{ConversationView, MembershipView};
use chat_domain::message::MessagePreview;
use chat_domain::user::User;
use serde::Serialize;
use serde_json::value::RawValue;

use super::{WireId, WireTime, raw_json, wire_time};

/// `UserSummary`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummaryDto {
    id: WireId,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    username: Option<String>,
    #[schema(required = true)]
    avatar_url: Option<String>,
}

impl From<&User> for UserSummaryDto {
    fn from(user: &User) -> Self {
        Self {
            id: WireId(user.id.get()),
            name: user.name.clone(),
            username: user.username.clone(),
            avatar_url: user.avatar_url.clone(),
        }
    }
}

/// `Conversation`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDto {
    id: WireId,
    #[schema(value_type = crate::wire::names::ConversationKindName)]
    kind: &'static str,
    #[schema(value_type = crate::wire::names::VisibilityName)]
    visibility: &'static str,
    #[schema(value_type = crate::wire::names::HistoryModeName)]
    history_mode: &'static str,
    #[schema(value_type = crate::wire::names::PostingPolicyName)]
    posting_policy: &'static str,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    description: Option<String>,
    #[schema(required = true)]
    avatar_file_id: Option<WireId>,
    #[schema(required = true)]
    avatar_url: Option<String>,
    #[schema(value_type = Option<crate::wire::names::Metadata>, required = true)]
    metadata: Option<Box<RawValue>>,
    created_by: WireId,
    created_at: WireTime,
    updated_at: WireTime,
    #[schema(required = true)]
    archived_at: Option<WireTime>,
    #[schema(required = true)]
    last_message_at: Option<WireTime>,
    #[schema(required = true)]
    last_message: Option<MessagePreviewDto>,
    last_seq: i64,
    member_count: i64,
    /// The number of the conversation's newest event (`eventSeq` on
    /// `chat:<id>`).
    last_event_seq: i64,
    other_members: Vec<UserSummaryDto>,
    /// Absent in events (which have no viewer), always present in responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    membership: Option<MembershipDto>,
}

impl From<&ConversationView> for ConversationDto {
    fn from(view: &ConversationView) -> Self {
        let c = &view.conversation;
        Self {
            id: WireId(c.id.get()),
            kind: c.kind.as_str(),
            visibility: c.visibility.as_str(),
            history_mode: c.history_mode.as_str(),
            posting_policy: c.posting_policy.as_str(),
            name: c.name.clone(),
            description: c.description.clone(),
            avatar_file_id: c.avatar_file_id.map(|a| WireId(a.get())),
            avatar_url: view.avatar_url.clone(),
            metadata: raw_json(c.metadata.as_deref()),
            created_by: WireId(c.created_by.get()),
            created_at: WireTime(c.created_at),
            updated_at: WireTime(c.updated_at),
            archived_at: wire_time(c.archived_at),
            last_message_at: wire_time(c.last_message_at),
            last_message: view.last_message.as_ref().map(MessagePreviewDto::from),
            last_seq: c.last_seq,
            member_count: c.member_count,
            last_event_seq: c.last_event_seq,
            other_members: view
                .other_members
                .iter()
                .map(UserSummaryDto::from)
                .collect(),
            membership: view.membership.as_ref().map(MembershipDto::from),
        }
    }
}

/// The last message as a sidebar shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct MessagePreviewDto {
    id: WireId,
    seq: i64,
    sender: UserSummaryDto,
    content: String,
    created_at: WireTime,
    #[schema(required = true)]
    deleted_at: Option<WireTime>,
}

impl From<&MessagePreview> for MessagePreviewDto {
    fn from(p: &MessagePreview) -> Self {
        Self {
            id: WireId(p.id.get()),
            seq: p.seq,
            sender: UserSummaryDto::from(&p.sender),
            content: p.content.clone(),
            created_at: WireTime(p.created_at),
            deleted_at: wire_time(p.deleted_at),
        }
    }
}

/// The caller's `membership`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDto {
    #[schema(value_type = crate::wire::names::RoleName)]
    role: &'static str,
    joined_at: WireTime,
    #[schema(required = true)]
    last_read_message_id: Option<WireId>,
    unread_count: i64,
    mention_count: i64,
    starred: bool,
    #[schema(required = true)]
    mute_until: Option<WireTime>,
    #[schema(value_type = crate::wire::names::NotifyLevelName)]
    notify_level: &'static str,
    hidden: bool,
}

impl From<&MembershipView> for MembershipDto {
    fn from(view: &MembershipView) -> Self {
        let m = &view.membership;
        Self {
            role: m.role.as_str(),
            joined_at: WireTime(m.joined_at),
            last_read_message_id: m.last_read_message_id.map(|id| WireId(id.get())),
            unread_count: view.unread_count,
            mention_count: view.mention_count,
            starred: m.starred,
            mute_until: wire_time(m.mute_until),
            notify_level: m.notify_level.as_str(),
            hidden: m.hidden,
        }
    }
}
