//! Every error path of the slice answers with the contract's envelope and
//! code; no input yields a 500.

use chat_e2e::{TestServer, claims, fixture, sign_hs256, sign_pem};
use jsonwebtoken::Algorithm;
use serde_json::json;

fn assert_envelope(reply: &chat_e2e::Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.code(), code, "{:?}", reply.body);
    assert!(
        reply.body["error"]["message"].is_string(),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let server = TestServer::postgres().await;
    let path = "/chat/conversations/list";
    assert_envelope(
        &server.post_raw(None, path, b"{}".to_vec()).await,
        401,
        "unauthenticated",
    );
    assert_envelope(
        &server.post("not-a-jwt", path, json!({})).await,
        401,
        "unauthenticated",
    );
    let wrong_secret = sign_hs256("another-secret-another-secret", &claims(1, 1));
    assert_envelope(
        &server.post(&wrong_secret, path, json!({})).await,
        401,
        "unauthenticated",
    );

    let mut expired = claims(1, 1);
    expired["exp"] = json!(1_000_000_000);
    assert_envelope(
        &server
            .post(&sign_hs256(chat_e2e::SECRET, &expired), path, json!({}))
            .await,
        401,
        "unauthenticated",
    );
    let mut early = claims(1, 1);
    early["nbf"] = json!(4_000_000_000_i64);
    assert_envelope(
        &server
            .post(&sign_hs256(chat_e2e::SECRET, &early), path, json!({}))
            .await,
        401,
        "unauthenticated",
    );
    let mut bad_sub = claims(1, 1);
    bad_sub["sub"] = json!("alice");
    assert_envelope(
        &server
            .post(&sign_hs256(chat_e2e::SECRET, &bad_sub), path, json!({}))
            .await,
        401,
        "unauthenticated",
    );
    let mut no_org = claims(1, 1);
    no_org.as_object_mut().unwrap().remove("org");
    assert_envelope(
        &server
            .post(&sign_hs256(chat_e2e::SECRET, &no_org), path, json!({}))
            .await,
        401,
        "unauthenticated",
    );

    // alg "none": header {"alg":"none"}, the claims, and no signature.
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        base64_url(&serde_json::to_vec(&claims(1, 1)).unwrap())
    );
    assert_envelope(
        &server.post(&unsigned, path, json!({})).await,
        401,
        "unauthenticated",
    );
    assert_eq!(
        server
            .post(&server.token(1, 1), path, json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn rs256_servers_refuse_hs256_tokens_signed_with_the_public_key() {
    let key_file = std::env::temp_dir().join(format!("rs256-{}.pem", std::process::id()));
    std::fs::write(&key_file, fixture("rs256-public.pem")).unwrap();
    let key_path = key_file.to_str().unwrap();
    let server = TestServer::postgres_with(&[
        ("AUTH_HS256_SECRET", ""),
        ("AUTH_RS256_PUBLIC_KEY_FILE", key_path),
    ])
    .await;
    let path = "/chat/conversations/list";
    let good = sign_pem(
        Algorithm::RS256,
        &fixture("rs256-private.pem"),
        &claims(5, 1),
    );
    assert_eq!(server.post(&good, path, json!({})).await.status, 200);
    // Algorithm confusion: the public key used as an HMAC secret.
    let confused = sign_hs256(&fixture("rs256-public.pem"), &claims(5, 1));
    assert_envelope(
        &server.post(&confused, path, json!({})).await,
        401,
        "unauthenticated",
    );
    let es = sign_pem(
        Algorithm::ES256,
        &fixture("es256-private.pem"),
        &claims(5, 1),
    );
    assert_envelope(
        &server.post(&es, path, json!({})).await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn es256_tokens_verify_with_an_ec_key() {
    let key_file = std::env::temp_dir().join(format!("es256-{}.pem", std::process::id()));
    std::fs::write(&key_file, fixture("es256-public.pem")).unwrap();
    let server = TestServer::postgres_with(&[
        ("AUTH_HS256_SECRET", ""),
        ("AUTH_ES256_PUBLIC_KEY_FILE", key_file.to_str().unwrap()),
    ])
    .await;
    let good = sign_pem(
        Algorithm::ES256,
        &fixture("es256-private.pem"),
        &claims(6, 1),
    );
    assert_eq!(
        server
            .post(&good, "/chat/conversations/list", json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let server = TestServer::postgres().await;
    let ann = server.token(1, 1);
    let eve = server.token(3, 1);
    let created = server
        .post(&ann, "/chat/conversations/create", json!({"kind": "group"}))
        .await;
    let group = created.body["id"].as_str().unwrap().to_owned();
    let send = "/chat/messages/send";

    let broken = server
        .post_raw(Some(&ann), send, b"{\"conversationId\": ".to_vec())
        .await;
    assert_envelope(&broken, 422, "validation_failed");
    let unknown = server
        .post(
            &ann,
            send,
            json!({"conversationId": group, "content": "x", "colour": "red"}),
        )
        .await;
    assert_envelope(&unknown, 422, "validation_failed");
    assert_eq!(unknown.body["error"]["details"]["field"], "colour");
    let numeric = server
        .post(&ann, send, json!({"conversationId": 1, "content": "x"}))
        .await;
    assert_envelope(&numeric, 422, "validation_failed");
    assert_eq!(numeric.body["error"]["details"]["field"], "conversationId");
    let not_decimal = server
        .post(&ann, send, json!({"conversationId": "1e3", "content": "x"}))
        .await;
    assert_envelope(&not_decimal, 422, "validation_failed");
    let too_long = server
        .post(
            &ann,
            send,
            json!({"conversationId": group, "content": "é".repeat(10_001)}),
        )
        .await;
    assert_envelope(&too_long, 422, "validation_failed");
    assert_eq!(too_long.body["error"]["details"]["field"], "content");
    let exactly = server
        .post(
            &ann,
            send,
            json!({"conversationId": group, "content": "é".repeat(10_000)}),
        )
        .await;
    assert_eq!(exactly.status, 201);
    let empty = server
        .post(&ann, send, json!({"conversationId": group, "content": ""}))
        .await;
    assert_envelope(&empty, 422, "validation_failed");
    let client_id = server
        .post(
            &ann,
            send,
            json!({"conversationId": group, "content": "x", "clientMsgId": "c".repeat(65)}),
        )
        .await;
    assert_eq!(client_id.body["error"]["details"]["field"], "clientMsgId");
    let metadata = server
        .post(
            &ann,
            send,
            json!({"conversationId": group, "content": "x", "metadata": {"k": "v".repeat(5200)}}),
        )
        .await;
    assert_eq!(metadata.body["error"]["details"]["field"], "metadata");
    let not_object = server
        .post(
            &ann,
            send,
            json!({"conversationId": group, "content": "x", "metadata": [1]}),
        )
        .await;
    assert_envelope(&not_object, 422, "validation_failed");

    let huge = server
        .post_raw(Some(&ann), send, vec![b' '; 2 * 1024 * 1024])
        .await;
    assert_envelope(&huge, 413, "payload_too_large");

    assert_envelope(
        &server
            .post(
                &ann,
                send,
                json!({"conversationId": "999999", "content": "x"}),
            )
            .await,
        404,
        "not_found",
    );
    assert_envelope(
        &server
            .post(&eve, send, json!({"conversationId": group, "content": "x"}))
            .await,
        404,
        "not_found",
    );
    let get = format!("/chat/conversations/{group}/get");
    assert_envelope(&server.post(&eve, &get, json!({})).await, 404, "not_found");
    assert_envelope(
        &server
            .post(&ann, "/chat/conversations/abc/get", json!({}))
            .await,
        422,
        "validation_failed",
    );
    assert_envelope(
        &server
            .post(&ann, "/chat/messages/99999999/get", json!({}))
            .await,
        404,
        "not_found",
    );
    assert_envelope(
        &server.post(&ann, &get, json!({"extra": true})).await,
        422,
        "validation_failed",
    );
    let limit = server
        .post(&ann, "/chat/conversations/list", json!({"limit": 51}))
        .await;
    assert_eq!(limit.body["error"]["details"]["field"], "limit");
    let cursor = server
        .post(
            &ann,
            "/chat/conversations/list",
            json!({"cursor": "garbage"}),
        )
        .await;
    assert_eq!(cursor.body["error"]["details"]["field"], "cursor");
    let kinds = server
        .post(
            &ann,
            "/chat/conversations/list",
            json!({"kinds": ["direct", "space"]}),
        )
        .await;
    assert_eq!(kinds.body["error"]["details"]["field"], "kinds[1]");
    let no_name = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "channel"}),
        )
        .await;
    assert_eq!(no_name.body["error"]["details"]["field"], "name");
    let no_user = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "direct"}),
        )
        .await;
    assert_eq!(no_user.body["error"]["details"]["field"], "userId");
    let stranger = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "424242"}),
        )
        .await;
    assert_envelope(&stranger, 422, "validation_failed");
    let two_positions = server
        .post(
            &ann,
            "/chat/messages/list",
            json!({"conversationId": group, "anchor": "oldest", "before": "1"}),
        )
        .await;
    assert_envelope(&two_positions, 422, "validation_failed");
    assert_envelope(
        &server.post(&ann, "/chat/nothing/here", json!({})).await,
        404,
        "not_found",
    );
}

/// PostgreSQL cannot store NUL in `text` or `jsonb`; it is refused where it
/// enters (a clear 422 naming the field) rather than reaching the store.
#[tokio::test]
async fn nul_characters_are_refused_naming_the_field() {
    let server = TestServer::postgres().await;
    let ann = server.token(1, 1);
    let created = server
        .post(&ann, "/chat/conversations/create", json!({"kind": "group"}))
        .await;
    let group = created.body["id"].as_str().unwrap().to_owned();

    let content = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": group, "content": "a\u{0}b"}),
        )
        .await;
    assert_envelope(&content, 422, "validation_failed");
    assert_eq!(content.body["error"]["details"]["field"], "content");

    let metadata = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": group, "content": "ok", "metadata": {"k": ["x", "\u{0}"]}}),
        )
        .await;
    assert_envelope(&metadata, 422, "validation_failed");
    assert_eq!(metadata.body["error"]["details"]["field"], "metadata.k[1]");

    let sent = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": group, "content": "ok"}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let message = sent.body["id"].as_str().unwrap().to_owned();
    let report = server
        .post(
            &ann,
            &format!("/chat/messages/{message}/report"),
            json!({"reason": "spam", "details": "=\u{0}"}),
        )
        .await;
    assert_envelope(&report, 422, "validation_failed");
    assert_eq!(report.body["error"]["details"]["field"], "details");

    // A profile claim with a NUL is display text: the NUL is dropped and the
    // token still works.
    let mut odd_name = claims(4, 1);
    odd_name["name"] = json!("Zoë\u{0}");
    let zoe = sign_hs256(chat_e2e::SECRET, &odd_name);
    let listed = server
        .post(
            &zoe,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "1"}),
        )
        .await;
    assert_eq!(listed.status, 201, "{:?}", listed.body);
}

/// A body is a JSON object; no body at all reads as `{}` (so an operation
/// without required fields needs none), and an array is refused even where
/// its items would line up with the fields.
#[tokio::test]
async fn a_body_is_an_object_or_nothing() {
    let server = TestServer::postgres().await;
    let ann = server.token(1, 1);
    let listed = server
        .post_raw(Some(&ann), "/chat/conversations/list", Vec::new())
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert!(listed.body["data"].is_array(), "{:?}", listed.body);

    let created = server
        .post(&ann, "/chat/conversations/create", json!({"kind": "group"}))
        .await;
    let group = created.body["id"].as_str().unwrap().to_owned();
    let as_array = server
        .post_raw(
            Some(&ann),
            "/chat/messages/send",
            // send-message's ten fields, in declaration order.
            serde_json::to_vec(&json!([
                group, "hello", null, null, null, null, null, null, null, null
            ]))
            .unwrap(),
        )
        .await;
    assert_envelope(&as_array, 422, "validation_failed");
    assert_eq!(as_array.body["error"]["details"]["field"], "body");
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[tokio::test]
async fn a_database_that_is_down_answers_unavailable() {
    // Nothing listens on port 1: every connection attempt is refused.
    let server = TestServer::with_env(&[
        ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
        ("CHAT_NO_MIGRATE", "true"),
        ("DATABASE_ACQUIRE_TIMEOUT_SECS", "1"),
    ]);
    let token = server.token(1, 1);
    let reply = server
        .post(&token, "/chat/conversations/list", json!({}))
        .await;
    assert_envelope(&reply, 503, "unavailable");
    assert_eq!(server.get("/readyz").await.status, 503);
    assert_eq!(
        server.get("/healthz").await.status,
        200,
        "the process itself is alive"
    );
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let server = TestServer::in_memory();
    let http = reqwest::Client::new();
    let get = http
        .get(format!("{}/chat/messages/send", server.base()))
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    let body: serde_json::Value = get.json().await.expect("an envelope");
    assert_eq!(body["error"]["code"], "method_not_allowed");

    let delete = http
        .delete(format!("{}/chat/conversations/42/get", server.base()))
        .send()
        .await
        .expect("request");
    assert_eq!(delete.status(), 405);
    let post = http
        .post(format!("{}/healthz", server.base()))
        .send()
        .await
        .expect("request");
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET");
    // An unknown path is still 404.
    assert_envelope(&server.get("/chat/nothing-here").await, 404, "not_found");
}

#[tokio::test]
async fn search_order_and_cursors_are_checked() {
    let server = TestServer::in_memory();
    let token = server.token(1, 1);
    let path = "/chat/messages/search";
    let reply = server
        .post(&token, path, json!({"query": "hello", "order": "best"}))
        .await;
    assert_envelope(&reply, 422, "validation_failed");
    assert_eq!(reply.body["error"]["details"]["field"], "order");

    let dm = server
        .post(
            &token,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "search"}),
        )
        .await;
    let id = dm.body["id"].as_str().unwrap_or_default().to_owned();
    for n in 0..3 {
        server
            .post(
                &token,
                "/chat/messages/send",
                json!({"conversationId": id, "content": format!("hello {n}")}),
            )
            .await;
    }
    let first = server
        .post(
            &token,
            path,
            json!({"query": "hello ", "order": "relevance", "limit": 1}),
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let cursor = first.body["page"]["nextCursor"].clone();
    assert!(cursor.is_string(), "{:?}", first.body);
    // A relevance cursor does not continue a newest-first search.
    let mixed = server
        .post(&token, path, json!({"query": "hello ", "cursor": cursor}))
        .await;
    assert_envelope(&mixed, 422, "validation_failed");
    assert_eq!(mixed.body["error"]["details"]["field"], "cursor");
    let next = server
        .post(
            &token,
            path,
            json!({"query": "hello ", "order": "relevance", "limit": 1, "cursor": cursor}),
        )
        .await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_ne!(
        next.body["data"][0]["message"]["id"],
        first.body["data"][0]["message"]["id"]
    );
}
