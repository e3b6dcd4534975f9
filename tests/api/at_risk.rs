//! At-risk agents (`GET /api/admin/analytics/at-risk`, its CSV, follow-ups and the admin
//! page) on a pool whose scores are worked out by hand from the shipped `at_risk.toml`
//! (recent: the last 2 weeks, baseline: the 6 before; weights adherence 20, volatility 10,
//! hours 15, incidents 15, quality 10, below median 10, no claims 15, dispute 5) and
//! `pay.toml` (a worked 4-hour `general` shift pays 240 min × ¥16.80/h = ¥67.20; a no-show
//! deducts ¥20.00):
//!
//! | agent | weeks 1-6 (baseline) | weeks 7-8 (recent) | score |
//! |---|---|---|---|
//! | Ann | 2 worked shifts a week | the same | 0 |
//! | Bob | 2 worked shifts a week | 1 worked + 1 no-show a week | 60 |
//! | Cy | 2 worked shifts in weeks 1-4, then nothing | nothing | 50 |
//! | Dee | like Ann, disputed a review 3 days ago | | 5 |
//! | Fay | certified 20 days ago, never claimed | | 25 |
//! | Eve | certified 3 days ago, a no-show yesterday | | 0 |
//!
//! Bob: 2 of 4 attended lately against 12 of 12 (50 points down: 20), 4.0 h a week against
//! 8.0 (50% down: 15), 2 no-shows against none (15), earned 2 × (¥67.20 − ¥20.00) = ¥94.40
//! against the median ¥268.80 (Ann, Bob, Dee earned lately: the middle one; under half: 10).
//! Cy: earnings ¥134.40 ×4 then ¥0 ×4 (mean ¥67.20, CV 1.00: 10), 0.0 h a week against 5.3
//! (15), ¥0 lately (10), last claim over 14 days ago (15). Fay: ¥0 in her two weeks (10),
//! never claimed in 20 days (15). Eve has no full week in the pool: no trend counts.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    ChatFixture, Session, TestApp, csrf_of, field_codes, insert_chat, insert_customer, problem,
    signed_in,
};
use crate::shifts::{booked, certified, certify, json_of};
use cloudseat::db::schema::{certifications, chat_reviews, review_disputes, shift_assignments};

const NOBODY: &str = "00000000-0000-7000-8000-000000000000";

fn today(app: &TestApp) -> NaiveDate {
    app.clock
        .now()
        .and_utc()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// 10:00 market time on the second day of week `k` of the eight (0 the oldest; week 7
/// ends yesterday), in UTC.
fn in_week(app: &TestApp, k: i64) -> NaiveDateTime {
    let first = today(app) - Duration::days(7 * (8 - k));
    (first + Duration::days(1)).and_hms_opt(10, 0, 0).unwrap() - Duration::hours(8)
}

struct Seat {
    shift: String,
    booking: String,
    merchant: String,
}

/// A 4-hour assignment of a `general` shift starting at `starts`, claimed two days
/// before, ended as `outcome` (a worked one checked in for all four hours).
async fn held(
    app: &TestApp,
    agent: &Session,
    seat: &Seat,
    starts: NaiveDateTime,
    outcome: &'static str,
) {
    let (agent, shift, booking, merchant) = (
        agent.id(),
        seat.shift.clone(),
        seat.booking.clone(),
        seat.merchant.clone(),
    );
    app.with_db(move |c| {
        let ends = starts + Duration::hours(4);
        let worked = outcome == "worked";
        diesel::insert_into(shift_assignments::table)
            .values((
                shift_assignments::id.eq(uuid::Uuid::now_v7().to_string()),
                shift_assignments::shift_id.eq(&shift),
                shift_assignments::agent_id.eq(&agent),
                shift_assignments::merchant_id.eq(&merchant),
                shift_assignments::booking_id.eq(&booking),
                shift_assignments::via.eq("claim"),
                shift_assignments::starts_at.eq(starts),
                shift_assignments::ends_at.eq(ends),
                shift_assignments::claimed_at.eq(starts - Duration::days(2)),
                shift_assignments::checked_in_at.eq(worked.then_some(starts)),
                shift_assignments::checked_out_at.eq(worked.then_some(ends)),
                shift_assignments::ended_at.eq(ends),
                shift_assignments::outcome.eq(outcome),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

/// Moves the agent's certifications back to `days` ago.
async fn in_pool_since(app: &TestApp, agent: &Session, days: i64) {
    let (id, at) = (agent.id(), app.clock.now() - Duration::days(days));
    app.with_db(move |c| {
        diesel::update(certifications::table.filter(certifications::agent_id.eq(&id)))
            .set(certifications::certified_at.eq(at))
            .execute(c)
            .unwrap();
    })
    .await;
}

/// A review of a chat of the agent's from two months ago, disputed three days ago.
async fn disputed(app: &TestApp, agent: &Session, reviewer: &Session, merchant: &str) {
    let (agent, reviewer, merchant) = (agent.id(), reviewer.id(), merchant.to_owned());
    let now = app.clock.now();
    app.with_db(move |c| {
        let customer = insert_customer(c, &merchant);
        let closed = now - Duration::days(60);
        let chat = insert_chat(
            c,
            &ChatFixture {
                merchant: &merchant,
                customer: &customer,
                agent: Some(&agent),
                status: "closed",
                created: closed - Duration::minutes(10),
                accepted: Some(closed - Duration::minutes(9)),
                first_response: Some(closed - Duration::minutes(9)),
                closed: Some(closed),
                rating: None,
            },
        );
        let review = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(chat_reviews::table)
            .values((
                chat_reviews::id.eq(&review),
                chat_reviews::chat_id.eq(&chat),
                chat_reviews::agent_id.eq(&agent),
                chat_reviews::merchant_id.eq(&merchant),
                chat_reviews::reviewer_id.eq(&reviewer),
                chat_reviews::reviewer_role.eq("admin"),
                chat_reviews::track.eq("general"),
                chat_reviews::scores.eq("[]"),
                chat_reviews::total_x100.eq(6_000),
                chat_reviews::exemplary.eq(false),
                chat_reviews::ruleset_version.eq("test"),
                chat_reviews::chat_closed_at.eq(closed),
                chat_reviews::created_at.eq(now - Duration::days(4)),
            ))
            .execute(c)
            .unwrap();
        diesel::insert_into(review_disputes::table)
            .values((
                review_disputes::id.eq(uuid::Uuid::now_v7().to_string()),
                review_disputes::review_id.eq(&review),
                review_disputes::agent_id.eq(&agent),
                review_disputes::reason.eq("the customer was rude first"),
                review_disputes::status.eq("open"),
                review_disputes::created_at.eq(now - Duration::days(3)),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

struct Pool {
    admin: Session,
    shop: Session,
    ann: Session,
    bob: Session,
    cy: Session,
    dee: Session,
    eve: Session,
    fay: Session,
}

/// The pool of the module notes.
async fn pool(app: &TestApp) -> Pool {
    let admin = app.admin().await;
    let shop = app.merchant("Tea House").await;
    let (booking, shifts) = booked(app, &shop, "general", 5, (8, 12), 1).await;
    let seat = Seat {
        shift: shifts[0].clone(),
        booking,
        merchant: shop.merchant_id(),
    };
    let ann = certified(app, "Ann", "general").await;
    let bob = certified(app, "Bob", "general").await;
    let cy = certified(app, "Cy", "general").await;
    let dee = certified(app, "Dee", "general").await;
    let eve = certified(app, "Eve", "general").await;
    let fay = certified(app, "Fay", "general").await;
    certify(app, &cy, "pre_sale", 365).await;
    for a in [&ann, &bob, &cy, &dee] {
        in_pool_since(app, a, 70).await;
    }
    in_pool_since(app, &fay, 20).await;
    in_pool_since(app, &eve, 3).await;
    for k in 0..8 {
        let start = in_week(app, k);
        let later = start + Duration::days(2);
        for a in [&ann, &dee] {
            held(app, a, &seat, start, "worked").await;
            held(app, a, &seat, later, "worked").await;
        }
        held(app, &bob, &seat, start, "worked").await;
        held(
            app,
            &bob,
            &seat,
            later,
            if k < 6 { "worked" } else { "no_show" },
        )
        .await;
        if k < 4 {
            held(app, &cy, &seat, start, "worked").await;
            held(app, &cy, &seat, later, "worked").await;
        }
    }
    let yesterday = (today(app) - Duration::days(1))
        .and_hms_opt(2, 0, 0)
        .unwrap();
    held(app, &eve, &seat, yesterday, "no_show").await;
    disputed(app, &dee, &admin, &shop.merchant_id()).await;
    Pool {
        admin,
        shop,
        ann,
        bob,
        cy,
        dee,
        eve,
        fay,
    }
}

async fn at_risk(app: &TestApp, admin: &Session, query: &str) -> Value {
    json_of(
        app.get_as(
            &format!("/api/admin/analytics/at-risk{query}"),
            &admin.access,
        )
        .await,
    )
    .await
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["agent_id"].as_str().unwrap().to_owned())
        .collect()
}

fn signals(item: &Value) -> Vec<String> {
    item["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal"].as_str().unwrap().to_owned())
        .collect()
}

fn reasons(item: &Value) -> Vec<String> {
    item["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    async fn scores_and_reasons_are_the_hand_computed_ones(app) {
        let p = pool(&app).await;
        let list = at_risk(&app, &p.admin, "").await;
        assert_eq!(ids(&list), [p.bob.id(), p.cy.id(), p.fay.id(), p.dee.id()], "{list}");
        assert_eq!(list["pool_median_fen"], 26_880);
        assert_eq!(list["weights"]["adherence_falling"], 20);
        assert!(list["next_cursor"].is_null());
        let items = list["items"].as_array().unwrap();
        let scores: Vec<i64> = items.iter().map(|i| i["score"].as_i64().unwrap()).collect();
        assert_eq!(scores, [60, 50, 25, 5]);

        let bob = &items[0];
        assert_eq!(bob["name"], "Bob");
        assert_eq!(bob["skills"], json!(["general"]));
        assert_eq!(signals(bob), ["adherence_falling", "hours_dropping", "incidents_rising", "earnings_below_median"]);
        assert_eq!(
            reasons(bob),
            [
                "attended 2 of 4 claimed shifts in the last 2 weeks (50%), 12 of 12 before (100%)",
                "worked 4.0 hours a week lately, 8.0 before (50% less)",
                "0 late release(s) and 2 no-show(s) in the last 2 weeks, 0 in the 6 weeks before",
                "earned ¥94.40 in the last 2 weeks, under 50% of the pool's median of ¥268.80",
            ]
        );
        assert_eq!(bob["reasons"][0]["weight"], 20);
        assert_eq!(bob["reasons"][0]["figures"]["percent"], "50");
        assert!(bob["last_follow_up"].is_null());

        let cy = &items[1];
        assert_eq!(cy["skills"], json!(["general", "pre_sale"]));
        assert_eq!(signals(cy), ["earnings_volatile", "hours_dropping", "earnings_below_median", "no_recent_claims"]);
        let last_claim = in_week(&app, 3) + Duration::days(2) - Duration::days(2);
        let days = (app.clock.now() - last_claim).num_days();
        assert_eq!(
            reasons(cy),
            [
                "weekly earnings vary by 1.00 of their mean (¥67.20) over 8 weeks".to_owned(),
                "worked 0.0 hours a week lately, 5.3 before (100% less)".to_owned(),
                "earned ¥0.00 in the last 2 weeks, under 50% of the pool's median of ¥268.80".to_owned(),
                format!("no shift claimed for {days} days"),
            ]
        );
        let fay = &items[2];
        assert_eq!(
            reasons(fay),
            [
                "earned ¥0.00 in the last 2 weeks, under 50% of the pool's median of ¥268.80",
                "no shift claimed since joining the pool 20 days ago",
            ]
        );
        assert_eq!(reasons(&items[3]), ["disputed a review 3 days ago"]);

        // Everyone certified with min_score=0: Ann and Eve (0) last, by id.
        let all = at_risk(&app, &p.admin, "?min_score=0").await;
        let mut zeros = vec![p.ann.id(), p.eve.id()];
        zeros.sort();
        assert_eq!(ids(&all), [vec![p.bob.id(), p.cy.id(), p.fay.id(), p.dee.id()], zeros].concat());
        let eve = all["items"].as_array().unwrap().iter().find(|i| i["agent_id"] == p.eve.id()).unwrap();
        assert_eq!((eve["score"].as_i64(), eve["reasons"].as_array().unwrap().len()), (Some(0), 0), "a newcomer's no-show is no trend");

        // Filters: a minimum score, a skill.
        assert_eq!(ids(&at_risk(&app, &p.admin, "?min_score=50").await), [p.bob.id(), p.cy.id()]);
        assert_eq!(ids(&at_risk(&app, &p.admin, "?skill=pre_sale").await), [p.cy.id()]);
        assert_eq!(ids(&at_risk(&app, &p.admin, "?min_score=61").await), Vec::<String>::new());

        // Pages of three, then the rest.
        let first = at_risk(&app, &p.admin, "?limit=3").await;
        assert_eq!(ids(&first), [p.bob.id(), p.cy.id(), p.fay.id()]);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let second = at_risk(&app, &p.admin, &format!("?limit=3&cursor={cursor}")).await;
        assert_eq!(ids(&second), [p.dee.id()]);
        assert!(second["next_cursor"].is_null());

        // The CSV holds the same list.
        let res = app.get_as("/api/admin/analytics/at-risk/export.csv", &p.admin.access).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = res.text().await.unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("agent_id,name,email,skills,score,signals,reasons"));
        assert!(lines[1].starts_with(&format!("{},Bob,{},general,60,adherence_falling; hours_dropping; incidents_rising; earnings_below_median,", p.bob.id(), p.bob.email)), "{}", lines[1]);
    }

    async fn follow_ups_are_recorded_audited_and_shown_on_the_list(app) {
        let p = pool(&app).await;
        let path = format!("/api/admin/agents/{}/follow-ups", p.bob.id());
        let two_hours_ago = (app.clock.now() - Duration::hours(2)).and_utc().to_rfc3339();
        let yesterday = (app.clock.now() - Duration::days(1)).and_utc().to_rfc3339();
        let res = app.post_as(&path, &p.admin.access, &json!({
            "contacted_at": two_hours_ago, "channel": "phone", "outcome": "needs_support",
            "note": "wants fewer evening shifts"
        })).await;
        assert_eq!(res.status(), 201);
        let newest: Value = res.json().await.unwrap();
        assert_eq!((newest["agent_id"].as_str(), newest["admin_id"].as_str()), (Some(p.bob.id().as_str()), Some(p.admin.id().as_str())));
        assert_eq!(newest["admin_name"], "Test Admin");
        assert_eq!(newest["note"], "wants fewer evening shifts");
        // Recorded later, but the contact happened earlier: not the newest.
        let res = app.post_as(&path, &p.admin.access, &json!({
            "contacted_at": yesterday, "channel": "sms", "outcome": "no_answer"
        })).await;
        assert_eq!(res.status(), 201);

        let list = json_of(app.get_as(&path, &p.admin.access).await).await;
        let outcomes: Vec<&str> = list["items"].as_array().unwrap().iter().map(|f| f["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["needs_support", "no_answer"]);
        let page = json_of(app.get_as(&format!("{path}?limit=1"), &p.admin.access).await).await;
        assert_eq!(page["items"][0]["id"], newest["id"]);
        let cursor = page["next_cursor"].as_str().unwrap();
        let rest = json_of(app.get_as(&format!("{path}?limit=1&cursor={cursor}"), &p.admin.access).await).await;
        assert_eq!(rest["items"][0]["outcome"], "no_answer");
        assert!(rest["next_cursor"].is_null());
        // Another agent's contacts are their own.
        let none = json_of(app.get_as(&format!("/api/admin/agents/{}/follow-ups", p.cy.id()), &p.admin.access).await).await;
        assert_eq!(none["items"], json!([]));

        let at = at_risk(&app, &p.admin, "").await;
        assert_eq!(at["items"][0]["agent_id"], p.bob.id());
        assert_eq!(at["items"][0]["last_follow_up"]["id"], newest["id"]);
        assert!(at["items"][1]["last_follow_up"].is_null());

        let id = p.bob.id();
        let audited: Vec<(Option<String>, Option<String>)> = app.with_db(move |c| {
            use cloudseat::db::schema::audit_log;
            audit_log::table
                .filter(audit_log::action.eq("agent.follow_up_recorded"))
                .select((audit_log::actor_account_id, audit_log::target_id))
                .load(c)
                .unwrap()
        }).await;
        assert_eq!(audited, vec![(Some(p.admin.id()), Some(id.clone())), (Some(p.admin.id()), Some(id))]);
        let csv = app.get_as("/api/admin/analytics/at-risk/export.csv", &p.admin.access).await.text().await.unwrap();
        assert!(csv.contains(",phone,needs_support,wants fewer evening shifts"), "{csv}");
    }

    async fn bad_input_is_named(app) {
        let admin = app.admin().await;
        let agent = app.agent("Gus").await;
        let shop = app.merchant("Tea House").await;
        // Unknown agents, and accounts that are not agents.
        for id in [NOBODY.to_owned(), shop.id(), admin.id()] {
            let path = format!("/api/admin/agents/{id}/follow-ups");
            problem(app.post_as(&path, &admin.access, &json!({"channel": "phone", "outcome": "staying"})).await, 404, "not_found").await;
            problem(app.get_as(&path, &admin.access).await, 404, "not_found").await;
        }
        let path = format!("/api/admin/agents/{}/follow-ups", agent.id());
        let body = problem(app.post_as(&path, &admin.access, &json!({"channel": "phone", "outcome": "happy"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("outcome".to_owned(), "unknown_value".to_owned())]);
        let long = "x".repeat(2_001);
        let body = problem(app.post_as(&path, &admin.access, &json!({"channel": "fax", "outcome": "staying", "note": long})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("channel".to_owned(), "unknown_value".to_owned()), ("note".to_owned(), "too_long".to_owned())]);
        let tomorrow = (app.clock.now() + Duration::days(1)).and_utc().to_rfc3339();
        let body = problem(app.post_as(&path, &admin.access, &json!({"channel": "phone", "outcome": "staying", "contacted_at": tomorrow})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("contacted_at".to_owned(), "in_future".to_owned())]);
        let body = problem(app.post_as(&path, &admin.access, &json!({"channel": "phone", "outcome": "staying", "contacted_at": "last tuesday"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("contacted_at".to_owned(), "invalid_instant".to_owned())]);
        let body = problem(app.post_as(&path, &admin.access, &json!({"channel": "phone"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("outcome".to_owned(), "required".to_owned())]);
        problem(app.get_as(&format!("{path}?cursor={}", base64_of(NOBODY)), &admin.access).await, 422, "validation_failed").await;
        assert_eq!(app.count("agent_follow_ups").await, 0);

        // Bad filters, each named.
        for (query, field, code) in [
            ("?min_score=101", "min_score", "out_of_range"),
            ("?min_score=-1", "min_score", "out_of_range"),
            ("?min_score=high", "min_score", "out_of_range"),
            ("?skill=toys", "skill", "unknown_skill"),
            ("?limit=0", "limit", "out_of_range"),
            ("?cursor=garbage", "cursor", "invalid_cursor"),
            (&format!("?cursor={}", base64_of(NOBODY)), "cursor", "invalid_cursor"),
        ] {
            for base in ["/api/admin/analytics/at-risk", "/api/admin/analytics/at-risk/export.csv"] {
                if base.ends_with(".csv") && (field == "limit" || field == "cursor") {
                    continue;
                }
                let body = problem(app.get_as(&format!("{base}{query}"), &admin.access).await, 422, "validation_failed").await;
                assert_eq!(field_codes(&body), [(field.to_owned(), code.to_owned())], "{base}{query}");
            }
        }
        // Both filters wrong: both named.
        let body = problem(app.get_as("/api/admin/analytics/at-risk?min_score=500&skill=toys", &admin.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body).len(), 2);

        // Shops and agents are refused, whichever shop.
        for who in [&shop, &agent] {
            problem(app.get_as("/api/admin/analytics/at-risk", &who.access).await, 403, "wrong_role").await;
            problem(app.post_as(&path, &who.access, &json!({"channel": "phone", "outcome": "staying"})).await, 403, "wrong_role").await;
        }
    }

    async fn the_admin_page_lists_scores_reasons_and_records_follow_ups(app) {
        let p = pool(&app).await;
        let b = signed_in(&app, &p.admin.email).await;
        let html = b.get(app.url("/admin/analytics/at-risk")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("<h1>At-risk agents</h1>"), "{html}");
        let bob_row = html.split(&format!("id=\"agent-{}\"", p.bob.id())).nth(1).unwrap();
        assert!(bob_row.contains("<td class=\"score\">60</td>"));
        assert!(bob_row.contains("attended 2 of 4 claimed shifts in the last 2 weeks (50%)"));
        assert!(bob_row.contains("Not contacted yet."));
        assert!(!html.contains(&p.ann.id()), "a steady agent is not listed");
        assert_eq!(csv_link(&html), "/admin/analytics/at-risk/export.csv?min_score=&skill=");

        // A follow-up with a bad outcome comes back with the error at its field.
        let csrf = csrf_of(&html);
        let action = format!("/admin/analytics/at-risk/{}/follow-ups", p.bob.id());
        let res = b.post(app.url(&action)).form(&[
            ("csrf_token", csrf.as_str()), ("contacted_at", ""), ("channel", "phone"),
            ("outcome", "maybe"), ("note", "call back"), ("back", "min_score=1&skill="),
        ]).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let again = res.text().await.unwrap();
        assert!(again.contains("Choose the outcome."), "{again}");
        assert!(again.contains(">call back</textarea>"));
        // A good one goes back to the list, which shows it.
        let local = (app.clock.now() + Duration::hours(8) - Duration::hours(1)).format("%Y-%m-%dT%H:%M").to_string();
        let res = b.post(app.url(&action)).form(&[
            ("csrf_token", csrf.as_str()), ("contacted_at", local.as_str()), ("channel", "in_person"),
            ("outcome", "needs_support"), ("note", "wants more morning shifts"), ("back", "min_score=1&skill="),
        ]).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let to = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/admin/analytics/at-risk?min_score=1&skill=&recorded="), "{to}");
        let html = b.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("The follow-up was recorded."));
        let bob_row = html.split(&format!("id=\"agent-{}\"", p.bob.id())).nth(1).unwrap();
        assert!(bob_row.contains("by In person (Test Admin)"), "{bob_row}");
        assert!(bob_row.contains("<strong>Needs support to stay</strong>"));
        assert!(bob_row.contains("wants more morning shifts"));
        let at = at_risk(&app, &p.admin, "").await;
        let contacted = chrono::DateTime::parse_from_rfc3339(at["items"][0]["last_follow_up"]["contacted_at"].as_str().unwrap()).unwrap();
        let typed = NaiveDateTime::parse_from_str(&local, "%Y-%m-%dT%H:%M").unwrap();
        assert_eq!(contacted.naive_utc(), typed - Duration::hours(8), "read in the admin's zone (Asia/Shanghai)");

        // Filters on the page, a bad one explained; Chinese; the CSV in the page's language.
        let html = b.get(app.url("/admin/analytics/at-risk?min_score=50&skill=pre_sale")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&p.cy.id()) && !html.contains(&format!("agent-{}", p.bob.id())));
        let res = b.get(app.url("/admin/analytics/at-risk?min_score=abc")).send().await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("Minimum score: a whole number from 0 to 100."));
        let zh = b.get(app.url("/admin/analytics/at-risk")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("流失风险坐席") && zh.contains("最近 2 周认领的 4 个班次出勤 2 个（50%）"), "{zh}");
        let filtered = b.get(app.url("/admin/analytics/at-risk?min_score=50")).send().await.unwrap().text().await.unwrap();
        let link = csv_link(&filtered);
        assert_eq!(link, "/admin/analytics/at-risk/export.csv?min_score=50&skill=");
        let csv = b.get(app.url(&link)).header("accept-language", "zh-CN").send().await.unwrap();
        assert_eq!(csv.status(), 200);
        let csv = csv.text().await.unwrap();
        assert!(csv.contains("最近 2 周") && csv.lines().count() == 3, "{csv}");

        // The admin's home links to it; other roles are refused.
        let home = b.get(app.url("/home")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("href=\"/admin/analytics/at-risk\""));
        let shop = signed_in(&app, &p.shop.email).await;
        assert_eq!(shop.get(app.url("/admin/analytics/at-risk")).send().await.unwrap().status(), 403);
        let agent = signed_in(&app, &p.ann.email).await;
        assert_eq!(agent.get(app.url("/admin/analytics/at-risk")).send().await.unwrap().status(), 403);
    }

    async fn an_empty_pool_says_so(app) {
        let admin = app.admin().await;
        let list = at_risk(&app, &admin, "").await;
        assert_eq!(list["items"], json!([]));
        assert!(list["pool_median_fen"].is_null());
        let b = signed_in(&app, &admin.email).await;
        let html = b.get(app.url("/admin/analytics/at-risk")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"at-risk-empty\""), "{html}");
        assert!(!html.contains("<table id=\"at-risk\""));
    }
}

/// The page's CSV download link, unescaped.
fn csv_link(html: &str) -> String {
    let re = regex::Regex::new(r#"href="([^"]*export\.csv[^"]*)""#).unwrap();
    re.captures(html).expect("a CSV link")[1]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#61;", "=")
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
