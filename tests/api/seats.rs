//! The seat marketplace: rules, quotes, holds, confirmation, cancellation, and no
//! overbooking under a rush. Fixture rules: see `helpers::write_fixture_rules`.

use chrono::Duration;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp, day, field_codes, problem};

fn request(skill: &str, from: i64, to: i64, hours: (i64, i64), seats: i64) -> Value {
    json!({
        "skill": skill,
        "start_date": day(from),
        "end_date": day(to),
        "daily_start_hour": hours.0,
        "daily_end_hour": hours.1,
        "seats": seats,
    })
}

async fn book(app: &TestApp, shop: &Session, body: &Value) -> reqwest::Response {
    app.post_as("/api/bookings", &shop.access, body).await
}

async fn sold(app: &TestApp, shop: &Session, skill: &str, from: i64, to: i64) -> Vec<i64> {
    let res: Value = app
        .get_as(
            &format!(
                "/api/capacity?skill={skill}&from={}&to={}",
                day(from),
                day(to)
            ),
            &shop.access,
        )
        .await
        .json()
        .await
        .unwrap();
    res["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sold"].as_i64().unwrap())
        .collect()
}

/// A paid booking of `peak_prev` for this shop, as if made last season (its dates are
/// past, so it cannot be booked through the API any more).
async fn historical_booking(app: &TestApp, shop: &Session) {
    use cloudseat::db::schema::bookings;
    use diesel::prelude::*;
    let merchant = shop.merchant_id();
    let account = shop.id();
    app.with_db(move |c| {
        let start = crate::helpers::market_today() - Duration::days(100);
        let now = chrono::Utc::now().naive_utc();
        diesel::insert_into(bookings::table)
            .values((
                bookings::id.eq(uuid::Uuid::now_v7().to_string()),
                bookings::merchant_id.eq(merchant),
                bookings::created_by.eq(account),
                bookings::skill.eq("general"),
                bookings::start_date.eq(start),
                bookings::end_date.eq(start + Duration::days(2)),
                bookings::daily_start_hour.eq(8),
                bookings::daily_end_hour.eq(12),
                bookings::time_zone.eq("Asia/Shanghai"),
                bookings::seats.eq(2),
                bookings::seat_hours.eq(24),
                bookings::status.eq("completed"),
                bookings::ruleset_version.eq("sha256:history"),
                bookings::period_id.eq("peak_prev"),
                bookings::quote.eq("{}"),
                bookings::total_fen.eq(126_000),
                bookings::starts_at.eq(now - Duration::days(100)),
                bookings::ends_at.eq(now - Duration::days(98)),
                bookings::created_at.eq(now - Duration::days(150)),
                bookings::updated_at.eq(now - Duration::days(98)),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

both_backends! {
    async fn the_rules_in_force_are_public(app) {
        let rules: Value = app.api.get(app.url("/api/seat-rules")).send().await.unwrap().json().await.unwrap();
        assert!(rules["version"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(rules["time_zone"], "Asia/Shanghai");
        let status = |id: &str| {
            rules["periods"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap()["status"].clone()
        };
        assert_eq!(status("peak_prev"), "past");
        assert_eq!(status("peak_open"), "open");
        assert_eq!(status("peak_next"), "priority");
        assert_eq!(rules["skills"][0]["id"], "general");
        assert_eq!(rules["skills"][0]["price_per_seat_hour_fen"], 3500);
    }

    async fn a_quote_explains_every_fen(app) {
        // 11 days x 16 h x 10 seats = 1,760 seat-hours in the open peak (1.5x); graduated
        // volume: the 1,260 seat-hours above 500 get 3%: 9,240,000 x 378,000 / 17,600,000.
        let res = app.post_json("/api/quotes", &request("general", 20, 30, (8, 24), 10)).await;
        assert_eq!(res.status(), 200);
        let q: Value = res.json().await.unwrap();
        assert_eq!(q["seat_hours"], 1760);
        let amounts: Vec<(String, i64)> = q["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["kind"].as_str().unwrap().to_owned(), l["amount_fen"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            amounts,
            [
                ("base".to_owned(), 6_160_000),
                ("peak_multiplier".to_owned(), 3_080_000),
                ("volume_discount".to_owned(), -198_450),
            ]
        );
        assert_eq!(q["total_fen"], 9_041_550);
        assert!(q["lines"][0]["label_zh"].as_str().unwrap().contains("通用"));
    }

    async fn hold_confirm_and_cancel_with_the_policys_refund(app) {
        let shop = app.merchant("Tea House").await;
        let res = book(&app, &shop, &request("general", 20, 30, (8, 24), 10)).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let held: Value = res.json().await.unwrap();
        assert_eq!(held["status"], "held");
        assert_eq!(held["period_id"], "peak_open");
        assert!(held["hold_expires_at"].is_string());
        assert_eq!(held["total_fen"], 9_041_550);
        let id = held["id"].as_str().unwrap().to_owned();
        app.smtp.wait_for(&shop.email, "Seats held").await;
        assert!(sold(&app, &shop, "general", 20, 20).await.iter().all(|s| *s == 10));

        let res = app.post_as(&format!("/api/bookings/{id}/confirm"), &shop.access, &json!({"paid_fen": 9_041_550})).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let confirmed: Value = res.json().await.unwrap();
        assert_eq!(confirmed["status"], "confirmed");
        assert!(confirmed["invoice_number"].as_str().unwrap().starts_with("CS-"));
        assert_eq!(confirmed["paid_fen"], 9_041_550);
        let detail: Value = app.get_as(&format!("/api/bookings/{id}"), &shop.access).await.json().await.unwrap();
        assert_eq!(detail["shifts"], 11 * 4 * 10, "one shift per seat per 4-hour block per day");
        let mail = app.smtp.wait_for(&shop.email, "Booking confirmed").await;
        assert!(mail.text.contains("Volume discount"), "{}", mail.text);
        assert!(mail.text.contains("90,415.50"));

        // 20 days ahead: the 14-day step refunds 80%.
        let res = app.post_as(&format!("/api/bookings/{id}/cancel"), &shop.access, &json!({})).await;
        assert_eq!(res.status(), 200);
        let cancelled: Value = res.json().await.unwrap();
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["refund_fen"], 7_233_240);
        app.smtp.wait_for(&shop.email, "Booking cancelled").await;
        assert!(sold(&app, &shop, "general", 20, 30).await.iter().all(|s| *s == 0), "seats go back on sale");
        let shifts_left: i64 = {
            use cloudseat::db::schema::shifts;
            use diesel::prelude::*;
            let id = id.clone();
            app.with_db(move |c| shifts::table.filter(shifts::booking_id.eq(id)).filter(shifts::status.ne("cancelled")).count().get_result(c).unwrap()).await
        };
        assert_eq!(shifts_left, 0);

        let again = app.post_as(&format!("/api/bookings/{id}/cancel"), &shop.access, &json!({})).await;
        problem(again, 409, "already_cancelled").await;

        // The story is in the lifecycle events.
        use cloudseat::db::schema::lifecycle_events;
        use diesel::prelude::*;
        let states: Vec<String> = app
            .with_db(move |c| {
                lifecycle_events::table
                    .filter(lifecycle_events::entity_id.eq(id))
                    .order(lifecycle_events::id.asc())
                    .select(lifecycle_events::to_state)
                    .load(c)
                    .unwrap()
            })
            .await;
        assert_eq!(states, ["held", "confirmed", "cancelled"]);
    }

    async fn two_hundred_shops_rushing_fifty_seats_never_overbook(app) {
        // 50 general seats an hour; 200 requests for 1 seat of the same hours at once.
        let shops: Vec<Session> = {
            let mut shops = Vec::new();
            for i in 0..10 {
                shops.push(app.merchant(&format!("Rush {i}")).await);
            }
            shops
        };
        let body = request("general", 21, 22, (8, 16), 1);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let client = app.api.clone();
            let url = app.url("/api/bookings");
            let token = shops[i % shops.len()].access.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }));
        }
        let mut won = 0;
        let mut refused = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                201 => won += 1,
                409 => {
                    assert_eq!(body["code"], "sold_out", "{body}");
                    let full = body["full_hours"].as_array().unwrap();
                    assert_eq!(full.len(), 16, "every requested hour is full: {body}");
                    assert_eq!(full[0]["seats_left"], 0);
                    refused += 1;
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(won, 50);
        assert_eq!(refused, 150);
        // Exactly the 16 booked hours (08-16 on two days) are sold out; nothing else moved.
        let sold_per_hour = sold(&app, &shops[0], "general", 21, 22).await;
        assert_eq!(sold_per_hour.iter().filter(|s| **s == 50).count(), 16, "{sold_per_hour:?}");
        assert!(sold_per_hour.iter().all(|s| *s == 50 || *s == 0), "{sold_per_hour:?}");
        assert_eq!(app.count("bookings").await, 50);
    }

    async fn an_expired_hold_gives_its_seats_back(app) {
        let shop = app.merchant("Slow Payer").await;
        let held: Value = book(&app, &shop, &request("general", 23, 23, (8, 12), 50)).await.json().await.unwrap();
        let id = held["id"].as_str().unwrap().to_owned();
        let other = app.merchant("Waiting Shop").await;
        let res = book(&app, &other, &request("general", 23, 23, (8, 12), 1)).await;
        problem(res, 409, "sold_out").await;

        app.clock.advance(Duration::minutes(16));
        // The next booking does not wait for housekeeping: expired holds go first.
        let res = book(&app, &other, &request("general", 23, 23, (8, 12), 1)).await;
        assert_eq!(res.status(), 201);
        let late = app.post_as(&format!("/api/bookings/{id}/confirm"), &shop.access, &json!({})).await;
        problem(late, 409, "hold_expired").await;
        let detail: Value = app.get_as(&format!("/api/bookings/{id}"), &shop.access).await.json().await.unwrap();
        assert_eq!(detail["status"], "cancelled");
        assert_eq!(detail["cancel_reason"], "hold_expired");
    }

    async fn housekeeping_releases_holds_on_its_own(app) {
        let shop = app.merchant("Forgetful Shop").await;
        book(&app, &shop, &request("pre_sale", 24, 24, (8, 12), 5)).await;
        assert!(sold(&app, &shop, "pre_sale", 24, 24).await.contains(&5));
        app.clock.advance(Duration::minutes(16));
        for _ in 0..100 {
            if sold(&app, &shop, "pre_sale", 24, 24).await.iter().all(|s| *s == 0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the expired hold was not released by housekeeping");
    }

    async fn peaks_open_on_their_date_and_earlier_for_renewing_shops(app) {
        let newcomer = app.merchant("Newcomer").await;
        let res = book(&app, &newcomer, &request("general", 100, 101, (8, 12), 1)).await;
        let body = problem(res, 409, "booking_not_open").await;
        assert_eq!(body["opens_on"], day(40));
        assert_eq!(body["period_id"], "peak_next");

        let regular = app.merchant("Regular").await;
        historical_booking(&app, &regular).await;
        let res = book(&app, &regular, &request("general", 100, 101, (8, 12), 1)).await;
        assert_eq!(res.status(), 201, "a shop that booked the previous peak renews early");

        // Off-peak dates open 60 days ahead; day 200 is beyond every published date.
        let res = book(&app, &newcomer, &request("general", 200, 201, (8, 12), 1)).await;
        problem(res, 409, "booking_not_open").await;
        let res = book(&app, &newcomer, &request("general", 0, 1, (8, 12), 1)).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("start_date".to_owned(), "in_the_past".to_owned())]);
    }

    async fn renewing_shops_are_told_the_day_before_their_window_opens(app) {
        let regular = app.merchant("Loyal Shop").await;
        historical_booking(&app, &regular).await;
        // `peak_soon`'s renewal window opens tomorrow; housekeeping runs every second here.
        let mail = app.smtp.wait_for(&regular.email, "renewal window opens tomorrow").await;
        assert!(mail.subject.contains("Soon peak"));
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let notices = app.smtp.all().into_iter().filter(|m| m.subject.contains("renewal window")).count();
        assert_eq!(notices, 1, "sent once, not on every pass");
    }

    async fn bad_booking_requests_name_their_field(app) {
        let shop = app.merchant("Careful Shop").await;
        let cases = [
            (request("general", 25, 21, (8, 12), 1), "end_date", "dates_reversed"),
            (request("general", 21, 22, (8, 12), 0), "seats", "out_of_range"),
            (request("general", 21, 22, (8, 12), -3), "seats", "out_of_range"),
            (request("general", 21, 22, (8, 12), 1_000_000_000), "seats", "out_of_range"),
            (request("general", 21, 22, (6, 12), 1), "daily_start_hour", "outside_bookable_hours"),
            (request("general", 21, 22, (9, 12), 1), "daily_start_hour", "not_aligned"),
            (request("general", 21, 22, (12, 12), 1), "daily_end_hour", "hours_reversed"),
            (request("telepathy", 21, 22, (8, 12), 1), "skill", "unknown_skill"),
        ];
        for (body, field, code) in cases {
            let res = book(&app, &shop, &body).await;
            let problem_body = problem(res, 422, "validation_failed").await;
            assert!(
                field_codes(&problem_body).contains(&(field.to_owned(), code.to_owned())),
                "{body} -> {problem_body}"
            );
        }
        let mut for_someone_else = request("general", 21, 22, (8, 12), 1);
        for_someone_else["merchant_id"] = json!("00000000-0000-7000-8000-000000000000");
        let body = problem(book(&app, &shop, &for_someone_else).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("merchant_id".to_owned(), "unknown_field".to_owned())]);
        let mut fractional = request("general", 21, 22, (8, 12), 1);
        fractional["seats"] = json!(1.5);
        problem(book(&app, &shop, &fractional).await, 422, "validation_failed").await;
        assert_eq!(app.count("bookings").await, 0);
        assert_eq!(app.count("seat_inventory").await, 0, "nothing half-written");
    }

    async fn money_is_whole_fen_and_must_match(app) {
        let shop = app.merchant("Exact Shop").await;
        let held: Value = book(&app, &shop, &request("general", 21, 21, (8, 12), 1)).await.json().await.unwrap();
        let id = held["id"].as_str().unwrap();
        let res = app.post_as(&format!("/api/bookings/{id}/confirm"), &shop.access, &json!({"paid_fen": 21000.5})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body)[0].0, "paid_fen");
        let res = app.post_as(&format!("/api/bookings/{id}/confirm"), &shop.access, &json!({"paid_fen": 1})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("paid_fen".to_owned(), "amount_mismatch".to_owned())]);
        let res = app.post_as(&format!("/api/bookings/{id}/confirm"), &shop.access, &json!({"paid_fen": held["total_fen"]})).await;
        assert_eq!(res.status(), 200);
    }

    async fn shops_cannot_touch_each_others_bookings(app) {
        let a = app.merchant("Shop A").await;
        let b = app.merchant("Shop B").await;
        let held: Value = book(&app, &a, &request("general", 21, 21, (8, 12), 1)).await.json().await.unwrap();
        let id = held["id"].as_str().unwrap();
        problem(app.get_as(&format!("/api/bookings/{id}"), &b.access).await, 404, "not_found").await;
        problem(app.post_as(&format!("/api/bookings/{id}/confirm"), &b.access, &json!({})).await, 404, "not_found").await;
        problem(app.post_as(&format!("/api/bookings/{id}/cancel"), &b.access, &json!({})).await, 404, "not_found").await;
        let list: Value = app.get_as("/api/bookings", &b.access).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        let list: Value = app.get_as("/api/bookings", &a.access).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let admin = app.admin().await;
        let list: Value = app.get_as(&format!("/api/bookings?merchant_id={}", a.merchant_id()), &admin.access).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }

    async fn rules_reload_without_restart_and_bookings_keep_their_version(app) {
        let admin = app.admin().await;
        let shop = app.merchant("Versioned Shop").await;
        let first: Value = book(&app, &shop, &request("general", 21, 21, (8, 12), 1)).await.json().await.unwrap();
        let old_version = first["ruleset_version"].as_str().unwrap().to_owned();

        let skills = app.data_dir.path().join("seat-rules/skills.toml");
        let text = std::fs::read_to_string(&skills).unwrap();
        std::fs::write(&skills, text.replace("price_per_seat_hour_fen = 3500", "price_per_seat_hour_fen = 3600")).unwrap();
        let res = app.post_as("/api/admin/seat-rules/reload", &admin.access, &json!({})).await;
        assert_eq!(res.status(), 200);
        let rules: Value = res.json().await.unwrap();
        assert_ne!(rules["version"], old_version);
        let q: Value = app.post_json("/api/quotes", &request("general", 21, 21, (8, 12), 1)).await.json().await.unwrap();
        assert_eq!(q["lines"][0]["unit_fen"], 3600);
        let kept: Value = app.get_as(&format!("/api/bookings/{}", first["id"].as_str().unwrap()), &shop.access).await.json().await.unwrap();
        assert_eq!(kept["ruleset_version"], old_version);
        assert_eq!(kept["quote"]["lines"][0]["unit_fen"], 3500);

        // A broken file is refused with file and line; the rules in force stay.
        std::fs::write(&skills, "[[skill]]\nid = \"general\"\nprice_per_seat_hour_fen = -5\n").unwrap();
        let res = app.post_as("/api/admin/seat-rules/reload", &admin.access, &json!({})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert!(body["errors"][0]["field"].as_str().unwrap().contains("skills.toml"), "{body}");
        let now: Value = app.api.get(app.url("/api/seat-rules")).send().await.unwrap().json().await.unwrap();
        assert_eq!(now["version"], rules["version"]);
    }

    async fn the_staffing_estimator_is_open_to_everyone(app) {
        let res = app
            .post_json("/api/estimates/staffing", &json!({"contacts_per_hour": 1200, "aht_seconds": 240, "target_percent": 80, "target_seconds": 30}))
            .await;
        assert_eq!(res.status(), 200);
        let e: Value = res.json().await.unwrap();
        assert!(e["seats_needed"].as_u64().unwrap() > 80);
        let bad = app
            .post_json("/api/estimates/staffing", &json!({"contacts_per_hour": -1, "aht_seconds": 240, "target_percent": 120, "target_seconds": 30}))
            .await;
        let body = problem(bad, 422, "validation_failed").await;
        let fields: Vec<String> = field_codes(&body).into_iter().map(|f| f.0).collect();
        assert!(fields.contains(&"contacts_per_hour".to_owned()) && fields.contains(&"target_percent".to_owned()), "{body}");
    }
}
