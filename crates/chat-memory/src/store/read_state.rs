//! Read state in memory: read cursors and unread totals.

use async_trait::async_trait;
use chat_domain::conversation::{MembershipView, ReadCursorUpdate, UnreadTotals};
use chat_domain::events::EventsFor;
use chat_domain::ports::ReadStateRepository;
use chat_domain::{ChatError, Timestamp, UserId};

use super::*;

#[async_trait]
impl ReadStateRepository for InMemoryStore {
    async fn move_read_cursor(
        &self,
        update: ReadCursorUpdate,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError> {
        let mut state = self.lock();
        let key = (update.conversation_id, update.user_id);
        let membership = state
            .member_mut(key.0, key.1)
            .ok_or(ChatError::NotFound("conversation"))?;
        if !update.forward_only || update.seq > membership.last_read_seq {
            membership.last_read_seq = update.seq;
            membership.last_read_message_id = update.message_id;
        }
        let membership = membership.clone();
        let view = state.membership_view(&membership);
        let written = events(&view);
        state.write_events(&*self.encoder, written);
        Ok(view)
    }

    async fn unread_totals(&self, user: UserId, now: Timestamp) -> Result<UnreadTotals, ChatError> {
        Ok(self.lock().unread_totals(user, now))
    }
}

impl State {
    /// get-unread-counts' figures for `user` at `now`.
    pub(super) fn unread_totals(&self, user: UserId, now: Timestamp) -> UnreadTotals {
        let state = self;
        let mut totals = UnreadTotals::default();
        for membership in state.members.values().filter(|m| m.user_id == user) {
            let muted = membership.mute_until.is_some_and(|until| until > now);
            if membership.hidden || muted {
                continue;
            }
            let (unread, mentions) = state.unread_counts(membership);
            totals.total_unread += unread;
            totals.mention_count += mentions;
            if unread > 0 {
                totals.unread_conversation_count += 1;
            }
        }
        totals
    }
}
