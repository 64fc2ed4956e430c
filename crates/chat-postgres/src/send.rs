//! The send transaction: every write of a send and the reads its events
//! need in one pipelined round trip, then the outbox rows with COMMIT
//! (ARCHITECTURE.md walks through it).

use chat_domain::events::EventsFor;
use chat_domain::message::{MessageView, NewMessage};
use chat_domain::ports::{Created, MemberUnread, SentMessage};
use chat_domain::rules;
use chat_domain::{ChatError, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::{try_join, try_join_all, try_join5};

use crate::PgStore;
use crate::conversations::UNREAD_LATERAL;
use crate::error::{StoreError, StoreResult};
use crate::locks;
use crate::pipeline::pipelined;
use crate::prepared::Prepare;
use crate::rows::{IdRow, MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow};
use crate::search::search_vector;
use crate::views::{decorate, decorated_for_everyone, load_message};

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
        match new.effects.thread_parent {
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
    if !new.effects.unread_mentions.is_empty() {
        let unread_mentions: Vec<i64> = new
            .effects
            .unread_mentions
            .iter()
            .map(|u| u.get())
            .collect();
        writes.push(execute(
            diesel::sql_query(format!(
                "INSERT INTO message_mentions (conversation_id, user_id, seq, message_id) \
                 SELECT x.conversation_id, u, x.seq, x.id FROM {NEW_MESSAGE} \
                 CROSS JOIN unnest($2::bigint[]) AS u"
            ))
            .bind::<BigInt, _>(conversation)
            .bind::<Array<BigInt>, _>(unread_mentions)
            .prepared()
            .execute(&mut conn),
        ));
    }
    if new.effects.sender_reads_it {
        // The cursor is at the newest message, so nothing own or deleted
        // lies past it.
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
    if let Some(parent) = new.effects.thread_parent {
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
    // One member is an equality, so PostgreSQL keeps one plan for it; with
    // an array of users it found a fresh plan cheaper and planned every send.
    let unhide = if let [only] = new.effects.unhide[..] {
        diesel::sql_query(
            "UPDATE conversation_members SET hidden = false \
             WHERE conversation_id = $1 AND user_id = $2 AND hidden",
        )
        .bind::<BigInt, _>(conversation)
        .bind::<BigInt, _>(only.get())
        .prepared()
        .execute(&mut conn)
    } else {
        let users: Vec<i64> = new.effects.unhide.iter().map(|u| u.get()).collect();
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
        match new.effects.thread_parent {
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

impl PgStore {
    /// Sends a message: a repeated client id answers with the original.
    pub(crate) async fn send(
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
                large: new.is_large(member_count),
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
    Ok(SentMessage::repeated(message))
}
