//! Statements PostgreSQL prepares once per connection.
//!
//! diesel marks every `sql_query` "unsafe to cache", so diesel-async prepares
//! it anew on each call: a Parse/Describe round trip before every execution,
//! which doubles the round trips of every request and breaks pipelining (each
//! statement waits for its own Parse). Our SQL texts are a fixed set: values
//! always travel as binds, and the only text ever formatted in is one of our
//! constants. So caching by text is safe and the cache stays small. Every
//! query of this crate ends its bind chain with `.prepared()` before running.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;

/// A query whose prepared statement is kept by the connection, keyed by its
/// SQL text and bind types.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<Q>(Q);

/// `.prepared()` on any query built with `diesel::sql_query`.
pub(crate) trait Prepare: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> Prepare for Q {}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // No static id: the cache keys the statement by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
