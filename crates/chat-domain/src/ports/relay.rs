//! The outbox relay's ports. The service never calls these: the relay loop
//! (`chat-centrifugo`) drains the store (`chat-postgres`) into a sink.

use async_trait::async_trait;

use crate::ChatError;

/// One outbox row: a Centrifugo server-API call, already encoded. Only the
/// relay reads them; the domain never looks inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRow {
    pub id: i64,
    /// `publish` or `broadcast`.
    pub method: String,
    /// The call's params as JSON, with an `idempotency_key`.
    pub payload: String,
}

/// What delivering one row came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered: delete the row.
    Delivered,
    /// Refused for good (Centrifugo's error `code`, any but an internal
    /// one): move the row to the dead letters, it will never pass.
    Rejected { code: i64, message: String },
    /// Not delivered, but it may pass later: keep this row and every row
    /// after it in the partition, and try again.
    Retry,
}

/// Delivers outbox rows, in order.
#[async_trait]
pub trait OutboxSink: Send + Sync {
    /// Delivers `rows` in order (one call for the whole batch); one outcome
    /// per row, in the same order.
    async fn deliver(&self, rows: &[RelayRow]) -> Vec<Delivery>;
}

/// How the outbox stands, for the gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Rows waiting; a store may stop counting at a cap (PostgreSQL: 10,000).
    pub depth: i64,
    /// Age of the oldest waiting row, in milliseconds.
    pub oldest_ms: i64,
    /// Rows Centrifugo refused for good, kept for an operator.
    pub dead_letters: i64,
}

/// What one drain of a partition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Another worker (any replica, or Centrifugo's own consumer) holds the
    /// partition.
    Busy,
    /// `delivered` rows went out (and `rejected` were dropped); `more` when
    /// the batch was full, so more rows may wait.
    Done {
        delivered: usize,
        rejected: usize,
        more: bool,
    },
    /// Delivery failed after `delivered` rows; the rest stay for a retry.
    Stalled { delivered: usize },
}

/// The outbox, as the relay drains it.
#[async_trait]
pub trait OutboxRelayStore: Send + Sync {
    /// Under the partition's lock, hands up to `limit` rows to `sink` in id
    /// order and deletes those it delivered or rejected, in one transaction:
    /// a relay that dies mid-batch loses nothing.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn drain(
        &self,
        partition: i32,
        limit: usize,
        sink: &dyn OutboxSink,
    ) -> Result<Drained, ChatError>;

    /// How many rows wait, how old the oldest is, and how many were refused.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn backlog(&self) -> Result<Backlog, ChatError>;
}
