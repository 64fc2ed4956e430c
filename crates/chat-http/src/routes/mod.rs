//! The operations, one handler each. Every operation is `POST` with an
//! explicit verb (C1); handlers parse the wire shape, call one use case and
//! render its result.

mod attachments;
mod catch_up;
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
use crate::wire::{RealtimeEvents, parse_decimal_id};

pub(crate) use attachments::configure_local_files;

/// Registers every route. actix tries resources in registration order, and
/// one with an `{id}` segment is a regular-expression match: the busiest
/// operations (send, list) come first, the documentation's catch-all last.
/// (With `/chat/messages/list` behind twenty `{id}` resources, matching was
/// 2–3 % of a list's CPU.) No two paths overlap, so the order changes no
/// answer.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    messages::configure(cfg);
    conversations::configure(cfg);
    read_state::configure(cfg);
    typing::configure(cfg);
    reactions::configure(cfg);
    message_changes::configure(cfg);
    search::configure(cfg);
    catch_up::configure(cfg);
    preferences::configure(cfg);
    members::configure(cfg);
    manage::configure(cfg);
    attachments::configure(cfg);
    realtime::configure(cfg);
    health::configure(cfg);
    cfg.service(read_only("/openapi.json", openapi_json))
        .service(read_only("/docs", docs_redirect))
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi()));
}

/// One operation of the contract: `POST` only (C1). Any other method on its
/// path answers 405 with `Allow: POST`, so a client that guessed the verb
/// learns which one instead of reading "no such operation". (`OPTIONS`
/// preflights never get here: the CORS layer answers them.)
fn operation<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    only(path, web::post().to(handler), "POST")
}

/// A `GET` endpoint outside the contract (health, the description); other
/// methods answer 405 with `Allow: GET`.
fn read_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    only(path, web::get().to(handler), "GET")
}

/// `path` answered by `route` alone; other methods get 405 naming `allow`.
fn only(path: &str, route: actix_web::Route, allow: &'static str) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(move || async move {
            Err::<actix_web::HttpResponse, _>(ApiError::method_not_allowed(allow))
        }))
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
        catch_up::list_conversation_events,
        catch_up::list_personal_events,
        catch_up::sync,
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
    components(schemas(
        ErrorEnvelope,
        crate::wire::MembershipDto,
        crate::wire::MemberEventDto,
        crate::wire::ReactionDto,
        crate::wire::PinDto,
        crate::wire::TypingDto,
        crate::wire::UnreadDto,
        crate::wire::PushRequestedData,
        crate::wire::PushRecipient,
    )),
    modifiers(
        &BearerAuth,
        &SharedResponses,
        &OptionalEmptyBodies,
        &RealtimeEvents
    ),
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

/// Every operation can be refused or fail with the error envelope, and needs
/// the bearer token: said once here rather than on each handler. Each status
/// names its code, and 429 describes its `Retry-After` header.
pub(super) struct SharedResponses;

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |code: &str, when: &str| {
            let mut response = ResponseBuilder::new()
                .description(format!("`{code}`: {when}"))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Error")))
                        .build(),
                );
            if code == "rate_limited" {
                let seconds = ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1));
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(seconds))
                        .description(Some("Seconds to wait before retrying"))
                        .build(),
                );
            }
            response.build()
        };
        // Each refusal is described once, under its code, and referenced.
        let components = openapi.components.get_or_insert_with(Default::default);
        for (code, _, when) in crate::wire::names::ERROR_CODES {
            components
                .responses
                .insert((*code).to_owned(), RefOr::T(error(code, when)));
        }
        for operation in openapi
            .paths
            .paths
            .values_mut()
            .filter_map(|i| i.post.as_mut())
        {
            let responses = &mut operation.responses.responses;
            // 405 is for other methods on the path, never for the operation.
            for (code, status, _) in crate::wire::names::ERROR_CODES
                .iter()
                .filter(|(_, status, _)| *status != 405)
            {
                responses.insert(
                    status.to_string(),
                    RefOr::Ref(Ref::new(format!("#/components/responses/{code}"))),
                );
            }
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
