//! At-risk agents over HTTP (admins only): the scored list with its reasons and each
//! agent's latest follow-up, as JSON pages or CSV, and the follow-up contacts themselves.
//! The page (`at_risk_pages`) shows the same list through [`assessed`].

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::at_risk::{self, Assessment, Signal};
use super::at_risk_store::{self, PoolAgent};
use super::follow_ups::{self, FollowUpInput, FollowUpView};
use crate::accounts::model::Locale;
use crate::auth::Admin;
use crate::error::{AppError, FieldErrors, Invalid, Problem};
use crate::seats::rules::Ruleset;
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery, page_rows};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_at_risk)
        .service(export_at_risk)
        .service(record_follow_up)
        .service(list_follow_ups);
}

/// The at-risk list's filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtRiskQuery {
    /// Only agents scoring at least this, 0-100 (default 1: everyone with a warning sign;
    /// 0 lists every certified agent).
    pub min_score: Option<String>,
    /// Only agents with a valid certification for this skill (`skills.toml` id).
    pub skill: Option<String>,
}

/// Validated filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub min_score: u32,
    pub skill: Option<String>,
}

impl Filter {
    pub fn parse(q: &AtRiskQuery, rules: &Ruleset) -> Result<Filter, AppError> {
        let mut errors = FieldErrors::new();
        let min_score = match q.min_score.as_deref().map(str::trim) {
            None | Some("") => Some(1),
            Some(raw) => errors.check(
                "min_score",
                raw.parse::<u32>()
                    .ok()
                    .filter(|s| *s <= 100)
                    .ok_or_else(|| Invalid::new("out_of_range", "a whole number from 0 to 100")),
            ),
        };
        let skill = match q.skill.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(id) => errors.check(
                "skill",
                rules
                    .skill(id)
                    .map(|s| Some(s.id.clone()))
                    .ok_or_else(|| Invalid::new("unknown_skill", "no such skill")),
            ),
        };
        errors.finish()?;
        Ok(Filter {
            min_score: min_score.unwrap_or(1),
            skill: skill.flatten(),
        })
    }

    fn keeps(&self, l: &Listed) -> bool {
        l.assessment.score >= self.min_score
            && self
                .skill
                .as_ref()
                .is_none_or(|s| l.agent.skills.contains(s))
    }
}

/// One scored agent.
#[derive(Debug, Clone)]
pub struct Listed {
    pub agent: PoolAgent,
    pub assessment: Assessment,
    pub last_follow_up: Option<FollowUpView>,
}

/// What the scores were computed over.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// The end of the last week read (the start of today in the market's zone).
    pub as_of: DateTime<Utc>,
    /// The first instant of the recent weeks, and of the baseline weeks before them.
    pub recent_from: DateTime<Utc>,
    pub baseline_from: DateTime<Utc>,
    /// The pool's median of recent earnings, in fen; absent when nobody earned.
    pub pool_median_fen: Option<i64>,
    /// Each sign's weight (`seat-rules/at_risk.toml`); they add up to 100.
    pub weights: BTreeMap<String, u32>,
}

/// Every certified agent scored, highest score first (then by id), before filtering.
pub async fn assessed(state: &AppState) -> Result<(Overview, Vec<Listed>), AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    let (facts, latest) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let facts = at_risk_store::load(conn, &rules, now)?;
            Ok((facts, follow_ups::latest(conn)?))
        })
        .await?;
    let rules = state.rules();
    Ok(score_all(&rules, now, facts, latest))
}

fn score_all(
    rules: &Ruleset,
    now: NaiveDateTime,
    facts: Vec<(PoolAgent, at_risk::AgentFacts)>,
    mut latest: BTreeMap<String, FollowUpView>,
) -> (Overview, Vec<Listed>) {
    let r = &rules.at_risk;
    let median = at_risk::pool_median(facts.iter().map(|(_, f)| f), r);
    let mut listed: Vec<Listed> = facts
        .into_iter()
        .map(|(agent, f)| Listed {
            assessment: at_risk::assess(&f, median, r),
            last_follow_up: latest.remove(&agent.id),
            agent,
        })
        .collect();
    listed.sort_by(|a, b| {
        b.assessment
            .score
            .cmp(&a.assessment.score)
            .then_with(|| a.agent.id.cmp(&b.agent.id))
    });
    let today = now
        .and_utc()
        .with_timezone(&rules.market.time_zone)
        .date_naive();
    let weeks = at_risk_store::week_days(today, r.weeks());
    let start = |i: usize| {
        weeks
            .get(i)
            .map(|(first, _)| crate::payroll::aggregate::local_days(rules, *first, *first).from)
            .unwrap_or(now)
            .and_utc()
    };
    let overview = Overview {
        as_of: crate::payroll::aggregate::local_days(rules, today, today)
            .from
            .and_utc(),
        recent_from: start(r.baseline_weeks as usize),
        baseline_from: start(0),
        pool_median_fen: median,
        weights: at_risk::weights(r)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    };
    (overview, listed)
}

/// The filtered agents after the agent `cursor` (in the whole list's order), at most
/// `limit + 1` of them.
pub fn page_after(
    listed: Vec<Listed>,
    filter: &Filter,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Listed>, AppError> {
    let start = match cursor {
        None => 0,
        Some(id) => {
            listed
                .iter()
                .position(|l| l.agent.id == id)
                .ok_or_else(|| {
                    AppError::field(
                        "cursor",
                        "invalid_cursor",
                        "this cursor is not one we issued",
                    )
                })?
                + 1
        }
    };
    Ok(listed
        .into_iter()
        .skip(start)
        .filter(|l| filter.keeps(l))
        .take(limit + 1)
        .collect())
}

/// A sign that fired, explained.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AtRiskReason {
    pub signal: Signal,
    /// Its weight in the score.
    pub weight: u32,
    /// The reason in English, with the figures.
    pub reason: String,
    /// The figures behind it, by name.
    pub figures: BTreeMap<String, String>,
}

/// An agent on the at-risk list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AtRiskAgent {
    pub agent_id: String,
    pub name: String,
    pub email: String,
    /// Skills with a valid certification.
    pub skills: Vec<String>,
    pub in_pool_since: DateTime<Utc>,
    /// 0-100: the weights of the signs in `reasons`.
    pub score: u32,
    /// The warning signs that fired, in a fixed order.
    pub reasons: Vec<AtRiskReason>,
    /// The newest follow-up contact, if any.
    pub last_follow_up: Option<FollowUpView>,
}

impl From<Listed> for AtRiskAgent {
    fn from(l: Listed) -> Self {
        AtRiskAgent {
            agent_id: l.agent.id,
            name: l.agent.name,
            email: l.agent.email,
            skills: l.agent.skills,
            in_pool_since: l.agent.pool_since.and_utc(),
            score: l.assessment.score,
            reasons: l
                .assessment
                .fired
                .iter()
                .map(|f| AtRiskReason {
                    signal: f.signal,
                    weight: f.weight,
                    reason: f.reason(Locale::En),
                    figures: f
                        .args
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect(),
                })
                .collect(),
            last_follow_up: l.last_follow_up,
        }
    }
}

/// One page of the at-risk list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AtRiskList {
    #[serde(flatten)]
    pub overview: Overview,
    pub items: Vec<AtRiskAgent>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Certified agents showing warning signs that they may leave, highest score first: each
/// with the signs that fired (weight, reason, figures), the score (their weights added,
/// 0-100) and the newest follow-up contact. The signs, weights and thresholds are in
/// `seat-rules/at_risk.toml`; the weeks compared are in the response.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(AtRiskQuery, PageQuery),
    responses(
        (status = 200, body = AtRiskList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`min_score` not 0-100 (`out_of_range`), `skill` unknown (`unknown_skill`), a bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/analytics/at-risk")]
async fn list_at_risk(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<AtRiskQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<AtRiskList>, AppError> {
    let (limit, cursor) = page.parse()?;
    let filter = Filter::parse(&query, &state.rules())?;
    let (overview, listed) = assessed(&state).await?;
    let rows = page_after(listed, &filter, cursor.as_deref(), limit as usize)?;
    let (rows, next_cursor) = page_rows(rows, limit, |l| l.agent.id.clone());
    Ok(web::Json(AtRiskList {
        overview,
        items: rows.into_iter().map(AtRiskAgent::from).collect(),
        next_cursor,
    }))
}

const CSV_HEADER: [&str; 11] = [
    "agent_id",
    "name",
    "email",
    "skills",
    "score",
    "signals",
    "reasons",
    "last_follow_up_at",
    "last_follow_up_channel",
    "last_follow_up_outcome",
    "last_follow_up_note",
];

/// The at-risk list as CSV text (every agent the filter keeps, a header row first, reasons
/// in `locale`, lists joined with `; `, instants in UTC ISO 8601).
pub fn csv_text(rows: &[Listed], locale: Locale) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::new();
    // A byte-order mark, so spreadsheets read the (often Chinese) names as UTF-8.
    out.extend_from_slice("\u{feff}".as_bytes());
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER)?;
    for l in rows {
        let f = l.last_follow_up.as_ref();
        let cells = [
            l.agent.id.clone(),
            l.agent.name.clone(),
            l.agent.email.clone(),
            l.agent.skills.join("; "),
            l.assessment.score.to_string(),
            l.assessment
                .fired
                .iter()
                .map(|f| f.signal.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            l.assessment
                .fired
                .iter()
                .map(|f| f.reason(locale))
                .collect::<Vec<_>>()
                .join("; "),
            f.map(|f| f.contacted_at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            f.map(|f| f.channel.clone()).unwrap_or_default(),
            f.map(|f| f.outcome.clone()).unwrap_or_default(),
            f.map(|f| f.note.clone()).unwrap_or_default(),
        ];
        w.write_record(
            cells
                .iter()
                .map(|c| crate::certification::pool::neutralise(c).into_owned()),
        )?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The CSV download of the whole filtered list (also served to the page's session).
pub(crate) async fn csv_response(
    state: &AppState,
    filter: Filter,
    locale: Locale,
) -> Result<HttpResponse, AppError> {
    let (_, listed) = assessed(state).await?;
    let rows: Vec<Listed> = listed.into_iter().filter(|l| filter.keeps(l)).collect();
    let body = csv_text(&rows, locale).map_err(AppError::internal)?;
    let name = format!(
        "at-risk-agents-{}.csv",
        state.clock.now().format("%Y%m%d-%H%M%S")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The at-risk list as CSV: every agent the same filters as `GET
/// /api/admin/analytics/at-risk` keep, highest score first, with the columns `agent_id,
/// name, email, skills, score, signals, reasons, last_follow_up_at,
/// last_follow_up_channel, last_follow_up_outcome, last_follow_up_note` (lists joined with
/// `; `, instants UTC ISO 8601, reasons in English; a cell that would start a spreadsheet
/// formula is prefixed with `'`).
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(AtRiskQuery),
    responses(
        (status = 200, description = "CSV with a header row, as an attachment", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, named in `errors[].field`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/analytics/at-risk/export.csv")]
async fn export_at_risk(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<AtRiskQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = Filter::parse(&query, &state.rules())?;
    csv_response(&state, filter, Locale::En).await
}

/// Records a follow-up contact with an agent (how and when they were reached, what came of
/// it, a note), audit logged as `agent.follow_up_recorded`. The at-risk list shows each
/// agent's newest contact.
pub async fn record(
    state: &AppState,
    admin: crate::accounts::model::AccountId,
    agent: String,
    input: FollowUpInput,
) -> Result<FollowUpView, AppError> {
    let now = state.clock.now();
    let new = follow_ups::validate(&input, now)?;
    Ok(state
        .db
        .run(move |conn| follow_ups::record(conn, &admin, &agent, new, now))
        .await?)
}

/// Records a follow-up contact with an agent (any status), audit logged as
/// `agent.follow_up_recorded`; the at-risk list shows each agent's newest contact.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "The agent's account id")),
    request_body = FollowUpInput,
    responses(
        (status = 201, body = FollowUpView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`channel` or `outcome` not one of the values (`unknown_value`), `note` over 2000 characters (`too_long`), `contacted_at` not an instant (`invalid_instant`) or in the future (`in_future`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/agents/{agent_id}/follow-ups")]
async fn record_follow_up(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<FollowUpInput>,
) -> Result<HttpResponse, AppError> {
    let view = record(&state, admin.0.id, path.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(view))
}

/// An agent's follow-up contacts, newest first.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "The agent's account id"), PageQuery),
    responses(
        (status = 200, body = Page<FollowUpView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/follow-ups")]
async fn list_follow_ups(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<FollowUpView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let agent = path.into_inner();
    let rows = state
        .db
        .run(move |conn| follow_ups::of_agent(conn, &agent, cursor.as_deref(), limit + 1))
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}
