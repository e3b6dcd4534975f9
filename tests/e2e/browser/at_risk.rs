//! The at-risk page in a real browser: an admin sees an agent who never claimed a shift,
//! records a follow-up through the row's form, and the page passes axe-core before and
//! after.

use chrono::Duration;
use diesel::prelude::*;
use fantoccini::Locator;

use super::{assert_accessible, axe_source, browser_and_app};
use cloudseat::db::schema::{agents, certifications};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_at_risk_page_records_a_follow_up_and_is_accessible() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    let admin = app.admin().await;
    let agent = app.agent("Browser Quiet Agent").await;
    // Certified 20 days ago and never claimed a shift: "no claims in 14 days".
    let (a, since) = (agent.id(), app.clock.now() - Duration::days(20));
    app.with_db(move |c| {
        diesel::update(agents::table.find(&a))
            .set(agents::status.eq("certified"))
            .execute(c)
            .unwrap();
        diesel::insert_into(certifications::table)
            .values((
                certifications::agent_id.eq(&a),
                certifications::skill.eq("general"),
                certifications::certified_at.eq(since),
                certifications::expires_at.eq(since + Duration::days(365)),
            ))
            .execute(c)
            .unwrap();
    })
    .await;

    browser.sign_in(&app, &admin.email).await;
    browser.goto(&app.url("/admin/analytics/at-risk")).await;
    browser.heading_containing("At-risk agents").await;
    let row = format!("tr#agent-{}", agent.id());
    browser
        .wait_for(Locator::XPath(
            "//td[contains(., 'no shift claimed since joining the pool 20 days ago')]",
        ))
        .await;
    assert_accessible(&browser, &axe, "the at-risk list").await;
    browser
        .wait_for(Locator::Css(&format!("{row} summary")))
        .await
        .click()
        .await
        .unwrap();
    browser
        .fill("Note", "Called: will claim shifts next week")
        .await;
    browser.submit("Save follow-up").await;
    browser.status_notice("The follow-up was recorded.").await;
    browser
        .wait_for(Locator::XPath(
            "//p[@class='last-follow-up' and contains(., 'Called: will claim shifts next week')]",
        ))
        .await;
    assert_accessible(&browser, &axe, "the at-risk list after a follow-up").await;
    browser.screenshot("at-risk.png").await;
    browser.close().await;
}
