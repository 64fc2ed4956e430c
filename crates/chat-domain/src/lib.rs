//! The chat domain: conversations, members, messages, read cursors and the
//! realtime events they cause, behind repository and publisher ports.
//!
//! This crate does no IO and knows no framework. Adapters (`chat-postgres`,
//! `chat-memory`, `chat-http`, `chat-centrifugo`, `chat-r2`) implement or call
//! the ports in [`ports`]; [`service::ChatService`] holds the use cases.

pub mod attachment;
pub mod catch_up;
pub mod conversation;
pub mod error;
pub mod events;
pub mod ids;
pub mod limits;
pub mod links;
pub mod message;
pub mod ports;
pub mod push;
pub mod rules;
pub mod search;
pub mod service;
pub mod throttle;
pub mod time;
pub mod user;

pub use error::ChatError;
pub use ids::{AttachmentId, ConversationId, EventId, MessageId, OrgId, UserId};
pub use time::Timestamp;
