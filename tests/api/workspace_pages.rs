//! The agent's chat workspace page, the widget script and the demo shop page that embeds
//! it, driven like a browser without JavaScript (the live parts are in tests/e2e).

use reqwest::StatusCode;

use crate::both_backends;
use crate::chat::widget_key;
use crate::helpers::{browser, signed_in};
use crate::shifts::certified;

both_backends! {
    async fn the_workspace_is_for_signed_in_agents_only(app) {
        let res = browser().get(app.url("/agent/chats")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/sign-in?next=/agent/chats");

        let shop = app.merchant("Tea House").await;
        let b = signed_in(&app, &shop.email).await;
        let res = b.get(app.url("/agent/chats")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));

        let agent = certified(&app, "Wang Fang", "general").await;
        let b = signed_in(&app, &agent.email).await;
        let res = b.get(app.url("/agent/chats")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<script src="/static/workspace.js" defer></script>"#), "{html}");
        assert!(html.contains(r#"<li><a href="/agent/chats">Chats</a></li>"#), "the nav links to the workspace");
        assert!(html.contains(r#"data-zone="Asia/Shanghai""#), "{html}");
        assert!(html.contains("Times are shown in Asia/Shanghai."));
        // The script's text travels as JSON in an attribute, escaped for it.
        assert!(html.contains(r#"data-strings="{&#34;accept&#34;:"#), "{html}");
        for control in [r#"<label for="ws-presence">"#, r#"<label for="ws-auto">"#, r#"<label for="ws-reply-text">"#, r#"<label for="ws-transfer-to">"#] {
            assert!(html.contains(control), "{control} missing");
        }
        assert!(html.contains("Keyboard shortcuts") && html.contains("Accept the oldest offer"));
        let res = b.get(app.url("/static/workspace.js")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/javascript; charset=utf-8");
    }

    async fn the_demo_shop_embeds_the_widget_for_a_known_key_only(app) {
        let res = browser().get(app.url("/demo/shop")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = browser().get(app.url("/demo/shop?key=wk_nope")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let shop = app.merchant("Tea House").await;
        let key = widget_key(&app, &shop).await;
        let res = browser().get(app.url(&format!("/demo/shop?key={key}"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!(r#"<script src="/widget.js" data-key="{key}" async></script>"#)), "{html}");
        assert!(html.contains("<h1>Tea House</h1>"), "{html}");
    }
}

#[tokio::test]
async fn the_widget_script_is_public_javascript_and_cached() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let res = reqwest::get(app.url("/widget.js")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(
        cache.contains("public") && cache.contains("max-age="),
        "{cache}"
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("/ws/customer") && body.contains("data-key"));
    assert!(
        !body.contains("innerHTML"),
        "the widget renders text with textContent only"
    );
}
