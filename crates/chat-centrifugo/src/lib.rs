//! Centrifugo adapters.
//!
//! - [`CentrifugoClient`]: Centrifugo's server HTTP API (`publish`), with the
//!   `X-API-Key` header and its `{"result"}` / `{"error"}` answers told apart.
//! - [`CentrifugoEphemeral`]: the ephemeral publisher port (typing) on it.
//!
//! Still to come here (the realtime issue): `broadcast`, retries of internal
//! errors, connection and subscription token minting, and the outbox relay
//! with the semantics of Centrifugo's own PostgreSQL consumer. Until then the
//! outbox rows that `chat-postgres` writes already have the exact shape that
//! consumer reads, so an operator can point Centrifugo at the table.

mod client;

pub use client::{CentrifugoClient, CentrifugoConfig, CentrifugoEphemeral, PublishError};
