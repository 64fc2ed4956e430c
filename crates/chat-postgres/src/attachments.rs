//! Attachments: rows, linking to messages, listing, and the janitor's view.

use async_trait::async_trait;
use chat_domain::attachment::{AttachmentQuery, NewAttachment};
use chat_domain::events::EventsFor;
use chat_domain::message::{Attachment, MessageView};
use chat_domain::ports::AttachmentRepository;
use chat_domain::rules;
use chat_domain::{AttachmentId, ChatError, MessageId, Timestamp};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::PgStore;
use crate::error::{StoreError, StoreResult, db_error};
use crate::prepared::Prepare;
use crate::rows::{ATTACHMENT_COLUMNS, AttachmentRow};
use crate::views::{decorate, load_message};

#[async_trait]
impl AttachmentRepository for PgStore {
    async fn create_attachment(&self, new: NewAttachment) -> Result<Attachment, ChatError> {
        let mut conn = self.conn().await?;
        let row: AttachmentRow = diesel::sql_query(format!(
            "INSERT INTO attachments (conversation_id, uploader_id, filename, content_type, size, object_key, \
               ready, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ATTACHMENT_COLUMNS}"
        ))
        .bind::<BigInt, _>(new.conversation_id.get())
        .bind::<BigInt, _>(new.uploader_id.get())
        .bind::<Text, _>(&new.filename)
        .bind::<Text, _>(&new.content_type)
        .bind::<BigInt, _>(new.size)
        .bind::<Text, _>(&new.object_key)
        .bind::<Bool, _>(new.ready)
        .bind::<Timestamptz, _>(new.created_at.datetime())
        .prepared()
        .get_result(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(row.into_domain())
    }

    async fn find_attachment(&self, id: AttachmentId) -> Result<Option<Attachment>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1"
        ))
        .bind::<BigInt, _>(id.get())
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().next().map(AttachmentRow::into_domain))
    }

    async fn mark_ready(&self, id: AttachmentId) -> Result<Attachment, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
            "UPDATE attachments SET ready = true WHERE id = $1 RETURNING {ATTACHMENT_COLUMNS}"
        ))
        .bind::<BigInt, _>(id.get())
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .next()
            .map(AttachmentRow::into_domain)
            .ok_or(ChatError::NotFound("attachment"))
    }

    async fn link_attachment(
        &self,
        id: AttachmentId,
        message: MessageId,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<MessageView> {
            let linked = diesel::sql_query(
                "UPDATE attachments a SET message_id = $2 FROM messages m \
                 WHERE a.id = $1 AND a.ready AND a.message_id IS NULL \
                   AND m.id = $2 AND m.deleted_at IS NULL AND m.conversation_id = a.conversation_id",
            )
            .bind::<BigInt, _>(id.get())
            .bind::<BigInt, _>(message.get())
            .prepared()
            .execute(&mut *conn)
            .await?;
            rules::may_attach_to_message(linked > 0)?;
            let mut view = load_message(conn, message.get())
                .await?
                .ok_or(StoreError::Chat(ChatError::NotFound("message")))?
                .into_view();
            let sender = view.message.sender_id;
            decorate(conn, Some(sender), std::slice::from_mut(&mut view)).await?;
            outbox.write(conn, events(&view)).await?;
            Ok(view)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn list_attachments(&self, query: AttachmentQuery) -> Result<Vec<Attachment>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
            "SELECT {} FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE a.conversation_id = $1 AND m.deleted_at IS NULL AND m.seq > $2 \
               AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3, $4)) \
             ORDER BY a.created_at DESC, a.id DESC LIMIT $5",
            ATTACHMENT_COLUMNS
                .split(", ")
                .map(|c| format!("a.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
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
        Ok(rows.into_iter().map(AttachmentRow::into_domain).collect())
    }

    async fn stale_attachments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE NOT ready AND created_at < $1 ORDER BY created_at LIMIT $2"
        ))
        .bind::<Timestamptz, _>(before.datetime())
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(AttachmentRow::into_domain).collect())
    }

    async fn delete_attachment(&self, id: AttachmentId) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("DELETE FROM attachments WHERE id = $1 AND NOT ready")
            .bind::<BigInt, _>(id.get())
            .prepared()
            .execute(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
