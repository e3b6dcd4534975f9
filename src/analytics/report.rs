//! The churn report as the admin asks for it: the query (a month range and a grouping)
//! parsed and checked, and the figures assembled from the agents' histories and the
//! attributes they are grouped by. Pure: the store loads, the routes and pages show.
//!
//! Groups are taken for each month on their own, as the agent stood then:
//! - **skill**: every skill the agent was certified in by the month's last day (an agent with
//!   two counts in both; none yet: `none`);
//! - **tenure**: whole months since the agent's first active day, at the month's last day;
//! - **pay band**: the agent's earnings in the month before (payslips of runs whose period
//!   ended in it), by `churn.toml`'s pay bands; no payslip that month: `none`;
//! - **quality band**: the score on the agent's latest payslip of a period that ended in the
//!   month before, by `churn.toml`'s quality bands; no score: `none`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::churn::{self, Cohort, History, MonthFigures};
use super::rules::{ChurnRules, NO_GROUP, band_of};
use crate::error::{AppError, FieldErrors, Invalid};

/// How the figures are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    None,
    Skill,
    Tenure,
    PayBand,
    QualityBand,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        GroupBy::None,
        GroupBy::Skill,
        GroupBy::Tenure,
        GroupBy::PayBand,
        GroupBy::QualityBand,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::None => "none",
            GroupBy::Skill => "skill",
            GroupBy::Tenure => "tenure",
            GroupBy::PayBand => "pay_band",
            GroupBy::QualityBand => "quality_band",
        }
    }

    pub fn parse(raw: &str) -> Result<GroupBy, Invalid> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
                Invalid::new(
                    "unknown_value",
                    format!("`{raw}` is no grouping; use one of: {}", names.join(", ")),
                )
            })
    }
}

/// A checked report request: first days of its first and last months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChurnQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
}

/// A month written `YYYY-MM`, as its first day.
pub fn parse_month(raw: &str) -> Result<NaiveDate, Invalid> {
    let invalid = || {
        Invalid::new(
            "invalid_month",
            format!("`{raw}` is not a month; write it like 2026-04"),
        )
    };
    let (y, m) = raw.split_once('-').ok_or_else(invalid)?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let year: i32 = y.parse().map_err(|_| invalid())?;
    let month: u32 = m.parse().map_err(|_| invalid())?;
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid)
}

/// `YYYY-MM` of a date.
pub fn month_label(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// Months from `from`'s to `to`'s, both counted.
pub fn months_spanned(from: NaiveDate, to: NaiveDate) -> i64 {
    let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    index(to) - index(from) + 1
}

/// Parses the query string's `from`, `to` and `group_by`, naming every offending field.
/// Without `to` the report ends with the current month; without `from` it covers the year
/// to `to` (or the longest range allowed, if shorter).
pub fn parse_query(
    from: Option<&str>,
    to: Option<&str>,
    group_by: Option<&str>,
    today: NaiveDate,
    max_range_months: u32,
) -> Result<ChurnQuery, AppError> {
    let mut errors = FieldErrors::new();
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    let to = match given(to) {
        Some(raw) => errors.check("to", parse_month(raw)),
        None => Some(churn::month_of(today)),
    };
    let from = match given(from) {
        Some(raw) => errors.check("from", parse_month(raw)),
        None => to.map(|to| to - Months::new(max_range_months.clamp(1, 12) - 1)),
    };
    let group_by = match given(group_by) {
        Some(raw) => errors.check("group_by", GroupBy::parse(raw)),
        None => Some(GroupBy::None),
    };
    if let (Some(from), Some(to)) = (from, to) {
        let span = months_spanned(from, to);
        if span < 1 {
            errors.push(
                "to",
                Invalid::new(
                    "before_from",
                    format!(
                        "the range ends ({}) before it starts ({})",
                        month_label(to),
                        month_label(from)
                    ),
                ),
            );
        } else if span > i64::from(max_range_months) {
            errors.push(
                "to",
                Invalid::new(
                    "range_too_long",
                    format!(
                        "a report spans at most {max_range_months} months ({}); {} to {} is {span}",
                        years(max_range_months),
                        month_label(from),
                        month_label(to)
                    ),
                ),
            );
        }
    }
    match (from, to, group_by) {
        (Some(from), Some(to), Some(group_by)) if errors.is_empty() => {
            Ok(ChurnQuery { from, to, group_by })
        }
        _ => Err(errors.into()),
    }
}

fn years(months: u32) -> String {
    match (months / 12, months % 12) {
        (1, 0) => "1 year".to_owned(),
        (y, 0) => format!("{y} years"),
        _ => format!("{months} months"),
    }
}

/// What agents are grouped by, besides their spells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Per agent: each certified skill and the local date it was certified.
    pub skills: HashMap<String, Vec<(String, NaiveDate)>>,
    /// Per agent: earnings in fen by month (its first day).
    pub earnings: HashMap<String, BTreeMap<NaiveDate, i64>>,
    /// Per agent: quality scores in hundredths of a point, by the last day of their period,
    /// in date order.
    pub scores: HashMap<String, Vec<(NaiveDate, u32)>>,
}

/// One group's figures, a month each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupFigures {
    /// The skill id, tenure band (`0-1m`, `1-3m`, `3-6m`, `6-12m`, `12m+`), pay or quality
    /// band id, or `none` for agents outside every band.
    pub group: String,
    pub months: Vec<MonthFigures>,
    /// Exits over the whole range, by reason.
    pub exit_reasons: BTreeMap<String, u32>,
}

/// The report: the same figures the page shows and the CSV holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChurnReport {
    /// First and last month asked for (`YYYY-MM`).
    pub from: String,
    pub to: String,
    /// The last day with complete data (today in the market's zone); months after it are
    /// not reported and the current month stops at it.
    pub as_of: NaiveDate,
    /// The market's zone, in which days and months are counted.
    pub time_zone: String,
    /// From `seat-rules/churn.toml`.
    pub inactive_after_days: u32,
    pub group_by: GroupBy,
    /// The whole pool, a month each.
    pub months: Vec<MonthFigures>,
    /// Exits over the whole range, by reason.
    pub exit_reasons: BTreeMap<String, u32>,
    /// Per group (empty without grouping), in group order.
    pub groups: Vec<GroupFigures>,
    /// Agents by the month of their first active day (certification), from `from` to `to`,
    /// each followed to `as_of`: the triangle.
    pub cohorts: Vec<Cohort>,
    /// For k = 0, 1, ...: of the agents of every cohort that has reached its k-th month, the
    /// share (basis points) active at its end.
    pub retention_curve_bp: Vec<u32>,
}

/// Computes the report for `query` from every agent's history.
pub fn report(
    histories: &[History],
    attrs: &Attributes,
    rules: &ChurnRules,
    query: &ChurnQuery,
    as_of: NaiveDate,
    time_zone: &str,
) -> ChurnReport {
    let spells = churn::all_spells(histories, rules.inactive_after_days, as_of);
    let last = |m: NaiveDate| ((m + Months::new(1)).pred_opt().unwrap_or(m)).min(as_of);
    let months = churn::monthly(&spells, query.from, query.to, as_of);
    let by = |group_of: &dyn Fn(&str, NaiveDate) -> Vec<String>| {
        churn::monthly_by(&spells, query.from, query.to, as_of, group_of)
    };
    let grouped = match query.group_by {
        GroupBy::None => BTreeMap::new(),
        GroupBy::Skill => by(&|agent, m| {
            let held: Vec<String> = attrs
                .skills
                .get(agent)
                .map(|skills| {
                    skills
                        .iter()
                        .filter(|(_, on)| *on <= last(m))
                        .map(|(s, _)| s.clone())
                        .collect()
                })
                .unwrap_or_default();
            if held.is_empty() {
                vec![NO_GROUP.to_owned()]
            } else {
                held
            }
        }),
        GroupBy::Tenure => by(&|agent, m| {
            spells
                .get(agent)
                .and_then(|s| churn::tenure_band(s, last(m)))
                .map(str::to_owned)
                .into_iter()
                .collect()
        }),
        GroupBy::PayBand => by(&|agent, m| {
            let before = m - Months::new(1);
            let band = attrs
                .earnings
                .get(agent)
                .and_then(|e| e.get(&before))
                .and_then(|fen| band_of(&rules.pay_bands, *fen))
                .map_or(NO_GROUP, |b| b.id.as_str());
            vec![band.to_owned()]
        }),
        GroupBy::QualityBand => by(&|agent, m| {
            let band = attrs
                .scores
                .get(agent)
                .and_then(|s| {
                    s.iter()
                        .rev()
                        .find(|(day, _)| *day < m && *day >= m - Months::new(1))
                })
                .and_then(|(_, x100)| band_of(&rules.quality_bands, i64::from(*x100 / 100)))
                .map_or(NO_GROUP, |b| b.id.as_str());
            vec![band.to_owned()]
        }),
    };
    let mut groups: Vec<GroupFigures> = grouped
        .into_iter()
        .map(|(group, months)| GroupFigures {
            exit_reasons: churn::exit_totals(&months),
            group,
            months,
        })
        .collect();
    sort_groups(&mut groups, query.group_by, rules);
    let cohorts = churn::cohorts(&spells, query.from, query.to, as_of);
    ChurnReport {
        from: month_label(query.from),
        to: month_label(query.to),
        as_of,
        time_zone: time_zone.to_owned(),
        inactive_after_days: rules.inactive_after_days,
        group_by: query.group_by,
        exit_reasons: churn::exit_totals(&months),
        months,
        groups,
        retention_curve_bp: churn::retention_curve(&cohorts),
        cohorts,
    }
}

/// Bands in their own order (lowest first), `none` last; skills by id.
fn sort_groups(groups: &mut [GroupFigures], by: GroupBy, rules: &ChurnRules) {
    const TENURE: [&str; 5] = ["0-1m", "1-3m", "3-6m", "6-12m", "12m+"];
    let rank = |g: &str| -> (usize, String) {
        let pos = match by {
            GroupBy::Tenure => TENURE.iter().position(|t| *t == g),
            GroupBy::PayBand => rules.pay_bands.iter().position(|b| b.id == g),
            GroupBy::QualityBand => rules.quality_bands.iter().position(|b| b.id == g),
            GroupBy::None | GroupBy::Skill => None,
        };
        match (pos, g == NO_GROUP) {
            (_, true) => (usize::MAX, String::new()),
            (Some(p), false) => (p, String::new()),
            (None, false) => (usize::MAX - 1, g.to_owned()),
        }
    };
    groups.sort_by_cached_key(|g| rank(&g.group));
}

/// The report's monthly figures as CSV: one row per month for the whole pool (group
/// `all`), then per group; a column per exit reason that occurs.
pub fn csv(report: &ChurnReport) -> anyhow::Result<String> {
    let mut reasons: Vec<&String> = report.exit_reasons.keys().collect();
    for g in &report.groups {
        reasons.extend(g.exit_reasons.keys());
    }
    reasons.sort();
    reasons.dedup();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "group",
        "month",
        "active_at_start",
        "active_at_end",
        "churned",
        "left_and_returned",
        "new",
        "returning",
        "net_change",
        "churn_rate_bp",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    header.extend(reasons.iter().map(|r| format!("exits_{r}")));
    w.write_record(&header)?;
    let rows = std::iter::once(("all", &report.months))
        .chain(report.groups.iter().map(|g| (g.group.as_str(), &g.months)));
    for (group, months) in rows {
        for m in months {
            let mut record = vec![
                group.to_owned(),
                month_label(m.month),
                m.active_at_start.to_string(),
                m.active_at_end.to_string(),
                m.churned.to_string(),
                m.left_and_returned.to_string(),
                m.new.to_string(),
                m.returning.to_string(),
                m.net_change.to_string(),
                m.churn_rate_bp.map(|r| r.to_string()).unwrap_or_default(),
            ];
            record.extend(
                reasons
                    .iter()
                    .map(|r| m.exit_reasons.get(*r).copied().unwrap_or(0).to_string()),
            );
            w.write_record(&record)?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::churn::PoolMove;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn fields(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(e) => e.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn q(from: Option<&str>, to: Option<&str>, by: Option<&str>) -> Result<ChurnQuery, AppError> {
        parse_query(from, to, by, d(2026, 12, 5), 60)
    }

    #[test]
    fn months_are_written_year_dash_month() {
        assert_eq!(parse_month("2026-04"), Ok(d(2026, 4, 1)));
        for bad in [
            "2026-4",
            "2026-13",
            "2026-00",
            "26-04",
            "2026/04",
            "2026-04-01",
            "april",
            "",
            "-2026-04",
        ] {
            assert_eq!(
                parse_month(bad).map_err(|e| e.code),
                Err("invalid_month"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_default_is_the_year_to_this_month() {
        let query = q(None, None, None).unwrap();
        assert_eq!(
            query,
            ChurnQuery {
                from: d(2026, 1, 1),
                to: d(2026, 12, 1),
                group_by: GroupBy::None
            }
        );
        let query = q(None, Some("2025-06"), Some("pay_band")).unwrap();
        assert_eq!(
            (query.from, query.group_by),
            (d(2024, 7, 1), GroupBy::PayBand)
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            fields(q(Some("2026-05"), Some("2026-04"), None).unwrap_err()),
            [("to".to_owned(), "before_from".to_owned())]
        );
        // Five years is the limit: 60 months pass, 61 do not.
        assert!(q(Some("2021-01"), Some("2025-12"), None).is_ok());
        let err = q(Some("2021-01"), Some("2026-01"), None).unwrap_err();
        let AppError::Validation(e) = &err else {
            panic!()
        };
        assert_eq!(e[0].code, "range_too_long");
        assert!(
            e[0].message.contains("at most 60 months (5 years)"),
            "{}",
            e[0].message
        );
        assert_eq!(
            fields(q(Some("2026-1"), Some("x"), Some("shop")).unwrap_err()),
            [
                ("to".to_owned(), "invalid_month".to_owned()),
                ("from".to_owned(), "invalid_month".to_owned()),
                ("group_by".to_owned(), "unknown_value".to_owned()),
            ]
        );
        let err = GroupBy::parse("shop").unwrap_err();
        assert!(
            err.message
                .contains("none, skill, tenure, pay_band, quality_band")
        );
    }

    fn join(day: NaiveDate) -> PoolMove {
        PoolMove {
            day,
            joined: true,
            reason: None,
        }
    }

    fn history(id: &str, moves: Vec<PoolMove>, worked: Vec<NaiveDate>) -> History {
        History {
            agent_id: id.to_owned(),
            moves,
            worked: worked.into_iter().map(|w| (w, w)).collect(),
        }
    }

    /// Three agents over February and March 2026, grouped each way.
    fn fixture() -> (Vec<History>, Attributes) {
        let hs = vec![
            // Certified in January, works on; pre_sale added on 10 March.
            history(
                "a",
                vec![join(d(2026, 1, 5))],
                vec![d(2026, 2, 1), d(2026, 3, 1), d(2026, 3, 15)],
            ),
            // Certified in January, never works: inactive from 4 February.
            history("b", vec![join(d(2026, 1, 5))], vec![]),
            // Certified on 20 February.
            history("c", vec![join(d(2026, 2, 20))], vec![d(2026, 3, 10)]),
        ];
        let attrs = Attributes {
            skills: HashMap::from([
                (
                    "a".to_owned(),
                    vec![
                        ("general".to_owned(), d(2026, 1, 5)),
                        ("pre_sale".to_owned(), d(2026, 3, 10)),
                    ],
                ),
                ("b".to_owned(), vec![("general".to_owned(), d(2026, 1, 5))]),
            ]),
            earnings: HashMap::from([
                (
                    "a".to_owned(),
                    BTreeMap::from([(d(2026, 1, 1), 300_000), (d(2026, 2, 1), 600_000)]),
                ),
                ("b".to_owned(), BTreeMap::from([(d(2026, 1, 1), 1_000)])),
            ]),
            scores: HashMap::from([(
                "a".to_owned(),
                vec![(d(2026, 1, 31), 9_000), (d(2026, 2, 28), 9_650)],
            )]),
        };
        (hs, attrs)
    }

    fn run(by: GroupBy) -> ChurnReport {
        let (hs, attrs) = fixture();
        let query = ChurnQuery {
            from: d(2026, 2, 1),
            to: d(2026, 3, 1),
            group_by: by,
        };
        report(
            &hs,
            &attrs,
            &ChurnRules::default(),
            &query,
            d(2026, 3, 31),
            "Asia/Shanghai",
        )
    }

    fn group<'a>(r: &'a ChurnReport, name: &str) -> &'a GroupFigures {
        r.groups.iter().find(|g| g.group == name).unwrap()
    }

    #[test]
    fn the_whole_pool_and_its_cohorts() {
        let r = run(GroupBy::None);
        assert_eq!((r.from.as_str(), r.to.as_str()), ("2026-02", "2026-03"));
        assert!(r.groups.is_empty());
        // February: a and b at the start, b goes inactive on 4 February, c is new.
        let feb = &r.months[0];
        assert_eq!((feb.active_at_start, feb.churned, feb.new), (2, 1, 1));
        assert_eq!(feb.churn_rate_bp, Some(5_000));
        assert_eq!(r.exit_reasons, BTreeMap::from([("inactive".to_owned(), 1)]));
        // Only c's cohort (February) falls in the range; a and b started in January.
        assert_eq!(r.cohorts.len(), 1);
        assert_eq!(r.cohorts[0].active, [1, 1]);
        assert_eq!(r.retention_curve_bp, [10_000, 10_000]);
    }

    #[test]
    fn grouped_by_skill_counts_an_agent_in_each_skill_from_its_month() {
        let r = run(GroupBy::Skill);
        let names: Vec<&str> = r.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["general", "pre_sale", "none"]);
        assert_eq!(group(&r, "general").months[0].active_at_start, 2);
        // pre_sale from March (certified on the 10th, counted from its month).
        assert_eq!(group(&r, "pre_sale").months[0].active_at_start, 0);
        assert_eq!(group(&r, "pre_sale").months[1].active_at_start, 1);
        // c holds no certification row: `none`.
        assert_eq!(group(&r, "none").months[0].new, 1);
    }

    #[test]
    fn grouped_by_pay_quality_and_tenure_bands() {
        let r = run(GroupBy::PayBand);
        let names: Vec<&str> = r.groups.iter().map(|g| g.group.as_str()).collect();
        // February by January's pay: a mid (¥3,000), b low (¥10); c none. March by
        // February's: a high; b and c none.
        assert_eq!(names, ["low", "mid", "high", "none"]);
        assert_eq!(group(&r, "mid").months[0].active_at_start, 1);
        assert_eq!(group(&r, "low").months[0].churned, 1);
        assert_eq!(group(&r, "high").months[1].active_at_start, 1);
        let r = run(GroupBy::QualityBand);
        // February by January's 90.00: on target; March by February's 96.50: excellent.
        assert_eq!(group(&r, "on_target").months[0].active_at_start, 1);
        assert_eq!(group(&r, "excellent").months[1].active_at_start, 1);
        assert_eq!(group(&r, "none").months[0].active_at_start, 1);
        let r = run(GroupBy::Tenure);
        let names: Vec<&str> = r.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["0-1m", "1-3m"]);
        // At the end of February a (from 5 January) has 1 whole month; c has none.
        assert_eq!(group(&r, "1-3m").months[0].active_at_start, 2);
        assert_eq!(group(&r, "0-1m").months[0].new, 1);
    }

    #[test]
    fn the_csv_holds_the_same_figures() {
        let r = run(GroupBy::Skill);
        let text = csv(&r).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "group,month,active_at_start,active_at_end,churned,left_and_returned,new,returning,net_change,churn_rate_bp,exits_inactive"
        );
        assert_eq!(lines.next().unwrap(), "all,2026-02,2,2,1,0,1,0,0,5000,1");
        assert_eq!(text.lines().count(), 1 + 2 * (1 + r.groups.len()));
        assert!(text.contains("\npre_sale,2026-03,1,"), "{text}");
    }

    proptest! {
        #[test]
        fn any_two_months_within_the_limit_are_accepted_in_order(
            a in 0i64..200, b in 0i64..200, max in 1u32..=120
        ) {
            let base = d(2015, 1, 1);
            let (from, to) = (base + Months::new(a as u32), base + Months::new(b as u32));
            let res = parse_query(
                Some(&month_label(from)), Some(&month_label(to)), None, d(2026, 12, 5), max,
            );
            let span = b - a + 1;
            prop_assert_eq!(res.is_ok(), span >= 1 && span <= i64::from(max));
            prop_assert_eq!(months_spanned(from, to), span);
        }
    }
}
