//! Users, as tokens describe them.

use async_trait::async_trait;

use crate::user::User;
use crate::{ChatError, OrgId, Timestamp, UserId};

/// The user directory, fed from token claims.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Creates or refreshes the user. A user seen for the first time joins
    /// every org-wide channel of their org.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn provision(&self, user: User, now: Timestamp) -> Result<(), ChatError>;

    /// The users of `org` among `ids`; unknown ids and other orgs' users are
    /// left out.
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    async fn find_in_org(&self, org: OrgId, ids: &[UserId]) -> Result<Vec<User>, ChatError>;
}
