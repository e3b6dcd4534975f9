//! The briefing's pure rules: what a section, a quick reply and a reorder may hold, which
//! sections a save changed, and when an agent may read a shop's briefing. Text is plain:
//! it is stored and returned as typed (line ends normalised) and only ever shown escaped.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::{AccountId, MerchantId};
use crate::error::{FieldErrors, Invalid};

/// Characters per briefing section.
pub const MAX_SECTION_CHARS: usize = 20_000;
pub const MAX_TITLE_CHARS: usize = 80;
pub const MAX_BODY_CHARS: usize = 2_000;
pub const MAX_SHORTCUT_CHARS: usize = 20;
/// Quick replies per shop: the agent's view loads them all at once.
pub const MAX_QUICK_REPLIES: i64 = 200;
/// How long before a shift starts its agent may read the shop's briefing.
pub const EARLY_READ_HOURS: i64 = 24;
/// Request body limit of a briefing save: four full sections of CJK text (3 bytes a
/// character), percent-encoded by a form (3 characters a byte), with room to spare. The
/// usual `max_body_bytes` is far smaller.
pub const BRIEFING_BODY_LIMIT: usize = 1024 * 1024;

/// A part of the briefing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Products,
    Shipping,
    Returns,
    Other,
}

impl Section {
    pub const ALL: [Section; 4] = [
        Section::Products,
        Section::Shipping,
        Section::Returns,
        Section::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Section::Products => "products",
            Section::Shipping => "shipping",
            Section::Returns => "returns",
            Section::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The four texts of a briefing, each within its limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sections {
    pub products: String,
    pub shipping: String,
    pub returns: String,
    pub other: String,
}

impl Sections {
    pub fn get(&self, section: Section) -> &str {
        match section {
            Section::Products => &self.products,
            Section::Shipping => &self.shipping,
            Section::Returns => &self.returns,
            Section::Other => &self.other,
        }
    }

    fn get_mut(&mut self, section: Section) -> &mut String {
        match section {
            Section::Products => &mut self.products,
            Section::Shipping => &mut self.shipping,
            Section::Returns => &mut self.returns,
            Section::Other => &mut self.other,
        }
    }

    /// The sections whose text differs from `before`, in section order.
    pub fn changed_from(&self, before: &Sections) -> Vec<Section> {
        Section::ALL
            .into_iter()
            .filter(|s| self.get(*s) != before.get(*s))
            .collect()
    }

    /// Checks every section, naming each bad one.
    pub fn parse(input: &SaveBriefing) -> Result<Sections, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut sections = Sections::default();
        for (section, raw) in [
            (Section::Products, &input.products),
            (Section::Shipping, &input.shipping),
            (Section::Returns, &input.returns),
            (Section::Other, &input.other),
        ] {
            if let Some(text) = errors.check(
                section.as_str(),
                plain_text(raw, MAX_SECTION_CHARS, Lines::Many),
            ) {
                *sections.get_mut(section) = text;
            }
        }
        if input.version < 0 {
            errors.push(
                "version",
                Invalid::new("out_of_range", "the version is 0 or more"),
            );
        }
        if errors.is_empty() {
            Ok(sections)
        } else {
            Err(errors)
        }
    }
}

/// A save of the whole briefing.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveBriefing {
    /// The version the client edited (0 before the first save). A save based on an older
    /// version is refused with `briefing_conflict`.
    pub version: i32,
    /// Plain text, at most 20,000 characters, like the other sections.
    pub products: String,
    pub shipping: String,
    pub returns: String,
    pub other: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Plain text with `\r\n` and lone `\r` made `\n`, no control characters other than line
/// ends and tabs (none at all on one line), at most `max` characters.
fn plain_text(raw: &str, max: usize, lines: Lines) -> Result<String, Invalid> {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let allowed = |c: char| match lines {
        Lines::Many => c == '\n' || c == '\t',
        Lines::One => false,
    };
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(Invalid::new(
            "invalid_characters",
            match lines {
                Lines::Many => "control characters other than line ends and tabs",
                Lines::One => "one line without control characters",
            },
        ));
    }
    let count = text.chars().count();
    if count > max {
        return Err(Invalid::new(
            "too_long",
            format!("at most {max} characters (this has {count})"),
        ));
    }
    Ok(text)
}

/// A quick reply as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReplyInput {
    /// At most 80 characters, one line.
    pub title: String,
    /// At most 2,000 characters of plain text.
    pub body: String,
    /// `/` then 1 to 20 of `a-z 0-9 _ -`, unique within the shop (the slash may be left
    /// out). Empty or absent: none.
    #[serde(default)]
    pub shortcut: Option<String>,
    /// A skill id of the seat rules: show the reply only on seats of that skill. Empty or
    /// absent: on every seat.
    #[serde(default)]
    pub skill: Option<String>,
}

/// A checked quick reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReplyDraft {
    pub title: String,
    pub body: String,
    pub shortcut: Option<String>,
    pub skill: Option<String>,
}

impl QuickReplyDraft {
    /// `is_skill` says whether an id is a skill of the rules in force.
    pub fn parse(
        input: &QuickReplyInput,
        is_skill: impl Fn(&str) -> bool,
    ) -> Result<QuickReplyDraft, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = errors.check(
            "title",
            required_text(&input.title, MAX_TITLE_CHARS, Lines::One),
        );
        let body = errors.check(
            "body",
            required_text(&input.body, MAX_BODY_CHARS, Lines::Many),
        );
        let shortcut = errors.check("shortcut", parse_shortcut(input.shortcut.as_deref()));
        let skill = match input
            .skill
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(None),
            Some(s) if is_skill(s) => Some(Some(s.to_owned())),
            Some(_) => {
                errors.push(
                    "skill",
                    Invalid::new("unknown_skill", "not a skill of the seat rules"),
                );
                None
            }
        };
        match (title, body, shortcut, skill) {
            (Some(title), Some(body), Some(shortcut), Some(skill)) if errors.is_empty() => {
                Ok(QuickReplyDraft {
                    title,
                    body,
                    shortcut,
                    skill,
                })
            }
            _ => Err(errors),
        }
    }
}

fn required_text(raw: &str, max: usize, lines: Lines) -> Result<String, Invalid> {
    let text = plain_text(raw.trim(), max, lines)?;
    if text.is_empty() {
        return Err(Invalid::new("required", "this field is required"));
    }
    Ok(text)
}

/// `/refund` (or `refund`) as `/refund`; empty as none.
pub fn parse_shortcut(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let name = raw.strip_prefix('/').unwrap_or(raw);
    let valid = (1..=MAX_SHORTCUT_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(Some(format!("/{name}")))
    } else {
        Err(Invalid::new(
            "invalid_shortcut",
            format!("a slash, then 1 to {MAX_SHORTCUT_CHARS} of a-z, 0-9, _ and -"),
        ))
    }
}

/// The new order of a shop's quick replies.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderRequest {
    /// Every quick reply id of the shop, each once, first to last.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderError {
    /// An id appears twice (a bad request).
    Duplicate(String),
    /// The list is not the shop's current set of replies: one was added or deleted since
    /// the client loaded them, or the id is not the shop's.
    Stale,
}

/// Checks that `requested` is an ordering of exactly `current`.
pub fn check_order(requested: &[String], current: &[String]) -> Result<(), OrderError> {
    let mut seen = std::collections::HashSet::new();
    for id in requested {
        if !seen.insert(id.as_str()) {
            return Err(OrderError::Duplicate(id.clone()));
        }
    }
    if requested.len() != current.len() || current.iter().any(|id| !seen.contains(id.as_str())) {
        return Err(OrderError::Stale);
    }
    Ok(())
}

/// `ids` with `id` moved one place up (towards the first) or down; unchanged at the edge.
pub fn moved(ids: &[String], id: &str, up: bool) -> Vec<String> {
    let mut ids = ids.to_vec();
    if let Some(i) = ids.iter().position(|x| x == id) {
        match (up, i) {
            (true, i) if i > 0 => ids.swap(i, i - 1),
            (false, i) if i + 1 < ids.len() => ids.swap(i, i + 1),
            _ => {}
        }
    }
    ids
}

/// The times an agent's assignment to a shift covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    /// When it ended early (released, swapped out, no-show, cancelled) or was worked.
    pub ended_at: Option<NaiveDateTime>,
}

/// Whether an assignment lets its agent read the shop's briefing at `now`: it has not
/// ended, and `now` lies from [`EARLY_READ_HOURS`] before its start until its end.
pub fn grants_read(a: &Assignment, now: NaiveDateTime) -> bool {
    a.ended_at.is_none()
        && now >= a.starts_at - Duration::hours(EARLY_READ_HOURS)
        && now < a.ends_at
}

/// [`grants_read`] as bounds a query can filter on: an unended assignment grants access
/// when it starts no later than `starts_by` and ends after `ends_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBounds {
    pub starts_by: NaiveDateTime,
    pub ends_after: NaiveDateTime,
}

impl ReadBounds {
    pub fn at(now: NaiveDateTime) -> ReadBounds {
        ReadBounds {
            starts_by: now + Duration::hours(EARLY_READ_HOURS),
            ends_after: now,
        }
    }
}

/// A shop's briefing as its staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BriefingView {
    pub merchant_id: MerchantId,
    /// Saves so far; 0 before the first. Send it back with the next save.
    pub version: i32,
    pub products: String,
    pub shipping: String,
    pub returns: String,
    pub other: String,
    pub updated_by: Option<AccountId>,
    pub updated_by_name: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One save of the briefing: who, when, which sections and their new text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionView {
    pub id: String,
    pub version: i32,
    /// The sections this save changed.
    pub changed: Vec<Section>,
    /// The new text of each changed section (absent when unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub products: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    pub created_by: AccountId,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuickReplyView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub shortcut: Option<String>,
    pub skill: Option<String>,
    /// Sort key: lists are in ascending position.
    pub position: i32,
    pub updated_at: DateTime<Utc>,
}

/// What an agent on a shop's seats reads: the briefing and the quick replies for the skill.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentBriefing {
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    /// 0 when the shop has written nothing yet.
    pub version: i32,
    pub products: String,
    pub shipping: String,
    pub returns: String,
    pub other: String,
    pub updated_at: Option<DateTime<Utc>>,
    /// In the shop's order.
    pub quick_replies: Vec<QuickReplyView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(products: &str) -> SaveBriefing {
        SaveBriefing {
            version: 0,
            products: products.to_owned(),
            ..SaveBriefing::default()
        }
    }

    fn codes(errors: FieldErrors) -> Vec<(String, String)> {
        match crate::error::AppError::from(errors) {
            crate::error::AppError::Validation(e) => {
                e.into_iter().map(|e| (e.field, e.code)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sections_keep_text_verbatim_with_unix_line_ends() {
        let s = Sections::parse(&save("<b>Tea</b> & \"cups\"\r\nline two\rthree\tend")).unwrap();
        assert_eq!(s.products, "<b>Tea</b> & \"cups\"\nline two\nthree\tend");
        assert_eq!(s.shipping, "");
    }

    #[test]
    fn a_section_has_a_limit_counted_in_characters() {
        let at_limit = "茶".repeat(MAX_SECTION_CHARS);
        assert!(Sections::parse(&save(&at_limit)).is_ok());
        let over = SaveBriefing {
            returns: "x".repeat(MAX_SECTION_CHARS + 1),
            other: "nul\0".into(),
            version: -1,
            ..SaveBriefing::default()
        };
        assert_eq!(
            codes(Sections::parse(&over).unwrap_err()),
            [
                ("returns".to_owned(), "too_long".to_owned()),
                ("other".to_owned(), "invalid_characters".to_owned()),
                ("version".to_owned(), "out_of_range".to_owned()),
            ]
        );
    }

    #[test]
    fn changed_sections_are_listed_in_order() {
        let before = Sections {
            products: "a".into(),
            ..Sections::default()
        };
        let after = Sections {
            products: "a".into(),
            returns: "30 days".into(),
            other: "x".into(),
            ..Sections::default()
        };
        assert_eq!(
            after.changed_from(&before),
            [Section::Returns, Section::Other]
        );
        assert!(after.changed_from(&after).is_empty());
    }

    fn reply(
        title: &str,
        body: &str,
        shortcut: Option<&str>,
        skill: Option<&str>,
    ) -> QuickReplyInput {
        QuickReplyInput {
            title: title.into(),
            body: body.into(),
            shortcut: shortcut.map(Into::into),
            skill: skill.map(Into::into),
        }
    }

    #[test]
    fn a_quick_reply_is_checked_field_by_field() {
        let is_skill = |s: &str| s == "general";
        let ok = QuickReplyDraft::parse(
            &reply(
                "  Refunds ",
                "We refund\r\nin 3 days.",
                Some("refund"),
                Some("general"),
            ),
            is_skill,
        )
        .unwrap();
        assert_eq!(ok.title, "Refunds");
        assert_eq!(ok.body, "We refund\nin 3 days.");
        assert_eq!(ok.shortcut.as_deref(), Some("/refund"));
        assert_eq!(ok.skill.as_deref(), Some("general"));
        let none = QuickReplyDraft::parse(&reply("T", "B", Some(" "), Some("")), is_skill).unwrap();
        assert_eq!((none.shortcut, none.skill), (None, None));

        let bad = reply(
            &"t".repeat(MAX_TITLE_CHARS + 1),
            &"b".repeat(MAX_BODY_CHARS + 1),
            Some("/Refund!"),
            Some("juggling"),
        );
        assert_eq!(
            codes(QuickReplyDraft::parse(&bad, is_skill).unwrap_err()),
            [
                ("title".to_owned(), "too_long".to_owned()),
                ("body".to_owned(), "too_long".to_owned()),
                ("shortcut".to_owned(), "invalid_shortcut".to_owned()),
                ("skill".to_owned(), "unknown_skill".to_owned()),
            ]
        );
        let blank = reply(" ", "", None, None);
        assert_eq!(
            codes(QuickReplyDraft::parse(&blank, is_skill).unwrap_err()),
            [
                ("title".to_owned(), "required".to_owned()),
                ("body".to_owned(), "required".to_owned()),
            ]
        );
        let two_lines = reply("a\nb", "ok", None, None);
        assert_eq!(
            codes(QuickReplyDraft::parse(&two_lines, is_skill).unwrap_err()),
            [("title".to_owned(), "invalid_characters".to_owned())]
        );
    }

    #[test]
    fn shortcuts_are_a_slash_and_a_short_slug() {
        assert_eq!(parse_shortcut(Some("/a")).unwrap().as_deref(), Some("/a"));
        assert_eq!(
            parse_shortcut(Some("ship_2-day")).unwrap().as_deref(),
            Some("/ship_2-day")
        );
        assert_eq!(parse_shortcut(None).unwrap(), None);
        let twenty = "a".repeat(MAX_SHORTCUT_CHARS);
        assert!(parse_shortcut(Some(&twenty)).is_ok());
        for bad in ["/", "//a", "/a b", "/退货", "/ABC", &format!("/{twenty}a")] {
            assert_eq!(
                parse_shortcut(Some(bad)).unwrap_err().code,
                "invalid_shortcut",
                "{bad}"
            );
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_reorder_names_every_reply_once() {
        let current = ids(&["a", "b", "c"]);
        assert_eq!(check_order(&ids(&["c", "a", "b"]), &current), Ok(()));
        assert_eq!(
            check_order(&ids(&["a", "a", "b"]), &current),
            Err(OrderError::Duplicate("a".into()))
        );
        assert_eq!(
            check_order(&ids(&["a", "b"]), &current),
            Err(OrderError::Stale)
        );
        assert_eq!(
            check_order(&ids(&["a", "b", "x"]), &current),
            Err(OrderError::Stale)
        );
        assert_eq!(moved(&current, "b", true), ids(&["b", "a", "c"]));
        assert_eq!(moved(&current, "b", false), ids(&["a", "c", "b"]));
        assert_eq!(moved(&current, "a", true), current);
        assert_eq!(moved(&current, "c", false), current);
        assert_eq!(moved(&current, "zz", false), current);
    }

    fn at(h: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 11)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap()
            + Duration::hours(h)
    }

    #[test]
    fn an_agent_reads_from_a_day_before_the_shift_until_its_end() {
        // A shift from hour 48 to hour 52.
        let shift = Assignment {
            starts_at: at(48),
            ends_at: at(52),
            ended_at: None,
        };
        assert!(!grants_read(&shift, at(23)));
        assert!(!grants_read(&shift, at(24) - Duration::seconds(1)));
        assert!(grants_read(&shift, at(24)));
        assert!(grants_read(&shift, at(50)));
        assert!(grants_read(&shift, at(52) - Duration::seconds(1)));
        assert!(!grants_read(&shift, at(52)));
        // Released, swapped out, worked: it no longer counts.
        let ended = Assignment {
            ended_at: Some(at(30)),
            ..shift
        };
        assert!(!grants_read(&ended, at(31)));
        assert!(!grants_read(&ended, at(50)));
    }

    #[test]
    fn the_query_bounds_are_the_rule() {
        let shift = Assignment {
            starts_at: at(48),
            ends_at: at(52),
            ended_at: None,
        };
        for minutes in (0..60 * 60).step_by(7) {
            let now = at(0) + Duration::minutes(minutes);
            let b = ReadBounds::at(now);
            let by_bounds = shift.starts_at <= b.starts_by && shift.ends_at > b.ends_after;
            assert_eq!(by_bounds, grants_read(&shift, now), "{now}");
        }
    }
}
