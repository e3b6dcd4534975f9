//! Admin operations that belong to no single domain: the mail outbox and the audit log.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::{self, AuditEntry, AuditView};
use crate::auth::Admin;
use crate::db::{now, write_transaction};
use crate::error::{AppError, Problem};
use crate::mail::outbox::{self, OutboxEntry};
use crate::state::AppState;
use crate::web::api::{Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_outbox)
        .service(retry_outbox)
        .service(list_audit_log);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    /// `pending`, `sent` or `failed`.
    pub status: Option<String>,
}

/// Outgoing mail, newest first; filter by status to see what could not be delivered.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(OutboxFilter, PageQuery),
    responses(
        (status = 200, body = Page<OutboxEntry>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/outbox")]
async fn list_outbox(
    state: web::Data<AppState>,
    _admin: Admin,
    filter: web::Query<OutboxFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<OutboxEntry>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let status = match filter.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("pending" | "sent" | "failed")) => Some(s.to_owned()),
        Some(_) => {
            return Err(AppError::field(
                "status",
                "invalid_value",
                "status is one of pending, sent, failed",
            ));
        }
    };
    let rows = state
        .db
        .run(move |c| outbox::list(c, status.as_deref(), cursor.as_deref(), limit + 1))
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        OutboxEntry::from,
    )))
}

/// Put a failed mail back in the queue.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("outbox_id" = String, Path)),
    responses(
        (status = 200, body = OutboxEntry),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The mail has not failed (`not_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/outbox/{outbox_id}/retry")]
async fn retry_outbox(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<OutboxEntry>, AppError> {
    let id = path.into_inner();
    let actor = admin.0.id;
    let row = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<outbox::OutboxRow, AppError> {
                let now = now();
                let row = outbox::find(conn, &id)?.ok_or(AppError::NotFound)?;
                if !outbox::retry_failed(conn, &id, now)? {
                    return Err(AppError::conflict(
                        "not_failed",
                        format!("this mail is {}, not failed", row.status),
                    ));
                }
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&actor),
                        action: "outbox.retried",
                        target_type: "outbox",
                        target_id: Some(&id),
                        details: serde_json::json!({ "previous_attempts": row.attempts }),
                    },
                    now,
                )?;
                outbox::find(conn, &id)?.ok_or(AppError::NotFound)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(web::Json(OutboxEntry::from(row)))
}

/// Who changed what, newest first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<AuditView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/audit-log")]
async fn list_audit_log(
    state: web::Data<AppState>,
    _admin: Admin,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .run(move |c| audit::list(c, cursor.as_deref(), limit + 1))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        AuditView::from,
    )))
}
