//! Centrifugo adapters.
//!
//! - [`CentrifugoClient`]: Centrifugo's server HTTP API (`publish`), with the
//!   `X-API-Key` header and its `{"result"}` / `{"error"}` answers told apart.
//! - [`CentrifugoEphemeral`]: the ephemeral publisher port (typing) on it.
//! - [`spawn_relay`] with [`CentrifugoSink`]: the outbox relay, with the
//!   semantics of Centrifugo's own PostgreSQL consumer.
//! - [`CentrifugoTokens`]: connection and subscription tokens.

mod client;
mod relay;
mod tokens;

pub use client::{CentrifugoClient, CentrifugoConfig, CentrifugoEphemeral, PublishError};
pub use relay::{CentrifugoSink, RelayConfig, RelayWakeups, spawn_relay};
pub use tokens::CentrifugoTokens;
