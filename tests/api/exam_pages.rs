//! The agent's exam pages, driven like a browser without JavaScript: the list of tracks,
//! starting, taking (with saved answers filled back in), submitting and the result.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, browser, csrf_of, signed_in};

/// Four questions: three choice questions and a scenario with a model answer and rubric
/// that must never reach the agent's page.
const BANK: &str = "topic,kind,prompt,option_1,option_2,option_3,correct,points,model_answer,rubric
returns,single,A customer wants to return an opened lipstick. What do you check first?,The order date,The colour,The weather,1,1,Check the date against the 7-day window,
returns,multiple,Which two details does a refund need?,Order number,Favourite colour,Payment method,1;3,2,,
shipping,single,When does an order placed at 23:00 ship?,Next working day,Now,Never,1,1,,
tone,scenario,A customer writes in capitals that the parcel is late. Reply.,,,,,5,Apologise and give the tracking link,Empathy 2; accuracy 2; next step 1
";

const RIGHT: [&str; 4] = [
    "The order date",
    "Order number",
    "Payment method",
    "Next working day",
];

/// The `general` track: `size` questions, 75% to pass, 30 minutes, 24 h between starts.
/// Without `with_scenario` the bank has only choice questions, so attempts grade at once.
async fn track(app: &TestApp, size: i64, with_scenario: bool) {
    let admin = app.admin().await;
    let rules = json!({"exam_size": size, "pass_percent": 75, "duration_minutes": 30, "cooldown_hours": 24, "max_attempts_per_30_days": 3});
    let res = app
        .api
        .put(app.url("/api/admin/exam-tracks/general"))
        .bearer_auth(&admin.access)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let content: String = BANK
        .lines()
        .filter(|l| with_scenario || !l.contains(",scenario,"))
        .collect::<Vec<_>>()
        .join("\n");
    let res = app
        .post_as(
            "/api/admin/exam-tracks/general/questions/import",
            &admin.access,
            &json!({"format": "csv", "content": content}),
        )
        .await;
    assert_eq!(res.status(), 201);
}

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// Starts the `general` exam through the list page's form; returns the attempt's id.
async fn start_by_form(b: &reqwest::Client, app: &TestApp) -> String {
    let (_, list) = page(b, app, "/agent/exams").await;
    let res = b
        .post(app.url("/agent/exams/general/start"))
        .form(&[("csrf_token", csrf_of(&list))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    to.strip_prefix("/agent/attempts/")
        .unwrap_or_else(|| panic!("started, then sent to {to}"))
        .to_owned()
}

/// The form fields that answer every choice question right, read off the attempt the way
/// the agent sees it (by the options' text).
fn right_fields(attempt: &Value) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for q in attempt["questions"].as_array().unwrap() {
        let name = format!("q{}", q["number"]);
        for (i, option) in q["options"].as_array().unwrap().iter().enumerate() {
            if RIGHT.contains(&option.as_str().unwrap()) {
                fields.push((name.clone(), i.to_string()));
            }
        }
    }
    fields
}

both_backends! {
    async fn the_exam_list_shows_tracks_attempts_and_when_to_retake(app) {
        // Signed out: to sign-in, and back here afterwards.
        let res = browser().get(app.url("/agent/exams")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/sign-in?next=/agent/exams");

        let agent = app.agent("List Agent").await;
        let b = signed_in(&app, &agent.email).await;
        let (status, html) = page(&b, &app, "/agent/exams").await;
        assert_eq!(status, 200);
        assert!(html.contains("There are no exams yet."), "empty state: {html}");
        let (_, home) = page(&b, &app, "/home").await;
        assert!(home.contains(r#"href="/agent/exams""#), "home links to the exams");

        // A track whose bank is too small is shown, but cannot be started.
        track(&app, 10, false).await;
        let (_, html) = page(&b, &app, "/agent/exams").await;
        assert!(html.contains("General") && html.contains("not ready yet"), "{html}");
        assert!(!html.contains("/agent/exams/general/start"));

        track(&app, 3, false).await;
        let (_, html) = page(&b, &app, "/agent/exams").await;
        assert!(html.contains("Start the General exam"), "{html}");
        assert!(html.contains("75%") && html.contains("30 minutes"));
        assert!(html.contains("24 hours between attempts, at most 3 attempts in 30 days"));
        assert!(html.contains("Times are shown in your time zone, Asia/Shanghai."));
        assert!(html.contains("You have not taken this exam yet."));
        let zh = b.get(app.url("/agent/exams")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("开始通用考试") && zh.contains("30 分钟"), "{zh}");

        // The start form is refused without its CSRF token.
        let res = b.post(app.url("/agent/exams/general/start")).form(&[("csrf_token", "")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.count("exam_attempts").await, 0);

        let id = start_by_form(&b, &app).await;
        let (_, html) = page(&b, &app, "/agent/exams").await;
        assert!(html.contains("Continue your General exam"), "{html}");
        assert!(html.contains(&format!(r#"href="/agent/attempts/{id}""#)));
        assert!(html.contains("In progress"));
        let today = crate::helpers::market_today().to_string();
        assert!(html.contains(&today), "the start date in the agent's zone ({today})");

        // Pressing Start again (an old tab) opens the attempt already running.
        let res = b
            .post(app.url("/agent/exams/general/start"))
            .form(&[("csrf_token", csrf_of(&html))])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), format!("/agent/attempts/{id}?resumed=1"));

        // Shops have no exams.
        let shop = app.merchant("No Exams Shop").await;
        let s = signed_in(&app, &shop.email).await;
        assert_eq!(page(&s, &app, "/agent/exams").await.0, StatusCode::FORBIDDEN);
    }

    async fn the_exam_page_resumes_saved_answers_and_shows_no_answer_key(app) {
        track(&app, 4, true).await;
        let agent = app.agent("Taker").await;
        let b = signed_in(&app, &agent.email).await;
        let id = start_by_form(&b, &app).await;
        let path = format!("/agent/attempts/{id}");

        let (status, html) = page(&b, &app, &path).await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("<fieldset class=\"question\"").count(), 4);
        assert_eq!(html.matches("<legend>").count(), 4);
        for secret in ["Apologise and give the tracking link", "Empathy 2", "7-day window", "correct", "rubric", "model_answer"] {
            assert!(!html.contains(secret), "{secret:?} leaked into the exam page");
        }
        assert!(html.contains(r#"role="timer""#) && html.contains("Time runs out at"));
        assert!(html.contains(r#"src="/static/exam.js""#));
        assert!(html.contains(r#"aria-describedby="q1-hint q1-points""#));
        assert!(html.contains("Choose every answer that applies.") && html.contains("5 points"));
        assert!(html.contains("Your answer to question"), "the scenario's textarea is labelled");

        // Answers saved through the API (as the page script autosaves) are filled in.
        let attempt: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();
        let scenario = attempt["questions"].as_array().unwrap().iter().find(|q| q["kind"] == "scenario").unwrap()["number"].as_u64().unwrap();
        let single = attempt["questions"].as_array().unwrap().iter().find(|q| q["kind"] == "single").unwrap()["number"].as_u64().unwrap();
        let saved = json!({"answers": [
            {"number": single, "choices": [2]},
            {"number": scenario, "text": "Sorry <b>so</b> sorry, here is the link."},
        ]});
        assert_eq!(app.post_as(&format!("/api/attempts/{id}/answers"), &agent.access, &saved).await.status(), 200);
        let (_, html) = page(&b, &app, &path).await;
        assert!(html.contains(&format!(r#"id="q{single}-o2" name="q{single}" value="2" checked"#)), "{html}");
        assert!(html.contains("Sorry &#60;b&#62;so&#60;/b&#62; sorry, here is the link.") || html.contains("Sorry &lt;b&gt;so&lt;/b&gt; sorry"), "escaped text in the textarea");

        // Saving through the form replaces them, and says so.
        let mut fields = vec![("csrf_token".to_owned(), csrf_of(&html)), ("then".to_owned(), "stay".to_owned())];
        fields.push((format!("q{single}"), "0".to_owned()));
        let res = b.post(app.url(&format!("{path}/answers"))).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), format!("{path}?saved=1"));
        let (_, html) = page(&b, &app, &format!("{path}?saved=1")).await;
        assert!(html.contains("Your answers are saved."));
        assert!(html.contains(&format!(r#"id="q{single}-o0" name="q{single}" value="0" checked"#)));
        assert!(!html.contains("here is the link"), "what the form left out is no longer saved");
        let stored: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();
        assert_eq!(stored["answers"], json!([{"number": single, "choices": [0], "text": null}]));

        // Without the CSRF token nothing is saved.
        let res = b.post(app.url(&format!("{path}/answers"))).form(&[(format!("q{single}"), "1")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);

        // Another agent finds nothing there.
        let nosy = app.agent("Nosy Agent").await;
        let n = signed_in(&app, &nosy.email).await;
        for p in [path.clone(), format!("{path}/confirm"), format!("{path}/result")] {
            let (status, html) = page(&n, &app, &p).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{p}");
            assert!(!html.contains("lipstick"), "{p} shows another agent's questions");
        }
        let (_, own) = page(&n, &app, "/agent/exams").await;
        let csrf = csrf_of(&own);
        for action in ["answers", "submit"] {
            let res = n.post(app.url(&format!("{path}/{action}"))).form(&[("csrf_token", csrf.as_str()), ("q1", "0")]).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
        }
        let stored_again: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();
        assert_eq!(stored_again["answers"], stored["answers"]);
        assert_eq!(stored_again["status"], "in_progress");

        // Signed out: to sign-in, and back to the attempt afterwards.
        let res = browser().get(app.url(&path)).send().await.unwrap();
        assert_eq!(location(&res), format!("/sign-in?next={path}"));
    }

    async fn submitting_through_the_form_shows_the_result_and_what_comes_next(app) {
        track(&app, 3, false).await;
        let agent = app.agent("Submitter").await;
        let b = signed_in(&app, &agent.email).await;
        let id = start_by_form(&b, &app).await;
        let path = format!("/agent/attempts/{id}");
        let (_, html) = page(&b, &app, &path).await;
        let attempt: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();

        // "Review and submit" saves and asks once more, naming what is unanswered.
        let mut fields = right_fields(&attempt);
        let skipped = fields.last().unwrap().0.clone();
        fields.retain(|f| f.0 != skipped);
        fields.push(("csrf_token".into(), csrf_of(&html)));
        fields.push(("then".into(), "review".into()));
        let res = b.post(app.url(&format!("{path}/answers"))).form(&fields).send().await.unwrap();
        assert_eq!(location(&res), format!("{path}/confirm"));
        let (_, confirm) = page(&b, &app, &format!("{path}/confirm")).await;
        assert!(confirm.contains("Submit your exam?"));
        assert!(confirm.contains("You answered 2 of 3 questions."), "{confirm}");
        let number = skipped.trim_start_matches('q');
        assert!(confirm.contains(&format!(r#"href="{path}#question-{number}">Question {number} of 3</a>"#)), "{confirm}");
        assert!(confirm.contains("Once you submit, you cannot change your answers."));

        // Answer the last one, then submit from the confirmation.
        let mut all = right_fields(&attempt);
        all.push(("csrf_token".into(), csrf_of(&html)));
        all.push(("then".into(), "review".into()));
        b.post(app.url(&format!("{path}/answers"))).form(&all).send().await.unwrap();
        let (_, confirm) = page(&b, &app, &format!("{path}/confirm")).await;
        assert!(confirm.contains("You answered 3 of 3 questions."), "{confirm}");
        let res = b.post(app.url(&format!("{path}/submit"))).form(&[("csrf_token", "wrong")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "CSRF is checked");
        let res = b.post(app.url(&format!("{path}/submit"))).form(&[("csrf_token", csrf_of(&confirm))]).send().await.unwrap();
        assert_eq!(location(&res), format!("{path}/result?submitted=1"));

        let (status, result) = page(&b, &app, &format!("{path}/result?submitted=1")).await;
        assert_eq!(status, 200);
        assert!(result.contains("Your exam is submitted."));
        assert!(result.contains("You passed."));
        assert!(result.contains("You scored 100%; the pass mark is 75%."));
        assert!(result.contains(r#"href="/agent/trials""#) && result.contains("Book a trial shift"));
        assert!(!result.contains("The order date"), "the result page shows no answer key");

        // The attempt now opens as its result; a second submit changes nothing.
        let res = b.get(app.url(&path)).send().await.unwrap();
        assert_eq!(location(&res), format!("{path}/result"));
        let res = b.post(app.url(&format!("{path}/submit"))).form(&[("csrf_token", csrf_of(&confirm))]).send().await.unwrap();
        assert_eq!(location(&res), format!("{path}/result"));
        let me: Value = app.get_as("/api/me", &agent.access).await.json().await.unwrap();
        assert_eq!(me["agent_status"], "exam_passed");

        let (_, list) = page(&b, &app, "/agent/exams").await;
        assert!(list.contains("Passed") && list.contains("100% (pass mark 75%)"), "{list}");
        assert!(list.contains("You can take this exam again from"), "{list}");
    }

    async fn a_failed_attempt_says_when_to_retake_and_start_refuses_until_then(app) {
        track(&app, 3, false).await;
        let agent = app.agent("Retaker").await;
        let b = signed_in(&app, &agent.email).await;
        let id = start_by_form(&b, &app).await;
        let path = format!("/agent/attempts/{id}");
        let (_, html) = page(&b, &app, &format!("{path}/confirm")).await;
        assert!(html.contains("You answered 0 of 3 questions."));
        let res = b.post(app.url(&format!("{path}/submit"))).form(&[("csrf_token", csrf_of(&html))]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, result) = page(&b, &app, &format!("{path}/result")).await;
        assert!(result.contains("You did not pass this time."));
        assert!(result.contains("You scored 0%; the pass mark is 75%."));
        assert!(result.contains("you can take the exam again from"), "{result}");
        assert!(result.contains("(Asia/Shanghai)"));
        // (The nav links to the trials on every agent page; the result offers no booking.)
        assert!(!result.contains(r#"<a class="button" href="/agent/trials">"#));

        // An old tab's Start button: refused, with the time to come back.
        let (_, list) = page(&b, &app, "/agent/exams").await;
        assert!(!list.contains("/agent/exams/general/start"), "no Start during the cooldown");
        let res = b.post(app.url("/agent/exams/general/start")).form(&[("csrf_token", csrf_of(&list))]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"role="alert""#) && html.contains("You took this exam recently. You can start it again from"), "{html}");

        app.clock.advance(chrono::Duration::hours(25));
        let (_, list) = page(&b, &app, "/agent/exams").await;
        assert!(list.contains("Start the General exam"));
        let (_, result) = page(&b, &app, &format!("{path}/result")).await;
        assert!(result.contains("You can take the exam again now."));
    }

    async fn written_answers_wait_for_a_reviewer(app) {
        track(&app, 4, true).await;
        let agent = app.agent("Writer").await;
        let b = signed_in(&app, &agent.email).await;
        let id = start_by_form(&b, &app).await;
        let path = format!("/agent/attempts/{id}");
        let attempt: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();
        let scenario = attempt["questions"].as_array().unwrap().iter().find(|q| q["kind"] == "scenario").unwrap()["number"].as_u64().unwrap();
        let (_, html) = page(&b, &app, &path).await;
        // The exam page itself can submit with its answers (as the page script does when
        // time runs out).
        let mut fields = right_fields(&attempt);
        fields.push((format!("q{scenario}"), "I am sorry; here is your tracking link.".into()));
        fields.push(("csrf_token".into(), csrf_of(&html)));
        let res = b.post(app.url(&format!("{path}/submit"))).form(&fields).send().await.unwrap();
        assert_eq!(location(&res), format!("{path}/result?submitted=1"));
        let (_, result) = page(&b, &app, &format!("{path}/result")).await;
        assert!(result.contains("Your written answers are waiting for a reviewer."), "{result}");
        assert!(result.contains("You need 75% of all points to pass."));
        assert!(!result.contains("Apologise and give the tracking link"));
        let (_, list) = page(&b, &app, "/agent/exams").await;
        assert!(list.contains("Waiting for a reviewer"));
    }

    async fn when_time_is_up_the_page_offers_to_submit_what_was_saved(app) {
        track(&app, 3, false).await;
        let agent = app.agent("Late").await;
        let b = signed_in(&app, &agent.email).await;
        let id = start_by_form(&b, &app).await;
        let path = format!("/agent/attempts/{id}");
        let (_, html) = page(&b, &app, &path).await;
        app.clock.advance(chrono::Duration::minutes(31));
        // A late save goes back to the page, which now says time is up.
        let res = b.post(app.url(&format!("{path}/answers"))).form(&[("csrf_token", csrf_of(&html).as_str()), ("q1", "0")]).send().await.unwrap();
        assert_eq!(location(&res), path);
        let (_, html) = page(&b, &app, &path).await;
        assert!(html.contains("Time is up for this exam."), "{html}");
        assert!(!html.contains("<fieldset"), "no more questions to answer");
        let (_, list) = page(&b, &app, "/agent/exams").await;
        assert!(list.contains("Time is up, not submitted yet"), "{list}");
        let res = b.post(app.url(&format!("{path}/submit"))).form(&[("csrf_token", csrf_of(&html))]).send().await.unwrap();
        assert_eq!(location(&res), format!("{path}/result?submitted=1"));
    }
}

/// An access cookie expires after 15 minutes, well within an exam: a form posted with only
/// the refresh cookie renews the session in place instead of losing the answers.
#[tokio::test]
async fn a_long_exam_form_renews_the_session_instead_of_losing_the_answers() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    track(&app, 3, false).await;
    let agent = app.agent("Slow Typist").await;
    let b = signed_in(&app, &agent.email).await;
    let id = start_by_form(&b, &app).await;
    let path = format!("/agent/attempts/{id}");
    let (_, html) = page(&b, &app, &path).await;
    let csrf = csrf_of(&html);
    let plain = browser();
    let res = plain
        .post(app.url(&format!("{path}/answers")))
        .header(
            "cookie",
            format!("cs_refresh={}; cs_csrf={csrf}", agent.refresh),
        )
        .form(&[("csrf_token", csrf.as_str()), ("q1", "0"), ("then", "stay")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?saved=1"));
    let renewed = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("cs_access="));
    assert!(renewed, "the response carries a new access cookie");
    let stored: Value = app
        .get_as(&format!("/api/attempts/{id}"), &agent.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["answers"][0]["number"], 1);

    // With no session at all: to sign-in, then back to the attempt.
    let res = browser()
        .post(app.url(&format!("{path}/answers")))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("/sign-in?next={path}"));
}
