//! Catching up after a disconnect: a conversation's events, the caller's
//! personal events, and sync.

use actix_web::{HttpResponse, web};
use chat_domain::ChatError;
use chat_domain::catch_up::{EventPage, SyncEntry};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::conversation_path;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{WireId, decode_sync_cursor, encode_sync_cursor};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation(
        "/chat/conversations/{id}/events/list",
        list_conversation_events,
    ))
    .service(super::operation("/chat/events/list", list_personal_events))
    .service(super::operation("/chat/sync", sync));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListEventsRequest {
    /// Events numbered above this, oldest first (0: from the start of what
    /// is kept).
    #[schema(minimum = 0)]
    after: i64,
    /// Default 100, at most 500.
    #[schema(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventsPage {
    has_more: bool,
    /// Pass it as `after` next time (and after a reset, once reloaded).
    last_event_seq: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventsResponse {
    /// The envelopes exactly as published, `eventSeq` included.
    #[schema(schema_with = realtime_events)]
    data: Vec<Box<RawValue>>,
    page: EventsPage,
    /// `after` is older than what is kept: reload (the conversation, or
    /// for personal events the sidebar) and go on from `page.lastEventSeq`.
    reset: bool,
}

/// `data` of an events page: envelopes as described by `RealtimeEvent`.
fn realtime_events() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(utoipa::openapi::Ref::from_schema_name("RealtimeEvent"))
        .build()
}

impl EventsResponse {
    fn from_page(page: EventPage) -> Result<Self, ApiError> {
        let data = page
            .events
            .into_iter()
            .map(|event| RawValue::from_string(event.envelope))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                ChatError::Unexpected(anyhow::anyhow!("a kept envelope is not JSON: {e}"))
            })?;
        Ok(Self {
            data,
            page: EventsPage {
                has_more: page.has_more,
                last_event_seq: page.last_event_seq,
            },
            reset: page.reset,
        })
    }
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/events/list",
    operation_id = "listConversationEvents",
    tag = "catch-up",
    summary = "list-conversation-events",
    description = "The conversation's events numbered after `after`, oldest first, as the caller may see them (from their joining on in a sinceJoin conversation). `reset` when `after` is older than what is kept.",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ListEventsRequest,
    responses((status = 200, description = "Success", body = EventsResponse)),
)]
pub(super) async fn list_conversation_events(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ListEventsRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = conversation_path(&path)?;
    let page = state
        .chat
        .list_conversation_events(caller, id, body.after, body.limit)
        .await?;
    Ok(HttpResponse::Ok().json(EventsResponse::from_page(page)?))
}

#[utoipa::path(
    post,
    path = "/chat/events/list",
    operation_id = "listPersonalEvents",
    tag = "catch-up",
    summary = "list-personal-events",
    description = "The caller's personal events (personal:<userId>) numbered after `after`, oldest first. `reset` when `after` is older than what is kept.",
    request_body = ListEventsRequest,
    responses((status = 200, description = "Success", body = EventsResponse)),
)]
pub(super) async fn list_personal_events(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<ListEventsRequest>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .chat
        .list_personal_events(caller, body.after, body.limit)
        .await?;
    Ok(HttpResponse::Ok().json(EventsResponse::from_page(page)?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SyncRequest {
    /// `page.nextCursor` of the previous sync; absent for a full sync.
    cursor: Option<String>,
    /// Default 100, at most 500.
    #[schema(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SyncEntryDto {
    conversation_id: WireId,
    last_event_seq: i64,
    /// The caller left, was removed, or the conversation was deleted.
    removed: bool,
}

impl From<SyncEntry> for SyncEntryDto {
    fn from(entry: SyncEntry) -> Self {
        Self {
            conversation_id: WireId(entry.conversation_id.get()),
            last_event_seq: entry.last_event_seq,
            removed: entry.removed,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SyncPageDto {
    /// Keep it for the next sync, also when `hasMore` is false.
    next_cursor: String,
    has_more: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SyncResponse {
    data: Vec<SyncEntryDto>,
    page: SyncPageDto,
    /// The caller's personal stream's newest `eventSeq`.
    personal_event_seq: i64,
}

#[utoipa::path(
    post,
    path = "/chat/sync",
    operation_id = "sync",
    tag = "catch-up",
    summary = "sync",
    description = "The caller's conversations whose lastEventSeq or membership changed since `cursor` (all of them without one), by conversation id. A conversation may come again; one that changed is never missed. A cursor older than the event retention is answered as a full sync (the client drops the conversations it has that are not listed).",
    request_body = SyncRequest,
    responses((status = 200, description = "Success", body = SyncResponse)),
)]
pub(super) async fn sync(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<SyncRequest>,
) -> Result<HttpResponse, ApiError> {
    let position = body.cursor.as_deref().map(decode_sync_cursor).transpose()?;
    let page = state.chat.sync(caller, position, body.limit).await?;
    Ok(HttpResponse::Ok().json(SyncResponse {
        data: page.entries.into_iter().map(SyncEntryDto::from).collect(),
        page: SyncPageDto {
            next_cursor: encode_sync_cursor(page.next),
            has_more: page.has_more,
        },
        personal_event_seq: page.personal_event_seq,
    }))
}
