//! What the cases share: requests built with the defaults, and the steps
//! every case takes (start a conversation, send a message).

use chat_domain::ConversationId;
use chat_domain::conversation::{ConversationKind, ConversationListQuery, HistoryMode, Visibility};
use chat_domain::message::MessageView;
use chat_domain::service::{CreateConversation, ListMessages, MessagePage, SendMessage};
use chat_domain::user::Caller;

use crate::Harness;

pub(crate) fn create(kind: ConversationKind) -> CreateConversation {
    CreateConversation {
        kind,
        user_id: None,
        name: None,
        description: None,
        member_ids: Vec::new(),
        visibility: None,
        history_mode: None,
        posting_policy: None,
        metadata: None,
    }
}

pub(crate) fn dm_with(other: Caller) -> CreateConversation {
    CreateConversation {
        user_id: Some(other.user_id),
        ..create(ConversationKind::Direct)
    }
}

/// A group of the caller and `members` (public: store-specific tests use it).
pub fn group_of(members: &[Caller]) -> CreateConversation {
    CreateConversation {
        member_ids: members.iter().map(|m| m.user_id).collect(),
        ..create(ConversationKind::Group)
    }
}

pub(crate) fn org_channel(name: &str, history: HistoryMode) -> CreateConversation {
    CreateConversation {
        name: Some(name.to_owned()),
        visibility: Some(Visibility::Org),
        history_mode: Some(history),
        ..create(ConversationKind::Channel)
    }
}

/// A plain text message (public: store-specific tests use it).
pub fn text(conversation: ConversationId, content: &str) -> SendMessage {
    SendMessage {
        conversation_id: conversation,
        content: content.to_owned(),
        client_msg_id: None,
        parent_id: None,
        quoted_message_id: None,
        mentions: Vec::new(),
        mention_everyone: false,
        gif: None,
        metadata: None,
        attachment_ids: Vec::new(),
    }
}

pub(crate) fn list(conversation: ConversationId) -> ListMessages {
    ListMessages {
        conversation_id: conversation,
        parent_id: None,
        before: None,
        after: None,
        around: None,
        anchor: None,
        limit: None,
        has_replies: None,
    }
}

pub(crate) fn conversations_of(viewer: Caller) -> ConversationListQuery {
    ConversationListQuery {
        viewer: viewer.user_id,
        kinds: Vec::new(),
        starred: None,
        archived: false,
        include_hidden: false,
        after: None,
        limit: 0,
    }
}

pub(crate) async fn start(
    h: &Harness,
    owner: Caller,
    request: CreateConversation,
) -> ConversationId {
    h.service
        .create_conversation(owner, request)
        .await
        .unwrap()
        .value
        .conversation
        .id
}

pub(crate) async fn send(
    h: &Harness,
    from: Caller,
    conversation: ConversationId,
    content: &str,
) -> MessageView {
    h.service
        .send_message(from, text(conversation, content))
        .await
        .unwrap()
        .value
}

pub(crate) fn contents(page: &MessagePage) -> Vec<&str> {
    page.messages
        .iter()
        .map(|m| m.message.content.as_str())
        .collect()
}
