//! Review disputes for admins: the open ones (agent, review, reason, filed at) each with a
//! resolve form, the same outcomes as `POST /api/admin/review-disputes/{id}/resolve`
//! (accept with an amended score, or reject with an answer), and the resolved ones below.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::queue;
use super::queue_pages::{local, points};
use super::reviews::{self, Decision, DisputeView, ResolveInput};
use crate::certification::admin_pages::{admin_form, admin_session};
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::web::api::PageQuery;
use crate::web::pages::{PageCtx, error_page, redirect, render};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(disputes_page).service(resolve_page);
}

/// Disputes per page.
const DISPUTES_PAGE: i64 = 50;

struct DisputeRow {
    id: String,
    agent: String,
    chat_id: String,
    review_id: String,
    reason: String,
    filed: String,
    outcome: String,
    answer: Option<String>,
}

/// A resolve form posted with errors: the dispute, what was entered, the errors.
struct Retry {
    id: String,
    decision: String,
    amended: String,
    answer: String,
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "quality/disputes.html")]
struct DisputesPage<'a> {
    ctx: &'a PageCtx,
    notice: Option<String>,
    open: Vec<DisputeRow>,
    resolved: Vec<DisputeRow>,
    retry: Option<Retry>,
    errors: Vec<(String, String)>,
    next_page: Option<String>,
}

impl DisputesPage<'_> {
    fn retry_of(&self, id: &str) -> Option<&Retry> {
        self.retry.as_ref().filter(|r| r.id == id)
    }

    fn error_of(&self, id: &str, field: &str) -> Option<String> {
        let want = format!("{field}-{id}");
        self.retry_of(id)?
            .errors
            .iter()
            .find(|e| e.0 == want)
            .map(|e| e.1.clone())
    }
}

/// Score points as typed (`88`, `88.5`, `88.25`) in hundredths; `None` when unreadable.
fn parse_points(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

async fn view(
    state: &AppState,
    ctx: &PageCtx,
    zone: Tz,
    cursor: Option<String>,
    notice: Option<String>,
    retry: Option<Retry>,
    status: StatusCode,
) -> HttpResponse {
    let paging = PageQuery {
        limit: Some(DISPUTES_PAGE),
        cursor,
    };
    let result = async {
        let (limit, cursor) = paging.parse()?;
        let rows = reviews::disputes(state, limit, cursor).await?;
        let agents: Vec<String> = rows.iter().map(|d| d.agent_id.clone()).collect();
        let review_ids: Vec<String> = rows.iter().map(|d| d.review_id.clone()).collect();
        let (names, chats) = state
            .db
            .run(move |conn| -> Result<_, AppError> {
                Ok((
                    queue::names(conn, &agents)?,
                    queue::review_chats(conn, &review_ids)?,
                ))
            })
            .await?;
        Ok::<_, AppError>((rows, limit, names, chats))
    }
    .await;
    let (rows, limit, names, chats) = match result {
        Ok(r) => r,
        Err(e) => return error_page(ctx, e),
    };
    let next_page = (rows.len() as i64 > limit)
        .then(|| rows.get(limit as usize - 1))
        .flatten()
        .map(|d| {
            format!(
                "/admin/quality/disputes?cursor={}",
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &d.id)
            )
        });
    let row = |d: &DisputeView| DisputeRow {
        id: d.id.clone(),
        agent: names.get(&d.agent_id).cloned().unwrap_or_default(),
        chat_id: chats.get(&d.review_id).cloned().unwrap_or_default(),
        review_id: d.review_id.clone(),
        reason: d.reason.clone(),
        filed: local(d.created_at.naive_utc(), zone),
        outcome: match (d.status.as_str(), d.amended_x100) {
            ("accepted", Some(v)) => ctx.t_with(
                "quality_pages.accepted_with",
                [("score", points(v).as_str())],
            ),
            (status, _) => ctx
                .t(&format!("quality_pages.dispute_{status}"))
                .into_owned(),
        },
        answer: d.answer.clone(),
    };
    let shown = &rows[..rows.len().min(limit as usize)];
    let errors = retry.as_ref().map(|r| r.errors.clone()).unwrap_or_default();
    let page = DisputesPage {
        ctx,
        notice,
        open: shown
            .iter()
            .filter(|d| d.status == "open")
            .map(row)
            .collect(),
        resolved: shown
            .iter()
            .filter(|d| d.status != "open")
            .map(row)
            .collect(),
        retry,
        errors,
        next_page,
    };
    render(ctx, &page, status)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DisputesQuery {
    cursor: Option<String>,
    /// A dispute just resolved (shows a status message).
    resolved: Option<String>,
}

/// Review disputes: open ones with a resolve form, then resolved ones.
#[utoipa::path(tag = "pages", params(DisputesQuery), responses((status = 200, content_type = "text/html", body = String), (status = 303, description = "Not signed in"), (status = 403, content_type = "text/html", body = String)))]
#[get("/admin/quality/disputes")]
async fn disputes_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<DisputesQuery>,
) -> HttpResponse {
    let s = match admin_session(&state, &req).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let q = q.into_inner();
    let notice = q
        .resolved
        .map(|_| s.ctx.t("quality_pages.resolved_notice").into_owned());
    view(
        &state,
        &s.ctx,
        s.zone,
        q.cursor,
        notice,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct ResolveForm {
    csrf_token: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    amended: String,
    #[serde(default)]
    answer: String,
}

/// Accepts (with an amended score) or rejects (with an answer) a review dispute: the same
/// use case as `POST /api/admin/review-disputes/{id}/resolve`, audit logged, the agent
/// mailed.
#[utoipa::path(tag = "pages", params(("dispute_id" = String, Path)), request_body(content_type = "application/x-www-form-urlencoded", content = String), responses((status = 303, description = "Resolved: back to the disputes"), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, description = "Resolved already", content_type = "text/html", body = String), (status = 422, description = "Shown by the dispute's form", content_type = "text/html", body = String)))]
#[post("/admin/quality/disputes/{dispute_id}/resolve")]
async fn resolve_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let form = form.into_inner();
    let s = match admin_form(&state, &req, "/admin/quality/disputes", &form.csrf_token).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let ctx = &s.ctx;
    let mut errors = Vec::new();
    let decision = match form.decision.as_str() {
        "accept" => Some(Decision::Accept),
        "reject" => Some(Decision::Reject),
        _ => {
            errors.push(FieldError::new(
                "decision",
                "required",
                "accept or reject the dispute",
            ));
            None
        }
    };
    let amended = match form.amended.trim() {
        "" => None,
        raw => match parse_points(raw) {
            Some(v) => Some(v),
            None => {
                errors.push(FieldError::new(
                    "amended_x100",
                    "not_a_number",
                    "a score like 88 or 88.5",
                ));
                None
            }
        },
    };
    let result = match decision {
        Some(decision) if errors.is_empty() => {
            let input = ResolveInput {
                decision,
                amended_x100: amended,
                answer: Some(form.answer.clone()),
            };
            reviews::resolve(&state, s.id.clone(), id.clone(), input).await
        }
        _ => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(_) => {
            state.wake_outbox();
            s.finish(redirect(&format!("/admin/quality/disputes?resolved={id}")))
        }
        Err(AppError::Validation(errors)) => {
            let errors = errors
                .iter()
                .map(|e| {
                    let field = match e.field.as_str() {
                        "amended_x100" => "amended",
                        other => other,
                    };
                    (
                        format!("{field}-{id}"),
                        ctx.t(&format!("quality_pages.resolve_error_{field}_{}", e.code))
                            .into_owned(),
                    )
                })
                .collect();
            let retry = Retry {
                id,
                decision: form.decision,
                amended: form.amended,
                answer: form.answer,
                errors,
            };
            let res = view(
                &state,
                ctx,
                s.zone,
                None,
                None,
                Some(retry),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            s.finish(res)
        }
        Err(e) => s.finish(error_page(ctx, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_read_to_two_decimals() {
        assert_eq!(parse_points("88"), Some(8_800));
        assert_eq!(parse_points(" 88.5 "), Some(8_850));
        assert_eq!(parse_points("88.25"), Some(8_825));
        assert_eq!(parse_points("0"), Some(0));
        for bad in ["", ".5", "88.255", "-1", "8a", "88.x", "1e3"] {
            assert_eq!(parse_points(bad), None, "{bad}");
        }
    }
}
