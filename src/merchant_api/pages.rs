//! The shop's integrations page: the widget key with its embed snippet, secret API keys
//! (a new key is shown once, on the page that answers its creation), and webhook endpoints
//! with their recent deliveries. Works without JavaScript; every form carries the CSRF
//! token and destructive buttons ask for a confirming checkbox.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::service::{self, WidgetKeyView};
use super::webhooks::{DeliveryView, EVENTS, EndpointInput, EndpointView};
use crate::accounts::model::{AccountId, MerchantId};
use crate::error::AppError;
use crate::seats::pages::shop_session;
use crate::seats::service::Actor;
use crate::state::AppState;
use crate::web::pages::{PageCtx, check_csrf, error_page, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(integrations_page)
        .service(rotate_widget_key)
        .service(create_api_key)
        .service(revoke_api_key)
        .service(create_endpoint)
        .service(delete_endpoint)
        .service(rotate_secret)
        .service(ping)
        .service(retry_delivery);
}

const BASE: &str = "/seats/integrations";
/// Deliveries shown per endpoint.
const RECENT_DELIVERIES: i64 = 5;

struct KeyRow {
    id: String,
    label: String,
    hint: String,
    created_at: String,
    last_used: String,
    revoked: Option<String>,
}

struct DeliveryRow {
    id: String,
    created_at: String,
    event: String,
    status: String,
    failed: bool,
    attempts: i32,
    outcome: String,
}

struct EndpointBlock {
    id: String,
    url: String,
    events: String,
    active: bool,
    description: String,
    deliveries: Vec<DeliveryRow>,
}

/// A secret to show once: what it belongs to and the secret.
struct NewSecret {
    what: String,
    secret: String,
}

/// What the create-endpoint form held, to show it again with its errors.
#[derive(Default)]
struct EndpointForm {
    url: String,
    events: Vec<String>,
    description: String,
}

#[derive(Template)]
#[template(path = "merchant_api/integrations.html")]
struct IntegrationsPage<'a> {
    ctx: &'a PageCtx,
    widget: WidgetKeyView,
    keys: Vec<KeyRow>,
    endpoints: Vec<EndpointBlock>,
    /// Every event, and whether its box is ticked.
    event_choices: Vec<(&'static str, bool)>,
    new_secret: Option<NewSecret>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    label: String,
    form: EndpointForm,
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn delivery_row(ctx: &PageCtx, d: DeliveryView) -> DeliveryRow {
    let outcome = match (d.last_status_code, &d.last_error) {
        (_, Some(error)) => error.clone(),
        (Some(code), None) => code.to_string(),
        (None, None) => "–".to_owned(),
    };
    DeliveryRow {
        created_at: when(d.created_at),
        status: ctx
            .t(&format!("integrations.delivery_{}", d.status))
            .into_owned(),
        failed: d.status == "failed",
        id: d.id,
        event: d.event,
        attempts: d.attempts,
        outcome,
    }
}

/// What a page answer adds to the plain page.
#[derive(Default)]
struct Extra {
    new_secret: Option<NewSecret>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    label: String,
    form: EndpointForm,
}

async fn show(
    state: &AppState,
    ctx: &PageCtx,
    account: &AccountId,
    merchant: &MerchantId,
    extra: Extra,
    status: StatusCode,
) -> HttpResponse {
    let loaded = async {
        let widget = service::widget_key(state, account, merchant).await?;
        let keys = service::list_api_keys(state, merchant, None, 100).await?;
        let endpoints = service::list_endpoints(state, merchant).await?;
        let mut blocks = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            let recent = service::list_deliveries(
                state,
                merchant,
                e.id.clone(),
                None,
                None,
                RECENT_DELIVERIES,
            )
            .await?;
            blocks.push(endpoint_block(ctx, e, recent.items));
        }
        Ok::<_, AppError>((widget, keys.items, blocks))
    }
    .await;
    let (widget, keys, endpoints) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return error_page(ctx, e),
    };
    let page = IntegrationsPage {
        ctx,
        widget,
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                id: k.id,
                label: k.label,
                hint: k.hint,
                created_at: when(k.created_at),
                last_used: k
                    .last_used_at
                    .map(when)
                    .unwrap_or_else(|| ctx.t("integrations.never").into_owned()),
                revoked: k.revoked_at.map(when),
            })
            .collect(),
        endpoints,
        event_choices: EVENTS
            .iter()
            .map(|e| (*e, extra.form.events.iter().any(|f| f == e)))
            .collect(),
        new_secret: extra.new_secret,
        notice: extra.notice,
        errors: extra.errors,
        label: extra.label,
        form: extra.form,
    };
    render(ctx, &page, status)
}

fn endpoint_block(ctx: &PageCtx, e: EndpointView, recent: Vec<DeliveryView>) -> EndpointBlock {
    EndpointBlock {
        id: e.id,
        url: e.url,
        events: e.events.join(", "),
        active: e.active,
        description: e.description,
        deliveries: recent.into_iter().map(|d| delivery_row(ctx, d)).collect(),
    }
}

/// The signed-in shop staff of a page, or the response to send instead.
async fn staff_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(PageCtx, AccountId, MerchantId), HttpResponse> {
    let (ctx, actor) = shop_session(state, req).await?;
    match actor {
        Actor::Staff { account, merchant } => Ok((ctx, account, merchant)),
        Actor::Admin { .. } => Err(error_page(&ctx, AppError::Forbidden { code: "wrong_role" })),
    }
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// The shop's integrations: widget key, API keys and webhooks.
#[utoipa::path(tag = "pages", params(("notice" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/seats/integrations")]
async fn integrations_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let (ctx, account, merchant) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let notice = q
        .into_inner()
        .notice
        .filter(|n| {
            [
                "widget_rotated",
                "key_revoked",
                "endpoint_deleted",
                "ping_queued",
                "retry_queued",
            ]
            .contains(&n.as_str())
        })
        .map(|n| ctx.t(&format!("integrations.notice_{n}")).into_owned());
    let extra = Extra {
        notice,
        ..Extra::default()
    };
    show(&state, &ctx, &account, &merchant, extra, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf_token: String,
    /// The "I understand" checkbox of a destructive button.
    #[serde(default)]
    confirm: Option<String>,
}

/// The page again, saying the confirming checkbox was not ticked.
async fn confirm_missing(
    state: &AppState,
    ctx: &PageCtx,
    account: &AccountId,
    merchant: &MerchantId,
) -> HttpResponse {
    let extra = Extra {
        errors: vec![(
            "confirm".to_owned(),
            ctx.t("integrations.confirm_needed").into_owned(),
        )],
        ..Extra::default()
    };
    show(
        state,
        ctx,
        account,
        merchant,
        extra,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// A form button: session, CSRF token and (for destructive ones) the confirming checkbox,
/// then the action, then back to the page with a notice.
async fn button(
    state: &AppState,
    req: &HttpRequest,
    form: &ConfirmForm,
    needs_confirm: bool,
    notice: &str,
    action: impl AsyncFnOnce(&AppState, AccountId, MerchantId) -> Result<(), AppError>,
) -> HttpResponse {
    let (ctx, account, merchant) = match staff_session(state, req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    if needs_confirm && form.confirm.as_deref() != Some("yes") {
        return confirm_missing(state, &ctx, &account, &merchant).await;
    }
    match action(state, account.clone(), merchant.clone()).await {
        Ok(()) => redirect(&format!("{BASE}?notice={notice}")),
        Err(AppError::Conflict { detail, .. }) => {
            let extra = Extra {
                errors: vec![("main".to_owned(), detail)],
                ..Extra::default()
            };
            show(
                state,
                &ctx,
                &account,
                &merchant,
                extra,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// Replaces the widget key.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Rotated"), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/integrations/widget-key/rotate")]
async fn rotate_widget_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    button(
        &state,
        &req,
        &form,
        true,
        "widget_rotated",
        async |state, account, merchant| {
            service::rotate_widget_key(state, &account, &merchant)
                .await
                .map(|_| ())
        },
    )
    .await
}

#[derive(Deserialize)]
struct NewKeyForm {
    csrf_token: String,
    #[serde(default)]
    label: String,
}

/// Creates an API key and shows it, once.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 201, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/integrations/api-keys")]
async fn create_api_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewKeyForm>,
) -> HttpResponse {
    let (ctx, account, merchant) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let (extra, status) =
        match service::create_api_key(&state, &account, &merchant, &form.label).await {
            Ok(created) => (
                Extra {
                    new_secret: Some(NewSecret {
                        what: created.key.label,
                        secret: created.secret,
                    }),
                    ..Extra::default()
                },
                StatusCode::CREATED,
            ),
            Err(AppError::Validation(errors)) => (
                Extra {
                    errors: ctx.field_errors(&errors),
                    label: form.label,
                    ..Extra::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Err(AppError::Conflict { detail, .. }) => (
                Extra {
                    errors: vec![("label".to_owned(), detail)],
                    label: form.label,
                    ..Extra::default()
                },
                StatusCode::CONFLICT,
            ),
            Err(e) => return error_page(&ctx, e),
        };
    show(&state, &ctx, &account, &merchant, extra, status).await
}

/// Revokes an API key (after the confirming checkbox).
#[utoipa::path(tag = "pages", params(("key_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Revoked"), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/integrations/api-keys/{key_id}/revoke")]
async fn revoke_api_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let key_id = path.into_inner();
    button(
        &state,
        &req,
        &form,
        true,
        "key_revoked",
        async |state, account, merchant| {
            service::revoke_api_key(state, &account, &merchant, key_id)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// Adds a webhook endpoint and shows its signing secret, once.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 201, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/integrations/webhooks")]
async fn create_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (ctx, account, merchant) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(pairs) => pairs,
        Err(e) => {
            return error_page(&ctx, AppError::field("form", "invalid_form", e.to_string()));
        }
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // Read by hand: one `events` pair per ticked box, which a derived form cannot collect.
    if let Err(e) = check_csrf(&req, &field("csrf_token")) {
        return error_page(&ctx, e);
    }
    let (url, description) = (field("url"), field("description"));
    let events: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "events")
        .map(|(_, v)| v.clone())
        .collect();
    let input = EndpointInput {
        url: url.clone(),
        events: events.clone(),
        active: Some(true),
        description: Some(description.clone()),
    };
    let (extra, status) = match service::create_endpoint(&state, &account, &merchant, &input).await
    {
        Ok(created) => (
            Extra {
                new_secret: Some(NewSecret {
                    what: created.endpoint.url,
                    secret: created.secret,
                }),
                ..Extra::default()
            },
            StatusCode::CREATED,
        ),
        Err(AppError::Validation(errors)) => (
            Extra {
                errors: ctx.field_errors(&errors),
                form: EndpointForm {
                    url,
                    events,
                    description,
                },
                ..Extra::default()
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::Conflict { detail, .. }) => (
            Extra {
                errors: vec![("url".to_owned(), detail)],
                ..Extra::default()
            },
            StatusCode::CONFLICT,
        ),
        Err(e) => return error_page(&ctx, e),
    };
    show(&state, &ctx, &account, &merchant, extra, status).await
}

/// Deletes an endpoint and its deliveries (after the confirming checkbox).
#[utoipa::path(tag = "pages", params(("endpoint_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Deleted"), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/integrations/webhooks/{endpoint_id}/delete")]
async fn delete_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let id = path.into_inner();
    button(
        &state,
        &req,
        &form,
        true,
        "endpoint_deleted",
        async |state, account, merchant| {
            service::delete_endpoint(state, &account, &merchant, id).await
        },
    )
    .await
}

/// Gives an endpoint a new signing secret and shows it, once.
#[utoipa::path(tag = "pages", params(("endpoint_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/integrations/webhooks/{endpoint_id}/rotate-secret")]
async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let (ctx, account, merchant) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    if form.confirm.as_deref() != Some("yes") {
        return confirm_missing(&state, &ctx, &account, &merchant).await;
    }
    match service::rotate_endpoint_secret(&state, &account, &merchant, path.into_inner()).await {
        Ok(rotated) => {
            let extra = Extra {
                new_secret: Some(NewSecret {
                    what: rotated.endpoint.url,
                    secret: rotated.secret,
                }),
                ..Extra::default()
            };
            show(&state, &ctx, &account, &merchant, extra, StatusCode::OK).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// Sends the endpoint a test `ping`.
#[utoipa::path(tag = "pages", params(("endpoint_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Queued"), (status = 409, content_type = "text/html", body = String)))]
#[post("/seats/integrations/webhooks/{endpoint_id}/ping")]
async fn ping(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let id = path.into_inner();
    button(
        &state,
        &req,
        &form,
        false,
        "ping_queued",
        async |state, account, merchant| {
            service::ping(state, &account, &merchant, id)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// One more attempt for a failed delivery.
#[utoipa::path(tag = "pages", params(("endpoint_id" = String, Path), ("delivery_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Queued"), (status = 409, content_type = "text/html", body = String)))]
#[post("/seats/integrations/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")]
async fn retry_delivery(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let (endpoint_id, delivery_id) = path.into_inner();
    button(
        &state,
        &req,
        &form,
        false,
        "retry_queued",
        async |state, account, merchant| {
            service::retry_delivery(state, &account, &merchant, endpoint_id, delivery_id)
                .await
                .map(|_| ())
        },
    )
    .await
}
