//! The numbered event streams in memory: the same semantics as PostgreSQL's
//! (`chat-postgres/src/events.rs`), with a write counter as sync's change
//! marker (every port method runs under the one lock, so the counter is in
//! commit order).

use std::collections::HashMap;

use async_trait::async_trait;
use chat_domain::catch_up::{EventRead, EventSlice, RecordedEvent, SyncEntry, SyncRead, SyncSlice};
use chat_domain::events::{Audience, EventEncoder, OutboxEvent};
use chat_domain::ports::EventHistoryRepository;
use chat_domain::{ChatError, ConversationId, Timestamp, UserId};

use super::{InMemoryStore, State};

/// One kept event.
#[derive(Debug, Clone)]
struct Kept {
    event: RecordedEvent,
    message_seq: Option<i64>,
    occurred_at: Timestamp,
}

/// A membership that ended, for sync.
#[derive(Debug, Clone, Copy)]
struct Ended {
    last_event_seq: i64,
    mark: i64,
    at: Timestamp,
}

/// The kept streams and sync's change marks.
#[derive(Default)]
pub(super) struct Streams {
    conversation_events: HashMap<ConversationId, Vec<Kept>>,
    personal_events: HashMap<UserId, Vec<Kept>>,
    personal_last: HashMap<UserId, i64>,
    /// The last write counter value handed out.
    clock: i64,
    conversation_marks: HashMap<ConversationId, i64>,
    membership_marks: HashMap<(ConversationId, UserId), i64>,
    ended: HashMap<(UserId, ConversationId), Ended>,
}

impl Streams {
    fn next_mark(&mut self) -> i64 {
        self.clock += 1;
        self.clock
    }

    pub(super) fn membership_changed(&mut self, conversation: ConversationId, user: UserId) {
        let mark = self.next_mark();
        self.membership_marks.insert((conversation, user), mark);
    }

    pub(super) fn membership_ended(
        &mut self,
        conversation: ConversationId,
        user: UserId,
        last_event_seq: i64,
    ) {
        let mark = self.next_mark();
        self.membership_marks.remove(&(conversation, user));
        // The instant only decides pruning; the write counter orders.
        let at = Timestamp::from_datetime(time::OffsetDateTime::now_utc());
        self.ended.insert(
            (user, conversation),
            Ended {
                last_event_seq,
                mark,
                at,
            },
        );
    }

    pub(super) fn forget_conversation(&mut self, conversation: ConversationId) {
        self.conversation_events.remove(&conversation);
        self.conversation_marks.remove(&conversation);
    }
}

/// The envelope with its number (and, for an event carrying the
/// conversation, the conversation's `lastEventSeq` set to it), as
/// PostgreSQL's statement renders it.
fn numbered_envelope(envelope: &str, event_seq: i64, conversation_stream: bool) -> String {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(envelope) else {
        return envelope.to_owned();
    };
    if conversation_stream
        && let Some(serde_json::Value::Object(data)) = object.get_mut("data")
        && data.contains_key("lastEventSeq")
    {
        data.insert("lastEventSeq".to_owned(), event_seq.into());
    }
    object.insert("eventSeq".to_owned(), event_seq.into());
    serde_json::Value::Object(object).to_string()
}

impl State {
    /// Gives a numbered event the next number of its stream(s) and keeps it.
    /// `Audience::Members` is resolved by the caller.
    pub(super) fn keep_event(&mut self, encoder: &dyn EventEncoder, event: &OutboxEvent) {
        let envelope = encoder.encode(event);
        let kept = |event_seq: i64, conversation_stream: bool| Kept {
            event: RecordedEvent {
                event_seq,
                event_id: event.id.clone(),
                event_type: event.payload.event_type().to_owned(),
                envelope: numbered_envelope(&envelope, event_seq, conversation_stream),
            },
            message_seq: event.message_seq(),
            occurred_at: event.occurred_at,
        };
        match &event.audience {
            Audience::Conversation => {
                let Some(conversation) = self.conversations.get_mut(&event.conversation_id) else {
                    return;
                };
                conversation.last_event_seq += 1;
                let event_seq = conversation.last_event_seq;
                let mark = self.streams.next_mark();
                self.streams
                    .conversation_marks
                    .insert(event.conversation_id, mark);
                self.streams
                    .conversation_events
                    .entry(event.conversation_id)
                    .or_default()
                    .push(kept(event_seq, true));
            }
            Audience::Users(users) => {
                for user in users {
                    let last = self.streams.personal_last.entry(*user).or_default();
                    *last += 1;
                    let event_seq = *last;
                    self.streams
                        .personal_events
                        .entry(*user)
                        .or_default()
                        .push(kept(event_seq, false));
                }
            }
            Audience::Members => {}
        }
    }
}

/// The events after `read.after` that pass `visible`, and the stream's
/// figures.
fn slice_of(
    kept: Option<&Vec<Kept>>,
    last_event_seq: i64,
    read: EventRead,
    visible: impl Fn(&Kept) -> bool,
) -> EventSlice {
    let kept = kept.map(Vec::as_slice).unwrap_or_default();
    EventSlice {
        events: kept
            .iter()
            .filter(|k| k.event.event_seq > read.after && visible(k))
            .take(read.limit)
            .map(|k| k.event.clone())
            .collect(),
        last_event_seq,
        oldest_kept: kept.first().map(|k| k.event.event_seq),
    }
}

#[async_trait]
impl EventHistoryRepository for InMemoryStore {
    async fn conversation_events(
        &self,
        id: ConversationId,
        read: EventRead,
    ) -> Result<EventSlice, ChatError> {
        let state = self.lock();
        let last = state.conversation(id)?.last_event_seq;
        let hidden_through = read.visibility.hidden_through_message_seq;
        Ok(slice_of(
            state.streams.conversation_events.get(&id),
            last,
            read,
            |k| k.message_seq.is_none_or(|seq| seq > hidden_through),
        ))
    }

    async fn personal_events(
        &self,
        user: UserId,
        read: EventRead,
    ) -> Result<EventSlice, ChatError> {
        let state = self.lock();
        let last = state.streams.personal_last.get(&user).copied().unwrap_or(0);
        Ok(slice_of(
            state.streams.personal_events.get(&user),
            last,
            read,
            |_| true,
        ))
    }

    async fn changed_conversations(
        &self,
        user: UserId,
        read: SyncRead,
    ) -> Result<SyncSlice, ChatError> {
        let state = self.lock();
        let streams = &state.streams;
        let after = read.after.map_or(0, ConversationId::get);
        let since = read.changed_since;
        let changed = |mark: Option<&i64>| since.is_none_or(|s| mark.is_some_and(|m| *m >= s));
        let mut entries: Vec<SyncEntry> = state
            .members
            .values()
            .filter(|m| m.user_id == user && m.conversation_id.get() > after)
            .filter(|m| {
                changed(streams.conversation_marks.get(&m.conversation_id))
                    || changed(streams.membership_marks.get(&(m.conversation_id, user)))
            })
            .filter_map(|m| {
                let conversation = state.conversations.get(&m.conversation_id)?;
                Some(SyncEntry {
                    conversation_id: m.conversation_id,
                    last_event_seq: conversation.last_event_seq,
                    removed: false,
                })
            })
            .collect();
        if let Some(since) = since {
            entries.extend(
                streams
                    .ended
                    .iter()
                    .filter(|((u, c), ended)| {
                        *u == user
                            && c.get() > after
                            && ended.mark >= since
                            && !state.members.contains_key(&(*c, user))
                    })
                    .map(|((_, c), ended)| SyncEntry {
                        conversation_id: *c,
                        last_event_seq: ended.last_event_seq,
                        removed: true,
                    }),
            );
        }
        entries.sort_by_key(|e| e.conversation_id);
        entries.truncate(read.limit);
        Ok(SyncSlice {
            entries,
            marker: streams.clock + 1,
            personal_event_seq: streams.personal_last.get(&user).copied().unwrap_or(0),
        })
    }

    async fn prune_events(&self, before: Timestamp, batch: usize) -> Result<usize, ChatError> {
        let mut state = self.lock();
        let streams = &mut state.streams;
        let mut pruned = 0;
        let lists = streams
            .conversation_events
            .values_mut()
            .chain(streams.personal_events.values_mut());
        for list in lists {
            // Kept in number order, which is time order.
            let old = list.iter().take_while(|k| k.occurred_at < before).count();
            let take = old.min(batch - pruned);
            list.drain(..take);
            pruned += take;
            if pruned == batch {
                return Ok(pruned);
            }
        }
        let before_len = streams.ended.len();
        streams.ended.retain(|_, ended| ended.at >= before);
        pruned += before_len - streams.ended.len();
        Ok(pruned)
    }
}
