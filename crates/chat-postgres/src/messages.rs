//! Messages: the send transaction, lookups and timeline ranges.

use async_trait::async_trait;
use chat_domain::conversation::Access;
use chat_domain::events::EventsFor;
use chat_domain::message::{Message, MessagePatch, MessageRange, MessageView, NewMessage};
use chat_domain::ports::{Created, MemberUnread, MessageRepository, SentMessage};
use chat_domain::rules;
use chat_domain::{ChatError, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::{try_join, try_join_all, try_join3, try_join5};

use crate::PgStore;
use crate::conversations::{UNREAD_LATERAL, load_access, load_access_to_message};
use crate::error::{StoreError, StoreResult};
use crate::locks;
use crate::pipeline::pipelined;
use crate::prepared::Prepare;
use crate::previews::queue_links;
use crate::rows::{IdRow, MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow};
use crate::search::search_vector;
use crate::views::{Decorations, MessageIds, decorate, load_message};

#[derive(QueryableByName)]
struct CountersRow {
    #[diesel(sql_type = BigInt)]
    member_count: i64,
}

#[derive(QueryableByName)]
struct MemberUnreadRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    unread_count: i64,
    #[diesel(sql_type = BigInt)]
    mention_count: i64,
}

/// The message a send just inserted, as `x`: the one holding the seq the
/// send took (`$1` is the conversation). Statements later in the same
/// pipeline find it this way, without waiting for the INSERT's answer. When
/// the conversation is gone it names no message.
///
/// The seq is a scalar subquery, not a join, so the lookup is an equality on
/// the whole `(conversation_id, seq)` key whatever the statistics say: as a
/// join, a plan cached while the table was small scanned every message of
/// the conversation and filtered on seq (a send cost grew with the
/// conversation).
const NEW_MESSAGE: &str = "(SELECT * FROM messages WHERE conversation_id = $1 \
    AND seq = (SELECT last_seq FROM conversations WHERE id = $1)) x";

/// What the send transaction's first round trip brings back.
struct Written {
    /// `None` when the conversation no longer exists.
    member_count: Option<i64>,
    message: Option<MessageRow>,
    parent: Option<MessageView>,
    member_unread: Vec<MemberUnread>,
}

type Statement<'c> = futures_util::future::BoxFuture<'c, StoreResult<()>>;

/// Every write of a send and the reads its events need, as one pipelined
/// batch: PostgreSQL runs them in this order, each seeing the ones before.
async fn write_message(mut conn: &AsyncPgConnection, new: &NewMessage) -> StoreResult<Written> {
    let conversation = new.conversation_id.get();
    let top_level = new.parent_id.is_none();
    let mentions: Vec<i64> = new.mentions.iter().map(|u| u.get()).collect();
    let attachments: Vec<i64> = new.attachment_ids.iter().map(|a| a.get()).collect();

    // A reply changes its parent's thread counters: the parent's row is
    // locked before the conversation's (the lock order, `locks.rs`).
    let parent_lock = async {
        match new.parent_id {
            Some(parent) => locks::message(conn, parent).await.map(drop),
            None => Ok(()),
        }
    };
    // Taking the next seq locks the conversation row until commit, so `seq`
    // is gap-free (a rollback returns it) and in commit order.
    let counters = diesel::sql_query(
        "UPDATE conversations SET last_seq = last_seq + 1, \
           top_count = top_count + CASE WHEN $2 THEN 1 ELSE 0 END, \
           last_message_at = CASE WHEN $2 THEN $3 ELSE last_message_at END, \
           activity_at = CASE WHEN $2 THEN $3 ELSE activity_at END, \
           last_mention_seq = CASE WHEN $2 AND $4 THEN last_seq + 1 ELSE last_mention_seq END, \
           newest_message_at = greatest(newest_message_at, $3) \
         WHERE id = $1 RETURNING member_count",
    )
    .bind::<BigInt, _>(conversation)
    .bind::<Bool, _>(top_level)
    .bind::<Timestamptz, _>(new.created_at.datetime())
    .bind::<Bool, _>(!mentions.is_empty() || new.mention_everyone)
    .prepared()
    .load::<CountersRow>(&mut conn)
    .map_err(StoreError::from);
    let counters = try_join(parent_lock, counters).map_ok(|(_, counters)| counters);

    let mut writes: Vec<Statement<'_>> = Vec::new();
    // A repeated clientMsgId fails here (unique key): the caller answers
    // with the original message.
    writes.push(execute(
        diesel::sql_query(
            "INSERT INTO messages (conversation_id, seq, top_ordinal, sender_id, content, gif, mentions, \
               mention_everyone, parent_id, quoted_message_id, metadata, client_msg_id, created_at, \
               search_vector) \
             SELECT c.id, c.last_seq, CASE WHEN $2 THEN c.top_count END, $3, $4, $5, $6, $7, $8, $9, \
               $10::jsonb, $11, $12, $13::tsvector \
             FROM conversations c WHERE c.id = $1",
        )
        .bind::<BigInt, _>(conversation)
        .bind::<Bool, _>(top_level)
        .bind::<BigInt, _>(new.sender_id.get())
        .bind::<Text, _>(new.content.as_str())
        .bind::<Nullable<Text>, _>(new.gif.as_deref())
        .bind::<Array<BigInt>, _>(mentions.clone())
        .bind::<Bool, _>(new.mention_everyone)
        .bind::<Nullable<BigInt>, _>(new.parent_id.map(|p| p.get()))
        .bind::<Nullable<BigInt>, _>(new.quoted_message_id.map(|q| q.get()))
        .bind::<Nullable<Text>, _>(new.metadata.clone())
        .bind::<Nullable<Text>, _>(new.client_msg_id.as_ref().map(|c| c.as_str().to_owned()))
        .bind::<Timestamptz, _>(new.created_at.datetime())
        .bind::<Text, _>(search_vector(new.content.as_str()))
        .prepared()
        .execute(&mut conn),
    ));
    if top_level && !mentions.is_empty() {
        // Mentions of others count as unread mentions.
        writes.push(execute(
            diesel::sql_query(format!(
                "INSERT INTO message_mentions (conversation_id, user_id, seq, message_id) \
                 SELECT x.conversation_id, u, x.seq, x.id FROM {NEW_MESSAGE} \
                 CROSS JOIN unnest($2::bigint[]) AS u WHERE u <> x.sender_id"
            ))
            .bind::<BigInt, _>(conversation)
            .bind::<Array<BigInt>, _>(mentions.clone())
            .prepared()
            .execute(&mut conn),
        ));
    }
    if top_level {
        // Posting in a conversation means having read it: the cursor is at
        // the newest message, so nothing own or deleted lies past it.
        writes.push(execute(
            diesel::sql_query(format!(
                "UPDATE conversation_members m SET last_read_seq = x.seq, \
                   read_top_ordinal = x.top_ordinal, last_read_message_id = x.id, \
                   own_top_after_read = 0, deleted_top_after_read = 0 \
                 FROM {NEW_MESSAGE} \
                 WHERE m.conversation_id = $1 AND m.user_id = $2 AND m.last_read_seq < x.seq"
            ))
            .bind::<BigInt, _>(conversation)
            .bind::<BigInt, _>(new.sender_id.get())
            .prepared()
            .execute(&mut conn),
        ));
    }
    if !new.links.is_empty() {
        writes.push(execute(
            diesel::sql_query(format!(
                "INSERT INTO link_unfurl_jobs (message_id, urls) SELECT x.id, $2 FROM {NEW_MESSAGE}"
            ))
            .bind::<BigInt, _>(conversation)
            .bind::<Array<Text>, _>(new.links.clone())
            .prepared()
            .execute(&mut conn),
        ));
    }
    if !attachments.is_empty() {
        let expected = attachments.len();
        let linked = diesel::sql_query(format!(
            "UPDATE attachments a SET message_id = x.id FROM {NEW_MESSAGE} \
             WHERE a.id = ANY($2) AND a.conversation_id = $1 AND a.uploader_id = $3 \
               AND a.ready AND a.message_id IS NULL"
        ))
        .bind::<BigInt, _>(conversation)
        .bind::<Array<BigInt>, _>(attachments)
        .bind::<BigInt, _>(new.sender_id.get())
        .prepared()
        .execute(&mut conn);
        // The sender's ready, unsent uploads only; anything else refuses
        // the send (and rolls it back).
        writes.push(Box::pin(async move {
            Ok(rules::all_attachments_usable(linked.await?, expected)?)
        }));
    }
    if let Some(parent) = new.parent_id {
        writes.push(execute(
            diesel::sql_query(
                "UPDATE messages SET thread_reply_count = thread_reply_count + 1, last_reply_at = $2 \
                 WHERE id = $3 AND conversation_id = $1",
            )
            .bind::<BigInt, _>(conversation)
            .bind::<Timestamptz, _>(new.created_at.datetime())
            .bind::<BigInt, _>(parent.get())
            .prepared()
            .execute(&mut conn),
        ));
    }
    // Posting, or being mentioned, brings a hidden conversation back. The
    // sender alone is an equality, so PostgreSQL keeps one plan for it; with
    // an array of users it found a fresh plan cheaper and planned every send.
    let unhide = if mentions.is_empty() {
        diesel::sql_query(
            "UPDATE conversation_members SET hidden = false \
             WHERE conversation_id = $1 AND user_id = $2 AND hidden",
        )
        .bind::<BigInt, _>(conversation)
        .bind::<BigInt, _>(new.sender_id.get())
        .prepared()
        .execute(&mut conn)
    } else {
        let users: Vec<i64> = std::iter::once(new.sender_id.get())
            .chain(mentions)
            .collect();
        diesel::sql_query(
            "UPDATE conversation_members SET hidden = false \
             WHERE conversation_id = $1 AND user_id = ANY($2) AND hidden",
        )
        .bind::<BigInt, _>(conversation)
        .bind::<Array<BigInt>, _>(users)
        .prepared()
        .execute(&mut conn)
    };
    writes.push(execute(unhide));

    let message = diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM {NEW_MESSAGE} {MESSAGE_JOINS}"
    ))
    .bind::<BigInt, _>(conversation)
    .prepared()
    .load::<MessageRow>(&mut conn)
    .map_err(StoreError::from);
    // The parent as get-message shows it (its `message.updated` replaces a
    // client's copy): the row and its decorations, still in this batch.
    let parent = async {
        match new.parent_id {
            Some(parent) => decorated_for_everyone(conn, parent).await.map(Some),
            None => Ok(None),
        }
    };
    let member_unread = async {
        if top_level {
            member_unread(conn, new).await
        } else {
            Ok(Vec::new())
        }
    };
    let (counters, _, message, parent, member_unread) = try_join5(
        counters,
        try_join_all(writes),
        message,
        parent,
        member_unread,
    )
    .await?;
    Ok(Written {
        member_count: counters.into_iter().next().map(|c| c.member_count),
        message: message.into_iter().next(),
        parent,
        member_unread,
    })
}

fn execute<'c>(
    statement: impl Future<Output = diesel::QueryResult<usize>> + Send + 'c,
) -> Statement<'c> {
    Box::pin(async move {
        statement.await?;
        Ok(())
    })
}

/// Every other member's unread figures, for exact `unread.updated`; none
/// for a conversation larger than the fan-out limit (its members get one
/// "changed" event instead).
async fn member_unread(
    mut conn: &AsyncPgConnection,
    new: &NewMessage,
) -> StoreResult<Vec<MemberUnread>> {
    let rows: Vec<MemberUnreadRow> = diesel::sql_query(format!(
        "SELECT m.user_id, unread.unread_count, unread.mention_count \
         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
         {UNREAD_LATERAL} \
         WHERE m.conversation_id = $1 AND m.user_id <> $2 AND c.member_count <= $3 \
         ORDER BY m.user_id"
    ))
    .bind::<BigInt, _>(new.conversation_id.get())
    .bind::<BigInt, _>(new.sender_id.get())
    .bind::<BigInt, _>(new.unread_fanout_max)
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MemberUnread {
            user_id: UserId::new(r.user_id),
            unread_count: r.unread_count,
            mention_count: r.mention_count,
        })
        .collect())
}

/// The id of the message this sender already sent with this client id.
async fn find_by_client_id(
    conn: &mut AsyncPgConnection,
    new: &NewMessage,
) -> StoreResult<Option<i64>> {
    let Some(client_id) = &new.client_msg_id else {
        return Ok(None);
    };
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT id FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_msg_id = $3",
    )
    .bind::<BigInt, _>(new.conversation_id.get())
    .bind::<BigInt, _>(new.sender_id.get())
    .bind::<Text, _>(client_id.as_str())
    .prepared()
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}

/// A timeline page (top level or one thread) as one `bigint[]` bound at
/// `$1`: the page query and the decoration queries of its messages share
/// the same filter text and the same bind, so they can be sent together.
struct PageQuery {
    /// conversation, after seq, before seq, has replies (-1 either, 0 no,
    /// 1 yes), limit, parent (0 for the top level).
    binds: [i64; 6],
    thread: bool,
    newest_first: bool,
}

/// The newest top-level page of 50 before `before_seq`, as list-messages
/// asks for it: the statement and its bind (for `testing::explain`).
#[cfg(feature = "testing")]
pub(crate) fn page_sql(conversation: i64, before_seq: i64) -> (String, Vec<i64>) {
    let page = PageQuery {
        binds: [conversation, i64::MIN, before_seq, -1, 51, 0],
        thread: false,
        newest_first: true,
    };
    (page.select(), page.binds.to_vec())
}

impl PageQuery {
    fn of(range: &MessageRange) -> Self {
        let after = range
            .after_seq
            .unwrap_or(i64::MIN)
            .max(range.visible_after_seq);
        let has_replies = match range.has_replies {
            None => -1,
            Some(false) => 0,
            Some(true) => 1,
        };
        Self {
            binds: [
                range.conversation_id.get(),
                after,
                range.before_seq.unwrap_or(i64::MAX),
                has_replies,
                i64::try_from(range.limit).unwrap_or(i64::MAX),
                range.parent_id.map_or(0, |p| p.get()),
            ],
            thread: range.parent_id.is_some(),
            newest_first: range.newest_first,
        }
    }

    /// The page's messages with their senders and quotes. The page is
    /// chosen first (a subquery with a limit is never merged into the outer
    /// query), so the per-row lookups of [`MESSAGE_JOINS`] run for its rows
    /// only, whatever plan PostgreSQL picks for the scan. (Reading each
    /// distinct sender once instead, through materialized CTEs, took 38
    /// buffer hits instead of 184 and no less time.)
    fn select(&self) -> String {
        let order = if self.newest_first { "DESC" } else { "ASC" };
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM (SELECT * FROM messages x WHERE {}) x {MESSAGE_JOINS} \
             ORDER BY x.seq {order}",
            self.filter()
        )
    }

    /// The WHERE clause, order and limit over `messages x`.
    fn filter(&self) -> String {
        // Two shapes, so each uses its partial index (top level or thread).
        let thread = if self.thread {
            "x.parent_id = $1[6]"
        } else {
            "x.parent_id IS NULL"
        };
        let order = if self.newest_first { "DESC" } else { "ASC" };
        format!(
            "x.conversation_id = $1[1] AND x.seq > $1[2] AND x.seq < $1[3] \
             AND ($1[4] = -1 OR (x.thread_reply_count > 0) = ($1[4] = 1)) AND {thread} \
             ORDER BY x.seq {order} LIMIT $1[5]"
        )
    }
}

/// A page and its decorations in one round trip: the decorations'
/// statement finds the page's messages with the same filter (once, for all
/// four kinds).
async fn load_range(
    conn: &AsyncPgConnection,
    range: &MessageRange,
    viewer: UserId,
) -> StoreResult<Vec<MessageView>> {
    let page = PageQuery::of(range);
    let filter = page.filter();
    let rows = diesel::sql_query(page.select())
        .bind::<Array<BigInt>, _>(&page.binds[..])
        .prepared()
        .load::<MessageRow>(&mut &*conn)
        .map_err(StoreError::from);
    let ids = format!("ARRAY(SELECT x.id FROM messages x WHERE {filter})");
    let decorations = Decorations::load(conn, MessageIds(&ids), &page.binds, Some(viewer));
    let (rows, decorations) = try_join(rows, decorations).await?;
    let mut views: Vec<MessageView> = rows.into_iter().map(MessageRow::into_view).collect();
    decorations.apply(&mut views);
    Ok(views)
}

impl PgStore {
    /// The send transaction in two round trips: BEGIN with every write and
    /// the reads the events need, then the outbox rows with COMMIT.
    async fn insert_message(
        &self,
        conn: &mut AsyncPgConnection,
        new: &NewMessage,
        events: EventsFor<SentMessage>,
    ) -> StoreResult<Created<SentMessage>> {
        let outbox = self.outbox.clone();
        pipelined(conn, async |tx| {
            let written = tx.begin_with(write_message(tx.conn(), new)).await?;
            let (Some(member_count), Some(message)) = (written.member_count, written.message)
            else {
                return Err(StoreError::Chat(ChatError::NotFound("conversation")));
            };
            let mut message = message.into_view();
            if !new.attachment_ids.is_empty() {
                decorate(
                    tx.conn(),
                    Some(new.sender_id),
                    std::slice::from_mut(&mut message),
                )
                .await?;
            }
            let sent = SentMessage {
                message,
                parent: written.parent,
                member_unread: written.member_unread,
                large: member_count > new.unread_fanout_max,
            };
            // The UPDATE above holds the conversation's row lock.
            let rows = outbox.rows_for_locked(tx.conn(), events(&sent)).await?;
            tx.commit_with(rows.insert(tx.conn())).await?;
            Ok(Created {
                value: sent,
                is_new: true,
            })
        })
        .await
    }
}

async fn existing_send(conn: &mut AsyncPgConnection, id: i64) -> StoreResult<Created<SentMessage>> {
    let mut message = load_message(conn, id)
        .await?
        .ok_or(StoreError::Chat(ChatError::NotFound("message")))?
        .into_view();
    let sender = message.message.sender_id;
    decorate(conn, Some(sender), std::slice::from_mut(&mut message)).await?;
    Ok(Created {
        value: SentMessage {
            message,
            parent: None,
            member_unread: Vec::new(),
            large: false,
        },
        is_new: false,
    })
}

#[async_trait]
impl MessageRepository for PgStore {
    async fn insert(
        &self,
        new: NewMessage,
        events: EventsFor<SentMessage>,
    ) -> Result<Created<SentMessage>, ChatError> {
        let mut conn = self.conn().await?;
        match self.insert_message(&mut conn, &new, events).await {
            // A concurrent retry with the same client id won the race: answer
            // with its message, as if we had been second all along.
            Err(e) if e.is_unique_violation("messages_client_msg_id_key") => {
                let existing = find_by_client_id(&mut conn, &new)
                    .await
                    .map_err(StoreError::into_chat)?
                    .ok_or_else(|| {
                        ChatError::Unexpected(anyhow::anyhow!("duplicate send vanished"))
                    })?;
                existing_send(&mut conn, existing)
                    .await
                    .map_err(StoreError::into_chat)
            }
            other => other.map_err(StoreError::into_chat),
        }
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

/// The message as `viewer` sees it: the row and its decorations in one
/// round trip.
async fn decorated(
    conn: &AsyncPgConnection,
    id: MessageId,
    viewer: UserId,
) -> StoreResult<MessageView> {
    decorated_as(conn, id, Some(viewer)).await
}

/// The message as events show it: nobody's own reactions.
async fn decorated_for_everyone(
    conn: &AsyncPgConnection,
    id: MessageId,
) -> StoreResult<MessageView> {
    decorated_as(conn, id, None).await
}

async fn decorated_as(
    conn: &AsyncPgConnection,
    id: MessageId,
    viewer: Option<UserId>,
) -> StoreResult<MessageView> {
    let (message, decorations) = try_join(
        load_message(conn, id.get()),
        Decorations::load(conn, MessageIds::LIST, &[id.get()], viewer),
    )
    .await?;
    let mut view = message
        .ok_or(StoreError::Chat(ChatError::NotFound("message")))?
        .into_view();
    decorations.apply(std::slice::from_mut(&mut view));
    Ok(view)
}
