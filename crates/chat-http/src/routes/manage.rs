//! Operations on a conversation's shared state and membership.

use actix_web::{HttpResponse, web};
use chat_domain::conversation::{NotifyLevel, PostingPolicy, PreferencesPatch, Role};
use chat_domain::service::UpdateConversation;
use chat_domain::{AttachmentId, UserId};
use serde::{Deserialize, Serialize};

use super::conversation_path;
use super::conversations::{Empty, named};
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    ConversationDto, MemberDto, MembershipDto, MessageResponse, TotalPage, WireId, WireTime,
    clearable, decode_member_cursor, encode_member_cursor,
};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/conversations/{id}/update", web::post().to(update))
        .route("/chat/conversations/{id}/archive", web::post().to(archive))
        .route(
            "/chat/conversations/{id}/unarchive",
            web::post().to(unarchive),
        )
        .route("/chat/conversations/{id}/convert", web::post().to(convert))
        .route("/chat/conversations/{id}/delete", web::post().to(delete))
        .route(
            "/chat/conversations/{id}/members/list",
            web::post().to(list_members),
        )
        .route(
            "/chat/conversations/{id}/members/add",
            web::post().to(add_members),
        )
        .route(
            "/chat/conversations/{id}/members/remove",
            web::post().to(remove_member),
        )
        .route(
            "/chat/conversations/{id}/members/role",
            web::post().to(change_role),
        )
        .route("/chat/conversations/{id}/leave", web::post().to(leave))
        .route(
            "/chat/conversations/{id}/preferences/update",
            web::post().to(preferences),
        )
        .route("/chat/unread/get", web::post().to(unread));
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
    #[schema(value_type = Option<WireId>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    avatar_file_id: Option<Option<WireId>>,
    #[schema(pattern = "^(everyone|admins)$")]
    posting_policy: Option<String>,
    #[schema(value_type = Option<Object>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    metadata: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/update",
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListMembersRequest {
    #[schema(pattern = "^(owner|admin|member)$")]
    role: Option<String>,
    cursor: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MemberList {
    data: Vec<MemberDto>,
    page: TotalPage,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/members/list",
    tag = "members",
    summary = "list-conversation-members",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ListMembersRequest,
    responses(
        (status = 200, description = "Success", body = MemberList),
    ),
)]
pub(super) async fn list_members(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ListMembersRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let role = named("role", body.role, Role::parse)?;
    let after = body
        .cursor
        .as_deref()
        .map(decode_member_cursor)
        .transpose()?;
    let page = state
        .chat
        .list_members(caller, id, role, after, body.limit)
        .await?;
    Ok(HttpResponse::Ok().json(MemberList {
        data: page.members.iter().map(MemberDto::from).collect(),
        page: TotalPage::new(page.next.map(encode_member_cursor), page.total),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct AddMembersRequest {
    user_ids: Vec<WireId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Members {
    data: Vec<MemberDto>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/members/add",
    tag = "members",
    summary = "add-conversation-member",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = AddMembersRequest,
    responses(
        (status = 200, description = "Success", body = Members),
    ),
)]
pub(super) async fn add_members(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<AddMembersRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let users = body
        .user_ids
        .into_iter()
        .map(|u| UserId::new(u.0))
        .collect();
    let members = state.chat.add_members(caller, id, users).await?;
    Ok(HttpResponse::Ok().json(Members {
        data: members.iter().map(MemberDto::from).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RemoveMemberRequest {
    user_id: WireId,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/members/remove",
    tag = "members",
    summary = "remove-conversation-member",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = RemoveMemberRequest,
    responses(
        (status = 200, description = "Success", body = MessageResponse),
    ),
)]
pub(super) async fn remove_member(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<RemoveMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    state
        .chat
        .remove_member(caller, id, UserId::new(body.user_id.0))
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "member removed".to_owned(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RoleRequest {
    user_id: WireId,
    #[schema(pattern = "^(owner|admin|member)$")]
    role: String,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/members/role",
    tag = "members",
    summary = "change-member-role",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "Success", body = MemberDto),
    ),
)]
pub(super) async fn change_role(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<RoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let role = named("role", Some(body.role), Role::parse)?
        .ok_or_else(|| ApiError::validation("role", "required"))?;
    let member = state
        .chat
        .change_member_role(caller, id, UserId::new(body.user_id.0), role)
        .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(&member)))
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/leave",
    tag = "members",
    summary = "leave-conversation",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = MessageResponse),
    ),
)]
pub(super) async fn leave(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    state
        .chat
        .leave_conversation(caller, conversation_path(&path)?)
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "left the conversation".to_owned(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct PreferencesRequest {
    starred: Option<bool>,
    #[schema(value_type = Option<WireTime>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    mute_until: Option<Option<WireTime>>,
    #[schema(pattern = "^(all|mentions|everyone|none)$")]
    notify_level: Option<String>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/preferences/update",
    tag = "conversations",
    summary = "update-conversation-preferences",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = PreferencesRequest,
    responses(
        (status = 200, description = "Success", body = MembershipDto),
    ),
)]
pub(super) async fn preferences(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<PreferencesRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let patch = PreferencesPatch {
        starred: body.starred,
        mute_until: body.mute_until.map(|m| m.map(|t| t.0)),
        notify_level: named("notifyLevel", body.notify_level, NotifyLevel::parse)?,
    };
    let view = state.chat.update_preferences(caller, id, patch).await?;
    Ok(HttpResponse::Ok().json(MembershipDto::from(&view)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct UnreadCounts {
    total_unread: i64,
    unread_conversation_count: i64,
    mention_count: i64,
}

#[utoipa::path(
    post,
    path = "/chat/unread/get",
    tag = "conversations",
    summary = "get-unread-counts",
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = UnreadCounts),
    ),
)]
pub(super) async fn unread(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let totals = state.chat.unread_totals(caller).await?;
    Ok(HttpResponse::Ok().json(UnreadCounts {
        total_unread: totals.total_unread,
        unread_conversation_count: totals.unread_conversation_count,
        mention_count: totals.mention_count,
    }))
}
