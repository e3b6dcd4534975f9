//! Certification's part of `cloudseat demo`: an exam track per skill with the bundled
//! question bank, the exam attempts, trials and certifications behind each demo agent's
//! history, a written answer waiting for a reviewer, and an upcoming trial slot (one agent
//! booked in it, another able to book).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::exam::{self, ExamRules};
use super::trial::{self, Mark, PlayedChat, TrialRules};
use crate::accounts::model::{AccountId, AgentStatus};
use crate::db::schema::{trial_slots, trials};
use crate::db::{DbConn, new_id};
use crate::error::AppError;

/// The bundled bank (also an example of the TOML import format).
pub const BANK: &str = include_str!("../demo_exam_bank.toml");

/// A demo agent and when their history says they passed the exam and were certified.
pub struct DemoAgent {
    pub id: AccountId,
    pub status: AgentStatus,
    pub exam_passed_at: Option<NaiveDateTime>,
    pub certified_at: Option<NaiveDateTime>,
}

/// What the demo agents write in scenario questions.
const WRITTEN: &str = "I'm so sorry it's late! The courier shows it in your city; I have asked them to deliver today and will message you by 18:00 with an update.";

fn demo_rules() -> ExamRules {
    ExamRules {
        exam_size: 8,
        pass_percent: 75,
        duration_minutes: 30,
        cooldown_hours: 24,
        max_attempts_per_30_days: 3,
    }
}

fn slot(
    conn: &mut DbConn,
    skill: &str,
    starts: NaiveDateTime,
    capacity: i32,
    booked: i32,
    admin: &AccountId,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(trial_slots::table)
        .values((
            trial_slots::id.eq(&id),
            trial_slots::skill.eq(skill),
            trial_slots::starts_at.eq(starts),
            trial_slots::ends_at.eq(starts + Duration::hours(2)),
            trial_slots::capacity.eq(capacity),
            trial_slots::booked.eq(booked),
            trial_slots::created_by.eq(admin.as_str()),
            trial_slots::created_at.eq(starts - Duration::days(7)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A reviewed trial's marks: all 4 but for `lower` criteria at 3.
fn marks(rules: &TrialRules, lower: usize) -> Vec<Mark> {
    rules
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| Mark {
            criterion: c.key.clone(),
            score: if i < lower { 3 } else { 4 },
            comment: (i < lower).then(|| "Good; a little more detail next time.".to_owned()),
        })
        .collect()
}

pub fn seed(
    conn: &mut DbConn,
    skills: &[String],
    agents: &[DemoAgent],
    admin: &AccountId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let bank = exam::parse_toml(BANK)
        .map_err(|e| AppError::internal(anyhow::anyhow!("demo bank: {e:?}")))?;
    for skill in skills {
        super::banks::store_track(conn, skill, &demo_rules(), now - Duration::days(400))?;
        super::banks::store_questions(conn, skill, &bank, now - Duration::days(400))?;
    }
    let Some(skill) = skills.first() else {
        return Ok(());
    };
    let rules = TrialRules::default();
    // Fixed, so every demo tells the same story.
    let mut rng = StdRng::seed_from_u64(1111);
    let mut first_applicant = true;
    for (n, agent) in agents.iter().enumerate() {
        if let Some(at) = agent.exam_passed_at {
            super::attempts::record_finished(
                conn,
                &agent.id,
                skill,
                at - Duration::hours(21),
                WRITTEN,
                Some(admin),
                &mut rng,
            )?;
        } else if agent.status == AgentStatus::Applicant && first_applicant {
            first_applicant = false;
            super::attempts::record_finished(
                conn,
                &agent.id,
                skill,
                now - Duration::hours(30),
                WRITTEN,
                None,
                &mut rng,
            )?;
        }
        if let Some(at) = agent.certified_at {
            let starts = at - Duration::days(2);
            let slot_id = slot(conn, skill, starts, 4, 1, admin)?;
            let mut chats: Vec<PlayedChat> = rules
                .practice_chats
                .iter()
                .map(PlayedChat::from_script)
                .collect();
            let mut t = starts + Duration::minutes(5);
            trial::begin(&mut chats, t);
            for c in 0..chats.len() {
                while chats[c].waiting().is_some() {
                    t += Duration::seconds(35 + 10 * c as i64);
                    trial::reply(
                        &mut chats,
                        c,
                        "Thanks for waiting — let me check that for you right away.",
                        t,
                    )
                    .map_err(AppError::internal)?;
                }
            }
            let marks = marks(&rules, n % 3);
            let percent = trial::score(&rules.criteria, &marks)?;
            let trial_id = new_id();
            diesel::insert_into(trials::table)
                .values((
                    trials::id.eq(&trial_id),
                    trials::agent_id.eq(agent.id.as_str()),
                    trials::slot_id.eq(&slot_id),
                    trials::skill.eq(skill),
                    trials::status.eq("passed"),
                    trials::chats.eq(serde_json::to_string(&chats).map_err(AppError::internal)?),
                    trials::scores.eq(serde_json::to_string(&marks).map_err(AppError::internal)?),
                    trials::percent.eq(percent as i32),
                    trials::reviewed_by.eq(admin.as_str()),
                    trials::booked_at.eq(starts - Duration::days(3)),
                    trials::submitted_at.eq(starts + Duration::hours(2)),
                    trials::reviewed_at.eq(at),
                ))
                .execute(conn)?;
            super::trials::grant(conn, &agent.id, skill, at, Some(&trial_id))?;
        }
    }
    // Tomorrow's trial slot: the agent in trial has booked it; the one who just passed the
    // exam can.
    let tomorrow = (now + Duration::days(1))
        .date()
        .and_hms_opt(2, 0, 0)
        .unwrap_or(now + Duration::days(1));
    let in_trial: Vec<&DemoAgent> = agents
        .iter()
        .filter(|a| a.status == AgentStatus::InTrial)
        .collect();
    let slot_id = slot(conn, skill, tomorrow, 4, in_trial.len() as i32, admin)?;
    for agent in in_trial {
        let chats: Vec<PlayedChat> = rules
            .practice_chats
            .iter()
            .map(PlayedChat::from_script)
            .collect();
        diesel::insert_into(trials::table)
            .values((
                trials::id.eq(new_id()),
                trials::agent_id.eq(agent.id.as_str()),
                trials::slot_id.eq(&slot_id),
                trials::skill.eq(skill),
                trials::status.eq("booked"),
                trials::chats.eq(serde_json::to_string(&chats).map_err(AppError::internal)?),
                trials::booked_at.eq(agent.exam_passed_at.unwrap_or(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_bank_is_valid_and_covers_every_kind() {
        let bank = exam::parse_toml(BANK).expect("valid demo bank");
        assert!(bank.len() >= demo_rules().exam_size);
        for kind in [
            exam::QuestionKind::Single,
            exam::QuestionKind::Multiple,
            exam::QuestionKind::Scenario,
        ] {
            assert!(bank.iter().any(|q| q.kind == kind), "{kind} missing");
        }
        let mut rng = StdRng::seed_from_u64(1);
        exam::draw(&bank, demo_rules().exam_size, &mut rng).expect("an exam can be drawn");
    }
}
