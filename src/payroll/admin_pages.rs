//! Admin pages for payroll: the runs (list and a create form), one run (progress while it
//! computes, totals per skill and shop with the margin, the change since the previous run,
//! payslips, and the forms that move it from draft to paid), one agent's lines in a run,
//! the open disputes, and adjustments. Every form posts and redirects back (POST-redirect-
//! GET, CSRF checked) and calls the same use cases as the JSON API.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::adjustments::{self, AdjustmentRequest};
use super::service::{self, Resolution, Summary};
use super::store::{self, LineRow, RunRow};
use crate::accounts::model::AccountId;
use crate::certification::admin_pages::{AdminSession, admin_session};
use crate::error::{AppError, FieldError, Invalid};
use crate::seats::booking::yuan;
use crate::state::AppState;
use crate::web::api::{PageQuery, page_rows};
use crate::web::pages::{PageCtx, check_csrf, error_page, redirect, render, url_escape};

pub fn configure(cfg: &mut ServiceConfig) {
    // The fixed paths before `/admin/payroll/{run_id}`.
    cfg.service(runs_page)
        .service(create_run_page)
        .service(disputes_page)
        .service(resolve_page)
        .service(adjustments_page)
        .service(add_adjustment_page)
        .service(payroll_js)
        .service(run_page)
        .service(agent_lines_page)
        .service(recompute_page)
        .service(publish_page)
        .service(approve_page)
        .service(mark_paid_page);
}

/// Rows per page of the runs, payslips, disputes and adjustments tables.
const PAGE: i64 = 25;

const PAYROLL_JS: &str = include_str!("../web/static/payroll.js");

/// The run page's progress, polled from the API while the run computes.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/payroll.js")]
async fn payroll_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Content-Type", "text/javascript; charset=utf-8"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(PAYROLL_JS)
}

/// Yuan as typed (`12`, `-12.5`, `¥1,234.50`) into fen.
pub fn parse_yuan(raw: &str) -> Result<i64, Invalid> {
    let invalid = || Invalid::new("invalid_amount", "an amount in yuan, e.g. 12.50 or -3.00");
    let s: String = raw
        .trim()
        .trim_start_matches('¥')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start_matches('¥')),
        None => (false, s.as_str()),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| invalid())?;
    let fen = whole * 100 + cents;
    Ok(if negative { -fen } else { fen })
}

fn money(fen: i64) -> String {
    format!("¥{}", yuan(fen))
}

fn signed_money(fen: i64) -> String {
    if fen > 0 {
        format!("+{}", money(fen))
    } else {
        money(fen)
    }
}

fn local(t: NaiveDateTime, zone: Tz) -> String {
    t.and_utc()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn hours(minutes: i64) -> String {
    format!("{:.1}", minutes as f64 / 60.0)
}

fn status_label(ctx: &PageCtx, status: &str) -> String {
    ctx.t(&format!("admin_pay.status.{status}")).into_owned()
}

/// Field errors in the page's language: this area's wording first, then the shared one.
fn field_errors(ctx: &PageCtx, errors: &[FieldError]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| {
            let key = format!("admin_pay.field_error.{}", e.code);
            match crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key) {
                Some(text) => (e.field.clone(), text.into_owned()),
                None => ctx.field_errors(std::slice::from_ref(e)).remove(0),
            }
        })
        .collect()
}

/// A refusal (409) as the page says it, linked to `field` (the form it came from).
fn refusal(ctx: &PageCtx, field: &str, code: &str, detail: &str) -> (String, String) {
    let key = format!("admin_pay.refused.{code}");
    let text = crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key)
        .map(|t| t.into_owned())
        .unwrap_or_else(|| detail.to_owned());
    (field.to_owned(), text)
}

/// What a failed form post shows: its errors and status, or the error page.
enum Outcome {
    Errors(Vec<(String, String)>, StatusCode),
    Page(HttpResponse),
}

fn outcome(ctx: &PageCtx, field: &str, err: AppError) -> Outcome {
    match err {
        AppError::Validation(e) => {
            Outcome::Errors(field_errors(ctx, &e), StatusCode::UNPROCESSABLE_ENTITY)
        }
        AppError::Conflict { code, detail, .. } => Outcome::Errors(
            vec![refusal(ctx, field, code, &detail)],
            StatusCode::CONFLICT,
        ),
        e => Outcome::Page(error_page(ctx, e)),
    }
}

/// An admin's form post: signed in as an admin, CSRF checked.
async fn admin_post(
    state: &AppState,
    req: &HttpRequest,
    csrf_token: &str,
) -> Result<AdminSession, HttpResponse> {
    let s = admin_session(state, req).await?;
    if let Err(e) = check_csrf(req, csrf_token) {
        return Err(error_page(&s.ctx, e));
    }
    Ok(s)
}

fn notice(ctx: &PageCtx, done: Option<&str>) -> Option<String> {
    done.filter(|d| {
        [
            "created",
            "recomputed",
            "published",
            "approved",
            "paid",
            "resolved",
            "adjusted",
        ]
        .contains(d)
    })
    .map(|d| ctx.t(&format!("admin_pay.done.{d}")).into_owned())
}

/// A page of `PAGE` rows from `cursor`.
fn paging(cursor: Option<String>) -> Result<(i64, Option<String>), AppError> {
    PageQuery {
        limit: Some(PAGE),
        cursor,
    }
    .parse()
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    done: Option<String>,
}

// ---------------------------------------------------------------- runs

struct RunRowView {
    href: String,
    period: String,
    status: String,
    total: String,
    agents: i32,
    created: String,
}

#[derive(Default, Deserialize)]
struct NewRunForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

#[derive(Template)]
#[template(path = "admin/payroll_runs.html")]
struct RunsPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: NewRunForm,
    rows: Vec<RunRowView>,
    next_page: Option<String>,
    zone_note: String,
}

async fn runs_view(
    state: &AppState,
    s: &AdminSession,
    cursor: Option<String>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: NewRunForm,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &s.ctx;
    let (limit, cursor) = match paging(cursor) {
        Ok(p) => p,
        Err(e) => return error_page(ctx, e),
    };
    let rows = match state
        .db
        .run(move |conn| store::runs(conn, cursor.as_deref(), limit + 1))
        .await
    {
        Ok(rows) => rows,
        Err(e) => return error_page(ctx, e.into()),
    };
    let (rows, next) = page_rows(rows, limit, |r| r.id.clone());
    let page = RunsPage {
        ctx,
        notice,
        errors,
        form,
        rows: rows
            .iter()
            .map(|r| RunRowView {
                href: format!("/admin/payroll/{}", url_escape(&r.id)),
                period: format!("{} – {}", r.period_from, r.period_to),
                status: status_label(ctx, &r.status),
                total: money(r.total_fen),
                agents: r.agent_count,
                created: local(r.created_at, s.zone),
            })
            .collect(),
        next_page: next.map(|c| format!("/admin/payroll?cursor={}", url_escape(&c))),
        zone_note: ctx.t_with(
            "admin_pay.zone_note",
            [
                ("zone", s.zone.name()),
                ("market", state.rules().market.time_zone.name()),
            ],
        ),
    };
    render(ctx, &page, status)
}

/// Payroll runs, newest first, with a form to create one.
#[utoipa::path(tag = "pages", params(("cursor" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/payroll")]
async fn runs_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = notice(&s.ctx, q.done.as_deref());
    runs_view(
        &state,
        &s,
        q.cursor,
        notice,
        Vec::new(),
        NewRunForm::default(),
        StatusCode::OK,
    )
    .await
}

fn parse_day(raw: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new("invalid_date", "a date is YYYY-MM-DD"))
}

/// Creates a run for a period and starts computing it; on to the run's page.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "To the run's page"), (status = 403, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/payroll/runs")]
async fn create_run_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewRunForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let s = match admin_post(&state, &req, &form.csrf_token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let mut errors = crate::error::FieldErrors::new();
    let from = errors.check("from", parse_day(&form.from));
    let to = errors.check("to", parse_day(&form.to));
    let result = match (from, to) {
        (Some(from), Some(to)) => {
            let rules = state.rules();
            let now = state.clock.now();
            let me = s.id.clone();
            state
                .db
                .run(move |conn| service::create_run(conn, &me, from, to, &rules, now))
                .await
                .map_err(AppError::from)
        }
        _ => Err(AppError::from(errors)),
    };
    match result {
        Ok(id) => {
            super::routes::start_compute(&state, id.clone());
            redirect(&format!("/admin/payroll/{}?done=created", url_escape(&id)))
        }
        Err(e) => match outcome(&s.ctx, "from", e) {
            Outcome::Errors(errors, status) => {
                runs_view(&state, &s, None, None, errors, form, status).await
            }
            Outcome::Page(res) => res,
        },
    }
}

// ---------------------------------------------------------------- one run

struct TotalsRow {
    name: String,
    hours: String,
    pay: String,
    shop_paid: String,
    margin: String,
}

struct SlipRow {
    href: String,
    name: String,
    hours: String,
    chats: i64,
    quality: String,
    total: String,
}

struct DiffView {
    href: String,
    period: String,
    total: String,
    agents: String,
    skills: Vec<(String, String)>,
}

#[derive(Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    dispute_window_hours: String,
    #[serde(default)]
    reference: String,
}

#[derive(Template)]
#[template(path = "admin/payroll_run.html")]
struct RunPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    id: String,
    period: String,
    computing: bool,
    progress_done: i32,
    progress_total: i32,
    facts: Vec<(String, String)>,
    error: Option<String>,
    skills: Vec<TotalsRow>,
    shops: Vec<TotalsRow>,
    unallocated: String,
    diff: Option<DiffView>,
    slips: Vec<SlipRow>,
    next_page: Option<String>,
    can_recompute: bool,
    can_publish: bool,
    can_approve: bool,
    can_pay: bool,
    has_bank_file: bool,
    open_disputes: i64,
    disputes_note: String,
    form: ActionForm,
}

struct RunData {
    run: RunRow,
    prev: Option<RunRow>,
    slips: Vec<(store::PayslipRow, String)>,
    shops: BTreeMap<String, String>,
    open_disputes: i64,
}

fn totals_rows(rows: &[service::Totals], name: impl Fn(&str) -> String) -> Vec<TotalsRow> {
    rows.iter()
        .map(|t| TotalsRow {
            name: name(&t.key),
            hours: hours(t.minutes),
            pay: money(t.pay_fen),
            shop_paid: money(t.shop_paid_fen),
            margin: money(t.margin_fen),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn run_view(
    state: &AppState,
    s: &AdminSession,
    id: String,
    cursor: Option<String>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: ActionForm,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &s.ctx;
    let (limit, cursor) = match paging(cursor) {
        Ok(p) => p,
        Err(e) => return error_page(ctx, e),
    };
    let data = state
        .db
        .run(move |conn| {
            let run = store::run(conn, &id)?.ok_or(AppError::NotFound)?;
            let prev = store::previous_run(conn, &run)?;
            let slips = store::payslips_with_names(conn, &id, cursor.as_deref(), limit + 1)?;
            let summary: Summary = serde_json::from_str(&run.summary).unwrap_or_default();
            let ids: Vec<String> = summary.shops.iter().map(|t| t.key.clone()).collect();
            let shops = store::merchant_names(conn, &ids)?;
            let open_disputes = store::open_disputes(conn, &id)?;
            Ok::<_, AppError>(RunData {
                run,
                prev,
                slips,
                shops,
                open_disputes,
            })
        })
        .await;
    let data = match data {
        Ok(d) => d,
        Err(e) => return error_page(ctx, e.into()),
    };
    let run = &data.run;
    let summary: Summary = serde_json::from_str(&run.summary).unwrap_or_default();
    let rules = state.rules();
    let skills = totals_rows(&summary.skills, |k| rules.skill_name(k, ctx.lang));
    let shops = totals_rows(&summary.shops, |k| {
        data.shops.get(k).cloned().unwrap_or_else(|| k.to_owned())
    });
    let diff = data.prev.as_ref().map(|prev| {
        let d = super::routes::diff(run, prev);
        DiffView {
            href: format!("/admin/payroll/{}", url_escape(&prev.id)),
            period: format!("{} – {}", prev.period_from, prev.period_to),
            total: signed_money(d.total_fen_change),
            agents: format!("{:+}", d.agent_count_change),
            skills: d
                .skills
                .iter()
                .map(|c| {
                    (
                        rules.skill_name(&c.skill, ctx.lang),
                        signed_money(c.pay_fen_change),
                    )
                })
                .collect(),
        }
    });
    let (slip_rows, next) = page_rows(data.slips, limit, |(p, _)| p.agent_id.clone());
    let base = format!("/admin/payroll/{}", url_escape(&run.id));
    let slips = slip_rows
        .iter()
        .map(|(p, name)| SlipRow {
            href: format!("{base}/agents/{}", url_escape(&p.agent_id)),
            name: name.clone(),
            hours: hours(p.minutes),
            chats: p.chats,
            quality: p
                .quality_score_x100
                .map(|q| format!("{:.2}", f64::from(q) / 100.0))
                .unwrap_or_else(|| "–".into()),
            total: money(p.total_fen),
        })
        .collect();
    let opt = |t: Option<NaiveDateTime>| t.map(|t| local(t, s.zone));
    let mut facts = vec![
        (
            ctx.t("admin_pay.status").into_owned(),
            status_label(ctx, &run.status),
        ),
        (ctx.t("admin_pay.total").into_owned(), money(run.total_fen)),
        (
            ctx.t("admin_pay.agents").into_owned(),
            run.agent_count.to_string(),
        ),
        (
            ctx.t("admin_pay.created").into_owned(),
            local(run.created_at, s.zone),
        ),
    ];
    for (key, value) in [
        ("admin_pay.computed", opt(run.computed_at)),
        ("admin_pay.published", opt(run.published_at)),
        ("admin_pay.dispute_until", opt(run.dispute_until)),
        ("admin_pay.approved", opt(run.approved_at)),
        ("admin_pay.paid", opt(run.paid_at)),
        ("admin_pay.reference", run.payout_reference.clone()),
    ] {
        if let Some(v) = value {
            facts.push((ctx.t(key).into_owned(), v));
        }
    }
    let st = run.status.as_str();
    let page = RunPage {
        ctx,
        notice,
        errors,
        id: run.id.clone(),
        period: format!("{} – {}", run.period_from, run.period_to),
        computing: st == "computing",
        progress_done: run.progress_done,
        progress_total: run.progress_total,
        facts,
        error: run.error.clone(),
        skills,
        shops,
        unallocated: money(summary.unallocated_fen),
        diff,
        slips,
        next_page: next.map(|c| format!("{base}?cursor={}", url_escape(&c))),
        can_recompute: ["draft", "failed"].contains(&st),
        can_publish: st == "draft",
        can_approve: st == "published",
        can_pay: st == "approved",
        has_bank_file: store::LOCKED.contains(&st),
        open_disputes: data.open_disputes,
        disputes_note: ctx.t_with(
            "admin_pay.disputes_open",
            [("count", data.open_disputes.to_string().as_str())],
        ),
        form,
    };
    render(ctx, &page, status)
}

/// One run: progress while computing, totals per skill and shop with the margin, the change
/// since the previous run, payslips, and the forms for its next step.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path), ("cursor" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/admin/payroll/{run_id}")]
async fn run_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = notice(&s.ctx, q.done.as_deref());
    run_view(
        &state,
        &s,
        path.into_inner(),
        q.cursor,
        notice,
        Vec::new(),
        ActionForm::default(),
        StatusCode::OK,
    )
    .await
}

/// A run's step by form: back to the run's page with a notice, or the page with why not.
async fn act(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    id: String,
    form: ActionForm,
    field: &str,
    done: &str,
    f: impl FnOnce(&mut crate::db::DbConn, &AccountId) -> Result<(), AppError> + Send + 'static,
) -> HttpResponse {
    let s = match admin_post(state, req, &form.csrf_token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let me = s.id.clone();
    let result = state
        .db
        .run(move |conn| f(conn, &me))
        .await
        .map_err(AppError::from);
    match result {
        Ok(()) => {
            state.wake_outbox();
            redirect(&format!("/admin/payroll/{}?done={done}", url_escape(&id)))
        }
        Err(e) => match outcome(&s.ctx, field, e) {
            Outcome::Errors(errors, status) => {
                run_view(state, &s, id, None, None, errors, form, status).await
            }
            Outcome::Page(res) => res,
        },
    }
}

/// Computes a draft (or a failed run) again.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Back to the run"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/admin/payroll/{run_id}/recompute")]
async fn recompute_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let now = state.clock.now();
    let run = id.clone();
    let res = act(
        &state,
        &req,
        id.clone(),
        form.into_inner(),
        "recompute",
        "recomputed",
        move |conn, me| service::recompute(conn, me, &run, now),
    )
    .await;
    if res.status() == StatusCode::SEE_OTHER {
        super::routes::start_compute(&state, id);
    }
    res
}

/// Publishes a draft with a dispute window (hours).
#[utoipa::path(tag = "pages", params(("run_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Back to the run"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/payroll/{run_id}/publish")]
async fn publish_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let form = form.into_inner();
    let now = state.clock.now();
    let url = state.public_url.clone();
    let raw = form.dispute_window_hours.trim().to_owned();
    let run = id.clone();
    act(
        &state,
        &req,
        id,
        form,
        "dispute_window_hours",
        "published",
        move |conn, me| {
            let hours = if raw.is_empty() {
                None
            } else {
                Some(
                    raw.parse::<u32>()
                        .map_err(|_| service::window_out_of_range())?,
                )
            };
            let hours = service::dispute_window(hours)?;
            service::publish(conn, me, &run, hours, &url, now).map(|_| ())
        },
    )
    .await
}

/// Approves a published run (refused while disputes are open).
#[utoipa::path(tag = "pages", params(("run_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Back to the run"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/admin/payroll/{run_id}/approve")]
async fn approve_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let now = state.clock.now();
    let url = state.public_url.clone();
    let run = id.clone();
    act(
        &state,
        &req,
        id,
        form.into_inner(),
        "approve",
        "approved",
        move |conn, me| service::approve(conn, me, &run, &url, now).map(|_| ()),
    )
    .await
}

/// Records the payout reference of an approved run.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Back to the run"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/payroll/{run_id}/mark-paid")]
async fn mark_paid_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let form = form.into_inner();
    let now = state.clock.now();
    let reference = form.reference.clone();
    let run = id.clone();
    act(
        &state,
        &req,
        id,
        form,
        "reference",
        "paid",
        move |conn, me| service::mark_paid(conn, me, &run, &reference, now).map(|_| ()),
    )
    .await
}

// ---------------------------------------------------------------- one agent's lines

struct LineRowView {
    what: String,
    units: i64,
    explained: String,
    amount: String,
    note: String,
    dispute: String,
}

#[derive(Template)]
#[template(path = "admin/payroll_agent.html")]
struct AgentLinesPage<'a> {
    ctx: &'a PageCtx,
    run_href: String,
    period: String,
    name: String,
    total: String,
    lines: Vec<LineRowView>,
    adjust_href: String,
}

/// One agent's lines in a run, each explained, with its dispute if any.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path), ("agent_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/admin/payroll/{run_id}/agents/{agent_id}")]
async fn agent_lines_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &s.ctx;
    let (run_id, agent) = path.into_inner();
    let data = state
        .db
        .run(move |conn| {
            let run = store::run(conn, &run_id)?.ok_or(AppError::NotFound)?;
            let slip = store::payslip(conn, &run_id, &agent)?.ok_or(AppError::NotFound)?;
            let (_, name, _) = store::agent_contact(conn, &agent)?.ok_or(AppError::NotFound)?;
            let lines = store::lines(conn, &run_id, &agent)?;
            let mut disputes = BTreeMap::new();
            for l in &lines {
                if let Some(d) = store::dispute_of_line(conn, &l.id)? {
                    disputes.insert(l.id.clone(), d);
                }
            }
            Ok::<_, AppError>((run, slip, name, lines, disputes))
        })
        .await;
    let (run, slip, name, lines, disputes) = match data {
        Ok(d) => d,
        Err(e) => return error_page(ctx, e.into()),
    };
    let rules = state.rules();
    let what = |l: &LineRow| {
        let mut s = ctx.t(&format!("admin_pay.kind.{}", l.kind)).into_owned();
        if let Some(skill) = &l.skill {
            s = format!("{s} · {}", rules.skill_name(skill, ctx.lang));
        }
        if let Some(kind) = &l.chat_kind {
            s = format!("{s} · {kind}");
        }
        s
    };
    let page = AgentLinesPage {
        ctx,
        run_href: format!("/admin/payroll/{}", url_escape(&run.id)),
        period: format!("{} – {}", run.period_from, run.period_to),
        adjust_href: format!(
            "/admin/payroll/adjustments?agent_id={}{}",
            url_escape(&slip.agent_id),
            if store::LOCKED.contains(&run.status.as_str()) {
                format!("&from_run_id={}", url_escape(&run.id))
            } else {
                String::new()
            }
        ),
        name,
        total: money(slip.total_fen),
        lines: lines
            .iter()
            .map(|l| LineRowView {
                what: what(l),
                units: l.units,
                explained: service::line_text(l),
                amount: money(l.amount_fen),
                note: l.note.clone().unwrap_or_default(),
                dispute: disputes
                    .get(&l.id)
                    .map(|d| {
                        format!(
                            "{}: {}",
                            status_label(ctx, &format!("dispute_{}", d.status)),
                            d.reason
                        )
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    };
    render(ctx, &page, StatusCode::OK)
}

// ---------------------------------------------------------------- disputes

struct DisputeRowView {
    id: String,
    run_href: String,
    period: String,
    agent: String,
    line: String,
    amount: String,
    amount_yuan: String,
    reason: String,
    created: String,
}

#[derive(Default, Deserialize)]
struct ResolveForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    answer: String,
}

#[derive(Template)]
#[template(path = "admin/payroll_disputes.html")]
struct DisputesPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    /// The dispute the errors belong to, and what was typed.
    failed: Option<String>,
    form: ResolveForm,
    rows: Vec<DisputeRowView>,
    next_page: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn disputes_view(
    state: &AppState,
    s: &AdminSession,
    cursor: Option<String>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    failed: Option<String>,
    form: ResolveForm,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &s.ctx;
    let (limit, cursor) = match paging(cursor) {
        Ok(p) => p,
        Err(e) => return error_page(ctx, e),
    };
    let rows = state
        .db
        .run(move |conn| {
            let rows = store::disputes(conn, None, Some("open"), cursor.as_deref(), limit + 1)?;
            let mut out = Vec::new();
            for d in rows {
                let run = store::run(conn, &d.run_id)?;
                let line = store::line(conn, &d.line_id)?;
                let name = store::agent_contact(conn, &d.agent_id)?.map(|c| c.1);
                out.push((d, run, line, name));
            }
            Ok::<_, AppError>(out)
        })
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return error_page(ctx, e.into()),
    };
    let (rows, next) = page_rows(rows, limit, |r| r.0.id.clone());
    let page = DisputesPage {
        ctx,
        notice,
        errors,
        failed,
        form,
        rows: rows
            .iter()
            .map(|(d, run, line, name)| DisputeRowView {
                id: d.id.clone(),
                run_href: format!("/admin/payroll/{}", url_escape(&d.run_id)),
                period: run
                    .as_ref()
                    .map(|r| format!("{} – {}", r.period_from, r.period_to))
                    .unwrap_or_default(),
                agent: name.clone().unwrap_or_else(|| d.agent_id.clone()),
                line: line.as_ref().map(service::line_text).unwrap_or_default(),
                amount: line
                    .as_ref()
                    .map(|l| money(l.amount_fen))
                    .unwrap_or_default(),
                amount_yuan: line
                    .as_ref()
                    .map(|l| service::plain_yuan(l.amount_fen))
                    .unwrap_or_default(),
                reason: d.reason.clone(),
                created: local(d.created_at, s.zone),
            })
            .collect(),
        next_page: next.map(|c| format!("/admin/payroll/disputes?cursor={}", url_escape(&c))),
    };
    render(ctx, &page, status)
}

/// Open disputes of pay lines, each with accept (new amount) and reject (answer) forms.
#[utoipa::path(tag = "pages", params(("cursor" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/payroll/disputes")]
async fn disputes_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = notice(&s.ctx, q.done.as_deref());
    disputes_view(
        &state,
        &s,
        q.cursor,
        notice,
        Vec::new(),
        None,
        ResolveForm::default(),
        StatusCode::OK,
    )
    .await
}

/// Accepts (with the line's new amount in yuan) or rejects (with an answer) a dispute.
#[utoipa::path(tag = "pages", params(("dispute_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Back to the disputes"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/payroll/disputes/{dispute_id}/resolve")]
async fn resolve_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let s = match admin_post(&state, &req, &form.csrf_token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let answer = Some(form.answer.trim().to_owned()).filter(|a| !a.is_empty());
    let resolution = match form.decision.as_str() {
        "accept" => parse_yuan(&form.amount)
            .map(|amount_fen| Resolution::Accept { amount_fen, answer })
            .map_err(|e| AppError::field("amount", e.code, e.message)),
        _ => answer
            .map(|answer| Resolution::Reject { answer })
            .ok_or_else(|| AppError::field("answer", "required", "a rejection answers the agent")),
    };
    let now = state.clock.now();
    let me = s.id.clone();
    let dispute = id.clone();
    let result = match resolution {
        Ok(r) => state
            .db
            .run(move |conn| service::resolve(conn, &me, &dispute, &r, now))
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => redirect("/admin/payroll/disputes?done=resolved"),
        Err(e) => match outcome(&s.ctx, "answer", e) {
            Outcome::Errors(errors, status) => {
                // Each row's fields carry the dispute's id.
                let errors = errors
                    .into_iter()
                    .map(|(field, text)| (format!("{field}-{id}"), text))
                    .collect();
                disputes_view(&state, &s, None, None, errors, Some(id), form, status).await
            }
            Outcome::Page(res) => res,
        },
    }
}

// ---------------------------------------------------------------- adjustments

struct AdjustmentRowView {
    agent: String,
    amount: String,
    reason: String,
    corrects: String,
    status: String,
    created: String,
}

#[derive(Default, Deserialize)]
struct AdjustmentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    from_run_id: String,
}

#[derive(Template)]
#[template(path = "admin/payroll_adjustments.html")]
struct AdjustmentsPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: AdjustmentForm,
    runs: Vec<(String, String)>,
    rows: Vec<AdjustmentRowView>,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct AdjustmentsQuery {
    cursor: Option<String>,
    done: Option<String>,
    /// Pre-fills the form.
    agent_id: Option<String>,
    from_run_id: Option<String>,
}

async fn adjustments_view(
    state: &AppState,
    s: &AdminSession,
    cursor: Option<String>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: AdjustmentForm,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &s.ctx;
    let (limit, cursor) = match paging(cursor) {
        Ok(p) => p,
        Err(e) => return error_page(ctx, e),
    };
    let data = state
        .db
        .run(move |conn| {
            let rows = store::adjustments(conn, None, None, cursor.as_deref(), limit + 1)?;
            let mut named = Vec::new();
            for a in rows {
                let name = store::agent_contact(conn, &a.agent_id)?.map(|c| c.1);
                let run = match &a.applied_run_id {
                    Some(id) => store::run(conn, id)?,
                    None => None,
                };
                named.push((a, name, run));
            }
            let runs = store::locked_runs(conn, 50)?;
            Ok::<_, AppError>((named, runs))
        })
        .await;
    let (rows, runs) = match data {
        Ok(d) => d,
        Err(e) => return error_page(ctx, e.into()),
    };
    let (rows, next) = page_rows(rows, limit, |r| r.0.id.clone());
    let page = AdjustmentsPage {
        ctx,
        notice,
        errors,
        form,
        runs: runs
            .iter()
            .map(|r| (r.id.clone(), format!("{} – {}", r.period_from, r.period_to)))
            .collect(),
        rows: rows
            .iter()
            .map(|(a, name, applied)| AdjustmentRowView {
                agent: name.clone().unwrap_or_else(|| a.agent_id.clone()),
                amount: money(a.amount_fen),
                reason: a.reason.clone(),
                corrects: a.from_run_id.clone().unwrap_or_default(),
                status: match applied {
                    Some(r) => ctx.t_with(
                        "admin_pay.adjustment_applied",
                        [(
                            "period",
                            format!("{} – {}", r.period_from, r.period_to).as_str(),
                        )],
                    ),
                    None => ctx.t("admin_pay.adjustment_pending").into_owned(),
                },
                created: local(a.created_at, s.zone),
            })
            .collect(),
        next_page: next.map(|c| format!("/admin/payroll/adjustments?cursor={}", url_escape(&c))),
    };
    render(ctx, &page, status)
}

/// Adjustments (newest first) and the form to add one for an agent's next run.
#[utoipa::path(tag = "pages", params(("cursor" = Option<String>, Query), ("agent_id" = Option<String>, Query), ("from_run_id" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/payroll/adjustments")]
async fn adjustments_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AdjustmentsQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = notice(&s.ctx, q.done.as_deref());
    let form = AdjustmentForm {
        agent_id: q.agent_id.unwrap_or_default(),
        from_run_id: q.from_run_id.unwrap_or_default(),
        ..AdjustmentForm::default()
    };
    adjustments_view(
        &state,
        &s,
        q.cursor,
        notice,
        Vec::new(),
        form,
        StatusCode::OK,
    )
    .await
}

/// Adds an adjustment (amount in yuan, signed) for an agent's next run.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Back to the adjustments"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/payroll/adjustments")]
async fn add_adjustment_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AdjustmentForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let s = match admin_post(&state, &req, &form.csrf_token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let result = match parse_yuan(&form.amount) {
        Ok(amount_fen) => {
            let request = AdjustmentRequest {
                agent_id: form.agent_id.trim().to_owned(),
                amount_fen,
                reason: form.reason.clone(),
                from_run_id: Some(form.from_run_id.clone()),
            };
            let me = s.id.clone();
            let now = state.clock.now();
            let url = state.public_url.clone();
            state
                .db
                .run(move |conn| adjustments::add(conn, &me, &request, &url, now))
                .await
                .map_err(AppError::from)
        }
        Err(e) => Err(AppError::field("amount", e.code, e.message)),
    };
    match result {
        Ok(_) => {
            state.wake_outbox();
            redirect("/admin/payroll/adjustments?done=adjusted")
        }
        // An unknown agent is the form's mistake here, not a missing page.
        Err(AppError::NotFound) => {
            let errors = vec![(
                "agent_id".to_owned(),
                s.ctx.t("admin_pay.field_error.unknown_agent").into_owned(),
            )];
            adjustments_view(&state, &s, None, None, errors, form, StatusCode::NOT_FOUND).await
        }
        Err(e) => match outcome(&s.ctx, "amount", e) {
            Outcome::Errors(errors, status) => {
                // The API names the amount `amount_fen`; the form's field is `amount`.
                let errors = errors
                    .into_iter()
                    .map(|(f, t)| {
                        (
                            if f == "amount_fen" {
                                "amount".to_owned()
                            } else {
                                f
                            },
                            t,
                        )
                    })
                    .collect();
                adjustments_view(&state, &s, None, None, errors, form, status).await
            }
            Outcome::Page(res) => res,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_as_typed_becomes_fen() {
        assert_eq!(parse_yuan("12"), Ok(1_200));
        assert_eq!(parse_yuan(" 37.8 "), Ok(3_780));
        assert_eq!(parse_yuan("-12.50"), Ok(-1_250));
        assert_eq!(parse_yuan("¥1,234.05"), Ok(123_405));
        assert_eq!(parse_yuan("-¥0.05"), Ok(-5));
        for bad in ["", "-", "1.234", "abc", "1.2.3", ".5", "1e3", "--1"] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
    }
}
