//! The authorization matrix: every conversation operation as owner, admin,
//! member, non-member and other-org user, over HTTP, on both stores. Each
//! cell runs against a fresh group so no answer depends on another.

use chat_e2e::TestServer;
use serde_json::{Value, json};

const OWNER: i64 = 1;
const ADMIN: i64 = 2;
const MEMBER: i64 = 3;
const OUTSIDER: i64 = 4;
const FOREIGN: i64 = 5;
const NEWCOMER: i64 = 6;
const ROLES: [(&str, i64, i64); 5] = [
    ("owner", OWNER, 1),
    ("admin", ADMIN, 1),
    ("member", MEMBER, 1),
    ("non-member", OUTSIDER, 1),
    ("other org", FOREIGN, 2),
];

struct Cell {
    op: &'static str,
    path: &'static str,
    body: fn(&Fixture) -> Value,
    /// Expected status for owner, admin, member, non-member, other org.
    expected: [u16; 5],
}

struct Fixture {
    conversation: String,
    message: String,
}

const MATRIX: &[Cell] = &[
    Cell {
        op: "get",
        path: "get",
        body: |_| json!({}),
        expected: [200, 200, 200, 404, 404],
    },
    Cell {
        op: "update",
        path: "update",
        body: |_| json!({"name": "renamed"}),
        expected: [200, 200, 403, 404, 404],
    },
    Cell {
        op: "archive",
        path: "archive",
        body: |_| json!({}),
        expected: [200, 200, 403, 404, 404],
    },
    Cell {
        op: "unarchive",
        path: "unarchive",
        body: |_| json!({}),
        expected: [200, 200, 403, 404, 404],
    },
    Cell {
        op: "convert",
        path: "convert",
        body: |_| json!({"name": "channel"}),
        expected: [200, 200, 403, 404, 404],
    },
    Cell {
        op: "delete",
        path: "delete",
        body: |_| json!({}),
        expected: [200, 403, 403, 404, 404],
    },
    Cell {
        op: "list members",
        path: "members/list",
        body: |_| json!({}),
        expected: [200, 200, 200, 404, 404],
    },
    Cell {
        op: "add member",
        path: "members/add",
        body: |_| json!({"userIds": [NEWCOMER.to_string()]}),
        expected: [200, 200, 403, 404, 404],
    },
    Cell {
        op: "remove member",
        path: "members/remove",
        body: |_| json!({"userId": MEMBER.to_string()}),
        expected: [200, 200, 403, 404, 404],
    },
    Cell {
        op: "change role",
        path: "members/role",
        body: |_| json!({"userId": MEMBER.to_string(), "role": "admin"}),
        expected: [200, 403, 403, 404, 404],
    },
    Cell {
        op: "leave",
        path: "leave",
        body: |_| json!({}),
        expected: [200, 200, 200, 404, 404],
    },
    Cell {
        op: "mark read",
        path: "read",
        body: |f| json!({"messageId": f.message}),
        expected: [200, 200, 200, 404, 404],
    },
    Cell {
        op: "preferences",
        path: "preferences/update",
        body: |_| json!({"starred": true}),
        expected: [200, 200, 200, 404, 404],
    },
];

async fn fresh_group(server: &TestServer) -> Fixture {
    let owner = server.token(OWNER, 1);
    let members = json!([ADMIN.to_string(), MEMBER.to_string()]);
    let created = server
        .post(
            &owner,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "g", "memberIds": members}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let conversation = created.body["id"].as_str().unwrap_or_default().to_owned();
    let promote = json!({"userId": ADMIN.to_string(), "role": "admin"});
    let promoted = server
        .post(
            &owner,
            &format!("/chat/conversations/{conversation}/members/role"),
            promote,
        )
        .await;
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    let sent = server
        .post(
            &owner,
            "/chat/messages/send",
            json!({"conversationId": conversation, "content": "hi"}),
        )
        .await;
    let message = sent.body["id"].as_str().unwrap_or_default().to_owned();
    Fixture {
        conversation,
        message,
    }
}

async fn run_matrix(server: &TestServer) {
    // Everyone calls once, so the directory knows them.
    for (_, user, org) in ROLES.iter().copied().chain([("newcomer", NEWCOMER, 1)]) {
        let reply = server
            .post(
                &server.token(user, org),
                "/chat/conversations/list",
                json!({}),
            )
            .await;
        assert_eq!(reply.status, 200);
    }
    let mut failures = Vec::new();
    for cell in MATRIX {
        for ((role, user, org), expected) in ROLES.iter().zip(cell.expected) {
            let fixture = fresh_group(server).await;
            let path = format!("/chat/conversations/{}/{}", fixture.conversation, cell.path);
            let reply = server
                .post(&server.token(*user, *org), &path, (cell.body)(&fixture))
                .await;
            let code_matches = match expected {
                200 => reply.body.get("error").is_none(),
                403 => reply.code() == "forbidden",
                _ => reply.code() == "not_found",
            };
            if reply.status != expected || !code_matches {
                failures.push(format!(
                    "{} as {role}: expected {expected}, got {} {}",
                    cell.op, reply.status, reply.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn conversation_operations_authorize_by_role_on_postgres() {
    run_matrix(&TestServer::postgres().await).await;
}

#[tokio::test]
async fn conversation_operations_authorize_by_role_in_memory() {
    run_matrix(&TestServer::in_memory()).await;
}

const AUTHOR: i64 = 7;
const GROUP_OWNER: i64 = 8;
/// Author, member, admin, non-member, other org.
const MESSAGE_ROLES: [(&str, i64, i64); 5] = [
    ("author", AUTHOR, 1),
    ("member", MEMBER, 1),
    ("admin", ADMIN, 1),
    ("non-member", OUTSIDER, 1),
    ("other org", FOREIGN, 2),
];

/// One message operation: its request for a fixture, and the expected
/// status for author, member, admin, non-member and other org.
struct MessageCell {
    op: &'static str,
    request: fn(&Fixture) -> (String, Value),
    expected: [u16; 5],
}

fn on_message(f: &Fixture, op: &str, body: Value) -> (String, Value) {
    (format!("/chat/messages/{}/{op}", f.message), body)
}

const MESSAGE_MATRIX: &[MessageCell] = &[
    MessageCell {
        op: "get",
        request: |f| on_message(f, "get", json!({})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "edit",
        request: |f| on_message(f, "update", json!({"content": "edited"})),
        expected: [200, 403, 403, 404, 404],
    },
    MessageCell {
        op: "delete",
        request: |f| on_message(f, "delete", json!({})),
        expected: [200, 403, 200, 404, 404],
    },
    MessageCell {
        op: "add reaction",
        request: |f| on_message(f, "reactions/add", json!({"emoji": "👍"})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "remove reaction",
        request: |f| on_message(f, "reactions/remove", json!({"emoji": "👍"})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "toggle reaction",
        request: |f| on_message(f, "reactions/toggle", json!({"emoji": "👍"})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "list reactions",
        request: |f| on_message(f, "reactions/list", json!({"emoji": "👍"})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "pin",
        request: |f| on_message(f, "pin", json!({})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "unpin",
        request: |f| on_message(f, "unpin", json!({})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "report",
        request: |f| on_message(f, "report", json!({"reason": "spam"})),
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "list pins",
        request: |f| {
            (
                format!("/chat/conversations/{}/pins/list", f.conversation),
                json!({}),
            )
        },
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "send",
        request: |f| {
            (
                "/chat/messages/send".to_owned(),
                json!({"conversationId": f.conversation, "content": "x"}),
            )
        },
        expected: [201, 201, 201, 404, 404],
    },
    MessageCell {
        op: "list messages",
        request: |f| {
            (
                "/chat/messages/list".to_owned(),
                json!({"conversationId": f.conversation}),
            )
        },
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "search in conversation",
        request: |f| {
            (
                "/chat/messages/search".to_owned(),
                json!({"conversationId": f.conversation, "query": "hi"}),
            )
        },
        expected: [200, 200, 200, 404, 404],
    },
    MessageCell {
        op: "typing",
        request: |f| {
            (
                "/chat/typing/send".to_owned(),
                json!({"conversationId": f.conversation}),
            )
        },
        expected: [204, 204, 204, 404, 404],
    },
];

async fn fresh_message(server: &TestServer) -> Fixture {
    let owner = server.token(GROUP_OWNER, 1);
    let members = json!([AUTHOR.to_string(), ADMIN.to_string(), MEMBER.to_string()]);
    let created = server
        .post(
            &owner,
            "/chat/conversations/create",
            json!({"kind": "group", "memberIds": members}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let conversation = created.body["id"].as_str().unwrap_or_default().to_owned();
    let promote = json!({"userId": ADMIN.to_string(), "role": "admin"});
    server
        .post(
            &owner,
            &format!("/chat/conversations/{conversation}/members/role"),
            promote,
        )
        .await;
    let author = server.token(AUTHOR, 1);
    let sent = server
        .post(
            &author,
            "/chat/messages/send",
            json!({"conversationId": conversation, "content": "hi"}),
        )
        .await;
    let message = sent.body["id"].as_str().unwrap_or_default().to_owned();
    Fixture {
        conversation,
        message,
    }
}

async fn run_message_matrix(server: &TestServer) {
    for (_, user, org) in MESSAGE_ROLES
        .iter()
        .copied()
        .chain([("owner", GROUP_OWNER, 1)])
    {
        server
            .post(
                &server.token(user, org),
                "/chat/conversations/list",
                json!({}),
            )
            .await;
    }
    let mut failures = Vec::new();
    for cell in MESSAGE_MATRIX {
        for ((role, user, org), expected) in MESSAGE_ROLES.iter().zip(cell.expected) {
            let fixture = fresh_message(server).await;
            let (path, body) = (cell.request)(&fixture);
            let reply = server.post(&server.token(*user, *org), &path, body).await;
            let code_matches = match expected {
                200 | 201 | 204 => reply.body.get("error").is_none(),
                403 => reply.code() == "forbidden",
                _ => reply.code() == "not_found",
            };
            if reply.status != expected || !code_matches {
                failures.push(format!(
                    "{} as {role}: expected {expected}, got {} {}",
                    cell.op, reply.status, reply.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "message authorization matrix:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn message_operations_authorize_by_role_on_postgres() {
    run_message_matrix(&TestServer::postgres().await).await;
}

#[tokio::test]
async fn message_operations_authorize_by_role_in_memory() {
    run_message_matrix(&TestServer::in_memory()).await;
}

/// A user belongs to one org (issue 24): a token with the same subject and
/// another org is refused, and reads nothing of the first org, before or
/// after the first org's token is used again.
#[tokio::test]
async fn a_token_for_another_org_is_refused_for_a_known_user() {
    let server = TestServer::postgres().await;
    let home = server.token(OWNER, 1);
    let created = server
        .post(
            &home,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "home"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("an id").to_owned();

    let elsewhere = server.token(OWNER, 2);
    for path in [
        "/chat/conversations/list".to_owned(),
        format!("/chat/conversations/{id}/get"),
    ] {
        let reply = server.post(&elsewhere, &path, json!({})).await;
        assert_eq!(reply.status, 401, "{path}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["code"], "unauthenticated");
    }
    let back_home = server
        .post(&home, &format!("/chat/conversations/{id}/get"), json!({}))
        .await;
    assert_eq!(back_home.status, 200, "{:?}", back_home.body);
}
