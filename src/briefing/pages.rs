//! The shop's briefing page (staff): the four sections with the conflict shown when someone
//! saved first, the quick replies (add, edit, delete, move) and the change history. Works
//! without JavaScript; every form carries the CSRF token.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{
    BRIEFING_BODY_LIMIT, BriefingView, MAX_BODY_CHARS, MAX_QUICK_REPLIES, MAX_SECTION_CHARS,
    MAX_TITLE_CHARS, QuickReplyInput, QuickReplyView, RevisionView, SaveBriefing, Section, moved,
};
use super::service::{self, Editor};
use crate::accounts::model::Locale;
use crate::error::{AppError, FieldError};
use crate::seats::pages::shop_session;
use crate::seats::service::Actor;
use crate::state::AppState;
use crate::web::api::read_body;
use crate::web::i18n::t_with;
use crate::web::pages::{PageCtx, check_csrf, error_page, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(briefing_page)
        .service(save_page)
        .service(add_reply_page)
        .service(edit_reply_page)
        .service(delete_reply_page)
        .service(move_reply_page);
}

/// Revisions per page of the history.
const HISTORY_PAGE: i64 = 20;
/// Form bodies of a quick reply: 2,000 CJK characters percent-encoded, and the rest.
const REPLY_BODY_LIMIT: usize = 64 * 1024;

struct SectionField {
    name: &'static str,
    label: String,
    hint: String,
    value: String,
    invalid: bool,
    /// Another editor's current text, after a conflict, where it differs from ours.
    theirs: Option<String>,
}

struct ReplyRow {
    id: String,
    title: String,
    body: String,
    shortcut: Option<String>,
    skill: String,
    first: bool,
    last: bool,
}

#[derive(Default)]
struct ReplyForm {
    action: String,
    editing: bool,
    title: String,
    body: String,
    shortcut: String,
    skill: String,
}

struct RevisionRow {
    version: i32,
    when: String,
    who: String,
    changed: String,
    texts: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "briefing/briefing.html")]
struct BriefingPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    message: Option<String>,
    errors: Vec<(String, String)>,
    conflict: Option<String>,
    saved: String,
    version: i32,
    sections: Vec<SectionField>,
    max_section: usize,
    replies: Vec<ReplyRow>,
    reply_form: ReplyForm,
    max_title: usize,
    max_body: usize,
    skills: Vec<(String, String)>,
    revisions: Vec<RevisionRow>,
    older: Option<String>,
}

/// What a page shows beyond the stored state: a notice, what was typed, what went wrong.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    message: Option<String>,
    errors: Vec<FieldError>,
    /// The sections as typed (after a refused save).
    typed: Option<SaveBriefing>,
    conflict: bool,
    /// The quick reply form as typed, and the reply it edits.
    reply: Option<(QuickReplyInput, Option<String>)>,
    /// `?edit=`: the reply to load into the form.
    edit: Option<String>,
    history_cursor: Option<String>,
}

fn section_label(ctx: &PageCtx, s: Section) -> String {
    ctx.t(&format!("briefing.section.{}", s.as_str()))
        .into_owned()
}

/// A field error in the page's language, under the field's label.
fn field_message(ctx: &PageCtx, e: &FieldError) -> (String, String) {
    let key = format!("field_error.{}", e.code);
    let text = crate::_rust_i18n_try_translate(ctx.lang.as_str(), &key)
        .map(|t| t.into_owned())
        .unwrap_or_else(|| ctx.t("field_error.other").into_owned());
    let (id, label) = match Section::parse(&e.field) {
        Some(s) => (e.field.clone(), section_label(ctx, s)),
        None => (
            format!("qr_{}", e.field),
            ctx.t(&format!("briefing.reply_{}", e.field)).into_owned(),
        ),
    };
    (id, format!("{label}: {text}"))
}

fn local_time(state: &AppState, at: chrono::DateTime<chrono::Utc>) -> String {
    let tz = state.rules().market.time_zone;
    format!(
        "{} ({})",
        at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        tz.name()
    )
}

fn saved_line(state: &AppState, ctx: &PageCtx, b: &BriefingView) -> String {
    match (&b.updated_by_name, b.updated_at) {
        (Some(name), Some(at)) => t_with(
            ctx.lang,
            "briefing.saved_version",
            &[
                ("version", &b.version.to_string()),
                ("name", name),
                ("when", &local_time(state, at)),
            ],
        ),
        _ => ctx.t("briefing.never_saved").into_owned(),
    }
}

fn revision_row(state: &AppState, ctx: &PageCtx, r: RevisionView) -> RevisionRow {
    let texts: Vec<(String, String)> = [
        (Section::Products, r.products),
        (Section::Shipping, r.shipping),
        (Section::Returns, r.returns),
        (Section::Other, r.other),
    ]
    .into_iter()
    .filter_map(|(s, text)| text.map(|t| (section_label(ctx, s), t)))
    .collect();
    RevisionRow {
        version: r.version,
        when: local_time(state, r.created_at),
        who: r.created_by_name,
        changed: r
            .changed
            .iter()
            .map(|s| section_label(ctx, *s))
            .collect::<Vec<_>>()
            .join(match ctx.lang {
                Locale::ZhCn => "、",
                Locale::En => ", ",
            }),
        texts,
    }
}

/// Loads the shop's briefing, replies and history and renders them with `shown` on top.
async fn show(
    state: &AppState,
    ctx: &PageCtx,
    editor: &Editor,
    shown: Shown,
    status: StatusCode,
) -> HttpResponse {
    let merchant = editor.merchant.clone();
    let loaded = async {
        let briefing = service::briefing(state, merchant.clone()).await?;
        let replies =
            service::quick_replies(state, merchant.clone(), None, MAX_QUICK_REPLIES).await?;
        let revisions = service::revisions(
            state,
            merchant.clone(),
            shown.history_cursor.clone(),
            HISTORY_PAGE + 1,
        )
        .await?;
        Ok::<_, AppError>((briefing, replies, revisions))
    }
    .await;
    let (briefing, replies, revisions) = match loaded {
        Ok(l) => l,
        Err(e) => return error_page(ctx, e),
    };
    let rules = state.rules();
    let invalid: Vec<&str> = shown.errors.iter().map(|e| e.field.as_str()).collect();
    let max = MAX_SECTION_CHARS.to_string();
    let sections = Section::ALL
        .into_iter()
        .map(|s| {
            let stored = briefing_text(&briefing, s);
            let value = shown
                .typed
                .as_ref()
                .map(|t| typed_text(t, s).to_owned())
                .unwrap_or_else(|| stored.to_owned());
            let differs = value.replace("\r\n", "\n") != stored;
            SectionField {
                name: s.as_str(),
                label: section_label(ctx, s),
                hint: t_with(
                    ctx.lang,
                    &format!("briefing.hint.{}", s.as_str()),
                    &[("max", &max)],
                ),
                invalid: invalid.contains(&s.as_str()),
                theirs: (shown.conflict && differs).then(|| stored.to_owned()),
                value,
            }
        })
        .collect();
    let conflict = shown.conflict.then(|| {
        t_with(
            ctx.lang,
            "briefing.conflict",
            &[
                ("name", briefing.updated_by_name.as_deref().unwrap_or("-")),
                ("version", &briefing.version.to_string()),
                (
                    "when",
                    &briefing
                        .updated_at
                        .map(|at| local_time(state, at))
                        .unwrap_or_default(),
                ),
            ],
        )
    });
    let count = replies.len();
    let reply_form = match (shown.reply, shown.edit) {
        (Some((typed, editing)), _) => ReplyForm {
            action: editing.as_ref().map_or_else(
                || "/seats/briefing/quick-replies".to_owned(),
                |id| format!("/seats/briefing/quick-replies/{id}"),
            ),
            editing: editing.is_some(),
            title: typed.title,
            body: typed.body,
            shortcut: typed.shortcut.unwrap_or_default(),
            skill: typed.skill.unwrap_or_default(),
        },
        (None, Some(id)) => match replies.iter().find(|r| r.id == id) {
            Some(r) => ReplyForm {
                action: format!("/seats/briefing/quick-replies/{}", r.id),
                editing: true,
                title: r.title.clone(),
                body: r.body.clone(),
                shortcut: r.shortcut.clone().unwrap_or_default(),
                skill: r.skill.clone().unwrap_or_default(),
            },
            None => return error_page(ctx, AppError::NotFound),
        },
        (None, None) => ReplyForm {
            action: "/seats/briefing/quick-replies".to_owned(),
            ..ReplyForm::default()
        },
    };
    let history =
        crate::web::api::Page::from_rows(revisions, HISTORY_PAGE, |r| r.id.clone(), |r| r);
    let page = BriefingPage {
        notice: shown.notice,
        message: shown.message,
        errors: shown.errors.iter().map(|e| field_message(ctx, e)).collect(),
        conflict,
        saved: saved_line(state, ctx, &briefing),
        // After a conflict the next save replaces the other editor's version knowingly;
        // otherwise it stays based on the version this editor loaded.
        version: match &shown.typed {
            Some(t) if !shown.conflict => t.version,
            _ => briefing.version,
        },
        sections,
        max_section: MAX_SECTION_CHARS,
        replies: replies
            .into_iter()
            .enumerate()
            .map(|(i, r): (usize, QuickReplyView)| ReplyRow {
                skill: r.skill.as_deref().map_or_else(
                    || ctx.t("briefing.reply_all_skills").into_owned(),
                    |s| rules.skill_name(s, ctx.lang),
                ),
                id: r.id,
                title: r.title,
                body: r.body,
                shortcut: r.shortcut,
                first: i == 0,
                last: i + 1 == count,
            })
            .collect(),
        reply_form,
        max_title: MAX_TITLE_CHARS,
        max_body: MAX_BODY_CHARS,
        skills: rules.skill_names(ctx.lang),
        revisions: history
            .items
            .into_iter()
            .map(|r| revision_row(state, ctx, r))
            .collect(),
        older: history
            .next_cursor
            .map(|c| format!("/seats/briefing?history={c}#history-heading")),
        ctx,
    };
    render(ctx, &page, status)
}

fn briefing_text(b: &BriefingView, s: Section) -> &str {
    match s {
        Section::Products => &b.products,
        Section::Shipping => &b.shipping,
        Section::Returns => &b.returns,
        Section::Other => &b.other,
    }
}

fn typed_text(t: &SaveBriefing, s: Section) -> &str {
    match s {
        Section::Products => &t.products,
        Section::Shipping => &t.shipping,
        Section::Returns => &t.returns,
        Section::Other => &t.other,
    }
}

/// The page's session as an editor of the signed-in staff's shop.
async fn staff_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(PageCtx, Editor), HttpResponse> {
    let (ctx, actor) = shop_session(state, req).await?;
    match actor {
        Actor::Staff { account, merchant } => Ok((ctx, Editor { account, merchant })),
        Actor::Admin { .. } => Err(error_page(&ctx, AppError::Forbidden { code: "wrong_role" })),
    }
}

fn notice(ctx: &PageCtx, key: Option<&str>) -> Option<String> {
    let key = match key? {
        "saved" => "briefing.notice.saved",
        "unchanged" => "briefing.notice.unchanged",
        "reply_added" => "briefing.notice.reply_added",
        "reply_saved" => "briefing.notice.reply_saved",
        "reply_deleted" => "briefing.notice.reply_deleted",
        "reply_moved" => "briefing.notice.reply_moved",
        _ => return None,
    };
    Some(ctx.t(key).into_owned())
}

#[derive(Debug, Deserialize)]
struct BriefingQuery {
    notice: Option<String>,
    edit: Option<String>,
    /// Cursor of the change history.
    history: Option<String>,
}

/// The briefing, quick replies and change history of the signed-in staff's shop.
#[utoipa::path(tag = "pages", params(("notice" = Option<String>, Query), ("edit" = Option<String>, Query, description = "A quick reply to edit"), ("history" = Option<String>, Query, description = "Cursor of the change history")), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/seats/briefing")]
async fn briefing_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<BriefingQuery>,
) -> HttpResponse {
    let (ctx, editor) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let history_cursor = match q.history.filter(|h| !h.is_empty()) {
        None => None,
        Some(raw) => match (crate::web::api::PageQuery {
            limit: None,
            cursor: Some(raw),
        })
        .parse()
        {
            Ok((_, cursor)) => cursor,
            Err(e) => return error_page(&ctx, e),
        },
    };
    let shown = Shown {
        notice: notice(&ctx, q.notice.as_deref()),
        edit: q.edit.filter(|e| !e.is_empty()),
        history_cursor,
        ..Shown::default()
    };
    show(&state, &ctx, &editor, shown, StatusCode::OK).await
}

/// Reads an urlencoded form of at most `limit` bytes (a briefing outgrows the usual limit).
async fn read_form<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, AppError> {
    let body = read_body(req, payload.into_inner(), limit).await?;
    serde_urlencoded::from_bytes(&body)
        .map_err(|e| AppError::field("form", "invalid_form", e.to_string()))
}

#[derive(Debug, Deserialize)]
struct SaveForm {
    csrf_token: String,
    version: String,
    #[serde(default)]
    products: String,
    #[serde(default)]
    shipping: String,
    #[serde(default)]
    returns: String,
    #[serde(default)]
    other: String,
}

/// Saves the four sections; after a conflict the page keeps what was typed and shows the
/// other editor's text beside it.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved"), (status = 409, description = "Someone saved first", content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/briefing")]
async fn save_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (ctx, editor) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form: SaveForm = match read_form(&req, payload, BRIEFING_BODY_LIMIT).await {
        Ok(f) => f,
        Err(e) => return error_page(&ctx, e),
    };
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let input = SaveBriefing {
        // A tampered version can only lose: it never matches.
        version: form.version.trim().parse().unwrap_or(-1),
        products: form.products,
        shipping: form.shipping,
        returns: form.returns,
        other: form.other,
    };
    let typed = input.clone();
    match service::save(&state, editor.clone(), input).await {
        Ok(view) if view.version == typed.version => redirect("/seats/briefing?notice=unchanged"),
        Ok(_) => redirect("/seats/briefing?notice=saved"),
        Err(AppError::Validation(errors)) => {
            let shown = Shown {
                errors,
                typed: Some(typed),
                ..Shown::default()
            };
            show(
                &state,
                &ctx,
                &editor,
                shown,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict {
            code: "briefing_conflict",
            ..
        }) => {
            let shown = Shown {
                typed: Some(typed),
                conflict: true,
                ..Shown::default()
            };
            show(&state, &ctx, &editor, shown, StatusCode::CONFLICT).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Debug, Deserialize)]
struct ReplyFormData {
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    shortcut: String,
    #[serde(default)]
    skill: String,
}

impl ReplyFormData {
    fn input(&self) -> QuickReplyInput {
        QuickReplyInput {
            title: self.title.clone(),
            body: self.body.clone(),
            shortcut: Some(self.shortcut.clone()),
            skill: Some(self.skill.clone()),
        }
    }
}

/// Handles an add or edit form: redirects on success, shows the form again otherwise.
async fn reply_form(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    editing: Option<String>,
) -> HttpResponse {
    let (ctx, editor) = match staff_session(state, req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form: ReplyFormData = match read_form(req, payload, REPLY_BODY_LIMIT).await {
        Ok(f) => f,
        Err(e) => return error_page(&ctx, e),
    };
    if let Err(e) = check_csrf(req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let input = form.input();
    let result = match &editing {
        None => service::create_quick_reply(state, editor.clone(), input.clone()).await,
        Some(id) => {
            service::update_quick_reply(state, editor.clone(), id.clone(), input.clone()).await
        }
    };
    match result {
        Ok(view) => redirect(&format!(
            "/seats/briefing?notice={}#reply-{}",
            if editing.is_some() {
                "reply_saved"
            } else {
                "reply_added"
            },
            view.id
        )),
        Err(AppError::Validation(errors)) => {
            let shown = Shown {
                errors,
                reply: Some((input, editing)),
                ..Shown::default()
            };
            show(
                state,
                &ctx,
                &editor,
                shown,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict {
            code: "too_many_quick_replies",
            ..
        }) => {
            let shown = Shown {
                message: Some(t_with(
                    ctx.lang,
                    "briefing.too_many",
                    &[("max", &MAX_QUICK_REPLIES.to_string())],
                )),
                reply: Some((input, editing)),
                ..Shown::default()
            };
            show(state, &ctx, &editor, shown, StatusCode::CONFLICT).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// Adds a quick reply.
#[utoipa::path(tag = "pages", request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Added"), (status = 409, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/briefing/quick-replies")]
async fn add_reply_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    reply_form(&state, &req, payload, None).await
}

/// Saves an edited quick reply.
#[utoipa::path(tag = "pages", params(("quick_reply_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Saved"), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/seats/briefing/quick-replies/{quick_reply_id}")]
async fn edit_reply_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    reply_form(&state, &req, payload, Some(path.into_inner())).await
}

/// Deletes a quick reply.
#[utoipa::path(tag = "pages", params(("quick_reply_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Deleted"), (status = 404, content_type = "text/html", body = String)))]
#[post("/seats/briefing/quick-replies/{quick_reply_id}/delete")]
async fn delete_reply_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<crate::web::pages::CsrfForm>,
) -> HttpResponse {
    let (ctx, editor) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    match service::delete_quick_reply(&state, editor, path.into_inner()).await {
        Ok(()) => redirect("/seats/briefing?notice=reply_deleted#quick-replies"),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    csrf_token: String,
    direction: String,
}

/// Moves a quick reply one place up or down.
#[utoipa::path(tag = "pages", params(("quick_reply_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Moved"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[post("/seats/briefing/quick-replies/{quick_reply_id}/move")]
async fn move_reply_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<MoveForm>,
) -> HttpResponse {
    let (ctx, editor) = match staff_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Err(e) = check_csrf(&req, &form.csrf_token) {
        return error_page(&ctx, e);
    }
    let id = path.into_inner();
    let up = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => {
            return error_page(
                &ctx,
                AppError::field("direction", "invalid_value", "up or down"),
            );
        }
    };
    let current = match service::quick_replies(
        &state,
        editor.merchant.clone(),
        None,
        MAX_QUICK_REPLIES,
    )
    .await
    {
        Ok(r) => r.into_iter().map(|r| r.id).collect::<Vec<_>>(),
        Err(e) => return error_page(&ctx, e),
    };
    if !current.contains(&id) {
        return error_page(&ctx, AppError::NotFound);
    }
    match service::reorder_quick_replies(&state, editor.clone(), moved(&current, &id, up)).await {
        Ok(_) => redirect(&format!("/seats/briefing?notice=reply_moved#reply-{id}")),
        Err(AppError::Conflict { .. }) => {
            let shown = Shown {
                message: Some(ctx.t("briefing.replies_changed").into_owned()),
                ..Shown::default()
            };
            show(&state, &ctx, &editor, shown, StatusCode::CONFLICT).await
        }
        Err(e) => error_page(&ctx, e),
    }
}
