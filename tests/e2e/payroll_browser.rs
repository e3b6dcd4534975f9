//! The admin's payroll journey in headless Chromium: an agent worked a shift and closed
//! chats in a period that is over; the admin creates a run for it, sees it compute, checks
//! the draft's figures against the API, publishes, approves and marks it paid.

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{Browser, agent_on_shift, assert_accessible, axe_source, browser_and_app};
use crate::helpers::{Session, TestApp, closed_chats, day};
use cloudseat::db::schema::{payroll_runs, shift_assignments};

fn money(fen: i64) -> String {
    format!("¥{}", cloudseat::seats::booking::yuan(fen))
}

async fn api_run(app: &TestApp, admin: &Session, id: &str) -> Value {
    let res = app
        .get_as(&format!("/api/admin/payroll/runs/{id}"), &admin.access)
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Waits until the run has left `computing` (the API's view).
async fn computed(app: &TestApp, admin: &Session, id: &str) -> Value {
    for _ in 0..200 {
        let run = api_run(app, admin, id).await;
        if run["status"] != "computing" {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {id} still computing");
}

async fn set_status(app: &TestApp, id: &str, status: &'static str) {
    use diesel::prelude::*;
    let id = id.to_owned();
    app.with_db(move |c| {
        diesel::update(payroll_runs::table.find(&id))
            .set((
                payroll_runs::status.eq(status),
                payroll_runs::progress_done.eq(0),
                payroll_runs::progress_total.eq(1),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

/// The agent's worked day: checked in on the day +5 shift (08:00-12:00 market time) with
/// 12 pre-sale and 5 after-sale chats closed during it; the service clock then moves a
/// day on, so the period is over.
async fn worked_period(app: &TestApp, agent: &Session, shop: &Session) {
    use diesel::prelude::*;
    let id = agent.id();
    let start: chrono::NaiveDateTime = app
        .with_db(move |c| {
            shift_assignments::table
                .filter(shift_assignments::agent_id.eq(&id))
                .select(shift_assignments::starts_at)
                .first(c)
                .unwrap()
        })
        .await;
    closed_chats(
        app,
        &agent.id(),
        &shop.merchant_id(),
        start + chrono::Duration::minutes(90),
        &[("pre_sale", 12), ("after_sale", 5)],
    )
    .await;
    app.clock.advance(chrono::Duration::hours(24));
}

/// The admin, signed in, runs payroll for day +5 from the pages: creates the run, watches
/// it compute, checks the draft against the API, publishes with a one-hour window,
/// approves and marks it paid. Returns the run's id.
async fn admin_pays_the_period(
    browser: &Browser,
    app: &TestApp,
    admin: &Session,
    agent_name: &str,
) -> String {
    let axe = axe_source();
    browser
        .wait_for(Locator::Css("header a[href='/admin/payroll']"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Payroll runs").await;
    assert!(browser.body_text().await.contains("No payroll runs yet"));
    assert_accessible(browser, &axe, "payroll runs").await;

    // Date inputs take their value in ISO form from script; the labels are what a user
    // finds them by.
    let from = browser.field("First day").await;
    let to = browser.field("Last day (included)").await;
    for (el, value) in [(&from, day(5)), (&to, day(5))] {
        browser
            .client
            .execute(
                "arguments[0].value = arguments[1]; return null;",
                vec![serde_json::to_value(el).unwrap(), Value::from(value)],
            )
            .await
            .unwrap();
    }
    browser.submit("Create and compute").await;
    browser.status_notice("The run was created").await;
    let url = browser.url().await;
    let id = url
        .split("/admin/payroll/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("not on a run page: {url}"))
        .to_owned();
    let run = computed(app, admin, &id).await;
    assert_eq!(run["status"], "draft", "{run}");

    // The progress while it computes: the script polls the API and reloads the page when
    // the run leaves `computing`.
    set_status(app, &id, "computing").await;
    browser
        .goto(&app.url(&format!("/admin/payroll/{id}")))
        .await;
    let bar = browser.wait_for(Locator::Css("progress#progress")).await;
    assert_eq!(bar.attr("max").await.unwrap().as_deref(), Some("1"));
    assert_eq!(browser.fact("Status").await, "Computing");
    set_status(app, &id, "draft").await;
    browser
        .wait_for(Locator::XPath(
            "//dl[contains(@class, 'facts')]/dt[normalize-space(.)='Status']/following-sibling::dd[1][normalize-space(.)='Draft']",
        ))
        .await;
    assert!(browser.client.find(Locator::Css("progress")).await.is_err());

    // The draft's figures are the API's.
    let run = api_run(app, admin, &id).await;
    let total = run["total_fen"].as_i64().unwrap();
    assert!(total > 0, "{run}");
    assert_eq!(browser.fact("Total").await, money(total));
    assert_eq!(browser.fact("Agents").await, "1");
    let row = browser.text_of("table tbody tr", agent_name).await;
    assert!(row.contains(&money(total)), "{row}");
    let margin = run["summary"]["skills"][0]["margin_fen"].as_i64().unwrap();
    assert!(
        browser.body_text().await.contains(&money(margin)),
        "the margin is shown"
    );
    assert_accessible(browser, &axe, "payroll draft").await;

    browser.fill("Dispute window (hours)", "1").await;
    browser.submit("Publish to agents").await;
    browser.status_notice("Published").await;
    assert_eq!(api_run(app, admin, &id).await["status"], "published");

    browser.submit("Approve").await;
    browser.status_notice("Approved").await;
    assert_eq!(api_run(app, admin, &id).await["status"], "approved");
    browser
        .wait_for(Locator::XPath(
            "//main//a[normalize-space(.)='Bank transfer file (CSV)']",
        ))
        .await;

    browser.fill("Payout reference", "BANK-E2E-001").await;
    browser.submit("Mark paid").await;
    browser.status_notice("Marked paid").await;
    assert_eq!(browser.fact("Payout reference").await, "BANK-E2E-001");
    let paid = api_run(app, admin, &id).await;
    assert_eq!(
        (
            paid["status"].as_str(),
            paid["payout_reference"].as_str(),
            paid["total_fen"].as_i64()
        ),
        (Some("paid"), Some("BANK-E2E-001"), Some(total))
    );
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_admin_runs_payroll_from_draft_to_paid() {
    let (browser, app) = browser_and_app().await;
    let shop = app.merchant("Tea House").await;
    let agent = agent_on_shift(&app, &shop, "Agent Pay").await;
    worked_period(&app, &agent, &shop).await;
    let admin = app.admin().await;
    browser.sign_in(&app, &admin.email).await;

    let run_id = admin_pays_the_period(&browser, &app, &admin, "Agent Pay").await;

    // The agent's payslip of the paid run is theirs to see.
    let res = app
        .get_as(&format!("/api/agents/me/payslips/{run_id}"), &agent.access)
        .await;
    assert_eq!(res.status(), 200);
    let slip: Value = res.json().await.unwrap();
    let chats: i64 = slip["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "piece")
        .map(|l| l["units"].as_i64().unwrap())
        .sum();
    assert_eq!(chats, 17, "{slip}");

    agent_reads_and_downloads_the_payslip(&browser, &app, &agent, &run_id, &slip).await;
    browser.close().await;
}

/// The admin signs out and the agent signs in on the same browser, finds the paid run in
/// their payslips, checks the page against the API and downloads the CSV through the
/// page's own link (so with the session cookie, as a click would).
async fn agent_reads_and_downloads_the_payslip(
    browser: &Browser,
    app: &TestApp,
    agent: &Session,
    run_id: &str,
    slip: &Value,
) {
    browser
        .wait_for(Locator::XPath(
            "//header//button[@type='submit' and normalize-space(.)='Sign out']",
        ))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for(Locator::Css("header a[href='/sign-in']"))
        .await;
    browser.sign_in(app, &agent.email).await;

    let total = slip["payslip"]["total_fen"].as_i64().unwrap();
    browser.goto(&app.url("/agent/payslips")).await;
    browser.heading_containing("My payslips").await;
    let row = browser.text_of("table tbody tr", &money(total)).await;
    assert!(row.contains("paid"), "{row}");
    browser
        .wait_for(Locator::Css(&format!(
            "table tbody a[href='/agent/payslips/{run_id}']"
        )))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Payslip").await;
    assert_eq!(browser.fact("Chats closed").await, "17");
    let shown_total = browser
        .js("return document.querySelector('[data-total]').textContent.trim();")
        .await;
    assert_eq!(shown_total, Value::from(money(total)));
    let lines = slip["lines"].as_array().unwrap();
    let rows = browser
        .js("return document.querySelectorAll('main table tbody tr').length;")
        .await;
    assert_eq!(rows, Value::from(lines.len()), "one table row per pay line");

    let download = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const a = document.querySelector('main a[download]');
             fetch(a.href).then(async r => done([a.getAttribute('href'), r.status,
                 r.headers.get('content-type'), r.headers.get('content-disposition'),
                 await r.text()])).catch(e => done(['error', String(e)]));",
            Vec::new(),
        )
        .await
        .unwrap();
    let download = download.as_array().unwrap();
    assert_eq!(
        download[0],
        Value::from(format!("/agent/payslips/{run_id}/csv"))
    );
    assert_eq!(download[1], 200, "{download:?}");
    assert!(
        download[2].as_str().unwrap().starts_with("text/csv"),
        "{download:?}"
    );
    assert!(
        download[3]
            .as_str()
            .unwrap()
            .contains("attachment; filename=\"payslip-"),
        "{download:?}"
    );
    let mut csv = csv::Reader::from_reader(download[4].as_str().unwrap().as_bytes());
    let headers = csv.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (kind, units, amount) = (column("kind"), column("units"), column("amount_yuan"));
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), lines.len(), "{download:?}");
    for (record, line) in records.iter().zip(lines) {
        assert_eq!(&record[kind], line["kind"].as_str().unwrap());
        assert_eq!(
            record[units].parse::<i64>().unwrap(),
            line["units"].as_i64().unwrap()
        );
        let fen = line["amount_fen"].as_i64().unwrap();
        assert_eq!(&record[amount], &format!("{}.{:02}", fen / 100, fen % 100));
    }
}
