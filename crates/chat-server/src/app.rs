//! Wiring: picks the adapters from the configuration (PostgreSQL when
//! `DATABASE_URL` is set, in-memory otherwise; Centrifugo, R2 and the link
//! fetcher when configured), builds the domain service on them, starts the
//! background workers and serves HTTP until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use chat_centrifugo::{CentrifugoClient, CentrifugoConfig, CentrifugoEphemeral, CentrifugoTokens};
use chat_domain::limits::Limits;
use chat_domain::ports::{
    EphemeralPublisher, HealthCheck, LinkFetcher, ObjectStore, RealtimeTokens,
};
use chat_domain::service::{ChatService, Ports};
use chat_http::local_files::LocalObjectStore;
use chat_http::wire::JsonEventEncoder;
use chat_http::{AppState, Authenticator, BodyLimit};
use chat_memory::InMemoryStore;
use chat_postgres::{PgConfig, PgStore};
use chat_r2::{R2Config, R2ObjectStore};
use chat_unfurl::{AllowRule, HttpLinkFetcher, UnfurlConfig};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::config::ServeArgs;
use crate::init_logging;
use crate::system::{DiscardEphemeral, NoRealtimeTokens, SystemClock, UuidEventIds};
use crate::workers::{
    spawn_pool_gauges, start_attachment_janitor, start_event_pruner, start_relay,
    start_unfurl_workers,
};

pub(crate) fn serve(runtime: &tokio::runtime::Runtime, args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.log_format);
    let in_memory = args.database_url.is_none();
    let (key, dev_secret) = args.auth.token_key(in_memory)?;
    let auth = Authenticator::new(&key, &args.auth.rules()).context("loading the token key")?;
    if dev_secret {
        tracing::warn!(
            "no AUTH_HS256_SECRET / AUTH_*_PUBLIC_KEY_FILE set: accepting tokens signed with the \
             development secret; mint one with `cargo run -p chat-server -- dev-token --sub 1 --org 1`"
        );
    }

    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let realtime = realtime(&args)?;
    let fetcher = link_fetcher(&args)?;
    let (objects, local_files) = object_store(&args)?;
    let webhook_endpoints = crate::webhooks::endpoints(&args)?;
    let (ports, health): (Ports, Arc<dyn HealthCheck>) = match &args.database_url {
        None => {
            if realtime.client.is_some() {
                tracing::warn!(
                    "the outbox relay needs PostgreSQL: in memory, only typing reaches Centrifugo"
                );
            }
            tracing::info!(
                "running on in-memory stores: nothing survives a restart. Set DATABASE_URL \
                 (e.g. postgres://chat:chat@127.0.0.1:5432/chat) to run on PostgreSQL"
            );
            if !webhook_endpoints.is_empty() {
                anyhow::bail!(
                    "webhooks are delivered from PostgreSQL's queue: set DATABASE_URL, or unset WEBHOOK_URL / WEBHOOK_ENDPOINTS_FILE"
                );
            }
            let store = Arc::new(InMemoryStore::new(Arc::new(JsonEventEncoder)));
            (
                ports_from(store.clone(), &realtime, fetcher.clone(), objects.clone()),
                store,
            )
        }
        Some(url) => {
            if !args.no_migrate {
                let applied = runtime.block_on(chat_postgres::run_migrations(url))?;
                tracing::info!(applied = ?applied, "database migrated");
            }
            let config = PgConfig {
                database_url: url.clone(),
                max_connections: args.database_max_connections,
                acquire_timeout: Duration::from_secs(args.database_acquire_timeout_secs),
                outbox_partitions: args.outbox_partitions,
                statement_timeout: Duration::from_millis(args.database_statement_timeout_ms),
                threads: args.workers.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
                }),
            };
            let store = Arc::new(
                PgStore::connect(&config, Arc::new(JsonEventEncoder))?
                    .with_webhooks(crate::webhooks::routes(&webhook_endpoints)),
            );
            if !webhook_endpoints.is_empty() {
                let _inside = runtime.enter();
                // Their own pool, as the relay has: expanding push requests
                // reads a batch of members and badges per delivery, and a
                // busy gateway must not take the API's connections. Two
                // per endpoint, at most eight.
                let webhook_pool = PgConfig {
                    max_connections: (webhook_endpoints.len() * 2).clamp(2, 8),
                    threads: 1,
                    ..config.clone()
                };
                let webhook_store =
                    Arc::new(PgStore::connect(&webhook_pool, Arc::new(JsonEventEncoder))?);
                let wakeups = chat_webhooks::spawn_deliverers(
                    webhook_store.clone(),
                    webhook_store,
                    Arc::new(JsonEventEncoder),
                    webhook_endpoints.clone(),
                    crate::webhooks::settings(&args),
                );
                // Every commit that queues deliveries also writes the
                // outbox, whose notification wakes the deliverers.
                tokio::spawn(chat_postgres::listen_for_outbox(url.clone(), move |_| {
                    wakeups.wake_all();
                }));
            }
            tracing::info!(
                max_connections = config.max_connections,
                "running on PostgreSQL"
            );
            spawn_pool_gauges(runtime, &store);
            match (&realtime.client, args.outbox_relay) {
                (Some(client), true) => {
                    // Its own pool: workers hold a connection while they
                    // call Centrifugo, so a slow Centrifugo must not take the
                    // API's connections. A quarter of the partitions (at
                    // least 2): a drain is one batch call, so workers take
                    // turns quickly.
                    let partitions = usize::try_from(args.outbox_partitions.max(1)).unwrap_or(1);
                    let relay_pool = PgConfig {
                        max_connections: partitions.div_ceil(4).max(2),
                        threads: 1,
                        ..config.clone()
                    };
                    let relay_store = PgStore::connect(&relay_pool, Arc::new(JsonEventEncoder))?;
                    start_relay(runtime, &args, &relay_store, client.clone(), url);
                }
                (Some(_), false) => {
                    tracing::info!(
                        "OUTBOX_RELAY=false: Centrifugo's own consumer drains the outbox"
                    );
                }
                (None, _) => {
                    tracing::warn!("no Centrifugo: outbox rows wait until a consumer drains them");
                }
            }
            (
                ports_from(store.clone(), &realtime, fetcher.clone(), objects.clone()),
                store,
            )
        }
    };

    let state = web::Data::new(AppState {
        chat: ChatService::new(
            ports,
            Limits {
                send_rate_per_sec: args.send_rate_per_sec,
                send_burst: args.send_burst,
                unread_fanout_max: args.unread_fanout_max,
                event_retention_ms: args.event_retention_ms,
                unfurl_links: args.unfurl_enabled,
                file_bytes: args.max_file_bytes,
                upload_ttl_secs: args.upload_ttl_secs,
                download_ttl_secs: args.download_ttl_secs,
                preview_cache_ttl_ms: args.unfurl_cache_secs.saturating_mul(1000),
                ..Limits::default()
            },
        ),
        auth,
        health,
    });
    start_attachment_janitor(runtime, &state.chat, args.pending_max_age_secs);
    start_event_pruner(runtime, &state.chat);
    if args.unfurl_enabled {
        start_unfurl_workers(runtime, &state.chat, args.unfurl_workers);
    }
    let body_limit = BodyLimit(args.max_body_bytes);
    let local_files_base = local_files.clone();
    let cors_origins = args.cors_origins.clone();
    let metrics_token = args.metrics_token.clone().filter(|t| !t.is_empty());
    if metrics_token.is_none() {
        tracing::info!("GET /metrics is not served: set CHAT_METRICS_TOKEN to scrape it");
    }
    let mut server = HttpServer::new(move || {
        let metrics = metrics.clone();
        let metrics_token = metrics_token.clone();
        let cors = chat_http::cors(&cors_origins);
        let serve_metrics = metrics_token.is_some();
        App::new()
            // gzip or brotli, as the client's Accept-Encoding asks: a page of
            // 50 messages is mostly repeated keys and shrinks ~10x.
            .wrap(actix_web::middleware::Compress::default())
            .wrap(actix_web::middleware::from_fn(chat_http::observe))
            // Outermost: preflights are answered before anything else runs.
            .wrap(actix_web::middleware::Condition::new(
                cors.is_some(),
                cors.unwrap_or_default(),
            ))
            .configure(|app| {
                if serve_metrics {
                    app.route(
                        "/metrics",
                        web::get().to(move |request: HttpRequest| {
                            render_metrics(metrics.clone(), metrics_token.clone(), request)
                        }),
                    );
                }
            })
            .configure(chat_http::configure(
                state.clone(),
                body_limit,
                local_files.clone(),
            ))
    })
    // Small responses on kept-alive connections must not wait for the
    // client's delayed ACK (Nagle): tens of milliseconds per request.
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .shutdown_timeout(10);
    if let Some(workers) = args.workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(args.bind)
        .with_context(|| format!("binding {}", args.bind))?;
    for addr in server.addrs() {
        tracing::info!(%addr, "listening");
    }
    if let (Some(store), Some(addr)) = (&local_files_base, server.addrs().first()) {
        let base = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        store.set_base_url(&base);
    }
    runtime.block_on(server.run()).context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// The realtime adapters: Centrifugo when configured, else stand-ins that
/// drop ephemeral events and refuse tokens.
struct Realtime {
    client: Option<CentrifugoClient>,
    ephemeral: Arc<dyn EphemeralPublisher>,
    tokens: Arc<dyn RealtimeTokens>,
}

fn realtime(args: &ServeArgs) -> anyhow::Result<Realtime> {
    let client = match (&args.centrifugo_api_url, &args.centrifugo_api_key) {
        (Some(api_url), Some(api_key)) => {
            tracing::info!(%api_url, "publishing to Centrifugo");
            Some(CentrifugoClient::new(CentrifugoConfig {
                api_url: api_url.clone(),
                api_key: api_key.clone(),
                timeout: Duration::from_secs(5),
            })?)
        }
        (None, None) => {
            tracing::info!("no CENTRIFUGO_API_URL: nothing is published to clients");
            None
        }
        _ => anyhow::bail!("set both CENTRIFUGO_API_URL and CENTRIFUGO_API_KEY, or neither"),
    };
    let ephemeral: Arc<dyn EphemeralPublisher> = match &client {
        Some(client) => Arc::new(CentrifugoEphemeral::new(
            client.clone(),
            Arc::new(JsonEventEncoder),
        )),
        None => Arc::new(DiscardEphemeral),
    };
    let tokens: Arc<dyn RealtimeTokens> = match &args.centrifugo_token_secret {
        Some(secret) if !secret.is_empty() => Arc::new(CentrifugoTokens::new(
            secret,
            Duration::from_secs(args.connection_token_ttl_secs),
            Duration::from_secs(args.subscription_token_ttl_secs),
        )),
        _ => Arc::new(NoRealtimeTokens),
    };
    Ok(Realtime {
        client,
        ephemeral,
        tokens,
    })
}

/// The link fetcher, with the configured limits.
fn link_fetcher(args: &ServeArgs) -> anyhow::Result<Arc<dyn LinkFetcher>> {
    let mut allow = Vec::new();
    for rule in args.unfurl_allow.iter().filter(|r| !r.trim().is_empty()) {
        allow.push(
            AllowRule::parse(rule.trim())
                .with_context(|| format!("UNFURL_ALLOW: {rule:?} is not an address"))?,
        );
    }
    Ok(Arc::new(HttpLinkFetcher::new(UnfurlConfig {
        timeout: Duration::from_millis(args.unfurl_timeout_ms.max(100)),
        max_bytes: args.unfurl_max_bytes.max(1024),
        max_redirects: args.unfurl_max_redirects,
        user_agent: format!("chat-server/{} (link preview)", env!("CARGO_PKG_VERSION")),
        allow,
    })))
}

/// The object store, and the in-memory one again when it is that (its
/// `/files` routes need it).
type Objects = (Arc<dyn ObjectStore>, Option<web::Data<LocalObjectStore>>);

/// R2 when configured, else attachment bytes in memory, served by this
/// server under `/files` with signed URLs.
fn object_store(args: &ServeArgs) -> anyhow::Result<Objects> {
    let r2 = [
        &args.r2_endpoint,
        &args.r2_bucket,
        &args.r2_access_key_id,
        &args.r2_secret_access_key,
    ];
    match r2 {
        [Some(endpoint), Some(bucket), Some(key), Some(secret)] => {
            let store = R2ObjectStore::new(R2Config {
                endpoint: endpoint.clone(),
                region: args.r2_region.clone(),
                bucket: bucket.clone(),
                access_key_id: key.clone(),
                secret_access_key: secret.clone(),
                public_base_url: args.r2_public_base_url.clone(),
            })?;
            tracing::info!(%endpoint, %bucket, "attachments on R2");
            Ok((Arc::new(store), None))
        }
        [None, None, None, None] => {
            tracing::info!(
                "no R2_ENDPOINT: attachments are kept in memory and served under /files"
            );
            let secret = uuid::Uuid::now_v7().to_string() + &uuid::Uuid::now_v7().to_string();
            let max = usize::try_from(args.max_file_bytes).unwrap_or(usize::MAX);
            let store = web::Data::new(LocalObjectStore::new(secret.as_bytes(), max));
            Ok((store.clone().into_inner(), Some(store)))
        }
        _ => anyhow::bail!(
            "set all of R2_ENDPOINT, R2_BUCKET, R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY, or none"
        ),
    }
}

/// Every store port from one store (PostgreSQL or memory), with the
/// realtime, link and object adapters.
fn ports_from<S>(
    store: Arc<S>,
    realtime: &Realtime,
    fetcher: Arc<dyn LinkFetcher>,
    objects: Arc<dyn ObjectStore>,
) -> Ports
where
    S: chat_domain::ports::UserRepository
        + chat_domain::ports::ConversationRepository
        + chat_domain::ports::MemberRepository
        + chat_domain::ports::ReadStateRepository
        + chat_domain::ports::MessageRepository
        + chat_domain::ports::ReactionRepository
        + chat_domain::ports::SearchRepository
        + chat_domain::ports::LinkPreviewRepository
        + chat_domain::ports::AttachmentRepository
        + chat_domain::ports::EventHistoryRepository
        + 'static,
{
    Ports {
        users: store.clone(),
        conversations: store.clone(),
        members: store.clone(),
        read_state: store.clone(),
        messages: store.clone(),
        reactions: store.clone(),
        search: store.clone(),
        previews: store.clone(),
        attachments: store.clone(),
        event_history: store,
        clock: Arc::new(SystemClock),
        event_ids: Arc::new(UuidEventIds),
        ephemeral: realtime.ephemeral.clone(),
        tokens: realtime.tokens.clone(),
        objects,
        fetcher,
    }
}

/// `GET /metrics`: Prometheus' text format, for the bearer of the metrics
/// token only.
async fn render_metrics(
    metrics: PrometheusHandle,
    token: Option<String>,
    request: HttpRequest,
) -> HttpResponse {
    let presented = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = match (token.as_deref(), presented) {
        (Some(expected), Some(presented)) => same_secret(expected, presented),
        _ => false,
    };
    if !allowed {
        return HttpResponse::Unauthorized()
            .insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"))
            .finish();
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

/// Compares two secrets in time that depends on their length only.
fn same_secret(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
