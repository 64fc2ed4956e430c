//! Members in memory: the member list, adding, removing, roles, leaving,
//! preferences.

use async_trait::async_trait;
use chat_domain::conversation::{
    LeaveMode, LeaveOutcome, Member, MemberListQuery, MembersChanged, Membership, MembershipView,
    PreferencesPatch, Role,
};
use chat_domain::events::EventsFor;
use chat_domain::ports::MemberRepository;
use chat_domain::rules;
use chat_domain::{ChatError, ConversationId, Timestamp, UserId};

use super::*;

#[async_trait]
impl MemberRepository for InMemoryStore {
    async fn members(&self, query: MemberListQuery) -> Result<(Vec<Member>, i64), ChatError> {
        let state = self.lock();
        let mut matching: Vec<&Membership> = state
            .members_of(query.conversation_id)
            .filter(|m| query.role.is_none_or(|r| m.role == r))
            .collect();
        matching.sort_by_key(|m| (m.joined_at, m.user_id));
        let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
        let page = matching
            .into_iter()
            .filter(|m| {
                query
                    .after
                    .is_none_or(|a| (m.joined_at, m.user_id) > (a.joined_at, a.user_id))
            })
            .take(query.limit)
            .map(|m| {
                Ok(Member {
                    user: state.user(m.user_id)?,
                    role: m.role,
                    joined_at: m.joined_at,
                })
            })
            .collect::<Result<Vec<_>, ChatError>>()?;
        Ok((page, total))
    }

    async fn add_members(
        &self,
        id: ConversationId,
        users: Vec<UserId>,
        max_members: Option<i64>,
        now: Timestamp,
        events: EventsFor<MembersChanged>,
    ) -> Result<Vec<Member>, ChatError> {
        let mut state = self.lock();
        let conversation = state.conversation(id)?;
        let fresh: Vec<UserId> = users
            .iter()
            .copied()
            .filter(|u| state.membership(id, *u).is_none())
            .collect();
        let grown =
            rules::members_after_adding(conversation.member_count, fresh.len(), max_members)?;
        for user in &fresh {
            state.add_member(&conversation, *user, Role::Member, now, true);
        }
        let conversation = {
            let c = state
                .conversations
                .get_mut(&id)
                .ok_or(ChatError::NotFound("conversation"))?;
            c.member_count = grown;
            c.clone()
        };
        let mut members = Vec::new();
        for user in &users {
            if let Some(member) = state.member(id, *user)? {
                members.push(member);
            }
        }
        members.sort_by_key(|m| (m.joined_at, m.user.id));
        let changed = MembersChanged {
            conversation: state.event_view(&conversation)?,
            members: members
                .iter()
                .filter(|m| fresh.contains(&m.user.id))
                .cloned()
                .collect(),
        };
        let written = events(&changed);
        state.write_events(&*self.encoder, written);
        Ok(members)
    }

    async fn remove_member(
        &self,
        id: ConversationId,
        user: UserId,
        events: EventsFor<MembersChanged>,
    ) -> Result<Member, ChatError> {
        let mut state = self.lock();
        state.conversation(id)?;
        let removed = state
            .member(id, user)?
            .ok_or(ChatError::NotFound("member"))?;
        rules::may_remove_member(removed.role, state.owner_count(id))?;
        state.remove_membership(id, user);
        let conversation = state.conversation(id)?;
        let changed = MembersChanged {
            conversation: state.event_view(&conversation)?,
            members: vec![removed.clone()],
        };
        let written = events(&changed);
        state.write_events(&*self.encoder, written);
        Ok(removed)
    }

    async fn change_role(
        &self,
        id: ConversationId,
        user: UserId,
        role: Role,
        events: EventsFor<Member>,
    ) -> Result<Member, ChatError> {
        let mut state = self.lock();
        let current = state
            .member(id, user)?
            .ok_or(ChatError::NotFound("member"))?;
        rules::may_change_role(current.role, role, state.owner_count(id))?;
        if let Some(m) = state.member_mut(id, user) {
            m.role = role;
        }
        let updated = Member { role, ..current };
        let written = events(&updated);
        state.write_events(&*self.encoder, written);
        Ok(updated)
    }

    async fn leave(
        &self,
        id: ConversationId,
        user: UserId,
        mode: LeaveMode,
        events: EventsFor<LeaveOutcome>,
    ) -> Result<LeaveOutcome, ChatError> {
        let mut state = self.lock();
        let conversation = state.conversation(id)?;
        let left = state
            .member(id, user)?
            .ok_or(ChatError::NotFound("conversation"))?;
        let outcome = match mode {
            LeaveMode::Hide => {
                let membership = {
                    let m = state
                        .member_mut(id, user)
                        .ok_or(ChatError::NotFound("conversation"))?;
                    m.hidden = true;
                    m.clone()
                };
                LeaveOutcome {
                    conversation: state.event_view(&conversation)?,
                    left,
                    hidden: Some(state.membership_view(&membership)),
                    new_owner: None,
                    deleted: false,
                }
            }
            LeaveMode::Remove => {
                let view = state.event_view(&conversation)?;
                let was_last_owner = left.role == Role::Owner && state.owner_count(id) <= 1;
                state.remove_membership(id, user);
                let heir = state
                    .members_of(id)
                    .min_by_key(|m| (m.joined_at, m.user_id))
                    .map(|m| m.user_id);
                let mut new_owner = None;
                if let (true, Some(heir)) = (was_last_owner, heir) {
                    if let Some(m) = state.member_mut(id, heir) {
                        m.role = Role::Owner;
                    }
                    new_owner = state.member(id, heir)?;
                }
                LeaveOutcome {
                    conversation: view,
                    left,
                    hidden: None,
                    new_owner,
                    deleted: heir.is_none(),
                }
            }
        };
        let written = events(&outcome);
        state.write_events(&*self.encoder, written);
        if outcome.deleted {
            state.delete_conversation(id);
        }
        Ok(outcome)
    }

    async fn update_preferences(
        &self,
        id: ConversationId,
        user: UserId,
        patch: PreferencesPatch,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError> {
        let mut state = self.lock();
        let membership = {
            let m = state
                .member_mut(id, user)
                .ok_or(ChatError::NotFound("conversation"))?;
            if let Some(starred) = patch.starred {
                m.starred = starred;
            }
            if let Some(mute_until) = patch.mute_until {
                m.mute_until = mute_until;
            }
            if let Some(level) = patch.notify_level {
                m.notify_level = level;
            }
            m.clone()
        };
        let view = state.membership_view(&membership);
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(view)
    }
}
