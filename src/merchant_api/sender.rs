//! The background task that posts webhook deliveries: woken when a use case queued some,
//! and every poll interval (which also picks up retries and deliveries queued by other
//! instances). Several deliveries are in flight at once so one slow endpoint does not hold
//! up every other shop's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{Notify, watch};

use super::webhooks::{self, DeliveryRow, EndpointRow, RetryPolicy};
use crate::clock::Clock;
use crate::config::WebhookSettings;
use crate::db::{Db, write_transaction};

/// Resolves endpoint host names, dropping loopback, private and link-local addresses unless
/// they are allowed: a public name that points inside is refused when it is used, not only
/// when the URL was saved (and so is a name re-pointed after saving).
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| !webhooks::is_private_ip(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Clone)]
pub struct WebhookSender {
    db: Db,
    client: reqwest::Client,
    wake: Arc<Notify>,
    poll_interval: Duration,
    concurrency: usize,
    allow_private: bool,
    policy: RetryPolicy,
    /// The service's clock, the one deliveries are queued by.
    clock: Clock,
}

/// How one attempt ended.
enum Outcome {
    Delivered(u16),
    Failed {
        status: Option<u16>,
        error: String,
    },
    /// The endpoint was deleted after the delivery was leased; nothing to record.
    Gone,
}

impl WebhookSender {
    pub fn new(
        db: Db,
        settings: &WebhookSettings,
        wake: Arc<Notify>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            // A redirect could lead anywhere, inside included; a 3xx is simply a failure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cloudseat-webhooks/", env!("CARGO_PKG_VERSION")))
            // Straight to the endpoint: a proxy from the environment would resolve the name
            // itself, past the check on where it points.
            .no_proxy();
        if !settings.allow_private_targets {
            client = client.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        Ok(WebhookSender {
            db,
            client: client.build()?,
            wake,
            poll_interval: Duration::from_secs(settings.poll_interval_secs.max(1)),
            concurrency: settings.concurrency.max(1),
            allow_private: settings.allow_private_targets,
            policy: RetryPolicy {
                max_attempts: settings.max_attempts.max(1),
                base: chrono::Duration::seconds(settings.retry_base_secs.max(1)),
                max_delay: chrono::Duration::seconds(
                    settings.retry_max_secs.max(settings.retry_base_secs.max(1)),
                ),
            },
            clock,
        })
    }

    /// Posts whatever is due until `shutdown` turns true. Deliveries in flight then finish
    /// (each within the timeout); the rest stay queued for the next start.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.drain(&shutdown).await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("webhook sender stopped");
    }

    /// Posts every delivery that is due now, batch by batch until none is left or
    /// `shutdown` turns true; returns how many were delivered.
    pub async fn drain(&self, shutdown: &watch::Receiver<bool>) -> usize {
        let mut delivered = 0;
        loop {
            if *shutdown.borrow() {
                return delivered;
            }
            let now = self.clock.now();
            let limit = (self.concurrency * 4) as i64;
            // The lease outlives the attempts of a batch: each takes at most the timeout.
            let lease = chrono::Duration::minutes(5);
            let batch = self
                .db
                .run(move |conn| {
                    write_transaction(conn, |conn| webhooks::lease_due(conn, now, limit, lease))
                })
                .await;
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the webhook deliveries; will retry");
                    return delivered;
                }
            };
            if batch.is_empty() {
                return delivered;
            }
            // Endpoints in parallel; each endpoint's deliveries one after another in the
            // order they were queued, so a shop hears of a chat's last message before its
            // closing (retries of a failed delivery may still arrive later: every body
            // carries its id and time).
            delivered += futures_util::stream::iter(group_by_key(batch, |row| &row.endpoint_id))
                .map(|group| async move {
                    let mut ok = 0;
                    for row in group {
                        if self.deliver(row).await {
                            ok += 1;
                        }
                    }
                    ok
                })
                .buffer_unordered(self.concurrency)
                .fold(0, |sum, ok| std::future::ready(sum + ok))
                .await;
        }
    }

    async fn deliver(&self, row: DeliveryRow) -> bool {
        let lookup = row.clone();
        let endpoint = self
            .db
            .run(move |conn| webhooks::endpoint_of(conn, &lookup))
            .await;
        let outcome = match endpoint {
            Ok(Some(endpoint)) => self.post(&endpoint, &row).await,
            Ok(None) => Outcome::Gone,
            Err(e) => {
                // The lease runs out and the delivery is tried again.
                tracing::warn!(delivery_id = %row.id, error = %e, "cannot read the webhook endpoint");
                return false;
            }
        };
        let now = self.clock.now();
        let policy = self.policy;
        let id = row.id.clone();
        let delivered = matches!(outcome, Outcome::Delivered(_));
        let recorded = match outcome {
            Outcome::Delivered(status) => {
                tracing::info!(delivery_id = %id, event = %row.event, status, "webhook delivered");
                self.db
                    .run(move |conn| webhooks::mark_delivered(conn, &id, status, now))
                    .await
            }
            Outcome::Failed { status, error } => {
                tracing::warn!(delivery_id = %id, event = %row.event, attempt = row.attempts + 1, status, error = %error, "webhook delivery failed");
                self.db
                    .run(move |conn| {
                        webhooks::mark_attempt_failed(conn, &row, status, &error, now, policy)
                    })
                    .await
            }
            Outcome::Gone => return false,
        };
        if let Err(e) = recorded {
            // The lease runs out and the delivery is posted again: at-least-once delivery,
            // which is why every body carries its id.
            tracing::error!(error = %e, "cannot record the webhook delivery outcome");
        }
        delivered
    }

    async fn post(&self, endpoint: &EndpointRow, row: &DeliveryRow) -> Outcome {
        // Checked again: the setting may have changed since the URL was saved.
        let url = match webhooks::parse_target(&endpoint.url, self.allow_private) {
            Ok(url) => url,
            Err(invalid) => {
                return Outcome::Failed {
                    status: None,
                    error: format!("target refused: {}", invalid.message),
                };
            }
        };
        let body = webhooks::body(row);
        let timestamp = self.clock.now().and_utc().timestamp();
        let signature = webhooks::signature(&endpoint.secret, timestamp, &body);
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Cloudseat-Event", &row.event)
            .header("Cloudseat-Delivery", &row.id)
            .header("Cloudseat-Signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                Outcome::Delivered(response.status().as_u16())
            }
            Ok(response) => {
                let status = response.status();
                Outcome::Failed {
                    status: Some(status.as_u16()),
                    error: format!("the endpoint answered {status}"),
                }
            }
            Err(e) => Outcome::Failed {
                status: None,
                error: error_chain(&e),
            },
        }
    }
}

/// The error with its causes ("error sending request: connection refused"), which is what
/// a shop needs to see to fix its endpoint.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `items` split by `key`, groups in order of first appearance, each in the input's order.
fn group_by_key<T>(items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in items {
        let i = match index.get(key(&item)) {
            Some(&i) => i,
            None => {
                index.insert(key(&item).to_owned(), groups.len());
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        groups[i].push(item);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_group_by_endpoint_keeping_their_order() {
        let batch = vec![("e1", 1), ("e2", 2), ("e1", 3), ("e3", 4), ("e2", 5)];
        let groups = group_by_key(batch, |(e, _)| e);
        assert_eq!(
            groups,
            vec![
                vec![("e1", 1), ("e1", 3)],
                vec![("e2", 2), ("e2", 5)],
                vec![("e3", 4)],
            ]
        );
        assert!(group_by_key(Vec::<(&str, i32)>::new(), |(e, _)| e).is_empty());
    }
}
