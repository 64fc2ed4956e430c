//! Use cases on conversations: create, get, list.

use crate::conversation::{
    Conversation, ConversationCursor, ConversationKind, ConversationListQuery, ConversationView,
    DirectPair, HistoryMode, NewConversation, PostingPolicy, Visibility,
};
use crate::events::{Audience, ConversationChange, EventPayload};
use crate::ports::Created;
use crate::user::{Caller, User};
use crate::{ChatError, ConversationId, UserId};

use super::ChatService;

/// The create-conversation request, parsed but not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateConversation {
    pub kind: ConversationKind,
    pub user_id: Option<UserId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub member_ids: Vec<UserId>,
    pub visibility: Option<Visibility>,
    pub history_mode: Option<HistoryMode>,
    pub posting_policy: Option<PostingPolicy>,
    /// Serialized JSON object.
    pub metadata: Option<String>,
}

/// How many members events and sidebars show besides the viewer.
const OTHER_MEMBERS_SHOWN: usize = 5;

impl ChatService {
    /// Creates a conversation; a `direct` one returns the pair's existing DM
    /// when there is one (`is_new: false`).
    ///
    /// # Errors
    /// `validation_failed` for a request that breaks the contract's rules
    /// (missing `userId`/`name`, limits, unknown users).
    pub async fn create_conversation(
        &self,
        caller: Caller,
        request: CreateConversation,
    ) -> Result<Created<ConversationView>, ChatError> {
        let new = self.new_conversation(caller, &request).await?;
        let mut members = self
            .users
            .find_in_org(caller.org_id, &member_ids_with_creator(caller, &new))
            .await?;
        if members.len() != new.member_ids.len() + 1 {
            let field = if new.kind == ConversationKind::Direct {
                "userId"
            } else {
                "memberIds"
            };
            return Err(ChatError::validation(field, "unknown user"));
        }
        // The creator first, then in the order given: events list them so.
        members.sort_by_key(|u| (u.id != caller.user_id, u.id));
        let shown: Vec<User> = if new.kind == ConversationKind::Channel {
            Vec::new()
        } else {
            members.into_iter().take(OTHER_MEMBERS_SHOWN).collect()
        };

        let events = self.events.clone();
        let created = self
            .conversations
            .create(
                new,
                Box::new(move |conversation: &Conversation| {
                    let view = ConversationView {
                        conversation: conversation.clone(),
                        last_message: None,
                        other_members: shown,
                        membership: None,
                        avatar_url: None,
                    };
                    vec![events.event(
                        conversation.id,
                        conversation.created_at,
                        Audience::Members,
                        EventPayload::Conversation(ConversationChange::Added, view),
                    )]
                }),
            )
            .await?;
        let view = self.get_conversation(caller, created.value.id).await?;
        Ok(Created {
            value: view,
            is_new: created.is_new,
        })
    }

    /// Checks the request and turns it into the conversation to store.
    async fn new_conversation(
        &self,
        caller: Caller,
        request: &CreateConversation,
    ) -> Result<NewConversation, ChatError> {
        let limits = &self.limits;
        let name = optional_text(request.name.as_deref(), "name", limits.name_chars)?;
        let description = optional_text(
            request.description.as_deref(),
            "description",
            limits.description_chars,
        )?;
        if let Some(metadata) = &request.metadata {
            check_metadata(metadata, limits.metadata_bytes)?;
        }
        let mut member_ids: Vec<UserId> = Vec::new();
        for id in &request.member_ids {
            if *id != caller.user_id && !member_ids.contains(id) {
                member_ids.push(*id);
            }
        }
        let visibility = request.visibility.unwrap_or(Visibility::Private);
        let mut direct_pair = None;
        match request.kind {
            ConversationKind::Direct => {
                let other = request
                    .user_id
                    .ok_or_else(|| ChatError::validation("userId", "required for direct"))?;
                if !request.member_ids.is_empty() {
                    return Err(ChatError::validation("memberIds", "not for direct"));
                }
                if visibility != Visibility::Private {
                    return Err(ChatError::validation("visibility", "direct is private"));
                }
                if other != caller.user_id {
                    member_ids.push(other);
                }
                direct_pair = Some(DirectPair::new(caller.user_id, other));
            }
            ConversationKind::Group => {
                if visibility != Visibility::Private {
                    return Err(ChatError::validation("visibility", "groups are private"));
                }
                if member_ids.len() + 1 > limits.group_members {
                    return Err(ChatError::validation(
                        "memberIds",
                        format!("a group has at most {} members", limits.group_members),
                    ));
                }
            }
            ConversationKind::Channel => {
                if name.is_none() {
                    return Err(ChatError::validation("name", "a channel needs a name"));
                }
                if visibility == Visibility::Org && !member_ids.is_empty() {
                    return Err(ChatError::validation(
                        "memberIds",
                        "every org member is in an org channel",
                    ));
                }
            }
        }
        if request.kind != ConversationKind::Direct && request.user_id.is_some() {
            return Err(ChatError::validation("userId", "only for direct"));
        }
        Ok(NewConversation {
            org_id: caller.org_id,
            kind: request.kind,
            visibility,
            history_mode: request.history_mode.unwrap_or(HistoryMode::Full),
            posting_policy: request.posting_policy.unwrap_or(PostingPolicy::Everyone),
            name,
            description,
            metadata: request.metadata.clone(),
            created_by: caller.user_id,
            created_at: self.clock.now(),
            member_ids,
            direct_pair,
        })
    }

    /// The conversation as the caller sees it.
    ///
    /// # Errors
    /// `not_found` when the caller cannot read it.
    pub async fn get_conversation(
        &self,
        caller: Caller,
        id: ConversationId,
    ) -> Result<ConversationView, ChatError> {
        let view = self
            .conversations
            .view(id, caller.user_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
        self.with_avatar_url(view).await
    }

    /// Fills `avatar_url` from the avatar attachment, when there is one.
    pub(super) async fn with_avatar_url(
        &self,
        mut view: ConversationView,
    ) -> Result<ConversationView, ChatError> {
        if let Some(avatar) = view.conversation.avatar_file_id {
            view.avatar_url = self
                .attachments
                .find_attachment(avatar)
                .await?
                .map(|a| self.signer.attachment(a))
                .and_then(|a| a.url);
        }
        Ok(view)
    }

    /// One page of the caller's conversations, newest activity first, and
    /// the cursor of the next page when there is one.
    ///
    /// # Errors
    /// `validation_failed` on a bad `limit`.
    pub async fn list_conversations(
        &self,
        mut query: ConversationListQuery,
        requested_limit: Option<i64>,
    ) -> Result<(Vec<ConversationView>, Option<ConversationCursor>), ChatError> {
        let limit = self.limits.conversations_page.resolve(requested_limit)?;
        query.limit = limit + 1;
        let mut page = Vec::new();
        for view in self.conversations.list(query).await? {
            page.push(self.with_avatar_url(view).await?);
        }
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|v| ConversationCursor {
                activity_at: v.conversation.activity_at(),
                id: v.conversation.id,
            })
        } else {
            None
        };
        Ok((page, next))
    }
}

fn member_ids_with_creator(caller: Caller, new: &NewConversation) -> Vec<UserId> {
    let mut ids = vec![caller.user_id];
    ids.extend(new.member_ids.iter().copied());
    ids
}

/// Trims optional text; empty means absent; at most `max` characters.
pub(super) fn optional_text(
    text: Option<&str>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ChatError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(ChatError::validation(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// Metadata is a JSON object of at most `max` bytes serialized.
pub(crate) fn check_metadata(metadata: &str, max: usize) -> Result<(), ChatError> {
    if metadata.len() > max {
        return Err(ChatError::validation(
            "metadata",
            format!("at most {max} bytes of JSON"),
        ));
    }
    Ok(())
}
