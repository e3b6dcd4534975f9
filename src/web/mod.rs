//! The HTTP edge: JSON API helpers, pages, static assets, health and metrics, and the
//! middleware every request passes through.

pub mod api;
pub mod assets;
pub mod chart;
pub mod health;
pub mod i18n;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod telemetry;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use tracing_actix_web::RequestId;

use crate::accounts::model::Locale;
use crate::config::SecureCookies;
use crate::error::{AppError, REQUEST_ID};
use crate::state::AppState;

pub const LANG_COOKIE: &str = "cs_lang";

/// The language to answer in: the user's explicit choice (cookie), else the browser's.
pub fn request_locale(req: &HttpRequest) -> Locale {
    req.cookie(LANG_COOKIE)
        .and_then(|c| Locale::parse(c.value()))
        .or_else(|| {
            req.headers()
                .get(actix_web::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or_default()
}

/// Whether cookies get the Secure flag for this request.
pub fn secure_cookies(req: &HttpRequest) -> bool {
    let mode = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.security.secure_cookies)
        .unwrap_or(SecureCookies::Auto);
    match mode {
        SecureCookies::Always => true,
        SecureCookies::Never => false,
        SecureCookies::Auto => req.connection_info().scheme() == "https",
    }
}

/// Makes the request id available to error bodies and the audit log, and returns it in
/// the `x-request-id` header so a user can quote it.
pub async fn request_id_scope(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_else(crate::db::new_id);
    let mut res = REQUEST_ID.scope(id.clone(), next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// Unknown routes: a problem body under `/api`, a page elsewhere.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") || req.path() == "/api" {
        actix_web::ResponseError::error_response(&AppError::NotFound)
    } else {
        pages::not_found_page(&req)
    }
}

/// Turns actix's own extractor errors (query strings, path segments, forms) into problems.
pub fn extractor_configs(cfg: &mut web::ServiceConfig, max_body: usize) {
    cfg.app_data(
        web::QueryConfig::default().error_handler(|err, _| {
            AppError::field("query", "invalid_query", err.to_string()).into()
        }),
    )
    .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
    .app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|err, _| {
                AppError::field("form", "invalid_form", err.to_string()).into()
            }),
    )
    .app_data(
        web::JsonConfig::default()
            .limit(max_body)
            .error_handler(|err, _| AppError::MalformedJson(err.to_string()).into()),
    )
    .app_data(web::PayloadConfig::new(max_body));
}
