//! The admins' operations dashboard: real bookings, claims, a missed check-in taken over,
//! queued chats, outbox rows and a payroll run, with the API's figures checked against
//! hand-computed ones; every bad `days`; the page in both languages with its empty states.

use chrono::{Duration, NaiveDateTime, Timelike};
use diesel::prelude::*;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{
    ChatFixture, TestApp, day, field_codes, insert_chat, insert_customer, problem, signed_in,
};
use crate::merchant_dash::worked;
use crate::payroll::run_for;
use crate::shifts::{
    act, booked, certified, claim, clock_to, json_of, past_early_access, shift_start,
    wait_for_status,
};
use cloudseat::db::schema::outbox;

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn local(t: NaiveDateTime) -> chrono::DateTime<chrono_tz::Tz> {
    t.and_utc().with_timezone(&ZONE)
}

async fn pending_mail(app: &TestApp) -> i64 {
    app.with_db(|c| {
        outbox::table
            .filter(outbox::status.eq("pending"))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

/// Waits (at most 10 s) until the sender has delivered every queued mail.
async fn outbox_drained(app: &TestApp) {
    for _ in 0..100 {
        if pending_mail(app).await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("mail still pending after 10 s");
}

/// Queues a mail through the outbox created `age` ago and fails its first attempt: with
/// `max_attempts` 1 it is given up (`failed`), otherwise it waits an hour for a retry.
async fn failed_attempt(app: &TestApp, to: &str, age: Duration, max_attempts: i32) {
    let to = to.to_owned();
    let at = app.clock.now() - age;
    app.with_db(move |c| {
        cloudseat::db::write_transaction(c, |c| {
            use cloudseat::mail::{OutgoingMail, outbox as mail_outbox};
            let mail = OutgoingMail {
                to: to.clone(),
                subject: "Held up".into(),
                text: "text".into(),
                html: "<p>html</p>".into(),
                attachments: vec![],
            };
            let id = mail_outbox::enqueue(c, &mail, at)?;
            let row = mail_outbox::find(c, &id)?.expect("queued");
            mail_outbox::mark_attempt_failed(
                c,
                &row,
                "550 refused",
                at,
                max_attempts,
                Duration::hours(1),
            )
        })
        .unwrap();
    })
    .await;
}

both_backends! {
    async fn the_figures_are_counted_by_hand(app) {
        let shop_a = app.merchant("Tea House").await;
        let shop_b = app.merchant("Book Nook").await;
        // C: shop A, day +5, 08-12, 1 seat (the missed one); A: shop A, day +7, 08-12, 2
        // seats; B: shop B, day +7, 12-16, 1 seat.
        let (c_booking, c_shifts) = booked(&app, &shop_a, "general", 5, (8, 12), 1).await;
        let (_, a_shifts) = booked(&app, &shop_a, "general", 7, (8, 12), 2).await;
        let (_, b_shifts) = booked(&app, &shop_b, "general", 7, (12, 16), 1).await;
        assert_eq!((c_shifts.len(), a_shifts.len(), b_shifts.len()), (1, 2, 1));
        past_early_access(&app);
        let wang = certified(&app, "Wang Fang", "general").await;
        let li = certified(&app, "Li Lei", "general").await;
        json_of(claim(&app, &wang, &c_shifts[0]).await).await;
        json_of(claim(&app, &li, &a_shifts[0]).await).await;

        // Wang misses C's check-in: the job records the no-show and reopens the shift;
        // Li takes it over and checks in.
        let start = shift_start(&app, &c_shifts[0]).await;
        clock_to(&app, start + Duration::minutes(11));
        app.smtp.wait_for(&wang.email, "Missed shift").await;
        wait_for_status(&app, &c_shifts[0], "open").await;
        json_of(claim(&app, &li, &c_shifts[0]).await).await;
        assert_eq!(json_of(act(&app, &li, &c_shifts[0], "check-in").await).await["status"], "checked_in");

        // Chats: shop A has two waiting (5 and 2 minutes) and one answered in 20 s (target
        // 30) nine and a half minutes ago; shop B one waiting for a minute.
        let t = app.clock.now();
        let s = Duration::seconds;
        let (a, b, li_id) = (shop_a.merchant_id(), shop_b.merchant_id(), li.id());
        app.with_db(move |c| {
            let ca = insert_customer(c, &a);
            let cb = insert_customer(c, &b);
            let chat = |merchant, customer, agent, status, created, accepted, reply, closed| ChatFixture {
                merchant, customer, agent, status, created, accepted, first_response: reply, closed, rating: None,
            };
            insert_chat(c, &chat(&a, &ca, None, "queued", t - s(300), None, None, None));
            insert_chat(c, &chat(&a, &ca, None, "queued", t - s(120), None, None, None));
            insert_chat(c, &chat(&a, &ca, Some(li_id.as_str()), "closed", t - s(600), Some(t - s(590)), Some(t - s(570)), Some(t - s(300))));
            insert_chat(c, &chat(&b, &cb, None, "queued", t - s(60), None, None, None));
        })
        .await;

        // A payroll run of last week, in which Li worked four hours for shop A, published
        // and disputed by Li.
        let worked_at = chrono::NaiveDate::parse_from_str(&day(-5), "%Y-%m-%d").unwrap().and_hms_opt(2, 0, 0).unwrap();
        worked(&app, &c_shifts[0], &c_booking, &shop_a.merchant_id(), &li.id(), worked_at).await;
        let admin = app.admin().await;
        let run = run_for(&app, &admin, &day(-9), &day(-3)).await;
        assert_eq!((run["status"].as_str(), run["agent_count"].as_i64()), (Some("draft"), Some(1)), "{run}");
        let run_id = run["id"].as_str().unwrap().to_owned();
        let res = app.post_as(&format!("/api/admin/payroll/runs/{run_id}/publish"), &admin.access, &serde_json::json!({})).await;
        assert_eq!(json_of(res).await["status"], "published");
        let slip = json_of(app.get_as(&format!("/api/agents/me/payslips/{run_id}"), &li.access).await).await;
        let line = slip["lines"][0]["id"].as_str().unwrap().to_owned();
        let res = app.post_as(&format!("/api/agents/me/payslips/{run_id}/disputes"), &li.access, &serde_json::json!({"line": line, "reason": "I stayed longer"})).await;
        assert_eq!(res.status(), 201);

        // The outbox: every mail so far delivered; then one held up for ten minutes and
        // waiting for its retry, and two given up.
        outbox_drained(&app).await;
        failed_attempt(&app, "held@example.com", Duration::minutes(10), 8).await;
        failed_attempt(&app, "gone@example.com", Duration::minutes(1), 1).await;
        failed_attempt(&app, "gone2@example.com", Duration::minutes(1), 1).await;

        let body = json_of(app.get_as("/api/admin/operations?days=3", &admin.access).await).await;
        let today = local(app.clock.now()).date_naive();
        assert_eq!(body["today"], today.to_string());
        assert_eq!(local(start).date_naive(), today, "C starts today");
        assert_eq!(body["time_zone"], "Asia/Shanghai");
        assert_eq!((body["no_show_grace_minutes"].as_u64(), body["target_secs"].as_u64()), (Some(10), Some(30)));

        // Coverage: 3 days x 16 bookable hours. Today 08-12: C sold 1, staffed 1 (Li);
        // day +2 08-12: A sold 2, staffed 1 (Li's claim); 12-16: B sold 1, staffed 0.
        let cov = &body["coverage"];
        let hours = cov["hours"].as_array().unwrap();
        assert_eq!(hours.len(), 48);
        assert_eq!(cov["first_day"], today.to_string());
        let at = |date: chrono::NaiveDate, h: u64| -> (u64, u64, u64, bool) {
            let x = hours.iter().find(|x| x["date"] == date.to_string() && x["hour"] == h).unwrap();
            (x["sold"].as_u64().unwrap(), x["staffed"].as_u64().unwrap(), x["gap"].as_u64().unwrap(), x["understaffed"].as_bool().unwrap())
        };
        let later = today + Duration::days(2);
        for h in 8..12 {
            assert_eq!(at(today, h), (1, 1, 0, false), "today {h}:00");
            assert_eq!(at(later, h), (2, 1, 1, true), "{later} {h}:00");
        }
        for h in 12..16 {
            assert_eq!(at(later, h), (1, 0, 1, true), "{later} {h}:00");
            assert_eq!(at(today, h), (0, 0, 0, false));
        }
        assert_eq!(at(today + Duration::days(1), 10), (0, 0, 0, false));
        assert_eq!(
            (cov["sold_seat_hours"].as_u64(), cov["staffed_seat_hours"].as_u64(), cov["gap_seat_hours"].as_u64(), cov["understaffed_hours"].as_u64()),
            (Some(16), Some(8), Some(8), Some(8))
        );
        // The first hour is today's 08:00 market time.
        let first: chrono::DateTime<chrono::Utc> = hours[0]["starts_at"].as_str().unwrap().parse().unwrap();
        assert_eq!((local(first.naive_utc()).date_naive(), local(first.naive_utc()).hour()), (today, 8));

        // Today's no-show: Wang at 08:00, recorded (Li, who checked in, is not one).
        let no_shows = body["no_shows"].as_array().unwrap();
        assert_eq!(no_shows.len(), 1, "{no_shows:?}");
        assert_eq!(no_shows[0]["agent_id"], wang.id().as_str());
        assert_eq!(no_shows[0]["agent"], "Wang Fang");
        assert_eq!(no_shows[0]["merchant_id"], shop_a.merchant_id().as_str());
        assert_eq!(no_shows[0]["shift_id"], c_shifts[0].as_str());
        assert_eq!((no_shows[0]["local_start"].as_str(), no_shows[0]["recorded"].as_bool()), (Some("08:00"), Some(true)));

        // Queues, longest wait first: A (2 waiting, ~300 s, Li on shift but not connected,
        // 1 answered in target of 1 due), then B.
        let queues = body["queues"].as_array().unwrap();
        assert_eq!(queues.len(), 2, "{queues:?}");
        let qa = &queues[0];
        assert_eq!(qa["merchant_id"], shop_a.merchant_id().as_str());
        assert_eq!(qa["waiting"], 2);
        let longest = qa["longest_wait_secs"].as_i64().unwrap();
        assert!((300..330).contains(&longest), "{longest}");
        assert_eq!((qa["agents_on_shift"].as_u64(), qa["agents_online"].as_u64()), (Some(1), Some(0)));
        assert_eq!((qa["answered"].as_u64(), qa["answered_in_target"].as_u64(), qa["missed"].as_u64()), (Some(1), Some(1), Some(0)));
        assert_eq!(qa["service_level_bp"], 10_000);
        let qb = &queues[1];
        assert_eq!(qb["merchant_id"], shop_b.merchant_id().as_str());
        assert_eq!((qb["waiting"].as_u64(), qb["agents_on_shift"].as_u64()), (Some(1), Some(0)));
        let longest = qb["longest_wait_secs"].as_i64().unwrap();
        assert!((60..90).contains(&longest), "{longest}");
        assert_eq!(qb["service_level_bp"], Value::Null);

        // The outbox: 1 pending for ~600 s, 2 failed, the rest sent.
        let sent: i64 = app.with_db(|c| outbox::table.filter(outbox::status.eq("sent")).count().get_result(c).unwrap()).await;
        assert!(sent >= 4, "verification, missed-shift and other mails: {sent}");
        let o = &body["outbox"];
        assert_eq!((o["pending"].as_i64(), o["failed"].as_i64(), o["sent"].as_i64()), (Some(1), Some(2), Some(sent)));
        let oldest = o["oldest_pending_secs"].as_i64().unwrap();
        assert!((600..660).contains(&oldest), "{oldest}");

        // Payroll: the run, published, with Li's open dispute; its total as computed.
        let p = &body["payroll"];
        assert_eq!(p["open_disputes"], 1);
        let runs = p["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["run_id"], run_id.as_str());
        assert_eq!((runs[0]["status"].as_str(), runs[0]["period_from"].as_str(), runs[0]["period_to"].as_str()), (Some("published"), Some(day(-9).as_str()), Some(day(-3).as_str())));
        assert!(run["total_fen"].as_i64().unwrap() > 0);
        assert_eq!((runs[0]["total_fen"].clone(), runs[0]["agent_count"].as_i64()), (run["total_fen"].clone(), Some(1)));
        assert_eq!(runs[0]["open_disputes"], 1);

        // The default is three days; shops and agents are refused.
        let default = json_of(app.get_as("/api/admin/operations", &admin.access).await).await;
        assert_eq!(default["coverage"]["days"], 3);
        let week = json_of(app.get_as("/api/admin/operations?days=14", &admin.access).await).await;
        assert_eq!(week["coverage"]["hours"].as_array().unwrap().len(), 14 * 16);
        problem(app.get_as("/api/admin/operations", &shop_a.access).await, 403, "wrong_role").await;
        problem(app.get_as("/api/admin/operations", &li.access).await, 403, "wrong_role").await;

        // The page shows the same figures: the chart, the flagged hours and each table.
        let browser = signed_in(&app, &admin.email).await;
        let html = browser.get(app.url("/admin/operations")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<svg class=\"chart\""), "{html}");
        assert!(html.contains("aria-labelledby=\"sold-staffed-title sold-staffed-desc\""));
        assert_eq!(html.matches("<strong>Understaffed</strong>").count(), 8);
        assert!(html.contains("<th scope=\"row\">Wang Fang</th><td>Tea House</td><td>general</td><td>08:00</td>"), "{html}");
        assert!(html.contains("<th scope=\"row\">Tea House</th><td class=\"num\">2</td>"), "{html}");
        assert!(html.contains("<dt>Failed for good (retry from the home page)</dt><dd>2</dd>"));
        assert!(html.contains(&format!("href=\"/admin/payroll/{}\"", run["id"].as_str().unwrap())));
    }

    async fn bad_days_are_named(app) {
        let admin = app.admin().await;
        for (days, code) in [("0", "out_of_range"), ("15", "out_of_range"), ("-2", "invalid_number"), ("three", "invalid_number"), ("2.5", "invalid_number")] {
            let res = app.get_as(&format!("/api/admin/operations?days={days}"), &admin.access).await;
            let body = problem(res, 422, "validation_failed").await;
            assert_eq!(field_codes(&body), [("days".to_owned(), code.to_owned())], "{days}");
        }
        // Empty means the default.
        let body = json_of(app.get_as("/api/admin/operations?days=", &admin.access).await).await;
        assert_eq!(body["coverage"]["days"], 3);
        let res = app.api.get(app.url("/api/admin/operations")).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn the_page_in_both_languages_with_its_empty_states(app) {
        let admin = app.admin().await;
        let browser = signed_in(&app, &admin.email).await;
        let home = browser.get(app.url("/home")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("<a href=\"/admin/operations\">Operations dashboard</a>"), "{home}");
        assert!(home.contains("<a href=\"/admin/operations\">Operations</a>"), "the admin navigation links it");
        let html = browser.get(app.url("/admin/operations")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<h1>Operations dashboard</h1>"), "{html}");
        // No timed reload of the whole page: a script swaps in the figures, with a pause.
        assert!(!html.contains("http-equiv=\"refresh\""));
        assert!(html.contains("<script src=\"/static/operations.js\" defer></script>"));
        assert!(html.contains("<div id=\"ops-figures\" data-refresh=\"30\">"));
        assert!(html.contains("id=\"ops-pause\" hidden data-pause=\"Pause updates\" data-resume=\"Resume updates\""), "{html}");
        let js = app.api.get(app.url("/static/operations.js")).send().await.unwrap();
        assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
        assert!(js.text().await.unwrap().contains("getElementById(\"ops-figures\")"));
        for empty in [
            "No seats are sold for these days.",
            "Nobody missed a check-in today.",
            "No shop has chats or agents on shift right now.",
            "No payroll run yet.",
            "Open pay disputes: 0.",
        ] {
            assert!(html.contains(empty), "{empty}");
        }
        assert!(!html.contains("<svg"), "no chart without figures");
        assert!(html.contains("<dt>Waiting to be sent</dt><dd>"));

        // The form keeps the number of days asked for.
        let five = browser.get(app.url("/admin/operations?days=5")).send().await.unwrap().text().await.unwrap();
        assert!(five.contains("id=\"days\" name=\"days\" value=\"5\""), "{five}");

        // Chinese, with a booking so that the chart and its table show.
        let shop = app.merchant("Tea House").await;
        booked(&app, &shop, "general", 1, (8, 12), 1).await;
        let zh = browser
            .get(app.url("/admin/operations?days=2"))
            .header("accept-language", "zh-CN")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(zh.contains("<html lang=\"zh-CN\">"));
        assert!(zh.contains("<h1>运营看板</h1>"), "{zh}");
        assert!(zh.contains("<title id=\"sold-staffed-title\">每小时已售与已排坐席</title>"));
        assert!(zh.contains(">已售</text>") && zh.contains(">已排</text>"), "the legend");
        assert_eq!(zh.matches("<strong>人手不足</strong>").count(), 4);
        assert!(zh.contains("今天没有人错过签到。"));
        assert!(zh.contains("data-pause=\"暂停更新\""));
        assert!(zh.contains("尚无薪资核算。"));

        // A bad number keeps the page with the default view and names the problem.
        let bad = browser.get(app.url("/admin/operations?days=40")).send().await.unwrap();
        assert_eq!(bad.status(), 422);
        let bad = bad.text().await.unwrap();
        assert!(bad.contains("Choose from 1 to 14 days."), "{bad}");
        assert!(bad.contains("<h2 id=\"coverage-heading\">"));

        // Shops and agents have no such page.
        let shop_browser = signed_in(&app, &shop.email).await;
        assert_eq!(shop_browser.get(app.url("/admin/operations")).send().await.unwrap().status(), 403);
        let agent = app.agent("Li").await;
        let agent_browser = signed_in(&app, &agent.email).await;
        assert_eq!(agent_browser.get(app.url("/admin/operations")).send().await.unwrap().status(), 403);
    }
}
