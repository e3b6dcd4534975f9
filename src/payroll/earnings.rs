//! Earnings so far: a live estimate of the agent's pay for the pay period that holds today
//! (`pay.toml`'s `period`, local days of the market's zone), from the period's start up to
//! now. It is the payslip a run would compute if the period ended now: the agent's own
//! workload read by the run's aggregate queries (restricted to the agent), their quality
//! score so far, and the same pure [`payslip`] with the same lines and counts. Nothing is
//! stored; adjustments appear only while some are pending for the agent.

use std::collections::BTreeMap;

use actix_web::{get, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::Connection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::aggregate::{self, AgentInfo, Window};
use super::pay::payslip;
use super::service;
use super::store::{LineRow, NewLine};
use crate::accounts::model::AccountId;
use crate::auth::AgentSession;
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::seats::rules::Ruleset;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(my_earnings);
}

/// One line of the estimate, as a payslip line shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EstimateLine {
    /// `time`, `piece`, `concurrency`, `peak_bonus`, `urgent_bonus`, `level`, `no_show` or
    /// `adjustment`.
    pub kind: String,
    pub skill: Option<String>,
    pub chat_kind: Option<String>,
    /// Minutes for `time` and `peak_bonus` (rate per hour), else chats, shifts or fen.
    pub units: i64,
    /// Thousandths of a fen per unit.
    pub rate_millifen: i64,
    pub multiplier_bp: i32,
    pub amount_fen: i64,
    pub note: Option<String>,
    /// The counts this line came from.
    #[schema(value_type = Object)]
    pub sources: serde_json::Value,
    /// The line as words: units × rate × multiplier = amount.
    pub explained: String,
}

/// The agent's pay for the current pay period so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Earnings {
    pub agent_id: String,
    /// Always true: the period is not over and no run has checked it.
    pub estimate: bool,
    /// The pay period: first and last local day, and as instants.
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Work up to this instant is counted.
    pub as_of: DateTime<Utc>,
    /// Minutes checked in and chats closed so far.
    pub minutes: i64,
    pub chats: i64,
    /// The quality score so far (0-10000), absent with nothing measured yet.
    pub quality_score_x100: Option<u32>,
    pub quality_multiplier_bp: u32,
    pub level: i32,
    pub level_multiplier_bp: u32,
    pub lines: Vec<EstimateLine>,
    pub total_fen: i64,
}

fn line(l: NewLine) -> EstimateLine {
    let row = LineRow {
        id: l.id,
        run_id: l.run_id,
        agent_id: l.agent_id,
        position: l.position,
        kind: l.kind,
        skill: l.skill,
        chat_kind: l.chat_kind,
        units: l.units,
        rate_millifen: l.rate_millifen,
        multiplier_bp: l.multiplier_bp,
        amount_fen: l.amount_fen,
        note: l.note,
        sources: l.sources,
    };
    EstimateLine {
        explained: service::line_text(&row),
        sources: serde_json::from_str(&row.sources).unwrap_or_default(),
        kind: row.kind,
        skill: row.skill,
        chat_kind: row.chat_kind,
        units: row.units,
        rate_millifen: row.rate_millifen,
        multiplier_bp: row.multiplier_bp,
        amount_fen: row.amount_fen,
        note: row.note,
    }
}

/// The estimate for `agent` at `now`, read in one transaction.
pub fn estimate(
    conn: &mut DbConn,
    rules: &Ruleset,
    agent: &str,
    now: NaiveDateTime,
) -> Result<Earnings, AppError> {
    let zone = rules.market.time_zone;
    let today = now.and_utc().with_timezone(&zone).date_naive();
    let (first, last) = rules.pay.period.containing(today);
    let period = aggregate::local_days(rules, first, last);
    let so_far = Window {
        from: period.from,
        to: now.clamp(period.from, period.to),
    };
    let (agg, score) = conn.transaction(|conn| -> diesel::QueryResult<_> {
        let agg = aggregate::load_agent(conn, rules, so_far, agent)?;
        let facts = crate::quality::store::agent_facts(
            conn,
            agent,
            so_far.from,
            so_far.to,
            rules.chat.first_response_target_secs,
            rules.quality.reopen_window_hours,
        )?;
        Ok((
            agg,
            crate::quality::score::score(&rules.quality.weights, &facts).score_x100,
        ))
    })?;
    let workload = aggregate::workload(&agg, rules, agent, score);
    let slip = payslip(&rules.pay, &workload);
    let info = AgentInfo {
        score,
        level: aggregate::level_of(&agg, agent),
        level_multiplier_bp: workload.level_multiplier_bp,
    };
    let quality_multiplier_bp = slip.quality_multiplier_bp;
    let slips = BTreeMap::from([(agent.to_owned(), (slip, info))]);
    let (lines, mut payslips) = service::rows("", &agg, &slips);
    let counted = payslips.pop();
    Ok(Earnings {
        agent_id: agent.to_owned(),
        estimate: true,
        period_from: first,
        period_to: last,
        starts_at: period.from.and_utc(),
        ends_at: period.to.and_utc(),
        as_of: so_far.to.and_utc(),
        minutes: counted.as_ref().map_or(0, |p| p.minutes),
        chats: counted.as_ref().map_or(0, |p| p.chats),
        quality_score_x100: score,
        quality_multiplier_bp,
        level: info.level,
        level_multiplier_bp: info.level_multiplier_bp,
        total_fen: counted.as_ref().map_or(0, |p| p.total_fen),
        lines: lines.into_iter().map(line).collect(),
    })
}

/// The signed-in agent's earnings so far, as of the service's clock.
pub async fn of_agent(state: &AppState, agent: AccountId) -> Result<Earnings, AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| estimate(conn, &rules, agent.as_str(), now))
        .await
        .map_err(AppError::from)
}

/// The signed-in agent's earnings so far this pay period: a live estimate computed like a
/// payroll run's payslip (same lines, counts and rounding) from the period's start up to
/// now, with the quality score so far. Not a payslip: the run at the period's end decides.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Earnings),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/earnings")]
async fn my_earnings(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<Earnings>, AppError> {
    Ok(web::Json(of_agent(&state, agent.0.id).await?))
}
