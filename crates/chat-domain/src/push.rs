//! Who gets a push for a message, and why (contract: "Webhooks and push").
//!
//! The rules, in the order they apply:
//! 1. never the sender;
//! 2. never a member whose `muteUntil` is in the future;
//! 3. `notifyLevel`: `none` gets nothing, `mentions` only when mentioned by
//!    name, `everyone` when mentioned or on `@everyone`, `all` everything;
//! 4. a hidden conversation only when mentioned by name;
//! 5. a thread reply goes to the thread's participants (the parent's author
//!    and earlier repliers) — and, as in Slack, to anyone it mentions.
//!
//! The reason names the strongest cause: `mention`, then `everyone`, then
//! `thread` (a reply), then `direct` (a DM), then `message`.

use crate::UserId;
use crate::conversation::NotifyLevel;

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
}

/// Whether `member` is pushed for `message`, and why.
pub fn push_reason(message: &PushedMessage<'_>, member: &PushCandidate) -> Option<PushReason> {
    if member.user_id == message.sender || member.muted {
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
