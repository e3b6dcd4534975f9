//! Trial shifts and the certifications they grant. Admins publish supervised trial slots
//! per skill; an agent who passed the skill's exam books one, and during it handles the
//! practice chats the system plays (several at once, as at work; no merchant takes
//! trainees until live chat exists). A reviewer scores the replies on the track's
//! scorecard: a pass certifies the agent for the skill for twelve months, a fail sends
//! them back to book another trial with the feedback. Certifications expire; agents are
//! reminded 30 and 7 days before, and an expired one no longer counts for claims.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lifecycle::{AgentEvent, Party};
use super::mails;
use super::reviews::{QueueRow, ReviewQueueItem, queue_items};
use super::trial::{self, Criterion, Mark, PlayedChat, TrialRules};
use crate::accounts::model::{AccountId, AgentStatus};
use crate::audit::{self, AuditEntry};
use crate::db::schema::{
    accounts, certifications, exam_attempts, exam_tracks, trial_slots, trials,
};
use crate::db::{DbConn, new_id, write_transaction};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::mail::templates::MailKind;
use crate::state::AppState;

/// A certification may be renewed by a new trial once it expires within this many days.
pub const RENEWAL_WINDOW_DAYS: i64 = 60;

// ---------------------------------------------------------------------------------------
// Views and requests
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    pub skill: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Agents the reviewers can supervise at once (1-50).
    pub capacity: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    pub id: String,
    pub skill: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub booked: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TurnView {
    pub customer: String,
    pub shown_at: DateTime<Utc>,
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
}

/// A practice chat as the agent sees it: only what the customer has written so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatView {
    /// Refer to the chat by this in replies.
    pub index: usize,
    pub title: String,
    pub turns: Vec<TurnView>,
    /// The customer waits for a reply.
    pub waiting: bool,
    pub finished: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrialView {
    pub id: String,
    pub agent_id: String,
    pub skill: String,
    /// `booked`, `awaiting_review`, `passed`, `failed`, `missed` or `cancelled`.
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Always true: every screen marks a trial as one.
    pub trial: bool,
    pub chats: Vec<ChatView>,
    pub percent: Option<i32>,
    /// The reviewer's marks per criterion, once reviewed.
    pub marks: Option<Vec<Mark>>,
    pub feedback: Option<String>,
    pub booked_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The practice chat's `index`.
    pub chat: usize,
    pub text: String,
}

/// A trial as the reviewer sees it: the whole transcript with response times, and the
/// scorecard to fill in.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialReviewView {
    pub trial: TrialView,
    pub agent_name: String,
    pub criteria: Vec<Criterion>,
    pub pass_percent: u32,
    /// Seconds from each customer message to the agent's reply.
    pub response_seconds: Vec<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialReviewRequest {
    /// One mark (0-4) per scorecard criterion.
    pub marks: Vec<Mark>,
    /// For the agent; required when the trial fails.
    #[serde(default)]
    pub feedback: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificationView {
    pub skill: String,
    pub certified_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Valid now; an expired certification no longer counts for shift claims.
    pub valid: bool,
}

// ---------------------------------------------------------------------------------------
// Track trial rules
// ---------------------------------------------------------------------------------------

pub(super) fn rules_of(conn: &mut DbConn, skill: &str) -> Result<Option<TrialRules>, AppError> {
    let raw: Option<String> = exam_tracks::table
        .find(skill)
        .select(exam_tracks::trial)
        .first(conn)
        .optional()?;
    raw.map(|r| serde_json::from_str(&r).map_err(AppError::internal))
        .transpose()
}

pub async fn trial_rules(state: &AppState, skill: String) -> Result<TrialRules, AppError> {
    Ok(state
        .db
        .run(move |conn| rules_of(conn, &skill)?.ok_or(AppError::NotFound))
        .await?)
}

pub async fn set_trial_rules(
    state: &AppState,
    admin: AccountId,
    skill: String,
    rules: TrialRules,
) -> Result<TrialRules, AppError> {
    rules.validate()?;
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<TrialRules, AppError> {
                let n = diesel::update(exam_tracks::table.find(&skill))
                    .set((
                        exam_tracks::trial
                            .eq(serde_json::to_string(&rules).map_err(AppError::internal)?),
                        exam_tracks::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                if n == 0 {
                    return Err(AppError::NotFound);
                }
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&admin),
                        action: "exam_track.trial_rules_saved",
                        target_type: "exam_track",
                        target_id: Some(&skill),
                        details: serde_json::json!({
                            "pass_percent": rules.pass_percent,
                            "criteria": rules.criteria.len(),
                            "practice_chats": rules.practice_chats.len(),
                        }),
                    },
                    now,
                )?;
                Ok(rules)
            })
        })
        .await?)
}

// ---------------------------------------------------------------------------------------
// Slots
// ---------------------------------------------------------------------------------------

type SlotRow = (String, String, NaiveDateTime, NaiveDateTime, i32, i32);

fn slot_view((id, skill, starts, ends, capacity, booked): SlotRow) -> SlotView {
    SlotView {
        id,
        skill,
        starts_at: starts.and_utc(),
        ends_at: ends.and_utc(),
        capacity,
        booked,
    }
}

fn slot_columns() -> (
    trial_slots::id,
    trial_slots::skill,
    trial_slots::starts_at,
    trial_slots::ends_at,
    trial_slots::capacity,
    trial_slots::booked,
) {
    (
        trial_slots::id,
        trial_slots::skill,
        trial_slots::starts_at,
        trial_slots::ends_at,
        trial_slots::capacity,
        trial_slots::booked,
    )
}

/// Every problem with a new slot at once.
pub fn check_slot(req: &SlotRequest, now: NaiveDateTime) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let (starts, ends) = (req.starts_at.naive_utc(), req.ends_at.naive_utc());
    if starts <= now {
        errors.push(
            "starts_at",
            Invalid::new("in_the_past", "must be in the future"),
        );
    }
    let length = ends - starts;
    if length < Duration::minutes(30) || length > Duration::hours(8) {
        errors.push(
            "ends_at",
            Invalid::new("out_of_range", "a trial lasts 30 minutes to 8 hours"),
        );
    }
    if !(1..=50).contains(&req.capacity) {
        errors.push("capacity", Invalid::new("out_of_range", "between 1 and 50"));
    }
    errors.finish()
}

pub async fn create_slot(
    state: &AppState,
    admin: AccountId,
    req: SlotRequest,
) -> Result<SlotView, AppError> {
    let now = state.clock.now();
    check_slot(&req, now)?;
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<SlotView, AppError> {
                if rules_of(conn, &req.skill)?.is_none() {
                    return Err(AppError::field(
                        "skill",
                        "unknown_value",
                        "no exam track for this skill",
                    ));
                }
                let id = new_id();
                diesel::insert_into(trial_slots::table)
                    .values((
                        trial_slots::id.eq(&id),
                        trial_slots::skill.eq(&req.skill),
                        trial_slots::starts_at.eq(req.starts_at.naive_utc()),
                        trial_slots::ends_at.eq(req.ends_at.naive_utc()),
                        trial_slots::capacity.eq(req.capacity),
                        trial_slots::booked.eq(0),
                        trial_slots::created_by.eq(admin.as_str()),
                        trial_slots::created_at.eq(now),
                    ))
                    .execute(conn)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&admin),
                        action: "trial_slot.created",
                        target_type: "trial_slot",
                        target_id: Some(&id),
                        details: serde_json::json!({
                            "skill": req.skill, "starts_at": req.starts_at,
                            "ends_at": req.ends_at, "capacity": req.capacity,
                        }),
                    },
                    now,
                )?;
                let row = trial_slots::table
                    .find(&id)
                    .select(slot_columns())
                    .first::<SlotRow>(conn)?;
                Ok(slot_view(row))
            })
        })
        .await?)
}

/// Slots that have not ended, soonest first; `open_only` leaves out full ones (what an
/// agent can book).
pub async fn list_slots(
    state: &AppState,
    skill: Option<String>,
    open_only: bool,
    limit: i64,
) -> Result<Vec<SlotView>, AppError> {
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| -> Result<Vec<SlotView>, AppError> {
            let mut q = trial_slots::table
                .select(slot_columns())
                .order((trial_slots::starts_at.asc(), trial_slots::id.asc()))
                .limit(limit)
                .into_boxed();
            q = if open_only {
                q.filter(trial_slots::starts_at.gt(now))
                    .filter(trial_slots::booked.lt(trial_slots::capacity))
            } else {
                q.filter(trial_slots::ends_at.gt(now))
            };
            if let Some(skill) = skill {
                q = q.filter(trial_slots::skill.eq(skill));
            }
            Ok(q.load::<SlotRow>(conn)?
                .into_iter()
                .map(slot_view)
                .collect())
        })
        .await?)
}

// ---------------------------------------------------------------------------------------
// Trials
// ---------------------------------------------------------------------------------------

#[derive(Queryable)]
struct TrialRow {
    id: String,
    agent_id: String,
    skill: String,
    status: String,
    chats: String,
    scores: Option<String>,
    percent: Option<i32>,
    feedback: Option<String>,
    booked_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
    reviewed_at: Option<NaiveDateTime>,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
}

type TrialsWithSlots = diesel::dsl::InnerJoinOn<
    trials::table,
    trial_slots::table,
    diesel::dsl::Eq<trial_slots::id, trials::slot_id>,
>;

type TrialQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<TrialsWithSlots, TrialColumns>,
    crate::db::MultiBackend,
>;

/// Trials joined with their slot's times, as [`TrialRow`]s; callers add the filter.
fn trial_rows<'a>() -> TrialQuery<'a> {
    trials::table
        .inner_join(trial_slots::table.on(trial_slots::id.eq(trials::slot_id)))
        .select(TRIAL_COLUMNS)
        .into_boxed()
}

type TrialColumns = (
    trials::id,
    trials::agent_id,
    trials::skill,
    trials::status,
    trials::chats,
    trials::scores,
    trials::percent,
    trials::feedback,
    trials::booked_at,
    trials::submitted_at,
    trials::reviewed_at,
    trial_slots::starts_at,
    trial_slots::ends_at,
);

const TRIAL_COLUMNS: TrialColumns = (
    trials::id,
    trials::agent_id,
    trials::skill,
    trials::status,
    trials::chats,
    trials::scores,
    trials::percent,
    trials::feedback,
    trials::booked_at,
    trials::submitted_at,
    trials::reviewed_at,
    trial_slots::starts_at,
    trial_slots::ends_at,
);

fn load(conn: &mut DbConn, id: &str) -> QueryResult<Option<TrialRow>> {
    trial_rows()
        .filter(trials::id.eq(id))
        .first(conn)
        .optional()
}

fn own(conn: &mut DbConn, agent: &AccountId, id: &str) -> Result<TrialRow, AppError> {
    match load(conn, id)? {
        Some(row) if row.agent_id == agent.as_str() => Ok(row),
        _ => Err(AppError::NotFound),
    }
}

fn chats_of(row: &TrialRow) -> Result<Vec<PlayedChat>, AppError> {
    serde_json::from_str(&row.chats).map_err(AppError::internal)
}

fn view(row: &TrialRow) -> Result<TrialView, AppError> {
    let chats = chats_of(row)?
        .into_iter()
        .enumerate()
        .map(|(index, c)| ChatView {
            index,
            waiting: c.waiting().is_some(),
            finished: c.finished(),
            title: c.title,
            turns: c
                .turns
                .into_iter()
                .filter_map(|t| {
                    Some(TurnView {
                        customer: t.customer,
                        shown_at: t.shown_at?.and_utc(),
                        reply: t.reply,
                        replied_at: t.replied_at.map(|r| r.and_utc()),
                    })
                })
                .collect(),
        })
        .collect();
    Ok(TrialView {
        id: row.id.clone(),
        agent_id: row.agent_id.clone(),
        skill: row.skill.clone(),
        status: row.status.clone(),
        starts_at: row.starts_at.and_utc(),
        ends_at: row.ends_at.and_utc(),
        trial: true,
        chats,
        percent: row.percent,
        marks: row
            .scores
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        feedback: row.feedback.clone(),
        booked_at: row.booked_at.and_utc(),
        submitted_at: row.submitted_at.map(|t| t.and_utc()),
        reviewed_at: row.reviewed_at.map(|t| t.and_utc()),
    })
}

pub(crate) fn agent_status(conn: &mut DbConn, agent: &AccountId) -> Result<AgentStatus, AppError> {
    super::store::find(conn, agent)?
        .and_then(|a| AgentStatus::parse(&a.status))
        .ok_or(AppError::Forbidden { code: "wrong_role" })
}

/// Certifications of an agent (every skill, valid or not).
pub fn certifications_of(
    conn: &mut DbConn,
    agent: &AccountId,
    now: NaiveDateTime,
) -> QueryResult<Vec<CertificationView>> {
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime)> = certifications::table
        .filter(certifications::agent_id.eq(agent.as_str()))
        .select((
            certifications::skill,
            certifications::certified_at,
            certifications::expires_at,
        ))
        .order(certifications::skill.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(skill, from, to)| CertificationView {
            skill,
            certified_at: from.and_utc(),
            expires_at: to.and_utc(),
            valid: trial::valid_at(from, to, now),
        })
        .collect())
}

/// Whether `agent` holds a certification for `skill` covering all of `[start, end)`: the
/// rule shift claims go by (and the job board filters on the same terms).
pub fn certified_during(
    conn: &mut DbConn,
    agent: &AccountId,
    skill: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<bool> {
    let row: Option<(NaiveDateTime, NaiveDateTime)> = certifications::table
        .find((agent.as_str(), skill))
        .select((certifications::certified_at, certifications::expires_at))
        .first(conn)
        .optional()?;
    Ok(row.is_some_and(|(from, to)| from <= start && end <= to))
}

pub async fn my_certifications(
    state: &AppState,
    agent: AccountId,
) -> Result<Vec<CertificationView>, AppError> {
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| certifications_of(conn, &agent, now))
        .await?)
}

/// The agent's trials, newest first.
pub async fn my_trials(state: &AppState, agent: AccountId) -> Result<Vec<TrialView>, AppError> {
    Ok(state
        .db
        .run(move |conn| -> Result<Vec<TrialView>, AppError> {
            let rows: Vec<TrialRow> = trial_rows()
                .filter(trials::agent_id.eq(agent.as_str()))
                .order(trials::id.desc())
                .limit(50)
                .load(conn)?;
            rows.iter().map(view).collect()
        })
        .await?)
}

pub async fn get(state: &AppState, agent: AccountId, id: String) -> Result<TrialView, AppError> {
    Ok(state
        .db
        .run(move |conn| view(&own(conn, &agent, &id)?))
        .await?)
}

/// Books a trial slot: the agent passed the skill's exam, has no other open trial and is
/// not certified for the skill beyond the renewal window; the slot is in the future and
/// has room (taken atomically, so a full slot is never overbooked).
pub async fn book(
    state: &AppState,
    agent: AccountId,
    slot_id: String,
) -> Result<TrialView, AppError> {
    let clock = state.clock.clone();
    let ctx = mails::MailCtx::new(state);
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<TrialView, AppError> {
                let now = clock.now();
                let status = agent_status(conn, &agent)?;
                if status == AgentStatus::Applicant {
                    return Err(AppError::conflict(
                        "exam_not_passed",
                        "pass the skill's exam before booking its trial",
                    ));
                }
                // In trial: told below that a trial is already booked.
                if !matches!(
                    status,
                    AgentStatus::ExamPassed | AgentStatus::InTrial | AgentStatus::Certified
                ) {
                    return Err(AppError::conflict(
                        "status_forbids",
                        format!("an agent who is {} cannot book a trial", status.as_str()),
                    ));
                }
                let (skill, starts, ends): (String, NaiveDateTime, NaiveDateTime) =
                    trial_slots::table
                        .find(&slot_id)
                        .select((
                            trial_slots::skill,
                            trial_slots::starts_at,
                            trial_slots::ends_at,
                        ))
                        .first(conn)
                        .optional()?
                        .ok_or(AppError::NotFound)?;
                if starts <= now {
                    return Err(AppError::conflict(
                        "slot_started",
                        "this slot has already begun; pick a later one",
                    ));
                }
                let passed: i64 = exam_attempts::table
                    .filter(exam_attempts::agent_id.eq(agent.as_str()))
                    .filter(exam_attempts::skill.eq(&skill))
                    .filter(exam_attempts::status.eq("passed"))
                    .count()
                    .get_result(conn)?;
                if passed == 0 {
                    return Err(AppError::conflict(
                        "exam_not_passed",
                        format!("pass the {skill} exam before booking its trial"),
                    ));
                }
                let current: Option<NaiveDateTime> = certifications::table
                    .find((agent.as_str(), &skill))
                    .select(certifications::expires_at)
                    .first(conn)
                    .optional()?;
                if let Some(expires) = current
                    && expires > starts + Duration::days(RENEWAL_WINDOW_DAYS)
                {
                    return Err(AppError::conflict_with(
                        "already_certified",
                        format!("you are certified for {skill}; renew within {RENEWAL_WINDOW_DAYS} days of expiry"),
                        serde_json::json!({ "expires_at": expires.and_utc() }),
                    ));
                }
                let open: Option<String> = trials::table
                    .filter(trials::agent_id.eq(agent.as_str()))
                    .filter(trials::status.eq_any(["booked", "awaiting_review"]))
                    .select(trials::id)
                    .first(conn)
                    .optional()?;
                if let Some(open) = open {
                    return Err(AppError::conflict_with(
                        "trial_already_booked",
                        "you have a trial booked or waiting for review",
                        serde_json::json!({ "trial_id": open }),
                    ));
                }
                let taken = diesel::update(
                    trial_slots::table
                        .find(&slot_id)
                        .filter(trial_slots::booked.lt(trial_slots::capacity)),
                )
                .set(trial_slots::booked.eq(trial_slots::booked + 1))
                .execute(conn)?;
                if taken != 1 {
                    return Err(AppError::conflict(
                        "slot_full",
                        "this slot filled up; pick another",
                    ));
                }
                let rules = rules_of(conn, &skill)?.unwrap_or_default();
                let chats: Vec<PlayedChat> = rules
                    .practice_chats
                    .iter()
                    .map(PlayedChat::from_script)
                    .collect();
                let id = new_id();
                diesel::insert_into(trials::table)
                    .values((
                        trials::id.eq(&id),
                        trials::agent_id.eq(agent.as_str()),
                        trials::slot_id.eq(&slot_id),
                        trials::skill.eq(&skill),
                        trials::status.eq("booked"),
                        trials::chats.eq(serde_json::to_string(&chats).map_err(AppError::internal)?),
                        trials::booked_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(|e| {
                        if crate::db::is_unique_violation(&e) {
                            AppError::conflict(
                                "trial_already_booked",
                                "you have a trial booked or waiting for review",
                            )
                        } else {
                            e.into()
                        }
                    })?;
                if status == AgentStatus::ExamPassed {
                    super::service::apply_event(
                        conn,
                        &agent,
                        AgentEvent::StartTrial,
                        Party::Agent,
                        Some(&agent),
                        Some(&format!("booked a {skill} trial")),
                        now,
                    )?;
                }
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&agent),
                        action: "trial.booked",
                        target_type: "trial",
                        target_id: Some(&id),
                        details: serde_json::json!({ "skill": skill, "slot_id": slot_id }),
                    },
                    now,
                )?;
                mails::send(
                    conn,
                    &agent,
                    |to| MailKind::TrialBooked {
                        skill: ctx.skill(&skill, to.locale),
                        when: format!("{} – {}", mails::local(&to.zone, starts), mails::local(&to.zone, ends)),
                        link: ctx.link(&format!("/agent/trials/{id}")),
                    },
                    now,
                )?;
                view(&load(conn, &id)?.ok_or(AppError::NotFound)?)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

/// Gives a booked slot back before it begins; the agent can book another.
pub async fn cancel(state: &AppState, agent: AccountId, id: String) -> Result<TrialView, AppError> {
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<TrialView, AppError> {
                let now = clock.now();
                let row = own(conn, &agent, &id)?;
                if row.status != "booked" {
                    return Err(AppError::conflict(
                        "not_booked",
                        format!("this trial is {}", row.status),
                    ));
                }
                if now >= row.starts_at {
                    return Err(AppError::conflict(
                        "trial_started",
                        "a trial that has begun cannot be cancelled; finish it instead",
                    ));
                }
                set_status(conn, &id, "booked", "cancelled", None)?;
                let slot: String = trials::table
                    .find(&id)
                    .select(trials::slot_id)
                    .first(conn)?;
                diesel::update(trial_slots::table.find(&slot))
                    .set(trial_slots::booked.eq(trial_slots::booked - 1))
                    .execute(conn)?;
                if agent_status(conn, &agent)? == AgentStatus::InTrial {
                    super::service::apply_event(
                        conn,
                        &agent,
                        AgentEvent::CancelTrial,
                        Party::Agent,
                        Some(&agent),
                        Some(&format!("cancelled the {} trial", row.skill)),
                        now,
                    )?;
                }
                view(&load(conn, &id)?.ok_or(AppError::NotFound)?)
            })
        })
        .await?)
}

/// Moves a trial from one status to another; false if it moved meanwhile.
fn try_set_status(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    to: &str,
    submitted_at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let n = diesel::update(trials::table.find(id).filter(trials::status.eq(from)))
        .set((trials::status.eq(to), trials::submitted_at.eq(submitted_at)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Like [`try_set_status`], reporting a trial that moved meanwhile as a conflict.
fn set_status(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    to: &str,
    submitted_at: Option<NaiveDateTime>,
) -> Result<(), AppError> {
    if try_set_status(conn, id, from, to, submitted_at)? {
        Ok(())
    } else {
        Err(AppError::conflict(
            "trial_changed",
            "the trial changed meanwhile; reload",
        ))
    }
}

/// Cancels an agent's booked trials and gives their seats back (the agent was suspended
/// or left); in the caller's transaction. Trials already done wait for their review.
pub(crate) fn cancel_booked_of(conn: &mut DbConn, agent: &AccountId) -> QueryResult<usize> {
    let booked: Vec<(String, String)> = trials::table
        .filter(trials::agent_id.eq(agent.as_str()))
        .filter(trials::status.eq("booked"))
        .select((trials::id, trials::slot_id))
        .load(conn)?;
    for (id, slot) in &booked {
        if try_set_status(conn, id, "booked", "cancelled", None)? {
            diesel::update(trial_slots::table.find(slot))
                .set(trial_slots::booked.eq(trial_slots::booked - 1))
                .execute(conn)?;
        }
    }
    Ok(booked.len())
}

/// Runs `change` on the practice chats of a trial that is under way now.
fn play(
    state: &AppState,
    agent: AccountId,
    id: String,
    change: impl FnOnce(&mut Vec<PlayedChat>, NaiveDateTime) -> Result<(), AppError> + Send + 'static,
) -> impl std::future::Future<Output = Result<TrialView, AppError>> {
    let clock = state.clock.clone();
    let db = state.db.clone();
    async move {
        Ok(db
            .run(move |conn| {
                write_transaction(conn, |conn| -> Result<TrialView, AppError> {
                    let now = clock.now();
                    let row = own(conn, &agent, &id)?;
                    if row.status != "booked" {
                        return Err(AppError::conflict(
                            "not_booked",
                            format!("this trial is {}", row.status),
                        ));
                    }
                    if now < row.starts_at {
                        return Err(AppError::conflict_with(
                            "trial_not_started",
                            "the trial has not begun yet",
                            serde_json::json!({ "starts_at": row.starts_at.and_utc() }),
                        ));
                    }
                    if now >= row.ends_at {
                        return Err(AppError::conflict(
                            "trial_over",
                            "the trial's time is over; it goes to a reviewer",
                        ));
                    }
                    let mut chats = chats_of(&row)?;
                    change(&mut chats, now)?;
                    // Only over what was read: a reply racing another reply (or the end of
                    // the trial) is refused, never lost.
                    let n = diesel::update(
                        trials::table
                            .find(&id)
                            .filter(trials::status.eq("booked"))
                            .filter(trials::chats.eq(&row.chats)),
                    )
                    .set(
                        trials::chats
                            .eq(serde_json::to_string(&chats).map_err(AppError::internal)?),
                    )
                    .execute(conn)?;
                    if n != 1 {
                        return Err(AppError::conflict(
                            "trial_changed",
                            "the trial changed meanwhile; reload and send again",
                        ));
                    }
                    view(&load(conn, &id)?.ok_or(AppError::NotFound)?)
                })
            })
            .await?)
    }
}

/// Opens the practice chats (the customers' first messages appear); idempotent.
pub async fn begin(state: &AppState, agent: AccountId, id: String) -> Result<TrialView, AppError> {
    play(state, agent, id, |chats, now| {
        trial::begin(chats, now);
        Ok(())
    })
    .await
}

/// The agent's reply in one practice chat; the customer's next message follows.
pub async fn reply(
    state: &AppState,
    agent: AccountId,
    id: String,
    req: ReplyRequest,
) -> Result<TrialView, AppError> {
    let text = req.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(AppError::field(
            "text",
            "invalid_length",
            "write 1 to 2000 characters",
        ));
    }
    play(state, agent, id, move |chats, now| {
        trial::reply(chats, req.chat, &text, now).map_err(|e| match e {
            trial::ReplyError::NoSuchChat(_) => {
                AppError::field("chat", "unknown_value", e.to_string())
            }
            trial::ReplyError::NothingToAnswer => {
                AppError::conflict("nothing_to_answer", e.to_string())
            }
        })
    })
    .await
}

/// The agent is done before the slot ends: the trial goes to a reviewer.
pub async fn finish(state: &AppState, agent: AccountId, id: String) -> Result<TrialView, AppError> {
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<TrialView, AppError> {
                let now = clock.now();
                let row = own(conn, &agent, &id)?;
                if row.status != "booked" {
                    return Err(AppError::conflict(
                        "not_booked",
                        format!("this trial is {}", row.status),
                    ));
                }
                if now >= row.ends_at {
                    return Err(AppError::conflict(
                        "trial_over",
                        "the trial's time is over; it went to a reviewer as it stood",
                    ));
                }
                if !trial::any_reply(&chats_of(&row)?) {
                    return Err(AppError::conflict(
                        "nothing_answered",
                        "reply to the practice chats before finishing",
                    ));
                }
                set_status(conn, &id, "booked", "awaiting_review", Some(now))?;
                view(&load(conn, &id)?.ok_or(AppError::NotFound)?)
            })
        })
        .await?)
}

/// Trials whose slot has ended: to a reviewer if the agent replied at all, otherwise
/// missed (the agent goes back to booking one, and is told). Returns how many moved.
pub fn close_ended(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &mails::MailCtx,
) -> Result<usize, AppError> {
    let ended: Vec<String> = trials::table
        .inner_join(trial_slots::table.on(trial_slots::id.eq(trials::slot_id)))
        .filter(trials::status.eq("booked"))
        .filter(trial_slots::ends_at.le(now))
        .select(trials::id)
        .load(conn)?;
    let mut moved = 0;
    for id in ended {
        let done = write_transaction(conn, |conn| -> Result<usize, AppError> {
            let Some(row) = load(conn, &id)? else {
                return Ok(0);
            };
            if row.status != "booked" {
                return Ok(0);
            }
            if trial::any_reply(&chats_of(&row)?) {
                let moved =
                    try_set_status(conn, &id, "booked", "awaiting_review", Some(row.ends_at))?;
                return Ok(usize::from(moved));
            }
            // Another instance got here first: nothing to do.
            if !try_set_status(conn, &id, "booked", "missed", None)? {
                return Ok(0);
            }
            let agent = AccountId(row.agent_id.clone());
            if agent_status(conn, &agent)? == AgentStatus::InTrial {
                super::service::apply_event(
                    conn,
                    &agent,
                    AgentEvent::FailTrial,
                    Party::System,
                    None,
                    Some(&format!("missed the {} trial", row.skill)),
                    now,
                )?;
            }
            mails::send(
                conn,
                &agent,
                |to| MailKind::TrialMissed {
                    skill: ctx.skill(&row.skill, to.locale),
                    link: ctx.link("/agent/trials"),
                },
                now,
            )?;
            Ok(1)
        });
        match done {
            Ok(n) => moved += n,
            // One broken trial must not keep the others open.
            Err(e) => tracing::warn!(trial = %id, error = %e, "cannot close an ended trial"),
        }
    }
    Ok(moved)
}

// ---------------------------------------------------------------------------------------
// Review
// ---------------------------------------------------------------------------------------

pub async fn review_queue(
    state: &AppState,
    skill: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> Result<Vec<ReviewQueueItem>, AppError> {
    let now = state.clock.now();
    let rows: Vec<QueueRow> = state
        .db
        .run(move |conn| {
            // Oldest submission first (the review SLA runs from it), ties by id.
            let after: Option<(Option<NaiveDateTime>, String)> = match cursor {
                Some(id) => trials::table
                    .find(&id)
                    .select(trials::submitted_at)
                    .first::<Option<NaiveDateTime>>(conn)
                    .optional()?
                    .map(|t| (t, id)),
                None => None,
            };
            let mut q = trials::table
                .inner_join(accounts::table.on(accounts::id.eq(trials::agent_id)))
                .filter(trials::status.eq("awaiting_review"))
                .select((
                    trials::id,
                    trials::agent_id,
                    accounts::display_name,
                    trials::skill,
                    trials::submitted_at,
                ))
                .order((trials::submitted_at.asc(), trials::id.asc()))
                .limit(limit)
                .into_boxed();
            if let Some(skill) = skill {
                q = q.filter(trials::skill.eq(skill));
            }
            if let Some((Some(t), id)) = after {
                q = q.filter(
                    trials::submitted_at
                        .gt(t)
                        .or(trials::submitted_at.eq(t).and(trials::id.gt(id))),
                );
            }
            q.load(conn)
        })
        .await?;
    Ok(queue_items(rows, now))
}

fn review_view(conn: &mut DbConn, id: &str) -> Result<TrialReviewView, AppError> {
    let row = load(conn, id)?.ok_or(AppError::NotFound)?;
    let rules = rules_of(conn, &row.skill)?.unwrap_or_default();
    let agent_name: String = accounts::table
        .find(&row.agent_id)
        .select(accounts::display_name)
        .first(conn)?;
    let chats = chats_of(&row)?;
    Ok(TrialReviewView {
        trial: view(&row)?,
        agent_name,
        criteria: rules.criteria,
        pass_percent: rules.pass_percent,
        response_seconds: trial::response_seconds(&chats),
    })
}

pub async fn review_get(state: &AppState, id: String) -> Result<TrialReviewView, AppError> {
    Ok(state.db.run(move |conn| review_view(conn, &id)).await?)
}

/// Scores a trial on the track's scorecard. A pass certifies the agent for the skill for
/// twelve months (renewing an earlier certification); a fail sends them back to book
/// another trial, with the feedback.
pub async fn review(
    state: &AppState,
    reviewer: AccountId,
    id: String,
    req: TrialReviewRequest,
) -> Result<TrialReviewView, AppError> {
    let clock = state.clock.clone();
    let ctx = mails::MailCtx::new(state);
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<TrialReviewView, AppError> {
                let now = clock.now();
                let row = load(conn, &id)?.ok_or(AppError::NotFound)?;
                if row.status != "awaiting_review" {
                    return Err(AppError::conflict(
                        "not_awaiting_review",
                        format!("this trial is {}, not waiting for a review", row.status),
                    ));
                }
                let rules = rules_of(conn, &row.skill)?.unwrap_or_default();
                let percent = trial::score(&rules.criteria, &req.marks)?;
                let passed = percent >= rules.pass_percent;
                let feedback = req.feedback.trim().to_owned();
                if !passed && feedback.is_empty() {
                    return Err(AppError::field(
                        "feedback",
                        "required",
                        "tell the agent what to work on before their next trial",
                    ));
                }
                if feedback.chars().count() > 4000 {
                    return Err(AppError::field(
                        "feedback",
                        "too_long",
                        "at most 4000 characters",
                    ));
                }
                let status = if passed { "passed" } else { "failed" };
                let n = diesel::update(
                    trials::table
                        .find(&id)
                        .filter(trials::status.eq("awaiting_review")),
                )
                .set((
                    trials::status.eq(status),
                    trials::scores
                        .eq(serde_json::to_string(&req.marks).map_err(AppError::internal)?),
                    trials::percent.eq(percent as i32),
                    trials::feedback.eq(Some(&feedback).filter(|f| !f.is_empty())),
                    trials::reviewed_by.eq(reviewer.as_str()),
                    trials::reviewed_at.eq(now),
                ))
                .execute(conn)?;
                if n != 1 {
                    return Err(AppError::conflict(
                        "not_awaiting_review",
                        "another reviewer settled this trial meanwhile",
                    ));
                }
                let agent = AccountId(row.agent_id.clone());
                let expires = if passed {
                    Some(grant(conn, &agent, &row.skill, now, Some(&id))?)
                } else {
                    None
                };
                let standing = agent_status(conn, &agent)?;
                if passed && matches!(standing, AgentStatus::Suspended | AgentStatus::Left) {
                    // Reviewed after the agent was suspended or left: reinstating or coming
                    // back restores them as certified.
                    super::store::set_previous_status(conn, &agent, AgentStatus::Certified)?;
                }
                if standing == AgentStatus::InTrial {
                    super::service::apply_event(
                        conn,
                        &agent,
                        if passed {
                            AgentEvent::PassTrial
                        } else {
                            AgentEvent::FailTrial
                        },
                        Party::Admin,
                        Some(&reviewer),
                        Some(&format!("{} trial {status} at {percent}%", row.skill)),
                        now,
                    )?;
                }
                audit::record(
                    conn,
                    AuditEntry {
                        actor: Some(&reviewer),
                        action: "trial.reviewed",
                        target_type: "trial",
                        target_id: Some(&id),
                        details: serde_json::json!({
                            "agent_id": row.agent_id, "skill": row.skill,
                            "percent": percent, "result": status,
                        }),
                    },
                    now,
                )?;
                mails::send(
                    conn,
                    &agent,
                    |to| MailKind::TrialResult {
                        skill: ctx.skill(&row.skill, to.locale),
                        passed,
                        percent,
                        feedback: feedback.clone(),
                        expires: expires.map(|e| mails::local(&to.zone, e)),
                        link: ctx.link(&format!("/agent/trials/{id}")),
                    },
                    now,
                )?;
                review_view(conn, &id)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

/// Grants a certification, or renews one: a renewal adds twelve months to the later of
/// now and the old expiry (renewing early loses nothing) and keeps the original start while
/// the old certification is still valid, so checks of past moments stay true.
pub(crate) fn grant(
    conn: &mut DbConn,
    agent: &AccountId,
    skill: &str,
    now: NaiveDateTime,
    trial_id: Option<&str>,
) -> QueryResult<NaiveDateTime> {
    let old: Option<(NaiveDateTime, NaiveDateTime)> = certifications::table
        .find((agent.as_str(), skill))
        .select((certifications::certified_at, certifications::expires_at))
        .first(conn)
        .optional()?;
    let (from, expires) = match old {
        Some((from, to)) if trial::valid_at(from, to, now) => (from, trial::expires_at(to)),
        _ => (now, trial::expires_at(now)),
    };
    let values = (
        certifications::agent_id.eq(agent.as_str()),
        certifications::skill.eq(skill),
        certifications::certified_at.eq(from),
        certifications::expires_at.eq(expires),
        certifications::trial_id.eq(trial_id),
    );
    let update = (
        certifications::certified_at.eq(from),
        certifications::expires_at.eq(expires),
        certifications::trial_id.eq(trial_id),
    );
    match conn {
        DbConn::Pg(c) => diesel::insert_into(certifications::table)
            .values(values)
            .on_conflict((certifications::agent_id, certifications::skill))
            .do_update()
            .set(update)
            .execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(certifications::table)
            .values(values)
            .on_conflict((certifications::agent_id, certifications::skill))
            .do_update()
            .set(update)
            .execute(c),
    }?;
    Ok(expires)
}

/// Mails the reminders due now (30 and 7 days before expiry), each once, to agents who
/// still work with us (not suspended, not gone).
pub fn expiry_reminders(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &mails::MailCtx,
) -> Result<usize, AppError> {
    use crate::db::schema::agents;
    let soon: Vec<(String, String, NaiveDateTime)> = certifications::table
        .inner_join(agents::table.on(agents::account_id.eq(certifications::agent_id)))
        .filter(agents::status.ne_all(["suspended", "left"]))
        .filter(certifications::expires_at.gt(now))
        .filter(certifications::expires_at.le(now + Duration::days(trial::REMINDER_DAYS[0])))
        .select((
            certifications::agent_id,
            certifications::skill,
            certifications::expires_at,
        ))
        .load(conn)?;
    let mut sent = 0;
    for (agent, skill, expires) in soon {
        let Some(window) = trial::reminder_due(expires, now) else {
            continue;
        };
        let kind = format!("certification_expiring_{window}");
        let key = format!("{agent}:{skill}:{}", expires.and_utc().to_rfc3339());
        // Most rows were reminded on an earlier tick: a read says so without taking the
        // write lock.
        if crate::seats::store::notification_sent(conn, &kind, &key)? {
            continue;
        }
        let done = write_transaction(conn, |conn| -> Result<usize, AppError> {
            if !crate::seats::store::claim_notification(conn, &kind, &key, now)? {
                return Ok(0);
            }
            mails::send(
                conn,
                &AccountId(agent.clone()),
                |to| MailKind::CertificationExpiring {
                    skill: ctx.skill(&skill, to.locale),
                    expires: mails::local(&to.zone, expires),
                    days: trial::days_left(expires, now),
                    link: ctx.link("/agent/trials"),
                },
                now,
            )?;
            Ok(1)
        });
        match done {
            Ok(n) => sent += n,
            Err(e) => {
                tracing::warn!(agent = %agent, skill = %skill, error = %e, "cannot send an expiry reminder")
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn req(start_min: i64, len_min: i64, capacity: i32) -> SlotRequest {
        let base = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        SlotRequest {
            skill: "pre_sale".into(),
            starts_at: base + Duration::minutes(start_min),
            ends_at: base + Duration::minutes(start_min + len_min),
            capacity,
        }
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Validation(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn slots_are_checked() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 8, 0, 0)
            .unwrap()
            .naive_utc();
        check_slot(&req(0, 120, 5), now).unwrap();
        check_slot(&req(0, 30, 1), now).unwrap();
        check_slot(&req(0, 480, 50), now).unwrap();
        assert_eq!(
            fields(check_slot(&req(-61, 120, 5), now).unwrap_err()),
            ["starts_at"]
        );
        assert_eq!(
            fields(check_slot(&req(0, 29, 0), now).unwrap_err()),
            ["ends_at", "capacity"]
        );
        assert_eq!(
            fields(check_slot(&req(0, 481, 51), now).unwrap_err()),
            ["ends_at", "capacity"]
        );
        assert_eq!(
            fields(check_slot(&req(0, -10, 5), now).unwrap_err()),
            ["ends_at"]
        );
    }
}
