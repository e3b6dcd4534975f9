//! What the activity timeline ([`super::timeline`]) reads: an agent's presence changes,
//! checked-in shifts and chat holds over a window, or one shop's worked shifts and an
//! agent's chats for it. A fixed number of queries whatever the length of the range; reads
//! only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::timeline::{
    Assignment, ChatOutcomes, HOLD_ENDS, HOLD_STARTS, History, Hold, HoldEvent, Worked,
};
use crate::chat::fairness::{Presence, Span};
use crate::chat::fairness_store;
use crate::db::DbConn;
use crate::db::schema::{
    accounts, agent_presence, agents, chat_events, chats, merchants, shift_assignments, shifts,
};

/// Ids per query, well below either backend's limit on bind parameters.
const CHUNK: usize = 500;

/// An agent's name and time zone; `None` when the account is not an agent's.
pub fn agent(conn: &mut DbConn, agent: &str) -> QueryResult<Option<(String, String)>> {
    accounts::table
        .inner_join(agents::table.on(agents::account_id.eq(accounts::id)))
        .filter(accounts::id.eq(agent))
        .select((accounts::display_name, accounts::time_zone))
        .first(conn)
        .optional()
}

/// Checked-in assignments of `agent` (or of anyone) on `merchant`'s (or any shop's) shifts
/// that overlap `window`.
pub fn assignments(
    conn: &mut DbConn,
    agent: Option<&str>,
    merchant: Option<&str>,
    window: Span,
) -> QueryResult<Vec<Assignment>> {
    let mut q = shift_assignments::table
        .inner_join(shifts::table)
        .inner_join(merchants::table.on(merchants::id.eq(shifts::merchant_id)))
        .filter(shift_assignments::checked_in_at.lt(window.end))
        .filter(shifts::starts_at.lt(window.end))
        .filter(shifts::ends_at.gt(window.start))
        .select((
            shifts::id,
            shift_assignments::agent_id,
            shifts::merchant_id,
            merchants::name,
            shifts::starts_at,
            shifts::ends_at,
            shift_assignments::checked_in_at,
            shift_assignments::checked_out_at,
            shift_assignments::ended_at,
        ))
        .into_boxed();
    if let Some(a) = agent {
        q = q.filter(shift_assignments::agent_id.eq(a.to_owned()));
    }
    if let Some(m) = merchant {
        q = q.filter(shifts::merchant_id.eq(m.to_owned()));
    }
    type Row = (
        String,
        String,
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    Ok(q.load::<Row>(conn)?
        .into_iter()
        .filter_map(|r| {
            Some(Assignment {
                shift_id: r.0,
                agent_id: r.1,
                merchant_id: r.2,
                merchant_name: r.3,
                shift_start: r.4,
                shift_end: r.5,
                checked_in_at: r.6?,
                checked_out_at: r.7,
                ended_at: r.8,
            })
        })
        .collect())
}

/// The worked time of those assignments.
pub fn worked(
    conn: &mut DbConn,
    agent: Option<&str>,
    merchant: Option<&str>,
    window: Span,
    now: NaiveDateTime,
) -> QueryResult<Vec<Worked>> {
    Ok(assignments(conn, agent, merchant, window)?
        .iter()
        .filter_map(|a| super::timeline::worked(a, now))
        .collect())
}

/// The agent's holds on `merchant`'s (or any shop's) chats that touch `window`. The chats
/// are found from the window's own hold events, which include the end of every hold of a
/// chat open when the window opened; the only holds with no event inside the window are
/// those spanning it whole: still held now, or let go after the window closed (of a chat
/// created before it opened). Every hold event of those chats is then read, the earlier
/// starts included, so that each hold is paired with its start. Nothing is read before the
/// window but those chats' own events.
pub fn holds(
    conn: &mut DbConn,
    agent: &str,
    merchant: Option<&str>,
    window: Span,
    now: NaiveDateTime,
) -> QueryResult<Vec<Hold>> {
    let kinds: Vec<&str> = HOLD_STARTS
        .iter()
        .chain(HOLD_ENDS.iter())
        .copied()
        .collect();
    let mut touching: BTreeSet<String> = chat_events::table
        .filter(chat_events::agent_id.eq(agent))
        .filter(chat_events::kind.eq_any(&kinds))
        .filter(chat_events::at.ge(window.start))
        .filter(chat_events::at.lt(window.end))
        .select(chat_events::chat_id)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect();
    touching.extend(
        chats::table
            .filter(chats::agent_id.eq(agent))
            .filter(chats::status.eq("assigned"))
            .filter(chats::created_at.lt(window.end))
            .select(chats::id)
            .load::<String>(conn)?,
    );
    if window.end <= now {
        touching.extend(
            chat_events::table
                .inner_join(chats::table.on(chats::id.eq(chat_events::chat_id)))
                .filter(chat_events::agent_id.eq(agent))
                .filter(chat_events::kind.eq_any(HOLD_ENDS.to_vec()))
                .filter(chat_events::at.ge(window.end))
                .filter(chats::created_at.lt(window.start))
                .select(chat_events::chat_id)
                .distinct()
                .load::<String>(conn)?,
        );
    }
    let touching: Vec<String> = touching.into_iter().collect();
    let mut rows: Vec<(String, String, String, NaiveDateTime, String)> = Vec::new();
    for chunk in touching.chunks(CHUNK) {
        let mut q = chat_events::table
            .inner_join(chats::table.on(chats::id.eq(chat_events::chat_id)))
            .filter(chat_events::agent_id.eq(agent))
            .filter(chat_events::kind.eq_any(&kinds))
            .filter(chat_events::chat_id.eq_any(chunk))
            .select((
                chat_events::id,
                chat_events::chat_id,
                chats::merchant_id,
                chat_events::at,
                chat_events::kind,
            ))
            .into_boxed();
        if let Some(m) = merchant {
            q = q.filter(chats::merchant_id.eq(m.to_owned()));
        }
        rows.extend(q.load::<(String, String, String, NaiveDateTime, String)>(conn)?);
    }
    let events = rows
        .into_iter()
        .filter_map(|(id, chat_id, merchant_id, at, kind)| {
            Some(HoldEvent {
                starts: HoldEvent::starts(&kind)?,
                id,
                chat_id,
                merchant_id,
                at,
            })
        })
        .collect();
    Ok(super::timeline::holds(events, now))
}

/// Everything the agent's timeline over `window` needs.
pub fn history(
    conn: &mut DbConn,
    agent: &str,
    window: Span,
    now: NaiveDateTime,
) -> QueryResult<History> {
    let mut presence: Vec<(NaiveDateTime, Presence)> =
        fairness_store::presence(conn, &[agent.to_owned()], window)?
            .into_iter()
            .map(|(_, at, status)| (at, Presence::parse(&status)))
            .collect();
    // The current row is the last word: it covers a change written before the event log.
    let current: Option<(String, NaiveDateTime)> = agent_presence::table
        .find(agent)
        .select((agent_presence::status, agent_presence::status_since))
        .first(conn)
        .optional()?;
    if let Some((status, since)) = current {
        let newest = presence.iter().map(|(at, _)| *at).max();
        if newest.is_none_or(|n| since > n) {
            presence.push((since, Presence::parse(&status)));
        }
    }
    Ok(History {
        presence,
        worked: worked(conn, Some(agent), None, window, now)?,
        holds: holds(conn, agent, None, window, now)?,
    })
}

/// Display names of `ids` (at most the agents of one shop's report).
pub fn names(conn: &mut DbConn, ids: &[String]) -> QueryResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String)> = accounts::table
            .filter(accounts::id.eq_any(chunk))
            .select((accounts::id, accounts::display_name))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Close time and rating of `ids`.
pub fn chat_outcomes(conn: &mut DbConn, ids: &[String]) -> QueryResult<ChatOutcomes> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, Option<NaiveDateTime>, Option<i32>)> = chats::table
            .filter(chats::id.eq_any(chunk))
            .select((chats::id, chats::closed_at, chats::rating))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, c, r)| (id, (c, r))));
    }
    Ok(out)
}

/// The agent's display name as `merchant` may see it: only an agent who held one of its
/// shifts (others stay anonymous to the shop).
pub fn name_for_shop(
    conn: &mut DbConn,
    merchant: &str,
    agent: &str,
) -> QueryResult<Option<String>> {
    accounts::table
        .inner_join(shift_assignments::table.on(shift_assignments::agent_id.eq(accounts::id)))
        .filter(accounts::id.eq(agent))
        .filter(shift_assignments::merchant_id.eq(merchant))
        .select(accounts::display_name)
        .first(conn)
        .optional()
}
