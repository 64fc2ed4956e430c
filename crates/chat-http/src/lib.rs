//! The HTTP adapter: actix-web handlers for every operation of the contract,
//! the wire DTOs, bearer-token authentication and the error envelope.
//!
//! This is the only crate that knows HTTP and the JSON wire shapes; it also
//! encodes realtime events ([`wire::JsonEventEncoder`]) because their data are
//! the same shapes.

pub mod auth;
mod body;
pub mod cors;
pub mod error;
mod jwks;
pub mod local_files;
mod multipart;
mod observe;
mod routes;
pub mod wire;

use std::sync::Arc;

use actix_web::web;
use chat_domain::ports::HealthCheck;
use chat_domain::service::ChatService;

pub use auth::{Authenticator, ProfileClaims, TokenKey, TokenRules};
pub use body::BodyLimit;
pub use cors::{CorsOrigins, cors};
pub use error::ApiError;
pub use observe::observe;
pub use routes::openapi;

/// What every handler can reach.
pub struct AppState {
    pub chat: ChatService,
    pub auth: Authenticator,
    pub health: Arc<dyn HealthCheck>,
}

/// Registers the whole API on an actix `App`: state, routes, and the
/// contract's envelope for paths that name no operation.
pub fn configure(
    state: web::Data<AppState>,
    body_limit: BodyLimit,
    local_files: Option<web::Data<local_files::LocalObjectStore>>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        if let Some(store) = local_files {
            routes::configure_local_files(cfg, store);
        }
        cfg.app_data(state)
            .app_data(web::Data::new(body_limit))
            .configure(routes::configure)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::no_such_operation())
            }));
    }
}
