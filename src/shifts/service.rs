//! Shift use cases: the job board, claiming, releasing, attendance and the swap board. Each
//! runs in one write transaction; the decisions are the pure rules in [`super::claim`], and
//! every change is a lifecycle event (pay and churn are computed from them) and, where the
//! agent should know, a mail written to the outbox in the same transaction.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::claim::{self, AgentFacts, Block, Refusal};
use super::ics;
use super::store::{self, AssignmentRow, OpenFilter, Outcome, ShiftListing, ShiftRow, Via};
use crate::accounts::model::{AccountId, AgentStatus, Locale, TimeZone};
use crate::accounts::service::account_locale;
use crate::accounts::store as accounts;
use crate::audit::{self, LifecycleEvent};
use crate::certification::mails::MailCtx;
use crate::db::schema::agents;
use crate::db::{DbConn, write_transaction};
use crate::error::AppError;
use crate::mail::templates::{MailKind, ShiftMail, ShiftNotice, render};
use crate::mail::{Attachment, outbox};
use crate::seats::booking::yuan;
use crate::seats::rules::Ruleset;
use crate::state::AppState;

/// An urgent shift (reopened after a no-show) may be taken over while at least this much of
/// it is left.
pub const URGENT_MIN_LEFT_MINUTES: i64 = 30;

/// How many agents hear of one urgent shift.
pub const URGENT_ALERTS: i64 = 50;

/// What calendar entry goes with a shift mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    None,
    /// The shift is the agent's: add or update it.
    Add,
    /// The shift is no longer theirs: the same event, cancelled, so calendars drop it.
    Remove,
}

/// A shift as an agent sees it, in their own time zone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftView {
    pub id: String,
    pub booking_id: String,
    /// The merchant's display name.
    pub merchant: String,
    pub merchant_id: String,
    pub skill: String,
    /// The skill's name in the caller's language.
    pub skill_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Start and end in `time_zone`, `YYYY-MM-DD HH:MM`.
    pub local_start: String,
    pub local_end: String,
    /// The viewer's zone.
    pub time_zone: String,
    pub hours: f64,
    /// `open`, `claimed`, `checked_in`, `completed` or `cancelled`.
    pub status: String,
    /// Whether the caller holds it now.
    pub mine: bool,
    /// The hourly pay for the shift's hours at quality 1.0 plus any urgent bonus, in fen.
    /// The piece-rate part (chats handled, quality) comes on top or below in payroll.
    pub pay_estimate_fen: i64,
    pub urgent_bonus_fen: i64,
    /// Until when only agents with early access may claim it; absent once everyone may.
    pub early_access_until: Option<DateTime<Utc>>,
    /// Releasing before this is free; later counts as a late release.
    pub free_release_until: DateTime<Utc>,
    pub check_in_opens_at: DateTime<Utc>,
    /// After this an unchecked-in shift is a no-show.
    pub check_in_closes_at: DateTime<Utc>,
    pub swap_offered: bool,
    pub swap_closes_at: DateTime<Utc>,
    /// The caller's check-in, if they hold or held it.
    pub checked_in_at: Option<DateTime<Utc>>,
    /// How the caller's holding ended: `worked`, `released`, `released_late`, `no_show`,
    /// `swapped_out` or `cancelled`; absent while they hold it.
    pub outcome: Option<String>,
}

/// The zone and language a view or mail is written for.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: AccountId,
    pub zone: Tz,
    pub locale: Locale,
}

pub fn viewer(conn: &mut DbConn, id: &AccountId) -> Result<Viewer, AppError> {
    let account = accounts::find(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(Viewer {
        id: id.clone(),
        zone: TimeZone::parse(&account.time_zone).unwrap_or_default().0,
        locale: account_locale(&account),
    })
}

pub fn local(zone: Tz, t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Pay for the shift's hours at the skill's hourly rate, plus its urgent bonus.
pub fn pay_estimate(rules: &Ruleset, shift: &ShiftRow) -> i64 {
    let hourly = rules.skill(&shift.skill).map_or(0, |s| s.agent_hourly_fen);
    hourly * shift.block().minutes() / 60 + shift.urgent_bonus_fen
}

pub fn view(
    rules: &Ruleset,
    viewer: &Viewer,
    listing: ShiftListing,
    mine: Option<&AssignmentRow>,
    now: NaiveDateTime,
) -> ShiftView {
    let s = &rules.shifts;
    let ShiftListing {
        shift,
        merchant,
        confirmed_at,
    } = listing;
    let early_until = confirmed_at.map(|c| c + Duration::hours(s.early_access_hours.into()));
    let holding = mine.filter(|a| a.ended_at.is_none());
    ShiftView {
        pay_estimate_fen: pay_estimate(rules, &shift),
        skill_name: rules.skill_name(&shift.skill, viewer.locale),
        local_start: local(viewer.zone, shift.starts_at),
        local_end: local(viewer.zone, shift.ends_at),
        time_zone: viewer.zone.name().to_owned(),
        hours: shift.block().minutes() as f64 / 60.0,
        mine: shift.held_by(&viewer.id) && holding.is_some(),
        early_access_until: early_until
            .filter(|t| shift.status == "open" && *t > now)
            .map(|t| t.and_utc()),
        free_release_until: (shift.starts_at - Duration::hours(s.free_release_hours.into()))
            .and_utc(),
        check_in_opens_at: (shift.starts_at - Duration::minutes(s.check_in_opens_minutes.into()))
            .and_utc(),
        check_in_closes_at: (shift.starts_at + Duration::minutes(s.no_show_grace_minutes.into()))
            .and_utc(),
        swap_offered: shift.swap_offered_at.is_some(),
        swap_closes_at: (shift.starts_at - Duration::hours(s.swap_cutoff_hours.into())).and_utc(),
        checked_in_at: mine.and_then(|a| a.checked_in_at).map(|t| t.and_utc()),
        outcome: mine.and_then(|a| a.outcome.clone()),
        starts_at: shift.starts_at.and_utc(),
        ends_at: shift.ends_at.and_utc(),
        urgent_bonus_fen: shift.urgent_bonus_fen,
        id: shift.id,
        booking_id: shift.booking_id,
        merchant_id: shift.merchant_id,
        skill: shift.skill,
        status: shift.status,
        merchant,
    }
}

// ----- the job board -----

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// Only shifts starting on this day (`YYYY-MM-DD`, in the caller's time zone).
    pub date: Option<String>,
    /// Only this skill.
    pub skill: Option<String>,
    /// Only this merchant (its id).
    pub merchant: Option<String>,
}

/// The caller's local day as a UTC window.
fn day_window(zone: Tz, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    (
        claim::local_midnight(zone, day),
        claim::local_midnight(zone, day + Duration::days(1)),
    )
}

pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, AppError> {
    raw.trim().parse().map_err(|_| {
        AppError::field(
            field,
            "invalid_date",
            format!("{raw:?} is not a date like 2026-12-01"),
        )
    })
}

/// Open shifts the agent is certified for, soonest first; `cursor` is the id of the last
/// shift of the previous page.
pub async fn open(
    state: &AppState,
    agent: AccountId,
    q: OpenQuery,
    cursor: Option<String>,
    limit: i64,
) -> Result<Vec<ShiftView>, AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    if let Some(skill) = q.skill.as_deref()
        && rules.skill(skill).is_none()
    {
        return Err(AppError::field(
            "skill",
            "unknown_skill",
            format!("no skill {skill:?} in the seat rules"),
        ));
    }
    let date = q
        .date
        .as_deref()
        .map(|d| parse_date("date", d))
        .transpose()?;
    Ok(state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let viewer = viewer(conn, &agent)?;
            let (from, to) = match date {
                Some(d) => {
                    let (f, t) = day_window(viewer.zone, d);
                    (Some(f), Some(t))
                }
                None => (None, None),
            };
            let after = match cursor {
                Some(id) => Some(
                    store::find(conn, &id)?
                        .map(|s| (s.starts_at, s.id))
                        .ok_or_else(|| {
                            AppError::field(
                                "cursor",
                                "invalid_cursor",
                                "this cursor is not one we issued",
                            )
                        })?,
                ),
                None => None,
            };
            let filter = OpenFilter {
                certified: Some(agent.clone()),
                skill: q.skill,
                merchant: q.merchant,
                from,
                to,
            };
            let rows = store::open_shifts(
                conn,
                &filter,
                now,
                now + Duration::minutes(URGENT_MIN_LEFT_MINUTES),
                after,
                limit,
            )?;
            Ok(rows
                .into_iter()
                .map(|l| view(&rules, &viewer, l, None, now))
                .collect())
        })
        .await?)
}

// ----- claiming -----

fn refusal(r: Refusal) -> AppError {
    let extra = match r {
        Refusal::EarlyAccess { opens_at } => {
            serde_json::json!({ "opens_at": opens_at.and_utc() })
        }
        Refusal::Overlap { with } | Refusal::Rest { near: with } => {
            serde_json::json!({ "other_shift_starts_at": with.and_utc() })
        }
        Refusal::DailyHours { minutes } | Refusal::WeeklyHours { minutes } => {
            serde_json::json!({ "hours": minutes as f64 / 60.0 })
        }
        _ => serde_json::json!({}),
    };
    let status = match r {
        Refusal::Suspended => return AppError::Forbidden { code: r.code() },
        _ => r.to_string(),
    };
    AppError::conflict_with(r.code(), status, extra)
}

/// The part of `shift` an agent joining now would work: all of it before the start; the
/// rest of an urgent shift already under way.
fn claimable_block(shift: &ShiftRow, now: NaiveDateTime) -> Result<Block, AppError> {
    if now < shift.starts_at {
        return Ok(shift.block());
    }
    let left = shift.ends_at - now;
    if shift.urgent_bonus_fen > 0 && left >= Duration::minutes(URGENT_MIN_LEFT_MINUTES) {
        return Ok(Block {
            start: now + Duration::minutes(1),
            end: shift.ends_at,
        });
    }
    Err(refusal(Refusal::Started))
}

/// Gathers what [`claim::check_claim`] needs about the agent (`viewer`) for `shift` and
/// asks it; returns the part of the shift the agent would hold.
fn check(
    conn: &mut DbConn,
    rules: &Ruleset,
    viewer: &Viewer,
    shift: &ShiftRow,
    confirmed_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Block, AppError> {
    let agent = &viewer.id;
    let status = crate::certification::trials::agent_status(conn, agent)?;
    let block = claimable_block(shift, now)?;
    let certified = crate::certification::trials::certified_during(
        conn,
        agent,
        &shift.skill,
        shift.starts_at,
        shift.ends_at,
    )?;
    let early_window_open =
        now < confirmed_at + Duration::hours(rules.shifts.early_access_hours.into());
    let early_access = early_window_open && {
        let served =
            store::served_previous_booking(conn, agent, &shift.merchant_id, &shift.booking_id)?;
        served
            || claim::early_access(
                served,
                rules
                    .levels
                    .grants_early_access(crate::quality::levels_store::level_of(conn, agent)?),
                super::staffing::recent_adherence(conn, agent, now)?.ratio_bp,
                super::staffing::AT_RISK_BP,
            )
    };
    let blocks = store::committed_blocks(conn, agent, now, Some(&shift.id))?;
    let facts = AgentFacts {
        suspended: matches!(status, AgentStatus::Suspended | AgentStatus::Left),
        certified,
        early_access,
        zone: viewer.zone,
        shifts: &blocks,
    };
    claim::check_claim(
        &block,
        confirmed_at,
        &facts,
        &rules.shifts.claim_limits(),
        now,
    )
    .map_err(refusal)?;
    Ok(block)
}

/// Loads a shift for a change, refusing one whose booking was cancelled.
fn live_shift(conn: &mut DbConn, id: &str) -> Result<(ShiftRow, NaiveDateTime), AppError> {
    let shift = store::find(conn, id)?.ok_or(AppError::NotFound)?;
    let (booking_status, confirmed_at) = store::booking_state(conn, &shift.booking_id)?;
    if booking_status == "cancelled" || shift.status == "cancelled" {
        return Err(AppError::conflict(
            "booking_cancelled",
            "the merchant cancelled this booking; its shifts are gone",
        ));
    }
    let confirmed_at = confirmed_at.unwrap_or(shift.starts_at);
    Ok((shift, confirmed_at))
}

fn event(
    conn: &mut DbConn,
    shift: &str,
    from: &str,
    to: &str,
    actor: Option<&AccountId>,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::record_lifecycle(
        conn,
        LifecycleEvent {
            entity_type: "shift",
            entity_id: shift,
            from_state: Some(from),
            to_state: to,
            actor,
            reason: Some(reason),
        },
        now,
    )?;
    Ok(())
}

/// Claims `id` for `agent` (or assigns it, for auto-assignment and swaps the checks are
/// the same). Returns the shift as the agent now sees it.
pub fn claim_in(
    conn: &mut DbConn,
    ctx: &MailCtx,
    agent: &AccountId,
    id: &str,
    via: Via,
    actor: Option<&AccountId>,
    now: NaiveDateTime,
) -> Result<ShiftView, AppError> {
    crate::certification::store::lock_agent(conn, agent)?;
    let (shift, confirmed_at) = live_shift(conn, id)?;
    if shift.status != "open" {
        if shift.held_by(agent) {
            return Err(AppError::conflict(
                "already_yours",
                "you already hold this shift",
            ));
        }
        return Err(AppError::conflict(
            "shift_taken",
            "another agent claimed this shift first",
        ));
    }
    let viewer = viewer(conn, agent)?;
    let block = check(conn, &ctx.rules, &viewer, &shift, confirmed_at, now)?;
    if !store::take_open(conn, &shift.id, agent, now)? {
        return Err(AppError::conflict(
            "shift_taken",
            "another agent claimed this shift first",
        ));
    }
    store::insert_assignment(conn, &shift, agent, via, block.start, now)?;
    event(
        conn,
        &shift.id,
        "open",
        "claimed",
        actor.or(Some(agent)),
        via.as_str(),
        now,
    )?;
    let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
    let notice = match via {
        Via::Auto => ShiftNotice::Assigned,
        Via::Claim => ShiftNotice::Claimed,
        Via::Swap => ShiftNotice::SwappedIn,
    };
    mail(conn, ctx, agent, &listing, notice, Calendar::Add, now)?;
    view_for(conn, ctx, &viewer, listing, now)
}

fn my_view(
    conn: &mut DbConn,
    ctx: &MailCtx,
    agent: &AccountId,
    listing: ShiftListing,
    now: NaiveDateTime,
) -> Result<ShiftView, AppError> {
    let viewer = viewer(conn, agent)?;
    view_for(conn, ctx, &viewer, listing, now)
}

/// The shift as `viewer` sees it, with their latest holding of it.
fn view_for(
    conn: &mut DbConn,
    ctx: &MailCtx,
    viewer: &Viewer,
    listing: ShiftListing,
    now: NaiveDateTime,
) -> Result<ShiftView, AppError> {
    let mine = latest_assignment(conn, &viewer.id, &listing.shift.id)?;
    Ok(view(&ctx.rules, viewer, listing, mine.as_ref(), now))
}

fn latest_assignment(
    conn: &mut DbConn,
    agent: &AccountId,
    shift: &str,
) -> QueryResult<Option<AssignmentRow>> {
    use crate::db::schema::shift_assignments as sa;
    sa::table
        .filter(sa::shift_id.eq(shift))
        .filter(sa::agent_id.eq(agent.as_str()))
        .order(sa::claimed_at.desc())
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()
}

/// Runs `f` in one write transaction with the mail context and the service clock.
async fn in_tx<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &MailCtx, NaiveDateTime) -> Result<T, AppError> + Send + 'static,
{
    let ctx = MailCtx::new(state);
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| write_transaction(conn, |conn| f(conn, &ctx, clock.now())))
        .await?)
}

pub async fn claim(state: &AppState, agent: AccountId, id: String) -> Result<ShiftView, AppError> {
    in_tx(state, move |conn, ctx, now| {
        claim_in(conn, ctx, &agent, &id, Via::Claim, None, now)
    })
    .await
}

/// The shift and the caller's current holding of it, refusing anyone else's shift.
fn held(
    conn: &mut DbConn,
    agent: &AccountId,
    id: &str,
) -> Result<(ShiftRow, AssignmentRow), AppError> {
    let (shift, _) = live_shift(conn, id)?;
    let current = store::current_assignment(conn, &shift.id)?;
    match current {
        Some(a) if a.agent_id == agent.as_str() => Ok((shift, a)),
        _ if shift.status == "completed" => Err(AppError::conflict(
            "shift_completed",
            "this shift is over and can no longer change",
        )),
        _ => Err(AppError::Forbidden {
            code: "not_your_shift",
        }),
    }
}

/// Gives a claimed shift back to the job board. Free until the cutoff; later it is recorded
/// as a late release and counts against the agent's reliability.
pub async fn release(
    state: &AppState,
    agent: AccountId,
    id: String,
) -> Result<ShiftView, AppError> {
    in_tx(state, move |conn, ctx, now| {
        let (shift, assignment) = held(conn, &agent, &id)?;
        match shift.status.as_str() {
            "claimed" => {}
            "checked_in" => {
                return Err(AppError::conflict(
                    "already_checked_in",
                    "you are checked in; check out at the end instead",
                ));
            }
            _ => {
                return Err(AppError::conflict(
                    "shift_completed",
                    "this shift is over and can no longer change",
                ));
            }
        }
        if now >= shift.starts_at {
            return Err(AppError::conflict(
                "shift_started",
                "the shift has started; it can no longer be released",
            ));
        }
        let cutoff = shift.starts_at - Duration::hours(ctx.rules.shifts.free_release_hours.into());
        let late = now > cutoff;
        let outcome = if late {
            Outcome::ReleasedLate
        } else {
            Outcome::Released
        };
        if !store::reopen(conn, &shift.id, agent.as_str(), "claimed", None, now)? {
            return Err(AppError::conflict(
                "shift_changed",
                "the shift changed meanwhile",
            ));
        }
        store::end_assignment(conn, &assignment.id, outcome, None, now)?;
        event(
            conn,
            &shift.id,
            "claimed",
            "open",
            Some(&agent),
            outcome.as_str(),
            now,
        )?;
        let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
        mail(
            conn,
            ctx,
            &agent,
            &listing,
            ShiftNotice::Released { late },
            Calendar::Remove,
            now,
        )?;
        my_view(conn, ctx, &agent, listing, now)
    })
    .await
}

pub async fn check_in(
    state: &AppState,
    agent: AccountId,
    id: String,
) -> Result<ShiftView, AppError> {
    in_tx(state, move |conn, ctx, now| {
        if matches!(
            crate::certification::trials::agent_status(conn, &agent)?,
            AgentStatus::Suspended | AgentStatus::Left
        ) {
            return Err(refusal(Refusal::Suspended));
        }
        let (shift, assignment) = held(conn, &agent, &id)?;
        let s = &ctx.rules.shifts;
        if shift.status == "checked_in" {
            return Err(AppError::conflict(
                "already_checked_in",
                "you are already checked in",
            ));
        }
        if shift.status != "claimed" {
            return Err(AppError::conflict(
                "shift_completed",
                "this shift is over and can no longer change",
            ));
        }
        let opens = shift.starts_at - Duration::minutes(s.check_in_opens_minutes.into());
        // Whoever took over an urgent shift late checks in from their claim on.
        let closes = (shift.starts_at + Duration::minutes(s.no_show_grace_minutes.into()))
            .max(assignment.claimed_at + Duration::minutes(s.no_show_grace_minutes.into()));
        if now < opens {
            return Err(AppError::conflict_with(
                "check_in_not_open",
                "check-in opens shortly before the shift starts",
                serde_json::json!({ "opens_at": opens.and_utc() }),
            ));
        }
        if now > closes || now >= shift.ends_at {
            return Err(AppError::conflict_with(
                "check_in_closed",
                "check-in for this shift has closed",
                serde_json::json!({ "closed_at": closes.and_utc() }),
            ));
        }
        if !store::set_status(
            conn,
            &shift.id,
            agent.as_str(),
            "claimed",
            "checked_in",
            now,
        )? {
            return Err(AppError::conflict(
                "shift_changed",
                "the shift changed meanwhile",
            ));
        }
        store::mark_checked_in(conn, &assignment.id, now)?;
        let reason = if now > shift.starts_at {
            "late"
        } else {
            "on_time"
        };
        event(
            conn,
            &shift.id,
            "claimed",
            "checked_in",
            Some(&agent),
            reason,
            now,
        )?;
        let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
        my_view(conn, ctx, &agent, listing, now)
    })
    .await
}

pub async fn check_out(
    state: &AppState,
    agent: AccountId,
    id: String,
) -> Result<ShiftView, AppError> {
    in_tx(state, move |conn, ctx, now| {
        let (shift, assignment) = held(conn, &agent, &id)?;
        if shift.status != "checked_in" {
            return Err(AppError::conflict(
                "not_checked_in",
                "check in before checking out",
            ));
        }
        // Leaving before the start would leave the seat empty yet "completed".
        if now < shift.starts_at {
            return Err(AppError::conflict_with(
                "shift_not_started",
                "the shift has not started; release it instead if you cannot work it",
                serde_json::json!({ "starts_at": shift.starts_at.and_utc() }),
            ));
        }
        complete(
            conn,
            &shift,
            &assignment,
            now.min(shift.ends_at),
            now,
            Some(&agent),
        )?;
        let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
        my_view(conn, ctx, &agent, listing, now)
    })
    .await
}

/// A suspended or departed agent's claimed shifts that have not begun go back on the job
/// board, so the shops can still be staffed. Each counts as the agent's release (late past the
/// free-release cutoff); a shift they are checked in to runs its course.
pub fn give_up_held(
    conn: &mut DbConn,
    rules: &crate::seats::rules::ShiftRules,
    agent: &AccountId,
    why: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let held = store::claimed_by(conn, agent, now)?;
    let mut given = 0;
    for shift in held {
        let Some(assignment) = store::current_assignment(conn, &shift.id)? else {
            continue;
        };
        if !store::reopen(conn, &shift.id, agent.as_str(), "claimed", None, now)? {
            continue;
        }
        let late = now > shift.starts_at - Duration::hours(rules.free_release_hours.into());
        let outcome = if late {
            Outcome::ReleasedLate
        } else {
            Outcome::Released
        };
        store::end_assignment(conn, &assignment.id, outcome, None, now)?;
        event(conn, &shift.id, "claimed", "open", None, why, now)?;
        given += 1;
    }
    Ok(given)
}

/// Ends a worked shift (by the agent's check-out, or at its end by the job).
pub fn complete(
    conn: &mut DbConn,
    shift: &ShiftRow,
    assignment: &AssignmentRow,
    out_at: NaiveDateTime,
    now: NaiveDateTime,
    actor: Option<&AccountId>,
) -> Result<bool, AppError> {
    if !store::set_status(
        conn,
        &shift.id,
        &assignment.agent_id,
        "checked_in",
        "completed",
        now,
    )? {
        return Ok(false);
    }
    store::end_assignment(conn, &assignment.id, Outcome::Worked, Some(out_at), now)?;
    event(
        conn,
        &shift.id,
        "checked_in",
        "completed",
        actor,
        if actor.is_some() {
            "checked_out"
        } else {
            "ended"
        },
        now,
    )?;
    Ok(true)
}

/// A claimed shift nobody checked in to by its start plus the grace: the holding ends as a
/// no-show and the shift goes back on the board with the urgent bonus.
pub fn mark_no_show(
    conn: &mut DbConn,
    ctx: &MailCtx,
    shift: &ShiftRow,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let Some(assignment) = store::current_assignment(conn, &shift.id)? else {
        return Ok(false);
    };
    let grace = Duration::minutes(ctx.rules.shifts.no_show_grace_minutes.into());
    // Taken over late (urgent): the grace runs from the claim.
    if !claim::check_in_missed(shift.starts_at, assignment.claimed_at, grace, now) {
        return Ok(false);
    }
    let bonus = shift
        .urgent_bonus_fen
        .max(ctx.rules.shifts.urgent_bonus_fen);
    if !store::reopen(
        conn,
        &shift.id,
        &assignment.agent_id,
        "claimed",
        Some(bonus),
        now,
    )? {
        return Ok(false);
    }
    store::end_assignment(conn, &assignment.id, Outcome::NoShow, None, now)?;
    event(conn, &shift.id, "claimed", "no_show", None, "no_show", now)?;
    event(conn, &shift.id, "no_show", "open", None, "urgent", now)?;
    let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
    let agent = AccountId(assignment.agent_id.clone());
    mail(
        conn,
        ctx,
        &agent,
        &listing,
        ShiftNotice::NoShow,
        Calendar::Remove,
        now,
    )?;
    if listing.shift.ends_at - now >= Duration::minutes(URGENT_MIN_LEFT_MINUTES) {
        alert_urgent(conn, ctx, &listing, &agent, now)?;
    }
    Ok(true)
}

/// Agents who asked to hear about urgent shifts, are certified for the skill, free at the
/// time and not the one who missed it; at most [`URGENT_ALERTS`] of them (the first to claim
/// wins, so more mail would only disappoint more people).
fn alert_urgent(
    conn: &mut DbConn,
    ctx: &MailCtx,
    listing: &ShiftListing,
    missed_by: &AccountId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    use crate::db::schema::certifications as c;
    let shift = &listing.shift;
    use crate::db::schema::shift_assignments as sa;
    let who: Vec<AccountId> = agents::table
        .inner_join(c::table.on(c::agent_id.eq(agents::account_id)))
        .filter(agents::urgent_alerts.eq(true))
        .filter(agents::status.eq("certified"))
        .filter(agents::account_id.ne(missed_by.as_str()))
        .filter(c::skill.eq(&shift.skill))
        .filter(c::certified_at.le(now))
        .filter(c::expires_at.ge(shift.ends_at))
        // Not busy at the time: nobody is told of a shift they could not take.
        .filter(diesel::dsl::not(diesel::dsl::exists(
            sa::table
                .filter(sa::agent_id.eq(agents::account_id))
                .filter(sa::ended_at.is_null())
                .filter(sa::starts_at.lt(shift.ends_at))
                .filter(sa::ends_at.gt(now)),
        )))
        .select(agents::account_id)
        .order(agents::account_id.asc())
        .limit(URGENT_ALERTS)
        .load(conn)?;
    for agent in who {
        mail(
            conn,
            ctx,
            &agent,
            listing,
            ShiftNotice::Urgent,
            Calendar::None,
            now,
        )?;
    }
    Ok(())
}

// ----- swap board -----

/// Refuses once the swap cutoff before the start has passed.
fn swap_open(ctx: &MailCtx, shift: &ShiftRow, now: NaiveDateTime) -> Result<(), AppError> {
    let cutoff = shift.starts_at - Duration::hours(ctx.rules.shifts.swap_cutoff_hours.into());
    if now >= cutoff {
        return Err(AppError::conflict_with(
            "swap_closed",
            "swaps for this shift have closed",
            serde_json::json!({ "closed_at": cutoff.and_utc() }),
        ));
    }
    Ok(())
}

pub async fn offer_swap(
    state: &AppState,
    agent: AccountId,
    id: String,
    offer: bool,
) -> Result<ShiftView, AppError> {
    in_tx(state, move |conn, ctx, now| {
        let (shift, _) = held(conn, &agent, &id)?;
        if shift.status != "claimed" {
            return Err(AppError::conflict(
                "not_swappable",
                "only a claimed shift that has not begun can be swapped",
            ));
        }
        if offer {
            swap_open(ctx, &shift, now)?;
        }
        if !store::set_swap_offer(conn, &shift.id, agent.as_str(), offer.then_some(now), now)? {
            return Err(AppError::conflict(
                "shift_changed",
                "the shift changed meanwhile",
            ));
        }
        event(
            conn,
            &shift.id,
            "claimed",
            "claimed",
            Some(&agent),
            if offer {
                "swap_offered"
            } else {
                "swap_withdrawn"
            },
            now,
        )?;
        let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
        my_view(conn, ctx, &agent, listing, now)
    })
    .await
}

/// Shifts other agents offer that the caller is certified for.
pub async fn swap_board(state: &AppState, agent: AccountId) -> Result<Vec<ShiftView>, AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let viewer = viewer(conn, &agent)?;
            let cutoff = now + Duration::hours(rules.shifts.swap_cutoff_hours.into());
            Ok(store::swap_offers(conn, &agent, cutoff)?
                .into_iter()
                .map(|l| view(&rules, &viewer, l, None, now))
                .collect())
        })
        .await?)
}

/// Takes over a shift offered on the swap board: every claim rule is checked again for the
/// taker (early access no longer applies: the shift was already claimed).
pub async fn take_swap(
    state: &AppState,
    agent: AccountId,
    id: String,
) -> Result<ShiftView, AppError> {
    in_tx(state, move |conn, ctx, now| {
        crate::certification::store::lock_agent(conn, &agent)?;
        let (shift, _) = live_shift(conn, &id)?;
        let (Some(holder), Some(_)) = (shift.agent_id.clone(), shift.swap_offered_at) else {
            return Err(AppError::conflict(
                "not_offered",
                "this shift is not offered for a swap",
            ));
        };
        if shift.status != "claimed" {
            return Err(AppError::conflict(
                "not_offered",
                "this shift is not offered for a swap",
            ));
        }
        if holder == agent.as_str() {
            return Err(AppError::conflict(
                "already_yours",
                "you already hold this shift",
            ));
        }
        swap_open(ctx, &shift, now)?;
        // The early-access window has no say over a shift that is already staffed.
        let viewer = viewer(conn, &agent)?;
        check(conn, &ctx.rules, &viewer, &shift, NaiveDateTime::MIN, now)?;
        let previous = store::current_assignment(conn, &shift.id)?.ok_or(AppError::NotFound)?;
        if !store::take_offered(conn, &shift.id, &holder, &agent, now)? {
            return Err(AppError::conflict(
                "not_offered",
                "this shift is not offered for a swap any more",
            ));
        }
        store::end_assignment(conn, &previous.id, Outcome::SwappedOut, None, now)?;
        store::insert_assignment(conn, &shift, &agent, Via::Swap, shift.starts_at, now)?;
        event(
            conn,
            &shift.id,
            "claimed",
            "claimed",
            Some(&agent),
            "swapped",
            now,
        )?;
        let listing = store::find_listing(conn, &shift.id)?.ok_or(AppError::NotFound)?;
        let holder = AccountId(holder);
        mail(
            conn,
            ctx,
            &holder,
            &listing,
            ShiftNotice::SwappedOut,
            Calendar::Remove,
            now,
        )?;
        mail(
            conn,
            ctx,
            &agent,
            &listing,
            ShiftNotice::SwappedIn,
            Calendar::Add,
            now,
        )?;
        view_for(conn, ctx, &viewer, listing, now)
    })
    .await
}

// ----- my shifts -----

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// First local day (`YYYY-MM-DD`, default: 7 days ago).
    pub from: Option<String>,
    /// Last local day, included (default: 28 days after `from`). At most 92 days.
    pub to: Option<String>,
}

/// The agent's shifts (held now, or held before and how that ended) in a window of local
/// days, by start.
pub async fn mine(
    state: &AppState,
    agent: AccountId,
    q: MineQuery,
) -> Result<Vec<ShiftView>, AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    let from = q
        .from
        .as_deref()
        .map(|d| parse_date("from", d))
        .transpose()?;
    let to = q.to.as_deref().map(|d| parse_date("to", d)).transpose()?;
    Ok(state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let viewer = viewer(conn, &agent)?;
            let today = claim::local_date(viewer.zone, now);
            let from = from.unwrap_or(today - Duration::days(7));
            let to = to.unwrap_or(from + Duration::days(28));
            if to < from {
                return Err(AppError::field(
                    "to",
                    "before_from",
                    "the last day comes before the first",
                ));
            }
            if (to - from).num_days() >= 92 {
                return Err(AppError::field(
                    "to",
                    "range_too_long",
                    "show at most 92 days at once",
                ));
            }
            let (start, _) = day_window(viewer.zone, from);
            let (_, end) = day_window(viewer.zone, to);
            Ok(store::assignments_of(conn, &agent, start, end)?
                .into_iter()
                .map(|(a, l)| view(&rules, &viewer, l, Some(&a), now))
                .collect())
        })
        .await?)
}

// ----- mails -----

/// Mails `agent` about `listing`, with the shift as an `.ics` attachment to add to or drop
/// from their calendar as `calendar` says.
pub fn mail(
    conn: &mut DbConn,
    ctx: &MailCtx,
    agent: &AccountId,
    listing: &ShiftListing,
    notice: ShiftNotice,
    calendar: Calendar,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let account = accounts::find(conn, agent)?.ok_or(AppError::NotFound)?;
    let locale = account_locale(&account);
    let zone = TimeZone::parse(&account.time_zone).unwrap_or_default().0;
    let shift = &listing.shift;
    let when = format!(
        "{} – {} ({})",
        local(zone, shift.starts_at),
        shift.ends_at.and_utc().with_timezone(&zone).format("%H:%M"),
        zone.name()
    );
    let skill = ctx.skill(&shift.skill, locale);
    let kind = MailKind::Shift(ShiftMail {
        notice,
        merchant: listing.merchant.clone(),
        skill: skill.clone(),
        when,
        pay: format!("¥{}", yuan(pay_estimate(&ctx.rules, shift))),
        bonus: (shift.urgent_bonus_fen > 0).then(|| format!("¥{}", yuan(shift.urgent_bonus_fen))),
        link: ctx.link("/agent/shifts"),
    });
    let mut out =
        render(&account.email, &account.display_name, locale, &kind).map_err(AppError::internal)?;
    if calendar != Calendar::None {
        let mut event = calendar_event(ctx, listing, &skill, now);
        if calendar == Calendar::Remove {
            event.status = ics::Status::Cancelled;
        }
        out = out.with_attachment(Attachment {
            filename: "shift.ics".into(),
            content_type: "text/calendar; charset=UTF-8; method=PUBLISH".into(),
            content: ics::calendar("cloudseat", &ics::Method::Publish, &[event], now),
        });
    }
    outbox::enqueue(conn, &out, now)?;
    Ok(())
}

pub fn calendar_event(
    ctx: &MailCtx,
    listing: &ShiftListing,
    skill: &str,
    now: NaiveDateTime,
) -> ics::ShiftEvent {
    let shift = &listing.shift;
    ics::ShiftEvent {
        shift_id: shift.id.clone(),
        block: shift.block(),
        summary: format!("{} · {}", listing.merchant, skill),
        description: format!("cloudseat shift, seat {}", shift.seat_no),
        url: Some(ctx.link("/agent/shifts")),
        status: if shift.status == "cancelled" {
            ics::Status::Cancelled
        } else {
            ics::Status::Confirmed
        },
        // Minutes since 1970: every later version of the event outranks the earlier ones.
        sequence: u32::try_from(now.and_utc().timestamp() / 60).unwrap_or(0),
    }
}
