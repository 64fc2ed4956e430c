//! Users, as tokens describe them.

use async_trait::async_trait;

use crate::user::User;
use crate::{ChatError, OrgId, Timestamp, UserId};

/// The user directory, fed from token claims.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Creates or refreshes the user, and answers the org the user belongs
    /// to. A user seen for the first time joins every org-wide channel of
    /// their org. A user's org never changes: a known user's profile is
    /// refreshed only when `user.org_id` is theirs, and the answer is the
    /// stored org either way (the service refuses a token naming another).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn provision(&self, user: User, now: Timestamp) -> Result<OrgId, ChatError>;

    /// The users of `org` among `ids`; unknown ids and other orgs' users are
    /// left out.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find_in_org(&self, org: OrgId, ids: &[UserId]) -> Result<Vec<User>, ChatError>;
}
