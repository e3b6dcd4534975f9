//! The model-chat library for agents: exemplary chats by track, each with its masked
//! transcript and why it is a model (the flagging review's scores and comments). The same
//! use cases as `GET /api/model-chats` and `GET /api/model-chats/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use super::queue_pages::{local, zone_of};
use crate::accounts::model::Locale;
use crate::auth::Caller;
use crate::certification::pages::agent_session;
use crate::state::AppState;
use crate::web::api::{Page, PageQuery};
use crate::web::pages::{PageCtx, error_page, render, url_escape};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(library_page).service(model_chat_page);
}

/// Model chats per page.
const LIBRARY_PAGE: i64 = 20;

struct Entry {
    id: String,
    skill: String,
    added: String,
    messages: usize,
}

#[derive(Template)]
#[template(path = "quality/library.html")]
struct LibraryPage<'a> {
    ctx: &'a PageCtx,
    skills: Vec<(String, String)>,
    skill: String,
    entries: Vec<Entry>,
    next_page: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LibraryQuery {
    /// Only this track's (skill's) model chats.
    skill: Option<String>,
    cursor: Option<String>,
}

fn caller(account: &crate::accounts::service::AccountView) -> Caller {
    Caller {
        id: account.id.clone(),
        role: account.role,
        merchant: None,
    }
}

/// The model-chat library (certified agents), newest first, by track.
#[utoipa::path(tag = "pages", params(LibraryQuery), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, description = "Not an agent, or not yet certified", content_type = "text/html", body = String)))]
#[get("/agent/model-chats")]
async fn library_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LibraryQuery>,
) -> HttpResponse {
    let (ctx, account) = match agent_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let skill = q.skill.clone().unwrap_or_default().trim().to_owned();
    let paging = PageQuery {
        limit: Some(LIBRARY_PAGE),
        cursor: q.cursor.clone(),
    };
    let result = async {
        let (limit, cursor) = paging.parse()?;
        let filter = (!skill.is_empty()).then(|| skill.clone());
        let rows = library::list(&state, caller(&account), filter, limit, cursor).await?;
        Ok::<_, crate::error::AppError>(Page::from_rows(rows, limit, |r| r.id.clone(), |r| r))
    }
    .await;
    let page = match result {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, e),
    };
    let rules = state.rules();
    let zone = zone_of(&account.time_zone);
    let view = LibraryPage {
        ctx: &ctx,
        skills: rules.skill_names(ctx.lang),
        entries: page
            .items
            .iter()
            .map(|m| Entry {
                id: m.id.clone(),
                skill: rules.skill_name(&m.skill, ctx.lang),
                added: local(m.added_at.naive_utc(), zone),
                messages: m.messages,
            })
            .collect(),
        next_page: page.next_cursor.map(|c| {
            format!(
                "/agent/model-chats?skill={}&cursor={}",
                url_escape(&skill),
                url_escape(&c)
            )
        }),
        skill,
    };
    render(&ctx, &view, StatusCode::OK)
}

struct Line {
    sender: String,
    who: String,
    body: String,
}

struct Why {
    name: String,
    score: u32,
    max: u32,
    comment: Option<String>,
}

#[derive(Template)]
#[template(path = "quality/model_chat.html")]
struct ModelChatPage<'a> {
    ctx: &'a PageCtx,
    skill: String,
    added: String,
    transcript: Vec<Line>,
    why: Vec<Why>,
}

/// One model chat: its masked transcript and why it is a model.
#[utoipa::path(tag = "pages", params(("model_chat_id" = String, Path)), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/agent/model-chats/{model_chat_id}")]
async fn model_chat_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (ctx, account) = match agent_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let chat = match library::get(&state, caller(&account), path.into_inner()).await {
        Ok(c) => c,
        Err(e) => return error_page(&ctx, e),
    };
    let zh = ctx.lang == Locale::ZhCn;
    let view = ModelChatPage {
        ctx: &ctx,
        skill: state.rules().skill_name(&chat.skill, ctx.lang),
        added: local(chat.added_at.naive_utc(), zone_of(&account.time_zone)),
        transcript: chat
            .transcript
            .iter()
            .map(|l| Line {
                who: ctx
                    .t(&format!("quality_pages.sender_{}", l.sender))
                    .into_owned(),
                sender: l.sender.clone(),
                body: l.body.clone(),
            })
            .collect(),
        why: chat
            .why
            .iter()
            .map(|c| Why {
                name: if zh {
                    c.name_zh.clone()
                } else {
                    c.name_en.clone()
                },
                score: c.score,
                max: c.max,
                comment: c.comment.clone(),
            })
            .collect(),
    };
    render(&ctx, &view, StatusCode::OK)
}
