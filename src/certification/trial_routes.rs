//! JSON API for exam reviews, trial shifts and certifications.

use actix_web::{get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::reviews::{self, ExamReviewRequest, ExamReviewView, ReviewQueueItem};
use super::trial::TrialRules;
use super::trials::{
    self, CertificationView, ReplyRequest, SlotRequest, SlotView, TrialReviewRequest,
    TrialReviewView, TrialView,
};
use crate::auth::{Admin, AgentSession};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SkillFilter {
    /// Only this skill.
    pub skill: Option<String>,
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(exam_review_queue)
        .service(exam_review)
        .service(mark_exam)
        .service(get_trial_rules)
        .service(save_trial_rules)
        .service(create_slot)
        .service(admin_slots)
        .service(trial_review_queue)
        .service(trial_review)
        .service(score_trial)
        .service(open_slots)
        .service(book_slot)
        .service(my_trials)
        .service(my_certifications)
        .service(get_trial)
        .service(cancel_trial)
        .service(begin_trial)
        .service(reply_trial)
        .service(finish_trial);
}

/// Exam attempts whose written answers wait for a reviewer, oldest first, with how long
/// each has waited.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(SkillFilter, PageQuery),
    responses(
        (status = 200, body = Page<ReviewQueueItem>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/exam-reviews")]
async fn exam_review_queue(
    state: web::Data<AppState>,
    _admin: Admin,
    filter: web::Query<SkillFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ReviewQueueItem>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = reviews::queue(&state, filter.into_inner().skill, cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// A submitted attempt as its reviewer sees it: the written answers beside each
/// question's model answer and rubric.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("attempt_id" = String, Path)),
    responses(
        (status = 200, body = ExamReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/exam-reviews/{attempt_id}")]
async fn exam_review(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<ExamReviewView>, AppError> {
    Ok(web::Json(reviews::get(&state, path.into_inner()).await?))
}

/// Mark the written answers of an attempt; settles the result, moves a first-time passer
/// to `exam_passed` and mails the agent.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("attempt_id" = String, Path)),
    request_body = ExamReviewRequest,
    responses(
        (status = 200, body = ExamReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_awaiting_review`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/exam-reviews/{attempt_id}")]
async fn mark_exam(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<ExamReviewRequest>,
) -> Result<web::Json<ExamReviewView>, AppError> {
    Ok(web::Json(
        reviews::review(&state, admin.0.id, path.into_inner(), body.0).await?,
    ))
}

/// A track's trial rules: scorecard criteria and weights, pass mark, practice chats.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("skill" = String, Path)),
    responses(
        (status = 200, body = TrialRules),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/exam-tracks/{skill}/trial")]
async fn get_trial_rules(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<TrialRules>, AppError> {
    Ok(web::Json(
        trials::trial_rules(&state, path.into_inner()).await?,
    ))
}

/// Replace a track's trial rules.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("skill" = String, Path)),
    request_body = TrialRules,
    responses(
        (status = 200, body = TrialRules),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/admin/exam-tracks/{skill}/trial")]
async fn save_trial_rules(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<TrialRules>,
) -> Result<web::Json<TrialRules>, AppError> {
    Ok(web::Json(
        trials::set_trial_rules(&state, admin.0.id, path.into_inner(), body.0).await?,
    ))
}

/// Publish a supervised trial slot for a skill.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = SlotRequest,
    responses(
        (status = 201, body = SlotView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/trial-slots")]
async fn create_slot(
    state: web::Data<AppState>,
    admin: Admin,
    body: ApiJson<SlotRequest>,
) -> Result<actix_web::HttpResponse, AppError> {
    Ok(actix_web::HttpResponse::Created()
        .json(trials::create_slot(&state, admin.0.id, body.0).await?))
}

/// Trial slots that have not ended, soonest first (at most 200), with how full they are.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(SkillFilter),
    responses(
        (status = 200, body = Vec<SlotView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/trial-slots")]
async fn admin_slots(
    state: web::Data<AppState>,
    _admin: Admin,
    filter: web::Query<SkillFilter>,
) -> Result<web::Json<Vec<SlotView>>, AppError> {
    Ok(web::Json(
        trials::list_slots(&state, filter.into_inner().skill, false, 200).await?,
    ))
}

/// Trials waiting for a reviewer, oldest first, with how long each has waited.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(SkillFilter, PageQuery),
    responses(
        (status = 200, body = Page<ReviewQueueItem>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/trial-reviews")]
async fn trial_review_queue(
    state: web::Data<AppState>,
    _admin: Admin,
    filter: web::Query<SkillFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ReviewQueueItem>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = trials::review_queue(&state, filter.into_inner().skill, cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// A trial as its reviewer sees it: every practice chat with response times, and the
/// scorecard.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    responses(
        (status = 200, body = TrialReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/trial-reviews/{trial_id}")]
async fn trial_review(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<TrialReviewView>, AppError> {
    Ok(web::Json(
        trials::review_get(&state, path.into_inner()).await?,
    ))
}

/// Score a trial on the scorecard: a pass certifies the agent for the skill for 12 months,
/// a fail sends them back to book another trial with the feedback.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    request_body = TrialReviewRequest,
    responses(
        (status = 200, body = TrialReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_awaiting_review`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/trial-reviews/{trial_id}")]
async fn score_trial(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<TrialReviewRequest>,
) -> Result<web::Json<TrialReviewView>, AppError> {
    Ok(web::Json(
        trials::review(&state, admin.0.id, path.into_inner(), body.0).await?,
    ))
}

/// Trial slots the signed-in agent can book (future, not full), soonest first.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(SkillFilter),
    responses(
        (status = 200, body = Vec<SlotView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/trial-slots")]
async fn open_slots(
    state: web::Data<AppState>,
    _agent: AgentSession,
    filter: web::Query<SkillFilter>,
) -> Result<web::Json<Vec<SlotView>>, AppError> {
    Ok(web::Json(
        trials::list_slots(&state, filter.into_inner().skill, true, 200).await?,
    ))
}

/// Book a trial slot (the skill's exam must be passed); mails the booking.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(("slot_id" = String, Path)),
    responses(
        (status = 201, body = TrialView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`exam_not_passed`, `already_certified`, `trial_already_booked`, `slot_full`, `slot_started`, `status_forbids`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/trial-slots/{slot_id}/book")]
async fn book_slot(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<actix_web::HttpResponse, AppError> {
    Ok(actix_web::HttpResponse::Created()
        .json(trials::book(&state, agent.0.id, path.into_inner()).await?))
}

/// The signed-in agent's trials, newest first.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<TrialView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/trials")]
async fn my_trials(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<Vec<TrialView>>, AppError> {
    Ok(web::Json(trials::my_trials(&state, agent.0.id).await?))
}

/// The signed-in agent's certifications per skill, with expiry.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<CertificationView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/certifications")]
async fn my_certifications(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<Vec<CertificationView>>, AppError> {
    Ok(web::Json(
        trials::my_certifications(&state, agent.0.id).await?,
    ))
}

/// One of the signed-in agent's trials, with the practice chats so far.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    responses(
        (status = 200, body = TrialView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/trials/{trial_id}")]
async fn get_trial(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<TrialView>, AppError> {
    Ok(web::Json(
        trials::get(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Cancel a booked trial before it begins.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    responses(
        (status = 200, body = TrialView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_booked`, `trial_started`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/trials/{trial_id}/cancel")]
async fn cancel_trial(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<TrialView>, AppError> {
    Ok(web::Json(
        trials::cancel(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Begin the trial: the practice customers' first messages appear (idempotent).
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    responses(
        (status = 200, body = TrialView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`trial_not_started` (with `starts_at`), `trial_over`, `not_booked`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/trials/{trial_id}/begin")]
async fn begin_trial(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<TrialView>, AppError> {
    Ok(web::Json(
        trials::begin(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Reply in a practice chat; the customer's next message follows.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    request_body = ReplyRequest,
    responses(
        (status = 200, body = TrialView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`nothing_to_answer`, `trial_not_started`, `trial_over`, `not_booked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/trials/{trial_id}/replies")]
async fn reply_trial(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    body: ApiJson<ReplyRequest>,
) -> Result<web::Json<TrialView>, AppError> {
    Ok(web::Json(
        trials::reply(&state, agent.0.id, path.into_inner(), body.0).await?,
    ))
}

/// Finish the trial early; it goes to a reviewer.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    params(("trial_id" = String, Path)),
    responses(
        (status = 200, body = TrialView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`nothing_answered`, `not_booked`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/trials/{trial_id}/finish")]
async fn finish_trial(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<TrialView>, AppError> {
    Ok(web::Json(
        trials::finish(&state, agent.0.id, path.into_inner()).await?,
    ))
}
