//! Realtime tokens: connection (personal channel) and subscription
//! (a conversation's channel, for its readers only).

use crate::ports::IssuedToken;
use crate::user::Caller;
use crate::{ChatError, ConversationId};

use super::ChatService;

impl ChatService {
    /// A connection token subscribing the caller to their personal channel.
    ///
    /// # Errors
    /// `unavailable` when realtime is not configured.
    pub fn connection_token(&self, caller: Caller) -> Result<IssuedToken, ChatError> {
        self.tokens.connection(caller.user_id, self.clock.now())
    }

    /// A subscription token for a conversation the caller reads.
    ///
    /// # Errors
    /// `not_found` when unreadable; `unavailable` when realtime is not
    /// configured.
    pub async fn subscribe_token(
        &self,
        caller: Caller,
        id: ConversationId,
    ) -> Result<IssuedToken, ChatError> {
        self.readable(caller, id).await?;
        self.tokens
            .subscription(caller.user_id, id, self.clock.now())
    }
}
