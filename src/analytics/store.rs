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
//! - A **worked day** is the local date of a check-in to a shift; they are read from the
//!   stretches of check-ins kept in `work_stretches` ([`super::churn::stretches`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{Months, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::churn::{History, PoolMove};
use super::report::{Attributes, GroupBy};
use crate::certification::profile::LEAVE_REASONS;
use crate::db::DbConn;
use crate::db::schema::{certifications, lifecycle_events, payroll_runs, payslips, work_stretches};

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

/// A stretch of check-ins (first and last instant, UTC) as the local days it spans.
pub fn worked_days(tz: Tz, first: NaiveDateTime, last: NaiveDateTime) -> (NaiveDate, NaiveDate) {
    (local_date(tz, first), local_date(tz, last))
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
/// queries: the moves (a few per agent), then the agents' stretches of check-ins
/// (`work_stretches`, kept by triggers as check-ins are written), each read as every local
/// day from its first check-in's to its last's. A stretch that runs past `until` is read to
/// its end: [`super::churn::spells`] stops at `as_of`, and with the rules' minimum inactivity limit
/// ([`super::churn::MIN_INACTIVE_AFTER_DAYS`]) the days it adds change no spell (the property test
/// below checks both against the check-ins' own days).
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

    let stretches: Vec<(String, NaiveDateTime, NaiveDateTime)> = work_stretches::table
        .filter(work_stretches::first_at.lt(until))
        .select((
            work_stretches::agent_id,
            work_stretches::first_at,
            work_stretches::last_at,
        ))
        .load(conn)?;
    for (agent, first, last) in stretches {
        // Days of agents never in the pool change nothing.
        if let Some(h) = by_agent.get_mut(&agent) {
            h.worked.push(worked_days(tz, first, last));
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

    mod stretches_read_as_days {
        use super::*;
        use crate::analytics::churn::{MIN_INACTIVE_AFTER_DAYS, spells, stretches};
        use chrono::Duration;
        use proptest::prelude::*;

        /// Zones with daylight saving, half and quarter hours, the extremes of UTC-12 and
        /// UTC+14, and Samoa, which skipped 30 December 2011 going from UTC-10 to UTC+14.
        const ZONES: [Tz; 8] = [
            chrono_tz::Asia::Shanghai,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Etc::GMTPlus12,
            chrono_tz::Pacific::Apia,
        ];

        /// Starts near Samoa's skipped day and around daylight-saving changes.
        const BASES: [&str; 3] = ["2011-12-10 00:00", "2026-03-01 00:00", "2026-10-10 00:00"];

        #[derive(Debug)]
        struct Case {
            tz: Tz,
            check_ins: Vec<NaiveDateTime>,
            moves: Vec<PoolMove>,
            until: NaiveDateTime,
            n: u32,
        }

        fn case() -> impl Strategy<Value = Case> {
            (
                0..ZONES.len(),
                0..BASES.len(),
                // Gaps between check-ins in seconds: mostly under 5 days (so stretches
                // form, some just under and over 4), some weeks.
                prop::collection::vec(
                    prop_oneof![
                        4 => 0i64..5 * 86_400,
                        1 => (4 * 86_400 - 60i64)..(4 * 86_400 + 60),
                        1 => 0i64..40 * 86_400,
                    ],
                    0..30,
                ),
                prop::collection::vec((0i64..200, any::<bool>(), 0i64..86_400), 0..6),
                0i64..200 * 86_400,
                MIN_INACTIVE_AFTER_DAYS..45,
            )
                .prop_map(|(zone, base, gaps, moves, until, n)| {
                    let tz = ZONES[zone];
                    let base = at(BASES[base]);
                    let mut t = base;
                    let check_ins = gaps
                        .into_iter()
                        .map(|g| {
                            t += Duration::seconds(g);
                            t
                        })
                        .collect();
                    let mut moves: Vec<(i64, bool, i64)> = moves;
                    moves.sort();
                    let moves = moves
                        .into_iter()
                        .map(|(day, joined, secs)| {
                            let when = base + Duration::days(day) + Duration::seconds(secs);
                            PoolMove {
                                day: local_date(tz, when),
                                joined,
                                reason: (!joined).then(|| "left".to_owned()),
                            }
                        })
                        .collect();
                    Case {
                        tz,
                        check_ins,
                        moves,
                        until: base + Duration::seconds(until),
                        n,
                    }
                })
        }

        proptest! {
            /// What `histories` reads (every stretch begun before `until`, as the local
            /// days from its first to its last check-in) gives the spells of the check-ins'
            /// own days before `until`.
            #[test]
            fn spells_from_stretches_are_spells_from_days(c in case()) {
                let as_of = local_date(c.tz, c.until);
                let from_days = History {
                    agent_id: "a".into(),
                    moves: c.moves.clone(),
                    worked: c
                        .check_ins
                        .iter()
                        .filter(|t| **t < c.until)
                        .map(|t| (local_date(c.tz, *t), local_date(c.tz, *t)))
                        .collect(),
                };
                let from_stretches = History {
                    worked: stretches(c.check_ins.iter().copied())
                        .into_iter()
                        .filter(|(first, _)| *first < c.until)
                        .map(|(first, last)| worked_days(c.tz, first, last))
                        .collect(),
                    ..from_days.clone()
                };
                prop_assert_eq!(
                    spells(&from_stretches, c.n, as_of),
                    spells(&from_days, c.n, as_of),
                    "{:?}", c
                );
            }
        }
    }
}
