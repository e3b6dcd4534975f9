//! Commitment adherence: how much of the time an agent promised they actually worked. It is
//! the churn warning's early signal (agents who start dropping shifts tend to leave) and a
//! fairness input for auto-assignment, so it judges only what the agent controlled.
//!
//! The formula, over the agent's shifts in a period:
//!
//! - **committed minutes** = the shift minutes of every shift `Worked`, `ReleasedLate` or
//!   `NoShow`. A release before the free-release cutoff gave the shift back in time for
//!   someone else to take it, a swap handed it to another agent, a merchant's cancellation was
//!   not the agent's doing, and an upcoming shift has not been kept or broken yet: none of
//!   these count.
//! - **worked minutes** = for each `Worked` shift, the minutes worked, clamped to
//!   `0..=shift minutes` (staying late is welcome but cannot make up for another no-show).
//! - **ratio** = `floor(worked * 10000 / committed)` in basis points, so `0..=10000`; `None`
//!   when nothing was committed, because "no data" must not read as either perfect or zero.
//!
//! Negative minutes (a data error) count as zero.

/// What became of one claimed shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Checked in; `worked_minutes` from check-in to check-out (or the shift's end).
    Worked {
        worked_minutes: i64,
    },
    /// Released before the free-release cutoff.
    ReleasedFree,
    /// Released after the cutoff, when it was hard to fill.
    ReleasedLate,
    NoShow,
    /// Handed over to another agent through a swap.
    SwappedOut,
    /// The merchant cancelled the booking.
    Cancelled,
    /// Not happened yet.
    Upcoming,
}

/// One claimed shift of the period and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commitment {
    /// The shift's length.
    pub minutes: i64,
    pub outcome: Outcome,
}

/// An agent's adherence over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Adherence {
    pub committed_minutes: i64,
    pub worked_minutes: i64,
    pub late_releases: u32,
    pub no_shows: u32,
    /// Worked share of committed time in basis points; `None` when nothing was committed.
    pub ratio_bp: Option<u16>,
}

/// Adherence of one agent from their commitments in a period (see the module doc).
pub fn adherence(commitments: &[Commitment]) -> Adherence {
    let mut a = Adherence::default();
    for c in commitments {
        let minutes = c.minutes.max(0);
        let (committed, worked) = match c.outcome {
            Outcome::Worked { worked_minutes } => (minutes, worked_minutes.clamp(0, minutes)),
            Outcome::ReleasedLate => {
                a.late_releases = a.late_releases.saturating_add(1);
                (minutes, 0)
            }
            Outcome::NoShow => {
                a.no_shows = a.no_shows.saturating_add(1);
                (minutes, 0)
            }
            Outcome::ReleasedFree
            | Outcome::SwappedOut
            | Outcome::Cancelled
            | Outcome::Upcoming => (0, 0),
        };
        a.committed_minutes = a.committed_minutes.saturating_add(committed);
        a.worked_minutes = a.worked_minutes.saturating_add(worked);
    }
    a.ratio_bp = ratio_bp(a.worked_minutes, a.committed_minutes);
    a
}

fn ratio_bp(worked: i64, committed: i64) -> Option<u16> {
    if committed <= 0 {
        return None;
    }
    let bp = i128::from(worked.clamp(0, committed)) * 10_000 / i128::from(committed);
    u16::try_from(bp).ok()
}

/// Whether a ratio is low enough to warn about churn. No ratio (nothing committed yet) is
/// never at risk: a new or resting agent is not a leaving one.
pub fn at_risk(ratio_bp: Option<u16>, threshold_bp: u16) -> bool {
    ratio_bp.is_some_and(|r| r < threshold_bp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(minutes: i64, outcome: Outcome) -> Commitment {
        Commitment { minutes, outcome }
    }

    fn worked(minutes: i64, worked_minutes: i64) -> Commitment {
        c(minutes, Outcome::Worked { worked_minutes })
    }

    #[test]
    fn nothing_committed_has_no_ratio_and_is_not_at_risk() {
        let a = adherence(&[
            c(240, Outcome::ReleasedFree),
            c(240, Outcome::SwappedOut),
            c(240, Outcome::Cancelled),
            c(240, Outcome::Upcoming),
        ]);
        assert_eq!(a, Adherence::default());
        assert!(!at_risk(a.ratio_bp, 8_000));
    }

    #[test]
    fn the_share_of_committed_minutes_worked() {
        let a = adherence(&[
            worked(240, 240),
            worked(240, 180),
            c(120, Outcome::ReleasedLate),
            c(240, Outcome::NoShow),
            c(480, Outcome::ReleasedFree),
        ]);
        assert_eq!(
            a,
            Adherence {
                committed_minutes: 840,
                worked_minutes: 420,
                late_releases: 1,
                no_shows: 1,
                ratio_bp: Some(5_000),
            }
        );
        assert!(at_risk(a.ratio_bp, 8_000));
        assert!(!at_risk(a.ratio_bp, 5_000), "the threshold itself is fine");
    }

    #[test]
    fn overtime_does_not_make_up_for_a_no_show() {
        let a = adherence(&[worked(240, 600), c(240, Outcome::NoShow)]);
        assert_eq!(a.worked_minutes, 240);
        assert_eq!(a.ratio_bp, Some(5_000));
    }

    #[test]
    fn the_ratio_rounds_down_and_bad_minutes_count_as_zero() {
        let a = adherence(&[worked(3, 2)]);
        assert_eq!(a.ratio_bp, Some(6_666));
        let a = adherence(&[worked(-60, 30), worked(60, -5)]);
        assert_eq!((a.committed_minutes, a.worked_minutes), (60, 0));
        assert_eq!(a.ratio_bp, Some(0));
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            (-60i64..900).prop_map(|worked_minutes| Outcome::Worked { worked_minutes }),
            Just(Outcome::ReleasedFree),
            Just(Outcome::ReleasedLate),
            Just(Outcome::NoShow),
            Just(Outcome::SwappedOut),
            Just(Outcome::Cancelled),
            Just(Outcome::Upcoming),
        ]
    }

    fn commitments() -> impl Strategy<Value = Vec<Commitment>> {
        proptest::collection::vec(
            (-30i64..720, outcome()).prop_map(|(minutes, outcome)| c(minutes, outcome)),
            0..40,
        )
    }

    proptest! {
        #[test]
        fn the_ratio_stays_in_range(list in commitments()) {
            let a = adherence(&list);
            prop_assert!(a.worked_minutes <= a.committed_minutes);
            match a.ratio_bp {
                Some(r) => prop_assert!(r <= 10_000 && a.committed_minutes > 0),
                None => prop_assert_eq!(a.committed_minutes, 0),
            }
        }

        #[test]
        fn a_no_show_never_raises_the_ratio(list in commitments(), minutes in 0i64..720) {
            let before = adherence(&list);
            let mut more = list.clone();
            more.push(c(minutes, Outcome::NoShow));
            let after = adherence(&more);
            prop_assert_eq!(after.no_shows, before.no_shows + 1);
            if let (Some(b), Some(a)) = (before.ratio_bp, after.ratio_bp) {
                prop_assert!(a <= b, "{a} > {b}");
            }
        }

        #[test]
        fn uncounted_outcomes_never_change_anything(
            list in commitments(),
            minutes in 0i64..720,
            which in 0usize..4,
        ) {
            let outcome = [
                Outcome::ReleasedFree,
                Outcome::SwappedOut,
                Outcome::Cancelled,
                Outcome::Upcoming,
            ][which];
            let mut more = list.clone();
            more.insert(list.len() / 2, c(minutes, outcome));
            prop_assert_eq!(adherence(&more), adherence(&list));
        }
    }
}
