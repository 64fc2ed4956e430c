//! The body of a `push.requested` delivery (contract: "Webhooks and push"):
//! an envelope like every other event's, whose `data` names the message,
//! its recipients with their badge and reason, and carries the message as
//! `message.created` did, so a push gateway can render the notification
//! without calling back.

use chat_domain::events::PUSH_REQUESTED;
use chat_domain::push::{PushRecipient, PushSubject};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The `message.created` envelope a push request was queued with.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageEnvelope {
    occurred_at: String,
    data: Box<RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushRequested<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    event_id: &'a str,
    conversation_id: String,
    occurred_at: &'a str,
    data: PushData<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushData<'a> {
    conversation_id: String,
    message_id: String,
    recipients: Vec<Recipient>,
    message: &'a RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    user_id: String,
    badge: i64,
    reason: &'static str,
}

impl MessageEnvelope {
    /// Reads the queued envelope.
    ///
    /// # Errors
    /// Not a `message.created` envelope (a row written by hand, say).
    pub(crate) fn parse(payload: &str) -> Result<Self, String> {
        serde_json::from_str(payload).map_err(|e| format!("push request payload: {e}"))
    }

    /// The body of one batch, with its id (`<eventId>/push/<batch>`).
    pub(crate) fn push_requested(
        &self,
        id: &str,
        subject: &PushSubject,
        recipients: &[PushRecipient],
    ) -> Vec<u8> {
        let body = PushRequested {
            event_type: PUSH_REQUESTED,
            event_id: id,
            conversation_id: subject.conversation_id.get().to_string(),
            occurred_at: &self.occurred_at,
            data: PushData {
                conversation_id: subject.conversation_id.get().to_string(),
                message_id: subject.message_id.get().to_string(),
                recipients: recipients
                    .iter()
                    .map(|r| Recipient {
                        user_id: r.user_id.get().to_string(),
                        badge: r.badge,
                        reason: r.reason.as_str(),
                    })
                    .collect(),
                message: &self.data,
            },
        };
        // Strings, integers and already-valid JSON: serializing cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::push::PushReason;
    use chat_domain::{ConversationId, MessageId, Timestamp, UserId};
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn a_batch_is_an_envelope_naming_its_recipients_and_carrying_the_message() {
        let queued = r#"{"type":"message.created","eventId":"e1","conversationId":"42",
            "occurredAt":"2026-11-22T10:15:30.123Z","eventSeq":7,
            "data":{"id":"981","content":"hello"}}"#;
        let envelope = MessageEnvelope::parse(queued).expect("a message.created envelope");
        let subject = PushSubject {
            message_id: MessageId::new(981),
            conversation_id: ConversationId::new(42),
            seq: 3,
            sender: UserId::new(1),
            parent_id: None,
            mentions: Vec::new(),
            mention_everyone: false,
            direct: false,
            created_at: Timestamp::from_unix_millis(0).expect("an instant"),
        };
        let recipients = [PushRecipient {
            user_id: UserId::new(7),
            badge: 3,
            reason: PushReason::Mention,
        }];
        let body = envelope.push_requested("e1/push/0", &subject, &recipients);
        let body: Value = serde_json::from_slice(&body).expect("JSON");
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
        assert!(MessageEnvelope::parse("{}").is_err());
        assert!(MessageEnvelope::parse("not json").is_err());
    }
}
