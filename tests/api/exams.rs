//! Exam tracks and question-bank imports (admin side).

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{field_codes, problem};

pub(crate) const GOOD_CSV: &str = "topic,kind,prompt,option_1,option_2,option_3,correct,points,model_answer,rubric
returns,single,A customer wants to return an opened lipstick. What do you check first?,The order date,The colour,The weather,1,1,,
returns,multiple,Which two details does a refund need?,Order number,Favourite colour,Payment method,1;3,2,,
shipping,single,When does an order placed at 23:00 ship?,Next working day,Now,Never,1,1,,
tone,scenario,A customer writes in capitals that the parcel is late. Reply.,,,,,5,Apologise and give the tracking link,Empathy 2; accuracy 2; next step 1
";

pub(crate) fn track(size: i64) -> Value {
    json!({"exam_size": size, "pass_percent": 80, "duration_minutes": 30, "cooldown_hours": 24, "max_attempts_per_30_days": 3})
}

both_backends! {
    async fn admins_set_up_a_track_and_import_its_bank(app) {
        let admin = app.admin().await;
        let path = "/api/admin/exam-tracks/general";
        let res = app.api.put(app.url(path)).bearer_auth(&admin.access).json(&track(4)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let saved: Value = res.json().await.unwrap();
        assert_eq!(saved["bank_size"], 0);
        assert_eq!(saved["ready"], false, "an empty bank cannot make an exam");

        let res = app
            .post_as("/api/admin/exam-tracks/general/questions/import", &admin.access, &json!({"format": "csv", "content": GOOD_CSV}))
            .await;
        assert_eq!(res.status(), 201);
        let imported: Value = res.json().await.unwrap();
        assert_eq!(imported["imported"], 4);

        let tracks: Value = app.get_as("/api/admin/exam-tracks", &admin.access).await.json().await.unwrap();
        assert_eq!(tracks[0]["skill"], "general");
        assert_eq!(tracks[0]["bank_size"], 4);
        assert_eq!(tracks[0]["ready"], true);
        assert_eq!(tracks[0]["topics"][0], json!({"topic": "returns", "questions": 2}));

        let page: Value = app.get_as("/api/admin/exam-tracks/general/questions?limit=3", &admin.access).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        assert_eq!(page["items"][1]["question"]["correct"], json!([0, 2]), "admins see the answers");
        let cursor = page["next_cursor"].as_str().unwrap();
        let rest: Value = app
            .get_as(&format!("/api/admin/exam-tracks/general/questions?limit=3&cursor={cursor}"), &admin.access)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rest["items"][0]["question"]["kind"], "scenario");

        let audit: Value = app.get_as("/api/admin/audit-log", &admin.access).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"exam_track.saved") && actions.contains(&"exam_questions.imported"), "{actions:?}");
    }

    async fn a_broken_import_reports_every_bad_row_and_stores_nothing(app) {
        let admin = app.admin().await;
        app.api.put(app.url("/api/admin/exam-tracks/general")).bearer_auth(&admin.access).json(&track(2)).send().await.unwrap();
        let broken = format!(
            "{GOOD_CSV}returns,single,,A,B,,1,1,,\nreturns,single,Pick one,A,B,,7,1,,\nreturns,riddle,What?,A,B,,1,1,,\n"
        );
        let res = app
            .post_as("/api/admin/exam-tracks/general/questions/import", &admin.access, &json!({"format": "csv", "content": broken}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        let fields: Vec<String> = field_codes(&body).into_iter().map(|f| f.0).collect();
        assert!(fields.contains(&"questions[5].prompt".to_owned()), "{fields:?}");
        assert!(fields.contains(&"questions[6].correct".to_owned()), "{fields:?}");
        assert!(fields.contains(&"questions[7].kind".to_owned()), "{fields:?}");
        assert_eq!(app.count("exam_questions").await, 0, "nothing half-imported");

        let bad_format = app
            .post_as("/api/admin/exam-tracks/general/questions/import", &admin.access, &json!({"format": "xlsx", "content": ""}))
            .await;
        problem(bad_format, 422, "validation_failed").await;
        let no_track = app
            .post_as("/api/admin/exam-tracks/pre_sale/questions/import", &admin.access, &json!({"format": "csv", "content": GOOD_CSV}))
            .await;
        problem(no_track, 404, "not_found").await;
    }

    async fn track_settings_are_checked(app) {
        let admin = app.admin().await;
        let mut bad = track(0);
        bad["pass_percent"] = json!(150);
        let res = app.api.put(app.url("/api/admin/exam-tracks/general")).bearer_auth(&admin.access).json(&bad).send().await.unwrap();
        let body = problem(res, 422, "validation_failed").await;
        let fields: Vec<String> = field_codes(&body).into_iter().map(|f| f.0).collect();
        assert_eq!(fields, ["exam_size", "pass_percent"]);
        let res = app.api.put(app.url("/api/admin/exam-tracks/telepathy")).bearer_auth(&admin.access).json(&track(5)).send().await.unwrap();
        problem(res, 404, "not_found").await;
    }
}

/// Sets up the `general` track (4 questions, 75% to pass, 30 minutes) with the good bank
/// (the scenario excluded, so attempts grade at once).
pub(crate) async fn ready_track(app: &crate::helpers::TestApp, size: i64) {
    let admin = app.admin().await;
    let mut rules = track(size);
    rules["pass_percent"] = json!(75);
    let res = app
        .api
        .put(app.url("/api/admin/exam-tracks/general"))
        .bearer_auth(&admin.access)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let choice_only: String = GOOD_CSV
        .lines()
        .filter(|l| !l.contains(",scenario,"))
        .collect::<Vec<_>>()
        .join("\n");
    let res = app
        .post_as(
            "/api/admin/exam-tracks/general/questions/import",
            &admin.access,
            &json!({"format": "csv", "content": choice_only}),
        )
        .await;
    assert_eq!(res.status(), 201);
}

/// The right answers for an attempt, found the way an agent would: by reading the options.
pub(crate) fn right_answers(attempt: &Value) -> Value {
    let answers: Vec<Value> = attempt["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let options: Vec<&str> = q["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap())
                .collect();
            let right = [
                "The order date",
                "Order number",
                "Payment method",
                "Next working day",
            ];
            let choices: Vec<usize> = options
                .iter()
                .enumerate()
                .filter(|(_, o)| right.contains(o))
                .map(|(i, _)| i)
                .collect();
            json!({"number": q["number"], "choices": choices})
        })
        .collect();
    json!({ "answers": answers })
}

both_backends! {
    async fn an_agent_takes_the_exam_and_passes(app) {
        ready_track(&app, 3).await;
        let agent = app.agent("Examinee").await;
        let res = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await;
        assert_eq!(res.status(), 201);
        let attempt: Value = res.json().await.unwrap();
        let text = attempt.to_string();
        for secret in ["correct", "model_answer", "rubric", "topic"] {
            assert!(!text.contains(secret), "{secret} leaked into the attempt: {text}");
        }
        assert_eq!(attempt["questions"].as_array().unwrap().len(), 3);
        let id = attempt["id"].as_str().unwrap().to_owned();

        // Autosave, then resume after a "reload".
        let first = json!({"answers": [{"number": 1, "choices": [0]}]});
        assert_eq!(app.post_as(&format!("/api/attempts/{id}/answers"), &agent.access, &first).await.status(), 200);
        let resumed: Value = app.get_as(&format!("/api/attempts/{id}"), &agent.access).await.json().await.unwrap();
        assert_eq!(resumed["answers"][0]["number"], 1);
        // An answer to a question that is not in the attempt.
        let stray = json!({"answers": [{"number": 9, "choices": [0]}]});
        problem(app.post_as(&format!("/api/attempts/{id}/answers"), &agent.access, &stray).await, 422, "validation_failed").await;

        let res = app.post_as(&format!("/api/attempts/{id}/submit"), &agent.access, &right_answers(&attempt)).await;
        assert_eq!(res.status(), 200);
        let graded: Value = res.json().await.unwrap();
        assert_eq!(graded["status"], "passed");
        assert_eq!(graded["percent"], 100);
        let me: Value = app.get_as("/api/me", &agent.access).await.json().await.unwrap();
        assert_eq!(me["agent_status"], "exam_passed");
        problem(app.post_as(&format!("/api/attempts/{id}/submit"), &agent.access, &json!({})).await, 409, "already_submitted").await;

        // Nobody else sees it.
        let other = app.agent("Nosy").await;
        problem(app.get_as(&format!("/api/attempts/{id}"), &other.access).await, 404, "not_found").await;
        problem(app.post_as(&format!("/api/attempts/{id}/submit"), &other.access, &json!({})).await, 404, "not_found").await;
    }

    async fn a_failed_attempt_waits_out_the_cooldown(app) {
        ready_track(&app, 3).await;
        let agent = app.agent("Unlucky").await;
        let attempt: Value = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await.json().await.unwrap();
        let id = attempt["id"].as_str().unwrap();
        let graded: Value = app.post_as(&format!("/api/attempts/{id}/submit"), &agent.access, &json!({})).await.json().await.unwrap();
        assert_eq!(graded["status"], "failed");
        assert_eq!(graded["percent"], 0, "unanswered questions are wrong");
        let res = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await;
        let body = problem(res, 409, "retake_cooldown").await;
        assert!(body["retry_at"].is_string());
        app.clock.advance(chrono::Duration::hours(25));
        assert_eq!(app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await.status(), 201);
    }

    async fn after_the_deadline_the_attempt_is_graded_as_it_stands(app) {
        ready_track(&app, 3).await;
        let agent = app.agent("Slow").await;
        let attempt: Value = app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await.json().await.unwrap();
        let id = attempt["id"].as_str().unwrap();
        app.clock.advance(chrono::Duration::minutes(31));
        let late = app.post_as(&format!("/api/attempts/{id}/answers"), &agent.access, &right_answers(&attempt)).await;
        problem(late, 409, "deadline_passed").await;
        let graded: Value = app
            .post_as(&format!("/api/attempts/{id}/submit"), &agent.access, &right_answers(&attempt))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(graded["status"], "failed", "answers sent after the deadline do not count");
    }

    async fn an_exam_with_too_small_a_bank_cannot_start(app) {
        ready_track(&app, 3).await;
        let admin = app.admin().await;
        let res = app.api.put(app.url("/api/admin/exam-tracks/general")).bearer_auth(&admin.access).json(&track(10)).send().await.unwrap();
        let view: Value = res.json().await.unwrap();
        assert_eq!(view["ready"], false);
        let agent = app.agent("Early").await;
        problem(app.post_as("/api/exams/general/attempts", &agent.access, &json!({})).await, 409, "exam_unavailable").await;
        problem(app.post_as("/api/exams/pre_sale/attempts", &agent.access, &json!({})).await, 404, "not_found").await;
    }
}
