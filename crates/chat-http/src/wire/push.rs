//! `push.requested` (contract: "Webhooks and push"): an envelope like every
//! other event's, whose `data` names the message, its recipients with their
//! badge and reason, and carries the message as `message.created` did, so a
//! push gateway can render the notification without calling back. It is a
//! webhook, not a realtime event: the webhook deliverer asks
//! [`JsonEventEncoder`] (the domain's `PushRenderer`) for each batch's body,
//! and the API description documents the same structs for push gateways
//! that generate their types from it.

use chat_domain::events::PUSH_REQUESTED;
use chat_domain::push::{PushRenderer, PushSubject};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{JsonEventEncoder, MessageDto, WireId};

/// The `message.created` envelope a push request was queued with.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueuedEnvelope {
    occurred_at: String,
    data: Box<RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushRequested<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    event_id: &'a str,
    conversation_id: WireId,
    occurred_at: String,
    data: PushRequestedData,
}

/// `data` of `push.requested`: one batch of a new message's recipients.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushRequestedData {
    conversation_id: WireId,
    message_id: WireId,
    /// At most 500 per delivery; a large conversation's recipients come in
    /// several deliveries (`eventId` `<message.created eventId>/push/<n>`).
    recipients: Vec<PushRecipient>,
    /// The message, as `message.created` carried it.
    #[schema(value_type = MessageDto)]
    message: Box<RawValue>,
}

/// One recipient of a push.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushRecipient {
    user_id: WireId,
    /// The recipient's `totalUnread` (get-unread-counts) when the batch was
    /// made: the app icon's badge.
    badge: i64,
    #[schema(value_type = crate::wire::names::PushReasonName)]
    reason: &'static str,
}

impl PushRenderer for JsonEventEncoder {
    fn push_requested(
        &self,
        id: &str,
        created: &str,
        subject: &PushSubject,
        recipients: &[chat_domain::push::PushRecipient],
    ) -> Result<Vec<u8>, String> {
        let queued: QueuedEnvelope =
            serde_json::from_str(created).map_err(|e| format!("push request payload: {e}"))?;
        let body = PushRequested {
            event_type: PUSH_REQUESTED,
            event_id: id,
            conversation_id: WireId(subject.conversation_id.get()),
            occurred_at: queued.occurred_at,
            data: PushRequestedData {
                conversation_id: WireId(subject.conversation_id.get()),
                message_id: WireId(subject.message_id.get()),
                recipients: recipients
                    .iter()
                    .map(|r| PushRecipient {
                        user_id: WireId(r.user_id.get()),
                        badge: r.badge,
                        reason: r.reason.as_str(),
                    })
                    .collect(),
                message: queued.data,
            },
        };
        serde_json::to_vec(&body).map_err(|e| format!("push request body: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::push::{PushReason, PushRecipient};
    use chat_domain::{ConversationId, MessageId, Timestamp, UserId};
    use serde_json::{Value, json};

    use super::*;

    fn subject() -> PushSubject {
        PushSubject {
            message_id: MessageId::new(981),
            conversation_id: ConversationId::new(42),
            seq: 3,
            sender: UserId::new(1),
            parent_id: None,
            mentions: Vec::new(),
            mention_everyone: false,
            direct: false,
            created_at: Timestamp::from_unix_millis(0).unwrap_or_else(|| unreachable!()),
        }
    }

    #[test]
    fn a_batch_is_an_envelope_naming_its_recipients_and_carrying_the_message() {
        let queued = r#"{"type":"message.created","eventId":"e1","conversationId":"42",
            "occurredAt":"2026-11-22T10:15:30.123Z","eventSeq":7,
            "data":{"id":"981","content":"hello"}}"#;
        let recipients = [PushRecipient {
            user_id: UserId::new(7),
            badge: 3,
            reason: PushReason::Mention,
        }];
        let body = JsonEventEncoder
            .push_requested("e1/push/0", queued, &subject(), &recipients)
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            body,
            json!({
                "type": "push.requested",
                "eventId": "e1/push/0",
                "conversationId": "42",
                "occurredAt": "2026-11-22T10:15:30.123Z",
                "data": {
                    "conversationId": "42",
                    "messageId": "981",
                    "recipients": [{"userId": "7", "badge": 3, "reason": "mention"}],
                    "message": {"id": "981", "content": "hello"}
                }
            })
        );
    }

    #[test]
    fn a_payload_that_is_not_an_envelope_is_refused() {
        for queued in ["{}", "not json"] {
            assert!(
                JsonEventEncoder
                    .push_requested("e1/push/0", queued, &subject(), &[])
                    .is_err()
            );
        }
    }
}
