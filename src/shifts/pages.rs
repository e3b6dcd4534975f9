//! The agent's shift pages: the job board, "My shifts" (by day and as a week calendar, with
//! check-in, check-out, release and swap buttons, the calendar feed and the preferences) and
//! the swap board. Thin handlers over [`super::service`] and [`super::prefs`], the same use
//! cases as the JSON API; every form posts with its CSRF token and comes back here with a
//! notice (POST-redirect-GET), or with the refusal in words on the page it came from.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::prefs::{self, ShiftPreferences};
use super::service::{self, MineQuery, OpenQuery, ShiftView};
use crate::certification::exam_pages::{Agent, agent_or_return};
use crate::certification::trials;
use crate::error::AppError;
use crate::seats::booking::yuan;
use crate::state::AppState;
use crate::web::pages::{PageCtx, check_csrf, redirect, render, url_escape};

/// Rows per page of the job board.
const BOARD_PAGE: i64 = 20;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(board_page)
        .service(my_shifts_page)
        .service(swaps_page)
        .service(claim)
        .service(release)
        .service(check_in)
        .service(check_out)
        .service(offer_swap)
        .service(withdraw_swap)
        .service(take_swap)
        .service(rotate_calendar)
        .service(save_preferences);
}

// ---------------------------------------------------------------- shared

/// "2026-12-01 08:00 – 12:00 (Asia/Shanghai)", with the end's date too when it falls on
/// another day.
fn span(view: &ShiftView) -> String {
    let end = match (
        view.local_start.split_once(' '),
        view.local_end.split_once(' '),
    ) {
        (Some((d1, _)), Some((d2, t2))) if d1 == d2 => t2.to_owned(),
        _ => view.local_end.clone(),
    };
    format!("{} – {end} ({})", view.local_start, view.time_zone)
}

/// The local start and end times only, for the week calendar.
fn clock_span(view: &ShiftView) -> String {
    let time = |s: &str| {
        s.split_once(' ')
            .map_or(s.to_owned(), |(_, t)| t.to_owned())
    };
    format!("{}–{}", time(&view.local_start), time(&view.local_end))
}

fn hours(h: f64) -> String {
    let text = format!("{h:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn money(fen: i64) -> String {
    format!("¥{}", yuan(fen))
}

/// "Monday 2026-12-01" in the page's language.
fn day_label(agent: &Agent, day: NaiveDate) -> String {
    let key = format!("day.{}", format!("{:?}", day.weekday()).to_lowercase());
    format!("{} {day}", agent.t(&key, &[]))
}

fn local_day(view: &ShiftView) -> Option<NaiveDate> {
    view.local_start.get(..10).and_then(|d| d.parse().ok())
}

fn status_label(agent: &Agent, status: &str) -> String {
    let lookup = format!("shifts.status_{status}");
    match crate::_rust_i18n_try_translate(agent.ctx.lang.as_str(), &lookup) {
        Some(text) => text.into_owned(),
        None => status.replace('_', " "),
    }
}

fn outcome_label(agent: &Agent, outcome: &str) -> String {
    let lookup = format!("shifts.outcome_{outcome}");
    match crate::_rust_i18n_try_translate(agent.ctx.lang.as_str(), &lookup) {
        Some(text) => text.into_owned(),
        None => outcome.replace('_', " "),
    }
}

/// A refusal from the shift use cases, in words for the agent; `None` for errors that get
/// the plain error page (not found, CSRF, internal ...).
fn refusal(agent: &Agent, err: &AppError) -> Option<(String, StatusCode)> {
    let (key, args): (&str, Vec<(&str, String)>) = match err {
        AppError::Conflict { code, extra, .. } => {
            let field = |name: &str| extra.as_ref().and_then(|e| e.get(name).cloned());
            let at = |name: &str| {
                field(name)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| agent.time_zoned(t.with_timezone(&Utc)))
                    .unwrap_or_default()
            };
            let h = || {
                field("hours")
                    .and_then(|v| v.as_f64())
                    .map(hours)
                    .unwrap_or_default()
            };
            match *code {
                "shift_taken" => ("shifts.err_shift_taken", vec![]),
                "already_yours" => ("shifts.err_already_yours", vec![]),
                "booking_cancelled" => ("shifts.err_booking_cancelled", vec![]),
                "not_certified" => ("shifts.err_not_certified", vec![]),
                "early_access_only" => (
                    "shifts.err_early_access_only",
                    vec![("time", at("opens_at"))],
                ),
                "shift_started" => ("shifts.err_shift_started", vec![]),
                "shift_overlap" => (
                    "shifts.err_shift_overlap",
                    vec![("time", at("other_shift_starts_at"))],
                ),
                "daily_hours_exceeded" => ("shifts.err_daily_hours", vec![("hours", h())]),
                "weekly_hours_exceeded" => ("shifts.err_weekly_hours", vec![("hours", h())]),
                "rest_too_short" => (
                    "shifts.err_rest_too_short",
                    vec![("time", at("other_shift_starts_at"))],
                ),
                "shift_completed" => ("shifts.err_shift_completed", vec![]),
                "already_checked_in" => ("shifts.err_already_checked_in", vec![]),
                "check_in_not_open" => (
                    "shifts.err_check_in_not_open",
                    vec![("time", at("opens_at"))],
                ),
                "check_in_closed" => ("shifts.err_check_in_closed", vec![]),
                "not_checked_in" => ("shifts.err_not_checked_in", vec![]),
                "not_swappable" => ("shifts.err_not_swappable", vec![]),
                "swap_closed" => ("shifts.err_swap_closed", vec![]),
                "not_offered" => ("shifts.err_not_offered", vec![]),
                _ => ("shifts.err_other", vec![]),
            }
        }
        AppError::Forbidden {
            code: "not_your_shift",
        } => ("shifts.err_not_your_shift", vec![]),
        AppError::Forbidden {
            code: "agent_suspended",
        } => ("shifts.err_suspended", vec![]),
        AppError::Validation(errors) if errors.iter().any(|e| e.field == "date") => {
            ("shifts.err_bad_date", vec![])
        }
        AppError::Validation(_) => ("shifts.err_bad_filter", vec![]),
        _ => return None,
    };
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let status = actix_web::ResponseError::status_code(err);
    Some((agent.t(key, &args), status))
}

/// The notice for `?done=` after a form succeeded; unknown values show nothing.
fn done_notice(agent: &Agent, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "claimed" => "shifts.done_claimed",
        "released" => "shifts.done_released",
        "checked_in" => "shifts.done_checked_in",
        "checked_out" => "shifts.done_checked_out",
        "offered" => "shifts.done_offered",
        "withdrawn" => "shifts.done_withdrawn",
        "taken" => "shifts.done_taken",
        "rotated" => "shifts.done_rotated",
        "preferences" => "shifts.done_preferences",
        _ => return None,
    };
    Some(agent.t(key, &[]))
}

/// The merchant and time of a shift, for button names that must tell one row from another.
fn which(view: &ShiftView) -> String {
    format!("{}, {}", view.merchant, span(view))
}

fn some_text(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------- the job board

#[derive(Debug, Default, Deserialize)]
struct BoardQuery {
    date: Option<String>,
    skill: Option<String>,
    merchant: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

impl BoardQuery {
    fn filters(&self) -> OpenQuery {
        OpenQuery {
            date: some_text(self.date.clone()),
            skill: some_text(self.skill.clone()),
            merchant: some_text(self.merchant.clone()),
        }
    }
}

/// The filters as a query string (with a trailing `&` when not empty), to keep them across
/// pages and forms.
fn filter_query(f: &OpenQuery) -> String {
    [
        ("date", &f.date),
        ("skill", &f.skill),
        ("merchant", &f.merchant),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}&", url_escape(v))))
    .collect()
}

struct BoardRow {
    id: String,
    merchant: String,
    skill: String,
    when: String,
    hours: String,
    pay: String,
    bonus: Option<String>,
    early: Option<String>,
    /// Merchant and time, hidden after the visible "Claim" so every button has its own name.
    which: String,
}

/// (value, label, selected) of a select's options.
type Options = Vec<(String, String, bool)>;

#[derive(Template)]
#[template(path = "agents/shifts_open.html")]
struct BoardPage<'a> {
    ctx: &'a PageCtx,
    zone_note: String,
    notice: Option<String>,
    message: Option<String>,
    date: String,
    skills: Options,
    merchants: Options,
    rows: Vec<BoardRow>,
    filtered: bool,
    certified_any: bool,
    next_href: Option<String>,
    /// The filters, kept as hidden fields of each claim form.
    filter_date: String,
    filter_skill: String,
    filter_merchant: String,
}

async fn board_response(
    state: &AppState,
    agent: &Agent,
    q: BoardQuery,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let filters = q.filters();
    let certs = match trials::my_certifications(state, agent.id.clone()).await {
        Ok(c) => c,
        Err(e) => return agent.error(e),
    };
    let (rows, message, status) = match service::open(
        state,
        agent.id.clone(),
        filters.clone(),
        some_text(q.cursor.clone()),
        BOARD_PAGE + 1,
    )
    .await
    {
        Ok(rows) => (rows, message, status),
        Err(err) => match refusal(agent, &err) {
            Some((text, status)) => (Vec::new(), Some(text), status),
            None => return agent.error(err),
        },
    };
    // The merchants with open shifts for the other filters, for the merchant filter.
    let everyone = OpenQuery {
        merchant: None,
        ..filters.clone()
    };
    let mut merchants: Options = Vec::new();
    if let Ok(all) = service::open(state, agent.id.clone(), everyone, None, 200).await {
        for v in all {
            if !merchants.iter().any(|(id, _, _)| id == &v.merchant_id) {
                let selected = filters.merchant.as_deref() == Some(v.merchant_id.as_str());
                merchants.push((v.merchant_id, v.merchant, selected));
            }
        }
    }
    let now = state.clock.now().and_utc();
    let more = rows.len() as i64 > BOARD_PAGE;
    let rows: Vec<ShiftView> = rows.into_iter().take(BOARD_PAGE as usize).collect();
    let next_href = more.then(|| {
        let last = rows.last().map(|v| v.id.clone()).unwrap_or_default();
        format!(
            "/agent/shifts/open?{}cursor={}",
            filter_query(&filters),
            url_escape(&last)
        )
    });
    let valid: Vec<_> = certs.iter().filter(|c| c.valid).collect();
    let page = BoardPage {
        ctx: &agent.ctx,
        zone_note: agent.t("shifts.times_in", &[("zone", agent.zone.name())]),
        notice: done_notice(agent, q.done.as_deref()),
        message,
        date: filters.date.clone().unwrap_or_default(),
        skills: valid
            .iter()
            .map(|c| {
                (
                    c.skill.clone(),
                    state.rules().skill_name(&c.skill, agent.ctx.lang),
                    filters.skill.as_deref() == Some(c.skill.as_str()),
                )
            })
            .collect(),
        merchants,
        rows: rows
            .iter()
            .map(|v| BoardRow {
                id: v.id.clone(),
                merchant: v.merchant.clone(),
                skill: v.skill_name.clone(),
                when: span(v),
                hours: hours(v.hours),
                pay: money(v.pay_estimate_fen),
                bonus: (v.urgent_bonus_fen > 0).then(|| {
                    agent.t(
                        "shifts.urgent_badge",
                        &[("bonus", &money(v.urgent_bonus_fen))],
                    )
                }),
                early: v
                    .early_access_until
                    .filter(|t| *t > now)
                    .map(|t| agent.t("shifts.early_access_note", &[("time", &agent.time(t))])),
                which: which(v),
            })
            .collect(),
        filtered: filters.date.is_some() || filters.skill.is_some() || filters.merchant.is_some(),
        certified_any: !valid.is_empty(),
        next_href,
        filter_date: filters.date.clone().unwrap_or_default(),
        filter_skill: filters.skill.clone().unwrap_or_default(),
        filter_merchant: filters.merchant.clone().unwrap_or_default(),
    };
    agent.finish(render(&agent.ctx, &page, status))
}

/// The job board: open shifts the agent is certified for, soonest first, with filters by
/// day, skill and merchant, twenty to a page, each with a Claim button.
#[utoipa::path(tag = "pages", params(("date" = Option<String>, Query), ("skill" = Option<String>, Query), ("merchant" = Option<String>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/agent/shifts/open")]
async fn board_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<BoardQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    board_response(&state, &agent, q.into_inner(), None, StatusCode::OK).await
}

// ---------------------------------------------------------------- my shifts

struct ShiftAction {
    /// The last path segment of the form's action (`check-in` ...).
    action: &'static str,
    label: String,
    /// A warning shown beside the button and tied to it (a late release).
    warning: Option<String>,
}

struct ShiftCard {
    id: String,
    title: String,
    when: String,
    hours: String,
    pay: String,
    status: String,
    status_class: &'static str,
    notes: Vec<String>,
    which: String,
    actions: Vec<ShiftAction>,
}

struct DayGroup {
    heading: String,
    shifts: Vec<ShiftCard>,
}

struct WeekDay {
    label: String,
    today: bool,
    /// (times, merchant · skill, status) of each shift that day.
    shifts: Vec<(String, String, String)>,
}

struct PastLine {
    when: String,
    title: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "agents/shifts_mine.html")]
struct MinePage<'a> {
    ctx: &'a PageCtx,
    zone_note: String,
    notice: Option<String>,
    message: Option<String>,
    upcoming: Vec<DayGroup>,
    week_caption: String,
    week: Vec<WeekDay>,
    prev_week: String,
    next_week: String,
    past: Vec<PastLine>,
    calendar_url: String,
    prefs: ShiftPreferences,
}

fn card(agent: &Agent, v: &ShiftView, now: DateTime<Utc>) -> ShiftCard {
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    let held = v.mine && v.outcome.is_none();
    if held && v.status == "claimed" {
        // Until the end rather than `check_in_closes_at`: whoever took an urgent shift over
        // after its start checks in from their claim on, which the view does not carry. The
        // service decides; a late press gets its refusal in words.
        if v.check_in_opens_at <= now && now < v.ends_at {
            actions.push(ShiftAction {
                action: "check-in",
                label: agent.t("shifts.check_in", &[]),
                warning: None,
            });
        } else if now < v.check_in_opens_at {
            notes.push(agent.t(
                "shifts.check_in_from",
                &[("time", &agent.time(v.check_in_opens_at))],
            ));
        }
        if now < v.starts_at {
            let late = now >= v.free_release_until;
            actions.push(ShiftAction {
                action: "release",
                label: agent.t("shifts.release", &[]),
                warning: late.then(|| agent.t("shifts.release_late_warning", &[])),
            });
            if !late {
                notes.push(agent.t(
                    "shifts.free_release_until",
                    &[("time", &agent.time(v.free_release_until))],
                ));
            }
        }
        if v.swap_offered {
            notes.push(agent.t("shifts.on_swap_board", &[]));
            actions.push(ShiftAction {
                action: "swap/withdraw",
                label: agent.t("shifts.withdraw_swap", &[]),
                warning: None,
            });
        } else if now < v.swap_closes_at {
            actions.push(ShiftAction {
                action: "swap",
                label: agent.t("shifts.offer_swap", &[]),
                warning: None,
            });
        }
    }
    if held && v.status == "checked_in" {
        if let Some(at) = v.checked_in_at {
            notes.push(agent.t("shifts.checked_in_at", &[("time", &agent.time(at))]));
        }
        actions.push(ShiftAction {
            action: "check-out",
            label: agent.t("shifts.check_out", &[]),
            warning: None,
        });
    }
    if v.urgent_bonus_fen > 0 {
        notes.push(agent.t(
            "shifts.urgent_badge",
            &[("bonus", &money(v.urgent_bonus_fen))],
        ));
    }
    ShiftCard {
        id: v.id.clone(),
        title: format!("{} · {}", v.merchant, v.skill_name),
        when: span(v),
        hours: hours(v.hours),
        pay: money(v.pay_estimate_fen),
        status: status_label(agent, &v.status),
        status_class: match v.status.as_str() {
            "checked_in" | "completed" => "ok",
            _ => "",
        },
        notes,
        which: which(v),
        actions,
    }
}

#[derive(Debug, Default, Deserialize)]
struct MineParams {
    /// Any day of the week the calendar shows (`YYYY-MM-DD`, local).
    week: Option<String>,
    done: Option<String>,
}

/// Whether the agent's holding of `v` is still to come or under way.
fn upcoming(v: &ShiftView, now: DateTime<Utc>) -> bool {
    v.mine && v.outcome.is_none() && v.ends_at > now && v.status != "completed"
}

async fn mine_response(
    state: &AppState,
    agent: &Agent,
    q: MineParams,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let now = state.clock.now().and_utc();
    let today = now.with_timezone(&agent.zone).date_naive();
    let picked = q
        .week
        .as_deref()
        .and_then(|w| w.trim().parse::<NaiveDate>().ok())
        .unwrap_or(today);
    let monday = picked - Duration::days(picked.weekday().num_days_from_monday().into());
    let sunday = monday + Duration::days(6);
    let loaded = async {
        let list = service::mine(
            state,
            agent.id.clone(),
            MineQuery {
                from: Some((today - Duration::days(14)).to_string()),
                to: Some((today + Duration::days(42)).to_string()),
            },
        )
        .await?;
        let week = service::mine(
            state,
            agent.id.clone(),
            MineQuery {
                from: Some(monday.to_string()),
                to: Some(sunday.to_string()),
            },
        )
        .await?;
        let link = prefs::calendar_link(state, agent.id.clone(), false).await?;
        let prefs = prefs::get(state, agent.id.clone()).await?;
        Ok::<_, AppError>((list, week, link, prefs))
    };
    let (list, week_shifts, link, prefs) = match loaded.await {
        Ok(all) => all,
        Err(e) => return agent.error(e),
    };
    let mut groups: Vec<(NaiveDate, DayGroup)> = Vec::new();
    for v in list.iter().filter(|v| upcoming(v, now)) {
        let Some(day) = local_day(v) else { continue };
        let shown = card(agent, v, now);
        match groups.iter_mut().find(|(d, _)| *d == day) {
            Some((_, g)) => g.shifts.push(shown),
            None => groups.push((
                day,
                DayGroup {
                    heading: day_label(agent, day),
                    shifts: vec![shown],
                },
            )),
        }
    }
    let past: Vec<PastLine> = list
        .iter()
        .rev()
        .filter(|v| !upcoming(v, now))
        .map(|v| PastLine {
            when: span(v),
            title: format!("{} · {}", v.merchant, v.skill_name),
            outcome: match v.outcome.as_deref() {
                Some(o) => outcome_label(agent, o),
                None => status_label(agent, &v.status),
            },
        })
        .collect();
    let week = (0..7)
        .map(|i| {
            let day = monday + Duration::days(i);
            WeekDay {
                label: day_label(agent, day),
                today: day == today,
                shifts: week_shifts
                    .iter()
                    .filter(|v| local_day(v) == Some(day))
                    .filter(|v| v.mine || v.outcome.as_deref() == Some("worked"))
                    .map(|v| {
                        let status = match v.outcome.as_deref() {
                            Some(o) => outcome_label(agent, o),
                            None => status_label(agent, &v.status),
                        };
                        (
                            clock_span(v),
                            format!("{} · {}", v.merchant, v.skill_name),
                            status,
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let page = MinePage {
        ctx: &agent.ctx,
        zone_note: agent.t("shifts.times_in", &[("zone", agent.zone.name())]),
        notice: done_notice(agent, q.done.as_deref()),
        message,
        upcoming: groups.into_iter().map(|(_, g)| g).collect(),
        week_caption: agent.t(
            "shifts.week_caption",
            &[("from", &monday.to_string()), ("to", &sunday.to_string())],
        ),
        week,
        prev_week: format!("/agent/shifts?week={}#week", monday - Duration::days(7)),
        next_week: format!("/agent/shifts?week={}#week", monday + Duration::days(7)),
        past,
        calendar_url: link.url,
        prefs,
    };
    agent.finish(render(&agent.ctx, &page, status))
}

/// My shifts: upcoming ones by local day with their buttons, the week as a calendar table,
/// past ones with how they ended, the calendar feed and the shift preferences.
#[utoipa::path(tag = "pages", params(("week" = Option<String>, Query, description = "A day of the week to show")), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/agent/shifts")]
async fn my_shifts_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<MineParams>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    mine_response(&state, &agent, q.into_inner(), None, StatusCode::OK).await
}

// ---------------------------------------------------------------- the swap board

#[derive(Template)]
#[template(path = "agents/shifts_swaps.html")]
struct SwapsPage<'a> {
    ctx: &'a PageCtx,
    zone_note: String,
    notice: Option<String>,
    message: Option<String>,
    rows: Vec<BoardRow>,
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn swaps_response(
    state: &AppState,
    agent: &Agent,
    done: Option<&str>,
    message: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let offers = match service::swap_board(state, agent.id.clone()).await {
        Ok(o) => o,
        Err(e) => return agent.error(e),
    };
    let page = SwapsPage {
        ctx: &agent.ctx,
        zone_note: agent.t("shifts.times_in", &[("zone", agent.zone.name())]),
        notice: done_notice(agent, done),
        message,
        rows: offers
            .iter()
            .map(|v| BoardRow {
                id: v.id.clone(),
                merchant: v.merchant.clone(),
                skill: v.skill_name.clone(),
                when: span(v),
                hours: hours(v.hours),
                pay: money(v.pay_estimate_fen),
                bonus: None,
                early: None,
                which: which(v),
            })
            .collect(),
    };
    agent.finish(render(&agent.ctx, &page, status))
}

/// The swap board: shifts other agents offer that this agent is certified for.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/agent/shifts/swaps")]
async fn swaps_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<DoneQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    swaps_response(&state, &agent, q.done.as_deref(), None, StatusCode::OK).await
}

// ---------------------------------------------------------------- the forms

#[derive(Deserialize)]
struct ActionForm {
    /// Missing is refused as a CSRF mismatch (403), not as a malformed form.
    #[serde(default)]
    csrf_token: String,
}

/// The claim form also carries the board's filters, to come back to the same view.
#[derive(Deserialize)]
struct ClaimForm {
    #[serde(default)]
    csrf_token: String,
    date: Option<String>,
    skill: Option<String>,
    merchant: Option<String>,
}

#[derive(Clone, Copy)]
enum Action {
    Release,
    CheckIn,
    CheckOut,
    Offer,
    Withdraw,
}

impl Action {
    fn done(self) -> &'static str {
        match self {
            Action::Release => "released",
            Action::CheckIn => "checked_in",
            Action::CheckOut => "checked_out",
            Action::Offer => "offered",
            Action::Withdraw => "withdrawn",
        }
    }

    async fn run(self, state: &AppState, agent: &Agent, id: String) -> Result<ShiftView, AppError> {
        let who = agent.id.clone();
        match self {
            Action::Release => service::release(state, who, id).await,
            Action::CheckIn => service::check_in(state, who, id).await,
            Action::CheckOut => service::check_out(state, who, id).await,
            Action::Offer => service::offer_swap(state, who, id, true).await,
            Action::Withdraw => service::offer_swap(state, who, id, false).await,
        }
    }
}

/// One of the buttons on My shifts: back there with a notice, or with the refusal.
async fn my_action(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    form: &ActionForm,
    action: Action,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(state, req, "/agent/shifts").await);
    if let Err(e) = check_csrf(req, &form.csrf_token) {
        return agent.error(e);
    }
    match action.run(state, &agent, id.clone()).await {
        Ok(_) => agent.finish(redirect(&format!(
            "/agent/shifts?done={}#shift-{}",
            action.done(),
            url_escape(&id)
        ))),
        Err(err) => match refusal(&agent, &err) {
            Some((text, status)) => {
                mine_response(state, &agent, MineParams::default(), Some(text), status).await
            }
            None => agent.error(err),
        },
    }
}

/// Claims an open shift; back to the board (same filters) with a notice, or with the
/// refusal (taken by someone else, early access, hours, rest ...) as an alert.
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Claimed: back to the board"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/claim")]
async fn claim(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ClaimForm>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/shifts/open").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    let form = form.into_inner();
    let q = BoardQuery {
        date: form.date,
        skill: form.skill,
        merchant: form.merchant,
        ..BoardQuery::default()
    };
    match service::claim(&state, agent.id.clone(), path.into_inner()).await {
        Ok(_) => agent.finish(redirect(&format!(
            "/agent/shifts/open?{}done=claimed",
            filter_query(&q.filters())
        ))),
        Err(err) => match refusal(&agent, &err) {
            Some((text, status)) => board_response(&state, &agent, q, Some(text), status).await,
            None => agent.error(err),
        },
    }
}

/// Gives a claimed shift back (free before the cutoff, a late release after).
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Released: to my shifts"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/release")]
async fn release(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    my_action(&state, &req, path.into_inner(), &form, Action::Release).await
}

/// Checks in to a claimed shift while its check-in window is open.
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Checked in: to my shifts"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/check-in")]
async fn check_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    my_action(&state, &req, path.into_inner(), &form, Action::CheckIn).await
}

/// Checks out of a checked-in shift.
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Checked out: to my shifts"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/check-out")]
async fn check_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    my_action(&state, &req, path.into_inner(), &form, Action::CheckOut).await
}

/// Offers a claimed shift on the swap board.
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Offered: to my shifts"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/swap")]
async fn offer_swap(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    my_action(&state, &req, path.into_inner(), &form, Action::Offer).await
}

/// Takes a shift off the swap board again.
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Withdrawn: to my shifts"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/swap/withdraw")]
async fn withdraw_swap(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    my_action(&state, &req, path.into_inner(), &form, Action::Withdraw).await
}

/// Takes over a shift from the swap board; back to the swap board with a notice.
#[utoipa::path(tag = "pages", params(("shift_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Taken: back to the swap board"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/agent/shifts/{shift_id}/take")]
async fn take_swap(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/shifts/swaps").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    match service::take_swap(&state, agent.id.clone(), path.into_inner()).await {
        Ok(_) => agent.finish(redirect("/agent/shifts/swaps?done=taken")),
        Err(err) => match refusal(&agent, &err) {
            Some((text, status)) => swaps_response(&state, &agent, None, Some(text), status).await,
            None => agent.error(err),
        },
    }
}

/// Replaces the calendar feed's secret address; the old one stops working.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Rotated: to my shifts"), (status = 403, content_type = "text/html", body = String)))]
#[post("/agent/shifts/calendar/rotate")]
async fn rotate_calendar(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/shifts").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    match prefs::calendar_link(&state, agent.id.clone(), true).await {
        Ok(_) => agent.finish(redirect("/agent/shifts?done=rotated#calendar")),
        Err(e) => agent.error(e),
    }
}

#[derive(Deserialize)]
struct PreferencesForm {
    #[serde(default)]
    csrf_token: String,
    /// Checkboxes: present (`on`) when ticked, absent otherwise.
    auto_assign: Option<String>,
    urgent_alerts: Option<String>,
}

/// Saves the shift preferences (auto-assignment, urgent-shift mails).
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved: to my shifts"), (status = 403, content_type = "text/html", body = String)))]
#[post("/agent/shifts/preferences")]
async fn save_preferences(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<PreferencesForm>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_form(&state, &req, "/agent/shifts").await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    let wanted = ShiftPreferences {
        auto_assign: form.auto_assign.is_some(),
        urgent_alerts: form.urgent_alerts.is_some(),
    };
    match prefs::set(&state, agent.id.clone(), wanted).await {
        Ok(_) => agent.finish(redirect("/agent/shifts?done=preferences#preferences")),
        Err(e) => agent.error(e),
    }
}
