//! Link previews: the unfurl queue, the cache, and previews on messages.

use async_trait::async_trait;
use chat_domain::events::EventsFor;
use chat_domain::message::{LinkPreview, MessageView, UnfurlJob};
use chat_domain::ports::LinkPreviewRepository;
use chat_domain::{ChatError, MessageId, Timestamp};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::PgStore;
use crate::error::{StoreError, StoreResult, db_error};
use crate::locks;
use crate::prepared::Prepare;
use crate::views::{decorate, load_message};

#[derive(QueryableByName)]
struct CacheRow {
    #[diesel(sql_type = Bool)]
    ok: bool,
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

#[derive(QueryableByName)]
struct JobRow {
    #[diesel(sql_type = BigInt)]
    message_id: i64,
    #[diesel(sql_type = Array<Text>)]
    urls: Vec<String>,
}

/// Queues the links of a message, replacing what was queued or shown.
pub(crate) async fn queue_links(
    mut conn: &AsyncPgConnection,
    message: i64,
    links: &[String],
) -> StoreResult<()> {
    // Sent together; they run in this order.
    let previews = diesel::sql_query("DELETE FROM message_link_previews WHERE message_id = $1")
        .bind::<BigInt, _>(message)
        .prepared()
        .execute(&mut conn);
    let jobs = diesel::sql_query("DELETE FROM link_unfurl_jobs WHERE message_id = $1")
        .bind::<BigInt, _>(message)
        .prepared()
        .execute(&mut conn);
    let queue = async {
        if links.is_empty() {
            return Ok(0);
        }
        let mut c = conn;
        diesel::sql_query("INSERT INTO link_unfurl_jobs (message_id, urls) VALUES ($1, $2)")
            .bind::<BigInt, _>(message)
            .bind::<Array<Text>, _>(links)
            .prepared()
            .execute(&mut c)
            .await
    };
    futures_util::future::try_join3(previews, jobs, queue).await?;
    Ok(())
}

#[async_trait]
impl LinkPreviewRepository for PgStore {
    async fn take_unfurl_jobs(&self, limit: usize) -> Result<Vec<UnfurlJob>, ChatError> {
        let mut conn = self.conn().await?;
        // SKIP LOCKED: workers on any replica take different jobs.
        let rows: Vec<JobRow> = diesel::sql_query(
            "DELETE FROM link_unfurl_jobs WHERE message_id IN ( \
               SELECT message_id FROM link_unfurl_jobs ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING message_id, urls",
        )
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| UnfurlJob {
                message_id: MessageId::new(r.message_id),
                urls: r.urls,
            })
            .collect())
    }

    async fn cached_preview(
        &self,
        url: &str,
        fresh_after: Timestamp,
    ) -> Result<Option<Option<LinkPreview>>, ChatError> {
        let mut conn = self.conn().await?;
        let rows: Vec<CacheRow> = diesel::sql_query(
            "SELECT ok, url, title, description, image_url, site_name FROM link_preview_cache \
             WHERE url = $1 AND fetched_at >= $2",
        )
        .bind::<Text, _>(url)
        .bind::<Timestamptz, _>(fresh_after.datetime())
        .prepared()
        .load(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().next().map(|row| {
            row.ok.then_some(LinkPreview {
                url: row.url,
                title: row.title,
                description: row.description,
                image_url: row.image_url,
                site_name: row.site_name,
            })
        }))
    }

    async fn cache_preview(
        &self,
        url: &str,
        preview: Option<LinkPreview>,
        at: Timestamp,
    ) -> Result<(), ChatError> {
        let mut conn = self.conn().await?;
        let p = preview.as_ref();
        diesel::sql_query(
            "INSERT INTO link_preview_cache (url, ok, title, description, image_url, site_name, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (url) DO UPDATE SET ok = EXCLUDED.ok, title = EXCLUDED.title, \
               description = EXCLUDED.description, image_url = EXCLUDED.image_url, \
               site_name = EXCLUDED.site_name, fetched_at = EXCLUDED.fetched_at",
        )
        .bind::<Text, _>(url)
        .bind::<Bool, _>(p.is_some())
        .bind::<Nullable<Text>, _>(p.and_then(|p| p.title.as_deref()))
        .bind::<Nullable<Text>, _>(p.and_then(|p| p.description.as_deref()))
        .bind::<Nullable<Text>, _>(p.and_then(|p| p.image_url.as_deref()))
        .bind::<Nullable<Text>, _>(p.and_then(|p| p.site_name.as_deref()))
        .bind::<Timestamptz, _>(at.datetime())
        .prepared()
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn attach_previews(
        &self,
        message: MessageId,
        previews: Vec<LinkPreview>,
        events: EventsFor<MessageView>,
    ) -> Result<Option<MessageView>, ChatError> {
        let mut conn = self.conn().await?;
        let outbox = self.outbox.clone();
        conn.transaction(async |conn| -> StoreResult<Option<MessageView>> {
            let live = locks::message(conn, message)
                .await?
                .is_some_and(|m| !m.is_deleted());
            if !live {
                return Ok(None);
            }
            diesel::sql_query("DELETE FROM message_link_previews WHERE message_id = $1")
                .bind::<BigInt, _>(message.get())
                .prepared()
                .execute(&mut *conn)
                .await?;
            for (position, p) in previews.iter().enumerate() {
                diesel::sql_query(
                    "INSERT INTO message_link_previews \
                       (message_id, position, url, title, description, image_url, site_name) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind::<BigInt, _>(message.get())
                .bind::<diesel::sql_types::Integer, _>(i32::try_from(position).unwrap_or(i32::MAX))
                .bind::<Text, _>(&p.url)
                .bind::<Nullable<Text>, _>(p.title.as_deref())
                .bind::<Nullable<Text>, _>(p.description.as_deref())
                .bind::<Nullable<Text>, _>(p.image_url.as_deref())
                .bind::<Nullable<Text>, _>(p.site_name.as_deref())
                .prepared()
                .execute(&mut *conn)
                .await?;
            }
            let Some(row) = load_message(conn, message.get()).await? else {
                return Ok(None);
            };
            let mut view = row.into_view();
            decorate(conn, None, std::slice::from_mut(&mut view)).await?;
            outbox.write(conn, events(&view)).await?;
            Ok(Some(view))
        })
        .await
        .map_err(StoreError::into_chat)
    }
}
