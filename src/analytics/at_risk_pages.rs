//! The admins' at-risk page: certified agents with warning signs, highest score first, each
//! with the reasons in the page's language, the newest follow-up and a form to record one
//! (the same use case as `POST /api/admin/agents/{id}/follow-ups`); filters by minimum
//! score and skill, a CSV download of the filtered list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::at_risk_routes::{self, AtRiskQuery, Filter, Listed};
use super::follow_ups::{CHANNELS, FollowUpInput, MAX_NOTE_CHARS, OUTCOMES};
use crate::certification::admin_pages::{admin_form, admin_session};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::api::{PageQuery, page_rows};
use crate::web::pages::{PageCtx, error_page, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(at_risk_page)
        .service(at_risk_csv)
        .service(follow_up_page);
}

/// Agents per page.
const PAGE_SIZE: i64 = 50;
const PATH: &str = "/admin/analytics/at-risk";

struct Reason {
    weight: u32,
    text: String,
}

struct FollowUpShown {
    at: String,
    channel: String,
    outcome: String,
    note: String,
    by: String,
}

struct Row {
    id: String,
    name: String,
    email: String,
    skills: String,
    score: u32,
    reasons: Vec<Reason>,
    last: Option<FollowUpShown>,
}

/// A follow-up form posted with errors: what was entered and the errors by field.
struct Retry {
    agent: String,
    contacted_at: String,
    channel: String,
    outcome: String,
    note: String,
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "admin/at_risk.html")]
struct AtRiskPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    min_score: String,
    skill: String,
    skills: Vec<(String, String)>,
    rows: Vec<Row>,
    /// The window, in words.
    window: String,
    csv_link: String,
    next_page: Option<String>,
    /// The filters as a query string, for the forms' way back.
    back: String,
    channels: Vec<(&'static str, String)>,
    outcomes: Vec<(&'static str, String)>,
    retry: Option<Retry>,
    max_note: usize,
}

impl AtRiskPage<'_> {
    fn retry_of(&self, id: &str) -> Option<&Retry> {
        self.retry.as_ref().filter(|r| r.agent == id)
    }

    fn error_of(&self, id: &str, field: &str) -> Option<String> {
        let want = format!("{field}-{id}");
        self.retry_of(id)?
            .errors
            .iter()
            .find(|e| e.0 == want)
            .map(|e| e.1.clone())
    }

    fn entered(&self, id: &str, field: &str) -> String {
        self.retry_of(id)
            .map(|r| match field {
                "contacted_at" => r.contacted_at.clone(),
                "channel" => r.channel.clone(),
                "outcome" => r.outcome.clone(),
                _ => r.note.clone(),
            })
            .unwrap_or_default()
    }
}

fn local(t: NaiveDateTime, zone: Tz) -> String {
    t.and_utc()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn escape(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn query_of(q: &AtRiskQuery) -> String {
    format!(
        "min_score={}&skill={}",
        escape(q.min_score.as_deref().unwrap_or("")),
        escape(q.skill.as_deref().unwrap_or(""))
    )
}

fn row(state: &AppState, ctx: &PageCtx, zone: Tz, l: &Listed) -> Row {
    let rules = state.rules();
    Row {
        id: l.agent.id.clone(),
        name: l.agent.name.clone(),
        email: l.agent.email.clone(),
        skills: l
            .agent
            .skills
            .iter()
            .map(|s| rules.skill_name(s, ctx.lang))
            .collect::<Vec<_>>()
            .join(", "),
        score: l.assessment.score,
        reasons: l
            .assessment
            .fired
            .iter()
            .map(|f| Reason {
                weight: f.weight,
                text: f.reason(ctx.lang),
            })
            .collect(),
        last: l.last_follow_up.as_ref().map(|f| FollowUpShown {
            at: local(f.contacted_at.naive_utc(), zone),
            channel: ctx
                .t(&format!("at_risk.channel_{}", f.channel))
                .into_owned(),
            outcome: ctx
                .t(&format!("at_risk.outcome_{}", f.outcome))
                .into_owned(),
            note: f.note.clone(),
            by: f.admin_name.clone(),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    ctx: &PageCtx,
    zone: Tz,
    q: AtRiskQuery,
    cursor: Option<String>,
    notice: Option<String>,
    retry: Option<Retry>,
    status: StatusCode,
) -> HttpResponse {
    let rules = state.rules();
    let paging = PageQuery {
        limit: Some(PAGE_SIZE),
        cursor,
    };
    let (filter, mut errors, status) = match Filter::parse(&q, &rules) {
        Ok(f) => (f, Vec::new(), status),
        Err(AppError::Validation(e)) => (
            Filter {
                min_score: 1,
                skill: None,
            },
            e.iter()
                .map(|e| {
                    (
                        format!("filter-{}", e.field),
                        ctx.t(&format!("at_risk.filter_error_{}", e.field))
                            .into_owned(),
                    )
                })
                .collect(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return error_page(ctx, e),
    };
    let result = async {
        let (limit, cursor) = paging.parse()?;
        let (overview, listed) = at_risk_routes::assessed(state).await?;
        let rows = at_risk_routes::page_after(listed, &filter, cursor.as_deref(), limit as usize)?;
        Ok::<_, AppError>((overview, page_rows(rows, limit, |l| l.agent.id.clone())))
    }
    .await;
    let (overview, (rows, next)) = match result {
        Ok(r) => r,
        Err(e) => return error_page(ctx, e),
    };
    if let Some(r) = &retry {
        errors.extend(r.errors.iter().cloned());
    }
    let back = query_of(&q);
    let page = AtRiskPage {
        ctx,
        notice,
        errors,
        min_score: q.min_score.clone().unwrap_or_default(),
        skill: filter.skill.clone().unwrap_or_default(),
        skills: rules.skill_names(ctx.lang),
        rows: rows.iter().map(|l| row(state, ctx, zone, l)).collect(),
        window: ctx.t_with(
            "at_risk.window",
            [
                (
                    "recent",
                    local(overview.recent_from.naive_utc(), zone).as_str(),
                ),
                (
                    "baseline",
                    local(overview.baseline_from.naive_utc(), zone).as_str(),
                ),
                ("as_of", local(overview.as_of.naive_utc(), zone).as_str()),
            ],
        ),
        csv_link: format!("{PATH}/export.csv?{back}"),
        next_page: next.map(|c| format!("{PATH}?{back}&cursor={c}")),
        back,
        channels: CHANNELS
            .iter()
            .map(|c| (*c, ctx.t(&format!("at_risk.channel_{c}")).into_owned()))
            .collect(),
        outcomes: OUTCOMES
            .iter()
            .map(|c| (*c, ctx.t(&format!("at_risk.outcome_{c}")).into_owned()))
            .collect(),
        retry,
        max_note: MAX_NOTE_CHARS,
    };
    render(ctx, &page, status)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    min_score: Option<String>,
    skill: Option<String>,
    cursor: Option<String>,
    /// The agent whose follow-up was just recorded (shows a status message).
    recorded: Option<String>,
}

/// At-risk agents: score, reasons, newest follow-up and a form to record one.
#[utoipa::path(tag = "pages", params(PageParams), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, description = "A bad filter, shown above the list", content_type = "text/html", body = String)))]
#[get("/admin/analytics/at-risk")]
async fn at_risk_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageParams>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = q
        .recorded
        .map(|_| s.ctx.t("at_risk.recorded_notice").into_owned());
    let filters = AtRiskQuery {
        min_score: q.min_score,
        skill: q.skill,
    };
    view(
        &state,
        &s.ctx,
        s.zone,
        filters,
        q.cursor,
        notice,
        None,
        StatusCode::OK,
    )
    .await
}

/// The filtered at-risk list as CSV, reasons in the page's language.
#[utoipa::path(tag = "pages", params(AtRiskQuery), responses((status = 200, content_type = "text/csv", body = String), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/analytics/at-risk/export.csv")]
async fn at_risk_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AtRiskQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let result = match Filter::parse(&q, &state.rules()) {
        Ok(filter) => at_risk_routes::csv_response(&state, filter, s.ctx.lang).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| error_page(&s.ctx, e))
}

#[derive(Deserialize)]
struct FollowUpForm {
    csrf_token: String,
    #[serde(default)]
    contacted_at: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
    /// The list's filters, to go back to.
    #[serde(default)]
    back: String,
}

/// A `datetime-local` value (`2026-12-05T10:30`) in `zone` as an RFC 3339 instant; other
/// text is passed on for the validation to name.
fn instant_of(raw: &str, zone: Tz) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let parsed = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|t| zone.from_local_datetime(&t).earliest());
    Some(match parsed {
        Some(t) => t.to_rfc3339(),
        None => raw.to_owned(),
    })
}

/// The list's filters from the form's `back` (only the two filter keys are kept).
fn filters_of(back: &str) -> AtRiskQuery {
    let mut q = AtRiskQuery::default();
    for (k, v) in url::form_urlencoded::parse(back.as_bytes()) {
        match k.as_ref() {
            "min_score" if !v.is_empty() => q.min_score = Some(v.into_owned()),
            "skill" if !v.is_empty() => q.skill = Some(v.into_owned()),
            _ => {}
        }
    }
    q
}

/// Records a follow-up contact with an agent from the at-risk page: the same use case as
/// `POST /api/admin/agents/{agent_id}/follow-ups`, audit logged.
#[utoipa::path(tag = "pages", params(("agent_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Recorded: back to the list"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 422, description = "Shown by the agent's form", content_type = "text/html", body = String)))]
#[post("/admin/analytics/at-risk/{agent_id}/follow-ups")]
async fn follow_up_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<FollowUpForm>,
) -> HttpResponse {
    let agent = path.into_inner();
    let form = form.into_inner();
    let s = match admin_form(&state, &req, PATH, &form.csrf_token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &s.ctx;
    let filters = filters_of(&form.back);
    let input = FollowUpInput {
        contacted_at: instant_of(&form.contacted_at, s.zone),
        channel: form.channel.clone(),
        outcome: form.outcome.clone(),
        note: form.note.clone(),
    };
    match at_risk_routes::record(&state, s.id.clone(), agent.clone(), input).await {
        Ok(_) => s.finish(redirect(&format!(
            "{PATH}?{}&recorded={agent}#agent-{agent}",
            query_of(&filters)
        ))),
        Err(AppError::Validation(errors)) => {
            let errors = errors
                .iter()
                .map(|e| {
                    (
                        format!("{}-{agent}", e.field),
                        ctx.t(&format!("at_risk.error_{}_{}", e.field, e.code))
                            .into_owned(),
                    )
                })
                .collect();
            let retry = Retry {
                agent,
                contacted_at: form.contacted_at,
                channel: form.channel,
                outcome: form.outcome,
                note: form.note,
                errors,
            };
            let res = view(
                &state,
                ctx,
                s.zone,
                filters,
                None,
                None,
                Some(retry),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            s.finish(res)
        }
        Err(e) => s.finish(error_page(ctx, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_admin_s_zone() {
        let zone: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            instant_of("2026-12-05T10:30", zone).as_deref(),
            Some("2026-12-05T10:30:00+08:00")
        );
        assert_eq!(instant_of("  ", zone), None);
        assert_eq!(instant_of("soon", zone).as_deref(), Some("soon"));
    }

    #[test]
    fn the_way_back_keeps_only_the_filters() {
        let q = filters_of("min_score=40&skill=pre_sale&cursor=abc");
        assert_eq!(
            (q.min_score.as_deref(), q.skill.as_deref()),
            (Some("40"), Some("pre_sale"))
        );
        assert_eq!(query_of(&q), "min_score=40&skill=pre_sale");
        assert!(filters_of("").min_score.is_none());
    }
}
