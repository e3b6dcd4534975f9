//! Exam tracks (one per skill: size, pass mark, time, retake rules) and their question
//! banks, which admins fill by importing CSV or TOML. An import is all or nothing: every
//! bad row is reported and none is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exam::{self, ExamRules, Question};
use crate::accounts::model::AccountId;
use crate::audit::{self, AuditEntry};
use crate::db::schema::{exam_questions, exam_tracks};
use crate::db::{DbConn, new_id, write_transaction};
use crate::error::{AppError, FieldError, FieldErrors, Invalid};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TopicCount {
    pub topic: String,
    pub questions: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackView {
    pub skill: String,
    pub rules: ExamRules,
    /// Questions in the bank.
    pub bank_size: i64,
    pub topics: Vec<TopicCount>,
    /// Whether the bank holds enough questions for one attempt; agents cannot start the
    /// exam until it does.
    pub ready: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// `csv` (header `topic,kind,prompt,option_1..option_6,correct,points,model_answer,rubric`)
    /// or `toml` (`[[question]]` tables).
    pub format: String,
    pub content: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    pub imported: usize,
    pub bank_size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionView {
    pub id: String,
    pub question: Question,
}

fn check_rules(rules: &ExamRules) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let mut range = |field: &str, value: i64, lo: i64, hi: i64| {
        if value < lo || value > hi {
            errors.push(
                field,
                Invalid::new("out_of_range", format!("between {lo} and {hi}")),
            );
        }
    };
    range("exam_size", rules.exam_size as i64, 1, 200);
    range("pass_percent", i64::from(rules.pass_percent), 1, 100);
    range(
        "duration_minutes",
        i64::from(rules.duration_minutes),
        1,
        480,
    );
    range("cooldown_hours", i64::from(rules.cooldown_hours), 0, 2160);
    range(
        "max_attempts_per_30_days",
        i64::from(rules.max_attempts_per_30_days),
        0,
        100,
    );
    errors.finish()
}

pub(super) fn find_track(conn: &mut DbConn, skill: &str) -> QueryResult<Option<ExamRules>> {
    exam_tracks::table
        .find(skill)
        .select((
            exam_tracks::exam_size,
            exam_tracks::pass_percent,
            exam_tracks::duration_minutes,
            exam_tracks::cooldown_hours,
            exam_tracks::max_attempts_per_30_days,
        ))
        .first::<(i32, i32, i32, i32, i32)>(conn)
        .optional()
        .map(|row| {
            row.map(|(size, pass, minutes, cooldown, max)| ExamRules {
                exam_size: size as usize,
                pass_percent: pass as u32,
                duration_minutes: minutes as u32,
                cooldown_hours: cooldown as u32,
                max_attempts_per_30_days: max as u32,
            })
        })
}

/// Creates or replaces a skill's track rules (validated by the caller).
pub(crate) fn store_track(
    conn: &mut DbConn,
    skill: &str,
    rules: &ExamRules,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let values = (
        exam_tracks::exam_size.eq(rules.exam_size as i32),
        exam_tracks::pass_percent.eq(rules.pass_percent as i32),
        exam_tracks::duration_minutes.eq(rules.duration_minutes as i32),
        exam_tracks::cooldown_hours.eq(rules.cooldown_hours as i32),
        exam_tracks::max_attempts_per_30_days.eq(rules.max_attempts_per_30_days as i32),
        exam_tracks::updated_at.eq(now),
    );
    if find_track(conn, skill)?.is_some() {
        diesel::update(exam_tracks::table.find(skill))
            .set(values)
            .execute(conn)?;
    } else {
        diesel::insert_into(exam_tracks::table)
            .values((
                exam_tracks::skill.eq(skill),
                values,
                exam_tracks::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds parsed questions to a skill's bank.
pub(crate) fn store_questions(
    conn: &mut DbConn,
    skill: &str,
    questions: &[Question],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for q in questions {
        diesel::insert_into(exam_questions::table)
            .values((
                exam_questions::id.eq(new_id()),
                exam_questions::skill.eq(skill),
                exam_questions::topic.eq(&q.topic),
                exam_questions::kind.eq(q.kind.as_str()),
                exam_questions::body.eq(serde_json::to_string(q).map_err(AppError::internal)?),
                exam_questions::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn track_view(conn: &mut DbConn, skill: &str, rules: ExamRules) -> QueryResult<TrackView> {
    let topics: Vec<(String, i64)> = exam_questions::table
        .filter(exam_questions::skill.eq(skill))
        .group_by(exam_questions::topic)
        .select((exam_questions::topic, diesel::dsl::count_star()))
        .order(exam_questions::topic.asc())
        .load(conn)?;
    let bank_size = topics.iter().map(|t| t.1).sum::<i64>();
    Ok(TrackView {
        skill: skill.to_owned(),
        ready: bank_size >= rules.exam_size as i64,
        rules,
        bank_size,
        topics: topics
            .into_iter()
            .map(|(topic, questions)| TopicCount { topic, questions })
            .collect(),
    })
}

pub async fn list_tracks(state: &AppState) -> Result<Vec<TrackView>, AppError> {
    Ok(state
        .db
        .run(|conn| -> Result<Vec<TrackView>, AppError> {
            let skills: Vec<String> = exam_tracks::table
                .select(exam_tracks::skill)
                .order(exam_tracks::skill.asc())
                .load(conn)?;
            let mut views = Vec::with_capacity(skills.len());
            for skill in skills {
                if let Some(rules) = find_track(conn, &skill)? {
                    views.push(track_view(conn, &skill, rules)?);
                }
            }
            Ok(views)
        })
        .await?)
}

/// Creates or changes the track of a skill named in the seat rules.
pub async fn save_track(
    state: &AppState,
    admin: AccountId,
    skill: String,
    rules: ExamRules,
) -> Result<TrackView, AppError> {
    if state.rules().skill(&skill).is_none() {
        return Err(AppError::NotFound);
    }
    check_rules(&rules)?;
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<TrackView, AppError> {
                let now: NaiveDateTime = clock.now();
                store_track(conn, &skill, &rules, now)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&admin),
                        action: "exam_track.saved",
                        target_type: "exam_track",
                        target_id: Some(&skill),
                        details: serde_json::to_value(&rules).unwrap_or_default(),
                    },
                    now,
                )?;
                Ok(track_view(conn, &skill, rules)?)
            })
        })
        .await?)
}

/// Imports questions into a skill's bank: every row is checked first, and one bad row
/// means nothing is stored.
pub async fn import(
    state: &AppState,
    admin: AccountId,
    skill: String,
    req: ImportRequest,
) -> Result<Imported, AppError> {
    let parsed = match req.format.as_str() {
        "csv" => exam::parse_csv(&req.content),
        "toml" => exam::parse_toml(&req.content),
        _ => {
            return Err(AppError::field(
                "format",
                "unknown_value",
                "use csv or toml",
            ));
        }
    };
    let questions = parsed
        .map_err(|rows| AppError::Validation(rows.into_iter().map(FieldError::from).collect()))?;
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<Imported, AppError> {
                let now = clock.now();
                if find_track(conn, &skill)?.is_none() {
                    return Err(AppError::NotFound);
                }
                store_questions(conn, &skill, &questions, now)?;
                let bank_size: i64 = exam_questions::table.filter(exam_questions::skill.eq(&skill)).count().get_result(conn)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&admin),
                        action: "exam_questions.imported",
                        target_type: "exam_track",
                        target_id: Some(&skill),
                        details: serde_json::json!({ "imported": questions.len(), "bank_size": bank_size }),
                    },
                    now,
                )?;
                Ok(Imported { imported: questions.len(), bank_size })
            })
        })
        .await?)
}

/// A page of a bank, oldest first (with the answers: admins only).
pub async fn questions(
    state: &AppState,
    skill: String,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<QuestionView>, AppError> {
    Ok(state
        .db
        .run(move |conn| -> Result<Vec<QuestionView>, AppError> {
            if find_track(conn, &skill)?.is_none() {
                return Err(AppError::NotFound);
            }
            let mut query = exam_questions::table
                .filter(exam_questions::skill.eq(&skill))
                .select((exam_questions::id, exam_questions::body))
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(exam_questions::id.gt(after));
            }
            let rows: Vec<(String, String)> = query
                .order(exam_questions::id.asc())
                .limit(limit)
                .load(conn)?;
            rows.into_iter()
                .map(|(id, body)| {
                    Ok(QuestionView {
                        id,
                        question: serde_json::from_str(&body).map_err(AppError::internal)?,
                    })
                })
                .collect()
        })
        .await?)
}
