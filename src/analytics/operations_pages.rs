//! The admins' operations page (`/admin/operations`): the same figures as
//! `GET /api/admin/operations`, with the sold-against-staffed chart drawn on the server
//! beside its table, and a table per section. A small script (`/static/operations.js`)
//! swaps in fresh figures every 30 seconds, with a button to pause; without script the page
//! shows the figures it was drawn with. (Not a `meta refresh`: a timed reload of the whole
//! page takes screen-reader users back to the top and cannot be paused.)

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::merchant_reports::{percent, seconds};
use super::operations::{self, DEFAULT_DAYS, MAX_DAYS, OperationsDashboard};
use super::operations_routes::dashboard;
use crate::certification::admin_pages::admin_session;
use crate::error::AppError;
use crate::seats::booking::yuan;
use crate::state::AppState;
use crate::web::chart::{PairedBarChart, paired_bar_chart};
use crate::web::pages::{PageCtx, error_page, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(operations_page).service(operations_js);
}

const OPERATIONS_JS: &str = include_str!("../web/static/operations.js");

/// The dashboard's updates: fetches the page every 30 seconds and swaps in the figures.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/operations.js")]
async fn operations_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Content-Type", "text/javascript; charset=utf-8"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(OPERATIONS_JS)
}

/// How often the page's script fetches fresh figures.
pub const REFRESH_SECS: u32 = 30;
/// The most x-axis labels the chart writes.
const MAX_LABELS: usize = 12;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Market days from today, 1 to 14 (default 3).
    pub days: Option<String>,
}

struct HourRow {
    date: String,
    hour: String,
    sold: u32,
    staffed: u32,
    gap: u32,
    understaffed: bool,
}

struct NoShowRow {
    agent: String,
    merchant: String,
    skill: String,
    start: String,
    status: String,
}

struct QueueRow {
    merchant: String,
    waiting: u32,
    longest_wait: String,
    on_shift: u32,
    online: u32,
    service_level: String,
}

struct RunRow {
    href: String,
    period: String,
    status: String,
    agents: i32,
    total: String,
    open_disputes: u32,
}

struct Shown {
    as_of: String,
    facts: Vec<(String, String)>,
    chart: String,
    hours: Vec<HourRow>,
    any_sold: bool,
    no_shows: Vec<NoShowRow>,
    queues: Vec<QueueRow>,
    outbox: Vec<(String, String)>,
    runs: Vec<RunRow>,
    payroll_disputes: String,
}

#[derive(Template)]
#[template(path = "admin/operations.html")]
struct OperationsPage<'a> {
    ctx: &'a PageCtx,
    errors: Vec<(String, String)>,
    days: String,
    max_days: u32,
    refresh_secs: u32,
    shown: Option<Shown>,
}

fn shown(ctx: &PageCtx, d: &OperationsDashboard) -> Shown {
    let t = |key: &str| ctx.t(&format!("operations.{key}")).into_owned();
    let c = &d.coverage;
    let slots: Vec<(String, f64, f64)> = c
        .hours
        .iter()
        .map(|h| {
            (
                format!("{} {:02}", h.date.format("%m-%d"), h.hour),
                f64::from(h.sold),
                f64::from(h.staffed),
            )
        })
        .collect();
    let top = c
        .hours
        .iter()
        .map(|h| h.sold.max(h.staffed))
        .max()
        .unwrap_or(0)
        .max(1);
    let (title, description) = (
        t("chart_title"),
        ctx.t_with(
            "operations.chart_desc",
            [
                ("days", c.days.to_string().as_str()),
                ("zone", d.time_zone.as_str()),
            ],
        ),
    );
    let (sold, staffed) = (t("col_sold"), t("col_staffed"));
    let chart = paired_bar_chart(&PairedBarChart {
        id: "sold-staffed",
        title: &title,
        description: &description,
        slots: &slots,
        legend: [&sold, &staffed],
        max: f64::from(top),
        label_every: slots.len().div_ceil(MAX_LABELS).max(1),
        format: &|v| format!("{v:.0}"),
    });
    let facts = vec![
        (t("sold_seat_hours"), c.sold_seat_hours.to_string()),
        (t("staffed_seat_hours"), c.staffed_seat_hours.to_string()),
        (t("gap_seat_hours"), c.gap_seat_hours.to_string()),
        (t("understaffed_hours"), c.understaffed_hours.to_string()),
    ];
    let hours = c
        .hours
        .iter()
        .map(|h| HourRow {
            date: h.date.to_string(),
            hour: format!("{:02}:00", h.hour),
            sold: h.sold,
            staffed: h.staffed,
            gap: h.gap,
            understaffed: h.understaffed,
        })
        .collect();
    let no_shows = d
        .no_shows
        .iter()
        .map(|n| NoShowRow {
            agent: n.agent.clone(),
            merchant: n.merchant.clone(),
            skill: n.skill.clone(),
            start: n.local_start.clone(),
            status: t(if n.recorded {
                "no_show_recorded"
            } else {
                "no_show_pending"
            }),
        })
        .collect();
    let queues = d
        .queues
        .iter()
        .map(|q| QueueRow {
            merchant: q.merchant.clone(),
            waiting: q.waiting,
            longest_wait: seconds(ctx.lang, q.longest_wait_secs),
            on_shift: q.agents_on_shift,
            online: q.agents_online,
            service_level: percent(q.service_level_bp),
        })
        .collect();
    let o = &d.outbox;
    let outbox = vec![
        (t("outbox_pending"), o.pending.to_string()),
        (t("outbox_oldest"), seconds(ctx.lang, o.oldest_pending_secs)),
        (t("outbox_failed"), o.failed.to_string()),
        (t("outbox_sent"), o.sent.to_string()),
    ];
    let runs = d
        .payroll
        .runs
        .iter()
        .map(|r| RunRow {
            href: format!("/admin/payroll/{}", r.run_id),
            period: format!("{} – {}", r.period_from, r.period_to),
            status: ctx
                .t(&format!("admin_pay.status.{}", r.status))
                .into_owned(),
            agents: r.agent_count,
            total: format!("¥{}", yuan(r.total_fen)),
            open_disputes: r.open_disputes,
        })
        .collect();
    Shown {
        as_of: ctx.t_with(
            "operations.as_of",
            [
                (
                    "at",
                    d.at.with_timezone(&d.time_zone.parse().unwrap_or(chrono_tz::UTC))
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                        .as_str(),
                ),
                ("zone", d.time_zone.as_str()),
                ("grace", d.no_show_grace_minutes.to_string().as_str()),
                ("target", d.target_secs.to_string().as_str()),
            ],
        ),
        facts,
        chart,
        any_sold: c.sold_seat_hours > 0 || c.staffed_seat_hours > 0,
        hours,
        no_shows,
        queues,
        outbox,
        runs,
        payroll_disputes: ctx.t_with(
            "operations.payroll_disputes",
            [("n", d.payroll.open_disputes.to_string().as_str())],
        ),
    }
}

/// Seats sold against staffed per hour, no-shows today, queue health per shop, the outbox
/// and payroll, updated every 30 seconds by its script.
#[utoipa::path(tag = "pages", params(PageQuery), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/operations")]
async fn operations_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let ctx = &admin.ctx;
    let raw_days = q.days.clone().unwrap_or_default();
    let mut page = OperationsPage {
        ctx,
        errors: Vec::new(),
        days: raw_days.clone(),
        max_days: MAX_DAYS,
        refresh_secs: REFRESH_SECS,
        shown: None,
    };
    let (days, status) = match operations::parse_days(Some(&raw_days)) {
        Ok(days) => (days, StatusCode::OK),
        Err(AppError::Validation(errors)) => {
            page.errors = errors
                .iter()
                .map(|e| {
                    let text = ctx.t_with(
                        &format!("operations.field_error.{}", e.code),
                        [("max", MAX_DAYS.to_string().as_str())],
                    );
                    (e.field.clone(), text)
                })
                .collect();
            // The default view still shows below the message.
            (DEFAULT_DAYS, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return error_page(ctx, e),
    };
    if status == StatusCode::OK {
        page.days = days.to_string();
    }
    match dashboard(&state, days).await {
        Ok(d) => page.shown = Some(shown(ctx, &d)),
        Err(e) => return error_page(ctx, e),
    }
    admin.finish(render(ctx, &page, status))
}
