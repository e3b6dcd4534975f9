//! Staffing: what merchants see of who will come, the admins' coverage map, no-show list and
//! auto-fill, and commitment adherence.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp, problem};
use crate::shifts::{
    act, booked, certified, claim, clock_to, json_of, past_early_access, shift_row, shift_start,
    wait_for_status,
};
use cloudseat::db::schema::agents;

/// Every hour of every day, in the agent's zone.
async fn always_available(app: &TestApp, agent: &Session) {
    let slots: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let id = agent.id();
    let json = serde_json::to_string(&slots).unwrap();
    app.with_db(move |c| {
        diesel::update(agents::table.find(&id))
            .set(agents::availability.eq(json))
            .execute(c)
            .unwrap()
    })
    .await;
    let res = app
        .api
        .put(app.url("/api/agents/me/shift-preferences"))
        .bearer_auth(&agent.access)
        .json(&json!({"auto_assign": true, "urgent_alerts": false}))
        .send()
        .await
        .unwrap();
    json_of(res).await;
}

both_backends! {
    async fn merchants_see_who_will_come_and_how_many_are_returning(app) {
        let shop = app.merchant("Tea House").await;
        let rival = app.merchant("Book Nook").await;
        let admin = app.admin().await;
        let (_, first) = booked(&app, &shop, "general", 2, (8, 12), 1).await;
        past_early_access(&app);
        let regular = certified(&app, "Wang Fang", "general").await;
        let newcomer = certified(&app, "Li Lei", "general").await;
        let stand_in = certified(&app, "Zhao Min", "general").await;
        // The regular works the shop's first shift.
        json_of(claim(&app, &regular, &first[0]).await).await;
        let start = shift_start(&app, &first[0]).await;
        clock_to(&app, start - Duration::minutes(5));
        json_of(act(&app, &regular, &first[0], "check-in").await).await;
        clock_to(&app, start + Duration::hours(4));
        json_of(act(&app, &regular, &first[0], "check-out").await).await;

        let (booking, next) = booked(&app, &shop, "general", 5, (8, 16), 2).await;
        past_early_access(&app);
        json_of(claim(&app, &regular, &next[0]).await).await;
        json_of(claim(&app, &newcomer, &next[1]).await).await;
        // The newcomer hands the shift over; the shop sees who will actually come.
        json_of(act(&app, &newcomer, &next[1], "swap").await).await;
        json_of(act(&app, &stand_in, &next[1], "take").await).await;

        let path = format!("/api/bookings/{booking}/staffing");
        let staffing = json_of(app.get_as(&path, &shop.access).await).await;
        assert_eq!(staffing["seats"], 2);
        assert_eq!(staffing["shifts"], 4);
        assert_eq!(staffing["claimed"], 2);
        assert_eq!(staffing["open"], 2);
        assert_eq!(staffing["checked_in_now"], 0);
        // One of the two staffed shifts is held by an agent who worked here before.
        assert_eq!(staffing["continuity_bp"], 5000);
        let items = staffing["items"].as_array().unwrap();
        assert_eq!(items[0]["agent"], "Wang Fang");
        assert_eq!(items[0]["returning"], true);
        assert_eq!(items[1]["agent"], "Zhao Min");
        assert_eq!(items[1]["returning"], false);
        assert!(items[2]["agent"].is_null());
        assert_eq!(items[0]["local_start"], format!("{} 08:00", crate::helpers::day(5)));

        // Another shop learns nothing; agents are not merchants.
        problem(app.get_as(&path, &rival.access).await, 404, "not_found").await;
        problem(app.get_as(&path, &regular.access).await, 403, "wrong_role").await;
        json_of(app.get_as(&path, &admin.access).await).await;

        // On the day: today's agents, checked in as they arrive.
        let start = shift_start(&app, &next[0]).await;
        clock_to(&app, start - Duration::minutes(10));
        json_of(act(&app, &regular, &next[0], "check-in").await).await;
        let today = json_of(app.get_as(&format!("/api/merchants/{}/staffing", shop.merchant_id()), &shop.access).await).await;
        let names: Vec<(&str, &str)> = today["today"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| Some((s["agent"].as_str()?, s["status"].as_str().unwrap())))
            .collect();
        assert_eq!(names, [("Wang Fang", "checked_in"), ("Zhao Min", "claimed")]);
        assert_eq!(today["open_next_14_days"], 2);
        let staffing = json_of(app.get_as(&path, &shop.access).await).await;
        assert_eq!(staffing["checked_in_now"], 1);
        problem(app.get_as(&format!("/api/merchants/{}/staffing", shop.merchant_id()), &rival.access).await, 404, "not_found").await;
    }

    async fn admins_see_coverage_gaps_and_no_shows(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let (_, shifts) = booked(&app, &shop, "general", 3, (8, 12), 2).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;

        let map = json_of(app.get_as("/api/admin/shifts/coverage?days=14", &admin.access).await).await;
        assert_eq!(map["time_zone"], "Asia/Shanghai");
        let days = map["days"].as_array().unwrap();
        assert_eq!(days.len(), 14);
        let day3 = days.iter().find(|d| d["date"] == crate::helpers::day(3)).unwrap();
        assert_eq!(day3["cells"][0]["block"], "08:00");
        assert_eq!(day3["cells"][0]["seats"], 2);
        assert_eq!(day3["cells"][0]["claimed"], 1);
        assert_eq!(day3["cells"][0]["open"], 1);
        assert_eq!(map["open"], 1);
        let none = json_of(app.get_as("/api/admin/shifts/coverage?skill=pre_sale", &admin.access).await).await;
        assert_eq!(none["seats"], 0);
        let body = problem(app.get_as("/api/admin/shifts/coverage?days=40", &admin.access).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "days");

        let empty = json_of(app.get_as("/api/admin/shifts/no-shows", &admin.access).await).await;
        assert!(empty["items"].as_array().unwrap().is_empty());
        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start + Duration::minutes(11));
        wait_for_status(&app, &shifts[0], "open").await;
        let list = json_of(app.get_as("/api/admin/shifts/no-shows", &admin.access).await).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["agent"], "Wang Fang");
        assert_eq!(items[0]["merchant"], "Tea House");
        assert_eq!(items[0]["shift_status"], "open");
        assert_eq!(items[0]["local_start"], format!("{} 08:00", crate::helpers::day(3)));
    }

    async fn auto_fill_assigns_from_declared_availability(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let (_, general) = booked(&app, &shop, "general", 3, (8, 12), 2).await;
        let (_, pre_sale) = booked(&app, &shop, "pre_sale", 3, (8, 12), 1).await;
        past_early_access(&app);
        let willing = certified(&app, "Wang Fang", "general").await;
        // Certified and free, but did not ask for auto-assignment: never a candidate.
        let _unwilling = certified(&app, "Li Lei", "general").await;
        always_available(&app, &willing).await;
        let body = problem(app.post_as("/api/admin/shifts/auto-fill", &admin.access, &json!({"days": 30})).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "days");

        let report = json_of(app.post_as("/api/admin/shifts/auto-fill", &admin.access, &json!({"days": 7})).await).await;
        assert_eq!(report["open_shifts"], 3);
        assert_eq!(report["candidates"], 1);
        assert_eq!(report["assigned"], 1, "{report}");
        let unfilled: Vec<(&str, &str)> = report["unfilled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["shift_id"].as_str().unwrap(), u["reason"].as_str().unwrap()))
            .collect();
        // The second seat of the same hours would overlap; nobody does pre-sale.
        assert!(unfilled.contains(&(general[1].as_str(), "all_refused")), "{report}");
        assert!(unfilled.contains(&(pre_sale[0].as_str(), "no_candidate")), "{report}");
        let (status, holder, _) = shift_row(&app, &general[0]).await;
        assert_eq!((status.as_str(), holder), ("claimed", Some(willing.id())));
        app.smtp.wait_for(&willing.email, "Shift assigned to you").await;
        let audit = json_of(app.get_as("/api/admin/audit-log?limit=5", &admin.access).await).await;
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "shifts.auto_filled"));
    }

    async fn adherence_counts_what_the_agent_promised_and_kept(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let (_, shifts) = booked(&app, &shop, "general", 3, (8, 16), 1).await;
        let (_, later) = booked(&app, &shop, "general", 4, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        json_of(claim(&app, &agent, &shifts[1]).await).await;
        json_of(claim(&app, &agent, &later[0]).await).await;
        // Checks in five minutes late and leaves after two hours, misses the next shift,
        // releases the last one late.
        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start + Duration::minutes(5));
        json_of(act(&app, &agent, &shifts[0], "check-in").await).await;
        clock_to(&app, start + Duration::hours(2));
        json_of(act(&app, &agent, &shifts[0], "check-out").await).await;
        clock_to(&app, start + Duration::hours(4) + Duration::minutes(11));
        wait_for_status(&app, &shifts[1], "open").await;
        json_of(act(&app, &agent, &later[0], "release").await).await;

        let month = &crate::helpers::day(3)[..7];
        let mine = json_of(app.get_as(&format!("/api/agents/me/adherence?month={month}"), &agent.access).await).await;
        assert_eq!(mine["month"], month);
        // Committed 12 hours (4 worked-shift hours, 4 no-show, 4 late release) if the
        // shifts fall in the same month as day 3.
        let same_month = crate::helpers::day(4)[..7] == *month;
        assert_eq!(mine["no_shows"], 1);
        assert_eq!(mine["committed_hours"], if same_month { 12.0 } else { 8.0 });
        let worked = mine["worked_hours"].as_f64().unwrap();
        assert!((1.9..1.95).contains(&worked), "{worked}");
        assert_eq!(mine["at_risk"], true);
        let theirs = json_of(app.get_as(&format!("/api/admin/agents/{}/adherence?month={month}", agent.id()), &admin.access).await).await;
        assert_eq!(theirs["ratio_bp"], mine["ratio_bp"]);
        let body = problem(app.get_as("/api/agents/me/adherence?month=13-2026", &agent.access).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "month");
        problem(app.get_as("/api/admin/agents/00000000-0000-7000-8000-000000000000/adherence", &admin.access).await, 404, "not_found").await;
    }
}

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

both_backends! {
    async fn staffing_pages_show_shops_their_agents_and_admins_the_gaps(app) {
        let shop = app.merchant("Tea House").await;
        let rival = app.merchant("Book Nook").await;
        let admin = app.admin().await;
        let (booking, _) = booked(&app, &shop, "general", 3, (20, 24), 2).await;
        let (_, later) = booked(&app, &shop, "general", 4, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        always_available(&app, &agent).await;
        json_of(claim(&app, &agent, &later[0]).await).await;

        let b = crate::helpers::signed_in(&app, &shop.email).await;
        let (status, html) = page(&b, &app, &format!("/seats/bookings/{booking}/staffing")).await;
        assert_eq!(status, 200);
        assert!(html.contains("Staffing of this booking"));
        assert!(html.contains("<caption>Every shift of this booking"));
        assert_eq!(html.matches("class=\"gap\"").count(), 2, "both shifts are gaps");
        assert!(html.contains("Nobody yet"));
        let (status, html) = page(&b, &app, "/seats/staffing").await;
        assert_eq!(status, 200);
        assert!(html.contains("Who is coming"));
        assert!(html.contains("Unstaffed shifts in the next 14 days"));
        let other = crate::helpers::signed_in(&app, &rival.email).await;
        let (status, _) = page(&other, &app, &format!("/seats/bookings/{booking}/staffing")).await;
        assert_eq!(status, 404, "another shop's booking does not exist for them");

        let a = crate::helpers::signed_in(&app, &admin.email).await;
        let (status, html) = page(&a, &app, "/admin/shifts").await;
        assert_eq!(status, 200);
        assert!(html.contains("Shift coverage"));
        assert!(html.contains("<td class=\"gap\">"), "gaps are highlighted");
        assert!(html.contains("No no-shows so far."));
        let (status, _) = page(&b, &app, "/admin/shifts").await;
        assert_eq!(status, 403);
        let (_, html) = page(&a, &app, "/admin/shifts?days=99").await;
        assert!(html.contains("days must be between 1 and 31"), "bad input is explained");

        // One click fills what it can and says what it left.
        let csrf = crate::helpers::csrf_of(&html[html.find("/admin/shifts/auto-fill").unwrap() - 200..]);
        let res = a
            .post(app.url("/admin/shifts/auto-fill"))
            .form(&[("csrf_token", csrf.as_str()), ("days", "7")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("Assigned 1 of 2 open shifts"), "{html}");
        assert!(html.contains("every available agent would break a claim rule"));
        let res = a.post(app.url("/admin/shifts/auto-fill")).form(&[("csrf_token", "forged"), ("days", "7")]).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

both_backends! {
    async fn auto_fill_prefers_the_agent_who_worked_for_the_shop(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let (_, first) = booked(&app, &shop, "general", 2, (8, 12), 1).await;
        past_early_access(&app);
        // Ids are time-ordered: the newcomer signs up first, so only continuity can pick
        // the regular.
        let newcomer = certified(&app, "Li Lei", "general").await;
        let regular = certified(&app, "Wang Fang", "general").await;
        json_of(claim(&app, &regular, &first[0]).await).await;
        let start = shift_start(&app, &first[0]).await;
        clock_to(&app, start - Duration::minutes(5));
        json_of(act(&app, &regular, &first[0], "check-in").await).await;
        clock_to(&app, start + Duration::hours(4));
        json_of(act(&app, &regular, &first[0], "check-out").await).await;
        always_available(&app, &newcomer).await;
        always_available(&app, &regular).await;

        let (_, next) = booked(&app, &shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        let report = json_of(app.post_as("/api/admin/shifts/auto-fill", &admin.access, &json!({"days": 7})).await).await;
        assert_eq!(report["candidates"], 2);
        assert_eq!(report["assigned"], 1, "{report}");
        assert_eq!(shift_row(&app, &next[0]).await.1, Some(regular.id()));
    }
}
