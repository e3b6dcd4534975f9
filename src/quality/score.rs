//! An agent's quality score for a period, a pure function of what happened in it.
//!
//! Four parts, each 0-100 (kept in hundredths of a point, 0-10000, so every figure is an
//! integer and the same on every machine):
//! - **reviews**: the mean score of the period's scorecard reviews of the agent's chats
//!   ([`review_score`]: each criterion's score on its anchored scale, weighted);
//! - **ratings**: the mean customer rating, 1 star = 0 and 5 stars = 100;
//! - **first response**: the share of chats whose first reply came within the target
//!   (`first_response_target_secs` in `chat.toml`);
//! - **resolution**: the share of closed chats the same customer did not come back about
//!   within the reopen window (`quality.toml`), i.e. solved the first time.
//!
//! The score is the weighted mean of the parts (weights from `quality.toml`). A part with
//! nothing to measure (no reviews yet, no ratings) is left out and the others share its
//! weight, so an agent is never marked down for what nobody measured; with nothing at all
//! there is no score (the pay plan then applies its no-score multiplier). Rounding: half a
//! hundredth and up rounds up, once, at the end of each part and of the score.

use serde::Serialize;
use utoipa::ToSchema;

/// The weights of the parts, in basis points summing to 10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub reviews_bp: u32,
    pub ratings_bp: u32,
    pub first_response_bp: u32,
    pub resolution_bp: u32,
}

impl Default for Weights {
    /// The shipped `quality.toml`.
    fn default() -> Self {
        Weights {
            reviews_bp: 4_000,
            ratings_bp: 3_000,
            first_response_bp: 2_000,
            resolution_bp: 1_000,
        }
    }
}

/// What the period holds for one agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// Each review's score in hundredths of a point (0-10000).
    pub review_scores_x100: Vec<u32>,
    /// Customer ratings, 1-5.
    pub ratings: Vec<u8>,
    /// Chats the agent answered, and how many of them within the first-response target.
    pub answered: u32,
    pub answered_in_target: u32,
    /// Chats closed, and how many of them the customer came back about within the window.
    pub closed: u32,
    pub reopened: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartName {
    Reviews,
    Ratings,
    FirstResponse,
    Resolution,
}

/// One part of the score as the agent's quality page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Part {
    pub name: PartName,
    /// 0-10000; `None` when there was nothing to measure.
    pub value_x100: Option<u32>,
    /// The weight from the rules, in basis points.
    pub weight_bp: u32,
    /// The weight it carried in this score after absent parts' weights were shared out.
    pub effective_weight_bp: u32,
    /// How many chats, reviews or ratings it was measured on.
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Score {
    /// 0-10000; `None` with nothing measured.
    pub score_x100: Option<u32>,
    pub parts: Vec<Part>,
}

/// `num / den` rounded half up (both non-negative, `den` > 0).
fn div_round(num: u64, den: u64) -> u64 {
    (2 * num + den) / (2 * den)
}

fn share_x100(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| div_round(u64::from(part.min(whole)) * 10_000, u64::from(whole)) as u32)
}

/// The score for `facts` under `weights`.
pub fn score(weights: &Weights, facts: &Facts) -> Score {
    let reviews = (!facts.review_scores_x100.is_empty()).then(|| {
        let sum: u64 = facts
            .review_scores_x100
            .iter()
            .map(|s| u64::from((*s).min(10_000)))
            .sum();
        div_round(sum, facts.review_scores_x100.len() as u64) as u32
    });
    let ratings = (!facts.ratings.is_empty()).then(|| {
        // (stars - 1) / 4 of 100 points, averaged.
        let sum: u64 = facts
            .ratings
            .iter()
            .map(|r| u64::from(r.clamp(&1, &5) - 1) * 2_500)
            .sum();
        div_round(sum, facts.ratings.len() as u64) as u32
    });
    let first_response = share_x100(facts.answered_in_target, facts.answered);
    let resolution = share_x100(
        facts.closed - facts.reopened.min(facts.closed),
        facts.closed,
    );
    let raw = [
        (
            PartName::Reviews,
            reviews,
            weights.reviews_bp,
            facts.review_scores_x100.len() as u32,
        ),
        (
            PartName::Ratings,
            ratings,
            weights.ratings_bp,
            facts.ratings.len() as u32,
        ),
        (
            PartName::FirstResponse,
            first_response,
            weights.first_response_bp,
            facts.answered,
        ),
        (
            PartName::Resolution,
            resolution,
            weights.resolution_bp,
            facts.closed,
        ),
    ];
    let present: u64 = raw
        .iter()
        .filter(|(_, v, _, _)| v.is_some())
        .map(|(_, _, w, _)| u64::from(*w))
        .sum();
    let weighted: u64 = raw
        .iter()
        .filter_map(|(_, v, w, _)| v.map(|v| u64::from(v) * u64::from(*w)))
        .sum();
    let score_x100 = (present > 0).then(|| div_round(weighted, present) as u32);
    let parts = raw
        .into_iter()
        .map(|(name, value_x100, weight_bp, count)| Part {
            name,
            value_x100,
            weight_bp,
            effective_weight_bp: match value_x100 {
                Some(_) if present > 0 => div_round(u64::from(weight_bp) * 10_000, present) as u32,
                _ => 0,
            },
            count,
        })
        .collect();
    Score { score_x100, parts }
}

/// One criterion of a scorecard review: its weight and the score given on its scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriterionScore {
    pub weight_bp: u32,
    pub score: u32,
    /// The top of the criterion's anchored scale (the bottom is 0).
    pub max: u32,
}

/// Why a review cannot be scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewError {
    /// The criterion at this index scored above its scale.
    OutOfScale(usize),
    /// No criterion carries weight.
    NoWeight,
}

/// A review's score in hundredths of a point: each criterion's share of its scale,
/// weighted.
pub fn review_score(criteria: &[CriterionScore]) -> Result<u32, ReviewError> {
    if let Some(i) = criteria.iter().position(|c| c.max == 0 || c.score > c.max) {
        return Err(ReviewError::OutOfScale(i));
    }
    let total: u64 = criteria.iter().map(|c| u64::from(c.weight_bp)).sum();
    if total == 0 {
        return Err(ReviewError::NoWeight);
    }
    // sum(weight * score / max) / total, as one fraction over the product of the scales'
    // tops would overflow; each criterion's share is taken in millionths first.
    let weighted: u64 = criteria
        .iter()
        .map(|c| {
            u64::from(c.weight_bp) * div_round(u64::from(c.score) * 1_000_000, u64::from(c.max))
        })
        .sum();
    Ok(div_round(weighted, total * 100) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value(s: &Score, name: PartName) -> Option<u32> {
        s.parts.iter().find(|p| p.name == name).unwrap().value_x100
    }

    #[test]
    fn each_part_and_the_weighted_score() {
        let facts = Facts {
            review_scores_x100: vec![9_000, 8_000], // mean 85
            ratings: vec![5, 5, 4, 3],              // (4+4+3+2)/4/4 = 81.25
            answered: 40,
            answered_in_target: 38, // 95
            closed: 40,
            reopened: 2, // 95
        };
        let s = score(&Weights::default(), &facts);
        assert_eq!(value(&s, PartName::Reviews), Some(8_500));
        assert_eq!(value(&s, PartName::Ratings), Some(8_125));
        assert_eq!(value(&s, PartName::FirstResponse), Some(9_500));
        assert_eq!(value(&s, PartName::Resolution), Some(9_500));
        // 0.4*85 + 0.3*81.25 + 0.2*95 + 0.1*95 = 86.875 -> 86.88
        assert_eq!(s.score_x100, Some(8_688));
        assert!(s.parts.iter().all(|p| p.effective_weight_bp == p.weight_bp));
    }

    #[test]
    fn without_reviews_the_other_parts_share_their_weight() {
        let facts = Facts {
            ratings: vec![5],
            answered: 10,
            answered_in_target: 5,
            closed: 10,
            reopened: 0,
            ..Facts::default()
        };
        let s = score(&Weights::default(), &facts);
        assert_eq!(value(&s, PartName::Reviews), None);
        // (0.3*100 + 0.2*50 + 0.1*100) / 0.6 = 83.33
        assert_eq!(s.score_x100, Some(8_333));
        let eff: Vec<u32> = s.parts.iter().map(|p| p.effective_weight_bp).collect();
        assert_eq!(eff, [0, 5_000, 3_333, 1_667]);
    }

    #[test]
    fn without_reviews_or_ratings_speed_and_resolution_decide() {
        let facts = Facts {
            answered: 4,
            answered_in_target: 4,
            closed: 4,
            reopened: 4,
            ..Facts::default()
        };
        let s = score(&Weights::default(), &facts);
        // (0.2*100 + 0.1*0) / 0.3
        assert_eq!(s.score_x100, Some(6_667));
    }

    #[test]
    fn nothing_measured_is_no_score() {
        let s = score(&Weights::default(), &Facts::default());
        assert_eq!(s.score_x100, None);
        assert!(
            s.parts
                .iter()
                .all(|p| p.value_x100.is_none() && p.effective_weight_bp == 0)
        );
    }

    #[test]
    fn one_star_is_zero_and_five_stars_a_hundred() {
        let one = score(
            &Weights::default(),
            &Facts {
                ratings: vec![1],
                ..Facts::default()
            },
        );
        let five = score(
            &Weights::default(),
            &Facts {
                ratings: vec![5],
                ..Facts::default()
            },
        );
        assert_eq!((one.score_x100, five.score_x100), (Some(0), Some(10_000)));
    }

    #[test]
    fn reviews_weigh_their_criteria_on_their_scales() {
        let criteria = [
            CriterionScore {
                weight_bp: 5_000,
                score: 4,
                max: 4,
            }, // 100
            CriterionScore {
                weight_bp: 3_000,
                score: 2,
                max: 4,
            }, // 50
            CriterionScore {
                weight_bp: 2_000,
                score: 1,
                max: 3,
            }, // 33.33
        ];
        // 50 + 15 + 6.667 = 71.67
        assert_eq!(review_score(&criteria), Ok(7_167));
        assert_eq!(
            review_score(&[CriterionScore {
                weight_bp: 1,
                score: 5,
                max: 4
            }]),
            Err(ReviewError::OutOfScale(0))
        );
        assert_eq!(
            review_score(&[CriterionScore {
                weight_bp: 0,
                score: 1,
                max: 4
            }]),
            Err(ReviewError::NoWeight)
        );
        assert_eq!(review_score(&[]), Err(ReviewError::NoWeight));
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            prop::collection::vec(0u32..=10_000, 0..20),
            prop::collection::vec(1u8..=5, 0..50),
            0u32..500,
            0u32..500,
            0u32..500,
            0u32..500,
        )
            .prop_map(
                |(reviews, ratings, answered, in_target, closed, reopened)| Facts {
                    review_scores_x100: reviews,
                    ratings,
                    answered,
                    answered_in_target: in_target.min(answered),
                    closed,
                    reopened: reopened.min(closed),
                },
            )
    }

    proptest! {
        #[test]
        fn the_score_lies_between_its_parts(f in facts()) {
            let s = score(&Weights::default(), &f);
            let values: Vec<u32> = s.parts.iter().filter_map(|p| p.value_x100).collect();
            match s.score_x100 {
                None => prop_assert!(values.is_empty()),
                Some(v) => {
                    prop_assert!(v <= 10_000);
                    prop_assert!(v >= *values.iter().min().unwrap());
                    prop_assert!(v <= *values.iter().max().unwrap());
                }
            }
            let effective: u32 = s.parts.iter().map(|p| p.effective_weight_bp).sum();
            prop_assert!(values.is_empty() || (9_998..=10_002).contains(&effective));
        }

        #[test]
        fn a_five_star_rating_never_lowers_the_score(f in facts()) {
            let before = score(&Weights::default(), &f).score_x100;
            let mut better = f.clone();
            better.ratings.push(5);
            let after = score(&Weights::default(), &better).score_x100.unwrap();
            prop_assert!(before.is_none_or(|b| after >= b), "{:?} -> {}", before, after);
        }

        #[test]
        fn reviews_stay_on_the_scale(
            criteria in prop::collection::vec((1u32..10_000, 1u32..10).prop_flat_map(|(w, max)| (Just(w), 0..=max, Just(max))), 1..8),
        ) {
            let list: Vec<CriterionScore> = criteria.iter().map(|&(weight_bp, score, max)| CriterionScore { weight_bp, score, max }).collect();
            let s = review_score(&list).unwrap();
            prop_assert!(s <= 10_000);
            let all_top: Vec<CriterionScore> = list.iter().map(|c| CriterionScore { score: c.max, ..*c }).collect();
            prop_assert_eq!(review_score(&all_top), Ok(10_000));
        }
    }
}
