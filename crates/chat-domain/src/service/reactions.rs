//! Use cases on reactions, pins and reports.

use crate::events::{Audience, EventPayload, PinUpdate, ReactionUpdate};
use crate::message::{
    Emoji, MessageView, NewReport, Pin, PinChange, PinListQuery, Reaction, ReactionAction,
    ReactionChange, ReactionListQuery, ReactionRequest, ReportReason,
};
use crate::user::Caller;
use crate::{ChatError, ConversationId, MessageId, Timestamp, UserId};

use super::ChatService;
use super::manage::require_active;

/// A page of reactions with the emoji's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionPage {
    pub reactions: Vec<Reaction>,
    pub next: Option<(Timestamp, UserId)>,
    pub total: i64,
}

/// A page of pins, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPage {
    pub pins: Vec<Pin>,
    pub next: Option<(Timestamp, MessageId)>,
}

/// Characters of a report's details.
const REPORT_DETAILS_CHARS: usize = 1_000;

impl ChatService {
    /// Adds, removes or toggles the caller's reaction.
    ///
    /// # Errors
    /// `not_found` when unreadable; `conflict` for archived conversations,
    /// deleted messages or a 51st distinct emoji; `validation_failed` for
    /// the emoji.
    pub async fn react(
        &self,
        caller: Caller,
        id: MessageId,
        emoji: String,
        action: ReactionAction,
    ) -> Result<ReactionChange, ChatError> {
        let emoji = Emoji::parse(emoji)?;
        // Who may react is `rules::may_react`, which the store asks on the
        // facts it reads under the message's lock: no round trip of its own.
        let events = self.events.clone();
        let now = self.clock.now();
        self.reactions
            .react(
                ReactionRequest {
                    message_id: id,
                    user_id: caller.user_id,
                    emoji,
                    action,
                    max_distinct: self.limits.distinct_emoji,
                    at: now,
                },
                Box::new(move |change: &ReactionChange| {
                    if change.delta == 0 {
                        return Vec::new();
                    }
                    vec![events.event(
                        change.conversation_id,
                        now,
                        Audience::Conversation,
                        EventPayload::ReactionUpdated(ReactionUpdate {
                            message_id: change.message_id,
                            message_seq: change.message_seq,
                            emoji: change.emoji.clone(),
                            user_id: change.user_id,
                            delta: change.delta,
                            reaction_counts: change.reaction_counts.clone(),
                        }),
                    )]
                }),
            )
            .await
    }

    /// Who reacted to a message with one emoji, oldest first.
    ///
    /// # Errors
    /// `not_found` when unreadable; `validation_failed` for the emoji or limit.
    pub async fn list_reactions(
        &self,
        caller: Caller,
        id: MessageId,
        emoji: String,
        after: Option<(Timestamp, UserId)>,
        limit: Option<i64>,
    ) -> Result<ReactionPage, ChatError> {
        let emoji = Emoji::parse(emoji)?;
        let limit = self.limits.other_page.resolve(limit)?;
        self.readable_message(caller, id).await?;
        let query = ReactionListQuery {
            message_id: id,
            emoji,
            after,
            limit: limit + 1,
        };
        let (mut reactions, total) = self.reactions.reactions(query).await?;
        let next = if reactions.len() > limit {
            reactions.truncate(limit);
            reactions.last().map(|r| (r.created_at, r.user.id))
        } else {
            None
        };
        Ok(ReactionPage {
            reactions,
            next,
            total,
        })
    }

    /// Pins or unpins a message. Idempotent.
    ///
    /// # Errors
    /// `not_found` when unreadable; `conflict` for archived conversations,
    /// deleted messages or a 101st pin.
    pub async fn set_pinned(
        &self,
        caller: Caller,
        id: MessageId,
        pinned: bool,
    ) -> Result<MessageView, ChatError> {
        let (access, message) = self.readable_message(caller, id).await?;
        require_active(&access)?;
        if pinned && message.is_deleted() {
            return Err(ChatError::conflict("the message is deleted"));
        }
        let events = self.events.clone();
        let now = self.clock.now();
        let change = self
            .reactions
            .set_pinned(
                id,
                caller.user_id,
                pinned,
                self.limits.pins,
                now,
                Box::new(move |change: &PinChange| {
                    if !change.changed {
                        return Vec::new();
                    }
                    let update = PinUpdate {
                        message_id: change.message.message.id,
                        message_seq: change.message.message.seq,
                        pinned_by: change.pinned_by,
                    };
                    let payload = if pinned {
                        EventPayload::PinAdded(update)
                    } else {
                        EventPayload::PinRemoved(update)
                    };
                    vec![events.event(
                        change.message.message.conversation_id,
                        now,
                        Audience::Conversation,
                        payload,
                    )]
                }),
            )
            .await?;
        Ok(self.signer.view(change.message))
    }

    /// The conversation's pins the caller can see, newest first.
    ///
    /// # Errors
    /// `not_found` when unreadable; `validation_failed` on `limit`.
    pub async fn list_pins(
        &self,
        caller: Caller,
        id: ConversationId,
        after: Option<(Timestamp, MessageId)>,
        limit: Option<i64>,
    ) -> Result<PinPage, ChatError> {
        let limit = self.limits.other_page.resolve(limit)?;
        let access = self.readable(caller, id).await?;
        let query = PinListQuery {
            conversation_id: id,
            visible_after_seq: access.membership.history_from_seq,
            after,
            limit: limit + 1,
        };
        let mut pins: Vec<Pin> = self
            .reactions
            .pins(query, caller.user_id)
            .await?
            .into_iter()
            .map(|pin| Pin {
                message: self.signer.view(pin.message),
                ..pin
            })
            .collect();
        let next = if pins.len() > limit {
            pins.truncate(limit);
            pins.last().map(|p| (p.pinned_at, p.message.message.id))
        } else {
            None
        };
        Ok(PinPage { pins, next })
    }

    /// Reports a message for moderators; `false` when the caller already had.
    ///
    /// # Errors
    /// `not_found` when unreadable; `validation_failed` for details too long.
    pub async fn report_message(
        &self,
        caller: Caller,
        id: MessageId,
        reason: ReportReason,
        details: Option<String>,
    ) -> Result<bool, ChatError> {
        if details
            .as_ref()
            .is_some_and(|d| d.chars().count() > REPORT_DETAILS_CHARS)
        {
            return Err(ChatError::validation(
                "details",
                format!("at most {REPORT_DETAILS_CHARS} characters"),
            ));
        }
        let (_, message) = self.readable_message(caller, id).await?;
        self.reactions
            .report(NewReport {
                message_id: id,
                conversation_id: message.conversation_id,
                reporter_id: caller.user_id,
                reason,
                details,
                created_at: self.clock.now(),
            })
            .await
    }
}
