//! Attachments end to end: presigned uploads to a real S3 server that checks
//! SigV4 (s3s-fs), finalize, sends, multipart sends, and the zero-config
//! in-memory file store.

use std::time::Duration;

use chat_e2e::TestServer;
use chat_e2e::s3::S3Server;
use serde_json::{Value, json};

async fn server_on(s3: &S3Server, extra: &[(&str, &str)]) -> TestServer {
    let env = s3.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend_from_slice(extra);
    TestServer::postgres_with(&pairs).await
}

async fn dm(server: &TestServer, token: &str, other: i64) -> String {
    let created = server
        .post(
            token,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": other.to_string()}),
        )
        .await;
    created.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn ticket(server: &TestServer, token: &str, conversation: &str, size: usize) -> Value {
    let reply = server
        .post(token, "/chat/attachments/upload-ticket", json!({
            "conversationId": conversation, "filename": "hello.txt", "contentType": "text/plain", "size": size
        }))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

/// Uploads as a browser would: the ticket's method, URL and headers.
async fn put(ticket: &Value, url: &str, bytes: &'static [u8]) -> u16 {
    let mut request = reqwest::Client::new().put(url).body(bytes);
    for (name, value) in ticket["headers"].as_object().into_iter().flatten() {
        request = request.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    request
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn download(url: &str) -> (u16, Vec<u8>) {
    match reqwest::get(url).await {
        Ok(response) => {
            let status = response.status().as_u16();
            (
                status,
                response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default(),
            )
        }
        Err(_) => (0, Vec::new()),
    }
}

#[tokio::test]
async fn presigned_uploads_are_checked_finalized_and_sent() {
    let s3 = S3Server::start();
    let server = server_on(&s3, &[]).await;
    let ann = server.token(1, 1);
    let bob = server.token(2, 1);
    server
        .post(&bob, "/chat/conversations/list", json!({}))
        .await;
    let conversation = dm(&server, &ann, 2).await;

    let ticket_body = ticket(&server, &ann, &conversation, 11).await;
    assert_eq!(ticket_body["method"], "PUT");
    let url = ticket_body["uploadUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(url.contains("X-Amz-Signature="), "{url}");

    // Tampering breaks the signature: the server refuses.
    let tampered = url.replace("hello.txt", "other.txt");
    assert_eq!(put(&ticket_body, &tampered, b"hello world").await, 403);
    assert_eq!(put(&ticket_body, &url, b"hello world").await, 200);

    let id = ticket_body["attachmentId"].clone();
    let finalized = server
        .post(
            &ann,
            "/chat/attachments/finalize",
            json!({"attachmentId": id}),
        )
        .await;
    assert_eq!(finalized.status, 200, "{:?}", finalized.body);
    assert_eq!(finalized.body["status"], "ready");
    assert_eq!(finalized.body["size"], 11);

    let stolen = server
        .post(
            &bob,
            "/chat/messages/send",
            json!({"conversationId": conversation, "attachmentIds": [id]}),
        )
        .await;
    assert_eq!(
        stolen.status, 422,
        "someone else's attachment: {:?}",
        stolen.body
    );
    let sent = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": conversation, "attachmentIds": [id]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let attachment = &sent.body["attachments"][0];
    assert_eq!(attachment["filename"], "hello.txt");
    let download_url = attachment["url"].as_str().unwrap_or_default();
    assert_eq!(download(download_url).await, (200, b"hello world".to_vec()));

    let listed = server
        .post(
            &bob,
            &format!("/chat/conversations/{conversation}/attachments/list"),
            json!({}),
        )
        .await;
    assert_eq!(listed.body["data"][0]["id"], id);

    // A wrong size is refused by finalize.
    let short = ticket(&server, &ann, &conversation, 100).await;
    let short_url = short["uploadUrl"].as_str().unwrap_or_default().to_owned();
    assert_eq!(put(&short, &short_url, b"too short").await, 200);
    let refused = server
        .post(
            &ann,
            "/chat/attachments/finalize",
            json!({"attachmentId": short["attachmentId"]}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "conflict"),
        "{:?}",
        refused.body
    );
    let never = ticket(&server, &ann, &conversation, 5).await;
    let missing = server
        .post(
            &ann,
            "/chat/attachments/finalize",
            json!({"attachmentId": never["attachmentId"]}),
        )
        .await;
    assert_eq!(missing.status, 409, "nothing uploaded");
    let huge = server
        .post(&ann, "/chat/attachments/upload-ticket", json!({
            "conversationId": conversation, "filename": "big.iso", "contentType": "application/octet-stream",
            "size": 104_857_601
        }))
        .await;
    assert_eq!((huge.status, huge.code()), (413, "payload_too_large"));
}

#[tokio::test]
async fn expired_upload_urls_are_refused() {
    let s3 = S3Server::start();
    let server = server_on(&s3, &[("ATTACHMENT_UPLOAD_TTL_SECS", "1")]).await;
    let ann = server.token(1, 1);
    let conversation = dm(&server, &ann, 1).await;
    let ticket_body = ticket(&server, &ann, &conversation, 5).await;
    let url = ticket_body["uploadUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Expiry is the behaviour under test: let the one-second URL lapse.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(put(&ticket_body, &url, b"late!").await, 403);
}

#[tokio::test]
async fn multipart_sends_stream_files_to_the_store() {
    let s3 = S3Server::start();
    let server = server_on(&s3, &[]).await;
    let ann = server.token(1, 1);
    let conversation = dm(&server, &ann, 1).await;
    let big: Vec<u8> = (0..6 * 1024 * 1024)
        .map(|i| u8::try_from(i % 251).unwrap_or(0))
        .collect();
    let form = reqwest::multipart::Form::new()
        .text(
            "payload",
            json!({"conversationId": conversation, "content": "two files"}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"small one".to_vec())
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap_or_else(|_| unreachable!()),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(big.clone()).file_name("big.bin"),
        );
    let response = reqwest::Client::new()
        .post(format!("{}/chat/messages/send", server.base()))
        .bearer_auth(&ann)
        .multipart(form)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => panic!("multipart send failed: {e}"),
    };
    assert_eq!(response.status().as_u16(), 201);
    let message: Value = response.json().await.unwrap_or_default();
    let attachments = message["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attachments.len(), 2, "{message}");
    assert_eq!(attachments[0]["size"], 9);
    assert_eq!(attachments[1]["size"], big.len());
    assert_eq!(attachments[1]["filename"], "big.bin");
    let (status, bytes) = download(attachments[1]["url"].as_str().unwrap_or_default()).await;
    assert_eq!(status, 200);
    assert!(
        bytes == big,
        "the 6 MiB file went up in parts and came back whole"
    );

    let out_of_order = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
        )
        .text(
            "payload",
            json!({"conversationId": conversation, "content": "late"}).to_string(),
        );
    let refused = reqwest::Client::new()
        .post(format!("{}/chat/messages/send", server.base()))
        .bearer_auth(&ann)
        .multipart(out_of_order)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(refused.ok(), Some(422), "the payload part comes first");
}

#[tokio::test]
async fn zero_config_serves_uploads_itself() {
    let server = TestServer::in_memory();
    let ann = server.token(1, 1);
    let conversation = dm(&server, &ann, 1).await;
    let ticket_body = ticket(&server, &ann, &conversation, 5).await;
    let url = ticket_body["uploadUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(url.starts_with(server.base()), "{url}");
    assert_eq!(
        put(&ticket_body, &format!("{url}x"), b"hello").await,
        403,
        "a tampered token is refused"
    );
    assert_eq!(put(&ticket_body, &url, b"hello").await, 200);
    let id = ticket_body["attachmentId"].clone();
    let finalized = server
        .post(
            &ann,
            "/chat/attachments/finalize",
            json!({"attachmentId": id}),
        )
        .await;
    assert_eq!(finalized.body["status"], "ready", "{:?}", finalized.body);
    let sent = server
        .post(
            &ann,
            "/chat/messages/send",
            json!({"conversationId": conversation, "attachmentIds": [id]}),
        )
        .await;
    let download_url = sent.body["attachments"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(download(&download_url).await, (200, b"hello".to_vec()));
}
