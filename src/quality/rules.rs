//! The quality rules (`seat-rules/quality.toml`): the weights of the score's parts, when a
//! chat counts as resolved, how reviews are sampled and how long a review may be disputed.

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::score::Weights;
use crate::seats::rules::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityRules {
    pub weights: Weights,
    /// A closed chat is resolved unless its customer opens another chat with the shop
    /// within this many hours.
    pub reopen_window_hours: u32,
    /// Chats proposed for review per agent per period, at least.
    pub sample_min_chats: u32,
    /// ... for an agent certified less than `new_agent_days` ago.
    pub sample_new_agent_chats: u32,
    pub new_agent_days: u32,
    /// Every chat rated this many stars or fewer joins the sample (0: none).
    pub sample_rating_at_most: u32,
    /// Every chat whose first reply took longer than the target joins the sample.
    pub sample_slow_first_response: bool,
    /// How long after a review its agent may dispute it.
    pub dispute_window_hours: u32,
}

impl Default for QualityRules {
    /// The shipped `quality.toml`.
    fn default() -> Self {
        QualityRules {
            weights: Weights::default(),
            reopen_window_hours: 48,
            sample_min_chats: 5,
            sample_new_agent_chats: 10,
            new_agent_days: 30,
            sample_rating_at_most: 2,
            sample_slow_first_response: true,
            dispute_window_hours: 72,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    reviews_bp: Spanned<i64>,
    ratings_bp: Spanned<i64>,
    first_response_bp: Spanned<i64>,
    resolution_bp: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuality {
    weights: Spanned<RawWeights>,
    reopen_window_hours: Spanned<i64>,
    sample_min_chats: Spanned<i64>,
    sample_new_agent_chats: Spanned<i64>,
    new_agent_days: Spanned<i64>,
    sample_rating_at_most: Spanned<i64>,
    sample_slow_first_response: bool,
    dispute_window_hours: Spanned<i64>,
}

/// Reads `quality.toml`, reporting every problem with its line.
pub(crate) fn load(r: &mut Report<'_>) -> Option<QualityRules> {
    let doc = r.document()?;
    let span = doc.span();
    let raw: RawQuality = r.de(Spanned::new(span, DeValue::Table(doc.into_inner())))?;
    let w = raw.weights.get_ref();
    let reviews = r.int("`weights.reviews_bp`", &w.reviews_bp, 0, 10_000);
    let ratings = r.int("`weights.ratings_bp`", &w.ratings_bp, 0, 10_000);
    let first = r.int(
        "`weights.first_response_bp`",
        &w.first_response_bp,
        0,
        10_000,
    );
    let resolution = r.int("`weights.resolution_bp`", &w.resolution_bp, 0, 10_000);
    let weights = match (reviews, ratings, first, resolution) {
        (Some(reviews_bp), Some(ratings_bp), Some(first_response_bp), Some(resolution_bp)) => {
            let sum = reviews_bp + ratings_bp + first_response_bp + resolution_bp;
            if sum == 10_000 {
                Some(Weights {
                    reviews_bp,
                    ratings_bp,
                    first_response_bp,
                    resolution_bp,
                })
            } else {
                r.at(
                    raw.weights.span(),
                    format!("the `weights` must add up to 10000 (100%), they add up to {sum}"),
                );
                None
            }
        }
        _ => None,
    };
    let reopen = r.int("`reopen_window_hours`", &raw.reopen_window_hours, 1, 720);
    let min = r.int("`sample_min_chats`", &raw.sample_min_chats, 0, 1_000);
    let new_min = r.int(
        "`sample_new_agent_chats`",
        &raw.sample_new_agent_chats,
        0,
        1_000,
    );
    let new_days = r.int("`new_agent_days`", &raw.new_agent_days, 0, 365);
    let rating = r.int("`sample_rating_at_most`", &raw.sample_rating_at_most, 0, 5);
    let dispute = r.int("`dispute_window_hours`", &raw.dispute_window_hours, 1, 720);
    Some(QualityRules {
        weights: weights?,
        reopen_window_hours: reopen?,
        sample_min_chats: min?,
        sample_new_agent_chats: new_min?,
        new_agent_days: new_days?,
        sample_rating_at_most: rating?,
        sample_slow_first_response: raw.sample_slow_first_response,
        dispute_window_hours: dispute?,
    })
}
