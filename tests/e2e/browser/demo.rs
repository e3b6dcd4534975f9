//! The demo's history on the pages, in a real browser: the demo admin opens churn and
//! at-risk, the first shop's owner its service dashboard, and every figure checked is the
//! one the API gives for the same range (only numbers and dates are compared, so the
//! page's language does not matter).

use chrono::{Datelike, Duration, Months};
use fantoccini::Locator;
use serde_json::Value;

use super::{Browser, browser_and_app};
use crate::helpers::{TestApp, market_today};

const ADMIN: &str = "admin@demo.cloudseat.localhost";
const OWNER: &str = "owner@jadegarden.demo.cloudseat.localhost";

async fn api(app: &TestApp, email: &str, path: &str) -> (Value, Value) {
    let res = app.login(email, cloudseat::demo::DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let login: Value = res.json().await.unwrap();
    let token = login["access_token"].as_str().unwrap();
    let res = app.get_as(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    (res.json().await.unwrap(), login["account"].clone())
}

impl Browser {
    /// Signs in with the demo password and waits for the home page (by its address: the
    /// demo accounts may read another language).
    async fn sign_in_demo(&self, app: &TestApp, email: &str) {
        self.client.delete_all_cookies().await.unwrap();
        self.goto(&app.url("/sign-in")).await;
        self.fill("Email address", email).await;
        self.fill("Password", cloudseat::demo::DEMO_PASSWORD).await;
        self.submit("Sign in").await;
        for _ in 0..100 {
            if self.url().await.ends_with("/home") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{email} did not reach home: {}", self.body_text().await);
    }

    /// The trimmed text of every cell (th and td) of the rows `css` selects, row by row.
    async fn rows(&self, css: &str) -> Vec<Vec<String>> {
        self.wait_for(Locator::Css(css)).await;
        let script = format!(
            "return Array.from(document.querySelectorAll({css:?})).map(r => \
             Array.from(r.querySelectorAll('th, td')).map(c => c.textContent.trim()));"
        );
        serde_json::from_value(self.js(&script).await).unwrap()
    }
}

fn n(v: &Value) -> String {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a count: {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_demo_history_pages_show_the_api_figures() {
    let (browser, app) = browser_and_app().await;
    let rules = cloudseat::seats::rules::load_dir(&app.data_dir.path().join("seat-rules"))
        .expect("the fixture rules load");
    app.with_db(move |conn| cloudseat::demo::fill(conn, &rules).expect("demo data"))
        .await;
    let today = market_today();

    // Churn, the last six months: each month's row and each cohort's size.
    let (from, to) = (
        (today.with_day(1).unwrap() - Months::new(5))
            .format("%Y-%m")
            .to_string(),
        today.format("%Y-%m").to_string(),
    );
    let (churn, _) = api(
        &app,
        ADMIN,
        &format!("/api/admin/analytics/churn?from={from}&to={to}"),
    )
    .await;
    browser.sign_in_demo(&app, ADMIN).await;
    browser
        .goto(&app.url(&format!("/admin/analytics/churn?from={from}&to={to}")))
        .await;
    let months = browser.rows("#churn-months tbody tr").await;
    let expected = churn["months"].as_array().unwrap();
    assert_eq!(months.len(), expected.len());
    assert!(
        expected.iter().any(|m| m["new"].as_u64() > Some(0)),
        "{churn}"
    );
    for (row, m) in months.iter().zip(expected) {
        // Month, active at start and end, churned, rate, left and returned, new, returning.
        assert_eq!(row[1], n(&m["active_at_start"]), "{row:?} {m}");
        assert_eq!(row[2], n(&m["active_at_end"]), "{row:?} {m}");
        assert_eq!(row[3], n(&m["churned"]), "{row:?} {m}");
        assert_eq!(row[6], n(&m["new"]), "{row:?} {m}");
        assert_eq!(row[7], n(&m["returning"]), "{row:?} {m}");
    }
    let cohorts = browser.rows("#churn-cohorts tbody tr").await;
    let expected = churn["cohorts"].as_array().unwrap();
    assert!(expected.len() >= 3, "{churn}");
    assert_eq!(cohorts.len(), expected.len());
    for (row, c) in cohorts.iter().zip(expected) {
        assert_eq!(row[1], n(&c["size"]), "{row:?} {c}");
    }
    browser.screenshot("demo-churn.png").await;

    // At risk: every agent of the API's first page, with the same score.
    let (at_risk, _) = api(&app, ADMIN, "/api/admin/analytics/at-risk").await;
    let items = at_risk["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{at_risk}");
    browser.goto(&app.url("/admin/analytics/at-risk")).await;
    for item in items.iter().take(50) {
        let css = format!("tr#agent-{} td.score", item["agent_id"].as_str().unwrap());
        let score = browser
            .wait_for(Locator::Css(&css))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(score.trim(), n(&item["score"]), "{item}");
    }
    browser.screenshot("demo-at-risk.png").await;

    // The first shop's dashboard: the weeks, the renewals and today's arrivals.
    let from = today - Duration::days(180);
    let (_, owner) = api(&app, OWNER, "/api/me").await;
    let shop = owner["merchant"]["id"].as_str().unwrap().to_owned();
    let (report, _) = api(
        &app,
        OWNER,
        &format!("/api/merchants/{shop}/analytics/continuity?from={from}&to={today}"),
    )
    .await;
    let (live, _) = api(
        &app,
        OWNER,
        &format!("/api/merchants/{shop}/analytics/live"),
    )
    .await;
    browser.sign_in_demo(&app, OWNER).await;
    browser
        .goto(&app.url(&format!("/seats/dashboard?from={from}&to={today}")))
        .await;
    let section = "section[aria-labelledby='continuity-heading']";
    let weeks = browser
        .rows(&format!("{section} table:first-of-type tbody tr"))
        .await;
    let expected = report["weeks"].as_array().unwrap();
    assert!(expected.len() >= 20, "{report}");
    assert_eq!(weeks.len(), expected.len());
    for (row, w) in weeks.iter().zip(expected) {
        let days = format!(
            "{} – {}",
            w["first_day"].as_str().unwrap(),
            w["last_day"].as_str().unwrap()
        );
        assert_eq!(row[0], days);
        assert_eq!(row[1], n(&w["chats"]), "{row:?} {w}");
        assert_eq!(row[3], n(&w["shifts"]), "{row:?} {w}");
        assert_eq!(row[5], n(&w["agents"]), "{row:?} {w}");
        assert_eq!(row[6], n(&w["new_agents"]), "{row:?} {w}");
    }
    let renewals = browser
        .rows(&format!("{section} table:nth-of-type(2) tbody tr"))
        .await;
    let expected = report["renewals"]["items"].as_array().unwrap();
    assert!(!expected.is_empty(), "{report}");
    assert_eq!(renewals.len(), expected.len());
    for (row, r) in renewals.iter().zip(expected) {
        assert_eq!(
            row[1],
            format!(
                "{} – {}",
                r["start"].as_str().unwrap(),
                r["end"].as_str().unwrap()
            )
        );
        assert_eq!(row[2], r["seat_hours"].as_i64().unwrap().to_string());
    }
    let arrived = browser
        .wait_for(Locator::Css("#live td[data-field='today.arrived']"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(arrived.trim(), n(&live["today"]["arrived"]), "{live}");
    browser.screenshot("demo-dashboard.png").await;
    browser.close().await;
}
