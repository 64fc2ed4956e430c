//! Conversation operations: create, list, get.

use actix_web::{HttpResponse, web};
use chat_domain::UserId;
use chat_domain::conversation::{
    ConversationKind, ConversationListQuery, HistoryMode, PostingPolicy, Visibility,
};
use chat_domain::service::CreateConversation;
use serde::{Deserialize, Serialize};

use super::conversation_path;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{ConversationDto, CursorPage, WireId, decode_cursor, encode_cursor};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/conversations/create", create))
        .service(super::operation("/chat/conversations/list", list))
        .service(super::operation("/chat/conversations/{id}/get", get));
}

/// An empty request body: `{}` (unknown fields still refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

/// Parses one of a closed set of names, naming the field when it is not one.
pub(super) fn named<T>(
    field: &str,
    text: Option<String>,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    text.map(|t| {
        parse(&t).ok_or_else(|| ApiError::validation(field, format!("unknown value {t:?}")))
    })
    .transpose()
}

fn metadata_text(metadata: Option<serde_json::Map<String, serde_json::Value>>) -> Option<String> {
    metadata.map(|m| serde_json::Value::Object(m).to_string())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct CreateConversationRequest {
    #[schema(value_type = crate::wire::names::ConversationKindName)]
    kind: String,
    user_id: Option<WireId>,
    name: Option<String>,
    description: Option<String>,
    member_ids: Option<Vec<WireId>>,
    #[schema(value_type = Option<crate::wire::names::VisibilityName>)]
    visibility: Option<String>,
    #[schema(value_type = Option<crate::wire::names::HistoryModeName>)]
    history_mode: Option<String>,
    #[schema(value_type = Option<crate::wire::names::PostingPolicyName>)]
    posting_policy: Option<String>,
    #[schema(value_type = Option<crate::wire::names::Metadata>)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/create",
    operation_id = "createConversation",
    tag = "conversations",
    summary = "create-conversation (201 when created, 200 for an existing direct conversation)",
    request_body = CreateConversationRequest,
    responses(
        (status = 201, description = "Created", body = ConversationDto),
        (status = 200, description = "Already there (an existing direct conversation, a repeated clientMsgId)", body = ConversationDto),
    ),
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateConversationRequest>,
) -> Result<HttpResponse, ApiError> {
    let kind = named("kind", Some(body.kind), ConversationKind::parse)?
        .ok_or_else(|| ApiError::validation("kind", "required"))?;
    let request = CreateConversation {
        kind,
        user_id: body.user_id.map(|id| UserId::new(id.0)),
        name: body.name,
        description: body.description,
        member_ids: body
            .member_ids
            .unwrap_or_default()
            .into_iter()
            .map(|id| UserId::new(id.0))
            .collect(),
        visibility: named("visibility", body.visibility, Visibility::parse)?,
        history_mode: named("historyMode", body.history_mode, HistoryMode::parse)?,
        posting_policy: named("postingPolicy", body.posting_policy, PostingPolicy::parse)?,
        metadata: metadata_text(body.metadata),
    };
    let created = state.chat.create_conversation(caller, request).await?;
    let dto = ConversationDto::from(&created.value);
    Ok(if created.is_new {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListConversationsRequest {
    kinds: Option<Vec<String>>,
    starred: Option<bool>,
    archived: Option<bool>,
    include_hidden: Option<bool>,
    cursor: Option<String>,
    #[schema(minimum = 1, maximum = 50)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ConversationList {
    data: Vec<ConversationDto>,
    page: CursorPage,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/list",
    operation_id = "listConversations",
    tag = "conversations",
    summary = "list-conversations",
    request_body = ListConversationsRequest,
    responses(
        (status = 200, description = "Success", body = ConversationList),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<ListConversationsRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut kinds = Vec::new();
    for (i, kind) in body.kinds.unwrap_or_default().into_iter().enumerate() {
        let parsed = ConversationKind::parse(&kind).ok_or_else(|| {
            ApiError::validation(format!("kinds[{i}]"), format!("unknown kind {kind:?}"))
        })?;
        kinds.push(parsed);
    }
    let query = ConversationListQuery {
        viewer: caller.user_id,
        kinds,
        starred: body.starred,
        archived: body.archived.unwrap_or(false),
        include_hidden: body.include_hidden.unwrap_or(false),
        after: body.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: 0,
    };
    let (page, next) = state.chat.list_conversations(query, body.limit).await?;
    Ok(HttpResponse::Ok().json(ConversationList {
        data: page.iter().map(ConversationDto::from).collect(),
        page: CursorPage::new(next.map(encode_cursor)),
    }))
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/get",
    operation_id = "getConversation",
    tag = "conversations",
    summary = "get-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = ConversationDto),
    ),
)]
pub(super) async fn get(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let view = state.chat.get_conversation(caller, id).await?;
    Ok(HttpResponse::Ok().json(ConversationDto::from(&view)))
}
