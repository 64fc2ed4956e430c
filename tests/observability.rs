//! What operators see: request ids in responses and logs, and metrics.

use std::time::Duration;

use chat_e2e::{TestServer, eventually};
use serde_json::json;

#[tokio::test]
async fn requests_carry_ids_into_responses_and_logs() {
    let server = TestServer::postgres().await;
    let http = reqwest::Client::new();
    let token = server.token(1, 1);
    let given = http
        .post(format!("{}/chat/conversations/list", server.base()))
        .bearer_auth(&token)
        .header("X-Request-Id", "trace-me-123")
        .json(&json!({}))
        .send()
        .await;
    let given = given.ok().and_then(|r| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap_or("").to_owned())
    });
    assert_eq!(
        given.as_deref(),
        Some("trace-me-123"),
        "a sane client id is kept"
    );

    let forged = http
        .post(format!("{}/chat/conversations/list", server.base()))
        .bearer_auth(&token)
        .header("X-Request-Id", "evil\tid with spaces")
        .json(&json!({}))
        .send()
        .await;
    let forged = forged.ok().and_then(|r| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap_or("").to_owned())
    });
    assert!(
        forged.is_some_and(|id| id.len() == 36 && id != "evil\tid with spaces"),
        "an insane one is replaced"
    );

    // A failing request's log lines carry its id.
    let failed = http
        .post(format!("{}/chat/conversations/999/get", server.base()))
        .bearer_auth(&token)
        .header("X-Request-Id", "the-404")
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(failed.map(|r| r.status().as_u16()).ok(), Some(404));
    eventually(Duration::from_secs(10), || async {
        server
            .logs()
            .iter()
            .any(|line| line.contains("the-404") && line.contains("404"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn metrics_show_routes_pool_and_outbox() {
    let server = TestServer::postgres().await;
    let token = server.token(1, 1);
    for _ in 0..3 {
        server
            .post(&token, "/chat/conversations/list", json!({}))
            .await;
    }
    let series = [
        "http_requests_total{route=\"/chat/conversations/list\",method=\"POST\",status=\"200\"} 3",
        "http_request_duration_seconds",
        "db_pool_connections",
        "db_pool_max_connections",
    ];
    eventually(Duration::from_secs(10), || async {
        let body = server.metrics().await?;
        series.iter().all(|s| body.contains(s)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_api_description_and_its_viewer_are_served() {
    let server = TestServer::in_memory();
    let served = reqwest::get(format!("{}/openapi.json", server.base())).await;
    let served: serde_json::Value = match served {
        Ok(response) => response.json().await.unwrap_or_default(),
        Err(e) => panic!("GET /openapi.json: {e}"),
    };
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert!(
        served == committed,
        "the server serves the committed description"
    );
    let viewer = reqwest::get(format!("{}/docs/", server.base())).await;
    let viewer = viewer.map(|r| r.status().as_u16()).unwrap_or(0);
    assert_eq!(viewer, 200, "the interactive viewer, with vendored assets");
    // `/docs` as the README writes it: a redirect that a browser follows.
    let viewer = reqwest::get(format!("{}/docs", server.base())).await;
    let viewer = viewer.map(|r| r.status().as_u16()).unwrap_or(0);
    assert_eq!(viewer, 200, "/docs leads to the viewer");
}

#[test]
fn a_bad_setting_stops_the_server_with_a_clear_message() {
    let binary =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/chat-server");
    // The binary is built by the other tests of this crate; build it if alone.
    if !binary.exists() {
        let status = std::process::Command::new(
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        )
        .args(["build", "-q", "-p", "chat-server"])
        .status();
        assert!(status.is_ok_and(|s| s.success()));
    }
    for (key, value, mentioned) in [
        ("UNFURL_ALLOW", "not-an-address", "UNFURL_ALLOW"),
        (
            "CENTRIFUGO_API_URL",
            "http://127.0.0.1:1",
            "CENTRIFUGO_API_KEY",
        ),
        ("AUTH_HS256_SECRET", "short", "AUTH_HS256_SECRET"),
        ("CHAT_SEND_BURST", "lots", "send-burst"),
    ] {
        let output = std::process::Command::new(&binary)
            .env_clear()
            .env("CHAT_BIND", "127.0.0.1:0")
            .env(key, value)
            .output();
        let output = match output {
            Ok(output) => output,
            Err(e) => panic!("running chat-server: {e}"),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{key}={value} must stop the server"
        );
        assert!(
            stderr.contains(mentioned),
            "{key}={value}: the message names {mentioned}: {stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "an error, not a panic: {stderr}"
        );
    }
}

/// `/metrics` names webhook endpoints, pool sizes and traffic per route: it
/// is the operator's (issue 24). Only the bearer of `CHAT_METRICS_TOKEN`
/// reads it; an API token or no token is refused, and a server without a
/// metrics token does not serve it at all.
#[tokio::test]
async fn metrics_are_for_the_bearer_of_the_metrics_token_only() {
    let server = TestServer::postgres().await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.base());
    let status = |response: Result<reqwest::Response, reqwest::Error>| {
        response.map(|r| r.status().as_u16()).unwrap_or(0)
    };
    assert_eq!(status(http.get(&url).send().await), 401, "no token");
    let api_token = server.token(1, 1);
    assert_eq!(
        status(http.get(&url).bearer_auth(&api_token).send().await),
        401,
        "a user's token is not the metrics token"
    );
    assert_eq!(
        status(
            http.get(&url)
                .bearer_auth("end-to-end-metrics-tokeX")
                .send()
                .await
        ),
        401
    );
    assert!(
        server
            .metrics()
            .await
            .is_some_and(|text| text.contains("db_pool_max_connections")),
        "the metrics token reads them"
    );

    let without = TestServer::postgres_with(&[("CHAT_METRICS_TOKEN", "")]).await;
    let reply = http.get(format!("{}/metrics", without.base())).send().await;
    assert_eq!(status(reply), 404, "not served without a metrics token");
}
