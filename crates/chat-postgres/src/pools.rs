//! One connection pool per thread.
//!
//! actix-web runs each HTTP worker on its own single-threaded runtime, and a
//! pooled connection's driver task (the one reading and writing its socket)
//! lives on the runtime that opened the connection. A request on worker A
//! that borrows a connection opened by worker B wakes B's thread for every
//! round trip, and waits behind whatever B is busy with. Measured: 14 % of
//! the server's time in the kernel's task switching. With one pool per
//! thread, a request, its connection and the connection's driver stay on one
//! thread.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;

use chat_domain::ChatError;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};

use crate::{PgConfig, connection_manager};

/// The pools of the threads that used the store so far.
pub(crate) struct ThreadPools {
    config: PgConfig,
    /// By thread; one pool under `None` when the store is not split.
    pools: Mutex<HashMap<Option<ThreadId>, Pool<AsyncPgConnection>>>,
}

impl ThreadPools {
    pub(crate) fn new(config: PgConfig) -> Self {
        Self {
            config,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Each thread's share of `max_connections`.
    fn per_thread(&self) -> usize {
        self.config
            .max_connections
            .div_ceil(self.config.threads.max(1))
            .max(1)
    }

    /// A connection from this thread's pool (made on first use).
    pub(crate) async fn get(&self) -> Result<Object<AsyncPgConnection>, ChatError> {
        let pool = self.for_this_thread()?;
        pool.get()
            .await
            .map_err(|e| ChatError::Unavailable(anyhow::anyhow!("no database connection: {e}")))
    }

    fn for_this_thread(&self) -> Result<Pool<AsyncPgConnection>, ChatError> {
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| ChatError::Unexpected(anyhow::anyhow!("the pool map is poisoned")))?;
        let key = if self.config.threads > 1 {
            Some(std::thread::current().id())
        } else {
            None
        };
        if let Some(pool) = pools.get(&key) {
            return Ok(pool.clone());
        }
        let pool = Pool::builder(connection_manager(&self.config))
            .max_size(self.per_thread())
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(self.config.acquire_timeout))
            .create_timeout(Some(self.config.acquire_timeout))
            .recycle_timeout(Some(self.config.acquire_timeout))
            .build()
            .map_err(|e| ChatError::Unexpected(anyhow::anyhow!("building a pool: {e}")))?;
        pools.insert(key, pool.clone());
        Ok(pool)
    }

    /// Connections held, idle ones, and the maximum, over all threads.
    pub(crate) fn status(&self) -> (usize, usize, usize) {
        let Ok(pools) = self.pools.lock() else {
            return (0, 0, 0);
        };
        pools.values().map(Pool::status).fold((0, 0, 0), |acc, s| {
            (acc.0 + s.size, acc.1 + s.available, acc.2 + s.max_size)
        })
    }
}
