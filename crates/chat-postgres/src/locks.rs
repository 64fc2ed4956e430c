//! Row locks, and the one order every transaction takes them in:
//!
//! 1. the message's row (an edit, a delete, a reaction, a pin, previews
//!    arriving, and a reply, which changes its parent's thread counters);
//! 2. the conversation's row (a send takes the next `seq` through it; every
//!    cursor move, membership change and outbox write of the conversation
//!    takes it, so outbox ids are in commit order);
//! 3. member rows (unread counters, cursors).
//!
//! Two transactions that take locks in opposite orders can wait for each
//! other forever; PostgreSQL then aborts one ("deadlock detected"), which a
//! caller would see as a failed request. Every lock of those rows is taken
//! through this module, so the order is written in one place.

use chat_domain::conversation::Conversation;
use chat_domain::{ChatError, ConversationId, MessageId};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::{StoreError, StoreResult};
use crate::prepared::Prepare;
use crate::rows::{CONVERSATION_COLUMNS, ConversationRow};

/// What a message's lock reads of it.
#[derive(QueryableByName)]
pub(crate) struct LockedMessage {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

impl LockedMessage {
    pub(crate) fn conversation_id(&self) -> ConversationId {
        ConversationId::new(self.conversation_id)
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted
    }
}

/// Locks a message's row for the rest of the transaction (step 1); `None`
/// when there is no such message.
pub(crate) async fn message(
    mut conn: &AsyncPgConnection,
    id: MessageId,
) -> StoreResult<Option<LockedMessage>> {
    let rows: Vec<LockedMessage> = diesel::sql_query(
        "SELECT conversation_id, deleted_at IS NOT NULL AS deleted FROM messages \
         WHERE id = $1 FOR UPDATE",
    )
    .bind::<BigInt, _>(id.get())
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Locks a message's row (step 1); `not_found` when there is none.
pub(crate) async fn existing_message(
    conn: &AsyncPgConnection,
    id: MessageId,
) -> StoreResult<LockedMessage> {
    message(conn, id)
        .await?
        .ok_or(StoreError::Chat(ChatError::NotFound("message")))
}

/// Locks a conversation's row for the rest of the transaction (step 2); a
/// no-op when the transaction already holds it. Sent without waiting, it
/// can lead a pipelined batch.
pub(crate) async fn conversation(
    mut conn: &AsyncPgConnection,
    id: ConversationId,
) -> StoreResult<()> {
    diesel::sql_query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .bind::<BigInt, _>(id.get())
        .prepared()
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Locks a conversation's row (step 2) and reads it as it is now:
/// membership changes of one conversation happen one at a time, on facts no
/// one else can change before they commit.
pub(crate) async fn conversation_row(
    mut conn: &AsyncPgConnection,
    id: ConversationId,
) -> StoreResult<Conversation> {
    let rows: Vec<ConversationRow> = diesel::sql_query(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1 FOR UPDATE"
    ))
    .bind::<BigInt, _>(id.get())
    .prepared()
    .load(&mut conn)
    .await?;
    let row = rows
        .into_iter()
        .next()
        .ok_or(StoreError::Chat(ChatError::NotFound("conversation")))?;
    Ok(row.into_domain()?)
}
