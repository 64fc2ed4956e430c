//! The contract's error envelope, and the one place domain errors become
//! HTTP statuses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use chat_domain::ChatError;
use serde::Serialize;
use std::fmt;

/// A refusal as the client sees it: `{ "error": { code, message, details? } }`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after_secs: Option<u64>,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
            allow: None,
        }
    }

    /// 401: missing, malformed, expired or wrongly signed token.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 422 naming the field at fault.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    /// 413: the body is over its limit.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 404 for a path that names no operation.
    pub fn no_such_operation() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such operation")
    }

    /// 405 for a known path asked with another method; `allow` lists the
    /// methods it takes. The contract's table has no code for this: see
    /// `docs/decisions/0008-adoption.md`.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this path takes {allow}"),
            )
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The field a `validation_failed` names.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        // Exhaustive on purpose: a new variant must be mapped here, not fall
        // into a 500.
        match error {
            ChatError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            ChatError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            ChatError::Validation { field, message } => Self::validation(field, message),
            ChatError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            ChatError::PayloadTooLarge(message) => Self::payload_too_large(message),
            ChatError::RateLimited { retry_after_secs } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many requests",
                )
            },
            ChatError::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "a dependency is unavailable; retry later",
                )
            }
            ChatError::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "unexpected error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details<'a>>,
}

#[derive(Serialize)]
struct Details<'a> {
    field: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        if let Some(allow) = self.allow {
            response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        response.json(Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                details: self.field.as_deref().map(|field| Details { field }),
            },
        })
    }
}

/// The error envelope as the API description shows it.
#[derive(utoipa::ToSchema)]
#[schema(as = Error)]
#[expect(
    dead_code,
    reason = "describes the wire shape for the OpenAPI document only"
)]
pub(crate) struct ErrorEnvelope {
    error: ErrorBody,
}

/// `{ code, message, details? }`.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the wire shape for the OpenAPI document only"
)]
pub(crate) struct ErrorBody {
    #[schema(value_type = crate::wire::names::ErrorCodeName)]
    code: String,
    message: String,
    details: Option<ErrorDetails>,
}

/// Which field a validation failure is about.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the wire shape for the OpenAPI document only"
)]
pub(crate) struct ErrorDetails {
    field: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::names::ERROR_CODES;

    /// Every refusal the API can answer is in the table the description is
    /// built from, with the status the contract gives its code.
    #[test]
    fn every_answered_code_is_described_with_its_status() {
        let answered = [
            ApiError::unauthenticated("x"),
            ApiError::validation("field", "x"),
            ApiError::payload_too_large("x"),
            ApiError::no_such_operation(),
            ApiError::method_not_allowed("POST"),
            ChatError::NotFound("conversation").into(),
            ChatError::Forbidden("x".to_owned()).into(),
            ChatError::Conflict("x".to_owned()).into(),
            ChatError::RateLimited {
                retry_after_secs: 1,
            }
            .into(),
            ChatError::Unavailable(anyhow::anyhow!("x")).into(),
            ChatError::Unexpected(anyhow::anyhow!("x")).into(),
        ];
        for error in answered {
            assert!(
                ERROR_CODES
                    .iter()
                    .any(|(code, status, _)| *code == error.code()
                        && *status == error.status.as_u16()),
                "{} ({}) is not in ERROR_CODES",
                error.code(),
                error.status
            );
        }
        // And nothing is described that is never answered.
        assert_eq!(ERROR_CODES.len(), 10);
    }
}
