//! The JSON body extractor: size limit (413), strict parsing with the failing
//! field named (422), unknown fields rejected by the DTOs themselves, a body
//! that is an object and no string holding a NUL.

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
    // serde's derived structs also read a JSON array, field by field in
    // declaration order; a body is an object, and only an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = match (named_field(&message), path.as_str()) {
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
    if has_escaped_nul(bytes) {
        return Err(refuse_nul(bytes));
    }
    Ok(value)
}

/// Whether the JSON text holds a `\u0000` escape. JSON has no other way to
/// carry a NUL (raw control characters are invalid in strings), and a
/// backslash only ever appears inside strings, so skipping each escape's
/// second character is enough to tell `\u0000` from `\\u0000`.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// NUL is refused in every string and key: PostgreSQL's `text` and `jsonb`
/// cannot store it, and every store must accept the same input. The error
/// names the first field that holds one.
fn refuse_nul(bytes: &[u8]) -> ApiError {
    let field = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| nul_path(&value, String::new()))
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| "body".to_owned());
    ApiError::validation(field, "must not contain the NUL character (U+0000)")
}

/// The wire path (`metadata.key`, `mentions[1]`) of the first string or key
/// holding a NUL.
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(child)
            } else {
                nul_path(item, child)
            }
        }),
        _ => None,
    }
}

/// serde names an unknown or missing field only in its message: "unknown
/// field `x`, ..." or "missing field `x`".
fn named_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next().map(ToOwned::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Required {
        #[allow(dead_code, reason = "only parsed")]
        conversation_id: String,
        #[allow(dead_code, reason = "only parsed")]
        filters: Option<Filters>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Filters {
        #[allow(dead_code, reason = "only parsed")]
        has_replies: bool,
    }

    #[test]
    fn a_missing_or_unknown_field_is_named() {
        let field = |body: &str| {
            parse_json::<Required>(body.as_bytes())
                .err()
                .and_then(|e| e.field().map(ToOwned::to_owned))
        };
        assert_eq!(field("{}").as_deref(), Some("conversationId"));
        assert_eq!(
            field(r#"{"conversationId": "1", "filters": {}}"#).as_deref(),
            Some("filters.hasReplies")
        );
        assert_eq!(
            field(r#"{"conversationId": "1", "other": 1}"#).as_deref(),
            Some("other")
        );
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        #[allow(dead_code, reason = "only parsed")]
        content: Option<String>,
        #[allow(dead_code, reason = "only parsed")]
        metadata: Option<serde_json::Value>,
    }

    /// The field a refusal names, or `None` when the body is accepted.
    fn refused_field(body: &str) -> Option<String> {
        match parse_json::<Sample>(body.as_bytes()) {
            Ok(_) => None,
            Err(error) => {
                assert_eq!(error.code(), "validation_failed", "{error}");
                Some(error.field().unwrap_or_default().to_owned())
            }
        }
    }

    #[test]
    fn a_nul_in_a_string_is_refused_naming_the_field() {
        assert_eq!(
            refused_field(r#"{"content": "a\u0000b"}"#).as_deref(),
            Some("content")
        );
    }

    #[test]
    fn a_nul_deep_in_metadata_is_refused_naming_its_path() {
        assert_eq!(
            refused_field(r#"{"metadata": {"a": [1, {"\u0000k": true}]}}"#).as_deref(),
            Some("metadata.a[1].\u{0}k")
        );
    }

    #[test]
    fn a_body_is_an_object_and_nothing_else() {
        assert_eq!(refused_field(r#"["hi", null]"#).as_deref(), Some("body"));
        assert_eq!(refused_field(" null").as_deref(), Some("body"));
        assert_eq!(refused_field(" \n{}").as_deref(), None);
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_plain_text() {
        assert_eq!(refused_field(r#"{"content": "C:\\u0000"}"#), None);
        assert_eq!(refused_field(r#"{"content": "tab\there"}"#), None);
    }
}
