//! The ports: what the domain needs from the outside world. Adapters implement
//! them; [`crate::service::ChatService`] takes them as `Arc<dyn Port>`.
//!
//! A change that must be atomic is one method, taking the events it causes;
//! transactions never leak out of a store.

mod attachments;
mod conversations;
mod events;
mod members;
mod messages;
mod previews;
mod push;
mod reactions;
mod read_state;
mod realtime;
mod relay;
mod search;
mod users;
mod webhooks;

pub use attachments::*;
pub use conversations::*;
pub use events::*;
pub use members::*;
pub use messages::*;
pub use previews::*;
pub use push::*;
pub use reactions::*;
pub use read_state::*;
pub use realtime::*;
pub use relay::*;
pub use search::*;
pub use users::*;
pub use webhooks::*;

use async_trait::async_trait;

use crate::{ChatError, EventId, Timestamp};

/// Tells the time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in milliseconds.
    fn now(&self) -> Timestamp;
}

/// Makes unique event ids.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait EventIds: Send + Sync {
    /// A fresh, globally unique id.
    fn next_event_id(&self) -> EventId;
}

/// Whether the stores can serve requests (readiness).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Succeeds when the store answers.
    ///
    /// # Errors
    /// `Unavailable` when it does not.
    async fn ping(&self) -> Result<(), ChatError>;
}
