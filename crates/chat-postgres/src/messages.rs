//! Messages: lookups, pages, edits and deletes (the send is `send.rs`, the
//! page query `pages.rs`).

use async_trait::async_trait;
use chat_domain::conversation::Access;
use chat_domain::events::EventsFor;
use chat_domain::message::{Message, MessagePatch, MessageRange, MessageView, NewMessage};
use chat_domain::ports::{Created, MessageRepository, SentMessage};
use chat_domain::rules;
use chat_domain::{ChatError, MessageId, Timestamp, UserId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::{try_join, try_join3};

use crate::PgStore;
use crate::conversations::{load_access, load_access_to_message};
use crate::error::{StoreError, StoreResult};
use crate::locks;
use crate::pages::load_range;
use crate::prepared::Prepare;
use crate::previews::queue_links;
use crate::rows::MessageRow;
use crate::search::search_vector;
use crate::views::{decorate, decorated, load_message};

#[async_trait]
impl MessageRepository for PgStore {
    async fn insert(
        &self,
        new: NewMessage,
        events: EventsFor<SentMessage>,
    ) -> Result<Created<SentMessage>, ChatError> {
        self.send(new, events).await
    }

    async fn find(&self, id: MessageId) -> Result<Option<Message>, ChatError> {
        let conn = self.conn().await?;
        let row = load_message(&conn, id.get())
            .await
            .map_err(StoreError::into_chat)?;
        Ok(row.map(|r| r.message()))
    }

    async fn find_with_access(
        &self,
        id: MessageId,
        viewer: UserId,
    ) -> Result<(Option<Message>, Option<Access>), ChatError> {
        let conn = self.conn().await?;
        // Two statements, one round trip.
        let (row, access) = try_join(
            load_message(&conn, id.get()),
            load_access_to_message(&conn, id, viewer),
        )
        .await
        .map_err(StoreError::into_chat)?;
        Ok((row.map(|r| r.message()), access))
    }

    async fn view(&self, id: MessageId, viewer: UserId) -> Result<Option<MessageView>, ChatError> {
        let conn = self.conn().await?;
        let row = load_message(&conn, id.get())
            .await
            .map_err(StoreError::into_chat)?;
        let Some(mut view) = row.map(MessageRow::into_view) else {
            return Ok(None);
        };
        decorate(&conn, Some(viewer), std::slice::from_mut(&mut view))
            .await
            .map_err(StoreError::into_chat)?;
        Ok(Some(view))
    }

    async fn range(
        &self,
        range: MessageRange,
        viewer: UserId,
    ) -> Result<Vec<MessageView>, ChatError> {
        let conn = self.conn().await?;
        load_range(&conn, &range, viewer)
            .await
            .map_err(StoreError::into_chat)
    }

    async fn range_with_access(
        &self,
        range: MessageRange,
        viewer: UserId,
    ) -> Result<(Option<Access>, Vec<MessageView>), ChatError> {
        let conn = self.conn().await?;
        // Three statements, one round trip.
        try_join(
            load_access(&conn, range.conversation_id, viewer),
            load_range(&conn, &range, viewer),
        )
        .await
        .map_err(StoreError::into_chat)
    }

    async fn edit(
        &self,
        id: MessageId,
        patch: MessagePatch,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<MessageView> {
            let current = lock_live(conn, id).await?;
            let mentions: Option<Vec<i64>> = patch
                .mentions
                .as_ref()
                .map(|m| m.iter().map(|u| u.get()).collect());
            diesel::sql_query(
                "UPDATE messages SET content = COALESCE($2, content), \
                   gif = CASE WHEN $3 THEN $4 ELSE gif END, \
                   mentions = COALESCE($5, mentions), \
                   mention_everyone = COALESCE($6, mention_everyone), \
                   metadata = CASE WHEN $7 THEN $8::jsonb ELSE metadata END, \
                   edited_at = $9, \
                   search_vector = CASE WHEN $2 IS NULL THEN search_vector ELSE $10::tsvector END \
                 WHERE id = $1",
            )
            .bind::<BigInt, _>(id.get())
            .bind::<Nullable<Text>, _>(patch.content.as_ref().map(|c| c.as_str()))
            .bind::<Bool, _>(patch.gif.is_some())
            .bind::<Nullable<Text>, _>(patch.gif.clone().flatten())
            .bind::<Nullable<Array<BigInt>>, _>(mentions.as_ref())
            .bind::<Nullable<Bool>, _>(patch.mention_everyone)
            .bind::<Bool, _>(patch.metadata.is_some())
            .bind::<Nullable<Text>, _>(patch.metadata.clone().flatten())
            .bind::<Timestamptz, _>(patch.edited_at.datetime())
            .bind::<Text, _>(
                patch
                    .content
                    .as_ref()
                    .map(|c| search_vector(c.as_str()))
                    .unwrap_or_default(),
            )
            .prepared()
            .execute(&mut *conn)
            .await?;
            let mentions_now = mentions.as_ref().is_some_and(|m| !m.is_empty())
                || patch.mention_everyone == Some(true);
            if mentions_now && current.is_top_level() {
                // Mention probes run for cursors before this message again.
                diesel::sql_query(
                    "UPDATE conversations SET last_mention_seq = greatest(last_mention_seq, $2) \
                     WHERE id = $1",
                )
                .bind::<BigInt, _>(current.conversation_id.get())
                .bind::<BigInt, _>(current.seq)
                .prepared()
                .execute(&mut *conn)
                .await?;
            }
            if let (Some(mentions), true) = (mentions, current.is_top_level()) {
                let mut c: &AsyncPgConnection = conn;
                let clear = diesel::sql_query("DELETE FROM message_mentions WHERE message_id = $1")
                    .bind::<BigInt, _>(id.get())
                    .prepared()
                    .execute(&mut c);
                let insert = diesel::sql_query(
                    "INSERT INTO message_mentions (conversation_id, user_id, seq, message_id) \
                     SELECT $1, u, $2, $3 FROM unnest($4::bigint[]) AS u WHERE u <> $5",
                )
                .bind::<BigInt, _>(current.conversation_id.get())
                .bind::<BigInt, _>(current.seq)
                .bind::<BigInt, _>(id.get())
                .bind::<Array<BigInt>, _>(&mentions)
                .bind::<BigInt, _>(current.sender_id.get())
                .prepared()
                .execute(&mut c);
                try_join(clear, insert).await?;
            }
            if let Some(links) = &patch.links {
                queue_links(conn, id.get(), links).await?;
            }
            let view = decorated(conn, id, current.sender_id).await?;
            outbox.write(conn, events(&view)).await?;
            Ok(view)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn delete(
        &self,
        id: MessageId,
        at: Timestamp,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<MessageView> {
            let current = load_locked(conn, id).await?;
            if current.is_deleted() {
                return decorated(conn, id, current.sender_id).await;
            }
            // A tombstone keeps its place (seq, ordinal, thread) and loses
            // its content, mentions and pin.
            diesel::sql_query(
                "UPDATE messages SET content = '', gif = NULL, metadata = NULL, mentions = '{}', \
                   mention_everyone = false, deleted_at = $2, search_vector = ''::tsvector WHERE id = $1",
            )
            .bind::<BigInt, _>(id.get())
            .bind::<Timestamptz, _>(at.datetime())
            .prepared()
            .execute(&mut *conn)
            .await?;
            if current.is_top_level() {
                count_deleted_past_cursors(conn, &current).await?;
            }
            let mut c: &AsyncPgConnection = conn;
            let mentions = diesel::sql_query("DELETE FROM message_mentions WHERE message_id = $1")
                .bind::<BigInt, _>(id.get())
                .prepared()
                .execute(&mut c)
                .map_err(StoreError::from);
            let pin = diesel::sql_query("DELETE FROM pinned_messages WHERE message_id = $1")
                .bind::<BigInt, _>(id.get())
                .prepared()
                .execute(&mut c)
                .map_err(StoreError::from);
            try_join3(queue_links(c, id.get(), &[]), mentions, pin).await?;
            let view = decorated(conn, id, current.sender_id).await?;
            outbox.write(conn, events(&view)).await?;
            Ok(view)
        })
        .await
        .map_err(StoreError::into_chat)
    }
}

/// A top-level message just deleted leaves the unread count of every member
/// whose cursor is before it: their `deleted_top_after_read` grows by one
/// (and the sender's `own_top_after_read` shrinks, the message being no
/// longer live). The conversation's row lock comes first, as in every cursor
/// move, so a concurrent mark-read either sees the tombstone or is seen by
/// this update.
async fn count_deleted_past_cursors(
    mut conn: &AsyncPgConnection,
    message: &Message,
) -> StoreResult<()> {
    let lock = locks::conversation(conn, message.conversation_id);
    let counters = diesel::sql_query(
        "UPDATE conversation_members SET deleted_top_after_read = deleted_top_after_read + 1, \
           own_top_after_read = own_top_after_read - CASE WHEN user_id = $3 THEN 1 ELSE 0 END \
         WHERE conversation_id = $1 AND last_read_seq < $2",
    )
    .bind::<BigInt, _>(message.conversation_id.get())
    .bind::<BigInt, _>(message.seq)
    .bind::<BigInt, _>(message.sender_id.get())
    .prepared()
    .execute(&mut conn)
    .map_err(StoreError::from);
    try_join(lock, counters).await?;
    Ok(())
}

/// The message, locked for the rest of the transaction.
async fn load_locked(conn: &AsyncPgConnection, id: MessageId) -> StoreResult<Message> {
    // The lock and the read go out together; the read runs after the lock.
    let (_, message) = try_join(
        locks::existing_message(conn, id),
        load_message(conn, id.get()),
    )
    .await?;
    Ok(message
        .ok_or(StoreError::Chat(ChatError::NotFound("message")))?
        .message())
}

/// The live message, locked; `conflict` when deleted.
async fn lock_live(conn: &AsyncPgConnection, id: MessageId) -> StoreResult<Message> {
    let message = load_locked(conn, id).await?;
    rules::must_be_live(message.is_deleted())?;
    Ok(message)
}
