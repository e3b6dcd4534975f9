//! The review form of a chat, for admins and the chat's own shop: the transcript, the
//! scorecard of the chat's track (weights, scales, anchors), a score and a comment per
//! criterion and the "exemplary" flag; it saves through the same use case as
//! `POST /api/chats/{chat_id}/reviews` and shows the chat's reviews so far.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::queue::{self};
use super::queue_pages::{Reviewer, local, points, reviewer_session, zone_of};
use super::reviews::{self, ChatForReview, ReviewInput, ScoreInput};
use super::scorecards::Scorecard;
use crate::accounts::model::{Locale, Role};
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::web::pages::{PageCtx, badge, check_csrf, error_page, form_session, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(review_form).service(review_submit);
}

struct Line {
    who: String,
    sender: String,
    at: String,
    body: String,
}

struct AnchorRow {
    score: u32,
    text: String,
}

struct CriterionRow {
    id: String,
    name: String,
    weight: String,
    scale: Vec<u32>,
    max: u32,
    anchors: Vec<AnchorRow>,
    chosen: Option<u32>,
    comment: String,
    error: Option<String>,
}

impl CriterionRow {
    fn is(&self, score: &u32) -> bool {
        self.chosen == Some(*score)
    }
}

struct GivenScore {
    name: String,
    score: u32,
    max: u32,
    comment: Option<String>,
}

struct ReviewBlock {
    id: String,
    by: String,
    at: String,
    total: String,
    effective: Option<String>,
    exemplary: bool,
    scores: Vec<GivenScore>,
    dispute: Option<String>,
}

#[derive(Template)]
#[template(path = "quality/review.html")]
struct ReviewPage<'a> {
    ctx: &'a PageCtx,
    chat_id: String,
    agent: String,
    skill: String,
    closed: String,
    back: (&'static str, String),
    /// The review just saved, which says so.
    saved: Option<String>,
    transcript: Vec<Line>,
    /// The form, when this reviewer may still review the chat.
    form: bool,
    closed_note: Option<String>,
    criteria: Vec<CriterionRow>,
    exemplary: bool,
    errors: Vec<(String, String)>,
    reviews: Vec<ReviewBlock>,
}

/// What the reviewer entered, to show again after an error.
struct Entered<'f> {
    form: &'f HashMap<String, String>,
}

impl Entered<'_> {
    fn score(&self, criterion: &str) -> Option<u32> {
        self.form
            .get(&format!("score_{criterion}"))
            .and_then(|s| s.trim().parse().ok())
    }

    fn comment(&self, criterion: &str) -> String {
        self.form
            .get(&format!("comment_{criterion}"))
            .cloned()
            .unwrap_or_default()
    }
}

#[allow(clippy::too_many_arguments)]
fn page<'a>(
    state: &AppState,
    ctx: &'a PageCtx,
    r: &Reviewer,
    chat: &ChatForReview,
    agent: String,
    saved: Option<String>,
    entered: Option<&Entered<'_>>,
    errors: &[FieldError],
) -> ReviewPage<'a> {
    let rules = state.rules();
    let card: &Scorecard = rules.scorecards.for_skill(&chat.skill);
    let zh = ctx.lang == Locale::ZhCn;
    let criterion_error = |i: usize, id: &str| {
        errors.iter().find_map(|e| {
            let ours = e.field.starts_with(&format!("scores[{i}]."))
                || e.field == format!("score_{id}")
                || e.field == format!("comment_{id}");
            ours.then(|| message(ctx, e))
        })
    };
    let criteria = card
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| CriterionRow {
            id: c.id.clone(),
            name: if zh {
                c.name_zh.clone()
            } else {
                c.name_en.clone()
            },
            weight: format!("{}%", f64::from(c.weight_bp) / 100.0),
            scale: (0..=c.max).collect(),
            max: c.max,
            anchors: c
                .anchors
                .iter()
                .map(|a| AnchorRow {
                    score: a.score,
                    text: if zh { a.zh.clone() } else { a.en.clone() },
                })
                .collect(),
            chosen: entered.and_then(|e| e.score(&c.id)),
            comment: entered.map(|e| e.comment(&c.id)).unwrap_or_default(),
            error: criterion_error(i, &c.id),
        })
        .collect();
    let summary: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            let target = card
                .criteria
                .iter()
                .enumerate()
                .find(|(i, c)| {
                    e.field.starts_with(&format!("scores[{i}]."))
                        || e.field == format!("score_{}", c.id)
                })
                .map(|(_, c)| format!("criterion-{}", c.id))
                .unwrap_or_else(|| "scorecard".to_owned());
            (target, message(ctx, e))
        })
        .collect();
    let closed_note = if !chat.reviewable {
        Some(ctx.t("quality_pages.not_reviewable").into_owned())
    } else if chat.reviewed_by_caller {
        Some(ctx.t("quality_pages.already_reviewed").into_owned())
    } else {
        None
    };
    let back = if r.caller.role == Role::Admin {
        (
            "/admin/quality",
            ctx.t("quality_pages.queue_title").into_owned(),
        )
    } else {
        (
            "/seats/quality",
            ctx.t("quality_pages.shop_title").into_owned(),
        )
    };
    ReviewPage {
        ctx,
        chat_id: chat.chat_id.clone(),
        agent,
        skill: rules.skill_name(&chat.skill, ctx.lang),
        closed: chat
            .closed_at
            .map_or_else(|| "—".to_owned(), |t| local(t.naive_utc(), r.zone)),
        back,
        saved,
        transcript: chat
            .transcript
            .iter()
            .map(|l| Line {
                who: ctx
                    .t(&format!("quality_pages.sender_{}", l.sender))
                    .into_owned(),
                sender: l.sender.clone(),
                at: local(l.at.naive_utc(), r.zone),
                body: l.body.clone(),
            })
            .collect(),
        form: closed_note.is_none(),
        closed_note,
        criteria,
        exemplary: entered.is_some_and(|e| e.form.contains_key("exemplary")),
        errors: summary,
        reviews: chat
            .reviews
            .iter()
            .map(|v| ReviewBlock {
                id: v.id.clone(),
                by: ctx
                    .t(&format!("quality_pages.by_{}", v.reviewer_role))
                    .into_owned(),
                at: local(v.created_at.naive_utc(), r.zone),
                total: points(v.total_x100),
                effective: (v.effective_x100 != v.total_x100).then(|| points(v.effective_x100)),
                exemplary: v.exemplary,
                scores: v
                    .scores
                    .iter()
                    .map(|s| GivenScore {
                        name: if zh {
                            s.name_zh.clone()
                        } else {
                            s.name_en.clone()
                        },
                        score: s.score,
                        max: s.max,
                        comment: s.comment.clone(),
                    })
                    .collect(),
                dispute: v.dispute.as_ref().map(|d| {
                    ctx.t(&format!("quality_pages.dispute_{}", d.status))
                        .into_owned()
                }),
            })
            .collect(),
    }
}

/// A field error of the review in the page's language.
fn message(ctx: &PageCtx, e: &FieldError) -> String {
    match e.code.as_str() {
        "out_of_scale" | "required" | "too_long" | "missing_criterion" => ctx
            .t(&format!("quality_pages.error_{}", e.code))
            .into_owned(),
        _ => e.message.clone(),
    }
}

/// The chat for its reviewer and the agent's name.
async fn load(
    state: &AppState,
    r: &Reviewer,
    chat_id: String,
) -> Result<(ChatForReview, String), AppError> {
    let chat = reviews::for_review(state, r.caller.clone(), chat_id).await?;
    let ids: Vec<String> = chat.agent_id.iter().cloned().collect();
    let names = state.db.run(move |conn| queue::names(conn, &ids)).await?;
    let agent = names.into_values().next().unwrap_or_default();
    Ok((chat, agent))
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// The review form of a chat (admins, and the staff of the chat's shop).
#[utoipa::path(tag = "pages", params(("chat_id" = String, Path), ("saved" = Option<String>, Query, description = "The review just saved")), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, description = "Agents (the chat's own agent too)", content_type = "text/html", body = String), (status = 404, description = "No such chat, or another shop's", content_type = "text/html", body = String)))]
#[get("/quality/chats/{chat_id}/review")]
async fn review_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> HttpResponse {
    let r = match reviewer_session(&state, &req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    match load(&state, &r, path.into_inner()).await {
        Ok((chat, agent)) => {
            let saved = q.saved.clone();
            let page = page(&state, &r.ctx, &r, &chat, agent, saved, None, &[]);
            render(&r.ctx, &page, StatusCode::OK)
        }
        Err(e) => error_page(&r.ctx, e),
    }
}

/// Saves a review of the chat: the same use case as `POST /api/chats/{chat_id}/reviews`.
#[utoipa::path(tag = "pages", params(("chat_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved: back to the chat's reviews"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, description = "Scores off the scale or missing, shown by their criterion", content_type = "text/html", body = String)))]
#[post("/quality/chats/{chat_id}/review")]
async fn review_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let chat_id = path.into_inner();
    let back = format!("/quality/chats/{chat_id}/review");
    let (caller, account, cookies) = match form_session(&state, &req, &back).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let finish = |mut res: HttpResponse| {
        for c in &cookies {
            let _ = res.add_cookie(c);
        }
        res
    };
    let r = Reviewer {
        ctx: PageCtx::new(&req, Some(badge(&account))),
        zone: zone_of(&account.time_zone),
        caller,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, form.get("csrf_token").map_or("", String::as_str)) {
        return finish(error_page(&r.ctx, e));
    }
    let (chat, agent) = match load(&state, &r, chat_id.clone()).await {
        Ok(c) => c,
        Err(e) => return finish(error_page(&r.ctx, e)),
    };
    let rules = state.rules();
    let card = rules.scorecards.for_skill(&chat.skill);
    let entered = Entered { form: &form };
    let mut scores = Vec::new();
    let mut unscored = Vec::new();
    for c in &card.criteria {
        let raw = form
            .get(&format!("score_{}", c.id))
            .map(|s| s.trim())
            .unwrap_or("");
        match raw.parse::<i64>() {
            Ok(score) => scores.push(ScoreInput {
                criterion: c.id.clone(),
                score,
                comment: Some(entered.comment(&c.id)),
            }),
            Err(_) => unscored.push(FieldError::new(
                format!("score_{}", c.id),
                "required",
                format!("`{}` is not scored", c.id),
            )),
        }
    }
    let result = if unscored.is_empty() {
        let input = ReviewInput {
            scores,
            exemplary: form.contains_key("exemplary"),
        };
        reviews::create(&state, r.caller.clone(), chat_id.clone(), input).await
    } else {
        Err(AppError::Validation(unscored))
    };
    match result {
        Ok(view) => finish(redirect(&format!(
            "{back}?saved={}#review-{}",
            view.id, view.id
        ))),
        Err(AppError::Validation(errors)) => {
            let page = page(
                &state,
                &r.ctx,
                &r,
                &chat,
                agent,
                None,
                Some(&entered),
                &errors,
            );
            finish(render(&r.ctx, &page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => finish(error_page(&r.ctx, e)),
    }
}
