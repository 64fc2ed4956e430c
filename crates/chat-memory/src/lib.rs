//! In-memory adapters for every repository port.
//!
//! [`InMemoryStore`] is the zero-config default of `chat-server` and a fast
//! store for tests. It keeps the Postgres adapter's semantics exactly (the
//! conformance suite in `chat-conformance` runs the same cases on both), but
//! forgets everything when the process ends.

mod store;

pub use store::InMemoryStore;
