//! Use cases on read state: mark-read (and mark-unread).

use crate::conversation::{Access, MembershipView, ReadCursorUpdate};
use crate::events::{Audience, EventPayload, UnreadUpdate};
use crate::message::{Message, MessageRange};
use crate::user::Caller;
use crate::{ChatError, ConversationId, MessageId};

use super::ChatService;

/// The mark-conversation-read request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkRead {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    /// Step the cursor back to just before `message_id`.
    pub mark_unread: bool,
}

/// The caller's read state after mark-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    pub last_read_message_id: Option<MessageId>,
    pub unread_count: i64,
    pub mention_count: i64,
}

impl ChatService {
    /// Moves the caller's read cursor to `message_id` (forward only), or with
    /// `mark_unread` to just before it.
    ///
    /// # Errors
    /// `not_found` for an unreadable conversation or message.
    pub async fn mark_read(
        &self,
        caller: Caller,
        request: MarkRead,
    ) -> Result<ReadState, ChatError> {
        let (access, message) = self.readable_in(caller, request).await?;

        let update = if request.mark_unread {
            // The cursor rests on the newest top-level message before the
            // target, so the target is the first unread one.
            let previous = self
                .messages
                .range(
                    MessageRange {
                        conversation_id: access.conversation.id,
                        parent_id: None,
                        after_seq: None,
                        before_seq: Some(message.seq),
                        visible_after_seq: access.membership.history_from_seq,
                        has_replies: None,
                        newest_first: true,
                        limit: 1,
                    },
                    caller.user_id,
                )
                .await?;
            ReadCursorUpdate {
                conversation_id: access.conversation.id,
                user_id: caller.user_id,
                seq: message.seq - 1,
                message_id: previous.first().map(|m| m.message.id),
                forward_only: false,
            }
        } else {
            ReadCursorUpdate {
                conversation_id: access.conversation.id,
                user_id: caller.user_id,
                seq: message.seq,
                message_id: Some(message.id),
                forward_only: true,
            }
        };

        let events = self.events.clone();
        let now = self.clock.now();
        let last_message_at = access.conversation.last_message_at;
        let view = self
            .read_state
            .move_read_cursor(
                update,
                Box::new(move |view: &MembershipView| {
                    let conversation_id = view.membership.conversation_id;
                    let me = Audience::Users(vec![view.membership.user_id]);
                    vec![
                        events.event(
                            conversation_id,
                            now,
                            me.clone(),
                            EventPayload::ReadUpdated(view.clone()),
                        ),
                        events.event(
                            conversation_id,
                            now,
                            me,
                            EventPayload::UnreadUpdated(UnreadUpdate {
                                conversation_id,
                                unread_count: Some(view.unread_count),
                                mention_count: Some(view.mention_count),
                                last_message_at,
                            }),
                        ),
                    ]
                }),
            )
            .await?;
        Ok(ReadState {
            last_read_message_id: view.membership.last_read_message_id,
            unread_count: view.unread_count,
            mention_count: view.mention_count,
        })
    }

    /// The caller's access to the conversation and the message to mark,
    /// read together (one trip to the store). When they do not fit (no
    /// such message, another conversation's, or no access) the answer is
    /// the one the conversation alone gives: `not_found` for the
    /// conversation when it is not readable, else for the message.
    async fn readable_in(
        &self,
        caller: Caller,
        request: MarkRead,
    ) -> Result<(Access, Message), ChatError> {
        let (message, access) = self
            .messages
            .find_with_access(request.message_id, caller.user_id)
            .await?;
        if let (Some(message), Some(access)) = (message, access)
            && message.conversation_id == request.conversation_id
            && access.sees_seq(message.seq)
        {
            return Ok((access, message));
        }
        self.readable(caller, request.conversation_id).await?;
        Err(ChatError::NotFound("message"))
    }
}
