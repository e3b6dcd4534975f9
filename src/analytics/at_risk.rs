//! At-risk agents: a transparent score (0-100) from warning signs that an agent is drifting
//! away, each sign with its weight from `seat-rules/at_risk.toml` and a reason an admin can
//! read. The score is the sum of the weights of the signs that fire (the weights add up to
//! 100), so "why 45?" is always answered by the list of reasons.
//!
//! Everything is computed from per-agent **weeks**: 7-day stretches counted back from the
//! start of the current local day in the market's zone, oldest first. The last
//! `recent_weeks` are **recent**; up to `baseline_weeks` before them are the agent's own
//! **baseline**, limited to the full weeks the agent was in the pool. A week holds:
//!
//! - **claimed** shifts (starting in the week) the agent committed to: worked, released
//!   after the free-release cutoff, or missed; a release in time, a swap, a merchant's
//!   cancellation or an upcoming shift is no commitment kept or broken (as in
//!   [`crate::shifts::adherence`]), and **attended** = the worked ones;
//! - **late releases** and **no-shows** among them;
//! - **minutes** worked (checked in, as payroll counts them);
//! - **earnings** in fen: that week's workload priced like a payslip (`pay.toml`), without
//!   adjustments;
//! - the **quality** score of the chats closed in the week (absent with nothing measured).
//!
//! The signs:
//!
//! | sign | fires when |
//! |---|---|
//! | `adherence_falling` | recent attended/claimed is `drop_bp` or more below the baseline's |
//! | `earnings_volatile` | weekly earnings over the weeks in the pool (at least `min_weeks`) vary with a coefficient of variation (population standard deviation / mean) of at least `cv_bp` |
//! | `hours_dropping` | recent minutes per week are `drop_bp` or more below the baseline's |
//! | `incidents_rising` | at least `min_count` late releases and no-shows in the recent weeks, at a higher weekly rate than the baseline's |
//! | `quality_down` | the mean of the recent weekly quality scores is `drop_x100` or more below the baseline's |
//! | `earnings_below_median` | recent earnings are below `share_bp` of the pool's median (agents in the pool for all recent weeks who earned something) |
//! | `no_recent_claims` | in the pool at least `days` days and no shift claimed in the last `days` days |
//! | `disputed_review` | the agent disputed a review in the last `days` days |
//!
//! The trend signs (the first five and the median) need history: a baseline of at least
//! `min_history_weeks` full weeks in the pool (the median: all recent weeks in the pool), so
//! a newly certified agent is never flagged for "falling".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::DeValue;
use utoipa::ToSchema;

use crate::accounts::model::Locale;
use crate::seats::rules::Report;

/// A warning sign.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    AdherenceFalling,
    EarningsVolatile,
    HoursDropping,
    IncidentsRising,
    QualityDown,
    EarningsBelowMedian,
    NoRecentClaims,
    DisputedReview,
}

impl Signal {
    pub const ALL: [Signal; 8] = [
        Signal::AdherenceFalling,
        Signal::EarningsVolatile,
        Signal::HoursDropping,
        Signal::IncidentsRising,
        Signal::QualityDown,
        Signal::EarningsBelowMedian,
        Signal::NoRecentClaims,
        Signal::DisputedReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::AdherenceFalling => "adherence_falling",
            Signal::EarningsVolatile => "earnings_volatile",
            Signal::HoursDropping => "hours_dropping",
            Signal::IncidentsRising => "incidents_rising",
            Signal::QualityDown => "quality_down",
            Signal::EarningsBelowMedian => "earnings_below_median",
            Signal::NoRecentClaims => "no_recent_claims",
            Signal::DisputedReview => "disputed_review",
        }
    }

    fn index(self) -> usize {
        Signal::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// The rules of `seat-rules/at_risk.toml` (see the module notes and the file's comments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtRiskRules {
    pub recent_weeks: u32,
    pub baseline_weeks: u32,
    pub min_history_weeks: u32,
    /// Per sign, in [`Signal::ALL`] order; they add up to 100.
    pub weights: [u32; 8],
    pub adherence_drop_bp: u32,
    pub volatility_cv_bp: u32,
    pub volatility_min_weeks: u32,
    pub hours_drop_bp: u32,
    pub incidents_min_count: u32,
    pub quality_drop_x100: u32,
    pub below_median_share_bp: u32,
    pub no_claim_days: u32,
    pub dispute_days: u32,
}

impl Default for AtRiskRules {
    /// The shipped `at_risk.toml`.
    fn default() -> Self {
        AtRiskRules {
            recent_weeks: 2,
            baseline_weeks: 6,
            min_history_weeks: 2,
            weights: [20, 10, 15, 15, 10, 10, 15, 5],
            adherence_drop_bp: 1_500,
            volatility_cv_bp: 5_000,
            volatility_min_weeks: 4,
            hours_drop_bp: 3_000,
            incidents_min_count: 2,
            quality_drop_x100: 1_000,
            below_median_share_bp: 5_000,
            no_claim_days: 14,
            dispute_days: 30,
        }
    }
}

impl AtRiskRules {
    pub fn weight(&self, signal: Signal) -> u32 {
        self.weights[signal.index()]
    }

    /// How many weeks of facts an assessment reads: the baseline, then the recent weeks.
    pub fn weeks(&self) -> u32 {
        self.baseline_weeks + self.recent_weeks
    }
}

/// One week of an agent's work (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Week {
    pub claimed: u32,
    pub attended: u32,
    pub late_releases: u32,
    pub no_shows: u32,
    pub minutes: i64,
    pub earnings_fen: i64,
    pub quality_x100: Option<u32>,
}

/// What an agent is assessed on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentFacts {
    /// [`AtRiskRules::weeks`] weeks, oldest first; fewer are read as empty weeks before
    /// the first one given.
    pub weeks: Vec<Week>,
    /// Full weeks (counted back from the latest) the agent was in the pool.
    pub weeks_in_pool: u32,
    /// Whole days since joining the pool.
    pub days_in_pool: u32,
    /// Whole days since the agent last claimed a shift; `None`: never.
    pub days_since_claim: Option<u32>,
    /// Whole days since the agent's latest review dispute; `None`: never disputed.
    pub days_since_dispute: Option<u32>,
}

impl AgentFacts {
    /// Recent earnings, for the pool median: `None` unless the agent was in the pool for
    /// every recent week.
    pub fn recent_earnings(&self, rules: &AtRiskRules) -> Option<i64> {
        (self.weeks_in_pool >= rules.recent_weeks)
            .then(|| split(self, rules).1.iter().map(|w| w.earnings_fen).sum())
    }
}

/// The median of the recent earnings of the agents who earned something (the lower middle
/// value of an even count, so it is always an amount someone earned); `None` if nobody did.
pub fn pool_median<'a>(
    agents: impl IntoIterator<Item = &'a AgentFacts>,
    rules: &AtRiskRules,
) -> Option<i64> {
    let mut earned: Vec<i64> = agents
        .into_iter()
        .filter_map(|a| a.recent_earnings(rules))
        .filter(|e| *e > 0)
        .collect();
    if earned.is_empty() {
        return None;
    }
    earned.sort_unstable();
    Some(earned[(earned.len() - 1) / 2])
}

/// A sign that fired, with the figures behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub signal: Signal,
    pub weight: u32,
    /// The locale key of the reason (`at_risk.reason_*`).
    pub key: &'static str,
    /// The reason's placeholders.
    pub args: Vec<(&'static str, String)>,
}

impl Fired {
    /// The reason in words.
    pub fn reason(&self, locale: Locale) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::web::i18n::t_with(locale, self.key, &args)
    }
}

/// An agent's score and the signs behind it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assessment {
    /// 0-100: the weights of the fired signs.
    pub score: u32,
    /// In [`Signal::ALL`] order.
    pub fired: Vec<Fired>,
}

/// The score of a set of fired signs: their weights added, at most 100.
pub fn score_of(rules: &AtRiskRules, fired: &[Signal]) -> u32 {
    fired.iter().map(|s| rules.weight(*s)).sum::<u32>().min(100)
}

/// The baseline weeks in the pool and the recent weeks, from the facts.
fn split<'a>(facts: &'a AgentFacts, rules: &AtRiskRules) -> (&'a [Week], &'a [Week]) {
    let recent_n = (rules.recent_weeks as usize).min(facts.weeks.len());
    let (before, recent) = facts.weeks.split_at(facts.weeks.len() - recent_n);
    let baseline_n = (facts.weeks_in_pool.saturating_sub(rules.recent_weeks) as usize)
        .min(rules.baseline_weeks as usize)
        .min(before.len());
    (&before[before.len() - baseline_n..], recent)
}

fn pct(part: u32, whole: u32) -> String {
    if whole == 0 {
        return "0".into();
    }
    ((u64::from(part) * 100 + u64::from(whole) / 2) / u64::from(whole)).to_string()
}

/// Hundredths shown as points with one decimal (`8450` -> `84.5`).
fn points(x100: u64) -> String {
    let tenths = (x100 + 5) / 10;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Minutes shown as hours with one decimal.
fn hours(minutes: i128) -> String {
    let tenths = (minutes.max(0) * 10 + 30) / 60;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Assesses one agent against the pool's median of recent earnings.
pub fn assess(facts: &AgentFacts, pool_median_fen: Option<i64>, rules: &AtRiskRules) -> Assessment {
    let (baseline, recent) = split(facts, rules);
    let history = baseline.len() >= rules.min_history_weeks.max(1) as usize;
    let mut fired = Vec::new();
    let mut fire = |signal: Signal, key: &'static str, args: Vec<(&'static str, String)>| {
        fired.push(Fired {
            signal,
            weight: rules.weight(signal),
            key,
            args,
        })
    };
    let sum = |weeks: &[Week], f: fn(&Week) -> i64| -> i64 { weeks.iter().map(f).sum() };
    let (base_n, recent_n) = (baseline.len() as i128, recent.len() as i128);

    // Commitment adherence: attended / claimed, recent against the baseline.
    let (b_claimed, b_attended) = (
        sum(baseline, |w| w.claimed.into()),
        sum(baseline, |w| w.attended.into()),
    );
    let (r_claimed, r_attended) = (
        sum(recent, |w| w.claimed.into()),
        sum(recent, |w| w.attended.into()),
    );
    if history && b_claimed > 0 && r_claimed > 0 {
        let ratio = |a: i64, c: i64| i128::from(a.clamp(0, c)) * 10_000 / i128::from(c);
        let drop = ratio(b_attended, b_claimed) - ratio(r_attended, r_claimed);
        if drop >= i128::from(rules.adherence_drop_bp) {
            fire(
                Signal::AdherenceFalling,
                "at_risk.reason_adherence_falling",
                vec![
                    ("attended", r_attended.to_string()),
                    ("claimed", r_claimed.to_string()),
                    ("percent", pct(r_attended as u32, r_claimed as u32)),
                    ("weeks", recent.len().to_string()),
                    ("before_attended", b_attended.to_string()),
                    ("before_claimed", b_claimed.to_string()),
                    ("before_percent", pct(b_attended as u32, b_claimed as u32)),
                ],
            );
        }
    }

    // Earnings volatility over the weeks in the pool.
    let in_pool = &facts.weeks[facts
        .weeks
        .len()
        .saturating_sub(facts.weeks_in_pool as usize)..];
    if in_pool.len() >= rules.volatility_min_weeks.max(2) as usize {
        let n = in_pool.len() as f64;
        let mean = in_pool.iter().map(|w| w.earnings_fen as f64).sum::<f64>() / n;
        if mean > 0.0 {
            let var = in_pool
                .iter()
                .map(|w| (w.earnings_fen as f64 - mean).powi(2))
                .sum::<f64>()
                / n;
            let cv_bp = (var.sqrt() / mean * 10_000.0).round();
            if cv_bp >= f64::from(rules.volatility_cv_bp) {
                fire(
                    Signal::EarningsVolatile,
                    "at_risk.reason_earnings_volatile",
                    vec![
                        ("cv", format!("{:.2}", cv_bp / 10_000.0)),
                        ("weeks", in_pool.len().to_string()),
                        ("mean", crate::seats::booking::yuan(mean.round() as i64)),
                    ],
                );
            }
        }
    }

    // Hours: recent minutes per week against the baseline's.
    let (b_minutes, r_minutes) = (
        i128::from(sum(baseline, |w| w.minutes.max(0))),
        i128::from(sum(recent, |w| w.minutes.max(0))),
    );
    if history && b_minutes > 0 && recent_n > 0 {
        // (base/bn - recent/rn) / (base/bn), in basis points.
        let drop_bp = (b_minutes * recent_n - r_minutes * base_n) * 10_000 / (b_minutes * recent_n);
        if drop_bp >= i128::from(rules.hours_drop_bp) {
            fire(
                Signal::HoursDropping,
                "at_risk.reason_hours_dropping",
                vec![
                    ("hours", hours(r_minutes / recent_n)),
                    ("before_hours", hours(b_minutes / base_n)),
                    ("percent", (drop_bp.min(10_000) / 100).to_string()),
                ],
            );
        }
    }

    // Late releases and no-shows: more per week than before.
    let incidents = |w: &Week| i64::from(w.late_releases) + i64::from(w.no_shows);
    let (b_inc, r_inc) = (
        i128::from(sum(baseline, incidents)),
        i128::from(sum(recent, incidents)),
    );
    if history
        && r_inc >= i128::from(rules.incidents_min_count.max(1))
        && r_inc * base_n > b_inc * recent_n
    {
        fire(
            Signal::IncidentsRising,
            "at_risk.reason_incidents_rising",
            vec![
                ("late", sum(recent, |w| w.late_releases.into()).to_string()),
                ("no_shows", sum(recent, |w| w.no_shows.into()).to_string()),
                ("weeks", recent.len().to_string()),
                ("before", b_inc.to_string()),
                ("before_weeks", baseline.len().to_string()),
            ],
        );
    }

    // Quality: the mean weekly score, recent against the baseline.
    let scores = |weeks: &[Week]| -> (u64, u64) {
        weeks
            .iter()
            .filter_map(|w| w.quality_x100)
            .fold((0, 0), |(s, n), q| (s + u64::from(q), n + 1))
    };
    let ((b_sum, b_count), (r_sum, r_count)) = (scores(baseline), scores(recent));
    if history && b_count > 0 && r_count > 0 {
        let (b, r) = (u128::from(b_sum * r_count), u128::from(r_sum * b_count));
        let needed = u128::from(rules.quality_drop_x100) * u128::from(b_count * r_count);
        if b >= r && b - r >= needed.max(1) {
            fire(
                Signal::QualityDown,
                "at_risk.reason_quality_down",
                vec![
                    ("score", points(r_sum / r_count)),
                    ("before", points(b_sum / b_count)),
                ],
            );
        }
    }

    // Earnings against the pool's median.
    if let (Some(mine), Some(median)) = (facts.recent_earnings(rules), pool_median_fen)
        && median > 0
        && i128::from(mine) * 10_000 < i128::from(median) * i128::from(rules.below_median_share_bp)
    {
        fire(
            Signal::EarningsBelowMedian,
            "at_risk.reason_earnings_below_median",
            vec![
                ("earned", crate::seats::booking::yuan(mine)),
                ("median", crate::seats::booking::yuan(median)),
                ("weeks", recent.len().to_string()),
                ("share", (rules.below_median_share_bp / 100).to_string()),
            ],
        );
    }

    // No claims lately.
    let days = rules.no_claim_days;
    if facts.days_in_pool >= days && facts.days_since_claim.is_none_or(|d| d >= days) {
        match facts.days_since_claim {
            Some(d) => fire(
                Signal::NoRecentClaims,
                "at_risk.reason_no_recent_claims",
                vec![("days", d.to_string())],
            ),
            None => fire(
                Signal::NoRecentClaims,
                "at_risk.reason_never_claimed",
                vec![("days", facts.days_in_pool.to_string())],
            ),
        }
    }

    // A disputed review.
    if let Some(d) = facts.days_since_dispute
        && d <= rules.dispute_days
    {
        fire(
            Signal::DisputedReview,
            "at_risk.reason_disputed_review",
            vec![("days", d.to_string())],
        );
    }

    let signals: Vec<Signal> = fired.iter().map(|f| f.signal).collect();
    Assessment {
        score: score_of(rules, &signals),
        fired,
    }
}

/// Every sign's weight by name, for the API's description of the score.
pub fn weights(rules: &AtRiskRules) -> BTreeMap<&'static str, u32> {
    Signal::ALL
        .iter()
        .map(|s| (s.as_str(), rules.weight(*s)))
        .collect()
}

// ----- at_risk.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeighted {
    weight: Spanned<i64>,
    drop_bp: Option<Spanned<i64>>,
    cv_bp: Option<Spanned<i64>>,
    min_weeks: Option<Spanned<i64>>,
    min_count: Option<Spanned<i64>>,
    drop_x100: Option<Spanned<i64>>,
    share_bp: Option<Spanned<i64>>,
    days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAtRisk {
    recent_weeks: Spanned<i64>,
    baseline_weeks: Spanned<i64>,
    min_history_weeks: Spanned<i64>,
    adherence_falling: Spanned<RawWeighted>,
    earnings_volatile: Spanned<RawWeighted>,
    hours_dropping: Spanned<RawWeighted>,
    incidents_rising: Spanned<RawWeighted>,
    quality_down: Spanned<RawWeighted>,
    earnings_below_median: Spanned<RawWeighted>,
    no_recent_claims: Spanned<RawWeighted>,
    disputed_review: Spanned<RawWeighted>,
}

impl RawWeighted {
    /// Every threshold key a table may hold, and its value if this one does.
    fn thresholds(&self) -> [(&'static str, Option<&Spanned<i64>>); 7] {
        [
            ("drop_bp", self.drop_bp.as_ref()),
            ("cv_bp", self.cv_bp.as_ref()),
            ("min_weeks", self.min_weeks.as_ref()),
            ("min_count", self.min_count.as_ref()),
            ("drop_x100", self.drop_x100.as_ref()),
            ("share_bp", self.share_bp.as_ref()),
            ("days", self.days.as_ref()),
        ]
    }
}

/// Each sign's table in `at_risk.toml` (in [`Signal::ALL`] order) with its thresholds and
/// their ranges.
type Spec<'t> = (
    &'static str,
    &'t Spanned<RawWeighted>,
    &'static [(&'static str, i64, i64)],
);

/// Reads `at_risk.toml`, reporting every problem with its line.
pub(crate) fn load(r: &mut Report<'_>) -> Option<AtRiskRules> {
    let doc = r.document()?;
    let span = doc.span();
    let raw: RawAtRisk = r.de(Spanned::new(span, DeValue::Table(doc.into_inner())))?;
    let recent = r.int("`recent_weeks`", &raw.recent_weeks, 1, 8);
    let baseline = r.int("`baseline_weeks`", &raw.baseline_weeks, 1, 26);
    let min_history = r.int("`min_history_weeks`", &raw.min_history_weeks, 1, 26);
    if let (Some(b), Some(m)) = (baseline, min_history)
        && m > b
    {
        r.at(
            raw.min_history_weeks.span(),
            format!("`min_history_weeks` ({m}) must not exceed `baseline_weeks` ({b})"),
        );
    }
    let specs: [Spec<'_>; 8] = [
        (
            "adherence_falling",
            &raw.adherence_falling,
            &[("drop_bp", 1, 10_000)],
        ),
        (
            "earnings_volatile",
            &raw.earnings_volatile,
            &[("cv_bp", 1, 100_000), ("min_weeks", 2, 34)],
        ),
        (
            "hours_dropping",
            &raw.hours_dropping,
            &[("drop_bp", 1, 10_000)],
        ),
        (
            "incidents_rising",
            &raw.incidents_rising,
            &[("min_count", 1, 100)],
        ),
        (
            "quality_down",
            &raw.quality_down,
            &[("drop_x100", 1, 10_000)],
        ),
        (
            "earnings_below_median",
            &raw.earnings_below_median,
            &[("share_bp", 1, 10_000)],
        ),
        (
            "no_recent_claims",
            &raw.no_recent_claims,
            &[("days", 1, 365)],
        ),
        ("disputed_review", &raw.disputed_review, &[("days", 0, 365)]),
    ];
    let mut weights = [0u32; 8];
    let mut weights_ok = true;
    let mut thresholds: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    for (i, (name, table, keys)) in specs.iter().enumerate() {
        match r.int(&format!("`{name}.weight`"), &table.get_ref().weight, 0, 100) {
            Some(w) => weights[i] = w,
            None => weights_ok = false,
        }
        let given = table.get_ref().thresholds();
        for (key, value) in &given {
            if let Some(v) = value
                && !keys.iter().any(|(k, _, _)| k == key)
            {
                let takes: Vec<String> = keys.iter().map(|(k, _, _)| format!("`{k}`")).collect();
                r.at(
                    v.span(),
                    format!(
                        "`{key}` does not apply to `[{name}]`, which takes {}",
                        takes.join(", ")
                    ),
                );
            }
        }
        for (key, min, max) in keys.iter() {
            let value = given.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v);
            match value {
                Some(v) => {
                    if let Some(t) = r.int(&format!("`{name}.{key}`"), v, *min, *max) {
                        thresholds.insert((name, key), t);
                    }
                }
                None => r.at(table.span(), format!("`[{name}]` needs `{key}`")),
            }
        }
    }
    let total: u32 = weights.iter().sum();
    if weights_ok && total != 100 {
        r.at(
            span_of_first_table(&raw),
            format!("the sign weights must add up to 100, they add up to {total}"),
        );
    }
    if !r.clean() {
        return None;
    }
    let t = |name: &str, key: &str| thresholds.get(&(name, key)).copied();
    Some(AtRiskRules {
        recent_weeks: recent?,
        baseline_weeks: baseline?,
        min_history_weeks: min_history?,
        weights,
        adherence_drop_bp: t("adherence_falling", "drop_bp")?,
        volatility_cv_bp: t("earnings_volatile", "cv_bp")?,
        volatility_min_weeks: t("earnings_volatile", "min_weeks")?,
        hours_drop_bp: t("hours_dropping", "drop_bp")?,
        incidents_min_count: t("incidents_rising", "min_count")?,
        quality_drop_x100: t("quality_down", "drop_x100")?,
        below_median_share_bp: t("earnings_below_median", "share_bp")?,
        no_claim_days: t("no_recent_claims", "days")?,
        dispute_days: t("disputed_review", "days")?,
    })
}

/// Where the sign tables start, for the weights' total.
fn span_of_first_table(raw: &RawAtRisk) -> std::ops::Range<usize> {
    [
        raw.adherence_falling.span(),
        raw.earnings_volatile.span(),
        raw.hours_dropping.span(),
        raw.incidents_rising.span(),
        raw.quality_down.span(),
        raw.earnings_below_median.span(),
        raw.no_recent_claims.span(),
        raw.disputed_review.span(),
    ]
    .into_iter()
    .min_by_key(|s| s.start)
    .unwrap_or(0..0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RULES: AtRiskRules = AtRiskRules {
        recent_weeks: 2,
        baseline_weeks: 6,
        min_history_weeks: 2,
        weights: [20, 10, 15, 15, 10, 10, 15, 5],
        adherence_drop_bp: 1_500,
        volatility_cv_bp: 5_000,
        volatility_min_weeks: 4,
        hours_drop_bp: 3_000,
        incidents_min_count: 2,
        quality_drop_x100: 1_000,
        below_median_share_bp: 5_000,
        no_claim_days: 14,
        dispute_days: 30,
    };

    /// Five shifts all attended, 20 hours, ¥500 and quality 90 every week.
    fn steady_week() -> Week {
        Week {
            claimed: 5,
            attended: 5,
            late_releases: 0,
            no_shows: 0,
            minutes: 1_200,
            earnings_fen: 50_000,
            quality_x100: Some(9_000),
        }
    }

    /// Eight steady weeks, in the pool for 60 days, claimed yesterday, never disputed.
    fn steady() -> AgentFacts {
        AgentFacts {
            weeks: vec![steady_week(); 8],
            weeks_in_pool: 8,
            days_in_pool: 60,
            days_since_claim: Some(1),
            days_since_dispute: None,
        }
    }

    /// The pool's median of two weeks' earnings: ¥1,000, what a steady agent earns.
    const MEDIAN: Option<i64> = Some(100_000);

    fn signals(a: &Assessment) -> Vec<Signal> {
        a.fired.iter().map(|f| f.signal).collect()
    }

    fn recent(f: &mut AgentFacts, change: impl Fn(&mut Week)) {
        for w in &mut f.weeks[6..] {
            change(w);
        }
    }

    #[test]
    fn the_default_rules_are_the_shipped_file_s() {
        assert_eq!(AtRiskRules::default(), RULES);
        assert_eq!(RULES.weights.iter().sum::<u32>(), 100);
        assert_eq!(RULES.weeks(), 8);
    }

    #[test]
    fn a_steady_agent_is_not_at_risk() {
        let a = assess(&steady(), MEDIAN, &RULES);
        assert_eq!(a, Assessment::default());
    }

    #[test]
    fn adherence_falling_compares_recent_attendance_with_the_baseline() {
        // Baseline 30 of 30 (100%); recent 8 of 10 (80%): 20 points down ≥ 15.
        let mut f = steady();
        recent(&mut f, |w| w.attended = 4);
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::AdherenceFalling]);
        assert_eq!(a.score, 20);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "attended 8 of 10 claimed shifts in the last 2 weeks (80%), 30 of 30 before (100%)"
        );
        // Exactly 15 points (17 of 20 = 85%) fires; 90% does not.
        let mut f = steady();
        recent(&mut f, |w| {
            w.claimed = 10;
            w.attended = 8;
        });
        f.weeks[7].attended = 9;
        assert_eq!(
            signals(&assess(&f, MEDIAN, &RULES)),
            [Signal::AdherenceFalling]
        );
        f.weeks[6].attended = 9;
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
        // Nothing claimed lately is not an adherence drop (no claims has its own sign).
        let mut f = steady();
        recent(&mut f, |w| {
            w.claimed = 0;
            w.attended = 0;
        });
        assert!(!signals(&assess(&f, MEDIAN, &RULES)).contains(&Signal::AdherenceFalling));
    }

    #[test]
    fn earnings_volatile_uses_the_coefficient_of_variation() {
        // ¥200 and ¥600 by turns: mean ¥400, standard deviation ¥200, CV 0.50 ≥ 0.50.
        let mut f = steady();
        for (i, w) in f.weeks.iter_mut().enumerate() {
            w.earnings_fen = if i % 2 == 0 { 20_000 } else { 60_000 };
        }
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::EarningsVolatile]);
        assert_eq!(a.score, 10);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "weekly earnings vary by 0.50 of their mean (¥400.00) over 8 weeks"
        );
        // ¥300 / ¥500: CV 0.25.
        for (i, w) in f.weeks.iter_mut().enumerate() {
            w.earnings_fen = if i % 2 == 0 { 30_000 } else { 50_000 };
        }
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
        // Only the weeks in the pool count, and at least four of them.
        for (i, w) in f.weeks.iter_mut().enumerate() {
            w.earnings_fen = if i % 2 == 0 { 0 } else { 100_000 };
        }
        f.weeks_in_pool = 3;
        f.days_in_pool = 25;
        assert!(!signals(&assess(&f, MEDIAN, &RULES)).contains(&Signal::EarningsVolatile));
        f.weeks_in_pool = 4;
        assert!(signals(&assess(&f, MEDIAN, &RULES)).contains(&Signal::EarningsVolatile));
    }

    #[test]
    fn hours_dropping_compares_weekly_hours_with_the_agent_s_own() {
        // 20 h a week before, 14 h lately: 30% down.
        let mut f = steady();
        recent(&mut f, |w| w.minutes = 840);
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::HoursDropping]);
        assert_eq!(a.score, 15);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "worked 14.0 hours a week lately, 20.0 before (30% less)"
        );
        // 841 minutes: 29.9% down.
        recent(&mut f, |w| w.minutes = 841);
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
    }

    #[test]
    fn incidents_rising_needs_a_higher_rate_than_before() {
        // One late release and one no-show lately, none before.
        let mut f = steady();
        f.weeks[6].late_releases = 1;
        f.weeks[7].no_shows = 1;
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::IncidentsRising]);
        assert_eq!(a.score, 15);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "1 late release(s) and 1 no-show(s) in the last 2 weeks, 0 in the 6 weeks before"
        );
        // One a week before as well: the same rate, not rising.
        for w in &mut f.weeks[..6] {
            w.no_shows = 1;
        }
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
        f.weeks[7].no_shows = 2;
        assert_eq!(
            signals(&assess(&f, MEDIAN, &RULES)),
            [Signal::IncidentsRising]
        );
        // One alone is below the minimum count.
        let mut f = steady();
        f.weeks[7].no_shows = 1;
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
    }

    #[test]
    fn quality_down_compares_mean_weekly_scores() {
        // 90 before; 79 and 81 lately: mean 80, 10 points down.
        let mut f = steady();
        f.weeks[6].quality_x100 = Some(7_900);
        f.weeks[7].quality_x100 = Some(8_100);
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::QualityDown]);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "quality 80.0 lately, 90.0 before"
        );
        // 80.1 is 9.9 down.
        f.weeks[7].quality_x100 = Some(8_120);
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
        // Weeks without a score are left out, not read as zero.
        f.weeks[6].quality_x100 = None;
        f.weeks[7].quality_x100 = None;
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
    }

    #[test]
    fn earnings_below_median_is_below_half_the_pool_s() {
        // ¥400 in the last two weeks against a median of ¥1,000 (half: ¥500).
        let mut f = steady();
        for w in &mut f.weeks {
            w.earnings_fen = 20_000;
        }
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::EarningsBelowMedian]);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "earned ¥400.00 in the last 2 weeks, under 50% of the pool's median of ¥1,000.00"
        );
        for w in &mut f.weeks {
            w.earnings_fen = 25_000;
        }
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
        assert!(assess(&f, None, &RULES).fired.is_empty());
    }

    #[test]
    fn the_pool_median_counts_agents_who_earned_in_every_recent_week_of_the_pool() {
        let agent = |recent_fen: i64, weeks_in_pool: u32| AgentFacts {
            weeks: vec![
                Week {
                    earnings_fen: recent_fen,
                    ..Week::default()
                };
                1
            ],
            weeks_in_pool,
            ..AgentFacts::default()
        };
        // 0 is left out; of 10, 20, 30, 40 the lower middle: 20. The newcomer's 1000 is
        // not counted.
        let pool = [
            agent(0, 8),
            agent(30, 8),
            agent(10, 8),
            agent(20, 2),
            agent(40, 8),
            agent(1_000, 1),
        ];
        assert_eq!(pool_median(&pool, &RULES), Some(20));
        assert_eq!(pool_median(&pool[..1], &RULES), None);
        assert_eq!(pool_median(&pool[1..2], &RULES), Some(30));
    }

    #[test]
    fn no_recent_claims_after_two_weeks_in_the_pool() {
        let mut f = steady();
        f.days_since_claim = Some(14);
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::NoRecentClaims]);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "no shift claimed for 14 days"
        );
        f.days_since_claim = Some(13);
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
        // Never claimed: counted from joining the pool.
        let new = AgentFacts {
            weeks: vec![Week::default(); 8],
            weeks_in_pool: 2,
            days_in_pool: 20,
            days_since_claim: None,
            days_since_dispute: None,
        };
        // (Without a median: their ¥0 would be below it too.)
        let a = assess(&new, None, &RULES);
        assert_eq!(signals(&a), [Signal::NoRecentClaims]);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "no shift claimed since joining the pool 20 days ago"
        );
        let newer = AgentFacts {
            days_in_pool: 13,
            weeks_in_pool: 1,
            ..new
        };
        assert!(assess(&newer, None, &RULES).fired.is_empty());
    }

    #[test]
    fn a_review_disputed_in_the_last_30_days() {
        let mut f = steady();
        f.days_since_dispute = Some(30);
        let a = assess(&f, MEDIAN, &RULES);
        assert_eq!(signals(&a), [Signal::DisputedReview]);
        assert_eq!(a.score, 5);
        assert_eq!(
            a.fired[0].reason(Locale::En),
            "disputed a review 30 days ago"
        );
        assert_eq!(a.fired[0].reason(Locale::ZhCn), "30 天前对评审提出申诉");
        f.days_since_dispute = Some(31);
        assert!(assess(&f, MEDIAN, &RULES).fired.is_empty());
    }

    #[test]
    fn every_sign_at_once_scores_100() {
        // Recent: 1 of 5 attended with a late release and three no-shows, 2 hours, quality
        // 50, ¥0; before: ¥1,000 a week. No claim for 20 days, a dispute 2 days ago.
        let mut f = steady();
        for w in &mut f.weeks[..6] {
            w.earnings_fen = 100_000;
        }
        recent(&mut f, |w| {
            w.attended = 1;
            w.late_releases = 1;
            w.no_shows = 3;
            w.minutes = 120;
            w.quality_x100 = Some(5_000);
            w.earnings_fen = 0;
        });
        f.days_since_claim = Some(20);
        f.days_since_dispute = Some(2);
        let a = assess(&f, Some(100_000), &RULES);
        assert_eq!(signals(&a), Signal::ALL);
        assert_eq!(a.score, 100);
        assert_eq!(weights(&RULES).values().sum::<u32>(), 100);
    }

    #[test]
    fn a_short_baseline_is_no_history() {
        // In the pool for three weeks: one baseline week, under the two needed.
        let mut f = steady();
        f.weeks_in_pool = 3;
        f.days_in_pool = 22;
        recent(&mut f, |w| {
            w.attended = 0;
            w.minutes = 0;
            w.no_shows = 5;
            w.quality_x100 = Some(0);
        });
        let fired = signals(&assess(&f, MEDIAN, &RULES));
        for s in [
            Signal::AdherenceFalling,
            Signal::HoursDropping,
            Signal::IncidentsRising,
            Signal::QualityDown,
        ] {
            assert!(!fired.contains(&s), "{s:?} in {fired:?}");
        }
        f.weeks_in_pool = 4;
        let fired = signals(&assess(&f, MEDIAN, &RULES));
        assert!(fired.contains(&Signal::AdherenceFalling), "{fired:?}");
    }

    // ----- properties -----

    fn week() -> impl Strategy<Value = Week> {
        (
            0u32..8,
            0u32..8,
            0u32..3,
            0u32..3,
            0i64..3_000,
            -5_000i64..200_000,
            proptest::option::of(0u32..=10_000),
        )
            .prop_map(
                |(claimed, attended, late, no_shows, minutes, fen, q)| Week {
                    claimed,
                    attended: attended.min(claimed),
                    late_releases: late,
                    no_shows,
                    minutes,
                    earnings_fen: fen,
                    quality_x100: q,
                },
            )
    }

    fn facts() -> impl Strategy<Value = AgentFacts> {
        (
            proptest::collection::vec(week(), 8),
            0u32..=8,
            0u32..120,
            proptest::option::of(0u32..60),
            proptest::option::of(0u32..60),
        )
            .prop_map(|(weeks, in_pool, extra_days, claim, dispute)| AgentFacts {
                weeks,
                weeks_in_pool: in_pool,
                days_in_pool: in_pool * 7 + extra_days % 7,
                days_since_claim: claim,
                days_since_dispute: dispute,
            })
    }

    fn rules() -> impl Strategy<Value = AtRiskRules> {
        (
            1u32..4,
            1u32..8,
            proptest::collection::vec(0u32..30, 8),
            1u32..5_000,
            1u32..3,
        )
            .prop_map(|(recent, baseline, raw, drop, min)| {
                let mut weights = [0u32; 8];
                let total: u32 = raw.iter().sum::<u32>().max(1);
                let mut given = 0;
                for (i, w) in raw.iter().enumerate() {
                    weights[i] = w * 100 / total;
                    given += weights[i];
                }
                weights[0] += 100 - given;
                AtRiskRules {
                    recent_weeks: recent,
                    baseline_weeks: baseline,
                    min_history_weeks: min.min(baseline),
                    weights,
                    adherence_drop_bp: drop,
                    hours_drop_bp: drop,
                    quality_drop_x100: drop,
                    ..RULES
                }
            })
    }

    proptest! {
        #[test]
        fn the_score_is_the_fired_weights_within_0_to_100(
            f in facts(),
            median in proptest::option::of(0i64..400_000),
            r in rules(),
        ) {
            let a = assess(&f, median, &r);
            prop_assert!(a.score <= 100);
            prop_assert_eq!(a.score, a.fired.iter().map(|x| x.weight).sum::<u32>());
            // Each sign at most once, in order.
            let fired = signals(&a);
            let mut sorted = fired.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&sorted, &fired);
        }

        #[test]
        fn reasons_are_listed_exactly_for_the_fired_signs(f in facts(), median in proptest::option::of(0i64..400_000)) {
            let a = assess(&f, median, &RULES);
            // Every weight of the shipped rules is above zero: a score iff a reason.
            prop_assert_eq!(a.score > 0, !a.fired.is_empty());
            for fired in &a.fired {
                prop_assert_eq!(fired.weight, RULES.weight(fired.signal));
                for locale in Locale::ALL {
                    let text = fired.reason(locale);
                    prop_assert!(!text.is_empty() && !text.contains("%{") && !text.contains("at_risk."), "{}", text);
                }
            }
        }

        #[test]
        fn more_signs_never_lower_the_score(
            r in rules(),
            mask in proptest::collection::vec(any::<bool>(), 8),
            extra in 0usize..8,
        ) {
            let some: Vec<Signal> = Signal::ALL.iter().zip(&mask).filter(|(_, m)| **m).map(|(s, _)| *s).collect();
            let mut more = some.clone();
            if !more.contains(&Signal::ALL[extra]) {
                more.push(Signal::ALL[extra]);
            }
            prop_assert!(score_of(&r, &more) >= score_of(&r, &some));
            prop_assert!(score_of(&r, &more) <= 100);
        }

        /// Worse on what only one sign reads never lowers the score: fewer shifts attended
        /// lately, fewer hours lately, one more late release or no-show lately, a lower
        /// recent quality score, a higher pool median, a longer time since the last claim,
        /// a more recent dispute.
        #[test]
        fn the_score_is_monotone_in_each_sign(
            f in facts(),
            median in proptest::option::of(0i64..400_000),
            r in rules(),
            pick in 0usize..7,
            by in 1u32..600,
        ) {
            let before = assess(&f, median, &r).score;
            let mut worse = f.clone();
            let mut worse_median = median;
            let last = worse.weeks.len() - 1;
            let w = &mut worse.weeks[last];
            match pick {
                0 => w.attended = w.attended.saturating_sub(1),
                1 => w.minutes = (w.minutes - i64::from(by)).max(0),
                2 => w.late_releases += 1,
                3 => w.no_shows += 1,
                4 => w.quality_x100 = w.quality_x100.map(|q| q.saturating_sub(by)),
                5 => worse_median = Some(median.unwrap_or(0) + i64::from(by) * 100),
                _ => {
                    worse.days_since_claim = worse.days_since_claim.map(|d| d + by);
                    worse.days_since_dispute = worse.days_since_dispute.map(|d| d.saturating_sub(by));
                }
            }
            prop_assert!(assess(&worse, worse_median, &r).score >= before, "pick {}", pick);
        }

        #[test]
        fn an_agent_with_no_history_is_not_flagged_for_trends(
            f in facts(),
            median in proptest::option::of(0i64..400_000),
            r in rules(),
        ) {
            let new = AgentFacts { weeks_in_pool: 0, days_in_pool: f.days_in_pool % 7, ..f };
            let fired = signals(&assess(&new, median, &r));
            for s in [
                Signal::AdherenceFalling,
                Signal::EarningsVolatile,
                Signal::HoursDropping,
                Signal::IncidentsRising,
                Signal::QualityDown,
                Signal::EarningsBelowMedian,
                Signal::NoRecentClaims,
            ] {
                prop_assert!(!fired.contains(&s), "{:?} fired for a newcomer: {:?}", s, fired);
            }
        }
    }
}
