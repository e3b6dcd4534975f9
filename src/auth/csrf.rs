//! CSRF protection for the cookie-authenticated pages: the double-submit pattern with an
//! HttpOnly random cookie and the same value in a hidden form field, compared in constant
//! time. A cross-site form cannot read the cookie, so it cannot supply the field.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

pub const CSRF_COOKIE: &str = "cs_csrf";
pub const CSRF_FIELD: &str = "csrf_token";

/// The token for this browser: the existing cookie's, or a new one the response must set.
pub fn token_for(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    match req.cookie(CSRF_COOKIE) {
        Some(c) if c.value().len() >= 32 => (c.value().to_owned(), None),
        _ => {
            let token = super::tokens::generate();
            let cookie = Cookie::build(CSRF_COOKIE, token.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(crate::web::secure_cookies(req))
                .finish();
            (token, Some(cookie))
        }
    }
}

/// True when the submitted field matches the cookie.
pub fn verify(req: &HttpRequest, submitted: &str) -> bool {
    match req.cookie(CSRF_COOKIE) {
        Some(cookie) if !submitted.is_empty() => {
            cookie.value().as_bytes().ct_eq(submitted.as_bytes()).into()
        }
        _ => false,
    }
}
