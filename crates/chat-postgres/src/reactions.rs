//! Reactions, pins and reports, and the per-viewer decoration of message
//! views (reaction counts, the viewer's reactions, pinned flags).

use async_trait::async_trait;
use chat_domain::events::EventsFor;
use chat_domain::message::{
    NewReport, Pin, PinChange, PinListQuery, Reaction, ReactionAction, ReactionChange,
    ReactionListQuery, ReactionRequest,
};
use chat_domain::ports::ReactionRepository;
use chat_domain::rules;
use chat_domain::{ChatError, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::{try_join, try_join5};
use time::OffsetDateTime;

use crate::PgStore;
use crate::conversations::load_access_to_message;
use crate::error::{StoreError, StoreResult, db_error};
use crate::locks;
use crate::pipeline::pipelined;
use crate::prepared::Prepare;
use crate::rows::{IdRow, MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow, USER_COLUMNS, UserRow};
use crate::views::{Decorations, MessageIds, decorate, load_message};

#[derive(QueryableByName)]
struct ReactionRow {
    #[diesel(embed)]
    user: UserRow,
    #[diesel(sql_type = Text)]
    emoji: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
}

#[derive(QueryableByName)]
struct PinRow {
    #[diesel(embed)]
    message: MessageRow,
    #[diesel(sql_type = BigInt)]
    pinned_by: i64,
    #[diesel(sql_type = Timestamptz)]
    pinned_at: OffsetDateTime,
}

#[async_trait]
impl ReactionRepository for PgStore {
    async fn react(
        &self,
        request: ReactionRequest,
        events: EventsFor<ReactionChange>,
    ) -> Result<ReactionChange, ChatError> {
        let ReactionRequest {
            message_id: id,
            user_id: user,
            emoji,
            action,
            max_distinct,
            at: now,
        } = request;
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        // Three round trips: BEGIN, the message's lock and the facts the
        // rules need (the message, the caller's access, the counts); the
        // change with the reads for the event; the event with COMMIT.
        pipelined(&mut conn, async |tx| -> StoreResult<ReactionChange> {
            let c = tx.conn();
            // One message's reactions change one at a time: the capacity
            // check and the insert cannot interleave.
            // Every fact query binds the same three values (message, user,
            // emoji), whether it uses all of them or not.
            let counts = |sql: &'static str| {
                let mut c = c;
                diesel::sql_query(sql)
                    .bind::<BigInt, _>(id.get())
                    .bind::<BigInt, _>(user.get())
                    .bind::<Text, _>(emoji.as_str())
                    .prepared()
                    .get_result::<IdRow>(&mut c)
                    .map_err(StoreError::from)
            };
            let (locked, (message, access), present, others, known) = tx
                .begin_with(try_join5(
                    locks::existing_message(c, id),
                    try_join(
                        load_message(c, id.get()),
                        load_access_to_message(c, id, user),
                    ),
                    counts(
                        "SELECT count(*) AS id FROM message_reactions \
                         WHERE message_id = $1 AND user_id = $2 AND emoji = $3",
                    ),
                    counts(
                        "SELECT count(DISTINCT emoji) AS id FROM message_reactions \
                         WHERE message_id = $1 AND emoji <> $3",
                    ),
                    counts(
                        "SELECT count(*) AS id FROM message_reactions \
                         WHERE message_id = $1 AND emoji = $3",
                    ),
                ))
                .await?;
            let conversation_id = locked.conversation_id();
            // Read after the lock: the row cannot change before COMMIT, so
            // it is also the row the event describes.
            let mut view = message
                .ok_or(StoreError::Chat(ChatError::NotFound("message")))?
                .into_view();
            rules::may_react(access, &view.message).map_err(StoreError::Chat)?;
            let exists = present.id > 0;
            let want = match action {
                ReactionAction::Add => true,
                ReactionAction::Remove => false,
                ReactionAction::Toggle => !exists,
            };
            let (delta, change_sql) = if want && !exists {
                rules::may_add_reaction(
                    known.id > 0,
                    usize::try_from(others.id).unwrap_or(usize::MAX),
                    max_distinct,
                )?;
                (
                    1,
                    Some(
                        "INSERT INTO message_reactions (message_id, user_id, emoji, created_at) \
                         VALUES ($1, $2, $3, $4)",
                    ),
                )
            } else if !want && exists {
                (
                    -1,
                    Some(
                        "DELETE FROM message_reactions \
                         WHERE message_id = $1 AND user_id = $2 AND emoji = $3",
                    ),
                )
            } else {
                (0, None)
            };
            // The change binds message, user, emoji and time (a DELETE
            // leaves the time unused).
            let change = async {
                let Some(sql) = change_sql else {
                    return Ok(0);
                };
                let mut c = c;
                diesel::sql_query(sql)
                    .bind::<BigInt, _>(id.get())
                    .bind::<BigInt, _>(user.get())
                    .bind::<Text, _>(emoji.as_str())
                    .bind::<Timestamptz, _>(now.datetime())
                    .prepared()
                    .execute(&mut c)
                    .await
                    .map_err(StoreError::from)
            };
            let (_, decorations) = try_join(
                change,
                Decorations::load(c, MessageIds::LIST, &[id.get()], Some(user)),
            )
            .await?;
            decorations.apply(std::slice::from_mut(&mut view));
            let change = ReactionChange {
                message_id: id,
                conversation_id,
                message_seq: view.message.seq,
                emoji: emoji.as_str().to_owned(),
                user_id: user,
                delta,
                reaction_counts: view.reaction_counts,
                user_reactions: view.user_reactions,
            };
            outbox.write_and_commit(tx, events(&change)).await?;
            Ok(change)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn reactions(&self, query: ReactionListQuery) -> Result<(Vec<Reaction>, i64), ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ReactionRow> = diesel::sql_query(format!(
            "SELECT {USER_COLUMNS}, r.emoji, r.created_at FROM message_reactions r JOIN users u ON u.id = r.user_id \
             WHERE r.message_id = $1 AND r.emoji = $2 \
               AND ($3::timestamptz IS NULL OR (r.created_at, r.user_id) > ($3, $4)) \
             ORDER BY r.created_at, r.user_id LIMIT $5"
        ))
        .bind::<BigInt, _>(query.message_id.get())
        .bind::<Text, _>(query.emoji.as_str())
        .bind::<Nullable<Timestamptz>, _>(query.after.map(|(at, _)| at.datetime()))
        .bind::<BigInt, _>(query.after.map_or(0, |(_, user)| user.get()))
        .bind::<BigInt, _>(i64::try_from(query.limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        let total: IdRow = diesel::sql_query(
            "SELECT count(*) AS id FROM message_reactions WHERE message_id = $1 AND emoji = $2",
        )
        .bind::<BigInt, _>(query.message_id.get())
        .bind::<Text, _>(query.emoji.as_str())
        .prepared()
        .get_result(&mut conn)
        .await
        .map_err(db_error)?;
        let reactions = rows
            .into_iter()
            .map(|r| Reaction {
                user: r.user.into_domain(),
                emoji: r.emoji,
                created_at: Timestamp::from_datetime(r.created_at),
            })
            .collect();
        Ok((reactions, total.id))
    }

    async fn set_pinned(
        &self,
        id: MessageId,
        user: UserId,
        pinned: bool,
        max_pins: usize,
        now: Timestamp,
        events: EventsFor<PinChange>,
    ) -> Result<PinChange, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<PinChange> {
            let conversation_id = locks::existing_message(conn, id).await?.conversation_id();
            // The conversation's pins change one at a time (capacity).
            locks::conversation(conn, conversation_id).await?;
            let changed = if pinned {
                let count: IdRow = diesel::sql_query(
                    "SELECT count(*) AS id FROM pinned_messages WHERE conversation_id = $1 AND message_id <> $2",
                )
                .bind::<BigInt, _>(conversation_id.get())
                .bind::<BigInt, _>(id.get())
                .prepared()
                .get_result(&mut *conn)
                .await?;
                let inserted = diesel::sql_query(
                    "INSERT INTO pinned_messages (message_id, conversation_id, pinned_by, pinned_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING",
                )
                .bind::<BigInt, _>(id.get())
                .bind::<BigInt, _>(conversation_id.get())
                .bind::<BigInt, _>(user.get())
                .bind::<Timestamptz, _>(now.datetime())
                .prepared()
                .execute(&mut *conn)
                .await?;
                if inserted > 0 {
                    rules::may_pin(usize::try_from(count.id).unwrap_or(usize::MAX), max_pins)?;
                }
                inserted > 0
            } else {
                diesel::sql_query("DELETE FROM pinned_messages WHERE message_id = $1")
                    .bind::<BigInt, _>(id.get())
                    .prepared()
                    .execute(&mut *conn)
                    .await?
                    > 0
            };
            let mut view = load_message(conn, id.get())
                .await?
                .ok_or(StoreError::Chat(ChatError::NotFound("message")))?
                .into_view();
            decorate(conn, Some(user), std::slice::from_mut(&mut view)).await?;
            let change = PinChange { message: view, pinned_by: user, changed };
            outbox.write(conn, events(&change)).await?;
            Ok(change)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn pins(&self, query: PinListQuery, viewer: UserId) -> Result<Vec<Pin>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<PinRow> = diesel::sql_query(format!(
            "SELECT {MESSAGE_COLUMNS}, p.pinned_by, p.pinned_at \
             FROM pinned_messages p JOIN messages x ON x.id = p.message_id {MESSAGE_JOINS} \
             WHERE p.conversation_id = $1 AND x.seq > $2 \
               AND ($3::timestamptz IS NULL OR (p.pinned_at, p.message_id) < ($3, $4)) \
             ORDER BY p.pinned_at DESC, p.message_id DESC LIMIT $5"
        ))
        .bind::<BigInt, _>(query.conversation_id.get())
        .bind::<BigInt, _>(query.visible_after_seq)
        .bind::<Nullable<Timestamptz>, _>(query.after.map(|(at, _)| at.datetime()))
        .bind::<BigInt, _>(query.after.map_or(0, |(_, id)| id.get()))
        .bind::<BigInt, _>(i64::try_from(query.limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        let mut meta = Vec::with_capacity(rows.len());
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            meta.push((
                UserId::new(row.pinned_by),
                Timestamp::from_datetime(row.pinned_at),
            ));
            views.push(row.message.into_view());
        }
        decorate(&conn, Some(viewer), &mut views)
            .await
            .map_err(StoreError::into_chat)?;
        Ok(views
            .into_iter()
            .zip(meta)
            .map(|(message, (pinned_by, pinned_at))| Pin {
                message,
                pinned_by,
                pinned_at,
            })
            .collect())
    }

    async fn report(&self, report: NewReport) -> Result<bool, ChatError> {
        let mut conn = self.conn().await?;
        let inserted = diesel::sql_query(
            "INSERT INTO message_reports (message_id, conversation_id, reporter_id, reason, details, \
               content_snapshot, created_at) \
             SELECT $1, $2, $3, $4, $5, x.content, $6 FROM messages x WHERE x.id = $1 \
             ON CONFLICT ON CONSTRAINT message_reports_once_key DO NOTHING",
        )
        .bind::<BigInt, _>(report.message_id.get())
        .bind::<BigInt, _>(report.conversation_id.get())
        .bind::<BigInt, _>(report.reporter_id.get())
        .bind::<Text, _>(report.reason.as_str())
        .bind::<Nullable<Text>, _>(report.details.as_deref())
        .bind::<Timestamptz, _>(report.created_at.datetime())
        .prepared()
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(inserted > 0)
    }
}
