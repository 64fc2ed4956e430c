//! The object store on R2 / any S3-compatible server.

use std::time::Duration;

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::ports::{ByteSource, ObjectStore};
use rusoto_core::credential::{AwsCredentials, StaticProvider};
use rusoto_core::{HttpClient, Region, RusotoError};
use rusoto_s3::util::{PreSignedRequest, PreSignedRequestOption};
use rusoto_s3::{
    AbortMultipartUploadRequest, CompleteMultipartUploadRequest, CompletedMultipartUpload,
    CompletedPart, CreateMultipartUploadRequest, DeleteObjectRequest, GetObjectRequest,
    HeadObjectRequest, PutObjectRequest, S3, S3Client, UploadPartRequest,
};

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone)]
pub struct R2Config {
    /// `https://<account>.r2.cloudflarestorage.com` (or any S3 endpoint).
    pub endpoint: String,
    /// `auto` for R2.
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// A public (custom domain) base URL for downloads; presigned GETs
    /// otherwise.
    pub public_base_url: Option<String>,
}

/// Bytes per uploaded part: S3's minimum for all but the last.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// The `ObjectStore` port on R2.
pub struct R2ObjectStore {
    client: S3Client,
    region: Region,
    credentials: AwsCredentials,
    bucket: String,
    public_base_url: Option<String>,
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> ChatError {
    ChatError::Unavailable(anyhow::anyhow!("object store {what}: {error}"))
}

impl R2ObjectStore {
    /// A store for one bucket.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(config: R2Config) -> anyhow::Result<Self> {
        let region = Region::Custom {
            name: config.region.clone(),
            endpoint: config.endpoint.trim_end_matches('/').to_owned(),
        };
        let provider = StaticProvider::new_minimal(
            config.access_key_id.clone(),
            config.secret_access_key.clone(),
        );
        // rusoto's own client is https-only; R2 is https, but an S3 server
        // inside a private network (or a test's loopback) may be plain http.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let client = S3Client::new_with(
            HttpClient::from_connector(connector),
            provider,
            region.clone(),
        );
        Ok(Self {
            client,
            region,
            credentials: AwsCredentials::new(
                config.access_key_id,
                config.secret_access_key,
                None,
                None,
            ),
            bucket: config.bucket,
            public_base_url: config
                .public_base_url
                .map(|u| u.trim_end_matches('/').to_owned()),
        })
    }

    async fn put_whole(
        &self,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), ChatError> {
        let request = PutObjectRequest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            content_type: Some(content_type.to_owned()),
            content_length: i64::try_from(body.len()).ok(),
            body: Some(body.into()),
            ..PutObjectRequest::default()
        };
        self.client
            .put_object(request)
            .await
            .map_err(|e| unavailable("put", e))?;
        Ok(())
    }

    async fn put_in_parts(
        &self,
        key: &str,
        content_type: &str,
        first: Vec<u8>,
        body: &mut Box<dyn ByteSource>,
        max_size: i64,
    ) -> Result<i64, ChatError> {
        let created = self
            .client
            .create_multipart_upload(CreateMultipartUploadRequest {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                content_type: Some(content_type.to_owned()),
                ..CreateMultipartUploadRequest::default()
            })
            .await
            .map_err(|e| unavailable("multipart start", e))?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| unavailable("multipart start", "no upload id"))?;
        let uploaded = self
            .upload_parts(key, &upload_id, first, body, max_size)
            .await;
        match uploaded {
            Ok((parts, size)) => {
                self.client
                    .complete_multipart_upload(CompleteMultipartUploadRequest {
                        bucket: self.bucket.clone(),
                        key: key.to_owned(),
                        upload_id,
                        multipart_upload: Some(CompletedMultipartUpload { parts: Some(parts) }),
                        ..CompleteMultipartUploadRequest::default()
                    })
                    .await
                    .map_err(|e| unavailable("multipart complete", e))?;
                Ok(size)
            }
            Err(error) => {
                let abort = AbortMultipartUploadRequest {
                    bucket: self.bucket.clone(),
                    key: key.to_owned(),
                    upload_id,
                    ..AbortMultipartUploadRequest::default()
                };
                if let Err(e) = self.client.abort_multipart_upload(abort).await {
                    tracing::warn!(%key, error = %e, "aborting a failed multipart upload failed");
                }
                Err(error)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        mut buffer: Vec<u8>,
        body: &mut Box<dyn ByteSource>,
        max_size: i64,
    ) -> Result<(Vec<CompletedPart>, i64), ChatError> {
        let mut parts = Vec::new();
        let mut size: i64 = 0;
        let mut done = false;
        while !done {
            while buffer.len() < PART_BYTES {
                match body.next_chunk().await? {
                    Some(chunk) => buffer.extend_from_slice(&chunk),
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            if buffer.is_empty() {
                break;
            }
            let part: Vec<u8> = if buffer.len() > PART_BYTES && !done {
                let rest = buffer.split_off(PART_BYTES);
                std::mem::replace(&mut buffer, rest)
            } else {
                std::mem::take(&mut buffer)
            };
            size += i64::try_from(part.len()).unwrap_or(i64::MAX);
            if size > max_size {
                return Err(too_large(max_size));
            }
            let number = i64::try_from(parts.len() + 1).unwrap_or(i64::MAX);
            let uploaded = self
                .client
                .upload_part(UploadPartRequest {
                    bucket: self.bucket.clone(),
                    key: key.to_owned(),
                    upload_id: upload_id.to_owned(),
                    part_number: number,
                    content_length: i64::try_from(part.len()).ok(),
                    body: Some(part.into()),
                    ..UploadPartRequest::default()
                })
                .await
                .map_err(|e| unavailable("upload part", e))?;
            parts.push(CompletedPart {
                e_tag: uploaded.e_tag,
                part_number: Some(number),
            });
        }
        Ok((parts, size))
    }
}

fn too_large(max_size: i64) -> ChatError {
    ChatError::PayloadTooLarge(format!("a file holds at most {max_size} bytes"))
}

#[async_trait]
impl ObjectStore for R2ObjectStore {
    fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        _size: i64,
        expires_in_secs: u64,
    ) -> Result<(String, Vec<(String, String)>), ChatError> {
        let request = PutObjectRequest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            content_type: Some(content_type.to_owned()),
            ..PutObjectRequest::default()
        };
        let option = PreSignedRequestOption {
            expires_in: Duration::from_secs(expires_in_secs),
        };
        let url = request.get_presigned_url(&self.region, &self.credentials, &option);
        Ok((
            url,
            vec![("Content-Type".to_owned(), content_type.to_owned())],
        ))
    }

    fn download_url(&self, key: &str, expires_in_secs: u64) -> String {
        if let Some(base) = &self.public_base_url {
            return format!("{base}/{key}");
        }
        let request = GetObjectRequest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            ..GetObjectRequest::default()
        };
        let option = PreSignedRequestOption {
            expires_in: Duration::from_secs(expires_in_secs),
        };
        request.get_presigned_url(&self.region, &self.credentials, &option)
    }

    async fn object_size(&self, key: &str) -> Result<Option<i64>, ChatError> {
        let request = HeadObjectRequest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            ..HeadObjectRequest::default()
        };
        match self.client.head_object(request).await {
            Ok(head) => Ok(Some(head.content_length.unwrap_or(0))),
            Err(RusotoError::Service(_)) => Ok(None),
            Err(RusotoError::Unknown(response)) if response.status.as_u16() == 404 => Ok(None),
            Err(error) => Err(unavailable("head", error)),
        }
    }

    async fn put_object(
        &self,
        key: &str,
        content_type: &str,
        mut body: Box<dyn ByteSource>,
        max_size: i64,
    ) -> Result<i64, ChatError> {
        // Small files go in one request; larger ones in parts, so at most one
        // part is ever held in memory.
        let mut buffer: Vec<u8> = Vec::new();
        while buffer.len() <= PART_BYTES {
            match body.next_chunk().await? {
                Some(chunk) => {
                    buffer.extend_from_slice(&chunk);
                    if i64::try_from(buffer.len()).unwrap_or(i64::MAX) > max_size {
                        return Err(too_large(max_size));
                    }
                }
                None => {
                    let size = i64::try_from(buffer.len()).unwrap_or(i64::MAX);
                    self.put_whole(key, content_type, buffer).await?;
                    return Ok(size);
                }
            }
        }
        self.put_in_parts(key, content_type, buffer, &mut body, max_size)
            .await
    }

    async fn delete_object(&self, key: &str) -> Result<(), ChatError> {
        let request = DeleteObjectRequest {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            ..DeleteObjectRequest::default()
        };
        self.client
            .delete_object(request)
            .await
            .map_err(|e| unavailable("delete", e))?;
        Ok(())
    }
}
