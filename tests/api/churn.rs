//! Agent churn and retention through the API and the admin page, on a hand-counted April
//! 2025 stored straight into the event log: joins, leaves and returns (one agent leaves and
//! comes back within the month), an agent certified on the month's last day, and one
//! certified at 23:30 UTC on 31 March, which is 1 April in the market's zone (Asia/Shanghai,
//! UTC+8).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{TestApp, field_codes, problem, signed_in};
use cloudseat::analytics::churn::stretches;
use cloudseat::db::DbConn;
use cloudseat::db::schema::{certifications, lifecycle_events, shift_assignments, work_stretches};

/// A UTC instant.
fn utc(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn exec(conn: &mut DbConn, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap();
}

/// The shop, booking and shift every fixture check-in hangs on.
const SHIFT: &str = "churn-shift";

fn insert_shop(conn: &mut DbConn) {
    let at = "'2025-01-01 00:00:00'";
    exec(
        conn,
        &format!(
            "INSERT INTO merchants (id, name, created_at) VALUES ('churn-shop', 'Churn shop', {at})"
        ),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO accounts (id, email, password_hash, role, merchant_id, display_name, locale, \
             time_zone, password_changed_at, created_at, updated_at) VALUES ('churn-staff', \
             'staff@churn.test', 'x', 'merchant_staff', 'churn-shop', 'Staff', 'en', 'Asia/Shanghai', {at}, {at}, {at})"
        ),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO bookings (id, merchant_id, created_by, skill, start_date, end_date, \
             daily_start_hour, daily_end_hour, time_zone, seats, seat_hours, status, ruleset_version, \
             quote, total_fen, starts_at, ends_at, created_at, updated_at) VALUES ('churn-booking', \
             'churn-shop', 'churn-staff', 'general', '2025-01-01', '2025-12-31', 8, 12, 'Asia/Shanghai', \
             1, 1460, 'completed', 'test', '{{}}', 0, {at}, '2025-12-31 04:00:00', {at}, {at})"
        ),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO shifts (id, booking_id, merchant_id, skill, seat_no, starts_at, ends_at, status, \
             created_at, updated_at) VALUES ('{SHIFT}', 'churn-booking', 'churn-shop', 'general', 1, \
             {at}, '2025-01-01 04:00:00', 'completed', {at}, {at})"
        ),
    );
}

/// One agent: pool moves (from, to, reason, UTC instant), check-ins (UTC) and skills.
struct Agent {
    id: &'static str,
    moves: Vec<(&'static str, &'static str, &'static str, &'static str)>,
    worked: Vec<&'static str>,
    skills: Vec<&'static str>,
}

fn insert_agent(conn: &mut DbConn, a: &Agent) {
    let at = "'2024-12-01 00:00:00'";
    exec(
        conn,
        &format!(
            "INSERT INTO accounts (id, email, password_hash, role, merchant_id, display_name, locale, \
             time_zone, password_changed_at, created_at, updated_at) VALUES ('{id}', '{id}@churn.test', \
             'x', 'agent', NULL, '{id}', 'en', 'Asia/Shanghai', {at}, {at}, {at})",
            id = a.id
        ),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO agents (account_id, status, status_changed_at, created_at) VALUES ('{}', \
             'certified', {at}, {at})",
            a.id
        ),
    );
    for (i, (from, to, reason, at)) in a.moves.iter().enumerate() {
        diesel::insert_into(lifecycle_events::table)
            .values((
                lifecycle_events::id.eq(format!("{}-move-{i}", a.id)),
                lifecycle_events::entity_type.eq("agent"),
                lifecycle_events::entity_id.eq(a.id),
                lifecycle_events::from_state.eq(*from),
                lifecycle_events::to_state.eq(*to),
                lifecycle_events::reason.eq(*reason),
                lifecycle_events::occurred_at.eq(utc(at)),
            ))
            .execute(conn)
            .unwrap();
    }
    for (i, at) in a.worked.iter().enumerate() {
        let start = utc(at);
        diesel::insert_into(shift_assignments::table)
            .values((
                shift_assignments::id.eq(format!("{}-shift-{i}", a.id)),
                shift_assignments::shift_id.eq(SHIFT),
                shift_assignments::agent_id.eq(a.id),
                shift_assignments::merchant_id.eq("churn-shop"),
                shift_assignments::booking_id.eq("churn-booking"),
                shift_assignments::via.eq("claim"),
                shift_assignments::starts_at.eq(start),
                shift_assignments::ends_at.eq(start + chrono::Duration::hours(4)),
                shift_assignments::claimed_at.eq(start - chrono::Duration::days(1)),
                shift_assignments::checked_in_at.eq(start),
                shift_assignments::checked_out_at.eq(start + chrono::Duration::hours(4)),
                shift_assignments::ended_at.eq(start + chrono::Duration::hours(4)),
                shift_assignments::outcome.eq("worked"),
            ))
            .execute(conn)
            .unwrap();
    }
    let certified = a
        .moves
        .iter()
        .find(|m| m.1 == "certified")
        .map(|m| utc(m.3))
        .unwrap();
    for skill in &a.skills {
        diesel::insert_into(certifications::table)
            .values((
                certifications::agent_id.eq(a.id),
                certifications::skill.eq(*skill),
                certifications::certified_at.eq(certified),
                certifications::expires_at.eq(certified + chrono::Duration::days(3650)),
            ))
            .execute(conn)
            .unwrap();
    }
}

const CERTIFY: (&str, &str, &str) = ("in_trial", "certified", "pass_trial");

fn certify(at: &'static str) -> (&'static str, &'static str, &'static str, &'static str) {
    (CERTIFY.0, CERTIFY.1, CERTIFY.2, at)
}

/// Check-ins at 02:00 UTC (10:00 in Shanghai) are on the same date in both zones.
fn agents() -> Vec<Agent> {
    let general = || vec!["general"];
    vec![
        // Active all April.
        Agent {
            id: "steady",
            moves: vec![certify("2025-01-01 02:00")],
            worked: vec!["2025-03-20 02:00", "2025-04-10 02:00", "2025-04-30 02:00"],
            skills: general(),
        },
        // Leaves on 12 April, saying why (pay).
        Agent {
            id: "leaver",
            moves: vec![
                certify("2025-01-01 02:00"),
                ("certified", "left", "pay", "2025-04-12 02:00"),
            ],
            worked: vec!["2025-03-25 02:00"],
            skills: vec!["general", "pre_sale"],
        },
        // Last shift 10 March (local; 23:30 UTC on the 9th): inactive from 9 April.
        Agent {
            id: "fades",
            moves: vec![certify("2025-01-01 02:00")],
            worked: vec!["2025-03-09 23:30"],
            skills: general(),
        },
        // Leaves on 5 April without a reason and comes back on 20 April.
        Agent {
            id: "back",
            moves: vec![
                certify("2025-01-01 02:00"),
                ("certified", "left", "leave", "2025-04-05 02:00"),
                ("left", "certified", "return", "2025-04-20 02:00"),
            ],
            worked: vec!["2025-03-30 02:00", "2025-04-21 02:00"],
            skills: general(),
        },
        // Certified on the last day of April, 23:00 local.
        Agent {
            id: "late",
            moves: vec![certify("2025-04-30 15:00")],
            worked: vec![],
            skills: general(),
        },
        // Certified on 31 March (10:00 local): active at April's start.
        Agent {
            id: "eve",
            moves: vec![certify("2025-03-31 02:00")],
            worked: vec!["2025-04-02 02:00"],
            skills: general(),
        },
        // Certified at 23:30 UTC on 31 March: 07:30 on 1 April in the market, so April's.
        Agent {
            id: "edge",
            moves: vec![certify("2025-03-31 23:30")],
            worked: vec![],
            skills: general(),
        },
        // Inactive since 31 January, works again on 15 April.
        Agent {
            id: "revived",
            moves: vec![certify("2025-01-01 02:00")],
            worked: vec!["2025-01-02 02:00", "2025-04-15 02:00"],
            skills: general(),
        },
        // Suspended in March, never back.
        Agent {
            id: "gone",
            moves: vec![
                certify("2025-01-01 02:00"),
                (
                    "certified",
                    "suspended",
                    "rude to a customer",
                    "2025-03-03 02:00",
                ),
            ],
            worked: vec!["2025-03-01 02:00"],
            skills: general(),
        },
        // Never certified: their moves and shifts are no pool moves.
        Agent {
            id: "applicant",
            moves: vec![
                ("applicant", "exam_passed", "pass_exam", "2025-04-01 02:00"),
                ("exam_passed", "suspended", "cheating", "2025-04-03 02:00"),
                certify("2030-01-01 00:00"),
            ],
            worked: vec!["2025-04-02 02:00"],
            skills: vec![],
        },
    ]
}

async fn seed(app: &TestApp) {
    app.with_db(|c| {
        insert_shop(c);
        for a in agents() {
            insert_agent(c, &a);
        }
    })
    .await;
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get_as(&format!("/api/admin/analytics/churn?{query}"), token)
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// The first `n` numbers of a JSON array.
fn head(v: &Value, n: usize) -> Vec<u64> {
    v.as_array().unwrap()[..n]
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn month<'a>(r: &'a Value, m: &str) -> &'a Value {
    r["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["month"] == format!("{m}-01"))
        .unwrap_or_else(|| panic!("no {m} in {r}"))
}

both_backends! {
    async fn april_by_hand(app) {
        seed(&app).await;
        let admin = app.admin().await;
        let r = report(&app, &admin.access, "from=2025-03&to=2025-04").await;
        assert_eq!(r["from"], "2025-03");
        assert_eq!(r["to"], "2025-04");
        assert_eq!(r["time_zone"], "Asia/Shanghai");
        assert_eq!(r["inactive_after_days"], 30);
        assert_eq!(r["group_by"], "none");
        assert_eq!(r["months"].as_array().unwrap().len(), 2);
        let april = month(&r, "2025-04");
        // steady, leaver, fades, back, eve.
        assert_eq!(april["active_at_start"], 5, "{april}");
        // leaver (left), fades (inactive), back (left and came back).
        assert_eq!(april["churned"], 3);
        assert_eq!(april["left_and_returned"], 1);
        assert_eq!(april["churn_rate_bp"], 6000);
        // late (last day of April) and edge (1 April local).
        assert_eq!(april["new"], 2);
        // back, and revived working again.
        assert_eq!(april["returning"], 2);
        // steady, back, late, eve, revived, edge.
        assert_eq!(april["active_at_end"], 6);
        assert_eq!(april["net_change"], 1);
        assert_eq!(
            april["exit_reasons"],
            serde_json::json!({"inactive": 1, "left": 1, "pay": 1})
        );
        // The time zone at the month boundary: edge is not March's, eve is.
        let march = month(&r, "2025-03");
        assert_eq!(march["new"], 1, "{march}");
        assert_eq!(march["exit_reasons"]["suspended"], 1);
        assert_eq!(
            r["exit_reasons"],
            serde_json::json!({"inactive": 1, "left": 1, "pay": 1, "suspended": 1})
        );
        // Cohorts by certification month: March (eve), April (late and edge), each followed
        // to today.
        let cohorts = r["cohorts"].as_array().unwrap();
        assert_eq!(cohorts.len(), 2, "{cohorts:?}");
        assert_eq!(cohorts[0]["month"], "2025-03-01");
        assert_eq!(cohorts[0]["size"], 1);
        assert_eq!(head(&cohorts[0]["active"], 3), [1, 1, 0]);
        assert_eq!(cohorts[1]["month"], "2025-04-01");
        assert_eq!(cohorts[1]["size"], 2);
        assert_eq!(head(&cohorts[1]["active"], 2), [2, 0]);
        assert_eq!(head(&r["retention_curve_bp"], 3), [10000, 3333, 0]);
        assert!(r["groups"].as_array().unwrap().is_empty());
    }

    async fn grouped_by_skill_and_as_csv(app) {
        seed(&app).await;
        let admin = app.admin().await;
        let whole = report(&app, &admin.access, "from=2025-04&to=2025-04").await;
        let r = report(&app, &admin.access, "from=2025-04&to=2025-04&group_by=skill").await;
        assert_eq!(r["group_by"], "skill");
        let groups = r["groups"].as_array().unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g["group"].as_str().unwrap()).collect();
        assert_eq!(names, ["general", "pre_sale"]);
        // Every pool agent holds `general`: its figures are the whole pool's.
        assert_eq!(groups[0]["months"], whole["months"]);
        let pre_sale = &groups[1]["months"][0];
        assert_eq!(pre_sale["active_at_start"], 1);
        assert_eq!(pre_sale["churned"], 1);
        assert_eq!(pre_sale["churn_rate_bp"], 10000);
        assert_eq!(groups[1]["exit_reasons"], serde_json::json!({"pay": 1}));

        let res = app
            .get_as("/api/admin/analytics/churn.csv?from=2025-04&to=2025-04&group_by=skill", &admin.access)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/csv; charset=utf-8"
        );
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("churn-2025-04-2025-04.csv"));
        let text = res.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "group,month,active_at_start,active_at_end,churned,left_and_returned,new,returning,net_change,churn_rate_bp,exits_inactive,exits_left,exits_pay",
                "all,2025-04,5,6,3,1,2,2,1,6000,1,1,1",
                "general,2025-04,5,6,3,1,2,2,1,6000,1,1,1",
                "pre_sale,2025-04,1,0,1,0,0,0,-1,10000,0,0,1",
            ]
        );
    }

    async fn bad_ranges_groupings_and_callers_are_refused(app) {
        let admin = app.admin().await;
        let refused = |query: &'static str| {
            let token = admin.access.clone();
            let app = &app;
            async move {
                let res = app
                    .get_as(&format!("/api/admin/analytics/churn?{query}"), &token)
                    .await;
                problem(res, 422, "validation_failed").await
            }
        };
        let body = refused("from=2025-05&to=2025-04").await;
        assert_eq!(field_codes(&body), [("to".to_owned(), "before_from".to_owned())]);
        // Five years pass; a month more does not, and the error says the limit.
        let ok = report(&app, &admin.access, "from=2020-01&to=2024-12").await;
        assert_eq!(ok["months"].as_array().unwrap().len(), 60);
        let body = refused("from=2020-01&to=2025-01").await;
        assert_eq!(field_codes(&body), [("to".to_owned(), "range_too_long".to_owned())]);
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("at most 60 months (5 years)"), "{message}");
        let body = refused("group_by=shop").await;
        assert_eq!(field_codes(&body), [("group_by".to_owned(), "unknown_value".to_owned())]);
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("none, skill, tenure, pay_band, quality_band"));
        let body = refused("from=2025-4&to=April").await;
        assert_eq!(
            field_codes(&body),
            [
                ("to".to_owned(), "invalid_month".to_owned()),
                ("from".to_owned(), "invalid_month".to_owned()),
            ]
        );
        // The CSV checks the same.
        let res = app
            .get_as("/api/admin/analytics/churn.csv?from=2025-05&to=2025-04", &admin.access)
            .await;
        problem(res, 422, "validation_failed").await;
        // Shops and agents may not look.
        let shop = app.merchant("Curious shop").await;
        for path in ["/api/admin/analytics/churn", "/api/admin/analytics/churn.csv"] {
            let res = app.get_as(path, &shop.access).await;
            problem(res, 403, "wrong_role").await;
        }
        let agent = app.agent("curious").await;
        problem(app.get_as("/api/admin/analytics/churn", &agent.access).await, 403, "wrong_role").await;
        let res = app.api.get(app.url("/api/admin/analytics/churn")).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }

    async fn the_page_shows_the_api_figures(app) {
        seed(&app).await;
        let admin = app.admin().await;
        let api = report(&app, &admin.access, "from=2025-03&to=2025-04&group_by=skill").await;
        let browser = signed_in(&app, &admin.email).await;
        let page = |path: String| {
            let b = browser.clone();
            let url = app.url(&path);
            async move {
                let res = b.get(url).send().await.unwrap();
                (res.status().as_u16(), res.text().await.unwrap())
            }
        };
        let (status, html) = page("/admin/analytics/churn?from=2025-03&to=2025-04&group_by=skill".into()).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("<html lang=\"en\""));
        assert!(html.contains("Agent churn and retention"));
        // Every month's row holds the API's figures, in the table's column order.
        for m in api["months"].as_array().unwrap() {
            let label = &m["month"].as_str().unwrap()[..7];
            let rate = m["churn_rate_bp"].as_u64().map_or("–".to_owned(), |bp| match bp % 100 {
                0 => format!("{}%", bp / 100),
                r => format!("{}.{r:02}%", bp / 100),
            });
            let net = m["net_change"].as_i64().unwrap();
            let cells = [
                m["active_at_start"].to_string(),
                m["active_at_end"].to_string(),
                m["churned"].to_string(),
                rate,
                m["left_and_returned"].to_string(),
                m["new"].to_string(),
                m["returning"].to_string(),
                if net > 0 { format!("+{net}") } else { net.to_string() },
            ]
            .map(|c| format!("<td class=\"num\">{c}</td>"))
            .concat();
            let row = format!("<tr data-month=\"{label}\"><th scope=\"row\">{label}</th>{cells}</tr>");
            assert!(html.contains(&row), "{row} not in the page");
        }
        // April's row by hand too, and the chart beside it.
        assert!(html.contains("<tr data-month=\"2025-04\"><th scope=\"row\">2025-04</th><td class=\"num\">5</td><td class=\"num\">6</td><td class=\"num\">3</td><td class=\"num\">60%</td>"));
        assert!(html.contains("aria-labelledby=\"churn-rate-title churn-rate-desc\""));
        assert!(html.contains("aria-labelledby=\"exit-reasons-title exit-reasons-desc\""));
        assert!(html.contains("aria-labelledby=\"retention-curve-title retention-curve-desc\""));
        // Exit reasons over both months, in words.
        for (reason, n) in [("Inactive (no shift)", 1), ("Left (no reason given)", 1), ("Left: pay", 1), ("Suspended", 1)] {
            assert!(
                html.contains(&format!("<tr><th scope=\"row\">{reason}</th><td class=\"num\">{n}</td></tr>")),
                "{reason}"
            );
        }
        // The groups: the skill's name and its cells (in March leaver, its one agent, had
        // gone inactive on 31 January: nobody at the start, no rate).
        assert!(html.contains("Churn by skill"));
        assert!(html.contains("<th scope=\"row\">Pre-sale</th><td class=\"num\">– (0/0)</td><td class=\"num\">100% (1/1)</td></tr>"), "groups");
        // The cohort triangle: March's one agent, April's two.
        assert!(html.contains("<tr data-cohort=\"2025-03\"><th scope=\"row\">2025-03</th><td class=\"num\">1</td><td class=\"num\">1 (100%)</td><td class=\"num\">1 (100%)</td><td class=\"num\">0 (0%)</td>"));
        assert!(html.contains("<tr data-cohort=\"2025-04\"><th scope=\"row\">2025-04</th><td class=\"num\">2</td><td class=\"num\">2 (100%)</td><td class=\"num\">0 (0%)</td>"));
        assert!(html.contains("<tr><th scope=\"row\">Month 1</th><td class=\"num\">33.33%</td></tr>"));
        // The download is the API's CSV.
        let (status, csv) = page("/admin/analytics/churn/csv?from=2025-03&to=2025-04&group_by=skill".into()).await;
        assert_eq!(status, 200);
        let api_csv = app
            .get_as("/api/admin/analytics/churn.csv?from=2025-03&to=2025-04&group_by=skill", &admin.access)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(csv, api_csv);

        // In Chinese.
        browser.get(app.url("/lang/zh-CN?next=/home")).send().await.unwrap();
        let (status, zh) = page("/admin/analytics/churn?from=2025-03&to=2025-04".into()).await;
        assert_eq!(status, 200);
        assert!(zh.contains("<html lang=\"zh-CN\""));
        assert!(zh.contains("客服流失与留存"));
        assert!(zh.contains("离开：收入"));
        browser.get(app.url("/lang/en?next=/home")).send().await.unwrap();

        // Nobody in the pool yet: the empty state.
        let (status, html) = page("/admin/analytics/churn?from=2020-01&to=2020-03".into()).await;
        assert_eq!(status, 200);
        assert!(html.contains("id=\"churn-empty\""));
        assert!(html.contains("id=\"cohorts-empty\""));
        // A bad range: the form with the error, linked to its field.
        let (status, html) = page("/admin/analytics/churn?from=2020-01&to=2025-06".into()).await;
        assert_eq!(status, 422);
        assert!(html.contains("<a href=\"#to\">A report spans at most 60 months (5 years).</a>"), "{html}");
        // Not for shops.
        let shop = app.merchant("Nosy shop").await;
        let b = signed_in(&app, &shop.email).await;
        let res = b.get(app.url("/admin/analytics/churn")).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

/// A mistake in `seat-rules/churn.toml` stops start-up, naming the file, line and reason: here
/// an inactivity limit under a week, which the stretches of check-ins cannot answer exactly.
#[tokio::test]
async fn a_bad_churn_rules_file_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::helpers::test_settings(crate::helpers::Backend::Sqlite, dir.path(), 1);
    let rules = std::fs::read_to_string(settings.rules_dir.join("churn.toml")).unwrap();
    let line = rules
        .lines()
        .position(|l| l.starts_with("inactive_after_days"))
        .unwrap()
        + 1;
    std::fs::write(
        settings.rules_dir.join("churn.toml"),
        rules.replace("inactive_after_days = 30", "inactive_after_days = 3"),
    )
    .unwrap();
    let err = match cloudseat::startup::Application::build(settings).await {
        Ok(_) => panic!("started with a bad churn.toml"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(&format!(
            "churn.toml:{line}: `inactive_after_days` must be at least 7 (got 3): the churn report reads worked days as stretches"
        )),
        "{err}"
    );
}

/// An agent's stretches as stored, and as `churn::stretches` makes them from their check-ins.
async fn stored_and_expected(
    app: &TestApp,
    agent: &str,
) -> (
    Vec<(NaiveDateTime, NaiveDateTime)>,
    Vec<(NaiveDateTime, NaiveDateTime)>,
) {
    let agent = agent.to_owned();
    app.with_db(move |c| {
        let stored = work_stretches::table
            .filter(work_stretches::agent_id.eq(&agent))
            .order(work_stretches::first_at.asc())
            .select((work_stretches::first_at, work_stretches::last_at))
            .load(c)
            .unwrap();
        let check_ins: Vec<Option<NaiveDateTime>> = shift_assignments::table
            .filter(shift_assignments::agent_id.eq(&agent))
            .select(shift_assignments::checked_in_at)
            .load(c)
            .unwrap();
        (stored, stretches(check_ins.into_iter().flatten()))
    })
    .await
}

/// A worked assignment of `agent` on `shift`, checked in at `at`, written straight into the
/// table as the demo history and the benches write theirs (in any order).
fn insert_worked(conn: &mut DbConn, id: &str, agent: &str, shift: &str, at: NaiveDateTime) {
    use cloudseat::db::schema::shifts;
    let (merchant, booking): (String, String) = shifts::table
        .find(shift)
        .select((shifts::merchant_id, shifts::booking_id))
        .first(conn)
        .unwrap();
    diesel::insert_into(shift_assignments::table)
        .values((
            shift_assignments::id.eq(id),
            shift_assignments::shift_id.eq(shift),
            shift_assignments::agent_id.eq(agent),
            shift_assignments::merchant_id.eq(merchant),
            shift_assignments::booking_id.eq(booking),
            shift_assignments::via.eq("claim"),
            shift_assignments::starts_at.eq(at),
            shift_assignments::ends_at.eq(at + chrono::Duration::hours(4)),
            shift_assignments::claimed_at.eq(at - chrono::Duration::days(1)),
            shift_assignments::checked_in_at.eq(at),
            shift_assignments::checked_out_at.eq(at + chrono::Duration::hours(4)),
            shift_assignments::ended_at.eq(at + chrono::Duration::hours(4)),
            shift_assignments::outcome.eq("worked"),
        ))
        .execute(conn)
        .unwrap();
}

both_backends! {
    // Check-ins through the API keep the agent's stretches (what the churn report reads):
    // two days running make one, a week later starts another; a check-in written out of
    // order between them bridges the two, and clearing or deleting it splits them again.
    async fn check_ins_keep_the_agents_stretches(app) {
        use crate::shifts::{act, booked, certified, claim, clock_to, json_of, past_early_access, shift_start};
        let shop = app.merchant("Stretch shop").await;
        let mut ids = Vec::new();
        for offset in [5, 6, 12] {
            let (_, shifts) = booked(&app, &shop, "general", offset, (8, 12), 1).await;
            ids.push(shifts[0].clone());
        }
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let id = agent.id();
        let mut at = Vec::new();
        for shift in &ids {
            json_of(claim(&app, &agent, shift).await).await;
        }
        for shift in &ids {
            let start = shift_start(&app, shift).await;
            clock_to(&app, start - chrono::Duration::minutes(20));
            json_of(act(&app, &agent, shift, "check-in").await).await;
            let sid = shift.clone();
            at.push(
                app.with_db(move |c| {
                    shift_assignments::table
                        .filter(shift_assignments::shift_id.eq(&sid))
                        .select(shift_assignments::checked_in_at)
                        .first::<Option<NaiveDateTime>>(c)
                        .unwrap()
                        .unwrap()
                })
                .await,
            );
        }
        let (stored, expected) = stored_and_expected(&app, &id).await;
        assert_eq!(stored, expected);
        assert_eq!(stored, [(at[0], at[1]), (at[2], at[2])]);

        // Day 9, between the two and less than 4 days from each.
        let bridge = at[1] + chrono::Duration::days(3);
        let (who, shift) = (id.clone(), ids[0].clone());
        app.with_db(move |c| insert_worked(c, "bridge", &who, &shift, bridge)).await;
        let (stored, expected) = stored_and_expected(&app, &id).await;
        assert_eq!(stored, expected);
        assert_eq!(stored, [(at[0], at[2])]);

        // A correction clears it: two stretches again.
        app.with_db(|c| {
            diesel::update(shift_assignments::table.find("bridge"))
                .set(shift_assignments::checked_in_at.eq(None::<NaiveDateTime>))
                .execute(c)
                .unwrap();
        })
        .await;
        let (stored, expected) = stored_and_expected(&app, &id).await;
        assert_eq!(stored, expected);
        assert_eq!(stored, [(at[0], at[1]), (at[2], at[2])]);

        // Checked in again, then the assignment deleted.
        app.with_db(move |c| {
            diesel::update(shift_assignments::table.find("bridge"))
                .set(shift_assignments::checked_in_at.eq(bridge))
                .execute(c)
                .unwrap();
        })
        .await;
        assert_eq!(stored_and_expected(&app, &id).await.0, [(at[0], at[2])]);
        app.with_db(|c| {
            diesel::delete(shift_assignments::table.find("bridge")).execute(c).unwrap();
        })
        .await;
        assert_eq!(stored_and_expected(&app, &id).await.0, [(at[0], at[1]), (at[2], at[2])]);
    }

    // Whatever writes check-ins, in whatever order (inserts, moves, clears, deletes, an
    // assignment moved to another agent), the stored stretches are `churn::stretches` of
    // the check-ins after every step.
    async fn stretches_follow_any_sequence_of_writes(app) {
        let a = app.agent("Wang Fang").await.id();
        let b = app.agent("Li Lei").await.id();
        let shop = app.merchant("Stretch shop").await;
        let (_, shifts) = crate::shifts::booked(&app, &shop, "general", 5, (8, 12), 1).await;
        let shift = shifts[0].clone();
        let base = utc("2026-01-01 00:00");
        // A small linear congruential generator: the same steps on both backends.
        let mut seed: u64 = 0x5eed;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let mut rows: Vec<String> = Vec::new();
        for step in 0..80 {
            // Instants over 60 days, often on a few whole days so that gaps of exactly 4
            // days (not merged) and just under come up.
            let when = if next(2) == 0 {
                base + chrono::Duration::days(next(60) as i64) + chrono::Duration::seconds(next(86_400) as i64)
            } else {
                base + chrono::Duration::days(next(30) as i64 * 2)
            };
            let who = if next(3) == 0 { b.clone() } else { a.clone() };
            let op = if rows.is_empty() { 0 } else { next(10) };
            let (shift, rows_now) = (shift.clone(), rows.clone());
            let pick = rows_now.get(next(rows.len().max(1) as u64) as usize).cloned();
            let inserted = app
                .with_db(move |c| {
                    match (op, pick) {
                        (0..=4, _) | (_, None) => {
                            let id = format!("row-{step}");
                            insert_worked(c, &id, &who, &shift, when);
                            return Some(id);
                        }
                        (5..=6, Some(id)) => {
                            diesel::update(shift_assignments::table.find(&id))
                                .set(shift_assignments::checked_in_at.eq(when))
                                .execute(c)
                                .unwrap();
                        }
                        (7, Some(id)) => {
                            diesel::update(shift_assignments::table.find(&id))
                                .set(shift_assignments::checked_in_at.eq(None::<NaiveDateTime>))
                                .execute(c)
                                .unwrap();
                        }
                        (8, Some(id)) => {
                            diesel::update(shift_assignments::table.find(&id))
                                .set(shift_assignments::agent_id.eq(&who))
                                .execute(c)
                                .unwrap();
                        }
                        (_, Some(id)) => {
                            diesel::delete(shift_assignments::table.find(&id)).execute(c).unwrap();
                        }
                    }
                    None
                })
                .await;
            if let Some(id) = inserted {
                rows.push(id);
            }
            for agent in [&a, &b] {
                let (stored, expected) = stored_and_expected(&app, agent).await;
                assert_eq!(stored, expected, "step {step}");
            }
        }
    }
}
