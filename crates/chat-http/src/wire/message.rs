//! Message shapes.

use std::collections::BTreeMap;

use chat_domain::message::{Attachment, LinkPreview, MessageView, QuotedMessage};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{UserSummaryDto, WireId, WireTime, raw_json, wire_time};

/// `Message`. A deleted message is a tombstone: content empty, gif and
/// metadata null, mentions, attachments and link previews empty. In an
/// event (`message.created`, `message.updated`, `message.deleted`) it is the
/// message as get-message answers it at that commit, for nobody in
/// particular: `userReactions` is `[]`, and a client replacing its copy
/// keeps its own reactions from its copy.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageDto {
    id: WireId,
    conversation_id: WireId,
    seq: i64,
    sender: UserSummaryDto,
    content: String,
    #[schema(required = true)]
    gif: Option<String>,
    mentions: Vec<WireId>,
    mention_everyone: bool,
    #[schema(required = true)]
    parent_id: Option<WireId>,
    thread_reply_count: i64,
    #[schema(required = true)]
    last_reply_at: Option<WireTime>,
    #[schema(required = true)]
    quoted_message: Option<QuotedMessageDto>,
    #[schema(value_type = Option<crate::wire::names::Metadata>, required = true)]
    metadata: Option<Box<RawValue>>,
    #[schema(required = true)]
    client_msg_id: Option<String>,
    attachments: Vec<AttachmentDto>,
    link_previews: Vec<LinkPreviewDto>,
    /// Emoji and how many reacted with it.
    reaction_counts: BTreeMap<String, i64>,
    /// The caller's own reactions; always `[]` in events, which have no
    /// viewer.
    user_reactions: Vec<String>,
    pinned: bool,
    #[schema(required = true)]
    edited_at: Option<WireTime>,
    #[schema(required = true)]
    deleted_at: Option<WireTime>,
    created_at: WireTime,
}

impl From<&MessageView> for MessageDto {
    fn from(view: &MessageView) -> Self {
        let m = &view.message;
        let live = !m.is_deleted();
        Self {
            id: WireId(m.id.get()),
            conversation_id: WireId(m.conversation_id.get()),
            seq: m.seq,
            sender: UserSummaryDto::from(&view.sender),
            content: if live {
                m.content.clone()
            } else {
                String::new()
            },
            gif: m.gif.clone().filter(|_| live),
            mentions: if live {
                m.mentions.iter().map(|u| WireId(u.get())).collect()
            } else {
                Vec::new()
            },
            mention_everyone: m.mention_everyone && live,
            parent_id: m.parent_id.map(|p| WireId(p.get())),
            thread_reply_count: m.thread_reply_count,
            last_reply_at: wire_time(m.last_reply_at),
            quoted_message: view.quoted.as_ref().map(QuotedMessageDto::from),
            metadata: if live {
                raw_json(m.metadata.as_deref())
            } else {
                None
            },
            client_msg_id: m.client_msg_id.clone(),
            attachments: if live {
                view.attachments.iter().map(AttachmentDto::from).collect()
            } else {
                Vec::new()
            },
            link_previews: if live {
                view.link_previews
                    .iter()
                    .map(LinkPreviewDto::from)
                    .collect()
            } else {
                Vec::new()
            },
            reaction_counts: view.reaction_counts.iter().cloned().collect(),
            user_reactions: view.user_reactions.clone(),
            pinned: view.pinned,
            edited_at: wire_time(m.edited_at),
            deleted_at: wire_time(m.deleted_at),
            created_at: WireTime(m.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct QuotedMessageDto {
    id: WireId,
    sender: UserSummaryDto,
    content: String,
    deleted: bool,
}

impl From<&QuotedMessage> for QuotedMessageDto {
    fn from(q: &QuotedMessage) -> Self {
        Self {
            id: WireId(q.id.get()),
            sender: UserSummaryDto::from(&q.sender),
            content: if q.deleted {
                String::new()
            } else {
                q.content.clone()
            },
            deleted: q.deleted,
        }
    }
}

/// `Attachment`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDto {
    id: WireId,
    conversation_id: WireId,
    #[schema(required = true)]
    message_id: Option<WireId>,
    uploader_id: WireId,
    filename: String,
    content_type: String,
    size: i64,
    #[schema(value_type = crate::wire::names::AttachmentStatusName)]
    status: &'static str,
    #[schema(required = true)]
    url: Option<String>,
    created_at: WireTime,
}

impl From<&Attachment> for AttachmentDto {
    fn from(a: &Attachment) -> Self {
        Self {
            id: WireId(a.id.get()),
            conversation_id: WireId(a.conversation_id.get()),
            message_id: a.message_id.map(|m| WireId(m.get())),
            uploader_id: WireId(a.uploader_id.get()),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            status: if a.ready { "ready" } else { "pending" },
            url: a.url.clone(),
            created_at: WireTime(a.created_at),
        }
    }
}

/// `LinkPreview`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct LinkPreviewDto {
    url: String,
    #[schema(required = true)]
    title: Option<String>,
    #[schema(required = true)]
    description: Option<String>,
    #[schema(required = true)]
    image_url: Option<String>,
    #[schema(required = true)]
    site_name: Option<String>,
}

impl From<&LinkPreview> for LinkPreviewDto {
    fn from(p: &LinkPreview) -> Self {
        Self {
            url: p.url.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            image_url: p.image_url.clone(),
            site_name: p.site_name.clone(),
        }
    }
}
