//! Follow-up contacts: an admin's record of reaching out to an agent who shows warning signs
//! (how, when, what came of it), listed per agent and shown, newest, on the at-risk list.
//! Append-only and audited; a correction is a new contact.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::AccountId;
use crate::audit::{self, AuditEntry};
use crate::db::schema::{accounts, agent_follow_ups, agents};
use crate::db::{DbConn, new_id};
use crate::error::{AppError, FieldErrors, Invalid};

/// How the agent was contacted.
pub const CHANNELS: [&str; 6] = ["phone", "email", "chat", "sms", "in_person", "other"];
/// What came of it: not reached, staying, needs help to stay, may leave, leaving.
pub const OUTCOMES: [&str; 5] = [
    "no_answer",
    "staying",
    "needs_support",
    "may_leave",
    "leaving",
];
/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// How far ahead of the server's clock a contact time may be (clock skew), in minutes.
const FUTURE_SLACK_MINUTES: i64 = 5;

/// A follow-up contact to record.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// When the contact happened, an RFC 3339 instant (`2026-12-05T10:30:00+08:00`); by
    /// default now. Not in the future.
    pub contacted_at: Option<String>,
    /// `phone`, `email`, `chat`, `sms`, `in_person` or `other`.
    pub channel: String,
    /// `no_answer`, `staying`, `needs_support`, `may_leave` or `leaving`.
    pub outcome: String,
    /// What was said, at most 2000 characters.
    #[serde(default)]
    pub note: String,
}

/// A validated contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    pub contacted_at: NaiveDateTime,
    pub channel: &'static str,
    pub outcome: &'static str,
    pub note: String,
}

fn choice(raw: &str, choices: &[&'static str]) -> Result<&'static str, Invalid> {
    choices
        .iter()
        .find(|c| **c == raw.trim())
        .copied()
        .ok_or_else(|| Invalid::new("unknown_value", format!("use {}", choices.join(", "))))
}

/// Checks every field of `input` at `now`, naming each bad one.
pub fn validate(input: &FollowUpInput, now: NaiveDateTime) -> Result<NewFollowUp, AppError> {
    let mut errors = FieldErrors::new();
    let contacted_at = match input.contacted_at.as_deref().map(str::trim) {
        None | Some("") => Some(now),
        Some(raw) => errors.check(
            "contacted_at",
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.naive_utc())
                .map_err(|_| {
                    Invalid::new(
                        "invalid_instant",
                        "an RFC 3339 instant with a zone, like 2026-12-05T10:30:00+08:00",
                    )
                })
                .and_then(|t| {
                    if t > now + chrono::Duration::minutes(FUTURE_SLACK_MINUTES) {
                        Err(Invalid::new(
                            "in_future",
                            "a contact cannot be in the future",
                        ))
                    } else {
                        Ok(t)
                    }
                }),
        ),
    };
    let channel = errors.check("channel", choice(&input.channel, &CHANNELS));
    let outcome = errors.check("outcome", choice(&input.outcome, &OUTCOMES));
    let note = input.note.trim();
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        errors.push(
            "note",
            Invalid::new(
                "too_long",
                format!("at most {MAX_NOTE_CHARS} characters (got {chars})"),
            ),
        );
    }
    errors.finish()?;
    match (contacted_at, channel, outcome) {
        (Some(contacted_at), Some(channel), Some(outcome)) => Ok(NewFollowUp {
            contacted_at,
            channel,
            outcome,
            note: note.to_owned(),
        }),
        _ => Err(AppError::internal(anyhow::anyhow!(
            "follow-up fields missing without an error"
        ))),
    }
}

/// A recorded contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FollowUpView {
    pub id: String,
    pub agent_id: String,
    pub admin_id: String,
    /// The admin's display name.
    pub admin_name: String,
    pub contacted_at: DateTime<Utc>,
    pub channel: String,
    pub outcome: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

type Row = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    String,
    String,
    String,
    NaiveDateTime,
);

fn view(r: Row) -> FollowUpView {
    FollowUpView {
        id: r.0,
        agent_id: r.1,
        admin_id: r.2,
        admin_name: r.3,
        contacted_at: r.4.and_utc(),
        channel: r.5,
        outcome: r.6,
        note: r.7,
        created_at: r.8.and_utc(),
    }
}

macro_rules! follow_up_columns {
    () => {
        (
            agent_follow_ups::id,
            agent_follow_ups::agent_id,
            agent_follow_ups::admin_id,
            accounts::display_name,
            agent_follow_ups::contacted_at,
            agent_follow_ups::channel,
            agent_follow_ups::outcome,
            agent_follow_ups::note,
            agent_follow_ups::created_at,
        )
    };
}

/// Records a contact with `agent` (404 unless an agent), audit logged, in one transaction.
pub fn record(
    conn: &mut DbConn,
    admin: &AccountId,
    agent: &str,
    input: NewFollowUp,
    now: NaiveDateTime,
) -> Result<FollowUpView, AppError> {
    crate::db::write_transaction(conn, |conn| -> Result<FollowUpView, AppError> {
        let known: i64 = agents::table
            .filter(agents::account_id.eq(agent))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(AppError::NotFound);
        }
        let id = new_id();
        diesel::insert_into(agent_follow_ups::table)
            .values((
                agent_follow_ups::id.eq(&id),
                agent_follow_ups::agent_id.eq(agent),
                agent_follow_ups::admin_id.eq(admin.as_str()),
                agent_follow_ups::contacted_at.eq(input.contacted_at),
                agent_follow_ups::channel.eq(input.channel),
                agent_follow_ups::note.eq(&input.note),
                agent_follow_ups::outcome.eq(input.outcome),
                agent_follow_ups::created_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            AuditEntry {
                actor: Some(admin),
                action: "agent.follow_up_recorded",
                target_type: "agent",
                target_id: Some(agent),
                details: serde_json::json!({
                    "follow_up_id": id,
                    "channel": input.channel,
                    "outcome": input.outcome,
                    "contacted_at": input.contacted_at.and_utc(),
                }),
            },
            now,
        )?;
        let row: Row = agent_follow_ups::table
            .inner_join(accounts::table.on(accounts::id.eq(agent_follow_ups::admin_id)))
            .filter(agent_follow_ups::id.eq(&id))
            .select(follow_up_columns!())
            .first(conn)?;
        Ok(view(row))
    })
}

/// An agent's contacts, newest first (by when they happened), `limit + 1` after the
/// contact `after` (404 unless an agent; an unknown cursor is `invalid_cursor`).
pub fn of_agent(
    conn: &mut DbConn,
    agent: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<FollowUpView>, AppError> {
    let known: i64 = agents::table
        .filter(agents::account_id.eq(agent))
        .count()
        .get_result(conn)?;
    if known == 0 {
        return Err(AppError::NotFound);
    }
    let mut q = agent_follow_ups::table
        .inner_join(accounts::table.on(accounts::id.eq(agent_follow_ups::admin_id)))
        .filter(agent_follow_ups::agent_id.eq(agent))
        .select(follow_up_columns!())
        .into_boxed();
    if let Some(after) = after {
        let (at, id): (NaiveDateTime, String) = agent_follow_ups::table
            .filter(agent_follow_ups::id.eq(after))
            .filter(agent_follow_ups::agent_id.eq(agent))
            .select((agent_follow_ups::contacted_at, agent_follow_ups::id))
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                AppError::field(
                    "cursor",
                    "invalid_cursor",
                    "this cursor is not one we issued",
                )
            })?;
        q = q.filter(
            agent_follow_ups::contacted_at
                .lt(at)
                .or(agent_follow_ups::contacted_at
                    .eq(at)
                    .and(agent_follow_ups::id.lt(id))),
        );
    }
    let rows: Vec<Row> = q
        .order((
            agent_follow_ups::contacted_at.desc(),
            agent_follow_ups::id.desc(),
        ))
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(view).collect())
}

/// The newest contact of every agent who has one, in one query.
pub fn latest(conn: &mut DbConn) -> QueryResult<BTreeMap<String, FollowUpView>> {
    let rows: Vec<Row> = agent_follow_ups::table
        .inner_join(accounts::table.on(accounts::id.eq(agent_follow_ups::admin_id)))
        .select(follow_up_columns!())
        .order((
            agent_follow_ups::agent_id.asc(),
            agent_follow_ups::contacted_at.desc(),
            agent_follow_ups::id.desc(),
        ))
        .load(conn)?;
    let mut newest = BTreeMap::new();
    for r in rows {
        newest.entry(r.1.clone()).or_insert_with(|| view(r));
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap()
    }

    fn input(
        contacted_at: Option<&str>,
        channel: &str,
        outcome: &str,
        note: &str,
    ) -> FollowUpInput {
        FollowUpInput {
            contacted_at: contacted_at.map(str::to_owned),
            channel: channel.into(),
            outcome: outcome.into(),
            note: note.into(),
        }
    }

    fn fields(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn a_good_contact_is_read_in_utc_and_trimmed() {
        let got = validate(
            &input(
                Some("2026-12-05T09:30:00+08:00"),
                "phone",
                "staying",
                "  will stay  ",
            ),
            now(),
        )
        .unwrap();
        assert_eq!(
            got,
            NewFollowUp {
                contacted_at: now() - chrono::Duration::minutes(30),
                channel: "phone",
                outcome: "staying",
                note: "will stay".into(),
            }
        );
        // No time: now; an empty note is fine.
        let got = validate(&input(None, "in_person", "no_answer", ""), now()).unwrap();
        assert_eq!((got.contacted_at, got.note.as_str()), (now(), ""));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let long = "字".repeat(MAX_NOTE_CHARS + 1);
        let err = validate(&input(Some("yesterday"), "pigeon", "gone", &long), now()).unwrap_err();
        assert_eq!(
            fields(err),
            [
                ("contacted_at".to_owned(), "invalid_instant".to_owned()),
                ("channel".to_owned(), "unknown_value".to_owned()),
                ("outcome".to_owned(), "unknown_value".to_owned()),
                ("note".to_owned(), "too_long".to_owned()),
            ]
        );
        // Exactly 2000 characters (of three bytes each) is allowed.
        let max = "字".repeat(MAX_NOTE_CHARS);
        assert!(validate(&input(None, "chat", "leaving", &max), now()).is_ok());
        // Five minutes of clock skew, not more.
        assert!(
            validate(
                &input(Some("2026-12-05T02:05:00Z"), "sms", "may_leave", ""),
                now()
            )
            .is_ok()
        );
        let err = validate(
            &input(Some("2026-12-05T02:06:00Z"), "sms", "may_leave", ""),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [("contacted_at".to_owned(), "in_future".to_owned())]
        );
    }
}
