//! The outbox relay: drains `chat_outbox` into Centrifugo's server API with
//! the semantics of Centrifugo's own PostgreSQL consumer.
//!
//! One worker per partition; a worker drains its partition while rows
//! remain, then sleeps until the database notifies a change in it (or the
//! poll interval passes). Any number of replicas can run relays: the store's
//! partition lock lets one of them drain a partition at a time. Failures back
//! off exponentially and keep the rows, so nothing is lost and order within a
//! partition holds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chat_domain::ports::{Delivery, Drained, OutboxRelayStore, OutboxSink, RelayRow};
use tokio::sync::Notify;

use crate::client::{CentrifugoClient, PublishError};

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Must match the partitions the stores write (`OUTBOX_PARTITIONS`).
    pub partitions: i32,
    /// Rows per drain transaction.
    pub batch: usize,
    /// Longest sleep without a notification (the fallback when one is missed).
    pub poll_interval: Duration,
    /// Longest back-off after failures.
    pub max_backoff: Duration,
}

/// Delivers outbox rows to Centrifugo, recording metrics.
pub struct CentrifugoSink {
    client: CentrifugoClient,
}

impl CentrifugoSink {
    /// A sink calling Centrifugo through `client`.
    pub fn new(client: CentrifugoClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl OutboxSink for CentrifugoSink {
    /// One `/api/batch` call for the whole drained batch.
    async fn deliver(&self, rows: &[RelayRow]) -> Vec<Delivery> {
        let started = Instant::now();
        let commands: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.method.as_str(), r.payload.as_str()))
            .collect();
        let outcomes = match self.client.batch(&commands).await {
            Ok(outcomes) => outcomes,
            Err(error) if error.is_retryable() => rows.iter().map(|_| Err(error.clone())).collect(),
            // The batch as a whole was refused: find out, call by call,
            // which rows Centrifugo refuses, so good rows are not refused
            // with them.
            Err(_) => {
                let mut outcomes = Vec::with_capacity(rows.len());
                for row in rows {
                    outcomes.push(self.client.call(&row.method, row.payload.clone()).await);
                }
                outcomes
            }
        };
        metrics::histogram!("chat_outbox_publish_seconds").record(started.elapsed().as_secs_f64());
        rows.iter()
            .zip(outcomes)
            .map(|(row, outcome)| delivery(row, outcome))
            .collect()
    }
}

/// Retry only what Centrifugo's own consumer retries (internal errors, and
/// no answer at all); anything else it refused goes to the dead letters.
fn delivery(row: &RelayRow, outcome: Result<(), PublishError>) -> Delivery {
    match outcome {
        Ok(()) => {
            metrics::counter!("chat_outbox_published_total").increment(1);
            Delivery::Delivered
        }
        Err(error) if error.is_retryable() => {
            metrics::counter!("chat_outbox_publish_failures_total", "kind" => "retry").increment(1);
            tracing::warn!(row = row.id, %error, "publish failed; will retry");
            Delivery::Retry
        }
        Err(error) => {
            metrics::counter!("chat_outbox_publish_failures_total", "kind" => "rejected")
                .increment(1);
            tracing::error!(row = row.id, %error, "publish rejected; moved to the dead letters");
            Delivery::Rejected {
                code: i64::from(error.code().unwrap_or(0)),
                message: error.to_string(),
            }
        }
    }
}

/// Wakes partition workers when their partition changes.
#[derive(Clone)]
pub struct RelayWakeups {
    partitions: Arc<Vec<Notify>>,
}

impl RelayWakeups {
    /// Wakes the worker of `partition`; any other number wakes them all.
    pub fn wake(&self, partition: i32) {
        match usize::try_from(partition)
            .ok()
            .and_then(|p| self.partitions.get(p))
        {
            Some(notify) => notify.notify_one(),
            None => self.partitions.iter().for_each(Notify::notify_one),
        }
    }
}

/// Starts one worker per partition on the current tokio runtime; they run
/// until the runtime shuts down.
pub fn spawn_relay(
    store: Arc<dyn OutboxRelayStore>,
    sink: Arc<dyn OutboxSink>,
    config: RelayConfig,
) -> RelayWakeups {
    let count = usize::try_from(config.partitions.max(1)).unwrap_or(1);
    let wakeups = RelayWakeups {
        partitions: Arc::new((0..count).map(|_| Notify::new()).collect()),
    };
    for partition in 0..config.partitions.max(1) {
        let worker = Worker {
            partition,
            store: store.clone(),
            sink: sink.clone(),
            wakeups: wakeups.clone(),
            config: config.clone(),
        };
        tokio::spawn(worker.run());
    }
    spawn_backlog_gauge(store, config.poll_interval);
    wakeups
}

struct Worker {
    partition: i32,
    store: Arc<dyn OutboxRelayStore>,
    sink: Arc<dyn OutboxSink>,
    wakeups: RelayWakeups,
    config: RelayConfig,
}

impl Worker {
    async fn run(self) {
        let first_backoff = Duration::from_millis(50);
        let mut backoff = first_backoff;
        let notify = usize::try_from(self.partition)
            .ok()
            .and_then(|p| self.wakeups.partitions.get(p));
        loop {
            // Register interest before draining, so a notification that
            // arrives mid-drain is not lost.
            let woken = notify.map(Notify::notified);
            let outcome = self
                .store
                .drain(self.partition, self.config.batch, self.sink.as_ref())
                .await;
            match outcome {
                Ok(Drained::Done { more: true, .. }) => {
                    backoff = first_backoff;
                    continue;
                }
                Ok(Drained::Done { .. } | Drained::Busy) => {
                    backoff = first_backoff;
                    if let Some(woken) = woken {
                        let _ = tokio::time::timeout(self.config.poll_interval, woken).await;
                    } else {
                        tokio::time::sleep(self.config.poll_interval).await;
                    }
                }
                Ok(Drained::Stalled { .. }) | Err(_) => {
                    if let Err(error) = outcome {
                        tracing::warn!(partition = self.partition, %error, "outbox drain failed");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }
}

/// Keeps the backlog gauges current.
fn spawn_backlog_gauge(store: Arc<dyn OutboxRelayStore>, every: Duration) {
    tokio::spawn(async move {
        loop {
            if let Ok(backlog) = store.backlog().await {
                // Gauges are f64; outbox sizes are far below 2^53.
                metrics::gauge!("chat_outbox_depth").set(backlog.depth as f64);
                metrics::gauge!("chat_outbox_oldest_age_seconds")
                    .set(backlog.oldest_ms as f64 / 1000.0);
                metrics::gauge!("chat_outbox_dead_letters").set(backlog.dead_letters as f64);
            }
            tokio::time::sleep(every).await;
        }
    });
}
