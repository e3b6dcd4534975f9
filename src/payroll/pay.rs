//! An agent's pay for one period, line by line: a pure function of their workload and the
//! pay plan ([`super::plan`]).
//!
//! Every line reads *units × rate × multiplier = amount*, and those printed figures are the
//! whole computation, so an agent or an auditor can redo any line by hand:
//! 1. a rate is derived from the plan and rounded to a thousandth of a fen (`rate_millifen`);
//! 2. the amount is `units × rate_millifen × multiplier_bp / (1000 × 10000)` (per hour for
//!    lines counted in minutes: divided by 60 too), rounded once to whole fen by the plan's
//!    rounding rule;
//! 3. the total is the sum of the lines.
//!
//! Lines, in payslip order: per skill the time worked, the chats of each kind, the extra
//! concurrent chats and the peak-period bonus; then urgent-shift bonuses; then the agent's
//! level multiplier (`levels.toml`), which multiplies everything so far: one `level` line of
//! *subtotal in fen × ¥0.01 × (multiplier − 1)*; then no-show deductions (negative) and
//! adjustments carried from earlier runs (either sign), which the level does not scale.

use std::collections::BTreeMap;

use super::plan::{CHAT_KINDS, PayPlan};

const FULL_BP: i128 = 10_000;
const MILLI: i128 = 1_000;

/// What an agent did on one skill in the period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SkillWork {
    pub skill: String,
    /// The skill's hourly base (`agent_hourly_fen`).
    pub hourly_base_fen: i64,
    /// Minutes checked in on shifts of this skill.
    pub minutes: i64,
    /// Of those, minutes inside a peak period.
    pub peak_minutes: i64,
    /// Chats handled, by kind.
    pub chats: BTreeMap<String, i64>,
    /// Chats accepted while already holding another.
    pub extra_concurrent: i64,
}

/// A correction carried into this run (a dispute settled after approval, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub reason: String,
    pub amount_fen: i64,
}

/// Everything one agent's pay depends on for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub work: Vec<SkillWork>,
    /// The period's quality score in hundredths of a point (0-10000), if any.
    pub quality_score_x100: Option<u32>,
    /// The bonus each urgent shift worked had promised, in fen.
    pub urgent_bonuses_fen: Vec<i64>,
    pub no_shows: i64,
    pub adjustments: Vec<Adjustment>,
    /// The agent's level pay multiplier (basis points, 10000 = ×1.0).
    pub level_multiplier_bp: u32,
}

impl Default for Workload {
    /// No work, at the level multiplier ×1.0.
    fn default() -> Self {
        Workload {
            work: Vec::new(),
            quality_score_x100: None,
            urgent_bonuses_fen: Vec::new(),
            no_shows: 0,
            adjustments: Vec::new(),
            level_multiplier_bp: FULL_BP as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    Time,
    Piece,
    Concurrency,
    PeakBonus,
    UrgentBonus,
    Level,
    NoShow,
    Adjustment,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Time => "time",
            LineKind::Piece => "piece",
            LineKind::Concurrency => "concurrency",
            LineKind::PeakBonus => "peak_bonus",
            LineKind::UrgentBonus => "urgent_bonus",
            LineKind::Level => "level",
            LineKind::NoShow => "no_show",
            LineKind::Adjustment => "adjustment",
        }
    }

    /// Lines counted in minutes with an hourly rate.
    pub fn per_hour(self) -> bool {
        matches!(self, LineKind::Time | LineKind::PeakBonus)
    }

    /// Lines that may be negative (a `level` line only below ×1.0, which no shipped level
    /// has).
    pub fn may_deduct(self) -> bool {
        matches!(self, LineKind::NoShow | LineKind::Adjustment)
    }

    pub fn parse(s: &str) -> Option<LineKind> {
        [
            LineKind::Time,
            LineKind::Piece,
            LineKind::Concurrency,
            LineKind::PeakBonus,
            LineKind::UrgentBonus,
            LineKind::Level,
            LineKind::NoShow,
            LineKind::Adjustment,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One explained amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayLine {
    pub kind: LineKind,
    pub skill: Option<String>,
    /// The chat kind of a piece line.
    pub chat_kind: Option<String>,
    /// Minutes for hourly lines; chats, shifts or 1 otherwise.
    pub units: i64,
    /// Thousandths of a fen per unit (per hour for hourly lines).
    pub rate_millifen: i64,
    pub multiplier_bp: u32,
    pub amount_fen: i64,
    /// A free-text reason (adjustments).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payslip {
    pub quality_multiplier_bp: u32,
    pub lines: Vec<PayLine>,
    pub total_fen: i64,
}

impl Payslip {
    /// The piece-rate part: chats and concurrency lines.
    pub fn piece_fen(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Piece | LineKind::Concurrency))
            .map(|l| l.amount_fen)
            .sum()
    }
}

/// `base × share / norm` in thousandths of a fen, scaled by `weight_bp`.
fn piece_rate_millifen(plan: &PayPlan, base_fen: i64, weight_bp: u32) -> i64 {
    let num =
        i128::from(base_fen) * i128::from(plan.piece_rate_share_bp) * i128::from(weight_bp) * MILLI;
    let den = FULL_BP * FULL_BP * i128::from(plan.norm_chats_per_hour.max(1));
    to_i64(plan.rounding.divide(num, den))
}

fn bp_of_millifen(plan: &PayPlan, fen: i64, bp: u32) -> i64 {
    to_i64(
        plan.rounding
            .divide(i128::from(fen) * i128::from(bp) * MILLI, FULL_BP),
    )
}

fn to_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

struct Lines<'a> {
    plan: &'a PayPlan,
    lines: Vec<PayLine>,
}

impl Lines<'_> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        kind: LineKind,
        skill: Option<&str>,
        chat_kind: Option<&str>,
        units: i64,
        rate_millifen: i64,
        multiplier_bp: u32,
        note: Option<String>,
    ) {
        if units == 0 {
            return;
        }
        let per = if kind.per_hour() { 60 } else { 1 };
        let amount = self.plan.rounding.divide(
            i128::from(units) * i128::from(rate_millifen) * i128::from(multiplier_bp),
            MILLI * FULL_BP * per,
        );
        self.lines.push(PayLine {
            kind,
            skill: skill.map(str::to_owned),
            chat_kind: chat_kind.map(str::to_owned),
            units,
            rate_millifen,
            multiplier_bp,
            amount_fen: to_i64(amount),
            note,
        });
    }
}

/// The payslip for `workload` under `plan`.
pub fn payslip(plan: &PayPlan, workload: &Workload) -> Payslip {
    let quality = plan.quality_multiplier_bp(workload.quality_score_x100);
    let mut out = Lines {
        plan,
        lines: Vec::new(),
    };
    let mut work: Vec<&SkillWork> = workload.work.iter().collect();
    work.sort_by(|a, b| a.skill.cmp(&b.skill));
    for w in work {
        let skill = Some(w.skill.as_str());
        let time_rate = bp_of_millifen(
            plan,
            w.hourly_base_fen,
            (FULL_BP as u32).saturating_sub(plan.piece_rate_share_bp),
        );
        out.add(
            LineKind::Time,
            skill,
            None,
            w.minutes,
            time_rate,
            FULL_BP as u32,
            None,
        );
        // Known kinds in their order, then any other kind the data names, alphabetically.
        let mut kinds: Vec<&str> = CHAT_KINDS.to_vec();
        kinds.extend(
            w.chats
                .keys()
                .map(String::as_str)
                .filter(|k| !CHAT_KINDS.contains(k)),
        );
        for kind in kinds {
            let count = w.chats.get(kind).copied().unwrap_or(0);
            let weight = plan
                .chat_kind_bp
                .get(kind)
                .copied()
                .unwrap_or(FULL_BP as u32);
            let rate = piece_rate_millifen(plan, w.hourly_base_fen, weight);
            out.add(
                LineKind::Piece,
                skill,
                Some(kind),
                count,
                rate,
                quality,
                None,
            );
        }
        let extra_rate = piece_rate_millifen(plan, w.hourly_base_fen, plan.extra_concurrent_bp);
        out.add(
            LineKind::Concurrency,
            skill,
            None,
            w.extra_concurrent,
            extra_rate,
            quality,
            None,
        );
        let peak_rate = bp_of_millifen(plan, w.hourly_base_fen, plan.peak_hour_bonus_bp);
        out.add(
            LineKind::PeakBonus,
            skill,
            None,
            w.peak_minutes,
            peak_rate,
            FULL_BP as u32,
            None,
        );
    }
    // One line per promised amount, largest first.
    let mut urgent: BTreeMap<std::cmp::Reverse<i64>, i64> = BTreeMap::new();
    for bonus in &workload.urgent_bonuses_fen {
        *urgent.entry(std::cmp::Reverse(*bonus)).or_default() += 1;
    }
    for (std::cmp::Reverse(bonus), shifts) in urgent {
        if bonus == 0 {
            continue;
        }
        out.add(
            LineKind::UrgentBonus,
            None,
            None,
            shifts,
            bonus.saturating_mul(1_000),
            FULL_BP as u32,
            None,
        );
    }
    // The level scales everything before deductions: one line on the subtotal, a fen at a
    // time, at the multiplier's excess over ×1.0 (or, below ×1.0, its shortfall, negative).
    let subtotal: i64 = out.lines.iter().map(|l| l.amount_fen).sum();
    let level = workload.level_multiplier_bp;
    let (fen_rate, level_bp) = if level >= FULL_BP as u32 {
        (1_000, level - FULL_BP as u32)
    } else {
        (-1_000, FULL_BP as u32 - level)
    };
    if level_bp != 0 {
        out.add(
            LineKind::Level,
            None,
            None,
            subtotal,
            fen_rate,
            level_bp,
            None,
        );
    }
    out.add(
        LineKind::NoShow,
        None,
        None,
        workload.no_shows,
        plan.no_show_deduction_fen.saturating_mul(-1_000),
        FULL_BP as u32,
        None,
    );
    for adj in &workload.adjustments {
        out.add(
            LineKind::Adjustment,
            None,
            None,
            1,
            adj.amount_fen.saturating_mul(1_000),
            FULL_BP as u32,
            Some(adj.reason.clone()),
        );
    }
    let total_fen = out.lines.iter().map(|l| l.amount_fen).sum();
    Payslip {
        quality_multiplier_bp: quality,
        lines: out.lines,
        total_fen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chats(pre: i64, after: i64, complaint: i64) -> BTreeMap<String, i64> {
        [
            ("pre_sale", pre),
            ("after_sale", after),
            ("complaint", complaint),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The worked example of the docs (README "Pay"): 40 hours of general service at
    /// ¥24.00 an hour, 320 chats (200 pre-sale, 100 after-sale, 20 complaints), quality
    /// 91 (band 85-95, ×1.0).
    #[test]
    fn the_worked_example_pays_exactly_this() {
        let workload = Workload {
            work: vec![SkillWork {
                skill: "general".into(),
                hourly_base_fen: 2400,
                minutes: 40 * 60,
                chats: chats(200, 100, 20),
                ..SkillWork::default()
            }],
            quality_score_x100: Some(9_100),
            ..Workload::default()
        };
        let slip = payslip(&PayPlan::default(), &workload);
        type Row<'a> = (&'a str, Option<&'a str>, i64, i64, u32, i64);
        let lines: Vec<Row<'_>> = slip
            .lines
            .iter()
            .map(|l| {
                (
                    l.kind.as_str(),
                    l.chat_kind.as_deref(),
                    l.units,
                    l.rate_millifen,
                    l.multiplier_bp,
                    l.amount_fen,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                // 40 h × ¥16.80 (70% of ¥24.00)
                ("time", None, 2400, 1_680_000, 10_000, 67_200),
                // a standard chat: ¥24.00 × 30% / 8 = ¥0.90
                ("piece", Some("pre_sale"), 200, 90_000, 10_000, 18_000),
                ("piece", Some("after_sale"), 100, 108_000, 10_000, 10_800),
                ("piece", Some("complaint"), 20, 180_000, 10_000, 3_600),
            ]
        );
        assert_eq!(slip.quality_multiplier_bp, 10_000);
        assert_eq!(slip.total_fen, 99_600);
        assert_eq!(slip.piece_fen(), 32_400);
    }

    #[test]
    fn bonuses_deductions_and_adjustments_are_lines_of_their_own() {
        let workload = Workload {
            work: vec![SkillWork {
                skill: "pre_sale".into(),
                hourly_base_fen: 2800,
                minutes: 90,
                peak_minutes: 30,
                chats: chats(10, 0, 0),
                extra_concurrent: 4,
            }],
            quality_score_x100: Some(9_600),
            urgent_bonuses_fen: vec![3_000],
            no_shows: 2,
            adjustments: vec![Adjustment {
                reason: "dispute #12: 3 chats missed".into(),
                amount_fen: 315,
            }],
            level_multiplier_bp: 10_000,
        };
        let slip = payslip(&PayPlan::default(), &workload);
        let by_kind: Vec<(&str, i64)> = slip
            .lines
            .iter()
            .map(|l| (l.kind.as_str(), l.amount_fen))
            .collect();
        assert_eq!(
            by_kind,
            [
                ("time", 2_940),      // 1.5 h × ¥19.60
                ("piece", 1_260),     // 10 × ¥1.05 × 1.2
                ("concurrency", 126), // 4 × ¥0.2625 × 1.2 = ¥1.26
                ("peak_bonus", 280),  // 0.5 h × ¥5.60
                ("urgent_bonus", 3_000),
                ("no_show", -4_000),
                ("adjustment", 315),
            ]
        );
        assert_eq!(
            slip.total_fen,
            2_940 + 1_260 + 126 + 280 + 3_000 - 4_000 + 315
        );
        assert_eq!(
            slip.lines[6].note.as_deref(),
            Some("dispute #12: 3 chats missed")
        );
    }

    /// levels.toml: the level multiplies the whole payslip before deductions, as a line
    /// of its own on the subtotal.
    #[test]
    fn the_level_scales_everything_before_deductions() {
        let workload = Workload {
            work: vec![SkillWork {
                skill: "general".into(),
                hourly_base_fen: 2400,
                minutes: 40 * 60,
                chats: chats(200, 100, 20),
                ..SkillWork::default()
            }],
            quality_score_x100: Some(9_100),
            urgent_bonuses_fen: vec![1_000],
            no_shows: 1,
            adjustments: vec![Adjustment {
                reason: "correction".into(),
                amount_fen: -500,
            }],
            level_multiplier_bp: 10_500,
        };
        let slip = payslip(&PayPlan::default(), &workload);
        let level = slip
            .lines
            .iter()
            .find(|l| l.kind == LineKind::Level)
            .expect("a level line");
        // (¥996.00 + ¥10.00 urgent) × 0.05
        assert_eq!(
            (level.units, level.rate_millifen, level.multiplier_bp),
            (100_600, 1_000, 500)
        );
        assert_eq!(level.amount_fen, 5_030);
        assert_eq!(slip.total_fen, 100_600 + 5_030 - 2_000 - 500);
        let kinds: Vec<&str> = slip.lines.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(
            &kinds[4..],
            ["urgent_bonus", "level", "no_show", "adjustment"]
        );
    }

    #[test]
    fn the_level_at_one_adds_no_line() {
        let workload = Workload {
            work: vec![SkillWork {
                skill: "general".into(),
                hourly_base_fen: 2400,
                minutes: 60,
                ..SkillWork::default()
            }],
            ..Workload::default()
        };
        let slip = payslip(&PayPlan::default(), &workload);
        assert!(slip.lines.iter().all(|l| l.kind != LineKind::Level));
        assert_eq!(slip.total_fen, 1_680);
    }

    #[test]
    fn line_kinds_round_trip() {
        for kind in ["time", "piece", "level", "no_show", "adjustment"] {
            assert_eq!(LineKind::parse(kind).map(LineKind::as_str), Some(kind));
        }
        assert_eq!(LineKind::parse("bonus"), None);
    }

    #[test]
    fn no_work_is_an_empty_payslip() {
        let slip = payslip(&PayPlan::default(), &Workload::default());
        assert!(slip.lines.is_empty());
        assert_eq!(slip.total_fen, 0);
    }

    #[test]
    fn without_a_score_the_plan_s_default_multiplier_applies() {
        let plan = PayPlan {
            no_score_multiplier_bp: 9_000,
            ..PayPlan::default()
        };
        let workload = Workload {
            work: vec![SkillWork {
                skill: "general".into(),
                hourly_base_fen: 2400,
                chats: chats(10, 0, 0),
                ..SkillWork::default()
            }],
            ..Workload::default()
        };
        let slip = payslip(&plan, &workload);
        assert_eq!(slip.quality_multiplier_bp, 9_000);
        assert_eq!(slip.total_fen, 810); // 10 × ¥0.90 × 0.9
    }

    fn workload_strategy() -> impl Strategy<Value = Workload> {
        let work = (
            prop::sample::select(vec!["general", "pre_sale", "after_sale"]),
            1_000i64..10_000,
            0i64..20_000,
            0i64..3_000,
            0i64..2_000,
            0i64..500,
            0i64..200,
            0i64..1_000,
        )
            .prop_map(
                |(skill, base, minutes, pre, after, complaint, peak, extra)| SkillWork {
                    skill: skill.into(),
                    hourly_base_fen: base,
                    minutes,
                    peak_minutes: peak.min(minutes),
                    chats: chats(pre, after, complaint),
                    extra_concurrent: extra,
                },
            );
        (
            prop::collection::vec(work, 0..4),
            prop::option::of(0u32..=10_000),
            prop::collection::vec(0i64..10_000, 0..5),
            0i64..5,
            prop::collection::vec(-50_000i64..50_000, 0..3),
            10_000u32..=15_000,
        )
            .prop_map(
                |(work, score, urgent, no_shows, adjustments, level)| Workload {
                    work,
                    quality_score_x100: score,
                    urgent_bonuses_fen: urgent,
                    no_shows,
                    adjustments: adjustments
                        .into_iter()
                        .map(|amount_fen| Adjustment {
                            reason: "correction".into(),
                            amount_fen,
                        })
                        .collect(),
                    level_multiplier_bp: level,
                },
            )
    }

    fn plan_strategy() -> impl Strategy<Value = PayPlan> {
        (0u32..=10_000, 1u32..=60, 0usize..3).prop_map(|(share, norm, rounding)| PayPlan {
            piece_rate_share_bp: share,
            norm_chats_per_hour: norm,
            rounding: [
                super::super::plan::Rounding::HalfUp,
                super::super::plan::Rounding::HalfEven,
                super::super::plan::Rounding::Down,
            ][rounding],
            ..PayPlan::default()
        })
    }

    proptest! {
        #[test]
        fn lines_add_up_and_only_deductions_are_negative(
            plan in plan_strategy(), workload in workload_strategy(),
        ) {
            let slip = payslip(&plan, &workload);
            prop_assert_eq!(slip.total_fen, slip.lines.iter().map(|l| l.amount_fen).sum::<i64>());
            for line in &slip.lines {
                prop_assert!(line.amount_fen >= 0 || line.kind.may_deduct(), "{:?}", line);
                prop_assert!(line.units != 0);
            }
            let urgent: i64 = slip.lines.iter().filter(|l| l.kind == LineKind::UrgentBonus).map(|l| l.amount_fen).sum();
            // The level line is the subtotal before deductions times the excess multiplier.
            let before: i64 = slip.lines.iter()
                .take_while(|l| !matches!(l.kind, LineKind::Level | LineKind::NoShow | LineKind::Adjustment))
                .map(|l| l.amount_fen).sum();
            let level: i64 = slip.lines.iter().filter(|l| l.kind == LineKind::Level).map(|l| l.amount_fen).sum();
            let exact = before * i64::from(workload.level_multiplier_bp - 10_000);
            prop_assert!((level * 10_000 - exact).abs() <= 10_000, "level {} exact {}", level, exact);
            prop_assert_eq!(urgent, workload.urgent_bonuses_fen.iter().sum::<i64>());
            // The same workload always gives the same payslip.
            prop_assert_eq!(payslip(&plan, &workload), slip);
        }

        #[test]
        fn at_the_norm_with_multiplier_one_the_piece_share_is_the_plan_s(
            plan in plan_strategy(),
            base in 1_000i64..10_000,
            hours in 1i64..200,
            mix in 0usize..3,
        ) {
            // Norm workload: norm_chats_per_hour standard chats for every hour, all of one
            // kind, counted so the standard-chat total is exactly the norm.
            let norm = i64::from(plan.norm_chats_per_hour) * hours;
            let (kind, weight) = [("pre_sale", 1), ("complaint", 2), ("pre_sale", 1)][mix];
            if norm % weight != 0 {
                return Ok(());
            }
            let mut c = BTreeMap::new();
            c.insert(kind.to_owned(), norm / weight);
            let workload = Workload {
                work: vec![SkillWork {
                    skill: "general".into(),
                    hourly_base_fen: base,
                    minutes: hours * 60,
                    chats: c,
                    ..SkillWork::default()
                }],
                quality_score_x100: Some(9_000), // band ×1.0
                ..Workload::default()
            };
            let slip = payslip(&plan, &workload);
            prop_assert_eq!(slip.quality_multiplier_bp, 10_000);
            let expected_piece = base * i64::from(plan.piece_rate_share_bp) * hours / 10_000;
            // Rounding: the rate to 0.001 fen per chat, then one fen per line.
            let slack = norm / 1_000 + 2;
            prop_assert!((slip.piece_fen() - expected_piece).abs() <= slack,
                "piece {} expected {} (slack {})", slip.piece_fen(), expected_piece, slack);
            prop_assert!((slip.total_fen - base * hours).abs() <= slack + 1,
                "total {} expected {}", slip.total_fen, base * hours);
        }

        #[test]
        fn a_level_below_one_is_the_only_negative_level_line(
            workload in workload_strategy(), level in 1u32..10_000,
        ) {
            let workload = Workload { level_multiplier_bp: level, ..workload };
            let slip = payslip(&PayPlan::default(), &workload);
            prop_assert_eq!(slip.total_fen, slip.lines.iter().map(|l| l.amount_fen).sum::<i64>());
            for line in slip.lines.iter().filter(|l| l.kind == LineKind::Level) {
                prop_assert!(line.amount_fen <= 0);
                prop_assert_eq!(line.rate_millifen, -1_000);
            }
        }

        #[test]
        fn more_chats_never_pay_less(
            workload in workload_strategy(), extra in 1i64..100,
        ) {
            let plan = PayPlan::default();
            let before = payslip(&plan, &workload).total_fen;
            let mut more = workload.clone();
            if let Some(w) = more.work.first_mut() {
                *w.chats.entry("after_sale".into()).or_default() += extra;
                prop_assert!(payslip(&plan, &more).total_fen > before);
            }
        }
    }
}
