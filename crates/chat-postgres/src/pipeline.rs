//! Transactions in few round trips: BEGIN travels with the first statements
//! and COMMIT with the last one.
//!
//! diesel-async puts a connection's statements on the wire in the order
//! their futures first run: each takes the connection's statement-cache lock
//! (a fair, first-come queue) and sends its query in the same poll in which
//! it releases the lock. Futures joined with `try_join` run in argument
//! order, so they reach PostgreSQL in that order without waiting for each
//! other's answers (pipelining), and PostgreSQL executes them one after the
//! other. A statement can therefore use what an earlier one of the same
//! batch wrote (a row just inserted or updated, found again by its key), but
//! not read its result in Rust.
//!
//! Every statement here, BEGIN and COMMIT included, goes through that same
//! queue (`prepared()`), so the order never depends on which kind of call
//! was used.

use diesel::connection::TransactionDepthChange;
use diesel_async::{
    AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
    TransactionManager,
};
use futures_util::future::try_join;

use crate::error::{StoreError, StoreResult};
use crate::prepared::Prepare;

/// A transaction on one connection, for [`pipelined`].
pub(crate) struct Pipeline<'c> {
    conn: &'c AsyncPgConnection,
}

impl Pipeline<'_> {
    /// The connection, to build statement futures on.
    pub(crate) fn conn(&self) -> &AsyncPgConnection {
        self.conn
    }

    /// Sends BEGIN, then runs `first` in the same round trip.
    pub(crate) async fn begin_with<T>(
        &self,
        first: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let begin = async {
            diesel::sql_query("BEGIN")
                .prepared()
                .execute(&mut &*self.conn)
                .await
                .map_err(StoreError::from)
        };
        let (_, value) = try_join(begin, first).await?;
        Ok(value)
    }

    /// Runs `last` (one statement) and COMMIT in the same round trip. When
    /// `last` fails, PostgreSQL answers the COMMIT of the failed transaction
    /// with a rollback, so nothing of it is kept.
    pub(crate) async fn commit_with<T>(
        &self,
        last: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let commit = async {
            diesel::sql_query("COMMIT")
                .prepared()
                .execute(&mut &*self.conn)
                .await
                .map_err(StoreError::from)
        };
        let (value, _) = try_join(last, commit).await?;
        Ok(value)
    }
}

/// Runs `work` as one transaction: it must start with
/// [`Pipeline::begin_with`] and end with [`Pipeline::commit_with`]. On an
/// error the transaction is rolled back.
///
/// diesel's transaction state says "in a transaction" from start to end, so
/// a connection whose request was dropped halfway is discarded by the pool
/// instead of being handed out inside an open transaction.
pub(crate) async fn pipelined<T>(
    conn: &mut AsyncPgConnection,
    work: impl AsyncFnOnce(&Pipeline<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    change_depth(conn, TransactionDepthChange::IncreaseDepth)?;
    let outcome = work(&Pipeline { conn: &*conn }).await;
    if outcome.is_err() {
        // After a COMMIT that already rolled back, this only warns.
        conn.batch_execute("ROLLBACK").await?;
    }
    change_depth(conn, TransactionDepthChange::DecreaseDepth)?;
    outcome
}

fn change_depth(conn: &mut AsyncPgConnection, change: TransactionDepthChange) -> StoreResult<()> {
    let status =
        <AnsiTransactionManager as TransactionManager<_>>::transaction_manager_status_mut(conn);
    status
        .transaction_state()?
        .change_transaction_depth(change)?;
    Ok(())
}
