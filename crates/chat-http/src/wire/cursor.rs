//! Opaque list cursors. Clients must not parse them; the encoding may change.

use chat_domain::catch_up::SyncPosition;
use chat_domain::conversation::{ConversationCursor, MemberCursor};
use chat_domain::search::{SearchOrder, SearchPosition};
use chat_domain::{AttachmentId, ConversationId, MessageId, Timestamp, UserId};

use crate::error::ApiError;

/// Encodes a list-conversations position as an opaque token.
pub fn encode_cursor(cursor: ConversationCursor) -> String {
    encode("c1", cursor.activity_at, cursor.id.get())
}

/// Decodes a token made by [`encode_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_cursor(token: &str) -> Result<ConversationCursor, ApiError> {
    let (activity_at, id) = decode("c1", token)?;
    Ok(ConversationCursor {
        activity_at,
        id: ConversationId::new(id),
    })
}

/// Encodes a member-list position as an opaque token.
pub fn encode_member_cursor(cursor: MemberCursor) -> String {
    encode("m1", cursor.joined_at, cursor.user_id.get())
}

/// Decodes a token made by [`encode_member_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_member_cursor(token: &str) -> Result<MemberCursor, ApiError> {
    let (joined_at, id) = decode("m1", token)?;
    Ok(MemberCursor {
        joined_at,
        user_id: UserId::new(id),
    })
}

/// Encodes a list-reactions position (reaction instant, user).
pub fn encode_reaction_cursor((at, user): (Timestamp, UserId)) -> String {
    encode("r1", at, user.get())
}

/// Decodes a token made by [`encode_reaction_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_reaction_cursor(token: &str) -> Result<(Timestamp, UserId), ApiError> {
    decode("r1", token).map(|(at, id)| (at, UserId::new(id)))
}

/// Encodes a list-pins position (pin instant, message).
pub fn encode_pin_cursor((at, message): (Timestamp, MessageId)) -> String {
    encode("p1", at, message.get())
}

/// Decodes a token made by [`encode_pin_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_pin_cursor(token: &str) -> Result<(Timestamp, MessageId), ApiError> {
    decode("p1", token).map(|(at, id)| (at, MessageId::new(id)))
}

/// Encodes a search position (relevance in relevance order, send instant,
/// message).
pub fn encode_search_cursor(position: SearchPosition, order: SearchOrder) -> String {
    let tag = match order {
        SearchOrder::Newest => "s1".to_owned(),
        SearchOrder::Relevance => format!("r{}", position.relevance),
    };
    encode(&tag, position.created_at, position.id.get())
}

/// Decodes a token made by [`encode_search_cursor`] for the same order.
///
/// # Errors
/// `validation_failed` on `cursor` for anything else, a cursor of the other
/// order included.
pub fn decode_search_cursor(token: &str, order: SearchOrder) -> Result<SearchPosition, ApiError> {
    let (tag, created_at, id) = decode_tagged(token)?;
    let relevance = match order {
        SearchOrder::Newest if tag == "s1" => Some(0),
        SearchOrder::Relevance => tag
            .strip_prefix('r')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0),
        SearchOrder::Newest => None,
    };
    let relevance = relevance
        .ok_or_else(|| ApiError::validation("cursor", "not a cursor of this search order"))?;
    Ok(SearchPosition {
        relevance,
        created_at,
        id: MessageId::new(id),
    })
}

/// Encodes a list-attachments position (creation instant, attachment).
pub fn encode_attachment_cursor((at, id): (Timestamp, AttachmentId)) -> String {
    encode("a1", at, id.get())
}

/// Decodes a token made by [`encode_attachment_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_attachment_cursor(token: &str) -> Result<(Timestamp, AttachmentId), ApiError> {
    decode("a1", token).map(|(at, id)| (at, AttachmentId::new(id)))
}

/// Encodes where a sync chain stands: `y1:<started millis>:<changed since,
/// or "-" for a full sync>:<horizon>:<after id, 0 for none>`, hex-encoded.
pub fn encode_sync_cursor(position: SyncPosition) -> String {
    let since = position
        .changed_since
        .map_or_else(|| "-".to_owned(), |m| m.to_string());
    let plain = format!(
        "y1:{}:{since}:{}:{}",
        position.started_at.unix_millis(),
        position.horizon,
        position.after.map_or(0, ConversationId::get)
    );
    hex(&plain)
}

/// Decodes a token made by [`encode_sync_cursor`].
///
/// # Errors
/// `validation_failed` on `cursor` for anything else.
pub fn decode_sync_cursor(token: &str) -> Result<SyncPosition, ApiError> {
    let invalid = || ApiError::validation("cursor", "not a cursor this service issued");
    let plain = unhex(token).ok_or_else(invalid)?;
    let parts: Vec<&str> = plain.split(':').collect();
    let ["y1", started, since, horizon, after] = parts.as_slice() else {
        return Err(invalid());
    };
    let number = |text: &str| text.parse::<i64>().ok().filter(|n| *n >= 0);
    let changed_since = match *since {
        "-" => None,
        text => Some(number(text).ok_or_else(invalid)?),
    };
    let after = number(after).ok_or_else(invalid)?;
    Ok(SyncPosition {
        changed_since,
        horizon: number(horizon).ok_or_else(invalid)?,
        after: (after > 0).then(|| ConversationId::new(after)),
        started_at: started
            .parse()
            .ok()
            .and_then(Timestamp::from_unix_millis)
            .ok_or_else(invalid)?,
    })
}

fn hex(plain: &str) -> String {
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || token.len() > 128 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes.and_then(|b| String::from_utf8(b).ok())
}

/// `tag:millis:id`, hex-encoded: opaque, and refused when tampered with.
fn encode(tag: &str, at: Timestamp, id: i64) -> String {
    hex(&format!("{tag}:{}:{id}", at.unix_millis()))
}

fn decode(tag: &str, token: &str) -> Result<(Timestamp, i64), ApiError> {
    let (found, at, id) = decode_tagged(token)?;
    if found != tag {
        return Err(ApiError::validation(
            "cursor",
            "not a cursor this service issued",
        ));
    }
    Ok((at, id))
}

fn decode_tagged(token: &str) -> Result<(String, Timestamp, i64), ApiError> {
    let invalid = || ApiError::validation("cursor", "not a cursor this service issued");
    let plain = unhex(token).ok_or_else(invalid)?;
    let mut parts = plain.split(':');
    let (Some(found), Some(millis), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let at = millis
        .parse()
        .ok()
        .and_then(Timestamp::from_unix_millis)
        .ok_or_else(invalid)?;
    let id = id.parse().map_err(|_| invalid())?;
    Ok((found.to_owned(), at, id))
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
        let sync = SyncPosition {
            changed_since: Some(7),
            horizon: 9,
            after: Some(ConversationId::new(3)),
            started_at: cursor.activity_at,
        };
        assert_eq!(
            decode_sync_cursor(&encode_sync_cursor(sync)).ok(),
            Some(sync)
        );
        let full = SyncPosition {
            changed_since: None,
            after: None,
            ..sync
        };
        assert_eq!(
            decode_sync_cursor(&encode_sync_cursor(full)).ok(),
            Some(full)
        );
        assert!(decode_sync_cursor(&encode_cursor(cursor)).is_err());
        for bad in ["", "zz", "abc", "6331", &"00".repeat(100)] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
