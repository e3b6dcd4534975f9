//! Agent levels: the monthly recomputation in the background task, its record, mail and
//! API.

use chrono::{Datelike, Duration, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{ChatFixture, insert_chat, insert_customer};
use crate::helpers::{Session, TestApp, browser, problem, signed_in};
use crate::shifts::{certified, json_of};
use cloudseat::db::schema::{agent_level_changes, agents, lifecycle_events};

/// The first instant (UTC) of the market's (Shanghai's) previous and current months.
fn last_month(app: &TestApp) -> (NaiveDateTime, NaiveDateTime, String) {
    let zone = chrono_tz::Asia::Shanghai;
    let today = app.clock.now().and_utc().with_timezone(&zone).date_naive();
    let this = today.with_day(1).unwrap();
    let first = this.checked_sub_months(chrono::Months::new(1)).unwrap();
    let utc = |d: chrono::NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .unwrap()
            .naive_utc()
    };
    (utc(first), utc(this), first.format("%Y-%m").to_string())
}

/// Puts `agent` at `level`, certified (by the lifecycle record) at `certified_at`.
async fn place(app: &TestApp, agent: &Session, level: i32, certified_at: NaiveDateTime) {
    let id = agent.id();
    app.with_db(move |c| {
        diesel::update(agents::table.find(&id))
            .set(agents::level.eq(level))
            .execute(c)
            .unwrap();
        diesel::insert_into(lifecycle_events::table)
            .values((
                lifecycle_events::id.eq(cloudseat::db::new_id()),
                lifecycle_events::entity_type.eq("agent"),
                lifecycle_events::entity_id.eq(&id),
                lifecycle_events::from_state.eq("in_trial"),
                lifecycle_events::to_state.eq("certified"),
                lifecycle_events::occurred_at.eq(certified_at),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

/// `count` chats of `agent`'s for `shop`, one a day from `start`, each closed by a different
/// customer who did not come back, answered after `first_reply` and rated `rating`.
async fn closed_chats(
    app: &TestApp,
    shop: &Session,
    agent: &Session,
    start: NaiveDateTime,
    count: i64,
    first_reply: Duration,
    rating: i32,
) {
    let (m, agent) = (shop.merchant_id(), agent.id());
    app.with_db(move |c| {
        for i in 0..count {
            let customer = insert_customer(c, &m);
            let at = start + Duration::days(i);
            insert_chat(
                c,
                &ChatFixture {
                    merchant: &m,
                    customer: &customer,
                    agent: Some(&agent),
                    status: "closed",
                    created: at,
                    accepted: Some(at),
                    first_response: Some(at + first_reply),
                    closed: Some(at + Duration::minutes(20)),
                    rating: Some(rating),
                },
            );
        }
    })
    .await;
}

async fn decisions(app: &TestApp, agent: &Session) -> i64 {
    let id = agent.id();
    app.with_db(move |c| {
        agent_level_changes::table
            .filter(agent_level_changes::agent_id.eq(&id))
            .count()
            .get_result(c)
            .unwrap()
    })
    .await
}

/// The agent's level once last month has been decided for them.
async fn decided(app: &TestApp, agent: &Session) -> Value {
    for _ in 0..100 {
        let level = json_of(app.get_as("/api/agents/me/level", &agent.access).await).await;
        if !level["history"].as_array().unwrap().is_empty() {
            return level;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("last month was never decided for {}", agent.email);
}

both_backends! {
    async fn last_months_work_moves_an_agent_down_a_level_with_reasons(app) {
        let shop = app.merchant("Level Shop").await;
        let slow = certified(&app, "Slow Sun", "general").await;
        let quiet = certified(&app, "Quiet Qian", "general").await;
        let (from, _, month) = last_month(&app);
        place(&app, &slow, 3, from - Duration::days(90)).await;
        place(&app, &quiet, 3, from - Duration::days(90)).await;
        // Slow Sun's month: four chats rated one star, each answered after two minutes and
        // not come back about: ratings 0, first response 0, resolution 100, no reviews
        // (weights 30/20/10 of the remaining 60) = 16.67, below level 3's 70 to keep it.
        closed_chats(&app, &shop, &slow, from + Duration::days(2), 4, Duration::minutes(2), 1).await;

        let level = decided(&app, &slow).await;
        assert_eq!(level["level"]["number"], 2);
        assert_eq!(level["level"]["name_en"], "Associate");
        assert_eq!(level["level"]["max_concurrent_chats"], 3);
        assert!(level["since"].is_string());
        assert_eq!(level["next"]["number"], 3);
        let month_row = &level["history"][0];
        assert_eq!(month_row["month"], month.as_str());
        assert_eq!((month_row["from_level"].as_i64(), month_row["to_level"].as_i64()), (Some(3), Some(2)));
        assert_eq!(month_row["quality_x100"], 1667);
        assert!(month_row["adherence_bp"].is_null(), "no shifts: nothing to judge");
        assert_eq!(month_row["in_grace"], false);
        assert_eq!(month_row["reasons"], serde_json::json!([{"measure": "quality", "got": 1667, "keep": 7000}]));

        let mail = app.smtp.wait_for(&slow.email, "Your level is now Associate (level 2)").await;
        assert!(mail.text.contains("Quality score 16.7; keeping the level needs 70.0."), "{}", mail.text);
        assert!(mail.text.contains("up to 3 chats at once"), "{}", mail.text);

        // Nothing measured: kept, and recorded as such; no mail.
        let kept = decided(&app, &quiet).await;
        assert_eq!(kept["level"]["number"], 3);
        assert!(kept["since"].is_null());
        assert_eq!(kept["history"][0]["to_level"], 3);
        assert!(kept["history"][0]["quality_x100"].is_null());
        assert!(!app.smtp.all().iter().any(|m| m.to.iter().any(|t| t.contains(&quiet.email)) && m.subject.contains("level")));

        // Later passes decide nothing again.
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        assert_eq!(decisions(&app, &slow).await, 1);
        assert_eq!(decisions(&app, &quiet).await, 1);

        // The admin sees the same; an unknown agent is 404.
        let admin = app.admin().await;
        let seen = json_of(app.get_as(&format!("/api/admin/agents/{}/level", slow.id()), &admin.access).await).await;
        assert_eq!(seen["history"], level["history"]);
        problem(app.get_as("/api/admin/agents/nobody/level", &admin.access).await, 404, "not_found").await;

        // The agent's page shows the same, month by month.
        let b = signed_in(&app, &slow.email).await;
        let html = b.get(app.url("/agent/level")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Associate (level 2)"), "{html}");
        assert!(html.contains("<dt>Chats at once, at most</dt><dd>3</dd>"), "{html}");
        assert!(html.contains("A month that meets all of these moves you up to Agent (level 3):"), "{html}");
        assert!(html.contains(&format!("<th scope=\"row\">{month}</th><td>down from 3 to 2</td><td>16.7</td><td>—</td>")), "{html}");
        assert!(html.contains("Quality 16.7, keeping needs 70.0."), "{html}");
        assert!(html.contains(r#"<li><a href="/agent/level">My level</a></li>"#), "the nav links to it");
    }

    async fn the_level_page_is_for_signed_in_agents_and_says_when_nothing_is_decided(app) {
        let res = browser().get(app.url("/agent/level")).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/sign-in?next=/agent/level");
        let shop = app.merchant("Tea House").await;
        let b = signed_in(&app, &shop.email).await;
        let res = b.get(app.url("/agent/level")).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);

        let agent = certified(&app, "New Niu", "general").await;
        let b = signed_in(&app, &agent.email).await;
        let res = b.get(app.url("/agent/level")).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("Trainee (level 1)"), "{html}");
        assert!(html.contains("No month has been decided for you yet."), "{html}");
        assert!(html.contains("<dt>Early access to new shifts</dt><dd>no</dd>"), "{html}");
    }

    async fn a_month_inside_the_grace_after_certification_does_not_demote(app) {
        let shop = app.merchant("Grace Shop").await;
        let fresh = certified(&app, "Fresh Fu", "general").await;
        let (from, _, _) = last_month(&app);
        // Certified in the middle of last month at level 2 (say, a returning agent).
        place(&app, &fresh, 2, from + Duration::days(10)).await;
        closed_chats(&app, &shop, &fresh, from + Duration::days(12), 1, Duration::minutes(5), 1).await;
        let level = decided(&app, &fresh).await;
        assert_eq!(level["level"]["number"], 2);
        assert_eq!(level["history"][0]["in_grace"], true);
        assert_eq!(level["history"][0]["to_level"], 2);
    }
}
