//! The lists reviewers work from: the admin quality review queue (a period's review sample
//! per agent, the same as `GET /api/admin/quality/sample`) and a shop's recent closed
//! chats for its staff. Not the exam review queue (`/admin/reviews`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::queue::{self, ChatLine, ShopFilter};
use super::routes::{next_day, recent_periods, sample, start_of};
use crate::accounts::model::Role;
use crate::auth::Caller;
use crate::certification::admin_pages::admin_session;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::api::PageQuery;
use crate::web::pages::{PageCtx, badge, error_page, page_session, render, url_escape};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(queue_page).service(shop_page);
}

/// Agents per page of the review queue.
const AGENTS_PAGE: i64 = 20;
/// Chats per page of a shop's list.
const CHATS_PAGE: i64 = 25;

/// `t` in `zone`, e.g. `2026-11-24 09:00`.
pub(crate) fn local(t: NaiveDateTime, zone: Tz) -> String {
    t.and_utc()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A score in hundredths as points, e.g. `90.50`.
pub(crate) fn points(x100: u32) -> String {
    format!("{}.{:02}", x100 / 100, x100 % 100)
}

/// A signed-in admin or shop staff member on a review page: the page, who, their zone.
pub(crate) struct Reviewer {
    pub(crate) ctx: PageCtx,
    pub(crate) caller: Caller,
    pub(crate) zone: Tz,
}

pub(crate) fn zone_of(time_zone: &str) -> Tz {
    time_zone.parse::<Tz>().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// Anyone signed in (the use case decides who may see what); `Err` is where to go.
pub(crate) async fn reviewer_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Reviewer, HttpResponse> {
    let (caller, account) = page_session(state, req).await?;
    Ok(Reviewer {
        ctx: PageCtx::new(req, Some(badge(&account))),
        zone: zone_of(&account.time_zone),
        caller,
    })
}

/// A chat as a table row, figures formatted.
pub(crate) struct ChatRow {
    pub(crate) id: String,
    pub(crate) shop: String,
    pub(crate) agent: String,
    pub(crate) closed: String,
    pub(crate) rating: String,
    pub(crate) first_reply: String,
    pub(crate) reviews: i64,
}

fn chat_row(
    ctx: &PageCtx,
    zone: Tz,
    line: &ChatLine,
    names: &std::collections::BTreeMap<String, String>,
) -> ChatRow {
    let dash = || "—".to_owned();
    ChatRow {
        id: line.id.clone(),
        shop: line.merchant_name.clone(),
        agent: line
            .agent_id
            .as_ref()
            .and_then(|a| names.get(a).cloned())
            .unwrap_or_else(dash),
        closed: line.closed_at.map_or_else(dash, |t| local(t, zone)),
        rating: line.rating.map_or_else(
            || ctx.t("quality_pages.unrated").into_owned(),
            |r| ctx.t_with("quality_pages.stars", [("stars", r.to_string().as_str())]),
        ),
        first_reply: line.first_response_secs.map_or_else(
            || ctx.t("quality_pages.no_reply").into_owned(),
            |s| ctx.t_with("quality_pages.seconds", [("secs", s.to_string().as_str())]),
        ),
        reviews: line.reviews,
    }
}

// ---------------------------------------------------------------- admin review queue

struct SampleRow {
    chat: ChatRow,
    reason: String,
    reviewed: bool,
}

struct AgentBlock {
    id: String,
    name: String,
    summary: String,
    rows: Vec<SampleRow>,
}

#[derive(Template)]
#[template(path = "quality/queue.html")]
struct QueuePage<'a> {
    ctx: &'a PageCtx,
    errors: Vec<(String, String)>,
    periods: Vec<(String, String)>,
    period: String,
    period_label: String,
    descending: bool,
    sort_link: String,
    agents: Vec<AgentBlock>,
    next_page: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// A day (`YYYY-MM-DD`) of the pay period to sample; by default the last pay period.
    period: Option<String>,
    /// `agent` (default) or `-agent` (descending).
    sort: Option<String>,
    cursor: Option<String>,
}

/// The quality review queue: a period's review sample per agent (the same sample as
/// `GET /api/admin/quality/sample`), each chat with its shop, close time in the admin's
/// zone, rating, first reply, why it was sampled and whether it was reviewed.
#[utoipa::path(tag = "pages", params(QueueQuery), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/quality")]
async fn queue_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<QueueQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &s.ctx;
    let rules = state.rules();
    let periods = recent_periods(&state, &rules);
    let mut errors = Vec::new();
    let (first, last) = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => periods[4],
        Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(day) => rules.pay.period.containing(day),
            Err(_) => {
                errors.push((
                    "period".to_owned(),
                    ctx.t("quality_pages.bad_period").into_owned(),
                ));
                periods[4]
            }
        },
    };
    let descending = q.sort.as_deref() == Some("-agent");
    let zone = rules.market.time_zone;
    let (from, to) = (start_of(zone, first), start_of(zone, next_day(last)));
    let paging = PageQuery {
        limit: Some(AGENTS_PAGE),
        cursor: q.cursor.clone(),
    };
    let mut agents = Vec::new();
    let mut next_page = None;
    let result = async {
        let (limit, cursor) = paging.parse()?;
        let page = sample(&state, from, to, limit, cursor, descending).await?;
        let chat_ids: Vec<String> = page
            .items
            .iter()
            .flat_map(|a| a.proposed.iter().map(|p| p.chat_id.clone()))
            .collect();
        let agent_ids: Vec<String> = page.items.iter().map(|a| a.agent_id.clone()).collect();
        let (lines, names) = state
            .db
            .run(move |conn| -> Result<_, AppError> {
                Ok((
                    queue::chat_lines(conn, &chat_ids)?,
                    queue::names(conn, &agent_ids)?,
                ))
            })
            .await?;
        Ok::<_, AppError>((page, lines, names))
    }
    .await;
    let status = match result {
        Ok((page, lines, names)) => {
            let sort = if descending { "-agent" } else { "agent" };
            next_page = page
                .next_cursor
                .map(|c| format!("/admin/quality?period={first}&sort={sort}&cursor={c}"));
            agents = page
                .items
                .into_iter()
                .map(|a| {
                    let rows: Vec<SampleRow> = a
                        .proposed
                        .iter()
                        .filter_map(|p| {
                            let line = lines.iter().find(|l| l.id == p.chat_id)?;
                            Some(SampleRow {
                                chat: chat_row(ctx, s.zone, line, &names),
                                reason: ctx
                                    .t(&format!("quality_pages.reason_{}", p.reason))
                                    .into_owned(),
                                reviewed: p.reviewed,
                            })
                        })
                        .collect();
                    let reviewed = a.proposed.iter().filter(|p| p.reviewed).count();
                    let mut summary = ctx.t_with(
                        "quality_pages.agent_summary",
                        [
                            ("closed", a.closed_chats.to_string().as_str()),
                            ("proposed", a.proposed.len().to_string().as_str()),
                            ("reviewed", reviewed.to_string().as_str()),
                        ],
                    );
                    if a.new_agent {
                        summary = format!("{summary} {}", ctx.t("quality_pages.new_agent"));
                    }
                    AgentBlock {
                        name: names.get(&a.agent_id).cloned().unwrap_or_default(),
                        id: a.agent_id,
                        summary,
                        rows,
                    }
                })
                .collect();
            if errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }
        Err(AppError::Validation(e)) => {
            errors.extend(ctx.field_errors(&e));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return error_page(ctx, e),
    };
    let label = |(f, l): (NaiveDate, NaiveDate)| {
        ctx.t_with(
            "quality_pages.period_option",
            [
                ("first", f.to_string().as_str()),
                ("last", l.to_string().as_str()),
            ],
        )
    };
    let page = QueuePage {
        ctx,
        errors,
        periods: periods
            .iter()
            .rev()
            .map(|&p| (p.0.to_string(), label(p)))
            .collect(),
        period: first.to_string(),
        period_label: label((first, last)),
        sort_link: format!(
            "/admin/quality?period={first}&sort={}",
            if descending { "agent" } else { "-agent" }
        ),
        descending,
        agents,
        next_page,
    };
    render(ctx, &page, status)
}

// ---------------------------------------------------------------- a shop's chats

#[derive(Template)]
#[template(path = "quality/shop.html")]
struct ShopPage<'a> {
    ctx: &'a PageCtx,
    filters: Vec<(&'static str, String)>,
    filter: &'static str,
    rows: Vec<ChatRow>,
    next_page: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ShopQuery {
    /// `all` (default), `unrated`, `low_rated` or `reviewed`.
    filter: Option<String>,
    cursor: Option<String>,
}

/// The shop's recent closed chats, with links to review them (shop staff only).
#[utoipa::path(tag = "pages", params(ShopQuery), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/seats/quality")]
async fn shop_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ShopQuery>,
) -> HttpResponse {
    let r = match reviewer_session(&state, &req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let ctx = &r.ctx;
    let (Role::MerchantStaff, Some(merchant)) = (r.caller.role, r.caller.merchant.clone()) else {
        return error_page(ctx, AppError::Forbidden { code: "wrong_role" });
    };
    let filter = ShopFilter::parse(q.filter.as_deref().unwrap_or("")).unwrap_or(ShopFilter::All);
    let paging = PageQuery {
        limit: Some(CHATS_PAGE),
        cursor: q.cursor.clone(),
    };
    let (limit, cursor) = match paging.parse() {
        Ok(p) => p,
        Err(e) => return error_page(ctx, e),
    };
    let low = i32::try_from(state.rules().quality.sample_rating_at_most).unwrap_or(0);
    let found = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let lines = queue::shop_chats(
                conn,
                merchant.as_str(),
                filter,
                low,
                cursor.as_deref(),
                limit + 1,
            )?;
            let agents: Vec<String> = lines.iter().filter_map(|l| l.agent_id.clone()).collect();
            Ok((lines, queue::names(conn, &agents)?))
        })
        .await;
    let (lines, names) = match found {
        Ok(f) => f,
        Err(e) => return error_page(ctx, e.into()),
    };
    let more = lines.len() as i64 > limit;
    let shown = &lines[..lines.len().min(limit as usize)];
    let next_cursor = shown
        .last()
        .filter(|_| more)
        .map(|l| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &l.id));
    let rows: Vec<ChatRow> = shown
        .iter()
        .map(|l| chat_row(ctx, r.zone, l, &names))
        .collect();
    let page = ShopPage {
        ctx,
        filters: ShopFilter::ALL
            .iter()
            .map(|f| {
                (
                    f.as_str(),
                    ctx.t(&format!("quality_pages.filter_{}", f.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        filter: filter.as_str(),
        next_page: next_cursor.map(|c| {
            format!(
                "/seats/quality?filter={}&cursor={}",
                filter.as_str(),
                url_escape(&c)
            )
        }),
        rows,
    };
    render(ctx, &page, StatusCode::OK)
}
