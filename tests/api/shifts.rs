//! Shifts: the job board, claims under every rule, releases, attendance, no-shows, swaps,
//! a cancelled booking taking its shifts back, and the calendar.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp, day, problem};
use cloudseat::db::schema::{agents, certifications, shift_assignments, shifts};

/// Certifies `agent` for `skill` from yesterday for `valid_days` days (the certification
/// flow itself is tested in `trials`).
pub(crate) async fn certify(app: &TestApp, agent: &Session, skill: &'static str, valid_days: i64) {
    let id = agent.id();
    let now = app.clock.now();
    app.with_db(move |c| {
        cloudseat::db::write_transaction(c, |c| {
            diesel::update(agents::table.find(&id))
                .set(agents::status.eq("certified"))
                .execute(c)?;
            diesel::delete(
                certifications::table
                    .filter(certifications::agent_id.eq(&id))
                    .filter(certifications::skill.eq(skill)),
            )
            .execute(c)?;
            diesel::insert_into(certifications::table)
                .values((
                    certifications::agent_id.eq(&id),
                    certifications::skill.eq(skill),
                    certifications::certified_at.eq(now - Duration::days(1)),
                    certifications::expires_at.eq(now + Duration::days(valid_days)),
                ))
                .execute(c)
        })
        .unwrap();
    })
    .await;
}

/// A certified agent for `skill`.
pub(crate) async fn certified(app: &TestApp, name: &str, skill: &'static str) -> Session {
    let agent = app.agent(name).await;
    certify(app, &agent, skill, 365).await;
    agent
}

/// Books and confirms `seats` seats of `skill` on day `offset` for `hours` (market time,
/// Asia/Shanghai); returns the booking id and its shift ids by start then seat.
pub(crate) async fn booked(
    app: &TestApp,
    shop: &Session,
    skill: &str,
    offset: i64,
    hours: (i64, i64),
    seats: i64,
) -> (String, Vec<String>) {
    let res = app
        .post_as(
            "/api/bookings",
            &shop.access,
            &json!({"skill": skill, "start_date": day(offset), "end_date": day(offset),
                    "daily_start_hour": hours.0, "daily_end_hour": hours.1, "seats": seats}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_as(
            &format!("/api/bookings/{id}/confirm"),
            &shop.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let booking = id.clone();
    let ids = app
        .with_db(move |c| {
            shifts::table
                .filter(shifts::booking_id.eq(&booking))
                .order((shifts::starts_at.asc(), shifts::seat_no.asc()))
                .select(shifts::id)
                .load::<String>(c)
                .unwrap()
        })
        .await;
    (id, ids)
}

/// Moves the service past the early-access window of bookings confirmed so far.
pub(crate) fn past_early_access(app: &TestApp) {
    app.clock.advance(Duration::hours(25));
}

pub(crate) async fn claim(app: &TestApp, agent: &Session, shift: &str) -> reqwest::Response {
    app.post_as(
        &format!("/api/shifts/{shift}/claim"),
        &agent.access,
        &json!({}),
    )
    .await
}

pub(crate) async fn act(
    app: &TestApp,
    agent: &Session,
    shift: &str,
    action: &str,
) -> reqwest::Response {
    app.post_as(
        &format!("/api/shifts/{shift}/{action}"),
        &agent.access,
        &json!({}),
    )
    .await
}

pub(crate) async fn json_of(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

pub(crate) async fn shift_row(app: &TestApp, id: &str) -> (String, Option<String>, i64) {
    let id = id.to_owned();
    app.with_db(move |c| {
        shifts::table
            .find(&id)
            .select((shifts::status, shifts::agent_id, shifts::urgent_bonus_fen))
            .first(c)
            .unwrap()
    })
    .await
}

/// Waits (up to 10 s) for the background jobs to move a shift to `status`.
pub(crate) async fn wait_for_status(app: &TestApp, id: &str, status: &str) {
    for _ in 0..100 {
        if shift_row(app, id).await.0 == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub(crate) async fn outcomes(app: &TestApp, shift: &str) -> Vec<(String, Option<String>)> {
    let id = shift.to_owned();
    app.with_db(move |c| {
        shift_assignments::table
            .filter(shift_assignments::shift_id.eq(&id))
            .order(shift_assignments::claimed_at.asc())
            .select((shift_assignments::agent_id, shift_assignments::outcome))
            .load(c)
            .unwrap()
    })
    .await
}

pub(crate) async fn shift_start(app: &TestApp, id: &str) -> NaiveDateTime {
    let id = id.to_owned();
    app.with_db(move |c| {
        shifts::table
            .find(&id)
            .select(shifts::starts_at)
            .first(c)
            .unwrap()
    })
    .await
}

/// Sets the service clock to `at` (it only moves forward).
pub(crate) fn clock_to(app: &TestApp, at: NaiveDateTime) {
    let now = app.clock.now();
    assert!(at >= now, "the clock only moves forward");
    app.clock.advance(at - now);
}

pub(crate) async fn set_zone(app: &TestApp, agent: &Session, zone: &'static str) {
    let id = agent.id();
    app.with_db(move |c| {
        use cloudseat::db::schema::accounts;
        diesel::update(accounts::table.find(&id))
            .set(accounts::time_zone.eq(zone))
            .execute(c)
            .unwrap();
    })
    .await;
}

both_backends! {
    async fn the_job_board_shows_certified_skills_in_the_agents_zone_with_pay(app) {
        let shop = app.merchant("Tea House").await;
        let other = app.merchant("Book Nook").await;
        let (_, general) = booked(&app, &shop, "general", 5, (8, 16), 1).await;
        let (_, pre_sale) = booked(&app, &shop, "pre_sale", 5, (8, 12), 1).await;
        let (_, later) = booked(&app, &other, "general", 6, (20, 24), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;

        let board = json_of(app.get_as("/api/shifts/open?limit=2", &agent.access).await).await;
        let items = board["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], general[0].as_str());
        assert_eq!(items[0]["merchant"], "Tea House");
        assert_eq!(items[0]["skill_name"], "General");
        assert_eq!(items[0]["local_start"], format!("{} 08:00", day(5)));
        assert_eq!(items[0]["time_zone"], "Asia/Shanghai");
        // 4 hours at 24.00 an hour.
        assert_eq!(items[0]["pay_estimate_fen"], 9600);
        assert_eq!(items[0]["urgent_bonus_fen"], 0);
        assert_eq!(items[1]["id"], general[1].as_str());
        let cursor = board["next_cursor"].as_str().unwrap();
        let rest = json_of(app.get_as(&format!("/api/shifts/open?cursor={cursor}"), &agent.access).await).await;
        let ids: Vec<&str> = rest["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [later[0].as_str()], "never the pre-sale shift {pre_sale:?}");
        assert!(rest["next_cursor"].is_null());

        // In London the same shift starts at midnight: times follow the agent.
        set_zone(&app, &agent, "Europe/London").await;
        let board = json_of(app.get_as("/api/shifts/open", &agent.access).await).await;
        assert_eq!(board["items"][0]["local_start"], format!("{} 00:00", day(5)));
        assert_eq!(board["items"][0]["time_zone"], "Europe/London");

        // Filters: a local day, a merchant, a skill.
        let on_day = json_of(app.get_as(&format!("/api/shifts/open?date={}", day(6)), &agent.access).await).await;
        assert_eq!(on_day["items"].as_array().unwrap().len(), 1);
        assert_eq!(on_day["items"][0]["merchant"], "Book Nook");
        let of_shop = json_of(app.get_as(&format!("/api/shifts/open?merchant={}", shop.merchant_id()), &agent.access).await).await;
        assert_eq!(of_shop["items"].as_array().unwrap().len(), 2);
        let none = json_of(app.get_as("/api/shifts/open?skill=pre_sale", &agent.access).await).await;
        assert!(none["items"].as_array().unwrap().is_empty());

        let body = problem(app.get_as("/api/shifts/open?skill=juggling", &agent.access).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "skill");
        let body = problem(app.get_as("/api/shifts/open?date=tomorrow", &agent.access).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "date");
        let body = problem(app.get_as("/api/shifts/open?cursor=MDE5YTAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw", &agent.access).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "cursor");
    }

    async fn a_claim_is_checked_against_every_rule_with_its_own_code(app) {
        let shop = app.merchant("Tea House").await;
        let (_, morning) = booked(&app, &shop, "general", 5, (8, 12), 2).await;
        let (_, midday) = booked(&app, &shop, "general", 5, (12, 16), 1).await;
        let (_, evening) = booked(&app, &shop, "general", 5, (16, 20), 1).await;
        let (_, pre_sale) = booked(&app, &shop, "pre_sale", 5, (8, 12), 1).await;
        let agent = certified(&app, "Wang Fang", "general").await;
        let second = certified(&app, "Li Lei", "general").await;

        // Just confirmed: early access only.
        let body = problem(claim(&app, &agent, &morning[0]).await, 409, "early_access_only").await;
        assert!(body["opens_at"].is_string());
        past_early_access(&app);

        // A shift of a skill the agent is not certified for.
        problem(claim(&app, &agent, &pre_sale[0]).await, 409, "not_certified").await;

        let mine = json_of(claim(&app, &agent, &morning[0]).await).await;
        assert_eq!(mine["status"], "claimed");
        assert_eq!(mine["mine"], true);
        problem(claim(&app, &agent, &morning[0]).await, 409, "already_yours").await;
        problem(claim(&app, &second, &morning[0]).await, 409, "shift_taken").await;
        problem(claim(&app, &agent, &morning[1]).await, 409, "shift_overlap").await;

        // Back to back is one stretch of 8 hours; four more make 12, over the day's 10.
        json_of(claim(&app, &agent, &midday[0]).await).await;
        let body = problem(claim(&app, &agent, &evening[0]).await, 409, "daily_hours_exceeded").await;
        assert_eq!(body["hours"], 12.0);

        // 08-12 and 16-20 leave four hours of rest, under the eight required.
        json_of(claim(&app, &second, &morning[1]).await).await;
        problem(claim(&app, &second, &evening[0]).await, 409, "rest_too_short").await;

        // A suspended agent is refused outright.
        let id = second.id();
        app.with_db(move |c| diesel::update(agents::table.find(&id)).set(agents::status.eq("suspended")).execute(c).unwrap()).await;
        problem(claim(&app, &second, &evening[0]).await, 403, "agent_suspended").await;

        // A claim is a lifecycle event of the shift.
        let shift = morning[0].clone();
        let events: Vec<(Option<String>, String)> = app.with_db(move |c| {
            use cloudseat::db::schema::lifecycle_events as e;
            e::table.filter(e::entity_type.eq("shift")).filter(e::entity_id.eq(&shift))
                .select((e::from_state, e::to_state)).load(c).unwrap()
        }).await;
        assert_eq!(events, [(Some("open".into()), "claimed".into())]);
    }

    async fn an_expired_certification_stops_claims_after_its_expiry(app) {
        let shop = app.merchant("Tea House").await;
        let (_, soon) = booked(&app, &shop, "general", 3, (8, 12), 1).await;
        let (_, later) = booked(&app, &shop, "general", 9, (8, 12), 1).await;
        past_early_access(&app);
        let agent = app.agent("Wang Fang").await;
        certify(&app, &agent, "general", 6).await;
        // Valid on day 3, expired by day 9: the later shift is not on the board either.
        let board = json_of(app.get_as("/api/shifts/open", &agent.access).await).await;
        let ids: Vec<&str> = board["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [soon[0].as_str()]);
        problem(claim(&app, &agent, &later[0]).await, 409, "not_certified").await;
        json_of(claim(&app, &agent, &soon[0]).await).await;
    }

    async fn overlaps_and_day_limits_follow_utc_and_the_agents_own_day(app) {
        let shop = app.merchant("Tea House").await;
        let other = app.merchant("Book Nook").await;
        // Shanghai 16-24 on day 4 is 08-16 UTC: midnight to 08:00 in Los Angeles (PST).
        let (_, evening) = booked(&app, &shop, "general", 4, (16, 24), 2).await;
        // Shanghai 08-12 on day 5 is 00-04 UTC: 16-20 of day 4 in Los Angeles.
        let (_, morning) = booked(&app, &other, "general", 5, (8, 12), 2).await;
        // Shanghai 20-24 on day 4: the same UTC hours as the second evening shift.
        let (_, clash) = booked(&app, &other, "general", 4, (20, 24), 1).await;
        past_early_access(&app);
        let la = certified(&app, "Sam", "general").await;
        set_zone(&app, &la, "America/Los_Angeles").await;
        let sh = certified(&app, "Wang Fang", "general").await;
        json_of(claim(&app, &la, &evening[0]).await).await;
        json_of(claim(&app, &la, &evening[2]).await).await;
        // Overlap is about UTC instants, whatever the zones.
        let body = problem(claim(&app, &la, &clash[0]).await, 409, "shift_overlap").await;
        assert!(body["other_shift_starts_at"].is_string());
        // Eight hours of rest, but all on Los Angeles' day 4: 12 hours on one day.
        let body = problem(claim(&app, &la, &morning[0]).await, 409, "daily_hours_exceeded").await;
        assert_eq!(body["hours"], 12.0);
        // The same shifts are two different days in Shanghai.
        json_of(claim(&app, &sh, &evening[1]).await).await;
        json_of(claim(&app, &sh, &evening[3]).await).await;
        json_of(claim(&app, &sh, &morning[1]).await).await;
    }

    async fn a_hundred_agents_race_for_one_shift_and_exactly_one_wins(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shift) = booked(&app, &shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        // Signed up a few at a time (password hashing is slow on purpose); the race is the
        // claims below.
        use futures_util::StreamExt;
        let agents: Vec<Session> = futures_util::stream::iter(0..100)
            .map(|i| {
                let app = &app;
                async move { app.agent(&format!("Agent {i}")).await }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        let ids: Vec<String> = agents.iter().map(|a| a.id()).collect();
        let now = app.clock.now();
        app.with_db(move |c| {
            cloudseat::db::write_transaction(c, |c| {
                for id in &ids {
                    diesel::update(agents::table.find(id)).set(agents::status.eq("certified")).execute(c)?;
                    diesel::insert_into(certifications::table)
                        .values((
                            certifications::agent_id.eq(id),
                            certifications::skill.eq("general"),
                            certifications::certified_at.eq(now - Duration::days(1)),
                            certifications::expires_at.eq(now + Duration::days(365)),
                        ))
                        .execute(c)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        })
        .await;
        // A fresh client: connections pooled during the sign-ups may have idled out.
        let client = reqwest::Client::new();
        let url = app.url(&format!("/api/shifts/{}/claim", shift[0]));
        let results = futures_util::future::join_all(
            agents.iter().map(|a| client.post(&url).bearer_auth(&a.access).send()),
        )
        .await;
        let mut won = 0;
        for res in results {
            let res = res.unwrap();
            match res.status().as_u16() {
                200 => won += 1,
                409 => {
                    let body: Value = res.json().await.unwrap();
                    assert_eq!(body["code"], "shift_taken", "{body}");
                }
                other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(outcomes(&app, &shift[0]).await.len(), 1);
        let (status, holder, _) = shift_row(&app, &shift[0]).await;
        assert_eq!(status, "claimed");
        assert!(holder.is_some());
    }

    async fn releases_are_free_before_the_cutoff_and_late_after(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 16), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let other = certified(&app, "Li Lei", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        json_of(claim(&app, &agent, &shifts[1]).await).await;

        problem(act(&app, &other, &shifts[0], "release").await, 403, "not_your_shift").await;
        let freed = json_of(act(&app, &agent, &shifts[0], "release").await).await;
        assert_eq!(freed["status"], "open");
        assert_eq!(freed["outcome"], "released");
        let mail = app.smtp.wait_for(&agent.email, "Shift released").await;
        let raw = String::from_utf8_lossy(&mail.raw).to_string();
        assert!(raw.contains("shift.ics"), "the release mail takes the shift out of calendars");
        assert_eq!(shift_row(&app, &shifts[0]).await.0, "open");

        // Twelve hours before the start is past the 24-hour cutoff.
        let start = shift_start(&app, &shifts[1]).await;
        clock_to(&app, start - Duration::hours(12));
        let late = json_of(act(&app, &agent, &shifts[1], "release").await).await;
        assert_eq!(late["outcome"], "released_late");
        app.smtp.wait_for(&agent.email, "Late release recorded").await;
        assert_eq!(
            outcomes(&app, &shifts[1]).await,
            [(agent.id(), Some("released_late".to_owned()))]
        );
        // Back on the board for others.
        let board = json_of(app.get_as("/api/shifts/open", &other.access).await).await;
        assert_eq!(board["items"].as_array().unwrap().len(), 2);
    }

    async fn check_in_window_check_out_and_completion(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 16), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let other = certified(&app, "Li Lei", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        json_of(claim(&app, &agent, &shifts[1]).await).await;
        let mail = app.smtp.wait_for(&agent.email, "Shift confirmed").await;
        let raw = String::from_utf8_lossy(&mail.raw).to_string();
        assert!(raw.contains("shift.ics"), "the claim mail carries a calendar entry");

        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start - Duration::hours(1));
        let body = problem(act(&app, &agent, &shifts[0], "check-in").await, 409, "check_in_not_open").await;
        assert!(body["opens_at"].is_string());
        clock_to(&app, start - Duration::minutes(20));
        problem(act(&app, &other, &shifts[0], "check-in").await, 403, "not_your_shift").await;
        let shift = json_of(act(&app, &agent, &shifts[0], "check-in").await).await;
        assert_eq!(shift["status"], "checked_in");
        assert!(shift["checked_in_at"].is_string());
        problem(act(&app, &agent, &shifts[0], "check-in").await, 409, "already_checked_in").await;
        let body = problem(act(&app, &agent, &shifts[0], "check-out").await, 409, "shift_not_started").await;
        assert!(body["starts_at"].is_string());
        problem(act(&app, &agent, &shifts[0], "release").await, 409, "already_checked_in").await;
        problem(act(&app, &agent, &shifts[1], "check-out").await, 409, "not_checked_in").await;

        clock_to(&app, start + Duration::hours(3));
        let done = json_of(act(&app, &agent, &shifts[0], "check-out").await).await;
        assert_eq!(done["status"], "completed");
        assert_eq!(done["outcome"], "worked");
        problem(act(&app, &agent, &shifts[0], "release").await, 409, "shift_completed").await;

        // The second shift: checked in, never checked out, completed by the clock.
        clock_to(&app, start + Duration::hours(4) - Duration::minutes(10));
        json_of(act(&app, &agent, &shifts[1], "check-in").await).await;
        clock_to(&app, start + Duration::hours(8) + Duration::minutes(1));
        wait_for_status(&app, &shifts[1], "completed").await;
        assert_eq!(shift_row(&app, &shifts[1]).await.0, "completed");
        assert_eq!(outcomes(&app, &shifts[1]).await, [(agent.id(), Some("worked".to_owned()))]);
    }

    async fn a_no_show_reopens_the_shift_with_an_urgent_bonus(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let rescuer = certified(&app, "Li Lei", "general").await;
        let prefs = json!({"auto_assign": false, "urgent_alerts": true});
        let res = app.api.put(app.url("/api/agents/me/shift-preferences")).bearer_auth(&rescuer.access).json(&prefs).send().await.unwrap();
        assert_eq!(json_of(res).await, prefs);
        json_of(claim(&app, &agent, &shifts[0]).await).await;

        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start + Duration::minutes(11));
        app.smtp.wait_for(&agent.email, "Missed shift").await;
        let (status, holder, bonus) = shift_row(&app, &shifts[0]).await;
        assert_eq!((status.as_str(), holder, bonus), ("open", None, 3000));
        assert_eq!(outcomes(&app, &shifts[0]).await, [(agent.id(), Some("no_show".to_owned()))]);
        problem(act(&app, &agent, &shifts[0], "check-in").await, 403, "not_your_shift").await;

        // Opted-in agents hear of it and may still take the rest of it over.
        let alert = app.smtp.wait_for(&rescuer.email, "Urgent shift open").await;
        assert!(alert.text.contains("30.00"), "{}", alert.text);
        let board = json_of(app.get_as("/api/shifts/open", &rescuer.access).await).await;
        assert_eq!(board["items"][0]["urgent_bonus_fen"], 3000);
        assert_eq!(board["items"][0]["pay_estimate_fen"], 9600 + 3000);
        json_of(claim(&app, &rescuer, &shifts[0]).await).await;
        // The rescuer holds (and is judged on) only the part left to work.
        let shift = shifts[0].clone();
        let from: NaiveDateTime = app.with_db(move |c| {
            shift_assignments::table.filter(shift_assignments::shift_id.eq(&shift))
                .filter(shift_assignments::ended_at.is_null())
                .select(shift_assignments::starts_at).first(c).unwrap()
        }).await;
        assert!(from > start + Duration::minutes(11), "{from} vs {start}");
        let checked = json_of(act(&app, &rescuer, &shifts[0], "check-in").await).await;
        assert_eq!(checked["status"], "checked_in");

        let shift = shifts[0].clone();
        let states: Vec<String> = app.with_db(move |c| {
            use cloudseat::db::schema::lifecycle_events as e;
            e::table.filter(e::entity_type.eq("shift")).filter(e::entity_id.eq(&shift))
                .order(e::id.asc()).select(e::to_state).load(c).unwrap()
        }).await;
        assert_eq!(states, ["claimed", "no_show", "open", "claimed", "checked_in"]);
    }

    async fn cancelling_a_booking_takes_back_its_shifts_and_tells_the_agents(app) {
        let shop = app.merchant("Tea House").await;
        let (booking, shifts) = booked(&app, &shop, "general", 40, (8, 12), 2).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let other = certified(&app, "Li Lei", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        let res = app.post_as(&format!("/api/bookings/{booking}/cancel"), &shop.access, &json!({})).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        app.smtp.wait_for(&agent.email, "cancel").await;
        assert_eq!(outcomes(&app, &shifts[0]).await, [(agent.id(), Some("cancelled".to_owned()))]);
        assert_eq!(shift_row(&app, &shifts[0]).await.0, "cancelled");
        problem(claim(&app, &other, &shifts[1]).await, 409, "booking_cancelled").await;
        problem(act(&app, &agent, &shifts[0], "check-in").await, 409, "booking_cancelled").await;
        let board = json_of(app.get_as("/api/shifts/open", &other.access).await).await;
        assert!(board["items"].as_array().unwrap().is_empty());
    }

    async fn a_shift_changes_hands_on_the_swap_board_until_the_cutoff(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 16), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let taker = certified(&app, "Li Lei", "general").await;
        let outsider = certified(&app, "Zhao", "pre_sale").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        json_of(claim(&app, &agent, &shifts[1]).await).await;
        problem(act(&app, &taker, &shifts[0], "take").await, 409, "not_offered").await;
        problem(act(&app, &taker, &shifts[0], "swap").await, 403, "not_your_shift").await;
        let offered = json_of(act(&app, &agent, &shifts[0], "swap").await).await;
        assert_eq!(offered["swap_offered"], true);
        let board = json_of(app.get_as("/api/shifts/swaps", &taker.access).await).await;
        assert_eq!(board["items"].as_array().unwrap().len(), 1);
        let board = json_of(app.get_as("/api/shifts/swaps", &outsider.access).await).await;
        assert!(board["items"].as_array().unwrap().is_empty(), "not certified for it");
        problem(act(&app, &outsider, &shifts[0], "take").await, 409, "not_certified").await;

        let taken = json_of(act(&app, &taker, &shifts[0], "take").await).await;
        assert_eq!(taken["mine"], true);
        app.smtp.wait_for(&agent.email, "Your shift was taken over").await;
        app.smtp.wait_for(&taker.email, "You took over a shift").await;
        assert_eq!(
            outcomes(&app, &shifts[0]).await,
            [(agent.id(), Some("swapped_out".to_owned())), (taker.id(), None)]
        );

        // Withdrawn offers leave the board; after the cutoff nothing can be offered.
        json_of(act(&app, &agent, &shifts[1], "swap").await).await;
        let res = app.api.delete(app.url(&format!("/api/shifts/{}/swap", shifts[1]))).bearer_auth(&agent.access).send().await.unwrap();
        assert_eq!(json_of(res).await["swap_offered"], false);
        let start = shift_start(&app, &shifts[1]).await;
        clock_to(&app, start - Duration::hours(1));
        problem(act(&app, &agent, &shifts[1], "swap").await, 409, "swap_closed").await;
    }

    async fn my_shifts_and_the_calendar_feed(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 16), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        json_of(claim(&app, &agent, &shifts[1]).await).await;
        json_of(act(&app, &agent, &shifts[1], "release").await).await;
        let mine = json_of(app.get_as("/api/shifts/mine", &agent.access).await).await;
        let items = mine["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["mine"], true);
        assert!(items[0]["outcome"].is_null());
        assert_eq!(items[1]["mine"], false);
        assert_eq!(items[1]["outcome"], "released");
        let body = problem(app.get_as(&format!("/api/shifts/mine?from={}&to={}", day(9), day(2)), &agent.access).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "to");

        let link = json_of(app.get_as("/api/agents/me/calendar", &agent.access).await).await;
        let url = link["url"].as_str().unwrap().to_owned();
        assert_eq!(json_of(app.get_as("/api/agents/me/calendar", &agent.access).await).await["url"], url.as_str());
        let path = url.split_once("/calendar/").unwrap().1;
        let res = app.api.get(app.url(&format!("/calendar/{path}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let ics = res.text().await.unwrap();
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
        assert!(ics.contains(&format!("UID:shift-{}@cloudseat", shifts[0])));
        assert!(ics.contains("STATUS:CANCELLED"), "the released shift leaves the calendar");

        let rotated = json_of(app.post_as("/api/agents/me/calendar/rotate", &agent.access, &json!({})).await).await;
        assert_ne!(rotated["url"], url.as_str());
        let res = app.api.get(app.url(&format!("/calendar/{path}"))).send().await.unwrap();
        assert_eq!(res.status(), 404);
        // An agent who leaves takes the calendar along.
        let new_path = rotated["url"].as_str().unwrap().split_once("/calendar/").unwrap().1.to_owned();
        let res = app.api.get(app.url(&format!("/calendar/{new_path}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = app.post_as("/api/agents/me/leave", &agent.access, &json!({"reason": "personal"})).await;
        assert_eq!(res.status(), 200);
        let res = app.api.get(app.url(&format!("/calendar/{new_path}"))).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }

    async fn agents_are_reminded_two_hours_before_once(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        json_of(claim(&app, &agent, &shifts[0]).await).await;
        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start - Duration::minutes(110));
        let mail = app.smtp.wait_for(&agent.email, "Your shift starts soon").await;
        assert!(mail.text.contains("Tea House"), "{}", mail.text);
        clock_to(&app, start - Duration::minutes(60));
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let reminders = app.smtp.all().iter().filter(|m| m.subject.starts_with("Your shift starts soon")).count();
        assert_eq!(reminders, 1);
    }

    async fn early_access_goes_to_the_merchants_previous_agents(app) {
        let shop = app.merchant("Tea House").await;
        let (_, first) = booked(&app, &shop, "general", 5, (8, 12), 1).await;
        past_early_access(&app);
        let regular = certified(&app, "Wang Fang", "general").await;
        let newcomer = certified(&app, "Li Lei", "general").await;
        json_of(claim(&app, &regular, &first[0]).await).await;
        // The shop books again: for a day its previous agents come first.
        let (_, second) = booked(&app, &shop, "general", 12, (8, 12), 2).await;
        problem(claim(&app, &newcomer, &second[0]).await, 409, "early_access_only").await;
        let board = json_of(app.get_as("/api/shifts/open", &newcomer.access).await).await;
        assert!(board["items"][0]["early_access_until"].is_string());
        json_of(claim(&app, &regular, &second[0]).await).await;
        past_early_access(&app);
        let board = json_of(app.get_as("/api/shifts/open", &newcomer.access).await).await;
        assert!(board["items"][0]["early_access_until"].is_null(), "open to everyone now");
        json_of(claim(&app, &newcomer, &second[1]).await).await;
    }

    async fn early_access_goes_to_agents_whose_level_grants_it(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 12), 2).await;
        let senior = certified(&app, "Wang Fang", "general").await;
        let agent = certified(&app, "Li Lei", "general").await;
        // Level 3 does not grant early access (levels.toml); level 4 does.
        for (who, level) in [(&senior, 4), (&agent, 3)] {
            let id = who.id();
            app.with_db(move |c| {
                diesel::update(agents::table.find(&id))
                    .set(agents::level.eq(level))
                    .execute(c)
                    .unwrap();
            })
            .await;
        }
        problem(claim(&app, &agent, &shifts[0]).await, 409, "early_access_only").await;
        json_of(claim(&app, &senior, &shifts[0]).await).await;
    }
}

#[tokio::test]
async fn an_unknown_calendar_token_finds_nothing() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    for path in [
        "/calendar/short.ics",
        "/calendar/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ics",
    ] {
        let res = app.api.get(app.url(path)).send().await.unwrap();
        problem(res, 404, "not_found").await;
    }
}

both_backends! {
    async fn suspension_and_leaving_put_claimed_shifts_back_on_the_board(app) {
        let shop = app.merchant("Tea House").await;
        let admin = app.admin().await;
        let (_, soon) = booked(&app, &shop, "general", 2, (8, 16), 1).await;
        let (_, later) = booked(&app, &shop, "general", 20, (8, 12), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let leaver = certified(&app, "Li Lei", "general").await;
        json_of(claim(&app, &agent, &soon[0]).await).await;
        json_of(claim(&app, &leaver, &soon[1]).await).await;
        json_of(claim(&app, &agent, &later[0]).await).await;
        let start = shift_start(&app, &soon[0]).await;
        // Within a day of the start (already there when the suite runs late in the
        // market's evening: the clock only moves forward).
        if app.clock.now() < start - Duration::hours(12) {
            clock_to(&app, start - Duration::hours(12));
        }

        let res = app
            .post_as(&format!("/api/admin/agents/{}/suspend", agent.id()), &admin.access, &json!({"reason": "repeated no-shows"}))
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        assert_eq!(shift_row(&app, &soon[0]).await.0, "open");
        assert_eq!(shift_row(&app, &later[0]).await.0, "open");
        // Within a day of the start the release is late; weeks ahead it is not.
        assert_eq!(outcomes(&app, &soon[0]).await, [(agent.id(), Some("released_late".to_owned()))]);
        assert_eq!(outcomes(&app, &later[0]).await, [(agent.id(), Some("released".to_owned()))]);

        let res = app.post_as("/api/agents/me/leave", &leaver.access, &json!({"reason": "found_other_work"})).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        assert_eq!(shift_row(&app, &soon[1]).await.0, "open");
        let shift = soon[1].clone();
        let reason: Option<String> = app.with_db(move |c| {
            use cloudseat::db::schema::lifecycle_events as e;
            e::table.filter(e::entity_type.eq("shift")).filter(e::entity_id.eq(&shift))
                .order(e::id.desc()).select(e::reason).first(c).unwrap()
        }).await;
        assert_eq!(reason.as_deref(), Some("agent_left"));
    }
}
