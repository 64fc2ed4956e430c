//! Member operations: list, add, remove, change a role, leave.

use super::conversation_path;
use super::conversations::{Empty, named};
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    MemberDto, MessageResponse, TotalPage, WireId, decode_member_cursor, encode_member_cursor,
};
use actix_web::{HttpResponse, web};
use chat_domain::UserId;
use chat_domain::conversation::Role;
use serde::{Deserialize, Serialize};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation(
        "/chat/conversations/{id}/members/list",
        list_members,
    ))
    .service(super::operation(
        "/chat/conversations/{id}/members/add",
        add_members,
    ))
    .service(super::operation(
        "/chat/conversations/{id}/members/remove",
        remove_member,
    ))
    .service(super::operation(
        "/chat/conversations/{id}/members/role",
        change_role,
    ))
    .service(super::operation("/chat/conversations/{id}/leave", leave));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListMembersRequest {
    #[schema(value_type = Option<crate::wire::names::RoleName>)]
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
    operation_id = "listConversationMembers",
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
    operation_id = "addConversationMember",
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
    operation_id = "removeConversationMember",
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
    #[schema(value_type = crate::wire::names::RoleName)]
    role: String,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/members/role",
    operation_id = "changeMemberRole",
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
    operation_id = "leaveConversation",
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
