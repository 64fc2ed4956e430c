//! The JSON wire shapes of the contract: ids as decimal strings (C2),
//! RFC3339 millisecond UTC times (C3), camelCase, every field present.
//! Request DTOs reject unknown fields; response DTOs are built from domain views.

mod conversation;
mod cursor;
mod events;
mod member;
mod message;
pub mod names;
mod page;
mod push;

pub use conversation::{ConversationDto, MembershipDto, UserSummaryDto};
pub use cursor::{
    decode_attachment_cursor, decode_cursor, decode_member_cursor, decode_pin_cursor,
    decode_reaction_cursor, decode_search_cursor, decode_sync_cursor, encode_attachment_cursor,
    encode_cursor, encode_member_cursor, encode_pin_cursor, encode_reaction_cursor,
    encode_search_cursor, encode_sync_cursor,
};
pub use events::JsonEventEncoder;
pub(crate) use events::{PinDto, ReactionDto, RealtimeEvents, TypingDto, UnreadDto};
pub use member::MemberDto;
pub(crate) use member::MemberEventDto;
pub use message::{AttachmentDto, MessageDto};
pub use page::{CursorPage, TotalPage};
pub(crate) use push::{PushRecipient, PushRequestedData};

use std::fmt;

use chat_domain::Timestamp;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Parses a decimal int64 as C2 renders ids: digits with an optional minus,
/// nothing else.
pub fn parse_decimal_id(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An id on the wire: a JSON string holding a decimal int64. A JSON number is
/// refused (validation_failed), as the contract says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireId(pub i64);

impl Serialize for WireId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WireId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id as a string of decimal digits")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<WireId, E> {
                parse_decimal_id(text)
                    .map(WireId)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        deserializer.deserialize_str(IdVisitor)
    }
}

impl utoipa::PartialSchema for WireId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^-?[0-9]{1,19}$"))
            .description(Some("An int64 id as a decimal string"))
            .examples(["42"])
            .into()
    }
}

impl utoipa::ToSchema for WireId {}

impl utoipa::PartialSchema for WireTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339, UTC, milliseconds"))
            .examples(["2026-11-22T10:15:30.123Z"])
            .into()
    }
}

impl utoipa::ToSchema for WireTime {}

const RFC3339_MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// A time on the wire: `2026-11-22T10:15:30.123Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireTime(pub Timestamp);

impl Serialize for WireTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let at = self.0.datetime();
        match rfc3339_millis(at) {
            Some(text) => {
                // Only ASCII digits and separators were written.
                let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(text)
            }
            None => {
                let text = at
                    .format(RFC3339_MILLIS)
                    .map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
        }
    }
}

/// `at` (UTC) as `RFC3339_MILLIS` writes it, without allocating: a page
/// of messages carries hundreds of times, and the format description's
/// interpreter was 2.5 % of a list's CPU. `None` outside years 0–9999,
/// which the general formatter handles.
fn rfc3339_millis(at: time::OffsetDateTime) -> Option<[u8; 24]> {
    fn digits(out: &mut [u8], mut value: u32) {
        for slot in out.iter_mut().rev() {
            // A single decimal digit: fits a u8.
            *slot = b'0' + u8::try_from(value % 10).unwrap_or(0);
            value /= 10;
        }
    }
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let mut text = *b"0000-00-00T00:00:00.000Z";
    digits(&mut text[0..4], year);
    digits(&mut text[5..7], u32::from(u8::from(at.month())));
    digits(&mut text[8..10], u32::from(at.day()));
    digits(&mut text[11..13], u32::from(at.hour()));
    digits(&mut text[14..16], u32::from(at.minute()));
    digits(&mut text[17..19], u32::from(at.second()));
    digits(&mut text[20..23], u32::from(at.millisecond()));
    Some(text)
}

impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .map(|at| WireTime(Timestamp::from_datetime(at)))
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &"an RFC3339 time"))
    }
}

/// Deserializes a clearable field: absent (with `#[serde(default)]`) is
/// `None`, `null` is `Some(None)`, a value is `Some(Some(value))`.
pub(crate) fn clearable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Renders an optional time.
pub(crate) fn wire_time(at: Option<Timestamp>) -> Option<WireTime> {
    at.map(WireTime)
}

/// Stored metadata (JSON text) embedded as it is.
pub(crate) fn raw_json(text: Option<&str>) -> Option<Box<serde_json::value::RawValue>> {
    text.and_then(|t| serde_json::value::RawValue::from_string(t.to_owned()).ok())
}

/// A snippet as HTML: the text escaped, matches wrapped in `<mark>`.
pub fn snippet_html(snippet: &str) -> String {
    let mut html = String::with_capacity(snippet.len() + 16);
    for c in snippet.chars() {
        match c {
            chat_domain::search::MATCH_START => html.push_str("<mark>"),
            chat_domain::search::MATCH_END => html.push_str("</mark>"),
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html
}

/// `{ "message": "..." }`, the answer of operations that return no resource.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_as_the_format_description_writes_them() {
        use time::OffsetDateTime;
        let instants = [
            0_i64,
            1,
            999,
            951_782_400_000,     // 2000-02-29
            1_795_341_330_123,   // 2026-11-22T10:15:30.123Z
            4_102_444_799_999,   // 2099-12-31T23:59:59.999Z
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            -62_135_596_800_000, // 0001-01-01
        ];
        for millis in instants {
            let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .expect("an instant");
            let expected = at.format(super::RFC3339_MILLIS).expect("formats");
            let fast = super::rfc3339_millis(at).expect("a four-digit year");
            assert_eq!(
                std::str::from_utf8(&fast).expect("ASCII"),
                expected,
                "{millis}"
            );
        }
    }

    use super::*;

    #[test]
    fn ids_are_strict_decimal_strings() {
        assert_eq!(parse_decimal_id("42"), Some(42));
        assert_eq!(parse_decimal_id("-7"), Some(-7));
        for bad in ["", "-", "+1", " 1", "1.0", "0x10", "99999999999999999999"] {
            assert_eq!(parse_decimal_id(bad), None, "{bad:?}");
        }
        assert!(serde_json::from_str::<WireId>("42").is_err());
        assert_eq!(
            serde_json::from_str::<WireId>("\"42\"").ok(),
            Some(WireId(42))
        );
    }

    #[test]
    fn times_have_milliseconds_and_z() {
        let at = Timestamp::from_unix_millis(1_795_342_530_123).map(WireTime);
        let text = serde_json::to_string(&at).unwrap_or_default();
        assert_eq!(text, "\"2026-11-22T10:15:30.123Z\"");
    }
}
