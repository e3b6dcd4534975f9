//! The use cases behind the integration API and page: one transaction each, every change
//! to a key or an endpoint in the audit log (never with a secret in it).

use diesel::QueryResult;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::keys::{self, ApiKeyView, WidgetKeyRow};
use super::webhooks::{
    self, DeliveryView, EndpointInput, EndpointView, EndpointWithSecret, ValidEndpoint,
};
use crate::accounts::model::{AccountId, MerchantId};
use crate::audit::{self, AuditEntry};
use crate::db::{DbConn, write_transaction};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::api::Page;

/// The shop's public widget key and how to embed the widget with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetKeyView {
    /// `wk_...`: public, it goes into the shop's pages.
    pub widget_key: String,
    /// Paste into every page that should offer the chat.
    pub embed_snippet: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub rotated_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn widget_view(state: &AppState, row: WidgetKeyRow) -> WidgetKeyView {
    WidgetKeyView {
        embed_snippet: embed_snippet(&state.public_url, &row.widget_key),
        widget_key: row.widget_key,
        created_at: row.created_at.and_utc(),
        rotated_at: row.rotated_at.map(|t| t.and_utc()),
    }
}

/// The `<script>` tag that loads the chat widget for a shop.
pub fn embed_snippet(public_url: &str, widget_key: &str) -> String {
    format!(r#"<script src="{public_url}/widget.js" data-key="{widget_key}" async></script>"#)
}

/// A key just created: the only answer that holds the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKeyView {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// `sk_...`: send it as `Authorization: Bearer <secret>`. Shown only now.
    pub secret: String,
}

/// One audit entry by a shop's staff (or an admin) on something of the integration layer.
fn audit_change(
    conn: &mut DbConn,
    actor: &AccountId,
    action: &str,
    target: (&str, &str),
    details: serde_json::Value,
    now: chrono::NaiveDateTime,
) -> QueryResult<()> {
    audit::record(
        conn,
        AuditEntry {
            actor: Some(actor),
            action,
            target_type: target.0,
            target_id: Some(target.1),
            details,
        },
        now,
    )
}

/// 404 for a shop that does not exist (an admin may name any id).
pub async fn ensure_merchant(state: &AppState, merchant: &MerchantId) -> Result<(), AppError> {
    let id = merchant.clone();
    let found = state
        .db
        .run(move |c| crate::accounts::store::find_merchant(c, &id))
        .await?;
    found.map(|_| ()).ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------- widget key

/// The shop's widget key, created on the first read.
pub async fn widget_key(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
) -> Result<WidgetKeyView, AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let row = state
        .db
        .run(move |conn| {
            // Read first: only the very first read of a shop needs the write lock.
            if let Some(row) = keys::find_widget_key(conn, &merchant)? {
                return Ok(row);
            }
            write_transaction(conn, |conn| {
                let (row, created) = keys::widget_key(conn, &merchant, now)?;
                if created {
                    let target = ("merchant", merchant.as_str());
                    audit_change(conn, &actor, "widget_key.created", target, json!({}), now)?;
                }
                QueryResult::Ok(row)
            })
        })
        .await?;
    Ok(widget_view(state, row))
}

/// A new widget key; pages embedding the old one stop getting the chat at once.
pub async fn rotate_widget_key(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
) -> Result<WidgetKeyView, AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let row = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let row = keys::rotate_widget_key(conn, &merchant, now)?;
                let target = ("merchant", merchant.as_str());
                audit_change(conn, &actor, "widget_key.rotated", target, json!({}), now)?;
                QueryResult::Ok(row)
            })
        })
        .await?;
    Ok(widget_view(state, row))
}

// ---------------------------------------------------------------- API keys

pub async fn list_api_keys(
    state: &AppState,
    merchant: &MerchantId,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<ApiKeyView>, AppError> {
    let merchant = merchant.clone();
    let rows = state
        .db
        .run(move |c| keys::list_api_keys(c, &merchant, cursor.as_deref(), limit + 1))
        .await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        ApiKeyView::from,
    ))
}

pub async fn create_api_key(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    label: &str,
) -> Result<NewApiKeyView, AppError> {
    let label =
        keys::parse_label(label).map_err(|e| AppError::field("label", e.code, e.message))?;
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let created = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some((row, secret)) =
                    keys::create_api_key(conn, &merchant, &label, &actor, now)?
                else {
                    return QueryResult::Ok(None);
                };
                let details =
                    json!({"merchant_id": merchant, "label": row.label, "hint": row.hint});
                audit_change(
                    conn,
                    &actor,
                    "api_key.created",
                    ("api_key", &row.id),
                    details,
                    now,
                )?;
                Ok(Some((row, secret)))
            })
        })
        .await?;
    let (row, secret) = created.ok_or_else(|| {
        AppError::conflict(
            "too_many_api_keys",
            format!(
                "a shop may hold {} active keys; revoke one first",
                keys::MAX_ACTIVE_API_KEYS
            ),
        )
    })?;
    Ok(NewApiKeyView {
        key: row.into(),
        secret,
    })
}

/// Revokes a key at once (revoking a revoked key changes nothing).
pub async fn revoke_api_key(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    key_id: String,
) -> Result<ApiKeyView, AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let revoked = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some((row, changed)) = keys::revoke_api_key(conn, &merchant, &key_id, now)?
                else {
                    return QueryResult::Ok(None);
                };
                if changed {
                    let details = json!({"merchant_id": merchant, "label": row.label});
                    let target = ("api_key", row.id.as_str());
                    audit_change(conn, &actor, "api_key.revoked", target, details, now)?;
                }
                Ok(Some(row))
            })
        })
        .await?;
    revoked.map(ApiKeyView::from).ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------- endpoints

fn validate(state: &AppState, input: &EndpointInput) -> Result<ValidEndpoint, AppError> {
    input
        .validate(state.settings.webhooks.allow_private_targets)
        .map_err(AppError::from)
}

fn endpoint_details(merchant: &MerchantId, e: &ValidEndpoint) -> serde_json::Value {
    json!({
        "merchant_id": merchant,
        "url": e.url,
        "events": e.events,
        "active": e.active,
    })
}

pub async fn list_endpoints(
    state: &AppState,
    merchant: &MerchantId,
) -> Result<Vec<EndpointView>, AppError> {
    let merchant = merchant.clone();
    let rows = state
        .db
        .run(move |c| webhooks::list_endpoints(c, &merchant))
        .await?;
    Ok(rows.into_iter().map(EndpointView::from).collect())
}

pub async fn get_endpoint(
    state: &AppState,
    merchant: &MerchantId,
    id: String,
) -> Result<EndpointView, AppError> {
    let merchant = merchant.clone();
    let row = state
        .db
        .run(move |c| webhooks::find_endpoint(c, &merchant, &id))
        .await?;
    row.map(EndpointView::from).ok_or(AppError::NotFound)
}

pub async fn create_endpoint(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    input: &EndpointInput,
) -> Result<EndpointWithSecret, AppError> {
    let valid = validate(state, input)?;
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let created = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(row) = webhooks::create_endpoint(conn, &merchant, &valid, &actor, now)?
                else {
                    return QueryResult::Ok(None);
                };
                let details = endpoint_details(&merchant, &valid);
                let target = ("webhook_endpoint", row.id.as_str());
                audit_change(
                    conn,
                    &actor,
                    "webhook_endpoint.created",
                    target,
                    details,
                    now,
                )?;
                Ok(Some(row))
            })
        })
        .await?;
    let row = created.ok_or_else(|| {
        AppError::conflict(
            "too_many_endpoints",
            format!(
                "a shop may have {} webhook endpoints; delete one first",
                webhooks::MAX_ENDPOINTS
            ),
        )
    })?;
    Ok(EndpointWithSecret {
        secret: row.secret.clone(),
        endpoint: row.into(),
    })
}

/// Replaces an endpoint's URL, events, active flag and description.
pub async fn update_endpoint(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    id: String,
    input: &EndpointInput,
) -> Result<EndpointView, AppError> {
    let valid = validate(state, input)?;
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let updated = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(row) = webhooks::update_endpoint(conn, &merchant, &id, &valid, now)?
                else {
                    return QueryResult::Ok(None);
                };
                let details = endpoint_details(&merchant, &valid);
                let target = ("webhook_endpoint", row.id.as_str());
                audit_change(
                    conn,
                    &actor,
                    "webhook_endpoint.updated",
                    target,
                    details,
                    now,
                )?;
                Ok(Some(row))
            })
        })
        .await?;
    updated.map(EndpointView::from).ok_or(AppError::NotFound)
}

/// Removes an endpoint with its delivery history.
pub async fn delete_endpoint(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    id: String,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let deleted = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(row) = webhooks::find_endpoint(conn, &merchant, &id)? else {
                    return QueryResult::Ok(false);
                };
                webhooks::delete_endpoint(conn, &merchant, &id)?;
                let details = json!({"merchant_id": merchant, "url": row.url});
                let target = ("webhook_endpoint", row.id.as_str());
                audit_change(
                    conn,
                    &actor,
                    "webhook_endpoint.deleted",
                    target,
                    details,
                    now,
                )?;
                Ok(true)
            })
        })
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// A new signing secret for an endpoint; deliveries from now on are signed with it.
pub async fn rotate_endpoint_secret(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    id: String,
) -> Result<EndpointWithSecret, AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let rotated = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(row) = webhooks::rotate_secret(conn, &merchant, &id, now)? else {
                    return QueryResult::Ok(None);
                };
                let details = json!({"merchant_id": merchant});
                let target = ("webhook_endpoint", row.id.as_str());
                audit_change(
                    conn,
                    &actor,
                    "webhook_endpoint.secret_rotated",
                    target,
                    details,
                    now,
                )?;
                Ok(Some(row))
            })
        })
        .await?;
    let row = rotated.ok_or(AppError::NotFound)?;
    Ok(EndpointWithSecret {
        secret: row.secret.clone(),
        endpoint: row.into(),
    })
}

// ---------------------------------------------------------------- deliveries

/// An endpoint's deliveries, newest first; `status` is `pending`, `delivered` or `failed`.
pub async fn list_deliveries(
    state: &AppState,
    merchant: &MerchantId,
    endpoint_id: String,
    status: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<DeliveryView>, AppError> {
    if let Some(s) = &status
        && !webhooks::DELIVERY_STATUSES.contains(&s.as_str())
    {
        return Err(AppError::field(
            "status",
            "invalid_value",
            "status is one of pending, delivered, failed",
        ));
    }
    let merchant = merchant.clone();
    let rows = state
        .db
        .run(move |c| {
            if webhooks::find_endpoint(c, &merchant, &endpoint_id)?.is_none() {
                return QueryResult::Ok(None);
            }
            webhooks::list_deliveries(
                c,
                &endpoint_id,
                status.as_deref(),
                cursor.as_deref(),
                limit + 1,
            )
            .map(Some)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        DeliveryView::from,
    ))
}

/// One more attempt, now, for a delivery that failed for good.
pub async fn retry_delivery(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    endpoint_id: String,
    delivery_id: String,
) -> Result<DeliveryView, AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let outcome = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(row) =
                    webhooks::find_delivery(conn, &merchant, &endpoint_id, &delivery_id)?
                else {
                    return QueryResult::Ok(Err(AppError::NotFound));
                };
                if !webhooks::retry_failed(conn, &row.id, now)? {
                    return Ok(Err(AppError::conflict(
                        "delivery_not_failed",
                        format!(
                            "the delivery is {}; only failed ones are retried",
                            row.status
                        ),
                    )));
                }
                let details = json!({"merchant_id": merchant, "endpoint_id": endpoint_id});
                let target = ("webhook_delivery", row.id.as_str());
                audit_change(
                    conn,
                    &actor,
                    "webhook_delivery.retried",
                    target,
                    details,
                    now,
                )?;
                let row = webhooks::find_delivery(conn, &merchant, &endpoint_id, &row.id)?
                    .ok_or(diesel::result::Error::NotFound)?;
                Ok(Ok(row))
            })
        })
        .await??;
    state.wake_webhooks();
    Ok(outcome.into())
}

/// Queues a `ping` to one endpoint, to check it receives and verifies deliveries.
pub async fn ping(
    state: &AppState,
    actor: &AccountId,
    merchant: &MerchantId,
    endpoint_id: String,
) -> Result<DeliveryView, AppError> {
    let now = state.clock.now();
    let (actor, merchant) = (actor.clone(), merchant.clone());
    let queued = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(endpoint) = webhooks::find_endpoint(conn, &merchant, &endpoint_id)? else {
                    return QueryResult::Ok(Err(AppError::NotFound));
                };
                if !endpoint.active {
                    return Ok(Err(AppError::conflict(
                        "endpoint_inactive",
                        "the endpoint is switched off; activate it first",
                    )));
                }
                let row = webhooks::enqueue_ping(conn, &endpoint, now)?;
                let details = json!({"merchant_id": merchant, "delivery_id": row.id});
                let target = ("webhook_endpoint", endpoint.id.as_str());
                audit_change(
                    conn,
                    &actor,
                    "webhook_endpoint.pinged",
                    target,
                    details,
                    now,
                )?;
                Ok(Ok(row))
            })
        })
        .await??;
    state.wake_webhooks();
    Ok(queued.into())
}
