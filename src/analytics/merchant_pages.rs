//! The shop's service dashboard page (`/seats/dashboard`): the live figures (updated in
//! place by a small script listening to `/seats/dashboard/live`; without script the page
//! shows the snapshot it was rendered with), continuity with server-drawn charts and their
//! tables, renewals, and the opt-in for the mailed reports.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::continuity::{Renewal, RenewalStatus};
use super::live::{LiveSnapshot, WindowFigures};
use super::merchant_dash::{self, ContinuityReport, MySubscriptions, RangeQuery};
use super::merchant_reports::{percent, rating, seconds};
use crate::accounts::model::{AccountId, Locale, MerchantId};
use crate::error::AppError;
use crate::seats::pages::shop_session;
use crate::seats::service::Actor;
use crate::state::AppState;
use crate::web::chart::{self, LineChart, Point};
use crate::web::pages::{PageCtx, check_csrf, error_page, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(dashboard_page)
        .service(live_events)
        .service(save_reports)
        .service(dashboard_js);
}

const DASH_JS: &str = include_str!("../web/static/merchant_dash.js");

/// The dashboard's live updates: listens to the page's event stream and rewrites the
/// figures in place.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/merchant_dash.js")]
async fn dashboard_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Content-Type", "text/javascript; charset=utf-8"))
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(DASH_JS)
}

/// A shop staff member's page session: the page context, the shop and the account.
pub(crate) async fn staff_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(PageCtx, MerchantId, AccountId), HttpResponse> {
    let (ctx, actor) = shop_session(state, req).await?;
    match actor {
        Actor::Staff { merchant, account } => Ok((ctx, merchant, account)),
        Actor::Admin { .. } => Err(error_page(&ctx, AppError::Forbidden { code: "wrong_role" })),
    }
}

/// One figure of the live section: the script finds it by `field` (its path in the
/// snapshot) and writes it in the way `format` says.
struct Fact {
    label: String,
    field: String,
    format: &'static str,
    value: String,
}

/// One row of the windows' table.
struct WindowRow {
    label: String,
    key: &'static str,
    format: &'static str,
    recent: String,
    today: String,
}

struct WeekRow {
    week: String,
    chats: u32,
    chat_continuity: String,
    shifts: u32,
    shift_continuity: String,
    agents: u32,
    new_agents: u32,
    rotation: String,
}

struct RenewalRow {
    period: String,
    dates: String,
    seat_hours: i64,
    next_peak: String,
    next_edition: String,
}

struct Subscriber {
    name: String,
    email: String,
    cadence: String,
}

#[derive(Template)]
#[template(path = "analytics/merchant_dashboard.html")]
struct DashboardPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    seconds_pattern: String,
    as_of: String,
    target_help: String,
    now_facts: Vec<Fact>,
    window_rows: Vec<WindowRow>,
    from: String,
    to: String,
    served: bool,
    summary: Vec<(String, String)>,
    continuity_chart: String,
    rotation_chart: String,
    weeks: Vec<WeekRow>,
    renewals: Vec<RenewalRow>,
    renewal_rates: String,
    mine: MySubscriptions,
    subscribers: Vec<Subscriber>,
}

fn format_value(l: Locale, format: &str, value: Option<i64>) -> String {
    match format {
        "percent" => percent(value.and_then(|v| u32::try_from(v).ok())),
        "seconds" => seconds(l, value),
        "rating" => rating(value.and_then(|v| u32::try_from(v).ok())),
        _ => value.map_or_else(|| "–".to_owned(), |v| v.to_string()),
    }
}

fn now_facts(ctx: &PageCtx, s: &LiveSnapshot) -> Vec<Fact> {
    let fact = |key: &str, field: &str, format: &'static str, value: Option<i64>| Fact {
        label: ctx.t(&format!("merchant_dash.{key}")).into_owned(),
        field: field.to_owned(),
        format,
        value: format_value(ctx.lang, format, value),
    };
    vec![
        fact("waiting", "waiting", "count", Some(i64::from(s.waiting))),
        fact(
            "longest_wait",
            "longest_wait_secs",
            "seconds",
            s.longest_wait_secs,
        ),
        fact(
            "in_progress",
            "in_progress",
            "count",
            Some(i64::from(s.in_progress)),
        ),
        fact(
            "left_messages",
            "left_messages",
            "count",
            Some(i64::from(s.left_messages)),
        ),
        fact(
            "agents_on_shift",
            "agents_on_shift",
            "count",
            Some(i64::from(s.agents_on_shift)),
        ),
        fact(
            "agents_online",
            "agents_online",
            "count",
            Some(i64::from(s.agents_online)),
        ),
    ]
}

type Pick = fn(&WindowFigures) -> Option<i64>;

fn window_rows(ctx: &PageCtx, s: &LiveSnapshot) -> Vec<WindowRow> {
    let rows: [(&'static str, &'static str, Pick); 8] = [
        ("service_level_bp", "percent", |w| {
            w.service_level_bp.map(i64::from)
        }),
        ("avg_first_response_secs", "seconds", |w| {
            w.avg_first_response_secs
        }),
        ("avg_queue_secs", "seconds", |w| w.avg_queue_secs),
        ("avg_handle_secs", "seconds", |w| w.avg_handle_secs),
        ("avg_rating_x100", "rating", |w| {
            w.avg_rating_x100.map(i64::from)
        }),
        ("arrived", "count", |w| Some(i64::from(w.arrived))),
        ("answered", "count", |w| Some(i64::from(w.answered))),
        ("abandoned", "count", |w| Some(i64::from(w.abandoned))),
    ];
    rows.into_iter()
        .map(|(key, format, pick)| WindowRow {
            label: ctx.t(&format!("merchant_dash.w.{key}")).into_owned(),
            key,
            format,
            recent: format_value(ctx.lang, format, pick(&s.last_15_minutes)),
            today: format_value(ctx.lang, format, pick(&s.today)),
        })
        .collect()
}

fn following(ctx: &PageCtx, f: Option<&super::continuity::FollowingPeak>) -> String {
    match f {
        None => ctx.t("merchant_dash.renewal_none").into_owned(),
        Some(p) => {
            let name = match ctx.lang {
                Locale::ZhCn => &p.name_zh,
                Locale::En => &p.name_en,
            };
            let status = match p.status {
                RenewalStatus::Booked => "booked",
                RenewalStatus::Open => "open",
                RenewalStatus::Missed => "missed",
            };
            ctx.t_with(
                &format!("merchant_dash.renewal_{status}"),
                [("period", name.as_str())],
            )
        }
    }
}

fn renewal_row(ctx: &PageCtx, r: &Renewal) -> RenewalRow {
    RenewalRow {
        period: match ctx.lang {
            Locale::ZhCn => r.name_zh.clone(),
            Locale::En => r.name_en.clone(),
        },
        dates: format!("{} – {}", r.start, r.end),
        seat_hours: r.seat_hours,
        next_peak: following(ctx, r.next_peak.as_ref()),
        next_edition: following(ctx, r.next_edition.as_ref()),
    }
}

/// A weekly percentage chart (0-100%) of one figure.
fn week_chart(
    ctx: &PageCtx,
    id: &str,
    key: &str,
    report: &ContinuityReport,
    pick: fn(&super::continuity::WeekFigures) -> Option<u32>,
) -> String {
    let points: Vec<Point> = report
        .figures
        .weeks
        .iter()
        .map(|w| Point {
            label: w.week_of.format("%m-%d").to_string(),
            value: pick(w).map(|bp| f64::from(bp) / 100.0),
        })
        .collect();
    let title = ctx.t(&format!("merchant_dash.chart_{key}")).into_owned();
    let description = ctx.t_with(
        &format!("merchant_dash.chart_{key}_desc"),
        [
            ("from", report.from.to_string().as_str()),
            ("to", report.to.to_string().as_str()),
        ],
    );
    chart::line_chart(&LineChart {
        id,
        title: &title,
        description: &description,
        points: &points,
        min: 0.0,
        max: 100.0,
        format: &|v| format!("{v:.0}%"),
    })
}

#[derive(Debug, Default, Deserialize)]
struct DashQuery {
    from: Option<String>,
    to: Option<String>,
    notice: Option<String>,
}

/// The shop's service dashboard: live figures, continuity, renewals and the mailed
/// reports' opt-in.
#[utoipa::path(
    tag = "pages",
    params(("from" = Option<String>, Query, description = "First market day, YYYY-MM-DD"), ("to" = Option<String>, Query, description = "Last market day")),
    responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String))
)]
#[get("/seats/dashboard")]
async fn dashboard_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DashQuery>,
) -> HttpResponse {
    let (ctx, merchant, account) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = query.into_inner();
    let today = state.clock.today_in(state.rules().market.time_zone);
    let asked = RangeQuery {
        from: q.from.clone(),
        to: q.to.clone(),
    };
    // A bad range is shown with its errors, and the default range instead.
    let (range, errors) = match merchant_dash::parse_range(&asked, today) {
        Ok(range) => (range, Vec::new()),
        Err(AppError::Validation(errors)) => {
            let shown = errors
                .iter()
                .map(|e| {
                    (
                        format!("dash-{}", e.field),
                        ctx.t(&format!("merchant_dash.error.{}", e.code))
                            .into_owned(),
                    )
                })
                .collect();
            match merchant_dash::parse_range(&RangeQuery::default(), today) {
                Ok(range) => (range, shown),
                Err(e) => return error_page(&ctx, e),
            }
        }
        Err(e) => return error_page(&ctx, e),
    };
    let shop = merchant.0.clone();
    let (report, snapshot, subs) = match tokio::try_join!(
        merchant_dash::continuity_report(&state, shop.clone(), range.0, range.1),
        merchant_dash::live_snapshot(&state, shop.clone()),
        merchant_dash::list_subscriptions(&state, shop.clone()),
    ) {
        Ok(all) => all,
        Err(e) => return error_page(&ctx, e),
    };
    let f = &report.figures;
    let mine = MySubscriptions {
        daily: subs.items.iter().any(|s| {
            s.account_id == account.as_str() && s.cadence == merchant_dash::Cadence::Daily
        }),
        weekly: subs.items.iter().any(|s| {
            s.account_id == account.as_str() && s.cadence == merchant_dash::Cadence::Weekly
        }),
    };
    let count = |n: u32| n.to_string();
    let page = DashboardPage {
        notice: q
            .notice
            .filter(|n| n == "reports_saved")
            .map(|_| ctx.t("merchant_dash.reports_saved").into_owned()),
        errors,
        seconds_pattern: ctx.t("merchant_dash.seconds").into_owned(),
        as_of: ctx.t_with(
            "merchant_dash.as_of",
            [(
                "time",
                crate::shifts::service::local(
                    state.rules().market.time_zone,
                    snapshot.at.naive_utc(),
                )
                .as_str(),
            )],
        ),
        target_help: ctx.t_with(
            "merchant_dash.target_help",
            [(
                "target",
                seconds(ctx.lang, Some(i64::from(snapshot.target_secs))).as_str(),
            )],
        ),
        now_facts: now_facts(&ctx, &snapshot),
        window_rows: window_rows(&ctx, &snapshot),
        from: report.from.to_string(),
        to: report.to.to_string(),
        served: f.chats > 0 || f.shifts > 0,
        summary: vec![
            (
                ctx.t("merchant_dash.chat_continuity").into_owned(),
                format!(
                    "{} ({}/{})",
                    percent(f.chat_continuity_bp),
                    f.returning_chats,
                    f.chats
                ),
            ),
            (
                ctx.t("merchant_dash.shift_continuity").into_owned(),
                format!(
                    "{} ({}/{})",
                    percent(f.shift_continuity_bp),
                    f.returning_shifts,
                    f.shifts
                ),
            ),
            (ctx.t("merchant_dash.agents").into_owned(), count(f.agents)),
            (
                ctx.t("merchant_dash.new_agents").into_owned(),
                count(f.new_agents),
            ),
            (
                ctx.t("merchant_dash.rotation").into_owned(),
                percent(f.rotation_bp),
            ),
        ],
        continuity_chart: week_chart(&ctx, "chart-continuity", "continuity", &report, |w| {
            w.chat_continuity_bp
        }),
        rotation_chart: week_chart(&ctx, "chart-rotation", "rotation", &report, |w| {
            w.rotation_bp
        }),
        weeks: f
            .weeks
            .iter()
            .map(|w| WeekRow {
                week: format!("{} – {}", w.first_day, w.last_day),
                chats: w.chats,
                chat_continuity: percent(w.chat_continuity_bp),
                shifts: w.shifts,
                shift_continuity: percent(w.shift_continuity_bp),
                agents: w.agents,
                new_agents: w.new_agents,
                rotation: percent(w.rotation_bp),
            })
            .collect(),
        renewals: report
            .renewals
            .items
            .iter()
            .map(|r| renewal_row(&ctx, r))
            .collect(),
        renewal_rates: ctx.t_with(
            "merchant_dash.renewal_rates",
            [
                ("peak", percent(report.renewals.next_peak_rate_bp).as_str()),
                (
                    "edition",
                    percent(report.renewals.next_edition_rate_bp).as_str(),
                ),
            ],
        ),
        mine,
        subscribers: subs
            .items
            .iter()
            .map(|s| Subscriber {
                name: s.display_name.clone(),
                email: s.email.clone(),
                cadence: ctx
                    .t(&format!("merchant_dash.cadence_{}", s.cadence.as_str()))
                    .into_owned(),
            })
            .collect(),
        ctx: &ctx,
    };
    render(&ctx, &page, StatusCode::OK)
}

/// The page's live figures as server-sent events (the session cookie signs in, as for
/// the page itself; `GET /api/merchants/{id}/analytics/live/stream` is the same for API
/// clients).
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/event-stream", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/seats/dashboard/live")]
async fn live_events(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (_, merchant, _) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    merchant_dash::live_stream(state, merchant.0)
}

#[derive(Debug, Deserialize)]
struct ReportsForm {
    csrf_token: String,
    /// Checkboxes: present (`on`) when ticked.
    daily: Option<String>,
    weekly: Option<String>,
}

/// Saves the staff member's choice of mailed reports.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved: back to the dashboard"), (status = 403, content_type = "text/html", body = String)))]
#[post("/seats/dashboard/reports")]
async fn save_reports(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ReportsForm>,
) -> HttpResponse {
    let (ctx, merchant, account) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let wanted = MySubscriptions {
        daily: form.daily.is_some(),
        weekly: form.weekly.is_some(),
    };
    match merchant_dash::set_my_subscriptions(&state, merchant.0, account, wanted).await {
        Ok(_) => redirect("/seats/dashboard?notice=reports_saved#reports"),
        Err(e) => error_page(&ctx, e),
    }
}
