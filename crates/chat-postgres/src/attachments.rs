//! Attachments: rows, linking to messages, listing, and the janitor's view.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_domain::attachment::{AttachmentQuery, NewAttachment};
use chat_domain::events::EventsFor;
use chat_domain::message::{Attachment, MessageView};
use chat_domain::ports::AttachmentRepository;
use chat_domain::rules;
use chat_domain::{AttachmentId, ChatError, ConversationId, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::PgStore;
use crate::error::{StoreError, StoreResult};
use crate::messages::load_message;
use crate::prepared::Prepare;
use crate::reactions::decorate;

const COLUMNS: &str = "id, conversation_id, message_id, uploader_id, filename, content_type, size, object_key, ready, created_at";

#[derive(QueryableByName)]
struct AttachmentRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    message_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    uploader_id: i64,
    #[diesel(sql_type = Text)]
    filename: String,
    #[diesel(sql_type = Text)]
    content_type: String,
    #[diesel(sql_type = BigInt)]
    size: i64,
    #[diesel(sql_type = Text)]
    object_key: String,
    #[diesel(sql_type = Bool)]
    ready: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
}

impl AttachmentRow {
    fn into_domain(self) -> Attachment {
        Attachment {
            id: AttachmentId::new(self.id),
            conversation_id: ConversationId::new(self.conversation_id),
            message_id: self.message_id.map(MessageId::new),
            uploader_id: UserId::new(self.uploader_id),
            filename: self.filename,
            content_type: self.content_type,
            size: self.size,
            ready: self.ready,
            created_at: Timestamp::from_datetime(self.created_at),
            object_key: self.object_key,
            url: None,
        }
    }
}

/// The attachments of these messages, oldest first.
pub(crate) async fn load_attachments(
    mut conn: &AsyncPgConnection,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<Attachment>>> {
    let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM attachments WHERE message_id = ANY($1) ORDER BY message_id, created_at, id"
    ))
    .bind::<Array<BigInt>, _>(ids)
    .prepared()
    .load(&mut conn)
    .await?;
    let mut by_message: HashMap<i64, Vec<Attachment>> = HashMap::new();
    for row in rows {
        if let Some(message) = row.message_id {
            by_message
                .entry(message)
                .or_default()
                .push(row.into_domain());
        }
    }
    Ok(by_message)
}

#[async_trait]
impl AttachmentRepository for PgStore {
    async fn create_attachment(&self, new: NewAttachment) -> Result<Attachment, ChatError> {
        let mut conn = self.conn().await?;
        let row: AttachmentRow = diesel::sql_query(format!(
            "INSERT INTO attachments (conversation_id, uploader_id, filename, content_type, size, object_key, \
               ready, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
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
        .map_err(|e| StoreError::from(e).into_chat())?;
        Ok(row.into_domain())
    }

    async fn find_attachment(&self, id: AttachmentId) -> Result<Option<Attachment>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> =
            diesel::sql_query(format!("SELECT {COLUMNS} FROM attachments WHERE id = $1"))
                .bind::<BigInt, _>(id.get())
                .prepared()
                .load(&mut conn)
                .await
                .map_err(|e| StoreError::from(e).into_chat())?;
        Ok(rows.into_iter().next().map(AttachmentRow::into_domain))
    }

    async fn mark_ready(&self, id: AttachmentId) -> Result<Attachment, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
            "UPDATE attachments SET ready = true WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind::<BigInt, _>(id.get())
        .prepared()
        .load(&mut conn)
        .await
        .map_err(|e| StoreError::from(e).into_chat())?;
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
            COLUMNS
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
        .map_err(|e| StoreError::from(e).into_chat())?;
        Ok(rows.into_iter().map(AttachmentRow::into_domain).collect())
    }

    async fn stale_attachments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM attachments WHERE NOT ready AND created_at < $1 ORDER BY created_at LIMIT $2"
        ))
        .bind::<Timestamptz, _>(before.datetime())
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(|e| StoreError::from(e).into_chat())?;
        Ok(rows.into_iter().map(AttachmentRow::into_domain).collect())
    }

    async fn delete_attachment(&self, id: AttachmentId) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("DELETE FROM attachments WHERE id = $1 AND NOT ready")
            .bind::<BigInt, _>(id.get())
            .prepared()
            .execute(&mut conn)
            .await
            .map_err(|e| StoreError::from(e).into_chat())?;
        Ok(())
    }
}
