//! Liveness and readiness probes (no auth).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::read_only("/healthz", healthz))
        .service(super::read_only("/readyz", readyz));
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can serve: its store answers.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.health.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable().json(json!({
                "error": { "code": "unavailable", "message": "the store does not answer" }
            }))
        }
    }
}
