//! Signed webhooks: a shop's endpoints, the events they subscribe to, and the delivery
//! outbox. A use case that causes an event calls [`enqueue`] inside its own transaction
//! (one row per subscribed endpoint), then [`crate::state::AppState::wake_webhooks`] after
//! commit; the [`super::sender::WebhookSender`] posts each delivery, signed with the
//! endpoint's secret, and retries with back-off until it is delivered or given up.
//!
//! The request a receiver gets: `POST <url>` with the JSON body
//! `{"id", "event", "created_at", "data"}` and the headers `Cloudseat-Event`,
//! `Cloudseat-Delivery` (the id) and `Cloudseat-Signature: t=<unix secs>,v1=<hex>`, where
//! `<hex>` is HMAC-SHA256 over `"<t>.<body>"` keyed with the endpoint's `whsec_...` secret.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::{AccountId, MerchantId};
use crate::auth::tokens;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{DbConn, new_id};
use crate::error::{FieldErrors, Invalid};

/// Every event a shop can subscribe to. `ping` is what the "send test" button sends.
pub const EVENTS: [&str; 5] = [
    "chat.assigned",
    "chat.message.agent",
    "chat.closed",
    "chat.left_message",
    "ping",
];
pub const SECRET_PREFIX: &str = "whsec_";
/// Endpoints a shop may have.
pub const MAX_ENDPOINTS: i64 = 10;
/// Longest accepted endpoint URL.
pub const MAX_URL_CHARS: usize = 2000;

pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", tokens::generate())
}

// ---------------------------------------------------------------- targets

/// Addresses a shop must not point the service at: its own host, the private network it
/// runs in, link-local (cloud metadata services live there) and unspecified addresses.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        // 0.0.0.0/8 and the carrier-grade NAT range 100.64.0.0/10.
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        // Unique local fc00::/7 and link-local fe80::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A URL the service may post to: http or https, no credentials in it, and, unless
/// `allow_private` (the setting `webhooks.allow_private_targets`), not a loopback, private
/// or link-local address or `localhost`. Names are checked again when they are resolved
/// at delivery time ([`super::sender`]), so a name that points inside is refused there.
pub fn parse_target(raw: &str, allow_private: bool) -> Result<url::Url, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Invalid::new("required", "a URL is required"));
    }
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(Invalid::new(
            "too_long",
            format!("a URL has at most {MAX_URL_CHARS} characters"),
        ));
    }
    let url = url::Url::parse(raw)
        .map_err(|_| Invalid::new("invalid_url", "this is not a valid absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Invalid::new(
            "unsupported_scheme",
            "the URL must start with https:// or http://",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::new(
            "userinfo_not_allowed",
            "the URL cannot hold a user name or password; sign requests with the secret instead",
        ));
    }
    let private = match url.host() {
        None => return Err(Invalid::new("invalid_url", "the URL has no host")),
        Some(url::Host::Domain(name)) => is_local_name(name),
        Some(url::Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
    };
    if private && !allow_private {
        return Err(Invalid::new(
            "private_target",
            "the URL points at a loopback, private or link-local address",
        ));
    }
    Ok(url)
}

/// The subscribed events: known names only, at least one, without repeats (order kept).
pub fn parse_events(raw: &[String]) -> Result<Vec<String>, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::new("required", "subscribe to at least one event"));
    }
    let mut events: Vec<String> = Vec::with_capacity(raw.len());
    for event in raw {
        if !EVENTS.contains(&event.as_str()) {
            return Err(Invalid::new(
                "unknown_event",
                format!("{event:?} is not one of {}", EVENTS.join(", ")),
            ));
        }
        if !events.contains(event) {
            events.push(event.clone());
        }
    }
    Ok(events)
}

fn parse_description(raw: Option<&str>) -> Result<String, Invalid> {
    let description = raw.unwrap_or("").trim();
    if description.chars().count() > 500 {
        return Err(Invalid::new(
            "too_long",
            "a description has at most 500 characters",
        ));
    }
    Ok(description.to_owned())
}

// ---------------------------------------------------------------- endpoints

/// An endpoint as a shop creates or replaces it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// `https://...` (or `http://...`) where deliveries are posted.
    pub url: String,
    /// Events to receive: `chat.assigned`, `chat.message.agent`, `chat.closed`,
    /// `chat.left_message`, `ping`.
    pub events: Vec<String>,
    /// Defaults to true.
    #[serde(default)]
    pub active: Option<bool>,
    /// A note for the shop's people, up to 500 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// A validated [`EndpointInput`].
#[derive(Debug, Clone)]
pub struct ValidEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub description: String,
}

impl EndpointInput {
    /// Every bad field at once.
    pub fn validate(&self, allow_private: bool) -> Result<ValidEndpoint, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = errors.check("url", parse_target(&self.url, allow_private));
        let events = errors.check("events", parse_events(&self.events));
        let description = errors.check(
            "description",
            parse_description(self.description.as_deref()),
        );
        match (url, events, description) {
            (Some(url), Some(events), Some(description)) if errors.is_empty() => {
                Ok(ValidEndpoint {
                    url: url.to_string(),
                    events,
                    active: self.active.unwrap_or(true),
                    description,
                })
            }
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: String,
    pub merchant_id: MerchantId,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub active: bool,
    pub description: String,
    pub created_by: AccountId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EndpointRow {
    pub fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn subscribes_to(&self, event: &str) -> bool {
        self.events().iter().any(|e| e == event)
    }
}

/// An endpoint as the API shows it (the secret only once, see [`EndpointWithSecret`]).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub description: String,
    pub created_by: AccountId,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<EndpointRow> for EndpointView {
    fn from(r: EndpointRow) -> Self {
        EndpointView {
            events: r.events(),
            id: r.id,
            url: r.url,
            active: r.active,
            description: r.description,
            created_by: r.created_by,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// An endpoint with its signing secret: the answer to creating it or rotating the secret,
/// the only times the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_...`: verify `Cloudseat-Signature` with it. Store it now.
    pub secret: String,
}

fn events_json(events: &[String]) -> QueryResult<String> {
    serde_json::to_string(events).map_err(|e| diesel::result::Error::SerializationError(e.into()))
}

pub fn find_endpoint(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .filter(webhook_endpoints::merchant_id.eq(merchant))
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()
}

/// The shop's endpoints, newest first.
pub fn list_endpoints(conn: &mut DbConn, merchant: &MerchantId) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::merchant_id.eq(merchant))
        .select(EndpointRow::as_select())
        .order(webhook_endpoints::id.desc())
        .load(conn)
}

/// Adds an endpoint with a fresh secret; `Ok(None)` when the shop has [`MAX_ENDPOINTS`].
pub fn create_endpoint(
    conn: &mut DbConn,
    merchant: &MerchantId,
    input: &ValidEndpoint,
    created_by: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<Option<EndpointRow>> {
    let count: i64 = webhook_endpoints::table
        .filter(webhook_endpoints::merchant_id.eq(merchant))
        .count()
        .get_result(conn)?;
    if count >= MAX_ENDPOINTS {
        return Ok(None);
    }
    let id = new_id();
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(&id),
            webhook_endpoints::merchant_id.eq(merchant),
            webhook_endpoints::url.eq(&input.url),
            webhook_endpoints::secret.eq(new_secret()),
            webhook_endpoints::events.eq(events_json(&input.events)?),
            webhook_endpoints::active.eq(input.active),
            webhook_endpoints::description.eq(&input.description),
            webhook_endpoints::created_by.eq(created_by),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_endpoint(conn, merchant, &id)
}

/// Replaces an endpoint's settings (not its secret); `None` when the shop has no such one.
pub fn update_endpoint(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
    input: &ValidEndpoint,
    now: NaiveDateTime,
) -> QueryResult<Option<EndpointRow>> {
    let n = diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::merchant_id.eq(merchant)),
    )
    .set((
        webhook_endpoints::url.eq(&input.url),
        webhook_endpoints::events.eq(events_json(&input.events)?),
        webhook_endpoints::active.eq(input.active),
        webhook_endpoints::description.eq(&input.description),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    find_endpoint(conn, merchant, id)
}

/// Gives an endpoint a new secret; deliveries from now on are signed with it.
pub fn rotate_secret(
    conn: &mut DbConn,
    merchant: &MerchantId,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<EndpointRow>> {
    let n = diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::merchant_id.eq(merchant)),
    )
    .set((
        webhook_endpoints::secret.eq(new_secret()),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    find_endpoint(conn, merchant, id)
}

/// Removes an endpoint and its delivery history; false when the shop has no such one.
pub fn delete_endpoint(conn: &mut DbConn, merchant: &MerchantId, id: &str) -> QueryResult<bool> {
    // Explicitly, not only by the foreign key's cascade: SQLite enforces it only with
    // `foreign_keys` on, which a hand-opened connection may not have.
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)))
        .execute(conn)?;
    let n = diesel::delete(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::merchant_id.eq(merchant)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

// ---------------------------------------------------------------- deliveries

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub merchant_id: MerchantId,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// One delivery as the shop sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub endpoint_id: String,
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The HTTP status of the last attempt, if the endpoint answered.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed (truncated).
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The event's `data`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(r: DeliveryRow) -> Self {
        DeliveryView {
            next_attempt_at: (r.status == "pending").then(|| r.next_attempt_at.and_utc()),
            data: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            id: r.id,
            endpoint_id: r.endpoint_id,
            event: r.event,
            status: r.status,
            attempts: r.attempts,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            created_at: r.created_at.and_utc(),
            delivered_at: r.delivered_at.map(|t| t.and_utc()),
        }
    }
}

pub const DELIVERY_STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

fn insert_delivery(
    conn: &mut DbConn,
    endpoint: &EndpointRow,
    event: &str,
    payload: &str,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(&id),
            webhook_deliveries::endpoint_id.eq(&endpoint.id),
            webhook_deliveries::merchant_id.eq(&endpoint.merchant_id),
            webhook_deliveries::event.eq(event),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Queues `event` with `payload` as its `data` for every active endpoint of the shop that
/// subscribes to it; returns how many deliveries were queued. Call inside the transaction of
/// the change that causes the event, and [`crate::state::AppState::wake_webhooks`] after
/// it commits.
pub fn enqueue(
    conn: &mut DbConn,
    merchant: &MerchantId,
    event: &str,
    payload: &serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    debug_assert!(
        EVENTS.contains(&event),
        "{event:?} is not a webhook event; add it to EVENTS"
    );
    let endpoints: Vec<EndpointRow> = webhook_endpoints::table
        .filter(webhook_endpoints::merchant_id.eq(merchant))
        .filter(webhook_endpoints::active.eq(true))
        .select(EndpointRow::as_select())
        .load(conn)?;
    let payload = payload.to_string();
    let mut queued = 0;
    for endpoint in endpoints.iter().filter(|e| e.subscribes_to(event)) {
        insert_delivery(conn, endpoint, event, &payload, now)?;
        queued += 1;
    }
    Ok(queued)
}

/// Queues a `ping` for one endpoint, whatever it subscribes to (the shop asked for it).
pub fn enqueue_ping(
    conn: &mut DbConn,
    endpoint: &EndpointRow,
    now: NaiveDateTime,
) -> QueryResult<DeliveryRow> {
    let payload = serde_json::json!({
        "message": "A test delivery from cloudseat.",
        "endpoint_id": endpoint.id,
    })
    .to_string();
    let id = insert_delivery(conn, endpoint, "ping", &payload, now)?;
    find_delivery(conn, &endpoint.merchant_id, &endpoint.id, &id)?
        .ok_or(diesel::result::Error::NotFound)
}

pub fn find_delivery(
    conn: &mut DbConn,
    merchant: &MerchantId,
    endpoint_id: &str,
    id: &str,
) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::merchant_id.eq(merchant))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()
}

/// An endpoint's deliveries, newest first, keyset-paginated by id.
pub fn list_deliveries(
    conn: &mut DbConn,
    endpoint_id: &str,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id.to_owned()))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before.to_owned()));
    }
    query
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .load(conn)
}

/// Delay before attempt `attempts + 1`, after `attempts` failures: `base` doubling, at most
/// `max`.
pub fn backoff(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exponent = (attempts.max(1) - 1).min(20) as u32;
    let factor = 2_i64.pow(exponent);
    Duration::seconds(base.num_seconds().saturating_mul(factor)).min(max)
}

/// Leases up to `limit` due deliveries for `lease`, so that two senders (two instances)
/// never post the same delivery at once: each is taken by a conditional UPDATE that only
/// one of them can win. Call in a write transaction.
pub fn lease_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<DeliveryRow>> {
    let candidates: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(now)),
        )
        .order((
            webhook_deliveries::next_attempt_at.asc(),
            webhook_deliveries::id.asc(),
        ))
        .limit(limit)
        .select(webhook_deliveries::id)
        .load(conn)?;
    let mut leased = Vec::with_capacity(candidates.len());
    for id in candidates {
        let taken = diesel::update(
            webhook_deliveries::table
                .find(&id)
                .filter(webhook_deliveries::status.eq("pending"))
                .filter(
                    webhook_deliveries::lease_until
                        .is_null()
                        .or(webhook_deliveries::lease_until.lt(now)),
                ),
        )
        .set(webhook_deliveries::lease_until.eq(now + lease))
        .execute(conn)?;
        if taken == 1 {
            leased.push(
                webhook_deliveries::table
                    .find(&id)
                    .select(DeliveryRow::as_select())
                    .first(conn)?,
            );
        }
    }
    Ok(leased)
}

/// The endpoint a leased delivery goes to (any shop's: the sender works for all of them).
pub fn endpoint_of(conn: &mut DbConn, delivery: &DeliveryRow) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(&delivery.endpoint_id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()
}

pub fn mark_delivered(
    conn: &mut DbConn,
    id: &str,
    status_code: u16,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("delivered"),
            webhook_deliveries::delivered_at.eq(Some(now)),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status_code.eq(Some(i32::from(status_code))),
            webhook_deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// How the sender's retries are paced.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub max_delay: Duration,
}

/// Records a failed attempt: retried after [`backoff`], or `failed` once `max_attempts`
/// attempts have been made. `error` is cut to 500 characters.
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    row: &DeliveryRow,
    status_code: Option<u16>,
    error: &str,
    now: NaiveDateTime,
    policy: RetryPolicy,
) -> QueryResult<()> {
    let attempts = row.attempts + 1;
    let status = if attempts >= policy.max_attempts {
        "failed"
    } else {
        "pending"
    };
    let error: String = error.chars().take(500).collect();
    diesel::update(webhook_deliveries::table.find(&row.id))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at
                .eq(now + backoff(attempts, policy.base, policy.max_delay)),
            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status_code.eq(status_code.map(i32::from)),
            webhook_deliveries::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Puts a failed delivery back in the queue for one more attempt now (its attempt count is
/// kept, so a failure marks it failed again). False when it is not failed.
pub fn retry_failed(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.eq("failed")),
    )
    .set((
        webhook_deliveries::status.eq("pending"),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// How many deliveries are in each state (for /metrics).
pub fn counts(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    webhook_deliveries::table
        .group_by(webhook_deliveries::status)
        .select((webhook_deliveries::status, diesel::dsl::count_star()))
        .load(conn)
}

// ---------------------------------------------------------------- the request

/// The body posted for a delivery: the same bytes on every attempt.
pub fn body(delivery: &DeliveryRow) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        id: &'a str,
        event: &'a str,
        created_at: String,
        data: serde_json::Value,
    }
    let body = Body {
        id: &delivery.id,
        event: &delivery.event,
        created_at: delivery
            .created_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        data: serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The `Cloudseat-Signature` header value: `t=<unix secs>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" keyed with the secret>`. The timestamp lets receivers refuse replays.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return format!("t={timestamp},v1="),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_refuse_credentials_odd_schemes_and_inside_addresses() {
        let code = |raw: &str| parse_target(raw, false).unwrap_err().code;
        assert!(parse_target("https://hooks.example.com/cloudseat", false).is_ok());
        assert!(parse_target("http://203.0.113.9:8080/x", false).is_ok());
        assert_eq!(code(""), "required");
        assert_eq!(code("not a url"), "invalid_url");
        assert_eq!(code("ftp://example.com/"), "unsupported_scheme");
        assert_eq!(code("javascript:alert(1)"), "unsupported_scheme");
        assert_eq!(code("https://user:pw@example.com/"), "userinfo_not_allowed");
        assert_eq!(code("https://user@example.com/"), "userinfo_not_allowed");
        for inside in [
            "http://localhost:3000/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert_eq!(code(inside), "private_target", "{inside}");
            assert!(parse_target(inside, true).is_ok(), "{inside} when allowed");
        }
    }

    #[test]
    fn events_must_be_known() {
        let events =
            |e: &[&str]| parse_events(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            events(&["chat.closed", "ping", "chat.closed"]).unwrap(),
            ["chat.closed", "ping"]
        );
        assert_eq!(events(&[]).unwrap_err().code, "required");
        assert_eq!(events(&["chat.opened"]).unwrap_err().code, "unknown_event");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::seconds(30);
        let max = Duration::hours(6);
        assert_eq!(backoff(1, base, max), Duration::seconds(30));
        assert_eq!(backoff(2, base, max), Duration::seconds(60));
        assert_eq!(backoff(4, base, max), Duration::seconds(240));
        assert_eq!(backoff(12, base, max), max);
        assert_eq!(backoff(1000, base, max), max);
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 gives HMAC-SHA256("Jefe", "what do ya want for nothing?");
        // split as "<t>.<body>" it checks the framing too.
        let sig = signature("Jefe", 0, "what do ya want for nothing?");
        assert!(sig.starts_with("t=0,v1="), "{sig}");
        let other = signature("Jefe", 1, "what do ya want for nothing?");
        assert_ne!(sig, other, "the timestamp is signed");
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        assert_eq!(
            sig,
            format!("t=0,v1={}", hex::encode(mac.finalize().into_bytes()))
        );
        // And the RFC's own vector through the same primitive.
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
