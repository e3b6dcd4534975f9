//! The real `cloudseat` binary, run as an operator would: each test has its own data
//! directory (SQLite database, JWT key, `.eml` outbox) and talks to the process over HTTP
//! and its standard streams.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Mail, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_cloudseat");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cloudseat --data-dir <dir> ARGS`, run from inside `dir` (so no stray `./cloudseat.toml`
/// is read) and without the caller's `CLOUDSEAT_*` variables, so a developer's own
/// settings cannot change what the test sees.
fn cloudseat(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).arg("--data-dir").arg(dir).args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CLOUDSEAT_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    // The shipped rules, wherever the test runs from.
    cmd.env(
        "CLOUDSEAT_RULES_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/seat-rules"),
    );
    cmd
}

/// Runs a command to completion with `stdin` as its input.
fn run(mut cmd: Command, stdin: &str) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("cannot start cloudseat");
    {
        let mut input = child.stdin.take().unwrap();
        // The command may exit before reading its input (e.g. on a configuration error).
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A `cloudseat serve` process. Its output is collected by threads reading the pipes;
/// dropping it kills the process if it is still running.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    pub http: reqwest::Client,
}

fn collect(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

impl ServerProcess {
    /// Starts `cloudseat --data-dir DIR serve --listen 127.0.0.1:PORT` with extra `env`.
    pub fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = cloudseat(data_dir, &["serve", "--listen", &listen]);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("cannot start cloudseat serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        ServerProcess {
            child,
            port,
            data_dir: data_dir.to_owned(),
            stdout,
            stderr,
            readers,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Everything the process wrote so far, both streams.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits (up to 60 s) until `/healthz` answers 200.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.join_readers();
                panic!(
                    "cloudseat exited before it was ready ({status})\n{}",
                    self.output()
                );
            }
            if let Ok(res) = self.http.get(self.url("/healthz")).send().await
                && res.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cloudseat did not answer /healthz within 60 s\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit (panics after `within`); the output is then
    /// complete.
    pub fn stop(&mut self, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("cannot run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.join_readers();
                panic!(
                    "cloudseat did not stop within {within:?} of SIGTERM\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.join_readers();
        status
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST path` expecting `status`; returns the body as JSON (`Null` when empty).
    pub async fn expect_post(&self, path: &str, body: &Value, status: StatusCode) -> Value {
        let res = self.post_json(path, body).await;
        let got = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(got, status, "POST {path}: {text}\n{}", self.output());
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.expect_post(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
            StatusCode::OK,
        )
        .await
    }

    pub fn outbox(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Parses an `.eml` file as the API harness parses mail from its SMTP sink.
fn parse_eml(raw: &[u8]) -> Option<Mail> {
    let parsed = mail_parser::MessageParser::default().parse(raw)?;
    Some(Mail {
        to: parsed
            .to()
            .map(|to| {
                to.iter()
                    .filter_map(|a| a.address().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        subject: parsed.subject().unwrap_or_default().to_owned(),
        text: parsed
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: parsed
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        raw: raw.to_vec(),
    })
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (up to 20 s) for an `.eml` file in `dir` to `to` whose subject contains `subject`.
async fn wait_for_eml(dir: &Path, to: &str, subject: &str) -> Mail {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = eml_files(dir).into_iter().find_map(|path| {
            let mail = parse_eml(&std::fs::read(path).ok()?)?;
            (mail.to.iter().any(|t| t == to) && mail.subject.contains(subject)).then_some(mail)
        });
        if let Some(mail) = found {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no .eml to {to} about {subject:?} in {}: {:?}",
            dir.display(),
            eml_files(dir)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn unique_email(who: &str) -> String {
    format!(
        "{who}.{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

async fn register_agent(server: &ServerProcess, email: &str, password: &str) -> Value {
    server
        .expect_post(
            "/api/auth/register",
            &json!({"role": "agent", "email": email, "password": password,
                    "display_name": "Process Agent"}),
            StatusCode::CREATED,
        )
        .await
}

fn string(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key} in {v}"))
        .to_owned()
}

// ------------------------------------------------------------------------- serve

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_starts_on_sqlite_reports_where_it_listens_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::spawn(dir.path(), &[("CLOUDSEAT_LOG__FILTER", "debug")]);
    server.wait_ready().await;

    // It says where it listens and where its data and mail go.
    let stdout = server.stdout();
    let listen = format!("127.0.0.1:{}", server.port);
    let db = dir.path().join("cloudseat.db");
    let outbox = server.outbox();
    assert!(stdout.contains(&listen), "no listen address:\n{stdout}");
    assert!(
        stdout.contains(&db.display().to_string()),
        "no SQLite path {}:\n{stdout}",
        db.display()
    );
    assert!(
        stdout.contains(&outbox.display().to_string()),
        "no outbox folder {}:\n{stdout}",
        outbox.display()
    );
    assert!(db.exists(), "no database at {}", db.display());

    // Mail goes into the outbox folder as .eml files by default.
    let email = unique_email("serve");
    register_agent(&server, &email, PASSWORD).await;
    let mail = wait_for_eml(&outbox, &email, "Confirm your email").await;
    assert!(mail.link("verify-email").contains(&listen), "{}", mail.text);

    // SIGTERM: a graceful stop that flushes the outbox, even with a keep-alive
    // connection still open from the client above.
    let status = server.stop(Duration::from_secs(15));
    let stderr = server.stderr();
    assert!(status.success(), "exit {status}\n{}", server.output());
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("outbox") && l.contains("flush")),
        "no outbox flush in the shutdown log:\n{stderr}"
    );
}

// ------------------------------------------------------------------------- secrets in logs

/// Registers, signs in, refreshes, fails a login, resets the password by the mailed link
/// and opens a confirmation link, all at `trace` level; then checks that the log holds
/// none of the secrets involved, but does hold the requests.
async fn secrets_stay_out_of_the_log(format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::spawn(
        dir.path(),
        &[
            ("CLOUDSEAT_LOG__FILTER", "trace"),
            ("CLOUDSEAT_LOG__FORMAT", format),
        ],
    );
    server.wait_ready().await;
    let outbox = server.outbox();
    let email = unique_email("secrets");
    let first_password = PASSWORD;
    let wrong_password = "wrong-Quokka-Saxophone-7319";
    let new_password = "amber-Cathedral-Walrus-8842";
    let mut secrets: Vec<(&str, String)> = vec![
        ("the first password", first_password.to_owned()),
        ("the wrong password", wrong_password.to_owned()),
        ("the new password", new_password.to_owned()),
    ];

    register_agent(&server, &email, first_password).await;
    let verify = wait_for_eml(&outbox, &email, "Confirm your email").await;
    secrets.push(("the email confirmation token", verify.token()));

    let login = server.login(&email, first_password).await;
    secrets.push(("the access token", string(&login, "access_token")));
    secrets.push(("the refresh token", string(&login, "refresh_token")));

    let refreshed = server
        .expect_post(
            "/api/auth/refresh",
            &json!({"refresh_token": string(&login, "refresh_token")}),
            StatusCode::OK,
        )
        .await;
    secrets.push((
        "the refreshed access token",
        string(&refreshed, "access_token"),
    ));
    secrets.push((
        "the rotated refresh token",
        string(&refreshed, "refresh_token"),
    ));

    server
        .expect_post(
            "/api/auth/login",
            &json!({"email": email, "password": wrong_password}),
            StatusCode::UNAUTHORIZED,
        )
        .await;

    server
        .expect_post(
            "/api/auth/password-reset",
            &json!({"email": email}),
            StatusCode::ACCEPTED,
        )
        .await;
    let reset = wait_for_eml(&outbox, &email, "Reset your").await;
    secrets.push(("the password reset token", reset.token()));

    // Opening a mailed link puts its token in the query string.
    let page = server
        .http
        .get(server.url(&format!("/verify-email?token={}", verify.token())))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{}", server.output());

    server
        .expect_post(
            "/api/auth/password-reset/confirm",
            &json!({"token": reset.token(), "new_password": new_password}),
            StatusCode::NO_CONTENT,
        )
        .await;
    let again = server.login(&email, new_password).await;
    secrets.push(("the last access token", string(&again, "access_token")));
    secrets.push(("the last refresh token", string(&again, "refresh_token")));

    let status = server.stop(Duration::from_secs(15));
    assert!(status.success(), "exit {status}\n{}", server.output());
    let log = server.output();
    let jwt_key = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    secrets.push(("the JWT signing key", jwt_key.trim().to_owned()));

    let leaked: Vec<&str> = secrets
        .iter()
        .filter(|(_, secret)| log.contains(secret.as_str()))
        .map(|(what, _)| *what)
        .collect();
    assert!(
        leaked.is_empty(),
        "the {format} log contains {leaked:?}:\n{log}"
    );
    // An access token's signature alone is a secret too.
    for (what, secret) in &secrets {
        if secret.matches('.').count() == 2 {
            let signature = secret.rsplit('.').next().unwrap();
            assert!(
                !log.contains(signature),
                "the {format} log contains the signature of {what}"
            );
        }
    }

    // Not vacuous: the requests themselves are logged.
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/password-reset",
        "/api/auth/password-reset/confirm",
        "/verify-email",
    ] {
        assert!(
            log.contains(path),
            "the {format} log does not mention {path}:\n{log}"
        );
    }
    if format == "json" {
        let json_lines = server
            .stderr()
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).is_ok())
            .count();
        assert!(json_lines > 10, "the log is not JSON lines:\n{log}");
    }
}

mod logs_never_contain_passwords_or_tokens {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn json() {
        super::secrets_stay_out_of_the_log("json").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn human() {
        super::secrets_stay_out_of_the_log("human").await;
    }
}

// ------------------------------------------------------------------------- admin create

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_reads_the_password_from_stdin_and_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let admin = |stdin: &str| {
        run(
            cloudseat(
                dir.path(),
                &[
                    "admin",
                    "create",
                    "--email",
                    "root@example.com",
                    "--name",
                    "Root",
                ],
            ),
            stdin,
        )
    };

    // A weak password is refused, naming the field.
    let weak = admin("password\n");
    assert!(!weak.status.success(), "{}", describe(&weak));
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(stderr.contains("password"), "{}", describe(&weak));

    let out = admin(&format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("root@example.com"),
        "{}",
        describe(&out)
    );
    // The password is never echoed.
    let all = format!("{}{}", describe(&out), describe(&weak));
    assert!(!all.contains(PASSWORD), "{all}");

    let mut server = ServerProcess::spawn(dir.path(), &[]);
    server.wait_ready().await;
    let login = server.login("root@example.com", PASSWORD).await;
    assert_eq!(login["account"]["role"], "admin", "{login}");
    assert_eq!(login["account"]["display_name"], "Root", "{login}");
    let status = server.stop(Duration::from_secs(15));
    assert!(status.success(), "exit {status}\n{}", server.output());
}

// ------------------------------------------------------------------------- demo

struct DemoLogin {
    role: String,
    email: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fills_an_empty_database_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cloudseat(dir.path(), &["demo"]), "");
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();

    let password = stdout
        .lines()
        .find(|l| l.contains("password"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no demo password printed:\n{stdout}"))
        .to_owned();
    let logins: Vec<DemoLogin> = stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let role = words.next()?;
            let email = words.next()?;
            email.contains('@').then(|| DemoLogin {
                role: role.to_owned(),
                email: email.to_owned(),
            })
        })
        .collect();
    for role in ["admin", "merchant_staff", "agent"] {
        assert!(
            logins.iter().any(|l| l.role == role),
            "no {role} login printed:\n{stdout}"
        );
    }

    // A second run leaves the data alone.
    let again = run(cloudseat(dir.path(), &["demo"]), "");
    assert!(!again.status.success(), "{}", describe(&again));
    let stderr = String::from_utf8_lossy(&again.stderr).to_lowercase();
    assert!(
        stderr.contains("empty") || stderr.contains("already has accounts"),
        "{}",
        describe(&again)
    );

    let mut server = ServerProcess::spawn(dir.path(), &[]);
    server.wait_ready().await;
    let agent = logins.iter().find(|l| l.role == "agent").unwrap();
    let login = server.login(&agent.email, &password).await;
    assert_eq!(login["account"]["role"], "agent", "{login}");
    let me = server
        .http
        .get(server.url("/api/me"))
        .bearer_auth(string(&login, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert!(me["agent_status"].is_string(), "{me}");
    // The first shop's front page, with the chat widget, for the customer side.
    let shop_front = stdout
        .split_whitespace()
        .find(|w| w.starts_with("/demo/shop?key=wk_"))
        .unwrap_or_else(|| panic!("no demo shop front printed:\n{stdout}"));
    let page = server
        .http
        .get(server.url(shop_front))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(r#"<script src="/widget.js" data-key="wk_"#)
    );
    let status = server.stop(Duration::from_secs(15));
    assert!(status.success(), "exit {status}\n{}", server.output());
}

// ------------------------------------------------------------------------- config, migrate

#[test]
fn bad_config_file_stops_startup_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let mut cmd = cloudseat(dir.path(), &["migrate"]);
    cmd.arg("--config").arg(&config);
    let out = run(cmd, "");
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lisen"), "{}", describe(&out));
    assert!(stderr.contains("bad.toml"), "{}", describe(&out));
    assert!(
        !dir.path().join("cloudseat.db").exists(),
        "a database was created despite the bad configuration"
    );
}

#[test]
fn a_bad_seat_rule_file_stops_serve_naming_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/seat-rules");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, rules.join(path.file_name().unwrap())).unwrap();
    }
    let skills = std::fs::read_to_string(rules.join("skills.toml")).unwrap();
    let line = skills
        .lines()
        .position(|l| l.starts_with("price_per_seat_hour_fen"))
        .unwrap()
        + 1;
    let broken = skills.replacen(
        "price_per_seat_hour_fen = 3500",
        "price_per_seat_hour_fen = -3500",
        1,
    );
    assert_ne!(
        broken, skills,
        "the shipped general price changed; update this test"
    );
    std::fs::write(rules.join("skills.toml"), broken).unwrap();

    let mut cmd = cloudseat(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);
    cmd.env("CLOUDSEAT_RULES_DIR", &rules);
    let out = run(cmd, "");
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("skills.toml:{line}:")),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("price_per_seat_hour_fen"),
        "{}",
        describe(&out)
    );
    assert!(
        !dir.path().join("cloudseat.db").exists(),
        "the database was touched before the rules were checked"
    );

    // `rules check` says the same without starting anything.
    let mut check = cloudseat(dir.path(), &["rules", "check"]);
    check.arg(&rules);
    let out = run(check, "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("skills.toml:{line}:")));
}

#[test]
fn migrate_applies_then_reports_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(cloudseat(dir.path(), &["migrate"]), "");
    assert!(first.status.success(), "{}", describe(&first));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("applied"), "{}", describe(&first));
    assert!(dir.path().join("cloudseat.db").exists());

    let second = run(cloudseat(dir.path(), &["migrate"]), "");
    assert!(second.status.success(), "{}", describe(&second));
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("up to date"), "{}", describe(&second));
}
