//! Typed identifiers. Every id is an int64 (contract C2); the wire renders them
//! as decimal strings, which is `chat-http`'s business, not ours.

use std::fmt;

macro_rules! int64_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw id. Any int64 is a well-formed id; whether it names
            /// something is for a repository to say.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw int64.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int64_id!(
    /// A user, as named by the `sub` claim of their token.
    UserId
);
int64_id!(
    /// An organisation, as named by the `org` claim. Users only meet users of
    /// their own org.
    OrgId
);
int64_id!(
    /// A conversation: direct, group or channel.
    ConversationId
);
int64_id!(
    /// A message, top-level or a thread reply.
    MessageId
);
int64_id!(
    /// An uploaded file.
    AttachmentId
);

/// The unique id of one realtime event; clients use it to drop duplicates and
/// Centrifugo uses it as the publish idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    /// Wraps an id made by an [`crate::ports::EventIds`] source.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
