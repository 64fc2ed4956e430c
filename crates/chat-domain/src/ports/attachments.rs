//! Attachments: upload records and the object store that holds the bytes.

use async_trait::async_trait;

use crate::attachment::{AttachmentQuery, NewAttachment};
use crate::events::EventsFor;
use crate::message::{Attachment, MessageView};
use crate::{AttachmentId, ChatError, MessageId, Timestamp};

/// Attachments as stored (the rows; the bytes are in the [`ObjectStore`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AttachmentRepository: Send + Sync {
    /// Creates an attachment.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn create_attachment(&self, new: NewAttachment) -> Result<Attachment, ChatError>;

    /// The attachment, whoever uploaded it.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find_attachment(&self, id: AttachmentId) -> Result<Option<Attachment>, ChatError>;

    /// Marks a pending attachment ready.
    ///
    /// # Errors
    /// `NotFound` when gone.
    async fn mark_ready(&self, id: AttachmentId) -> Result<Attachment, ChatError>;

    /// Links a ready, unlinked attachment to a live message and writes the
    /// message's events.
    ///
    /// # Errors
    /// `Conflict` when it is linked already or the message is deleted.
    async fn link_attachment(
        &self,
        id: AttachmentId,
        message: MessageId,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError>;

    /// A page of a conversation's sent attachments (live messages within the
    /// viewer's history), newest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn list_attachments(&self, query: AttachmentQuery) -> Result<Vec<Attachment>, ChatError>;

    /// Pending attachments created before `before`, oldest first.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn stale_attachments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, ChatError>;

    /// Deletes a pending attachment's row.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn delete_attachment(&self, id: AttachmentId) -> Result<(), ChatError>;
}

/// Bytes to store, pulled chunk by chunk (so a file is never held whole).
#[async_trait]
pub trait ByteSource: Send {
    /// The next chunk, or `None` at the end.
    ///
    /// # Errors
    /// When the source fails (a broken upload).
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ChatError>;
}

/// Where attachment bytes live (R2, or memory in the zero-config mode).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A presigned `PUT` for `key`: the URL and the headers the upload must
    /// carry. Computed locally, no IO.
    ///
    /// # Errors
    /// `Unexpected` when the URL cannot be made.
    fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: i64,
        expires_in_secs: u64,
    ) -> Result<(String, Vec<(String, String)>), ChatError>;

    /// A URL to download `key`: presigned with an expiry, or public.
    fn download_url(&self, key: &str, expires_in_secs: u64) -> String;

    /// The stored object's size, `None` when there is no object.
    ///
    /// # Errors
    /// `Unavailable` when the store does not answer.
    async fn object_size(&self, key: &str) -> Result<Option<i64>, ChatError>;

    /// Stores `body` at `key`, refusing past `max_size` bytes; returns the
    /// size stored.
    ///
    /// # Errors
    /// `PayloadTooLarge` past `max_size`; `Unavailable` when the store fails.
    async fn put_object(
        &self,
        key: &str,
        content_type: &str,
        body: Box<dyn ByteSource>,
        max_size: i64,
    ) -> Result<i64, ChatError>;

    /// Deletes `key` (no error when it is already gone).
    ///
    /// # Errors
    /// `Unavailable` when the store does not answer.
    async fn delete_object(&self, key: &str) -> Result<(), ChatError>;
}
