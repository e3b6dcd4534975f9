//! The agent's pay pages: earnings so far this pay period (the live estimate of
//! `GET /api/agents/me/earnings`), their payslips, and one payslip line by line with a
//! dispute form per line while the window is open, a CSV download and a printable view.
//! Built from the same use cases as the JSON API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::earnings::{self, Earnings};
use super::routes::{csv_response, own_payslip};
use super::service;
use super::store::{self, DisputeRow, LineRow, RunRow};
use crate::certification::exam_pages::{Agent, agent_or_return};
use crate::error::AppError;
use crate::quality::quality_pages::{Shown, dispute_status, points, refusal_text};
use crate::seats::booking::yuan;
use crate::state::AppState;
use crate::web::pages::{PageCtx, check_csrf, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(earnings_page)
        .service(payslips_page)
        .service(payslip_page)
        .service(payslip_csv)
        .service(dispute_line);
}

const PAYSLIPS_PER_PAGE: i64 = 20;

/// A pay line as the pages show it.
struct LineShown {
    id: String,
    what: String,
    units: String,
    rate: String,
    multiplier: String,
    amount: String,
    /// The counts it came from, as (label, value).
    sources: Vec<(String, String)>,
}

fn money(fen: i64) -> String {
    format!("¥{}", yuan(fen))
}

/// A multiplier in basis points: `10000` → `×1`, `12500` → `×1.25`.
fn multiplier(bp: i64) -> String {
    let s = format!("{}.{:04}", bp / 10_000, (bp % 10_000).abs());
    format!("×{}", s.trim_end_matches('0').trim_end_matches('.'))
}

/// A rate of thousandths of a fen as yuan, to the thousandth of a fen when needed.
fn rate(ctx: &PageCtx, kind: &str, millifen: i64) -> String {
    let fen = millifen / 1_000;
    let rest = (millifen % 1_000).abs();
    let amount = if rest == 0 {
        money(fen)
    } else {
        let digits = format!("{rest:03}");
        format!("{}{}", money(fen), digits.trim_end_matches('0'))
    };
    let per = if matches!(kind, "time" | "peak_bonus") {
        "agent_pay.per_hour"
    } else {
        "agent_pay.per_unit"
    };
    ctx.t_with(per, [("rate", amount.as_str())])
}

fn units(ctx: &PageCtx, kind: &str, n: i64) -> String {
    let key = match kind {
        "time" | "peak_bonus" => "agent_pay.units_minutes",
        "piece" | "concurrency" => "agent_pay.units_chats",
        "urgent_bonus" | "no_show" => "agent_pay.units_shifts",
        "level" | "adjustment" => "agent_pay.units_fen",
        _ => "agent_pay.units_plain",
    };
    let shown = if matches!(kind, "level" | "adjustment") {
        money(n)
    } else {
        n.to_string()
    };
    ctx.t_with(key, [("n", shown.as_str())])
}

/// The line's label: its kind, skill and chat kind in the page's language.
fn what(
    state: &AppState,
    ctx: &PageCtx,
    kind: &str,
    skill: Option<&str>,
    chat: Option<&str>,
) -> String {
    let mut out = ctx.t(&format!("agent_pay.kind_{kind}")).into_owned();
    if let Some(s) = skill {
        out.push_str(" · ");
        out.push_str(&state.rules().skill_name(s, ctx.lang));
    }
    if let Some(c) = chat {
        out.push_str(" · ");
        let key = format!("agent_pay.chat_kind_{c}");
        match crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key) {
            Some(t) => out.push_str(&t),
            None => out.push_str(c),
        }
    }
    out
}

fn sources(ctx: &PageCtx, value: &serde_json::Value) -> Vec<(String, String)> {
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let key = format!("agent_pay.source_{k}");
            let label = crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key)
                .map_or_else(|| k.clone(), |t| t.into_owned());
            let shown = match (k.as_str(), v.as_i64()) {
                ("quality_score_x100", Some(s)) => points(u32::try_from(s).unwrap_or(0)),
                ("level_multiplier_bp", Some(bp)) => multiplier(bp),
                ("subtotal_fen" | "bonus_fen_each", Some(fen)) => money(fen),
                _ => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            };
            (label, shown)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn line_shown(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    kind: &str,
    skill: Option<&str>,
    chat: Option<&str>,
    n: i64,
    rate_millifen: i64,
    multiplier_bp: i64,
    amount_fen: i64,
    counts: &serde_json::Value,
) -> LineShown {
    LineShown {
        id: id.to_owned(),
        what: what(state, ctx, kind, skill, chat),
        units: units(ctx, kind, n),
        rate: rate(ctx, kind, rate_millifen),
        multiplier: multiplier(multiplier_bp),
        amount: money(amount_fen),
        sources: sources(ctx, counts),
    }
}

/// The quality score and the piece-rate multiplier it gave (`none_key` without a score).
fn quality_text(ctx: &PageCtx, score: Option<u32>, multiplier_bp: i64, none_key: &str) -> String {
    let m = multiplier(multiplier_bp);
    match score {
        Some(s) => ctx.t_with(
            "agent_pay.quality_so_far",
            [("score", points(s).as_str()), ("multiplier", m.as_str())],
        ),
        None => ctx.t_with(none_key, [("multiplier", m.as_str())]),
    }
}

// ---------------------------------------------------------------- earnings so far

#[derive(Template)]
#[template(path = "agents/earnings.html")]
struct EarningsPage<'a> {
    ctx: &'a PageCtx,
    period: String,
    as_of: String,
    minutes: String,
    chats: String,
    quality: String,
    lines: Vec<LineShown>,
    total: String,
}

fn earnings_view<'a>(state: &AppState, agent: &'a Agent, e: &Earnings) -> EarningsPage<'a> {
    let ctx = &agent.ctx;
    let lines = e
        .lines
        .iter()
        .map(|l| {
            line_shown(
                state,
                ctx,
                "",
                &l.kind,
                l.skill.as_deref(),
                l.chat_kind.as_deref(),
                l.units,
                l.rate_millifen,
                i64::from(l.multiplier_bp),
                l.amount_fen,
                &l.sources,
            )
        })
        .collect();
    EarningsPage {
        ctx,
        period: ctx.t_with(
            "agent_pay.earnings_period",
            [
                ("from", e.period_from.to_string().as_str()),
                ("to", e.period_to.to_string().as_str()),
            ],
        ),
        as_of: ctx.t_with(
            "agent_pay.as_of",
            [("when", agent.time_zoned(e.as_of).as_str())],
        ),
        minutes: format!("{} h {:02} min", e.minutes / 60, e.minutes % 60),
        chats: e.chats.to_string(),
        quality: quality_text(
            ctx,
            e.quality_score_x100,
            i64::from(e.quality_multiplier_bp),
            "agent_pay.quality_none_yet",
        ),
        lines,
        total: money(e.total_fen),
    }
}

/// The signed-in agent's earnings so far this pay period: a live estimate.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/agent/earnings")]
async fn earnings_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    match earnings::of_agent(&state, agent.id.clone()).await {
        Ok(e) => render(
            &agent.ctx,
            &earnings_view(&state, &agent, &e),
            StatusCode::OK,
        ),
        Err(e) => agent.error(e),
    }
}

// ---------------------------------------------------------------- payslips

struct SlipRow {
    href: String,
    period: String,
    status: String,
    total: String,
}

#[derive(Template)]
#[template(path = "agents/payslips.html")]
struct PayslipsPage<'a> {
    ctx: &'a PageCtx,
    rows: Vec<SlipRow>,
    older: Option<String>,
}

fn status_label(ctx: &PageCtx, status: &str) -> String {
    ctx.t(&format!("agent_pay.run_{status}")).into_owned()
}

#[derive(Deserialize)]
struct ListParams {
    before: Option<String>,
}

/// The signed-in agent's payslips (published runs and later), newest first.
#[utoipa::path(tag = "pages", params(("before" = Option<String>, Query, description = "Payslips of runs older than this one")), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/agent/payslips")]
async fn payslips_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let me = agent.id.clone();
    let before = params.before.clone().filter(|b| !b.is_empty());
    let rows = state
        .db
        .run(move |conn| {
            store::agent_payslips(conn, me.as_str(), before.as_deref(), PAYSLIPS_PER_PAGE + 1)
        })
        .await
        .map_err(AppError::from);
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return agent.error(e),
    };
    let ctx = &agent.ctx;
    let older = (rows.len() as i64 > PAYSLIPS_PER_PAGE)
        .then(|| {
            rows.get(PAYSLIPS_PER_PAGE as usize - 1)
                .map(|(_, r)| r.id.clone())
        })
        .flatten();
    let rows = rows
        .iter()
        .take(PAYSLIPS_PER_PAGE as usize)
        .map(|(slip, run)| SlipRow {
            href: format!("/agent/payslips/{}", run.id),
            period: format!("{} – {}", run.period_from, run.period_to),
            status: status_label(ctx, &run.status),
            total: money(slip.total_fen),
        })
        .collect();
    render(ctx, &PayslipsPage { ctx, rows, older }, StatusCode::OK)
}

struct PayLineShown {
    line: LineShown,
    note: Option<String>,
    /// The dispute's status, reason and answer.
    dispute: Option<(String, String, Option<String>)>,
    /// What the agent typed, kept when the dispute was refused.
    draft: String,
}

#[derive(Template)]
#[template(path = "agents/payslip.html")]
struct PayslipPage<'a> {
    ctx: &'a PageCtx,
    run_id: String,
    period: String,
    status: String,
    window: Option<String>,
    /// Disputes are taken (published, window open).
    open: bool,
    quality: String,
    level: String,
    minutes: String,
    chats: String,
    lines: Vec<PayLineShown>,
    total: String,
    print: bool,
    notice: Option<String>,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct SlipParams {
    /// `1`: the print layout (no navigation, no forms).
    print: Option<String>,
    /// A line just disputed.
    disputed: Option<String>,
}

async fn payslip_response(
    state: &AppState,
    agent: &Agent,
    run_id: String,
    params: &SlipParams,
    shown: Shown,
    status: StatusCode,
) -> HttpResponse {
    let (run, slip, lines): (RunRow, _, Vec<LineRow>) =
        match own_payslip(state, agent.id.clone(), run_id).await {
            Ok(found) => found,
            Err(e) => return agent.error(e),
        };
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let disputes = state
        .db
        .run(move |conn| {
            ids.iter()
                .map(|id| store::dispute_of_line(conn, id))
                .collect::<Result<Vec<Option<DisputeRow>>, _>>()
        })
        .await
        .map_err(AppError::from);
    let disputes = match disputes {
        Ok(d) => d,
        Err(e) => return agent.error(e),
    };
    let ctx = &agent.ctx;
    let now = state.clock.now();
    let open = run.status == "published" && run.dispute_until.is_some_and(|until| now <= until);
    let shown_lines = lines
        .iter()
        .zip(disputes)
        .map(|(l, d)| PayLineShown {
            line: line_shown(
                state,
                ctx,
                &l.id,
                &l.kind,
                l.skill.as_deref(),
                l.chat_kind.as_deref(),
                l.units,
                l.rate_millifen,
                i64::from(l.multiplier_bp),
                l.amount_fen,
                &serde_json::from_str(&l.sources).unwrap_or_default(),
            ),
            note: l.note.clone(),
            dispute: d.map(|d| (dispute_status(ctx, &d.status), d.reason, d.answer)),
            draft: shown
                .draft
                .as_ref()
                .filter(|(id, _)| id == &l.id)
                .map(|(_, t)| t.clone())
                .unwrap_or_default(),
        })
        .collect();
    let window = run.dispute_until.map(|until| {
        ctx.t_with(
            if open {
                "agent_pay.line_dispute_until"
            } else {
                "agent_pay.line_dispute_closed"
            },
            [("when", agent.time_zoned(until.and_utc()).as_str())],
        )
    });
    let notice = shown.notice.or_else(|| {
        params
            .disputed
            .as_ref()
            .map(|_| ctx.t("agent_pay.line_disputed").into_owned())
    });
    let page = PayslipPage {
        ctx,
        run_id: run.id.clone(),
        period: format!("{} – {}", run.period_from, run.period_to),
        status: status_label(ctx, &run.status),
        window,
        open,
        quality: quality_text(
            ctx,
            slip.quality_score_x100.and_then(|s| u32::try_from(s).ok()),
            i64::from(slip.quality_multiplier_bp),
            "agent_pay.quality_none",
        ),
        level: ctx.t_with(
            "agent_pay.level_line",
            [
                ("level", slip.level.to_string().as_str()),
                (
                    "multiplier",
                    multiplier(i64::from(slip.level_multiplier_bp)).as_str(),
                ),
            ],
        ),
        minutes: format!("{} h {:02} min", slip.minutes / 60, slip.minutes % 60),
        chats: slip.chats.to_string(),
        lines: shown_lines,
        total: money(slip.total_fen),
        print: params.print.as_deref() == Some("1"),
        notice,
        errors: shown.errors,
    };
    agent.finish(render(ctx, &page, status))
}

/// One of the signed-in agent's payslips: its lines with the counts each came from, the
/// total, the run's status and dispute window; `?print=1` is the print layout.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path), ("print" = Option<String>, Query, description = "`1`: the print layout")), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 404, description = "No such run, not published, or no payslip of yours in it", content_type = "text/html", body = String)))]
#[get("/agent/payslips/{run_id}")]
async fn payslip_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<SlipParams>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let shown = Shown::nothing();
    payslip_response(
        &state,
        &agent,
        path.into_inner(),
        &params,
        shown,
        StatusCode::OK,
    )
    .await
}

/// The payslip as CSV for the browser (session cookie), the same file as
/// `GET /api/agents/me/payslips/{run_id}.csv`.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path)), responses((status = 200, description = "CSV with a header row", content_type = "text/csv", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/agent/payslips/{run_id}/csv")]
async fn payslip_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let (run, _, lines) = match own_payslip(&state, agent.id.clone(), path.into_inner()).await {
        Ok(found) => found,
        Err(e) => return agent.error(e),
    };
    match service::payslip_csv(&lines) {
        Ok(body) => csv_response(body, &format!("payslip-{}.csv", run.period_from)),
        Err(e) => agent.error(AppError::Internal(e)),
    }
}

#[derive(Deserialize)]
struct LineDisputeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    line: String,
    #[serde(default)]
    reason: String,
}

/// Disputes one line of the agent's payslip (published runs, within the window, each line
/// once); refusals are shown on the payslip beside the line.
#[utoipa::path(tag = "pages", params(("run_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Disputed: back to the payslip"), (status = 404, content_type = "text/html", body = String), (status = 409, description = "Disputed already, or the window closed", content_type = "text/html", body = String), (status = 422, description = "No reason, or not a line of this payslip", content_type = "text/html", body = String)))]
#[post("/agent/payslips/{run_id}/disputes")]
async fn dispute_line(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<LineDisputeForm>,
) -> HttpResponse {
    let run_id = path.into_inner();
    let back = format!("/agent/payslips/{run_id}");
    let agent = agent_or_return!(Agent::of_form(&state, &req, &back).await);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return agent.error(e);
    }
    let form = form.into_inner();
    let (me, run, line, reason) = (
        agent.id.clone(),
        run_id.clone(),
        form.line.clone(),
        form.reason.clone(),
    );
    let now = state.clock.now();
    let done = state
        .db
        .run(move |conn| service::dispute(conn, &me, &run, &line, &reason, now))
        .await
        .map_err(AppError::from);
    let err = match done {
        Ok(_) => {
            return agent.finish(redirect(&format!(
                "{back}?disputed={}#line-{}",
                form.line, form.line
            )));
        }
        Err(e) => e,
    };
    let line = form.line.clone();
    let (code, anchor, status) = match &err {
        AppError::Validation(fields) => {
            let f = fields.first();
            let code = f.map_or("other", |f| f.code.as_str()).to_owned();
            let anchor = match f.map(|f| f.field.as_str()) {
                Some("reason") => format!("reason-{line}"),
                _ => "lines".to_owned(),
            };
            (code, anchor, StatusCode::UNPROCESSABLE_ENTITY)
        }
        AppError::Conflict { code, .. } => (
            (*code).to_owned(),
            format!("line-{line}"),
            StatusCode::CONFLICT,
        ),
        _ => return agent.error(err),
    };
    let text = refusal_text(&agent.ctx, &code);
    let shown = Shown {
        notice: None,
        errors: vec![(anchor, text)],
        draft: Some((line, form.reason)),
    };
    payslip_response(
        &state,
        &agent,
        run_id,
        &SlipParams::default(),
        shown,
        status,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers_drop_trailing_zeros() {
        assert_eq!(multiplier(10_000), "×1");
        assert_eq!(multiplier(12_500), "×1.25");
        assert_eq!(multiplier(8_000), "×0.8");
        assert_eq!(multiplier(10_333), "×1.0333");
    }

    #[test]
    fn money_is_yuan_with_two_decimals() {
        assert_eq!(money(1_680), "¥16.80");
        assert_eq!(money(-300), "¥-3.00");
    }
}
