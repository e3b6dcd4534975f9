//! Who will actually come: staffing per booking and per shop for merchants, the coverage heat
//! map and no-show list for admins, and commitment adherence per agent. The summaries are
//! pure functions over rows; the queries around them are thin.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::adherence::{self, Adherence, Commitment, Outcome};
use super::claim::{local_date, local_midnight};
use super::service::{local, parse_date, viewer};
use crate::accounts::model::{AccountId, MerchantId};
use crate::db::DbConn;
use crate::db::schema::{accounts, bookings, merchants, shift_assignments, shifts};
use crate::error::AppError;
use crate::seats::rules::Market;
use crate::seats::service::Actor;
use crate::state::AppState;

// ----- pure summaries -----

/// When each agent in `history` (agent, start of a worked shift) first worked for the shop.
fn first_worked(history: &[(String, NaiveDateTime)]) -> HashMap<&str, NaiveDateTime> {
    let mut first: HashMap<&str, NaiveDateTime> = HashMap::new();
    for (agent, start) in history {
        first
            .entry(agent.as_str())
            .and_modify(|t| *t = (*t).min(*start))
            .or_insert(*start);
    }
    first
}

/// Share (basis points) of `staffed` shifts (agent, start) whose agent had already worked
/// for the merchant before that start, by `history` (agent, start of each worked shift).
/// `None` when nothing is staffed.
pub fn continuity_bp(
    history: &[(String, NaiveDateTime)],
    staffed: &[(String, NaiveDateTime)],
) -> Option<u16> {
    if staffed.is_empty() {
        return None;
    }
    let first = first_worked(history);
    let returning = staffed
        .iter()
        .filter(|(agent, start)| first.get(agent.as_str()).is_some_and(|t| t < start))
        .count();
    u16::try_from(returning * 10_000 / staffed.len()).ok()
}

/// One block of one day on the coverage map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CoverageCell {
    /// Local start of the block, `HH:MM` in the market's zone.
    pub block: String,
    /// Shifts (seats) booked for the block.
    pub seats: u32,
    pub claimed: u32,
    pub checked_in: u32,
    pub completed: u32,
    /// Nobody holds them: the gaps.
    pub open: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CoverageDay {
    pub date: NaiveDate,
    pub cells: Vec<CoverageCell>,
    pub seats: u32,
    pub open: u32,
}

/// Local start hours of the market's blocks.
fn block_hours(market: &Market) -> Vec<u32> {
    (u32::from(market.bookable_start_hour)..u32::from(market.bookable_end_hour))
        .step_by(usize::from(market.block_hours.max(1)))
        .collect()
}

/// The coverage grid of `days` market days from `first`: one cell per block, counting the
/// shifts (start, status, how many) by what became of them. Shifts outside the grid are
/// ignored.
pub fn coverage(
    market: &Market,
    first: NaiveDate,
    days: u32,
    shifts: &[(NaiveDateTime, String, i64)],
) -> Vec<CoverageDay> {
    let hours = block_hours(market);
    let zone = market.time_zone;
    let mut grid: Vec<CoverageDay> = (0..days)
        .map(|d| CoverageDay {
            date: first + Duration::days(i64::from(d)),
            cells: hours
                .iter()
                .map(|h| CoverageCell {
                    block: format!("{h:02}:00"),
                    ..CoverageCell::default()
                })
                .collect(),
            seats: 0,
            open: 0,
        })
        .collect();
    for (start, status, n) in shifts {
        let n = u32::try_from(*n).unwrap_or(0);
        let local = start.and_utc().with_timezone(&zone);
        let day = (local.date_naive() - first).num_days();
        let Some(day) = usize::try_from(day).ok().and_then(|d| grid.get_mut(d)) else {
            continue;
        };
        // A shift starts on a block boundary; one that does not counts in the block it
        // starts in.
        let Some(i) = hours.iter().rposition(|h| *h <= local.hour()) else {
            continue;
        };
        let cell = &mut day.cells[i];
        cell.seats += n;
        day.seats += n;
        match status.as_str() {
            "claimed" => cell.claimed += n,
            "checked_in" => cell.checked_in += n,
            "completed" => cell.completed += n,
            _ => {
                cell.open += n;
                day.open += n;
            }
        }
    }
    grid
}

/// Adherence from stored holdings (length, outcome, check-in, check-out).
pub fn adherence_of(rows: &[HoldingRow]) -> Adherence {
    let commitments: Vec<Commitment> = rows
        .iter()
        .map(|r| Commitment {
            minutes: (r.ends_at - r.starts_at).num_minutes(),
            outcome: match r.outcome.as_deref() {
                Some("worked") => Outcome::Worked {
                    worked_minutes: match r.checked_in_at {
                        Some(i) => (r.checked_out_at.unwrap_or(r.ends_at) - i.max(r.starts_at))
                            .num_minutes(),
                        None => 0,
                    },
                },
                Some("released") => Outcome::ReleasedFree,
                Some("released_late") => Outcome::ReleasedLate,
                Some("no_show") => Outcome::NoShow,
                Some("swapped_out") => Outcome::SwappedOut,
                Some("cancelled") => Outcome::Cancelled,
                // Still held: not kept or broken yet.
                _ => Outcome::Upcoming,
            },
        })
        .collect();
    adherence::adherence(&commitments)
}

// ----- adherence -----

#[derive(Debug, Clone, Queryable)]
pub struct HoldingRow {
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub outcome: Option<String>,
    pub checked_in_at: Option<NaiveDateTime>,
    pub checked_out_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// `YYYY-MM` in the agent's zone; default the current month.
    pub month: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdherenceView {
    pub agent_id: String,
    /// `YYYY-MM`, in the agent's zone.
    pub month: String,
    pub committed_hours: f64,
    pub worked_hours: f64,
    pub late_releases: u32,
    pub no_shows: u32,
    /// Worked share of committed hours in basis points (10000 = 100%); absent when nothing
    /// was committed.
    pub ratio_bp: Option<u16>,
    /// Below 90%: the agent may be drifting away (churn warning).
    pub at_risk: bool,
}

/// Adherence below this is a churn warning.
pub const AT_RISK_BP: u16 = 9_000;

fn parse_month(raw: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(&format!("{}-01", raw.trim()), "%Y-%m-%d").map_err(|_| {
        AppError::field(
            "month",
            "invalid_month",
            format!("{raw:?} is not a month like 2026-12"),
        )
    })
}

/// Adherence over the 30 days before `now` (for early access).
pub fn recent_adherence(
    conn: &mut DbConn,
    agent: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<Adherence> {
    let rows = holdings(conn, agent, now - Duration::days(30), now)?;
    Ok(adherence_of(&rows))
}

fn holdings(
    conn: &mut DbConn,
    agent: &AccountId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<HoldingRow>> {
    shift_assignments::table
        .filter(shift_assignments::agent_id.eq(agent.as_str()))
        .filter(shift_assignments::starts_at.ge(from))
        .filter(shift_assignments::starts_at.lt(to))
        .select((
            shift_assignments::starts_at,
            shift_assignments::ends_at,
            shift_assignments::outcome,
            shift_assignments::checked_in_at,
            shift_assignments::checked_out_at,
        ))
        .load(conn)
}

pub async fn adherence_for(
    state: &AppState,
    agent: AccountId,
    q: MonthQuery,
) -> Result<AdherenceView, AppError> {
    let now = state.clock.now();
    let month = q.month.as_deref().map(parse_month).transpose()?;
    Ok(state
        .db
        .run(move |conn| -> Result<AdherenceView, AppError> {
            crate::certification::store::find(conn, &agent)?.ok_or(AppError::NotFound)?;
            let zone = viewer(conn, &agent)?.zone;
            let first = month.unwrap_or_else(|| {
                let today = local_date(zone, now);
                today - Duration::days(i64::from(today.day0()))
            });
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .ok_or_else(|| AppError::field("month", "invalid_month", "out of range"))?;
            let rows = holdings(
                conn,
                &agent,
                local_midnight(zone, first),
                local_midnight(zone, next),
            )?;
            let a = adherence_of(&rows);
            Ok(AdherenceView {
                agent_id: agent.0.clone(),
                month: first.format("%Y-%m").to_string(),
                committed_hours: a.committed_minutes as f64 / 60.0,
                worked_hours: a.worked_minutes as f64 / 60.0,
                late_releases: a.late_releases,
                no_shows: a.no_shows,
                ratio_bp: a.ratio_bp,
                at_risk: adherence::at_risk(a.ratio_bp, AT_RISK_BP),
            })
        })
        .await?)
}

// ----- merchant views -----

/// One shift as the merchant sees it: who holds it (by display name) and how far along it is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffedShift {
    pub shift_id: String,
    pub booking_id: String,
    pub skill: String,
    pub seat_no: i32,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// In the merchant's (market) zone, `YYYY-MM-DD HH:MM`.
    pub local_start: String,
    pub local_end: String,
    /// `open`, `claimed`, `checked_in`, `completed` or `cancelled`.
    pub status: String,
    /// The agent who will come (after any swap), or none yet.
    pub agent: Option<String>,
    /// The agent worked for this shop before.
    pub returning: bool,
    /// Reopened after a no-show.
    pub urgent: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingStaffing {
    pub booking_id: String,
    pub seats: i32,
    pub shifts: u32,
    pub claimed: u32,
    /// Checked in right now.
    pub checked_in_now: u32,
    pub completed: u32,
    /// Shifts nobody holds (gaps), not yet over.
    pub open: u32,
    /// Share of staffed shifts held by agents who worked for the shop before, in basis
    /// points; absent when nothing is staffed.
    pub continuity_bp: Option<u16>,
    /// Every shift by start.
    pub items: Vec<StaffedShift>,
}

type StaffRow = (
    String,
    String,
    String,
    i32,
    NaiveDateTime,
    NaiveDateTime,
    String,
    Option<String>,
    i64,
    Option<String>,
);

fn staff_rows(
    conn: &mut DbConn,
    merchant: &str,
    booking: Option<&str>,
    window: Option<(NaiveDateTime, NaiveDateTime)>,
) -> QueryResult<Vec<StaffRow>> {
    let mut q = shifts::table
        .left_join(accounts::table.on(accounts::id.nullable().eq(shifts::agent_id)))
        .filter(shifts::merchant_id.eq(merchant.to_owned()))
        .select((
            shifts::id,
            shifts::booking_id,
            shifts::skill,
            shifts::seat_no,
            shifts::starts_at,
            shifts::ends_at,
            shifts::status,
            shifts::agent_id,
            shifts::urgent_bonus_fen,
            accounts::display_name.nullable(),
        ))
        .order((shifts::starts_at.asc(), shifts::seat_no.asc()))
        .into_boxed();
    if let Some(b) = booking {
        q = q.filter(shifts::booking_id.eq(b.to_owned()));
    }
    if let Some((from, to)) = window {
        q = q
            .filter(shifts::starts_at.lt(to))
            .filter(shifts::ends_at.gt(from));
    }
    q.load(conn)
}

/// (agent, start) of every shift the agent worked for the merchant.
fn worked_history(conn: &mut DbConn, merchant: &str) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    shift_assignments::table
        .filter(shift_assignments::merchant_id.eq(merchant))
        .filter(shift_assignments::outcome.eq("worked"))
        .select((shift_assignments::agent_id, shift_assignments::starts_at))
        .load(conn)
}

fn staffed_view(
    zone: Tz,
    rows: Vec<StaffRow>,
    history: &[(String, NaiveDateTime)],
) -> (Vec<StaffedShift>, Option<u16>) {
    let staffed: Vec<(String, NaiveDateTime)> = rows
        .iter()
        .filter(|r| matches!(r.6.as_str(), "claimed" | "checked_in" | "completed"))
        .filter_map(|r| r.7.clone().map(|a| (a, r.4)))
        .collect();
    let continuity = continuity_bp(history, &staffed);
    let first = first_worked(history);
    let items = rows
        .into_iter()
        .map(|r| StaffedShift {
            returning: r
                .7
                .as_deref()
                .and_then(|a| first.get(a))
                .is_some_and(|t| *t < r.4),
            shift_id: r.0,
            booking_id: r.1,
            skill: r.2,
            seat_no: r.3,
            starts_at: r.4.and_utc(),
            ends_at: r.5.and_utc(),
            local_start: local(zone, r.4),
            local_end: local(zone, r.5),
            status: r.6,
            agent: r.9,
            urgent: r.8 > 0,
        })
        .collect();
    (items, continuity)
}

pub async fn booking_staffing(
    state: &AppState,
    actor: Actor,
    booking: String,
) -> Result<BookingStaffing, AppError> {
    let now = state.clock.now();
    let zone = state.rules().market.time_zone;
    Ok(state
        .db
        .run(move |conn| -> Result<BookingStaffing, AppError> {
            let row =
                crate::seats::store::find_booking(conn, &booking)?.ok_or(AppError::NotFound)?;
            actor.may_touch(&row)?;
            let rows = staff_rows(conn, row.merchant_id.as_str(), Some(&row.id), None)?;
            let history = worked_history(conn, row.merchant_id.as_str())?;
            let (items, continuity_bp) = staffed_view(zone, rows, &history);
            let count =
                |f: &dyn Fn(&StaffedShift) -> bool| items.iter().filter(|s| f(s)).count() as u32;
            Ok(BookingStaffing {
                booking_id: row.id.clone(),
                seats: row.seats,
                shifts: items.len() as u32,
                claimed: count(&|s| s.status == "claimed"),
                checked_in_now: count(&|s| s.status == "checked_in"),
                completed: count(&|s| s.status == "completed"),
                open: count(&|s| s.status == "open" && s.ends_at.naive_utc() > now),
                continuity_bp,
                items,
            })
        })
        .await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShopStaffing {
    pub merchant_id: String,
    /// The market day shown (today in the market's zone).
    pub date: NaiveDate,
    /// Today's shifts with the agents who will come.
    pub today: Vec<StaffedShift>,
    /// Continuity over the last 90 days and the next 14: share of staffed shifts held by
    /// agents who worked for the shop before.
    pub continuity_bp: Option<u16>,
    /// Gaps (open shifts) in the next 14 days.
    pub open_next_14_days: u32,
}

pub async fn shop_staffing(
    state: &AppState,
    merchant: MerchantId,
) -> Result<ShopStaffing, AppError> {
    let now = state.clock.now();
    let zone = state.rules().market.time_zone;
    Ok(state
        .db
        .run(move |conn| -> Result<ShopStaffing, AppError> {
            crate::accounts::store::find_merchant(conn, &merchant)?.ok_or(AppError::NotFound)?;
            let today = local_date(zone, now);
            let (from, to) = (
                local_midnight(zone, today),
                local_midnight(zone, today + Duration::days(1)),
            );
            let history = worked_history(conn, merchant.as_str())?;
            // One read of the window; today's shifts are part of it.
            let window = staff_rows(
                conn,
                merchant.as_str(),
                None,
                Some((now - Duration::days(90), now + Duration::days(14))),
            )?;
            let open = window
                .iter()
                .filter(|r| r.6 == "open" && r.5 > now && r.4 < now + Duration::days(14))
                .count() as u32;
            let today_rows: Vec<StaffRow> = window
                .iter()
                .filter(|r| r.4 < to && r.5 > from)
                .cloned()
                .collect();
            let (today_items, _) = staffed_view(zone, today_rows, &history);
            let (_, continuity_bp) = staffed_view(zone, window, &history);
            Ok(ShopStaffing {
                merchant_id: merchant.0.clone(),
                date: today,
                today: today_items,
                continuity_bp,
                open_next_14_days: open,
            })
        })
        .await?)
}

// ----- admin views -----

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// First market day (`YYYY-MM-DD`), default today.
    pub from: Option<String>,
    /// 1 to 31, default 14.
    pub days: Option<u32>,
    /// Only this skill.
    pub skill: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coverage {
    pub time_zone: String,
    pub days: Vec<CoverageDay>,
    pub seats: u32,
    pub open: u32,
}

pub async fn coverage_map(state: &AppState, q: CoverageQuery) -> Result<Coverage, AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    let days = q.days.unwrap_or(14);
    if !(1..=31).contains(&days) {
        return Err(AppError::field(
            "days",
            "out_of_range",
            "days must be between 1 and 31",
        ));
    }
    if let Some(skill) = q.skill.as_deref()
        && rules.skill(skill).is_none()
    {
        return Err(AppError::field(
            "skill",
            "unknown_skill",
            format!("no skill {skill:?} in the seat rules"),
        ));
    }
    let zone = rules.market.time_zone;
    let first = match q.from.as_deref() {
        Some(d) => parse_date("from", d)?,
        None => local_date(zone, now),
    };
    Ok(state
        .db
        .run(move |conn| -> Result<Coverage, AppError> {
            let from = local_midnight(zone, first);
            let to = local_midnight(zone, first + Duration::days(i64::from(days)));
            // Counted in the database: a peak fortnight is hundreds of thousands of shifts.
            let mut query = shifts::table
                .inner_join(bookings::table)
                .filter(bookings::status.eq_any(["confirmed", "active", "completed"]))
                .filter(shifts::status.ne("cancelled"))
                .filter(shifts::starts_at.ge(from))
                .filter(shifts::starts_at.lt(to))
                .group_by((shifts::starts_at, shifts::status))
                .select((shifts::starts_at, shifts::status, diesel::dsl::count_star()))
                .into_boxed();
            if let Some(skill) = q.skill {
                query = query.filter(shifts::skill.eq(skill));
            }
            let rows: Vec<(NaiveDateTime, String, i64)> = query.load(conn)?;
            let grid = coverage(&rules.market, first, days, &rows);
            Ok(Coverage {
                time_zone: zone.name().to_owned(),
                seats: grid.iter().map(|d| d.seats).sum(),
                open: grid.iter().map(|d| d.open).sum(),
                days: grid,
            })
        })
        .await?)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoShow {
    /// The holding's id (the page cursor).
    pub id: String,
    pub shift_id: String,
    pub agent_id: String,
    pub agent: String,
    pub agent_email: String,
    pub merchant: String,
    pub skill: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// Start in the market's zone.
    pub local_start: String,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    /// What became of the shift: `open` (still a gap), `claimed`, `checked_in`, ...
    pub shift_status: String,
}

/// No-shows, newest first.
pub async fn no_shows(
    state: &AppState,
    cursor: Option<String>,
    limit: i64,
) -> Result<Vec<NoShow>, AppError> {
    let zone = state.rules().market.time_zone;
    Ok(state
        .db
        .run(move |conn| -> Result<Vec<NoShow>, AppError> {
            let mut q = shift_assignments::table
                .inner_join(shifts::table)
                .inner_join(accounts::table.on(accounts::id.eq(shift_assignments::agent_id)))
                .inner_join(merchants::table.on(merchants::id.eq(shift_assignments::merchant_id)))
                .filter(shift_assignments::outcome.eq("no_show"))
                .select((
                    shift_assignments::id,
                    shifts::id,
                    shift_assignments::agent_id,
                    accounts::display_name,
                    accounts::email,
                    merchants::name,
                    shifts::skill,
                    shifts::starts_at,
                    shift_assignments::ended_at,
                    shifts::status,
                ))
                .order(shift_assignments::id.desc())
                .limit(limit)
                .into_boxed();
            if let Some(c) = cursor {
                q = q.filter(shift_assignments::id.lt(c));
            }
            type Row = (
                String,
                String,
                String,
                String,
                String,
                String,
                String,
                NaiveDateTime,
                Option<NaiveDateTime>,
                String,
            );
            let rows: Vec<Row> = q.load(conn)?;
            Ok(rows
                .into_iter()
                .map(|r| NoShow {
                    id: r.0,
                    shift_id: r.1,
                    agent_id: r.2,
                    agent: r.3,
                    agent_email: r.4,
                    merchant: r.5,
                    skill: r.6,
                    starts_at: r.7.and_utc(),
                    local_start: local(zone, r.7),
                    recorded_at: r.8.unwrap_or(r.7).and_utc(),
                    shift_status: r.9,
                })
                .collect())
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    fn market() -> Market {
        Market {
            time_zone: chrono_tz::Asia::Shanghai,
            bookable_start_hour: 8,
            bookable_end_hour: 24,
            block_hours: 4,
            hold_minutes: 15,
            min_seats: 1,
            max_seats_per_booking: 500,
            off_peak_opens_days: 90,
            off_peak_multiplier_bp: 10_000,
        }
    }

    #[test]
    fn continuity_counts_agents_who_worked_for_the_shop_before_that_shift() {
        let history = vec![("wang".to_owned(), t(1, 0)), ("li".to_owned(), t(5, 0))];
        let staffed = vec![
            ("wang".to_owned(), t(3, 0)), // returning
            ("li".to_owned(), t(3, 0)),   // first worked later: new here
            ("zhao".to_owned(), t(3, 0)), // never
            ("li".to_owned(), t(6, 0)),   // returning by then
        ];
        assert_eq!(continuity_bp(&history, &staffed), Some(5_000));
        assert_eq!(continuity_bp(&history, &[]), None);
        assert_eq!(continuity_bp(&[], &staffed), Some(0));
    }

    #[test]
    fn coverage_counts_each_block_of_each_day_in_the_markets_zone() {
        // 00:00 UTC on Dec 3 is 08:00 in Shanghai: the first block of Dec 3.
        let shifts = vec![
            (t(3, 0), "claimed".to_owned(), 1),
            (t(3, 0), "open".to_owned(), 1),
            (t(3, 12), "checked_in".to_owned(), 1), // 20:00
            (t(4, 4), "completed".to_owned(), 1),   // Dec 4 12:00
            (t(9, 0), "open".to_owned(), 5),        // outside the grid
        ];
        let grid = coverage(
            &market(),
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            2,
            &shifts,
        );
        assert_eq!(grid.len(), 2);
        assert_eq!(grid[0].cells.len(), 4);
        assert_eq!(grid[0].cells[0].block, "08:00");
        assert_eq!(
            (
                grid[0].cells[0].seats,
                grid[0].cells[0].claimed,
                grid[0].cells[0].open
            ),
            (2, 1, 1)
        );
        assert_eq!(grid[0].cells[3].checked_in, 1);
        assert_eq!((grid[0].seats, grid[0].open), (3, 1));
        assert_eq!(grid[1].cells[1].completed, 1);
        assert_eq!(grid[1].open, 0);
    }

    #[test]
    fn adherence_reads_stored_outcomes() {
        let row = |outcome: Option<&str>,
                   checked_in: Option<NaiveDateTime>,
                   out: Option<NaiveDateTime>| HoldingRow {
            starts_at: t(3, 0),
            ends_at: t(3, 4),
            outcome: outcome.map(str::to_owned),
            checked_in_at: checked_in,
            checked_out_at: out,
        };
        let rows = vec![
            row(Some("worked"), Some(t(2, 23)), None), // 4 h, early check-in counts from the start
            row(Some("worked"), Some(t(3, 1)), Some(t(3, 3))), // 2 of 4 h
            row(Some("no_show"), None, None),
            row(Some("released"), None, None),
            row(Some("released_late"), None, None),
            row(None, None, None),
        ];
        let a = adherence_of(&rows);
        assert_eq!(a.committed_minutes, 4 * 4 * 60);
        assert_eq!(a.worked_minutes, 6 * 60);
        assert_eq!((a.no_shows, a.late_releases), (1, 1));
        assert_eq!(a.ratio_bp, Some(3_750));
    }

    proptest! {
        /// Every shift inside the grid lands in exactly one cell; the counts add up.
        #[test]
        fn coverage_counts_add_up(
            shifts in proptest::collection::vec((1u32..20, 0u32..24, 0usize..4), 0..80),
        ) {
            let statuses = ["open", "claimed", "checked_in", "completed"];
            let rows: Vec<(NaiveDateTime, String, i64)> = shifts
                .iter()
                .map(|(d, h, s)| (t(*d, *h), statuses[*s].to_owned(), 1))
                .collect();
            let first = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
            let grid = coverage(&market(), first, 7, &rows);
            let zone = chrono_tz::Asia::Shanghai;
            let inside = rows.iter().filter(|(start, _, _)| {
                let l = start.and_utc().with_timezone(&zone);
                let d = (l.date_naive() - first).num_days();
                (0..7).contains(&d) && l.hour() >= 8
            }).count() as u32;
            let total: u32 = grid.iter().map(|d| d.seats).sum();
            prop_assert_eq!(total, inside);
            for day in &grid {
                let cells: u32 = day.cells.iter().map(|c| c.claimed + c.checked_in + c.completed + c.open).sum();
                prop_assert_eq!(cells, day.seats);
                prop_assert_eq!(day.cells.iter().map(|c| c.open).sum::<u32>(), day.open);
            }
        }

        /// Continuity is a share: never above 100%, and adding a returning agent's shift never
        /// lowers it.
        #[test]
        fn continuity_is_a_share(
            history in proptest::collection::vec((0u8..5, 1u32..20), 0..20),
            staffed in proptest::collection::vec((0u8..8, 1u32..28), 1..30),
        ) {
            let h: Vec<(String, NaiveDateTime)> = history.iter().map(|(a, d)| (a.to_string(), t(*d, 0))).collect();
            let s: Vec<(String, NaiveDateTime)> = staffed.iter().map(|(a, d)| (a.to_string(), t(*d, 0))).collect();
            let bp = continuity_bp(&h, &s).unwrap();
            prop_assert!(bp <= 10_000);
            if let Some((agent, first)) = h.iter().min_by_key(|(_, t)| *t) {
                let mut more = s.clone();
                more.push((agent.clone(), *first + Duration::days(1)));
                prop_assert!(continuity_bp(&h, &more).unwrap() >= bp);
            }
        }
    }
}
