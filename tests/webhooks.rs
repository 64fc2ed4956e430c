//! Webhooks end to end: the real server on PostgreSQL delivers events to
//! local receivers that verify Standard Webhooks signatures, go down and
//! come back, answer slowly, or never take anything.

use std::collections::BTreeMap;
use std::time::Duration;

use chat_e2e::webhook_receiver::{Delivery, WebhookReceiver};
use chat_e2e::{TestServer, eventually};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WAIT: Duration = Duration::from_secs(30);

/// A call as user 1 (org 1).
async fn call(server: &TestServer, path: &str, body: Value) -> Value {
    call_as(server, 1, path, body).await
}

async fn group(server: &TestServer) -> String {
    let created = call(
        server,
        "/chat/conversations/create",
        json!({"kind": "group", "name": "hooks"}),
    )
    .await;
    created["id"].as_str().unwrap_or_default().to_owned()
}

async fn send(server: &TestServer, conversation: &str, content: &str) -> String {
    let sent = call(
        server,
        "/chat/messages/send",
        json!({"conversationId": conversation, "content": content}),
    )
    .await;
    sent["id"].as_str().unwrap_or_default().to_owned()
}

/// Each conversation's `eventSeq`s in the order they were taken.
fn seqs_by_conversation(deliveries: &[Delivery]) -> BTreeMap<String, Vec<i64>> {
    let mut by_conversation: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for delivery in deliveries {
        by_conversation
            .entry(
                delivery.body["conversationId"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
            .or_default()
            .push(delivery.body["eventSeq"].as_i64().unwrap_or(-1));
    }
    by_conversation
}

#[tokio::test]
async fn events_arrive_signed_and_in_order() {
    let receiver = WebhookReceiver::start(SECRET);
    let server = TestServer::postgres_with(&[
        ("WEBHOOK_URL", receiver.url()),
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
    ])
    .await;
    let conversation = group(&server).await;
    let first = send(&server, &conversation, "one").await;
    send(&server, &conversation, "two").await;
    call(
        &server,
        &format!("/chat/messages/{first}/reactions/add"),
        json!({"emoji": "👍"}),
    )
    .await;
    call(
        &server,
        &format!("/chat/messages/{first}/update"),
        json!({"content": "one, edited"}),
    )
    .await;
    let deliveries = eventually(WAIT, || async {
        let accepted = receiver.accepted();
        (accepted.len() >= 4).then_some(accepted)
    })
    .await;
    let types: Vec<&str> = deliveries
        .iter()
        .map(|d| d.body["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        vec![
            "message.created",
            "message.created",
            "reaction.updated",
            "message.updated"
        ]
    );
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    for delivery in &deliveries {
        assert!(delivery.verified, "signed with the endpoint's secret");
        assert!(
            (delivery.timestamp - now_secs).abs() < 300,
            "webhook-timestamp is Unix seconds: {}",
            delivery.timestamp
        );
        assert_eq!(
            delivery.webhook_id,
            delivery.body["eventId"].as_str().unwrap_or("")
        );
    }
    assert_eq!(
        seqs_by_conversation(&deliveries)[&conversation],
        vec![1, 2, 3, 4]
    );
}

#[tokio::test]
async fn an_endpoint_that_was_down_gets_everything_in_order() {
    let receiver = WebhookReceiver::start(SECRET);
    let server = TestServer::postgres_with(&[
        ("WEBHOOK_URL", receiver.url()),
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("WEBHOOK_RETRY_FIRST_MS", "100"),
    ])
    .await;
    let conversations = [group(&server).await, group(&server).await];
    receiver.set_down(true);
    for i in 0..10 {
        for conversation in &conversations {
            send(&server, conversation, &format!("while down {i}")).await;
        }
    }
    // It was tried, and refused.
    eventually(WAIT, || async {
        (receiver.deliveries().len() >= 2).then_some(())
    })
    .await;
    receiver.set_down(false);
    let accepted = eventually(WAIT, || async {
        let accepted = receiver.accepted();
        (accepted.len() >= 20).then_some(accepted)
    })
    .await;
    let by_conversation = seqs_by_conversation(&accepted);
    for conversation in &conversations {
        assert_eq!(
            by_conversation[conversation],
            (1..=10).collect::<Vec<i64>>(),
            "nothing lost, order kept per conversation"
        );
    }
    assert!(accepted.iter().all(|d| d.verified));
}

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_another() {
    let slow = WebhookReceiver::start(SECRET);
    let fast = WebhookReceiver::start(SECRET);
    slow.set_delay(Duration::from_secs(2));
    let file = std::env::temp_dir().join(format!("webhooks-{}.json", std::process::id()));
    let endpoints = json!([
        {"name": "slow", "url": slow.url(), "secret": SECRET},
        {"name": "fast", "url": fast.url(), "secret": SECRET},
    ]);
    std::fs::write(&file, endpoints.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let server = TestServer::postgres_with(&[
        ("WEBHOOK_ENDPOINTS_FILE", file.to_str().unwrap_or_default()),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
    ])
    .await;
    let conversation = group(&server).await;
    for i in 0..5 {
        send(&server, &conversation, &format!("m{i}")).await;
    }
    eventually(WAIT, || async {
        (fast.accepted().len() >= 5).then_some(())
    })
    .await;
    // One conversation's events go one at a time, 2 s each, to the slow
    // endpoint; the fast one had them all long before.
    assert!(
        slow.accepted().len() < 5,
        "the slow endpoint took {} already",
        slow.accepted().len()
    );
    let all = eventually(WAIT, || async {
        let accepted = slow.accepted();
        (accepted.len() >= 5).then_some(accepted)
    })
    .await;
    assert_eq!(
        seqs_by_conversation(&all)[&conversation],
        vec![1, 2, 3, 4, 5]
    );
    let _ = std::fs::remove_file(file);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[tokio::test]
async fn filters_apply_and_what_never_goes_through_is_kept() {
    let deletes = WebhookReceiver::start(SECRET);
    let broken = WebhookReceiver::start(SECRET);
    broken.set_down(true);
    let file = std::env::temp_dir().join(format!("webhooks-dead-{}.json", std::process::id()));
    let endpoints = json!([
        {"name": "deletes", "url": deletes.url(), "secret": SECRET, "events": ["message.deleted"]},
        {"name": "broken", "url": broken.url(), "secret": SECRET},
    ]);
    std::fs::write(&file, endpoints.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let server = TestServer::postgres_with(&[
        ("WEBHOOK_ENDPOINTS_FILE", file.to_str().unwrap_or_default()),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("WEBHOOK_RETRY_FIRST_MS", "100"),
        ("WEBHOOK_RETRY_FOR_SECS", "1"),
    ])
    .await;
    let conversation = group(&server).await;
    let message = send(&server, &conversation, "soon gone").await;
    call(
        &server,
        &format!("/chat/messages/{message}/delete"),
        json!({}),
    )
    .await;

    let taken = eventually(WAIT, || async {
        let accepted = deletes.accepted();
        (!accepted.is_empty()).then_some(accepted)
    })
    .await;
    assert!(taken.iter().all(|d| d.body["type"] == "message.deleted"));

    // The broken endpoint's two events end in the dead letters, and the
    // metrics say so.
    let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
        panic!("connecting to the test database");
    };
    eventually(WAIT, || async {
        let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
            return None;
        };
        let dead: Count = diesel::sql_query(
            "SELECT count(*) AS count FROM chat_webhook_dead_letters WHERE endpoint = 'broken'",
        )
        .get_result(&mut conn)
        .await
        .ok()?;
        (dead.count == 2).then_some(())
    })
    .await;
    let waiting: Count = diesel::sql_query("SELECT count(*) AS count FROM chat_webhook_queue")
        .get_result(&mut conn)
        .await
        .unwrap_or(Count { count: -1 });
    assert_eq!(waiting.count, 0, "nothing left waiting");
    let metrics = server
        .metrics()
        .await
        .unwrap_or_else(|| panic!("GET /metrics failed"));
    assert!(
        metrics.contains(
            r#"chat_webhook_deliveries_total{endpoint="broken",outcome="dead_letter"} 2"#
        ),
        "{metrics}"
    );
    // The gauges read the tables (every 10 s): they survive a restart.
    eventually(WAIT, || async {
        let text = server.metrics().await?;
        (text.contains(r#"chat_webhook_dead_letters{endpoint="broken"} 2"#)
            && text.contains(r#"chat_webhook_queued{endpoint="broken"} 0"#))
        .then_some(())
    })
    .await;
    let _ = std::fs::remove_file(file);
}

#[test]
fn private_endpoints_need_the_operators_consent() {
    let output = std::process::Command::new(chat_e2e::server_binary())
        .env("AUTH_HS256_SECRET", chat_e2e::SECRET)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("WEBHOOK_URL", "http://127.0.0.1:9/hook")
        .env("WEBHOOK_SECRET", SECRET)
        .env("CHAT_BIND", "127.0.0.1:0")
        .output()
        .unwrap_or_else(|e| panic!("running the server: {e}"));
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("not a public address"), "{said}");
}

/// A user's call as themselves (org 1).
async fn call_as(server: &TestServer, user: i64, path: &str, body: Value) -> Value {
    let reply = server.post(&server.token(user, 1), path, body).await;
    assert!(
        reply.status == 200 || reply.status == 201,
        "{path} as {user}: {} {:?}",
        reply.status,
        reply.body
    );
    reply.body
}

/// `(userId, reason, badge)` of every recipient of the deliveries.
fn recipients_of(deliveries: &[&Delivery]) -> Vec<(i64, String, i64)> {
    deliveries
        .iter()
        .flat_map(|d| {
            d.body["data"]["recipients"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|r| {
            (
                r["userId"]
                    .as_str()
                    .and_then(|u| u.parse().ok())
                    .unwrap_or(-1),
                r["reason"].as_str().unwrap_or("").to_owned(),
                r["badge"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn push_requests_reach_every_recipient_in_batches_once() {
    const MEMBERS: i64 = 521;
    let gateway = WebhookReceiver::start(SECRET);
    let server = TestServer::postgres_with(&[
        ("WEBHOOK_URL", gateway.url()),
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_EVENTS", "push.requested"),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("WEBHOOK_RETRY_FIRST_MS", "100"),
    ])
    .await;
    let channel = call(
        &server,
        "/chat/conversations/create",
        json!({"kind": "channel", "name": "everyone", "visibility": "org"}),
    )
    .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Everyone in the org is enrolled on their first call.
    for users in (2..=MEMBERS).collect::<Vec<i64>>().chunks(32) {
        futures_util::future::join_all(
            users
                .iter()
                .map(|user| call_as(&server, *user, "/chat/unread/get", json!({}))),
        )
        .await;
    }
    let preferences = format!("/chat/conversations/{channel}/preferences/update");
    call_as(
        &server,
        3,
        &preferences,
        json!({"muteUntil": "2100-01-01T00:00:00Z"}),
    )
    .await;
    call_as(&server, 4, &preferences, json!({"notifyLevel": "none"})).await;
    // The second batch fails once: the retry sends it alone.
    gateway.refuse_once("/push/1");

    let message = send(&server, &channel, "hello all").await;
    let deliveries = eventually(WAIT, || async {
        let accepted = gateway.accepted();
        (accepted.len() >= 2).then_some(accepted)
    })
    .await;
    let ids: Vec<&str> = deliveries.iter().map(|d| d.webhook_id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        ids[0].ends_with("/push/0") && ids[1].ends_with("/push/1"),
        "{ids:?}"
    );
    assert!(
        gateway
            .deliveries()
            .iter()
            .any(|d| !d.accepted && d.webhook_id == ids[1]),
        "the second batch was refused once"
    );
    for delivery in &deliveries {
        assert!(delivery.verified);
        assert_eq!(delivery.body["type"], "push.requested");
        assert_eq!(delivery.body["eventId"], delivery.webhook_id.as_str());
        assert_eq!(delivery.body["data"]["conversationId"], channel.as_str());
        assert_eq!(delivery.body["data"]["messageId"], message.as_str());
        assert_eq!(delivery.body["data"]["message"]["content"], "hello all");
    }
    let recipients = recipients_of(&deliveries.iter().collect::<Vec<_>>());
    let expected: Vec<(i64, String, i64)> = (2..=MEMBERS)
        .filter(|user| ![3, 4].contains(user))
        .map(|user| (user, "message".to_owned(), 1))
        .collect();
    assert_eq!(
        recipients, expected,
        "everyone but the sender, the muted and `none`, once, badge 1"
    );

    // A reply goes to the thread's participants and whoever it names; the
    // badge is what get-unread-counts says.
    let reply = call_as(
        &server,
        5,
        "/chat/messages/send",
        json!({"conversationId": channel, "content": "re", "parentId": message, "mentions": ["4", "6"]}),
    )
    .await;
    let reply_id = reply["id"].as_str().unwrap_or_default().to_owned();
    let pushed = eventually(WAIT, || async {
        let accepted = gateway.accepted();
        let pushed: Vec<Delivery> = accepted
            .into_iter()
            .filter(|d| d.body["data"]["messageId"] == reply_id.as_str())
            .collect();
        (!pushed.is_empty()).then_some(pushed)
    })
    .await;
    let unread_of_6 = call_as(&server, 6, "/chat/unread/get", json!({})).await["totalUnread"]
        .as_i64()
        .unwrap_or(-1);
    assert_eq!(
        recipients_of(&pushed.iter().collect::<Vec<_>>()),
        vec![
            (1, "thread".to_owned(), 0),
            (6, "mention".to_owned(), unread_of_6)
        ],
        "the parent's author, and user 6 named (user 4 is on `none`)"
    );
    let waiting: Count = {
        let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
            panic!("connecting to the test database");
        };
        diesel::sql_query("SELECT count(*) AS count FROM chat_webhook_queue")
            .get_result(&mut conn)
            .await
            .unwrap_or(Count { count: -1 })
    };
    assert_eq!(waiting.count, 0, "nothing left waiting");
}
