//! Runs the real `chat-server` binary for end-to-end tests: on a fresh
//! PostgreSQL database (or in memory), on a free port, with real signed tokens.
#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test support: a failed step is a failed test, and server logs help read it"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub mod centrifugo;
pub mod pages;
pub mod s3;
pub mod site;
pub mod webhook_receiver;

use chat_postgres::testing::TestDatabase;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The HS256 secret the test servers trust.
pub const SECRET: &str = "end-to-end-test-secret-0123456789";
/// The bearer token `GET /metrics` requires on every test server.
pub const METRICS_TOKEN: &str = "end-to-end-metrics-token";

/// A running server and what it runs on.
pub struct TestServer {
    child: Child,
    base: String,
    logs: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
    database: Option<TestDatabase>,
    /// The HS256 secret the server trusts.
    secret: &'static str,
}

/// A response: status and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl Reply {
    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The `chat-server` binary, built once per test process (a no-op when it is
/// fresh).
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut build = Command::new(cargo);
            build.current_dir(&workspace).args([
                "build",
                "--quiet",
                "-p",
                "chat-server",
                "--bin",
                "chat-server",
            ]);
            let profile = if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            };
            if profile == "release" {
                build.arg("--release");
            }
            let status = build.status().expect("running cargo build");
            assert!(status.success(), "building chat-server failed");
            let target = std::env::var("CARGO_TARGET_DIR")
                .map_or_else(|_| workspace.join("target"), PathBuf::from);
            target.join(profile).join("chat-server")
        })
        .clone()
}

impl TestServer {
    /// A server on its own fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        Self::postgres_with(&[]).await
    }

    /// A server on its own database, with extra environment.
    pub async fn postgres_with(env: &[(&str, &str)]) -> Self {
        let database = TestDatabase::create()
            .await
            .expect("creating a test database");
        let mut all = vec![("DATABASE_URL", database.url().to_owned())];
        all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Self::start(Some(database), &all)
    }

    /// A server with exactly this environment (plus the test secret) and no
    /// test database: for starting it against a database that is down.
    pub fn with_env(env: &[(&str, &str)]) -> Self {
        let mut all = vec![("AUTH_HS256_SECRET", SECRET.to_owned())];
        all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Self::start(None, &all)
    }

    /// The zero-configuration server: in-memory stores, development secret.
    pub fn in_memory() -> Self {
        Self::start(None, &[])
    }

    fn start(database: Option<TestDatabase>, env: &[(&str, String)]) -> Self {
        let mut command = Command::new(server_binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CHAT_BIND", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("CHAT_WORKERS", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Tests send in bursts; the rate-limit test sets its own limits.
        command.env("CHAT_SEND_BURST", "100000");
        command.env("CHAT_METRICS_TOKEN", METRICS_TOKEN);
        let own_key = env.iter().any(|(key, _)| key.starts_with("AUTH_"));
        if database.is_some() && !own_key {
            command.env("AUTH_HS256_SECRET", SECRET);
        }
        let secret = if database.is_some() || own_key {
            SECRET
        } else {
            "chat-dev-secret-change-me"
        };
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("starting chat-server");
        let stdout = child.stdout.take().expect("server stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["fields"]["message"] == "listening"
                {
                    let addr = entry["fields"]["addr"].as_str().unwrap_or("").to_owned();
                    let _ = addr_tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not start; logs:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        Self {
            child,
            base: format!("http://{addr}"),
            logs,
            http: reqwest::Client::new(),
            database,
            secret,
        }
    }

    /// Kills the process at once (SIGKILL): no graceful shutdown, open
    /// transactions die with it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's log lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// The URL of the server's database.
    pub fn database_url(&self) -> &str {
        self.database.as_ref().expect("a postgres server").url()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A valid token for user `sub` of org `org`, signed with the test secret
    /// (or the development secret for in-memory servers).
    pub fn token(&self, sub: i64, org: i64) -> String {
        sign_hs256(self.secret, &claims(sub, org))
    }

    /// `GET /metrics` with the metrics token: the text, or `None` when the
    /// request failed.
    pub async fn metrics(&self) -> Option<String> {
        self.http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    }

    /// POSTs JSON with a bearer token.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body);
        send(request).await
    }

    /// POSTs raw bytes with optional headers, for malformed-input tests.
    pub async fn post_raw(&self, token: Option<&str>, path: &str, body: Vec<u8>) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.base)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request).await
    }

    /// GETs a path without auth.
    pub async fn get(&self, path: &str) -> Reply {
        send(self.http.get(format!("{}{path}", self.base))).await
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request reaches the server");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(ToOwned::to_owned);
    let bytes = response.bytes().await.expect("response body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        body,
        retry_after,
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- server logs ---\n{}", self.logs().join("\n"));
        }
    }
}

/// Standard claims for a user, valid for an hour.
pub fn claims(sub: i64, org: i64) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({ "sub": sub.to_string(), "org": org.to_string(), "name": format!("User {sub}"),
            "preferred_username": format!("user{sub}"), "exp": now + 3600 })
}

/// Signs claims with an HS256 secret.
pub fn sign_hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signing a token")
}

/// Signs claims with a PEM private key (RS256 or ES256).
pub fn sign_pem(algorithm: Algorithm, private_pem: &str, claims: &Value) -> String {
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(private_pem.as_bytes()),
    }
    .expect("a private key");
    jsonwebtoken::encode(&Header::new(algorithm), claims, &key).expect("signing a token")
}

/// A test fixture file's text.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Polls `check` until it returns `Some`, or fails after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
