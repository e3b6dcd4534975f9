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
    let clock = state.clock.clone();
    let public_url = state.public_url.clone();
    let result = state
        .db
        .run(move |conn| {
            let now = clock.now();
            Ok::<_, crate::error::AppError>(Done {
                graded: super::attempts::grade_overdue(conn, now, &public_url)?,
                trials_closed: super::trials::close_ended(conn, now, &public_url)?,
                reminders: super::trials::expiry_reminders(conn, now, &public_url)?,
            })
        })
        .await;
    match result {
        Ok(done) => {
            if done != Done::default() {
                tracing::info!(?done, "certification housekeeping");
                state.wake_outbox();
            }
            done
        }
        Err(e) => {
            tracing::warn!(error = %e, "certification housekeeping failed; will retry");
            Done::default()
        }
    }
}
