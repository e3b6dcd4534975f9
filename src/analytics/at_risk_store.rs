//! The facts at-risk scores are computed from ([`super::at_risk`]), for every certified agent
//! at once: a fixed number of queries whatever the pool's size (a few per week of the
//! window, one each for the agents, their certifications, last claims and last disputes),
//! never one per agent.
//!
//! - weeks: 7-day stretches of local days in the market's zone, ending with yesterday;
//! - claimed / attended / late releases / no-shows: shift assignments starting in the week,
//!   by outcome (`worked`, `released_late`, `no_show`);
//! - minutes, earnings and quality: the week read like a payroll period
//!   ([`crate::payroll::aggregate::load`]) and priced by the pay plan without adjustments,
//!   the week's quality score from the same pass;
//! - in the pool since: the agent's first certification.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use super::at_risk::{AgentFacts, AtRiskRules, Week};
use crate::db::DbConn;
use crate::db::schema::{accounts, agents, certifications, review_disputes, shift_assignments};
use crate::payroll::aggregate::{self, Window};
use crate::seats::rules::Ruleset;

/// A certified agent as the at-risk list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolAgent {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Skills with a certification valid now, sorted.
    pub skills: Vec<String>,
    pub pool_since: NaiveDateTime,
}

/// The local days `first..=last` of each week of the window, oldest first: `weeks` weeks
/// ending with the day before `today`.
pub fn week_days(today: NaiveDate, weeks: u32) -> Vec<(NaiveDate, NaiveDate)> {
    (0..i64::from(weeks))
        .rev()
        .map(|k| {
            let last = today - Duration::days(7 * k + 1);
            (last - Duration::days(6), last)
        })
        .collect()
}

/// Every certified agent with their facts, in id order.
pub fn load(
    conn: &mut DbConn,
    rules: &Ruleset,
    now: NaiveDateTime,
) -> QueryResult<Vec<(PoolAgent, AgentFacts)>> {
    let zone = rules.market.time_zone;
    let today = now.and_utc().with_timezone(&zone).date_naive();
    let at_risk: &AtRiskRules = &rules.at_risk;
    let windows: Vec<Window> = week_days(today, at_risk.weeks())
        .into_iter()
        .map(|(first, last)| aggregate::local_days(rules, first, last))
        .collect();

    let pool: Vec<(String, String, String, NaiveDateTime)> = agents::table
        .inner_join(accounts::table)
        .filter(agents::status.eq("certified"))
        .order(agents::account_id)
        .select((
            agents::account_id,
            accounts::display_name,
            accounts::email,
            agents::status_changed_at,
        ))
        .load(conn)?;
    let certs: Vec<(String, String, NaiveDateTime, NaiveDateTime)> = certifications::table
        .inner_join(agents::table.on(agents::account_id.eq(certifications::agent_id)))
        .filter(agents::status.eq("certified"))
        .select((
            certifications::agent_id,
            certifications::skill,
            certifications::certified_at,
            certifications::expires_at,
        ))
        .load(conn)?;
    let mut skills: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut first_cert: BTreeMap<String, NaiveDateTime> = BTreeMap::new();
    for (agent, skill, certified, expires) in certs {
        let first = first_cert.entry(agent.clone()).or_insert(certified);
        *first = (*first).min(certified);
        if expires > now {
            skills.entry(agent).or_default().push(skill);
        }
    }

    let last_claims: BTreeMap<String, Option<NaiveDateTime>> = shift_assignments::table
        .group_by(shift_assignments::agent_id)
        .select((
            shift_assignments::agent_id,
            max(shift_assignments::claimed_at),
        ))
        .load::<(String, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .collect();
    let last_disputes: BTreeMap<String, Option<NaiveDateTime>> = review_disputes::table
        .group_by(review_disputes::agent_id)
        .select((review_disputes::agent_id, max(review_disputes::created_at)))
        .load::<(String, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .collect();

    let mut weeks: BTreeMap<String, Vec<Week>> = BTreeMap::new();
    let n = windows.len();
    for (i, w) in windows.iter().enumerate() {
        let outcomes: Vec<(String, Option<String>, i64)> = shift_assignments::table
            .filter(shift_assignments::starts_at.ge(w.from))
            .filter(shift_assignments::starts_at.lt(w.to))
            .filter(shift_assignments::outcome.eq_any(vec!["worked", "released_late", "no_show"]))
            .group_by((shift_assignments::agent_id, shift_assignments::outcome))
            .select((
                shift_assignments::agent_id,
                shift_assignments::outcome,
                count_star(),
            ))
            .load(conn)?;
        for (agent, outcome, count) in outcomes {
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            let week = week_of(&mut weeks, &agent, n, i);
            week.claimed = week.claimed.saturating_add(count);
            match outcome.as_deref() {
                Some("worked") => week.attended = week.attended.saturating_add(count),
                Some("released_late") => {
                    week.late_releases = week.late_releases.saturating_add(count)
                }
                _ => week.no_shows = week.no_shows.saturating_add(count),
            }
        }
        let agg = aggregate::load(conn, rules, *w, "")?;
        for agent in agg.agents().iter().chain(agg.quality.keys()) {
            let score = agg
                .quality
                .get(agent)
                .and_then(|f| crate::quality::score::score(&rules.quality.weights, f).score_x100);
            let mut workload = aggregate::workload(&agg, rules, agent, score);
            workload.adjustments.clear();
            let slip = crate::payroll::pay::payslip(&rules.pay, &workload);
            let week = week_of(&mut weeks, agent, n, i);
            week.minutes = agg.minutes_of(agent).iter().map(|m| m.minutes).sum();
            week.earnings_fen = slip.total_fen;
            week.quality_x100 = score;
        }
    }

    Ok(pool
        .into_iter()
        .map(|(id, name, email, status_since)| {
            let pool_since = first_cert.get(&id).copied().unwrap_or(status_since);
            let facts = AgentFacts {
                weeks: weeks
                    .remove(&id)
                    .unwrap_or_else(|| vec![Week::default(); n]),
                weeks_in_pool: windows.iter().filter(|w| w.from >= pool_since).count() as u32,
                days_in_pool: days(now - pool_since),
                days_since_claim: last_claims
                    .get(&id)
                    .copied()
                    .flatten()
                    .map(|t| days(now - t)),
                days_since_dispute: last_disputes
                    .get(&id)
                    .copied()
                    .flatten()
                    .map(|t| days(now - t)),
            };
            let mut skills = skills.remove(&id).unwrap_or_default();
            skills.sort();
            (
                PoolAgent {
                    id,
                    name,
                    email,
                    skills,
                    pool_since,
                },
                facts,
            )
        })
        .collect())
}

/// Week `i` of `agent`'s `n` weeks, started empty.
fn week_of<'a>(
    weeks: &'a mut BTreeMap<String, Vec<Week>>,
    agent: &str,
    n: usize,
    i: usize,
) -> &'a mut Week {
    &mut weeks
        .entry(agent.to_owned())
        .or_insert_with(|| vec![Week::default(); n])[i]
}

/// Whole days in `d`, never negative.
fn days(d: Duration) -> u32 {
    u32::try_from(d.num_days().max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_end_with_yesterday_oldest_first() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            week_days(d("2026-12-05"), 2),
            [
                (d("2026-11-21"), d("2026-11-27")),
                (d("2026-11-28"), d("2026-12-04")),
            ]
        );
        assert!(week_days(d("2026-12-05"), 0).is_empty());
    }
}
