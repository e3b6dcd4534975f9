//! Earnings so far (`GET /api/agents/me/earnings`): the worked example's agent three hours
//! into their shift gets the payslip a run would compute for the pay period up to now, to
//! the fen; another agent sees only their own (nothing), and pending adjustments appear.

use chrono::{Datelike, Duration, NaiveDate};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp};
use crate::payroll::{lines_of, worked_example_agent};
use crate::shifts::{clock_to, json_of, shift_start};
use cloudseat::db::schema::{pay_adjustments, shift_assignments};

/// The semi-monthly pay period (the shipped `pay.toml`) holding the clock's market day.
pub(crate) fn current_period(app: &TestApp) -> (NaiveDate, NaiveDate) {
    let today = app
        .clock
        .now()
        .and_utc()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let first = today.with_day(1).unwrap();
    if today.day() <= 15 {
        (first, first + Duration::days(14))
    } else {
        let next = (first + Duration::days(32)).with_day(1).unwrap();
        (first + Duration::days(15), next - Duration::days(1))
    }
}

/// The start of the agent's (only) shift.
pub(crate) async fn start_of_shift(app: &TestApp, agent: &Session) -> chrono::NaiveDateTime {
    let id = agent.id();
    let shift: String = app
        .with_db(move |c| {
            shift_assignments::table
                .filter(shift_assignments::agent_id.eq(&id))
                .select(shift_assignments::shift_id)
                .first(c)
                .unwrap()
        })
        .await;
    shift_start(app, &shift).await
}

pub(crate) async fn pending_adjustment(app: &TestApp, agent: &Session, fen: i64, reason: &str) {
    let (id, reason) = (agent.id(), reason.to_owned());
    app.with_db(move |c| {
        diesel::insert_into(pay_adjustments::table)
            .values((
                pay_adjustments::id.eq(uuid::Uuid::now_v7().to_string()),
                pay_adjustments::agent_id.eq(&id),
                pay_adjustments::amount_fen.eq(fen),
                pay_adjustments::reason.eq(&reason),
                pay_adjustments::created_by.eq(&id),
                pay_adjustments::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
}

async fn earnings(app: &TestApp, who: &Session) -> Value {
    json_of(app.get_as("/api/agents/me/earnings", &who.access).await).await
}

both_backends! {
    async fn earnings_so_far_are_the_period_s_payslip_up_to_now(app) {
        let other = app.agent("Idle Agent").await;
        let (_shop, agent) = worked_example_agent(&app).await;
        let start = start_of_shift(&app, &agent).await;
        clock_to(&app, start + Duration::hours(3));
        let (first, last) = current_period(&app);

        // Three hours checked in, the worked example's 320 chats at quality 91 (×1.0).
        let mine = earnings(&app, &agent).await;
        assert_eq!(mine["estimate"], true);
        assert_eq!(mine["agent_id"], agent.id());
        assert_eq!((mine["period_from"].as_str(), mine["period_to"].as_str()), (Some(first.to_string().as_str()), Some(last.to_string().as_str())));
        assert_eq!((mine["minutes"].as_i64(), mine["chats"].as_i64()), (Some(180), Some(320)));
        assert_eq!((mine["quality_score_x100"].as_i64(), mine["quality_multiplier_bp"].as_i64()), (Some(9_100), Some(10_000)));
        assert_eq!(
            lines_of(&mine),
            [
                ("time".to_owned(), None, 180, 1_680_000, 10_000, 5_040),
                ("piece".to_owned(), Some("pre_sale".to_owned()), 200, 90_000, 10_000, 18_000),
                ("piece".to_owned(), Some("after_sale".to_owned()), 100, 108_000, 10_000, 10_800),
                ("piece".to_owned(), Some("complaint".to_owned()), 20, 180_000, 10_000, 3_600),
            ]
        );
        assert_eq!(mine["total_fen"], 37_440);
        assert_eq!(mine["lines"][0]["sources"], json!({"shifts_checked_in": 1, "minutes": 180}));
        assert_eq!(mine["lines"][1]["sources"]["chats_closed"], 200);
        assert!(mine["lines"][3]["explained"].as_str().unwrap().ends_with("= ¥36.00"), "{mine}");
        let as_of = chrono::DateTime::parse_from_rfc3339(mine["as_of"].as_str().unwrap()).unwrap();
        assert!((as_of.naive_utc() - app.clock.now()).num_seconds().abs() <= 2, "as of now: {mine}");

        // An hour later, an hour more; a pending adjustment of theirs is carried, another
        // agent's is not.
        clock_to(&app, start + Duration::hours(4));
        pending_adjustment(&app, &agent, -300, "headset deposit").await;
        pending_adjustment(&app, &other, 500, "not yours").await;
        let later = earnings(&app, &agent).await;
        assert_eq!(later["lines"][0]["units"], 240);
        assert_eq!(later["lines"][0]["amount_fen"], 6_720);
        let last_line = later["lines"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last_line["kind"].as_str(), last_line["amount_fen"].as_i64(), last_line["note"].as_str()), (Some("adjustment"), Some(-300), Some("headset deposit")));
        assert_eq!(later["total_fen"], 6_720 + 18_000 + 10_800 + 3_600 - 300);

        // The idle agent sees none of it: only their own pending adjustment.
        let theirs = earnings(&app, &other).await;
        assert_eq!((theirs["minutes"].as_i64(), theirs["chats"].as_i64()), (Some(0), Some(0)));
        assert!(theirs["quality_score_x100"].is_null());
        assert_eq!(theirs["lines"].as_array().unwrap().len(), 1, "{theirs}");
        assert_eq!(theirs["total_fen"], 500);
    }

    async fn nothing_worked_yet_is_an_empty_estimate_and_only_agents_ask(app) {
        let agent = app.agent("New Agent").await;
        let none = earnings(&app, &agent).await;
        assert_eq!(none["estimate"], true);
        assert_eq!(none["lines"], json!([]));
        assert_eq!(none["total_fen"], 0);
        let (first, _) = current_period(&app);
        assert_eq!(none["period_from"], first.to_string());
        let shop = app.merchant("Tea House").await;
        assert_eq!(app.get_as("/api/agents/me/earnings", &shop.access).await.status(), 403);
        let admin = app.admin().await;
        assert_eq!(app.get_as("/api/agents/me/earnings", &admin.access).await.status(), 403);
        let res = app.api.get(app.url("/api/agents/me/earnings")).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
}
