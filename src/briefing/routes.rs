//! JSON API of the briefing: the shop edits its briefing and quick replies under
//! `/api/merchant/...` (staff for their own shop, admins for the shop named by
//! `merchant_id`), and an agent on the shop's seats reads both.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{
    AgentBriefing, BRIEFING_BODY_LIMIT, BriefingView, QuickReplyInput, QuickReplyView,
    ReorderRequest, RevisionView, SaveBriefing,
};
use super::service::{self, Editor};
use crate::accounts::model::{MerchantId, Role};
use crate::auth::{AgentSession, Caller};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery, read_json};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_briefing)
        .service(save_briefing)
        .service(list_revisions)
        .service(list_quick_replies)
        .service(create_quick_reply)
        .service(update_quick_reply)
        .service(delete_quick_reply)
        .service(reorder_quick_replies)
        .service(agent_briefing);
}

/// Which shop a `/api/merchant/...` call acts for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShopQuery {
    /// Admins: the shop to act for (required). Staff act for their own shop and may leave
    /// it out; another shop's id is 404.
    pub merchant_id: Option<String>,
}

/// The editor of a call: staff of their own shop, or an admin for the shop named in the
/// query (as with `GET /api/bookings?merchant_id=`). Agents are refused; another shop's
/// staff learn nothing (404).
pub(crate) fn editor(caller: Caller, q: &ShopQuery) -> Result<Editor, AppError> {
    let named = q
        .merchant_id
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    match (caller.role, caller.merchant, named) {
        (Role::MerchantStaff, Some(own), None) => Ok(Editor {
            account: caller.id,
            merchant: own,
        }),
        (Role::MerchantStaff, Some(own), Some(named)) if own.as_str() == named => Ok(Editor {
            account: caller.id,
            merchant: own,
        }),
        (Role::MerchantStaff, Some(_), Some(_)) => Err(AppError::NotFound),
        (Role::Admin, _, Some(named)) => Ok(Editor {
            account: caller.id,
            merchant: MerchantId(named.to_owned()),
        }),
        (Role::Admin, _, None) => Err(AppError::field(
            "merchant_id",
            "required",
            "admins name the shop to act for",
        )),
        _ => Err(AppError::Forbidden { code: "wrong_role" }),
    }
}

/// The shop's briefing for agents: products, shipping, returns and anything else, as plain
/// text, with its version (0 before the first save).
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(ShopQuery),
    responses(
        (status = 200, body = BriefingView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or another shop's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An admin without `merchant_id`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchant/briefing")]
async fn get_briefing(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
) -> Result<web::Json<BriefingView>, AppError> {
    let editor = editor(caller, &q)?;
    Ok(web::Json(service::briefing(&state, editor.merchant).await?))
}

/// Save the whole briefing. Send the `version` you edited: if someone saved since, nothing
/// is written and the answer is `briefing_conflict` with `current_version`. Every save that
/// changes something is kept as a revision.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(ShopQuery),
    request_body = SaveBriefing,
    responses(
        (status = 200, body = BriefingView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`briefing_conflict`, with `current_version`, `updated_by_name` and `updated_at`", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A section is too long (`too_long`) or holds control characters (`invalid_characters`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/merchant/briefing")]
async fn save_briefing(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<BriefingView>, AppError> {
    let editor = editor(caller, &q)?;
    // Read by hand: four full sections outgrow the usual body limit.
    let body: SaveBriefing = read_json(&req, payload.into_inner(), BRIEFING_BODY_LIMIT).await?;
    Ok(web::Json(service::save(&state, editor, body).await?))
}

/// Who changed the briefing when, newest first, with the new text of each changed section.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(ShopQuery, PageQuery),
    responses(
        (status = 200, body = Page<RevisionView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchant/briefing/revisions")]
async fn list_revisions(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<RevisionView>>, AppError> {
    let editor = editor(caller, &q)?;
    let (limit, cursor) = page.parse()?;
    let rows = service::revisions(&state, editor.merchant, cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// The shop's quick replies in their order.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(ShopQuery, PageQuery),
    responses(
        (status = 200, body = Page<QuickReplyView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchant/quick-replies")]
async fn list_quick_replies(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<QuickReplyView>>, AppError> {
    let editor = editor(caller, &q)?;
    let (limit, cursor) = page.parse()?;
    let rows = service::quick_replies(&state, editor.merchant, cursor, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| r,
    )))
}

/// Add a quick reply at the end of the list.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(ShopQuery),
    request_body = QuickReplyInput,
    responses(
        (status = 201, body = QuickReplyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_quick_replies`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Per field: `required`, `too_long`, `invalid_characters`, `invalid_shortcut`, `shortcut_taken`, `unknown_skill`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchant/quick-replies")]
async fn create_quick_reply(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    body: ApiJson<QuickReplyInput>,
) -> Result<HttpResponse, AppError> {
    let editor = editor(caller, &q)?;
    let view = service::create_quick_reply(&state, editor, body.0).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Replace a quick reply's title, body, shortcut and skill.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(("quick_reply_id" = String, Path), ShopQuery),
    request_body = QuickReplyInput,
    responses(
        (status = 200, body = QuickReplyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reply, or another shop's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "As for adding one", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/merchant/quick-replies/{quick_reply_id}")]
async fn update_quick_reply(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    path: web::Path<String>,
    body: ApiJson<QuickReplyInput>,
) -> Result<web::Json<QuickReplyView>, AppError> {
    let editor = editor(caller, &q)?;
    Ok(web::Json(
        service::update_quick_reply(&state, editor, path.into_inner(), body.0).await?,
    ))
}

/// Delete a quick reply.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(("quick_reply_id" = String, Path), ShopQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reply, or another shop's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/merchant/quick-replies/{quick_reply_id}")]
async fn delete_quick_reply(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let editor = editor(caller, &q)?;
    service::delete_quick_reply(&state, editor, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuickReplyList {
    /// Every quick reply of the shop, in order.
    pub items: Vec<QuickReplyView>,
}

/// Put the shop's quick replies in a new order: list every id once, first to last.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(ShopQuery),
    request_body = ReorderRequest,
    responses(
        (status = 200, body = QuickReplyList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`quick_replies_changed`: the ids are not the shop's current replies", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An id listed twice (`duplicate`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchant/quick-replies/reorder")]
async fn reorder_quick_replies(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ShopQuery>,
    body: ApiJson<ReorderRequest>,
) -> Result<web::Json<QuickReplyList>, AppError> {
    let editor = editor(caller, &q)?;
    Ok(web::Json(QuickReplyList {
        items: service::reorder_quick_replies(&state, editor, body.0.ids).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentBriefingQuery {
    /// The skill of the seat being worked: only the quick replies for it and those for
    /// every skill. Absent: all of them.
    pub skill: Option<String>,
}

/// A shop's briefing and quick replies, for an agent who holds a shift of the shop from a
/// day before it starts until it ends. Anyone else gets 404, as for a shop that does not
/// exist.
#[utoipa::path(
    tag = "briefing",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), AgentBriefingQuery),
    responses(
        (status = 200, body = AgentBriefing),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No current or coming shift of this shop (or no such shop)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_skill`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agent/merchants/{merchant_id}/briefing")]
async fn agent_briefing(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    q: web::Query<AgentBriefingQuery>,
) -> Result<web::Json<AgentBriefing>, AppError> {
    Ok(web::Json(
        service::for_agent(
            &state,
            agent.0.id,
            MerchantId(path.into_inner()),
            q.into_inner().skill,
        )
        .await?,
    ))
}
