//! The activity timeline and worked-hours pages: the agent's own (`/agent/activity`), an
//! admin's view of any agent (`/admin/agents/{id}/activity`), and the shop's hours worked
//! on its shifts (`/seats/worked-hours`) with the chats of an agent's day. Each chart is
//! drawn on the server next to a table of the same figures.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use utoipa_actix_web::service_config::ServiceConfig;

use super::merchant_pages::staff_session;
use super::timeline::{Day, State};
use super::timeline_routes::{
    self, ActivityReport, DaysQuery, WorkedChatsQuery, activity_report, worked_hours_report,
};
use crate::certification::admin_pages::admin_session;
use crate::certification::exam_pages::{Agent, agent_or_return};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::chart::{self, Band, LineChart, Point, StripChart, StripRow};
use crate::web::pages::{PageCtx, error_page, render, url_escape};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(agent_activity_page)
        .service(admin_activity_page)
        .service(worked_hours_page)
        .service(worked_chats_page)
        .service(agent_activity_csv)
        .service(admin_activity_csv)
        .service(worked_hours_csv);
}

/// `3 h 05 min`, in the page's language: to the nearest minute, as hours are rounded to
/// the nearest hundredth (1,799 s is 30 min, as it is 0.50 h on the shop's page).
fn duration(ctx: &PageCtx, secs: i64) -> String {
    let minutes = (secs.max(0) + 30) / 60;
    ctx.t_with(
        "timeline.duration",
        [
            ("h", (minutes / 60).to_string().as_str()),
            ("m", format!("{:02}", minutes % 60).as_str()),
        ],
    )
}

fn clock(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%H:%M").to_string()
}

fn class_of(state: State) -> &'static str {
    match state {
        State::Offline => "strip-offline",
        State::Away => "strip-away",
        State::OnlineIdle => "strip-idle",
        State::OnlineInChats => "strip-chats",
    }
}

const STATES: [State; 4] = [
    State::Offline,
    State::Away,
    State::OnlineIdle,
    State::OnlineInChats,
];

fn state_label(ctx: &PageCtx, state: State) -> String {
    ctx.t(&format!("timeline.state_{}", state.as_str()))
        .into_owned()
}

struct SegmentRow {
    time: String,
    state: String,
    on_shift: bool,
    length: String,
}

struct DayRow {
    date: String,
    recorded: bool,
    online: String,
    away: String,
    on_shift: String,
    in_chats: String,
    idle: String,
    worked: String,
    segments: Vec<SegmentRow>,
}

#[derive(Template)]
#[template(path = "analytics/activity.html")]
struct ActivityPage<'a> {
    ctx: &'a PageCtx,
    heading: String,
    back: Option<(String, String)>,
    action: String,
    csv_href: String,
    errors: Vec<(String, String)>,
    from: String,
    to: String,
    zone_note: String,
    any_activity: bool,
    totals: Vec<(String, String)>,
    legend: Vec<(&'static str, String)>,
    chart: String,
    days: Vec<DayRow>,
}

fn strip_row(day: &Day) -> StripRow {
    let length = (day.end - day.start).num_seconds().max(1) as f64;
    let share = |t: DateTime<Utc>| (t - day.start).num_seconds() as f64 / length;
    StripRow {
        label: day.date.format("%m-%d").to_string(),
        bands: day
            .segments
            .iter()
            .map(|s| Band {
                start: share(s.start),
                end: share(s.end),
                class: class_of(s.state),
            })
            .collect(),
        under: day
            .segments
            .iter()
            .filter(|s| s.on_shift)
            .map(|s| (share(s.start), share(s.end)))
            .collect(),
    }
}

/// The timeline page; `own` when the agent reads their own, else an admin reads someone
/// else's, in that agent's days and zone, which the page then says.
fn activity_page(
    ctx: &PageCtx,
    report: &ActivityReport,
    own: bool,
    heading: String,
    back: Option<(String, String)>,
    base: &str,
    errors: Vec<(String, String)>,
) -> HttpResponse {
    let zone: Tz = report.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let range = format!("from={}&to={}", report.from, report.to);
    let rows: Vec<StripRow> = report.days.iter().map(strip_row).collect();
    let ticks: Vec<(f64, String)> = [0, 6, 12, 18, 24]
        .iter()
        .map(|h| (f64::from(*h) / 24.0, format!("{h:02}:00")))
        .collect();
    let title = ctx.t("timeline.chart_title").into_owned();
    let description = ctx.t_with(
        "timeline.chart_desc",
        [
            ("from", report.from.to_string().as_str()),
            ("to", report.to.to_string().as_str()),
        ],
    );
    let t = &report.totals;
    let worked: i64 = report.worked.iter().map(|w| w.worked_secs).sum();
    let page = ActivityPage {
        ctx,
        heading,
        back,
        action: base.to_owned(),
        csv_href: format!("{base}.csv?{range}"),
        errors,
        from: report.from.to_string(),
        to: report.to.to_string(),
        zone_note: ctx.t_with(
            if own {
                "timeline.zone_note"
            } else {
                "timeline.zone_note_agent"
            },
            [("zone", report.time_zone.as_str())],
        ),
        any_activity: t.online_secs + t.away_secs + t.on_shift_secs > 0,
        totals: [
            ("online", t.online_secs),
            ("away", t.away_secs),
            ("on_shift", t.on_shift_secs),
            ("in_chats", t.in_chats_secs),
            ("idle", t.idle_secs),
            ("worked", worked),
        ]
        .into_iter()
        .map(|(k, v)| {
            (
                ctx.t(&format!("timeline.total_{k}")).into_owned(),
                duration(ctx, v),
            )
        })
        .chain(report.worked.iter().map(|w| {
            (
                ctx.t_with("timeline.worked_for", [("shop", w.merchant_name.as_str())]),
                duration(ctx, w.worked_secs),
            )
        }))
        .collect(),
        legend: STATES
            .iter()
            .map(|s| (class_of(*s), state_label(ctx, *s)))
            .chain(std::iter::once((
                "strip-under",
                ctx.t("timeline.on_shift").into_owned(),
            )))
            .collect(),
        chart: chart::strip_chart(&StripChart {
            id: "activity-chart",
            title: &title,
            description: &description,
            rows: &rows,
            ticks: &ticks,
        }),
        days: report
            .days
            .iter()
            .map(|d| DayRow {
                date: d.date.to_string(),
                recorded: d.recorded_secs > 0,
                online: duration(ctx, d.totals.online_secs),
                away: duration(ctx, d.totals.away_secs),
                on_shift: duration(ctx, d.totals.on_shift_secs),
                in_chats: duration(ctx, d.totals.in_chats_secs),
                idle: duration(ctx, d.totals.idle_secs),
                worked: duration(ctx, d.worked.iter().map(|w| w.worked_secs).sum()),
                segments: d
                    .segments
                    .iter()
                    .map(|s| SegmentRow {
                        time: format!("{}–{}", clock(s.start, zone), clock(s.end, zone)),
                        state: state_label(ctx, s.state),
                        on_shift: s.on_shift,
                        length: duration(ctx, s.secs),
                    })
                    .collect(),
            })
            .collect(),
    };
    render(ctx, &page, StatusCode::OK)
}

/// A bad range is shown with its errors, and the default range instead.
fn shown_errors(ctx: &PageCtx, err: &AppError) -> Option<Vec<(String, String)>> {
    match err {
        AppError::Validation(errors) => Some(
            errors
                .iter()
                .map(|e| {
                    (
                        format!("range-{}", e.field),
                        ctx.t(&format!("timeline.error.{}", e.code)).into_owned(),
                    )
                })
                .collect(),
        ),
        _ => None,
    }
}

/// The report for `query`, or for the default range with the errors of a bad one.
async fn activity_or_default(
    state: &AppState,
    ctx: &PageCtx,
    agent: String,
    query: DaysQuery,
) -> Result<(ActivityReport, Vec<(String, String)>), AppError> {
    match activity_report(state, agent.clone(), &query).await {
        Ok(r) => Ok((r, Vec::new())),
        Err(e) => match shown_errors(ctx, &e) {
            Some(errors) => Ok((
                activity_report(state, agent, &DaysQuery::default()).await?,
                errors,
            )),
            None => Err(e),
        },
    }
}

/// The signed-in agent's own activity: a strip per day (offline, away, online, in chats,
/// on shift) with its table, totals and the hours worked per shop; CSV download.
#[utoipa::path(
    tag = "pages",
    params(DaysQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String))
)]
#[get("/agent/activity")]
async fn agent_activity_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DaysQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    match activity_or_default(&state, &agent.ctx, agent.id.0.clone(), query.into_inner()).await {
        Ok((report, errors)) => activity_page(
            &agent.ctx,
            &report,
            true,
            agent.ctx.t("timeline.title_mine").into_owned(),
            None,
            "/agent/activity",
            errors,
        )
        .map_into_boxed_body(),
        Err(e) => agent.error(e),
    }
}

/// Any agent's activity timeline, for admins (linked from the agent's page).
#[utoipa::path(
    tag = "pages",
    params(("agent_id" = String, Path), DaysQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String))
)]
#[get("/admin/agents/{agent_id}/activity")]
async fn admin_activity_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let id = path.into_inner();
    match activity_or_default(&state, &s.ctx, id.clone(), query.into_inner()).await {
        Ok((report, errors)) => {
            let heading = s.ctx.t_with(
                "timeline.title_of",
                [("name", report.display_name.as_str())],
            );
            let back = Some((
                format!("/admin/agents/{}", url_escape(&id)),
                s.ctx.t("timeline.back_agent").into_owned(),
            ));
            let base = format!("/admin/agents/{}/activity", url_escape(&id));
            s.finish(activity_page(
                &s.ctx, &report, false, heading, back, &base, errors,
            ))
        }
        Err(e) => error_page(&s.ctx, e),
    }
}

/// The top of the hours axis: the largest value rounded up to an even number of hours (2
/// at least), so that the middle grid line, labelled in whole hours, is a whole hour too.
fn axis_max(hours: impl Iterator<Item = f64>) -> f64 {
    let top = hours.fold(0.0, f64::max).ceil().max(1.0);
    top + top % 2.0
}

struct HoursRow {
    agent: String,
    date: String,
    hours: String,
    href: String,
}

struct AgentTotal {
    agent: String,
    hours: String,
}

#[derive(Template)]
#[template(path = "analytics/worked_hours.html")]
struct WorkedHoursPage<'a> {
    ctx: &'a PageCtx,
    errors: Vec<(String, String)>,
    from: String,
    to: String,
    csv_href: String,
    zone_note: String,
    total: String,
    chart: String,
    days: Vec<(String, String)>,
    agents: Vec<AgentTotal>,
    rows: Vec<HoursRow>,
}

/// The hours worked on the shop's shifts per agent and day, with totals, a chart of the
/// daily totals and its table, a link to each agent-day's chats, and the CSV.
#[utoipa::path(
    tag = "pages",
    params(DaysQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String))
)]
#[get("/seats/worked-hours")]
async fn worked_hours_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DaysQuery>,
) -> HttpResponse {
    let (ctx, merchant, _) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let shop = merchant.0.clone();
    let (report, errors) = match worked_hours_report(&state, shop.clone(), &query).await {
        Ok(r) => (r, Vec::new()),
        Err(e) => match shown_errors(&ctx, &e) {
            Some(errors) => {
                match worked_hours_report(&state, shop.clone(), &DaysQuery::default()).await {
                    Ok(r) => (r, errors),
                    Err(e) => return error_page(&ctx, e),
                }
            }
            None => return error_page(&ctx, e),
        },
    };
    let hours = |secs: i64| format!("{:.2}", super::timeline::hours(secs));
    let points: Vec<Point> = report
        .days
        .iter()
        .map(|d| Point {
            label: d.date.format("%m-%d").to_string(),
            value: Some(d.worked_hours),
        })
        .collect();
    let max = axis_max(report.days.iter().map(|d| d.worked_hours));
    let title = ctx.t("timeline.hours_chart_title").into_owned();
    let description = ctx.t_with(
        "timeline.hours_chart_desc",
        [
            ("from", report.from.to_string().as_str()),
            ("to", report.to.to_string().as_str()),
        ],
    );
    let page = WorkedHoursPage {
        ctx: &ctx,
        errors,
        from: report.from.to_string(),
        to: report.to.to_string(),
        csv_href: format!(
            "/seats/worked-hours.csv?from={}&to={}",
            report.from, report.to
        ),
        zone_note: ctx.t_with("timeline.zone_note", [("zone", report.time_zone.as_str())]),
        total: hours(report.worked_secs),
        chart: chart::bar_chart(&LineChart {
            id: "hours-chart",
            title: &title,
            description: &description,
            points: &points,
            min: 0.0,
            max,
            format: &|v| format!("{v:.0}"),
        }),
        days: report
            .days
            .iter()
            .map(|d| (d.date.to_string(), hours(d.worked_secs)))
            .collect(),
        agents: report
            .agents
            .iter()
            .map(|a| AgentTotal {
                agent: a.display_name.clone(),
                hours: hours(a.worked_secs),
            })
            .collect(),
        rows: report
            .agents
            .iter()
            .flat_map(|a| {
                a.days.iter().map(|d| HoursRow {
                    agent: a.display_name.clone(),
                    date: d.date.to_string(),
                    hours: hours(d.worked_secs),
                    href: format!(
                        "/seats/worked-hours/chats?agent_id={}&day={}",
                        url_escape(&a.agent_id),
                        d.date
                    ),
                })
            })
            .collect(),
    };
    render(&ctx, &page, StatusCode::OK)
}

struct ChatRow {
    id: String,
    started: String,
    closed: String,
    handle: String,
    rating: String,
}

#[derive(Template)]
#[template(path = "analytics/worked_chats.html")]
struct WorkedChatsPage<'a> {
    ctx: &'a PageCtx,
    heading: String,
    back: String,
    zone_note: String,
    chats: Vec<ChatRow>,
}

/// The chats an agent held for the shop on one market day (the drill-down of a worked
/// day).
#[utoipa::path(
    tag = "pages",
    params(WorkedChatsQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String))
)]
#[get("/seats/worked-hours/chats")]
async fn worked_chats_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<WorkedChatsQuery>,
) -> HttpResponse {
    let (ctx, merchant, _) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let (agent, day) = match timeline_routes::parse_drill_down(&query) {
        Ok(q) => q,
        Err(e) => return error_page(&ctx, e),
    };
    let zone = state.rules().market.time_zone;
    let found = timeline_routes::worked_chats_of(&state, merchant.0.clone(), agent.clone(), day);
    let name = {
        let (merchant, agent) = (merchant.0.clone(), agent.clone());
        state
            .db
            .run(move |conn| super::timeline_store::name_for_shop(conn, &merchant, &agent))
    };
    let (list, name) = match tokio::try_join!(found, async { name.await.map_err(AppError::from) }) {
        Ok(all) => all,
        Err(e) => return error_page(&ctx, e),
    };
    let name = name.unwrap_or_else(|| agent.clone());
    let local = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let page = WorkedChatsPage {
        heading: ctx.t_with(
            "timeline.chats_title",
            [("name", name.as_str()), ("day", day.to_string().as_str())],
        ),
        back: format!("/seats/worked-hours?from={day}&to={day}"),
        zone_note: ctx.t_with("timeline.zone_note", [("zone", zone.name())]),
        chats: list
            .chats
            .iter()
            .map(|c| ChatRow {
                id: c.chat_id.clone(),
                started: local(c.started_at),
                closed: c.closed_at.map_or_else(|| "–".to_owned(), local),
                handle: duration(&ctx, c.handle_secs),
                rating: c.rating.map_or_else(|| "–".to_owned(), |r| r.to_string()),
            })
            .collect(),
        ctx: &ctx,
    };
    render(&ctx, &page, StatusCode::OK)
}

/// The signed-in agent's timeline as CSV (as `GET /api/agents/me/activity.csv`), for the
/// page's download link.
#[utoipa::path(tag = "pages", params(DaysQuery), responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/agent/activity.csv")]
async fn agent_activity_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DaysQuery>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    match activity_report(&state, agent.id.0.clone(), &query).await {
        Ok(report) => match timeline_routes::activity_download(&report) {
            Ok(res) => res,
            Err(e) => agent.error(e),
        },
        Err(e) => agent.error(e),
    }
}

/// Any agent's timeline as CSV, for admins.
#[utoipa::path(tag = "pages", params(("agent_id" = String, Path), DaysQuery), responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/admin/agents/{agent_id}/activity.csv")]
async fn admin_activity_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<DaysQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let res = activity_report(&state, path.into_inner(), &query)
        .await
        .and_then(|r| timeline_routes::activity_download(&r));
    match res {
        Ok(res) => s.finish(res),
        Err(e) => error_page(&s.ctx, e),
    }
}

/// The shop's worked hours as CSV (as `GET /api/merchants/{id}/worked-hours.csv`).
#[utoipa::path(tag = "pages", params(DaysQuery), responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/seats/worked-hours.csv")]
async fn worked_hours_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DaysQuery>,
) -> HttpResponse {
    let (ctx, merchant, _) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let res = worked_hours_report(&state, merchant.0, &query)
        .await
        .and_then(|r| timeline_routes::worked_hours_download(&r));
    match res {
        Ok(res) => res,
        Err(e) => error_page(&ctx, e),
    }
}

#[cfg(test)]
mod tests {
    use super::axis_max;

    #[test]
    fn the_hours_axis_ends_on_an_even_hour_so_its_middle_is_whole() {
        for (values, want) in [
            (vec![], 2.0),
            (vec![0.0, 0.5], 2.0),
            (vec![1.0], 2.0),
            (vec![2.25, 0.1], 4.0),
            (vec![3.0], 4.0),
            (vec![4.0], 4.0),
            (vec![11.5, 7.0], 12.0),
        ] {
            let max = axis_max(values.iter().copied());
            assert_eq!(max, want, "{values:?}");
            assert_eq!((max / 2.0).fract(), 0.0);
            assert!(values.iter().all(|v| *v <= max));
        }
    }
}
