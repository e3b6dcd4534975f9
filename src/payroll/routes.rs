//! Payroll over HTTP. Admins create, inspect, publish, approve and pay runs, export the
//! bank file and settle disputes; an agent sees only their own payslips, and only of
//! published (or later) runs; shops see nothing of payroll.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::adjustments::{self, AdjustmentRequest};
use super::service::{self, Resolution, Summary};
use super::store::{self, AdjustmentRow, DisputeRow, LineRow, PayslipRow, RunRow};
use crate::accounts::model::AccountId;
use crate::auth::{Admin, AgentSession};
use crate::error::{AppError, FieldErrors, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_run)
        .service(list_runs)
        .service(run_detail)
        .service(run_payslips)
        .service(recompute)
        .service(publish)
        .service(approve)
        .service(mark_paid)
        .service(bank_file)
        .service(list_disputes)
        .service(resolve_dispute)
        .service(add_adjustment)
        .service(list_adjustments)
        .service(my_payslips)
        .service(my_payslip_csv)
        .service(my_payslip)
        .service(dispute_line);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    /// First and last day of the period (local dates in the market's zone).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The same period as instants.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `computing`, `draft`, `published`, `approved`, `paid` or `failed`.
    pub status: String,
    pub ruleset_version: String,
    pub total_fen: i64,
    pub agent_count: i32,
    /// Agents computed so far, of `progress_total`, while computing.
    pub progress_done: i32,
    pub progress_total: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub computed_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub dispute_until: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub payout_reference: Option<String>,
    /// Why computing failed.
    pub error: Option<String>,
}

impl From<&RunRow> for RunView {
    fn from(r: &RunRow) -> Self {
        let utc = |t: chrono::NaiveDateTime| t.and_utc();
        RunView {
            id: r.id.clone(),
            from: r.period_from,
            to: r.period_to,
            starts_at: utc(r.starts_at),
            ends_at: utc(r.ends_at),
            status: r.status.clone(),
            ruleset_version: r.ruleset_version.clone(),
            total_fen: r.total_fen,
            agent_count: r.agent_count,
            progress_done: r.progress_done,
            progress_total: r.progress_total,
            created_by: r.created_by.clone(),
            created_at: utc(r.created_at),
            computed_at: r.computed_at.map(utc),
            published_at: r.published_at.map(utc),
            dispute_until: r.dispute_until.map(utc),
            approved_by: r.approved_by.clone(),
            approved_at: r.approved_at.map(utc),
            paid_at: r.paid_at.map(utc),
            payout_reference: r.payout_reference.clone(),
            error: r.error.clone(),
        }
    }
}

/// What changed since the previous run (the latest of an earlier period).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDiff {
    pub previous_run_id: String,
    pub total_fen_change: i64,
    pub agent_count_change: i32,
    /// Per skill: pay now minus pay then.
    pub skills: Vec<SkillChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkillChange {
    pub skill: String,
    pub pay_fen_change: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunView,
    /// Per skill and per shop: what the platform pays, what shops paid, the margin.
    pub summary: Summary,
    pub diff: Option<RunDiff>,
}

fn summary_of(run: &RunRow) -> Summary {
    serde_json::from_str(&run.summary).unwrap_or_default()
}

pub(crate) fn diff(run: &RunRow, prev: &RunRow) -> RunDiff {
    let now = summary_of(run);
    let then = summary_of(prev);
    let mut skills: std::collections::BTreeMap<String, i64> = Default::default();
    for t in &now.skills {
        *skills.entry(t.key.clone()).or_default() += t.pay_fen;
    }
    for t in &then.skills {
        *skills.entry(t.key.clone()).or_default() -= t.pay_fen;
    }
    RunDiff {
        previous_run_id: prev.id.clone(),
        total_fen_change: run.total_fen - prev.total_fen,
        agent_count_change: run.agent_count - prev.agent_count,
        skills: skills
            .into_iter()
            .map(|(skill, pay_fen_change)| SkillChange {
                skill,
                pay_fen_change,
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRunInput {
    /// First day of the period, `YYYY-MM-DD` (market's zone).
    pub from: String,
    /// Last day, included.
    pub to: String,
}

fn parse_date(errors: &mut FieldErrors, field: &str, raw: &str) -> Option<NaiveDate> {
    errors.check(
        field,
        NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| crate::error::Invalid::new("invalid_date", "a date is YYYY-MM-DD")),
    )
}

/// Starts computing the run in the background; its row shows the progress.
pub(crate) fn start_compute(state: &web::Data<AppState>, run_id: String) {
    let state = state.clone();
    tokio::spawn(async move {
        let rules = state.rules();
        let now = state.clock.now();
        let result = state
            .db
            .run(move |conn| {
                service::compute(conn, &run_id, &rules, now);
                Ok::<_, AppError>(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "payroll computation did not run");
        }
    });
}

/// Creates a payroll run for a period and computes it in the background (poll the run
/// for progress; it becomes a `draft`, or `failed` with nothing written).
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    request_body = NewRunInput,
    responses(
        (status = 202, body = RunView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_overlaps`: a run (not failed) covers part of the period", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_date`, `period_inverted` (naming `to`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/runs")]
async fn create_run(
    state: web::Data<AppState>,
    admin: Admin,
    body: ApiJson<NewRunInput>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::new();
    let from = parse_date(&mut errors, "from", &body.0.from);
    let to = parse_date(&mut errors, "to", &body.0.to);
    let (Some(from), Some(to)) = (from, to) else {
        return Err(errors.into());
    };
    let rules = state.rules();
    let now = state.clock.now();
    let me: AccountId = admin.0.id;
    let run = state
        .db
        .run(move |conn| {
            let id = service::create_run(conn, &me, from, to, &rules, now)?;
            store::run(conn, &id)?.ok_or(AppError::NotFound)
        })
        .await?;
    start_compute(&state, run.id.clone());
    Ok(HttpResponse::Accepted().json(RunView::from(&run)))
}

/// Runs, newest first.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<RunView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/payroll/runs")]
async fn list_runs(
    state: web::Data<AppState>,
    _admin: Admin,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<RunView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .run(move |conn| store::runs(conn, cursor.as_deref(), limit + 1))
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| RunView::from(&r),
    )))
}

/// A run: status, progress, totals per skill and per shop (the margin), and the change
/// since the previous run.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, body = RunDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/payroll/runs/{run_id}")]
async fn run_detail(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<RunDetail>, AppError> {
    let id = path.into_inner();
    let (run, prev) = state
        .db
        .run(move |conn| {
            let run = store::run(conn, &id)?.ok_or(AppError::NotFound)?;
            let prev = store::previous_run(conn, &run)?;
            Ok::<_, AppError>((run, prev))
        })
        .await?;
    Ok(web::Json(RunDetail {
        run: RunView::from(&run),
        summary: summary_of(&run),
        diff: prev.map(|p| diff(&run, &p)),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayslipView {
    pub run_id: String,
    pub agent_id: String,
    pub total_fen: i64,
    /// The period's quality score in hundredths (9100 = 91), if any.
    pub quality_score_x100: Option<i32>,
    pub quality_multiplier_bp: i32,
    pub level: i32,
    pub level_multiplier_bp: i32,
    pub minutes: i64,
    pub chats: i64,
    pub mailed_at: Option<DateTime<Utc>>,
}

impl From<&PayslipRow> for PayslipView {
    fn from(p: &PayslipRow) -> Self {
        PayslipView {
            run_id: p.run_id.clone(),
            agent_id: p.agent_id.clone(),
            total_fen: p.total_fen,
            quality_score_x100: p.quality_score_x100,
            quality_multiplier_bp: p.quality_multiplier_bp,
            level: p.level,
            level_multiplier_bp: p.level_multiplier_bp,
            minutes: p.minutes,
            chats: p.chats,
            mailed_at: p.mailed_at.map(|t| t.and_utc()),
        }
    }
}

/// A run's payslips, by agent id.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id"), PageQuery),
    responses(
        (status = 200, body = Page<PayslipView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/payroll/runs/{run_id}/payslips")]
async fn run_payslips(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<PayslipView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let id = path.into_inner();
    let rows = state
        .db
        .run(move |conn| {
            store::run(conn, &id)?.ok_or(AppError::NotFound)?;
            Ok::<_, AppError>(store::payslips_with_names(
                conn,
                &id,
                cursor.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |(r, _)| r.agent_id.clone(),
        |(r, _)| PayslipView::from(&r),
    )))
}

/// Computes a draft (or a failed run) again from the same period's data (same inputs,
/// same lines).
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    responses(
        (status = 202, body = RunView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_locked` (approved), `not_draft` (published, computing), `run_overlaps` (a failed run whose period another run took meanwhile)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/runs/{run_id}/recompute")]
async fn recompute(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let me = admin.0.id;
    let now = state.clock.now();
    let run = state
        .db
        .run(move |conn| {
            service::recompute(conn, &me, &id, now)?;
            store::run(conn, &id)?.ok_or(AppError::NotFound)
        })
        .await?;
    start_compute(&state, run.id.clone());
    Ok(HttpResponse::Accepted().json(RunView::from(&run)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublishQuery {
    /// How long agents may dispute lines, in hours (1-720, default 48).
    pub dispute_window_hours: Option<u32>,
}

/// Publishes a draft: each agent sees and is mailed their draft payslip, and may dispute
/// its lines until the window closes.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id"), PublishQuery),
    responses(
        (status = 200, body = RunView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`run_locked` (approved), `not_draft`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`out_of_range` naming `dispute_window_hours`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/runs/{run_id}/publish")]
async fn publish(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    query: web::Query<PublishQuery>,
) -> Result<web::Json<RunView>, AppError> {
    let hours = service::dispute_window(query.dispute_window_hours)?;
    let id = path.into_inner();
    let me = admin.0.id;
    let now = state.clock.now();
    let url = state.public_url.clone();
    let run = state
        .db
        .run(move |conn| service::publish(conn, &me, &id, hours, &url, now))
        .await?;
    state.wake_outbox();
    Ok(web::Json(RunView::from(&run)))
}

/// Approves a published run: locked from now on (corrections go into a later run); each
/// agent is mailed their payslip.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, body = RunView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`disputes_open`, `already_approved`, `not_published`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/runs/{run_id}/approve")]
async fn approve(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<RunView>, AppError> {
    let id = path.into_inner();
    let me = admin.0.id;
    let now = state.clock.now();
    let url = state.public_url.clone();
    let run = state
        .db
        .run(move |conn| service::approve(conn, &me, &id, &url, now))
        .await?;
    state.wake_outbox();
    Ok(web::Json(RunView::from(&run)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkPaidInput {
    /// The bank's reference of the payout batch.
    pub reference: String,
}

/// Records that an approved run was paid out.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    request_body = MarkPaidInput,
    responses(
        (status = 200, body = RunView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_approved`, `already_paid`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`required` naming `reference`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/runs/{run_id}/mark-paid")]
async fn mark_paid(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<MarkPaidInput>,
) -> Result<web::Json<RunView>, AppError> {
    let id = path.into_inner();
    let me = admin.0.id;
    let now = state.clock.now();
    let reference = body.0.reference;
    let run = state
        .db
        .run(move |conn| service::mark_paid(conn, &me, &id, &reference, now))
        .await?;
    Ok(web::Json(RunView::from(&run)))
}

pub(crate) fn csv_response(body: String, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

/// The bank transfer file of an approved run: agent, payee name, amount in yuan (two
/// decimals), reference.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_approved`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/payroll/runs/{run_id}/bank-file.csv")]
async fn bank_file(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let me = admin.0.id;
    let now = state.clock.now();
    let (body, from) = state
        .db
        .run(move |conn| {
            let body = service::bank_file(conn, &id)?;
            let run = store::run(conn, &id)?.ok_or(AppError::NotFound)?;
            crate::audit::record(
                conn,
                crate::audit::AuditEntry {
                    actor: Some(&me),
                    action: "payroll.bank_file_exported",
                    target_type: "payroll_run",
                    target_id: Some(&id),
                    details: serde_json::json!({}),
                },
                now,
            )?;
            Ok::<_, AppError>((body, run.period_from))
        })
        .await?;
    Ok(csv_response(body, &format!("bank-transfers-{from}.csv")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: String,
    pub run_id: String,
    pub agent_id: String,
    pub line_id: String,
    pub reason: String,
    /// `open`, `accepted` or `rejected`.
    pub status: String,
    pub answer: Option<String>,
    pub adjusted_fen: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<&DisputeRow> for DisputeView {
    fn from(d: &DisputeRow) -> Self {
        DisputeView {
            id: d.id.clone(),
            run_id: d.run_id.clone(),
            agent_id: d.agent_id.clone(),
            line_id: d.line_id.clone(),
            reason: d.reason.clone(),
            status: d.status.clone(),
            answer: d.answer.clone(),
            adjusted_fen: d.adjusted_fen,
            created_at: d.created_at.and_utc(),
            resolved_by: d.resolved_by.clone(),
            resolved_at: d.resolved_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisputeFilter {
    pub run_id: Option<String>,
    /// `open`, `accepted` or `rejected`.
    pub status: Option<String>,
}

/// Disputes of pay lines, newest first.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(DisputeFilter, PageQuery),
    responses(
        (status = 200, body = Page<DisputeView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/payroll/disputes")]
async fn list_disputes(
    state: web::Data<AppState>,
    _admin: Admin,
    filter: web::Query<DisputeFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<DisputeView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let DisputeFilter { run_id, status } = filter.into_inner();
    if status
        .as_deref()
        .is_some_and(|s| !["open", "accepted", "rejected"].contains(&s))
    {
        return Err(AppError::field(
            "status",
            "invalid_status",
            "status is open, accepted or rejected",
        ));
    }
    let rows = state
        .db
        .run(move |conn| {
            store::disputes(
                conn,
                run_id.as_deref(),
                status.as_deref(),
                cursor.as_deref(),
                limit + 1,
            )
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| DisputeView::from(&r),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// `accept` (the line becomes `amount_fen`) or `reject` (with an `answer`).
    pub decision: String,
    pub amount_fen: Option<i64>,
    pub answer: Option<String>,
}

/// Settles a dispute: accepted, the line is set to the adjusted amount (and the payslip's
/// and run's totals with it); rejected, with an answer to the agent.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("dispute_id" = String, Path, description = "The dispute's id")),
    request_body = ResolveInput,
    responses(
        (status = 204, description = "Resolved"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`dispute_resolved`, `run_locked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_decision`, `required` (`amount_fen` to accept, `answer` to reject)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/disputes/{dispute_id}/resolve")]
async fn resolve_dispute(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: ApiJson<ResolveInput>,
) -> Result<HttpResponse, AppError> {
    let ResolveInput {
        decision,
        amount_fen,
        answer,
    } = body.0;
    let answer = answer
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let resolution = match (decision.as_str(), amount_fen, answer) {
        ("accept", Some(amount_fen), answer) => Resolution::Accept { amount_fen, answer },
        ("accept", None, _) => {
            return Err(AppError::field(
                "amount_fen",
                "required",
                "accepting sets the line's amount",
            ));
        }
        ("reject", _, Some(answer)) => Resolution::Reject { answer },
        ("reject", _, None) => {
            return Err(AppError::field(
                "answer",
                "required",
                "a rejection answers the agent",
            ));
        }
        _ => {
            return Err(AppError::field(
                "decision",
                "invalid_decision",
                "decision is accept or reject",
            ));
        }
    };
    let id = path.into_inner();
    let me = admin.0.id;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| service::resolve(conn, &me, &id, &resolution, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentView {
    pub id: String,
    pub agent_id: String,
    /// Signed fen: negative is a deduction.
    pub amount_fen: i64,
    pub reason: String,
    /// The approved run this corrects, if named.
    pub from_run_id: Option<String>,
    /// The dispute it settles, if any.
    pub dispute_id: Option<String>,
    /// `pending` until a run takes it, then `applied` (in `applied_run_id`).
    pub status: String,
    pub applied_run_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<&AdjustmentRow> for AdjustmentView {
    fn from(a: &AdjustmentRow) -> Self {
        AdjustmentView {
            id: a.id.clone(),
            agent_id: a.agent_id.clone(),
            amount_fen: a.amount_fen,
            reason: a.reason.clone(),
            from_run_id: a.from_run_id.clone(),
            dispute_id: a.dispute_id.clone(),
            status: if a.applied_run_id.is_some() {
                "applied"
            } else {
                "pending"
            }
            .to_owned(),
            applied_run_id: a.applied_run_id.clone(),
            created_by: a.created_by.clone(),
            created_at: a.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// The agent's account id.
    pub agent_id: String,
    /// Signed fen, not zero: positive pays more, negative deducts.
    pub amount_fen: i64,
    /// Why; the agent reads it (1-500 characters).
    pub reason: String,
    /// The approved (or paid) run this corrects.
    pub from_run_id: Option<String>,
}

/// Adds a correction that the agent's next computed run carries as an adjustment line
/// (approved runs never change); the agent is mailed.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    request_body = AdjustmentInput,
    responses(
        (status = 201, body = AdjustmentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`zero_amount` naming `amount_fen`, `required` naming `reason`, `unknown_run` / `run_not_approved` naming `from_run_id`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/payroll/adjustments")]
async fn add_adjustment(
    state: web::Data<AppState>,
    admin: Admin,
    body: ApiJson<AdjustmentInput>,
) -> Result<HttpResponse, AppError> {
    let AdjustmentInput {
        agent_id,
        amount_fen,
        reason,
        from_run_id,
    } = body.0;
    let req = AdjustmentRequest {
        agent_id,
        amount_fen,
        reason,
        from_run_id,
    };
    let me = admin.0.id;
    let now = state.clock.now();
    let url = state.public_url.clone();
    let row = state
        .db
        .run(move |conn| adjustments::add(conn, &me, &req, &url, now))
        .await?;
    state.wake_outbox();
    Ok(HttpResponse::Created().json(AdjustmentView::from(&row)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdjustmentFilter {
    pub agent_id: Option<String>,
    /// `pending` (no run took it yet) or `applied`.
    pub status: Option<String>,
}

impl AdjustmentFilter {
    /// The status filter as "pending?".
    pub fn pending(&self) -> Result<Option<bool>, AppError> {
        match self.status.as_deref() {
            None | Some("") => Ok(None),
            Some("pending") => Ok(Some(true)),
            Some("applied") => Ok(Some(false)),
            Some(_) => Err(AppError::field(
                "status",
                "invalid_status",
                "status is pending or applied",
            )),
        }
    }
}

/// Adjustments, newest first.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(AdjustmentFilter, PageQuery),
    responses(
        (status = 200, body = Page<AdjustmentView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_status`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/payroll/adjustments")]
async fn list_adjustments(
    state: web::Data<AppState>,
    _admin: Admin,
    filter: web::Query<AdjustmentFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<AdjustmentView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let pending = filter.pending()?;
    let agent = filter.into_inner().agent_id;
    let rows = state
        .db
        .run(move |conn| {
            store::adjustments(
                conn,
                agent.as_deref(),
                pending,
                cursor.as_deref(),
                limit + 1,
            )
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| AdjustmentView::from(&r),
    )))
}

/// An agent's payslip in a run they may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPayslip {
    pub run: RunView,
    pub payslip: PayslipView,
    pub lines: Vec<LineView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub id: String,
    pub position: i32,
    /// `time`, `piece`, `concurrency`, `peak_bonus`, `urgent_bonus`, `level`, `no_show` or
    /// `adjustment`.
    pub kind: String,
    pub skill: Option<String>,
    pub chat_kind: Option<String>,
    /// Minutes for `time` and `peak_bonus` (rate per hour), else chats, shifts or fen.
    pub units: i64,
    /// Thousandths of a fen per unit.
    pub rate_millifen: i64,
    pub multiplier_bp: i32,
    pub amount_fen: i64,
    pub note: Option<String>,
    /// The counts this line came from.
    #[schema(value_type = Object)]
    pub sources: serde_json::Value,
    /// The line as words: units × rate × multiplier = amount.
    pub explained: String,
}

impl From<&LineRow> for LineView {
    fn from(l: &LineRow) -> Self {
        LineView {
            id: l.id.clone(),
            position: l.position,
            kind: l.kind.clone(),
            skill: l.skill.clone(),
            chat_kind: l.chat_kind.clone(),
            units: l.units,
            rate_millifen: l.rate_millifen,
            multiplier_bp: l.multiplier_bp,
            amount_fen: l.amount_fen,
            note: l.note.clone(),
            sources: serde_json::from_str(&l.sources).unwrap_or_default(),
            explained: service::line_text(l),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyPayslipSummary {
    pub run: RunView,
    pub payslip: PayslipView,
}

/// The signed-in agent's payslips of published (or later) runs, newest first.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<MyPayslipSummary>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/payslips")]
async fn my_payslips(
    state: web::Data<AppState>,
    agent: AgentSession,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<MyPayslipSummary>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let me = agent.0.id;
    let rows = state
        .db
        .run(move |conn| store::agent_payslips(conn, me.as_str(), cursor.as_deref(), limit + 1))
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |(_, run)| run.id.clone(),
        |(slip, run)| MyPayslipSummary {
            run: RunView::from(&run),
            payslip: PayslipView::from(&slip),
        },
    )))
}

/// The agent's own payslip of a visible run, or 404.
pub(crate) async fn own_payslip(
    state: &AppState,
    me: AccountId,
    run_id: String,
) -> Result<(RunRow, PayslipRow, Vec<LineRow>), AppError> {
    state
        .db
        .run(move |conn| {
            let run = store::run(conn, &run_id)?
                .filter(|r| store::VISIBLE.contains(&r.status.as_str()))
                .ok_or(AppError::NotFound)?;
            let slip = store::payslip(conn, &run_id, me.as_str())?.ok_or(AppError::NotFound)?;
            let lines = store::lines(conn, &run_id, me.as_str())?;
            Ok::<_, AppError>((run, slip, lines))
        })
        .await
        .map_err(AppError::from)
}

/// The signed-in agent's payslip of a run, line by line with the counts each came from.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, body = MyPayslip),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run, not published yet, or no payslip of yours in it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/payslips/{run_id}")]
async fn my_payslip(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<web::Json<MyPayslip>, AppError> {
    let (run, slip, lines) = own_payslip(&state, agent.0.id, path.into_inner()).await?;
    Ok(web::Json(MyPayslip {
        run: RunView::from(&run),
        payslip: PayslipView::from(&slip),
        lines: lines.iter().map(LineView::from).collect(),
    }))
}

/// The signed-in agent's payslip as CSV, one row per line.
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agents/me/payslips/{run_id}.csv")]
async fn my_payslip_csv(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (run, _, lines) = own_payslip(&state, agent.0.id, path.into_inner()).await?;
    let body = service::payslip_csv(&lines).map_err(AppError::Internal)?;
    Ok(csv_response(
        body,
        &format!("payslip-{}.csv", run.period_from),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeInput {
    /// The line's id.
    pub line: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeCreated {
    pub id: String,
}

/// Disputes one line of the agent's payslip (published runs, within the window; each line
/// once).
#[utoipa::path(
    tag = "payroll",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = "The run's id")),
    request_body = DisputeInput,
    responses(
        (status = 201, body = DisputeCreated),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_disputed`, `dispute_window_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_line` naming `line`, `required` naming `reason`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/agents/me/payslips/{run_id}/disputes")]
async fn dispute_line(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    body: ApiJson<DisputeInput>,
) -> Result<HttpResponse, AppError> {
    let run_id = path.into_inner();
    let me = agent.0.id;
    let now = state.clock.now();
    let DisputeInput { line, reason } = body.0;
    let id = state
        .db
        .run(move |conn| service::dispute(conn, &me, &run_id, &line, &reason, now))
        .await?;
    Ok(HttpResponse::Created().json(DisputeCreated { id }))
}
