//! The agent activity timeline (issue 8): for every agent and local day, when they were
//! offline, away, online without a chat or online in chats, when they were on a shift (and
//! whose), and the hours worked per shop. Pay, adherence and churn are built on this record,
//! so every second of a day is accounted for exactly once. Pure: the caller loads the
//! history ([`super::timeline_store`]) and calls [`timeline`] or [`worked_hours`].
//!
//! # Definitions
//! - **Day**: the agent's local calendar day (their account's time zone; the market's for a
//!   shop's report), from local midnight to the next, so 23 or 25 hours on a DST change.
//!   Only the part of a day up to `now` is recorded: the rest has not happened yet.
//! - **Presence**: the status set by the last presence change at or before an instant
//!   (`presence_events`, the current `agent_presence` row included); offline before the
//!   first one. The same reading as the fairness report ([`fairness::status_spans`]).
//! - **Holding a chat**: from the agent's accepting it (`accepted`, `auto_accepted`, a
//!   transfer received included) to its close, transfer away or take-back; a chat still
//!   held counts up to `now`.
//! - **Worked** (on shift): a checked-in shift assignment from its check-in to its
//!   check-out (or the assignment's end), clipped to the shift's scheduled times: an early
//!   check-in does not start billable time and a late check-out does not extend it. A shift
//!   still checked in counts up to `now`. This is what a shop is billed against.
//! - **Segments**: the day cut wherever the state or being on shift changes. A segment's
//!   state is `offline`, `away`, `online_idle` (online, no chat held) or `online_in_chats`
//!   (online, at least one chat held); a chat held while away or offline shows as away or
//!   offline.
//! - **Totals** of a day: online (idle and in chats), away, offline, on shift (overlapping
//!   shifts count once), in chats (online with a chat), idle (online, on shift and no chat:
//!   paid time without work) — each the sum of its segments. **Worked per shop**: each
//!   shop's worked time in the day (an agent on two shops' shifts at once works for both).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::merchant_dash::parse_day;
use crate::chat::fairness::{self, Presence, Span};
use crate::error::{AppError, FieldErrors};
use crate::shifts::claim::local_midnight;

/// The most days one report covers.
pub const MAX_DAYS: i64 = 92;
/// The days a report covers when none are asked for: the last seven, today included.
pub const DEFAULT_DAYS: i64 = 7;

/// Chat events that make the chat the agent's.
pub const HOLD_STARTS: [&str; 2] = ["accepted", "auto_accepted"];
/// Chat events that end the holder's hold.
pub const HOLD_ENDS: [&str; 3] = ["closed", "taken_back", "transferred"];

/// The range of days asked for: `YYYY-MM-DD` each, `to` included; by default the last
/// [`DEFAULT_DAYS`] up to `today`. `invalid_date` names the field; an inverted range
/// (`period_inverted`) or one over [`MAX_DAYS`] (`period_too_long`) is reported on `to`.
pub fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    let mut errors = FieldErrors::new();
    let from = errors.check("from", parse_day(from));
    let to = errors.check("to", parse_day(to));
    let (Some(from), Some(to)) = (from, to) else {
        return Err(errors.into());
    };
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    if to < from {
        return Err(AppError::field(
            "to",
            "period_inverted",
            "`to` must be on or after `from`",
        ));
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(AppError::field(
            "to",
            "period_too_long",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// Each day of `from..=to` with its UTC window, midnight to midnight in `zone`.
pub fn day_windows(zone: Tz, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, Span)> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter_map(|d| {
            let next = d.succ_opt()?;
            Span::new(local_midnight(zone, d), local_midnight(zone, next)).map(|s| (d, s))
        })
        .collect()
}

/// A checked-in shift assignment as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub shift_id: String,
    pub agent_id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub shift_start: NaiveDateTime,
    pub shift_end: NaiveDateTime,
    pub checked_in_at: NaiveDateTime,
    pub checked_out_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
}

/// Worked time on one shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worked {
    pub shift_id: String,
    pub agent_id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub span: Span,
}

/// The worked time of an assignment (see the notes); `None` when there is none (a check-in
/// after the shift, or a shift not started by `now`).
pub fn worked(a: &Assignment, now: NaiveDateTime) -> Option<Worked> {
    let left = [a.checked_out_at, a.ended_at].into_iter().flatten().min();
    let end = left.unwrap_or(now).min(a.shift_end);
    let span = Span::new(a.checked_in_at.max(a.shift_start), end)?;
    Some(Worked {
        shift_id: a.shift_id.clone(),
        agent_id: a.agent_id.clone(),
        merchant_id: a.merchant_id.clone(),
        merchant_name: a.merchant_name.clone(),
        span,
    })
}

/// A chat event that starts or ends the agent's hold on a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldEvent {
    /// The event's id: orders events at the same instant as they were written.
    pub id: String,
    pub chat_id: String,
    pub merchant_id: String,
    pub at: NaiveDateTime,
    pub starts: bool,
}

impl HoldEvent {
    /// `None` for kinds that neither start nor end a hold.
    pub fn starts(kind: &str) -> Option<bool> {
        if HOLD_STARTS.contains(&kind) {
            Some(true)
        } else if HOLD_ENDS.contains(&kind) {
            Some(false)
        } else {
            None
        }
    }
}

/// A time the agent held a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub chat_id: String,
    pub merchant_id: String,
    pub span: Span,
}

/// The agent's holds from their hold events (in any order): each start paired with the
/// chat's next end; a start with no end yet is held up to `now`. An end without a start
/// (a chat closed while only offered) and a second start while held are ignored.
pub fn holds(mut events: Vec<HoldEvent>, now: NaiveDateTime) -> Vec<Hold> {
    events.sort_by(|a, b| (&a.chat_id, a.at, &a.id).cmp(&(&b.chat_id, b.at, &b.id)));
    let mut out = Vec::new();
    let mut open: Option<&HoldEvent> = None;
    for (i, e) in events.iter().enumerate() {
        if open.is_some_and(|o| o.chat_id != e.chat_id) {
            open = None;
        }
        match (open, e.starts) {
            (None, true) => open = Some(e),
            (Some(o), false) => {
                out.extend(Span::new(o.at, e.at).map(|span| Hold {
                    chat_id: o.chat_id.clone(),
                    merchant_id: o.merchant_id.clone(),
                    span,
                }));
                open = None;
            }
            _ => {}
        }
        let last_of_chat = events.get(i + 1).is_none_or(|n| n.chat_id != e.chat_id);
        if let (true, Some(o)) = (last_of_chat, open) {
            out.extend(Span::new(o.at, now.max(o.at)).map(|span| Hold {
                chat_id: o.chat_id.clone(),
                merchant_id: o.merchant_id.clone(),
                span,
            }));
            open = None;
        }
    }
    out.sort_by(|a, b| (a.span, &a.chat_id).cmp(&(b.span, &b.chat_id)));
    out
}

/// What a segment of the day was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Offline,
    Away,
    OnlineIdle,
    OnlineInChats,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Offline => "offline",
            State::Away => "away",
            State::OnlineIdle => "online_idle",
            State::OnlineInChats => "online_in_chats",
        }
    }
}

/// A stretch of a day in one state, on or off shift throughout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Segment {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub secs: i64,
    pub state: State,
    pub on_shift: bool,
}

/// Worked time on one shift within a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShiftSpan {
    pub shift_id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub secs: i64,
}

/// Worked seconds for one shop.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MerchantWorked {
    pub merchant_id: String,
    pub merchant_name: String,
    pub worked_secs: i64,
    /// Worked hours, two decimals.
    pub worked_hours: f64,
}

/// A day's (or a range's) totals in seconds; each is a sum of segments (see the notes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    pub online_secs: i64,
    pub away_secs: i64,
    pub offline_secs: i64,
    pub on_shift_secs: i64,
    pub in_chats_secs: i64,
    /// Online, on shift and holding no chat.
    pub idle_secs: i64,
}

impl Totals {
    fn add_segment(&mut self, s: &Segment) {
        match s.state {
            State::Offline => self.offline_secs += s.secs,
            State::Away => self.away_secs += s.secs,
            State::OnlineIdle => {
                self.online_secs += s.secs;
                if s.on_shift {
                    self.idle_secs += s.secs;
                }
            }
            State::OnlineInChats => {
                self.online_secs += s.secs;
                self.in_chats_secs += s.secs;
            }
        }
        if s.on_shift {
            self.on_shift_secs += s.secs;
        }
    }

    fn add(&mut self, o: &Totals) {
        self.online_secs += o.online_secs;
        self.away_secs += o.away_secs;
        self.offline_secs += o.offline_secs;
        self.on_shift_secs += o.on_shift_secs;
        self.in_chats_secs += o.in_chats_secs;
        self.idle_secs += o.idle_secs;
    }
}

/// One local day of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Day {
    pub date: NaiveDate,
    /// Local midnight, in UTC.
    pub start: DateTime<Utc>,
    /// The next local midnight, in UTC (23 or 25 hours later on a DST change).
    pub end: DateTime<Utc>,
    /// The part of the day recorded: up to now (0 for a day to come).
    pub recorded_secs: i64,
    /// In order, partitioning the recorded part of the day.
    pub segments: Vec<Segment>,
    pub shifts: Vec<ShiftSpan>,
    pub totals: Totals,
    pub worked: Vec<MerchantWorked>,
}

/// What the timeline is computed from; anything outside the range is ignored (except the
/// presence change in force at its start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Presence changes in any order: at least the last one before the range and every one
    /// within it.
    pub presence: Vec<(NaiveDateTime, Presence)>,
    pub worked: Vec<Worked>,
    pub holds: Vec<Hold>,
}

/// Whether sorted, disjoint `spans` cover `at`.
fn covers(spans: &[Span], at: NaiveDateTime) -> bool {
    let i = spans.partition_point(|s| s.end <= at);
    spans.get(i).is_some_and(|s| s.start <= at)
}

/// Seconds as hours, two decimals.
pub fn hours(secs: i64) -> f64 {
    (secs as f64 / 36.0).round() / 100.0
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Worked seconds per shop within `window`, by shop id.
fn worked_per_merchant(worked: &[Worked], window: Span) -> Vec<MerchantWorked> {
    let mut by: BTreeMap<&str, (&str, Vec<Span>)> = BTreeMap::new();
    for w in worked {
        if let Some(s) = Span::new(w.span.start.max(window.start), w.span.end.min(window.end)) {
            by.entry(&w.merchant_id)
                .or_insert((&w.merchant_name, Vec::new()))
                .1
                .push(s);
        }
    }
    by.into_iter()
        .map(|(id, (name, spans))| {
            let secs = fairness::union(spans).iter().map(Span::secs).sum();
            MerchantWorked {
                merchant_id: id.to_owned(),
                merchant_name: name.to_owned(),
                worked_secs: secs,
                worked_hours: hours(secs),
            }
        })
        .collect()
}

/// One day, recorded over `window` (the day up to now), with the day's full `bounds`.
fn day(date: NaiveDate, bounds: Span, now: NaiveDateTime, history: &History) -> Day {
    let mut out = Day {
        date,
        start: utc(bounds.start),
        end: utc(bounds.end),
        recorded_secs: 0,
        segments: Vec::new(),
        shifts: Vec::new(),
        totals: Totals::default(),
        worked: Vec::new(),
    };
    let Some(window) = Span::new(bounds.start, bounds.end.min(now)) else {
        return out;
    };
    out.recorded_secs = window.secs();
    let status = fairness::status_spans(&history.presence, window);
    let clip = |spans: Vec<Span>| fairness::intersect(&fairness::union(spans), &[window]);
    let chats = clip(history.holds.iter().map(|h| h.span).collect());
    let shifts = clip(history.worked.iter().map(|w| w.span).collect());
    let mut cuts: Vec<NaiveDateTime> = vec![window.start, window.end];
    for s in status
        .iter()
        .map(|(s, _)| s)
        .chain(chats.iter())
        .chain(shifts.iter())
    {
        cuts.extend([s.start, s.end]);
    }
    cuts.sort();
    cuts.dedup();
    let mut presence = status.iter().peekable();
    for pair in cuts.windows(2) {
        let Some(piece) = Span::new(pair[0], pair[1]) else {
            continue;
        };
        while presence.next_if(|(s, _)| s.end <= piece.start).is_some() {}
        let p = presence.peek().map_or(Presence::Offline, |(_, p)| *p);
        let state = match p {
            Presence::Offline => State::Offline,
            Presence::Away => State::Away,
            Presence::Online if covers(&chats, piece.start) => State::OnlineInChats,
            Presence::Online => State::OnlineIdle,
        };
        let on_shift = covers(&shifts, piece.start);
        match out.segments.last_mut() {
            Some(last) if last.state == state && last.on_shift == on_shift => {
                last.end = utc(piece.end);
                last.secs += piece.secs();
            }
            _ => out.segments.push(Segment {
                start: utc(piece.start),
                end: utc(piece.end),
                secs: piece.secs(),
                state,
                on_shift,
            }),
        }
    }
    for s in &out.segments {
        out.totals.add_segment(s);
    }
    let mut worked: Vec<&Worked> = history.worked.iter().collect();
    worked.sort_by(|a, b| (a.span, &a.shift_id).cmp(&(b.span, &b.shift_id)));
    out.shifts = worked
        .into_iter()
        .filter_map(|w| {
            let s = Span::new(w.span.start.max(window.start), w.span.end.min(window.end))?;
            Some(ShiftSpan {
                shift_id: w.shift_id.clone(),
                merchant_id: w.merchant_id.clone(),
                merchant_name: w.merchant_name.clone(),
                start: utc(s.start),
                end: utc(s.end),
                secs: s.secs(),
            })
        })
        .collect();
    out.worked = worked_per_merchant(&history.worked, window);
    out
}

fn whole(t: NaiveDateTime) -> NaiveDateTime {
    t.trunc_subsecs(0)
}

impl History {
    /// Every instant to the whole second, so that segments of whole seconds add up to the
    /// day exactly (the record keeps milliseconds).
    fn whole_seconds(&self) -> History {
        let span = |s: Span| Span::new(whole(s.start), whole(s.end));
        History {
            presence: self
                .presence
                .iter()
                .map(|(at, p)| (whole(*at), *p))
                .collect(),
            worked: self
                .worked
                .iter()
                .filter_map(|w| {
                    Some(Worked {
                        span: span(w.span)?,
                        ..w.clone()
                    })
                })
                .collect(),
            holds: self
                .holds
                .iter()
                .filter_map(|h| {
                    Some(Hold {
                        span: span(h.span)?,
                        ..h.clone()
                    })
                })
                .collect(),
        }
    }
}

/// The timeline of `from..=to` in `zone`, one entry per day, in whole seconds.
pub fn timeline(
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    now: NaiveDateTime,
    history: &History,
) -> Vec<Day> {
    let history = history.whole_seconds();
    day_windows(zone, from, to)
        .into_iter()
        .map(|(date, bounds)| day(date, bounds, whole(now), &history))
        .collect()
}

/// The totals of several days.
pub fn sum_totals(days: &[Day]) -> Totals {
    let mut t = Totals::default();
    for d in days {
        t.add(&d.totals);
    }
    t
}

/// Worked per shop over several days.
pub fn sum_worked(days: &[Day]) -> Vec<MerchantWorked> {
    let mut by: BTreeMap<String, MerchantWorked> = BTreeMap::new();
    for w in days.iter().flat_map(|d| &d.worked) {
        let e = by
            .entry(w.merchant_id.clone())
            .or_insert_with(|| MerchantWorked {
                worked_secs: 0,
                worked_hours: 0.0,
                ..w.clone()
            });
        e.worked_secs += w.worked_secs;
        e.worked_hours = hours(e.worked_secs);
    }
    by.into_values().collect()
}

/// Worked seconds on one day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DayWorked {
    pub date: NaiveDate,
    pub worked_secs: i64,
    /// Two decimals.
    pub worked_hours: f64,
}

/// One agent's worked time for a shop.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentWorked {
    pub agent_id: String,
    pub display_name: String,
    /// The days with worked time, in order.
    pub days: Vec<DayWorked>,
    pub worked_secs: i64,
    pub worked_hours: f64,
}

/// Worked time on one shop's shifts per agent and day, in `zone`; agents by name, then id.
/// `names` maps agent ids to the names shown.
pub fn worked_hours(
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    worked: &[Worked],
    names: &BTreeMap<String, String>,
) -> (Vec<AgentWorked>, Vec<DayWorked>) {
    let days = day_windows(zone, from, to);
    let mut by_agent: BTreeMap<&str, Vec<&Worked>> = BTreeMap::new();
    for w in worked {
        by_agent.entry(&w.agent_id).or_default().push(w);
    }
    let mut per_day = vec![0i64; days.len()];
    let mut agents: Vec<AgentWorked> = Vec::new();
    for (agent, list) in by_agent {
        let spans = fairness::union(list.iter().map(|w| w.span).collect());
        let mut out_days = Vec::new();
        for (i, (date, window)) in days.iter().enumerate() {
            let secs: i64 = fairness::intersect(&spans, &[*window])
                .iter()
                .map(Span::secs)
                .sum();
            if secs > 0 {
                per_day[i] += secs;
                out_days.push(DayWorked {
                    date: *date,
                    worked_secs: secs,
                    worked_hours: hours(secs),
                });
            }
        }
        let total: i64 = out_days.iter().map(|d| d.worked_secs).sum();
        if total > 0 {
            agents.push(AgentWorked {
                agent_id: agent.to_owned(),
                display_name: names.get(agent).cloned().unwrap_or_default(),
                days: out_days,
                worked_secs: total,
                worked_hours: hours(total),
            });
        }
    }
    agents.sort_by(|a, b| (&a.display_name, &a.agent_id).cmp(&(&b.display_name, &b.agent_id)));
    let totals = days
        .iter()
        .zip(per_day)
        .map(|((date, _), secs)| DayWorked {
            date: *date,
            worked_secs: secs,
            worked_hours: hours(secs),
        })
        .collect();
    (agents, totals)
}

/// A chat an agent held for a shop on a day, for the worked-hours drill-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WorkedChat {
    pub chat_id: String,
    /// When the agent first took the chat.
    pub started_at: DateTime<Utc>,
    /// When the chat closed; none while it is open.
    pub closed_at: Option<DateTime<Utc>>,
    /// The time this agent held it, all holds together (transfers split a chat).
    pub handle_secs: i64,
    /// The customer's rating, 1 to 5.
    pub rating: Option<i32>,
}

/// A chat's close time and rating, by chat id.
pub type ChatOutcomes = BTreeMap<String, (Option<NaiveDateTime>, Option<i32>)>;

/// The chats among `holds` the agent held at some time within `window`, by start;
/// `chats` gives each chat's close and rating.
pub fn chats_held(holds: &[Hold], window: Span, chats: &ChatOutcomes) -> Vec<WorkedChat> {
    let mut by: BTreeMap<&str, (NaiveDateTime, i64, bool)> = BTreeMap::new();
    for h in holds {
        let in_window = h.span.start < window.end && window.start < h.span.end;
        let e = by.entry(&h.chat_id).or_insert((h.span.start, 0, false));
        e.0 = e.0.min(h.span.start);
        e.1 += h.span.secs();
        e.2 |= in_window;
    }
    let mut out: Vec<WorkedChat> = by
        .into_iter()
        .filter(|(_, (_, _, seen))| *seen)
        .map(|(id, (start, secs, _))| {
            let (closed, rating) = chats.get(id).copied().unwrap_or((None, None));
            WorkedChat {
                chat_id: id.to_owned(),
                started_at: utc(start),
                closed_at: closed.map(utc),
                handle_secs: secs,
                rating,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.started_at, &a.chat_id).cmp(&(b.started_at, &b.chat_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn span(a: &str, b: &str) -> Span {
        Span::new(t(a), t(b)).unwrap()
    }

    fn work(merchant: &str, shift: &str, s: Span) -> Worked {
        Worked {
            shift_id: shift.into(),
            agent_id: "a".into(),
            merchant_id: merchant.into(),
            merchant_name: format!("Shop {merchant}"),
            span: s,
        }
    }

    fn hold(chat: &str, s: Span) -> Hold {
        Hold {
            chat_id: chat.into(),
            merchant_id: "m1".into(),
            span: s,
        }
    }

    #[test]
    fn range_defaults_to_the_last_week_and_is_checked() {
        let today = d("2026-12-05");
        assert_eq!(
            parse_range(None, None, today).unwrap(),
            (d("2026-11-29"), today)
        );
        assert_eq!(
            parse_range(Some("2026-12-01"), Some("2026-12-01"), today).unwrap(),
            (d("2026-12-01"), d("2026-12-01"))
        );
        let code = |r: Result<_, AppError>| match r {
            Err(AppError::Validation(errors)) => errors
                .iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect::<Vec<_>>()
                .join(","),
            other => format!("{other:?}"),
        };
        assert_eq!(
            code(parse_range(Some("2026-13-01"), Some("x"), today)),
            "from:invalid_date,to:invalid_date"
        );
        assert_eq!(
            code(parse_range(Some("2026-12-02"), Some("2026-12-01"), today)),
            "to:period_inverted"
        );
        // 92 days is the limit; 93 is too many.
        assert!(parse_range(Some("2026-01-01"), Some("2026-04-02"), today).is_ok());
        assert_eq!(
            code(parse_range(Some("2026-01-01"), Some("2026-04-03"), today)),
            "to:period_too_long"
        );
    }

    #[test]
    fn worked_time_is_clipped_to_the_shift_and_to_now() {
        let a = Assignment {
            shift_id: "s".into(),
            agent_id: "a".into(),
            merchant_id: "m".into(),
            merchant_name: "M".into(),
            shift_start: t("2026-12-01 09:00"),
            shift_end: t("2026-12-01 13:00"),
            checked_in_at: t("2026-12-01 08:50"),
            checked_out_at: Some(t("2026-12-01 13:20")),
            ended_at: Some(t("2026-12-01 13:20")),
        };
        assert_eq!(
            worked(&a, t("2026-12-02 00:00")).unwrap().span,
            span("2026-12-01 09:00", "2026-12-01 13:00")
        );
        let open = Assignment {
            checked_in_at: t("2026-12-01 09:10"),
            checked_out_at: None,
            ended_at: None,
            ..a.clone()
        };
        assert_eq!(
            worked(&open, t("2026-12-01 11:00")).unwrap().span,
            span("2026-12-01 09:10", "2026-12-01 11:00")
        );
        let early_out = Assignment {
            checked_out_at: Some(t("2026-12-01 10:30")),
            ..open.clone()
        };
        assert_eq!(
            worked(&early_out, t("2026-12-03 00:00")).unwrap().span,
            span("2026-12-01 09:10", "2026-12-01 10:30")
        );
        let late = Assignment {
            checked_in_at: t("2026-12-01 13:30"),
            ..open
        };
        assert_eq!(worked(&late, t("2026-12-03 00:00")), None);
    }

    fn ev(id: &str, chat: &str, at: &str, starts: bool) -> HoldEvent {
        HoldEvent {
            id: id.into(),
            chat_id: chat.into(),
            merchant_id: "m1".into(),
            at: t(at),
            starts,
        }
    }

    #[test]
    fn holds_pair_starts_with_the_next_end_and_run_to_now_while_open() {
        let now = t("2026-12-01 12:00");
        let got = holds(
            vec![
                ev("5", "c2", "2026-12-01 11:00", true),
                ev("2", "c1", "2026-12-01 10:20", false),
                ev("1", "c1", "2026-12-01 10:00", true),
                // Back to the same agent after a transfer, then closed.
                ev("3", "c1", "2026-12-01 10:40", true),
                ev("4", "c1", "2026-12-01 10:50", false),
                // Closed while only offered: no hold.
                ev("6", "c3", "2026-12-01 09:00", false),
            ],
            now,
        );
        assert_eq!(
            got,
            vec![
                hold("c1", span("2026-12-01 10:00", "2026-12-01 10:20")),
                hold("c1", span("2026-12-01 10:40", "2026-12-01 10:50")),
                hold("c2", span("2026-12-01 11:00", "2026-12-01 12:00")),
            ]
        );
    }

    #[test]
    fn a_hand_computed_day() {
        let zone: Tz = chrono_tz::Asia::Shanghai; // UTC+8, no DST
        // Local 2026-12-01 is 2026-11-30 16:00 to 2026-12-01 16:00 UTC.
        let history = History {
            presence: vec![
                (t("2026-11-30 20:00"), Presence::Offline),
                (t("2026-12-01 01:00"), Presence::Online),
                (t("2026-12-01 03:00"), Presence::Away),
                (t("2026-12-01 03:30"), Presence::Online),
                (t("2026-12-01 06:00"), Presence::Offline),
            ],
            worked: vec![work(
                "m1",
                "s1",
                span("2026-12-01 01:00", "2026-12-01 05:00"),
            )],
            holds: vec![
                hold("c1", span("2026-12-01 01:30", "2026-12-01 02:00")),
                hold("c2", span("2026-12-01 01:45", "2026-12-01 02:15")),
                // Held while away: shows as away.
                hold("c3", span("2026-12-01 02:50", "2026-12-01 03:10")),
            ],
        };
        let days = timeline(
            zone,
            d("2026-12-01"),
            d("2026-12-01"),
            t("2026-12-05 00:00"),
            &history,
        );
        assert_eq!(days.len(), 1);
        let day = &days[0];
        assert_eq!(day.recorded_secs, 24 * 3600);
        let got: Vec<(String, &str, bool)> = day
            .segments
            .iter()
            .map(|s| {
                (
                    s.start.format("%H:%M").to_string(),
                    s.state.as_str(),
                    s.on_shift,
                )
            })
            .collect();
        let want = [
            ("16:00", "offline", false),
            ("01:00", "online_idle", true),
            ("01:30", "online_in_chats", true),
            ("02:15", "online_idle", true),
            ("02:50", "online_in_chats", true),
            ("03:00", "away", true),
            ("03:30", "online_idle", true),
            ("05:00", "online_idle", false),
            ("06:00", "offline", false),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(a, b, c)| (a.to_string(), *b, *c))
                .collect::<Vec<_>>()
        );
        let m = 60;
        assert_eq!(
            day.totals,
            Totals {
                online_secs: (120 + 150) * m,
                away_secs: 30 * m,
                offline_secs: (9 * 60 + 10 * 60) * m,
                on_shift_secs: 240 * m,
                in_chats_secs: 55 * m,
                idle_secs: (30 + 35 + 90) * m,
            }
        );
        assert_eq!(day.worked.len(), 1);
        assert_eq!(day.worked[0].worked_secs, 4 * 3600);
        assert_eq!(day.worked[0].worked_hours, 4.0);
        assert_eq!(day.shifts.len(), 1);
    }

    #[test]
    fn dst_days_are_23_and_25_hours_and_split_at_local_midnight() {
        let zone: Tz = chrono_tz::Europe::Berlin;
        // 2026-03-29: clocks go forward (23 h); 2026-10-25: back (25 h).
        let online = History {
            presence: vec![(t("2026-01-01 00:00"), Presence::Online)],
            ..History::default()
        };
        let now = t("2027-01-01 00:00");
        let spring = timeline(zone, d("2026-03-28"), d("2026-03-30"), now, &online);
        let secs: Vec<i64> = spring.iter().map(|d| d.recorded_secs).collect();
        assert_eq!(secs, vec![24 * 3600, 23 * 3600, 24 * 3600]);
        // Local midnight of the 29th is 23:00 UTC on the 28th; of the 30th, 22:00 UTC.
        assert_eq!(spring[1].start.naive_utc(), t("2026-03-28 23:00"));
        assert_eq!(spring[1].end.naive_utc(), t("2026-03-29 22:00"));
        assert_eq!(spring[1].totals.online_secs, 23 * 3600);
        let autumn = timeline(zone, d("2026-10-25"), d("2026-10-25"), now, &online);
        assert_eq!(autumn[0].recorded_secs, 25 * 3600);
        assert_eq!(autumn[0].totals.online_secs, 25 * 3600);
    }

    #[test]
    fn only_the_past_is_recorded() {
        let zone: Tz = chrono_tz::UTC;
        let days = timeline(
            zone,
            d("2026-12-01"),
            d("2026-12-03"),
            t("2026-12-02 06:00"),
            &History::default(),
        );
        let secs: Vec<i64> = days.iter().map(|d| d.recorded_secs).collect();
        assert_eq!(secs, vec![86400, 6 * 3600, 0]);
        assert!(days[2].segments.is_empty());
        assert_eq!(days[1].totals.offline_secs, 6 * 3600);
    }

    #[test]
    fn worked_hours_per_agent_and_day_in_the_zone() {
        let zone: Tz = chrono_tz::Asia::Shanghai;
        let mut b = work("m1", "s2", span("2026-12-01 15:00", "2026-12-01 17:00"));
        b.agent_id = "b".into();
        let list = vec![
            work("m1", "s1", span("2026-12-01 01:00", "2026-12-01 03:30")),
            b,
        ];
        let names = BTreeMap::from([
            ("a".to_owned(), "Zed".to_owned()),
            ("b".to_owned(), "Amy".to_owned()),
        ]);
        let (agents, days) = worked_hours(zone, d("2026-12-01"), d("2026-12-02"), &list, &names);
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].display_name, "Amy");
        // 15:00-16:00 UTC is 23:00-24:00 on the 1st, 16:00-17:00 is 00:00-01:00 on the 2nd.
        assert_eq!(
            agents[0]
                .days
                .iter()
                .map(|d| (d.date, d.worked_secs))
                .collect::<Vec<_>>(),
            vec![(d("2026-12-01"), 3600), (d("2026-12-02"), 3600)]
        );
        assert_eq!(agents[1].worked_secs, 9000);
        assert_eq!(agents[1].worked_hours, 2.5);
        assert_eq!(
            days.iter().map(|d| d.worked_secs).collect::<Vec<_>>(),
            vec![9000 + 3600, 3600]
        );
    }

    #[test]
    fn drill_down_lists_chats_held_within_the_day() {
        let chats = BTreeMap::from([("c1".to_owned(), (Some(t("2026-12-01 10:50")), Some(5)))]);
        let list = vec![
            hold("c1", span("2026-12-01 10:00", "2026-12-01 10:20")),
            hold("c1", span("2026-12-01 10:40", "2026-12-01 10:50")),
            hold("c2", span("2026-12-02 10:40", "2026-12-02 10:50")),
        ];
        let got = chats_held(&list, span("2026-12-01 00:00", "2026-12-02 00:00"), &chats);
        assert_eq!(
            got,
            vec![WorkedChat {
                chat_id: "c1".into(),
                started_at: utc(t("2026-12-01 10:00")),
                closed_at: Some(utc(t("2026-12-01 10:50"))),
                handle_secs: 1800,
                rating: Some(5),
            }]
        );
    }

    fn arb_history() -> impl Strategy<Value = History> {
        let base = t("2026-03-27 00:00");
        let at = move |m: i64| base + Duration::minutes(m);
        let presence =
            prop::collection::vec((0i64..7200, 0u8..3, 0i64..1000), 0..20).prop_map(move |v| {
                v.into_iter()
                    .map(|(m, p, ms)| {
                        (
                            at(m) + Duration::milliseconds(ms),
                            [Presence::Online, Presence::Away, Presence::Offline][p as usize],
                        )
                    })
                    .collect::<Vec<_>>()
            });
        let spans = move || {
            prop::collection::vec((0i64..7200, 1i64..600), 0..8).prop_map(move |v| {
                v.into_iter()
                    .filter_map(|(s, len)| Span::new(at(s), at(s + len)))
                    .collect::<Vec<_>>()
            })
        };
        (presence, spans(), spans()).prop_map(|(presence, w, h)| History {
            presence,
            worked: w
                .into_iter()
                .enumerate()
                .map(|(i, s)| work(if i % 2 == 0 { "m1" } else { "m2" }, &i.to_string(), s))
                .collect(),
            holds: h
                .into_iter()
                .enumerate()
                .map(|(i, s)| hold(&i.to_string(), s))
                .collect(),
        })
    }

    proptest! {
        /// Over a DST change: the segments of all days partition the recorded window
        /// exactly, never overlap, adjacent ones differ, and the totals are their sums.
        #[test]
        fn segments_partition_the_window_and_totals_add_up(
            history in arb_history(),
            now_min in 0i64..8000,
        ) {
            let zone: Tz = chrono_tz::Europe::Berlin;
            let now = t("2026-03-27 00:00") + Duration::minutes(now_min) + Duration::milliseconds(now_min % 997);
            let (from, to) = (d("2026-03-27"), d("2026-03-31"));
            let days = timeline(zone, from, to, now, &history);
            let start = local_midnight(zone, from);
            let end = local_midnight(zone, d("2026-04-01")).min(whole(now)).max(start);
            let mut cursor = start;
            for day in &days {
                prop_assert!(day.start.naive_utc() >= cursor || day.segments.is_empty());
                let mut sum = Totals::default();
                let mut prev: Option<&Segment> = None;
                for s in &day.segments {
                    prop_assert_eq!(s.start.naive_utc(), cursor);
                    prop_assert!(s.end > s.start);
                    prop_assert_eq!(s.secs, (s.end - s.start).num_seconds());
                    prop_assert!(s.start >= day.start && s.end <= day.end);
                    if let Some(p) = prev {
                        prop_assert!(p.state != s.state || p.on_shift != s.on_shift);
                    }
                    sum.add_segment(s);
                    cursor = s.end.naive_utc();
                    prev = Some(s);
                }
                prop_assert_eq!(sum, day.totals);
                let t = day.totals;
                prop_assert_eq!(
                    t.online_secs + t.away_secs + t.offline_secs,
                    day.recorded_secs
                );
                prop_assert!(t.idle_secs + t.in_chats_secs <= t.online_secs);
                prop_assert!(t.idle_secs <= t.on_shift_secs);
                // Each shop's worked time is at most the time on shift.
                for w in &day.worked {
                    prop_assert!(w.worked_secs <= t.on_shift_secs);
                }
            }
            prop_assert_eq!(cursor, end);
            // The days are local midnights apart, one of them 23 hours long.
            let lengths: Vec<i64> = days.iter().map(|d| (d.end - d.start).num_hours()).collect();
            prop_assert_eq!(lengths, vec![24, 24, 23, 24, 24]);
        }

        /// Worked hours by day add up to the union of each agent's shifts in the range.
        #[test]
        fn worked_hours_add_up(history in arb_history()) {
            let zone: Tz = chrono_tz::Europe::Berlin;
            let (from, to) = (d("2026-03-26"), d("2026-04-02"));
            let (agents, days) = worked_hours(zone, from, to, &history.worked, &BTreeMap::new());
            let all = fairness::union(history.worked.iter().map(|w| w.span).collect());
            let total: i64 = all.iter().map(Span::secs).sum();
            prop_assert_eq!(agents.iter().map(|a| a.worked_secs).sum::<i64>(), total);
            prop_assert_eq!(days.iter().map(|d| d.worked_secs).sum::<i64>(), total);
            for a in &agents {
                prop_assert_eq!(a.days.iter().map(|d| d.worked_secs).sum::<i64>(), a.worked_secs);
            }
        }
    }
}
