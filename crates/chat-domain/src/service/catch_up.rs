//! Catching up after a disconnect: a conversation's events, the caller's
//! personal events, and sync (contract: "Catching up after a disconnect").

use super::ChatService;
use crate::catch_up::{EVENTS_PAGE, EventPage, EventRead, SyncPage, SyncPosition, SyncRead};
use crate::user::Caller;
use crate::{ChatError, ConversationId, Timestamp};

impl ChatService {
    /// The conversation's events numbered after `after`, oldest first, as
    /// the caller may see them; `reset` when `after` is older than what is
    /// kept.
    ///
    /// # Errors
    /// `not_found` when unreadable; `validation_failed` on `after` or
    /// `limit`.
    pub async fn list_conversation_events(
        &self,
        caller: Caller,
        id: ConversationId,
        after: i64,
        limit: Option<i64>,
    ) -> Result<EventPage, ChatError> {
        let after = check_after(after)?;
        let limit = EVENTS_PAGE.resolve(limit)?;
        let access = self.readable(caller, id).await?;
        let visibility = access.membership.event_visibility();
        let slice = self
            .event_history
            .conversation_events(
                id,
                EventRead {
                    after: after.max(visibility.from_event_seq),
                    visibility,
                    limit: limit + 1,
                },
            )
            .await?;
        Ok(EventPage::from_slice(
            slice,
            after,
            visibility.from_event_seq,
            limit,
        ))
    }

    /// The caller's personal events numbered after `after`, oldest first.
    ///
    /// # Errors
    /// `validation_failed` on `after` or `limit`.
    pub async fn list_personal_events(
        &self,
        caller: Caller,
        after: i64,
        limit: Option<i64>,
    ) -> Result<EventPage, ChatError> {
        let after = check_after(after)?;
        let limit = EVENTS_PAGE.resolve(limit)?;
        let slice = self
            .event_history
            .personal_events(
                caller.user_id,
                EventRead {
                    after,
                    visibility: crate::catch_up::EventVisibility::default(),
                    limit: limit + 1,
                },
            )
            .await?;
        Ok(EventPage::from_slice(slice, after, 0, limit))
    }

    /// The caller's conversations that changed since `position` (all of
    /// them without one), each once, by conversation id. A position older
    /// than the retention period is answered as a full sync: what ended
    /// before then is no longer known, so the client drops the
    /// conversations a full sync does not list.
    ///
    /// # Errors
    /// `validation_failed` on `limit`.
    pub async fn sync(
        &self,
        caller: Caller,
        position: Option<SyncPosition>,
        limit: Option<i64>,
    ) -> Result<SyncPage, ChatError> {
        let limit = EVENTS_PAGE.resolve(limit)?;
        let now = self.clock.now();
        let kept_since = now.unix_millis() - self.limits.event_retention_ms;
        let position = position.filter(|p| p.started_at.unix_millis() >= kept_since);
        let slice = self
            .event_history
            .changed_conversations(
                caller.user_id,
                SyncRead {
                    changed_since: position.and_then(|p| p.changed_since),
                    after: position.and_then(|p| p.after),
                    limit: limit + 1,
                },
            )
            .await?;
        Ok(SyncPage::from_slice(slice, position, now, limit))
    }

    /// Deletes one batch of events older than the retention period; returns
    /// how many went (fewer than `batch`: nothing left to prune).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    pub async fn prune_event_history(&self, batch: usize) -> Result<usize, ChatError> {
        let now = self.clock.now().unix_millis();
        let before = Timestamp::from_unix_millis(now - self.limits.event_retention_ms)
            .ok_or_else(|| ChatError::Unexpected(anyhow::anyhow!("retention before the epoch")))?;
        self.event_history.prune_events(before, batch).await
    }
}

fn check_after(after: i64) -> Result<i64, ChatError> {
    if after < 0 {
        return Err(ChatError::validation("after", "must be 0 or more"));
    }
    Ok(after)
}
