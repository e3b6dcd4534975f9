//! `cloudseat demo`'s months of history, read back through the real API: churn and
//! retention over the last six months, the at-risk list, and the first shop's continuity,
//! rotation and renewals (the fixture rules' `peak_prev`, 100 to 90 days ago, is the peak it
//! booked; `peak_open`, which the demo books next, is its renewal). The stored history is
//! checked for consistency too: every agent's status is where their last lifecycle event
//! left them, and every worked shift was checked in.

use chrono::{Datelike, Duration, Months};
use diesel::prelude::*;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{TestApp, market_today};
use cloudseat::db::schema::{agents, lifecycle_events, shift_assignments};

async fn fill_demo(app: &TestApp) {
    let rules = cloudseat::seats::rules::load_dir(&app.data_dir.path().join("seat-rules"))
        .expect("the fixture rules load");
    let took = app
        .with_db(move |conn| {
            let started = std::time::Instant::now();
            cloudseat::demo::fill(conn, &rules).expect("the demo fills an empty database");
            started.elapsed()
        })
        .await;
    eprintln!("demo fill on {:?} took {took:?}", app.backend);
}

/// The demo login's access token and account.
async fn demo_login(app: &TestApp, email: &str) -> (String, Value) {
    let res = app.login(email, cloudseat::demo::DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200, "{email}");
    let body: Value = res.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["account"].clone(),
    )
}

async fn json(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get_as(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

fn sum(months: &[Value], key: &str) -> u64 {
    months.iter().map(|m| m[key].as_u64().unwrap_or(0)).sum()
}

both_backends! {
    async fn the_demo_history_shows_in_churn_at_risk_and_continuity(app) {
        fill_demo(&app).await;
        let today = market_today();

        // Churn over the last six months: people joined and left, for stated reasons too.
        let (admin, _) = demo_login(&app, "admin@demo.cloudseat.localhost").await;
        let first = today.with_day(1).unwrap() - Months::new(5);
        let churn = json(
            &app,
            &format!(
                "/api/admin/analytics/churn?from={}&to={}",
                first.format("%Y-%m"),
                today.format("%Y-%m")
            ),
            &admin,
        )
        .await;
        let months = churn["months"].as_array().unwrap();
        assert_eq!(months.len(), 6);
        assert!(sum(months, "new") > 0, "{churn}");
        assert!(sum(months, "churned") > 0, "{churn}");
        let reasons = churn["exit_reasons"].as_object().unwrap();
        assert!(
            reasons
                .keys()
                .any(|r| cloudseat::certification::profile::LEAVE_REASONS.contains(&r.as_str())),
            "{reasons:?}"
        );
        let cohorts: Vec<&Value> = churn["cohorts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["size"].as_u64().unwrap() > 0)
            .collect();
        assert!(cohorts.len() >= 3, "{churn}");

        // At risk: someone, each with the reasons that make up their score.
        let at_risk = json(&app, "/api/admin/analytics/at-risk", &admin).await;
        let items = at_risk["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{at_risk}");
        for item in items {
            let reasons = item["reasons"].as_array().unwrap();
            assert!(!reasons.is_empty(), "{item}");
            let weights: u64 = reasons.iter().map(|r| r["weight"].as_u64().unwrap()).sum();
            assert_eq!(item["score"].as_u64().unwrap(), weights.min(100), "{item}");
        }

        // The first shop: chats served by returning agents, weeks of rotation, a renewal.
        let (owner, account) = demo_login(&app, "owner@jadegarden.demo.cloudseat.localhost").await;
        let shop = account["merchant"]["id"].as_str().unwrap().to_owned();
        let from = today - Duration::days(180);
        let report = json(
            &app,
            &format!("/api/merchants/{shop}/analytics/continuity?from={from}&to={today}"),
            &owner,
        )
        .await;
        assert!(report["chats"].as_u64().unwrap() > 0, "{report}");
        assert!(report["returning_chats"].as_u64().unwrap() > 0, "{report}");
        assert!(report["shifts"].as_u64().unwrap() > 0, "{report}");
        let weeks = report["weeks"].as_array().unwrap();
        let rotated = weeks.iter().filter(|w| w["rotation_bp"].is_u64()).count();
        assert!(rotated >= 12, "{report}");
        let renewals = report["renewals"]["items"].as_array().unwrap();
        let prev = renewals
            .iter()
            .find(|r| r["period_id"] == "peak_prev")
            .unwrap_or_else(|| panic!("no renewal of peak_prev: {report}"));
        assert_eq!(prev["next_peak"]["status"], "booked", "{report}");

        // The live figures have today's chats when the shop's shifts ran today.
        let live = json(&app, &format!("/api/merchants/{shop}/analytics/live"), &owner).await;
        assert!(live["today"]["arrived"].is_u64(), "{live}");

        // Every agent's status is where their last event left them; worked means checked in.
        let (mismatched, unchecked) = app
            .with_db(|conn| {
                let statuses: Vec<(String, String)> = agents::table
                    .select((agents::account_id, agents::status))
                    .load(conn)
                    .unwrap();
                let mut mismatched = Vec::new();
                for (id, status) in statuses {
                    let last: String = lifecycle_events::table
                        .filter(lifecycle_events::entity_type.eq("agent"))
                        .filter(lifecycle_events::entity_id.eq(&id))
                        .order((lifecycle_events::occurred_at.desc(), lifecycle_events::id.desc()))
                        .select(lifecycle_events::to_state)
                        .first(conn)
                        .unwrap();
                    if last != status {
                        mismatched.push((id, status, last));
                    }
                }
                let unchecked: i64 = shift_assignments::table
                    .filter(shift_assignments::outcome.eq("worked"))
                    .filter(shift_assignments::checked_in_at.is_null())
                    .count()
                    .get_result(conn)
                    .unwrap();
                (mismatched, unchecked)
            })
            .await;
        assert!(mismatched.is_empty(), "{mismatched:?}");
        assert_eq!(unchecked, 0);
    }
}
