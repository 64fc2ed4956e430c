//! Use cases on messages: send, list, get.

use crate::conversation::{Access, PostingPolicy};
use crate::events::{Audience, EventPayload, UnreadUpdate};
use crate::links::extract_links;
use crate::message::{
    ClientMsgId, MessageContent, MessageRange, MessageView, NewMessage, SendEffects,
};
use crate::ports::{Created, SentMessage};
use crate::user::Caller;
use crate::{AttachmentId, ChatError, ConversationId, MessageId, UserId};

use super::ChatService;
use super::conversations::check_metadata;

/// The send-message request, parsed but not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    pub conversation_id: ConversationId,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub parent_id: Option<MessageId>,
    pub quoted_message_id: Option<MessageId>,
    pub mentions: Vec<UserId>,
    pub mention_everyone: bool,
    pub gif: Option<String>,
    /// Serialized JSON object.
    pub metadata: Option<String>,
    pub attachment_ids: Vec<AttachmentId>,
}

/// Where a message page is anchored when no message id is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Newest,
    Oldest,
    FirstUnread,
}

/// The list-messages request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMessages {
    pub conversation_id: ConversationId,
    pub parent_id: Option<MessageId>,
    pub before: Option<MessageId>,
    pub after: Option<MessageId>,
    pub around: Option<MessageId>,
    pub anchor: Option<Anchor>,
    pub limit: Option<i64>,
    pub has_replies: Option<bool>,
}

/// One page of messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub has_older: bool,
    pub has_newer: bool,
    /// Why the page is empty by construction, when it is.
    pub notice: Option<String>,
}

impl ChatService {
    /// Sends a message. A repeated `clientMsgId` from the same sender in the
    /// same conversation returns the original (`is_new: false`).
    ///
    /// # Errors
    /// `not_found` (not readable), `conflict` (archived), `forbidden`
    /// (admins-only posting), `validation_failed` (limits, parent, quote,
    /// mentions, gif, attachments).
    pub async fn send_message(
        &self,
        caller: Caller,
        request: SendMessage,
    ) -> Result<Created<MessageView>, ChatError> {
        // Before any store work: a flood costs nothing but this check.
        self.sends
            .take(caller.user_id, self.clock.now())
            .map_err(|retry_after_secs| ChatError::RateLimited { retry_after_secs })?;
        let access = self.readable(caller, request.conversation_id).await?;
        if access.conversation.is_archived() {
            return Err(ChatError::conflict("the conversation is archived"));
        }
        if access.conversation.posting_policy == PostingPolicy::Admins
            && !access.membership.role.is_admin()
        {
            return Err(ChatError::forbidden("only admins may post here"));
        }
        let new = self.new_message(caller, &access, request).await?;

        let events = self.events.clone();
        let signer = self.signer.clone();
        let conversation_id = access.conversation.id;
        let sent = self
            .messages
            .insert(
                new,
                Box::new(move |sent: &SentMessage| {
                    let at = sent.message.message.created_at;
                    let mut out = vec![events.event(
                        conversation_id,
                        at,
                        Audience::Conversation,
                        EventPayload::MessageCreated(signer.view(sent.message.clone())),
                    )];
                    if let Some(parent) = &sent.parent {
                        out.push(events.event(
                            conversation_id,
                            at,
                            Audience::Conversation,
                            EventPayload::MessageUpdated(signer.view(parent.for_everyone())),
                        ));
                    }
                    out.extend(unread_events(&events, sent, conversation_id));
                    out
                }),
            )
            .await?;
        Ok(Created {
            value: self.signer.view(sent.value.message),
            is_new: sent.is_new,
        })
    }

    /// Checks every field of a send against the contract's rules.
    async fn new_message(
        &self,
        caller: Caller,
        access: &Access,
        request: SendMessage,
    ) -> Result<NewMessage, ChatError> {
        let limits = &self.limits;
        let content = MessageContent::parse(request.content, limits)?;
        if request.attachment_ids.len() > limits.attachments_per_message {
            return Err(ChatError::validation(
                "attachmentIds",
                format!("at most {} attachments", limits.attachments_per_message),
            ));
        }
        let mut attachment_ids: Vec<AttachmentId> =
            Vec::with_capacity(request.attachment_ids.len());
        for id in &request.attachment_ids {
            if attachment_ids.contains(id) {
                continue;
            }
            // Only the caller's own ready uploads to this conversation, not
            // sent yet; the store links them atomically with the message.
            let usable = self
                .attachments
                .find_attachment(*id)
                .await?
                .is_some_and(|a| {
                    a.uploader_id == caller.user_id
                        && a.conversation_id == access.conversation.id
                        && a.ready
                        && a.message_id.is_none()
                });
            if !usable {
                return Err(ChatError::validation("attachmentIds", "unknown attachment"));
            }
            attachment_ids.push(*id);
        }
        if let Some(gif) = &request.gif {
            check_gif(gif)?;
        }
        if content.is_empty() && request.gif.is_none() && request.attachment_ids.is_empty() {
            return Err(ChatError::validation(
                "content",
                "empty content needs a gif or attachments",
            ));
        }
        let client_msg_id = request
            .client_msg_id
            .map(|id| ClientMsgId::parse(id, limits))
            .transpose()?;
        if let Some(metadata) = &request.metadata {
            check_metadata(metadata, limits.metadata_bytes)?;
        }
        let mentions = self.check_mentions(access, request.mentions).await?;
        if let Some(parent_id) = request.parent_id {
            let parent = self.messages.find(parent_id).await?;
            let valid = parent.is_some_and(|p| {
                p.conversation_id == access.conversation.id
                    && access.sees_seq(p.seq)
                    && p.is_top_level()
                    && !p.is_deleted()
            });
            if !valid {
                return Err(ChatError::validation(
                    "parentId",
                    "must be a top-level message of this conversation",
                ));
            }
        }
        if let Some(quoted_id) = request.quoted_message_id {
            let quoted = self.messages.find(quoted_id).await?;
            let valid = quoted.is_some_and(|q| {
                q.conversation_id == access.conversation.id && access.sees_seq(q.seq)
            });
            if !valid {
                return Err(ChatError::validation(
                    "quotedMessageId",
                    "must be a message of this conversation",
                ));
            }
        }
        let effects = SendEffects::of(caller.user_id, request.parent_id, &mentions);
        Ok(NewMessage {
            conversation_id: access.conversation.id,
            sender_id: caller.user_id,
            gif: request.gif,
            mentions,
            mention_everyone: request.mention_everyone,
            parent_id: request.parent_id,
            quoted_message_id: request.quoted_message_id,
            metadata: request.metadata,
            client_msg_id,
            created_at: self.clock.now(),
            unread_fanout_max: self.limits.unread_fanout_max,
            attachment_ids,
            effects,
            links: if limits.unfurl_links {
                extract_links(content.as_str())
            } else {
                Vec::new()
            },
            content,
        })
    }

    /// Mentions are distinct members of the conversation, at most the limit.
    pub(super) async fn check_mentions(
        &self,
        access: &Access,
        requested: Vec<UserId>,
    ) -> Result<Vec<UserId>, ChatError> {
        let mut mentions: Vec<UserId> = Vec::with_capacity(requested.len());
        for id in requested {
            if !mentions.contains(&id) {
                mentions.push(id);
            }
        }
        if mentions.len() > self.limits.mentions {
            return Err(ChatError::validation(
                "mentions",
                format!("at most {} mentions", self.limits.mentions),
            ));
        }
        if !mentions.is_empty() {
            let members = self
                .conversations
                .member_ids_among(access.conversation.id, &mentions)
                .await?;
            if members.len() != mentions.len() {
                return Err(ChatError::validation(
                    "mentions",
                    "only members can be mentioned",
                ));
            }
        }
        Ok(mentions)
    }

    /// The message as the caller sees it.
    ///
    /// # Errors
    /// `not_found` when the caller cannot read it (not a member, or before
    /// their `sinceJoin` history).
    pub async fn get_message(
        &self,
        caller: Caller,
        id: MessageId,
    ) -> Result<MessageView, ChatError> {
        let view = self
            .messages
            .view(id, caller.user_id)
            .await?
            .ok_or(ChatError::NotFound("message"))?;
        let access = self
            .conversations
            .access(view.message.conversation_id, caller.user_id)
            .await?;
        match access {
            Some(access) if access.sees_seq(view.message.seq) => Ok(self.signer.view(view)),
            _ => Err(ChatError::NotFound("message")),
        }
    }

    /// A page of a conversation's (or a thread's) messages, oldest first.
    ///
    /// # Errors
    /// `not_found` for an unreadable conversation, parent or anchor message;
    /// `validation_failed` for more than one position or a bad `limit`.
    pub async fn list_messages(
        &self,
        caller: Caller,
        request: ListMessages,
    ) -> Result<MessagePage, ChatError> {
        let mut page = self.message_page(caller, request).await?;
        page.messages = page
            .messages
            .into_iter()
            .map(|m| self.signer.view(m))
            .collect();
        Ok(page)
    }

    async fn message_page(
        &self,
        caller: Caller,
        request: ListMessages,
    ) -> Result<MessagePage, ChatError> {
        let limit = self.limits.messages_page.resolve(request.limit)?;
        let positions = [
            request.before.is_some(),
            request.after.is_some(),
            request.around.is_some(),
            request.anchor.is_some(),
        ];
        if positions.iter().filter(|given| **given).count() > 1 {
            return Err(ChatError::validation(
                "anchor",
                "give at most one of before, after, around and anchor",
            ));
        }
        // The listing without the caller's history floor, not known yet.
        let unfloored = MessageRange {
            conversation_id: request.conversation_id,
            parent_id: request.parent_id,
            after_seq: None,
            before_seq: None,
            visible_after_seq: i64::MIN,
            has_replies: request.has_replies,
            newest_first: true,
            limit,
        };
        let newest_top_level = request.parent_id.is_none()
            && request.before.is_none()
            && request.after.is_none()
            && request.around.is_none()
            && matches!(request.anchor.unwrap_or(Anchor::Newest), Anchor::Newest);
        let (access, newest) = if newest_top_level {
            self.newest_page_with_access(caller, &unfloored).await?
        } else {
            (self.readable(caller, request.conversation_id).await?, None)
        };
        if let Some(parent_id) = request.parent_id {
            let parent = self.messages.find(parent_id).await?;
            let readable = parent.is_some_and(|p| {
                p.conversation_id == access.conversation.id && access.sees_seq(p.seq)
            });
            if !readable {
                return Err(ChatError::NotFound("message"));
            }
            if request.has_replies == Some(true) {
                return Ok(MessagePage {
                    messages: Vec::new(),
                    has_older: false,
                    has_newer: false,
                    notice: Some(
                        "threads are one level deep: replies never have replies".to_owned(),
                    ),
                });
            }
        }
        let pager = Pager {
            service: self,
            viewer: caller.user_id,
            base: MessageRange {
                visible_after_seq: access.membership.history_from_seq,
                ..unfloored
            },
        };
        if let Some(id) = request.before {
            let seq = self.anchor_seq(&access, id).await?;
            let (messages, has_older) = pager.older_than(Some(seq), limit).await?;
            let has_newer = pager.any_from(seq).await?;
            return Ok(MessagePage::new(messages, has_older, has_newer));
        }
        if let Some(id) = request.after {
            let seq = self.anchor_seq(&access, id).await?;
            let (messages, has_newer) = pager.newer_than(Some(seq), limit).await?;
            let has_older = pager.any_up_to(seq).await?;
            return Ok(MessagePage::new(messages, has_older, has_newer));
        }
        if let Some(id) = request.around {
            let seq = self.anchor_seq(&access, id).await?;
            return pager.around(seq, limit).await;
        }
        match request.anchor.unwrap_or(Anchor::Newest) {
            Anchor::Newest => {
                let (messages, has_older) = match newest {
                    Some(page) => oldest_first(page, limit),
                    None => pager.older_than(None, limit).await?,
                };
                Ok(MessagePage::new(messages, has_older, false))
            }
            Anchor::Oldest => {
                let (messages, has_newer) = pager.newer_than(None, limit).await?;
                Ok(MessagePage::new(messages, false, has_newer))
            }
            Anchor::FirstUnread => {
                let cursor = access.membership.last_read_seq;
                let (first_unread, _) = pager.newer_than(Some(cursor), 1).await?;
                match first_unread.first() {
                    Some(first) => pager.around(first.message.seq, limit).await,
                    None => {
                        let (messages, has_older) = pager.older_than(None, limit).await?;
                        Ok(MessagePage::new(messages, has_older, false))
                    }
                }
            }
        }
    }

    /// The caller's access and the newest page of `unfloored` (as the store
    /// read it, newest first, one more than its limit) in one trip to the
    /// store. The page is read before the caller's history floor is known,
    /// so it is kept only when the floor cuts none of it (`None` otherwise:
    /// the caller reads it again, floored).
    async fn newest_page_with_access(
        &self,
        caller: Caller,
        unfloored: &MessageRange,
    ) -> Result<(Access, Option<Vec<MessageView>>), ChatError> {
        let newest = MessageRange {
            limit: unfloored.limit + 1,
            ..unfloored.clone()
        };
        let (access, page) = self
            .messages
            .range_with_access(newest, caller.user_id)
            .await?;
        let access = access.ok_or(ChatError::NotFound("conversation"))?;
        let visible = page.iter().all(|m| access.sees_seq(m.message.seq));
        Ok((access, visible.then_some(page)))
    }

    /// The `seq` of a message given as a page position: it must be a message
    /// of this conversation that the caller sees.
    async fn anchor_seq(&self, access: &Access, id: MessageId) -> Result<i64, ChatError> {
        match self.messages.find(id).await? {
            Some(m) if m.conversation_id == access.conversation.id && access.sees_seq(m.seq) => {
                Ok(m.seq)
            }
            _ => Err(ChatError::NotFound("message")),
        }
    }
}

/// `unread.updated` for the members' sidebars after a send: exact figures to
/// each member of a small conversation, or one "changed" event (null counts,
/// batched into broadcasts by the store) to every member of a large one, so
/// the cost of a message stays bounded whatever the conversation's size.
fn unread_events(
    events: &super::EventFactory,
    sent: &SentMessage,
    conversation_id: ConversationId,
) -> Vec<crate::events::OutboxEvent> {
    let message = &sent.message.message;
    if !message.is_top_level() {
        return Vec::new();
    }
    let at = message.created_at;
    let update = |unread, mentions| {
        EventPayload::UnreadUpdated(UnreadUpdate {
            conversation_id,
            unread_count: unread,
            mention_count: mentions,
            last_message_at: Some(at),
        })
    };
    if sent.large {
        return vec![events.event(conversation_id, at, Audience::Members, update(None, None))];
    }
    sent.member_unread
        .iter()
        .map(|m| {
            events.event(
                conversation_id,
                at,
                Audience::Users(vec![m.user_id]),
                update(Some(m.unread_count), Some(m.mention_count)),
            )
        })
        .collect()
}

/// A gif is an `https` URL.
pub(super) fn check_gif(gif: &str) -> Result<(), ChatError> {
    let valid = gif
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
    if !valid {
        return Err(ChatError::validation("gif", "must be an https URL"));
    }
    Ok(())
}

impl MessagePage {
    fn new(messages: Vec<MessageView>, has_older: bool, has_newer: bool) -> Self {
        Self {
            messages,
            has_older,
            has_newer,
            notice: None,
        }
    }
}

/// A page read newest first with one message more than `limit`: its
/// `limit` newest messages oldest first, and whether there are older ones.
fn oldest_first(mut newest_first: Vec<MessageView>, limit: usize) -> (Vec<MessageView>, bool) {
    let has_older = newest_first.len() > limit;
    newest_first.truncate(limit);
    newest_first.reverse();
    (newest_first, has_older)
}

/// Reads pages of one listing (a conversation's top level or one thread).
struct Pager<'a> {
    service: &'a ChatService,
    viewer: UserId,
    base: MessageRange,
}

impl Pager<'_> {
    async fn fetch(
        &self,
        after_seq: Option<i64>,
        before_seq: Option<i64>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<MessageView>, ChatError> {
        let range = MessageRange {
            after_seq,
            before_seq,
            newest_first,
            limit,
            ..self.base.clone()
        };
        self.service.messages.range(range, self.viewer).await
    }

    /// Up to `limit` messages before `seq` (all when `None`), oldest first,
    /// and whether there are older ones.
    async fn older_than(
        &self,
        seq: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<MessageView>, bool), ChatError> {
        let messages = self.fetch(None, seq, true, limit + 1).await?;
        Ok(oldest_first(messages, limit))
    }

    /// Up to `limit` messages after `seq` (from the start when `None`),
    /// oldest first, and whether there are newer ones.
    async fn newer_than(
        &self,
        seq: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<MessageView>, bool), ChatError> {
        let mut messages = self.fetch(seq, None, false, limit + 1).await?;
        let has_more = messages.len() > limit;
        messages.truncate(limit);
        Ok((messages, has_more))
    }

    /// Whether any message has `seq` at or after `seq`.
    async fn any_from(&self, seq: i64) -> Result<bool, ChatError> {
        Ok(!self.fetch(Some(seq - 1), None, false, 1).await?.is_empty())
    }

    /// Whether any message has `seq` at or before `seq`.
    async fn any_up_to(&self, seq: i64) -> Result<bool, ChatError> {
        Ok(!self.fetch(None, Some(seq + 1), true, 1).await?.is_empty())
    }

    /// A page with the message at `seq` and messages on both sides.
    async fn around(&self, seq: i64, limit: usize) -> Result<MessagePage, ChatError> {
        let (older, has_older) = self.older_than(Some(seq), (limit - 1) / 2).await?;
        let (newer, has_newer) = self.newer_than(Some(seq - 1), limit - older.len()).await?;
        let mut messages = older;
        messages.extend(newer);
        Ok(MessagePage::new(messages, has_older, has_newer))
    }
}
