//! The quality reviewing pages: the admin review queue, the review form (admins and the
//! chat's shop), a shop's chats, review disputes and the agents' model-chat library.

use cloudseat::db::DbConn;
use cloudseat::db::schema::{agents, chat_reviews, model_chats, review_disputes};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    ChatFixture, TestApp, at, browser, csrf_of, insert_chat, insert_customer, signed_in,
};
use crate::quality::{SampleSetup, full_scores, reviewed_setup, sample_setup};

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Where a page's "Next page" link goes.
fn next_page(html: &str) -> String {
    let re = regex::Regex::new(r#"href="([^"]+)">Next page"#).unwrap();
    re.captures(html).expect("a next page link")[1]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn rows(html: &str) -> usize {
    html.matches("data-chat=").count()
}

both_backends! {
    async fn the_admin_review_queue_shows_each_agents_sample(app) {
        let SampleSetup { shop, admin, low, slow, .. } = sample_setup(&app).await;
        assert_eq!(app.post_as(&format!("/api/chats/{low}/reviews"), &admin.access, &full_scores(4)).await.status(), 201);

        let br = signed_in(&app, &admin.email).await;
        let (status, html) = page(&br, &app, "/admin/quality?period=2026-11-01").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("2026-11-01 to 2026-11-15"), "the period");
        assert!(html.contains("Sampled A") && html.contains("Sampled B") && html.contains("Sample Shop"));
        // New agents: 10 of A's 14 chats, all 3 of B's; as the API proposes them.
        assert_eq!(rows(&html), 13);
        assert!(html.contains("14 closed chats, 10 proposed for review, 1 reviewed."), "{html}");
        let sample: Value = app.get_as("/api/admin/quality/sample?from=2026-10-31T16:00:00Z&to=2026-11-15T16:00:00Z", &admin.access).await.json().await.unwrap();
        for agent in sample["items"].as_array().unwrap() {
            for p in agent["proposed"].as_array().unwrap() {
                assert!(html.contains(&format!("data-chat=\"{}\"", p["chat_id"].as_str().unwrap())));
            }
        }
        // The low-rated chat: reviewed; closed 10:00 UTC is 18:00 in the admin's zone.
        let row = |id: &str| {
            let start = html.find(&format!("data-chat=\"{id}\"")).unwrap();
            html[start..start + html[start..].find("</tr>").unwrap()].to_owned()
        };
        let low_row = row(&low);
        assert!(low_row.contains("Low rating") && low_row.contains("1 stars") && low_row.contains("2026-11-01 18:00") && low_row.contains(">Reviewed<"), "{low_row}");
        let slow_row = row(&slow);
        assert!(slow_row.contains("Slow first reply") && slow_row.contains("45 s") && slow_row.contains("Not yet reviewed"), "{slow_row}");
        assert!(slow_row.contains(&format!("href=\"/quality/chats/{slow}/review\"")));
        assert!(!html.contains("Next page"));

        // Sorted by agent, either way.
        let (_, desc) = page(&br, &app, "/admin/quality?period=2026-11-01&sort=-agent").await;
        let pos = |h: &str, name: &str| h.find(name).unwrap();
        assert!(pos(&html, "Sampled A") < pos(&html, "Sampled B"));
        assert!(pos(&desc, "Sampled B") < pos(&desc, "Sampled A"));
        assert_eq!(rows(&desc), 13);

        // By default the last pay period (the second of the selector, newest first); a
        // period without closed chats is empty; a bad period is said so.
        let (status, default) = page(&br, &app, "/admin/quality").await;
        assert_eq!(status, StatusCode::OK);
        let options: Vec<&str> = default.split("<option value=\"").skip(1).collect();
        assert!(options[1].contains(" selected") && !options[0].contains(" selected"), "{options:?}");
        let (_, empty) = page(&br, &app, "/admin/quality?period=2026-10-20").await;
        assert!(empty.contains("nothing to review") && rows(&empty) == 0);
        let (status, bad) = page(&br, &app, "/admin/quality?period=yesterday").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("Choose a pay period") && bad.contains("href=\"#period\""));

        // Only admins.
        let staff = signed_in(&app, &shop.email).await;
        assert_eq!(page(&staff, &app, "/admin/quality").await.0, StatusCode::FORBIDDEN);
        let res = browser().get(app.url("/admin/quality")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }

    async fn a_shop_reviews_its_own_chat_on_the_form(app) {
        let (shop, agent, chat) = reviewed_setup(&app).await;
        let path = format!("/quality/chats/{chat}/review");
        let b = signed_in(&app, &shop.email).await;

        // The shop's list: the chat, with filters.
        let (status, list) = page(&b, &app, "/seats/quality").await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains(&format!("href=\"{path}\"")) && list.contains("Served Agent") && list.contains("4 stars") && list.contains("10 s"), "{list}");
        assert!(list.contains("2026-11-01 18:00"), "in the staff member's zone");
        for (filter, shown) in [("unrated", false), ("low_rated", false), ("reviewed", false), ("all", true)] {
            let (_, l) = page(&b, &app, &format!("/seats/quality?filter={filter}")).await;
            assert_eq!(rows(&l), usize::from(shown), "{filter}");
        }

        let (status, form) = page(&b, &app, &path).await;
        assert_eq!(status, StatusCode::OK, "{form}");
        assert!(form.contains("Zhang Min here"), "the transcript as written");
        assert!(form.contains("Accurate answer") && form.contains("weight 40%, scored 0 to 4") && form.contains("Correct but incomplete"), "criteria with weights and anchors");
        assert!(form.contains(r#"name="score_accuracy""#) && form.contains(r#"name="comment_tone""#) && form.contains(r#"name="exemplary""#));
        assert!(form.contains("No reviews yet."));
        let csrf = csrf_of(&form);

        let res = b.post(app.url(&path)).form(&[("score_accuracy", "4")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token, no review");
        // A criterion left unscored: said by that criterion, what was typed kept.
        let res = b.post(app.url(&path)).form(&[
            ("csrf_token", csrf.as_str()), ("score_accuracy", "4"), ("score_resolution", "4"),
            ("score_process", "2"), ("comment_tone", "Warm and clear"),
        ]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains(r#"<p class="field-error" id="error-tone">Choose a score for this criterion.</p>"#), "{body}");
        assert!(body.contains("href=\"#criterion-tone\"") && body.contains("Warm and clear"));
        assert!(body.contains(r#"id="score_accuracy_4" name="score_accuracy" value="4" checked"#));
        // Off the scale (a forged form): the service's check, by its criterion.
        let res = b.post(app.url(&path)).form(&[
            ("csrf_token", csrf.as_str()), ("score_accuracy", "4"), ("score_resolution", "4"),
            ("score_tone", "2"), ("score_process", "9"),
        ]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains(r#"id="error-process">Choose a score on this criterion&#39;s scale."#), "{body}");
        assert_eq!(app.count("chat_reviews").await, 0);

        let res = b.post(app.url(&path)).form(&[
            ("csrf_token", csrf.as_str()), ("score_accuracy", "4"), ("comment_accuracy", "Checked the order"),
            ("score_resolution", "4"), ("score_tone", "2"), ("comment_tone", "A bit curt"),
            ("score_process", "2"), ("exemplary", "on"),
        ]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let c = chat.clone();
        let (review_id, role, total): (String, String, i32) = app.with_db(move |conn| {
            chat_reviews::table.filter(chat_reviews::chat_id.eq(&c))
                .select((chat_reviews::id, chat_reviews::reviewer_role, chat_reviews::total_x100))
                .first(conn).unwrap()
        }).await;
        assert_eq!((role.as_str(), total), ("merchant", 9_000));
        assert_eq!(res.headers()["location"], format!("{path}?saved={review_id}#review-{review_id}").as_str());
        assert_eq!(app.count("model_chats").await, 1, "exemplary: into the library");
        let (_, done) = page(&b, &app, &format!("{path}?saved={review_id}")).await;
        assert!(done.contains(r#"role="status">Your review is saved."#));
        assert!(done.contains(&format!("id=\"review-{review_id}\"")) && done.contains("By the shop") && done.contains("90.00") && done.contains("A bit curt") && done.contains("Marked exemplary."), "{done}");
        assert!(done.contains("You have reviewed this chat already.") && !done.contains("Save the review"));
        let (_, reviewed) = page(&b, &app, "/seats/quality?filter=reviewed").await;
        assert_eq!(rows(&reviewed), 1);
        assert!(reviewed.contains("Reviewed (1)"));

        // Admins see it and may review it too; another shop does not; agents are refused.
        let admin = app.admin().await;
        let ab = signed_in(&app, &admin.email).await;
        let (status, by_admin) = page(&ab, &app, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(by_admin.contains("By the shop") && by_admin.contains("Save the review"));
        let other = app.merchant("Other Shop").await;
        let ob = signed_in(&app, &other.email).await;
        assert_eq!(page(&ob, &app, &path).await.0, StatusCode::NOT_FOUND);
        let res = ob.post(app.url(&path)).form(&[("csrf_token", csrf_of(&page(&ob, &app, "/seats/quality").await.1).as_str()), ("score_accuracy", "4")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let (_, theirs) = page(&ob, &app, "/seats/quality").await;
        assert!(theirs.contains("No closed chats to show.") && rows(&theirs) == 0);
        let own = signed_in(&app, &agent.email).await;
        assert_eq!(page(&own, &app, &path).await.0, StatusCode::FORBIDDEN);
        assert_eq!(page(&own, &app, "/seats/quality").await.0, StatusCode::FORBIDDEN);
        assert_eq!(page(&ab, &app, "/seats/quality").await.0, StatusCode::FORBIDDEN);
        assert_eq!(page(&ab, &app, "/quality/chats/no-such-chat/review").await.0, StatusCode::NOT_FOUND);
    }

    async fn admins_resolve_review_disputes_on_the_page(app) {
        let (shop, agent, chat) = reviewed_setup(&app).await;
        let admin = app.admin().await;
        let review: Value = app.post_as(&format!("/api/chats/{chat}/reviews"), &admin.access, &full_scores(0)).await.json().await.unwrap();
        let review_id = review["id"].as_str().unwrap().to_owned();
        let dispute: Value = app.post_as(&format!("/api/reviews/{review_id}/dispute"), &agent.access, &json!({"reason": "I was polite; see message 2"})).await.json().await.unwrap();
        let id = dispute["id"].as_str().unwrap().to_owned();

        let b = signed_in(&app, &admin.email).await;
        let (status, html) = page(&b, &app, "/admin/quality/disputes").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Served Agent") && html.contains("I was polite; see message 2") && html.contains(&format!("/quality/chats/{chat}/review#review-{review_id}")), "{html}");
        assert!(html.contains(&format!("action=\"/admin/quality/disputes/{id}/resolve\"")) && html.contains("No disputes resolved yet."));
        let csrf = csrf_of(&html);
        let path = format!("/admin/quality/disputes/{id}/resolve");

        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), ("decision", "accept"), ("answer", "Fair")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("Accepting a dispute sets the amended score.") && body.contains(&format!("href=\"#amended-{id}\"")), "{body}");
        assert!(body.contains(&format!(r#"id="accept-{id}" name="decision" value="accept" checked"#)), "the choice kept");
        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), ("decision", "accept"), ("amended", "ninety")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("Give the score as a number"));
        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), ("decision", "reject")]).send().await.unwrap();
        assert!(res.text().await.unwrap().contains("Say why the dispute is rejected."));

        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), ("decision", "accept"), ("amended", "90.5"), ("answer", "Fair point")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], format!("/admin/quality/disputes?resolved={id}").as_str());
        let d = id.clone();
        let (status, amended): (String, Option<i32>) = app.with_db(move |conn| {
            review_disputes::table.find(&d).select((review_disputes::status, review_disputes::amended_x100)).first(conn).unwrap()
        }).await;
        assert_eq!((status.as_str(), amended), ("accepted", Some(9_050)));
        app.smtp.wait_for(&agent.email, "review dispute").await;
        let (_, after) = page(&b, &app, &format!("/admin/quality/disputes?resolved={id}")).await;
        assert!(after.contains(r#"role="status">The dispute is resolved"#) && after.contains("No disputes are waiting.") && after.contains("Accepted, amended to 90.50") && after.contains("Fair point"), "{after}");
        // The review form shows the amended score.
        let (_, review_page) = page(&b, &app, &format!("/quality/chats/{chat}/review")).await;
        assert!(review_page.contains("Amended on dispute to 90.50") && review_page.contains("Dispute accepted."));

        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), ("decision", "reject"), ("answer", "no")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT, "resolved once");
        let staff = signed_in(&app, &shop.email).await;
        assert_eq!(page(&staff, &app, "/admin/quality/disputes").await.0, StatusCode::FORBIDDEN);
        let res = staff.post(app.url(&path)).form(&[("csrf_token", csrf_of(&page(&staff, &app, "/seats/quality").await.1).as_str()), ("decision", "reject"), ("answer", "x")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }

    async fn certified_agents_read_the_model_chat_library(app) {
        let (shop, _agent, chat) = reviewed_setup(&app).await;
        let admin = app.admin().await;
        let mut body = full_scores(4);
        body["exemplary"] = json!(true);
        body["scores"][0]["comment"] = json!("Checked the order, called Zhang Min on 138-0013-8000 back");
        assert_eq!(app.post_as(&format!("/api/chats/{chat}/reviews"), &admin.access, &body).await.status(), 201);
        let c = chat.clone();
        let id: String = app.with_db(move |conn| {
            model_chats::table.filter(model_chats::chat_id.eq(&c)).select(model_chats::id).first(conn).unwrap()
        }).await;

        let reader = app.agent("Reader").await;
        let b = signed_in(&app, &reader.email).await;
        assert_eq!(page(&b, &app, "/agent/model-chats").await.0, StatusCode::FORBIDDEN, "not yet certified");
        let r = reader.id();
        app.with_db(move |conn| {
            diesel::update(agents::table.find(&r)).set(agents::status.eq("certified")).execute(conn).unwrap();
        }).await;
        let (status, list) = page(&b, &app, "/agent/model-chats").await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains(&format!("href=\"/agent/model-chats/{id}\"")) && list.contains("<td>2</td>"), "{list}");
        let (_, general) = page(&b, &app, "/agent/model-chats?skill=general").await;
        assert!(general.contains(&format!("/agent/model-chats/{id}")));
        let (_, other) = page(&b, &app, "/agent/model-chats?skill=pre_sale").await;
        assert!(other.contains("No model chats yet.") && !other.contains(&id));

        let (status, one) = page(&b, &app, &format!("/agent/model-chats/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(one.contains("[customer] here, order [order no.] has not arrived") && !one.contains("Zhang"), "{one}");
        assert!(one.contains("Accurate answer") && one.contains("4 / 4") && one.contains("Checked the order, called [customer] on [phone] back"), "why, masked: {one}");
        let api: Value = app.get_as(&format!("/api/model-chats/{id}"), &reader.access).await.json().await.unwrap();
        assert_eq!(api["why"][0]["comment"], "Checked the order, called [customer] on [phone] back");
        assert_eq!(page(&b, &app, "/agent/model-chats/no-such").await.0, StatusCode::NOT_FOUND);
        let staff = signed_in(&app, &shop.email).await;
        assert_eq!(page(&staff, &app, "/agent/model-chats").await.0, StatusCode::FORBIDDEN);
        assert_eq!(page(&staff, &app, &format!("/agent/model-chats/{id}")).await.0, StatusCode::FORBIDDEN);
    }
}

both_backends! {
    async fn quality_nav_links_follow_the_role(app) {
        let admin = app.admin().await;
        let shop = app.merchant("Nav Shop").await;
        let agent = app.agent("Nav Agent").await;
        for (email, link, label) in [
            (&admin.email, "/admin/quality", "Quality reviews"),
            (&shop.email, "/seats/quality", "Review chats"),
            (&agent.email, "/agent/model-chats", "Model chats"),
        ] {
            let b = signed_in(&app, email).await;
            let (_, home) = page(&b, &app, "/home").await;
            assert!(home.contains(&format!("<a href=\"{link}\">{label}</a>")), "{link}");
        }
        let b = signed_in(&app, &admin.email).await;
        let zh = b.get(app.url("/admin/quality")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("质检评审"), "zh-CN strings");
    }
}

both_backends! {
    async fn a_shops_chats_are_paged_most_recent_first(app) {
        let shop = app.merchant("Busy Shop").await;
        let agent = app.agent("Busy Agent").await.id();
        let m = shop.merchant_id();
        let (first, last, open) = app.with_db(move |conn| {
            let customer = insert_customer(conn, &m);
            let chat = |conn: &mut DbConn, minute: u32, status: &str, closed: bool| {
                insert_chat(conn, &ChatFixture {
                    merchant: &m, customer: &customer, agent: Some(&agent), status,
                    created: at(2, 8, minute, 0, 0), accepted: Some(at(2, 8, minute, 0, 0)),
                    first_response: Some(at(2, 8, minute, 3, 0)),
                    closed: closed.then(|| at(2, 9, minute, 0, 0)), rating: Some(5),
                })
            };
            let first = chat(conn, 0, "closed", true);
            for i in 1..25 {
                chat(conn, i, "closed", true);
            }
            let last = chat(conn, 25, "closed", true);
            (first, last, chat(conn, 30, "assigned", false))
        }).await;
        let b = signed_in(&app, &shop.email).await;
        let (_, one) = page(&b, &app, "/seats/quality").await;
        assert_eq!(rows(&one), 25);
        assert!(one[one.find("data-chat=").unwrap()..].starts_with(&format!("data-chat=\"{last}\"")), "the most recent first");
        assert!(!one.contains(&format!("data-chat=\"{first}\"")) && !one.contains(&open));
        let next = next_page(&one);
        assert!(next.starts_with("/seats/quality?filter=all&cursor="), "{next}");
        let (_, two) = page(&b, &app, &next).await;
        assert_eq!(rows(&two), 1);
        assert!(two.contains(&format!("data-chat=\"{first}\"")) && !two.contains("Next page"));

        // A chat still open is not reviewed: the form says so instead.
        let (status, form) = page(&b, &app, &format!("/quality/chats/{open}/review")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(form.contains("Only closed chats that an agent served are reviewed.") && !form.contains("Save the review"));
    }
}

both_backends! {
    async fn the_review_queue_pages_through_agents(app) {
        let shop = app.merchant("Paged Shop").await;
        let admin = app.admin().await;
        let mut ids = Vec::new();
        for i in 0..21 {
            ids.push(app.agent(&format!("Paged Agent {i:02}")).await.id());
        }
        let m = shop.merchant_id();
        let agents = ids.clone();
        app.with_db(move |conn| {
            let customer = insert_customer(conn, &m);
            for (i, agent) in agents.iter().enumerate() {
                insert_chat(conn, &ChatFixture {
                    merchant: &m, customer: &customer, agent: Some(agent), status: "closed",
                    created: at(3, 9, i as u32, 0, 0), accepted: Some(at(3, 9, i as u32, 0, 0)),
                    first_response: Some(at(3, 9, i as u32, 4, 0)),
                    closed: Some(at(3, 10, i as u32, 0, 0)), rating: None,
                });
            }
        }).await;
        let b = signed_in(&app, &admin.email).await;
        let mut seen = Vec::new();
        for sort in ["agent", "-agent"] {
            let (_, one) = page(&b, &app, &format!("/admin/quality?period=2026-11-03&sort={sort}")).await;
            assert_eq!(rows(&one), 20, "{sort}");
            let next = next_page(&one);
            assert!(next.starts_with(&format!("/admin/quality?period=2026-11-01&sort={sort}&cursor=")), "{next}");
            let (_, two) = page(&b, &app, &next).await;
            assert_eq!(rows(&two), 1);
            assert!(!two.contains("Next page"));
            // The last agent of one order is the first of the other.
            let (first, last) = (ids.iter().min().unwrap(), ids.iter().max().unwrap());
            let alone = if sort == "agent" { last } else { first };
            assert!(two.contains(&format!("href=\"/admin/agents/{alone}\"")), "{sort}");
            seen.push(two);
        }
        assert_ne!(seen[0], seen[1]);
    }
}
