//! Attachments in memory.

use async_trait::async_trait;
use chat_domain::attachment::{AttachmentQuery, NewAttachment};
use chat_domain::events::EventsFor;
use chat_domain::message::{Attachment, MessageView};
use chat_domain::ports::AttachmentRepository;
use chat_domain::rules;
use chat_domain::{AttachmentId, ChatError, MessageId, Timestamp};

use super::*;

#[async_trait]
impl AttachmentRepository for InMemoryStore {
    async fn create_attachment(&self, new: NewAttachment) -> Result<Attachment, ChatError> {
        let mut state = self.lock();
        state.last_attachment_id += 1;
        let attachment = Attachment {
            id: AttachmentId::new(state.last_attachment_id),
            conversation_id: new.conversation_id,
            message_id: None,
            uploader_id: new.uploader_id,
            filename: new.filename,
            content_type: new.content_type,
            size: new.size,
            ready: new.ready,
            created_at: new.created_at,
            object_key: new.object_key,
            url: None,
        };
        state.attachments.insert(attachment.id, attachment.clone());
        Ok(attachment)
    }

    async fn find_attachment(&self, id: AttachmentId) -> Result<Option<Attachment>, ChatError> {
        Ok(self.lock().attachments.get(&id).cloned())
    }

    async fn mark_ready(&self, id: AttachmentId) -> Result<Attachment, ChatError> {
        let mut state = self.lock();
        let attachment = state
            .attachments
            .get_mut(&id)
            .ok_or(ChatError::NotFound("attachment"))?;
        attachment.ready = true;
        Ok(attachment.clone())
    }

    async fn link_attachment(
        &self,
        id: AttachmentId,
        message: MessageId,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError> {
        let mut state = self.lock();
        let target = state
            .messages
            .get(&message)
            .filter(|m| !m.is_deleted())
            .cloned();
        let linkable = state
            .attachments
            .get(&id)
            .zip(target.as_ref())
            .is_some_and(|(a, m)| {
                a.ready && a.message_id.is_none() && a.conversation_id == m.conversation_id
            });
        rules::may_attach_to_message(linkable)?;
        let Some(target) = target else {
            return Err(ChatError::NotFound("message"));
        };
        if let Some(a) = state.attachments.get_mut(&id) {
            a.message_id = Some(message);
        }
        let view = state.message_view(&target, Some(target.sender_id))?;
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(view)
    }

    async fn list_attachments(&self, query: AttachmentQuery) -> Result<Vec<Attachment>, ChatError> {
        let state = self.lock();
        let mut found: Vec<&Attachment> = state
            .attachments
            .values()
            .filter(|a| a.conversation_id == query.conversation_id)
            .filter(|a| {
                a.message_id
                    .and_then(|m| state.messages.get(&m))
                    .is_some_and(|m| !m.is_deleted() && m.seq > query.visible_after_seq)
            })
            .filter(|a| query.after.is_none_or(|after| (a.created_at, a.id) < after))
            .collect();
        found.sort_by_key(|a| std::cmp::Reverse((a.created_at, a.id)));
        Ok(found.into_iter().take(query.limit).cloned().collect())
    }

    async fn stale_attachments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, ChatError> {
        let state = self.lock();
        let mut stale: Vec<Attachment> = state
            .attachments
            .values()
            .filter(|a| !a.ready && a.created_at < before)
            .cloned()
            .collect();
        stale.sort_by_key(|a| a.created_at);
        stale.truncate(limit);
        Ok(stale)
    }

    async fn delete_attachment(&self, id: AttachmentId) -> Result<(), ChatError> {
        let mut state = self.lock();
        if state.attachments.get(&id).is_some_and(|a| !a.ready) {
            state.attachments.remove(&id);
        }
        Ok(())
    }
}
