//! Staffing pages: the shop's "who is coming" page and one booking's shifts (shop staff),
//! and the admins' coverage heat map with the no-show list and the one-click auto-fill.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::autofill::{self, AutoFillReport, AutoFillRequest};
use super::staffing::{self, Coverage, CoverageQuery, NoShow, StaffedShift};
use crate::certification::admin_pages::{AdminSession, admin_form, admin_session};
use crate::error::AppError;
use crate::seats::pages::shop_session;
use crate::seats::service::Actor;
use crate::state::AppState;
use crate::web::i18n::t_with;
use crate::web::pages::{PageCtx, error_page, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(shop_page)
        .service(booking_page)
        .service(admin_page)
        .service(auto_fill_page);
}

/// Basis points as a whole percent, or a dash.
fn percent(bp: Option<u16>) -> String {
    bp.map_or_else(|| "–".to_owned(), |bp| format!("{}%", bp / 100))
}

fn status_label(ctx: &PageCtx, status: &str) -> String {
    ctx.t(&format!("staffing.status_{status}")).into_owned()
}

struct Row {
    when: String,
    skill: String,
    seat: i32,
    status: String,
    /// `gap`, `live` or empty: how the row is highlighted.
    class: &'static str,
    agent: String,
    returning: bool,
    urgent: bool,
}

fn rows(state: &AppState, ctx: &PageCtx, items: &[StaffedShift]) -> Vec<Row> {
    let rules = state.rules();
    items
        .iter()
        .map(|s| Row {
            when: format!(
                "{} – {}",
                s.local_start,
                s.local_end.split(' ').nth(1).unwrap_or_default()
            ),
            skill: rules.skill_name(&s.skill, ctx.lang),
            seat: s.seat_no,
            status: status_label(ctx, &s.status),
            class: match s.status.as_str() {
                "open" => "gap",
                "checked_in" => "live",
                _ => "",
            },
            agent: s
                .agent
                .clone()
                .unwrap_or_else(|| ctx.t("staffing.nobody_yet").into_owned()),
            returning: s.returning,
            urgent: s.urgent,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "shifts/shop.html")]
struct ShopPage<'a> {
    ctx: &'a PageCtx,
    date: String,
    continuity: String,
    open: u32,
    rows: Vec<Row>,
}

/// The shop's staffing today: who is coming, who is here, continuity and the gaps ahead.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/seats/staffing")]
async fn shop_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (ctx, actor) = match shop_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let Actor::Staff { merchant, .. } = actor else {
        return error_page(&ctx, AppError::Forbidden { code: "wrong_role" });
    };
    match staffing::shop_staffing(&state, merchant).await {
        Ok(s) => {
            let page = ShopPage {
                date: s.date.to_string(),
                continuity: percent(s.continuity_bp),
                open: s.open_next_14_days,
                rows: rows(&state, &ctx, &s.today),
                ctx: &ctx,
            };
            render(&ctx, &page, StatusCode::OK)
        }
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Template)]
#[template(path = "shifts/booking.html")]
struct BookingPage<'a> {
    ctx: &'a PageCtx,
    booking_id: String,
    seats: i32,
    shifts: u32,
    claimed: u32,
    checked_in: u32,
    completed: u32,
    open: u32,
    continuity: String,
    rows: Vec<Row>,
}

/// One booking's shifts and who holds each (after any swap), with the gaps highlighted.
#[utoipa::path(tag = "pages", params(("booking_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/seats/bookings/{booking_id}/staffing")]
async fn booking_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (ctx, actor) = match shop_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match staffing::booking_staffing(&state, actor, path.into_inner()).await {
        Ok(s) => {
            let page = BookingPage {
                booking_id: s.booking_id.clone(),
                seats: s.seats,
                shifts: s.shifts,
                claimed: s.claimed,
                checked_in: s.checked_in_now,
                completed: s.completed,
                open: s.open,
                continuity: percent(s.continuity_bp),
                rows: rows(&state, &ctx, &s.items),
                ctx: &ctx,
            };
            render(&ctx, &page, StatusCode::OK)
        }
        Err(e) => error_page(&ctx, e),
    }
}

struct Cell {
    text: String,
    /// 0 (no seats) ... 4 (fully staffed); `gap` when any seat is open.
    class: String,
    label: String,
}

#[derive(Template)]
#[template(path = "shifts/admin.html")]
struct AdminPage<'a> {
    ctx: &'a PageCtx,
    caption: String,
    from: String,
    days: u32,
    skill: String,
    skills: Vec<(String, String)>,
    blocks: Vec<String>,
    grid: Vec<(String, Vec<Cell>)>,
    open: u32,
    seats: u32,
    no_shows: Vec<NoShow>,
    report: Option<AutoFillReport>,
    errors: Vec<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct AdminQuery {
    from: Option<String>,
    days: Option<u32>,
    skill: Option<String>,
}

fn grid(ctx: &PageCtx, coverage: &Coverage) -> (Vec<String>, Vec<(String, Vec<Cell>)>) {
    let blocks = coverage
        .days
        .first()
        .map(|d| d.cells.iter().map(|c| c.block.clone()).collect())
        .unwrap_or_default();
    let rows = coverage
        .days
        .iter()
        .map(|d| {
            let cells = d
                .cells
                .iter()
                .map(|c| {
                    let staffed = c.seats - c.open;
                    let class = if c.open > 0 {
                        "gap".to_owned()
                    } else if c.seats == 0 {
                        "heat-0".to_owned()
                    } else {
                        "heat-2".to_owned()
                    };
                    Cell {
                        text: if c.seats == 0 {
                            "–".to_owned()
                        } else {
                            format!("{staffed}/{}", c.seats)
                        },
                        label: t_with(
                            ctx.lang,
                            "staffing.cell_label",
                            &[
                                ("staffed", &staffed.to_string()),
                                ("seats", &c.seats.to_string()),
                                ("open", &c.open.to_string()),
                                ("checked_in", &c.checked_in.to_string()),
                            ],
                        ),
                        class,
                    }
                })
                .collect();
            (d.date.to_string(), cells)
        })
        .collect();
    (blocks, rows)
}

async fn show_admin(
    state: &AppState,
    admin: &AdminSession,
    q: AdminQuery,
    report: Option<AutoFillReport>,
    errors: Vec<(String, String)>,
) -> HttpResponse {
    let ctx = &admin.ctx;
    let skill = q.skill.clone().filter(|s| !s.is_empty());
    let query = CoverageQuery {
        from: q.from.clone().filter(|s| !s.is_empty()),
        days: q.days,
        skill: skill.clone(),
    };
    let (coverage, mut errors) = match staffing::coverage_map(state, query).await {
        Ok(c) => (c, errors),
        Err(AppError::Validation(e)) => {
            let mut all = errors;
            all.extend(crate::certification::admin_pages::field_list(&e));
            match staffing::coverage_map(state, CoverageQuery::default()).await {
                Ok(c) => (c, all),
                Err(e) => return admin.finish(error_page(ctx, e)),
            }
        }
        Err(e) => return admin.finish(error_page(ctx, e)),
    };
    let no_shows = match staffing::no_shows(state, None, 20).await {
        Ok(n) => n,
        Err(e) => {
            errors.push(("no_shows".into(), e.to_string()));
            Vec::new()
        }
    };
    let (blocks, rows) = grid(ctx, &coverage);
    let rules = state.rules();
    let page = AdminPage {
        caption: t_with(
            ctx.lang,
            "staffing.heat_caption",
            &[("zone", &coverage.time_zone)],
        ),
        from: coverage
            .days
            .first()
            .map(|d| d.date.to_string())
            .unwrap_or_default(),
        days: coverage.days.len() as u32,
        skill: skill.unwrap_or_default(),
        skills: rules.skill_names(ctx.lang),
        blocks,
        grid: rows,
        open: coverage.open,
        seats: coverage.seats,
        no_shows,
        report,
        errors,
        ctx,
    };
    admin.finish(render(ctx, &page, StatusCode::OK))
}

/// Coverage of the next days across all bookings (gaps highlighted), the latest no-shows
/// and the auto-fill button.
#[utoipa::path(tag = "pages", params(("from" = Option<String>, Query), ("days" = Option<u32>, Query), ("skill" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/shifts")]
async fn admin_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AdminQuery>,
) -> HttpResponse {
    let admin = match admin_session(&state, &req).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    show_admin(&state, &admin, q.into_inner(), None, Vec::new()).await
}

#[derive(Debug, Deserialize)]
struct AutoFillForm {
    csrf_token: String,
    days: Option<String>,
}

/// Runs the auto-fill and shows what it did.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[post("/admin/shifts/auto-fill")]
async fn auto_fill_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AutoFillForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let admin = match admin_form(&state, &req, "/admin/shifts", &form.csrf_token).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let days = match form
        .days
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => Ok(None),
        Some(d) => d.parse::<u32>().map(Some).map_err(|_| {
            vec![(
                "days".to_owned(),
                admin.ctx.t("staffing.days_invalid").into_owned(),
            )]
        }),
    };
    let (report, errors) = match days {
        Ok(days) => match autofill::run(&state, admin.id.clone(), AutoFillRequest { days }).await {
            Ok(r) => (Some(r), Vec::new()),
            Err(AppError::Validation(e)) => {
                (None, crate::certification::admin_pages::field_list(&e))
            }
            Err(e) => return admin.finish(error_page(&admin.ctx, e)),
        },
        Err(errors) => (None, errors),
    };
    show_admin(&state, &admin, AdminQuery::default(), report, errors).await
}
