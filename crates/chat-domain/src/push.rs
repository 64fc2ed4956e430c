//! Who gets a push for a message, and why (contract: "Webhooks and push").
//!
//! The rules, in the order they apply:
//! 1. never the sender;
//! 2. never a member whose `muteUntil` is in the future;
//! 3. `notifyLevel`: `none` gets nothing, `mentions` only when mentioned by
//!    name, `everyone` when mentioned or on `@everyone`, `all` everything;
//! 4. a hidden conversation only when mentioned by name;
//! 5. a thread reply goes to the thread's participants (the parent's author
//!    and earlier repliers) — and, as in Slack, to anyone it mentions;
//! 6. never a member who cannot see the message (added after it was sent).
//!
//! The reason names the strongest cause: `mention`, then `everyone`, then
//! `thread` (a reply), then `direct` (a DM), then `message`.

use std::collections::HashMap;

use crate::conversation::{Membership, NotifyLevel};
use crate::ports::PushFacts;
use crate::{ChatError, ConversationId, MessageId, Timestamp, UserId};

/// Members examined per batch, and so recipients per `push.requested`
/// delivery at most: a 10,000-member channel makes 20 deliveries of at most
/// about 30 KB each.
pub const PUSH_BATCH: usize = 500;

/// Why a recipient is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushReason {
    Direct,
    Mention,
    Everyone,
    Message,
    Thread,
}

impl PushReason {
    /// Every reason, for the API description.
    pub const ALL: [Self; 5] = [
        Self::Direct,
        Self::Mention,
        Self::Everyone,
        Self::Message,
        Self::Thread,
    ];

    /// The contract's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Mention => "mention",
            Self::Everyone => "everyone",
            Self::Message => "message",
            Self::Thread => "thread",
        }
    }
}

/// The message, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct PushedMessage<'a> {
    pub sender: UserId,
    /// In a direct conversation.
    pub direct: bool,
    /// A thread reply (not top-level).
    pub reply: bool,
    pub mentions: &'a [UserId],
    pub mention_everyone: bool,
}

/// A member, as the rules see them.
#[derive(Debug, Clone, Copy)]
pub struct PushCandidate {
    pub user_id: UserId,
    pub notify_level: NotifyLevel,
    /// `muteUntil` is in the future.
    pub muted: bool,
    pub hidden: bool,
    /// Wrote the thread's parent or an earlier reply (for replies only).
    pub thread_participant: bool,
    /// Was a member who could read the message when it was sent.
    pub sees_message: bool,
}

/// Whether `member` is pushed for `message`, and why.
pub fn push_reason(message: &PushedMessage<'_>, member: &PushCandidate) -> Option<PushReason> {
    if member.user_id == message.sender || member.muted || !member.sees_message {
        return None;
    }
    let named = message.mentions.contains(&member.user_id);
    let everyone = message.mention_everyone;
    let wanted = match member.notify_level {
        NotifyLevel::None => false,
        NotifyLevel::Mentions => named,
        NotifyLevel::Everyone => named || everyone,
        NotifyLevel::All => true,
    };
    if !wanted || (member.hidden && !named) {
        return None;
    }
    if message.reply && !member.thread_participant && !named {
        return None;
    }
    Some(if named {
        PushReason::Mention
    } else if everyone {
        PushReason::Everyone
    } else if message.reply {
        PushReason::Thread
    } else if message.direct {
        PushReason::Direct
    } else {
        PushReason::Message
    })
}

/// A new message, as its push is planned: what the store knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubject {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub sender: UserId,
    pub parent_id: Option<MessageId>,
    pub mentions: Vec<UserId>,
    pub mention_everyone: bool,
    /// Sent in a direct conversation.
    pub direct: bool,
    pub created_at: Timestamp,
}

/// One recipient of a `push.requested` delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecipient {
    pub user_id: UserId,
    /// The recipient's `totalUnread` (get-unread-counts) when the batch is
    /// made.
    pub badge: i64,
    pub reason: PushReason,
}

/// The recipients of one delivery, and where the next batch starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushBatch {
    pub recipients: Vec<PushRecipient>,
    /// The last member examined: the next batch looks after it.
    pub resume_after: UserId,
}

/// Who a new message is pushed to, a batch at a time. Members are examined
/// in user id order, so a batch is a stable range of them: a delivery that
/// failed half-way resumes after the last batch delivered, and never makes
/// a member's batch twice.
///
/// Everything is read when the batch is made, not when the message was
/// sent: a member who muted the conversation since is not pushed, one who
/// left is not, and every badge is the recipient's figure at that moment
/// (lower if they read meanwhile).
#[derive(Debug, Clone)]
pub struct PushPlan {
    subject: PushSubject,
    /// For a reply: the thread's participants (sorted); others get it only
    /// when it mentions them.
    participants: Option<Vec<UserId>>,
    /// Who can be a recipient at all: a reply's participants and the users
    /// it mentions; every member for a top-level message.
    scope: Option<Vec<UserId>>,
}

impl PushPlan {
    /// The plan for message `id`; `None` when it is gone or deleted (a
    /// deleted message is not pushed).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    pub async fn load(facts: &dyn PushFacts, id: MessageId) -> Result<Option<Self>, ChatError> {
        let Some(subject) = facts.pushed_message(id).await? else {
            return Ok(None);
        };
        let (participants, scope) = match subject.parent_id {
            None => (None, None),
            Some(parent) => {
                let mut participants = facts
                    .thread_participants(subject.conversation_id, parent, subject.seq)
                    .await?;
                participants.sort_unstable();
                participants.dedup();
                let mut scope = participants.clone();
                scope.extend(&subject.mentions);
                scope.sort_unstable();
                scope.dedup();
                (Some(participants), Some(scope))
            }
        };
        Ok(Some(Self {
            subject,
            participants,
            scope,
        }))
    }

    /// The message being pushed.
    pub fn subject(&self) -> &PushSubject {
        &self.subject
    }

    /// The next batch with at least one recipient, examining up to
    /// `batch_size` members at a time after `after` ([`PUSH_BATCH`] in
    /// service); `None` when no member is left to push.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    pub async fn next_batch(
        &self,
        facts: &dyn PushFacts,
        mut after: Option<UserId>,
        now: Timestamp,
        batch_size: usize,
    ) -> Result<Option<PushBatch>, ChatError> {
        let batch_size = batch_size.max(1);
        loop {
            let members = facts
                .members_after(
                    self.subject.conversation_id,
                    after,
                    self.scope.as_deref(),
                    batch_size,
                )
                .await?;
            let Some(last) = members.last().map(|m| m.user_id) else {
                return Ok(None);
            };
            let chosen: Vec<(UserId, PushReason)> = members
                .iter()
                .filter_map(|m| {
                    push_reason(&self.pushed(), &self.candidate(m, now)).map(|r| (m.user_id, r))
                })
                .collect();
            if chosen.is_empty() {
                if members.len() < batch_size {
                    return Ok(None);
                }
                after = Some(last);
                continue;
            }
            let users: Vec<UserId> = chosen.iter().map(|(user, _)| *user).collect();
            let badges: HashMap<UserId, i64> = facts.total_unread(&users, now).await?;
            let recipients = chosen
                .into_iter()
                .map(|(user_id, reason)| PushRecipient {
                    user_id,
                    badge: badges.get(&user_id).copied().unwrap_or(0),
                    reason,
                })
                .collect();
            return Ok(Some(PushBatch {
                recipients,
                resume_after: last,
            }));
        }
    }

    fn pushed(&self) -> PushedMessage<'_> {
        PushedMessage {
            sender: self.subject.sender,
            direct: self.subject.direct,
            reply: self.subject.parent_id.is_some(),
            mentions: &self.subject.mentions,
            mention_everyone: self.subject.mention_everyone,
        }
    }

    fn candidate(&self, member: &Membership, now: Timestamp) -> PushCandidate {
        PushCandidate {
            user_id: member.user_id,
            notify_level: member.notify_level,
            muted: member.mute_until.is_some_and(|until| until > now),
            hidden: member.hidden,
            thread_participant: self
                .participants
                .as_ref()
                .is_some_and(|p| p.binary_search(&member.user_id).is_ok()),
            sees_message: member.sees_seq(self.subject.seq)
                && member.joined_at <= self.subject.created_at,
        }
    }
}

/// Renders the body of a `push.requested` delivery. Implemented where the
/// wire shapes live (`chat-http`); the webhook deliverer calls it for each
/// batch.
pub trait PushRenderer: Send + Sync {
    /// The body of one batch of the push request `id`
    /// (`<eventId>/push/<batch>`), from the `message.created` envelope the
    /// request was queued with: an envelope like every other event's, whose
    /// `data` names the message and the batch's recipients and carries the
    /// message as `message.created` did.
    ///
    /// # Errors
    /// The queued envelope is not a `message.created` envelope (a row
    /// written by hand, say).
    fn push_requested(
        &self,
        id: &str,
        created: &str,
        subject: &PushSubject,
        recipients: &[PushRecipient],
    ) -> Result<Vec<u8>, String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENDER: UserId = UserId::new(1);
    const BOB: UserId = UserId::new(2);

    fn member(notify_level: NotifyLevel) -> PushCandidate {
        PushCandidate {
            user_id: BOB,
            notify_level,
            muted: false,
            hidden: false,
            thread_participant: false,
            sees_message: true,
        }
    }

    fn message() -> PushedMessage<'static> {
        PushedMessage {
            sender: SENDER,
            direct: false,
            reply: false,
            mentions: &[],
            mention_everyone: false,
        }
    }

    #[test]
    fn recipient_rules() {
        use NotifyLevel::{All, Everyone, Mentions, None as Off};
        const NAMED: &[UserId] = &[BOB];
        let plain = message();
        let named = PushedMessage {
            mentions: NAMED,
            ..message()
        };
        let everyone = PushedMessage {
            mention_everyone: true,
            ..message()
        };
        let direct = PushedMessage {
            direct: true,
            ..message()
        };
        let reply = PushedMessage {
            reply: true,
            ..message()
        };
        let named_reply = PushedMessage {
            reply: true,
            mentions: NAMED,
            ..message()
        };
        let muted = PushCandidate {
            muted: true,
            ..member(All)
        };
        let hidden = PushCandidate {
            hidden: true,
            ..member(All)
        };
        let participant = PushCandidate {
            thread_participant: true,
            ..member(All)
        };
        let sender = PushCandidate {
            user_id: SENDER,
            ..member(All)
        };
        let added_later = PushCandidate {
            sees_message: false,
            ..member(All)
        };

        let cases: &[(&str, PushedMessage<'_>, PushCandidate, Option<PushReason>)] = &[
            (
                "all: a message",
                plain,
                member(All),
                Some(PushReason::Message),
            ),
            ("all: a DM", direct, member(All), Some(PushReason::Direct)),
            ("all: named", named, member(All), Some(PushReason::Mention)),
            (
                "all: @everyone",
                everyone,
                member(All),
                Some(PushReason::Everyone),
            ),
            ("mentions: a message", plain, member(Mentions), None),
            ("mentions: a DM", direct, member(Mentions), None),
            ("mentions: @everyone", everyone, member(Mentions), None),
            (
                "mentions: named",
                named,
                member(Mentions),
                Some(PushReason::Mention),
            ),
            ("everyone: a message", plain, member(Everyone), None),
            (
                "everyone: @everyone",
                everyone,
                member(Everyone),
                Some(PushReason::Everyone),
            ),
            (
                "everyone: named",
                named,
                member(Everyone),
                Some(PushReason::Mention),
            ),
            ("none: named", named, member(Off), None),
            ("none: a DM", direct, member(Off), None),
            ("muted: named", named, muted, None),
            ("hidden: a message", plain, hidden, None),
            ("hidden: @everyone", everyone, hidden, None),
            ("hidden: named", named, hidden, Some(PushReason::Mention)),
            ("the sender", named, sender, None),
            ("added after the message", named, added_later, None),
            ("reply: not a participant", reply, member(All), None),
            (
                "reply: a participant",
                reply,
                participant,
                Some(PushReason::Thread),
            ),
            (
                "reply: named outsider",
                named_reply,
                member(All),
                Some(PushReason::Mention),
            ),
            (
                "reply: participant, level mentions",
                reply,
                PushCandidate {
                    notify_level: Mentions,
                    ..participant
                },
                None,
            ),
        ];
        for (name, message, candidate, expected) in cases {
            assert_eq!(push_reason(message, candidate), *expected, "{name}");
        }
    }
}
