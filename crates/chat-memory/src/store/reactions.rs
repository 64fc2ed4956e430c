//! Reactions, pins and reports in memory.

use async_trait::async_trait;
use chat_domain::events::EventsFor;
use chat_domain::message::{
    NewReport, Pin, PinChange, PinListQuery, Reaction, ReactionAction, ReactionChange,
    ReactionListQuery, ReactionRequest,
};
use chat_domain::ports::{ConversationRepository, MessageRepository, ReactionRepository};
use chat_domain::rules;
use chat_domain::{ChatError, MessageId, Timestamp, UserId};

use super::*;

#[async_trait]
impl ReactionRepository for InMemoryStore {
    async fn react(
        &self,
        request: ReactionRequest,
        events: EventsFor<ReactionChange>,
    ) -> Result<ReactionChange, ChatError> {
        let ReactionRequest {
            message_id: id,
            user_id: user,
            emoji,
            action,
            max_distinct,
            at: now,
        } = request;
        let found = MessageRepository::find(self, id)
            .await?
            .ok_or(ChatError::NotFound("message"))?;
        let access = ConversationRepository::access(self, found.conversation_id, user).await?;
        rules::may_react(access, &found)?;
        let mut state = self.lock();
        let message = state
            .messages
            .get(&id)
            .cloned()
            .ok_or(ChatError::NotFound("message"))?;
        let reactions = state.reactions.entry(id).or_default();
        let emoji = emoji.as_str().to_owned();
        let exists = reactions.iter().any(|(u, e, _)| *u == user && *e == emoji);
        let want = match action {
            ReactionAction::Add => true,
            ReactionAction::Remove => false,
            ReactionAction::Toggle => !exists,
        };
        let mut delta = 0;
        if want && !exists {
            let known = reactions.iter().any(|(_, e, _)| *e == emoji);
            let mut distinct: Vec<&String> = reactions.iter().map(|(_, e, _)| e).collect();
            distinct.sort();
            distinct.dedup();
            let others = distinct.iter().filter(|e| ***e != emoji).count();
            rules::may_add_reaction(known, others, max_distinct)?;
            reactions.push((user, emoji.clone(), now));
            delta = 1;
        } else if !want && exists {
            reactions.retain(|(u, e, _)| !(*u == user && *e == emoji));
            delta = -1;
        }
        let view = state.message_view(&message, Some(user))?;
        let change = ReactionChange {
            message_id: id,
            conversation_id: message.conversation_id,
            message_seq: found.seq,
            emoji,
            user_id: user,
            delta,
            reaction_counts: view.reaction_counts,
            user_reactions: view.user_reactions,
        };
        let written = events(&change);
        state.write_events(&*self.encoder, written);
        Ok(change)
    }

    async fn reactions(&self, query: ReactionListQuery) -> Result<(Vec<Reaction>, i64), ChatError> {
        let state = self.lock();
        let mut matching: Vec<&(UserId, String, Timestamp)> = state
            .reactions
            .get(&query.message_id)
            .into_iter()
            .flatten()
            .filter(|(_, e, _)| e == query.emoji.as_str())
            .collect();
        matching.sort_by_key(|(u, _, at)| (*at, *u));
        let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
        let page = matching
            .into_iter()
            .filter(|(u, _, at)| query.after.is_none_or(|after| (*at, *u) > after))
            .take(query.limit)
            .map(|(u, e, at)| {
                Ok(Reaction {
                    user: state.user(*u)?,
                    emoji: e.clone(),
                    created_at: *at,
                })
            })
            .collect::<Result<Vec<_>, ChatError>>()?;
        Ok((page, total))
    }

    async fn set_pinned(
        &self,
        id: MessageId,
        user: UserId,
        pinned: bool,
        max_pins: usize,
        now: Timestamp,
        events: EventsFor<PinChange>,
    ) -> Result<PinChange, ChatError> {
        let mut state = self.lock();
        let message = state
            .messages
            .get(&id)
            .cloned()
            .ok_or(ChatError::NotFound("message"))?;
        let changed = if pinned {
            if state.pins.contains_key(&id) {
                false
            } else {
                let count = state
                    .pins
                    .values()
                    .filter(|(c, _, _)| *c == message.conversation_id)
                    .count();
                rules::may_pin(count, max_pins)?;
                state.pins.insert(id, (message.conversation_id, user, now));
                true
            }
        } else {
            state.pins.remove(&id).is_some()
        };
        let change = PinChange {
            message: state.message_view(&message, Some(user))?,
            pinned_by: user,
            changed,
        };
        let written = events(&change);
        state.write_events(&*self.encoder, written);
        Ok(change)
    }

    async fn pins(&self, query: PinListQuery, viewer: UserId) -> Result<Vec<Pin>, ChatError> {
        let state = self.lock();
        let mut pins: Vec<(MessageId, UserId, Timestamp)> = state
            .pins
            .iter()
            .filter(|(_, (c, _, _))| *c == query.conversation_id)
            .map(|(m, (_, by, at))| (*m, *by, *at))
            .filter(|(m, _, _)| {
                state
                    .messages
                    .get(m)
                    .is_some_and(|message| message.seq > query.visible_after_seq)
            })
            .collect();
        pins.sort_by_key(|(m, _, at)| std::cmp::Reverse((*at, *m)));
        pins.into_iter()
            .filter(|(m, _, at)| query.after.is_none_or(|after| (*at, *m) < after))
            .take(query.limit)
            .map(|(m, by, at)| {
                let message = state
                    .messages
                    .get(&m)
                    .ok_or(ChatError::NotFound("message"))?;
                Ok(Pin {
                    message: state.message_view(message, Some(viewer))?,
                    pinned_by: by,
                    pinned_at: at,
                })
            })
            .collect()
    }

    async fn report(&self, report: NewReport) -> Result<bool, ChatError> {
        let mut state = self.lock();
        let key = (report.message_id, report.reporter_id);
        if state.reports.contains_key(&key) {
            return Ok(false);
        }
        state.reports.insert(key, report);
        Ok(true)
    }
}
