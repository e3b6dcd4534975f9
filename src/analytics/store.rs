//! What churn is computed from, read from the event log in a handful of queries (never one
//! per agent): each agent's moves into and out of the certified pool (`lifecycle_events`),
//! the days they worked a shift (checked in, `shift_assignments`), and what they are grouped
//! by (certifications, payslips). Instants become local dates in the market's zone here,
//! so months are the market's months.
//!
//! - A **join** is a move to `certified` from any other status (passing the trial, a lifted
//!   suspension, coming back); an **exit** is a move from `certified` to anything else,
//!   with the reason: the agent's stated reason for leaving (one of the leave reasons) or
//!   `left` without one, `suspended` for a suspension (an admin's free-text reason stays in
//!   the agent's timeline, not in the figures).
//! - A **worked day** is the local date of a check-in to a shift.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::Date;

use super::churn::{History, PoolMove};
use super::report::{Attributes, GroupBy};
use crate::certification::profile::LEAVE_REASONS;
use crate::db::DbConn;
use crate::db::schema::{
    certifications, lifecycle_events, payroll_runs, payslips, shift_assignments,
};

const CERTIFIED: &str = "certified";

/// The local date of a UTC instant in `tz`.
pub fn local_date(tz: Tz, t: NaiveDateTime) -> NaiveDate {
    t.and_utc().with_timezone(&tz).date_naive()
}

/// An agent lifecycle event as a pool move, if it is one.
pub fn pool_move(
    from: Option<&str>,
    to: &str,
    reason: Option<&str>,
    day: NaiveDate,
) -> Option<PoolMove> {
    let was_in = from == Some(CERTIFIED);
    match (was_in, to == CERTIFIED) {
        (false, true) => Some(PoolMove {
            day,
            joined: true,
            reason: None,
        }),
        (true, false) => {
            let reason = match to {
                "left" => reason
                    .filter(|r| LEAVE_REASONS.contains(r))
                    .unwrap_or("left"),
                other => other,
            };
            Some(PoolMove {
                day,
                joined: false,
                reason: Some(reason.to_owned()),
            })
        }
        _ => None,
    }
}

/// The zone's offsets from UTC as (first instant, seconds east), oldest first, from
/// 2000 to `until`: one entry for a zone without daylight saving (Asia/Shanghai), one per
/// change otherwise. Instants before the first entry take its offset.
pub fn utc_offsets(tz: Tz, until: NaiveDateTime) -> Vec<(NaiveDateTime, i32)> {
    let offset = |t: NaiveDateTime| tz.offset_from_utc_datetime(&t).fix().local_minus_utc();
    let start = NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN);
    let mut out = vec![(start, offset(start))];
    let mut t = start;
    // Changes are months apart: find the day, then the minute.
    while t < until {
        let next = t + Duration::days(1);
        if offset(next) != offset(t) {
            // Minutes into the day: the offset at `lo` is the old one, at `hi` the new.
            let (mut lo, mut hi) = (0, 24 * 60);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if offset(t + Duration::minutes(mid)) == offset(t) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let since = t + Duration::minutes(hi);
            out.push((since, offset(since)));
        }
        t = next;
    }
    out
}

/// SQL for the offset (seconds) of the UTC timestamp `column`: a number, or a CASE over the
/// zone's changes, newest first.
fn offset_sql(column: &str, offsets: &[(NaiveDateTime, i32)]) -> String {
    match offsets {
        [] => "0".to_owned(),
        [(_, only)] => only.to_string(),
        [(_, first), rest @ ..] => {
            let mut sql = String::from("(CASE");
            for (since, secs) in rest.iter().rev() {
                sql.push_str(&format!(
                    " WHEN {column} >= '{}' THEN {secs}",
                    since.format("%Y-%m-%d %H:%M:%S")
                ));
            }
            sql.push_str(&format!(" ELSE {first} END)"));
            sql
        }
    }
}

/// One pool move as read: agent, from, to, reason, when.
type MoveRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    NaiveDateTime,
);

/// Every agent's pool moves and worked days up to `until` (UTC), local to `tz`. Two
/// queries: the moves (a few per agent), then every check-in's (agent, local day), the day
/// computed by the database. No `DISTINCT`: on SQLite it sorts two million rows in a temp
/// B-tree (most of the churn page's time); the covering index already yields an agent's
/// check-ins in order, so repeats are dropped here as they arrive (and
/// [`History::worked`] allows any that remain).
pub fn histories(conn: &mut DbConn, tz: Tz, until: NaiveDateTime) -> QueryResult<Vec<History>> {
    let rows: Vec<MoveRow> = lifecycle_events::table
        .filter(lifecycle_events::entity_type.eq("agent"))
        .filter(
            lifecycle_events::to_state
                .eq(CERTIFIED)
                .or(lifecycle_events::from_state.eq(CERTIFIED)),
        )
        .filter(lifecycle_events::occurred_at.lt(until))
        .order((
            lifecycle_events::entity_id.asc(),
            lifecycle_events::occurred_at.asc(),
            lifecycle_events::id.asc(),
        ))
        .select((
            lifecycle_events::entity_id,
            lifecycle_events::from_state,
            lifecycle_events::to_state,
            lifecycle_events::reason,
            lifecycle_events::occurred_at,
        ))
        .load(conn)?;
    let mut by_agent: HashMap<String, History> = HashMap::new();
    for (agent, from, to, reason, at) in rows {
        let Some(m) = pool_move(from.as_deref(), &to, reason.as_deref(), local_date(tz, at)) else {
            continue;
        };
        by_agent
            .entry(agent)
            .or_insert_with_key(|id| History {
                agent_id: id.clone(),
                ..History::default()
            })
            .moves
            .push(m);
    }

    let offset = offset_sql("checked_in_at", &utc_offsets(tz, until));
    let day = match conn {
        DbConn::Sqlite(_) => format!("date(checked_in_at, {offset} || ' seconds')"),
        DbConn::Pg(_) => format!("CAST(checked_in_at + {offset} * INTERVAL '1 second' AS DATE)"),
    };
    // Positional rows (not `sql_query`'s by-name ones): two million of them.
    let worked: Vec<(String, NaiveDate)> = shift_assignments::table
        .filter(shift_assignments::checked_in_at.is_not_null())
        .filter(shift_assignments::checked_in_at.lt(until))
        .select((shift_assignments::agent_id, diesel::dsl::sql::<Date>(&day)))
        .load(conn)?;
    for (agent, day) in worked {
        // Days of agents never in the pool change nothing.
        if let Some(h) = by_agent.get_mut(&agent)
            && h.worked.last() != Some(&day)
        {
            h.worked.push(day);
        }
    }
    let mut out: Vec<History> = by_agent.into_values().collect();
    out.sort_unstable_by(|a, b| a.agent_id.cmp(&b.agent_id));
    Ok(out)
}

/// What `group_by` needs for the months `from..=to` (first days), and nothing more.
pub fn attributes(
    conn: &mut DbConn,
    tz: Tz,
    group_by: GroupBy,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Attributes> {
    let mut attrs = Attributes::default();
    match group_by {
        GroupBy::None | GroupBy::Tenure => {}
        GroupBy::Skill => {
            let rows: Vec<(String, String, NaiveDateTime)> = certifications::table
                .select((
                    certifications::agent_id,
                    certifications::skill,
                    certifications::certified_at,
                ))
                .load(conn)?;
            for (agent, skill, at) in rows {
                attrs
                    .skills
                    .entry(agent)
                    .or_default()
                    .push((skill, local_date(tz, at)));
            }
        }
        GroupBy::PayBand | GroupBy::QualityBand => {
            // The payslips agents see, of periods ending in the month before each month.
            let rows: Vec<(String, NaiveDate, i64, Option<i32>)> = payslips::table
                .inner_join(payroll_runs::table)
                .filter(payroll_runs::status.eq_any(crate::payroll::store::VISIBLE))
                .filter(payroll_runs::period_to.ge(from - Months::new(1)))
                .filter(payroll_runs::period_to.lt(to))
                .select((
                    payslips::agent_id,
                    payroll_runs::period_to,
                    payslips::total_fen,
                    payslips::quality_score_x100,
                ))
                .load(conn)?;
            let mut scores: HashMap<String, BTreeMap<NaiveDate, u32>> = HashMap::new();
            for (agent, last_day, fen, score) in rows {
                if group_by == GroupBy::PayBand {
                    *attrs
                        .earnings
                        .entry(agent)
                        .or_default()
                        .entry(super::churn::month_of(last_day))
                        .or_default() += fen;
                } else if let Some(x100) = score.and_then(|s| u32::try_from(s).ok()) {
                    scores.entry(agent).or_default().insert(last_day, x100);
                }
            }
            attrs.scores = scores
                .into_iter()
                .map(|(agent, s)| (agent, s.into_iter().collect()))
                .collect();
        }
    }
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn late_evening_utc_is_the_next_day_in_shanghai() {
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(
            local_date(tz, at("2026-03-31 23:30")),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        assert_eq!(
            local_date(tz, at("2026-03-31 15:59")),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
    }

    #[test]
    fn moves_into_and_out_of_the_pool() {
        let day = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        let m = |from, to, reason| pool_move(from, to, reason, day);
        assert!(m(Some("in_trial"), "certified", None).unwrap().joined);
        assert!(m(Some("suspended"), "certified", None).unwrap().joined);
        assert_eq!(
            m(Some("certified"), "left", Some("pay")).unwrap().reason,
            Some("pay".to_owned())
        );
        // The event's name, or anything not a leave reason, is just `left`.
        assert_eq!(
            m(Some("certified"), "left", Some("leave")).unwrap().reason,
            Some("left".to_owned())
        );
        assert_eq!(
            m(Some("certified"), "suspended", Some("rude to a customer"))
                .unwrap()
                .reason,
            Some("suspended".to_owned())
        );
        // Moves that never touch the pool.
        assert!(m(Some("applicant"), "exam_passed", None).is_none());
        assert!(m(Some("in_trial"), "suspended", None).is_none());
        assert!(m(Some("suspended"), "left", None).is_none());
    }

    #[test]
    fn offsets_are_one_number_without_daylight_saving() {
        let until = at("2027-01-01 00:00");
        let shanghai = utc_offsets(chrono_tz::Asia::Shanghai, until);
        assert_eq!(shanghai.len(), 1);
        assert_eq!(offset_sql("t", &shanghai), "28800");
    }

    #[test]
    fn offsets_change_at_the_minute_daylight_saving_does() {
        let berlin = utc_offsets(chrono_tz::Europe::Berlin, at("2027-01-01 00:00"));
        // Two changes a year from 2000 through 2026.
        assert_eq!(berlin.len(), 1 + 2 * 27);
        assert_eq!(berlin[0].1, 3600);
        // Summer time began at 01:00 UTC on 29 March 2026 and ended at 01:00 UTC on 25
        // October 2026.
        assert!(berlin.contains(&(at("2026-03-29 01:00"), 7200)));
        assert!(berlin.contains(&(at("2026-10-25 01:00"), 3600)));
        let sql = offset_sql("t", &berlin);
        assert!(
            sql.starts_with("(CASE WHEN t >= '2026-10-25 01:00:00' THEN 3600 WHEN t >= '2026-03-29 01:00:00' THEN 7200"),
            "{sql}"
        );
        assert!(sql.ends_with(" ELSE 3600 END)"));
    }
}
