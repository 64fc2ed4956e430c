//! The kept event streams on PostgreSQL: reading a conversation's or a
//! user's events after a position, sync, and pruning (decision 0010).
//!
//! The writes are in `outbox.rs`: every numbered event is kept by the
//! statement that publishes it.

use async_trait::async_trait;
use chat_domain::catch_up::{EventRead, EventSlice, RecordedEvent, SyncEntry, SyncRead, SyncSlice};
use chat_domain::ports::EventHistoryRepository;
use chat_domain::{ChatError, ConversationId, EventId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::PgStore;
use crate::error::db_error;
use crate::prepared::Prepare;

#[derive(QueryableByName)]
struct EventRow {
    /// NULL on the one row that only carries the stream's figures.
    #[diesel(sql_type = Nullable<BigInt>)]
    event_seq: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    event_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    event_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    envelope: Option<String>,
    #[diesel(sql_type = BigInt)]
    last_event_seq: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    oldest_kept: Option<i64>,
}

/// The page and the stream's figures in one statement (one snapshot): the
/// figures row is joined to the events, so a stream with no event after the
/// position still answers one row.
const CONVERSATION_EVENTS: &str = "\
SELECT e.event_seq, e.event_id, e.event_type, e.envelope::text AS envelope, \
       s.last_event_seq, s.oldest_kept \
FROM (SELECT c.last_event_seq, \
             (SELECT min(k.event_seq) FROM chat_conversation_events k \
              WHERE k.conversation_id = c.id) AS oldest_kept \
      FROM conversations c WHERE c.id = $1) s \
LEFT JOIN LATERAL ( \
    SELECT k.event_seq, k.event_id, k.event_type, k.envelope \
    FROM chat_conversation_events k \
    WHERE k.conversation_id = $1 AND k.event_seq > $2 \
      AND (k.message_seq IS NULL OR k.message_seq > $3) \
    ORDER BY k.event_seq LIMIT $4) e ON true \
ORDER BY e.event_seq";

const PERSONAL_EVENTS: &str = "\
SELECT e.event_seq, e.event_id, e.event_type, e.envelope::text AS envelope, \
       s.last_event_seq, s.oldest_kept \
FROM (SELECT coalesce((SELECT p.last_event_seq FROM chat_personal_streams p \
                       WHERE p.user_id = $1), 0) AS last_event_seq, \
             (SELECT min(k.event_seq) FROM chat_personal_events k \
              WHERE k.user_id = $1) AS oldest_kept) s \
LEFT JOIN LATERAL ( \
    SELECT k.event_seq, k.event_id, k.event_type, k.envelope \
    FROM chat_personal_events k \
    WHERE k.user_id = $1 AND k.event_seq > $2 \
    ORDER BY k.event_seq LIMIT $3) e ON true \
ORDER BY e.event_seq";

fn into_slice(rows: Vec<EventRow>) -> EventSlice {
    let mut slice = EventSlice::default();
    for row in rows {
        slice.last_event_seq = row.last_event_seq;
        slice.oldest_kept = row.oldest_kept;
        if let (Some(event_seq), Some(event_id), Some(event_type), Some(envelope)) =
            (row.event_seq, row.event_id, row.event_type, row.envelope)
        {
            slice.events.push(RecordedEvent {
                event_seq,
                event_id: EventId::new(event_id),
                event_type,
                envelope,
            });
        }
    }
    slice
}

#[derive(QueryableByName)]
struct SyncRow {
    /// NULL on the one row that only carries the figures.
    #[diesel(sql_type = Nullable<BigInt>)]
    conversation_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_event_seq: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    removed: Option<bool>,
    #[diesel(sql_type = Text)]
    marker: String,
    #[diesel(sql_type = BigInt)]
    personal_event_seq: i64,
    /// False when the sync log cannot answer (always true for the walk).
    #[diesel(sql_type = Bool)]
    usable: bool,
}

/// The start of every sync answer: the marker (this statement snapshot's
/// xmin) and the caller's personal stream position, joined to the rows
/// the statement's own `LEFT JOIN LATERAL ( ... ) x` finds.
macro_rules! sync_answer {
    () => {
        "\
SELECT x.conversation_id, x.last_event_seq, x.removed, s.marker, s.personal_event_seq, \
       true AS usable \
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS marker, \
             coalesce((SELECT p.last_event_seq FROM chat_personal_streams p \
                       WHERE p.user_id = $1), 0) AS personal_event_seq) s \
LEFT JOIN LATERAL ( "
    };
}

/// The memberships of user `$1` that ended since marker `$2`, after
/// conversation `$3` (unless the user is a member again): one arm of a
/// sync answer's `UNION ALL`.
macro_rules! ended_since {
    () => {
        "\
        SELECT r.conversation_id, r.last_event_seq, true AS removed \
        FROM chat_membership_removals r \
        WHERE r.user_id = $1 AND r.conversation_id > $3 AND r.removed_xid >= $2::xid8 \
          AND NOT EXISTS (SELECT 1 FROM conversation_members m \
                          WHERE m.conversation_id = r.conversation_id AND m.user_id = $1) "
    };
}

/// The user's conversations changed at or after a marker (`$2`), after a
/// conversation id, and the memberships that ended since. The marker handed
/// back is the xmin of this statement's snapshot: every transaction it does
/// not see has an id at or above it (migration 000010 says why transaction
/// ids and not a counter).
///
/// It walks the user's memberships (one index range) and looks each
/// conversation up: O(the user's conversations) with no index on the
/// change markers, whose rows change on every send and must stay HOT.
/// A statement of its own, not one with a "no marker" branch: a prepared
/// statement's generic plan cannot know which branch a call takes.
pub(crate) const CHANGED_CONVERSATIONS: &str = concat!(
    sync_answer!(),
    "\
    SELECT * FROM ( \
        SELECT m.conversation_id, c.last_event_seq, false AS removed \
        FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
        WHERE m.user_id = $1 AND m.conversation_id > $3 \
          AND (c.events_xid >= $2::xid8 OR m.changed_xid >= $2::xid8) \
        UNION ALL ",
    ended_since!(),
    "\
    ) changed ORDER BY conversation_id LIMIT $4) x ON true \
ORDER BY x.conversation_id"
);

/// The same answer from the sync log (migration 000012), when it can give
/// it: `usable` when the log holds every change since the marker and fewer
/// than `$5` rows were logged since then (else the caller walks). Cost:
/// the changes since the cursor, not the user's conversations. Both reads
/// of the log go in `xid` order with a limit, so even a generic plan walks
/// the index from the marker (the probe guarantees the limit cuts nothing).
pub(crate) const LOGGED_CHANGES: &str = concat!(
    "\
WITH s AS MATERIALIZED ( \
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS marker, \
           coalesce((SELECT p.last_event_seq FROM chat_personal_streams p \
                     WHERE p.user_id = $1), 0) AS personal_event_seq, \
           coalesce((SELECT h.complete_from <= $2::xid8 FROM chat_sync_log_horizon h), false) \
           AND (SELECT count(*) FROM (SELECT 1 FROM chat_sync_log l \
                                      WHERE l.xid >= $2::xid8 ORDER BY l.xid LIMIT $5) recent) < $5 \
             AS usable) \
SELECT x.conversation_id, x.last_event_seq, x.removed, s.marker, s.personal_event_seq, s.usable \
FROM s LEFT JOIN LATERAL ( \
    SELECT * FROM ( \
        SELECT m.conversation_id, c.last_event_seq, false AS removed \
        FROM (SELECT DISTINCT logged.conversation_id FROM ( \
                  SELECT l.conversation_id FROM chat_sync_log l \
                  WHERE l.xid >= $2::xid8 AND (l.user_id IS NULL OR l.user_id = $1) \
                  ORDER BY l.xid LIMIT $5) logged) l \
        JOIN conversation_members m ON m.conversation_id = l.conversation_id AND m.user_id = $1 \
        JOIN conversations c ON c.id = m.conversation_id \
        WHERE m.conversation_id > $3 \
        UNION ALL ",
    ended_since!(),
    "\
    ) changed WHERE s.usable ORDER BY conversation_id LIMIT $4) x ON true \
ORDER BY x.conversation_id"
);

/// Log rows since a cursor beyond which walking the memberships is cheaper.
pub(crate) const LOG_READ_MAX: i64 = 2_000;

/// A full sync: every conversation of the user, after a conversation id.
const ALL_CONVERSATIONS: &str = concat!(
    sync_answer!(),
    "\
    SELECT m.conversation_id, c.last_event_seq, false AS removed \
    FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
    WHERE m.user_id = $1 AND m.conversation_id > $2 \
    ORDER BY m.conversation_id LIMIT $3) x ON true \
ORDER BY x.conversation_id"
);

/// Pruning deletes by time in small batches, each its own short
/// transaction, so writes never wait behind it.
const PRUNE_CONVERSATION_EVENTS: &str = "\
DELETE FROM chat_conversation_events WHERE ctid = ANY(ARRAY( \
    SELECT ctid FROM chat_conversation_events WHERE occurred_at < $1 LIMIT $2))";
const PRUNE_PERSONAL_EVENTS: &str = "\
DELETE FROM chat_personal_events WHERE ctid = ANY(ARRAY( \
    SELECT ctid FROM chat_personal_events WHERE occurred_at < $1 LIMIT $2))";
/// The sync log is kept an hour (older cursors walk the memberships);
/// the horizon moves past what was deleted.
const PRUNE_SYNC_LOG: &str = "\
WITH gone AS ( \
    DELETE FROM chat_sync_log WHERE ctid = ANY(ARRAY( \
        SELECT ctid FROM chat_sync_log WHERE logged_at < now() - interval '1 hour' LIMIT $1)) \
    RETURNING xid), \
newest AS (SELECT xid FROM gone ORDER BY xid DESC LIMIT 1), \
raised AS ( \
    UPDATE chat_sync_log_horizon h \
    SET complete_from = greatest(h.complete_from, \
                                 ((SELECT xid FROM newest)::text::numeric + 1)::text::xid8) \
    WHERE EXISTS (SELECT 1 FROM newest)) \
SELECT count(*) AS count FROM gone";

#[derive(QueryableByName)]
struct PrunedRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

const PRUNE_REMOVALS: &str = "\
DELETE FROM chat_membership_removals WHERE ctid = ANY(ARRAY( \
    SELECT ctid FROM chat_membership_removals WHERE removed_at < $1 LIMIT $2))";

/// Sync by walking the user's memberships.
async fn walk_changes(
    conn: &mut AsyncPgConnection,
    user: UserId,
    marker: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<SyncRow>, ChatError> {
    diesel::sql_query(CHANGED_CONVERSATIONS)
        .bind::<BigInt, _>(user.get())
        .bind::<Text, _>(marker.to_string())
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .prepared()
        .load(conn)
        .await
        .map_err(db_error)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventHistoryRepository for PgStore {
    async fn conversation_events(
        &self,
        id: ConversationId,
        read: EventRead,
    ) -> Result<EventSlice, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<EventRow> = diesel::sql_query(CONVERSATION_EVENTS)
            .bind::<BigInt, _>(id.get())
            .bind::<BigInt, _>(read.after)
            .bind::<BigInt, _>(read.visibility.hidden_through_message_seq)
            .bind::<BigInt, _>(to_i64(read.limit))
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(into_slice(rows))
    }

    async fn personal_events(
        &self,
        user: UserId,
        read: EventRead,
    ) -> Result<EventSlice, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<EventRow> = diesel::sql_query(PERSONAL_EVENTS)
            .bind::<BigInt, _>(user.get())
            .bind::<BigInt, _>(read.after)
            .bind::<BigInt, _>(to_i64(read.limit))
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(into_slice(rows))
    }

    async fn changed_conversations(
        &self,
        user: UserId,
        read: SyncRead,
    ) -> Result<SyncSlice, ChatError> {
        let mut conn = self.conn().await?;
        let after = read.after.map_or(0, ConversationId::get);
        let limit = to_i64(read.limit);
        let rows: Vec<SyncRow> = match read.changed_since {
            Some(marker) if self.sync_from_log => {
                let logged: Vec<SyncRow> = diesel::sql_query(LOGGED_CHANGES)
                    .bind::<BigInt, _>(user.get())
                    .bind::<Text, _>(marker.to_string())
                    .bind::<BigInt, _>(after)
                    .bind::<BigInt, _>(limit)
                    .bind::<BigInt, _>(LOG_READ_MAX)
                    .prepared()
                    .load(&mut conn)
                    .await
                    .map_err(db_error)?;
                if logged.as_slice().first().is_some_and(|r| r.usable) {
                    logged
                } else {
                    walk_changes(&mut conn, user, marker, after, limit).await?
                }
            }
            Some(marker) => walk_changes(&mut conn, user, marker, after, limit).await?,
            None => diesel::sql_query(ALL_CONVERSATIONS)
                .bind::<BigInt, _>(user.get())
                .bind::<BigInt, _>(after)
                .bind::<BigInt, _>(limit)
                .prepared()
                .load(&mut conn)
                .await
                .map_err(db_error)?,
        };
        let mut slice = SyncSlice {
            entries: Vec::new(),
            marker: 0,
            personal_event_seq: 0,
        };
        for row in rows {
            slice.marker = row.marker.parse().map_err(|_| {
                ChatError::Unexpected(anyhow::anyhow!("snapshot xmin {:?}", row.marker))
            })?;
            slice.personal_event_seq = row.personal_event_seq;
            if let (Some(id), Some(last_event_seq), Some(removed)) =
                (row.conversation_id, row.last_event_seq, row.removed)
            {
                slice.entries.push(SyncEntry {
                    conversation_id: ConversationId::new(id),
                    last_event_seq,
                    removed,
                });
            }
        }
        Ok(slice)
    }

    async fn prune_events(&self, before: Timestamp, batch: usize) -> Result<usize, ChatError> {
        let mut conn = self.conn().await?;
        let mut pruned = 0;
        for statement in [
            PRUNE_CONVERSATION_EVENTS,
            PRUNE_PERSONAL_EVENTS,
            PRUNE_REMOVALS,
        ] {
            let left = batch.saturating_sub(pruned);
            if left == 0 {
                break;
            }
            pruned += diesel::sql_query(statement)
                .bind::<Timestamptz, _>(before.datetime())
                .bind::<BigInt, _>(to_i64(left))
                .prepared()
                .execute(&mut conn)
                .await
                .map_err(db_error)?;
        }
        let left = batch.saturating_sub(pruned);
        if left > 0 {
            let log: PrunedRow = diesel::sql_query(PRUNE_SYNC_LOG)
                .bind::<BigInt, _>(to_i64(left))
                .prepared()
                .get_result(&mut conn)
                .await
                .map_err(db_error)?;
            pruned += usize::try_from(log.count).unwrap_or(0);
        }
        Ok(pruned)
    }
}
