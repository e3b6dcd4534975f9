//! Shifts' share of the background work: no-shows (reopened with the urgent bonus),
//! completion at the end of a checked-in shift, reminders before the start, and swap offers
//! that ran past their cutoff. Each shift is handled in its own transaction, conditional in
//! the database, so several instances may run this and one bad row never blocks the rest.

use chrono::{Duration, NaiveDateTime};

use super::service::{self, Calendar, mail};
use super::store::{self, ShiftRow};
use crate::certification::mails::MailCtx;
use crate::db::{DbConn, write_transaction};
use crate::error::AppError;
use crate::mail::templates::ShiftNotice;
use crate::seats::jobs::run_step;
use crate::state::AppState;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub no_shows: usize,
    pub completed: usize,
    pub reminders: usize,
    pub swaps_expired: usize,
}

/// Runs `each` on every row `due` lists, one transaction per row; failures are logged and
/// the row is tried again next time.
fn per_row(
    conn: &mut DbConn,
    step: &'static str,
    due: impl FnOnce(&mut DbConn) -> Result<Vec<ShiftRow>, AppError>,
    mut each: impl FnMut(&mut DbConn, &ShiftRow) -> Result<bool, AppError>,
) -> Result<usize, AppError> {
    let mut done = 0;
    for shift in due(conn)? {
        match write_transaction(conn, |conn| each(conn, &shift)) {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(step, shift = %shift.id, error = %e, "shift step failed; will retry")
            }
        }
    }
    Ok(done)
}

pub fn no_shows(conn: &mut DbConn, now: NaiveDateTime, ctx: &MailCtx) -> Result<usize, AppError> {
    let grace = Duration::minutes(ctx.rules.shifts.no_show_grace_minutes.into());
    per_row(
        conn,
        "no_shows",
        |conn| Ok(store::no_shows_due(conn, now - grace)?),
        |conn, shift| service::mark_no_show(conn, ctx, shift, now),
    )
}

pub fn complete_ended(
    conn: &mut DbConn,
    now: NaiveDateTime,
    _ctx: &MailCtx,
) -> Result<usize, AppError> {
    per_row(
        conn,
        "complete_ended",
        |conn| Ok(store::ended_checked_in(conn, now)?),
        |conn, shift| {
            let Some(a) = store::current_assignment(conn, &shift.id)? else {
                return Ok(false);
            };
            service::complete(conn, shift, &a, shift.ends_at, now, None)
        },
    )
}

pub fn reminders(conn: &mut DbConn, now: NaiveDateTime, ctx: &MailCtx) -> Result<usize, AppError> {
    let ahead = Duration::hours(ctx.rules.shifts.reminder_hours.into());
    per_row(
        conn,
        "reminders",
        |conn| Ok(store::starting_soon(conn, now, now + ahead)?),
        |conn, shift| {
            let Some(a) = store::current_assignment(conn, &shift.id)? else {
                return Ok(false);
            };
            // Once per holding: whoever takes the shift over later is reminded too.
            if !crate::seats::store::claim_notification(conn, "shift_reminder", &a.id, now)? {
                return Ok(false);
            }
            let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
            let agent = crate::accounts::model::AccountId(a.agent_id);
            mail(
                conn,
                ctx,
                &agent,
                &listing,
                ShiftNotice::Reminder,
                Calendar::None,
                now,
            )?;
            Ok(true)
        },
    )
}

pub fn expire_swaps(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &MailCtx,
) -> Result<usize, AppError> {
    let cutoff = Duration::hours(ctx.rules.shifts.swap_cutoff_hours.into());
    Ok(store::expire_swap_offers(conn, now + cutoff)?)
}

pub async fn tick(state: &AppState) -> Done {
    let ctx = MailCtx::new(state);
    let step = |name, f| run_step(state, &ctx, name, f);
    let done = Done {
        no_shows: step("no_shows", no_shows).await,
        completed: step("complete_ended", complete_ended).await,
        reminders: step("reminders", reminders).await,
        swaps_expired: step("expire_swaps", expire_swaps).await,
    };
    if done != Done::default() {
        tracing::info!(?done, "shift housekeeping");
        state.wake_outbox();
    }
    done
}
