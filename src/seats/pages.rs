//! The seat marketplace's pages: the peak calendar and the staffing estimator (open to
//! everyone), booking with a live quote and the shop's bookings (shop staff), and the
//! inventory heat map and bookings list (admins).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::booking::{BookingInput, yuan};
use super::erlang::{self, StaffingRequest};
use super::routes::{capacity_view, period_status};
use super::service::{self, Actor, BookingView, ConfirmRequest};
use super::store::{self, BookingFilter};
use crate::accounts::model::{Locale, MerchantId, Role};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::api::PageQuery;
use crate::web::i18n::t_with;
use crate::web::pages::{PageCtx, badge, check_csrf, error_page, page_session, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(calendar)
        .service(estimate)
        .service(book_form)
        .service(book)
        .service(my_bookings)
        .service(booking_page)
        .service(confirm_page)
        .service(cancel_page)
        .service(admin_seats)
        .service(admin_bookings);
}

fn name(ctx: &PageCtx, en: &str, zh: &str) -> String {
    match ctx.lang {
        Locale::ZhCn => zh.to_owned(),
        Locale::En => en.to_owned(),
    }
}

fn multiplier(bp: u32) -> String {
    format!("{:.2}x", f64::from(bp) / 10_000.0)
}

/// Who is looking at a public page, if anyone.
async fn optional_session(
    state: &AppState,
    req: &HttpRequest,
) -> Option<crate::accounts::service::AccountView> {
    match crate::auth::from_cookie(req) {
        Some(Ok(caller)) => crate::accounts::service::me(state, caller.id).await.ok(),
        _ => None,
    }
}

// ---------------------------------------------------------------- calendar

struct DayCell {
    day: u32,
    class: &'static str,
    title: Option<String>,
}

struct Month {
    title: String,
    weeks: Vec<Vec<Option<DayCell>>>,
}

struct PeriodRow {
    name: String,
    dates: String,
    multiplier: String,
    opens: String,
    status: String,
}

#[derive(Template)]
#[template(path = "seats/calendar.html")]
struct Calendar<'a> {
    ctx: &'a PageCtx,
    intro: String,
    can_book: bool,
    weekdays: Vec<&'static str>,
    months: Vec<Month>,
    periods: Vec<PeriodRow>,
    skills: Vec<(String, String, u32)>,
    refunds: Vec<String>,
    version: String,
}

/// The peak calendar: when each peak runs and opens, prices and refunds.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String)))]
#[get("/seats")]
async fn calendar(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let account = optional_session(&state, &req).await;
    let ctx = PageCtx::new(&req, account.as_ref().map(badge));
    let rules = state.rules();
    let tz = rules.market.time_zone;
    let today = state.clock.today_in(tz);
    let mut months = Vec::new();
    let mut first = today.with_day(1).unwrap_or(today);
    for _ in 0..6 {
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        }
        .unwrap_or(first);
        let mut weeks = Vec::new();
        let mut week: Vec<Option<DayCell>> = (0..first.weekday().num_days_from_monday())
            .map(|_| None)
            .collect();
        let mut d = first;
        while d < next {
            let period = rules.period_on(d);
            week.push(Some(DayCell {
                day: d.day(),
                class: if d == today {
                    "today"
                } else if period.is_some() {
                    "peak"
                } else {
                    ""
                },
                title: period.map(|p| name(&ctx, &p.name_en, &p.name_zh)),
            }));
            if week.len() == 7 {
                weeks.push(std::mem::take(&mut week));
            }
            d += Duration::days(1);
        }
        if !week.is_empty() {
            week.resize_with(7, || None);
            weeks.push(week);
        }
        months.push(Month {
            title: match ctx.lang {
                Locale::ZhCn => format!("{} 年 {} 月", first.year(), first.month()),
                Locale::En => first.format("%B %Y").to_string(),
            },
            weeks,
        });
        first = next;
    }
    let periods = rules
        .periods
        .iter()
        .filter(|p| p.end >= today - Duration::days(60))
        .map(|p| PeriodRow {
            name: name(&ctx, &p.name_en, &p.name_zh),
            dates: format!("{} – {}", p.start, p.end),
            multiplier: multiplier(p.multiplier_bp),
            opens: match &p.renews {
                Some(_) => format!("{} ({})", p.opens_on(), p.priority_opens_on()),
                None => p.opens_on().to_string(),
            },
            status: ctx
                .t(&format!("seats.period_status.{}", period_status(p, today)))
                .into_owned(),
        })
        .collect();
    let page = Calendar {
        intro: t_with(ctx.lang, "seats.calendar_intro", &[("zone", tz.name())]),
        can_book: account
            .as_ref()
            .is_some_and(|a| a.role == Role::MerchantStaff),
        weekdays: match ctx.lang {
            Locale::ZhCn => vec!["一", "二", "三", "四", "五", "六", "日"],
            Locale::En => vec!["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        },
        months,
        periods,
        skills: rules
            .skills
            .iter()
            .map(|s| {
                (
                    s.name(ctx.lang).to_owned(),
                    format!("¥{}", yuan(s.price_per_seat_hour_fen)),
                    s.seats_per_hour,
                )
            })
            .collect(),
        refunds: rules
            .cancellation
            .steps
            .iter()
            .map(|s| {
                t_with(
                    ctx.lang,
                    "seats.refund_step",
                    &[
                        ("days", &s.min_days_before_start.to_string()),
                        ("percent", &(s.refund_bp / 100).to_string()),
                    ],
                )
            })
            .collect(),
        version: rules.version.clone(),
        ctx: &ctx,
    };
    render(&ctx, &page, StatusCode::OK)
}

// ---------------------------------------------------------------- estimator

#[derive(Debug, Default, Deserialize)]
struct EstimateForm {
    #[serde(default)]
    contacts_per_hour: String,
    #[serde(default)]
    aht_seconds: String,
    #[serde(default)]
    concurrency: String,
    #[serde(default)]
    target_percent: String,
    #[serde(default)]
    target_seconds: String,
    #[serde(default)]
    max_occupancy: String,
    #[serde(default)]
    shrinkage_percent: String,
}

struct EstimateResult {
    sentence: String,
    method: String,
    rows: Vec<(bool, u32, String, String, String)>,
}

#[derive(Template)]
#[template(path = "seats/estimate.html")]
struct Estimate<'a> {
    ctx: &'a PageCtx,
    form: EstimateForm,
    errors: Vec<(String, String)>,
    result: Option<EstimateResult>,
}

/// The staffing estimator as a page (works without JavaScript).
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/seats/estimate")]
async fn estimate(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<EstimateForm>,
) -> HttpResponse {
    let account = optional_session(&state, &req).await;
    let ctx = PageCtx::new(&req, account.as_ref().map(badge));
    let mut form = q.into_inner();
    if form.contacts_per_hour.is_empty() && form.aht_seconds.is_empty() {
        form = EstimateForm {
            contacts_per_hour: "1200".into(),
            aht_seconds: "240".into(),
            concurrency: "1".into(),
            target_percent: "80".into(),
            target_seconds: "30".into(),
            ..EstimateForm::default()
        };
        let page = Estimate {
            ctx: &ctx,
            form,
            errors: Vec::new(),
            result: None,
        };
        return render(&ctx, &page, StatusCode::OK);
    }
    let number = |s: &str| -> Result<Option<f64>, ()> {
        let s = s.trim().replace(',', "");
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse::<f64>().map(Some).map_err(|_| ())
        }
    };
    let mut errors = Vec::new();
    let mut field = |name: &str, raw: &str, required: bool| -> Option<f64> {
        match number(raw) {
            Ok(Some(v)) => Some(v),
            Ok(None) if !required => None,
            _ => {
                errors.push((
                    name.to_owned(),
                    ctx.t(if raw.trim().is_empty() {
                        "field_error.required"
                    } else {
                        "field_error.other"
                    })
                    .into_owned(),
                ));
                None
            }
        }
    };
    let contacts = field("contacts_per_hour", &form.contacts_per_hour, true);
    let aht = field("aht_seconds", &form.aht_seconds, true);
    let concurrency = field("concurrency", &form.concurrency, false);
    let target_percent = field("target_percent", &form.target_percent, true);
    let target_seconds = field("target_seconds", &form.target_seconds, true);
    let max_occupancy = field("max_occupancy", &form.max_occupancy, false);
    let shrinkage = field("shrinkage_percent", &form.shrinkage_percent, false);
    let (Some(contacts), Some(aht), Some(target_percent), Some(target_seconds)) =
        (contacts, aht, target_percent, target_seconds)
    else {
        let page = Estimate {
            ctx: &ctx,
            form,
            errors,
            result: None,
        };
        return render(&ctx, &page, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let request = StaffingRequest {
        contacts_per_hour: contacts,
        aht_seconds: aht,
        concurrency: concurrency
            .map(|c| c.clamp(0.0, 1_000.0) as u32)
            .unwrap_or(1),
        target_percent,
        target_seconds,
        max_occupancy,
        shrinkage_percent: shrinkage,
    };
    match erlang::estimate(&request) {
        Ok(e) => {
            let mut sentence = t_with(
                ctx.lang,
                "seats.estimate_sentence",
                &[
                    ("contacts", &format!("{contacts}")),
                    (
                        "minutes",
                        format!("{:.1}", aht / 60.0).trim_end_matches(".0"),
                    ),
                    ("percent", &format!("{target_percent}")),
                    ("seconds", &format!("{target_seconds}")),
                    ("seats", &e.seats_needed.to_string()),
                ],
            );
            if let Some(s) = shrinkage.filter(|s| *s > 0.0) {
                sentence.push(' ');
                sentence.push_str(&t_with(
                    ctx.lang,
                    "seats.estimate_schedule",
                    &[
                        ("shrinkage", &format!("{s}")),
                        ("seats", &e.seats_to_schedule.to_string()),
                    ],
                ));
            }
            let rows = e
                .predictions
                .iter()
                .map(|p| {
                    (
                        p.agents == e.seats_needed,
                        p.agents,
                        format!("{:.1}", p.service_level_percent),
                        format!("{:.1}", p.average_speed_of_answer_seconds),
                        format!("{:.1}", p.occupancy_percent),
                    )
                })
                .collect();
            let page = Estimate {
                ctx: &ctx,
                form,
                errors: Vec::new(),
                result: Some(EstimateResult {
                    sentence,
                    method: e.method.clone(),
                    rows,
                }),
            };
            render(&ctx, &page, StatusCode::OK)
        }
        Err(field_errors) => {
            let errors = field_errors
                .into_iter()
                .map(|(f, invalid)| (f.to_owned(), invalid.message))
                .collect();
            let page = Estimate {
                ctx: &ctx,
                form,
                errors,
                result: None,
            };
            render(&ctx, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

// ---------------------------------------------------------------- booking

#[derive(Debug, Default, Deserialize)]
struct BookForm {
    #[serde(default)]
    skill: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    daily_start_hour: String,
    #[serde(default)]
    daily_end_hour: String,
    #[serde(default)]
    seats: String,
    #[serde(default)]
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "seats/book.html")]
struct Book<'a> {
    ctx: &'a PageCtx,
    form: BookForm,
    skills: Vec<(String, String)>,
    start_hours: Vec<u8>,
    end_hours: Vec<u8>,
    errors: Vec<(String, String)>,
    message: Option<String>,
    hold_note: String,
}

fn book_page(
    ctx: &PageCtx,
    state: &AppState,
    form: BookForm,
    errors: Vec<(String, String)>,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let rules = state.rules();
    let m = &rules.market;
    let block = m.block_hours.max(1);
    let start_hours: Vec<u8> = (m.bookable_start_hour..m.bookable_end_hour)
        .step_by(block as usize)
        .collect();
    let end_hours: Vec<u8> = start_hours.iter().map(|h| h + block).collect();
    let page = Book {
        ctx,
        skills: rules
            .skills
            .iter()
            .map(|s| (s.id.clone(), s.name(ctx.lang).to_owned()))
            .collect(),
        start_hours,
        end_hours,
        form,
        errors,
        message,
        hold_note: t_with(
            ctx.lang,
            "seats.hold_note",
            &[("minutes", &m.hold_minutes.to_string())],
        ),
    };
    render(ctx, &page, status)
}

/// The shop session of a page, or where to send the browser.
pub(crate) async fn shop_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(PageCtx, Actor), HttpResponse> {
    let (caller, account) = page_session(state, req).await?;
    let ctx = PageCtx::new(req, Some(badge(&account)));
    let actor = match (caller.role, caller.merchant) {
        (Role::MerchantStaff, Some(merchant)) => Actor::Staff {
            account: caller.id,
            merchant,
        },
        (Role::Admin, _) => Actor::Admin { account: caller.id },
        _ => return Err(error_page(&ctx, AppError::Forbidden { code: "wrong_role" })),
    };
    Ok((ctx, actor))
}

/// The booking form with a live quote.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/seats/book")]
async fn book_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (ctx, actor) = match shop_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if !matches!(actor, Actor::Staff { .. }) {
        return error_page(&ctx, AppError::Forbidden { code: "wrong_role" });
    }
    let rules = state.rules();
    let today = state.clock.today_in(rules.market.time_zone);
    let first_open = rules
        .periods
        .iter()
        .find(|p| p.start > today && today >= p.opens_on())
        .map(|p| (p.start, p.end))
        .unwrap_or((today + Duration::days(7), today + Duration::days(9)));
    let form = BookForm {
        skill: rules
            .skills
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_default(),
        start_date: first_open.0.to_string(),
        end_date: first_open.1.to_string(),
        daily_start_hour: rules.market.bookable_start_hour.to_string(),
        daily_end_hour: rules.market.bookable_end_hour.to_string(),
        seats: "10".into(),
        csrf_token: String::new(),
    };
    book_page(&ctx, &state, form, Vec::new(), None, StatusCode::OK)
}

/// Holds the seats and shows the booking to confirm.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Held: to the booking"), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/book")]
async fn book(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<BookForm>,
) -> HttpResponse {
    let (ctx, actor) = match shop_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let Actor::Staff { account, merchant } = actor else {
        return error_page(&ctx, AppError::Forbidden { code: "wrong_role" });
    };
    let int = |s: &str| s.trim().parse::<i64>().unwrap_or(-1);
    let input = BookingInput {
        skill: form.skill.clone(),
        start_date: form.start_date.clone(),
        end_date: form.end_date.clone(),
        daily_start_hour: int(&form.daily_start_hour),
        daily_end_hour: int(&form.daily_end_hour),
        seats: int(&form.seats),
    };
    match service::place(&state, &account, &merchant, input).await {
        Ok(view) => redirect(&format!("/seats/bookings/{}?notice=held", view.id)),
        Err(AppError::Validation(errors)) => {
            let errors = errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect();
            book_page(
                &ctx,
                &state,
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(AppError::Conflict {
            code,
            extra,
            detail,
        }) => {
            let extra = extra.map(|e| *e).unwrap_or_default();
            let message = match code {
                "sold_out" => {
                    let full = extra
                        .get("full_hours")
                        .and_then(|f| f.as_array())
                        .cloned()
                        .unwrap_or_default();
                    let example = full
                        .first()
                        .and_then(|h| h["local"].as_str())
                        .unwrap_or("-")
                        .to_owned();
                    t_with(
                        ctx.lang,
                        "seats.sold_out",
                        &[("count", &full.len().to_string()), ("example", &example)],
                    )
                }
                "booking_not_open" => {
                    let date = extra
                        .get("opens_on")
                        .and_then(|d| d.as_str())
                        .unwrap_or("-")
                        .to_owned();
                    t_with(ctx.lang, "seats.not_open", &[("date", &date)])
                }
                _ => detail,
            };
            book_page(
                &ctx,
                &state,
                form,
                Vec::new(),
                Some(message),
                StatusCode::CONFLICT,
            )
        }
        Err(e) => error_page(&ctx, e),
    }
}

struct BookingRowView {
    id: String,
    dates: String,
    skill: String,
    seats: i32,
    total: String,
    status: String,
}

struct AdminFilters {
    status: String,
    merchant_id: String,
    heat_skill: String,
    heat_from: String,
}

#[derive(Template)]
#[template(path = "seats/bookings.html")]
struct Bookings<'a> {
    ctx: &'a PageCtx,
    title: String,
    rows: Vec<BookingRowView>,
    next_page: Option<String>,
    filters: Option<AdminFilters>,
    statuses: Vec<&'static str>,
}

fn status_label(ctx: &PageCtx, status: &str) -> String {
    match (ctx.lang, status) {
        (Locale::ZhCn, "held") => "已保留".into(),
        (Locale::ZhCn, "confirmed") => "已确认".into(),
        (Locale::ZhCn, "active") => "进行中".into(),
        (Locale::ZhCn, "completed") => "已完成".into(),
        (Locale::ZhCn, "cancelled") => "已取消".into(),
        (_, other) => other.to_owned(),
    }
}

async fn bookings_list(
    state: &AppState,
    ctx: &PageCtx,
    filter: BookingFilter,
    page: &PageQuery,
    base: &str,
) -> Result<(Vec<BookingRowView>, Option<String>), AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .run(move |c| store::list_bookings(c, &filter, cursor.as_deref(), limit + 1))
        .await?;
    let views = rows
        .into_iter()
        .map(BookingView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let page = crate::web::api::Page::from_rows(views, limit, |v| v.id.clone(), |v| v);
    let rows = page
        .items
        .iter()
        .map(|b| BookingRowView {
            id: b.id.clone(),
            dates: format!("{} – {}", b.start_date, b.end_date),
            skill: b.skill.clone(),
            seats: b.seats,
            total: yuan(b.total_fen),
            status: status_label(ctx, &b.status),
        })
        .collect();
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok((
        rows,
        page.next_cursor.map(|c| format!("{base}{sep}cursor={c}")),
    ))
}

/// The shop's bookings, newest first.
#[utoipa::path(tag = "pages", params(PageQuery), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/seats/bookings")]
async fn my_bookings(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: web::Query<PageQuery>,
) -> HttpResponse {
    let (ctx, actor) = match shop_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let merchant = match actor {
        Actor::Staff { merchant, .. } => merchant,
        Actor::Admin { .. } => return redirect("/admin/bookings"),
    };
    let filter = BookingFilter {
        merchant: Some(merchant),
        ..BookingFilter::default()
    };
    match bookings_list(&state, &ctx, filter, &page, "/seats/bookings").await {
        Ok((rows, next_page)) => {
            let page = Bookings {
                title: ctx.t("nav.my_bookings").into_owned(),
                rows,
                next_page,
                filters: None,
                statuses: Vec::new(),
                ctx: &ctx,
            };
            render(&ctx, &page, StatusCode::OK)
        }
        Err(e) => error_page(&ctx, e),
    }
}

struct BookingDetailView {
    id: String,
    dates: String,
    status: String,
    skill: String,
    hours: String,
    seats: i32,
    hold_expires: Option<String>,
    invoice: Option<String>,
    refund: Option<String>,
    version: String,
    lines: Vec<(String, String)>,
    total: String,
    can_confirm: bool,
    can_cancel: bool,
    cancel_note: String,
}

#[derive(Template)]
#[template(path = "seats/booking.html")]
struct BookingPage<'a> {
    ctx: &'a PageCtx,
    b: BookingDetailView,
    notice: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn show_booking(
    state: &AppState,
    ctx: &PageCtx,
    actor: Actor,
    id: String,
    notice: Option<String>,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let (b, _) = match service::get(state, actor, id).await {
        Ok(found) => found,
        Err(e) => return error_page(ctx, e),
    };
    let rules = state.rules();
    let tz: chrono_tz::Tz = b.time_zone.parse().unwrap_or(rules.market.time_zone);
    let now = state.clock.now();
    let today = now.and_utc().with_timezone(&tz).date_naive();
    let (refund_bp, refund) = match b.paid_fen {
        Some(paid) => super::booking::refund_fen(&rules, paid, (b.start_date - today).num_days()),
        None => (0, 0),
    };
    let started = b.start_date <= today;
    let view = BookingDetailView {
        dates: format!("{} – {}", b.start_date, b.end_date),
        status: status_label(ctx, &b.status),
        skill: b.skill.clone(),
        hours: format!(
            "{:02}:00–{:02}:00 ({})",
            b.daily_start_hour,
            b.daily_end_hour,
            tz.name()
        ),
        seats: b.seats,
        hold_expires: b
            .hold_expires_at
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()),
        invoice: b.invoice_number.clone(),
        refund: b.refund_fen.map(yuan),
        version: b.ruleset_version.clone(),
        lines: b
            .quote
            .lines
            .iter()
            .map(|l| {
                (
                    if ctx.lang == Locale::ZhCn {
                        l.label_zh.clone()
                    } else {
                        l.label_en.clone()
                    },
                    yuan(l.amount_fen),
                )
            })
            .collect(),
        total: yuan(b.total_fen),
        can_confirm: b.status == "held",
        can_cancel: (b.status == "held" || b.status == "confirmed") && !started,
        cancel_note: t_with(
            ctx.lang,
            "seats.cancel_note",
            &[
                ("refund", &format!("¥{}", yuan(refund))),
                ("percent", &(refund_bp / 100).to_string()),
            ],
        ),
        id: b.id,
    };
    let notice = notice.and_then(|n| match n.as_str() {
        "held" => Some(ctx.t("seats.held_notice").into_owned()),
        "confirmed" => Some(ctx.t("seats.confirmed_notice").into_owned()),
        "cancelled" => Some(ctx.t("seats.cancelled_notice").into_owned()),
        _ => None,
    });
    render(
        ctx,
        &BookingPage {
            ctx,
            b: view,
            notice,
            message,
        },
        status,
    )
}

/// One booking: breakdown, and confirm or cancel.
#[utoipa::path(tag = "pages", params(("booking_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/seats/bookings/{booking_id}")]
async fn booking_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let (ctx, actor) = match shop_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    show_booking(
        &state,
        &ctx,
        actor,
        path.into_inner(),
        q.into_inner().notice,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf_token: String,
    #[serde(default)]
    payment_reference: String,
}

/// Confirms the booking.
#[utoipa::path(tag = "pages", params(("booking_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Confirmed"), (status = 409, content_type = "text/html", body = String)))]
#[post("/seats/bookings/{booking_id}/confirm")]
async fn confirm_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let request = ConfirmRequest {
        payment_reference: Some(form.payment_reference.trim().to_owned()).filter(|r| !r.is_empty()),
        paid_fen: None,
    };
    booking_action(
        &state,
        &req,
        path.into_inner(),
        &form.csrf_token,
        "confirmed",
        |state, actor, id| {
            Box::pin(async move {
                service::confirm(state, actor, id, request)
                    .await
                    .map(|_| ())
            })
        },
    )
    .await
}

/// Cancels the booking (the form states the refund first).
#[utoipa::path(tag = "pages", params(("booking_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Cancelled"), (status = 409, content_type = "text/html", body = String)))]
#[post("/seats/bookings/{booking_id}/cancel")]
async fn cancel_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<crate::web::pages::CsrfForm>,
) -> HttpResponse {
    booking_action(
        &state,
        &req,
        path.into_inner(),
        &form.csrf_token,
        "cancelled",
        |state, actor, id| {
            Box::pin(async move { service::cancel(state, actor, id).await.map(|_| ()) })
        },
    )
    .await
}

type ActionFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>> + 'a>>;

/// A form button on a booking: check the session and the CSRF token, act, and go back to
/// the booking with a notice, or show it again with why the action was refused.
async fn booking_action<'a>(
    state: &'a AppState,
    req: &HttpRequest,
    id: String,
    csrf_token: &str,
    notice: &str,
    action: impl FnOnce(&'a AppState, Actor, String) -> ActionFuture<'a>,
) -> HttpResponse {
    let (ctx, actor) = match shop_session(state, req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(req, csrf_token) {
        return error_page(&ctx, e);
    }
    match action(state, actor.clone(), id.clone()).await {
        Ok(()) => redirect(&format!("/seats/bookings/{id}?notice={notice}")),
        Err(AppError::Conflict { detail, .. }) => {
            show_booking(
                state,
                &ctx,
                actor,
                id,
                None,
                Some(detail),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => error_page(&ctx, e),
    }
}

// ---------------------------------------------------------------- admin

#[derive(Debug, Deserialize)]
struct HeatQuery {
    skill: Option<String>,
    from: Option<String>,
}

#[derive(Template)]
#[template(path = "seats/admin.html")]
struct AdminSeats<'a> {
    ctx: &'a PageCtx,
    version: String,
    skills: Vec<(String, String)>,
    heat_skill: String,
    heat_from: String,
    heat_caption: String,
    heat_hours: Vec<String>,
    heat_rows: Vec<(String, Vec<(String, u8)>)>,
    errors: Vec<(String, String)>,
}

async fn admin_session(state: &AppState, req: &HttpRequest) -> Result<PageCtx, HttpResponse> {
    let (ctx, actor) = shop_session(state, req).await?;
    match actor {
        Actor::Admin { .. } => Ok(ctx),
        Actor::Staff { .. } => Err(error_page(&ctx, AppError::Forbidden { code: "wrong_role" })),
    }
}

/// Seat inventory as a heat map (sold / total per hour) for a week.
#[utoipa::path(tag = "pages", params(("skill" = Option<String>, Query), ("from" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/seats")]
async fn admin_seats(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<HeatQuery>,
) -> HttpResponse {
    let ctx = match admin_session(&state, &req).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let rules = state.rules();
    let tz = rules.market.time_zone;
    let skill = q
        .skill
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| rules.skills.first().map(|s| s.id.clone()))
        .unwrap_or_default();
    let from = q
        .from
        .as_deref()
        .and_then(|f| NaiveDate::parse_from_str(f, "%Y-%m-%d").ok())
        .unwrap_or_else(|| state.clock.today_in(tz) + Duration::days(1));
    let to = from + Duration::days(6);
    let (rows, hours, errors) =
        match capacity_view(&state, &rules, &skill, &from.to_string(), &to.to_string()).await {
            Ok(view) => {
                let mut by_day: Vec<(String, Vec<(String, u8)>)> = Vec::new();
                let mut hours: Vec<String> = Vec::new();
                for h in view.hours {
                    let (date, time) = h.local.split_once(' ').unwrap_or((&h.local, ""));
                    if by_day.last().map(|d| d.0.as_str()) != Some(date) {
                        by_day.push((date.to_owned(), Vec::new()));
                    }
                    if by_day.len() == 1 {
                        hours.push(time.to_owned());
                    }
                    let level = if h.capacity == 0 {
                        4
                    } else {
                        ((h.sold * 4 + h.capacity - 1) / h.capacity).clamp(0, 4) as u8
                    };
                    if let Some(day) = by_day.last_mut() {
                        day.1.push((format!("{}/{}", h.sold, h.capacity), level));
                    }
                }
                (by_day, hours, Vec::new())
            }
            Err(AppError::Validation(errors)) => (
                Vec::new(),
                Vec::new(),
                errors
                    .iter()
                    .map(|e| (e.field.clone(), e.message.clone()))
                    .collect(),
            ),
            Err(e) => return error_page(&ctx, e),
        };
    let skill_name = rules
        .skill(&skill)
        .map(|s| s.name(ctx.lang).to_owned())
        .unwrap_or_else(|| skill.clone());
    let page = AdminSeats {
        version: rules.version.clone(),
        skills: rules
            .skills
            .iter()
            .map(|s| (s.id.clone(), s.name(ctx.lang).to_owned()))
            .collect(),
        heat_caption: t_with(
            ctx.lang,
            "seats.heat_caption",
            &[("skill", &skill_name), ("zone", tz.name())],
        ),
        heat_skill: skill,
        heat_from: from.to_string(),
        heat_hours: hours,
        heat_rows: rows,
        errors,
        ctx: &ctx,
    };
    render(&ctx, &page, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct AdminBookingQuery {
    status: Option<String>,
    merchant_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Every shop's bookings, filtered by status and shop.
#[utoipa::path(tag = "pages", params(("status" = Option<String>, Query), ("merchant_id" = Option<String>, Query), PageQuery), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/bookings")]
async fn admin_bookings(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<AdminBookingQuery>,
) -> HttpResponse {
    let ctx = match admin_session(&state, &req).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let status = q.status.clone().filter(|s| !s.is_empty());
    let merchant = q.merchant_id.clone().filter(|s| !s.is_empty());
    let filter = BookingFilter {
        merchant: merchant.clone().map(MerchantId),
        status: status.clone(),
        ..BookingFilter::default()
    };
    let base = format!(
        "/admin/bookings?status={}&merchant_id={}",
        crate::web::pages::url_escape(status.as_deref().unwrap_or("")),
        crate::web::pages::url_escape(merchant.as_deref().unwrap_or(""))
    );
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    match bookings_list(&state, &ctx, filter, &page, &base).await {
        Ok((rows, next_page)) => {
            let page = Bookings {
                title: ctx.t("seats.all_bookings").into_owned(),
                rows,
                next_page,
                filters: Some(AdminFilters {
                    status: status.unwrap_or_default(),
                    merchant_id: merchant.unwrap_or_default(),
                    heat_skill: String::new(),
                    heat_from: String::new(),
                }),
                statuses: vec!["held", "confirmed", "active", "completed", "cancelled"],
                ctx: &ctx,
            };
            render(&ctx, &page, StatusCode::OK)
        }
        Err(e) => error_page(&ctx, e),
    }
}
