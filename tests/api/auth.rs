use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, problem};

both_backends! {
    async fn agent_registers_confirms_email_and_signs_in(app) {
        let email = app.unique_email("wang.fang");
        let registered = app.register_agent(&email, "Wang Fang").await;
        assert_eq!(registered["verification_sent"], true);
        assert_eq!(registered["account"]["agent_status"], "applicant");
        assert_eq!(registered["account"]["email_verified"], false);

        let mail = app.smtp.wait_for(&email, "Confirm your email").await;
        assert!(mail.html.contains("Wang Fang"));
        let token = mail.token();
        let res = app.post_json("/api/auth/verify-email", &json!({"token": token})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let verified: Value = res.json().await.unwrap();
        assert_eq!(verified["email_verified"], true);

        // A mailed link works once.
        let again = app.post_json("/api/auth/verify-email", &json!({"token": token})).await;
        problem(again, 422, "validation_failed").await;

        let session = app.session(&email).await;
        let me: Value = app.get_as("/api/me", &session.access).await.json().await.unwrap();
        assert_eq!(me["email"], email);
        assert_eq!(me["role"], "agent");
        assert_eq!(me["email_verified"], true);
        assert!(me["merchant"].is_null());

        // Registration is a lifecycle event of the agent.
        assert_eq!(app.count("lifecycle_events").await, 1);
    }

    async fn merchant_registration_creates_the_shop_and_its_first_login(app) {
        let email = app.unique_email("owner");
        let res = app.register_merchant(&email, "Jade Garden Tea 茶语轩").await;
        assert_eq!(res["account"]["role"], "merchant_staff");
        assert_eq!(res["account"]["merchant"]["name"], "Jade Garden Tea 茶语轩");
        let session = app.session(&email).await;
        let shop: Value = app
            .get_as(&format!("/api/merchants/{}", session.merchant_id()), &session.access)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shop["name"], "Jade Garden Tea 茶语轩");
    }

    async fn emails_are_unique_whatever_their_case(app) {
        let email = app.unique_email("dup");
        app.register_agent(&email, "First").await;
        let res = app
            .post_json(
                "/api/auth/register",
                &json!({"role": "agent", "email": email.to_uppercase(), "password": PASSWORD, "display_name": "Second"}),
            )
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "email");
        assert_eq!(body["errors"][0]["code"], "email_taken");
    }

    async fn wrong_password_and_unknown_email_look_the_same(app) {
        let email = app.unique_email("li");
        app.register_agent(&email, "Li").await;
        let wrong = problem(app.login(&email, "not-the-password-at-all").await, 401, "invalid_credentials").await;
        let unknown = problem(app.login("nobody@example.com", PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(wrong["title"], unknown["title"]);
        assert_eq!(wrong["detail"], unknown["detail"]);
    }

    async fn refresh_tokens_rotate_and_reuse_revokes_the_session(app) {
        let session = app.agent("rotator").await;
        let res = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let rotated: Value = res.json().await.unwrap();
        let second = rotated["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second, session.refresh);
        let me = app.get_as("/api/me", rotated["access_token"].as_str().unwrap()).await;
        assert_eq!(me.status(), StatusCode::OK);

        // The spent token is presented again: someone copied it. The whole family dies.
        let reuse = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh})).await;
        problem(reuse, 401, "refresh_token_reused").await;
        let after = app.post_json("/api/auth/refresh", &json!({"refresh_token": second})).await;
        problem(after, 401, "invalid_refresh_token").await;

        // A new sign-in starts a new, healthy family.
        let fresh = app.session(&session.email).await;
        let ok = app.post_json("/api/auth/refresh", &json!({"refresh_token": fresh.refresh})).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }

    async fn logout_revokes_the_refresh_token(app) {
        let session = app.agent("leaver").await;
        let res = app.post_json("/api/auth/logout", &json!({"refresh_token": session.refresh})).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let again = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh})).await;
        problem(again, 401, "invalid_refresh_token").await;
        // Logging out twice is fine.
        let twice = app.post_json("/api/auth/logout", &json!({"refresh_token": session.refresh})).await;
        assert_eq!(twice.status(), StatusCode::NO_CONTENT);
    }

    async fn password_reset_by_mailed_link_signs_out_everywhere(app) {
        let session = app.agent("forgetful").await;
        let res = app.post_json("/api/auth/password-reset", &json!({"email": session.email})).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let mail = app.smtp.wait_for(&session.email, "Reset your").await;
        let token = mail.token();

        // A weak new password is refused and the link stays usable.
        let weak = app
            .post_json("/api/auth/password-reset/confirm", &json!({"token": token, "new_password": "password123"}))
            .await;
        let body = problem(weak, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "new_password");
        assert_eq!(body["errors"][0]["code"], "too_common");

        let new_password = "amber-kettle-orchard-77";
        let ok = app
            .post_json("/api/auth/password-reset/confirm", &json!({"token": token, "new_password": new_password}))
            .await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        app.smtp.wait_for(&session.email, "was changed").await;

        problem(app.login(&session.email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(app.login(&session.email, new_password).await.status(), StatusCode::OK);
        let old = app.post_json("/api/auth/refresh", &json!({"refresh_token": session.refresh})).await;
        problem(old, 401, "invalid_refresh_token").await;
        let reused = app
            .post_json("/api/auth/password-reset/confirm", &json!({"token": token, "new_password": "another-fine-phrase-88"}))
            .await;
        problem(reused, 422, "validation_failed").await;
    }

    async fn password_reset_for_an_unknown_address_says_the_same_and_mails_nothing(app) {
        let res = app.post_json("/api/auth/password-reset", &json!({"email": "ghost@example.com"})).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(app.count("outbox").await, 0);
    }

    async fn fifty_rapid_failed_logins_are_throttled(app) {
        let email = app.unique_email("target");
        app.register_agent(&email, "Target").await;
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..50 {
            let res = app.login(&email, "wrong-password-guess").await;
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            }
            statuses.push(res.status().as_u16());
        }
        assert_eq!(&statuses[..5], &[401; 5], "five tries before the lock");
        assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
        assert!(retry_after.unwrap() >= 1);
        // While locked even the right password is refused.
        problem(app.login(&email, PASSWORD).await, 429, "too_many_requests").await;
    }

    async fn many_accounts_from_one_address_are_throttled_too(app) {
        let mut last = 0;
        for i in 0..31 {
            let res = app.login(&format!("guess{i}@example.com"), "wrong-password-guess").await;
            last = res.status().as_u16();
        }
        assert_eq!(last, 429, "the 31st failure from one IP is throttled");
    }
}

mod tokens {
    use super::*;
    use crate::helpers::{Backend, JWT_SECRET, spawn_app};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[tokio::test]
    async fn bad_access_tokens_are_refused_with_the_reason() {
        let app = spawn_app(Backend::Sqlite).await;
        let session = app.agent("holder").await;

        problem(
            app.api.get(app.url("/api/me")).send().await.unwrap(),
            401,
            "missing_credentials",
        )
        .await;
        problem(
            app.get_as("/api/me", "not.a.jwt").await,
            401,
            "invalid_token",
        )
        .await;

        // Signed with our key but expired.
        let keys = cloudseat::auth::jwt::JwtKeys::new(
            JWT_SECRET.as_bytes(),
            chrono::Duration::minutes(-5),
        );
        let id = cloudseat::accounts::model::AccountId(session.id());
        let expired = keys
            .issue(&id, cloudseat::accounts::model::Role::Agent, None)
            .unwrap();
        problem(app.get_as("/api/me", &expired).await, 401, "token_expired").await;

        // Payload edited to claim admin.
        let parts: Vec<&str> = session.access.split('.').collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let forged = URL_SAFE_NO_PAD.encode(payload.replace("\"agent\"", "\"admin\""));
        let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
        problem(app.get_as("/api/me", &tampered).await, 401, "invalid_token").await;
        problem(
            app.get_as("/api/admin/outbox", &tampered).await,
            401,
            "invalid_token",
        )
        .await;

        // alg: none, unsigned.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!(
            "{header}.{}.",
            URL_SAFE_NO_PAD.encode(payload.replace("\"agent\"", "\"admin\""))
        );
        problem(app.get_as("/api/me", &unsigned).await, 401, "invalid_token").await;

        // Signed with another key.
        let other = cloudseat::auth::jwt::JwtKeys::new(
            b"some-other-secret-some-other-secret",
            chrono::Duration::minutes(5),
        );
        let foreign = other
            .issue(&id, cloudseat::accounts::model::Role::Admin, None)
            .unwrap();
        problem(app.get_as("/api/me", &foreign).await, 401, "invalid_token").await;
    }
}
