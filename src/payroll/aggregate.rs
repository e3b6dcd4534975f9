//! Every agent's workload for a period, aggregated in the database: a handful of `GROUP BY`
//! queries whose result grows with agents × skills × bookings, never with chats, so a
//! period of 20,000 agents and 5,000,000 chats is a few scans of indexed ranges.
//!
//! Definitions:
//! - **minutes worked**: per shift assignment, the time checked in and inside the shift
//!   (from the later of check-in and the shift's start to the earlier of check-out and the
//!   shift's end), clipped to the period, rounded to whole minutes per assignment;
//! - **peak minutes**: the same, clipped to each peak period (`periods.toml`, local dates
//!   in the market's zone) inside the run's period;
//! - **chats**: chats the agent closed as theirs (status `closed`) with `closed_at` in the
//!   period, by skill and kind (no kind: [`STANDARD`]);
//! - **extra concurrent chats**: of those, the ones accepted while holding another;
//! - **quality facts**: the quality score's inputs, as `quality::store::period_facts`
//!   counts them, from the same pass over the chats;
//! - **urgent bonuses**: the bonus each urgent shift the agent checked in on promised,
//!   shifts starting in the period;
//! - **no-shows**: assignments ended as `no_show`, shifts starting in the period;
//! - **adjustments**: corrections not yet carried into a run (or carried into this one).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::pay::{Adjustment, SkillWork, Workload};
use crate::db::DbConn;
use crate::db::schema::{agents, pay_adjustments, shift_assignments, shifts};
use crate::quality::{self, score::Facts, store::Grouping};
use crate::seats::rules::Ruleset;

// Urgent bonuses are counted per agent and promised amount.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    shift_assignments::agent_id,
    shifts::urgent_bonus_fen,
);

/// The key of chats without a kind: one standard chat each.
pub const STANDARD: &str = "standard";

/// A half-open stretch of UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl Window {
    pub fn intersect(self, other: Window) -> Option<Window> {
        let w = Window {
            from: self.from.max(other.from),
            to: self.to.min(other.to),
        };
        (w.from < w.to).then_some(w)
    }
}

/// Local dates `first..=last` in the market's zone as UTC instants.
pub fn local_days(rules: &Ruleset, first: NaiveDate, last: NaiveDate) -> Window {
    let tz = rules.market.time_zone;
    let at = |d: NaiveDate| {
        let local = d.and_time(NaiveTime::MIN);
        local
            .and_local_timezone(tz)
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(local)
    };
    Window {
        from: at(first),
        to: at(last.succ_opt().unwrap_or(last)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MinutesRow {
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    #[diesel(sql_type = Text)]
    pub skill: String,
    #[diesel(sql_type = Text)]
    pub booking_id: String,
    #[diesel(sql_type = BigInt)]
    pub minutes: i64,
    #[diesel(sql_type = BigInt)]
    pub shifts: i64,
}

/// Minutes checked in per agent, skill and booking inside `w` (see the module notes).
pub fn minutes_worked(conn: &mut DbConn, w: Window) -> QueryResult<Vec<MinutesRow>> {
    minutes_worked_of(conn, w, None)
}

/// [`minutes_worked`], of one agent only when `agent` is given (their index range).
fn minutes_worked_of(
    conn: &mut DbConn,
    w: Window,
    agent: Option<&str>,
) -> QueryResult<Vec<MinutesRow>> {
    // The one backend-specific query: time arithmetic differs.
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT a.agent_id AS agent_id, s.skill AS skill, a.booking_id AS booking_id, \
             CAST(SUM(MAX(0, CAST(ROUND((julianday(MIN(COALESCE(a.checked_out_at, a.ends_at), a.ends_at, ?2)) \
                 - julianday(MAX(a.checked_in_at, a.starts_at, ?1))) * 1440.0) AS INTEGER))) AS INTEGER) AS minutes, \
             CAST(COUNT(*) AS INTEGER) AS shifts \
             FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id \
             WHERE a.checked_in_at IS NOT NULL AND a.checked_in_at < ?2 AND a.starts_at < ?2 \
               AND COALESCE(a.checked_out_at, a.ends_at) > ?1 AND a.ends_at > ?1 \
             GROUP BY a.agent_id, s.skill, a.booking_id"
        }
        DbConn::Pg(_) => {
            "SELECT a.agent_id AS agent_id, s.skill AS skill, a.booking_id AS booking_id, \
             CAST(COALESCE(SUM(GREATEST(0, ROUND(EXTRACT(EPOCH FROM \
                 (LEAST(COALESCE(a.checked_out_at, a.ends_at), a.ends_at, $2) \
                  - GREATEST(a.checked_in_at, a.starts_at, $1))) / 60.0))), 0) AS BIGINT) AS minutes, \
             COUNT(*) AS shifts \
             FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id \
             WHERE a.checked_in_at IS NOT NULL AND a.checked_in_at < $2 AND a.starts_at < $2 \
               AND COALESCE(a.checked_out_at, a.ends_at) > $1 AND a.ends_at > $1 \
             GROUP BY a.agent_id, s.skill, a.booking_id"
        }
    };
    let Some(agent) = agent else {
        return diesel::sql_query(sql)
            .bind::<Timestamp, _>(w.from)
            .bind::<Timestamp, _>(w.to)
            .load(conn);
    };
    let only = match conn {
        DbConn::Sqlite(_) => " AND a.agent_id = ?3 GROUP BY",
        DbConn::Pg(_) => " AND a.agent_id = $3 GROUP BY",
    };
    diesel::sql_query(sql.replacen(" GROUP BY", only, 1))
        .bind::<Timestamp, _>(w.from)
        .bind::<Timestamp, _>(w.to)
        .bind::<Text, _>(agent)
        .load(conn)
}

/// What the database says about everyone's period, before the pay plan is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregate {
    /// Per agent, skill and booking, sorted by agent.
    pub minutes: Vec<MinutesRow>,
    /// Per (agent, skill).
    pub peak_minutes: BTreeMap<(String, String), i64>,
    /// Per (agent, skill), per kind.
    pub chats: BTreeMap<(String, String), BTreeMap<String, i64>>,
    pub extra_concurrent: BTreeMap<(String, String), i64>,
    /// Per agent: (bonus in fen, shifts).
    pub urgent: BTreeMap<String, Vec<(i64, i64)>>,
    pub no_shows: BTreeMap<String, i64>,
    /// Per agent: (adjustment id, correction).
    pub adjustments: BTreeMap<String, Vec<(String, Adjustment)>>,
    /// Every agent's level.
    pub levels: BTreeMap<String, i32>,
    /// The quality score's inputs per agent (`quality::store::period_facts`, counted in
    /// the same pass over the chats).
    pub quality: BTreeMap<String, Facts>,
}

impl Aggregate {
    /// The agent's minute rows: one slice of `minutes`, which is sorted by agent.
    pub fn minutes_of(&self, agent: &str) -> &[MinutesRow] {
        let from = self
            .minutes
            .partition_point(|m| m.agent_id.as_str() < agent);
        let len = self.minutes[from..]
            .iter()
            .take_while(|m| m.agent_id == agent)
            .count();
        &self.minutes[from..from + len]
    }

    /// Everyone with anything to pay or deduct, in id order.
    pub fn agents(&self) -> Vec<String> {
        let mut ids: std::collections::BTreeSet<String> =
            self.minutes.iter().map(|m| m.agent_id.clone()).collect();
        ids.extend(self.chats.keys().map(|(a, _)| a.clone()));
        ids.extend(self.urgent.keys().cloned());
        ids.extend(self.no_shows.keys().cloned());
        ids.extend(self.adjustments.keys().cloned());
        ids.into_iter().collect()
    }
}

/// Reads the period `w` of run `run_id` (whose adjustments count as pending).
pub fn load(conn: &mut DbConn, rules: &Ruleset, w: Window, run_id: &str) -> QueryResult<Aggregate> {
    load_of(conn, rules, w, run_id, None)
}

/// One agent's part of the period `w`, outside any run (only pending adjustments): what
/// [`load`] reads, restricted to the agent in every query, for a live estimate.
pub fn load_agent(
    conn: &mut DbConn,
    rules: &Ruleset,
    w: Window,
    agent: &str,
) -> QueryResult<Aggregate> {
    load_of(conn, rules, w, "", Some(agent))
}

/// Boxes `$q` and keeps only `agent`'s rows (by `$column`) when one is given.
macro_rules! only_agent {
    ($q:expr, $column:expr, $agent:expr) => {{
        let q = $q.into_boxed();
        match $agent {
            Some(a) => q.filter($column.eq(a)),
            None => q,
        }
    }};
}

fn load_of(
    conn: &mut DbConn,
    rules: &Ruleset,
    w: Window,
    run_id: &str,
    agent: Option<&str>,
) -> QueryResult<Aggregate> {
    let mut minutes = minutes_worked_of(conn, w, agent)?;
    // By agent, so each agent's rows are one slice (`Aggregate::minutes_of`).
    minutes.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
    let mut agg = Aggregate {
        minutes,
        ..Aggregate::default()
    };
    for period in &rules.periods {
        let Some(peak) = local_days(rules, period.start, period.end).intersect(w) else {
            continue;
        };
        for row in minutes_worked_of(conn, peak, agent)? {
            *agg.peak_minutes
                .entry((row.agent_id, row.skill))
                .or_default() += row.minutes;
        }
    }
    // One pass over the period's closed chats, per agent, skill and kind: the counts paid
    // for, the ones accepted while holding another, and the quality score's inputs.
    let counts = quality::store::chat_counts(
        conn,
        agent,
        Grouping::AgentSkillKind,
        w.from,
        w.to,
        rules.chat.first_response_target_secs,
        rules.quality.reopen_window_hours,
    )?;
    agg.quality = quality::store::facts_of(conn, agent, w.from, w.to, &counts)?;
    for row in counts {
        let key = (row.agent_id, row.skill);
        if row.concurrent > 0 {
            *agg.extra_concurrent.entry(key.clone()).or_default() += row.concurrent;
        }
        *agg.chats
            .entry(key)
            .or_default()
            .entry(row.kind.unwrap_or_else(|| STANDARD.to_owned()))
            .or_default() += row.closed;
    }
    let rows: Vec<(String, i64, i64)> = only_agent!(
        shift_assignments::table
            .inner_join(shifts::table)
            .filter(shift_assignments::checked_in_at.is_not_null())
            .filter(shift_assignments::starts_at.ge(w.from))
            .filter(shift_assignments::starts_at.lt(w.to))
            .filter(shifts::urgent_bonus_fen.gt(0))
            .group_by((shift_assignments::agent_id, shifts::urgent_bonus_fen))
            .select((
                shift_assignments::agent_id,
                shifts::urgent_bonus_fen,
                count_star(),
            )),
        shift_assignments::agent_id,
        agent
    )
    .load(conn)?;
    for (agent, bonus, n) in rows {
        agg.urgent.entry(agent).or_default().push((bonus, n));
    }
    let rows: Vec<(String, i64)> = only_agent!(
        shift_assignments::table
            .filter(shift_assignments::outcome.eq("no_show"))
            .filter(shift_assignments::starts_at.ge(w.from))
            .filter(shift_assignments::starts_at.lt(w.to))
            .group_by(shift_assignments::agent_id)
            .select((shift_assignments::agent_id, count_star())),
        shift_assignments::agent_id,
        agent
    )
    .load(conn)?;
    agg.no_shows = rows.into_iter().collect();
    let rows: Vec<(String, String, i64, String)> = only_agent!(
        pay_adjustments::table
            .filter(
                pay_adjustments::applied_run_id
                    .is_null()
                    .or(pay_adjustments::applied_run_id.eq(run_id)),
            )
            .order(pay_adjustments::id)
            .select((
                pay_adjustments::id,
                pay_adjustments::agent_id,
                pay_adjustments::amount_fen,
                pay_adjustments::reason,
            )),
        pay_adjustments::agent_id,
        agent
    )
    .load(conn)?;
    for (id, agent, amount_fen, reason) in rows {
        agg.adjustments
            .entry(agent)
            .or_default()
            .push((id, Adjustment { reason, amount_fen }));
    }
    let rows: Vec<(String, i32)> = only_agent!(
        agents::table.select((agents::account_id, agents::level)),
        agents::account_id,
        agent
    )
    .load(conn)?;
    agg.levels = rows.into_iter().collect();
    Ok(agg)
}

/// One agent's workload, from the aggregate, the rules and their quality score.
pub fn workload(
    agg: &Aggregate,
    rules: &Ruleset,
    agent: &str,
    quality_score_x100: Option<u32>,
) -> Workload {
    let base = |skill: &str| rules.skill(skill).map_or(0, |s| s.agent_hourly_fen);
    let mut done: BTreeMap<String, SkillWork> = BTreeMap::new();
    for m in agg.minutes_of(agent) {
        skill_work(&mut done, &m.skill, base(&m.skill)).minutes += m.minutes;
    }
    for (skill, peak) in of_agent(&agg.peak_minutes, agent) {
        skill_work(&mut done, skill, base(skill)).peak_minutes += peak;
    }
    for (skill, kinds) in of_agent(&agg.chats, agent) {
        let w = skill_work(&mut done, skill, base(skill));
        for (kind, n) in kinds {
            *w.chats.entry(kind.clone()).or_default() += n;
        }
    }
    for (skill, n) in of_agent(&agg.extra_concurrent, agent) {
        skill_work(&mut done, skill, base(skill)).extra_concurrent += n;
    }
    let urgent_bonuses_fen = agg
        .urgent
        .get(agent)
        .into_iter()
        .flatten()
        .flat_map(|&(bonus, n)| std::iter::repeat_n(bonus, usize::try_from(n).unwrap_or(0)))
        .collect();
    let level = level_of(agg, agent);
    Workload {
        work: done.into_values().collect(),
        quality_score_x100,
        urgent_bonuses_fen,
        no_shows: agg.no_shows.get(agent).copied().unwrap_or(0),
        adjustments: agg
            .adjustments
            .get(agent)
            .into_iter()
            .flatten()
            .map(|(_, a)| a.clone())
            .collect(),
        level_multiplier_bp: rules
            .levels
            .get(u32::try_from(level).unwrap_or(1))
            .unwrap_or_else(|| rules.levels.lowest())
            .pay_multiplier_bp,
    }
}

/// The entries of one agent in a map keyed by (agent, skill), by skill: a range of the
/// map, not a scan of it (a run computes every agent's workload).
fn of_agent<'a, V>(
    map: &'a BTreeMap<(String, String), V>,
    agent: &'a str,
) -> impl Iterator<Item = (&'a String, &'a V)> + 'a {
    map.range((agent.to_owned(), String::new())..)
        .take_while(move |((a, _), _)| a == agent)
        .map(|((_, skill), v)| (skill, v))
}

/// What a payslip records beside its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentInfo {
    pub score: Option<u32>,
    pub level: i32,
    pub level_multiplier_bp: u32,
}

/// The agent's level (1 when unknown).
pub fn level_of(agg: &Aggregate, agent: &str) -> i32 {
    agg.levels.get(agent).copied().unwrap_or(1)
}

/// The agent's work on `skill` so far, started at nothing.
fn skill_work<'a>(
    done: &'a mut BTreeMap<String, SkillWork>,
    skill: &str,
    base: i64,
) -> &'a mut SkillWork {
    done.entry(skill.to_owned())
        .or_insert_with(|| fresh(skill, base))
}

fn fresh(skill: &str, base: i64) -> SkillWork {
    SkillWork {
        skill: skill.to_owned(),
        hourly_base_fen: base,
        ..SkillWork::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Ruleset {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seat-rules");
        crate::seats::rules::load_dir(&dir).expect("the shipped rules load")
    }

    fn at(d: &str, h: u32) -> NaiveDateTime {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn local_days_are_utc_instants_of_the_market_s_midnights() {
        // Asia/Shanghai is UTC+8: 1-15 December starts 30 November 16:00 UTC.
        let w = local_days(
            &rules(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 15).unwrap(),
        );
        assert_eq!((w.from, w.to), (at("2026-11-30", 16), at("2026-12-15", 16)));
    }

    #[test]
    fn windows_intersect_or_not() {
        let a = Window {
            from: at("2026-12-01", 0),
            to: at("2026-12-10", 0),
        };
        let b = Window {
            from: at("2026-12-05", 0),
            to: at("2026-12-20", 0),
        };
        assert_eq!(
            a.intersect(b),
            Some(Window {
                from: at("2026-12-05", 0),
                to: at("2026-12-10", 0)
            })
        );
        let c = Window {
            from: at("2026-12-10", 0),
            to: at("2026-12-11", 0),
        };
        assert_eq!(a.intersect(c), None, "touching is not overlapping");
    }

    #[test]
    fn a_workload_gathers_the_agent_s_rows_only() {
        let rules = rules();
        let key = |a: &str, s: &str| (a.to_owned(), s.to_owned());
        let row = |agent: &str, booking: &str, minutes: i64| MinutesRow {
            agent_id: agent.into(),
            skill: "general".into(),
            booking_id: booking.into(),
            minutes,
            shifts: 1,
        };
        let agg = Aggregate {
            minutes: vec![row("a", "b1", 60), row("a", "b2", 30), row("z", "b1", 600)],
            peak_minutes: BTreeMap::from([(key("a", "general"), 20)]),
            chats: BTreeMap::from([
                (
                    key("a", "general"),
                    BTreeMap::from([("complaint".to_owned(), 2), (STANDARD.to_owned(), 3)]),
                ),
                (
                    key("z", "general"),
                    BTreeMap::from([("complaint".to_owned(), 9)]),
                ),
            ]),
            extra_concurrent: BTreeMap::from([(key("a", "general"), 1)]),
            urgent: BTreeMap::from([("a".to_owned(), vec![(1_000, 2)])]),
            no_shows: BTreeMap::from([("a".to_owned(), 1)]),
            adjustments: BTreeMap::from([(
                "a".to_owned(),
                vec![(
                    "adj".to_owned(),
                    Adjustment {
                        reason: "dispute".into(),
                        amount_fen: -300,
                    },
                )],
            )]),
            levels: BTreeMap::from([("a".to_owned(), 2)]),
            quality: BTreeMap::new(),
        };
        assert_eq!(agg.agents(), ["a", "z"]);
        let w = workload(&agg, &rules, "a", Some(9_100));
        let base = rules.skill("general").unwrap().agent_hourly_fen;
        assert_eq!(
            w.work,
            [SkillWork {
                skill: "general".into(),
                hourly_base_fen: base,
                minutes: 90,
                peak_minutes: 20,
                chats: BTreeMap::from([("complaint".to_owned(), 2), (STANDARD.to_owned(), 3)]),
                extra_concurrent: 1,
            }]
        );
        assert_eq!(w.urgent_bonuses_fen, [1_000, 1_000]);
        assert_eq!((w.no_shows, w.adjustments.len()), (1, 1));
        assert_eq!(w.quality_score_x100, Some(9_100));
        assert_eq!(
            w.level_multiplier_bp,
            rules.levels.get(2).unwrap().pay_multiplier_bp
        );
        // Someone the database knows nothing of is at the lowest level, with no work.
        let nobody = workload(&agg, &rules, "nobody", None);
        assert!(nobody.work.is_empty());
        assert_eq!(
            nobody.level_multiplier_bp,
            rules.levels.lowest().pay_multiplier_bp
        );
    }
}
