//! The realtime event envelope: `{ type, eventId, conversationId, occurredAt, data }`.

use chat_domain::events::{EventEncoder, EventPayload, OutboxEvent, UnreadUpdate};
use serde::Serialize;

use super::member::MemberEventDto;
use super::{ConversationDto, MembershipDto, MessageDto, WireId, WireTime, wire_time};

/// Encodes events with the contract's wire shapes; stores call it to fill
/// outbox rows.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonEventEncoder;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    event_id: &'a str,
    conversation_id: WireId,
    occurred_at: WireTime,
    data: Data,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Data {
    Message(Box<MessageDto>),
    Conversation(Box<ConversationDto>),
    Member(MemberEventDto),
    Reaction(ReactionDto),
    Pin(PinDto),
    Typing(TypingDto),
    Membership(MembershipDto),
    Unread(UnreadDto),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReactionDto {
    message_id: WireId,
    emoji: String,
    user_id: WireId,
    delta: i64,
    reaction_counts: std::collections::BTreeMap<String, i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TypingDto {
    user_id: WireId,
    parent_id: Option<WireId>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PinDto {
    message_id: WireId,
    pinned_by: WireId,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnreadDto {
    conversation_id: WireId,
    unread_count: Option<i64>,
    mention_count: Option<i64>,
    last_message_at: Option<WireTime>,
}

impl From<&UnreadUpdate> for UnreadDto {
    fn from(u: &UnreadUpdate) -> Self {
        Self {
            conversation_id: WireId(u.conversation_id.get()),
            unread_count: u.unread_count,
            mention_count: u.mention_count,
            last_message_at: wire_time(u.last_message_at),
        }
    }
}

impl EventEncoder for JsonEventEncoder {
    fn encode(&self, event: &OutboxEvent) -> String {
        let data = match &event.payload {
            EventPayload::MessageCreated(view)
            | EventPayload::MessageUpdated(view)
            | EventPayload::MessageDeleted(view) => Data::Message(Box::new(MessageDto::from(view))),
            EventPayload::Conversation(_, view) => {
                Data::Conversation(Box::new(ConversationDto::from(view)))
            }
            EventPayload::Member(_, member) => Data::Member(MemberEventDto::from(member)),
            EventPayload::ReactionUpdated(update) => Data::Reaction(ReactionDto {
                message_id: WireId(update.message_id.get()),
                emoji: update.emoji.clone(),
                user_id: WireId(update.user_id.get()),
                delta: update.delta,
                reaction_counts: update.reaction_counts.iter().cloned().collect(),
            }),
            EventPayload::Typing(typing) => Data::Typing(TypingDto {
                user_id: WireId(typing.user_id.get()),
                parent_id: typing.parent_id.map(|p| WireId(p.get())),
            }),
            EventPayload::PinAdded(pin) | EventPayload::PinRemoved(pin) => Data::Pin(PinDto {
                message_id: WireId(pin.message_id.get()),
                pinned_by: WireId(pin.pinned_by.get()),
            }),
            EventPayload::ReadUpdated(view) | EventPayload::PreferencesUpdated(view) => {
                Data::Membership(MembershipDto::from(view))
            }
            EventPayload::UnreadUpdated(update) => Data::Unread(UnreadDto::from(update)),
        };
        let envelope = Envelope {
            event_type: event.payload.event_type(),
            event_id: event.id.as_str(),
            conversation_id: WireId(event.conversation_id.get()),
            occurred_at: WireTime(event.occurred_at),
            data,
        };
        // Serializing these shapes cannot fail: no maps with non-string keys,
        // no custom serializer that errors on valid domain values.
        serde_json::to_string(&envelope).unwrap_or_else(|e| {
            tracing::error!(error = %e, "event encoding failed");
            "{}".to_owned()
        })
    }
}
