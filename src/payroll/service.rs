//! Payroll use cases: a run is created (`computing`), computed in the background with its
//! progress in the run's row, and written whole in one transaction as a `draft` (or marked
//! `failed` with nothing of it written); then published (agents see their draft and may
//! dispute a line within the window), approved (locked: nothing changes any more, later
//! corrections are adjustments in a later run) and marked paid.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::aggregate::{self, Aggregate, Window};
use super::pay::{LineKind, PayLine, Payslip, payslip};
use super::store::{self, Computed, LOCKED, NewLine, NewPayslip, RunRow};
use crate::accounts::model::{AccountId, Locale};
use crate::audit::{self, AuditEntry};
use crate::db::{DbConn, new_id, write_transaction};
use crate::error::AppError;
use crate::mail::templates::{MailKind, PayslipMail, render};
use crate::seats::rules::Ruleset;

/// How long agents may dispute a published run, unless the admin says otherwise.
pub const DEFAULT_DISPUTE_HOURS: u32 = 48;
/// Progress is written after this many agents.
const PROGRESS_EVERY: usize = 1_000;

/// Creates a run for `from..=to` (local dates) as `computing`; the caller starts
/// [`compute`]. One transaction decides overlaps, safe against concurrent admins.
pub fn create_run(
    conn: &mut DbConn,
    admin: &AccountId,
    from: NaiveDate,
    to: NaiveDate,
    rules: &Ruleset,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    if to < from {
        return Err(AppError::field(
            "to",
            "period_inverted",
            "the period must end on or after its first day",
        ));
    }
    let window = aggregate::local_days(rules, from, to);
    write_transaction(conn, |conn| {
        store::lock_runs(conn)?;
        if let Some(other) = store::overlapping(conn, from, to)? {
            return Err(AppError::conflict(
                "run_overlaps",
                format!("run {other} already covers part of this period"),
            ));
        }
        let id = store::insert_run(
            conn,
            &store::NewRun {
                period_from: from,
                period_to: to,
                starts_at: window.from,
                ends_at: window.to,
                ruleset_version: &rules.version,
                created_by: admin.as_str(),
            },
            now,
        )?;
        audit::record(
            conn,
            AuditEntry {
                actor: Some(admin),
                action: "payroll.run_created",
                target_type: "payroll_run",
                target_id: Some(&id),
                details: serde_json::json!({ "from": from, "to": to }),
            },
            now,
        )?;
        Ok(id)
    })
}

/// Computes a `computing` run: aggregates the period in SQL, computes every payslip with
/// progress written as it goes, and writes everything in one transaction as a draft. On any
/// failure the run is marked `failed` and keeps nothing of this computation.
pub fn compute(conn: &mut DbConn, run_id: &str, rules: &Ruleset, now: NaiveDateTime) {
    if let Err(err) = try_compute(conn, run_id, rules, now) {
        tracing::error!(run = run_id, error = %err, "payroll run failed");
        let failed =
            write_transaction(conn, |conn| store::fail_run(conn, run_id, &err.to_string()));
        if let Err(e) = failed {
            tracing::error!(run = run_id, error = %e, "could not mark the payroll run failed");
        }
    }
}

/// Quality scores (hundredths) for the period, by agent, from the period's quality facts
/// (`quality.toml` weights); an agent without any facts has no score.
fn quality_scores(rules: &Ruleset, agg: &aggregate::Aggregate) -> BTreeMap<String, u32> {
    agg.quality
        .iter()
        .filter_map(|(agent, facts)| {
            crate::quality::score::score(&rules.quality.weights, facts)
                .score_x100
                .map(|s| (agent.clone(), s))
        })
        .collect()
}

fn try_compute(
    conn: &mut DbConn,
    run_id: &str,
    rules: &Ruleset,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let run = store::run(conn, run_id)?.ok_or(AppError::NotFound)?;
    let window = Window {
        from: run.starts_at,
        to: run.ends_at,
    };
    let agg = aggregate::load(conn, rules, window, run_id)?;
    let quality = quality_scores(rules, &agg);
    let agents = agg.agents();
    let total = i32::try_from(agents.len()).unwrap_or(i32::MAX);
    store::set_progress(conn, run_id, 0, total)?;
    let mut slips: BTreeMap<String, (Payslip, aggregate::AgentInfo)> = BTreeMap::new();
    for (i, agent) in agents.iter().enumerate() {
        let score = quality.get(agent).copied();
        let workload = aggregate::workload(&agg, rules, agent, score);
        let slip = payslip(&rules.pay, &workload);
        let info = aggregate::AgentInfo {
            score,
            level: aggregate::level_of(&agg, agent),
            level_multiplier_bp: workload.level_multiplier_bp,
        };
        slips.insert(agent.clone(), (slip, info));
        if (i + 1) % PROGRESS_EVERY == 0 {
            store::set_progress(conn, run_id, i32::try_from(i + 1).unwrap_or(total), total)?;
        }
    }
    let (lines, payslips) = rows(run_id, &agg, &slips);
    let total_fen = payslips.iter().map(|p| p.total_fen).sum();
    let summary = summarize(conn, &agg, &slips)?;
    let summary = serde_json::to_string(&summary).map_err(AppError::internal)?;
    let adjustments: Vec<String> = agg
        .adjustments
        .values()
        .flatten()
        .map(|(id, _)| id.clone())
        .collect();
    let written = write_transaction(conn, |conn| {
        store::write_computed(
            conn,
            run_id,
            &Computed {
                lines: &lines,
                payslips: &payslips,
                total_fen,
                summary: &summary,
                ruleset_version: &rules.version,
                adjustments: &adjustments,
            },
            now,
        )
    })?;
    if !written {
        tracing::warn!(
            run = run_id,
            "payroll run left computing meanwhile; not written"
        );
    }
    Ok(())
}

/// The rows to store: every line with the counts it came from, and one payslip per agent.
pub(crate) fn rows(
    run_id: &str,
    agg: &Aggregate,
    slips: &BTreeMap<String, (Payslip, aggregate::AgentInfo)>,
) -> (Vec<NewLine>, Vec<NewPayslip>) {
    let mut lines = Vec::new();
    let mut payslips = Vec::new();
    for (agent, (slip, info)) in slips {
        let mut adjustments = agg.adjustments.get(agent).into_iter().flatten();
        for (position, line) in slip.lines.iter().enumerate() {
            let adjustment = if line.kind == LineKind::Adjustment {
                adjustments.next().map(|(id, _)| id.as_str())
            } else {
                None
            };
            lines.push(NewLine {
                id: new_id(),
                run_id: run_id.to_owned(),
                agent_id: agent.clone(),
                position: i32::try_from(position).unwrap_or(i32::MAX),
                kind: line.kind.as_str().to_owned(),
                skill: line.skill.clone(),
                chat_kind: line.chat_kind.clone(),
                units: line.units,
                rate_millifen: line.rate_millifen,
                multiplier_bp: i32::try_from(line.multiplier_bp).unwrap_or(i32::MAX),
                amount_fen: line.amount_fen,
                note: line.note.clone(),
                sources: sources(agg, agent, line, info, adjustment).to_string(),
            });
        }
        let minutes = agg
            .minutes
            .iter()
            .filter(|m| &m.agent_id == agent)
            .map(|m| m.minutes)
            .sum();
        let chats = agg
            .chats
            .iter()
            .filter(|((a, _), _)| a == agent)
            .flat_map(|(_, kinds)| kinds.values())
            .sum();
        payslips.push(NewPayslip {
            run_id: run_id.to_owned(),
            agent_id: agent.clone(),
            total_fen: slip.total_fen,
            quality_score_x100: info.score.and_then(|s| i32::try_from(s).ok()),
            quality_multiplier_bp: i32::try_from(slip.quality_multiplier_bp).unwrap_or(i32::MAX),
            level: info.level,
            level_multiplier_bp: i32::try_from(info.level_multiplier_bp).unwrap_or(i32::MAX),
            minutes,
            chats,
        });
    }
    (lines, payslips)
}

/// The counts a line came from, as the agent's payslip shows them.
fn sources(
    agg: &Aggregate,
    agent: &str,
    line: &PayLine,
    info: &aggregate::AgentInfo,
    adjustment: Option<&str>,
) -> serde_json::Value {
    let skill = line.skill.clone().unwrap_or_default();
    let key = (agent.to_owned(), skill.clone());
    match line.kind {
        LineKind::Time => {
            let (shifts, minutes) = agg
                .minutes
                .iter()
                .filter(|m| m.agent_id == agent && m.skill == skill)
                .fold((0, 0), |(s, n), m| (s + m.shifts, n + m.minutes));
            serde_json::json!({ "shifts_checked_in": shifts, "minutes": minutes })
        }
        LineKind::Piece => serde_json::json!({
            "chats_closed": line.units,
            "chat_kind": line.chat_kind,
            "quality_score_x100": info.score,
        }),
        LineKind::Concurrency => serde_json::json!({
            "chats_taken_while_holding_another": agg.extra_concurrent.get(&key).copied().unwrap_or(0),
            "quality_score_x100": info.score,
        }),
        LineKind::PeakBonus => serde_json::json!({
            "peak_minutes": agg.peak_minutes.get(&key).copied().unwrap_or(0),
        }),
        LineKind::UrgentBonus => serde_json::json!({
            "urgent_shifts_worked": line.units,
            "bonus_fen_each": line.rate_millifen / 1_000,
        }),
        LineKind::Level => serde_json::json!({
            "level": info.level,
            "level_multiplier_bp": info.level_multiplier_bp,
            "subtotal_fen": line.units,
        }),
        LineKind::NoShow => serde_json::json!({ "no_shows": line.units }),
        LineKind::Adjustment => serde_json::json!({ "adjustment_id": adjustment }),
    }
}

/// One row of a run's totals: what the platform pays agents and what shops paid for the
/// seat time those agents worked (the booking's price per seat hour × the hours worked on
/// it), and the difference, the margin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// The skill id, or the shop's id.
    pub key: String,
    pub minutes: i64,
    pub pay_fen: i64,
    pub shop_paid_fen: i64,
    pub margin_fen: i64,
}

/// A run's totals per skill and per shop. Lines of a skill (time, chats, peak) are shared
/// out to shops by the minutes the agent worked on each shop's bookings of that skill;
/// lines of no skill (urgent bonuses, level, no-shows, adjustments) and chat pay without
/// any minutes worked are `unallocated_fen`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    pub skills: Vec<Totals>,
    pub shops: Vec<Totals>,
    pub unallocated_fen: i64,
}

fn summarize(
    conn: &mut DbConn,
    agg: &Aggregate,
    slips: &BTreeMap<String, (Payslip, aggregate::AgentInfo)>,
) -> diesel::QueryResult<Summary> {
    let mut booking_ids: Vec<String> = agg.minutes.iter().map(|m| m.booking_id.clone()).collect();
    booking_ids.sort();
    booking_ids.dedup();
    let bookings: BTreeMap<String, (String, i64, i64)> = store::bookings_of(conn, &booking_ids)?
        .into_iter()
        .map(|(id, merchant, total, hours)| (id, (merchant, total, hours)))
        .collect();
    Ok(summarize_with(agg, slips, &bookings))
}

/// [`Summary`] from the aggregate, the payslips and each booking's (shop, price in fen,
/// seat hours).
fn summarize_with(
    agg: &Aggregate,
    slips: &BTreeMap<String, (Payslip, aggregate::AgentInfo)>,
    bookings: &BTreeMap<String, (String, i64, i64)>,
) -> Summary {
    let paid = |booking: &str, minutes: i64| -> i64 {
        bookings.get(booking).map_or(0, |(_, total, hours)| {
            if *hours <= 0 {
                0
            } else {
                i64::try_from(i128::from(*total) * i128::from(minutes) / (i128::from(*hours) * 60))
                    .unwrap_or(0)
            }
        })
    };
    let merchant = |booking: &str| bookings.get(booking).map(|b| b.0.clone());
    let mut skills: BTreeMap<String, Totals> = BTreeMap::new();
    let mut shops: BTreeMap<String, Totals> = BTreeMap::new();
    let mut unallocated = 0;
    for m in &agg.minutes {
        let shop_paid = paid(&m.booking_id, m.minutes);
        let s = skills.entry(m.skill.clone()).or_default();
        s.minutes += m.minutes;
        s.shop_paid_fen += shop_paid;
        if let Some(merchant) = merchant(&m.booking_id) {
            let t = shops.entry(merchant).or_default();
            t.minutes += m.minutes;
            t.shop_paid_fen += shop_paid;
        }
    }
    for (agent, (slip, _)) in slips {
        let mut by_skill: BTreeMap<&str, i64> = BTreeMap::new();
        for line in &slip.lines {
            match &line.skill {
                Some(skill) => *by_skill.entry(skill).or_default() += line.amount_fen,
                None => unallocated += line.amount_fen,
            }
        }
        for (skill, amount) in by_skill {
            skills.entry(skill.to_owned()).or_default().pay_fen += amount;
            let worked: Vec<_> = agg
                .minutes_of(agent)
                .iter()
                .filter(|m| m.skill == skill && m.minutes > 0)
                .collect();
            let all: i64 = worked.iter().map(|m| m.minutes).sum();
            let mut shared = 0;
            for m in worked {
                if let Some(merchant) = merchant(&m.booking_id) {
                    let part =
                        i64::try_from(i128::from(amount) * i128::from(m.minutes) / i128::from(all))
                            .unwrap_or(0);
                    shops.entry(merchant).or_default().pay_fen += part;
                    shared += part;
                }
            }
            unallocated += amount - shared;
        }
    }
    let finish = |map: BTreeMap<String, Totals>| -> Vec<Totals> {
        map.into_iter()
            .map(|(key, t)| Totals {
                key,
                margin_fen: t.shop_paid_fen - t.pay_fen,
                ..t
            })
            .collect()
    };
    Summary {
        skills: finish(skills),
        shops: finish(shops),
        unallocated_fen: unallocated,
    }
}

/// Loads a run for a change, refusing locked ones.
fn changeable(conn: &mut DbConn, run_id: &str) -> Result<RunRow, AppError> {
    let run = store::lock_run(conn, run_id)?.ok_or(AppError::NotFound)?;
    if LOCKED.contains(&run.status.as_str()) {
        return Err(AppError::conflict(
            "run_locked",
            "this run is approved: nothing of it changes; corrections go into a later run",
        ));
    }
    Ok(run)
}

/// An admin's payroll action in the audit log.
pub(super) fn record(
    conn: &mut DbConn,
    admin: &AccountId,
    action: &str,
    target: (&str, &str),
    details: serde_json::Value,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    audit::record(
        conn,
        AuditEntry {
            actor: Some(admin),
            action,
            target_type: target.0,
            target_id: Some(target.1),
            details,
        },
        now,
    )
}

/// Why a run found `computing` at start-up is marked failed.
pub const INTERRUPTED: &str =
    "the computation was interrupted (the service stopped while it ran); recompute the run";

/// At start-up: runs left `computing` by a process that died mid-run never finish, so they
/// are marked `failed` with [`INTERRUPTED`] (an admin recomputes them). Assumes no other
/// instance is computing a run at this moment: if one is, its result is not written (the
/// run is no longer computing) and the run is recomputed.
pub fn fail_interrupted_runs(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    let ids = write_transaction(conn, |conn| store::fail_stuck_runs(conn, INTERRUPTED))?;
    for id in &ids {
        tracing::warn!(run = %id, "payroll run was left computing; marked failed");
    }
    Ok(ids)
}

/// Puts a draft (or a failed run) back to `computing`; the caller starts [`compute`]. Same
/// inputs, same lines. A failed run is refused while another run (not failed) now covers
/// part of its period.
pub fn recompute(
    conn: &mut DbConn,
    admin: &AccountId,
    run_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        store::lock_runs(conn)?;
        let run = changeable(conn, run_id)?;
        if run.status == "failed"
            && let Some(other) = store::overlapping(conn, run.period_from, run.period_to)?
        {
            return Err(AppError::conflict(
                "run_overlaps",
                format!("run {other} now covers part of this period"),
            ));
        }
        let from = run.status.as_str();
        if !["draft", "failed"].contains(&from)
            || !store::move_run(conn, run_id, from, "computing")?
        {
            return Err(AppError::conflict(
                "not_draft",
                format!(
                    "only a draft or a failed run is recomputed; this run is {}",
                    run.status
                ),
            ));
        }
        record(
            conn,
            admin,
            "payroll.run_recomputed",
            ("payroll_run", run_id),
            serde_json::json!({ "was": from }),
            now,
        )?;
        Ok(())
    })
}

/// The dispute window asked for (hours), or the default; 1 to 720 hours.
pub fn dispute_window(hours: Option<u32>) -> Result<u32, AppError> {
    let hours = hours.unwrap_or(DEFAULT_DISPUTE_HOURS);
    if (1..=720).contains(&hours) {
        Ok(hours)
    } else {
        Err(window_out_of_range())
    }
}

pub fn window_out_of_range() -> AppError {
    AppError::field(
        "dispute_window_hours",
        "out_of_range",
        "the dispute window is 1 to 720 hours",
    )
}

/// Publishes a draft: agents see it and may dispute lines until `now + hours`; each agent
/// is mailed their draft payslip.
pub fn publish(
    conn: &mut DbConn,
    admin: &AccountId,
    run_id: &str,
    hours: u32,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<RunRow, AppError> {
    write_transaction(conn, |conn| {
        let run = changeable(conn, run_id)?;
        let until = now + Duration::hours(i64::from(hours));
        if run.status != "draft" || !store::publish(conn, run_id, admin.as_str(), until, now)? {
            return Err(AppError::conflict(
                "not_draft",
                format!("only a draft is published; this run is {}", run.status),
            ));
        }
        let run = store::run(conn, run_id)?.ok_or(AppError::NotFound)?;
        mail_payslips(conn, &run, false, public_url, now)?;
        record(
            conn,
            admin,
            "payroll.run_published",
            ("payroll_run", run_id),
            serde_json::json!({ "dispute_until": until }),
            now,
        )?;
        Ok(run)
    })
}

/// Approves a published run with no open dispute: locked from now on; each agent is mailed
/// their payslip.
pub fn approve(
    conn: &mut DbConn,
    admin: &AccountId,
    run_id: &str,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<RunRow, AppError> {
    write_transaction(conn, |conn| {
        let run = store::lock_run(conn, run_id)?.ok_or(AppError::NotFound)?;
        if LOCKED.contains(&run.status.as_str()) {
            return Err(AppError::conflict(
                "already_approved",
                "this run is approved already",
            ));
        }
        if run.status != "published" {
            return Err(AppError::conflict(
                "not_published",
                format!("publish the run before approving it; it is {}", run.status),
            ));
        }
        let open = store::open_disputes(conn, run_id)?;
        if open > 0 {
            return Err(AppError::conflict(
                "disputes_open",
                format!("{open} disputes of this run are still open"),
            ));
        }
        if !store::approve(conn, run_id, admin.as_str(), now)? {
            return Err(AppError::conflict(
                "already_approved",
                "this run changed meanwhile",
            ));
        }
        let run = store::run(conn, run_id)?.ok_or(AppError::NotFound)?;
        mail_payslips(conn, &run, true, public_url, now)?;
        record(
            conn,
            admin,
            "payroll.run_approved",
            ("payroll_run", run_id),
            serde_json::json!({ "total_fen": run.total_fen }),
            now,
        )?;
        Ok(run)
    })
}

pub fn mark_paid(
    conn: &mut DbConn,
    admin: &AccountId,
    run_id: &str,
    reference: &str,
    now: NaiveDateTime,
) -> Result<RunRow, AppError> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(AppError::field(
            "reference",
            "required",
            "the payout reference (1-200 characters) is required",
        ));
    }
    write_transaction(conn, |conn| {
        let run = store::lock_run(conn, run_id)?.ok_or(AppError::NotFound)?;
        if !store::mark_paid(conn, run_id, admin.as_str(), reference, now)? {
            let code = if run.status == "paid" {
                "already_paid"
            } else {
                "not_approved"
            };
            return Err(AppError::conflict(
                code,
                format!(
                    "only an approved run is marked paid; this run is {}",
                    run.status
                ),
            ));
        }
        record(
            conn,
            admin,
            "payroll.run_paid",
            ("payroll_run", run_id),
            serde_json::json!({ "reference": reference }),
            now,
        )?;
        store::run(conn, run_id)?.ok_or(AppError::NotFound)
    })
}

fn mail_payslips(
    conn: &mut DbConn,
    run: &RunRow,
    approved: bool,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for (slip, email, name, locale) in store::payees(conn, &run.id)? {
        let lines = store::lines(conn, &run.id, &slip.agent_id)?;
        let mail = PayslipMail {
            period: format!("{} – {}", run.period_from, run.period_to),
            total: format!("¥{}", plain_yuan(slip.total_fen)),
            lines: lines.iter().map(line_text).collect(),
            dispute_until: (!approved)
                .then(|| run.dispute_until.map(|t| format!("{t} UTC")))
                .flatten(),
            link: format!("{public_url}/api/agents/me/payslips/{}", run.id),
        };
        let kind = if approved {
            MailKind::PayslipApproved(mail)
        } else {
            MailKind::PayslipDraft(mail)
        };
        let locale = Locale::parse(&locale).unwrap_or(Locale::En);
        let mut out = render(&email, &name, locale, &kind).map_err(AppError::Internal)?;
        if approved {
            out = out.with_attachment(crate::mail::Attachment {
                filename: format!("payslip-{}.csv", run.period_from),
                content_type: "text/csv; charset=UTF-8".into(),
                content: payslip_csv(&lines).map_err(AppError::Internal)?,
            });
        }
        crate::mail::outbox::enqueue(conn, &out, now)?;
    }
    store::mark_mailed(conn, &run.id, now)?;
    Ok(())
}

/// One line as the mail and CSV say it: *units × rate × multiplier = amount*.
pub fn line_text(l: &store::LineRow) -> String {
    let what = match (&l.skill, &l.chat_kind) {
        (Some(s), Some(k)) => format!("{} {s} {k}", l.kind),
        (Some(s), None) => format!("{} {s}", l.kind),
        _ => l.kind.clone(),
    };
    format!(
        "{what}: {} × ¥{:.3} × {}.{:04} = ¥{}",
        l.units,
        l.rate_millifen as f64 / 100_000.0,
        l.multiplier_bp / 10_000,
        l.multiplier_bp % 10_000,
        plain_yuan(l.amount_fen)
    )
}

/// Fen as yuan with two decimals, no grouping: `99600` → `996.00`, `-5` → `-0.05`.
pub fn plain_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// An agent's payslip as CSV: one row per line.
pub fn payslip_csv(lines: &[store::LineRow]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "position",
        "kind",
        "skill",
        "chat_kind",
        "units",
        "rate_yuan",
        "multiplier",
        "amount_yuan",
        "note",
    ])?;
    for l in lines {
        w.write_record([
            l.position.to_string(),
            l.kind.clone(),
            l.skill.clone().unwrap_or_default(),
            l.chat_kind.clone().unwrap_or_default(),
            l.units.to_string(),
            format!("{:.5}", l.rate_millifen as f64 / 100_000.0),
            format!(
                "{}.{:04}",
                l.multiplier_bp / 10_000,
                l.multiplier_bp % 10_000
            ),
            plain_yuan(l.amount_fen),
            l.note.clone().unwrap_or_default(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The bank transfer file of an approved (or paid) run: agent, payee name, amount in yuan,
/// reference.
pub fn bank_file(conn: &mut DbConn, run_id: &str) -> Result<String, AppError> {
    let run = store::run(conn, run_id)?.ok_or(AppError::NotFound)?;
    if !LOCKED.contains(&run.status.as_str()) {
        return Err(AppError::conflict(
            "not_approved",
            "the bank file is for approved runs",
        ));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let build = |w: &mut csv::Writer<Vec<u8>>, conn: &mut DbConn| -> anyhow::Result<()> {
        w.write_record(["agent_id", "payee_name", "amount_yuan", "reference"])?;
        for (slip, _, name, _) in store::payees(conn, run_id)? {
            if slip.total_fen <= 0 {
                continue;
            }
            w.write_record([
                slip.agent_id.clone(),
                name,
                plain_yuan(slip.total_fen),
                format!(
                    "payroll {} {}",
                    run.period_from,
                    &run.id[..8.min(run.id.len())]
                ),
            ])?;
        }
        Ok(())
    };
    build(&mut w, conn).map_err(AppError::Internal)?;
    let bytes = w.into_inner().map_err(|e| AppError::Internal(e.into()))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()))
}

/// An agent disputes one line of their payslip in a published run, within the window.
pub fn dispute(
    conn: &mut DbConn,
    agent: &AccountId,
    run_id: &str,
    line_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2_000 {
        return Err(AppError::field(
            "reason",
            "required",
            "say why (1-2000 characters)",
        ));
    }
    write_transaction(conn, |conn| {
        let run = store::lock_run(conn, run_id)?
            .filter(|r| store::VISIBLE.contains(&r.status.as_str()))
            .ok_or(AppError::NotFound)?;
        // A run without a payslip of theirs does not exist for them.
        store::payslip(conn, run_id, agent.as_str())?.ok_or(AppError::NotFound)?;
        let line = store::line(conn, line_id)?
            .filter(|l| l.run_id == run.id && l.agent_id == agent.as_str())
            .ok_or_else(|| {
                AppError::field("line", "unknown_line", "no such line on your payslip")
            })?;
        if run.status != "published" || run.dispute_until.is_none_or(|until| now > until) {
            return Err(AppError::conflict(
                "dispute_window_closed",
                "disputes are taken only while the run is published, within its window",
            ));
        }
        if store::dispute_of_line(conn, line_id)?.is_some() {
            return Err(AppError::conflict(
                "already_disputed",
                "this line was disputed already",
            ));
        }
        Ok(store::insert_dispute(conn, &line, reason, now)?)
    })
}

/// How an admin settles a dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The line becomes `amount_fen` (in a run not yet approved), or the difference is
    /// carried into the agent's next run (after approval).
    Accept {
        amount_fen: i64,
        answer: Option<String>,
    },
    Reject {
        answer: String,
    },
}

pub fn resolve(
    conn: &mut DbConn,
    admin: &AccountId,
    dispute_id: &str,
    resolution: &Resolution,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let dispute = store::dispute(conn, dispute_id)?.ok_or(AppError::NotFound)?;
        changeable(conn, &dispute.run_id)?;
        if dispute.status != "open" {
            return Err(AppError::conflict(
                "dispute_resolved",
                "this dispute was resolved already",
            ));
        }
        let line = store::line(conn, &dispute.line_id)?.ok_or(AppError::NotFound)?;
        let (status, answer, adjusted) = match resolution {
            Resolution::Accept { amount_fen, answer } => {
                let note = format!(
                    "dispute accepted: was ¥{}{}",
                    plain_yuan(line.amount_fen),
                    answer
                        .as_deref()
                        .map(|a| format!("; {a}"))
                        .unwrap_or_default()
                );
                store::change_line(conn, &line, *amount_fen, &note)?;
                ("accepted", answer.as_deref(), Some(*amount_fen))
            }
            Resolution::Reject { answer } => ("rejected", Some(answer.as_str()), None),
        };
        if !store::resolve_dispute(
            conn,
            dispute_id,
            status,
            answer,
            adjusted,
            admin.as_str(),
            now,
        )? {
            return Err(AppError::conflict(
                "dispute_resolved",
                "this dispute was resolved already",
            ));
        }
        record(
            conn,
            admin,
            "payroll.dispute_resolved",
            ("pay_dispute", dispute_id),
            serde_json::json!({
                "status": status,
                "answer": answer,
                "adjusted_fen": adjusted,
                "was_fen": line.amount_fen,
            }),
            now,
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::payroll::aggregate::{AgentInfo, MinutesRow};
    use crate::payroll::plan::PayPlan;

    fn minutes(agent: &str, skill: &str, booking: &str, minutes: i64) -> MinutesRow {
        MinutesRow {
            agent_id: agent.into(),
            skill: skill.into(),
            booking_id: booking.into(),
            minutes,
            shifts: 1,
        }
    }

    /// Pay of a skill goes to shops by the minutes worked on their bookings; what a shop
    /// paid is its booking's price per seat hour × the hours worked on it.
    #[test]
    fn totals_share_pay_out_to_shops_by_minutes_and_show_the_margin() {
        let agg = Aggregate {
            minutes: vec![
                minutes("a", "general", "b1", 90),
                minutes("a", "general", "b2", 30),
            ],
            ..Aggregate::default()
        };
        let workload = super::super::pay::Workload {
            work: vec![super::super::pay::SkillWork {
                skill: "general".into(),
                hourly_base_fen: 2400,
                minutes: 120,
                ..Default::default()
            }],
            urgent_bonuses_fen: vec![500],
            ..Default::default()
        };
        let slip = payslip(&PayPlan::default(), &workload);
        assert_eq!(slip.total_fen, 3_360 + 500); // 2 h × ¥16.80, and the bonus
        let info = AgentInfo {
            score: None,
            level: 1,
            level_multiplier_bp: 10_000,
        };
        let slips = BTreeMap::from([("a".to_owned(), (slip, info))]);
        // Shop 1: ¥35.00 a seat hour (¥140.00 for 4 h); shop 2: ¥30.00 (¥60.00 for 2 h).
        let bookings = BTreeMap::from([
            ("b1".to_owned(), ("s1".to_owned(), 14_000, 4)),
            ("b2".to_owned(), ("s2".to_owned(), 6_000, 2)),
        ]);
        let summary = summarize_with(&agg, &slips, &bookings);
        let row = |t: &Totals| {
            (
                t.key.clone(),
                t.minutes,
                t.pay_fen,
                t.shop_paid_fen,
                t.margin_fen,
            )
        };
        assert_eq!(
            summary.skills.iter().map(row).collect::<Vec<_>>(),
            [(
                "general".to_owned(),
                120,
                3_360,
                5_250 + 1_500,
                6_750 - 3_360
            )]
        );
        assert_eq!(
            summary.shops.iter().map(row).collect::<Vec<_>>(),
            [
                ("s1".to_owned(), 90, 2_520, 5_250, 2_730),
                ("s2".to_owned(), 30, 840, 1_500, 660),
            ]
        );
        assert_eq!(summary.unallocated_fen, 500);
    }

    #[test]
    fn yuan_has_two_decimals_and_no_grouping() {
        assert_eq!(plain_yuan(99_600), "996.00");
        assert_eq!(plain_yuan(123_456_789), "1234567.89");
        assert_eq!(plain_yuan(-5), "-0.05");
        assert_eq!(plain_yuan(0), "0.00");
    }
}
