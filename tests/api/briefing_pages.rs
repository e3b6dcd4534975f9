//! The shop's briefing page, driven like a browser without JavaScript.

use reqwest::StatusCode;

use crate::helpers::{Backend, browser, csrf_of, signed_in, spawn_app};

async fn page(
    b: &reqwest::Client,
    app: &crate::helpers::TestApp,
    path: &str,
) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn reply_ids(html: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"<li id="reply-([0-9a-f-]+)">"#).unwrap();
    re.captures_iter(html).map(|c| c[1].to_owned()).collect()
}

#[tokio::test]
async fn a_shop_edits_its_briefing_and_quick_replies_through_the_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = browser()
        .get(app.url("/seats/briefing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/sign-in?next=/seats/briefing");

    let email = app.unique_email("brief.shop");
    app.register_merchant(&email, "Page Shop").await;
    let b = signed_in(&app, &email).await;
    let (status, html) = page(&b, &app, "/seats/briefing").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(
        html.contains(r#"<a href="/seats/briefing">Briefing</a>"#),
        "in the navigation"
    );
    for section in ["products", "shipping", "returns", "other"] {
        assert!(
            html.contains(&format!(r#"<label for="{section}">"#)),
            "{section} has a label"
        );
    }
    assert!(html.contains(r#"name="version" value="0""#));
    let csrf = csrf_of(&html);
    let sections = |version: &str, products: &str| {
        vec![
            ("csrf_token".to_owned(), csrf.clone()),
            ("version".to_owned(), version.to_owned()),
            ("products".to_owned(), products.to_owned()),
            ("shipping".to_owned(), "SF Express".to_owned()),
            ("returns".to_owned(), "7 days".to_owned()),
            ("other".to_owned(), String::new()),
        ]
    };

    // HTML typed into a section is text: verbatim in JSON, escaped on the page.
    let typed = "<script>alert('x')</script>\r\nLine <b>two</b>";
    let res = b
        .post(app.url("/seats/briefing"))
        .form(&sections("0", typed))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/seats/briefing?notice=saved");
    let (_, html) = page(&b, &app, "/seats/briefing?notice=saved").await;
    assert!(html.contains("The briefing is saved"));
    assert!(!html.contains("<script>alert"), "never interpreted as HTML");
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    assert!(html.contains(r#"name="version" value="1""#));
    let session = app.session(&email).await;
    let json: serde_json::Value = app
        .get_as("/api/merchant/briefing", &session.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        json["products"],
        "<script>alert('x')</script>\nLine <b>two</b>"
    );

    // A save based on version 0 now conflicts: nothing is saved, the typed text stays,
    // the other text is shown, and the form is now based on version 1.
    let res = b
        .post(app.url("/seats/briefing"))
        .form(&sections("0", "My own products text"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("Someone else saved the briefing while you were editing"));
    assert!(html.contains("My own products text"));
    assert!(html.contains("Their text now"));
    assert!(html.contains(r#"name="version" value="1""#));

    // Too long: the field is named and linked.
    let res = b
        .post(app.url("/seats/briefing"))
        .form(&sections("1", &"x".repeat(20_001)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r##"href="#products""##) && html.contains("Products: This is too long."));

    // Quick replies: add two, a duplicate shortcut is refused, move, edit, delete.
    let reply = |title: &str, shortcut: &str| {
        vec![
            ("csrf_token", csrf.as_str()),
            ("title", title),
            ("body", "Body <i>text</i>"),
            ("shortcut", shortcut),
            ("skill", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect::<Vec<_>>()
    };
    for (title, shortcut) in [("Refunds", "/refund"), ("Hello", "")] {
        let res = b
            .post(app.url("/seats/briefing/quick-replies"))
            .form(&reply(title, shortcut))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .contains("#reply-")
        );
    }
    let res = b
        .post(app.url("/seats/briefing/quick-replies"))
        .form(&reply("Again", "refund"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r##"href="#qr_shortcut""##));
    assert!(html.contains("Another quick reply already uses this shortcut"));
    assert!(html.contains(r#"value="Again""#), "what was typed stays");

    let (_, html) = page(&b, &app, "/seats/briefing").await;
    assert!(html.contains("Body &#60;i&#62;text") || html.contains("Body &lt;i&gt;text"));
    let ids = reply_ids(&html);
    assert_eq!(ids.len(), 2);
    let res = b
        .post(app.url(&format!("/seats/briefing/quick-replies/{}/move", ids[1])))
        .form(&[("csrf_token", csrf.as_str()), ("direction", "up")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/seats/briefing").await;
    assert_eq!(reply_ids(&html), [ids[1].clone(), ids[0].clone()]);

    let (_, html) = page(&b, &app, &format!("/seats/briefing?edit={}", ids[0])).await;
    assert!(html.contains("Edit the quick reply") && html.contains(r#"value="/refund""#));
    let res = b
        .post(app.url(&format!("/seats/briefing/quick-replies/{}", ids[0])))
        .form(&reply("Refunds and returns", "/refund"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = b
        .post(app.url(&format!("/seats/briefing/quick-replies/{}/delete", ids[1])))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/seats/briefing").await;
    assert_eq!(reply_ids(&html), [ids[0].clone()]);
    assert!(html.contains("Refunds and returns"));
    // The history: who changed which section.
    assert!(html.contains("<caption>Who changed the briefing when, newest first</caption>"));
    assert!(html.contains("Products, Shipping, Returns policy"));

    // A form without its CSRF token does nothing.
    let res = b
        .post(app.url(&format!("/seats/briefing/quick-replies/{}/delete", ids[0])))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // In Chinese.
    let zh = b
        .get(app.url("/seats/briefing"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("给客服的店铺须知") && zh.contains("快捷回复"));

    // Agents have no such page.
    let agent_email = app.unique_email("brief.agent");
    app.register_agent(&agent_email, "Agent").await;
    let agent = signed_in(&app, &agent_email).await;
    let (status, _) = page(&agent, &app, "/seats/briefing").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
