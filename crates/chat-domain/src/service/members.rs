//! Use cases on membership: list, add, remove, change role, leave.

use crate::conversation::{
    ConversationKind, LeaveMode, LeaveOutcome, Member, MemberCursor, MemberListQuery,
    MembersChanged, Role, Visibility,
};
use crate::events::{Audience, ConversationChange, EventPayload, MemberChange};
use crate::user::Caller;
use crate::{ChatError, ConversationId, UserId};

use super::ChatService;
use super::manage::{require_active, require_role};

/// A page of members, with the filter's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<Member>,
    pub next: Option<MemberCursor>,
    pub total: i64,
}

/// Users added at once, at most.
const MAX_ADDED_AT_ONCE: usize = 100;

impl ChatService {
    /// Members of a conversation the caller reads, oldest first.
    ///
    /// # Errors
    /// `not_found` when unreadable, `validation_failed` on `limit`.
    pub async fn list_members(
        &self,
        caller: Caller,
        id: ConversationId,
        role: Option<Role>,
        after: Option<MemberCursor>,
        limit: Option<i64>,
    ) -> Result<MemberPage, ChatError> {
        self.readable(caller, id).await?;
        let limit = self.limits.other_page.resolve(limit)?;
        let query = MemberListQuery {
            conversation_id: id,
            role,
            after,
            limit: limit + 1,
        };
        let (mut members, total) = self.members.members(query).await?;
        let next = if members.len() > limit {
            members.truncate(limit);
            members.last().map(|m| MemberCursor {
                joined_at: m.joined_at,
                user_id: m.user.id,
            })
        } else {
            None
        };
        Ok(MemberPage {
            members,
            next,
            total,
        })
    }

    /// Adds users of the caller's org; returns their memberships.
    ///
    /// # Errors
    /// `conflict` for direct, org-wide or archived conversations and a full
    /// group; `forbidden` below admin; `validation_failed` for unknown users
    /// (without saying which).
    pub async fn add_members(
        &self,
        caller: Caller,
        id: ConversationId,
        user_ids: Vec<UserId>,
    ) -> Result<Vec<Member>, ChatError> {
        let access = self.readable(caller, id).await?;
        let conversation = &access.conversation;
        if conversation.kind == ConversationKind::Direct
            || conversation.visibility == Visibility::Org
        {
            return Err(ChatError::conflict(
                "members cannot be added to this conversation",
            ));
        }
        require_role(&access, Role::Admin)?;
        require_active(&access)?;
        let mut wanted: Vec<UserId> = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            if !wanted.contains(&id) {
                wanted.push(id);
            }
        }
        if wanted.is_empty() || wanted.len() > MAX_ADDED_AT_ONCE {
            return Err(ChatError::validation(
                "userIds",
                format!("1 to {MAX_ADDED_AT_ONCE} users"),
            ));
        }
        let found = self.users.find_in_org(caller.org_id, &wanted).await?;
        if found.len() != wanted.len() {
            return Err(ChatError::validation("userIds", "unknown user"));
        }
        let max_members = (conversation.kind == ConversationKind::Group)
            .then(|| i64::try_from(self.limits.group_members).unwrap_or(i64::MAX));
        let events = self.events.clone();
        let now = self.clock.now();
        self.members
            .add_members(
                id,
                wanted,
                max_members,
                now,
                Box::new(move |changed: &MembersChanged| {
                    if changed.members.is_empty() {
                        return Vec::new();
                    }
                    let mut out: Vec<_> = changed
                        .members
                        .iter()
                        .map(|m| {
                            events.event(
                                id,
                                now,
                                Audience::Conversation,
                                EventPayload::Member(MemberChange::Added, m.clone()),
                            )
                        })
                        .collect();
                    out.push(events.event(
                        id,
                        now,
                        Audience::Users(changed.members.iter().map(|m| m.user.id).collect()),
                        EventPayload::Conversation(
                            ConversationChange::Added,
                            changed.conversation.clone(),
                        ),
                    ));
                    out
                }),
            )
            .await
    }

    /// Removes a member.
    ///
    /// # Errors
    /// `conflict` for direct and org-wide conversations or the last owner;
    /// `forbidden` below admin, or for an admin removing an owner;
    /// `validation_failed` when the user is not a member.
    pub async fn remove_member(
        &self,
        caller: Caller,
        id: ConversationId,
        user: UserId,
    ) -> Result<(), ChatError> {
        let access = self.readable(caller, id).await?;
        let conversation = &access.conversation;
        if conversation.kind == ConversationKind::Direct
            || conversation.visibility == Visibility::Org
        {
            return Err(ChatError::conflict(
                "members cannot be removed from this conversation",
            ));
        }
        require_role(&access, Role::Admin)?;
        let target = self
            .conversations
            .access(id, user)
            .await?
            .ok_or_else(|| ChatError::validation("userId", "not a member"))?;
        if target.membership.role == Role::Owner {
            require_role(&access, Role::Owner)?;
        }
        let events = self.events.clone();
        let now = self.clock.now();
        self.members
            .remove_member(
                id,
                user,
                Box::new(move |changed: &MembersChanged| {
                    let mut out = Vec::new();
                    for member in &changed.members {
                        out.push(events.event(
                            id,
                            now,
                            Audience::Conversation,
                            EventPayload::Member(MemberChange::Removed, member.clone()),
                        ));
                        out.push(events.event(
                            id,
                            now,
                            Audience::Users(vec![member.user.id]),
                            EventPayload::Conversation(
                                ConversationChange::Removed,
                                changed.conversation.clone(),
                            ),
                        ));
                    }
                    out
                }),
            )
            .await?;
        Ok(())
    }

    /// Changes a member's role.
    ///
    /// # Errors
    /// `conflict` for direct conversations and demoting the last owner;
    /// `forbidden` for non-owners; `validation_failed` for non-members.
    pub async fn change_member_role(
        &self,
        caller: Caller,
        id: ConversationId,
        user: UserId,
        role: Role,
    ) -> Result<Member, ChatError> {
        let access = self.readable(caller, id).await?;
        if access.conversation.kind == ConversationKind::Direct {
            return Err(ChatError::conflict(
                "direct conversations have no roles to change",
            ));
        }
        require_role(&access, Role::Owner)?;
        if self.conversations.access(id, user).await?.is_none() {
            return Err(ChatError::validation("userId", "not a member"));
        }
        let events = self.events.clone();
        let now = self.clock.now();
        self.members
            .change_role(
                id,
                user,
                role,
                Box::new(move |member: &Member| {
                    vec![events.event(
                        id,
                        now,
                        Audience::Conversation,
                        EventPayload::Member(MemberChange::Updated, member.clone()),
                    )]
                }),
            )
            .await
    }

    /// The caller leaves. A DM or org channel is hidden until they post or
    /// are mentioned there; anything else loses the membership, and a last
    /// owner hands ownership to the longest-standing member.
    ///
    /// # Errors
    /// `not_found` when unreadable.
    pub async fn leave_conversation(
        &self,
        caller: Caller,
        id: ConversationId,
    ) -> Result<(), ChatError> {
        let access = self.readable(caller, id).await?;
        let conversation = &access.conversation;
        let mode = if conversation.kind == ConversationKind::Direct
            || conversation.visibility == Visibility::Org
        {
            LeaveMode::Hide
        } else {
            LeaveMode::Remove
        };
        let events = self.events.clone();
        let now = self.clock.now();
        let me = caller.user_id;
        self.members
            .leave(
                id,
                me,
                mode,
                Box::new(move |outcome: &LeaveOutcome| {
                    let mut out = Vec::new();
                    if let Some(hidden) = &outcome.hidden {
                        out.push(events.event(
                            id,
                            now,
                            Audience::Users(vec![me]),
                            EventPayload::PreferencesUpdated(hidden.clone()),
                        ));
                        return out;
                    }
                    let conversation = || outcome.conversation.clone();
                    out.push(events.event(
                        id,
                        now,
                        Audience::Conversation,
                        EventPayload::Member(MemberChange::Removed, outcome.left.clone()),
                    ));
                    out.push(events.event(
                        id,
                        now,
                        Audience::Users(vec![me]),
                        EventPayload::Conversation(ConversationChange::Removed, conversation()),
                    ));
                    if let Some(owner) = &outcome.new_owner {
                        out.push(events.event(
                            id,
                            now,
                            Audience::Conversation,
                            EventPayload::Member(MemberChange::Updated, owner.clone()),
                        ));
                    }
                    if outcome.deleted {
                        out.push(events.event(
                            id,
                            now,
                            Audience::Conversation,
                            EventPayload::Conversation(ConversationChange::Deleted, conversation()),
                        ));
                    }
                    out
                }),
            )
            .await?;
        Ok(())
    }
}
