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

/// The pattern the description gives a closed set of names: exactly the
/// domain's spellings, so a client generated from it accepts every value the
/// server does and no other.
fn names_pattern(names: impl IntoIterator<Item = &'static str>) -> String {
    format!("^({})$", names.into_iter().collect::<Vec<_>>().join("|"))
}

fn property_pattern(description: &serde_json::Value, schema: &str, property: &str) -> String {
    description["components"]["schemas"][schema]["properties"][property]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{schema}.{property} has no pattern"))
        .to_owned()
}

#[test]
fn closed_sets_of_names_are_described_as_the_domain_spells_them() {
    use chat_domain::conversation::{
        ConversationKind, HistoryMode, NotifyLevel, PostingPolicy, Role, Visibility,
    };
    use chat_domain::message::ReportReason;

    let description = serde_json::to_value(chat_http::openapi()).unwrap_or_default();
    let expected = [
        (
            "CreateConversationRequest",
            "kind",
            names_pattern(ConversationKind::ALL.iter().map(|k| k.as_str())),
        ),
        (
            "CreateConversationRequest",
            "visibility",
            names_pattern(Visibility::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "CreateConversationRequest",
            "historyMode",
            names_pattern(HistoryMode::ALL.iter().map(|h| h.as_str())),
        ),
        (
            "CreateConversationRequest",
            "postingPolicy",
            names_pattern(PostingPolicy::ALL.iter().map(|p| p.as_str())),
        ),
        (
            "UpdateConversationRequest",
            "postingPolicy",
            names_pattern(PostingPolicy::ALL.iter().map(|p| p.as_str())),
        ),
        (
            "ListMembersRequest",
            "role",
            names_pattern(Role::ALL.iter().map(|r| r.as_str())),
        ),
        (
            "RoleRequest",
            "role",
            names_pattern(Role::ALL.iter().map(|r| r.as_str())),
        ),
        (
            "PreferencesRequest",
            "notifyLevel",
            names_pattern(NotifyLevel::ALL.iter().map(|n| n.as_str())),
        ),
        (
            "ReportRequest",
            "reason",
            names_pattern(ReportReason::ALL.iter().map(|r| r.as_str())),
        ),
    ];
    for (schema, property, pattern) in expected {
        assert_eq!(
            property_pattern(&description, schema, property),
            pattern,
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
