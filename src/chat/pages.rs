//! The agent's workspace page and the demo shop page.
//!
//! The workspace is live by nature: the page is a frame (controls, empty lists, the
//! shortcuts) and `static/workspace.js` fills it from `/ws/agent` and the JSON API. The
//! page hands the script what only the server knows: the agent's time zone, the service
//! clock (tests and a skewed laptop must agree on countdowns), the CSRF token for API
//! calls, and the interface text in the page's language.
//!
//! The demo shop page embeds the customer widget exactly as a shop would, so the demo and
//! the browser tests have a customer side.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::certification::exam_pages::{Agent, agent_or_return};
use crate::state::AppState;
use crate::web::i18n::t;
use crate::web::pages::{PageCtx, error_page, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(workspace_page).service(demo_shop_page);
}

/// Interface text the workspace script needs, by the key it uses there.
const SCRIPT_TEXT: [&str; 49] = [
    "connecting",
    "connected",
    "reconnecting",
    "session_ended",
    "no_offers",
    "no_chats",
    "offer_line",
    "offer_left",
    "accept",
    "decline",
    "new_offer",
    "new_message",
    "customer",
    "you",
    "system",
    "sending",
    "sent",
    "read",
    "typing",
    "unread",
    "waiting_since",
    "reply_within",
    "reply_overdue",
    "replied",
    "handover",
    "closed",
    "taken_back",
    "rated",
    "idle_warning",
    "dismiss",
    "history_title",
    "history_none",
    "history_unavailable",
    "notes",
    "no_notes",
    "identities",
    "previous_chats",
    "chat_on",
    "briefing_unavailable",
    "briefing_empty",
    "products",
    "shipping",
    "returns",
    "other",
    "quick_replies",
    "insert",
    "error",
    "previous_chats_count",
    "channel_skill",
];

#[derive(Template)]
#[template(path = "agents/workspace.html")]
struct WorkspacePage<'a> {
    ctx: &'a PageCtx,
    zone: String,
    zone_note: String,
    now_iso: String,
    /// The script's text as a JSON object (escaped by the template as an attribute).
    strings: String,
}

/// The agent's live workspace: presence, offers, the chats they hold in tabs, the
/// customer's history and the shop's briefing.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, description = "Not an agent", content_type = "text/html", body = String)))]
#[get("/agent/chats")]
async fn workspace_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let agent = agent_or_return!(Agent::of_page(&state, &req).await);
    let strings: serde_json::Map<String, serde_json::Value> = SCRIPT_TEXT
        .iter()
        .map(|key| {
            let text = t(agent.ctx.lang, &format!("workspace.js_{key}")).into_owned();
            ((*key).to_owned(), serde_json::Value::String(text))
        })
        .collect();
    let page = WorkspacePage {
        ctx: &agent.ctx,
        zone: agent.zone.name().to_owned(),
        zone_note: agent.t("workspace.times_in", &[("zone", agent.zone.name())]),
        now_iso: state
            .clock
            .now()
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        strings: serde_json::Value::Object(strings).to_string(),
    };
    agent.finish(render(&agent.ctx, &page, StatusCode::OK))
}

#[derive(Debug, Deserialize)]
struct DemoQuery {
    key: Option<String>,
}

#[derive(Template)]
#[template(path = "demo_shop.html")]
struct DemoShopPage<'a> {
    ctx: &'a PageCtx,
    shop: String,
    key: String,
}

/// A pretend shop front with the chat widget, for a shop's widget key (`?key=wk_...`);
/// an unknown key is a 404.
#[utoipa::path(tag = "pages", params(("key" = String, Query, description = "The shop's widget key")), responses((status = 200, content_type = "text/html", body = String), (status = 404, description = "No or unknown widget key", content_type = "text/html", body = String)))]
#[get("/demo/shop")]
async fn demo_shop_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<DemoQuery>,
) -> HttpResponse {
    let ctx = PageCtx::new(&req, None);
    let Some(key) = q.into_inner().key.filter(|k| k.starts_with("wk_")) else {
        return error_page(&ctx, crate::error::AppError::NotFound);
    };
    let lookup = key.clone();
    let shop = state
        .db
        .run(move |conn| {
            let Some(merchant) = crate::merchant_api::keys::merchant_for_widget_key(conn, &lookup)?
            else {
                return Ok(None);
            };
            use crate::db::schema::merchants;
            use diesel::prelude::*;
            let name: String = merchants::table
                .find(merchant.as_str())
                .select(merchants::name)
                .first(conn)?;
            Ok::<_, crate::error::AppError>(Some(name))
        })
        .await
        .map_err(crate::error::AppError::from);
    match shop {
        Ok(Some(shop)) => render(
            &ctx,
            &DemoShopPage {
                ctx: &ctx,
                shop,
                key,
            },
            StatusCode::OK,
        ),
        Ok(None) => error_page(&ctx, crate::error::AppError::NotFound),
        Err(e) => error_page(&ctx, e),
    }
}
