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
