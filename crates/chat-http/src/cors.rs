//! Cross-origin calls from browsers: which origins may call the API, and
//! the preflight answer they get.
//!
//! Tokens travel in the `Authorization` header, never in cookies, so the API
//! never allows credentials: a page needs no cookie to call it, and `*` is
//! safe to offer for a public deployment.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// Which origins may call the API from a browser (`CHAT_CORS_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// No cross-origin calls (the default): no CORS headers are sent, so
    /// browsers refuse pages from other origins.
    #[default]
    None,
    /// Any origin (`*`).
    Any,
    /// These exact origins (`https://app.example.com`).
    List(Vec<String>),
}

impl CorsOrigins {
    /// Parses `CHAT_CORS_ORIGINS`: empty, `*`, or origins separated by commas.
    ///
    /// # Errors
    /// An entry that is not `scheme://host[:port]`, or `*` mixed with origins.
    pub fn parse(text: &str) -> Result<Self, String> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        match entries.as_slice() {
            [] => Ok(Self::None),
            ["*"] => Ok(Self::Any),
            _ => entries
                .iter()
                .map(|origin| {
                    let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                        && !origin.trim_end_matches('/').contains(['*', ' '])
                        && origin.split("://").nth(1).is_some_and(|rest| {
                            !rest.is_empty() && !rest.trim_end_matches('/').contains('/')
                        });
                    if valid {
                        Ok(origin.trim_end_matches('/').to_owned())
                    } else {
                        Err(format!(
                            "CORS origin {origin:?} is not scheme://host[:port] (or use * alone)"
                        ))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Self::List),
        }
    }
}

/// The CORS layer for `origins`; `None` when no origin is allowed, so the
/// service adds no layer at all.
pub fn cors(origins: &CorsOrigins) -> Option<Cors> {
    let base = Cors::default()
        .allowed_methods([Method::POST, Method::GET])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-request-id"),
        ])
        // A browser reads only the headers it is told it may: the request id
        // for support tickets, Retry-After to back off on 429.
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .max_age(3600)
        // A request whose origin is not allowed still reaches the handler
        // (same-origin pages such as /docs send Origin too); it just gets no
        // CORS headers, so a browser on another origin cannot read it.
        .block_on_origin_mismatch(false);
    match origins {
        CorsOrigins::None => None,
        CorsOrigins::Any => Some(base.allow_any_origin().send_wildcard()),
        CorsOrigins::List(list) => Some(
            list.iter()
                .fold(base, |cors, origin| cors.allowed_origin(origin)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::CorsOrigins;

    #[test]
    fn origins_parse_from_the_setting() {
        assert_eq!(CorsOrigins::parse(""), Ok(CorsOrigins::None));
        assert_eq!(CorsOrigins::parse(" * "), Ok(CorsOrigins::Any));
        assert_eq!(
            CorsOrigins::parse("https://app.example.com, http://localhost:3000/"),
            Ok(CorsOrigins::List(vec![
                "https://app.example.com".to_owned(),
                "http://localhost:3000".to_owned()
            ]))
        );
        assert!(CorsOrigins::parse("*,https://a.example").is_err());
        assert!(CorsOrigins::parse("app.example.com").is_err());
        assert!(CorsOrigins::parse("https://*.example.com").is_err());
        assert!(CorsOrigins::parse("https://a.example/path").is_err());
    }
}
