//! Draining `chat_outbox` for the relay, with the semantics of Centrifugo's
//! own PostgreSQL consumer: per partition, under
//! `pg_advisory_xact_lock(hashtext('centrifugo_partition_lock_<name><partition>'))`
//! (so our relays and Centrifugo's consumer never drain one partition at
//! once), rows in id order, deleted once delivered, in one transaction.

use std::time::Duration;

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::ports::{Backlog, Delivery, Drained, OutboxRelayStore, OutboxSink, RelayRow};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join;
use futures_util::{StreamExt, TryFutureExt};

use crate::PgStore;
use crate::error::{StoreError, StoreResult, db_error};
use crate::pipeline::pipelined;
use crate::prepared::Prepare;

/// The most rows the depth gauge counts: beyond it, reading the gauge would
/// cost a scan of the whole backlog every poll interval.
pub const BACKLOG_DEPTH_CAP: i64 = 10_000;

/// The channel the outbox trigger notifies, as Centrifugo's consumer expects.
const CHANNEL: &str = "centrifugo_partition_change";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Text)]
    payload: String,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct BacklogRow {
    #[diesel(sql_type = BigInt)]
    depth: i64,
    #[diesel(sql_type = BigInt)]
    oldest_ms: i64,
    #[diesel(sql_type = BigInt)]
    dead_letters: i64,
}

/// Rows Centrifugo refused, with why, as arrays for one INSERT.
#[derive(Default)]
struct DeadLetters {
    ids: Vec<i64>,
    codes: Vec<i64>,
    messages: Vec<String>,
}

/// The outbox as one relay (or Centrifugo consumer) named `name` drains it.
#[derive(Clone)]
pub struct PgOutboxRelay {
    store: PgStore,
    name: String,
}

impl PgOutboxRelay {
    /// A relay store over `store`'s pool; `name` is the consumer name in the
    /// lock key (Centrifugo's consumer `name`, to exclude each other).
    pub fn new(store: PgStore, name: impl Into<String>) -> Self {
        Self {
            store,
            name: name.into(),
        }
    }
}

#[async_trait]
impl OutboxRelayStore for PgOutboxRelay {
    async fn drain(
        &self,
        partition: i32,
        limit: usize,
        sink: &dyn OutboxSink,
    ) -> Result<Drained, ChatError> {
        let mut conn = self.store.conn().await?;
        let key = format!("centrifugo_partition_lock_{}{partition}", self.name);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Two round trips: BEGIN, the lock and the read together; then the
        // deletions with COMMIT. The read runs after the lock (PostgreSQL
        // executes a pipeline in order, each statement with a fresh
        // snapshot); when the lock is held elsewhere its rows are dropped
        // unread.
        pipelined(&mut conn, async |tx| -> StoreResult<Drained> {
            let lock = diesel::sql_query("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked")
                .bind::<Text, _>(&key)
                .prepared()
                .get_result::<Locked>(&mut tx.conn())
                .map_err(StoreError::from);
            let rows = diesel::sql_query(
                "SELECT id, method, payload::text AS payload FROM chat_outbox \
                 WHERE partition = $1 ORDER BY id LIMIT $2",
            )
            .bind::<Integer, _>(partition)
            .bind::<BigInt, _>(limit)
            .prepared()
            .load::<Row>(&mut tx.conn())
            .map_err(StoreError::from);
            let (locked, rows) = tx.begin_with(try_join(lock, rows)).await?;
            if !locked.locked {
                tx.commit_with(async { Ok(()) }).await?;
                return Ok(Drained::Busy);
            }
            if rows.is_empty() {
                tx.commit_with(async { Ok(()) }).await?;
                return Ok(Drained::Done { delivered: 0, rejected: 0, more: false });
            }
            let full = i64::try_from(rows.len()).unwrap_or(0) == limit;
            let rows: Vec<RelayRow> = rows
                .into_iter()
                .map(|row| RelayRow {
                    id: row.id,
                    method: row.method,
                    payload: row.payload,
                })
                .collect();
            // Rows up to the first one to retry are settled; that one and
            // every later row stay, so the partition's order holds. A row
            // the sink gave no outcome for counts as one to retry.
            let mut outcomes = sink.deliver(&rows).await.into_iter();
            let (mut done, mut dead, mut stalled) = (Vec::new(), DeadLetters::default(), false);
            let mut delivered = 0;
            for row in &rows {
                match outcomes.next().unwrap_or(Delivery::Retry) {
                    Delivery::Delivered => delivered += 1,
                    Delivery::Rejected { code, message } => {
                        dead.ids.push(row.id);
                        dead.codes.push(code);
                        dead.messages.push(message);
                    }
                    Delivery::Retry => {
                        stalled = true;
                        break;
                    }
                }
                done.push(row.id);
            }
            let rejected = dead.ids.len();
            let keep_dead = async {
                if rejected == 0 {
                    return Ok(());
                }
                diesel::sql_query(
                    "INSERT INTO chat_outbox_dead_letters \
                       (id, method, payload, partition, created_at, error_code, error_message) \
                     SELECT o.id, o.method, o.payload, o.partition, o.created_at, d.code, d.message \
                     FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS d(id, code, message) \
                     JOIN chat_outbox o ON o.id = d.id",
                )
                .bind::<Array<BigInt>, _>(&dead.ids)
                .bind::<Array<BigInt>, _>(&dead.codes)
                .bind::<Array<Text>, _>(&dead.messages)
                .prepared()
                .execute(&mut tx.conn())
                .await
                .map(drop)
                .map_err(StoreError::from)
            };
            let delete = diesel::sql_query("DELETE FROM chat_outbox WHERE id = ANY($1)")
                .bind::<Array<BigInt>, _>(&done)
                .prepared()
                .execute(&mut tx.conn())
                .map_err(StoreError::from);
            tx.commit_with(try_join(keep_dead, delete)).await?;
            Ok(if stalled {
                Drained::Stalled { delivered }
            } else {
                Drained::Done {
                    delivered,
                    rejected,
                    more: full,
                }
            })
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn backlog(&self) -> Result<Backlog, ChatError> {
        let mut conn = self.store.conn().await?;
        // Bounded whatever the backlog: the gauges are read every poll
        // interval, and a Centrifugo outage is when the outbox is longest.
        // The depth counts up to the cap; the oldest row is the first by
        // id (the primary key), within a transaction's length of the
        // oldest `created_at`.
        let backlog: BacklogRow = diesel::sql_query(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM chat_outbox LIMIT $1) waiting) AS depth, \
               COALESCE((SELECT (extract(epoch FROM now() - created_at) * 1000)::bigint \
                         FROM chat_outbox ORDER BY id LIMIT 1), 0) AS oldest_ms, \
               (SELECT count(*) FROM chat_outbox_dead_letters) AS dead_letters",
        )
        .bind::<BigInt, _>(BACKLOG_DEPTH_CAP)
        .prepared()
        .get_result(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(Backlog {
            depth: backlog.depth,
            oldest_ms: backlog.oldest_ms,
            dead_letters: backlog.dead_letters,
        })
    }
}

/// Listens for outbox inserts and calls `wake` with each partition that
/// changed, reconnecting after failures, until the task is dropped.
pub async fn listen_for_outbox(database_url: String, wake: impl Fn(i32) + Send + Sync) {
    loop {
        match listen_once(&database_url, &wake).await {
            Ok(()) => tracing::warn!("outbox notifications ended; reconnecting"),
            Err(error) => {
                tracing::warn!(error = ?error, "outbox notifications failed; reconnecting")
            }
        }
        // Wake everyone once: rows may have arrived while we were away.
        wake(-1);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(database_url: &str, wake: &(impl Fn(i32) + Send + Sync)) -> StoreResult<()> {
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .map_err(|e| StoreError::Chat(ChatError::Unavailable(anyhow::Error::new(e))))?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification?;
        match notification.payload.parse::<i32>() {
            Ok(partition) => wake(partition),
            Err(_) => wake(-1),
        }
    }
    Ok(())
}
