//! What every request handler and background task shares.

use std::sync::{Arc, RwLock};

use chrono::Duration;
use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::ThrottlePolicy;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::seats::rules::Ruleset;
use crate::web::metrics::Metrics;

pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub settings: Arc<Settings>,
    /// Base URL for links in mail, without a trailing slash.
    pub public_url: String,
    /// Wakes the outbox sender after a use case queued mail.
    pub outbox_wake: Arc<Notify>,
    /// Wakes the webhook sender after a use case queued deliveries
    /// ([`crate::merchant_api::webhooks::enqueue`]).
    pub webhook_wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    /// The seat rules in force; replaced whole on reload, never edited.
    pub rules: RwLock<Arc<Ruleset>>,
    /// The chat sockets connected to this instance.
    pub hub: Arc<crate::chat::hub::Hub>,
}

impl AppState {
    /// The ruleset in force now (bookings keep the version that priced them).
    pub fn rules(&self) -> Arc<Ruleset> {
        match self.rules.read() {
            Ok(rules) => rules.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace_rules(&self, rules: Ruleset) {
        let rules = Arc::new(rules);
        match self.rules.write() {
            Ok(mut slot) => *slot = rules,
            Err(poisoned) => *poisoned.into_inner() = rules,
        }
    }

    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Call after committing a transaction that queued webhook deliveries; without it they
    /// still go out at the sender's next poll.
    pub fn wake_webhooks(&self) {
        self.webhook_wake.notify_one();
    }

    pub fn account_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: self.settings.security.max_failed_logins_per_account,
            window: Duration::minutes(15),
            base_lockout: Duration::minutes(1),
            max_lockout: Duration::hours(1),
        }
    }

    pub fn ip_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: self.settings.security.max_failed_logins_per_ip,
            window: Duration::minutes(15),
            base_lockout: Duration::minutes(1),
            max_lockout: Duration::hours(1),
        }
    }

    pub fn refresh_lifetime(&self) -> Duration {
        Duration::days(self.settings.security.refresh_token_days)
    }

    pub fn email_token_lifetime(&self) -> Duration {
        Duration::hours(self.settings.security.email_token_hours)
    }

    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }
}
