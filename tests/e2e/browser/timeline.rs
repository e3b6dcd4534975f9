//! The activity timeline and worked hours in a real browser, after a real worked day: an
//! agent in Berlin checks in on a shop's shift, goes online over the chat socket, takes a
//! customer's chat and closes it, steps away and back, checks out and disconnects. The next
//! day the agent opens their own timeline, an admin the agent's, and the shop its worked
//! hours and the drill-down to the chat. Every figure on each page is the API's for the
//! same range, the CSV links download what the API gives, times read in the viewer's zone,
//! and axe-core finds nothing.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use fantoccini::Locator;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{Browser, agent_on_shift, assert_accessible, axe_source, browser_and_app};
use crate::helpers::{Session, TestApp};
use cloudseat::db::schema::{accounts, agent_presence, shift_assignments};

/// A chat socket (the agent's workspace or the customer's widget, without their pages).
struct Socket(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Socket {
    async fn open(app: &TestApp, path: &str, token: Option<&str>) -> Socket {
        let url = app.url(path).replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().unwrap();
        if let Some(token) = token {
            request
                .headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Socket(socket)
    }

    async fn send(&mut self, frame: Value) {
        self.0
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    /// The next frame of type `kind` (others are skipped).
    async fn until(&mut self, kind: &str) -> Value {
        loop {
            let msg = tokio::time::timeout(StdDuration::from_secs(10), self.0.next())
                .await
                .unwrap_or_else(|_| panic!("no {kind} frame within 10 s"))
                .expect("socket ended")
                .expect("socket error");
            if let Message::Text(text) = msg {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == kind {
                    return frame;
                }
            }
        }
    }

    /// Waits for the agent's presence to be `status`.
    async fn presence(&mut self, status: &str) {
        while self.until("presence").await["status"] != status {}
    }
}

async fn api(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get_as(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn api_text(app: &TestApp, path: &str, token: &str) -> String {
    let res = app.get_as(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

/// `3 h 05 min`, as the English pages write a length (to the nearest minute).
fn length(secs: &Value) -> String {
    let secs = secs
        .as_i64()
        .unwrap_or_else(|| panic!("no seconds: {secs}"));
    let minutes = (secs + 30) / 60;
    format!("{} h {:02} min", minutes / 60, minutes % 60)
}

fn hours(v: &Value) -> String {
    format!(
        "{:.2}",
        v.as_f64().unwrap_or_else(|| panic!("no hours: {v}"))
    )
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn clock(v: &Value, zone: chrono_tz::Tz) -> String {
    instant(v).with_timezone(&zone).format("%H:%M").to_string()
}

/// Within a few seconds of `want` (real time passes between the clock's jumps).
fn about(got: &Value, want: Duration, what: &str) {
    let got = got.as_i64().unwrap();
    assert!(
        (got - want.num_seconds()).abs() <= 5,
        "{what}: {got} s, expected about {} s",
        want.num_seconds()
    );
}

const STATES: [(&str, &str); 4] = [
    ("offline", "Offline"),
    ("away", "Away"),
    ("online_idle", "Online, no chat"),
    ("online_in_chats", "Online, in chats"),
];

fn state_label(state: &Value) -> &'static str {
    STATES
        .iter()
        .find(|(k, _)| state == k)
        .unwrap_or_else(|| panic!("unknown state {state}"))
        .1
}

/// What a page's CSV link downloads, fetched by the page itself (the session's cookies).
const FETCH_CSV_JS: &str = r#"
const done = arguments[arguments.length - 1];
const link = document.querySelector("main a[download]");
if (!link) { done({ error: "no download link" }); return; }
fetch(link.href, { credentials: "same-origin" })
  .then(r => r.text().then(body => done({
    href: link.getAttribute("href"), text: link.textContent.trim(), status: r.status,
    type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"),
    body })))
  .catch(e => done({ error: String(e) }));
"#;

impl Browser {
    async fn csv_link(&self) -> Value {
        let got = self
            .client
            .execute_async(FETCH_CSV_JS, Vec::new())
            .await
            .unwrap();
        assert!(got["error"].is_null(), "{got}");
        assert_eq!(got["status"], 200, "{got}");
        assert!(
            got["type"].as_str().unwrap().starts_with("text/csv"),
            "{got}"
        );
        assert!(
            got["disposition"]
                .as_str()
                .unwrap()
                .starts_with("attachment"),
            "{got}"
        );
        got
    }

    /// The trimmed text of every cell (th and td) of the rows `css` selects.
    async fn cells(&self, css: &str) -> Vec<Vec<String>> {
        self.wait_for(Locator::Css(css)).await;
        let script = format!(
            "return Array.from(document.querySelectorAll({css:?})).map(r => \
             Array.from(r.querySelectorAll('th, td')).map(c => c.textContent.trim()));"
        );
        serde_json::from_value(self.js(&script).await).unwrap()
    }

    /// The facts list (`<dl class="facts">`) as term and value pairs.
    async fn facts(&self) -> Vec<(String, String)> {
        self.wait_for(Locator::Css("main dl.facts")).await;
        let script = "return Array.from(document.querySelectorAll('main dl.facts dt')).map(dt => \
                      [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]);";
        serde_json::from_value(self.js(script).await).unwrap()
    }

    /// Checks the timeline page on screen against the API's `report`.
    async fn shows_timeline(&self, report: &Value, zone: chrono_tz::Tz, note: &str) {
        let t = &report["totals"];
        let mut want: Vec<(String, String)> = [
            ("Online", "online_secs"),
            ("Away", "away_secs"),
            ("On shift", "on_shift_secs"),
            ("In chats", "in_chats_secs"),
            ("Idle on shift", "idle_secs"),
        ]
        .iter()
        .map(|(label, key)| (label.to_string(), length(&t[key])))
        .collect();
        let worked = report["worked"].as_array().unwrap();
        let all: i64 = worked
            .iter()
            .map(|w| w["worked_secs"].as_i64().unwrap())
            .sum();
        want.push(("Worked".to_owned(), length(&json!(all))));
        for w in worked {
            want.push((
                format!("Worked for {}", w["merchant_name"].as_str().unwrap()),
                length(&w["worked_secs"]),
            ));
        }
        assert_eq!(self.facts().await, want, "{report}");
        assert!(
            self.body_text().await.contains(note),
            "the page does not say its zone"
        );
        self.wait_for(Locator::Css(
            "svg.chart.strip[role='img'][aria-labelledby='activity-chart-title activity-chart-desc']",
        ))
        .await;
        // Every label of the chart is inside the picture (none cut off at an edge).
        let overhang = self
            .js("const svg = document.querySelector('svg.chart.strip'); \
                 const width = svg.viewBox.baseVal.width; \
                 return Array.from(svg.querySelectorAll('text')).map(t => t.getBBox()) \
                   .filter(b => b.x < 0 || b.x + b.width > width).length;")
            .await;
        assert_eq!(overhang, 0, "chart labels overhang the picture");

        // A row per day with its totals, "Not yet" for days to come.
        let rows = self.cells("#activity-days tbody tr").await;
        let days = report["days"].as_array().unwrap();
        assert_eq!(rows.len(), days.len());
        for (row, d) in rows.iter().zip(days) {
            let t = &d["totals"];
            let day_worked: i64 = d["worked"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["worked_secs"].as_i64().unwrap())
                .sum();
            let want: Vec<String> = if d["recorded_secs"] == 0 {
                vec![d["date"].as_str().unwrap().to_owned(), "Not yet".to_owned()]
            } else {
                let mut v = vec![d["date"].as_str().unwrap().to_owned()];
                for key in [
                    "online_secs",
                    "away_secs",
                    "on_shift_secs",
                    "in_chats_secs",
                    "idle_secs",
                ] {
                    v.push(length(&t[key]));
                }
                v.push(length(&json!(day_worked)));
                v
            };
            assert_eq!(row, &want, "{d}");
        }

        // Each recorded day's segments, times in `zone`. Today's last segment runs to
        // "now", which moved on since the API was asked: its state only.
        for d in days {
            let segments = d["segments"].as_array().unwrap();
            let css = format!(
                "#activity-days ~ details[data-day='{}'] tbody tr",
                d["date"].as_str().unwrap()
            );
            if segments.is_empty() {
                let found = self
                    .js(&format!(
                        "return document.querySelectorAll({css:?}).length;"
                    ))
                    .await;
                assert_eq!(found, 0, "{d}");
                continue;
            }
            let whole = instant(&d["end"]) - instant(&d["start"]);
            let complete = d["recorded_secs"].as_i64() == Some(whole.num_seconds());
            let rows = self.cells(&css).await;
            assert_eq!(rows.len(), segments.len(), "{d}");
            for (i, (row, s)) in rows.iter().zip(segments).enumerate() {
                let on_shift = if s["on_shift"] == true { "Yes" } else { "No" };
                assert_eq!(row[1], state_label(&s["state"]), "{s}");
                assert_eq!(row[2], on_shift, "{s}");
                if complete || i + 1 < segments.len() {
                    let time = format!("{}–{}", clock(&s["start"], zone), clock(&s["end"], zone));
                    assert_eq!(row[0], time, "{s}");
                    assert_eq!(row[3], length(&s["secs"]), "{s}");
                }
            }
        }
    }
}

/// The CSV's lines for `date` (other days may still be recording).
fn lines_of<'a>(csv: &'a str, date: &str) -> Vec<&'a str> {
    csv.lines()
        .filter(|l| l.split(',').nth(1) == Some(date))
        .collect()
}

/// The agent's worked day: on shift since 08:00 (market time), online at 08:01; a chat
/// taken at 08:11 and closed at 08:14; away 08:19 to 08:26; checked out at 08:30 and gone
/// two minutes later. Returns the chat's id.
async fn worked_day(app: &TestApp, shop: &Session, agent: &Session) -> String {
    let res = app
        .get_as(
            &format!("/api/merchants/{}/widget-key", shop.merchant_id()),
            &shop.access,
        )
        .await;
    let key = res.json::<Value>().await.unwrap()["widget_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = Socket::open(app, "/ws/agent", Some(&agent.access)).await;
    ws.until("hello").await;
    app.clock.advance(Duration::minutes(10));
    let mut customer = Socket::open(app, "/ws/customer", None).await;
    customer
        .send(json!({"type": "start", "key": key, "skill": "general"}))
        .await;
    let chat = customer.until("started").await["chat"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ws.until("offer").await["card"]["chat"], chat.as_str());
    ws.send(json!({"type": "accept", "chat": chat})).await;
    ws.until("assigned").await;
    ws.send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "Hello!"}))
        .await;
    ws.until("message").await;
    app.clock.advance(Duration::minutes(3));
    ws.send(json!({"type": "close", "chat": chat})).await;
    ws.until("closed").await;
    app.clock.advance(Duration::minutes(5));
    ws.send(json!({"type": "presence", "status": "away"})).await;
    ws.presence("away").await;
    app.clock.advance(Duration::minutes(7));
    ws.send(json!({"type": "presence", "status": "online"}))
        .await;
    ws.presence("online").await;
    app.clock.advance(Duration::minutes(4));

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
    let res = app
        .post_as(
            &format!("/api/shifts/{shift}/check-out"),
            &agent.access,
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    // The socket goes; past the grace period the agent is offline.
    let _ = ws.0.close(None).await;
    drop(customer);
    app.clock.advance(Duration::minutes(2));
    let id = agent.id();
    for _ in 0..200 {
        let id = id.clone();
        let status: Option<String> = app
            .with_db(move |c| {
                agent_presence::table
                    .find(&id)
                    .select(agent_presence::status)
                    .first(c)
                    .optional()
                    .unwrap()
            })
            .await;
        if status.as_deref() == Some("offline") {
            return chat;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("the agent never went offline after disconnecting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_activity_timeline_and_worked_hours_show_the_api_figures() {
    let axe = axe_source();
    let (browser, app) = browser_and_app().await;
    let admin = app.admin().await;
    let shop = app.merchant("Browser Tea House").await;
    let agent = agent_on_shift(&app, &shop, "Browser Agent Lin").await;
    // The agent lives in Berlin; the market (and the shop's staff) in Shanghai.
    let berlin = chrono_tz::Europe::Berlin;
    let shanghai = chrono_tz::Asia::Shanghai;
    let id = agent.id();
    app.with_db(move |c| {
        diesel::update(accounts::table.find(&id))
            .set(accounts::time_zone.eq(berlin.name()))
            .execute(c)
            .unwrap()
    })
    .await;
    let chat = worked_day(&app, &shop, &agent).await;
    let worked_on = app
        .clock
        .now()
        .and_utc()
        .with_timezone(&berlin)
        .date_naive();
    let market_day = app
        .clock
        .now()
        .and_utc()
        .with_timezone(&shanghai)
        .date_naive();
    assert_eq!(
        worked_on, market_day,
        "08:00 Shanghai is the same date in Berlin"
    );
    // The next day: the worked day is complete.
    app.clock.advance(Duration::days(1));

    // The agent's own timeline, from the navigation: the API's figures, Berlin's times.
    let mine = api(&app, "/api/agents/me/activity", &agent.access).await;
    assert_eq!(mine["time_zone"], "Europe/Berlin");
    let date = worked_on.to_string();
    let day = mine["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date.as_str())
        .unwrap_or_else(|| panic!("{date} is not in the default week: {mine}"))
        .clone();
    // The day as lived, to the minute: online 08:01-08:11 and 08:14-08:19 and 08:26-08:32,
    // in the chat 08:11-08:14, away 08:19-08:26, on shift 08:00-08:30.
    let m = Duration::minutes;
    about(&day["totals"]["online_secs"], m(24), "online");
    about(&day["totals"]["in_chats_secs"], m(3), "in chats");
    about(&day["totals"]["away_secs"], m(7), "away");
    about(&day["totals"]["on_shift_secs"], m(30), "on shift");
    about(&day["worked"][0]["worked_secs"], m(30), "worked");
    let first_online = day["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "online_idle")
        .unwrap()
        .clone();
    // Online a minute into the shift (08:01 in Shanghai, 01:01 in Berlin; the test's clock
    // keeps real seconds, so to within a few).
    let online_at = instant(&first_online["start"]);
    let into_shift = online_at - instant(&day["shifts"][0]["start"]);
    assert!(
        into_shift > Duration::seconds(50) && into_shift < Duration::seconds(70),
        "{day}"
    );
    let berlin_start = clock(&first_online["start"], berlin);
    assert!(berlin_start.starts_with("01:0"), "{berlin_start}");

    browser.sign_in(&app, &agent.email).await;
    browser
        .wait_for(Locator::Css("header a[href='/agent/activity']"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("My activity").await;
    browser
        .shows_timeline(&mine, berlin, "Times are in Europe/Berlin.")
        .await;
    // Half an hour worked reads as such, to the nearest minute as the shop's 0.50 h.
    assert!(
        browser
            .facts()
            .await
            .contains(&("Worked".to_owned(), "0 h 30 min".to_owned()))
    );
    // The agent reads it in Berlin's time (01:01), not the market's (08:01).
    let online_row = format!(
        "//details[@data-day='{date}']//tr[th = '{berlin_start}–{}' and td[1] = 'Online, no chat']",
        clock(&first_online["end"], berlin)
    );
    browser.wait_for(Locator::XPath(&online_row)).await;
    assert_accessible(&browser, &axe, "the agent's activity").await;
    browser
        .wait_for(Locator::Css(&format!("details[data-day='{date}'] summary")))
        .await
        .click()
        .await
        .unwrap();
    assert_accessible(&browser, &axe, "the agent's activity with a day open").await;
    let csv = browser.csv_link().await;
    let (from, to) = (mine["from"].as_str().unwrap(), mine["to"].as_str().unwrap());
    assert_eq!(
        csv["href"],
        format!("/agent/activity.csv?from={from}&to={to}")
    );
    assert_eq!(csv["text"], "Download CSV (one row per segment)");
    let want = api_text(
        &app,
        &format!("/api/agents/me/activity.csv?from={from}&to={to}"),
        &agent.access,
    )
    .await;
    let got = csv["body"].as_str().unwrap();
    assert_eq!(got.lines().next(), want.lines().next());
    assert_eq!(lines_of(got, &date), lines_of(&want, &date));
    assert_eq!(
        lines_of(got, &date).len(),
        day["segments"].as_array().unwrap().len()
    );
    browser.js("window.scrollTo(0, 0); return null;").await;
    browser.screenshot("activity-agent.png").await;

    // The admin, from the agent's page: the same record, in the agent's days and zone.
    let theirs = api(
        &app,
        &format!("/api/admin/agents/{}/activity", agent.id()),
        &admin.access,
    )
    .await;
    let theirs_day = theirs["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date.as_str());
    assert_eq!(theirs_day, Some(&day));
    browser.client.delete_all_cookies().await.unwrap();
    browser.sign_in(&app, &admin.email).await;
    browser
        .goto(&app.url(&format!("/admin/agents/{}", agent.id())))
        .await;
    browser.follow("Activity timeline").await;
    browser
        .heading_containing("Activity of Browser Agent Lin")
        .await;
    // The admin is told whose days and zone these are.
    browser
        .shows_timeline(
            &theirs,
            berlin,
            "Days and times are the agent's, in Europe/Berlin.",
        )
        .await;
    assert_accessible(&browser, &axe, "an agent's activity, for an admin").await;
    let csv = browser.csv_link().await;
    let want = api_text(
        &app,
        &format!(
            "/api/admin/agents/{}/activity.csv?from={from}&to={to}",
            agent.id()
        ),
        &admin.access,
    )
    .await;
    assert_eq!(
        lines_of(csv["body"].as_str().unwrap(), &date),
        lines_of(&want, &date)
    );

    // The shop's worked hours from its navigation, and the drill-down to the chat.
    let mid = shop.merchant_id();
    let hours_report = api(
        &app,
        &format!("/api/merchants/{mid}/worked-hours"),
        &shop.access,
    )
    .await;
    let (from, to) = (
        hours_report["from"].as_str().unwrap().to_owned(),
        hours_report["to"].as_str().unwrap().to_owned(),
    );
    let drill = api(
        &app,
        &format!(
            "/api/merchants/{mid}/worked-hours/chats?agent_id={}&day={market_day}",
            agent.id()
        ),
        &shop.access,
    )
    .await;
    browser.client.delete_all_cookies().await.unwrap();
    browser.sign_in(&app, &shop.email).await;
    browser
        .wait_for(Locator::Css("header a[href='/seats/worked-hours']"))
        .await
        .click()
        .await
        .unwrap();
    browser.heading_containing("Worked hours").await;
    assert_eq!(
        browser.facts().await,
        [(
            "Total hours".to_owned(),
            hours(&hours_report["worked_hours"])
        )]
    );
    assert_eq!(hours(&hours_report["worked_hours"]), "0.50");
    assert!(
        browser
            .body_text()
            .await
            .contains("Times are in Asia/Shanghai.")
    );
    let days = browser.cells("#hours-days tbody tr").await;
    let want: Vec<Vec<String>> = hours_report["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            vec![
                d["date"].as_str().unwrap().to_owned(),
                hours(&d["worked_hours"]),
            ]
        })
        .collect();
    assert_eq!(days, want);
    // The chart's hour lines: whole hours, each labelled once.
    let grid = browser
        .js("return Array.from(document.querySelectorAll(\"svg.chart[aria-labelledby^='hours-chart'] .chart-grid text\")).map(t => t.textContent);")
        .await;
    assert_eq!(grid, json!(["0", "1", "2"]), "half an hour worked at most");
    let agents = browser.cells("#hours-agents tbody tr").await;
    let listed = hours_report["agents"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{hours_report}");
    assert_eq!(
        agents,
        [vec![
            "Browser Agent Lin".to_owned(),
            hours(&listed[0]["worked_hours"])
        ]]
    );
    let rows = browser.cells("#hours-rows tbody tr").await;
    let want: Vec<Vec<String>> = listed[0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            vec![
                "Browser Agent Lin".to_owned(),
                d["date"].as_str().unwrap().to_owned(),
                hours(&d["worked_hours"]),
                format!(
                    "See chats Browser Agent Lin {}",
                    d["date"].as_str().unwrap()
                ),
            ]
        })
        .collect();
    assert_eq!(rows, want);
    assert_accessible(&browser, &axe, "the shop's worked hours").await;
    let csv = browser.csv_link().await;
    assert_eq!(
        csv["href"],
        format!("/seats/worked-hours.csv?from={from}&to={to}")
    );
    assert_eq!(csv["text"], "Download CSV (one row per agent and day)");
    let want = api_text(
        &app,
        &format!("/api/merchants/{mid}/worked-hours.csv?from={from}&to={to}"),
        &shop.access,
    )
    .await;
    assert_eq!(csv["body"], want.as_str());
    browser.screenshot("worked-hours.png").await;

    let link = format!("//table[@id='hours-rows']//tr[td[1] = '{market_day}']//a");
    browser
        .wait_for(Locator::XPath(&link))
        .await
        .click()
        .await
        .unwrap();
    browser
        .heading_containing(&format!("Chats of Browser Agent Lin on {market_day}"))
        .await;
    let chats = browser.cells("main table tbody tr").await;
    let listed = drill["chats"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{drill}");
    let c = &listed[0];
    assert_eq!(c["chat_id"], chat.as_str());
    let local = |v: &Value| {
        instant(v)
            .with_timezone(&shanghai)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    assert_eq!(
        chats,
        [vec![
            chat.clone(),
            local(&c["started_at"]),
            local(&c["closed_at"]),
            length(&c["handle_secs"]),
            "–".to_owned(),
        ]]
    );
    // Taken ten minutes into the shift, 08:10 or 08:11 market time, as the shop's staff
    // read it.
    assert!(
        chats[0][1].starts_with(&format!("{market_day} 08:1")),
        "{chats:?}"
    );
    assert!(
        browser
            .body_text()
            .await
            .contains("Times are in Asia/Shanghai.")
    );
    assert_accessible(&browser, &axe, "the chats of an agent's worked day").await;
    browser.screenshot("worked-hours-chats.png").await;
    browser.follow("Back to worked hours").await;
    browser.heading_containing("Worked hours").await;
    browser.close().await;
}
