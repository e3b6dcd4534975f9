//! What agent levels read and write: each agent's current level, and the monthly
//! recomputation of [`super::levels::recompute`] for every certified agent, run by the
//! housekeeping task once a month has ended.
//!
//! The month is the market's calendar month (`market.toml`'s zone). Each agent's decision is
//! one `agent_level_changes` row (unique per agent and month; the append-only record of
//! levels), written with the level change and the agent's mail in one transaction per batch
//! of agents, so a rerun finds nothing left to decide and a failure leaves no half-applied
//! batch. The month's figures are read in a few aggregate queries for everyone at once, not
//! per agent.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::dsl::{exists, min, not};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::levels::{Change, Levels, Month, Shortfall, recompute};
use crate::accounts::model::AccountId;
use crate::certification::mails::{self, MailCtx};
use crate::db::schema::{agent_level_changes, agents, lifecycle_events, shift_assignments};
use crate::db::{DbConn, new_id, write_transaction};
use crate::error::AppError;
use crate::mail::templates::MailKind;
use crate::shifts::claim::local_midnight;
use crate::shifts::staffing::{HoldingRow, adherence_of};

/// Agents per write transaction (and per `IN` list).
const CHUNK: usize = 500;

/// The agent's current level (1, the lowest, for an unknown agent).
pub fn level_of(conn: &mut DbConn, agent: &AccountId) -> QueryResult<i32> {
    Ok(agents::table
        .find(agent.as_str())
        .select(agents::level)
        .first::<i32>(conn)
        .optional()?
        .unwrap_or(1))
}

/// The last full month before `today`: its first day.
pub fn last_full_month(today: NaiveDate) -> NaiveDate {
    let this = today.with_day(1).unwrap_or(today);
    this.checked_sub_months(Months::new(1)).unwrap_or(this)
}

/// Whether a month (first day `month`) still falls in the grace of an agent first
/// certified on `certified`: the grace lasts `grace_months` months from certification, and
/// a month that ends within it is not held against them.
pub fn in_grace(certified: NaiveDate, grace_months: u32, month: NaiveDate) -> bool {
    let month_end = month
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    grace_months > 0
        && certified
            .checked_add_months(Months::new(grace_months))
            .is_some_and(|grace_end| grace_end >= month_end)
}

/// One agent's decision for a month, as stored and shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelDecision {
    /// `YYYY-MM`, the market's month.
    pub month: String,
    pub from_level: i32,
    pub to_level: i32,
    /// The month's quality score in hundredths of a point; absent with nothing measured.
    pub quality_x100: Option<i32>,
    /// Worked share of committed shift time, basis points; absent without commitments.
    pub adherence_bp: Option<i32>,
    pub minutes_worked: i32,
    /// The month fell in the agent's grace after certification: no demotion.
    pub in_grace: bool,
    /// Why a demotion happened: `quality` or `adherence` with what the month had and what
    /// keeping the level asks.
    pub reasons: Vec<ShortfallView>,
    pub decided_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ShortfallView {
    /// `quality` (hundredths of a point) or `adherence` (basis points).
    pub measure: String,
    pub got: u32,
    /// What keeping the level asks, in the same unit.
    pub keep: u32,
}

impl From<&Shortfall> for ShortfallView {
    fn from(s: &Shortfall) -> Self {
        match *s {
            Shortfall::Quality { got_x100, keep } => ShortfallView {
                measure: "quality".into(),
                got: got_x100,
                keep: keep * 100,
            },
            Shortfall::Adherence { got_bp, keep_bp } => ShortfallView {
                measure: "adherence".into(),
                got: got_bp,
                keep: keep_bp,
            },
        }
    }
}

type DecisionRow = (
    String,
    i32,
    i32,
    Option<i32>,
    Option<i32>,
    i32,
    bool,
    String,
    NaiveDateTime,
);

/// The agent's latest `limit` monthly decisions, newest first.
pub fn history(
    conn: &mut DbConn,
    agent: &AccountId,
    limit: i64,
) -> QueryResult<Vec<LevelDecision>> {
    let rows: Vec<DecisionRow> = agent_level_changes::table
        .filter(agent_level_changes::agent_id.eq(agent.as_str()))
        .order(agent_level_changes::month.desc())
        .limit(limit)
        .select((
            agent_level_changes::month,
            agent_level_changes::from_level,
            agent_level_changes::to_level,
            agent_level_changes::quality_x100,
            agent_level_changes::adherence_bp,
            agent_level_changes::minutes_worked,
            agent_level_changes::in_grace,
            agent_level_changes::reasons,
            agent_level_changes::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                month,
                from_level,
                to_level,
                quality_x100,
                adherence_bp,
                minutes,
                grace,
                reasons,
                at,
            )| {
                LevelDecision {
                    month,
                    from_level,
                    to_level,
                    quality_x100,
                    adherence_bp,
                    minutes_worked: minutes,
                    in_grace: grace,
                    reasons: serde_json::from_str(&reasons).unwrap_or_default(),
                    decided_at: at.and_utc(),
                }
            },
        )
        .collect())
}

/// The agent's current level and when it was last changed.
pub fn current(
    conn: &mut DbConn,
    agent: &AccountId,
) -> QueryResult<Option<(i32, Option<NaiveDateTime>)>> {
    agents::table
        .find(agent.as_str())
        .select((agents::level, agents::level_since))
        .first(conn)
        .optional()
}

/// Housekeeping step: decides last month's level for every certified agent not yet
/// decided, and mails each agent whose level changed. Returns how many were decided.
pub fn recompute_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &MailCtx,
) -> Result<usize, AppError> {
    let rules = ctx.rules.clone();
    let zone = rules.market.time_zone;
    let today = now.and_utc().with_timezone(&zone).date_naive();
    let first = last_full_month(today);
    let from = local_midnight(zone, first);
    let to = local_midnight(zone, today.with_day(1).unwrap_or(today));
    let month = first.format("%Y-%m").to_string();

    // Certified agents, first certified before the month ended, with no decision for it.
    let decided = agent_level_changes::table
        .filter(agent_level_changes::agent_id.eq(agents::account_id))
        .filter(agent_level_changes::month.eq(month.clone()));
    let certified_at = lifecycle_events::table
        .filter(lifecycle_events::entity_type.eq("agent"))
        .filter(lifecycle_events::entity_id.eq(agents::account_id))
        .filter(lifecycle_events::to_state.eq("certified"))
        .select(min(lifecycle_events::occurred_at))
        .single_value();
    let pending: Vec<(String, i32, Option<NaiveDateTime>)> = agents::table
        .filter(agents::status.eq("certified"))
        .filter(not(exists(decided)))
        .select((agents::account_id, agents::level, certified_at))
        .order(agents::account_id.asc())
        .load(conn)?;
    let pending: Vec<(String, i32, NaiveDateTime)> = pending
        .into_iter()
        .filter_map(|(id, level, at)| Some((id, level, at?)))
        .filter(|(_, _, at)| *at < to)
        .collect();
    if pending.is_empty() {
        return Ok(0);
    }

    let quality = crate::quality::store::period_facts(
        conn,
        from,
        to,
        rules.chat.first_response_target_secs,
        rules.quality.reopen_window_hours,
    )?;
    let mut decided = 0;
    for chunk in pending.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|(id, ..)| id.as_str()).collect();
        let holdings = holdings(conn, &ids, from, to)?;
        let decisions: Vec<Decision> = chunk
            .iter()
            .map(|(id, level, certified)| {
                let adherence = adherence_of(holdings.get(id.as_str()).map_or(&[], Vec::as_slice));
                let facts = quality.get(id.as_str()).cloned().unwrap_or_default();
                let m = Month {
                    quality_x100: super::score::score(&rules.quality.weights, &facts).score_x100,
                    adherence_bp: adherence.ratio_bp.map(u32::from),
                    hours: u32::try_from(adherence.worked_minutes / 60).unwrap_or(u32::MAX),
                    in_grace: in_grace(
                        certified.and_utc().with_timezone(&zone).date_naive(),
                        rules.levels.grace_months,
                        first,
                    ),
                };
                Decision {
                    agent: id.as_str(),
                    level: *level,
                    change: recompute(&rules.levels, u32::try_from(*level).unwrap_or(1), &m),
                    month: m,
                    minutes: adherence.worked_minutes,
                }
            })
            .collect();
        let batch = write_transaction(conn, |conn| -> Result<usize, AppError> {
            for d in &decisions {
                write_decision(conn, ctx, &rules.levels, &rules.version, &month, d, now)?;
            }
            Ok(decisions.len())
        });
        match batch {
            Ok(n) => decided += n,
            // Another instance decided some of them first (the unique month row), or the
            // database failed: the batch is undone whole and looked at again next pass.
            Err(e) => {
                tracing::warn!(month = %month, error = %e, "level recomputation batch failed; will retry")
            }
        }
    }
    if decided > 0 {
        tracing::info!(month = %month, decided, "agent levels recomputed");
    }
    Ok(decided)
}

/// The month's shift holdings of `agents`, by agent.
fn holdings(
    conn: &mut DbConn,
    agents_: &[&str],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<HashMap<String, Vec<HoldingRow>>> {
    let rows: Vec<(String, HoldingRow)> = shift_assignments::table
        .filter(shift_assignments::agent_id.eq_any(agents_))
        .filter(shift_assignments::starts_at.ge(from))
        .filter(shift_assignments::starts_at.lt(to))
        .select((
            shift_assignments::agent_id,
            (
                shift_assignments::starts_at,
                shift_assignments::ends_at,
                shift_assignments::outcome,
                shift_assignments::checked_in_at,
                shift_assignments::checked_out_at,
            ),
        ))
        .load(conn)?;
    let mut by_agent: HashMap<String, Vec<HoldingRow>> = HashMap::new();
    for (agent, row) in rows {
        by_agent.entry(agent).or_default().push(row);
    }
    Ok(by_agent)
}

/// One agent's month and what it decides.
struct Decision<'a> {
    agent: &'a str,
    level: i32,
    month: Month,
    minutes: i64,
    change: Change,
}

fn write_decision(
    conn: &mut DbConn,
    ctx: &MailCtx,
    levels: &Levels,
    version: &str,
    month: &str,
    d: &Decision<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let (agent, level, m, change) = (d.agent, d.level, &d.month, &d.change);
    let (to, reasons): (u32, Vec<ShortfallView>) = match change {
        Change::Promoted { to, .. } => (*to, Vec::new()),
        Change::Demoted { to, because, .. } => (*to, because.iter().map(Into::into).collect()),
        Change::Kept { level } => (*level, Vec::new()),
    };
    let to = i32::try_from(to).unwrap_or(level);
    let as_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    diesel::insert_into(agent_level_changes::table)
        .values((
            agent_level_changes::id.eq(new_id()),
            agent_level_changes::agent_id.eq(agent),
            agent_level_changes::month.eq(month),
            agent_level_changes::from_level.eq(level),
            agent_level_changes::to_level.eq(to),
            agent_level_changes::quality_x100.eq(m.quality_x100.map(as_i32)),
            agent_level_changes::adherence_bp.eq(m.adherence_bp.map(as_i32)),
            agent_level_changes::minutes_worked.eq(i32::try_from(d.minutes).unwrap_or(i32::MAX)),
            agent_level_changes::in_grace.eq(m.in_grace),
            agent_level_changes::reasons
                .eq(serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into())),
            agent_level_changes::ruleset_version.eq(version),
            agent_level_changes::created_at.eq(now),
        ))
        .execute(conn)?;
    if to == level {
        return Ok(());
    }
    diesel::update(agents::table.find(agent))
        .set((agents::level.eq(to), agents::level_since.eq(now)))
        .execute(conn)?;
    let (Some(old), Some(new)) = (
        levels.get(u32::try_from(level).unwrap_or(1)),
        levels.get(u32::try_from(to).unwrap_or(1)),
    ) else {
        return Ok(());
    };
    mails::send(
        conn,
        &AccountId(agent.to_owned()),
        |to| MailKind::LevelChanged {
            promoted: new.number > old.number,
            from: old.name(to.locale).to_owned(),
            to: new.name(to.locale).to_owned(),
            number: new.number,
            month: month.to_owned(),
            quality: m
                .quality_x100
                .map(|q| format!("{:.1}", f64::from(q) / 100.0)),
            adherence: m
                .adherence_bp
                .map(|a| format!("{:.1}%", f64::from(a) / 100.0)),
            hours: format!("{:.1}", d.minutes as f64 / 60.0),
            reasons: reasons.clone(),
            max_chats: new.max_concurrent_chats,
            early_access: new.early_access,
            pay_multiplier: format!("×{:.2}", f64::from(new.pay_multiplier_bp) / 10_000.0),
            link: ctx.link("/agent/level"),
        },
        now,
    )?;
    Ok(())
}

/// The housekeeping pass's share: decides the month just ended once it has ended.
pub async fn tick(state: &crate::state::AppState) -> usize {
    let ctx = MailCtx::new(state);
    let decided = crate::seats::jobs::run_step(state, &ctx, "agent_levels", recompute_due).await;
    if decided > 0 {
        state.wake_outbox();
    }
    decided
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_last_full_month_is_the_one_before_today() {
        assert_eq!(last_full_month(d(2026, 12, 4)), d(2026, 11, 1));
        assert_eq!(last_full_month(d(2027, 1, 1)), d(2026, 12, 1));
        assert_eq!(last_full_month(d(2026, 3, 31)), d(2026, 2, 1));
    }

    #[test]
    fn grace_covers_the_months_that_end_within_it() {
        // Certified on 10 November with one grace month: November ends inside it, December
        // does not.
        assert!(in_grace(d(2026, 11, 10), 1, d(2026, 11, 1)));
        assert!(!in_grace(d(2026, 11, 10), 1, d(2026, 12, 1)));
        // Certified on the last day of a month.
        assert!(in_grace(d(2026, 11, 30), 1, d(2026, 11, 1)));
        assert!(!in_grace(d(2026, 11, 30), 1, d(2026, 12, 1)));
        // Certified on the first: the grace is that whole month.
        assert!(in_grace(d(2026, 11, 1), 1, d(2026, 11, 1)));
        assert!(!in_grace(d(2026, 10, 31), 1, d(2026, 11, 1)));
        // No grace at all.
        assert!(!in_grace(d(2026, 11, 20), 0, d(2026, 11, 1)));
        // Two grace months.
        assert!(in_grace(d(2026, 11, 10), 2, d(2026, 12, 1)));
    }
}
