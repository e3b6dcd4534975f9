//! The shop's keys: the public widget key (`wk_...`, one per shop, in the page that embeds
//! the chat widget) and secret API keys (`sk_...`, several per shop, for shops that bring
//! their own front end). Secret keys are shown once and stored only as a SHA-256 digest, like
//! refresh tokens, so a database leak hands out no keys.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::{AccountId, MerchantId};
use crate::auth::tokens;
use crate::db::schema::{merchant_api_keys, merchant_widget_keys};
use crate::db::{DbConn, is_unique_violation, new_id};
use crate::error::{AppError, Invalid};
use crate::state::AppState;

pub const WIDGET_KEY_PREFIX: &str = "wk_";
pub const API_KEY_PREFIX: &str = "sk_";
/// Active (unrevoked) secret keys a shop may hold at once.
pub const MAX_ACTIVE_API_KEYS: i64 = 20;
/// `last_used_at` is written at most this often per key, so a busy integration does not
/// turn every request into a write.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

// ---------------------------------------------------------------- widget key

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = merchant_widget_keys)]
pub struct WidgetKeyRow {
    pub merchant_id: MerchantId,
    pub widget_key: String,
    pub created_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
}

fn new_widget_key() -> String {
    format!("{WIDGET_KEY_PREFIX}{}", tokens::generate())
}

/// The shop's widget key if it has one yet (a read, unlike [`widget_key`]).
pub fn find_widget_key(
    conn: &mut DbConn,
    merchant: &MerchantId,
) -> QueryResult<Option<WidgetKeyRow>> {
    merchant_widget_keys::table
        .find(merchant)
        .select(WidgetKeyRow::as_select())
        .first(conn)
        .optional()
}

/// The shop's widget key, created on first read. The flag says whether this call created
/// it. Two first reads at once both end with the one key that won the insert.
pub fn widget_key(
    conn: &mut DbConn,
    merchant: &MerchantId,
    now: NaiveDateTime,
) -> QueryResult<(WidgetKeyRow, bool)> {
    if let Some(row) = find_widget_key(conn, merchant)? {
        return Ok((row, false));
    }
    // In a savepoint, so that losing the race does not abort a PostgreSQL transaction the
    // caller may have open.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(merchant_widget_keys::table)
            .values((
                merchant_widget_keys::merchant_id.eq(merchant),
                merchant_widget_keys::widget_key.eq(new_widget_key()),
                merchant_widget_keys::created_at.eq(now),
            ))
            .execute(conn)
    });
    let created = match inserted {
        Ok(_) => true,
        Err(e) if is_unique_violation(&e) => false,
        Err(e) => return Err(e),
    };
    let row = find_widget_key(conn, merchant)?.ok_or(diesel::result::Error::NotFound)?;
    Ok((row, created))
}

/// Replaces the shop's widget key; the old one stops working at once.
pub fn rotate_widget_key(
    conn: &mut DbConn,
    merchant: &MerchantId,
    now: NaiveDateTime,
) -> QueryResult<WidgetKeyRow> {
    widget_key(conn, merchant, now)?;
    diesel::update(merchant_widget_keys::table.find(merchant))
        .set((
            merchant_widget_keys::widget_key.eq(new_widget_key()),
            merchant_widget_keys::rotated_at.eq(Some(now)),
        ))
        .execute(conn)?;
    find_widget_key(conn, merchant)?.ok_or(diesel::result::Error::NotFound)
}

/// The shop a widget key belongs to, for the chat widget's requests. A rotated-away key
/// (or anything else) is `None`.
pub fn merchant_for_widget_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<MerchantId>> {
    if !key.starts_with(WIDGET_KEY_PREFIX) {
        return Ok(None);
    }
    merchant_widget_keys::table
        .filter(merchant_widget_keys::widget_key.eq(key))
        .select(merchant_widget_keys::merchant_id)
        .first(conn)
        .optional()
}

// ---------------------------------------------------------------- secret API keys

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = merchant_api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub merchant_id: MerchantId,
    pub label: String,
    pub key_hash: String,
    pub hint: String,
    pub created_by: AccountId,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// What anyone with access to the shop sees of a key (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub label: String,
    /// `sk_…` and the key's last four characters, to tell keys apart.
    pub hint: String,
    pub created_by: AccountId,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Updated at most once a minute.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(r: ApiKeyRow) -> Self {
        ApiKeyView {
            id: r.id,
            label: r.label,
            hint: r.hint,
            created_by: r.created_by,
            created_at: r.created_at.and_utc(),
            last_used_at: r.last_used_at.map(|t| t.and_utc()),
            revoked_at: r.revoked_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyRequest {
    /// What the key is for, e.g. `Shop app (production)`; 1 to 100 characters.
    pub label: String,
}

/// A trimmed label of 1 to 100 characters.
pub fn parse_label(raw: &str) -> Result<String, Invalid> {
    let label = raw.trim();
    if label.is_empty() {
        return Err(Invalid::new("required", "a label is required"));
    }
    if label.chars().count() > 100 {
        return Err(Invalid::new(
            "too_long",
            "a label has at most 100 characters",
        ));
    }
    if label.chars().any(char::is_control) {
        return Err(Invalid::new(
            "invalid_value",
            "a label cannot hold control characters",
        ));
    }
    Ok(label.to_owned())
}

fn hint_of(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{API_KEY_PREFIX}…{tail}")
}

/// Creates a key; returns its row and the secret, which is not stored and cannot be shown
/// again. `Ok(None)` when the shop already holds [`MAX_ACTIVE_API_KEYS`] active keys.
pub fn create_api_key(
    conn: &mut DbConn,
    merchant: &MerchantId,
    label: &str,
    created_by: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<Option<(ApiKeyRow, String)>> {
    let active: i64 = merchant_api_keys::table
        .filter(merchant_api_keys::merchant_id.eq(merchant))
        .filter(merchant_api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    if active >= MAX_ACTIVE_API_KEYS {
        return Ok(None);
    }
    let secret = format!("{API_KEY_PREFIX}{}", tokens::generate());
    let id = new_id();
    diesel::insert_into(merchant_api_keys::table)
        .values((
            merchant_api_keys::id.eq(&id),
            merchant_api_keys::merchant_id.eq(merchant),
            merchant_api_keys::label.eq(label),
            merchant_api_keys::key_hash.eq(tokens::digest(&secret)),
            merchant_api_keys::hint.eq(hint_of(&secret)),
            merchant_api_keys::created_by.eq(created_by),
            merchant_api_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    let row = find_api_key(conn, merchant, &id)?.ok_or(diesel::result::Error::NotFound)?;
    Ok(Some((row, secret)))
}

/// One of the shop's keys; another shop's is `None`, like a missing one.
pub fn find_api_key(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
) -> QueryResult<Option<ApiKeyRow>> {
    merchant_api_keys::table
        .find(id)
        .filter(merchant_api_keys::merchant_id.eq(merchant))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()
}

/// The shop's keys, newest first (revoked ones too, with when), keyset-paginated by id.
pub fn list_api_keys(
    conn: &mut DbConn,
    merchant: &MerchantId,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ApiKeyRow>> {
    let mut query = merchant_api_keys::table
        .filter(merchant_api_keys::merchant_id.eq(merchant))
        .select(ApiKeyRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(merchant_api_keys::id.lt(before.to_owned()));
    }
    query
        .order(merchant_api_keys::id.desc())
        .limit(limit)
        .load(conn)
}

/// Revokes a key at once. The flag says whether this call revoked it (false when it was
/// revoked already); `None` when the shop has no such key.
pub fn revoke_api_key(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(ApiKeyRow, bool)>> {
    let revoked = diesel::update(
        merchant_api_keys::table
            .find(id)
            .filter(merchant_api_keys::merchant_id.eq(merchant))
            .filter(merchant_api_keys::revoked_at.is_null()),
    )
    .set(merchant_api_keys::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(find_api_key(conn, merchant, id)?.map(|row| (row, revoked == 1)))
}

/// The active key behind a presented secret, noting that it was used. Looks the key up by
/// its digest, so there is nothing to compare in constant time.
pub fn authenticate(
    conn: &mut DbConn,
    secret: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ApiKeyRow>> {
    if !secret.starts_with(API_KEY_PREFIX) {
        return Ok(None);
    }
    let Some(row) = merchant_api_keys::table
        .filter(merchant_api_keys::key_hash.eq(tokens::digest(secret)))
        .filter(merchant_api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let stale_before = now - Duration::seconds(LAST_USED_RESOLUTION_SECS);
    if row.last_used_at.is_none_or(|t| t < stale_before) {
        // Conditional, so concurrent requests write once; read-only otherwise (a no-op
        // UPDATE would still take SQLite's write lock).
        diesel::update(
            merchant_api_keys::table.find(&row.id).filter(
                merchant_api_keys::last_used_at
                    .is_null()
                    .or(merchant_api_keys::last_used_at.lt(stale_before)),
            ),
        )
        .set(merchant_api_keys::last_used_at.eq(Some(now)))
        .execute(conn)?;
    }
    Ok(Some(row))
}

// ---------------------------------------------------------------- extractor

/// A request made with a shop's secret API key (`Authorization: Bearer sk_...`). Use it in
/// handlers that shops call from their own back end; a missing header is
/// `401 missing_api_key`, anything else that is not an active key (malformed, unknown or
/// revoked alike) is `401 invalid_api_key`.
#[derive(Debug, Clone)]
pub struct MerchantApiKey {
    pub merchant: MerchantId,
    pub key_id: String,
}

fn presented_key(req: &HttpRequest) -> Result<String, AppError> {
    let token = crate::auth::bearer_token(req).ok_or(AppError::Unauthenticated {
        code: "missing_api_key",
    })?;
    token
        .filter(|t| t.starts_with(API_KEY_PREFIX) && t.len() <= 200)
        .map(str::to_owned)
        .ok_or(AppError::Unauthenticated {
            code: "invalid_api_key",
        })
}

impl FromRequest for MerchantApiKey {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented_key(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let secret = presented?;
            let state = state
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?;
            let now = state.clock.now();
            let found = state
                .db
                .run(move |conn| authenticate(conn, &secret, now))
                .await?;
            found
                .map(|row| MerchantApiKey {
                    merchant: row.merchant_id,
                    key_id: row.id,
                })
                .ok_or(AppError::Unauthenticated {
                    code: "invalid_api_key",
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(parse_label("  Shop app ").unwrap(), "Shop app");
        assert_eq!(parse_label(" ").unwrap_err().code, "required");
        assert_eq!(parse_label(&"x".repeat(101)).unwrap_err().code, "too_long");
        assert_eq!(parse_label("a\nb").unwrap_err().code, "invalid_value");
    }

    #[test]
    fn hints_show_only_the_last_four_characters() {
        assert_eq!(hint_of("sk_abcdefgh"), "sk_…efgh");
        assert!(new_widget_key().starts_with("wk_"));
    }
}
