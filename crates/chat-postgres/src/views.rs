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

/// Fills reaction counts (most used first), the viewer's reactions, the
/// pinned flags, link previews and attachments of `views`: four queries for
/// the whole page, sent together in one round trip.
pub(crate) async fn decorate(
    mut conn: &AsyncPgConnection,
    viewer: Option<UserId>,
    views: &mut [MessageView],
) -> StoreResult<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = views.iter().map(|v| v.message.id.get()).collect();
    let counts = diesel::sql_query(
        "SELECT message_id, emoji, count(*) AS count, COALESCE(bool_or(user_id = $2), false) AS mine \
         FROM message_reactions WHERE message_id = ANY($1) \
         GROUP BY message_id, emoji ORDER BY message_id, count(*) DESC, min(created_at), emoji",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Nullable<BigInt>, _>(viewer.map(UserId::get))
    .prepared()
    .load::<CountRow>(&mut conn)
    .map_err(StoreError::from);
    let pinned = diesel::sql_query(
        "SELECT message_id AS id FROM pinned_messages WHERE message_id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .prepared()
    .load::<IdRow>(&mut conn)
    .map_err(StoreError::from);
    let (counts, pinned, mut previews, mut attachments) = try_join4(
        counts,
        pinned,
        load_previews(conn, &ids),
        load_attachments(conn, &ids),
    )
    .await?;
    let pinned: HashSet<i64> = pinned.into_iter().map(|r| r.id).collect();
    let mut by_message: HashMap<i64, Vec<CountRow>> = HashMap::new();
    for row in counts {
        by_message.entry(row.message_id).or_default().push(row);
    }
    for view in views {
        let id = view.message.id.get();
        view.pinned = pinned.contains(&id);
        view.link_previews = previews.remove(&id).unwrap_or_default();
        view.attachments = attachments.remove(&id).unwrap_or_default();
        let rows = by_message.remove(&id).unwrap_or_default();
        view.user_reactions = rows
            .iter()
            .filter(|r| r.mine)
            .map(|r| r.emoji.clone())
            .collect();
        view.reaction_counts = rows.into_iter().map(|r| (r.emoji, r.count)).collect();
    }
    Ok(())
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
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<LinkPreview>>> {
    let rows: Vec<PreviewRow> = diesel::sql_query(
        "SELECT message_id, url, title, description, image_url, site_name FROM message_link_previews \
         WHERE message_id = ANY($1) ORDER BY message_id, position",
    )
    .bind::<Array<BigInt>, _>(ids)
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
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<Attachment>>> {
    let rows: Vec<AttachmentRow> = diesel::sql_query(format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id = ANY($1) ORDER BY message_id, created_at, id"
    ))
    .bind::<Array<BigInt>, _>(ids)
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
