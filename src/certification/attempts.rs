//! Exam attempts: an agent starts one (questions drawn from the track's bank, a deadline
//! kept by the server), saves answers as they go, and submits. Choice questions are graded
//! at once; scenario answers wait for a reviewer. Answers never leave the server before
//! the attempt is submitted, and after the deadline it is graded as it stands.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exam::{self, Answer, Drawn, Outcome, PublicQuestion, Question};
use super::lifecycle::{AgentEvent, Party};
use crate::accounts::model::{AccountId, AgentStatus};
use crate::db::schema::{exam_attempts, exam_questions};
use crate::db::{DbConn, new_id, write_transaction};
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// One question of a stored attempt: the bank question's id and the shown option order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Item {
    pub(super) question_id: String,
    pub(super) option_order: Vec<usize>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AnswersRequest {
    /// Every answer so far (what is saved is replaced); may be empty.
    #[serde(default)]
    pub answers: Vec<Answer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub id: String,
    pub skill: String,
    /// `in_progress`, `awaiting_review`, `passed` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    /// After this the attempt takes no more answers and is graded as it stands.
    pub deadline: DateTime<Utc>,
    pub questions: Vec<PublicQuestion>,
    /// The answers saved so far.
    pub answers: Vec<Answer>,
    pub pass_percent: i32,
    /// Once graded: percent of all points.
    pub percent: Option<i32>,
}

#[derive(Queryable)]
pub(super) struct AttemptRow {
    pub(super) id: String,
    pub(super) agent_id: String,
    pub(super) skill: String,
    pub(super) items: String,
    pub(super) answers: String,
    pub(super) status: String,
    pub(super) pass_percent: i32,
    pub(super) started_at: NaiveDateTime,
    pub(super) deadline: NaiveDateTime,
    pub(super) percent: Option<i32>,
}

pub(super) fn load(conn: &mut DbConn, id: &str) -> QueryResult<Option<AttemptRow>> {
    exam_attempts::table
        .find(id)
        .select((
            exam_attempts::id,
            exam_attempts::agent_id,
            exam_attempts::skill,
            exam_attempts::items,
            exam_attempts::answers,
            exam_attempts::status,
            exam_attempts::pass_percent,
            exam_attempts::started_at,
            exam_attempts::deadline,
            exam_attempts::percent,
        ))
        .first(conn)
        .optional()
}

/// The attempt's questions in order, as a bank the pure grading understands.
pub(super) fn questions_of(
    conn: &mut DbConn,
    items: &[Item],
) -> Result<(Vec<Question>, Vec<Drawn>), AppError> {
    let ids: Vec<&str> = items.iter().map(|i| i.question_id.as_str()).collect();
    let rows: Vec<(String, String)> = exam_questions::table
        .filter(exam_questions::id.eq_any(&ids))
        .select((exam_questions::id, exam_questions::body))
        .load(conn)?;
    let mut bank = Vec::with_capacity(items.len());
    let mut drawn = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let body = rows
            .iter()
            .find(|(id, _)| *id == item.question_id)
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("question {} vanished", item.question_id))
            })?;
        bank.push(serde_json::from_str::<Question>(&body.1).map_err(AppError::internal)?);
        drawn.push(Drawn {
            bank_index: i,
            option_order: item.option_order.clone(),
        });
    }
    Ok((bank, drawn))
}

fn view(conn: &mut DbConn, row: &AttemptRow) -> Result<AttemptView, AppError> {
    let items: Vec<Item> = serde_json::from_str(&row.items).map_err(AppError::internal)?;
    let (bank, drawn) = questions_of(conn, &items)?;
    Ok(AttemptView {
        id: row.id.clone(),
        skill: row.skill.clone(),
        status: row.status.clone(),
        started_at: row.started_at.and_utc(),
        deadline: row.deadline.and_utc(),
        questions: exam::public_view(&bank, &drawn),
        answers: serde_json::from_str(&row.answers).unwrap_or_default(),
        pass_percent: row.pass_percent,
        percent: row.percent,
    })
}

/// A skill's whole bank in a stable order: each question's id beside it.
fn bank_of(conn: &mut DbConn, skill: &str) -> Result<(Vec<String>, Vec<Question>), AppError> {
    let rows: Vec<(String, String)> = exam_questions::table
        .filter(exam_questions::skill.eq(skill))
        .select((exam_questions::id, exam_questions::body))
        .order(exam_questions::id.asc())
        .load(conn)?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut bank = Vec::with_capacity(rows.len());
    for (id, body) in rows {
        bank.push(serde_json::from_str::<Question>(&body).map_err(AppError::internal)?);
        ids.push(id);
    }
    Ok((ids, bank))
}

/// What an attempt stores of a draw from [`bank_of`]'s ids.
fn items_of(ids: &[String], drawn: &[Drawn]) -> Vec<Item> {
    drawn
        .iter()
        .map(|d| Item {
            question_id: ids[d.bank_index].clone(),
            option_order: d.option_order.clone(),
        })
        .collect()
}

/// The status and percent an attempt stores for an outcome.
pub(super) fn stored(outcome: Outcome) -> (&'static str, Option<i32>) {
    match outcome {
        Outcome::Passed { percent } => ("passed", Some(percent as i32)),
        Outcome::Failed { percent } => ("failed", Some(percent as i32)),
        Outcome::AwaitingReview => ("awaiting_review", None),
    }
}

/// Another agent's attempt is "not found", like a missing one.
fn own(conn: &mut DbConn, agent: &AccountId, id: &str) -> Result<AttemptRow, AppError> {
    match load(conn, id)? {
        Some(row) if row.agent_id == agent.as_str() => Ok(row),
        _ => Err(AppError::NotFound),
    }
}

fn grade_error(e: exam::GradeError) -> AppError {
    let number = match e {
        exam::GradeError::NotInAttempt { number }
        | exam::GradeError::BadChoice { number }
        | exam::GradeError::Duplicate { number }
        | exam::GradeError::BankChanged { number } => number,
    };
    AppError::Validation(vec![FieldError::new(
        format!("answers[number={number}]"),
        "invalid_answer",
        e.to_string(),
    )])
}

pub async fn start(
    state: &AppState,
    agent: AccountId,
    skill: String,
) -> Result<AttemptView, AppError> {
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AttemptView, AppError> {
                let now = clock.now();
                // Two starts at once (a double click) must not both pass the retake rules.
                super::store::lock_agent(conn, &agent)?;
                let status = super::store::find(conn, &agent)?
                    .and_then(|a| AgentStatus::parse(&a.status))
                    .ok_or(AppError::Forbidden { code: "wrong_role" })?;
                if matches!(status, AgentStatus::Suspended | AgentStatus::Left) {
                    return Err(AppError::conflict(
                        "status_forbids",
                        format!("an agent who is {} cannot take exams", status.as_str()),
                    ));
                }
                let rules = super::banks::find_track(conn, &skill)?.ok_or(AppError::NotFound)?;
                let previous: Vec<(NaiveDateTime, NaiveDateTime, String, String)> =
                    exam_attempts::table
                        .filter(exam_attempts::agent_id.eq(agent.as_str()))
                        .filter(exam_attempts::skill.eq(&skill))
                        .select((
                            exam_attempts::started_at,
                            exam_attempts::deadline,
                            exam_attempts::status,
                            exam_attempts::id,
                        ))
                        .load(conn)?;
                if let Some(open) = previous
                    .iter()
                    .find(|(_, deadline, status, _)| status == "in_progress" && *deadline > now)
                {
                    return Err(AppError::conflict_with(
                        "attempt_in_progress",
                        "finish the attempt you started first",
                        serde_json::json!({ "attempt_id": open.3 }),
                    ));
                }
                let starts: Vec<NaiveDateTime> = previous.iter().map(|p| p.0).collect();
                exam::may_start(now, &starts, &rules).map_err(|e| {
                    let code = match e {
                        exam::RetakeError::Cooldown { .. } => "retake_cooldown",
                        exam::RetakeError::TooMany { .. } => "too_many_attempts",
                    };
                    AppError::conflict_with(
                        code,
                        e.to_string(),
                        serde_json::json!({ "retry_at": e.retry_at().and_utc() }),
                    )
                })?;
                let (ids, bank) = bank_of(conn, &skill)?;
                let drawn = exam::draw(&bank, rules.exam_size, &mut rand::rng()).map_err(|e| {
                    tracing::warn!(skill = %skill, error = %e, "exam bank too small for the track");
                    AppError::conflict(
                        "exam_unavailable",
                        "this exam is not ready yet; try again later",
                    )
                })?;
                let items = items_of(&ids, &drawn);
                let id = new_id();
                diesel::insert_into(exam_attempts::table)
                    .values((
                        exam_attempts::id.eq(&id),
                        exam_attempts::agent_id.eq(agent.as_str()),
                        exam_attempts::skill.eq(&skill),
                        exam_attempts::items
                            .eq(serde_json::to_string(&items).map_err(AppError::internal)?),
                        exam_attempts::answers.eq("[]"),
                        exam_attempts::status.eq("in_progress"),
                        exam_attempts::pass_percent.eq(rules.pass_percent as i32),
                        exam_attempts::started_at.eq(now),
                        exam_attempts::deadline
                            .eq(now + Duration::minutes(i64::from(rules.duration_minutes))),
                    ))
                    .execute(conn)?;
                let row = load(conn, &id)?.ok_or(AppError::NotFound)?;
                view(conn, &row)
            })
        })
        .await?)
}

pub async fn get(state: &AppState, agent: AccountId, id: String) -> Result<AttemptView, AppError> {
    Ok(state
        .db
        .run(move |conn| -> Result<AttemptView, AppError> {
            let row = own(conn, &agent, &id)?;
            view(conn, &row)
        })
        .await?)
}

/// Saves answers (all of them, replacing what was saved) while the attempt is open.
pub async fn save(
    state: &AppState,
    agent: AccountId,
    id: String,
    req: AnswersRequest,
) -> Result<AttemptView, AppError> {
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AttemptView, AppError> {
                let row = own(conn, &agent, &id)?;
                if row.status != "in_progress" {
                    return Err(AppError::conflict(
                        "already_submitted",
                        "this attempt was submitted",
                    ));
                }
                if clock.now() >= row.deadline {
                    return Err(AppError::conflict(
                        "deadline_passed",
                        "time is up; submit to be graded on what was saved",
                    ));
                }
                let items: Vec<Item> =
                    serde_json::from_str(&row.items).map_err(AppError::internal)?;
                let (bank, drawn) = questions_of(conn, &items)?;
                exam::grade(&bank, &drawn, &req.answers).map_err(grade_error)?;
                // Never over an attempt that was graded meanwhile.
                let n = diesel::update(
                    exam_attempts::table
                        .find(&id)
                        .filter(exam_attempts::status.eq("in_progress")),
                )
                .set(
                    exam_attempts::answers
                        .eq(serde_json::to_string(&req.answers).map_err(AppError::internal)?),
                )
                .execute(conn)?;
                if n != 1 {
                    return Err(AppError::conflict(
                        "already_submitted",
                        "this attempt was submitted",
                    ));
                }
                let row = load(conn, &id)?.ok_or(AppError::NotFound)?;
                view(conn, &row)
            })
        })
        .await?)
}

/// When the agent may start their next attempt at `skill` (now if nothing blocks it).
fn next_start(
    conn: &mut DbConn,
    agent: &AccountId,
    skill: &str,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, AppError> {
    let rules = super::banks::find_track(conn, skill)?.unwrap_or_default();
    let starts: Vec<NaiveDateTime> = exam_attempts::table
        .filter(exam_attempts::agent_id.eq(agent.as_str()))
        .filter(exam_attempts::skill.eq(skill))
        .select(exam_attempts::started_at)
        .load(conn)?;
    Ok(match exam::may_start(now, &starts, &rules) {
        Ok(()) => now,
        Err(e) => e.retry_at(),
    })
}

/// Mails the agent the result of a graded (or reviewed) attempt, or that it went to a
/// reviewer, with the next step: book a trial, retry at a given time, or wait.
pub(super) fn mail_result(
    conn: &mut DbConn,
    agent: &AccountId,
    skill: &str,
    outcome: Outcome,
    now: NaiveDateTime,
    ctx: &super::mails::MailCtx,
) -> Result<(), AppError> {
    use crate::mail::templates::{ExamMailResult, MailKind};
    let retry = match outcome {
        Outcome::Failed { .. } => Some(next_start(conn, agent, skill, now)?),
        _ => None,
    };
    let page = match outcome {
        Outcome::Passed { .. } => "/agent/trials",
        Outcome::Failed { .. } | Outcome::AwaitingReview => "/agent/exams",
    };
    super::mails::send(
        conn,
        agent,
        |to| MailKind::ExamResult {
            skill: ctx.skill(skill, to.locale),
            result: match outcome {
                Outcome::Passed { percent } => ExamMailResult::Passed { percent },
                Outcome::Failed { percent } => ExamMailResult::Failed {
                    percent,
                    retry_at: super::mails::local(&to.zone, retry.unwrap_or(now)),
                },
                Outcome::AwaitingReview => ExamMailResult::AwaitingReview,
            },
            link: ctx.link(page),
        },
        now,
    )
}

/// A pass moves an applicant to `exam_passed`; later passes (other skills) change nothing.
pub(super) fn first_pass(
    conn: &mut DbConn,
    agent: &AccountId,
    reviewer: Option<&AccountId>,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let status = super::store::find(conn, agent)?.and_then(|a| AgentStatus::parse(&a.status));
    if status == Some(AgentStatus::Applicant) {
        super::service::apply_event(
            conn,
            agent,
            AgentEvent::PassExam,
            Party::System,
            reviewer,
            Some(reason),
            now,
        )?;
    }
    Ok(())
}

/// Grades a submitted attempt on `answers`, records the result, moves a first-time
/// passer to `exam_passed` and mails the result; in the caller's transaction.
fn settle(
    conn: &mut DbConn,
    row: &AttemptRow,
    answers: &[Answer],
    now: NaiveDateTime,
    ctx: &super::mails::MailCtx,
) -> Result<(), AppError> {
    let agent = AccountId(row.agent_id.clone());
    let items: Vec<Item> = serde_json::from_str(&row.items).map_err(AppError::internal)?;
    let (bank, drawn) = questions_of(conn, &items)?;
    let grade = exam::grade(&bank, &drawn, answers).map_err(grade_error)?;
    let result = exam::outcome(&grade, None, row.pass_percent as u32);
    let (status, percent) = stored(result);
    let n = diesel::update(
        exam_attempts::table
            .find(&row.id)
            .filter(exam_attempts::status.eq("in_progress")),
    )
    .set((
        exam_attempts::answers.eq(serde_json::to_string(answers).map_err(AppError::internal)?),
        exam_attempts::status.eq(status),
        exam_attempts::submitted_at.eq(now),
        exam_attempts::choice_points.eq(grade.choice_points as i32),
        exam_attempts::choice_max.eq(grade.choice_max as i32),
        exam_attempts::scenario_max.eq(grade.scenario_max as i32),
        exam_attempts::percent.eq(percent),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(AppError::conflict(
            "already_submitted",
            "this attempt was already submitted",
        ));
    }
    mail_result(conn, &agent, &row.skill, result, now, ctx)?;
    if status == "passed" {
        first_pass(
            conn,
            &agent,
            None,
            &format!("passed the {} exam", row.skill),
            now,
        )?;
    }
    Ok(())
}

/// Submits: answers sent with the submission count if the deadline has not passed; after
/// it, the attempt is graded on what was saved. Passing moves an applicant to
/// `exam_passed` (a lifecycle event by the service).
pub async fn submit(
    state: &AppState,
    agent: AccountId,
    id: String,
    req: AnswersRequest,
) -> Result<AttemptView, AppError> {
    let clock = state.clock.clone();
    let ctx = super::mails::MailCtx::new(state);
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<AttemptView, AppError> {
                let now = clock.now();
                let row = own(conn, &agent, &id)?;
                if row.status != "in_progress" {
                    return Err(AppError::conflict(
                        "already_submitted",
                        "this attempt was already submitted",
                    ));
                }
                let answers = if now < row.deadline && !req.answers.is_empty() {
                    req.answers
                } else {
                    serde_json::from_str(&row.answers).unwrap_or_default()
                };
                settle(conn, &row, &answers, now, &ctx)?;
                let row = load(conn, &id)?.ok_or(AppError::NotFound)?;
                view(conn, &row)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

/// Grades the attempts whose deadline passed without a submission, on what was saved
/// (the agent closed the tab or lost the connection). Returns how many.
pub fn grade_overdue(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &super::mails::MailCtx,
) -> Result<usize, AppError> {
    let overdue: Vec<String> = exam_attempts::table
        .filter(exam_attempts::status.eq("in_progress"))
        .filter(exam_attempts::deadline.le(now))
        .select(exam_attempts::id)
        .load(conn)?;
    let mut graded = 0;
    for id in overdue {
        let done = write_transaction(conn, |conn| -> Result<usize, AppError> {
            let Some(row) = load(conn, &id)? else {
                return Ok(0);
            };
            if row.status != "in_progress" {
                return Ok(0);
            }
            let answers: Vec<Answer> = serde_json::from_str(&row.answers).unwrap_or_default();
            // Graded at the deadline, as the agent would have been.
            settle(conn, &row, &answers, row.deadline, ctx)?;
            Ok(1)
        });
        match done {
            Ok(n) => graded += n,
            // One broken attempt (say, a bank replaced under it) must not stop the rest.
            Err(e) => tracing::warn!(attempt = %id, error = %e, "cannot grade an overdue attempt"),
        }
    }
    Ok(graded)
}

/// Records a finished attempt as if the agent had taken it at `at` (the demo's history):
/// questions drawn from the bank, the right answer to every choice question and `text`
/// written into every scenario. With a `reviewer`, the written answers got full marks
/// from them; without, the attempt holds at least one and waits for a reviewer. No mail
/// and no lifecycle event: the demo writes its own history. Returns the attempt's status.
pub(crate) fn record_finished<R: rand::Rng + ?Sized>(
    conn: &mut DbConn,
    agent: &AccountId,
    skill: &str,
    at: NaiveDateTime,
    text: &str,
    reviewer: Option<&AccountId>,
    rng: &mut R,
) -> Result<String, AppError> {
    let rules = super::banks::find_track(conn, skill)?.ok_or(AppError::NotFound)?;
    let (ids, bank) = bank_of(conn, skill)?;
    let has_scenario = |drawn: &[Drawn]| {
        drawn
            .iter()
            .any(|d| bank[d.bank_index].kind == exam::QuestionKind::Scenario)
    };
    let mut drawn = exam::draw(&bank, rules.exam_size, rng).map_err(AppError::internal)?;
    for _ in 0..50 {
        if reviewer.is_some() || has_scenario(&drawn) {
            break;
        }
        drawn = exam::draw(&bank, rules.exam_size, rng).map_err(AppError::internal)?;
    }
    let answers: Vec<Answer> = drawn
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let q = &bank[d.bank_index];
            Answer {
                number: i + 1,
                choices: (0..d.option_order.len())
                    .filter(|&p| q.correct.contains(&d.option_order[p]))
                    .collect(),
                text: (q.kind == exam::QuestionKind::Scenario).then(|| text.to_owned()),
            }
        })
        .collect();
    let grade = exam::grade(&bank, &drawn, &answers).map_err(grade_error)?;
    let marks: Vec<super::reviews::ScenarioMark> = grade
        .pending
        .iter()
        .map(|&number| super::reviews::ScenarioMark {
            number,
            points: bank[drawn[number - 1].bank_index].points,
            comment: None,
        })
        .collect();
    let scenario_points = reviewer.map(|_| grade.scenario_max);
    let (status, percent) = stored(exam::outcome(&grade, scenario_points, rules.pass_percent));
    let items = items_of(&ids, &drawn);
    let submitted = at + Duration::minutes(18);
    diesel::insert_into(exam_attempts::table)
        .values((
            exam_attempts::id.eq(new_id()),
            exam_attempts::agent_id.eq(agent.as_str()),
            exam_attempts::skill.eq(skill),
            exam_attempts::items.eq(serde_json::to_string(&items).map_err(AppError::internal)?),
            exam_attempts::answers.eq(serde_json::to_string(&answers).map_err(AppError::internal)?),
            exam_attempts::status.eq(status),
            exam_attempts::pass_percent.eq(rules.pass_percent as i32),
            exam_attempts::started_at.eq(at),
            exam_attempts::deadline.eq(at + Duration::minutes(i64::from(rules.duration_minutes))),
            exam_attempts::submitted_at.eq(submitted),
            exam_attempts::choice_points.eq(grade.choice_points as i32),
            exam_attempts::choice_max.eq(grade.choice_max as i32),
            exam_attempts::scenario_max.eq(grade.scenario_max as i32),
            exam_attempts::percent.eq(percent),
            exam_attempts::scenario_points.eq(scenario_points.map(|p| p as i32)),
            exam_attempts::review.eq(reviewer
                .map(|_| serde_json::to_string(&marks))
                .transpose()
                .map_err(AppError::internal)?),
            exam_attempts::reviewed_by.eq(reviewer.map(|r| r.as_str())),
            exam_attempts::reviewed_at.eq(reviewer.map(|_| submitted + Duration::hours(20))),
        ))
        .execute(conn)?;
    Ok(status.to_owned())
}
