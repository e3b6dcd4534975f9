//! The admins' operations dashboard (issue 8), as pure functions of facts loaded by
//! [`super::operations_store`]: seats sold against seats staffed per hour for the coming
//! market days, today's no-shows, queue health across shops, the mail outbox's backlog and
//! where payroll stands.
//!
//! Definitions:
//! - **sold** (per market hour): the seats of confirmed, active or completed bookings that
//!   cover the hour, expanded with the seats module's own [`booked_hours`] (the hours a
//!   booking took from the inventory).
//! - **staffed**: the booked shifts (one seat, one block) covering the hour that an agent
//!   holds (`claimed`, `checked_in` or `completed`). A no-show puts its shift back to
//!   `open`, so it stops counting at once.
//! - **gap**: sold minus staffed; an hour with a gap is **understaffed**.
//! - **no-show today**: a holding of a shift starting today (market day) whose check-in was
//!   missed by the shifts rules' [`check_in_missed`]: recorded ones (the no-show job ended
//!   them) and ones the job has not reached yet.
//! - **queue health** of a shop: its waiting chats and longest wait now, and its service
//!   level over the last 15 minutes, exactly as the shop's own live figures
//!   ([`super::live`]) count them, with the agents checked in on its shifts and online.
//! - **outbox backlog**: mail `pending` (and the oldest one's age) and `failed` (given up
//!   after the last attempt; an admin may retry it).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::live::{self, LiveChat, RECENT_MINUTES, Staff};
use crate::error::AppError;
use crate::seats::booking::{ValidBooking, booked_hours, local_hour_to_utc};
use crate::shifts::claim::check_in_missed;

/// Market days shown when the query names none.
pub const DEFAULT_DAYS: u32 = 3;
/// The most market days one view covers.
pub const MAX_DAYS: u32 = 14;
/// How many payroll runs the dashboard lists (newest first).
pub const LATEST_RUNS: i64 = 5;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationsQuery {
    /// Market days from today to show per hour, 1 to 14 (default 3).
    pub days: Option<String>,
}

/// The number of days asked for: a whole number from 1 to [`MAX_DAYS`], by default
/// [`DEFAULT_DAYS`].
pub fn parse_days(raw: Option<&str>) -> Result<u32, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_DAYS);
    };
    let days: u32 = raw
        .parse()
        .map_err(|_| AppError::field("days", "invalid_number", "days is a whole number"))?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::field(
            "days",
            "out_of_range",
            format!("days must be between 1 and {MAX_DAYS}"),
        ));
    }
    Ok(days)
}

// ----- sold versus staffed -----

/// A booking that sold seats: its market days, daily hours and seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldBooking {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub daily_start_hour: u8,
    pub daily_end_hour: u8,
    pub seats: u32,
    /// The zone its hours were booked in.
    pub time_zone: Tz,
}

/// A shift an agent holds, UTC `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldShift {
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

/// One market hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HourFigures {
    pub starts_at: DateTime<Utc>,
    /// The market day and local hour (0-23) it starts at.
    pub date: NaiveDate,
    pub hour: u8,
    pub sold: u32,
    pub staffed: u32,
    /// Sold seats nobody holds (sold minus staffed, never below 0).
    pub gap: u32,
    pub understaffed: bool,
}

/// Sold against staffed, hour by hour over the bookable hours of the days shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Coverage {
    pub first_day: NaiveDate,
    pub days: u32,
    pub sold_seat_hours: u64,
    pub staffed_seat_hours: u64,
    pub gap_seat_hours: u64,
    pub understaffed_hours: u32,
    pub hours: Vec<HourFigures>,
}

/// Sold and staffed seats per bookable hour (`bookable` local hours, end exclusive) of the
/// `days` market days from `first`. Bookings and shifts outside the grid are ignored.
pub fn coverage(
    zone: Tz,
    bookable: (u8, u8),
    first: NaiveDate,
    days: u32,
    sold: &[SoldBooking],
    held: &[HeldShift],
) -> Coverage {
    let mut hours: Vec<HourFigures> = Vec::new();
    let mut index: BTreeMap<NaiveDateTime, usize> = BTreeMap::new();
    for d in 0..days {
        let date = first + Duration::days(i64::from(d));
        for hour in bookable.0..bookable.1.min(24) {
            let at = local_hour_to_utc(zone, date, hour);
            if index.contains_key(&at) {
                continue;
            }
            index.insert(at, hours.len());
            hours.push(HourFigures {
                starts_at: at.and_utc(),
                date,
                hour,
                sold: 0,
                staffed: 0,
                gap: 0,
                understaffed: false,
            });
        }
    }
    let (Some(&grid_start), Some(&grid_end)) = (index.keys().next(), index.keys().next_back())
    else {
        return Coverage {
            first_day: first,
            days,
            sold_seat_hours: 0,
            staffed_seat_hours: 0,
            gap_seat_hours: 0,
            understaffed_hours: 0,
            hours,
        };
    };
    for b in sold {
        let booking = ValidBooking {
            skill: String::new(),
            start: b.start,
            end: b.end,
            daily_start_hour: b.daily_start_hour,
            daily_end_hour: b.daily_end_hour,
            seats: b.seats,
        };
        for at in booked_hours(b.time_zone, &booking) {
            if let Some(&i) = index.get(&at) {
                hours[i].sold += b.seats;
            }
        }
    }
    for s in held {
        // Whole hours from the hour the shift starts in, up to its end.
        let mut at = s
            .starts_at
            .max(grid_start)
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(s.starts_at);
        while at < s.ends_at && at <= grid_end {
            if let Some(&i) = index.get(&at) {
                hours[i].staffed += 1;
            }
            at += Duration::hours(1);
        }
    }
    for h in &mut hours {
        h.gap = h.sold.saturating_sub(h.staffed);
        h.understaffed = h.gap > 0;
    }
    Coverage {
        first_day: first,
        days,
        sold_seat_hours: hours.iter().map(|h| u64::from(h.sold)).sum(),
        staffed_seat_hours: hours.iter().map(|h| u64::from(h.staffed)).sum(),
        gap_seat_hours: hours.iter().map(|h| u64::from(h.gap)).sum(),
        understaffed_hours: hours.iter().filter(|h| h.understaffed).count() as u32,
        hours,
    }
}

// ----- no-shows -----

/// A holding of a shift starting today that was not checked in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub shift_id: String,
    pub agent_id: String,
    pub agent: String,
    pub merchant_id: String,
    pub merchant: String,
    pub skill: String,
    /// The shift's start (the grace runs from it, as the no-show job counts).
    pub starts_at: NaiveDateTime,
    pub claimed_at: NaiveDateTime,
    pub checked_in_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NoShowToday {
    pub shift_id: String,
    pub agent_id: String,
    pub agent: String,
    pub merchant_id: String,
    pub merchant: String,
    pub skill: String,
    pub starts_at: DateTime<Utc>,
    /// The shift's start in the market's zone, `HH:MM`.
    pub local_start: String,
    /// The no-show job has ended the holding (the shift is back on the board); false when
    /// the check-in was missed and the job has not run since.
    pub recorded: bool,
}

/// Today's no-shows among `holdings` at `now`, by start then agent.
pub fn no_shows(
    holdings: &[Holding],
    grace: Duration,
    now: NaiveDateTime,
    zone: Tz,
) -> Vec<NoShowToday> {
    let mut out: Vec<NoShowToday> = holdings
        .iter()
        .filter_map(|h| {
            let recorded = h.outcome.as_deref() == Some("no_show");
            let pending = h.outcome.is_none()
                && h.ended_at.is_none()
                && h.checked_in_at.is_none()
                && check_in_missed(h.starts_at, h.claimed_at, grace, now);
            (recorded || pending).then(|| NoShowToday {
                shift_id: h.shift_id.clone(),
                agent_id: h.agent_id.clone(),
                agent: h.agent.clone(),
                merchant_id: h.merchant_id.clone(),
                merchant: h.merchant.clone(),
                skill: h.skill.clone(),
                starts_at: h.starts_at.and_utc(),
                local_start: h
                    .starts_at
                    .and_utc()
                    .with_timezone(&zone)
                    .format("%H:%M")
                    .to_string(),
                recorded,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.starts_at, &a.agent, &a.shift_id).cmp(&(b.starts_at, &b.agent, &b.shift_id))
    });
    out
}

// ----- queue health -----

/// One shop's queue now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShopQueue {
    pub merchant_id: String,
    pub merchant: String,
    pub waiting: u32,
    pub longest_wait_secs: Option<i64>,
    pub agents_on_shift: u32,
    pub agents_online: u32,
    /// Of the last 15 minutes, in basis points; absent when no chat was due an answer.
    pub service_level_bp: Option<u32>,
    /// The service level's parts: answered (and of them within the target) and missed.
    pub answered: u32,
    pub answered_in_target: u32,
    pub missed: u32,
}

/// Queue health of every shop with chats or agents to show (`shops` is id and name),
/// longest waits first. A shop with nothing open, nothing recent and nobody on shift is
/// left out.
pub fn queue_health(
    shops: &[(String, String)],
    chats: &BTreeMap<String, Vec<LiveChat>>,
    staff: &BTreeMap<String, Staff>,
    now: NaiveDateTime,
    target_secs: u32,
) -> Vec<ShopQueue> {
    let mut out: Vec<ShopQueue> = shops
        .iter()
        .filter(|(id, _)| chats.contains_key(id) || staff.contains_key(id))
        .map(|(id, name)| {
            let mine = chats.get(id).map_or(&[][..], Vec::as_slice);
            let s = staff.get(id).copied().unwrap_or_default();
            let (waiting, longest_wait_secs) = live::queue(mine, now);
            let w = live::window(
                mine,
                now - Duration::minutes(RECENT_MINUTES),
                now,
                target_secs,
            );
            ShopQueue {
                merchant_id: id.clone(),
                merchant: name.clone(),
                waiting,
                longest_wait_secs,
                agents_on_shift: s.on_shift,
                agents_online: s.online,
                service_level_bp: w.service_level_bp,
                answered: w.answered,
                answered_in_target: w.answered_in_target,
                missed: w.missed,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.longest_wait_secs
            .cmp(&a.longest_wait_secs)
            .then(b.waiting.cmp(&a.waiting))
            .then(a.merchant.cmp(&b.merchant))
            .then(a.merchant_id.cmp(&b.merchant_id))
    });
    out
}

// ----- outbox -----

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OutboxBacklog {
    pub pending: u64,
    /// Age of the oldest pending mail, seconds.
    pub oldest_pending_secs: Option<i64>,
    /// Given up after the last attempt (dead until an admin retries them).
    pub failed: u64,
    pub sent: u64,
}

/// The backlog from the counts per status and the oldest pending mail's creation.
pub fn outbox_backlog(
    counts: &[(String, i64)],
    oldest_pending: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> OutboxBacklog {
    let count = |status: &str| {
        counts
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
            .sum()
    };
    OutboxBacklog {
        pending: count("pending"),
        oldest_pending_secs: oldest_pending.map(|t| (now - t).num_seconds().max(0)),
        failed: count("failed"),
        sent: count("sent"),
    }
}

// ----- payroll -----

/// A payroll run as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PayrollRunStatus {
    pub run_id: String,
    /// `computing`, `draft`, `published`, `approved`, `paid` or `failed`.
    pub status: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub total_fen: i64,
    pub agent_count: i32,
    pub open_disputes: u32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PayrollStatus {
    /// The latest runs, newest first.
    pub runs: Vec<PayrollRunStatus>,
    /// Open disputes over every run.
    pub open_disputes: u32,
}

/// The facts of one run the dashboard needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFacts {
    pub id: String,
    pub status: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub total_fen: i64,
    pub agent_count: i32,
    pub created_at: NaiveDateTime,
}

/// The runs (newest first) with their open disputes (`disputes`: open ones per run).
pub fn payroll_status(runs: Vec<RunFacts>, disputes: &BTreeMap<String, i64>) -> PayrollStatus {
    let open = |run: &str| u32::try_from(disputes.get(run).copied().unwrap_or(0)).unwrap_or(0);
    PayrollStatus {
        open_disputes: disputes
            .values()
            .map(|n| u32::try_from(*n).unwrap_or(0))
            .sum(),
        runs: runs
            .into_iter()
            .map(|r| PayrollRunStatus {
                open_disputes: open(&r.id),
                run_id: r.id,
                status: r.status,
                period_from: r.period_from,
                period_to: r.period_to,
                total_fen: r.total_fen,
                agent_count: r.agent_count,
                created_at: r.created_at.and_utc(),
            })
            .collect(),
    }
}

/// The whole dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OperationsDashboard {
    pub at: DateTime<Utc>,
    pub time_zone: String,
    /// Today in the market's zone.
    pub today: NaiveDate,
    /// Minutes after a shift's start before a missed check-in is a no-show.
    pub no_show_grace_minutes: u32,
    /// The first-response target the service levels are measured against.
    pub target_secs: u32,
    pub coverage: Coverage,
    pub no_shows: Vec<NoShowToday>,
    pub queues: Vec<ShopQueue>,
    pub outbox: OutboxBacklog,
    pub payroll: PayrollStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ZONE: Tz = chrono_tz::Asia::Shanghai;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    /// `d` December 2026 at local `h`:`m` Shanghai, in UTC.
    fn local(d: u32, h: u32, m: u32) -> NaiveDateTime {
        day(d).and_hms_opt(h, m, 0).unwrap() - Duration::hours(8)
    }

    fn booking(start: u32, end: u32, hours: (u8, u8), seats: u32) -> SoldBooking {
        SoldBooking {
            start: day(start),
            end: day(end),
            daily_start_hour: hours.0,
            daily_end_hour: hours.1,
            seats,
            time_zone: ZONE,
        }
    }

    fn held(d: u32, from: u32, to: u32) -> HeldShift {
        HeldShift {
            starts_at: local(d, from, 0),
            ends_at: local(d, to, 0),
        }
    }

    fn hour(c: &Coverage, d: u32, h: u8) -> &HourFigures {
        c.hours
            .iter()
            .find(|x| x.date == day(d) && x.hour == h)
            .unwrap()
    }

    /// Two days (Dec 5 and 6) of hours 8-24. Counted by hand:
    /// - A: 2 seats, Dec 5-6, 08-12; B: 3 seats, Dec 6, 10-14; C: 1 seat Dec 9 (outside);
    /// - held: two of A's Dec 5 08-12 seats, one of A's Dec 6 08-12, one of B's 10-14 plus
    ///   a half-hour-late takeover 12:30-14 of B's (counts in 12 and 13).
    #[test]
    fn sold_and_staffed_are_counted_by_hand() {
        let sold = [
            booking(5, 6, (8, 12), 2),
            booking(6, 6, (10, 14), 3),
            booking(9, 9, (8, 12), 1),
        ];
        let held = [
            held(5, 8, 12),
            held(5, 8, 12),
            held(6, 8, 12),
            held(6, 10, 14),
            HeldShift {
                starts_at: local(6, 12, 30),
                ends_at: local(6, 14, 0),
            },
        ];
        let c = coverage(ZONE, (8, 24), day(5), 2, &sold, &held);
        assert_eq!(c.hours.len(), 32);
        assert_eq!(c.hours[0].starts_at, local(5, 8, 0).and_utc());
        // Dec 5: 2 sold, 2 staffed at 08-11; nothing after.
        for h in 8..12 {
            let x = hour(&c, 5, h);
            assert_eq!((x.sold, x.staffed, x.gap, x.understaffed), (2, 2, 0, false));
        }
        assert_eq!(hour(&c, 5, 12).sold, 0);
        // Dec 6: 08-09 A only (2 sold, 1 held); 10-11 A + B (5 sold, 2 held); 12-13 B (3
        // sold, 2 held).
        let dec6 = [
            (8, 2, 1),
            (9, 2, 1),
            (10, 5, 2),
            (11, 5, 2),
            (12, 3, 2),
            (13, 3, 2),
        ];
        for (h, sold, staffed) in dec6 {
            let x = hour(&c, 6, h);
            let want = (sold, staffed, sold - staffed, true);
            assert_eq!((x.sold, x.staffed, x.gap, x.understaffed), want, "{h}:00");
        }
        assert_eq!(c.sold_seat_hours, 8 + 8 + 12);
        assert_eq!(c.staffed_seat_hours, 8 + 4 + 4 + 2);
        assert_eq!(c.gap_seat_hours, 2 + 6 + 2);
        assert_eq!(c.understaffed_hours, 6);
    }

    #[test]
    fn no_days_no_hours() {
        let c = coverage(ZONE, (8, 24), day(5), 0, &[booking(5, 5, (8, 12), 1)], &[]);
        assert!(c.hours.is_empty());
        assert_eq!(c.sold_seat_hours, 0);
    }

    fn holding(name: &str, start: NaiveDateTime, claimed: NaiveDateTime) -> Holding {
        Holding {
            shift_id: format!("s-{name}"),
            agent_id: format!("a-{name}"),
            agent: name.into(),
            merchant_id: "m".into(),
            merchant: "Tea House".into(),
            skill: "general".into(),
            starts_at: start,
            claimed_at: claimed,
            checked_in_at: None,
            ended_at: None,
            outcome: None,
        }
    }

    /// Now 10:15 local, grace 10 minutes.
    #[test]
    fn no_shows_are_recorded_or_past_the_grace_without_a_check_in() {
        let now = local(5, 10, 15);
        let grace = Duration::minutes(10);
        let mut recorded = holding("Wang", local(5, 8, 0), local(4, 9, 0));
        recorded.outcome = Some("no_show".into());
        recorded.ended_at = Some(local(5, 8, 10));
        // Started 10:00, grace over at 10:10: missed, not recorded yet.
        let missed = holding("Li", local(5, 10, 0), local(4, 9, 0));
        // Started 10:06: still within the grace.
        let within = holding("Zhao", local(5, 10, 6), local(4, 9, 0));
        // Taken over at 10:08 (after the start): the grace runs from the claim.
        let late_claim = holding("Sun", local(5, 10, 0), local(5, 10, 8));
        let mut checked_in = holding("Qian", local(5, 10, 0), local(4, 9, 0));
        checked_in.checked_in_at = Some(local(5, 10, 2));
        let mut released = holding("Zhou", local(5, 10, 0), local(4, 9, 0));
        released.outcome = Some("released_late".into());
        released.ended_at = Some(local(5, 9, 0));
        let list = no_shows(
            &[missed, within, late_claim, checked_in, released, recorded],
            grace,
            now,
            ZONE,
        );
        let names: Vec<(&str, &str, bool)> = list
            .iter()
            .map(|n| (n.agent.as_str(), n.local_start.as_str(), n.recorded))
            .collect();
        assert_eq!(names, [("Wang", "08:00", true), ("Li", "10:00", false)]);
    }

    fn chat(status: &str, created: NaiveDateTime) -> LiveChat {
        LiveChat {
            status: status.into(),
            created_at: created,
            queued_at: created,
            accepted_at: None,
            first_response_at: None,
            closed_at: None,
            rating: None,
            rated_at: None,
        }
    }

    #[test]
    fn queue_health_per_shop_longest_wait_first() {
        let now = local(5, 12, 0);
        let mut answered = chat("assigned", now - Duration::minutes(5));
        answered.accepted_at = Some(now - Duration::minutes(5));
        answered.first_response_at = Some(now - Duration::minutes(5) + Duration::seconds(20));
        let mut late = chat("assigned", now - Duration::minutes(4));
        late.accepted_at = Some(now - Duration::minutes(4));
        let shops = vec![
            ("a".to_owned(), "Tea House".to_owned()),
            ("b".to_owned(), "Book Nook".to_owned()),
            ("c".to_owned(), "Quiet Shop".to_owned()),
            ("d".to_owned(), "Staffed Shop".to_owned()),
        ];
        let chats = BTreeMap::from([
            (
                "a".to_owned(),
                vec![chat("queued", now - Duration::seconds(90)), answered, late],
            ),
            (
                "b".to_owned(),
                vec![
                    chat("queued", now - Duration::seconds(400)),
                    chat("offered", now - Duration::seconds(30)),
                ],
            ),
        ]);
        let staff = BTreeMap::from([
            (
                "a".to_owned(),
                Staff {
                    on_shift: 2,
                    online: 1,
                },
            ),
            (
                "d".to_owned(),
                Staff {
                    on_shift: 1,
                    online: 0,
                },
            ),
        ]);
        let q = queue_health(&shops, &chats, &staff, now, 30);
        let order: Vec<&str> = q.iter().map(|s| s.merchant_id.as_str()).collect();
        assert_eq!(order, ["b", "a", "d"]);
        assert_eq!((q[0].waiting, q[0].longest_wait_secs), (2, Some(400)));
        assert_eq!(q[0].service_level_bp, None);
        assert_eq!((q[1].waiting, q[1].longest_wait_secs), (1, Some(90)));
        assert_eq!((q[1].agents_on_shift, q[1].agents_online), (2, 1));
        assert_eq!(
            (q[1].answered, q[1].answered_in_target, q[1].missed),
            (1, 1, 1)
        );
        assert_eq!(q[1].service_level_bp, Some(5_000));
        assert_eq!((q[2].waiting, q[2].agents_on_shift), (0, 1));
    }

    #[test]
    fn outbox_and_payroll_summaries() {
        let now = local(5, 12, 0);
        let counts = vec![
            ("pending".to_owned(), 3),
            ("failed".to_owned(), 2),
            ("sent".to_owned(), 10),
        ];
        let b = outbox_backlog(&counts, Some(now - Duration::seconds(95)), now);
        assert_eq!(
            b,
            OutboxBacklog {
                pending: 3,
                oldest_pending_secs: Some(95),
                failed: 2,
                sent: 10
            }
        );
        assert_eq!(outbox_backlog(&[], None, now), OutboxBacklog::default());

        let run = |id: &str, status: &str| RunFacts {
            id: id.into(),
            status: status.into(),
            period_from: day(1),
            period_to: day(15),
            total_fen: 12_300,
            agent_count: 4,
            created_at: now,
        };
        let disputes = BTreeMap::from([("r2".to_owned(), 2), ("old".to_owned(), 1)]);
        let p = payroll_status(vec![run("r2", "published"), run("r1", "paid")], &disputes);
        assert_eq!(p.open_disputes, 3);
        assert_eq!(
            p.runs
                .iter()
                .map(|r| (r.run_id.as_str(), r.status.as_str(), r.open_disputes))
                .collect::<Vec<_>>(),
            [("r2", "published", 2), ("r1", "paid", 0)]
        );
    }

    #[test]
    fn days_default_and_bounds() {
        assert_eq!(parse_days(None).unwrap(), 3);
        assert_eq!(parse_days(Some(" ")).unwrap(), 3);
        assert_eq!(parse_days(Some("14")).unwrap(), 14);
        assert_eq!(parse_days(Some("1")).unwrap(), 1);
        for (raw, code) in [
            ("0", "out_of_range"),
            ("15", "out_of_range"),
            ("-1", "invalid_number"),
            ("two", "invalid_number"),
        ] {
            match parse_days(Some(raw)) {
                Err(AppError::Validation(errors)) => {
                    assert_eq!(
                        (errors[0].field.as_str(), errors[0].code.as_str()),
                        ("days", code)
                    );
                }
                other => panic!("{raw}: {other:?}"),
            }
        }
    }

    fn arb_booking() -> impl Strategy<Value = SoldBooking> {
        (1u32..12, 0u32..4, 0u8..6, 1u8..5, 1u32..6).prop_map(|(start, len, from, span, seats)| {
            let from = 8 + from * 2;
            booking(start, start + len, (from, (from + span * 2).min(24)), seats)
        })
    }

    fn arb_held() -> impl Strategy<Value = HeldShift> {
        (1u32..14, 0u32..24, 1i64..8, 0u32..60).prop_map(|(d, h, len, m)| {
            let start = local(d, h, m);
            HeldShift {
                starts_at: start,
                ends_at: start + Duration::hours(len),
            }
        })
    }

    proptest! {
        /// Totals agree with the hours, a gap is exactly sold minus staffed where that is
        /// positive, and every booking entirely inside the grid sells seats x hours.
        #[test]
        fn totals_and_gaps_agree_with_the_hours(
            sold in prop::collection::vec(arb_booking(), 0..8),
            held in prop::collection::vec(arb_held(), 0..20),
            first in 1u32..8,
            days in 1u32..8,
        ) {
            let c = coverage(ZONE, (8, 24), day(first), days, &sold, &held);
            prop_assert_eq!(c.hours.len() as u32, days * 16);
            prop_assert_eq!(c.sold_seat_hours, c.hours.iter().map(|h| u64::from(h.sold)).sum::<u64>());
            for h in &c.hours {
                prop_assert_eq!(h.gap, h.sold.saturating_sub(h.staffed));
                prop_assert_eq!(h.understaffed, h.staffed < h.sold);
            }
            let last = day(first) + Duration::days(i64::from(days) - 1);
            let inside: u64 = sold
                .iter()
                .filter(|b| b.start >= day(first) && b.end <= last)
                .map(|b| u64::from(b.seats) * u64::from(b.daily_end_hour - b.daily_start_hour) * ((b.end - b.start).num_days() as u64 + 1))
                .sum();
            prop_assert!(c.sold_seat_hours >= inside);
            // Staffed never counts more hours than the shifts last.
            let held_hours: u64 = held.iter().map(|s| ((s.ends_at - s.starts_at).num_minutes() as u64).div_ceil(60) + 1).sum();
            prop_assert!(c.staffed_seat_hours <= held_hours);
        }

        /// A holding is a no-show exactly when recorded as one, or unended without a
        /// check-in past the grace after both start and claim.
        #[test]
        fn a_no_show_follows_the_shifts_rule(
            start_min in 0i64..240,
            claim_before in -60i64..600,
            now_min in 0i64..300,
            checked in any::<bool>(),
        ) {
            let base = local(5, 8, 0);
            let mut h = holding("X", base + Duration::minutes(start_min), base + Duration::minutes(start_min - claim_before));
            if checked {
                h.checked_in_at = Some(h.starts_at);
            }
            let now = base + Duration::minutes(now_min);
            let grace = Duration::minutes(10);
            let listed = !no_shows(std::slice::from_ref(&h), grace, now, ZONE).is_empty();
            prop_assert_eq!(listed, !checked && check_in_missed(h.starts_at, h.claimed_at, grace, now));
        }
    }
}
