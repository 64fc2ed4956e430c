//! Link previews: the unfurl queue, the preview cache, and the fetcher.

use async_trait::async_trait;

use crate::events::EventsFor;
use crate::message::{LinkPreview, MessageView, UnfurlJob};
use crate::{ChatError, MessageId, Timestamp};

/// The unfurl queue, the preview cache, and previews on messages.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LinkPreviewRepository: Send + Sync {
    /// Takes up to `limit` queued jobs off the queue. A job taken is never
    /// handed out again: previews are best-effort, nothing retries forever.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn take_unfurl_jobs(&self, limit: usize) -> Result<Vec<UnfurlJob>, ChatError>;

    /// The cached result for `url` if fetched at or after `fresh_after`:
    /// `Some(None)` is a cached failure.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn cached_preview(
        &self,
        url: &str,
        fresh_after: Timestamp,
    ) -> Result<Option<Option<LinkPreview>>, ChatError>;

    /// Caches the result of fetching `url` (`None`: nothing usable).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn cache_preview(
        &self,
        url: &str,
        preview: Option<LinkPreview>,
        at: Timestamp,
    ) -> Result<(), ChatError>;

    /// Sets a live message's previews and writes its events; `None` when the
    /// message is gone or deleted (nothing written).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn attach_previews(
        &self,
        message: MessageId,
        previews: Vec<LinkPreview>,
        events: EventsFor<MessageView>,
    ) -> Result<Option<MessageView>, ChatError>;
}

/// Fetches and parses a link's preview, safely (only public addresses).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LinkFetcher: Send + Sync {
    /// The preview of `url`, or `None` when it cannot or may not be fetched,
    /// or has nothing to show.
    async fn fetch(&self, url: &str) -> Option<LinkPreview>;
}
