//! The online exam an agent must pass per skill, as pure functions: importing a question
//! bank from CSV or TOML, drawing an attempt, what the agent may see of it, grading, and
//! when an agent may try again. The service stores banks and attempts; nothing here touches
//! the database or the clock.
//!
//! An attempt is stored as the list of [`Drawn`] entries (bank index plus the order its
//! options were shown in), so grading maps the agent's shown positions back to the bank's
//! options and a reshuffle can never change what counts as correct.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{FieldError, Invalid};

/// Longest prompt, in characters: a scenario may be a paragraph, not a chat transcript.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// Most options a choice question may have (the CSV has six option columns).
pub const MAX_OPTIONS: usize = 6;
/// Points a single question may be worth.
pub const POINTS: std::ops::RangeInclusive<u32> = 1..=100;

/// The columns a CSV bank may have, in the documented order.
pub const CSV_COLUMNS: [&str; 13] = [
    "topic",
    "kind",
    "prompt",
    "option_1",
    "option_2",
    "option_3",
    "option_4",
    "option_5",
    "option_6",
    "correct",
    "points",
    "model_answer",
    "rubric",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Exactly one option is correct.
    Single,
    /// One or more options are correct; all of them (and nothing else) must be chosen.
    Multiple,
    /// A free-text answer to a customer situation, graded by a reviewer with a rubric.
    Scenario,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
            QuestionKind::Scenario => "scenario",
        }
    }

    fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "single" => Ok(QuestionKind::Single),
            "multiple" => Ok(QuestionKind::Multiple),
            "scenario" => Ok(QuestionKind::Scenario),
            "" => Err(Invalid::new("required", "say single, multiple or scenario")),
            other => Err(Invalid::new(
                "unknown_kind",
                format!("{other:?} is not single, multiple or scenario"),
            )),
        }
    }

    fn is_choice(self) -> bool {
        self != QuestionKind::Scenario
    }
}

impl fmt::Display for QuestionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A question of a skill's bank, valid by construction when it comes from [`parse_csv`] or
/// [`parse_toml`]. Never sent to an agent: see [`public_view`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Question {
    /// Groups questions so every attempt covers the skill in proportion (see [`draw`]).
    pub topic: String,
    pub kind: QuestionKind,
    pub prompt: String,
    /// Empty for scenarios.
    pub options: Vec<String>,
    /// 0-based indexes into `options`, ascending; empty for scenarios.
    pub correct: Vec<usize>,
    pub points: u32,
    /// For the reviewer of a scenario answer (or an explanation after a choice question).
    pub model_answer: Option<String>,
    /// How a reviewer awards a scenario's points.
    pub rubric: Option<String>,
}

fn default_cooldown_hours() -> u32 {
    24
}

/// How a skill's exam is run; set by an admin per skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExamRules {
    /// Questions per attempt.
    pub exam_size: usize,
    /// Percent of all points needed to pass.
    pub pass_percent: u32,
    pub duration_minutes: u32,
    /// Hours between the starts of two attempts, so a failed agent studies rather than
    /// retries until the draw is lucky.
    #[serde(default = "default_cooldown_hours")]
    pub cooldown_hours: u32,
    /// Attempts allowed in any 30 days; 0 means no such limit.
    pub max_attempts_per_30_days: u32,
}

impl Default for ExamRules {
    fn default() -> Self {
        ExamRules {
            exam_size: 20,
            pass_percent: 80,
            duration_minutes: 30,
            cooldown_hours: default_cooldown_hours(),
            max_attempts_per_30_days: 3,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

/// One problem in an imported bank. Imports report every problem at once so an admin fixes
/// the file in one pass, and import nothing while any problem remains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// The 1-based data row of a CSV (the header is not counted) or the 1-based position of
    /// a TOML `[[question]]`; 0 for the file as a whole.
    pub row: usize,
    /// The column or key, e.g. `prompt`, `option_3`, `correct`; `file` for the whole file.
    pub field: String,
    /// Stable machine-readable reason, as in [`FieldError::code`].
    pub code: &'static str,
    /// A human-readable explanation in English.
    pub reason: String,
}

impl RowError {
    fn new(row: usize, field: &str, invalid: Invalid) -> Self {
        RowError {
            row,
            field: field.to_owned(),
            code: invalid.code,
            reason: invalid.message,
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row == 0 {
            write!(f, "{}: {}", self.field, self.reason)
        } else {
            write!(f, "row {}, {}: {}", self.row, self.field, self.reason)
        }
    }
}

impl std::error::Error for RowError {}

/// For a validation problem body: `questions[3].prompt`, or `file`.
impl From<RowError> for FieldError {
    fn from(err: RowError) -> Self {
        let field = if err.row == 0 {
            err.field
        } else {
            format!("questions[{}].{}", err.row, err.field)
        };
        FieldError::new(field, err.code, err.reason)
    }
}

/// A question as written in a file, before any check. Numbers are wide and signed so that
/// `0` or `-1` becomes a row error instead of a parse failure of the whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    prompt: String,
    #[serde(default)]
    options: Vec<String>,
    /// 1-based, as people count options.
    #[serde(default)]
    correct: Vec<i64>,
    points: Option<i64>,
    model_answer: Option<String>,
    rubric: Option<String>,
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Every rule a question must meet; `row` only labels the errors.
fn validate(row: usize, raw: RawQuestion) -> Result<Question, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, code: &'static str, message: String| {
        errors.push(RowError::new(row, field, Invalid::new(code, message)));
    };

    let topic = raw.topic.trim().to_owned();
    if topic.is_empty() {
        fail("topic", "required", "name the topic".into());
    }
    let kind = match QuestionKind::parse(&raw.kind) {
        Ok(kind) => Some(kind),
        Err(invalid) => {
            fail("kind", invalid.code, invalid.message);
            None
        }
    };
    let prompt = raw.prompt.trim().to_owned();
    if prompt.is_empty() {
        fail("prompt", "required", "write the question".into());
    } else if prompt.chars().count() > MAX_PROMPT_CHARS {
        fail(
            "prompt",
            "too_long",
            format!("at most {MAX_PROMPT_CHARS} characters"),
        );
    }
    let points = match raw.points {
        None => 1,
        Some(p) if p >= i64::from(*POINTS.start()) && p <= i64::from(*POINTS.end()) => p as u32,
        Some(p) => {
            fail(
                "points",
                "out_of_range",
                format!("{p} is not between {} and {}", POINTS.start(), POINTS.end()),
            );
            1
        }
    };
    let model_answer = non_blank(raw.model_answer);
    let rubric = non_blank(raw.rubric);

    let options: Vec<String> = raw.options.iter().map(|o| o.trim().to_owned()).collect();
    let mut correct = Vec::new();
    match kind {
        Some(QuestionKind::Scenario) => {
            if !options.is_empty() {
                fail(
                    "options",
                    "not_allowed",
                    "a scenario is answered in writing and has no options".into(),
                );
            }
            if !raw.correct.is_empty() {
                fail(
                    "correct",
                    "not_allowed",
                    "a scenario is graded by a reviewer, not by correct options".into(),
                );
            }
            if model_answer.is_none() {
                fail(
                    "model_answer",
                    "required",
                    "a scenario needs a model answer for the reviewer".into(),
                );
            }
            if rubric.is_none() {
                fail(
                    "rubric",
                    "required",
                    "a scenario needs a rubric for the reviewer".into(),
                );
            }
        }
        Some(kind) => {
            if options.len() < 2 {
                fail("options", "too_few", "give at least 2 options".into());
            } else if options.len() > MAX_OPTIONS {
                fail(
                    "options",
                    "too_many",
                    format!("at most {MAX_OPTIONS} options"),
                );
            }
            let mut seen: Vec<String> = Vec::new();
            for (i, option) in options.iter().enumerate() {
                let field = format!("option_{}", i + 1);
                if option.is_empty() {
                    fail(&field, "required", "an option must not be empty".into());
                    continue;
                }
                // Case-insensitive: "Yes" and "yes" side by side read as a trick.
                let folded = option.to_lowercase();
                if seen.contains(&folded) {
                    fail(
                        &field,
                        "duplicate",
                        "the same text as an earlier option".into(),
                    );
                }
                seen.push(folded);
            }
            let mut chosen = BTreeSet::new();
            for &c in &raw.correct {
                if c < 1 || c as u64 > options.len() as u64 {
                    fail(
                        "correct",
                        "out_of_range",
                        format!("{c} is not an option number (1 to {})", options.len()),
                    );
                } else if !chosen.insert((c - 1) as usize) {
                    fail("correct", "duplicate", format!("{c} is listed twice"));
                }
            }
            match kind {
                QuestionKind::Single if raw.correct.len() != 1 => fail(
                    "correct",
                    "exactly_one",
                    "a single-choice question has exactly one correct option".into(),
                ),
                QuestionKind::Multiple if raw.correct.is_empty() => fail(
                    "correct",
                    "required",
                    "name at least one correct option".into(),
                ),
                _ => {}
            }
            correct = chosen.into_iter().collect();
        }
        None => {}
    }

    match kind {
        Some(kind) if errors.is_empty() => Ok(Question {
            topic,
            kind,
            prompt,
            options,
            correct,
            points,
            model_answer,
            rubric,
        }),
        _ => Err(errors),
    }
}

/// Validates every question and returns all of them or every error: a bank is never half
/// imported.
fn validate_all(raws: Vec<(usize, RawQuestion)>) -> Result<Vec<Question>, Vec<RowError>> {
    if raws.is_empty() {
        return Err(vec![RowError::new(
            0,
            "file",
            Invalid::new("empty", "the file has no questions"),
        )]);
    }
    let mut questions = Vec::new();
    let mut errors = Vec::new();
    for (row, raw) in raws {
        match validate(row, raw) {
            Ok(q) => questions.push(q),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(questions)
    } else {
        Err(errors)
    }
}

/// Parses a bank exported from a spreadsheet. The header must use only the names in
/// [`CSV_COLUMNS`] (any order; columns other than `topic`, `kind` and `prompt` may be left
/// out); `correct` lists 1-based option numbers separated by `;`, and a blank `points` is 1.
/// A blank option cell after the last filled one is no option; one before it is an error.
pub fn parse_csv(text: &str) -> Result<Vec<Question>, Vec<RowError>> {
    let file_error =
        |code, message: String| vec![RowError::new(0, "file", Invalid::new(code, message))];
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.to_ascii_lowercase()).collect(),
        Err(e) => {
            return Err(file_error(
                "unreadable",
                format!("not readable as CSV: {e}"),
            ));
        }
    };
    if header.iter().all(|c| c.is_empty()) {
        return Err(file_error("empty", "the file is empty".into()));
    }

    let mut errors = Vec::new();
    let mut columns: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, name) in header.iter().enumerate() {
        match CSV_COLUMNS.iter().find(|c| **c == name.as_str()) {
            None => errors.push(RowError::new(
                0,
                if name.is_empty() { "header" } else { name },
                Invalid::new(
                    "unknown_column",
                    format!(
                        "column {} ({name:?}) is not one of: {}",
                        i + 1,
                        CSV_COLUMNS.join(", ")
                    ),
                ),
            )),
            Some(known) => {
                if columns.insert(known, i).is_some() {
                    errors.push(RowError::new(
                        0,
                        known,
                        Invalid::new("duplicate_column", "the column appears twice"),
                    ));
                }
            }
        }
    }
    for required in ["topic", "kind", "prompt"] {
        if !columns.contains_key(required) {
            errors.push(RowError::new(
                0,
                required,
                Invalid::new("missing_column", "the header lacks this column"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut raws = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError::new(
                    row,
                    "row",
                    Invalid::new("unreadable", format!("not readable as CSV: {e}")),
                ));
                continue;
            }
        };
        if record.len() != header.len() {
            errors.push(RowError::new(
                row,
                "row",
                Invalid::new(
                    "wrong_length",
                    format!(
                        "{} cells where the header has {}",
                        record.len(),
                        header.len()
                    ),
                ),
            ));
            continue;
        }
        let cell = |name: &str| {
            columns
                .get(name)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let mut options: Vec<String> = (1..=MAX_OPTIONS)
            .map(|n| cell(&format!("option_{n}")))
            .collect();
        while options.last().is_some_and(|o| o.is_empty()) {
            options.pop();
        }
        let mut correct = Vec::new();
        for part in cell("correct")
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.parse::<i64>() {
                Ok(n) => correct.push(n),
                Err(_) => errors.push(RowError::new(
                    row,
                    "correct",
                    Invalid::new(
                        "not_a_number",
                        format!("{part:?} is not an option number; write e.g. 2 or 1;3"),
                    ),
                )),
            }
        }
        let points = match cell("points").as_str() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(RowError::new(
                        row,
                        "points",
                        Invalid::new("not_a_number", format!("{p:?} is not a whole number")),
                    ));
                    Some(1)
                }
            },
        };
        raws.push((
            row,
            RawQuestion {
                topic: cell("topic"),
                kind: cell("kind"),
                prompt: cell("prompt"),
                options,
                correct,
                points,
                model_answer: Some(cell("model_answer")),
                rubric: Some(cell("rubric")),
            },
        ));
    }
    match validate_all(raws) {
        Ok(questions) if errors.is_empty() => Ok(questions),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            errors.sort_by_key(|e| e.row);
            Err(errors)
        }
    }
}

/// Parses a bank written by hand as `[[question]]` tables with the keys `topic`, `kind`,
/// `prompt`, `options` (an array), `correct` (an array of 1-based option numbers), `points`,
/// `model_answer` and `rubric`. A question with a wrongly typed or unknown key is reported
/// by its position and the others are still checked.
pub fn parse_toml(text: &str) -> Result<Vec<Question>, Vec<RowError>> {
    let file_error =
        |code, message: String| vec![RowError::new(0, "file", Invalid::new(code, message))];
    let mut table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return Err(file_error("unreadable", format!("not valid TOML: {e}"))),
    };
    let mut errors: Vec<RowError> = table
        .keys()
        .filter(|k| *k != "question")
        .map(|k| {
            RowError::new(
                0,
                k,
                Invalid::new("unknown_key", "only [[question]] tables are allowed"),
            )
        })
        .collect();
    let items = match table.remove("question") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(_) => {
            errors.push(RowError::new(
                0,
                "question",
                Invalid::new("not_a_list", "write each question as a [[question]] table"),
            ));
            Vec::new()
        }
    };
    let mut raws = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item.try_into::<RawQuestion>() {
            Ok(raw) => raws.push((i + 1, raw)),
            Err(e) => errors.push(RowError::new(
                i + 1,
                "question",
                Invalid::new("malformed", e.message().to_owned()),
            )),
        }
    }
    if !errors.is_empty() && raws.is_empty() {
        return Err(errors);
    }
    match validate_all(raws) {
        Ok(questions) if errors.is_empty() => Ok(questions),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            errors.sort_by_key(|e| e.row);
            Err(errors)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Drawing an attempt
// ---------------------------------------------------------------------------------------

/// One question of an attempt: which bank question, and the order its options are shown in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Drawn {
    pub bank_index: usize,
    /// Shown position -> original option index; a permutation of the question's options,
    /// empty for scenarios. Shuffling stops answers from being passed around as "B, then D".
    pub option_order: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("the question bank has {bank} questions but the exam needs {needed}")]
    BankTooSmall { bank: usize, needed: usize },
    #[error("the exam size is 0: set at least one question per attempt")]
    EmptyExam,
}

/// How many questions each topic gets: its proportional share of `size` rounded by the
/// largest-remainder method, so counts add up to `size` and each is within 1 of the exact
/// share. Ties for the last seats are broken at random, not alphabetically.
fn allocate<R: Rng + ?Sized>(counts: &[usize], size: usize, rng: &mut R) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let mut quota: Vec<usize> = counts.iter().map(|&n| size * n / total).collect();
    let left = size - quota.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.shuffle(rng);
    // Stable sort: equal remainders keep their random order.
    order.sort_by_key(|&t| std::cmp::Reverse(size * counts[t] % total));
    // A topic with a remainder has quota < its count (size <= total), and fewer topics have a
    // remainder than seats are left, so the cap below never binds; it is there for safety.
    let extra: Vec<usize> = order
        .into_iter()
        .filter(|&t| quota[t] < counts[t])
        .take(left)
        .collect();
    for t in extra {
        quota[t] += 1;
    }
    quota
}

/// Draws an attempt of `size` questions: each topic in proportion to its share of the bank
/// (so a bank heavy on refunds gives exams heavy on refunds), random within a topic, in a
/// random order, with each choice question's options shuffled.
pub fn draw<R: Rng + ?Sized>(
    bank: &[Question],
    size: usize,
    rng: &mut R,
) -> Result<Vec<Drawn>, DrawError> {
    if size == 0 {
        return Err(DrawError::EmptyExam);
    }
    if bank.len() < size {
        return Err(DrawError::BankTooSmall {
            bank: bank.len(),
            needed: size,
        });
    }
    let mut topics: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, q) in bank.iter().enumerate() {
        topics.entry(q.topic.as_str()).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = topics.into_values().collect();
    let counts: Vec<usize> = groups.iter().map(Vec::len).collect();
    let quota = allocate(&counts, size, rng);

    let mut picked = Vec::with_capacity(size);
    for (group, take) in groups.iter_mut().zip(quota) {
        group.shuffle(rng);
        picked.extend_from_slice(&group[..take]);
    }
    picked.shuffle(rng);
    Ok(picked
        .into_iter()
        .map(|bank_index| {
            let q = &bank[bank_index];
            let mut option_order: Vec<usize> = if q.kind.is_choice() {
                (0..q.options.len()).collect()
            } else {
                Vec::new()
            };
            option_order.shuffle(rng);
            Drawn {
                bank_index,
                option_order,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// What the agent sees
// ---------------------------------------------------------------------------------------

/// A question as shown to the agent taking the exam. Deliberately has no field for
/// answers, model answers or rubrics, so none can leak by serialising it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicQuestion {
    /// 1-based position in the attempt; answers refer to it.
    pub number: usize,
    pub kind: QuestionKind,
    pub prompt: String,
    /// In the order shown; answers give 0-based positions in this list.
    pub options: Vec<String>,
    pub points: u32,
}

/// The bank question behind `drawn`, if the attempt still matches the bank.
fn resolve<'a>(bank: &'a [Question], drawn: &Drawn) -> Option<&'a Question> {
    let q = bank.get(drawn.bank_index)?;
    let expected = if q.kind.is_choice() {
        q.options.len()
    } else {
        0
    };
    let mut seen = vec![false; expected];
    if drawn.option_order.len() != expected {
        return None;
    }
    for &o in &drawn.option_order {
        match seen.get_mut(o) {
            Some(s) if !*s => *s = true,
            _ => return None,
        }
    }
    Some(q)
}

/// The attempt as the agent sees it. Banks are replaced rather than edited under a running
/// attempt; an entry that no longer matches the bank is left out here, and [`grade`]
/// reports it.
pub fn public_view(bank: &[Question], drawn: &[Drawn]) -> Vec<PublicQuestion> {
    drawn
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let q = resolve(bank, d)?;
            Some(PublicQuestion {
                number: i + 1,
                kind: q.kind,
                prompt: q.prompt.clone(),
                options: d
                    .option_order
                    .iter()
                    .map(|&o| q.options[o].clone())
                    .collect(),
                points: q.points,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Grading
// ---------------------------------------------------------------------------------------

/// The agent's answer to one question of the attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Answer {
    /// The question's `number` in the attempt.
    pub number: usize,
    /// 0-based positions in the options as shown; empty for scenarios.
    #[serde(default)]
    pub choices: Vec<usize>,
    /// The written answer to a scenario.
    pub text: Option<String>,
}

/// Points from the choice questions, and which scenario answers wait for a reviewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grade {
    pub choice_points: u32,
    pub choice_max: u32,
    /// Points the attempt's scenarios are worth together, answered or not.
    pub scenario_max: u32,
    /// Numbers of the answered scenarios, for the reviewer.
    pub pending: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GradeError {
    #[error("question {number} is not part of this attempt")]
    NotInAttempt { number: usize },
    #[error("an answer to question {number} chooses an option that is not shown")]
    BadChoice { number: usize },
    #[error("question {number} is answered twice")]
    Duplicate { number: usize },
    #[error("question {number} no longer matches the question bank")]
    BankChanged { number: usize },
}

/// Grades the choice questions and sets the answered scenarios aside for review. A choice
/// question scores all its points when the chosen options are exactly the correct ones and
/// nothing otherwise: partial credit would reward ticking every box.
pub fn grade(bank: &[Question], drawn: &[Drawn], answers: &[Answer]) -> Result<Grade, GradeError> {
    let mut by_number: BTreeMap<usize, &Answer> = BTreeMap::new();
    for a in answers {
        let Some(d) = a.number.checked_sub(1).and_then(|i| drawn.get(i)) else {
            return Err(GradeError::NotInAttempt { number: a.number });
        };
        if a.choices.iter().any(|&c| c >= d.option_order.len()) {
            return Err(GradeError::BadChoice { number: a.number });
        }
        if by_number.insert(a.number, a).is_some() {
            return Err(GradeError::Duplicate { number: a.number });
        }
    }
    let mut grade = Grade {
        choice_points: 0,
        choice_max: 0,
        scenario_max: 0,
        pending: Vec::new(),
    };
    for (i, d) in drawn.iter().enumerate() {
        let number = i + 1;
        let q = resolve(bank, d).ok_or(GradeError::BankChanged { number })?;
        let answer = by_number.get(&number);
        if q.kind.is_choice() {
            grade.choice_max += q.points;
            let chosen: HashSet<usize> = answer
                .map(|a| a.choices.iter().map(|&c| d.option_order[c]).collect())
                .unwrap_or_default();
            let correct: HashSet<usize> = q.correct.iter().copied().collect();
            if answer.is_some() && chosen == correct {
                grade.choice_points += q.points;
            }
        } else {
            grade.scenario_max += q.points;
            let written = answer
                .and_then(|a| a.text.as_deref())
                .is_some_and(|t| !t.trim().is_empty());
            if written {
                grade.pending.push(number);
            }
        }
    }
    Ok(grade)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Outcome {
    Passed {
        percent: u32,
    },
    Failed {
        percent: u32,
    },
    /// Written answers wait for a reviewer; the result is not known yet.
    AwaitingReview,
}

/// The result of an attempt. `scenario_points` is the reviewer's total for the written
/// answers (capped at `grade.scenario_max`); `None` while no review has happened.
/// The percent is over all points, rounded down, so 79.9 % does not pass an 80 % bar.
pub fn outcome(grade: &Grade, scenario_points: Option<u32>, pass_percent: u32) -> Outcome {
    if !grade.pending.is_empty() && scenario_points.is_none() {
        return Outcome::AwaitingReview;
    }
    let scored = u64::from(grade.choice_points)
        + u64::from(scenario_points.unwrap_or(0).min(grade.scenario_max));
    let max = u64::from(grade.choice_max) + u64::from(grade.scenario_max);
    // An exam worth nothing (never drawn in practice) passes nobody.
    let Some(percent) = (scored.min(max) * 100).checked_div(max) else {
        return Outcome::Failed { percent: 0 };
    };
    // At most 100, so the cast is lossless.
    let percent = percent as u32;
    if percent >= pass_percent {
        Outcome::Passed { percent }
    } else {
        Outcome::Failed { percent }
    }
}

// ---------------------------------------------------------------------------------------
// Retakes
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetakeError {
    #[error("the last attempt was too recent; try again at {retry_at}")]
    Cooldown { retry_at: NaiveDateTime },
    #[error("too many attempts in 30 days; try again at {retry_at}")]
    TooMany { retry_at: NaiveDateTime },
}

impl RetakeError {
    pub fn retry_at(self) -> NaiveDateTime {
        match self {
            RetakeError::Cooldown { retry_at } | RetakeError::TooMany { retry_at } => retry_at,
        }
    }
}

/// The window for [`ExamRules::max_attempts_per_30_days`].
pub const ATTEMPT_WINDOW: TimeDelta = TimeDelta::days(30);

/// Whether an agent may start an attempt at `now`, given when their earlier attempts
/// started (any order). A start exactly `cooldown_hours` ago no longer blocks, nor does one
/// exactly 30 days ago. When both limits apply, the error is the one that lasts longer, so
/// the agent is told a time at which they really can start.
pub fn may_start(
    now: NaiveDateTime,
    previous_starts: &[NaiveDateTime],
    rules: &ExamRules,
) -> Result<(), RetakeError> {
    let mut blocked: Option<RetakeError> = None;
    if let Some(&last) = previous_starts.iter().max() {
        let retry_at = last + TimeDelta::hours(i64::from(rules.cooldown_hours));
        if now < retry_at {
            blocked = Some(RetakeError::Cooldown { retry_at });
        }
    }
    let max = rules.max_attempts_per_30_days as usize;
    if max > 0 {
        let mut recent: Vec<NaiveDateTime> = previous_starts
            .iter()
            .copied()
            .filter(|&s| now < s + ATTEMPT_WINDOW)
            .collect();
        if recent.len() >= max {
            recent.sort();
            // Once this start leaves the window, max - 1 remain and one more is allowed.
            let retry_at = recent[recent.len() - max] + ATTEMPT_WINDOW;
            if blocked.is_none_or(|b| b.retry_at() < retry_at) {
                blocked = Some(RetakeError::TooMany { retry_at });
            }
        }
    }
    blocked.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const HEADER: &str = "topic,kind,prompt,option_1,option_2,option_3,option_4,option_5,option_6,correct,points,model_answer,rubric";

    fn csv(rows: &[&str]) -> String {
        let mut text = String::from(HEADER);
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        text
    }

    const GOOD_SINGLE: &str = "refunds,single,Who approves a refund over 500 yuan?,The agent,A supervisor,The customer,,,,2,2,,";
    const GOOD_MULTIPLE: &str =
        "privacy,multiple,Which may you ask a caller for?,Order number,Card PIN,Postcode,,,,1;3,,,";
    const GOOD_SCENARIO: &str = "tone,scenario,\"A customer shouts, \"\"where is my parcel\"\". Reply.\",,,,,,,,5,Apologise and give the tracking status.,2 points empathy; 3 points facts";

    /// The errors of a one-row CSV, as (field, code).
    fn errors_of(row: &str) -> Vec<(String, &'static str)> {
        parse_csv(&csv(&[row]))
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn has(row: &str, field: &str, code: &str) {
        let errors = errors_of(row);
        assert!(
            errors.iter().any(|(f, c)| f == field && *c == code),
            "expected {field}/{code} in {errors:?}"
        );
    }

    #[test]
    fn a_good_csv_imports_every_kind() {
        let bank = parse_csv(&csv(&[GOOD_SINGLE, GOOD_MULTIPLE, GOOD_SCENARIO])).unwrap();
        assert_eq!(bank.len(), 3);
        assert_eq!(bank[0].kind, QuestionKind::Single);
        assert_eq!(bank[0].options.len(), 3);
        assert_eq!(bank[0].correct, [1]);
        assert_eq!(bank[0].points, 2);
        assert_eq!(bank[1].correct, [0, 2]);
        assert_eq!(bank[1].points, 1, "blank points default to 1");
        assert_eq!(bank[2].kind, QuestionKind::Scenario);
        assert!(bank[2].options.is_empty() && bank[2].correct.is_empty());
        assert_eq!(
            bank[2].prompt,
            "A customer shouts, \"where is my parcel\". Reply."
        );
        assert_eq!(
            bank[2].rubric.as_deref(),
            Some("2 points empathy; 3 points facts")
        );
    }

    #[test]
    fn columns_may_come_in_any_order_and_optional_ones_may_be_missing() {
        let text = "prompt,kind,topic,option_1,option_2,correct\nPick B,single,basics,A,B,2";
        let bank = parse_csv(text).unwrap();
        assert_eq!(bank[0].correct, [1]);
        assert_eq!(bank[0].points, 1);
    }

    #[test]
    fn three_bad_rows_among_good_ones_are_all_reported_and_nothing_is_returned() {
        let text = csv(&[
            GOOD_SINGLE,
            "refunds,single,,A,B,,,,,1,,,",
            GOOD_MULTIPLE,
            "refunds,essay,Why?,A,B,,,,,1,,,",
            GOOD_SCENARIO,
            "refunds,single,Pick,A,B,,,,,3,,,",
        ]);
        let errors = parse_csv(&text).unwrap_err();
        let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [2, 4, 6], "{errors:?}");
        assert_eq!(errors[0].field, "prompt");
        assert_eq!(errors[1].code, "unknown_kind");
        assert_eq!(errors[2].field, "correct");
        assert_eq!(
            errors[2].to_string(),
            "row 6, correct: 3 is not an option number (1 to 2)"
        );
    }

    #[test]
    fn every_problem_of_one_row_is_reported() {
        let errors = errors_of(",single,,A,A,,,,,,0,,");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["topic", "prompt", "points", "option_2", "correct"]);
    }

    #[test]
    fn the_kind_must_be_known() {
        has("t,essay,P,A,B,,,,,1,,,", "kind", "unknown_kind");
        has("t,,P,A,B,,,,,1,,,", "kind", "required");
        assert!(
            parse_csv(&csv(&["t,Single,P,A,B,,,,,1,,,"])).is_ok(),
            "case does not matter"
        );
    }

    #[test]
    fn the_prompt_is_required_and_bounded() {
        has("t,single,  ,A,B,,,,,1,,,", "prompt", "required");
        let long = "x".repeat(MAX_PROMPT_CHARS + 1);
        has(
            &format!("t,single,{long},A,B,,,,,1,,,"),
            "prompt",
            "too_long",
        );
        // Characters, not bytes: 2000 Chinese characters are fine.
        let chinese = "退".repeat(MAX_PROMPT_CHARS);
        assert!(parse_csv(&csv(&[&format!("t,single,{chinese},A,B,,,,,1,,,")])).is_ok());
    }

    #[test]
    fn the_topic_is_required() {
        has(" ,single,P,A,B,,,,,1,,,", "topic", "required");
    }

    #[test]
    fn a_single_choice_question_needs_two_options_and_exactly_one_correct() {
        has("t,single,P,A,,,,,,1,,,", "options", "too_few");
        has("t,single,P,A,B,,,,,,,,", "correct", "exactly_one");
        has("t,single,P,A,B,,,,,1;2,,,", "correct", "exactly_one");
    }

    #[test]
    fn a_multiple_choice_question_needs_two_options_and_one_correct() {
        has("t,multiple,P,A,,,,,,1,,,", "options", "too_few");
        has("t,multiple,P,A,B,,,,,,,,", "correct", "required");
        assert!(parse_csv(&csv(&["t,multiple,P,A,B,C,,,,1;2;3,,,"])).is_ok());
    }

    #[test]
    fn a_scenario_has_no_options_and_needs_a_model_answer_and_a_rubric() {
        has("t,scenario,P,A,B,,,,,,,M,R", "options", "not_allowed");
        has("t,scenario,P,,,,,,,1,,M,R", "correct", "not_allowed");
        has("t,scenario,P,,,,,,,,,,R", "model_answer", "required");
        has("t,scenario,P,,,,,,,,,M,", "rubric", "required");
    }

    #[test]
    fn correct_numbers_must_name_options() {
        has("t,single,P,A,B,,,,,3,,,", "correct", "out_of_range");
        has("t,single,P,A,B,,,,,0,,,", "correct", "out_of_range");
        has("t,multiple,P,A,B,,,,,1;1,,,", "correct", "duplicate");
        has("t,single,P,A,B,,,,,B,,,", "correct", "not_a_number");
    }

    #[test]
    fn options_must_be_filled_and_distinct() {
        has("t,single,P,A,,C,,,,1,,,", "option_2", "required");
        has("t,single,P,Yes,yes,,,,,1,,,", "option_2", "duplicate");
    }

    #[test]
    fn points_are_between_1_and_100() {
        has("t,single,P,A,B,,,,,1,0,,", "points", "out_of_range");
        has("t,single,P,A,B,,,,,1,101,,", "points", "out_of_range");
        has("t,single,P,A,B,,,,,1,ten,,", "points", "not_a_number");
        assert_eq!(
            parse_csv(&csv(&["t,single,P,A,B,,,,,1,100,,"])).unwrap()[0].points,
            100
        );
    }

    #[test]
    fn unknown_columns_are_an_error() {
        let errors = parse_csv("topic,kind,prompt,answer\nt,scenario,P,x").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].row, errors[0].field.as_str()), (0, "answer"));
        assert_eq!(errors[0].code, "unknown_column");
        let errors = parse_csv("topic,kind\nt,single").unwrap_err();
        assert_eq!(errors[0].field, "prompt");
        assert_eq!(errors[0].code, "missing_column");
    }

    #[test]
    fn an_empty_file_is_an_error() {
        for text in ["", "\n\n", HEADER, "\u{feff}"] {
            let errors = parse_csv(text).unwrap_err();
            assert_eq!(errors.len(), 1, "{text:?}");
            assert_eq!((errors[0].row, errors[0].code), (0, "empty"), "{text:?}");
        }
        assert_eq!(parse_toml("").unwrap_err()[0].code, "empty");
    }

    #[test]
    fn a_row_with_the_wrong_number_of_cells_is_reported() {
        let errors = parse_csv(&csv(&[GOOD_SINGLE, "t,single,P,A"])).unwrap_err();
        assert_eq!((errors[0].row, errors[0].code), (2, "wrong_length"));
    }

    #[test]
    fn row_errors_become_field_errors_for_the_problem_body() {
        let err = parse_csv(&csv(&["t,single,,A,B,,,,,1,,,"]))
            .unwrap_err()
            .remove(0);
        let field: FieldError = err.into();
        assert_eq!(field.field, "questions[1].prompt");
        assert_eq!(field.code, "required");
    }

    const TOML_BANK: &str = r#"
[[question]]
topic = "refunds"
kind = "single"
prompt = "Who approves a refund over 500 yuan?"
options = ["The agent", "A supervisor"]
correct = [2]
points = 3

[[question]]
topic = "tone"
kind = "scenario"
prompt = "A customer is angry. Reply."
model_answer = "Apologise first."
rubric = "Empathy and facts."
"#;

    #[test]
    fn a_toml_bank_imports() {
        let bank = parse_toml(TOML_BANK).unwrap();
        assert_eq!(bank.len(), 2);
        assert_eq!(bank[0].correct, [1]);
        assert_eq!(bank[0].points, 3);
        assert_eq!(bank[1].points, 1);
        assert_eq!(bank[1].model_answer.as_deref(), Some("Apologise first."));
    }

    #[test]
    fn toml_errors_name_the_question_and_are_all_reported() {
        let text = r#"
[[question]]
topic = "a"
kind = "multiple"
prompt = "P"
options = ["x", "y"]
correct = [1]

[[question]]
topic = "a"
kind = "single"
prompt = "P"
options = ["x"]
correct = [1]

[[question]]
topic = "a"
kind = "single"
prompt = "P"
options = ["x", "y"]
correct = [1]
colour = "red"

[[question]]
topic = "a"
kind = "single"
prompt = "P"
options = ["x", "y"]
points = "many"
correct = [1]
"#;
        let errors = parse_toml(text).unwrap_err();
        let rows: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(
            rows,
            [(2, "options"), (3, "question"), (4, "question")],
            "{errors:?}"
        );
        assert!(errors[1].reason.contains("colour"), "{}", errors[1].reason);
    }

    #[test]
    fn toml_syntax_errors_and_stray_keys_are_file_errors() {
        let errors = parse_toml("[[question]\ntopic = ").unwrap_err();
        assert_eq!((errors[0].row, errors[0].code), (0, "unreadable"));
        let errors = parse_toml(&format!("title = \"bank\"\n{TOML_BANK}")).unwrap_err();
        assert_eq!((errors[0].row, errors[0].field.as_str()), (0, "title"));
    }

    // -- drawing -------------------------------------------------------------------------

    fn choice(topic: &str, kind: QuestionKind, options: usize, correct: &[usize]) -> Question {
        Question {
            topic: topic.into(),
            kind,
            prompt: format!("{topic} question"),
            options: (0..options).map(|i| format!("option {i}")).collect(),
            correct: correct.to_vec(),
            points: 1,
            model_answer: None,
            rubric: None,
        }
    }

    fn scenario(topic: &str, points: u32) -> Question {
        Question {
            topic: topic.into(),
            kind: QuestionKind::Scenario,
            prompt: "SCENARIO-PROMPT".into(),
            options: vec![],
            correct: vec![],
            points,
            model_answer: Some("MODEL-ANSWER-TEXT".into()),
            rubric: Some("RUBRIC-TEXT".into()),
        }
    }

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    #[test]
    fn a_bank_too_small_is_a_clear_error() {
        let bank = vec![choice("a", QuestionKind::Single, 2, &[0]); 3];
        let err = draw(&bank, 5, &mut rng(1)).unwrap_err();
        assert_eq!(err, DrawError::BankTooSmall { bank: 3, needed: 5 });
        assert_eq!(
            err.to_string(),
            "the question bank has 3 questions but the exam needs 5"
        );
        assert_eq!(
            draw(&bank, 0, &mut rng(1)).unwrap_err(),
            DrawError::EmptyExam
        );
        assert_eq!(
            draw(&[], 1, &mut rng(1)).unwrap_err(),
            DrawError::BankTooSmall { bank: 0, needed: 1 }
        );
    }

    #[test]
    fn topics_are_drawn_in_proportion() {
        // 6 refunds, 3 privacy, 1 tone; 5 questions: 3, 1.5, 0.5 -> 3 and then one of the halves.
        let mut bank = vec![choice("refunds", QuestionKind::Single, 3, &[0]); 6];
        bank.extend(vec![choice("privacy", QuestionKind::Single, 3, &[0]); 3]);
        bank.push(scenario("tone", 5));
        for seed in 0..20 {
            let drawn = draw(&bank, 5, &mut rng(seed)).unwrap();
            let count = |t: &str| {
                drawn
                    .iter()
                    .filter(|d| bank[d.bank_index].topic == t)
                    .count()
            };
            assert_eq!(count("refunds"), 3);
            assert!(matches!((count("privacy"), count("tone")), (2, 0) | (1, 1)));
        }
    }

    #[test]
    fn the_whole_bank_can_be_drawn() {
        let bank = vec![choice("a", QuestionKind::Single, 2, &[0]), scenario("b", 2)];
        let drawn = draw(&bank, 2, &mut rng(3)).unwrap();
        let mut indexes: Vec<usize> = drawn.iter().map(|d| d.bank_index).collect();
        indexes.sort();
        assert_eq!(indexes, [0, 1]);
        let s = drawn.iter().find(|d| d.bank_index == 1).unwrap();
        assert!(
            s.option_order.is_empty(),
            "scenarios have no options to shuffle"
        );
    }

    // -- what the agent sees -------------------------------------------------------------

    #[test]
    fn the_public_view_shows_shuffled_options_and_no_answers() {
        let mut q = choice("a", QuestionKind::Multiple, 3, &[0, 2]);
        q.options = vec!["Alpha".into(), "Beta".into(), "Gamma".into()];
        q.model_answer = Some("EXPLANATION-TEXT".into());
        let bank = vec![q, scenario("b", 4)];
        let drawn = vec![
            Drawn {
                bank_index: 1,
                option_order: vec![],
            },
            Drawn {
                bank_index: 0,
                option_order: vec![2, 0, 1],
            },
        ];
        let view = public_view(&bank, &drawn);
        assert_eq!(view[0].number, 1);
        assert_eq!(view[0].kind, QuestionKind::Scenario);
        assert_eq!(view[1].number, 2);
        assert_eq!(view[1].options, ["Gamma", "Alpha", "Beta"]);
        let json = serde_json::to_string(&view).unwrap();
        for secret in [
            "correct",
            "model_answer",
            "rubric",
            "topic",
            "bank_index",
            "option_order",
            "MODEL-ANSWER-TEXT",
            "RUBRIC-TEXT",
            "EXPLANATION-TEXT",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
    }

    #[test]
    fn an_attempt_that_no_longer_matches_the_bank_is_not_shown_or_graded() {
        let bank = vec![choice("a", QuestionKind::Single, 2, &[0])];
        let stale = vec![Drawn {
            bank_index: 0,
            option_order: vec![0, 1, 2],
        }];
        assert!(public_view(&bank, &stale).is_empty());
        assert_eq!(
            grade(&bank, &stale, &[]).unwrap_err(),
            GradeError::BankChanged { number: 1 }
        );
        let gone = vec![Drawn {
            bank_index: 7,
            option_order: vec![],
        }];
        assert!(public_view(&bank, &gone).is_empty());
    }

    // -- grading -------------------------------------------------------------------------

    fn answer(number: usize, choices: &[usize]) -> Answer {
        Answer {
            number,
            choices: choices.to_vec(),
            text: None,
        }
    }

    #[test]
    fn a_single_choice_question_is_graded_through_the_shown_order() {
        let mut q = choice("a", QuestionKind::Single, 3, &[1]);
        q.points = 4;
        let bank = vec![q];
        // Shown: original 2, 1, 0 -> the correct original 1 is shown at position 1.
        let drawn = vec![Drawn {
            bank_index: 0,
            option_order: vec![2, 1, 0],
        }];
        let right = grade(&bank, &drawn, &[answer(1, &[1])]).unwrap();
        assert_eq!((right.choice_points, right.choice_max), (4, 4));
        // Position 0 shows original option 2: wrong, although "1" was the bank's index.
        let wrong = grade(&bank, &drawn, &[answer(1, &[2])]).unwrap();
        assert_eq!(wrong.choice_points, 0);
    }

    #[test]
    fn a_multiple_choice_question_is_all_or_nothing() {
        let bank = vec![choice("a", QuestionKind::Multiple, 4, &[0, 2])];
        let drawn = vec![Drawn {
            bank_index: 0,
            option_order: vec![0, 1, 2, 3],
        }];
        let points = |choices: &[usize]| {
            grade(&bank, &drawn, &[answer(1, choices)])
                .unwrap()
                .choice_points
        };
        assert_eq!(points(&[0, 2]), 1);
        assert_eq!(points(&[2, 0, 2]), 1, "order and repeats do not matter");
        assert_eq!(points(&[0]), 0, "half right is wrong");
        assert_eq!(points(&[0, 1, 2]), 0, "an extra option is wrong");
        assert_eq!(points(&[0, 1, 2, 3]), 0, "ticking everything is wrong");
        assert_eq!(points(&[]), 0);
    }

    #[test]
    fn unanswered_questions_count_as_wrong() {
        let bank = vec![choice("a", QuestionKind::Single, 2, &[0]), scenario("b", 3)];
        let drawn = vec![
            Drawn {
                bank_index: 0,
                option_order: vec![1, 0],
            },
            Drawn {
                bank_index: 1,
                option_order: vec![],
            },
        ];
        let g = grade(&bank, &drawn, &[]).unwrap();
        assert_eq!(
            g,
            Grade {
                choice_points: 0,
                choice_max: 1,
                scenario_max: 3,
                pending: vec![]
            }
        );
        assert_eq!(outcome(&g, None, 50), Outcome::Failed { percent: 0 });
    }

    #[test]
    fn written_scenario_answers_wait_for_a_reviewer() {
        let bank = vec![choice("a", QuestionKind::Single, 2, &[0]), scenario("b", 3)];
        let drawn = vec![
            Drawn {
                bank_index: 1,
                option_order: vec![],
            },
            Drawn {
                bank_index: 0,
                option_order: vec![0, 1],
            },
        ];
        let text = Answer {
            number: 1,
            choices: vec![],
            text: Some("Sorry, here is...".into()),
        };
        let g = grade(&bank, &drawn, &[text, answer(2, &[0])]).unwrap();
        assert_eq!(
            g,
            Grade {
                choice_points: 1,
                choice_max: 1,
                scenario_max: 3,
                pending: vec![1]
            }
        );
        assert_eq!(outcome(&g, None, 50), Outcome::AwaitingReview);
        assert_eq!(outcome(&g, Some(2), 75), Outcome::Passed { percent: 75 });
        assert_eq!(outcome(&g, Some(1), 75), Outcome::Failed { percent: 50 });
        assert_eq!(
            outcome(&g, Some(99), 100),
            Outcome::Passed { percent: 100 },
            "capped"
        );
        let blank = Answer {
            number: 1,
            choices: vec![],
            text: Some("  ".into()),
        };
        assert!(grade(&bank, &drawn, &[blank]).unwrap().pending.is_empty());
    }

    #[test]
    fn the_percent_is_rounded_down() {
        let g = Grade {
            choice_points: 2,
            choice_max: 3,
            scenario_max: 0,
            pending: vec![],
        };
        assert_eq!(outcome(&g, None, 67), Outcome::Failed { percent: 66 });
        assert_eq!(outcome(&g, None, 66), Outcome::Passed { percent: 66 });
    }

    #[test]
    fn answers_outside_the_attempt_are_refused() {
        let bank = vec![choice("a", QuestionKind::Single, 2, &[0]), scenario("b", 3)];
        let drawn = vec![
            Drawn {
                bank_index: 0,
                option_order: vec![1, 0],
            },
            Drawn {
                bank_index: 1,
                option_order: vec![],
            },
        ];
        let err = |answers: &[Answer]| grade(&bank, &drawn, answers).unwrap_err();
        assert_eq!(
            err(&[answer(0, &[0])]),
            GradeError::NotInAttempt { number: 0 }
        );
        assert_eq!(
            err(&[answer(3, &[0])]),
            GradeError::NotInAttempt { number: 3 }
        );
        assert_eq!(err(&[answer(1, &[2])]), GradeError::BadChoice { number: 1 });
        assert_eq!(err(&[answer(2, &[0])]), GradeError::BadChoice { number: 2 });
        assert_eq!(
            err(&[answer(1, &[0]), answer(1, &[1])]),
            GradeError::Duplicate { number: 1 }
        );
    }

    // -- retakes -------------------------------------------------------------------------

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    fn rules() -> ExamRules {
        ExamRules {
            max_attempts_per_30_days: 3,
            ..ExamRules::default()
        }
    }

    #[test]
    fn a_first_attempt_may_always_start() {
        assert_eq!(may_start(at(1, 9), &[], &rules()), Ok(()));
    }

    #[test]
    fn the_cooldown_ends_exactly_after_cooldown_hours() {
        let starts = [at(1, 9)];
        assert_eq!(
            may_start(at(2, 8), &starts, &rules()),
            Err(RetakeError::Cooldown { retry_at: at(2, 9) })
        );
        let one_second_early = at(2, 9) - TimeDelta::seconds(1);
        assert!(may_start(one_second_early, &starts, &rules()).is_err());
        assert_eq!(may_start(at(2, 9), &starts, &rules()), Ok(()));
    }

    #[test]
    fn the_cooldown_counts_from_the_latest_start_in_any_order() {
        let starts = [at(5, 9), at(1, 9)];
        assert_eq!(
            may_start(at(5, 10), &starts, &rules()),
            Err(RetakeError::Cooldown { retry_at: at(6, 9) })
        );
    }

    #[test]
    fn the_monthly_limit_ends_30_days_after_the_oldest_start() {
        let starts = [at(1, 9), at(3, 9), at(5, 9)];
        assert_eq!(
            may_start(at(10, 9), &starts, &rules()),
            Err(RetakeError::TooMany {
                retry_at: at(31, 9)
            })
        );
        assert!(may_start(at(31, 9) - TimeDelta::seconds(1), &starts, &rules()).is_err());
        assert_eq!(may_start(at(31, 9), &starts, &rules()), Ok(()));
        assert_eq!(
            may_start(at(10, 9), &starts[1..], &rules()),
            Ok(()),
            "two are fine"
        );
    }

    #[test]
    fn when_both_limits_apply_the_later_retry_time_is_given() {
        let starts = [at(1, 9), at(3, 9), at(30, 8)];
        assert_eq!(
            may_start(at(30, 9), &starts, &rules()),
            Err(RetakeError::TooMany {
                retry_at: at(31, 9)
            })
        );
        let starts = [at(1, 9), at(2, 9), at(30, 20)];
        assert_eq!(
            may_start(at(30, 21), &starts, &rules()),
            Err(RetakeError::Cooldown {
                retry_at: at(31, 20)
            })
        );
    }

    #[test]
    fn zero_attempts_per_30_days_means_no_monthly_limit() {
        let r = ExamRules {
            max_attempts_per_30_days: 0,
            cooldown_hours: 0,
            ..rules()
        };
        let starts: Vec<NaiveDateTime> = (1..=20).map(|d| at(d, 9)).collect();
        assert_eq!(may_start(at(20, 9), &starts, &r), Ok(()));
    }

    #[test]
    fn the_cooldown_defaults_to_24_hours() {
        let r: ExamRules = serde_json::from_str(
            r#"{"exam_size":10,"pass_percent":80,"duration_minutes":20,"max_attempts_per_30_days":3}"#,
        )
        .unwrap();
        assert_eq!(r.cooldown_hours, 24);
    }

    // -- properties ----------------------------------------------------------------------

    /// A bank from (topic, kind, option count, correct mask, points) tuples.
    fn bank_strategy() -> impl Strategy<Value = Vec<Question>> {
        proptest::collection::vec((0usize..4, 0u8..3, 2usize..=6, 1u8..64, 1u32..=100), 1..40)
            .prop_map(|rows| {
                rows.into_iter()
                    .map(|(topic, kind, n, mask, points)| {
                        let topic = format!("topic {topic}");
                        let mut q = match kind {
                            0 => choice(&topic, QuestionKind::Single, n, &[mask as usize % n]),
                            1 => {
                                let mut correct: Vec<usize> =
                                    (0..n).filter(|i| mask & (1 << i) != 0).collect();
                                if correct.is_empty() {
                                    correct.push(0);
                                }
                                choice(&topic, QuestionKind::Multiple, n, &correct)
                            }
                            _ => scenario(&topic, points),
                        };
                        q.points = points;
                        q
                    })
                    .collect()
            })
    }

    fn bank_and_size() -> impl Strategy<Value = (Vec<Question>, usize, u64)> {
        bank_strategy().prop_flat_map(|bank| {
            let n = bank.len();
            (Just(bank), 1..=n, any::<u64>())
        })
    }

    fn correct_answers(bank: &[Question], drawn: &[Drawn]) -> Vec<Answer> {
        drawn
            .iter()
            .enumerate()
            .map(|(i, d)| Answer {
                number: i + 1,
                choices: (0..d.option_order.len())
                    .filter(|&p| bank[d.bank_index].correct.contains(&d.option_order[p]))
                    .collect(),
                text: None,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn draw_is_exact_unique_proportional_and_shuffles_permutations((bank, size, seed) in bank_and_size()) {
            let drawn = draw(&bank, size, &mut rng(seed)).unwrap();
            prop_assert_eq!(drawn.len(), size);
            let unique: HashSet<usize> = drawn.iter().map(|d| d.bank_index).collect();
            prop_assert_eq!(unique.len(), size, "a question was drawn twice");
            let mut in_bank: BTreeMap<&str, usize> = BTreeMap::new();
            for q in &bank {
                *in_bank.entry(q.topic.as_str()).or_default() += 1;
            }
            for (topic, n) in in_bank {
                let got = drawn.iter().filter(|d| bank[d.bank_index].topic == topic).count();
                let share = size as f64 * n as f64 / bank.len() as f64;
                prop_assert!((got as f64 - share).abs() < 1.0, "{topic}: {got} for a share of {share}");
            }
            for d in &drawn {
                let q = &bank[d.bank_index];
                let mut order = d.option_order.clone();
                order.sort();
                let expected: Vec<usize> = if q.kind.is_choice() { (0..q.options.len()).collect() } else { vec![] };
                prop_assert_eq!(order, expected);
            }
        }

        #[test]
        fn correct_answers_through_the_shown_order_score_full_marks((bank, size, seed) in bank_and_size()) {
            let drawn = draw(&bank, size, &mut rng(seed)).unwrap();
            let g = grade(&bank, &drawn, &correct_answers(&bank, &drawn)).unwrap();
            prop_assert_eq!(g.choice_points, g.choice_max);
            let expected_max: u32 = drawn
                .iter()
                .map(|d| &bank[d.bank_index])
                .filter(|q| q.kind.is_choice())
                .map(|q| q.points)
                .sum();
            prop_assert_eq!(g.choice_max, expected_max);
        }

        #[test]
        fn choice_points_never_exceed_the_maximum(
            (bank, size, seed) in bank_and_size(),
            picks in proptest::collection::vec((0usize..45, proptest::collection::vec(0usize..7, 0..8)), 0..45),
        ) {
            let drawn = draw(&bank, size, &mut rng(seed)).unwrap();
            // Any choices at all, but within the attempt, so every case is graded.
            let mut answered = HashSet::new();
            let answers: Vec<Answer> = picks
                .into_iter()
                .map(|(n, choices)| {
                    let number = n % drawn.len() + 1;
                    let shown = drawn[number - 1].option_order.len();
                    let choices = choices.into_iter().filter(|_| shown > 0).map(|c| c % shown.max(1)).collect();
                    Answer { number, choices, text: Some("t".into()) }
                })
                .filter(|a| answered.insert(a.number))
                .collect();
            let g = grade(&bank, &drawn, &answers).unwrap();
            prop_assert!(g.choice_points <= g.choice_max);
            prop_assert!(g.pending.len() <= drawn.len());
        }

        #[test]
        fn the_public_view_matches_the_attempt((bank, size, seed) in bank_and_size()) {
            let drawn = draw(&bank, size, &mut rng(seed)).unwrap();
            let view = public_view(&bank, &drawn);
            prop_assert_eq!(view.len(), drawn.len());
            for (v, d) in view.iter().zip(&drawn) {
                prop_assert_eq!(v.options.len(), d.option_order.len());
            }
        }
    }
}
