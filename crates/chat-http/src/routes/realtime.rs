//! Realtime tokens for Centrifugo.

use actix_web::{HttpResponse, web};
use chat_domain::ConversationId;
use serde::{Deserialize, Serialize};

use super::conversations::Empty;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{WireId, WireTime};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation(
        "/realtime/connection-token",
        connection_token,
    ))
    .service(super::operation("/chat/subscribe-token", subscribe_token));
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConnectionTokenDto {
    token: String,
    expires_at: WireTime,
    channels: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/realtime/connection-token",
    operation_id = "getConnectionToken",
    tag = "realtime",
    summary = "get-connection-token",
    request_body = Empty,
    responses(
        (status = 200, description = "Success", body = ConnectionTokenDto),
    ),
)]
pub(super) async fn connection_token(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(_): JsonBody<Empty>,
) -> Result<HttpResponse, ApiError> {
    let issued = state.chat.connection_token(caller)?;
    Ok(HttpResponse::Ok().json(ConnectionTokenDto {
        token: issued.token,
        expires_at: WireTime(issued.expires_at),
        channels: issued.channels,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SubscribeRequest {
    conversation_id: WireId,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscribeTokenDto {
    token: String,
    channel: String,
    expires_at: WireTime,
}

#[utoipa::path(
    post,
    path = "/chat/subscribe-token",
    operation_id = "getSubscribeToken",
    tag = "realtime",
    summary = "get-subscribe-token",
    request_body = SubscribeRequest,
    responses(
        (status = 200, description = "Success", body = SubscribeTokenDto),
    ),
)]
pub(super) async fn subscribe_token(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<SubscribeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId::new(body.conversation_id.0);
    let issued = state.chat.subscribe_token(caller, id).await?;
    Ok(HttpResponse::Ok().json(SubscribeTokenDto {
        token: issued.token,
        channel: issued.channels.into_iter().next().unwrap_or_default(),
        expires_at: WireTime(issued.expires_at),
    }))
}
