//! The agent's profile page, and the accessibility preferences it sets for every page.

use reqwest::StatusCode;

use crate::helpers::{Backend, csrf_of, signed_in, spawn_app};

#[tokio::test]
async fn an_agent_edits_the_profile_and_pages_follow_the_preferences() {
    let app = spawn_app(Backend::Sqlite).await;
    let email = app.unique_email("page.agent");
    app.register_agent(&email, "Page Agent").await;
    let b = signed_in(&app, &email).await;
    let form = b
        .get(app.url("/agent/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains(r#"for="lang_zh""#) && form.contains(r#"for="a11y_larger_text""#));
    let csrf = csrf_of(&form);

    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("display_name", "Page Agent Lin"),
        ("time_zone", "Asia/Shanghai"),
        ("lang_zh", "on"),
        ("lang_yue", "on"),
        ("skill_general", "on"),
        ("max_concurrent_chats", "2"),
        ("day_0", "tue"),
        ("start_0", "19:00"),
        ("end_0", "21:00"),
        ("a11y_larger_text", "on"),
        ("a11y_high_contrast", "on"),
    ];
    let res = b
        .post(app.url("/agent/profile"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = b
        .get(app.url("/agent/profile?saved=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your profile is saved."));
    assert!(page.contains(r#"id="lang_yue" name="lang_yue" value="on" checked"#));
    assert!(page.contains(r#"value="19:00""#));
    let home = b
        .get(app.url("/home"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains(r#"<body class="a11y-larger-text a11y-high-contrast">"#),
        "preferences apply to every page"
    );

    // A bad row comes back with its problem and what was typed.
    fields.retain(|(k, _)| *k != "start_0");
    fields.push(("start_0", "19:10"));
    let res = b
        .post(app.url("/agent/profile"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("half hour") && html.contains(r#"value="19:10""#));

    let shop = app.merchant("Not Agents").await;
    let s = signed_in(&app, &shop.email).await;
    assert_eq!(
        s.get(app.url("/agent/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
}
