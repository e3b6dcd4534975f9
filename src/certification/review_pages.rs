//! The reviewers' pages: the queues of exam attempts and trials waiting for marks (with
//! how long each has waited against the review SLA), the marking forms, and the trial
//! slots admins publish.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{NaiveDateTime, TimeZone as _, Utc};
use utoipa_actix_web::service_config::ServiceConfig;

use super::admin_pages::{admin_form, admin_session, field_list, local};
use super::reviews::{self, ExamReviewRequest, ExamReviewView, ReviewQueueItem, ScenarioMark};
use super::trial::{MAX_MARK, Mark};
use super::trials::{self, SlotRequest, TrialReviewRequest, TrialReviewView};
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::web::i18n::t_with;
use crate::web::pages::{PageCtx, error_page, redirect, render, url_escape};
use chrono_tz::Tz;

/// Hours within which submitted work should be reviewed; older items are flagged.
pub const REVIEW_SLA_HOURS: i64 = 48;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(queue_page)
        .service(exam_review_page)
        .service(mark_exam_page)
        .service(trial_review_page)
        .service(score_trial_page)
        .service(slots_page)
        .service(create_slot_page);
}

// ---------------------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------------------

struct QueueRow {
    href: String,
    agent: String,
    skill: String,
    submitted: String,
    waiting: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "admin/review_queue.html")]
struct QueuePage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    skills: Vec<(String, String)>,
    skill: String,
    exams: Vec<QueueRow>,
    exams_next: Option<String>,
    trials: Vec<QueueRow>,
    trials_next: Option<String>,
    zone_note: String,
}

#[derive(serde::Deserialize)]
struct QueueQuery {
    skill: Option<String>,
    exam_cursor: Option<String>,
    trial_cursor: Option<String>,
    done: Option<String>,
}

const QUEUE_PAGE: i64 = 25;

fn queue_rows(
    state: &AppState,
    ctx: &PageCtx,
    zone: Tz,
    items: Vec<ReviewQueueItem>,
    kind: &str,
) -> Vec<QueueRow> {
    let rules = state.rules();
    items
        .into_iter()
        .map(|i| QueueRow {
            href: format!("/admin/reviews/{kind}/{}", i.id),
            agent: i.agent_name,
            skill: rules.skill_name(&i.skill, ctx.lang),
            submitted: local(i.submitted_at, zone),
            waiting: t_with(
                ctx.lang,
                "reviews.hours",
                &[("hours", &i.waiting_hours.to_string())],
            ),
            overdue: i.waiting_hours >= REVIEW_SLA_HOURS,
        })
        .collect()
}

/// The next-page link for one queue, keeping the other's place and the filter.
fn next_link(skill: &str, key: &str, rows: &[ReviewQueueItem], other: Option<&str>) -> String {
    let other_key = if key == "exam_cursor" {
        "trial_cursor"
    } else {
        "exam_cursor"
    };
    let last = rows.last().map(|r| r.id.as_str()).unwrap_or("");
    let cursor = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, last);
    let mut link = format!("/admin/reviews?skill={}&{key}={cursor}", url_escape(skill));
    if let Some(o) = other {
        link.push_str(&format!("&{other_key}={}", url_escape(o)));
    }
    link
}

/// Work waiting for reviewers: exam attempts with written answers and finished trials,
/// oldest first.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/admin/reviews")]
async fn queue_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<QueueQuery>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let q = q.into_inner();
    let skill = q.skill.clone().filter(|s| !s.is_empty());
    let decode = |c: &Option<String>| -> Result<Option<String>, AppError> {
        crate::web::api::PageQuery {
            limit: Some(QUEUE_PAGE),
            cursor: c.clone(),
        }
        .parse()
        .map(|(_, c)| c)
    };
    let (exam_cursor, trial_cursor) = match (decode(&q.exam_cursor), decode(&q.trial_cursor)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error_page(ctx, e),
    };
    let exams = reviews::queue(&state, skill.clone(), exam_cursor, QUEUE_PAGE + 1).await;
    let trials = trials::review_queue(&state, skill.clone(), trial_cursor, QUEUE_PAGE + 1).await;
    let (mut exams, mut trials) = match (exams, trials) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error_page(ctx, e),
    };
    let skill_q = skill.clone().unwrap_or_default();
    let exams_next = (exams.len() as i64 > QUEUE_PAGE).then(|| {
        exams.truncate(QUEUE_PAGE as usize);
        next_link(&skill_q, "exam_cursor", &exams, q.trial_cursor.as_deref())
    });
    let trials_next = (trials.len() as i64 > QUEUE_PAGE).then(|| {
        trials.truncate(QUEUE_PAGE as usize);
        next_link(&skill_q, "trial_cursor", &trials, q.exam_cursor.as_deref())
    });
    let notice = match q.done.as_deref() {
        Some("exam") => Some(ctx.t("reviews.done_exam").into_owned()),
        Some("trial") => Some(ctx.t("reviews.done_trial").into_owned()),
        _ => None,
    };
    let page = QueuePage {
        ctx,
        notice,
        skills: state.rules().skill_names(ctx.lang),
        skill: skill_q,
        exams: queue_rows(&state, ctx, admin.zone, exams, "exams"),
        exams_next,
        trials: queue_rows(&state, ctx, admin.zone, trials, "trials"),
        trials_next,
        zone_note: t_with(
            ctx.lang,
            "reviews.zone_note",
            &[
                ("zone", admin.zone.name()),
                ("hours", &REVIEW_SLA_HOURS.to_string()),
            ],
        ),
    };
    render(ctx, &page, StatusCode::OK)
}

// ---------------------------------------------------------------------------------------
// Exam attempts
// ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/review_exam.html")]
struct ExamPage<'a> {
    ctx: &'a PageCtx,
    view: &'a ExamReviewView,
    skill: String,
    submitted: String,
    errors: Vec<(String, String)>,
    /// Posted values to show again after an error: number → (points, comment).
    posted: HashMap<usize, (String, String)>,
    open: bool,
}

impl ExamPage<'_> {
    fn points_of(&self, number: &usize) -> String {
        if let Some((p, _)) = self.posted.get(number) {
            return p.clone();
        }
        self.mark_of(*number)
            .map(|m| m.points.to_string())
            .unwrap_or_default()
    }

    fn comment_of(&self, number: &usize) -> String {
        if let Some((_, c)) = self.posted.get(number) {
            return c.clone();
        }
        self.mark_of(*number)
            .and_then(|m| m.comment.clone())
            .unwrap_or_default()
    }

    fn mark_of(&self, number: usize) -> Option<&ScenarioMark> {
        self.view
            .marks
            .as_ref()
            .and_then(|m| m.iter().find(|m| m.number == number))
    }
}

fn exam_page(
    state: &AppState,
    ctx: &PageCtx,
    zone: Tz,
    view: &ExamReviewView,
    errors: Vec<(String, String)>,
    posted: HashMap<usize, (String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let page = ExamPage {
        ctx,
        view,
        skill: state.rules().skill_name(&view.skill, ctx.lang),
        submitted: view
            .submitted_at
            .map(|t| local(t, zone))
            .unwrap_or_default(),
        errors,
        posted,
        open: view.status == "awaiting_review",
    };
    render(ctx, &page, status)
}

/// An exam attempt's written answers beside the model answers, with the marking form.
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 404, content_type = "text/html", body = String)))]
#[get("/admin/reviews/exams/{attempt_id}")]
async fn exam_review_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    match reviews::get(&state, path.into_inner()).await {
        Ok(view) => exam_page(
            &state,
            ctx,
            admin.zone,
            &view,
            Vec::new(),
            HashMap::new(),
            StatusCode::OK,
        ),
        Err(e) => error_page(ctx, e),
    }
}

/// Saves the marks of an attempt's written answers.
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Marked: back to the queue"), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/reviews/exams/{attempt_id}")]
async fn mark_exam_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/admin/reviews/exams/{id}");
    let form = form.into_inner();
    let token = form.get("csrf_token").map(String::as_str).unwrap_or("");
    let admin = match admin_form(&state, &req, &back, token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let view = match reviews::get(&state, id.clone()).await {
        Ok(v) => v,
        Err(e) => return error_page(ctx, e),
    };
    let mut posted = HashMap::new();
    let mut marks = Vec::new();
    let mut unreadable = Vec::new();
    for s in view.scenarios.iter().filter(|s| s.answer.is_some()) {
        let points = form
            .get(&format!("points_{}", s.number))
            .map(|p| p.trim().to_owned())
            .unwrap_or_default();
        let comment = form
            .get(&format!("comment_{}", s.number))
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        posted.insert(s.number, (points.clone(), comment.clone()));
        match points.parse::<u32>() {
            Ok(p) => marks.push(ScenarioMark {
                number: s.number,
                points: p,
                comment: Some(comment).filter(|c| !c.is_empty()),
            }),
            Err(_) => unreadable.push(FieldError::new(
                format!("points_{}", s.number),
                "invalid_number",
                t_with(
                    ctx.lang,
                    "reviews.points_needed",
                    &[("number", &s.number.to_string())],
                ),
            )),
        }
    }
    let result = if unreadable.is_empty() {
        reviews::review(&state, admin.id.clone(), id, ExamReviewRequest { marks })
            .await
            .map(|_| ())
    } else {
        Err(AppError::Validation(unreadable))
    };
    match result {
        Ok(()) => admin.finish(redirect("/admin/reviews?done=exam")),
        Err(AppError::Validation(errors)) => admin.finish(exam_page(
            &state,
            ctx,
            admin.zone,
            &view,
            field_list(&errors),
            posted,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => admin.finish(error_page(ctx, e)),
    }
}

// ---------------------------------------------------------------------------------------
// Trials
// ---------------------------------------------------------------------------------------

struct ChatBlock {
    title: String,
    /// (customer message, reply, seconds to reply).
    turns: Vec<(String, Option<String>, Option<i64>)>,
}

struct CriterionRow {
    key: String,
    label: String,
    weight: u32,
    guidance: String,
    score: Option<u32>,
    comment: String,
}

impl CriterionRow {
    fn is(&self, score: &u32) -> bool {
        self.score == Some(*score)
    }
}

#[derive(Template)]
#[template(path = "admin/review_trial.html")]
struct TrialPage<'a> {
    ctx: &'a PageCtx,
    view: &'a TrialReviewView,
    skill: String,
    slot: String,
    chats: Vec<ChatBlock>,
    median_seconds: Option<i64>,
    criteria: Vec<CriterionRow>,
    feedback: String,
    scores: Vec<u32>,
    errors: Vec<(String, String)>,
    open: bool,
}

fn trial_page(
    state: &AppState,
    ctx: &PageCtx,
    zone: Tz,
    view: &TrialReviewView,
    posted: Option<&HashMap<String, String>>,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let chats = view
        .trial
        .chats
        .iter()
        .map(|c| ChatBlock {
            title: c.title.clone(),
            turns: c
                .turns
                .iter()
                .map(|t| {
                    (
                        t.customer.clone(),
                        t.reply.clone(),
                        t.replied_at.map(|r| (r - t.shown_at).num_seconds()),
                    )
                })
                .collect(),
        })
        .collect();
    let mut sorted = view.response_seconds.clone();
    sorted.sort_unstable();
    let given = view.trial.marks.clone().unwrap_or_default();
    let criteria = view
        .criteria
        .iter()
        .map(|c| {
            let mark = given.iter().find(|m| m.criterion == c.key);
            let posted_score = posted
                .and_then(|f| f.get(&format!("score_{}", c.key)))
                .and_then(|s| s.parse().ok());
            let posted_comment = posted.and_then(|f| f.get(&format!("comment_{}", c.key)));
            let key = format!("criterion.{}", c.key);
            let label = ctx.t(&key);
            CriterionRow {
                key: c.key.clone(),
                // Criteria an admin added have no translation: their key is their name.
                label: if label == key {
                    c.key.replace('_', " ")
                } else {
                    label.into_owned()
                },
                weight: c.weight,
                guidance: c.guidance.clone(),
                score: posted_score.or(mark.map(|m| m.score)),
                comment: posted_comment
                    .cloned()
                    .or_else(|| mark.and_then(|m| m.comment.clone()))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let page = TrialPage {
        ctx,
        view,
        skill: state.rules().skill_name(&view.trial.skill, ctx.lang),
        slot: format!(
            "{} – {}",
            local(view.trial.starts_at, zone),
            local(view.trial.ends_at, zone)
        ),
        chats,
        median_seconds: sorted.get(sorted.len() / 2).copied(),
        criteria,
        feedback: posted
            .and_then(|f| f.get("feedback").cloned())
            .or_else(|| view.trial.feedback.clone())
            .unwrap_or_default(),
        scores: (0..=MAX_MARK).collect(),
        errors,
        open: view.trial.status == "awaiting_review",
    };
    render(ctx, &page, status)
}

/// A finished trial: every practice chat with response times, and the scorecard.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 404, content_type = "text/html", body = String)))]
#[get("/admin/reviews/trials/{trial_id}")]
async fn trial_review_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    match trials::review_get(&state, path.into_inner()).await {
        Ok(view) => trial_page(
            &state,
            ctx,
            admin.zone,
            &view,
            None,
            Vec::new(),
            StatusCode::OK,
        ),
        Err(e) => error_page(ctx, e),
    }
}

/// Saves a trial's scorecard.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Scored: back to the queue"), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/reviews/trials/{trial_id}")]
async fn score_trial_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/admin/reviews/trials/{id}");
    let form = form.into_inner();
    let token = form.get("csrf_token").map(String::as_str).unwrap_or("");
    let admin = match admin_form(&state, &req, &back, token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let view = match trials::review_get(&state, id.clone()).await {
        Ok(v) => v,
        Err(e) => return error_page(ctx, e),
    };
    let mut marks = Vec::new();
    let mut unmarked = Vec::new();
    for c in &view.criteria {
        match form
            .get(&format!("score_{}", c.key))
            .and_then(|s| s.parse::<u32>().ok())
        {
            Some(score) => marks.push(Mark {
                criterion: c.key.clone(),
                score,
                comment: form
                    .get(&format!("comment_{}", c.key))
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
            }),
            None => unmarked.push(FieldError::new(
                format!("score_{}", c.key),
                "required",
                t_with(ctx.lang, "reviews.score_needed", &[("criterion", &c.key)]),
            )),
        }
    }
    let result = if unmarked.is_empty() {
        let req = TrialReviewRequest {
            marks,
            feedback: form.get("feedback").cloned().unwrap_or_default(),
        };
        trials::review(&state, admin.id.clone(), id, req)
            .await
            .map(|_| ())
    } else {
        Err(AppError::Validation(unmarked))
    };
    match result {
        Ok(()) => admin.finish(redirect("/admin/reviews?done=trial")),
        Err(AppError::Validation(errors)) => admin.finish(trial_page(
            &state,
            ctx,
            admin.zone,
            &view,
            Some(&form),
            field_list(&errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => admin.finish(error_page(ctx, e)),
    }
}

// ---------------------------------------------------------------------------------------
// Trial slots
// ---------------------------------------------------------------------------------------

struct SlotRow {
    skill: String,
    when: String,
    capacity: i32,
    booked: i32,
}

#[derive(Template)]
#[template(path = "admin/trial_slots.html")]
struct SlotsPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    skills: Vec<(String, String)>,
    slots: Vec<SlotRow>,
    zone: String,
    form_skill: String,
    form_start: String,
    form_minutes: String,
    form_capacity: String,
}

#[derive(serde::Deserialize)]
struct SlotsQuery {
    created: Option<String>,
}

async fn slots_response(
    state: &AppState,
    ctx: &PageCtx,
    zone: Tz,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: Option<&HashMap<String, String>>,
    status: StatusCode,
) -> HttpResponse {
    let slots = match trials::list_slots(state, None, false, 200).await {
        Ok(s) => s,
        Err(e) => return error_page(ctx, e),
    };
    let get = |k: &str, default: &str| {
        form.and_then(|f| f.get(k).cloned())
            .unwrap_or_else(|| default.to_owned())
    };
    let rules = state.rules();
    let page = SlotsPage {
        ctx,
        notice,
        errors,
        skills: rules.skill_names(ctx.lang),
        slots: slots
            .into_iter()
            .map(|s| SlotRow {
                skill: rules.skill_name(&s.skill, ctx.lang),
                when: format!("{} – {}", local(s.starts_at, zone), local(s.ends_at, zone)),
                capacity: s.capacity,
                booked: s.booked,
            })
            .collect(),
        zone: zone.name().to_owned(),
        form_skill: get("skill", ""),
        form_start: get("starts_at", ""),
        form_minutes: get("minutes", "120"),
        form_capacity: get("capacity", "5"),
    };
    render(ctx, &page, status)
}

/// Upcoming trial slots and the form to publish one.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/admin/trial-slots")]
async fn slots_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<SlotsQuery>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let notice = q
        .created
        .as_ref()
        .map(|_| ctx.t("slots.created").into_owned());
    slots_response(
        &state,
        ctx,
        admin.zone,
        notice,
        Vec::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// A local date and time typed in `zone` (`2026-12-01T09:30`), as UTC.
fn parse_local(raw: &str, zone: Tz) -> Option<chrono::DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M").ok()?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Publishes a trial slot.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Published"), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/trial-slots")]
async fn create_slot_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let token = form.get("csrf_token").map(String::as_str).unwrap_or("");
    let admin = match admin_form(&state, &req, "/admin/trial-slots", token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let mut errors = Vec::new();
    let starts = parse_local(&get("starts_at"), admin.zone);
    if starts.is_none() {
        errors.push(FieldError::new(
            "starts_at",
            "invalid_datetime",
            ctx.t("slots.bad_start"),
        ));
    }
    let minutes = get("minutes")
        .parse::<i64>()
        .ok()
        .filter(|m| (30..=480).contains(m));
    if minutes.is_none() {
        errors.push(FieldError::new(
            "minutes",
            "out_of_range",
            ctx.t("slots.bad_minutes"),
        ));
    }
    let capacity = get("capacity").parse::<i32>().ok();
    if capacity.is_none() {
        errors.push(FieldError::new(
            "capacity",
            "invalid_number",
            ctx.t("slots.bad_number"),
        ));
    }
    let result = match (starts, minutes, capacity) {
        (Some(starts), Some(minutes), Some(capacity)) if errors.is_empty() => {
            let req = SlotRequest {
                skill: get("skill"),
                starts_at: starts,
                ends_at: starts + chrono::Duration::minutes(minutes),
                capacity,
            };
            trials::create_slot(&state, admin.id.clone(), req)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(()) => admin.finish(redirect("/admin/trial-slots?created=1")),
        Err(AppError::Validation(errors)) => admin.finish(
            slots_response(
                &state,
                ctx,
                admin.zone,
                None,
                field_list(&errors),
                Some(&form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await,
        ),
        Err(e) => admin.finish(error_page(ctx, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_admins_zone() {
        let t = parse_local("2026-12-01T09:30", chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T01:30:00+00:00");
        assert!(parse_local("tomorrow", chrono_tz::Asia::Shanghai).is_none());
        assert!(parse_local("", chrono_tz::Asia::Shanghai).is_none());
    }
}
