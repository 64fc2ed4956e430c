//! Message search.

use crate::AppState;
use crate::auth::Authenticated;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    CursorPage, MessageDto, WireId, WireTime, decode_search_cursor, encode_search_cursor,
    snippet_html,
};
use actix_web::{HttpResponse, web};
use chat_domain::search::SearchOrder;
use chat_domain::service::SearchMessages;
use chat_domain::{ConversationId, UserId};
use serde::{Deserialize, Serialize};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::operation("/chat/messages/search", search));
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SearchMessagesRequest {
    #[schema(max_length = 500)]
    query: String,
    conversation_id: Option<WireId>,
    sender_id: Option<WireId>,
    from: Option<WireTime>,
    to: Option<WireTime>,
    #[schema(value_type = Option<crate::wire::names::SearchOrderName>)]
    order: Option<String>,
    cursor: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct HitDto {
    message: MessageDto,
    snippet: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SearchResponse {
    data: Vec<HitDto>,
    page: CursorPage,
}

#[utoipa::path(
    post,
    path = "/chat/messages/search",
    operation_id = "searchMessages",
    tag = "messages",
    summary = "search-messages",
    request_body = SearchMessagesRequest,
    responses(
        (status = 200, description = "Success", body = SearchResponse),
    ),
)]
pub(super) async fn search(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<SearchMessagesRequest>,
) -> Result<HttpResponse, ApiError> {
    let order = match body.order.as_deref() {
        None => SearchOrder::Newest,
        Some(text) => SearchOrder::parse(text)
            .ok_or_else(|| ApiError::validation("order", "newest or relevance"))?,
    };
    let request = SearchMessages {
        query: body.query,
        conversation_id: body.conversation_id.map(|id| ConversationId::new(id.0)),
        sender_id: body.sender_id.map(|id| UserId::new(id.0)),
        from: body.from.map(|t| t.0),
        to: body.to.map(|t| t.0),
        order,
        after: body
            .cursor
            .as_deref()
            .map(|token| decode_search_cursor(token, order))
            .transpose()?,
        limit: body.limit,
    };
    let page = state.chat.search_messages(caller, request).await?;
    Ok(HttpResponse::Ok().json(SearchResponse {
        data: page
            .hits
            .iter()
            .map(|hit| HitDto {
                message: MessageDto::from(&hit.message),
                snippet: snippet_html(&hit.snippet),
            })
            .collect(),
        page: CursorPage::new(page.next.map(|next| encode_search_cursor(next, order))),
    }))
}
