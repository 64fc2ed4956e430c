//! The store: one mutex over plain maps. Every port method takes the lock once,
//! so each one is atomic, like a Postgres transaction.

mod attachments;
mod conversations;
mod events;
mod members;
mod messages;
mod previews;
mod push;
mod reactions;
mod read_state;
mod search;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chat_domain::conversation::{
    Conversation, ConversationView, HistoryMode, Member, Membership, MembershipView, NotifyLevel,
    Role,
};
use chat_domain::events::{Audience, EventEncoder, OutboxEvent};
use chat_domain::message::{
    Attachment, LinkPreview, Message, MessagePreview, MessageView, NewReport, QuotedMessage,
    UnfurlJob,
};
use chat_domain::ports::HealthCheck;
use chat_domain::user::User;
use chat_domain::{AttachmentId, ChatError, ConversationId, MessageId, OrgId, Timestamp, UserId};

/// Every repository port, in memory.
pub struct InMemoryStore {
    state: Mutex<State>,
    /// Renders the envelopes kept for catching up.
    encoder: std::sync::Arc<dyn EventEncoder>,
}

#[derive(Default)]
struct State {
    users: HashMap<UserId, User>,
    conversations: HashMap<ConversationId, Conversation>,
    direct_keys: HashMap<(OrgId, String), ConversationId>,
    /// Keyed by conversation then user, so one conversation's members are a range.
    members: BTreeMap<(ConversationId, UserId), Membership>,
    messages: HashMap<MessageId, Message>,
    /// Each conversation's messages by `seq`.
    timelines: HashMap<ConversationId, BTreeMap<i64, MessageId>>,
    client_msg_ids: HashMap<(ConversationId, UserId, String), MessageId>,
    /// Each message's reactions in the order they were made.
    reactions: HashMap<MessageId, Vec<(UserId, String, Timestamp)>>,
    /// Pinned messages: conversation, who pinned, when.
    pins: HashMap<MessageId, (ConversationId, UserId, Timestamp)>,
    reports: HashMap<(MessageId, UserId), NewReport>,
    attachments: BTreeMap<AttachmentId, Attachment>,
    last_attachment_id: i64,
    /// Queued unfurls, oldest first.
    unfurl_jobs: std::collections::VecDeque<UnfurlJob>,
    link_previews: HashMap<MessageId, Vec<LinkPreview>>,
    /// Fetched previews (or failures) by URL, with when they were fetched.
    preview_cache: HashMap<String, (Option<LinkPreview>, Timestamp)>,
    /// Written events, with `Audience::Members` resolved to the member list.
    outbox: Vec<OutboxEvent>,
    /// The numbered event streams and sync's change marks (`events.rs`).
    streams: events::Streams,
    last_conversation_id: i64,
    last_message_id: i64,
}

/// How many members a sidebar shows besides the viewer.
const OTHER_MEMBERS_SHOWN: usize = 5;

impl InMemoryStore {
    /// An empty store whose kept events are rendered by `encoder`.
    pub fn new(encoder: std::sync::Arc<dyn EventEncoder>) -> Self {
        Self {
            state: Mutex::default(),
            encoder,
        }
    }

    /// Every event written so far, in write order: the in-memory outbox.
    pub fn outbox(&self) -> Vec<OutboxEvent> {
        self.lock().outbox.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave half a change behind
        // (every method validates before it writes), so a poisoned lock is
        // still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn membership(&self, conversation: ConversationId, user: UserId) -> Option<&Membership> {
        self.members.get(&(conversation, user))
    }

    fn members_of(&self, conversation: ConversationId) -> impl Iterator<Item = &Membership> {
        self.members
            .range((conversation, UserId::new(i64::MIN))..=(conversation, UserId::new(i64::MAX)))
            .map(|(_, m)| m)
    }

    fn add_member(
        &mut self,
        conversation: &Conversation,
        user: UserId,
        role: Role,
        now: Timestamp,
        late: bool,
    ) {
        let (history_from_seq, history_from_event_seq) =
            if late && conversation.history_mode == HistoryMode::SinceJoin {
                (conversation.last_seq, conversation.last_event_seq)
            } else {
                (0, 0)
            };
        // Late joiners start caught up.
        let (last_read_seq, last_read_message_id) = if late {
            let newest = self
                .timeline(conversation.id)
                .rev()
                .find(|m| m.is_top_level())
                .map(|m| m.id);
            (conversation.last_seq, newest)
        } else {
            (0, None)
        };
        self.members.insert(
            (conversation.id, user),
            Membership {
                conversation_id: conversation.id,
                user_id: user,
                role,
                joined_at: now,
                history_from_seq,
                history_from_event_seq,
                last_read_seq,
                last_read_message_id,
                starred: false,
                mute_until: None,
                notify_level: NotifyLevel::All,
                hidden: false,
            },
        );
        self.streams.membership_changed(conversation.id, user);
    }

    /// A membership to change; sync reports the change.
    fn member_mut(
        &mut self,
        conversation: ConversationId,
        user: UserId,
    ) -> Option<&mut Membership> {
        let member = self.members.get_mut(&(conversation, user))?;
        self.streams.membership_changed(conversation, user);
        Some(member)
    }

    /// Writes events to the outbox; numbered ones take their streams' next
    /// numbers and are kept, rendered by `encoder`.
    fn write_events(&mut self, encoder: &dyn EventEncoder, events: Vec<OutboxEvent>) {
        for mut event in events {
            if event.audience == Audience::Members {
                let users = self
                    .members_of(event.conversation_id)
                    .map(|m| m.user_id)
                    .collect();
                event.audience = Audience::Users(users);
            }
            if event.is_numbered() {
                self.keep_event(encoder, &event);
            }
            self.outbox.push(event);
        }
    }

    fn user(&self, id: UserId) -> Result<User, ChatError> {
        self.users.get(&id).cloned().ok_or_else(|| {
            ChatError::Unexpected(anyhow::anyhow!("user {id} is not in the directory"))
        })
    }

    fn timeline(&self, conversation: ConversationId) -> impl DoubleEndedIterator<Item = &Message> {
        self.timelines
            .get(&conversation)
            .into_iter()
            .flat_map(|t| t.values())
            .filter_map(|id| self.messages.get(id))
    }

    /// Unread and mention counts per the contract: top-level, not deleted,
    /// not the member's own, past the cursor and the history floor.
    fn unread_counts(&self, membership: &Membership) -> (i64, i64) {
        let floor = membership.last_read_seq.max(membership.history_from_seq);
        let mut unread = 0;
        let mut mentions = 0;
        for m in self.timeline(membership.conversation_id).rev() {
            if m.seq <= floor {
                break;
            }
            if m.is_top_level() && !m.is_deleted() && m.sender_id != membership.user_id {
                unread += 1;
                if m.mention_everyone || m.mentions.contains(&membership.user_id) {
                    mentions += 1;
                }
            }
        }
        (unread, mentions)
    }

    fn membership_view(&self, membership: &Membership) -> MembershipView {
        let (unread_count, mention_count) = self.unread_counts(membership);
        MembershipView {
            membership: membership.clone(),
            unread_count,
            mention_count,
        }
    }

    /// The conversation as `viewer` sees it, or as events show it (no
    /// viewer: no membership, the first members whoever they are, the last
    /// message whatever the history floor).
    fn conversation_view(
        &self,
        conversation: &Conversation,
        viewer: Option<&Membership>,
    ) -> Result<ConversationView, ChatError> {
        let last_message = self
            .timeline(conversation.id)
            .rev()
            .find(|m| m.is_top_level())
            .filter(|m| viewer.is_none_or(|v| v.sees_seq(m.seq)))
            .map(|m| self.preview(m))
            .transpose()?;
        let other_members =
            if conversation.kind == chat_domain::conversation::ConversationKind::Channel {
                Vec::new()
            } else {
                let mut others: Vec<&Membership> = self
                    .members_of(conversation.id)
                    .filter(|m| viewer.is_none_or(|v| m.user_id != v.user_id))
                    .collect();
                others.sort_by_key(|m| (m.joined_at, m.user_id));
                others
                    .into_iter()
                    .take(OTHER_MEMBERS_SHOWN)
                    .map(|m| self.user(m.user_id))
                    .collect::<Result<_, _>>()?
            };
        Ok(ConversationView {
            conversation: conversation.clone(),
            last_message,
            other_members,
            membership: viewer.map(|v| self.membership_view(v)),
            avatar_url: None,
        })
    }

    /// The conversation as events show it.
    fn event_view(&self, conversation: &Conversation) -> Result<ConversationView, ChatError> {
        self.conversation_view(conversation, None)
    }

    fn member(
        &self,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<Option<Member>, ChatError> {
        match self.membership(conversation, user) {
            Some(m) => Ok(Some(Member {
                user: self.user(m.user_id)?,
                role: m.role,
                joined_at: m.joined_at,
            })),
            None => Ok(None),
        }
    }

    fn owner_count(&self, conversation: ConversationId) -> usize {
        self.members_of(conversation)
            .filter(|m| m.role == Role::Owner)
            .count()
    }

    fn conversation(&self, id: ConversationId) -> Result<Conversation, ChatError> {
        self.conversations
            .get(&id)
            .cloned()
            .ok_or(ChatError::NotFound("conversation"))
    }

    fn delete_conversation(&mut self, id: ConversationId) {
        let last_event_seq = self
            .conversations
            .remove(&id)
            .map_or(0, |c| c.last_event_seq);
        self.direct_keys.retain(|_, c| *c != id);
        let members: Vec<UserId> = self.members_of(id).map(|m| m.user_id).collect();
        for user in members {
            self.streams.membership_ended(id, user, last_event_seq);
        }
        self.members.retain(|(c, _), _| *c != id);
        self.streams.forget_conversation(id);
        if let Some(timeline) = self.timelines.remove(&id) {
            for message in timeline.values() {
                self.messages.remove(message);
            }
        }
        self.client_msg_ids.retain(|(c, _, _), _| *c != id);
        self.pins.retain(|_, (c, _, _)| *c != id);
        let messages = &self.messages;
        self.reactions.retain(|m, _| messages.contains_key(m));
    }

    /// Queues a message's links, replacing what was queued or shown.
    fn queue_links(&mut self, message: MessageId, links: &[String]) {
        self.link_previews.remove(&message);
        self.unfurl_jobs.retain(|job| job.message_id != message);
        if !links.is_empty() {
            self.unfurl_jobs.push_back(UnfurlJob {
                message_id: message,
                urls: links.to_vec(),
            });
        }
    }

    fn remove_membership(&mut self, id: ConversationId, user: UserId) {
        self.members.remove(&(id, user));
        if let Some(c) = self.conversations.get_mut(&id) {
            c.member_count -= 1;
            let last_event_seq = c.last_event_seq;
            self.streams.membership_ended(id, user, last_event_seq);
        }
    }

    fn preview(&self, message: &Message) -> Result<MessagePreview, ChatError> {
        Ok(MessagePreview {
            id: message.id,
            seq: message.seq,
            sender: self.user(message.sender_id)?,
            content: if message.is_deleted() {
                String::new()
            } else {
                message.content.clone()
            },
            created_at: message.created_at,
            deleted_at: message.deleted_at,
        })
    }

    fn message_view(
        &self,
        message: &Message,
        viewer: Option<UserId>,
    ) -> Result<MessageView, ChatError> {
        let quoted = match message
            .quoted_message_id
            .and_then(|id| self.messages.get(&id))
        {
            Some(q) => Some(QuotedMessage {
                id: q.id,
                sender: self.user(q.sender_id)?,
                content: if q.is_deleted() {
                    String::new()
                } else {
                    q.content.clone()
                },
                deleted: q.is_deleted(),
            }),
            None => None,
        };
        let mut view = MessageView::fresh(message.clone(), self.user(message.sender_id)?, quoted);
        let reactions = self
            .reactions
            .get(&message.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Most used first, then first used, then by emoji: as Postgres orders them.
        let mut groups: Vec<(String, i64, Timestamp)> = Vec::new();
        for (_, emoji, at) in reactions {
            match groups.iter_mut().find(|(e, _, _)| e == emoji) {
                Some(group) => {
                    group.1 += 1;
                    group.2 = group.2.min(*at);
                }
                None => groups.push((emoji.clone(), 1, *at)),
            }
        }
        groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
        view.user_reactions = groups
            .iter()
            .filter(|(emoji, _, _)| {
                reactions
                    .iter()
                    .any(|(u, e, _)| Some(*u) == viewer && e == emoji)
            })
            .map(|(emoji, _, _)| emoji.clone())
            .collect();
        view.reaction_counts = groups
            .into_iter()
            .map(|(emoji, count, _)| (emoji, count))
            .collect();
        view.pinned = self.pins.contains_key(&message.id);
        view.link_previews = self
            .link_previews
            .get(&message.id)
            .cloned()
            .unwrap_or_default();
        view.attachments = self
            .attachments
            .values()
            .filter(|a| a.message_id == Some(message.id))
            .cloned()
            .collect();
        Ok(view)
    }
}

#[async_trait]
impl HealthCheck for InMemoryStore {
    async fn ping(&self) -> Result<(), ChatError> {
        Ok(())
    }
}
