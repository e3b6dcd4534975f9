//! Short-lived access tokens: HS256 JWTs. The validation pins the algorithm, so tokens
//! with `alg: none` or another algorithm are refused.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::accounts::model::{AccountId, MerchantId, Role};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The account id.
    pub sub: AccountId,
    pub role: Role,
    /// The merchant a staff account belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<MerchantId>,
    /// The sign-in session (refresh token family) the token was issued for: long-lived
    /// connections (the agent socket) check it is still signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl JwtKeys {
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn issue(
        &self,
        sub: &AccountId,
        role: Role,
        mid: Option<&MerchantId>,
    ) -> anyhow::Result<String> {
        self.issue_session(sub, role, mid, None)
    }

    /// A token tied to the sign-in session `sid` (the refresh token family).
    pub fn issue_session(
        &self,
        sub: &AccountId,
        role: Role,
        mid: Option<&MerchantId>,
        sid: Option<&str>,
    ) -> anyhow::Result<String> {
        let now = Utc::now();
        let claims = Claims {
            sub: sub.clone(),
            role,
            mid: mid.cloned(),
            sid: sid.map(str::to_owned),
            iat: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            b"test-secret-test-secret-test-secret",
            Duration::minutes(15),
        )
    }

    #[test]
    fn round_trip() {
        let id = AccountId::new();
        let token = keys().issue(&id, Role::Agent, None).unwrap();
        let claims = keys().verify(&token).unwrap();
        assert_eq!(claims.sub, id);
        assert_eq!(claims.role, Role::Agent);
        assert_eq!(claims.exp - claims.iat, 15 * 60);
    }

    #[test]
    fn refuses_tampering_other_keys_none_and_expiry() {
        let token = keys().issue(&AccountId::new(), Role::Agent, None).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        // Promote ourselves to admin without re-signing.
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let forged = URL_SAFE_NO_PAD.encode(payload.replace("\"agent\"", "\"admin\""));
        let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(keys().verify(&tampered), Err(TokenError::Invalid));

        let other = JwtKeys::new(b"another-secret-another-secret-xx", Duration::minutes(15));
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(keys().verify(&unsigned), Err(TokenError::Invalid));

        let expired = JwtKeys::new(
            b"test-secret-test-secret-test-secret",
            Duration::minutes(-10),
        )
        .issue(&AccountId::new(), Role::Agent, None)
        .unwrap();
        assert_eq!(keys().verify(&expired), Err(TokenError::Expired));
    }
}
