//! Continuity of a shop's service: do the same agents keep serving it, week after week,
//! peak after peak? Pure functions of what the shop's agents did (shifts worked, chats
//! answered) and what it booked; the queries around them are in [`super::merchant_store`].
//!
//! Definitions (every date is a local date in the market's zone):
//! - An agent **served** the shop by working one of its shifts (checked in; the service
//!   starts at the check-in) or by accepting one of its chats (at the acceptance).
//! - An agent's **first service** of the shop is the earliest of those instants, over the
//!   shop's whole history (not only the range asked).
//! - A worked shift is **by a returning agent** when the agent's first service came before
//!   that shift's check-in: the agent had worked an earlier shift of this shop (or
//!   answered one of its chats) before. The agent's very first shift is never returning.
//! - A chat is **by a returning agent** when its agent's first service came before the
//!   start of the shift the chat was answered on (the agent's worked shift of this shop
//!   whose check-in..end holds the acceptance). So every chat of an agent's first shift for
//!   the shop counts as new, every chat of a later shift as returning. A chat accepted
//!   outside any such shift is compared with its own acceptance instead.
//! - **Continuity** over a set of chats (or shifts) is the share by returning agents, in
//!   basis points; `None` when there is nothing to share.
//! - **Rotation** of a week (Monday to Sunday): of the distinct agents who served the shop
//!   that week, the share whose first service fell in that week (agents new to the shop).
//!   A week cut by the range's ends counts only the days inside it, but "new that week"
//!   looks at the whole week.
//! - **Renewals**: for each peak period the shop booked (a confirmed, active or completed
//!   booking) that overlaps the range, did it book the *next peak* (the first period that
//!   starts after this one ends) and the *next edition* (the period whose `renews` names
//!   this one, which gives it the priority window)? Each is `booked`, `open` (not booked,
//!   but the period has not started yet, so it still may be) or `missed` (started without
//!   a booking). Rates count booked over booked + missed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::seats::rules::PeakPeriod;
use crate::shifts::claim::local_date;

/// A shift of the shop that an agent worked (or is working).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedShift {
    pub agent: String,
    /// The check-in.
    pub start: NaiveDateTime,
    /// The check-out, or the shift's scheduled end while it runs or when none was recorded.
    pub end: NaiveDateTime,
}

/// A chat of the shop that an agent accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedChat {
    pub agent: String,
    pub accepted: NaiveDateTime,
}

/// One week's figures (Monday to Sunday, cut to the range).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WeekFigures {
    /// The Monday of the week (ISO week), even when the range starts later.
    pub week_of: NaiveDate,
    /// The first and last day of the range inside this week.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub chats: u32,
    pub returning_chats: u32,
    pub chat_continuity_bp: Option<u32>,
    pub shifts: u32,
    pub returning_shifts: u32,
    pub shift_continuity_bp: Option<u32>,
    /// Distinct agents who served the shop on these days.
    pub agents: u32,
    /// Of them, the agents whose first service of the shop fell in this week.
    pub new_agents: u32,
    pub rotation_bp: Option<u32>,
}

/// The range's totals and its weeks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ContinuityFigures {
    pub chats: u32,
    pub returning_chats: u32,
    pub chat_continuity_bp: Option<u32>,
    pub shifts: u32,
    pub returning_shifts: u32,
    pub shift_continuity_bp: Option<u32>,
    /// Distinct agents who served the shop in the range.
    pub agents: u32,
    /// Of them, those whose first service of the shop fell in the range.
    pub new_agents: u32,
    /// `new_agents` over `agents`.
    pub rotation_bp: Option<u32>,
    pub weeks: Vec<WeekFigures>,
}

/// `part` of `whole` in basis points, rounded down; `None` of nothing.
pub fn share_bp(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| (u64::from(part) * 10_000 / u64::from(whole)) as u32)
}

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Each agent's first service: the earliest of `known` (from the whole history) and every
/// shift and chat given.
fn first_services(
    known: &BTreeMap<String, NaiveDateTime>,
    shifts: &[ServedShift],
    chats: &[ServedChat],
) -> BTreeMap<String, NaiveDateTime> {
    let mut first = known.clone();
    let events = shifts
        .iter()
        .map(|s| (&s.agent, s.start))
        .chain(chats.iter().map(|c| (&c.agent, c.accepted)));
    for (agent, at) in events {
        first
            .entry(agent.clone())
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    }
    first
}

/// What the range's service is made of, before counting: each served item's local day,
/// agent and whether it was by a returning agent.
struct Item<'a> {
    day: NaiveDate,
    agent: &'a str,
    returning: bool,
    chat: bool,
}

#[derive(Default)]
struct Tally<'a> {
    chats: u32,
    returning_chats: u32,
    shifts: u32,
    returning_shifts: u32,
    agents: BTreeSet<&'a str>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, item: &Item<'a>) {
        if item.chat {
            self.chats += 1;
            self.returning_chats += u32::from(item.returning);
        } else {
            self.shifts += 1;
            self.returning_shifts += u32::from(item.returning);
        }
        self.agents.insert(item.agent);
    }
}

/// Continuity, rotation per week and the totals of `from..=to` (see the module notes).
/// `known_first` may hold each agent's first service from the whole history (agents
/// missing from it are taken from `shifts` and `chats`); `shifts` should include the
/// shifts running into the range, so that a chat just after midnight finds its shift.
pub fn continuity(
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    known_first: &BTreeMap<String, NaiveDateTime>,
    shifts: &[ServedShift],
    chats: &[ServedChat],
) -> ContinuityFigures {
    let first = first_services(known_first, shifts, chats);
    let first_of = |agent: &str| first.get(agent).copied();
    let in_range = |day: NaiveDate| from <= day && day <= to;
    let mut by_agent: BTreeMap<&str, Vec<&ServedShift>> = BTreeMap::new();
    for s in shifts {
        by_agent.entry(s.agent.as_str()).or_default().push(s);
    }
    let mut items: Vec<Item<'_>> = Vec::new();
    for s in shifts {
        let day = local_date(zone, s.start);
        if in_range(day) {
            items.push(Item {
                day,
                agent: &s.agent,
                returning: first_of(&s.agent).is_some_and(|f| f < s.start),
                chat: false,
            });
        }
    }
    for c in chats {
        let day = local_date(zone, c.accepted);
        if !in_range(day) {
            continue;
        }
        let shift_start = by_agent
            .get(c.agent.as_str())
            .and_then(|list| {
                list.iter()
                    .filter(|s| s.start <= c.accepted && c.accepted < s.end)
                    .map(|s| s.start)
                    .min()
            })
            .unwrap_or(c.accepted);
        items.push(Item {
            day,
            agent: &c.agent,
            returning: first_of(&c.agent).is_some_and(|f| f < shift_start),
            chat: true,
        });
    }

    let mut total = Tally::default();
    let mut weeks: BTreeMap<NaiveDate, Tally<'_>> = BTreeMap::new();
    for item in &items {
        total.add(item);
        weeks.entry(monday_of(item.day)).or_default().add(item);
    }
    let first_day = |agent: &str| first_of(agent).map(|t| local_date(zone, t));
    let new_in = |agents: &BTreeSet<&str>, lo: NaiveDate, hi: NaiveDate| {
        agents
            .iter()
            .filter(|a| first_day(a).is_some_and(|d| lo <= d && d <= hi))
            .count() as u32
    };
    // Every week of the range, the empty ones too (a chart needs its gaps).
    let mut week_list = Vec::new();
    let mut monday = monday_of(from);
    while monday <= to {
        let tally = weeks.remove(&monday).unwrap_or_default();
        let agents = tally.agents.len() as u32;
        let new_agents = new_in(&tally.agents, monday, monday + Duration::days(6));
        week_list.push(WeekFigures {
            week_of: monday,
            first_day: monday.max(from),
            last_day: (monday + Duration::days(6)).min(to),
            chats: tally.chats,
            returning_chats: tally.returning_chats,
            chat_continuity_bp: share_bp(tally.returning_chats, tally.chats),
            shifts: tally.shifts,
            returning_shifts: tally.returning_shifts,
            shift_continuity_bp: share_bp(tally.returning_shifts, tally.shifts),
            agents,
            new_agents,
            rotation_bp: share_bp(new_agents, agents),
        });
        monday += Duration::days(7);
    }
    let agents = total.agents.len() as u32;
    let new_agents = new_in(&total.agents, from, to);
    ContinuityFigures {
        chats: total.chats,
        returning_chats: total.returning_chats,
        chat_continuity_bp: share_bp(total.returning_chats, total.chats),
        shifts: total.shifts,
        returning_shifts: total.returning_shifts,
        shift_continuity_bp: share_bp(total.returning_shifts, total.shifts),
        agents,
        new_agents,
        rotation_bp: share_bp(new_agents, agents),
        weeks: week_list,
    }
}

/// Whether the shop booked a following peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenewalStatus {
    Booked,
    /// Not booked yet, and the period has not started: it still may be.
    Open,
    /// The period started without a booking of the shop's.
    Missed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FollowingPeak {
    pub period_id: String,
    pub name_en: String,
    pub name_zh: String,
    pub start: NaiveDate,
    pub status: RenewalStatus,
}

/// One peak the shop booked and what followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Renewal {
    pub period_id: String,
    pub name_en: String,
    pub name_zh: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Seat-hours the shop booked for it.
    pub seat_hours: i64,
    /// The first period starting after this one ends; absent when none is in the rules.
    pub next_peak: Option<FollowingPeak>,
    /// The period that renews this one (`renews` in `periods.toml`); absent when none does.
    pub next_edition: Option<FollowingPeak>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Renewals {
    pub items: Vec<Renewal>,
    /// Of the booked peaks whose next peak is decided (booked or missed), the share booked.
    pub next_peak_rate_bp: Option<u32>,
    pub next_edition_rate_bp: Option<u32>,
}

/// The peaks the shop booked that overlap `from..=to`, in order, each with what followed.
/// `booked` maps a period id to the seat-hours the shop holds in it (confirmed, active or
/// completed bookings only).
pub fn renewals(
    periods: &[PeakPeriod],
    booked: &BTreeMap<String, i64>,
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
) -> Renewals {
    let mut sorted: Vec<&PeakPeriod> = periods.iter().collect();
    sorted.sort_by_key(|p| (p.start, p.id.clone()));
    let following = |p: &PeakPeriod| FollowingPeak {
        period_id: p.id.clone(),
        name_en: p.name_en.clone(),
        name_zh: p.name_zh.clone(),
        start: p.start,
        status: if booked.contains_key(&p.id) {
            RenewalStatus::Booked
        } else if today < p.start {
            RenewalStatus::Open
        } else {
            RenewalStatus::Missed
        },
    };
    let items: Vec<Renewal> = sorted
        .iter()
        .filter(|p| p.start <= to && p.end >= from)
        .filter_map(|p| {
            let seat_hours = *booked.get(&p.id)?;
            Some(Renewal {
                period_id: p.id.clone(),
                name_en: p.name_en.clone(),
                name_zh: p.name_zh.clone(),
                start: p.start,
                end: p.end,
                seat_hours,
                next_peak: sorted
                    .iter()
                    .find(|n| n.start > p.end)
                    .map(|n| following(n)),
                next_edition: sorted
                    .iter()
                    .find(|n| n.renews.as_deref() == Some(p.id.as_str()))
                    .map(|n| following(n)),
            })
        })
        .collect();
    let rate = |pick: &dyn Fn(&Renewal) -> Option<RenewalStatus>| {
        let statuses: Vec<RenewalStatus> = items.iter().filter_map(pick).collect();
        let booked = statuses
            .iter()
            .filter(|s| **s == RenewalStatus::Booked)
            .count() as u32;
        let missed = statuses
            .iter()
            .filter(|s| **s == RenewalStatus::Missed)
            .count() as u32;
        share_bp(booked, booked + missed)
    };
    Renewals {
        next_peak_rate_bp: rate(&|r| r.next_peak.as_ref().map(|n| n.status)),
        next_edition_rate_bp: rate(&|r| r.next_edition.as_ref().map(|n| n.status)),
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ZONE: Tz = chrono_tz::Asia::Shanghai;

    /// 2026-11-`d` at `h`:`m` Shanghai time, as UTC.
    fn t(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
            - Duration::hours(8)
    }

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn shift(agent: &str, d: u32, h: u32) -> ServedShift {
        ServedShift {
            agent: agent.into(),
            start: t(d, h, 0),
            end: t(d, h + 4, 0),
        }
    }

    fn chat(agent: &str, d: u32, h: u32, m: u32) -> ServedChat {
        ServedChat {
            agent: agent.into(),
            accepted: t(d, h, m),
        }
    }

    /// Two weeks of November 2026 (Mon 2nd .. Sun 15th):
    /// - wang worked for the shop in October (known first service), and works Mon 2nd
    ///   and Mon 9th: returning both times, with 2 chats on the 2nd;
    /// - li first serves Tue 3rd (2 chats: new), again Wed 4th (1 chat: returning), and
    ///   Tue 10th (1 chat: returning);
    /// - zhao first serves Wed 11th (1 chat, new) and again the same day on a second shift
    ///   (1 chat, returning: the first shift started before).
    fn fixture() -> (
        BTreeMap<String, NaiveDateTime>,
        Vec<ServedShift>,
        Vec<ServedChat>,
    ) {
        let known = BTreeMap::from([("wang".to_owned(), t(1, 8, 0) - Duration::days(20))]);
        let shifts = vec![
            shift("wang", 2, 8),
            shift("li", 3, 8),
            shift("li", 4, 8),
            shift("wang", 9, 8),
            shift("li", 10, 8),
            shift("zhao", 11, 8),
            shift("zhao", 11, 14),
        ];
        let chats = vec![
            chat("wang", 2, 9, 0),
            chat("wang", 2, 10, 0),
            chat("li", 3, 9, 0),
            chat("li", 3, 11, 59),
            chat("li", 4, 9, 0),
            chat("li", 10, 9, 0),
            chat("zhao", 11, 9, 0),
            chat("zhao", 11, 15, 0),
        ];
        (known, shifts, chats)
    }

    #[test]
    fn hand_counted_fortnight() {
        let (known, shifts, chats) = fixture();
        let f = continuity(ZONE, date(11, 2), date(11, 15), &known, &shifts, &chats);
        // Chats: 8; returning: wang 2 + li (4th, 10th) 2 + zhao's second shift 1 = 5.
        assert_eq!((f.chats, f.returning_chats), (8, 5));
        assert_eq!(f.chat_continuity_bp, Some(6_250));
        // Shifts: 7; returning: wang 2, li 4th and 10th, zhao's second = 5.
        assert_eq!((f.shifts, f.returning_shifts), (7, 5));
        assert_eq!(f.shift_continuity_bp, Some(7_142));
        // Agents 3, new in the range: li and zhao.
        assert_eq!((f.agents, f.new_agents, f.rotation_bp), (3, 2, Some(6_666)));
        assert_eq!(f.weeks.len(), 2);
        let w1 = &f.weeks[0];
        assert_eq!(w1.week_of, date(11, 2));
        assert_eq!((w1.chats, w1.returning_chats), (5, 3));
        assert_eq!((w1.shifts, w1.returning_shifts), (3, 2));
        assert_eq!(
            (w1.agents, w1.new_agents, w1.rotation_bp),
            (2, 1, Some(5_000))
        );
        let w2 = &f.weeks[1];
        assert_eq!(w2.week_of, date(11, 9));
        assert_eq!((w2.chats, w2.returning_chats), (3, 2));
        assert_eq!((w2.shifts, w2.returning_shifts), (4, 3));
        // wang, li, zhao served; only zhao is new this week.
        assert_eq!(
            (w2.agents, w2.new_agents, w2.rotation_bp),
            (3, 1, Some(3_333))
        );
    }

    #[test]
    fn a_range_cut_mid_week_keeps_the_week_but_only_its_days() {
        let (known, shifts, chats) = fixture();
        // Wed 4th .. Tue 10th.
        let f = continuity(ZONE, date(11, 4), date(11, 10), &known, &shifts, &chats);
        assert_eq!(f.weeks.len(), 2);
        assert_eq!(
            (f.weeks[0].first_day, f.weeks[0].last_day),
            (date(11, 4), date(11, 8))
        );
        assert_eq!(
            (f.weeks[1].first_day, f.weeks[1].last_day),
            (date(11, 9), date(11, 10))
        );
        // Only li's Wednesday in week one: returning, yet new *that week* (first served
        // on the Tuesday, before the range).
        assert_eq!((f.weeks[0].chats, f.weeks[0].returning_chats), (1, 1));
        assert_eq!((f.weeks[0].agents, f.weeks[0].new_agents), (1, 1));
        // Over the range li is not new: their first service was before it.
        assert_eq!((f.agents, f.new_agents), (2, 0));
    }

    #[test]
    fn local_days_decide_the_range_and_a_chat_after_midnight_finds_its_shift() {
        // A shift from 22:00 on Sun 8th to 02:00 on Mon 9th, the agent's second.
        let known = BTreeMap::new();
        let shifts = vec![
            shift("wang", 2, 8),
            ServedShift {
                agent: "wang".into(),
                start: t(8, 22, 0),
                end: t(9, 2, 0),
            },
        ];
        // 00:30 local on the 9th is 16:30 UTC on the 8th: the 9th, in week two.
        let chats = vec![chat("wang", 9, 0, 30)];
        let f = continuity(ZONE, date(11, 9), date(11, 15), &known, &shifts, &chats);
        assert_eq!((f.chats, f.returning_chats), (1, 1));
        // The shift started on the 8th: not in the range.
        assert_eq!(f.shifts, 0);
        let before = continuity(ZONE, date(11, 2), date(11, 8), &known, &shifts, &chats);
        assert_eq!(before.chats, 0);
        assert_eq!((before.shifts, before.returning_shifts), (2, 1));
    }

    #[test]
    fn nothing_served_is_no_share_and_every_week_is_listed() {
        let f = continuity(ZONE, date(11, 2), date(11, 29), &BTreeMap::new(), &[], &[]);
        assert_eq!(f.chat_continuity_bp, None);
        assert_eq!(f.shift_continuity_bp, None);
        assert_eq!(f.rotation_bp, None);
        assert_eq!(f.weeks.len(), 4);
        assert!(
            f.weeks
                .iter()
                .all(|w| w.agents == 0 && w.rotation_bp.is_none())
        );
    }

    fn period(id: &str, start: NaiveDate, end: NaiveDate, renews: Option<&str>) -> PeakPeriod {
        PeakPeriod {
            id: id.into(),
            name_en: id.to_uppercase(),
            name_zh: id.into(),
            start,
            end,
            multiplier_bp: 15_000,
            booking_opens_days_before: 60,
            priority_days: 14,
            renews: renews.map(str::to_owned),
        }
    }

    #[test]
    fn renewals_follow_the_next_peak_and_the_next_edition() {
        let d = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let periods = vec![
            period("d12_2026", d(2026, 12, 1), d(2026, 12, 12), None),
            period("d11_2026", d(2026, 10, 20), d(2026, 11, 11), None),
            period("spring", d(2027, 1, 18), d(2027, 2, 5), None),
            period(
                "d11_2027",
                d(2027, 10, 20),
                d(2027, 11, 11),
                Some("d11_2026"),
            ),
        ];
        // Booked Double 11 and Double 12 2026, not the spring sale; today is Jan 20th 2027.
        let booked = BTreeMap::from([("d11_2026".to_owned(), 480), ("d12_2026".to_owned(), 96)]);
        let r = renewals(
            &periods,
            &booked,
            d(2027, 1, 20),
            d(2026, 1, 1),
            d(2026, 12, 31),
        );
        assert_eq!(r.items.len(), 2);
        let d11 = &r.items[0];
        assert_eq!((d11.period_id.as_str(), d11.seat_hours), ("d11_2026", 480));
        let next = d11.next_peak.as_ref().unwrap();
        assert_eq!(
            (next.period_id.as_str(), next.status),
            ("d12_2026", RenewalStatus::Booked)
        );
        let edition = d11.next_edition.as_ref().unwrap();
        assert_eq!(
            (edition.period_id.as_str(), edition.status),
            ("d11_2027", RenewalStatus::Open)
        );
        let d12 = &r.items[1];
        let next = d12.next_peak.as_ref().unwrap();
        assert_eq!(
            (next.period_id.as_str(), next.status),
            ("spring", RenewalStatus::Missed)
        );
        assert_eq!(d12.next_edition, None);
        // Next peak: 1 booked, 1 missed. Next edition: only an open one, nothing decided.
        assert_eq!(r.next_peak_rate_bp, Some(5_000));
        assert_eq!(r.next_edition_rate_bp, None);
        // A range before every booking lists nothing.
        let none = renewals(
            &periods,
            &booked,
            d(2027, 1, 20),
            d(2026, 1, 1),
            d(2026, 6, 30),
        );
        assert!(none.items.is_empty());
        assert_eq!(none.next_peak_rate_bp, None);
    }

    fn arb_events() -> impl Strategy<Value = (Vec<ServedShift>, Vec<ServedChat>)> {
        let agent = prop::sample::select(vec!["a", "b", "c", "d"]);
        let shifts = prop::collection::vec((agent.clone(), 0i64..40, 1i64..10), 0..25);
        let chats = prop::collection::vec((agent, 0i64..40 * 24), 0..60);
        (shifts, chats).prop_map(|(shifts, chats)| {
            let base = t(1, 0, 0);
            (
                shifts
                    .into_iter()
                    .map(|(a, day, h)| ServedShift {
                        agent: a.into(),
                        start: base + Duration::days(day) + Duration::hours(h),
                        end: base + Duration::days(day) + Duration::hours(h + 4),
                    })
                    .collect(),
                chats
                    .into_iter()
                    .map(|(a, hour)| ServedChat {
                        agent: a.into(),
                        accepted: base + Duration::hours(hour),
                    })
                    .collect(),
            )
        })
    }

    proptest! {
        /// Weeks add up to the totals, shares stay shares, and a returning item's agent
        /// really served the shop before it.
        #[test]
        fn weeks_add_up_and_shares_are_shares(
            (shifts, chats) in arb_events(),
            first in 0i64..30,
            days in 0i64..30,
        ) {
            let from = date(11, 1) + Duration::days(first);
            let to = from + Duration::days(days);
            let f = continuity(ZONE, from, to, &BTreeMap::new(), &shifts, &chats);
            let sum = |g: &dyn Fn(&WeekFigures) -> u32| f.weeks.iter().map(g).sum::<u32>();
            prop_assert_eq!(sum(&|w| w.chats), f.chats);
            prop_assert_eq!(sum(&|w| w.returning_chats), f.returning_chats);
            prop_assert_eq!(sum(&|w| w.shifts), f.shifts);
            prop_assert_eq!(sum(&|w| w.returning_shifts), f.returning_shifts);
            prop_assert!(f.returning_chats <= f.chats && f.returning_shifts <= f.shifts);
            prop_assert!(f.new_agents <= f.agents);
            for w in &f.weeks {
                prop_assert!(w.new_agents <= w.agents);
                prop_assert!(w.first_day >= from && w.last_day <= to && w.first_day <= w.last_day);
                for bp in [w.chat_continuity_bp, w.shift_continuity_bp, w.rotation_bp].into_iter().flatten() {
                    prop_assert!(bp <= 10_000);
                }
            }
            // Each agent's earliest shift or chat is never returning: over all history at
            // most (items - distinct agents) are.
            let all = continuity(ZONE, date(1, 1), date(12, 31), &BTreeMap::new(), &shifts, &chats);
            let agents: BTreeSet<&str> = shifts
                .iter()
                .map(|s| s.agent.as_str())
                .chain(chats.iter().map(|c| c.agent.as_str()))
                .collect();
            prop_assert!(
                (all.returning_shifts + all.returning_chats) as usize
                    <= shifts.len() + chats.len() - agents.len()
            );
            prop_assert_eq!(all.agents as usize, agents.len());
            prop_assert_eq!(all.new_agents, all.agents);
        }

        /// Knowing an earlier first service can only make service more continuous.
        #[test]
        fn an_older_history_never_lowers_continuity((shifts, chats) in arb_events()) {
            let (from, to) = (date(11, 1), date(12, 15));
            let fresh = continuity(ZONE, from, to, &BTreeMap::new(), &shifts, &chats);
            let known: BTreeMap<String, NaiveDateTime> = ["a", "b", "c", "d"]
                .iter()
                .map(|a| ((*a).to_owned(), t(1, 0, 0) - Duration::days(100)))
                .collect();
            let veteran = continuity(ZONE, from, to, &known, &shifts, &chats);
            prop_assert!(veteran.returning_chats >= fresh.returning_chats);
            prop_assert!(veteran.returning_shifts >= fresh.returning_shifts);
            // With everyone known before, everything is returning and nobody is new.
            prop_assert_eq!(veteran.returning_chats, veteran.chats);
            prop_assert_eq!(veteran.returning_shifts, veteran.shifts);
            prop_assert_eq!(veteran.new_agents, 0);
        }
    }
}
