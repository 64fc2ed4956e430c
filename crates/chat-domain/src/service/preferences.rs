//! Use cases on a member's own state: preferences and unread totals.

use crate::conversation::{
    ConversationKind, MembershipView, NotifyLevel, PreferencesPatch, UnreadTotals,
};
use crate::events::{Audience, EventPayload};
use crate::user::Caller;
use crate::{ChatError, ConversationId};

use super::ChatService;

impl ChatService {
    /// Changes the caller's starred flag, mute and notification level.
    ///
    /// # Errors
    /// `not_found` when unreadable; `validation_failed` for a notify level a
    /// direct conversation does not have.
    pub async fn update_preferences(
        &self,
        caller: Caller,
        id: ConversationId,
        patch: PreferencesPatch,
    ) -> Result<MembershipView, ChatError> {
        let access = self.readable(caller, id).await?;
        if access.conversation.kind == ConversationKind::Direct
            && matches!(
                patch.notify_level,
                Some(NotifyLevel::Mentions | NotifyLevel::Everyone)
            )
        {
            return Err(ChatError::validation(
                "notifyLevel",
                "direct conversations take all or none",
            ));
        }
        let events = self.events.clone();
        let now = self.clock.now();
        let me = caller.user_id;
        self.members
            .update_preferences(
                id,
                me,
                patch,
                Box::new(move |view: &MembershipView| {
                    vec![events.event(
                        id,
                        now,
                        Audience::Users(vec![me]),
                        EventPayload::PreferencesUpdated(view.clone()),
                    )]
                }),
            )
            .await
    }

    /// The caller's unread totals, leaving out muted and hidden conversations.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    pub async fn unread_totals(&self, caller: Caller) -> Result<UnreadTotals, ChatError> {
        self.read_state
            .unread_totals(caller.user_id, self.clock.now())
            .await
    }
}
