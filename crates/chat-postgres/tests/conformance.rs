//! The repository conformance suite on PostgreSQL: each case gets its own
//! database cloned from a migrated template.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use chat_conformance::{Harness, Published, TypeAndIdEncoder, conformance_suite};
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

async fn outbox(url: String) -> Vec<Published> {
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
        .map(|(event_id, event_type, channels)| Published {
            event_id,
            event_type,
            channels,
        })
        .collect()
}

async fn fresh() -> Harness {
    fresh_with(None).await
}

async fn fresh_with(plan: Option<SearchPlan>) -> Harness {
    fresh_store(plan, false).await
}

async fn fresh_store(plan: Option<SearchPlan>, sync_walk: bool) -> Harness {
    fresh_store_at(plan, sync_walk).await.0
}

/// A harness and its database's URL.
/// A store over `db` as the tests use it: 4 outbox partitions, one pool.
fn store_on(url: &str, encoder: Arc<TypeAndIdEncoder>) -> PgStore {
    let config = PgConfig {
        database_url: url.to_owned(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
        outbox_partitions: 4,
        statement_timeout: Duration::from_secs(30),
        threads: 1,
    };
    PgStore::connect(&config, encoder).unwrap()
}

async fn fresh_store_at(plan: Option<SearchPlan>, sync_walk: bool) -> (Harness, String) {
    let db = TestDatabase::create().await.unwrap();
    let encoder = Arc::new(TypeAndIdEncoder::default());
    let mut store = store_on(db.url(), encoder.clone());
    if let Some(plan) = plan {
        store = store.with_search_plan(plan);
    }
    if sync_walk {
        store = store.with_sync_walk();
    }
    let store = Arc::new(store);
    let url = db.url().to_owned();
    let outbox_url = url.clone();
    (
        Harness::new(
            store,
            encoder,
            move || Box::pin(outbox(outbox_url.clone())),
            db,
        ),
        url,
    )
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

/// Sync answers from its change log when few changes happened since the
/// cursor, and walks the user's memberships otherwise; the small data of a
/// test always takes the log. The sync cases run once more through the
/// walk, so both answer alike.
mod through_the_membership_walk {
    use super::*;

    macro_rules! walk {
        ($($case:ident),* $(,)?) => {
            $(
                #[tokio::test]
                async fn $case() {
                    chat_conformance::cases::$case(fresh_store(None, true).await).await;
                }
            )*
        };
    }

    walk!(
        members_see_events_from_joining_until_removal,
        personal_events_are_numbered_per_user,
        sync_reports_what_changed_since_the_cursor,
        readers_older_than_what_is_kept_reload,
    );
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

/// Once the sync log is pruned past a cursor, that cursor's sync walks the
/// memberships instead, and still misses nothing.
#[tokio::test]
async fn a_cursor_older_than_the_sync_log_is_answered_by_the_walk() {
    use chat_conformance::cases::{group_of, text};

    let (h, url) = fresh_store_at(None, false).await;
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = h
        .service
        .create_conversation(ann, group_of(&[bob]))
        .await
        .unwrap()
        .value
        .conversation
        .id;
    let cursor = h.service.sync(bob, None, None).await.unwrap().next;
    h.service
        .send_message(ann, text(group, "while you were away"))
        .await
        .unwrap();

    // An hour later, the log rows are pruned.
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    diesel::sql_query("UPDATE chat_sync_log SET logged_at = now() - interval '2 hours'")
        .execute(&mut conn)
        .await
        .unwrap();
    while h.service.prune_event_history(1_000).await.unwrap() > 0 {}
    let moved: Flag = diesel::sql_query(format!(
        "SELECT complete_from > '{}'::xid8 AS flag FROM chat_sync_log_horizon",
        cursor.changed_since.unwrap()
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(moved.flag, "the horizon moved past the cursor");

    let synced = h.service.sync(bob, Some(cursor), None).await.unwrap();
    let ids: Vec<_> = synced.entries.iter().map(|e| e.conversation_id).collect();
    assert_eq!(ids, vec![group]);
}

/// The backlog gauges read the outbox as it stands: how many rows wait
/// (counted up to the cap, so a long outage does not make every reading a
/// scan of the whole backlog), how old the first is, how many were refused.
#[tokio::test]
async fn the_backlog_gauges_count_the_waiting_rows_up_to_the_cap() {
    use chat_domain::ports::OutboxRelayStore;
    use chat_postgres::{BACKLOG_DEPTH_CAP, PgOutboxRelay};

    let db = TestDatabase::create().await.unwrap();
    let relay = PgOutboxRelay::new(store_on(db.url(), Arc::default()), "gauges");
    let mut conn = AsyncPgConnection::establish(db.url()).await.unwrap();

    let empty = relay.backlog().await.unwrap();
    assert_eq!(
        (empty.depth, empty.oldest_ms, empty.dead_letters),
        (0, 0, 0)
    );

    diesel::sql_query(
        "INSERT INTO chat_outbox (method, payload, partition, created_at) \
         SELECT 'publish', '{}', n % 4, now() - interval '1 minute' + n * interval '1 ms' \
         FROM generate_series(1, 3) AS n",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO chat_outbox_dead_letters \
           (id, method, payload, partition, created_at, error_code, error_message) \
         VALUES (1000000, 'publish', '{}', 0, now(), 102, 'unknown channel')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let some = relay.backlog().await.unwrap();
    assert_eq!((some.depth, some.dead_letters), (3, 1));
    assert!(
        (59_000..120_000).contains(&some.oldest_ms),
        "the first row is a minute old: {} ms",
        some.oldest_ms
    );

    diesel::sql_query(format!(
        "INSERT INTO chat_outbox (method, payload, partition) \
         SELECT 'publish', '{{}}', n % 4 FROM generate_series(1, {BACKLOG_DEPTH_CAP}) AS n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let long = relay.backlog().await.unwrap();
    assert_eq!(long.depth, BACKLOG_DEPTH_CAP, "counted up to the cap");
    assert!(long.oldest_ms >= 59_000, "still the first row's age");
}

/// Every event carries what get-message and list-messages answer at its
/// commit: random sequences of operations, a client fed only by events.
#[test]
fn a_client_fed_by_events_agrees_with_the_reads() {
    chat_conformance::model::check_events_against_reads(fresh, 48, 40);
}

/// A common word across all of a user's conversations is searched
/// conversation by conversation, newest conversation first, and the walk
/// stops once no conversation left can hold a newer hit. Its pages, in
/// both orders, are the pages the index plan finds, over more conversations
/// than one batch of the walk, with replies newer than their conversation's
/// last top-level message and conversations written to out of order.
#[tokio::test]
async fn walking_conversations_finds_the_pages_the_index_finds() {
    use chat_conformance::cases::{group_of, text};
    use chat_domain::search::SearchOrder;
    use chat_domain::service::{SearchMessages, SendMessage};

    let (walk, url) = fresh_store_at(Some(SearchPlan::Common), false).await;
    let ann = walk.user(1, 10).await;
    let bob = walk.user(2, 10).await;
    let mut groups = Vec::new();
    for _ in 0..90 {
        groups.push(
            walk.service
                .create_conversation(ann, group_of(&[bob]))
                .await
                .unwrap()
                .value
                .conversation
                .id,
        );
    }
    let mut firsts = Vec::new();
    for (i, group) in groups.iter().enumerate().rev() {
        let sent = walk
            .service
            .send_message(ann, text(*group, &format!("hello number {i}")))
            .await
            .unwrap();
        firsts.push((*group, sent.value.message.id));
    }
    for (n, (group, first)) in firsts.iter().enumerate() {
        if n % 7 == 0 {
            let reply = SendMessage {
                parent_id: Some(*first),
                ..text(*group, &format!("hello again, reply {n}"))
            };
            walk.service.send_message(bob, reply).await.unwrap();
        }
        if n % 5 == 0 {
            walk.service
                .send_message(bob, text(*group, &format!("goodbye {n}")))
                .await
                .unwrap();
        }
    }

    let index = Harness::new(
        Arc::new(store_on(&url, Arc::default()).with_search_plan(SearchPlan::Rare)),
        Arc::default(),
        || Box::pin(async { Vec::new() }),
        (),
    );
    for order in [SearchOrder::Newest, SearchOrder::Relevance] {
        let pages = async |h: &Harness| {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = h
                    .service
                    .search_messages(
                        ann,
                        SearchMessages {
                            query: "hel".to_owned(),
                            conversation_id: None,
                            sender_id: None,
                            from: None,
                            to: None,
                            order,
                            after,
                            limit: Some(9),
                        },
                    )
                    .await
                    .unwrap();
                seen.push(
                    page.hits
                        .iter()
                        .map(|hit| hit.message.message.id)
                        .collect::<Vec<_>>(),
                );
                match page.next {
                    Some(next) => after = Some(next),
                    None => return seen,
                }
            }
        };
        let walked = pages(&walk).await;
        assert_eq!(
            walked.iter().map(Vec::len).sum::<usize>(),
            90 + 13,
            "{order:?}"
        );
        assert_eq!(walked, pages(&index).await, "{order:?}");
    }
}
