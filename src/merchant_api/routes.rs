//! JSON API of the integration layer. Under `/api/merchants/{merchant_id}/...` like the
//! shop's other resources: the shop's staff manage its keys and endpoints, admins may read
//! them (never create, rotate or revoke: secrets are shown only to the shop), another shop
//! gets 404. `/api/merchant-api/whoami` is called with a secret API key instead.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::keys::{ApiKeyView, MerchantApiKey, NewApiKeyRequest};
use super::service::{self, NewApiKeyView, WidgetKeyView};
use super::webhooks::{DeliveryView, EndpointInput, EndpointView, EndpointWithSecret};
use crate::accounts::model::MerchantId;
use crate::accounts::routes::may_see_merchant;
use crate::auth::{Caller, MerchantStaff};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(whoami)
        .service(get_widget_key)
        .service(rotate_widget_key)
        .service(list_api_keys)
        .service(create_api_key)
        .service(revoke_api_key)
        .service(list_endpoints)
        .service(create_endpoint)
        .service(get_endpoint)
        .service(update_endpoint)
        .service(delete_endpoint)
        .service(rotate_endpoint_secret)
        .service(list_deliveries)
        .service(retry_delivery)
        .service(ping_endpoint);
}

/// May read the shop's integration settings: its staff, and admins.
async fn reader(
    state: &AppState,
    caller: &Caller,
    merchant_id: String,
) -> Result<MerchantId, AppError> {
    let merchant = MerchantId(merchant_id);
    may_see_merchant(caller, &merchant)?;
    service::ensure_merchant(state, &merchant).await?;
    Ok(merchant)
}

/// May change them: the shop's own staff only; another shop learns nothing (404).
fn writer(staff: &MerchantStaff, merchant_id: &str) -> Result<MerchantId, AppError> {
    if staff.merchant.as_str() == merchant_id {
        Ok(staff.merchant.clone())
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    pub merchant_id: MerchantId,
    pub key_id: String,
    pub label: String,
}

/// Check a secret API key: the shop it acts for and its label. Authenticate with
/// `Authorization: Bearer sk_...`.
#[utoipa::path(
    tag = "merchant_api",
    security(("api_key" = [])),
    responses(
        (status = 200, body = WhoAmI),
        (status = 401, description = "`missing_api_key` or `invalid_api_key` (unknown, revoked or malformed alike)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchant-api/whoami")]
async fn whoami(
    state: web::Data<AppState>,
    key: MerchantApiKey,
) -> Result<web::Json<WhoAmI>, AppError> {
    let (merchant, key_id) = (key.merchant.clone(), key.key_id.clone());
    let row = state
        .db
        .run(move |c| super::keys::find_api_key(c, &merchant, &key_id))
        .await?
        .ok_or(AppError::Unauthenticated {
            code: "invalid_api_key",
        })?;
    Ok(web::Json(WhoAmI {
        merchant_id: key.merchant,
        key_id: key.key_id,
        label: row.label,
    }))
}

// ---------------------------------------------------------------- widget key

/// The shop's public widget key and embed snippet (created on the first read).
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path)),
    responses(
        (status = 200, body = WidgetKeyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or another shop's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/widget-key")]
async fn get_widget_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<WidgetKeyView>, AppError> {
    let merchant = reader(&state, &caller, path.into_inner()).await?;
    Ok(web::Json(
        service::widget_key(&state, &caller.id, &merchant).await?,
    ))
}

/// Replace the widget key; pages embedding the old one stop getting the chat at once.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path)),
    responses(
        (status = 200, body = WidgetKeyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this shop's staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/widget-key/rotate")]
async fn rotate_widget_key(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<String>,
) -> Result<web::Json<WidgetKeyView>, AppError> {
    let merchant = writer(&staff, &path)?;
    Ok(web::Json(
        service::rotate_widget_key(&state, &staff.caller.id, &merchant).await?,
    ))
}

// ---------------------------------------------------------------- API keys

/// The shop's secret API keys, newest first, revoked ones included (never the keys).
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<ApiKeyView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/api-keys")]
async fn list_api_keys(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ApiKeyView>>, AppError> {
    let merchant = reader(&state, &caller, path.into_inner()).await?;
    let (limit, cursor) = page.parse()?;
    Ok(web::Json(
        service::list_api_keys(&state, &merchant, cursor, limit).await?,
    ))
}

/// Create a secret API key. The answer holds the key; it is not stored and never shown
/// again.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path)),
    request_body = NewApiKeyRequest,
    responses(
        (status = 201, body = NewApiKeyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_api_keys`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/api-keys")]
async fn create_api_key(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<String>,
    body: ApiJson<NewApiKeyRequest>,
) -> Result<HttpResponse, AppError> {
    let merchant = writer(&staff, &path)?;
    let created =
        service::create_api_key(&state, &staff.caller.id, &merchant, &body.0.label).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Revoke a key: requests with it fail at once.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("key_id" = String, Path)),
    responses(
        (status = 200, body = ApiKeyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/api-keys/{key_id}/revoke")]
async fn revoke_api_key(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ApiKeyView>, AppError> {
    let (merchant_id, key_id) = path.into_inner();
    let merchant = writer(&staff, &merchant_id)?;
    Ok(web::Json(
        service::revoke_api_key(&state, &staff.caller.id, &merchant, key_id).await?,
    ))
}

// ---------------------------------------------------------------- webhook endpoints

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
}

/// The shop's webhook endpoints, newest first (without their secrets).
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path)),
    responses(
        (status = 200, body = EndpointList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/webhooks")]
async fn list_endpoints(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<EndpointList>, AppError> {
    let merchant = reader(&state, &caller, path.into_inner()).await?;
    Ok(web::Json(EndpointList {
        items: service::list_endpoints(&state, &merchant).await?,
    }))
}

/// Add a webhook endpoint. The answer holds its signing secret, shown only now.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path)),
    request_body = EndpointInput,
    responses(
        (status = 201, body = EndpointWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_endpoints`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`url`: `invalid_url`, `unsupported_scheme`, `userinfo_not_allowed`, `private_target`; `events`: `unknown_event`, `required`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/webhooks")]
async fn create_endpoint(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<String>,
    body: ApiJson<EndpointInput>,
) -> Result<HttpResponse, AppError> {
    let merchant = writer(&staff, &path)?;
    let created = service::create_endpoint(&state, &staff.caller.id, &merchant, &body.0).await?;
    Ok(HttpResponse::Created().json(created))
}

/// One webhook endpoint.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path)),
    responses(
        (status = 200, body = EndpointView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/webhooks/{endpoint_id}")]
async fn get_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<web::Json<EndpointView>, AppError> {
    let (merchant_id, endpoint_id) = path.into_inner();
    let merchant = reader(&state, &caller, merchant_id).await?;
    Ok(web::Json(
        service::get_endpoint(&state, &merchant, endpoint_id).await?,
    ))
}

/// Replace an endpoint's URL, events, active flag and description (not its secret).
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path)),
    request_body = EndpointInput,
    responses(
        (status = 200, body = EndpointView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/merchants/{merchant_id}/webhooks/{endpoint_id}")]
async fn update_endpoint(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<(String, String)>,
    body: ApiJson<EndpointInput>,
) -> Result<web::Json<EndpointView>, AppError> {
    let (merchant_id, endpoint_id) = path.into_inner();
    let merchant = writer(&staff, &merchant_id)?;
    Ok(web::Json(
        service::update_endpoint(&state, &staff.caller.id, &merchant, endpoint_id, &body.0).await?,
    ))
}

/// Delete an endpoint and its delivery history.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/merchants/{merchant_id}/webhooks/{endpoint_id}")]
async fn delete_endpoint(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (merchant_id, endpoint_id) = path.into_inner();
    let merchant = writer(&staff, &merchant_id)?;
    service::delete_endpoint(&state, &staff.caller.id, &merchant, endpoint_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give an endpoint a new signing secret (shown only in this answer); deliveries from now
/// on are signed with it.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path)),
    responses(
        (status = 200, body = EndpointWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/webhooks/{endpoint_id}/rotate-secret")]
async fn rotate_endpoint_secret(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<(String, String)>,
) -> Result<web::Json<EndpointWithSecret>, AppError> {
    let (merchant_id, endpoint_id) = path.into_inner();
    let merchant = writer(&staff, &merchant_id)?;
    Ok(web::Json(
        service::rotate_endpoint_secret(&state, &staff.caller.id, &merchant, endpoint_id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
}

/// An endpoint's deliveries, newest first.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path), DeliveryFilter, PageQuery),
    responses(
        (status = 200, body = Page<DeliveryView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/webhooks/{endpoint_id}/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    filter: web::Query<DeliveryFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<DeliveryView>>, AppError> {
    let (merchant_id, endpoint_id) = path.into_inner();
    let merchant = reader(&state, &caller, merchant_id).await?;
    let (limit, cursor) = page.parse()?;
    let status = filter.into_inner().status.filter(|s| !s.is_empty());
    Ok(web::Json(
        service::list_deliveries(&state, &merchant, endpoint_id, status, cursor, limit).await?,
    ))
}

/// One more attempt, now, for a delivery that failed for good.
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path), ("delivery_id" = String, Path)),
    responses(
        (status = 200, body = DeliveryView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`delivery_not_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")]
async fn retry_delivery(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<(String, String, String)>,
) -> Result<web::Json<DeliveryView>, AppError> {
    let (merchant_id, endpoint_id, delivery_id) = path.into_inner();
    let merchant = writer(&staff, &merchant_id)?;
    Ok(web::Json(
        service::retry_delivery(
            &state,
            &staff.caller.id,
            &merchant,
            endpoint_id,
            delivery_id,
        )
        .await?,
    ))
}

/// Send a test `ping` to the endpoint (whatever events it subscribes to).
#[utoipa::path(
    tag = "merchant_api",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path), ("endpoint_id" = String, Path)),
    responses(
        (status = 202, description = "Queued; see the delivery for the outcome", body = DeliveryView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`endpoint_inactive`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/webhooks/{endpoint_id}/ping")]
async fn ping_endpoint(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (merchant_id, endpoint_id) = path.into_inner();
    let merchant = writer(&staff, &merchant_id)?;
    let queued = service::ping(&state, &staff.caller.id, &merchant, endpoint_id).await?;
    Ok(HttpResponse::Accepted().json(queued))
}
