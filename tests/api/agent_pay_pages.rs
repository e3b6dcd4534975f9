//! The agent's quality, earnings and payslip pages: the real figures shown, the dispute
//! forms (redirect, effect, inline errors), the print view and the CSV download, and who
//! is turned away.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::earnings::start_of_shift;
use crate::helpers::{TestApp, browser, csrf_of, day, signed_in};
use crate::payroll::{run_for, worked_example_agent};
use crate::quality::{full_scores, reviewed_setup};
use crate::shifts::{clock_to, set_zone};

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    b.post(app.url(path)).form(form).send().await.unwrap()
}

both_backends! {
    async fn the_quality_page_shows_the_score_parts_trend_and_reviews_and_takes_a_dispute(app) {
        let (_shop, agent, chat) = reviewed_setup(&app).await;
        let admin = app.admin().await;
        let review: Value = app.post_as(&format!("/api/chats/{chat}/reviews"), &admin.access, &full_scores(0)).await.json().await.unwrap();
        let id = review["id"].as_str().unwrap().to_owned();
        let b = signed_in(&app, &agent.email).await;

        // The period of the reviewed chat (1 November): reviews 80, ratings 75, first
        // response 100, resolution 100 -> 84.50.
        let (status, html) = page(&b, &app, "/agent/quality?period=2026-11-01").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Pay period 2026-11-01 – 2026-11-15"), "{html}");
        assert!(html.contains("Quality score: <strong>84.50</strong>"), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">Mean review score</th><td>80.00</td><td>40%</td><td>40%</td><td>1</td></tr>"#), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">Customer ratings</th><td>75.00</td><td>30%</td><td>30%</td><td>1</td></tr>"#), "{html}");
        assert!(html.contains(r#"<tr><th scope="row">First-response compliance</th><td>100.00</td><td>20%</td><td>20%</td><td>1</td></tr>"#), "{html}");
        assert!(html.contains("the mean review score (weight 40%), customer ratings (30%)"), "the formula in words: {html}");
        assert!(html.contains("within 30 seconds"), "{html}");
        // The trend: an accessible chart and the same figures as a table.
        assert!(html.contains(r#"role="img" aria-labelledby="quality-trend-title quality-trend-desc""#), "{html}");
        assert!(html.contains(r#"<title id="quality-trend-title">Trend over the last six pay periods</title>"#), "{html}");
        assert!(html.contains("<caption>Quality score per pay period</caption>"), "{html}");
        assert_eq!(html.matches(r#"<option value=""#).count(), 6, "six periods to choose from");
        // The review with each criterion's score and comment, and the dispute form.
        assert!(html.contains(r#"<tr><th scope="row">Accurate answer</th><td>4 / 4</td><td>40%</td><td>Checked the order</td></tr>"#), "{html}");
        assert!(html.contains("A bit curt"), "{html}");
        assert!(html.contains(&format!(r#"action="/agent/quality/reviews/{id}/dispute""#)), "{html}");
        assert!(html.contains(&format!(r#"<label for="reason-{id}">"#)), "{html}");
        assert!(html.contains(r#"<li><a href="/agent/quality">My quality</a></li>"#), "the nav links to it");

        // A dispute without a reason: the error is shown, linked to the field.
        let action = format!("/agent/quality/reviews/{id}/dispute");
        let csrf = csrf_of(&html);
        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("reason", "  ")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!(r##"<li><a href="#reason-{id}">Say why you dispute it.</a></li>"##)), "{html}");
        // A forged form is refused.
        let res = post_form(&b, &app, &action, &[("csrf_token", "forged"), ("reason", "x")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);

        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("reason", "I was polite; see message 2")]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], format!("/agent/quality?disputed={id}#review-{id}").as_str());
        let (_, html) = page(&b, &app, &format!("/agent/quality?disputed={id}")).await;
        assert!(html.contains(r#"<p class="notice ok" role="status">Your dispute was sent. An admin will answer it.</p>"#), "{html}");
        assert!(html.contains("<dt>Your dispute</dt><dd>open, waiting for an answer</dd>"), "{html}");
        assert!(html.contains("<dd>I was polite; see message 2</dd>"), "{html}");
        assert!(!html.contains(&format!(r#"id="reason-{id}""#)), "no second dispute form");
        let disputes: Value = app.get_as("/api/agents/me/reviews", &agent.access).await.json().await.unwrap();
        assert_eq!(disputes["items"][0]["dispute"]["reason"], "I was polite; see message 2");

        // Once only; another agent's post is as if the review did not exist.
        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("reason", "again")]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!(r##"<a href="#review-{id}">You have disputed this already; each may be disputed once.</a>"##)), "{html}");
        let other = app.agent("Bystander").await;
        let ob = signed_in(&app, &other.email).await;
        let (_, their_page) = page(&ob, &app, "/agent/quality").await;
        assert!(their_page.contains("None of your chats has been reviewed yet."), "{their_page}");
        let res = post_form(&ob, &app, &action, &[("csrf_token", &csrf_of(&their_page)), ("reason", "mine")]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        // A period that is not a date is an inline error; the page still shows the default.
        let (status, html) = page(&b, &app, "/agent/quality?period=soon").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains(r##"<a href="#period">Choose a pay period from the list.</a>"##), "{html}");

        // In Chinese, the chart's title and description too.
        b.get(app.url("/lang/zh-CN?next=/agent/quality")).send().await.unwrap();
        let (_, html) = page(&b, &app, "/agent/quality?period=2026-11-01").await;
        assert!(html.contains(r#"<title id="quality-trend-title">最近六个结算周期的走势</title>"#), "{html}");
        assert!(html.contains("质检评分均值"), "{html}");
    }

    async fn the_earnings_page_shows_the_live_estimate_or_that_nothing_was_worked(app) {
        let idle = app.agent("Idle Agent").await;
        let ib = signed_in(&app, &idle.email).await;
        let (status, html) = page(&ib, &app, "/agent/earnings").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Nothing worked yet this pay period"), "{html}");
        assert!(html.contains(r#"<li><a href="/agent/earnings">Earnings so far</a></li>"#), "{html}");

        let (shop, agent) = worked_example_agent(&app).await;
        set_zone(&app, &agent, "Europe/Berlin").await;
        let start = start_of_shift(&app, &agent).await;
        clock_to(&app, start + Duration::hours(3));
        let b = signed_in(&app, &agent.email).await;
        let before = app.clock.now();
        let (status, html) = page(&b, &app, "/agent/earnings").await;
        let after = app.clock.now();
        assert_eq!(status, StatusCode::OK, "{html}");
        // The API's figures: 3 hours and the worked example's chats at quality 91.
        assert!(html.contains(r#"<td class="money" data-total>¥374.40</td>"#), "{html}");
        assert!(html.contains("<th scope=\"row\">Hours · General</th><td>180 min</td><td>¥16.80 an hour</td><td>×1</td><td class=\"money\">¥50.40</td>"), "{html}");
        assert!(html.contains("<th scope=\"row\">Chats · General · pre-sale</th><td>200 chats</td><td>¥0.90 each</td><td>×1</td><td class=\"money\">¥180.00</td>"), "{html}");
        assert!(html.contains("kind: pre_sale; chats closed: 200; quality score: 91.00"), "{html}");
        assert!(html.contains("<dd>3 h 00 min</dd>"), "{html}");
        assert!(html.contains("score 91.00, piece-rate multiplier ×1"), "{html}");
        // As of now, in the agent's zone.
        let berlin = |t: chrono::NaiveDateTime| {
            t.and_utc().with_timezone(&chrono_tz::Europe::Berlin).format("As of %Y-%m-%d %H:%M (Europe/Berlin).").to_string()
        };
        assert!(html.contains(&berlin(before)) || html.contains(&berlin(after)), "{html}");

        // Shops are refused, strangers sent to sign in.
        let sb = signed_in(&app, &shop.email).await;
        let (status, _) = page(&sb, &app, "/agent/earnings").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let res = browser().get(app.url("/agent/earnings")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/sign-in?next=/agent/earnings");
    }

    async fn payslips_are_listed_shown_line_by_line_disputed_printed_and_downloaded(app) {
        let (shop, agent) = worked_example_agent(&app).await;
        let admin = app.admin().await;
        let b = signed_in(&app, &agent.email).await;
        let (status, html) = page(&b, &app, "/agent/payslips").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("No payslip yet"), "{html}");

        // A draft is not shown; once published it is.
        let run = run_for(&app, &admin, &day(5), &day(7)).await;
        let id = run["id"].as_str().unwrap().to_owned();
        let (status, _) = page(&b, &app, &format!("/agent/payslips/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/publish"), &admin.access, &json!({})).await;
        assert_eq!(res.status(), 200);

        let (_, html) = page(&b, &app, "/agent/payslips").await;
        assert!(html.contains(&format!(r#"<a href="/agent/payslips/{id}">{} – {}</a>"#, day(5), day(7))), "{html}");
        assert!(html.contains("<td>published, open to disputes</td><td class=\"money\">¥996.00</td>"), "{html}");

        let path = format!("/agent/payslips/{id}");
        let (status, html) = page(&b, &app, &path).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(r#"<td class="money" data-total>¥996.00</td>"#), "{html}");
        assert!(html.contains("<td>2400 min</td><td>¥16.80 an hour</td><td>×1</td><td class=\"money\">¥672.00</td>"), "{html}");
        assert!(html.contains("<td>20 chats</td><td>¥1.80 each</td><td>×1</td><td class=\"money\">¥36.00</td>"), "{html}");
        assert!(html.contains("minutes: 2400; shifts checked in: 1"), "{html}");
        assert!(html.contains("Each line may be disputed once, until"), "{html}");
        assert!(html.contains(&format!(r#"href="/agent/payslips/{id}/csv""#)), "{html}");
        assert!(html.contains(r#"<button type="button" data-print hidden>Print</button>"#), "{html}");
        assert_eq!(html.matches(&format!(r#"action="/agent/payslips/{id}/disputes""#)).count(), 4, "a form per line");

        // The complaints line (the fourth) disputed: refused without a reason, then taken.
        let slip: Value = app.get_as(&format!("/api/agents/me/payslips/{id}"), &agent.access).await.json().await.unwrap();
        let line = slip["lines"][3]["id"].as_str().unwrap().to_owned();
        let action = format!("/agent/payslips/{id}/disputes");
        let csrf = csrf_of(&html);
        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("line", &line), ("reason", "")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!(r##"<a href="#reason-{line}">Say why you dispute it.</a>"##)), "{html}");
        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("line", "not-a-line"), ("reason", "x")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("That line is not on your payslip."));
        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("line", &line), ("reason", "I closed 21 complaints")]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], format!("{path}?disputed={line}#line-{line}").as_str());
        let (_, html) = page(&b, &app, &format!("{path}?disputed={line}")).await;
        assert!(html.contains("Your dispute of the line was sent."), "{html}");
        assert!(html.contains("<p>open, waiting for an answer: I closed 21 complaints</p>"), "{html}");
        assert_eq!(html.matches(&format!(r#"action="{action}""#)).count(), 3);
        let res = post_form(&b, &app, &action, &[("csrf_token", &csrf), ("line", &line), ("reason", "again")]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains(&format!(r##"<a href="#line-{line}">You have disputed this already"##)));

        // The print layout: no navigation, no forms.
        let (_, html) = page(&b, &app, &format!("{path}?print=1")).await;
        assert!(html.contains(r#"<div class="print-layout">"#), "{html}");
        assert!(!html.contains(&format!(r#"action="{action}""#)), "{html}");
        assert!(html.contains(r#"<td class="money" data-total>¥996.00</td>"#));

        // The CSV, with the session cookie.
        let res = b.get(app.url(&format!("{path}/csv"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-disposition"].to_str().unwrap().contains("payslip-"));
        let csv = res.text().await.unwrap();
        assert!(csv.starts_with("position,kind,skill,chat_kind,units"), "{csv}");
        assert!(csv.contains("piece,general,complaint,20,"), "{csv}");

        // Another agent's payslip is not there for them; shops are refused.
        let other = app.agent("Other Agent").await;
        let ob = signed_in(&app, &other.email).await;
        let (status, html) = page(&ob, &app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
        let (status, _) = page(&ob, &app, &format!("{path}/csv")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, html) = page(&ob, &app, "/agent/payslips").await;
        assert!(html.contains("No payslip yet"), "{html}");
        let sb = signed_in(&app, &shop.email).await;
        let (status, _) = page(&sb, &app, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
