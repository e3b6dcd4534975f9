//! Agent levels (`seat-rules/levels.toml`): what a level grants (the most concurrent chats
//! the router may give, early access to new shifts, a pay multiplier) and the monthly
//! recomputation that promotes or demotes an agent one step at a time (pure).
//!
//! Each month an agent:
//! - **moves up one level** when the month meets every threshold of the next level:
//!   quality score at least `min_quality`, adherence (the share of claimed shift time they
//!   actually worked) at least `min_adherence_bp`, and at least `min_hours` worked;
//! - **moves down one level** when the month's quality falls below their level's
//!   `keep_quality`, or adherence below `keep_adherence_bp` (kept below the thresholds to
//!   reach the level, so a level is not lost for one point) — except in the grace months
//!   after certification, and never below the first level;
//! - otherwise keeps their level. A month without a quality score or without claimed
//!   shifts neither promotes (nothing shows the next level is met) nor demotes on that
//!   measure.

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::seats::rules::Report;

/// One level of the ladder: what reaching and keeping it asks, and what it grants.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Level {
    pub number: u32,
    pub name_en: String,
    pub name_zh: String,
    /// To reach this level: quality score (0-100), adherence (basis points), hours a month.
    pub min_quality: u32,
    pub min_adherence_bp: u32,
    pub min_hours: u32,
    /// To keep it: a month below either moves the agent down one level.
    pub keep_quality: u32,
    pub keep_adherence_bp: u32,
    /// What it grants.
    pub max_concurrent_chats: u32,
    pub early_access: bool,
    pub pay_multiplier_bp: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels {
    /// Months after certification in which an agent is not demoted.
    pub grace_months: u32,
    /// By number, from 1 without gaps.
    pub levels: Vec<Level>,
}

/// The most levels a ladder may have.
pub const MAX_LEVELS: usize = 20;

/// The most concurrent chats each level allows, by level number: a small copyable value
/// the router carries with the chat rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatCaps {
    caps: [u8; MAX_LEVELS],
    len: usize,
}

impl ChatCaps {
    pub fn of(levels: &Levels) -> Self {
        let mut caps = [0u8; MAX_LEVELS];
        let len = levels.levels.len().min(MAX_LEVELS);
        for (cap, level) in caps.iter_mut().zip(&levels.levels) {
            *cap = u8::try_from(level.max_concurrent_chats).unwrap_or(u8::MAX);
        }
        ChatCaps { caps, len }
    }

    /// The cap of `level`; an unknown level has the lowest level's.
    pub fn cap(&self, level: i32) -> u32 {
        let i = usize::try_from(level.saturating_sub(1))
            .ok()
            .filter(|i| *i < self.len)
            .unwrap_or(0);
        u32::from(self.caps[i])
    }
}

impl Default for ChatCaps {
    /// The shipped `levels.toml`'s.
    fn default() -> Self {
        ChatCaps::of(&Levels::default())
    }
}

impl Level {
    /// The level's name in `locale`.
    pub fn name(&self, locale: crate::accounts::model::Locale) -> &str {
        match locale {
            crate::accounts::model::Locale::ZhCn => &self.name_zh,
            crate::accounts::model::Locale::En => &self.name_en,
        }
    }
}

impl Levels {
    pub fn get(&self, number: u32) -> Option<&Level> {
        number
            .checked_sub(1)
            .and_then(|i| self.levels.get(i as usize))
    }

    pub fn lowest(&self) -> &Level {
        &self.levels[0]
    }

    /// Whether an agent at `level` (as stored) gets early access to new shifts.
    pub fn grants_early_access(&self, level: i32) -> bool {
        u32::try_from(level)
            .ok()
            .and_then(|l| self.get(l))
            .is_some_and(|l| l.early_access)
    }
}

/// An agent's month, as the recomputation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Month {
    /// Quality score in hundredths of a point.
    pub quality_x100: Option<u32>,
    /// Worked share of claimed shift time, basis points; `None` without claimed shifts.
    pub adherence_bp: Option<u32>,
    pub hours: u32,
    pub in_grace: bool,
}

/// Why a level changed (or why it did not move up), for the agent's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Promoted {
        from: u32,
        to: u32,
    },
    Demoted {
        from: u32,
        to: u32,
        because: Vec<Shortfall>,
    },
    Kept {
        level: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// Quality (hundredths) below the level's keep threshold (whole points).
    Quality {
        got_x100: u32,
        keep: u32,
    },
    Adherence {
        got_bp: u32,
        keep_bp: u32,
    },
}

/// The level after `month` for an agent at `current` (an unknown level counts as the
/// lowest).
pub fn recompute(levels: &Levels, current: u32, month: &Month) -> Change {
    let current = levels.get(current).map_or(1, |l| l.number);
    let level = levels.get(current).unwrap_or_else(|| levels.lowest());
    if let Some(next) = levels.get(current + 1) {
        let quality_ok = month
            .quality_x100
            .is_some_and(|q| q >= next.min_quality * 100);
        let adherence_ok = month
            .adherence_bp
            .is_some_and(|a| a >= next.min_adherence_bp);
        if quality_ok && adherence_ok && month.hours >= next.min_hours {
            return Change::Promoted {
                from: current,
                to: next.number,
            };
        }
    }
    if current > 1 && !month.in_grace {
        let mut because = Vec::new();
        if let Some(q) = month.quality_x100
            && q < level.keep_quality * 100
        {
            because.push(Shortfall::Quality {
                got_x100: q,
                keep: level.keep_quality,
            });
        }
        if let Some(a) = month.adherence_bp
            && a < level.keep_adherence_bp
        {
            because.push(Shortfall::Adherence {
                got_bp: a,
                keep_bp: level.keep_adherence_bp,
            });
        }
        if !because.is_empty() {
            return Change::Demoted {
                from: current,
                to: current - 1,
                because,
            };
        }
    }
    Change::Kept { level: current }
}

impl Default for Levels {
    /// The shipped `levels.toml`.
    fn default() -> Self {
        let level = |number, en: &str, zh: &str, q, a, h, kq, ka, chats, early, pay| Level {
            number,
            name_en: en.into(),
            name_zh: zh.into(),
            min_quality: q,
            min_adherence_bp: a,
            min_hours: h,
            keep_quality: kq,
            keep_adherence_bp: ka,
            max_concurrent_chats: chats,
            early_access: early,
            pay_multiplier_bp: pay,
        };
        Levels {
            grace_months: 1,
            levels: vec![
                level(1, "Trainee", "见习", 0, 0, 0, 0, 0, 2, false, 10_000),
                level(
                    2,
                    "Associate",
                    "助理",
                    70,
                    8_000,
                    20,
                    60,
                    7_000,
                    3,
                    false,
                    10_200,
                ),
                level(
                    3, "Agent", "专员", 80, 8_500, 40, 70, 7_500, 4, false, 10_400,
                ),
                level(
                    4, "Senior", "资深", 85, 9_000, 60, 78, 8_000, 5, true, 10_600,
                ),
                level(
                    5, "Expert", "专家", 90, 9_300, 80, 84, 8_500, 6, true, 10_800,
                ),
                level(
                    6, "Master", "金牌", 95, 9_500, 100, 90, 9_000, 8, true, 11_000,
                ),
            ],
        }
    }
}

// ----- levels.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    number: Spanned<i64>,
    name_en: Spanned<String>,
    name_zh: Spanned<String>,
    min_quality: Spanned<i64>,
    min_adherence_bp: Spanned<i64>,
    min_hours: Spanned<i64>,
    keep_quality: Spanned<i64>,
    keep_adherence_bp: Spanned<i64>,
    max_concurrent_chats: Spanned<i64>,
    early_access: bool,
    pay_multiplier_bp: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTop {
    grace_months: Spanned<i64>,
}

/// Reads `levels.toml`, reporting every problem with its line.
pub(crate) fn load(r: &mut Report<'_>) -> Option<Levels> {
    let doc = r.document()?;
    let span = doc.span();
    let mut rest = DeTable::new();
    let mut list = None;
    for (key, value) in doc.into_inner() {
        if key.get_ref() == "level" {
            list = Some(value);
        } else {
            rest.insert(key, value);
        }
    }
    let raw: Vec<Spanned<RawLevel>> = r.tables("level", list);
    let parsed = r.clean();
    let top: Option<RawTop> = r.de(Spanned::new(span, DeValue::Table(rest)));
    let grace = top.and_then(|t| r.int("`grace_months`", &t.grace_months, 0, 12));
    if !parsed {
        return None;
    }
    if raw.is_empty() {
        r.push(None, "no levels: add [[level]] tables numbered from 1");
        return None;
    }
    let mut levels: Vec<(Level, &RawLevel)> = Vec::new();
    for item in &raw {
        let l = item.get_ref();
        let label = format!("level {}:", l.number.get_ref());
        let number = r.int(
            &format!("{label} `number`"),
            &l.number,
            1,
            MAX_LEVELS as i64,
        );
        let name_en = r.text(&format!("{label} `name_en`"), &l.name_en);
        let name_zh = r.text(&format!("{label} `name_zh`"), &l.name_zh);
        let min_q = r.int(&format!("{label} `min_quality`"), &l.min_quality, 0, 100);
        let min_a = r.int(
            &format!("{label} `min_adherence_bp`"),
            &l.min_adherence_bp,
            0,
            10_000,
        );
        let min_h = r.int(&format!("{label} `min_hours`"), &l.min_hours, 0, 744);
        let keep_q = r.int(&format!("{label} `keep_quality`"), &l.keep_quality, 0, 100);
        let keep_a = r.int(
            &format!("{label} `keep_adherence_bp`"),
            &l.keep_adherence_bp,
            0,
            10_000,
        );
        let chats = r.int(
            &format!("{label} `max_concurrent_chats`"),
            &l.max_concurrent_chats,
            1,
            20,
        );
        let pay = r.int(
            &format!("{label} `pay_multiplier_bp`"),
            &l.pay_multiplier_bp,
            1,
            100_000,
        );
        if let (Some(q), Some(k)) = (min_q, keep_q)
            && k > q
        {
            r.at(
                l.keep_quality.span(),
                format!("{label} `keep_quality` ({k}) must be at most `min_quality` ({q})"),
            );
        }
        if let (Some(a), Some(k)) = (min_a, keep_a)
            && k > a
        {
            r.at(
                l.keep_adherence_bp.span(),
                format!(
                    "{label} `keep_adherence_bp` ({k}) must be at most `min_adherence_bp` ({a})"
                ),
            );
        }
        if let (
            Some(number),
            Some(name_en),
            Some(name_zh),
            Some(min_quality),
            Some(min_adherence_bp),
            Some(min_hours),
            Some(keep_quality),
            Some(keep_adherence_bp),
            Some(max_concurrent_chats),
            Some(pay_multiplier_bp),
        ) = (
            number, name_en, name_zh, min_q, min_a, min_h, keep_q, keep_a, chats, pay,
        ) {
            levels.push((
                Level {
                    number,
                    name_en,
                    name_zh,
                    min_quality,
                    min_adherence_bp,
                    min_hours,
                    keep_quality,
                    keep_adherence_bp,
                    max_concurrent_chats,
                    early_access: l.early_access,
                    pay_multiplier_bp,
                },
                l,
            ));
        }
    }
    // A level that did not parse would make the order checks below report gaps that are
    // not there; what did parse is still checked (keep above min, say) in one pass.
    if levels.len() != raw.len() {
        return None;
    }
    levels.sort_by_key(|(l, _)| l.number);
    for (i, (level, raw)) in levels.iter().enumerate() {
        let expected = i as u32 + 1;
        if level.number != expected {
            r.at(
                raw.number.span(),
                format!(
                    "levels must be numbered 1, 2, 3 ... without gaps or repeats: expected {expected} here, got {}",
                    level.number
                ),
            );
            return None;
        }
    }
    for pair in levels.windows(2) {
        let ((low, _), (high, raw)) = (&pair[0], &pair[1]);
        let checks = [
            (
                "min_quality",
                low.min_quality,
                high.min_quality,
                &raw.min_quality,
            ),
            (
                "min_adherence_bp",
                low.min_adherence_bp,
                high.min_adherence_bp,
                &raw.min_adherence_bp,
            ),
            ("min_hours", low.min_hours, high.min_hours, &raw.min_hours),
            (
                "max_concurrent_chats",
                low.max_concurrent_chats,
                high.max_concurrent_chats,
                &raw.max_concurrent_chats,
            ),
            (
                "pay_multiplier_bp",
                low.pay_multiplier_bp,
                high.pay_multiplier_bp,
                &raw.pay_multiplier_bp,
            ),
        ];
        for (key, lower, higher, at) in checks {
            if higher < lower {
                r.at(
                    at.span(),
                    format!(
                        "level {}: `{key}` ({higher}) is below level {}'s ({lower}): a higher level never asks or grants less",
                        high.number, low.number
                    ),
                );
            }
        }
    }
    let first = &levels[0].0;
    if first.min_quality != 0 || first.min_adherence_bp != 0 || first.min_hours != 0 {
        r.at(
            levels[0].1.number.span(),
            "level 1 is where every agent starts: its `min_quality`, `min_adherence_bp` and `min_hours` must be 0",
        );
    }
    if !r.clean() {
        return None;
    }
    Some(Levels {
        grace_months: grace?,
        levels: levels.into_iter().map(|(l, _)| l).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn month(q: Option<u32>, a: Option<u32>, hours: u32) -> Month {
        Month {
            quality_x100: q,
            adherence_bp: a,
            hours,
            in_grace: false,
        }
    }

    #[test]
    fn meeting_every_threshold_of_the_next_level_promotes_one_step() {
        let levels = Levels::default();
        let great = month(Some(9_900), Some(10_000), 200);
        assert_eq!(
            recompute(&levels, 1, &great),
            Change::Promoted { from: 1, to: 2 }
        );
        assert_eq!(
            recompute(&levels, 5, &great),
            Change::Promoted { from: 5, to: 6 }
        );
        assert_eq!(recompute(&levels, 6, &great), Change::Kept { level: 6 });
        // Short on hours for level 4 (60): kept at 3.
        assert_eq!(
            recompute(&levels, 3, &month(Some(9_900), Some(10_000), 59)),
            Change::Kept { level: 3 }
        );
        // No quality score: nothing shows the next level is met.
        assert_eq!(
            recompute(&levels, 1, &month(None, Some(10_000), 200)),
            Change::Kept { level: 1 }
        );
    }

    #[test]
    fn falling_below_the_keep_thresholds_demotes_one_step_with_reasons() {
        let levels = Levels::default();
        let change = recompute(&levels, 4, &month(Some(7_700), Some(7_900), 80));
        assert_eq!(
            change,
            Change::Demoted {
                from: 4,
                to: 3,
                because: vec![
                    Shortfall::Quality {
                        got_x100: 7_700,
                        keep: 78
                    },
                    Shortfall::Adherence {
                        got_bp: 7_900,
                        keep_bp: 8_000
                    },
                ],
            }
        );
        // Between keep (78) and min (85): kept, the hysteresis.
        assert_eq!(
            recompute(&levels, 4, &month(Some(8_000), Some(8_500), 80)),
            Change::Kept { level: 4 }
        );
        // Grace: not demoted; level 1: nothing below.
        let mut graced = month(Some(1_000), Some(0), 1);
        graced.in_grace = true;
        assert_eq!(recompute(&levels, 4, &graced), Change::Kept { level: 4 });
        assert_eq!(
            recompute(&levels, 1, &month(Some(0), Some(0), 0)),
            Change::Kept { level: 1 }
        );
        // An unknown level counts as the lowest.
        assert_eq!(
            recompute(&levels, 0, &month(None, None, 0)),
            Change::Kept { level: 1 }
        );
    }

    #[test]
    fn each_level_caps_concurrent_chats_and_an_unknown_level_has_the_lowest_cap() {
        let caps = ChatCaps::default();
        assert_eq!(
            (1..=6).map(|l| caps.cap(l)).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6, 8]
        );
        assert_eq!(caps.cap(0), 2);
        assert_eq!(caps.cap(7), 2);
        assert_eq!(caps.cap(-3), 2);
    }

    proptest! {
        #[test]
        fn a_month_moves_at_most_one_step_and_only_for_a_reason(
            current in 1u32..=6,
            q in prop::option::of(0u32..=10_000),
            a in prop::option::of(0u32..=10_000),
            hours in 0u32..300,
            in_grace in any::<bool>(),
        ) {
            let levels = Levels::default();
            let m = Month { quality_x100: q, adherence_bp: a, hours, in_grace };
            match recompute(&levels, current, &m) {
                Change::Promoted { from, to } => {
                    prop_assert_eq!((from, to), (current, current + 1));
                    let next = levels.get(to).unwrap();
                    prop_assert!(q.unwrap() >= next.min_quality * 100 && hours >= next.min_hours);
                }
                Change::Demoted { from, to, because } => {
                    prop_assert_eq!((from, to), (current, current - 1));
                    prop_assert!(!in_grace && !because.is_empty());
                }
                Change::Kept { level } => prop_assert_eq!(level, current),
            }
            // A better month never ends lower.
            let better = Month { quality_x100: Some(10_000), adherence_bp: Some(10_000), hours: 300, in_grace };
            let end = |c: Change| match c {
                Change::Promoted { to, .. } | Change::Demoted { to, .. } => to,
                Change::Kept { level } => level,
            };
            prop_assert!(end(recompute(&levels, current, &better)) >= end(recompute(&levels, current, &m)));
        }
    }
}
