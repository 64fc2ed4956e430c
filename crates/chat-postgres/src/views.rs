//! Message views: a message row with everything a reader sees around it
//! (reactions, pins, link previews, attachments). Every operation that
//! answers or publishes a message builds it here, so the operations' files
//! do not import each other.

use std::collections::{HashMap, HashSet};

use chat_domain::UserId;
use chat_domain::message::{Attachment, LinkPreview, MessageView};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join4;

use crate::error::{StoreError, StoreResult};
use crate::prepared::Prepare;
use crate::rows::{
    ATTACHMENT_COLUMNS, AttachmentRow, IdRow, MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow,
};

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
/// pinned flags, link previews and attachments of `views`: four queries for
/// the whole page, sent together in one round trip.
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

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    message_id: i64,
    #[diesel(sql_type = Text)]
    emoji: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Bool)]
    mine: bool,
}

/// Decorations of some messages, by message id.
pub(crate) struct Decorations {
    reactions: HashMap<i64, Vec<CountRow>>,
    pinned: HashSet<i64>,
    previews: HashMap<i64, Vec<LinkPreview>>,
    attachments: HashMap<i64, Vec<Attachment>>,
}

impl Decorations {
    /// The four queries, pipelined: they go out at once, before any answer.
    pub(crate) async fn load(
        mut conn: &AsyncPgConnection,
        ids: MessageIds<'_>,
        param: &[i64],
        viewer: Option<UserId>,
    ) -> StoreResult<Self> {
        let ids = ids.0;
        let viewer = viewer.map(UserId::get);
        let counts = diesel::sql_query(format!(
            "SELECT message_id, emoji, count(*) AS count, COALESCE(bool_or(user_id = $2), false) AS mine \
             FROM message_reactions WHERE message_id = ANY({ids}) \
             GROUP BY message_id, emoji ORDER BY message_id, count(*) DESC, min(created_at), emoji"
        ))
        .bind::<Array<BigInt>, _>(param)
        .bind::<Nullable<BigInt>, _>(viewer)
        .prepared()
        .load::<CountRow>(&mut conn)
        .map_err(StoreError::from);
        let pinned = diesel::sql_query(format!(
            "SELECT message_id AS id FROM pinned_messages WHERE message_id = ANY({ids})"
        ))
        .bind::<Array<BigInt>, _>(param)
        .prepared()
        .load::<IdRow>(&mut conn)
        .map_err(StoreError::from);
        let (counts, pinned, previews, attachments) = try_join4(
            counts,
            pinned,
            load_previews(conn, ids, param),
            load_attachments(conn, ids, param),
        )
        .await?;
        let mut reactions: HashMap<i64, Vec<CountRow>> = HashMap::new();
        for row in counts {
            reactions.entry(row.message_id).or_default().push(row);
        }
        Ok(Self {
            reactions,
            pinned: pinned.into_iter().map(|r| r.id).collect(),
            previews,
            attachments,
        })
    }

    /// Sets the decorations of `views`.
    pub(crate) fn apply(mut self, views: &mut [MessageView]) {
        for view in views {
            let id = view.message.id.get();
            view.pinned = self.pinned.contains(&id);
            view.link_previews = self.previews.remove(&id).unwrap_or_default();
            view.attachments = self.attachments.remove(&id).unwrap_or_default();
            let rows = self.reactions.remove(&id).unwrap_or_default();
            view.user_reactions = rows
                .iter()
                .filter(|r| r.mine)
                .map(|r| r.emoji.clone())
                .collect();
            view.reaction_counts = rows.into_iter().map(|r| (r.emoji, r.count)).collect();
        }
    }
}

#[derive(QueryableByName)]
struct PreviewRow {
    #[diesel(sql_type = BigInt)]
    message_id: i64,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    image_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    site_name: Option<String>,
}

/// The previews of these messages, in position order.
async fn load_previews(
    mut conn: &AsyncPgConnection,
    ids: &str,
    param: &[i64],
) -> StoreResult<HashMap<i64, Vec<LinkPreview>>> {
    let rows: Vec<PreviewRow> = diesel::sql_query(format!(
        "SELECT message_id, url, title, description, image_url, site_name FROM message_link_previews \
         WHERE message_id = ANY({ids}) ORDER BY message_id, position"
    ))
    .bind::<Array<BigInt>, _>(param)
    .prepared()
    .load(&mut conn)
    .await?;
    let mut by_message: HashMap<i64, Vec<LinkPreview>> = HashMap::new();
    for row in rows {
        by_message
            .entry(row.message_id)
            .or_default()
            .push(LinkPreview {
                url: row.url,
                title: row.title,
                description: row.description,
                image_url: row.image_url,
                site_name: row.site_name,
            });
    }
    Ok(by_message)
}

/// The attachments of these messages, oldest first.
async fn load_attachments(
    mut conn: &AsyncPgConnection,
    ids: &str,
    param: &[i64],
) -> StoreResult<HashMap<i64, Vec<Attachment>>> {
    let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id = ANY({ids}) \
         ORDER BY message_id, created_at, id"
    ))
    .bind::<Array<BigInt>, _>(param)
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
