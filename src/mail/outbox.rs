//! The outbox table: mail waiting to leave the process.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::OutgoingMail;
use crate::db::schema::outbox;
use crate::db::{DbConn, new_id};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// JSON list of [`super::Attachment`].
    pub attachments: String,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewOutboxRow<'a> {
    id: &'a str,
    recipient: &'a str,
    subject: &'a str,
    body_text: &'a str,
    body_html: &'a str,
    status: &'a str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    attachments: &'a str,
}

/// What admins see of a queued mail (never the body: it may hold one-time links).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxEntry {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<OutboxRow> for OutboxEntry {
    fn from(r: OutboxRow) -> Self {
        OutboxEntry {
            id: r.id,
            recipient: r.recipient,
            subject: r.subject,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.and_utc(),
            last_error: r.last_error,
            created_at: r.created_at.and_utc(),
            sent_at: r.sent_at.map(|t| t.and_utc()),
        }
    }
}

/// Queues a mail; call inside the transaction of the change that causes it.
pub fn enqueue(conn: &mut DbConn, mail: &OutgoingMail, now: NaiveDateTime) -> QueryResult<String> {
    let id = new_id();
    let attachments = serde_json::to_string(&mail.attachments)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::insert_into(outbox::table)
        .values(NewOutboxRow {
            id: &id,
            recipient: &mail.to,
            subject: &mail.subject,
            body_text: &mail.text,
            body_html: &mail.html,
            status: "pending",
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            attachments: &attachments,
        })
        .execute(conn)?;
    Ok(id)
}

/// Delay before attempt `attempts + 1`, after `attempts` failures: `base` doubling up to
/// an hour (30 s, 1 min, 2 min ... with the default base).
pub fn backoff(attempts: i32, base: Duration) -> Duration {
    let exponent = (attempts.max(1) - 1).min(12) as u32;
    (base * 2_i32.pow(exponent)).min(Duration::hours(1))
}

/// Leases up to `limit` due mails to this sender for `lease`, so that two senders (two
/// instances) never deliver the same mail at the same time. Call in a write transaction.
pub fn lease_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<OutboxRow>> {
    let free = outbox::lease_until
        .is_null()
        .or(outbox::lease_until.lt(now));
    let candidates: Vec<String> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.le(now))
        .filter(free)
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select(outbox::id)
        .load(conn)?;
    let mut leased = Vec::with_capacity(candidates.len());
    for id in candidates {
        let taken = diesel::update(
            outbox::table.find(&id).filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.lt(now)),
            ),
        )
        .set(outbox::lease_until.eq(now + lease))
        .execute(conn)?;
        if taken == 1 {
            leased.push(
                outbox::table
                    .find(&id)
                    .select(OutboxRow::as_select())
                    .first(conn)?,
            );
        }
    }
    Ok(leased)
}

pub fn mark_sent(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(now),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried after [`backoff`], or `failed` for good after
/// `max_attempts` (admins see and can retry those).
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    row: &OutboxRow,
    error: &str,
    now: NaiveDateTime,
    max_attempts: i32,
    retry_base: Duration,
) -> QueryResult<()> {
    let attempts = row.attempts + 1;
    let status = if attempts >= max_attempts {
        "failed"
    } else {
        "pending"
    };
    let error: String = error.chars().take(500).collect();
    diesel::update(outbox::table.find(&row.id))
        .set((
            outbox::status.eq(status),
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(now + backoff(attempts, retry_base)),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Puts a failed mail back in the queue for immediate delivery. Returns false when there
/// is no failed mail with that id.
pub fn retry_failed(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(outbox::table.find(id).filter(outbox::status.eq("failed")))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// Newest first, keyset-paginated by id (uuid v7, so id order is creation order).
pub fn list(
    conn: &mut DbConn,
    status: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut query = outbox::table.select(OutboxRow::as_select()).into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(outbox::id.lt(before.to_owned()));
    }
    query.order(outbox::id.desc()).limit(limit).load(conn)
}

/// How many mails are in each state (for /metrics and the admin home page).
pub fn counts(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_to_an_hour() {
        let base = Duration::seconds(30);
        assert_eq!(backoff(1, base), Duration::seconds(30));
        assert_eq!(backoff(2, base), Duration::seconds(60));
        assert_eq!(backoff(3, base), Duration::seconds(120));
        assert_eq!(backoff(7, base), Duration::seconds(1920));
        assert_eq!(backoff(8, base), Duration::hours(1));
        assert_eq!(backoff(50, base), Duration::hours(1));
    }

    proptest! {
        #[test]
        fn backoff_is_monotonic_and_bounded(a in 0i32..100, base_secs in 1i64..600) {
            let base = Duration::seconds(base_secs);
            prop_assert!(backoff(a, base) <= backoff(a + 1, base));
            prop_assert!(backoff(a, base) <= Duration::hours(1));
            prop_assert!(backoff(a, base) >= base.min(Duration::hours(1)));
        }
    }
}
