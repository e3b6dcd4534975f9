//! The agent's profile page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use utoipa_actix_web::service_config::ServiceConfig;

use super::profile::{ACCESSIBILITY, DAYS, LANGUAGES, ProfileInput, WeeklySlot};
use super::service::{self, ProfileView};
use crate::accounts::model::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::pages::{PageCtx, badge, check_csrf, error_page, page_session, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(profile_page).service(save_profile);
}

/// Rows of the weekly availability table on the page.
const SLOT_ROWS: usize = 10;

const ZONES: [&str; 8] = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Europe/London",
    "America/Los_Angeles",
];

#[derive(Template)]
#[template(path = "agents/profile.html")]
struct ProfilePage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    display_name: String,
    time_zone: String,
    zones: &'static [&'static str],
    languages: Vec<(&'static str, String, bool)>,
    skills: Vec<(String, String, bool)>,
    max_chats: i32,
    slots: Vec<(String, String, String)>,
    days: Vec<(&'static str, String)>,
    accessibility: Vec<(&'static str, String, bool)>,
}

fn page(
    state: &AppState,
    ctx: &PageCtx,
    input: &ProfileInput,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let rules = state.rules();
    let mut slots: Vec<(String, String, String)> = input
        .availability
        .iter()
        .map(|s| (s.day.clone(), s.start.clone(), s.end.clone()))
        .collect();
    slots.resize(
        SLOT_ROWS.max(slots.len()),
        (String::new(), String::new(), String::new()),
    );
    let page = ProfilePage {
        ctx,
        notice,
        errors,
        display_name: input.display_name.clone(),
        time_zone: input.time_zone.clone(),
        zones: &ZONES,
        languages: LANGUAGES
            .iter()
            .map(|l| {
                (
                    *l,
                    ctx.t(&format!("lang.{l}")).into_owned(),
                    input.languages.iter().any(|x| x == l),
                )
            })
            .collect(),
        skills: rules
            .skills
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    s.name(ctx.lang).to_owned(),
                    input.skills.contains(&s.id),
                )
            })
            .collect(),
        max_chats: input.max_concurrent_chats.clamp(1, 6) as i32,
        slots,
        days: DAYS
            .iter()
            .map(|d| (*d, ctx.t(&format!("day.{d}")).into_owned()))
            .collect(),
        accessibility: ACCESSIBILITY
            .iter()
            .map(|a| {
                (
                    *a,
                    ctx.t(&format!("a11y.{a}")).into_owned(),
                    input.accessibility.iter().any(|x| x == a),
                )
            })
            .collect(),
    };
    render(ctx, &page, status)
}

fn as_input(view: &ProfileView) -> ProfileInput {
    ProfileInput {
        display_name: view.display_name.clone(),
        time_zone: view.time_zone.clone(),
        languages: view.languages.clone(),
        skills: view.skills.clone(),
        availability: view.availability.clone(),
        max_concurrent_chats: i64::from(view.max_concurrent_chats),
        accessibility: view.accessibility.clone(),
    }
}

/// The signed-in agent's page context and account, or where to send the browser.
pub(crate) async fn agent_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(PageCtx, crate::accounts::service::AccountView), HttpResponse> {
    let (caller, account) = page_session(state, req).await?;
    let ctx = PageCtx::new(req, Some(badge(&account)));
    if caller.role != Role::Agent {
        return Err(error_page(&ctx, AppError::Forbidden { code: "wrong_role" }));
    }
    Ok((ctx, account))
}

#[derive(serde::Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// The agent's profile form.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in")))]
#[get("/agent/profile")]
async fn profile_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<SavedQuery>,
) -> HttpResponse {
    let (ctx, id) = match agent_session(&state, &req).await {
        Ok((ctx, account)) => (ctx, account.id),
        Err(res) => return res,
    };
    match service::get_profile(&state, id).await {
        Ok(view) => {
            let notice = q.saved.as_ref().map(|_| ctx.t("agent.saved").into_owned());
            page(
                &state,
                &ctx,
                &as_input(&view),
                notice,
                Vec::new(),
                StatusCode::OK,
            )
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// Reads the form: one checkbox per language, skill and preference (`lang_zh=on` ...) and
/// numbered availability rows (`day_0`, `start_0`, `end_0` ...); empty rows are skipped.
fn from_form(form: &HashMap<String, String>, skills: &[String]) -> ProfileInput {
    let get = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let checked = |prefix: &str, values: &[&str]| -> Vec<String> {
        values
            .iter()
            .filter(|v| form.get(&format!("{prefix}{v}")).is_some_and(|x| x == "on"))
            .map(|v| (*v).to_owned())
            .collect()
    };
    let skill_ids: Vec<&str> = skills.iter().map(String::as_str).collect();
    let availability = (0..SLOT_ROWS * 2)
        .filter_map(|i| {
            let (day, start, end) = (
                get(&format!("day_{i}")),
                get(&format!("start_{i}")),
                get(&format!("end_{i}")),
            );
            (!(day.is_empty() && start.is_empty() && end.is_empty())).then_some(WeeklySlot {
                day,
                start,
                end,
            })
        })
        .collect();
    ProfileInput {
        display_name: get("display_name"),
        time_zone: get("time_zone"),
        languages: checked("lang_", &LANGUAGES),
        skills: checked("skill_", &skill_ids),
        availability,
        max_concurrent_chats: get("max_concurrent_chats").parse().unwrap_or(0),
        accessibility: checked("a11y_", &ACCESSIBILITY),
    }
}

/// Saves the profile.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved"), (status = 422, content_type = "text/html", body = String)))]
#[post("/agent/profile")]
async fn save_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (ctx, id) = match agent_session(&state, &req).await {
        Ok((ctx, account)) => (ctx, account.id),
        Err(res) => return res,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(
        &req,
        form.get("csrf_token").map(String::as_str).unwrap_or(""),
    ) {
        return error_page(&ctx, e);
    }
    let skills: Vec<String> = state.rules().skills.iter().map(|s| s.id.clone()).collect();
    let input = from_form(&form, &skills);
    match service::update_profile(&state, id, input.clone()).await {
        Ok(_) => redirect("/agent/profile?saved=1"),
        Err(AppError::Validation(errors)) => {
            let errors = errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect();
            page(
                &state,
                &ctx,
                &input,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => error_page(&ctx, e),
    }
}
