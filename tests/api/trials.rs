//! Reviews of written exam answers, trial shifts and the certifications they grant.

use chrono::Duration;
use serde_json::{Value, json};

use crate::both_backends;
use crate::exams::{GOOD_CSV, ready_track, right_answers, track};
use crate::helpers::{Session, TestApp, field_codes, problem};

/// An agent who passed the `general` exam (choice questions only).
pub(crate) async fn exam_passed(app: &TestApp, name: &str) -> Session {
    let agent = app.agent(name).await;
    let attempt: Value = app
        .post_as("/api/exams/general/attempts", &agent.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = attempt["id"].as_str().unwrap();
    let graded: Value = app
        .post_as(
            &format!("/api/attempts/{id}/submit"),
            &agent.access,
            &right_answers(&attempt),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(graded["status"], "passed");
    agent
}

/// A `general` trial slot starting `in_hours` from the app's now, two hours long.
pub(crate) async fn slot(app: &TestApp, admin: &Session, in_hours: i64, capacity: i64) -> String {
    let starts = app.clock.now().and_utc() + Duration::hours(in_hours);
    let res = app
        .post_as(
            "/api/admin/trial-slots",
            &admin.access,
            &json!({"skill": "general", "starts_at": starts, "ends_at": starts + Duration::hours(2), "capacity": capacity}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let slot: Value = res.json().await.unwrap();
    slot["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn status_of(app: &TestApp, agent: &Session) -> String {
    let me: Value = app
        .get_as("/api/me", &agent.access)
        .await
        .json()
        .await
        .unwrap();
    me["agent_status"].as_str().unwrap().to_owned()
}

/// Books `slot`, waits for it to start, answers every practice chat's first message and
/// finishes; returns the trial id.
pub(crate) async fn work_trial(app: &TestApp, agent: &Session, slot: &str) -> String {
    let res = app
        .post_as(
            &format!("/api/trial-slots/{slot}/book"),
            &agent.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let trial: Value = res.json().await.unwrap();
    let id = trial["id"].as_str().unwrap().to_owned();
    let starts: chrono::DateTime<chrono::Utc> =
        trial["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock
        .advance(starts.naive_utc() - app.clock.now() + Duration::minutes(1));
    let begun: Value = app
        .post_as(
            &format!("/api/trials/{id}/begin"),
            &agent.access,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    for chat in begun["chats"].as_array().unwrap() {
        let res = app
            .post_as(
                &format!("/api/trials/{id}/replies"),
                &agent.access,
                &json!({"chat": chat["index"], "text": "Hello, I'm Li from the shop. Let me check that for you."}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let done: Value = app
        .post_as(
            &format!("/api/trials/{id}/finish"),
            &agent.access,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "awaiting_review");
    id
}

pub(crate) fn marks(score: u32) -> Value {
    let keys = [
        "greeting",
        "accuracy",
        "empathy",
        "resolution",
        "policy_compliance",
        "response_time",
    ];
    Value::Array(
        keys.iter()
            .map(|k| json!({"criterion": k, "score": score, "comment": "noted"}))
            .collect(),
    )
}

/// Polls until `check` holds (background jobs run every second in tests).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen");
}

both_backends! {
    async fn written_answers_wait_for_a_reviewer_whose_marks_settle_the_result(app) {
        let admin = app.admin().await;
        let mut rules = track(4);
        rules["pass_percent"] = json!(75);
        app.api.put(app.url("/api/admin/exam-tracks/general")).bearer_auth(&admin.access).json(&rules).send().await.unwrap();
        let res = app
            .post_as("/api/admin/exam-tracks/general/questions/import", &admin.access, &json!({"format": "csv", "content": GOOD_CSV}))
            .await;
        assert_eq!(res.status(), 201);

        let agent = app.agent("Writer").await;
        let attempt: Value = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await.json().await.unwrap();
        let id = attempt["id"].as_str().unwrap().to_owned();
        let mut answers = right_answers(&attempt);
        let scenario = attempt["questions"].as_array().unwrap().iter().find(|q| q["kind"] == "scenario").unwrap();
        let number = scenario["number"].as_u64().unwrap();
        for a in answers["answers"].as_array_mut().unwrap() {
            if a["number"] == number {
                *a = json!({"number": number, "text": "I'm so sorry. Here is your tracking link."});
            }
        }
        let submitted: Value = app.post_as(&format!("/api/attempts/{id}/submit"), &agent.access, &answers).await.json().await.unwrap();
        assert_eq!(submitted["status"], "awaiting_review");
        assert!(submitted["percent"].is_null());
        app.smtp.wait_for(&agent.email, "with a reviewer").await;

        let queue: Value = app.get_as("/api/admin/exam-reviews?skill=general", &admin.access).await.json().await.unwrap();
        assert_eq!(queue["items"][0]["id"], id.as_str());
        assert_eq!(queue["items"][0]["agent_name"], "Writer");
        assert_eq!(queue["items"][0]["waiting_hours"], 0);
        let empty: Value = app.get_as("/api/admin/exam-reviews?skill=pre_sale", &admin.access).await.json().await.unwrap();
        assert_eq!(empty["items"], json!([]));

        let path = format!("/api/admin/exam-reviews/{id}");
        let review: Value = app.get_as(&path, &admin.access).await.json().await.unwrap();
        assert_eq!(review["choice_points"], 4);
        assert_eq!(review["scenario_max"], 5);
        assert_eq!(review["scenarios"][0]["model_answer"], "Apologise and give the tracking link");
        assert_eq!(review["scenarios"][0]["answer"], "I'm so sorry. Here is your tracking link.");

        // Bad marks change nothing.
        let too_many = app.post_as(&path, &admin.access, &json!({"marks": [{"number": number, "points": 6}]})).await;
        let body = problem(too_many, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("marks[0].points".to_owned(), "out_of_range".to_owned())]);
        let missing = app.post_as(&path, &admin.access, &json!({"marks": []})).await;
        let body = problem(missing, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("marks".to_owned(), "missing".to_owned())]);
        assert_eq!(status_of(&app, &agent).await, "applicant");

        // 4 of 4 choice points and 3 of 5 for the writing: 7 of 9 is 77 %, over the 75 % bar.
        let res = app.post_as(&path, &admin.access, &json!({"marks": [{"number": number, "points": 3, "comment": "Add the next step"}]})).await;
        assert_eq!(res.status(), 200);
        let settled: Value = res.json().await.unwrap();
        assert_eq!(settled["status"], "passed");
        assert_eq!(settled["percent"], 77);
        assert_eq!(settled["marks"][0]["comment"], "Add the next step");
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
        let mail = app.smtp.wait_for(&agent.email, "You passed").await;
        assert!(mail.text.contains("77%") && mail.text.contains("/agent/trials"), "{}", mail.text);
        problem(app.post_as(&path, &admin.access, &json!({"marks": [{"number": number, "points": 3}]})).await, 409, "not_awaiting_review").await;
        let queue: Value = app.get_as("/api/admin/exam-reviews", &admin.access).await.json().await.unwrap();
        assert_eq!(queue["items"], json!([]), "a settled attempt leaves the queue");
        let audit: Value = app.get_as("/api/admin/audit-log", &admin.access).await.json().await.unwrap();
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "exam.reviewed"));
    }

    async fn the_review_queue_runs_by_submission_time_across_pages(app) {
        let admin = app.admin().await;
        app.api.put(app.url("/api/admin/exam-tracks/general")).bearer_auth(&admin.access).json(&track(4)).send().await.unwrap();
        app.post_as("/api/admin/exam-tracks/general/questions/import", &admin.access, &json!({"format": "csv", "content": GOOD_CSV})).await;
        let written = |attempt: &Value| {
            let mut answers = right_answers(attempt);
            for a in answers["answers"].as_array_mut().unwrap() {
                let q = &attempt["questions"][a["number"].as_u64().unwrap() as usize - 1];
                if q["kind"] == "scenario" {
                    *a = json!({"number": a["number"], "text": "Sorry, here is the link."});
                }
            }
            answers
        };
        // The early starter submits last.
        let (early, late) = (app.agent("Early Starter").await, app.agent("Quick Finisher").await);
        let a: Value = app.post_as("/api/exams/general/attempts", &early.access, &json!({})).await.json().await.unwrap();
        let b: Value = app.post_as("/api/exams/general/attempts", &late.access, &json!({})).await.json().await.unwrap();
        let (a_id, b_id) = (a["id"].as_str().unwrap().to_owned(), b["id"].as_str().unwrap().to_owned());
        app.post_as(&format!("/api/attempts/{b_id}/submit"), &late.access, &written(&b)).await;
        app.clock.advance(Duration::minutes(5));
        app.post_as(&format!("/api/attempts/{a_id}/submit"), &early.access, &written(&a)).await;
        let first: Value = app.get_as("/api/admin/exam-reviews?limit=1", &admin.access).await.json().await.unwrap();
        assert_eq!(first["items"][0]["id"], b_id.as_str(), "the one waiting longest comes first");
        let cursor = first["next_cursor"].as_str().unwrap();
        let second: Value = app.get_as(&format!("/api/admin/exam-reviews?limit=1&cursor={cursor}"), &admin.access).await.json().await.unwrap();
        assert_eq!(second["items"][0]["id"], a_id.as_str());
        assert!(second["next_cursor"].is_null());
    }

    async fn an_abandoned_attempt_is_graded_at_its_deadline(app) {
        ready_track(&app, 3).await;
        let agent = app.agent("Gone").await;
        let attempt: Value = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await.json().await.unwrap();
        let id = attempt["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(&format!("/api/attempts/{id}/answers"), &agent.access, &right_answers(&attempt)).await.status(), 200);
        app.clock.advance(Duration::minutes(31));
        eventually("grading the abandoned attempt", || async {
            let a: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();
            a["status"] == "passed"
        })
        .await;
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
        app.smtp.wait_for(&agent.email, "You passed").await;
    }

    async fn a_trial_takes_an_agent_from_exam_passed_to_certified(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Trainee").await;
        let first = slot(&app, &admin, 2, 2).await;

        // Slots are checked.
        let now = app.clock.now().and_utc();
        let bad = app
            .post_as("/api/admin/trial-slots", &admin.access, &json!({"skill": "general", "starts_at": now - Duration::hours(1), "ends_at": now, "capacity": 0}))
            .await;
        let body = problem(bad, 422, "validation_failed").await;
        let fields: Vec<String> = field_codes(&body).into_iter().map(|f| f.0).collect();
        assert_eq!(fields, ["starts_at", "capacity"]);

        let open: Value = app.get_as("/api/trial-slots?skill=general", &agent.access).await.json().await.unwrap();
        assert_eq!(open[0]["id"], first.as_str());

        let res = app.post_as(&format!("/api/trial-slots/{first}/book"), &agent.access, &json!({})).await;
        assert_eq!(res.status(), 201);
        let trial: Value = res.json().await.unwrap();
        assert_eq!(trial["status"], "booked");
        assert_eq!(trial["trial"], true);
        assert_eq!(trial["chats"][0]["turns"], json!([]), "nothing is shown before the trial begins");
        let trial_id = trial["id"].as_str().unwrap().to_owned();
        assert_eq!(status_of(&app, &agent).await, "in_trial");
        app.smtp.wait_for(&agent.email, "trial shift is booked").await;
        problem(app.post_as(&format!("/api/trial-slots/{first}/book"), &agent.access, &json!({})).await, 409, "trial_already_booked").await;
        let early = app.post_as(&format!("/api/trials/{trial_id}/begin"), &agent.access, &json!({})).await;
        let body = problem(early, 409, "trial_not_started").await;
        assert!(body["starts_at"].is_string());

        // Cancelling gives the seat back and the agent their standing.
        let cancelled: Value = app.post_as(&format!("/api/trials/{trial_id}/cancel"), &agent.access, &json!({})).await.json().await.unwrap();
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
        let slots: Value = app.get_as("/api/admin/trial-slots", &admin.access).await.json().await.unwrap();
        assert_eq!(slots[0]["booked"], 0);

        // The trial: all practice chats at once; each reply brings the customer's next message.
        let res = app.post_as(&format!("/api/trial-slots/{first}/book"), &agent.access, &json!({})).await;
        let trial: Value = res.json().await.unwrap();
        let trial_id = trial["id"].as_str().unwrap().to_owned();
        app.clock.advance(Duration::hours(2) + Duration::minutes(1));
        let begun: Value = app.post_as(&format!("/api/trials/{trial_id}/begin"), &agent.access, &json!({})).await.json().await.unwrap();
        assert_eq!(begun["chats"].as_array().unwrap().len(), 3);
        assert!(begun["chats"].as_array().unwrap().iter().all(|c| c["waiting"] == true && c["turns"].as_array().unwrap().len() == 1));
        app.clock.advance(Duration::seconds(45));
        let replied: Value = app
            .post_as(&format!("/api/trials/{trial_id}/replies"), &agent.access, &json!({"chat": 0, "text": "Hi! For 170 cm I'd suggest M."}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(replied["chats"][0]["turns"].as_array().unwrap().len(), 2);
        assert_eq!(replied["chats"][0]["turns"][0]["reply"], "Hi! For 170 cm I'd suggest M.");
        let body = problem(app.post_as(&format!("/api/trials/{trial_id}/replies"), &agent.access, &json!({"chat": 9, "text": "x"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body)[0].0, "chat");
        let body = problem(app.post_as(&format!("/api/trials/{trial_id}/replies"), &agent.access, &json!({"chat": 1, "text": "  "})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body)[0].0, "text");
        let done: Value = app.post_as(&format!("/api/trials/{trial_id}/finish"), &agent.access, &json!({})).await.json().await.unwrap();
        assert_eq!(done["status"], "awaiting_review");

        // A reviewer fails it; feedback is required for that.
        let queue: Value = app.get_as("/api/admin/trial-reviews", &admin.access).await.json().await.unwrap();
        assert_eq!(queue["items"][0]["id"], trial_id.as_str());
        let path = format!("/api/admin/trial-reviews/{trial_id}");
        let review: Value = app.get_as(&path, &admin.access).await.json().await.unwrap();
        assert_eq!(review["criteria"].as_array().unwrap().len(), 6);
        assert_eq!(review["response_seconds"], json!([45]));
        assert_eq!(review["trial"]["chats"][0]["turns"][0]["reply"], "Hi! For 170 cm I'd suggest M.");
        let body = problem(app.post_as(&path, &admin.access, &json!({"marks": marks(2)})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("feedback".to_owned(), "required".to_owned())]);
        let failed: Value = app
            .post_as(&path, &admin.access, &json!({"marks": marks(2), "feedback": "Answer every customer before finishing."}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(failed["trial"]["status"], "failed");
        assert_eq!(failed["trial"]["percent"], 50);
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
        let mail = app.smtp.wait_for(&agent.email, "trial result").await;
        assert!(mail.text.contains("Answer every customer before finishing."), "{}", mail.text);
        problem(app.post_as(&path, &admin.access, &json!({"marks": marks(4)})).await, 409, "not_awaiting_review").await;

        // The next trial passes: certified for the skill for twelve months.
        let second = slot(&app, &admin, 1, 1).await;
        let trial_id = work_trial(&app, &agent, &second).await;
        let passed: Value = app
            .post_as(&format!("/api/admin/trial-reviews/{trial_id}"), &admin.access, &json!({"marks": marks(4)}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(passed["trial"]["status"], "passed");
        assert_eq!(status_of(&app, &agent).await, "certified");
        app.smtp.wait_for(&agent.email, "certified for General").await;
        let certs: Value = app.get_as("/api/agents/me/certifications", &agent.access).await.json().await.unwrap();
        assert_eq!(certs[0]["skill"], "general");
        assert_eq!(certs[0]["valid"], true);
        let (from, to): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = (
            certs[0]["certified_at"].as_str().unwrap().parse().unwrap(),
            certs[0]["expires_at"].as_str().unwrap().parse().unwrap(),
        );
        assert!((365..=366).contains(&(to - from).num_days()));
        let mine: Value = app.get_as("/api/agents/me/trials", &agent.access).await.json().await.unwrap();
        let statuses: Vec<&str> = mine.as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["passed", "failed", "cancelled"]);
        let timeline: Value = app.get_as(&format!("/api/admin/agents/{}/timeline", agent.id()), &admin.access).await.json().await.unwrap();
        let moves: Vec<&str> = timeline["items"].as_array().unwrap().iter().map(|e| e["to_status"].as_str().unwrap()).collect();
        assert_eq!(moves, ["certified", "in_trial", "exam_passed", "in_trial", "exam_passed", "in_trial", "exam_passed", "applicant"]);

        // Certified agents don't book trials for the skill again until renewal is near.
        let third = slot(&app, &admin, 3, 1).await;
        problem(app.post_as(&format!("/api/trial-slots/{third}/book"), &agent.access, &json!({})).await, 409, "already_certified").await;
        // Other agents never see someone else's trial.
        let other = app.agent("Nosy").await;
        problem(app.get_as(&format!("/api/trials/{trial_id}"), &other.access).await, 404, "not_found").await;
        problem(app.post_as(&format!("/api/trials/{trial_id}/finish"), &other.access, &json!({})).await, 404, "not_found").await;
    }

    async fn certifications_expire_after_reminders_at_30_and_7_days(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Veteran").await;
        let s = slot(&app, &admin, 1, 1).await;
        let trial_id = work_trial(&app, &agent, &s).await;
        let res = app.post_as(&format!("/api/admin/trial-reviews/{trial_id}"), &admin.access, &json!({"marks": marks(4)})).await;
        assert_eq!(res.status(), 200);
        let certs: Value = app.get_as("/api/agents/me/certifications", &agent.access).await.json().await.unwrap();
        let expires: chrono::DateTime<chrono::Utc> = certs[0]["expires_at"].as_str().unwrap().parse().unwrap();

        app.clock.advance(expires.naive_utc() - app.clock.now() - Duration::days(29));
        let mail = app.smtp.wait_for(&agent.email, "expires in 29 days").await;
        assert!(mail.text.contains("renewal trial"), "{}", mail.text);
        app.clock.advance(Duration::days(23));
        app.smtp.wait_for(&agent.email, "expires in 6 days").await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let reminders = app.smtp.all().into_iter().filter(|m| m.to.iter().any(|t| t.contains(&agent.email)) && m.subject.contains("expires in")).count();
        assert_eq!(reminders, 2, "each reminder goes once");

        // Renewing early loses nothing: the new year starts when the old one ends.
        let renew = slot(&app, &admin, 1, 1).await;
        let trial_id = work_trial(&app, &agent, &renew).await;
        let res = app.post_as(&format!("/api/admin/trial-reviews/{trial_id}"), &admin.access, &json!({"marks": marks(4)})).await;
        assert_eq!(res.status(), 200);
        let certs: Value = app.get_as("/api/agents/me/certifications", &agent.access).await.json().await.unwrap();
        let renewed: chrono::DateTime<chrono::Utc> = certs[0]["expires_at"].as_str().unwrap().parse().unwrap();
        assert!((365..=366).contains(&(renewed - expires).num_days()), "{expires} -> {renewed}");

        // Past the renewed expiry, the certification no longer counts.
        app.clock.advance(renewed.naive_utc() - app.clock.now() + Duration::hours(1));
        let certs: Value = app.get_as("/api/agents/me/certifications", &agent.access).await.json().await.unwrap();
        assert_eq!(certs[0]["valid"], false, "expired");
        let id = agent.id();
        let clock_now = app.clock.now();
        let (before, after) = app
            .with_db(move |c| {
                let agent = cloudseat::accounts::model::AccountId(id);
                (
                    cloudseat::certification::trials::certified_during(c, &agent, "general", clock_now - Duration::days(400), clock_now - Duration::days(400) + Duration::hours(4)).unwrap(),
                    cloudseat::certification::trials::certified_during(c, &agent, "general", clock_now, clock_now + Duration::hours(4)).unwrap(),
                )
            })
            .await;
        assert!(before && !after, "claims check validity at the shift's time");
    }

    async fn suspending_an_agent_gives_their_trial_seat_back(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Suspended Trainee").await;
        let s = slot(&app, &admin, 3, 1).await;
        let trial: Value = app.post_as(&format!("/api/trial-slots/{s}/book"), &agent.access, &json!({})).await.json().await.unwrap();
        let id = trial["id"].as_str().unwrap();
        let res = app.post_as(&format!("/api/admin/agents/{}/suspend", agent.id()), &admin.access, &json!({"reason": "No-shows on trial days"})).await;
        assert_eq!(res.status(), 200);
        let t: Value = app.get_as(&format!("/api/trials/{id}"), &agent.access).await.json().await.unwrap();
        assert_eq!(t["status"], "cancelled");
        let slots: Value = app.get_as("/api/admin/trial-slots", &admin.access).await.json().await.unwrap();
        assert_eq!(slots[0]["booked"], 0, "the seat is free for someone else");
        // Reinstated, the agent is back to booking a trial.
        app.post_as(&format!("/api/admin/agents/{}/reinstate", agent.id()), &admin.access, &json!({"reason": "Talked it through"})).await;
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
    }

    async fn a_missed_trial_sends_the_agent_back_to_booking(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let agent = exam_passed(&app, "Absent").await;
        let s = slot(&app, &admin, 1, 1).await;
        let trial: Value = app.post_as(&format!("/api/trial-slots/{s}/book"), &agent.access, &json!({})).await.json().await.unwrap();
        let id = trial["id"].as_str().unwrap().to_owned();
        problem(app.post_as(&format!("/api/trials/{id}/finish"), &agent.access, &json!({})).await, 409, "nothing_answered").await;
        app.clock.advance(Duration::hours(4));
        eventually("closing the missed trial", || async {
            let t: Value = app.get_as(&format!("/api/trials/{id}"), &agent.access).await.json().await.unwrap();
            t["status"] == "missed"
        })
        .await;
        assert_eq!(status_of(&app, &agent).await, "exam_passed");
        app.smtp.wait_for(&agent.email, "You missed").await;
        problem(app.post_as(&format!("/api/trials/{id}/begin"), &agent.access, &json!({})).await, 409, "not_booked").await;
    }

    async fn a_full_slot_takes_no_more_bookings(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let a = exam_passed(&app, "First").await;
        let b = exam_passed(&app, "Second").await;
        let s = slot(&app, &admin, 5, 1).await;
        let path = format!("/api/trial-slots/{s}/book");
        let empty = json!({});
        let (ra, rb) = tokio::join!(
            app.post_as(&path, &a.access, &empty),
            app.post_as(&path, &b.access, &empty)
        );
        let mut codes = vec![ra.status().as_u16(), rb.status().as_u16()];
        codes.sort();
        assert_eq!(codes, [201, 409], "exactly one gets the seat");
        let slots: Value = app.get_as("/api/admin/trial-slots?skill=general", &admin.access).await.json().await.unwrap();
        assert_eq!(slots[0]["booked"], 1);
        let open: Value = app.get_as("/api/trial-slots", &a.access).await.json().await.unwrap();
        assert_eq!(open, json!([]), "full slots are not offered");
        // An applicant who has not passed the exam cannot book at all.
        let fresh = app.agent("Fresh").await;
        let other = slot(&app, &admin, 6, 3).await;
        problem(app.post_as(&format!("/api/trial-slots/{other}/book"), &fresh.access, &json!({})).await, 409, "exam_not_passed").await;
    }

    async fn trial_rules_are_set_per_track(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let path = "/api/admin/exam-tracks/general/trial";
        let defaults: Value = app.get_as(path, &admin.access).await.json().await.unwrap();
        assert_eq!(defaults["pass_percent"], 75);
        assert_eq!(defaults["criteria"].as_array().unwrap().len(), 6);

        let mut bad = defaults.clone();
        bad["pass_percent"] = json!(0);
        bad["criteria"][0]["weight"] = json!(0);
        bad["practice_chats"] = json!([]);
        let res = app.api.put(app.url(path)).bearer_auth(&admin.access).json(&bad).send().await.unwrap();
        let body = problem(res, 422, "validation_failed").await;
        let fields: Vec<String> = field_codes(&body).into_iter().map(|f| f.0).collect();
        assert_eq!(fields, ["pass_percent", "criteria[0].weight", "practice_chats"]);

        let custom = json!({
            "pass_percent": 80,
            "criteria": [{"key": "accuracy", "weight": 3, "guidance": "Right facts"}, {"key": "tone", "weight": 1, "guidance": "Kind"}],
            "practice_chats": [{"title": "Lipstick", "turns": ["Is this shade matte?", "Does it transfer?"]}]
        });
        let res = app.api.put(app.url(path)).bearer_auth(&admin.access).json(&custom).send().await.unwrap();
        assert_eq!(res.status(), 200);
        problem(app.api.put(app.url("/api/admin/exam-tracks/telepathy/trial")).bearer_auth(&admin.access).json(&custom).send().await.unwrap(), 404, "not_found").await;

        let agent = exam_passed(&app, "Custom").await;
        let s = slot(&app, &admin, 1, 1).await;
        let trial: Value = app.post_as(&format!("/api/trial-slots/{s}/book"), &agent.access, &json!({})).await.json().await.unwrap();
        assert_eq!(trial["chats"][0]["title"], "Lipstick");
    }
}
