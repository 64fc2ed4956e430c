//! Browsers: a page on an allowed origin calls the API across origins in a
//! real headless Chromium and reads a message back; a page on another origin
//! is refused by the browser before its request reaches the API.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_e2e::site::LocalSite;
use chat_e2e::{TestServer, eventually};
use serde_json::{Value, json};

/// Debian's Chromium (`cargo xtask ci` installs it when missing).
fn chromium_binary() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: `cargo xtask ci` installs Debian's chromium, or set CHROMIUM",
        path.display()
    );
    path
}

/// Headless Chromium on `url`, with the flags this machine needs (no
/// sandbox as root, no background traffic to hosts it cannot reach).
struct Browser {
    child: Child,
    _profile: TempDir,
}

impl Browser {
    fn open(url: &str) -> Self {
        let profile = TempDir::new("chromium-profile");
        let child = Command::new(chromium_binary())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting chromium: {e}"));
        Self {
            child,
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "{name}-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A page that creates a group, sends a message and lists it back through
/// `api`, then POSTs what it saw (or the error it got) to its own `/report`.
fn chat_page(api: &str, token: &str) -> String {
    format!(
        r#"<!doctype html><html><body><script>
const api = {api};
const headers = {{ "Authorization": "Bearer " + {token}, "Content-Type": "application/json" }};
async function call(path, body) {{
  const response = await fetch(api + path, {{ method: "POST", headers, body: JSON.stringify(body) }});
  return {{ status: response.status, requestId: response.headers.get("x-request-id"), body: await response.json() }};
}}
async function run() {{
  try {{
    const created = await call("/chat/conversations/create", {{ kind: "group", name: "from a browser" }});
    const sent = await call("/chat/messages/send", {{ conversationId: created.body.id, content: "hello from chromium" }});
    const listed = await call("/chat/messages/list", {{ conversationId: created.body.id }});
    return {{ ok: true, sentStatus: sent.status, requestId: sent.requestId,
              content: listed.body.data[listed.body.data.length - 1].content }};
  }} catch (error) {{
    return {{ ok: false, error: String(error) }};
  }}
}}
run().then((result) => fetch("/report", {{ method: "POST", body: JSON.stringify(result) }}));
</script></body></html>"#,
        api = json!(api),
        token = json!(token),
    )
}

async fn first_report(site: &LocalSite) -> Value {
    let text = eventually(Duration::from_secs(60), || async {
        site.reports().first().cloned()
    })
    .await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the page reports JSON ({e}): {text}"))
}

#[tokio::test]
async fn a_page_on_an_allowed_origin_reads_a_message_back_and_another_origin_is_refused() {
    let allowed = LocalSite::start();
    let elsewhere = LocalSite::start();
    let server = TestServer::postgres_with(&[("CHAT_CORS_ORIGINS", &allowed.origin())]).await;

    allowed.set(
        "/",
        "text/html",
        &chat_page(server.base(), &server.token(1, 1)),
    );
    let browser = Browser::open(&format!("{}/", allowed.origin()));
    let report = first_report(&allowed).await;
    drop(browser);
    assert_eq!(report["ok"], true, "the allowed page failed: {report}");
    assert_eq!(report["content"], "hello from chromium");
    assert_eq!(report["sentStatus"], 201);
    assert!(
        report["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "X-Request-Id is exposed to the page: {report}"
    );

    let refused_token = server.token(2, 1);
    elsewhere.set("/", "text/html", &chat_page(server.base(), &refused_token));
    let browser = Browser::open(&format!("{}/", elsewhere.origin()));
    let report = first_report(&elsewhere).await;
    drop(browser);
    assert_eq!(
        report["ok"], false,
        "a page on another origin got through: {report}"
    );
    // The preflight was refused, so the create never ran.
    let conversations = server
        .post(&refused_token, "/chat/conversations/list", json!({}))
        .await;
    assert_eq!(conversations.status, 200);
    assert_eq!(conversations.body["data"], json!([]));
}

#[tokio::test]
async fn preflights_name_what_a_page_may_send_and_read() {
    let server = TestServer::postgres_with(&[(
        "CHAT_CORS_ORIGINS",
        "https://app.example.com, https://admin.example.com",
    )])
    .await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{}/chat/messages/send", server.base()),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
    };
    let allowed = preflight("https://admin.example.com")
        .await
        .expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |name: &str| {
        allowed
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    assert_eq!(
        header("access-control-allow-origin"),
        "https://admin.example.com"
    );
    assert!(header("access-control-allow-methods").contains("post"));
    assert!(header("access-control-allow-headers").contains("authorization"));
    assert_eq!(header("access-control-allow-credentials"), "");

    let refused = preflight("https://evil.example").await.expect("preflight");
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // The actual response tells the page which headers it may read.
    let sent = http
        .post(format!("{}/chat/conversations/list", server.base()))
        .header("Origin", "https://app.example.com")
        .bearer_auth(server.token(1, 1))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    let exposed = sent
        .headers()
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after"),
        "{exposed}"
    );
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let server = TestServer::in_memory();
    let response = reqwest::Client::new()
        .post(format!("{}/chat/conversations/list", server.base()))
        .header("Origin", "https://app.example.com")
        .bearer_auth(server.token(1, 1))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
