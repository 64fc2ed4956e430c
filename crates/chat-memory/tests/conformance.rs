//! The repository conformance suite on the in-memory store.

use std::sync::Arc;

use chat_conformance::{Harness, conformance_suite};
use chat_domain::events::EventPayload;
use chat_memory::InMemoryStore;

async fn fresh() -> Harness {
    let store = Arc::new(InMemoryStore::new(Arc::new(
        chat_conformance::TypeAndIdEncoder,
    )));
    let outbox_store = store.clone();
    Harness::new(
        store,
        move || {
            let events: Vec<(String, Vec<String>)> = outbox_store
                .outbox()
                .iter()
                .map(|e| {
                    (
                        e.payload.event_type().to_owned(),
                        chat_conformance::event_channels(e),
                    )
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
