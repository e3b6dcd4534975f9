//! The agent's trial-shift pages: their certifications, their trials and the slots they
//! may book; and the trial itself, from booking to the reviewer's scorecard. Thin
//! handlers over [`super::trials`] (the same use cases as the JSON API). Every form works
//! without JavaScript; `static/trial.js` sends replies through the JSON API, updates the
//! chat in place and announces the customer's next message politely.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::exam_pages::{Agent, agent_or_return, skill_name};
use super::my_exams;
use super::trials::{self, CertificationView, RENEWAL_WINDOW_DAYS, ReplyRequest, TrialView};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::pages::{CsrfForm, PageCtx, check_csrf, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(trials_page)
        .service(book_slot)
        .service(trial_page)
        .service(cancel_trial)
        .service(begin_trial)
        .service(reply_trial)
        .service(finish_trial);
}

/// A slot's time in the agent's zone: "2026-12-01 09:00 – 11:00 (Asia/Shanghai)", with the
/// end's date too when it falls on another day.
fn span(agent: &Agent, starts: DateTime<Utc>, ends: DateTime<Utc>) -> String {
    let (from, to) = (agent.time(starts), agent.time(ends));
    let to = match (from.split_once(' '), to.split_once(' ')) {
        (Some((d1, _)), Some((d2, t2))) if d1 == d2 => t2.to_owned(),
        _ => to,
    };
    format!("{from} – {to} ({})", agent.zone.name())
}

fn status_label(agent: &Agent, status: &str) -> String {
    agent.t(&format!("trials.status_{status}"), &[])
}

/// The name of a scorecard criterion: translated for the default ones, else its key.
fn criterion_name(agent: &Agent, key: &str) -> String {
    let lookup = format!("trials.criterion.{key}");
    match crate::_rust_i18n_try_translate(agent.ctx.lang.as_str(), &lookup) {
        Some(text) => text.into_owned(),
        None => key.replace('_', " "),
    }
}

/// A refusal from the trial use cases, in words for the agent; `None` for errors that get
/// the plain error page (not found, internal ...).
fn refusal(agent: &Agent, err: &AppError) -> Option<(String, StatusCode)> {
    let (key, args): (&str, Vec<(&str, String)>) = match err {
        AppError::Conflict { code, extra, .. } => {
            let at = |name: &str| {
                extra
                    .as_ref()
                    .and_then(|e| e.get(name))
                    .and_then(|v| v.as_str())
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| agent.time_zoned(t.with_timezone(&Utc)))
                    .unwrap_or_default()
            };
            match *code {
                "slot_full" => ("trials.err_slot_full", vec![]),
                "slot_started" => ("trials.err_slot_started", vec![]),
                "already_certified" => (
                    "trials.err_already_certified",
                    vec![("time", at("expires_at"))],
                ),
                "trial_already_booked" => ("trials.err_trial_already_booked", vec![]),
                "exam_not_passed" => ("trials.err_exam_not_passed", vec![]),
                "status_forbids" => ("trials.err_status_forbids", vec![]),
                "trial_started" => ("trials.err_trial_started", vec![]),
                "trial_not_started" => ("trials.err_not_started", vec![("time", at("starts_at"))]),
                "trial_over" => ("trials.err_over", vec![]),
                "not_booked" => ("trials.err_not_booked", vec![]),
                "nothing_to_answer" => ("trials.err_nothing_to_answer", vec![]),
                "nothing_answered" => ("trials.err_nothing_answered", vec![]),
                "trial_changed" => ("trials.err_changed", vec![]),
                _ => ("trials.err_other", vec![]),
            }
        }
        AppError::Validation(errors) if errors.iter().any(|e| e.field == "text") => {
            ("trials.err_reply_length", vec![])
        }
        AppError::Validation(_) => ("trials.err_other", vec![]),
        _ => return None,
    };
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let status = actix_web::ResponseError::status_code(err);
    Some((agent.t(key, &args), status))
}

// ---------------------------------------------------------------- the list

struct CertLine {
    name: String,
    until: String,
    valid: bool,
}

struct TrialLine {
    href: String,
    link_label: String,
    name: String,
    when: String,
    status: String,
    score: String,
}

struct SlotLine {
    id: String,
    when: String,
    places: String,
    book_label: String,
}

struct SkillSlots {
    skill: String,
    heading: String,
    note: Option<String>,
    slots: Vec<SlotLine>,
}

#[derive(Template)]
#[template(path = "agents/trials.html")]
struct TrialsPage<'a> {
    ctx: &'a PageCtx,
    zone_note: String,
    message: Option<String>,
    /// (link, text) beside the message, e.g. to the trial already booked.
    message_link: Option<(String, String)>,
    certs: Vec<CertLine>,
    trials: Vec<TrialLine>,
    open_note: Option<String>,
    passed_any: bool,
    groups: Vec<SkillSlots>,
}

/// Slots for the skills whose exam the agent passed, grouped by skill. For a skill they
/// hold a certification for, only slots within the renewal window are offered (booking
/// would refuse the others with `already_certified`).
fn slot_groups(
    state: &AppState,
    agent: &Agent,
    passed: &[String],
    certs: &[CertificationView],
    slots: &[trials::SlotView],
) -> Vec<SkillSlots> {
    passed
        .iter()
        .map(|skill| {
            let name = skill_name(state, agent.ctx.lang, skill);
            let cert = certs.iter().find(|c| &c.skill == skill);
            let renew_from = cert.map(|c| c.expires_at - Duration::days(RENEWAL_WINDOW_DAYS));
            let lines: Vec<SlotLine> = slots
                .iter()
                .filter(|s| &s.skill == skill)
                .filter(|s| renew_from.is_none_or(|from| s.starts_at >= from))
                .map(|s| {
                    let when = span(agent, s.starts_at, s.ends_at);
                    SlotLine {
                        id: s.id.clone(),
                        places: agent.t(
                            "trials.places_left",
                            &[
                                ("count", &(s.capacity - s.booked).max(0).to_string()),
                                ("capacity", &s.capacity.to_string()),
                            ],
                        ),
                        book_label: agent.t("trials.book", &[("time", &when)]),
                        when,
                    }
                })
                .collect();
            let note = match cert {
                Some(c) if c.valid => Some(agent.t(
                    "trials.certified_note",
                    &[
                        ("skill", &name),
                        ("time", &agent.time_zoned(c.expires_at)),
                        (
                            "from",
                            &agent.time_zoned(c.expires_at - Duration::days(RENEWAL_WINDOW_DAYS)),
                        ),
                    ],
                )),
                _ if lines.is_empty() => Some(agent.t("trials.no_slots", &[("skill", &name)])),
                _ => None,
            };
            SkillSlots {
                skill: skill.clone(),
                heading: agent.t("trials.slot_list", &[("skill", &name)]),
                note,
                slots: lines,
            }
        })
        .collect()
}

async fn trials_response(
    state: &AppState,
    agent: &Agent,
    message: Option<(String, Option<(String, String)>)>,
    status: StatusCode,
) -> HttpResponse {
    let loaded = async {
        let certs = trials::my_certifications(state, agent.id.clone()).await?;
        let mine = trials::my_trials(state, agent.id.clone()).await?;
        let tracks = my_exams::for_agent(state, agent.id.clone()).await?;
        let slots = trials::list_slots(state, None, true, 200).await?;
        Ok::<_, AppError>((certs, mine, tracks, slots))
    };
    let (certs, mine, tracks, slots) = match loaded.await {
        Ok(all) => all,
        Err(e) => return agent.error(e),
    };
    let passed: Vec<String> = tracks
        .iter()
        .filter(|t| t.attempts.iter().any(|a| a.status == "passed"))
        .map(|t| t.skill.clone())
        .collect();
    let open = mine
        .iter()
        .any(|t| t.status == "booked" || t.status == "awaiting_review");
    let (message, message_link) = match message {
        Some((m, link)) => (Some(m), link),
        None => (None, None),
    };
    let page = TrialsPage {
        ctx: &agent.ctx,
        zone_note: agent.t("trials.times_in", &[("zone", agent.zone.name())]),
        message,
        message_link,
        groups: slot_groups(state, agent, &passed, &certs, &slots),
        certs: certs
            .iter()
            .map(|c| CertLine {
                name: skill_name(state, agent.ctx.lang, &c.skill),
                until: agent.time(c.expires_at),
                valid: c.valid,
            })
            .collect(),
        trials: mine
            .iter()
            .map(|t| {
                let name = skill_name(state, agent.ctx.lang, &t.skill);
                let when = span(agent, t.starts_at, t.ends_at);
                TrialLine {
                    href: format!("/agent/trials/{}", t.id),
                    link_label: agent.t(
                        "trials.open_trial",
                        &[("skill", &name), ("time", &agent.time(t.starts_at))],
                    ),
                    name,
                    when,
                    status: status_label(agent, &t.status),
                    score: t
                        .percent
                        .map(|p| format!("{p}%"))
                        .unwrap_or_else(|| "–".to_owned()),
                }
            })
            .collect(),
        open_note: open.then(|| agent.t("trials.open_note", &[])),
        passed_any: !passed.is_empty(),
    };
    agent.finish(render(&agent.ctx, &page, status))
}

/// The agent's certifications, trials, and the trial slots they can book.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/agent/trials")]
async fn trials_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    trials_response(&state, &agent, None, StatusCode::OK).await
}

/// Books a trial slot and opens the trial; a refusal (full, already booked, exam not
/// passed ...) comes back on the list as an alert.
#[utoipa::path(tag = "pages", params(("slot_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Booked: to the trial"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/trial-slots/{slot_id}/book")]
async fn book_slot(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/trials").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    match trials::book(&state, agent.id.clone(), path.into_inner()).await {
        Ok(view) => agent.finish(redirect(&format!("/agent/trials/{}?booked=1", view.id))),
        Err(err) => {
            let Some((text, status)) = refusal(&agent, &err) else {
                return agent.error(err);
            };
            let link = match &err {
                AppError::Conflict { extra, .. } => extra
                    .as_ref()
                    .and_then(|e| e.get("trial_id"))
                    .and_then(|v| v.as_str())
                    .map(|id| {
                        (
                            format!("/agent/trials/{id}"),
                            agent.t("trials.open_booked", &[]),
                        )
                    }),
                _ => None,
            };
            trials_response(&state, &agent, Some((text, link)), status).await
        }
    }
}

// ---------------------------------------------------------------- the trial

struct ChatCard {
    index: usize,
    title: String,
    /// (customer's message, the agent's reply) in order.
    turns: Vec<(String, Option<String>)>,
    waiting: bool,
    finished: bool,
    reply_label: String,
    /// What the agent typed, kept when a reply is refused.
    draft: String,
}

struct MarkLine {
    criterion: String,
    mark: String,
    comment: String,
}

#[derive(Template)]
#[template(path = "agents/trial.html")]
struct TrialPage<'a> {
    ctx: &'a PageCtx,
    id: String,
    title: String,
    notice: Option<String>,
    message: Option<String>,
    /// `before`, `ready` (may begin), `during`, `over` (slot ended, not yet closed) or
    /// `after` (settled: waiting for review, scored, missed or cancelled).
    stage: &'static str,
    status: String,
    outcome: String,
    when: String,
    starts_text: String,
    confirm_cancel: bool,
    timer: Option<SlotTimer>,
    chats: Vec<ChatCard>,
    /// The chats take replies (during the slot, once begun).
    replying: bool,
    result: String,
    score: Option<String>,
    marks: Vec<MarkLine>,
    feedback: Option<String>,
    book_again: bool,
    /// Strings the page script shows.
    js_new_message: String,
    js_send_failed: String,
}

/// The time left in the slot, counted down by the page script from the server's now.
struct SlotTimer {
    ends_iso: String,
    now_iso: String,
    left: String,
    ends_text: String,
    template: String,
    hm: String,
}

fn hours_minutes(agent: &Agent, left: Duration) -> String {
    // Rounded up, as the page script counts: "0 min" only when the slot is over.
    let minutes = (left.num_seconds().max(0) + 59) / 60;
    agent.t(
        "trials.hours_minutes",
        &[
            ("h", &(minutes / 60).to_string()),
            ("m", &(minutes % 60).to_string()),
        ],
    )
}

/// What the trial page shows of `view` at the service's now.
struct Shown {
    notice: Option<String>,
    message: Option<String>,
    confirm_cancel: bool,
    draft: Option<(usize, String)>,
}

fn trial_response(
    state: &AppState,
    agent: &Agent,
    view: &TrialView,
    shown: Shown,
    status: StatusCode,
) -> HttpResponse {
    let now = state.clock.now().and_utc();
    let begun = view.chats.iter().any(|c| !c.turns.is_empty());
    let stage = match view.status.as_str() {
        "booked" if now < view.starts_at => "before",
        "booked" if now >= view.ends_at => "over",
        "booked" if begun => "during",
        "booked" => "ready",
        _ => "after",
    };
    let name = skill_name(state, agent.ctx.lang, &view.skill);
    let result = match view.status.as_str() {
        "awaiting_review" => agent.t("trials.result_awaiting", &[]),
        "passed" => agent.t("trials.result_passed", &[("skill", &name)]),
        "failed" => agent.t("trials.result_failed", &[]),
        "missed" => agent.t("trials.result_missed", &[]),
        "cancelled" => agent.t("trials.result_cancelled", &[]),
        _ => String::new(),
    };
    let timer = matches!(stage, "ready" | "during").then(|| SlotTimer {
        ends_iso: view.ends_at.to_rfc3339(),
        now_iso: now.to_rfc3339(),
        left: agent.t(
            "trials.time_left",
            &[("left", &hours_minutes(agent, view.ends_at - now))],
        ),
        ends_text: agent.t(
            "trials.ends_at",
            &[("time", &agent.time_zoned(view.ends_at))],
        ),
        template: agent.t("trials.time_left", &[]),
        hm: agent.t("trials.hours_minutes", &[]),
    });
    let page = TrialPage {
        ctx: &agent.ctx,
        id: view.id.clone(),
        title: agent.t("trials.page_title", &[("skill", &name)]),
        notice: shown.notice,
        message: shown.message,
        stage,
        status: status_label(agent, &view.status),
        outcome: view.status.clone(),
        when: span(agent, view.starts_at, view.ends_at),
        starts_text: agent.t(
            "trials.starts_at",
            &[("time", &agent.time_zoned(view.starts_at))],
        ),
        confirm_cancel: shown.confirm_cancel && stage == "before",
        timer,
        chats: view
            .chats
            .iter()
            .filter(|c| !c.turns.is_empty())
            .map(|c| ChatCard {
                index: c.index,
                reply_label: agent.t("trials.reply_label", &[("title", &c.title)]),
                title: c.title.clone(),
                turns: c
                    .turns
                    .iter()
                    .map(|t| (t.customer.clone(), t.reply.clone()))
                    .collect(),
                waiting: c.waiting,
                finished: c.finished,
                draft: shown
                    .draft
                    .as_ref()
                    .filter(|(i, _)| *i == c.index)
                    .map(|(_, text)| text.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        replying: stage == "during",
        result,
        score: view
            .percent
            .map(|p| agent.t("trials.score", &[("percent", &p.to_string())])),
        marks: view
            .marks
            .iter()
            .flatten()
            .map(|m| MarkLine {
                criterion: criterion_name(agent, &m.criterion),
                mark: agent.t("trials.mark_of", &[("score", &m.score.to_string())]),
                comment: m.comment.clone().unwrap_or_default(),
            })
            .collect(),
        feedback: view.feedback.clone(),
        book_again: matches!(view.status.as_str(), "failed" | "missed" | "cancelled"),
        js_new_message: agent.t("trials.new_message", &[]),
        js_send_failed: agent.t("trials.send_failed", &[]),
    };
    agent.finish(render(&agent.ctx, &page, status))
}

#[derive(Deserialize)]
struct TrialQuery {
    booked: Option<String>,
    sent: Option<String>,
    finished: Option<String>,
}

/// The trial: when it starts (and Cancel) before; Begin, the practice chats and Finish
/// during the slot; the status and, once reviewed, the scorecard and feedback after.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 404, content_type = "text/html", body = String)))]
#[get("/agent/trials/{trial_id}")]
async fn trial_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<TrialQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let view = match trials::get(&state, agent.id.clone(), path.into_inner()).await {
        Ok(v) => v,
        Err(e) => return agent.error(e),
    };
    let notice = if q.booked.is_some() {
        Some(agent.t("trials.notice_booked", &[]))
    } else if q.finished.is_some() {
        Some(agent.t("trials.notice_finished", &[]))
    } else if q.sent.is_some() {
        Some(agent.t("trials.notice_sent", &[]))
    } else {
        None
    };
    let shown = Shown {
        notice,
        message: None,
        confirm_cancel: false,
        draft: None,
    };
    trial_response(&state, &agent, &view, shown, StatusCode::OK)
}

/// The trial page again with a refusal as an alert (or the error page for the rest).
async fn refused(
    state: &AppState,
    agent: &Agent,
    id: String,
    err: AppError,
    draft: Option<(usize, String)>,
) -> HttpResponse {
    let Some((message, status)) = refusal(agent, &err) else {
        return agent.error(err);
    };
    match trials::get(state, agent.id.clone(), id).await {
        Ok(view) => {
            let shown = Shown {
                notice: None,
                message: Some(message),
                confirm_cancel: false,
                draft,
            };
            trial_response(state, agent, &view, shown, status)
        }
        Err(e) => agent.error(e),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    confirm: String,
}

/// Cancels a booked trial before it begins. The first press asks for confirmation; the
/// confirmation's button posts `confirm=yes`.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 200, description = "Asks to confirm", content_type = "text/html", body = String), (status = 303, description = "Cancelled: to the trial"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/trials/{trial_id}/cancel")]
async fn cancel_trial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CancelForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/agent/trials/{id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    if form.confirm != "yes" {
        return match trials::get(&state, agent.id.clone(), id).await {
            Ok(view) => {
                let shown = Shown {
                    notice: None,
                    message: None,
                    confirm_cancel: true,
                    draft: None,
                };
                trial_response(&state, &agent, &view, shown, StatusCode::OK)
            }
            Err(e) => agent.error(e),
        };
    }
    match trials::cancel(&state, agent.id.clone(), id.clone()).await {
        Ok(_) => agent.finish(redirect(&back)),
        Err(e) => refused(&state, &agent, id, e, None).await,
    }
}

/// Begins the trial: the practice customers' first messages appear.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Begun: to the trial"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/trials/{trial_id}/begin")]
async fn begin_trial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/agent/trials/{id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    match trials::begin(&state, agent.id.clone(), id.clone()).await {
        Ok(_) => agent.finish(redirect(&format!("{back}#chats"))),
        Err(e) => refused(&state, &agent, id, e, None).await,
    }
}

#[derive(Deserialize)]
struct ReplyForm {
    /// Missing is refused as a CSRF mismatch (403), not as a malformed form.
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    chat: String,
    #[serde(default)]
    text: String,
}

/// Sends a reply in one practice chat; the customer's next message follows.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Sent: back to the chat"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/agent/trials/{trial_id}/replies")]
async fn reply_trial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReplyForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/agent/trials/{id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    let form = form.into_inner();
    // Only a tampered form sends a chat that is not a number; the use case refuses it.
    let chat = form.chat.parse().unwrap_or(usize::MAX);
    let request = ReplyRequest {
        chat,
        text: form.text.clone(),
    };
    match trials::reply(&state, agent.id.clone(), id.clone(), request).await {
        Ok(_) => agent.finish(redirect(&format!("{back}?sent={chat}#chat-{chat}"))),
        Err(e) => refused(&state, &agent, id, e, Some((chat, form.text))).await,
    }
}

/// Finishes the trial before the slot ends; it goes to a reviewer.
#[utoipa::path(tag = "pages", params(("trial_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Finished: to the trial"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/trials/{trial_id}/finish")]
async fn finish_trial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/agent/trials/{id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    match trials::finish(&state, agent.id.clone(), id.clone()).await {
        Ok(_) => agent.finish(redirect(&format!("{back}?finished=1"))),
        Err(e) => refused(&state, &agent, id, e, None).await,
    }
}
