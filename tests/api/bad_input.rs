//! Every way a request body can be wrong gets a problem response naming the field, and
//! nothing half-written stays behind.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, field_codes, problem};

both_backends! {
    async fn malformed_json_is_a_400_problem(app) {
        let res = app
            .api
            .post(app.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body("{\"role\": \"agent\", \"email\": ")
            .send()
            .await
            .unwrap();
        let body = problem(res, 400, "malformed_json").await;
        assert!(body["detail"].as_str().unwrap().contains("line 1"));
        assert!(body["request_id"].is_string());
    }

    async fn wrong_types_name_the_field(app) {
        let res = app
            .post_json("/api/auth/register", &json!({"role": "agent", "email": 42, "password": PASSWORD, "display_name": "x"}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("email".to_owned(), "invalid_type".to_owned())]);

        let res = app
            .post_json("/api/auth/register", &json!({"role": "superuser", "email": "a@b.cn", "password": PASSWORD, "display_name": "x"}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body)[0].0, "role");
    }

    async fn unknown_and_missing_fields_are_named(app) {
        let res = app
            .post_json("/api/auth/login", &json!({"email": "a@b.cn", "password": "x", "admin": true}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("admin".to_owned(), "unknown_field".to_owned())]);
        let res = app.post_json("/api/auth/login", &json!({"email": "a@b.cn"})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("password".to_owned(), "required".to_owned())]);
    }

    async fn a_ten_megabyte_body_is_refused_unread(app) {
        let huge = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(10 * 1024 * 1024));
        let res = app
            .api
            .post(app.url("/api/auth/login"))
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap();
        problem(res, 413, "payload_too_large").await;
    }

    async fn bodies_must_be_json(app) {
        let res = app
            .api
            .post(app.url("/api/auth/login"))
            .header("content-type", "text/plain")
            .body("email=a")
            .send()
            .await
            .unwrap();
        problem(res, 415, "unsupported_media_type").await;
    }

    async fn every_bad_field_is_reported_at_once(app) {
        let res = app
            .post_json(
                "/api/auth/register",
                &json!({"role": "merchant", "email": "not-an-email", "password": "short", "display_name": "", "merchant_name": "x".repeat(10_000), "time_zone": "Mars/Base"}),
            )
            .await;
        let body = problem(res, 422, "validation_failed").await;
        let codes = field_codes(&body);
        for expected in [
            ("email", "invalid_email"),
            ("display_name", "required"),
            ("merchant_name", "too_long"),
            ("time_zone", "invalid_time_zone"),
            ("password", "too_short"),
        ] {
            assert!(codes.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} missing from {codes:?}");
        }
        assert_eq!(app.count("accounts").await, 0);
        assert_eq!(app.count("merchants").await, 0);
    }

    async fn ten_thousand_character_names_are_refused(app) {
        let res = app
            .post_json(
                "/api/auth/register",
                &json!({"role": "agent", "email": app.unique_email("long"), "password": PASSWORD, "display_name": "名".repeat(10_000)}),
            )
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("display_name".to_owned(), "too_long".to_owned())]);
    }

    async fn sql_and_html_in_names_are_stored_as_typed(app) {
        let name = "Robert'); DROP TABLE accounts;-- <script>alert(1)</script>";
        let shop = "<b>Tom & Jerry's</b> \"Shop\"";
        let email = app.unique_email("bobby");
        let res = app
            .post_json(
                "/api/auth/register",
                &json!({"role": "merchant", "email": email, "password": PASSWORD, "display_name": name, "merchant_name": shop}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let session = app.session(&email).await;
        let me: Value = app.get_as("/api/me", &session.access).await.json().await.unwrap();
        assert_eq!(me["display_name"], name);
        assert_eq!(me["merchant"]["name"], shop);
        assert_eq!(app.count("accounts").await, 1, "the table is still there");
    }

    async fn a_registration_race_leaves_exactly_one_shop(app) {
        // Ten shops register the same address at once: one wins; the losers' merchant rows,
        // written in the same transaction, must not survive.
        let email = app.unique_email("race");
        let mut tasks = Vec::new();
        for i in 0..10 {
            let client = app.api.clone();
            let url = app.url("/api/auth/register");
            let body = json!({"role": "merchant", "email": email, "password": PASSWORD, "display_name": "Racer", "merchant_name": format!("Shop {i}")});
            tasks.push(tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status().as_u16() }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 201 || *s == 422), "{statuses:?}");
        assert_eq!(app.count("accounts").await, 1);
        assert_eq!(app.count("merchants").await, 1);
    }

    async fn bad_pagination_is_a_field_error(app) {
        let admin = app.admin().await;
        for (query, field) in [("limit=0", "limit"), ("limit=1000", "limit"), ("limit=abc", "query"), ("cursor=%27%20OR%201%3D1", "cursor")] {
            let res = app.get_as(&format!("/api/admin/audit-log?{query}"), &admin.access).await;
            let body = problem(res, 422, "validation_failed").await;
            assert_eq!(field_codes(&body)[0].0, field, "{query}");
        }
    }
}
