//! The test harness: every test gets its own running server (random port), its own
//! database (a SQLite file, or a fresh database on the PostgreSQL server that
//! `scripts/test` starts) and its own real SMTP listener.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudseat::config::{MailTransportKind, SecureCookies, Settings, SmtpSecurity};
use cloudseat::db::{Db, DbConn};
use cloudseat::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from one body: `mod name { fn sqlite(); fn postgres(); }`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($app: $crate::helpers::TestApp) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await).await
                }
            }
        )*
    };
}

pub const PASSWORD: &str = "violet-harbour-lantern-42";
pub const JWT_SECRET: &str = "integration-test-secret-0123456789-abcdef";

/// A received mail, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: Vec<u8>,
}

impl Mail {
    /// The first link in the text part that contains `needle`.
    pub fn link(&self, needle: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(needle))
            .unwrap_or_else(|| panic!("no link with {needle} in {}", self.text))
            .to_owned()
    }

    pub fn token(&self) -> String {
        let link = self.link("token=");
        link.split("token=").nth(1).unwrap().to_owned()
    }
}

/// A real SMTP server (mailin-embedded) on a random loopback port.
#[derive(Clone, Default)]
pub struct SmtpSink {
    received: Arc<Mutex<Vec<Mail>>>,
    pub port: u16,
}

#[derive(Clone)]
struct SinkHandler {
    received: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for SinkHandler {
    fn mail(
        &mut self,
        _ip: std::net::IpAddr,
        _domain: &str,
        _from: &str,
    ) -> mailin_embedded::Response {
        self.to.clear();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn rcpt(&mut self, to: &str) -> mailin_embedded::Response {
        self.to.push(to.to_owned());
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let parsed = mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("the service sent an unparseable mail");
        let mail = Mail {
            to: self.to.clone(),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: parsed
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            raw: self.data.clone(),
        };
        self.received.lock().unwrap().push(mail);
        mailin_embedded::response::OK
    }
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler = SinkHandler {
            received: received.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = mailin_embedded::Server::new(handler);
        server
            .with_name("sink.test")
            .with_ssl(mailin_embedded::SslConfig::None)
            .unwrap()
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink { received, port }
    }

    pub fn all(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) for a mail to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        for _ in 0..200 {
            if let Some(m) = self
                .all()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t.contains(to)) && m.subject.contains(subject))
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no mail to {to} about {subject:?}; got {:?}",
            self.all()
                .iter()
                .map(|m| (&m.to, &m.subject))
                .collect::<Vec<_>>()
        );
    }
}

#[allow(dead_code)] // some fields serve only the e2e binary, which shares this file
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub backend: Backend,
    pub db_url: String,
    pub db: Db,
    pub smtp: SmtpSink,
    pub api: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub handle: actix_web::dev::ServerHandle,
    pub clock: cloudseat::clock::Clock,
}

/// A fresh, empty PostgreSQL database on the test server.
pub fn postgres_database() -> String {
    let base = std::env::var("CLOUDSEAT_TEST_POSTGRES_URL").expect(
        "CLOUDSEAT_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts PostgreSQL",
    );
    let name = format!("cs_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin =
        PgConnection::establish(&base).expect("cannot reach the test PostgreSQL server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("cannot create a test database");
    let (prefix, _) = base.rsplit_once('/').expect("URL has a database path");
    format!("{prefix}/{name}")
}

pub fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("cloudseat.db").display()),
        Backend::Postgres => postgres_database(),
    }
}

/// Today in the marketplace's zone (the fixture rules use Asia/Shanghai).
pub fn market_today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

pub fn day(offset: i64) -> String {
    (market_today() + chrono::Duration::days(offset)).to_string()
}

/// Seat rules for tests, dated relative to today so they never go stale:
/// - `peak_prev` ended 90 days ago (history, for renewals);
/// - `peak_open` runs from day +20 to +30 and is open to everyone now;
/// - `peak_soon` (+75..+80) opens to renewing shops tomorrow, to everyone on day +15;
/// - `peak_next` (+100..+110) opens on day +40, but shops that booked `peak_prev` may
///   book it already;
/// - `general` has 50 seats an hour, `pre_sale` 200; off-peak dates open 60 days ahead.
pub fn write_fixture_rules(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let files = [
        (
            "market.toml",
            "time_zone = \"Asia/Shanghai\"\nbookable_start_hour = 8\nbookable_end_hour = 24\nblock_hours = 4\nhold_minutes = 15\nmin_seats = 1\nmax_seats_per_booking = 500\noff_peak_opens_days = 60\noff_peak_multiplier_bp = 10000\n".to_owned(),
        ),
        (
            "skills.toml",
            "[[skill]]\nid = \"general\"\nname_en = \"General\"\nname_zh = \"通用\"\nseats_per_hour = 50\nprice_per_seat_hour_fen = 3500\nagent_hourly_fen = 2400\n\n[[skill]]\nid = \"pre_sale\"\nname_en = \"Pre-sale\"\nname_zh = \"售前\"\nseats_per_hour = 200\nprice_per_seat_hour_fen = 4000\nagent_hourly_fen = 2800\n".to_owned(),
        ),
        (
            "pricing.toml",
            "[[volume_tier]]\nmin_seat_hours = 500\ndiscount_bp = 300\n\n[[volume_tier]]\nmin_seat_hours = 2000\ndiscount_bp = 600\n\n[early_bird]\nmin_days_before_start = 45\ndiscount_bp = 500\n".to_owned(),
        ),
        (
            "shifts.toml",
            "early_access_hours = 24\nmax_hours_per_day = 10\nmax_hours_per_week = 48\nmin_rest_hours = 8\nfree_release_hours = 24\ncheck_in_opens_minutes = 30\nno_show_grace_minutes = 10\nswap_cutoff_hours = 2\nreminder_hours = 2\nurgent_bonus_fen = 3000\n".to_owned(),
        ),
        (
            "chat.toml",
            "offer_timeout_secs = 20\nfirst_reply_limit_secs = 60\nfirst_response_target_secs = 30\noffline_grace_secs = 60\nsticky_days = 7\nshift_max_concurrent_chats = 5\nidle_warning_minutes = 10\nidle_close_minutes = 5\nmax_message_chars = 4000\nmessages_per_minute = 60\nmessage_burst = 10\n".to_owned(),
        ),
        (
            "pay.toml",
            include_str!("../../seat-rules/pay.toml").to_owned(),
        ),
        (
            "quality.toml",
            include_str!("../../seat-rules/quality.toml").to_owned(),
        ),
        (
            "levels.toml",
            include_str!("../../seat-rules/levels.toml").to_owned(),
        ),
        (
            "scorecards.toml",
            include_str!("../../seat-rules/scorecards.toml").to_owned(),
        ),
        (
            "churn.toml",
            include_str!("../../seat-rules/churn.toml").to_owned(),
        ),
        (
            "at_risk.toml",
            include_str!("../../seat-rules/at_risk.toml").to_owned(),
        ),
        (
            "cancellation.toml",
            "[[step]]\nmin_days_before_start = 30\nrefund_bp = 10000\n\n[[step]]\nmin_days_before_start = 14\nrefund_bp = 8000\n\n[[step]]\nmin_days_before_start = 7\nrefund_bp = 5000\n\n[[step]]\nmin_days_before_start = 0\nrefund_bp = 0\n".to_owned(),
        ),
        (
            "periods.toml",
            format!(
                "[[period]]\nid = \"peak_prev\"\nname_en = \"Previous peak\"\nname_zh = \"上期大促\"\nstart = {}\nend = {}\nmultiplier_bp = 15000\n\n\
                 [[period]]\nid = \"peak_open\"\nname_en = \"Open peak\"\nname_zh = \"开放大促\"\nstart = {}\nend = {}\nmultiplier_bp = 15000\nbooking_opens_days_before = 60\n\n\
                 [[period]]\nid = \"peak_soon\"\nname_en = \"Soon peak\"\nname_zh = \"将至大促\"\nstart = {}\nend = {}\nmultiplier_bp = 12000\nbooking_opens_days_before = 60\npriority_days = 14\nrenews = \"peak_prev\"\n\n\
                 [[period]]\nid = \"peak_next\"\nname_en = \"Next peak\"\nname_zh = \"下期大促\"\nstart = {}\nend = {}\nmultiplier_bp = 18000\nbooking_opens_days_before = 60\npriority_days = 60\nrenews = \"peak_prev\"\n",
                day(-100),
                day(-90),
                day(20),
                day(30),
                day(75),
                day(80),
                day(100),
                day(110)
            ),
        ),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

pub fn test_settings(backend: Backend, dir: &std::path::Path, smtp_port: u16) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_owned(),
        database_url: Some(SecretString::from(database_url(backend, dir))),
        database_pool_size: Some(4),
        jwt_secret: Some(SecretString::from(JWT_SECRET.to_owned())),
        workers: Some(2),
        shutdown_timeout_secs: 1,
        rules_dir: dir.join("seat-rules"),
        jobs_interval_secs: 1,
        ..Settings::default()
    };
    s.chat.tick_millis = 200;
    s.chat.session_check_secs = 1;
    write_fixture_rules(&s.rules_dir);
    s.mail.transport = MailTransportKind::Smtp;
    s.mail.smtp.host = "127.0.0.1".into();
    s.mail.smtp.port = smtp_port;
    s.mail.smtp.security = SmtpSecurity::None;
    s.mail.smtp.timeout_secs = 5;
    s.mail.poll_interval_secs = 1;
    s.mail.retry_base_secs = 1;
    s.security.secure_cookies = SecureCookies::Never;
    // Webhook receivers in the tests listen on 127.0.0.1.
    s.webhooks.allow_private_targets = true;
    s.webhooks.poll_interval_secs = 1;
    s.webhooks.timeout_secs = 5;
    s
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let smtp = SmtpSink::start();
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(backend, data_dir.path(), smtp.port);
    tweak(&mut settings);
    start(backend, settings, smtp, data_dir).await
}

pub async fn start(
    backend: Backend,
    settings: Settings,
    smtp: SmtpSink,
    data_dir: tempfile::TempDir,
) -> TestApp {
    let db_url = settings.database_url();
    let app = Application::build(settings)
        .await
        .expect("the service failed to start");
    let port = app.port();
    let handle = app.handle();
    let db = app.db.clone();
    let clock = app.clock.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        backend,
        db_url,
        db,
        smtp,
        api: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        data_dir,
        handle,
        clock,
    }
}

/// A signed-in account as the tests use it.
#[derive(Debug, Clone)]
pub struct Session {
    pub email: String,
    pub access: String,
    pub refresh: String,
    pub account: Value,
}

impl Session {
    pub fn id(&self) -> String {
        self.account["id"].as_str().unwrap().to_owned()
    }

    pub fn merchant_id(&self) -> String {
        self.account["merchant"]["id"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.api
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A fresh address for `who` (any text: letters and digits are kept, the rest become dots).
    pub fn unique_email(&self, who: &str) -> String {
        let local: String = who
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
        let local = local.trim_matches('.').replace("..", ".");
        format!(
            "{local}.{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    }

    pub async fn register_agent(&self, email: &str, name: &str) -> Value {
        let res = self
            .post_json(
                "/api/auth/register",
                &json!({"role": "agent", "email": email, "password": PASSWORD, "display_name": name}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    pub async fn register_merchant(&self, email: &str, shop: &str) -> Value {
        let res = self
            .post_json(
                "/api/auth/register",
                &json!({"role": "merchant", "email": email, "password": PASSWORD,
                        "display_name": "Shop Owner", "merchant_name": shop}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn session(&self, email: &str) -> Session {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
        let body: Value = res.json().await.unwrap();
        Session {
            email: email.to_owned(),
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
            account: body["account"].clone(),
        }
    }

    pub async fn agent(&self, name: &str) -> Session {
        let email = self.unique_email(name);
        self.register_agent(&email, name).await;
        self.session(&email).await
    }

    pub async fn merchant(&self, shop: &str) -> Session {
        let email = self.unique_email("shop");
        self.register_merchant(&email, shop).await;
        self.session(&email).await
    }

    /// Admins are made on the command line; the tests make them the same way.
    pub async fn admin(&self) -> Session {
        let email = self.unique_email("admin");
        let db = self.db.clone();
        let e = email.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get_blocking().unwrap();
            cloudseat::accounts::service::create_admin_blocking(
                &mut conn,
                &e,
                "Test Admin",
                PASSWORD,
            )
            .unwrap();
        })
        .await
        .unwrap();
        self.session(&email).await
    }

    /// Runs a query on the app's database (for assertions about what is stored).
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> T + Send + 'static,
    ) -> T {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get_blocking().unwrap();
            f(&mut conn)
        })
        .await
        .unwrap()
    }

    pub async fn count(&self, table: &'static str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.with_db(move |c| {
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .get_result::<Count>(c)
                .unwrap()
                .n
        })
        .await
    }
}

/// Asserts a problem response and returns its body.
pub async fn problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}

/// The field codes of a validation problem.
pub fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap().to_owned(),
                        e["code"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf_token" value="([^"]+)""#).unwrap();
    re.captures(html).expect("a CSRF field")[1].to_owned()
}

/// Signs in through the form; returns the browser holding the session cookies.
pub async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    let form = b
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = b
        .post(app.url("/sign-in"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &csrf_of(&form)),
            ("next", "/home"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap()
    );
    b
}

// ---------------------------------------------------------------- chats stored directly

/// An instant on a day of November 2026 (UTC).
pub fn at(day: u32, h: u32, m: u32, s: u32, ms: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_milli_opt(h, m, s, ms)
        .unwrap()
}

/// A customer of `merchant`, stored directly.
pub fn insert_customer(conn: &mut cloudseat::db::DbConn, merchant: &str) -> String {
    use cloudseat::db::schema::customers;
    use diesel::prelude::*;
    let id = cloudseat::db::new_id();
    diesel::insert_into(customers::table)
        .values((
            customers::id.eq(&id),
            customers::merchant_id.eq(merchant),
            customers::notes.eq(""),
            customers::created_at.eq(at(1, 0, 0, 0, 0)),
            customers::updated_at.eq(at(1, 0, 0, 0, 0)),
        ))
        .execute(conn)
        .unwrap();
    id
}

/// A chat stored directly, as the chat service leaves it: `created` .. `closed`, accepted
/// at `accepted` with the first reply at `first_response`.
#[derive(Clone)]
pub struct ChatFixture<'a> {
    pub merchant: &'a str,
    pub customer: &'a str,
    pub agent: Option<&'a str>,
    pub status: &'a str,
    pub created: chrono::NaiveDateTime,
    pub accepted: Option<chrono::NaiveDateTime>,
    pub first_response: Option<chrono::NaiveDateTime>,
    pub closed: Option<chrono::NaiveDateTime>,
    pub rating: Option<i32>,
}

pub fn insert_chat(conn: &mut cloudseat::db::DbConn, c: &ChatFixture<'_>) -> String {
    use cloudseat::db::schema::chats;
    use diesel::prelude::*;
    let id = cloudseat::db::new_id();
    diesel::insert_into(chats::table)
        .values((
            chats::id.eq(&id),
            chats::merchant_id.eq(c.merchant),
            chats::customer_id.eq(c.customer),
            chats::skill.eq("general"),
            chats::channel.eq("widget"),
            chats::status.eq(c.status),
            chats::agent_id.eq(c.agent),
            chats::queued_at.eq(c.created),
            chats::created_at.eq(c.created),
            chats::accepted_at.eq(c.accepted),
            chats::first_response_at.eq(c.first_response),
            chats::closed_at.eq(c.closed),
            chats::rating.eq(c.rating),
            chats::customer_token_hash.eq(format!("hash-{id}")),
            chats::last_customer_at.eq(c.created),
        ))
        .execute(conn)
        .unwrap();
    id
}

/// Stores closed chats of `agent` with one customer of the shop, all closed at `at`
/// (answered within a minute, handled for five): `kinds` says how many of each kind. For
/// payroll tests that need a workload without chatting it through.
#[allow(dead_code)] // the e2e binary's payroll journey uses it
pub async fn closed_chats(
    app: &TestApp,
    agent: &str,
    merchant: &str,
    at: chrono::NaiveDateTime,
    kinds: &[(&'static str, usize)],
) {
    use cloudseat::db::schema::{chats, customers};
    use diesel::prelude::*;
    let (agent, merchant, kinds) = (agent.to_owned(), merchant.to_owned(), kinds.to_vec());
    app.with_db(move |c| {
        let customer = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(customers::table)
            .values((
                customers::id.eq(&customer),
                customers::merchant_id.eq(&merchant),
                customers::notes.eq(""),
                customers::created_at.eq(at - chrono::Duration::minutes(10)),
                customers::updated_at.eq(at),
            ))
            .execute(c)
            .unwrap();
        let all = kinds
            .iter()
            .flat_map(|(kind, n)| std::iter::repeat_n(*kind, *n));
        for (i, kind) in all.enumerate() {
            let opened = at - chrono::Duration::minutes(6);
            diesel::insert_into(chats::table)
                .values((
                    chats::id.eq(uuid::Uuid::now_v7().to_string()),
                    chats::merchant_id.eq(&merchant),
                    chats::customer_id.eq(&customer),
                    chats::skill.eq("general"),
                    chats::channel.eq("api"),
                    chats::status.eq("closed"),
                    chats::agent_id.eq(&agent),
                    chats::queued_at.eq(opened),
                    chats::created_at.eq(opened),
                    chats::accepted_at.eq(opened + chrono::Duration::seconds(30)),
                    chats::first_response_at.eq(opened + chrono::Duration::seconds(50)),
                    chats::closed_at.eq(at),
                    chats::closed_by.eq("agent"),
                    chats::customer_token_hash.eq(format!("closed-chat-{i}")),
                    chats::last_customer_at.eq(at),
                    chats::kind.eq(kind),
                ))
                .execute(c)
                .unwrap();
        }
    })
    .await;
}
