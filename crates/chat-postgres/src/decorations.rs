//! What a reader sees around a message: reaction counts (most used first)
//! and the viewer's own reactions, the pinned flag, link previews and
//! attachments.
//!
//! One SQL fragment computes them for a message row `x`, so a page of
//! messages comes with its decorations in the same query (one statement, one
//! round trip), and [`decorate`] fills views loaded some other way with the
//! same fragment over their ids. Lists come back as JSON arrays of arrays,
//! read here in one place.

use std::collections::HashMap;

use chat_domain::message::{Attachment, LinkPreview, MessageView};
use chat_domain::{AttachmentId, ChatError, ConversationId, MessageId, Timestamp, UserId};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::{StoreError, StoreResult};
use crate::prepared::Prepare;

/// The decoration columns of message `x`, for the viewer bound at
/// `$viewer_param` (a nullable bigint: events are seen by nobody in
/// particular).
pub(crate) fn decoration_columns(viewer_param: usize) -> String {
    format!(
        "(SELECT COALESCE(json_agg(json_build_array(g.emoji, g.n, g.mine) \
             ORDER BY g.n DESC, g.first, g.emoji), '[]') \
           FROM (SELECT r.emoji, count(*) AS n, \
                   COALESCE(bool_or(r.user_id = ${viewer_param}), false) AS mine, \
                   min(r.created_at) AS first \
                 FROM message_reactions r WHERE r.message_id = x.id GROUP BY r.emoji) g \
         )::text AS d_reactions, \
         EXISTS (SELECT 1 FROM pinned_messages p WHERE p.message_id = x.id) AS d_pinned, \
         (SELECT COALESCE(json_agg(json_build_array(lp.url, lp.title, lp.description, \
             lp.image_url, lp.site_name) ORDER BY lp.position), '[]') \
           FROM message_link_previews lp WHERE lp.message_id = x.id)::text AS d_previews, \
         (SELECT COALESCE(json_agg(json_build_array(a.id, a.conversation_id, a.message_id, \
             a.uploader_id, a.filename, a.content_type, a.size, a.object_key, a.ready, \
             (extract(epoch FROM a.created_at) * 1000)::bigint) ORDER BY a.created_at, a.id), '[]') \
           FROM attachments a WHERE a.message_id = x.id)::text AS d_attachments"
    )
}

/// The decoration columns of one row.
#[derive(QueryableByName)]
pub(crate) struct DecorationRow {
    #[diesel(sql_type = Text)]
    d_reactions: String,
    #[diesel(sql_type = Bool)]
    d_pinned: bool,
    #[diesel(sql_type = Text)]
    d_previews: String,
    #[diesel(sql_type = Text)]
    d_attachments: String,
}

/// `[emoji, count, mine]`.
type ReactionJson = (String, i64, bool);
/// `[url, title, description, image_url, site_name]`.
type PreviewJson = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
/// `[id, conversation_id, message_id, uploader_id, filename, content_type,
/// size, object_key, ready, created_at (ms)]`.
type AttachmentJson = (
    i64,
    i64,
    Option<i64>,
    i64,
    String,
    String,
    i64,
    String,
    bool,
    i64,
);

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Chat(ChatError::Unexpected(anyhow::anyhow!(
            "stored {what} are not readable: {e}"
        )))
    })
}

impl DecorationRow {
    /// Sets the decorations of `view`.
    pub(crate) fn apply(self, view: &mut MessageView) -> StoreResult<()> {
        let reactions: Vec<ReactionJson> = parse("reactions", &self.d_reactions)?;
        view.user_reactions = reactions
            .iter()
            .filter(|(_, _, mine)| *mine)
            .map(|(emoji, _, _)| emoji.clone())
            .collect();
        view.reaction_counts = reactions
            .into_iter()
            .map(|(emoji, count, _)| (emoji, count))
            .collect();
        view.pinned = self.d_pinned;
        let previews: Vec<PreviewJson> = parse("link previews", &self.d_previews)?;
        view.link_previews = previews
            .into_iter()
            .map(
                |(url, title, description, image_url, site_name)| LinkPreview {
                    url,
                    title,
                    description,
                    image_url,
                    site_name,
                },
            )
            .collect();
        let attachments: Vec<AttachmentJson> = parse("attachments", &self.d_attachments)?;
        view.attachments = attachments
            .into_iter()
            .map(attachment)
            .collect::<StoreResult<_>>()?;
        Ok(())
    }
}

fn attachment(
    (id, conversation, message, uploader, filename, content_type, size, object_key, ready, created): AttachmentJson,
) -> StoreResult<Attachment> {
    let created_at = Timestamp::from_unix_millis(created).ok_or_else(|| {
        StoreError::Chat(ChatError::Unexpected(anyhow::anyhow!(
            "stored attachment time {created} is out of range"
        )))
    })?;
    Ok(Attachment {
        id: AttachmentId::new(id),
        conversation_id: ConversationId::new(conversation),
        message_id: message.map(MessageId::new),
        uploader_id: UserId::new(uploader),
        filename,
        content_type,
        size,
        ready,
        created_at,
        object_key,
        url: None,
    })
}

#[derive(QueryableByName)]
struct DecorationsOf {
    #[diesel(sql_type = BigInt)]
    d_id: i64,
    #[diesel(embed)]
    decorations: DecorationRow,
}

/// Fills the decorations of `views`, as `viewer` sees them: one query for
/// the whole page.
pub(crate) async fn decorate(
    mut conn: &AsyncPgConnection,
    viewer: Option<UserId>,
    views: &mut [MessageView],
) -> StoreResult<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = views.iter().map(|v| v.message.id.get()).collect();
    let rows: Vec<DecorationsOf> = diesel::sql_query(format!(
        "SELECT x.id AS d_id, {} FROM unnest($1::bigint[]) AS x(id)",
        decoration_columns(2)
    ))
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Nullable<BigInt>, _>(viewer.map(UserId::get))
    .prepared()
    .load(&mut conn)
    .await?;
    let mut by_id: HashMap<i64, DecorationRow> =
        rows.into_iter().map(|r| (r.d_id, r.decorations)).collect();
    for view in views {
        if let Some(decorations) = by_id.remove(&view.message.id.get()) {
            decorations.apply(view)?;
        }
    }
    Ok(())
}
