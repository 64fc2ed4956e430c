//! The operations, one handler each. Every operation is `POST` with an
//! explicit verb (C1); handlers parse the wire shape, call one use case and
//! render its result.

mod attachments;
mod conversations;
mod health;
mod manage;
mod messages;
mod reactions;
mod realtime;

use actix_web::web;
use chat_domain::ConversationId;
use chat_domain::MessageId;

use crate::error::ApiError;
use crate::wire::parse_decimal_id;

pub(crate) use attachments::configure_local_files;

/// Registers every route.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    attachments::configure(cfg);
    conversations::configure(cfg);
    manage::configure(cfg);
    messages::configure(cfg);
    reactions::configure(cfg);
    realtime::configure(cfg);
}

/// The `{id}` of a path, which must be a decimal int64.
fn path_id(raw: &str) -> Result<i64, ApiError> {
    parse_decimal_id(raw).ok_or_else(|| ApiError::validation("id", "not a decimal int64 id"))
}

fn conversation_path(raw: &str) -> Result<ConversationId, ApiError> {
    path_id(raw).map(ConversationId::new)
}

fn message_path(raw: &str) -> Result<MessageId, ApiError> {
    path_id(raw).map(MessageId::new)
}
