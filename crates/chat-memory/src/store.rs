//! The store: one mutex over plain maps. Every port method takes the lock once,
//! so each one is atomic, like a Postgres transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chat_domain::attachment::{AttachmentQuery, NewAttachment};
use chat_domain::conversation::{
    Access, Conversation, ConversationListQuery, ConversationPatch, ConversationView, HistoryMode,
    LeaveMode, LeaveOutcome, Member, MemberListQuery, MembersChanged, Membership, MembershipView,
    NewConversation, NotifyLevel, PreferencesPatch, ReadCursorUpdate, Role, UnreadTotals,
    Visibility,
};
use chat_domain::events::{Audience, EventsFor, OutboxEvent};
use chat_domain::message::{
    Attachment, LinkPreview, Message, MessagePatch, MessagePreview, MessageRange, MessageView,
    NewReport, Pin, PinChange, PinListQuery, QuotedMessage, Reaction, ReactionAction,
    ReactionChange, ReactionListQuery, ReactionRequest, UnfurlJob,
};
use chat_domain::ports::{
    AttachmentRepository, ConversationRepository, Created, HealthCheck, LinkPreviewRepository,
    MemberUnread, MessageRepository, SentMessage, UserRepository,
};
use chat_domain::rules;
use chat_domain::search::{MessageSearch, SearchHit, words};
use chat_domain::user::User;
use chat_domain::{AttachmentId, ChatError, ConversationId, MessageId, OrgId, Timestamp, UserId};

/// Every repository port, in memory.
#[derive(Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
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
    last_conversation_id: i64,
    last_message_id: i64,
}

/// How many members a sidebar shows besides the viewer.
const OTHER_MEMBERS_SHOWN: usize = 5;

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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
        let history_from_seq = if late && conversation.history_mode == HistoryMode::SinceJoin {
            conversation.last_seq
        } else {
            0
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
                last_read_seq,
                last_read_message_id,
                starred: false,
                mute_until: None,
                notify_level: NotifyLevel::All,
                hidden: false,
            },
        );
    }

    fn write_events(&mut self, events: Vec<OutboxEvent>) {
        for mut event in events {
            if event.audience == Audience::Members {
                let users = self
                    .members_of(event.conversation_id)
                    .map(|m| m.user_id)
                    .collect();
                event.audience = Audience::Users(users);
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
        self.conversations.remove(&id);
        self.direct_keys.retain(|_, c| *c != id);
        self.members.retain(|(c, _), _| *c != id);
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
impl UserRepository for InMemoryStore {
    async fn provision(&self, user: User, now: Timestamp) -> Result<(), ChatError> {
        let mut state = self.lock();
        let is_new = !state.users.contains_key(&user.id);
        let (id, org) = (user.id, user.org_id);
        state.users.insert(user.id, user);
        if is_new {
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
        Ok(())
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
        state.write_events(written);
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

    async fn move_read_cursor(
        &self,
        update: ReadCursorUpdate,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError> {
        let mut state = self.lock();
        let key = (update.conversation_id, update.user_id);
        let membership = state
            .members
            .get_mut(&key)
            .ok_or(ChatError::NotFound("conversation"))?;
        if !update.forward_only || update.seq > membership.last_read_seq {
            membership.last_read_seq = update.seq;
            membership.last_read_message_id = update.message_id;
        }
        let membership = membership.clone();
        let view = state.membership_view(&membership);
        let written = events(&view);
        state.write_events(written);
        Ok(view)
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
        state.write_events(written);
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
        state.write_events(written);
        state.delete_conversation(id);
        Ok(())
    }

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
        state.write_events(written);
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
        state.write_events(written);
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
        if let Some(m) = state.members.get_mut(&(id, user)) {
            m.role = role;
        }
        let updated = Member { role, ..current };
        let written = events(&updated);
        state.write_events(written);
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
                        .members
                        .get_mut(&(id, user))
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
                    if let Some(m) = state.members.get_mut(&(id, heir)) {
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
        state.write_events(written);
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
                .members
                .get_mut(&(id, user))
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
        state.write_events(written);
        Ok(view)
    }

    async fn unread_totals(&self, user: UserId, now: Timestamp) -> Result<UnreadTotals, ChatError> {
        let state = self.lock();
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
        Ok(totals)
    }
}

#[async_trait]
impl MessageRepository for InMemoryStore {
    async fn insert(
        &self,
        new: chat_domain::message::NewMessage,
        events: EventsFor<SentMessage>,
    ) -> Result<Created<SentMessage>, ChatError> {
        let mut state = self.lock();
        let new_fanout = new.unread_fanout_max;
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
                return Ok(Created {
                    value: SentMessage {
                        message,
                        parent: None,
                        member_unread: Vec::new(),
                        large: false,
                    },
                    is_new: false,
                });
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
        if let Some(parent) = message.parent_id.and_then(|id| state.messages.get_mut(&id)) {
            parent.thread_reply_count += 1;
            parent.last_reply_at = Some(message.created_at);
        }
        for user in std::iter::once(&message.sender_id).chain(&message.mentions) {
            if let Some(m) = state.members.get_mut(&(message.conversation_id, *user)) {
                m.hidden = false;
            }
        }
        // Posting in a conversation means having read it.
        if let Some(sender) = state
            .members
            .get_mut(&(message.conversation_id, message.sender_id))
            && message.is_top_level()
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
        let member_count = state
            .conversations
            .get(&message.conversation_id)
            .map_or(0, |c| c.member_count);
        let large = member_count > new_fanout;
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
        state.write_events(written);
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
        state.write_events(written);
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
        state.write_events(written);
        Ok(view)
    }

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
            emoji,
            user_id: user,
            delta,
            reaction_counts: view.reaction_counts,
            user_reactions: view.user_reactions,
        };
        let written = events(&change);
        state.write_events(written);
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
        state.write_events(written);
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

    async fn search(&self, search: MessageSearch) -> Result<Vec<SearchHit>, ChatError> {
        let state = self.lock();
        let mut hits: Vec<&Message> = Vec::new();
        for membership in state
            .members
            .values()
            .filter(|m| m.user_id == search.viewer)
        {
            if search
                .conversation_id
                .is_some_and(|c| c != membership.conversation_id)
            {
                continue;
            }
            hits.extend(state.timeline(membership.conversation_id).filter(|m| {
                membership.sees_seq(m.seq)
                    && !m.is_deleted()
                    && search.sender_id.is_none_or(|s| s == m.sender_id)
                    && search.from.is_none_or(|from| m.created_at >= from)
                    && search.to.is_none_or(|to| m.created_at <= to)
                    && search
                        .after
                        .is_none_or(|after| (m.created_at, m.id) < after)
                    && search.query.matches(&words(&m.content))
            }));
        }
        hits.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
        hits.into_iter()
            .take(search.limit)
            .map(|m| {
                Ok(SearchHit {
                    message: state.message_view(m, Some(search.viewer))?,
                    snippet: search.query.snippet(&m.content),
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

#[async_trait]
impl LinkPreviewRepository for InMemoryStore {
    async fn take_unfurl_jobs(&self, limit: usize) -> Result<Vec<UnfurlJob>, ChatError> {
        let mut state = self.lock();
        let take = limit.min(state.unfurl_jobs.len());
        Ok(state.unfurl_jobs.drain(..take).collect())
    }

    async fn cached_preview(
        &self,
        url: &str,
        fresh_after: Timestamp,
    ) -> Result<Option<Option<LinkPreview>>, ChatError> {
        let state = self.lock();
        Ok(state
            .preview_cache
            .get(url)
            .filter(|(_, at)| *at >= fresh_after)
            .map(|(preview, _)| preview.clone()))
    }

    async fn cache_preview(
        &self,
        url: &str,
        preview: Option<LinkPreview>,
        at: Timestamp,
    ) -> Result<(), ChatError> {
        self.lock()
            .preview_cache
            .insert(url.to_owned(), (preview, at));
        Ok(())
    }

    async fn attach_previews(
        &self,
        message: MessageId,
        previews: Vec<LinkPreview>,
        events: EventsFor<MessageView>,
    ) -> Result<Option<MessageView>, ChatError> {
        let mut state = self.lock();
        let Some(live) = state
            .messages
            .get(&message)
            .filter(|m| !m.is_deleted())
            .cloned()
        else {
            return Ok(None);
        };
        state.link_previews.insert(message, previews);
        let view = state.message_view(&live, None)?;
        let written = events(&view);
        state.write_events(written);
        Ok(Some(view))
    }
}

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
        state.write_events(written);
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

#[async_trait]
impl HealthCheck for InMemoryStore {
    async fn ping(&self) -> Result<(), ChatError> {
        Ok(())
    }
}
