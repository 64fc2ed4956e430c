//! The `page` of cursor lists (C4): `{ nextCursor, hasMore }`, plus `total`
//! where the contract says so.

use serde::Serialize;

/// `{ nextCursor, hasMore }`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CursorPage {
    #[schema(required = true)]
    next_cursor: Option<String>,
    has_more: bool,
}

impl CursorPage {
    /// The page for the next page's cursor, if any.
    pub fn new(next_cursor: Option<String>) -> Self {
        Self {
            has_more: next_cursor.is_some(),
            next_cursor,
        }
    }
}

/// `{ nextCursor, hasMore, total }`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotalPage {
    #[schema(required = true)]
    next_cursor: Option<String>,
    has_more: bool,
    total: i64,
}

impl TotalPage {
    /// The page for the next page's cursor, if any, and the list's total.
    pub fn new(next_cursor: Option<String>, total: i64) -> Self {
        Self {
            has_more: next_cursor.is_some(),
            next_cursor,
            total,
        }
    }
}
