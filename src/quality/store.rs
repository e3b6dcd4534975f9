//! What the quality score reads and the reviews, disputes and model chats it keeps.
//!
//! [`period_facts`] is the score's input for every agent of a period, aggregated in SQL (one
//! pass over the period's closed chats, grouped by agent, and one over its reviews) so that
//! payroll and the monthly level recomputation can ask for a whole month of millions of
//! chats. Time arithmetic differs between the backends, so its statements are written once
//! with `?` placeholders and a backend's fragments for "a timestamp plus some seconds".

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use super::score::Facts;
use crate::db::DbConn;

/// `?` placeholders numbered for PostgreSQL (`$1`, `$2`, ...); the statements here hold no
/// literal question marks.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// `left` is before `right` plus a bound number of `unit`s (`unit`: "seconds" or "hours"),
/// for the connection's backend; takes one bind, the number.
fn before_plus(conn: &DbConn, left: &str, right: &str, unit: &str, inclusive: bool) -> String {
    let op = if inclusive { "<=" } else { "<" };
    match conn {
        // SQLite keeps instants as integer milliseconds inside julianday(), so equal
        // instants compare equal whatever the text's fraction digits.
        DbConn::Sqlite(_) => {
            format!(
                "julianday({left}) {op} julianday({right}, '+' || CAST(? AS TEXT) || ' {unit}')"
            )
        }
        DbConn::Pg(_) => {
            let one = unit.trim_end_matches('s');
            format!("{left} {op} {right} + CAST(? AS INTEGER) * INTERVAL '1 {one}'")
        }
    }
}

/// The condition that a closed chat `c` was answered within the first-response target:
/// its first reply, in whole seconds after acceptance as the chat metrics count it
/// (`first_response_secs`), is at most the target, i.e. it came less than target + 1
/// seconds after acceptance. One bind: the target + 1.
pub(crate) fn in_target_sql(conn: &DbConn) -> String {
    format!(
        "(c.first_response_at IS NOT NULL AND c.accepted_at IS NOT NULL AND {})",
        before_plus(
            conn,
            "c.first_response_at",
            "c.accepted_at",
            "seconds",
            false
        )
    )
}

/// The condition that the customer of closed chat `c` opened another chat with the same
/// shop within the reopen window after it closed (inclusive, to the millisecond). One
/// bind: the window in hours.
///
/// It reads `c.next_chat_at` (migration 18), the start of the customer's next chat with the
/// shop after `c` closed, which the database's triggers keep on every write: the earliest
/// later chat is within the window if any is, so this is one comparison per closed chat
/// rather than a probe of the customer's chats.
fn reopened_sql(conn: &DbConn) -> String {
    format!(
        "(c.next_chat_at IS NOT NULL AND {})",
        before_plus(conn, "c.next_chat_at", "c.closed_at", "hours", true)
    )
}

/// What one group of a period's closed chats counts: per agent, or per agent, skill and
/// kind ([`Grouping`]). The quality score's inputs, plus the chats accepted while holding
/// another (payroll's extra-concurrency count), so payroll reads the chats once.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ChatCounts {
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    /// Empty when grouped per agent.
    #[diesel(sql_type = Text)]
    pub skill: String,
    /// `None`: no kind, or grouped per agent.
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub kind: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub closed: i64,
    #[diesel(sql_type = BigInt)]
    stars1: i64,
    #[diesel(sql_type = BigInt)]
    stars2: i64,
    #[diesel(sql_type = BigInt)]
    stars3: i64,
    #[diesel(sql_type = BigInt)]
    stars4: i64,
    #[diesel(sql_type = BigInt)]
    stars5: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = BigInt)]
    in_target: i64,
    #[diesel(sql_type = BigInt)]
    reopened: i64,
    /// Accepted while the agent held another chat.
    #[diesel(sql_type = BigInt)]
    pub concurrent: i64,
}

/// How [`chat_counts`] groups the chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Agent,
    AgentSkillKind,
}

#[derive(QueryableByName)]
struct ReviewCounts {
    #[diesel(sql_type = Text)]
    agent_id: String,
    #[diesel(sql_type = Integer)]
    score_x100: i32,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

fn run<T>(
    conn: &mut DbConn,
    sqlite_sql: &str,
    bind: impl Fn(String) -> T,
) -> QueryResult<Vec<T::Row>>
where
    T: LoadRows,
{
    match conn {
        DbConn::Pg(c) => bind(numbered(sqlite_sql)).load_pg(c),
        DbConn::Sqlite(c) => bind(sqlite_sql.to_owned()).load_sqlite(c),
    }
}

/// A bound raw statement that loads on either backend's connection.
trait LoadRows {
    type Row;
    fn load_pg(self, c: &mut diesel::PgConnection) -> QueryResult<Vec<Self::Row>>;
    fn load_sqlite(self, c: &mut diesel::SqliteConnection) -> QueryResult<Vec<Self::Row>>;
}

/// A raw statement with its binds, loading rows of `R`.
struct Raw<Q, R>(Q, std::marker::PhantomData<R>);

impl<Q, R> LoadRows for Raw<Q, R>
where
    Q: diesel::query_dsl::LoadQuery<'static, diesel::PgConnection, R>
        + diesel::query_dsl::LoadQuery<'static, diesel::SqliteConnection, R>,
{
    type Row = R;
    fn load_pg(self, c: &mut diesel::PgConnection) -> QueryResult<Vec<R>> {
        self.0.load(c)
    }
    fn load_sqlite(self, c: &mut diesel::SqliteConnection) -> QueryResult<Vec<R>> {
        self.0.load(c)
    }
}

/// Every agent's [`Facts`] for their chats closed in `[from, to)`: customer ratings,
/// first replies within `first_response_target_secs`, chats the customer came back about
/// within `reopen_window_hours`, and the scores of the reviews of those chats (a review whose
/// dispute was accepted counts with its amended score). Agents with neither a closed chat
/// nor a review in the period are absent.
pub fn period_facts(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    first_response_target_secs: u32,
    reopen_window_hours: u32,
) -> QueryResult<BTreeMap<String, Facts>> {
    facts(
        conn,
        None,
        from,
        to,
        first_response_target_secs,
        reopen_window_hours,
    )
}

/// One agent's [`Facts`] for the period, as [`period_facts`] counts them.
pub fn agent_facts(
    conn: &mut DbConn,
    agent: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    first_response_target_secs: u32,
    reopen_window_hours: u32,
) -> QueryResult<Facts> {
    Ok(facts(
        conn,
        Some(agent),
        from,
        to,
        first_response_target_secs,
        reopen_window_hours,
    )?
    .remove(agent)
    .unwrap_or_default())
}

fn facts(
    conn: &mut DbConn,
    agent: Option<&str>,
    from: NaiveDateTime,
    to: NaiveDateTime,
    first_response_target_secs: u32,
    reopen_window_hours: u32,
) -> QueryResult<BTreeMap<String, Facts>> {
    let chats = chat_counts(
        conn,
        agent,
        Grouping::Agent,
        from,
        to,
        first_response_target_secs,
        reopen_window_hours,
    )?;
    facts_of(conn, agent, from, to, &chats)
}

/// The period's closed chats counted in one pass, grouped as asked; `agent`: only theirs.
pub fn chat_counts(
    conn: &mut DbConn,
    agent: Option<&str>,
    grouping: Grouping,
    from: NaiveDateTime,
    to: NaiveDateTime,
    first_response_target_secs: u32,
    reopen_window_hours: u32,
) -> QueryResult<Vec<ChatCounts>> {
    let one_agent = if agent.is_some() {
        " AND c.agent_id = ?"
    } else {
        ""
    };
    let (keys, group_by) = match grouping {
        Grouping::Agent => ("'' AS skill, CAST(NULL AS TEXT) AS kind", "c.agent_id"),
        Grouping::AgentSkillKind => (
            "c.skill AS skill, c.kind AS kind",
            "c.agent_id, c.skill, c.kind",
        ),
    };
    let stars = |n: u8| {
        format!("CAST(SUM(CASE WHEN c.rating = {n} THEN 1 ELSE 0 END) AS BIGINT) AS stars{n}")
    };
    let chats_sql = format!(
        "SELECT c.agent_id AS agent_id, {keys}, CAST(COUNT(*) AS BIGINT) AS closed, {}, {}, {}, {}, {}, \
         CAST(SUM(CASE WHEN c.first_response_at IS NOT NULL AND c.accepted_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered, \
         CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) AS in_target, \
         CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) AS reopened, \
         CAST(SUM(CASE WHEN c.concurrent_at_accept > 0 THEN 1 ELSE 0 END) AS BIGINT) AS concurrent \
         FROM chats c \
         WHERE c.closed_at >= ? AND c.closed_at < ? AND c.status = 'closed' AND c.agent_id IS NOT NULL{} \
         GROUP BY {group_by}",
        stars(1),
        stars(2),
        stars(3),
        stars(4),
        stars(5),
        in_target_sql(conn),
        reopened_sql(conn),
        one_agent,
    );
    let target_plus_one = i32::try_from(first_response_target_secs)
        .unwrap_or(i32::MAX - 1)
        .saturating_add(1);
    let window = i32::try_from(reopen_window_hours).unwrap_or(i32::MAX);
    let chats_query = |sql: String| {
        diesel::sql_query(sql)
            .bind::<Integer, _>(target_plus_one)
            .bind::<Integer, _>(window)
            .bind::<Timestamp, _>(from)
            .bind::<Timestamp, _>(to)
    };
    match agent {
        None => run(conn, &chats_sql, |sql| {
            Raw(chats_query(sql), std::marker::PhantomData)
        }),
        Some(a) => run(conn, &chats_sql, |sql| {
            Raw(
                chats_query(sql).bind::<Text, _>(a.to_owned()),
                std::marker::PhantomData,
            )
        }),
    }
}

/// Every agent's [`Facts`] from their [`chat_counts`] (any grouping) and the period's
/// reviews, read here (`agent`: only theirs), as [`period_facts`] defines them.
pub fn facts_of(
    conn: &mut DbConn,
    agent: Option<&str>,
    from: NaiveDateTime,
    to: NaiveDateTime,
    chats: &[ChatCounts],
) -> QueryResult<BTreeMap<String, Facts>> {
    let one_agent = if agent.is_some() {
        " AND r.agent_id = ?"
    } else {
        ""
    };
    let reviews_sql = format!(
        "SELECT r.agent_id AS agent_id, COALESCE(d.amended_x100, r.total_x100) AS score_x100, \
         CAST(COUNT(*) AS BIGINT) AS n \
         FROM chat_reviews r LEFT JOIN review_disputes d ON d.review_id = r.id AND d.status = 'accepted' \
         WHERE r.chat_closed_at >= ? AND r.chat_closed_at < ?{one_agent} \
         GROUP BY r.agent_id, COALESCE(d.amended_x100, r.total_x100)",
    );
    let reviews_query = |sql: String| {
        diesel::sql_query(sql)
            .bind::<Timestamp, _>(from)
            .bind::<Timestamp, _>(to)
    };
    let review_rows: Vec<ReviewCounts> = match agent {
        None => run(conn, &reviews_sql, |sql| {
            Raw(reviews_query(sql), std::marker::PhantomData)
        })?,
        Some(a) => run(conn, &reviews_sql, |sql| {
            Raw(
                reviews_query(sql).bind::<Text, _>(a.to_owned()),
                std::marker::PhantomData,
            )
        })?,
    };

    let mut facts: BTreeMap<String, Facts> = BTreeMap::new();
    for row in chats {
        let f = facts.entry(row.agent_id.clone()).or_default();
        for (star, n) in [
            (1u8, row.stars1),
            (2, row.stars2),
            (3, row.stars3),
            (4, row.stars4),
            (5, row.stars5),
        ] {
            f.ratings
                .extend(std::iter::repeat_n(star, count(n) as usize));
        }
        f.closed += count(row.closed);
        f.answered += count(row.answered);
        f.answered_in_target += count(row.in_target);
        f.reopened += count(row.reopened);
    }
    for row in review_rows {
        let f = facts.entry(row.agent_id).or_default();
        let score = u32::try_from(row.score_x100.clamp(0, 10_000)).unwrap_or(0);
        f.review_scores_x100
            .extend(std::iter::repeat_n(score, count(row.n) as usize));
    }
    for f in facts.values_mut() {
        f.ratings.sort_unstable();
        f.review_scores_x100.sort_unstable();
    }
    Ok(facts)
}

/// What the review sample of one agent's period is drawn from.
pub struct SampleSource {
    pub agent_id: String,
    /// When the agent's first certification was granted (`None`: never).
    pub first_certified_at: Option<NaiveDateTime>,
    pub candidates: Vec<super::sampling::Candidate>,
    /// The candidates already reviewed, by anyone.
    pub reviewed: std::collections::BTreeSet<String>,
}

#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Integer>)]
    rating: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Integer>)]
    in_target: Option<i32>,
}

/// The agents with chats closed in `[from, to)` after `after` (agent id order, or its
/// reverse with `descending`), at most `limit`, each with their closed chats as sampling candidates (first reply judged as
/// [`period_facts`] does) and which of them were reviewed.
pub fn sample_sources(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    first_response_target_secs: u32,
    after: Option<&str>,
    limit: i64,
    descending: bool,
) -> QueryResult<Vec<SampleSource>> {
    use crate::db::schema::{certifications, chat_reviews, chats};

    let mut q = chats::table
        .filter(chats::closed_at.ge(from))
        .filter(chats::closed_at.lt(to))
        .filter(chats::status.eq("closed"))
        .filter(chats::agent_id.is_not_null())
        .select(chats::agent_id.assume_not_null())
        .distinct()
        .limit(limit)
        .into_boxed();
    q = if descending {
        q.order(chats::agent_id.desc())
    } else {
        q.order(chats::agent_id.asc())
    };
    match (after, descending) {
        (Some(a), false) => q = q.filter(chats::agent_id.gt(a.to_owned())),
        (Some(a), true) => q = q.filter(chats::agent_id.lt(a.to_owned())),
        (None, _) => {}
    }
    let agents: Vec<String> = q.load(conn)?;
    let target_plus_one = i32::try_from(first_response_target_secs)
        .unwrap_or(i32::MAX - 1)
        .saturating_add(1);
    let sql = format!(
        "SELECT c.id AS id, c.rating AS rating, \
         CASE WHEN c.first_response_at IS NULL OR c.accepted_at IS NULL THEN NULL WHEN {} THEN 1 ELSE 0 END AS in_target \
         FROM chats c WHERE c.agent_id = ? AND c.closed_at >= ? AND c.closed_at < ? AND c.status = 'closed'",
        in_target_sql(conn)
    );
    let mut out = Vec::with_capacity(agents.len());
    for agent in agents {
        let rows: Vec<CandidateRow> = run(conn, &sql, |sql| {
            Raw(
                diesel::sql_query(sql)
                    .bind::<Integer, _>(target_plus_one)
                    .bind::<Text, _>(agent.clone())
                    .bind::<Timestamp, _>(from)
                    .bind::<Timestamp, _>(to),
                std::marker::PhantomData,
            )
        })?;
        let reviewed: Vec<String> = chat_reviews::table
            .filter(chat_reviews::agent_id.eq(&agent))
            .filter(chat_reviews::chat_closed_at.ge(from))
            .filter(chat_reviews::chat_closed_at.lt(to))
            .select(chat_reviews::chat_id)
            .load(conn)?;
        let first_certified_at: Option<NaiveDateTime> = certifications::table
            .filter(certifications::agent_id.eq(&agent))
            .select(diesel::dsl::min(certifications::certified_at))
            .first(conn)?;
        out.push(SampleSource {
            agent_id: agent,
            first_certified_at,
            candidates: rows
                .into_iter()
                .map(|r| super::sampling::Candidate {
                    chat_id: r.id,
                    rating: r.rating.and_then(|v| u8::try_from(v).ok()),
                    first_response_in_target: r.in_target.map(|v| v == 1),
                })
                .collect(),
            reviewed: reviewed.into_iter().collect(),
        });
    }
    Ok(out)
}
