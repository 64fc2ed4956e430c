//! Full-text search over the messages a reader sees.

use async_trait::async_trait;

use crate::ChatError;
use crate::search::{MessageSearch, SearchHit};

/// Message search.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SearchRepository: Send + Sync {
    /// Messages matching a search in the conversations the viewer reads
    /// (within their history, never deleted ones), newest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn search(&self, search: MessageSearch) -> Result<Vec<SearchHit>, ChatError>;
}
