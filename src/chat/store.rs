//! Chats, customers, offers and presence in the database. Every function takes the caller's
//! connection so a use case decides its transaction; the routing state lives here, so any
//! instance can serve any queue.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::identity::{self, Customer, CustomerId, Identity, IdentityKind, Link};
use crate::accounts::model::{AccountId, MerchantId};
use crate::db::schema::{
    accounts, agent_presence, agents, chat_events, chat_messages, chat_offers, chats,
    customer_identities, customers, presence_events, shift_assignments, shifts,
};
use crate::db::{DbConn, new_id};

/// Statuses of a chat that is still going on.
pub const OPEN: [&str; 4] = ["queued", "offered", "assigned", "left_message"];
/// Statuses that hold one of an agent's slots.
pub const HELD: [&str; 2] = ["offered", "assigned"];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chats)]
pub struct ChatRow {
    pub id: String,
    pub merchant_id: String,
    pub customer_id: String,
    pub skill: String,
    pub channel: String,
    pub status: String,
    pub agent_id: Option<String>,
    pub priority: i32,
    pub queued_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub first_offered_at: Option<NaiveDateTime>,
    pub accepted_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub close_reason: Option<String>,
    pub last_seq: i32,
    pub customer_messages: i32,
    pub agent_messages: i32,
    pub transfers: i32,
    pub takebacks: i32,
    pub customer_read_seq: i32,
    pub agent_read_seq: i32,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub customer_name: Option<String>,
    pub last_customer_at: NaiveDateTime,
    pub idle_warned_at: Option<NaiveDateTime>,
    pub handover_note: Option<String>,
    /// The chat's kind for the piece rate (pay.toml's chat kinds); `None` is a standard
    /// chat.
    pub kind: Option<String>,
    /// Other chats the agent held when this one became theirs.
    pub concurrent_at_accept: i32,
}

impl ChatRow {
    pub fn is_open(&self) -> bool {
        OPEN.contains(&self.status.as_str())
    }

    pub fn held_by(&self, agent: &AccountId) -> bool {
        HELD.contains(&self.status.as_str()) && self.agent_id.as_deref() == Some(agent.as_str())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_messages)]
pub struct MessageRow {
    pub chat_id: String,
    pub seq: i32,
    pub sender: String,
    pub author_id: Option<String>,
    pub body: String,
    pub client_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn chat(conn: &mut DbConn, id: &str) -> QueryResult<Option<ChatRow>> {
    chats::table
        .find(id)
        .select(ChatRow::as_select())
        .first(conn)
        .optional()
}

pub fn chat_by_token(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<ChatRow>> {
    chats::table
        .filter(chats::customer_token_hash.eq(token_hash))
        .select(ChatRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the chat row for the rest of the transaction on PostgreSQL (SQLite's write
/// transaction already excludes other writers).
pub fn lock_chat(conn: &mut DbConn, id: &str) -> QueryResult<Option<ChatRow>> {
    match conn {
        DbConn::Pg(c) => chats::table
            .find(id)
            .select(ChatRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => chat(conn, id),
    }
}

/// Serialises routing of one merchant's queue for a skill across instances (PostgreSQL
/// advisory lock for the transaction; SQLite's write transaction already does).
pub fn lock_queue(conn: &mut DbConn, merchant: &str, skill: &str) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(format!("chat-queue:{merchant}:{skill}"))
            .execute(c)?;
    }
    Ok(())
}

// ----- customers -----

/// The merchant's customers that hold any of `identities`, with all their identities.
pub fn customers_with(
    conn: &mut DbConn,
    merchant: &MerchantId,
    identities: &BTreeSet<Identity>,
) -> QueryResult<Vec<Customer>> {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for identity in identities {
        if let Some(id) = customer_identities::table
            .find((
                merchant.as_str(),
                identity.kind().as_str(),
                identity.value(),
            ))
            .select(customer_identities::customer_id)
            .first::<String>(conn)
            .optional()?
        {
            ids.insert(id);
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, NaiveDateTime)> = customers::table
        .filter(customers::id.eq_any(&ids))
        .select((customers::id, customers::created_at))
        .load(conn)?;
    let held: Vec<(String, String, String)> = customer_identities::table
        .filter(customer_identities::customer_id.eq_any(&ids))
        .select((
            customer_identities::customer_id,
            customer_identities::kind,
            customer_identities::value,
        ))
        .load(conn)?;
    let mut by_customer: BTreeMap<String, BTreeSet<Identity>> = BTreeMap::new();
    for (customer, kind, value) in held {
        if let Ok(identity) = IdentityKind::parse(&kind).and_then(|k| Identity::parse(k, &value)) {
            by_customer.entry(customer).or_default().insert(identity);
        }
    }
    Ok(rows
        .into_iter()
        .map(|(id, created_at)| Customer {
            identities: by_customer.remove(&id).unwrap_or_default(),
            id: CustomerId(id),
            merchant: merchant.clone(),
            created_at,
        })
        .collect())
}

/// Finds or creates the customer behind `identities` (One-ID), merging customers the
/// identities join. Call inside a write transaction.
pub fn link_customer(
    conn: &mut DbConn,
    merchant: &MerchantId,
    identities: &BTreeSet<Identity>,
    display_name: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<CustomerId> {
    let existing = customers_with(conn, merchant, identities)?;
    // Every identity already stored belongs to one of these customers.
    let known: BTreeSet<&Identity> = existing.iter().flat_map(|c| &c.identities).collect();
    let decision = identity::link(merchant, &existing, identities);
    let customer = match &decision {
        Link::New => {
            let id = CustomerId(new_id());
            diesel::insert_into(customers::table)
                .values((
                    customers::id.eq(&id.0),
                    customers::merchant_id.eq(merchant.as_str()),
                    customers::display_name.eq(display_name),
                    customers::created_at.eq(now),
                    customers::updated_at.eq(now),
                ))
                .execute(conn)?;
            id
        }
        Link::Existing(id) => id.clone(),
        Link::Merge { survivor, absorbed } => {
            merge(conn, survivor, absorbed, now)?;
            survivor.clone()
        }
    };
    for identity in identities.iter().filter(|i| !known.contains(i)) {
        diesel::insert_into(customer_identities::table)
            .values((
                customer_identities::merchant_id.eq(merchant.as_str()),
                customer_identities::kind.eq(identity.kind().as_str()),
                customer_identities::value.eq(identity.value()),
                customer_identities::customer_id.eq(&customer.0),
                customer_identities::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    if let Some(name) = display_name
        && decision != Link::New
    {
        diesel::update(customers::table.find(&customer.0))
            .filter(customers::display_name.is_null())
            .set(customers::display_name.eq(name))
            .execute(conn)?;
    }
    Ok(customer)
}

/// Moves the absorbed customers' identities and chats to the survivor and keeps the most
/// recent "last agent" of them all.
fn merge(
    conn: &mut DbConn,
    survivor: &CustomerId,
    absorbed: &[CustomerId],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let absorbed: Vec<&str> = absorbed.iter().map(|c| c.0.as_str()).collect();
    diesel::update(
        customer_identities::table.filter(customer_identities::customer_id.eq_any(&absorbed)),
    )
    .set(customer_identities::customer_id.eq(&survivor.0))
    .execute(conn)?;
    diesel::update(chats::table.filter(chats::customer_id.eq_any(&absorbed)))
        .set(chats::customer_id.eq(&survivor.0))
        .execute(conn)?;
    let latest: Option<(Option<String>, Option<NaiveDateTime>)> = customers::table
        .filter(
            customers::id
                .eq_any(&absorbed)
                .or(customers::id.eq(&survivor.0)),
        )
        .filter(customers::last_served_at.is_not_null())
        .order(customers::last_served_at.desc())
        .select((customers::last_agent_id, customers::last_served_at))
        .first(conn)
        .optional()?;
    let notes: Vec<String> = customers::table
        .filter(customers::id.eq_any(&absorbed))
        .filter(customers::notes.ne(""))
        .select(customers::notes)
        .load(conn)?;
    let survivor_notes: String = customers::table
        .find(&survivor.0)
        .select(customers::notes)
        .first(conn)?;
    let joined = std::iter::once(survivor_notes)
        .chain(notes)
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    diesel::update(customers::table.filter(customers::id.eq_any(&absorbed)))
        .set((
            customers::merged_into.eq(&survivor.0),
            customers::updated_at.eq(now),
        ))
        .execute(conn)?;
    let (last_agent, last_served) = latest.unwrap_or((None, None));
    diesel::update(customers::table.find(&survivor.0))
        .set((
            customers::last_agent_id.eq(last_agent),
            customers::last_served_at.eq(last_served),
            customers::notes.eq(joined),
            customers::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct CustomerRow {
    pub id: String,
    pub merchant_id: String,
    pub display_name: Option<String>,
    pub notes: String,
    pub merged_into: Option<String>,
    pub last_agent_id: Option<String>,
    pub last_served_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn customer(conn: &mut DbConn, id: &str) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .find(id)
        .select((
            customers::id,
            customers::merchant_id,
            customers::display_name,
            customers::notes,
            customers::merged_into,
            customers::last_agent_id,
            customers::last_served_at,
            customers::created_at,
        ))
        .first(conn)
        .optional()
}

pub fn identities_of(conn: &mut DbConn, customer: &str) -> QueryResult<Vec<(String, String)>> {
    customer_identities::table
        .filter(customer_identities::customer_id.eq(customer))
        .order((customer_identities::kind, customer_identities::value))
        .select((customer_identities::kind, customer_identities::value))
        .load(conn)
}

pub fn set_notes(
    conn: &mut DbConn,
    customer: &str,
    notes: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(customers::table.find(customer))
        .set((customers::notes.eq(notes), customers::updated_at.eq(now)))
        .execute(conn)
}

/// The customer's chats, newest first (their history across channels).
pub fn chats_of_customer(
    conn: &mut DbConn,
    customer: &str,
    limit: i64,
) -> QueryResult<Vec<ChatRow>> {
    chats::table
        .filter(chats::customer_id.eq(customer))
        .order((chats::created_at.desc(), chats::id.desc()))
        .limit(limit)
        .select(ChatRow::as_select())
        .load(conn)
}

// ----- chats -----

pub struct NewChat<'a> {
    pub id: &'a str,
    pub merchant: &'a MerchantId,
    pub customer: &'a CustomerId,
    pub skill: &'a str,
    pub channel: &'a str,
    pub status: &'a str,
    pub token_hash: &'a str,
    pub customer_name: Option<&'a str>,
    pub kind: Option<&'a str>,
}

pub fn insert_chat(conn: &mut DbConn, chat: &NewChat<'_>, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(chats::table)
        .values((
            chats::id.eq(chat.id),
            chats::merchant_id.eq(chat.merchant.as_str()),
            chats::customer_id.eq(&chat.customer.0),
            chats::skill.eq(chat.skill),
            chats::channel.eq(chat.channel),
            chats::status.eq(chat.status),
            chats::queued_at.eq(now),
            chats::created_at.eq(now),
            chats::customer_token_hash.eq(chat.token_hash),
            chats::customer_name.eq(chat.customer_name),
            chats::kind.eq(chat.kind),
            chats::last_customer_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn event(
    conn: &mut DbConn,
    chat: &str,
    kind: &str,
    agent: Option<&str>,
    note: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(chat_events::table)
        .values((
            chat_events::id.eq(new_id()),
            chat_events::chat_id.eq(chat),
            chat_events::at.eq(at),
            chat_events::kind.eq(kind),
            chat_events::agent_id.eq(agent),
            chat_events::note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub at: NaiveDateTime,
    pub kind: String,
    pub agent_id: Option<String>,
    pub note: Option<String>,
}

pub fn events_of(conn: &mut DbConn, chat: &str) -> QueryResult<Vec<EventRow>> {
    chat_events::table
        .filter(chat_events::chat_id.eq(chat))
        .order((chat_events::at, chat_events::id))
        .select((
            chat_events::at,
            chat_events::kind,
            chat_events::agent_id,
            chat_events::note,
        ))
        .load(conn)
}

/// The outcome of storing a message.
#[derive(Debug, Clone)]
pub enum Appended {
    New(MessageRow),
    /// The same client id was stored before (a resend after a reconnect).
    Duplicate(MessageRow),
}

/// Appends a message to the chat, numbering it and updating the chat's counters. Call
/// inside a write transaction after checking who may write.
pub fn append_message(
    conn: &mut DbConn,
    chat: &ChatRow,
    sender: &str,
    author: Option<&str>,
    body: &str,
    client_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<Appended> {
    if let Some(client_id) = client_id
        && let Some(row) = chat_messages::table
            .filter(chat_messages::chat_id.eq(&chat.id))
            .filter(chat_messages::sender.eq(sender))
            .filter(chat_messages::client_id.eq(client_id))
            .select(MessageRow::as_select())
            .first(conn)
            .optional()?
    {
        return Ok(Appended::Duplicate(row));
    }
    // One update numbers the message and keeps the chat's counters; the caller holds the
    // chat row (locked), so its first-response time is current.
    let target = chats::table.find(&chat.id);
    let next = chats::last_seq.eq(chats::last_seq + 1);
    let seq: i32 = match sender {
        "customer" => diesel::update(target)
            .set((
                next,
                chats::customer_messages.eq(chats::customer_messages + 1),
                chats::last_customer_at.eq(now),
                chats::idle_warned_at.eq(None::<NaiveDateTime>),
            ))
            .returning(chats::last_seq)
            .get_result(conn)?,
        "agent" => diesel::update(target)
            .set((
                next,
                chats::agent_messages.eq(chats::agent_messages + 1),
                chats::first_response_at.eq(chat.first_response_at.or(Some(now))),
            ))
            .returning(chats::last_seq)
            .get_result(conn)?,
        _ => diesel::update(target)
            .set(next)
            .returning(chats::last_seq)
            .get_result(conn)?,
    };
    let row = MessageRow {
        chat_id: chat.id.clone(),
        seq,
        sender: sender.to_owned(),
        author_id: author.map(str::to_owned),
        body: body.to_owned(),
        client_id: client_id.map(str::to_owned),
        created_at: now,
    };
    diesel::insert_into(chat_messages::table)
        .values((
            chat_messages::chat_id.eq(&row.chat_id),
            chat_messages::seq.eq(row.seq),
            chat_messages::sender.eq(&row.sender),
            chat_messages::author_id.eq(&row.author_id),
            chat_messages::body.eq(&row.body),
            chat_messages::client_id.eq(&row.client_id),
            chat_messages::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(Appended::New(row))
}

/// Messages after `after` (a message number), oldest first, at most `limit`.
pub fn messages_after(
    conn: &mut DbConn,
    chat: &str,
    after: i32,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    chat_messages::table
        .filter(chat_messages::chat_id.eq(chat))
        .filter(chat_messages::seq.gt(after))
        .order(chat_messages::seq)
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)
}

/// Moves a chat from `from` (a status, and for held statuses the holding agent) to `to`.
/// Returns whether it moved: 0 means someone else changed it first.
pub fn move_chat(
    conn: &mut DbConn,
    chat: &str,
    from: (&str, Option<&str>),
    to: ChatMove<'_>,
) -> QueryResult<bool> {
    let target = chats::table
        .filter(chats::id.eq(chat))
        .filter(chats::status.eq(from.0));
    let changed = match from.1 {
        Some(agent) => diesel::update(target.filter(chats::agent_id.eq(agent)))
            .set(to)
            .execute(conn)?,
        None => diesel::update(target).set(to).execute(conn)?,
    };
    Ok(changed == 1)
}

/// The columns a status change sets.
#[derive(AsChangeset)]
#[diesel(table_name = chats, treat_none_as_null = false)]
pub struct ChatMove<'a> {
    pub status: &'a str,
    pub agent_id: Option<Option<&'a str>>,
    pub priority: Option<i32>,
    pub queued_at: Option<NaiveDateTime>,
    pub first_offered_at: Option<NaiveDateTime>,
    pub accepted_at: Option<Option<NaiveDateTime>>,
    pub first_response_at: Option<Option<NaiveDateTime>>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<&'a str>,
    pub close_reason: Option<&'a str>,
    pub handover_note: Option<Option<&'a str>>,
    pub concurrent_at_accept: Option<i32>,
}

impl<'a> ChatMove<'a> {
    pub fn to(status: &'a str) -> Self {
        ChatMove {
            status,
            agent_id: None,
            priority: None,
            queued_at: None,
            first_offered_at: None,
            accepted_at: None,
            first_response_at: None,
            closed_at: None,
            closed_by: None,
            close_reason: None,
            handover_note: None,
            concurrent_at_accept: None,
        }
    }

    /// Back into the queue at the front, with a note for the next agent.
    pub fn requeue(note: Option<&'a str>) -> Self {
        ChatMove {
            agent_id: Some(None),
            priority: Some(1),
            accepted_at: Some(None),
            first_response_at: Some(None),
            handover_note: Some(note),
            ..ChatMove::to("queued")
        }
    }
}

/// How many chats `agent` holds (assigned to them) besides `except`.
pub fn held_besides(conn: &mut DbConn, agent: &str, except: &str) -> QueryResult<i64> {
    chats::table
        .filter(chats::agent_id.eq(agent))
        .filter(chats::status.eq("assigned"))
        .filter(chats::id.ne(except))
        .count()
        .get_result(conn)
}

/// Sets a chat's kind (`None`: a standard chat).
pub fn set_kind(conn: &mut DbConn, chat: &str, kind: Option<&str>) -> QueryResult<()> {
    diesel::update(chats::table.find(chat))
        .set(chats::kind.eq(kind))
        .execute(conn)?;
    Ok(())
}

pub fn count_takeback(conn: &mut DbConn, chat: &str) -> QueryResult<()> {
    diesel::update(chats::table.find(chat))
        .set(chats::takebacks.eq(chats::takebacks + 1))
        .execute(conn)?;
    Ok(())
}

pub fn count_transfer(conn: &mut DbConn, chat: &str) -> QueryResult<()> {
    diesel::update(chats::table.find(chat))
        .set(chats::transfers.eq(chats::transfers + 1))
        .execute(conn)?;
    Ok(())
}

pub fn set_read(conn: &mut DbConn, chat: &str, by_agent: bool, seq: i32) -> QueryResult<usize> {
    if by_agent {
        diesel::update(chats::table.find(chat))
            .filter(chats::agent_read_seq.lt(seq))
            .filter(chats::last_seq.ge(seq))
            .set(chats::agent_read_seq.eq(seq))
            .execute(conn)
    } else {
        diesel::update(chats::table.find(chat))
            .filter(chats::customer_read_seq.lt(seq))
            .filter(chats::last_seq.ge(seq))
            .set(chats::customer_read_seq.eq(seq))
            .execute(conn)
    }
}

pub fn rate(
    conn: &mut DbConn,
    chat: &str,
    score: i32,
    comment: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(chats::table.find(chat))
        .filter(chats::rating.is_null())
        .set((
            chats::rating.eq(score),
            chats::rating_comment.eq(comment),
            chats::rated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_idle_warned(conn: &mut DbConn, chat: &str, now: NaiveDateTime) -> QueryResult<bool> {
    Ok(diesel::update(chats::table.find(chat))
        .filter(chats::idle_warned_at.is_null())
        .set(chats::idle_warned_at.eq(now))
        .execute(conn)?
        == 1)
}

pub fn mark_served(
    conn: &mut DbConn,
    customer: &str,
    agent: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(customers::table.find(customer))
        .set((
            customers::last_agent_id.eq(agent),
            customers::last_served_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

// ----- the queue -----

/// A queued chat as the router needs it.
#[derive(Debug, Clone)]
pub struct Queued {
    pub chat: ChatRow,
    pub last_agent: Option<(String, NaiveDateTime)>,
    pub declined_by: BTreeSet<String>,
}

/// The queue of `merchant` for `skill`: waiting chats (and messages left while nobody was
/// on shift) in routing order, with who declined each, let its offer lapse or had it
/// taken back.
pub fn queue(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    limit: i64,
) -> QueryResult<Vec<Queued>> {
    let rows: Vec<(ChatRow, Option<String>, Option<NaiveDateTime>)> = chats::table
        .inner_join(customers::table)
        .filter(chats::merchant_id.eq(merchant))
        .filter(chats::skill.eq(skill))
        .filter(chats::status.eq_any(["queued", "left_message"]))
        .order((
            chats::priority.desc(),
            chats::queued_at.asc(),
            chats::id.asc(),
        ))
        .limit(limit)
        .select((
            ChatRow::as_select(),
            customers::last_agent_id,
            customers::last_served_at,
        ))
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|(c, _, _)| c.id.as_str()).collect();
    let declines: Vec<(String, String)> = chat_offers::table
        .filter(chat_offers::chat_id.eq_any(&ids))
        .filter(chat_offers::outcome.eq_any(["declined", "timed_out"]))
        .select((chat_offers::chat_id, chat_offers::agent_id))
        .load(conn)?;
    // An agent the chat was taken back from (no first reply, gone) is not offered it
    // again either, even though they are the customer's last agent.
    let taken: Vec<(String, Option<String>)> = chat_events::table
        .filter(chat_events::chat_id.eq_any(&ids))
        .filter(chat_events::kind.eq("taken_back"))
        .select((chat_events::chat_id, chat_events::agent_id))
        .load(conn)?;
    let mut declined: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (chat, agent) in declines
        .into_iter()
        .chain(taken.into_iter().filter_map(|(c, a)| Some((c, a?))))
    {
        declined.entry(chat).or_default().insert(agent);
    }
    Ok(rows
        .into_iter()
        .map(|(chat, last_agent, served)| Queued {
            declined_by: declined.remove(&chat.id).unwrap_or_default(),
            last_agent: last_agent.zip(served),
            chat,
        })
        .collect())
}

/// The (merchant, skill) queues with chats waiting.
pub fn waiting_queues(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    chats::table
        .filter(chats::status.eq_any(["queued", "left_message"]))
        .select((chats::merchant_id, chats::skill))
        .distinct()
        .load(conn)
}

/// Number of chats ahead of `chat` in its queue.
pub fn ahead_of(conn: &mut DbConn, chat: &ChatRow) -> QueryResult<i64> {
    chats::table
        .filter(chats::merchant_id.eq(&chat.merchant_id))
        .filter(chats::skill.eq(&chat.skill))
        .filter(chats::status.eq_any(["queued", "left_message"]))
        .filter(
            chats::priority
                .gt(chat.priority)
                .or(chats::priority.eq(chat.priority).and(
                    chats::queued_at.lt(chat.queued_at).or(chats::queued_at
                        .eq(chat.queued_at)
                        .and(chats::id.lt(&chat.id))),
                )),
        )
        .count()
        .get_result(conn)
}

/// Mean handle time (accept to close) in seconds of the queue's last `n` closed chats.
pub fn recent_handle_secs(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    n: i64,
) -> QueryResult<Option<i64>> {
    let rows: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = chats::table
        .filter(chats::merchant_id.eq(merchant))
        .filter(chats::skill.eq(skill))
        .filter(chats::status.eq("closed"))
        .filter(chats::accepted_at.is_not_null())
        .order(chats::closed_at.desc())
        .limit(n)
        .select((chats::accepted_at, chats::closed_at))
        .load(conn)?;
    let secs: Vec<i64> = rows
        .into_iter()
        .filter_map(|(a, c)| Some((c? - a?).num_seconds().max(0)))
        .collect();
    Ok((!secs.is_empty()).then(|| secs.iter().sum::<i64>() / secs.len() as i64))
}

// ----- agents as the router sees them -----

/// An agent checked in on a shift of the merchant and skill right now, with presence and
/// load.
#[derive(Debug, Clone)]
pub struct OnShift {
    pub agent_id: String,
    pub display_name: String,
    pub own_limit: i32,
    /// The agent's level (`levels.toml`), which caps their concurrent chats too.
    pub level: i32,
    pub auto_accept: bool,
    pub status: Option<String>,
    pub connections: i32,
    pub available_since: Option<NaiveDateTime>,
    pub last_assigned_at: Option<NaiveDateTime>,
    pub active: i64,
}

/// An agent checked in: id, name, own chat limit, level, auto-accept.
type CheckedIn = (String, String, i32, i32, bool);

/// Agents checked in now on a shift of `merchant` for `skill` (certified ones).
fn checked_in(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<CheckedIn>> {
    shift_assignments::table
        .inner_join(shifts::table)
        .inner_join(agents::table.on(agents::account_id.eq(shift_assignments::agent_id)))
        .inner_join(accounts::table.on(accounts::id.eq(shift_assignments::agent_id)))
        .filter(shift_assignments::merchant_id.eq(merchant))
        .filter(shifts::skill.eq(skill))
        .filter(shift_assignments::checked_in_at.is_not_null())
        .filter(shift_assignments::checked_out_at.is_null())
        .filter(shift_assignments::ended_at.is_null())
        .filter(shift_assignments::ends_at.gt(now))
        .filter(agents::status.eq("certified"))
        .select((
            shift_assignments::agent_id,
            accounts::display_name,
            agents::max_concurrent_chats,
            agents::level,
            agents::chat_auto_accept,
        ))
        .load(conn)
}

/// Agents checked in now on a shift of `merchant` for `skill`, with presence and load.
pub fn on_shift(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<OnShift>> {
    let rows = checked_in(conn, merchant, skill, now)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let presence: Vec<(String, String, i32, NaiveDateTime, Option<NaiveDateTime>)> =
        agent_presence::table
            .filter(agent_presence::agent_id.eq_any(&ids))
            .select((
                agent_presence::agent_id,
                agent_presence::status,
                agent_presence::connections,
                agent_presence::available_since,
                agent_presence::last_assigned_at,
            ))
            .load(conn)?;
    let mut presence: BTreeMap<String, _> = presence
        .into_iter()
        .map(|(id, status, connections, since, last)| (id, (status, connections, since, last)))
        .collect();
    let loads = active_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(agent_id, display_name, own_limit, level, auto_accept)| {
            let p = presence.remove(&agent_id);
            OnShift {
                active: loads.get(&agent_id).copied().unwrap_or(0),
                status: p.as_ref().map(|p| p.0.clone()),
                connections: p.as_ref().map_or(0, |p| p.1),
                available_since: p.as_ref().map(|p| p.2),
                last_assigned_at: p.and_then(|p| p.3),
                agent_id,
                display_name,
                own_limit,
                level,
                auto_accept,
            }
        })
        .collect())
}

/// Chats offered to or held by each of `agents`.
pub fn active_counts(conn: &mut DbConn, agents: &[&str]) -> QueryResult<BTreeMap<String, i64>> {
    let rows: Vec<(Option<String>, i64)> = chats::table
        .filter(chats::agent_id.eq_any(agents))
        .filter(chats::status.eq_any(HELD))
        .group_by(chats::agent_id)
        .select((chats::agent_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(a, n)| a.map(|a| (a, n)))
        .collect())
}

/// Whether anyone is checked in on a shift of the merchant and skill now (connected or
/// not): without them a new chat becomes a left message.
pub fn anyone_on_shift(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(!checked_in(conn, merchant, skill, now)?.is_empty())
}

/// The merchant and skill the agent is checked in on now, if any.
pub fn current_shift_of(
    conn: &mut DbConn,
    agent: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<(String, String)>> {
    shift_assignments::table
        .inner_join(shifts::table)
        .filter(shift_assignments::agent_id.eq(agent))
        .filter(shift_assignments::checked_in_at.is_not_null())
        .filter(shift_assignments::checked_out_at.is_null())
        .filter(shift_assignments::ended_at.is_null())
        .filter(shift_assignments::ends_at.gt(now))
        .select((shift_assignments::merchant_id, shifts::skill))
        .load(conn)
}

// ----- offers -----

pub fn insert_offer(
    conn: &mut DbConn,
    chat: &str,
    agent: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    idle_secs: i32,
    outcome: Option<&str>,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(chat_offers::table)
        .values((
            chat_offers::id.eq(&id),
            chat_offers::chat_id.eq(chat),
            chat_offers::agent_id.eq(agent),
            chat_offers::offered_at.eq(now),
            chat_offers::expires_at.eq(expires_at),
            chat_offers::idle_secs.eq(idle_secs),
            chat_offers::outcome.eq(outcome),
            chat_offers::decided_at.eq(outcome.map(|_| now)),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Decides the chat's open offer to `agent`; false when there is none (already decided).
pub fn decide_offer(
    conn: &mut DbConn,
    chat: &str,
    agent: &str,
    outcome: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(diesel::update(
        chat_offers::table
            .filter(chat_offers::chat_id.eq(chat))
            .filter(chat_offers::agent_id.eq(agent))
            .filter(chat_offers::outcome.is_null()),
    )
    .set((
        chat_offers::outcome.eq(outcome),
        chat_offers::decided_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

/// Open offers that expired by `now`: (chat, agent).
pub fn expired_offers(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<(String, String)>> {
    chat_offers::table
        .filter(chat_offers::outcome.is_null())
        .filter(chat_offers::expires_at.le(now))
        .select((chat_offers::chat_id, chat_offers::agent_id))
        .limit(500)
        .load(conn)
}

/// Accepted chats without a first reply since before `cutoff`: (chat, agent).
pub fn silent_chats(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
) -> QueryResult<Vec<(String, Option<String>)>> {
    chats::table
        .filter(chats::status.eq("assigned"))
        .filter(chats::first_response_at.is_null())
        .filter(chats::accepted_at.le(cutoff))
        .select((chats::id, chats::agent_id))
        .limit(500)
        .load(conn)
}

/// Assigned chats whose customer has been silent since before `cutoff` and not yet warned.
pub fn idle_chats(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<Vec<String>> {
    chats::table
        .filter(chats::status.eq("assigned"))
        .filter(chats::idle_warned_at.is_null())
        .filter(chats::last_customer_at.le(cutoff))
        .filter(chats::first_response_at.is_not_null())
        .select(chats::id)
        .limit(500)
        .load(conn)
}

/// Chats warned before `cutoff` and still silent.
pub fn idle_expired(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<Vec<String>> {
    chats::table
        .filter(chats::status.eq("assigned"))
        .filter(chats::idle_warned_at.le(cutoff))
        .select(chats::id)
        .limit(500)
        .load(conn)
}

/// Chats offered to or held by `agent`.
pub fn held_by(conn: &mut DbConn, agent: &str) -> QueryResult<Vec<ChatRow>> {
    chats::table
        .filter(chats::agent_id.eq(agent))
        .filter(chats::status.eq_any(HELD))
        .order(chats::queued_at)
        .select(ChatRow::as_select())
        .load(conn)
}

// ----- presence -----

#[derive(Debug, Clone, Queryable)]
pub struct PresenceRow {
    pub status: String,
    pub connections: i32,
    pub disconnected_at: Option<NaiveDateTime>,
}

pub fn presence(conn: &mut DbConn, agent: &str) -> QueryResult<Option<PresenceRow>> {
    agent_presence::table
        .find(agent)
        .select((
            agent_presence::status,
            agent_presence::connections,
            agent_presence::disconnected_at,
        ))
        .first(conn)
        .optional()
}

/// Records a socket opening: creates the presence row or counts the connection.
pub fn connect(conn: &mut DbConn, agent: &str, now: NaiveDateTime) -> QueryResult<()> {
    let updated = diesel::update(agent_presence::table.find(agent))
        .set((
            agent_presence::connections.eq(agent_presence::connections + 1),
            agent_presence::last_seen_at.eq(now),
            agent_presence::disconnected_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(agent_presence::table)
            .values((
                agent_presence::agent_id.eq(agent),
                agent_presence::status.eq("offline"),
                agent_presence::status_since.eq(now),
                agent_presence::available_since.eq(now),
                agent_presence::connections.eq(1),
                agent_presence::last_seen_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a socket closing; returns the connections left.
pub fn disconnect(conn: &mut DbConn, agent: &str, now: NaiveDateTime) -> QueryResult<i32> {
    diesel::update(
        agent_presence::table
            .find(agent)
            .filter(agent_presence::connections.gt(0)),
    )
    .set(agent_presence::connections.eq(agent_presence::connections - 1))
    .execute(conn)?;
    let left: i32 = agent_presence::table
        .find(agent)
        .select(agent_presence::connections)
        .first(conn)?;
    if left == 0 {
        diesel::update(agent_presence::table.find(agent))
            .set(agent_presence::disconnected_at.eq(now))
            .execute(conn)?;
    }
    Ok(left)
}

/// Marks `agents` as seen now (their sockets are open on this instance), in batches.
pub fn touch(conn: &mut DbConn, agents: &[String], now: NaiveDateTime) -> QueryResult<()> {
    for batch in agents.chunks(500) {
        diesel::update(agent_presence::table.filter(agent_presence::agent_id.eq_any(batch)))
            .set(agent_presence::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
}

/// Sets the agent's presence; returns whether it changed. Coming online (from away or
/// offline) restarts the fair idle time.
pub fn set_presence(
    conn: &mut DbConn,
    agent: &str,
    status: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = if status == "online" {
        diesel::update(
            agent_presence::table
                .find(agent)
                .filter(agent_presence::status.ne(status)),
        )
        .set((
            agent_presence::status.eq(status),
            agent_presence::status_since.eq(now),
            agent_presence::available_since.eq(now),
        ))
        .execute(conn)?
    } else {
        diesel::update(
            agent_presence::table
                .find(agent)
                .filter(agent_presence::status.ne(status)),
        )
        .set((
            agent_presence::status.eq(status),
            agent_presence::status_since.eq(now),
        ))
        .execute(conn)?
    };
    if changed == 1 {
        diesel::insert_into(presence_events::table)
            .values((
                presence_events::id.eq(new_id()),
                presence_events::agent_id.eq(agent),
                presence_events::status.eq(status),
                presence_events::at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(changed == 1)
}

pub fn assigned_now(conn: &mut DbConn, agent: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(agent_presence::table.find(agent))
        .set(agent_presence::last_assigned_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Agents whose last socket closed (or whose instance stopped refreshing them) before
/// `cutoff` and who still hold chats or are not marked offline.
pub fn gone_agents(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<Vec<String>> {
    agent_presence::table
        .filter(agent_presence::status.ne("offline"))
        .filter(
            agent_presence::connections
                .eq(0)
                .and(agent_presence::disconnected_at.le(cutoff))
                .or(agent_presence::last_seen_at.le(cutoff)),
        )
        .select(agent_presence::agent_id)
        .limit(500)
        .load(conn)
}

pub fn auto_accept(conn: &mut DbConn, agent: &str) -> QueryResult<bool> {
    agents::table
        .find(agent)
        .select(agents::chat_auto_accept)
        .first(conn)
}

pub fn set_auto_accept(conn: &mut DbConn, agent: &str, on: bool) -> QueryResult<usize> {
    diesel::update(agents::table.find(agent))
        .set(agents::chat_auto_accept.eq(on))
        .execute(conn)
}

pub fn display_name(conn: &mut DbConn, account: &str) -> QueryResult<Option<String>> {
    accounts::table
        .find(account)
        .select(accounts::display_name)
        .first(conn)
        .optional()
}

/// A merchant's chats, newest first (ids sort by creation), after the `cursor` id.
pub fn merchant_chats(
    conn: &mut DbConn,
    merchant: &str,
    status: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChatRow>> {
    let mut q = chats::table
        .filter(chats::merchant_id.eq(merchant.to_owned()))
        .into_boxed();
    if let Some(status) = status {
        q = q.filter(chats::status.eq(status.to_owned()));
    }
    if let Some(cursor) = cursor {
        q = q.filter(chats::id.lt(cursor.to_owned()));
    }
    q.order(chats::id.desc())
        .limit(limit)
        .select(ChatRow::as_select())
        .load(conn)
}

/// Whether `agent` ever took `chat` (accepted it, or had it auto-accepted).
pub fn agent_handled(conn: &mut DbConn, chat: &str, agent: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        chat_events::table
            .filter(chat_events::chat_id.eq(chat))
            .filter(chat_events::agent_id.eq(agent))
            .filter(chat_events::kind.eq_any(["accepted", "auto_accepted"])),
    ))
    .get_result(conn)
}

/// Chats `agent` took, newest first, after the `cursor` id.
pub fn agent_chats(
    conn: &mut DbConn,
    agent: &str,
    cursor: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChatRow>> {
    let taken = chat_events::table
        .filter(chat_events::agent_id.eq(agent.to_owned()))
        .filter(chat_events::kind.eq_any(["accepted", "auto_accepted"]))
        .select(chat_events::chat_id);
    let mut q = chats::table.filter(chats::id.eq_any(taken)).into_boxed();
    if let Some(cursor) = cursor {
        q = q.filter(chats::id.lt(cursor.to_owned()));
    }
    q.order(chats::id.desc())
        .limit(limit)
        .select(ChatRow::as_select())
        .load(conn)
}

/// Whether `agent` holds a chat of `customer` now.
pub fn agent_serves_customer(conn: &mut DbConn, customer: &str, agent: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        chats::table
            .filter(chats::customer_id.eq(customer))
            .filter(chats::agent_id.eq(agent))
            .filter(chats::status.eq_any(HELD)),
    ))
    .get_result(conn)
}

/// First offer time of each chat (time to offer).
pub fn first_offer_at(conn: &mut DbConn, chat: &str) -> QueryResult<Option<NaiveDateTime>> {
    chat_offers::table
        .filter(chat_offers::chat_id.eq(chat))
        .select(diesel::dsl::min(chat_offers::offered_at))
        .first(conn)
}
