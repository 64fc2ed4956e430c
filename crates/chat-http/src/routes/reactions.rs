//! Reactions, pins and reports on a sent message.

use actix_web::{HttpResponse, web};
use chat_domain::message::{ReactionAction, ReactionChange, ReportReason};
use serde::{Deserialize, Serialize};

use super::conversations::{Empty, named};
use super::{conversation_path, message_path};
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    CursorPage, MessageDto, TotalPage, UserSummaryDto, WireId, WireTime, decode_pin_cursor,
    decode_reaction_cursor, encode_pin_cursor, encode_reaction_cursor,
};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation(
        "/chat/messages/{id}/reactions/add",
        add_reaction,
    ))
    .service(super::operation(
        "/chat/messages/{id}/reactions/remove",
        remove_reaction,
    ))
    .service(super::operation(
        "/chat/messages/{id}/reactions/toggle",
        toggle_reaction,
    ))
    .service(super::operation(
        "/chat/messages/{id}/reactions/list",
        list_reactions,
    ))
    .service(super::operation("/chat/messages/{id}/pin", pin))
    .service(super::operation("/chat/messages/{id}/unpin", unpin))
    .service(super::operation("/chat/messages/{id}/report", report))
    .service(super::operation(
        "/chat/conversations/{id}/pins/list",
        list_pins,
    ));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EmojiRequest {
    #[schema(min_length = 1, max_length = 10, pattern = "\\S")]
    emoji: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReactionsDto {
    reaction_counts: std::collections::BTreeMap<String, i64>,
    user_reactions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<i64>,
}

impl ReactionsDto {
    fn from(change: ReactionChange, with_delta: bool) -> Self {
        Self {
            reaction_counts: change.reaction_counts.into_iter().collect(),
            user_reactions: change.user_reactions,
            delta: with_delta.then_some(change.delta),
        }
    }
}

async fn react(
    state: web::Data<AppState>,
    caller: chat_domain::user::Caller,
    path: &str,
    emoji: String,
    action: ReactionAction,
) -> Result<HttpResponse, ApiError> {
    let change = state
        .chat
        .react(caller, message_path(path)?, emoji, action)
        .await?;
    Ok(HttpResponse::Ok().json(ReactionsDto::from(change, action == ReactionAction::Toggle)))
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/reactions/add",
    operation_id = "addReaction",
    tag = "reactions",
    summary = "add-reaction",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = EmojiRequest,
    responses(
        (status = 200, description = "Success", body = ReactionsDto),
    ),
)]
pub(super) async fn add_reaction(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EmojiRequest>,
) -> Result<HttpResponse, ApiError> {
    react(state, caller, &path, body.emoji, ReactionAction::Add).await
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/reactions/remove",
    operation_id = "removeReaction",
    tag = "reactions",
    summary = "remove-reaction",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = EmojiRequest,
    responses(
        (status = 200, description = "Success", body = ReactionsDto),
    ),
)]
pub(super) async fn remove_reaction(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EmojiRequest>,
) -> Result<HttpResponse, ApiError> {
    react(state, caller, &path, body.emoji, ReactionAction::Remove).await
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/reactions/toggle",
    operation_id = "toggleReaction",
    tag = "reactions",
    summary = "toggle-reaction",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = EmojiRequest,
    responses(
        (status = 200, description = "Success", body = ReactionsDto),
    ),
)]
pub(super) async fn toggle_reaction(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EmojiRequest>,
) -> Result<HttpResponse, ApiError> {
    react(state, caller, &path, body.emoji, ReactionAction::Toggle).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListReactionsRequest {
    #[schema(min_length = 1, max_length = 10, pattern = "\\S")]
    emoji: String,
    cursor: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReactionEntry {
    user: UserSummaryDto,
    emoji: String,
    created_at: WireTime,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ReactionList {
    data: Vec<ReactionEntry>,
    page: TotalPage,
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/reactions/list",
    operation_id = "listReactions",
    tag = "reactions",
    summary = "list-reactions",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ListReactionsRequest,
    responses(
        (status = 200, description = "Success", body = ReactionList),
    ),
)]
pub(super) async fn list_reactions(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ListReactionsRequest>,
) -> Result<HttpResponse, ApiError> {
    let after = body
        .cursor
        .as_deref()
        .map(decode_reaction_cursor)
        .transpose()?;
    let page = state
        .chat
        .list_reactions(caller, message_path(&path)?, body.emoji, after, body.limit)
        .await?;
    Ok(HttpResponse::Ok().json(ReactionList {
        data: page
            .reactions
            .iter()
            .map(|r| ReactionEntry {
                user: UserSummaryDto::from(&r.user),
                emoji: r.emoji.clone(),
                created_at: WireTime(r.created_at),
            })
            .collect(),
        page: TotalPage::new(page.next.map(encode_reaction_cursor), page.total),
    }))
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/pin",
    operation_id = "pinMessage",
    tag = "pins",
    summary = "pin-message",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = MessageDto),
    ),
)]
pub(super) async fn pin(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .chat
        .set_pinned(caller, message_path(&path)?, true)
        .await?;
    Ok(HttpResponse::Ok().json(MessageDto::from(&view)))
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/unpin",
    operation_id = "unpinMessage",
    tag = "pins",
    summary = "unpin-message",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = MessageDto),
    ),
)]
pub(super) async fn unpin(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .chat
        .set_pinned(caller, message_path(&path)?, false)
        .await?;
    Ok(HttpResponse::Ok().json(MessageDto::from(&view)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportRequest {
    #[schema(value_type = crate::wire::names::ReportReasonName)]
    reason: String,
    details: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ReportDto {
    #[schema(value_type = String)]
    message: &'static str,
    #[schema(value_type = String)]
    code: &'static str,
}

#[utoipa::path(
    post,
    path = "/chat/messages/{id}/report",
    operation_id = "reportMessage",
    tag = "messages",
    summary = "report-message",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ReportRequest,
    responses(
        (status = 200, description = "Success", body = ReportDto),
    ),
)]
pub(super) async fn report(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = named("reason", Some(body.reason), ReportReason::parse)?
        .ok_or_else(|| ApiError::validation("reason", "required"))?;
    let fresh = state
        .chat
        .report_message(caller, message_path(&path)?, reason, body.details)
        .await?;
    Ok(HttpResponse::Ok().json(if fresh {
        ReportDto {
            message: "message reported",
            code: "reported",
        }
    } else {
        ReportDto {
            message: "you already reported this message",
            code: "already_reported",
        }
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListPinsRequest {
    cursor: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct PinEntry {
    message: MessageDto,
    pinned_by: WireId,
    pinned_at: WireTime,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PinList {
    data: Vec<PinEntry>,
    page: CursorPage,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/pins/list",
    operation_id = "listPinnedMessages",
    tag = "pins",
    summary = "list-pinned-messages",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ListPinsRequest,
    responses(
        (status = 200, description = "Success", body = PinList),
    ),
)]
pub(super) async fn list_pins(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ListPinsRequest>,
) -> Result<HttpResponse, ApiError> {
    let after = body.cursor.as_deref().map(decode_pin_cursor).transpose()?;
    let page = state
        .chat
        .list_pins(caller, conversation_path(&path)?, after, body.limit)
        .await?;
    Ok(HttpResponse::Ok().json(PinList {
        data: page
            .pins
            .iter()
            .map(|p| PinEntry {
                message: MessageDto::from(&p.message),
                pinned_by: WireId(p.pinned_by.get()),
                pinned_at: WireTime(p.pinned_at),
            })
            .collect(),
        page: CursorPage::new(page.next.map(encode_pin_cursor)),
    }))
}
