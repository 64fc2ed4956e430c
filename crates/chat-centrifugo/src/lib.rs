//! Centrifugo adapters.
//!
//! This crate will hold everything that speaks Centrifugo's protocols:
//! - a client for the server HTTP API (`publish`, `broadcast`, `X-API-Key`,
//!   telling retryable internal errors from final ones);
//! - the outbox relay that drains `chat_outbox` into that API with the same
//!   semantics as Centrifugo's own PostgreSQL consumer (partitions, one worker
//!   per partition across replicas, rows deleted once published);
//! - connection and subscription token minting (HS256, `sub`, `exp`,
//!   `channels` / `channel`);
//! - the direct publisher for ephemeral events (typing).
//!
//! Until then the outbox rows that `chat-postgres` writes already have the
//! exact shape Centrifugo's consumer reads, so an operator can point
//! Centrifugo at the table today.
