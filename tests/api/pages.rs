//! The server-rendered pages: sessions in cookies, CSRF on every form, escaping, languages.

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, browser, csrf_of, signed_in, spawn_app};

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    async fn signing_in_and_out_through_the_pages(app) {
        let email = app.unique_email("page.user");
        app.register_agent(&email, "Page User").await;
        let b = browser();
        let form = b.get(app.url("/sign-in")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_of(&form);

        // A forged form (no or wrong token) is refused and signs nobody in.
        let forged = b
            .post(app.url("/sign-in"))
            .form(&[("email", email.as_str()), ("password", PASSWORD), ("csrf_token", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(forged.text().await.unwrap().contains("This form expired"));

        let res = b
            .post(app.url("/sign-in"))
            .form(&[("email", email.as_str()), ("password", PASSWORD), ("csrf_token", csrf.as_str()), ("next", "/home")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/home");
        let cookies = set_cookies(&res);
        let access = cookies.iter().find(|c| c.starts_with("cs_access=")).expect("access cookie");
        assert!(access.contains("HttpOnly") && access.contains("SameSite=Lax"), "{access}");

        let home = b.get(app.url("/home")).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert!(html.contains("Welcome, Page User"));
        assert!(html.contains("Applicant"));

        let csrf = csrf_of(&html);
        let out = b.post(app.url("/sign-out")).form(&[("csrf_token", csrf.as_str())]).send().await.unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let after = b.get(app.url("/home")).send().await.unwrap();
        assert_eq!(after.status(), StatusCode::SEE_OTHER);
        assert!(after.headers()["location"].to_str().unwrap().starts_with("/sign-in"));
    }
}

#[tokio::test]
async fn wrong_password_on_the_page_says_so_and_keeps_the_email() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = browser();
    let form = b
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = b
        .post(app.url("/sign-in"))
        .form(&[
            ("email", "who@example.com"),
            ("password", "nope-nope-nope"),
            ("csrf_token", &csrf_of(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(html.contains("The email or password is not right."));
    assert!(html.contains(r#"value="who@example.com""#));
}

#[tokio::test]
async fn an_expired_access_cookie_is_renewed_from_the_refresh_cookie() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("long.session");
    app.register_agent(&email, "Long Session").await;
    let session = app.session(&email).await;
    // A browser whose access cookie has expired still holds its refresh cookie.
    let res = app
        .api
        .get(app.url("/home"))
        .header("cookie", format!("cs_refresh={}", session.refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/session/refresh?next=/home");
    let res = app
        .api
        .get(app.url(&to))
        .header("cookie", format!("cs_refresh={}", session.refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/home");
    let cookies = set_cookies(&res);
    let access = cookies
        .iter()
        .find(|c| c.starts_with("cs_access="))
        .unwrap();
    let value = access.split(';').next().unwrap();
    let home = app
        .api
        .get(app.url("/home"))
        .header("cookie", value)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    // The old refresh token was spent by the rotation.
    let again = app
        .api
        .get(app.url("/session/refresh?next=/home"))
        .header("cookie", format!("cs_refresh={}", session.refresh))
        .send()
        .await
        .unwrap();
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
}

#[tokio::test]
async fn names_with_markup_are_escaped_on_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("xss");
    app.register_agent(&email, "<script>alert('x')</script>")
        .await;
    let b = signed_in(&app, &email).await;
    let html = b
        .get(app.url("/home"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>alert"),
        "markup reached the page unescaped"
    );
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn registration_form_reports_each_field_and_keeps_what_was_typed() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = browser();
    let form = b
        .get(app.url("/register?role=merchant"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains(r#"id="role-merchant" name="role" value="merchant" checked"#));
    let res = b
        .post(app.url("/register"))
        .form(&[
            ("role", "merchant"),
            ("email", "not-an-email"),
            ("password", "password123"),
            ("display_name", "Chen Jing"),
            ("merchant_name", ""),
            ("csrf_token", &csrf_of(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"role="alert""#));
    assert!(html.contains("Enter a valid email address"));
    assert!(html.contains("too common"));
    assert!(html.contains(r##"href="#merchant_name""##));
    assert!(html.contains(r#"value="Chen Jing""#));
    assert!(!html.contains("password123"), "passwords are never echoed");
    assert!(html.contains(r#"aria-invalid="true""#));
}

#[tokio::test]
async fn pages_speak_the_browsers_language_and_can_switch() {
    let app = spawn_app(Backend::Sqlite).await;
    let zh = app
        .api
        .get(app.url("/sign-in"))
        .header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains(r#"<html lang="zh-CN">"#));
    assert!(zh.contains("登录"));
    let en = app
        .api
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains(r#"<html lang="en">"#));
    assert!(en.contains(r##"class="skip-link" href="#main""##));

    let switch = app
        .api
        .get(app.url("/lang/zh-CN?next=/register"))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.headers()["location"], "/register");
    let cookie = set_cookies(&switch)
        .into_iter()
        .find(|c| c.starts_with("cs_lang=zh-CN"))
        .unwrap();
    let page = app
        .api
        .get(app.url("/register"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("注册账号"));

    // `next` cannot send anyone off-site.
    let evil = app
        .api
        .get(app.url("/lang/en?next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(evil.headers()["location"], "/home");
}

#[tokio::test]
async fn email_links_confirm_only_after_a_click() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("clicker");
    app.register_agent(&email, "Clicker").await;
    let mail = app.smtp.wait_for(&email, "Confirm").await;
    let b = browser();
    let link = mail.link("verify-email").replace(&app.address, "");
    // Opening the link (as a mail scanner would) confirms nothing yet.
    let page = b
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Confirm email address"));
    let session = app.session(&email).await;
    let me: serde_json::Value = app
        .get_as("/api/me", &session.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], false);
    let res = b
        .post(app.url("/verify-email"))
        .form(&[
            ("token", mail.token().as_str()),
            ("csrf_token", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your email address is confirmed")
    );
    let bad = b
        .get(app.url("/verify-email?token=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
