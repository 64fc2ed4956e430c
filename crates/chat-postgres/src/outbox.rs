//! Writing realtime events to `chat_outbox`, inside the change's transaction.
//!
//! Rows have the shape Centrifugo's PostgreSQL consumer reads: `method` is a
//! server API method (`publish` or `broadcast`), `payload` its params with an
//! `idempotency_key`, `partition` the conversation's partition. Events for a
//! conversation's channel are written while holding that conversation's row
//! lock, so their ids are in commit order within the conversation.

use std::sync::Arc;

use chat_domain::events::{
    Audience, EventEncoder, OutboxEvent, conversation_channel, personal_channel,
};
use chat_domain::{ConversationId, UserId};
use diesel::sql_types::{Array, BigInt, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::StoreResult;
use crate::pipeline::Pipeline;
use crate::prepared::Prepare;
use crate::rows::IdRow;

/// Channels per `broadcast` row: bounds the size of one publish call.
const BROADCAST_CHUNK: usize = 1_000;

/// Rows to insert into the outbox, in order.
#[derive(Default)]
pub(crate) struct OutboxRows {
    methods: Vec<String>,
    payloads: Vec<String>,
    partitions: Vec<i32>,
}

impl OutboxRows {
    fn push(&mut self, method: &str, payload: String, partition: i32) {
        self.methods.push(method.to_owned());
        self.payloads.push(payload);
        self.partitions.push(partition);
    }

    /// Inserts the rows: one statement, so it can travel with the COMMIT.
    /// `unnest` keeps the array order, so ids follow the events' order. One
    /// notification per statement wakes the drainers (a statement-level
    /// trigger).
    pub(crate) async fn insert(self, mut conn: &AsyncPgConnection) -> StoreResult<()> {
        if self.methods.is_empty() {
            return Ok(());
        }
        diesel::sql_query(
            "INSERT INTO chat_outbox (method, payload, partition) \
             SELECT method, payload::jsonb, partition \
             FROM unnest($1::text[], $2::text[], $3::int[]) AS r(method, payload, partition)",
        )
        .bind::<Array<Text>, _>(self.methods)
        .bind::<Array<Text>, _>(self.payloads)
        .bind::<Array<Integer>, _>(self.partitions)
        .prepared()
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}

/// Writes events as outbox rows: how they are encoded, and into how many
/// partitions.
#[derive(Clone)]
pub(crate) struct OutboxWriter {
    pub(crate) encoder: Arc<dyn EventEncoder>,
    pub(crate) partitions: i32,
}

impl OutboxWriter {
    /// Writes `events` in the transaction of `conn`, taking each
    /// conversation's row lock first.
    pub(crate) async fn write(
        &self,
        conn: &mut AsyncPgConnection,
        events: Vec<OutboxEvent>,
    ) -> StoreResult<()> {
        for event in &events {
            if matches!(event.audience, Audience::Conversation) {
                lock_conversation(conn, event.conversation_id).await?;
            }
        }
        self.rows_for_locked(conn, events).await?.insert(conn).await
    }

    /// Writes `events` as the last statements of a pipelined transaction and
    /// commits it, in one round trip when no event goes to all members of a
    /// conversation: the conversation row locks, the insert and COMMIT are
    /// sent together, in that order. (Events to all members read the member
    /// list under the lock first: one round trip more.)
    pub(crate) async fn write_and_commit(
        &self,
        tx: &Pipeline<'_>,
        events: Vec<OutboxEvent>,
    ) -> StoreResult<()> {
        let mut locks: Vec<ConversationId> = events
            .iter()
            .filter(|e| matches!(e.audience, Audience::Conversation | Audience::Members))
            .map(|e| e.conversation_id)
            .collect();
        locks.sort_unstable();
        locks.dedup();
        if events
            .iter()
            .any(|e| matches!(e.audience, Audience::Members))
        {
            // The member list must be read under the lock.
            for id in std::mem::take(&mut locks) {
                lock_conversation(tx.conn(), id).await?;
            }
        }
        let rows = self.rows_for_locked(tx.conn(), events).await?;
        let conn = tx.conn();
        let mut statements: Vec<futures_util::future::BoxFuture<'_, StoreResult<()>>> = locks
            .into_iter()
            .map(|id| Box::pin(lock_conversation(conn, id)) as _)
            .collect();
        statements.push(Box::pin(rows.insert(conn)));
        tx.commit_with(async move {
            futures_util::future::try_join_all(statements).await?;
            Ok(())
        })
        .await
    }

    /// The rows for `events` of conversations whose rows this transaction
    /// already holds locked. Reads only for events to all members.
    pub(crate) async fn rows_for_locked(
        &self,
        conn: &AsyncPgConnection,
        events: Vec<OutboxEvent>,
    ) -> StoreResult<OutboxRows> {
        let mut rows = OutboxRows::default();
        for event in events {
            let partition = partition_of(event.conversation_id, self.partitions);
            let envelope = self.encoder.encode(&event);
            let key = event.id.as_str();
            match &event.audience {
                Audience::Conversation => {
                    let channel = conversation_channel(event.conversation_id);
                    rows.push(
                        "publish",
                        publish_params(&channel, &envelope, key),
                        partition,
                    );
                }
                Audience::Users(users) => {
                    push_personal(&mut rows, users, &envelope, key, partition);
                }
                Audience::Members => {
                    let users = member_ids(conn, event.conversation_id).await?;
                    push_personal(&mut rows, &users, &envelope, key, partition);
                }
            }
        }
        Ok(rows)
    }
}

fn push_personal(
    rows: &mut OutboxRows,
    users: &[UserId],
    envelope: &str,
    key: &str,
    partition: i32,
) {
    match users {
        [] => {}
        [user] => rows.push(
            "publish",
            publish_params(&personal_channel(*user), envelope, key),
            partition,
        ),
        many => {
            for (i, chunk) in many.chunks(BROADCAST_CHUNK).enumerate() {
                let channels: Vec<String> = chunk.iter().map(|u| personal_channel(*u)).collect();
                let chunk_key = format!("{key}/{i}");
                rows.push(
                    "broadcast",
                    broadcast_params(&channels, envelope, &chunk_key),
                    partition,
                );
            }
        }
    }
}

/// The partition of a conversation's events.
pub(crate) fn partition_of(conversation: ConversationId, partitions: i32) -> i32 {
    let partition = conversation.get().rem_euclid(i64::from(partitions.max(1)));
    i32::try_from(partition).unwrap_or(0)
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn publish_params(channel: &str, envelope: &str, key: &str) -> String {
    format!(
        r#"{{"channel":{},"data":{envelope},"idempotency_key":{}}}"#,
        json_string(channel),
        json_string(key)
    )
}

fn broadcast_params(channels: &[String], envelope: &str, key: &str) -> String {
    let channels = serde_json::Value::from(channels.to_vec()).to_string();
    format!(
        r#"{{"channels":{channels},"data":{envelope},"idempotency_key":{}}}"#,
        json_string(key)
    )
}

/// Holds the conversation's row lock until commit (a no-op when the change
/// already holds it), so no later transaction of this conversation can take a
/// smaller outbox id and commit after us.
async fn lock_conversation(mut conn: &AsyncPgConnection, id: ConversationId) -> StoreResult<()> {
    diesel::sql_query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .bind::<BigInt, _>(id.get())
        .prepared()
        .execute(&mut conn)
        .await?;
    Ok(())
}

async fn member_ids(mut conn: &AsyncPgConnection, id: ConversationId) -> StoreResult<Vec<UserId>> {
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT user_id AS id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id",
    )
    .bind::<BigInt, _>(id.get())
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|r| UserId::new(r.id)).collect())
}
