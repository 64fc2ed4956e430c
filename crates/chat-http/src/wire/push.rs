//! `push.requested` (contract: "Webhooks and push"), described for push
//! gateways that generate their types from the API description. It is a
//! webhook, not a realtime event: the webhook deliverer renders it
//! (`chat-webhooks/src/push.rs`), and the webhooks end-to-end test reads
//! these fields from what it delivers.

use super::{MessageDto, WireId};

/// `data` of `push.requested`: one batch of a new message's recipients.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "a description: chat-webhooks writes the body")]
pub(crate) struct PushRequestedData {
    conversation_id: WireId,
    message_id: WireId,
    /// At most 500 per delivery; a large conversation's recipients come in
    /// several deliveries (`eventId` `<message.created eventId>/push/<n>`).
    recipients: Vec<PushRecipient>,
    /// The message, as `message.created` carried it.
    message: MessageDto,
}

/// One recipient of a push.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "a description: chat-webhooks writes the body")]
pub(crate) struct PushRecipient {
    user_id: WireId,
    /// The recipient's `totalUnread` (get-unread-counts) when the batch was
    /// made: the app icon's badge.
    badge: i64,
    #[schema(value_type = crate::wire::names::PushReasonName)]
    reason: String,
}
