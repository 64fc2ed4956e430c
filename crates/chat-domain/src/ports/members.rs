//! Membership: who is in a conversation, their roles, leaving, and each
//! member's own preferences.

use async_trait::async_trait;

use crate::conversation::{
    LeaveMode, LeaveOutcome, Member, MemberListQuery, MembersChanged, MembershipView,
    PreferencesPatch, Role,
};
use crate::events::EventsFor;
use crate::{ChatError, ConversationId, Timestamp, UserId};

/// Members of conversations.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MemberRepository: Send + Sync {
    /// A page of members (oldest first) and how many match the filter.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn members(&self, query: MemberListQuery) -> Result<(Vec<Member>, i64), ChatError>;

    /// Adds users as members (existing members are left as they are). Late
    /// joiners start with their read cursor at the newest message, and with
    /// `sinceJoin` history from there. Refuses, atomically, to grow past
    /// `max_members`.
    ///
    /// # Errors
    /// `Conflict` when the capacity would be exceeded; `NotFound` when the
    /// conversation is gone; `Unavailable` / `Unexpected`.
    async fn add_members(
        &self,
        id: ConversationId,
        users: Vec<UserId>,
        max_members: Option<i64>,
        now: Timestamp,
        events: EventsFor<MembersChanged>,
    ) -> Result<Vec<Member>, ChatError>;

    /// Removes a member. Refuses, atomically, to remove the last owner.
    ///
    /// # Errors
    /// `NotFound` when not a member; `Conflict` for the last owner.
    async fn remove_member(
        &self,
        id: ConversationId,
        user: UserId,
        events: EventsFor<MembersChanged>,
    ) -> Result<Member, ChatError>;

    /// Changes a member's role. Refuses, atomically, to demote the last owner.
    ///
    /// # Errors
    /// `NotFound` when not a member; `Conflict` for the last owner.
    async fn change_role(
        &self,
        id: ConversationId,
        user: UserId,
        role: Role,
        events: EventsFor<Member>,
    ) -> Result<Member, ChatError>;

    /// The caller leaves: hidden, or removed with ownership handed to the
    /// longest-standing member when the last owner goes (and the conversation
    /// deleted when nobody is left).
    ///
    /// # Errors
    /// `NotFound` when not a member; `Unavailable` / `Unexpected`.
    async fn leave(
        &self,
        id: ConversationId,
        user: UserId,
        mode: LeaveMode,
        events: EventsFor<LeaveOutcome>,
    ) -> Result<LeaveOutcome, ChatError>;

    /// Changes the member's own preferences.
    ///
    /// # Errors
    /// `NotFound` when not a member; `Unavailable` / `Unexpected`.
    async fn update_preferences(
        &self,
        id: ConversationId,
        user: UserId,
        patch: PreferencesPatch,
        events: EventsFor<MembershipView>,
    ) -> Result<MembershipView, ChatError>;
}
