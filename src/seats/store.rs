//! Seat inventory, bookings and shifts in the database. Every function takes the caller's
//! connection; the use case decides the (write) transaction.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::accounts::model::{AccountId, MerchantId};
use crate::db::DbConn;
use crate::db::schema::{bookings, notifications_sent, seat_inventory, shifts};

/// Rows per multi-row INSERT, well inside both backends' bind-parameter limits.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bookings)]
pub struct BookingRow {
    pub id: String,
    pub merchant_id: MerchantId,
    pub created_by: AccountId,
    pub skill: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub daily_start_hour: i32,
    pub daily_end_hour: i32,
    pub time_zone: String,
    pub seats: i32,
    pub seat_hours: i64,
    pub status: String,
    pub ruleset_version: String,
    pub period_id: Option<String>,
    pub quote: String,
    pub total_fen: i64,
    pub hold_expires_at: Option<NaiveDateTime>,
    pub invoice_number: Option<String>,
    pub paid_fen: Option<i64>,
    pub refund_fen: Option<i64>,
    pub cancel_reason: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = bookings)]
pub struct NewBooking<'a> {
    pub id: &'a str,
    pub merchant_id: &'a MerchantId,
    pub created_by: &'a AccountId,
    pub skill: &'a str,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub daily_start_hour: i32,
    pub daily_end_hour: i32,
    pub time_zone: &'a str,
    pub seats: i32,
    pub seat_hours: i64,
    pub status: &'a str,
    pub ruleset_version: &'a str,
    pub period_id: Option<&'a str>,
    pub quote: &'a str,
    pub total_fen: i64,
    pub hold_expires_at: Option<NaiveDateTime>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = seat_inventory)]
struct NewInventory<'a> {
    skill: &'a str,
    hour_start: NaiveDateTime,
    capacity: i32,
    sold: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = shifts)]
pub struct NewShift<'a> {
    pub id: String,
    pub booking_id: &'a str,
    pub merchant_id: &'a MerchantId,
    pub skill: &'a str,
    pub seat_no: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Makes sure an inventory row exists for every hour (existing rows are left alone).
pub fn ensure_inventory(
    conn: &mut DbConn,
    skill: &str,
    hours: &[NaiveDateTime],
    capacity: i32,
) -> QueryResult<()> {
    for chunk in hours.chunks(CHUNK) {
        let rows: Vec<NewInventory<'_>> = chunk
            .iter()
            .map(|h| NewInventory {
                skill,
                hour_start: *h,
                capacity,
                sold: 0,
            })
            .collect();
        match conn {
            DbConn::Pg(c) => diesel::insert_into(seat_inventory::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(seat_inventory::table)
                .values(&rows)
                .execute(c)?,
        };
    }
    Ok(())
}

/// Takes `seats` in every hour, all or nothing, with one conditional UPDATE that only
/// touches rows with enough left (and the table's CHECK forbids `sold > capacity` whatever
/// happens). On PostgreSQL the rows are locked first in a fixed order, so bookings over the
/// same hours queue instead of deadlocking; on SQLite the write transaction (`BEGIN
/// IMMEDIATE`) already serialises writers. Returns the hours that were short, with what is
/// left in each, when not every hour could be taken: the caller must roll back then.
pub fn take_seats(
    conn: &mut DbConn,
    skill: &str,
    hours: &[NaiveDateTime],
    seats: i32,
) -> QueryResult<Result<(), Vec<(NaiveDateTime, i32)>>> {
    if let DbConn::Pg(c) = conn {
        seat_inventory::table
            .filter(seat_inventory::skill.eq(skill))
            .filter(seat_inventory::hour_start.eq_any(hours))
            .order(seat_inventory::hour_start.asc())
            .select(seat_inventory::hour_start)
            .for_update()
            .load::<NaiveDateTime>(c)?;
    }
    let taken: Vec<NaiveDateTime> = diesel::update(
        seat_inventory::table
            .filter(seat_inventory::skill.eq(skill))
            .filter(seat_inventory::hour_start.eq_any(hours))
            .filter((seat_inventory::capacity - seat_inventory::sold).ge(seats)),
    )
    .set(seat_inventory::sold.eq(seat_inventory::sold + seats))
    .returning(seat_inventory::hour_start)
    .get_results(conn)?;
    if taken.len() == hours.len() {
        return Ok(Ok(()));
    }
    // The rows not taken are unchanged, so what they have left is still what they had.
    let taken: HashSet<NaiveDateTime> = taken.into_iter().collect();
    let short_hours: Vec<NaiveDateTime> = hours
        .iter()
        .filter(|h| !taken.contains(h))
        .copied()
        .collect();
    let mut short: Vec<(NaiveDateTime, i32)> = seat_inventory::table
        .filter(seat_inventory::skill.eq(skill))
        .filter(seat_inventory::hour_start.eq_any(&short_hours))
        .select((
            seat_inventory::hour_start,
            seat_inventory::capacity - seat_inventory::sold,
        ))
        .order(seat_inventory::hour_start.asc())
        .load(conn)?;
    // An hour without a row at all (never the case after `ensure_inventory`) has nothing.
    for h in short_hours {
        if !short.iter().any(|(s, _)| *s == h) {
            short.push((h, 0));
        }
    }
    Ok(Err(short))
}

/// Gives seats back (cancellation, expired hold).
pub fn release_seats(
    conn: &mut DbConn,
    skill: &str,
    hours: &[NaiveDateTime],
    seats: i32,
) -> QueryResult<usize> {
    diesel::update(
        seat_inventory::table
            .filter(seat_inventory::skill.eq(skill))
            .filter(seat_inventory::hour_start.eq_any(hours))
            .filter(seat_inventory::sold.ge(seats)),
    )
    .set(seat_inventory::sold.eq(seat_inventory::sold - seats))
    .execute(conn)
}

/// (hour, capacity, sold) for the hours that have inventory rows in `[from, to)`.
pub fn inventory(
    conn: &mut DbConn,
    skill: Option<&str>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime, i32, i32)>> {
    let mut query = seat_inventory::table
        .filter(seat_inventory::hour_start.ge(from))
        .filter(seat_inventory::hour_start.lt(to))
        .select((
            seat_inventory::skill,
            seat_inventory::hour_start,
            seat_inventory::capacity,
            seat_inventory::sold,
        ))
        .into_boxed();
    if let Some(skill) = skill {
        query = query.filter(seat_inventory::skill.eq(skill.to_owned()));
    }
    query
        .order((
            seat_inventory::skill.asc(),
            seat_inventory::hour_start.asc(),
        ))
        .load(conn)
}

pub fn insert_booking(conn: &mut DbConn, booking: &NewBooking<'_>) -> QueryResult<()> {
    diesel::insert_into(bookings::table)
        .values(booking)
        .execute(conn)?;
    Ok(())
}

pub fn find_booking(conn: &mut DbConn, id: &str) -> QueryResult<Option<BookingRow>> {
    bookings::table
        .find(id)
        .select(BookingRow::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Default, Clone)]
pub struct BookingFilter {
    pub merchant: Option<MerchantId>,
    pub status: Option<String>,
    pub skill: Option<String>,
    pub period: Option<String>,
}

/// Newest first, keyset-paginated by id.
pub fn list_bookings(
    conn: &mut DbConn,
    filter: &BookingFilter,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<BookingRow>> {
    let mut query = bookings::table.select(BookingRow::as_select()).into_boxed();
    if let Some(m) = &filter.merchant {
        query = query.filter(bookings::merchant_id.eq(m.clone()));
    }
    if let Some(s) = &filter.status {
        query = query.filter(bookings::status.eq(s.clone()));
    }
    if let Some(s) = &filter.skill {
        query = query.filter(bookings::skill.eq(s.clone()));
    }
    if let Some(p) = &filter.period {
        query = query.filter(bookings::period_id.eq(p.clone()));
    }
    if let Some(before) = before {
        query = query.filter(bookings::id.lt(before.to_owned()));
    }
    query.order(bookings::id.desc()).limit(limit).load(conn)
}

/// Moves a booking from `from` to `to` if it is still in `from`; false when it was not.
pub fn transition(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(bookings::table.find(id).filter(bookings::status.eq(from)))
        .set((bookings::status.eq(to), bookings::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn mark_confirmed(
    conn: &mut DbConn,
    id: &str,
    invoice: &str,
    paid_fen: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(bookings::table.find(id).filter(bookings::status.eq("held")))
        .set((
            bookings::status.eq("confirmed"),
            bookings::invoice_number.eq(invoice),
            bookings::paid_fen.eq(paid_fen),
            bookings::hold_expires_at.eq(None::<NaiveDateTime>),
            bookings::confirmed_at.eq(now),
            bookings::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn mark_cancelled(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    reason: &str,
    refund_fen: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(bookings::table.find(id).filter(bookings::status.eq(from)))
        .set((
            bookings::status.eq("cancelled"),
            bookings::cancel_reason.eq(reason),
            bookings::refund_fen.eq(refund_fen),
            bookings::hold_expires_at.eq(None::<NaiveDateTime>),
            bookings::cancelled_at.eq(now),
            bookings::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Holds whose time is up.
pub fn expired_holds(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<BookingRow>> {
    bookings::table
        .filter(bookings::status.eq("held"))
        .filter(bookings::hold_expires_at.le(now))
        .select(BookingRow::as_select())
        .load(conn)
}

/// Bookings in `status` whose `starts_at` (or `ends_at`) has passed.
pub fn due_for(
    conn: &mut DbConn,
    status: &str,
    by_end: bool,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let query = bookings::table
        .filter(bookings::status.eq(status))
        .select(bookings::id)
        .into_boxed();
    let query = if by_end {
        query.filter(bookings::ends_at.le(now))
    } else {
        query.filter(bookings::starts_at.le(now))
    };
    query.load(conn)
}

/// Peaks this merchant has paid for (confirmed, running or done), for renewal priority.
pub fn booked_periods(conn: &mut DbConn, merchant: &MerchantId) -> QueryResult<HashSet<String>> {
    let ids: Vec<Option<String>> = bookings::table
        .filter(bookings::merchant_id.eq(merchant))
        .filter(bookings::status.eq_any(["confirmed", "active", "completed"]))
        .select(bookings::period_id)
        .distinct()
        .load(conn)?;
    Ok(ids.into_iter().flatten().collect())
}

/// Merchants with a paid booking in `period`.
pub fn merchants_who_booked(conn: &mut DbConn, period: &str) -> QueryResult<Vec<MerchantId>> {
    bookings::table
        .filter(bookings::period_id.eq(period))
        .filter(bookings::status.eq_any(["confirmed", "active", "completed"]))
        .select(bookings::merchant_id)
        .distinct()
        .load(conn)
}

pub fn insert_shifts(conn: &mut DbConn, rows: &[NewShift<'_>]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(CHUNK) {
        n += match conn {
            DbConn::Pg(c) => diesel::insert_into(shifts::table)
                .values(chunk)
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_into(shifts::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(n)
}

/// Cancels every not-yet-finished shift of a booking; returns the agents who held one.
///
/// The shifts are updated first: a claim running at the same moment either committed before
/// (its holding is then ended below, and its agent told) or finds the shift cancelled.
pub fn cancel_shifts(
    conn: &mut DbConn,
    booking: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<AccountId>> {
    let live = ["open", "claimed", "checked_in", "released", "no_show"];
    let before: Vec<(String, String)> = shifts::table
        .filter(shifts::booking_id.eq(booking))
        .filter(shifts::status.eq_any(live))
        .select((shifts::id, shifts::status))
        .load(conn)?;
    diesel::update(
        shifts::table
            .filter(shifts::booking_id.eq(booking))
            .filter(shifts::status.eq_any(live)),
    )
    .set((shifts::status.eq("cancelled"), shifts::updated_at.eq(now)))
    .execute(conn)?;
    // Their holdings end as cancelled (never against their reliability).
    let held = crate::shifts::store::cancel_assignments_of_booking(conn, booking, now)?;
    for (id, status) in &before {
        let from = if status == "open" && held.iter().any(|(_, shift, _)| shift == id) {
            "claimed"
        } else {
            status.as_str()
        };
        crate::audit::record_lifecycle(
            conn,
            crate::audit::LifecycleEvent {
                entity_type: "shift",
                entity_id: id,
                from_state: Some(from),
                to_state: "cancelled",
                actor: None,
                reason: Some("booking_cancelled"),
            },
            now,
        )?;
    }
    let mut agents: Vec<AccountId> = held
        .into_iter()
        .map(|(_, _, agent)| AccountId(agent))
        .collect();
    agents.sort();
    agents.dedup();
    Ok(agents)
}

pub fn count_shifts(conn: &mut DbConn, booking: &str) -> QueryResult<i64> {
    shifts::table
        .filter(shifts::booking_id.eq(booking))
        .count()
        .get_result(conn)
}

/// Whether a scheduled notice already went out.
pub fn notification_sent(conn: &mut DbConn, kind: &str, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        notifications_sent::table
            .filter(notifications_sent::kind.eq(kind))
            .filter(notifications_sent::subject_key.eq(key)),
    ))
    .get_result(conn)
}

/// Records that a scheduled notice went out; false if it already had (another instance,
/// or an earlier run).
pub fn claim_notification(
    conn: &mut DbConn,
    kind: &str,
    key: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        notifications_sent::kind.eq(kind),
        notifications_sent::subject_key.eq(key),
        notifications_sent::sent_at.eq(now),
    );
    let n = match conn {
        DbConn::Pg(c) => diesel::insert_into(notifications_sent::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(notifications_sent::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(n == 1)
}
