//! Operations on a conversation's shared state: update, archive, unarchive,
//! convert, delete.

use actix_web::{HttpResponse, web};
use chat_domain::AttachmentId;
use chat_domain::conversation::PostingPolicy;
use chat_domain::service::UpdateConversation;
use serde::Deserialize;

use super::conversation_path;
use super::conversations::{Empty, named};
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{ConversationDto, MessageResponse, WireId, clearable};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/conversations/{id}/update", update))
        .service(super::operation(
            "/chat/conversations/{id}/archive",
            archive,
        ))
        .service(super::operation(
            "/chat/conversations/{id}/unarchive",
            unarchive,
        ))
        .service(super::operation(
            "/chat/conversations/{id}/convert",
            convert,
        ))
        .service(super::operation("/chat/conversations/{id}/delete", delete));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UpdateConversationRequest {
    #[schema(value_type = Option<String>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    name: Option<Option<String>>,
    #[schema(value_type = Option<String>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    description: Option<Option<String>>,
    /// A ready attachment of this conversation that the caller uploaded;
    /// `null` clears the avatar.
    #[schema(value_type = Option<WireId>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    avatar_file_id: Option<Option<WireId>>,
    #[schema(value_type = Option<crate::wire::names::PostingPolicyName>)]
    posting_policy: Option<String>,
    #[schema(value_type = Option<crate::wire::names::Metadata>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    metadata: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/update",
    operation_id = "updateConversation",
    tag = "conversations",
    summary = "update-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = UpdateConversationRequest,
    responses(
        (status = 200, description = "Success", body = ConversationDto),
    ),
)]
pub(super) async fn update(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<UpdateConversationRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let request = UpdateConversation {
        name: body.name,
        description: body.description,
        avatar_file_id: body
            .avatar_file_id
            .map(|a| a.map(|id| AttachmentId::new(id.0))),
        posting_policy: named("postingPolicy", body.posting_policy, PostingPolicy::parse)?,
        metadata: body
            .metadata
            .map(|m| m.map(|m| serde_json::Value::Object(m).to_string())),
    };
    let view = state.chat.update_conversation(caller, id, request).await?;
    Ok(HttpResponse::Ok().json(ConversationDto::from(&view)))
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/archive",
    operation_id = "archiveConversation",
    tag = "conversations",
    summary = "archive-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = ConversationDto),
    ),
)]
pub(super) async fn archive(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .chat
        .archive_conversation(caller, conversation_path(&path)?, true)
        .await?;
    Ok(HttpResponse::Ok().json(ConversationDto::from(&view)))
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/unarchive",
    operation_id = "unarchiveConversation",
    tag = "conversations",
    summary = "unarchive-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = ConversationDto),
    ),
)]
pub(super) async fn unarchive(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .chat
        .archive_conversation(caller, conversation_path(&path)?, false)
        .await?;
    Ok(HttpResponse::Ok().json(ConversationDto::from(&view)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConvertRequest {
    name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/convert",
    operation_id = "convertConversation",
    tag = "conversations",
    summary = "convert-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ConvertRequest,
    responses(
        (status = 200, description = "Success", body = ConversationDto),
    ),
)]
pub(super) async fn convert(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ConvertRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .chat
        .convert_conversation(caller, conversation_path(&path)?, body.name)
        .await?;
    Ok(HttpResponse::Ok().json(ConversationDto::from(&view)))
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/delete",
    operation_id = "deleteConversation",
    tag = "conversations",
    summary = "delete-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = MessageResponse),
    ),
)]
pub(super) async fn delete(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .delete_conversation(caller, conversation_path(&path)?)
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "conversation deleted".to_owned(),
    }))
}
