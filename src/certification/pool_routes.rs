//! JSON API for the talent pool: search it, or download it as CSV.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::pool::{self, After, PoolAgent, PoolFilter, PoolQuery};
use crate::auth::Admin;
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_agents).service(export_agents);
}

/// Agents per database round trip of an export.
const EXPORT_CHUNK: usize = 1000;

/// The talent pool: agents with their profile, certifications and quality, filtered and
/// sorted. An agent's quality is, until QA reviews arrive, the percent of their latest
/// reviewed, passed trial (`trials.percent`); agents without one have none and are left
/// out by `min_quality`. `cursor` continues after the previous page's last agent in the
/// same sort order.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PoolQuery, PageQuery),
    responses(
        (status = 200, body = Page<PoolAgent>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, named in `errors[].field`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents")]
async fn list_agents(
    state: web::Data<AppState>,
    admin: Admin,
    filter: web::Query<PoolQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<PoolAgent>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let filter = pool::resolve(&state, admin.0.id, &filter).await?;
    Ok(web::Json(
        pool::search(&state, filter, cursor, limit).await?,
    ))
}

/// The talent pool as CSV (every agent matching the same filters as `GET
/// /api/admin/agents`, streamed in batches). Dates are UTC ISO 8601; lists are joined
/// with `;`; a cell that would start a spreadsheet formula is prefixed with `'`.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PoolQuery),
    responses(
        (status = 200, description = "CSV with a header row, as an attachment", content_type = "text/csv", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/agents/export.csv")]
async fn export_agents(
    state: web::Data<AppState>,
    admin: Admin,
    filter: web::Query<PoolQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = pool::resolve(&state, admin.0.id, &filter).await?;
    csv_response(state, filter).await
}

/// The CSV download (also served to the admin pages' session).
pub(crate) async fn csv_response(
    state: web::Data<AppState>,
    filter: PoolFilter,
) -> Result<HttpResponse, AppError> {
    // The first batch before answering, so a failure is still a proper error response.
    let first = pool::chunk(&state, filter.clone(), None, EXPORT_CHUNK).await?;
    let name = format!(
        "talent-pool-{}.csv",
        state.clock.now().format("%Y%m%d-%H%M%S")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(csv_stream(state, filter, first)))
}

enum Next {
    First(Vec<PoolAgent>),
    After(After),
    Done,
}

/// The CSV body, one batch of agents at a time. A failure after the first batch ends the
/// response abruptly, so a client never mistakes a cut-off file for a whole one.
fn csv_stream(
    state: web::Data<AppState>,
    filter: PoolFilter,
    first: Vec<PoolAgent>,
) -> impl futures_util::Stream<Item = Result<web::Bytes, AppError>> {
    futures_util::stream::unfold(
        (state, filter, Next::First(first)),
        |(state, filter, next)| async move {
            let (rows, header) = match next {
                Next::Done => return None,
                Next::First(rows) => (rows, true),
                Next::After(after) => {
                    match pool::chunk(&state, filter.clone(), Some(after), EXPORT_CHUNK).await {
                        Ok(rows) => (rows, false),
                        Err(e) => {
                            tracing::error!(error = %e, "talent pool export failed midway");
                            return Some((Err(e), (state, filter, Next::Done)));
                        }
                    }
                }
            };
            let next = match rows.last() {
                Some(last) if rows.len() >= EXPORT_CHUNK => Next::After(last.position(filter.sort)),
                _ => Next::Done,
            };
            let bytes = pool::csv_chunk(&rows, header)
                .map(web::Bytes::from)
                .map_err(AppError::internal);
            Some((bytes, (state, filter, next)))
        },
    )
}
