//! The talent pool for admins: filters, sorting, keyset pages and the CSV export.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp, field_codes, problem};
use cloudseat::db::schema::{
    accounts, agent_level_changes, agents, certifications, exam_tracks, trial_slots, trials,
};

/// Records what a passed trial will record once the trial flow exists: a reviewed, passed
/// trial of `skill` with `percent`, and (when `valid_for` is given) a certification of
/// `skill` expiring that long after the app's now. The only place these tests write
/// `trials` and `certifications` directly; replace it with the real flow when it lands.
pub async fn record_passed_trial(
    app: &TestApp,
    admin: &Session,
    agent: &Session,
    skill: &str,
    percent: i32,
    valid_for: Option<Duration>,
) {
    let (admin, agent, skill) = (admin.id(), agent.id(), skill.to_owned());
    let now = app.clock.now();
    app.with_db(move |conn| {
        // BEGIN IMMEDIATE on SQLite: the service's background jobs write meanwhile.
        cloudseat::db::write_transaction(conn, |conn| -> QueryResult<()> {
            let has_track: i64 = exam_tracks::table
                .filter(exam_tracks::skill.eq(&skill))
                .count()
                .get_result(conn)?;
            if has_track == 0 {
                diesel::insert_into(exam_tracks::table)
                    .values((
                        exam_tracks::skill.eq(&skill),
                        exam_tracks::exam_size.eq(1),
                        exam_tracks::pass_percent.eq(80),
                        exam_tracks::duration_minutes.eq(30),
                        exam_tracks::cooldown_hours.eq(0),
                        exam_tracks::max_attempts_per_30_days.eq(0),
                        exam_tracks::created_at.eq(now),
                        exam_tracks::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            let slot = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(trial_slots::table)
                .values((
                    trial_slots::id.eq(&slot),
                    trial_slots::skill.eq(&skill),
                    trial_slots::starts_at.eq(now - Duration::days(2)),
                    trial_slots::ends_at.eq(now - Duration::days(2) + Duration::hours(2)),
                    trial_slots::capacity.eq(5),
                    trial_slots::booked.eq(1),
                    trial_slots::created_by.eq(&admin),
                    trial_slots::created_at.eq(now - Duration::days(3)),
                ))
                .execute(conn)?;
            let trial = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(trials::table)
                .values((
                    trials::id.eq(&trial),
                    trials::agent_id.eq(&agent),
                    trials::slot_id.eq(&slot),
                    trials::skill.eq(&skill),
                    trials::status.eq("passed"),
                    trials::percent.eq(Some(percent)),
                    trials::reviewed_by.eq(Some(&admin)),
                    trials::booked_at.eq(now - Duration::days(3)),
                    trials::submitted_at.eq(Some(now - Duration::days(2))),
                    trials::reviewed_at.eq(Some(now - Duration::days(1))),
                ))
                .execute(conn)?;
            if let Some(valid_for) = valid_for {
                diesel::insert_into(certifications::table)
                    .values((
                        certifications::agent_id.eq(&agent),
                        certifications::skill.eq(&skill),
                        certifications::certified_at.eq(now - Duration::days(1)),
                        certifications::expires_at.eq(now + valid_for),
                        certifications::trial_id.eq(Some(&trial)),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .unwrap()
    })
    .await
}

async fn set_profile(
    app: &TestApp,
    agent: &Session,
    name: &str,
    zone: &str,
    languages: &[&str],
    availability: Value,
) {
    let res = app
        .api
        .put(app.url("/api/agents/me/profile"))
        .bearer_auth(&agent.access)
        .json(&json!({
            "display_name": name, "time_zone": zone, "languages": languages,
            "skills": ["general"], "availability": availability, "max_concurrent_chats": 3,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn names(app: &TestApp, admin: &Session, query: &str) -> Vec<String> {
    let res = app
        .get_as(&format!("/api/admin/agents?{query}"), &admin.access)
        .await;
    assert_eq!(res.status(), 200, "{query}");
    let body: Value = res.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["display_name"].as_str().unwrap().to_owned())
        .collect()
}

/// Ada (Shanghai, zh+en, Monday evenings, certified for general, quality 90), Bea (London,
/// en, Monday mornings, certified for pre_sale, quality 70), Cai (ja, nothing else), Dan
/// (suspended).
async fn cast(app: &TestApp) -> (Session, [Session; 4]) {
    let admin = app.admin().await;
    let ada = app.agent("Ada").await;
    let bea = app.agent("Bea").await;
    let cai = app.agent("Cai").await;
    let dan = app.agent("Dan").await;
    set_profile(
        app,
        &ada,
        "Ada Lin",
        "Asia/Shanghai",
        &["zh", "en"],
        json!([{"day": "mon", "start": "19:00", "end": "21:30"}]),
    )
    .await;
    set_profile(
        app,
        &bea,
        "Bea Moss",
        "Europe/London",
        &["en"],
        json!([{"day": "mon", "start": "09:00", "end": "11:00"}]),
    )
    .await;
    set_profile(app, &cai, "Cai Jun", "Asia/Tokyo", &["ja"], json!([])).await;
    record_passed_trial(app, &admin, &ada, "general", 90, Some(Duration::days(365))).await;
    record_passed_trial(app, &admin, &bea, "pre_sale", 70, Some(Duration::days(365))).await;
    let res = app
        .post_as(
            &format!("/api/admin/agents/{}/suspend", dan.id()),
            &admin.access,
            &json!({"reason": "no-shows"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    (admin, [ada, bea, cai, dan])
}

both_backends! {
    async fn each_filter_finds_the_right_agents(app) {
        let (admin, [ada, ..]) = cast(&app).await;
        assert_eq!(names(&app, &admin, "").await, ["Ada Lin", "Bea Moss", "Cai Jun", "Dan"]);
        assert_eq!(names(&app, &admin, "skill=general").await, ["Ada Lin"]);
        assert_eq!(names(&app, &admin, "skill=pre_sale").await, ["Bea Moss"]);
        assert_eq!(names(&app, &admin, "language=en").await, ["Ada Lin", "Bea Moss"]);
        assert_eq!(names(&app, &admin, "status=suspended").await, ["Dan"]);
        assert_eq!(names(&app, &admin, "status=applicant&language=ja").await, ["Cai Jun"]);
        assert_eq!(names(&app, &admin, "min_quality=80").await, ["Ada Lin"]);
        assert_eq!(names(&app, &admin, "min_quality=0").await, ["Ada Lin", "Bea Moss"]);
        // Letters outside hex, so the random part of the test addresses cannot match too.
        assert_eq!(names(&app, &admin, "q=LIN").await, ["Ada Lin"]);
        assert_eq!(names(&app, &admin, &format!("q={}", &ada.email[..6])).await, ["Ada Lin"]);
        assert!(names(&app, &admin, "q=%25").await.is_empty(), "% is a character, not a wildcard");
        // The admin's zone is Shanghai: Monday 20:00 there is Ada's evening; Monday 17:30
        // there is 09:30 in London, Bea's morning.
        assert_eq!(names(&app, &admin, "available=mon%2020:00").await, ["Ada Lin"]);
        assert_eq!(names(&app, &admin, "available=mon@17:30").await, ["Bea Moss"]);
        assert_eq!(names(&app, &admin, "available=mon").await, ["Ada Lin", "Bea Moss"]);
        assert_eq!(names(&app, &admin, "available=mon%2009:30&tz=Europe/London").await, ["Bea Moss"]);
        assert!(names(&app, &admin, "available=tue").await.is_empty());

        let body: Value = app.get_as("/api/admin/agents?skill=general", &admin.access).await.json().await.unwrap();
        let row = &body["items"][0];
        assert_eq!(row["account_id"], ada.id());
        assert_eq!(row["email"], ada.email);
        assert_eq!(row["status"], "applicant");
        assert_eq!(row["time_zone"], "Asia/Shanghai");
        assert_eq!(row["languages"], json!(["zh", "en"]));
        assert_eq!(row["wanted_skills"], json!(["general"]));
        assert_eq!(row["certifications"][0]["skill"], "general");
        assert_eq!(row["certifications"][0]["valid"], true);
        assert_eq!(row["availability"][0]["start"], "19:00");
        assert_eq!(row["max_concurrent_chats"], 3);
        assert_eq!(row["quality"], 90);
        assert!(row["joined"].as_str().unwrap().ends_with('Z'));
        assert!(body["next_cursor"].is_null());
    }

    async fn bad_filters_are_problems_naming_the_field(app) {
        let admin = app.admin().await;
        for (query, field, code) in [
            ("skill=telepathy", "skill", "unknown_value"),
            ("status=retired", "status", "unknown_value"),
            ("language=xx", "language", "unknown_value"),
            ("available=someday", "available", "invalid_value"),
            ("available=mon%2025:00", "available", "invalid_value"),
            ("tz=Mars/Base", "tz", "invalid_time_zone"),
            ("min_quality=101", "min_quality", "out_of_range"),
            ("min_quality=lots", "min_quality", "invalid_number"),
            ("sort=age", "sort", "unknown_value"),
            ("limit=0", "limit", "out_of_range"),
            ("cursor=bm9wZQ", "cursor", "invalid_cursor"),
        ] {
            let res = app.get_as(&format!("/api/admin/agents?{query}"), &admin.access).await;
            let body = problem(res, 422, "validation_failed").await;
            assert_eq!(field_codes(&body), [(field.to_owned(), code.to_owned())], "{query}");
            let res = app.get_as(&format!("/api/admin/agents/export.csv?{query}"), &admin.access).await;
            if !matches!(field, "limit" | "cursor") {
                problem(res, 422, "validation_failed").await;
            }
        }
        let res = app.get_as("/api/admin/agents?skill=x&status=y", &admin.access).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body).len(), 2, "every bad filter at once");
    }

    async fn sorting_is_stable_and_pages_never_repeat(app) {
        let admin = app.admin().await;
        let mut people = Vec::new();
        for (name, quality) in [("Same", Some(50)), ("Same", None), ("Alpha", Some(80)), ("Same", Some(50)), ("Zed", None)] {
            let a = app.agent(name).await;
            set_profile(&app, &a, name, "Asia/Shanghai", &["zh"], json!([])).await;
            if let Some(q) = quality {
                record_passed_trial(&app, &admin, &a, "general", q, None).await;
            }
            people.push(a);
        }
        let walk = |sort: &'static str| {
            let app = &app;
            let admin = &admin;
            async move {
                let mut seen: Vec<(String, String)> = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let path = match &cursor {
                        Some(c) => format!("/api/admin/agents?sort={sort}&limit=2&cursor={c}"),
                        None => format!("/api/admin/agents?sort={sort}&limit=2"),
                    };
                    let body: Value = app.get_as(&path, &admin.access).await.json().await.unwrap();
                    for a in body["items"].as_array().unwrap() {
                        seen.push((a["display_name"].as_str().unwrap().to_owned(), a["account_id"].as_str().unwrap().to_owned()));
                    }
                    match body["next_cursor"].as_str() {
                        Some(c) => cursor = Some(c.to_owned()),
                        None => break,
                    }
                }
                seen
            }
        };
        let by_name = walk("name").await;
        let names: Vec<&str> = by_name.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Alpha", "Same", "Same", "Same", "Zed"]);
        let same_ids: Vec<&String> = by_name[1..4].iter().map(|(_, id)| id).collect();
        let mut sorted = same_ids.clone();
        sorted.sort();
        assert_eq!(same_ids, sorted, "ties in account id order");
        assert_eq!(walk("name").await, by_name, "the same order every time");
        let reversed: Vec<String> = walk("-name").await.into_iter().map(|(n, _)| n).collect();
        assert_eq!(reversed, ["Zed", "Same", "Same", "Same", "Alpha"]);

        let joined: Vec<String> = walk("joined").await.into_iter().map(|(_, id)| id).collect();
        let registered: Vec<String> = people.iter().map(Session::id).collect();
        assert_eq!(joined, registered);
        let newest: Vec<String> = walk("-joined").await.into_iter().map(|(_, id)| id).collect();
        assert_eq!(newest, registered.iter().rev().cloned().collect::<Vec<_>>());

        let best: Vec<String> = walk("-quality").await.into_iter().map(|(n, _)| n).collect();
        assert_eq!(best, ["Alpha", "Same", "Same", "Same", "Zed"], "unrated agents last");
        let worst: Vec<(String, String)> = walk("quality").await;
        assert_eq!(worst[0].0, "Same");
        assert_eq!(worst[2].0, "Alpha");
        assert!(worst[3..].iter().all(|(_, id)| *id == people[1].id() || *id == people[4].id()), "unrated last: {worst:?}");
    }

    async fn certifications_expire_with_the_clock(app) {
        let admin = app.admin().await;
        let agent = app.agent("Expiring").await;
        record_passed_trial(&app, &admin, &agent, "general", 85, Some(Duration::days(10))).await;
        assert_eq!(names(&app, &admin, "skill=general").await, ["Expiring"]);
        app.clock.advance(Duration::days(11));
        assert!(names(&app, &admin, "skill=general").await.is_empty(), "expired: no longer certified");
        let body: Value = app.get_as("/api/admin/agents", &admin.access).await.json().await.unwrap();
        assert_eq!(body["items"][0]["certifications"][0]["valid"], false, "still listed, as expired");
        let csv = app.get_as("/api/admin/agents/export.csv", &admin.access).await.text().await.unwrap();
        assert!(csv.lines().nth(1).unwrap().contains(" expired"), "{csv}");
    }

    async fn the_csv_export_holds_every_match_escaped(app) {
        let (admin, [ada, ..]) = cast(&app).await;
        let evil = app.agent("Evil").await;
        set_profile(&app, &evil, "=HYPERLINK(\"http://x\",\"click\")", "Asia/Shanghai", &["zh"], json!([])).await;
        let quoted = app.agent("Quoted").await;
        set_profile(&app, &quoted, "Lin, \"the fast\" one", "Asia/Shanghai", &["zh"], json!([])).await;

        let res = app.get_as("/api/admin/agents/export.csv", &admin.access).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"talent-pool-") && disposition.ends_with(".csv\""), "{disposition}");
        let body = res.text().await.unwrap();
        let body = body.strip_prefix('\u{feff}').expect("a UTF-8 byte-order mark for spreadsheets");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header[..4], ["account_id", "display_name", "email", "status"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6);
        let names: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
        assert!(names.contains(&"'=HYPERLINK(\"http://x\",\"click\")"), "{names:?}");
        assert!(names.contains(&"Lin, \"the fast\" one"), "quotes and commas survive: {names:?}");
        let ada_row = rows.iter().find(|r| &r[0] == ada.id().as_str()).unwrap();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&ada_row[col("languages")], "zh;en");
        assert_eq!(&ada_row[col("certified_skills")], "general");
        assert_eq!(&ada_row[col("availability")], "mon 19:00-21:30");
        assert_eq!(&ada_row[col("quality")], "90");
        let joined = &ada_row[col("joined")];
        assert!(chrono::DateTime::parse_from_rfc3339(joined).is_ok() && joined.ends_with('Z'), "{joined}");
        let cert = &ada_row[col("certifications")];
        assert!(cert.starts_with("general ") && cert.contains("Z/"), "{cert}");

        let filtered = app.get_as("/api/admin/agents/export.csv?skill=general&sort=-name", &admin.access).await.text().await.unwrap();
        assert_eq!(filtered.lines().count(), 2, "{filtered}");
        assert!(filtered.lines().nth(1).unwrap().contains("Ada Lin"));
    }

    async fn a_decided_months_quality_replaces_the_trial_score(app) {
        let (admin, [ada, ..]) = cast(&app).await;
        // Ada's trial said 90; her first decided month scored 65.99 (whole points: 65), and
        // a later month with nothing measured does not erase it.
        let id = ada.id();
        app.with_db(move |c| {
            for (month, quality) in [("2026-10", Some(6_599)), ("2026-11", None)] {
                diesel::insert_into(agent_level_changes::table)
                    .values((
                        agent_level_changes::id.eq(cloudseat::db::new_id()),
                        agent_level_changes::agent_id.eq(&id),
                        agent_level_changes::month.eq(month),
                        agent_level_changes::from_level.eq(1),
                        agent_level_changes::to_level.eq(1),
                        agent_level_changes::quality_x100.eq(quality),
                        agent_level_changes::minutes_worked.eq(0),
                        agent_level_changes::in_grace.eq(false),
                        agent_level_changes::reasons.eq("[]"),
                        agent_level_changes::ruleset_version.eq("test"),
                        agent_level_changes::created_at.eq(cloudseat::db::now()),
                    ))
                    .execute(c)
                    .unwrap();
            }
        })
        .await;
        let body: Value = app.get_as("/api/admin/agents?skill=general", &admin.access).await.json().await.unwrap();
        assert_eq!(body["items"][0]["quality"], 65);
        assert!(names(&app, &admin, "min_quality=80").await.is_empty());
        assert_eq!(names(&app, &admin, "min_quality=66").await, ["Bea Moss"]);
        assert_eq!(names(&app, &admin, "sort=-quality&min_quality=0").await, ["Bea Moss", "Ada Lin"]);
    }
}

/// Agents straight into the tables (registration hashes a password each: too slow for a
/// thousand), to show the export and the availability filter walk past their batches.
async fn many_agents(app: &TestApp, n: usize) {
    let now = app.clock.now();
    app.with_db(move |conn| {
        // BEGIN IMMEDIATE on SQLite: the service's background jobs write meanwhile.
        cloudseat::db::write_transaction(conn, |conn| -> QueryResult<()> {
            for i in 0..n {
                let id = uuid::Uuid::now_v7().to_string();
                diesel::insert_into(accounts::table)
                    .values((
                        accounts::id.eq(&id),
                        accounts::email.eq(format!("bulk{i:05}@example.com")),
                        accounts::password_hash.eq("x"),
                        accounts::role.eq("agent"),
                        accounts::display_name.eq(format!("Bulk {i:05}")),
                        accounts::locale.eq("en"),
                        accounts::time_zone.eq("Asia/Shanghai"),
                        accounts::password_changed_at.eq(now),
                        accounts::created_at.eq(now),
                        accounts::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                // Every 250th agent works Friday mornings.
                let availability = if i % 250 == 0 {
                    r#"[{"day":"fri","start":"09:00","end":"12:00"}]"#
                } else {
                    "[]"
                };
                diesel::insert_into(agents::table)
                    .values((
                        agents::account_id.eq(&id),
                        agents::status.eq("applicant"),
                        agents::status_changed_at.eq(now),
                        agents::created_at.eq(now),
                        agents::languages.eq(r#"["zh"]"#),
                        agents::skills.eq("[]"),
                        agents::availability.eq(availability),
                        agents::max_concurrent_chats.eq(2),
                        agents::accessibility.eq("[]"),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .unwrap()
    })
    .await
}

both_backends! {
    async fn big_pools_export_whole_and_filter_across_batches(app) {
        let admin = app.admin().await;
        many_agents(&app, 1203).await;
        let csv = app.get_as("/api/admin/agents/export.csv", &admin.access).await.text().await.unwrap();
        let names: Vec<String> = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
            .records()
            .map(|r| r.unwrap()[1].to_owned())
            .collect();
        assert_eq!(names.len(), 1203);
        let expected: Vec<String> = (0..1203).map(|i| format!("Bulk {i:05}")).collect();
        assert_eq!(names, expected, "every agent once, in order");

        let body: Value = app.get_as("/api/admin/agents?available=fri%2010:00&limit=3", &admin.access).await.json().await.unwrap();
        let page: Vec<&str> = body["items"].as_array().unwrap().iter().map(|a| a["display_name"].as_str().unwrap()).collect();
        assert_eq!(page, ["Bulk 00000", "Bulk 00250", "Bulk 00500"]);
        let cursor = body["next_cursor"].as_str().unwrap();
        let rest: Value = app
            .get_as(&format!("/api/admin/agents?available=fri%2010:00&limit=3&cursor={cursor}"), &admin.access)
            .await
            .json()
            .await
            .unwrap();
        let page: Vec<&str> = rest["items"].as_array().unwrap().iter().map(|a| a["display_name"].as_str().unwrap()).collect();
        assert_eq!(page, ["Bulk 00750", "Bulk 01000"]);
        assert!(rest["next_cursor"].is_null());
    }
}
