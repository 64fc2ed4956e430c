//! The user directory.

use async_trait::async_trait;
use chat_domain::ports::UserRepository;
use chat_domain::user::User;
use chat_domain::{ChatError, OrgId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join;

use crate::PgStore;
use crate::error::{StoreError, StoreResult, db_error};
use crate::prepared::Prepare;
use crate::rows::{USER_COLUMNS, UserRow};

#[derive(QueryableByName)]
struct InsertedRow {
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Serializes membership changes of one org's org-wide channels (a new user
/// joining them, a new org channel enrolling the users), so neither misses
/// the other.
pub(crate) async fn lock_org_membership(
    conn: &mut AsyncPgConnection,
    org: OrgId,
) -> StoreResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('chat-org-membership', $1))")
        .bind::<BigInt, _>(org.get())
        .prepared()
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct OrgRow {
    #[diesel(sql_type = BigInt)]
    org_id: i64,
}

#[async_trait]
impl UserRepository for PgStore {
    async fn provision(&self, user: User, now: Timestamp) -> Result<OrgId, ChatError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| -> StoreResult<OrgId> {
            // Writes only when something changed: most calls are a read. A
            // user's org never changes: the profile of a known user is
            // refreshed only from a token of their own org. The stored org
            // is read after the upsert, in the same round trip.
            let mut c: &AsyncPgConnection = conn;
            let upsert = diesel::sql_query(
                "INSERT INTO users AS u (id, org_id, name, username, avatar_url, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, \
                   username = EXCLUDED.username, avatar_url = EXCLUDED.avatar_url, \
                   updated_at = EXCLUDED.updated_at \
                 WHERE u.org_id = EXCLUDED.org_id \
                   AND (u.name, u.username, u.avatar_url) IS DISTINCT FROM \
                   (EXCLUDED.name, EXCLUDED.username, EXCLUDED.avatar_url) \
                 RETURNING (xmax = 0) AS inserted",
            )
            .bind::<BigInt, _>(user.id.get())
            .bind::<BigInt, _>(user.org_id.get())
            .bind::<Nullable<Text>, _>(user.name.as_deref())
            .bind::<Nullable<Text>, _>(user.username.as_deref())
            .bind::<Nullable<Text>, _>(user.avatar_url.as_deref())
            .bind::<Timestamptz, _>(now.datetime())
            .prepared()
            .load::<InsertedRow>(&mut c);
            let stored = diesel::sql_query("SELECT org_id FROM users WHERE id = $1")
                .bind::<BigInt, _>(user.id.get())
                .prepared()
                .get_result::<OrgRow>(&mut c);
            let (upserted, stored) = try_join(upsert, stored).await?;
            if !upserted.iter().any(|r| r.inserted) {
                return Ok(OrgId::new(stored.org_id));
            }
            // A new user joins every org-wide channel of their org.
            lock_org_membership(conn, user.org_id).await?;
            diesel::sql_query(
                "WITH joined AS ( \
                   INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, \
                     history_from_seq, history_from_event_seq, last_read_seq, read_top_ordinal, \
                     last_read_message_id) \
                   SELECT c.id, $1, 'member', $3, \
                          CASE WHEN c.history_mode = 'sinceJoin' THEN c.last_seq ELSE 0 END, \
                          CASE WHEN c.history_mode = 'sinceJoin' THEN c.last_event_seq ELSE 0 END, \
                          c.last_seq, c.top_count, \
                          (SELECT x.id FROM messages x WHERE x.conversation_id = c.id \
                             AND x.parent_id IS NULL ORDER BY x.seq DESC LIMIT 1) \
                   FROM conversations c WHERE c.org_id = $2 AND c.visibility = 'org' \
                   ON CONFLICT DO NOTHING RETURNING conversation_id) \
                 UPDATE conversations SET member_count = member_count + 1 \
                 WHERE id IN (SELECT conversation_id FROM joined)",
            )
            .bind::<BigInt, _>(user.id.get())
            .bind::<BigInt, _>(user.org_id.get())
            .bind::<Timestamptz, _>(now.datetime())
            .prepared()
            .execute(conn)
            .await?;
            Ok(user.org_id)
        })
        .await
        .map_err(StoreError::into_chat)
    }

    async fn find_in_org(&self, org: OrgId, ids: &[UserId]) -> Result<Vec<User>, ChatError> {
        let mut conn = self.conn().await?;
        let raw: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let rows: Vec<UserRow> = diesel::sql_query(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 AND u.id = ANY($2) ORDER BY u.id"
        ))
        .bind::<BigInt, _>(org.get())
        .bind::<Array<BigInt>, _>(raw)
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(UserRow::into_domain).collect())
    }
}
