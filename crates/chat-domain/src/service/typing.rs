//! The send-typing use case: ephemeral, throttled, never stored.

use crate::events::{Audience, EventPayload, TypingUpdate};
use crate::user::Caller;
use crate::{ChatError, ConversationId, MessageId};

use super::ChatService;

impl ChatService {
    /// Tells the conversation the caller is typing (in a thread, with
    /// `parent_id`). At most one publish per user and conversation
    /// every `typing_interval_ms`; extra calls succeed and publish nothing,
    /// and a failed publish is logged, not reported: typing is best-effort.
    ///
    /// # Errors
    /// `not_found` when the conversation is unreadable; `validation_failed`
    /// for a parent that is not a message of it.
    pub async fn send_typing(
        &self,
        caller: Caller,
        conversation_id: ConversationId,
        parent_id: Option<MessageId>,
    ) -> Result<(), ChatError> {
        let access = self.readable(caller, conversation_id).await?;
        if let Some(parent) = parent_id {
            let valid =
                self.messages.find(parent).await?.is_some_and(|p| {
                    p.conversation_id == conversation_id && access.sees_seq(p.seq)
                });
            if !valid {
                return Err(ChatError::validation(
                    "parentId",
                    "must be a message of this conversation",
                ));
            }
        }
        let now = self.clock.now();
        if !self.typing.pass((caller.user_id, conversation_id), now) {
            return Ok(());
        }
        let event = self.events.event(
            conversation_id,
            now,
            Audience::Conversation,
            EventPayload::Typing(TypingUpdate {
                user_id: caller.user_id,
                parent_id,
            }),
        );
        // Best-effort: a lost typing indicator is harmless, and the adapter
        // logs its own failures.
        let _ = self.ephemeral.publish(event).await;
        Ok(())
    }
}
