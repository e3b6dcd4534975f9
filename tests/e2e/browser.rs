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

use crate::helpers::{Backend, PASSWORD, TestApp, spawn_app};

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
struct Browser {
    client: Client,
    // Dropped in this order: the driver (and its Chromium) goes before the profile folder.
    driver: ChromeDriver,
    profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
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
    async fn close(self) {
        let Browser {
            client,
            driver,
            profile,
        } = self;
        let _ = client.close().await;
        drop(driver);
        drop(profile);
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    async fn wait_for(&self, locator: Locator<'_>) -> Element {
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

    async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The `<h1>` of the page, once it contains `needle`.
    async fn heading_containing(&self, needle: &str) -> String {
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
    async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[normalize-space(.)={}]", xpath_literal(label));
        let label_el = self.wait_for(Locator::XPath(&xpath)).await;
        let id = label_el
            .attr("for")
            .await
            .unwrap()
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

    async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the submit button of the form in `<main>` whose text is `text`.
    async fn submit(&self, text: &str) {
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

    async fn js(&self, script: &str) -> Value {
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

async fn browser_and_app() -> (Browser, TestApp) {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    (browser, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_registers_confirms_email_and_signs_in() {
    let (browser, app) = browser_and_app().await;
    let email = app.unique_email("browser");
    let name = "Browser Agent Lin";

    // Register: the agent role is the default, so only the text fields need filling.
    browser.goto(&app.url("/register")).await;
    browser.heading_containing("Create an account").await;
    assert_eq!(browser.html_lang().await, "en");
    let agent = browser.field("an agent looking for work").await;
    assert!(
        agent.is_selected().await.unwrap(),
        "the agent role is not the default"
    );
    browser.fill("Your name", name).await;
    browser.fill("Email address", &email).await;
    browser.fill("Password", PASSWORD).await;
    browser.submit("Create account").await;
    browser.heading_containing("Check your inbox").await;
    assert!(
        browser.body_text().await.contains(&email),
        "the confirmation page does not say where the link went"
    );

    // Confirm the address with the mailed link.
    let mail = app.smtp.wait_for(&email, "Confirm your email").await;
    browser.goto(&mail.link("verify-email")).await;
    browser
        .heading_containing("Confirm your email address")
        .await;
    browser.submit("Confirm email address").await;
    browser
        .wait_for(Locator::XPath(
            "//main//*[@role='status' and contains(., 'Your email address is confirmed')]",
        ))
        .await;

    // Sign in.
    browser.goto(&app.url("/sign-in")).await;
    browser.heading_containing("Sign in").await;
    browser.fill("Email address", &email).await;
    browser.fill("Password", PASSWORD).await;
    browser.submit("Sign in").await;

    // Home shows who is signed in and as what.
    let heading = browser.heading_containing("Welcome").await;
    assert!(heading.contains(name), "{heading}");
    assert!(
        browser.url().await.ends_with("/home"),
        "{}",
        browser.url().await
    );
    let role = browser
        .wait_for(Locator::XPath(
            "//dl[contains(@class, 'facts')]/dt[normalize-space(.)='Role']/following-sibling::dd[1]",
        ))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(role.trim(), "Agent");
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
