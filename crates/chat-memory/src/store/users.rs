//! Users in memory.

use async_trait::async_trait;
use chat_domain::conversation::{Conversation, Role, Visibility};
use chat_domain::ports::UserRepository;
use chat_domain::user::User;
use chat_domain::{ChatError, OrgId, Timestamp, UserId};

use super::*;

#[async_trait]
impl UserRepository for InMemoryStore {
    async fn provision(&self, user: User, now: Timestamp) -> Result<OrgId, ChatError> {
        let mut state = self.lock();
        if let Some(known) = state.users.get_mut(&user.id) {
            // A user's org never changes; the profile follows the token.
            if known.org_id == user.org_id {
                *known = user;
            }
            return Ok(known.org_id);
        }
        let (id, org) = (user.id, user.org_id);
        state.users.insert(user.id, user);
        {
            let org_channels: Vec<Conversation> = state
                .conversations
                .values()
                .filter(|c| c.org_id == org && c.visibility == Visibility::Org)
                .cloned()
                .collect();
            for channel in org_channels {
                state.add_member(&channel, id, Role::Member, now, true);
                if let Some(c) = state.conversations.get_mut(&channel.id) {
                    c.member_count += 1;
                }
            }
        }
        Ok(org)
    }

    async fn find_in_org(&self, org: OrgId, ids: &[UserId]) -> Result<Vec<User>, ChatError> {
        let state = self.lock();
        let mut found: Vec<User> = ids
            .iter()
            .filter_map(|id| state.users.get(id))
            .filter(|u| u.org_id == org)
            .cloned()
            .collect();
        found.sort_by_key(|u| u.id);
        found.dedup_by_key(|u| u.id);
        Ok(found)
    }
}
