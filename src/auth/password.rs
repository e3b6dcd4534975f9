//! Password hashing with argon2id at the crate's default (OWASP) parameters, which are
//! recorded in every PHC hash string so they can be raised later without breaking old hashes.
//! Hashing is CPU- and memory-heavy, so the async wrappers move it to the blocking pool.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Verified against when the email is unknown, so a failed login costs the same time
/// whether or not the account exists.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("cloudseat-dummy-password-for-timing").unwrap_or_default());

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// True when `password` matches `hash`; a malformed hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Runs the same verification work as a real login against an unknown account.
pub fn verify_dummy_blocking(password: &str) {
    let _ = verify_blocking(password, &DUMMY_HASH);
}

/// Forces the dummy hash to be computed at start-up rather than on the first login.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| hash_blocking(&password)))
        .await
        .map_err(|e| anyhow::anyhow!("hashing task failed: {e}"))?
}

/// Verifies against `hash`, or against the dummy hash when there is no account.
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| match hash {
            Some(h) => verify_blocking(&password, &h),
            None => {
                verify_dummy_blocking(&password);
                false
            }
        })
    })
    .await
    .map_err(|e| anyhow::anyhow!("verification task failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_blocking("violet-harbour-lantern-42").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m="), "{h}");
        assert!(verify_blocking("violet-harbour-lantern-42", &h));
        assert!(!verify_blocking("violet-harbour-lantern-43", &h));
        assert!(!verify_blocking("x", "not a hash"));
        // Salted: the same password hashes differently each time.
        assert_ne!(h, hash_blocking("violet-harbour-lantern-42").unwrap());
    }
}
