//! Scorecard reviews of closed chats, their disputes and the model-chat library: the use
//! cases (one transaction each) and what they store.
//!
//! Who may review a chat: admins, and the staff of the chat's own shop (another shop's chat
//! is 404, as if it did not exist). Agents review nothing; the agent who held the chat is
//! told so (`own_chat`). Only closed chats with an agent are reviewed, once per reviewer.
//! The reviewed agent may dispute a review once, within the dispute window
//! (`quality.toml`); an admin accepts it with an amended score (which replaces the review's
//! in the quality score) or rejects it with an answer, audit logged, and the agent is mailed.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::masking;
use super::score::{CriterionScore, review_score};
use super::scorecards::Scorecard;
use crate::accounts::model::{AccountId, Role};
use crate::accounts::{service::account_locale, store as accounts};
use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::db::schema::{
    chat_messages, chat_reviews, chats, customers, model_chats, review_disputes,
};
use crate::db::{DbConn, is_unique_violation, new_id, write_transaction};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::mail::outbox;
use crate::mail::templates::{MailKind, render};
use crate::state::AppState;

const MAX_COMMENT_CHARS: usize = 2_000;

/// One criterion's score in a review request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreInput {
    /// A criterion id of the chat's scorecard.
    pub criterion: String,
    /// On the criterion's scale, `0..=max`.
    pub score: i64,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// Every criterion of the chat's scorecard, once each.
    pub scores: Vec<ScoreInput>,
    /// Puts the chat, customer details masked, into the model-chat library.
    #[serde(default)]
    pub exemplary: bool,
}

/// A criterion as scored in a review; stored as JSON with the review, so a later change of
/// the scorecard leaves old reviews as they were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScoredCriterion {
    pub criterion: String,
    pub name_en: String,
    pub name_zh: String,
    pub score: u32,
    pub max: u32,
    pub weight_bp: u32,
    pub comment: Option<String>,
}

/// Pure: the request's scores checked against the scorecard (every criterion once, each on
/// its scale), with the review's total in hundredths of a point.
pub fn check_scores(
    card: &Scorecard,
    input: &[ScoreInput],
) -> Result<(Vec<ScoredCriterion>, u32), FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut scored: Vec<ScoredCriterion> = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let Some(c) = card.criterion(s.criterion.trim()) else {
            errors.push(
                &format!("scores[{i}].criterion"),
                Invalid::new(
                    "unknown_criterion",
                    format!(
                        "`{}` is not a criterion of the `{}` scorecard",
                        s.criterion, card.track
                    ),
                ),
            );
            continue;
        };
        if scored.iter().any(|x| x.criterion == c.id) {
            errors.push(
                &format!("scores[{i}].criterion"),
                Invalid::new("duplicate", format!("`{}` is scored twice", c.id)),
            );
            continue;
        }
        if s.score < 0 || s.score > i64::from(c.max) {
            errors.push(
                &format!("scores[{i}].score"),
                Invalid::new(
                    "out_of_scale",
                    format!("`{}` is scored on 0 to {} (got {})", c.id, c.max, s.score),
                ),
            );
            continue;
        }
        let comment = s
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if comment
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_COMMENT_CHARS)
        {
            errors.push(
                &format!("scores[{i}].comment"),
                Invalid::new(
                    "too_long",
                    format!("at most {MAX_COMMENT_CHARS} characters"),
                ),
            );
            continue;
        }
        scored.push(ScoredCriterion {
            criterion: c.id.clone(),
            name_en: c.name_en.clone(),
            name_zh: c.name_zh.clone(),
            score: s.score as u32,
            max: c.max,
            weight_bp: c.weight_bp,
            comment,
        });
    }
    for c in &card.criteria {
        let given = input.iter().any(|s| s.criterion.trim() == c.id);
        if !given {
            errors.push(
                "scores",
                Invalid::new(
                    "missing_criterion",
                    format!("`{}` ({}) is not scored", c.id, c.name_en),
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let parts: Vec<CriterionScore> = scored
        .iter()
        .map(|s| CriterionScore {
            weight_bp: s.weight_bp,
            score: s.score,
            max: s.max,
        })
        .collect();
    let total = review_score(&parts).map_err(|_| {
        let mut e = FieldErrors::new();
        e.push(
            "scores",
            Invalid::new("invalid", "the scorecard carries no weight"),
        );
        e
    })?;
    Ok((scored, total))
}

/// A dispute of a review as the agent and admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: String,
    pub review_id: String,
    pub agent_id: String,
    pub reason: String,
    /// `open`, `accepted` or `rejected`.
    pub status: String,
    pub answer: Option<String>,
    /// The score that replaced the review's, in hundredths (accepted disputes).
    pub amended_x100: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A review as the reviewed agent, the shop and admins see it (the reviewer's role, not
/// who).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    pub chat_id: String,
    pub agent_id: String,
    pub merchant_id: String,
    /// `admin` or `merchant`.
    pub reviewer_role: String,
    pub track: String,
    pub scores: Vec<ScoredCriterion>,
    /// 0-10000 (hundredths of a point) as reviewed.
    pub total_x100: u32,
    /// What the quality score counts: the amended score of an accepted dispute, else the
    /// total.
    pub effective_x100: u32,
    pub exemplary: bool,
    pub created_at: DateTime<Utc>,
    /// Until when the agent may dispute it.
    pub dispute_until: DateTime<Utc>,
    pub dispute: Option<DisputeView>,
}

type ReviewRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    bool,
    NaiveDateTime,
);

type DisputeRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i32>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn dispute_columns() -> (
    review_disputes::id,
    review_disputes::review_id,
    review_disputes::agent_id,
    review_disputes::reason,
    review_disputes::status,
    review_disputes::answer,
    review_disputes::amended_x100,
    review_disputes::created_at,
    review_disputes::resolved_at,
) {
    (
        review_disputes::id,
        review_disputes::review_id,
        review_disputes::agent_id,
        review_disputes::reason,
        review_disputes::status,
        review_disputes::answer,
        review_disputes::amended_x100,
        review_disputes::created_at,
        review_disputes::resolved_at,
    )
}

fn review_columns() -> (
    chat_reviews::id,
    chat_reviews::chat_id,
    chat_reviews::agent_id,
    chat_reviews::merchant_id,
    chat_reviews::reviewer_role,
    chat_reviews::track,
    chat_reviews::scores,
    chat_reviews::total_x100,
    chat_reviews::exemplary,
    chat_reviews::created_at,
) {
    (
        chat_reviews::id,
        chat_reviews::chat_id,
        chat_reviews::agent_id,
        chat_reviews::merchant_id,
        chat_reviews::reviewer_role,
        chat_reviews::track,
        chat_reviews::scores,
        chat_reviews::total_x100,
        chat_reviews::exemplary,
        chat_reviews::created_at,
    )
}

fn x100(v: i32) -> u32 {
    u32::try_from(v.clamp(0, 10_000)).unwrap_or(0)
}

fn dispute_view(r: DisputeRow) -> DisputeView {
    DisputeView {
        id: r.0,
        review_id: r.1,
        agent_id: r.2,
        reason: r.3,
        status: r.4,
        answer: r.5,
        amended_x100: r.6.map(x100),
        created_at: r.7.and_utc(),
        resolved_at: r.8.map(|t| t.and_utc()),
    }
}

/// The reviews of `rows` with their disputes.
fn views(
    conn: &mut DbConn,
    rows: Vec<ReviewRow>,
    window_hours: u32,
) -> QueryResult<Vec<ReviewView>> {
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    let disputes: Vec<DisputeRow> = review_disputes::table
        .filter(review_disputes::review_id.eq_any(ids))
        .select(dispute_columns())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let dispute = disputes
                .iter()
                .find(|d| d.1 == r.0)
                .cloned()
                .map(dispute_view);
            let total = x100(r.7);
            ReviewView {
                effective_x100: dispute
                    .as_ref()
                    .and_then(|d| d.amended_x100)
                    .unwrap_or(total),
                id: r.0,
                chat_id: r.1,
                agent_id: r.2,
                merchant_id: r.3,
                reviewer_role: r.4,
                track: r.5,
                scores: serde_json::from_str(&r.6).unwrap_or_default(),
                total_x100: total,
                exemplary: r.8,
                created_at: r.9.and_utc(),
                dispute_until: (r.9 + Duration::hours(i64::from(window_hours))).and_utc(),
                dispute,
            }
        })
        .collect())
}

/// What a review needs to know about its chat.
struct ChatFacts {
    merchant_id: String,
    agent_id: Option<String>,
    status: String,
    skill: String,
    closed_at: Option<NaiveDateTime>,
    customer_id: String,
    customer_name: Option<String>,
}

fn chat_facts(conn: &mut DbConn, id: &str) -> QueryResult<Option<ChatFacts>> {
    chats::table
        .find(id)
        .select((
            chats::merchant_id,
            chats::agent_id,
            chats::status,
            chats::skill,
            chats::closed_at,
            chats::customer_id,
            chats::customer_name,
        ))
        .first::<(
            String,
            Option<String>,
            String,
            String,
            Option<NaiveDateTime>,
            String,
            Option<String>,
        )>(conn)
        .optional()
        .map(|r| {
            r.map(|r| ChatFacts {
                merchant_id: r.0,
                agent_id: r.1,
                status: r.2,
                skill: r.3,
                closed_at: r.4,
                customer_id: r.5,
                customer_name: r.6,
            })
        })
}

/// Who may review (and read the reviews of) a chat, as the reviewer role stored.
fn reviewer_role(caller: &Caller, chat: Option<&ChatFacts>) -> Result<&'static str, AppError> {
    match caller.role {
        Role::Agent => match chat {
            Some(c) if c.agent_id.as_deref() == Some(caller.id.as_str()) => {
                Err(AppError::Forbidden { code: "own_chat" })
            }
            _ => Err(AppError::Forbidden { code: "wrong_role" }),
        },
        _ if chat.is_none() => Err(AppError::NotFound),
        Role::Admin => Ok("admin"),
        Role::MerchantStaff
            if chat.map(|c| c.merchant_id.as_str())
                == caller.merchant.as_ref().map(|m| m.as_str()) =>
        {
            Ok("merchant")
        }
        Role::MerchantStaff => Err(AppError::NotFound),
    }
}

/// The transcript of `chat`, customer details masked, as stored in the library.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TranscriptLine {
    /// `customer`, `agent` or `system`.
    pub sender: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

fn masked_transcript(
    conn: &mut DbConn,
    chat_id: &str,
    facts: &ChatFacts,
) -> QueryResult<Vec<TranscriptLine>> {
    let names = customer_names(conn, facts)?;
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(transcript(conn, chat_id)?
        .into_iter()
        .map(|line| TranscriptLine {
            body: masking::mask(&line.body, &name_refs),
            ..line
        })
        .collect())
}

/// The names a chat's customer goes by (the chat's and the customer record's), to mask.
fn customer_names(conn: &mut DbConn, facts: &ChatFacts) -> QueryResult<Vec<String>> {
    let display: Option<Option<String>> = customers::table
        .find(&facts.customer_id)
        .select(customers::display_name)
        .first(conn)
        .optional()?;
    let mut names: Vec<String> = Vec::new();
    names.extend(facts.customer_name.clone());
    names.extend(display.flatten());
    Ok(names)
}

/// `text` with the chat's customer details masked (as in the library's transcripts): for
/// reviewers' comments shown with a model chat.
pub(crate) fn mask_for_chat(conn: &mut DbConn, chat_id: &str, text: &str) -> QueryResult<String> {
    let names = match chat_facts(conn, chat_id)? {
        Some(facts) => customer_names(conn, &facts)?,
        None => Vec::new(),
    };
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(masking::mask(text, &name_refs))
}

/// The transcript of a chat as it was written, oldest first.
fn transcript(conn: &mut DbConn, chat_id: &str) -> QueryResult<Vec<TranscriptLine>> {
    let messages: Vec<(String, String, NaiveDateTime)> = chat_messages::table
        .filter(chat_messages::chat_id.eq(chat_id))
        .order(chat_messages::seq.asc())
        .select((
            chat_messages::sender,
            chat_messages::body,
            chat_messages::created_at,
        ))
        .load(conn)?;
    Ok(messages
        .into_iter()
        .map(|(sender, body, at)| TranscriptLine {
            sender,
            body,
            at: at.and_utc(),
        })
        .collect())
}

/// A chat as the review form shows it to a reviewer.
#[derive(Debug, Clone)]
pub struct ChatForReview {
    pub chat_id: String,
    pub merchant_id: String,
    pub agent_id: Option<String>,
    pub skill: String,
    /// Only closed chats that an agent served are reviewed (`chat_not_reviewable`).
    pub reviewable: bool,
    pub closed_at: Option<DateTime<Utc>>,
    /// The transcript as written: the reviewer is the chat's shop or an admin.
    pub transcript: Vec<TranscriptLine>,
    /// Its reviews so far, oldest first.
    pub reviews: Vec<ReviewView>,
    /// Whether this reviewer reviewed it already (`already_reviewed`).
    pub reviewed_by_caller: bool,
}

/// A chat for its review form, to whoever may review it as [`create`] decides: admins and
/// the chat's own shop (another shop: 404); agents are refused (`own_chat` for the agent
/// who served it).
pub async fn for_review(
    state: &AppState,
    caller: Caller,
    chat_id: String,
) -> Result<ChatForReview, AppError> {
    let window = state.rules().quality.dispute_window_hours;
    state
        .db
        .run(move |conn| -> Result<ChatForReview, AppError> {
            let chat = chat_facts(conn, &chat_id)?;
            reviewer_role(&caller, chat.as_ref())?;
            let Some(chat) = chat else {
                return Err(AppError::NotFound);
            };
            let rows: Vec<ReviewRow> = chat_reviews::table
                .filter(chat_reviews::chat_id.eq(&chat_id))
                .order(chat_reviews::id.asc())
                .select(review_columns())
                .load(conn)?;
            let mine: i64 = chat_reviews::table
                .filter(chat_reviews::chat_id.eq(&chat_id))
                .filter(chat_reviews::reviewer_id.eq(caller.id.as_str()))
                .count()
                .get_result(conn)?;
            Ok(ChatForReview {
                transcript: transcript(conn, &chat_id)?,
                reviews: views(conn, rows, window)?,
                reviewed_by_caller: mine > 0,
                reviewable: chat.status == "closed"
                    && chat.agent_id.is_some()
                    && chat.closed_at.is_some(),
                closed_at: chat.closed_at.map(|t| t.and_utc()),
                chat_id,
                merchant_id: chat.merchant_id,
                agent_id: chat.agent_id,
                skill: chat.skill,
            })
        })
        .await
        .map_err(AppError::from)
}

/// Reviews a closed chat on its skill's scorecard.
pub async fn create(
    state: &AppState,
    caller: Caller,
    chat_id: String,
    input: ReviewInput,
) -> Result<ReviewView, AppError> {
    let rules = state.rules();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<ReviewView, AppError> {
                let chat = chat_facts(conn, &chat_id)?;
                let role = reviewer_role(&caller, chat.as_ref())?;
                let Some(chat) = chat else {
                    return Err(AppError::NotFound);
                };
                let (Some(agent), Some(closed_at), "closed") =
                    (chat.agent_id.clone(), chat.closed_at, chat.status.as_str())
                else {
                    return Err(AppError::conflict(
                        "chat_not_reviewable",
                        "only closed chats that an agent served are reviewed",
                    ));
                };
                let card = rules.scorecards.for_skill(&chat.skill);
                let (scored, total) = check_scores(card, &input.scores)?;
                let id = new_id();
                let inserted = diesel::insert_into(chat_reviews::table)
                    .values((
                        chat_reviews::id.eq(&id),
                        chat_reviews::chat_id.eq(&chat_id),
                        chat_reviews::agent_id.eq(&agent),
                        chat_reviews::merchant_id.eq(&chat.merchant_id),
                        chat_reviews::reviewer_id.eq(caller.id.as_str()),
                        chat_reviews::reviewer_role.eq(role),
                        chat_reviews::track.eq(&card.track),
                        chat_reviews::scores
                            .eq(serde_json::to_string(&scored).map_err(AppError::internal)?),
                        chat_reviews::total_x100.eq(total as i32),
                        chat_reviews::exemplary.eq(input.exemplary),
                        chat_reviews::ruleset_version.eq(&rules.version),
                        chat_reviews::chat_closed_at.eq(closed_at),
                        chat_reviews::created_at.eq(now),
                    ))
                    .execute(conn);
                match inserted {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(AppError::conflict(
                            "already_reviewed",
                            "you have reviewed this chat already",
                        ));
                    }
                    other => {
                        other?;
                    }
                }
                if input.exemplary {
                    let already: i64 = model_chats::table
                        .filter(model_chats::chat_id.eq(&chat_id))
                        .count()
                        .get_result(conn)?;
                    if already == 0 {
                        let transcript = masked_transcript(conn, &chat_id, &chat)?;
                        diesel::insert_into(model_chats::table)
                            .values((
                                model_chats::id.eq(new_id()),
                                model_chats::chat_id.eq(&chat_id),
                                model_chats::review_id.eq(&id),
                                model_chats::skill.eq(&chat.skill),
                                model_chats::transcript.eq(serde_json::to_string(&transcript)
                                    .map_err(AppError::internal)?),
                                model_chats::added_by.eq(caller.id.as_str()),
                                model_chats::added_at.eq(now),
                            ))
                            .execute(conn)?;
                    }
                }
                let rows: Vec<ReviewRow> = chat_reviews::table
                    .find(&id)
                    .select(review_columns())
                    .load(conn)?;
                let mut v = views(conn, rows, rules.quality.dispute_window_hours)?;
                v.pop().ok_or(AppError::NotFound)
            })
        })
        .await
        .map_err(AppError::from)
}

/// The reviews of a chat: for admins, the chat's shop and the agent who served it.
pub async fn of_chat(
    state: &AppState,
    caller: Caller,
    chat_id: String,
) -> Result<Vec<ReviewView>, AppError> {
    let window = state.rules().quality.dispute_window_hours;
    state
        .db
        .run(move |conn| -> Result<Vec<ReviewView>, AppError> {
            let chat = chat_facts(conn, &chat_id)?;
            match reviewer_role(&caller, chat.as_ref()) {
                Ok(_) => {}
                Err(AppError::Forbidden { code: "own_chat" }) => {}
                Err(e) => return Err(e),
            }
            let rows: Vec<ReviewRow> = chat_reviews::table
                .filter(chat_reviews::chat_id.eq(&chat_id))
                .order(chat_reviews::id.asc())
                .select(review_columns())
                .load(conn)?;
            Ok(views(conn, rows, window)?)
        })
        .await
        .map_err(AppError::from)
}

/// An agent's reviews, newest first, `limit + 1` rows after `cursor`.
pub async fn of_agent(
    state: &AppState,
    agent: AccountId,
    limit: i64,
    cursor: Option<String>,
) -> Result<Vec<ReviewView>, AppError> {
    let window = state.rules().quality.dispute_window_hours;
    state
        .db
        .run(move |conn| -> Result<Vec<ReviewView>, AppError> {
            let mut q = chat_reviews::table
                .filter(chat_reviews::agent_id.eq(agent.as_str().to_owned()))
                .order(chat_reviews::id.desc())
                .select(review_columns())
                .limit(limit + 1)
                .into_boxed();
            if let Some(c) = cursor {
                q = q.filter(chat_reviews::id.lt(c));
            }
            let rows: Vec<ReviewRow> = q.load(conn)?;
            Ok(views(conn, rows, window)?)
        })
        .await
        .map_err(AppError::from)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeInput {
    /// Why the review is wrong, 1-2000 characters.
    pub reason: String,
}

/// The reviewed agent disputes a review, once, within the dispute window.
pub async fn dispute(
    state: &AppState,
    agent: AccountId,
    review_id: String,
    input: DisputeInput,
) -> Result<DisputeView, AppError> {
    let reason = input.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_COMMENT_CHARS {
        return Err(AppError::field(
            "reason",
            if reason.is_empty() {
                "required"
            } else {
                "too_long"
            },
            format!("say why, in 1 to {MAX_COMMENT_CHARS} characters"),
        ));
    }
    let window = state.rules().quality.dispute_window_hours;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<DisputeView, AppError> {
                let review: Option<(String, NaiveDateTime)> = chat_reviews::table
                    .find(&review_id)
                    .select((chat_reviews::agent_id, chat_reviews::created_at))
                    .first(conn)
                    .optional()?;
                let Some((owner, created_at)) = review else {
                    return Err(AppError::NotFound);
                };
                if owner != agent.as_str() {
                    return Err(AppError::NotFound);
                }
                if now > created_at + Duration::hours(i64::from(window)) {
                    return Err(AppError::field(
                        "review_id",
                        "dispute_window_closed",
                        format!("a review may be disputed within {window} hours of it"),
                    ));
                }
                let id = new_id();
                let inserted = diesel::insert_into(review_disputes::table)
                    .values((
                        review_disputes::id.eq(&id),
                        review_disputes::review_id.eq(&review_id),
                        review_disputes::agent_id.eq(agent.as_str()),
                        review_disputes::reason.eq(&reason),
                        review_disputes::status.eq("open"),
                        review_disputes::created_at.eq(now),
                    ))
                    .execute(conn);
                match inserted {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(AppError::conflict(
                            "already_disputed",
                            "a review may be disputed once",
                        ));
                    }
                    other => {
                        other?;
                    }
                }
                let row: DisputeRow = review_disputes::table
                    .find(&id)
                    .select(dispute_columns())
                    .first(conn)?;
                Ok(dispute_view(row))
            })
        })
        .await
        .map_err(AppError::from)
}

/// Disputes, open ones first, each group oldest first: `limit + 1` after `cursor`.
pub async fn disputes(
    state: &AppState,
    limit: i64,
    cursor: Option<String>,
) -> Result<Vec<DisputeView>, AppError> {
    state
        .db
        .run(move |conn| -> Result<Vec<DisputeView>, AppError> {
            let cursor_open = match &cursor {
                Some(c) => review_disputes::table
                    .find(c)
                    .select(review_disputes::status)
                    .first::<String>(conn)
                    .optional()?
                    .map(|s| s == "open"),
                None => Some(true),
            };
            let Some(cursor_open) = cursor_open else {
                return Err(AppError::field(
                    "cursor",
                    "invalid_cursor",
                    "this cursor is not one we issued",
                ));
            };
            let mut rows: Vec<DisputeRow> = Vec::new();
            if cursor_open {
                let mut q = review_disputes::table
                    .filter(review_disputes::status.eq("open"))
                    .order(review_disputes::id.asc())
                    .select(dispute_columns())
                    .limit(limit + 1)
                    .into_boxed();
                if let Some(c) = &cursor {
                    q = q.filter(review_disputes::id.gt(c.clone()));
                }
                rows = q.load(conn)?;
            }
            let left = limit + 1 - rows.len() as i64;
            if left > 0 {
                let mut q = review_disputes::table
                    .filter(review_disputes::status.ne("open"))
                    .order(review_disputes::id.asc())
                    .select(dispute_columns())
                    .limit(left)
                    .into_boxed();
                if let (false, Some(c)) = (cursor_open, &cursor) {
                    q = q.filter(review_disputes::id.gt(c.clone()));
                }
                rows.extend(q.load::<DisputeRow>(conn)?);
            }
            Ok(rows.into_iter().map(dispute_view).collect())
        })
        .await
        .map_err(AppError::from)
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    pub decision: Decision,
    /// Accepting: the review's new score, 0-10000 hundredths of a point.
    pub amended_x100: Option<i64>,
    /// Rejecting: why (required); accepting: optional note to the agent.
    pub answer: Option<String>,
}

/// An admin accepts a dispute with an amended score or rejects it with an answer; audit
/// logged, and the agent is mailed.
pub async fn resolve(
    state: &AppState,
    admin: AccountId,
    dispute_id: String,
    input: ResolveInput,
) -> Result<DisputeView, AppError> {
    let mut errors = FieldErrors::new();
    let answer = input
        .answer
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    let amended = match (input.decision, input.amended_x100) {
        (Decision::Accept, Some(v)) if (0..=10_000).contains(&v) => Some(v as i32),
        (Decision::Accept, Some(v)) => {
            errors.push(
                "amended_x100",
                Invalid::new("out_of_range", format!("0 to 10000 (got {v})")),
            );
            None
        }
        (Decision::Accept, None) => {
            errors.push(
                "amended_x100",
                Invalid::new("required", "accepting a dispute sets the amended score"),
            );
            None
        }
        (Decision::Reject, Some(_)) => {
            errors.push(
                "amended_x100",
                Invalid::new("not_allowed", "a rejected dispute keeps the review's score"),
            );
            None
        }
        (Decision::Reject, None) => None,
    };
    if input.decision == Decision::Reject && answer.is_none() {
        errors.push(
            "answer",
            Invalid::new("required", "say why the dispute is rejected"),
        );
    }
    if answer
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_COMMENT_CHARS)
    {
        errors.push(
            "answer",
            Invalid::new(
                "too_long",
                format!("at most {MAX_COMMENT_CHARS} characters"),
            ),
        );
    }
    errors.finish()?;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<DisputeView, AppError> {
                let status = match input.decision {
                    Decision::Accept => "accepted",
                    Decision::Reject => "rejected",
                };
                let changed = diesel::update(
                    review_disputes::table
                        .filter(review_disputes::id.eq(&dispute_id))
                        .filter(review_disputes::status.eq("open")),
                )
                .set((
                    review_disputes::status.eq(status),
                    review_disputes::answer.eq(&answer),
                    review_disputes::amended_x100.eq(amended),
                    review_disputes::resolved_by.eq(admin.as_str()),
                    review_disputes::resolved_at.eq(now),
                ))
                .execute(conn)?;
                let row: Option<DisputeRow> = review_disputes::table
                    .find(&dispute_id)
                    .select(dispute_columns())
                    .first(conn)
                    .optional()?;
                let Some(row) = row else {
                    return Err(AppError::NotFound);
                };
                if changed == 0 {
                    return Err(AppError::conflict(
                        "already_resolved",
                        format!("this dispute was {} already", row.4),
                    ));
                }
                let view = dispute_view(row);
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&admin),
                        action: "review_dispute.resolved",
                        target_type: "review_dispute",
                        target_id: Some(&view.id),
                        details: serde_json::json!({
                            "review_id": view.review_id,
                            "decision": status,
                            "amended_x100": view.amended_x100,
                            "answer": view.answer,
                        }),
                    },
                    now,
                )?;
                if let Some(account) = accounts::find(conn, &AccountId(view.agent_id.clone()))? {
                    let locale = account_locale(&account);
                    let mail = render(
                        &account.email,
                        &account.display_name,
                        locale,
                        &MailKind::ReviewDisputeResolved {
                            accepted: input.decision == Decision::Accept,
                            score: view
                                .amended_x100
                                .map(|v| format!("{}.{:02}", v / 100, v % 100)),
                            answer: view.answer.clone().unwrap_or_default(),
                        },
                    )
                    .map_err(AppError::internal)?;
                    outbox::enqueue(conn, &mail, now)?;
                }
                Ok(view)
            })
        })
        .await
        .map_err(AppError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::scorecards::Scorecards;

    fn input(items: &[(&str, i64)]) -> Vec<ScoreInput> {
        items
            .iter()
            .map(|(c, s)| ScoreInput {
                criterion: (*c).to_owned(),
                score: *s,
                comment: Some("  ok  ".to_owned()),
            })
            .collect()
    }

    fn fields(e: FieldErrors) -> Vec<(String, String)> {
        match AppError::from(e) {
            AppError::Validation(v) => v.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_review_is_weighted_on_the_scales() {
        let cards = Scorecards::default();
        let card = cards.for_skill("anything");
        let (scored, total) = check_scores(card, &input(&[("overall", 3)])).unwrap();
        assert_eq!(total, 7_500);
        assert_eq!(scored[0].comment.as_deref(), Some("ok"));
        assert_eq!((scored[0].max, scored[0].weight_bp), (4, 10_000));
    }

    #[test]
    fn off_scale_unknown_twice_and_missing_criteria_are_each_named() {
        let cards = Scorecards::default();
        let card = cards.for_skill("general");
        assert_eq!(
            fields(check_scores(card, &input(&[("overall", 5)])).unwrap_err()),
            [("scores[0].score".to_owned(), "out_of_scale".to_owned())]
        );
        assert_eq!(
            fields(check_scores(card, &input(&[("overall", -1)])).unwrap_err()),
            [("scores[0].score".to_owned(), "out_of_scale".to_owned())]
        );
        assert_eq!(
            fields(
                check_scores(
                    card,
                    &input(&[("overall", 1), ("speed", 1), ("overall", 2)])
                )
                .unwrap_err()
            ),
            [
                (
                    "scores[1].criterion".to_owned(),
                    "unknown_criterion".to_owned()
                ),
                ("scores[2].criterion".to_owned(), "duplicate".to_owned()),
            ]
        );
        assert_eq!(
            fields(check_scores(card, &[]).unwrap_err()),
            [("scores".to_owned(), "missing_criterion".to_owned())]
        );
    }
}
