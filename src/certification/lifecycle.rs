//! The agent lifecycle as a pure state machine: which events may move an agent from one
//! status to another, and who may cause them. Every move the service makes goes through
//! [`transition`] and is written as a lifecycle event (churn is computed from those).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::model::AgentStatus;

/// Something that happens to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentEvent {
    /// The online exam was passed (graded by the service).
    PassExam,
    /// A supervised trial shift was booked.
    StartTrial,
    /// The trial's reviewer passed it.
    PassTrial,
    /// The trial's reviewer failed it, or the agent missed it: back to booking another
    /// trial.
    FailTrial,
    /// The agent (or an admin) cancelled a booked trial before it began.
    CancelTrial,
    /// An admin suspended the agent (quality, conduct, no-shows).
    Suspend,
    /// An admin lifted the suspension.
    Reinstate,
    /// The agent left of their own accord.
    Leave,
    /// The agent came back.
    Return,
}

/// Who caused an event; each event has the parties allowed to cause it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The agent themself.
    Agent,
    /// Platform staff.
    Admin,
    /// The service (exam grading, schedules).
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("an agent who is {from} cannot {event}")]
    NotAllowed {
        from: &'static str,
        event: &'static str,
    },
    #[error("only {allowed} may {event}")]
    WrongParty {
        event: &'static str,
        allowed: &'static str,
    },
}

impl AgentEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentEvent::PassExam => "pass_exam",
            AgentEvent::StartTrial => "start_trial",
            AgentEvent::PassTrial => "pass_trial",
            AgentEvent::FailTrial => "fail_trial",
            AgentEvent::CancelTrial => "cancel_trial",
            AgentEvent::Suspend => "suspend",
            AgentEvent::Reinstate => "reinstate",
            AgentEvent::Leave => "leave",
            AgentEvent::Return => "return",
        }
    }

    fn allowed(self, party: Party) -> Result<(), TransitionError> {
        let (ok, allowed) = match self {
            AgentEvent::PassExam => (party == Party::System, "the exam grading"),
            AgentEvent::StartTrial => (party != Party::System, "the agent or an admin"),
            AgentEvent::PassTrial => (party == Party::Admin, "a trial reviewer"),
            // The service fails a trial the agent never turned up to.
            AgentEvent::FailTrial => (party != Party::Agent, "a trial reviewer"),
            AgentEvent::CancelTrial => (party != Party::System, "the agent or an admin"),
            AgentEvent::Suspend | AgentEvent::Reinstate => (party == Party::Admin, "an admin"),
            AgentEvent::Leave | AgentEvent::Return => (party == Party::Agent, "the agent"),
        };
        if ok {
            Ok(())
        } else {
            Err(TransitionError::WrongParty {
                event: self.as_str(),
                allowed,
            })
        }
    }
}

/// The status after `event`, for an agent who is `from` now. `previous` is the status the
/// agent had before their last suspension or departure (the service stores it), which
/// [`AgentEvent::Reinstate`] and [`AgentEvent::Return`] restore; unknown history restores
/// to the start, never to certified.
pub fn transition(
    from: AgentStatus,
    event: AgentEvent,
    party: Party,
    previous: Option<AgentStatus>,
) -> Result<AgentStatus, TransitionError> {
    use AgentEvent::*;
    use AgentStatus::*;
    event.allowed(party)?;
    let to = match (from, event) {
        (Applicant, PassExam) => Some(ExamPassed),
        (ExamPassed, StartTrial) => Some(InTrial),
        (InTrial, PassTrial) => Some(Certified),
        (InTrial, FailTrial | CancelTrial) => Some(ExamPassed),
        (Applicant | ExamPassed | InTrial | Certified, Suspend) => Some(Suspended),
        // A lifted suspension restores the agent's standing; a trial slot does not wait.
        (Suspended, Reinstate) => Some(restore(previous)),
        (Applicant | ExamPassed | InTrial | Certified, Leave) => Some(Left),
        // Coming back restores where the agent was; a trial slot does not wait for them, and
        // nobody leaves to escape a suspension.
        (Left, Return) => Some(restore(previous)),
        _ => None,
    };
    to.ok_or(TransitionError::NotAllowed {
        from: from.as_str(),
        event: event.as_str(),
    })
}

fn restore(previous: Option<AgentStatus>) -> AgentStatus {
    match previous {
        Some(AgentStatus::Certified) => AgentStatus::Certified,
        Some(AgentStatus::ExamPassed | AgentStatus::InTrial) => AgentStatus::ExamPassed,
        // Leaving while suspended is refused, so this is only unknown or odd history.
        Some(AgentStatus::Applicant | AgentStatus::Suspended | AgentStatus::Left) | None => {
            AgentStatus::Applicant
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgentEvent::*;
    use AgentStatus::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_to_certified() {
        let mut s = Applicant;
        s = transition(s, PassExam, Party::System, None).unwrap();
        s = transition(s, StartTrial, Party::Agent, None).unwrap();
        s = transition(s, PassTrial, Party::Admin, None).unwrap();
        assert_eq!(s, Certified);
    }

    #[test]
    fn a_failed_trial_goes_back_to_booking_one() {
        assert_eq!(
            transition(InTrial, FailTrial, Party::Admin, None),
            Ok(ExamPassed)
        );
    }

    #[test]
    fn a_missed_or_cancelled_trial_goes_back_too() {
        assert_eq!(
            transition(InTrial, FailTrial, Party::System, None),
            Ok(ExamPassed)
        );
        assert_eq!(
            transition(InTrial, CancelTrial, Party::Agent, None),
            Ok(ExamPassed)
        );
        assert!(matches!(
            transition(InTrial, FailTrial, Party::Agent, None),
            Err(TransitionError::WrongParty { .. })
        ));
        assert!(transition(Certified, CancelTrial, Party::Agent, None).is_err());
    }

    #[test]
    fn only_the_right_party_may_act() {
        assert!(matches!(
            transition(Applicant, PassExam, Party::Agent, None),
            Err(TransitionError::WrongParty { .. })
        ));
        assert!(matches!(
            transition(InTrial, PassTrial, Party::Agent, None),
            Err(TransitionError::WrongParty { .. })
        ));
        assert!(matches!(
            transition(Certified, Leave, Party::Admin, None),
            Err(TransitionError::WrongParty { .. })
        ));
        assert!(matches!(
            transition(Certified, Suspend, Party::Agent, None),
            Err(TransitionError::WrongParty { .. })
        ));
    }

    #[test]
    fn leaving_and_coming_back() {
        let left = transition(Certified, Leave, Party::Agent, None).unwrap();
        assert_eq!(left, Left);
        assert_eq!(
            transition(Left, Return, Party::Agent, Some(Certified)),
            Ok(Certified)
        );
        assert_eq!(
            transition(Left, Return, Party::Agent, Some(InTrial)),
            Ok(ExamPassed)
        );
        assert_eq!(transition(Left, Return, Party::Agent, None), Ok(Applicant));
        // Unknown history never certifies anyone.
        assert_eq!(
            transition(Suspended, Reinstate, Party::Admin, None),
            Ok(Applicant)
        );
        assert_eq!(
            transition(Suspended, Reinstate, Party::Admin, Some(Certified)),
            Ok(Certified)
        );
        // Suspended agents cannot leave, so they cannot come back unsuspended.
        assert!(transition(Suspended, Leave, Party::Agent, None).is_err());
    }

    #[test]
    fn impossible_moves_are_refused() {
        assert!(transition(Applicant, PassTrial, Party::Admin, None).is_err());
        assert!(transition(Certified, PassExam, Party::System, None).is_err());
        assert!(transition(Left, Suspend, Party::Admin, None).is_err());
        assert!(transition(Certified, Return, Party::Agent, None).is_err());
    }

    fn status() -> impl Strategy<Value = AgentStatus> {
        (0usize..6).prop_map(|i| AgentStatus::ALL[i])
    }

    fn event() -> impl Strategy<Value = AgentEvent> {
        prop_oneof![
            Just(PassExam),
            Just(StartTrial),
            Just(PassTrial),
            Just(FailTrial),
            Just(CancelTrial),
            Just(Suspend),
            Just(Reinstate),
            Just(Leave),
            Just(Return)
        ]
    }

    fn party() -> impl Strategy<Value = Party> {
        prop_oneof![Just(Party::Agent), Just(Party::Admin), Just(Party::System)]
    }

    proptest! {
        /// Certification is earned only through a passed trial: whatever the events (and
        /// whoever tries them), an agent is certified only after a trial was passed.
        #[test]
        fn certified_only_after_a_passed_trial(events in proptest::collection::vec((event(), party()), 0..40)) {
            let mut s = Applicant;
            let mut previous = None;
            let mut earned = false;
            for (e, p) in events {
                if let Ok(next) = transition(s, e, p, previous) {
                    if matches!(e, Suspend | Leave) {
                        previous = Some(s);
                    }
                    if e == PassTrial {
                        earned = true;
                    }
                    prop_assert!(next != Certified || earned, "{s:?} -{e:?}-> certified without a passed trial");
                    s = next;
                }
            }
        }

        #[test]
        fn every_refusal_says_why(from in status(), e in event(), p in party()) {
            if let Err(err) = transition(from, e, p, None) {
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }
}
