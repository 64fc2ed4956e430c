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

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReactionUpdatedData)]
pub(crate) struct ReactionDto {
    message_id: WireId,
    emoji: String,
    user_id: WireId,
    delta: i64,
    reaction_counts: std::collections::BTreeMap<String, i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TypingData)]
pub(crate) struct TypingDto {
    user_id: WireId,
    #[schema(required = true)]
    parent_id: Option<WireId>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PinData)]
pub(crate) struct PinDto {
    message_id: WireId,
    pinned_by: WireId,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UnreadUpdatedData)]
pub(crate) struct UnreadDto {
    conversation_id: WireId,
    #[schema(required = true)]
    unread_count: Option<i64>,
    #[schema(required = true)]
    mention_count: Option<i64>,
    #[schema(required = true)]
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

/// Every event type with the schema of its `data`, for the API description.
/// The list a client types its handlers against; `EventPayload::event_type`
/// is where each name is spelled for the wire.
const EVENT_DATA: &[(&str, &str)] = &[
    ("message.created", "MessageDto"),
    ("message.updated", "MessageDto"),
    ("message.deleted", "MessageDto"),
    ("reaction.updated", "ReactionUpdatedData"),
    ("pin.added", "PinData"),
    ("pin.removed", "PinData"),
    ("typing", "TypingData"),
    ("conversation.updated", "ConversationDto"),
    ("conversation.archived", "ConversationDto"),
    ("conversation.unarchived", "ConversationDto"),
    ("conversation.converted", "ConversationDto"),
    ("conversation.deleted", "ConversationDto"),
    ("conversation.added", "ConversationDto"),
    ("conversation.removed", "ConversationDto"),
    ("member.added", "MemberEventDto"),
    ("member.removed", "MemberEventDto"),
    ("member.updated", "MemberEventDto"),
    ("read.updated", "MembershipDto"),
    ("preferences.updated", "MembershipDto"),
    ("unread.updated", "UnreadUpdatedData"),
];

/// Describes the realtime events as schema components: one envelope per
/// event type (its `type` a single-value enum, its `data` the shape above)
/// and `RealtimeEvent`, their union discriminated by `type`. Clients type
/// what they receive on `chat:<id>` and `personal:<userId>` from these.
pub(crate) struct RealtimeEvents;

impl utoipa::Modify for RealtimeEvents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type};
        use utoipa::openapi::{Ref, RefOr};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut union = OneOfBuilder::new().description(Some(
            "An event as published on chat:<conversationId> and personal:<userId>",
        ));
        let mut discriminator = Discriminator::new("type");
        for (event_type, data) in EVENT_DATA {
            let name = envelope_name(event_type);
            let numbered = !chat_domain::events::UNNUMBERED_EVENT_TYPES.contains(event_type);
            let mut envelope = envelope_schema(event_type, data);
            if numbered {
                envelope = envelope
                    .property(
                        "eventSeq",
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Int64,
                            )))
                            .description(Some(
                                "The event's number in its stream (the conversation's on chat:<id>, the user's on personal:<userId>): gap-free and in commit order",
                            )),
                    )
                    .required("eventSeq");
            }
            let envelope = envelope.build();
            components
                .schemas
                .insert(name.clone(), RefOr::T(Schema::Object(envelope)));
            discriminator.mapping.insert(
                (*event_type).to_owned(),
                format!("#/components/schemas/{name}"),
            );
            union = union.item(Ref::from_schema_name(name));
        }
        let union = union.discriminator(Some(discriminator)).build();
        components
            .schemas
            .insert("RealtimeEvent".to_owned(), RefOr::T(Schema::OneOf(union)));
        // A webhook, not a realtime event: the same envelope, no `eventSeq`.
        let push = envelope_schema(chat_domain::events::PUSH_REQUESTED, "PushRequestedData")
            .description(Some(
                "The body of a push.requested webhook delivery (its webhook-id is its eventId)",
            ))
            .build();
        components.schemas.insert(
            "PushRequestedEvent".to_owned(),
            RefOr::T(Schema::Object(push)),
        );
    }
}

/// The envelope of an event of `event_type` whose `data` is the schema
/// named `data`: `{ type, eventId, conversationId, occurredAt, data }`.
fn envelope_schema(event_type: &str, data: &str) -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::Ref;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([event_type])),
        )
        .required("type")
        .property("eventId", ObjectBuilder::new().schema_type(Type::String))
        .required("eventId")
        .property("conversationId", Ref::from_schema_name("WireId"))
        .required("conversationId")
        .property("occurredAt", Ref::from_schema_name("WireTime"))
        .required("occurredAt")
        .property("data", Ref::from_schema_name(data))
        .required("data")
}

/// `message.created` → `MessageCreatedEvent`.
fn envelope_name(event_type: &str) -> String {
    let mut name: String = event_type
        .split('.')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    name.push_str("Event");
    name
}
