//! Whether an agent may claim a shift, as a pure function of the shift, what is known about
//! the agent and the limits. Every refusal has its own reason (and API error code), checked
//! in a fixed order so an agent is always told the most fundamental problem first.
//!
//! Times are UTC; days and weeks for the hour limits are the agent's own, in their time
//! zone, because a freelancer's "day" is theirs, not the shop's.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A stretch of work: a shift's start and end (UTC, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Block {
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes().max(0)
    }

    fn overlaps(&self, other: &Block) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Minutes of this block inside `[from, to)`.
    pub fn minutes_within(&self, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
        let (s, e) = (self.start.max(from), self.end.min(to));
        (e - s).num_minutes().max(0)
    }
}

/// The limits that protect agents (and merchants) from overwork and thin rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most hours of shifts in one of the agent's local days.
    pub max_hours_per_day: u32,
    /// Most hours in one of the agent's local weeks (Monday to Sunday).
    pub max_hours_per_week: u32,
    /// Least hours between the end of one shift and the start of the next (back-to-back
    /// shifts are one longer stretch, bounded by the day limit instead).
    pub min_rest_hours: u32,
    /// Hours after a booking is confirmed during which only agents with early access (who
    /// served the merchant's previous booking, or in the top quality band) may claim.
    pub early_access_hours: u32,
}

/// What the claim check needs to know about the agent.
#[derive(Debug, Clone)]
pub struct AgentFacts<'a> {
    pub suspended: bool,
    /// Holds a certification for the shift's skill valid for the whole shift.
    pub certified: bool,
    /// Served this merchant's previous booking, or is in the top quality band.
    pub early_access: bool,
    pub zone: Tz,
    /// The agent's claimed (or checked-in) shifts.
    pub shifts: &'a [Block],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("a suspended agent cannot claim shifts")]
    Suspended,
    #[error("no valid certification for this shift's skill at its time")]
    NotCertified,
    #[error("this shift is open to agents with early access until {opens_at}")]
    EarlyAccess { opens_at: NaiveDateTime },
    #[error("this shift has already started")]
    Started,
    #[error("it overlaps your shift starting {with}")]
    Overlap { with: NaiveDateTime },
    #[error("it would make {} hours on that day, over the limit", *.minutes as f64 / 60.0)]
    DailyHours { minutes: i64 },
    #[error("it would make {} hours in that week, over the limit", *.minutes as f64 / 60.0)]
    WeeklyHours { minutes: i64 },
    #[error("it leaves too little rest after or before your shift at {near}")]
    Rest { near: NaiveDateTime },
}

impl Refusal {
    /// The stable API error code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Suspended => "agent_suspended",
            Refusal::NotCertified => "not_certified",
            Refusal::EarlyAccess { .. } => "early_access_only",
            Refusal::Started => "shift_started",
            Refusal::Overlap { .. } => "shift_overlap",
            Refusal::DailyHours { .. } => "daily_hours_exceeded",
            Refusal::WeeklyHours { .. } => "weekly_hours_exceeded",
            Refusal::Rest { .. } => "rest_too_short",
        }
    }
}

/// Whether the holder of a claimed shift missed its check-in at `now`: the `grace` after
/// the start has run out and, for a shift taken over late, the grace after the claim too.
/// The no-show job ends such holdings as no-shows; the operations dashboard lists the ones
/// it has not reached yet. The one definition of a no-show.
pub fn check_in_missed(
    starts_at: NaiveDateTime,
    claimed_at: NaiveDateTime,
    grace: Duration,
    now: NaiveDateTime,
) -> bool {
    now >= starts_at + grace && now >= claimed_at + grace
}

pub(crate) fn local_midnight(zone: Tz, day: NaiveDate) -> NaiveDateTime {
    // Midnight may not exist (a DST jump at 00:00): take the first instant of the day.
    let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    zone.from_local_datetime(&start)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(start + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc).naive_utc())
        .unwrap_or(start)
}

pub(crate) fn local_date(zone: Tz, t: NaiveDateTime) -> NaiveDate {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)
        .with_timezone(&zone)
        .date_naive()
}

/// Minutes worked in `[from, to)` by `blocks` plus `extra`.
fn minutes_in(blocks: &[Block], extra: &Block, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    blocks
        .iter()
        .chain(std::iter::once(extra))
        .map(|b| b.minutes_within(from, to))
        .sum()
}

/// The agent's local days (as UTC windows) that `shift` touches.
fn days_touched(zone: Tz, shift: &Block) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut days = Vec::new();
    let mut day = local_date(zone, shift.start);
    loop {
        let from = local_midnight(zone, day);
        let to = local_midnight(zone, day + Duration::days(1));
        if from >= shift.end {
            break;
        }
        days.push((from, to));
        day += Duration::days(1);
    }
    days
}

/// Whether an agent gets early access to a new booking's shifts: they served the merchant's
/// previous booking (shops keep "their" agents), or their level grants early access
/// (`levels.toml`, earned by quality, adherence and hours) *and* they keep their
/// commitments now (adherence over the last 30 days not below `at_risk_bp`; no history yet
/// is no mark against them), so that a level earned last month is not a head start for an
/// agent who has since stopped turning up.
pub fn early_access(
    served_previous: bool,
    level_grants: bool,
    adherence_bp: Option<u16>,
    at_risk_bp: u16,
) -> bool {
    let reliable = adherence_bp.is_none_or(|a| a >= at_risk_bp);
    served_previous || (level_grants && reliable)
}

/// Whether `agent` may claim `shift` of a booking confirmed at `confirmed_at`, at `now`.
pub fn check_claim(
    shift: &Block,
    confirmed_at: NaiveDateTime,
    agent: &AgentFacts<'_>,
    limits: &Limits,
    now: NaiveDateTime,
) -> Result<(), Refusal> {
    if agent.suspended {
        return Err(Refusal::Suspended);
    }
    if !agent.certified {
        return Err(Refusal::NotCertified);
    }
    if now >= shift.start {
        return Err(Refusal::Started);
    }
    let opens_at = confirmed_at + Duration::hours(i64::from(limits.early_access_hours));
    if now < opens_at && !agent.early_access {
        return Err(Refusal::EarlyAccess { opens_at });
    }
    if let Some(other) = agent.shifts.iter().find(|b| b.overlaps(shift)) {
        return Err(Refusal::Overlap { with: other.start });
    }
    let day_limit = i64::from(limits.max_hours_per_day) * 60;
    for (from, to) in days_touched(agent.zone, shift) {
        let minutes = minutes_in(agent.shifts, shift, from, to);
        if minutes > day_limit {
            return Err(Refusal::DailyHours { minutes });
        }
    }
    let week_limit = i64::from(limits.max_hours_per_week) * 60;
    let first_day = local_date(agent.zone, shift.start);
    let monday = first_day - Duration::days(i64::from(first_day.weekday().num_days_from_monday()));
    let mut week = monday;
    while local_midnight(agent.zone, week) < shift.end {
        let (from, to) = (
            local_midnight(agent.zone, week),
            local_midnight(agent.zone, week + Duration::days(7)),
        );
        let minutes = minutes_in(agent.shifts, shift, from, to);
        if minutes > week_limit {
            return Err(Refusal::WeeklyHours { minutes });
        }
        week += Duration::days(7);
    }
    let rest = Duration::hours(i64::from(limits.min_rest_hours));
    for other in agent.shifts {
        let gap_after = shift.start - other.end;
        let gap_before = other.start - shift.end;
        let too_short = |gap: Duration| gap > Duration::zero() && gap < rest;
        if too_short(gap_after) || too_short(gap_before) {
            return Err(Refusal::Rest { near: other.start });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;
    use chrono_tz::Europe::London;
    use proptest::prelude::*;

    const LIMITS: Limits = Limits {
        max_hours_per_day: 10,
        max_hours_per_week: 48,
        min_rest_hours: 8,
        early_access_hours: 24,
    };

    /// A block by UTC day of December 2026, start hour and length.
    fn block(day: u32, hour: u32, hours: i64) -> Block {
        let start = NaiveDate::from_ymd_opt(2026, 12, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap();
        Block {
            start,
            end: start + Duration::hours(hours),
        }
    }

    fn agent(shifts: &[Block]) -> AgentFacts<'_> {
        AgentFacts {
            suspended: false,
            certified: true,
            early_access: false,
            zone: Shanghai,
            shifts,
        }
    }

    fn confirmed() -> NaiveDateTime {
        block(1, 0, 1).start
    }

    fn now() -> NaiveDateTime {
        block(3, 0, 1).start
    }

    #[test]
    fn early_access_rewards_continuity_or_a_level_with_reliability() {
        assert!(early_access(true, false, Some(0), 9_000), "served before");
        assert!(
            early_access(false, true, None, 9_000),
            "level grants it, no history yet"
        );
        assert!(early_access(false, true, Some(9_000), 9_000));
        assert!(!early_access(false, true, Some(8_999), 9_000), "unreliable");
        assert!(
            !early_access(false, false, Some(10_000), 9_000),
            "level does not grant it"
        );
        assert!(!early_access(false, false, None, 9_000));
    }

    #[test]
    fn a_free_agent_claims() {
        assert_eq!(
            check_claim(&block(10, 0, 4), confirmed(), &agent(&[]), &LIMITS, now()),
            Ok(())
        );
    }

    #[test]
    fn refusals_come_in_order_with_their_codes() {
        let shift = block(10, 0, 4);
        let mut a = agent(&[]);
        a.suspended = true;
        a.certified = false;
        let e = check_claim(&shift, confirmed(), &a, &LIMITS, now()).unwrap_err();
        assert_eq!(e.code(), "agent_suspended");
        a.suspended = false;
        let e = check_claim(&shift, confirmed(), &a, &LIMITS, now()).unwrap_err();
        assert_eq!(e.code(), "not_certified");
        let e = check_claim(&shift, confirmed(), &agent(&[]), &LIMITS, shift.start).unwrap_err();
        assert_eq!(e.code(), "shift_started");
    }

    #[test]
    fn early_access_comes_first_then_everyone() {
        let shift = block(10, 0, 4);
        let just_confirmed = now() - Duration::hours(2);
        let e = check_claim(&shift, just_confirmed, &agent(&[]), &LIMITS, now()).unwrap_err();
        assert_eq!(
            e,
            Refusal::EarlyAccess {
                opens_at: just_confirmed + Duration::hours(24)
            }
        );
        let mut regular = agent(&[]);
        regular.early_access = true;
        assert_eq!(
            check_claim(&shift, just_confirmed, &regular, &LIMITS, now()),
            Ok(())
        );
        let later = just_confirmed + Duration::hours(24);
        assert_eq!(
            check_claim(&shift, just_confirmed, &agent(&[]), &LIMITS, later),
            Ok(())
        );
    }

    #[test]
    fn overlaps_are_refused_back_to_back_is_not() {
        let mine = [block(10, 0, 4)];
        let e = check_claim(&block(10, 2, 4), confirmed(), &agent(&mine), &LIMITS, now());
        assert_eq!(e.unwrap_err().code(), "shift_overlap");
        assert_eq!(
            check_claim(&block(10, 4, 4), confirmed(), &agent(&mine), &LIMITS, now()),
            Ok(()),
            "back to back is one longer stretch"
        );
    }

    #[test]
    fn the_day_is_the_agents_own() {
        // 00:00-08:00 UTC is 08:00-16:00 in Shanghai; 16:00-20:00 UTC is 00:00-04:00 the
        // next Shanghai day, so 8 + 4 hours do not add up in Shanghai...
        let mine = [block(10, 0, 8)];
        let late = block(10, 16, 4);
        assert_eq!(
            check_claim(&late, confirmed(), &agent(&mine), &LIMITS, now()),
            Ok(())
        );
        // ...but they do in London (00:00-08:00 and 16:00-20:00 the same day: 12 hours).
        let mut londoner = agent(&mine);
        londoner.zone = London;
        let e = check_claim(&late, confirmed(), &londoner, &LIMITS, now()).unwrap_err();
        assert_eq!(e, Refusal::DailyHours { minutes: 12 * 60 });
        assert_eq!(
            e.to_string(),
            "it would make 12 hours on that day, over the limit"
        );
    }

    #[test]
    fn the_week_limit_counts_monday_to_sunday_locally() {
        // 2026-12-07 is a Monday. Five 8-hour days in Shanghai = 40 h; a ninth-hour shift
        // on the Saturday makes 48 (allowed), another makes 52 (refused).
        let week: Vec<Block> = (7..=11).map(|d| block(d, 0, 8)).collect();
        assert_eq!(
            check_claim(&block(12, 0, 8), confirmed(), &agent(&week), &LIMITS, now()),
            Ok(())
        );
        let mut more = week.clone();
        more.push(block(12, 0, 8));
        let e = check_claim(&block(13, 0, 4), confirmed(), &agent(&more), &LIMITS, now());
        assert_eq!(e.unwrap_err(), Refusal::WeeklyHours { minutes: 52 * 60 });
        // The next Monday starts afresh.
        assert_eq!(
            check_claim(&block(14, 0, 8), confirmed(), &agent(&more), &LIMITS, now()),
            Ok(())
        );
    }

    #[test]
    fn rest_between_shifts() {
        let mine = [block(10, 0, 4)];
        let e = check_claim(&block(10, 6, 4), confirmed(), &agent(&mine), &LIMITS, now());
        assert_eq!(e.unwrap_err().code(), "rest_too_short");
        assert_eq!(
            check_claim(
                &block(10, 12, 4),
                confirmed(),
                &agent(&mine),
                &LIMITS,
                now()
            ),
            Ok(())
        );
        let e = check_claim(&block(9, 18, 4), confirmed(), &agent(&mine), &LIMITS, now());
        assert_eq!(
            e.unwrap_err().code(),
            "rest_too_short",
            "rest before counts too"
        );
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop_oneof![
            Just(Shanghai),
            Just(London),
            Just(chrono_tz::America::Los_Angeles)
        ]
    }

    proptest! {
        /// Claiming greedily from any stream of offers never builds a schedule that breaks
        /// a rule: no overlaps, no local day over the limit, rest kept between stretches.
        #[test]
        fn accepted_schedules_never_break_a_limit(
            offers in proptest::collection::vec((4u32..28, 0u32..24, 1i64..9), 1..60),
            z in zone(),
        ) {
            let mut mine: Vec<Block> = Vec::new();
            for (day, hour, hours) in offers {
                let shift = block(day, hour, hours);
                let facts = AgentFacts { zone: z, ..agent(&mine) };
                if check_claim(&shift, confirmed(), &facts, &LIMITS, now()).is_ok() {
                    mine.push(shift);
                }
            }
            for (i, a) in mine.iter().enumerate() {
                for b in &mine[i + 1..] {
                    prop_assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
                    let gap = (b.start - a.end).max(a.start - b.end);
                    prop_assert!(gap <= Duration::zero() || gap >= Duration::hours(8), "rest {gap}");
                }
                for (from, to) in days_touched(z, a) {
                    let minutes: i64 = mine.iter().map(|b| b.minutes_within(from, to)).sum();
                    prop_assert!(minutes <= 10 * 60, "{minutes} minutes on a day");
                }
            }
        }
    }
}
