//! Changing a sent message: edit and delete.

use super::conversations::Empty;
use super::message_path;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{MessageDto, WireId, WireTime, clearable};
use actix_web::{HttpResponse, web};
use chat_domain::UserId;
use chat_domain::service::EditMessage;
use serde::{Deserialize, Serialize};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/messages/{id}/update", edit))
        .service(super::operation("/chat/messages/{id}/delete", delete));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct EditMessageRequest {
    content: Option<String>,
    #[schema(value_type = Option<String>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    gif: Option<Option<String>>,
    mentions: Option<Vec<WireId>>,
    mention_everyone: Option<bool>,
    #[schema(value_type = Option<crate::wire::names::Metadata>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    metadata: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/update",
    operation_id = "editMessage",
    tag = "messages",
    summary = "edit-message",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "Success", body = MessageDto),
    ),
)]
pub(super) async fn edit(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EditMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = EditMessage {
        content: body.content,
        gif: body.gif,
        mentions: body
            .mentions
            .map(|m| m.into_iter().map(|id| UserId::new(id.0)).collect()),
        mention_everyone: body.mention_everyone,
        metadata: body
            .metadata
            .map(|m| m.map(|m| serde_json::Value::Object(m).to_string())),
    };
    let view = state
        .chat
        .edit_message(caller, message_path(&path)?, request)
        .await?;
    Ok(HttpResponse::Ok().json(MessageDto::from(&view)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeletedDto {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_deleted_at: Option<WireTime>,
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/delete",
    operation_id = "deleteMessage",
    tag = "messages",
    summary = "delete-message",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = DeletedDto),
    ),
)]
pub(super) async fn delete(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let deleted = state
        .chat
        .delete_message(caller, message_path(&path)?)
        .await?;
    Ok(HttpResponse::Ok().json(DeletedDto {
        message: "message deleted".to_owned(),
        user_deleted_at: deleted.user_deleted_at.map(WireTime),
    }))
}
