//! The repository conformance suite on PostgreSQL: each case gets its own
//! database cloned from a migrated template.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use chat_conformance::{Harness, conformance_suite};
use chat_postgres::testing::TestDatabase;
use chat_postgres::{PgConfig, PgStore, SearchPlan};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

#[derive(QueryableByName)]
struct PayloadRow {
    #[diesel(sql_type = Text)]
    payload: String,
}

async fn outbox(url: String) -> Vec<(String, Vec<String>)> {
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let rows: Vec<PayloadRow> =
        diesel::sql_query("SELECT payload::text AS payload FROM chat_outbox ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap();
    // One event can be several rows (a numbered personal event is one
    // publish per user; a broadcast is chunked): rows of one event id are
    // one event, at its first row's place.
    let mut events: Vec<(String, String, Vec<String>)> = Vec::new();
    for row in rows {
        let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
        let event_type = payload["data"]["type"].as_str().unwrap().to_owned();
        let event_id = payload["data"]["eventId"].as_str().unwrap().to_owned();
        let channels: Vec<String> = match payload.get("channel") {
            Some(channel) => vec![channel.as_str().unwrap().to_owned()],
            None => payload["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect(),
        };
        match events.iter_mut().find(|(id, _, _)| *id == event_id) {
            Some((_, _, known)) => known.extend(channels),
            None => events.push((event_id, event_type, channels)),
        }
    }
    events
        .into_iter()
        .map(|(_, event_type, channels)| (event_type, channels))
        .collect()
}

async fn fresh() -> Harness {
    fresh_with(None).await
}

async fn fresh_with(plan: Option<SearchPlan>) -> Harness {
    let db = TestDatabase::create().await.unwrap();
    let config = PgConfig {
        database_url: db.url().to_owned(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
        outbox_partitions: 4,
        statement_timeout: Duration::from_secs(30),
        threads: 1,
    };
    let mut store =
        PgStore::connect(&config, Arc::new(chat_conformance::TypeAndIdEncoder)).unwrap();
    if let Some(plan) = plan {
        store = store.with_search_plan(plan);
    }
    let store = Arc::new(store);
    let url = db.url().to_owned();
    Harness::new(store, move || Box::pin(outbox(url.clone())), db)
}

conformance_suite!(fresh);

/// Real data picks a search plan by how common the words are; the small
/// data of a test always looks rare. The search cases run once more through
/// the plan that walks the newest messages, so both plans answer alike.
mod through_the_common_word_plan {
    use super::*;

    macro_rules! common_plan {
        ($($case:ident),* $(,)?) => {
            $(
                #[tokio::test]
                async fn $case() {
                    chat_conformance::cases::$case(fresh_with(Some(SearchPlan::Common)).await).await;
                }
            )*
        };
    }

    common_plan!(
        search_matches_words_phrases_and_prefixes,
        search_sees_only_what_the_caller_may_read,
        search_filters_by_sender_and_time,
        search_pages_newest_first_without_duplicates,
        search_works_beyond_english,
        search_orders_by_relevance,
    );
}
