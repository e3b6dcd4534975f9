//! The churn rules (`seat-rules/churn.toml`): when an agent in the pool counts as inactive,
//! the pay and quality bands agents are grouped in, and the longest report.

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::churn::{MIN_INACTIVE_AFTER_DAYS, STRETCH_GAP};
use crate::accounts::model::Locale;
use crate::seats::rules::Report;

/// The group of agents a band does not cover (no payslip, no score, no certified skill).
pub const NO_GROUP: &str = "none";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChurnRules {
    /// Days without a worked shift after which an agent in the pool is inactive.
    pub inactive_after_days: u32,
    /// The most months one report may span.
    pub max_range_months: u32,
    /// By the previous month's earnings in fen; ascending, the first from 0.
    pub pay_bands: Vec<Band>,
    /// By quality score in whole points (0-100); ascending, the first from 0.
    pub quality_bands: Vec<Band>,
}

/// A band of a measure: from `min` up to the next band's `min`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub min: i64,
}

impl Band {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.name_en,
            Locale::ZhCn => &self.name_zh,
        }
    }
}

/// The band `value` falls in: the last whose `min` it reaches.
pub fn band_of(bands: &[Band], value: i64) -> Option<&Band> {
    bands.iter().rev().find(|b| value >= b.min)
}

impl Default for ChurnRules {
    /// The shipped `churn.toml`.
    fn default() -> Self {
        let band = |id: &str, en: &str, zh: &str, min: i64| Band {
            id: id.to_owned(),
            name_en: en.to_owned(),
            name_zh: zh.to_owned(),
            min,
        };
        ChurnRules {
            inactive_after_days: 30,
            max_range_months: 60,
            pay_bands: vec![
                band("low", "Under ¥2,000", "低于 ¥2,000", 0),
                band("mid", "¥2,000 to ¥5,000", "¥2,000 至 ¥5,000", 200_000),
                band("high", "¥5,000 and more", "¥5,000 及以上", 500_000),
            ],
            quality_bands: vec![
                band("below_target", "Below 85", "低于 85", 0),
                band("on_target", "85 to 95", "85 至 95", 85),
                band("excellent", "95 and above", "95 及以上", 95),
            ],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChurn {
    inactive_after_days: Spanned<i64>,
    max_range_months: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayBand {
    id: Spanned<String>,
    name_en: Spanned<String>,
    name_zh: Spanned<String>,
    min_fen: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQualityBand {
    id: Spanned<String>,
    name_en: Spanned<String>,
    name_zh: Spanned<String>,
    min_score: Spanned<i64>,
}

/// One band as read, whatever its measure.
struct RawBand<'a> {
    id: &'a Spanned<String>,
    name_en: &'a Spanned<String>,
    name_zh: &'a Spanned<String>,
    min: &'a Spanned<i64>,
}

/// The most a month's pay band may start at (¥10,000,000).
const MAX_PAY_FEN: i64 = 1_000_000_000;

/// Reads `churn.toml`, reporting every problem with its line.
pub(crate) fn load(r: &mut Report<'_>) -> Option<ChurnRules> {
    let doc = r.document()?;
    let span = doc.span();
    // The band lists are read table by table, so one bad band does not hide the next.
    let mut rest = DeTable::new();
    let (mut pay, mut quality) = (None, None);
    for (key, value) in doc.into_inner() {
        let name: &str = key.get_ref();
        match name {
            "pay_band" => pay = Some(value),
            "quality_band" => quality = Some(value),
            _ => {
                rest.insert(key, value);
            }
        }
    }
    let raw_pay: Vec<Spanned<RawPayBand>> = r.tables("pay_band", pay);
    let raw_quality: Vec<Spanned<RawQualityBand>> = r.tables("quality_band", quality);
    let bands_parsed = r.clean();
    let raw: Option<RawChurn> = r.de(Spanned::new(span, DeValue::Table(rest)));
    let (pay_bands, quality_bands) = if bands_parsed {
        let pay: Vec<RawBand<'_>> = raw_pay
            .iter()
            .map(|b| {
                let b = b.get_ref();
                RawBand {
                    id: &b.id,
                    name_en: &b.name_en,
                    name_zh: &b.name_zh,
                    min: &b.min_fen,
                }
            })
            .collect();
        let quality: Vec<RawBand<'_>> = raw_quality
            .iter()
            .map(|b| {
                let b = b.get_ref();
                RawBand {
                    id: &b.id,
                    name_en: &b.name_en,
                    name_zh: &b.name_zh,
                    min: &b.min_score,
                }
            })
            .collect();
        (
            load_bands(r, "pay_band", "min_fen", MAX_PAY_FEN, &pay),
            load_bands(r, "quality_band", "min_score", 100, &quality),
        )
    } else {
        (None, None)
    };
    let raw = raw?;
    let min_inactive = i64::from(MIN_INACTIVE_AFTER_DAYS);
    let inactive = if *raw.inactive_after_days.get_ref() < min_inactive {
        r.at(
            raw.inactive_after_days.span(),
            format!(
                "`inactive_after_days` must be at least {min_inactive} (got {}): the churn report \
                 reads worked days as stretches of check-ins less than {} days apart, which is \
                 exact only for limits of a week or more",
                raw.inactive_after_days.get_ref(),
                STRETCH_GAP.num_days()
            ),
        );
        None
    } else {
        r.int(
            "`inactive_after_days`",
            &raw.inactive_after_days,
            min_inactive,
            365,
        )
    };
    let max_range = r.int("`max_range_months`", &raw.max_range_months, 1, 120);
    Some(ChurnRules {
        inactive_after_days: inactive?,
        max_range_months: max_range?,
        pay_bands: pay_bands?,
        quality_bands: quality_bands?,
    })
}

/// A band list: valid ids and names, ascending from 0, no id twice.
fn load_bands(
    r: &mut Report<'_>,
    key: &str,
    min_key: &str,
    max: i64,
    raw: &[RawBand<'_>],
) -> Option<Vec<Band>> {
    if raw.is_empty() {
        r.push(
            None,
            format!("no [[{key}]] tables: add at least one, the first with `{min_key} = 0`"),
        );
        return None;
    }
    let mut bands = Vec::new();
    let mut ok = true;
    for (i, b) in raw.iter().enumerate() {
        let id = r.slug(&format!("{key} `id`"), b.id);
        if id.as_deref() == Some(NO_GROUP) {
            r.at(
                b.id.span(),
                format!("{key} `id` `{NO_GROUP}` is reserved for agents outside every band"),
            );
            ok = false;
        }
        if let Some(id) = &id
            && raw[..i].iter().any(|p| p.id.get_ref() == id)
        {
            r.at(b.id.span(), format!("two {key} tables have the id `{id}`"));
            ok = false;
        }
        let name_en = r.text(&format!("{key} `name_en`"), b.name_en);
        let name_zh = r.text(&format!("{key} `name_zh`"), b.name_zh);
        let min = r.int(&format!("{key} `{min_key}`"), b.min, 0, max);
        if i == 0 && min.is_some_and(|m: i64| m != 0) {
            r.at(
                b.min.span(),
                format!("the first {key} must start at `{min_key} = 0`, so every agent has one"),
            );
            ok = false;
        }
        if i > 0
            && let Some(m) = min
            && *raw[i - 1].min.get_ref() >= m
        {
            r.at(
                b.min.span(),
                format!(
                    "{key} `{min_key}` must increase from one band to the next: {m} does not exceed {}",
                    raw[i - 1].min.get_ref()
                ),
            );
            ok = false;
        }
        match (id, name_en, name_zh, min) {
            (Some(id), Some(name_en), Some(name_zh), Some(min)) => bands.push(Band {
                id,
                name_en,
                name_zh,
                min,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(bands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_falls_in_the_highest_band_it_reaches() {
        let rules = ChurnRules::default();
        assert_eq!(band_of(&rules.pay_bands, 0).unwrap().id, "low");
        assert_eq!(band_of(&rules.pay_bands, 199_999).unwrap().id, "low");
        assert_eq!(band_of(&rules.pay_bands, 200_000).unwrap().id, "mid");
        assert_eq!(band_of(&rules.pay_bands, 9_000_000).unwrap().id, "high");
        assert_eq!(band_of(&rules.quality_bands, 94).unwrap().id, "on_target");
        assert_eq!(band_of(&rules.quality_bands, 95).unwrap().id, "excellent");
        assert!(band_of(&rules.pay_bands, -1).is_none());
        assert_eq!(rules.quality_bands[2].name(Locale::ZhCn), "95 及以上");
    }
}
