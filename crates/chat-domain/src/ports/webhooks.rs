//! The webhook queue: events waiting for the operator's endpoints. Written
//! by the stores with every numbered conversation event (see `outbox.rs`),
//! read by the webhook deliverer (`chat-webhooks`), which the service never
//! calls.

use async_trait::async_trait;

use crate::{ChatError, ConversationId, EventId, MessageId, Timestamp, UserId};

/// One event waiting for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    pub id: i64,
    pub endpoint: String,
    pub conversation_id: ConversationId,
    pub event_id: EventId,
    pub event_type: String,
    /// The envelope, as published (`eventSeq` included).
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// When the change committed: retries stop some time after it.
    pub created_at: Timestamp,
    /// For a `push.requested` delivery: the message and how far its
    /// recipients have been delivered.
    pub push: Option<PushProgress>,
}

/// How far a push request has been delivered: its recipients go out in
/// batches (`chat_domain::push::PushPlan`), each recorded once delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushProgress {
    pub message_id: MessageId,
    /// The last member examined by the delivered batches.
    pub after: Option<UserId>,
    /// Batches delivered: the next one's number.
    pub batches_sent: i32,
}

/// What waits for an endpoint, for the gauges in `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// Deliveries queued (due or waiting for a retry).
    pub queued: i64,
    /// Deliveries given up for good, kept in the dead letters.
    pub dead_letters: i64,
}

/// Events waiting for the operator's endpoints, in order per conversation.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Claims, for `lease_ms`, the oldest waiting event of each
    /// conversation for `endpoint` that is due at `now`, oldest first, at
    /// most `limit`. A conversation's next event is never claimed while an
    /// earlier one waits: that keeps `eventSeq` order per conversation. A
    /// claim that is neither delivered nor rescheduled (a crashed replica)
    /// is claimable again when its lease ends.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn claim_due(
        &self,
        endpoint: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<PendingDelivery>, ChatError>;

    /// The endpoint took it: it leaves the queue.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn delivered(&self, id: i64) -> Result<(), ChatError>;

    /// A batch of a push request was delivered: `progress` is recorded and
    /// the claim extended until `lease_until`, so the next batch is
    /// delivered by the same claim.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn push_progressed(
        &self,
        id: i64,
        progress: PushProgress,
        lease_until: Timestamp,
    ) -> Result<(), ChatError>;

    /// It failed; try again at `at`.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn retry_at(&self, id: i64, at: Timestamp, error: &str) -> Result<(), ChatError>;

    /// How much waits for `endpoint`, and how much it lost.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn backlog(&self, endpoint: &str) -> Result<WebhookBacklog, ChatError>;

    /// It failed for good: kept in the dead letters, and the conversation's
    /// next event goes on.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn give_up(&self, id: i64, error: &str) -> Result<(), ChatError>;
}
