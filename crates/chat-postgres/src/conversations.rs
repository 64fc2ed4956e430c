//! Conversations, memberships and read cursors.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_domain::conversation::{
    Access, Conversation, ConversationKind, ConversationListQuery, ConversationPatch,
    ConversationView, MembershipView, NewConversation, Visibility,
};
use chat_domain::events::EventsFor;
use chat_domain::message::MessagePreview;
use chat_domain::ports::{ConversationRepository, Created};
use chat_domain::user::User;
use chat_domain::{ChatError, ConversationId, MessageId, Timestamp, UserId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join;

use crate::PgStore;
use crate::error::{StoreError, StoreResult, db_error};
use crate::locks;
use crate::prepared::Prepare;
use crate::rows::{
    AccessRow, CONVERSATION_COLUMNS, ConversationRow, ConversationViewRow, IdRow,
    MEMBERSHIP_COLUMNS, MESSAGE_COLUMNS, MESSAGE_JOINS, MemberUserRow, MessageRow, USER_COLUMNS,
};
use crate::users::lock_org_membership;

/// How many members a sidebar shows besides the viewer.
const OTHER_MEMBERS_SHOWN: i64 = 5;

/// The unread figures of member `m` in conversation `c`, per the contract:
/// top-level, not deleted, not the member's own, past the cursor (which never
/// sits below the history floor).
///
/// O(1) for any history (docs/unread-counts.md): top-level messages after
/// the cursor are a subtraction of ordinals, less the deleted and the own
/// ones past the cursor, which the member's row keeps as counters. Mentions
/// are counted only when a mention was sent after the cursor
/// (`last_mention_seq`), and then cost the mentions found.
pub(crate) const UNREAD_LATERAL: &str = "CROSS JOIN LATERAL ( \
    SELECT c.top_count - m.read_top_ordinal - m.deleted_top_after_read - m.own_top_after_read \
      AS unread_count, \
    CASE WHEN c.last_mention_seq <= m.last_read_seq THEN 0 ELSE (SELECT count(*) FROM ( \
        SELECT mm.seq FROM message_mentions mm WHERE mm.conversation_id = m.conversation_id \
          AND mm.user_id = m.user_id AND mm.seq > m.last_read_seq \
        UNION \
        SELECT e.seq FROM messages e WHERE e.conversation_id = m.conversation_id \
          AND e.parent_id IS NULL AND e.mention_everyone AND e.deleted_at IS NULL \
          AND e.sender_id <> m.user_id AND e.seq > m.last_read_seq) mentioned) END AS mention_count \
  ) unread";

/// get-conversation: conversation `$1` as member `$2` sees it.
pub(crate) fn get_sql() -> String {
    format!(
        "{} WHERE m.conversation_id = $1 AND m.user_id = $2",
        view_select()
    )
}

/// list-conversations: the page of member `$1`'s conversations, newest
/// activity first (kinds `$2`, starred `$3`, archived `$4`, hidden too `$5`,
/// after `($6, $7)`, limit `$8`).
///
/// The page is chosen first over narrow rows (ids and sort keys of every
/// membership), and only its rows are read whole and given their unread
/// figures: a user in 5,000 conversations sorts 5,000 pairs, not 5,000
/// views.
pub(crate) fn list_sql() -> String {
    format!(
        "WITH page AS MATERIALIZED ( \
           SELECT c.id FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
           WHERE m.user_id = $1 \
             AND (cardinality($2::text[]) = 0 OR c.kind = ANY($2)) \
             AND ($3::boolean IS NULL OR m.starred = $3) \
             AND (c.archived_at IS NOT NULL) = $4 \
             AND ($5 OR NOT m.hidden) \
             AND ($6::timestamptz IS NULL OR (c.activity_at, c.id) < ($6, $7)) \
           ORDER BY c.activity_at DESC, c.id DESC LIMIT $8) \
         {} WHERE m.user_id = $1 AND m.conversation_id IN (SELECT id FROM page) \
         ORDER BY c.activity_at DESC, c.id DESC",
        view_select()
    )
}

/// Conversation, membership and unread figures of a member `m`.
pub(crate) fn view_select() -> String {
    format!(
        "SELECT {CONVERSATION_COLUMNS}, {MEMBERSHIP_COLUMNS}, \
           unread.unread_count, unread.mention_count \
         FROM conversation_members m \
         JOIN conversations c ON c.id = m.conversation_id \
         {UNREAD_LATERAL}"
    )
}

impl PgStore {
    /// Adds last messages and other members to view rows: two queries for
    /// the whole page, sent together in one round trip.
    async fn decorate(
        conn: &AsyncPgConnection,
        viewer: UserId,
        rows: Vec<ConversationViewRow>,
    ) -> StoreResult<Vec<ConversationView>> {
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let membership = row.membership.into_domain()?;
            views.push(ConversationView {
                conversation: row.conversation.into_domain()?,
                last_message: None,
                other_members: Vec::new(),
                membership: Some(MembershipView {
                    membership,
                    unread_count: row.unread_count,
                    mention_count: row.mention_count,
                }),
                avatar_url: None,
            });
        }
        if views.is_empty() {
            return Ok(views);
        }
        let ids: Vec<i64> = views.iter().map(|v| v.conversation.id.get()).collect();
        let small: Vec<i64> = views
            .iter()
            .filter(|v| v.conversation.kind != ConversationKind::Channel)
            .map(|v| v.conversation.id.get())
            .collect();
        let (mut last_messages, mut others) = try_join(
            last_messages(conn, &ids),
            other_members(conn, &small, Some(viewer)),
        )
        .await?;
        for view in &mut views {
            let id = view.conversation.id;
            let floor = view
                .membership
                .as_ref()
                .map_or(0, |m| m.membership.history_from_seq);
            view.last_message = last_messages.remove(&id).filter(|p| p.seq > floor);
            view.other_members = others.remove(&id).unwrap_or_default();
        }
        Ok(views)
    }
}

/// The conversation and `viewer`'s membership of it; `None` unless a
/// member. One statement, pipelined with whatever the caller awaits beside it.
pub(crate) async fn load_access(
    conn: &AsyncPgConnection,
    id: ConversationId,
    viewer: UserId,
) -> StoreResult<Option<Access>> {
    load_access_from(
        conn,
        "conversations c \
         JOIN conversation_members m ON m.conversation_id = c.id AND m.user_id = $2 \
         WHERE c.id = $1",
        id.get(),
        viewer,
    )
    .await
}

/// [`load_access`] to the conversation of message `id`, found through the
/// message, so it can be read beside the message itself.
pub(crate) async fn load_access_to_message(
    conn: &AsyncPgConnection,
    id: MessageId,
    viewer: UserId,
) -> StoreResult<Option<Access>> {
    load_access_from(
        conn,
        "messages x JOIN conversations c ON c.id = x.conversation_id \
         JOIN conversation_members m ON m.conversation_id = c.id AND m.user_id = $2 \
         WHERE x.id = $1",
        id.get(),
        viewer,
    )
    .await
}

/// The access row of `from` (which binds `$1` to `key`, `$2` to the viewer).
async fn load_access_from(
    mut conn: &AsyncPgConnection,
    from: &str,
    key: i64,
    viewer: UserId,
) -> StoreResult<Option<Access>> {
    let rows: Vec<AccessRow> = diesel::sql_query(format!(
        "SELECT {CONVERSATION_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM {from}"
    ))
    .bind::<BigInt, _>(key)
    .bind::<BigInt, _>(viewer.get())
    .prepared()
    .load(&mut conn)
    .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Access {
        conversation: row.conversation.into_domain()?,
        membership: row.membership.into_domain()?,
    }))
}

pub(crate) async fn last_messages(
    mut conn: &AsyncPgConnection,
    ids: &[i64],
) -> StoreResult<HashMap<ConversationId, MessagePreview>> {
    let rows: Vec<MessageRow> = diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM unnest($1::bigint[]) AS cid(id) \
         CROSS JOIN LATERAL (SELECT * FROM messages \
           WHERE conversation_id = cid.id AND parent_id IS NULL ORDER BY seq DESC LIMIT 1) x \
         {MESSAGE_JOINS}"
    ))
    .bind::<Array<BigInt>, _>(ids)
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.conversation_id(), row.into_preview()))
        .collect())
}

/// Up to five members of each conversation, oldest first, leaving out
/// `exclude` (the viewer; events have none).
pub(crate) async fn other_members(
    mut conn: &AsyncPgConnection,
    ids: &[i64],
    exclude: Option<UserId>,
) -> StoreResult<HashMap<ConversationId, Vec<User>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<MemberUserRow> = diesel::sql_query(format!(
        "SELECT cid.id AS for_conversation, {USER_COLUMNS} FROM unnest($1::bigint[]) AS cid(id) \
         CROSS JOIN LATERAL (SELECT cm.user_id, cm.joined_at FROM conversation_members cm \
           WHERE cm.conversation_id = cid.id AND cm.user_id IS DISTINCT FROM $2 \
           ORDER BY cm.joined_at, cm.user_id LIMIT $3) o \
         JOIN users u ON u.id = o.user_id \
         ORDER BY cid.id, o.joined_at, o.user_id"
    ))
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Nullable<BigInt>, _>(exclude.map(UserId::get))
    .bind::<BigInt, _>(OTHER_MEMBERS_SHOWN)
    .prepared()
    .load(&mut conn)
    .await?;
    let mut by_conversation: HashMap<ConversationId, Vec<User>> = HashMap::new();
    for row in rows {
        by_conversation
            .entry(ConversationId::new(row.for_conversation))
            .or_default()
            .push(row.user.into_domain());
    }
    Ok(by_conversation)
}

#[async_trait]
impl ConversationRepository for PgStore {
    async fn create(
        &self,
        new: NewConversation,
        events: EventsFor<Conversation>,
    ) -> Result<Created<Conversation>, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<Created<Conversation>> {
            let direct_key = new.direct_pair.map(|p| p.key());
            let inserted: Option<ConversationRow> = diesel::sql_query(format!(
                "INSERT INTO conversations AS c (org_id, kind, visibility, history_mode, posting_policy, \
                   name, description, metadata, direct_key, created_by, created_at, updated_at, activity_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $11, $11) \
                 ON CONFLICT ON CONSTRAINT conversations_direct_key_key DO NOTHING \
                 RETURNING {CONVERSATION_COLUMNS}"
            ))
            .bind::<BigInt, _>(new.org_id.get())
            .bind::<Text, _>(new.kind.as_str())
            .bind::<Text, _>(new.visibility.as_str())
            .bind::<Text, _>(new.history_mode.as_str())
            .bind::<Text, _>(new.posting_policy.as_str())
            .bind::<Nullable<Text>, _>(new.name.as_deref())
            .bind::<Nullable<Text>, _>(new.description.as_deref())
            .bind::<Nullable<Text>, _>(new.metadata.as_deref())
            .bind::<Nullable<Text>, _>(direct_key.as_deref())
            .bind::<BigInt, _>(new.created_by.get())
            .bind::<Timestamptz, _>(new.created_at.datetime())
            .prepared()
            .get_result(conn)
            .await
            .map(Some)
            .or_else(|e| if e == diesel::result::Error::NotFound { Ok(None) } else { Err(e) })?;
            let Some(inserted) = inserted else {
                // The pair already has a DM: return it, unchanged.
                let existing: ConversationRow = diesel::sql_query(format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.org_id = $1 AND c.direct_key = $2"
                ))
                .bind::<BigInt, _>(new.org_id.get())
                .bind::<Nullable<Text>, _>(direct_key.as_deref())
                .prepared()
                .get_result(conn)
                .await?;
                return Ok(Created { value: existing.into_domain()?, is_new: false });
            };
            let id = inserted.into_domain()?.id;

            let member_count: IdRow = if new.visibility == Visibility::Org {
                lock_org_membership(conn, new.org_id).await?;
                diesel::sql_query(
                    "WITH added AS ( \
                       INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) \
                       SELECT $1, u.id, CASE WHEN u.id = $3 THEN 'owner' ELSE 'member' END, $4 \
                       FROM users u WHERE u.org_id = $2 RETURNING 1) \
                     SELECT count(*) AS id FROM added",
                )
                .bind::<BigInt, _>(id.get())
                .bind::<BigInt, _>(new.org_id.get())
                .bind::<BigInt, _>(new.created_by.get())
                .bind::<Timestamptz, _>(new.created_at.datetime())
                .prepared()
                .get_result(conn)
                .await?
            } else {
                let members: Vec<i64> = new.member_ids.iter().map(|u| u.get()).collect();
                diesel::sql_query(
                    "WITH added AS ( \
                       INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) \
                       SELECT $1, $2, 'owner', $4 \
                       UNION ALL SELECT $1, member, 'member', $4 FROM unnest($3::bigint[]) AS member \
                       RETURNING 1) \
                     SELECT count(*) AS id FROM added",
                )
                .bind::<BigInt, _>(id.get())
                .bind::<BigInt, _>(new.created_by.get())
                .bind::<Array<BigInt>, _>(members)
                .bind::<Timestamptz, _>(new.created_at.datetime())
                .prepared()
                .get_result(conn)
                .await?
            };
            let conversation: ConversationRow = diesel::sql_query(format!(
                "UPDATE conversations c SET member_count = $2 WHERE c.id = $1 RETURNING {CONVERSATION_COLUMNS}"
            ))
            .bind::<BigInt, _>(id.get())
            .bind::<BigInt, _>(member_count.id)
            .prepared()
            .get_result(conn)
            .await?;
            let conversation = conversation.into_domain()?;
            outbox.write(conn, events(&conversation)).await?;
            Ok(Created { value: conversation, is_new: true })
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn access(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> Result<Option<Access>, ChatError> {
        let conn = self.conn().await?;
        load_access(&conn, id, viewer)
            .await
            .map_err(StoreError::into_chat)
    }

    async fn view(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> Result<Option<ConversationView>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ConversationViewRow> = diesel::sql_query(get_sql())
            .bind::<BigInt, _>(id.get())
            .bind::<BigInt, _>(viewer.get())
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
        let views = Self::decorate(&conn, viewer, rows)
            .await
            .map_err(StoreError::into_chat)?;
        Ok(views.into_iter().next())
    }

    async fn member_ids_among(
        &self,
        id: ConversationId,
        ids: &[UserId],
    ) -> Result<Vec<UserId>, ChatError> {
        let mut conn = self.conn().await?;
        let raw: Vec<i64> = ids.iter().map(|u| u.get()).collect();
        let rows: Vec<IdRow> = diesel::sql_query(
            "SELECT user_id AS id FROM conversation_members \
             WHERE conversation_id = $1 AND user_id = ANY($2) ORDER BY user_id",
        )
        .bind::<BigInt, _>(id.get())
        .bind::<Array<BigInt>, _>(raw)
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(|r| UserId::new(r.id)).collect())
    }

    async fn list(&self, query: ConversationListQuery) -> Result<Vec<ConversationView>, ChatError> {
        let mut conn = self.conn().await?;
        let kinds: Vec<&str> = query.kinds.iter().map(|k| k.as_str()).collect();
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let rows: Vec<ConversationViewRow> = diesel::sql_query(list_sql())
            .bind::<BigInt, _>(query.viewer.get())
            .bind::<Array<Text>, _>(kinds)
            .bind::<Nullable<Bool>, _>(query.starred)
            .bind::<Bool, _>(query.archived)
            .bind::<Bool, _>(query.include_hidden)
            .bind::<Nullable<Timestamptz>, _>(query.after.map(|a| a.activity_at.datetime()))
            .bind::<BigInt, _>(query.after.map_or(0, |a| a.id.get()))
            .bind::<BigInt, _>(limit)
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
        Self::decorate(&conn, query.viewer, rows)
            .await
            .map_err(StoreError::into_chat)
    }

    async fn update(
        &self,
        id: ConversationId,
        patch: ConversationPatch,
        now: Timestamp,
        events: EventsFor<ConversationView>,
    ) -> Result<Conversation, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<Conversation> {
            let rows: Vec<ConversationRow> = diesel::sql_query(format!(
                "UPDATE conversations c SET \
                   kind = COALESCE($2, c.kind), \
                   name = CASE WHEN $3 THEN $4 ELSE c.name END, \
                   description = CASE WHEN $5 THEN $6 ELSE c.description END, \
                   avatar_file_id = CASE WHEN $7 THEN $8 ELSE c.avatar_file_id END, \
                   posting_policy = COALESCE($9, c.posting_policy), \
                   metadata = CASE WHEN $10 THEN $11::jsonb ELSE c.metadata END, \
                   archived_at = CASE WHEN $12 THEN $13 ELSE c.archived_at END, \
                   updated_at = $14 \
                 WHERE c.id = $1 RETURNING {CONVERSATION_COLUMNS}"
            ))
            .bind::<BigInt, _>(id.get())
            .bind::<Nullable<Text>, _>(patch.kind.map(|k| k.as_str()))
            .bind::<Bool, _>(patch.name.is_some())
            .bind::<Nullable<Text>, _>(patch.name.clone().flatten())
            .bind::<Bool, _>(patch.description.is_some())
            .bind::<Nullable<Text>, _>(patch.description.clone().flatten())
            .bind::<Bool, _>(patch.avatar_file_id.is_some())
            .bind::<Nullable<BigInt>, _>(patch.avatar_file_id.flatten().map(|a| a.get()))
            .bind::<Nullable<Text>, _>(patch.posting_policy.map(|p| p.as_str()))
            .bind::<Bool, _>(patch.metadata.is_some())
            .bind::<Nullable<Text>, _>(patch.metadata.clone().flatten())
            .bind::<Bool, _>(patch.archived_at.is_some())
            .bind::<Nullable<Timestamptz>, _>(patch.archived_at.flatten().map(Timestamp::datetime))
            .bind::<Timestamptz, _>(now.datetime())
            .prepared()
            .load(conn)
            .await?;
            let conversation = rows
                .into_iter()
                .next()
                .ok_or(StoreError::Chat(ChatError::NotFound("conversation")))?
                .into_domain()?;
            let view = event_view(conn, conversation.clone()).await?;
            outbox.write(conn, events(&view)).await?;
            Ok(conversation)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn delete(
        &self,
        id: ConversationId,
        events: EventsFor<ConversationView>,
    ) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<()> {
            let conversation = locks::conversation_row(conn, id).await?;
            let view = event_view(conn, conversation).await?;
            // Written first: the members are still there to address.
            outbox.write(conn, events(&view)).await?;
            diesel::sql_query("DELETE FROM conversations WHERE id = $1")
                .bind::<BigInt, _>(id.get())
                .prepared()
                .execute(conn)
                .await?;
            Ok(())
        })
        .await
        .map_err(StoreError::into_chat)
    }
}

/// The conversation as events show it: no viewer, so no membership, and up
/// to five members whoever they are.
pub(crate) async fn event_view(
    conn: &mut AsyncPgConnection,
    conversation: Conversation,
) -> StoreResult<ConversationView> {
    let id = conversation.id;
    let mut last = last_messages(conn, &[id.get()]).await?;
    let shown = if conversation.kind == chat_domain::conversation::ConversationKind::Channel {
        Vec::new()
    } else {
        other_members(conn, &[id.get()], None)
            .await?
            .remove(&id)
            .unwrap_or_default()
    };
    Ok(ConversationView {
        conversation,
        last_message: last.remove(&id),
        other_members: shown,
        membership: None,
        avatar_url: None,
    })
}
