//! Payroll runs, their lines and payslips, disputes and adjustments in the database. Every
//! function takes the caller's connection; the use cases in [`super::service`] decide the
//! transactions.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    accounts, bookings, pay_adjustments, pay_disputes, pay_lines, payroll_runs, payslips,
};
use crate::db::{DbConn, new_id};

/// Statuses after which nothing of a run changes.
pub const LOCKED: [&str; 2] = ["approved", "paid"];
/// Statuses an agent sees their payslip in.
pub const VISIBLE: [&str; 3] = ["published", "approved", "paid"];

const CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payroll_runs)]
pub struct RunRow {
    pub id: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: String,
    pub ruleset_version: String,
    pub total_fen: i64,
    pub agent_count: i32,
    pub progress_done: i32,
    pub progress_total: i32,
    pub summary: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub computed_at: Option<NaiveDateTime>,
    pub published_by: Option<String>,
    pub published_at: Option<NaiveDateTime>,
    pub dispute_until: Option<NaiveDateTime>,
    pub approved_by: Option<String>,
    pub approved_at: Option<NaiveDateTime>,
    pub paid_by: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub payout_reference: Option<String>,
    pub error: Option<String>,
}

pub struct NewRun<'a> {
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub ruleset_version: &'a str,
    pub created_by: &'a str,
}

/// Serialises run creation: on PostgreSQL a table lock that two creating transactions
/// cannot both hold (readers are not blocked); SQLite's write transaction already holds the
/// database's single write lock.
pub fn lock_runs(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(_) = conn {
        diesel::sql_query("LOCK TABLE payroll_runs IN SHARE ROW EXCLUSIVE MODE").execute(conn)?;
    }
    Ok(())
}

/// A non-failed run whose period shares a day with `from..=to`.
pub fn overlapping(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Option<String>> {
    payroll_runs::table
        .filter(payroll_runs::status.ne("failed"))
        .filter(payroll_runs::period_from.le(to))
        .filter(payroll_runs::period_to.ge(from))
        .select(payroll_runs::id)
        .first(conn)
        .optional()
}

pub fn insert_run(conn: &mut DbConn, run: &NewRun<'_>, now: NaiveDateTime) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(payroll_runs::table)
        .values((
            payroll_runs::id.eq(&id),
            payroll_runs::period_from.eq(run.period_from),
            payroll_runs::period_to.eq(run.period_to),
            payroll_runs::starts_at.eq(run.starts_at),
            payroll_runs::ends_at.eq(run.ends_at),
            payroll_runs::status.eq("computing"),
            payroll_runs::ruleset_version.eq(run.ruleset_version),
            payroll_runs::created_by.eq(run.created_by),
            payroll_runs::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn run(conn: &mut DbConn, id: &str) -> QueryResult<Option<RunRow>> {
    payroll_runs::table
        .find(id)
        .select(RunRow::as_select())
        .first(conn)
        .optional()
}

/// The run, locked for the rest of the transaction on PostgreSQL.
pub fn lock_run(conn: &mut DbConn, id: &str) -> QueryResult<Option<RunRow>> {
    match conn {
        DbConn::Pg(c) => payroll_runs::table
            .find(id)
            .select(RunRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => run(conn, id),
    }
}

/// Newest first.
pub fn runs(conn: &mut DbConn, before: Option<&str>, limit: i64) -> QueryResult<Vec<RunRow>> {
    let mut q = payroll_runs::table
        .select(RunRow::as_select())
        .order(payroll_runs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(payroll_runs::id.lt(before.to_owned()));
    }
    q.load(conn)
}

/// The latest non-failed run of an earlier period.
pub fn previous_run(conn: &mut DbConn, of: &RunRow) -> QueryResult<Option<RunRow>> {
    payroll_runs::table
        .filter(payroll_runs::status.ne("failed"))
        .filter(payroll_runs::status.ne("computing"))
        .filter(payroll_runs::period_to.lt(of.period_from))
        .order(payroll_runs::period_to.desc())
        .select(RunRow::as_select())
        .first(conn)
        .optional()
}

pub fn set_progress(conn: &mut DbConn, id: &str, done: i32, total: i32) -> QueryResult<()> {
    diesel::update(payroll_runs::table.find(id))
        .set((
            payroll_runs::progress_done.eq(done),
            payroll_runs::progress_total.eq(total),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves a run from `from` to `to`; false when it was not in `from` (someone else moved it).
pub fn move_run(conn: &mut DbConn, id: &str, from: &str, to: &str) -> QueryResult<bool> {
    Ok(diesel::update(
        payroll_runs::table
            .find(id)
            .filter(payroll_runs::status.eq(from)),
    )
    .set(payroll_runs::status.eq(to))
    .execute(conn)?
        == 1)
}

/// Marks a computing run `failed`; the adjustments it had taken (from an earlier
/// computation, before a recompute) are pending again, so a later run carries them.
pub fn fail_run(conn: &mut DbConn, id: &str, error: &str) -> QueryResult<()> {
    let failed = diesel::update(
        payroll_runs::table
            .find(id)
            .filter(payroll_runs::status.eq("computing")),
    )
    .set((
        payroll_runs::status.eq("failed"),
        payroll_runs::error.eq(error),
    ))
    .execute(conn)?;
    if failed == 1 {
        diesel::update(pay_adjustments::table.filter(pay_adjustments::applied_run_id.eq(id)))
            .set(pay_adjustments::applied_run_id.eq(None::<String>))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pay_lines)]
pub struct NewLine {
    pub id: String,
    pub run_id: String,
    pub agent_id: String,
    pub position: i32,
    pub kind: String,
    pub skill: Option<String>,
    pub chat_kind: Option<String>,
    pub units: i64,
    pub rate_millifen: i64,
    pub multiplier_bp: i32,
    pub amount_fen: i64,
    pub note: Option<String>,
    pub sources: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payslips)]
pub struct NewPayslip {
    pub run_id: String,
    pub agent_id: String,
    pub total_fen: i64,
    pub quality_score_x100: Option<i32>,
    pub quality_multiplier_bp: i32,
    pub level: i32,
    pub level_multiplier_bp: i32,
    pub minutes: i64,
    pub chats: i64,
}

/// A computed run: replaces whatever lines and payslips the run had.
pub struct Computed<'a> {
    pub lines: &'a [NewLine],
    pub payslips: &'a [NewPayslip],
    pub total_fen: i64,
    pub summary: &'a str,
    pub ruleset_version: &'a str,
    pub adjustments: &'a [String],
}

/// Writes a computed run and flips it from `computing` to `draft`; false (nothing
/// written) when the run is no longer computing.
pub fn write_computed(
    conn: &mut DbConn,
    run_id: &str,
    c: &Computed<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let count = i32::try_from(c.payslips.len()).unwrap_or(i32::MAX);
    let flipped = diesel::update(
        payroll_runs::table
            .find(run_id)
            .filter(payroll_runs::status.eq("computing")),
    )
    .set((
        payroll_runs::status.eq("draft"),
        payroll_runs::total_fen.eq(c.total_fen),
        payroll_runs::agent_count.eq(count),
        payroll_runs::progress_done.eq(count),
        payroll_runs::progress_total.eq(count),
        payroll_runs::summary.eq(c.summary),
        payroll_runs::ruleset_version.eq(c.ruleset_version),
        payroll_runs::computed_at.eq(now),
        payroll_runs::error.eq(None::<String>),
    ))
    .execute(conn)?;
    if flipped != 1 {
        return Ok(false);
    }
    diesel::delete(pay_lines::table.filter(pay_lines::run_id.eq(run_id))).execute(conn)?;
    diesel::delete(payslips::table.filter(payslips::run_id.eq(run_id))).execute(conn)?;
    for chunk in c.lines.chunks(CHUNK) {
        match conn {
            DbConn::Pg(pg) => diesel::insert_into(pay_lines::table)
                .values(chunk)
                .execute(pg)?,
            DbConn::Sqlite(lite) => diesel::insert_into(pay_lines::table)
                .values(chunk)
                .execute(lite)?,
        };
    }
    for chunk in c.payslips.chunks(CHUNK) {
        match conn {
            DbConn::Pg(pg) => diesel::insert_into(payslips::table)
                .values(chunk)
                .execute(pg)?,
            DbConn::Sqlite(lite) => diesel::insert_into(payslips::table)
                .values(chunk)
                .execute(lite)?,
        };
    }
    diesel::update(pay_adjustments::table.filter(pay_adjustments::applied_run_id.eq(run_id)))
        .set(pay_adjustments::applied_run_id.eq(None::<String>))
        .execute(conn)?;
    for chunk in c.adjustments.chunks(CHUNK) {
        diesel::update(pay_adjustments::table.filter(pay_adjustments::id.eq_any(chunk)))
            .set(pay_adjustments::applied_run_id.eq(run_id))
            .execute(conn)?;
    }
    Ok(true)
}

/// (booking id, merchant, what the booking cost, its seat hours) for `ids`.
pub fn bookings_of(
    conn: &mut DbConn,
    ids: &[String],
) -> QueryResult<Vec<(String, String, i64, i64)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            bookings::table
                .filter(bookings::id.eq_any(chunk))
                .select((
                    bookings::id,
                    bookings::merchant_id,
                    bookings::total_fen,
                    bookings::seat_hours,
                ))
                .load::<(String, String, i64, i64)>(conn)?,
        );
    }
    Ok(out)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payslips)]
pub struct PayslipRow {
    pub run_id: String,
    pub agent_id: String,
    pub total_fen: i64,
    pub quality_score_x100: Option<i32>,
    pub quality_multiplier_bp: i32,
    pub level: i32,
    pub level_multiplier_bp: i32,
    pub minutes: i64,
    pub chats: i64,
    pub mailed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pay_lines)]
pub struct LineRow {
    pub id: String,
    pub run_id: String,
    pub agent_id: String,
    pub position: i32,
    pub kind: String,
    pub skill: Option<String>,
    pub chat_kind: Option<String>,
    pub units: i64,
    pub rate_millifen: i64,
    pub multiplier_bp: i32,
    pub amount_fen: i64,
    pub note: Option<String>,
    pub sources: String,
}

/// Every payslip of a run with the agent's email, name and locale.
pub fn payees(
    conn: &mut DbConn,
    run_id: &str,
) -> QueryResult<Vec<(PayslipRow, String, String, String)>> {
    payslips::table
        .inner_join(accounts::table.on(accounts::id.eq(payslips::agent_id)))
        .filter(payslips::run_id.eq(run_id))
        .order(payslips::agent_id)
        .select((
            PayslipRow::as_select(),
            accounts::email,
            accounts::display_name,
            accounts::locale,
        ))
        .load(conn)
}

pub fn mark_mailed(conn: &mut DbConn, run_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(payslips::table.filter(payslips::run_id.eq(run_id)))
        .set(payslips::mailed_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn payslip(conn: &mut DbConn, run_id: &str, agent: &str) -> QueryResult<Option<PayslipRow>> {
    payslips::table
        .find((run_id, agent))
        .select(PayslipRow::as_select())
        .first(conn)
        .optional()
}

pub fn lines(conn: &mut DbConn, run_id: &str, agent: &str) -> QueryResult<Vec<LineRow>> {
    pay_lines::table
        .filter(pay_lines::run_id.eq(run_id))
        .filter(pay_lines::agent_id.eq(agent))
        .order(pay_lines::position)
        .select(LineRow::as_select())
        .load(conn)
}

pub fn line(conn: &mut DbConn, id: &str) -> QueryResult<Option<LineRow>> {
    pay_lines::table
        .find(id)
        .select(LineRow::as_select())
        .first(conn)
        .optional()
}

/// An agent's payslips of runs they may see, newest run first, before `before`.
pub fn agent_payslips(
    conn: &mut DbConn,
    agent: &str,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(PayslipRow, RunRow)>> {
    let mut q = payslips::table
        .inner_join(payroll_runs::table)
        .filter(payslips::agent_id.eq(agent))
        .filter(payroll_runs::status.eq_any(VISIBLE))
        .order(payroll_runs::id.desc())
        .select((PayslipRow::as_select(), RunRow::as_select()))
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(payroll_runs::id.lt(before.to_owned()));
    }
    q.load(conn)
}

/// Sets a line's amount and note, and moves the payslip's and run's totals with it.
pub fn change_line(
    conn: &mut DbConn,
    line: &LineRow,
    amount_fen: i64,
    note: &str,
) -> QueryResult<()> {
    let delta = amount_fen - line.amount_fen;
    diesel::update(pay_lines::table.find(&line.id))
        .set((
            pay_lines::amount_fen.eq(amount_fen),
            pay_lines::note.eq(note),
        ))
        .execute(conn)?;
    diesel::update(payslips::table.find((&line.run_id, &line.agent_id)))
        .set(payslips::total_fen.eq(payslips::total_fen + delta))
        .execute(conn)?;
    diesel::update(payroll_runs::table.find(&line.run_id))
        .set(payroll_runs::total_fen.eq(payroll_runs::total_fen + delta))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pay_disputes)]
pub struct DisputeRow {
    pub id: String,
    pub run_id: String,
    pub agent_id: String,
    pub line_id: String,
    pub reason: String,
    pub status: String,
    pub answer: Option<String>,
    pub adjusted_fen: Option<i64>,
    pub created_at: NaiveDateTime,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
}

pub fn dispute_of_line(conn: &mut DbConn, line: &str) -> QueryResult<Option<DisputeRow>> {
    pay_disputes::table
        .filter(pay_disputes::line_id.eq(line))
        .select(DisputeRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_dispute(
    conn: &mut DbConn,
    line: &LineRow,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(pay_disputes::table)
        .values((
            pay_disputes::id.eq(&id),
            pay_disputes::run_id.eq(&line.run_id),
            pay_disputes::agent_id.eq(&line.agent_id),
            pay_disputes::line_id.eq(&line.id),
            pay_disputes::reason.eq(reason),
            pay_disputes::status.eq("open"),
            pay_disputes::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn dispute(conn: &mut DbConn, id: &str) -> QueryResult<Option<DisputeRow>> {
    pay_disputes::table
        .find(id)
        .select(DisputeRow::as_select())
        .first(conn)
        .optional()
}

/// Disputes, newest first, of one run or all, optionally of one status.
pub fn disputes(
    conn: &mut DbConn,
    run_id: Option<&str>,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DisputeRow>> {
    let mut q = pay_disputes::table
        .select(DisputeRow::as_select())
        .order(pay_disputes::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(run_id) = run_id {
        q = q.filter(pay_disputes::run_id.eq(run_id.to_owned()));
    }
    if let Some(status) = status {
        q = q.filter(pay_disputes::status.eq(status.to_owned()));
    }
    if let Some(before) = before {
        q = q.filter(pay_disputes::id.lt(before.to_owned()));
    }
    q.load(conn)
}

pub fn open_disputes(conn: &mut DbConn, run_id: &str) -> QueryResult<i64> {
    pay_disputes::table
        .filter(pay_disputes::run_id.eq(run_id))
        .filter(pay_disputes::status.eq("open"))
        .count()
        .get_result(conn)
}

/// Closes an open dispute; false when it was not open any more.
pub fn resolve_dispute(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    answer: Option<&str>,
    adjusted_fen: Option<i64>,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(
        pay_disputes::table
            .find(id)
            .filter(pay_disputes::status.eq("open")),
    )
    .set((
        pay_disputes::status.eq(status),
        pay_disputes::answer.eq(answer),
        pay_disputes::adjusted_fen.eq(adjusted_fen),
        pay_disputes::resolved_by.eq(by),
        pay_disputes::resolved_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

/// A run's status, set with who and when.
pub fn publish(
    conn: &mut DbConn,
    id: &str,
    by: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(
        payroll_runs::table
            .find(id)
            .filter(payroll_runs::status.eq("draft")),
    )
    .set((
        payroll_runs::status.eq("published"),
        payroll_runs::published_by.eq(by),
        payroll_runs::published_at.eq(now),
        payroll_runs::dispute_until.eq(until),
    ))
    .execute(conn)?
        == 1)
}

pub fn approve(conn: &mut DbConn, id: &str, by: &str, now: NaiveDateTime) -> QueryResult<bool> {
    Ok(diesel::update(
        payroll_runs::table
            .find(id)
            .filter(payroll_runs::status.eq("published")),
    )
    .set((
        payroll_runs::status.eq("approved"),
        payroll_runs::approved_by.eq(by),
        payroll_runs::approved_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

pub fn mark_paid(
    conn: &mut DbConn,
    id: &str,
    by: &str,
    reference: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(
        payroll_runs::table
            .find(id)
            .filter(payroll_runs::status.eq("approved")),
    )
    .set((
        payroll_runs::status.eq("paid"),
        payroll_runs::paid_by.eq(by),
        payroll_runs::paid_at.eq(now),
        payroll_runs::payout_reference.eq(reference),
    ))
    .execute(conn)?
        == 1)
}

/// A correction carried into an agent's next run. It is *pending* while no run has taken
/// it (`applied_run_id` NULL): the next run computed takes every pending adjustment (see
/// [`super::aggregate::load`]) and a run that fails gives its adjustments back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pay_adjustments)]
pub struct AdjustmentRow {
    pub id: String,
    pub agent_id: String,
    pub amount_fen: i64,
    pub reason: String,
    pub from_run_id: Option<String>,
    pub dispute_id: Option<String>,
    pub applied_run_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub struct NewAdjustment<'a> {
    pub agent_id: &'a str,
    pub amount_fen: i64,
    pub reason: &'a str,
    pub from_run_id: Option<&'a str>,
    pub created_by: &'a str,
}

pub fn insert_adjustment(
    conn: &mut DbConn,
    a: &NewAdjustment<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(pay_adjustments::table)
        .values((
            pay_adjustments::id.eq(&id),
            pay_adjustments::agent_id.eq(a.agent_id),
            pay_adjustments::amount_fen.eq(a.amount_fen),
            pay_adjustments::reason.eq(a.reason),
            pay_adjustments::from_run_id.eq(a.from_run_id),
            pay_adjustments::created_by.eq(a.created_by),
            pay_adjustments::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn adjustment(conn: &mut DbConn, id: &str) -> QueryResult<Option<AdjustmentRow>> {
    pay_adjustments::table
        .find(id)
        .select(AdjustmentRow::as_select())
        .first(conn)
        .optional()
}

/// Adjustments, newest first, of one agent or all; `pending` `Some(true)` only those no
/// run has taken yet, `Some(false)` only those a run took.
pub fn adjustments(
    conn: &mut DbConn,
    agent: Option<&str>,
    pending: Option<bool>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AdjustmentRow>> {
    let mut q = pay_adjustments::table
        .select(AdjustmentRow::as_select())
        .order(pay_adjustments::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(agent) = agent {
        q = q.filter(pay_adjustments::agent_id.eq(agent.to_owned()));
    }
    match pending {
        Some(true) => q = q.filter(pay_adjustments::applied_run_id.is_null()),
        Some(false) => q = q.filter(pay_adjustments::applied_run_id.is_not_null()),
        None => {}
    }
    if let Some(before) = before {
        q = q.filter(pay_adjustments::id.lt(before.to_owned()));
    }
    q.load(conn)
}

/// Whether `id` is an agent's account.
pub fn is_agent(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    use crate::db::schema::agents;
    Ok(agents::table
        .find(id)
        .select(agents::account_id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The agent's email, display name and locale, for a mail.
pub fn agent_contact(conn: &mut DbConn, id: &str) -> QueryResult<Option<(String, String, String)>> {
    accounts::table
        .find(id)
        .select((accounts::email, accounts::display_name, accounts::locale))
        .first(conn)
        .optional()
}

/// Marks every run still `computing` as `failed` with `error` (their computation died
/// with the process that ran it) and gives their adjustments back; returns their ids.
pub fn fail_stuck_runs(conn: &mut DbConn, error: &str) -> QueryResult<Vec<String>> {
    let stuck: Vec<String> = payroll_runs::table
        .filter(payroll_runs::status.eq("computing"))
        .select(payroll_runs::id)
        .load(conn)?;
    for id in &stuck {
        fail_run(conn, id, error)?;
    }
    Ok(stuck)
}

/// A run's payslips in agent id order after `after`, each with the agent's display name.
pub fn payslips_with_names(
    conn: &mut DbConn,
    run_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(PayslipRow, String)>> {
    let mut q = payslips::table
        .inner_join(accounts::table.on(accounts::id.eq(payslips::agent_id)))
        .filter(payslips::run_id.eq(run_id))
        .select((PayslipRow::as_select(), accounts::display_name))
        .order(payslips::agent_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(payslips::agent_id.gt(after.to_owned()));
    }
    q.load(conn)
}

/// Shop names by id.
pub fn merchant_names(
    conn: &mut DbConn,
    ids: &[String],
) -> QueryResult<std::collections::BTreeMap<String, String>> {
    use crate::db::schema::merchants;
    let mut out = std::collections::BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            merchants::table
                .filter(merchants::id.eq_any(chunk))
                .select((merchants::id, merchants::name))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The newest approved or paid runs, the ones an adjustment may correct.
pub fn locked_runs(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<RunRow>> {
    payroll_runs::table
        .filter(payroll_runs::status.eq_any(LOCKED))
        .order(payroll_runs::id.desc())
        .limit(limit)
        .select(RunRow::as_select())
        .load(conn)
}
