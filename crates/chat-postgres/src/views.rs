//! Message views: a message row with everything a reader sees around it
//! (reactions, pins, link previews, attachments). Every operation that
//! answers or publishes a message builds it here, so the operations' files
//! do not import each other.

use std::collections::{HashMap, HashSet};

use chat_domain::message::{Attachment, LinkPreview, MessageView};
use chat_domain::{AttachmentId, ChatError, ConversationId, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join;
use time::OffsetDateTime;

use crate::error::{StoreError, StoreResult};
use crate::prepared::Prepare;
use crate::rows::{MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow};

pub(crate) async fn load_message(
    mut conn: &AsyncPgConnection,
    id: i64,
) -> StoreResult<Option<MessageRow>> {
    let rows: Vec<MessageRow> = diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages x {MESSAGE_JOINS} WHERE x.id = $1"
    ))
    .bind::<BigInt, _>(id)
    .prepared()
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Fills reaction counts (most used first), the viewer's reactions, the
/// pinned flags, link previews and attachments of `views`: one statement
/// for the whole page.
pub(crate) async fn decorate(
    conn: &AsyncPgConnection,
    viewer: Option<UserId>,
    views: &mut [MessageView],
) -> StoreResult<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = views.iter().map(|v| v.message.id.get()).collect();
    let decorations = Decorations::load(conn, MessageIds::LIST, &ids, viewer).await?;
    decorations.apply(views);
    Ok(())
}

/// Which messages to decorate, as SQL over the array bound at `$1`: the ids
/// themselves, or a page query over an encoded range (see `messages.rs`), so
/// the decorations of a page can travel with the page itself instead of
/// waiting for its ids. Both shapes bind the same: `$1 bigint[]` (and the
/// viewer at `$2` for reactions).
#[derive(Clone, Copy)]
pub(crate) struct MessageIds<'a>(pub(crate) &'a str);

impl MessageIds<'_> {
    /// `$1` is the list of message ids.
    pub(crate) const LIST: MessageIds<'static> = MessageIds("$1");
}

/// The decorations of the messages `ids` (see [`MessageIds`]) as `$2`
/// sees them: one statement, in which the ids are found once, then each
/// kind's rows. Every row has the same columns; a kind fills its own
/// (`r_` reactions, one row per emoji; `p_` link previews; `a_`
/// attachments) and leaves the others NULL; the first branch names them
/// all. Pins are the kind alone.
/// Order within a kind is restored in Rust ([`Decorations::apply`]).
fn decorations_sql(ids: &str) -> String {
    const NO_REACTION: &str = "NULL::text, NULL::bigint, NULL::boolean, NULL::timestamptz";
    const NO_PREVIEW: &str =
        "NULL::integer, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text";
    const NO_ATTACHMENT: &str = "NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text, \
        NULL::bigint, NULL::text, NULL::boolean, NULL::timestamptz";
    format!(
        "WITH page AS MATERIALIZED (SELECT {ids}::bigint[] AS ids) \
         SELECT 1 AS kind, r.message_id, r.emoji AS r_emoji, count(*) AS r_count, \
           COALESCE(bool_or(r.user_id = $2), false) AS r_mine, min(r.created_at) AS r_first_at, \
           NULL::integer AS p_position, NULL::text AS p_url, NULL::text AS p_title, \
           NULL::text AS p_description, NULL::text AS p_image_url, NULL::text AS p_site_name, \
           NULL::bigint AS a_id, NULL::bigint AS a_conversation_id, NULL::bigint AS a_uploader_id, \
           NULL::text AS a_filename, NULL::text AS a_content_type, NULL::bigint AS a_size, \
           NULL::text AS a_object_key, NULL::boolean AS a_ready, NULL::timestamptz AS a_created_at \
         FROM message_reactions r WHERE r.message_id = ANY((SELECT ids FROM page)::bigint[]) \
         GROUP BY r.message_id, r.emoji \
         UNION ALL \
         SELECT 2, p.message_id, {NO_REACTION}, {NO_PREVIEW}, {NO_ATTACHMENT} \
         FROM pinned_messages p WHERE p.message_id = ANY((SELECT ids FROM page)::bigint[]) \
         UNION ALL \
         SELECT 3, l.message_id, {NO_REACTION}, l.position, l.url, l.title, l.description, \
           l.image_url, l.site_name, {NO_ATTACHMENT} \
         FROM message_link_previews l WHERE l.message_id = ANY((SELECT ids FROM page)::bigint[]) \
         UNION ALL \
         SELECT 4, a.message_id, {NO_REACTION}, {NO_PREVIEW}, a.id, a.conversation_id, \
           a.uploader_id, a.filename, a.content_type, a.size, a.object_key, a.ready, a.created_at \
         FROM attachments a WHERE a.message_id = ANY((SELECT ids FROM page)::bigint[])"
    )
}

const REACTION: i32 = 1;
const PIN: i32 = 2;
const PREVIEW: i32 = 3;
const ATTACHMENT: i32 = 4;

/// A row of [`decorations_sql`].
#[derive(QueryableByName)]
struct DecorationRow {
    #[diesel(sql_type = Integer)]
    kind: i32,
    #[diesel(sql_type = BigInt)]
    message_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    r_emoji: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_count: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    r_mine: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    r_first_at: Option<OffsetDateTime>,
    #[diesel(sql_type = Nullable<Integer>)]
    p_position: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    p_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    p_title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    p_description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    p_image_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    p_site_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    a_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    a_conversation_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    a_uploader_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    a_filename: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    a_content_type: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    a_size: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    a_object_key: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    a_ready: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    a_created_at: Option<OffsetDateTime>,
}

/// A reaction count as read: the emoji, how many, whether the viewer is
/// among them, and when it was first used (the tie-breaker of the order).
struct ReactionCount {
    emoji: String,
    count: i64,
    mine: bool,
    first_at: OffsetDateTime,
}

/// Decorations of some messages, by message id.
pub(crate) struct Decorations {
    reactions: HashMap<i64, Vec<ReactionCount>>,
    pinned: HashSet<i64>,
    previews: HashMap<i64, Vec<(i32, LinkPreview)>>,
    attachments: HashMap<i64, Vec<Attachment>>,
}

impl Decorations {
    /// One statement; it goes out at once, pipelined with whatever the
    /// caller awaits beside it.
    pub(crate) async fn load(
        mut conn: &AsyncPgConnection,
        ids: MessageIds<'_>,
        param: &[i64],
        viewer: Option<UserId>,
    ) -> StoreResult<Self> {
        let rows: Vec<DecorationRow> = diesel::sql_query(decorations_sql(ids.0))
            .bind::<Array<BigInt>, _>(param)
            .bind::<Nullable<BigInt>, _>(viewer.map(UserId::get))
            .prepared()
            .load(&mut conn)
            .await?;
        let mut decorations = Self {
            reactions: HashMap::new(),
            pinned: HashSet::new(),
            previews: HashMap::new(),
            attachments: HashMap::new(),
        };
        for row in rows {
            decorations.add(row)?;
        }
        Ok(decorations)
    }

    fn add(&mut self, row: DecorationRow) -> StoreResult<()> {
        // The kind is copied out so the row's strings can move.
        let kind = row.kind;
        let missing = move || {
            StoreError::Chat(ChatError::Unexpected(anyhow::anyhow!(
                "decoration row of kind {kind} without its columns"
            )))
        };
        match kind {
            REACTION => {
                let reaction = ReactionCount {
                    emoji: row.r_emoji.ok_or_else(missing)?,
                    count: row.r_count.ok_or_else(missing)?,
                    mine: row.r_mine.unwrap_or(false),
                    first_at: row.r_first_at.ok_or_else(missing)?,
                };
                self.reactions
                    .entry(row.message_id)
                    .or_default()
                    .push(reaction);
            }
            PIN => {
                self.pinned.insert(row.message_id);
            }
            PREVIEW => {
                let preview = LinkPreview {
                    url: row.p_url.ok_or_else(missing)?,
                    title: row.p_title,
                    description: row.p_description,
                    image_url: row.p_image_url,
                    site_name: row.p_site_name,
                };
                let position = row.p_position.ok_or_else(missing)?;
                self.previews
                    .entry(row.message_id)
                    .or_default()
                    .push((position, preview));
            }
            ATTACHMENT => {
                let attachment = Attachment {
                    id: AttachmentId::new(row.a_id.ok_or_else(missing)?),
                    conversation_id: ConversationId::new(
                        row.a_conversation_id.ok_or_else(missing)?,
                    ),
                    message_id: Some(MessageId::new(row.message_id)),
                    uploader_id: UserId::new(row.a_uploader_id.ok_or_else(missing)?),
                    filename: row.a_filename.ok_or_else(missing)?,
                    content_type: row.a_content_type.ok_or_else(missing)?,
                    size: row.a_size.ok_or_else(missing)?,
                    ready: row.a_ready.unwrap_or(false),
                    created_at: Timestamp::from_datetime(row.a_created_at.ok_or_else(missing)?),
                    object_key: row.a_object_key.ok_or_else(missing)?,
                    url: None,
                };
                self.attachments
                    .entry(row.message_id)
                    .or_default()
                    .push(attachment);
            }
            _ => return Err(missing()),
        }
        Ok(())
    }

    /// Sets the decorations of `views`, each kind in its order: reactions
    /// most used first (then first used, then emoji), previews by position,
    /// attachments oldest first.
    pub(crate) fn apply(mut self, views: &mut [MessageView]) {
        for view in views {
            let id = view.message.id.get();
            view.pinned = self.pinned.contains(&id);
            let mut previews = self.previews.remove(&id).unwrap_or_default();
            previews.sort_by_key(|(position, _)| *position);
            view.link_previews = previews.into_iter().map(|(_, p)| p).collect();
            let mut attachments = self.attachments.remove(&id).unwrap_or_default();
            attachments.sort_by_key(|a| (a.created_at, a.id));
            view.attachments = attachments;
            let mut reactions = self.reactions.remove(&id).unwrap_or_default();
            reactions.sort_by(|a, b| {
                b.count
                    .cmp(&a.count)
                    .then(a.first_at.cmp(&b.first_at))
                    .then_with(|| a.emoji.cmp(&b.emoji))
            });
            view.user_reactions = reactions
                .iter()
                .filter(|r| r.mine)
                .map(|r| r.emoji.clone())
                .collect();
            view.reaction_counts = reactions.into_iter().map(|r| (r.emoji, r.count)).collect();
        }
    }
}

/// The message as `viewer` sees it: the row and its decorations in one
/// round trip.
pub(crate) async fn decorated(
    conn: &AsyncPgConnection,
    id: MessageId,
    viewer: UserId,
) -> StoreResult<MessageView> {
    decorated_as(conn, id, Some(viewer)).await
}

/// The message as events show it: nobody's own reactions.
pub(crate) async fn decorated_for_everyone(
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
