//! Delivering queued events to one endpoint: one task per endpoint, so a
//! slow or dead endpoint holds up only itself (and never the Centrifugo
//! relay, which drains its own table).

use std::sync::Arc;
use std::time::Duration;

use chat_domain::Timestamp;
use chat_domain::ports::{PendingDelivery, PushFacts, PushProgress, WebhookQueue};
use chat_domain::push::{PUSH_BATCH, PushPlan, PushRenderer};
use futures_util::future::join_all;
use reqwest::header::CONTENT_TYPE;
use reqwest::redirect::Policy;
use tokio::sync::Notify;

use crate::endpoints::Endpoint;
use crate::retry::RetryPolicy;

/// How deliveries behave, for every endpoint.
#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    /// One request, at most.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Conversations delivered at once per endpoint (each in order).
    pub concurrency: usize,
    /// How often an idle deliverer looks for work.
    pub poll: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            concurrency: 16,
            poll: Duration::from_millis(250),
        }
    }
}

/// Starts one deliverer per endpoint on the current runtime. `push` is
/// what push requests are expanded from, `render` writes their bodies. An idle deliverer looks for work
/// every `settings.poll`, or as soon as it is woken through the returned
/// handle (the server wakes them on the outbox's notifications: a commit
/// that queued deliveries).
pub fn spawn_deliverers(
    queue: Arc<dyn WebhookQueue>,
    push: Arc<dyn PushFacts>,
    render: Arc<dyn PushRenderer>,
    endpoints: Vec<Endpoint>,
    settings: DeliverySettings,
) -> DelivererWakeups {
    let mut wakeups = Vec::new();
    for endpoint in endpoints {
        let wake = Arc::new(Notify::new());
        wakeups.push(wake.clone());
        let deliverer = Deliverer {
            queue: queue.clone(),
            push: push.clone(),
            render: render.clone(),
            endpoint,
            settings,
            wake,
        };
        tokio::spawn(report_backlog(
            queue.clone(),
            deliverer.endpoint.name.clone(),
        ));
        tokio::spawn(deliverer.run());
    }
    DelivererWakeups(wakeups)
}

/// Wakes idle deliverers: something may have been queued.
#[derive(Clone, Default)]
pub struct DelivererWakeups(Vec<Arc<Notify>>);

impl DelivererWakeups {
    /// Every deliverer looks for work now (a busy one, when it is done).
    pub fn wake_all(&self) {
        for wake in &self.0 {
            wake.notify_one();
        }
    }
}

/// Keeps `chat_webhook_queued{endpoint}` and
/// `chat_webhook_dead_letters{endpoint}` in `/metrics` current (every 10 s):
/// what waits and what was lost survive a restart, unlike the counters.
async fn report_backlog(queue: Arc<dyn WebhookQueue>, endpoint: String) {
    loop {
        match queue.backlog(&endpoint).await {
            // Counts of rows: exact as f64 far beyond any real backlog.
            Ok(backlog) => {
                metrics::gauge!("chat_webhook_queued", "endpoint" => endpoint.clone())
                    .set(backlog.queued as f64);
                metrics::gauge!("chat_webhook_dead_letters", "endpoint" => endpoint.clone())
                    .set(backlog.dead_letters as f64);
            }
            Err(error) => tracing::debug!(%endpoint, %error, "webhook backlog unavailable"),
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}

struct Deliverer {
    queue: Arc<dyn WebhookQueue>,
    push: Arc<dyn PushFacts>,
    render: Arc<dyn PushRenderer>,
    endpoint: Endpoint,
    settings: DeliverySettings,
    wake: Arc<Notify>,
}

impl Deliverer {
    async fn run(self) {
        tracing::info!(endpoint = %self.endpoint.name, url = %self.endpoint.url, "delivering webhooks");
        loop {
            let due = self
                .queue
                .claim_due(
                    &self.endpoint.name,
                    now(),
                    self.lease_ms(),
                    self.settings.concurrency,
                )
                .await;
            match due {
                Ok(due) if due.is_empty() => {
                    tokio::select! {
                        () = tokio::time::sleep(self.settings.poll) => {}
                        () = self.wake.notified() => {}
                    }
                }
                Ok(due) => self.deliver_all(due).await,
                Err(error) => {
                    tracing::warn!(endpoint = %self.endpoint.name, %error, "webhook queue unavailable");
                    tokio::time::sleep(self.settings.poll * 4).await;
                }
            }
        }
    }

    /// How long a claim is held: a little longer than a request can take,
    /// so a replica that died mid-request leaves it to another soon after.
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.timeout.as_millis() * 3).unwrap_or(30_000)
    }

    /// Delivers the heads of several conversations at once.
    async fn deliver_all(&self, due: Vec<PendingDelivery>) {
        let client = match self.client().await {
            Ok(client) => client,
            Err(error) => {
                // Not a public address, or no address: every delivery of
                // this batch fails the same way.
                for delivery in &due {
                    self.failed(delivery, &error).await;
                }
                return;
            }
        };
        join_all(due.iter().map(|delivery| self.deliver(&client, delivery))).await;
    }

    /// A client pinned to the address just checked: no second DNS answer
    /// can point it elsewhere. Redirects are not followed.
    async fn client(&self) -> Result<reqwest::Client, String> {
        let address = self.endpoint.checked_address().await?;
        // Pinned to the checked address, never through a proxy from the
        // environment (which would resolve the name again).
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(Policy::none())
            .timeout(self.settings.timeout)
            .user_agent("chat-webhooks");
        if let Some(host) = self
            .endpoint
            .url
            .host_str()
            .filter(|h| h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('['))
        {
            builder = builder.resolve(host, address);
        }
        builder.build().map_err(|e| format!("HTTP client: {e}"))
    }

    async fn deliver(&self, client: &reqwest::Client, delivery: &PendingDelivery) {
        let outcome = match delivery.push {
            None => {
                let body = delivery.payload.clone().into_bytes();
                self.post(client, delivery.event_id.as_str(), body).await
            }
            Some(progress) => self.deliver_push(client, delivery, progress).await,
        };
        match outcome {
            Ok(()) => {
                if let Err(error) = self.queue.delivered(delivery.id).await {
                    // Delivered again later: at least once.
                    tracing::warn!(endpoint = %self.endpoint.name, %error, "could not record a delivery");
                }
            }
            Err(error) => self.failed(delivery, &error).await,
        }
    }

    /// Expands a push request into batches of recipients and delivers them
    /// in turn, recording each delivered batch: a failure leaves the request
    /// queued, to resume after the last batch delivered. A message deleted
    /// before its push went out is not pushed.
    async fn deliver_push(
        &self,
        client: &reqwest::Client,
        delivery: &PendingDelivery,
        mut progress: PushProgress,
    ) -> Result<(), String> {
        let unavailable = |e: chat_domain::ChatError| format!("push recipients: {e}");
        let Some(plan) = PushPlan::load(&*self.push, progress.message_id)
            .await
            .map_err(unavailable)?
        else {
            return Ok(());
        };
        let mut next = plan
            .next_batch(&*self.push, progress.after, now(), PUSH_BATCH)
            .await
            .map_err(unavailable)?;
        while let Some(batch) = next {
            let id = format!(
                "{}/push/{}",
                delivery.event_id.as_str(),
                progress.batches_sent
            );
            let body = self.render.push_requested(
                &id,
                &delivery.payload,
                plan.subject(),
                &batch.recipients,
            )?;
            // The following batch is read while this one is on the wire.
            let (posted, following) = tokio::join!(
                self.post(client, &id, body),
                plan.next_batch(&*self.push, Some(batch.resume_after), now(), PUSH_BATCH)
            );
            posted?;
            metrics::counter!("chat_push_recipients_total", "endpoint" => self.endpoint.name.clone())
                .increment(batch.recipients.len() as u64);
            progress.after = Some(batch.resume_after);
            progress.batches_sent += 1;
            let lease_until = Timestamp::from_unix_millis(now().unix_millis() + self.lease_ms())
                .unwrap_or_else(now);
            if let Err(error) = self
                .queue
                .push_progressed(delivery.id, progress, lease_until)
                .await
            {
                // Resumed from the last recorded batch: this one again, at
                // least once.
                return Err(format!("could not record push progress: {error}"));
            }
            next = following.map_err(unavailable)?;
        }
        Ok(())
    }

    /// Signs and posts one delivery.
    async fn post(&self, client: &reqwest::Client, id: &str, body: Vec<u8>) -> Result<(), String> {
        let timestamp = now().unix_millis() / 1_000;
        let signature = self.endpoint.key.sign(id, timestamp, &body);
        let sent = client
            .post(self.endpoint.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let outcome = match sent {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
            Err(e) if e.is_timeout() => Err("timed out".to_owned()),
            Err(e) => Err(format!("not delivered: {e}")),
        };
        if outcome.is_ok() {
            metrics::counter!("chat_webhook_deliveries_total", "endpoint" => self.endpoint.name.clone(), "outcome" => "delivered").increment(1);
        }
        outcome
    }

    /// Schedules the next attempt, or gives up past the retry window.
    async fn failed(&self, delivery: &PendingDelivery, error: &str) {
        let now = now();
        let age_ms = now.unix_millis() - delivery.created_at.unix_millis();
        let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or(0));
        let recorded = if self.settings.retry.gives_up(age) {
            tracing::warn!(endpoint = %self.endpoint.name, event = %delivery.event_id.as_str(), %error, attempts = delivery.attempts, "webhook given up: kept in the dead letters");
            metrics::counter!("chat_webhook_deliveries_total", "endpoint" => self.endpoint.name.clone(), "outcome" => "dead_letter").increment(1);
            self.queue.give_up(delivery.id, error).await
        } else {
            let wait = self.settings.retry.wait_after(delivery.attempts);
            let at = Timestamp::from_unix_millis(
                now.unix_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
            )
            .unwrap_or(now);
            tracing::info!(endpoint = %self.endpoint.name, event = %delivery.event_id.as_str(), %error, attempts = delivery.attempts, retry_in_ms = wait.as_millis(), "webhook failed; retrying later");
            metrics::counter!("chat_webhook_deliveries_total", "endpoint" => self.endpoint.name.clone(), "outcome" => "retry").increment(1);
            self.queue.retry_at(delivery.id, at, error).await
        };
        if let Err(error) = recorded {
            tracing::warn!(endpoint = %self.endpoint.name, %error, "could not record a failed delivery; the claim expires instead");
        }
    }
}
