//! Agent levels over HTTP: an agent's own level, what it grants, what the next level asks
//! and the monthly decisions that led there; admins see any agent's.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::levels::{Level, Levels};
use super::levels_store::{self, LevelDecision};
use crate::accounts::model::AccountId;
use crate::auth::{Admin, AgentSession};
use crate::error::{AppError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(my_level).service(agent_level);
}

/// Months of decisions shown.
const HISTORY_MONTHS: i64 = 12;

/// An agent's level.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentLevel {
    pub agent_id: String,
    pub level: Level,
    /// When the level last changed; absent while it is the starting level.
    pub since: Option<DateTime<Utc>>,
    /// The level above and what reaching it asks; absent at the top.
    pub next: Option<Level>,
    /// Months after certification in which the agent is not moved down.
    pub grace_months: u32,
    /// The monthly decisions, newest first (the last 12 months).
    pub history: Vec<LevelDecision>,
}

pub(crate) async fn level_for(state: &AppState, agent: AccountId) -> Result<AgentLevel, AppError> {
    let (current, history) = state
        .db
        .run({
            let agent = agent.clone();
            move |conn| -> Result<_, AppError> {
                let current = levels_store::current(conn, &agent)?.ok_or(AppError::NotFound)?;
                Ok((
                    current,
                    levels_store::history(conn, &agent, HISTORY_MONTHS)?,
                ))
            }
        })
        .await?;
    let rules = state.rules();
    let levels: &Levels = &rules.levels;
    let number = u32::try_from(current.0).unwrap_or(1);
    let level = levels.get(number).unwrap_or_else(|| levels.lowest());
    Ok(AgentLevel {
        agent_id: agent.0,
        level: level.clone(),
        since: current.1.map(|t| t.and_utc()),
        next: levels.get(level.number + 1).cloned(),
        grace_months: levels.grace_months,
        history,
    })
}

/// The signed-in agent's level: what it grants (concurrent chats, early access to new
/// shifts, pay multiplier), what the next level asks, and the monthly decisions.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AgentLevel),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/level")]
async fn my_level(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<AgentLevel>, AppError> {
    Ok(web::Json(level_for(&state, agent.0.id).await?))
}

/// An agent's level and its monthly decisions.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "The agent's account id")),
    responses(
        (status = 200, body = AgentLevel),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/level")]
async fn agent_level(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<AgentLevel>, AppError> {
    Ok(web::Json(
        level_for(&state, AccountId(path.into_inner())).await?,
    ))
}
