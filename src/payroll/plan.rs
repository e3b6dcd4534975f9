//! The pay plan (`seat-rules/pay.toml`): how an agent's work becomes pay.
//!
//! Each skill has an hourly base (`agent_hourly_fen` in `skills.toml`): what an agent earns
//! for an hour at quality multiplier 1.0 when they handle the plan's norm workload. The
//! base is split in two:
//! - the **time part**, `1 - piece_rate_share` of the base, paid for every hour checked in;
//! - the **piece part**, `piece_rate_share` of the base, paid per chat: one *standard chat*
//!   is worth `base × share / norm_chats_per_hour`, and each chat kind counts as a number of
//!   standard chats (a complaint more than a pre-sale question), plus a little for each chat
//!   handled while already holding another. The piece part is scaled by the agent's quality
//!   multiplier (the band their quality score falls in).
//!
//! So an agent at the norm with quality multiplier 1.0 earns exactly the base, a share of it
//! by the piece; doing more good work pays more, and sloppy speed is scaled down.
//! Bonuses (peak-period hours; urgent shifts, at the bonus each shift promised when it was
//! posted, see `shifts.toml`) and deductions (no-shows) are lines of their own. Every amount is computed exactly and rounded once, per line, by the plan's rule.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::seats::rules::Report;

/// The chat kinds the piece rate distinguishes, in payslip order.
pub const CHAT_KINDS: [&str; 3] = ["pre_sale", "after_sale", "complaint"];

/// How long one payroll run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayPeriod {
    /// Monday to Sunday.
    Weekly,
    /// The 1st to the 15th, and the 16th to the month's end.
    SemiMonthly,
    Monthly,
}

impl PayPeriod {
    pub fn parse(s: &str) -> Option<PayPeriod> {
        match s {
            "weekly" => Some(PayPeriod::Weekly),
            "semi_monthly" => Some(PayPeriod::SemiMonthly),
            "monthly" => Some(PayPeriod::Monthly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayPeriod::Weekly => "weekly",
            PayPeriod::SemiMonthly => "semi_monthly",
            PayPeriod::Monthly => "monthly",
        }
    }

    /// The period holding `day`: its first and last day (both included).
    pub fn containing(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            PayPeriod::Weekly => {
                let start = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
                (start, start + Days::new(6))
            }
            PayPeriod::SemiMonthly => {
                let first = day.with_day(1).unwrap_or(day);
                if day.day() <= 15 {
                    (first, first + Days::new(14))
                } else {
                    (first + Days::new(15), last_of_month(day))
                }
            }
            PayPeriod::Monthly => (day.with_day(1).unwrap_or(day), last_of_month(day)),
        }
    }

    /// Whether `first..=last` is exactly one period.
    pub fn is_period(self, first: NaiveDate, last: NaiveDate) -> bool {
        self.containing(first) == (first, last)
    }
}

fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    next.pred_opt().unwrap_or(day)
}

/// How an exact amount becomes whole fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Half a fen and more rounds away from zero.
    HalfUp,
    /// Half a fen rounds to the even fen (banker's rounding).
    HalfEven,
    /// Toward zero: never pay a fraction, never deduct one.
    Down,
}

impl Rounding {
    pub fn parse(s: &str) -> Option<Rounding> {
        match s {
            "half_up" => Some(Rounding::HalfUp),
            "half_even" => Some(Rounding::HalfEven),
            "down" => Some(Rounding::Down),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
            Rounding::Down => "down",
        }
    }

    /// `num / den` in whole fen (`den` > 0), rounded by this rule; the sign is kept and the
    /// rule applies to the magnitude, so a deduction rounds like the payment it mirrors.
    pub fn divide(self, num: i128, den: i128) -> i128 {
        debug_assert!(den > 0);
        let (sign, num) = if num < 0 { (-1, -num) } else { (1, num) };
        let (q, r) = (num / den, num % den);
        let up = match self {
            Rounding::Down => false,
            Rounding::HalfUp => 2 * r >= den,
            Rounding::HalfEven => 2 * r > den || (2 * r == den && q % 2 == 1),
        };
        sign * (q + i128::from(up))
    }
}

/// A quality multiplier band: scores from `min_score` (0-100) up to the next band's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityBand {
    pub min_score: u32,
    pub multiplier_bp: u32,
}

/// The validated pay plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayPlan {
    pub period: PayPeriod,
    pub rounding: Rounding,
    /// Share of the hourly base paid by the piece, in basis points (0-10000).
    pub piece_rate_share_bp: u32,
    /// Standard chats per hour at which the piece part equals its share of the base.
    pub norm_chats_per_hour: u32,
    /// How many standard chats one chat of each kind counts for, in basis points.
    pub chat_kind_bp: BTreeMap<String, u32>,
    /// What a chat taken while already holding another adds, in basis points of a
    /// standard chat.
    pub extra_concurrent_bp: u32,
    /// Highest `min_score` first; the last one starts at 0.
    pub quality_bands: Vec<QualityBand>,
    /// The multiplier for an agent without a quality score for the period.
    pub no_score_multiplier_bp: u32,
    /// Bonus for each hour worked inside a peak period, basis points of the hourly base.
    pub peak_hour_bonus_bp: u32,
    /// Deducted for each no-show, in fen.
    pub no_show_deduction_fen: i64,
}

impl PayPlan {
    /// The quality multiplier for `score` (hundredths of a point, 0-10000), or the plan's
    /// no-score multiplier.
    pub fn quality_multiplier_bp(&self, score_x100: Option<u32>) -> u32 {
        let Some(score) = score_x100 else {
            return self.no_score_multiplier_bp;
        };
        self.quality_bands
            .iter()
            .find(|b| score >= b.min_score * 100)
            .map_or(self.no_score_multiplier_bp, |b| b.multiplier_bp)
    }
}

/// The values the shipped `pay.toml` states, for tests and examples.
impl Default for PayPlan {
    fn default() -> Self {
        PayPlan {
            period: PayPeriod::SemiMonthly,
            rounding: Rounding::HalfUp,
            piece_rate_share_bp: 3000,
            norm_chats_per_hour: 8,
            chat_kind_bp: [
                ("pre_sale", 10_000),
                ("after_sale", 12_000),
                ("complaint", 20_000),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            extra_concurrent_bp: 2_500,
            quality_bands: vec![
                QualityBand {
                    min_score: 95,
                    multiplier_bp: 12_000,
                },
                QualityBand {
                    min_score: 85,
                    multiplier_bp: 10_000,
                },
                QualityBand {
                    min_score: 70,
                    multiplier_bp: 8_000,
                },
                QualityBand {
                    min_score: 0,
                    multiplier_bp: 5_000,
                },
            ],
            no_score_multiplier_bp: 10_000,
            peak_hour_bonus_bp: 2_000,
            no_show_deduction_fen: 2_000,
        }
    }
}

// ----- pay.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    period: Spanned<String>,
    rounding: Spanned<String>,
    piece_rate_share_bp: Spanned<i64>,
    norm_chats_per_hour: Spanned<i64>,
    chat_kinds: Spanned<BTreeMap<String, Spanned<i64>>>,
    extra_concurrent_bp: Spanned<i64>,
    no_score_multiplier_bp: Spanned<i64>,
    peak_hour_bonus_bp: Spanned<i64>,
    no_show_deduction_fen: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    min_score: Spanned<i64>,
    multiplier_bp: Spanned<i64>,
}

/// The largest multiplier or weight accepted (10.0x): anything above is almost surely a
/// typo.
const MAX_BP: i64 = 100_000;
/// The largest bonus or deduction in fen (¥10,000).
const MAX_FEN: i64 = 1_000_000;

/// Reads `pay.toml`, reporting every problem with its line.
pub(crate) fn load(r: &mut Report<'_>) -> Option<PayPlan> {
    let doc = r.document()?;
    let span = doc.span();
    // The bands are read table by table, so one bad band does not hide the next.
    let mut rest = DeTable::new();
    let mut bands = None;
    for (key, value) in doc.into_inner() {
        if key.get_ref() == "quality_band" {
            bands = Some(value);
        } else {
            rest.insert(key, value);
        }
    }
    let raw_bands: Vec<Spanned<RawBand>> = r.tables("quality_band", bands);
    // A band that did not parse is reported already; checks across bands would only echo it.
    let bands_parsed = r.clean();
    let raw: Option<RawPlan> = r.de(Spanned::new(span.clone(), DeValue::Table(rest)));
    let quality_bands = if bands_parsed {
        load_bands(r, &raw_bands)
    } else {
        None
    };
    let raw = raw?;

    let period = PayPeriod::parse(raw.period.get_ref());
    if period.is_none() {
        r.at(
            raw.period.span(),
            format!(
                "`period` must be \"weekly\", \"semi_monthly\" or \"monthly\" (got {:?})",
                raw.period.get_ref()
            ),
        );
    }
    let rounding = Rounding::parse(raw.rounding.get_ref());
    if rounding.is_none() {
        r.at(
            raw.rounding.span(),
            format!(
                "`rounding` must be \"half_up\", \"half_even\" or \"down\" (got {:?})",
                raw.rounding.get_ref()
            ),
        );
    }
    let share = r.int("`piece_rate_share_bp`", &raw.piece_rate_share_bp, 0, 10_000);
    let norm = r.int("`norm_chats_per_hour`", &raw.norm_chats_per_hour, 1, 60);
    let mut chat_kind_bp = BTreeMap::new();
    for kind in CHAT_KINDS {
        if !raw.chat_kinds.get_ref().contains_key(kind) {
            r.at(
                raw.chat_kinds.span(),
                format!("`chat_kinds` must give `{kind}` (every chat kind needs a weight)"),
            );
        }
    }
    for (kind, weight) in raw.chat_kinds.get_ref() {
        if !CHAT_KINDS.contains(&kind.as_str()) {
            r.at(
                weight.span(),
                format!(
                    "unknown chat kind `{kind}`, expected {}",
                    CHAT_KINDS.map(|k| format!("`{k}`")).join(", ")
                ),
            );
            continue;
        }
        if let Some(w) = r.int(&format!("`chat_kinds.{kind}`"), weight, 1, MAX_BP) {
            chat_kind_bp.insert(kind.clone(), w);
        }
    }
    let extra = r.int("`extra_concurrent_bp`", &raw.extra_concurrent_bp, 0, MAX_BP);
    let no_score = r.int(
        "`no_score_multiplier_bp`",
        &raw.no_score_multiplier_bp,
        0,
        MAX_BP,
    );
    let peak = r.int("`peak_hour_bonus_bp`", &raw.peak_hour_bonus_bp, 0, MAX_BP);
    let no_show = r.int(
        "`no_show_deduction_fen`",
        &raw.no_show_deduction_fen,
        0,
        MAX_FEN,
    );
    if chat_kind_bp.len() != CHAT_KINDS.len() {
        return None;
    }
    Some(PayPlan {
        period: period?,
        rounding: rounding?,
        piece_rate_share_bp: share?,
        norm_chats_per_hour: norm?,
        chat_kind_bp,
        extra_concurrent_bp: extra?,
        quality_bands: quality_bands?,
        no_score_multiplier_bp: no_score?,
        peak_hour_bonus_bp: peak?,
        no_show_deduction_fen: no_show?,
    })
}

/// The bands, highest first: scores 0-100, no two starting at the same score, one
/// starting at 0, and a higher band never paying less than a lower one.
fn load_bands(r: &mut Report<'_>, raw: &[Spanned<RawBand>]) -> Option<Vec<QualityBand>> {
    let mut bands: Vec<(QualityBand, std::ops::Range<usize>)> = Vec::new();
    for item in raw {
        let b = item.get_ref();
        let min = r.int("quality band `min_score`", &b.min_score, 0, 100);
        let mult = r.int("quality band `multiplier_bp`", &b.multiplier_bp, 0, MAX_BP);
        if let (Some(min_score), Some(multiplier_bp)) = (min, mult) {
            bands.push((
                QualityBand {
                    min_score,
                    multiplier_bp,
                },
                b.min_score.span(),
            ));
        }
    }
    if bands.len() != raw.len() {
        return None;
    }
    if bands.is_empty() {
        r.push(
            None,
            "no quality bands: add [[quality_band]] tables, one with `min_score = 0`",
        );
        return None;
    }
    // Reported at the later of two lines in the file.
    bands.sort_by_key(|(b, _)| std::cmp::Reverse(b.min_score));
    let mut ok = true;
    for pair in bands.windows(2) {
        let ((high, high_span), (low, low_span)) = (&pair[0], &pair[1]);
        let later = if high_span.start > low_span.start {
            high_span.clone()
        } else {
            low_span.clone()
        };
        if high.min_score == low.min_score {
            r.at(
                later,
                format!("two quality bands start at {}", high.min_score),
            );
            ok = false;
        } else if high.multiplier_bp < low.multiplier_bp {
            r.at(
                high_span.clone(),
                format!(
                    "the band from {} pays less ({}) than the band from {} ({}): a better score must never pay less",
                    high.min_score, high.multiplier_bp, low.min_score, low.multiplier_bp
                ),
            );
            ok = false;
        }
    }
    if let Some((lowest, span)) = bands.last()
        && lowest.min_score != 0
    {
        r.at(
            span.clone(),
            format!(
                "no quality band starts at 0 (the lowest starts at {}): every score needs a multiplier",
                lowest.min_score
            ),
        );
        ok = false;
    }
    ok.then(|| bands.into_iter().map(|(b, _)| b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_cover_their_days() {
        assert_eq!(
            PayPeriod::Weekly.containing(d("2026-11-11")),
            (d("2026-11-09"), d("2026-11-15"))
        );
        assert_eq!(
            PayPeriod::SemiMonthly.containing(d("2026-11-15")),
            (d("2026-11-01"), d("2026-11-15"))
        );
        assert_eq!(
            PayPeriod::SemiMonthly.containing(d("2026-02-16")),
            (d("2026-02-16"), d("2026-02-28"))
        );
        assert_eq!(
            PayPeriod::Monthly.containing(d("2028-02-10")),
            (d("2028-02-01"), d("2028-02-29"))
        );
        assert!(PayPeriod::SemiMonthly.is_period(d("2026-11-16"), d("2026-11-30")));
        assert!(!PayPeriod::SemiMonthly.is_period(d("2026-11-16"), d("2026-11-29")));
        assert!(!PayPeriod::Monthly.is_period(d("2026-11-02"), d("2026-11-30")));
    }

    #[test]
    fn rounding_rules_on_halves_and_signs() {
        let cases = [
            (Rounding::HalfUp, 5, 2, 3),
            (Rounding::HalfUp, -5, 2, -3),
            (Rounding::HalfUp, 7, 3, 2),
            (Rounding::HalfEven, 5, 2, 2),
            (Rounding::HalfEven, 7, 2, 4),
            (Rounding::HalfEven, -5, 2, -2),
            (Rounding::Down, 9, 10, 0),
            (Rounding::Down, -19, 10, -1),
        ];
        for (rule, num, den, want) in cases {
            assert_eq!(rule.divide(num, den), want, "{rule:?} {num}/{den}");
        }
    }

    #[test]
    fn quality_bands_pick_the_highest_reached() {
        let plan = PayPlan::default();
        assert_eq!(plan.quality_multiplier_bp(Some(9_500)), 12_000);
        assert_eq!(plan.quality_multiplier_bp(Some(9_499)), 10_000);
        assert_eq!(plan.quality_multiplier_bp(Some(9_100)), 10_000);
        assert_eq!(plan.quality_multiplier_bp(Some(7_000)), 8_000);
        assert_eq!(plan.quality_multiplier_bp(Some(0)), 5_000);
        assert_eq!(plan.quality_multiplier_bp(None), 10_000);
    }

    proptest! {
        #[test]
        fn every_day_is_in_exactly_one_period(offset in 0u64..3_000, which in 0usize..3) {
            let period = [PayPeriod::Weekly, PayPeriod::SemiMonthly, PayPeriod::Monthly][which];
            let day = d("2025-01-01") + Days::new(offset);
            let (first, last) = period.containing(day);
            prop_assert!(first <= day && day <= last);
            prop_assert!(period.is_period(first, last));
            // The next period starts the day after this one ends.
            let next = last.succ_opt().unwrap();
            prop_assert_eq!(period.containing(next).0, next);
        }

        #[test]
        fn rounding_is_within_one_fen_and_down_never_overpays(
            num in -1_000_000_000i128..1_000_000_000, den in 1i128..100_000, which in 0usize..3,
        ) {
            let rule = [Rounding::HalfUp, Rounding::HalfEven, Rounding::Down][which];
            let got = rule.divide(num, den);
            let exact = num as f64 / den as f64;
            prop_assert!((got as f64 - exact).abs() <= 1.0);
            if rule == Rounding::Down {
                prop_assert!((got as f64).abs() <= exact.abs() + 1e-9);
            } else {
                prop_assert!((got as f64 - exact).abs() <= 0.5 + 1e-9);
            }
        }
    }
}
