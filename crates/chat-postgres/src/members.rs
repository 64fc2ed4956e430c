//! Changes to a conversation's shared state and membership: update, delete,
//! members, roles, leaving, preferences, and unread totals.

use async_trait::async_trait;
use chat_domain::conversation::{
    LeaveMode, LeaveOutcome, Member, MemberListQuery, MembersChanged, MembershipView,
    PreferencesPatch, Role,
};
use chat_domain::events::EventsFor;
use chat_domain::ports::MemberRepository;
use chat_domain::rules;
use chat_domain::{ChatError, ConversationId, Timestamp, UserId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::PgStore;
use crate::conversations::{event_view, view_select};
use crate::error::{StoreError, StoreResult, db_error};
use crate::locks;
use crate::prepared::Prepare;
use crate::rows::{
    CONVERSATION_COLUMNS, ConversationRow, ConversationViewRow, IdRow, MEMBER_COLUMNS, MemberRow,
};

async fn member(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> StoreResult<Option<Member>> {
    let rows: Vec<MemberRow> = diesel::sql_query(format!(
        "SELECT {MEMBER_COLUMNS} FROM conversation_members m JOIN users u ON u.id = m.user_id \
         WHERE m.conversation_id = $1 AND m.user_id = $2"
    ))
    .bind::<BigInt, _>(id.get())
    .bind::<BigInt, _>(user.get())
    .prepared()
    .load(conn)
    .await?;
    rows.into_iter()
        .next()
        .map(|r| r.into_domain().map_err(StoreError::Chat))
        .transpose()
}

async fn membership_view(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> StoreResult<MembershipView> {
    let rows: Vec<ConversationViewRow> = diesel::sql_query(format!(
        "{} WHERE m.conversation_id = $1 AND m.user_id = $2",
        view_select()
    ))
    .bind::<BigInt, _>(id.get())
    .bind::<BigInt, _>(user.get())
    .prepared()
    .load(conn)
    .await?;
    let row = rows
        .into_iter()
        .next()
        .ok_or(StoreError::Chat(ChatError::NotFound("conversation")))?;
    Ok(MembershipView {
        membership: row.membership.into_domain()?,
        unread_count: row.unread_count,
        mention_count: row.mention_count,
    })
}

async fn owner_count(conn: &mut AsyncPgConnection, id: ConversationId) -> StoreResult<usize> {
    let row: IdRow = diesel::sql_query(
        "SELECT count(*) AS id FROM conversation_members WHERE conversation_id = $1 AND role = 'owner'",
    )
    .bind::<BigInt, _>(id.get())
    .prepared()
    .get_result(conn)
    .await?;
    // A count is never negative.
    Ok(usize::try_from(row.id).unwrap_or(0))
}

async fn delete_membership(
    conn: &mut AsyncPgConnection,
    id: ConversationId,
    user: UserId,
) -> StoreResult<()> {
    diesel::sql_query(
        "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind::<BigInt, _>(id.get())
    .bind::<BigInt, _>(user.get())
    .prepared()
    .execute(&mut *conn)
    .await?;
    diesel::sql_query("UPDATE conversations SET member_count = member_count - 1 WHERE id = $1")
        .bind::<BigInt, _>(id.get())
        .prepared()
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl MemberRepository for PgStore {
    async fn members(&self, query: MemberListQuery) -> Result<(Vec<Member>, i64), ChatError> {
        let mut conn = self.conn().await?;
        let role = query.role.map(Role::as_str);
        let rows: Vec<MemberRow> = diesel::sql_query(format!(
            "SELECT {MEMBER_COLUMNS} FROM conversation_members m JOIN users u ON u.id = m.user_id \
             WHERE m.conversation_id = $1 AND ($2::text IS NULL OR m.role = $2) \
               AND ($3::timestamptz IS NULL OR (m.joined_at, m.user_id) > ($3, $4)) \
             ORDER BY m.joined_at, m.user_id LIMIT $5"
        ))
        .bind::<BigInt, _>(query.conversation_id.get())
        .bind::<Nullable<Text>, _>(role)
        .bind::<Nullable<Timestamptz>, _>(query.after.map(|a| a.joined_at.datetime()))
        .bind::<BigInt, _>(query.after.map_or(0, |a| a.user_id.get()))
        .bind::<BigInt, _>(i64::try_from(query.limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        let total: IdRow = diesel::sql_query(
            "SELECT count(*) AS id FROM conversation_members \
             WHERE conversation_id = $1 AND ($2::text IS NULL OR role = $2)",
        )
        .bind::<BigInt, _>(query.conversation_id.get())
        .bind::<Nullable<Text>, _>(role)
        .prepared()
        .get_result(&mut conn)
        .await
        .map_err(db_error)?;
        let members = rows
            .into_iter()
            .map(MemberRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok((members, total.id))
    }

    async fn add_members(
        &self,
        id: ConversationId,
        users: Vec<UserId>,
        max_members: Option<i64>,
        now: Timestamp,
        events: EventsFor<MembersChanged>,
    ) -> Result<Vec<Member>, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<Vec<Member>> {
            let conversation = locks::conversation_row(conn, id).await?;
            let raw: Vec<i64> = users.iter().map(|u| u.get()).collect();
            let existing: Vec<IdRow> = diesel::sql_query(
                "SELECT user_id AS id FROM conversation_members WHERE conversation_id = $1 AND user_id = ANY($2)",
            )
            .bind::<BigInt, _>(id.get())
            .bind::<Array<BigInt>, _>(&raw)
            .prepared()
            .load(conn)
            .await?;
            let fresh: Vec<i64> = raw.iter().copied().filter(|u| !existing.iter().any(|e| e.id == *u)).collect();
            let grown = rules::members_after_adding(conversation.member_count, fresh.len(), max_members)?;
            // Late joiners start caught up; sinceJoin hides what came before.
            diesel::sql_query(
                "INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, \
                   history_from_seq, history_from_event_seq, last_read_seq, read_top_ordinal, \
                   last_read_message_id) \
                 SELECT c.id, u, 'member', $3, \
                   CASE WHEN c.history_mode = 'sinceJoin' THEN c.last_seq ELSE 0 END, \
                   CASE WHEN c.history_mode = 'sinceJoin' THEN c.last_event_seq ELSE 0 END, \
                   c.last_seq, c.top_count, \
                   (SELECT x.id FROM messages x WHERE x.conversation_id = c.id AND x.parent_id IS NULL \
                      ORDER BY x.seq DESC LIMIT 1) \
                 FROM conversations c, unnest($2::bigint[]) AS u WHERE c.id = $1",
            )
            .bind::<BigInt, _>(id.get())
            .bind::<Array<BigInt>, _>(&fresh)
            .bind::<Timestamptz, _>(now.datetime())
            .prepared()
            .execute(&mut *conn)
            .await?;
            let conversation: ConversationRow = diesel::sql_query(format!(
                "UPDATE conversations c SET member_count = $2 WHERE c.id = $1 RETURNING {CONVERSATION_COLUMNS}"
            ))
            .bind::<BigInt, _>(id.get())
            .bind::<BigInt, _>(grown)
            .prepared()
            .get_result(conn)
            .await?;
            let rows: Vec<MemberRow> = diesel::sql_query(format!(
                "SELECT {MEMBER_COLUMNS} FROM conversation_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.conversation_id = $1 AND m.user_id = ANY($2) ORDER BY m.joined_at, m.user_id"
            ))
            .bind::<BigInt, _>(id.get())
            .bind::<Array<BigInt>, _>(&raw)
            .prepared()
            .load(conn)
            .await?;
            let members: Vec<Member> = rows.into_iter().map(MemberRow::into_domain).collect::<Result<_, _>>()?;
            let added = members.iter().filter(|m| fresh.contains(&m.user.id.get())).cloned().collect();
            let changed = MembersChanged {
                conversation: event_view(conn, conversation.into_domain()?).await?,
                members: added,
            };
            outbox.write(conn, events(&changed)).await?;
            Ok(members)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn remove_member(
        &self,
        id: ConversationId,
        user: UserId,
        events: EventsFor<MembersChanged>,
    ) -> Result<Member, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<Member> {
            let conversation = locks::conversation_row(conn, id).await?;
            let removed = member(conn, id, user)
                .await?
                .ok_or(StoreError::Chat(ChatError::NotFound("member")))?;
            if removed.role == Role::Owner {
                rules::may_remove_member(removed.role, owner_count(conn, id).await?)?;
            }
            delete_membership(conn, id, user).await?;
            let mut conversation = conversation;
            conversation.member_count -= 1;
            let changed = MembersChanged {
                conversation: event_view(conn, conversation).await?,
                members: vec![removed.clone()],
            };
            outbox.write(conn, events(&changed)).await?;
            Ok(removed)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn change_role(
        &self,
        id: ConversationId,
        user: UserId,
        role: Role,
        events: EventsFor<Member>,
    ) -> Result<Member, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<Member> {
            locks::conversation_row(conn, id).await?;
            let current = member(conn, id, user)
                .await?
                .ok_or(StoreError::Chat(ChatError::NotFound("member")))?;
            if current.role == Role::Owner {
                rules::may_change_role(current.role, role, owner_count(conn, id).await?)?;
            }
            diesel::sql_query("UPDATE conversation_members SET role = $3 WHERE conversation_id = $1 AND user_id = $2")
                .bind::<BigInt, _>(id.get())
                .bind::<BigInt, _>(user.get())
                .bind::<Text, _>(role.as_str())
                .prepared()
                .execute(&mut *conn)
                .await?;
            let updated = Member { role, ..current };
            outbox.write(conn, events(&updated)).await?;
            Ok(updated)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn leave(
        &self,
        id: ConversationId,
        user: UserId,
        mode: LeaveMode,
        events: EventsFor<LeaveOutcome>,
    ) -> Result<LeaveOutcome, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<LeaveOutcome> {
            let conversation = locks::conversation_row(conn, id).await?;
            let left = member(conn, id, user)
                .await?
                .ok_or(StoreError::Chat(ChatError::NotFound("conversation")))?;
            let outcome = match mode {
                LeaveMode::Hide => {
                    diesel::sql_query(
                        "UPDATE conversation_members SET hidden = true WHERE conversation_id = $1 AND user_id = $2",
                    )
                    .bind::<BigInt, _>(id.get())
                    .bind::<BigInt, _>(user.get())
                    .prepared()
                    .execute(&mut *conn)
                    .await?;
                    LeaveOutcome {
                        conversation: event_view(conn, conversation).await?,
                        left,
                        hidden: Some(membership_view(conn, id, user).await?),
                        new_owner: None,
                        deleted: false,
                    }
                }
                LeaveMode::Remove => {
                    let view = event_view(conn, conversation).await?;
                    let was_last_owner = left.role == Role::Owner && owner_count(conn, id).await? <= 1;
                    delete_membership(conn, id, user).await?;
                    // The longest-standing member inherits a group whose last owner left.
                    let heir: Vec<IdRow> = diesel::sql_query(
                        "SELECT user_id AS id FROM conversation_members WHERE conversation_id = $1 \
                         ORDER BY joined_at, user_id LIMIT 1",
                    )
                    .bind::<BigInt, _>(id.get())
                    .prepared()
                    .load(conn)
                    .await?;
                    let mut new_owner = None;
                    if let (true, Some(heir)) = (was_last_owner, heir.as_slice().first()) {
                        diesel::sql_query(
                            "UPDATE conversation_members SET role = 'owner' WHERE conversation_id = $1 AND user_id = $2",
                        )
                        .bind::<BigInt, _>(id.get())
                        .bind::<BigInt, _>(heir.id)
                        .prepared()
                        .execute(&mut *conn)
                        .await?;
                        new_owner = member(conn, id, UserId::new(heir.id)).await?;
                    }
                    LeaveOutcome {
                        conversation: view,
                        left,
                        hidden: None,
                        new_owner,
                        deleted: heir.is_empty(),
                    }
                }
            };
            outbox.write(conn, events(&outcome)).await?;
            if outcome.deleted {
                diesel::sql_query("DELETE FROM conversations WHERE id = $1")
                    .bind::<BigInt, _>(id.get())
                    .prepared()
                    .execute(conn)
                    .await?;
            }
            Ok(outcome)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn update_preferences(
        &self,
        id: ConversationId,
        user: UserId,
        patch: PreferencesPatch,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<MembershipView> {
            diesel::sql_query(
                "UPDATE conversation_members SET starred = COALESCE($3, starred), \
                   mute_until = CASE WHEN $4 THEN $5 ELSE mute_until END, \
                   notify_level = COALESCE($6, notify_level) \
                 WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind::<BigInt, _>(id.get())
            .bind::<BigInt, _>(user.get())
            .bind::<Nullable<Bool>, _>(patch.starred)
            .bind::<Bool, _>(patch.mute_until.is_some())
            .bind::<Nullable<Timestamptz>, _>(patch.mute_until.flatten().map(Timestamp::datetime))
            .bind::<Nullable<Text>, _>(patch.notify_level.map(|n| n.as_str()))
            .prepared()
            .execute(&mut *conn)
            .await?;
            let view = membership_view(conn, id, user).await?;
            outbox.write(conn, events(&view)).await?;
            Ok(view)
        })
        .await
        .map_err(StoreError::into_chat)
    }
}
