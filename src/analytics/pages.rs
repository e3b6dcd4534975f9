//! The admin's churn page: a month range and grouping form, the monthly churn rate as a
//! chart with the figures in a table, exit reasons, figures per group, the cohort triangle
//! and the retention curve. The same report as `GET /api/admin/analytics/churn`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use utoipa_actix_web::service_config::ServiceConfig;

use super::churn::MonthFigures;
use super::report::{ChurnReport, GroupBy, month_label};
use super::routes::{ChurnParams, churn_report, csv_download};
use super::rules::NO_GROUP;
use crate::certification::admin_pages::admin_session;
use crate::error::{AppError, FieldError};
use crate::quality::quality_pages::percent;
use crate::seats::rules::Ruleset;
use crate::state::AppState;
use crate::web::chart::{LineChart, Point, bar_chart, line_chart};
use crate::web::pages::{PageCtx, error_page, render, url_escape};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(churn_page).service(churn_page_csv);
}

/// One row of the monthly table.
struct MonthRow {
    month: String,
    active_at_start: u32,
    active_at_end: u32,
    churned: u32,
    rate: String,
    left_and_returned: u32,
    new: u32,
    returning: u32,
    net_change: String,
}

/// One group: its name and a cell per month (rate, churned of active at start).
struct GroupRow {
    name: String,
    cells: Vec<String>,
}

struct CohortRow {
    month: String,
    size: u32,
    /// Active at the end of month k, and as a share of the cohort.
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/churn.html")]
struct ChurnPage<'a> {
    ctx: &'a PageCtx,
    errors: Vec<(String, String)>,
    from: String,
    to: String,
    group_options: Vec<(&'static str, String, bool)>,
    note: String,
    csv_href: String,
    /// `None` when the query was refused (the form and its errors only).
    shown: Option<Shown>,
}

struct Shown {
    empty: bool,
    rate_chart: String,
    months: Vec<MonthRow>,
    reasons_chart: String,
    reasons: Vec<(String, u32)>,
    group_title: String,
    group_months: Vec<String>,
    groups: Vec<GroupRow>,
    cohorts: Vec<CohortRow>,
    cohort_months: Vec<String>,
    curve_chart: String,
    curve: Vec<(String, String)>,
}

/// An exit reason as the page says it (its code if the page has no words for it).
fn reason_label(ctx: &PageCtx, reason: &str) -> String {
    let key = format!("analytics.reason.{reason}");
    crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key)
        .map(|t| t.into_owned())
        .unwrap_or_else(|| reason.to_owned())
}

/// A group as the page says it.
fn group_label(ctx: &PageCtx, rules: &Ruleset, by: GroupBy, group: &str) -> String {
    if group == NO_GROUP {
        return ctx
            .t(&format!("analytics.none.{}", by.as_str()))
            .into_owned();
    }
    let band = |bands: &[super::rules::Band]| {
        bands
            .iter()
            .find(|b| b.id == group)
            .map_or_else(|| group.to_owned(), |b| b.name(ctx.lang).to_owned())
    };
    match by {
        GroupBy::Skill => rules.skill_name(group, ctx.lang),
        GroupBy::PayBand => band(&rules.churn.pay_bands),
        GroupBy::QualityBand => band(&rules.churn.quality_bands),
        GroupBy::Tenure => {
            let key = format!("analytics.tenure.{}", group.replace(['-', '+'], "_"));
            crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key)
                .map(|t| t.into_owned())
                .unwrap_or_else(|| group.to_owned())
        }
        GroupBy::None => group.to_owned(),
    }
}

/// Field errors in the page's language, with the range limit where it applies.
fn field_errors(ctx: &PageCtx, errors: &[FieldError], max_months: u32) -> Vec<(String, String)> {
    let (max, years) = (max_months.to_string(), (max_months / 12).to_string());
    errors
        .iter()
        .map(|e| {
            let key = format!("analytics.field_error.{}", e.code);
            let text = match crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key) {
                Some(_) => ctx.t_with(&key, [("max", max.as_str()), ("years", years.as_str())]),
                None => ctx.field_errors(std::slice::from_ref(e)).remove(0).1,
            };
            (e.field.clone(), text)
        })
        .collect()
}

fn rate(m: &MonthFigures) -> String {
    m.churn_rate_bp.map_or_else(|| "–".to_owned(), percent)
}

enum Kind {
    Line,
    Bar,
}

/// A chart from 0 to `max` titled and described by `analytics.<key>_chart_title` and
/// `_desc`, its axis values whole numbers followed by `unit`.
fn chart(
    ctx: &PageCtx,
    kind: Kind,
    id: &str,
    key: &str,
    points: &[Point],
    max: f64,
    unit: &str,
) -> String {
    let title = ctx.t(&format!("analytics.{key}_chart_title")).into_owned();
    let description = ctx.t(&format!("analytics.{key}_chart_desc")).into_owned();
    let c = LineChart {
        id,
        title: &title,
        description: &description,
        points,
        min: 0.0,
        max,
        format: &|v| format!("{v:.0}{unit}"),
    };
    match kind {
        Kind::Line => line_chart(&c),
        Kind::Bar => bar_chart(&c),
    }
}

fn shown(ctx: &PageCtx, rules: &Ruleset, r: &ChurnReport) -> Shown {
    let labels: Vec<String> = r.months.iter().map(|m| month_label(m.month)).collect();
    let rate_points: Vec<Point> = r
        .months
        .iter()
        .zip(&labels)
        .map(|(m, label)| Point {
            label: label.clone(),
            value: m.churn_rate_bp.map(|bp| f64::from(bp) / 100.0),
        })
        .collect();
    let top = rate_points
        .iter()
        .filter_map(|p| p.value)
        .fold(10.0_f64, f64::max)
        .ceil();
    let rate_chart = chart(
        ctx,
        Kind::Line,
        "churn-rate",
        "rate",
        &rate_points,
        top,
        "%",
    );
    let months = r
        .months
        .iter()
        .zip(&labels)
        .map(|(m, label)| MonthRow {
            month: label.clone(),
            active_at_start: m.active_at_start,
            active_at_end: m.active_at_end,
            churned: m.churned,
            rate: rate(m),
            left_and_returned: m.left_and_returned,
            new: m.new,
            returning: m.returning,
            net_change: if m.net_change > 0 {
                format!("+{}", m.net_change)
            } else {
                m.net_change.to_string()
            },
        })
        .collect();
    let reasons: Vec<(String, u32)> = r
        .exit_reasons
        .iter()
        .map(|(reason, n)| (reason_label(ctx, reason), *n))
        .collect();
    let reason_points: Vec<Point> = reasons
        .iter()
        .map(|(label, n)| Point {
            label: label.clone(),
            value: Some(f64::from(*n)),
        })
        .collect();
    let most = reasons.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let reasons_chart = chart(
        ctx,
        Kind::Bar,
        "exit-reasons",
        "reasons",
        &reason_points,
        f64::from(most),
        "",
    );
    let groups = r
        .groups
        .iter()
        .map(|g| GroupRow {
            name: group_label(ctx, rules, r.group_by, &g.group),
            cells: g
                .months
                .iter()
                .map(|m| format!("{} ({}/{})", rate(m), m.churned, m.active_at_start))
                .collect(),
        })
        .collect();
    let longest = r.cohorts.iter().map(|c| c.active.len()).max().unwrap_or(0);
    let cohorts = r
        .cohorts
        .iter()
        .map(|c| CohortRow {
            month: month_label(c.month),
            size: c.size,
            cells: c
                .active
                .iter()
                .map(|a| {
                    let bp = (u64::from(*a) * 10_000)
                        .checked_div(u64::from(c.size))
                        .and_then(|bp| u32::try_from(bp).ok())
                        .unwrap_or(0);
                    format!("{a} ({})", percent(bp))
                })
                .collect(),
        })
        .collect();
    let cohort_months: Vec<String> = (0..longest)
        .map(|k| ctx.t_with("analytics.month_k", [("k", k.to_string().as_str())]))
        .collect();
    let curve_points: Vec<Point> = r
        .retention_curve_bp
        .iter()
        .zip(&cohort_months)
        .map(|(bp, label)| Point {
            label: label.clone(),
            value: Some(f64::from(*bp) / 100.0),
        })
        .collect();
    let curve_chart = chart(
        ctx,
        Kind::Line,
        "retention-curve",
        "curve",
        &curve_points,
        100.0,
        "%",
    );
    let curve = r
        .retention_curve_bp
        .iter()
        .zip(&cohort_months)
        .map(|(bp, label)| (label.clone(), percent(*bp)))
        .collect();
    let empty = r
        .months
        .iter()
        .all(|m| m.active_at_start == 0 && m.active_at_end == 0 && m.churned == 0 && m.new == 0);
    Shown {
        empty,
        rate_chart,
        months,
        reasons_chart,
        reasons,
        group_title: if r.group_by == GroupBy::None {
            String::new()
        } else {
            ctx.t(&format!("analytics.group_title.{}", r.group_by.as_str()))
                .into_owned()
        },
        group_months: labels,
        groups,
        cohorts,
        cohort_months,
        curve_chart,
        curve,
    }
}

fn query_string(params: &ChurnParams) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("from", &params.from),
        ("to", &params.to),
        ("group_by", &params.group_by),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", url_escape(v)));
        }
    }
    parts.join("&")
}

/// Agent churn and retention.
#[utoipa::path(tag = "pages", params(ChurnParams), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/analytics/churn")]
async fn churn_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ChurnParams>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let rules = state.rules();
    let params = params.into_inner();
    let chosen = params.group_by.clone().unwrap_or_default();
    let mut page = ChurnPage {
        ctx,
        errors: Vec::new(),
        from: params.from.clone().unwrap_or_default(),
        to: params.to.clone().unwrap_or_default(),
        group_options: GroupBy::ALL
            .iter()
            .map(|g| {
                (
                    g.as_str(),
                    ctx.t(&format!("analytics.group_by.{}", g.as_str()))
                        .into_owned(),
                    chosen == g.as_str(),
                )
            })
            .collect(),
        note: String::new(),
        csv_href: format!("/admin/analytics/churn/csv?{}", query_string(&params)),
        shown: None,
    };
    let query = match params.parse(&state) {
        Ok(q) => q,
        Err(AppError::Validation(errors)) => {
            page.errors = field_errors(ctx, &errors, rules.churn.max_range_months);
            return admin.finish(render(ctx, &page, StatusCode::UNPROCESSABLE_ENTITY));
        }
        Err(e) => return error_page(ctx, e),
    };
    let report = match churn_report(&state, query).await {
        Ok(r) => r,
        Err(e) => return error_page(ctx, e),
    };
    page.from = report.from.clone();
    page.to = report.to.clone();
    let days = report.inactive_after_days.to_string();
    let as_of = report.as_of.to_string();
    page.note = ctx.t_with(
        "analytics.note",
        [
            ("zone", report.time_zone.as_str()),
            ("as_of", as_of.as_str()),
            ("days", days.as_str()),
        ],
    );
    page.shown = Some(shown(ctx, &rules, &report));
    admin.finish(render(ctx, &page, StatusCode::OK))
}

/// The page's figures as CSV (`GET /api/admin/analytics/churn.csv` with the session
/// cookie).
#[utoipa::path(tag = "pages", params(ChurnParams), responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/analytics/churn/csv")]
async fn churn_page_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ChurnParams>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let result = match params.parse(&state) {
        Ok(q) => churn_report(&state, q).await,
        Err(e) => Err(e),
    };
    match result.and_then(|r| csv_download(&r)) {
        Ok(res) => res,
        Err(e) => error_page(&admin.ctx, e),
    }
}
