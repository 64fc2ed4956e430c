//! The webhook queue on PostgreSQL (decision 0011): rows are written by the
//! statement that numbers conversation events (`outbox.rs`); the deliverers
//! claim, delete, reschedule or dead-letter them here.

use async_trait::async_trait;
use chat_domain::ports::{PendingDelivery, PushProgress, WebhookBacklog, WebhookQueue};
use chat_domain::{ChatError, ConversationId, EventId, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;

use crate::PgStore;
use crate::error::db_error;
use crate::prepared::Prepare;

#[derive(QueryableByName)]
struct DeliveryRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
    #[diesel(sql_type = Nullable<BigInt>)]
    message_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    push_after: Option<i64>,
    #[diesel(sql_type = Integer)]
    push_batches: i32,
}

impl DeliveryRow {
    fn into_domain(self) -> PendingDelivery {
        PendingDelivery {
            id: self.id,
            endpoint: self.endpoint,
            conversation_id: ConversationId::new(self.conversation_id),
            event_id: EventId::new(self.event_id),
            event_type: self.event_type,
            payload: self.payload,
            attempts: self.attempts,
            created_at: Timestamp::from_datetime(self.created_at),
            push: self.message_id.map(|message| PushProgress {
                message_id: MessageId::new(message),
                after: self.push_after.map(UserId::new),
                batches_sent: self.push_batches,
            }),
        }
    }
}

/// Claims the due heads: the first row of each of the endpoint's
/// conversations (a recursive skip scan of the heads index, one probe per
/// conversation with waiting rows, however long the backlog), those due,
/// oldest first. Claiming moves `next_attempt_at` to the end of the lease;
/// two deliverers racing for a head both lock it, and the second one's
/// re-check of `next_attempt_at <= $2` (READ COMMITTED re-evaluates the row
/// it waited for) finds it taken.
const CLAIM_DUE: &str = "\
WITH RECURSIVE heads AS ( \
    (SELECT q.conversation_id, q.id, q.next_attempt_at FROM chat_webhook_queue q \
     WHERE q.endpoint = $1 ORDER BY q.conversation_id, q.id LIMIT 1) \
    UNION ALL \
    SELECT n.conversation_id, n.id, n.next_attempt_at FROM heads h \
    CROSS JOIN LATERAL ( \
        SELECT q.conversation_id, q.id, q.next_attempt_at FROM chat_webhook_queue q \
        WHERE q.endpoint = $1 AND q.conversation_id > h.conversation_id \
        ORDER BY q.conversation_id, q.id LIMIT 1) n \
), due AS ( \
    SELECT id FROM heads WHERE next_attempt_at <= $2 ORDER BY id LIMIT $4 \
) \
UPDATE chat_webhook_queue q \
SET next_attempt_at = $3, attempts = q.attempts + 1 \
FROM due WHERE q.id = due.id AND q.next_attempt_at <= $2 \
RETURNING q.id, q.endpoint, q.conversation_id, q.event_id, q.event_type, \
          q.payload::text AS payload, q.attempts, q.created_at, q.message_id, q.push_after, \
          q.push_batches";

#[derive(QueryableByName)]
struct BacklogRow {
    #[diesel(sql_type = BigInt)]
    queued: i64,
    #[diesel(sql_type = BigInt)]
    dead_letters: i64,
}

#[async_trait]
impl WebhookQueue for PgStore {
    async fn claim_due(
        &self,
        endpoint: &str,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<PendingDelivery>, ChatError> {
        let mut conn = self.conn().await?;
        let lease_until = Timestamp::from_unix_millis(now.unix_millis() + lease_ms).unwrap_or(now);
        let mut rows: Vec<DeliveryRow> = diesel::sql_query(CLAIM_DUE)
            .bind::<Text, _>(endpoint)
            .bind::<Timestamptz, _>(now.datetime())
            .bind::<Timestamptz, _>(lease_until.datetime())
            .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
        rows.sort_by_key(|r| r.id);
        Ok(rows.into_iter().map(DeliveryRow::into_domain).collect())
    }

    async fn delivered(&self, id: i64) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("DELETE FROM chat_webhook_queue WHERE id = $1")
            .bind::<BigInt, _>(id)
            .prepared()
            .execute(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn push_progressed(
        &self,
        id: i64,
        progress: PushProgress,
        lease_until: Timestamp,
    ) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(
            "UPDATE chat_webhook_queue SET push_after = $2, push_batches = $3, \
               next_attempt_at = $4 WHERE id = $1",
        )
        .bind::<BigInt, _>(id)
        .bind::<Nullable<BigInt>, _>(progress.after.map(UserId::get))
        .bind::<Integer, _>(progress.batches_sent)
        .bind::<Timestamptz, _>(lease_until.datetime())
        .prepared()
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn retry_at(&self, id: i64, at: Timestamp, error: &str) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(
            "UPDATE chat_webhook_queue SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
        )
        .bind::<BigInt, _>(id)
        .bind::<Timestamptz, _>(at.datetime())
        .bind::<Text, _>(error)
        .prepared()
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn backlog(&self, endpoint: &str) -> Result<WebhookBacklog, ChatError> {
        let mut conn = self.conn().await?;
        // Both counts walk an index on the endpoint (the queue's heads
        // index; the dead letters are few, and scanned).
        let row: BacklogRow = diesel::sql_query(
            "SELECT (SELECT count(*) FROM chat_webhook_queue WHERE endpoint = $1) AS queued, \
                    (SELECT count(*) FROM chat_webhook_dead_letters WHERE endpoint = $1) \
                      AS dead_letters",
        )
        .bind::<Text, _>(endpoint)
        .prepared()
        .get_result(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(WebhookBacklog {
            queued: row.queued,
            dead_letters: row.dead_letters,
        })
    }

    async fn give_up(&self, id: i64, error: &str) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query(
            "WITH gone AS (DELETE FROM chat_webhook_queue WHERE id = $1 RETURNING *) \
             INSERT INTO chat_webhook_dead_letters (id, endpoint, conversation_id, event_id, \
               event_type, payload, attempts, last_error, created_at, message_id, push_after, \
               push_batches) \
             SELECT id, endpoint, conversation_id, event_id, event_type, payload, attempts, $2, \
               created_at, message_id, push_after, push_batches FROM gone",
        )
        .bind::<BigInt, _>(id)
        .bind::<Text, _>(error)
        .prepared()
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
