//! JSON API of the job board and the agent's shifts.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::prefs::{self, CalendarLink, ShiftPreferences};
use super::service::{self, MineQuery, OpenQuery, ShiftView};
use crate::auth::AgentSession;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(open_shifts)
        .service(my_shifts)
        .service(claim)
        .service(release)
        .service(check_in)
        .service(check_out)
        .service(offer_swap)
        .service(withdraw_swap)
        .service(swap_board)
        .service(take_swap)
        .service(get_preferences)
        .service(set_preferences)
        .service(calendar_link)
        .service(rotate_calendar)
        .service(calendar_feed);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftList {
    pub items: Vec<ShiftView>,
}

/// Open shifts the signed-in agent holds a valid certification for, soonest first, with
/// the merchant, the time in the agent's zone, the pay estimate and any urgent bonus.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(OpenQuery, PageQuery),
    responses(
        (status = 200, body = Page<ShiftView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/shifts/open")]
async fn open_shifts(
    state: web::Data<AppState>,
    agent: AgentSession,
    q: web::Query<OpenQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ShiftView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = service::open(&state, agent.0.id, q.into_inner(), cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// The signed-in agent's shifts in a window of local days: held now, or held before with
/// how that ended.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(MineQuery),
    responses(
        (status = 200, body = ShiftList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/shifts/mine")]
async fn my_shifts(
    state: web::Data<AppState>,
    agent: AgentSession,
    q: web::Query<MineQuery>,
) -> Result<web::Json<ShiftList>, AppError> {
    Ok(web::Json(ShiftList {
        items: service::mine(&state, agent.0.id, q.into_inner()).await?,
    }))
}

/// Claim an open shift: first come, first served (after the early-access window). Every
/// claim rule has its own error code.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`agent_suspended`, `wrong_role`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`shift_taken`, `already_yours`, `booking_cancelled`, `not_certified`, `early_access_only`, `shift_started`, `shift_overlap`, `daily_hours_exceeded`, `weekly_hours_exceeded`, `rest_too_short`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/shifts/{shift_id}/claim")]
async fn claim(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::claim(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Give a claimed shift back. Free before the cutoff (24 h before the start by default);
/// later it is recorded as a late release.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_shift`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`shift_completed`, `already_checked_in`, `shift_started`, `booking_cancelled`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/shifts/{shift_id}/release")]
async fn release(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::release(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Check in to the caller's shift, from shortly before the start until the grace after it.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_shift`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`check_in_not_open`, `check_in_closed`, `already_checked_in`, `shift_completed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/shifts/{shift_id}/check-in")]
async fn check_in(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::check_in(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// End the caller's checked-in shift (it also ends by itself at its end).
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_shift`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_checked_in`, `shift_completed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/shifts/{shift_id}/check-out")]
async fn check_out(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::check_out(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Offer the caller's claimed shift on the swap board (until the swap cutoff).
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_shift`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_swappable`, `swap_closed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/shifts/{shift_id}/swap")]
async fn offer_swap(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::offer_swap(&state, agent.0.id, path.into_inner(), true).await?,
    ))
}

/// Take the caller's shift off the swap board.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_your_shift`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_swappable`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/shifts/{shift_id}/swap")]
async fn withdraw_swap(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::offer_swap(&state, agent.0.id, path.into_inner(), false).await?,
    ))
}

/// Shifts other agents offer for a swap that the caller is certified for.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ShiftList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/shifts/swaps")]
async fn swap_board(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<ShiftList>, AppError> {
    Ok(web::Json(ShiftList {
        items: service::swap_board(&state, agent.0.id).await?,
    }))
}

/// Take over a shift offered on the swap board; every claim rule is checked again.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    params(("shift_id" = String, Path)),
    responses(
        (status = 200, body = ShiftView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_offered`, `already_yours`, `swap_closed` and the claim rules' codes", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/shifts/{shift_id}/take")]
async fn take_swap(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<ShiftView>, AppError> {
    Ok(web::Json(
        service::take_swap(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// The agent's shift preferences: auto-assignment from declared availability, and mails
/// about urgent open shifts.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ShiftPreferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/shift-preferences")]
async fn get_preferences(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<ShiftPreferences>, AppError> {
    Ok(web::Json(prefs::get(&state, agent.0.id).await?))
}

#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    request_body = ShiftPreferences,
    responses(
        (status = 200, body = ShiftPreferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/agents/me/shift-preferences")]
async fn set_preferences(
    state: web::Data<AppState>,
    agent: AgentSession,
    body: ApiJson<ShiftPreferences>,
) -> Result<web::Json<ShiftPreferences>, AppError> {
    Ok(web::Json(prefs::set(&state, agent.0.id, body.0).await?))
}

/// The agent's calendar feed URL (an `.ics` any calendar app can subscribe to); created on
/// first use.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = CalendarLink),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/calendar")]
async fn calendar_link(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<CalendarLink>, AppError> {
    Ok(web::Json(
        prefs::calendar_link(&state, agent.0.id, false).await?,
    ))
}

/// Replace the calendar feed URL; the old one stops working.
#[utoipa::path(
    tag = "shifts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = CalendarLink),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/agents/me/calendar/rotate")]
async fn rotate_calendar(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<CalendarLink>, AppError> {
    Ok(web::Json(
        prefs::calendar_link(&state, agent.0.id, true).await?,
    ))
}

/// An agent's shifts as an iCalendar feed; the secret in the URL is the only credential,
/// since calendar apps cannot sign in.
#[utoipa::path(
    tag = "shifts",
    params(("token" = String, Path)),
    responses(
        (status = 200, content_type = "text/calendar"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calendar/{token}.ics")]
async fn calendar_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let body = prefs::feed(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(body))
}
