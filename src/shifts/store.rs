//! Shifts and who holds them, in the database. Every function takes the caller's connection
//! so a use case decides its transaction. The shift row holds the current state; the
//! assignment rows are the history (one per agent per time they held the shift) that
//! adherence, continuity, pay and churn are computed from.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::claim::Block;
use crate::accounts::model::AccountId;
use crate::db::schema::{bookings, certifications, merchants, shift_assignments, shifts};
use crate::db::{DbConn, new_id};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shifts)]
pub struct ShiftRow {
    pub id: String,
    pub booking_id: String,
    pub merchant_id: String,
    pub skill: String,
    pub seat_no: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: String,
    pub agent_id: Option<String>,
    pub urgent_bonus_fen: i64,
    pub swap_offered_at: Option<NaiveDateTime>,
}

impl ShiftRow {
    pub fn block(&self) -> Block {
        Block {
            start: self.starts_at,
            end: self.ends_at,
        }
    }

    pub fn held_by(&self, agent: &AccountId) -> bool {
        self.agent_id.as_deref() == Some(agent.as_str())
    }
}

/// A shift with what every view of it shows: the merchant's name and when its booking was
/// confirmed (which starts the early-access window).
#[derive(Debug, Clone, Queryable)]
pub struct ShiftListing {
    pub shift: ShiftRow,
    pub merchant: String,
    pub confirmed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shift_assignments)]
pub struct AssignmentRow {
    pub id: String,
    pub shift_id: String,
    pub agent_id: String,
    pub via: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub claimed_at: NaiveDateTime,
    pub checked_in_at: Option<NaiveDateTime>,
    pub checked_out_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
}

/// How an agent came to hold a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Claim,
    Swap,
    Auto,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Claim => "claim",
            Via::Swap => "swap",
            Via::Auto => "auto",
        }
    }
}

/// How an assignment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Worked,
    Released,
    ReleasedLate,
    NoShow,
    SwappedOut,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Worked => "worked",
            Outcome::Released => "released",
            Outcome::ReleasedLate => "released_late",
            Outcome::NoShow => "no_show",
            Outcome::SwappedOut => "swapped_out",
            Outcome::Cancelled => "cancelled",
        }
    }
}

macro_rules! listing {
    () => {
        shifts::table
            .inner_join(merchants::table)
            .inner_join(bookings::table)
    };
}

macro_rules! listing_columns {
    () => {
        (
            ShiftRow::as_select(),
            merchants::name,
            bookings::confirmed_at,
        )
    };
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ShiftRow>> {
    shifts::table
        .find(id)
        .select(ShiftRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_listing(conn: &mut DbConn, id: &str) -> QueryResult<Option<ShiftListing>> {
    listing!()
        .filter(shifts::id.eq(id))
        .select(listing_columns!())
        .first(conn)
        .optional()
}

/// The booking's status and when it was confirmed.
pub fn booking_state(
    conn: &mut DbConn,
    booking: &str,
) -> QueryResult<(String, Option<NaiveDateTime>)> {
    bookings::table
        .find(booking)
        .select((bookings::status, bookings::confirmed_at))
        .first(conn)
}

/// What the job board filters on; times are UTC bounds on the start.
#[derive(Debug, Clone, Default)]
pub struct OpenFilter {
    /// Only shifts this agent holds a certification for, valid for the whole shift.
    pub certified: Option<AccountId>,
    pub skill: Option<String>,
    pub merchant: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Open shifts of the given skills not yet over (urgent ones may be joined late), sorted by
/// start then id, after the shift `after` in that order.
pub fn open_shifts(
    conn: &mut DbConn,
    filter: &OpenFilter,
    claimable_after: NaiveDateTime,
    urgent_claimable_until_end: NaiveDateTime,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ShiftListing>> {
    let mut query = listing!()
        .filter(shifts::status.eq("open"))
        .filter(bookings::status.eq_any(["confirmed", "active"]))
        .filter(
            shifts::starts_at
                .gt(claimable_after)
                .or(shifts::urgent_bonus_fen
                    .gt(0)
                    .and(shifts::ends_at.ge(urgent_claimable_until_end))),
        )
        .select(listing_columns!())
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(agent) = &filter.certified {
        query = query.filter(diesel::dsl::exists(
            certifications::table
                .filter(certifications::agent_id.eq(agent.as_str().to_owned()))
                .filter(certifications::skill.eq(shifts::skill))
                .filter(certifications::certified_at.le(shifts::starts_at))
                .filter(certifications::expires_at.ge(shifts::ends_at)),
        ));
    }
    if let Some(skill) = &filter.skill {
        query = query.filter(shifts::skill.eq(skill.clone()));
    }
    if let Some(m) = &filter.merchant {
        query = query.filter(shifts::merchant_id.eq(m.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(shifts::starts_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(shifts::starts_at.lt(to));
    }
    if let Some((start, id)) = after {
        query = query.filter(
            shifts::starts_at
                .gt(start)
                .or(shifts::starts_at.eq(start).and(shifts::id.gt(id))),
        );
    }
    query.load(conn)
}

/// Shifts whose holder offers them on the swap board, before the swap cutoff.
pub fn swap_offers(
    conn: &mut DbConn,
    taker: &AccountId,
    starts_after: NaiveDateTime,
) -> QueryResult<Vec<ShiftListing>> {
    listing!()
        .filter(shifts::status.eq("claimed"))
        .filter(shifts::swap_offered_at.is_not_null())
        .filter(shifts::agent_id.ne(taker.as_str()))
        .filter(diesel::dsl::exists(
            certifications::table
                .filter(certifications::agent_id.eq(taker.as_str()))
                .filter(certifications::skill.eq(shifts::skill))
                .filter(certifications::certified_at.le(shifts::starts_at))
                .filter(certifications::expires_at.ge(shifts::ends_at)),
        ))
        .filter(shifts::starts_at.gt(starts_after))
        .select(listing_columns!())
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .limit(200)
        .load(conn)
}

/// The agent's shifts starting in `[from, to)`, with their own assignment of each (the
/// latest, if they held one several times).
pub fn assignments_of(
    conn: &mut DbConn,
    agent: &AccountId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(AssignmentRow, ShiftListing)>> {
    type Row = (AssignmentRow, (ShiftRow, String, Option<NaiveDateTime>));
    let rows: Vec<Row> = shift_assignments::table
        .inner_join(
            shifts::table
                .inner_join(merchants::table)
                .inner_join(bookings::table),
        )
        .filter(shift_assignments::agent_id.eq(agent.as_str()))
        .filter(shift_assignments::starts_at.ge(from))
        .filter(shift_assignments::starts_at.lt(to))
        .select((AssignmentRow::as_select(), listing_columns!()))
        .order((
            shift_assignments::starts_at.asc(),
            shift_assignments::claimed_at.desc(),
        ))
        .load(conn)?;
    let mut out: Vec<(AssignmentRow, ShiftListing)> = Vec::with_capacity(rows.len());
    for (a, (shift, merchant, confirmed_at)) in rows {
        // Held, released and claimed again: the latest holding tells the story.
        if out.iter().any(|(seen, _)| seen.shift_id == a.shift_id) {
            continue;
        }
        out.push((
            a,
            ShiftListing {
                shift,
                merchant,
                confirmed_at,
            },
        ));
    }
    Ok(out)
}

/// The stretches an agent is committed to around `at`: what they hold now plus what they
/// worked, from eight days back (enough for the week limit and rest) on.
pub fn committed_blocks(
    conn: &mut DbConn,
    agent: &AccountId,
    at: NaiveDateTime,
    except_shift: Option<&str>,
) -> QueryResult<Vec<Block>> {
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime)> = shift_assignments::table
        .filter(shift_assignments::agent_id.eq(agent.as_str()))
        .filter(shift_assignments::ends_at.gt(at - Duration::days(8)))
        .filter(
            shift_assignments::ended_at
                .is_null()
                .or(shift_assignments::outcome.eq("worked")),
        )
        .select((
            shift_assignments::shift_id,
            shift_assignments::starts_at,
            shift_assignments::ends_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(id, _, _)| Some(id.as_str()) != except_shift)
        .map(|(_, start, end)| Block { start, end })
        .collect())
}

/// Takes an open shift for `agent`: a single conditional update, so of any number of
/// concurrent claims exactly one changes the row.
pub fn take_open(
    conn: &mut DbConn,
    shift: &str,
    agent: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        shifts::table
            .filter(shifts::id.eq(shift))
            .filter(shifts::status.eq("open")),
    )
    .set((
        shifts::status.eq("claimed"),
        shifts::agent_id.eq(agent.as_str()),
        shifts::swap_offered_at.eq(None::<NaiveDateTime>),
        shifts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Hands a shift offered on the swap board from `from` to `to`, if it still is offered.
pub fn take_offered(
    conn: &mut DbConn,
    shift: &str,
    from: &str,
    to: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        shifts::table
            .filter(shifts::id.eq(shift))
            .filter(shifts::status.eq("claimed"))
            .filter(shifts::agent_id.eq(from))
            .filter(shifts::swap_offered_at.is_not_null()),
    )
    .set((
        shifts::agent_id.eq(to.as_str()),
        shifts::swap_offered_at.eq(None::<NaiveDateTime>),
        shifts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Moves a shift `holder` holds from `from` to `to` status if both are still so (a swap
/// or a release may have changed either meanwhile).
pub fn set_status(
    conn: &mut DbConn,
    shift: &str,
    holder: &str,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        shifts::table
            .filter(shifts::id.eq(shift))
            .filter(shifts::agent_id.eq(holder))
            .filter(shifts::status.eq(from)),
    )
    .set((shifts::status.eq(to), shifts::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Puts a shift `holder` holds back on the job board, with `bonus` fen added to its pay
/// when given; false if someone else holds it by now.
pub fn reopen(
    conn: &mut DbConn,
    shift: &str,
    holder: &str,
    from: &str,
    bonus: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = shifts::table
        .filter(shifts::id.eq(shift))
        .filter(shifts::agent_id.eq(holder))
        .filter(shifts::status.eq(from));
    let n = match bonus {
        Some(bonus) => diesel::update(target)
            .set((
                shifts::status.eq("open"),
                shifts::agent_id.eq(None::<String>),
                shifts::swap_offered_at.eq(None::<NaiveDateTime>),
                shifts::urgent_bonus_fen.eq(bonus),
                shifts::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                shifts::status.eq("open"),
                shifts::agent_id.eq(None::<String>),
                shifts::swap_offered_at.eq(None::<NaiveDateTime>),
                shifts::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Offers (or withdraws) a claimed shift on the swap board, if `holder` still holds it.
pub fn set_swap_offer(
    conn: &mut DbConn,
    shift: &str,
    holder: &str,
    offered_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        shifts::table
            .filter(shifts::id.eq(shift))
            .filter(shifts::agent_id.eq(holder))
            .filter(shifts::status.eq("claimed")),
    )
    .set((
        shifts::swap_offered_at.eq(offered_at),
        shifts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records that `agent` holds `shift` from `from` (its start, or later for an urgent shift
/// taken over after it began: only that part is theirs to work).
pub fn insert_assignment(
    conn: &mut DbConn,
    shift: &ShiftRow,
    agent: &AccountId,
    via: Via,
    from: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(shift_assignments::table)
        .values((
            shift_assignments::id.eq(&id),
            shift_assignments::shift_id.eq(&shift.id),
            shift_assignments::agent_id.eq(agent.as_str()),
            shift_assignments::merchant_id.eq(&shift.merchant_id),
            shift_assignments::booking_id.eq(&shift.booking_id),
            shift_assignments::via.eq(via.as_str()),
            shift_assignments::starts_at.eq(from.max(shift.starts_at)),
            shift_assignments::ends_at.eq(shift.ends_at),
            shift_assignments::claimed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The assignment of whoever holds the shift now.
pub fn current_assignment(conn: &mut DbConn, shift: &str) -> QueryResult<Option<AssignmentRow>> {
    shift_assignments::table
        .filter(shift_assignments::shift_id.eq(shift))
        .filter(shift_assignments::ended_at.is_null())
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()
}

pub fn mark_checked_in(conn: &mut DbConn, assignment: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(shift_assignments::table.find(assignment))
        .set(shift_assignments::checked_in_at.eq(at))
        .execute(conn)?;
    Ok(())
}

pub fn end_assignment(
    conn: &mut DbConn,
    assignment: &str,
    outcome: Outcome,
    checked_out_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        shift_assignments::table
            .find(assignment)
            .filter(shift_assignments::ended_at.is_null()),
    )
    .set((
        shift_assignments::ended_at.eq(now),
        shift_assignments::outcome.eq(outcome.as_str()),
        shift_assignments::checked_out_at.eq(checked_out_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Ends every current assignment of a cancelled booking's shifts; returns (assignment,
/// shift, agent) of each.
pub fn cancel_assignments_of_booking(
    conn: &mut DbConn,
    booking: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<(String, String, String)>> {
    let held: Vec<(String, String, String)> = shift_assignments::table
        .filter(shift_assignments::booking_id.eq(booking))
        .filter(shift_assignments::ended_at.is_null())
        .select((
            shift_assignments::id,
            shift_assignments::shift_id,
            shift_assignments::agent_id,
        ))
        .load(conn)?;
    diesel::update(
        shift_assignments::table
            .filter(shift_assignments::booking_id.eq(booking))
            .filter(shift_assignments::ended_at.is_null()),
    )
    .set((
        shift_assignments::ended_at.eq(now),
        shift_assignments::outcome.eq(Outcome::Cancelled.as_str()),
    ))
    .execute(conn)?;
    Ok(held)
}

/// Whether the agent worked (or holds) a shift of the merchant's booking before `booking`:
/// such agents get early access, so shops keep "their" agents.
pub fn served_previous_booking(
    conn: &mut DbConn,
    agent: &AccountId,
    merchant: &str,
    booking: &str,
) -> QueryResult<bool> {
    let starts: NaiveDateTime = bookings::table
        .find(booking)
        .select(bookings::starts_at)
        .first(conn)?;
    let previous: Option<String> = bookings::table
        .filter(bookings::merchant_id.eq(merchant))
        .filter(bookings::id.ne(booking))
        .filter(bookings::status.eq_any(["confirmed", "active", "completed"]))
        .filter(bookings::starts_at.lt(starts))
        .order((bookings::starts_at.desc(), bookings::id.desc()))
        .select(bookings::id)
        .first(conn)
        .optional()?;
    let Some(previous) = previous else {
        return Ok(false);
    };
    diesel::select(diesel::dsl::exists(
        shift_assignments::table
            .filter(shift_assignments::booking_id.eq(previous))
            .filter(shift_assignments::agent_id.eq(agent.as_str()))
            .filter(
                shift_assignments::outcome
                    .eq("worked")
                    .or(shift_assignments::ended_at.is_null()),
            ),
    ))
    .get_result(conn)
}

/// The agent's claimed shifts (not checked in) that have not ended.
pub fn claimed_by(
    conn: &mut DbConn,
    agent: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<Vec<ShiftRow>> {
    shifts::table
        .filter(shifts::agent_id.eq(agent.as_str()))
        .filter(shifts::status.eq("claimed"))
        .filter(shifts::ends_at.gt(now))
        .select(ShiftRow::as_select())
        .load(conn)
}

/// Claimed shifts not checked in by `deadline` (their start plus the grace).
pub fn no_shows_due(conn: &mut DbConn, starts_before: NaiveDateTime) -> QueryResult<Vec<ShiftRow>> {
    shifts::table
        .filter(shifts::status.eq("claimed"))
        .filter(shifts::starts_at.le(starts_before))
        .select(ShiftRow::as_select())
        .order(shifts::starts_at.asc())
        .limit(500)
        .load(conn)
}

/// Checked-in shifts that have ended.
pub fn ended_checked_in(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<ShiftRow>> {
    shifts::table
        .filter(shifts::status.eq("checked_in"))
        .filter(shifts::ends_at.le(now))
        .select(ShiftRow::as_select())
        .order(shifts::ends_at.asc())
        .limit(500)
        .load(conn)
}

/// Claimed shifts starting in `(now, until]`, for reminders.
pub fn starting_soon(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<ShiftRow>> {
    shifts::table
        .filter(shifts::status.eq("claimed"))
        .filter(shifts::starts_at.gt(now))
        .filter(shifts::starts_at.le(until))
        .select(ShiftRow::as_select())
        .order(shifts::starts_at.asc())
        .limit(500)
        .load(conn)
}

/// Swap offers whose cutoff has passed: the holder simply keeps the shift.
pub fn expire_swap_offers(conn: &mut DbConn, cutoff_start: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        shifts::table
            .filter(shifts::swap_offered_at.is_not_null())
            .filter(shifts::starts_at.le(cutoff_start)),
    )
    .set(shifts::swap_offered_at.eq(None::<NaiveDateTime>))
    .execute(conn)
}
