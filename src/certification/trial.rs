//! Trial shifts as pure rules: a track's trial settings (scorecard criteria and weights,
//! pass mark, the practice chats the system plays when no merchant takes trainees), how a
//! reviewer's scorecard becomes a result, how a practice chat moves on, and when a
//! certification expires and who is reminded.

use std::collections::BTreeSet;

use chrono::{Months, NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, FieldErrors, Invalid};

/// The highest mark per criterion; anchors 0 missing, 1 poor, 2 fair, 3 good, 4 excellent.
pub const MAX_MARK: u32 = 4;

/// A certification lasts this many months from the passed trial.
pub const VALID_MONTHS: u32 = 12;

/// Days before expiry at which the agent is reminded, latest last.
pub const REMINDER_DAYS: [i64; 2] = [30, 7];

/// One line of a scorecard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    /// Stable key, e.g. `greeting`.
    pub key: String,
    /// Relative weight (1-100).
    pub weight: u32,
    /// What a reviewer looks for.
    pub guidance: String,
}

/// A scripted chat the system plays in a trial: the customer's turns in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PracticeChat {
    pub title: String,
    pub turns: Vec<String>,
}

/// How a track's trials are run and judged; set by an admin per skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialRules {
    /// Weighted percent of the scorecard needed to pass.
    #[serde(default = "default_pass_percent")]
    pub pass_percent: u32,
    #[serde(default = "default_criteria")]
    pub criteria: Vec<Criterion>,
    /// Played (all at once, like real work) when no merchant takes trainees.
    #[serde(default = "default_practice_chats")]
    pub practice_chats: Vec<PracticeChat>,
}

impl Default for TrialRules {
    fn default() -> Self {
        TrialRules {
            pass_percent: default_pass_percent(),
            criteria: default_criteria(),
            practice_chats: default_practice_chats(),
        }
    }
}

fn default_pass_percent() -> u32 {
    75
}

fn default_criteria() -> Vec<Criterion> {
    [
        (
            "greeting",
            10,
            "Greets promptly and personally; says who they are.",
        ),
        (
            "accuracy",
            25,
            "Facts about products, prices, delivery and policy are right.",
        ),
        (
            "empathy",
            15,
            "Acknowledges the customer's situation; tone fits the mood.",
        ),
        (
            "resolution",
            25,
            "The customer leaves with an answer or a clear next step.",
        ),
        (
            "policy_compliance",
            15,
            "Follows the shop's policies; no promises it cannot keep.",
        ),
        (
            "response_time",
            10,
            "Replies within the target; keeps the customer informed while checking.",
        ),
    ]
    .into_iter()
    .map(|(key, weight, guidance)| Criterion {
        key: key.into(),
        weight,
        guidance: guidance.into(),
    })
    .collect()
}

fn default_practice_chats() -> Vec<PracticeChat> {
    let chat = |title: &str, turns: &[&str]| PracticeChat {
        title: title.into(),
        turns: turns.iter().map(|t| (*t).into()).collect(),
    };
    vec![
        chat(
            "Pre-sale: which size?",
            &[
                "Hi, I want the down jacket in your shop but I don't know my size. I'm 170 cm, 65 kg.",
                "If it doesn't fit, can I return it? Who pays the shipping?",
                "OK. Will it arrive before Saturday if I order today?",
            ],
        ),
        chat(
            "After-sale: parcel late",
            &[
                "My order was supposed to arrive three days ago and the tracking hasn't moved.",
                "This is a birthday present. I'm really upset.",
                "Can you just send another one today?",
            ],
        ),
        chat(
            "Complaint: wrong colour",
            &[
                "I ordered black and received navy. This is the second time this happens.",
                "I want a refund and compensation for my time.",
            ],
        ),
    ]
}

fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl TrialRules {
    /// Every problem at once, each under its field.
    pub fn validate(&self) -> Result<(), AppError> {
        let mut errors = FieldErrors::new();
        if !(1..=100).contains(&self.pass_percent) {
            errors.push(
                "pass_percent",
                Invalid::new("out_of_range", "between 1 and 100"),
            );
        }
        if self.criteria.is_empty() || self.criteria.len() > 20 {
            errors.push(
                "criteria",
                Invalid::new("out_of_range", "between 1 and 20 criteria"),
            );
        }
        let mut keys = BTreeSet::new();
        for (i, c) in self.criteria.iter().enumerate() {
            if !is_key(&c.key) {
                errors.push(
                    &format!("criteria[{i}].key"),
                    Invalid::new(
                        "invalid_format",
                        "lower-case letters, digits and _; at most 40",
                    ),
                );
            } else if !keys.insert(c.key.as_str()) {
                errors.push(
                    &format!("criteria[{i}].key"),
                    Invalid::new("duplicate", format!("{} appears twice", c.key)),
                );
            }
            if !(1..=100).contains(&c.weight) {
                errors.push(
                    &format!("criteria[{i}].weight"),
                    Invalid::new("out_of_range", "between 1 and 100"),
                );
            }
            if c.guidance.chars().count() > 500 {
                errors.push(
                    &format!("criteria[{i}].guidance"),
                    Invalid::new("too_long", "at most 500 characters"),
                );
            }
        }
        if self.practice_chats.is_empty() || self.practice_chats.len() > 10 {
            errors.push(
                "practice_chats",
                Invalid::new("out_of_range", "between 1 and 10 chats"),
            );
        }
        for (i, chat) in self.practice_chats.iter().enumerate() {
            if chat.title.trim().is_empty() || chat.title.chars().count() > 120 {
                errors.push(
                    &format!("practice_chats[{i}].title"),
                    Invalid::new("invalid_length", "1 to 120 characters"),
                );
            }
            if chat.turns.is_empty() || chat.turns.len() > 20 {
                errors.push(
                    &format!("practice_chats[{i}].turns"),
                    Invalid::new("out_of_range", "between 1 and 20 customer turns"),
                );
            }
            for (j, turn) in chat.turns.iter().enumerate() {
                if turn.trim().is_empty() || turn.chars().count() > 2000 {
                    errors.push(
                        &format!("practice_chats[{i}].turns[{j}]"),
                        Invalid::new("invalid_length", "1 to 2000 characters"),
                    );
                }
            }
        }
        errors.finish()
    }
}

// ---------------------------------------------------------------------------------------
// Scorecards
// ---------------------------------------------------------------------------------------

/// A reviewer's mark on one criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    pub criterion: String,
    /// 0 (missing) to 4 (excellent).
    pub score: u32,
    /// What the agent should keep or change; shown to them.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The weighted percent of a complete scorecard, rounded down (so 74.9 does not pass a 75
/// bar). Every criterion must be marked exactly once, and nothing else.
pub fn score(criteria: &[Criterion], marks: &[Mark]) -> Result<u32, AppError> {
    let mut errors = FieldErrors::new();
    let mut seen = BTreeSet::new();
    let mut earned = 0u64;
    for (i, m) in marks.iter().enumerate() {
        let Some(c) = criteria.iter().find(|c| c.key == m.criterion) else {
            errors.push(
                &format!("marks[{i}].criterion"),
                Invalid::new(
                    "unknown_value",
                    format!("{:?} is not on this track's scorecard", m.criterion),
                ),
            );
            continue;
        };
        if !seen.insert(c.key.as_str()) {
            errors.push(
                &format!("marks[{i}].criterion"),
                Invalid::new("duplicate", format!("{} is marked twice", c.key)),
            );
            continue;
        }
        if m.score > MAX_MARK {
            errors.push(
                &format!("marks[{i}].score"),
                Invalid::new("out_of_range", format!("between 0 and {MAX_MARK}")),
            );
            continue;
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
        earned += u64::from(c.weight) * u64::from(m.score);
    }
    for c in criteria {
        if !seen.contains(c.key.as_str()) && !marks.iter().any(|m| m.criterion == c.key) {
            errors.push(
                "marks",
                Invalid::new("missing", format!("mark {} too", c.key)),
            );
        }
    }
    errors.finish()?;
    let max = criteria
        .iter()
        .map(|c| u64::from(c.weight) * u64::from(MAX_MARK))
        .sum::<u64>();
    // Validated criteria have weights of at least 1, so max > 0; the result is at most 100.
    Ok((earned * 100).checked_div(max).unwrap_or(0) as u32)
}

// ---------------------------------------------------------------------------------------
// Practice chats
// ---------------------------------------------------------------------------------------

/// One customer turn of a practice chat and the agent's reply to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Turn {
    pub customer: String,
    /// When the customer's message appeared; `None` while it is still to come.
    pub shown_at: Option<NaiveDateTime>,
    pub reply: Option<String>,
    pub replied_at: Option<NaiveDateTime>,
}

/// A practice chat as played in one trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlayedChat {
    pub title: String,
    pub turns: Vec<Turn>,
}

impl PlayedChat {
    pub fn from_script(chat: &PracticeChat) -> Self {
        PlayedChat {
            title: chat.title.clone(),
            turns: chat
                .turns
                .iter()
                .map(|t| Turn {
                    customer: t.clone(),
                    shown_at: None,
                    reply: None,
                    replied_at: None,
                })
                .collect(),
        }
    }

    /// The turn waiting for the agent's reply, if any.
    pub fn waiting(&self) -> Option<usize> {
        self.turns
            .iter()
            .position(|t| t.shown_at.is_some() && t.reply.is_none())
    }

    pub fn finished(&self) -> bool {
        self.turns.iter().all(|t| t.reply.is_some())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("there is no practice chat {0}")]
    NoSuchChat(usize),
    #[error("the customer has not written anything to answer in this chat yet")]
    NothingToAnswer,
}

/// Opens every chat: the first customer turn of each appears now (the agent handles them
/// at once, as at work). Chats already open are left as they are.
pub fn begin(chats: &mut [PlayedChat], now: NaiveDateTime) {
    for chat in chats {
        if let Some(first) = chat.turns.first_mut()
            && first.shown_at.is_none()
        {
            first.shown_at = Some(now);
        }
    }
}

/// Records the agent's reply to the waiting turn of chat `index`; the customer's next turn
/// (if any) appears at once.
pub fn reply(
    chats: &mut [PlayedChat],
    index: usize,
    text: &str,
    now: NaiveDateTime,
) -> Result<(), ReplyError> {
    let chat = chats.get_mut(index).ok_or(ReplyError::NoSuchChat(index))?;
    let at = chat.waiting().ok_or(ReplyError::NothingToAnswer)?;
    chat.turns[at].reply = Some(text.to_owned());
    chat.turns[at].replied_at = Some(now);
    if let Some(next) = chat.turns.get_mut(at + 1) {
        next.shown_at = Some(now);
    }
    Ok(())
}

/// Seconds from each customer turn to the agent's reply, over all chats, in order of
/// chats and turns; what the reviewer sees for the response-time criterion.
pub fn response_seconds(chats: &[PlayedChat]) -> Vec<i64> {
    chats
        .iter()
        .flat_map(|c| &c.turns)
        .filter_map(|t| Some((t.replied_at? - t.shown_at?).num_seconds()))
        .collect()
}

/// Whether anything was answered at all (a trial with no reply was missed).
pub fn any_reply(chats: &[PlayedChat]) -> bool {
    chats
        .iter()
        .flat_map(|c| &c.turns)
        .any(|t| t.reply.is_some())
}

// ---------------------------------------------------------------------------------------
// Certification validity and reminders
// ---------------------------------------------------------------------------------------

/// When a certification granted at `certified_at` expires: twelve calendar months later
/// (the end of February for a 29 February start).
pub fn expires_at(certified_at: NaiveDateTime) -> NaiveDateTime {
    certified_at
        .checked_add_months(Months::new(VALID_MONTHS))
        .unwrap_or(certified_at + TimeDelta::days(365))
}

/// Valid at `at`: granted by then and not yet expired (expiry is exclusive).
pub fn valid_at(certified_at: NaiveDateTime, expires: NaiveDateTime, at: NaiveDateTime) -> bool {
    certified_at <= at && at < expires
}

/// The reminder due at `now` for a certification expiring at `expires`: the nearest of
/// [`REMINDER_DAYS`] whose moment has come (one reminder per window, so a service that was
/// down on the 30-day mark still sends the 30-day reminder later, but not after the
/// 7-day one is due). `None` once expired or before the first window.
pub fn reminder_due(expires: NaiveDateTime, now: NaiveDateTime) -> Option<i64> {
    if now >= expires {
        return None;
    }
    REMINDER_DAYS
        .iter()
        .rev()
        .copied()
        .find(|&days| now >= expires - TimeDelta::days(days))
}

/// Whole days left until `expires`, rounded up (what a reminder says).
pub fn days_left(expires: NaiveDateTime, now: NaiveDateTime) -> i64 {
    let seconds = (expires - now).num_seconds().max(0);
    (seconds + 86_399) / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn fields(e: AppError) -> Vec<(String, String)> {
        match e {
            AppError::Validation(v) => v.into_iter().map(|f| (f.field, f.code)).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn marks(scores: &[(&str, u32)]) -> Vec<Mark> {
        scores
            .iter()
            .map(|(k, s)| Mark {
                criterion: (*k).into(),
                score: *s,
                comment: None,
            })
            .collect()
    }

    fn all(score: u32) -> Vec<Mark> {
        default_criteria()
            .iter()
            .map(|c| Mark {
                criterion: c.key.clone(),
                score,
                comment: None,
            })
            .collect()
    }

    #[test]
    fn the_defaults_are_valid_and_weigh_a_hundred() {
        let rules = TrialRules::default();
        rules.validate().unwrap();
        assert_eq!(rules.criteria.iter().map(|c| c.weight).sum::<u32>(), 100);
        // An empty document means the defaults, so '{}' in the database works.
        let parsed: TrialRules = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, rules);
    }

    #[test]
    fn validation_names_every_bad_field() {
        let mut rules = TrialRules {
            pass_percent: 0,
            ..TrialRules::default()
        };
        rules.criteria[1].key = "Greeting!".into();
        rules.criteria[2].key = "greeting".into();
        rules.criteria[3].weight = 0;
        rules.practice_chats[0].turns.clear();
        let fields: Vec<String> = rules
            .validate()
            .map_err(fields)
            .unwrap_err()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(
            fields,
            [
                "pass_percent",
                "criteria[1].key",
                "criteria[2].key",
                "criteria[3].weight",
                "practice_chats[0].turns"
            ]
        );
    }

    #[test]
    fn a_full_scorecard_is_weighted() {
        let criteria = default_criteria();
        assert_eq!(score(&criteria, &all(4)).unwrap(), 100);
        assert_eq!(score(&criteria, &all(0)).unwrap(), 0);
        assert_eq!(score(&criteria, &all(3)).unwrap(), 75);
        // accuracy and resolution (50 of 100) at 4, the rest at 2: (50*4 + 50*2) / 400.
        let mut m = all(2);
        for mark in &mut m {
            if mark.criterion == "accuracy" || mark.criterion == "resolution" {
                mark.score = 4;
            }
        }
        assert_eq!(score(&criteria, &m).unwrap(), 75);
    }

    #[test]
    fn rounds_down() {
        let criteria = vec![
            Criterion {
                key: "a".into(),
                weight: 1,
                guidance: String::new(),
            },
            Criterion {
                key: "b".into(),
                weight: 2,
                guidance: String::new(),
            },
        ];
        // (1*4 + 2*2) / 12 = 66.67 %
        assert_eq!(score(&criteria, &marks(&[("a", 4), ("b", 2)])).unwrap(), 66);
    }

    #[test]
    fn an_incomplete_or_odd_scorecard_is_refused_with_every_problem() {
        let criteria = default_criteria();
        let mut m = all(3);
        m.pop(); // response_time missing
        m.push(Mark {
            criterion: "charm".into(),
            score: 4,
            comment: None,
        });
        m.push(Mark {
            criterion: "greeting".into(),
            score: 2,
            comment: None,
        });
        m[1].score = 5;
        let got = fields(score(&criteria, &m).unwrap_err());
        assert_eq!(
            got,
            [
                ("marks[1].score".to_string(), "out_of_range".to_string()),
                ("marks[5].criterion".into(), "unknown_value".into()),
                ("marks[6].criterion".into(), "duplicate".into()),
                ("marks".into(), "missing".into()),
            ]
        );
    }

    #[test]
    fn practice_chats_move_on_turn_by_turn() {
        let rules = TrialRules::default();
        let mut chats: Vec<PlayedChat> = rules
            .practice_chats
            .iter()
            .map(PlayedChat::from_script)
            .collect();
        assert_eq!(
            reply(&mut chats, 0, "hi", at(2026, 11, 1, 9)),
            Err(ReplyError::NothingToAnswer),
            "nothing is shown before the trial begins"
        );
        begin(&mut chats, at(2026, 11, 1, 9));
        assert!(chats.iter().all(|c| c.waiting() == Some(0)));
        let later = at(2026, 11, 1, 9) + TimeDelta::seconds(40);
        reply(&mut chats, 1, "Sorry to hear that", later).unwrap();
        assert_eq!(chats[1].waiting(), Some(1));
        assert_eq!(chats[1].turns[1].shown_at, Some(later));
        // Beginning again changes nothing already shown.
        begin(&mut chats, later);
        assert_eq!(chats[0].turns[0].shown_at, Some(at(2026, 11, 1, 9)));
        assert_eq!(response_seconds(&chats), vec![40]);
        assert!(any_reply(&chats));
        assert_eq!(
            reply(&mut chats, 9, "x", later),
            Err(ReplyError::NoSuchChat(9))
        );
        let c = &mut chats[2..];
        reply(c, 0, "a", later).unwrap();
        reply(c, 0, "b", later).unwrap();
        assert!(c[0].finished());
        assert_eq!(reply(c, 0, "c", later), Err(ReplyError::NothingToAnswer));
    }

    #[test]
    fn certifications_last_twelve_calendar_months() {
        assert_eq!(expires_at(at(2026, 11, 23, 10)), at(2027, 11, 23, 10));
        assert_eq!(expires_at(at(2028, 2, 29, 10)), at(2029, 2, 28, 10));
        let (from, to) = (at(2026, 11, 23, 10), at(2027, 11, 23, 10));
        assert!(valid_at(from, to, from));
        assert!(!valid_at(from, to, to), "expiry is exclusive");
        assert!(!valid_at(from, to, at(2026, 11, 23, 9)));
    }

    #[test]
    fn reminders_thirty_and_seven_days_before() {
        let expires = at(2027, 1, 31, 12);
        assert_eq!(reminder_due(expires, at(2026, 12, 31, 11)), None);
        assert_eq!(reminder_due(expires, at(2027, 1, 1, 12)), Some(30));
        assert_eq!(reminder_due(expires, at(2027, 1, 24, 11)), Some(30));
        assert_eq!(reminder_due(expires, at(2027, 1, 24, 12)), Some(7));
        assert_eq!(reminder_due(expires, at(2027, 1, 31, 11)), Some(7));
        assert_eq!(reminder_due(expires, expires), None);
    }

    #[test]
    fn days_left_round_up() {
        let expires = at(2027, 1, 31, 12);
        assert_eq!(days_left(expires, at(2027, 1, 1, 12)), 30);
        assert_eq!(days_left(expires, at(2027, 1, 1, 13)), 30);
        assert_eq!(days_left(expires, at(2027, 1, 30, 12)), 1);
        assert_eq!(days_left(expires, expires), 0);
    }

    proptest! {
        #[test]
        fn scores_stay_in_range_and_grow_with_marks(
            weights in proptest::collection::vec(1u32..=100, 1..8),
            scores in proptest::collection::vec(0u32..=4, 8),
            bump in 0usize..8,
        ) {
            let criteria: Vec<Criterion> = weights.iter().enumerate().map(|(i, w)| Criterion {
                key: format!("c{i}"), weight: *w, guidance: String::new(),
            }).collect();
            let m: Vec<Mark> = criteria.iter().zip(&scores).map(|(c, s)| Mark {
                criterion: c.key.clone(), score: *s, comment: None,
            }).collect();
            let base = score(&criteria, &m).unwrap();
            prop_assert!(base <= 100);
            let mut better = m.clone();
            let i = bump % better.len();
            better[i].score = (better[i].score + 1).min(MAX_MARK);
            prop_assert!(score(&criteria, &better).unwrap() >= base);
        }

        #[test]
        fn a_reminder_is_due_only_in_the_last_thirty_days(minutes in 0i64..(60 * 24 * 40)) {
            let expires = at(2027, 6, 1, 0);
            let now = expires - TimeDelta::minutes(minutes);
            match reminder_due(expires, now) {
                None => prop_assert!(minutes == 0 || minutes > 30 * 24 * 60),
                Some(7) => prop_assert!(minutes > 0 && minutes <= 7 * 24 * 60),
                Some(30) => prop_assert!(minutes > 7 * 24 * 60 && minutes <= 30 * 24 * 60),
                Some(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}
