//! The activity timeline and worked hours over HTTP, as JSON and CSV. An admin sees any
//! agent's timeline, an agent their own; a shop's staff see the hours worked on their own
//! shop's shifts (another shop gets 404, as if nothing existed), admins any shop's, agents
//! none (403). The use cases here are shared with the pages ([`super::timeline_pages`]).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::merchant_dash::{parse_day, require_shop};
use super::timeline::{self, AgentWorked, Day, DayWorked, MerchantWorked, Totals, WorkedChat};
use super::timeline_store;
use crate::accounts::model::MerchantId;
use crate::auth::{Admin, AgentSession, Caller};
use crate::chat::fairness::Span;
use crate::error::{AppError, FieldErrors, Invalid, Problem};
use crate::shifts::claim::local_midnight;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(admin_activity)
        .service(admin_activity_csv)
        .service(my_activity)
        .service(my_activity_csv)
        .service(worked_hours)
        .service(worked_hours_csv)
        .service(worked_chats);
}

/// A range of days, as the query string gives it.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// First day, `YYYY-MM-DD` (default: six days before `to`, so a week).
    pub from: Option<String>,
    /// Last day, included, `YYYY-MM-DD` (default today); at most 92 days from `from`.
    pub to: Option<String>,
}

/// An agent's activity timeline over a range of their local days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityReport {
    pub agent_id: String,
    pub display_name: String,
    /// The agent's time zone: the days are theirs.
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The whole range's totals (definitions in the notes of
    /// `src/analytics/timeline.rs`).
    pub totals: Totals,
    /// Worked time per shop over the range.
    pub worked: Vec<MerchantWorked>,
    pub days: Vec<Day>,
}

/// The hours worked on a shop's shifts per agent and day (the market's days).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkedHoursReport {
    pub merchant_id: String,
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub worked_secs: i64,
    pub worked_hours: f64,
    /// Agents who worked in the range, by name.
    pub agents: Vec<AgentWorked>,
    /// Every day of the range, all agents together.
    pub days: Vec<DayWorked>,
}

/// The chats an agent held for a shop on one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkedChats {
    pub merchant_id: String,
    pub agent_id: String,
    pub day: NaiveDate,
    pub time_zone: String,
    pub chats: Vec<WorkedChat>,
}

/// The drill-down's agent and day.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkedChatsQuery {
    /// The agent's id.
    pub agent_id: Option<String>,
    /// The market day, `YYYY-MM-DD`.
    pub day: Option<String>,
}

fn zone_of(name: &str, fallback: Tz) -> Tz {
    name.parse().unwrap_or(fallback)
}

fn range_window(zone: Tz, from: NaiveDate, to: NaiveDate) -> Option<Span> {
    Span::new(
        local_midnight(zone, from),
        local_midnight(zone, to.succ_opt()?),
    )
}

/// The agent's timeline over `from..=to` of their own days; 404 when `agent` is no agent.
pub async fn activity_report(
    state: &AppState,
    agent: String,
    query: &DaysQuery,
) -> Result<ActivityReport, AppError> {
    let market = state.rules().market.time_zone;
    let now = state.clock.now();
    let found = state
        .db
        .run({
            let agent = agent.clone();
            move |conn| timeline_store::agent(conn, &agent)
        })
        .await?;
    let Some((display_name, zone_name)) = found else {
        return Err(AppError::NotFound);
    };
    let zone = zone_of(&zone_name, market);
    let (from, to) = timeline::parse_range(
        query.from.as_deref(),
        query.to.as_deref(),
        state.clock.today_in(zone),
    )?;
    let window = range_window(zone, from, to).ok_or(AppError::NotFound)?;
    let history = state
        .db
        .run({
            let agent = agent.clone();
            move |conn| timeline_store::history(conn, &agent, window, now)
        })
        .await?;
    let days = timeline::timeline(zone, from, to, now, &history);
    Ok(ActivityReport {
        agent_id: agent,
        display_name,
        time_zone: zone.name().to_owned(),
        from,
        to,
        totals: timeline::sum_totals(&days),
        worked: timeline::sum_worked(&days),
        days,
    })
}

fn local(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// One row per segment: the day, its start and end in UTC and in the agent's zone, the
/// state, whether on shift, and its length in seconds.
pub fn activity_csv(report: &ActivityReport) -> anyhow::Result<String> {
    let zone = zone_of(&report.time_zone, chrono_tz::UTC);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "agent_id",
        "date",
        "start_utc",
        "end_utc",
        "start_local",
        "end_local",
        "state",
        "on_shift",
        "secs",
    ])?;
    for day in &report.days {
        for s in &day.segments {
            w.write_record([
                report.agent_id.clone(),
                day.date.to_string(),
                s.start.to_rfc3339(),
                s.end.to_rfc3339(),
                local(s.start, zone),
                local(s.end, zone),
                s.state.as_str().to_owned(),
                s.on_shift.to_string(),
                s.secs.to_string(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

pub(crate) fn activity_download(report: &ActivityReport) -> Result<HttpResponse, AppError> {
    let body = activity_csv(report).map_err(AppError::Internal)?;
    Ok(crate::payroll::routes::csv_response(
        body,
        &format!("activity-{}-{}.csv", report.from, report.to),
    ))
}

/// Whether `caller` may see `merchant`'s worked hours.
pub fn may_see(caller: &Caller, merchant: &str) -> Result<(), AppError> {
    crate::accounts::routes::may_see_merchant(caller, &MerchantId(merchant.to_owned()))
}

/// The hours worked on `merchant`'s shifts over `from..=to` of the market's days.
pub async fn worked_hours_report(
    state: &AppState,
    merchant: String,
    query: &DaysQuery,
) -> Result<WorkedHoursReport, AppError> {
    let zone = state.rules().market.time_zone;
    let now = state.clock.now();
    let (from, to) = timeline::parse_range(
        query.from.as_deref(),
        query.to.as_deref(),
        state.clock.today_in(zone),
    )?;
    let window = range_window(zone, from, to).ok_or(AppError::NotFound)?;
    let (worked, names) = state
        .db
        .run({
            let merchant = merchant.clone();
            move |conn| -> Result<_, AppError> {
                require_shop(conn, &merchant)?;
                let worked = timeline_store::worked(conn, None, Some(&merchant), window, now)?;
                let mut ids: Vec<String> = worked.iter().map(|w| w.agent_id.clone()).collect();
                ids.sort();
                ids.dedup();
                let names: BTreeMap<String, String> = timeline_store::names(conn, &ids)?;
                Ok((worked, names))
            }
        })
        .await?;
    let (agents, days) = timeline::worked_hours(zone, from, to, &worked, &names);
    let worked_secs: i64 = agents.iter().map(|a| a.worked_secs).sum();
    Ok(WorkedHoursReport {
        merchant_id: merchant,
        time_zone: zone.name().to_owned(),
        from,
        to,
        worked_secs,
        worked_hours: timeline::hours(worked_secs),
        agents,
        days,
    })
}

/// One row per agent and day with worked time.
pub fn worked_hours_csv_body(report: &WorkedHoursReport) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "agent_id",
        "display_name",
        "date",
        "worked_secs",
        "worked_hours",
    ])?;
    for a in &report.agents {
        for d in &a.days {
            w.write_record([
                a.agent_id.clone(),
                a.display_name.clone(),
                d.date.to_string(),
                d.worked_secs.to_string(),
                format!("{:.2}", d.worked_hours),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The drill-down's checked parameters: both required, the day a date.
pub fn parse_drill_down(q: &WorkedChatsQuery) -> Result<(String, NaiveDate), AppError> {
    let mut errors = FieldErrors::new();
    let required = || Invalid::new("required", "this field is required");
    let agent = q
        .agent_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if agent.is_none() {
        errors.push("agent_id", required());
    }
    let day = match errors.check("day", parse_day(q.day.as_deref())) {
        Some(None) => {
            errors.push("day", required());
            None
        }
        Some(d) => d,
        None => None,
    };
    match (agent, day) {
        (Some(a), Some(d)) => Ok((a, d)),
        _ => Err(errors.into()),
    }
}

/// The chats `agent` held for `merchant` during `day` (a market day).
pub async fn worked_chats_of(
    state: &AppState,
    merchant: String,
    agent: String,
    day: NaiveDate,
) -> Result<WorkedChats, AppError> {
    let zone = state.rules().market.time_zone;
    let now = state.clock.now();
    let window = range_window(zone, day, day).ok_or(AppError::NotFound)?;
    let chats = state
        .db
        .run({
            let (merchant, agent) = (merchant.clone(), agent.clone());
            move |conn| -> Result<_, AppError> {
                require_shop(conn, &merchant)?;
                let holds = timeline_store::holds(conn, &agent, Some(&merchant), window, now)?;
                let mut ids: Vec<String> = holds.iter().map(|h| h.chat_id.clone()).collect();
                ids.sort();
                ids.dedup();
                let outcomes = timeline_store::chat_outcomes(conn, &ids)?;
                Ok(timeline::chats_held(&holds, window, &outcomes))
            }
        })
        .await?;
    Ok(WorkedChats {
        merchant_id: merchant,
        agent_id: agent,
        day,
        time_zone: zone.name().to_owned(),
        chats,
    })
}

/// An agent's activity per local day (their time zone): segments partitioning each day up
/// to now (`offline`, `away`, `online_idle`, `online_in_chats`, each on or off shift), the
/// worked shifts with their shop, the totals (online, away, offline, on shift, in chats,
/// idle: online on shift without a chat) and the hours worked per shop. Definitions in the
/// notes of `src/analytics/timeline.rs`.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "The agent's account id"), DaysQuery),
    responses(
        (status = 200, body = ActivityReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents and shops", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_date` (`from`/`to`), `period_inverted` or `period_too_long` (over 92 days; `to`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/activity")]
async fn admin_activity(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<web::Json<ActivityReport>, AppError> {
    Ok(web::Json(
        activity_report(&state, path.into_inner(), &query).await?,
    ))
}

/// The same timeline as CSV, one row per segment. Same parameters and errors as
/// `GET /api/admin/agents/{agent_id}/activity`.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "The agent's account id"), DaysQuery),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/activity.csv")]
async fn admin_activity_csv(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, AppError> {
    activity_download(&activity_report(&state, path.into_inner(), &query).await?)
}

/// The signed-in agent's own activity timeline (as `GET
/// /api/admin/agents/{agent_id}/activity`).
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(DaysQuery),
    responses(
        (status = 200, body = ActivityReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_date` (`from`/`to`), `period_inverted` or `period_too_long` (over 92 days; `to`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/activity")]
async fn my_activity(
    state: web::Data<AppState>,
    agent: AgentSession,
    query: web::Query<DaysQuery>,
) -> Result<web::Json<ActivityReport>, AppError> {
    Ok(web::Json(
        activity_report(&state, agent.0.id.0, &query).await?,
    ))
}

/// The signed-in agent's own timeline as CSV, one row per segment.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(DaysQuery),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/activity.csv")]
async fn my_activity_csv(
    state: web::Data<AppState>,
    agent: AgentSession,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, AppError> {
    activity_download(&activity_report(&state, agent.0.id.0, &query).await?)
}

/// Hours worked on the shop's shifts per agent and market day, with totals: what the shop
/// is billed against. From check-in to check-out clipped to each shift's times (a shift
/// still checked in counts up to now). Agents are shown by their display name.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), DaysQuery),
    responses(
        (status = 200, body = WorkedHoursReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_date` (`from`/`to`), `period_inverted` or `period_too_long` (over 92 days; `to`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/worked-hours")]
async fn worked_hours(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<web::Json<WorkedHoursReport>, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    Ok(web::Json(
        worked_hours_report(&state, merchant, &query).await?,
    ))
}

/// The worked hours as CSV, one row per agent and day with worked time.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), DaysQuery),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/worked-hours.csv")]
async fn worked_hours_csv(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> Result<HttpResponse, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    worked_hours_download(&worked_hours_report(&state, merchant, &query).await?)
}

/// The worked hours as a CSV attachment named after the range.
pub(crate) fn worked_hours_download(report: &WorkedHoursReport) -> Result<HttpResponse, AppError> {
    let body = worked_hours_csv_body(report).map_err(AppError::Internal)?;
    Ok(crate::payroll::routes::csv_response(
        body,
        &format!("worked-hours-{}-{}.csv", report.from, report.to),
    ))
}

/// The drill-down of a worked day: the chats of the shop the agent held at some time that
/// market day, with when the agent first took each, when it closed, the agent's handle
/// time (all their holds of it) and the customer's rating.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), WorkedChatsQuery),
    responses(
        (status = 200, body = WorkedChats),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`required` (`agent_id`, `day`) or `invalid_date` (`day`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/worked-hours/chats")]
async fn worked_chats(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<WorkedChatsQuery>,
) -> Result<web::Json<WorkedChats>, AppError> {
    let merchant = path.into_inner();
    may_see(&caller, &merchant)?;
    let (agent, day) = parse_drill_down(&query)?;
    Ok(web::Json(
        worked_chats_of(&state, merchant, agent, day).await?,
    ))
}
