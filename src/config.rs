//! Settings: defaults, then `cloudseat.toml` (or the file named by `CLOUDSEAT_CONFIG`), then
//! `CLOUDSEAT_*` environment variables (nested keys with `__`, e.g. `CLOUDSEAT_MAIL__SMTP__HOST`).
//! The defaults need nothing installed: SQLite under `./data`, mail as `.eml` files in
//! `./data/outbox`, listening on 127.0.0.1:8080.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: String,
    /// Where the SQLite database, the JWT key and the mail outbox live by default.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://PATH`; defaults to `sqlite://<data_dir>/cloudseat.db`.
    #[serde(serialize_with = "ser_secret_opt")]
    pub database_url: Option<SecretString>,
    /// Connections in the database pool; unset picks by backend, see
    /// [`Settings::pool_size`].
    pub database_pool_size: Option<u32>,
    /// The address users reach the service at, used in mailed links.
    /// Defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Secret for signing access tokens; generated into `<data_dir>/jwt-secret` when unset.
    #[serde(serialize_with = "ser_secret_opt")]
    pub jwt_secret: Option<SecretString>,
    pub log: LogSettings,
    pub mail: MailSettings,
    pub security: SecuritySettings,
    pub webhooks: WebhookSettings,
    pub chat: ChatSettings,
    /// The folder of seat rule files (prices, inventory, peak periods, refunds).
    pub rules_dir: PathBuf,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Seconds between passes of the background housekeeping (expired holds, booking
    /// states, scheduled notices).
    pub jobs_interval_secs: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    pub workers: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `human` (default) or `json`.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `cloudseat=debug,actix_web=info`.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `file` (default: `.eml` files in `outbox_dir`) or `smtp`.
    pub transport: MailTransportKind,
    /// The From header, e.g. `cloudseat <no-reply@example.com>`.
    pub from: String,
    /// Folder for `.eml` files; defaults to `<data_dir>/outbox`.
    pub outbox_dir: Option<PathBuf>,
    pub smtp: SmtpSettings,
    /// Seconds between scans of the outbox table when nothing wakes the sender earlier.
    pub poll_interval_secs: u64,
    /// After this many failed attempts a mail is marked failed and shown to admins.
    pub max_attempts: i32,
    /// The first retry delay in seconds; it doubles with each failure, up to an hour.
    pub retry_base_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `none` (plain, for local relays and tests), `starttls` or `tls`.
    pub security: SmtpSecurity,
    pub username: Option<String>,
    #[serde(serialize_with = "ser_secret_opt")]
    pub password: Option<SecretString>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Access token lifetime.
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    pub email_token_hours: i64,
    /// Failed logins per account (by email) before it is throttled.
    pub max_failed_logins_per_account: i32,
    /// Failed logins from one IP address before it is throttled.
    pub max_failed_logins_per_ip: i32,
    /// `auto` sets the cookie Secure flag when the request came over TLS
    /// (directly or per `X-Forwarded-Proto`); `always`/`never` force it.
    pub secure_cookies: SecureCookies,
}

/// Signed webhooks to merchants' endpoints (see `merchant_api::webhooks`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Accept endpoint URLs on loopback, private and link-local addresses and `localhost`.
    /// Off by default: a shop must not make the service call into its own network.
    pub allow_private_targets: bool,
    /// Seconds between scans for due deliveries when nothing wakes the sender earlier.
    pub poll_interval_secs: u64,
    /// Seconds one delivery may take (connect, send, and read the response status).
    pub timeout_secs: u64,
    /// After this many failed attempts a delivery is marked failed (a shop can retry it).
    pub max_attempts: i32,
    /// The first retry delay in seconds; it doubles with each failure up to `retry_max_secs`.
    pub retry_base_secs: i64,
    pub retry_max_secs: i64,
    /// Deliveries in flight at once per instance, so one slow endpoint does not hold up
    /// every other shop's.
    pub concurrency: usize,
}

/// Live chat plumbing (the routing rules themselves are in `seat-rules/chat.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// Milliseconds between passes of the chat timers (offer timeouts, take-backs, idle
    /// customers). Offers to freed agents do not wait for it; they go out at once.
    pub tick_millis: u64,
    /// Seconds between checks that an agent socket's session is still valid.
    pub session_check_secs: u64,
    /// On PostgreSQL, pass every socket frame to the other instances serving the same
    /// database (LISTEN/NOTIFY), so an agent and a customer connected to different
    /// instances hear each other. A single instance may turn it off to save a notification
    /// per frame. SQLite serves one instance and never relays.
    pub relay: bool,
    /// Milliseconds the relay waits for frames to publish before it looks for frames from
    /// the other instances: the most a frame crossing instances waits for pickup.
    pub relay_poll_millis: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecureCookies {
    Auto,
    Always,
    Never,
}

fn ser_secret_opt<S: serde::Serializer>(
    value: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // Settings are serialised only to feed figment's defaults; secrets have no default.
    match value {
        Some(_) => serializer.serialize_str("[redacted]"),
        None => serializer.serialize_none(),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_pool_size: None,
            public_url: None,
            jwt_secret: None,
            log: LogSettings {
                format: LogFormat::Human,
                filter: "info".to_owned(),
            },
            mail: MailSettings {
                transport: MailTransportKind::File,
                from: "cloudseat <no-reply@cloudseat.localhost>".to_owned(),
                outbox_dir: None,
                smtp: SmtpSettings {
                    host: "localhost".to_owned(),
                    port: 587,
                    security: SmtpSecurity::Starttls,
                    username: None,
                    password: None,
                    timeout_secs: 10,
                },
                poll_interval_secs: 5,
                max_attempts: 8,
                retry_base_secs: 30,
            },
            security: SecuritySettings {
                access_token_minutes: 15,
                refresh_token_days: 30,
                email_token_hours: 24,
                max_failed_logins_per_account: 5,
                max_failed_logins_per_ip: 30,
                secure_cookies: SecureCookies::Auto,
            },
            webhooks: WebhookSettings {
                allow_private_targets: false,
                poll_interval_secs: 5,
                timeout_secs: 10,
                max_attempts: 8,
                retry_base_secs: 30,
                retry_max_secs: 6 * 3600,
                concurrency: 8,
            },
            chat: ChatSettings {
                tick_millis: 1000,
                session_check_secs: 30,
                relay: true,
                relay_poll_millis: 5,
            },
            rules_dir: PathBuf::from(crate::seats::rules::DEFAULT_DIR),
            max_body_bytes: 64 * 1024,
            jobs_interval_secs: 30,
            shutdown_timeout_secs: 30,
            workers: None,
        }
    }
}

impl Settings {
    /// Loads the layered configuration. `file` overrides the default `cloudseat.toml`
    /// lookup; a missing default file is fine, a missing named file is an error.
    pub fn load(file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(Box::new(figment::Error::from(format!(
                        "configuration file {} does not exist",
                        path.display()
                    ))));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("cloudseat.toml")),
        }
        figment
            // CLOUDSEAT_CONFIG names the file (read by the CLI); CLOUDSEAT_TEST_* belong to
            // the test harness. Every other CLOUDSEAT_* must be a known setting.
            .merge(
                Env::prefixed("CLOUDSEAT_")
                    .ignore(&["config"])
                    .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"))
                    .split("__"),
            )
            .extract()
            .map_err(Box::new)
    }

    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("cloudseat.db").display()),
        }
    }

    /// The database pool's size: as configured, else 2 on SQLite and 8 on PostgreSQL.
    /// SQLite commits one writer at a time whatever the pool, and every further
    /// connection only adds contention: each write then finds the file changed by another
    /// connection and rereads its pages, and waiters sleep in the busy handler (the chat
    /// load's p99 fell from 109-135 ms with 8 to 35-47 ms with 2; BENCHMARKS.md). Two
    /// leave a reader beside the writer. PostgreSQL runs transactions in parallel.
    pub fn pool_size(&self) -> u32 {
        if let Some(size) = self.database_pool_size {
            return size.max(1);
        }
        match crate::db::Backend::from_url(&self.database_url()) {
            Ok((crate::db::Backend::Postgres, _)) => 8,
            // An unsupported URL is refused when the pool opens.
            Ok((crate::db::Backend::Sqlite, _)) | Err(_) => 2,
        }
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.mail
            .outbox_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("outbox"))
    }

    /// The public base URL without a trailing slash, for links in mail.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_nothing() {
        let s = Settings::default();
        assert_eq!(s.database_url(), "sqlite://./data/cloudseat.db");
        assert_eq!(s.outbox_dir(), PathBuf::from("./data/outbox"));
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert!(!s.webhooks.allow_private_targets);
    }

    #[test]
    fn pool_size_defaults_by_backend() {
        let mut s = Settings::default();
        assert_eq!(s.pool_size(), 2, "SQLite");
        s.database_url = Some(SecretString::from("postgres://u:p@h/db".to_owned()));
        assert_eq!(s.pool_size(), 8, "PostgreSQL");
        s.database_pool_size = Some(3);
        assert_eq!(s.pool_size(), 3, "as configured");
        s.database_pool_size = Some(0);
        assert_eq!(s.pool_size(), 1, "never empty");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn layers_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cloudseat.toml",
                "listen = \"0.0.0.0:9000\"\n[mail]\nfrom = \"a <a@b.c>\"\n",
            )?;
            jail.set_env("CLOUDSEAT_LISTEN", "127.0.0.1:9100");
            jail.set_env("CLOUDSEAT_MAIL__SMTP__PORT", "2525");
            jail.set_env("CLOUDSEAT_DATABASE_URL", "postgres://u:secret@h/db");
            jail.set_env("CLOUDSEAT_TEST_POSTGRES_URL", "postgres://harness/only");
            jail.set_env("CLOUDSEAT_DATABASE_POOL_SIZE", "5");
            let s = Settings::load(None).map_err(|e| *e)?;
            assert_eq!(s.database_pool_size, Some(5));
            assert_eq!(s.listen, "127.0.0.1:9100");
            assert_eq!(s.mail.from, "a <a@b.c>");
            assert_eq!(s.mail.smtp.port, 2525);
            assert_eq!(s.database_url(), "postgres://u:secret@h/db");
            assert!(!format!("{s:?}").contains("secret@"), "Debug leaks the URL");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("cloudseat.toml", "lisen = \"x\"\n")?;
            assert!(Settings::load(None).is_err());
            std::fs::remove_file("cloudseat.toml").map_err(|e| e.to_string())?;
            jail.set_env("CLOUDSEAT_LISEN", "127.0.0.1:1");
            assert!(
                Settings::load(None).is_err(),
                "a misspelt variable is refused"
            );
            Ok(())
        });
    }
}
