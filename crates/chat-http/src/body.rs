//! The JSON body extractor: size limit (413), strict parsing with the failing
//! field named (422), unknown fields rejected by the DTOs themselves.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest JSON body accepted, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A request body parsed from JSON, whatever its declared content type (so
/// `curl -d` works). An empty body counts as `{}`.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<BodyLimit>>()
            .map_or(64 * 1024, |l| l.0);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|len| len > limit) {
                return Err(ApiError::payload_too_large(format!(
                    "body over {limit} bytes"
                )));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::validation("body", "unreadable body"))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large(format!(
                        "body over {limit} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(if body.is_empty() { b"{}" } else { &body }).map(JsonBody)
        })
    }
}

/// Parses `bytes`, naming the failing field (`memberIds[2]`, `filters.hasReplies`).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = match (unknown_field(&message), path.as_str()) {
            (Some(name), ".") => name,
            (Some(name), parent) if !parent.ends_with(&name) => format!("{parent}.{name}"),
            (_, "." | "?") => "body".to_owned(),
            _ => path,
        };
        ApiError::validation(field, message)
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::validation("body", e.to_string()))?;
    Ok(value)
}

/// serde names an unknown field only in its message: "unknown field `x`, ...".
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(ToOwned::to_owned)
}
