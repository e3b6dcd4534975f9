//! Liveness, readiness and metrics for the operators' monitoring.

use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{AppError, Problem};
use crate::mail::outbox;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, AppError> {
    state
        .db
        .run(|conn| conn.batch_execute("SELECT 1"))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            AppError::Unavailable("the database does not answer")
        })?;
    Ok(web::Json(Health { status: "ok" }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pool = state.db.pool_state();
    state
        .metrics
        .pool
        .with_label_values(&["idle"])
        .set(i64::from(pool.idle_connections));
    state
        .metrics
        .pool
        .with_label_values(&["in_use"])
        .set(i64::from(pool.connections - pool.idle_connections));
    match state.db.run(outbox::counts).await {
        Ok(counts) => {
            for status in ["pending", "sent", "failed"] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                state.metrics.outbox.with_label_values(&[status]).set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count the outbox for metrics"),
    }
    match state.db.run(crate::merchant_api::webhooks::counts).await {
        Ok(counts) => {
            for status in crate::merchant_api::webhooks::DELIVERY_STATUSES {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                state.metrics.webhooks.with_label_values(&[status]).set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count webhook deliveries for metrics"),
    }
    let body = state.metrics.render().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
