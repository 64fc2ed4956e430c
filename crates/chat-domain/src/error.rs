//! The one error type of the domain.
//!
//! Every use case refuses in the contract's vocabulary (not found, forbidden,
//! validation, conflict, ...), so one enum serves them all and `chat-http` maps
//! it with an exhaustive `match`. See `docs/ARCHITECTURE.md` for why this is not
//! one enum per use case.

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Unknown, or not readable by the caller: the two are never told apart.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller can read the resource but lacks the role or right.
    #[error("{0}")]
    Forbidden(String),
    /// A request value breaks a per-request rule; `field` names it.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The resource's state or capacity forbids the operation.
    #[error("{0}")]
    Conflict(String),
    /// A file or body over its limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests; try again after this many seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency (the database) is down; safe to retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or a broken invariant no caller can act on.
    #[error("unexpected error")]
    Unexpected(#[source] anyhow::Error),
}

impl ChatError {
    /// A validation failure on `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A conflict with the resource's state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// A refusal for lack of role or right.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }
}
