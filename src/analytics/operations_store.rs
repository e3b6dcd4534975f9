//! What the operations dashboard reads, in a fixed number of queries whatever the number of
//! shops: the bookings and held shifts of the days shown, today's holdings without a
//! check-in, every shop's live chats and staff (through [`super::merchant_store`]), the
//! outbox's counts and the latest payroll runs with their open disputes. Thin queries; the
//! figures are computed in [`super::operations`].

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::live::{LiveChat, Staff};
use super::merchant_store;
use super::operations::{HeldShift, Holding, LATEST_RUNS, RunFacts, SoldBooking};
use crate::db::DbConn;
use crate::db::schema::{
    accounts, bookings, merchants, outbox, pay_disputes, shift_assignments, shifts,
};

/// Every shop's live chats and staff, by shop.
pub type LiveFacts = (BTreeMap<String, Vec<LiveChat>>, BTreeMap<String, Staff>);
/// The outbox's counts per status and the oldest pending mail's creation.
pub type OutboxFacts = (Vec<(String, i64)>, Option<NaiveDateTime>);

/// Booking statuses whose seats are sold.
const SOLD: [&str; 3] = ["confirmed", "active", "completed"];
/// Shift statuses an agent holds.
const HELD: [&str; 3] = ["claimed", "checked_in", "completed"];

/// Bookings with seats sold in `[from, to)`.
pub fn sold_bookings(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    market_zone: Tz,
) -> QueryResult<Vec<SoldBooking>> {
    let rows: Vec<(NaiveDate, NaiveDate, i32, i32, i32, String)> = bookings::table
        .filter(bookings::status.eq_any(SOLD))
        .filter(bookings::starts_at.lt(to))
        .filter(bookings::ends_at.gt(from))
        .select((
            bookings::start_date,
            bookings::end_date,
            bookings::daily_start_hour,
            bookings::daily_end_hour,
            bookings::seats,
            bookings::time_zone,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(start, end, from_h, to_h, seats, zone)| SoldBooking {
            start,
            end,
            daily_start_hour: u8::try_from(from_h).unwrap_or(0),
            daily_end_hour: u8::try_from(to_h).unwrap_or(0),
            seats: u32::try_from(seats).unwrap_or(0),
            time_zone: zone.parse().unwrap_or(market_zone),
        })
        .collect())
}

/// Shifts an agent holds that overlap `[from, to)`.
pub fn held_shifts(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<HeldShift>> {
    let rows: Vec<(NaiveDateTime, NaiveDateTime)> = shifts::table
        .filter(shifts::status.eq_any(HELD))
        .filter(shifts::starts_at.lt(to))
        .filter(shifts::ends_at.gt(from))
        .select((shifts::starts_at, shifts::ends_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(starts_at, ends_at)| HeldShift { starts_at, ends_at })
        .collect())
}

type HoldingRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
);

/// Holdings of shifts starting in `[from, to)` that were never checked in to: ended as
/// no-shows, or still open.
pub fn unattended_holdings(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<Holding>> {
    let rows: Vec<HoldingRow> = shift_assignments::table
        .inner_join(shifts::table)
        .inner_join(accounts::table.on(accounts::id.eq(shift_assignments::agent_id)))
        .inner_join(merchants::table.on(merchants::id.eq(shift_assignments::merchant_id)))
        .filter(shifts::starts_at.ge(from))
        .filter(shifts::starts_at.lt(to))
        .filter(shift_assignments::checked_in_at.is_null())
        .filter(
            shift_assignments::outcome
                .eq("no_show")
                .or(shift_assignments::ended_at.is_null()),
        )
        .select((
            shifts::id,
            shift_assignments::agent_id,
            accounts::display_name,
            merchants::id,
            merchants::name,
            shifts::skill,
            shifts::starts_at,
            shift_assignments::claimed_at,
            shift_assignments::checked_in_at,
            shift_assignments::ended_at,
            shift_assignments::outcome,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Holding {
            shift_id: r.0,
            agent_id: r.1,
            agent: r.2,
            merchant_id: r.3,
            merchant: r.4,
            skill: r.5,
            starts_at: r.6,
            claimed_at: r.7,
            checked_in_at: r.8,
            ended_at: r.9,
            outcome: r.10,
        })
        .collect())
}

/// Every shop's id and name, by name.
pub fn shops(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    merchants::table
        .select((merchants::id, merchants::name))
        .order((merchants::name, merchants::id))
        .load(conn)
}

/// Every shop's live chats and staff at `now`, by shop (four queries).
pub fn live_facts(
    conn: &mut DbConn,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<LiveFacts> {
    Ok((
        merchant_store::live_chats_by_shop(conn, None, since)?,
        merchant_store::staff_by_shop(conn, None, now)?,
    ))
}

/// The outbox's counts per status and its oldest pending mail's creation.
pub fn outbox_facts(conn: &mut DbConn) -> QueryResult<OutboxFacts> {
    let counts = crate::mail::outbox::counts(conn)?;
    let oldest: Option<NaiveDateTime> = outbox::table
        .filter(outbox::status.eq("pending"))
        .select(diesel::dsl::min(outbox::created_at))
        .first(conn)?;
    Ok((counts, oldest))
}

/// The latest runs, newest first, and the open disputes per run (of every run).
pub fn payroll_facts(conn: &mut DbConn) -> QueryResult<(Vec<RunFacts>, BTreeMap<String, i64>)> {
    let runs = crate::payroll::store::runs(conn, None, LATEST_RUNS)?
        .into_iter()
        .map(|r| RunFacts {
            id: r.id,
            status: r.status,
            period_from: r.period_from,
            period_to: r.period_to,
            total_fen: r.total_fen,
            agent_count: r.agent_count,
            created_at: r.created_at,
        })
        .collect();
    let disputes: Vec<(String, i64)> = pay_disputes::table
        .filter(pay_disputes::status.eq("open"))
        .group_by(pay_disputes::run_id)
        .select((pay_disputes::run_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok((runs, disputes.into_iter().collect()))
}
