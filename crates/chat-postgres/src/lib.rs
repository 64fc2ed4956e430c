//! PostgreSQL adapters for the chat domain's repository ports, on diesel and
//! diesel-async with a deadpool pool.
//!
//! This is the only crate that knows SQL. Every port method is one
//! transaction; the realtime events a change causes are written to
//! `chat_outbox` inside it (see `outbox.rs`).

mod attachments;
mod conversations;
mod error;
mod events;
mod locks;
mod members;
mod messages;
mod migrate;
mod outbox;
mod pages;
mod pipeline;
mod pools;
mod prepared;
mod previews;
mod push;
mod reactions;
mod read_state;
mod relay;
mod rows;
mod search;
mod send;
pub use search::Plan as SearchPlan;
#[cfg(feature = "testing")]
pub mod testing;
mod users;
mod views;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::events::EventEncoder;
use chat_domain::ports::HealthCheck;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

pub use migrate::run_migrations;
pub use relay::{BACKLOG_DEPTH_CAP, PgOutboxRelay, listen_for_outbox};

use error::db_error;
use outbox::OutboxWriter;
pub use outbox::WebhookRoutes;
use pools::ThreadPools;

use crate::prepared::Prepare;

/// How to reach the database and shape the outbox.
#[derive(Debug, Clone)]
pub struct PgConfig {
    pub database_url: String,
    pub max_connections: usize,
    /// How long a request waits for a pooled connection before `unavailable`.
    pub acquire_timeout: Duration,
    /// Outbox partitions; must match Centrifugo's consumer when it drains the
    /// table. A conversation's events always go to the same partition.
    pub outbox_partitions: i32,
    /// PostgreSQL cancels any one statement that runs longer.
    pub statement_timeout: Duration,
    /// How many threads share `max_connections` (the HTTP workers): each
    /// thread has its own pool of its share (see `pools.rs`). With 1, one
    /// pool serves every thread (work on a multi-threaded runtime, whose
    /// tasks move between threads anyway).
    pub threads: usize,
}

/// Connections are set up for short OLTP statements, and handed out without
/// a check: a `SELECT 1` on every checkout was a round trip per request. A
/// connection that broke is noticed by the statement that uses it (the
/// request answers 503 and the pool drops the connection).
fn connection_manager(config: &PgConfig) -> AsyncDieselConnectionManager<AsyncPgConnection> {
    let session = format!(
        // JIT compiles plans whose estimated cost is high: on a skewed table
        // that can add seconds to a query that runs in milliseconds.
        "SET jit = off; SET statement_timeout = {}",
        config.statement_timeout.as_millis().max(1)
    );
    let mut manager = ManagerConfig::default();
    manager.recycling_method = RecyclingMethod::Fast;
    manager.custom_setup = Box::new(move |url| {
        let session = session.clone();
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&session)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    AsyncDieselConnectionManager::new_with_config(&config.database_url, manager)
}

/// Every repository port, on PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pools: Arc<ThreadPools>,
    outbox: OutboxWriter,
    /// How common search words are, for choosing a search plan.
    word_statistics: Arc<search::WordStatisticsCache>,
    /// Sync reads the change log when it can (false: always walks the
    /// memberships; tests run the sync cases both ways).
    sync_from_log: bool,
}

impl PgStore {
    /// A store over new pools, one per thread that uses it. Connections
    /// open lazily.
    ///
    /// # Errors
    /// None today; kept for configurations that can be refused.
    pub fn connect(config: &PgConfig, encoder: Arc<dyn EventEncoder>) -> anyhow::Result<Self> {
        Ok(Self {
            word_statistics: Arc::default(),
            sync_from_log: true,
            pools: Arc::new(ThreadPools::new(config.clone())),
            outbox: OutboxWriter {
                encoder,
                partitions: config.outbox_partitions.max(1),
                webhooks: Arc::new(WebhookRoutes::default()),
            },
        })
    }

    /// Connections the pools hold, how many of those are idle, and their
    /// maximum: for the pool gauges.
    pub fn pool_status(&self) -> (usize, usize, usize) {
        self.pools.status()
    }

    /// Queues every numbered conversation event for these webhook
    /// endpoints (each with its type filter), in the change's statement.
    #[must_use]
    pub fn with_webhooks(mut self, routes: WebhookRoutes) -> Self {
        self.outbox.webhooks = Arc::new(routes);
        self
    }

    /// The same store, searching always with `plan`: tests run the search
    /// cases through each plan, which real data chooses by word frequency.
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn with_search_plan(mut self, plan: search::Plan) -> Self {
        self.word_statistics = Arc::new(search::WordStatisticsCache::always(plan));
        self
    }

    /// The same store, answering sync always by walking the memberships
    /// (the log's fallback), for the tests.
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn with_sync_walk(mut self) -> Self {
        self.sync_from_log = false;
        self
    }

    async fn conn(&self) -> Result<Object<AsyncPgConnection>, ChatError> {
        self.pools.get().await
    }
}

#[async_trait]
impl HealthCheck for PgStore {
    async fn ping(&self) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1")
            .prepared()
            .execute(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
