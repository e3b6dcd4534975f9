//! The stylesheet and the little JavaScript the pages use, compiled into the binary.

use actix_web::http::header;
use actix_web::{HttpResponse, get};
use utoipa_actix_web::service_config::ServiceConfig;

const APP_CSS: &str = include_str!("static/app.css");
const APP_JS: &str = include_str!("static/app.js");
const EXAM_JS: &str = include_str!("static/exam.js");
const TRIAL_JS: &str = include_str!("static/trial.js");
const WORKSPACE_JS: &str = include_str!("static/workspace.js");
const WIDGET_JS: &str = include_str!("static/widget.js");

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(app_css)
        .service(app_js)
        .service(exam_js)
        .service(trial_js)
        .service(workspace_js)
        .service(widget_js);
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// The stylesheet.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/css", body = String)))]
#[get("/static/app.css")]
async fn app_css() -> HttpResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// Progressive enhancements for the pages.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/app.js")]
async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The exam pages' countdown, autosave and submission when time runs out.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/exam.js")]
async fn exam_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", EXAM_JS)
}

/// The trial page's replies through the API, live announcements and time left.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/trial.js")]
async fn trial_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", TRIAL_JS)
}

/// The agent workspace's live chats over `/ws/agent`, offers, history and shortcuts.
#[utoipa::path(tag = "pages", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/static/workspace.js")]
async fn workspace_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", WORKSPACE_JS)
}

/// The customer chat widget a shop embeds in its pages:
/// `<script src="{public_url}/widget.js" data-key="wk_..." async></script>` (optional
/// `data-skill`, default `general`). Plain JavaScript that talks only to this service
/// (`/ws/customer`); it keeps the chat across reloads and dropped connections.
#[utoipa::path(tag = "chat", responses((status = 200, content_type = "text/javascript", body = String)))]
#[get("/widget.js")]
async fn widget_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", WIDGET_JS)
}
