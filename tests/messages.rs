//! Message operations over HTTP: typing through a Centrifugo stand-in, the
//! send rate limit, reactions, pins, reports and search on the wire.

use chat_e2e::TestServer;
use chat_e2e::centrifugo::CentrifugoStandIn;
use serde_json::json;

async fn dm(server: &TestServer, a: &str, b: i64) -> String {
    let created = server
        .post(
            a,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": b.to_string()}),
        )
        .await;
    assert!(
        created.status == 201 || created.status == 200,
        "{:?}",
        created.body
    );
    created.body["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn typing_is_published_directly_and_throttled() {
    let centrifugo = CentrifugoStandIn::start("test-api-key");
    let server = TestServer::postgres_with(&[
        ("CENTRIFUGO_API_URL", centrifugo.url()),
        ("CENTRIFUGO_API_KEY", centrifugo.api_key()),
    ])
    .await;
    let ann = server.token(1, 1);
    let bob = server.token(2, 1);
    server
        .post(&bob, "/chat/conversations/list", json!({}))
        .await;
    let id = dm(&server, &ann, 2).await;
    for _ in 0..3 {
        let reply = server
            .post(&ann, "/chat/typing/send", json!({"conversationId": id}))
            .await;
        assert_eq!(reply.status, 204, "{:?}", reply.body);
    }
    // Only typing: the relay publishes the outbox's events alongside.
    let typing =
        |all: Vec<chat_e2e::centrifugo::Publication>| -> Vec<chat_e2e::centrifugo::Publication> {
            all.into_iter()
                .filter(|p| p.data["type"] == "typing")
                .collect()
        };
    let published = typing(centrifugo.publications());
    assert_eq!(published.len(), 1, "one publish per 2 s: {published:?}");
    assert_eq!(published[0].method, "publish");
    assert_eq!(published[0].channels, vec![format!("chat:{id}")]);
    assert_eq!(published[0].data["type"], "typing");
    assert_eq!(
        published[0].data["data"],
        json!({"userId": "1", "parentId": null})
    );
    // Bob typing is his own throttle.
    assert_eq!(
        server
            .post(&bob, "/chat/typing/send", json!({"conversationId": id}))
            .await
            .status,
        204
    );
    assert_eq!(typing(centrifugo.publications()).len(), 2);
    let eve = server.token(3, 1);
    assert_eq!(
        server
            .post(&eve, "/chat/typing/send", json!({"conversationId": id}))
            .await
            .status,
        404
    );

    // Typing never goes through the outbox.
    let outbox_types = outbox_types(&server).await;
    assert!(
        !outbox_types.iter().any(|t| t == "typing"),
        "{outbox_types:?}"
    );
}

async fn outbox_types(server: &TestServer) -> Vec<String> {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
        panic!("connecting to the test database");
    };
    let rows: Vec<Row> =
        diesel::sql_query("SELECT payload->'data'->>'type' AS t FROM chat_outbox ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap_or_default();
    rows.into_iter().map(|r| r.t).collect()
}

#[tokio::test]
async fn sends_past_the_burst_are_rate_limited() {
    let server =
        TestServer::postgres_with(&[("CHAT_SEND_BURST", "3"), ("CHAT_SEND_RATE_PER_SEC", "0.01")])
            .await;
    let ann = server.token(1, 1);
    let id = dm(&server, &ann, 1).await;
    for i in 0..3 {
        let sent = server
            .post(
                &ann,
                "/chat/messages/send",
                json!({"conversationId": id, "content": format!("{i}")}),
            )
            .await;
        assert_eq!(sent.status, 201);
    }
    let limited = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": id, "content": "one too many"}),
        )
        .await;
    assert_eq!(
        (limited.status, limited.code()),
        (429, "rate_limited"),
        "{:?}",
        limited.body
    );
    assert_eq!(limited.retry_after.as_deref(), Some("100"));
    let other = server.token(2, 1);
    let id2 = dm(&server, &other, 2).await;
    let fine = server
        .post(
            &other,
            "/chat/messages/send",
            json!({"conversationId": id2, "content": "mine"}),
        )
        .await;
    assert_eq!(fine.status, 201, "the limit is per user");
}

#[tokio::test]
async fn message_operations_speak_the_contract() {
    let server = TestServer::postgres().await;
    let ann = server.token(1, 1);
    let bob = server.token(2, 1);
    server
        .post(&bob, "/chat/conversations/list", json!({}))
        .await;
    let id = dm(&server, &ann, 2).await;
    let sent = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": id, "content": "Ship <b>it</b> & the release notes"}),
        )
        .await;
    let message = sent.body["id"].as_str().unwrap_or_default().to_owned();
    let path = |op: &str| format!("/chat/messages/{message}/{op}");

    let toggled = server
        .post(&bob, &path("reactions/toggle"), json!({"emoji": "🎉"}))
        .await;
    assert_eq!(
        toggled.body,
        json!({"reactionCounts": {"🎉": 1}, "userReactions": ["🎉"], "delta": 1})
    );
    let added = server
        .post(&ann, &path("reactions/add"), json!({"emoji": "🎉"}))
        .await;
    assert_eq!(
        added.body,
        json!({"reactionCounts": {"🎉": 2}, "userReactions": ["🎉"]})
    );
    let listed = server
        .post(
            &ann,
            &path("reactions/list"),
            json!({"emoji": "🎉", "limit": 1}),
        )
        .await;
    assert_eq!(listed.body["page"]["total"], 2);
    assert_eq!(listed.body["page"]["hasMore"], true);
    assert_eq!(listed.body["data"][0]["user"]["id"], "2");
    let too_long = server
        .post(
            &ann,
            &path("reactions/add"),
            json!({"emoji": "abcdefghijk"}),
        )
        .await;
    assert_eq!(too_long.body["error"]["details"]["field"], "emoji");

    let pinned = server.post(&bob, &path("pin"), json!({})).await;
    assert_eq!(pinned.body["pinned"], true);
    assert_eq!(pinned.body["reactionCounts"], json!({"🎉": 2}));
    let pins = server
        .post(
            &ann,
            &format!("/chat/conversations/{id}/pins/list"),
            json!({}),
        )
        .await;
    assert_eq!(pins.body["data"][0]["pinnedBy"], "2");
    assert_eq!(pins.body["data"][0]["message"]["id"], message.as_str());
    assert_eq!(
        pins.body["page"],
        json!({"nextCursor": null, "hasMore": false})
    );

    let found = server
        .post(
            &bob,
            "/chat/messages/search",
            json!({"query": "\"release notes\" shi"}),
        )
        .await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(
        found.body["data"][0]["snippet"],
        "<mark>Ship</mark> &lt;b&gt;it&lt;/b&gt; &amp; the <mark>release</mark> <mark>notes</mark>",
        "snippets are escaped HTML with marks"
    );

    let reported = server
        .post(&bob, &path("report"), json!({"reason": "spam"}))
        .await;
    assert_eq!(reported.body["code"], "reported");
    let again = server
        .post(
            &bob,
            &path("report"),
            json!({"reason": "spam", "details": "still"}),
        )
        .await;
    assert_eq!(again.body["code"], "already_reported");
    let bad_reason = server
        .post(&bob, &path("report"), json!({"reason": "boring"}))
        .await;
    assert_eq!(bad_reason.body["error"]["details"]["field"], "reason");

    let edited = server
        .post(
            &ann,
            &path("update"),
            json!({"content": "Shipped", "metadata": null}),
        )
        .await;
    assert_eq!(edited.body["content"], "Shipped");
    assert!(edited.body["editedAt"].is_string());
    assert_eq!(
        server
            .post(&bob, &path("update"), json!({"content": "no"}))
            .await
            .status,
        403
    );

    let deleted = server.post(&ann, &path("delete"), json!({})).await;
    assert_eq!(deleted.body["message"], "message deleted");
    assert!(deleted.body["userDeletedAt"].is_string());
    let tombstone = server.post(&bob, &path("get"), json!({})).await;
    assert_eq!(tombstone.body["content"], "");
    assert_eq!(tombstone.body["pinned"], false);
    assert!(tombstone.body["deletedAt"].is_string());
    let gone = server
        .post(&bob, "/chat/messages/search", json!({"query": "shipped"}))
        .await;
    assert_eq!(
        gone.body["data"],
        json!([]),
        "deleted messages are never found"
    );
}
