//! An agent's profile: the languages and skills they offer, when they can work, how many
//! chats they are comfortable with at once, and the accessibility needs the workspace must
//! meet. Pure parsing here; the store keeps the lists as JSON text.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{FieldErrors, Invalid};

/// Languages agents can declare (ISO 639 codes; `yue` is Cantonese).
pub const LANGUAGES: [&str; 8] = ["zh", "yue", "en", "ja", "ko", "ru", "es", "fr"];

/// Accessibility preferences the workspace honours.
pub const ACCESSIBILITY: [&str; 5] = [
    "larger_text",
    "reduced_motion",
    "keyboard_only",
    "high_contrast",
    "screen_reader",
];

/// Why agents leave, as they can say it when they go (churn analysis groups by these).
pub const LEAVE_REASONS: [&str; 7] = [
    "found_other_work",
    "pay",
    "too_few_shifts",
    "workload",
    "health",
    "personal",
    "other",
];

pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A weekly window of availability in the agent's own time zone. Short windows are normal:
/// nothing assumes a full day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklySlot {
    /// `mon` ... `sun`.
    #[schema(example = "mon")]
    pub day: String,
    /// `HH:MM`, on the half hour.
    #[schema(example = "19:00")]
    pub start: String,
    /// `HH:MM`, after `start`; `24:00` for midnight.
    #[schema(example = "21:30")]
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub display_name: String,
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// Codes from the list in the API docs, e.g. `zh`, `en`.
    pub languages: Vec<String>,
    /// Skill ids from the seat rules the agent wants to be certified for.
    pub skills: Vec<String>,
    pub availability: Vec<WeeklySlot>,
    /// 1 to 6.
    pub max_concurrent_chats: i64,
    #[serde(default)]
    pub accessibility: Vec<String>,
}

/// A profile that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub display_name: String,
    pub time_zone: String,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    pub availability: Vec<WeeklySlot>,
    pub max_concurrent_chats: i32,
    pub accessibility: Vec<String>,
}

/// Minutes since midnight of `HH:MM` on the half hour (24:00 allowed as an end).
fn minutes(raw: &str) -> Option<u32> {
    let (h, m) = raw.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m % 30 != 0 || h > 24 || (h == 24 && m != 0) || m >= 60 {
        return None;
    }
    Some(h * 60 + m)
}

fn distinct_from(values: &[String], allowed: &[&str], what: &str) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let v = v.trim();
        if !allowed.contains(&v) {
            return Err(Invalid::new(
                "unknown_value",
                format!("{v:?} is not one of the {what}: {}", allowed.join(", ")),
            ));
        }
        if !out.iter().any(|o| o == v) {
            out.push(v.to_owned());
        }
    }
    Ok(out)
}

/// Checks a profile against the lists above and the rules' skills, reporting every field.
pub fn parse(input: &ProfileInput, known_skills: &[&str]) -> Result<Profile, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = errors.check(
        "display_name",
        crate::accounts::model::DisplayName::parse(&input.display_name)
            .map(|n| n.as_str().to_owned()),
    );
    let zone = errors.check(
        "time_zone",
        crate::accounts::model::TimeZone::parse(&input.time_zone).map(|z| z.name().to_owned()),
    );
    let languages = errors.check(
        "languages",
        distinct_from(&input.languages, &LANGUAGES, "languages"),
    );
    if languages.as_ref().is_some_and(|l| l.is_empty()) {
        errors.push(
            "languages",
            Invalid::new("required", "name at least one language you can work in"),
        );
    }
    let skills = errors.check(
        "skills",
        distinct_from(&input.skills, known_skills, "skills"),
    );
    let accessibility = errors.check(
        "accessibility",
        distinct_from(
            &input.accessibility,
            &ACCESSIBILITY,
            "accessibility preferences",
        ),
    );
    let chats = errors.check(
        "max_concurrent_chats",
        if (1..=6).contains(&input.max_concurrent_chats) {
            Ok(input.max_concurrent_chats as i32)
        } else {
            Err(Invalid::new(
                "out_of_range",
                "between 1 and 6 chats at once",
            ))
        },
    );
    if input.availability.len() > 56 {
        errors.push(
            "availability",
            Invalid::new("too_many", "at most 56 weekly windows"),
        );
    }
    let mut slots: Vec<(usize, u32, u32)> = Vec::new();
    for (i, slot) in input.availability.iter().enumerate() {
        let field = format!("availability[{i}]");
        let Some(day) = DAYS.iter().position(|d| *d == slot.day.trim()) else {
            errors.push(
                &format!("{field}.day"),
                Invalid::new("unknown_value", "use mon, tue, wed, thu, fri, sat or sun"),
            );
            continue;
        };
        match (minutes(&slot.start), minutes(&slot.end)) {
            (Some(s), Some(e)) if s < e => {
                if let Some(other) = slots
                    .iter()
                    .position(|(d, os, oe)| *d == day && s < *oe && *os < e)
                {
                    errors.push(
                        &field,
                        Invalid::new("overlapping", format!("overlaps availability[{other}]")),
                    );
                }
                slots.push((day, s, e));
            }
            (Some(_), Some(_)) => errors.push(
                &format!("{field}.end"),
                Invalid::new("hours_reversed", "the end is not after the start"),
            ),
            (None, _) => errors.push(
                &format!("{field}.start"),
                Invalid::new("invalid_time", "use HH:MM on the half hour, e.g. 19:30"),
            ),
            (_, None) => errors.push(
                &format!("{field}.end"),
                Invalid::new("invalid_time", "use HH:MM on the half hour, e.g. 21:00"),
            ),
        }
    }
    let done = errors.is_empty();
    match (name, zone, languages, skills, accessibility, chats) {
        (
            Some(display_name),
            Some(time_zone),
            Some(languages),
            Some(skills),
            Some(accessibility),
            Some(max_concurrent_chats),
        ) if done => {
            let mut availability = input.availability.clone();
            availability.sort_by_key(|s| {
                (
                    DAYS.iter().position(|d| *d == s.day).unwrap_or(7),
                    minutes(&s.start),
                )
            });
            Ok(Profile {
                display_name,
                time_zone,
                languages,
                skills,
                availability,
                max_concurrent_chats,
                accessibility,
            })
        }
        _ => Err(errors),
    }
}

/// Hours a week the agent offers.
pub fn weekly_hours(slots: &[WeeklySlot]) -> f64 {
    slots
        .iter()
        .filter_map(|s| Some(f64::from(minutes(&s.end)?.saturating_sub(minutes(&s.start)?)) / 60.0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input() -> ProfileInput {
        ProfileInput {
            display_name: "Wang Fang".into(),
            time_zone: "Asia/Shanghai".into(),
            languages: vec!["zh".into(), "en".into()],
            skills: vec!["general".into()],
            availability: vec![
                WeeklySlot {
                    day: "tue".into(),
                    start: "19:00".into(),
                    end: "21:30".into(),
                },
                WeeklySlot {
                    day: "mon".into(),
                    start: "09:00".into(),
                    end: "11:00".into(),
                },
            ],
            max_concurrent_chats: 3,
            accessibility: vec!["keyboard_only".into(), "screen_reader".into()],
        }
    }

    #[test]
    fn a_good_profile_is_kept_in_order() {
        let p = parse(&input(), &["general", "pre_sale"]).unwrap();
        assert_eq!(p.availability[0].day, "mon", "sorted by day");
        assert_eq!(weekly_hours(&p.availability), 4.5);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut bad = input();
        bad.languages = vec!["klingon".into()];
        bad.skills = vec!["telepathy".into()];
        bad.max_concurrent_chats = 7;
        bad.accessibility = vec!["x".into()];
        bad.availability = vec![
            WeeklySlot {
                day: "mon".into(),
                start: "09:00".into(),
                end: "11:00".into(),
            },
            WeeklySlot {
                day: "mon".into(),
                start: "10:30".into(),
                end: "12:00".into(),
            },
            WeeklySlot {
                day: "someday".into(),
                start: "09:00".into(),
                end: "10:00".into(),
            },
            WeeklySlot {
                day: "wed".into(),
                start: "09:15".into(),
                end: "10:00".into(),
            },
            WeeklySlot {
                day: "thu".into(),
                start: "12:00".into(),
                end: "10:00".into(),
            },
        ];
        let err = parse(&bad, &["general"]).unwrap_err().finish().unwrap_err();
        let crate::error::AppError::Validation(fields) = err else {
            panic!()
        };
        let got: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f.field.as_str(), f.code.as_str()))
            .collect();
        for expected in [
            ("languages", "unknown_value"),
            ("skills", "unknown_value"),
            ("max_concurrent_chats", "out_of_range"),
            ("accessibility", "unknown_value"),
            ("availability[1]", "overlapping"),
            ("availability[2].day", "unknown_value"),
            ("availability[3].start", "invalid_time"),
            ("availability[4].end", "hours_reversed"),
        ] {
            assert!(got.contains(&expected), "{expected:?} missing from {got:?}");
        }
    }

    #[test]
    fn at_least_one_language() {
        let mut bad = input();
        bad.languages.clear();
        assert!(parse(&bad, &["general"]).is_err());
    }

    proptest! {
        #[test]
        fn accepted_availability_never_overlaps(raw in proptest::collection::vec((0usize..7, 0u32..48, 1u32..8), 0..20)) {
            let slots: Vec<WeeklySlot> = raw
                .iter()
                .map(|(d, start, len)| {
                    let end = (start + len).min(48);
                    WeeklySlot {
                        day: DAYS[*d].into(),
                        start: format!("{:02}:{:02}", start / 2, start % 2 * 30),
                        end: format!("{:02}:{:02}", end / 2, end % 2 * 30),
                    }
                })
                .collect();
            let mut p = input();
            p.availability = slots;
            if let Ok(profile) = parse(&p, &["general"]) {
                for (i, a) in profile.availability.iter().enumerate() {
                    for b in &profile.availability[i + 1..] {
                        let overlap = a.day == b.day
                            && minutes(&a.start) < minutes(&b.end)
                            && minutes(&b.start) < minutes(&a.end);
                        prop_assert!(!overlap, "{a:?} overlaps {b:?}");
                    }
                }
                prop_assert!(weekly_hours(&profile.availability) <= 7.0 * 24.0);
            }
        }
    }
}
