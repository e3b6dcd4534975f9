//! JSON API for agent profiles and the agent lifecycle.

use actix_web::{get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::attempts::{self, AnswersRequest, AttemptView};
use super::banks::{self, ImportRequest, Imported, QuestionView, TrackView};
use super::exam::ExamRules;
use super::lifecycle::{AgentEvent, Party};
use super::profile::ProfileInput;
use super::service::{self, AdminActionRequest, LeaveRequest, ProfileView, TimelineEntry};
use crate::accounts::model::AccountId;
use crate::auth::{Admin, AgentSession};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, OptionalJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(my_profile)
        .service(update_my_profile)
        .service(leave)
        .service(come_back)
        .service(suspend)
        .service(reinstate)
        .service(agent_timeline)
        .service(list_tracks)
        .service(save_track)
        .service(import_questions)
        .service(list_questions)
        .service(start_attempt)
        .service(get_attempt)
        .service(save_answers)
        .service(submit_attempt);
}

/// The signed-in agent's profile.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/profile")]
async fn my_profile(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<ProfileView>, AppError> {
    Ok(web::Json(service::get_profile(&state, agent.0.id).await?))
}

/// Replace the signed-in agent's profile (languages, skills, weekly availability, chats at
/// once, accessibility preferences).
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    request_body = ProfileInput,
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/agents/me/profile")]
async fn update_my_profile(
    state: web::Data<AppState>,
    agent: AgentSession,
    body: ApiJson<ProfileInput>,
) -> Result<web::Json<ProfileView>, AppError> {
    Ok(web::Json(
        service::update_profile(&state, agent.0.id, body.0).await?,
    ))
}

/// Leave the talent pool (with an optional reason); coming back restores where you were.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    request_body(content = LeaveRequest, description = "Optional"),
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`status_forbids` (e.g. suspended, or already left)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/agents/me/leave")]
async fn leave(
    state: web::Data<AppState>,
    agent: AgentSession,
    body: OptionalJson<LeaveRequest>,
) -> Result<web::Json<ProfileView>, AppError> {
    let id = agent.0.id.clone();
    Ok(web::Json(
        service::act(
            &state,
            id.clone(),
            AgentEvent::Leave,
            Party::Agent,
            id,
            body.0.reason,
        )
        .await?,
    ))
}

/// Come back after leaving.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`status_forbids`: not left", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/agents/me/return")]
async fn come_back(
    state: web::Data<AppState>,
    agent: AgentSession,
) -> Result<web::Json<ProfileView>, AppError> {
    let id = agent.0.id.clone();
    Ok(web::Json(
        service::act(
            &state,
            id.clone(),
            AgentEvent::Return,
            Party::Agent,
            id,
            None,
        )
        .await?,
    ))
}

/// Suspend an agent (the reason goes into their timeline and the audit log).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("agent_id" = String, Path)),
    request_body = AdminActionRequest,
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/agents/{agent_id}/suspend")]
async fn suspend(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<AdminActionRequest>,
) -> Result<web::Json<ProfileView>, AppError> {
    admin_act(&state, admin, path, body, AgentEvent::Suspend).await
}

/// Lift an agent's suspension.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("agent_id" = String, Path)),
    request_body = AdminActionRequest,
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/agents/{agent_id}/reinstate")]
async fn reinstate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<AdminActionRequest>,
) -> Result<web::Json<ProfileView>, AppError> {
    admin_act(&state, admin, path, body, AgentEvent::Reinstate).await
}

/// An admin's move on an agent, with the reason the request gives.
async fn admin_act(
    state: &AppState,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<AdminActionRequest>,
    event: AgentEvent,
) -> Result<web::Json<ProfileView>, AppError> {
    let agent = AccountId(path.into_inner());
    let view = service::act(
        state,
        agent,
        event,
        Party::Admin,
        admin.0.id,
        Some(body.0.reason),
    )
    .await?;
    Ok(web::Json(view))
}

/// An agent's lifecycle, newest first: every status change with who and why.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("agent_id" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<TimelineEntry>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/{agent_id}/timeline")]
async fn agent_timeline(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<TimelineEntry>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = service::timeline(&state, AccountId(path.into_inner()), cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        TimelineEntry::from,
    )))
}

/// Exam tracks with their banks' size per topic and whether they are ready.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<TrackView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/exam-tracks")]
async fn list_tracks(
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<web::Json<Vec<TrackView>>, AppError> {
    Ok(web::Json(banks::list_tracks(&state).await?))
}

/// Create or change the exam track of a skill (questions per attempt, pass mark, time,
/// cooldown and attempts per 30 days).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("skill" = String, Path, description = "A skill id from the seat rules")),
    request_body = ExamRules,
    responses(
        (status = 200, body = TrackView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such skill", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/admin/exam-tracks/{skill}")]
async fn save_track(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<ExamRules>,
) -> Result<web::Json<TrackView>, AppError> {
    Ok(web::Json(
        banks::save_track(&state, admin.0.id, path.into_inner(), body.0).await?,
    ))
}

/// Import questions (CSV or TOML) into a track's bank; all rows or none.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("skill" = String, Path)),
    request_body = ImportRequest,
    responses(
        (status = 201, body = Imported),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No track for this skill", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every bad row, as `questions[N].field`; nothing was imported", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/exam-tracks/{skill}/questions/import")]
async fn import_questions(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<ImportRequest>,
) -> Result<actix_web::HttpResponse, AppError> {
    let done = banks::import(&state, admin.0.id, path.into_inner(), body.0).await?;
    Ok(actix_web::HttpResponse::Created().json(done))
}

/// A track's questions with their answers, oldest first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("skill" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<QuestionView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/exam-tracks/{skill}/questions")]
async fn list_questions(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<QuestionView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = banks::questions(&state, path.into_inner(), cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |q| q.id.clone(),
        |q| q,
    )))
}

/// Start an exam attempt for a skill: questions drawn from the bank (without their
/// answers) and a deadline kept by the server.
#[utoipa::path(
    tag = "exams",
    security(("bearer" = [])),
    params(("skill" = String, Path)),
    responses(
        (status = 201, body = AttemptView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No exam for this skill", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`retake_cooldown` or `too_many_attempts` (with `retry_at`), `attempt_in_progress`, `exam_unavailable`, `status_forbids`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/exams/{skill}/attempts")]
async fn start_attempt(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<actix_web::HttpResponse, AppError> {
    let view = attempts::start(&state, agent.0.id, path.into_inner()).await?;
    Ok(actix_web::HttpResponse::Created().json(view))
}

/// One of the signed-in agent's attempts (to resume it after a reload).
#[utoipa::path(
    tag = "exams",
    security(("bearer" = [])),
    params(("attempt_id" = String, Path)),
    responses(
        (status = 200, body = AttemptView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/attempts/{attempt_id}")]
async fn get_attempt(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<AttemptView>, AppError> {
    Ok(web::Json(
        attempts::get(&state, agent.0.id, path.into_inner()).await?,
    ))
}

/// Save answers so far (replaces what was saved).
#[utoipa::path(
    tag = "exams",
    security(("bearer" = [])),
    params(("attempt_id" = String, Path)),
    request_body = AnswersRequest,
    responses(
        (status = 200, body = AttemptView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_submitted` or `deadline_passed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/attempts/{attempt_id}/answers")]
async fn save_answers(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    body: ApiJson<AnswersRequest>,
) -> Result<web::Json<AttemptView>, AppError> {
    Ok(web::Json(
        attempts::save(&state, agent.0.id, path.into_inner(), body.0).await?,
    ))
}

/// Submit an attempt (with final answers, optional). After the deadline it is graded on
/// what was saved.
#[utoipa::path(
    tag = "exams",
    security(("bearer" = [])),
    params(("attempt_id" = String, Path)),
    request_body(content = AnswersRequest, description = "Optional"),
    responses(
        (status = 200, body = AttemptView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_submitted`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/attempts/{attempt_id}/submit")]
async fn submit_attempt(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    body: OptionalJson<AnswersRequest>,
) -> Result<web::Json<AttemptView>, AppError> {
    Ok(web::Json(
        attempts::submit(&state, agent.0.id, path.into_inner(), body.0).await?,
    ))
}
