//! The agent's level page: the level, what it grants, what the next level asks and the
//! monthly decisions, from the same view as `GET /api/agents/me/level`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use utoipa_actix_web::service_config::ServiceConfig;

use super::levels::Level;
use super::levels_routes::{AgentLevel, level_for};
use crate::certification::pages::agent_session;
use crate::state::AppState;
use crate::web::pages::{PageCtx, error_page, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(level_page);
}

/// A level as a row: name, then what it asks and grants, as shown.
struct LevelRow {
    title: String,
    quality: String,
    adherence: String,
    hours: String,
    keep: String,
    chats: u32,
    early: String,
    pay: String,
}

struct MonthRow {
    month: String,
    change: String,
    quality: String,
    adherence: String,
    hours: String,
    note: String,
}

#[derive(Template)]
#[template(path = "agents/level.html")]
struct LevelPage<'a> {
    ctx: &'a PageCtx,
    current: LevelRow,
    since: Option<String>,
    next: Option<LevelRow>,
    grace_note: String,
    months: Vec<MonthRow>,
}

fn percent_bp(bp: u32) -> String {
    format!("{:.1}%", f64::from(bp) / 100.0)
}

fn level_row(ctx: &PageCtx, l: &Level) -> LevelRow {
    LevelRow {
        title: ctx.t_with(
            "level.title",
            [
                ("name", l.name(ctx.lang)),
                ("number", l.number.to_string().as_str()),
            ],
        ),
        quality: l.min_quality.to_string(),
        adherence: percent_bp(l.min_adherence_bp),
        hours: l.min_hours.to_string(),
        keep: ctx.t_with(
            "level.keep",
            [
                ("quality", l.keep_quality.to_string().as_str()),
                ("adherence", percent_bp(l.keep_adherence_bp).as_str()),
            ],
        ),
        chats: l.max_concurrent_chats,
        early: ctx
            .t(if l.early_access {
                "level.yes"
            } else {
                "level.no"
            })
            .into_owned(),
        pay: format!("×{:.2}", f64::from(l.pay_multiplier_bp) / 10_000.0),
    }
}

fn page<'a>(ctx: &'a PageCtx, view: &AgentLevel, zone: &str) -> LevelPage<'a> {
    let dash = || "—".to_owned();
    let months = view
        .history
        .iter()
        .map(|d| {
            let key = match d.to_level.cmp(&d.from_level) {
                std::cmp::Ordering::Greater => "level.up",
                std::cmp::Ordering::Less => "level.down",
                std::cmp::Ordering::Equal => "level.kept",
            };
            let reasons: Vec<String> = d
                .reasons
                .iter()
                .map(|r| {
                    ctx.t_with(
                        &format!("level.short_{}", r.measure),
                        [
                            ("got", format!("{:.1}", f64::from(r.got) / 100.0).as_str()),
                            ("keep", format!("{:.1}", f64::from(r.keep) / 100.0).as_str()),
                        ],
                    )
                })
                .collect();
            let mut note = reasons.join(" ");
            if d.in_grace {
                note = ctx.t("level.in_grace").into_owned();
            }
            MonthRow {
                month: d.month.clone(),
                change: ctx.t_with(
                    key,
                    [
                        ("from", d.from_level.to_string().as_str()),
                        ("to", d.to_level.to_string().as_str()),
                    ],
                ),
                quality: d
                    .quality_x100
                    .map_or_else(dash, |q| format!("{:.1}", f64::from(q) / 100.0)),
                adherence: d
                    .adherence_bp
                    .map_or_else(dash, |a| percent_bp(u32::try_from(a).unwrap_or(0))),
                hours: format!("{:.1}", f64::from(d.minutes_worked) / 60.0),
                note,
            }
        })
        .collect();
    LevelPage {
        ctx,
        current: level_row(ctx, &view.level),
        since: view
            .since
            .map(|t| crate::certification::mails::local(zone, t.naive_utc())),
        next: view.next.as_ref().map(|l| level_row(ctx, l)),
        grace_note: ctx.t_with(
            "level.grace_note",
            [("months", view.grace_months.to_string().as_str())],
        ),
        months,
    }
}

/// The signed-in agent's level.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/agent/level")]
async fn level_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (ctx, account) = match agent_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match level_for(&state, account.id).await {
        Ok(view) => render(&ctx, &page(&ctx, &view, &account.time_zone), StatusCode::OK),
        Err(e) => error_page(&ctx, e),
    }
}
