//! Realtime through Centrifugo: the outbox relay against a stand-in that
//! speaks Centrifugo's server API, on real PostgreSQL.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chat_e2e::centrifugo::{CentrifugoStandIn, Publication};
use chat_e2e::{TestServer, eventually};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

const KEY: &str = "stand-in-api-key";
const WAIT: Duration = Duration::from_secs(30);

fn realtime_env(centrifugo: &CentrifugoStandIn) -> Vec<(&'static str, String)> {
    vec![
        ("CENTRIFUGO_API_URL", centrifugo.url().to_owned()),
        ("CENTRIFUGO_API_KEY", centrifugo.api_key().to_owned()),
        (
            "CENTRIFUGO_TOKEN_SECRET",
            "centrifugo-token-secret-for-tests".to_owned(),
        ),
        ("OUTBOX_PARTITIONS", "4".to_owned()),
        ("OUTBOX_BATCH", "10".to_owned()),
    ]
}

async fn server_with(centrifugo: &CentrifugoStandIn) -> TestServer {
    let env = realtime_env(centrifugo);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestServer::postgres_with(&pairs).await
}

/// A second server on the first one's database.
fn sibling(first: &TestServer, centrifugo: &CentrifugoStandIn) -> TestServer {
    let mut env = realtime_env(centrifugo);
    env.push(("DATABASE_URL", first.database_url().to_owned()));
    env.push(("CHAT_NO_MIGRATE", "1".to_owned()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestServer::with_env(&pairs)
}

async fn group(server: &TestServer) -> String {
    let owner = server.token(1, 1);
    let created = server
        .post(
            &owner,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "rt"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn send(server: &TestServer, conversation: &str, content: &str) {
    let token = server.token(1, 1);
    let sent = server
        .post(
            &token,
            "/chat/messages/send",
            json!({"conversationId": conversation, "content": content}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
}

/// The `message.created` publications of a conversation, in arrival order.
fn created_in(publications: &[Publication], conversation: &str) -> Vec<Value> {
    let channel = format!("chat:{conversation}");
    publications
        .iter()
        .filter(|p| p.channels == [channel.clone()] && p.data["type"] == "message.created")
        .map(|p| p.data.clone())
        .collect()
}

async fn wait_for_created(
    centrifugo: &CentrifugoStandIn,
    conversation: &str,
    count: usize,
) -> Vec<Value> {
    eventually(WAIT, || async {
        let created = created_in(&centrifugo.publications(), conversation);
        (created.len() >= count).then_some(created)
    })
    .await
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["data"]["seq"].as_i64().unwrap_or(-1))
        .collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn outbox_depth(url: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Depth {
        #[diesel(sql_type = BigInt)]
        depth: i64,
    }
    let Ok(mut conn) = AsyncPgConnection::establish(url).await else {
        panic!("connecting to the test database");
    };
    let row: Result<Depth, _> = diesel::sql_query("SELECT count(*) AS depth FROM chat_outbox")
        .get_result(&mut conn)
        .await;
    row.map(|d| d.depth).unwrap_or(-1)
}

#[tokio::test]
async fn sends_reach_centrifugo_in_seq_order_exactly_once() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let server = server_with(&centrifugo).await;
    let conversation = group(&server).await;
    let mut clients = Vec::new();
    for client in 0..4 {
        let base = server.base().to_owned();
        let token = server.token(1, 1);
        let conversation = conversation.clone();
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..25 {
                let body =
                    json!({"conversationId": conversation, "content": format!("{client}-{i}")});
                let sent = http
                    .post(format!("{base}/chat/messages/send"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                assert!(sent.is_ok_and(|r| r.status() == 201));
            }
        }));
    }
    for client in clients {
        assert!(client.await.is_ok());
    }
    let created = wait_for_created(&centrifugo, &conversation, 100).await;
    assert_eq!(
        seqs(&created),
        (1..=100).collect::<Vec<i64>>(),
        "in seq order, each once"
    );
    let first = &created[0];
    for field in ["type", "eventId", "conversationId", "occurredAt", "data"] {
        assert!(first.get(field).is_some(), "envelope has {field}: {first}");
    }
    assert_eq!(first["conversationId"], conversation.as_str());
    let publications = centrifugo.publications();
    let keys: HashSet<_> = publications
        .iter()
        .filter_map(|p| p.idempotency_key.clone())
        .collect();
    assert_eq!(
        keys.len(),
        publications.len(),
        "every publish has its own idempotency key"
    );
    let creation = publications
        .iter()
        .find(|p| p.data["type"] == "message.created");
    assert_eq!(
        creation.and_then(|p| p.idempotency_key.clone()),
        first["eventId"].as_str().map(ToOwned::to_owned)
    );
    let added = publications
        .iter()
        .find(|p| p.data["type"] == "conversation.added");
    assert_eq!(
        added.map(|p| p.channels.clone()),
        Some(vec!["personal:1".to_owned()])
    );
    eventually(WAIT, || async {
        (outbox_depth(server.database_url()).await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_outage_delays_events_but_loses_none() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let server = server_with(&centrifugo).await;
    let conversation = group(&server).await;
    wait_for_outbox_empty(&server).await;
    centrifugo.set_failing(true);
    for i in 0..30 {
        send(&server, &conversation, &format!("during outage {i}")).await;
    }
    assert!(created_in(&centrifugo.publications(), &conversation).is_empty());
    assert_eq!(
        outbox_depth(server.database_url()).await,
        30,
        "rows wait in the outbox"
    );
    let calls_before = centrifugo.calls();
    centrifugo.set_failing(false);
    for i in 0..10 {
        send(&server, &conversation, &format!("after {i}")).await;
    }
    let created = wait_for_created(&centrifugo, &conversation, 40).await;
    assert_eq!(seqs(&created), (1..=40).collect::<Vec<i64>>());
    // The 30 waiting rows go out in batches (OUTBOX_BATCH=10), one call each.
    let calls = centrifugo.calls() - calls_before;
    assert!(
        calls < 30,
        "{calls} calls for 40 messages: the backlog is published in batches"
    );
    wait_for_outbox_empty(&server).await;
    let metrics = server
        .metrics()
        .await
        .unwrap_or_else(|| panic!("GET /metrics failed"));
    assert!(
        metrics.contains("chat_outbox_publish_failures_total{kind=\"retry\"}"),
        "the outage shows in the failure counter"
    );
}

#[tokio::test]
async fn a_refused_row_goes_to_the_dead_letters_and_its_partition_moves_on() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let server = server_with(&centrifugo).await;
    let refused = group(&server).await;
    wait_for_outbox_empty(&server).await;
    centrifugo.refuse_channel(&format!("chat:{refused}"));
    for i in 0..3 {
        send(&server, &refused, &format!("refused {i}")).await;
    }
    let accepted = group(&server).await;
    for i in 0..3 {
        send(&server, &accepted, &format!("accepted {i}")).await;
    }
    // Refused rows do not stall anything: the outbox empties.
    let created = wait_for_created(&centrifugo, &accepted, 3).await;
    assert_eq!(seqs(&created), vec![1, 2, 3]);
    wait_for_outbox_empty(&server).await;
    assert!(created_in(&centrifugo.publications(), &refused).is_empty());
    let mut conn = AsyncPgConnection::establish(server.database_url())
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    let dead: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS count FROM chat_outbox_dead_letters \
         WHERE error_code = 102 AND payload->>'channel' = $1",
    )
    .bind::<diesel::sql_types::Text, _>(format!("chat:{refused}"))
    .load(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("reading dead letters: {e}"));
    assert_eq!(dead[0].count, 3, "each refused row is kept with its error");
    let metrics = eventually(WAIT, || async {
        let text = server.metrics().await?;
        text.lines()
            .any(|l| l == "chat_outbox_dead_letters 3")
            .then_some(text)
    })
    .await;
    assert!(metrics.contains("chat_outbox_publish_failures_total{kind=\"rejected\"} 3"));
}

async fn wait_for_outbox_empty(server: &TestServer) {
    eventually(WAIT, || async {
        (outbox_depth(server.database_url()).await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn two_relays_publish_each_event_once_and_in_order() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let first = server_with(&centrifugo).await;
    let second = sibling(&first, &centrifugo);
    let mut conversations = Vec::new();
    for _ in 0..3 {
        conversations.push(group(&first).await);
    }
    for i in 0..20 {
        for (n, conversation) in conversations.iter().enumerate() {
            let via = if (i + n) % 2 == 0 { &first } else { &second };
            send(via, conversation, &format!("{i}")).await;
        }
    }
    for conversation in &conversations {
        let created = wait_for_created(&centrifugo, conversation, 20).await;
        assert_eq!(
            seqs(&created),
            (1..=20).collect::<Vec<i64>>(),
            "conversation {conversation}"
        );
    }
    wait_for_outbox_empty(&first).await;
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for publication in centrifugo.publications() {
        *per_key
            .entry(publication.idempotency_key.unwrap_or_default())
            .or_default() += 1;
    }
    assert!(
        per_key.values().all(|count| *count == 1),
        "each event published once: {per_key:?}"
    );
}

#[tokio::test]
async fn a_relay_killed_mid_batch_loses_nothing() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let mut first = server_with(&centrifugo).await;
    let conversation = group(&first).await;
    wait_for_outbox_empty(&first).await;
    centrifugo.set_delay(Duration::from_millis(150));
    for i in 0..20 {
        send(&first, &conversation, &format!("{i}")).await;
    }
    // Some of the batch is out when the process dies; its transaction with it.
    wait_for_created(&centrifugo, &conversation, 2).await;
    first.kill();
    assert!(
        outbox_depth(first.database_url()).await > 0,
        "undeleted rows stay"
    );
    centrifugo.set_delay(Duration::ZERO);
    let _second = sibling(&first, &centrifugo);
    let created = wait_for_created(&centrifugo, &conversation, 20).await;
    assert_eq!(
        seqs(&created),
        (1..=20).collect::<Vec<i64>>(),
        "nothing lost, nothing twice, in order"
    );
    wait_for_outbox_empty(&first).await;
}

#[tokio::test]
async fn tokens_follow_centrifugo_claims() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let server = server_with(&centrifugo).await;
    let conversation = group(&server).await;
    let token = server.token(1, 1);
    let connection = server
        .post(&token, "/realtime/connection-token", json!({}))
        .await;
    assert_eq!(connection.status, 200, "{:?}", connection.body);
    assert_eq!(connection.body["channels"], json!(["personal:1"]));
    let claims = decode(connection.body["token"].as_str().unwrap_or_default());
    assert_eq!(claims["sub"], "1");
    assert_eq!(claims["channels"], json!(["personal:1"]));
    assert!(claims["exp"].as_i64().is_some_and(|exp| exp > 0));

    let subscribe = server
        .post(
            &token,
            "/chat/subscribe-token",
            json!({"conversationId": conversation}),
        )
        .await;
    assert_eq!(subscribe.body["channel"], format!("chat:{conversation}"));
    let claims = decode(subscribe.body["token"].as_str().unwrap_or_default());
    assert_eq!(
        (claims["sub"].clone(), claims["channel"].clone()),
        (json!("1"), json!(format!("chat:{conversation}")))
    );
    let stranger = server.token(9, 1);
    let refused = server
        .post(
            &stranger,
            "/chat/subscribe-token",
            json!({"conversationId": conversation}),
        )
        .await;
    assert_eq!(refused.status, 404, "readers only");

    for series in [
        "chat_outbox_published_total",
        "chat_outbox_publish_seconds",
        "chat_outbox_depth",
    ] {
        eventually(WAIT, || async {
            let body = server.metrics().await?;
            body.contains(series).then_some(())
        })
        .await;
    }
}

/// The claims of a Centrifugo token, checked with Centrifugo's secret.
fn decode(token: &str) -> Value {
    let key = jsonwebtoken::DecodingKey::from_secret(b"centrifugo-token-secret-for-tests");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => panic!("not a valid Centrifugo token: {e}"),
    }
}

#[tokio::test]
async fn tokens_without_a_secret_are_unavailable() {
    let server = TestServer::postgres().await;
    let reply = server
        .post(&server.token(1, 1), "/realtime/connection-token", json!({}))
        .await;
    assert_eq!((reply.status, reply.code()), (503, "unavailable"));
}
