//! Fairness of chat routing, measured rather than assumed: how many chats each agent got
//! per hour they were available, how long they waited, and who was starved or flooded.
//! Pure: the caller loads each agent's presence changes, checked-in shift time, offers and
//! take-backs ([`super::fairness_store`]) and calls [`measure`].
//!
//! # Definitions
//! - **Period** `[from, to)` in UTC, at most [`MAX_PERIOD_DAYS`] days, by default the last
//!   24 hours. Only the part up to `now` is measured: the rest has not happened yet.
//! - **Checked-in time**: from a shift assignment's check-in to the earliest of its
//!   check-out, its end and the shift's scheduled end — exactly when the router may offer
//!   the agent that shop's chats (an early check-in counts: the agent is eligible then).
//!   Overlapping shifts (of several shops, in the admin's view) count once.
//! - **Online time**: from a presence change to `online` to the next change to `away` or
//!   `offline`; the status in force at the period's start is the last change before it. An
//!   agent whose connection dropped stays online in the record until the grace period
//!   lapses and the timers mark them offline (they keep their chats until then).
//! - **Available time**: online, checked in and inside the measured period, all at once.
//! - **Assignment**: an offer the agent accepted or that was auto-accepted (a transfer
//!   received included), dated when the router made the offer. **Offers**, **declines** and
//!   **timeouts** count offers made in the period by outcome; an offer withdrawn (the chat
//!   ended meanwhile) or still open counts only as an offer. **Take-backs**: chats taken
//!   back from the agent in the period (no first reply in time, or gone past the grace).
//! - **Rate**: assignments per available hour; none without available time.
//! - **Longest wait**: the most available time between two consecutive assignments (or
//!   the period's edges). Time away or off shift pauses it without resetting it, so a
//!   break does not hide a long wait.
//! - **Since last assignment**: from the agent's last assignment up to `now` (even one
//!   before the period) to `now`; none when they never had one.
//! - **Measured** agents were available at least [`MIN_MEASURED_SECS`]; the group's
//!   figures use only them, because a rate over a few minutes is noise (one chat in the
//!   first two minutes after logging in is a rate of 30 an hour).
//! - **Mean rate**: the plain mean of the measured agents' rates. **Pooled rate**: all
//!   assignments over all available hours. **Spread**: the lowest and highest rate and the
//!   coefficient of variation (population standard deviation over the mean).
//! - **Fair share**: the mean rate times the agent's available hours.
//! - **Starved**: measured, a fair share of at least [`MIN_FAIR_SHARE`] chats, at most
//!   half of it received, while another measured agent is above the mean.
//! - **Flooded**: measured, at least twice the fair share received and at least
//!   [`MIN_FAIR_SHARE`] chats more than it. An agent who logs in early or comes back from
//!   a break and then takes the whole rush shows up here.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{FieldErrors, Invalid};

/// The longest period one report covers.
pub const MAX_PERIOD_DAYS: i64 = 31;
/// The period when none is asked for: the last day.
pub const DEFAULT_PERIOD_HOURS: i64 = 24;
/// Available time an agent needs before their rate counts in the group's figures.
pub const MIN_MEASURED_SECS: i64 = 30 * 60;
/// The fewest chats a fair share must come to before a shortfall or an excess is a flag
/// rather than chance.
pub const MIN_FAIR_SHARE: f64 = 2.0;

/// A half-open span of time `[start, end)`, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Span {
    /// `None` when the span would be empty.
    pub fn new(start: NaiveDateTime, end: NaiveDateTime) -> Option<Span> {
        (start < end).then_some(Span { start, end })
    }

    pub fn secs(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    fn contains(&self, at: NaiveDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// The reporting period a caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

fn instant(raw: &str) -> Result<NaiveDateTime, Invalid> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.naive_utc())
        .map_err(|_| {
            Invalid::new(
                "invalid_instant",
                "an RFC 3339 instant with a zone, e.g. 2026-11-11T00:00:00Z",
            )
        })
}

impl Period {
    /// `from` and `to` as RFC 3339 instants; `to` defaults to `now` and `from` to 24 hours
    /// before `to`. An inverted or too long period is reported under the field the caller
    /// gave last (`to` if given, else `from`).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Period, FieldErrors> {
        let from = from.map(str::trim).filter(|v| !v.is_empty());
        let to = to.map(str::trim).filter(|v| !v.is_empty());
        let mut errors = FieldErrors::new();
        let from_at = from.and_then(|f| errors.check("from", instant(f)));
        let to_at = to.and_then(|t| errors.check("to", instant(t)));
        if !errors.is_empty() {
            return Err(errors);
        }
        let to_at = to_at.unwrap_or(now);
        let from_at = from_at.unwrap_or(to_at - Duration::hours(DEFAULT_PERIOD_HOURS));
        let field = if to.is_some() { "to" } else { "from" };
        let checked = if to_at <= from_at {
            Err(Invalid::new(
                "period_inverted",
                "to must be later than from",
            ))
        } else if to_at - from_at > Duration::days(MAX_PERIOD_DAYS) {
            Err(Invalid::new(
                "period_too_long",
                format!("a period is at most {MAX_PERIOD_DAYS} days"),
            ))
        } else {
            Ok(())
        };
        errors.check(field, checked);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Period {
            from: from_at,
            to: to_at,
        })
    }

    /// The part of the period that has happened by `now`; `None` when none has.
    pub fn measured(&self, now: NaiveDateTime) -> Option<Span> {
        Span::new(self.from, self.to.min(now))
    }
}

/// An agent's presence as the workspace records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    /// Unknown values count as offline: they cannot make anyone look available.
    pub fn parse(raw: &str) -> Presence {
        match raw {
            "online" => Presence::Online,
            "away" => Presence::Away,
            _ => Presence::Offline,
        }
    }
}

/// How an offer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferOutcome {
    /// Accepted or auto-accepted: an assignment.
    Accepted,
    Declined,
    TimedOut,
    /// Withdrawn because the chat ended or moved meanwhile.
    Withdrawn,
    /// Not decided yet.
    Open,
}

impl OfferOutcome {
    pub fn parse(raw: Option<&str>) -> OfferOutcome {
        match raw {
            Some("accepted" | "auto_accepted") => OfferOutcome::Accepted,
            Some("declined") => OfferOutcome::Declined,
            Some("timed_out") => OfferOutcome::TimedOut,
            Some(_) => OfferOutcome::Withdrawn,
            None => OfferOutcome::Open,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub at: NaiveDateTime,
    pub outcome: OfferOutcome,
}

/// What the record holds about one agent, as loaded; anything outside the measured period
/// may be included and is ignored (except the presence change in force at its start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentRecord {
    pub agent_id: String,
    pub display_name: String,
    /// Presence changes, in any order: at least the last one before the period and every
    /// one within it.
    pub presence: Vec<(NaiveDateTime, Presence)>,
    pub checked_in: Vec<Span>,
    pub offers: Vec<Offer>,
    pub takebacks: Vec<NaiveDateTime>,
    /// The agent's last assignment at or before `now` in the report's scope, even one
    /// before the period.
    pub last_assigned_at: Option<NaiveDateTime>,
}

/// Starved or flooded; see the module notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Starved,
    Flooded,
}

/// One agent's figures for the period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentFairness {
    pub agent_id: String,
    pub display_name: String,
    /// Online and checked in during the period, whole minutes.
    pub available_minutes: i64,
    #[serde(skip)]
    pub available_secs: i64,
    pub assignments: u32,
    /// Assignments per available hour; none without available time.
    pub assignments_per_hour: Option<f64>,
    pub offers: u32,
    pub declines: u32,
    pub timeouts: u32,
    pub takebacks: u32,
    /// The most available time between two assignments (or the period's edges), whole
    /// minutes; breaks pause it.
    pub longest_wait_minutes: i64,
    #[serde(skip)]
    pub longest_wait_secs: i64,
    pub last_assignment_at: Option<DateTime<Utc>>,
    /// Whole minutes from the last assignment to now; none when there never was one.
    pub minutes_since_last_assignment: Option<i64>,
    #[serde(skip)]
    pub secs_since_last_assignment: Option<i64>,
    /// Available long enough to count in the group's figures.
    pub measured: bool,
    /// The group's mean rate times this agent's available hours (measured agents only).
    pub fair_share: Option<f64>,
    pub flag: Option<Flag>,
}

/// The group's figures for the period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    /// Agents with checked-in time, offers or take-backs in the period.
    pub agents: usize,
    /// Agents available at least 30 minutes: the ones the figures below compare.
    pub measured_agents: usize,
    pub available_minutes: i64,
    #[serde(skip)]
    pub available_secs: i64,
    pub assignments: u32,
    pub offers: u32,
    pub declines: u32,
    pub timeouts: u32,
    pub takebacks: u32,
    /// Mean of the measured agents' rates.
    pub mean_assignments_per_hour: Option<f64>,
    /// Every assignment over every available hour.
    pub pooled_assignments_per_hour: Option<f64>,
    pub min_assignments_per_hour: Option<f64>,
    pub max_assignments_per_hour: Option<f64>,
    /// Standard deviation of the measured rates over their mean (0 = perfectly even).
    pub coefficient_of_variation: Option<f64>,
    /// Ids of starved agents, sorted.
    pub starved: Vec<String>,
    /// Ids of flooded agents, sorted.
    pub flooded: Vec<String>,
}

/// Sorted, disjoint spans covering the same time as `spans`.
pub fn union(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// The time both sorted, disjoint span lists cover.
pub fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        if let Some(s) = Span::new(a[i].start.max(b[j].start), a[i].end.min(b[j].end)) {
            out.push(s);
        }
        if a[i].end <= b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn total_secs(spans: &[Span]) -> i64 {
    spans.iter().map(Span::secs).sum()
}

/// The presence in force over `window`, from presence changes in any order: spans that
/// partition the window exactly, adjacent ones of different status. Before the first
/// change the agent is offline; a change at or after the window's end does not count.
/// The activity timeline ([`crate::analytics::timeline`]) and the online time here both
/// read presence through this one function.
pub fn status_spans(changes: &[(NaiveDateTime, Presence)], window: Span) -> Vec<(Span, Presence)> {
    let mut changes = changes.to_vec();
    changes.sort_by_key(|(at, _)| *at);
    let mut out = Vec::new();
    let mut since = window.start;
    let mut state = Presence::Offline;
    for (at, next) in changes {
        let at = at.max(window.start);
        if at >= window.end {
            break;
        }
        if next == state {
            continue;
        }
        out.extend(Span::new(since, at).map(|s| (s, state)));
        since = at;
        state = next;
    }
    out.extend(Span::new(since, window.end).map(|s| (s, state)));
    out
}

/// The online spans within `window`, from presence changes in any order.
pub fn online_spans(changes: &[(NaiveDateTime, Presence)], window: Span) -> Vec<Span> {
    status_spans(changes, window)
        .into_iter()
        .filter(|(_, p)| *p == Presence::Online)
        .map(|(s, _)| s)
        .collect()
}

/// Available seconds in `spans` before `at`.
fn available_before(spans: &[Span], at: NaiveDateTime) -> i64 {
    spans
        .iter()
        .map(|s| (s.end.min(at) - s.start).num_seconds().max(0))
        .sum()
}

fn rate(assignments: u32, secs: i64) -> Option<f64> {
    (secs > 0).then(|| f64::from(assignments) * 3600.0 / secs as f64)
}

/// One agent's own figures (the group's come after, in [`measure`]).
fn agent_figures(record: AgentRecord, window: Option<Span>, now: NaiveDateTime) -> AgentFairness {
    let in_window = |at: NaiveDateTime| window.is_some_and(|w| w.contains(at));
    let available = match window {
        Some(w) => intersect(
            &online_spans(&record.presence, w),
            &intersect(&union(record.checked_in), &[w]),
        ),
        None => Vec::new(),
    };
    let available_secs = total_secs(&available);
    let last = record
        .offers
        .iter()
        .filter(|o| o.outcome == OfferOutcome::Accepted)
        .map(|o| o.at)
        .chain(record.last_assigned_at)
        .filter(|at| *at <= now)
        .max();
    let offers: Vec<Offer> = record
        .offers
        .into_iter()
        .filter(|o| in_window(o.at))
        .collect();
    let count = |outcome| offers.iter().filter(|o| o.outcome == outcome).count() as u32;
    let mut assigned: Vec<NaiveDateTime> = offers
        .iter()
        .filter(|o| o.outcome == OfferOutcome::Accepted)
        .map(|o| o.at)
        .collect();
    assigned.sort();
    let assignments = assigned.len() as u32;
    // Available time accumulated up to each assignment; the longest wait is the largest
    // step between consecutive marks, the period's edges included.
    let mut marks: Vec<i64> = vec![0];
    marks.extend(assigned.iter().map(|at| available_before(&available, *at)));
    marks.push(available_secs);
    let longest_wait_secs = marks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let since = last.map(|at| (now - at).num_seconds());
    AgentFairness {
        agent_id: record.agent_id,
        display_name: record.display_name,
        available_minutes: available_secs / 60,
        available_secs,
        assignments,
        assignments_per_hour: rate(assignments, available_secs),
        offers: offers.len() as u32,
        declines: count(OfferOutcome::Declined),
        timeouts: count(OfferOutcome::TimedOut),
        takebacks: record.takebacks.iter().filter(|at| in_window(**at)).count() as u32,
        longest_wait_minutes: longest_wait_secs / 60,
        longest_wait_secs,
        last_assignment_at: last.map(|at| at.and_utc()),
        minutes_since_last_assignment: since.map(|s| s / 60),
        secs_since_last_assignment: since,
        measured: available_secs >= MIN_MEASURED_SECS,
        fair_share: None,
        flag: None,
    }
}

/// The report: every agent's figures (sorted by id) and the group's.
pub fn measure(
    period: Period,
    now: NaiveDateTime,
    records: Vec<AgentRecord>,
) -> (Vec<AgentFairness>, Summary) {
    let window = period.measured(now);
    let mut agents: Vec<AgentFairness> = records
        .into_iter()
        .map(|r| agent_figures(r, window, now))
        .collect();
    // A canonical order, so the sums below (and so the report) do not depend on the order
    // the records came in.
    agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
    let rates: Vec<f64> = agents
        .iter()
        .filter(|a| a.measured)
        .filter_map(|a| a.assignments_per_hour)
        .collect();
    let mean = (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64);
    let cv = mean.filter(|m| *m > 0.0).map(|m| {
        let variance = rates.iter().map(|r| (r - m).powi(2)).sum::<f64>() / rates.len() as f64;
        variance.sqrt() / m
    });
    if let Some(mean) = mean {
        // A starved agent is below half the mean, so "someone above the mean" is always
        // someone else.
        let someone_above = agents
            .iter()
            .any(|a| a.measured && a.assignments_per_hour.is_some_and(|r| r > mean));
        for a in agents.iter_mut().filter(|a| a.measured) {
            let share = mean * a.available_secs as f64 / 3600.0;
            let got = f64::from(a.assignments);
            a.fair_share = Some(share);
            a.flag = if share >= MIN_FAIR_SHARE && got <= share / 2.0 && someone_above {
                Some(Flag::Starved)
            } else if got >= 2.0 * share && got - share >= MIN_FAIR_SHARE {
                Some(Flag::Flooded)
            } else {
                None
            };
        }
    }
    let flagged = |flag| {
        agents
            .iter()
            .filter(|a| a.flag == Some(flag))
            .map(|a| a.agent_id.clone())
            .collect()
    };
    let sum = |f: fn(&AgentFairness) -> u32| agents.iter().map(f).sum::<u32>();
    let available_secs: i64 = agents.iter().map(|a| a.available_secs).sum();
    let assignments = sum(|a| a.assignments);
    let summary = Summary {
        agents: agents.len(),
        measured_agents: agents.iter().filter(|a| a.measured).count(),
        available_minutes: available_secs / 60,
        available_secs,
        assignments,
        offers: sum(|a| a.offers),
        declines: sum(|a| a.declines),
        timeouts: sum(|a| a.timeouts),
        takebacks: sum(|a| a.takebacks),
        mean_assignments_per_hour: mean,
        pooled_assignments_per_hour: rate(assignments, available_secs),
        min_assignments_per_hour: rates.iter().copied().reduce(f64::min),
        max_assignments_per_hour: rates.iter().copied().reduce(f64::max),
        coefficient_of_variation: cv,
        starved: flagged(Flag::Starved),
        flooded: flagged(Flag::Flooded),
    };
    (agents, summary)
}

/// What a report's rows are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Assignments per available hour; agents without available time come last either way.
    Rate,
    Available,
    /// Time since the last assignment; an agent never assigned has waited longest.
    SinceLastAssignment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    /// The lowest rate first: who may be starved is at the top.
    fn default() -> Self {
        Sort {
            key: SortKey::Rate,
            descending: false,
        }
    }
}

impl Sort {
    pub fn parse(raw: &str) -> Result<Sort, Invalid> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let key = match name {
            "rate" => SortKey::Rate,
            "available" => SortKey::Available,
            "since_last_assignment" => SortKey::SinceLastAssignment,
            _ => {
                return Err(Invalid::new(
                    "unknown_value",
                    "sort by rate, available or since_last_assignment, with a leading - to reverse",
                ));
            }
        };
        Ok(Sort { key, descending })
    }
}

/// Orders rows by `sort`, ties by agent id, so pages never repeat or skip a row.
pub fn sort(agents: &mut [AgentFairness], sort: Sort) {
    let flip = |o: Ordering| if sort.descending { o.reverse() } else { o };
    agents.sort_by(|a, b| {
        match sort.key {
            SortKey::Rate => match (a.assignments_per_hour, b.assignments_per_hour) {
                (Some(x), Some(y)) => flip(x.total_cmp(&y)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            SortKey::Available => flip(a.available_secs.cmp(&b.available_secs)),
            SortKey::SinceLastAssignment => {
                let waited = |r: &AgentFairness| r.secs_since_last_assignment.unwrap_or(i64::MAX);
                flip(waited(a).cmp(&waited(b)))
            }
        }
        .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
}

/// The rows after the agent `cursor` (all of them without one); `None` when that agent is
/// not in the report.
pub fn after(agents: Vec<AgentFairness>, cursor: Option<&str>) -> Option<Vec<AgentFairness>> {
    let Some(cursor) = cursor else {
        return Some(agents);
    };
    let at = agents.iter().position(|a| a.agent_id == cursor)?;
    Some(agents.into_iter().skip(at + 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    /// Minutes after 08:00 on a fixed day.
    fn at(minute: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 11)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
            + Duration::minutes(minute)
    }

    fn span(from: i64, to: i64) -> Span {
        Span::new(at(from), at(to)).unwrap()
    }

    fn period(from: i64, to: i64) -> Period {
        Period {
            from: at(from),
            to: at(to),
        }
    }

    fn accepted(minute: i64) -> Offer {
        Offer {
            at: at(minute),
            outcome: OfferOutcome::Accepted,
        }
    }

    /// Online and checked in for `[from, to)` minutes, with `assigned` chats at those minutes.
    fn agent(id: &str, from: i64, to: i64, assigned: &[i64]) -> AgentRecord {
        AgentRecord {
            agent_id: id.to_owned(),
            display_name: id.to_uppercase(),
            presence: vec![(at(from), Presence::Online), (at(to), Presence::Offline)],
            checked_in: Span::new(at(from), at(to)).into_iter().collect(),
            offers: assigned.iter().map(|m| accepted(*m)).collect(),
            takebacks: Vec::new(),
            last_assigned_at: None,
        }
    }

    fn one(record: AgentRecord, p: Period, now: i64) -> AgentFairness {
        measure(p, at(now), vec![record]).0.remove(0)
    }

    #[test]
    fn available_time_is_online_and_checked_in_within_the_period() {
        let record = AgentRecord {
            // Online before the period, away for ten minutes, offline at 100.
            presence: vec![
                (at(-30), Presence::Online),
                (at(20), Presence::Away),
                (at(30), Presence::Online),
                (at(100), Presence::Offline),
            ],
            // Checked in from 10 (early) to 80, and again from 90.
            checked_in: vec![span(10, 80), span(90, 200)],
            ..agent("a", 0, 0, &[])
        };
        let a = one(record, period(0, 120), 200);
        // 10-20, 30-80, 90-100.
        assert_eq!(a.available_minutes, 70);
        assert_eq!(a.available_secs, 70 * 60);
    }

    #[test]
    fn only_the_part_of_the_period_up_to_now_is_measured() {
        let a = one(agent("a", 0, 600, &[5]), period(0, 600), 60);
        assert_eq!(a.available_minutes, 60);
        assert_eq!(a.assignments_per_hour, Some(1.0));
        // A period entirely in the future measures nothing.
        let a = one(agent("a", 0, 600, &[5]), period(100, 200), 60);
        assert_eq!((a.available_minutes, a.assignments, a.offers), (0, 0, 0));
        assert_eq!(a.assignments_per_hour, None);
    }

    #[test]
    fn overlapping_shifts_count_once() {
        let record = AgentRecord {
            checked_in: vec![span(0, 40), span(20, 60), span(50, 60)],
            ..agent("a", 0, 120, &[])
        };
        assert_eq!(one(record, period(0, 120), 120).available_minutes, 60);
    }

    #[test]
    fn offers_are_counted_by_outcome_within_the_period() {
        let offer = |m, outcome| Offer { at: at(m), outcome };
        let record = AgentRecord {
            offers: vec![
                offer(-5, OfferOutcome::Accepted),
                offer(10, OfferOutcome::Accepted),
                offer(20, OfferOutcome::Declined),
                offer(30, OfferOutcome::TimedOut),
                offer(40, OfferOutcome::TimedOut),
                offer(50, OfferOutcome::Withdrawn),
                offer(55, OfferOutcome::Open),
                offer(70, OfferOutcome::Accepted),
            ],
            takebacks: vec![at(-1), at(15), at(65)],
            ..agent("a", 0, 120, &[])
        };
        let a = one(record, period(0, 60), 120);
        assert_eq!(
            (a.offers, a.assignments, a.declines, a.timeouts, a.takebacks),
            (6, 1, 1, 2, 1)
        );
        // The last assignment is the one after the period, relative to now.
        assert_eq!(a.minutes_since_last_assignment, Some(50));
        assert_eq!(a.last_assignment_at, Some(at(70).and_utc()));
    }

    #[test]
    fn the_last_assignment_may_come_from_before_the_period_and_never_from_the_future() {
        let record = AgentRecord {
            last_assigned_at: Some(at(-90)),
            ..agent("a", 0, 120, &[])
        };
        assert_eq!(
            one(record, period(0, 60), 30).minutes_since_last_assignment,
            Some(120)
        );
        let record = AgentRecord {
            last_assigned_at: Some(at(90)),
            ..agent("a", 0, 120, &[])
        };
        assert_eq!(
            one(record, period(0, 60), 30).minutes_since_last_assignment,
            None
        );
    }

    #[test]
    fn the_longest_wait_pauses_during_breaks() {
        let record = AgentRecord {
            presence: vec![
                (at(0), Presence::Online),
                (at(20), Presence::Away),
                (at(50), Presence::Online),
            ],
            ..agent("a", 0, 0, &[10, 70])
        };
        let record = AgentRecord {
            checked_in: vec![span(0, 120)],
            ..record
        };
        // Available 0-20 and 50-120: waits of 10, 10 + 20 (the break pauses), and 50.
        let a = one(record, period(0, 120), 120);
        assert_eq!(a.available_minutes, 90);
        assert_eq!(a.longest_wait_minutes, 50);
        // Without any assignment the whole available time is one wait.
        assert_eq!(
            one(agent("b", 0, 45, &[]), period(0, 120), 120).longest_wait_minutes,
            45
        );
    }

    #[test]
    fn group_figures_compare_measured_agents_only() {
        let (agents, s) = measure(
            period(0, 120),
            at(120),
            vec![
                agent("a", 0, 120, &[10, 40, 70, 100]),
                agent("b", 0, 120, &[20, 80]),
                // Ten minutes with one chat: 6 an hour, but not measured.
                agent("c", 110, 120, &[111]),
            ],
        );
        assert_eq!((s.agents, s.measured_agents), (3, 2));
        assert_eq!(s.assignments, 7);
        assert_eq!(s.available_minutes, 250);
        assert_eq!(s.mean_assignments_per_hour, Some(1.5));
        assert_eq!(s.min_assignments_per_hour, Some(1.0));
        assert_eq!(s.max_assignments_per_hour, Some(2.0));
        assert_eq!(s.coefficient_of_variation, Some(0.5 / 1.5));
        assert_eq!(s.pooled_assignments_per_hour, Some(7.0 * 60.0 / 250.0));
        assert_eq!(agents[2].assignments_per_hour, Some(6.0));
        assert!(!agents[2].measured);
        assert_eq!(agents[2].fair_share, None);
        assert_eq!(agents[0].fair_share, Some(3.0));
        assert!(s.starved.is_empty() && s.flooded.is_empty());
    }

    #[test]
    fn an_agent_far_below_the_mean_while_others_are_above_is_starved() {
        let busy: Vec<i64> = (0..8).map(|i| 5 + i * 15).collect();
        let (agents, s) = measure(
            period(0, 120),
            at(120),
            vec![
                agent("a", 0, 120, &busy),
                agent("b", 0, 120, &busy),
                agent("c", 0, 120, &[60]),
            ],
        );
        // Mean (4 + 4 + 0.5) / 3 an hour; c's fair share is about 5.7 chats and it got one.
        assert_eq!(s.starved, ["c"]);
        assert_eq!(agents[2].flag, Some(Flag::Starved));
        assert!(s.flooded.is_empty());
    }

    #[test]
    fn an_early_bird_who_takes_the_rush_is_flooded() {
        let (_, s) = measure(
            period(0, 120),
            at(120),
            vec![
                agent("early", 0, 120, &[60, 62, 64, 66, 68, 70, 72, 74]),
                agent("b", 60, 120, &[90]),
                agent("c", 60, 120, &[]),
            ],
        );
        assert_eq!(s.flooded, ["early"]);
        // c got nothing, but their fair share at the mean is under two chats: not a flag.
        assert!(s.starved.is_empty(), "{:?}", s.starved);
    }

    #[test]
    fn nobody_is_starved_when_nobody_is_above_the_mean() {
        let (_, s) = measure(
            period(0, 240),
            at(240),
            vec![agent("a", 0, 240, &[]), agent("b", 0, 240, &[])],
        );
        assert_eq!(s.mean_assignments_per_hour, Some(0.0));
        assert_eq!(s.coefficient_of_variation, None);
        assert!(s.starved.is_empty() && s.flooded.is_empty());
    }

    #[test]
    fn an_empty_group_has_no_figures() {
        let (agents, s) = measure(period(0, 60), at(60), Vec::new());
        assert!(agents.is_empty());
        assert_eq!((s.agents, s.measured_agents, s.assignments), (0, 0, 0));
        assert_eq!(s.mean_assignments_per_hour, None);
        assert_eq!(s.pooled_assignments_per_hour, None);
        assert_eq!(s.coefficient_of_variation, None);
    }

    #[test]
    fn the_period_defaults_to_the_last_day_and_is_bounded() {
        let now = at(0);
        let p = Period::parse(None, None, now).unwrap();
        assert_eq!((p.from, p.to), (now - Duration::hours(24), now));
        let p = Period::parse(
            Some("2026-11-11T10:00:00+02:00"),
            Some("2026-11-11T09:00:00Z"),
            now,
        )
        .unwrap();
        assert_eq!((p.from, p.to), (at(0), at(60)));
        let p = Period::parse(None, Some("2026-11-11T09:00:00Z"), now).unwrap();
        assert_eq!(p.from, at(60) - Duration::hours(24));
        let field_codes = |e: FieldErrors| {
            let crate::error::AppError::Validation(list) = e.into() else {
                panic!("a validation error")
            };
            list.into_iter()
                .map(|f| (f.field, f.code))
                .collect::<Vec<_>>()
        };
        let err = Period::parse(Some("yesterday"), Some("2026-13-01T00:00:00Z"), now).unwrap_err();
        assert_eq!(
            field_codes(err),
            [
                ("from".to_owned(), "invalid_instant".to_owned()),
                ("to".to_owned(), "invalid_instant".to_owned())
            ]
        );
        // A naive time has no zone: refused rather than guessed.
        let err = Period::parse(Some("2026-11-11T08:00:00"), None, now).unwrap_err();
        assert_eq!(field_codes(err)[0].1, "invalid_instant");
        let err = Period::parse(
            Some("2026-11-11T09:00:00Z"),
            Some("2026-11-11T09:00:00Z"),
            now,
        )
        .unwrap_err();
        assert_eq!(
            field_codes(err),
            [("to".to_owned(), "period_inverted".to_owned())]
        );
        let err = Period::parse(Some("2026-10-01T00:00:00Z"), None, now).unwrap_err();
        assert_eq!(
            field_codes(err),
            [("from".to_owned(), "period_too_long".to_owned())]
        );
        let err = Period::parse(
            Some("2026-10-01T00:00:00Z"),
            Some("2026-11-01T00:00:01Z"),
            now,
        )
        .unwrap_err();
        assert_eq!(
            field_codes(err),
            [("to".to_owned(), "period_too_long".to_owned())]
        );
        // Exactly 31 days is allowed.
        assert!(
            Period::parse(
                Some("2026-10-01T00:00:00Z"),
                Some("2026-11-01T00:00:00Z"),
                now
            )
            .is_ok()
        );
    }

    #[test]
    fn rows_sort_by_each_key_with_ties_by_id_and_page_after_an_agent() {
        let (agents, _) = measure(
            period(0, 120),
            at(120),
            vec![
                agent("a", 0, 120, &[10, 20]),
                agent("b", 0, 60, &[50]),
                agent("c", 0, 120, &[]),
                AgentRecord {
                    presence: Vec::new(),
                    ..agent("d", 0, 120, &[])
                },
            ],
        );
        let order = |s: &str| {
            let mut rows = agents.clone();
            sort(&mut rows, Sort::parse(s).unwrap());
            rows.into_iter().map(|r| r.agent_id).collect::<Vec<_>>()
        };
        // Rates: a 1, b 1, c 0, d none (never available: last either way).
        assert_eq!(order("rate"), ["c", "a", "b", "d"]);
        assert_eq!(order("-rate"), ["a", "b", "c", "d"]);
        assert_eq!(order("available"), ["d", "b", "a", "c"]);
        // Since the last chat: a 100 minutes, b 70, c and d never (longest).
        assert_eq!(order("-since_last_assignment"), ["c", "d", "a", "b"]);
        assert_eq!(order("since_last_assignment"), ["b", "a", "c", "d"]);
        assert_eq!(Sort::parse("name").unwrap_err().code, "unknown_value");
        let mut rows = agents.clone();
        sort(&mut rows, Sort::default());
        let rest = after(rows.clone(), Some("a")).unwrap();
        assert_eq!(
            rest.iter().map(|r| r.agent_id.as_str()).collect::<Vec<_>>(),
            ["b", "d"]
        );
        assert_eq!(after(rows.clone(), None).unwrap().len(), 4);
        assert!(after(rows, Some("zz")).is_none());
    }

    // ---- properties ----

    fn arb_spans() -> impl Strategy<Value = Vec<Span>> {
        prop::collection::vec((-60i64..600, 1i64..240), 0..5)
            .prop_map(|v| v.into_iter().map(|(s, len)| span(s, s + len)).collect())
    }

    fn arb_presence() -> impl Strategy<Value = Presence> {
        prop_oneof![
            Just(Presence::Online),
            Just(Presence::Away),
            Just(Presence::Offline)
        ]
    }

    fn arb_outcome() -> impl Strategy<Value = OfferOutcome> {
        prop_oneof![
            3 => Just(OfferOutcome::Accepted),
            1 => Just(OfferOutcome::Declined),
            1 => Just(OfferOutcome::TimedOut),
            1 => Just(OfferOutcome::Withdrawn),
            1 => Just(OfferOutcome::Open),
        ]
    }

    fn arb_record(id: usize) -> impl Strategy<Value = AgentRecord> {
        (
            prop::collection::vec((-120i64..600, arb_presence()), 0..8),
            arb_spans(),
            prop::collection::vec((-60i64..600, arb_outcome()), 0..20),
            prop::collection::vec(-60i64..600, 0..3),
            prop::option::of(-600i64..600),
        )
            .prop_map(
                move |(presence, checked_in, offers, takebacks, last)| AgentRecord {
                    agent_id: format!("agent-{id:02}"),
                    display_name: format!("Agent {id}"),
                    presence: presence.into_iter().map(|(m, p)| (at(m), p)).collect(),
                    checked_in,
                    offers: offers
                        .into_iter()
                        .map(|(m, outcome)| Offer { at: at(m), outcome })
                        .collect(),
                    takebacks: takebacks.into_iter().map(at).collect(),
                    last_assigned_at: last.map(at),
                },
            )
    }

    fn arb_group() -> impl Strategy<Value = Vec<AgentRecord>> {
        (0usize..7).prop_flat_map(|n| (0..n).map(arb_record).collect::<Vec<_>>())
    }

    fn arb_period() -> impl Strategy<Value = (Period, NaiveDateTime)> {
        (0i64..300, 1i64..400, 0i64..700)
            .prop_map(|(from, len, now)| (period(from, from + len), at(now)))
    }

    proptest! {
        #[test]
        fn available_time_never_exceeds_the_period_or_the_checked_in_time(
            group in arb_group(),
            (p, now) in arb_period(),
        ) {
            let measured = p.measured(now).map_or(0, |w| w.secs());
            let (agents, summary) = measure(p, now, group.clone());
            for (a, record) in agents.iter().zip(&group) {
                prop_assert!(a.available_secs >= 0);
                prop_assert!(a.available_secs <= measured);
                let checked: i64 = p.measured(now).map_or(0, |w| {
                    total_secs(&intersect(&union(record.checked_in.clone()), &[w]))
                });
                prop_assert!(a.available_secs <= checked);
                prop_assert!(a.longest_wait_secs <= a.available_secs);
                prop_assert!(a.assignments <= a.offers);
                prop_assert!(a.assignments + a.declines + a.timeouts <= a.offers);
                prop_assert!(a.secs_since_last_assignment.is_none_or(|s| s >= 0));
                if let Some(rate) = a.assignments_per_hour {
                    prop_assert!(rate >= 0.0 && rate.is_finite());
                }
            }
            prop_assert!(summary.available_secs <= measured * group.len() as i64);
        }

        #[test]
        fn totals_add_up(group in arb_group(), (p, now) in arb_period()) {
            let (agents, s) = measure(p, now, group);
            prop_assert_eq!(s.agents, agents.len());
            prop_assert_eq!(s.assignments, agents.iter().map(|a| a.assignments).sum::<u32>());
            prop_assert_eq!(s.offers, agents.iter().map(|a| a.offers).sum::<u32>());
            prop_assert_eq!(s.declines, agents.iter().map(|a| a.declines).sum::<u32>());
            prop_assert_eq!(s.timeouts, agents.iter().map(|a| a.timeouts).sum::<u32>());
            prop_assert_eq!(s.takebacks, agents.iter().map(|a| a.takebacks).sum::<u32>());
            prop_assert_eq!(s.available_secs, agents.iter().map(|a| a.available_secs).sum::<i64>());
            prop_assert_eq!(s.measured_agents, agents.iter().filter(|a| a.measured).count());
            if let (Some(min), Some(mean), Some(max)) =
                (s.min_assignments_per_hour, s.mean_assignments_per_hour, s.max_assignments_per_hour)
            {
                prop_assert!(min <= mean + 1e-9 && mean <= max + 1e-9);
            }
        }

        #[test]
        fn the_order_of_the_agents_changes_nothing(
            group in arb_group(),
            (p, now) in arb_period(),
            seed in any::<u64>(),
        ) {
            let mut shuffled = group.clone();
            // A deterministic shuffle from the seed (Fisher-Yates with a small LCG).
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(measure(p, now, group), measure(p, now, shuffled));
        }

        #[test]
        fn flags_need_a_measured_agent_and_starving_needs_someone_above_the_mean(
            group in arb_group(),
            (p, now) in arb_period(),
        ) {
            let (agents, s) = measure(p, now, group);
            for a in &agents {
                if a.flag.is_some() {
                    prop_assert!(a.measured);
                }
            }
            if !s.starved.is_empty() {
                let mean = s.mean_assignments_per_hour.unwrap();
                prop_assert!(agents.iter().any(|a| a.measured
                    && a.assignments_per_hour.is_some_and(|r| r > mean)
                    && !s.starved.contains(&a.agent_id)));
            }
            prop_assert!(s.starved.iter().all(|id| !s.flooded.contains(id)));
        }

        #[test]
        fn span_algebra_matches_minute_by_minute_counting(
            a in arb_spans(),
            b in arb_spans(),
        ) {
            let covered = |spans: &[Span], m: i64| spans.iter().any(|s| s.contains(at(m)));
            let (ua, ub) = (union(a.clone()), union(b.clone()));
            let both = intersect(&ua, &ub);
            for w in both.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
            let minutes = (-60..900).filter(|&m| covered(&a, m) && covered(&b, m)).count() as i64;
            prop_assert_eq!(total_secs(&both), minutes * 60);
        }
    }
}
