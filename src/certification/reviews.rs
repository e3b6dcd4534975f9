//! The reviewer's side of exams: attempts whose written (scenario) answers wait for marks,
//! an attempt as the reviewer sees it (model answers and rubrics beside the agent's
//! words), and the marks that settle the result.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::attempts::{self, Item};
use super::exam::{self, Answer};
use crate::accounts::model::AccountId;
use crate::audit::{self, AuditEntry};
use crate::db::schema::{accounts, exam_attempts};
use crate::db::{DbConn, write_transaction};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::state::AppState;

/// A piece of work waiting for a reviewer (an exam attempt or a trial).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewQueueItem {
    /// The attempt's or the trial's id.
    pub id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub skill: String,
    pub submitted_at: DateTime<Utc>,
    /// Hours since it was submitted (or the trial ended), for the review SLA.
    pub waiting_hours: i64,
}

/// id, agent id, agent name, skill, submitted at.
pub(super) type QueueRow = (String, String, String, String, Option<NaiveDateTime>);

pub(super) fn queue_items(rows: Vec<QueueRow>, now: NaiveDateTime) -> Vec<ReviewQueueItem> {
    rows.into_iter()
        .map(|(id, agent_id, agent_name, skill, submitted)| {
            let submitted = submitted.unwrap_or(now);
            ReviewQueueItem {
                id,
                agent_id,
                agent_name,
                skill,
                submitted_at: submitted.and_utc(),
                waiting_hours: (now - submitted).num_hours(),
            }
        })
        .collect()
}

/// A scenario question of the attempt with the agent's answer and what the reviewer needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioForReview {
    pub number: usize,
    pub prompt: String,
    pub points: u32,
    pub model_answer: Option<String>,
    pub rubric: Option<String>,
    /// `None` when the agent left it blank (it scores nothing and needs no mark).
    pub answer: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioMark {
    /// The question's number in the attempt.
    pub number: usize,
    pub points: u32,
    /// Shown to the agent with the result.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExamReviewRequest {
    /// One mark per answered scenario.
    pub marks: Vec<ScenarioMark>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExamReviewView {
    pub attempt_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub skill: String,
    /// `awaiting_review`, `passed` or `failed`.
    pub status: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub pass_percent: i32,
    pub choice_points: u32,
    pub choice_max: u32,
    pub scenario_max: u32,
    pub scenarios: Vec<ScenarioForReview>,
    /// The marks given, once reviewed.
    pub marks: Option<Vec<ScenarioMark>>,
    pub percent: Option<i32>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Checks a reviewer's marks against the answered scenarios (`pending`: number and points
/// available) and returns the total. Every answered scenario is marked exactly once, with
/// no more points than it is worth; blank answers and choice questions take no mark.
pub fn check_marks(pending: &[(usize, u32)], marks: &[ScenarioMark]) -> Result<u32, AppError> {
    let mut errors = FieldErrors::new();
    let mut seen = BTreeMap::new();
    for (i, m) in marks.iter().enumerate() {
        let Some(&(_, max)) = pending.iter().find(|(n, _)| *n == m.number) else {
            errors.push(
                &format!("marks[{i}].number"),
                Invalid::new(
                    "not_for_review",
                    format!("question {} has no written answer to mark", m.number),
                ),
            );
            continue;
        };
        if seen.insert(m.number, m.points).is_some() {
            errors.push(
                &format!("marks[{i}].number"),
                Invalid::new(
                    "duplicate",
                    format!("question {} is marked twice", m.number),
                ),
            );
        }
        if m.points > max {
            errors.push(
                &format!("marks[{i}].points"),
                Invalid::new("out_of_range", format!("between 0 and {max}")),
            );
        }
        if m.comment
            .as_deref()
            .is_some_and(|c| c.chars().count() > 2000)
        {
            errors.push(
                &format!("marks[{i}].comment"),
                Invalid::new("too_long", "at most 2000 characters"),
            );
        }
    }
    for (number, _) in pending {
        if !seen.contains_key(number) && !marks.iter().any(|m| m.number == *number) {
            errors.push(
                "marks",
                Invalid::new("missing", format!("mark question {number} too")),
            );
        }
    }
    errors.finish()?;
    Ok(seen.values().sum())
}

pub async fn queue(
    state: &AppState,
    skill: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> Result<Vec<ReviewQueueItem>, AppError> {
    let now = state.clock.now();
    let rows: Vec<QueueRow> = state
        .db
        .run(move |conn| {
            // Oldest submission first (the review SLA runs from it), ties by id; the
            // cursor is the last id seen, so the next page starts after its submission.
            let after: Option<(Option<NaiveDateTime>, String)> = match cursor {
                Some(id) => exam_attempts::table
                    .find(&id)
                    .select(exam_attempts::submitted_at)
                    .first::<Option<NaiveDateTime>>(conn)
                    .optional()?
                    .map(|t| (t, id)),
                None => None,
            };
            let mut q = exam_attempts::table
                .inner_join(accounts::table.on(accounts::id.eq(exam_attempts::agent_id)))
                .filter(exam_attempts::status.eq("awaiting_review"))
                .select((
                    exam_attempts::id,
                    exam_attempts::agent_id,
                    accounts::display_name,
                    exam_attempts::skill,
                    exam_attempts::submitted_at,
                ))
                .order((exam_attempts::submitted_at.asc(), exam_attempts::id.asc()))
                .limit(limit)
                .into_boxed();
            if let Some(skill) = skill {
                q = q.filter(exam_attempts::skill.eq(skill));
            }
            if let Some((Some(t), id)) = after {
                q = q.filter(
                    exam_attempts::submitted_at
                        .gt(t)
                        .or(exam_attempts::submitted_at
                            .eq(t)
                            .and(exam_attempts::id.gt(id))),
                );
            }
            q.load(conn)
        })
        .await?;
    Ok(queue_items(rows, now))
}

type Reviewed = (
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn review_view(conn: &mut DbConn, id: &str) -> Result<ExamReviewView, AppError> {
    let row = attempts::load(conn, id)?.ok_or(AppError::NotFound)?;
    if row.status == "in_progress" {
        // Nothing to review, and answers must not leave the server before submission.
        return Err(AppError::NotFound);
    }
    let (review, reviewed_by, reviewed_at, submitted_at): Reviewed = exam_attempts::table
        .find(id)
        .select((
            exam_attempts::review,
            exam_attempts::reviewed_by,
            exam_attempts::reviewed_at,
            exam_attempts::submitted_at,
        ))
        .first(conn)?;
    let agent_name: String = accounts::table
        .find(&row.agent_id)
        .select(accounts::display_name)
        .first(conn)?;
    let items: Vec<Item> = serde_json::from_str(&row.items).map_err(AppError::internal)?;
    let (bank, drawn) = attempts::questions_of(conn, &items)?;
    let answers: Vec<Answer> = serde_json::from_str(&row.answers).unwrap_or_default();
    let grade = exam::grade(&bank, &drawn, &answers).map_err(AppError::internal)?;
    let scenarios = bank
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind == exam::QuestionKind::Scenario)
        .map(|(i, q)| ScenarioForReview {
            number: i + 1,
            prompt: q.prompt.clone(),
            points: q.points,
            model_answer: q.model_answer.clone(),
            rubric: q.rubric.clone(),
            answer: answers
                .iter()
                .find(|a| a.number == i + 1)
                .and_then(|a| a.text.clone())
                .filter(|t| !t.trim().is_empty()),
        })
        .collect();
    Ok(ExamReviewView {
        attempt_id: row.id,
        agent_id: row.agent_id,
        agent_name,
        skill: row.skill,
        status: row.status,
        submitted_at: submitted_at.map(|t| t.and_utc()),
        pass_percent: row.pass_percent,
        choice_points: grade.choice_points,
        choice_max: grade.choice_max,
        scenario_max: grade.scenario_max,
        scenarios,
        marks: review.and_then(|r| serde_json::from_str(&r).ok()),
        percent: row.percent,
        reviewed_by,
        reviewed_at: reviewed_at.map(|t| t.and_utc()),
    })
}

pub async fn get(state: &AppState, id: String) -> Result<ExamReviewView, AppError> {
    Ok(state.db.run(move |conn| review_view(conn, &id)).await?)
}

/// Settles an attempt with the reviewer's marks: the result, the agent's move to
/// `exam_passed` when it is their first pass, an audit entry and the result mail.
pub async fn review(
    state: &AppState,
    reviewer: AccountId,
    id: String,
    req: ExamReviewRequest,
) -> Result<ExamReviewView, AppError> {
    let clock = state.clock.clone();
    let ctx = super::mails::MailCtx::new(state);
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<ExamReviewView, AppError> {
                let now = clock.now();
                let row = attempts::load(conn, &id)?.ok_or(AppError::NotFound)?;
                if row.status != "awaiting_review" {
                    return Err(AppError::conflict(
                        "not_awaiting_review",
                        format!("this attempt is {}, not waiting for a review", row.status),
                    ));
                }
                let items: Vec<Item> =
                    serde_json::from_str(&row.items).map_err(AppError::internal)?;
                let (bank, drawn) = attempts::questions_of(conn, &items)?;
                let answers: Vec<Answer> = serde_json::from_str(&row.answers).unwrap_or_default();
                let grade = exam::grade(&bank, &drawn, &answers).map_err(AppError::internal)?;
                let pending: Vec<(usize, u32)> = grade
                    .pending
                    .iter()
                    .map(|&n| (n, bank[n - 1].points))
                    .collect();
                let total = check_marks(&pending, &req.marks)?;
                let result = exam::outcome(&grade, Some(total), row.pass_percent as u32);
                let (status, Some(percent)) = attempts::stored(result) else {
                    return Err(AppError::internal(anyhow::anyhow!(
                        "marked attempt still awaits review"
                    )));
                };
                let n = diesel::update(
                    exam_attempts::table
                        .find(&id)
                        .filter(exam_attempts::status.eq("awaiting_review")),
                )
                .set((
                    exam_attempts::status.eq(status),
                    exam_attempts::percent.eq(percent),
                    exam_attempts::scenario_points.eq(total as i32),
                    exam_attempts::review
                        .eq(serde_json::to_string(&req.marks).map_err(AppError::internal)?),
                    exam_attempts::reviewed_by.eq(reviewer.as_str()),
                    exam_attempts::reviewed_at.eq(now),
                ))
                .execute(conn)?;
                if n != 1 {
                    return Err(AppError::conflict(
                        "not_awaiting_review",
                        "another reviewer settled this attempt meanwhile",
                    ));
                }
                let agent = AccountId(row.agent_id.clone());
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&reviewer),
                        action: "exam.reviewed",
                        target_type: "exam_attempt",
                        target_id: Some(&id),
                        details: serde_json::json!({
                            "agent_id": row.agent_id, "skill": row.skill,
                            "scenario_points": total, "percent": percent, "result": status,
                        }),
                    },
                    now,
                )?;
                if status == "passed" {
                    attempts::first_pass(
                        conn,
                        &agent,
                        Some(&reviewer),
                        &format!("passed the {} exam after review", row.skill),
                        now,
                    )?;
                }
                attempts::mail_result(conn, &agent, &row.skill, result, now, &ctx)?;
                review_view(conn, &id)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

/// The reviewer's marks on one of the agent's own attempts, for its result page: `None`
/// before a review (or for an attempt that is not theirs, or had nothing to mark).
pub fn marks_for_agent(
    conn: &mut DbConn,
    agent: &AccountId,
    attempt_id: &str,
) -> QueryResult<Option<Vec<ScenarioMark>>> {
    let review: Option<Option<String>> = exam_attempts::table
        .find(attempt_id)
        .filter(exam_attempts::agent_id.eq(agent.as_str()))
        .select(exam_attempts::review)
        .first(conn)
        .optional()?;
    Ok(review.flatten().and_then(|r| serde_json::from_str(&r).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(number: usize, points: u32) -> ScenarioMark {
        ScenarioMark {
            number,
            points,
            comment: None,
        }
    }

    fn fields(e: AppError) -> Vec<(String, String)> {
        match e {
            AppError::Validation(v) => v.into_iter().map(|f| (f.field, f.code)).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn marks_add_up() {
        assert_eq!(
            check_marks(&[(3, 5), (7, 10)], &[mark(7, 8), mark(3, 5)]).unwrap(),
            13
        );
        assert_eq!(check_marks(&[], &[]).unwrap(), 0);
    }

    #[test]
    fn every_problem_is_named() {
        let err = check_marks(
            &[(3, 5), (7, 10), (9, 2)],
            &[mark(3, 6), mark(4, 1), mark(3, 1), mark(7, 2)],
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                ("marks[0].points".to_string(), "out_of_range".to_string()),
                ("marks[1].number".into(), "not_for_review".into()),
                ("marks[2].number".into(), "duplicate".into()),
                ("marks".into(), "missing".into()),
            ]
        );
    }
}
