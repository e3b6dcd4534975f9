//! What the exam pages show an agent about each track: whether it can be taken, the
//! agent's earlier attempts, and when a retake is allowed. Read-only: starting, saving and
//! submitting stay in [`super::attempts`]; the retake rule is [`exam::may_start`], the same
//! one that decides a start.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::banks;
use super::exam::{self, ExamRules};
use crate::accounts::model::AccountId;
use crate::db::schema::exam_attempts;
use crate::error::AppError;
use crate::state::AppState;

/// One of the agent's attempts, newest first in [`AgentTrack::attempts`].
#[derive(Debug, Clone)]
pub struct AttemptSummary {
    pub id: String,
    /// `in_progress`, `awaiting_review`, `passed` or `failed`.
    pub status: String,
    pub percent: Option<i32>,
    pub pass_percent: i32,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

impl AttemptSummary {
    /// Still open: in progress and before its deadline.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.status == "in_progress" && now < self.deadline
    }
}

/// A track as one agent sees it.
#[derive(Debug, Clone)]
pub struct AgentTrack {
    pub skill: String,
    pub rules: ExamRules,
    /// The bank holds enough questions for an attempt.
    pub ready: bool,
    pub attempts: Vec<AttemptSummary>,
    /// The attempt to go back to, if one is open.
    pub open_attempt: Option<AttemptSummary>,
    /// When the cooldown or the 30-day limit lets the agent start again, if they block now.
    pub retry_at: Option<DateTime<Utc>>,
}

impl AgentTrack {
    /// The agent may press Start now.
    pub fn can_start(&self) -> bool {
        self.ready && self.open_attempt.is_none() && self.retry_at.is_none()
    }
}

type Row = (
    String,
    String,
    String,
    Option<i32>,
    i32,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Every track (by skill) with the agent's attempts and retake time.
pub async fn for_agent(state: &AppState, agent: AccountId) -> Result<Vec<AgentTrack>, AppError> {
    let tracks = banks::list_tracks(state).await?;
    let rows: Vec<Row> = state
        .db
        .run(move |conn| {
            exam_attempts::table
                .filter(exam_attempts::agent_id.eq(agent.as_str()))
                .select((
                    exam_attempts::id,
                    exam_attempts::skill,
                    exam_attempts::status,
                    exam_attempts::percent,
                    exam_attempts::pass_percent,
                    exam_attempts::started_at,
                    exam_attempts::deadline,
                    exam_attempts::submitted_at,
                ))
                .order((exam_attempts::started_at.desc(), exam_attempts::id.desc()))
                .load::<Row>(conn)
        })
        .await?;
    let now = state.clock.now();
    Ok(tracks
        .into_iter()
        .map(|track| {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.1 == track.skill).collect();
            let starts: Vec<NaiveDateTime> = mine.iter().map(|r| r.5).collect();
            let attempts: Vec<AttemptSummary> = mine
                .into_iter()
                .map(|r| AttemptSummary {
                    id: r.0.clone(),
                    status: r.2.clone(),
                    percent: r.3,
                    pass_percent: r.4,
                    started_at: r.5.and_utc(),
                    deadline: r.6.and_utc(),
                    submitted_at: r.7.map(|t| t.and_utc()),
                })
                .collect();
            let open_attempt = attempts.iter().find(|a| a.is_open(now.and_utc())).cloned();
            let retry_at = exam::may_start(now, &starts, &track.rules)
                .err()
                .map(|e| e.retry_at().and_utc());
            AgentTrack {
                skill: track.skill,
                rules: track.rules,
                ready: track.ready,
                attempts,
                open_attempt,
                retry_at,
            }
        })
        .collect())
}
