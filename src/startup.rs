//! Building and running the service, in one place that `main` and every integration test
//! call alike: `Application::build(settings)` binds (port 0 picks a free one), migrates,
//! starts the outbox and webhook senders, and reports where it listens.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use lettre::message::Mailbox;
use secrecy::ExposeSecret;
use tokio::sync::{Notify, watch};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::JwtKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::mail::Mailer;
use crate::mail::sender::OutboxSender;
use crate::merchant_api::sender::WebhookSender;
use crate::state::AppState;
use crate::web::metrics::Metrics;
use crate::web::telemetry::RootSpan;

pub struct Application {
    address: SocketAddr,
    server: Server,
    sender: OutboxSender,
    sender_task: tokio::task::JoinHandle<()>,
    stop_sender: watch::Sender<bool>,
    jobs_task: tokio::task::JoinHandle<()>,
    webhook_task: tokio::task::JoinHandle<()>,
    chat_timers: tokio::task::JoinHandle<()>,
    chat_relay: Option<std::thread::JoinHandle<()>>,
    pub db: Db,
    /// The service's clock (tests move it forward).
    pub clock: Clock,
    pub public_url: String,
}

/// Reads the JWT key from the settings, or from `<data_dir>/jwt-secret`, creating that
/// file (owner-only) on first start so sessions survive restarts.
fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        let bytes = secret.expose_secret().as_bytes().to_vec();
        anyhow::ensure!(bytes.len() >= 32, "jwt_secret must be at least 32 bytes");
        return Ok(bytes);
    }
    let path = settings.data_dir.join("jwt-secret");
    if path.exists() {
        let secret = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(secret.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    let secret = format!(
        "{}{}",
        crate::auth::tokens::generate(),
        crate::auth::tokens::generate()
    );
    write_private(&path, &secret)?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

impl Application {
    /// Builds the service with the mailer the settings describe.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let mailer = Mailer::from_settings(&settings.mail, settings.outbox_dir())?;
        Self::build_with_mailer(settings, mailer).await
    }

    pub async fn build_with_mailer(
        settings: Settings,
        mailer: Mailer,
    ) -> anyhow::Result<Application> {
        // The rules first: a bad rule file stops start-up before any data is touched.
        let rules_dir = settings.rules_dir.clone();
        let rules = tokio::task::spawn_blocking(move || crate::seats::rules::load_dir(&rules_dir))
            .await?
            .map_err(|errors| {
                anyhow::anyhow!(
                    "the seat rules in {} are not valid:\n{errors}",
                    settings.rules_dir.display()
                )
            })?;
        tracing::info!(version = %rules.version, dir = %settings.rules_dir.display(), "seat rules loaded");

        let database_url = settings.database_url();
        let db = Db::connect(&database_url, settings.pool_size()).with_context(|| {
            format!(
                "cannot open the database {}",
                crate::db::redact_url(&database_url)
            )
        })?;
        let migrate_db = db.clone();
        let applied = tokio::task::spawn_blocking(move || migrate_db.migrate()).await??;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied database migrations");
        }
        tokio::task::spawn_blocking(crate::auth::password::warm_up).await?;
        // Payroll runs left computing by a process that died mid-run never finish.
        db.run(crate::payroll::service::fail_interrupted_runs)
            .await
            .context("cannot mark interrupted payroll runs failed")?;

        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let address = listener.local_addr()?;
        let public_url = settings.public_url(address);
        let secret = jwt_secret(&settings)?;
        let from: Mailbox = settings
            .mail
            .from
            .parse()
            .with_context(|| format!("mail.from {:?} is not a mailbox", settings.mail.from))?;

        let wake = Arc::new(Notify::new());
        let webhook_wake = Arc::new(Notify::new());
        let clock = Clock::default();
        let settings = Arc::new(settings);
        let state = web::Data::new(AppState {
            db: db.clone(),
            jwt: JwtKeys::new(
                &secret,
                chrono::Duration::minutes(settings.security.access_token_minutes),
            ),
            settings: settings.clone(),
            public_url: public_url.clone(),
            outbox_wake: wake.clone(),
            webhook_wake: webhook_wake.clone(),
            metrics: Arc::new(Metrics::new()?),
            clock: clock.clone(),
            rules: std::sync::RwLock::new(Arc::new(rules)),
            hub: Arc::new(crate::chat::hub::Hub::default()),
        });

        let sender = OutboxSender::new(
            db.clone(),
            mailer,
            from,
            wake,
            Duration::from_secs(settings.mail.poll_interval_secs.max(1)),
            settings.mail.max_attempts,
            chrono::Duration::seconds(settings.mail.retry_base_secs.max(1)),
        )
        .with_clock(state.clock.clone());
        let (stop_sender, stop_rx) = watch::channel(false);
        let sender_task = tokio::spawn(sender.clone().run(stop_rx.clone()));
        let webhook_sender = WebhookSender::new(
            db.clone(),
            &settings.webhooks,
            webhook_wake,
            state.clock.clone(),
        )?;
        let webhook_task = tokio::spawn(webhook_sender.run(stop_rx.clone()));
        let jobs_task = tokio::spawn(crate::seats::jobs::run(
            state.clone(),
            Duration::from_secs(settings.jobs_interval_secs.max(1)),
            stop_rx.clone(),
        ));
        let chat_relay = if settings.chat.relay && db.backend() == crate::db::Backend::Postgres {
            Some(crate::chat::bus::start(
                database_url.clone(),
                &state.hub,
                state.metrics.chat_relay.clone(),
                Duration::from_millis(settings.chat.relay_poll_millis),
                stop_rx.clone(),
            )?)
        } else {
            None
        };
        let chat_timers = tokio::spawn(crate::chat::engine::run_timers(
            state.clone(),
            Duration::from_millis(settings.chat.tick_millis.max(50)),
            stop_rx,
        ));

        let max_body = settings.max_body_bytes;
        let mut server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(crate::web::openapi::ApiDoc::openapi())
                .app_data(state.clone())
                .configure(crate::accounts::routes::configure)
                .configure(crate::admin::configure)
                .configure(crate::seats::routes::configure)
                .configure(crate::certification::routes::configure)
                .configure(crate::certification::trial_routes::configure)
                .configure(crate::shifts::routes::configure)
                .configure(crate::shifts::staffing_routes::configure)
                .configure(crate::briefing::routes::configure)
                .configure(crate::shifts::staffing_pages::configure)
                .configure(crate::certification::review_pages::configure)
                .configure(crate::certification::pages::configure)
                .configure(crate::certification::pool_routes::configure)
                .configure(crate::certification::admin_pages::configure)
                .configure(crate::certification::exam_pages::configure)
                .configure(crate::certification::trial_pages::configure)
                .configure(crate::shifts::pages::configure)
                .configure(crate::chat::ws::configure)
                .configure(crate::chat::routes::configure)
                .configure(crate::chat::fairness_routes::configure)
                .configure(crate::quality::levels_routes::configure)
                .configure(crate::quality::levels_pages::configure)
                .configure(crate::quality::queue_pages::configure)
                .configure(crate::quality::review_pages::configure)
                .configure(crate::quality::dispute_pages::configure)
                .configure(crate::quality::library_pages::configure)
                .configure(crate::quality::routes::configure)
                .configure(crate::payroll::routes::configure)
                .configure(crate::payroll::admin_pages::configure)
                .configure(crate::payroll::earnings::configure)
                .configure(crate::quality::quality_pages::configure)
                .configure(crate::payroll::agent_pages::configure)
                .configure(crate::chat::api::configure)
                .configure(crate::chat::pages::configure)
                .configure(crate::web::health::configure)
                .configure(crate::web::assets::configure)
                .configure(crate::web::pages::configure)
                .configure(crate::seats::pages::configure)
                .configure(crate::briefing::pages::configure)
                .configure(crate::merchant_api::routes::configure)
                .configure(crate::merchant_api::pages::configure)
                .configure(crate::analytics::routes::configure)
                .configure(crate::analytics::pages::configure)
                .configure(crate::analytics::at_risk_routes::configure)
                .configure(crate::analytics::at_risk_pages::configure)
                .configure(crate::analytics::merchant_routes::configure)
                .configure(crate::analytics::merchant_pages::configure)
                .configure(crate::analytics::operations_routes::configure)
                .configure(crate::analytics::operations_pages::configure)
                .configure(crate::analytics::timeline_routes::configure)
                .configure(crate::analytics::timeline_pages::configure)
                .split_for_parts();
            app.configure(|cfg| crate::web::extractor_configs(cfg, max_body))
                .service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", api))
                .default_service(web::to(crate::web::not_found))
                .wrap(from_fn(crate::web::metrics::record))
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "same-origin")),
                )
                .wrap(from_fn(crate::web::request_id_scope))
                .wrap(TracingLogger::<RootSpan>::new())
        })
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        let server = server.run();

        Ok(Application {
            address,
            server,
            sender,
            sender_task,
            stop_sender,
            jobs_task,
            webhook_task,
            chat_timers,
            chat_relay,
            db,
            clock,
            public_url,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or [`ServerHandle::stop`]): in-flight requests get the
    /// shutdown timeout to finish, then the outbox sender stops after the mail in hand and
    /// makes one last pass over what is due. Mail it cannot send stays in the outbox.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        tracing::info!("HTTP server stopped; flushing the outbox");
        let _ = self.stop_sender.send(true);
        let _ = self.sender_task.await;
        let _ = self.jobs_task.await;
        // Deliveries in flight finish (each within its timeout); the rest stay queued.
        let _ = self.webhook_task.await;
        let _ = self.chat_timers.await;
        if let Some(relay) = self.chat_relay {
            // It sees the stop within one poll interval.
            let _ = tokio::task::spawn_blocking(move || relay.join()).await;
        }
        match tokio::time::timeout(Duration::from_secs(10), self.sender.drain()).await {
            Ok(n) => tracing::info!(delivered = n, "outbox flushed"),
            Err(_) => tracing::warn!("outbox flush timed out; the rest stays queued"),
        }
        served.context("the HTTP server failed")
    }
}
