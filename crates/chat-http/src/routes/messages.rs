//! Message operations: send, list, get.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chat_domain::service::{Anchor, ListMessages, SendMessage};
use chat_domain::{AttachmentId, ConversationId, MessageId, UserId};
use serde::{Deserialize, Serialize};

use super::conversations::Empty;
use super::message_path;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::multipart::read_multipart_send;
use crate::wire::{MessageDto, WireId};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/messages/send", send))
        .service(super::operation("/chat/messages/list", list))
        .service(super::operation("/chat/messages/{id}/get", get));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SendMessageRequest {
    conversation_id: WireId,
    content: Option<String>,
    client_msg_id: Option<String>,
    parent_id: Option<WireId>,
    quoted_message_id: Option<WireId>,
    mentions: Option<Vec<WireId>>,
    mention_everyone: Option<bool>,
    gif: Option<String>,
    #[schema(value_type = Option<crate::wire::names::Metadata>)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    attachment_ids: Option<Vec<WireId>>,
}

/// send-message: a JSON body, or `multipart/form-data` with a `payload` part
/// (the same JSON) followed by up to ten `file` parts.
#[utoipa::path(
    post,
    path = "/chat/messages/send",
    operation_id = "sendMessage",
    tag = "messages",
    summary = "send-message (201; 200 with the original for a repeated clientMsgId; also multipart/form-data with a payload part and file parts)",
    request_body(content(
        (SendMessageRequest = "application/json"),
        (MultipartSendRequest = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Created", body = MessageDto),
        (status = 200, description = "Already there (an existing direct conversation, a repeated clientMsgId)", body = MessageDto),
    ),
)]
pub(super) async fn send(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (body, uploaded) = if multipart {
        read_multipart_send(
            &state,
            caller,
            &request,
            payload,
            |b: &SendMessageRequest| ConversationId::new(b.conversation_id.0),
        )
        .await?
    } else {
        let JsonBody(body) =
            JsonBody::<SendMessageRequest>::from_request(&request, &mut payload.into_inner())
                .await?;
        (body, Vec::new())
    };
    let mut request = body.into_domain();
    request.attachment_ids.extend(uploaded);
    let sent = state.chat.send_message(caller, request).await?;
    let dto = MessageDto::from(&sent.value);
    Ok(if sent.is_new {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

impl SendMessageRequest {
    fn into_domain(self) -> SendMessage {
        SendMessage {
            conversation_id: ConversationId::new(self.conversation_id.0),
            content: self.content.unwrap_or_default(),
            client_msg_id: self.client_msg_id,
            parent_id: self.parent_id.map(|id| MessageId::new(id.0)),
            quoted_message_id: self.quoted_message_id.map(|id| MessageId::new(id.0)),
            mentions: self
                .mentions
                .unwrap_or_default()
                .into_iter()
                .map(|id| UserId::new(id.0))
                .collect(),
            mention_everyone: self.mention_everyone.unwrap_or(false),
            gif: self.gif,
            metadata: self
                .metadata
                .map(|m| serde_json::Value::Object(m).to_string()),
            attachment_ids: self
                .attachment_ids
                .unwrap_or_default()
                .into_iter()
                .map(|id| AttachmentId::new(id.0))
                .collect(),
        }
    }
}

/// send-message as `multipart/form-data`, for the API description: the
/// handler reads the parts itself (`read_multipart`).
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the wire shape for the OpenAPI document only"
)]
pub(super) struct MultipartSendRequest {
    /// The send-message JSON body, as text; the first part.
    payload: String,
    /// Up to ten files, after the payload.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListMessagesRequest {
    conversation_id: WireId,
    parent_id: Option<WireId>,
    before: Option<WireId>,
    after: Option<WireId>,
    around: Option<WireId>,
    #[schema(value_type = Option<crate::wire::names::AnchorName>)]
    anchor: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    filters: Option<Filters>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct Filters {
    has_replies: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MessagePageDto {
    has_older: bool,
    has_newer: bool,
    #[schema(required = true)]
    oldest_id: Option<WireId>,
    #[schema(required = true)]
    newest_id: Option<WireId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MessageList {
    data: Vec<MessageDto>,
    page: MessagePageDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<String>,
}

#[utoipa::path(
    post,
    path = "/chat/messages/list",
    operation_id = "listMessages",
    tag = "messages",
    summary = "list-messages",
    request_body = ListMessagesRequest,
    responses(
        (status = 200, description = "Success", body = MessageList),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<ListMessagesRequest>,
) -> Result<HttpResponse, ApiError> {
    let anchor = match body.anchor.as_deref() {
        None => None,
        Some("newest") => Some(Anchor::Newest),
        Some("oldest") => Some(Anchor::Oldest),
        Some("firstUnread") => Some(Anchor::FirstUnread),
        Some(other) => {
            return Err(ApiError::validation(
                "anchor",
                format!("unknown anchor {other:?}"),
            ));
        }
    };
    let request = ListMessages {
        conversation_id: ConversationId::new(body.conversation_id.0),
        parent_id: body.parent_id.map(|id| MessageId::new(id.0)),
        before: body.before.map(|id| MessageId::new(id.0)),
        after: body.after.map(|id| MessageId::new(id.0)),
        around: body.around.map(|id| MessageId::new(id.0)),
        anchor,
        limit: body.limit,
        has_replies: body.filters.and_then(|f| f.has_replies),
    };
    let page = state.chat.list_messages(caller, request).await?;
    let id_of =
        |i: Option<&chat_domain::message::MessageView>| i.map(|v| WireId(v.message.id.get()));
    Ok(HttpResponse::Ok().json(MessageList {
        page: MessagePageDto {
            has_older: page.has_older,
            has_newer: page.has_newer,
            oldest_id: id_of(page.messages.first()),
            newest_id: id_of(page.messages.last()),
        },
        data: page.messages.iter().map(MessageDto::from).collect(),
        notice: page.notice,
    }))
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/get",
    operation_id = "getMessage",
    tag = "messages",
    summary = "get-message",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = MessageDto),
    ),
)]
pub(super) async fn get(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let id = message_path(&path)?;
    let view = state.chat.get_message(caller, id).await?;
    Ok(HttpResponse::Ok().json(MessageDto::from(&view)))
}
