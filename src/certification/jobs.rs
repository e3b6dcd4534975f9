//! Certification's share of the background work: grade exam attempts whose deadline
//! passed, close trials whose slot ended, and send certification expiry reminders. Every
//! step is conditional in the database, so several instances may run it.

use crate::state::AppState;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub graded: usize,
    pub trials_closed: usize,
    pub reminders: usize,
}

pub async fn tick(state: &AppState) -> Done {
    let ctx = super::mails::MailCtx::new(state);
    // Each step on its own: one failing does not hold up the others.
    let step = |name: &'static str,
                f: fn(
        &mut crate::db::DbConn,
        chrono::NaiveDateTime,
        &super::mails::MailCtx,
    ) -> Result<usize, crate::error::AppError>| {
        let clock = state.clock.clone();
        let ctx = ctx.clone();
        async move {
            match state.db.run(move |conn| f(conn, clock.now(), &ctx)).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(step = name, error = %e, "certification housekeeping failed; will retry");
                    0
                }
            }
        }
    };
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
