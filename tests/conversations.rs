//! Conversation management over HTTP on PostgreSQL: wire details the
//! conformance suite cannot see (clearable `null`, the mute sentinel, shapes).

use chat_e2e::TestServer;
use serde_json::json;

#[tokio::test]
async fn management_operations_speak_the_contract() {
    let server = TestServer::postgres().await;
    let ann = server.token(1, 3);
    let bob = server.token(2, 3);
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
            json!({
                "kind": "channel", "name": "design", "description": "pixels",
                "memberIds": ["2"], "historyMode": "sinceJoin", "metadata": {"color": "teal"}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created.body["historyMode"], "sinceJoin");
    assert_eq!(created.body["metadata"], json!({"color": "teal"}));
    assert_eq!(
        created.body["otherMembers"],
        json!([]),
        "channels list no members"
    );
    let path = |op: &str| format!("/chat/conversations/{id}/{op}");

    // Absent leaves a field, null clears it.
    let updated = server
        .post(
            &ann,
            &path("update"),
            json!({"description": null, "metadata": {"color": "red"}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["description"], json!(null));
    assert_eq!(updated.body["name"], "design");
    assert_eq!(updated.body["metadata"], json!({"color": "red"}));
    let no_name = server
        .post(&ann, &path("update"), json!({"name": null}))
        .await;
    assert_eq!(
        (
            no_name.status,
            no_name.body["error"]["details"]["field"].clone()
        ),
        (422, json!("name"))
    );

    let sentinel = "9999-12-31T23:59:59.000Z";
    let prefs = server
        .post(
            &bob,
            &path("preferences/update"),
            json!({"muteUntil": sentinel, "notifyLevel": "mentions", "starred": true}),
        )
        .await;
    assert_eq!(prefs.status, 200, "{:?}", prefs.body);
    assert_eq!(prefs.body["muteUntil"], sentinel);
    assert_eq!(prefs.body["notifyLevel"], "mentions");
    assert_eq!(prefs.body["starred"], true);
    assert!(prefs.body["unreadCount"].is_i64());
    let bad_time = server
        .post(
            &bob,
            &path("preferences/update"),
            json!({"muteUntil": "tomorrow"}),
        )
        .await;
    assert_eq!(bad_time.body["error"]["details"]["field"], "muteUntil");

    server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": id, "content": "muted for bob"}),
        )
        .await;
    let unread = server.post(&bob, "/chat/unread/get", json!({})).await;
    assert_eq!(
        unread.body,
        json!({"totalUnread": 0, "unreadConversationCount": 0, "mentionCount": 0})
    );
    server
        .post(
            &bob,
            &path("preferences/update"),
            json!({"muteUntil": null}),
        )
        .await;
    let unread = server.post(&bob, "/chat/unread/get", json!({})).await;
    assert_eq!(
        unread.body,
        json!({"totalUnread": 1, "unreadConversationCount": 1, "mentionCount": 0})
    );

    let carl = server.token(3, 3);
    assert_eq!(
        server
            .post(&carl, "/chat/conversations/list", json!({}))
            .await
            .status,
        200
    );
    let added = server
        .post(&ann, &path("members/add"), json!({"userIds": ["3"]}))
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(added.body["data"][0]["user"]["id"], "3");
    assert_eq!(added.body["data"][0]["role"], "member");
    let members = server
        .post(&carl, &path("members/list"), json!({"limit": 2}))
        .await;
    assert_eq!(members.body["page"]["total"], 3);
    assert_eq!(members.body["page"]["hasMore"], true);
    let rest = server
        .post(
            &carl,
            &path("members/list"),
            json!({"cursor": members.body["page"]["nextCursor"]}),
        )
        .await;
    assert_eq!(rest.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest.body["page"]["nextCursor"], json!(null));
    let history = server
        .post(&carl, "/chat/messages/list", json!({"conversationId": id}))
        .await;
    assert_eq!(
        history.body["data"],
        json!([]),
        "sinceJoin: nothing from before carl joined"
    );

    let role = server
        .post(
            &ann,
            &path("members/role"),
            json!({"userId": "3", "role": "admin"}),
        )
        .await;
    assert_eq!(
        (role.body["user"]["id"].clone(), role.body["role"].clone()),
        (json!("3"), json!("admin"))
    );
    let removed = server
        .post(&ann, &path("members/remove"), json!({"userId": "3"}))
        .await;
    assert_eq!(removed.body, json!({"message": "member removed"}));
    let left = server.post(&bob, &path("leave"), json!({})).await;
    assert_eq!(left.body, json!({"message": "left the conversation"}));
    let last_owner = server
        .post(
            &ann,
            &path("members/role"),
            json!({"userId": "1", "role": "member"}),
        )
        .await;
    assert_eq!(
        (last_owner.status, last_owner.body["error"]["code"].clone()),
        (409, json!("conflict"))
    );
    let deleted = server.post(&ann, &path("delete"), json!({})).await;
    assert_eq!(deleted.body, json!({"message": "conversation deleted"}));
    assert_eq!(server.post(&ann, &path("get"), json!({})).await.status, 404);
}
