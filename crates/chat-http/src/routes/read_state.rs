//! Read state: moving the caller's read cursor.

use super::conversation_path;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::WireId;
use actix_web::{HttpResponse, web};
use chat_domain::MessageId;
use chat_domain::service::MarkRead;
use serde::{Deserialize, Serialize};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/conversations/{id}/read", mark_read));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct MarkReadRequest {
    message_id: WireId,
    mark_unread: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/read",
    operation_id = "markConversationRead",
    tag = "conversations",
    summary = "mark-conversation-read",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = MarkReadRequest,
    responses(
        (status = 200, description = "Success", body = ReadStateResponse),
    ),
)]
pub(super) async fn mark_read(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<MarkReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = MarkRead {
        conversation_id: conversation_path(&path)?,
        message_id: MessageId::new(body.message_id.0),
        mark_unread: body.mark_unread.unwrap_or(false),
    };
    let read = state.chat.mark_read(caller, request).await?;
    Ok(HttpResponse::Ok().json(ReadStateResponse {
        last_read_message_id: read.last_read_message_id.map(|id| WireId(id.get())),
        unread_count: read.unread_count,
        mention_count: read.mention_count,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadStateResponse {
    #[schema(required = true)]
    last_read_message_id: Option<WireId>,
    unread_count: i64,
    mention_count: i64,
}
