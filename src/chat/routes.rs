//! JSON API of chats and customers for shops, admins and agents. Live traffic goes over
//! the sockets ([`super::ws`]); these endpoints are for lists, history and records.
//!
//! Who sees what: a shop's staff see their own shop's chats and customers (another shop
//! gets 404, as if nothing existed); admins see every shop's; an agent sees a chat they
//! hold or once took, and a customer's history only while holding one of their chats.

use actix_web::{get, post, put, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::engine;
use super::service::{self, Closer, Effects};
use super::store::{self, ChatRow};
use crate::accounts::model::{AccountId, MerchantId, Role};
use crate::auth::{AgentSession, Caller};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(merchant_chats)
        .service(chat_detail)
        .service(close_chat)
        .service(customer_detail)
        .service(set_customer_notes)
        .service(agent_chats)
        .service(set_chat_kind);
}

/// The figures recorded for every chat; seconds, `None` until the step happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChatMetrics {
    /// Created to first offer.
    pub time_to_offer_secs: Option<i64>,
    /// Created to accepted (time queued, including offers declined or timed out).
    pub time_queued_secs: Option<i64>,
    /// Offered to accepted, for the accepting agent.
    pub time_to_accept_secs: Option<i64>,
    /// Accepted to the agent's first message.
    pub first_response_secs: Option<i64>,
    /// Accepted to closed.
    pub handle_secs: Option<i64>,
    pub customer_messages: i32,
    pub agent_messages: i32,
    /// Agent messages per customer message, in hundredths (150 = 1.5 per message).
    pub agent_to_customer_ratio_pct: Option<i64>,
    pub transfers: i32,
    pub takebacks: i32,
}

/// Pure: a chat's metrics from its timestamps and counters.
pub fn metrics(
    chat: &ChatRow,
    first_offer: Option<NaiveDateTime>,
    accepted_offer_at: Option<NaiveDateTime>,
) -> ChatMetrics {
    let secs = |from: Option<NaiveDateTime>, to: Option<NaiveDateTime>| {
        Some((to? - from?).num_seconds().max(0))
    };
    ChatMetrics {
        time_to_offer_secs: secs(Some(chat.created_at), first_offer),
        time_queued_secs: secs(Some(chat.created_at), chat.accepted_at),
        time_to_accept_secs: secs(accepted_offer_at, chat.accepted_at),
        first_response_secs: secs(chat.accepted_at, chat.first_response_at),
        handle_secs: secs(chat.accepted_at, chat.closed_at),
        customer_messages: chat.customer_messages,
        agent_messages: chat.agent_messages,
        agent_to_customer_ratio_pct: (chat.customer_messages > 0)
            .then(|| i64::from(chat.agent_messages) * 100 / i64::from(chat.customer_messages)),
        transfers: chat.transfers,
        takebacks: chat.takebacks,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatSummary {
    pub id: String,
    pub merchant_id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub skill: String,
    /// `widget` or `api`.
    pub channel: String,
    /// `queued`, `offered`, `assigned`, `closed`, `abandoned` or `left_message`.
    pub status: String,
    pub agent_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    /// `agent`, `customer`, `merchant` or `system`.
    pub closed_by: Option<String>,
    pub close_reason: Option<String>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    /// The chat's kind for the piece rate; absent, a standard chat.
    pub kind: Option<String>,
}

impl From<&ChatRow> for ChatSummary {
    fn from(c: &ChatRow) -> Self {
        ChatSummary {
            id: c.id.clone(),
            merchant_id: c.merchant_id.clone(),
            customer_id: c.customer_id.clone(),
            customer_name: c.customer_name.clone(),
            skill: c.skill.clone(),
            channel: c.channel.clone(),
            status: c.status.clone(),
            agent_id: c.agent_id.clone(),
            created_at: c.created_at,
            accepted_at: c.accepted_at,
            closed_at: c.closed_at,
            closed_by: c.closed_by.clone(),
            close_reason: c.close_reason.clone(),
            rating: c.rating,
            rating_comment: c.rating_comment.clone(),
            kind: c.kind.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub seq: i32,
    /// `customer`, `agent` or `system`.
    pub from: String,
    /// Plain text, exactly as sent; never HTML.
    pub body: String,
    pub at: NaiveDateTime,
}

impl From<store::MessageRow> for MessageView {
    fn from(m: store::MessageRow) -> Self {
        MessageView {
            seq: m.seq,
            from: m.sender,
            body: m.body,
            at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub at: NaiveDateTime,
    pub kind: String,
    pub agent_id: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatDetail {
    #[serde(flatten)]
    pub chat: ChatSummary,
    pub metrics: ChatMetrics,
    pub messages: Vec<MessageView>,
    /// Offers, accepts, declines, take-backs, transfers and closing, in order.
    pub events: Vec<EventView>,
}

fn detail(conn: &mut crate::db::DbConn, chat: &ChatRow) -> Result<ChatDetail, AppError> {
    let first_offer = store::first_offer_at(conn, &chat.id)?;
    let events = store::events_of(conn, &chat.id)?;
    let accepted_offer = events
        .iter()
        .rev()
        .find(|e| e.kind == "offered" && e.agent_id == chat.agent_id)
        .map(|e| e.at)
        .filter(|_| chat.accepted_at.is_some());
    let messages = store::messages_after(conn, &chat.id, 0, 10_000)?
        .into_iter()
        .map(MessageView::from)
        .collect();
    Ok(ChatDetail {
        chat: ChatSummary::from(chat),
        metrics: metrics(chat, first_offer, accepted_offer),
        messages,
        events: events
            .into_iter()
            .map(|e| EventView {
                at: e.at,
                kind: e.kind,
                agent_id: e.agent_id,
                note: e.note,
            })
            .collect(),
    })
}

/// Staff of the chat's shop or an admin; others learn nothing.
fn may_see_shop(caller: &Caller, merchant: &str) -> Result<(), AppError> {
    crate::accounts::routes::may_see_merchant(caller, &MerchantId(merchant.to_owned()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatFilter {
    /// Only chats in this status.
    pub status: Option<String>,
}

const STATUSES: [&str; 6] = [
    "queued",
    "offered",
    "assigned",
    "closed",
    "abandoned",
    "left_message",
];

/// A shop's chats, newest first.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The shop's id"), ChatFilter, PageQuery),
    responses(
        (status = 200, body = Page<ChatSummary>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such shop, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/merchants/{merchant_id}/chats")]
async fn merchant_chats(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    filter: web::Query<ChatFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ChatSummary>>, AppError> {
    let merchant = path.into_inner();
    may_see_shop(&caller, &merchant)?;
    let status = filter.into_inner().status;
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(AppError::field(
            "status",
            "unknown_status",
            format!("status is one of {}", STATUSES.join(", ")),
        ));
    }
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .run(move |conn| {
            store::merchant_chats(
                conn,
                &merchant,
                status.as_deref(),
                cursor.as_deref(),
                limit + 1,
            )
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| ChatSummary::from(&r),
    )))
}

/// One chat with its messages, events and metrics.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "The chat's id")),
    responses(
        (status = 200, body = ChatDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chat, or not one the caller may see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/chats/{chat_id}")]
async fn chat_detail(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<ChatDetail>, AppError> {
    let id = path.into_inner();
    let detail = state
        .db
        .run(move |conn| {
            let chat = store::chat(conn, &id)?.ok_or(AppError::NotFound)?;
            match caller.role {
                Role::Agent => {
                    if !(chat.held_by(&caller.id)
                        || store::agent_handled(conn, &chat.id, caller.id.as_str())?)
                    {
                        return Err(AppError::NotFound);
                    }
                }
                _ => may_see_shop(&caller, &chat.merchant_id)?,
            }
            detail(conn, &chat)
        })
        .await?;
    Ok(web::Json(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// Why the shop closed it, shown in the chat's record.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Closes a chat on the shop's side (an admin may too). The customer and the agent are
/// told at once.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "The chat's id")),
    request_body = CloseInput,
    responses(
        (status = 200, body = ChatSummary),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed (`chat_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/chats/{chat_id}/close")]
async fn close_chat(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: ApiJson<CloseInput>,
) -> Result<web::Json<ChatSummary>, AppError> {
    if caller.role == Role::Agent {
        return Err(AppError::Forbidden { code: "wrong_role" });
    }
    let reason = body
        .0
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::field(
            "reason",
            "too_long",
            "a reason is at most 500 characters",
        ));
    }
    let id = path.into_inner();
    let summary = engine::run(&state, move |conn, _, now| {
        let chat = store::chat(conn, &id)?.ok_or(AppError::NotFound)?;
        may_see_shop(&caller, &chat.merchant_id)?;
        let effects = service::close(conn, &id, Closer::Merchant, reason.as_deref(), now)?;
        let chat = store::chat(conn, &id)?.ok_or(AppError::NotFound)?;
        crate::audit::record(
            conn,
            crate::audit::AuditEntry {
                actor: Some(&caller.id),
                action: "chat.closed_by_shop",
                target_type: "chat",
                target_id: Some(&id),
                details: serde_json::json!({ "reason": reason }),
            },
            now,
        )?;
        Ok((ChatSummary::from(&chat), effects))
    })
    .await?;
    Ok(web::Json(summary))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerChat {
    #[serde(flatten)]
    pub chat: ChatSummary,
    pub messages: Vec<MessageView>,
}

/// One customer across every channel: identities, the shop's notes and their chats.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: String,
    pub merchant_id: String,
    pub display_name: Option<String>,
    pub notes: String,
    pub identities: Vec<IdentityView>,
    pub created_at: NaiveDateTime,
    /// Newest first, at most 50.
    pub chats: Vec<CustomerChat>,
}

fn customer_view(conn: &mut crate::db::DbConn, id: &str) -> Result<CustomerView, AppError> {
    let c = store::customer(conn, id)?.ok_or(AppError::NotFound)?;
    let identities = store::identities_of(conn, &c.id)?
        .into_iter()
        .map(|(kind, value)| IdentityView { kind, value })
        .collect();
    let chats = store::chats_of_customer(conn, &c.id, 50)?
        .iter()
        .map(|chat| {
            let messages = store::messages_after(conn, &chat.id, 0, 1000)?
                .into_iter()
                .map(MessageView::from)
                .collect();
            Ok(CustomerChat {
                chat: ChatSummary::from(chat),
                messages,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(CustomerView {
        id: c.id,
        merchant_id: c.merchant_id,
        display_name: c.display_name,
        notes: c.notes,
        identities,
        created_at: c.created_at,
        chats,
    })
}

/// Resolves a merged customer to the one it was merged into.
fn resolve_customer(conn: &mut crate::db::DbConn, id: &str) -> Result<String, AppError> {
    let mut id = id.to_owned();
    for _ in 0..10 {
        let c = store::customer(conn, &id)?.ok_or(AppError::NotFound)?;
        match c.merged_into {
            Some(next) => id = next,
            None => return Ok(id),
        }
    }
    Ok(id)
}

/// A customer's history across all their chats and channels. Shops and admins see their
/// customers; an agent sees a customer while holding one of their chats.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("customer_id" = String, Path, description = "The customer's id")),
    responses(
        (status = 200, body = CustomerView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/customers/{customer_id}")]
async fn customer_detail(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<CustomerView>, AppError> {
    let id = path.into_inner();
    let view = state
        .db
        .run(move |conn| {
            let id = resolve_customer(conn, &id)?;
            let c = store::customer(conn, &id)?.ok_or(AppError::NotFound)?;
            match caller.role {
                Role::Agent => {
                    if !store::agent_serves_customer(conn, &c.id, caller.id.as_str())? {
                        return Err(AppError::NotFound);
                    }
                }
                _ => may_see_shop(&caller, &c.merchant_id)?,
            }
            customer_view(conn, &id)
        })
        .await?;
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesInput {
    /// The shop's notes on the customer (orders, preferences), shown to agents serving
    /// them. Plain text, at most 5000 characters.
    pub notes: String,
}

pub const MAX_NOTES_CHARS: usize = 5000;

/// Replaces the shop's notes on a customer.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("customer_id" = String, Path, description = "The customer's id")),
    request_body = NotesInput,
    responses(
        (status = 200, body = CustomerView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/customers/{customer_id}/notes")]
async fn set_customer_notes(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: ApiJson<NotesInput>,
) -> Result<web::Json<CustomerView>, AppError> {
    if caller.role == Role::Agent {
        return Err(AppError::Forbidden { code: "wrong_role" });
    }
    let notes = body.0.notes;
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(AppError::field(
            "notes",
            "too_long",
            format!("notes are at most {MAX_NOTES_CHARS} characters"),
        ));
    }
    let id = path.into_inner();
    let view = engine::run(&state, move |conn, _, now| {
        let id = resolve_customer(conn, &id)?;
        let c = store::customer(conn, &id)?.ok_or(AppError::NotFound)?;
        may_see_shop(&caller, &c.merchant_id)?;
        store::set_notes(conn, &id, &notes, now)?;
        crate::audit::record(
            conn,
            crate::audit::AuditEntry {
                actor: Some(&caller.id),
                action: "customer.notes_changed",
                target_type: "customer",
                target_id: Some(&id),
                details: serde_json::json!({ "chars": notes.chars().count() }),
            },
            now,
        )?;
        Ok((customer_view(conn, &id)?, Effects::default()))
    })
    .await?;
    Ok(web::Json(view))
}

/// Chats the signed-in agent took, newest first.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<ChatSummary>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/agent/chats")]
async fn agent_chats(
    state: web::Data<AppState>,
    agent: AgentSession,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<ChatSummary>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let id: AccountId = agent.0.id;
    let rows = state
        .db
        .run(move |conn| store::agent_chats(conn, id.as_str(), cursor.as_deref(), limit + 1))
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        |r| ChatSummary::from(&r),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatKindInput {
    /// One of the pay plan's chat kinds (`pre_sale`, `after_sale`, `complaint`), or null
    /// for a standard chat.
    pub kind: Option<String>,
}

/// The agent who took the chat says what it was about, for their piece rate.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("chat_id" = String, Path, description = "The chat's id")),
    request_body = ChatKindInput,
    responses(
        (status = 204, description = "Set"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chat, or not one this agent took", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_chat_kind`, naming `kind`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/chats/{chat_id}/kind")]
async fn set_chat_kind(
    state: web::Data<AppState>,
    agent: AgentSession,
    path: web::Path<String>,
    body: ApiJson<ChatKindInput>,
) -> Result<actix_web::HttpResponse, AppError> {
    let id = path.into_inner();
    let me = agent.0.id;
    let kind = body.0.kind;
    let pay = state.rules();
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                service::set_kind(conn, &me, &id, kind.as_deref(), &pay.pay)
            })
        })
        .await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn at(s: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 11)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            + Duration::seconds(s)
    }

    fn row() -> ChatRow {
        ChatRow {
            id: "c".into(),
            merchant_id: "m".into(),
            customer_id: "u".into(),
            skill: "general".into(),
            channel: "widget".into(),
            status: "closed".into(),
            agent_id: Some("a".into()),
            priority: 0,
            queued_at: at(0),
            created_at: at(0),
            first_offered_at: Some(at(2)),
            accepted_at: Some(at(30)),
            first_response_at: Some(at(45)),
            closed_at: Some(at(330)),
            closed_by: Some("agent".into()),
            close_reason: None,
            last_seq: 9,
            customer_messages: 4,
            agent_messages: 5,
            transfers: 1,
            takebacks: 0,
            customer_read_seq: 9,
            agent_read_seq: 9,
            rating: Some(5),
            rating_comment: None,
            customer_name: None,
            last_customer_at: at(300),
            idle_warned_at: None,
            handover_note: None,
            kind: None,
            concurrent_at_accept: 0,
        }
    }

    #[test]
    fn metrics_follow_the_chat_timeline() {
        let m = metrics(&row(), Some(at(2)), Some(at(25)));
        assert_eq!(m.time_to_offer_secs, Some(2));
        assert_eq!(m.time_queued_secs, Some(30));
        assert_eq!(m.time_to_accept_secs, Some(5));
        assert_eq!(m.first_response_secs, Some(15));
        assert_eq!(m.handle_secs, Some(300));
        assert_eq!(m.agent_to_customer_ratio_pct, Some(125));
        assert_eq!((m.transfers, m.takebacks), (1, 0));
    }

    #[test]
    fn metrics_of_a_chat_nobody_took_are_empty_not_zero() {
        let mut chat = row();
        chat.accepted_at = None;
        chat.first_response_at = None;
        chat.closed_at = Some(at(60));
        chat.customer_messages = 0;
        chat.agent_messages = 0;
        let m = metrics(&chat, None, None);
        assert_eq!(m.time_to_offer_secs, None);
        assert_eq!(m.time_queued_secs, None);
        assert_eq!(m.first_response_secs, None);
        assert_eq!(m.handle_secs, None);
        assert_eq!(m.agent_to_customer_ratio_pct, None);
    }
}
