//! Link previews in memory.

use async_trait::async_trait;
use chat_domain::events::EventsFor;
use chat_domain::message::{LinkPreview, MessageView, UnfurlJob};
use chat_domain::ports::LinkPreviewRepository;
use chat_domain::{ChatError, MessageId, Timestamp};

use super::*;

#[async_trait]
impl LinkPreviewRepository for InMemoryStore {
    async fn take_unfurl_jobs(&self, limit: usize) -> Result<Vec<UnfurlJob>, ChatError> {
        let mut state = self.lock();
        let take = limit.min(state.unfurl_jobs.len());
        Ok(state.unfurl_jobs.drain(..take).collect())
    }

    async fn cached_preview(
        &self,
        url: &str,
        fresh_after: Timestamp,
    ) -> Result<Option<Option<LinkPreview>>, ChatError> {
        let state = self.lock();
        Ok(state
            .preview_cache
            .get(url)
            .filter(|(_, at)| *at >= fresh_after)
            .map(|(preview, _)| preview.clone()))
    }

    async fn cache_preview(
        &self,
        url: &str,
        preview: Option<LinkPreview>,
        at: Timestamp,
    ) -> Result<(), ChatError> {
        self.lock()
            .preview_cache
            .insert(url.to_owned(), (preview, at));
        Ok(())
    }

    async fn attach_previews(
        &self,
        message: MessageId,
        previews: Vec<LinkPreview>,
        events: EventsFor<MessageView>,
    ) -> Result<Option<MessageView>, ChatError> {
        let mut state = self.lock();
        let Some(live) = state
            .messages
            .get(&message)
            .filter(|m| !m.is_deleted())
            .cloned()
        else {
            return Ok(None);
        };
        state.link_previews.insert(message, previews);
        let view = state.message_view(&live, None)?;
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(Some(view))
    }
}
