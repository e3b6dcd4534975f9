//! JSON API of staffing: merchants see who will come, admins see coverage, no-shows and
//! run the auto-fill, and adherence per agent.

use actix_web::{get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::autofill::{self, AutoFillReport, AutoFillRequest};
use super::staffing::{
    self, AdherenceView, BookingStaffing, Coverage, CoverageQuery, MonthQuery, NoShow, ShopStaffing,
};
use crate::accounts::model::{AccountId, MerchantId};
use crate::auth::{Admin, AgentSession, Caller};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(booking_staffing)
        .service(shop_staffing)
        .service(coverage)
        .service(no_shows)
        .service(auto_fill)
        .service(my_adherence)
        .service(agent_adherence);
}

/// Staffing of one booking: seats booked, shifts claimed, checked in now, gaps, continuity
/// and who holds every shift (after any swap).
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("booking_id" = String, Path)),
    responses(
        (status = 200, body = BookingStaffing),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking, or another shop's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/bookings/{booking_id}/staffing")]
async fn booking_staffing(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<BookingStaffing>, AppError> {
    let actor = crate::seats::routes::actor(caller)?;
    Ok(web::Json(
        staffing::booking_staffing(&state, actor, path.into_inner()).await?,
    ))
}

/// A shop's staffing today: the agents on today's shifts, continuity, gaps ahead.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path)),
    responses(
        (status = 200, body = ShopStaffing),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/staffing")]
async fn shop_staffing(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<ShopStaffing>, AppError> {
    let merchant = MerchantId(path.into_inner());
    crate::accounts::routes::may_see_merchant(&caller, &merchant)?;
    Ok(web::Json(staffing::shop_staffing(&state, merchant).await?))
}

/// Coverage across all bookings: per market day and block, seats booked, claimed, checked
/// in, completed and open (the gaps).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(CoverageQuery),
    responses(
        (status = 200, body = Coverage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/shifts/coverage")]
async fn coverage(
    state: web::Data<AppState>,
    _admin: Admin,
    q: web::Query<CoverageQuery>,
) -> Result<web::Json<Coverage>, AppError> {
    Ok(web::Json(
        staffing::coverage_map(&state, q.into_inner()).await?,
    ))
}

/// No-shows, newest first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<NoShow>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/shifts/no-shows")]
async fn no_shows(
    state: web::Data<AppState>,
    _admin: Admin,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<NoShow>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = staffing::no_shows(&state, cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// Fill the open shifts of the next days from the availability of agents who asked for
/// auto-assignment: continuity with the shop first, then quality, then fair share of hours.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = AutoFillRequest,
    responses(
        (status = 200, body = AutoFillReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/shifts/auto-fill")]
async fn auto_fill(
    state: web::Data<AppState>,
    admin: Admin,
    body: ApiJson<AutoFillRequest>,
) -> Result<web::Json<AutoFillReport>, AppError> {
    Ok(web::Json(autofill::run(&state, admin.0.id, body.0).await?))
}

/// The signed-in agent's commitment adherence for a month: the share of claimed hours
/// actually worked, with late releases and no-shows.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(MonthQuery),
    responses(
        (status = 200, body = AdherenceView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/adherence")]
async fn my_adherence(
    state: web::Data<AppState>,
    agent: AgentSession,
    q: web::Query<MonthQuery>,
) -> Result<web::Json<AdherenceView>, AppError> {
    Ok(web::Json(
        staffing::adherence_for(&state, agent.0.id, q.into_inner()).await?,
    ))
}

/// An agent's commitment adherence for a month.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("agent_id" = String, Path), MonthQuery),
    responses(
        (status = 200, body = AdherenceView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/adherence")]
async fn agent_adherence(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    q: web::Query<MonthQuery>,
) -> Result<web::Json<AdherenceView>, AppError> {
    Ok(web::Json(
        staffing::adherence_for(&state, AccountId(path.into_inner()), q.into_inner()).await?,
    ))
}
