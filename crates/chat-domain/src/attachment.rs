//! Attachments: validated upload requests and the object keys they live at.

use crate::message::Attachment;
use crate::{AttachmentId, ChatError, ConversationId, Timestamp, UserId};

/// Characters of a filename, at most.
const FILENAME_CHARS: usize = 255;
/// Characters of a content type, at most.
const CONTENT_TYPE_CHARS: usize = 255;

/// A filename safe to display and to put in an object key: path separators,
/// control characters and leading dots go; what remains is trimmed.
///
/// # Errors
/// `validation_failed` on `filename` when nothing usable remains.
pub fn sanitize_filename(raw: &str) -> Result<String, ChatError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return Err(ChatError::validation("filename", "needs a name"));
    }
    Ok(cleaned.chars().take(FILENAME_CHARS).collect())
}

/// A MIME type as `type/subtype` (with optional parameters), lowercased.
///
/// # Errors
/// `validation_failed` on `contentType`.
pub fn check_content_type(raw: &str) -> Result<String, ChatError> {
    let invalid = || ChatError::validation("contentType", "must be a MIME type like image/png");
    let value = raw.trim();
    if value.is_empty() || value.len() > CONTENT_TYPE_CHARS {
        return Err(invalid());
    }
    let essence = value.split(';').next().unwrap_or("").trim();
    let (kind, subtype) = essence.split_once('/').ok_or_else(invalid)?;
    let token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    if !token(kind) || !token(subtype) || value.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(value.to_ascii_lowercase())
}

/// The object key of an upload: under its conversation, unique, ending in
/// the filename (so downloads get a sensible name).
pub fn object_key(conversation: ConversationId, unique: &str, filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("conversations/{conversation}/{unique}/{safe}")
}

/// An attachment to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub conversation_id: ConversationId,
    pub uploader_id: UserId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub object_key: String,
    /// Already stored (multipart sends) or still to upload (tickets).
    pub ready: bool,
    pub created_at: Timestamp,
}

/// A page of a conversation's attachments, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentQuery {
    pub conversation_id: ConversationId,
    /// The viewer's history floor: only attachments of messages past it.
    pub visible_after_seq: i64,
    pub after: Option<(Timestamp, AttachmentId)>,
    pub limit: usize,
}

/// A presigned upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTicket {
    pub attachment: Attachment,
    pub upload_url: String,
    /// Headers the upload must carry.
    pub headers: Vec<(String, String)>,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_controls() {
        let clean = |raw| sanitize_filename(raw).unwrap_or_default();
        assert_eq!(clean("../../etc/passwd"), "passwd");
        assert_eq!(clean("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(clean(" .hidden\u{0}name.txt "), "hiddenname.txt");
        assert_eq!(clean("what?.png"), "what_.png");
        assert!(sanitize_filename("../").is_err());
        assert_eq!(
            object_key(ConversationId::new(7), "u1", "a b.png"),
            "conversations/7/u1/a_b.png"
        );
    }

    #[test]
    fn content_types_are_mime_types() {
        assert_eq!(
            check_content_type("Image/PNG").ok().as_deref(),
            Some("image/png")
        );
        assert!(check_content_type("text/plain; charset=utf-8").is_ok());
        for bad in ["", "png", "image/", "/png", "image/png\nX-Evil: 1", "a b/c"] {
            assert!(check_content_type(bad).is_err(), "{bad:?}");
        }
    }
}
