//! The unfurl use case: turn queued links into previews on their messages.

use crate::events::{Audience, EventPayload};
use crate::message::MessageView;
use crate::{ChatError, Timestamp};

use super::ChatService;

impl ChatService {
    /// Unfurls up to `limit` queued messages: each link from the cache when
    /// fresh, else fetched (and cached, failures too). A message that gets
    /// any preview is updated and `message.updated` is published. Returns
    /// how many jobs were taken.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    pub async fn unfurl_queued(&self, limit: usize) -> Result<usize, ChatError> {
        let jobs = self.previews.take_unfurl_jobs(limit).await?;
        for job in &jobs {
            let mut previews = Vec::new();
            for url in &job.urls {
                let now = self.clock.now();
                let fresh_after = Timestamp::from_unix_millis(
                    now.unix_millis() - self.limits.preview_cache_ttl_ms,
                )
                .unwrap_or(now);
                let preview = match self.previews.cached_preview(url, fresh_after).await? {
                    Some(cached) => cached,
                    None => {
                        let fetched = self.fetcher.fetch(url).await;
                        self.previews
                            .cache_preview(url, fetched.clone(), self.clock.now())
                            .await?;
                        fetched
                    }
                };
                previews.extend(preview);
            }
            if previews.is_empty() {
                continue;
            }
            let events = self.events.clone();
            let signer = self.signer.clone();
            let at = self.clock.now();
            self.previews
                .attach_previews(
                    job.message_id,
                    previews,
                    Box::new(move |view: &MessageView| {
                        vec![events.event(
                            view.message.conversation_id,
                            at,
                            Audience::Conversation,
                            EventPayload::MessageUpdated(signer.view(view.for_everyone())),
                        )]
                    }),
                )
                .await?;
        }
        Ok(jobs.len())
    }
}
