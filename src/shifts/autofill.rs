//! The admin's one-click auto-fill: gathers the open shifts of the next days (once their
//! booking's early-access window is over) and the agents
//! who asked for auto-assignment, lets the pure [`assign`] plan who takes what, then books
//! each assignment through the same claim path as a claim (so a race with an agent claiming
//! at the same moment is settled by the same conditional update, and the agent gets the
//! same mail with the calendar entry).

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::assign::{self, Candidate, Certification, OpenShift};
use super::claim::Block;
use super::service::claim_in;
use super::store::Via;
use crate::accounts::model::{AccountId, MerchantId, TimeZone};
use crate::certification::mails::MailCtx;
use crate::certification::profile::WeeklySlot;
use crate::db::schema::{accounts, agents, bookings, certifications, shift_assignments, shifts};
use crate::db::{DbConn, write_transaction};
use crate::error::AppError;
use crate::quality::levels::Levels;
use crate::state::AppState;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoFillRequest {
    /// Fill shifts starting within this many days (1 to 14, default 7).
    #[serde(default)]
    pub days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Unfilled {
    pub shift_id: String,
    /// `no_candidate`, `not_available`, `all_refused`, `shift_started`, or the claim's
    /// error code when the booking of a planned assignment failed (`shift_taken` ...).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AutoFillReport {
    pub open_shifts: u32,
    pub candidates: u32,
    pub assigned: u32,
    pub unfilled: Vec<Unfilled>,
}

/// Open shifts starting in `(now, until)` whose booking's early-access window is over (until
/// then they are for the shop's previous agents and the best, who claim them themselves).
fn open_shifts(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    early_access: Duration,
) -> QueryResult<Vec<OpenShift>> {
    let rows: Vec<(
        String,
        NaiveDateTime,
        NaiveDateTime,
        String,
        String,
        Option<NaiveDateTime>,
    )> = shifts::table
        .inner_join(bookings::table)
        .filter(shifts::status.eq("open"))
        .filter(bookings::status.eq_any(["confirmed", "active"]))
        .filter(shifts::starts_at.gt(now))
        .filter(shifts::starts_at.lt(until))
        .filter(bookings::confirmed_at.le(now - early_access))
        .select((
            shifts::id,
            shifts::starts_at,
            shifts::ends_at,
            shifts::skill,
            shifts::merchant_id,
            bookings::confirmed_at,
        ))
        .order((shifts::starts_at.asc(), shifts::id.asc()))
        .limit(5_000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, start, end, skill, merchant, confirmed)| OpenShift {
            id,
            block: super::claim::Block { start, end },
            skill,
            merchant: MerchantId(merchant),
            confirmed_at: confirmed.unwrap_or(start),
        })
        .collect())
}

/// Agents who asked for auto-assignment, with what the planner needs of each: loaded in
/// a handful of queries per [`CHUNK`] agents rather than several per agent, so a run over
/// thousands of agents stays one quick click.
fn candidates(
    conn: &mut DbConn,
    levels: &Levels,
    now: NaiveDateTime,
) -> QueryResult<Vec<Candidate>> {
    let rows: Vec<(AccountId, String, String, i32)> = agents::table
        .inner_join(accounts::table)
        .filter(agents::auto_assign.eq(true))
        .filter(agents::status.eq("certified"))
        .select((
            agents::account_id,
            agents::availability,
            accounts::time_zone,
            agents::level,
        ))
        .order(agents::account_id.asc())
        .load(conn)?;
    let mut certs: HashMap<String, Vec<Certification>> = HashMap::new();
    let mut served: HashMap<String, BTreeSet<MerchantId>> = HashMap::new();
    let mut blocks: HashMap<String, Vec<Block>> = HashMap::new();
    let mut quality: HashMap<String, i32> = HashMap::new();
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|(id, ..)| id.as_str()).collect();
        let rows: Vec<(String, String, NaiveDateTime)> = certifications::table
            .filter(certifications::agent_id.eq_any(&ids))
            .filter(certifications::certified_at.le(now))
            .select((
                certifications::agent_id,
                certifications::skill,
                certifications::expires_at,
            ))
            .load(conn)?;
        for (agent, skill, expires_at) in rows {
            certs
                .entry(agent)
                .or_default()
                .push(Certification { skill, expires_at });
        }
        let held = shift_assignments::ended_at
            .is_null()
            .or(shift_assignments::outcome.eq("worked"));
        let rows: Vec<(String, String)> = shift_assignments::table
            .filter(shift_assignments::agent_id.eq_any(&ids))
            .filter(held)
            .select((shift_assignments::agent_id, shift_assignments::merchant_id))
            .distinct()
            .load(conn)?;
        for (agent, merchant) in rows {
            served
                .entry(agent)
                .or_default()
                .insert(MerchantId(merchant));
        }
        // What they hold or worked from eight days back: enough for the week and rest rules.
        let rows: Vec<(String, NaiveDateTime, NaiveDateTime)> = shift_assignments::table
            .filter(shift_assignments::agent_id.eq_any(&ids))
            .filter(held)
            .filter(shift_assignments::ends_at.gt(now - Duration::days(8)))
            .select((
                shift_assignments::agent_id,
                shift_assignments::starts_at,
                shift_assignments::ends_at,
            ))
            .load(conn)?;
        for (agent, start, end) in rows {
            blocks.entry(agent).or_default().push(Block { start, end });
        }
        quality.extend(crate::certification::pool::qualities_of(conn, &ids)?);
    }
    Ok(rows
        .into_iter()
        .map(|(id, availability, zone, level)| {
            let q = quality.get(id.as_str()).copied();
            Candidate {
                zone: TimeZone::parse(&zone).unwrap_or_default().0,
                suspended: false,
                certifications: certs.remove(id.as_str()).unwrap_or_default(),
                shifts: blocks.remove(id.as_str()).unwrap_or_default(),
                availability: serde_json::from_str::<Vec<WeeklySlot>>(&availability)
                    .unwrap_or_default(),
                quality: q.map(f64::from),
                level_early_access: levels.grants_early_access(level),
                served: served.remove(id.as_str()).unwrap_or_default(),
                id,
            }
        })
        .collect())
}

/// Agents per batch of lookups (well under every backend's limit on bound parameters).
const CHUNK: usize = 500;

pub async fn run(
    state: &AppState,
    admin: AccountId,
    req: AutoFillRequest,
) -> Result<AutoFillReport, AppError> {
    let days = req.days.unwrap_or(7);
    if !(1..=14).contains(&days) {
        return Err(AppError::field(
            "days",
            "out_of_range",
            "days must be between 1 and 14",
        ));
    }
    let ctx = MailCtx::new(state);
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| -> Result<AutoFillReport, AppError> {
            let now = clock.now();
            let rules = ctx.rules.clone();
            let open = open_shifts(
                conn,
                now,
                now + Duration::days(i64::from(days)),
                Duration::hours(rules.shifts.early_access_hours.into()),
            )?;
            let people = candidates(conn, &rules.levels, now)?;
            let plan = assign::assign(&open, &people, &rules.shifts.claim_limits(), now);
            let mut unfilled: Vec<Unfilled> = plan
                .unfilled
                .iter()
                .map(|u| Unfilled {
                    shift_id: u.shift_id.clone(),
                    reason: u.reason.code().to_owned(),
                })
                .collect();
            let mut assigned = 0;
            // Each booking on its own: one lost race does not undo the others.
            for a in &plan.assignments {
                // The clock of each booking, not of the plan: a long run must not book a
                // shift that began meanwhile.
                let booked = write_transaction(conn, |conn| {
                    claim_in(
                        conn,
                        &ctx,
                        &a.agent,
                        &a.shift_id,
                        Via::Auto,
                        Some(&admin),
                        clock.now(),
                    )
                });
                match booked {
                    Ok(_) => assigned += 1,
                    Err(e) => unfilled.push(Unfilled {
                        shift_id: a.shift_id.clone(),
                        reason: e.code().to_owned(),
                    }),
                }
            }
            let report = AutoFillReport {
                open_shifts: open.len() as u32,
                candidates: people.len() as u32,
                assigned,
                unfilled,
            };
            write_transaction(conn, |conn| {
                crate::audit::record(
                    conn,
                    crate::audit::AuditEntry {
                        actor: Some(&admin),
                        action: "shifts.auto_filled",
                        target_type: "shifts",
                        target_id: None,
                        details: serde_json::json!({
                            "days": days,
                            "open_shifts": report.open_shifts,
                            "candidates": report.candidates,
                            "assigned": report.assigned,
                            "unfilled": report.unfilled.len(),
                        }),
                    },
                    now,
                )
            })?;
            Ok(report)
        })
        .await?)
}
