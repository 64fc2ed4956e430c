//! Writing realtime events to `chat_outbox`, inside the change's transaction.
//!
//! Rows have the shape Centrifugo's PostgreSQL consumer reads: `method` is a
//! server API method (`publish` or `broadcast`), `payload` its params with an
//! `idempotency_key`, `partition` the ordering partition. Events for a
//! conversation's channel are written while holding that conversation's row
//! lock, so their ids are in commit order within the conversation.
//!
//! Numbered events (decision 0010) take the next `eventSeq` of their stream
//! in the same statement that writes them: the conversation's counter on its
//! row (whose lock the statement takes or already holds), a user's on their
//! `chat_personal_streams` row. The statement keeps the envelope, with its
//! number, in the stream's history table and publishes that same envelope.

use std::sync::Arc;

use chat_domain::events::{
    Audience, EventEncoder, OutboxEvent, conversation_channel, personal_channel,
};
use chat_domain::{ConversationId, UserId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::error::StoreResult;
use crate::locks;
use crate::pipeline::Pipeline;
use crate::prepared::Prepare;
use crate::rows::IdRow;

/// Channels per `broadcast` row: bounds the size of one publish call.
const BROADCAST_CHUNK: usize = 1_000;

/// Unnumbered rows to insert into the outbox, in order.
#[derive(Default)]
struct OutboxRows {
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

    /// Inserts the rows in one statement. `unnest` keeps the array order, so
    /// ids follow the events' order. One notification per statement wakes
    /// the drainers (a statement-level trigger).
    async fn insert(self, mut conn: &AsyncPgConnection) -> StoreResult<()> {
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

/// Numbered events to conversations' channels, in order.
#[derive(Default)]
struct ConversationEventRows {
    conversation_ids: Vec<i64>,
    event_ids: Vec<String>,
    event_types: Vec<String>,
    envelopes: Vec<String>,
    message_seqs: Vec<Option<i64>>,
    occurred_at: Vec<OffsetDateTime>,
    /// The new message whose push the event requests, if any.
    pushed_messages: Vec<Option<i64>>,
}

/// Numbers, keeps and publishes events to conversations' channels, and
/// queues them for the webhook endpoints whose filters take them — with a
/// `push.requested` row after an event that requests a push: one
/// statement. The `UPDATE` takes each conversation's next numbers (and its
/// row lock, when the change does not hold it yet) before any outbox id is
/// drawn. An event of a conversation that is gone (none today: deletes write
/// their events first) is still published, without a number. The change's
/// unnumbered rows (`$11`–`$13`, see [`OutboxRows`]) are inserted after the
/// numbered ones by the same `INSERT`: one statement (and one trigger call)
/// less per send.
const INSERT_CONVERSATION_EVENTS: &str = "\
WITH input AS ( \
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
                         $6::timestamptz[], $10::bigint[]) WITH ORDINALITY \
        AS e(conversation_id, event_id, event_type, envelope, message_seq, occurred_at, \
             pushed_message, ord)), \
counts AS (SELECT conversation_id, count(*) AS n FROM input GROUP BY conversation_id), \
bumped AS ( \
    UPDATE conversations c \
    SET last_event_seq = c.last_event_seq + counts.n, events_xid = pg_current_xact_id() \
    FROM counts WHERE c.id = counts.conversation_id \
    RETURNING c.id, c.last_event_seq - counts.n AS base), \
logged AS (INSERT INTO chat_sync_log (conversation_id) SELECT id FROM bumped), \
numbered AS ( \
    SELECT i.conversation_id, i.event_id, i.event_type, i.message_seq, i.occurred_at, i.ord, \
           i.pushed_message, i.envelope::jsonb AS envelope, \
           b.base + row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.ord) \
               AS event_seq \
    FROM input i LEFT JOIN bumped b ON b.id = i.conversation_id), \
stamped AS ( \
    SELECT n.*, CASE \
        WHEN n.event_seq IS NULL THEN n.envelope \
        WHEN n.envelope -> 'data' ? 'lastEventSeq' \
            THEN jsonb_set(n.envelope, '{data,lastEventSeq}', to_jsonb(n.event_seq)) \
                 || jsonb_build_object('eventSeq', n.event_seq) \
        ELSE n.envelope || jsonb_build_object('eventSeq', n.event_seq) END AS data \
    FROM numbered n), \
kept AS ( \
    INSERT INTO chat_conversation_events \
        (conversation_id, event_seq, event_id, event_type, message_seq, occurred_at, envelope) \
    SELECT conversation_id, event_seq, event_id, event_type, message_seq, occurred_at, data \
    FROM stamped WHERE event_seq IS NOT NULL), \
deliveries AS ( \
    SELECT s.conversation_id, s.event_id, s.event_type, s.data, NULL::bigint AS message_id, \
           s.ord, 0 AS part \
    FROM stamped s WHERE s.event_seq IS NOT NULL \
    UNION ALL \
    SELECT s.conversation_id, s.event_id, 'push.requested', s.data, s.pushed_message, s.ord, 1 \
    FROM stamped s WHERE s.event_seq IS NOT NULL AND s.pushed_message IS NOT NULL), \
queued AS ( \
    INSERT INTO chat_webhook_queue \
        (endpoint, conversation_id, event_id, event_type, payload, message_id) \
    SELECT w.endpoint, d.conversation_id, d.event_id, d.event_type, d.data, d.message_id \
    FROM deliveries d JOIN unnest($8::text[], $9::text[]) AS w(endpoint, events) \
      ON w.events = '' OR d.event_type = ANY(string_to_array(w.events, ',')) \
    ORDER BY d.ord, d.part, w.endpoint) \
INSERT INTO chat_outbox (method, payload, partition) \
SELECT method, payload, partition FROM ( \
    SELECT 'publish' AS method, \
           jsonb_build_object('channel', 'chat:' || conversation_id, 'data', data, \
                              'idempotency_key', event_id) AS payload, \
           mod(mod(conversation_id, $7) + $7, $7) AS partition, 0 AS part, ord \
    FROM stamped \
    UNION ALL \
    SELECT p.method, p.payload::jsonb, p.partition, 1, p.ord \
    FROM unnest($11::text[], $12::text[], $13::int[]) WITH ORDINALITY \
        AS p(method, payload, partition, ord)) rows \
ORDER BY part, ord";

impl ConversationEventRows {
    fn push(&mut self, event: &OutboxEvent, envelope: String) {
        self.conversation_ids.push(event.conversation_id.get());
        self.event_ids.push(event.id.as_str().to_owned());
        self.event_types.push(event.payload.event_type().to_owned());
        self.envelopes.push(envelope);
        self.message_seqs.push(event.message_seq());
        self.occurred_at.push(event.occurred_at.datetime());
        self.pushed_messages
            .push(event.requests_push().map(|message| message.get()));
    }

    /// Inserts these events, then `plain`, in one statement; `plain` alone
    /// when there are none.
    async fn insert(
        self,
        mut conn: &AsyncPgConnection,
        partitions: i32,
        webhooks: &WebhookRoutes,
        plain: OutboxRows,
    ) -> StoreResult<()> {
        if self.conversation_ids.is_empty() {
            return plain.insert(conn).await;
        }
        diesel::sql_query(INSERT_CONVERSATION_EVENTS)
            .bind::<Array<BigInt>, _>(self.conversation_ids)
            .bind::<Array<Text>, _>(self.event_ids)
            .bind::<Array<Text>, _>(self.event_types)
            .bind::<Array<Text>, _>(self.envelopes)
            .bind::<Array<Nullable<BigInt>>, _>(self.message_seqs)
            .bind::<Array<Timestamptz>, _>(self.occurred_at)
            .bind::<BigInt, _>(i64::from(partitions.max(1)))
            .bind::<Array<Text>, _>(&webhooks.endpoints)
            .bind::<Array<Text>, _>(&webhooks.filters)
            .bind::<Array<Nullable<BigInt>>, _>(self.pushed_messages)
            .bind::<Array<Text>, _>(plain.methods)
            .bind::<Array<Text>, _>(plain.payloads)
            .bind::<Array<Integer>, _>(plain.partitions)
            .prepared()
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

/// The webhook endpoints events are queued for, with their filters (`""`
/// for every type, else the types joined by commas).
#[derive(Debug, Clone, Default)]
pub struct WebhookRoutes {
    pub endpoints: Vec<String>,
    pub filters: Vec<String>,
}

/// Numbered events to users' personal channels, in order: each to one user,
/// or to every member of a conversation (resolved in the statement, under
/// the conversation's lock, which the change holds).
#[derive(Default)]
struct PersonalEventRows {
    user_ids: Vec<Option<i64>>,
    members_of: Vec<Option<i64>>,
    event_ids: Vec<String>,
    event_types: Vec<String>,
    envelopes: Vec<String>,
    occurred_at: Vec<OffsetDateTime>,
}

/// Numbers, keeps and publishes personal events: one statement. Streams are
/// bumped in user id order, so two changes that number the same users never
/// wait on each other in a cycle. Personal events are partitioned by user,
/// so each personal channel gets its events in number order.
const INSERT_PERSONAL_EVENTS: &str = "\
WITH input AS ( \
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                         $6::timestamptz[]) WITH ORDINALITY \
        AS e(user_id, members_of, event_id, event_type, envelope, occurred_at, ord)), \
addressed AS ( \
    SELECT ord, user_id, event_id, event_type, envelope, occurred_at \
    FROM input WHERE user_id IS NOT NULL \
    UNION ALL \
    SELECT i.ord, m.user_id, i.event_id, i.event_type, i.envelope, i.occurred_at \
    FROM input i JOIN conversation_members m ON m.conversation_id = i.members_of \
    WHERE i.user_id IS NULL), \
counts AS (SELECT user_id, count(*) AS n FROM addressed GROUP BY user_id), \
bumped AS ( \
    INSERT INTO chat_personal_streams AS s (user_id, last_event_seq) \
    SELECT user_id, n FROM counts ORDER BY user_id \
    ON CONFLICT (user_id) DO UPDATE SET last_event_seq = s.last_event_seq + EXCLUDED.last_event_seq \
    RETURNING s.user_id, s.last_event_seq), \
numbered AS ( \
    SELECT a.*, b.last_event_seq - c.n \
               + row_number() OVER (PARTITION BY a.user_id ORDER BY a.ord) AS event_seq \
    FROM addressed a JOIN counts c USING (user_id) JOIN bumped b USING (user_id)), \
stamped AS ( \
    SELECT n.*, n.envelope::jsonb || jsonb_build_object('eventSeq', n.event_seq) AS data \
    FROM numbered n), \
kept AS ( \
    INSERT INTO chat_personal_events \
        (user_id, event_seq, event_id, event_type, occurred_at, envelope) \
    SELECT user_id, event_seq, event_id, event_type, occurred_at, data FROM stamped) \
INSERT INTO chat_outbox (method, payload, partition) \
SELECT 'publish', \
       jsonb_build_object('channel', 'personal:' || user_id, 'data', data, \
                          'idempotency_key', event_id), \
       mod(mod(user_id, $7) + $7, $7) \
FROM stamped ORDER BY user_id, event_seq";

impl PersonalEventRows {
    fn push(&mut self, event: &OutboxEvent, envelope: String) {
        let mut add = |user: Option<i64>, members_of: Option<i64>| {
            self.user_ids.push(user);
            self.members_of.push(members_of);
            self.event_ids.push(event.id.as_str().to_owned());
            self.event_types.push(event.payload.event_type().to_owned());
            self.envelopes.push(envelope.clone());
            self.occurred_at.push(event.occurred_at.datetime());
        };
        match &event.audience {
            Audience::Users(users) => {
                for user in users {
                    add(Some(user.get()), None);
                }
            }
            Audience::Members => add(None, Some(event.conversation_id.get())),
            Audience::Conversation => {}
        }
    }

    async fn insert(self, mut conn: &AsyncPgConnection, partitions: i32) -> StoreResult<()> {
        if self.event_ids.is_empty() {
            return Ok(());
        }
        diesel::sql_query(INSERT_PERSONAL_EVENTS)
            .bind::<Array<Nullable<BigInt>>, _>(self.user_ids)
            .bind::<Array<Nullable<BigInt>>, _>(self.members_of)
            .bind::<Array<Text>, _>(self.event_ids)
            .bind::<Array<Text>, _>(self.event_types)
            .bind::<Array<Text>, _>(self.envelopes)
            .bind::<Array<Timestamptz>, _>(self.occurred_at)
            .bind::<BigInt, _>(i64::from(partitions.max(1)))
            .prepared()
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

/// Everything a change's events become: at most three statements.
pub(crate) struct EventRows {
    conversation: ConversationEventRows,
    personal: PersonalEventRows,
    plain: OutboxRows,
    partitions: i32,
    webhooks: Arc<WebhookRoutes>,
}

impl EventRows {
    /// Runs the statements, pipelined when awaited with others: the
    /// conversations' numbered events first (their `UPDATE` takes the
    /// conversation locks), then the personal ones, then the rest. Without
    /// personal events (a send) the rest goes with the first statement.
    pub(crate) async fn insert(self, conn: &AsyncPgConnection) -> StoreResult<()> {
        if self.personal.user_ids.is_empty() {
            return self
                .conversation
                .insert(conn, self.partitions, &self.webhooks, self.plain)
                .await;
        }
        futures_util::future::try_join3(
            self.conversation
                .insert(conn, self.partitions, &self.webhooks, OutboxRows::default()),
            self.personal.insert(conn, self.partitions),
            self.plain.insert(conn),
        )
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
    pub(crate) webhooks: Arc<WebhookRoutes>,
}

impl OutboxWriter {
    /// Writes `events` in the transaction of `conn`, taking the row lock of
    /// each conversation whose members are addressed first.
    pub(crate) async fn write(
        &self,
        conn: &mut AsyncPgConnection,
        events: Vec<OutboxEvent>,
    ) -> StoreResult<()> {
        for id in member_audiences(&events) {
            locks::conversation(conn, id).await?;
        }
        self.rows_for_locked(conn, events).await?.insert(conn).await
    }

    /// Writes `events` as the last statements of a pipelined transaction and
    /// commits it, in one round trip when no unnumbered event goes to all
    /// members of a large conversation: the row locks of the conversations
    /// whose members are addressed, the inserts and COMMIT are sent
    /// together, in that order. (Unnumbered events to all members become
    /// broadcasts built from the member list, read under the lock first:
    /// one round trip more.)
    pub(crate) async fn write_and_commit(
        &self,
        tx: &Pipeline<'_>,
        events: Vec<OutboxEvent>,
    ) -> StoreResult<()> {
        let mut locks = member_audiences(&events);
        if events
            .iter()
            .any(|e| !e.is_numbered() && matches!(e.audience, Audience::Members))
        {
            for id in std::mem::take(&mut locks) {
                locks::conversation(tx.conn(), id).await?;
            }
        }
        let rows = self.rows_for_locked(tx.conn(), events).await?;
        let conn = tx.conn();
        let mut statements: Vec<futures_util::future::BoxFuture<'_, StoreResult<()>>> = locks
            .into_iter()
            .map(|id| Box::pin(locks::conversation(conn, id)) as _)
            .collect();
        statements.push(Box::pin(rows.insert(conn)));
        tx.commit_with(async move {
            futures_util::future::try_join_all(statements).await?;
            Ok(())
        })
        .await
    }

    /// The statements for `events`. Reads only for unnumbered events to all
    /// members of a conversation (whose row lock the transaction must hold).
    pub(crate) async fn rows_for_locked(
        &self,
        conn: &AsyncPgConnection,
        events: Vec<OutboxEvent>,
    ) -> StoreResult<EventRows> {
        let mut rows = EventRows {
            conversation: ConversationEventRows::default(),
            personal: PersonalEventRows::default(),
            plain: OutboxRows::default(),
            partitions: self.partitions,
            webhooks: self.webhooks.clone(),
        };
        for event in events {
            let envelope = self.encoder.encode(&event);
            if event.is_numbered() {
                match event.audience {
                    Audience::Conversation => rows.conversation.push(&event, envelope),
                    Audience::Users(_) | Audience::Members => {
                        rows.personal.push(&event, envelope);
                    }
                }
                continue;
            }
            let partition = partition_of(event.conversation_id, self.partitions);
            let key = event.id.as_str();
            match &event.audience {
                Audience::Conversation => {
                    let channel = conversation_channel(event.conversation_id);
                    rows.plain.push(
                        "publish",
                        publish_params(&channel, &envelope, key),
                        partition,
                    );
                }
                Audience::Users(users) => {
                    push_personal(&mut rows.plain, users, &envelope, key, partition);
                }
                Audience::Members => {
                    let users = member_ids(conn, event.conversation_id).await?;
                    push_personal(&mut rows.plain, &users, &envelope, key, partition);
                }
            }
        }
        Ok(rows)
    }
}

/// The conversations whose members an event addresses, sorted: their member
/// lists must be read under their row locks.
fn member_audiences(events: &[OutboxEvent]) -> Vec<ConversationId> {
    let mut ids: Vec<ConversationId> = events
        .iter()
        .filter(|e| matches!(e.audience, Audience::Members))
        .map(|e| e.conversation_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
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
