//! The shop's dashboard over HTTP: continuity, the live snapshot and its event stream, and
//! the opt-in mailed reports. A shop's staff see their own shop (another shop gets 404, as
//! if nothing existed), admins any shop, agents nothing (403).

use actix_web::{HttpResponse, get, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::live::LiveSnapshot;
use super::merchant_dash::{self, ContinuityReport, MySubscriptions, RangeQuery, SubscriptionList};
use crate::accounts::model::{MerchantId, Role};
use crate::auth::Caller;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::ApiJson;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(continuity)
        .service(live)
        .service(live_stream)
        .service(subscriptions)
        .service(set_my_subscriptions);
}

fn may_see(caller: &Caller, merchant: &str) -> Result<(), AppError> {
    crate::accounts::routes::may_see_merchant(caller, &MerchantId(merchant.to_owned()))
}

/// Continuity of the shop's service over a range of market days: the share of its chats
/// and of its shifts served by agents who had served it before, agent rotation per week,
/// and whether it booked the peaks after the ones it booked. Definitions in the notes of
/// `src/analytics/continuity.rs`.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), RangeQuery),
    responses(
        (status = 200, body = ContinuityReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_date` (`from`/`to`), `period_inverted` or `period_too_long` (over five years; `to`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/analytics/continuity")]
async fn continuity(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<RangeQuery>,
) -> Result<web::Json<ContinuityReport>, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    let today = state.clock.today_in(state.rules().market.time_zone);
    let (from, to) = merchant_dash::parse_range(&query, today)?;
    Ok(web::Json(
        merchant_dash::continuity_report(&state, merchant, from, to).await?,
    ))
}

/// The shop's live service figures now: chats waiting and the longest wait, agents on its
/// shifts and online, and for the last 15 minutes and today (the market's day) the service
/// level against the first-response target, first response, queue and handle times,
/// ratings. Definitions in the notes of `src/analytics/live.rs`.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id")),
    responses(
        (status = 200, body = LiveSnapshot),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/analytics/live")]
async fn live(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<LiveSnapshot>, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    Ok(web::Json(
        merchant_dash::live_snapshot(&state, merchant).await?,
    ))
}

/// The live figures as server-sent events (`text/event-stream`): a `snapshot` event (the
/// body of `GET .../analytics/live`) at once, then another whenever a figure changes;
/// comment lines keep a quiet stream open. The stream ends after ten minutes: reconnect
/// (an `EventSource` does so by itself).
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id")),
    responses(
        (status = 200, description = "`event: snapshot` lines, each with a `LiveSnapshot` as `data`", content_type = "text/event-stream", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/analytics/live/stream")]
async fn live_stream(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    // Refuse a missing shop with a 404 before the stream starts.
    merchant_dash::live_snapshot(&state, merchant.clone()).await?;
    Ok(merchant_dash::live_stream(state, merchant))
}

/// Who receives the shop's daily and weekly service reports by mail.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id")),
    responses(
        (status = 200, body = SubscriptionList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/analytics/report-subscriptions")]
async fn subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<SubscriptionList>, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    Ok(web::Json(
        merchant_dash::list_subscriptions(&state, merchant).await?,
    ))
}

/// Opts the signed-in staff member in to or out of the shop's daily (yesterday's figures,
/// every morning) and weekly (last week's, every Monday) service reports, sent to their
/// own address in their language. Every change is in the audit log. Only the shop's own
/// staff choose for themselves.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id")),
    request_body = MySubscriptions,
    responses(
        (status = 200, body = MySubscriptions),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents and admins", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or unknown field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/merchants/{merchant_id}/analytics/report-subscriptions/me")]
async fn set_my_subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: ApiJson<MySubscriptions>,
) -> Result<web::Json<MySubscriptions>, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    if caller.role != Role::MerchantStaff {
        return Err(AppError::Forbidden { code: "wrong_role" });
    }
    Ok(web::Json(
        merchant_dash::set_my_subscriptions(&state, merchant, caller.id, body.0).await?,
    ))
}
