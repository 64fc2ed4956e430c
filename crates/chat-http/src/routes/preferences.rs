//! The member's own preferences and their unread totals.

use super::conversation_path;
use super::conversations::{Empty, named};
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{MembershipDto, WireTime, clearable};
use actix_web::{HttpResponse, web};
use chat_domain::conversation::{NotifyLevel, PreferencesPatch};
use serde::{Deserialize, Serialize};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation(
        "/chat/conversations/{id}/preferences/update",
        preferences,
    ))
    .service(super::operation("/chat/unread/get", unread));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct PreferencesRequest {
    starred: Option<bool>,
    #[schema(value_type = Option<WireTime>, nullable)]
    #[serde(default, deserialize_with = "clearable")]
    mute_until: Option<Option<WireTime>>,
    #[schema(value_type = Option<crate::wire::names::NotifyLevelName>)]
    notify_level: Option<String>,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/preferences/update",
    operation_id = "updateConversationPreferences",
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
    operation_id = "getUnreadCounts",
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
