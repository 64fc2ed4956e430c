//! The walking skeleton over HTTP: the real binary on PostgreSQL (and in
//! memory), driven with real signed tokens.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

use std::collections::BTreeSet;

use chat_e2e::TestServer;
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

#[derive(QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    partition: i32,
}

async fn outbox(server: &TestServer) -> Vec<(String, Value, i32)> {
    let mut conn = AsyncPgConnection::establish(server.database_url())
        .await
        .unwrap();
    let rows: Vec<OutboxRow> = diesel::sql_query(
        "SELECT method, payload::text AS payload, partition FROM chat_outbox ORDER BY id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| {
            (
                r.method,
                serde_json::from_str(&r.payload).unwrap(),
                r.partition,
            )
        })
        .collect()
}

#[tokio::test]
async fn the_slice_works_end_to_end_on_postgres() {
    let server = TestServer::postgres().await;
    let ann = server.token(1, 7);
    let bob = server.token(2, 7);
    // Bob's first call puts him in the directory.
    assert_eq!(
        server
            .post(&bob, "/chat/conversations/list", json!({}))
            .await
            .status,
        200
    );

    let created = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "2"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let dm = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["kind"], "direct");
    assert_eq!(created.body["memberCount"], 2);
    assert_eq!(created.body["otherMembers"][0]["id"], "2");
    assert_eq!(created.body["otherMembers"][0]["name"], "User 2");
    assert_eq!(created.body["membership"]["role"], "owner");
    let created_at = created.body["createdAt"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );

    let same = server
        .post(
            &bob,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "1"}),
        )
        .await;
    assert_eq!(same.status, 200);
    assert_eq!(same.body["id"], dm.as_str());

    let send = json!({"conversationId": dm, "content": "hello bob", "clientMsgId": "m-1", "metadata": {"k": [1]}});
    let sent = server.post(&ann, "/chat/messages/send", send.clone()).await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(sent.body["seq"], 1);
    assert_eq!(sent.body["sender"]["id"], "1");
    assert_eq!(sent.body["metadata"], json!({"k": [1]}));
    assert_eq!(sent.body["reactionCounts"], json!({}));
    assert_eq!(sent.body["attachments"], json!([]));
    let retry = server.post(&ann, "/chat/messages/send", send).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["id"], sent.body["id"]);

    let reply = server
        .post(
            &bob,
            "/chat/messages/send",
            json!({"conversationId": dm, "content": "hi ann"}),
        )
        .await;
    assert_eq!(reply.body["seq"], 2);

    let page = server
        .post(&bob, "/chat/messages/list", json!({"conversationId": dm}))
        .await;
    assert_eq!(page.status, 200);
    let contents: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["hello bob", "hi ann"]);
    assert_eq!(
        page.body["page"],
        json!({"hasOlder": false, "hasNewer": false,
        "oldestId": sent.body["id"], "newestId": reply.body["id"]})
    );

    let got = server
        .post(
            &bob,
            &format!("/chat/messages/{}/get", sent.body["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(got.body["content"], "hello bob");

    // Bob answered, so he has read; Ann has his reply unread.
    let bobs = server
        .post(&bob, "/chat/conversations/list", json!({}))
        .await;
    assert_eq!(bobs.body["data"][0]["membership"]["unreadCount"], 0);
    let sidebar = server
        .post(&ann, "/chat/conversations/list", json!({}))
        .await;
    let entry = &sidebar.body["data"][0];
    assert_eq!(entry["id"], dm.as_str());
    assert_eq!(entry["lastMessage"]["content"], "hi ann");
    assert_eq!(entry["membership"]["unreadCount"], 1);
    assert_eq!(
        sidebar.body["page"],
        json!({"nextCursor": null, "hasMore": false})
    );

    let read_path = format!("/chat/conversations/{dm}/read");
    let read = server
        .post(&ann, &read_path, json!({"messageId": reply.body["id"]}))
        .await;
    let expected =
        json!({"lastReadMessageId": reply.body["id"], "unreadCount": 0, "mentionCount": 0});
    assert_eq!(read.body, expected);

    // The outbox holds every event, in the shape Centrifugo's consumer reads.
    let rows = outbox(&server).await;
    let types: Vec<&str> = rows
        .iter()
        .map(|(_, p, _)| p["data"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "conversation.added",
            "conversation.added",
            "message.created",
            "unread.updated",
            "message.created",
            "unread.updated",
            "read.updated",
            "unread.updated"
        ]
    );
    // "You were added", numbered in each member's own stream: one publish
    // per member.
    for (row, user) in [(&rows[0], 1), (&rows[1], 2)] {
        assert_eq!(row.0, "publish");
        assert_eq!(row.1["channel"], format!("personal:{user}"));
        assert_eq!(row.1["data"]["eventSeq"], 1);
    }
    // After Ann's send, Bob's sidebar learns his exact figures (a hint:
    // not numbered).
    assert_eq!(rows[3].1["channel"], "personal:2");
    assert_eq!(
        rows[3].1["data"]["data"],
        json!({"conversationId": dm, "unreadCount": 1, "mentionCount": 0,
               "lastMessageAt": sent.body["createdAt"]})
    );
    assert!(rows[3].1["data"].get("eventSeq").is_none());
    let (method, created_event, partition) = &rows[2];
    assert_eq!(method, "publish");
    assert_eq!(created_event["channel"], format!("chat:{dm}"));
    assert_eq!(
        created_event["idempotency_key"],
        created_event["data"]["eventId"]
    );
    assert_eq!(created_event["data"]["conversationId"], dm.as_str());
    assert_eq!(created_event["data"]["data"]["id"], sent.body["id"]);
    assert_eq!(created_event["data"]["data"]["seq"], 1);
    assert_eq!(created_event["data"]["eventSeq"], 1);
    assert_eq!(
        rows[4].1["data"]["eventSeq"], 2,
        "the conversation's next event"
    );
    assert!(
        rows.iter()
            .filter(|(_, payload, _)| payload["channel"] == format!("chat:{dm}"))
            .all(|(_, _, p)| p == partition),
        "one conversation, one partition"
    );
    // Ann's read cursor, for her other devices: her second personal event.
    assert_eq!(rows[6].1["channel"], "personal:1");
    assert_eq!(rows[6].1["data"]["eventSeq"], 2);
}

#[tokio::test]
async fn a_thousand_concurrent_sends_get_seq_one_to_a_thousand() {
    let server = TestServer::postgres().await;
    let owner = server.token(1, 7);
    let created = server
        .post(
            &owner,
            "/chat/conversations/create",
            json!({"kind": "channel", "name": "load", "visibility": "org"}),
        )
        .await;
    let channel = created.body["id"].as_str().unwrap().to_owned();

    let mut clients = Vec::new();
    for client in 0..8_i64 {
        let token = server.token(100 + client, 7);
        // Joining the org after the channel exists enrolls the user in it.
        assert_eq!(
            server
                .post(&token, "/chat/conversations/list", json!({}))
                .await
                .status,
            200
        );
        let base = server.base().to_owned();
        let channel = channel.clone();
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut seqs = Vec::new();
            for i in 0..125 {
                let body = json!({"conversationId": channel, "content": format!("{client}-{i}"), "clientMsgId": format!("{client}-{i}")});
                let response = http
                    .post(format!("{base}/chat/messages/send"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                let message: Value = response.json().await.unwrap();
                seqs.push(message["seq"].as_i64().unwrap());
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for client in clients {
        seqs.extend(client.await.unwrap());
    }
    let distinct: BTreeSet<i64> = seqs.iter().copied().collect();
    assert_eq!(seqs.len(), 1000);
    assert_eq!(
        distinct,
        (1..=1000).collect::<BTreeSet<i64>>(),
        "no gap, no duplicate"
    );

    // Reading back: ten pages of 100, oldest first, seq 1..1000 in order.
    let mut read = Vec::new();
    let mut request = json!({"conversationId": channel, "anchor": "oldest", "limit": 100});
    loop {
        let page = server
            .post(&owner, "/chat/messages/list", request.clone())
            .await;
        read.extend(
            page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["seq"].as_i64().unwrap()),
        );
        if page.body["page"]["hasNewer"] != true {
            break;
        }
        request = json!({"conversationId": channel, "after": page.body["page"]["newestId"], "limit": 100});
    }
    assert_eq!(read, (1..=1000).collect::<Vec<i64>>());
    let events = outbox(&server)
        .await
        .iter()
        .filter(|(_, p, _)| p["data"]["type"] == "message.created")
        .count();
    assert_eq!(events, 1000, "one message.created per send");
}

#[tokio::test]
async fn zero_config_serves_the_api_in_memory() {
    let server = TestServer::in_memory();
    assert!(
        server.logs().iter().any(|l| l.contains("in-memory")),
        "the log says where data lives"
    );
    let ann = server.token(1, 1);
    let created = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "crew"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let sent = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": id, "content": "first"}),
        )
        .await;
    assert_eq!(sent.status, 201);
    let page = server
        .post(&ann, "/chat/messages/list", json!({"conversationId": id}))
        .await;
    assert_eq!(page.body["data"][0]["content"], "first");
    assert_eq!(server.get("/readyz").await.status, 200);
}

#[tokio::test]
async fn probes_answer_without_auth() {
    let server = TestServer::postgres().await;
    assert_eq!(server.get("/healthz").await.body, json!({"status": "ok"}));
    assert_eq!(server.get("/readyz").await.body, json!({"status": "ready"}));
}

#[tokio::test]
async fn list_responses_are_compressed_as_the_client_asks() {
    let server = TestServer::postgres().await;
    let token = server.token(1, 1);
    let group = server
        .post(
            &token,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "zip"}),
        )
        .await;
    let id = group.body["id"].as_str().unwrap().to_owned();
    for n in 0..30 {
        let text = format!("message number {n} with the same words as its neighbours");
        server
            .post(
                &token,
                "/chat/messages/send",
                json!({"conversationId": id, "content": text}),
            )
            .await;
    }
    let http = reqwest::Client::new();
    let list = |encoding: &'static str| {
        http.post(format!("{}/chat/messages/list", server.base()))
            .bearer_auth(&token)
            .header("Accept-Encoding", encoding)
            .json(&json!({"conversationId": id}))
            .send()
    };
    let plain = list("identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    for (asked, answered) in [("br", "br"), ("gzip", "gzip"), ("gzip, br", "br")] {
        let compressed = list(asked).await.unwrap();
        assert_eq!(compressed.status(), 200);
        assert_eq!(
            compressed.headers()["content-encoding"],
            answered,
            "asked {asked}"
        );
        let compressed_len = compressed.bytes().await.unwrap().len();
        assert!(
            compressed_len * 4 < plain_len,
            "{answered}: {compressed_len} bytes against {plain_len}"
        );
    }
}
