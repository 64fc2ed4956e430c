//! Opaque list cursors. Clients must not parse them; the encoding may change.

use chat_domain::conversation::ConversationCursor;
use chat_domain::{ConversationId, Timestamp};

use crate::error::ApiError;

/// Encodes a list-conversations position as an opaque token.
pub fn encode_cursor(cursor: ConversationCursor) -> String {
    let plain = format!("c1:{}:{}", cursor.activity_at.unix_millis(), cursor.id);
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Decodes a token made by [`encode_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_cursor(token: &str) -> Result<ConversationCursor, ApiError> {
    let invalid = || ApiError::validation("cursor", "not a cursor this service issued");
    if !token.len().is_multiple_of(2) || token.len() > 128 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let plain = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = plain.split(':');
    let (Some("c1"), Some(millis), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let activity_at = millis
        .parse()
        .ok()
        .and_then(Timestamp::from_unix_millis)
        .ok_or_else(invalid)?;
    let id = id.parse().map(ConversationId::new).map_err(|_| invalid())?;
    Ok(ConversationCursor { activity_at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let cursor = ConversationCursor {
            activity_at: Timestamp::from_unix_millis(1_700_000_000_123)
                .unwrap_or_else(|| unreachable!()),
            id: ConversationId::new(42),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)).ok(), Some(cursor));
        for bad in ["", "zz", "abc", "6331", &"00".repeat(100)] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
