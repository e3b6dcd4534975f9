//! Auto-assignment: filling the open shifts nobody claimed, as a pure function of the shifts,
//! the candidate agents and the limits. It runs after the early-access window, when waiting
//! for claims risks leaving a merchant's seat empty at the peak.
//!
//! Choices made here, and why:
//!
//! - **Availability is a promise, not a hint.** An agent is only given a shift that lies
//!   entirely inside the windows they declared, read on their own wall clock. Windows that
//!   touch are one stretch, so a shift across local midnight is covered by `mon 22:00-24:00`
//!   plus `tue 00:00-02:00` (and Sunday night runs into Monday morning); a shift half outside
//!   every window is never assigned. When the clocks change during a shift, each part is
//!   checked at the wall-clock time it will be worked (a shift over the spring-forward hour
//!   needs the window to reach the later local end).
//! - **The claim rules are the same as for a claim.** Every assignment passes
//!   [`check_claim`] against the agent's shifts including those given earlier in the same run,
//!   so a run cannot overwork anyone. Early access is granted exactly as for a claim (served
//!   the merchant before, or their level grants it): a run started while the window is
//!   still open fills shifts only with those agents and leaves the rest for claiming.
//! - **Preference**: continuity with the merchant first (they know its products, and
//!   merchants ask for the same faces), then quality, then the fewest hours already held in
//!   the shift's week (the agent's local Monday to Sunday), so work spreads among equals,
//!   then the agent id so the same input always gives the same plan.
//! - **Order**: shifts by start, then id, greedily. Earlier shifts are the more urgent ones;
//!   a global optimum is not worth a schedule nobody can explain.
//!
//! Ids are expected to be unique; a repeated shift id is considered once (its earliest
//! start), a repeated agent id only in its first place in the input.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};

use chrono::{Datelike, Duration, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

use super::claim::{AgentFacts, Block, Limits, Refusal, check_claim, local_date, local_midnight};
use crate::accounts::model::{AccountId, MerchantId};
use crate::certification::profile::{DAYS, WeeklySlot};

/// A shift nobody has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenShift {
    pub id: String,
    pub block: Block,
    pub skill: String,
    pub merchant: MerchantId,
    /// When the shift's booking was confirmed; the early-access window runs from here.
    pub confirmed_at: NaiveDateTime,
}

/// A certification an agent holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certification {
    pub skill: String,
    pub expires_at: NaiveDateTime,
}

/// What auto-assignment needs to know about an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: AccountId,
    pub zone: Tz,
    pub suspended: bool,
    pub certifications: Vec<Certification>,
    /// Shifts already claimed (or checked in).
    pub shifts: Vec<Block>,
    /// Weekly windows in `zone`, as the profile stores them.
    pub availability: Vec<WeeklySlot>,
    /// The current quality score; `None` for agents not yet scored, who rank below any score.
    pub quality: Option<f64>,
    /// Their level grants early access (`levels.toml`), the second ground for it.
    pub level_early_access: bool,
    /// Merchants whose shifts the agent has worked.
    pub served: BTreeSet<MerchantId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub shift_id: String,
    pub agent: AccountId,
}

/// Why a shift was left open, so staff know whether to recruit, certify or wait for claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfilled {
    /// The shift has already started.
    Started,
    /// Nobody who is not suspended holds a certification for the skill valid for the shift.
    NoCandidate,
    /// Certified agents exist, but none declared availability covering the shift.
    NotAvailable,
    /// Certified, available agents exist but the claim rules refuse each of them; this is
    /// the refusal of the one who would have been preferred.
    Refused(Refusal),
}

impl Unfilled {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            Unfilled::Started => "shift_started",
            Unfilled::NoCandidate => "no_candidate",
            Unfilled::NotAvailable => "not_available",
            Unfilled::Refused(_) => "all_refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfilledShift {
    pub shift_id: String,
    pub reason: Unfilled,
}

/// The result of a run, both lists in the order the shifts were considered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub assignments: Vec<Assignment>,
    pub unfilled: Vec<UnfilledShift>,
}

/// Assigns open shifts to candidates (see the module doc for the rules).
pub fn assign(
    shifts: &[OpenShift],
    candidates: &[Candidate],
    limits: &Limits,
    now: NaiveDateTime,
) -> Plan {
    let mut seen = HashSet::new();
    let mut agents: Vec<Agent<'_>> = candidates
        .iter()
        .filter(|c| seen.insert(&c.id))
        .map(|c| Agent {
            windows: Windows::new(&c.availability),
            schedule: c.shifts.clone(),
            quality: c.quality.filter(|q| q.is_finite()),
            candidate: c,
        })
        .collect();
    let mut order: Vec<&OpenShift> = shifts.iter().collect();
    order.sort_by(|a, b| (a.block.start, &a.id).cmp(&(b.block.start, &b.id)));
    let mut done = HashSet::new();
    let mut plan = Plan::default();
    for shift in order {
        if !done.insert(&shift.id) {
            continue;
        }
        match choose(shift, &agents, limits, now) {
            Ok(i) => {
                agents[i].schedule.push(shift.block);
                plan.assignments.push(Assignment {
                    shift_id: shift.id.clone(),
                    agent: agents[i].candidate.id.clone(),
                });
            }
            Err(reason) => plan.unfilled.push(UnfilledShift {
                shift_id: shift.id.clone(),
                reason,
            }),
        }
    }
    plan
}

/// A candidate during a run: their schedule grows as shifts are assigned.
struct Agent<'a> {
    candidate: &'a Candidate,
    windows: Windows,
    schedule: Vec<Block>,
    quality: Option<f64>,
}

impl Agent<'_> {
    fn certified_for(&self, shift: &OpenShift) -> bool {
        self.candidate
            .certifications
            .iter()
            .any(|c| c.skill == shift.skill && c.expires_at >= shift.block.end)
    }

    fn facts(&self, shift: &OpenShift) -> AgentFacts<'_> {
        AgentFacts {
            suspended: self.candidate.suspended,
            certified: self.certified_for(shift),
            early_access: self.continuity(shift) || self.candidate.level_early_access,
            zone: self.candidate.zone,
            shifts: &self.schedule,
        }
    }

    fn continuity(&self, shift: &OpenShift) -> bool {
        self.candidate.served.contains(&shift.merchant)
    }

    /// Minutes held in the agent's local week that contains the shift's start.
    fn week_minutes(&self, shift: &OpenShift) -> i64 {
        let zone = self.candidate.zone;
        let day = local_date(zone, shift.block.start);
        let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        let from = local_midnight(zone, monday);
        let to = local_midnight(zone, monday + Duration::days(7));
        self.schedule
            .iter()
            .map(|b| b.minutes_within(from, to))
            .sum()
    }
}

/// The index of the agent to give `shift`, or why there is none.
fn choose(
    shift: &OpenShift,
    agents: &[Agent<'_>],
    limits: &Limits,
    now: NaiveDateTime,
) -> Result<usize, Unfilled> {
    if now >= shift.block.start {
        return Err(Unfilled::Started);
    }
    let certified: Vec<usize> = (0..agents.len())
        .filter(|&i| !agents[i].candidate.suspended && agents[i].certified_for(shift))
        .collect();
    if certified.is_empty() {
        return Err(Unfilled::NoCandidate);
    }
    let mut ranked: Vec<(usize, bool, Option<f64>, i64)> = certified
        .into_iter()
        .filter(|&i| {
            let a = &agents[i];
            a.windows.covers(a.candidate.zone, &shift.block)
        })
        .map(|i| {
            let a = &agents[i];
            (i, a.continuity(shift), a.quality, a.week_minutes(shift))
        })
        .collect();
    if ranked.is_empty() {
        return Err(Unfilled::NotAvailable);
    }
    ranked.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| by_quality(b.2, a.2))
            .then_with(|| a.3.cmp(&b.3))
            .then_with(|| agents[a.0].candidate.id.cmp(&agents[b.0].candidate.id))
    });
    let mut first_refusal = None;
    for (i, ..) in ranked {
        let facts = agents[i].facts(shift);
        match check_claim(&shift.block, shift.confirmed_at, &facts, limits, now) {
            Ok(()) => return Ok(i),
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    Err(first_refusal.map_or(Unfilled::NotAvailable, Unfilled::Refused))
}

/// Unscored below any score.
fn by_quality(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

const DAY: i64 = 24 * 60;
const WEEK: i64 = 7 * DAY;

/// Declared availability as minute ranges of the local week (Monday 00:00 is 0), merged
/// where they touch or overlap, and laid out twice so a stretch may run from Sunday into
/// Monday.
#[derive(Debug)]
struct Windows(Vec<(i64, i64)>);

impl Windows {
    fn new(slots: &[WeeklySlot]) -> Windows {
        // Slots the profile would not accept cannot be trusted to mean anything: skipped.
        let mut ranges: Vec<(i64, i64)> = slots
            .iter()
            .filter_map(|s| {
                let day = DAYS.iter().position(|d| *d == s.day.trim())?;
                let (start, end) = (clock(&s.start)?, clock(&s.end)?);
                let base = i64::try_from(day).ok()? * DAY;
                (start < end).then_some((base + start, base + end))
            })
            .flat_map(|(s, e)| [(s, e), (s + WEEK, e + WEEK)])
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Windows(merged)
    }

    /// Whether every part of `block` falls inside a window on the agent's wall clock.
    fn covers(&self, zone: Tz, block: &Block) -> bool {
        let pieces = local_pieces(zone, block);
        !pieces.is_empty()
            && pieces.iter().all(|&(from, to)| {
                let start = i64::from(from.weekday().num_days_from_monday()) * DAY
                    + i64::from(from.hour() * 60 + from.minute());
                let minutes = ((to - from).num_seconds() + i64::from(from.second()) + 59) / 60;
                self.0
                    .iter()
                    .any(|&(s, e)| s <= start && start + minutes <= e)
            })
    }
}

/// Minutes since midnight of `HH:MM` (`24:00` allowed).
fn clock(raw: &str) -> Option<i64> {
    let (h, m) = raw.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (((0..24).contains(&h) && (0..60).contains(&m)) || (h, m) == (24, 0)).then_some(h * 60 + m)
}

fn offset_seconds(zone: Tz, t: NaiveDateTime) -> i32 {
    zone.offset_from_utc_datetime(&t).fix().local_minus_utc()
}

/// `block` on the agent's wall clock: one local stretch, or one per offset when the clocks
/// change during it. Assumes at most one change per stretch of equal offsets at both ends
/// (changes are months apart).
fn local_pieces(zone: Tz, block: &Block) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut pieces = Vec::new();
    let mut from = block.start;
    while from < block.end {
        let offset = offset_seconds(zone, from);
        let same = |k: i64| offset_seconds(zone, from + Duration::minutes(k)) == offset;
        // The last whole minute inside the block, counted from `from`.
        let last = ((block.end - from).num_seconds() - 1) / 60;
        let until = if same(last) {
            block.end
        } else {
            // The first minute with the new offset: `same(lo)` holds, `same(hi)` does not.
            let (mut lo, mut hi) = (0, last);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if same(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            from + Duration::minutes(hi)
        };
        let shift = Duration::seconds(i64::from(offset));
        pieces.push((from + shift, until + shift));
        from = until;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::America::Los_Angeles;
    use chrono_tz::Asia::Shanghai;
    use chrono_tz::Europe::London;
    use proptest::prelude::*;

    const LIMITS: Limits = Limits {
        max_hours_per_day: 10,
        max_hours_per_week: 48,
        min_rest_hours: 8,
        early_access_hours: 24,
    };

    fn at(month: u32, day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, month, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    /// A block by UTC day of March 2027 (the 1st is a Monday), start hour and length.
    fn block(day: u32, hour: u32, hours: i64) -> Block {
        let start = at(3, day, hour);
        Block {
            start,
            end: start + Duration::hours(hours),
        }
    }

    fn now() -> NaiveDateTime {
        at(2, 20, 0)
    }

    fn shift(id: &str, b: Block) -> OpenShift {
        OpenShift {
            id: id.into(),
            block: b,
            skill: "general".into(),
            merchant: MerchantId("m1".into()),
            confirmed_at: at(2, 1, 0),
        }
    }

    fn slot(day: &str, start: &str, end: &str) -> WeeklySlot {
        WeeklySlot {
            day: day.into(),
            start: start.into(),
            end: end.into(),
        }
    }

    /// In Shanghai (UTC+8), certified for `general`, available all week.
    fn agent(id: &str) -> Candidate {
        Candidate {
            id: AccountId(id.into()),
            zone: Shanghai,
            suspended: false,
            certifications: vec![Certification {
                skill: "general".into(),
                expires_at: at(12, 31, 0),
            }],
            shifts: Vec::new(),
            availability: DAYS.iter().map(|d| slot(d, "00:00", "24:00")).collect(),
            quality: Some(0.8),
            level_early_access: false,
            served: BTreeSet::new(),
        }
    }

    fn assigned(plan: &Plan) -> Vec<(&str, &str)> {
        plan.assignments
            .iter()
            .map(|a| (a.shift_id.as_str(), a.agent.as_str()))
            .collect()
    }

    fn reasons(plan: &Plan) -> Vec<(&str, Unfilled)> {
        plan.unfilled
            .iter()
            .map(|u| (u.shift_id.as_str(), u.reason))
            .collect()
    }

    #[test]
    fn continuity_comes_before_quality() {
        let mut regular = agent("z");
        regular.quality = Some(0.5);
        regular.served.insert(MerchantId("m1".into()));
        let mut star = agent("a");
        star.quality = Some(0.99);
        let plan = assign(
            &[shift("s", block(10, 1, 4))],
            &[star, regular],
            &LIMITS,
            now(),
        );
        assert_eq!(assigned(&plan), [("s", "z")]);
    }

    #[test]
    fn quality_comes_before_fair_share_and_unscored_agents_rank_last() {
        let mut busy_star = agent("c");
        busy_star.quality = Some(0.9);
        busy_star.shifts = vec![block(8, 1, 8), block(9, 1, 8)];
        let mut good = agent("b");
        good.quality = Some(0.7);
        let mut new = agent("a");
        new.quality = None;
        let agents = [new.clone(), good.clone(), busy_star];
        let plan = assign(&[shift("s", block(10, 1, 4))], &agents, &LIMITS, now());
        assert_eq!(assigned(&plan), [("s", "c")]);
        let plan = assign(&[shift("s", block(10, 1, 4))], &[new, good], &LIMITS, now());
        assert_eq!(assigned(&plan), [("s", "b")]);
    }

    #[test]
    fn fair_share_counts_the_local_week_and_this_run() {
        let mut busy = agent("a");
        busy.shifts = vec![block(8, 1, 8)];
        let mut last_week = agent("b");
        // Sunday the 7th in Shanghai: the week before the shifts below.
        last_week.shifts = vec![block(7, 1, 8), block(6, 1, 8)];
        let plan = assign(
            &[shift("s1", block(10, 1, 4)), shift("s2", block(11, 1, 4))],
            &[busy, last_week],
            &LIMITS,
            now(),
        );
        // b has nothing this week and takes s1; then b has 4 h and a 8 h, so b again.
        assert_eq!(assigned(&plan), [("s1", "b"), ("s2", "b")]);
        let plan = assign(
            &[shift("s1", block(10, 1, 4)), shift("s2", block(11, 1, 4))],
            &[agent("b"), agent("a")],
            &LIMITS,
            now(),
        );
        assert_eq!(
            assigned(&plan),
            [("s1", "a"), ("s2", "b")],
            "equals take turns, ties by id"
        );
    }

    #[test]
    fn shifts_go_in_start_order_whatever_the_input_order() {
        let shifts = [
            shift("late", block(10, 9, 4)),
            shift("b", block(10, 1, 4)),
            shift("a", block(10, 1, 4)),
        ];
        let plan = assign(&shifts, &[agent("x")], &LIMITS, now());
        let mut reversed = shifts.clone();
        reversed.reverse();
        assert_eq!(assign(&reversed, &[agent("x")], &LIMITS, now()), plan);
        assert_eq!(assigned(&plan), [("a", "x")]);
        assert_eq!(
            reasons(&plan),
            [
                (
                    "b",
                    Unfilled::Refused(Refusal::Overlap { with: at(3, 10, 1) })
                ),
                (
                    "late",
                    Unfilled::Refused(Refusal::Rest { near: at(3, 10, 1) })
                ),
            ]
        );
    }

    #[test]
    fn only_inside_declared_windows_on_the_agents_clock() {
        // 01:00-05:00 UTC on Wednesday the 10th is 09:00-13:00 in Shanghai.
        let s = [shift("s", block(10, 1, 4))];
        let mut a = agent("a");
        a.availability = vec![slot("wed", "09:00", "13:00")];
        assert_eq!(
            assigned(&assign(&s, &[a.clone()], &LIMITS, now())),
            [("s", "a")]
        );
        a.availability = vec![slot("wed", "09:30", "13:00"), slot("tue", "09:00", "13:00")];
        let plan = assign(&s, &[a.clone()], &LIMITS, now());
        assert_eq!(reasons(&plan), [("s", Unfilled::NotAvailable)]);
        // Two touching windows are one stretch.
        a.availability = vec![slot("wed", "09:00", "11:00"), slot("wed", "11:00", "13:00")];
        assert_eq!(assigned(&assign(&s, &[a], &LIMITS, now())), [("s", "a")]);
    }

    #[test]
    fn across_local_midnight_needs_both_days() {
        // 14:00-18:00 UTC on Wednesday the 10th is 22:00-02:00 Wednesday night in Shanghai.
        let s = [shift("s", block(10, 14, 4))];
        let mut a = agent("a");
        a.availability = vec![slot("wed", "22:00", "24:00")];
        let plan = assign(&s, &[a.clone()], &LIMITS, now());
        assert_eq!(reasons(&plan), [("s", Unfilled::NotAvailable)]);
        a.availability.push(slot("thu", "00:00", "02:00"));
        assert_eq!(assigned(&assign(&s, &[a], &LIMITS, now())), [("s", "a")]);
        // Sunday night into Monday morning: 14:00 UTC Sunday the 14th.
        let s = [shift("s", block(14, 14, 4))];
        let mut a = agent("a");
        a.availability = vec![slot("sun", "20:00", "24:00"), slot("mon", "00:00", "03:00")];
        assert_eq!(assigned(&assign(&s, &[a], &LIMITS, now())), [("s", "a")]);
    }

    #[test]
    fn a_clock_change_is_read_on_the_wall_clock() {
        // London springs forward at 01:00 UTC on Sunday the 28th: 00:00-03:00 UTC is worked
        // 00:00-01:00 and then 02:00-04:00 local.
        let s = [shift("s", block(28, 0, 3))];
        let mut a = agent("a");
        a.zone = London;
        a.availability = vec![slot("sun", "00:00", "03:00")];
        let plan = assign(&s, &[a.clone()], &LIMITS, now());
        assert_eq!(reasons(&plan), [("s", Unfilled::NotAvailable)]);
        a.availability = vec![slot("sun", "00:00", "04:00")];
        assert_eq!(assigned(&assign(&s, &[a], &LIMITS, now())), [("s", "a")]);
    }

    #[test]
    fn only_valid_certifications_of_agents_not_suspended() {
        let s = [shift("s", block(10, 1, 4))];
        let mut expiring = agent("a");
        expiring.certifications[0].expires_at = at(3, 10, 3);
        let mut other_skill = agent("b");
        other_skill.certifications[0].skill = "after_sale".into();
        let mut suspended = agent("c");
        suspended.suspended = true;
        let plan = assign(&s, &[expiring, other_skill, suspended], &LIMITS, now());
        assert_eq!(reasons(&plan), [("s", Unfilled::NoCandidate)]);
        assert_eq!(plan.unfilled[0].reason.code(), "no_candidate");
    }

    #[test]
    fn during_early_access_only_regulars_and_levels_that_grant_it() {
        let mut s = shift("s", block(10, 1, 4));
        s.confirmed_at = now() - Duration::hours(2);
        let plan = assign(std::slice::from_ref(&s), &[agent("a")], &LIMITS, now());
        assert_eq!(
            reasons(&plan),
            [(
                "s",
                Unfilled::Refused(Refusal::EarlyAccess {
                    opens_at: s.confirmed_at + Duration::hours(24)
                })
            )]
        );
        let mut top = agent("b");
        top.level_early_access = true;
        let mut regular = agent("c");
        regular.served.insert(s.merchant.clone());
        let plan = assign(
            std::slice::from_ref(&s),
            &[agent("a"), top.clone(), regular],
            &LIMITS,
            now(),
        );
        assert_eq!(assigned(&plan), [("s", "c")]);
        let plan = assign(&[s], &[agent("a"), top], &LIMITS, now());
        assert_eq!(assigned(&plan), [("s", "b")]);
    }

    #[test]
    fn started_shifts_and_repeated_ids() {
        let shifts = [
            shift("s", block(10, 1, 4)),
            shift("s", block(12, 1, 4)),
            shift("old", block(10, 1, 4)),
        ];
        let plan = assign(&shifts, &[agent("a"), agent("a")], &LIMITS, at(3, 10, 1));
        assert!(plan.assignments.is_empty());
        assert_eq!(
            reasons(&plan),
            [("old", Unfilled::Started), ("s", Unfilled::Started)]
        );
    }

    fn zone() -> impl Strategy<Value = Tz> {
        prop_oneof![Just(Shanghai), Just(London), Just(Los_Angeles)]
    }

    const SKILLS: [&str; 2] = ["general", "after_sale"];

    fn open_shift() -> impl Strategy<Value = OpenShift> {
        (8u32..31, 0u32..24, 1i64..9, 0usize..2, 0u32..3, 0i64..48).prop_map(
            |(day, hour, hours, skill, merchant, confirmed)| OpenShift {
                id: format!("s{day:02}{hour:02}{hours}{skill}{merchant}"),
                block: block(day, hour, hours),
                skill: SKILLS[skill].into(),
                merchant: MerchantId(format!("m{merchant}")),
                confirmed_at: now() - Duration::hours(confirmed),
            },
        )
    }

    fn candidate() -> impl Strategy<Value = Candidate> {
        let slots = proptest::collection::vec((0usize..7, 0u32..48, 1u32..30), 0..12);
        let existing = proptest::collection::vec((8u32..31, 0u32..24, 1i64..9), 0..4);
        (
            (
                0u32..12,
                zone(),
                proptest::bool::weighted(0.1),
                1u8..4,
                10u32..60,
            ),
            (
                slots,
                existing,
                proptest::option::of(0.0f64..1.0),
                any::<bool>(),
            ),
            proptest::option::weighted(0.6, (0u32..24, 24u32..49)),
            proptest::collection::btree_set(0u32..3, 0..2),
        )
            .prop_map(
                |(
                    (id, zone, suspended, certs, expires),
                    (slots, existing, quality, top),
                    daily,
                    served,
                )| {
                    // Most agents declare the same window every day, wide enough to matter.
                    let slots: Vec<(usize, u32, u32)> = match daily {
                        Some((start, end)) => (0..7)
                            .map(|d| (d, start, end - start))
                            .chain(slots)
                            .collect(),
                        None => slots,
                    };
                    Candidate {
                        id: AccountId(format!("a{id:02}")),
                        zone,
                        suspended,
                        certifications: SKILLS
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| certs & (1 << i) != 0)
                            .map(|(_, s)| Certification {
                                skill: (*s).into(),
                                expires_at: at(3, 1, 0) + Duration::days(i64::from(expires)),
                            })
                            .collect(),
                        shifts: existing.iter().map(|&(d, h, n)| block(d, h, n)).collect(),
                        availability: slots
                            .iter()
                            .map(|&(day, start, len)| {
                                let end = (start + len).min(48);
                                slot(
                                    DAYS[day],
                                    &format!("{:02}:{:02}", start / 2, start % 2 * 30),
                                    &format!("{:02}:{:02}", end / 2, end % 2 * 30),
                                )
                            })
                            .collect(),
                        quality,
                        level_early_access: top,
                        served: served.iter().map(|m| MerchantId(format!("m{m}"))).collect(),
                    }
                },
            )
    }

    /// Brute force: every half hour of the shift read on the agent's clock lies in a slot.
    /// (Shifts start on the hour, slots on the half hour, and the zones' offsets are whole
    /// hours, so half-hour steps see every boundary.)
    fn available_by_brute_force(c: &Candidate, b: &Block) -> bool {
        let mut t = b.start;
        while t < b.end {
            let local = c.zone.from_utc_datetime(&t).naive_local();
            let day = DAYS[local.weekday().num_days_from_monday() as usize];
            let minute = i64::from(local.hour() * 60 + local.minute());
            let inside = c.availability.iter().any(|s| {
                s.day == day
                    && clock(&s.start).unwrap() <= minute
                    && minute < clock(&s.end).unwrap()
            });
            if !inside {
                return false;
            }
            t += Duration::minutes(30);
        }
        true
    }

    proptest! {
        /// Whatever the shifts and agents, the plan breaks no rule: each shift once, only to
        /// certified agents who are not suspended, inside their availability, and every
        /// assignment passes the claim check against the final schedule without itself.
        #[test]
        fn a_plan_never_breaks_a_rule(
            shifts in proptest::collection::vec(open_shift(), 0..40),
            agents in proptest::collection::vec(candidate(), 0..8),
        ) {
            let plan = assign(&shifts, &agents, &LIMITS, now());
            let mut ids: Vec<&str> = plan
                .assignments
                .iter()
                .map(|a| a.shift_id.as_str())
                .chain(plan.unfilled.iter().map(|u| u.shift_id.as_str()))
                .collect();
            let total = ids.len();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), total, "a shift appears twice");
            let mut distinct: Vec<&str> = shifts.iter().map(|s| s.id.as_str()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(ids, distinct, "every shift is accounted for");

            let shift_of = |id: &str| shifts.iter().find(|s| s.id == id).unwrap();
            let agent_of = |id: &AccountId| agents.iter().find(|a| a.id == *id).unwrap();
            for (i, a) in plan.assignments.iter().enumerate() {
                let s = shift_of(&a.shift_id);
                let c = agent_of(&a.agent);
                prop_assert!(!c.suspended);
                prop_assert!(c.certifications.iter().any(|x| x.skill == s.skill && x.expires_at >= s.block.end));
                prop_assert!(available_by_brute_force(c, &s.block), "{:?} outside {:?}", s.block, c.availability);
                let mut others = c.shifts.clone();
                others.extend(
                    plan.assignments
                        .iter()
                        .enumerate()
                        .filter(|(j, o)| *j != i && o.agent == a.agent)
                        .map(|(_, o)| shift_of(&o.shift_id).block),
                );
                let facts = AgentFacts {
                    suspended: c.suspended,
                    certified: true,
                    early_access: c.served.contains(&s.merchant) || c.level_early_access,
                    zone: c.zone,
                    shifts: &others,
                };
                prop_assert_eq!(check_claim(&s.block, s.confirmed_at, &facts, &LIMITS, now()), Ok(()));
            }
        }

        /// The wall-clock coverage agrees with reading every half hour.
        #[test]
        fn coverage_matches_brute_force(c in candidate(), s in open_shift()) {
            let windows = Windows::new(&c.availability);
            prop_assert_eq!(windows.covers(c.zone, &s.block), available_by_brute_force(&c, &s.block));
        }
    }
}
