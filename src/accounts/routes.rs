//! JSON API for accounts and sessions. Handlers only extract, call a use case and map.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{MerchantId, Role};
use super::service::{
    self, AccountView, InviteRequest, LoginRequest, MerchantView, PasswordResetConfirm,
    PasswordResetRequest, RefreshRequest, RegisterRequest, Registered, TokenRequest, TokenResponse,
};
use super::store;
use crate::auth::{Admin, Caller, client_ip};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};
use crate::web::request_locale;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(verify_email)
        .service(password_reset)
        .service(password_reset_confirm)
        .service(me)
        .service(get_merchant)
        .service(list_staff)
        .service(invite_staff)
        .service(invite_admin);
}

/// Register a shop (its first staff login) or an agent; mails a confirmation link.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; confirmation link mailed", body = Registered),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the email is taken (`email_taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/register")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, AppError> {
    let registered = service::register(&state, body.0, request_locale(&req)).await?;
    Ok(HttpResponse::Created().json(registered))
}

/// Sign in with email and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong email or password (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(
        service::login(&state, body.0, &client_ip(&req)).await?,
    ))
}

/// Trade a refresh token for a new access token and a new refresh token.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the old refresh token is spent", body = TokenResponse),
        (status = 401, description = "Unknown, expired or revoked token (`invalid_refresh_token`), or a spent one (`refresh_token_reused`, which revokes the session)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(service::refresh(&state, body.0).await?))
}

/// End the session a refresh token belongs to.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also when the token was unknown)"))
)]
#[post("/api/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    service::logout(&state, &body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirm an email address with the token from the mailed link.
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Confirmed", body = AccountView),
        (status = 422, description = "Invalid, expired or used token (`invalid_or_expired_token`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/verify-email")]
async fn verify_email(
    state: web::Data<AppState>,
    body: ApiJson<TokenRequest>,
) -> Result<web::Json<AccountView>, AppError> {
    Ok(web::Json(
        service::verify_email(&state, &body.0.token).await?,
    ))
}

/// Ask for a password reset link. The answer does not say whether the account exists.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If an account uses the address, a link was mailed"),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/password-reset")]
async fn password_reset(
    state: web::Data<AppState>,
    body: ApiJson<PasswordResetRequest>,
) -> Result<HttpResponse, AppError> {
    service::request_password_reset(&state, body.0).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token from the mailed link; signs out every session.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed"),
        (status = 422, description = "Invalid token or password", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/auth/password-reset/confirm")]
async fn password_reset_confirm(
    state: web::Data<AppState>,
    body: ApiJson<PasswordResetConfirm>,
) -> Result<HttpResponse, AppError> {
    service::confirm_password_reset(&state, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in account.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/me")]
async fn me(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<AccountView>, AppError> {
    Ok(web::Json(service::me(&state, caller.id).await?))
}

/// Staff may act for their own shop, admins for any; everyone else learns nothing,
/// not even that the shop exists.
pub(crate) fn may_see_merchant(caller: &Caller, merchant: &MerchantId) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::MerchantStaff if caller.merchant.as_ref() == Some(merchant) => Ok(()),
        Role::MerchantStaff => Err(AppError::NotFound),
        Role::Agent => Err(AppError::Forbidden { code: "wrong_role" }),
    }
}

/// A shop's profile.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id")),
    responses(
        (status = 200, body = MerchantView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Agents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or another shop's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}")]
async fn get_merchant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<MerchantView>, AppError> {
    let id = MerchantId(path.into_inner());
    may_see_merchant(&caller, &id)?;
    let found = state.db.run(move |c| store::find_merchant(c, &id)).await?;
    let m = found.ok_or(AppError::NotFound)?;
    Ok(web::Json(MerchantView {
        id: m.id,
        name: m.name,
    }))
}

/// A shop's staff logins, oldest first.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), PageQuery),
    responses(
        (status = 200, body = Page<AccountView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/staff")]
async fn list_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<AccountView>>, AppError> {
    let id = MerchantId(path.into_inner());
    may_see_merchant(&caller, &id)?;
    let (limit, cursor) = page.parse()?;
    let page = state
        .db
        .run(move |conn| -> Result<Page<AccountView>, AppError> {
            if store::find_merchant(conn, &id)?.is_none() {
                return Err(AppError::NotFound);
            }
            let rows = store::list_staff(conn, &id, cursor.as_deref(), limit + 1)?;
            let mut views = Vec::with_capacity(rows.len());
            for row in &rows {
                views.push(service::view(conn, row)?);
            }
            Ok(Page::from_rows(views, limit, |v| v.id.to_string(), |v| v))
        })
        .await?;
    Ok(web::Json(page))
}

/// Invite another staff login for the caller's shop; mails a link to set a password.
#[utoipa::path(
    tag = "merchants",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id")),
    request_body = InviteRequest,
    responses(
        (status = 201, body = AccountView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/merchants/{merchant_id}/staff")]
async fn invite_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: ApiJson<InviteRequest>,
) -> Result<HttpResponse, AppError> {
    let id = MerchantId(path.into_inner());
    may_see_merchant(&caller, &id)?;
    let lookup = id.clone();
    if state
        .db
        .run(move |c| store::find_merchant(c, &lookup))
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let view = service::invite(&state, &caller.id, Role::MerchantStaff, Some(id), body.0).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Make someone an admin; mails them a link to set a password.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, body = AccountView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/admins")]
async fn invite_admin(
    state: web::Data<AppState>,
    admin: Admin,
    body: ApiJson<InviteRequest>,
) -> Result<HttpResponse, AppError> {
    let view = service::invite(&state, &admin.0.id, Role::Admin, None, body.0).await?;
    Ok(HttpResponse::Created().json(view))
}
