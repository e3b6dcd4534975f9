//! Payroll runs through the API: the worked example of the docs (40 hours, 200 pre-sale +
//! 100 after-sale + 20 complaint chats at quality 91, band ×1.0 → ¥996.00) computed, published,
//! disputed, approved and paid; every refusal; agents see only their own payslips.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat::{agent_ws, post_with_key, staffed, start_chat, widget_key};
use crate::helpers::{Session, TestApp, day, field_codes, problem};
use crate::shifts::json_of;
use cloudseat::db::schema::{chats, shift_assignments};

/// Creates a run and waits until it is computed.
pub(crate) async fn run_for(app: &TestApp, admin: &Session, from: &str, to: &str) -> Value {
    let res = app
        .post_as(
            "/api/admin/payroll/runs",
            &admin.access,
            &json!({"from": from, "to": to}),
        )
        .await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let run: Value = res.json().await.unwrap();
    assert_eq!(run["status"], "computing");
    computed(app, admin, run["id"].as_str().unwrap()).await
}

async fn create(app: &TestApp, admin: &Session, from: String, to: String) -> reqwest::Response {
    app.post_as(
        "/api/admin/payroll/runs",
        &admin.access,
        &json!({"from": from, "to": to}),
    )
    .await
}

/// Polls the run until it leaves `computing`.
pub(crate) async fn computed(app: &TestApp, admin: &Session, id: &str) -> Value {
    for _ in 0..200 {
        let run = json_of(
            app.get_as(&format!("/api/admin/payroll/runs/{id}"), &admin.access)
                .await,
        )
        .await;
        if run["status"] != "computing" {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {id} still computing");
}

/// The worked example's workload for `agent`: the shift they are checked in on is
/// stretched to 40 hours in the database, and beside the one real chat (which the agent
/// classifies through the API) 319 more closed chats of theirs are stored, so that they
/// closed 200 pre-sale, 100 after-sale and 20 complaint chats.
pub(crate) async fn worked_example(app: &TestApp, agent: &Session, chat: &str) {
    let (agent_id, chat_id) = (agent.id(), chat.to_owned());
    app.with_db(move |c| {
        let starts: chrono::NaiveDateTime = shift_assignments::table
            .filter(shift_assignments::agent_id.eq(&agent_id))
            .select(shift_assignments::starts_at)
            .first(c)
            .unwrap();
        diesel::update(shift_assignments::table.filter(shift_assignments::agent_id.eq(&agent_id)))
            .set(shift_assignments::ends_at.eq(starts + Duration::hours(40)))
            .execute(c)
            .unwrap();
        let (merchant, customer, closed): (String, String, Option<chrono::NaiveDateTime>) =
            chats::table
                .find(&chat_id)
                .select((chats::merchant_id, chats::customer_id, chats::closed_at))
                .first(c)
                .unwrap();
        let kinds = std::iter::repeat_n("pre_sale", 199)
            .chain(std::iter::repeat_n("after_sale", 100))
            .chain(std::iter::repeat_n("complaint", 20));
        // Quality 91: of the 319, 25 answered within the target and rated (7 × 5 stars,
        // 18 × 4: ratings 82), none reopened (resolution 100), no reviews:
        // (3000 × 82 + 2000 × 100 + 1000 × 100) / 6000 = 91.
        let at = closed.unwrap();
        for (i, kind) in kinds.enumerate() {
            let rating = match i {
                0..7 => Some(5),
                7..25 => Some(4),
                _ => None,
            };
            let first_response = rating.map(|_| at - Duration::seconds(290));
            diesel::insert_into(chats::table)
                .values((
                    chats::id.eq(uuid::Uuid::now_v7().to_string()),
                    chats::merchant_id.eq(&merchant),
                    chats::customer_id.eq(&customer),
                    chats::skill.eq("general"),
                    chats::channel.eq("api"),
                    chats::status.eq("closed"),
                    chats::agent_id.eq(&agent_id),
                    chats::queued_at.eq(at - Duration::minutes(6)),
                    chats::created_at.eq(at - Duration::minutes(6)),
                    chats::accepted_at.eq(at - Duration::minutes(5)),
                    chats::first_response_at.eq(first_response),
                    chats::rating.eq(rating),
                    chats::closed_at.eq(at),
                    chats::closed_by.eq("agent"),
                    chats::customer_token_hash.eq(format!("payroll-test-{i}")),
                    chats::last_customer_at.eq(at),
                    chats::kind.eq(kind),
                ))
                .execute(c)
                .unwrap();
        }
    })
    .await;
}

/// A shop and an agent checked in on its shift (day +5, the clock a minute past the start)
/// who served one real chat (pre-sale) and, with [`worked_example`], the worked example's
/// 40-hour shift and 320 chats at quality 91.
pub(crate) async fn worked_example_agent(app: &TestApp) -> (Session, Session) {
    let (shop, mut agents) = staffed(app, 1).await;
    let agent = agents.remove(0);
    let key = widget_key(app, &shop).await;
    let (mut ws, _) = agent_ws(app, &agent).await;
    let (_customer, chat, _) = start_chat(app, &key, json!({})).await;
    assert_eq!(ws.until("offer").await["card"]["chat"], chat.as_str());
    ws.send(json!({"type": "accept", "chat": chat})).await;
    ws.until("assigned").await;
    ws.send(json!({"type": "close", "chat": chat})).await;
    ws.until("closed").await;
    let res = app
        .api
        .put(app.url(&format!("/api/chats/{chat}/kind")))
        .bearer_auth(&agent.access)
        .json(&json!({"kind": "pre_sale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    worked_example(app, &agent, &chat).await;
    (shop, agent)
}

pub(crate) fn lines_of(slip: &Value) -> Vec<(String, Option<String>, i64, i64, i64, i64)> {
    slip["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["chat_kind"].as_str().map(str::to_owned),
                l["units"].as_i64().unwrap(),
                l["rate_millifen"].as_i64().unwrap(),
                l["multiplier_bp"].as_i64().unwrap(),
                l["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect()
}

both_backends! {
    async fn the_worked_example_is_paid_exactly_and_locked_after_approval(app) {
        let (shop, agents) = staffed(&app, 1).await;
        let agent = &agents[0];
        let other = app.agent("Other Agent").await;
        let admin = app.admin().await;
        let key = widget_key(&app, &shop).await;
        let (mut ws, _) = agent_ws(&app, agent).await;
        let (_customer, chat, _) = start_chat(&app, &key, json!({})).await;
        assert_eq!(ws.until("offer").await["card"]["chat"], chat.as_str());
        ws.send(json!({"type": "accept", "chat": chat})).await;
        ws.until("assigned").await;
        ws.send(json!({"type": "close", "chat": chat})).await;
        ws.until("closed").await;

        // The agent classifies the chat; an unknown kind is refused, and nobody else may.
        let put = |token: &str, body: Value| {
            app.api
                .put(app.url(&format!("/api/chats/{chat}/kind")))
                .bearer_auth(token)
                .json(&body)
                .send()
        };
        let res = put(&agent.access, json!({"kind": "gossip"})).await.unwrap();
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("kind".to_owned(), "unknown_chat_kind".to_owned())]);
        let res = put(&other.access, json!({"kind": "complaint"})).await.unwrap();
        problem(res, 404, "not_found").await;
        assert_eq!(put(&agent.access, json!({"kind": "pre_sale"})).await.unwrap().status(), 204);
        worked_example(&app, agent, &chat).await;

        // Bad periods.
        let res = app
            .post_as("/api/admin/payroll/runs", &admin.access, &json!({"from": day(7), "to": day(5)}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("to".to_owned(), "period_inverted".to_owned())]);
        let res = app
            .post_as("/api/admin/payroll/runs", &admin.access, &json!({"from": "soon", "to": day(5)}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("from".to_owned(), "invalid_date".to_owned())]);

        let run = run_for(&app, &admin, &day(5), &day(7)).await;
        assert_eq!(run["status"], "draft", "{run}");
        let id = run["id"].as_str().unwrap().to_owned();
        assert_eq!(run["total_fen"], 99_600);
        assert_eq!(run["agent_count"], 1);
        assert_eq!((run["progress_done"].as_i64(), run["progress_total"].as_i64()), (Some(1), Some(1)));
        // The shop paid ¥35.00 a seat hour for 40 hours: ¥1,400.00, margin ¥404.00.
        let general = &run["summary"]["skills"][0];
        assert_eq!(
            (general["key"].as_str(), general["minutes"].as_i64(), general["pay_fen"].as_i64(), general["shop_paid_fen"].as_i64()),
            (Some("general"), Some(2400), Some(99_600), Some(140_000))
        );
        assert_eq!(general["margin_fen"], 40_400);
        assert_eq!(run["summary"]["shops"][0]["key"], shop.merchant_id());
        assert_eq!(run["summary"]["shops"][0]["pay_fen"], 99_600);
        assert!(run["diff"].is_null());

        // An overlapping run is refused; a draft is not shown to agents yet.
        let res = app
            .post_as("/api/admin/payroll/runs", &admin.access, &json!({"from": day(6), "to": day(9)}))
            .await;
        problem(res, 409, "run_overlaps").await;
        let mine = json_of(app.get_as("/api/agents/me/payslips", &agent.access).await).await;
        assert_eq!(mine["items"], json!([]));
        let res = app.get_as(&format!("/api/agents/me/payslips/{id}"), &agent.access).await;
        problem(res, 404, "not_found").await;

        let slips = json_of(app.get_as(&format!("/api/admin/payroll/runs/{id}/payslips"), &admin.access).await).await;
        assert_eq!(slips["items"][0]["agent_id"], agent.id());
        assert_eq!(slips["items"][0]["minutes"], 2400);
        assert_eq!(slips["items"][0]["chats"], 320);
        assert_eq!(slips["items"][0]["quality_score_x100"], 9_100);
        assert_eq!(slips["items"][0]["quality_multiplier_bp"], 10_000);

        // Recomputing a draft gives the same lines.
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/recompute"), &admin.access, &json!({})).await;
        assert_eq!(res.status(), 202);
        let again = computed(&app, &admin, &id).await;
        assert_eq!(again["status"], "draft");
        assert_eq!(again["total_fen"], 99_600);
        // Approving a draft is refused: it must be published first.
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/approve"), &admin.access, &json!({})).await;
        problem(res, 409, "not_published").await;

        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/publish"), &admin.access, &json!({})).await;
        let published = json_of(res).await;
        assert_eq!(published["status"], "published");
        app.smtp.wait_for(&agent.email, "draft payslip").await;

        // The agent sees exactly the pure worked example's payslip.
        let slip = json_of(app.get_as(&format!("/api/agents/me/payslips/{id}"), &agent.access).await).await;
        assert_eq!(
            lines_of(&slip),
            [
                ("time".to_owned(), None, 2400, 1_680_000, 10_000, 67_200),
                ("piece".to_owned(), Some("pre_sale".to_owned()), 200, 90_000, 10_000, 18_000),
                ("piece".to_owned(), Some("after_sale".to_owned()), 100, 108_000, 10_000, 10_800),
                ("piece".to_owned(), Some("complaint".to_owned()), 20, 180_000, 10_000, 3_600),
            ]
        );
        assert_eq!(slip["payslip"]["total_fen"], 99_600);
        assert_eq!(slip["lines"][0]["sources"]["minutes"], 2400);
        assert_eq!(slip["lines"][1]["sources"]["chats_closed"], 200);
        let res = app.get_as(&format!("/api/agents/me/payslips/{id}.csv"), &agent.access).await;
        assert_eq!(res.status(), 200);
        let csv = res.text().await.unwrap();
        assert!(csv.contains("piece,general,complaint,20,"), "{csv}");
        assert!(csv.contains(",36.00,"), "{csv}");
        let mine = json_of(app.get_as("/api/agents/me/payslips", &agent.access).await).await;
        assert_eq!(mine["items"][0]["run"]["id"], id.as_str());
        // Another agent sees none of it; shops see no payroll at all.
        let theirs = json_of(app.get_as("/api/agents/me/payslips", &other.access).await).await;
        assert_eq!(theirs["items"], json!([]));
        let res = app.get_as(&format!("/api/agents/me/payslips/{id}"), &other.access).await;
        problem(res, 404, "not_found").await;
        let res = app.get_as(&format!("/api/agents/me/payslips/{id}.csv"), &other.access).await;
        problem(res, 404, "not_found").await;
        let res = app.get_as(&format!("/api/agents/me/payslips/{id}"), &shop.access).await;
        assert_eq!(res.status(), 403);

        // A dispute of the complaints line, once; another agent cannot dispute it.
        let complaint = slip["lines"][3]["id"].as_str().unwrap().to_owned();
        let disputes = format!("/api/agents/me/payslips/{id}/disputes");
        let res = app.post_as(&disputes, &other.access, &json!({"line": complaint, "reason": "mine"})).await;
        problem(res, 404, "not_found").await;
        let res = app.post_as(&disputes, &agent.access, &json!({"line": complaint, "reason": "I closed 21 complaints"})).await;
        assert_eq!(res.status(), 201);
        let dispute = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let res = app.post_as(&disputes, &agent.access, &json!({"line": complaint, "reason": "again"})).await;
        problem(res, 409, "already_disputed").await;
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/approve"), &admin.access, &json!({})).await;
        problem(res, 409, "disputes_open").await;
        let open = json_of(app.get_as(&format!("/api/admin/payroll/disputes?run_id={id}&status=open"), &admin.access).await).await;
        assert_eq!(open["items"][0]["id"], dispute.as_str());
        // Accepted: the line becomes ¥37.80 (21 complaints), the totals follow.
        let resolve = format!("/api/admin/payroll/disputes/{dispute}/resolve");
        let res = app.post_as(&resolve, &admin.access, &json!({"decision": "accept"})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("amount_fen".to_owned(), "required".to_owned())]);
        let res = app.post_as(&resolve, &admin.access, &json!({"decision": "accept", "amount_fen": 3_780, "answer": "one was missed"})).await;
        assert_eq!(res.status(), 204);
        let res = app.post_as(&resolve, &admin.access, &json!({"decision": "reject", "answer": "no"})).await;
        problem(res, 409, "dispute_resolved").await;
        let slip = json_of(app.get_as(&format!("/api/agents/me/payslips/{id}"), &agent.access).await).await;
        assert_eq!(slip["lines"][3]["amount_fen"], 3_780);
        assert_eq!(slip["payslip"]["total_fen"], 99_780);

        // Approved: mailed with the payslip, locked.
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/approve"), &admin.access, &json!({})).await;
        assert_eq!(json_of(res).await["status"], "approved");
        app.smtp.wait_for(&agent.email, "Your payslip").await;
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/approve"), &admin.access, &json!({})).await;
        problem(res, 409, "already_approved").await;
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/recompute"), &admin.access, &json!({})).await;
        problem(res, 409, "run_locked").await;
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/publish"), &admin.access, &json!({})).await;
        problem(res, 409, "run_locked").await;
        let res = app.post_as(&resolve, &admin.access, &json!({"decision": "reject", "answer": "no"})).await;
        problem(res, 409, "run_locked").await;
        let res = app.post_as(&disputes, &agent.access, &json!({"line": slip["lines"][0]["id"], "reason": "late"})).await;
        problem(res, 409, "dispute_window_closed").await;
        let total: i64 = app
            .with_db({
                let id = id.clone();
                move |c| {
                    use cloudseat::db::schema::pay_lines;
                    pay_lines::table
                        .filter(pay_lines::run_id.eq(&id))
                        .select(pay_lines::amount_fen)
                        .load::<i64>(c)
                        .unwrap()
                        .iter()
                        .sum()
                }
            })
            .await;
        assert_eq!(total, 99_780, "the stored lines add up to the total");

        // The bank file: amounts in yuan with two decimals.
        let res = app.get_as(&format!("/api/admin/payroll/runs/{id}/bank-file.csv"), &admin.access).await;
        assert_eq!(res.status(), 200);
        let bank = res.text().await.unwrap();
        let mut rows = bank.lines();
        assert_eq!(rows.next(), Some("agent_id,payee_name,amount_yuan,reference"));
        let row = rows.next().unwrap();
        assert!(row.starts_with(&format!("{},Agent 0,997.80,", agent.id())), "{bank}");

        let paid_path = format!("/api/admin/payroll/runs/{id}/mark-paid");
        let res = app.post_as(&paid_path, &admin.access, &json!({"reference": " "})).await;
        problem(res, 422, "validation_failed").await;
        let res = app.post_as(&paid_path, &admin.access, &json!({"reference": "BANK-2026-12-001"})).await;
        let paid = json_of(res).await;
        assert_eq!((paid["status"].as_str(), paid["payout_reference"].as_str()), (Some("paid"), Some("BANK-2026-12-001")));
        let res = app.post_as(&paid_path, &admin.access, &json!({"reference": "again"})).await;
        problem(res, 409, "already_paid").await;

        // The admin's actions are in the audit log.
        let actions: Vec<String> = app
            .with_db(|c| {
                use cloudseat::db::schema::audit_log;
                audit_log::table
                    .filter(audit_log::action.like("payroll.%"))
                    .order(audit_log::id)
                    .select(audit_log::action)
                    .load(c)
                    .unwrap()
            })
            .await;
        assert_eq!(
            actions,
            [
                "payroll.run_created",
                "payroll.run_recomputed",
                "payroll.run_published",
                "payroll.dispute_resolved",
                "payroll.run_approved",
                "payroll.bank_file_exported",
                "payroll.run_paid",
            ]
        );

        // The next period's run shows the change against this one.
        let next = run_for(&app, &admin, &day(8), &day(9)).await;
        assert_eq!(next["status"], "draft");
        assert_eq!(next["diff"]["previous_run_id"], id.as_str());
        assert_eq!(next["diff"]["total_fen_change"], -99_780);
        let list = json_of(app.get_as("/api/admin/payroll/runs?limit=1", &admin.access).await).await;
        assert_eq!(list["items"][0]["id"], next["id"]);
        assert!(list["next_cursor"].is_string());
    }
}

both_backends! {
    async fn a_shop_names_the_chat_kind_and_a_second_chat_counts_as_concurrent(app) {
        let (shop, agents) = staffed(&app, 1).await;
        let mid = shop.merchant_id();
        let res = app.post_as(&format!("/api/merchants/{mid}/api-keys"), &shop.access, &json!({"label": "shop app"})).await;
        let key = json_of(res).await["secret"].as_str().unwrap().to_owned();
        let (mut ws, _) = agent_ws(&app, &agents[0]).await;
        ws.send(json!({"type": "auto_accept", "on": true})).await;
        ws.until("auto_accept").await;

        let res = post_with_key(&app, &key, "/api/chats", &json!({"skill": "general", "kind": "gossip"})).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("kind".to_owned(), "unknown_chat_kind".to_owned())]);
        let res = post_with_key(&app, &key, "/api/chats", &json!({"skill": "general", "kind": "complaint"})).await;
        let first = json_of(res).await["id"].as_str().unwrap().to_owned();
        ws.until("assigned").await;
        let res = post_with_key(&app, &key, "/api/chats", &json!({"skill": "general"})).await;
        let second = json_of(res).await["id"].as_str().unwrap().to_owned();
        ws.until("assigned").await;

        let rows: Vec<(String, Option<String>, i32)> = app
            .with_db(|c| {
                chats::table
                    .order(chats::created_at)
                    .select((chats::id, chats::kind, chats::concurrent_at_accept))
                    .load(c)
                    .unwrap()
            })
            .await;
        assert_eq!(
            rows,
            [(first, Some("complaint".to_owned()), 0), (second, None, 1)],
            "the second chat came while the agent held the first"
        );
    }

    async fn two_admins_creating_overlapping_runs_at_once_get_one_run(app) {
        let (a, b) = (app.admin().await, app.admin().await);
        for round in 0..3 {
            let start = 40 + round * 10;
            let (x, y) = tokio::join!(
                create(&app, &a, day(start), day(start + 5)),
                create(&app, &b, day(start + 3), day(start + 8)),
            );
            let mut statuses = [x.status().as_u16(), y.status().as_u16()];
            statuses.sort();
            assert_eq!(statuses, [202, 409], "round {round}");
        }
        let runs = json_of(app.get_as("/api/admin/payroll/runs", &a.access).await).await;
        assert_eq!(runs["items"].as_array().unwrap().len(), 3);
    }
}

both_backends! {
    async fn peak_minutes_urgent_bonuses_and_no_shows_become_lines(app) {
        let (_shop, agents) = staffed(&app, 2).await;
        let admin = app.admin().await;
        // Agent 0 worked 23:00-02:00 local on the eve of the peak (day 20, fixture rules):
        // three hours checked in (checking in early pays nothing extra), two of them in the
        // peak, on an urgent shift promising ¥15.00. Agent 1 did not show up that evening.
        let eve: chrono::NaiveDate = day(19).parse().unwrap();
        let start = eve.and_hms_opt(15, 0, 0).unwrap(); // 23:00 in Asia/Shanghai
        let (a0, a1) = (agents[0].id(), agents[1].id());
        app.with_db(move |c| {
            use cloudseat::db::schema::shifts;
            let shift: String = shift_assignments::table
                .filter(shift_assignments::agent_id.eq(&a0))
                .select(shift_assignments::shift_id)
                .first(c)
                .unwrap();
            diesel::update(shifts::table.find(&shift))
                .set(shifts::urgent_bonus_fen.eq(1_500))
                .execute(c)
                .unwrap();
            diesel::update(shift_assignments::table.filter(shift_assignments::agent_id.eq(&a0)))
                .set((
                    shift_assignments::starts_at.eq(start),
                    shift_assignments::ends_at.eq(start + Duration::hours(3)),
                    shift_assignments::checked_in_at.eq(start - Duration::minutes(10)),
                ))
                .execute(c)
                .unwrap();
            diesel::update(shift_assignments::table.filter(shift_assignments::agent_id.eq(&a1)))
                .set((
                    shift_assignments::starts_at.eq(start),
                    shift_assignments::ends_at.eq(start + Duration::hours(3)),
                    shift_assignments::checked_in_at.eq(None::<chrono::NaiveDateTime>),
                    shift_assignments::outcome.eq("no_show"),
                    shift_assignments::ended_at.eq(start + Duration::minutes(10)),
                ))
                .execute(c)
                .unwrap();
        })
        .await;
        let run = run_for(&app, &admin, &day(19), &day(20)).await;
        assert_eq!(run["status"], "draft", "{run}");
        let id = run["id"].as_str().unwrap().to_owned();
        let lines: Vec<(String, String, i64, i64)> = app
            .with_db(move |c| {
                use cloudseat::db::schema::pay_lines;
                pay_lines::table
                    .filter(pay_lines::run_id.eq(&id))
                    .order((pay_lines::agent_id, pay_lines::position))
                    .select((pay_lines::agent_id, pay_lines::kind, pay_lines::units, pay_lines::amount_fen))
                    .load(c)
                    .unwrap()
            })
            .await;
        let mut expected = vec![
            (agents[0].id(), "time".to_owned(), 180, 5_040), // 3 h × ¥16.80
            (agents[0].id(), "peak_bonus".to_owned(), 120, 960), // 2 h × ¥4.80 (20% of ¥24.00)
            (agents[0].id(), "urgent_bonus".to_owned(), 1, 1_500),
            (agents[1].id(), "no_show".to_owned(), 1, -2_000),
        ];
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(lines, expected);
        assert_eq!(run["total_fen"], 5_040 + 960 + 1_500 - 2_000);
        assert_eq!(run["summary"]["skills"][0]["pay_fen"], 6_000);
        assert_eq!(run["summary"]["unallocated_fen"], -500);
    }
}
