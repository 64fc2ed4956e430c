//! Member shapes.

use chat_domain::conversation::Member;
use serde::Serialize;

use super::{UserSummaryDto, WireTime};

/// A member as lists and member operations return it: `{ user, role, joinedAt }`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberDto {
    user: UserSummaryDto,
    #[schema(value_type = crate::wire::names::RoleName)]
    role: &'static str,
    joined_at: WireTime,
}

impl From<&Member> for MemberDto {
    fn from(member: &Member) -> Self {
        Self {
            user: UserSummaryDto::from(&member.user),
            role: member.role.as_str(),
            joined_at: WireTime(member.joined_at),
        }
    }
}

/// A member as `member.*` events carry it: `{ user, role }`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct MemberEventDto {
    user: UserSummaryDto,
    #[schema(value_type = crate::wire::names::RoleName)]
    role: &'static str,
}

impl From<&Member> for MemberEventDto {
    fn from(member: &Member) -> Self {
        Self {
            user: UserSummaryDto::from(&member.user),
            role: member.role.as_str(),
        }
    }
}
