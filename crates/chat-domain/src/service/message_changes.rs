//! Use cases that change a sent message: edit and delete.

use crate::conversation::Access;
use crate::events::{Audience, EventPayload};
use crate::links::extract_links;
use crate::message::{Message, MessageContent, MessagePatch, MessageView};
use crate::user::Caller;
use crate::{ChatError, MessageId, Timestamp, UserId};

use super::ChatService;
use super::conversations::check_metadata;
use super::manage::require_active;

/// The edit-message request: `None` leaves a field; `gif` and `metadata`
/// take `Some(None)` to clear.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditMessage {
    pub content: Option<String>,
    pub gif: Option<Option<String>>,
    pub mentions: Option<Vec<UserId>>,
    pub mention_everyone: Option<bool>,
    /// Serialized JSON object.
    pub metadata: Option<Option<String>>,
}

/// What delete-message answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedMessage {
    pub message: MessageView,
    /// Set when authors delete their own message.
    pub user_deleted_at: Option<Timestamp>,
}

/// The access that lets its holder read `message`: a member who sees the
/// message's place in history; else `not_found`, as for a missing message.
pub(super) fn access_to_read(
    access: Option<Access>,
    message: &Message,
) -> Result<Access, ChatError> {
    access
        .filter(|a| a.sees_seq(message.seq))
        .ok_or(ChatError::NotFound("message"))
}

impl ChatService {
    /// The message and the caller's access to its conversation, or
    /// `not_found` when the caller cannot read it.
    pub(super) async fn readable_message(
        &self,
        caller: Caller,
        id: MessageId,
    ) -> Result<(Access, Message), ChatError> {
        let (message, access) = self.messages.find_with_access(id, caller.user_id).await?;
        let message = message.ok_or(ChatError::NotFound("message"))?;
        let access = access_to_read(access, &message)?;
        Ok((access, message))
    }

    /// Edits the caller's own message.
    ///
    /// # Errors
    /// `not_found` when unreadable, `forbidden` for someone else's message,
    /// `conflict` when deleted or archived, `validation_failed` for limits.
    pub async fn edit_message(
        &self,
        caller: Caller,
        id: MessageId,
        request: EditMessage,
    ) -> Result<MessageView, ChatError> {
        let (access, message) = self.readable_message(caller, id).await?;
        if message.sender_id != caller.user_id {
            return Err(ChatError::forbidden("only the author edits a message"));
        }
        require_active(&access)?;
        if message.is_deleted() {
            return Err(ChatError::conflict("the message is deleted"));
        }
        let limits = &self.limits;
        let content = request
            .content
            .map(|c| MessageContent::parse(c, limits))
            .transpose()?;
        if let Some(Some(gif)) = &request.gif {
            super::messages::check_gif(gif)?;
        }
        if let Some(Some(metadata)) = &request.metadata {
            check_metadata(metadata, limits.metadata_bytes)?;
        }
        let mentions = match request.mentions {
            Some(mentions) => Some(self.check_mentions(&access, mentions).await?),
            None => None,
        };
        let content_after = content
            .as_ref()
            .map_or(message.content.as_str(), MessageContent::as_str);
        let gif_after = request
            .gif
            .as_ref()
            .map_or(message.gif.is_some(), Option::is_some);
        if content_after.is_empty() && !gif_after {
            return Err(ChatError::validation(
                "content",
                "empty content needs a gif or attachments",
            ));
        }
        // New content replaces the links to unfurl (and the old previews).
        let links = content
            .as_ref()
            .filter(|_| self.limits.unfurl_links)
            .map(|c| extract_links(c.as_str()));
        let patch = MessagePatch {
            content,
            gif: request.gif,
            mentions,
            mention_everyone: request.mention_everyone,
            metadata: request.metadata,
            edited_at: self.clock.now(),
            links,
        };
        let events = self.events.clone();
        let signer = self.signer.clone();
        let at = patch.edited_at;
        self.messages
            .edit(
                id,
                patch,
                Box::new(move |view: &MessageView| {
                    vec![events.event(
                        view.message.conversation_id,
                        at,
                        Audience::Conversation,
                        EventPayload::MessageUpdated(signer.view(view.for_everyone())),
                    )]
                }),
            )
            .await
            .map(|view| self.signer.view(view))
    }

    /// Deletes a message: its author, or an admin of its conversation.
    ///
    /// # Errors
    /// `not_found` when unreadable, `forbidden` for other members,
    /// `conflict` when archived.
    pub async fn delete_message(
        &self,
        caller: Caller,
        id: MessageId,
    ) -> Result<DeletedMessage, ChatError> {
        let (access, message) = self.readable_message(caller, id).await?;
        let own = message.sender_id == caller.user_id;
        if !own && !access.membership.role.is_admin() {
            return Err(ChatError::forbidden(
                "only the author or an admin deletes a message",
            ));
        }
        require_active(&access)?;
        let at = self.clock.now();
        let events = self.events.clone();
        let view = self
            .messages
            .delete(
                id,
                at,
                Box::new(move |view: &MessageView| {
                    vec![events.event(
                        view.message.conversation_id,
                        at,
                        Audience::Conversation,
                        EventPayload::MessageDeleted(view.for_everyone()),
                    )]
                }),
            )
            .await?;
        let user_deleted_at = own.then_some(view.message.deleted_at).flatten();
        Ok(DeletedMessage {
            message: view,
            user_deleted_at,
        })
    }
}
