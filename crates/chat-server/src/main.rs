//! The chat service binary: reads the command line and runs the command
//! (`serve`, the default, in `app.rs`; `migrate`; `dev-token`).

mod app;
mod config;
mod system;
mod webhooks;
mod workers;

use anyhow::Context;
use clap::Parser;
use jsonwebtoken::{EncodingKey, Header};

use config::{Cli, Command, DevTokenArgs};

/// A request allocates many small, short-lived buffers (rows, JSON): see
/// docs/ARCHITECTURE.md for what this allocator bought.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Some(Command::DevToken(args)) => dev_token(&args),
        Some(Command::Migrate(args)) => {
            init_logging("pretty");
            runtime.block_on(async {
                let applied = chat_postgres::run_migrations(&args.database_url).await?;
                tracing::info!(applied = ?applied, "migrations applied");
                Ok(())
            })
        }
        Some(Command::ReindexSearch(args)) => {
            init_logging("pretty");
            runtime.block_on(async {
                let config = chat_postgres::PgConfig {
                    database_url: args.database_url.clone(),
                    max_connections: 1,
                    acquire_timeout: std::time::Duration::from_secs(30),
                    outbox_partitions: 1,
                    statement_timeout: std::time::Duration::from_secs(60),
                    threads: 1,
                };
                let store = chat_postgres::PgStore::connect(
                    &config,
                    std::sync::Arc::new(chat_http::wire::JsonEventEncoder),
                )?;
                let done = store
                    .reindex_search(args.batch.max(1))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                tracing::info!(messages = done, "search words rewritten");
                Ok(())
            })
        }
        Some(Command::Serve(args)) => app::serve(&runtime, *args),
        None => app::serve(&runtime, cli.serve),
    }
}

pub(crate) fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[derive(serde::Serialize)]
struct DevClaims<'a> {
    sub: &'a str,
    org: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    exp: i64,
}

#[expect(clippy::print_stdout, reason = "the token is this command's output")]
fn dev_token(args: &DevTokenArgs) -> anyhow::Result<()> {
    let secret = args
        .auth_hs256_secret
        .as_deref()
        .unwrap_or(config::DEV_SECRET);
    let claims = DevClaims {
        sub: &args.sub,
        org: &args.org,
        name: args.name.as_deref(),
        exp: time::OffsetDateTime::now_utc().unix_timestamp() + args.ttl_secs,
    };
    let token = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?;
    println!("{token}");
    Ok(())
}
