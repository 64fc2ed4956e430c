//! The facts push requests are planned from, on PostgreSQL (the rules are
//! `chat_domain::push`). Each read is one statement on an index: the message
//! by id, a thread by `messages_thread_idx`, members by the primary key in
//! user id order, and totals by the members' user index.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_domain::conversation::Membership;
use chat_domain::ports::PushFacts;
use chat_domain::push::PushSubject;
use chat_domain::{ChatError, ConversationId, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;

use crate::PgStore;
use crate::error::db_error;
use crate::prepared::Prepare;
use crate::read_state::users_total_unread_sql;
use crate::rows::{IdRow, MEMBERSHIP_COLUMNS, MembershipRow};

#[derive(QueryableByName)]
struct SubjectRow {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = BigInt)]
    sender_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    parent_id: Option<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    mentions: Vec<i64>,
    #[diesel(sql_type = Bool)]
    mention_everyone: bool,
    #[diesel(sql_type = Bool)]
    direct: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
}

#[derive(QueryableByName)]
struct TotalRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    total_unread: i64,
}

#[async_trait]
impl PushFacts for PgStore {
    async fn pushed_message(&self, id: MessageId) -> Result<Option<PushSubject>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<SubjectRow> = diesel::sql_query(
            "SELECT x.conversation_id, x.seq, x.sender_id, x.parent_id, x.mentions, \
               x.mention_everyone, c.kind = 'direct' AS direct, x.created_at \
             FROM messages x JOIN conversations c ON c.id = x.conversation_id \
             WHERE x.id = $1 AND x.deleted_at IS NULL",
        )
        .bind::<BigInt, _>(id.get())
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().next().map(|r| PushSubject {
            message_id: id,
            conversation_id: ConversationId::new(r.conversation_id),
            seq: r.seq,
            sender: UserId::new(r.sender_id),
            parent_id: r.parent_id.map(MessageId::new),
            mentions: r.mentions.into_iter().map(UserId::new).collect(),
            mention_everyone: r.mention_everyone,
            direct: r.direct,
            created_at: Timestamp::from_datetime(r.created_at),
        }))
    }

    async fn thread_participants(
        &self,
        conversation: ConversationId,
        parent: MessageId,
        before_seq: i64,
    ) -> Result<Vec<UserId>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<IdRow> = diesel::sql_query(
            "SELECT sender_id AS id FROM messages WHERE id = $2 AND conversation_id = $1 \
             UNION \
             SELECT sender_id FROM messages WHERE parent_id = $2 AND seq < $3",
        )
        .bind::<BigInt, _>(conversation.get())
        .bind::<BigInt, _>(parent.get())
        .bind::<BigInt, _>(before_seq)
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(|r| UserId::new(r.id)).collect())
    }

    async fn members_after<'a>(
        &self,
        conversation: ConversationId,
        after: Option<UserId>,
        among: Option<&'a [UserId]>,
        limit: usize,
    ) -> Result<Vec<Membership>, ChatError> {
        let mut conn = self.conn().await?;
        let among: Option<Vec<i64>> = among.map(|users| users.iter().map(|u| u.get()).collect());
        let rows: Vec<MembershipRow> = diesel::sql_query(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM conversation_members m \
             WHERE m.conversation_id = $1 AND m.user_id > $2 \
               AND ($3::bigint[] IS NULL OR m.user_id = ANY($3)) \
             ORDER BY m.user_id LIMIT $4"
        ))
        .bind::<BigInt, _>(conversation.get())
        .bind::<BigInt, _>(after.map_or(i64::MIN, UserId::get))
        .bind::<Nullable<Array<BigInt>>, _>(among)
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(MembershipRow::into_domain).collect()
    }

    async fn total_unread(
        &self,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<HashMap<UserId, i64>, ChatError> {
        let mut conn = self.conn().await?;
        let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
        let rows: Vec<TotalRow> = diesel::sql_query(users_total_unread_sql())
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Timestamptz, _>(now.datetime())
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| (UserId::new(r.id), r.total_unread))
            .collect())
    }
}
