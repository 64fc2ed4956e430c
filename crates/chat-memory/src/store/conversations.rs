//! Conversations in memory: create, read, list, update, delete.

use async_trait::async_trait;
use chat_domain::conversation::{
    Access, Conversation, ConversationListQuery, ConversationPatch, ConversationView, Membership,
    NewConversation, Role, Visibility,
};
use chat_domain::events::EventsFor;
use chat_domain::ports::{ConversationRepository, Created};
use chat_domain::{ChatError, ConversationId, Timestamp, UserId};

use super::*;

#[async_trait]
impl ConversationRepository for InMemoryStore {
    async fn create(
        &self,
        new: NewConversation,
        events: EventsFor<Conversation>,
    ) -> Result<Created<Conversation>, ChatError> {
        let mut state = self.lock();
        let direct_key = new.direct_pair.map(|p| (new.org_id, p.key()));
        if let Some(existing) = direct_key
            .as_ref()
            .and_then(|key| state.direct_keys.get(key))
            .and_then(|id| state.conversations.get(id))
        {
            return Ok(Created {
                value: existing.clone(),
                is_new: false,
            });
        }
        state.last_conversation_id += 1;
        let mut conversation = Conversation {
            id: ConversationId::new(state.last_conversation_id),
            org_id: new.org_id,
            kind: new.kind,
            visibility: new.visibility,
            history_mode: new.history_mode,
            posting_policy: new.posting_policy,
            name: new.name,
            description: new.description,
            avatar_file_id: None,
            metadata: new.metadata,
            created_by: new.created_by,
            created_at: new.created_at,
            updated_at: new.created_at,
            archived_at: None,
            last_message_at: None,
            last_seq: 0,
            member_count: 0,
            last_event_seq: 0,
        };
        let mut member_ids = vec![new.created_by];
        member_ids.extend(new.member_ids.iter().copied());
        if new.visibility == Visibility::Org {
            let mut org_users: Vec<UserId> = state
                .users
                .values()
                .filter(|u| u.org_id == new.org_id && u.id != new.created_by)
                .map(|u| u.id)
                .collect();
            org_users.sort();
            member_ids.extend(org_users);
        }
        for (i, user) in member_ids.iter().enumerate() {
            let role = if i == 0 { Role::Owner } else { Role::Member };
            state.add_member(&conversation, *user, role, new.created_at, false);
        }
        conversation.member_count = i64::try_from(member_ids.len()).unwrap_or(i64::MAX);
        state
            .conversations
            .insert(conversation.id, conversation.clone());
        if let Some(key) = direct_key {
            state.direct_keys.insert(key, conversation.id);
        }
        let written = events(&conversation);
        state.write_events(&*self.encoder, written);
        Ok(Created {
            value: conversation,
            is_new: true,
        })
    }

    async fn access(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> Result<Option<Access>, ChatError> {
        let state = self.lock();
        let access = state
            .conversations
            .get(&id)
            .zip(state.membership(id, viewer));
        Ok(access.map(|(c, m)| Access {
            conversation: c.clone(),
            membership: m.clone(),
        }))
    }

    async fn view(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> Result<Option<ConversationView>, ChatError> {
        let state = self.lock();
        match state
            .conversations
            .get(&id)
            .zip(state.membership(id, viewer))
        {
            Some((c, m)) => state.conversation_view(c, Some(m)).map(Some),
            None => Ok(None),
        }
    }

    async fn member_ids_among(
        &self,
        id: ConversationId,
        ids: &[UserId],
    ) -> Result<Vec<UserId>, ChatError> {
        let state = self.lock();
        let mut found: Vec<UserId> = ids
            .iter()
            .copied()
            .filter(|u| state.membership(id, *u).is_some())
            .collect();
        found.sort();
        found.dedup();
        Ok(found)
    }

    async fn list(&self, query: ConversationListQuery) -> Result<Vec<ConversationView>, ChatError> {
        let state = self.lock();
        let mut rows: Vec<(&Conversation, &Membership)> = state
            .members
            .values()
            .filter(|m| m.user_id == query.viewer)
            .filter(|m| query.include_hidden || !m.hidden)
            .filter(|m| query.starred.is_none_or(|s| m.starred == s))
            .filter_map(|m| state.conversations.get(&m.conversation_id).map(|c| (c, m)))
            .filter(|(c, _)| c.is_archived() == query.archived)
            .filter(|(c, _)| query.kinds.is_empty() || query.kinds.contains(&c.kind))
            .filter(|(c, _)| {
                query
                    .after
                    .is_none_or(|after| (c.activity_at(), c.id) < (after.activity_at, after.id))
            })
            .collect();
        rows.sort_by_key(|(c, _)| std::cmp::Reverse((c.activity_at(), c.id)));
        rows.into_iter()
            .take(query.limit)
            .map(|(c, m)| state.conversation_view(c, Some(m)))
            .collect()
    }

    async fn update(
        &self,
        id: ConversationId,
        patch: ConversationPatch,
        now: Timestamp,
        events: EventsFor<ConversationView>,
    ) -> Result<Conversation, ChatError> {
        let mut state = self.lock();
        let c = state
            .conversations
            .get_mut(&id)
            .ok_or(ChatError::NotFound("conversation"))?;
        patch.apply_to(c, now);
        let conversation = c.clone();
        let view = state.event_view(&conversation)?;
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(conversation)
    }

    async fn delete(
        &self,
        id: ConversationId,
        events: EventsFor<ConversationView>,
    ) -> Result<(), ChatError> {
        let mut state = self.lock();
        let conversation = state.conversation(id)?;
        let view = state.event_view(&conversation)?;
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        state.delete_conversation(id);
        Ok(())
    }
}
