//! Certification's share of the background work: grade exam attempts whose deadline
//! passed, close trials whose slot ended, and send certification expiry reminders. Every
//! step is conditional in the database, so several instances may run it.

use crate::seats::jobs::run_step;
use crate::state::AppState;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub graded: usize,
    pub trials_closed: usize,
    pub reminders: usize,
}

pub async fn tick(state: &AppState) -> Done {
    let ctx = super::mails::MailCtx::new(state);
    let step = |name, f| run_step(state, &ctx, name, f);
    let done = Done {
        graded: step("grade_overdue", super::attempts::grade_overdue).await,
        trials_closed: step("close_ended", super::trials::close_ended).await,
        reminders: step("expiry_reminders", super::trials::expiry_reminders).await,
    };
    if done != Done::default() {
        tracing::info!(?done, "certification housekeeping");
        state.wake_outbox();
    }
    done
}
