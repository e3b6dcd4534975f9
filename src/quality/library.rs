//! The model-chat library: exemplary chats, their transcripts masked when they were flagged
//! ([`super::reviews::create`]), for certified agents and admins to learn from. Only the
//! masked snapshot is ever served, never the live chat.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::reviews::{ScoredCriterion, TranscriptLine, mask_for_chat};
use crate::accounts::model::Role;
use crate::auth::Caller;
use crate::db::schema::{agents, chat_reviews, model_chats};
use crate::error::AppError;
use crate::state::AppState;

/// A model chat in the library list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelChatSummary {
    pub id: String,
    pub skill: String,
    pub added_at: DateTime<Utc>,
    pub messages: usize,
}

/// A model chat with its masked transcript.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelChat {
    pub id: String,
    pub skill: String,
    pub added_at: DateTime<Utc>,
    pub transcript: Vec<TranscriptLine>,
    /// Why it is a model: the criteria of the review that flagged it, with their scores
    /// and comments (customer details masked as in the transcript).
    pub why: Vec<ScoredCriterion>,
}

type Row = (String, String, String, NaiveDateTime);

fn model_chat(r: Row) -> ModelChat {
    ModelChat {
        id: r.0,
        skill: r.1,
        transcript: serde_json::from_str(&r.2).unwrap_or_default(),
        added_at: r.3.and_utc(),
        why: Vec::new(),
    }
}

/// Admins, and agents once certified (`not_certified` before).
fn may_read(conn: &mut crate::db::DbConn, caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::MerchantStaff => Err(AppError::Forbidden { code: "wrong_role" }),
        Role::Agent => {
            let status: Option<String> = agents::table
                .find(caller.id.as_str())
                .select(agents::status)
                .first(conn)
                .optional()?;
            if status.as_deref() == Some("certified") {
                Ok(())
            } else {
                Err(AppError::Forbidden {
                    code: "not_certified",
                })
            }
        }
    }
}

const COLUMNS: (
    model_chats::id,
    model_chats::skill,
    model_chats::transcript,
    model_chats::added_at,
) = (
    model_chats::id,
    model_chats::skill,
    model_chats::transcript,
    model_chats::added_at,
);

/// The library, newest first, `limit + 1` after `cursor`, of one skill or all.
pub async fn list(
    state: &AppState,
    caller: Caller,
    skill: Option<String>,
    limit: i64,
    cursor: Option<String>,
) -> Result<Vec<ModelChatSummary>, AppError> {
    state
        .db
        .run(move |conn| -> Result<Vec<ModelChatSummary>, AppError> {
            may_read(conn, &caller)?;
            let mut q = model_chats::table
                .order(model_chats::id.desc())
                .select(COLUMNS)
                .limit(limit + 1)
                .into_boxed();
            if let Some(s) = skill {
                q = q.filter(model_chats::skill.eq(s));
            }
            if let Some(c) = cursor {
                q = q.filter(model_chats::id.lt(c));
            }
            let rows: Vec<Row> = q.load(conn)?;
            Ok(rows
                .into_iter()
                .map(model_chat)
                .map(|m| ModelChatSummary {
                    messages: m.transcript.len(),
                    id: m.id,
                    skill: m.skill,
                    added_at: m.added_at,
                })
                .collect())
        })
        .await
        .map_err(AppError::from)
}

/// One model chat with its masked transcript and why it is a model.
pub async fn get(state: &AppState, caller: Caller, id: String) -> Result<ModelChat, AppError> {
    state
        .db
        .run(move |conn| -> Result<ModelChat, AppError> {
            may_read(conn, &caller)?;
            let row: Option<Row> = model_chats::table
                .find(&id)
                .select(COLUMNS)
                .first(conn)
                .optional()?;
            let mut chat = row.map(model_chat).ok_or(AppError::NotFound)?;
            let review: Option<(String, String)> = model_chats::table
                .inner_join(chat_reviews::table.on(chat_reviews::id.eq(model_chats::review_id)))
                .filter(model_chats::id.eq(&id))
                .select((chat_reviews::chat_id, chat_reviews::scores))
                .first(conn)
                .optional()?;
            if let Some((chat_id, scores)) = review {
                let why: Vec<ScoredCriterion> = serde_json::from_str(&scores).unwrap_or_default();
                for c in why {
                    let comment = match c.comment {
                        Some(t) => Some(mask_for_chat(conn, &chat_id, &t)?),
                        None => None,
                    };
                    chat.why.push(ScoredCriterion { comment, ..c });
                }
            }
            Ok(chat)
        })
        .await
        .map_err(AppError::from)
}
