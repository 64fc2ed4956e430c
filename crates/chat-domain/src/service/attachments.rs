//! Attachment use cases: upload tickets, finalize, multipart uploads,
//! listing, and the sweep of uploads never finalized.

use crate::attachment::{
    AttachmentQuery, NewAttachment, UploadTicket, check_content_type, object_key, sanitize_filename,
};
use crate::events::{Audience, EventPayload};
use crate::message::{Attachment, MessageView};
use crate::ports::{ByteSource, ObjectStore};
use crate::user::Caller;
use crate::{AttachmentId, ChatError, ConversationId, MessageId, Timestamp};

use super::ChatService;
use super::manage::require_active;

/// Signs download URLs into views; cheap to clone into event closures.
#[derive(Clone)]
pub(super) struct UrlSigner {
    pub(super) objects: std::sync::Arc<dyn ObjectStore>,
    pub(super) ttl_secs: u64,
}

impl UrlSigner {
    pub(super) fn attachment(&self, mut attachment: Attachment) -> Attachment {
        attachment.url = Some(
            self.objects
                .download_url(&attachment.object_key, self.ttl_secs),
        );
        attachment
    }

    pub(super) fn view(&self, mut view: MessageView) -> MessageView {
        view.attachments = view
            .attachments
            .into_iter()
            .map(|a| self.attachment(a))
            .collect();
        view
    }
}

/// A page of attachments, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPage {
    pub attachments: Vec<Attachment>,
    pub next: Option<(Timestamp, AttachmentId)>,
}

impl ChatService {
    fn check_size(&self, size: i64) -> Result<(), ChatError> {
        if size > self.limits.file_bytes {
            return Err(ChatError::PayloadTooLarge(format!(
                "a file holds at most {} bytes",
                self.limits.file_bytes
            )));
        }
        if size < 0 {
            return Err(ChatError::validation("size", "must not be negative"));
        }
        Ok(())
    }

    /// A pending attachment and a presigned `PUT` to upload its bytes to.
    ///
    /// # Errors
    /// `not_found` when unreadable, `conflict` when archived,
    /// `payload_too_large` over the file limit, `validation_failed` for the
    /// name or type.
    pub async fn upload_ticket(
        &self,
        caller: Caller,
        conversation: ConversationId,
        filename: &str,
        content_type: &str,
        size: i64,
    ) -> Result<UploadTicket, ChatError> {
        let access = self.readable(caller, conversation).await?;
        require_active(&access)?;
        self.check_size(size)?;
        let filename = sanitize_filename(filename)?;
        let content_type = check_content_type(content_type)?;
        let now = self.clock.now();
        let key = object_key(
            conversation,
            self.events.ids.next_event_id().as_str(),
            &filename,
        );
        let (upload_url, headers) = self.signer.objects.upload_url(
            &key,
            &content_type,
            size,
            self.limits.upload_ttl_secs,
        )?;
        let attachment = self
            .attachments
            .create_attachment(NewAttachment {
                conversation_id: conversation,
                uploader_id: caller.user_id,
                filename,
                content_type,
                size,
                object_key: key,
                ready: false,
                created_at: now,
            })
            .await?;
        let ttl_ms = i64::try_from(self.limits.upload_ttl_secs)
            .unwrap_or(0)
            .saturating_mul(1000);
        let expires_at = Timestamp::from_unix_millis(now.unix_millis() + ttl_ms).unwrap_or(now);
        Ok(UploadTicket {
            attachment,
            upload_url,
            headers,
            expires_at,
        })
    }

    /// Checks the upload arrived with the announced size, marks the
    /// attachment ready, and links it to the caller's message when given.
    ///
    /// # Errors
    /// `not_found` for someone else's (or an unknown) attachment or message;
    /// `conflict` when the object is missing, of the wrong size, or the
    /// attachment is sent already.
    pub async fn finalize_attachment(
        &self,
        caller: Caller,
        id: AttachmentId,
        message: Option<MessageId>,
    ) -> Result<Attachment, ChatError> {
        let attachment = self
            .attachments
            .find_attachment(id)
            .await?
            .filter(|a| a.uploader_id == caller.user_id)
            .ok_or(ChatError::NotFound("attachment"))?;
        let access = self.readable(caller, attachment.conversation_id).await?;
        let mut attachment = if attachment.ready {
            attachment
        } else {
            match self
                .signer
                .objects
                .object_size(&attachment.object_key)
                .await?
            {
                None => return Err(ChatError::conflict("the file has not been uploaded")),
                Some(size) if size != attachment.size => {
                    return Err(ChatError::conflict(format!(
                        "the uploaded file has {size} bytes, not the {} announced",
                        attachment.size
                    )));
                }
                Some(_) => self.attachments.mark_ready(id).await?,
            }
        };
        if let Some(message_id) = message {
            let target = self.messages.find(message_id).await?;
            let own = target.is_some_and(|m| {
                m.sender_id == caller.user_id
                    && m.conversation_id == attachment.conversation_id
                    && access.sees_seq(m.seq)
            });
            if !own {
                return Err(ChatError::NotFound("message"));
            }
            require_active(&access)?;
            let events = self.events.clone();
            let signer = self.signer.clone();
            let at = self.clock.now();
            self.attachments
                .link_attachment(
                    id,
                    message_id,
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
            attachment.message_id = Some(message_id);
        }
        Ok(self.signer.attachment(attachment))
    }

    /// Stores a file sent with a multipart message, streamed to the object
    /// store, and returns it ready (not yet linked).
    ///
    /// # Errors
    /// As [`ChatService::upload_ticket`], and `payload_too_large` when the
    /// stream passes the limit.
    pub async fn upload_file(
        &self,
        caller: Caller,
        conversation: ConversationId,
        filename: &str,
        content_type: &str,
        body: Box<dyn ByteSource>,
    ) -> Result<Attachment, ChatError> {
        let access = self.readable(caller, conversation).await?;
        require_active(&access)?;
        let filename = sanitize_filename(filename)?;
        let content_type = check_content_type(content_type)?;
        let key = object_key(
            conversation,
            self.events.ids.next_event_id().as_str(),
            &filename,
        );
        let size = self
            .signer
            .objects
            .put_object(&key, &content_type, body, self.limits.file_bytes)
            .await?;
        self.attachments
            .create_attachment(NewAttachment {
                conversation_id: conversation,
                uploader_id: caller.user_id,
                filename,
                content_type,
                size,
                object_key: key,
                ready: true,
                created_at: self.clock.now(),
            })
            .await
    }

    /// The conversation's sent files the caller can see, newest first.
    ///
    /// # Errors
    /// `not_found` when unreadable; `validation_failed` on `limit`.
    pub async fn list_attachments(
        &self,
        caller: Caller,
        conversation: ConversationId,
        after: Option<(Timestamp, AttachmentId)>,
        limit: Option<i64>,
    ) -> Result<AttachmentPage, ChatError> {
        let limit = self.limits.other_page.resolve(limit)?;
        let access = self.readable(caller, conversation).await?;
        let mut attachments = self
            .attachments
            .list_attachments(AttachmentQuery {
                conversation_id: conversation,
                visible_after_seq: access.membership.history_from_seq,
                after,
                limit: limit + 1,
            })
            .await?;
        let next = if attachments.len() > limit {
            attachments.truncate(limit);
            attachments.last().map(|a| (a.created_at, a.id))
        } else {
            None
        };
        let attachments = attachments
            .into_iter()
            .map(|a| self.signer.attachment(a))
            .collect();
        Ok(AttachmentPage { attachments, next })
    }

    /// Deletes uploads never finalized and older than `max_age_ms` (object
    /// and row); returns how many went.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the stores.
    pub async fn sweep_pending_uploads(
        &self,
        max_age_ms: i64,
        limit: usize,
    ) -> Result<usize, ChatError> {
        let now = self.clock.now();
        let before = Timestamp::from_unix_millis(now.unix_millis() - max_age_ms).unwrap_or(now);
        let stale = self.attachments.stale_attachments(before, limit).await?;
        for attachment in &stale {
            self.signer
                .objects
                .delete_object(&attachment.object_key)
                .await?;
            self.attachments.delete_attachment(attachment.id).await?;
        }
        Ok(stale.len())
    }

    /// The caller's own ready upload to this conversation, for an avatar.
    /// Anyone else's file is not the caller's to publish: the avatar's URL
    /// is served to every member, including a file sent before they joined
    /// or never sent at all.
    pub(super) async fn avatar_attachment(
        &self,
        caller: Caller,
        conversation: ConversationId,
        id: AttachmentId,
    ) -> Result<(), ChatError> {
        let usable = self
            .attachments
            .find_attachment(id)
            .await?
            .is_some_and(|a| {
                a.conversation_id == conversation && a.ready && a.uploader_id == caller.user_id
            });
        if usable {
            Ok(())
        } else {
            Err(ChatError::validation("avatarFileId", "unknown attachment"))
        }
    }
}
