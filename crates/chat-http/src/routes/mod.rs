//! The operations, one handler each. Every operation is `POST` with an
//! explicit verb (C1); handlers parse the wire shape, call one use case and
//! render its result.

mod attachments;
mod conversations;
mod health;
mod manage;
mod members;
mod message_changes;
mod messages;
mod preferences;
mod reactions;
mod read_state;
mod realtime;
mod search;
mod typing;

use actix_web::web;
use chat_domain::ConversationId;
use chat_domain::MessageId;

use crate::error::{ApiError, ErrorEnvelope};
use crate::wire::parse_decimal_id;

pub(crate) use attachments::configure_local_files;

/// Registers every route.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_redirect))
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi()));
    attachments::configure(cfg);
    conversations::configure(cfg);
    manage::configure(cfg);
    members::configure(cfg);
    preferences::configure(cfg);
    read_state::configure(cfg);
    message_changes::configure(cfg);
    search::configure(cfg);
    typing::configure(cfg);
    messages::configure(cfg);
    reactions::configure(cfg);
    realtime::configure(cfg);
}

/// The API description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// `/openapi.json`: the description never changes while the process runs, so
/// it is generated and serialized once.
async fn openapi_json() -> actix_web::HttpResponse {
    static DOCUMENT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| serde_json::to_string(&openapi()).unwrap_or_default());
    actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(DOCUMENT.as_str())
}

/// `/docs` without the slash, as people type it: the viewer lives at
/// `/docs/`.
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

/// The `{id}` of a path, which must be a decimal int64.
fn path_id(raw: &str) -> Result<i64, ApiError> {
    parse_decimal_id(raw).ok_or_else(|| ApiError::validation("id", "not a decimal int64 id"))
}

fn conversation_path(raw: &str) -> Result<ConversationId, ApiError> {
    path_id(raw).map(ConversationId::new)
}

fn message_path(raw: &str) -> Result<MessageId, ApiError> {
    path_id(raw).map(MessageId::new)
}

/// The API description, generated from the handlers and DTOs.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "chat",
        description = "Self-hosted chat: conversations, messages, threads, reactions, pins, read state, search, attachments and realtime through Centrifugo. Every operation is POST with an explicit verb; ids are decimal strings; times are RFC 3339 UTC with milliseconds; lists answer { data, page }."
    ),
    paths(
        conversations::create,
        conversations::list,
        conversations::get,
        read_state::mark_read,
        manage::update,
        manage::archive,
        manage::unarchive,
        manage::convert,
        manage::delete,
        members::list_members,
        members::add_members,
        members::remove_member,
        members::change_role,
        members::leave,
        preferences::preferences,
        preferences::unread,
        messages::send,
        messages::list,
        messages::get,
        search::search,
        typing::typing,
        message_changes::edit,
        message_changes::delete,
        reactions::add_reaction,
        reactions::remove_reaction,
        reactions::toggle_reaction,
        reactions::list_reactions,
        reactions::pin,
        reactions::unpin,
        reactions::report,
        reactions::list_pins,
        realtime::connection_token,
        realtime::subscribe_token,
        attachments::upload_ticket,
        attachments::finalize,
        attachments::list
    ),
    components(schemas(ErrorEnvelope)),
    modifiers(&BearerAuth, &SharedResponses, &OptionalEmptyBodies),
)]
pub(crate) struct ApiDoc;

/// [`JsonBody`](crate::body::JsonBody) reads an empty body as `{}`, so where
/// a body has no required field, sending none at all is fine, and the
/// description says so.
pub(super) struct OptionalEmptyBodies;

impl utoipa::Modify for OptionalEmptyBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Required, Schema};
        let schemas = openapi.components.as_ref().map(|c| &c.schemas);
        let requires_nothing = |schema: &RefOr<Schema>| {
            let resolved = match schema {
                RefOr::Ref(reference) => reference
                    .ref_location
                    .strip_prefix("#/components/schemas/")
                    .and_then(|name| schemas?.get(name)),
                RefOr::T(_) => Some(schema),
            };
            matches!(resolved, Some(RefOr::T(Schema::Object(object))) if object.required.is_empty())
        };
        for item in openapi.paths.paths.values_mut() {
            let Some(RefOr::T(body)) = item.post.as_mut().and_then(|op| op.request_body.as_mut())
            else {
                continue;
            };
            let json_schema = match body.content.get("application/json") {
                Some(RefOr::T(content)) => content.schema.as_ref(),
                _ => None,
            };
            if json_schema.is_some_and(requires_nothing) {
                body.required = Some(Required::False);
            }
        }
    }
}

/// Every operation can be refused (4XX) or fail (5XX) with the error
/// envelope, and needs the bearer token: said once here rather than on each
/// handler.
pub(super) struct SharedResponses;

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Error")))
                            .build(),
                    )
                    .build(),
            )
        };
        for operation in openapi
            .paths
            .paths
            .values_mut()
            .filter_map(|i| i.post.as_mut())
        {
            let responses = &mut operation.responses.responses;
            responses.insert(
                "4XX".to_owned(),
                error(
                    "Refused: unauthenticated, forbidden, not_found, validation_failed, \
                     conflict, payload_too_large, rate_limited",
                ),
            );
            responses.insert("5XX".to_owned(), error("unavailable or internal"));
            operation.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
        }
    }
}

/// `Authorization: Bearer <JWT>` on every operation.
pub(super) struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}
