//! Agent rows: profile and lifecycle status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::model::AccountId;
use crate::db::DbConn;
use crate::db::schema::{accounts, agents, lifecycle_events};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agents)]
pub struct AgentRow {
    pub account_id: AccountId,
    pub status: String,
    pub status_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub previous_status: Option<String>,
    pub languages: String,
    pub skills: String,
    pub availability: String,
    pub max_concurrent_chats: i32,
    pub accessibility: String,
    pub left_reason: Option<String>,
}

pub fn find(conn: &mut DbConn, id: &AccountId) -> QueryResult<Option<AgentRow>> {
    agents::table
        .find(id)
        .select(AgentRow::as_select())
        .first(conn)
        .optional()
}

pub struct ProfileRow<'a> {
    pub display_name: &'a str,
    pub time_zone: &'a str,
    pub languages: &'a str,
    pub skills: &'a str,
    pub availability: &'a str,
    pub max_concurrent_chats: i32,
    pub accessibility: &'a str,
}

pub fn save_profile(
    conn: &mut DbConn,
    id: &AccountId,
    p: &ProfileRow<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::display_name.eq(p.display_name),
            accounts::time_zone.eq(p.time_zone),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(agents::table.find(id))
        .set((
            agents::languages.eq(p.languages),
            agents::skills.eq(p.skills),
            agents::availability.eq(p.availability),
            agents::max_concurrent_chats.eq(p.max_concurrent_chats),
            agents::accessibility.eq(p.accessibility),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves the agent from `from` to `to` if still in `from` (false when it changed meanwhile).
pub fn set_status(
    conn: &mut DbConn,
    id: &AccountId,
    from: &str,
    to: &str,
    previous: Option<&str>,
    left_reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(agents::table.find(id).filter(agents::status.eq(from)))
        .set((
            agents::status.eq(to),
            agents::previous_status.eq(previous),
            agents::left_reason.eq(left_reason),
            agents::status_changed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lifecycle_events)]
pub struct EventRow {
    pub id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_account_id: Option<String>,
    pub reason: Option<String>,
    pub occurred_at: NaiveDateTime,
}

/// An agent's lifecycle events, newest first, keyset-paginated by id.
pub fn timeline(
    conn: &mut DbConn,
    id: &AccountId,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = lifecycle_events::table
        .filter(lifecycle_events::entity_type.eq("agent"))
        .filter(lifecycle_events::entity_id.eq(id.as_str().to_owned()))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(lifecycle_events::id.lt(before.to_owned()));
    }
    query
        .order(lifecycle_events::id.desc())
        .limit(limit)
        .load(conn)
}

/// Serializes use cases on one agent: on PostgreSQL the agent's row is locked until the
/// transaction ends; SQLite's write transactions are serialized already.
pub fn lock_agent(conn: &mut DbConn, id: &AccountId) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        agents::table
            .find(id)
            .select(agents::account_id)
            .for_update()
            .first::<AccountId>(c)
            .optional()?;
    }
    Ok(())
}

/// Sets the status a suspended or departed agent returns to.
pub fn set_previous_status(
    conn: &mut DbConn,
    id: &AccountId,
    previous: crate::accounts::model::AgentStatus,
) -> QueryResult<()> {
    diesel::update(agents::table.find(id))
        .set(agents::previous_status.eq(previous.as_str()))
        .execute(conn)?;
    Ok(())
}
