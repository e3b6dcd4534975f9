//! The seat marketplace pages, driven like a browser without JavaScript.

use reqwest::StatusCode;

use crate::helpers::{Backend, csrf_of, day, signed_in, spawn_app};

#[tokio::test]
async fn the_calendar_and_estimator_are_public_and_bilingual() {
    let app = spawn_app(Backend::Sqlite).await;
    let html = app
        .api
        .get(app.url("/seats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Open peak"));
    assert!(html.contains("Open for booking"));
    assert!(html.contains("1.50x"));
    assert!(
        html.contains("<caption>"),
        "months are tables with captions"
    );
    let zh = app
        .api
        .get(app.url("/seats"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("大促日历") && zh.contains("开放大促"));

    let est = app
        .api
        .get(app.url("/seats/estimate?contacts_per_hour=1200&aht_seconds=240&concurrency=1&target_percent=80&target_seconds=30"))
        .send()
        .await
        .unwrap();
    assert_eq!(est.status(), 200);
    let html = est.text().await.unwrap();
    let re = regex::Regex::new(
        r"For 1200 chats an hour at 4 minutes, 80% answered in 30 s, you need (\d+) seats",
    )
    .unwrap();
    let seats: u32 = re.captures(&html).expect("the sentence")[1]
        .parse()
        .unwrap();
    assert!((80..=100).contains(&seats), "{seats}");
    let bad = app.api.get(app.url("/seats/estimate?contacts_per_hour=lots&aht_seconds=240&target_percent=80&target_seconds=30")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_shop_books_confirms_and_cancels_through_the_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("page.shop");
    app.register_merchant(&email, "Page Shop").await;
    let b = signed_in(&app, &email).await;
    let form = b
        .get(app.url("/seats/book"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("data-quote"));
    let csrf = csrf_of(&form);
    let fields = |seats: &str| {
        vec![
            ("skill".to_owned(), "general".to_owned()),
            ("start_date".to_owned(), day(22)),
            ("end_date".to_owned(), day(23)),
            ("daily_start_hour".to_owned(), "8".to_owned()),
            ("daily_end_hour".to_owned(), "16".to_owned()),
            ("seats".to_owned(), seats.to_owned()),
            ("csrf_token".to_owned(), csrf.clone()),
        ]
    };
    // Too many seats: the form comes back with the field's problem and what was typed.
    let res = b
        .post(app.url("/seats/book"))
        .form(&fields("900"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r##"href="#seats""##) && html.contains(r#"value="900""#));

    let res = b
        .post(app.url("/seats/book"))
        .form(&fields("5"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let page = b
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The seats are held"));
    assert!(page.contains("Confirm booking"));

    let id = location
        .trim_start_matches("/seats/bookings/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let res = b
        .post(app.url(&format!("/seats/bookings/{id}/confirm")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("payment_reference", "WX-2026-0001"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = b
        .get(app.url(&format!("/seats/bookings/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The booking is confirmed") || page.contains("confirmed"));
    assert!(page.contains("CS-"), "the invoice number is shown");
    assert!(
        page.contains("refunds ¥"),
        "the cancel form states the refund first"
    );

    let list = b
        .get(app.url("/seats/bookings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&day(22)));

    let res = b
        .post(app.url(&format!("/seats/bookings/{id}/cancel")))
        .form(&[("csrf_token", csrf.as_str()), ("understood", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = b
        .get(app.url(&format!("/seats/bookings/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The booking is cancelled") || page.contains("cancelled"));

    // Another shop cannot open it.
    let other = app.unique_email("other.shop");
    app.register_merchant(&other, "Other Shop").await;
    let o = signed_in(&app, &other).await;
    let res = o
        .get(app.url(&format!("/seats/bookings/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn page_scripts_may_call_the_api_with_the_session_cookie_and_the_csrf_header() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("script");
    app.register_merchant(&email, "Script Shop").await;
    let b = signed_in(&app, &email).await;
    let html = b
        .get(app.url("/seats/book"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let without = b.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(
        without.status(),
        StatusCode::FORBIDDEN,
        "a cookie alone is not enough"
    );
    let with = b
        .get(app.url("/api/me"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_admin_heat_map_shows_sold_seats_and_is_admins_only() {
    let app = spawn_app(Backend::Sqlite).await;
    let shop = app.merchant("Heat Shop").await;
    let res = app
        .post_as(
            "/api/bookings",
            &shop.access,
            &serde_json::json!({"skill": "general", "start_date": day(21), "end_date": day(21), "daily_start_hour": 8, "daily_end_hour": 12, "seats": 7}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let admin = app.admin().await;
    let a = signed_in(&app, &admin.email).await;
    let html = a
        .get(app.url(&format!("/admin/seats?skill=general&from={}", day(21))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("7/50"), "sold / total per hour");
    assert!(html.contains("0/50"));
    let list = a
        .get(app.url("/admin/bookings?status=held"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&day(21)));

    let s = signed_in(&app, &shop.email).await;
    assert_eq!(
        s.get(app.url("/admin/seats"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let anon = app.api.get(app.url("/seats/book")).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
}
