//! Admin pages for certification: the talent pool (with its CSV download), one agent's
//! record with suspend and reinstate, and the exam tracks with their question banks. Times
//! are shown in the admin's own time zone.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::banks::{self, ImportRequest, TrackView};
use super::exam::ExamRules;
use super::lifecycle::{AgentEvent, Party};
use super::pool::{self, PoolFilter, PoolQuery, SortKey};
use super::profile::{DAYS, LANGUAGES};
use super::service;
use crate::accounts::model::{AccountId, AgentStatus, Role};
use crate::accounts::service::AccountView;
use crate::auth::Caller;
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::web::api::PageQuery;
use crate::web::i18n::t_with;
use crate::web::pages::{
    PageCtx, badge, check_csrf, error_page, form_session, page_session, redirect, render,
    url_escape,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(agents_page)
        .service(agents_csv)
        .service(agent_page)
        .service(suspend_page)
        .service(reinstate_page)
        .service(tracks_page)
        .service(save_track_page)
        .service(import_page);
}

/// Rows per page of the talent pool table.
const POOL_PAGE: i64 = 50;
/// Questions per page of a bank.
const QUESTION_PAGE: i64 = 20;

/// A signed-in admin on a page: the page context, who they are, their time zone, and the
/// session cookies to set when a form post renewed an expired access cookie.
pub(crate) struct AdminSession {
    pub(crate) ctx: PageCtx,
    pub(crate) id: AccountId,
    pub(crate) zone: Tz,
    cookies: Vec<Cookie<'static>>,
}

impl AdminSession {
    /// Admins only: anyone else gets the forbidden page.
    fn new(
        req: &HttpRequest,
        caller: Caller,
        account: &AccountView,
        cookies: Vec<Cookie<'static>>,
    ) -> Option<Self> {
        let ctx = PageCtx::new(req, Some(badge(account)));
        let zone = account
            .time_zone
            .parse::<Tz>()
            .unwrap_or(chrono_tz::Asia::Shanghai);
        (caller.role == Role::Admin).then_some(AdminSession {
            ctx,
            id: caller.id,
            zone,
            cookies,
        })
    }

    /// Sets the renewed session cookies, if any, on `res`.
    pub(crate) fn finish(&self, mut res: HttpResponse) -> HttpResponse {
        for cookie in &self.cookies {
            let _ = res.add_cookie(cookie);
        }
        res
    }
}

pub(crate) async fn admin_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<AdminSession, HttpResponse> {
    let (caller, account) = page_session(state, req).await?;
    AdminSession::new(req, caller, &account, Vec::new()).ok_or_else(|| forbidden(req, &account))
}

fn forbidden(req: &HttpRequest, account: &AccountView) -> HttpResponse {
    let ctx = PageCtx::new(req, Some(badge(account)));
    error_page(&ctx, AppError::Forbidden { code: "wrong_role" })
}

/// For a form post that may have taken longer than an access token lives (reading a
/// trial): an expired access cookie is renewed in place, and the CSRF token is checked.
pub(crate) async fn admin_form(
    state: &AppState,
    req: &HttpRequest,
    back: &str,
    csrf_token: &str,
) -> Result<AdminSession, HttpResponse> {
    let (caller, account, cookies) = form_session(state, req, back).await?;
    let Some(session) = AdminSession::new(req, caller, &account, cookies) else {
        return Err(forbidden(req, &account));
    };
    if let Err(e) = check_csrf(req, csrf_token) {
        return Err(session.finish(error_page(&session.ctx, e)));
    }
    Ok(session)
}

pub(super) fn local(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

fn skill_name(state: &AppState, ctx: &PageCtx, id: &str) -> String {
    state.rules().skill_name(id, ctx.lang)
}

fn skills(state: &AppState, ctx: &PageCtx) -> Vec<(String, String)> {
    state.rules().skill_names(ctx.lang)
}

fn status_label(ctx: &PageCtx, status: &str) -> String {
    ctx.t(&format!("status.{status}")).into_owned()
}

/// A query string from pairs, values escaped.
fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", url_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn field_list(errors: &[FieldError]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.clone(), format!("{}: {}", e.field, e.message)))
        .collect()
}

// ---------------------------------------------------------------- talent pool

struct PoolRowView {
    id: String,
    name: String,
    email: String,
    status: String,
    languages: String,
    certified: String,
    quality: String,
    joined: String,
}

struct SortLink {
    label: String,
    href: String,
    /// `ascending` / `descending` on the column the table is sorted by.
    aria_sort: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/agents.html")]
struct AgentsPage<'a> {
    ctx: &'a PageCtx,
    form: PoolQuery,
    errors: Vec<(String, String)>,
    skills: Vec<(String, String)>,
    statuses: Vec<(&'static str, String)>,
    languages: Vec<(&'static str, String)>,
    sorts: Vec<(&'static str, String)>,
    zone_hint: String,
    rows: Vec<PoolRowView>,
    columns: Vec<SortLink>,
    next_page: Option<String>,
    csv_link: String,
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

/// The talent pool: filters, a sortable table, pages, and the same list as CSV.
#[utoipa::path(tag = "pages", params(PoolQuery, ("cursor" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/agents")]
async fn agents_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PoolQuery>,
    page: web::Query<CursorQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &s.ctx;
    let form = q.into_inner();
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut next_page = None;
    let mut filter = PoolFilter::default();
    let paging = PageQuery {
        limit: Some(POOL_PAGE),
        cursor: page.cursor.clone(),
    };
    let result = async {
        let (limit, cursor) = paging.parse()?;
        let f = pool::resolve(&state, s.id.clone(), &form).await?;
        filter = f.clone();
        pool::search(&state, f, cursor, limit).await
    }
    .await;
    let status = match result {
        Ok(found) => {
            let base = query_string(&filter.params());
            next_page = found
                .next_cursor
                .map(|c| format!("/admin/agents?{base}&cursor={c}"));
            rows = found
                .items
                .iter()
                .map(|a| PoolRowView {
                    id: a.account_id.as_str().to_owned(),
                    name: a.display_name.clone(),
                    email: a.email.clone(),
                    status: status_label(ctx, a.status.as_str()),
                    languages: a
                        .languages
                        .iter()
                        .map(|l| ctx.t(&format!("lang.{l}")).into_owned())
                        .collect::<Vec<_>>()
                        .join(", "),
                    certified: a
                        .certifications
                        .iter()
                        .filter(|c| c.valid)
                        .map(|c| {
                            t_with(
                                ctx.lang,
                                "pool.certified_until",
                                &[
                                    ("skill", &skill_name(&state, ctx, &c.skill)),
                                    ("date", &local(c.expires_at, s.zone)[..10]),
                                ],
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    quality: a
                        .quality
                        .map(|q| q.to_string())
                        .unwrap_or_else(|| "–".into()),
                    joined: local(a.joined, s.zone)[..10].to_owned(),
                })
                .collect();
            StatusCode::OK
        }
        Err(AppError::Validation(e)) => {
            errors = field_list(&e);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return error_page(ctx, e),
    };
    let columns = [
        (SortKey::Name, "pool.name"),
        (SortKey::Joined, "pool.joined"),
        (SortKey::Quality, "pool.quality"),
    ]
    .into_iter()
    .map(|(key, label)| {
        let current = filter.sort.key == key;
        let mut sorted = filter.clone();
        sorted.sort = pool::Sort {
            key,
            descending: current && !filter.sort.descending,
        };
        SortLink {
            label: ctx.t(label).into_owned(),
            href: format!("/admin/agents?{}", query_string(&sorted.params())),
            aria_sort: current.then_some(if filter.sort.descending {
                "descending"
            } else {
                "ascending"
            }),
        }
    })
    .collect();
    let page = AgentsPage {
        ctx,
        csv_link: format!(
            "/admin/agents/export.csv?{}",
            query_string(&filter.params())
        ),
        errors,
        skills: skills(&state, ctx),
        statuses: AgentStatus::ALL
            .iter()
            .map(|st| (st.as_str(), status_label(ctx, st.as_str())))
            .collect(),
        languages: LANGUAGES
            .iter()
            .map(|l| (*l, ctx.t(&format!("lang.{l}")).into_owned()))
            .collect(),
        sorts: pool::Sort::ALL
            .iter()
            .map(|s| {
                let key = format!("pool.sort_{}", s.replace('-', "desc_"));
                (*s, ctx.t(&key).into_owned())
            })
            .collect(),
        zone_hint: t_with(ctx.lang, "pool.available_hint", &[("zone", s.zone.name())]),
        form,
        rows,
        columns,
        next_page,
    };
    render(ctx, &page, status)
}

/// The talent pool as CSV, for the page's download link (same filters as the page).
#[utoipa::path(tag = "pages", params(PoolQuery), responses((status = 200, content_type = "text/csv", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/agents/export.csv")]
async fn agents_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PoolQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let result = async {
        let filter = pool::resolve(&state, s.id.clone(), &q).await?;
        super::pool_routes::csv_response(state.clone(), filter).await
    }
    .await;
    match result {
        Ok(res) => res,
        Err(e) => error_page(&s.ctx, e),
    }
}

// ---------------------------------------------------------------- one agent

struct CertRow {
    skill: String,
    certified: String,
    expires: String,
    valid: bool,
}

struct AttemptRow {
    skill: String,
    status: String,
    started: String,
    submitted: String,
    result: String,
}

struct TrialRow {
    skill: String,
    status: String,
    percent: String,
    booked: String,
    reviewed: String,
}

struct EventRow {
    when: String,
    from: String,
    to: String,
    actor: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/agent.html")]
struct AgentPage<'a> {
    ctx: &'a PageCtx,
    id: String,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    name: String,
    email: String,
    status: String,
    zone: String,
    languages: String,
    wanted: String,
    availability: Vec<String>,
    weekly_hours: String,
    max_chats: i32,
    accessibility: String,
    joined: String,
    certs: Vec<CertRow>,
    attempts: Vec<AttemptRow>,
    trials: Vec<TrialRow>,
    events: Vec<EventRow>,
    can_suspend: bool,
    can_reinstate: bool,
    reason: String,
    times_in: String,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn agent_view(
    state: &AppState,
    s: &AdminSession,
    id: AccountId,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    reason: String,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &s.ctx;
    let loaded = async {
        let profile = service::get_profile(state, id.clone()).await?;
        let account = crate::accounts::service::me(state, id.clone()).await?;
        let record = pool::record(state, id.clone()).await?;
        let events = service::timeline(state, id.clone(), None, 100).await?;
        Ok::<_, AppError>((profile, account, record, events))
    }
    .await;
    let (profile, account, record, events) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(ctx, e),
    };
    let dash = || "–".to_owned();
    let page = AgentPage {
        ctx,
        id: id.as_str().to_owned(),
        notice,
        errors,
        name: profile.display_name.clone(),
        email: account.email.clone(),
        status: status_label(ctx, profile.status.as_str()),
        zone: profile.time_zone.clone(),
        languages: profile
            .languages
            .iter()
            .map(|l| ctx.t(&format!("lang.{l}")).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        wanted: profile
            .skills
            .iter()
            .map(|k| skill_name(state, ctx, k))
            .collect::<Vec<_>>()
            .join(", "),
        availability: profile
            .availability
            .iter()
            .map(|w| {
                let day = if DAYS.contains(&w.day.as_str()) {
                    ctx.t(&format!("day.{}", w.day)).into_owned()
                } else {
                    w.day.clone()
                };
                format!("{day} {}–{}", w.start, w.end)
            })
            .collect(),
        weekly_hours: format!("{:.1}", profile.weekly_hours),
        max_chats: profile.max_concurrent_chats,
        accessibility: profile
            .accessibility
            .iter()
            .map(|a| ctx.t(&format!("a11y.{a}")).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        joined: local(account.created_at, s.zone),
        certs: record
            .certifications
            .iter()
            .map(|c| CertRow {
                skill: skill_name(state, ctx, &c.skill),
                certified: local(c.certified_at, s.zone),
                expires: local(c.expires_at, s.zone),
                valid: c.valid,
            })
            .collect(),
        attempts: record
            .attempts
            .iter()
            .map(|a| AttemptRow {
                skill: skill_name(state, ctx, &a.skill),
                status: ctx
                    .t(&format!("agent_admin.attempt.{}", a.status))
                    .into_owned(),
                started: local(a.started_at, s.zone),
                submitted: a
                    .submitted_at
                    .map(|t| local(t, s.zone))
                    .unwrap_or_else(dash),
                result: match a.percent {
                    Some(p) => format!("{p}% / {}%", a.pass_percent),
                    None => dash(),
                },
            })
            .collect(),
        trials: record
            .trials
            .iter()
            .map(|t| TrialRow {
                skill: skill_name(state, ctx, &t.skill),
                status: ctx
                    .t(&format!("agent_admin.trial.{}", t.status))
                    .into_owned(),
                percent: t.percent.map(|p| format!("{p}%")).unwrap_or_else(dash),
                booked: local(t.booked_at, s.zone),
                reviewed: t.reviewed_at.map(|r| local(r, s.zone)).unwrap_or_else(dash),
            })
            .collect(),
        events: events
            .into_iter()
            .map(|e| EventRow {
                when: local(e.occurred_at.and_utc(), s.zone),
                from: e
                    .from_state
                    .as_deref()
                    .map(|st| status_label(ctx, st))
                    .unwrap_or_else(dash),
                to: status_label(ctx, &e.to_state),
                actor: match e.actor_account_id {
                    None => ctx.t("agent_admin.actor_service").into_owned(),
                    Some(a) if a == id.as_str() => ctx.t("agent_admin.actor_agent").into_owned(),
                    Some(_) => ctx.t("agent_admin.actor_admin").into_owned(),
                },
                reason: e.reason.unwrap_or_default(),
            })
            .collect(),
        can_suspend: !matches!(profile.status, AgentStatus::Suspended | AgentStatus::Left),
        can_reinstate: profile.status == AgentStatus::Suspended,
        reason,
        times_in: t_with(ctx.lang, "agent_admin.times_in", &[("zone", s.zone.name())]),
    };
    render(ctx, &page, status)
}

/// One agent: profile, certifications, exams, trials, lifecycle, suspend / reinstate.
#[utoipa::path(tag = "pages", params(("agent_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/admin/agents/{agent_id}")]
async fn agent_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let notice = match q.done.as_deref() {
        Some("suspend") => Some(s.ctx.t("agent_admin.suspended").into_owned()),
        Some("reinstate") => Some(s.ctx.t("agent_admin.reinstated").into_owned()),
        _ => None,
    };
    agent_view(
        &state,
        &s,
        AccountId(path.into_inner()),
        notice,
        Vec::new(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct ReasonForm {
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

async fn act_page(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    form: ReasonForm,
    event: AgentEvent,
) -> HttpResponse {
    let s = match admin_session(state, req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(req, &form.csrf_token) {
        return error_page(&s.ctx, e);
    }
    let agent = AccountId(id);
    let result = service::act(
        state,
        agent.clone(),
        event,
        Party::Admin,
        s.id.clone(),
        Some(form.reason.clone()),
    )
    .await;
    let (errors, status) = match result {
        Ok(_) => {
            let done = if event == AgentEvent::Suspend {
                "suspend"
            } else {
                "reinstate"
            };
            return redirect(&format!(
                "/admin/agents/{}?done={done}",
                url_escape(agent.as_str())
            ));
        }
        Err(AppError::Validation(e)) => (
            e.iter()
                .map(|f| {
                    (
                        f.field.clone(),
                        s.ctx.t("agent_admin.reason_required").into_owned(),
                    )
                })
                .collect(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::Conflict { .. }) => (
            vec![(
                "reason".to_owned(),
                s.ctx.t("agent_admin.status_forbids").into_owned(),
            )],
            StatusCode::CONFLICT,
        ),
        Err(e) => return error_page(&s.ctx, e),
    };
    agent_view(state, &s, agent, None, errors, form.reason, status).await
}

/// Suspends the agent, with a reason.
#[utoipa::path(tag = "pages", params(("agent_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Done"), (status = 403, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/agents/{agent_id}/suspend")]
async fn suspend_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> HttpResponse {
    act_page(
        &state,
        &req,
        path.into_inner(),
        form.into_inner(),
        AgentEvent::Suspend,
    )
    .await
}

/// Lifts the agent's suspension, with a reason.
#[utoipa::path(tag = "pages", params(("agent_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Done"), (status = 403, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/agents/{agent_id}/reinstate")]
async fn reinstate_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> HttpResponse {
    act_page(
        &state,
        &req,
        path.into_inner(),
        form.into_inner(),
        AgentEvent::Reinstate,
    )
    .await
}

// ---------------------------------------------------------------- exam tracks

struct TrackRow {
    skill: String,
    name: String,
    rules: ExamRules,
    bank_size: i64,
    topics: String,
    ready: bool,
}

struct QuestionRow {
    topic: String,
    kind: String,
    prompt: String,
    points: u32,
}

/// The track form's values as typed.
#[derive(Deserialize, Default, Clone)]
struct TrackForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    skill: String,
    #[serde(default)]
    exam_size: String,
    #[serde(default)]
    pass_percent: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    cooldown_hours: String,
    #[serde(default)]
    max_attempts_per_30_days: String,
}

impl TrackForm {
    fn from_rules(skill: &str, r: &ExamRules) -> TrackForm {
        TrackForm {
            csrf_token: String::new(),
            skill: skill.to_owned(),
            exam_size: r.exam_size.to_string(),
            pass_percent: r.pass_percent.to_string(),
            duration_minutes: r.duration_minutes.to_string(),
            cooldown_hours: r.cooldown_hours.to_string(),
            max_attempts_per_30_days: r.max_attempts_per_30_days.to_string(),
        }
    }

    /// The rules, or every field that is not a whole number.
    fn rules(&self) -> Result<ExamRules, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, raw: &str| -> u32 {
            raw.trim().parse::<u32>().unwrap_or_else(|_| {
                errors.push(FieldError::new(field, "invalid_number", "a whole number"));
                0
            })
        };
        let rules = ExamRules {
            exam_size: number("exam_size", &self.exam_size) as usize,
            pass_percent: number("pass_percent", &self.pass_percent),
            duration_minutes: number("duration_minutes", &self.duration_minutes),
            cooldown_hours: number("cooldown_hours", &self.cooldown_hours),
            max_attempts_per_30_days: number(
                "max_attempts_per_30_days",
                &self.max_attempts_per_30_days,
            ),
        };
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }
}

#[derive(Deserialize, Default, Clone)]
struct ImportForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    skill: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    content: String,
}

#[derive(Template)]
#[template(path = "admin/tracks.html")]
struct TracksPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    track_errors: Vec<(String, String)>,
    import_errors: Vec<(String, String)>,
    tracks: Vec<TrackRow>,
    skills: Vec<(String, String)>,
    track: TrackForm,
    import: ImportForm,
    selected: Option<(String, String)>,
    questions: Vec<QuestionRow>,
    next_questions: Option<String>,
}

#[derive(Deserialize)]
struct TracksQuery {
    skill: Option<String>,
    cursor: Option<String>,
    saved: Option<String>,
    imported: Option<usize>,
}

struct TracksState {
    notice: Option<String>,
    track_errors: Vec<(String, String)>,
    import_errors: Vec<(String, String)>,
    track: Option<TrackForm>,
    import: Option<ImportForm>,
    selected: Option<String>,
    cursor: Option<String>,
}

async fn tracks_view(
    state: &AppState,
    s: &AdminSession,
    view: TracksState,
    status: StatusCode,
) -> HttpResponse {
    let ctx = &s.ctx;
    let tracks: Vec<TrackView> = match banks::list_tracks(state).await {
        Ok(t) => t,
        Err(e) => return error_page(ctx, e),
    };
    let selected = view
        .selected
        .filter(|k| tracks.iter().any(|t| &t.skill == k))
        .or_else(|| tracks.first().map(|t| t.skill.clone()));
    let (mut questions, mut next_questions) = (Vec::new(), None);
    if let Some(skill) = &selected {
        let paging = PageQuery {
            limit: Some(QUESTION_PAGE),
            cursor: view.cursor.clone(),
        };
        let loaded = async {
            let (limit, cursor) = paging.parse()?;
            let rows = banks::questions(state, skill.clone(), cursor, limit + 1).await?;
            Ok::<_, AppError>(crate::web::api::Page::from_rows(
                rows,
                limit,
                |q| q.id.clone(),
                |q| q,
            ))
        }
        .await;
        match loaded {
            Ok(page) => {
                questions = page
                    .items
                    .into_iter()
                    .map(|q| QuestionRow {
                        topic: q.question.topic.clone(),
                        kind: q.question.kind.as_str().to_owned(),
                        prompt: q.question.prompt.clone(),
                        points: q.question.points,
                    })
                    .collect();
                next_questions = page.next_cursor.map(|c| {
                    format!(
                        "/admin/exam-tracks?skill={}&cursor={c}#questions",
                        url_escape(skill)
                    )
                });
            }
            Err(e) => return error_page(ctx, e),
        }
    }
    let first_skill = state
        .rules()
        .skills
        .first()
        .map(|k| k.id.clone())
        .unwrap_or_default();
    let track = view.track.unwrap_or_else(|| {
        let skill = selected.clone().unwrap_or(first_skill.clone());
        let rules = tracks
            .iter()
            .find(|t| t.skill == skill)
            .map(|t| t.rules.clone())
            .unwrap_or_default();
        TrackForm::from_rules(&skill, &rules)
    });
    let import = view.import.unwrap_or_else(|| ImportForm {
        skill: selected.clone().unwrap_or_default(),
        format: "csv".into(),
        ..ImportForm::default()
    });
    let page = TracksPage {
        ctx,
        notice: view.notice,
        track_errors: view.track_errors,
        import_errors: view.import_errors,
        tracks: tracks
            .iter()
            .map(|t| TrackRow {
                skill: t.skill.clone(),
                name: skill_name(state, ctx, &t.skill),
                rules: t.rules.clone(),
                bank_size: t.bank_size,
                topics: t
                    .topics
                    .iter()
                    .map(|c| format!("{} ({})", c.topic, c.questions))
                    .collect::<Vec<_>>()
                    .join(", "),
                ready: t.ready,
            })
            .collect(),
        skills: skills(state, ctx),
        track,
        import,
        selected: selected.map(|k| {
            let name = skill_name(state, ctx, &k);
            (k, name)
        }),
        questions,
        next_questions,
    };
    render(ctx, &page, status)
}

/// Exam tracks: bank sizes and readiness, the track rules form, question imports and
/// each bank's questions.
#[utoipa::path(tag = "pages", params(("skill" = Option<String>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/exam-tracks")]
async fn tracks_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<TracksQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = if let Some(n) = q.imported {
        Some(t_with(
            s.ctx.lang,
            "tracks.imported",
            &[("count", &n.to_string())],
        ))
    } else {
        q.saved
            .as_ref()
            .map(|_| s.ctx.t("tracks.saved").into_owned())
    };
    let view = TracksState {
        notice,
        track_errors: Vec::new(),
        import_errors: Vec::new(),
        track: None,
        import: None,
        selected: q.skill.filter(|k| !k.is_empty()),
        cursor: q.cursor,
    };
    tracks_view(&state, &s, view, StatusCode::OK).await
}

/// Creates or changes a skill's exam track.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/exam-tracks")]
async fn save_track_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TrackForm>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&s.ctx, e);
    }
    let result = match form.rules() {
        Ok(rules) => banks::save_track(&state, s.id.clone(), form.skill.clone(), rules)
            .await
            .map(|_| ()),
        Err(errors) => Err(AppError::Validation(errors)),
    };
    let errors = match result {
        Ok(()) => {
            return redirect(&format!(
                "/admin/exam-tracks?skill={}&saved=1",
                url_escape(&form.skill)
            ));
        }
        Err(AppError::Validation(e)) => field_list(&e),
        Err(AppError::NotFound) => {
            vec![("skill".to_owned(), s.ctx.t("tracks.no_skill").into_owned())]
        }
        Err(e) => return error_page(&s.ctx, e),
    };
    let view = TracksState {
        notice: None,
        track_errors: errors,
        import_errors: Vec::new(),
        selected: Some(form.skill.clone()),
        track: Some(form),
        import: None,
        cursor: None,
    };
    tracks_view(&state, &s, view, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// Imports questions into a bank from pasted CSV or TOML (all rows or none); every bad row
/// is listed.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Imported"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/admin/exam-tracks/import")]
async fn import_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    // Read by hand: a pasted bank outgrows the small limit forms have elsewhere; the
    // body is still capped by `max_body_bytes`.
    body: web::Bytes,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form: ImportForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => {
            return error_page(
                &s.ctx,
                AppError::field("form", "invalid_form", e.to_string()),
            );
        }
    };
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&s.ctx, e);
    }
    let request = ImportRequest {
        format: form.format.clone(),
        content: form.content.clone(),
    };
    let errors = match banks::import(&state, s.id.clone(), form.skill.clone(), request).await {
        Ok(done) => {
            return redirect(&format!(
                "/admin/exam-tracks?skill={}&imported={}",
                url_escape(&form.skill),
                done.imported
            ));
        }
        Err(AppError::Validation(e)) => field_list(&e),
        Err(AppError::NotFound) => {
            vec![("skill".to_owned(), s.ctx.t("tracks.no_track").into_owned())]
        }
        Err(e) => return error_page(&s.ctx, e),
    };
    let view = TracksState {
        notice: None,
        track_errors: Vec::new(),
        import_errors: errors,
        track: None,
        selected: Some(form.skill.clone()),
        import: Some(form),
        cursor: None,
    };
    tracks_view(&state, &s, view, StatusCode::UNPROCESSABLE_ENTITY).await
}
