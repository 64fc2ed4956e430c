//! The zero-config object store: attachment bytes kept in memory and served
//! by this server under `/files/...`, with upload and download URLs signed
//! (a short-lived HS256 token naming the key and the method), like presigned
//! R2 URLs. For trying the service and for tests; R2 is for production.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::ports::{ByteSource, ObjectStore};
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Objects in memory, reachable through signed URLs of this server.
pub struct LocalObjectStore {
    objects: Mutex<HashMap<String, (String, Vec<u8>)>>,
    secret: Vec<u8>,
    base_url: OnceLock<String>,
    max_bytes: usize,
}

#[derive(Serialize, Deserialize)]
struct Grant {
    /// The object key.
    k: String,
    /// `PUT` or `GET`.
    m: String,
    exp: u64,
}

impl LocalObjectStore {
    /// An empty store signing with `secret`, taking uploads up to `max_bytes`.
    pub fn new(secret: &[u8], max_bytes: usize) -> Self {
        Self {
            objects: Mutex::new(HashMap::new()),
            secret: secret.to_vec(),
            base_url: OnceLock::new(),
            max_bytes,
        }
    }

    /// Sets the base URL of this server (known once it is bound).
    pub fn set_base_url(&self, base: &str) {
        let _ = self.base_url.set(base.trim_end_matches('/').to_owned());
    }

    fn signed_url(&self, key: &str, method: &str, expires_in_secs: u64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let grant = Grant {
            k: key.to_owned(),
            m: method.to_owned(),
            exp: now + expires_in_secs,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &grant,
            &EncodingKey::from_secret(&self.secret),
        )
        .unwrap_or_default();
        let base = self.base_url.get().map_or("", String::as_str);
        format!("{base}/files/{key}?token={token}")
    }

    fn allows(&self, token: &str, key: &str, method: &str) -> bool {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Grant>(token, &DecodingKey::from_secret(&self.secret), &validation)
            .is_ok_and(|data| data.claims.k == key && data.claims.m == method)
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Vec<u8>)>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        _size: i64,
        expires_in_secs: u64,
    ) -> Result<(String, Vec<(String, String)>), ChatError> {
        let url = self.signed_url(key, "PUT", expires_in_secs);
        Ok((
            url,
            vec![("Content-Type".to_owned(), content_type.to_owned())],
        ))
    }

    fn download_url(&self, key: &str, expires_in_secs: u64) -> String {
        self.signed_url(key, "GET", expires_in_secs)
    }

    async fn object_size(&self, key: &str) -> Result<Option<i64>, ChatError> {
        Ok(self
            .objects()
            .get(key)
            .map(|(_, bytes)| i64::try_from(bytes.len()).unwrap_or(i64::MAX)))
    }

    async fn put_object(
        &self,
        key: &str,
        content_type: &str,
        mut body: Box<dyn ByteSource>,
        max_size: i64,
    ) -> Result<i64, ChatError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next_chunk().await? {
            bytes.extend_from_slice(&chunk);
            if i64::try_from(bytes.len()).unwrap_or(i64::MAX) > max_size {
                return Err(ChatError::PayloadTooLarge(format!(
                    "a file holds at most {max_size} bytes"
                )));
            }
        }
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        self.objects()
            .insert(key.to_owned(), (content_type.to_owned(), bytes));
        Ok(size)
    }

    async fn delete_object(&self, key: &str) -> Result<(), ChatError> {
        self.objects().remove(key);
        Ok(())
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: String,
}

fn refused() -> ApiError {
    ApiError::from(ChatError::Forbidden(
        "the URL is invalid or expired".to_owned(),
    ))
}

/// `PUT /files/{key}?token=...`: an upload through a signed URL.
pub(crate) async fn put_file(
    store: web::Data<LocalObjectStore>,
    request: HttpRequest,
    key: web::Path<String>,
    query: web::Query<TokenQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !store.allows(&query.token, &key, "PUT") {
        return Err(refused());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::validation("body", "unreadable body"))?;
        if bytes.len() + chunk.len() > store.max_bytes {
            return Err(ApiError::payload_too_large("file over the size limit"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    store
        .objects()
        .insert(key.into_inner(), (content_type, bytes));
    Ok(HttpResponse::Ok().finish())
}

/// `GET /files/{key}?token=...`: a download through a signed URL.
pub(crate) async fn get_file(
    store: web::Data<LocalObjectStore>,
    key: web::Path<String>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    if !store.allows(&query.token, &key, "GET") {
        return Err(refused());
    }
    let found = store.objects().get(key.as_str()).cloned();
    match found {
        Some((content_type, bytes)) => {
            Ok(HttpResponse::Ok().content_type(content_type).body(bytes))
        }
        None => Err(ApiError::from(ChatError::NotFound("file"))),
    }
}
