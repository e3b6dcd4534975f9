//! Agent churn and retention as pure functions of each agent's history: the moves into and
//! out of the certified pool (lifecycle events) and the days they worked a shift, all as
//! local dates in the market's zone (so a month is the market's month, whatever the zone
//! of the server or the viewer).
//!
//! Definitions:
//! - **in the pool** on a day: the agent's last pool move on or before that day (in event
//!   order, so a same-day leave and return ends in the pool) was a join (certification,
//!   reinstatement, return).
//! - **active** on a day: in the pool, and the agent worked a shift or joined the pool less
//!   than `inactive_after_days` days before (worked on the 1st with 30 days: active through
//!   the 30th, inactive from the 31st). Joining counts as activity, so a newly certified
//!   agent has the same time to take a first shift.
//! - an **exit** is the first day an agent is no longer active after an active spell: by
//!   the pool move of that day (its reason, e.g. `left`, `suspended`) or, without one,
//!   `inactive`. An **entry** is the first day of an active spell: `new` for the agent's
//!   first spell, `returning` for every later one (came back, or worked again after going
//!   inactive).
//! - **monthly churn rate**: of the agents active at the start of the month (at the end of
//!   its eve), the share with an exit during the month, even if they came back before it
//!   ended (they are counted as returning too, and listed as `left_and_returned`).
//!
//! Spells are computed once per agent ([`spells`]); every figure is interval arithmetic on
//! them, so two years of 20,000 agents is a pass over their spells per month asked.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

/// The reason given to an exit that no pool move explains.
pub const INACTIVE: &str = "inactive";

/// A move into or out of the certified pool on a local date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMove {
    pub day: NaiveDate,
    /// Into the pool (certified, reinstated, returned) or out of it.
    pub joined: bool,
    /// Why the agent went out (`left`, `suspended`, or the reason they gave); `None` for
    /// joins.
    pub reason: Option<String>,
}

/// What churn is computed from for one agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    pub agent_id: String,
    /// In the order they happened (ties on a day keep this order).
    pub moves: Vec<PoolMove>,
    /// The days a shift was worked, as inclusive ranges of local days (first, last), in any
    /// order, overlaps allowed: every day of a range counts as worked. One range per stretch
    /// of check-ins ([`stretches`]); a single day is `(day, day)`.
    pub worked: Vec<(NaiveDate, NaiveDate)>,
}

/// Check-ins less than this far apart are kept as one stretch ([`stretches`]).
pub const STRETCH_GAP: chrono::Duration = chrono::Duration::days(4);

/// The shortest inactivity limit (`inactive_after_days`) the rules accept: with it, reading
/// a stretch as every local day from its first check-in's to its last's gives the same
/// spells as its check-ins' days. Two consecutive check-ins of a stretch are less than 4
/// days apart in UTC, local clocks are between 12 hours behind and 14 hours ahead of UTC in
/// any zone, however it changes (Samoa skipped a day), so their local days are less than
/// 4 days + 26 hours + 1 day apart: at most 6. With at least 7 days' limit, the earlier
/// check-in keeps the agent active through the day of the next, so filling the days
/// between changes no spell, wherever `as_of`, a join or a leave falls (the property test
/// in `analytics::store` checks this for random check-ins, zones and limits).
pub const MIN_INACTIVE_AFTER_DAYS: u32 = 7;

/// The check-in instants (UTC, any order, repeats allowed) as stretches (first, last):
/// runs of check-ins each less than [`STRETCH_GAP`] after the one before, in order. This
/// is what the `work_stretches` table holds per agent (kept by triggers on
/// `shift_assignments`), so the churn report reads one row per stretch instead of one per
/// check-in.
pub fn stretches(
    instants: impl IntoIterator<Item = NaiveDateTime>,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut sorted: Vec<NaiveDateTime> = instants.into_iter().collect();
    sorted.sort_unstable();
    let mut out: Vec<(NaiveDateTime, NaiveDateTime)> = Vec::new();
    for t in sorted {
        match out.last_mut() {
            Some((_, last)) if t - *last < STRETCH_GAP => *last = t,
            _ => out.push((t, t)),
        }
    }
    out
}

/// A stretch of consecutive active days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spell {
    pub first: NaiveDate,
    /// The last active day; `None` while it lasts past `as_of`.
    pub last: Option<NaiveDate>,
    /// Why it ended (see the module notes); `None` while it lasts.
    pub exit_reason: Option<String>,
}

impl Spell {
    fn covers(&self, day: NaiveDate) -> bool {
        self.first <= day && self.last.is_none_or(|l| day <= l)
    }

    /// The first day no longer active, if the spell ended.
    fn exit_day(&self) -> Option<NaiveDate> {
        self.last.and_then(|l| l.succ_opt())
    }
}

/// The agent's active spells up to `as_of` (the last day with complete data), in order.
pub fn spells(history: &History, inactive_after_days: u32, as_of: NaiveDate) -> Vec<Spell> {
    let span = i64::from(inactive_after_days.max(1));
    let mut worked: Vec<(NaiveDate, NaiveDate)> = history
        .worked
        .iter()
        .filter(|(first, last)| *first <= as_of && first <= last)
        .map(|&(first, last)| (first, last.min(as_of)))
        .collect();
    worked.sort_unstable();
    worked.dedup();

    // Pool stints: [join day, leave day) with the leave's reason; the last move of a day
    // decides the agent's state at its end.
    let mut stints: Vec<(NaiveDate, Option<(NaiveDate, String)>)> = Vec::new();
    let mut open: Option<NaiveDate> = None;
    let moves: Vec<&PoolMove> = history.moves.iter().filter(|m| m.day <= as_of).collect();
    for (i, m) in moves.iter().enumerate() {
        let last_of_day = moves.get(i + 1).is_none_or(|next| next.day != m.day);
        match (m.joined, open) {
            (true, None) => {
                // A join later undone the same day opens no stint (see below).
                open = Some(m.day);
            }
            (false, Some(since)) => {
                let reason = m.reason.clone().unwrap_or_else(|| "left".to_owned());
                stints.push((since, Some((m.day, reason))));
                open = None;
            }
            _ => {}
        }
        // Out and back in on the same day is no gap at the end of that day: merge.
        if last_of_day
            && open == Some(m.day)
            && let Some((since, Some((left, _)))) = stints.last()
            && *left == m.day
        {
            open = Some(*since);
            stints.pop();
        }
    }
    if let Some(since) = open {
        stints.push((since, None));
    }

    let mut out: Vec<Spell> = Vec::new();
    for (join, leave) in stints {
        // Active days of the stint: join..leave (exclusive), or on to as_of.
        let end_excl = leave.as_ref().map(|(d, _)| *d);
        // Anchors: ranges of days that each keep the agent active, in order of their first
        // day; the join, then the worked days after it and before the leave.
        let after_join = join.succ_opt().unwrap_or(join);
        let before_leave = end_excl.and_then(|e| e.pred_opt());
        let anchors = std::iter::once((join, join)).chain(worked.iter().filter_map(|&(f, l)| {
            let f = f.max(after_join);
            let l = before_leave.map_or(l, |b| l.min(b));
            (f <= l).then_some((f, l))
        }));
        let mut current: Option<(NaiveDate, NaiveDate)> = None;
        let close = |first: NaiveDate, reach: NaiveDate, out: &mut Vec<Spell>| {
            // `reach`: the last day the anchors keep the agent active.
            let by_leave = end_excl.filter(|e| *e <= reach.succ_opt().unwrap_or(reach));
            let last = match by_leave {
                Some(e) => e.pred_opt().unwrap_or(e),
                None => reach,
            };
            if last < first {
                return;
            }
            if last >= as_of {
                out.push(Spell {
                    first,
                    last: None,
                    exit_reason: None,
                });
                return;
            }
            let reason = match (&leave, by_leave) {
                (Some((_, reason)), Some(_)) => reason.clone(),
                _ => INACTIVE.to_owned(),
            };
            out.push(Spell {
                first,
                last: Some(last),
                exit_reason: Some(reason),
            });
        };
        for (a, b) in anchors {
            if end_excl.is_some_and(|e| a >= e) {
                break;
            }
            let reach = b + chrono::Duration::days(span - 1);
            current = match current {
                // Still active the day before this anchor: the spell goes on.
                Some((first, r)) if a <= r.succ_opt().unwrap_or(r) => Some((first, r.max(reach))),
                Some((first, r)) => {
                    close(first, r, &mut out);
                    Some((a, reach))
                }
                None => Some((a, reach)),
            };
        }
        if let Some((first, reach)) = current {
            close(first, reach, &mut out);
        }
    }
    out
}

/// Whether the agent is active at the end of `day`.
pub fn active_on(spells: &[Spell], day: NaiveDate) -> bool {
    spells.iter().any(|s| s.covers(day))
}

/// The first day of the month `day` falls in.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    (first + Months::new(1)).pred_opt().unwrap_or(first)
}

/// One month's pool figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct MonthFigures {
    /// The month's first day.
    pub month: NaiveDate,
    /// Active at the end of the month's eve.
    pub active_at_start: u32,
    /// Active at the end of the month (or of `as_of`, in the current month).
    pub active_at_end: u32,
    /// Active at the start, with an exit during the month.
    pub churned: u32,
    /// Of those, active again at the end.
    pub left_and_returned: u32,
    /// Agents whose first active spell began in the month.
    pub new: u32,
    /// Agents with a later spell beginning in the month.
    pub returning: u32,
    /// `active_at_end - active_at_start`.
    pub net_change: i64,
    /// `churned / active_at_start` in basis points; `None` with nobody active at the start.
    pub churn_rate_bp: Option<u32>,
    /// Every exit in the month by reason (an agent may exit twice).
    pub exit_reasons: BTreeMap<String, u32>,
}

/// What one agent contributes to a month.
struct Contribution {
    at_start: bool,
    at_end: bool,
    churned: bool,
    new: bool,
    returning: bool,
}

fn contribution(
    spells: &[Spell],
    first: NaiveDate,
    last: NaiveDate,
    reasons: &mut BTreeMap<String, u32>,
) -> Contribution {
    let eve = first.pred_opt().unwrap_or(first);
    let at_start = active_on(spells, eve);
    let mut churned = false;
    let mut new = false;
    let mut returning = false;
    for (i, s) in spells.iter().enumerate() {
        if (first..=last).contains(&s.first) {
            if i == 0 {
                new = true;
            } else {
                returning = true;
            }
        }
        if s.exit_day().is_some_and(|d| (first..=last).contains(&d)) {
            if s.covers(eve) {
                churned = true;
            }
            if let Some(r) = &s.exit_reason {
                *reasons.entry(r.clone()).or_default() += 1;
            }
        }
    }
    Contribution {
        at_start,
        at_end: active_on(spells, last),
        churned,
        new,
        returning,
    }
}

fn figures<'a>(
    month: NaiveDate,
    as_of: NaiveDate,
    agents: impl Iterator<Item = &'a [Spell]>,
) -> MonthFigures {
    let first = month_of(month);
    let last = last_of_month(first).min(as_of);
    let mut f = MonthFigures {
        month: first,
        ..MonthFigures::default()
    };
    for spells in agents {
        let c = contribution(spells, first, last, &mut f.exit_reasons);
        f.active_at_start += u32::from(c.at_start);
        f.active_at_end += u32::from(c.at_end);
        f.churned += u32::from(c.churned);
        f.left_and_returned += u32::from(c.churned && c.at_end);
        f.new += u32::from(c.new);
        f.returning += u32::from(c.returning);
    }
    f.net_change = i64::from(f.active_at_end) - i64::from(f.active_at_start);
    f.churn_rate_bp = (f.active_at_start > 0).then(|| {
        u32::try_from(u64::from(f.churned) * 10_000 / u64::from(f.active_at_start))
            .unwrap_or(10_000)
    });
    f
}

/// Every agent's spells, by agent id.
pub fn all_spells(
    histories: &[History],
    inactive_after_days: u32,
    as_of: NaiveDate,
) -> BTreeMap<String, Vec<Spell>> {
    histories
        .iter()
        .map(|h| (h.agent_id.clone(), spells(h, inactive_after_days, as_of)))
        .collect()
}

/// The months from `from`'s to `to`'s (first days), in order; `to` is clipped to `as_of`.
pub fn months(from: NaiveDate, to: NaiveDate, as_of: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = month_of(from);
    let end = month_of(to.min(as_of));
    while m <= end {
        out.push(m);
        m = m + Months::new(1);
    }
    out
}

/// The pool figures of each month from `from` to `to`.
pub fn monthly(
    spells: &BTreeMap<String, Vec<Spell>>,
    from: NaiveDate,
    to: NaiveDate,
    as_of: NaiveDate,
) -> Vec<MonthFigures> {
    months(from, to, as_of)
        .into_iter()
        .map(|m| figures(m, as_of, spells.values().map(Vec::as_slice)))
        .collect()
}

/// The figures of each month per group; `group_of(agent, month)` names the groups the agent
/// is in for the month (skill, tenure band, pay band, quality band): none to leave the
/// agent out of that month, several (an agent certified in two skills) to count them in
/// each. Every group has one entry per month, in order (zeros where it had nobody).
pub fn monthly_by<F, G>(
    spells: &BTreeMap<String, Vec<Spell>>,
    from: NaiveDate,
    to: NaiveDate,
    as_of: NaiveDate,
    group_of: F,
) -> BTreeMap<String, Vec<MonthFigures>>
where
    F: Fn(&str, NaiveDate) -> G,
    G: IntoIterator<Item = String>,
{
    let months = months(from, to, as_of);
    let mut per_month: Vec<BTreeMap<String, MonthFigures>> = Vec::with_capacity(months.len());
    for &m in &months {
        let mut groups: BTreeMap<String, Vec<&[Spell]>> = BTreeMap::new();
        for (agent, s) in spells {
            for g in group_of(agent, m) {
                groups.entry(g).or_default().push(s.as_slice());
            }
        }
        per_month.push(
            groups
                .into_iter()
                .map(|(g, members)| (g, figures(m, as_of, members.into_iter())))
                .collect(),
        );
    }
    let names: std::collections::BTreeSet<String> = per_month
        .iter()
        .flat_map(|groups| groups.keys().cloned())
        .collect();
    names
        .into_iter()
        .map(|g| {
            let row = months
                .iter()
                .zip(per_month.iter_mut())
                .map(|(m, groups)| {
                    groups.remove(&g).unwrap_or_else(|| MonthFigures {
                        month: *m,
                        ..MonthFigures::default()
                    })
                })
                .collect();
            (g, row)
        })
        .collect()
}

/// Every exit of `months` by reason, added up.
pub fn exit_totals(months: &[MonthFigures]) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for m in months {
        for (reason, n) in &m.exit_reasons {
            *out.entry(reason.clone()).or_default() += n;
        }
    }
    out
}

/// Tenure band at `day`: whole months since the agent's first active day.
pub fn tenure_band(spells: &[Spell], day: NaiveDate) -> Option<&'static str> {
    let first = spells.first()?.first;
    if first > day {
        return None;
    }
    let months = (day.year() - first.year()) * 12 + day.month() as i32
        - first.month() as i32
        - i32::from(day.day() < first.day());
    Some(match months {
        ..1 => "0-1m",
        1..3 => "1-3m",
        3..6 => "3-6m",
        6..12 => "6-12m",
        _ => "12m+",
    })
}

/// One certification cohort's retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Cohort {
    /// The month of the agents' first active day.
    pub month: NaiveDate,
    pub size: u32,
    /// Agents active at the end of the cohort month + k, for k = 0, 1, ... up to `as_of`.
    pub active: Vec<u32>,
}

/// Cohorts by the month of the agents' first active day, from `from` to `to`, each followed
/// to `as_of` (the triangle).
pub fn cohorts(
    spells: &BTreeMap<String, Vec<Spell>>,
    from: NaiveDate,
    to: NaiveDate,
    as_of: NaiveDate,
) -> Vec<Cohort> {
    let mut by_month: BTreeMap<NaiveDate, Vec<&[Spell]>> = BTreeMap::new();
    for s in spells.values() {
        if let Some(first) = s.first() {
            let m = month_of(first.first);
            if m >= month_of(from) && m <= month_of(to) {
                by_month.entry(m).or_default().push(s.as_slice());
            }
        }
    }
    by_month
        .into_iter()
        .map(|(month, members)| {
            let active = months(month, as_of, as_of)
                .into_iter()
                .map(|m| {
                    let end = last_of_month(m).min(as_of);
                    let n = members.iter().filter(|s| active_on(s, end)).count();
                    u32::try_from(n).unwrap_or(u32::MAX)
                })
                .collect();
            Cohort {
                month,
                size: u32::try_from(members.len()).unwrap_or(u32::MAX),
                active,
            }
        })
        .collect()
}

/// The retention curve: for each k, the share (basis points) of the agents of every cohort
/// that has reached month k who are active at its end.
pub fn retention_curve(cohorts: &[Cohort]) -> Vec<u32> {
    let longest = cohorts.iter().map(|c| c.active.len()).max().unwrap_or(0);
    (0..longest)
        .map(|k| {
            let (active, size) = cohorts
                .iter()
                .filter_map(|c| c.active.get(k).map(|a| (u64::from(*a), u64::from(c.size))))
                .fold((0u64, 0u64), |(a, s), (x, y)| (a + x, s + y));
            (active * 10_000)
                .checked_div(size)
                .map_or(0, |r| u32::try_from(r).unwrap_or(10_000))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn join(day: NaiveDate) -> PoolMove {
        PoolMove {
            day,
            joined: true,
            reason: None,
        }
    }

    fn out(day: NaiveDate, reason: &str) -> PoolMove {
        PoolMove {
            day,
            joined: false,
            reason: Some(reason.to_owned()),
        }
    }

    fn agent(id: &str, moves: Vec<PoolMove>, worked: Vec<NaiveDate>) -> History {
        History {
            agent_id: id.to_owned(),
            moves,
            worked: worked.into_iter().map(|w| (w, w)).collect(),
        }
    }

    #[test]
    fn thirty_days_without_a_shift_is_inactive_from_the_thirty_first() {
        let h = agent("a", vec![join(d(3, 1))], vec![d(3, 10)]);
        let s = spells(&h, 30, d(12, 31));
        assert_eq!(
            s,
            [Spell {
                first: d(3, 1),
                last: Some(d(4, 8)),
                exit_reason: Some(INACTIVE.into()),
            }]
        );
        assert!(active_on(&s, d(4, 8)));
        assert!(!active_on(&s, d(4, 9)));
        assert!(!active_on(&s, d(2, 28)));
    }

    #[test]
    fn a_spell_that_reaches_as_of_is_still_open() {
        let h = agent("a", vec![join(d(3, 1))], vec![d(3, 20)]);
        assert_eq!(
            spells(&h, 30, d(4, 18)),
            [Spell {
                first: d(3, 1),
                last: None,
                exit_reason: None,
            }]
        );
        // A shift after as_of is not known yet.
        let h = agent("a", vec![join(d(3, 1))], vec![d(5, 1)]);
        assert_eq!(spells(&h, 30, d(4, 30))[0].last, Some(d(3, 30)));
    }

    #[test]
    fn leaving_ends_the_spell_with_its_reason_and_coming_back_starts_another() {
        let h = agent(
            "a",
            vec![join(d(1, 5)), out(d(2, 10), "left"), join(d(2, 20))],
            vec![d(1, 6), d(2, 1), d(2, 21)],
        );
        let s = spells(&h, 30, d(12, 31));
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((s[0].first, s[0].last), (d(1, 5), Some(d(2, 9))));
        assert_eq!(s[0].exit_reason.as_deref(), Some("left"));
        assert_eq!((s[1].first, s[1].last), (d(2, 20), Some(d(3, 22))));
        assert_eq!(s[1].exit_reason.as_deref(), Some(INACTIVE));
    }

    #[test]
    fn out_and_back_on_the_same_day_is_no_gap() {
        let h = agent(
            "a",
            vec![join(d(1, 1)), out(d(1, 15), "suspended"), join(d(1, 15))],
            vec![d(1, 20)],
        );
        let s = spells(&h, 30, d(3, 31));
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].last, Some(d(2, 18)));
        // Certified and gone the same day: never active.
        let h = agent("b", vec![join(d(1, 1)), out(d(1, 1), "left")], vec![]);
        assert!(spells(&h, 30, d(3, 31)).is_empty());
    }

    /// One month (April) with known joins, leaves and returns, counted by hand.
    #[test]
    fn a_month_by_hand() {
        let histories = vec![
            // Active all month.
            agent(
                "steady",
                vec![join(d(1, 1))],
                vec![d(3, 20), d(4, 10), d(4, 30)],
            ),
            // Leaves on 12 April.
            agent(
                "leaver",
                vec![join(d(1, 1)), out(d(4, 12), "left")],
                vec![d(3, 25)],
            ),
            // Last shift 10 March: inactive from 9 April.
            agent("fades", vec![join(d(1, 1))], vec![d(3, 10)]),
            // Leaves on 5 April and comes back on 20 April, in the same month.
            agent(
                "back",
                vec![join(d(1, 1)), out(d(4, 5), "left"), join(d(4, 20))],
                vec![d(3, 30), d(4, 21)],
            ),
            // Certified on the last day of April.
            agent("late", vec![join(d(4, 30))], vec![]),
            // Certified on the last day of March: active at the start; first shift 2 April.
            agent("eve", vec![join(d(3, 31))], vec![d(4, 2)]),
            // Inactive since February, works again on 15 April.
            agent("revived", vec![join(d(1, 1))], vec![d(1, 2), d(4, 15)]),
            // Suspended in March, never back.
            agent(
                "gone",
                vec![join(d(1, 1)), out(d(3, 3), "suspended")],
                vec![d(3, 1)],
            ),
        ];
        let s = all_spells(&histories, 30, d(12, 31));
        let april = &monthly(&s, d(4, 1), d(4, 30), d(12, 31))[0];
        assert_eq!(april.month, d(4, 1));
        // steady, leaver, fades, back, eve.
        assert_eq!(april.active_at_start, 5);
        // steady, back, late, eve, revived.
        assert_eq!(april.active_at_end, 5);
        // leaver, fades, back.
        assert_eq!(april.churned, 3);
        assert_eq!(april.left_and_returned, 1);
        assert_eq!(april.new, 1, "late");
        assert_eq!(april.returning, 2, "back and revived");
        assert_eq!(april.net_change, 0);
        assert_eq!(april.churn_rate_bp, Some(6_000));
        assert_eq!(
            april.exit_reasons,
            BTreeMap::from([("inactive".to_owned(), 1), ("left".to_owned(), 2)])
        );
        let march = &monthly(&s, d(3, 1), d(3, 31), d(12, 31))[0];
        // eve joins on 31 March: new in March.
        assert_eq!(march.new, 1);
        assert_eq!(march.exit_reasons.get("suspended"), Some(&1));
    }

    #[test]
    fn the_current_month_stops_at_as_of_and_nobody_at_the_start_has_no_rate() {
        let histories = vec![agent("a", vec![join(d(6, 10))], vec![])];
        let s = all_spells(&histories, 30, d(6, 20));
        let m = monthly(&s, d(6, 1), d(12, 31), d(6, 20));
        assert_eq!(m.len(), 1, "months after as_of are not reported");
        assert_eq!(m[0].active_at_start, 0);
        assert_eq!(m[0].active_at_end, 1);
        assert_eq!(m[0].churn_rate_bp, None);
    }

    #[test]
    fn cohorts_follow_their_agents_to_as_of() {
        let histories = vec![
            agent("a", vec![join(d(1, 10))], vec![d(2, 5), d(3, 1)]),
            agent("b", vec![join(d(1, 20))], vec![]),
            agent("c", vec![join(d(2, 1))], vec![d(3, 2)]),
        ];
        let s = all_spells(&histories, 30, d(3, 15));
        let c = cohorts(&s, d(1, 1), d(3, 31), d(3, 15));
        assert_eq!(c.len(), 2);
        // January: a and b at the end of January; a in February (b inactive from 19
        // February); a on 15 March.
        assert_eq!((c[0].month, c[0].size), (d(1, 1), 2));
        assert_eq!(c[0].active, [2, 1, 1]);
        assert_eq!((c[1].month, c[1].size), (d(2, 1), 1));
        assert_eq!(c[1].active, [1, 1]);
        // k=0: 3 of 3; k=1: 2 of 3; k=2: 1 of 2.
        assert_eq!(retention_curve(&c), [10_000, 6_666, 5_000]);
    }

    #[test]
    fn groups_split_the_pool_and_an_agent_may_be_in_several() {
        let histories = vec![
            agent("a", vec![join(d(1, 5))], vec![d(2, 1)]),
            agent(
                "b",
                vec![join(d(1, 5)), out(d(2, 10), "left")],
                vec![d(2, 1)],
            ),
            agent("c", vec![join(d(2, 3))], vec![]),
        ];
        let s = all_spells(&histories, 30, d(3, 31));
        let by = monthly_by(&s, d(1, 1), d(3, 31), d(3, 31), |agent, _| match agent {
            "a" => vec!["general".to_owned(), "pre_sale".to_owned()],
            "b" => vec!["general".to_owned()],
            // c is left out of every month.
            _ => vec![],
        });
        assert_eq!(by.keys().collect::<Vec<_>>(), ["general", "pre_sale"]);
        let general = &by["general"];
        assert_eq!(general.len(), 3, "one entry a month");
        assert_eq!((general[0].new, general[0].active_at_end), (2, 2));
        assert_eq!((general[1].active_at_start, general[1].churned), (2, 1));
        assert_eq!(general[1].exit_reasons.get("left"), Some(&1));
        let pre_sale = &by["pre_sale"];
        assert_eq!(pre_sale[1].active_at_start, 1);
        assert_eq!(pre_sale[1].churned, 0);
        // Grouped figures add up to the whole when every agent is in exactly one group.
        let whole = monthly(&s, d(1, 1), d(3, 31), d(3, 31));
        let one = monthly_by(&s, d(1, 1), d(3, 31), d(3, 31), |agent, _| {
            Some(if agent == "a" { "x" } else { "y" }.to_owned())
        });
        for (i, m) in whole.iter().enumerate() {
            assert_eq!(m.churned, one["x"][i].churned + one["y"][i].churned);
            assert_eq!(m.new, one["x"][i].new + one["y"][i].new);
        }
        assert_eq!(
            exit_totals(&whole),
            BTreeMap::from([("inactive".to_owned(), 2), ("left".to_owned(), 1)])
        );
    }

    #[test]
    fn check_ins_less_than_four_days_apart_make_one_stretch() {
        let t = |day: u32, h: u32| d(3, day).and_hms_opt(h, 0, 0).unwrap();
        assert!(stretches([]).is_empty());
        // Out of order and repeated; 3 days 23 hours apart is one stretch, 4 days is not.
        assert_eq!(
            stretches([
                t(9, 8),
                t(1, 8),
                t(5, 7),
                t(1, 8),
                t(13, 8),
                t(20, 0),
                t(16, 8)
            ]),
            [(t(1, 8), t(5, 7)), (t(9, 8), t(9, 8)), (t(13, 8), t(20, 0))]
        );
    }

    #[test]
    fn a_range_of_worked_days_counts_every_day_in_it() {
        // Worked 1 to 20 March: active through 18 April with 30 days.
        let h = History {
            agent_id: "a".into(),
            moves: vec![join(d(1, 1))],
            worked: vec![(d(3, 1), d(3, 20))],
        };
        let s = spells(&h, 30, d(12, 31));
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[1].first, d(3, 1));
        assert_eq!(s[1].last, Some(d(4, 18)));
        // Clipped to the stint: leaving on 10 March ends it then.
        let h = History {
            moves: vec![join(d(1, 1)), out(d(3, 10), "left")],
            ..h
        };
        let s = spells(&h, 30, d(12, 31));
        assert_eq!(s.last().unwrap().last, Some(d(3, 9)));
        assert_eq!(s.last().unwrap().exit_reason.as_deref(), Some("left"));
    }

    #[test]
    fn tenure_bands_count_whole_months() {
        let s = vec![Spell {
            first: d(1, 31),
            last: None,
            exit_reason: None,
        }];
        assert_eq!(tenure_band(&s, d(1, 30)), None);
        assert_eq!(tenure_band(&s, d(2, 28)), Some("0-1m"));
        assert_eq!(tenure_band(&s, d(3, 31)), Some("1-3m"));
        assert_eq!(tenure_band(&s, d(12, 31)), Some("6-12m"));
    }

    /// The definition, day by day from 1 January: the pool state at the end of each day
    /// (the day's last move), the current stint's first day, and activity (the stint's
    /// start or a worked day) less than `n` days before.
    fn model_active(h: &History, n: i64, day: NaiveDate) -> bool {
        let mut in_pool = false;
        let mut stint_start = None;
        let mut x = d(1, 1);
        while x <= day {
            for m in h.moves.iter().filter(|m| m.day == x) {
                in_pool = m.joined;
            }
            stint_start = match (in_pool, stint_start) {
                (false, _) => None,
                (true, None) => Some(x),
                (true, s) => s,
            };
            x = x.succ_opt().unwrap();
        }
        let Some(start) = stint_start else {
            return false;
        };
        let anchor = h
            .worked
            .iter()
            .flat_map(|&(f, l)| f.iter_days().take_while(move |w| *w <= l))
            .filter(|w| *w >= start && *w <= day)
            .chain(std::iter::once(start))
            .max()
            .unwrap_or(start);
        (day - anchor).num_days() < n
    }

    fn history() -> impl Strategy<Value = History> {
        (
            prop::collection::vec((0u32..120, any::<bool>()), 0..8),
            // Mostly single days, some ranges of days.
            prop::collection::vec(
                (0u32..120, prop_oneof![3 => Just(0u32), 1 => 0u32..20]),
                0..12,
            ),
        )
            .prop_map(|(moves, worked)| {
                let base = d(1, 1);
                let mut moves: Vec<(u32, bool)> = moves;
                moves.sort_by_key(|m| m.0);
                History {
                    agent_id: "p".into(),
                    moves: moves
                        .into_iter()
                        .map(|(day, joined)| PoolMove {
                            day: base + chrono::Duration::days(i64::from(day)),
                            joined,
                            reason: (!joined).then(|| "left".to_owned()),
                        })
                        .collect(),
                    worked: worked
                        .into_iter()
                        .map(|(w, len)| {
                            let first = base + chrono::Duration::days(i64::from(w));
                            (first, first + chrono::Duration::days(i64::from(len)))
                        })
                        .collect(),
                }
            })
    }

    proptest! {
        #[test]
        fn spells_match_the_day_by_day_definition(h in history(), n in 1u32..40) {
            let as_of = d(4, 30);
            let s = spells(&h, n, as_of);
            let mut day = d(1, 1);
            while day <= as_of {
                prop_assert_eq!(active_on(&s, day), model_active(&h, i64::from(n), day), "day {} spells {:?}", day, s);
                day = day.succ_opt().unwrap();
            }
            // Spells are ordered, apart and closed with a reason unless open.
            for w in s.windows(2) {
                let last = w[0].last.expect("only the last spell is open");
                prop_assert!(last.succ_opt().unwrap() < w[1].first);
            }
            for sp in &s {
                prop_assert_eq!(sp.last.is_some(), sp.exit_reason.is_some());
            }
        }

        #[test]
        fn month_figures_balance(hs in prop::collection::vec(history(), 0..12), n in 1u32..40) {
            let hs: Vec<History> = hs.into_iter().enumerate().map(|(i, mut h)| { h.agent_id = format!("a{i}"); h }).collect();
            let as_of = d(4, 30);
            let s = all_spells(&hs, n, as_of);
            for f in monthly(&s, d(1, 1), as_of, as_of) {
                prop_assert!(f.churned <= f.active_at_start);
                prop_assert!(f.left_and_returned <= f.churned);
                prop_assert!(f.churn_rate_bp.unwrap_or(0) <= 10_000);
                prop_assert_eq!(f.net_change, i64::from(f.active_at_end) - i64::from(f.active_at_start));
                // Nobody ends the month active without having been so at its start or
                // entering during it.
                prop_assert!(f.active_at_end <= f.active_at_start - f.churned + f.left_and_returned + f.new + f.returning);
            }
        }
    }
}
