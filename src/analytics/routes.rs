//! The churn report over HTTP, for admins: JSON and the same monthly figures as CSV.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::report::{self, ChurnQuery, ChurnReport};
use super::store;
use crate::auth::Admin;
use crate::error::{AppError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(churn).service(churn_csv);
}

/// The report's range and grouping, as the query string gives them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChurnParams {
    /// First month, `YYYY-MM` (default: the year up to `to`).
    pub from: Option<String>,
    /// Last month, `YYYY-MM`, counted (default: the current month). At most
    /// `max_range_months` of `seat-rules/churn.toml` (60, five years) from `from`.
    pub to: Option<String>,
    /// `none` (default), `skill`, `tenure`, `pay_band` or `quality_band`.
    pub group_by: Option<String>,
}

impl ChurnParams {
    /// The checked query, relative to today in the market's zone.
    pub fn parse(&self, state: &AppState) -> Result<ChurnQuery, AppError> {
        let rules = state.rules();
        report::parse_query(
            self.from.as_deref(),
            self.to.as_deref(),
            self.group_by.as_deref(),
            state.clock.today_in(rules.market.time_zone),
            rules.churn.max_range_months,
        )
    }
}

/// Loads the event log and computes the report (the page calls this too).
pub async fn churn_report(state: &AppState, query: ChurnQuery) -> Result<ChurnReport, AppError> {
    let rules = state.rules();
    let tz = rules.market.time_zone;
    let now = state.clock.now();
    let as_of = state.clock.today_in(tz);
    Ok(state
        .db
        .run(move |conn| -> Result<ChurnReport, AppError> {
            let histories = store::histories(conn, tz, now)?;
            let attrs = store::attributes(conn, tz, query.group_by, query.from, query.to)?;
            Ok(report::report(
                &histories,
                &attrs,
                &rules.churn,
                &query,
                as_of,
                tz.name(),
            ))
        })
        .await?)
}

/// Agent churn and retention by month, from the lifecycle events and the shifts worked:
/// churn rate, active agents at the start and end, churned, new, returning, left and
/// returned within the month, net change and exit reasons; per group when grouped; the
/// cohort retention triangle by certification month and the retention curve. Months are
/// the market's.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(ChurnParams),
    responses(
        (status = 200, body = ChurnReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a malformed month (`invalid_month`), `to` before `from` (`before_from`), a range over the limit (`range_too_long`), an unknown `group_by` (`unknown_value`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/analytics/churn")]
async fn churn(
    state: web::Data<AppState>,
    _admin: Admin,
    params: web::Query<ChurnParams>,
) -> Result<web::Json<ChurnReport>, AppError> {
    let query = params.parse(&state)?;
    Ok(web::Json(churn_report(&state, query).await?))
}

/// The churn report's monthly figures as CSV: a row per month for the whole pool (group
/// `all`), then per group; a column per exit reason (`exits_<reason>`). Same parameters and
/// errors as `GET /api/admin/analytics/churn`.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(ChurnParams),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/analytics/churn.csv")]
async fn churn_csv(
    state: web::Data<AppState>,
    _admin: Admin,
    params: web::Query<ChurnParams>,
) -> Result<HttpResponse, AppError> {
    let query = params.parse(&state)?;
    let report = churn_report(&state, query).await?;
    csv_download(&report)
}

/// The report as a CSV attachment named after its range.
pub fn csv_download(report: &ChurnReport) -> Result<HttpResponse, AppError> {
    let body = report::csv(report).map_err(AppError::Internal)?;
    Ok(crate::payroll::routes::csv_response(
        body,
        &format!("churn-{}-{}.csv", report.from, report.to),
    ))
}
