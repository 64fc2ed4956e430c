//! The facts push requests are planned from, in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_domain::conversation::{ConversationKind, Membership};
use chat_domain::ports::PushFacts;
use chat_domain::push::PushSubject;
use chat_domain::{ChatError, ConversationId, MessageId, Timestamp, UserId};

use super::InMemoryStore;

#[async_trait]
impl PushFacts for InMemoryStore {
    async fn pushed_message(&self, id: MessageId) -> Result<Option<PushSubject>, ChatError> {
        let state = self.lock();
        let Some(message) = state.messages.get(&id).filter(|m| !m.is_deleted()) else {
            return Ok(None);
        };
        let direct = state
            .conversations
            .get(&message.conversation_id)
            .is_some_and(|c| c.kind == ConversationKind::Direct);
        Ok(Some(PushSubject {
            message_id: id,
            conversation_id: message.conversation_id,
            seq: message.seq,
            sender: message.sender_id,
            parent_id: message.parent_id,
            mentions: message.mentions.clone(),
            mention_everyone: message.mention_everyone,
            direct,
            created_at: message.created_at,
        }))
    }

    async fn thread_participants(
        &self,
        conversation: ConversationId,
        parent: MessageId,
        before_seq: i64,
    ) -> Result<Vec<UserId>, ChatError> {
        let state = self.lock();
        let Some(timeline) = state.timelines.get(&conversation) else {
            return Ok(Vec::new());
        };
        Ok(timeline
            .range(..before_seq)
            .filter_map(|(_, id)| state.messages.get(id))
            .filter(|m| m.id == parent || m.parent_id == Some(parent))
            .map(|m| m.sender_id)
            .collect())
    }

    async fn members_after<'a>(
        &self,
        conversation: ConversationId,
        after: Option<UserId>,
        among: Option<&'a [UserId]>,
        limit: usize,
    ) -> Result<Vec<Membership>, ChatError> {
        let state = self.lock();
        Ok(state
            .members_of(conversation)
            .filter(|m| after.is_none_or(|after| m.user_id > after))
            .filter(|m| among.is_none_or(|among| among.binary_search(&m.user_id).is_ok()))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn total_unread(
        &self,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<HashMap<UserId, i64>, ChatError> {
        let state = self.lock();
        Ok(users
            .iter()
            .map(|user| (*user, state.unread_totals(*user, now).total_unread))
            .collect())
    }
}
