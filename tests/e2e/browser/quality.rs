//! The quality reviewing pages in a real browser: a shop reviews a chat on the scorecard
//! (errors, then saved), an admin opens the review queue and the disputes, an agent reads
//! the model chat; each page passes axe-core.

use diesel::prelude::*;
use fantoccini::Locator;
use serde_json::json;

use super::{assert_accessible, axe_source, browser_and_app};
use crate::helpers::{ChatFixture, at, insert_chat, insert_customer};
use cloudseat::db::schema::{agents, chat_messages, chat_reviews};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_quality_review_pages_are_accessible() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    let shop = app.merchant("Browser Review Shop").await;
    let agent = app.agent("Browser Reviewed Agent").await;
    let admin = app.admin().await;
    let (m, a) = (shop.merchant_id(), agent.id());
    let chat = app
        .with_db(move |conn| {
            let customer = insert_customer(conn, &m);
            let chat = insert_chat(
                conn,
                &ChatFixture {
                    merchant: &m,
                    customer: &customer,
                    agent: Some(&a),
                    status: "closed",
                    created: at(1, 9, 0, 0, 0),
                    accepted: Some(at(1, 9, 0, 0, 0)),
                    first_response: Some(at(1, 9, 0, 8, 0)),
                    closed: Some(at(1, 9, 30, 0, 0)),
                    rating: Some(2),
                },
            );
            for (seq, sender, body) in [
                (1, "customer", "Where is my parcel?"),
                (
                    2,
                    "agent",
                    "It left the warehouse today; here is the tracking link.",
                ),
            ] {
                diesel::insert_into(chat_messages::table)
                    .values((
                        chat_messages::chat_id.eq(&chat),
                        chat_messages::seq.eq(seq),
                        chat_messages::sender.eq(sender),
                        chat_messages::body.eq(body),
                        chat_messages::created_at.eq(at(1, 9, 0, seq as u32, 0)),
                    ))
                    .execute(conn)
                    .unwrap();
            }
            chat
        })
        .await;

    // The shop: its chats, the review form, its errors, then the saved review.
    browser.sign_in(&app, &shop.email).await;
    browser.goto(&app.url("/seats/quality")).await;
    browser.heading_containing("Review your chats").await;
    assert_accessible(&browser, &axe, "the shop's chats").await;
    browser
        .wait_for(Locator::Css(&format!(
            "main a[href='/quality/chats/{chat}/review']"
        )))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Review a chat").await;
    assert_accessible(&browser, &axe, "the review form").await;
    browser.submit("Save the review").await;
    browser.wait_for(Locator::Id("error-summary")).await;
    browser.wait_for(Locator::Id("error-accuracy")).await;
    assert_accessible(&browser, &axe, "the review form with errors").await;
    for criterion in ["accuracy", "resolution", "tone", "process"] {
        browser
            .wait_for(Locator::Id(&format!("score_{criterion}_2")))
            .await
            .click()
            .await
            .unwrap();
    }
    browser.field("Exemplary").await.click().await.unwrap();
    browser.submit("Save the review").await;
    browser
        .wait_for(Locator::XPath(
            "//*[@role='status' and contains(., 'Your review is saved.')]",
        ))
        .await;
    assert_accessible(&browser, &axe, "the saved review").await;
    browser.screenshot("quality-review.png").await;

    // The agent disputes it; the admin's queue and disputes.
    let c = chat.clone();
    let review: String = app
        .with_db(move |conn| {
            chat_reviews::table
                .filter(chat_reviews::chat_id.eq(&c))
                .select(chat_reviews::id)
                .first(conn)
                .unwrap()
        })
        .await;
    let res = app
        .post_as(
            &format!("/api/reviews/{review}/dispute"),
            &agent.access,
            &json!({"reason": "The link was in the second message"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    browser.client.delete_all_cookies().await.unwrap();
    browser.sign_in(&app, &admin.email).await;
    browser
        .goto(&app.url("/admin/quality?period=2026-11-01"))
        .await;
    browser.heading_containing("Quality reviews").await;
    browser
        .wait_for(Locator::Css(&format!("tr[data-chat='{chat}']")))
        .await;
    assert_accessible(&browser, &axe, "the quality review queue").await;
    browser.goto(&app.url("/admin/quality/disputes")).await;
    browser.heading_containing("Review disputes").await;
    browser
        .field("Reject with an answer")
        .await
        .click()
        .await
        .unwrap();
    browser.submit("Resolve").await;
    browser.wait_for(Locator::Id("error-summary")).await;
    assert_accessible(&browser, &axe, "the review disputes with an error").await;

    // A certified agent reads the model chat.
    let reader = app.agent("Browser Reader").await;
    let r = reader.id();
    app.with_db(move |conn| {
        diesel::update(agents::table.find(&r))
            .set(agents::status.eq("certified"))
            .execute(conn)
            .unwrap();
    })
    .await;
    browser.client.delete_all_cookies().await.unwrap();
    browser.sign_in(&app, &reader.email).await;
    browser.goto(&app.url("/agent/model-chats")).await;
    browser.heading_containing("Model chats").await;
    assert_accessible(&browser, &axe, "the model-chat library").await;
    browser
        .wait_for(Locator::Css("main table a"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Model chat").await;
    browser
        .wait_for(Locator::XPath(
            "//*[contains(., 'It left the warehouse today')]",
        ))
        .await;
    assert_accessible(&browser, &axe, "a model chat").await;
    browser.close().await;
}
