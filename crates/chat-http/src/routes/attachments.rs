//! Attachment operations: upload tickets, finalize, listing.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chat_domain::{AttachmentId, ConversationId, MessageId};
use serde::{Deserialize, Serialize};

use super::conversation_path;
use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::local_files::{LocalObjectStore, get_file, put_file};
use crate::wire::{
    AttachmentDto, CursorPage, WireId, WireTime, decode_attachment_cursor, encode_attachment_cursor,
};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation(
        "/chat/attachments/upload-ticket",
        upload_ticket,
    ))
    .service(super::operation("/chat/attachments/finalize", finalize))
    .service(super::operation(
        "/chat/conversations/{id}/attachments/list",
        list,
    ));
}

/// The routes of the zero-config object store.
pub(crate) fn configure_local_files(
    cfg: &mut web::ServiceConfig,
    store: web::Data<LocalObjectStore>,
) {
    cfg.app_data(store)
        .route("/files/{key:.*}", web::put().to(put_file))
        .route("/files/{key:.*}", web::get().to(get_file));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct TicketRequest {
    conversation_id: WireId,
    filename: String,
    content_type: String,
    size: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct TicketDto {
    attachment_id: WireId,
    upload_url: String,
    #[schema(value_type = String)]
    method: &'static str,
    headers: BTreeMap<String, String>,
    expires_at: WireTime,
}

#[utoipa::path(
    post,
    path = "/chat/attachments/upload-ticket",
    operation_id = "chatAttachmentUploadTicket",
    tag = "attachments",
    summary = "chat-attachment-upload-ticket",
    request_body = TicketRequest,
    responses(
        (status = 200, description = "Success", body = TicketDto),
    ),
)]
pub(super) async fn upload_ticket(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<TicketRequest>,
) -> Result<HttpResponse, ApiError> {
    let conversation = ConversationId::new(body.conversation_id.0);
    let ticket = state
        .chat
        .upload_ticket(
            caller,
            conversation,
            &body.filename,
            &body.content_type,
            body.size,
        )
        .await?;
    Ok(HttpResponse::Ok().json(TicketDto {
        attachment_id: WireId(ticket.attachment.id.get()),
        upload_url: ticket.upload_url,
        method: "PUT",
        headers: ticket.headers.into_iter().collect(),
        expires_at: WireTime(ticket.expires_at),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct FinalizeRequest {
    attachment_id: WireId,
    message_id: Option<WireId>,
}

#[utoipa::path(
    post,
    path = "/chat/attachments/finalize",
    operation_id = "chatAttachmentFinalize",
    tag = "attachments",
    summary = "chat-attachment-finalize",
    request_body = FinalizeRequest,
    responses(
        (status = 200, description = "Success", body = AttachmentDto),
    ),
)]
pub(super) async fn finalize(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<FinalizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let attachment = state
        .chat
        .finalize_attachment(
            caller,
            AttachmentId::new(body.attachment_id.0),
            body.message_id.map(|m| MessageId::new(m.0)),
        )
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentDto::from(&attachment)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListAttachmentsRequest {
    cursor: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct AttachmentList {
    data: Vec<AttachmentDto>,
    page: CursorPage,
}

#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/attachments/list",
    operation_id = "listConversationAttachments",
    tag = "attachments",
    summary = "list-conversation-attachments",
    params(("id" = crate::wire::WireId, Path, description = "The id, a decimal int64 string")),
    request_body = ListAttachmentsRequest,
    responses(
        (status = 200, description = "Success", body = AttachmentList),
    ),
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    JsonBody(body): JsonBody<ListAttachmentsRequest>,
) -> Result<HttpResponse, ApiError> {
    let after = body
        .cursor
        .as_deref()
        .map(decode_attachment_cursor)
        .transpose()?;
    let page = state
        .chat
        .list_attachments(caller, conversation_path(&path)?, after, body.limit)
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentList {
        data: page.attachments.iter().map(AttachmentDto::from).collect(),
        page: CursorPage::new(page.next.map(encode_attachment_cursor)),
    }))
}
