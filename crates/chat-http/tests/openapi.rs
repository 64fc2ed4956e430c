//! The committed API description is the one the code generates, and it
//! describes every operation of the contract.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn generated() -> String {
    let mut json = serde_json::to_string_pretty(&chat_http::openapi()).unwrap_or_default();
    json.push('\n');
    json
}

#[test]
fn the_committed_description_is_current() {
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), generated())
            .unwrap_or_else(|e| panic!("writing docs/openapi.json: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated(),
        "docs/openapi.json is stale: run `cargo xtask openapi` and commit it"
    );
}

#[test]
fn every_contract_operation_is_described() {
    let description = chat_http::openapi();
    assert!(description.openapi == utoipa::openapi::OpenApiVersion::Version31);
    let paths: Vec<&String> = description.paths.paths.keys().collect();
    let contract = [
        "/chat/conversations/create",
        "/chat/conversations/list",
        "/chat/conversations/{id}/get",
        "/chat/conversations/{id}/update",
        "/chat/conversations/{id}/archive",
        "/chat/conversations/{id}/unarchive",
        "/chat/conversations/{id}/convert",
        "/chat/conversations/{id}/delete",
        "/chat/conversations/{id}/members/list",
        "/chat/conversations/{id}/members/add",
        "/chat/conversations/{id}/members/remove",
        "/chat/conversations/{id}/members/role",
        "/chat/conversations/{id}/leave",
        "/chat/conversations/{id}/read",
        "/chat/conversations/{id}/preferences/update",
        "/chat/conversations/{id}/pins/list",
        "/chat/conversations/{id}/attachments/list",
        "/chat/unread/get",
        "/chat/messages/send",
        "/chat/messages/list",
        "/chat/messages/search",
        "/chat/messages/{id}/get",
        "/chat/messages/{id}/update",
        "/chat/messages/{id}/delete",
        "/chat/messages/{id}/reactions/add",
        "/chat/messages/{id}/reactions/remove",
        "/chat/messages/{id}/reactions/toggle",
        "/chat/messages/{id}/reactions/list",
        "/chat/messages/{id}/pin",
        "/chat/messages/{id}/unpin",
        "/chat/messages/{id}/report",
        "/chat/typing/send",
        "/realtime/connection-token",
        "/chat/subscribe-token",
        "/chat/attachments/upload-ticket",
        "/chat/attachments/finalize",
        "/chat/conversations/{id}/events/list",
        "/chat/events/list",
        "/chat/sync",
    ];
    let missing: Vec<&&str> = contract
        .iter()
        .filter(|op| !paths.iter().any(|p| p == *op))
        .collect();
    assert!(missing.is_empty(), "not described: {missing:?}");
    assert_eq!(
        paths.len(),
        contract.len(),
        "described but not in the contract: {paths:?}"
    );
}

/// A closed set of names is an `enum` of exactly the domain's spellings, so
/// a client generated from it accepts every value the server does and no
/// other.
fn names(names: impl IntoIterator<Item = &'static str>) -> serde_json::Value {
    names.into_iter().collect()
}

/// The enum a property's schema names (through its `$ref`).
fn property_enum(
    description: &serde_json::Value,
    schema: &str,
    property: &str,
) -> serde_json::Value {
    let property = &description["components"]["schemas"][schema]["properties"][property];
    let reference = property["$ref"]
        .as_str()
        .or_else(|| property["oneOf"][0]["$ref"].as_str())
        .unwrap_or_else(|| panic!("{schema} names no schema: {property}"));
    let name = reference.trim_start_matches("#/components/schemas/");
    description["components"]["schemas"][name]["enum"].clone()
}

#[test]
fn closed_sets_of_names_are_enums_of_the_domain_spellings() {
    use chat_domain::conversation::{
        ConversationKind, HistoryMode, NotifyLevel, PostingPolicy, Role, Visibility,
    };
    use chat_domain::message::ReportReason;

    let description = serde_json::to_value(chat_http::openapi()).unwrap_or_default();
    let expected = [
        (
            "CreateConversationRequest",
            "kind",
            names(ConversationKind::ALL.iter().map(|k| k.as_str())),
        ),
        (
            "CreateConversationRequest",
            "visibility",
            names(Visibility::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "CreateConversationRequest",
            "historyMode",
            names(HistoryMode::ALL.iter().map(|h| h.as_str())),
        ),
        (
            "CreateConversationRequest",
            "postingPolicy",
            names(PostingPolicy::ALL.iter().map(|p| p.as_str())),
        ),
        (
            "UpdateConversationRequest",
            "postingPolicy",
            names(PostingPolicy::ALL.iter().map(|p| p.as_str())),
        ),
        (
            "ListMembersRequest",
            "role",
            names(Role::ALL.iter().map(|r| r.as_str())),
        ),
        (
            "RoleRequest",
            "role",
            names(Role::ALL.iter().map(|r| r.as_str())),
        ),
        (
            "PreferencesRequest",
            "notifyLevel",
            names(NotifyLevel::ALL.iter().map(|n| n.as_str())),
        ),
        (
            "ConversationDto",
            "kind",
            names(ConversationKind::ALL.iter().map(|k| k.as_str())),
        ),
        (
            "MembershipDto",
            "role",
            names(Role::ALL.iter().map(|r| r.as_str())),
        ),
        (
            "ReportRequest",
            "reason",
            names(ReportReason::ALL.iter().map(|r| r.as_str())),
        ),
    ];
    for (schema, property, names) in expected {
        assert_eq!(
            property_enum(&description, schema, property),
            names,
            "{schema}.{property}"
        );
    }
}

/// An empty body reads as `{}`: the body is optional exactly where it has no
/// required field.
#[test]
fn bodies_without_required_fields_are_optional() {
    let description = serde_json::to_value(chat_http::openapi()).unwrap_or_default();
    let body_required =
        |path: &str| description["paths"][path]["post"]["requestBody"]["required"].clone();
    assert_eq!(
        body_required("/chat/conversations/list"),
        serde_json::json!(false)
    );
    assert_eq!(
        body_required("/chat/messages/{id}/pin"),
        serde_json::json!(false)
    );
    assert_eq!(
        body_required("/chat/conversations/create"),
        serde_json::json!(true)
    );
    assert_eq!(
        body_required("/chat/messages/send"),
        serde_json::json!(true)
    );
}

/// Generated clients name their functions after operationIds: each is the
/// contract's operation name in camelCase, and no two are the same.
#[test]
fn operation_ids_are_the_contract_names_in_camel_case() {
    let description = serde_json::to_value(chat_http::openapi()).unwrap_or_default();
    let id = |path: &str| description["paths"][path]["post"]["operationId"].clone();
    assert_eq!(id("/chat/messages/send"), "sendMessage");
    assert_eq!(id("/chat/messages/list"), "listMessages");
    assert_eq!(id("/chat/conversations/list"), "listConversations");
    assert_eq!(
        id("/chat/conversations/{id}/members/add"),
        "addConversationMember"
    );
    assert_eq!(
        id("/chat/attachments/upload-ticket"),
        "chatAttachmentUploadTicket"
    );
    let mut ids: Vec<String> = description["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(|item| item["post"]["operationId"].as_str().map(ToOwned::to_owned))
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds repeat");
    assert!(ids.iter().all(|id| id.chars().all(char::is_alphanumeric)
        && id.starts_with(|c: char| c.is_ascii_lowercase())));
}

/// Every field of a response shape is always present (null when absent), so
/// it is `required`; metadata is an open object; refusals name their codes.
#[test]
fn response_shapes_say_what_is_always_there() {
    let description = serde_json::to_value(chat_http::openapi()).unwrap_or_default();
    let schemas = &description["components"]["schemas"];
    let required = |schema: &str| schemas[schema]["required"].clone();
    for field in [
        "parentId",
        "gif",
        "metadata",
        "editedAt",
        "deletedAt",
        "quotedMessage",
    ] {
        assert!(
            required("MessageDto")
                .as_array()
                .is_some_and(|r| r.contains(&field.into())),
            "MessageDto.{field} is not required"
        );
    }
    assert_eq!(schemas["Metadata"]["additionalProperties"], true);
    let send = &description["paths"]["/chat/messages/send"]["post"]["responses"];
    assert_eq!(send["429"]["$ref"], "#/components/responses/rate_limited");
    let rate_limited = &description["components"]["responses"]["rate_limited"];
    assert!(rate_limited["headers"]["Retry-After"].is_object());
    assert!(
        schemas["ErrorCode"]["enum"]
            .as_array()
            .is_some_and(|codes| codes.contains(&"validation_failed".into()))
    );
}

/// Realtime events are described: one envelope per type, and their union.
#[test]
fn realtime_events_are_described() {
    let description = serde_json::to_value(chat_http::openapi()).unwrap_or_default();
    let schemas = &description["components"]["schemas"];
    let created = &schemas["MessageCreatedEvent"];
    assert_eq!(
        created["properties"]["type"]["enum"],
        serde_json::json!(["message.created"])
    );
    assert_eq!(
        created["properties"]["data"]["$ref"],
        "#/components/schemas/MessageDto"
    );
    let union = schemas["RealtimeEvent"]["oneOf"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(union, 20);
    assert_eq!(
        schemas["RealtimeEvent"]["discriminator"]["propertyName"],
        "type"
    );
}
