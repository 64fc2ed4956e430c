//! The server HTTP API client.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::events::{
    Audience, EventEncoder, OutboxEvent, conversation_channel, personal_channel,
};
use chat_domain::ports::EphemeralPublisher;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Where Centrifugo's server API is.
#[derive(Debug, Clone)]
pub struct CentrifugoConfig {
    /// Base URL, e.g. `http://127.0.0.1:8000` (the client adds `/api/...`).
    pub api_url: String,
    pub api_key: String,
    pub timeout: Duration,
}

/// Why a publish failed.
#[derive(Debug, Clone)]
pub enum PublishError {
    /// Centrifugo answered with an error object; only code 100 (internal) is
    /// worth retrying.
    Centrifugo { code: u32, message: String },
    /// No usable answer: connection, timeout, HTTP status, or a body that is
    /// not Centrifugo's.
    Transport(String),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Centrifugo { code, message } => write!(f, "centrifugo error {code}: {message}"),
            Self::Transport(message) => write!(f, "centrifugo unreachable: {message}"),
        }
    }
}

impl std::error::Error for PublishError {}

impl PublishError {
    /// Whether trying again may succeed (internal errors and transport).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Centrifugo { code, .. } => *code == 100,
            Self::Transport(_) => true,
        }
    }

    /// Centrifugo's error code, when it answered one.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Centrifugo { code, .. } => Some(*code),
            Self::Transport(_) => None,
        }
    }
}

/// A client for Centrifugo's server HTTP API.
#[derive(Clone)]
pub struct CentrifugoClient {
    http: reqwest::Client,
    config: CentrifugoConfig,
}

#[derive(Serialize)]
struct PublishRequest<'a> {
    channel: &'a str,
    data: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
}

#[derive(Deserialize)]
struct Reply {
    error: Option<ReplyError>,
    result: Option<ReplyResult>,
}

#[derive(Deserialize)]
struct ReplyResult {
    responses: Option<Vec<ChannelReply>>,
}

#[derive(Deserialize)]
struct ChannelReply {
    error: Option<ReplyError>,
}

/// `/api/batch`'s answer: one reply per command, in order.
#[derive(Deserialize)]
struct BatchReply {
    #[serde(default)]
    replies: Vec<CommandReply>,
}

/// One command's reply: an error, or the method's result under its name.
#[derive(Deserialize)]
struct CommandReply {
    error: Option<ReplyError>,
    broadcast: Option<ReplyResult>,
}

/// An error answered with a non-2xx status (`error_mode: transport`), in
/// either shape Centrifugo uses.
#[derive(Deserialize)]
struct StatusReply {
    error: Option<ReplyError>,
    code: Option<u32>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ReplyError {
    code: u32,
    #[serde(default)]
    message: String,
}

impl CentrifugoClient {
    /// A client for the API at `config.api_url`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(config: CentrifugoConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { http, config })
    }

    /// Publishes `data` (JSON) to `channel`.
    ///
    /// # Errors
    /// [`PublishError`] as Centrifugo or the transport reported it.
    pub async fn publish(
        &self,
        channel: &str,
        data: &str,
        idempotency_key: Option<&str>,
    ) -> Result<(), PublishError> {
        let data = RawValue::from_string(data.to_owned())
            .map_err(|e| PublishError::Transport(format!("data is not JSON: {e}")))?;
        let body = PublishRequest {
            channel,
            data: &data,
            idempotency_key,
        };
        let body =
            serde_json::to_string(&body).map_err(|e| PublishError::Transport(e.to_string()))?;
        self.call("publish", body).await
    }

    /// Calls `/api/batch` with `(method, params)` commands, run in order
    /// (`parallel: false`), and answers one outcome per command in the same
    /// order. A command without a reply counts as not delivered.
    ///
    /// # Errors
    /// [`PublishError`] when the batch as a whole failed.
    pub async fn batch(
        &self,
        commands: &[(&str, &str)],
    ) -> Result<Vec<Result<(), PublishError>>, PublishError> {
        let mut body = String::from(r#"{"parallel":false,"commands":["#);
        for (i, (method, params)) in commands.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let method = serde_json::Value::from(*method).to_string();
            body.push_str(&format!("{{{method}:{params}}}"));
        }
        body.push_str("]}");
        let response = self.post("batch", body).await?;
        let reply: BatchReply = serde_json::from_slice(&response)
            .map_err(|e| PublishError::Transport(format!("unreadable answer: {e}")))?;
        let mut replies = reply.replies.into_iter();
        Ok(commands
            .iter()
            .map(|_| match replies.next() {
                None => Err(PublishError::Transport(
                    "no reply for the command".to_owned(),
                )),
                Some(reply) => outcome(reply.error, reply.broadcast),
            })
            .collect())
    }

    /// POSTs to `/api/{method}`; the body of a 2xx answer. A non-2xx answer
    /// carrying Centrifugo's error (`error_mode: transport`) is that error.
    async fn post(&self, method: &str, body: String) -> Result<Vec<u8>, PublishError> {
        let url = format!("{}/api/{method}", self.config.api_url.trim_end_matches('/'));
        let response = self
            .http
            .post(url)
            .header("X-API-Key", &self.config.api_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| PublishError::Transport(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| PublishError::Transport(e.to_string()))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let error = serde_json::from_slice::<StatusReply>(&bytes)
            .ok()
            .and_then(|r| match (r.error, r.code) {
                (Some(error), _) => Some(error),
                (None, Some(code)) => Some(ReplyError {
                    code,
                    message: r.message.unwrap_or_default(),
                }),
                (None, None) => None,
            });
        Err(match error {
            Some(error) => PublishError::Centrifugo {
                code: error.code,
                message: error.message,
            },
            None => PublishError::Transport(format!("HTTP {status}")),
        })
    }

    /// Calls a server API method with already-encoded params (an outbox
    /// row's `method` and `payload`). A `broadcast` fails when any of its
    /// channels failed: the idempotency key makes the retry harmless.
    ///
    /// # Errors
    /// [`PublishError`] as Centrifugo or the transport reported it.
    pub async fn call(&self, method: &str, params: String) -> Result<(), PublishError> {
        let response = self.post(method, params).await?;
        let reply: Reply = serde_json::from_slice(&response)
            .map_err(|e| PublishError::Transport(format!("unreadable answer: {e}")))?;
        outcome(reply.error, reply.result)
    }
}

/// A call's error, or for a broadcast the worst of its channels' errors
/// (an internal one first: retrying it is what may still succeed).
fn outcome(error: Option<ReplyError>, result: Option<ReplyResult>) -> Result<(), PublishError> {
    let failed = error.or_else(|| {
        result
            .and_then(|r| r.responses)
            .into_iter()
            .flatten()
            .filter_map(|r| r.error)
            .min_by_key(|e| if e.code == 100 { 0 } else { 1 })
    });
    match failed {
        Some(error) => Err(PublishError::Centrifugo {
            code: error.code,
            message: error.message,
        }),
        None => Ok(()),
    }
}

/// Ephemeral events (typing) published straight to Centrifugo.
pub struct CentrifugoEphemeral {
    client: CentrifugoClient,
    encoder: Arc<dyn EventEncoder>,
}

impl CentrifugoEphemeral {
    /// A publisher encoding events with `encoder`.
    pub fn new(client: CentrifugoClient, encoder: Arc<dyn EventEncoder>) -> Self {
        Self { client, encoder }
    }
}

#[async_trait]
impl EphemeralPublisher for CentrifugoEphemeral {
    async fn publish(&self, event: OutboxEvent) -> Result<(), ChatError> {
        let data = self.encoder.encode(&event);
        let channels = match &event.audience {
            Audience::Conversation => vec![conversation_channel(event.conversation_id)],
            Audience::Users(users) => users.iter().map(|u| personal_channel(*u)).collect(),
            Audience::Members => Vec::new(),
        };
        for channel in channels {
            if let Err(error) = self.client.publish(&channel, &data, None).await {
                tracing::warn!(%channel, %error, "ephemeral publish failed");
                return Err(ChatError::Unavailable(anyhow::Error::new(error)));
            }
        }
        Ok(())
    }
}
