//! Runs chat use cases: one write transaction on the blocking pool, then the frames it
//! caused go out through the hub, then the queues it touched are routed (each in its own
//! short transaction, so a freed slot is offered again within milliseconds). Also the
//! timer loop.

use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::watch;

use super::service::{self, Effects};
use crate::db::{DbConn, write_transaction};
use crate::error::AppError;
use crate::seats::rules::ChatRules;
use crate::state::AppState;

/// Runs `f` in a write transaction and delivers its effects.
pub async fn run<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &ChatRules, NaiveDateTime) -> Result<(T, Effects), AppError>
        + Send
        + 'static,
{
    let (value, effects) = run_deferred(state, f).await?;
    deliver(state, effects).await;
    Ok(value)
}

/// Runs `f` in a write transaction and hands back its effects undelivered, for a caller
/// that must first register the socket the effects are for.
pub async fn run_deferred<T, F>(state: &AppState, f: F) -> Result<(T, Effects), AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &ChatRules, NaiveDateTime) -> Result<(T, Effects), AppError>
        + Send
        + 'static,
{
    let rules = state.rules().chat;
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| write_transaction(conn, |conn| f(conn, &rules, clock.now())))
        .await?)
}

/// Sends the frames and routes the queues an effect names. Routing failures are logged,
/// not returned: the use case itself succeeded, and the ticker routes again shortly.
pub async fn deliver(state: &AppState, effects: Effects) {
    wake_senders(state, &effects);
    state.hub.send(effects.pushes);
    // Queues where something changed first, customers told where they stand; then the
    // rechecks, which tell them only if a chat moved.
    let mut queues: Vec<((String, String), bool)> =
        effects.queues.iter().map(|q| (q.clone(), true)).collect();
    queues.extend(
        effects
            .recheck
            .difference(&effects.queues)
            .map(|q| (q.clone(), false)),
    );
    for ((merchant, skill), announce) in queues {
        let rules = state.rules().chat;
        let clock = state.clock.clone();
        let routed = state
            .db
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    service::dispatch(conn, &merchant, &skill, announce, &rules, clock.now())
                })
            })
            .await;
        match routed {
            Ok(effects) => {
                // An auto-accepted offer queues the `chat.assigned` webhook.
                wake_senders(state, &effects);
                state.hub.send(effects.pushes);
            }
            Err(e) => {
                let e: AppError = e.into();
                tracing::error!(error = ?e, "routing a chat queue failed");
            }
        }
    }
}

/// Wakes the webhook and mail senders if the use case queued something for them, and only
/// then: each wake costs the sender a write transaction (leasing what is due) on SQLite's
/// one writer, which for almost every chat message found nothing. Deliveries queued
/// elsewhere and retries go out at the senders' poll interval.
fn wake_senders(state: &AppState, effects: &Effects) {
    if effects.webhooks {
        state.wake_webhooks();
    }
    if effects.mail {
        state.wake_outbox();
    }
}

/// The chat timers, every `interval` until `stop` says so.
pub async fn run_timers(
    state: actix_web::web::Data<AppState>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // When this instance last marked its connected agents seen: a quarter of the grace
    // period is often enough for them never to look gone, and it spares an update of
    // every connected agent on every pass.
    let mut seen_at: Option<chrono::NaiveDateTime> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let rules = state.rules().chat;
        let now = state.clock.now();
        let every = chrono::Duration::seconds(i64::from(rules.offline_grace_secs / 4).max(1));
        let here = if seen_at.is_none_or(|at| now - at >= every) {
            seen_at = Some(now);
            state.hub.agents()
        } else {
            Vec::new()
        };
        let ticked = state
            .db
            .run(move |conn| {
                write_transaction(conn, |conn| service::tick(conn, &rules, now, &here))
            })
            .await;
        match ticked {
            Ok(effects) => deliver(&state, effects).await,
            Err(e) => {
                let e: AppError = e.into();
                tracing::error!(error = ?e, "chat timers failed");
            }
        }
    }
}
