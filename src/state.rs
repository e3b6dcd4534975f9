//! What every request handler and background task shares.

use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::ThrottlePolicy;
use crate::config::Settings;
use crate::db::Db;
use crate::web::metrics::Metrics;

pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub settings: Arc<Settings>,
    /// Base URL for links in mail, without a trailing slash.
    pub public_url: String,
    /// Wakes the outbox sender after a use case queued mail.
    pub outbox_wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
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
