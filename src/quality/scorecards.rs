//! Scorecards (`seat-rules/scorecards.toml`): per track (a skill), the criteria a reviewer
//! scores a chat on, each with its weight, its scale `0..=max` and anchors saying what a
//! score means, so that reviews are comparable between reviewers.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use utoipa::ToSchema;

use crate::seats::rules::{FULL_BP, Report, Skill};

/// What a score on a criterion's scale means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Anchor {
    pub score: u32,
    pub en: String,
    pub zh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Criterion {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    /// Basis points; a scorecard's weights add up to 10000.
    pub weight_bp: u32,
    /// The scale is `0..=max`.
    pub max: u32,
    /// Sorted by score; at least 0, `max` and one score between.
    pub anchors: Vec<Anchor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Scorecard {
    /// The skill id it is for.
    pub track: String,
    pub criteria: Vec<Criterion>,
}

impl Scorecard {
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scorecards {
    /// The track whose scorecard reviews chats of skills without their own.
    pub default_track: String,
    /// In file order; one per track, the default track's among them.
    pub cards: Vec<Scorecard>,
}

impl Scorecards {
    /// The scorecard a chat of `skill` is reviewed on.
    pub fn for_skill(&self, skill: &str) -> &Scorecard {
        self.cards
            .iter()
            .find(|c| c.track == skill)
            .or_else(|| self.cards.iter().find(|c| c.track == self.default_track))
            .unwrap_or(&self.cards[0])
    }
}

impl Default for Scorecards {
    /// One `general` scorecard with one overall criterion on 0..=4: for rulesets built by
    /// hand in tests (the shipped file is richer).
    fn default() -> Self {
        let anchor = |score, en: &str, zh: &str| Anchor {
            score,
            en: en.into(),
            zh: zh.into(),
        };
        Scorecards {
            default_track: "general".into(),
            cards: vec![Scorecard {
                track: "general".into(),
                criteria: vec![Criterion {
                    id: "overall".into(),
                    name_en: "Overall".into(),
                    name_zh: "总体".into(),
                    weight_bp: FULL_BP,
                    max: 4,
                    anchors: vec![
                        anchor(0, "Poor", "差"),
                        anchor(2, "Adequate", "合格"),
                        anchor(4, "Excellent", "优秀"),
                    ],
                }],
            }],
        }
    }
}

// ----- scorecards.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnchor {
    score: Spanned<i64>,
    en: Spanned<String>,
    zh: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    id: Spanned<String>,
    name_en: Spanned<String>,
    name_zh: Spanned<String>,
    weight_bp: Spanned<i64>,
    max: Spanned<i64>,
    #[serde(default)]
    anchor: Vec<Spanned<RawAnchor>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScorecard {
    track: Spanned<String>,
    #[serde(default)]
    criterion: Vec<Spanned<RawCriterion>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTop {
    default_track: Spanned<String>,
}

fn criterion(r: &mut Report<'_>, track: &str, raw: &Spanned<RawCriterion>) -> Option<Criterion> {
    let c = raw.get_ref();
    let label = format!("scorecard `{track}`, criterion `{}`:", c.id.get_ref());
    let id = r.slug(&format!("{label} `id`"), &c.id);
    let name_en = r.text(&format!("{label} `name_en`"), &c.name_en);
    let name_zh = r.text(&format!("{label} `name_zh`"), &c.name_zh);
    let weight = r.int(
        &format!("{label} `weight_bp`"),
        &c.weight_bp,
        1,
        i64::from(FULL_BP),
    );
    let max: Option<u32> = r.int(&format!("{label} `max`"), &c.max, 1, 10);
    let mut anchors = Vec::new();
    for a in &c.anchor {
        let a_ref = a.get_ref();
        let score: Option<u32> = r.int(
            &format!("{label} anchor `score`"),
            &a_ref.score,
            0,
            max.map_or(10, i64::from),
        );
        let en = r.text(&format!("{label} anchor `en`"), &a_ref.en);
        let zh = r.text(&format!("{label} anchor `zh`"), &a_ref.zh);
        if let Some(score) = score {
            if anchors.iter().any(|x: &Anchor| x.score == score) {
                r.at(
                    a_ref.score.span(),
                    format!("{label} score {score} is anchored twice"),
                );
            } else if let (Some(en), Some(zh)) = (en, zh) {
                anchors.push(Anchor { score, en, zh });
            }
        }
    }
    anchors.sort_by_key(|a| a.score);
    let max = max?;
    let has = |s: u32| anchors.iter().any(|a| a.score == s);
    if !has(0) || !has(max) || !anchors.iter().any(|a| a.score > 0 && a.score < max) {
        r.at(
            raw.span(),
            format!("{label} anchor at least the bottom (0), the top ({max}) and a score between"),
        );
    }
    Some(Criterion {
        id: id?,
        name_en: name_en?,
        name_zh: name_zh?,
        weight_bp: weight?,
        max,
        anchors,
    })
}

/// Reads `scorecards.toml`, reporting every problem with its line. `skills` are the
/// skills of `skills.toml` when that file loaded (tracks are checked against them).
pub(crate) fn load(r: &mut Report<'_>, skills: Option<&[Skill]>) -> Option<Scorecards> {
    let doc = r.document()?;
    let span = doc.span();
    let mut rest = DeTable::new();
    let mut list = None;
    for (key, value) in doc.into_inner() {
        if key.get_ref() == "scorecard" {
            list = Some(value);
        } else {
            rest.insert(key, value);
        }
    }
    let raw: Vec<Spanned<RawScorecard>> = r.tables("scorecard", list);
    let top: Option<RawTop> = r.de(Spanned::new(span, DeValue::Table(rest)));
    if raw.is_empty() {
        r.push(None, "no scorecards: add a [[scorecard]] table per track");
        return None;
    }
    let mut cards = Vec::new();
    let mut tracks = BTreeSet::new();
    for item in &raw {
        let card = item.get_ref();
        let track = r.slug("scorecard `track`", &card.track);
        if let Some(track) = &track {
            if let Some(skills) = skills
                && !skills.iter().any(|s| &s.id == track)
            {
                r.at(
                    card.track.span(),
                    format!("scorecard `track` `{track}` is not a skill of skills.toml"),
                );
            }
            if !tracks.insert(track.clone()) {
                r.at(
                    card.track.span(),
                    format!("a second scorecard for track `{track}`"),
                );
            }
        }
        let name = card.track.get_ref().clone();
        if card.criterion.is_empty() {
            r.at(
                item.span(),
                format!("scorecard `{name}` has no [[scorecard.criterion]]"),
            );
            continue;
        }
        let mut ids = BTreeSet::new();
        let mut criteria = Vec::new();
        for c in &card.criterion {
            if !ids.insert(c.get_ref().id.get_ref().clone()) {
                r.at(
                    c.get_ref().id.span(),
                    format!(
                        "scorecard `{name}`: a second criterion with id `{}`",
                        c.get_ref().id.get_ref()
                    ),
                );
            }
            criteria.extend(criterion(r, &name, c));
        }
        if criteria.len() == card.criterion.len() {
            let sum: u32 = criteria.iter().map(|c| c.weight_bp).sum();
            if sum != FULL_BP {
                r.at(
                    card.track.span(),
                    format!(
                        "scorecard `{name}`: the criteria's `weight_bp` must add up to 10000 (100%), they add up to {sum}"
                    ),
                );
            }
        }
        if let Some(track) = track {
            cards.push(Scorecard { track, criteria });
        }
    }
    let top = top?;
    let default_track = top.default_track.get_ref().clone();
    if !tracks.contains(&default_track) {
        r.at(
            top.default_track.span(),
            format!("`default_track` `{default_track}` has no [[scorecard]]"),
        );
    }
    r.clean().then_some(Scorecards {
        default_track,
        cards,
    })
}
