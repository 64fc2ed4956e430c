//! Use cases on a conversation's shared state: update, archive, unarchive,
//! convert, delete.

use crate::conversation::{
    Access, ConversationKind, ConversationPatch, ConversationView, PostingPolicy, Role, Visibility,
};
use crate::events::{Audience, ConversationChange, EventPayload};
use crate::user::Caller;
use crate::{AttachmentId, ChatError, ConversationId};

use super::ChatService;
use super::conversations::{check_metadata, optional_text};

/// The update-conversation request: `None` leaves a field, `Some(None)`
/// clears it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateConversation {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub avatar_file_id: Option<Option<AttachmentId>>,
    pub posting_policy: Option<PostingPolicy>,
    /// Serialized JSON object.
    pub metadata: Option<Option<String>>,
}

/// Refuses callers below `needed`.
pub(super) fn require_role(access: &Access, needed: Role) -> Result<(), ChatError> {
    let allowed = match needed {
        Role::Owner => access.membership.role == Role::Owner,
        Role::Admin => access.membership.role.is_admin(),
        Role::Member => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(ChatError::forbidden(format!(
            "needs the {} role",
            needed.as_str()
        )))
    }
}

/// Refuses writes to an archived conversation.
pub(super) fn require_active(access: &Access) -> Result<(), ChatError> {
    if access.conversation.is_archived() {
        return Err(ChatError::conflict("the conversation is archived"));
    }
    Ok(())
}

impl ChatService {
    /// Changes name, description, avatar, posting policy or metadata.
    ///
    /// # Errors
    /// `conflict` for direct or archived conversations, `forbidden` below
    /// admin, `validation_failed` for limits.
    pub async fn update_conversation(
        &self,
        caller: Caller,
        id: ConversationId,
        request: UpdateConversation,
    ) -> Result<ConversationView, ChatError> {
        let access = self.readable(caller, id).await?;
        if access.conversation.kind == ConversationKind::Direct {
            return Err(ChatError::conflict(
                "direct conversations cannot be updated",
            ));
        }
        require_role(&access, Role::Admin)?;
        require_active(&access)?;
        let limits = &self.limits;
        let name = match request.name {
            None => None,
            Some(name) => Some(optional_text(name.as_deref(), "name", limits.name_chars)?),
        };
        if access.conversation.kind == ConversationKind::Channel && name == Some(None) {
            return Err(ChatError::validation("name", "a channel needs a name"));
        }
        let description = match request.description {
            None => None,
            Some(text) => Some(optional_text(
                text.as_deref(),
                "description",
                limits.description_chars,
            )?),
        };
        if let Some(Some(metadata)) = &request.metadata {
            check_metadata(metadata, limits.metadata_bytes)?;
        }
        if let Some(Some(avatar)) = request.avatar_file_id {
            self.avatar_attachment(caller, id, avatar).await?;
        }
        let patch = ConversationPatch {
            name,
            description,
            avatar_file_id: request.avatar_file_id,
            posting_policy: request.posting_policy,
            metadata: request.metadata,
            ..ConversationPatch::default()
        };
        self.apply_patch(caller, id, patch, ConversationChange::Updated)
            .await
    }

    /// Makes the conversation read-only for content. Idempotent.
    ///
    /// # Errors
    /// `conflict` for direct conversations, `forbidden` below admin.
    pub async fn archive_conversation(
        &self,
        caller: Caller,
        id: ConversationId,
        archive: bool,
    ) -> Result<ConversationView, ChatError> {
        let access = self.readable(caller, id).await?;
        if access.conversation.kind == ConversationKind::Direct {
            return Err(ChatError::conflict(
                "direct conversations cannot be archived",
            ));
        }
        require_role(&access, Role::Admin)?;
        if access.conversation.is_archived() == archive {
            return self.get_conversation(caller, id).await;
        }
        let (archived_at, change) = if archive {
            (Some(self.clock.now()), ConversationChange::Archived)
        } else {
            (None, ConversationChange::Unarchived)
        };
        let patch = ConversationPatch {
            archived_at: Some(archived_at),
            ..ConversationPatch::default()
        };
        self.apply_patch(caller, id, patch, change).await
    }

    /// Turns a group into a private channel; members and history stay.
    ///
    /// # Errors
    /// `conflict` unless an active group, `forbidden` below admin,
    /// `validation_failed` without a name.
    pub async fn convert_conversation(
        &self,
        caller: Caller,
        id: ConversationId,
        name: Option<String>,
    ) -> Result<ConversationView, ChatError> {
        let access = self.readable(caller, id).await?;
        if access.conversation.kind != ConversationKind::Group {
            return Err(ChatError::conflict("only groups convert to channels"));
        }
        require_role(&access, Role::Admin)?;
        require_active(&access)?;
        let name = optional_text(name.as_deref(), "name", self.limits.name_chars)?
            .or_else(|| access.conversation.name.clone())
            .ok_or_else(|| ChatError::validation("name", "a channel needs a name"))?;
        debug_assert_eq!(access.conversation.visibility, Visibility::Private);
        let patch = ConversationPatch {
            kind: Some(ConversationKind::Channel),
            name: Some(Some(name)),
            ..ConversationPatch::default()
        };
        self.apply_patch(caller, id, patch, ConversationChange::Converted)
            .await
    }

    async fn apply_patch(
        &self,
        caller: Caller,
        id: ConversationId,
        patch: ConversationPatch,
        change: ConversationChange,
    ) -> Result<ConversationView, ChatError> {
        let events = self.events.clone();
        let now = self.clock.now();
        self.conversations
            .update(
                id,
                patch,
                now,
                Box::new(move |view: &ConversationView| {
                    vec![events.event(
                        view.conversation.id,
                        now,
                        Audience::Conversation,
                        EventPayload::Conversation(change, view.clone()),
                    )]
                }),
            )
            .await?;
        self.get_conversation(caller, id).await
    }

    /// Deletes the conversation for every member.
    ///
    /// # Errors
    /// `forbidden` for non-owners.
    pub async fn delete_conversation(
        &self,
        caller: Caller,
        id: ConversationId,
    ) -> Result<(), ChatError> {
        let access = self.readable(caller, id).await?;
        require_role(&access, Role::Owner)?;
        let events = self.events.clone();
        let now = self.clock.now();
        self.conversations
            .delete(
                id,
                Box::new(move |view: &ConversationView| {
                    let payload = |change| EventPayload::Conversation(change, view.clone());
                    vec![
                        events.event(
                            id,
                            now,
                            Audience::Conversation,
                            payload(ConversationChange::Deleted),
                        ),
                        events.event(
                            id,
                            now,
                            Audience::Members,
                            payload(ConversationChange::Removed),
                        ),
                    ]
                }),
            )
            .await
    }
}
