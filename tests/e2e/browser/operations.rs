//! The operations dashboard in a real browser: an admin finds it in the navigation, sees the
//! sold-against-staffed chart with its table and the shop whose agent is on shift; a chat
//! queued meanwhile shows when the updates resume; the page passes axe-core.

use fantoccini::Locator;

use super::{agent_on_shift, assert_accessible, axe_source, browser_and_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_operations_dashboard_is_accessible() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    let admin = app.admin().await;
    let shop = app.merchant("Browser Tea House").await;
    // One seat booked today 08-12, its agent checked in a minute into the shift.
    agent_on_shift(&app, &shop, "Browser Agent Mei").await;

    browser.sign_in(&app, &admin.email).await;
    browser
        .wait_for(Locator::Css("header a[href='/admin/operations']"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Operations dashboard").await;
    browser
        .wait_for(Locator::Css(
            "svg.chart[aria-labelledby='sold-staffed-title sold-staffed-desc']",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//table[@id='queues']//th[@scope='row' and . = 'Browser Tea House']",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//table[@id='coverage-hours']//tr[td[1] = '08:00' and td[2] = '1' and td[3] = '1']",
        ))
        .await;
    assert_accessible(&browser, &axe, "the operations dashboard").await;

    // A customer starts waiting; pausing and resuming the updates fetches the figures now.
    let (mid, now) = (shop.merchant_id(), app.clock.now());
    app.with_db(move |c| {
        let customer = crate::helpers::insert_customer(c, &mid);
        crate::helpers::insert_chat(
            c,
            &crate::helpers::ChatFixture {
                merchant: &mid,
                customer: &customer,
                agent: None,
                status: "queued",
                created: now,
                accepted: None,
                first_response: None,
                closed: None,
                rating: None,
            },
        );
    })
    .await;
    let pause = browser.wait_for(Locator::Css("#ops-pause")).await;
    assert_eq!(pause.text().await.unwrap(), "Pause updates");
    pause.click().await.unwrap();
    browser.text_of("#ops-status", "Updates paused.").await;
    browser.text_of("#ops-pause", "Resume updates").await;
    pause.click().await.unwrap();
    browser
        .wait_for(Locator::XPath(
            "//table[@id='queues']//tr[th = 'Browser Tea House' and td[1] = '1']",
        ))
        .await;
    browser.text_of("#ops-status", "Figures updated at").await;
    assert_accessible(&browser, &axe, "the operations dashboard, updated").await;
    browser.screenshot("operations.png").await;
    browser.close().await;
}
