//! The shift claim rush: 1,000 certified agents claim the shifts of one confirmed booking at
//! the same moment, each a shift picked at random (so many collide), against the real
//! service (HTTP, release build) on SQLite or PostgreSQL. Then every loser tries once more
//! on a random shift still on the job board. Prints claims won, refusals by code, claims
//! committed per second and latencies, then checks in the database that no shift has two
//! holders, that every claimed shift has exactly one assignment and that no agent holds
//! two overlapping shifts. Exits non-zero if any check fails.
//!
//!   cargo bench --bench claim_rush -- [sqlite|postgres] [agents] [shifts]
//!
//! `shifts` seats are booked for one 4-hour block (08:00-12:00 market time), one shift
//! each. PostgreSQL needs `CLOUDSEAT_BENCH_POSTGRES_URL` (scripts/bench starts a server and
//! runs this for both backends).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDateTime};
use cloudseat::accounts::model::{AccountId, MerchantId, Role};
use cloudseat::auth::jwt::JwtKeys;
use cloudseat::config::Settings;
use cloudseat::db::schema::{
    accounts, agents, certifications, merchants, shift_assignments, shifts,
};
use cloudseat::startup::Application;
use diesel::prelude::*;
use rand::RngExt;
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

/// The shipped shift rules (seat-rules/shifts.toml) with early access off, so every
/// certified agent may claim right after the confirmation.
const SHIFT_RULES: &str = "early_access_hours = 0
max_hours_per_day = 10
max_hours_per_week = 48
min_rest_hours = 8
free_release_hours = 24
check_in_opens_minutes = 30
no_show_grace_minutes = 10
swap_cutoff_hours = 2
reminder_hours = 2
urgent_bonus_fen = 3000
";

fn write_rules(dir: &std::path::Path, today: chrono::NaiveDate, seats: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let day = |n: i64| (today + Duration::days(n)).to_string();
    std::fs::write(dir.join("market.toml"), format!("time_zone = \"Asia/Shanghai\"\nbookable_start_hour = 8\nbookable_end_hour = 24\nblock_hours = 4\nhold_minutes = 15\nmin_seats = 1\nmax_seats_per_booking = {seats}\noff_peak_opens_days = 60\noff_peak_multiplier_bp = 10000\n")).unwrap();
    std::fs::write(dir.join("skills.toml"), format!("[[skill]]\nid = \"general\"\nname_en = \"General\"\nname_zh = \"通用\"\nseats_per_hour = {seats}\nprice_per_seat_hour_fen = 3500\nagent_hourly_fen = 2400\n")).unwrap();
    std::fs::write(
        dir.join("pricing.toml"),
        "[[volume_tier]]\nmin_seat_hours = 500\ndiscount_bp = 300\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("cancellation.toml"),
        "[[step]]\nmin_days_before_start = 0\nrefund_bp = 0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("periods.toml"),
        format!("[[period]]\nid = \"rush\"\nname_en = \"Rush\"\nname_zh = \"抢购\"\nstart = {}\nend = {}\nmultiplier_bp = 18000\n", day(20), day(30)),
    )
    .unwrap();
    std::fs::write(dir.join("shifts.toml"), SHIFT_RULES).unwrap();
    // The shipped chat rules.
    std::fs::write(
        dir.join("chat.toml"),
        include_str!("../seat-rules/chat.toml"),
    )
    .unwrap();
    // The shipped pay plan and quality rules.
    std::fs::write(dir.join("pay.toml"), include_str!("../seat-rules/pay.toml")).unwrap();
    std::fs::write(
        dir.join("quality.toml"),
        include_str!("../seat-rules/quality.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("levels.toml"),
        include_str!("../seat-rules/levels.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("churn.toml"),
        include_str!("../seat-rules/churn.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("at_risk.toml"),
        include_str!("../seat-rules/at_risk.toml"),
    )
    .unwrap();
    // The shipped scorecards of the one skill sold here.
    let scorecards = include_str!("../seat-rules/scorecards.toml");
    let general = scorecards
        .split("\n[[scorecard]]\ntrack = \"pre_sale\"")
        .next()
        .unwrap();
    std::fs::write(dir.join("scorecards.toml"), general).unwrap();
}

/// One wave's answers: status, the problem's `code` (refusals), the shift and the time.
struct Answer {
    status: u16,
    code: Option<String>,
    agent: usize,
    shift: String,
    took: StdDuration,
}

struct Wave {
    answers: Vec<Answer>,
    elapsed: StdDuration,
}

impl Wave {
    fn won(&self) -> usize {
        self.answers.iter().filter(|a| a.status == 200).count()
    }

    fn losers(&self) -> Vec<usize> {
        self.answers
            .iter()
            .filter(|a| a.status != 200)
            .map(|a| a.agent)
            .collect()
    }

    fn distinct_shifts(&self) -> usize {
        self.answers
            .iter()
            .map(|a| a.shift.as_str())
            .collect::<HashSet<_>>()
            .len()
    }

    fn refusals(&self) -> BTreeMap<String, usize> {
        let mut by_code = BTreeMap::new();
        for a in self.answers.iter().filter(|a| a.status != 200) {
            let key = match &a.code {
                Some(code) => format!("{} {code}", a.status),
                None => a.status.to_string(),
            };
            *by_code.entry(key).or_insert(0) += 1;
        }
        by_code
    }

    fn report(&self, name: &str) {
        let n = self.answers.len();
        if n == 0 {
            println!("  {name}: no claims sent");
            return;
        }
        let secs = self.elapsed.as_secs_f64();
        let mut lat: Vec<StdDuration> = self.answers.iter().map(|a| a.took).collect();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
        let refusals: Vec<String> = self
            .refusals()
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        println!(
            "  {name}: {n} claims on {} distinct shifts: {} won, refused [{}], in {secs:.2} s",
            self.distinct_shifts(),
            self.won(),
            refusals.join(", "),
        );
        println!(
            "  {name}: requests/s {:.0}, claims committed/s {:.0}; latency ms p50 {:.1} p99 {:.1} max {:.1}",
            n as f64 / secs,
            self.won() as f64 / secs,
            pct(0.5),
            pct(0.99),
            pct(1.0),
        );
    }
}

/// Fires every claim at once: `targets` is (agent index, shift id).
async fn fire(
    client: &reqwest::Client,
    base: &str,
    tokens: &[String],
    targets: Vec<(usize, String)>,
) -> Wave {
    let started = Instant::now();
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|(agent, shift)| {
            let client = client.clone();
            let url = format!("{base}/api/shifts/{shift}/claim");
            let token = tokens[agent].clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let res = client.post(url).bearer_auth(token).send().await.unwrap();
                let took = t.elapsed();
                let status = res.status().as_u16();
                let code = if status == 200 {
                    None
                } else {
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    body["code"].as_str().map(str::to_owned)
                };
                Answer {
                    status,
                    code,
                    agent,
                    shift,
                    took,
                }
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    Wave {
        answers,
        elapsed: started.elapsed(),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // Test runners list or run every target (`cargo nextest run --all-targets` calls this
    // with `--list`, `cargo test` without `--bench`): there are no tests in here, and the
    // rush only runs under `cargo bench`.
    if !raw.iter().any(|a| a == "--bench") || raw.iter().any(|a| a == "--list") {
        return;
    }
    let args: Vec<String> = raw.into_iter().filter(|a| a != "--bench").collect();
    let backend = args.first().cloned().unwrap_or_else(|| "sqlite".into());
    let agent_count: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seats: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
        .max(1);

    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let rules_dir = dir.path().join("seat-rules");
    write_rules(&rules_dir, today, seats);
    let url = match backend.as_str() {
        "postgres" => {
            std::env::var("CLOUDSEAT_BENCH_POSTGRES_URL").expect("set CLOUDSEAT_BENCH_POSTGRES_URL")
        }
        _ => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        database_url: Some(SecretString::from(url.clone())),
        database_pool_size: Some(8),
        jwt_secret: Some(SecretString::from(SECRET.to_owned())),
        rules_dir,
        workers: Some(2),
        log: cloudseat::config::LogSettings {
            format: cloudseat::config::LogFormat::Human,
            filter: "warn".into(),
        },
        ..Settings::default()
    };
    settings.mail.outbox_dir = Some(dir.path().join("outbox"));
    let app = Application::build(settings).await.expect("start");
    let base = format!("http://{}", app.address());
    let db = app.db.clone();
    tokio::spawn(app.run_until_stopped());

    // Seed one shop and the agents straight into the database (their passwords are never
    // used: the bench signs their access tokens with the service's key), every agent
    // certified for `general` from yesterday for a year.
    let keys = JwtKeys::new(SECRET.as_bytes(), Duration::hours(1));
    let shop = (AccountId::new(), MerchantId::new());
    let agent_ids: Vec<AccountId> = (0..agent_count).map(|_| AccountId::new()).collect();
    {
        let db = db.clone();
        let shop = shop.clone();
        let agent_ids = agent_ids.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get_blocking().unwrap();
            let now = chrono::Utc::now().naive_utc();
            let account = |id: &AccountId,
                           email: String,
                           role: &'static str,
                           merchant: Option<&MerchantId>,
                           c: &mut cloudseat::db::DbConn| {
                diesel::insert_into(accounts::table)
                    .values((
                        accounts::id.eq(id),
                        accounts::email.eq(email),
                        accounts::password_hash.eq("!"),
                        accounts::role.eq(role),
                        accounts::merchant_id.eq(merchant),
                        accounts::display_name.eq("Bench"),
                        accounts::locale.eq("en"),
                        accounts::time_zone.eq("Asia/Shanghai"),
                        accounts::password_changed_at.eq(now),
                        accounts::created_at.eq(now),
                        accounts::updated_at.eq(now),
                    ))
                    .execute(c)
            };
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                diesel::insert_into(merchants::table)
                    .values((
                        merchants::id.eq(&shop.1),
                        merchants::name.eq("Bench Shop"),
                        merchants::created_at.eq(now),
                    ))
                    .execute(c)?;
                account(
                    &shop.0,
                    "shop@bench.example".into(),
                    "merchant_staff",
                    Some(&shop.1),
                    c,
                )?;
                for (i, id) in agent_ids.iter().enumerate() {
                    account(id, format!("agent{i}@bench.example"), "agent", None, c)?;
                    diesel::insert_into(agents::table)
                        .values((
                            agents::account_id.eq(id),
                            agents::status.eq("certified"),
                            agents::status_changed_at.eq(now),
                            agents::created_at.eq(now),
                        ))
                        .execute(c)?;
                    diesel::insert_into(certifications::table)
                        .values((
                            certifications::agent_id.eq(id),
                            certifications::skill.eq("general"),
                            certifications::certified_at.eq(now - Duration::days(1)),
                            certifications::expires_at.eq(now + Duration::days(365)),
                        ))
                        .execute(c)?;
                }
                Ok(())
            })
            .unwrap();
        })
        .await
        .unwrap();
    }
    let shop_token = keys
        .issue(&shop.0, Role::MerchantStaff, Some(&shop.1))
        .unwrap();
    let tokens: Vec<String> = agent_ids
        .iter()
        .map(|a| keys.issue(a, Role::Agent, None).unwrap())
        .collect();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    // One booking of `seats` seats for 08:00-12:00 (one block) three weeks ahead, confirmed:
    // `seats` open shifts.
    let res = client
        .post(format!("{base}/api/bookings"))
        .bearer_auth(&shop_token)
        .json(&json!({
            "skill": "general",
            "start_date": (today + Duration::days(21)).to_string(),
            "end_date": (today + Duration::days(21)).to_string(),
            "daily_start_hour": 8,
            "daily_end_hour": 12,
            "seats": seats,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let booking = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(format!("{base}/api/bookings/{booking}/confirm"))
        .bearer_auth(&shop_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let shift_ids: Vec<String> = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get_blocking().unwrap();
            shifts::table
                .filter(shifts::booking_id.eq(&booking))
                .filter(shifts::status.eq("open"))
                .select(shifts::id)
                .load(&mut conn)
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert_eq!(shift_ids.len(), seats, "the booking made {seats} shifts");

    // Warm the connections: every agent's first request is a look at the job board (this
    // is also what an agent does before claiming), a few at a time.
    {
        use futures_util::StreamExt;
        let board = futures_util::stream::iter(tokens.iter().take(64))
            .map(|t| {
                client
                    .get(format!("{base}/api/shifts/open?limit=1"))
                    .bearer_auth(t)
                    .send()
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
        for res in board {
            assert_eq!(res.unwrap().status(), 200);
        }
    }

    // Wave 1: every agent at once, each on a random shift.
    let targets: Vec<(usize, String)> = {
        let mut rng = rand::rng();
        (0..agent_count)
            .map(|i| (i, shift_ids[rng.random_range(0..shift_ids.len())].clone()))
            .collect()
    };
    let first = fire(&client, &base, &tokens, targets).await;

    // Wave 2: every loser looks at the job board (first page, up to 100 shifts) and claims
    // a random shift still on it, all at once again.
    let losers = first.losers();
    let board_started = Instant::now();
    let boards: Vec<(usize, Vec<String>)> = {
        let tasks: Vec<_> = losers
            .iter()
            .map(|&agent| {
                let client = client.clone();
                let url = format!("{base}/api/shifts/open?limit=100");
                let token = tokens[agent].clone();
                tokio::spawn(async move {
                    let res = client.get(url).bearer_auth(token).send().await.unwrap();
                    assert_eq!(res.status(), 200);
                    let body: Value = res.json().await.unwrap();
                    let ids = body["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s["id"].as_str().unwrap().to_owned())
                        .collect::<Vec<_>>();
                    (agent, ids)
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    };
    let board_elapsed = board_started.elapsed();
    let still_open: usize = boards.first().map_or(0, |(_, ids)| ids.len());
    let targets: Vec<(usize, String)> = {
        let mut rng = rand::rng();
        boards
            .into_iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(agent, ids)| (agent, ids[rng.random_range(0..ids.len())].clone()))
            .collect()
    };
    let second = fire(&client, &base, &tokens, targets).await;

    println!("claim rush [{backend}]: {agent_count} agents for {seats} shifts (one 4-hour block)");
    first.report("wave 1");
    println!(
        "  wave 2: {} losers read the job board in {:.2} s ({still_open} still open)",
        losers.len(),
        board_elapsed.as_secs_f64(),
    );
    second.report("wave 2");

    // The checks: the answers first, then the database.
    let mut failures: Vec<String> = Vec::new();
    for (name, wave) in [("wave 1", &first), ("wave 2", &second)] {
        if wave.won() != seats.min(wave.distinct_shifts()) {
            failures.push(format!(
                "{name}: {} won, expected {} (distinct shifts hit)",
                wave.won(),
                seats.min(wave.distinct_shifts())
            ));
        }
        for (code, n) in wave.refusals() {
            if code != "409 shift_taken" {
                failures.push(format!("{name}: {n} unexpected refusals {code}"));
            }
        }
    }
    let won_total = first.won() + second.won();
    let mut winners: HashMap<String, usize> = HashMap::new();
    for a in first.answers.iter().chain(&second.answers) {
        if a.status == 200 && winners.insert(a.shift.clone(), a.agent).is_some() {
            failures.push(format!("shift {} was won twice", a.shift));
        }
    }

    type Assignment = (
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let (shift_rows, assignments) = tokio::task::spawn_blocking(move || {
        let mut conn = db.get_blocking().unwrap();
        let shift_rows: Vec<(String, String, Option<String>)> = shifts::table
            .select((shifts::id, shifts::status, shifts::agent_id))
            .load(&mut conn)
            .unwrap();
        let assignments: Vec<Assignment> = shift_assignments::table
            .select((
                shift_assignments::shift_id,
                shift_assignments::agent_id,
                shift_assignments::starts_at,
                shift_assignments::ends_at,
                shift_assignments::ended_at,
            ))
            .load(&mut conn)
            .unwrap();
        (shift_rows, assignments)
    })
    .await
    .unwrap();

    // No shift has more than one current holder.
    let mut current: HashMap<&str, usize> = HashMap::new();
    let mut all_rows: HashMap<&str, usize> = HashMap::new();
    for (shift, _, _, _, ended) in &assignments {
        *all_rows.entry(shift).or_default() += 1;
        if ended.is_none() {
            *current.entry(shift).or_default() += 1;
        }
    }
    let max_holders = current.values().copied().max().unwrap_or(0);
    if max_holders > 1 {
        failures.push(format!("a shift has {max_holders} current holders"));
    }
    // Every claimed shift has exactly one assignment row, of the agent it names, and the
    // agent the API said won it; open shifts have none.
    let mut claimed = 0usize;
    for (id, status, holder) in &shift_rows {
        let rows = all_rows.get(id.as_str()).copied().unwrap_or(0);
        match status.as_str() {
            "claimed" => {
                claimed += 1;
                if rows != 1 {
                    failures.push(format!("claimed shift {id} has {rows} assignment rows"));
                }
                let holds = assignments
                    .iter()
                    .find(|a| &a.0 == id && a.4.is_none())
                    .map(|a| a.1.as_str());
                if holds != holder.as_deref() {
                    failures.push(format!("shift {id} names {holder:?}, assignment {holds:?}"));
                }
                let api = winners.get(id).map(|&i| agent_ids[i].as_str());
                if api != holder.as_deref() {
                    failures.push(format!("shift {id} held by {holder:?}, API winner {api:?}"));
                }
            }
            "open" if rows != 0 => {
                failures.push(format!("open shift {id} has {rows} assignment rows"));
            }
            "open" => {}
            other => failures.push(format!("shift {id} is {other}")),
        }
    }
    if claimed != won_total {
        failures.push(format!(
            "{claimed} shifts claimed in the database, {won_total} claims won"
        ));
    }
    // No agent holds two overlapping shifts.
    let mut held: HashMap<&str, Vec<(NaiveDateTime, NaiveDateTime)>> = HashMap::new();
    for (_, agent, start, end, ended) in &assignments {
        if ended.is_none() {
            held.entry(agent).or_default().push((*start, *end));
        }
    }
    let mut overlapping = 0usize;
    for blocks in held.values_mut() {
        blocks.sort();
        if blocks.windows(2).any(|w| w[1].0 < w[0].1) {
            overlapping += 1;
        }
    }
    if overlapping > 0 {
        failures.push(format!("{overlapping} agents hold overlapping shifts"));
    }
    println!(
        "  database: {claimed} of {seats} shifts claimed, {} assignment rows, max {max_holders} current holder per shift, {} agents holding, {overlapping} with overlapping shifts",
        assignments.len(),
        held.len(),
    );
    if failures.is_empty() {
        println!("  checks: ok");
    } else {
        for f in failures.iter().take(20) {
            println!("  FAILED: {f}");
        }
        std::process::exit(1);
    }
}
