//! Server-rendered pages (askama, checked at compile time). They call the same use cases
//! as the JSON API; sessions live in HttpOnly cookies and every form carries a CSRF token.

use std::borrow::Cow;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::i18n::{t, t_with};
use super::{LANG_COOKIE, request_locale, secure_cookies};
use crate::accounts::model::{Locale, Role};
use crate::accounts::service::{
    self, AccountView, LoginRequest, PasswordResetConfirm, PasswordResetRequest, RegisterRequest,
    RegisterRole, TokenResponse,
};
use crate::auth::{ACCESS_COOKIE, Caller, REFRESH_COOKIE, client_ip, csrf};
use crate::error::{AppError, FieldError};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(landing)
        .service(sign_in_form)
        .service(sign_in)
        .service(sign_out)
        .service(register_form)
        .service(register)
        .service(verify_form)
        .service(verify)
        .service(reset_form)
        .service(reset)
        .service(reset_confirm_form)
        .service(reset_confirm)
        .service(home)
        .service(refresh_session)
        .service(switch_language);
}

/// Who is signed in, as the header shows it.
pub struct Badge {
    pub name: String,
    pub role: Role,
    /// CSS classes for the agent's accessibility preferences (`a11y-larger-text` ...).
    pub body_class: String,
}

impl Badge {
    pub fn is_merchant(&self) -> bool {
        self.role == Role::MerchantStaff
    }

    pub fn is_agent(&self) -> bool {
        self.role == Role::Agent
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What every page template needs.
pub struct PageCtx {
    pub lang: Locale,
    pub csrf: String,
    pub user: Option<Badge>,
    pub path: String,
    new_csrf_cookie: Option<Cookie<'static>>,
}

impl PageCtx {
    pub fn new(req: &HttpRequest, user: Option<Badge>) -> Self {
        let (csrf, new_csrf_cookie) = csrf::token_for(req);
        PageCtx {
            lang: request_locale(req),
            csrf,
            user,
            // Without the query: it may hold a one-time token, which does not belong in
            // the language link.
            path: req.path().to_owned(),
            new_csrf_cookie,
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> Cow<'a, str> {
        t(self.lang, key)
    }

    /// For templates, which pass arguments by (double) reference.
    pub fn t_with<'b, A: AsRef<[(&'b str, &'b str)]>>(&self, key: &str, args: A) -> String {
        crate::web::i18n::t_with(self.lang, key, args.as_ref())
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.as_str()
    }

    pub fn other_lang_code(&self) -> &'static str {
        match self.lang {
            Locale::En => Locale::ZhCn.as_str(),
            Locale::ZhCn => Locale::En.as_str(),
        }
    }

    pub fn other_lang_label(&self) -> &'static str {
        match self.lang {
            Locale::En => "中文",
            Locale::ZhCn => "English",
        }
    }

    /// A field error in the page's language (by its stable code).
    fn field_message(&self, e: &FieldError) -> String {
        let key = format!("field_error.{}", e.code);
        match crate::_rust_i18n_try_translate(self.lang.as_str(), &key) {
            Some(text) => text.into_owned(),
            None => self.t("field_error.other").into_owned(),
        }
    }

    pub(crate) fn field_errors(&self, errors: &[FieldError]) -> Vec<(String, String)> {
        errors
            .iter()
            .map(|e| (e.field.clone(), self.field_message(e)))
            .collect()
    }
}

pub(crate) fn render(ctx: &PageCtx, template: &impl Template, status: StatusCode) -> HttpResponse {
    match template.render() {
        Ok(html) => {
            let mut res = HttpResponse::build(status);
            res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(cookie) = &ctx.new_csrf_cookie {
                res.cookie(cookie.clone());
            }
            res.body(html)
        }
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            actix_web::ResponseError::error_response(&AppError::internal(e))
        }
    }
}

pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// Only same-site paths, so `next` cannot send a user off to another site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/home".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: &'a PageCtx,
    text: String,
    request_id: Option<String>,
}

pub fn not_found_page(req: &HttpRequest) -> HttpResponse {
    let ctx = PageCtx::new(req, None);
    let text = ctx.t("error.not_found").into_owned();
    render(
        &ctx,
        &ErrorPage {
            ctx: &ctx,
            text,
            request_id: None,
        },
        StatusCode::NOT_FOUND,
    )
}

pub(crate) fn error_page(ctx: &PageCtx, err: AppError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(&err);
    if let AppError::Internal(cause) = &err {
        tracing::error!(
            error = format!("{cause:#}"),
            "page failed with an internal error"
        );
    }
    let text = match &err {
        AppError::Forbidden {
            code: "csrf_mismatch",
        } => ctx.t("error.csrf").into_owned(),
        AppError::NotFound => ctx.t("error.not_found").into_owned(),
        _ => ctx.t("error.title").into_owned(),
    };
    let request_id = matches!(err, AppError::Internal(_) | AppError::Unavailable(_))
        .then(crate::error::current_request_id)
        .flatten();
    render(
        ctx,
        &ErrorPage {
            ctx,
            text,
            request_id,
        },
        status,
    )
}

pub(crate) fn check_csrf(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    if csrf::verify(req, submitted) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            code: "csrf_mismatch",
        })
    }
}

fn session_cookies(req: &HttpRequest, tokens: &TokenResponse) -> [Cookie<'static>; 2] {
    let secure = secure_cookies(req);
    [
        Cookie::build(ACCESS_COOKIE, tokens.access_token.clone())
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(CookieDuration::seconds(tokens.expires_in))
            .finish(),
        Cookie::build(REFRESH_COOKIE, tokens.refresh_token.clone())
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(CookieDuration::seconds(tokens.refresh_expires_in))
            .finish(),
    ]
}

fn expired_cookie(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build(name, "").path("/").http_only(true).finish();
    c.make_removal();
    c
}

/// The signed-in account of a page request; `Err` carries where to send the browser.
pub(crate) async fn page_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Caller, AccountView), HttpResponse> {
    let next = url_escape(req.path());
    match crate::auth::from_cookie(req) {
        Some(Ok(caller)) => match service::me(state, caller.id.clone()).await {
            Ok(view) => Ok((caller, view)),
            Err(_) => Err(redirect(&format!("/sign-in?next={next}"))),
        },
        // An expired access cookie with a refresh cookie: rotate and come back.
        _ if req.cookie(REFRESH_COOKIE).is_some() => {
            Err(redirect(&format!("/session/refresh?next={next}")))
        }
        _ => Err(redirect(&format!("/sign-in?next={next}"))),
    }
}

/// Like [`page_session`], for a form post that took longer to fill in than an access token
/// lives (an exam): an expired access cookie is renewed with the refresh cookie on the spot
/// and the new cookies come back for the response, instead of a redirect that would lose
/// what was posted. `Err` sends the browser to sign in and then to `back`.
pub(crate) async fn form_session(
    state: &AppState,
    req: &HttpRequest,
    back: &str,
) -> Result<(Caller, AccountView, Vec<Cookie<'static>>), HttpResponse> {
    let to_sign_in = || redirect(&format!("/sign-in?next={}", url_escape(back)));
    if let Some(Ok(caller)) = crate::auth::from_cookie(req) {
        return match service::me(state, caller.id.clone()).await {
            Ok(view) => Ok((caller, view, Vec::new())),
            Err(_) => Err(to_sign_in()),
        };
    }
    let Some(refresh) = req.cookie(REFRESH_COOKIE) else {
        return Err(to_sign_in());
    };
    let request = service::RefreshRequest {
        refresh_token: refresh.value().to_owned(),
    };
    let Ok(tokens) = service::refresh(state, request).await else {
        return Err(to_sign_in());
    };
    let Ok(claims) = state.jwt.verify(&tokens.access_token) else {
        return Err(to_sign_in());
    };
    let cookies = session_cookies(req, &tokens).to_vec();
    Ok((Caller::from(claims), tokens.account, cookies))
}

pub(crate) fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn badge(view: &AccountView) -> Badge {
    Badge {
        name: view.display_name.clone(),
        role: view.role,
        body_class: view
            .accessibility
            .iter()
            .map(|p| format!("a11y-{}", p.replace('_', "-")))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

// ---------------------------------------------------------------- landing

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing<'a> {
    ctx: &'a PageCtx,
}

/// The public front page.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Signed in: to /home")))]
#[get("/")]
async fn landing(req: HttpRequest) -> HttpResponse {
    if let Some(Ok(_)) = crate::auth::from_cookie(&req) {
        return redirect("/home");
    }
    let ctx = PageCtx::new(&req, None);
    render(&ctx, &Landing { ctx: &ctx }, StatusCode::OK)
}

// ---------------------------------------------------------------- sign in / out

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    ctx: &'a PageCtx,
    email: String,
    next: String,
    message: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The sign-in form.
#[utoipa::path(tag = "pages", params(("next" = Option<String>, Query, description = "Where to go after signing in")), responses((status = 200, content_type = "text/html", body = String)))]
#[get("/sign-in")]
async fn sign_in_form(req: HttpRequest, q: web::Query<NextQuery>) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let page = SignIn {
        ctx: &ctx,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        message: None,
        notice: None,
    };
    render(&ctx, &page, StatusCode::OK)
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    csrf_token: String,
    next: Option<String>,
}

/// Signs in and sets the session cookies.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Signed in"), (status = 401, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/sign-in")]
async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let next = safe_next(form.next.as_deref());
    let login = LoginRequest {
        email: form.email.clone(),
        password: form.password,
    };
    match service::login(&state, login, &client_ip(&req)).await {
        Ok(tokens) => {
            let mut res = redirect(&next);
            for cookie in session_cookies(&req, &tokens) {
                let _ = res.add_cookie(&cookie);
            }
            res
        }
        Err(err) => {
            let (message, status) = match &err {
                AppError::TooManyRequests { retry_after_secs } => (
                    t_with(
                        ctx.lang,
                        "sign_in.throttled",
                        &[("seconds", &retry_after_secs.to_string())],
                    ),
                    StatusCode::TOO_MANY_REQUESTS,
                ),
                AppError::Unauthenticated { .. } | AppError::Validation(_) => (
                    ctx.t("sign_in.failed").into_owned(),
                    StatusCode::UNAUTHORIZED,
                ),
                _ => return error_page(&ctx, err),
            };
            let page = SignIn {
                ctx: &ctx,
                email: form.email,
                next,
                message: Some(message),
                notice: None,
            };
            render(&ctx, &page, status)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf_token: String,
}

/// Signs out: revokes the session and clears the cookies.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Signed out")))]
#[post("/sign-out")]
async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    if let Some(refresh) = req.cookie(REFRESH_COOKIE)
        && let Err(e) = service::logout(&state, refresh.value()).await
    {
        return error_page(&ctx, e);
    }
    let mut res = redirect("/");
    let _ = res.add_removal_cookie(&expired_cookie(ACCESS_COOKIE));
    let _ = res.add_removal_cookie(&expired_cookie(REFRESH_COOKIE));
    res
}

/// Rotates the page session's refresh token when the access cookie has expired.
#[utoipa::path(tag = "pages", params(("next" = Option<String>, Query)), responses((status = 303, description = "Back to `next`, or to sign-in")))]
#[get("/session/refresh")]
async fn refresh_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> HttpResponse {
    let next = safe_next(q.next.as_deref());
    let Some(refresh) = req.cookie(REFRESH_COOKIE) else {
        return redirect(&format!("/sign-in?next={}", url_escape(&next)));
    };
    let request = service::RefreshRequest {
        refresh_token: refresh.value().to_owned(),
    };
    match service::refresh(&state, request).await {
        Ok(tokens) => {
            let mut res = redirect(&next);
            for cookie in session_cookies(&req, &tokens) {
                let _ = res.add_cookie(&cookie);
            }
            res
        }
        Err(_) => {
            let mut res = redirect(&format!("/sign-in?next={}", url_escape(&next)));
            let _ = res.add_removal_cookie(&expired_cookie(ACCESS_COOKIE));
            let _ = res.add_removal_cookie(&expired_cookie(REFRESH_COOKIE));
            res
        }
    }
}

// ---------------------------------------------------------------- register

#[derive(Template)]
#[template(path = "register.html")]
struct Register<'a> {
    ctx: &'a PageCtx,
    role: String,
    email: String,
    display_name: String,
    merchant_name: String,
    errors: Vec<(String, String)>,
}

impl Register<'_> {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Deserialize)]
struct RoleQuery {
    role: Option<String>,
}

/// The registration form for shops and agents.
#[utoipa::path(tag = "pages", params(("role" = Option<String>, Query, description = "`merchant` or `agent`")), responses((status = 200, content_type = "text/html", body = String)))]
#[get("/register")]
async fn register_form(req: HttpRequest, q: web::Query<RoleQuery>) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let page = Register {
        ctx: &ctx,
        role: q
            .role
            .clone()
            .filter(|r| r == "merchant")
            .unwrap_or_else(|| "agent".into()),
        email: String::new(),
        display_name: String::new(),
        merchant_name: String::new(),
        errors: Vec::new(),
    };
    render(&ctx, &page, StatusCode::OK)
}

#[derive(Deserialize)]
struct RegisterForm {
    role: String,
    email: String,
    password: String,
    display_name: String,
    #[serde(default)]
    merchant_name: String,
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message<'a> {
    ctx: &'a PageCtx,
    title: String,
    text: String,
    ok: bool,
    link: Option<(String, String)>,
}

/// Creates the account and shows where the confirmation link went.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 201, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/register")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<RegisterForm>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let role = if form.role == "merchant" {
        RegisterRole::Merchant
    } else {
        RegisterRole::Agent
    };
    let request = RegisterRequest {
        role,
        email: form.email.clone(),
        password: form.password,
        display_name: form.display_name.clone(),
        merchant_name: Some(form.merchant_name.clone()),
        locale: Some(ctx.lang.as_str().to_owned()),
        time_zone: None,
    };
    match service::register(&state, request, ctx.lang).await {
        Ok(done) => message_page(
            &ctx,
            "register.done_title",
            t_with(
                ctx.lang,
                "register.done_text",
                &[("email", &done.account.email)],
            ),
            true,
            true,
            StatusCode::CREATED,
        ),
        Err(AppError::Validation(errors)) => {
            let page = Register {
                ctx: &ctx,
                role: form.role,
                email: form.email,
                display_name: form.display_name,
                merchant_name: form.merchant_name,
                errors: ctx.field_errors(&errors),
            };
            render(&ctx, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&ctx, e),
    }
}

// ---------------------------------------------------------------- email confirmation

#[derive(Template)]
#[template(path = "verify.html")]
struct Verify<'a> {
    ctx: &'a PageCtx,
    token: String,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A page that says one thing, optionally with a button to the sign-in page.
pub(crate) fn message_page(
    ctx: &PageCtx,
    title_key: &str,
    text: String,
    ok: bool,
    sign_in_link: bool,
    status: StatusCode,
) -> HttpResponse {
    let page = Message {
        ctx,
        title: ctx.t(title_key).into_owned(),
        text,
        ok,
        link: sign_in_link.then(|| ("/sign-in".to_owned(), ctx.t("nav.sign_in").into_owned())),
    };
    render(ctx, &page, status)
}

fn invalid_link_page(ctx: &PageCtx) -> HttpResponse {
    message_page(
        ctx,
        "verify.title",
        ctx.t("verify.invalid").into_owned(),
        false,
        true,
        StatusCode::BAD_REQUEST,
    )
}

/// The page a confirmation link opens. It asks for a click rather than confirming on
/// GET, so mail scanners that fetch links do not use the token up.
#[utoipa::path(tag = "pages", params(("token" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 400, content_type = "text/html", body = String)))]
#[get("/verify-email")]
async fn verify_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<TokenQuery>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let token = q.token.clone().unwrap_or_default();
    match service::email_token_usable(&state, &token, false).await {
        Ok(true) => render(&ctx, &Verify { ctx: &ctx, token }, StatusCode::OK),
        Ok(false) => invalid_link_page(&ctx),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
    csrf_token: String,
}

/// Confirms the email address.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 200, content_type = "text/html", body = String), (status = 400, content_type = "text/html", body = String)))]
#[post("/verify-email")]
async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    match service::verify_email(&state, &form.token).await {
        Ok(_) => message_page(
            &ctx,
            "verify.title",
            ctx.t("verify.done").into_owned(),
            true,
            true,
            StatusCode::OK,
        ),
        Err(AppError::Validation(_)) => invalid_link_page(&ctx),
        Err(e) => error_page(&ctx, e),
    }
}

// ---------------------------------------------------------------- password reset

#[derive(Template)]
#[template(path = "reset_request.html")]
struct ResetRequest<'a> {
    ctx: &'a PageCtx,
    email: String,
    errors: Vec<(String, String)>,
}

/// Asks for the address to mail a reset link to.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String)))]
#[get("/password-reset")]
async fn reset_form(req: HttpRequest) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    render(
        &ctx,
        &ResetRequest {
            ctx: &ctx,
            email: String::new(),
            errors: Vec::new(),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
    csrf_token: String,
}

/// Mails a reset link (the page says the same whether or not the account exists).
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 200, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/password-reset")]
async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    match service::request_password_reset(
        &state,
        PasswordResetRequest {
            email: form.email.clone(),
        },
    )
    .await
    {
        Ok(()) => message_page(
            &ctx,
            "reset.title",
            ctx.t("reset.sent").into_owned(),
            true,
            false,
            StatusCode::OK,
        ),
        Err(AppError::Validation(errors)) => {
            let page = ResetRequest {
                ctx: &ctx,
                email: form.email,
                errors: ctx.field_errors(&errors),
            };
            render(&ctx, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ResetConfirm<'a> {
    ctx: &'a PageCtx,
    token: String,
    errors: Vec<(String, String)>,
}

/// The page a reset (or invitation) link opens.
#[utoipa::path(tag = "pages", params(("token" = Option<String>, Query)), responses((status = 200, content_type = "text/html", body = String), (status = 400, content_type = "text/html", body = String)))]
#[get("/password-reset/confirm")]
async fn reset_confirm_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<TokenQuery>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let token = q.token.clone().unwrap_or_default();
    match service::email_token_usable(&state, &token, true).await {
        Ok(true) => render(
            &ctx,
            &ResetConfirm {
                ctx: &ctx,
                token,
                errors: Vec::new(),
            },
            StatusCode::OK,
        ),
        Ok(false) => invalid_link_page(&ctx),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize)]
struct NewPasswordForm {
    token: String,
    new_password: String,
    csrf_token: String,
}

/// Saves the new password.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 200, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/password-reset/confirm")]
async fn reset_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NewPasswordForm>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let form = form.into_inner();
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let request = PasswordResetConfirm {
        token: form.token.clone(),
        new_password: form.new_password,
    };
    match service::confirm_password_reset(&state, request).await {
        Ok(()) => message_page(
            &ctx,
            "reset.confirm_title",
            ctx.t("reset.done").into_owned(),
            true,
            true,
            StatusCode::OK,
        ),
        Err(AppError::Validation(errors)) if errors.iter().any(|e| e.field == "token") => {
            invalid_link_page(&ctx)
        }
        Err(AppError::Validation(errors)) => {
            let page = ResetConfirm {
                ctx: &ctx,
                token: form.token,
                errors: ctx.field_errors(&errors),
            };
            render(&ctx, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&ctx, e),
    }
}

// ---------------------------------------------------------------- home

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    ctx: &'a PageCtx,
    account: AccountView,
    welcome: String,
    role_label: String,
    status_label: Option<String>,
    member_since: String,
    next_step: Option<String>,
    failed_mail: Option<String>,
}

/// The signed-in home page, one per role.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in: to sign-in")))]
#[get("/home")]
async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (_caller, account) = match page_session(&state, &req).await {
        Ok(s) => s,
        Err(redirect) => return redirect,
    };
    let ctx = PageCtx::new(&req, Some(badge(&account)));
    let zone = crate::accounts::model::TimeZone::parse(&account.time_zone).unwrap_or_default();
    let since = account
        .created_at
        .with_timezone(&zone.0)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let failed_mail = if account.role == Role::Admin {
        match state.db.run(crate::mail::outbox::counts).await {
            Ok(counts) => {
                let failed = counts
                    .iter()
                    .find(|(s, _)| s == "failed")
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                Some(t_with(
                    ctx.lang,
                    "home.failed_mail",
                    &[("count", &failed.to_string())],
                ))
            }
            Err(e) => return error_page(&ctx, e.into()),
        }
    } else {
        None
    };
    let page = Home {
        ctx: &ctx,
        welcome: t_with(ctx.lang, "home.welcome", &[("name", &account.display_name)]),
        role_label: ctx
            .t(&format!("role.{}", account.role.as_str()))
            .into_owned(),
        status_label: account
            .agent_status
            .map(|s| ctx.t(&format!("status.{}", s.as_str())).into_owned()),
        member_since: t_with(
            ctx.lang,
            "home.member_since",
            &[("date", &since), ("zone", zone.name())],
        ),
        next_step: match account.role {
            Role::MerchantStaff => Some(ctx.t("home.merchant_next").into_owned()),
            Role::Agent => {
                use crate::accounts::model::AgentStatus;
                let key = match account.agent_status {
                    Some(AgentStatus::ExamPassed) => "home.agent_next_trial",
                    Some(AgentStatus::InTrial) => "home.agent_next_in_trial",
                    Some(AgentStatus::Certified) => "home.agent_next_certified",
                    Some(AgentStatus::Suspended) => "home.agent_next_suspended",
                    Some(AgentStatus::Left) => "home.agent_next_left",
                    Some(AgentStatus::Applicant) | None => "home.agent_next",
                };
                Some(ctx.t(key).into_owned())
            }
            Role::Admin => None,
        },
        failed_mail,
        account,
    };
    render(&ctx, &page, StatusCode::OK)
}

// ---------------------------------------------------------------- language

/// Switches the UI language (remembered in a cookie) and goes back.
#[utoipa::path(tag = "pages", params(("lang" = String, Path, description = "`en` or `zh-CN`"), ("next" = Option<String>, Query)), responses((status = 303, description = "Back to `next`")))]
#[get("/lang/{lang}")]
async fn switch_language(
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<NextQuery>,
) -> HttpResponse {
    let next = match q.next.as_deref() {
        Some(n) => safe_next(Some(n)),
        None => "/".to_owned(),
    };
    let mut res = redirect(&next);
    if let Some(locale) = Locale::parse(&path) {
        let cookie = Cookie::build(LANG_COOKIE, locale.as_str())
            .path("/")
            .same_site(SameSite::Lax)
            .secure(secure_cookies(&req))
            .max_age(CookieDuration::days(365))
            .finish();
        let _ = res.add_cookie(&cookie);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/home")), "/home");
        assert_eq!(safe_next(Some("//evil.example")), "/home");
        assert_eq!(safe_next(Some("https://evil.example")), "/home");
        assert_eq!(safe_next(Some("/\\evil.example")), "/home");
        assert_eq!(safe_next(None), "/home");
    }

    #[test]
    fn escapes_query_values() {
        assert_eq!(url_escape("/home?x=1&y"), "/home%3Fx%3D1%26y");
    }
}
