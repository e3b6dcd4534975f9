//! The activity timeline and worked hours: a real day built over real sockets and the
//! shift API (check-in, presence online and away, a chat accepted, answered and closed,
//! the service clock moved on), its totals checked against figures worked out by hand; the
//! shop's worked hours and drill-down, a second shop that sees none of it, the CSVs, and
//! every bad range.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat::{agent_ws, staffed, start_chat, widget_key};
use crate::helpers::{
    ChatFixture, TestApp, day, field_codes, insert_chat, insert_customer, market_today, problem,
    signed_in,
};
use crate::shifts::{json_of, set_zone};
use cloudseat::db::schema::shifts;
use diesel::prelude::*;

/// Real time passes between the clock's jumps (socket round trips): figures are checked to
/// within this many seconds.
const SLACK: i64 = 5;

fn near(got: &Value, want: i64, what: &str) {
    let got = got
        .as_i64()
        .unwrap_or_else(|| panic!("{what}: a number expected, got {got}"));
    assert!(
        (got - want).abs() <= SLACK,
        "{what}: {got} s, expected about {want} s"
    );
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    json_of(app.get_as(path, token).await).await
}

async fn first_shift_start(app: &TestApp, merchant: String) -> NaiveDateTime {
    app.with_db(move |c| {
        shifts::table
            .filter(shifts::merchant_id.eq(&merchant))
            .select(shifts::starts_at)
            .order(shifts::starts_at)
            .first(c)
            .unwrap()
    })
    .await
}

fn berlin_midnight(date: NaiveDate) -> NaiveDateTime {
    chrono_tz::Europe::Berlin
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .naive_utc()
}

both_backends! {
    async fn a_worked_day_is_counted_by_hand_and_only_the_shop_sees_its_hours(app) {
        // Checked in five minutes early on the shop's 08:00-12:00 (Shanghai) shift of day
        // +5; the clock stands a minute into the shift. The agent lives in Berlin.
        let (shop, agents) = staffed(&app, 1).await;
        let agent = &agents[0];
        set_zone(&app, agent, "Europe/Berlin").await;
        let mid = shop.merchant_id();
        let start = first_shift_start(&app, mid.clone()).await;
        let key = widget_key(&app, &shop).await;

        // Online at 08:01; a chat accepted at 08:11, answered and closed at 08:14; away
        // 08:19 to 08:26; online to 08:28, still checked in.
        let (mut ws, _) = agent_ws(&app, agent).await;
        app.clock.advance(Duration::minutes(10));
        let (_customer, chat, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(ws.until("offer").await["card"]["chat"], chat.as_str());
        ws.send(json!({"type": "accept", "chat": chat})).await;
        ws.until("assigned").await;
        ws.send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "Hello!"})).await;
        ws.until("message").await;
        app.clock.advance(Duration::minutes(3));
        ws.send(json!({"type": "close", "chat": chat})).await;
        ws.until("closed").await;
        app.clock.advance(Duration::minutes(5));
        ws.send(json!({"type": "presence", "status": "away"})).await;
        while ws.until("presence").await["status"] != "away" {}
        app.clock.advance(Duration::minutes(7));
        ws.send(json!({"type": "presence", "status": "online"})).await;
        while ws.until("presence").await["status"] != "online" {}
        app.clock.advance(Duration::minutes(2));

        let date = start.and_utc().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
        assert_eq!(date.to_string(), day(5), "08:00 Shanghai is the same date in Berlin");
        let path = format!("/api/agents/me/activity?from={date}&to={date}");
        let body = get(&app, &path, &agent.access).await;
        assert_eq!(body["time_zone"], "Europe/Berlin");
        assert_eq!(body["display_name"], "Agent 0");
        let days = body["days"].as_array().unwrap();
        assert_eq!(days.len(), 1);
        let d = &days[0];
        let midnight = berlin_midnight(date);
        assert_eq!(d["start"], json!(midnight.and_utc()));
        let m = 60;
        // Offline from Berlin's midnight to 08:01 Shanghai time.
        let offline = (start - midnight).num_seconds() + m;
        let states: Vec<(&str, bool)> = d["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["state"].as_str().unwrap(), s["on_shift"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            states,
            [
                ("offline", false),
                ("offline", true),
                ("online_idle", true),
                ("online_in_chats", true),
                ("online_idle", true),
                ("away", true),
                ("online_idle", true),
            ]
        );
        let t = &d["totals"];
        near(&t["offline_secs"], offline, "offline");
        near(&t["online_secs"], (10 + 3 + 5 + 2) * m, "online");
        near(&t["away_secs"], 7 * m, "away");
        near(&t["in_chats_secs"], 3 * m, "in chats");
        // Idle: online on shift with no chat, 10 + 5 + 2 minutes.
        near(&t["idle_secs"], 17 * m, "idle");
        // On shift from 08:00 (the early check-in does not count) to now.
        near(&t["on_shift_secs"], 28 * m, "on shift");
        near(&d["recorded_secs"], offline + 27 * m, "recorded");
        let sum: i64 = d["segments"].as_array().unwrap().iter().map(|s| s["secs"].as_i64().unwrap()).sum();
        assert_eq!(json!(sum), d["recorded_secs"]);
        let worked = d["worked"].as_array().unwrap();
        assert_eq!(worked.len(), 1);
        assert_eq!(worked[0]["merchant_id"], mid.as_str());
        assert_eq!(worked[0]["merchant_name"], "Tea House");
        near(&worked[0]["worked_secs"], 28 * m, "worked");
        assert_eq!(d["shifts"][0]["start"], json!(start.and_utc()));
        assert_eq!(body["totals"], d["totals"]);

        // The admin reads the same record; the CSV has a row per segment.
        let admin = app.admin().await;
        let as_admin = get(&app, &format!("/api/admin/agents/{}/activity?from={date}&to={date}", agent.id()), &admin.access).await;
        assert_eq!(as_admin["days"][0]["segments"].as_array().unwrap().len(), 7);
        let res = app.get_as(&format!("/api/agents/me/activity.csv?from={date}&to={date}"), &agent.access).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = res.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "agent_id,date,start_utc,end_utc,start_local,end_local,state,on_shift,secs");
        assert_eq!(lines.len(), 8, "{csv}");
        assert!(lines[4].contains(",online_in_chats,true,"), "{csv}");
        problem(app.get_as("/api/admin/agents/00000000-0000-7000-8000-000000000000/activity", &admin.access).await, 404, "not_found").await;

        // The shop's worked hours: 08:00 to now on its shift, the market's day.
        let hours = get(&app, &format!("/api/merchants/{mid}/worked-hours?from={}&to={}", day(4), day(5)), &shop.access).await;
        assert_eq!(hours["time_zone"], "Asia/Shanghai");
        let rows = hours["agents"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["agent_id"], agent.id().as_str());
        assert_eq!(rows[0]["display_name"], "Agent 0");
        assert_eq!(rows[0]["days"].as_array().unwrap().len(), 1);
        assert_eq!(rows[0]["days"][0]["date"], day(5));
        near(&rows[0]["worked_secs"], 28 * m, "agent's worked");
        near(&hours["worked_secs"], 28 * m, "shop's worked");
        assert_eq!(hours["days"].as_array().unwrap().len(), 2);
        assert_eq!(hours["days"][0]["worked_secs"], 0);
        let csv = app.get_as(&format!("/api/merchants/{mid}/worked-hours.csv?from={}&to={}", day(4), day(5)), &shop.access).await.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "agent_id,display_name,date,worked_secs,worked_hours");
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(lines[1].starts_with(&format!("{},Agent 0,{},", agent.id(), day(5))), "{csv}");

        // The drill-down: the one chat, held three minutes, closed, not rated.
        let chats = get(&app, &format!("/api/merchants/{mid}/worked-hours/chats?agent_id={}&day={}", agent.id(), day(5)), &shop.access).await;
        let list = chats["chats"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{chats}");
        assert_eq!(list[0]["chat_id"], chat.as_str());
        near(&list[0]["handle_secs"], 3 * m, "handle");
        assert!(list[0]["closed_at"].is_string());
        assert_eq!(list[0]["rating"], Value::Null);
        let other_day = get(&app, &format!("/api/merchants/{mid}/worked-hours/chats?agent_id={}&day={}", agent.id(), day(4)), &shop.access).await;
        assert_eq!(other_day["chats"], json!([]));

        // Another shop: nothing of this one's, and none of its own.
        let other = app.merchant("Book Nook").await;
        let path = format!("/api/merchants/{mid}/worked-hours?from={}&to={}", day(4), day(5));
        problem(app.get_as(&path, &other.access).await, 404, "not_found").await;
        let drill = format!("/api/merchants/{mid}/worked-hours/chats?agent_id={}&day={}", agent.id(), day(5));
        problem(app.get_as(&drill, &other.access).await, 404, "not_found").await;
        let own = get(&app, &format!("/api/merchants/{}/worked-hours?from={}&to={}", other.merchant_id(), day(4), day(5)), &other.access).await;
        assert_eq!(own["agents"], json!([]));
        assert_eq!(own["worked_secs"], 0);
        let theirs = get(&app, &format!("/api/merchants/{}/worked-hours/chats?agent_id={}&day={}", other.merchant_id(), agent.id(), day(5)), &other.access).await;
        assert_eq!(theirs["chats"], json!([]));
        problem(app.get_as(&path, &agent.access).await, 403, "wrong_role").await;
        // The admin sees the shop's figures.
        let as_admin = get(&app, &path, &admin.access).await;
        assert_eq!(as_admin["agents"][0]["agent_id"], agent.id().as_str());
    }

    async fn bad_ranges_are_named_and_the_default_is_a_week(app) {
        let agent = app.agent("Wang").await;
        let shop = app.merchant("Tea House").await;
        let mid = shop.merchant_id();
        for (base, token) in [
            ("/api/agents/me/activity".to_owned(), &agent.access),
            ("/api/agents/me/activity.csv".to_owned(), &agent.access),
            (format!("/api/merchants/{mid}/worked-hours"), &shop.access),
            (format!("/api/merchants/{mid}/worked-hours.csv"), &shop.access),
        ] {
            let body = problem(app.get_as(&format!("{base}?from=2026-11-10&to=2026-11-01"), token).await, 422, "validation_failed").await;
            assert_eq!(field_codes(&body), [("to".to_owned(), "period_inverted".to_owned())], "{base}");
            let body = problem(app.get_as(&format!("{base}?from=2026-01-01&to=2026-04-03"), token).await, 422, "validation_failed").await;
            assert_eq!(field_codes(&body), [("to".to_owned(), "period_too_long".to_owned())], "{base}");
            let body = problem(app.get_as(&format!("{base}?from=11/02/2026&to=2026-02-30"), token).await, 422, "validation_failed").await;
            assert_eq!(
                field_codes(&body),
                [("from".to_owned(), "invalid_date".to_owned()), ("to".to_owned(), "invalid_date".to_owned())],
                "{base}"
            );
            // 92 days is allowed.
            assert_eq!(app.get_as(&format!("{base}?from=2026-01-01&to=2026-04-02"), token).await.status(), 200, "{base}");
        }
        // A week up to today by default, each day there, nothing recorded.
        let body = get(&app, "/api/agents/me/activity", &agent.access).await;
        assert_eq!(body["to"], day(0));
        assert_eq!(body["from"], day(-6));
        assert_eq!(body["days"].as_array().unwrap().len(), 7);
        assert_eq!(body["totals"]["online_secs"], 0);
        let hours = get(&app, &format!("/api/merchants/{mid}/worked-hours"), &shop.access).await;
        assert_eq!(hours["days"].as_array().unwrap().len(), 7);
        // The drill-down needs an agent and a day.
        let drill = format!("/api/merchants/{mid}/worked-hours/chats");
        let body = problem(app.get_as(&drill, &shop.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("agent_id".to_owned(), "required".to_owned()), ("day".to_owned(), "required".to_owned())]);
        let body = problem(app.get_as(&format!("{drill}?agent_id={}&day=tomorrow", agent.id()), &shop.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("day".to_owned(), "invalid_date".to_owned())]);
    }

    async fn the_pages_in_both_languages_with_their_empty_states(app) {
        let (shop, agents) = staffed(&app, 1).await;
        let agent = &agents[0];
        let (_ws, _) = agent_ws(&app, agent).await;
        app.clock.advance(Duration::minutes(30));
        let range = format!("from={}&to={}", day(5), day(5));

        // The agent's own page: nav link, range form, strip chart, its table, the CSV.
        let browser = signed_in(&app, &agent.email).await;
        let html = browser.get(app.url(&format!("/agent/activity?{range}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<h1>My activity</h1>"), "{html}");
        assert!(html.contains("href=\"/agent/activity\""), "the agent's navigation links it");
        assert!(html.contains("<svg class=\"chart strip\""), "{html}");
        assert!(html.contains("role=\"img\""));
        assert!(html.contains("class=\"strip-idle\""));
        assert!(html.contains("<td>Online, no chat</td>"), "{html}");
        assert!(html.contains("Times are in Asia/Shanghai."));
        // (Askama escapes the `&` of the link's query.)
        let csv_link = format!("href=\"/agent/activity.csv?{}\"", range.replace('&', "&#38;"));
        assert!(html.contains(&csv_link), "{html}");
        assert!(html.contains(&format!("value=\"{}\"", day(5))));
        let csv = browser.get(app.url(&format!("/agent/activity.csv?{range}"))).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        let csv = csv.text().await.unwrap();
        assert!(csv.starts_with("agent_id,date,"), "{csv}");
        assert!(csv.contains(",online_idle,true,"), "{csv}");
        let zh = browser.get(app.url(&format!("/agent/activity?{range}"))).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("<html lang=\"zh-CN\">"));
        assert!(zh.contains("<h1>我的活动</h1>"), "{zh}");
        assert!(zh.contains("在线空闲"));
        // Days without activity, and a bad range shown with its error.
        let empty = browser.get(app.url(&format!("/agent/activity?from={}&to={}", day(1), day(2)))).send().await.unwrap().text().await.unwrap();
        assert!(empty.contains("No activity in this period."), "{empty}");
        let bad = browser.get(app.url("/agent/activity?from=2026-11-10&to=2026-11-01")).send().await.unwrap();
        assert_eq!(bad.status(), 200);
        assert!(bad.text().await.unwrap().contains("The end date must be on or after the start date."));

        // The admin's view, linked from the agent's page.
        let admin = app.admin().await;
        let admin_browser = signed_in(&app, &admin.email).await;
        let profile = admin_browser.get(app.url(&format!("/admin/agents/{}", agent.id()))).send().await.unwrap().text().await.unwrap();
        assert!(profile.contains(&format!("href=\"/admin/agents/{}/activity\"", agent.id())), "{profile}");
        let html = admin_browser.get(app.url(&format!("/admin/agents/{}/activity?{range}", agent.id()))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<h1>Activity of Agent 0</h1>"), "{html}");
        assert!(html.contains("Worked for Tea House"));
        let csv = admin_browser.get(app.url(&format!("/admin/agents/{}/activity.csv?{range}", agent.id()))).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        // Others do not get the agent's pages.
        let shop_browser = signed_in(&app, &shop.email).await;
        assert_eq!(shop_browser.get(app.url("/agent/activity")).send().await.unwrap().status(), 403);
        assert_eq!(shop_browser.get(app.url(&format!("/admin/agents/{}/activity", agent.id()))).send().await.unwrap().status(), 403);

        // The shop's worked hours, with the drill-down, in both languages.
        let html = shop_browser.get(app.url(&format!("/seats/worked-hours?{range}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<h1>Worked hours</h1>"), "{html}");
        assert!(html.contains("href=\"/seats/worked-hours\""), "the shop's navigation links it");
        assert!(html.contains("<th scope=\"row\">Agent 0</th>"), "{html}");
        assert!(html.contains("<svg class=\"chart\""));
        let drill = format!("/seats/worked-hours/chats?agent_id={}&#38;day={}", agent.id(), day(5));
        assert!(html.contains(&drill), "{html}");
        let csv = shop_browser.get(app.url(&format!("/seats/worked-hours.csv?{range}"))).send().await.unwrap().text().await.unwrap();
        assert!(csv.contains(&format!("{},Agent 0,{},", agent.id(), day(5))), "{csv}");
        let chats = shop_browser.get(app.url(&format!("/seats/worked-hours/chats?agent_id={}&day={}", agent.id(), day(5)))).send().await.unwrap().text().await.unwrap();
        assert!(chats.contains(&format!("Chats of Agent 0 on {}", day(5))), "{chats}");
        assert!(chats.contains("No chats held that day."));
        let zh = shop_browser.get(app.url(&format!("/seats/worked-hours?{range}"))).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("<h1>工时</h1>"), "{zh}");

        // A second shop sees none of it.
        let other = app.merchant("Book Nook").await;
        let other_browser = signed_in(&app, &other.email).await;
        let html = other_browser.get(app.url(&format!("/seats/worked-hours?{range}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("No hours worked on your shifts in this period."), "{html}");
        assert!(!html.contains("Agent 0"));
        let chats = other_browser.get(app.url(&format!("/seats/worked-hours/chats?agent_id={}&day={}", agent.id(), day(5)))).send().await.unwrap().text().await.unwrap();
        assert!(chats.contains("No chats held that day."), "{chats}");
        assert!(!chats.contains("Agent 0"), "the name of an agent who never served the shop stays hidden");
        let agent_res = browser.get(app.url("/seats/worked-hours")).send().await.unwrap();
        assert_eq!(agent_res.status(), 403);
    }
}

/// A chat of `agent` with the given hold events (kind, at), stored as the chat service
/// leaves them; `status` is the chat's status now.
fn chat_with_events(
    c: &mut cloudseat::db::DbConn,
    merchant: &str,
    customer: &str,
    agent: &str,
    status: &str,
    created: NaiveDateTime,
    events: &[(&str, NaiveDateTime)],
) -> String {
    use cloudseat::db::schema::chat_events;
    let closed = events
        .iter()
        .find(|(k, _)| *k == "closed")
        .map(|(_, at)| *at);
    let id = insert_chat(
        c,
        &ChatFixture {
            merchant,
            customer,
            agent: Some(agent),
            status,
            created,
            accepted: events.first().map(|(_, at)| *at),
            first_response: events.first().map(|(_, at)| *at + Duration::minutes(1)),
            closed,
            rating: None,
        },
    );
    // A chat still held has a customer who is still writing: the service's timers must not
    // close it as idle, or take it back, while the test runs.
    if status == "assigned" {
        use cloudseat::db::schema::chats;
        diesel::update(chats::table.find(&id))
            .set(chats::last_customer_at.eq(cloudseat::db::now()))
            .execute(c)
            .unwrap();
    }
    for (kind, at) in events {
        diesel::insert_into(chat_events::table)
            .values((
                chat_events::id.eq(cloudseat::db::new_id()),
                chat_events::chat_id.eq(&id),
                chat_events::at.eq(at),
                chat_events::kind.eq(*kind),
                chat_events::agent_id.eq(agent),
            ))
            .execute(c)
            .unwrap();
    }
    id
}

both_backends! {
    async fn holds_open_when_the_range_starts_count_and_older_ones_do_not(app) {
        // The range is one market day three days ago. The agent took chats before it: one
        // let go inside it, one still held, one held across the whole day and let go the
        // day after (no event within the day at all); and others that do not touch it.
        let shop = app.merchant("Tea House").await;
        let agent = app.agent("Wang").await;
        let other = app.agent("Li").await;
        let (mid, a, o) = (shop.merchant_id(), agent.id(), other.id());
        let date = market_today() - Duration::days(3);
        let start = chrono_tz::Asia::Shanghai
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .naive_utc();
        let end = start + Duration::days(1);
        let h = Duration::hours;
        let ids = app
            .with_db({
                let (mid, a, o) = (mid.clone(), a.clone(), o.clone());
                move |c| {
                    let cu = insert_customer(c, &mid);
                    let mut chat = |agent: &str, status: &str, events: &[(&str, NaiveDateTime)]| {
                        let created = events[0].1 - Duration::minutes(1);
                        chat_with_events(c, &mid, &cu, agent, status, created, events)
                    };
                    let ended_inside = chat(&a, "closed", &[("accepted", start - h(2)), ("closed", start + Duration::minutes(30))]);
                    let still_held = chat(&a, "assigned", &[("auto_accepted", start - h(1))]);
                    let spanning = chat(&a, "closed", &[("accepted", start - h(5)), ("closed", end + h(2))]);
                    // Let go before the range, taken after it, another agent's, and one
                    // the agent transferred away before the range.
                    chat(&a, "closed", &[("accepted", start - h(6)), ("closed", start - h(1))]);
                    chat(&a, "closed", &[("accepted", end + h(1)), ("closed", end + h(3))]);
                    chat(&o, "closed", &[("accepted", start + h(3)), ("closed", start + h(4))]);
                    chat(&a, "closed", &[("accepted", start - h(4)), ("transferred", start - h(3))]);
                    (ended_inside, still_held, spanning)
                }
            })
            .await;
        let (ended_inside, still_held, spanning) = ids.clone();

        // The store: exactly the three holds, whole (the pages clip them to each day). The
        // one still held runs to the `now` it was asked for.
        let window = cloudseat::chat::fairness::Span::new(start, end).unwrap();
        let now = app.clock.now();
        let holds = app
            .with_db({
                let a = a.clone();
                move |c| cloudseat::analytics::timeline_store::holds(c, &a, None, window, now).unwrap()
            })
            .await;
        let mut got: Vec<(String, NaiveDateTime, NaiveDateTime)> = holds
            .iter()
            .map(|h| (h.chat_id.clone(), h.span.start, h.span.end))
            .collect();
        got.sort_by_key(|g| g.1);
        assert_eq!(
            got,
            [
                (spanning.clone(), start - h(5), end + h(2)),
                (ended_inside.clone(), start - h(2), start + Duration::minutes(30)),
                (still_held.clone(), start - h(1), now),
            ]
        );
        // Another shop's chats only: none of these.
        let none = app
            .with_db({
                let a = a.clone();
                move |c| cloudseat::analytics::timeline_store::holds(c, &a, Some("no-such-shop"), window, now).unwrap()
            })
            .await;
        assert_eq!(none, []);

        // The shop's drill-down of that day lists the same three, each with all its hold
        // time (before the day too).
        let body = get(&app, &format!("/api/merchants/{mid}/worked-hours/chats?agent_id={a}&day={date}"), &shop.access).await;
        let listed = body["chats"].as_array().unwrap();
        let order: Vec<&str> = listed.iter().map(|c| c["chat_id"].as_str().unwrap()).collect();
        assert_eq!(order, [spanning.as_str(), ended_inside.as_str(), still_held.as_str()], "{body}");
        assert_eq!(listed[0]["handle_secs"], (h(5) + h(24) + h(2)).num_seconds());
        assert_eq!(listed[1]["handle_secs"], (h(2) + Duration::minutes(30)).num_seconds());
        near(&listed[2]["handle_secs"], (app.clock.now() - (start - h(1))).num_seconds(), "still held");
        // The day before also has the two let go before midnight; the day after only the
        // ones held on into it and the one taken then.
        let chats_of = |d: NaiveDate| format!("/api/merchants/{mid}/worked-hours/chats?agent_id={a}&day={d}");
        let before = get(&app, &chats_of(date - Duration::days(1)), &shop.access).await;
        assert_eq!(before["chats"].as_array().unwrap().len(), 5, "{before}");
        let after = get(&app, &chats_of(date + Duration::days(1)), &shop.access).await;
        let after: Vec<&str> = after["chats"].as_array().unwrap().iter().map(|c| c["chat_id"].as_str().unwrap()).collect();
        assert_eq!(after.len(), 3, "{after:?}");
        assert!(after.contains(&spanning.as_str()) && after.contains(&still_held.as_str()), "{after:?}");
        assert!(!after.contains(&ended_inside.as_str()), "{after:?}");
    }
}
