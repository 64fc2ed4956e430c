//! Row structs for `sql_query` results, and their conversion to domain types.
//!
//! Columns are selected with fixed prefixes (`s_` sender, `q_` quoted
//! message, `m_` membership, `u_` user) so one query can embed several rows.

use chat_domain::conversation::{
    Conversation, ConversationKind, HistoryMode, Member, Membership, NotifyLevel, PostingPolicy,
    Role, Visibility,
};
use chat_domain::message::{Attachment, Message, MessagePreview, MessageView, QuotedMessage};
use chat_domain::user::User;
use chat_domain::{AttachmentId, ChatError, ConversationId, MessageId, OrgId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::row::{Field, NamedRow, Row, RowIndex};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use time::OffsetDateTime;

/// The conversation columns, for `SELECT {CONVERSATION_COLUMNS} FROM conversations c`.
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.org_id, c.kind, c.visibility, \
    c.history_mode, c.posting_policy, c.name, c.description, c.avatar_file_id, \
    c.metadata::text AS metadata, c.created_by, c.created_at, c.updated_at, c.archived_at, \
    c.last_message_at, c.last_seq, c.member_count, c.last_event_seq";

/// The membership columns of `conversation_members m`.
pub(crate) const MEMBERSHIP_COLUMNS: &str = "m.conversation_id AS m_conversation_id, \
    m.user_id AS m_user_id, m.role AS m_role, m.joined_at AS m_joined_at, \
    m.history_from_seq AS m_history_from_seq, \
    m.history_from_event_seq AS m_history_from_event_seq, m.last_read_seq AS m_last_read_seq, \
    m.last_read_message_id AS m_last_read_message_id, m.starred AS m_starred, \
    m.mute_until AS m_mute_until, m.notify_level AS m_notify_level, m.hidden AS m_hidden";

/// The message columns of `messages x`, its sender `s` and quoted message `q`
/// (with the quoted message's sender); join them with [`MESSAGE_JOINS`].
pub(crate) const MESSAGE_COLUMNS: &str = "x.id, x.conversation_id, x.seq, x.sender_id, \
    x.content, x.gif, x.mentions, x.mention_everyone, x.parent_id, x.thread_reply_count, \
    x.last_reply_at, x.quoted_message_id, x.metadata::text AS metadata, x.client_msg_id, \
    x.edited_at, x.deleted_at, x.created_at, \
    s.org_id AS s_org_id, s.name AS s_name, s.username AS s_username, s.avatar_url AS s_avatar_url, \
    q.id AS q_id, q.content AS q_content, q.deleted_at AS q_deleted_at, \
    q.sender_id AS q_sender_id, q.org_id AS q_org_id, q.name AS q_name, \
    q.username AS q_username, q.avatar_url AS q_avatar_url";

/// The joins [`MESSAGE_COLUMNS`] needs, after `FROM messages x`: one lookup
/// by key per message row, whatever the tables' sizes. As plain joins,
/// PostgreSQL was free to hash them, and with statistics of a table where no
/// message quotes another it read the whole `messages` table (and all users)
/// to decorate a page of 50: work that grows with the data. `LIMIT 1` keeps
/// each lookup a subquery run per row (a lateral subquery with a limit is
/// never merged into the outer join).
pub(crate) const MESSAGE_JOINS: &str = "CROSS JOIN LATERAL ( \
      SELECT u.org_id, u.name, u.username, u.avatar_url FROM users u \
      WHERE u.id = x.sender_id LIMIT 1) s \
    LEFT JOIN LATERAL ( \
      SELECT qm.id, qm.content, qm.deleted_at, qs.id AS sender_id, qs.org_id, qs.name, \
        qs.username, qs.avatar_url \
      FROM messages qm JOIN users qs ON qs.id = qm.sender_id \
      WHERE qm.id = x.quoted_message_id LIMIT 1) q ON true";

/// The same columns as plain joins, for search: there the planner must stay
/// free to choose how to join thousands of hits (a hash join can be right).
pub(crate) const SEARCH_MESSAGE_JOINS: &str = "JOIN users s ON s.id = x.sender_id \
    LEFT JOIN (SELECT qm.id, qm.content, qm.deleted_at, qs.id AS sender_id, qs.org_id, qs.name, \
        qs.username, qs.avatar_url \
      FROM messages qm JOIN users qs ON qs.id = qm.sender_id) q ON q.id = x.quoted_message_id";

/// The user columns of `users u`.
pub(crate) const USER_COLUMNS: &str = "u.id AS u_id, u.org_id AS u_org_id, u.name AS u_name, \
    u.username AS u_username, u.avatar_url AS u_avatar_url";

fn corrupt(what: &str, value: &str) -> ChatError {
    ChatError::Unexpected(anyhow::anyhow!("stored {what} {value:?} is not valid"))
}

fn ts(at: OffsetDateTime) -> Timestamp {
    Timestamp::from_datetime(at)
}

#[derive(QueryableByName)]
pub(crate) struct ConversationRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    visibility: String,
    #[diesel(sql_type = Text)]
    history_mode: String,
    #[diesel(sql_type = Text)]
    posting_policy: String,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    avatar_file_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    metadata: Option<String>,
    #[diesel(sql_type = BigInt)]
    created_by: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
    #[diesel(sql_type = Timestamptz)]
    updated_at: OffsetDateTime,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    archived_at: Option<OffsetDateTime>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_message_at: Option<OffsetDateTime>,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = BigInt)]
    member_count: i64,
    #[diesel(sql_type = BigInt)]
    last_event_seq: i64,
}

impl ConversationRow {
    pub(crate) fn into_domain(self) -> Result<Conversation, ChatError> {
        Ok(Conversation {
            id: ConversationId::new(self.id),
            org_id: OrgId::new(self.org_id),
            kind: ConversationKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            visibility: Visibility::parse(&self.visibility)
                .ok_or_else(|| corrupt("visibility", &self.visibility))?,
            history_mode: HistoryMode::parse(&self.history_mode)
                .ok_or_else(|| corrupt("history mode", &self.history_mode))?,
            posting_policy: PostingPolicy::parse(&self.posting_policy)
                .ok_or_else(|| corrupt("posting policy", &self.posting_policy))?,
            name: self.name,
            description: self.description,
            avatar_file_id: self.avatar_file_id.map(AttachmentId::new),
            metadata: self.metadata,
            created_by: UserId::new(self.created_by),
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            archived_at: self.archived_at.map(ts),
            last_message_at: self.last_message_at.map(ts),
            last_seq: self.last_seq,
            member_count: self.member_count,
            last_event_seq: self.last_event_seq,
        })
    }
}

#[derive(QueryableByName)]
pub(crate) struct MembershipRow {
    #[diesel(sql_type = BigInt)]
    m_conversation_id: i64,
    #[diesel(sql_type = BigInt)]
    m_user_id: i64,
    #[diesel(sql_type = Text)]
    m_role: String,
    #[diesel(sql_type = Timestamptz)]
    m_joined_at: OffsetDateTime,
    #[diesel(sql_type = BigInt)]
    m_history_from_seq: i64,
    #[diesel(sql_type = BigInt)]
    m_history_from_event_seq: i64,
    #[diesel(sql_type = BigInt)]
    m_last_read_seq: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    m_last_read_message_id: Option<i64>,
    #[diesel(sql_type = Bool)]
    m_starred: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    m_mute_until: Option<OffsetDateTime>,
    #[diesel(sql_type = Text)]
    m_notify_level: String,
    #[diesel(sql_type = Bool)]
    m_hidden: bool,
}

impl MembershipRow {
    pub(crate) fn into_domain(self) -> Result<Membership, ChatError> {
        Ok(Membership {
            conversation_id: ConversationId::new(self.m_conversation_id),
            user_id: UserId::new(self.m_user_id),
            role: Role::parse(&self.m_role).ok_or_else(|| corrupt("role", &self.m_role))?,
            joined_at: ts(self.m_joined_at),
            history_from_seq: self.m_history_from_seq,
            history_from_event_seq: self.m_history_from_event_seq,
            last_read_seq: self.m_last_read_seq,
            last_read_message_id: self.m_last_read_message_id.map(MessageId::new),
            starred: self.m_starred,
            mute_until: self.m_mute_until.map(ts),
            notify_level: NotifyLevel::parse(&self.m_notify_level)
                .ok_or_else(|| corrupt("notify level", &self.m_notify_level))?,
            hidden: self.m_hidden,
        })
    }
}

/// A conversation with the viewer's membership.
#[derive(QueryableByName)]
pub(crate) struct AccessRow {
    #[diesel(embed)]
    pub(crate) conversation: ConversationRow,
    #[diesel(embed)]
    pub(crate) membership: MembershipRow,
}

/// A conversation with the viewer's membership and unread figures.
#[derive(QueryableByName)]
pub(crate) struct ConversationViewRow {
    #[diesel(embed)]
    pub(crate) conversation: ConversationRow,
    #[diesel(embed)]
    pub(crate) membership: MembershipRow,
    #[diesel(sql_type = BigInt)]
    pub(crate) unread_count: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) mention_count: i64,
}

#[derive(QueryableByName)]
pub(crate) struct UserRow {
    #[diesel(sql_type = BigInt)]
    u_id: i64,
    #[diesel(sql_type = BigInt)]
    u_org_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    u_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    u_username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    u_avatar_url: Option<String>,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> User {
        User {
            id: UserId::new(self.u_id),
            org_id: OrgId::new(self.u_org_id),
            name: self.u_name,
            username: self.u_username,
            avatar_url: self.u_avatar_url,
        }
    }
}

/// A user row tagged with the conversation it was selected for.
#[derive(QueryableByName)]
pub(crate) struct MemberUserRow {
    #[diesel(sql_type = BigInt)]
    pub(crate) for_conversation: i64,
    #[diesel(embed)]
    pub(crate) user: UserRow,
}

/// Reads a row's columns in the order they are asked for, checking each
/// one's name: one comparison per column when the statement lists them in
/// that order, diesel's search by name otherwise (a row embedded after other
/// columns, say). The derived `QueryableByName` always searches by name,
/// comparing the wanted name with every column before it: for a page of 51
/// messages of 29 columns that was 18 % of a list's CPU in the server.
struct InOrder<'r, R> {
    row: &'r R,
    next: usize,
}

impl<'r, 'a: 'r, R: Row<'a, Pg>> InOrder<'r, R> {
    fn new(row: &'r R) -> Self {
        Self { row, next: 0 }
    }

    /// The column `name`, expected next.
    fn get<ST, T: FromSql<ST, Pg>>(&mut self, name: &str) -> deserialize::Result<T> {
        let row = self.row;
        let field = match Row::get(row, self.next) {
            Some(field) if field.field_name() == Some(name) => {
                self.next += 1;
                Some(field)
            }
            _ => RowIndex::<&str>::idx(row, name).and_then(|at| {
                self.next = at + 1;
                Row::get(row, at)
            }),
        }
        .ok_or_else(|| format!("Column `{name}` was not present in query"))?;
        T::from_nullable_sql(field.value())
    }
}

/// A message row of [`MESSAGE_COLUMNS`], read in that order (see
/// [`InOrder`]).
pub(crate) struct MessageRow {
    id: i64,
    conversation_id: i64,
    seq: i64,
    sender_id: i64,
    content: String,
    gif: Option<String>,
    mentions: Vec<i64>,
    mention_everyone: bool,
    parent_id: Option<i64>,
    thread_reply_count: i64,
    last_reply_at: Option<OffsetDateTime>,
    quoted_message_id: Option<i64>,
    metadata: Option<String>,
    client_msg_id: Option<String>,
    edited_at: Option<OffsetDateTime>,
    deleted_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    s_org_id: i64,
    s_name: Option<String>,
    s_username: Option<String>,
    s_avatar_url: Option<String>,
    q_id: Option<i64>,
    q_content: Option<String>,
    q_deleted_at: Option<OffsetDateTime>,
    q_sender_id: Option<i64>,
    q_org_id: Option<i64>,
    q_name: Option<String>,
    q_username: Option<String>,
    q_avatar_url: Option<String>,
}

impl QueryableByName<Pg> for MessageRow {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        let mut columns = InOrder::new(row);
        Ok(Self {
            id: columns.get::<BigInt, _>("id")?,
            conversation_id: columns.get::<BigInt, _>("conversation_id")?,
            seq: columns.get::<BigInt, _>("seq")?,
            sender_id: columns.get::<BigInt, _>("sender_id")?,
            content: columns.get::<Text, _>("content")?,
            gif: columns.get::<Nullable<Text>, _>("gif")?,
            mentions: columns.get::<Array<BigInt>, _>("mentions")?,
            mention_everyone: columns.get::<Bool, _>("mention_everyone")?,
            parent_id: columns.get::<Nullable<BigInt>, _>("parent_id")?,
            thread_reply_count: columns.get::<BigInt, _>("thread_reply_count")?,
            last_reply_at: columns.get::<Nullable<Timestamptz>, _>("last_reply_at")?,
            quoted_message_id: columns.get::<Nullable<BigInt>, _>("quoted_message_id")?,
            metadata: columns.get::<Nullable<Text>, _>("metadata")?,
            client_msg_id: columns.get::<Nullable<Text>, _>("client_msg_id")?,
            edited_at: columns.get::<Nullable<Timestamptz>, _>("edited_at")?,
            deleted_at: columns.get::<Nullable<Timestamptz>, _>("deleted_at")?,
            created_at: columns.get::<Timestamptz, _>("created_at")?,
            s_org_id: columns.get::<BigInt, _>("s_org_id")?,
            s_name: columns.get::<Nullable<Text>, _>("s_name")?,
            s_username: columns.get::<Nullable<Text>, _>("s_username")?,
            s_avatar_url: columns.get::<Nullable<Text>, _>("s_avatar_url")?,
            q_id: columns.get::<Nullable<BigInt>, _>("q_id")?,
            q_content: columns.get::<Nullable<Text>, _>("q_content")?,
            q_deleted_at: columns.get::<Nullable<Timestamptz>, _>("q_deleted_at")?,
            q_sender_id: columns.get::<Nullable<BigInt>, _>("q_sender_id")?,
            q_org_id: columns.get::<Nullable<BigInt>, _>("q_org_id")?,
            q_name: columns.get::<Nullable<Text>, _>("q_name")?,
            q_username: columns.get::<Nullable<Text>, _>("q_username")?,
            q_avatar_url: columns.get::<Nullable<Text>, _>("q_avatar_url")?,
        })
    }
}

impl MessageRow {
    /// The message's id.
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// The conversation the message belongs to.
    pub(crate) fn conversation_id(&self) -> ConversationId {
        ConversationId::new(self.conversation_id)
    }

    /// The message alone, as stored.
    pub(crate) fn message(&self) -> Message {
        Message {
            id: MessageId::new(self.id),
            conversation_id: ConversationId::new(self.conversation_id),
            seq: self.seq,
            sender_id: UserId::new(self.sender_id),
            content: self.content.clone(),
            gif: self.gif.clone(),
            mentions: self.mentions.iter().copied().map(UserId::new).collect(),
            mention_everyone: self.mention_everyone,
            parent_id: self.parent_id.map(MessageId::new),
            thread_reply_count: self.thread_reply_count,
            last_reply_at: self.last_reply_at.map(ts),
            quoted_message_id: self.quoted_message_id.map(MessageId::new),
            metadata: self.metadata.clone(),
            client_msg_id: self.client_msg_id.clone(),
            edited_at: self.edited_at.map(ts),
            deleted_at: self.deleted_at.map(ts),
            created_at: ts(self.created_at),
        }
    }

    fn sender(&self) -> User {
        User {
            id: UserId::new(self.sender_id),
            org_id: OrgId::new(self.s_org_id),
            name: self.s_name.clone(),
            username: self.s_username.clone(),
            avatar_url: self.s_avatar_url.clone(),
        }
    }

    /// The message with its sender and quote; reactions and the rest are
    /// added by the caller.
    pub(crate) fn into_view(self) -> MessageView {
        let quoted = match (self.q_id, self.q_sender_id, self.q_org_id) {
            (Some(id), Some(sender_id), Some(org_id)) => {
                let deleted = self.q_deleted_at.is_some();
                Some(QuotedMessage {
                    id: MessageId::new(id),
                    sender: User {
                        id: UserId::new(sender_id),
                        org_id: OrgId::new(org_id),
                        name: self.q_name.clone(),
                        username: self.q_username.clone(),
                        avatar_url: self.q_avatar_url.clone(),
                    },
                    content: if deleted {
                        String::new()
                    } else {
                        self.q_content.clone().unwrap_or_default()
                    },
                    deleted,
                })
            }
            _ => None,
        };
        MessageView::fresh(self.message(), self.sender(), quoted)
    }

    /// The message as a sidebar preview.
    pub(crate) fn into_preview(self) -> MessagePreview {
        let message = self.message();
        MessagePreview {
            id: message.id,
            seq: message.seq,
            sender: self.sender(),
            content: if message.is_deleted() {
                String::new()
            } else {
                message.content
            },
            created_at: message.created_at,
            deleted_at: message.deleted_at,
        }
    }
}

/// A single id column named `id`.
#[derive(QueryableByName)]
pub(crate) struct IdRow {
    #[diesel(sql_type = BigInt)]
    pub(crate) id: i64,
}

/// A member with their user.
#[derive(QueryableByName)]
pub(crate) struct MemberRow {
    #[diesel(embed)]
    user: UserRow,
    #[diesel(sql_type = Text)]
    m_role: String,
    #[diesel(sql_type = Timestamptz)]
    m_joined_at: OffsetDateTime,
}

/// The member columns: [`USER_COLUMNS`] of `u` and the role of `m`.
pub(crate) const MEMBER_COLUMNS: &str = "u.id AS u_id, u.org_id AS u_org_id, u.name AS u_name, \
    u.username AS u_username, u.avatar_url AS u_avatar_url, m.role AS m_role, m.joined_at AS m_joined_at";

impl MemberRow {
    pub(crate) fn into_domain(self) -> Result<Member, ChatError> {
        Ok(Member {
            role: Role::parse(&self.m_role).ok_or_else(|| corrupt("role", &self.m_role))?,
            joined_at: ts(self.m_joined_at),
            user: self.user.into_domain(),
        })
    }
}

/// The columns of [`AttachmentRow`], from `attachments`.
pub(crate) const ATTACHMENT_COLUMNS: &str = "id, conversation_id, message_id, uploader_id, filename, content_type, size, object_key, ready, created_at";

#[derive(QueryableByName)]
pub(crate) struct AttachmentRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub(crate) message_id: Option<i64>,
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
    pub(crate) fn into_domain(self) -> Attachment {
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

#[cfg(test)]
mod tests {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

    use super::*;

    /// A message row as literals, named as [`MESSAGE_COLUMNS`] names them,
    /// in that order.
    const MESSAGE: &[(&str, &str)] = &[
        ("id", "7::bigint"),
        ("conversation_id", "3::bigint"),
        ("seq", "12::bigint"),
        ("sender_id", "5::bigint"),
        ("content", "'hello'::text"),
        ("gif", "NULL::text"),
        ("mentions", "ARRAY[6, 8]::bigint[]"),
        ("mention_everyone", "false"),
        ("parent_id", "NULL::bigint"),
        ("thread_reply_count", "2::bigint"),
        ("last_reply_at", "'2026-12-01T10:00:00Z'::timestamptz"),
        ("quoted_message_id", "4::bigint"),
        ("metadata", "'{\"k\":1}'::text"),
        ("client_msg_id", "'c-1'::text"),
        ("edited_at", "NULL::timestamptz"),
        ("deleted_at", "NULL::timestamptz"),
        ("created_at", "'2026-12-01T09:00:00Z'::timestamptz"),
        ("s_org_id", "1::bigint"),
        ("s_name", "'Ann'::text"),
        ("s_username", "'ann'::text"),
        ("s_avatar_url", "NULL::text"),
        ("q_id", "4::bigint"),
        ("q_content", "'quoted'::text"),
        ("q_deleted_at", "NULL::timestamptz"),
        ("q_sender_id", "6::bigint"),
        ("q_org_id", "1::bigint"),
        ("q_name", "'Bob'::text"),
        ("q_username", "'bob'::text"),
        ("q_avatar_url", "NULL::text"),
    ];

    fn select<'c>(columns: impl Iterator<Item = &'c (&'c str, &'c str)>) -> String {
        let list: Vec<String> = columns
            .map(|(name, value)| format!("{value} AS {name}"))
            .collect();
        format!("SELECT {}", list.join(", "))
    }

    async fn load(conn: &mut AsyncPgConnection, sql: String) -> MessageView {
        let row: MessageRow = diesel::sql_query(sql).get_result(conn).await.unwrap();
        row.into_view()
    }

    /// `InOrder` reads by position when the statement lists the columns in
    /// order, and by name otherwise: both read the same message.
    #[tokio::test]
    async fn message_rows_read_the_same_in_any_column_order() {
        let url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
        let in_order = load(&mut conn, select(MESSAGE.iter())).await;
        let shuffled = [("pinned_by", "9::bigint")]
            .iter()
            .chain(MESSAGE.iter().rev());
        let reordered = load(&mut conn, select(shuffled)).await;

        assert_eq!(in_order, reordered);
        assert_eq!(in_order.message.id.get(), 7);
        assert_eq!(in_order.message.content, "hello");
        assert_eq!(in_order.message.mentions.len(), 2);
        assert_eq!(in_order.sender.name.as_deref(), Some("Ann"));
        let quoted = in_order.quoted.expect("the quoted message");
        assert_eq!(quoted.content, "quoted");
        assert_eq!(quoted.sender.username.as_deref(), Some("bob"));
    }
}
