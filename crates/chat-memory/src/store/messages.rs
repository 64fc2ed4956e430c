//! Messages in memory: send, find, pages, edit, delete.

use async_trait::async_trait;
use chat_domain::conversation::Access;
use chat_domain::events::EventsFor;
use chat_domain::message::{Message, MessagePatch, MessageRange, MessageView};
use chat_domain::ports::{
    ConversationRepository, Created, MemberUnread, MessageRepository, SentMessage,
};
use chat_domain::rules;
use chat_domain::{ChatError, MessageId, Timestamp, UserId};

use super::*;

#[async_trait]
impl MessageRepository for InMemoryStore {
    async fn insert(
        &self,
        new: chat_domain::message::NewMessage,
        events: EventsFor<SentMessage>,
    ) -> Result<Created<SentMessage>, ChatError> {
        let mut state = self.lock();
        if let Some(client_id) = &new.client_msg_id {
            let key = (
                new.conversation_id,
                new.sender_id,
                client_id.as_str().to_owned(),
            );
            if let Some(existing) = state
                .client_msg_ids
                .get(&key)
                .and_then(|id| state.messages.get(id))
            {
                let message = state.message_view(existing, Some(new.sender_id))?;
                return Ok(SentMessage::repeated(message));
            }
        }
        // Every attachment must be the sender's ready, unsent upload to this
        // conversation; checked before anything is written.
        let usable = new
            .attachment_ids
            .iter()
            .filter(|id| {
                state.attachments.get(id).is_some_and(|a| {
                    a.uploader_id == new.sender_id
                        && a.conversation_id == new.conversation_id
                        && a.ready
                        && a.message_id.is_none()
                })
            })
            .count();
        rules::all_attachments_usable(usable, new.attachment_ids.len())?;
        let conversation = state
            .conversations
            .get_mut(&new.conversation_id)
            .ok_or(ChatError::NotFound("conversation"))?;
        let large = new.is_large(conversation.member_count);
        conversation.last_seq += 1;
        let seq = conversation.last_seq;
        if new.parent_id.is_none() {
            conversation.last_message_at = Some(new.created_at);
        }
        state.last_message_id += 1;
        let message = Message {
            id: MessageId::new(state.last_message_id),
            conversation_id: new.conversation_id,
            seq,
            sender_id: new.sender_id,
            content: new.content.as_str().to_owned(),
            gif: new.gif,
            mentions: new.mentions,
            mention_everyone: new.mention_everyone,
            parent_id: new.parent_id,
            thread_reply_count: 0,
            last_reply_at: None,
            quoted_message_id: new.quoted_message_id,
            metadata: new.metadata,
            client_msg_id: new.client_msg_id.map(|c| c.as_str().to_owned()),
            edited_at: None,
            deleted_at: None,
            created_at: new.created_at,
        };
        let effects = new.effects;
        if let Some(parent) = effects
            .thread_parent
            .and_then(|id| state.messages.get_mut(&id))
        {
            parent.thread_reply_count += 1;
            parent.last_reply_at = Some(message.created_at);
        }
        for user in &effects.unhide {
            if let Some(m) = state.member_mut(message.conversation_id, *user) {
                m.hidden = false;
            }
        }
        if let Some(sender) = state.member_mut(message.conversation_id, message.sender_id)
            && effects.sender_reads_it
            && sender.last_read_seq < message.seq
        {
            sender.last_read_seq = message.seq;
            sender.last_read_message_id = Some(message.id);
        }
        if let Some(client_id) = &message.client_msg_id {
            state.client_msg_ids.insert(
                (
                    message.conversation_id,
                    message.sender_id,
                    client_id.clone(),
                ),
                message.id,
            );
        }
        state
            .timelines
            .entry(message.conversation_id)
            .or_default()
            .insert(message.seq, message.id);
        state.messages.insert(message.id, message.clone());
        state.queue_links(message.id, &new.links);
        for id in &new.attachment_ids {
            if let Some(a) = state.attachments.get_mut(id) {
                a.message_id = Some(message.id);
            }
        }

        let parent = match message.parent_id.and_then(|id| state.messages.get(&id)) {
            Some(p) => Some(state.message_view(p, None)?),
            None => None,
        };
        let member_unread = if large || !message.is_top_level() {
            Vec::new()
        } else {
            state
                .members_of(message.conversation_id)
                .filter(|m| m.user_id != message.sender_id)
                .map(|m| {
                    let (unread_count, mention_count) = state.unread_counts(m);
                    MemberUnread {
                        user_id: m.user_id,
                        unread_count,
                        mention_count,
                    }
                })
                .collect()
        };
        let sent = SentMessage {
            message: state.message_view(&message, None)?,
            parent,
            member_unread,
            large,
        };
        let written = events(&sent);
        state.write_events(&*self.encoder, written);
        Ok(Created {
            value: sent,
            is_new: true,
        })
    }

    async fn find(&self, id: MessageId) -> Result<Option<Message>, ChatError> {
        Ok(self.lock().messages.get(&id).cloned())
    }

    async fn view(&self, id: MessageId, viewer: UserId) -> Result<Option<MessageView>, ChatError> {
        let state = self.lock();
        state
            .messages
            .get(&id)
            .map(|m| state.message_view(m, Some(viewer)))
            .transpose()
    }

    async fn range(
        &self,
        range: MessageRange,
        viewer: UserId,
    ) -> Result<Vec<MessageView>, ChatError> {
        let state = self.lock();
        let lower = range
            .after_seq
            .unwrap_or(i64::MIN)
            .max(range.visible_after_seq);
        let upper = range.before_seq.unwrap_or(i64::MAX);
        let matches = |m: &&Message| {
            m.seq > lower
                && m.seq < upper
                && m.parent_id == range.parent_id
                && range
                    .has_replies
                    .is_none_or(|wanted| (m.thread_reply_count > 0) == wanted)
        };
        if lower.saturating_add(1) >= upper {
            return Ok(Vec::new());
        }
        let window = state
            .timelines
            .get(&range.conversation_id)
            .into_iter()
            .flat_map(|t| t.range(lower.saturating_add(1)..upper))
            .filter_map(|(_, id)| state.messages.get(id));
        let picked: Vec<&Message> = if range.newest_first {
            window.rev().filter(matches).take(range.limit).collect()
        } else {
            window.filter(matches).take(range.limit).collect()
        };
        picked
            .into_iter()
            .map(|m| state.message_view(m, Some(viewer)))
            .collect()
    }

    async fn find_with_access(
        &self,
        id: MessageId,
        viewer: UserId,
    ) -> Result<(Option<Message>, Option<Access>), ChatError> {
        let Some(message) = self.find(id).await? else {
            return Ok((None, None));
        };
        let access = ConversationRepository::access(self, message.conversation_id, viewer).await?;
        Ok((Some(message), access))
    }

    async fn range_with_access(
        &self,
        range: MessageRange,
        viewer: UserId,
    ) -> Result<(Option<Access>, Vec<MessageView>), ChatError> {
        let access = ConversationRepository::access(self, range.conversation_id, viewer).await?;
        let page = self.range(range, viewer).await?;
        Ok((access, page))
    }

    async fn edit(
        &self,
        id: MessageId,
        patch: MessagePatch,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError> {
        let mut state = self.lock();
        let message = state
            .messages
            .get_mut(&id)
            .ok_or(ChatError::NotFound("message"))?;
        rules::must_be_live(message.is_deleted())?;
        if let Some(content) = patch.content {
            message.content = content.as_str().to_owned();
        }
        if let Some(gif) = patch.gif {
            message.gif = gif;
        }
        if let Some(mentions) = patch.mentions {
            message.mentions = mentions;
        }
        if let Some(everyone) = patch.mention_everyone {
            message.mention_everyone = everyone;
        }
        if let Some(metadata) = patch.metadata {
            message.metadata = metadata;
        }
        message.edited_at = Some(patch.edited_at);
        let message = message.clone();
        if let Some(links) = &patch.links {
            state.queue_links(id, links);
        }
        let view = state.message_view(&message, Some(message.sender_id))?;
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(view)
    }

    async fn delete(
        &self,
        id: MessageId,
        at: Timestamp,
        events: EventsFor<MessageView>,
    ) -> Result<MessageView, ChatError> {
        let mut state = self.lock();
        let message = state
            .messages
            .get_mut(&id)
            .ok_or(ChatError::NotFound("message"))?;
        if message.is_deleted() {
            let message = message.clone();
            return state.message_view(&message, Some(message.sender_id));
        }
        message.content.clear();
        message.gif = None;
        message.metadata = None;
        message.mentions.clear();
        message.mention_everyone = false;
        message.deleted_at = Some(at);
        let message = message.clone();
        state.pins.remove(&id);
        state.queue_links(id, &[]);
        let view = state.message_view(&message, Some(message.sender_id))?;
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(view)
    }
}
