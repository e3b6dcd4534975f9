//! What the shop's dashboard reads (its served shifts and chats, bookings, recent chats and
//! who is on shift) and the report subscriptions it writes. Thin queries; the figures are
//! computed in [`super::continuity`] and [`super::live`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::continuity::{ServedChat, ServedShift};
use super::live::{LiveChat, OPEN, Staff};
use crate::db::DbConn;
use crate::db::schema::{
    accounts, agent_presence, bookings, chats, report_subscriptions, shift_assignments,
};

/// The longest a shift runs: shifts that started this long before a range may still hold
/// the range's first chats.
const LONGEST_SHIFT: Duration = Duration::days(1);

/// What continuity is computed from for `[from, to)`.
pub struct ContinuityInputs {
    /// Each agent's first service of the shop, over its whole history.
    pub known_first: BTreeMap<String, NaiveDateTime>,
    /// Shifts worked that started in the range (or up to a day before it).
    pub shifts: Vec<ServedShift>,
    /// Chats accepted in the range.
    pub chats: Vec<ServedChat>,
}

pub fn continuity_inputs(
    conn: &mut DbConn,
    merchant: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<ContinuityInputs> {
    let first_shifts: Vec<(String, Option<NaiveDateTime>)> = shift_assignments::table
        .filter(shift_assignments::merchant_id.eq(merchant))
        .filter(shift_assignments::checked_in_at.is_not_null())
        .group_by(shift_assignments::agent_id)
        .select((
            shift_assignments::agent_id,
            diesel::dsl::min(shift_assignments::checked_in_at),
        ))
        .load(conn)?;
    let first_chats: Vec<(Option<String>, Option<NaiveDateTime>)> = chats::table
        .filter(chats::merchant_id.eq(merchant))
        .filter(chats::accepted_at.is_not_null())
        .filter(chats::agent_id.is_not_null())
        .group_by(chats::agent_id)
        .select((chats::agent_id, diesel::dsl::min(chats::accepted_at)))
        .load(conn)?;
    let mut known_first: BTreeMap<String, NaiveDateTime> = BTreeMap::new();
    let pairs = first_shifts
        .into_iter()
        .map(|(a, t)| (Some(a), t))
        .chain(first_chats);
    for (agent, at) in pairs {
        if let (Some(agent), Some(at)) = (agent, at) {
            known_first
                .entry(agent)
                .and_modify(|t| *t = (*t).min(at))
                .or_insert(at);
        }
    }
    type ShiftRow = (
        String,
        Option<NaiveDateTime>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let shift_rows: Vec<ShiftRow> = shift_assignments::table
        .filter(shift_assignments::merchant_id.eq(merchant))
        .filter(shift_assignments::checked_in_at.ge(from - LONGEST_SHIFT))
        .filter(shift_assignments::checked_in_at.lt(to))
        .select((
            shift_assignments::agent_id,
            shift_assignments::checked_in_at,
            shift_assignments::ends_at,
            shift_assignments::checked_out_at,
        ))
        .load(conn)?;
    let shifts = shift_rows
        .into_iter()
        .filter_map(|(agent, checked_in, ends, out)| {
            Some(ServedShift {
                agent,
                start: checked_in?,
                // Overtime past the scheduled end still belongs to the shift.
                end: out.map_or(ends, |o| o.max(ends)),
            })
        })
        .collect();
    let chat_rows: Vec<(Option<String>, Option<NaiveDateTime>)> = chats::table
        .filter(chats::merchant_id.eq(merchant))
        .filter(chats::accepted_at.ge(from))
        .filter(chats::accepted_at.lt(to))
        .filter(chats::agent_id.is_not_null())
        .select((chats::agent_id, chats::accepted_at))
        .load(conn)?;
    let chats = chat_rows
        .into_iter()
        .filter_map(|(agent, accepted)| {
            Some(ServedChat {
                agent: agent?,
                accepted: accepted?,
            })
        })
        .collect();
    Ok(ContinuityInputs {
        known_first,
        shifts,
        chats,
    })
}

/// Seat-hours per peak period the shop holds (confirmed, active or completed bookings).
pub fn booked_periods(conn: &mut DbConn, merchant: &str) -> QueryResult<BTreeMap<String, i64>> {
    let rows: Vec<(Option<String>, i64)> = bookings::table
        .filter(bookings::merchant_id.eq(merchant))
        .filter(bookings::period_id.is_not_null())
        .filter(bookings::status.eq_any(["confirmed", "active", "completed"]))
        .select((bookings::period_id, bookings::seat_hours))
        .load(conn)?;
    let mut booked = BTreeMap::new();
    for (period, hours) in rows {
        if let Some(period) = period {
            *booked.entry(period).or_insert(0) += hours;
        }
    }
    Ok(booked)
}

type LiveRow = (
    String,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<i32>,
    Option<NaiveDateTime>,
);

/// (id, shop, chat) of a row.
fn live_row(r: LiveRow) -> (String, String, LiveChat) {
    (
        r.0,
        r.1,
        LiveChat {
            status: r.2,
            created_at: r.3,
            queued_at: r.4,
            accepted_at: r.5,
            first_response_at: r.6,
            closed_at: r.7,
            rating: r.8,
            rated_at: r.9,
        },
    )
}

/// The shop's chats the live figures since `since` need: the open ones, and every chat
/// created from a day before `since` (a chat that arrived earlier and ended in the window
/// counts only while it is open).
pub fn live_chats(
    conn: &mut DbConn,
    merchant: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<LiveChat>> {
    Ok(live_chats_by_shop(conn, Some(merchant), since)?
        .remove(merchant)
        .unwrap_or_default())
}

/// [`live_chats`] of one shop or, with `None`, of every shop at once (two queries either
/// way), by shop.
pub fn live_chats_by_shop(
    conn: &mut DbConn,
    merchant: Option<&str>,
    since: NaiveDateTime,
) -> QueryResult<BTreeMap<String, Vec<LiveChat>>> {
    let columns = (
        chats::id,
        chats::merchant_id,
        chats::status,
        chats::created_at,
        chats::queued_at,
        chats::accepted_at,
        chats::first_response_at,
        chats::closed_at,
        chats::rating,
        chats::rated_at,
    );
    let mut recent = chats::table
        .filter(chats::created_at.ge(since - Duration::days(1)))
        .select(columns)
        .into_boxed();
    let mut open = chats::table
        .filter(chats::status.eq_any(OPEN))
        .select(columns)
        .into_boxed();
    if let Some(m) = merchant {
        recent = recent.filter(chats::merchant_id.eq(m.to_owned()));
        open = open.filter(chats::merchant_id.eq(m.to_owned()));
    }
    let recent: Vec<LiveRow> = recent.load(conn)?;
    let open: Vec<LiveRow> = open.load(conn)?;
    let mut seen = BTreeSet::new();
    let mut by_shop: BTreeMap<String, Vec<LiveChat>> = BTreeMap::new();
    for (id, shop, chat) in recent.into_iter().chain(open).map(live_row) {
        if seen.insert(id) {
            by_shop.entry(shop).or_default().push(chat);
        }
    }
    Ok(by_shop)
}

/// Agents checked in on the shop's shifts now, and how many of them are online.
pub fn staff_now(conn: &mut DbConn, merchant: &str, now: NaiveDateTime) -> QueryResult<Staff> {
    Ok(staff_by_shop(conn, Some(merchant), now)?
        .remove(merchant)
        .unwrap_or_default())
}

/// [`staff_now`] of one shop or, with `None`, of every shop with someone checked in (two
/// queries either way), by shop.
pub fn staff_by_shop(
    conn: &mut DbConn,
    merchant: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<BTreeMap<String, Staff>> {
    let mut on_shift = shift_assignments::table
        .filter(shift_assignments::checked_in_at.is_not_null())
        .filter(shift_assignments::checked_out_at.is_null())
        .filter(shift_assignments::ended_at.is_null())
        .filter(shift_assignments::ends_at.gt(now))
        .select((shift_assignments::merchant_id, shift_assignments::agent_id))
        .into_boxed();
    if let Some(m) = merchant {
        on_shift = on_shift.filter(shift_assignments::merchant_id.eq(m.to_owned()));
    }
    let pairs: BTreeSet<(String, String)> = on_shift
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut online = agent_presence::table
        .filter(agent_presence::status.eq("online"))
        .filter(agent_presence::connections.gt(0))
        .select(agent_presence::agent_id)
        .into_boxed();
    if merchant.is_some() {
        // One shop's few agents; every shop's would be most of the online pool anyway.
        let agents: Vec<String> = pairs.iter().map(|(_, a)| a.clone()).collect();
        online = online.filter(agent_presence::agent_id.eq_any(agents));
    }
    let online: BTreeSet<String> = online.load::<String>(conn)?.into_iter().collect();
    let mut by_shop: BTreeMap<String, Staff> = BTreeMap::new();
    for (shop, agent) in &pairs {
        let staff = by_shop.entry(shop.clone()).or_default();
        staff.on_shift += 1;
        staff.online += u32::from(online.contains(agent));
    }
    Ok(by_shop)
}

// ----- report subscriptions -----

/// A subscription with its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub merchant_id: String,
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    pub locale: String,
    pub cadence: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type SubscriptionTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
);

fn subscription(r: SubscriptionTuple) -> SubscriptionRow {
    SubscriptionRow {
        merchant_id: r.0,
        account_id: r.1,
        email: r.2,
        display_name: r.3,
        locale: r.4,
        cadence: r.5,
        created_at: r.6,
        updated_at: r.7,
    }
}

/// Subscriptions of one shop (or of every shop), by recipient and cadence.
pub fn subscriptions(
    conn: &mut DbConn,
    merchant: Option<&str>,
) -> QueryResult<Vec<SubscriptionRow>> {
    let mut q = report_subscriptions::table
        .inner_join(accounts::table.on(accounts::id.eq(report_subscriptions::account_id)))
        .select((
            report_subscriptions::merchant_id,
            report_subscriptions::account_id,
            accounts::email,
            accounts::display_name,
            accounts::locale,
            report_subscriptions::cadence,
            report_subscriptions::created_at,
            report_subscriptions::updated_at,
        ))
        .order((
            report_subscriptions::merchant_id,
            accounts::email,
            report_subscriptions::cadence,
        ))
        .into_boxed();
    if let Some(m) = merchant {
        q = q.filter(report_subscriptions::merchant_id.eq(m.to_owned()));
    }
    Ok(q.load::<SubscriptionTuple>(conn)?
        .into_iter()
        .map(subscription)
        .collect())
}

/// Opts `account` in to (`on`) or out of one cadence; whether anything changed.
pub fn set_subscription(
    conn: &mut DbConn,
    merchant: &str,
    account: &str,
    cadence: &str,
    on: bool,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let existing = report_subscriptions::table
        .filter(report_subscriptions::merchant_id.eq(merchant))
        .filter(report_subscriptions::account_id.eq(account))
        .filter(report_subscriptions::cadence.eq(cadence));
    let exists: bool = diesel::select(diesel::dsl::exists(existing)).get_result(conn)?;
    match (exists, on) {
        (false, true) => {
            diesel::insert_into(report_subscriptions::table)
                .values((
                    report_subscriptions::merchant_id.eq(merchant),
                    report_subscriptions::account_id.eq(account),
                    report_subscriptions::cadence.eq(cadence),
                    report_subscriptions::created_at.eq(now),
                    report_subscriptions::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(true)
        }
        (true, false) => {
            diesel::delete(existing).execute(conn)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
