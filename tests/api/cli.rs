//! The `cloudseat` binary's commands that need no server.

use std::path::Path;
use std::process::{Command, Output};

fn cloudseat(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudseat"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLOUDSEAT_CONFIG")
        .output()
        .expect("run cloudseat")
}

#[test]
fn rules_check_accepts_the_shipped_rules_by_default() {
    let out = cloudseat(Path::new(env!("CARGO_MANIFEST_DIR")), &["rules", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("seat rules OK: version sha256:"),
        "{stdout}"
    );
    assert!(stdout.contains("5 skills, 6 periods"), "{stdout}");
    assert!(
        stdout.contains("double11_2027") && stdout.contains("opens 2027-07-22"),
        "{stdout}"
    );
}

#[test]
fn rules_check_prints_every_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("seat-rules");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for name in [
        "market.toml",
        "skills.toml",
        "periods.toml",
        "pricing.toml",
        "cancellation.toml",
        "shifts.toml",
        "chat.toml",
        "pay.toml",
        "quality.toml",
        "levels.toml",
        "scorecards.toml",
        "churn.toml",
        "at_risk.toml",
    ] {
        let text = std::fs::read_to_string(shipped.join(name)).unwrap();
        let text = match name {
            "market.toml" => text.replace("block_hours = 4", "block_hours = 5"),
            "skills.toml" => text.replace("seats_per_hour = 200", "seats_per_hour = 0"),
            "shifts.toml" => text.replace("max_hours_per_week = 48", "max_hours_per_week = 8"),
            _ => text,
        };
        std::fs::write(rules.join(name), text).unwrap();
    }
    std::fs::remove_file(rules.join("pricing.toml")).unwrap();

    let out = cloudseat(dir.path(), &["rules", "check", "rules"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for needle in [
        "rules/market.toml:21: `block_hours` (5) must divide",
        "rules/pricing.toml: missing file",
        "rules/skills.toml:",
        "`seats_per_hour` must be above 0",
        "rules/shifts.toml:13: `max_hours_per_week` (8) must be at least `max_hours_per_day` (10)",
        "error: 4 problem(s) in the seat rules in rules",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in:\n{stderr}");
    }
}
