//! Mail leaves through the transactional outbox: nothing is lost when the SMTP server is
//! down or the process restarts, failures are visible to admins, and text is UTF-8.

use std::time::Duration;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, SmtpSink, TestApp, spawn_app_with, start, test_settings};

/// A port nothing listens on.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn outbox_row(app: &TestApp) -> (String, i32, Option<String>) {
    use cloudseat::db::schema::outbox;
    use diesel::prelude::*;
    app.with_db(|c| {
        outbox::table
            .select((outbox::status, outbox::attempts, outbox::last_error))
            .first::<(String, i32, Option<String>)>(c)
            .unwrap()
    })
    .await
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Restarts the service on the same database with a working SMTP listener.
async fn restart_with_smtp(app: TestApp) -> TestApp {
    app.handle.stop(true).await;
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(crate::helpers::Backend::Sqlite, dir.path(), smtp.port);
    settings.database_url = Some(secrecy::SecretString::from(app.db_url.clone()));
    start(app.backend, settings, smtp, dir).await
}

mod outage {
    use super::*;
    use crate::helpers::Backend;

    async fn run(backend: Backend) {
        let down = spawn_app_with_backend_dead_smtp(backend, 8).await;
        let email = down.unique_email("patient");
        down.register_agent(&email, "Patient").await;
        wait_until("a failed attempt", || async {
            outbox_row(&down).await.1 >= 1
        })
        .await;
        let (status, _, error) = outbox_row(&down).await;
        assert_eq!(status, "pending");
        assert!(error.is_some());

        let up = restart_with_smtp(down).await;
        let mail = up.smtp.wait_for(&email, "Confirm your email").await;
        assert!(mail.token().len() > 20);
        wait_until("the row marked sent", || async {
            outbox_row(&up).await.0 == "sent"
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mail_waits_out_an_smtp_outage_and_a_restart_sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mail_waits_out_an_smtp_outage_and_a_restart_postgres() {
        run(Backend::Postgres).await
    }
}

async fn spawn_app_with_backend_dead_smtp(
    backend: crate::helpers::Backend,
    max_attempts: i32,
) -> TestApp {
    let port = dead_port();
    spawn_app_with(backend, move |s| {
        s.mail.smtp.port = port;
        s.mail.max_attempts = max_attempts;
    })
    .await
}

mod failed_mail {
    use super::*;
    use crate::helpers::{Backend, problem};

    async fn run(backend: Backend) {
        let down = spawn_app_with_backend_dead_smtp(backend, 1).await;
        let admin = down.admin().await;
        let email = down.unique_email("unlucky");
        down.register_agent(&email, "Unlucky").await;
        wait_until("the mail to fail for good", || async {
            outbox_row(&down).await.0 == "failed"
        })
        .await;

        let failed: Value = down
            .get_as("/api/admin/outbox?status=failed", &admin.access)
            .await
            .json()
            .await
            .unwrap();
        let item = &failed["items"][0];
        assert_eq!(item["recipient"], email);
        assert_eq!(item["attempts"], 1);
        assert!(item["last_error"].as_str().unwrap().len() > 3);
        assert!(
            item.get("body_text").is_none(),
            "bodies hold one-time links; admins see metadata only"
        );
        let id = item["id"].as_str().unwrap().to_owned();

        // Once failed it stays failed: a restart does not resend it on its own.
        let up = restart_with_smtp(down).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(up.smtp.all().is_empty());

        let admin = up.session(&admin.email).await;
        let res = up
            .post_as(
                &format!("/api/admin/outbox/{id}/retry"),
                &admin.access,
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), 200);
        up.smtp.wait_for(&email, "Confirm your email").await;
        wait_until("sent", || async { outbox_row(&up).await.0 == "sent" }).await;
        let again = up
            .post_as(
                &format!("/api/admin/outbox/{id}/retry"),
                &admin.access,
                &json!({}),
            )
            .await;
        problem(again, 409, "not_failed").await;
        let missing = up
            .post_as(
                "/api/admin/outbox/00000000-0000-7000-8000-000000000000/retry",
                &admin.access,
                &json!({}),
            )
            .await;
        problem(missing, 404, "not_found").await;

        let audit: Value = up
            .get_as("/api/admin/audit-log", &admin.access)
            .await
            .json()
            .await
            .unwrap();
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"outbox.retried"), "{actions:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn is_shown_to_admins_and_can_be_retried_sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn is_shown_to_admins_and_can_be_retried_postgres() {
        run(Backend::Postgres).await
    }
}

both_backends! {
    async fn chinese_mail_has_a_utf8_subject_and_both_parts(app) {
        let email = app.unique_email("wangfang");
        let res = app
            .post_json(
                "/api/auth/register",
                &json!({"role": "agent", "email": email, "password": PASSWORD, "display_name": "王芳", "locale": "zh-CN"}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let mail = app.smtp.wait_for(&email, "邮箱").await;
        assert_eq!(mail.subject, "请确认您的云席邮箱地址");
        assert!(mail.text.contains("王芳，您好"), "{}", mail.text);
        assert!(mail.html.contains("lang=\"zh-CN\""));
        assert!(mail.html.contains("王芳"));
        let raw = String::from_utf8_lossy(&mail.raw);
        assert!(raw.contains("multipart/alternative"));
    }

    async fn admins_and_staff_are_invited_by_mail(app) {
        let admin = app.admin().await;
        let shop = app.merchant("Invite Shop").await;
        let staff_email = app.unique_email("newstaff");
        let res = app
            .post_as(
                &format!("/api/merchants/{}/staff", shop.merchant_id()),
                &shop.access,
                &json!({"email": staff_email, "display_name": "New Staff"}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let invite = app.smtp.wait_for(&staff_email, "Invite Shop").await;
        let token = invite.token();
        let res = app
            .post_json("/api/auth/password-reset/confirm", &json!({"token": token, "new_password": "saffron-window-meadow-5"}))
            .await;
        assert_eq!(res.status(), 204);
        let login: Value = app.login(&staff_email, "saffron-window-meadow-5").await.json().await.unwrap();
        assert_eq!(login["account"]["merchant"]["id"], shop.merchant_id());
        assert_eq!(login["account"]["email_verified"], true);

        let admin_email = app.unique_email("second.admin");
        let res = app
            .post_as("/api/admin/admins", &admin.access, &json!({"email": admin_email, "display_name": "Second"}))
            .await;
        assert_eq!(res.status(), 201);
        app.smtp.wait_for(&admin_email, "administrator").await;
        let audit: Value = app.get_as("/api/admin/audit-log", &admin.access).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"admin.invited") && actions.contains(&"staff.invited"), "{actions:?}");
    }
}
