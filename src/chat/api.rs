//! The chat API for shops that bring their own front end, authenticated with a secret API
//! key (`Authorization: Bearer sk_...`): create a chat for a customer, post the customer's
//! messages, read the transcript. Agents' replies and closings reach the shop's system
//! through its signed webhooks (`chat.assigned`, `chat.message.agent`, `chat.closed`).
//! A chat created here is routed exactly like one from the widget.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::engine;
use super::routes::MessageView;
use super::service::{self, StartChat};
use super::store;
use crate::error::{AppError, Problem};
use crate::merchant_api::MerchantApiKey;
use crate::state::AppState;
use crate::web::api::ApiJson;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_chat)
        .service(post_message)
        .service(list_messages);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedChat {
    pub id: String,
    /// `queued`, or `left_message` when nobody is on shift for the skill.
    pub status: String,
    /// The customer (One-ID) the identities resolved to.
    pub customer_id: String,
    /// Resumes the chat on `/ws/customer` (`hello`), should the shop's front end want a
    /// live socket for it. Shown once.
    pub token: String,
}

/// Starts a chat for a customer of the key's shop. Identities link it to the customer's
/// earlier chats from any channel.
#[utoipa::path(
    tag = "chat",
    security(("api_key" = [])),
    request_body = StartChat,
    responses(
        (status = 201, body = CreatedChat),
        (status = 401, description = "`missing_api_key` or `invalid_api_key`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Each bad field named (`unknown_skill`, `unknown_chat_kind`, `unknown_identity_kind`, `message_too_long`, ...)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/chats")]
async fn create_chat(
    state: web::Data<AppState>,
    key: MerchantApiKey,
    body: ApiJson<StartChat>,
) -> Result<HttpResponse, AppError> {
    let raw = body.0;
    let token = crate::auth::tokens::generate();
    let hash = crate::auth::tokens::digest(&token);
    let ruleset = state.rules();
    let (id, status, customer_id) = engine::run(&state, move |conn, rules, now| {
        let input = service::validate_start(
            &raw,
            key.merchant,
            "api",
            &ruleset.skills,
            rules,
            &ruleset.pay,
            hash,
        )?;
        let (created, effects) = service::create(conn, &input, now)?;
        Ok((
            (created.chat.id, created.chat.status, created.customer),
            effects,
        ))
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedChat {
        id,
        status,
        customer_id,
        token,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerMessage {
    /// The shop's own id for the message; a retry with the same id is stored once.
    pub client_id: String,
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostedMessage {
    pub seq: i32,
    /// True when this `client_id` was stored before (a retry): nothing new was stored.
    pub duplicate: bool,
}

/// The shop's chat of this key, or 404 (another shop's chat does not exist for it).
fn own_chat(
    conn: &mut crate::db::DbConn,
    key: &MerchantApiKey,
    id: &str,
) -> Result<store::ChatRow, AppError> {
    store::chat(conn, id)?
        .filter(|c| c.merchant_id == key.merchant.as_str())
        .ok_or(AppError::NotFound)
}

/// Posts the customer's message into the chat (the agent sees it at once).
#[utoipa::path(
    tag = "chat",
    security(("api_key" = [])),
    params(("chat_id" = String, Path, description = "The chat's id")),
    request_body = CustomerMessage,
    responses(
        (status = 201, body = PostedMessage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The chat is closed (`chat_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`required`, `message_too_long`, `invalid_client_id`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/chats/{chat_id}/messages")]
async fn post_message(
    state: web::Data<AppState>,
    key: MerchantApiKey,
    path: web::Path<String>,
    body: ApiJson<CustomerMessage>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let CustomerMessage { client_id, body } = body.0;
    let posted = engine::run(&state, move |conn, rules, now| {
        let (effects, seq, duplicate) = service::customer_message(
            conn,
            &id,
            Some(&key.merchant),
            &client_id,
            &body,
            rules,
            now,
        )?;
        Ok((PostedMessage { seq, duplicate }, effects))
    })
    .await?;
    let status = if posted.duplicate {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::CREATED
    };
    Ok(HttpResponse::build(status).json(posted))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AfterQuery {
    /// Only messages numbered above this (the last one the caller has).
    pub after: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Transcript {
    pub chat_id: String,
    pub status: String,
    /// Up to 500 messages after `after`, oldest first; ask again from the last `seq`.
    pub messages: Vec<MessageView>,
}

/// The chat's messages after a number, for shops that poll instead of (or besides)
/// receiving webhooks.
#[utoipa::path(
    tag = "chat",
    security(("api_key" = [])),
    params(("chat_id" = String, Path, description = "The chat's id"), AfterQuery),
    responses(
        (status = 200, body = Transcript),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/chats/{chat_id}/messages")]
async fn list_messages(
    state: web::Data<AppState>,
    key: MerchantApiKey,
    path: web::Path<String>,
    q: web::Query<AfterQuery>,
) -> Result<web::Json<Transcript>, AppError> {
    let id = path.into_inner();
    let after = q.after.unwrap_or(0).max(0);
    let transcript = state
        .db
        .run(move |conn| {
            let chat = own_chat(conn, &key, &id)?;
            let messages = store::messages_after(conn, &id, after, 500)?
                .into_iter()
                .map(MessageView::from)
                .collect();
            Ok::<_, AppError>(Transcript {
                chat_id: chat.id,
                status: chat.status,
                messages,
            })
        })
        .await?;
    Ok(web::Json(transcript))
}
