//! Typed configuration: every setting is a flag and an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chat_http::{TokenKey, TokenRules};
use clap::{Args, Parser, Subcommand};

/// The chat service.
#[derive(Debug, Parser)]
#[command(name = "chat-server", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// Settings for `serve` when no subcommand is given.
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the HTTP API (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Rewrite the search words of every message (after an upgrade that
    /// changed how text is split into words), in batches, while the service
    /// runs.
    ReindexSearch(ReindexArgs),
    /// Print a token for local development, signed with the HS256 secret.
    DevToken(DevTokenArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ReindexArgs {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: String,
    /// Messages per transaction.
    #[arg(long, default_value_t = 1000)]
    pub(crate) batch: i64,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (logged at start).
    #[arg(long, env = "CHAT_BIND", default_value = "127.0.0.1:8080")]
    pub(crate) bind: SocketAddr,
    /// PostgreSQL URL. Without it the service runs on in-memory stores.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// Largest pool of database connections.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub(crate) database_max_connections: usize,
    /// Seconds to wait for a database connection before answering 503.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
    pub(crate) database_acquire_timeout_secs: u64,
    /// Milliseconds after which PostgreSQL cancels one statement.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 15_000)]
    pub(crate) database_statement_timeout_ms: u64,
    /// Do not apply pending migrations at start.
    /// The environment takes 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "CHAT_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) no_migrate: bool,
    /// Outbox partitions (must match Centrifugo's consumer `num_partitions`).
    #[arg(long, env = "OUTBOX_PARTITIONS", default_value_t = 16)]
    pub(crate) outbox_partitions: i32,
    /// Origins whose pages may call the API from a browser: empty (none, the
    /// default), `*` (any; tokens are headers, never cookies), or exact
    /// origins separated by commas (`https://app.example.com`).
    #[arg(long, env = "CHAT_CORS_ORIGINS", default_value = "",
          value_parser = |text: &str| chat_http::CorsOrigins::parse(text))]
    pub(crate) cors_origins: chat_http::CorsOrigins,
    /// The bearer token `GET /metrics` requires. Without it, the metrics
    /// (endpoint names, pool sizes, outbox depth, traffic per route) are not
    /// served at all: they are for the operator, not for anyone who can
    /// reach the API.
    #[arg(long, env = "CHAT_METRICS_TOKEN", hide_env_values = true)]
    pub(crate) metrics_token: Option<String>,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "CHAT_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub(crate) max_body_bytes: usize,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "CHAT_WORKERS")]
    pub(crate) workers: Option<usize>,
    /// Sends per second a user may sustain (per replica).
    #[arg(long, env = "CHAT_SEND_RATE_PER_SEC", default_value_t = 10.0)]
    pub(crate) send_rate_per_sec: f64,
    /// Sends a user may make at once before the rate applies.
    #[arg(long, env = "CHAT_SEND_BURST", default_value_t = 20)]
    pub(crate) send_burst: u32,
    /// Conversations up to this many members get exact per-member
    /// `unread.updated` on every message; larger ones one batched broadcast.
    #[arg(long, env = "CHAT_UNREAD_FANOUT_MAX", default_value_t = 25)]
    pub(crate) unread_fanout_max: i64,
    /// How long numbered events are kept for catching up: a duration
    /// (`30d`, `12h`, `1w 2d`). Clients away longer reload.
    #[arg(long = "event-retention", env = "CHAT_EVENT_RETENTION", default_value = "30d", value_name = "DURATION", value_parser = parse_retention)]
    pub(crate) event_retention_ms: i64,
    /// Centrifugo's server API base URL (e.g. http://127.0.0.1:8000). Without
    /// it nothing is published to clients (outbox rows wait for a consumer).
    #[arg(long, env = "CENTRIFUGO_API_URL")]
    pub(crate) centrifugo_api_url: Option<String>,
    /// Centrifugo's server API key.
    #[arg(long, env = "CENTRIFUGO_API_KEY", hide_env_values = true)]
    pub(crate) centrifugo_api_key: Option<String>,
    /// Centrifugo's `client.token.hmac_secret_key`, for connection and
    /// subscription tokens.
    #[arg(long, env = "CENTRIFUGO_TOKEN_SECRET", hide_env_values = true)]
    pub(crate) centrifugo_token_secret: Option<String>,
    /// Lifetime of connection tokens, in seconds.
    #[arg(
        long,
        env = "CENTRIFUGO_CONNECTION_TOKEN_TTL_SECS",
        default_value_t = 3600
    )]
    pub(crate) connection_token_ttl_secs: u64,
    /// Lifetime of subscription tokens, in seconds.
    #[arg(
        long,
        env = "CENTRIFUGO_SUBSCRIPTION_TOKEN_TTL_SECS",
        default_value_t = 3600
    )]
    pub(crate) subscription_token_ttl_secs: u64,
    /// Run the outbox relay (on PostgreSQL with Centrifugo configured). Turn
    /// it off when Centrifugo's own PostgreSQL consumer drains the outbox.
    #[arg(long, env = "OUTBOX_RELAY", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) outbox_relay: bool,
    /// The consumer name in the partition lock key; use Centrifugo's consumer
    /// name so the two never drain one partition at once.
    #[arg(long, env = "OUTBOX_CONSUMER_NAME", default_value = "chat")]
    pub(crate) outbox_consumer_name: String,
    /// The URL of a webhook endpoint (named `default`; more endpoints in
    /// WEBHOOK_ENDPOINTS_FILE). Needs PostgreSQL.
    #[arg(long, env = "WEBHOOK_URL")]
    pub(crate) webhook_url: Option<String>,
    /// Its secret: `whsec_<base64>` or plain text.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub(crate) webhook_secret: Option<String>,
    /// Its event types, comma-separated (empty: all of them).
    #[arg(long, env = "WEBHOOK_EVENTS", default_value = "")]
    pub(crate) webhook_events: String,
    /// A JSON file of endpoints: `[{"name", "url", "secret", "events"}]`.
    #[arg(long, env = "WEBHOOK_ENDPOINTS_FILE")]
    pub(crate) webhook_endpoints_file: Option<std::path::PathBuf>,
    /// Deliver to private addresses (an internal push gateway); refused by
    /// default, like link previews.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default_value_t = false,
          action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) webhook_allow_private_addresses: bool,
    /// Seconds one delivery may take.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub(crate) webhook_timeout_secs: u64,
    /// Milliseconds before the first retry (doubling up to an hour, jittered).
    #[arg(long, env = "WEBHOOK_RETRY_FIRST_MS", default_value_t = 5_000)]
    pub(crate) webhook_retry_first_ms: u64,
    /// Seconds a failing delivery is retried before it goes to the dead
    /// letters (default 24 hours).
    #[arg(long, env = "WEBHOOK_RETRY_FOR_SECS", default_value_t = 86_400)]
    pub(crate) webhook_retry_for_secs: u64,
    /// Rows per relay transaction.
    #[arg(long, env = "OUTBOX_BATCH", default_value_t = 100)]
    pub(crate) outbox_batch: usize,
    /// Milliseconds a relay worker sleeps without a notification.
    #[arg(long, env = "OUTBOX_POLL_MS", default_value_t = 1000)]
    pub(crate) outbox_poll_ms: u64,
    /// Unfurl links in messages into previews.
    #[arg(long, env = "UNFURL_ENABLED", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) unfurl_enabled: bool,
    /// Concurrent unfurl workers.
    #[arg(long, env = "UNFURL_WORKERS", default_value_t = 4)]
    pub(crate) unfurl_workers: usize,
    /// Milliseconds one unfurl may take, redirects included.
    #[arg(long, env = "UNFURL_TIMEOUT_MS", default_value_t = 5000)]
    pub(crate) unfurl_timeout_ms: u64,
    /// Bytes of a page read, at most.
    #[arg(long, env = "UNFURL_MAX_BYTES", default_value_t = 512 * 1024)]
    pub(crate) unfurl_max_bytes: usize,
    /// Redirects followed, at most.
    #[arg(long, env = "UNFURL_MAX_REDIRECTS", default_value_t = 3)]
    pub(crate) unfurl_max_redirects: usize,
    /// Seconds a fetched preview (or failure) is reused.
    #[arg(long, env = "UNFURL_CACHE_SECS", default_value_t = 86_400)]
    pub(crate) unfurl_cache_secs: i64,
    /// Non-public addresses that may be fetched anyway, comma-separated
    /// (`10.0.0.5`, `127.0.0.1:8080`). Empty by default.
    #[arg(long, env = "UNFURL_ALLOW", value_delimiter = ',')]
    pub(crate) unfurl_allow: Vec<String>,
    /// R2 (or any S3) endpoint, e.g. `https://<account>.r2.cloudflarestorage.com`.
    /// Without it, attachments are kept in memory and served by this server.
    #[arg(long, env = "R2_ENDPOINT")]
    pub(crate) r2_endpoint: Option<String>,
    /// The bucket.
    #[arg(long, env = "R2_BUCKET")]
    pub(crate) r2_bucket: Option<String>,
    /// Signing region (`auto` for R2).
    #[arg(long, env = "R2_REGION", default_value = "auto")]
    pub(crate) r2_region: String,
    /// Access key id.
    #[arg(long, env = "R2_ACCESS_KEY_ID")]
    pub(crate) r2_access_key_id: Option<String>,
    /// Secret access key.
    #[arg(long, env = "R2_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub(crate) r2_secret_access_key: Option<String>,
    /// Public base URL of the bucket (a custom domain); presigned GETs otherwise.
    #[arg(long, env = "R2_PUBLIC_BASE_URL")]
    pub(crate) r2_public_base_url: Option<String>,
    /// Largest file, in bytes.
    #[arg(long, env = "CHAT_MAX_FILE_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub(crate) max_file_bytes: i64,
    /// Seconds an upload URL is valid.
    #[arg(long, env = "ATTACHMENT_UPLOAD_TTL_SECS", default_value_t = 900)]
    pub(crate) upload_ttl_secs: u64,
    /// Seconds a download URL is valid.
    #[arg(long, env = "ATTACHMENT_DOWNLOAD_TTL_SECS", default_value_t = 3600)]
    pub(crate) download_ttl_secs: u64,
    /// Seconds after which uploads never finalized are deleted.
    #[arg(
        long,
        env = "ATTACHMENT_PENDING_MAX_AGE_SECS",
        default_value_t = 86_400
    )]
    pub(crate) pending_max_age_secs: i64,
    /// This server's public base URL, for the in-memory file store's links
    /// (default: the bound address).
    #[arg(long, env = "CHAT_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty", value_parser = ["pretty", "json"])]
    pub(crate) log_format: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AuthArgs {
    /// HS256 secret that signs user tokens.
    #[arg(long, env = "AUTH_HS256_SECRET", hide_env_values = true)]
    pub(crate) auth_hs256_secret: Option<String>,
    /// PEM file with the RSA public key of RS256 user tokens.
    #[arg(long, env = "AUTH_RS256_PUBLIC_KEY_FILE")]
    pub(crate) auth_rs256_public_key_file: Option<PathBuf>,
    /// PEM file with the EC P-256 public key of ES256 user tokens.
    #[arg(long, env = "AUTH_ES256_PUBLIC_KEY_FILE")]
    pub(crate) auth_es256_public_key_file: Option<PathBuf>,
    /// An identity provider's JWKS URL (RS256/ES256 keys by `kid`, refreshed
    /// as they rotate), e.g. Keycloak's `.../protocol/openid-connect/certs`.
    #[arg(long, env = "AUTH_JWKS_URL")]
    pub(crate) auth_jwks_url: Option<String>,
    /// Seconds between two fetches of the JWKS (an unknown `kid` fetches
    /// sooner, at most every 10 seconds).
    #[arg(long, env = "AUTH_JWKS_REFRESH_SECS", default_value_t = 300)]
    pub(crate) auth_jwks_refresh_secs: u64,
    /// The claim holding the numeric user id, when the provider's `sub` is
    /// not one (e.g. `chat_user_id`, or Auth0's `https://example.com/user_id`).
    #[arg(long, env = "AUTH_USER_ID_CLAIM", default_value = "sub")]
    pub(crate) auth_user_id_claim: String,
    /// The claim holding the numeric org id.
    #[arg(long, env = "AUTH_ORG_ID_CLAIM", default_value = "org")]
    pub(crate) auth_org_id_claim: String,
    /// One org for every user, for single-org deployments whose tokens carry
    /// no org id (the org claim is then not read).
    #[arg(long, env = "AUTH_FIXED_ORG_ID")]
    pub(crate) auth_fixed_org_id: Option<i64>,
    /// The claim holding the user's display name.
    #[arg(long, env = "AUTH_NAME_CLAIM", default_value = "name")]
    pub(crate) auth_name_claim: String,
    /// The claim holding the user's username.
    #[arg(
        long,
        env = "AUTH_USERNAME_CLAIM",
        default_value = "preferred_username"
    )]
    pub(crate) auth_username_claim: String,
    /// The claim holding the user's avatar URL.
    #[arg(long, env = "AUTH_AVATAR_CLAIM", default_value = "picture")]
    pub(crate) auth_avatar_claim: String,
    /// Required `iss` claim.
    #[arg(long, env = "AUTH_ISSUER")]
    pub(crate) auth_issuer: Option<String>,
    /// Required `aud` claim.
    #[arg(long, env = "AUTH_AUDIENCE")]
    pub(crate) auth_audience: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct MigrateArgs {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DevTokenArgs {
    /// User id (`sub`).
    #[arg(long, default_value = "1")]
    pub(crate) sub: String,
    /// Org id (`org`).
    #[arg(long, default_value = "1")]
    pub(crate) org: String,
    /// Display name (`name`).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub(crate) ttl_secs: i64,
    /// HS256 secret; the development default when unset.
    #[arg(long, env = "AUTH_HS256_SECRET", hide_env_values = true)]
    pub(crate) auth_hs256_secret: Option<String>,
}

/// The secret used when nothing is configured and the stores are in memory:
/// development only, refused with a database.
pub(crate) const DEV_SECRET: &str = "chat-dev-secret-change-me";

impl AuthArgs {
    /// The key that verifies tokens. Without one, the in-memory mode falls
    /// back to [`DEV_SECRET`]; with a database that is an error.
    pub(crate) fn token_key(&self, in_memory: bool) -> anyhow::Result<(TokenKey, bool)> {
        // An empty variable (`AUTH_HS256_SECRET=`) counts as unset.
        let secret = self.auth_hs256_secret.as_ref().filter(|s| !s.is_empty());
        let jwks_url = self.auth_jwks_url.as_ref().filter(|s| !s.is_empty());
        let configured = [
            secret.is_some(),
            self.auth_rs256_public_key_file.is_some(),
            self.auth_es256_public_key_file.is_some(),
            jwks_url.is_some(),
        ];
        if configured.iter().filter(|c| **c).count() > 1 {
            bail!(
                "set only one of AUTH_HS256_SECRET, AUTH_RS256_PUBLIC_KEY_FILE, AUTH_ES256_PUBLIC_KEY_FILE, AUTH_JWKS_URL"
            );
        }
        if let Some(url) = jwks_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("AUTH_JWKS_URL must be an http(s) URL");
            }
            return Ok((
                TokenKey::Jwks {
                    url: url.clone(),
                    refresh_every: std::time::Duration::from_secs(
                        self.auth_jwks_refresh_secs.max(1),
                    ),
                },
                false,
            ));
        }
        if let Some(secret) = secret {
            if secret.len() < 16 {
                bail!("AUTH_HS256_SECRET must be at least 16 bytes");
            }
            return Ok((TokenKey::Hs256Secret(secret.clone()), false));
        }
        if let Some(path) = &self.auth_rs256_public_key_file {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok((TokenKey::Rs256Pem(pem), false));
        }
        if let Some(path) = &self.auth_es256_public_key_file {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok((TokenKey::Es256Pem(pem), false));
        }
        if !in_memory {
            bail!(
                "no token key: set AUTH_HS256_SECRET, AUTH_RS256_PUBLIC_KEY_FILE, AUTH_ES256_PUBLIC_KEY_FILE or AUTH_JWKS_URL"
            );
        }
        Ok((TokenKey::Hs256Secret(DEV_SECRET.to_owned()), true))
    }

    pub(crate) fn rules(&self) -> TokenRules {
        TokenRules {
            issuer: self.auth_issuer.clone(),
            audience: self.auth_audience.clone(),
            user_id_claim: self.auth_user_id_claim.clone(),
            org_id_claim: self.auth_org_id_claim.clone(),
            fixed_org: self.auth_fixed_org_id,
            profile_claims: chat_http::ProfileClaims {
                name: self.auth_name_claim.clone(),
                username: self.auth_username_claim.clone(),
                avatar_url: self.auth_avatar_claim.clone(),
            },
        }
    }
}

/// A positive duration (`30d`, `12h`, `90m`, `1w 2d`) as milliseconds.
fn parse_retention(text: &str) -> Result<i64, String> {
    const HINT: &str = "a positive duration such as 30d, 12h or 1w 2d";
    let duration = humantime::parse_duration(text.trim()).map_err(|e| format!("{HINT}: {e}"))?;
    i64::try_from(duration.as_millis())
        .ok()
        .filter(|millis| *millis > 0)
        .ok_or_else(|| HINT.to_owned())
}

#[cfg(test)]
mod retention_tests {
    use super::parse_retention;

    #[test]
    fn retention_takes_a_number_and_a_unit() {
        assert_eq!(parse_retention("30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_retention("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_retention("45s"), Ok(45_000));
        assert_eq!(parse_retention("1w 2d"), Ok(9 * 86_400_000));
        for bad in ["", "30", "d", "-1d", "0h", "x1d", "1 fortnight"] {
            assert!(parse_retention(bad).is_err(), "{bad:?}");
        }
    }
}
