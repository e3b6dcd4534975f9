//! Quality over HTTP: reviewing chats, an agent's reviews and quality score with its trend,
//! disputes and their resolution. The rules live in [`super::reviews`] and [`super::score`].

use actix_web::{get, post, web};
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::library::{self, ModelChat, ModelChatSummary};
use super::reviews::{self, DisputeInput, DisputeView, ResolveInput, ReviewInput, ReviewView};
use super::score::{self, Score};
use super::store;
use crate::accounts::model::AccountId;
use crate::auth::{Admin, AgentSession, Caller};
use crate::error::{AppError, FieldErrors, Invalid, Problem};
use crate::state::AppState;
use crate::web::api::{Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(review_chat)
        .service(chat_reviews)
        .service(my_reviews)
        .service(my_quality)
        .service(agent_quality)
        .service(dispute_review)
        .service(list_disputes)
        .service(resolve_dispute)
        .service(model_chats)
        .service(model_chat)
        .service(review_sample);
}

/// Reviews a closed chat on its skill's scorecard: every criterion scored on its scale with
/// an optional comment; `exemplary` adds the chat, customer details masked, to the
/// model-chat library.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "The chat")),
    request_body = ReviewInput,
    responses(
        (status = 201, body = ReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents (`own_chat` for the agent who served it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chat, or another shop's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`chat_not_reviewable` (not closed, no agent), `already_reviewed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`scores[i].criterion` unknown or twice, `scores[i].score` off the scale, `scores` missing a criterion", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/chats/{chat_id}/reviews")]
async fn review_chat(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<ReviewInput>,
) -> Result<actix_web::HttpResponse, AppError> {
    let view = reviews::create(&state, caller, path.into_inner(), body.into_inner()).await?;
    Ok(actix_web::HttpResponse::Created().json(view))
}

/// A chat's reviews: for admins, the chat's shop and the agent who served it.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "The chat")),
    responses(
        (status = 200, body = Vec<ReviewView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Other agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chat, or another shop's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/chats/{chat_id}/reviews")]
async fn chat_reviews(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<Vec<ReviewView>>, AppError> {
    Ok(web::Json(
        reviews::of_chat(&state, caller, path.into_inner()).await?,
    ))
}

/// The signed-in agent's reviews, newest first, with the scorecard comments and any
/// dispute.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<ReviewView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/reviews")]
async fn my_reviews(
    state: web::Data<AppState>,
    agent: AgentSession,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ReviewView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = reviews::of_agent(&state, agent.0.id, limit, cursor).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualityQuery {
    /// Start of the period, an RFC 3339 instant (`2026-11-01T00:00:00+08:00`); by default
    /// the current pay period's.
    pub from: Option<String>,
    /// End (exclusive); by default the current pay period's.
    pub to: Option<String>,
}

/// One pay period of the trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    /// First and last local day of the pay period (`pay.toml`'s `period`).
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// 0-10000; absent with nothing measured.
    pub score_x100: Option<u32>,
}

/// An agent's quality score for a period with its parts, and the last six pay periods'.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityView {
    pub agent_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The score and each part (value, weight, the weight it carried, what it was measured
    /// on). The formula: the weighted mean of the parts present (see the README).
    pub score: Score,
    /// Oldest first, the current pay period last.
    pub trend: Vec<TrendPoint>,
}

fn instant(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<NaiveDateTime> {
    errors.check(
        field,
        DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| t.naive_utc())
            .map_err(|_| {
                Invalid::new(
                    "invalid_instant",
                    "an RFC 3339 instant with a zone, like 2026-11-01T00:00:00Z",
                )
            }),
    )
}

/// Pay periods are local days of the market's zone: a day's start as a UTC instant.
pub(crate) fn start_of(zone: chrono_tz::Tz, d: NaiveDate) -> NaiveDateTime {
    zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN))
}

pub(crate) fn next_day(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

type Periods = Vec<(NaiveDate, NaiveDate)>;

/// The last six pay periods (first and last local day of the market's zone), oldest
/// first, the current one last.
pub(crate) fn recent_periods(state: &AppState, rules: &crate::seats::rules::Ruleset) -> Periods {
    let today = state
        .clock
        .now()
        .and_utc()
        .with_timezone(&rules.market.time_zone)
        .date_naive();
    let mut periods = Vec::new();
    let mut day = today;
    for _ in 0..6 {
        let (first, last) = rules.pay.period.containing(day);
        periods.push((first, last));
        day = first.checked_sub_days(Days::new(1)).unwrap_or(first);
    }
    periods.reverse();
    periods
}

/// The queried period (by default the current pay period, `pay.toml`'s `period`) and the
/// last six pay periods (first and last local day), oldest first.
fn period(
    state: &AppState,
    rules: &crate::seats::rules::Ruleset,
    query: &QualityQuery,
) -> Result<(NaiveDateTime, NaiveDateTime, Periods), AppError> {
    let zone = rules.market.time_zone;
    let periods = recent_periods(state, rules);
    let (current_first, current_last) = periods[5];
    let mut errors = FieldErrors::new();
    let from = match query.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => instant("from", raw, &mut errors),
        None => Some(start_of(zone, current_first)),
    };
    let to = match query.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => instant("to", raw, &mut errors),
        None => Some(start_of(zone, next_day(current_last))),
    };
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        errors.push(
            "to",
            Invalid::new("period_inverted", "`to` must be after `from`"),
        );
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(errors.into());
    };
    errors.finish()?;
    Ok((from, to, periods))
}

pub async fn quality(
    state: &AppState,
    agent: AccountId,
    query: QualityQuery,
) -> Result<QualityView, AppError> {
    let rules = state.rules();
    let zone = rules.market.time_zone;
    let (from, to, periods) = period(state, &rules, &query)?;
    let target = rules.chat.first_response_target_secs;
    let window = rules.quality.reopen_window_hours;
    let weights = rules.quality.weights;
    let bounds: Vec<(NaiveDate, NaiveDate, NaiveDateTime, NaiveDateTime)> = periods
        .iter()
        .map(|&(f, l)| (f, l, start_of(zone, f), start_of(zone, next_day(l))))
        .collect();
    let id = agent.as_str().to_owned();
    let (facts, trend) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let facts = store::agent_facts(conn, &id, from, to, target, window)?;
            let mut trend = Vec::new();
            for (first_day, last_day, f, t) in bounds {
                let facts = store::agent_facts(conn, &id, f, t, target, window)?;
                trend.push(TrendPoint {
                    first_day,
                    last_day,
                    score_x100: score::score(&weights, &facts).score_x100,
                });
            }
            Ok((facts, trend))
        })
        .await?;
    Ok(QualityView {
        agent_id: agent.0,
        from: from.and_utc(),
        to: to.and_utc(),
        score: score::score(&weights, &facts),
        trend,
    })
}

/// The signed-in agent's quality score for a period (by default the current pay period):
/// reviews, customer ratings, first-response compliance and resolution, each with its
/// weight, and the trend over the last six pay periods.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(QualityQuery),
    responses(
        (status = 200, body = QualityView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`from`/`to` not an instant (`invalid_instant`) or `to` not after `from` (`period_inverted`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/quality")]
async fn my_quality(
    state: web::Data<AppState>,
    agent: AgentSession,
    query: web::Query<QualityQuery>,
) -> Result<web::Json<QualityView>, AppError> {
    Ok(web::Json(
        quality(&state, agent.0.id, query.into_inner()).await?,
    ))
}

/// An agent's quality score for a period, as the agent sees it.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "The agent's account id"), QualityQuery),
    responses(
        (status = 200, body = QualityView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/quality")]
async fn agent_quality(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<QualityQuery>,
) -> Result<web::Json<QualityView>, AppError> {
    let agent = AccountId(path.into_inner());
    let a = agent.clone();
    let account = state
        .db
        .run(move |conn| crate::accounts::store::find(conn, &a))
        .await?;
    match account {
        Some(acc) if acc.role == "agent" => {}
        _ => return Err(AppError::NotFound),
    }
    Ok(web::Json(quality(&state, agent, query.into_inner()).await?))
}

/// Disputes a review of one's own chat, once, within the dispute window
/// (`quality.toml`'s `dispute_window_hours`).
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(("review_id" = String, Path, description = "The review")),
    request_body = DisputeInput,
    responses(
        (status = 201, body = DisputeView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such review of the agent's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_disputed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `reason`, or the window closed (`review_id`: `dispute_window_closed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/reviews/{review_id}/dispute")]
async fn dispute_review(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    body: web::Json<DisputeInput>,
) -> Result<actix_web::HttpResponse, AppError> {
    let view = reviews::dispute(&state, agent.0.id, path.into_inner(), body.into_inner()).await?;
    Ok(actix_web::HttpResponse::Created().json(view))
}

/// Review disputes, open ones first (oldest first), then resolved ones.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<DisputeView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/review-disputes")]
async fn list_disputes(
    state: web::Data<AppState>,
    _admin: Admin,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<DisputeView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = reviews::disputes(&state, limit, cursor).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// Accepts a dispute with an amended score (it replaces the review's in the quality
/// score) or rejects it with an answer; audit logged, the agent is mailed.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("dispute_id" = String, Path, description = "The dispute")),
    request_body = ResolveInput,
    responses(
        (status = 200, body = DisputeView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dispute", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_resolved`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`amended_x100` missing, off 0-10000 or given on a rejection; `answer` missing on a rejection", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/review-disputes/{dispute_id}/resolve")]
async fn resolve_dispute(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<ResolveInput>,
) -> Result<web::Json<DisputeView>, AppError> {
    let view = reviews::resolve(&state, admin.0.id, path.into_inner(), body.into_inner()).await?;
    state.wake_outbox();
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LibraryQuery {
    /// Only this skill's model chats.
    pub skill: Option<String>,
}

/// The model-chat library, newest first: exemplary chats, customer details masked.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(LibraryQuery, PageQuery),
    responses(
        (status = 200, body = Page<ModelChatSummary>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Shops; agents not yet certified (`not_certified`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/model-chats")]
async fn model_chats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<LibraryQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ModelChatSummary>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let skill = query
        .into_inner()
        .skill
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let rows = library::list(&state, caller, skill, limit, cursor).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// One model chat: its masked transcript only.
#[utoipa::path(
    tag = "quality",
    security(("bearer" = [])),
    params(("model_chat_id" = String, Path, description = "The model chat")),
    responses(
        (status = 200, body = ModelChat),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Shops; agents not yet certified (`not_certified`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/model-chats/{model_chat_id}")]
async fn model_chat(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<ModelChat>, AppError> {
    Ok(web::Json(
        library::get(&state, caller, path.into_inner()).await?,
    ))
}

/// A chat the sample proposes for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleChat {
    pub chat_id: String,
    /// `low_rating`, `slow_first_response` (always proposed) or `drawn` (the keyed draw
    /// that fills the sample up to its size).
    pub reason: String,
    /// Reviewed already, by anyone.
    pub reviewed: bool,
}

/// One agent's review sample for the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleAgent {
    pub agent_id: String,
    /// Certified less than `new_agent_days` before the period ended (a larger sample).
    pub new_agent: bool,
    pub closed_chats: usize,
    pub proposed: Vec<SampleChat>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SamplePage {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// In agent id order.
    pub items: Vec<SampleAgent>,
    pub next_cursor: Option<String>,
}

/// The review sample of a period (by default the current pay period), per agent: every
/// low-rated chat and every slow first reply, then a reproducible draw up to the sample
/// size (`quality.toml`), each marked reviewed or not.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(QualityQuery, PageQuery),
    responses(
        (status = 200, body = SamplePage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad period (`invalid_instant`, `period_inverted`), limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/quality/sample")]
async fn review_sample(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<QualityQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<SamplePage>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rules = state.rules();
    let (from, to, _) = period(&state, &rules, &query)?;
    Ok(web::Json(
        sample(&state, from, to, limit, cursor, false).await?,
    ))
}

/// The review sample of `from`..`to` per agent, `limit` agents after `cursor` (an agent
/// id) in agent id order, or the reverse with `descending`: what the API and the admin
/// review queue show.
pub(crate) async fn sample(
    state: &AppState,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
    cursor: Option<String>,
    descending: bool,
) -> Result<SamplePage, AppError> {
    let rules = state.rules();
    let target = rules.chat.first_response_target_secs;
    let sources = state
        .db
        .run(move |conn| {
            store::sample_sources(
                conn,
                from,
                to,
                target,
                cursor.as_deref(),
                limit + 1,
                descending,
            )
        })
        .await?;
    let quality = rules.quality;
    let new_since = to - chrono::Duration::days(i64::from(quality.new_agent_days));
    let page = Page::from_rows(
        sources,
        limit,
        |s| s.agent_id.clone(),
        |s| {
            let new_agent = s.first_certified_at.is_none_or(|at| at > new_since);
            let key = format!("{}/{}", from.and_utc().to_rfc3339(), s.agent_id);
            let proposed = super::sampling::propose(&quality, new_agent, &key, &s.candidates)
                .into_iter()
                .map(|(chat_id, reason)| SampleChat {
                    reviewed: s.reviewed.contains(&chat_id),
                    chat_id,
                    reason: reason.as_str().to_owned(),
                })
                .collect();
            SampleAgent {
                agent_id: s.agent_id,
                new_agent,
                closed_chats: s.candidates.len(),
                proposed,
            }
        },
    );
    Ok(SamplePage {
        from: from.and_utc(),
        to: to.and_utc(),
        items: page.items,
        next_cursor: page.next_cursor,
    })
}
