//! Typing indicators.

use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::WireId;
use actix_web::{HttpResponse, web};
use chat_domain::{ConversationId, MessageId};
use serde::Deserialize;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/typing/send", typing));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct TypingRequest {
    conversation_id: WireId,
    parent_id: Option<WireId>,
}

#[utoipa::path(
    post,
    path = "/chat/typing/send",
    operation_id = "sendTyping",
    tag = "messages",
    summary = "send-typing",
    request_body = TypingRequest,
    responses(
        (status = 204, description = "Done"),
    ),
)]
pub(super) async fn typing(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<TypingRequest>,
) -> Result<HttpResponse, ApiError> {
    let conversation = ConversationId::new(body.conversation_id.0);
    let parent = body.parent_id.map(|id| MessageId::new(id.0));
    state.chat.send_typing(caller, conversation, parent).await?;
    Ok(HttpResponse::NoContent().finish())
}
