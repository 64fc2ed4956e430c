//! Turning diesel's errors into the domain's. Nothing outside this crate sees
//! a `diesel::result::Error`.

use chat_domain::ChatError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// An error inside a transaction: the database's, or a domain refusal that
/// rolls the transaction back.
#[derive(Debug)]
pub(crate) enum StoreError {
    Db(DieselError),
    Chat(ChatError),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        Self::Db(error)
    }
}

impl From<ChatError> for StoreError {
    fn from(error: ChatError) -> Self {
        Self::Chat(error)
    }
}

/// PostgreSQL's (and the driver's) words for failures worth retrying.
const RETRYABLE: &[&str] = &[
    "canceling statement due to statement timeout",
    "terminating connection",
    "connection closed",
];

impl StoreError {
    /// The domain's view: lost connections are `Unavailable` (safe to retry),
    /// everything else unexpected.
    pub(crate) fn into_chat(self) -> ChatError {
        match self {
            Self::Chat(error) => error,
            Self::Db(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info)) => {
                ChatError::Unavailable(anyhow::anyhow!(
                    "database connection closed: {}",
                    info.message()
                ))
            }
            // `statement_timeout` fired, the server is shutting down, or the
            // connection dropped mid-request: the request may succeed when
            // tried again.
            Self::Db(DieselError::DatabaseError(_, info))
                if RETRYABLE
                    .iter()
                    .any(|prefix| info.message().starts_with(prefix)) =>
            {
                ChatError::Unavailable(anyhow::anyhow!("database: {}", info.message()))
            }
            Self::Db(DieselError::BrokenTransactionManager) => {
                ChatError::Unavailable(anyhow::anyhow!("database transaction broke"))
            }
            Self::Db(error) => ChatError::Unexpected(anyhow::Error::new(error)),
        }
    }

    /// Whether this is a unique violation of the named constraint.
    pub(crate) fn is_unique_violation(&self, constraint: &str) -> bool {
        matches!(
            self,
            Self::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some(constraint)
        )
    }
}

/// Shorthand for results inside the adapter.
pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// A database error of a single statement outside a transaction, as the
/// domain sees it.
pub(crate) fn db_error(error: DieselError) -> ChatError {
    StoreError::Db(error).into_chat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(message: &str) -> StoreError {
        StoreError::Db(DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn retryable_database_failures_are_unavailable() {
        for message in [
            "canceling statement due to statement timeout",
            "terminating connection due to administrator command",
            "connection closed",
        ] {
            assert!(
                matches!(
                    database_error(message).into_chat(),
                    ChatError::Unavailable(_)
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn other_database_failures_are_unexpected() {
        assert!(matches!(
            database_error("division by zero").into_chat(),
            ChatError::Unexpected(_)
        ));
    }
}
