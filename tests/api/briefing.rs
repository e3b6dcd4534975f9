//! The shop's briefing for agents and its quick replies: saving with optimistic concurrency,
//! the revision history, quick reply rules, and who may read what (the shop, admins for it,
//! an agent only around a shift of the shop).

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp, field_codes, problem};
use crate::shifts::{
    act, booked, certified, claim, clock_to, json_of, past_early_access, shift_start,
};
use cloudseat::accounts::model::{AccountId, MerchantId};

const HTML: &str = "<script>alert('x')</script> & <b>\"bold\"</b>\nline two";

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.api
        .put(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.api
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn sections(version: i64, products: &str, returns: &str) -> Value {
    json!({"version": version, "products": products, "shipping": "SF Express, 48 h",
           "returns": returns, "other": ""})
}

async fn save(app: &TestApp, shop: &Session, body: &Value) -> reqwest::Response {
    put(app, "/api/merchant/briefing", &shop.access, body).await
}

async fn add_reply(app: &TestApp, shop: &Session, body: Value) -> Value {
    let res = app
        .post_as("/api/merchant/quick-replies", &shop.access, &body)
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn audit_actions(app: &TestApp, prefix: &'static str) -> Vec<String> {
    use cloudseat::db::schema::audit_log;
    app.with_db(move |c| {
        audit_log::table
            .filter(audit_log::action.like(format!("{prefix}%")))
            .order(audit_log::id.asc())
            .select(audit_log::action)
            .load::<String>(c)
            .unwrap()
    })
    .await
}

both_backends! {
    async fn a_shop_saves_its_briefing_and_reads_it_back_verbatim(app) {
        let shop = app.merchant("Tea House").await;
        let empty = json_of(app.get_as("/api/merchant/briefing", &shop.access).await).await;
        assert_eq!(empty["version"], 0);
        assert_eq!(empty["products"], "");
        assert!(empty["updated_at"].is_null());

        let saved = json_of(save(&app, &shop, &sections(0, HTML, "7 days")).await).await;
        assert_eq!(saved["version"], 1);
        assert_eq!(saved["products"], HTML, "plain text comes back exactly as sent");
        assert_eq!(saved["updated_by"], shop.id());
        assert_eq!(saved["updated_by_name"], "Shop Owner");
        let read = json_of(app.get_as("/api/merchant/briefing", &shop.access).await).await;
        assert_eq!(read["products"], HTML);
        assert_eq!(read["returns"], "7 days");
        assert_eq!(read["merchant_id"], shop.merchant_id());

        // Windows line ends are stored as \n; saving the same text again is no new version.
        let crlf = json_of(save(&app, &shop, &sections(1, "a\r\nb", "7 days")).await).await;
        assert_eq!((crlf["version"].as_i64(), crlf["products"].as_str()), (Some(2), Some("a\nb")));
        let same = json_of(save(&app, &shop, &sections(2, "a\nb", "7 days")).await).await;
        assert_eq!(same["version"], 2);
        let revisions = json_of(app.get_as("/api/merchant/briefing/revisions", &shop.access).await).await;
        assert_eq!(revisions["items"].as_array().unwrap().len(), 2);
        assert_eq!(audit_actions(&app, "briefing.").await, ["briefing.updated", "briefing.updated"]);
    }

    async fn a_stale_save_is_refused_and_nothing_is_lost(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let m = shop.merchant_id();
        // Two editors load version 0; the first save wins.
        json_of(save(&app, &shop, &sections(0, "Green tea", "")).await).await;
        let body = problem(
            put(&app, &format!("/api/merchant/briefing?merchant_id={m}"), &admin.access, &sections(0, "Black tea", "")).await,
            409,
            "briefing_conflict",
        )
        .await;
        assert_eq!(body["current_version"], 1);
        assert_eq!(body["updated_by_name"], "Shop Owner");
        let read = json_of(app.get_as("/api/merchant/briefing", &shop.access).await).await;
        assert_eq!((read["version"].as_i64(), read["products"].as_str()), (Some(1), Some("Green tea")));
        // A version from the future is no better.
        problem(save(&app, &shop, &sections(7, "x", "")).await, 409, "briefing_conflict").await;

        // The admin reloads and saves for the shop, then the shop changes the returns.
        let v2 = json_of(put(&app, &format!("/api/merchant/briefing?merchant_id={m}"), &admin.access, &sections(1, "Green and black tea", "")).await).await;
        assert_eq!(v2["version"], 2);
        assert_eq!(v2["updated_by_name"], "Test Admin");
        json_of(save(&app, &shop, &sections(2, "Green and black tea", "30 days")).await).await;

        // The history, newest first, one a page.
        let first = json_of(app.get_as("/api/merchant/briefing/revisions?limit=1", &shop.access).await).await;
        let r3 = &first["items"][0];
        assert_eq!(r3["version"], 3);
        assert_eq!(r3["changed"], json!(["returns"]));
        assert_eq!(r3["returns"], "30 days");
        assert!(r3.get("products").is_none(), "unchanged sections are left out: {r3}");
        assert_eq!(r3["created_by_name"], "Shop Owner");
        let cursor = first["next_cursor"].as_str().unwrap();
        let rest = json_of(app.get_as(&format!("/api/merchant/briefing/revisions?cursor={cursor}"), &shop.access).await).await;
        let versions: Vec<i64> = rest["items"].as_array().unwrap().iter().map(|r| r["version"].as_i64().unwrap()).collect();
        assert_eq!(versions, [2, 1]);
        assert_eq!(rest["items"][0]["created_by_name"], "Test Admin");
        assert_eq!(rest["items"][0]["changed"], json!(["products"]));
        assert_eq!(rest["items"][1]["changed"], json!(["products", "shipping"]));
        assert!(rest["next_cursor"].is_null());
    }

    async fn bad_sections_name_their_field_and_change_nothing(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let long = "茶".repeat(20_001);
        let body = problem(save(&app, &shop, &sections(0, &long, "nul\u{0}")).await, 422, "validation_failed").await;
        assert_eq!(
            field_codes(&body),
            [("products".to_owned(), "too_long".to_owned()), ("returns".to_owned(), "invalid_characters".to_owned())]
        );
        // At the limit, in CJK, a full briefing fits the body limit.
        let full = "茶".repeat(20_000);
        let body = json!({"version": 0, "products": full, "shipping": full, "returns": full, "other": full});
        json_of(save(&app, &shop, &body).await).await;
        let body = problem(save(&app, &shop, &json!({"version": 1, "products": "x"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body)[0].1, "required");
        let read = json_of(app.get_as("/api/merchant/briefing", &shop.access).await).await;
        assert_eq!(read["version"], 1);
        assert_eq!(read["other"].as_str().unwrap().chars().count(), 20_000);

        // An admin names the shop; a shop that does not exist is 404.
        let body = problem(app.get_as("/api/merchant/briefing", &admin.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("merchant_id".to_owned(), "required".to_owned())]);
        problem(app.get_as("/api/merchant/briefing?merchant_id=00000000-0000-7000-8000-000000000000", &admin.access).await, 404, "not_found").await;
    }

    async fn quick_replies_are_added_edited_reordered_and_deleted(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let refund = add_reply(&app, &shop, json!({"title": "Refunds", "body": "We refund in 3 days.", "shortcut": "/refund", "skill": "general"})).await;
        assert_eq!(refund["shortcut"], "/refund");
        assert_eq!(refund["skill"], "general");
        assert_eq!(refund["position"], 0);
        let hello = add_reply(&app, &shop, json!({"title": "Hello", "body": HTML, "shortcut": "hi"})).await;
        assert_eq!(hello["shortcut"], "/hi", "the slash may be left out");
        assert_eq!(hello["body"], HTML);
        let bye = add_reply(&app, &shop, json!({"title": "Goodbye", "body": "Thanks!"})).await;
        assert!(bye["shortcut"].is_null() && bye["skill"].is_null());

        // Sorted by position, paged.
        let page = json_of(app.get_as("/api/merchant/quick-replies?limit=2", &shop.access).await).await;
        assert_eq!(titles(&page), ["Refunds", "Hello"]);
        let cursor = page["next_cursor"].as_str().unwrap();
        let rest = json_of(app.get_as(&format!("/api/merchant/quick-replies?limit=2&cursor={cursor}"), &shop.access).await).await;
        assert_eq!(titles(&rest), ["Goodbye"]);
        assert!(rest["next_cursor"].is_null());

        // Bad input: status, code and field.
        let url = "/api/merchant/quick-replies";
        let body = problem(app.post_as(url, &shop.access, &json!({"title": "Again", "body": "b", "shortcut": "/refund"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("shortcut".to_owned(), "shortcut_taken".to_owned())]);
        let body = problem(app.post_as(url, &shop.access, &json!({"title": "T", "body": "b", "skill": "juggling"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("skill".to_owned(), "unknown_skill".to_owned())]);
        let body = problem(app.post_as(url, &shop.access, &json!({"title": "T", "body": "b".repeat(2_001)})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("body".to_owned(), "too_long".to_owned())]);
        let body = problem(app.post_as(url, &shop.access, &json!({"title": "t".repeat(81), "body": "b", "shortcut": "/No Way"})).await, 422, "validation_failed").await;
        assert_eq!(
            field_codes(&body),
            [("title".to_owned(), "too_long".to_owned()), ("shortcut".to_owned(), "invalid_shortcut".to_owned())]
        );
        let body = problem(app.post_as(url, &shop.access, &json!({"body": "b"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("title".to_owned(), "required".to_owned())]);

        // Editing keeps the place; taking another reply's shortcut is refused, keeping its own is fine.
        let hello_url = format!("/api/merchant/quick-replies/{}", hello["id"].as_str().unwrap());
        let body = problem(put(&app, &hello_url, &shop.access, &json!({"title": "Hello", "body": "b", "shortcut": "/refund"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("shortcut".to_owned(), "shortcut_taken".to_owned())]);
        let edited = json_of(put(&app, &hello_url, &shop.access, &json!({"title": "Hi there", "body": "Hello!", "shortcut": "/hi", "skill": "pre_sale"})).await).await;
        assert_eq!((edited["title"].as_str(), edited["position"].as_i64(), edited["skill"].as_str()), (Some("Hi there"), Some(1), Some("pre_sale")));

        // Reorder: every id once.
        let ids = |v: &[&Value]| json!({"ids": v.iter().map(|r| r["id"].clone()).collect::<Vec<_>>()});
        let reordered = json_of(app.post_as("/api/merchant/quick-replies/reorder", &shop.access, &ids(&[&bye, &refund, &hello])).await).await;
        assert_eq!(titles(&reordered), ["Goodbye", "Refunds", "Hi there"]);
        assert_eq!(titles(&json_of(app.get_as(url, &shop.access).await).await), ["Goodbye", "Refunds", "Hi there"]);
        let body = problem(app.post_as("/api/merchant/quick-replies/reorder", &shop.access, &ids(&[&bye, &bye, &hello])).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("ids".to_owned(), "duplicate".to_owned())]);
        problem(app.post_as("/api/merchant/quick-replies/reorder", &shop.access, &ids(&[&bye, &refund])).await, 409, "quick_replies_changed").await;

        // Another shop learns nothing about these replies.
        let other = app.merchant("Book Nook").await;
        problem(put(&app, &hello_url, &other.access, &json!({"title": "Mine", "body": "b"})).await, 404, "not_found").await;
        problem(delete(&app, &hello_url, &other.access).await, 404, "not_found").await;
        problem(app.get_as(&format!("{url}?merchant_id={}", shop.merchant_id()), &other.access).await, 404, "not_found").await;
        problem(app.post_as("/api/merchant/quick-replies/reorder", &other.access, &ids(&[&bye, &refund, &hello])).await, 409, "quick_replies_changed").await;
        assert!(json_of(app.get_as(url, &other.access).await).await["items"].as_array().unwrap().is_empty());
        problem(app.get_as(&format!("/api/merchant/briefing?merchant_id={}", shop.merchant_id()), &other.access).await, 404, "not_found").await;

        // Delete (an admin may, for the shop).
        let res = delete(&app, &format!("{hello_url}?merchant_id={}", shop.merchant_id()), &admin.access).await;
        assert_eq!(res.status(), 204);
        problem(delete(&app, &hello_url, &shop.access).await, 404, "not_found").await;
        assert_eq!(titles(&json_of(app.get_as(url, &shop.access).await).await), ["Goodbye", "Refunds"]);
        assert_eq!(
            audit_actions(&app, "quick_repl").await,
            ["quick_reply.created", "quick_reply.created", "quick_reply.created", "quick_reply.updated", "quick_replies.reordered", "quick_reply.deleted"]
        );
    }

    async fn an_agent_reads_the_briefing_only_around_a_shift_of_the_shop(app) {
        let shop = app.merchant("Tea House").await;
        let other_shop = app.merchant("Book Nook").await;
        json_of(save(&app, &shop, &sections(0, HTML, "30 days")).await).await;
        json_of(save(&app, &other_shop, &sections(0, "Books", "")).await).await;
        add_reply(&app, &shop, json!({"title": "General", "body": "g", "skill": "general"})).await;
        add_reply(&app, &shop, json!({"title": "Pre-sale", "body": "p", "skill": "pre_sale"})).await;
        add_reply(&app, &shop, json!({"title": "Everyone", "body": "e"})).await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 12), 2).await;
        booked(&app, &other_shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let leaver = certified(&app, "Li Lei", "general").await;
        let stranger = certified(&app, "Zhang Wei", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        json_of(claim(&app, &leaver, &shifts[1]).await).await;
        json_of(act(&app, &leaver, &shifts[1], "release").await).await;

        let m = shop.merchant_id();
        let url = format!("/api/agent/merchants/{m}/briefing");
        let start = shift_start(&app, &shifts[0]).await;
        // More than a day before the shift: not yet.
        problem(app.get_as(&url, &agent.access).await, 404, "not_found").await;
        // (The test clock moves in whole seconds and may land up to one early: the exact
        // boundaries are unit-tested in `briefing::model`.)
        clock_to(&app, start - Duration::hours(24) - Duration::minutes(1));
        problem(app.get_as(&url, &agent.access).await, 404, "not_found").await;

        clock_to(&app, start - Duration::hours(24) + Duration::seconds(2));
        let read = json_of(app.get_as(&url, &agent.access).await).await;
        assert_eq!(read["merchant_name"], "Tea House");
        assert_eq!(read["products"], HTML);
        assert_eq!(read["returns"], "30 days");
        assert!(read.get("updated_by").is_none(), "agents do not see who on the shop's staff wrote it");
        assert_eq!(titles(&json!({"items": read["quick_replies"]})), ["General", "Pre-sale", "Everyone"]);
        let general = json_of(app.get_as(&format!("{url}?skill=general"), &agent.access).await).await;
        assert_eq!(titles(&json!({"items": general["quick_replies"]})), ["General", "Everyone"]);
        let body = problem(app.get_as(&format!("{url}?skill=juggling"), &agent.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("skill".to_owned(), "unknown_skill".to_owned())]);

        // Nobody else: an agent without a shift, one who released theirs, another shop's
        // briefing, a shop that does not exist.
        problem(app.get_as(&url, &stranger.access).await, 404, "not_found").await;
        problem(app.get_as(&url, &leaver.access).await, 404, "not_found").await;
        problem(app.get_as(&format!("/api/agent/merchants/{}/briefing", other_shop.merchant_id()), &agent.access).await, 404, "not_found").await;
        problem(app.get_as("/api/agent/merchants/00000000-0000-7000-8000-000000000000/briefing", &agent.access).await, 404, "not_found").await;
        problem(app.get_as(&url, &shop.access).await, 403, "wrong_role").await;

        // The functions the chat workspace calls say the same.
        let (a, s) = (AccountId(agent.id()), MerchantId(m.clone()));
        let now = app.clock.now();
        let (may, loaded, stranger_may) = app
            .with_db(move |c| {
                (
                    cloudseat::briefing::agent_may_read(c, &a, &s, now).unwrap(),
                    cloudseat::briefing::load_for_agent(c, &a, &s, Some("pre_sale"), now).unwrap(),
                    cloudseat::briefing::agent_may_read(c, &AccountId("nobody".into()), &s, now).unwrap(),
                )
            })
            .await;
        assert!(may && !stranger_may);
        let loaded = loaded.expect("the agent may read it");
        let titles: Vec<&str> = loaded.quick_replies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["Pre-sale", "Everyone"]);

        // During the shift (checked in, so it is not a no-show), and not from its end on.
        clock_to(&app, start);
        json_of(act(&app, &agent, &shifts[0], "check-in").await).await;
        clock_to(&app, start + Duration::hours(1));
        json_of(app.get_as(&url, &agent.access).await).await;
        clock_to(&app, start + Duration::hours(4) + Duration::seconds(2));
        problem(app.get_as(&url, &agent.access).await, 404, "not_found").await;
    }
}
