//! The admin's payroll pages: runs list and create form, a run's page from computing to
//! paid (progress, totals, payslips, each action's form and its refusals), the disputes
//! and the adjustments; other roles are kept out.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat::staffed;
use crate::helpers::{TestApp, csrf_of, day, signed_in};
use crate::payroll::computed;
use crate::shifts::json_of;
use cloudseat::db::schema::payroll_runs;
use cloudseat::seats::booking::yuan;

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Posts a form with the page's CSRF token; returns the status, the redirect and the body.
async fn post(
    b: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut form = vec![("csrf_token", csrf)];
    form.extend_from_slice(fields);
    let res = b.post(app.url(path)).form(&form).send().await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn set_status(app: &TestApp, id: &str, status: &'static str) {
    let id = id.to_owned();
    app.with_db(move |c| {
        diesel::update(payroll_runs::table.find(&id))
            .set(payroll_runs::status.eq(status))
            .execute(c)
            .unwrap();
    })
    .await;
}

both_backends! {
    async fn an_admin_runs_payroll_from_the_pages(app) {
        let (_shop, agents) = staffed(&app, 1).await;
        let agent = &agents[0];
        let admin = app.admin().await;
        let b = signed_in(&app, &admin.email).await;

        let (status, list) = page(&b, &app, "/admin/payroll").await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains("No payroll runs yet"), "empty state: {list}");
        assert!(list.contains(r#"href="/admin/payroll""#), "nav link");
        let csrf = csrf_of(&list);

        // Bad periods: inline errors, input kept.
        let (status, _, body) = post(&b, &app, &csrf, "/admin/payroll/runs", &[("from", &day(7)), ("to", &day(5))]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("The last day must be on or after the first day") && body.contains(r##"href="#to""##), "{body}");
        assert!(body.contains(&format!(r#"value="{}""#, day(7))), "input kept");
        let (status, _, body) = post(&b, &app, &csrf, "/admin/payroll/runs", &[("from", "soon"), ("to", &day(5))]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Enter a date as YYYY-MM-DD"), "{body}");
        let res = b.post(app.url("/admin/payroll/runs")).form(&[("from", day(5)), ("to", day(5))]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token, no run");

        let (status, location, _) = post(&b, &app, &csrf, "/admin/payroll/runs", &[("from", &day(5)), ("to", &day(5))]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let id = location.strip_prefix("/admin/payroll/").unwrap().strip_suffix("?done=created").unwrap().to_owned();
        let run = computed(&app, &admin, &id).await;
        assert_eq!(run["status"], "draft", "{run}");
        let total = run["total_fen"].as_i64().unwrap();
        assert!(total > 0);
        let (status, _, body) = post(&b, &app, &csrf, "/admin/payroll/runs", &[("from", &day(5)), ("to", &day(6))]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(body.contains("Another run already covers part of this period"), "{body}");

        // While computing: a progress bar, refreshed without JavaScript too.
        set_status(&app, &id, "computing").await;
        let (_, computing) = page(&b, &app, &format!("/admin/payroll/{id}")).await;
        assert!(computing.contains("<progress") && computing.contains(r#"http-equiv="refresh""#) && computing.contains("/static/payroll.js"), "{computing}");
        let js = b.get(app.url("/static/payroll.js")).send().await.unwrap();
        assert_eq!(js.status(), StatusCode::OK);
        assert!(js.text().await.unwrap().contains("/api/admin/payroll/runs/"));
        set_status(&app, &id, "draft").await;

        // The draft: totals, the shop, the payslip with a link to the agent's lines.
        let path = format!("/admin/payroll/{id}");
        let (status, draft) = page(&b, &app, &path).await;
        assert_eq!(status, StatusCode::OK);
        let money = format!("¥{}", yuan(total));
        assert!(draft.contains("Draft") && draft.contains(&money), "{draft}");
        assert!(draft.contains("Tea House") && draft.contains("Agent 0"), "{draft}");
        let margin = run["summary"]["skills"][0]["margin_fen"].as_i64().unwrap();
        assert!(draft.contains(&format!("¥{}", yuan(margin))), "margin shown: {draft}");
        assert!(draft.contains("no earlier run"), "{draft}");
        assert!(!draft.contains("<progress"));
        let lines_path = format!("/admin/payroll/{id}/agents/{}", agent.id());
        assert!(draft.contains(&lines_path));
        let (status, lines) = page(&b, &app, &lines_path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(lines.contains("Hours worked") && lines.contains(&money), "{lines}");
        let (status, _) = page(&b, &app, &format!("/admin/payroll/{id}/agents/{}", admin.id())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = page(&b, &app, "/admin/payroll/no-such-run").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Approving a draft is refused; publishing with a bad window too.
        let (status, _, body) = post(&b, &app, &csrf, &format!("{path}/approve"), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(body.contains("Publish the run before approving it"), "{body}");
        let (status, _, body) = post(&b, &app, &csrf, &format!("{path}/publish"), &[("dispute_window_hours", "0")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("The dispute window is 1 to 720 hours") && body.contains(r##"href="#dispute_window_hours""##), "{body}");
        let (status, location, _) = post(&b, &app, &csrf, &format!("{path}/recompute"), &[]).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("{path}?done=recomputed").as_str()));
        computed(&app, &admin, &id).await;
        let (status, location, _) = post(&b, &app, &csrf, &format!("{path}/publish"), &[("dispute_window_hours", "1")]).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("{path}?done=published").as_str()));
        app.smtp.wait_for(&agent.email, "draft payslip").await;

        // A dispute holds approval up, and the page says why.
        let slip = json_of(app.get_as(&format!("/api/agents/me/payslips/{id}"), &agent.access).await).await;
        let line = slip["lines"][0]["id"].as_str().unwrap().to_owned();
        let res = app.post_as(&format!("/api/agents/me/payslips/{id}/disputes"), &agent.access, &json!({"line": line, "reason": "I started ten minutes early"})).await;
        let dispute = json_of(res).await["id"].as_str().unwrap().to_owned();
        let (_, published) = page(&b, &app, &path).await;
        assert!(published.contains("1 disputes of this run are still open"), "{published}");
        let (status, _, body) = post(&b, &app, &csrf, &format!("{path}/approve"), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(body.contains("resolve them before approving"), "{body}");

        let (status, disputes) = page(&b, &app, "/admin/payroll/disputes").await;
        assert_eq!(status, StatusCode::OK);
        assert!(disputes.contains("I started ten minutes early") && disputes.contains("Agent 0"), "{disputes}");
        let resolve = format!("/admin/payroll/disputes/{dispute}/resolve");
        let (status, _, body) = post(&b, &app, &csrf, &resolve, &[("decision", "reject"), ("answer", " ")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(&format!(r##"href="#answer-{dispute}""##)), "{body}");
        let (status, _, body) = post(&b, &app, &csrf, &resolve, &[("decision", "accept"), ("amount", "lots")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Enter an amount in yuan") && body.contains(r#"value="lots""#), "{body}");
        let (status, location, _) = post(&b, &app, &csrf, &resolve, &[("decision", "reject"), ("answer", "The shift started on time")]).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/payroll/disputes?done=resolved"));
        let (_, disputes) = page(&b, &app, "/admin/payroll/disputes?done=resolved").await;
        assert!(disputes.contains("No dispute is open") && disputes.contains(r#"role="status""#), "{disputes}");

        // Approve, then mark paid.
        let (status, location, _) = post(&b, &app, &csrf, &format!("{path}/approve"), &[]).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("{path}?done=approved").as_str()));
        let (_, approved) = page(&b, &app, &format!("{path}?done=approved")).await;
        assert!(approved.contains("the run is locked") && approved.contains(&format!("/api/admin/payroll/runs/{id}/bank-file.csv")), "{approved}");
        let (status, _, body) = post(&b, &app, &csrf, &format!("{path}/mark-paid"), &[("reference", " ")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(r##"href="#reference""##), "{body}");
        let (status, _, _) = post(&b, &app, &csrf, &format!("{path}/mark-paid"), &[("reference", "BANK-2026-001")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, paid) = page(&b, &app, &path).await;
        assert!(paid.contains("BANK-2026-001") && paid.contains("Paid"), "{paid}");
        let api: Value = json_of(app.get_as(&format!("/api/admin/payroll/runs/{id}"), &admin.access).await).await;
        assert_eq!((api["status"].as_str(), api["payout_reference"].as_str()), (Some("paid"), Some("BANK-2026-001")));
        let (_, list) = page(&b, &app, "/admin/payroll").await;
        assert!(list.contains(&format!("{} – {}", day(5), day(5))) && list.contains(&money), "{list}");

        // An adjustment correcting the paid run.
        let adjust = "/admin/payroll/adjustments";
        let (status, form) = page(&b, &app, &format!("{adjust}?agent_id={}&from_run_id={id}", agent.id())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(form.contains("No adjustments yet") && form.contains(&format!(r#"value="{}""#, agent.id())), "{form}");
        let (status, _, body) = post(&b, &app, &csrf, adjust, &[("agent_id", &agent.id()), ("amount", "0"), ("reason", ""), ("from_run_id", "")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("An adjustment is not zero") && body.contains(r##"href="#amount""##) && body.contains(r##"href="#reason""##), "{body}");
        let (status, _, body) = post(&b, &app, &csrf, adjust, &[("agent_id", "nobody"), ("amount", "5"), ("reason", "bonus"), ("from_run_id", "")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("There is no agent with this account id"), "{body}");
        let (status, location, _) = post(&b, &app, &csrf, adjust, &[("agent_id", &agent.id()), ("amount", "-12.50"), ("reason", "Training hour paid twice"), ("from_run_id", &id)]).await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/payroll/adjustments?done=adjusted"));
        let (_, listed) = page(&b, &app, adjust).await;
        assert!(listed.contains("¥-12.50") && listed.contains("Training hour paid twice") && listed.contains("Pending"), "{listed}");
        app.smtp.wait_for(&agent.email, "pay adjustment").await;

        // The next period's run carries it and shows the change against the paid run.
        let (status, location, _) = post(&b, &app, &csrf, "/admin/payroll/runs", &[("from", &day(8)), ("to", &day(9))]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let next = location.strip_prefix("/admin/payroll/").unwrap().strip_suffix("?done=created").unwrap().to_owned();
        assert_eq!(computed(&app, &admin, &next).await["total_fen"], -1_250);
        let (_, diff) = page(&b, &app, &format!("/admin/payroll/{next}")).await;
        assert!(diff.contains(&format!(r#"href="/admin/payroll/{id}""#)) && diff.contains(&format!("¥{}", yuan(-1_250 - total))), "{diff}");
        let (_, listed) = page(&b, &app, adjust).await;
        assert!(listed.contains(&format!("In the run for {} – {}", day(8), day(9))), "{listed}");
        // In Chinese.
        let res = b.get(app.url(&format!("/lang/zh-CN?next=/admin/payroll/{next}"))).send().await.unwrap();
        assert!(res.status().is_redirection());
        let (_, zh) = page(&b, &app, &format!("/admin/payroll/{next}")).await;
        assert!(zh.contains("与上次核算相比") && zh.contains("草稿"), "{zh}");
    }

    async fn payroll_pages_are_for_admins_only(app) {
        let agent = app.agent("Curious Agent").await;
        let shop = app.merchant("Nosy Shop").await;
        for who in [&agent, &shop] {
            let b = signed_in(&app, &who.email).await;
            for path in ["/admin/payroll", "/admin/payroll/disputes", "/admin/payroll/adjustments", "/admin/payroll/some-run"] {
                let (status, _) = page(&b, &app, path).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            }
            let (_, home) = page(&b, &app, "/home").await;
            let csrf = csrf_of(&home);
            let (status, _, _) = post(&b, &app, &csrf, "/admin/payroll/runs", &[("from", &day(5)), ("to", &day(5))]).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        let res = app.api.get(app.url("/admin/payroll")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(res.headers()["location"].to_str().unwrap().starts_with("/sign-in"));
        assert_eq!(app.count("payroll_runs").await, 0);
    }
}
