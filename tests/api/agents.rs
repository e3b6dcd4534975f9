//! Agent profiles and the agent lifecycle.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{field_codes, problem};

fn profile() -> Value {
    json!({
        "display_name": "Wang Fang",
        "time_zone": "Asia/Shanghai",
        "languages": ["zh", "en"],
        "skills": ["general", "pre_sale"],
        "availability": [
            {"day": "mon", "start": "19:00", "end": "21:30"},
            {"day": "sat", "start": "09:00", "end": "12:00"}
        ],
        "max_concurrent_chats": 3,
        "accessibility": ["screen_reader", "keyboard_only"]
    })
}

both_backends! {
    async fn an_agent_fills_in_their_profile(app) {
        let agent = app.agent("Profile Agent").await;
        let empty: Value = app.get_as("/api/agents/me/profile", &agent.access).await.json().await.unwrap();
        assert_eq!(empty["status"], "applicant");
        assert_eq!(empty["languages"], json!([]));
        assert_eq!(empty["max_concurrent_chats"], 2);

        let res = app.api.put(app.url("/api/agents/me/profile")).bearer_auth(&agent.access).json(&profile()).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let saved: Value = res.json().await.unwrap();
        assert_eq!(saved["display_name"], "Wang Fang");
        assert_eq!(saved["weekly_hours"], 5.5);
        assert_eq!(saved["accessibility"], json!(["screen_reader", "keyboard_only"]));
        let again: Value = app.get_as("/api/agents/me/profile", &agent.access).await.json().await.unwrap();
        assert_eq!(again["availability"][1]["day"], "sat");
        let me: Value = app.get_as("/api/me", &agent.access).await.json().await.unwrap();
        assert_eq!(me["display_name"], "Wang Fang", "the name is the account's");

        let mut bad = profile();
        bad["max_concurrent_chats"] = json!(9);
        bad["skills"] = json!(["telepathy"]);
        bad["availability"] = json!([{"day": "mon", "start": "19:10", "end": "21:00"}]);
        let res = app.api.put(app.url("/api/agents/me/profile")).bearer_auth(&agent.access).json(&bad).send().await.unwrap();
        let body = problem(res, 422, "validation_failed").await;
        let fields: Vec<String> = field_codes(&body).into_iter().map(|f| f.0).collect();
        assert_eq!(fields, ["skills", "max_concurrent_chats", "availability[0].start"], "{body}");
        let unchanged: Value = app.get_as("/api/agents/me/profile", &agent.access).await.json().await.unwrap();
        assert_eq!(unchanged["max_concurrent_chats"], 3, "a refused profile changes nothing");
    }

    async fn agents_leave_and_come_back_to_where_they_were(app) {
        let agent = app.agent("Leaver").await;
        let res = app.post_as("/api/agents/me/leave", &agent.access, &json!({"reason": "pay"})).await;
        assert_eq!(res.status(), 200);
        let left: Value = res.json().await.unwrap();
        assert_eq!(left["status"], "left");
        assert_eq!(left["left_reason"], "pay");
        problem(app.post_as("/api/agents/me/leave", &agent.access, &json!({})).await, 409, "status_forbids").await;
        let bad_reason = app.post_as("/api/agents/me/leave", &agent.access, &json!({"reason": "bored"})).await;
        problem(bad_reason, 422, "validation_failed").await;

        let back: Value = app.post_as("/api/agents/me/return", &agent.access, &json!({})).await.json().await.unwrap();
        assert_eq!(back["status"], "applicant");
        problem(app.post_as("/api/agents/me/return", &agent.access, &json!({})).await, 409, "status_forbids").await;

        let admin = app.admin().await;
        let timeline: Value = app
            .get_as(&format!("/api/admin/agents/{}/timeline", agent.id()), &admin.access)
            .await
            .json()
            .await
            .unwrap();
        let steps: Vec<(String, String)> = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["to_status"].as_str().unwrap().to_owned(), e["reason"].as_str().unwrap_or("").to_owned()))
            .collect();
        assert_eq!(
            steps,
            [
                ("applicant".to_owned(), "return".to_owned()),
                ("left".to_owned(), "pay".to_owned()),
                ("applicant".to_owned(), "registered".to_owned()),
            ]
        );
        assert_eq!(timeline["items"][0]["actor_account_id"], agent.id());
    }

    async fn admins_suspend_and_reinstate_with_a_reason(app) {
        let agent = app.agent("Suspect").await;
        let admin = app.admin().await;
        let path = format!("/api/admin/agents/{}/suspend", agent.id());
        let no_reason = app.post_as(&path, &admin.access, &json!({"reason": "  "})).await;
        problem(no_reason, 422, "validation_failed").await;
        let res = app.post_as(&path, &admin.access, &json!({"reason": "three no-shows in a week"})).await;
        assert_eq!(res.status(), 200);
        let suspended: Value = res.json().await.unwrap();
        assert_eq!(suspended["status"], "suspended");
        // Leaving does not lift a suspension.
        problem(app.post_as("/api/agents/me/leave", &agent.access, &json!({})).await, 409, "status_forbids").await;

        let res = app
            .post_as(&format!("/api/admin/agents/{}/reinstate", agent.id()), &admin.access, &json!({"reason": "talked it through"}))
            .await;
        let back: Value = res.json().await.unwrap();
        assert_eq!(back["status"], "applicant", "back to where they were, never promoted");

        let audit: Value = app.get_as("/api/admin/audit-log", &admin.access).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"agent.suspended") && actions.contains(&"agent.reinstated"), "{actions:?}");

        let shop = app.merchant("Not An Agent").await;
        let res = app
            .post_as(&format!("/api/admin/agents/{}/suspend", shop.id()), &admin.access, &json!({"reason": "x"}))
            .await;
        problem(res, 404, "not_found").await;
    }
}
