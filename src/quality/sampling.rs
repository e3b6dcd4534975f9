//! Which of an agent's chats a period's review sample proposes, so that reviews are fair
//! and not cherry-picked (pure).
//!
//! - Every chat the customer rated `sample_rating_at_most` stars or fewer is in, and (when
//!   the rules say so) every chat whose first reply missed the target: the chats most
//!   likely to need coaching are never left out.
//! - The rest of the sample, up to `sample_min_chats` (`sample_new_agent_chats` for an
//!   agent certified less than `new_agent_days` ago), is drawn from the other chats by a
//!   keyed hash of the period and the chat id: spread over the period, not chosen by
//!   whoever reviews, and the same every time it is asked for (a reviewer cannot re-roll
//!   it).

use sha2::{Digest, Sha256};

use super::rules::QualityRules;

/// One closed chat of the agent in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub chat_id: String,
    pub rating: Option<u8>,
    /// Whether the first reply came within the target (`None`: never answered).
    pub first_response_in_target: Option<bool>,
}

/// Why a chat is in the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    LowRating,
    SlowFirstResponse,
    Drawn,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::LowRating => "low_rating",
            Reason::SlowFirstResponse => "slow_first_response",
            Reason::Drawn => "drawn",
        }
    }
}

fn flagged(rules: &QualityRules, c: &Candidate) -> Option<Reason> {
    let low = c
        .rating
        .is_some_and(|r| u32::from(r) <= rules.sample_rating_at_most);
    if low {
        return Some(Reason::LowRating);
    }
    if rules.sample_slow_first_response && c.first_response_in_target == Some(false) {
        return Some(Reason::SlowFirstResponse);
    }
    None
}

fn draw_key(period_key: &str, chat_id: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(period_key.as_bytes());
    h.update([0]);
    h.update(chat_id.as_bytes());
    h.finalize().into()
}

/// The proposed sample: `(chat id, reason)`, flagged chats first, then drawn ones, each in
/// chat id order. `period_key` names the period and agent (e.g. `"2026-11-01/agent-id"`).
pub fn propose(
    rules: &QualityRules,
    new_agent: bool,
    period_key: &str,
    candidates: &[Candidate],
) -> Vec<(String, Reason)> {
    let target = if new_agent {
        rules.sample_new_agent_chats.max(rules.sample_min_chats)
    } else {
        rules.sample_min_chats
    } as usize;
    let mut sample: Vec<(String, Reason)> = Vec::new();
    let mut rest: Vec<([u8; 32], &str)> = Vec::new();
    for c in candidates {
        match flagged(rules, c) {
            Some(reason) => sample.push((c.chat_id.clone(), reason)),
            None => rest.push((draw_key(period_key, &c.chat_id), &c.chat_id)),
        }
    }
    sample.sort();
    sample.dedup_by(|a, b| a.0 == b.0);
    rest.sort();
    rest.dedup_by(|a, b| a.1 == b.1);
    let mut drawn: Vec<(String, Reason)> = rest
        .into_iter()
        .take(target.saturating_sub(sample.len()))
        .map(|(_, id)| (id.to_owned(), Reason::Drawn))
        .collect();
    drawn.sort();
    sample.extend(drawn);
    sample
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn chat(id: &str, rating: Option<u8>, in_target: Option<bool>) -> Candidate {
        Candidate {
            chat_id: id.into(),
            rating,
            first_response_in_target: in_target,
        }
    }

    #[test]
    fn low_ratings_and_slow_replies_always_join_then_the_draw_fills_up() {
        let rules = QualityRules::default(); // at least 5; 2 stars or fewer; slow replies
        let mut chats: Vec<Candidate> = (0..20)
            .map(|i| chat(&format!("c{i:02}"), Some(5), Some(true)))
            .collect();
        chats[3].rating = Some(1);
        chats[7].first_response_in_target = Some(false);
        chats[9].rating = Some(3);
        let sample = propose(&rules, false, "2026-11-01/a1", &chats);
        assert_eq!(sample.len(), 5);
        assert_eq!(sample[0], ("c03".to_owned(), Reason::LowRating));
        assert_eq!(sample[1], ("c07".to_owned(), Reason::SlowFirstResponse));
        assert!(sample[2..].iter().all(|(_, r)| *r == Reason::Drawn));
        // The same period draws the same chats; another period draws others.
        assert_eq!(propose(&rules, false, "2026-11-01/a1", &chats), sample);
        assert_ne!(propose(&rules, false, "2026-11-16/a1", &chats), sample);
    }

    #[test]
    fn new_agents_get_a_bigger_sample_and_few_chats_are_all_reviewed() {
        let rules = QualityRules::default();
        let chats: Vec<Candidate> = (0..30)
            .map(|i| chat(&format!("c{i:02}"), None, Some(true)))
            .collect();
        assert_eq!(propose(&rules, true, "p/a", &chats).len(), 10);
        assert_eq!(propose(&rules, true, "p/a", &chats[..3]).len(), 3);
        assert!(propose(&rules, false, "p/a", &[]).is_empty());
    }

    #[test]
    fn a_flag_can_be_turned_off() {
        let rules = QualityRules {
            sample_slow_first_response: false,
            sample_rating_at_most: 0,
            sample_min_chats: 0,
            ..QualityRules::default()
        };
        let chats = [chat("a", Some(1), Some(false))];
        assert!(propose(&rules, false, "p", &chats).is_empty());
    }

    proptest! {
        #[test]
        fn the_sample_is_the_flagged_chats_plus_a_fill_of_the_others(
            ratings in prop::collection::vec((prop::option::of(1u8..=5), prop::option::of(any::<bool>())), 0..60),
            new_agent in any::<bool>(),
            key in "[a-z0-9/-]{1,20}",
        ) {
            let rules = QualityRules::default();
            let chats: Vec<Candidate> = ratings.iter().enumerate()
                .map(|(i, (r, t))| chat(&format!("c{i}"), *r, *t)).collect();
            let sample = propose(&rules, new_agent, &key, &chats);
            let ids: BTreeSet<&str> = sample.iter().map(|(id, _)| id.as_str()).collect();
            prop_assert_eq!(ids.len(), sample.len(), "no chat twice");
            let flagged: Vec<&Candidate> = chats.iter().filter(|c| flagged(&rules, c).is_some()).collect();
            for c in &flagged {
                prop_assert!(ids.contains(c.chat_id.as_str()));
            }
            let target = if new_agent { 10 } else { 5 };
            let expected = flagged.len().max(target.min(chats.len()));
            prop_assert_eq!(sample.len(), expected);
            prop_assert_eq!(propose(&rules, new_agent, &key, &chats), sample.clone());
            // The order of the input does not change the sample.
            let mut reversed = chats.clone();
            reversed.reverse();
            prop_assert_eq!(propose(&rules, new_agent, &key, &reversed), sample);
        }
    }
}
