//! The booking rush: 1,000 shops at once for the last seats of a peak, against the real
//! service (HTTP, release build) on SQLite or PostgreSQL. Prints bookings committed per
//! second and refusals per second, then checks that nothing was overbooked.
//!
//!   cargo bench --bench booking_rush -- [sqlite|postgres] [shops] [seats_per_hour]
//!
//! PostgreSQL needs `CLOUDSEAT_BENCH_POSTGRES_URL` (scripts/bench starts a server and
//! runs this for both backends next to pgbench).

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use cloudseat::accounts::model::{AccountId, MerchantId, Role};
use cloudseat::auth::jwt::JwtKeys;
use cloudseat::config::Settings;
use cloudseat::db::schema::{accounts, bookings, merchants, seat_inventory};
use cloudseat::startup::Application;
use diesel::prelude::*;
use secrecy::SecretString;
use serde_json::json;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

const SHIFT_RULES: &str = "early_access_hours = 24
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

fn write_rules(dir: &std::path::Path, today: chrono::NaiveDate, seats_per_hour: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let day = |n: i64| (today + Duration::days(n)).to_string();
    std::fs::write(dir.join("market.toml"), "time_zone = \"Asia/Shanghai\"\nbookable_start_hour = 8\nbookable_end_hour = 24\nblock_hours = 4\nhold_minutes = 15\nmin_seats = 1\nmax_seats_per_booking = 500\noff_peak_opens_days = 60\noff_peak_multiplier_bp = 10000\n").unwrap();
    std::fs::write(dir.join("skills.toml"), format!("[[skill]]\nid = \"general\"\nname_en = \"General\"\nname_zh = \"通用\"\nseats_per_hour = {seats_per_hour}\nprice_per_seat_hour_fen = 3500\nagent_hourly_fen = 2400\n")).unwrap();
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
    // The shipped shift rules (seat-rules/shifts.toml); the rush never confirms, so no
    // shift is created and early access does not matter here.
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
    std::fs::write(
        dir.join("periods.toml"),
        format!("[[period]]\nid = \"rush\"\nname_en = \"Rush\"\nname_zh = \"抢购\"\nstart = {}\nend = {}\nmultiplier_bp = 18000\n", day(20), day(30)),
    )
    .unwrap();
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
    let shops: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seats_per_hour: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(600);

    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let rules_dir = dir.path().join("seat-rules");
    write_rules(&rules_dir, today, seats_per_hour);
    let url = match backend.as_str() {
        "postgres" => {
            std::env::var("CLOUDSEAT_BENCH_POSTGRES_URL").expect("set CLOUDSEAT_BENCH_POSTGRES_URL")
        }
        _ => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let settings = Settings {
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
    let mut settings = settings;
    settings.mail.outbox_dir = Some(dir.path().join("outbox"));
    let app = Application::build(settings).await.expect("start");
    let base = format!("http://{}", app.address());
    let db = app.db.clone();
    tokio::spawn(app.run_until_stopped());

    // Seed the shops straight into the database (their passwords are never used: the
    // bench signs their access tokens with the service's key).
    let keys = JwtKeys::new(SECRET.as_bytes(), Duration::hours(1));
    let seeded: Vec<(AccountId, MerchantId)> = (0..shops)
        .map(|_| (AccountId::new(), MerchantId::new()))
        .collect();
    {
        let db = db.clone();
        let seeded = seeded.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get_blocking().unwrap();
            let now = chrono::Utc::now().naive_utc();
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                for (i, (account, merchant)) in seeded.iter().enumerate() {
                    diesel::insert_into(merchants::table)
                        .values((
                            merchants::id.eq(merchant),
                            merchants::name.eq(format!("Shop {i}")),
                            merchants::created_at.eq(now),
                        ))
                        .execute(c)?;
                    diesel::insert_into(accounts::table)
                        .values((
                            accounts::id.eq(account),
                            accounts::email.eq(format!("shop{i}@bench.example")),
                            accounts::password_hash.eq("!"),
                            accounts::role.eq("merchant_staff"),
                            accounts::merchant_id.eq(merchant),
                            accounts::display_name.eq("Owner"),
                            accounts::locale.eq("en"),
                            accounts::time_zone.eq("Asia/Shanghai"),
                            accounts::password_changed_at.eq(now),
                            accounts::created_at.eq(now),
                            accounts::updated_at.eq(now),
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
    let tokens: Vec<String> = seeded
        .iter()
        .map(|(a, m)| keys.issue(a, Role::MerchantStaff, Some(m)).unwrap())
        .collect();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let body = Arc::new(json!({
        "skill": "general",
        "start_date": (today + Duration::days(21)).to_string(),
        "end_date": (today + Duration::days(21)).to_string(),
        "daily_start_hour": 8,
        "daily_end_hour": 24,
        "seats": 1,
    }));
    // Warm the connection pool and the inventory rows with one booking.
    let warm = client
        .post(format!("{base}/api/bookings"))
        .bearer_auth(&tokens[0])
        .json(&*body)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 201, "{}", warm.text().await.unwrap());

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(shops);
    for token in tokens.iter().skip(1) {
        let client = client.clone();
        let url = format!("{base}/api/bookings");
        let token = token.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&*body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), t.elapsed())
        }));
    }
    let mut won = 1usize;
    let mut refused = 0usize;
    let mut other = 0usize;
    let mut latencies = Vec::with_capacity(shops);
    for t in tasks {
        let (status, took) = t.await.unwrap();
        latencies.push(took);
        match status {
            201 => won += 1,
            409 => refused += 1,
            _ => other += 1,
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;

    // Zero overbooking: every hour sold at most its capacity, and exactly what the
    // bookings that won add up to.
    let (max_sold, total_sold, booked_seat_hours) = tokio::task::spawn_blocking(move || {
        let mut conn = db.get_blocking().unwrap();
        let rows: Vec<(i32, i32)> = seat_inventory::table
            .select((seat_inventory::capacity, seat_inventory::sold))
            .load(&mut conn)
            .unwrap();
        assert!(rows.iter().all(|(cap, sold)| sold <= cap), "OVERBOOKED");
        let held: Vec<i64> = bookings::table
            .filter(bookings::status.eq("held"))
            .select(bookings::seat_hours)
            .load(&mut conn)
            .unwrap();
        (
            rows.iter().map(|r| r.1).max().unwrap_or(0),
            rows.iter().map(|r| i64::from(r.1)).sum::<i64>(),
            held.iter().sum::<i64>(),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        total_sold, booked_seat_hours,
        "inventory and bookings disagree"
    );
    assert_eq!(won, (seats_per_hour as usize).min(shops));
    println!(
        "booking rush [{backend}]: {} shops for {seats_per_hour} seats/hour x 16 hours: {won} booked, {refused} sold_out, {other} other, in {:.2} s",
        shops,
        elapsed.as_secs_f64()
    );
    println!(
        "  requests/s {:.0}, bookings committed/s {:.0}; latency ms p50 {:.1} p99 {:.1} max {:.1}; max sold per hour {max_sold} (capacity {seats_per_hour}): zero overbooking",
        (shops - 1) as f64 / elapsed.as_secs_f64(),
        (won - 1) as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );
}
