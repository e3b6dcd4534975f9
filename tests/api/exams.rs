//! Exam tracks and question-bank imports (admin side).

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{field_codes, problem};

const GOOD_CSV: &str = "topic,kind,prompt,option_1,option_2,option_3,correct,points,model_answer,rubric
returns,single,A customer wants to return an opened lipstick. What do you check first?,The order date,The colour,The weather,1,1,,
returns,multiple,Which two details does a refund need?,Order number,Favourite colour,Payment method,1;3,2,,
shipping,single,When does an order placed at 23:00 ship?,Next working day,Now,Never,1,1,,
tone,scenario,A customer writes in capitals that the parcel is late. Reply.,,,,,5,Apologise and give the tracking link,Empathy 2; accuracy 2; next step 1
";

fn track(size: i64) -> Value {
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
