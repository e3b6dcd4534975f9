//! The talent pool as admins search it: who holds which certification now, who works in
//! which language, who is free on a given weekday and time, and how good their work is.
//!
//! Filtering and sorting happen in the database (keyset pages, so 20,000 agents never load
//! at once); only weekly availability is matched here, by the pure functions below, because
//! each agent's windows are in their own time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone as _, Utc, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::profile::{DAYS, LANGUAGES, WeeklySlot};
use crate::accounts::model::{AccountId, AgentStatus};
use crate::db::DbConn;
use crate::db::schema::{accounts, agents, certifications, trials};
use crate::error::{AppError, FieldErrors, Invalid};
use crate::state::AppState;
use crate::web::api::Page;

// ---------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------

/// The filters of `GET /api/admin/agents` and its CSV export. Every value is optional;
/// empty values count as absent (so a submitted, untouched form filters nothing).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PoolQuery {
    /// A skill id from the seat rules: agents holding a certification for it that has not
    /// expired.
    pub skill: Option<String>,
    /// Lifecycle status: `applicant`, `exam_passed`, `in_trial`, `certified`,
    /// `suspended` or `left`.
    pub status: Option<String>,
    /// A language code (`zh`, `yue`, `en`, `ja`, `ko`, `ru`, `es`, `fr`).
    pub language: Option<String>,
    /// A weekday (`mon` ... `sun`), optionally with a time (`mon 19:30` or `mon@19:30`),
    /// in `tz`: agents whose weekly availability covers that moment (with a day only: who
    /// have any window on that day). Each agent's windows are read in their own time zone.
    pub available: Option<String>,
    /// The IANA time zone `available` is meant in; by default the caller's own.
    pub tz: Option<String>,
    /// 0 to 100: agents whose quality is at least this (agents without a quality yet are
    /// left out).
    #[param(value_type = Option<i32>)]
    pub min_quality: Option<String>,
    /// Part of the name or email address (case-insensitive).
    pub q: Option<String>,
    /// `name` (default), `joined` or `quality`; a leading `-` reverses (`-joined` is the
    /// newest first). Ties are broken by account id, so pages never repeat or skip rows.
    /// Agents without a quality come last either way.
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Joined,
    Quality,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            key: SortKey::Name,
            descending: false,
        }
    }
}

impl Sort {
    pub const ALL: [&'static str; 6] =
        ["name", "-name", "joined", "-joined", "quality", "-quality"];

    pub fn parse(raw: &str) -> Result<Sort, Invalid> {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let key = match name {
            "name" => SortKey::Name,
            "joined" => SortKey::Joined,
            "quality" => SortKey::Quality,
            _ => {
                return Err(Invalid::new(
                    "unknown_value",
                    "sort by name, joined or quality, with a leading - to reverse",
                ));
            }
        };
        Ok(Sort { key, descending })
    }

    pub fn as_param(self) -> String {
        let name = match self.key {
            SortKey::Name => "name",
            SortKey::Joined => "joined",
            SortKey::Quality => "quality",
        };
        if self.descending {
            format!("-{name}")
        } else {
            name.to_owned()
        }
    }
}

/// A weekday, and optionally a minute of that day, as an admin asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// 0 = Monday.
    pub day: usize,
    pub minute: Option<u32>,
}

impl Available {
    /// `mon`, `mon 19:30` or `mon@19:30`.
    pub fn parse(raw: &str) -> Result<Available, Invalid> {
        let bad = || {
            Invalid::new(
                "invalid_value",
                "a weekday (mon ... sun), optionally with a time, e.g. \"mon 19:30\"",
            )
        };
        let raw = raw.trim().to_ascii_lowercase();
        let (day, time) = match raw.split_once(['@', ' ']) {
            Some((d, t)) => (d.trim().to_owned(), Some(t.trim().to_owned())),
            None => (raw.clone(), None),
        };
        let day = DAYS.iter().position(|d| *d == day).ok_or_else(bad)?;
        let minute = match time.as_deref() {
            None | Some("") => None,
            Some(t) => {
                let (h, m) = t.split_once(':').ok_or_else(bad)?;
                let (h, m): (u32, u32) =
                    (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                if h > 23 || m > 59 || t.len() > 5 {
                    return Err(bad());
                }
                Some(h * 60 + m)
            }
        };
        Ok(Available { day, minute })
    }

    pub fn as_param(self) -> String {
        match self.minute {
            Some(m) => format!("{} {:02}:{:02}", DAYS[self.day], m / 60, m % 60),
            None => DAYS[self.day].to_owned(),
        }
    }

    /// The moment (a one-minute span) or the whole day asked for, as UTC times: the next
    /// such weekday in `zone`, counting today.
    pub fn window(self, zone: Tz, now_utc: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        let today = zone.from_utc_datetime(&now_utc).date_naive();
        let ahead =
            (self.day as i64 - i64::from(today.weekday().num_days_from_monday())).rem_euclid(7);
        let date = today + Duration::days(ahead);
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.minute {
            Some(m) => {
                let start = local_to_utc(zone, midnight + Duration::minutes(i64::from(m)));
                (start, start + Duration::minutes(1))
            }
            None => (
                local_to_utc(zone, midnight),
                local_to_utc(zone, midnight + Duration::days(1)),
            ),
        }
    }
}

/// A local wall-clock time in UTC; a time skipped by a daylight-saving change counts as
/// the first time after the gap.
fn local_to_utc(zone: Tz, local: NaiveDateTime) -> NaiveDateTime {
    let mut t = local;
    for _ in 0..4 {
        if let Some(dt) = zone.from_local_datetime(&t).earliest() {
            return dt.naive_utc();
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local).naive_utc()
}

fn slot_minutes(raw: &str) -> Option<u32> {
    let (h, m) = raw.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn weekday_index(d: Weekday) -> usize {
    d.num_days_from_monday() as usize
}

/// Whether an agent's weekly windows (in `agent_zone`) overlap the UTC span
/// `[from, to)`: each window is placed on the real dates around the span in the agent's
/// zone, so time-zone differences that move a window to another weekday are honoured.
pub fn covers(
    slots: &[WeeklySlot],
    agent_zone: Tz,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> bool {
    let from_l = agent_zone.from_utc_datetime(&from).naive_local();
    let to_l = agent_zone.from_utc_datetime(&to).naive_local();
    let first: NaiveDate = from_l.date() - Duration::days(1);
    let last: NaiveDate = to_l.date();
    let mut date = first;
    while date <= last {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        for slot in slots {
            let Some(day) = DAYS.iter().position(|d| *d == slot.day) else {
                continue;
            };
            if day != weekday_index(date.weekday()) {
                continue;
            }
            let (Some(s), Some(e)) = (slot_minutes(&slot.start), slot_minutes(&slot.end)) else {
                continue;
            };
            let start = midnight + Duration::minutes(i64::from(s));
            let end = midnight + Duration::minutes(i64::from(e));
            if start < to_l && from_l < end {
                return true;
            }
        }
        date += Duration::days(1);
    }
    false
}

/// Filters that passed every check.
#[derive(Debug, Clone, Default)]
pub struct PoolFilter {
    pub skill: Option<String>,
    pub status: Option<AgentStatus>,
    pub language: Option<String>,
    pub available: Option<Available>,
    /// The zone of `available`; `None` until the caller's own zone is filled in.
    pub zone: Option<Tz>,
    pub min_quality: Option<i32>,
    pub q: Option<String>,
    pub sort: Sort,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl PoolFilter {
    /// Checks every filter, reporting each bad one under its parameter name.
    pub fn parse(q: &PoolQuery, known_skills: &[&str]) -> Result<PoolFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let skill = present(&q.skill).and_then(|s| {
            errors.check(
                "skill",
                if known_skills.contains(&s) {
                    Ok(s.to_owned())
                } else {
                    Err(Invalid::new(
                        "unknown_value",
                        format!("not a skill in the seat rules: {}", known_skills.join(", ")),
                    ))
                },
            )
        });
        let status = present(&q.status).and_then(|s| {
            errors.check(
                "status",
                AgentStatus::parse(s).ok_or_else(|| {
                    Invalid::new(
                        "unknown_value",
                        "one of applicant, exam_passed, in_trial, certified, suspended, left",
                    )
                }),
            )
        });
        let language = present(&q.language).and_then(|l| {
            errors.check(
                "language",
                if LANGUAGES.contains(&l) {
                    Ok(l.to_owned())
                } else {
                    Err(Invalid::new(
                        "unknown_value",
                        format!("one of {}", LANGUAGES.join(", ")),
                    ))
                },
            )
        });
        let available =
            present(&q.available).and_then(|a| errors.check("available", Available::parse(a)));
        let zone = present(&q.tz).and_then(|z| {
            errors.check(
                "tz",
                crate::accounts::model::TimeZone::parse(z).map(|z| z.0),
            )
        });
        let min_quality = present(&q.min_quality).and_then(|m| {
            errors.check(
                "min_quality",
                match m.parse::<i32>() {
                    Ok(n) if (0..=100).contains(&n) => Ok(n),
                    Ok(_) => Err(Invalid::new("out_of_range", "between 0 and 100")),
                    Err(_) => Err(Invalid::new(
                        "invalid_number",
                        "a whole number from 0 to 100",
                    )),
                },
            )
        });
        let search = present(&q.q).and_then(|s| {
            errors.check(
                "q",
                if s.chars().count() <= 100 {
                    Ok(s.to_owned())
                } else {
                    Err(Invalid::new("too_long", "at most 100 characters"))
                },
            )
        });
        let sort = present(&q.sort)
            .and_then(|s| errors.check("sort", Sort::parse(s)))
            .unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PoolFilter {
            skill,
            status,
            language,
            available,
            zone,
            min_quality,
            q: search,
            sort,
        })
    }

    /// The filters as query-string pairs (for links: next page, sorting, CSV download).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(s) = &self.skill {
            out.push(("skill", s.clone()));
        }
        if let Some(s) = self.status {
            out.push(("status", s.as_str().to_owned()));
        }
        if let Some(l) = &self.language {
            out.push(("language", l.clone()));
        }
        if let Some(a) = self.available {
            out.push(("available", a.as_param()));
            // The zone only matters to `available`; links carry it so they mean the same
            // moment for whoever opens them.
            if let Some(z) = self.zone {
                out.push(("tz", z.name().to_owned()));
            }
        }
        if let Some(m) = self.min_quality {
            out.push(("min_quality", m.to_string()));
        }
        if let Some(q) = &self.q {
            out.push(("q", q.clone()));
        }
        out.push(("sort", self.sort.as_param()));
        out
    }
}

// ---------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificationView {
    pub skill: String,
    pub certified_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Not yet expired.
    pub valid: bool,
}

/// One agent in the talent pool.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolAgent {
    pub account_id: AccountId,
    pub display_name: String,
    pub email: String,
    pub status: AgentStatus,
    pub time_zone: String,
    pub languages: Vec<String>,
    /// Skills the agent wants to be certified for (from their profile).
    pub wanted_skills: Vec<String>,
    /// Every certification the agent holds or held, expired ones with `valid: false`.
    pub certifications: Vec<CertificationView>,
    /// Weekly windows in the agent's own time zone.
    pub availability: Vec<WeeklySlot>,
    pub max_concurrent_chats: i32,
    /// 0 to 100, or none yet. Until QA reviews exist this is the percent of the agent's
    /// latest reviewed, passed trial.
    pub quality: Option<i32>,
    pub joined: DateTime<Utc>,
}

/// Where a keyset page continues: after this row in the sort order.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Name(String),
    Joined(NaiveDateTime),
    /// The quality with "none yet" mapped past the end of the order.
    Quality(i32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct After {
    pub key: Key,
    pub id: String,
}

/// "No quality yet" sorts after every real quality in both directions.
fn quality_sentinel(descending: bool) -> i32 {
    if descending { -1 } else { 101 }
}

impl PoolAgent {
    pub fn position(&self, sort: Sort) -> After {
        After {
            key: match sort.key {
                SortKey::Name => Key::Name(self.display_name.clone()),
                SortKey::Joined => Key::Joined(self.joined.naive_utc()),
                SortKey::Quality => Key::Quality(
                    self.quality
                        .unwrap_or_else(|| quality_sentinel(sort.descending)),
                ),
            },
            id: self.account_id.as_str().to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------

diesel::define_sql_function! {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Integer>, y: diesel::sql_types::Integer) -> diesel::sql_types::Integer;
}

diesel::define_sql_function! {
    #[sql_name = "coalesce"]
    fn first_known(x: diesel::sql_types::Nullable<diesel::sql_types::Integer>, y: diesel::sql_types::Nullable<diesel::sql_types::Integer>) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>;
}

/// An agent's quality for now (0-100, whole points): the score of the latest month their
/// level was decided on with a score (real work, see `quality::levels_store`), else the
/// percent of their latest reviewed, passed trial (correlated subqueries, so it can be
/// filtered and sorted on).
macro_rules! quality {
    () => {
        first_known(
            crate::db::schema::agent_level_changes::table
                .filter(crate::db::schema::agent_level_changes::agent_id.eq(agents::account_id))
                .filter(crate::db::schema::agent_level_changes::quality_x100.is_not_null())
                .order(crate::db::schema::agent_level_changes::month.desc())
                .select(crate::db::schema::agent_level_changes::quality_x100 / 100)
                .single_value(),
            trials::table
                .filter(trials::agent_id.eq(agents::account_id))
                .filter(trials::status.eq("passed"))
                .filter(trials::reviewed_at.is_not_null())
                .order((trials::reviewed_at.desc(), trials::id.desc()))
                .select(trials::percent)
                .single_value(),
        )
    };
}

/// The quality score early access and auto-assignment go by (see [`quality!`]).
pub fn quality_of(conn: &mut DbConn, agent: &AccountId) -> QueryResult<Option<i32>> {
    Ok(agents::table
        .find(agent)
        .select(quality!())
        .first::<Option<i32>>(conn)
        .optional()?
        .flatten())
}

/// The quality of each of `agents` that has one (see [`quality!`]), in one query.
pub fn qualities_of(conn: &mut DbConn, agents_: &[&str]) -> QueryResult<Vec<(String, i32)>> {
    let rows: Vec<(String, Option<i32>)> = agents::table
        .filter(agents::account_id.eq_any(agents_))
        .select((agents::account_id, quality!()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, q)| Some((id, q?)))
        .collect())
}

type Candidate = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    NaiveDateTime,
    Option<i32>,
);

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One batch of agents matching every filter but availability, in sort order after
/// `after`.
fn scan(
    conn: &mut DbConn,
    f: &PoolFilter,
    now: NaiveDateTime,
    after: Option<&After>,
    batch: i64,
) -> QueryResult<Vec<Candidate>> {
    let mut query = agents::table
        .inner_join(accounts::table)
        .select((
            agents::account_id,
            accounts::display_name,
            accounts::email,
            agents::status,
            accounts::time_zone,
            agents::languages,
            agents::skills,
            agents::availability,
            agents::max_concurrent_chats,
            agents::created_at,
            quality!(),
        ))
        .into_boxed();
    if let Some(status) = f.status {
        query = query.filter(agents::status.eq(status.as_str()));
    }
    if let Some(language) = &f.language {
        // Languages are stored as a JSON list of codes from a fixed list.
        query = query.filter(agents::languages.like(format!("%\"{language}\"%")));
    }
    if let Some(skill) = &f.skill {
        query = query.filter(diesel::dsl::exists(
            certifications::table
                .filter(certifications::agent_id.eq(agents::account_id))
                .filter(certifications::skill.eq(skill.clone()))
                .filter(certifications::expires_at.gt(now)),
        ));
    }
    if let Some(min) = f.min_quality {
        query = query.filter(quality!().ge(min));
    }
    if let Some(q) = &f.q {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            lower(accounts::display_name)
                .like(pattern.clone())
                .escape('\\')
                .or(accounts::email.like(pattern).escape('\\')),
        );
    }
    let sentinel = quality_sentinel(f.sort.descending);
    query = match (f.sort.key, f.sort.descending) {
        (SortKey::Name, false) => {
            query.order((accounts::display_name.asc(), agents::account_id.asc()))
        }
        (SortKey::Name, true) => {
            query.order((accounts::display_name.desc(), agents::account_id.asc()))
        }
        (SortKey::Joined, false) => {
            query.order((agents::created_at.asc(), agents::account_id.asc()))
        }
        (SortKey::Joined, true) => {
            query.order((agents::created_at.desc(), agents::account_id.asc()))
        }
        (SortKey::Quality, false) => query.order((
            coalesce(quality!(), sentinel).asc(),
            agents::account_id.asc(),
        )),
        (SortKey::Quality, true) => query.order((
            coalesce(quality!(), sentinel).desc(),
            agents::account_id.asc(),
        )),
    };
    if let Some(after) = after {
        let id = after.id.clone();
        query = match (&after.key, f.sort.descending) {
            (Key::Name(n), false) => query.filter(
                accounts::display_name
                    .gt(n.clone())
                    .or(accounts::display_name
                        .eq(n.clone())
                        .and(agents::account_id.gt(id))),
            ),
            (Key::Name(n), true) => query.filter(
                accounts::display_name
                    .lt(n.clone())
                    .or(accounts::display_name
                        .eq(n.clone())
                        .and(agents::account_id.gt(id))),
            ),
            (Key::Joined(t), false) => query.filter(
                agents::created_at
                    .gt(*t)
                    .or(agents::created_at.eq(*t).and(agents::account_id.gt(id))),
            ),
            (Key::Joined(t), true) => query.filter(
                agents::created_at
                    .lt(*t)
                    .or(agents::created_at.eq(*t).and(agents::account_id.gt(id))),
            ),
            (Key::Quality(k), false) => query.filter(
                coalesce(quality!(), sentinel)
                    .gt(*k)
                    .or(coalesce(quality!(), sentinel)
                        .eq(*k)
                        .and(agents::account_id.gt(id))),
            ),
            (Key::Quality(k), true) => query.filter(
                coalesce(quality!(), sentinel)
                    .lt(*k)
                    .or(coalesce(quality!(), sentinel)
                        .eq(*k)
                        .and(agents::account_id.gt(id))),
            ),
        };
    }
    query.limit(batch).load(conn)
}

/// Where the page after agent `id` starts, in this sort order (`None`: no such agent).
pub fn position_of(conn: &mut DbConn, id: &str, sort: Sort) -> QueryResult<Option<After>> {
    let row: Option<(String, NaiveDateTime, Option<i32>)> = agents::table
        .inner_join(accounts::table)
        .filter(agents::account_id.eq(id))
        .select((accounts::display_name, agents::created_at, quality!()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(name, joined, quality)| After {
        key: match sort.key {
            SortKey::Name => Key::Name(name),
            SortKey::Joined => Key::Joined(joined),
            SortKey::Quality => Key::Quality(quality.unwrap_or(quality_sentinel(sort.descending))),
        },
        id: id.to_owned(),
    }))
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Up to `want` agents matching `f`, in its order, after `after`. `f.zone` must be set
/// when `f.available` is.
pub fn find(
    conn: &mut DbConn,
    f: &PoolFilter,
    now: NaiveDateTime,
    after: Option<After>,
    want: usize,
) -> QueryResult<Vec<PoolAgent>> {
    let window = f
        .available
        .map(|a| a.window(f.zone.unwrap_or(chrono_tz::Asia::Shanghai), now));
    // Without an availability filter every scanned row is a match, so one batch of `want`
    // suffices; with one, larger batches keep the round trips few when matches are rare.
    let batch = if window.is_some() {
        1000
    } else {
        (want as i64).clamp(1, 1000)
    };
    let mut after = after;
    let mut found: Vec<Candidate> = Vec::new();
    'scan: loop {
        let rows = scan(conn, f, now, after.as_ref(), batch)?;
        let scanned = rows.len();
        for row in rows {
            after = Some(After {
                key: match f.sort.key {
                    SortKey::Name => Key::Name(row.1.clone()),
                    SortKey::Joined => Key::Joined(row.9),
                    SortKey::Quality => {
                        Key::Quality(row.10.unwrap_or(quality_sentinel(f.sort.descending)))
                    }
                },
                id: row.0.clone(),
            });
            let keep = match window {
                None => true,
                Some((from, to)) => {
                    let slots: Vec<WeeklySlot> = serde_json::from_str(&row.7).unwrap_or_default();
                    let zone = row.4.parse::<Tz>().unwrap_or(chrono_tz::Asia::Shanghai);
                    covers(&slots, zone, from, to)
                }
            };
            if keep {
                found.push(row);
                if found.len() >= want {
                    break 'scan;
                }
            }
        }
        if (scanned as i64) < batch {
            break;
        }
    }
    let ids: Vec<&str> = found.iter().map(|r| r.0.as_str()).collect();
    let certs: Vec<(String, String, NaiveDateTime, NaiveDateTime)> = if ids.is_empty() {
        Vec::new()
    } else {
        certifications::table
            .filter(certifications::agent_id.eq_any(&ids))
            .select((
                certifications::agent_id,
                certifications::skill,
                certifications::certified_at,
                certifications::expires_at,
            ))
            .order((certifications::agent_id.asc(), certifications::skill.asc()))
            .load(conn)?
    };
    Ok(found
        .into_iter()
        .map(|r| {
            let certifications = certs
                .iter()
                .filter(|c| c.0 == r.0)
                .map(|c| CertificationView {
                    skill: c.1.clone(),
                    certified_at: c.2.and_utc(),
                    expires_at: c.3.and_utc(),
                    valid: c.3 > now,
                })
                .collect();
            PoolAgent {
                account_id: AccountId(r.0),
                display_name: r.1,
                email: r.2,
                status: AgentStatus::parse(&r.3).unwrap_or(AgentStatus::Applicant),
                time_zone: r.4,
                languages: list(&r.5),
                wanted_skills: list(&r.6),
                certifications,
                availability: serde_json::from_str(&r.7).unwrap_or_default(),
                max_concurrent_chats: r.8,
                quality: r.10,
                joined: r.9.and_utc(),
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------------------

/// Checks the filters and fills in the zone of `available` (the caller's own by default).
pub async fn resolve(
    state: &AppState,
    caller: AccountId,
    query: &PoolQuery,
) -> Result<PoolFilter, AppError> {
    let rules = state.rules();
    let skills: Vec<&str> = rules.skills.iter().map(|s| s.id.as_str()).collect();
    let mut filter = PoolFilter::parse(query, &skills).map_err(AppError::from)?;
    if filter.zone.is_none() {
        let account = state
            .db
            .run(move |conn| crate::accounts::store::find(conn, &caller))
            .await?;
        filter.zone = Some(
            account
                .and_then(|a| a.time_zone.parse::<Tz>().ok())
                .unwrap_or(rules.market.time_zone),
        );
    }
    Ok(filter)
}

/// One page of the pool; `cursor` is the account id of the previous page's last agent.
pub async fn search(
    state: &AppState,
    filter: PoolFilter,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<PoolAgent>, AppError> {
    let now = state.clock.now();
    let rows = state
        .db
        .run(move |conn| -> Result<Vec<PoolAgent>, AppError> {
            let after = match cursor {
                None => None,
                Some(id) => Some(position_of(conn, &id, filter.sort)?.ok_or_else(|| {
                    AppError::field(
                        "cursor",
                        "invalid_cursor",
                        "this cursor is not one we issued",
                    )
                })?),
            };
            Ok(find(conn, &filter, now, after, limit as usize + 1)?)
        })
        .await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |r| r.account_id.as_str().to_owned(),
        |r| r,
    ))
}

/// The next `want` agents after `after`, for exports.
pub async fn chunk(
    state: &AppState,
    filter: PoolFilter,
    after: Option<After>,
    want: usize,
) -> Result<Vec<PoolAgent>, AppError> {
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| find(conn, &filter, now, after, want))
        .await?)
}

/// An exam attempt as an admin reviews it.
#[derive(Debug, Clone)]
pub struct AttemptSummary {
    pub id: String,
    pub skill: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub percent: Option<i32>,
    pub pass_percent: i32,
}

#[derive(Debug, Clone)]
pub struct TrialSummary {
    pub skill: String,
    pub status: String,
    pub percent: Option<i32>,
    pub booked_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// What an agent has done towards certification, newest first.
#[derive(Debug, Clone, Default)]
pub struct AgentRecord {
    pub certifications: Vec<CertificationView>,
    pub attempts: Vec<AttemptSummary>,
    pub trials: Vec<TrialSummary>,
}

/// An agent's certifications, exam attempts and trials (the latest 50 of each).
pub async fn record(state: &AppState, agent: AccountId) -> Result<AgentRecord, AppError> {
    use crate::db::schema::exam_attempts;
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| -> QueryResult<AgentRecord> {
            let id = agent.as_str();
            let certs: Vec<(String, NaiveDateTime, NaiveDateTime)> = certifications::table
                .filter(certifications::agent_id.eq(id))
                .select((
                    certifications::skill,
                    certifications::certified_at,
                    certifications::expires_at,
                ))
                .order(certifications::skill.asc())
                .load(conn)?;
            type AttemptTuple = (
                String,
                String,
                String,
                NaiveDateTime,
                Option<NaiveDateTime>,
                Option<i32>,
                i32,
            );
            let attempts: Vec<AttemptTuple> = exam_attempts::table
                .filter(exam_attempts::agent_id.eq(id))
                .select((
                    exam_attempts::id,
                    exam_attempts::skill,
                    exam_attempts::status,
                    exam_attempts::started_at,
                    exam_attempts::submitted_at,
                    exam_attempts::percent,
                    exam_attempts::pass_percent,
                ))
                .order((exam_attempts::started_at.desc(), exam_attempts::id.desc()))
                .limit(50)
                .load(conn)?;
            type TrialTuple = (
                String,
                String,
                Option<i32>,
                NaiveDateTime,
                Option<NaiveDateTime>,
            );
            let trial_rows: Vec<TrialTuple> = trials::table
                .filter(trials::agent_id.eq(id))
                .select((
                    trials::skill,
                    trials::status,
                    trials::percent,
                    trials::booked_at,
                    trials::reviewed_at,
                ))
                .order((trials::booked_at.desc(), trials::id.desc()))
                .limit(50)
                .load(conn)?;
            Ok(AgentRecord {
                certifications: certs
                    .into_iter()
                    .map(|(skill, certified_at, expires_at)| CertificationView {
                        skill,
                        certified_at: certified_at.and_utc(),
                        expires_at: expires_at.and_utc(),
                        valid: expires_at > now,
                    })
                    .collect(),
                attempts: attempts
                    .into_iter()
                    .map(|a| AttemptSummary {
                        id: a.0,
                        skill: a.1,
                        status: a.2,
                        started_at: a.3.and_utc(),
                        submitted_at: a.4.map(|t| t.and_utc()),
                        percent: a.5,
                        pass_percent: a.6,
                    })
                    .collect(),
                trials: trial_rows
                    .into_iter()
                    .map(|t| TrialSummary {
                        skill: t.0,
                        status: t.1,
                        percent: t.2,
                        booked_at: t.3.and_utc(),
                        reviewed_at: t.4.map(|r| r.and_utc()),
                    })
                    .collect(),
            })
        })
        .await?)
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

pub const CSV_HEADER: [&str; 13] = [
    "account_id",
    "display_name",
    "email",
    "status",
    "time_zone",
    "languages",
    "wanted_skills",
    "certified_skills",
    "certifications",
    "availability",
    "max_concurrent_chats",
    "quality",
    "joined",
];

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab or
/// carriage return) gets a `'` in front, so an export never executes what an agent typed.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The CSV cells of one agent (dates in UTC, ISO 8601; lists joined with `;`).
pub fn csv_record(a: &PoolAgent) -> Vec<String> {
    let cells = vec![
        a.account_id.as_str().to_owned(),
        a.display_name.clone(),
        a.email.clone(),
        a.status.as_str().to_owned(),
        a.time_zone.clone(),
        a.languages.join(";"),
        a.wanted_skills.join(";"),
        a.certifications
            .iter()
            .filter(|c| c.valid)
            .map(|c| c.skill.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        a.certifications
            .iter()
            .map(|c| {
                format!(
                    "{} {}/{}{}",
                    c.skill,
                    iso(c.certified_at),
                    iso(c.expires_at),
                    if c.valid { "" } else { " expired" }
                )
            })
            .collect::<Vec<_>>()
            .join(";"),
        a.availability
            .iter()
            .map(|s| format!("{} {}-{}", s.day, s.start, s.end))
            .collect::<Vec<_>>()
            .join(";"),
        a.max_concurrent_chats.to_string(),
        a.quality.map(|q| q.to_string()).unwrap_or_default(),
        iso(a.joined),
    ];
    cells
        .into_iter()
        .map(|c| neutralise(&c).into_owned())
        .collect()
}

/// CSV text for some agents, with the header row first when `header`.
pub fn csv_chunk(rows: &[PoolAgent], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::with_capacity(rows.len() * 200 + 200);
    if header {
        // A byte-order mark first, so spreadsheet programs read the (often Chinese) names as
        // UTF-8 rather than the system's legacy code page.
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut w = csv::Writer::from_writer(out);
    if header {
        w.write_record(CSV_HEADER)?;
    }
    for row in rows {
        w.write_record(csv_record(row))?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slot(day: &str, start: &str, end: &str) -> WeeklySlot {
        WeeklySlot {
            day: day.into(),
            start: start.into(),
            end: end.into(),
        }
    }

    /// A Wednesday, 2026-11-25 04:00 UTC (12:00 in Shanghai).
    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap()
    }

    const SH: Tz = chrono_tz::Asia::Shanghai;
    const LONDON: Tz = chrono_tz::Europe::London;

    fn at(raw: &str, zone: Tz) -> (NaiveDateTime, NaiveDateTime) {
        Available::parse(raw).unwrap().window(zone, now())
    }

    #[test]
    fn parses_days_and_times() {
        assert_eq!(
            Available::parse("mon").unwrap(),
            Available {
                day: 0,
                minute: None
            }
        );
        assert_eq!(
            Available::parse("Sun@19:30").unwrap(),
            Available {
                day: 6,
                minute: Some(19 * 60 + 30)
            }
        );
        assert_eq!(Available::parse("tue 07:05").unwrap().minute, Some(425));
        for bad in [
            "",
            "monday",
            "mon 25:00",
            "mon 19",
            "mon 19:60",
            "mon x:y",
            "mon 019:000",
        ] {
            assert!(Available::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Available::parse("sat 09:00").unwrap().as_param(),
            "sat 09:00"
        );
    }

    #[test]
    fn the_window_is_the_next_such_day_in_the_zone() {
        // Wednesday noon in Shanghai: "wed" is today, "tue" is next week.
        let (from, to) = at("wed", SH);
        assert_eq!(from.to_string(), "2026-11-24 16:00:00");
        assert_eq!(to - from, Duration::days(1));
        let (from, _) = at("tue 19:30", SH);
        assert_eq!(from.to_string(), "2026-12-01 11:30:00");
    }

    #[test]
    fn same_zone_windows() {
        let slots = [slot("mon", "19:00", "21:30"), slot("sat", "09:00", "24:00")];
        let yes = |raw: &str| {
            let (f, t) = at(raw, SH);
            covers(&slots, SH, f, t)
        };
        assert!(yes("mon"));
        assert!(yes("mon 19:00"));
        assert!(yes("mon 21:29"));
        assert!(!yes("mon 21:30"), "the end is exclusive");
        assert!(!yes("mon 18:59"));
        assert!(!yes("tue"));
        assert!(yes("sat 23:59"));
        assert!(!yes("sun 00:00"));
    }

    #[test]
    fn windows_move_across_zones_and_days() {
        // 09:00-11:00 Monday in London (GMT in November) is 17:00-19:00 Monday in Shanghai.
        let london = [slot("mon", "09:00", "11:00")];
        let (f, t) = at("mon 17:30", SH);
        assert!(covers(&london, LONDON, f, t));
        let (f, t) = at("mon 09:30", SH);
        assert!(!covers(&london, LONDON, f, t));
        // 20:00-24:00 Sunday in London is 04:00-08:00 Monday in Shanghai.
        let late = [slot("sun", "20:00", "24:00")];
        let (f, t) = at("mon 05:00", SH);
        assert!(covers(&late, LONDON, f, t));
        let (f, t) = at("mon", SH);
        assert!(covers(&late, LONDON, f, t), "any window on that day counts");
        let (f, t) = at("sun 22:00", SH);
        assert!(!covers(&late, LONDON, f, t));
    }

    #[test]
    fn bad_filters_name_their_field() {
        let q = PoolQuery {
            skill: Some("telepathy".into()),
            status: Some("retired".into()),
            language: Some("xx".into()),
            available: Some("someday".into()),
            tz: Some("Mars/Base".into()),
            min_quality: Some("101".into()),
            q: Some("x".repeat(101)),
            sort: Some("age".into()),
        };
        let err = crate::error::AppError::from(PoolFilter::parse(&q, &["general"]).unwrap_err());
        let crate::error::AppError::Validation(fields) = err else {
            panic!()
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            [
                "skill",
                "status",
                "language",
                "available",
                "tz",
                "min_quality",
                "q",
                "sort"
            ]
        );
        let empty = PoolQuery {
            skill: Some(" ".into()),
            min_quality: Some(String::new()),
            ..PoolQuery::default()
        };
        let f = PoolFilter::parse(&empty, &["general"]).unwrap();
        assert!(f.skill.is_none() && f.min_quality.is_none());
        assert_eq!(f.sort, Sort::default());
    }

    #[test]
    fn sort_round_trips() {
        for raw in Sort::ALL {
            assert_eq!(Sort::parse(raw).unwrap().as_param(), raw);
        }
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+1"), "'+1");
        assert_eq!(neutralise("-2"), "'-2");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("Wang Fang"), "Wang Fang");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn likes_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    /// The minutes of the week (Monday 00:00 = 0) a set of windows covers, the slow way.
    fn minute_set(slots: &[WeeklySlot]) -> std::collections::HashSet<u32> {
        let mut set = std::collections::HashSet::new();
        for s in slots {
            let day = DAYS.iter().position(|d| *d == s.day).unwrap() as u32;
            for m in slot_minutes(&s.start).unwrap()..slot_minutes(&s.end).unwrap() {
                set.insert(day * 1440 + m);
            }
        }
        set
    }

    fn arb_slots() -> impl Strategy<Value = Vec<WeeklySlot>> {
        proptest::collection::vec((0usize..7, 0u32..48, 1u32..12), 0..6).prop_map(|raw| {
            raw.into_iter()
                .map(|(d, start, len)| {
                    let end = (start + len).min(48);
                    slot(
                        DAYS[d],
                        &format!("{:02}:{:02}", start / 2, start % 2 * 30),
                        &format!("{:02}:{:02}", end / 2, end % 2 * 30),
                    )
                })
                .collect()
        })
    }

    proptest! {
        /// In one zone, a moment is covered exactly when its minute of the week is in a window.
        #[test]
        fn a_moment_is_covered_iff_a_window_holds_it(slots in arb_slots(), day in 0usize..7, minute in 0u32..1440) {
            let a = Available { day, minute: Some(minute) };
            let (from, to) = a.window(SH, now());
            let expected = minute_set(&slots).contains(&(day as u32 * 1440 + minute));
            prop_assert_eq!(covers(&slots, SH, from, to), expected);
        }

        /// A whole day is covered when any of its moments is.
        #[test]
        fn a_day_is_covered_iff_some_moment_is(slots in arb_slots(), day in 0usize..7) {
            let (from, to) = Available { day, minute: None }.window(SH, now());
            let set = minute_set(&slots);
            let expected = (0..1440).any(|m| set.contains(&(day as u32 * 1440 + m)));
            prop_assert_eq!(covers(&slots, SH, from, to), expected);
        }

        /// Shifting the question's zone by whole hours shifts the answer with it: asking in
        /// Tokyo (UTC+9, no DST) one hour later means the same moment as Shanghai (UTC+8).
        #[test]
        fn the_zone_of_the_question_only_moves_the_moment(slots in arb_slots(), day in 0usize..7, minute in 0u32..1380) {
            let (f1, t1) = Available { day, minute: Some(minute) }.window(SH, now());
            let (f2, t2) = Available { day, minute: Some(minute + 60) }.window(chrono_tz::Asia::Tokyo, now());
            if f1 == f2 {
                prop_assert_eq!(covers(&slots, LONDON, f1, t1), covers(&slots, LONDON, f2, t2));
            }
        }
    }
}
