//! Timeline pages (the top level or one thread) and their decorations, as
//! one filter over an encoded range.

use chat_domain::UserId;
use chat_domain::message::{MessageRange, MessageView};
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join;

use crate::error::{StoreError, StoreResult};
use crate::prepared::Prepare;
use crate::rows::{MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow};
use crate::views::{Decorations, MessageIds};

/// A timeline page (top level or one thread) as one `bigint[]` bound at
/// `$1`: the page query and the decoration queries of its messages share
/// the same filter text and the same bind, so they can be sent together.
struct PageQuery {
    /// conversation, after seq, before seq, has replies (-1 either, 0 no,
    /// 1 yes), limit, parent (0 for the top level).
    binds: [i64; 6],
    thread: bool,
    newest_first: bool,
}

/// The newest top-level page of 50 before `before_seq`, as list-messages
/// asks for it: the statement and its bind (for `testing::explain`).
#[cfg(feature = "testing")]
pub(crate) fn page_sql(conversation: i64, before_seq: i64) -> (String, Vec<i64>) {
    let page = PageQuery {
        binds: [conversation, i64::MIN, before_seq, -1, 51, 0],
        thread: false,
        newest_first: true,
    };
    (page.select(), page.binds.to_vec())
}

impl PageQuery {
    fn of(range: &MessageRange) -> Self {
        let after = range
            .after_seq
            .unwrap_or(i64::MIN)
            .max(range.visible_after_seq);
        let has_replies = match range.has_replies {
            None => -1,
            Some(false) => 0,
            Some(true) => 1,
        };
        Self {
            binds: [
                range.conversation_id.get(),
                after,
                range.before_seq.unwrap_or(i64::MAX),
                has_replies,
                i64::try_from(range.limit).unwrap_or(i64::MAX),
                range.parent_id.map_or(0, |p| p.get()),
            ],
            thread: range.parent_id.is_some(),
            newest_first: range.newest_first,
        }
    }

    /// The page's messages with their senders and quotes. The page is
    /// chosen first (a subquery with a limit is never merged into the outer
    /// query), so the per-row lookups of [`MESSAGE_JOINS`] run for its rows
    /// only, whatever plan PostgreSQL picks for the scan. (Reading each
    /// distinct sender once instead, through materialized CTEs, took 38
    /// buffer hits instead of 184 and no less time.)
    fn select(&self) -> String {
        let order = if self.newest_first { "DESC" } else { "ASC" };
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM (SELECT * FROM messages x WHERE {}) x {MESSAGE_JOINS} \
             ORDER BY x.seq {order}",
            self.filter()
        )
    }

    /// The WHERE clause, order and limit over `messages x`.
    fn filter(&self) -> String {
        // Two shapes, so each uses its partial index (top level or thread).
        let thread = if self.thread {
            "x.parent_id = $1[6]"
        } else {
            "x.parent_id IS NULL"
        };
        let order = if self.newest_first { "DESC" } else { "ASC" };
        format!(
            "x.conversation_id = $1[1] AND x.seq > $1[2] AND x.seq < $1[3] \
             AND ($1[4] = -1 OR (x.thread_reply_count > 0) = ($1[4] = 1)) AND {thread} \
             ORDER BY x.seq {order} LIMIT $1[5]"
        )
    }
}

/// A page and its decorations in one round trip: the decorations'
/// statement finds the page's messages with the same filter (once, for all
/// four kinds).
pub(crate) async fn load_range(
    conn: &AsyncPgConnection,
    range: &MessageRange,
    viewer: UserId,
) -> StoreResult<Vec<MessageView>> {
    let page = PageQuery::of(range);
    let filter = page.filter();
    let rows = diesel::sql_query(page.select())
        .bind::<Array<BigInt>, _>(&page.binds[..])
        .prepared()
        .load::<MessageRow>(&mut &*conn)
        .map_err(StoreError::from);
    let ids = format!("ARRAY(SELECT x.id FROM messages x WHERE {filter})");
    let decorations = Decorations::load(conn, MessageIds(&ids), &page.binds, Some(viewer));
    let (rows, decorations) = try_join(rows, decorations).await?;
    let mut views: Vec<MessageView> = rows.into_iter().map(MessageRow::into_view).collect();
    decorations.apply(&mut views);
    Ok(views)
}
