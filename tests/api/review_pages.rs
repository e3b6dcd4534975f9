//! The reviewers' pages: queues with SLA age, marking written answers, scoring trials on
//! the scorecard, and publishing trial slots.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::exams::{GOOD_CSV, ready_track, right_answers, track};
use crate::helpers::{TestApp, csrf_of, signed_in};
use crate::trials::{exam_passed, slot, status_of, work_trial};

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// An agent whose exam (with a written answer) waits for review; returns the attempt id.
async fn written_exam(app: &TestApp, name: &str) -> (crate::helpers::Session, String) {
    let admin = app.admin().await;
    app.api
        .put(app.url("/api/admin/exam-tracks/general"))
        .bearer_auth(&admin.access)
        .json(&track(4))
        .send()
        .await
        .unwrap();
    let res = app
        .post_as(
            "/api/admin/exam-tracks/general/questions/import",
            &admin.access,
            &json!({"format": "csv", "content": GOOD_CSV}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let agent = app.agent(name).await;
    let attempt: Value = app
        .post_as("/api/exams/general/attempts", &agent.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = attempt["id"].as_str().unwrap().to_owned();
    let mut answers = right_answers(&attempt);
    for a in answers["answers"].as_array_mut().unwrap() {
        let q = &attempt["questions"][a["number"].as_u64().unwrap() as usize - 1];
        if q["kind"] == "scenario" {
            *a = json!({"number": a["number"], "text": "Sorry! Here is the tracking link <b>now</b>."});
        }
    }
    let done: Value = app
        .post_as(
            &format!("/api/attempts/{id}/submit"),
            &agent.access,
            &answers,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "awaiting_review");
    (agent, id)
}

both_backends! {
    async fn a_reviewer_marks_written_answers_from_the_queue(app) {
        let (agent, id) = written_exam(&app, "Queue Writer").await;
        let admin = app.admin().await;
        let b = signed_in(&app, &admin.email).await;
        let (status, queue) = page(&b, &app, "/admin/reviews").await;
        assert_eq!(status, StatusCode::OK);
        assert!(queue.contains("Queue Writer") && queue.contains(&format!("/admin/reviews/exams/{id}")), "{queue}");
        assert!(queue.contains("No trials are waiting"), "empty state for the other queue");
        assert!(!queue.contains("Overdue"));

        let path = format!("/admin/reviews/exams/{id}");
        let (_, form) = page(&b, &app, &path).await;
        assert!(form.contains("Apologise and give the tracking link"), "model answer shown");
        assert!(form.contains("Sorry! Here is the tracking link &#60;b&#62;now&#60;/b&#62;.") || form.contains("&lt;b&gt;now"), "answer shown, escaped");
        let csrf = csrf_of(&form);
        let number = {
            let re = regex::Regex::new(r#"name="points_(\d+)""#).unwrap();
            re.captures(&form).unwrap()[1].to_owned()
        };
        let field = format!("points_{number}");
        let comment = format!("comment_{number}");

        let res = b.post(app.url(&path)).form(&[(field.as_str(), "3")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token, no marks");
        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), (field.as_str(), "9"), (comment.as_str(), "Too generous?")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("between 0 and 5") && body.contains("Too generous?"), "error shown, input kept: {body}");
        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), (field.as_str(), "5"), (comment.as_str(), "Clear and kind")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/admin/reviews?done=exam");
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
        let (_, settled) = page(&b, &app, &path).await;
        assert!(settled.contains("already") && settled.contains("Clear and kind") && !settled.contains("Save the marks"));
    }

    async fn a_reviewer_scores_a_trial_on_the_scorecard(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Scored Agent").await;
        let s = slot(&app, &admin, 1, 1).await;
        let trial = work_trial(&app, &agent, &s).await;
        let b = signed_in(&app, &admin.email).await;
        let (_, queue) = page(&b, &app, "/admin/reviews?skill=general").await;
        assert!(queue.contains(&format!("/admin/reviews/trials/{trial}")));
        let path = format!("/admin/reviews/trials/{trial}");
        let (_, form) = page(&b, &app, &path).await;
        assert!(form.contains("Let me check that for you.") && form.contains("Pre-sale: which size?"), "transcript shown");
        assert!(form.contains("Policy compliance") && form.contains(r#"name="score_greeting""#));
        let csrf = csrf_of(&form);

        // Half a scorecard is refused, with what is missing.
        let res = b.post(app.url(&path)).form(&[("csrf_token", csrf.as_str()), ("score_greeting", "4")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("Give a score for accuracy"), "{body}");
        assert!(body.contains(r#"id="score_greeting_4" name="score_greeting" value="4" checked"#), "what was marked stays marked");

        let mut fields: Vec<(String, String)> = ["greeting", "accuracy", "empathy", "resolution", "policy_compliance", "response_time"]
            .iter()
            .map(|k| (format!("score_{k}"), "4".to_owned()))
            .collect();
        fields.push(("csrf_token".into(), csrf.clone()));
        fields.push(("comment_empathy".into(), "Warm and patient".into()));
        let res = b.post(app.url(&path)).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(status_of(&app, &agent).await, "certified");
        let (_, done) = page(&b, &app, "/admin/reviews?done=trial").await;
        assert!(done.contains("The scorecard is saved"));
    }

    async fn old_work_is_flagged_against_the_sla(app) {
        let (_, id) = written_exam(&app, "Waiting Writer").await;
        app.clock.advance(Duration::hours(49));
        let admin = app.admin().await;
        let b = signed_in(&app, &admin.email).await;
        let (_, queue) = page(&b, &app, "/admin/reviews").await;
        assert!(queue.contains(&id) && queue.contains("49 h") && queue.contains("Overdue"), "{queue}");
        let (_, other) = page(&b, &app, "/admin/reviews?skill=pre_sale").await;
        assert!(!other.contains(&id), "the filter keeps other skills out");
    }

    async fn admins_publish_trial_slots_from_a_form(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let b = signed_in(&app, &admin.email).await;
        let (status, form) = page(&b, &app, "/admin/trial-slots").await;
        assert_eq!(status, StatusCode::OK);
        assert!(form.contains("No slots are published"));
        let csrf = csrf_of(&form);
        let res = b
            .post(app.url("/admin/trial-slots"))
            .form(&[("csrf_token", csrf.as_str()), ("skill", "general"), ("starts_at", "soon"), ("minutes", "120"), ("capacity", "5")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("Give the start as a date and time."));
        let start = (app.clock.now().and_utc() + Duration::days(1)).with_timezone(&chrono_tz::Asia::Shanghai);
        let local = start.format("%Y-%m-%dT%H:%M").to_string();
        let res = b
            .post(app.url("/admin/trial-slots"))
            .form(&[("csrf_token", csrf.as_str()), ("skill", "general"), ("starts_at", local.as_str()), ("minutes", "100000000000"), ("capacity", "3")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "an absurd length is refused, not a crash");
        assert!(res.text().await.unwrap().contains("30 to 480 minutes"));
        let res = b
            .post(app.url("/admin/trial-slots"))
            .form(&[("csrf_token", csrf.as_str()), ("skill", "general"), ("starts_at", local.as_str()), ("minutes", "90"), ("capacity", "3")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, list) = page(&b, &app, "/admin/trial-slots?created=1").await;
        assert!(list.contains(&start.format("%Y-%m-%d %H:%M").to_string()) && list.contains("0 / 3"), "{list}");
        let slots: Value = app.get_as("/api/admin/trial-slots", &admin.access).await.json().await.unwrap();
        assert_eq!(slots[0]["capacity"], 3);
    }
}

#[tokio::test]
async fn only_admins_open_the_review_pages() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let anonymous = crate::helpers::browser();
    for path in ["/admin/reviews", "/admin/trial-slots"] {
        let res = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/sign-in")
        );
    }
    let agent = app.agent("Curious Agent").await;
    let b = signed_in(&app, &agent.email).await;
    for path in [
        "/admin/reviews",
        "/admin/trial-slots",
        "/admin/reviews/exams/00000000-0000-7000-8000-000000000000",
        "/admin/reviews/trials/00000000-0000-7000-8000-000000000000",
    ] {
        let (status, _) = page(&b, &app, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let shop = app.merchant("Curious Shop").await;
    let b = signed_in(&app, &shop.email).await;
    let (status, _) = page(&b, &app, "/admin/reviews").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
