//! send-message as `multipart/form-data`: the JSON `payload` part first,
//! then up to ten `file` parts, each streamed to the object store while it
//! arrives (never held whole in memory).

use actix_web::{HttpRequest, web};
use chat_domain::ports::ByteSource;
use chat_domain::user::Caller;
use chat_domain::{AttachmentId, ConversationId};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::body::{BodyLimit, parse_json};
use crate::error::ApiError;

/// Files per multipart send, at most.
const MAX_FILES: usize = 10;

/// Reads a multipart send: the `payload` JSON (a `B`), then each `file`
/// part streamed to the object store as it arrives, as an upload to the
/// payload's conversation.
pub(crate) async fn read_multipart_send<B: DeserializeOwned>(
    state: &AppState,
    caller: Caller,
    request: &HttpRequest,
    payload: web::Payload,
    conversation_of: impl Fn(&B) -> ConversationId,
) -> Result<(B, Vec<AttachmentId>), ApiError> {
    let limit = request
        .app_data::<web::Data<BodyLimit>>()
        .map_or(64 * 1024, |l| l.0);
    let mut parts = actix_multipart::Multipart::new(request.headers(), payload);
    let mut body: Option<B> = None;
    let mut uploaded = Vec::new();
    while let Some(part) = parts.next().await {
        let mut part =
            part.map_err(|e| ApiError::validation("body", format!("bad multipart body: {e}")))?;
        let name = part.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "payload" => {
                let mut json = Vec::new();
                while let Some(chunk) = part.next().await {
                    let chunk =
                        chunk.map_err(|e| ApiError::validation("payload", e.to_string()))?;
                    if json.len() + chunk.len() > limit {
                        return Err(ApiError::payload_too_large(format!(
                            "payload over {limit} bytes"
                        )));
                    }
                    json.extend_from_slice(&chunk);
                }
                body = Some(parse_json(&json)?);
            }
            "file" => {
                let conversation = body.as_ref().map(&conversation_of).ok_or_else(|| {
                    ApiError::validation("payload", "the payload part comes before the files")
                })?;
                if uploaded.len() == MAX_FILES {
                    return Err(ApiError::validation(
                        "file",
                        format!("at most {MAX_FILES} files"),
                    ));
                }
                let filename = part
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .unwrap_or("file")
                    .to_owned();
                let content_type = part.content_type().map_or_else(
                    || "application/octet-stream".to_owned(),
                    ToString::to_string,
                );
                // The part is read here and handed over through a small
                // bounded channel: the store pulls as fast as it writes, and
                // no more than a few chunks are ever held.
                let (sender, receiver) = tokio::sync::mpsc::channel(4);
                let upload = state.chat.upload_file(
                    caller,
                    conversation,
                    &filename,
                    &content_type,
                    Box::new(ChannelSource(receiver)),
                );
                let feed = async move {
                    while let Some(chunk) = part.next().await {
                        let chunk = chunk
                            .map(|bytes| bytes.to_vec())
                            .map_err(|e| chat_domain::ChatError::validation("file", e.to_string()));
                        let failed = chunk.is_err();
                        if sender.send(chunk).await.is_err() || failed {
                            break;
                        }
                    }
                };
                let (attachment, ()) = tokio::join!(upload, feed);
                uploaded.push(attachment?.id);
            }
            other => {
                return Err(ApiError::validation(
                    other,
                    "unknown part: expected payload or file",
                ));
            }
        }
    }
    let body = body.ok_or_else(|| ApiError::validation("payload", "required"))?;
    Ok((body, uploaded))
}

/// File bytes arriving through a channel.
struct ChannelSource(tokio::sync::mpsc::Receiver<Result<Vec<u8>, chat_domain::ChatError>>);

#[async_trait::async_trait]
impl ByteSource for ChannelSource {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, chat_domain::ChatError> {
        self.0.recv().await.transpose()
    }
}
