//! The chat fairness report ([`super::fairness`]) over HTTP. A shop's staff see their own
//! shop's agents, measured on its own shifts and chats only (another shop gets 404, as if
//! nothing existed); admins see every shop's at once, or one shop's.

use actix_web::{get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::fairness::{self, AgentFairness, Period, Sort, Summary};
use super::fairness_store;
use crate::accounts::model::MerchantId;
use crate::auth::{Admin, Caller};
use crate::error::{AppError, FieldErrors, Problem};
use crate::state::AppState;
use crate::web::api::{Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(shop_fairness).service(admin_fairness);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FairnessQuery {
    /// Start of the period, an RFC 3339 instant with a zone (`2026-11-11T00:00:00Z`); by
    /// default 24 hours before `to`.
    pub from: Option<String>,
    /// End of the period (exclusive), by default now; at most 31 days after `from`. Only
    /// the part up to now is measured.
    pub to: Option<String>,
    /// `rate` (default: the lowest first), `available` or `since_last_assignment`; a
    /// leading `-` reverses. Agents without available time have no rate and come last
    /// either way; an agent never assigned has waited longest. Ties by agent id.
    pub sort: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShopFilter {
    /// Only this shop's agents, on its shifts and chats.
    pub merchant_id: Option<String>,
}

/// Fairness of chat routing over a period: the group's figures and a page of agents.
/// Definitions are in the module notes of `src/chat/fairness.rs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FairnessReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Where measuring stopped: `to`, or now while `to` is still ahead.
    pub measured_until: DateTime<Utc>,
    /// Every agent of the report, not only this page.
    pub summary: Summary,
    pub items: Vec<AgentFairness>,
    /// Pass as `cursor` (with the same period and sort) for the next page; absent on the
    /// last page.
    pub next_cursor: Option<String>,
}

/// Checks the query, measures and cuts the page.
async fn report(
    state: &AppState,
    merchant: Option<String>,
    query: FairnessQuery,
    page: PageQuery,
) -> Result<FairnessReport, AppError> {
    let (limit, cursor) = page.parse()?;
    let now = state.clock.now();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref(), now);
    let sort = match query
        .sort
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => Sort::parse(raw),
        None => Ok(Sort::default()),
    };
    let (period, sort) = match (period, sort) {
        (Ok(period), Ok(sort)) => (period, sort),
        (period, sort) => {
            let mut errors = period.err().unwrap_or_else(FieldErrors::new);
            let _: Option<Sort> = errors.check("sort", sort);
            return Err(errors.into());
        }
    };
    let records = match period.measured(now) {
        Some(window) => {
            state
                .db
                .run(move |conn| fairness_store::records(conn, merchant.as_deref(), window, now))
                .await?
        }
        None => Vec::new(),
    };
    let (mut agents, summary) = fairness::measure(period, now, records);
    fairness::sort(&mut agents, sort);
    let rows = fairness::after(agents, cursor.as_deref()).ok_or_else(|| {
        AppError::field(
            "cursor",
            "invalid_cursor",
            "this cursor is not one we issued for this report",
        )
    })?;
    let page = Page::from_rows(rows, limit, |r| r.agent_id.clone(), |r| r);
    let utc = |t: NaiveDateTime| t.and_utc();
    Ok(FairnessReport {
        from: utc(period.from),
        to: utc(period.to),
        measured_until: utc(period.to.min(now).max(period.from)),
        summary,
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// How evenly a shop's chats went to its agents: per agent, available minutes (online and
/// checked in on the shop's shifts), assignments per available hour, offers, declines,
/// timeouts, take-backs, the longest wait and the time since the last assignment; for the
/// group, the mean rate, its spread and the agents starved or flooded.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), FairnessQuery, PageQuery),
    responses(
        (status = 200, body = FairnessReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad period (`invalid_instant`, `period_inverted`, `period_too_long`), sort, limit or cursor, named in `errors[].field`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/chat-fairness")]
async fn shop_fairness(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<FairnessQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<FairnessReport>, AppError> {
    let merchant = path.into_inner();
    crate::accounts::routes::may_see_merchant(&caller, &MerchantId(merchant.clone()))?;
    Ok(web::Json(
        report(
            &state,
            Some(merchant),
            query.into_inner(),
            page.into_inner(),
        )
        .await?,
    ))
}

/// The fairness report across every shop (an agent's checked-in time on any shop's
/// shifts, their offers of any shop's chats), or one shop's with `merchant_id`.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(ShopFilter, FairnessQuery, PageQuery),
    responses(
        (status = 200, body = FairnessReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad period, sort, limit or cursor, named in `errors[].field`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/chat-fairness")]
async fn admin_fairness(
    state: web::Data<AppState>,
    _admin: Admin,
    shop: web::Query<ShopFilter>,
    query: web::Query<FairnessQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<FairnessReport>, AppError> {
    let merchant = shop
        .into_inner()
        .merchant_id
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    Ok(web::Json(
        report(&state, merchant, query.into_inner(), page.into_inner()).await?,
    ))
}
