//! Outbound webhooks to the operator's endpoints (contract: "Webhooks and
//! push"): the Standard Webhooks signature ([`signing`]), the endpoints and
//! their address rules ([`endpoints`]), the retry schedule ([`retry`]) and
//! the deliverers ([`deliver`]), one per endpoint, reading the webhook queue
//! the stores fill in the change's transaction and expanding push requests
//! into batches of recipients (whose bodies `chat-http` renders: the
//! domain's `PushRenderer`).

pub mod deliver;
pub mod endpoints;
pub mod retry;
pub mod signing;

pub use deliver::{DelivererWakeups, DeliverySettings, spawn_deliverers};
pub use endpoints::{Endpoint, EventFilter};
pub use retry::RetryPolicy;
