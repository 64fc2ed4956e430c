//! The cases, by topic. Each takes a fresh harness and asserts what a
//! caller of the service sees; `conformance_suite!` (lib.rs) runs each on
//! every store, and a test there checks that it names every case here.

mod helpers;
use helpers::*;
pub use helpers::{group_of, text};

mod attachments;
mod catch_up;
mod conversations;
mod membership;
mod message_changes;
mod messages;
mod previews;
mod push;
mod read_state;
mod search;

pub use attachments::*;
pub use catch_up::*;
pub use conversations::*;
pub use membership::*;
pub use message_changes::*;
pub use messages::*;
pub use previews::*;
pub use push::*;
pub use read_state::*;
pub use search::*;
