//! The shop's service dashboard: continuity and renewals from stored shifts and chats
//! counted by hand, live figures from stored chats, the live event stream read by a real
//! HTTP client while a customer starts a chat, the mailed reports through the real SMTP
//! listener, the page in both languages, and every bad range.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat::{staffed, start_chat, widget_key};
use crate::helpers::{
    ChatFixture, TestApp, csrf_of, field_codes, insert_chat, insert_customer, problem, signed_in,
};
use crate::shifts::{booked, json_of};
use cloudseat::db::schema::shift_assignments;
use diesel::prelude::*;

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// `m`-`d` 2026 at `h`:00 UTC.
fn utc(m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, m, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

fn local_day(t: NaiveDateTime) -> NaiveDate {
    t.and_utc().with_timezone(&ZONE).date_naive()
}

/// A worked shift of `shop`'s booking, held by `agent` from `start` for four hours.
pub(crate) async fn worked(
    app: &TestApp,
    shift: &str,
    booking: &str,
    shop: &str,
    agent: &str,
    start: NaiveDateTime,
) {
    let (shift, booking, shop, agent) = (
        shift.to_owned(),
        booking.to_owned(),
        shop.to_owned(),
        agent.to_owned(),
    );
    app.with_db(move |c| {
        diesel::insert_into(shift_assignments::table)
            .values((
                shift_assignments::id.eq(uuid::Uuid::now_v7().to_string()),
                shift_assignments::shift_id.eq(&shift),
                shift_assignments::agent_id.eq(&agent),
                shift_assignments::merchant_id.eq(&shop),
                shift_assignments::booking_id.eq(&booking),
                shift_assignments::via.eq("claim"),
                shift_assignments::starts_at.eq(start),
                shift_assignments::ends_at.eq(start + Duration::hours(4)),
                shift_assignments::claimed_at.eq(start - Duration::days(1)),
                shift_assignments::checked_in_at.eq(Some(start)),
                shift_assignments::checked_out_at.eq(Some(start + Duration::hours(4))),
                shift_assignments::ended_at.eq(Some(start + Duration::hours(4))),
                shift_assignments::outcome.eq(Some("worked")),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

/// A closed chat of `shop` answered by `agent`, accepted at `accepted`.
async fn served_chat(app: &TestApp, shop: &str, agent: &str, accepted: NaiveDateTime) {
    let (shop, agent) = (shop.to_owned(), agent.to_owned());
    app.with_db(move |c| {
        let customer = insert_customer(c, &shop);
        insert_chat(
            c,
            &ChatFixture {
                merchant: &shop,
                customer: &customer,
                agent: Some(&agent),
                status: "closed",
                created: accepted - Duration::seconds(20),
                accepted: Some(accepted),
                first_response: Some(accepted + Duration::seconds(10)),
                closed: Some(accepted + Duration::minutes(5)),
                rating: None,
            },
        );
    })
    .await;
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    json_of(app.get_as(path, token).await).await
}

both_backends! {
    async fn continuity_rotation_and_renewals_are_counted_by_hand(app) {
        let shop_a = app.merchant("Tea House").await;
        let shop_b = app.merchant("Book Nook").await;
        let (a, b) = (shop_a.merchant_id(), shop_b.merchant_id());
        let wang = app.agent("Wang").await.id();
        let li = app.agent("Li").await.id();
        // Real bookings give the shifts the assignments hang on; shop A's is in the open
        // peak (day +20), 2 seats x 4 hours.
        let (booking_a, shifts_a) = booked(&app, &shop_a, "general", 20, (8, 12), 2).await;
        let (booking_b, shifts_b) = booked(&app, &shop_b, "general", 21, (8, 12), 1).await;
        // Week of Mon Nov 2 and week of Mon Nov 9, 2026 (10:00 Shanghai = 02:00 UTC):
        // - wang first worked for A on Oct 26, then Nov 2 (2 chats): returning;
        // - li worked for shop B on Oct 20 (not for A), then for A on Nov 3 (1 chat: new)
        //   and Nov 10 (1 chat: returning).
        worked(&app, &shifts_a[0], &booking_a, &a, &wang, utc(10, 26, 2)).await;
        worked(&app, &shifts_b[0], &booking_b, &b, &li, utc(10, 20, 2)).await;
        served_chat(&app, &b, &li, utc(10, 20, 3)).await;
        worked(&app, &shifts_a[0], &booking_a, &a, &wang, utc(11, 2, 2)).await;
        served_chat(&app, &a, &wang, utc(11, 2, 3)).await;
        served_chat(&app, &a, &wang, utc(11, 2, 4)).await;
        worked(&app, &shifts_a[1], &booking_a, &a, &li, utc(11, 3, 2)).await;
        served_chat(&app, &a, &li, utc(11, 3, 3)).await;
        worked(&app, &shifts_a[1], &booking_a, &a, &li, utc(11, 10, 2)).await;
        served_chat(&app, &a, &li, utc(11, 10, 3)).await;

        let path = format!("/api/merchants/{a}/analytics/continuity?from=2026-11-02&to=2026-11-15");
        let body = get(&app, &path, &shop_a.access).await;
        assert_eq!(body["time_zone"], "Asia/Shanghai");
        // Chats 4, returning 3 (wang's two, li's second); shifts 3, returning 2.
        assert_eq!((body["chats"].as_u64(), body["returning_chats"].as_u64()), (Some(4), Some(3)));
        assert_eq!(body["chat_continuity_bp"], 7_500);
        assert_eq!((body["shifts"].as_u64(), body["returning_shifts"].as_u64()), (Some(3), Some(2)));
        assert_eq!(body["shift_continuity_bp"], 6_666);
        // Two agents, li new to A in the range.
        assert_eq!((body["agents"].as_u64(), body["new_agents"].as_u64()), (Some(2), Some(1)));
        assert_eq!(body["rotation_bp"], 5_000);
        let weeks = body["weeks"].as_array().unwrap();
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0]["week_of"], "2026-11-02");
        assert_eq!((weeks[0]["chats"].as_u64(), weeks[0]["returning_chats"].as_u64()), (Some(3), Some(2)));
        assert_eq!((weeks[0]["agents"].as_u64(), weeks[0]["new_agents"].as_u64(), weeks[0]["rotation_bp"].as_u64()), (Some(2), Some(1), Some(5_000)));
        assert_eq!((weeks[1]["chats"].as_u64(), weeks[1]["returning_chats"].as_u64()), (Some(1), Some(1)));
        assert_eq!((weeks[1]["agents"].as_u64(), weeks[1]["new_agents"].as_u64(), weeks[1]["rotation_bp"].as_u64()), (Some(1), Some(0), Some(0)));
        // No peak booked in November.
        assert_eq!(body["renewals"]["items"], json!([]));

        // The admin reads the same figures; shop B has its own (nothing in November), and
        // never A's.
        let admin = app.admin().await;
        let as_admin = get(&app, &path, &admin.access).await;
        assert_eq!(as_admin["chats"], body["chats"]);
        assert_eq!(as_admin["weeks"], body["weeks"]);
        problem(app.get_as(&path, &shop_b.access).await, 404, "not_found").await;
        let own_b = get(&app, &format!("/api/merchants/{b}/analytics/continuity?from=2026-11-02&to=2026-11-15"), &shop_b.access).await;
        assert_eq!((own_b["chats"].as_u64(), own_b["shifts"].as_u64(), own_b["agents"].as_u64()), (Some(0), Some(0), Some(0)));
        assert_eq!(own_b["chat_continuity_bp"], Value::Null);
        let october_b = get(&app, &format!("/api/merchants/{b}/analytics/continuity?from=2026-10-19&to=2026-10-25"), &shop_b.access).await;
        assert_eq!((october_b["chats"].as_u64(), october_b["new_agents"].as_u64()), (Some(1), Some(1)));
        problem(app.get_as(&path, &app.agent("Zhao").await.access).await, 403, "wrong_role").await;

        // Renewals: A booked the open peak (days +20..+30); the next peak (+75) is not
        // booked and has not started, and nothing renews the open peak.
        let today = local_day(app.clock.now());
        let range = format!("/api/merchants/{a}/analytics/continuity?from={}&to={}", today, today + Duration::days(40));
        let r = get(&app, &range, &shop_a.access).await["renewals"].clone();
        let items = r["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{r}");
        assert_eq!((items[0]["period_id"].as_str(), items[0]["seat_hours"].as_i64()), (Some("peak_open"), Some(8)));
        assert_eq!(items[0]["next_peak"]["period_id"], "peak_soon");
        assert_eq!(items[0]["next_peak"]["status"], "open");
        assert_eq!(items[0]["next_edition"], Value::Null);
        assert_eq!(r["next_peak_rate_bp"], Value::Null);
    }

    async fn bad_ranges_are_named_and_the_default_is_twelve_weeks(app) {
        let shop = app.merchant("Tea House").await;
        let base = format!("/api/merchants/{}/analytics/continuity", shop.merchant_id());
        let body = problem(app.get_as(&format!("{base}?from=2026-11-10&to=2026-11-01"), &shop.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("to".to_owned(), "period_inverted".to_owned())]);
        let body = problem(app.get_as(&format!("{base}?from=2020-01-01&to=2025-01-01"), &shop.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("to".to_owned(), "period_too_long".to_owned())]);
        let body = problem(app.get_as(&format!("{base}?from=11/02/2026&to=2026-02-30"), &shop.access).await, 422, "validation_failed").await;
        assert_eq!(
            field_codes(&body),
            [("from".to_owned(), "invalid_date".to_owned()), ("to".to_owned(), "invalid_date".to_owned())]
        );
        // Just under five years is fine; the default is twelve whole weeks to today.
        json_of(app.get_as(&format!("{base}?from=2021-11-02&to=2026-11-01"), &shop.access).await).await;
        let body = get(&app, &base, &shop.access).await;
        let today = local_day(app.clock.now());
        assert_eq!(body["to"], today.to_string());
        assert_eq!(body["weeks"].as_array().unwrap().len(), 12);
        // The subscription body is checked too.
        let me = format!("/api/merchants/{}/analytics/report-subscriptions/me", shop.merchant_id());
        let res = app.api.put(app.url(&me)).bearer_auth(&shop.access).json(&json!({"daily": true})).send().await.unwrap();
        problem(res, 422, "validation_failed").await;
        let res = app.api.put(app.url(&me)).bearer_auth(&shop.access).json(&json!({"daily": true, "weekly": false, "hourly": true})).send().await.unwrap();
        problem(res, 422, "validation_failed").await;
        // A shop that does not exist, asked by an admin.
        let admin = app.admin().await;
        problem(app.get_as("/api/merchants/00000000-0000-7000-8000-000000000000/analytics/live", &admin.access).await, 404, "not_found").await;
    }

    async fn live_figures_are_counted_by_hand(app) {
        // At 12:00 market time, so "today" and the last 15 minutes are both well inside
        // the day.
        let now = app.clock.now();
        let local = now.and_utc().with_timezone(&ZONE);
        let to_noon = (36 * 3600 - i64::from(local.num_seconds_from_midnight())) % (24 * 3600);
        app.clock.advance(Duration::seconds(to_noon));
        let shop_a = app.merchant("Tea House").await;
        let shop_b = app.merchant("Book Nook").await;
        let (a, b) = (shop_a.merchant_id(), shop_b.merchant_id());
        let wang = app.agent("Wang").await.id();
        let t = app.clock.now();
        let s = |secs: i64| Duration::seconds(secs);
        app.with_db(move |c| {
            let ca = insert_customer(c, &a);
            let cb = insert_customer(c, &b);
            let taken = Some(wang.as_str());
            let chat = |status, agent, created, accepted, reply, closed, rating| ChatFixture {
                merchant: &a, customer: &ca, agent, status, created, accepted, first_response: reply, closed, rating,
            };
            // Waiting five minutes.
            insert_chat(c, &chat("queued", None, t - s(300), None, None, None, None));
            // Answered in 20 s (target 30), closed, rated 5.
            insert_chat(c, &chat("closed", taken, t - s(600), Some(t - s(590)), Some(t - s(570)), Some(t - s(300)), Some(5)));
            // Answered in 45 s, still open.
            insert_chat(c, &chat("assigned", taken, t - s(720), Some(t - s(690)), Some(t - s(645)), None, None));
            // Two hours ago: answered in 10 s, closed after 295 s, rated 3.
            insert_chat(c, &chat("closed", taken, t - s(7200), Some(t - s(7195)), Some(t - s(7185)), Some(t - s(6900)), Some(3)));
            // Given up before anyone took it.
            insert_chat(c, &chat("abandoned", None, t - s(480), None, None, Some(t - s(420)), None));
            // Shop B's chat counts for nobody else.
            insert_chat(c, &ChatFixture { merchant: &b, customer: &cb, agent: None, status: "queued", created: t - s(900), accepted: None, first_response: None, closed: None, rating: None });
        })
        .await;
        let path = format!("/api/merchants/{}/analytics/live", shop_a.merchant_id());
        let live = get(&app, &path, &shop_a.access).await;
        assert_eq!(live["target_secs"], 30);
        assert_eq!(live["day"], local_day(t).to_string());
        assert_eq!(live["waiting"], 1);
        let longest = live["longest_wait_secs"].as_i64().unwrap();
        assert!((300..330).contains(&longest), "{longest}");
        assert_eq!((live["in_progress"].as_u64(), live["agents_on_shift"].as_u64(), live["agents_online"].as_u64()), (Some(1), Some(0), Some(0)));
        let w = &live["last_15_minutes"];
        assert_eq!((w["arrived"].as_u64(), w["answered"].as_u64(), w["answered_in_target"].as_u64(), w["missed"].as_u64()), (Some(4), Some(2), Some(1), Some(0)));
        assert_eq!(w["service_level_bp"], 5_000);
        assert_eq!(w["avg_first_response_secs"], 32);
        assert_eq!((w["accepted"].as_u64(), w["avg_queue_secs"].as_i64()), (Some(2), Some(20)));
        assert_eq!((w["closed"].as_u64(), w["avg_handle_secs"].as_i64()), (Some(1), Some(290)));
        assert_eq!((w["abandoned"].as_u64(), w["ratings"].as_u64(), w["avg_rating_x100"].as_u64()), (Some(1), Some(1), Some(500)));
        let d = &live["today"];
        assert_eq!((d["arrived"].as_u64(), d["answered"].as_u64(), d["answered_in_target"].as_u64()), (Some(5), Some(3), Some(2)));
        assert_eq!(d["service_level_bp"], 6_666);
        assert_eq!(d["avg_first_response_secs"], 25);
        assert_eq!((d["closed"].as_u64(), d["avg_handle_secs"].as_i64()), (Some(2), Some(292)));
        assert_eq!((d["ratings"].as_u64(), d["avg_rating_x100"].as_u64()), (Some(2), Some(400)));

        // Shop B sees only its own waiting chat; A's figures are not B's to read.
        let own_b = get(&app, &format!("/api/merchants/{}/analytics/live", shop_b.merchant_id()), &shop_b.access).await;
        assert_eq!((own_b["waiting"].as_u64(), own_b["today"]["answered"].as_u64()), (Some(1), Some(0)));
        problem(app.get_as(&path, &shop_b.access).await, 404, "not_found").await;
        problem(app.get_as(&format!("{path}/stream"), &shop_b.access).await, 404, "not_found").await;
    }

    async fn the_live_stream_pushes_a_new_chat(app) {
        let (shop, _agents) = staffed(&app, 1).await;
        let stream_path = format!("/api/merchants/{}/analytics/live/stream", shop.merchant_id());
        let mut res = app.get_as(&stream_path, &shop.access).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut buffer = String::new();
        let first = next_snapshot(&mut res, &mut buffer, |_| true).await;
        assert_eq!((first["waiting"].as_u64(), first["agents_on_shift"].as_u64()), (Some(0), Some(1)));
        assert_eq!(first["today"]["arrived"], 0);
        // A customer starts a chat; nobody is connected to take it, so it waits.
        let key = widget_key(&app, &shop).await;
        let (customer, _chat, _) = start_chat(&app, &key, json!({})).await;
        let next = next_snapshot(&mut res, &mut buffer, |s| s["waiting"] == 1).await;
        assert_eq!(next["today"]["arrived"], 1);
        assert!(next["longest_wait_secs"].as_i64().is_some());

        // The page's own stream signs in with the session cookie.
        let browser = signed_in(&app, &shop.email).await;
        let mut page = browser.get(app.url("/seats/dashboard/live")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let mut buffer = String::new();
        let seen = next_snapshot(&mut page, &mut buffer, |_| true).await;
        assert_eq!(seen["waiting"], 1);
        customer.close().await;
    }

    async fn reports_go_out_once_per_period_and_stop_on_opt_out(app) {
        let shop = app.merchant("Tea House").await;
        let mid = shop.merchant_id();
        // Yesterday (market day) at 12:00: one chat answered in 10 s and rated 4.
        let today = local_day(app.clock.now());
        let yesterday_noon = (today - Duration::days(1)).and_hms_opt(4, 0, 0).unwrap();
        let m = mid.clone();
        app.with_db(move |c| {
            let customer = insert_customer(c, &m);
            insert_chat(c, &ChatFixture {
                merchant: &m, customer: &customer, agent: None, status: "closed",
                created: yesterday_noon, accepted: Some(yesterday_noon + Duration::seconds(5)),
                first_response: Some(yesterday_noon + Duration::seconds(15)),
                closed: Some(yesterday_noon + Duration::minutes(4)), rating: Some(4),
            });
        })
        .await;
        let me = format!("/api/merchants/{mid}/analytics/report-subscriptions/me");
        let res = app.api.put(app.url(&me)).bearer_auth(&shop.access).json(&json!({"daily": true, "weekly": true})).send().await.unwrap();
        assert_eq!(json_of(res).await, json!({"daily": true, "weekly": true}));
        let list = get(&app, &format!("/api/merchants/{mid}/analytics/report-subscriptions"), &shop.access).await;
        let cadences: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["cadence"].as_str().unwrap()).collect();
        assert_eq!(cadences, ["daily", "weekly"]);

        let daily = app.smtp.wait_for(&shop.email, "Daily service report for Tea House").await;
        let yesterday = (today - Duration::days(1)).to_string();
        assert!(daily.subject.contains(&yesterday), "{}", daily.subject);
        for needle in ["Chats: 1 arrived, 1 answered", "Service level: 100%", "Average first response 10 s", "4.00 from 1 ratings", "/seats/dashboard?from="] {
            assert!(daily.text.contains(needle), "{needle} in {}", daily.text);
        }
        app.smtp.wait_for(&shop.email, "Weekly service report for Tea House").await;
        // The job runs every second: a period goes out once.
        tokio::time::sleep(StdDuration::from_millis(2_500)).await;
        let count = |subject: &'static str| {
            app.smtp.all().iter().filter(|m| m.subject.contains(subject)).count()
        };
        assert_eq!((count("Daily service report"), count("Weekly service report")), (1, 1));

        // The next day brings the next daily report (and a weekly one only on a Monday).
        app.clock.advance(Duration::days(1));
        let next_day = today.to_string();
        app.smtp.wait_for(&shop.email, &format!("Daily service report for Tea House: {next_day}")).await;
        tokio::time::sleep(StdDuration::from_millis(1_500)).await;
        let new_monday = local_day(app.clock.now()).format("%u").to_string() == "1";
        assert_eq!(count("Daily service report"), 2);
        assert_eq!(count("Weekly service report"), if new_monday { 2 } else { 1 });

        // Opting out stops both, and every change is in the audit log.
        let res = app.api.put(app.url(&me)).bearer_auth(&shop.access).json(&json!({"daily": false, "weekly": false})).send().await.unwrap();
        assert_eq!(json_of(res).await, json!({"daily": false, "weekly": false}));
        app.clock.advance(Duration::days(7));
        tokio::time::sleep(StdDuration::from_millis(2_500)).await;
        assert_eq!(count("Daily service report"), 2);
        let actions: Vec<String> = app
            .with_db(|c| {
                use cloudseat::db::schema::audit_log;
                audit_log::table
                    .filter(audit_log::action.like("report_subscription.%"))
                    .select(audit_log::action)
                    .order(audit_log::created_at)
                    .load(c)
                    .unwrap()
            })
            .await;
        assert_eq!(actions.len(), 4, "{actions:?}");
        assert_eq!(actions.iter().filter(|a| a.ends_with("opted_in")).count(), 2);
    }

    async fn the_dashboard_page_in_both_languages_with_its_empty_states(app) {
        let shop = app.merchant("Tea House").await;
        let browser = signed_in(&app, &shop.email).await;
        let html = browser.get(app.url("/seats/dashboard")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<h1>Service dashboard</h1>"), "{html}");
        assert!(html.contains("href=\"/seats/dashboard\""), "the shop's navigation links it");
        assert!(html.contains("data-stream=\"/seats/dashboard/live\""));
        assert!(html.contains("No agent served your shop in this range yet."));
        assert!(html.contains("You booked no peak period in this range."));
        assert!(html.contains("Nobody at your shop receives the reports yet."));
        assert!(html.contains("data-field=\"waiting\" data-format=\"count\">0<"));
        // Opting in through the form.
        let res = browser
            .post(app.url("/seats/dashboard/reports"))
            .form(&[("csrf_token", csrf_of(&html).as_str()), ("weekly", "on")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let html = browser.get(app.url("/seats/dashboard?notice=reports_saved")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Your report choice is saved."));
        assert!(html.contains("id=\"report-weekly\" name=\"weekly\" value=\"on\" checked"), "{html}");
        assert!(!html.contains("id=\"report-daily\" name=\"daily\" value=\"on\" checked"));
        assert!(html.contains(&shop.email));

        // With service: the charts (accessible SVG) and their tables.
        let wang = app.agent("Wang").await.id();
        let mid = shop.merchant_id();
        let (booking, shifts) = booked(&app, &shop, "general", 20, (8, 12), 1).await;
        let start = app.clock.now() - Duration::days(3);
        worked(&app, &shifts[0], &booking, &mid, &wang, start).await;
        served_chat(&app, &mid, &wang, start + Duration::hours(1)).await;
        let today = local_day(app.clock.now());
        let zh = browser
            .get(app.url(&format!("/seats/dashboard?from={}&to={}", today - Duration::days(20), today + Duration::days(40))))
            .header("accept-language", "zh-CN")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(zh.contains("<html lang=\"zh-CN\">"));
        assert!(zh.contains("<h1>服务看板</h1>"));
        assert!(zh.contains("<svg class=\"chart\""), "{zh}");
        assert!(zh.contains("role=\"img\""));
        assert!(zh.contains("每周稳定度与轮换率"));
        // The booked peak is listed with what followed.
        assert!(zh.contains("开放大促"));
        assert!(zh.contains("将至大促：尚未预订"));

        // A bad range keeps the page, names the problem and shows the default range.
        let bad = browser.get(app.url("/seats/dashboard?from=2026-11-10&to=2026-11-01")).send().await.unwrap();
        assert_eq!(bad.status(), 200);
        let bad = bad.text().await.unwrap();
        assert!(bad.contains("The end date must be on or after the start date."), "{bad}");
        // Agents have no dashboard.
        let agent = app.agent("Li").await;
        let agent_browser = signed_in(&app, &agent.email).await;
        let res = agent_browser.get(app.url("/seats/dashboard")).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

/// Reads the stream until a `snapshot` event whose data passes `wanted` (at most 10 s)
/// and returns that data.
async fn next_snapshot(
    res: &mut reqwest::Response,
    buffer: &mut String,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.starts_with("event: snapshot\n") {
                let data = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("a data line");
                let snapshot: Value = serde_json::from_str(data).unwrap();
                if wanted(&snapshot) {
                    return snapshot;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("no such snapshot within 10 s")
            .unwrap()
            .expect("the stream ended");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}
