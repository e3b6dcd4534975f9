//! Corrections to payroll: adjustments an admin adds after a run is approved (carried as a
//! line into the agent's next run, the approved run untouched), and runs left `computing`
//! by a process that died, marked failed at start-up and recomputed by an admin.

use diesel::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat::staffed;
use crate::helpers::{Session, TestApp, day, field_codes, problem, spawn_app_with};
use crate::payroll::{computed, run_for};
use crate::shifts::json_of;
use cloudseat::db::schema::{audit_log, pay_lines, payroll_runs};

/// Runs a draft through publish and approve; returns the approved run.
pub(crate) async fn approved(app: &TestApp, admin: &Session, id: &str) -> Value {
    let res = app
        .post_as(
            &format!("/api/admin/payroll/runs/{id}/publish?dispute_window_hours=1"),
            &admin.access,
            &json!({}),
        )
        .await;
    assert_eq!(json_of(res).await["status"], "published");
    let res = app
        .post_as(
            &format!("/api/admin/payroll/runs/{id}/approve"),
            &admin.access,
            &json!({}),
        )
        .await;
    let run = json_of(res).await;
    assert_eq!(run["status"], "approved");
    run
}

/// A run's stored lines: (agent, kind, amount, sources).
async fn lines_of_run(app: &TestApp, run: &str) -> Vec<(String, String, i64, String)> {
    let run = run.to_owned();
    app.with_db(move |c| {
        pay_lines::table
            .filter(pay_lines::run_id.eq(&run))
            .order((pay_lines::agent_id, pay_lines::position))
            .select((
                pay_lines::agent_id,
                pay_lines::kind,
                pay_lines::amount_fen,
                pay_lines::sources,
            ))
            .load(c)
            .unwrap()
    })
    .await
}

/// Sets a run's status in the database, as a process that died mid-run leaves it.
pub(crate) async fn leave_computing(app: &TestApp, id: &str) {
    let id = id.to_owned();
    app.with_db(move |c| {
        diesel::update(payroll_runs::table.find(&id))
            .set(payroll_runs::status.eq("computing"))
            .execute(c)
            .unwrap();
    })
    .await;
}

/// Starts a second instance on the same database, as a restart does.
async fn restart(app: &TestApp) -> TestApp {
    let url = app.db_url.clone();
    spawn_app_with(app.backend, move |s| {
        s.database_url = Some(SecretString::from(url));
    })
    .await
}

both_backends! {
    async fn an_adjustment_is_a_line_in_the_next_run_and_the_approved_run_stays(app) {
        let (_shop, agents) = staffed(&app, 1).await;
        let agent = &agents[0];
        let admin = app.admin().await;
        let first = run_for(&app, &admin, &day(5), &day(5)).await;
        assert_eq!(first["status"], "draft", "{first}");
        let first_id = first["id"].as_str().unwrap().to_owned();
        let draft_only = run_for(&app, &admin, &day(7), &day(7)).await;
        let before = lines_of_run(&app, &first_id).await;
        assert!(!before.is_empty());
        let total = approved(&app, &admin, &first_id).await["total_fen"].as_i64().unwrap();

        let path = "/api/admin/payroll/adjustments";
        // Bad input: each field named.
        let res = app
            .post_as(path, &admin.access, &json!({"agent_id": agent.id(), "amount_fen": 0, "reason": " "}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(
            field_codes(&body),
            [
                ("amount_fen".to_owned(), "zero_amount".to_owned()),
                ("reason".to_owned(), "required".to_owned())
            ]
        );
        let res = app
            .post_as(path, &admin.access, &json!({"agent_id": agent.id(), "amount_fen": 100, "reason": "x", "from_run_id": draft_only["id"]}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("from_run_id".to_owned(), "run_not_approved".to_owned())]);
        let res = app
            .post_as(path, &admin.access, &json!({"agent_id": agent.id(), "amount_fen": 100, "reason": "x", "from_run_id": "nope"}))
            .await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("from_run_id".to_owned(), "unknown_run".to_owned())]);
        let res = app
            .post_as(path, &admin.access, &json!({"agent_id": admin.id(), "amount_fen": 100, "reason": "x"}))
            .await;
        problem(res, 404, "not_found").await;

        // A deduction correcting the approved run.
        let res = app
            .post_as(path, &admin.access, &json!({"agent_id": agent.id(), "amount_fen": -1_250, "reason": "paid twice for the training hour", "from_run_id": first_id}))
            .await;
        assert_eq!(res.status(), 201);
        let adj = res.json::<Value>().await.unwrap();
        assert_eq!((adj["status"].as_str(), adj["amount_fen"].as_i64()), (Some("pending"), Some(-1_250)));
        assert_eq!(adj["from_run_id"], first_id.as_str());
        let mail = app.smtp.wait_for(&agent.email, "pay adjustment").await;
        assert!(mail.subject.contains("¥-12.50"), "{}", mail.subject);
        let pending = json_of(app.get_as(&format!("{path}?status=pending&agent_id={}", agent.id()), &admin.access).await).await;
        assert_eq!(pending["items"][0]["id"], adj["id"]);
        let none = json_of(app.get_as(&format!("{path}?agent_id={}", admin.id()), &admin.access).await).await;
        assert_eq!(none["items"], json!([]));
        let res = app.get_as(&format!("{path}?status=later"), &admin.access).await;
        let body = problem(res, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("status".to_owned(), "invalid_status".to_owned())]);

        // The approved run is unchanged; the next run carries the line.
        let again = computed(&app, &admin, &first_id).await;
        assert_eq!((again["status"].as_str(), again["total_fen"].as_i64()), (Some("approved"), Some(total)));
        assert_eq!(lines_of_run(&app, &first_id).await, before);
        let next = run_for(&app, &admin, &day(8), &day(9)).await;
        assert_eq!(next["status"], "draft", "{next}");
        assert_eq!(next["total_fen"], -1_250);
        let next_id = next["id"].as_str().unwrap().to_owned();
        let lines = lines_of_run(&app, &next_id).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!((lines[0].0.as_str(), lines[0].1.as_str(), lines[0].2), (agent.id().as_str(), "adjustment", -1_250));
        let sources: Value = serde_json::from_str(&lines[0].3).unwrap();
        assert_eq!(sources["adjustment_id"], adj["id"]);
        let applied = json_of(app.get_as(&format!("{path}?status=applied"), &admin.access).await).await;
        assert_eq!(applied["items"][0]["applied_run_id"], next_id.as_str());
        let pending = json_of(app.get_as(&format!("{path}?status=pending"), &admin.access).await).await;
        assert_eq!(pending["items"], json!([]));
        let audited: i64 = app
            .with_db(|c| {
                audit_log::table
                    .filter(audit_log::action.eq("payroll.adjustment_added"))
                    .count()
                    .get_result(c)
                    .unwrap()
            })
            .await;
        assert_eq!(audited, 1);
    }

    async fn a_run_left_computing_fails_at_start_up_and_is_recomputed(app) {
        let (_shop, _agents) = staffed(&app, 1).await;
        let admin = app.admin().await;
        let run = run_for(&app, &admin, &day(5), &day(5)).await;
        let id = run["id"].as_str().unwrap().to_owned();
        let total = run["total_fen"].as_i64().unwrap();
        let other = run_for(&app, &admin, &day(40), &day(41)).await;
        let other_id = other["id"].as_str().unwrap().to_owned();
        leave_computing(&app, &id).await;
        leave_computing(&app, &other_id).await;

        let _restarted = restart(&app).await;
        let failed = computed(&app, &admin, &id).await;
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["error"], cloudseat::payroll::service::INTERRUPTED);

        // Recomputed, the failed run is the same draft again.
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/recompute"), &admin.access, &json!({})).await;
        assert_eq!(res.status(), 202);
        let again = computed(&app, &admin, &id).await;
        assert_eq!((again["status"].as_str(), again["total_fen"].as_i64()), (Some("draft"), Some(total)));
        assert!(again["error"].is_null());

        // A failed run whose period another run took meanwhile is not recomputed.
        let taken = run_for(&app, &admin, &day(41), &day(42)).await;
        assert_eq!(taken["status"], "draft");
        let res = app.post_as(&format!("/api/admin/payroll/runs/{other_id}/recompute"), &admin.access, &json!({})).await;
        problem(res, 409, "run_overlaps").await;
        // Nor is a published run.
        app.post_as(&format!("/api/admin/payroll/runs/{id}/publish"), &admin.access, &json!({})).await;
        let res = app.post_as(&format!("/api/admin/payroll/runs/{id}/recompute"), &admin.access, &json!({})).await;
        problem(res, 409, "not_draft").await;
    }
}
