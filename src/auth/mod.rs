//! Authentication: argon2 passwords, JWT access tokens, rotating refresh tokens, login
//! throttling, and one extractor per role so a handler's signature says who may call it.
//!
//! The JSON API authenticates with `Authorization: Bearer`; pages keep the same tokens in
//! HttpOnly cookies and protect their forms with a CSRF token ([`csrf`]). Page scripts may
//! call the API with the session cookie only when they also send that CSRF token in the
//! `X-CSRF-Token` header, which a cross-site request cannot know: so no cross-site request
//! can ride a session.

pub mod csrf;
pub mod jwt;
pub mod password;
pub mod throttle;
pub mod tokens;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::accounts::model::{AccountId, MerchantId, Role};
use crate::error::AppError;
use crate::state::AppState;
use jwt::{Claims, TokenError};

pub const ACCESS_COOKIE: &str = "cs_access";
pub const REFRESH_COOKIE: &str = "cs_refresh";

/// Any signed-in account (API, bearer token).
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: AccountId,
    pub role: Role,
    pub merchant: Option<MerchantId>,
}

impl From<Claims> for Caller {
    fn from(c: Claims) -> Self {
        Caller {
            id: c.sub,
            role: c.role,
            merchant: c.mid,
        }
    }
}

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))
}

/// The claims of an access token, or the 401 saying why not.
pub fn verify_claims(req: &HttpRequest, token: &str) -> Result<Claims, AppError> {
    state(req)?
        .jwt
        .verify(token)
        .map_err(|e| AppError::Unauthenticated {
            code: match e {
                TokenError::Expired => "token_expired",
                TokenError::Invalid => "invalid_token",
            },
        })
}

fn verify(req: &HttpRequest, token: &str) -> Result<Caller, AppError> {
    verify_claims(req, token).map(Caller::from)
}

/// The token of an `Authorization: Bearer <token>` header: `None` without the header,
/// `Some(None)` when the header is not a non-empty bearer token. Session tokens and shops'
/// API keys both travel this way.
pub fn bearer_token(req: &HttpRequest) -> Option<Option<&str>> {
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION)?;
    Some(
        header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty()),
    )
}

pub const CSRF_HEADER: &str = "x-csrf-token";

fn bearer(req: &HttpRequest) -> Result<Caller, AppError> {
    let Some(token) = bearer_token(req) else {
        return cookie_with_csrf_header(req);
    };
    let token = token.ok_or(AppError::Unauthenticated {
        code: "invalid_token",
    })?;
    verify(req, token)
}

/// A page script's call: the session cookie plus the CSRF token in a header.
fn cookie_with_csrf_header(req: &HttpRequest) -> Result<Caller, AppError> {
    let missing = AppError::Unauthenticated {
        code: "missing_credentials",
    };
    let Some(cookie) = req.cookie(ACCESS_COOKIE) else {
        return Err(missing);
    };
    let submitted = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !csrf::verify(req, submitted) {
        return Err(AppError::Forbidden {
            code: "csrf_mismatch",
        });
    }
    verify(req, cookie.value())
}

/// The signed-in account of a page request, from the access cookie.
pub fn from_cookie(req: &HttpRequest) -> Option<Result<Caller, AppError>> {
    req.cookie(ACCESS_COOKIE)
        .map(|cookie| verify(req, cookie.value()))
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(bearer(req))
    }
}

macro_rules! role_extractor {
    ($(#[$meta:meta])* $name:ident, $role:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = Ready<Result<Self, AppError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(bearer(req).and_then(|caller| {
                    if caller.role == $role {
                        Ok($name(caller))
                    } else {
                        Err(AppError::Forbidden { code: "wrong_role" })
                    }
                }))
            }
        }
    };
}

role_extractor!(
    /// A signed-in remote agent.
    AgentSession,
    Role::Agent
);
role_extractor!(
    /// A signed-in admin.
    Admin,
    Role::Admin
);

/// A signed-in staff login of a shop; carries the shop it may act for.
#[derive(Debug, Clone)]
pub struct MerchantStaff {
    pub caller: Caller,
    pub merchant: MerchantId,
}

impl FromRequest for MerchantStaff {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            bearer(req).and_then(|caller| match (&caller.role, &caller.merchant) {
                (Role::MerchantStaff, Some(m)) => Ok(MerchantStaff {
                    merchant: m.clone(),
                    caller,
                }),
                _ => Err(AppError::Forbidden { code: "wrong_role" }),
            }),
        )
    }
}

/// The client address used for throttling: the TCP peer. (Behind a reverse proxy, set
/// the proxy to pass `X-Forwarded-For` and put actix's `realip` handling in front; until
/// then trusting that header would let any client pick its own throttle key.)
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}
