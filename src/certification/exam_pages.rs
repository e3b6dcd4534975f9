//! The agent's exam pages: the tracks they can take, taking an attempt, and its result.
//! Every page works without JavaScript (forms post here and call the same use cases as the
//! JSON API); `static/exam.js` adds a countdown, autosave through the API and submission
//! when time runs out. Nothing here ever holds an answer key: pages are built from
//! [`AttemptView`], which has none.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::attempts::{self, AnswersRequest, AttemptView};
use super::exam::{Answer, PublicQuestion, QuestionKind};
use super::my_exams::{self, AgentTrack, AttemptSummary};
use super::reviews;
use crate::accounts::model::{AccountId, Locale, Role, TimeZone};
use crate::accounts::service::AccountView;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::i18n::t_with;
use crate::web::pages::{
    CsrfForm, PageCtx, badge, check_csrf, error_page, form_session, page_session, redirect, render,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(exams_page)
        .service(start_exam)
        .service(attempt_page)
        .service(save_answers)
        .service(confirm_page)
        .service(submit_attempt)
        .service(result_page);
}

/// A signed-in agent on an agent page (exams, trials, shifts).
pub(crate) struct Agent {
    pub(crate) ctx: PageCtx,
    pub(crate) id: AccountId,
    pub(crate) zone: chrono_tz::Tz,
    /// Renewed session cookies to set on the response (form posts only).
    cookies: Vec<Cookie<'static>>,
}

impl Agent {
    fn new(
        req: &HttpRequest,
        account: &AccountView,
        id: AccountId,
        cookies: Vec<Cookie<'static>>,
    ) -> Agent {
        Agent {
            ctx: PageCtx::new(req, Some(badge(account))),
            id,
            zone: TimeZone::parse(&account.time_zone).unwrap_or_default().0,
            cookies,
        }
    }

    /// For pages: an expired session goes through the refresh redirect.
    pub(crate) async fn of_page(
        state: &AppState,
        req: &HttpRequest,
    ) -> Result<Agent, HttpResponse> {
        let (caller, account) = page_session(state, req).await?;
        let agent = Agent::new(req, &account, caller.id, Vec::new());
        if caller.role != Role::Agent {
            return Err(agent.error(AppError::Forbidden { code: "wrong_role" }));
        }
        Ok(agent)
    }

    /// For form posts: an expired access cookie is renewed in place, so answers typed over
    /// a long exam are not lost; signing in again leads back to `back`.
    pub(crate) async fn of_form(
        state: &AppState,
        req: &HttpRequest,
        back: &str,
    ) -> Result<Agent, HttpResponse> {
        let (caller, account, cookies) = form_session(state, req, back).await?;
        let agent = Agent::new(req, &account, caller.id, cookies);
        if caller.role != Role::Agent {
            return Err(agent.error(AppError::Forbidden { code: "wrong_role" }));
        }
        Ok(agent)
    }

    pub(crate) fn time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// A time with its zone, for sentences that stand alone.
    pub(crate) fn time_zoned(&self, at: DateTime<Utc>) -> String {
        format!("{} ({})", self.time(at), self.zone.name())
    }

    pub(crate) fn t(&self, key: &str, args: &[(&str, &str)]) -> String {
        t_with(self.ctx.lang, key, args)
    }

    /// Sets the renewed session cookies, if any, on `res`.
    pub(crate) fn finish(&self, mut res: HttpResponse) -> HttpResponse {
        for cookie in &self.cookies {
            let _ = res.add_cookie(cookie);
        }
        res
    }

    pub(crate) fn error(&self, err: AppError) -> HttpResponse {
        self.finish(error_page(&self.ctx, err))
    }
}

macro_rules! agent_or_return {
    ($e:expr) => {
        match $e {
            Ok(agent) => agent,
            Err(res) => return res,
        }
    };
}
pub(crate) use agent_or_return;

pub(super) fn skill_name(state: &AppState, lang: Locale, skill: &str) -> String {
    state.rules().skill_name(skill, lang)
}

fn status_label(agent: &Agent, status: &str, expired: bool) -> String {
    let key = match status {
        "in_progress" if expired => "exams.status_expired",
        "in_progress" => "exams.status_in_progress",
        "awaiting_review" => "exams.status_awaiting_review",
        "passed" => "exams.status_passed",
        _ => "exams.status_failed",
    };
    agent.t(key, &[])
}

fn score(agent: &Agent, percent: Option<i32>, pass: i32) -> String {
    match percent {
        Some(p) => agent.t(
            "exams.score",
            &[("percent", &p.to_string()), ("pass", &pass.to_string())],
        ),
        None => "–".to_owned(),
    }
}

// ---------------------------------------------------------------- the list of tracks

struct AttemptLine {
    href: String,
    started: String,
    link_label: String,
    status: String,
    score: String,
}

struct TrackCard {
    skill: String,
    name: String,
    questions: usize,
    pass_percent: u32,
    minutes: String,
    retake_rule: String,
    ready: bool,
    can_start: bool,
    start_label: String,
    start_hint: String,
    /// (link, link text, hint) to the open attempt.
    open: Option<(String, String, String)>,
    retry_note: Option<String>,
    attempts: Vec<AttemptLine>,
}

#[derive(Template)]
#[template(path = "agents/exams.html")]
struct ExamsPage<'a> {
    ctx: &'a PageCtx,
    zone_note: String,
    message: Option<String>,
    tracks: Vec<TrackCard>,
}

fn track_card(state: &AppState, agent: &Agent, track: AgentTrack) -> TrackCard {
    let now = state.clock.now().and_utc();
    let name = skill_name(state, agent.ctx.lang, &track.skill);
    let minutes = track.rules.duration_minutes.to_string();
    let hours = track.rules.cooldown_hours.to_string();
    let retake_rule = if track.rules.max_attempts_per_30_days > 0 {
        agent.t(
            "exams.retake_rule",
            &[
                ("hours", &hours),
                ("max", &track.rules.max_attempts_per_30_days.to_string()),
            ],
        )
    } else {
        agent.t("exams.retake_rule_no_limit", &[("hours", &hours)])
    };
    TrackCard {
        can_start: track.can_start(),
        start_label: agent.t("exams.start", &[("skill", &name)]),
        start_hint: agent.t("exams.start_hint", &[("minutes", &minutes)]),
        open: track.open_attempt.as_ref().map(|a| {
            (
                format!("/agent/attempts/{}", a.id),
                agent.t("exams.continue", &[("skill", &name)]),
                agent.t(
                    "exams.continue_hint",
                    &[("time", &agent.time_zoned(a.deadline))],
                ),
            )
        }),
        retry_note: track
            .retry_at
            .filter(|_| track.ready && track.open_attempt.is_none())
            .map(|at| agent.t("exams.retry_at", &[("time", &agent.time_zoned(at))])),
        attempts: track
            .attempts
            .iter()
            .map(|a: &AttemptSummary| {
                let started = agent.time(a.started_at);
                AttemptLine {
                    href: format!("/agent/attempts/{}", a.id),
                    link_label: agent.t("exams.view_attempt", &[("time", &started)]),
                    started,
                    status: status_label(agent, &a.status, !a.is_open(now)),
                    score: score(agent, a.percent, a.pass_percent),
                }
            })
            .collect(),
        minutes: agent.t("exams.minutes", &[("minutes", &minutes)]),
        questions: track.rules.exam_size,
        pass_percent: track.rules.pass_percent,
        retake_rule,
        ready: track.ready,
        skill: track.skill,
        name,
    }
}

async fn exams_response(
    state: &AppState,
    agent: &Agent,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let tracks = match my_exams::for_agent(state, agent.id.clone()).await {
        Ok(t) => t,
        Err(e) => return agent.error(e),
    };
    let page = ExamsPage {
        ctx: &agent.ctx,
        zone_note: agent.t("exams.times_in", &[("zone", agent.zone.name())]),
        message,
        tracks: tracks
            .into_iter()
            .map(|t| track_card(state, agent, t))
            .collect(),
    };
    agent.finish(render(&agent.ctx, &page, status))
}

/// The exams the agent can take, their earlier attempts and when they may retake.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/agent/exams")]
async fn exams_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    exams_response(&state, &agent, None, StatusCode::OK).await
}

/// Starts an attempt and opens it; a refusal (cooldown, 30-day limit ...) comes back on
/// the list with the time the agent may try again.
#[utoipa::path(tag = "pages", params(("skill" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Started: to the attempt"), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/exams/{skill}/start")]
async fn start_exam(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/exams").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    match attempts::start(&state, agent.id.clone(), path.into_inner()).await {
        Ok(view) => agent.finish(redirect(&format!("/agent/attempts/{}", view.id))),
        Err(AppError::Conflict { code, extra, .. }) => {
            let extra = extra.map(|e| *e).unwrap_or_default();
            let field = |name: &str| extra.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            if code == "attempt_in_progress"
                && let Some(id) = field("attempt_id")
            {
                return agent.finish(redirect(&format!("/agent/attempts/{id}?resumed=1")));
            }
            let retry = field("retry_at")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| agent.time_zoned(t.with_timezone(&Utc)))
                .unwrap_or_default();
            let message = match code {
                "retake_cooldown" => agent.t("exams.cooldown", &[("time", &retry)]),
                "too_many_attempts" => agent.t("exams.too_many", &[("time", &retry)]),
                "status_forbids" => agent.t("exams.status_forbids", &[]),
                _ => agent.t("exams.unavailable", &[]),
            };
            exams_response(&state, &agent, Some(message), StatusCode::CONFLICT).await
        }
        Err(e) => agent.error(e),
    }
}

// ---------------------------------------------------------------- taking the exam

struct QuestionCard {
    number: usize,
    /// `single`, `multiple` or `scenario`.
    kind: &'static str,
    heading: String,
    prompt: String,
    points: String,
    hint: String,
    /// (position, text, chosen)
    options: Vec<(usize, String, bool)>,
    text: String,
    answer_label: String,
}

impl QuestionCard {
    fn is_scenario(&self) -> bool {
        self.kind == "scenario"
    }

    fn input_type(&self) -> &'static str {
        if self.kind == "multiple" {
            "checkbox"
        } else {
            "radio"
        }
    }
}

/// What the countdown needs: the server's deadline and now (so a wrong clock on the
/// agent's computer does not matter), and the sentences it announces.
struct Timer {
    deadline_iso: String,
    now_iso: String,
    deadline_text: String,
    time_left: String,
    five_minutes: String,
    one_minute: String,
    times_up: String,
}

#[derive(Template)]
#[template(path = "agents/attempt.html")]
struct AttemptPage<'a> {
    ctx: &'a PageCtx,
    id: String,
    title: String,
    notice: Option<String>,
    message: Option<String>,
    expired: bool,
    timer: Timer,
    questions: Vec<QuestionCard>,
    saving: String,
    saved_at: String,
    saved: String,
    save_failed: String,
}

fn timer(state: &AppState, agent: &Agent, view: &AttemptView) -> Timer {
    Timer {
        deadline_iso: view.deadline.to_rfc3339(),
        now_iso: state.clock.now().and_utc().to_rfc3339(),
        deadline_text: agent.t(
            "exams.deadline",
            &[("time", &agent.time_zoned(view.deadline))],
        ),
        time_left: agent.t("exams.time_left", &[]),
        five_minutes: agent.t("exams.five_minutes", &[]),
        one_minute: agent.t("exams.one_minute", &[]),
        times_up: agent.t("exams.times_up", &[]),
    }
}

fn question_card(
    agent: &Agent,
    q: &PublicQuestion,
    total: usize,
    saved: &[Answer],
) -> QuestionCard {
    let answer = saved.iter().find(|a| a.number == q.number);
    let n = q.number.to_string();
    QuestionCard {
        number: q.number,
        kind: q.kind.as_str(),
        heading: agent.t(
            "exams.question_n",
            &[("n", &n), ("total", &total.to_string())],
        ),
        prompt: q.prompt.clone(),
        points: if q.points == 1 {
            agent.t("exams.one_point", &[])
        } else {
            agent.t("exams.points", &[("points", &q.points.to_string())])
        },
        hint: agent.t(
            match q.kind {
                QuestionKind::Single => "exams.choose_one",
                QuestionKind::Multiple => "exams.choose_all",
                QuestionKind::Scenario => "exams.write_reply",
            },
            &[],
        ),
        options: q
            .options
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let chosen = answer.is_some_and(|a| a.choices.contains(&i));
                (i, text.clone(), chosen)
            })
            .collect(),
        text: answer.and_then(|a| a.text.clone()).unwrap_or_default(),
        answer_label: agent.t("exams.your_answer", &[("n", &n)]),
    }
}

fn attempt_response(
    state: &AppState,
    agent: &Agent,
    view: &AttemptView,
    notice: Option<String>,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let total = view.questions.len();
    let page = AttemptPage {
        ctx: &agent.ctx,
        id: view.id.clone(),
        title: agent.t(
            "exams.attempt_title",
            &[("skill", &skill_name(state, agent.ctx.lang, &view.skill))],
        ),
        notice,
        message,
        expired: state.clock.now().and_utc() >= view.deadline,
        timer: timer(state, agent, view),
        questions: view
            .questions
            .iter()
            .map(|q| question_card(agent, q, total, &view.answers))
            .collect(),
        saving: agent.t("exams.saving", &[]),
        saved_at: agent.t("exams.saved_at", &[]),
        saved: agent.t("exams.saved_notice", &[]),
        save_failed: agent.t("exams.save_failed", &[]),
    };
    agent.finish(render(&agent.ctx, &page, status))
}

#[derive(Deserialize)]
struct AttemptQuery {
    saved: Option<String>,
    resumed: Option<String>,
}

/// The exam itself: one fieldset per question with the saved answers filled in, so a
/// reload resumes where the agent was. A submitted attempt shows its result instead.
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Submitted: to the result; or not signed in"), (status = 404, content_type = "text/html", body = String)))]
#[get("/agent/attempts/{attempt_id}")]
async fn attempt_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<AttemptQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let view = match attempts::get(&state, agent.id.clone(), path.into_inner()).await {
        Ok(v) => v,
        Err(e) => return agent.error(e),
    };
    if view.status != "in_progress" {
        return redirect(&format!("/agent/attempts/{}/result", view.id));
    }
    let notice = if q.resumed.is_some() {
        Some(agent.t("exams.resumed", &[]))
    } else if q.saved.is_some() {
        Some(agent.t("exams.saved_notice", &[]))
    } else {
        None
    };
    attempt_response(&state, &agent, &view, notice, None, StatusCode::OK)
}

/// The answers in a posted exam form: `q{number}` once per chosen option (its position as
/// shown) or once with the written text. Unanswered questions are left out, as the page
/// script leaves them out of what it saves.
fn answers_from_form(questions: &[PublicQuestion], form: &[(String, String)]) -> Vec<Answer> {
    questions
        .iter()
        .filter_map(|q| {
            let key = format!("q{}", q.number);
            let values: Vec<&str> = form
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
                .collect();
            if q.kind == QuestionKind::Scenario {
                let text = values.first().filter(|t| !t.trim().is_empty())?;
                return Some(Answer {
                    number: q.number,
                    choices: Vec::new(),
                    text: Some((*text).to_owned()),
                });
            }
            if values.is_empty() {
                return None;
            }
            // A value that is not a shown position (only a tampered form sends one) is
            // refused by the grading rules as an option that is not shown.
            let mut choices: Vec<usize> = values
                .iter()
                .map(|v| v.parse().unwrap_or(usize::MAX))
                .collect();
            choices.sort_unstable();
            choices.dedup();
            Some(Answer {
                number: q.number,
                choices,
                text: None,
            })
        })
        .collect()
}

fn form_field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Saves the answers of the form (the "Save answers" and "Review and submit" buttons).
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved: back to the attempt, or on to the confirmation"), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/agent/attempts/{attempt_id}/answers")]
async fn save_answers(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/agent/attempts/{id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, form_field(&form, "csrf_token")) {
        return agent.error(e);
    }
    let view = match attempts::get(&state, agent.id.clone(), id.clone()).await {
        Ok(v) => v,
        Err(e) => return agent.error(e),
    };
    let answers = answers_from_form(&view.questions, &form);
    let review = form_field(&form, "then") == "review";
    match attempts::save(
        &state,
        agent.id.clone(),
        id.clone(),
        AnswersRequest { answers },
    )
    .await
    {
        Ok(_) if review => agent.finish(redirect(&format!("{back}/confirm"))),
        Ok(_) => agent.finish(redirect(&format!("{back}?saved=1"))),
        // Time is up (the page then offers to submit) or it was submitted already (the
        // page shows the result).
        Err(AppError::Conflict { .. }) => agent.finish(redirect(&back)),
        Err(AppError::Validation(_)) => attempt_response(
            &state,
            &agent,
            &view,
            None,
            Some(agent.t("exams.invalid_answer", &[])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => agent.error(e),
    }
}

#[derive(Template)]
#[template(path = "agents/confirm.html")]
struct ConfirmPage<'a> {
    ctx: &'a PageCtx,
    id: String,
    title: String,
    answered: String,
    /// (link to the question, its heading)
    unanswered: Vec<(String, String)>,
    timer: Timer,
}

/// Asks once more before the answers are final, naming the questions left unanswered.
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Submitted already: to the result; or not signed in"), (status = 404, content_type = "text/html", body = String)))]
#[get("/agent/attempts/{attempt_id}/confirm")]
async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let view = match attempts::get(&state, agent.id.clone(), path.into_inner()).await {
        Ok(v) => v,
        Err(e) => return agent.error(e),
    };
    if view.status != "in_progress" {
        return redirect(&format!("/agent/attempts/{}/result", view.id));
    }
    let total = view.questions.len();
    let is_answered = |number: usize| {
        view.answers.iter().any(|a| {
            a.number == number
                && (!a.choices.is_empty()
                    || a.text.as_deref().is_some_and(|t| !t.trim().is_empty()))
        })
    };
    let unanswered: Vec<(String, String)> = view
        .questions
        .iter()
        .filter(|q| !is_answered(q.number))
        .map(|q| {
            (
                format!("/agent/attempts/{}#question-{}", view.id, q.number),
                agent.t(
                    "exams.question_n",
                    &[("n", &q.number.to_string()), ("total", &total.to_string())],
                ),
            )
        })
        .collect();
    let page = ConfirmPage {
        ctx: &agent.ctx,
        id: view.id.clone(),
        title: agent.t("exams.confirm_title", &[]),
        answered: agent.t(
            "exams.confirm_answered",
            &[
                ("answered", &(total - unanswered.len()).to_string()),
                ("total", &total.to_string()),
            ],
        ),
        unanswered,
        timer: timer(&state, &agent, &view),
    };
    render(&agent.ctx, &page, StatusCode::OK)
}

/// Submits the attempt. From the confirmation the saved answers are graded; the exam page
/// itself posts here with its answers when time runs out.
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Submitted: to the result"), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/agent/attempts/{attempt_id}/submit")]
async fn submit_attempt(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/agent/attempts/{id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, form_field(&form, "csrf_token")) {
        return agent.error(e);
    }
    let mut view = None;
    let mut answers = Vec::new();
    if form.iter().any(|(k, _)| k.starts_with('q')) {
        match attempts::get(&state, agent.id.clone(), id.clone()).await {
            Ok(v) => {
                answers = answers_from_form(&v.questions, &form);
                view = Some(v);
            }
            Err(e) => return agent.error(e),
        }
    }
    match attempts::submit(
        &state,
        agent.id.clone(),
        id.clone(),
        AnswersRequest { answers },
    )
    .await
    {
        Ok(_) => agent.finish(redirect(&format!("{back}/result?submitted=1"))),
        Err(AppError::Conflict {
            code: "already_submitted",
            ..
        }) => agent.finish(redirect(&format!("{back}/result"))),
        Err(e @ AppError::Validation(_)) => match &view {
            Some(view) => attempt_response(
                &state,
                &agent,
                view,
                None,
                Some(agent.t("exams.invalid_answer", &[])),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            None => agent.error(e),
        },
        Err(e) => agent.error(e),
    }
}

// ---------------------------------------------------------------- the result

#[derive(Template)]
#[template(path = "agents/result.html")]
struct ResultPage<'a> {
    ctx: &'a PageCtx,
    title: String,
    notice: Option<String>,
    /// `passed`, `failed` or `awaiting_review`.
    outcome: String,
    headline: String,
    detail: String,
    started: String,
    submitted: Option<String>,
    next: String,
    trial_link: bool,
    /// The reviewer's marks on the written answers: (question, points of max, comment).
    marks: Vec<(String, String, String)>,
}

#[derive(Deserialize)]
struct ResultQuery {
    submitted: Option<String>,
}

/// Passed, not passed or waiting for a reviewer, the score against the pass mark, and
/// what to do next: book a trial shift, retake at a given time, or wait.
#[utoipa::path(tag = "pages", params(("attempt_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not submitted yet: to the attempt; or not signed in"), (status = 404, content_type = "text/html", body = String)))]
#[get("/agent/attempts/{attempt_id}/result")]
async fn result_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<ResultQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let view = match attempts::get(&state, agent.id.clone(), path.into_inner()).await {
        Ok(v) => v,
        Err(e) => return agent.error(e),
    };
    if view.status == "in_progress" {
        return redirect(&format!("/agent/attempts/{}", view.id));
    }
    let tracks = match my_exams::for_agent(&state, agent.id.clone()).await {
        Ok(t) => t,
        Err(e) => return agent.error(e),
    };
    let track = tracks.iter().find(|t| t.skill == view.skill);
    let (owner, attempt_id) = (agent.id.clone(), view.id.clone());
    let marks = match state
        .db
        .run(move |conn| reviews::marks_for_agent(conn, &owner, &attempt_id))
        .await
    {
        Ok(marks) => marks.unwrap_or_default(),
        Err(e) => return agent.error(e.into()),
    };
    let marks = marks
        .iter()
        .map(|m| {
            let max = view
                .questions
                .iter()
                .find(|q| q.number == m.number)
                .map(|q| q.points)
                .unwrap_or(m.points);
            (
                agent.t("trials.exam_question_n", &[("n", &m.number.to_string())]),
                agent.t(
                    "trials.exam_points_of",
                    &[("points", &m.points.to_string()), ("max", &max.to_string())],
                ),
                m.comment
                    .clone()
                    .filter(|c| !c.trim().is_empty())
                    .unwrap_or_else(|| agent.t("trials.exam_no_comment", &[])),
            )
        })
        .collect();
    let pass = view.pass_percent.to_string();
    let percent = view.percent.unwrap_or(0).to_string();
    let (headline, detail) = match view.status.as_str() {
        "passed" => ("exams.result_passed", "exams.result_score"),
        "awaiting_review" => ("exams.result_awaiting", "exams.result_awaiting_text"),
        _ => ("exams.result_failed", "exams.result_score"),
    };
    let next = match view.status.as_str() {
        "passed" => agent.t("exams.next_trial_text", &[]),
        "awaiting_review" => agent.t("exams.next_wait", &[]),
        _ => match track.and_then(|t| t.retry_at) {
            Some(at) => agent.t("exams.next_retake", &[("time", &agent.time_zoned(at))]),
            None => agent.t("exams.next_retake_now", &[]),
        },
    };
    let submitted = track
        .and_then(|t| t.attempts.iter().find(|a| a.id == view.id))
        .and_then(|a| a.submitted_at)
        .map(|at| agent.time_zoned(at));
    let page = ResultPage {
        ctx: &agent.ctx,
        title: agent.t(
            "exams.result_title",
            &[("skill", &skill_name(&state, agent.ctx.lang, &view.skill))],
        ),
        notice: q
            .submitted
            .as_ref()
            .map(|_| agent.t("exams.submitted_notice", &[])),
        headline: agent.t(headline, &[]),
        detail: agent.t(detail, &[("percent", &percent), ("pass", &pass)]),
        started: agent.time_zoned(view.started_at),
        submitted,
        next,
        trial_link: view.status == "passed",
        marks,
        outcome: view.status,
    };
    render(&agent.ctx, &page, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(number: usize, kind: QuestionKind) -> PublicQuestion {
        PublicQuestion {
            number,
            kind,
            prompt: format!("Q{number}"),
            options: if kind == QuestionKind::Scenario {
                Vec::new()
            } else {
                vec!["a".into(), "b".into(), "c".into()]
            },
            points: 1,
        }
    }

    #[test]
    fn form_fields_become_answers() {
        let questions = [
            question(1, QuestionKind::Single),
            question(2, QuestionKind::Multiple),
            question(3, QuestionKind::Scenario),
            question(4, QuestionKind::Single),
            question(5, QuestionKind::Scenario),
        ];
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let form = vec![
            pair("csrf_token", "x"),
            pair("q1", "2"),
            pair("q2", "2"),
            pair("q2", "0"),
            pair("q3", "Sorry about that."),
            pair("q5", "   "),
            pair("q4", "two"),
        ];
        let answers = answers_from_form(&questions, &form);
        assert_eq!(answers.len(), 4, "{answers:?}");
        assert_eq!(answers[0].choices, [2]);
        assert_eq!(answers[1].choices, [0, 2]);
        assert_eq!(answers[2].text.as_deref(), Some("Sorry about that."));
        assert_eq!(answers[3].number, 4);
        assert_eq!(
            answers[3].choices,
            [usize::MAX],
            "refused later, not dropped"
        );
    }
}
