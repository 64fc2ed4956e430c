//! Operations on a sent message: edit, delete, reactions, pins, reports.

use actix_web::{HttpResponse, web};
use chat_domain::UserId;
use chat_domain::message::{ReactionAction, ReactionChange, ReportReason};
use chat_domain::service::EditMessage;
use serde::{Deserialize, Serialize};

use super::conversations::{Empty, named};
use super::{conversation_path, message_path};
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    CursorPage, MessageDto, TotalPage, UserSummaryDto, WireId, WireTime, clearable,
    decode_pin_cursor, decode_reaction_cursor, encode_pin_cursor, encode_reaction_cursor,
};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/chat/messages/{id}/update", web::post().to(edit))
        .route("/chat/messages/{id}/delete", web::post().to(delete))
        .route(
            "/chat/messages/{id}/reactions/add",
            web::post().to(add_reaction),
        )
        .route(
            "/chat/messages/{id}/reactions/remove",
            web::post().to(remove_reaction),
        )
        .route(
            "/chat/messages/{id}/reactions/toggle",
            web::post().to(toggle_reaction),
        )
        .route(
            "/chat/messages/{id}/reactions/list",
            web::post().to(list_reactions),
        )
        .route("/chat/messages/{id}/pin", web::post().to(pin))
        .route("/chat/messages/{id}/unpin", web::post().to(unpin))
        .route("/chat/messages/{id}/report", web::post().to(report))
        .route(
            "/chat/conversations/{id}/pins/list",
            web::post().to(list_pins),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EditRequest {
    content: Option<String>,
    #[serde(default, deserialize_with = "clearable")]
    gif: Option<Option<String>>,
    mentions: Option<Vec<WireId>>,
    mention_everyone: Option<bool>,
    #[serde(default, deserialize_with = "clearable")]
    metadata: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

async fn edit(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EditRequest>,
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedDto {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_deleted_at: Option<WireTime>,
}

async fn delete(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmojiRequest {
    emoji: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReactionsDto {
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

async fn add_reaction(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EmojiRequest>,
) -> Result<HttpResponse, ApiError> {
    react(state, caller, &path, body.emoji, ReactionAction::Add).await
}

async fn remove_reaction(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EmojiRequest>,
) -> Result<HttpResponse, ApiError> {
    react(state, caller, &path, body.emoji, ReactionAction::Remove).await
}

async fn toggle_reaction(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<EmojiRequest>,
) -> Result<HttpResponse, ApiError> {
    react(state, caller, &path, body.emoji, ReactionAction::Toggle).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListReactionsRequest {
    emoji: String,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReactionDto {
    user: UserSummaryDto,
    emoji: String,
    created_at: WireTime,
}

#[derive(Serialize)]
struct ReactionList {
    data: Vec<ReactionDto>,
    page: TotalPage,
}

async fn list_reactions(
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
            .map(|r| ReactionDto {
                user: UserSummaryDto::from(&r.user),
                emoji: r.emoji.clone(),
                created_at: WireTime(r.created_at),
            })
            .collect(),
        page: TotalPage::new(page.next.map(encode_reaction_cursor), page.total),
    }))
}

async fn pin(
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

async fn unpin(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportRequest {
    reason: String,
    details: Option<String>,
}

#[derive(Serialize)]
struct ReportDto {
    message: &'static str,
    code: &'static str,
}

async fn report(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListPinsRequest {
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PinDto {
    message: MessageDto,
    pinned_by: WireId,
    pinned_at: WireTime,
}

#[derive(Serialize)]
struct PinList {
    data: Vec<PinDto>,
    page: CursorPage,
}

async fn list_pins(
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
            .map(|p| PinDto {
                message: MessageDto::from(&p.message),
                pinned_by: WireId(p.pinned_by.get()),
                pinned_at: WireTime(p.pinned_at),
            })
            .collect(),
        page: CursorPage::new(page.next.map(encode_pin_cursor)),
    }))
}
