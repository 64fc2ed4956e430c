//! Users, as the directory knows them from their tokens' claims.

use crate::{OrgId, UserId};

/// A user of one org. Created or refreshed from token claims on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub name: Option<String>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
}

/// Who is calling: the authenticated user and their org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub org_id: OrgId,
}
