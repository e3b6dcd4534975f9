//! The agent's trial-shift pages, driven like a browser without JavaScript: the list of
//! certifications, trials and slots; booking; the trial before, during and after its slot;
//! and the reviewer's marks on an exam result.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::exams::{GOOD_CSV, ready_track, right_answers, track};
use crate::helpers::{TestApp, browser, csrf_of, signed_in};
use crate::trials::{exam_passed, marks, slot, work_trial};

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    b.post(app.url(path)).form(fields).send().await.unwrap()
}

/// Books `slot` through the list page's form; returns the trial's id.
async fn book_by_form(b: &reqwest::Client, app: &TestApp, slot: &str) -> String {
    let (_, list) = page(b, app, "/agent/trials").await;
    let res = post_form(
        b,
        app,
        &format!("/agent/trial-slots/{slot}/book"),
        &[("csrf_token", &csrf_of(&list))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    to.strip_prefix("/agent/trials/")
        .and_then(|rest| rest.strip_suffix("?booked=1"))
        .unwrap_or_else(|| panic!("booked, then sent to {to}"))
        .to_owned()
}

/// Moves the app's clock a minute into the trial's slot.
async fn into_the_slot(app: &TestApp, agent: &crate::helpers::Session, id: &str) {
    let trial: Value = app
        .get_as(&format!("/api/trials/{id}"), &agent.access)
        .await
        .json()
        .await
        .unwrap();
    let starts: chrono::DateTime<chrono::Utc> =
        trial["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(starts.naive_utc() - app.clock.now() + Duration::minutes(1));
}

both_backends! {
    async fn the_trials_list_shows_certifications_trials_and_slots_to_book(app) {
        // Signed out: to sign-in, and back here afterwards.
        let res = browser().get(app.url("/agent/trials")).send().await.unwrap();
        assert_eq!(location(&res), "/sign-in?next=/agent/trials");

        // No exam passed yet: sent to the exams.
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let newcomer = app.agent("Newcomer").await;
        let b = signed_in(&app, &newcomer.email).await;
        let (status, html) = page(&b, &app, "/agent/trials").await;
        assert_eq!(status, 200);
        assert!(html.contains("Pass a skill&#39;s exam first") || html.contains("Pass a skill's exam first"), "{html}");
        assert!(html.contains(r#"<a class="button" href="/agent/exams">Go to the exams</a>"#));
        assert!(html.contains("You have no certifications yet.") && html.contains("You have not booked a trial yet."));
        let (_, home) = page(&b, &app, "/home").await;
        assert!(home.contains(r#"<a href="/agent/trials">Book or open your trial shift</a>"#), "home links to the trials");
        assert!(home.contains(r#"<li><a href="/agent/trials">Trial shifts</a></li>"#), "the nav links to the trials");
        // Exam passed, no slot yet for the skill: says so.
        let agent = exam_passed(&app, "Booker").await;
        let a = signed_in(&app, &agent.email).await;
        let (_, html) = page(&a, &app, "/agent/trials").await;
        assert!(html.contains("No trial slots for General are published yet."), "{html}");
        assert!(!html.contains("Go to the exams"));

        // An applicant's old tab posting a booking is refused in words.
        let s = slot(&app, &admin, 3, 2).await;
        let (_, html) = page(&b, &app, "/agent/trials").await;
        assert!(!html.contains("/book"), "nothing to book before an exam is passed");
        let res = post_form(&b, &app, &format!("/agent/trial-slots/{s}/book"), &[("csrf_token", &csrf_of(&html))]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"role="alert""#) && html.contains("Pass this skill&#39;s exam before booking its trial."), "{html}");

        let b = a;
        let (_, html) = page(&b, &app, "/agent/trials").await;
        assert!(html.contains("Open slots for General"), "{html}");
        assert!(html.contains(&format!("/agent/trial-slots/{s}/book")), "the published slot: {html}");
        assert!(html.contains("2 of 2 places left"));
        assert!(html.contains("Times are shown in your time zone, Asia/Shanghai."));
        let today = crate::helpers::market_today().to_string();
        assert!(html.contains(&format!("Book {today}")) || html.contains("Book 20"), "the slot's time on its button: {html}");
        let zh = b.get(app.url("/agent/trials")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("试岗与认证") && zh.contains("通用可预约时段"), "{zh}");

        // The booking form is refused without its CSRF token.
        let res = post_form(&b, &app, &format!("/agent/trial-slots/{s}/book"), &[("csrf_token", "")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.count("trials").await, 0);

        let id = book_by_form(&b, &app, &s).await;
        let (_, html) = page(&b, &app, &format!("/agent/trials/{id}?booked=1")).await;
        assert!(html.contains("Your trial is booked."), "{html}");
        let (_, list) = page(&b, &app, "/agent/trials").await;
        assert!(list.contains(&format!(r#"href="/agent/trials/{id}""#)) && list.contains("Booked"), "{list}");
        assert!(list.contains("1 of 2 places left"));
        assert!(list.contains("You have a trial booked or waiting for review."));

        // A second booking: refused, with a link to the trial already booked.
        let later = slot(&app, &admin, 30, 1).await;
        let res = post_form(&b, &app, &format!("/agent/trial-slots/{later}/book"), &[("csrf_token", &csrf_of(&list))]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"role="alert""#) && html.contains("You already have a trial booked or waiting for review."), "{html}");
        assert!(html.contains(&format!(r#"<a href="/agent/trials/{id}">Open your booked trial</a>"#)), "{html}");

        // A full slot.
        let other = exam_passed(&app, "Second Booker").await;
        assert_eq!(app.post_as(&format!("/api/trial-slots/{later}/book"), &other.access, &json!({})).await.status(), 201);
        let third = exam_passed(&app, "Third Booker").await;
        let t = signed_in(&app, &third.email).await;
        let (_, own) = page(&t, &app, "/agent/trials").await;
        assert!(!own.contains(&format!("/agent/trial-slots/{later}/book")), "full slots are not offered");
        let res = post_form(&t, &app, &format!("/agent/trial-slots/{later}/book"), &[("csrf_token", &csrf_of(&own))]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains("That slot filled up just now."));

        // A skill whose exam the agent has not passed (an old tab, a shared link).
        let res = app.api.put(app.url("/api/admin/exam-tracks/pre_sale")).bearer_auth(&admin.access).json(&track(3)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let starts = app.clock.now().and_utc() + Duration::hours(5);
        let res = app.post_as("/api/admin/trial-slots", &admin.access, &json!({"skill": "pre_sale", "starts_at": starts, "ends_at": starts + Duration::hours(1), "capacity": 3})).await;
        let pre_sale: Value = res.json().await.unwrap();
        let pre_sale = pre_sale["id"].as_str().unwrap();
        assert!(!own.contains(pre_sale), "slots of skills not passed are not offered");
        let res = post_form(&t, &app, &format!("/agent/trial-slots/{pre_sale}/book"), &[("csrf_token", &csrf_of(&own))]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains("Pass this skill&#39;s exam before booking its trial.") , "exam_not_passed");
    }

    async fn a_trial_page_before_during_and_after_its_slot(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Trainee Page").await;
        let b = signed_in(&app, &agent.email).await;
        let s = slot(&app, &admin, 2, 2).await;
        let id = book_by_form(&b, &app, &s).await;
        let path = format!("/agent/trials/{id}");

        // Before: marked as a trial, when it starts, and Cancel.
        let (status, html) = page(&b, &app, &path).await;
        assert_eq!(status, 200);
        assert!(html.contains("<title>TRIAL: General trial shift · cloudseat</title>"), "{html}");
        assert!(html.contains(r#"class="trial-banner""#) && html.contains("<strong>TRIAL</strong>"));
        assert!(html.contains("Your trial begins at") && html.contains("(Asia/Shanghai)"), "{html}");
        assert!(html.contains("Cancel this trial"));
        assert!(!html.contains("Begin the trial"));
        let csrf = csrf_of(&html);
        let res = post_form(&b, &app, &format!("{path}/begin"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains("The trial has not begun yet. It starts at"));

        // Cancel asks first; confirming gives the place back.
        let res = post_form(&b, &app, &format!("{path}/cancel"), &[("csrf_token", &csrf)]).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Cancel this trial?") && html.contains(r#"name="confirm" value="yes""#), "{html}");
        let trial: Value = app.get_as(&format!("/api/trials/{id}"), &agent.access).await.json().await.unwrap();
        assert_eq!(trial["status"], "booked", "nothing happens before confirming");
        let res = post_form(&b, &app, &format!("{path}/cancel"), &[("csrf_token", ""), ("confirm", "yes")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = post_form(&b, &app, &format!("{path}/cancel"), &[("csrf_token", &csrf), ("confirm", "yes")]).await;
        assert_eq!(location(&res), path);
        let (_, html) = page(&b, &app, &path).await;
        assert!(html.contains("You cancelled this trial.") && html.contains(r#"href="/agent/trials">Book another trial"#), "{html}");

        // Book again; in the slot: Begin, then every practice chat with a reply form.
        let id = book_by_form(&b, &app, &s).await;
        let path = format!("/agent/trials/{id}");
        into_the_slot(&app, &agent, &id).await;
        let (_, html) = page(&b, &app, &path).await;
        assert!(html.contains("Begin the trial") && html.contains(r#"role="timer""#), "{html}");
        assert!(html.contains("Time left: 1 h 59 min"), "{html}");
        assert!(!html.contains("Cancel this trial"));
        let res = post_form(&b, &app, &format!("{path}/begin"), &[("csrf_token", &csrf_of(&html))]).await;
        assert_eq!(location(&res), format!("{path}#chats"));
        let (_, html) = page(&b, &app, &path).await;
        assert_eq!(html.matches(r#"<section class="chat""#).count(), 3, "{html}");
        assert_eq!(html.matches(r#"<ol class="messages""#).count(), 3);
        assert!(html.contains(r#"<label for="reply-0">Your reply to Pre-sale: which size?</label>"#), "{html}");
        assert!(html.contains("170 cm, 65 kg"));
        assert!(html.contains(r#"role="status" aria-live="polite""#));
        assert!(html.contains(r#"src="/static/trial.js""#));
        assert!(html.contains("Finish the trial"));
        assert!(html.contains("<strong>TRIAL</strong>"), "still marked as a trial");
        let csrf = csrf_of(&html);

        // Replies: refused when empty or without the token; sent ones show in order, and the
        // customer's next message follows.
        let res = post_form(&b, &app, &format!("{path}/replies"), &[("csrf_token", &csrf), ("chat", "0"), ("text", "  ")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("Write a reply of 1 to 2000 characters."));
        let res = post_form(&b, &app, &format!("{path}/replies"), &[("chat", "0"), ("text", "Hello")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let reply = "Hi, I'm Li. For 170 cm I'd suggest size M.";
        let res = post_form(&b, &app, &format!("{path}/replies"), &[("csrf_token", &csrf), ("chat", "0"), ("text", reply)]).await;
        assert_eq!(location(&res), format!("{path}?sent=0#chat-0"));
        let (_, html) = page(&b, &app, &format!("{path}?sent=0")).await;
        assert!(html.contains("Your reply is sent."));
        let first = html.find("170 cm, 65 kg").unwrap();
        let mine = html.find("For 170 cm I&#39;d suggest size M.").or_else(|| html.find("For 170 cm I'd suggest size M.")).expect("the reply is shown");
        let next = html.find("can I return it?").expect("the customer's next message");
        assert!(first < mine && mine < next, "messages in order");

        // Finish: to a reviewer; the chats stay readable, without forms.
        let res = post_form(&b, &app, &format!("{path}/finish"), &[("csrf_token", &csrf)]).await;
        assert_eq!(location(&res), format!("{path}?finished=1"));
        let (_, html) = page(&b, &app, &format!("{path}?finished=1")).await;
        assert!(html.contains("Your trial is finished and goes to a reviewer."));
        assert!(html.contains("Your trial is waiting for a reviewer."), "{html}");
        assert!(!html.contains("<textarea") && !html.contains("Finish the trial"));
        assert!(html.contains("Your practice chats") && html.contains("suggest size M."));
        let res = post_form(&b, &app, &format!("{path}/replies"), &[("csrf_token", &csrf), ("chat", "1"), ("text", "Late")]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains("This trial is no longer open."));

        // Reviewed (failed): the percent, every criterion's mark and comment, the feedback,
        // and a way to book another.
        let res = app
            .post_as(&format!("/api/admin/trial-reviews/{id}"), &admin.access, &json!({"marks": marks(2), "feedback": "Answer every customer before finishing."}))
            .await;
        assert_eq!(res.status(), 200);
        let (_, html) = page(&b, &app, &path).await;
        assert!(html.contains("You did not pass this trial."), "{html}");
        assert!(html.contains("Your score: 50%"));
        assert!(html.contains("The reviewer&#39;s scorecard") || html.contains("The reviewer's scorecard"));
        for criterion in ["Greeting", "Accuracy", "Empathy", "Resolution", "Following policy", "Response time"] {
            assert!(html.contains(&format!(r#"<th scope="row">{criterion}</th><td>2 of 4</td><td>noted</td>"#)), "{criterion}: {html}");
        }
        assert!(html.contains("Answer every customer before finishing."));
        assert!(html.contains(r#"href="/agent/trials">Book another trial"#));
        let (_, list) = page(&b, &app, "/agent/trials").await;
        assert!(list.contains("Not passed") && list.contains("50%"), "{list}");

        // Another agent finds nothing there, and cannot act on it.
        let nosy = app.agent("Nosy Trainee").await;
        let n = signed_in(&app, &nosy.email).await;
        let (status, html) = page(&n, &app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!html.contains("suggest size M."));
        let (_, own) = page(&n, &app, "/agent/trials").await;
        let csrf = csrf_of(&own);
        for action in ["begin", "finish", "cancel"] {
            let res = post_form(&n, &app, &format!("{path}/{action}"), &[("csrf_token", &csrf), ("confirm", "yes")]).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
        }
        let res = post_form(&n, &app, &format!("{path}/replies"), &[("csrf_token", &csrf), ("chat", "0"), ("text", "x")]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    async fn a_passed_trial_shows_the_certification_until_it_expires(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Certified Page").await;
        let s = slot(&app, &admin, 1, 1).await;
        let id = work_trial(&app, &agent, &s).await;
        let res = app.post_as(&format!("/api/admin/trial-reviews/{id}"), &admin.access, &json!({"marks": marks(4)})).await;
        assert_eq!(res.status(), 200);
        let b = signed_in(&app, &agent.email).await;
        let (_, html) = page(&b, &app, &format!("/agent/trials/{id}")).await;
        assert!(html.contains("You passed the trial. You are certified for General."), "{html}");
        assert!(html.contains("Your score: 100%") && html.contains("4 of 4"));
        assert!(!html.contains("Book another trial"));
        let (_, list) = page(&b, &app, "/agent/trials").await;
        assert!(list.contains(r#"<th scope="row">General</th>"#) && list.contains(r#"<span class="badge ok">Valid</span>"#), "{list}");
        assert!(list.contains("You are certified for General until"), "{list}");
        assert!(list.contains("Passed") && list.contains("100%"));

        app.clock.advance(Duration::days(370));
        let (_, list) = page(&b, &app, "/agent/trials").await;
        assert!(list.contains(r#"<span class="badge expired">Expired</span>"#), "{list}");
    }

    async fn a_reviewed_exam_result_shows_each_written_answers_points_and_comment(app) {
        let admin = app.admin().await;
        let mut rules = track(4);
        rules["pass_percent"] = json!(75);
        app.api.put(app.url("/api/admin/exam-tracks/general")).bearer_auth(&admin.access).json(&rules).send().await.unwrap();
        let res = app.post_as("/api/admin/exam-tracks/general/questions/import", &admin.access, &json!({"format": "csv", "content": GOOD_CSV})).await;
        assert_eq!(res.status(), 201);
        let agent = app.agent("Marked Writer").await;
        let attempt: Value = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await.json().await.unwrap();
        let id = attempt["id"].as_str().unwrap().to_owned();
        let number = attempt["questions"].as_array().unwrap().iter().find(|q| q["kind"] == "scenario").unwrap()["number"].as_u64().unwrap();
        let mut answers = right_answers(&attempt);
        for a in answers["answers"].as_array_mut().unwrap() {
            if a["number"] == number {
                *a = json!({"number": number, "text": "I'm so sorry. Here is your tracking link."});
            }
        }
        assert_eq!(app.post_as(&format!("/api/attempts/{id}/submit"), &agent.access, &answers).await.status(), 200);
        let b = signed_in(&app, &agent.email).await;
        let result = format!("/agent/attempts/{id}/result");
        let (_, html) = page(&b, &app, &result).await;
        assert!(!html.contains("marks on your written answers"), "no marks before the review");

        let res = app.post_as(&format!("/api/admin/exam-reviews/{id}"), &admin.access, &json!({"marks": [{"number": number, "points": 3, "comment": "Add the next step"}]})).await;
        assert_eq!(res.status(), 200);
        let (_, html) = page(&b, &app, &result).await;
        assert!(html.contains("The reviewer&#39;s marks on your written answers") || html.contains("The reviewer's marks on your written answers"), "{html}");
        assert!(html.contains(&format!(r#"<th scope="row">Question {number}</th><td>3 of 5</td><td>Add the next step</td>"#)), "{html}");
        assert!(html.contains("You passed."));
        let zh = b.get(app.url(&result)).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains(&format!("第 {number} 题")) && zh.contains("3 / 5"), "{zh}");
    }
}

/// A trial lasts far longer than the 15-minute access cookie: a reply posted with only the
/// refresh cookie renews the session in place instead of losing what was typed.
#[tokio::test]
async fn a_reply_form_renews_the_session_instead_of_losing_the_reply() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    ready_track(&app, 3).await;
    let admin = app.admin().await;
    let agent = exam_passed(&app, "Long Shift").await;
    let s = slot(&app, &admin, 1, 1).await;
    let trial: Value = app
        .post_as(
            &format!("/api/trial-slots/{s}/book"),
            &agent.access,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = trial["id"].as_str().unwrap().to_owned();
    into_the_slot(&app, &agent, &id).await;
    let res = app
        .post_as(
            &format!("/api/trials/{id}/begin"),
            &agent.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let b = signed_in(&app, &agent.email).await;
    let (_, html) = page(&b, &app, &format!("/agent/trials/{id}")).await;
    let csrf = csrf_of(&html);
    let res = browser()
        .post(app.url(&format!("/agent/trials/{id}/replies")))
        .header(
            "cookie",
            format!("cs_refresh={}; cs_csrf={csrf}", agent.refresh),
        )
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("chat", "1"),
            ("text", "So sorry, let me check the parcel."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/agent/trials/{id}?sent=1#chat-1"));
    let renewed = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("cs_access="));
    assert!(renewed, "the response carries a new access cookie");
    let stored: Value = app
        .get_as(&format!("/api/trials/{id}"), &agent.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["chats"][1]["turns"][0]["reply"],
        "So sorry, let me check the parcel."
    );
}
