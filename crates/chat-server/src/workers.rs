//! Background work on the main runtime: the attachment janitor, link
//! preview workers, the pool gauges and the outbox relay.

use std::sync::Arc;
use std::time::Duration;

use chat_centrifugo::{CentrifugoClient, CentrifugoSink, RelayConfig, spawn_relay};
use chat_domain::service::ChatService;
use chat_postgres::{PgOutboxRelay, PgStore, listen_for_outbox};

use crate::config::ServeArgs;

/// Deletes uploads never finalized, every minute.
pub(crate) fn start_attachment_janitor(
    runtime: &tokio::runtime::Runtime,
    chat: &ChatService,
    max_age_secs: i64,
) {
    let _inside = runtime.enter();
    let chat = chat.clone();
    tokio::spawn(async move {
        loop {
            match chat
                .sweep_pending_uploads(max_age_secs.saturating_mul(1000), 100)
                .await
            {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "deleted uploads never finalized"),
                Err(error) => tracing::warn!(%error, "attachment janitor failed"),
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
}

/// Prunes kept events past the retention period: batches of 1,000, each a
/// short statement of its own, with a pause between them so pruning a large
/// backlog never crowds out requests; then again every five minutes, or ten
/// times per retention period when that is shorter.
pub(crate) fn start_event_pruner(runtime: &tokio::runtime::Runtime, chat: &ChatService) {
    const BATCH: usize = 1_000;
    let _inside = runtime.enter();
    let chat = chat.clone();
    let retention_ms = u64::try_from(chat.limits().event_retention_ms).unwrap_or(u64::MAX);
    let every = Duration::from_millis((retention_ms / 10).clamp(100, 300_000));
    tokio::spawn(async move {
        loop {
            let mut pruned = 0;
            loop {
                match chat.prune_event_history(BATCH).await {
                    Ok(n) => {
                        pruned += n;
                        if n < BATCH {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "event pruning failed");
                        break;
                    }
                }
            }
            if pruned > 0 {
                tracing::info!(pruned, "pruned events past the retention period");
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Unfurl workers: each takes one queued message at a time, so a slow page
/// holds up one worker, not the queue.
pub(crate) fn start_unfurl_workers(
    runtime: &tokio::runtime::Runtime,
    chat: &ChatService,
    workers: usize,
) {
    let _inside = runtime.enter();
    for _ in 0..workers.max(1) {
        let chat = chat.clone();
        tokio::spawn(async move {
            loop {
                match chat.unfurl_queued(1).await {
                    Ok(0) => tokio::time::sleep(Duration::from_millis(200)).await,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "unfurl failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

/// Keeps the connection-pool gauges current.
pub(crate) fn spawn_pool_gauges(runtime: &tokio::runtime::Runtime, store: &PgStore) {
    let _inside = runtime.enter();
    let store = store.clone();
    tokio::spawn(async move {
        loop {
            let (size, idle, max) = store.pool_status();
            // Pool sizes are small integers: exact as f64.
            metrics::gauge!("db_pool_connections", "state" => "in_use")
                .set(size.saturating_sub(idle) as f64);
            metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
            metrics::gauge!("db_pool_max_connections").set(max as f64);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// Starts the outbox relay and its LISTEN connection on the runtime.
pub(crate) fn start_relay(
    runtime: &tokio::runtime::Runtime,
    args: &ServeArgs,
    store: &PgStore,
    client: CentrifugoClient,
    url: &str,
) {
    let _inside = runtime.enter();
    let config = RelayConfig {
        partitions: args.outbox_partitions,
        batch: args.outbox_batch.max(1),
        poll_interval: Duration::from_millis(args.outbox_poll_ms.max(10)),
        max_backoff: Duration::from_secs(5),
    };
    let relay_store = Arc::new(PgOutboxRelay::new(
        store.clone(),
        args.outbox_consumer_name.clone(),
    ));
    let wakeups = spawn_relay(relay_store, Arc::new(CentrifugoSink::new(client)), config);
    let url = url.to_owned();
    tokio::spawn(listen_for_outbox(url, move |partition| {
        wakeups.wake(partition)
    }));
    tracing::info!(partitions = args.outbox_partitions, "outbox relay running");
}
