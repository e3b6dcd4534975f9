//! The agent's quality page: the score for a pay period with its parts and the formula in
//! words, the last six periods as a chart and a table, and the agent's reviews with each
//! criterion's score and comment and a dispute form while the window is open. Built from
//! the same use cases as `GET /api/agents/me/quality`, `GET /api/agents/me/reviews` and
//! `POST /api/reviews/{id}/dispute`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::reviews::{self, DisputeInput, ReviewView};
use super::routes::{QualityQuery, QualityView, quality};
use super::score::PartName;
use crate::accounts::model::Locale;
use crate::certification::exam_pages::{Agent, agent_or_return};
use crate::error::AppError;
use crate::payroll::aggregate::local_days;
use crate::state::AppState;
use crate::web::chart::{LineChart, Point, line_chart};
use crate::web::pages::{PageCtx, check_csrf, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(quality_page).service(dispute_review);
}

/// Reviews shown per page.
const REVIEWS_PER_PAGE: i64 = 20;

/// Hundredths of a point as the page writes them: `9100` → `91.00`.
pub(crate) fn points(x100: u32) -> String {
    format!("{}.{:02}", x100 / 100, x100 % 100)
}

/// Basis points as a percentage: `4000` → `40%`, `6667` → `66.67%`.
pub(crate) fn percent(bp: u32) -> String {
    match bp % 100 {
        0 => format!("{}%", bp / 100),
        rest => format!("{}.{rest:02}%", bp / 100),
    }
}

struct PartRow {
    name: String,
    value: String,
    weight: String,
    effective: String,
    count: String,
}

struct TrendRow {
    period: String,
    score: String,
}

struct CriterionRow {
    name: String,
    score: String,
    weight: String,
    comment: String,
}

struct ReviewCard {
    id: String,
    heading: String,
    reviewed: String,
    total: String,
    /// The amended score, when a dispute changed it.
    amended: Option<String>,
    criteria: Vec<CriterionRow>,
    /// The dispute's status, reason and answer.
    dispute: Option<(String, String, Option<String>)>,
    /// The dispute form is offered (no dispute yet, window open).
    can_dispute: bool,
    window: String,
    /// What the agent typed, kept when the dispute was refused.
    draft: String,
}

#[derive(Template)]
#[template(path = "agents/quality.html")]
struct QualityPage<'a> {
    ctx: &'a PageCtx,
    period_title: String,
    periods: Vec<(String, String, bool)>,
    score: String,
    parts: Vec<PartRow>,
    formula: Vec<String>,
    chart: String,
    trend: Vec<TrendRow>,
    reviews: Vec<ReviewCard>,
    older: Option<String>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    /// Any day of the pay period to show (its first day, from the selector).
    period: Option<String>,
    /// Reviews older than this one.
    reviews_before: Option<String>,
    /// A review just disputed.
    disputed: Option<String>,
}

fn part_name(ctx: &PageCtx, name: PartName) -> String {
    ctx.t(match name {
        PartName::Reviews => "agent_pay.part_reviews",
        PartName::Ratings => "agent_pay.part_ratings",
        PartName::FirstResponse => "agent_pay.part_first_response",
        PartName::Resolution => "agent_pay.part_resolution",
    })
    .into_owned()
}

fn period_label(first: NaiveDate, last: NaiveDate) -> String {
    format!("{first} – {last}")
}

/// The formula in words, with the weights of the rules in force.
fn formula(ctx: &PageCtx, state: &AppState) -> Vec<String> {
    let rules = state.rules();
    let w = rules.quality.weights;
    let target = rules.chat.first_response_target_secs.to_string();
    let hours = rules.quality.reopen_window_hours.to_string();
    vec![
        ctx.t_with(
            "agent_pay.formula_score",
            [
                ("reviews", percent(w.reviews_bp).as_str()),
                ("ratings", percent(w.ratings_bp).as_str()),
                ("first_response", percent(w.first_response_bp).as_str()),
                ("resolution", percent(w.resolution_bp).as_str()),
            ],
        ),
        ctx.t("agent_pay.formula_reviews").into_owned(),
        ctx.t("agent_pay.formula_ratings").into_owned(),
        ctx.t_with(
            "agent_pay.formula_first_response",
            [("secs", target.as_str())],
        ),
        ctx.t_with("agent_pay.formula_resolution", [("hours", hours.as_str())]),
        ctx.t("agent_pay.formula_missing").into_owned(),
    ]
}

fn review_card(
    agent: &Agent,
    now: chrono::DateTime<chrono::Utc>,
    r: &ReviewView,
    draft: Option<&(String, String)>,
) -> ReviewCard {
    let ctx = &agent.ctx;
    let criteria = r
        .scores
        .iter()
        .map(|c| CriterionRow {
            name: match ctx.lang {
                Locale::ZhCn => c.name_zh.clone(),
                Locale::En => c.name_en.clone(),
            },
            score: format!("{} / {}", c.score, c.max),
            weight: percent(c.weight_bp),
            comment: c.comment.clone().unwrap_or_else(|| "—".to_owned()),
        })
        .collect();
    let dispute = r.dispute.as_ref().map(|d| {
        (
            dispute_status(ctx, &d.status),
            d.reason.clone(),
            d.answer.clone(),
        )
    });
    let open = r.dispute.is_none() && now <= r.dispute_until;
    ReviewCard {
        id: r.id.clone(),
        heading: ctx.t_with(
            "agent_pay.review_heading",
            [
                ("chat", &r.chat_id[..8.min(r.chat_id.len())]),
                ("when", agent.time(r.created_at).as_str()),
            ],
        ),
        reviewed: ctx
            .t(if r.reviewer_role == "admin" {
                "agent_pay.by_admin"
            } else {
                "agent_pay.by_shop"
            })
            .into_owned(),
        total: points(r.total_x100),
        amended: (r.effective_x100 != r.total_x100).then(|| points(r.effective_x100)),
        criteria,
        dispute,
        can_dispute: open,
        window: ctx.t_with(
            if open {
                "agent_pay.dispute_until"
            } else {
                "agent_pay.dispute_closed"
            },
            [("when", agent.time_zoned(r.dispute_until).as_str())],
        ),
        draft: draft
            .filter(|(id, _)| id == &r.id)
            .map(|(_, text)| text.clone())
            .unwrap_or_default(),
    }
}

/// What a page with dispute forms shows beside its figures after a dispute was posted.
pub(crate) struct Shown {
    pub(crate) notice: Option<String>,
    /// (the field's or item's anchor, the message).
    pub(crate) errors: Vec<(String, String)>,
    /// (the disputed item's id, the reason typed), kept when the dispute was refused.
    pub(crate) draft: Option<(String, String)>,
}

impl Shown {
    pub(crate) fn nothing() -> Shown {
        Shown {
            notice: None,
            errors: Vec::new(),
            draft: None,
        }
    }
}

/// A refused dispute's message by its error code (`required`, `already_disputed` ...).
pub(crate) fn refusal_text(ctx: &PageCtx, code: &str) -> String {
    let key = format!("agent_pay.error_{code}");
    match crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key) {
        Some(t) => t.into_owned(),
        None => ctx.t("agent_pay.error_other").into_owned(),
    }
}

/// A dispute's status in words.
pub(crate) fn dispute_status(ctx: &PageCtx, status: &str) -> String {
    ctx.t(&format!("agent_pay.dispute_{status}")).into_owned()
}

async fn page(
    state: &AppState,
    agent: &Agent,
    params: &PageParams,
    shown: Shown,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &agent.ctx;
    let rules = state.rules();
    let mut errors = shown.errors;
    let mut bad_period = false;
    let mut query = QualityQuery {
        from: None,
        to: None,
    };
    if let Some(raw) = params.period.as_deref().filter(|s| !s.trim().is_empty()) {
        match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
            Ok(day) => {
                let (first, last) = rules.pay.period.containing(day);
                let w = local_days(&rules, first, last);
                query.from = Some(w.from.and_utc().to_rfc3339());
                query.to = Some(w.to.and_utc().to_rfc3339());
            }
            Err(_) => {
                bad_period = true;
                errors.push((
                    "period".to_owned(),
                    ctx.t("agent_pay.bad_period").into_owned(),
                ));
            }
        }
    }
    let view: QualityView = match quality(state, agent.id.clone(), query).await {
        Ok(v) => v,
        Err(e) => return agent.error(e),
    };
    let cursor = params.reviews_before.clone().filter(|c| !c.is_empty());
    let rows = match reviews::of_agent(state, agent.id.clone(), REVIEWS_PER_PAGE, cursor).await {
        Ok(rows) => rows,
        Err(e) => return agent.error(e),
    };
    let zone = rules.market.time_zone;
    let shown_from = view.from.with_timezone(&zone).date_naive();
    let shown_to = (view.to - chrono::Duration::seconds(1))
        .with_timezone(&zone)
        .date_naive();
    let periods = view
        .trend
        .iter()
        .rev()
        .map(|p| {
            (
                p.first_day.to_string(),
                period_label(p.first_day, p.last_day),
                p.first_day == shown_from,
            )
        })
        .collect();
    let dash = || "—".to_owned();
    let parts = view
        .score
        .parts
        .iter()
        .map(|p| PartRow {
            name: part_name(ctx, p.name),
            value: p.value_x100.map_or_else(dash, points),
            weight: percent(p.weight_bp),
            effective: percent(p.effective_weight_bp),
            count: p.count.to_string(),
        })
        .collect();
    let chart_points: Vec<Point> = view
        .trend
        .iter()
        .map(|p| Point {
            label: p.first_day.format("%m-%d").to_string(),
            value: p.score_x100.map(|s| f64::from(s) / 100.0),
        })
        .collect();
    let title = ctx.t("agent_pay.trend_title");
    let description = ctx.t("agent_pay.trend_desc");
    let chart = line_chart(&LineChart {
        id: "quality-trend",
        title: &title,
        description: &description,
        points: &chart_points,
        min: 0.0,
        max: 100.0,
        format: &|v| format!("{v:.0}"),
    });
    let trend = view
        .trend
        .iter()
        .map(|p| TrendRow {
            period: period_label(p.first_day, p.last_day),
            score: p.score_x100.map_or_else(dash, points),
        })
        .collect();
    let now = state.clock.now().and_utc();
    let older = (rows.len() as i64 > REVIEWS_PER_PAGE)
        .then(|| {
            rows.get(REVIEWS_PER_PAGE as usize - 1)
                .map(|r| r.id.clone())
        })
        .flatten();
    let reviews = rows
        .iter()
        .take(REVIEWS_PER_PAGE as usize)
        .map(|r| review_card(agent, now, r, shown.draft.as_ref()))
        .collect();
    let notice = shown.notice.or_else(|| {
        params
            .disputed
            .as_ref()
            .map(|_| ctx.t("agent_pay.disputed").into_owned())
    });
    let status = if bad_period {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    let page = QualityPage {
        ctx,
        period_title: ctx.t_with(
            "agent_pay.period_title",
            [("period", period_label(shown_from, shown_to).as_str())],
        ),
        periods,
        score: view
            .score
            .score_x100
            .map_or_else(|| ctx.t("agent_pay.no_score").into_owned(), points),
        parts,
        formula: formula(ctx, state),
        chart,
        trend,
        reviews,
        older,
        notice,
        errors,
    };
    agent.finish(render(ctx, &page, status))
}

/// The signed-in agent's quality score for a pay period (by default the current one), its
/// parts, the six-period trend and their reviews.
#[utoipa::path(tag = "pages", params(("period" = Option<String>, Query, description = "A day of the pay period to show"), ("reviews_before" = Option<String>, Query, description = "Reviews older than this one")), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, description = "A bad period", content_type = "text/html", body = String)))]
#[get("/agent/quality")]
async fn quality_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<PageParams>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    page(&state, &agent, &params, Shown::nothing(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct DisputeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

/// Disputes one of the agent's reviews, once, within the window; refusals are shown on the
/// quality page beside the review.
#[utoipa::path(tag = "pages", params(("review_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Disputed: back to the quality page"), (status = 404, content_type = "text/html", body = String), (status = 409, description = "Disputed already", content_type = "text/html", body = String), (status = 422, description = "No reason, or the window closed", content_type = "text/html", body = String)))]
#[post("/agent/quality/reviews/{review_id}/dispute")]
async fn dispute_review(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<DisputeForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/quality").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    let input = DisputeInput {
        reason: form.reason.clone(),
    };
    let err = match reviews::dispute(&state, agent.id.clone(), id.clone(), input).await {
        Ok(_) => {
            return agent.finish(redirect(&format!(
                "/agent/quality?disputed={id}#review-{id}"
            )));
        }
        Err(e) => e,
    };
    let (message, status) = match &err {
        AppError::Validation(fields) => {
            let code = fields.first().map_or("other", |f| f.code.as_str());
            let anchor = if code == "dispute_window_closed" {
                format!("review-{id}")
            } else {
                format!("reason-{id}")
            };
            (
                (anchor, refusal_text(&agent.ctx, code)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        AppError::Conflict {
            code: "already_disputed",
            ..
        } => (
            (
                format!("review-{id}"),
                refusal_text(&agent.ctx, "already_disputed"),
            ),
            StatusCode::CONFLICT,
        ),
        _ => return agent.error(err),
    };
    let shown = Shown {
        notice: None,
        errors: vec![message],
        draft: Some((id, form.reason.clone())),
    };
    page(&state, &agent, &PageParams::default(), shown, status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_and_points() {
        assert_eq!(percent(4_000), "40%");
        assert_eq!(percent(6_667), "66.67%");
        assert_eq!(points(9_100), "91.00");
        assert_eq!(points(7), "0.07");
    }
}
