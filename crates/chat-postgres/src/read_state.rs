//! Read state on PostgreSQL: moving read cursors, and unread totals.

use async_trait::async_trait;
use chat_domain::conversation::{MembershipView, ReadCursorUpdate, UnreadTotals};
use chat_domain::events::EventsFor;
use chat_domain::ports::ReadStateRepository;
use chat_domain::{ChatError, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use futures_util::TryFutureExt;
use futures_util::future::try_join3;

use crate::PgStore;
use crate::conversations::{UNREAD_LATERAL, view_select};
use crate::error::{StoreError, StoreResult, db_error};
use crate::locks;
use crate::pipeline::pipelined;
use crate::prepared::Prepare;
use crate::rows::ConversationViewRow;

#[derive(QueryableByName)]
struct TotalsRow {
    #[diesel(sql_type = BigInt)]
    total_unread: i64,
    #[diesel(sql_type = BigInt)]
    unread_conversation_count: i64,
    #[diesel(sql_type = BigInt)]
    mention_count: i64,
}

#[async_trait]
impl ReadStateRepository for PgStore {
    async fn move_read_cursor(
        &self,
        update: ReadCursorUpdate,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        // Two round trips: BEGIN, the lock, the move and the read of the new
        // figures together; then the events with COMMIT.
        pipelined(&mut conn, async |tx| -> StoreResult<MembershipView> {
            let mut c = tx.conn();
            // The conversation's lock first (as a send or a delete takes it):
            // the move then sees every delete committed before it, and a
            // delete after it sees the new cursor.
            let lock = locks::conversation(c, update.conversation_id);
            // The own and deleted top-level messages past the new cursor are
            // counted here, once per move (none when it moves to the newest
            // message), so reading the figures never counts them.
            let moved = diesel::sql_query(
                "UPDATE conversation_members SET last_read_seq = $3, last_read_message_id = $4, \
                   read_top_ordinal = COALESCE((SELECT x.top_ordinal FROM messages x \
                     WHERE x.conversation_id = $1 AND x.parent_id IS NULL AND x.seq <= $3 \
                     ORDER BY x.seq DESC LIMIT 1), 0), \
                   own_top_after_read = (SELECT count(*) FROM messages o \
                     WHERE o.conversation_id = $1 AND o.parent_id IS NULL AND o.sender_id = $2 \
                       AND o.deleted_at IS NULL AND o.seq > $3), \
                   deleted_top_after_read = (SELECT count(*) FROM messages d \
                     WHERE d.conversation_id = $1 AND d.parent_id IS NULL \
                       AND d.deleted_at IS NOT NULL AND d.seq > $3) \
                 WHERE conversation_id = $1 AND user_id = $2 AND (NOT $5 OR last_read_seq < $3)",
            )
            .bind::<BigInt, _>(update.conversation_id.get())
            .bind::<BigInt, _>(update.user_id.get())
            .bind::<BigInt, _>(update.seq)
            .bind::<Nullable<BigInt>, _>(update.message_id.map(|m| m.get()))
            .bind::<Bool, _>(update.forward_only)
            .prepared()
            .execute(&mut c)
            .map_err(StoreError::from);
            let view = diesel::sql_query(format!(
                "{} WHERE m.conversation_id = $1 AND m.user_id = $2",
                view_select()
            ))
            .bind::<BigInt, _>(update.conversation_id.get())
            .bind::<BigInt, _>(update.user_id.get())
            .prepared()
            .load::<ConversationViewRow>(&mut c)
            .map_err(StoreError::from);
            let (_, _, rows) = tx.begin_with(try_join3(lock, moved, view)).await?;
            let row = rows
                .into_iter()
                .next()
                .ok_or(StoreError::Chat(ChatError::NotFound("conversation")))?;
            let view = MembershipView {
                membership: row.membership.into_domain()?,
                unread_count: row.unread_count,
                mention_count: row.mention_count,
            };
            outbox.write_and_commit(tx, events(&view)).await?;
            Ok(view)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn unread_totals(&self, user: UserId, now: Timestamp) -> Result<UnreadTotals, ChatError> {
        let mut conn = self.conn().await?;
        let totals: TotalsRow = diesel::sql_query(unread_totals_sql())
            .bind::<BigInt, _>(user.get())
            .bind::<Timestamptz, _>(now.datetime())
            .prepared()
            .get_result(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(UnreadTotals {
            total_unread: totals.total_unread,
            unread_conversation_count: totals.unread_conversation_count,
            mention_count: totals.mention_count,
        })
    }
}

/// The memberships `m` (of conversations `c`) that count toward a user's
/// totals at `$2`: neither hidden nor muted. Only those with a top-level
/// message past the cursor can have anything unread: the ordinal comparison
/// skips the rest.
const COUNTED_IN_TOTALS: &str = "NOT m.hidden AND (m.mute_until IS NULL OR m.mute_until <= $2) \
    AND c.top_count > m.read_top_ordinal";

/// get-unread-counts: one pass over the user's memberships (`$1`, now `$2`).
pub(crate) fn unread_totals_sql() -> String {
    format!(
        "SELECT COALESCE(sum(unread.unread_count), 0)::bigint AS total_unread, \
           count(*) FILTER (WHERE unread.unread_count > 0) AS unread_conversation_count, \
           COALESCE(sum(unread.mention_count), 0)::bigint AS mention_count \
         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
         {UNREAD_LATERAL} \
         WHERE m.user_id = $1 AND {COUNTED_IN_TOTALS}"
    )
}

/// The `totalUnread` of each of the users `$1` at `$2` (push badges): the
/// same figure as get-unread-counts, for a batch of users at once. Users
/// with nothing unread have no row.
pub(crate) fn users_total_unread_sql() -> String {
    format!(
        "SELECT m.user_id AS id, sum(unread.unread_count)::bigint AS total_unread \
         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
         {UNREAD_LATERAL} \
         WHERE m.user_id = ANY($1) AND {COUNTED_IN_TOTALS} \
         GROUP BY m.user_id"
    )
}
