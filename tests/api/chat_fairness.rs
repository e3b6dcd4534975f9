//! The chat fairness report: figures built from real chats over real sockets (offers
//! accepted, declined, timed out, taken back; presence online and away; the service clock
//! moved on), a second shop that sees none of it, admins across shops, sorting, paging and
//! every bad period.

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat::{Ws, agent_ws, staffed, start_chat, widget_key};
use crate::helpers::{TestApp, field_codes, problem};
use crate::shifts::json_of;

/// An instant as the API takes it (no `+`, which a query string would turn into a space).
fn utc(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    json_of(app.get_as(path, token).await).await
}

fn row<'a>(report: &'a Value, agent: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent_id"] == agent)
        .unwrap_or_else(|| panic!("{agent} not in {report}"))
}

fn ids(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agent_id"].as_str().unwrap().to_owned())
        .collect()
}

fn minutes(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("minutes expected, got {v}"))
}

/// Accepts the next offer and closes the chat at once.
async fn take_and_close(agent: &mut Ws, chat: &str) {
    assert_eq!(agent.until("offer").await["card"]["chat"], chat);
    agent.send(json!({"type": "accept", "chat": chat})).await;
    agent.until("assigned").await;
    agent.send(json!({"type": "close", "chat": chat})).await;
    agent.until("closed").await;
}

async fn presence(agent: &mut Ws, status: &str) {
    agent
        .send(json!({"type": "presence", "status": status}))
        .await;
    // (Skipping the frames of earlier changes, such as coming online on connecting.)
    while agent.until("presence").await["status"] != status {}
}

both_backends! {
    async fn the_report_measures_each_agents_share_and_no_other_shop_sees_it(app) {
        let (shop, agents) = staffed(&app, 2).await;
        let (a0_id, a1_id) = (agents[0].id(), agents[1].id());
        let key = widget_key(&app, &shop).await;
        let t0 = app.clock.now();
        // Agent 0 comes online alone: takes one chat, declines the next.
        let (mut a0, _) = agent_ws(&app, &agents[0]).await;
        let (_c1, chat1, _) = start_chat(&app, &key, json!({})).await;
        take_and_close(&mut a0, &chat1).await;
        let (_c2, chat2, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(a0.until("offer").await["card"]["chat"], chat2.as_str());
        a0.send(json!({"type": "decline", "chat": chat2})).await;
        assert_eq!(a0.until("offer_withdrawn").await["reason"], "declined");

        // Half an hour later agent 1 comes online and takes the waiting chat; agent 0
        // goes away.
        app.clock.advance(Duration::minutes(30));
        let (mut a1, _) = agent_ws(&app, &agents[1]).await;
        take_and_close(&mut a1, &chat2).await;
        presence(&mut a0, "away").await;
        // Agent 1 accepts a third chat and never answers: it is taken back. Agent 0,
        // back from the break, lets it lapse; the customer gives up.
        let (mut c3, chat3, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(a1.until("offer").await["card"]["chat"], chat3.as_str());
        a1.send(json!({"type": "accept", "chat": chat3})).await;
        a1.until("assigned").await;
        app.clock.advance(Duration::seconds(61));
        assert_eq!(a1.until("taken_back").await["reason"], "no_first_reply");
        presence(&mut a0, "online").await;
        assert_eq!(a0.until("offer").await["card"]["chat"], chat3.as_str());
        app.clock.advance(Duration::seconds(21));
        assert_eq!(a0.until("offer_withdrawn").await["reason"], "timed_out");
        c3.send(json!({"type": "close"})).await;
        c3.until("closed").await;
        app.clock.advance(Duration::minutes(30));

        // The last 24 hours (the default), as the shop sees them.
        let mid = shop.merchant_id();
        let path = format!("/api/merchants/{mid}/chat-fairness");
        let body = report(&app, &shop.access, &path).await;
        let s = &body["summary"];
        assert_eq!((s["agents"].as_i64(), s["measured_agents"].as_i64()), (Some(2), Some(2)));
        assert_eq!(
            (s["assignments"].as_i64(), s["offers"].as_i64(), s["declines"].as_i64(), s["timeouts"].as_i64(), s["takebacks"].as_i64()),
            (Some(3), Some(5), Some(1), Some(1), Some(1))
        );
        let r0 = row(&body, &a0_id);
        assert_eq!(r0["display_name"], "Agent 0");
        assert_eq!(
            (r0["assignments"].as_i64(), r0["offers"].as_i64(), r0["declines"].as_i64(), r0["timeouts"].as_i64(), r0["takebacks"].as_i64()),
            (Some(1), Some(3), Some(1), Some(1), Some(0))
        );
        // Online an hour and a minute and a half, away for the minute in between. (Real
        // seconds pass between the clock's jumps: ranges, not exact minutes.)
        assert!((60..=61).contains(&minutes(&r0["available_minutes"])), "{r0}");
        assert!((60..=61).contains(&minutes(&r0["longest_wait_minutes"])), "{r0}");
        assert!((61..=62).contains(&minutes(&r0["minutes_since_last_assignment"])), "{r0}");
        let r1 = row(&body, &a1_id);
        assert_eq!(
            (r1["assignments"].as_i64(), r1["offers"].as_i64(), r1["declines"].as_i64(), r1["timeouts"].as_i64(), r1["takebacks"].as_i64()),
            (Some(2), Some(2), Some(0), Some(0), Some(1))
        );
        assert!((31..=32).contains(&minutes(&r1["available_minutes"])), "{r1}");
        assert!((31..=32).contains(&minutes(&r1["minutes_since_last_assignment"])), "{r1}");
        let (rate0, rate1) = (r0["assignments_per_hour"].as_f64().unwrap(), r1["assignments_per_hour"].as_f64().unwrap());
        assert!((0.95..1.0).contains(&rate0), "{rate0}");
        assert!((3.7..3.9).contains(&rate1), "{rate1}");
        let mean = s["mean_assignments_per_hour"].as_f64().unwrap();
        assert!((mean - (rate0 + rate1) / 2.0).abs() < 1e-9);
        assert_eq!(s["min_assignments_per_hour"].as_f64(), Some(rate0));
        assert_eq!(s["max_assignments_per_hour"].as_f64(), Some(rate1));
        assert!(s["coefficient_of_variation"].as_f64().unwrap() > 0.5);
        // Agent 0's fair share at the mean was about 2.4 chats and they got one while agent
        // 1 ran above the mean: starved (their declines and timeout say why).
        assert_eq!(s["starved"], json!([a0_id]));
        assert_eq!(r0["flag"], "starved");
        assert_eq!(s["flooded"], json!([]));
        assert_eq!(r1["flag"], Value::Null);
        // The lowest rate comes first by default.
        assert_eq!(ids(&body), [a0_id.clone(), a1_id.clone()]);

        // A period that ends before agent 1 came online: they were checked in but never
        // available, so they have no rate and count in no group figure.
        let early = format!("{path}?from={}&to={}", utc(t0 - Duration::minutes(10)), utc(t0 + Duration::minutes(20)));
        let body = report(&app, &shop.access, &early).await;
        assert_eq!(body["from"].as_str().unwrap(), format!("{}", (t0 - Duration::minutes(10)).format("%Y-%m-%dT%H:%M:%SZ")));
        let r1 = row(&body, &a1_id);
        assert_eq!((r1["available_minutes"].as_i64(), r1["offers"].as_i64()), (Some(0), Some(0)));
        assert_eq!(r1["assignments_per_hour"], Value::Null);
        let r0 = row(&body, &a0_id);
        assert!((19..=20).contains(&minutes(&r0["available_minutes"])), "{r0}");
        assert_eq!((r0["assignments"].as_i64(), r0["offers"].as_i64()), (Some(1), Some(2)));
        assert_eq!(r0["measured"], false);
        assert_eq!(body["summary"]["measured_agents"], 0);
        assert_eq!(body["summary"]["mean_assignments_per_hour"], Value::Null);

        // Sorted by rate, highest first, one agent a page.
        let first = report(&app, &shop.access, &format!("{path}?sort=-rate&limit=1")).await;
        assert_eq!(ids(&first), std::slice::from_ref(&a1_id));
        assert_eq!(first["summary"]["agents"], 2, "the summary covers every page");
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let second = report(&app, &shop.access, &format!("{path}?sort=-rate&limit=1&cursor={cursor}")).await;
        assert_eq!(ids(&second), std::slice::from_ref(&a0_id));
        assert_eq!(second["next_cursor"], Value::Null);
        let waited = report(&app, &shop.access, &format!("{path}?sort=-since_last_assignment")).await;
        assert_eq!(ids(&waited), [a0_id.clone(), a1_id.clone()]);
        let available = report(&app, &shop.access, &format!("{path}?sort=available")).await;
        assert_eq!(ids(&available), [a1_id.clone(), a0_id.clone()]);

        // Another shop sees none of it: not this report, and nothing in its own.
        let other = app.merchant("Book Nook").await;
        problem(app.get_as(&path, &other.access).await, 404, "not_found").await;
        let own = report(&app, &other.access, &format!("/api/merchants/{}/chat-fairness", other.merchant_id())).await;
        assert_eq!(own["summary"]["agents"], 0);
        assert_eq!(own["items"], json!([]));
        // An agent is no reader of reports.
        problem(app.get_as(&path, &agents[0].access).await, 403, "wrong_role").await;

        // Admins: every shop at once, or one shop.
        // (A fixed period: figures measured up to "now" move with the real seconds between
        // two requests.)
        let end = app.clock.now();
        let fixed = format!("from={}&to={}", utc(end - Duration::hours(24)), utc(end));
        let admin = app.admin().await;
        let all = report(&app, &admin.access, &format!("/api/admin/chat-fairness?{fixed}")).await;
        assert_eq!(all["summary"]["assignments"], 3);
        assert_eq!(ids(&all), [a0_id.clone(), a1_id.clone()]);
        let only_a = report(&app, &admin.access, &format!("/api/admin/chat-fairness?merchant_id={mid}&{fixed}")).await;
        assert_eq!(only_a["summary"], all["summary"]);
        let only_b = report(&app, &admin.access, &format!("/api/admin/chat-fairness?merchant_id={}", other.merchant_id())).await;
        assert_eq!(only_b["summary"]["agents"], 0);
        // The admin reads a shop's own report too.
        let as_admin = report(&app, &admin.access, &path).await;
        assert_eq!(as_admin["summary"]["agents"], 2);
        a0.close().await;
        a1.close().await;
    }

    async fn bad_periods_sorts_and_cursors_are_named_and_an_empty_shop_has_an_empty_report(app) {
        let shop = app.merchant("Quiet Shop").await;
        let path = format!("/api/merchants/{}/chat-fairness", shop.merchant_id());
        let now = app.clock.now();
        let bad = |query: String| {
            let (app, token, path) = (&app, shop.access.clone(), path.clone());
            async move {
                let res = app.get_as(&format!("{path}?{query}"), &token).await;
                field_codes(&problem(res, 422, "validation_failed").await)
            }
        };
        let pair = |f: &str, c: &str| vec![(f.to_owned(), c.to_owned())];
        assert_eq!(bad("from=yesterday".into()).await, pair("from", "invalid_instant"));
        assert_eq!(bad("to=2026-11-11T08:00:00".into()).await, pair("to", "invalid_instant"));
        assert_eq!(
            bad(format!("from={}&to={}", utc(now), utc(now - Duration::hours(1)))).await,
            pair("to", "period_inverted")
        );
        assert_eq!(
            bad(format!("from={}&to={}", utc(now - Duration::days(32)), utc(now))).await,
            pair("to", "period_too_long")
        );
        assert_eq!(
            bad(format!("from={}", utc(now - Duration::days(40)))).await,
            pair("from", "period_too_long")
        );
        assert_eq!(bad("sort=name".into()).await, pair("sort", "unknown_value"));
        assert_eq!(
            bad("from=soon&sort=name".into()).await,
            [("from".to_owned(), "invalid_instant".to_owned()), ("sort".to_owned(), "unknown_value".to_owned())]
        );
        assert_eq!(bad("limit=0".into()).await, pair("limit", "out_of_range"));
        assert_eq!(bad("cursor=bogus".into()).await, pair("cursor", "invalid_cursor"));
        // A well-formed cursor of an agent not in the report.
        let stranger = base64_id("0193a000-0000-7000-8000-000000000000");
        assert_eq!(bad(format!("cursor={stranger}")).await, pair("cursor", "invalid_cursor"));
        // The admin's report checks the same way.
        let admin = app.admin().await;
        let res = app.get_as("/api/admin/chat-fairness?from=yesterday", &admin.access).await;
        assert_eq!(field_codes(&problem(res, 422, "validation_failed").await), pair("from", "invalid_instant"));

        // Nothing happened: an empty report, not an error, with the period it covers.
        let body = report(&app, &shop.access, &path).await;
        assert_eq!(body["items"], json!([]));
        assert_eq!(body["next_cursor"], Value::Null);
        let s = &body["summary"];
        assert_eq!((s["agents"].as_i64(), s["assignments"].as_i64(), s["available_minutes"].as_i64()), (Some(0), Some(0), Some(0)));
        assert_eq!(s["mean_assignments_per_hour"], Value::Null);
        assert_eq!(s["starved"], json!([]));
        let from: chrono::DateTime<chrono::Utc> = body["from"].as_str().unwrap().parse().unwrap();
        let to: chrono::DateTime<chrono::Utc> = body["to"].as_str().unwrap().parse().unwrap();
        assert_eq!(to - from, Duration::hours(24));
        // A period still ahead measures nothing yet.
        let ahead = report(&app, &shop.access, &format!("{path}?from={}&to={}", utc(now + Duration::hours(1)), utc(now + Duration::hours(2)))).await;
        assert_eq!(ahead["measured_until"], ahead["from"]);
        assert_eq!(ahead["summary"]["agents"], 0);
    }
}

fn base64_id(id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}
