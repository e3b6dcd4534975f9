//! What the fairness report ([`super::fairness`]) reads, for one shop or for all of them:
//! checked-in shift time, presence changes, offers, take-backs and last assignments. Reads
//! only; a shop's report touches only its own shifts and chats.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::fairness::{AgentRecord, Offer, OfferOutcome, Presence, Span};
use crate::db::DbConn;
use crate::db::schema::{
    accounts, chat_events, chat_offers, chats, presence_events, shift_assignments,
};

/// Agent ids per query, well below either backend's limit on bind parameters.
const CHUNK: usize = 500;

/// Offer outcomes that made the chat the agent's.
const ASSIGNED: [&str; 2] = ["accepted", "auto_accepted"];

fn record<'a>(by_agent: &'a mut BTreeMap<String, AgentRecord>, agent: &str) -> &'a mut AgentRecord {
    by_agent
        .entry(agent.to_owned())
        .or_insert_with(|| AgentRecord {
            agent_id: agent.to_owned(),
            ..AgentRecord::default()
        })
}

/// Every agent with checked-in time, an offer or a take-back of `merchant`'s (or any
/// shop's) within `window`, with what the report needs about them.
pub fn records(
    conn: &mut DbConn,
    merchant: Option<&str>,
    window: Span,
    now: NaiveDateTime,
) -> QueryResult<Vec<AgentRecord>> {
    let mut by_agent: BTreeMap<String, AgentRecord> = BTreeMap::new();

    let mut shifts = shift_assignments::table
        .filter(shift_assignments::checked_in_at.lt(window.end))
        .filter(shift_assignments::ends_at.gt(window.start))
        .select((
            shift_assignments::agent_id,
            shift_assignments::checked_in_at,
            shift_assignments::checked_out_at,
            shift_assignments::ended_at,
            shift_assignments::ends_at,
        ))
        .into_boxed();
    if let Some(m) = merchant {
        shifts = shifts.filter(shift_assignments::merchant_id.eq(m.to_owned()));
    }
    type ShiftTimes = (
        String,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        NaiveDateTime,
    );
    for (agent, checked_in, out, ended, ends) in shifts.load::<ShiftTimes>(conn)? {
        // Eligible from check-in until check-out, the assignment's end or the shift's end.
        let end = [out, ended]
            .into_iter()
            .flatten()
            .fold(ends, NaiveDateTime::min);
        let Some(span) = checked_in.and_then(|start| Span::new(start, end)) else {
            continue;
        };
        if span.start < window.end && window.start < span.end {
            record(&mut by_agent, &agent).checked_in.push(span);
        }
    }

    let mut offers = chat_offers::table
        .inner_join(chats::table)
        .filter(chat_offers::offered_at.ge(window.start))
        .filter(chat_offers::offered_at.lt(window.end))
        .select((
            chat_offers::agent_id,
            chat_offers::offered_at,
            chat_offers::outcome,
        ))
        .into_boxed();
    if let Some(m) = merchant {
        offers = offers.filter(chats::merchant_id.eq(m.to_owned()));
    }
    for (agent, at, outcome) in offers.load::<(String, NaiveDateTime, Option<String>)>(conn)? {
        record(&mut by_agent, &agent).offers.push(Offer {
            at,
            outcome: OfferOutcome::parse(outcome.as_deref()),
        });
    }

    let mut takebacks = chat_events::table
        .inner_join(chats::table.on(chats::id.eq(chat_events::chat_id)))
        .filter(chat_events::kind.eq("taken_back"))
        .filter(chat_events::at.ge(window.start))
        .filter(chat_events::at.lt(window.end))
        .select((chat_events::agent_id, chat_events::at))
        .into_boxed();
    if let Some(m) = merchant {
        takebacks = takebacks.filter(chats::merchant_id.eq(m.to_owned()));
    }
    for (agent, at) in takebacks.load::<(Option<String>, NaiveDateTime)>(conn)? {
        if let Some(agent) = agent {
            record(&mut by_agent, &agent).takebacks.push(at);
        }
    }

    let ids: Vec<String> = by_agent.keys().cloned().collect();
    for chunk in ids.chunks(CHUNK) {
        let names: Vec<(String, String)> = accounts::table
            .filter(accounts::id.eq_any(chunk))
            .select((accounts::id, accounts::display_name))
            .load(conn)?;
        for (agent, name) in names {
            record(&mut by_agent, &agent).display_name = name;
        }
        for (agent, at, status) in presence(conn, chunk, window)? {
            record(&mut by_agent, &agent)
                .presence
                .push((at, Presence::parse(&status)));
        }
        for (agent, at) in last_assignments(conn, merchant, chunk, now)? {
            record(&mut by_agent, &agent).last_assigned_at = at;
        }
    }
    Ok(by_agent.into_values().collect())
}

/// The presence changes of `agents` within `window`, and the last one of each before it
/// (the status in force when the window opens).
pub(crate) fn presence(
    conn: &mut DbConn,
    agents: &[String],
    window: Span,
) -> QueryResult<Vec<(String, NaiveDateTime, String)>> {
    let mut rows: Vec<(String, NaiveDateTime, String)> = presence_events::table
        .filter(presence_events::agent_id.eq_any(agents))
        .filter(presence_events::at.ge(window.start))
        .filter(presence_events::at.lt(window.end))
        .select((
            presence_events::agent_id,
            presence_events::at,
            presence_events::status,
        ))
        .load(conn)?;
    let latest: Vec<(String, Option<NaiveDateTime>)> = presence_events::table
        .filter(presence_events::agent_id.eq_any(agents))
        .filter(presence_events::at.lt(window.start))
        .group_by(presence_events::agent_id)
        .select((
            presence_events::agent_id,
            diesel::dsl::max(presence_events::at),
        ))
        .load(conn)?;
    let latest: BTreeSet<(String, NaiveDateTime)> = latest
        .into_iter()
        .filter_map(|(agent, at)| Some((agent, at?)))
        .collect();
    if !latest.is_empty() {
        let times: BTreeSet<NaiveDateTime> = latest.iter().map(|(_, at)| *at).collect();
        let before: Vec<(String, NaiveDateTime, String)> = presence_events::table
            .filter(presence_events::agent_id.eq_any(agents))
            .filter(presence_events::at.eq_any(times))
            .select((
                presence_events::agent_id,
                presence_events::at,
                presence_events::status,
            ))
            .load(conn)?;
        rows.extend(
            before
                .into_iter()
                .filter(|(agent, at, _)| latest.contains(&(agent.clone(), *at))),
        );
    }
    Ok(rows)
}

/// Each agent's last assignment by `merchant` (or any shop) up to `now`.
fn last_assignments(
    conn: &mut DbConn,
    merchant: Option<&str>,
    agents: &[String],
    now: NaiveDateTime,
) -> QueryResult<Vec<(String, Option<NaiveDateTime>)>> {
    let mut q = chat_offers::table
        .inner_join(chats::table)
        .filter(chat_offers::agent_id.eq_any(agents))
        .filter(chat_offers::outcome.eq_any(ASSIGNED))
        .filter(chat_offers::offered_at.le(now))
        .group_by(chat_offers::agent_id)
        .select((
            chat_offers::agent_id,
            diesel::dsl::max(chat_offers::offered_at),
        ))
        .into_boxed();
    if let Some(m) = merchant {
        q = q.filter(chats::merchant_id.eq(m.to_owned()));
    }
    q.load(conn)
}
