//! The operations dashboard over HTTP (admins only), and the use case the page
//! ([`super::operations_pages`]) shares: load the facts in one read, compute the figures.

use actix_web::{get, web};
use chrono::Duration;
use utoipa_actix_web::service_config::ServiceConfig;

use super::live::RECENT_MINUTES;
use super::operations::{self, OperationsDashboard, OperationsQuery};
use super::operations_store as store;
use crate::auth::Admin;
use crate::error::{AppError, Problem};
use crate::shifts::claim::{local_date, local_midnight};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(dashboard_api);
}

/// The dashboard now, with `days` market days (from today) of hours.
pub async fn dashboard(state: &AppState, days: u32) -> Result<OperationsDashboard, AppError> {
    let rules = state.rules();
    let market = &rules.market;
    let zone = market.time_zone;
    let now = state.clock.now();
    let today = local_date(zone, now);
    let (from, to) = (
        local_midnight(zone, today),
        local_midnight(zone, today + Duration::days(i64::from(days))),
    );
    let tomorrow = local_midnight(zone, today + Duration::days(1));
    let since = now - Duration::minutes(RECENT_MINUTES);
    let (sold, held, holdings, shops, (chats, staff), (counts, oldest), (runs, disputes)) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            Ok((
                store::sold_bookings(conn, from, to, zone)?,
                store::held_shifts(conn, from, to)?,
                store::unattended_holdings(conn, from, tomorrow)?,
                store::shops(conn)?,
                store::live_facts(conn, since, now)?,
                store::outbox_facts(conn)?,
                store::payroll_facts(conn)?,
            ))
        })
        .await?;
    let grace = Duration::minutes(rules.shifts.no_show_grace_minutes.into());
    let target = rules.chat.first_response_target_secs;
    Ok(OperationsDashboard {
        at: now.and_utc(),
        time_zone: zone.name().to_owned(),
        today,
        no_show_grace_minutes: rules.shifts.no_show_grace_minutes,
        target_secs: target,
        coverage: operations::coverage(
            zone,
            (market.bookable_start_hour, market.bookable_end_hour),
            today,
            days,
            &sold,
            &held,
        ),
        no_shows: operations::no_shows(&holdings, grace, now, zone),
        queues: operations::queue_health(&shops, &chats, &staff, now, target),
        outbox: operations::outbox_backlog(&counts, oldest, now),
        payroll: operations::payroll_status(runs, &disputes),
    })
}

/// The platform's operations now: seats sold against seats staffed per market hour for the
/// coming `days` (understaffed hours flagged), today's no-shows, every active shop's queue
/// (waiting chats, longest wait, agents on shift and online, service level of the last 15
/// minutes), the mail outbox's backlog and the latest payroll runs with open disputes.
/// Definitions in the notes of `src/analytics/operations.rs`.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(OperationsQuery),
    responses(
        (status = 200, body = OperationsDashboard),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`days` not a whole number (`invalid_number`) or not 1-14 (`out_of_range`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/operations")]
async fn dashboard_api(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<OperationsQuery>,
) -> Result<web::Json<OperationsDashboard>, AppError> {
    let days = operations::parse_days(query.days.as_deref())?;
    Ok(web::Json(dashboard(&state, days).await?))
}
