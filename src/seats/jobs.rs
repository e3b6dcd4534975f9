//! The background task (seats here, then certification's share in
//! [`crate::certification::jobs`]). For seats it releases expired holds, moves bookings to
//! active and completed by the clock, and sends the "renewal window opens tomorrow"
//! notices. Every step is conditional in the database, so several instances may run it.

use std::time::Duration;

use actix_web::web;
use tokio::sync::watch;

use super::service;
use crate::state::AppState;

/// How often the planner statistics are refreshed ([`crate::db::optimize`]).
const OPTIMIZE_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(state: web::Data<AppState>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut optimized = tokio::time::Instant::now();
    loop {
        if *shutdown.borrow() {
            break;
        }
        if optimized.elapsed() >= OPTIMIZE_EVERY {
            optimized = tokio::time::Instant::now();
            if let Err(e) = state.db.run(crate::db::optimize).await {
                tracing::warn!(error = %e, "refreshing the planner statistics failed; will retry");
            }
        }
        tick(&state).await;
        crate::certification::jobs::tick(&state).await;
        crate::shifts::jobs::tick(&state).await;
        crate::quality::levels_store::tick(&state).await;
        crate::analytics::merchant_reports::tick(&state).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// A housekeeping step that writes mail: what it did, counted.
pub(crate) type Step = fn(
    &mut crate::db::DbConn,
    chrono::NaiveDateTime,
    &crate::certification::mails::MailCtx,
) -> Result<usize, crate::error::AppError>;

/// Runs one step on its own connection with the service clock; a failure is logged and
/// counts as nothing done, so one step never holds up the others (it is retried next pass).
pub(crate) async fn run_step(
    state: &AppState,
    ctx: &crate::certification::mails::MailCtx,
    name: &'static str,
    f: Step,
) -> usize {
    let clock = state.clock.clone();
    let ctx = ctx.clone();
    match state.db.run(move |conn| f(conn, clock.now(), &ctx)).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(step = name, error = %e, "housekeeping step failed; will retry");
            0
        }
    }
}

/// One pass; returns (bookings moved, notices sent).
pub async fn tick(state: &AppState) -> (usize, usize) {
    let rules = state.rules();
    let clock = state.clock.clone();
    let result = state
        .db
        .run(move |conn| {
            let now = clock.now();
            let moved = service::housekeeping(conn, &rules, now)?;
            let today = clock.today_in(rules.market.time_zone);
            let notices = service::renewal_notices(conn, &rules, today, now)?;
            Ok::<_, crate::error::AppError>((moved, notices))
        })
        .await;
    match result {
        Ok((moved, notices)) => {
            if moved > 0 || notices > 0 {
                tracing::info!(moved, notices, "seat housekeeping");
            }
            if notices > 0 {
                state.wake_outbox();
            }
            (moved, notices)
        }
        Err(e) => {
            tracing::warn!(error = %e, "seat housekeeping failed; will retry");
            (0, 0)
        }
    }
}
