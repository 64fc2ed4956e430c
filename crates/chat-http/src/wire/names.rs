//! The closed sets of names the API takes and returns, described as OpenAPI
//! `enum`s so generated clients get union types instead of plain strings.
//!
//! Requests still carry these as strings and the handlers parse them with the
//! domain's own `parse` (so an unknown name is a 422 naming the field, not a
//! serde error); these types exist only for the description. Each takes its
//! names from the domain's list, so a new variant cannot be forgotten here.

use chat_domain::conversation::{
    ConversationKind, HistoryMode, NotifyLevel, PostingPolicy, Role, Visibility,
};
use chat_domain::message::ReportReason;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

fn string_enum<'a>(description: &str, names: impl IntoIterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(description))
        .into()
}

/// Declares a schema-only type whose schema is a string enum.
macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident, $description:literal, $names:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($description, $names)
            }
        }

        impl utoipa::ToSchema for $name {
            // `RoleName` describes the schema `Role`.
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(
                    stringify!($name).strip_suffix("Name").unwrap_or(stringify!($name)),
                )
            }
        }
    };
}

closed_set!(
    /// `kind` of a conversation.
    ConversationKindName,
    "What a conversation is",
    ConversationKind::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// `visibility` of a channel.
    VisibilityName,
    "Who is a member: only those added (private) or every member of the org (org)",
    Visibility::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// `historyMode`.
    HistoryModeName,
    "What history a member added later sees",
    HistoryMode::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// `postingPolicy`.
    PostingPolicyName,
    "Who may send messages",
    PostingPolicy::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// A member's `role`.
    RoleName,
    "A member's role",
    Role::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// `notifyLevel` of a membership.
    NotifyLevelName,
    "Which messages notify a member",
    NotifyLevel::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// `reason` of a `push.requested` recipient.
    PushReasonName,
    "Why a recipient is notified: named (mention), @everyone (everyone), a reply in a thread they wrote in (thread), a DM (direct), anything else (message)",
    chat_domain::push::PushReason::ALL.iter().map(|r| r.as_str())
);
closed_set!(
    /// `reason` of a report.
    ReportReasonName,
    "Why a message is reported",
    ReportReason::ALL.iter().map(|v| v.as_str())
);
closed_set!(
    /// list-messages `anchor` (parsed in `routes::messages`).
    AnchorName,
    "Where a page starts when no message id is given",
    ["newest", "oldest", "firstUnread"]
);
closed_set!(
    /// An attachment's `status`.
    AttachmentStatusName,
    "pending until finalized, then ready",
    ["pending", "ready"]
);
closed_set!(
    /// search-messages `order`.
    SearchOrderName,
    "newest first (the default), or most relevant first among the newest 1,000 hits",
    chat_domain::search::SearchOrder::ALL.iter().map(|o| o.as_str())
);
closed_set!(
    /// The `code` of an error envelope.
    ErrorCodeName,
    "What went wrong; the HTTP status follows from it (see the responses of each operation)",
    ERROR_CODES.iter().map(|(code, _, _)| *code)
);

/// Every error code with its HTTP status and when it is answered: the
/// contract's table, plus `method_not_allowed` (decision 0008).
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    (
        "unauthenticated",
        401,
        "missing, malformed, expired or wrongly signed token",
    ),
    (
        "forbidden",
        403,
        "the caller can read the conversation but lacks the role or right",
    ),
    (
        "not_found",
        404,
        "unknown id, or not readable by the caller",
    ),
    (
        "method_not_allowed",
        405,
        "the path takes another method (see the Allow header)",
    ),
    (
        "conflict",
        409,
        "the state forbids it (archived, a full capacity, the last owner, ...)",
    ),
    ("payload_too_large", 413, "body or upload over its limit"),
    (
        "validation_failed",
        422,
        "the body does not parse or breaks a limit; details.field names the field",
    ),
    (
        "rate_limited",
        429,
        "too many requests; Retry-After says when to come back",
    ),
    ("internal", 500, "a bug; never for bad input"),
    (
        "unavailable",
        503,
        "a dependency (the database) is down; safe to retry",
    ),
];

/// `metadata`: a free-form JSON object (up to 5 KB serialized). Described
/// with `additionalProperties: true` so clients may put any key in it.
pub struct Metadata;

impl utoipa::PartialSchema for Metadata {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
            ))
            .description(Some("Free-form JSON object, up to 5 KB serialized"))
            .into()
    }
}

impl utoipa::ToSchema for Metadata {}
