//! Agent profile and lifecycle use cases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lifecycle::{self, AgentEvent, Party};
use super::profile::{self, LEAVE_REASONS, ProfileInput, WeeklySlot};
use super::store::{self, ProfileRow};
use crate::accounts::model::{AccountId, AgentStatus};
use crate::accounts::store as accounts;
use crate::audit::{self, AuditEntry, LifecycleEvent};
use crate::db::{DbConn, write_transaction};
use crate::error::{AppError, Invalid};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub account_id: AccountId,
    pub display_name: String,
    pub time_zone: String,
    pub status: AgentStatus,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    pub availability: Vec<WeeklySlot>,
    pub max_concurrent_chats: i32,
    pub accessibility: Vec<String>,
    /// Hours a week in `availability`.
    pub weekly_hours: f64,
    pub left_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveRequest {
    /// One of `found_other_work`, `pay`, `too_few_shifts`, `workload`, `health`,
    /// `personal`, `other`; optional.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminActionRequest {
    /// Why: kept in the agent's timeline and the audit log.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// Who caused it; absent for the service itself.
    pub actor_account_id: Option<String>,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<store::EventRow> for TimelineEntry {
    fn from(e: store::EventRow) -> Self {
        TimelineEntry {
            id: e.id,
            from_status: e.from_state,
            to_status: e.to_state,
            actor_account_id: e.actor_account_id,
            reason: e.reason,
            occurred_at: e.occurred_at.and_utc(),
        }
    }
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn view(conn: &mut DbConn, id: &AccountId) -> Result<ProfileView, AppError> {
    let agent = store::find(conn, id)?.ok_or(AppError::NotFound)?;
    let account = accounts::find(conn, id)?.ok_or(AppError::NotFound)?;
    let availability: Vec<WeeklySlot> =
        serde_json::from_str(&agent.availability).unwrap_or_default();
    Ok(ProfileView {
        account_id: agent.account_id,
        display_name: account.display_name,
        time_zone: account.time_zone,
        status: AgentStatus::parse(&agent.status).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("unknown agent status {}", agent.status))
        })?,
        languages: list(&agent.languages),
        skills: list(&agent.skills),
        weekly_hours: profile::weekly_hours(&availability),
        availability,
        max_concurrent_chats: agent.max_concurrent_chats,
        accessibility: list(&agent.accessibility),
        left_reason: agent.left_reason,
    })
}

pub async fn get_profile(state: &AppState, id: AccountId) -> Result<ProfileView, AppError> {
    Ok(state.db.run(move |conn| view(conn, &id)).await?)
}

pub async fn update_profile(
    state: &AppState,
    id: AccountId,
    input: ProfileInput,
) -> Result<ProfileView, AppError> {
    let rules = state.rules();
    let skills: Vec<&str> = rules.skills.iter().map(|s| s.id.as_str()).collect();
    let p = profile::parse(&input, &skills).map_err(AppError::from)?;
    let (languages, skills, availability, accessibility) = (
        serde_json::to_string(&p.languages).map_err(AppError::internal)?,
        serde_json::to_string(&p.skills).map_err(AppError::internal)?,
        serde_json::to_string(&p.availability).map_err(AppError::internal)?,
        serde_json::to_string(&p.accessibility).map_err(AppError::internal)?,
    );
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<ProfileView, AppError> {
                store::find(conn, &id)?.ok_or(AppError::NotFound)?;
                store::save_profile(
                    conn,
                    &id,
                    &ProfileRow {
                        display_name: &p.display_name,
                        time_zone: &p.time_zone,
                        languages: &languages,
                        skills: &skills,
                        availability: &availability,
                        max_concurrent_chats: p.max_concurrent_chats,
                        accessibility: &accessibility,
                    },
                    clock.now(),
                )?;
                view(conn, &id)
            })
        })
        .await?)
}

/// Applies a lifecycle event in the caller's write transaction: checks it with the pure
/// state machine, moves the status (conditionally), and records who and why.
pub fn apply_event(
    conn: &mut DbConn,
    agent: &AccountId,
    event: AgentEvent,
    party: Party,
    actor: Option<&AccountId>,
    reason: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<AgentStatus, AppError> {
    let row = store::find(conn, agent)?.ok_or(AppError::NotFound)?;
    let from = AgentStatus::parse(&row.status).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("unknown agent status {}", row.status))
    })?;
    let previous = row.previous_status.as_deref().and_then(AgentStatus::parse);
    let to = lifecycle::transition(from, event, party, previous).map_err(|e| match e {
        lifecycle::TransitionError::NotAllowed { .. } => {
            AppError::conflict("status_forbids", e.to_string())
        }
        lifecycle::TransitionError::WrongParty { .. } => AppError::Forbidden { code: "wrong_role" },
    })?;
    if matches!(event, AgentEvent::Suspend | AgentEvent::Leave) {
        // A suspended or departed agent does not keep a trial seat others could use.
        super::trials::cancel_booked_of(conn, agent)?;
    }
    let keep_previous = match event {
        AgentEvent::Suspend | AgentEvent::Leave => Some(from.as_str()),
        _ => None,
    };
    let left_reason = if event == AgentEvent::Leave {
        reason
    } else {
        None
    };
    if !store::set_status(
        conn,
        agent,
        from.as_str(),
        to.as_str(),
        keep_previous,
        left_reason,
        now,
    )? {
        return Err(AppError::conflict(
            "status_changed",
            "the agent's status changed meanwhile; reload",
        ));
    }
    audit::record_lifecycle(
        conn,
        LifecycleEvent {
            entity_type: "agent",
            entity_id: agent.as_str(),
            from_state: Some(from.as_str()),
            to_state: to.as_str(),
            actor,
            reason: Some(reason.unwrap_or(event.as_str())),
        },
        now,
    )?;
    if party == Party::Admin {
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: match event {
                    AgentEvent::Suspend => "agent.suspended",
                    AgentEvent::Reinstate => "agent.reinstated",
                    _ => "agent.status_changed",
                },
                target_type: "agent",
                target_id: Some(agent.as_str()),
                details: serde_json::json!({ "from": from.as_str(), "to": to.as_str(), "reason": reason }),
            },
            now,
        )?;
    }
    Ok(to)
}

/// An agent, or an admin on an agent, causes `event`.
pub async fn act(
    state: &AppState,
    agent: AccountId,
    event: AgentEvent,
    party: Party,
    actor: AccountId,
    reason: Option<String>,
) -> Result<ProfileView, AppError> {
    if event == AgentEvent::Leave
        && let Some(r) = &reason
        && !LEAVE_REASONS.contains(&r.as_str())
    {
        let invalid = Invalid::new(
            "unknown_value",
            format!("use one of: {}", LEAVE_REASONS.join(", ")),
        );
        return Err(AppError::field("reason", invalid.code, invalid.message));
    }
    if party == Party::Admin && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(AppError::field(
            "reason",
            "required",
            "say why; the agent's timeline keeps it",
        ));
    }
    let clock = state.clock.clone();
    let rules = state.rules();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<ProfileView, AppError> {
                apply_event(
                    conn,
                    &agent,
                    event,
                    party,
                    Some(&actor),
                    reason.as_deref().map(str::trim),
                    clock.now(),
                )?;
                if matches!(event, AgentEvent::Suspend | AgentEvent::Leave) {
                    let why = if event == AgentEvent::Leave {
                        "agent_left"
                    } else {
                        "agent_suspended"
                    };
                    crate::shifts::service::give_up_held(
                        conn,
                        &rules.shifts,
                        &agent,
                        why,
                        clock.now(),
                    )?;
                }
                view(conn, &agent)
            })
        })
        .await?)
}

pub async fn timeline(
    state: &AppState,
    agent: AccountId,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<store::EventRow>, AppError> {
    Ok(state
        .db
        .run(move |conn| -> Result<_, AppError> {
            store::find(conn, &agent)?.ok_or(AppError::NotFound)?;
            Ok(store::timeline(conn, &agent, before.as_deref(), limit)?)
        })
        .await?)
}
