//! The admin pages: the talent pool, one agent's record, exam tracks.

use chrono::Duration;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, browser, csrf_of, signed_in, spawn_app};
use crate::talent_pool::record_passed_trial;

async fn page(b: &reqwest::Client, url: String) -> (StatusCode, String) {
    let res = b.get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

both_backends! {
    async fn admins_browse_the_pool_and_download_it(app) {
        let admin = app.admin().await;
        let agent = app.agent("Pool Agent").await;
        record_passed_trial(&app, &admin, &agent, "general", 88, Some(Duration::days(30))).await;
        let b = signed_in(&app, &admin.email).await;

        let (status, home) = page(&b, app.url("/home")).await;
        assert_eq!(status, 200);
        assert!(home.contains(r#"href="/admin/agents""#) && home.contains(r#"href="/admin/exam-tracks""#));

        let (status, html) = page(&b, app.url("/admin/agents")).await;
        assert_eq!(status, 200);
        assert!(html.contains("Talent pool"));
        assert!(html.contains(&format!(r#"href="/admin/agents/{}""#, agent.id())));
        assert!(html.contains("General (until "), "certified skills with expiry: {html}");
        assert!(html.contains(">88<"));
        assert!(html.contains(r#"aria-sort="ascending""#), "sorted by name");
        assert!(html.contains(r#"href="/admin/agents?sort=-name""#), "the sorted column reverses");
        assert!(html.contains(r#"href="/admin/agents/export.csv?sort=name""#));

        let (status, html) = page(&b, app.url("/admin/agents?skill=general&sort=-quality&q=pool")).await;
        assert_eq!(status, 200);
        assert!(html.contains(r#"<option value="-quality" selected>"#));
        assert!(html.contains(r#"href="/admin/agents/export.csv?skill=general&#38;q=pool&#38;sort=-quality""#), "{html}");

        let (status, html) = page(&b, app.url("/admin/agents?skill=pre_sale")).await;
        assert_eq!(status, 200);
        assert!(html.contains("No agent matches these filters."));

        let (status, html) = page(&b, app.url("/admin/agents?min_quality=500&available=someday")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains(r##"href="#min_quality""##) && html.contains(r##"href="#available""##), "{html}");
        assert!(html.contains(r#"value="someday""#), "what was typed stays");

        let res = b.get(app.url("/admin/agents/export.csv?skill=general")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let csv = res.text().await.unwrap();
        assert_eq!(csv.lines().count(), 2);
        assert!(csv.contains("Pool Agent"));

        let (_, zh) = {
            let res = b.get(app.url("/admin/agents")).header("accept-language", "zh-CN").send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        };
        assert!(zh.contains("人才库"));
    }

    async fn admins_suspend_and_reinstate_from_the_agent_page(app) {
        let admin = app.admin().await;
        let agent = app.agent("Record Agent").await;
        record_passed_trial(&app, &admin, &agent, "pre_sale", 75, Some(Duration::days(1))).await;
        let b = signed_in(&app, &admin.email).await;
        let url = app.url(&format!("/admin/agents/{}", agent.id()));
        let (status, html) = page(&b, url.clone()).await;
        assert_eq!(status, 200);
        assert!(html.contains("Record Agent") && html.contains(&agent.email));
        assert!(html.contains("Pre-sale") && html.contains("Valid"));
        assert!(html.contains("Trial shifts") && html.contains("75%"));
        assert!(html.contains("Lifecycle") && html.contains("registered"));
        assert!(html.contains("Times are in your time zone (Asia/Shanghai)."));
        let csrf = csrf_of(&html);

        let suspend = app.url(&format!("/admin/agents/{}/suspend", agent.id()));
        let forged = b.post(&suspend).form(&[("csrf_token", "forged"), ("reason", "x")]).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let profile: serde_json::Value = app.get_as("/api/agents/me/profile", &agent.access).await.json().await.unwrap();
        assert_eq!(profile["status"], "applicant", "a forged form changes nothing");

        let no_reason = b.post(&suspend).form(&[("csrf_token", csrf.as_str()), ("reason", " ")]).send().await.unwrap();
        assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_reason.text().await.unwrap().contains("Say why"));

        let done = b.post(&suspend).form(&[("csrf_token", csrf.as_str()), ("reason", "three no-shows")]).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let (_, html) = page(&b, app.url(done.headers()["location"].to_str().unwrap())).await;
        assert!(html.contains("The agent is suspended.") && html.contains("three no-shows"));
        assert!(html.contains("/reinstate\"") && !html.contains("/suspend\""));

        let again = b.post(&suspend).form(&[("csrf_token", csrf.as_str()), ("reason", "twice")]).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::CONFLICT);

        let reinstate = app.url(&format!("/admin/agents/{}/reinstate", agent.id()));
        let done = b.post(&reinstate).form(&[("csrf_token", csrf.as_str()), ("reason", "sorted out")]).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let profile: serde_json::Value = app.get_as("/api/agents/me/profile", &agent.access).await.json().await.unwrap();
        assert_eq!(profile["status"], "applicant");

        app.clock.advance(Duration::days(2));
        let (_, html) = page(&b, url).await;
        assert!(html.contains("Expired"), "expiry follows the clock");

        let (status, _) = page(&b, app.url("/admin/agents/00000000-0000-7000-8000-000000000000")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn admins_set_up_tracks_and_import_questions_on_the_page(app) {
        let admin = app.admin().await;
        let b = signed_in(&app, &admin.email).await;
        let (status, html) = page(&b, app.url("/admin/exam-tracks")).await;
        assert_eq!(status, 200);
        assert!(html.contains("No exam track yet."));
        let csrf = csrf_of(&html);

        let track = |size: &'static str| {
            vec![
                ("csrf_token", csrf.clone()),
                ("skill", "general".to_owned()),
                ("exam_size", size.to_owned()),
                ("pass_percent", "80".to_owned()),
                ("duration_minutes", "30".to_owned()),
                ("cooldown_hours", "24".to_owned()),
                ("max_attempts_per_30_days", "3".to_owned()),
            ]
        };
        let bad = b.post(app.url("/admin/exam-tracks")).form(&track("zero")).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.text().await.unwrap().contains(r##"href="#exam_size""##));
        let saved = b.post(app.url("/admin/exam-tracks")).form(&track("2")).send().await.unwrap();
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let (_, html) = page(&b, app.url(saved.headers()["location"].to_str().unwrap())).await;
        assert!(html.contains("The track is saved.") && html.contains("Too few questions"));

        let broken = "topic,kind,prompt,option_1,option_2,correct,points\nreturns,single,,A,B,1,1\nreturns,single,Pick one,A,B,7,1\n";
        let res = b
            .post(app.url("/admin/exam-tracks/import"))
            .form(&[("csrf_token", csrf.as_str()), ("skill", "general"), ("format", "csv"), ("content", broken)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert!(html.contains("Nothing was imported."));
        assert!(html.contains("questions[1].prompt") && html.contains("questions[2].correct"), "{html}");
        assert!(html.contains("Pick one"), "the pasted text stays");
        assert_eq!(app.count("exam_questions").await, 0);

        let forged = b
            .post(app.url("/admin/exam-tracks/import"))
            .form(&[("csrf_token", "forged"), ("skill", "general"), ("format", "csv"), ("content", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        let mut good = String::from("topic,kind,prompt,option_1,option_2,correct,points\n");
        for i in 0..25 {
            good.push_str(&format!("returns,single,Question number {i:02},A,B,1,1\n"));
        }
        let res = b
            .post(app.url("/admin/exam-tracks/import"))
            .form(&[("csrf_token", csrf.as_str()), ("skill", "general"), ("format", "csv"), ("content", good.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, html) = page(&b, app.url(res.headers()["location"].to_str().unwrap())).await;
        assert!(html.contains("25 questions imported.") && html.contains("Ready for exams"));
        assert!(html.contains("Question number 00") && !html.contains("Question number 20"));
        let next = regex::Regex::new(r#"href="(/admin/exam-tracks\?skill=general&#38;cursor=[^"]+)""#).unwrap();
        let link = next.captures(&html).expect("a next page")[1].replace("&#38;", "&");
        let (_, rest) = page(&b, app.url(&link)).await;
        assert!(rest.contains("Question number 20") && rest.contains("Question number 24"));
        assert!(!rest.contains("Question number 00"));
    }
}

#[tokio::test]
async fn only_admins_get_the_admin_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let agent = app.agent("Nosy Agent").await;
    let shop = app.merchant("Nosy Shop").await;
    for email in [&agent.email, &shop.email] {
        let b = signed_in(&app, email).await;
        for path in [
            "/admin/agents".to_owned(),
            "/admin/agents/export.csv".to_owned(),
            format!("/admin/agents/{}", agent.id()),
            "/admin/exam-tracks".to_owned(),
        ] {
            let res = b.get(app.url(&path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        }
        let html = b
            .get(app.url("/home"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("/admin/agents"));
        let res = b
            .post(app.url(&format!("/admin/agents/{}/suspend", agent.id())))
            .form(&[("csrf_token", csrf_of(&html).as_str()), ("reason", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let profile: serde_json::Value = app
        .get_as("/api/agents/me/profile", &agent.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["status"], "applicant");
    let anonymous = browser()
        .get(app.url("/admin/agents"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(
        anonymous.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
}
