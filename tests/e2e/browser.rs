//! A real headless Chromium, driven through chromedriver, against an in-process server.
//!
//! Binaries: `CLOUDSEAT_TEST_CHROMEDRIVER` (default /usr/bin/chromedriver) and
//! `CLOUDSEAT_TEST_CHROMIUM` (default /usr/bin/chromium); `scripts/test` sets both.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, Session, TestApp, spawn_app};

mod at_risk;
mod demo;
mod operations;
mod quality;
mod timeline;

/// How long to wait for a page element to appear.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process in its own process group. Dropping it ends the whole group (the
/// driver and any Chromium it started), so a failing test leaks neither.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    async fn start() -> ChromeDriver {
        use std::os::unix::process::CommandExt;
        let binary = env_or("CLOUDSEAT_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = free_port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} (set CLOUDSEAT_TEST_CHROMEDRIVER): {e}")
            });
        let mut driver = ChromeDriver { child, port };
        driver.wait_ready().await;
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("chromedriver exited before it was ready: {status}");
            }
            if let Ok(res) = http.get(format!("{}/status", self.url())).send().await
                && res.status().is_success()
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer /status within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        if matches!(self.child.try_wait(), Ok(None)) {
            // Ask first, so Chromium can clean up after itself...
            let _ = Command::new("kill")
                .args(["-TERM", "--", &group])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // ...then make sure: the driver's children (Chromium) are in the same group and
        // may outlive the driver.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session in a fresh Chromium profile.
pub(crate) struct Browser {
    pub(crate) client: Client,
    // Dropped in this order: the driver (and its Chromium) goes before the profile folder.
    driver: ChromeDriver,
    profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Browser {
        let driver = ChromeDriver::start().await;
        let profile = tempfile::tempdir().unwrap();
        let chromium = env_or("CLOUDSEAT_TEST_CHROMIUM", "/usr/bin/chromium");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // Both of rustls's crypto backends are in the build (via different crates), so
        // it cannot pick one by itself.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .expect("rustls initialisation")
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session ({chromium}): {e}"));
        Browser {
            client,
            driver,
            profile,
        }
    }

    /// Ends the session (Chromium quits); the driver goes when `self` drops.
    pub(crate) async fn close(self) {
        let Browser {
            client,
            driver,
            profile,
        } = self;
        let _ = client.close().await;
        drop(driver);
        drop(profile);
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    pub(crate) async fn wait_for(&self, locator: Locator<'_>) -> Element {
        match self
            .client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(locator)
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "{locator:?} did not appear on {}: {e}\n--- page text ---\n{}",
                self.url().await,
                self.body_text().await
            ),
        }
    }

    pub(crate) async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub(crate) async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The `<h1>` of the page, once it contains `needle`.
    pub(crate) async fn heading_containing(&self, needle: &str) -> String {
        let xpath = format!(
            "//h1[contains(normalize-space(.), {})]",
            xpath_literal(needle)
        );
        self.wait_for(Locator::XPath(&xpath))
            .await
            .text()
            .await
            .unwrap()
    }

    /// The form control a `<label>` with exactly this text is for, as a keyboard or
    /// screen-reader user finds it.
    pub(crate) async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space(.)={}]", xpath_literal(label));
        // The page may still be replacing the previous one (a form just posted): a label
        // found on the old page goes stale, so look again.
        let mut found = None;
        for _ in 0..50 {
            let label_el = self.wait_for(Locator::XPath(&xpath)).await;
            if let Ok(attr) = label_el.attr("for").await {
                found = Some(attr);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let id = found
            .unwrap_or_else(|| panic!("the label {label:?} kept going stale"))
            .unwrap_or_else(|| panic!("the label {label:?} has no for= attribute"));
        let field = self
            .client
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|e| panic!("label {label:?} points at #{id}, which is missing: {e}"));
        assert!(
            field.is_displayed().await.unwrap(),
            "the field labelled {label:?} is not visible"
        );
        field
    }

    pub(crate) async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the submit button of the form in `<main>` whose text is `text`.
    pub(crate) async fn submit(&self, text: &str) {
        let xpath = format!(
            "//main//button[@type='submit' and normalize-space(.)={}]",
            xpath_literal(text)
        );
        self.wait_for(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap();
    }

    async fn html_lang(&self) -> String {
        self.client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client.perform_actions(keys).await.unwrap();
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Saves a screenshot under `target/e2e-screenshots/` for humans to look at.
    async fn screenshot(&self, name: &str) {
        let dir = screenshot_dir();
        match self.client.screenshot().await {
            Ok(png) => {
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(name);
                if let Err(e) = std::fs::write(&path, png) {
                    eprintln!("cannot save the screenshot {}: {e}", path.display());
                }
            }
            Err(e) => eprintln!("cannot take the screenshot {name}: {e}"),
        }
    }
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("e2e-screenshots"))
        .unwrap_or_else(|| PathBuf::from("target/e2e-screenshots"))
}

/// `s` as an XPath string literal (XPath 1.0 has no escapes).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

pub(crate) async fn browser_and_app() -> (Browser, TestApp) {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    (browser, app)
}

impl Browser {
    /// Registers an agent called `name` through the registration page (the agent role is
    /// the default, so only the text fields are filled), confirms the address with the
    /// link in the mail the SMTP sink received, and signs in. Returns the address; the
    /// browser is left on the home page.
    async fn register_and_sign_in(&self, app: &TestApp, name: &str) -> String {
        let email = app.unique_email(name);
        self.goto(&app.url("/register")).await;
        self.heading_containing("Create an account").await;
        assert_eq!(self.html_lang().await, "en");
        let agent = self.field("an agent looking for work").await;
        assert!(
            agent.is_selected().await.unwrap(),
            "the agent role is not the default"
        );
        self.fill("Your name", name).await;
        self.fill("Email address", &email).await;
        self.fill("Password", PASSWORD).await;
        self.submit("Create account").await;
        self.heading_containing("Check your inbox").await;
        assert!(
            self.body_text().await.contains(&email),
            "the confirmation page does not say where the link went"
        );

        // Confirm the address with the mailed link.
        let mail = app.smtp.wait_for(&email, "Confirm your email").await;
        self.goto(&mail.link("verify-email")).await;
        self.heading_containing("Confirm your email address").await;
        self.submit("Confirm email address").await;
        self.wait_for(Locator::XPath(
            "//main//*[@role='status' and contains(., 'Your email address is confirmed')]",
        ))
        .await;

        // Sign in.
        self.goto(&app.url("/sign-in")).await;
        self.heading_containing("Sign in").await;
        self.fill("Email address", &email).await;
        self.fill("Password", PASSWORD).await;
        self.submit("Sign in").await;
        let heading = self.heading_containing("Welcome").await;
        assert!(heading.contains(name), "{heading}");
        assert!(self.url().await.ends_with("/home"), "{}", self.url().await);
        email
    }

    /// The value of the term `term` in the page's facts list (`<dl class="facts">`).
    pub(crate) async fn fact(&self, term: &str) -> String {
        let xpath = format!(
            "//dl[contains(@class, 'facts')]/dt[normalize-space(.)={}]/following-sibling::dd[1]",
            xpath_literal(term)
        );
        self.wait_for(Locator::XPath(&xpath))
            .await
            .text()
            .await
            .unwrap()
            .trim()
            .to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_registers_confirms_email_and_signs_in() {
    let (browser, app) = browser_and_app().await;
    let name = "Browser Agent Lin";
    browser.register_and_sign_in(&app, name).await;

    // Home shows who is signed in and as what.
    assert_eq!(browser.fact("Role").await, "Agent");
    assert_eq!(browser.html_lang().await, "en");
    let text = browser.body_text().await;
    assert!(
        !text.contains("not confirmed"),
        "home still says the email is unconfirmed:\n{text}"
    );
    browser.screenshot("home.png").await;

    // Switch the language with the header link; the same page comes back in Chinese.
    browser
        .wait_for(Locator::Css("header.site a[hreflang='zh-CN']"))
        .await
        .click()
        .await
        .unwrap();
    let heading = browser.heading_containing("欢迎").await;
    assert!(heading.contains(name), "{heading}");
    assert_eq!(browser.html_lang().await, "zh-CN");
    assert!(
        browser.url().await.ends_with("/home"),
        "{}",
        browser.url().await
    );
    assert!(
        browser.body_text().await.contains("客服"),
        "the role is not shown in Chinese"
    );
    browser.screenshot("home-zh-CN.png").await;

    browser.close().await;
}

/// Every visible form control on the page without a `<label for=its id>`, and how many
/// visible controls there are.
const UNLABELLED_JS: &str = r#"
const controls = Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.hidden && el.offsetParent !== null);
const unlabelled = controls
  .filter(el => !el.id || !document.querySelector('label[for="' + CSS.escape(el.id) + '"]'))
  .map(el => el.outerHTML);
return { visible: controls.length, unlabelled: unlabelled };
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pages_are_keyboard_usable() {
    let (browser, app) = browser_and_app().await;

    // The first Tab from the top of the page reaches the skip link, which shows itself
    // and leads to the main content.
    browser.goto(&app.url("/register")).await;
    browser.heading_containing("Create an account").await;
    browser.press(Key::Tab).await;
    let focused = browser.client.active_element().await.unwrap();
    let html = focused.html(false).await.unwrap();
    let is_skip_link = browser
        .js("return document.activeElement.matches('a.skip-link');")
        .await;
    assert_eq!(
        is_skip_link,
        json!(true),
        "the first Tab stop is not the skip link but {html}"
    );
    assert_eq!(
        focused.attr("href").await.unwrap().as_deref(),
        Some("#main")
    );
    let (x, y, w, h) = focused.rectangle().await.unwrap();
    assert!(
        x >= 0.0 && y >= 0.0 && w > 0.0 && h > 0.0,
        "the focused skip link is off screen at ({x}, {y}, {w}, {h})"
    );
    browser.press(Key::Enter).await;
    let in_main = browser
        .js("return document.activeElement.id === 'main' || !!document.activeElement.closest('main');")
        .await;
    assert_eq!(
        in_main,
        json!(true),
        "the skip link does not lead to <main>"
    );

    // Every visible field is labelled, on both forms.
    for path in ["/register", "/sign-in"] {
        browser.goto(&app.url(path)).await;
        browser.wait_for(Locator::Css("main form")).await;
        let report = browser.js(UNLABELLED_JS).await;
        let visible = report["visible"].as_u64().unwrap();
        assert!(
            visible >= 2,
            "{path}: expected visible form fields, found {visible}"
        );
        assert_eq!(
            report["unlabelled"],
            json!([]),
            "{path}: fields without a <label for=id>"
        );
    }

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shop_books_seats_with_a_live_quote() {
    let (browser, app) = browser_and_app().await;
    let email = app.unique_email("browser.shop");
    app.register_merchant(&email, "Browser Tea House").await;

    browser.goto(&app.url("/sign-in")).await;
    browser.fill("Email address", &email).await;
    browser.fill("Password", PASSWORD).await;
    browser.submit("Sign in").await;
    browser.heading_containing("Welcome").await;

    browser.goto(&app.url("/seats/book")).await;
    browser.heading_containing("Book seats").await;
    // Dates are typed through the date inputs' values (their keyboard entry is
    // locale-specific); hours and skill keep the defaults (08:00-24:00, general).
    let start = crate::helpers::day(24);
    let end = crate::helpers::day(25);
    browser
        .js(&format!(
            "document.getElementById('start_date').value = '{start}';\
             document.getElementById('end_date').value = '{end}';\
             document.querySelector('form[data-quote]').dispatchEvent(new Event('input', {{bubbles: true}}));"
        ))
        .await;
    // The inline estimate, with its defaults: 1,200 chats an hour at 4 minutes, 80% in 30 s.
    browser
        .wait_for(Locator::Css("details[data-estimate] summary"))
        .await
        .click()
        .await
        .unwrap();
    let sentence = browser
        .wait_for(Locator::XPath(
            "//p[@id='estimate-result' and contains(., 'you need')]",
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        sentence.starts_with("For 1200 chats an hour at 4 minutes, 80% answered in 30 s, you need"),
        "{sentence}"
    );
    let needed: String = sentence
        .chars()
        .filter(|c| c.is_ascii_digit())
        .skip("120048030".len())
        .collect();
    browser
        .wait_for(Locator::Css("button[data-use-estimate]"))
        .await
        .click()
        .await
        .unwrap();
    let seats = browser.field("Seats").await;
    assert_eq!(
        seats.prop("value").await.unwrap().unwrap_or_default(),
        needed,
        "the estimate fills the seats"
    );

    seats.clear().await.unwrap();
    seats.send_keys("3").await.unwrap();

    // The live quote: 2 days x 16 h x 3 seats = 96 seat-hours at ¥35 in the 1.5x peak.
    let total = browser
        .wait_for(Locator::Css("#quote td[data-total-fen='504000']"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(total, "¥5,040.00");
    assert!(browser.body_text().await.contains("Open peak price 1.5x"));

    browser.submit("Hold these seats").await;
    browser
        .wait_for(Locator::XPath(
            "//*[@role='status' and contains(., 'The seats are held')]",
        ))
        .await;
    browser.submit("Confirm booking").await;
    browser
        .wait_for(Locator::XPath(
            "//*[@role='status' and contains(., 'The booking is confirmed')]",
        ))
        .await;
    assert!(browser.body_text().await.contains("CS-"));
    browser.screenshot("booking.png").await;
    app.smtp.wait_for(&email, "Booking confirmed").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shop_sets_up_integrations_accessibly() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    let email = app.unique_email("browser.integrations");
    app.register_merchant(&email, "Browser Integrations Shop")
        .await;
    browser.goto(&app.url("/sign-in")).await;
    browser.fill("Email address", &email).await;
    browser.fill("Password", PASSWORD).await;
    browser.submit("Sign in").await;
    browser.heading_containing("Welcome").await;

    browser.goto(&app.url("/seats/integrations")).await;
    browser.heading_containing("Integrations").await;
    browser.fill("Label", "Shop app").await;
    browser.submit("Create a key").await;
    let secret = browser
        .field("Secret")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(secret.starts_with("sk_"), "{secret}");

    browser
        .fill("Endpoint URL", "https://hooks.example.com/cloudseat")
        .await;
    browser.field("chat.closed").await.click().await.unwrap();
    browser.submit("Add an endpoint").await;
    let secret = browser
        .field("Secret")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{secret}");

    // With a key, an endpoint and the one-time secret on the page, every part is present.
    let report = browser.js(UNLABELLED_JS).await;
    assert_eq!(
        report["unlabelled"],
        json!([]),
        "fields without a <label for=id>"
    );
    assert_accessible(&browser, &axe, "the integrations page").await;
    browser.screenshot("integrations.png").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_pay_pages_are_accessible() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    let agent = app.agent("Browser Pay Agent").await;
    browser.goto(&app.url("/sign-in")).await;
    browser.fill("Email address", &agent.email).await;
    browser.fill("Password", PASSWORD).await;
    browser.submit("Sign in").await;
    browser.heading_containing("Welcome").await;

    // The quality page: the period selector is labelled, the trend chart is an image with
    // a name, and axe-core finds nothing serious; so do the earnings and payslip pages.
    browser.goto(&app.url("/agent/quality")).await;
    browser.heading_containing("My quality score").await;
    let report = browser.js(UNLABELLED_JS).await;
    assert_eq!(
        report["unlabelled"],
        json!([]),
        "fields without a <label for=id>"
    );
    let chart = browser
        .js("const s = document.querySelector('svg.chart'); return s ? [s.getAttribute('role'), document.getElementById('quality-trend-title').textContent] : null;")
        .await;
    assert_eq!(chart, json!(["img", "Trend over the last six pay periods"]));
    assert_accessible(&browser, &axe, "the quality page").await;
    browser.screenshot("agent-quality.png").await;
    for (path, heading) in [
        ("/agent/earnings", "Earnings so far"),
        ("/agent/payslips", "My payslips"),
    ] {
        browser.goto(&app.url(path)).await;
        browser.heading_containing(heading).await;
        assert_accessible(&browser, &axe, path).await;
    }
    browser.close().await;
}

// ---------------------------------------------------------------- exams

/// The exam bank for the browser tests: three choice questions and a written one.
const EXAM_BANK: &str = "topic,kind,prompt,option_1,option_2,option_3,correct,points,model_answer,rubric
returns,single,A customer wants to return an opened lipstick. What do you check first?,The order date,The colour,The weather,1,1,,
returns,multiple,Which two details does a refund need?,Order number,Favourite colour,Payment method,1;3,2,,
shipping,single,When does an order placed at 23:00 ship?,Next working day,Now,Never,1,1,,
tone,scenario,A customer writes in capitals that the parcel is late. Reply.,,,,,5,Apologise and give the tracking link,Empathy 2; accuracy 2; next step 1
";

const EXAM_RIGHT: [&str; 4] = [
    "The order date",
    "Order number",
    "Payment method",
    "Next working day",
];

/// The `general` exam track with [`EXAM_BANK`]: all four questions, 30 minutes. Returns
/// the admin who set it up.
async fn exam_track(app: &TestApp) -> Session {
    let admin = app.admin().await;
    let rules = json!({"exam_size": 4, "pass_percent": 75, "duration_minutes": 30, "cooldown_hours": 24, "max_attempts_per_30_days": 3});
    let res = app
        .api
        .put(app.url("/api/admin/exam-tracks/general"))
        .bearer_auth(&admin.access)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post_as(
            "/api/admin/exam-tracks/general/questions/import",
            &admin.access,
            &json!({"format": "csv", "content": EXAM_BANK}),
        )
        .await;
    assert_eq!(res.status(), 201);
    admin
}

/// axe-core's `axe.min.js`, which `scripts/test` installs from npm and names in
/// `CLOUDSEAT_TEST_AXE`. Without it the accessibility check cannot run, and that is a
/// failure, not a skip.
pub(crate) fn axe_source() -> String {
    let path = std::env::var("CLOUDSEAT_TEST_AXE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "CLOUDSEAT_TEST_AXE is not set: it must name axe-core's axe.min.js. \
                 scripts/test installs it (npm install --prefix target/npm axe-core) and sets it; \
                 by hand: export CLOUDSEAT_TEST_AXE=$PWD/target/npm/node_modules/axe-core/axe.min.js"
            )
        });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read axe-core from CLOUDSEAT_TEST_AXE={path}: {e}"))
}

/// Runs axe-core on the current page and fails on any violation of impact serious or
/// critical, listing each with the elements concerned.
pub(crate) async fn assert_accessible(browser: &Browser, axe: &str, what: &str) {
    browser.js(axe).await;
    let result = browser
        .client
        .execute_async(
            r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] })
  .then(r => done({ violations: r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "")) })) }))
  .catch(e => done({ error: String(e) }));
"#,
            Vec::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("axe.run failed on {what}: {e}"));
    assert!(
        result["error"].is_null(),
        "axe.run failed on {what}: {}",
        result["error"]
    );
    let serious: Vec<&Value> = result["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
        .collect();
    assert!(
        serious.is_empty(),
        "{what}: axe-core found serious or critical accessibility violations:\n{}",
        serde_json::to_string_pretty(&serious).unwrap()
    );
}

/// What the focused element is, for moving through a form by keyboard.
const FOCUSED_JS: &str = r#"
const el = document.activeElement;
const label = el && el.id ? document.querySelector('label[for="' + CSS.escape(el.id) + '"]') : null;
return {
  tag: el ? el.tagName.toLowerCase() : "",
  type: el && el.type ? el.type : "",
  name: el && el.name ? el.name : "",
  checked: !!(el && el.checked),
  label: label ? label.textContent.trim() : "",
  text: el ? el.textContent.trim() : ""
};
"#;

/// The answers on the page, as the page script would save them.
const PAGE_ANSWERS_JS: &str = r#"
return Array.from(document.querySelectorAll("fieldset[data-question]")).map(fs => ({
  number: fs.getAttribute("data-question"),
  checked: Array.from(fs.querySelectorAll("input:checked")).map(i => i.value),
  text: fs.querySelector("textarea") ? fs.querySelector("textarea").value : null
}));
"#;

impl Browser {
    async fn focused(&self) -> Value {
        self.js(FOCUSED_JS).await
    }

    /// Presses Tab until the focused element is a button whose text is `text`.
    async fn tab_to_button(&self, text: &str) {
        for _ in 0..40 {
            self.press(Key::Tab).await;
            let f = self.focused().await;
            if f["tag"] == "button" && f["text"] == text {
                return;
            }
        }
        panic!("Tab never reached the button {text:?}");
    }

    pub(crate) async fn sign_in(&self, app: &TestApp, email: &str) {
        self.goto(&app.url("/sign-in")).await;
        self.fill("Email address", email).await;
        self.fill("Password", PASSWORD).await;
        self.submit("Sign in").await;
        self.heading_containing("Welcome").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_takes_an_exam_by_keyboard_alone() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    exam_track(&app).await;
    let agent = app.agent("Keyboard Agent").await;
    browser.sign_in(&app, &agent.email).await;

    // From home to the exams by the link, then Start.
    browser
        .wait_for(Locator::Css("main a[href='/agent/exams']"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Exams").await;
    assert_accessible(&browser, &axe, "the exams list").await;
    browser.tab_to_button("Start the General exam").await;
    browser.press(Key::Enter).await;
    browser.heading_containing("General exam").await;
    browser
        .wait_for(Locator::XPath(
            "//*[@role='timer' and contains(., 'Time left')]",
        ))
        .await;
    assert_accessible(&browser, &axe, "the exam page").await;

    // Keyboard only: the skip link, then Tab through the questions; arrows choose a radio
    // (and select it), Space ticks a checkbox, and the written answer is typed.
    browser.press(Key::Tab).await;
    assert_eq!(
        browser
            .js("return document.activeElement.matches('a.skip-link');")
            .await,
        json!(true)
    );
    browser.press(Key::Enter).await;
    let reply = "I am sorry it is late. Here is your tracking link.";
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..40 {
        browser.press(Key::Tab).await;
        let f = browser.focused().await;
        let name = f["name"].as_str().unwrap_or_default().to_owned();
        match (f["tag"].as_str().unwrap(), f["type"].as_str().unwrap()) {
            ("input", "radio") => {
                // Entering a group focuses its first radio; ArrowDown moves and selects.
                let mut f = f;
                for _ in 0..3 {
                    if EXAM_RIGHT.contains(&f["label"].as_str().unwrap()) {
                        break;
                    }
                    browser.press(Key::Down).await;
                    f = browser.focused().await;
                }
                if !f["checked"].as_bool().unwrap() {
                    browser.press(Key::Space).await;
                }
                answered.insert(name);
            }
            ("input", "checkbox") => {
                if EXAM_RIGHT.contains(&f["label"].as_str().unwrap()) {
                    browser.press(Key::Space).await;
                }
                answered.insert(name);
            }
            ("textarea", _) => {
                browser
                    .client
                    .active_element()
                    .await
                    .unwrap()
                    .send_keys(reply)
                    .await
                    .unwrap();
                answered.insert(name);
            }
            ("button", _) => break,
            _ => {}
        }
    }
    assert_eq!(
        answered.len(),
        4,
        "Tab did not reach every question: {answered:?}"
    );

    // Autosave says so, visibly and to screen readers.
    browser
        .wait_for(Locator::XPath(
            "//*[@id='save-time' and contains(., 'All answers saved at')]",
        ))
        .await;
    let status = browser
        .wait_for(Locator::Css("#save-status[role='status']"))
        .await
        .text()
        .await
        .unwrap_or_default();
    let status_text = browser
        .js("return document.getElementById('save-status').textContent;")
        .await;
    assert_eq!(status_text, json!("Your answers are saved."), "{status}");
    let before = browser.js(PAGE_ANSWERS_JS).await;

    // A reload (or a crash, or a closed laptop) resumes with every answer.
    browser.client.refresh().await.unwrap();
    browser.heading_containing("General exam").await;
    let after = browser.js(PAGE_ANSWERS_JS).await;
    assert_eq!(after, before, "the answers did not survive a reload");
    assert!(
        after.to_string().contains(reply),
        "the written answer is gone: {after}"
    );
    browser.screenshot("exam.png").await;

    // Review, confirm and submit, by keyboard.
    browser.tab_to_button("Review and submit").await;
    browser.press(Key::Enter).await;
    browser.heading_containing("Submit your exam?").await;
    assert!(
        browser
            .body_text()
            .await
            .contains("You answered 4 of 4 questions.")
    );
    browser.tab_to_button("Submit my answers").await;
    browser.press(Key::Enter).await;
    browser.heading_containing("Your General exam result").await;
    let text = browser.body_text().await;
    assert!(
        text.contains("Your written answers are waiting for a reviewer."),
        "{text}"
    );
    assert!(text.contains("What comes next"));
    assert_accessible(&browser, &axe, "the result page").await;
    browser.screenshot("exam-result.png").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_exam_counts_down_and_submits_itself_when_time_is_up() {
    let (browser, app) = browser_and_app().await;
    exam_track(&app).await;
    let agent = app.agent("Out Of Time").await;
    let attempt: Value = app
        .post_as("/api/exams/general/attempts", &agent.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = attempt["id"].as_str().unwrap().to_owned();
    browser.sign_in(&app, &agent.email).await;

    // 65 seconds left on the server's clock: the page counts down from there and says
    // "1 minute left" once, politely.
    app.clock
        .advance(chrono::Duration::minutes(30) - chrono::Duration::seconds(65));
    browser
        .goto(&app.url(&format!("/agent/attempts/{id}")))
        .await;
    browser.heading_containing("General exam").await;
    browser
        .wait_for(Locator::XPath(
            "//*[@role='timer' and (contains(., 'Time left: 1:0') or contains(., 'Time left: 0:5'))]",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//*[@id='exam-announce' and @role='status' and normalize-space(.)='1 minute left.']",
        ))
        .await;

    // Answer one question, then let time run out (4 s left after a reload): the page
    // submits by itself and shows the result, graded on the (wrong) answer.
    browser
        .wait_for(Locator::XPath("//label[normalize-space(.)='Now']"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for(Locator::XPath(
            "//*[@id='save-time' and contains(., 'All answers saved')]",
        ))
        .await;
    let deadline = chrono::DateTime::parse_from_rfc3339(attempt["deadline"].as_str().unwrap())
        .unwrap()
        .naive_utc();
    app.clock
        .advance(deadline - app.clock.now() - chrono::Duration::seconds(4));
    browser.client.refresh().await.unwrap();
    browser
        .wait_for(Locator::XPath(
            "//*[@role='timer' and contains(., 'Time left: 0:0')]",
        ))
        .await;
    browser.heading_containing("Your General exam result").await;
    let text = browser.body_text().await;
    assert!(text.contains("You did not pass this time."), "{text}");
    assert!(text.contains("You scored 0%"), "{text}");
    browser.close().await;
}

// ---------------------------------------------------------------- trial shifts

/// How many replies the agent has sent on the trial page, and a marker that survives only
/// as long as the page is not reloaded (so replies are known to go through the script).
const TRIAL_STATE_JS: &str = r#"
return {
  replies: document.querySelectorAll("ol.messages li.from-agent").length,
  forms: document.querySelectorAll("form[data-trial-reply]").length,
  marker: window.__trialMarker === true,
  announced: (document.getElementById("trial-announce") || {}).textContent || ""
};
"#;

impl Browser {
    /// Presses Tab until the focused element is a button whose text starts with `prefix`.
    async fn tab_to_button_starting(&self, prefix: &str) -> String {
        for _ in 0..40 {
            self.press(Key::Tab).await;
            let f = self.focused().await;
            let text = f["text"].as_str().unwrap_or_default();
            if f["tag"] == "button" && text.starts_with(prefix) {
                return text.to_owned();
            }
        }
        panic!("Tab never reached a button starting with {prefix:?}");
    }

    async fn trial_state(&self) -> Value {
        self.js(TRIAL_STATE_JS).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_books_and_works_a_trial_by_keyboard_alone() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;

    // An agent who passed the `general` exam (choice questions only, graded at once), and
    // a trial slot an hour ahead.
    let admin = app.admin().await;
    let rules = json!({"exam_size": 3, "pass_percent": 75, "duration_minutes": 30, "cooldown_hours": 24, "max_attempts_per_30_days": 3});
    let res = app
        .api
        .put(app.url("/api/admin/exam-tracks/general"))
        .bearer_auth(&admin.access)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let choice_only: String = EXAM_BANK
        .lines()
        .filter(|l| !l.contains(",scenario,"))
        .collect::<Vec<_>>()
        .join("\n");
    let res = app
        .post_as(
            "/api/admin/exam-tracks/general/questions/import",
            &admin.access,
            &json!({"format": "csv", "content": choice_only}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let agent = app.agent("Trial Keyboard Agent").await;
    let attempt: Value = app
        .post_as("/api/exams/general/attempts", &agent.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let answers: Vec<Value> = attempt["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let choices: Vec<usize> = q["options"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .filter(|(_, o)| EXAM_RIGHT.contains(&o.as_str().unwrap()))
                .map(|(i, _)| i)
                .collect();
            json!({"number": q["number"], "choices": choices})
        })
        .collect();
    let graded: Value = app
        .post_as(
            &format!("/api/attempts/{}/submit", attempt["id"].as_str().unwrap()),
            &agent.access,
            &json!({ "answers": answers }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(graded["status"], "passed");
    let starts = app.clock.now().and_utc() + chrono::Duration::hours(1);
    let res = app
        .post_as(
            "/api/admin/trial-slots",
            &admin.access,
            &json!({"skill": "general", "starts_at": starts, "ends_at": starts + chrono::Duration::hours(2), "capacity": 3}),
        )
        .await;
    assert_eq!(res.status(), 201);

    // From home to the trials by the link; book the slot by keyboard.
    browser.sign_in(&app, &agent.email).await;
    browser
        .wait_for(Locator::Css("main a[href='/agent/trials']"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Trial shifts").await;
    assert_accessible(&browser, &axe, "the trials list").await;
    let label = browser.tab_to_button_starting("Book ").await;
    assert!(label.contains("(Asia/Shanghai)"), "{label}");
    browser.press(Key::Enter).await;
    browser
        .heading_containing("TRIAL: General trial shift")
        .await;
    let title = browser.client.title().await.unwrap();
    assert!(
        title.starts_with("TRIAL"),
        "the window title marks the trial: {title}"
    );
    assert!(
        browser.body_text().await.contains("Your trial begins at"),
        "{}",
        browser.body_text().await
    );

    // Into the slot: Begin, by keyboard.
    app.clock.advance(chrono::Duration::minutes(61));
    browser.client.refresh().await.unwrap();
    browser.heading_containing("TRIAL").await;
    browser.tab_to_button("Begin the trial").await;
    browser.press(Key::Enter).await;
    browser
        .wait_for(Locator::Css("section.chat form[data-trial-reply] textarea"))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//*[@role='timer' and contains(., 'Time left')]",
        ))
        .await;
    assert_accessible(&browser, &axe, "the trial page during the slot").await;
    browser.screenshot("trial.png").await;
    browser
        .js("window.__trialMarker = true; return null;")
        .await;

    // Every practice chat, every customer message, answered with the keyboard alone: Tab
    // to the chat's reply box, type, Tab to Send, Enter. The script posts it, the chat
    // updates in place and the customer's next message is announced.
    let mut sent = 0u64;
    let mut announced_once = false;
    for _ in 0..20 {
        if browser.trial_state().await["forms"] == json!(0) {
            break;
        }
        let mut f = browser.focused().await;
        for _ in 0..40 {
            if f["tag"] == "textarea" {
                break;
            }
            browser.press(Key::Tab).await;
            f = browser.focused().await;
        }
        assert_eq!(f["tag"], "textarea", "Tab did not reach a reply box");
        assert!(
            f["label"].as_str().unwrap().starts_with("Your reply to "),
            "{f}"
        );
        browser
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys("Hello, I'm Lin from the shop. Let me check that for you.")
            .await
            .unwrap();
        browser.press(Key::Tab).await;
        let button = browser.focused().await;
        assert_eq!(button["text"], "Send reply", "{button}");
        browser.press(Key::Enter).await;
        sent += 1;
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let state = browser.trial_state().await;
            if state["replies"].as_u64().unwrap() >= sent {
                assert_eq!(state["marker"], json!(true), "the page reloaded: {state}");
                if state["announced"]
                    .as_str()
                    .unwrap()
                    .starts_with("New message in")
                {
                    announced_once = true;
                }
                break;
            }
            assert!(Instant::now() < deadline, "the reply did not show: {state}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        browser.trial_state().await["forms"],
        json!(0),
        "chats still wait for replies"
    );
    assert_eq!(
        sent, 8,
        "three practice chats of 3, 3 and 2 customer messages"
    );
    assert!(
        announced_once,
        "the customer's next message was never announced"
    );
    let stored: Value = app
        .get_as("/api/agents/me/trials", &agent.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        stored[0]["chats"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["finished"] == true),
        "{stored}"
    );

    // Finish, by keyboard; the page then says the trial waits for a reviewer.
    browser.tab_to_button("Finish the trial").await;
    browser.press(Key::Enter).await;
    browser
        .wait_for(Locator::XPath(
            "//main//*[contains(., 'Your trial is waiting for a reviewer.')]",
        ))
        .await;
    assert!(browser.body_text().await.contains("TRIAL"));
    assert_accessible(&browser, &axe, "the trial page after finishing").await;
    browser.screenshot("trial-finished.png").await;
    browser.close().await;
}

// ---------------------------------------------------------------- the whole journey

impl Browser {
    /// Clicks the link in `<main>` whose text is `text`.
    pub(crate) async fn follow(&self, text: &str) {
        let xpath = format!("//main//a[normalize-space(.)={}]", xpath_literal(text));
        self.wait_for(Locator::XPath(&xpath))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Clicks `element` after scrolling it to the middle of the window. WebDriver scrolls
    /// only as far as needed, which can leave an element above the window at the top edge,
    /// under a sticky bar (the exam's countdown) that would take the click.
    async fn click_clear_of_sticky_bars(&self, element: &Element) {
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'}); return null;",
                vec![serde_json::to_value(element).unwrap()],
            )
            .await
            .unwrap();
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {element:?}: {e}"));
    }

    /// Waits for the page's `role="status"` notice to contain `text`.
    pub(crate) async fn status_notice(&self, text: &str) {
        let xpath = format!(
            "//main//*[@role='status' and contains(., {})]",
            xpath_literal(text)
        );
        self.wait_for(Locator::XPath(&xpath)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_goes_from_registration_to_certified() {
    let (agent, app) = browser_and_app().await;
    // The `general` track's bank has a written (scenario) question, so every attempt
    // needs a reviewer.
    let admin_account = exam_track(&app).await;
    let name = "Journey Agent Mei";

    // 1. A new agent registers, confirms the address from the mail and signs in.
    let email = agent.register_and_sign_in(&app, name).await;
    assert_eq!(agent.fact("Status").await, "Applicant");

    // 2. The exam: every choice question right, the written one answered.
    agent
        .wait_for(Locator::Css("main a[href='/agent/exams']"))
        .await
        .click()
        .await
        .unwrap();
    agent.heading_containing("Exams").await;
    agent.submit("Start the General exam").await;
    agent.heading_containing("General exam").await;
    // Once the page script runs, the countdown (and the sticky bar that holds it) takes
    // its final size; clicks before that may land beside their target.
    agent
        .wait_for(Locator::XPath(
            "//*[@role='timer' and contains(., 'Time left')]",
        ))
        .await;
    for right in EXAM_RIGHT {
        let label = agent
            .wait_for(Locator::XPath(&format!(
                "//main//label[normalize-space(.)={}]",
                xpath_literal(right)
            )))
            .await;
        agent.click_clear_of_sticky_bars(&label).await;
        let input = label.attr("for").await.unwrap().unwrap();
        let checked = agent
            .js(&format!(
                "return document.getElementById('{input}').checked;"
            ))
            .await;
        assert_eq!(checked, json!(true), "{right:?} is not chosen");
    }
    let written = "I am so sorry the parcel is late. Here is your tracking link.";
    agent
        .wait_for(Locator::Css("fieldset[data-kind='scenario'] textarea"))
        .await
        .send_keys(written)
        .await
        .unwrap();
    agent.submit("Review and submit").await;
    agent.heading_containing("Submit your exam?").await;
    let text = agent.body_text().await;
    assert!(text.contains("You answered 4 of 4 questions."), "{text}");
    agent.submit("Submit my answers").await;
    agent.heading_containing("Your General exam result").await;
    let text = agent.body_text().await;
    assert!(
        text.contains("Your written answers are waiting for a reviewer."),
        "{text}"
    );
    let result_url = agent.url().await;
    let result_url = result_url.split('?').next().unwrap().to_owned();
    assert!(result_url.ends_with("/result"), "{result_url}");
    app.smtp.wait_for(&email, "exam is with a reviewer").await;

    // 3. An admin, in a browser of their own, marks the written answer from the queue.
    let admin = Browser::start().await;
    admin.sign_in(&app, &admin_account.email).await;
    admin
        .wait_for(Locator::Css("main a[href='/admin/reviews']"))
        .await
        .click()
        .await
        .unwrap();
    admin.heading_containing("Reviews").await;
    admin
        .wait_for(Locator::XPath(
            "//h2[@id='exam-queue' and normalize-space(.)='Exam answers to mark (1)']",
        ))
        .await;
    assert!(
        admin
            .body_text()
            .await
            .contains("No trials are waiting for a score.")
    );
    admin
        .wait_for(Locator::XPath(&format!(
            "//section[@aria-labelledby='exam-queue']//a[normalize-space(.)={}]",
            xpath_literal(name)
        )))
        .await
        .click()
        .await
        .unwrap();
    admin
        .heading_containing(&format!("Mark written answers: {name}"))
        .await;
    assert_eq!(admin.fact("Choice questions").await, "4 / 4");
    let answer = admin
        .wait_for(Locator::Css("blockquote.answer"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer.trim(), written);
    assert!(
        admin
            .body_text()
            .await
            .contains("Apologise and give the tracking link"),
        "the model answer is not beside the agent's"
    );
    let comment = "Warm apology; add when the parcel will arrive.";
    admin.fill("Points (0–5)", "4").await;
    admin.fill("Comment for the agent", comment).await;
    admin.submit("Save the marks and tell the agent").await;
    admin
        .status_notice("The marks are saved and the agent has been told the result.")
        .await;
    assert!(
        admin
            .body_text()
            .await
            .contains("No written exam answers are waiting."),
        "the marked attempt is still queued"
    );

    // The agent's result: passed with 4 + 4 of 9 points, the reviewer's comment shown.
    // (Mails name the skill by its id, "general", where the pages say "General".)
    let mail = app.smtp.wait_for(&email, "You passed the").await;
    assert!(mail.text.contains("88%"), "{}", mail.text);
    agent.goto(&result_url).await;
    agent.heading_containing("Your General exam result").await;
    agent
        .wait_for(Locator::Css("p[data-outcome='passed']"))
        .await;
    let text = agent.body_text().await;
    assert!(text.contains("You passed."), "{text}");
    assert!(
        text.contains("You scored 88%; the pass mark is 75%."),
        "{text}"
    );
    let marks = agent
        .wait_for(Locator::Css("table.scorecard tbody"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        marks.contains("4 of 5") && marks.contains(comment),
        "{marks}"
    );

    // 4. The admin publishes a trial slot through the form, a few minutes ahead in their
    // zone.
    admin
        .wait_for(Locator::Css("main a[href='/admin/trial-slots']"))
        .await
        .click()
        .await
        .unwrap();
    admin.heading_containing("Trial slots").await;
    assert!(admin.body_text().await.contains("No slots are published."));
    let zone = chrono_tz::Asia::Shanghai;
    let starts_local = (app.clock.now().and_utc() + chrono::Duration::minutes(5))
        .with_timezone(&zone)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let starts_at = chrono::NaiveDateTime::parse_from_str(&starts_local, "%Y-%m-%dT%H:%M")
        .unwrap()
        .and_local_timezone(zone)
        .unwrap()
        .naive_utc();
    let start_field = admin.field("Starts (Asia/Shanghai)").await;
    // The date-time input's keyboard entry is locale-specific, so its value is set.
    admin
        .client
        .execute(
            "arguments[0].value = arguments[1]; return null;",
            vec![
                serde_json::to_value(&start_field).unwrap(),
                json!(starts_local),
            ],
        )
        .await
        .unwrap();
    admin
        .field("Skill")
        .await
        .select_by_value("general")
        .await
        .unwrap();
    admin.fill("Length in minutes", "60").await;
    admin.fill("Agents at once", "2").await;
    admin.submit("Publish the slot").await;
    admin.status_notice("The slot is published").await;
    let row = admin
        .wait_for(Locator::Css("section[aria-labelledby='upcoming'] tbody tr"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        row.starts_with(&starts_local.replace('T', " ")) && row.contains("0 / 2"),
        "{row}"
    );

    // The agent follows the result page's link to the trials and books the slot.
    agent.goto(&result_url).await;
    agent
        .wait_for(Locator::Css("main a.button[href='/agent/trials']"))
        .await
        .click()
        .await
        .unwrap();
    agent.heading_containing("Trial shifts").await;
    let book = agent
        .wait_for(Locator::XPath(
            "//main//button[starts-with(normalize-space(.), 'Book ')]",
        ))
        .await;
    let label = book.text().await.unwrap();
    assert!(
        label.contains(&starts_local.replace('T', " ")),
        "the slot is offered at another time: {label}"
    );
    book.click().await.unwrap();
    agent.heading_containing("TRIAL: General trial shift").await;
    assert_eq!(agent.fact("Status").await, "Booked");
    app.smtp.wait_for(&email, "trial shift is booked").await;

    // Into the slot: begin, answer every customer in every practice chat, finish.
    app.clock
        .advance(starts_at - app.clock.now() + chrono::Duration::minutes(1));
    agent.client.refresh().await.unwrap();
    agent.submit("Begin the trial").await;
    agent
        .wait_for(Locator::Css("section.chat form[data-trial-reply] textarea"))
        .await;
    agent
        .wait_for(Locator::XPath(
            "//*[@role='timer' and contains(., 'Time left')]",
        ))
        .await;
    let reply = "Hello, I'm Mei from the shop. Let me check that for you.";
    let mut sent = 0u64;
    while agent.trial_state().await["forms"] != json!(0) {
        assert!(sent < 20, "the practice chats never end");
        let form = agent.wait_for(Locator::Css("form[data-trial-reply]")).await;
        form.find(Locator::Css("textarea"))
            .await
            .unwrap()
            .send_keys(reply)
            .await
            .unwrap();
        let send = form
            .find(Locator::Css("button[type='submit']"))
            .await
            .unwrap();
        agent.click_clear_of_sticky_bars(&send).await;
        sent += 1;
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let state = agent.trial_state().await;
            if state["replies"].as_u64().unwrap() >= sent {
                break;
            }
            assert!(Instant::now() < deadline, "the reply did not show: {state}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        sent, 8,
        "three practice chats of 3, 3 and 2 customer messages"
    );
    agent.submit("Finish the trial").await;
    agent
        .wait_for(Locator::XPath(
            "//main//*[contains(., 'Your trial is waiting for a reviewer.')]",
        ))
        .await;
    let trial_url = agent.url().await;
    let trial_url = trial_url.split('?').next().unwrap().to_owned();

    // 5. The admin scores the trial from the queue: every criterion marked, feedback.
    admin.goto(&app.url("/admin/reviews")).await;
    admin
        .wait_for(Locator::XPath(
            "//h2[@id='trial-queue' and normalize-space(.)='Trials to score (1)']",
        ))
        .await;
    admin
        .wait_for(Locator::XPath(&format!(
            "//section[@aria-labelledby='trial-queue']//a[normalize-space(.)={}]",
            xpath_literal(name)
        )))
        .await
        .click()
        .await
        .unwrap();
    admin
        .heading_containing(&format!("Score a trial: {name}"))
        .await;
    let transcript = admin
        .client
        .find_all(Locator::Css("ol.transcript p.agent"))
        .await
        .unwrap();
    assert_eq!(transcript.len(), 8, "every reply is in the transcript");
    for p in &transcript {
        assert!(p.text().await.unwrap().contains(reply));
    }
    let criteria = admin
        .js("return Array.from(document.querySelectorAll('form.scorecard fieldset')).map(f => f.id.replace('criterion-', ''));")
        .await;
    let criteria: Vec<String> = criteria
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(criteria.len(), 6, "{criteria:?}");
    // Full marks but for the response time (weight 10 of 100): 97%.
    for key in &criteria {
        let score = if key == "response_time" { 3 } else { 4 };
        admin
            .wait_for(Locator::Css(&format!("label[for='score_{key}_{score}']")))
            .await
            .click()
            .await
            .unwrap();
        assert!(
            admin
                .client
                .find(Locator::Id(&format!("score_{key}_{score}")))
                .await
                .unwrap()
                .is_selected()
                .await
                .unwrap()
        );
    }
    let slow = "Answer the second customer a little sooner.";
    admin
        .client
        .find(Locator::Id("comment_response_time"))
        .await
        .unwrap()
        .send_keys(slow)
        .await
        .unwrap();
    let feedback = "Friendly and accurate throughout. Welcome aboard!";
    admin.fill("Feedback for the agent", feedback).await;
    admin.submit("Save the scorecard and tell the agent").await;
    admin
        .status_notice("The scorecard is saved and the agent has been told the result.")
        .await;
    assert!(
        admin
            .body_text()
            .await
            .contains("No trials are waiting for a score.")
    );
    admin.close().await;

    // The agent is certified: the mail, the trial's scorecard, the trials list and home.
    let mail = app.smtp.wait_for(&email, "You are certified for").await;
    assert!(mail.text.contains("97%"), "{}", mail.text);
    agent.goto(&trial_url).await;
    agent.heading_containing("TRIAL: General trial shift").await;
    assert_eq!(agent.fact("Status").await, "Passed");
    let text = agent.body_text().await;
    assert!(
        text.contains("You passed the trial. You are certified for General."),
        "{text}"
    );
    assert!(text.contains("Your score: 97%"), "{text}");
    assert!(text.contains(feedback) && text.contains(slow), "{text}");
    agent.follow("Back to your trial shifts").await;
    agent.heading_containing("Trial shifts").await;
    let cert = agent
        .wait_for(Locator::Css(
            "section[aria-labelledby='certs-heading'] tbody tr",
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        cert.starts_with("General") && cert.contains("Valid"),
        "{cert}"
    );
    let mine = agent
        .wait_for(Locator::Css(
            "section[aria-labelledby='mine-heading'] tbody tr",
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(mine.contains("Passed") && mine.contains("97"), "{mine}");
    agent.goto(&app.url("/home")).await;
    agent.heading_containing("Welcome").await;
    assert_eq!(agent.fact("Status").await, "Certified");
    agent.screenshot("certified.png").await;
    agent.close().await;
}

// ---------------------------------------------------------------- shifts

/// Makes `agent` certified for `general` from yesterday for a year (the certification flow
/// has its own journey above).
async fn certify_general(app: &TestApp, agent: &Session) {
    use cloudseat::db::schema::{agents, certifications};
    use diesel::prelude::*;
    let id = agent.id();
    let now = app.clock.now();
    app.with_db(move |c| {
        cloudseat::db::write_transaction(c, |c| {
            diesel::update(agents::table.find(&id))
                .set(agents::status.eq("certified"))
                .execute(c)?;
            diesel::insert_into(certifications::table)
                .values((
                    certifications::agent_id.eq(&id),
                    certifications::skill.eq("general"),
                    certifications::certified_at.eq(now - chrono::Duration::days(1)),
                    certifications::expires_at.eq(now + chrono::Duration::days(365)),
                ))
                .execute(c)
        })
        .unwrap();
    })
    .await;
}

/// A confirmed booking of one `general` seat on day +5, 08:00-12:00 market time; returns its
/// one shift's id and start.
async fn one_shift(app: &TestApp, shop: &Session) -> (String, chrono::NaiveDateTime) {
    use cloudseat::db::schema::shifts;
    use diesel::prelude::*;
    let body = json!({"skill": "general", "start_date": crate::helpers::day(5), "end_date": crate::helpers::day(5),
                      "daily_start_hour": 8, "daily_end_hour": 12, "seats": 1});
    let res = app.post_as("/api/bookings", &shop.access, &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_as(
            &format!("/api/bookings/{id}/confirm"),
            &shop.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.with_db(move |c| {
        shifts::table
            .filter(shifts::booking_id.eq(&id))
            .select((shifts::id, shifts::starts_at))
            .first(c)
            .unwrap()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agents_race_for_a_shift_and_the_winner_checks_in() {
    let axe = axe_source();
    let (winner, app) = browser_and_app().await;
    let shop = app.merchant("Tea House").await;
    let (shift, starts_at) = one_shift(&app, &shop).await;
    // Past the day of early access for the merchant's previous agents.
    app.clock.advance(chrono::Duration::hours(25));
    let first = app.agent("Shift Keyboard Agent").await;
    let second = app.agent("Shift Racing Agent").await;
    certify_general(&app, &first).await;
    certify_general(&app, &second).await;

    // The second agent opens the board first and leaves the tab as it is.
    let racer = Browser::start().await;
    racer.sign_in(&app, &second.email).await;
    racer.goto(&app.url("/agent/shifts/open")).await;
    racer.heading_containing("Job board").await;
    let stale_claim = racer
        .wait_for(Locator::Css(&format!(
            "form[action='/agent/shifts/{shift}/claim'] button"
        )))
        .await;

    // The first agent: to the board by the nav link, then Claim by keyboard.
    winner.sign_in(&app, &first.email).await;
    winner
        .wait_for(Locator::Css("header a[href='/agent/shifts/open']"))
        .await
        .click()
        .await
        .unwrap();
    winner.heading_containing("Job board").await;
    assert_accessible(&winner, &axe, "the job board").await;
    let label = winner.tab_to_button_starting("Claim").await;
    assert!(
        label.contains("Tea House") && label.contains("(Asia/Shanghai)"),
        "the button names its shift: {label}"
    );
    winner.press(Key::Enter).await;
    winner.status_notice("You claimed the shift.").await;
    winner
        .wait_for(Locator::Css("header a[href='/agent/shifts']"))
        .await
        .click()
        .await
        .unwrap();
    winner.heading_containing("My shifts").await;
    let card = winner
        .wait_for(Locator::Id(&format!("shift-{shift}")))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card.contains("Tea House") && card.contains("Claimed"),
        "{card}"
    );
    assert_accessible(&winner, &axe, "my shifts").await;

    // The stale tab's Claim: refused in words; reloaded, the board no longer has it.
    racer.click_clear_of_sticky_bars(&stale_claim).await;
    racer
        .wait_for(Locator::XPath(
            "//main//*[@role='alert' and contains(., 'Another agent claimed this shift first.')]",
        ))
        .await;
    assert_accessible(&racer, &axe, "the job board with a refusal").await;
    racer.goto(&app.url("/agent/shifts/open")).await;
    racer.heading_containing("Job board").await;
    let text = racer.body_text().await;
    assert!(
        text.contains("No shifts are open for your skills right now."),
        "{text}"
    );
    assert!(
        racer
            .client
            .find(Locator::Css(&format!(
                "form[action='/agent/shifts/{shift}/claim']"
            )))
            .await
            .is_err(),
        "the claimed shift is still offered"
    );
    racer.close().await;

    // Twenty minutes before the start: Check in, by keyboard.
    app.clock
        .advance(starts_at - app.clock.now() - chrono::Duration::minutes(20));
    winner.client.refresh().await.unwrap();
    winner.heading_containing("My shifts").await;
    let label = winner.tab_to_button_starting("Check in").await;
    assert!(label.contains("Tea House"), "{label}");
    winner.press(Key::Enter).await;
    winner.status_notice("You are checked in.").await;
    let card = winner
        .wait_for(Locator::Id(&format!("shift-{shift}")))
        .await
        .text()
        .await
        .unwrap();
    assert!(card.contains("Checked in"), "{card}");
    assert_accessible(&winner, &axe, "my shifts after checking in").await;
    winner.screenshot("shifts-checked-in.png").await;
    winner.close().await;
}

// ---------------------------------------------------------------- live chat

impl Browser {
    /// Waits until the element matching `css` has text containing `needle`; returns it.
    pub(crate) async fn text_of(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            if let Ok(found) = self.client.find_all(Locator::Css(css)).await {
                for element in found {
                    let text = element.text().await.unwrap_or_default();
                    if text.contains(needle) {
                        return text;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {css} containing {needle:?} on {}\n--- page text ---\n{}",
                self.url().await,
                self.body_text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses `key` with Alt held.
    async fn alt(&self, key: char) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down {
                value: Key::Alt.into(),
            })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up {
                value: Key::Alt.into(),
            });
        self.client.perform_actions(keys).await.unwrap();
    }
}

/// A certified agent checked in on the shop's only `general` shift, the service clock a
/// minute into it.
pub(crate) async fn agent_on_shift(app: &TestApp, shop: &Session, name: &str) -> Session {
    let (shift, starts_at) = one_shift(app, shop).await;
    app.clock.advance(chrono::Duration::hours(25));
    let agent = app.agent(name).await;
    certify_general(app, &agent).await;
    let res = app
        .post_as(
            &format!("/api/shifts/{shift}/claim"),
            &agent.access,
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    app.clock
        .advance(starts_at - app.clock.now() - chrono::Duration::minutes(5));
    let res = app
        .post_as(
            &format!("/api/shifts/{shift}/check-in"),
            &agent.access,
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    app.clock.advance(chrono::Duration::minutes(6));
    agent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_customer_widget_and_agent_workspace_chat() {
    let axe = axe_source();
    let (agent_browser, app) = browser_and_app().await;
    let shop = app.merchant("Tea House").await;
    let agent = agent_on_shift(&app, &shop, "Agent Mei").await;
    let res = app
        .get_as(
            &format!("/api/merchants/{}/widget-key", shop.merchant_id()),
            &shop.access,
        )
        .await;
    let key = res.json::<Value>().await.unwrap()["widget_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // The agent opens the workspace from the navigation; the socket says hello.
    agent_browser.sign_in(&app, &agent.email).await;
    agent_browser
        .wait_for(Locator::Css("header a[href='/agent/chats']"))
        .await
        .click()
        .await
        .unwrap();
    agent_browser.heading_containing("Chat workspace").await;
    agent_browser.text_of("#ws-conn", "Connected").await;
    let online = agent_browser
        .js("return document.getElementById('ws-presence').checked;")
        .await;
    assert_eq!(online, json!(true), "connecting puts the agent online");

    // The customer, on the shop's page, opens the widget and writes (markup included).
    let customer = Browser::start().await;
    customer
        .goto(&app.url(&format!("/demo/shop?key={key}")))
        .await;
    customer.heading_containing("Tea House").await;
    let launcher = customer
        .wait_for(Locator::Css(".csw button.csw-launcher"))
        .await;
    assert_eq!(launcher.text().await.unwrap(), "Chat with us");
    launcher.click().await.unwrap();
    let dialog = customer
        .wait_for(Locator::Css(".csw [role='dialog']"))
        .await;
    assert!(dialog.is_displayed().await.unwrap());
    let focused_message = customer
        .js("return document.activeElement.tagName === 'TEXTAREA' && document.activeElement.labels[0].textContent;")
        .await;
    assert_eq!(
        focused_message,
        json!("Message"),
        "opening focuses the message box"
    );
    customer.fill("Your name (optional)", "Xiao Ming").await;
    let message = customer.field("Message").await;
    message
        .send_keys("<b>hi</b> is the green tea in stock?")
        .await
        .unwrap();
    customer.press(Key::Enter).await;
    customer
        .text_of(".csw-log li.csw-customer", "<b>hi</b>")
        .await;
    let stored = customer
        .js("return JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('cloudseat.widget.'))) || '{}');")
        .await;

    // The offer reaches the agent; Alt+A takes the oldest one.
    let offer = agent_browser.text_of("li.ws-offer", "Xiao Ming").await;
    assert!(
        offer.contains("Tea House") && offer.contains("s left"),
        "{offer}"
    );
    agent_browser.alt('a').await;
    let line = agent_browser
        .text_of("#ws-messages li.from-customer", "is the green tea")
        .await;
    assert!(
        line.contains("<b>hi</b>"),
        "the markup is shown as typed: {line}"
    );
    let bold = agent_browser
        .js("return document.querySelectorAll('#ws-messages b, #ws-messages strong').length;")
        .await;
    assert_eq!(bold, json!(0), "customer text never becomes markup");
    agent_browser.text_of("#ws-countdown", "Reply within").await;
    agent_browser.text_of("[role='tab']", "Xiao Ming").await;
    assert!(
        stored["token"].as_str().is_some_and(|t| !t.is_empty()),
        "the widget keeps the chat's token: {stored}"
    );
    // The customer's history is there (this is their first chat, its transcript folded).
    agent_browser
        .text_of("#ws-history", "widget · assigned")
        .await;
    let transcript = agent_browser
        .js("return document.getElementById('ws-history').textContent;")
        .await;
    assert!(
        transcript
            .as_str()
            .unwrap()
            .contains("<b>hi</b> is the green tea"),
        "{transcript}"
    );
    agent_browser
        .text_of("#ws-briefing", "The shop has not written a briefing yet.")
        .await;
    let focused = agent_browser.js("return document.activeElement.id;").await;
    assert_eq!(
        focused,
        json!("ws-reply-text"),
        "accepting leads to the reply box"
    );
    assert_accessible(&agent_browser, &axe, "the chat workspace with a chat").await;

    // The agent replies with Enter; the customer sees it and who is answering.
    let reply = agent_browser.field("Reply").await;
    reply.send_keys("Yes, 30 boxes.").await.unwrap();
    agent_browser.press(Key::Enter).await;
    agent_browser
        .text_of("#ws-messages li.from-agent", "Yes, 30 boxes.")
        .await;
    customer
        .text_of(".csw-log li.csw-agent", "Yes, 30 boxes.")
        .await;
    customer
        .text_of(".csw [role='status']", "You are chatting with Agent Mei.")
        .await;
    // The open widget marks the reply read.
    agent_browser
        .text_of("#ws-messages li.from-agent", "read")
        .await;
    customer.screenshot("widget-chat.png").await;
    agent_browser.screenshot("workspace-chat.png").await;

    // The agent closes; the customer rates 5.
    agent_browser
        .wait_for(Locator::Id("ws-close"))
        .await
        .click()
        .await
        .unwrap();
    agent_browser
        .text_of("#ws-chat-status", "This chat is closed.")
        .await;
    customer.text_of(".csw legend", "How was this chat?").await;
    customer
        .wait_for(Locator::Css(".csw input[type='radio'][value='5']"))
        .await
        .click()
        .await
        .unwrap();
    customer.fill("Comment (optional)", "fast").await;
    customer
        .wait_for(Locator::XPath("//button[normalize-space(.)='Send rating']"))
        .await
        .click()
        .await
        .unwrap();
    customer
        .text_of(".csw [role='status']", "Thank you for your rating.")
        .await;
    agent_browser
        .text_of("#ws-chat-status", "rated this chat 5 of 5")
        .await;
    let rating: Option<i32> = {
        use cloudseat::db::schema::chats;
        use diesel::prelude::*;
        app.with_db(|c| {
            chats::table
                .select(chats::rating)
                .first::<Option<i32>>(c)
                .unwrap()
        })
        .await
    };
    assert_eq!(rating, Some(5));
    customer.close().await;
    agent_browser.close().await;
}
