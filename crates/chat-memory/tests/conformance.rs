//! The repository conformance suite on the in-memory store.

use std::sync::Arc;

use chat_conformance::{Harness, Published, conformance_suite};
use chat_domain::events::EventPayload;
use chat_memory::InMemoryStore;

async fn fresh() -> Harness {
    let encoder = Arc::new(chat_conformance::TypeAndIdEncoder::default());
    let store = Arc::new(InMemoryStore::new(encoder.clone()));
    let outbox_store = store.clone();
    Harness::new(
        store,
        encoder,
        move || {
            let events: Vec<Published> = outbox_store
                .outbox()
                .iter()
                .map(|e| Published {
                    event_id: e.id.as_str().to_owned(),
                    event_type: e.payload.event_type().to_owned(),
                    channels: chat_conformance::event_channels(e),
                })
                .collect();
            Box::pin(async move { events })
        },
        (),
    )
}

conformance_suite!(fresh);

#[test]
fn event_types_are_the_contracts() {
    let unread = chat_domain::events::UnreadUpdate {
        conversation_id: chat_domain::ConversationId::new(1),
        unread_count: Some(0),
        mention_count: Some(0),
        last_message_at: None,
    };
    assert_eq!(
        EventPayload::UnreadUpdated(unread).event_type(),
        "unread.updated"
    );
}

/// Every event carries what get-message and list-messages answer at its
/// commit: random sequences of operations, a client fed only by events.
#[test]
fn a_client_fed_by_events_agrees_with_the_reads() {
    chat_conformance::model::check_events_against_reads(fresh, 256, 40);
}
