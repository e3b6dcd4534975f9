//! The background task that drains the outbox.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::{Notify, watch};

use super::Mailer;
use super::outbox::{self, OutboxRow};
use crate::clock::Clock;
use crate::db::{Db, write_transaction};

#[derive(Clone)]
pub struct OutboxSender {
    db: Db,
    mailer: Mailer,
    from: Mailbox,
    wake: Arc<Notify>,
    poll_interval: Duration,
    max_attempts: i32,
    retry_base: chrono::Duration,
    /// The service's clock, the one mail is queued by (so a test clock moves both).
    clock: Clock,
}

impl OutboxSender {
    pub fn new(
        db: Db,
        mailer: Mailer,
        from: Mailbox,
        wake: Arc<Notify>,
        poll_interval: Duration,
        max_attempts: i32,
        retry_base: chrono::Duration,
    ) -> Self {
        OutboxSender {
            db,
            mailer,
            from,
            wake,
            poll_interval,
            max_attempts,
            retry_base,
            clock: Clock::default(),
        }
    }

    /// Reads "now" from `clock`: the one the service queues mail by.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sends whatever is due, wakes when a use case queues mail (or every poll interval,
    /// which also picks up retries and mail queued by other instances), and stops when
    /// `shutdown` turns true, after finishing the mail in hand.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.drain().await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("outbox sender stopped");
    }

    /// Delivers every mail that is due now; returns how many were delivered.
    pub async fn drain(&self) -> usize {
        let mut delivered = 0;
        loop {
            let now = self.clock.now();
            let batch = self
                .db
                .run(move |conn| {
                    write_transaction(conn, |conn| {
                        outbox::lease_due(conn, now, 20, chrono::Duration::minutes(2))
                    })
                })
                .await;
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the outbox; will retry");
                    return delivered;
                }
            };
            if batch.is_empty() {
                return delivered;
            }
            for row in batch {
                if self.deliver(row).await {
                    delivered += 1;
                }
            }
        }
    }

    async fn deliver(&self, row: OutboxRow) -> bool {
        let mail = super::OutgoingMail {
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
            attachments: serde_json::from_str(&row.attachments).unwrap_or_default(),
        };
        let result = match Mailer::build(&self.from, &mail) {
            Ok(message) => self.mailer.send(message).await,
            Err(e) => Err(e),
        };
        let id = row.id.clone();
        let max_attempts = self.max_attempts;
        let retry_base = self.retry_base;
        let ok = result.is_ok();
        let now = self.clock.now();
        let recorded = match result {
            Ok(()) => {
                tracing::info!(outbox_id = %id, "mail delivered");
                self.db
                    .run(move |conn| outbox::mark_sent(conn, &id, now))
                    .await
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(outbox_id = %id, attempt = row.attempts + 1, error = %error, "mail delivery failed");
                self.db
                    .run(move |conn| {
                        outbox::mark_attempt_failed(
                            conn,
                            &row,
                            &error,
                            now,
                            max_attempts,
                            retry_base,
                        )
                    })
                    .await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the mail is tried again: at-least-once delivery.
            tracing::error!(error = %e, "cannot record the delivery outcome");
        }
        ok
    }
}
