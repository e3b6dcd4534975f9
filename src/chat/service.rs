//! Chat use cases. Each runs inside one write transaction on the caller's connection and
//! returns [`Effects`]: the frames to push once it commits and the queues that may now be
//! routed. The router's choice itself is the pure [`super::routing`]; this module loads
//! its inputs from the database and writes its answer back as offers.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDateTime};

use super::hub::Push;
use super::protocol::{ChatCard, MessageOut, Out};
use super::routing::{self, AgentState, ChatRequest};
use super::store::{self, Appended, ChatMove, ChatRow, MessageRow};
use crate::accounts::model::{AccountId, MerchantId};
use crate::db::DbConn;
use crate::error::AppError;
use crate::seats::rules::ChatRules;

/// Messages sent with an assignment or a welcome (older ones come through the history).
pub const RECENT_MESSAGES: i64 = 200;
/// Queued chats routed per queue per pass.
const QUEUE_BATCH: i64 = 500;
/// Handle time assumed for the wait estimate before a queue has history, in seconds.
const DEFAULT_HANDLE_SECS: i64 = 300;

/// What a use case caused, delivered after it commits.
#[derive(Debug, Default)]
pub struct Effects {
    pub pushes: Vec<Push>,
    /// (merchant, skill) queues to route next: a slot was freed or a chat joined.
    pub queues: BTreeSet<(String, String)>,
    /// Queues to try again though nothing known changed (the timers' safety net): their
    /// customers hear only if a chat is offered.
    pub recheck: BTreeSet<(String, String)>,
    /// Webhook deliveries were queued: the webhook sender must be woken.
    pub webhooks: bool,
    /// Mail was queued in the outbox: the mail sender must be woken.
    pub mail: bool,
}

impl Effects {
    fn push(&mut self, push: Push) {
        self.pushes.push(push);
    }

    fn wake_queue(&mut self, chat: &ChatRow) {
        self.queues
            .insert((chat.merchant_id.clone(), chat.skill.clone()));
    }

    pub fn extend(&mut self, other: Effects) {
        self.pushes.extend(other.pushes);
        self.queues.extend(other.queues);
        self.recheck.extend(other.recheck);
        self.webhooks |= other.webhooks;
        self.mail |= other.mail;
    }
}

pub fn message_out(m: &MessageRow) -> MessageOut {
    MessageOut {
        chat: m.chat_id.clone(),
        seq: m.seq,
        from: m.sender.clone(),
        body: m.body.clone(),
        client_id: m.client_id.clone(),
        at: m.created_at,
    }
}

/// Tells the shop's systems about a chat event through its webhooks (queued in this
/// transaction, delivered by the webhook sender, which `effects` then wakes).
fn hook(
    conn: &mut DbConn,
    chat: &ChatRow,
    event: &str,
    data: serde_json::Value,
    now: NaiveDateTime,
    effects: &mut Effects,
) -> Result<(), AppError> {
    let mut payload = serde_json::json!({
        "chat_id": chat.id,
        "customer_id": chat.customer_id,
        "skill": chat.skill,
        "channel": chat.channel,
    });
    if let (Some(obj), serde_json::Value::Object(extra)) = (payload.as_object_mut(), data) {
        obj.extend(extra);
    }
    let queued = crate::merchant_api::webhooks::enqueue(
        conn,
        &MerchantId(chat.merchant_id.clone()),
        event,
        &payload,
        now,
    )?;
    effects.webhooks |= queued > 0;
    Ok(())
}

/// Tells the shop's staff a customer left a message while nobody was on shift, each in
/// their language and zone.
fn mail_left_message(
    conn: &mut DbConn,
    chat: &ChatRow,
    message: Option<&str>,
    now: NaiveDateTime,
    effects: &mut Effects,
) -> Result<(), AppError> {
    use crate::mail::templates::{MailKind, render};
    use crate::web::i18n::t;
    let merchant = MerchantId(chat.merchant_id.clone());
    for account in crate::accounts::store::list_staff(conn, &merchant, None, 50)? {
        let locale = crate::accounts::service::account_locale(&account);
        let tz: chrono_tz::Tz = account
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Asia::Shanghai);
        let when = format!(
            "{} ({})",
            now.and_utc().with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            tz.name()
        );
        let customer = chat
            .customer_name
            .clone()
            .unwrap_or_else(|| t(locale, "mail.left_message.anonymous").into_owned());
        let mail = render(
            &account.email,
            &account.display_name,
            locale,
            &MailKind::ChatLeftMessage {
                customer,
                skill: chat.skill.clone(),
                when,
                message: message.unwrap_or("").to_owned(),
                chat_id: chat.id.clone(),
            },
        )
        .map_err(AppError::internal)?;
        crate::mail::outbox::enqueue(conn, &mail, now)?;
        effects.mail = true;
    }
    Ok(())
}

fn not_found() -> AppError {
    AppError::NotFound
}

fn closed() -> AppError {
    AppError::conflict("chat_closed", "this chat is closed")
}

fn not_yours() -> AppError {
    AppError::Forbidden {
        code: "not_your_chat",
    }
}

/// What an agent's workspace shows about a chat.
pub fn card(conn: &mut DbConn, chat: &ChatRow, rules: &ChatRules) -> Result<ChatCard, AppError> {
    use crate::db::schema::{chats, merchants};
    use diesel::prelude::*;
    let merchant_name: String = merchants::table
        .find(&chat.merchant_id)
        .select(merchants::name)
        .first(conn)?;
    let previous_chats: i64 = chats::table
        .filter(chats::customer_id.eq(&chat.customer_id))
        .filter(chats::id.ne(&chat.id))
        .count()
        .get_result(conn)?;
    Ok(ChatCard {
        chat: chat.id.clone(),
        merchant: chat.merchant_id.clone(),
        merchant_name,
        skill: chat.skill.clone(),
        channel: chat.channel.clone(),
        status: chat.status.clone(),
        customer: chat.customer_id.clone(),
        customer_name: chat.customer_name.clone(),
        waiting_since: chat.queued_at,
        accepted_at: chat.accepted_at,
        first_response_at: chat.first_response_at,
        first_response_due: match (chat.accepted_at, chat.first_response_at) {
            (Some(at), None) => {
                Some(at + Duration::seconds(i64::from(rules.first_response_target_secs)))
            }
            _ => None,
        },
        handover_note: chat.handover_note.clone(),
        last_seq: chat.last_seq,
        agent_read_seq: chat.agent_read_seq,
        previous_chats,
    })
}

fn reload(conn: &mut DbConn, id: &str) -> Result<ChatRow, AppError> {
    store::chat(conn, id)?.ok_or_else(not_found)
}

// ----- creating a chat -----

/// A new chat from the widget or the merchant's API, already validated.
pub struct NewChatInput {
    pub merchant: MerchantId,
    pub skill: String,
    pub channel: &'static str,
    pub identities: BTreeSet<super::identity::Identity>,
    pub customer_name: Option<String>,
    pub first_message: Option<(String, String)>,
    /// SHA-256 of the customer's reconnect secret.
    pub token_hash: String,
    /// One of the pay plan's chat kinds; `None` a standard chat.
    pub kind: Option<String>,
}

pub struct Created {
    pub chat: ChatRow,
    pub customer: String,
}

pub fn create(
    conn: &mut DbConn,
    input: &NewChatInput,
    now: NaiveDateTime,
) -> Result<(Created, Effects), AppError> {
    let customer = store::link_customer(
        conn,
        &input.merchant,
        &input.identities,
        input.customer_name.as_deref(),
        now,
    )?;
    let staffed = store::anyone_on_shift(conn, input.merchant.as_str(), &input.skill, now)?;
    let status = if staffed { "queued" } else { "left_message" };
    let id = crate::db::new_id();
    store::insert_chat(
        conn,
        &store::NewChat {
            id: &id,
            merchant: &input.merchant,
            customer: &customer,
            skill: &input.skill,
            channel: input.channel,
            status,
            token_hash: &input.token_hash,
            customer_name: input.customer_name.as_deref(),
            kind: input.kind.as_deref(),
        },
        now,
    )?;
    store::event(conn, &id, status, None, None, now)?;
    let mut chat = reload(conn, &id)?;
    if let Some((client_id, body)) = &input.first_message {
        store::append_message(conn, &chat, "customer", None, body, Some(client_id), now)?;
        chat = reload(conn, &id)?;
    }
    let mut effects = Effects::default();
    if status == "left_message" {
        let first = input.first_message.as_ref().map(|(_, body)| body.as_str());
        hook(
            conn,
            &chat,
            "chat.left_message",
            serde_json::json!({ "message": first }),
            now,
            &mut effects,
        )?;
        mail_left_message(conn, &chat, first, now, &mut effects)?;
    }
    effects.wake_queue(&chat);
    Ok((
        Created {
            chat,
            customer: customer.0,
        },
        effects,
    ))
}

// ----- messages -----

/// A customer's message. Duplicates (same client id) are acknowledged again, not stored.
/// `merchant`, when given, is the only shop whose chat this may be (the shop's API key);
/// another shop's chat does not exist for it. Returns the effects, the message's number
/// and whether it was a duplicate.
pub fn customer_message(
    conn: &mut DbConn,
    chat_id: &str,
    merchant: Option<&MerchantId>,
    client_id: &str,
    body: &str,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<(Effects, i32, bool), AppError> {
    super::protocol::check_message(client_id, body, rules.max_message_chars)?;
    let chat = store::lock_chat(conn, chat_id)?
        .filter(|c| merchant.is_none_or(|m| m.as_str() == c.merchant_id))
        .ok_or_else(not_found)?;
    if !chat.is_open() {
        return Err(closed());
    }
    let mut effects = Effects::default();
    match store::append_message(conn, &chat, "customer", None, body, Some(client_id), now)? {
        Appended::New(row) => {
            let frame = Out::Message(message_out(&row));
            effects.push(Push::customer(chat_id, frame.clone()));
            if let Some(agent) = chat
                .agent_id
                .as_deref()
                .filter(|_| chat.status == "assigned")
            {
                effects.push(Push::agent(agent, frame));
            }
            Ok((effects, row.seq, false))
        }
        Appended::Duplicate(row) => {
            effects.push(Push::customer(
                chat_id,
                Out::Ack {
                    chat: chat_id.to_owned(),
                    client_id: client_id.to_owned(),
                    seq: row.seq,
                },
            ));
            Ok((effects, row.seq, true))
        }
    }
}

/// An agent's message in a chat they hold.
pub fn agent_message(
    conn: &mut DbConn,
    agent: &AccountId,
    chat_id: &str,
    client_id: &str,
    body: &str,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<(Effects, Option<MessageRow>), AppError> {
    super::protocol::check_message(client_id, body, rules.max_message_chars)?;
    let chat = store::lock_chat(conn, chat_id)?.ok_or_else(not_found)?;
    if chat.agent_id.as_deref() != Some(agent.as_str()) {
        return Err(not_yours());
    }
    if !chat.is_open() {
        return Err(closed());
    }
    if chat.status != "assigned" {
        return Err(AppError::conflict(
            "chat_not_accepted",
            "accept the chat before writing in it",
        ));
    }
    let mut effects = Effects::default();
    let appended = store::append_message(
        conn,
        &chat,
        "agent",
        Some(agent.as_str()),
        body,
        Some(client_id),
        now,
    )?;
    let (row, new) = match appended {
        Appended::New(row) => (row, true),
        Appended::Duplicate(row) => (row, false),
    };
    if new {
        hook(
            conn,
            &chat,
            "chat.message.agent",
            serde_json::json!({ "seq": row.seq, "body": row.body, "at": row.created_at }),
            now,
            &mut effects,
        )?;
        let frame = Out::Message(message_out(&row));
        effects.push(Push::agent(agent.as_str(), frame.clone()));
        effects.push(Push::customer(chat_id, frame));
    } else {
        effects.push(Push::agent(
            agent.as_str(),
            Out::Ack {
                chat: chat_id.to_owned(),
                client_id: client_id.to_owned(),
                seq: row.seq,
            },
        ));
    }
    Ok((effects, new.then_some(row)))
}

/// A system note in the chat (take-backs, transfers, idle warnings), seen by both sides.
fn system_message(
    conn: &mut DbConn,
    chat: &ChatRow,
    body: &str,
    now: NaiveDateTime,
    effects: &mut Effects,
) -> Result<(), AppError> {
    if let Appended::New(row) = store::append_message(conn, chat, "system", None, body, None, now)?
    {
        let frame = Out::Message(message_out(&row));
        effects.push(Push::customer(&chat.id, frame.clone()));
        if let Some(agent) = chat.agent_id.as_deref() {
            effects.push(Push::agent(agent, frame));
        }
    }
    Ok(())
}

pub fn read(
    conn: &mut DbConn,
    chat_id: &str,
    agent: Option<&AccountId>,
    seq: i32,
) -> Result<Effects, AppError> {
    let chat = store::chat(conn, chat_id)?.ok_or_else(not_found)?;
    if let Some(agent) = agent
        && !chat.held_by(agent)
    {
        return Err(not_yours());
    }
    let mut effects = Effects::default();
    if store::set_read(conn, chat_id, agent.is_some(), seq)? == 1 {
        let by = if agent.is_some() { "agent" } else { "customer" };
        let frame = Out::Read {
            chat: chat_id.to_owned(),
            by: by.to_owned(),
            seq,
        };
        match (agent, chat.agent_id.as_deref()) {
            (Some(_), _) => effects.push(Push::customer(chat_id, frame)),
            (None, Some(holder)) if chat.status == "assigned" => {
                effects.push(Push::agent(holder, frame))
            }
            _ => {}
        }
    }
    Ok(effects)
}

// ----- offers -----

pub fn accept(
    conn: &mut DbConn,
    agent: &AccountId,
    chat_id: &str,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let chat = store::lock_chat(conn, chat_id)?.ok_or_else(not_found)?;
    if !(chat.status == "offered" && chat.held_by(agent)) {
        return Err(AppError::conflict(
            "offer_gone",
            "this offer expired or was withdrawn",
        ));
    }
    if !store::decide_offer(conn, chat_id, agent.as_str(), "accepted", now)? {
        return Err(AppError::conflict(
            "offer_gone",
            "this offer expired or was withdrawn",
        ));
    }
    assign(conn, &chat, agent.as_str(), "accepted", rules, now)
}

/// Makes the offered chat the agent's (accepted or auto-accepted).
fn assign(
    conn: &mut DbConn,
    chat: &ChatRow,
    agent: &str,
    how: &str,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let others = store::held_besides(conn, agent, &chat.id)?;
    let moved = store::move_chat(
        conn,
        &chat.id,
        ("offered", Some(agent)),
        ChatMove {
            accepted_at: Some(Some(now)),
            concurrent_at_accept: Some(i32::try_from(others).unwrap_or(i32::MAX)),
            ..ChatMove::to("assigned")
        },
    )?;
    if !moved {
        return Err(AppError::conflict(
            "offer_gone",
            "this offer expired or was withdrawn",
        ));
    }
    store::event(conn, &chat.id, how, Some(agent), None, now)?;
    store::mark_served(conn, &chat.customer_id, agent, now)?;
    let chat = reload(conn, &chat.id)?;
    let mut effects = Effects::default();
    let name = store::display_name(conn, agent)?.unwrap_or_default();
    hook(
        conn,
        &chat,
        "chat.assigned",
        serde_json::json!({ "agent_name": name, "at": now }),
        now,
        &mut effects,
    )?;
    let messages = store::messages_after(conn, &chat.id, 0, RECENT_MESSAGES)?
        .iter()
        .map(message_out)
        .collect();
    effects.push(Push::agent(
        agent,
        Out::Assigned {
            card: card(conn, &chat, rules)?,
            messages,
        },
    ));
    effects.push(Push::customer(
        &chat.id,
        Out::AgentJoined {
            chat: chat.id.clone(),
            agent_name: name,
        },
    ));
    effects.wake_queue(&chat);
    Ok(effects)
}

pub fn decline(
    conn: &mut DbConn,
    agent: &AccountId,
    chat_id: &str,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let chat = store::lock_chat(conn, chat_id)?.ok_or_else(not_found)?;
    if !(chat.status == "offered" && chat.held_by(agent)) {
        return Err(AppError::conflict(
            "offer_gone",
            "this offer expired or was withdrawn",
        ));
    }
    withdraw_offer(conn, &chat, agent.as_str(), "declined", now)
}

/// Ends an open offer (declined or timed out) and puts the chat back where it was in the
/// queue: the agent is not offered it again.
fn withdraw_offer(
    conn: &mut DbConn,
    chat: &ChatRow,
    agent: &str,
    outcome: &str,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let mut effects = Effects::default();
    if !store::decide_offer(conn, &chat.id, agent, outcome, now)? {
        return Ok(effects);
    }
    let moved = store::move_chat(
        conn,
        &chat.id,
        ("offered", Some(agent)),
        ChatMove {
            agent_id: Some(None),
            ..ChatMove::to("queued")
        },
    )?;
    if moved {
        store::event(conn, &chat.id, outcome, Some(agent), None, now)?;
        effects.push(Push::agent(
            agent,
            Out::OfferWithdrawn {
                chat: chat.id.clone(),
                reason: outcome.to_owned(),
            },
        ));
        effects.wake_queue(chat);
    }
    Ok(effects)
}

/// Takes a held chat back from its agent and puts it at the front of the queue.
fn take_back(
    conn: &mut DbConn,
    chat: &ChatRow,
    reason: &str,
    note: &str,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let mut effects = Effects::default();
    let Some(agent) = chat.agent_id.clone() else {
        return Ok(effects);
    };
    if chat.status == "offered" {
        return withdraw_offer(conn, chat, &agent, "timed_out", now);
    }
    let moved = store::move_chat(
        conn,
        &chat.id,
        ("assigned", Some(&agent)),
        ChatMove::requeue(Some(note)),
    )?;
    if !moved {
        return Ok(effects);
    }
    store::count_takeback(conn, &chat.id)?;
    store::event(
        conn,
        &chat.id,
        "taken_back",
        Some(&agent),
        Some(reason),
        now,
    )?;
    effects.push(Push::agent(
        &agent,
        Out::TakenBack {
            chat: chat.id.clone(),
            reason: reason.to_owned(),
        },
    ));
    let requeued = reload(conn, &chat.id)?;
    let position = store::ahead_of(conn, &requeued)? + 1;
    effects.push(Push::customer(
        &chat.id,
        Out::Queue {
            chat: chat.id.clone(),
            position,
            estimated_wait_secs: None,
        },
    ));
    effects.wake_queue(chat);
    Ok(effects)
}

// ----- closing, transfer, rating -----

/// Who closes a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closer<'a> {
    Agent(&'a AccountId),
    Customer,
    Merchant,
    System,
}

impl Closer<'_> {
    fn as_str(&self) -> &'static str {
        match self {
            Closer::Agent(_) => "agent",
            Closer::Customer => "customer",
            Closer::Merchant => "merchant",
            Closer::System => "system",
        }
    }
}

pub fn close(
    conn: &mut DbConn,
    chat_id: &str,
    by: Closer<'_>,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let chat = store::lock_chat(conn, chat_id)?.ok_or_else(not_found)?;
    if let Closer::Agent(agent) = by
        && chat.agent_id.as_deref() != Some(agent.as_str())
    {
        return Err(not_yours());
    }
    if !chat.is_open() {
        return Err(closed());
    }
    if let Closer::Agent(_) = by
        && chat.status != "assigned"
    {
        return Err(AppError::conflict(
            "chat_not_accepted",
            "accept the chat before closing it",
        ));
    }
    // A chat nobody took is abandoned, not closed: it must not count as handled.
    let status = if chat.status == "assigned" {
        "closed"
    } else {
        "abandoned"
    };
    if chat.status == "offered"
        && let Some(agent) = chat.agent_id.as_deref()
    {
        store::decide_offer(conn, chat_id, agent, "withdrawn", now)?;
    }
    let moved = store::move_chat(
        conn,
        chat_id,
        (&chat.status, chat.agent_id.as_deref()),
        ChatMove {
            closed_at: Some(now),
            closed_by: Some(by.as_str()),
            close_reason: reason,
            ..ChatMove::to(status)
        },
    )?;
    if !moved {
        return Err(AppError::conflict(
            "chat_changed",
            "the chat changed meanwhile; try again",
        ));
    }
    store::event(
        conn,
        chat_id,
        "closed",
        chat.agent_id.as_deref(),
        reason.or(Some(by.as_str())),
        now,
    )?;
    let closed_row = reload(conn, chat_id)?;
    let mut effects = Effects::default();
    hook(
        conn,
        &closed_row,
        "chat.closed",
        serde_json::json!({ "status": status, "closed_by": by.as_str(), "reason": reason, "at": now }),
        now,
        &mut effects,
    )?;
    let frame = Out::Closed {
        chat: chat_id.to_owned(),
        by: by.as_str().to_owned(),
        reason: reason.map(str::to_owned),
        may_rate: status == "closed",
    };
    effects.push(Push::customer(chat_id, frame.clone()));
    if let Some(agent) = chat.agent_id.as_deref() {
        effects.push(Push::agent(agent, frame));
    }
    effects.wake_queue(&chat);
    Ok(effects)
}

/// Hands a held chat to another agent of the same merchant who is on shift, online and
/// below capacity; the chat is offered to them with the note.
pub fn transfer(
    conn: &mut DbConn,
    from: &AccountId,
    chat_id: &str,
    to: &str,
    note: Option<&str>,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    if note.is_some_and(|n| n.chars().count() > 1000) {
        return Err(AppError::field(
            "note",
            "too_long",
            "a transfer note is at most 1000 characters",
        ));
    }
    let chat = store::lock_chat(conn, chat_id)?.ok_or_else(not_found)?;
    if !chat.held_by(from) {
        return Err(not_yours());
    }
    if chat.status != "assigned" {
        return Err(AppError::conflict(
            "chat_not_accepted",
            "accept the chat before transferring it",
        ));
    }
    if to == from.as_str() {
        return Err(AppError::field(
            "to",
            "transfer_to_self",
            "choose another agent",
        ));
    }
    let agents = agent_states(conn, &chat.merchant_id, &chat.skill, rules, now)?;
    let target = agents.iter().map(|(a, _)| a).find(|a| a.id.as_str() == to);
    let request = ChatRequest {
        merchant: MerchantId(chat.merchant_id.clone()),
        skill: chat.skill.clone(),
        customer: chat.customer_id.clone(),
        last_agent: None,
        declined_by: BTreeSet::new(),
    };
    if !target.is_some_and(|a| routing::is_eligible(&request, a)) {
        return Err(AppError::field(
            "to",
            "agent_unavailable",
            "that agent is not online on a shift of this shop with a free slot",
        ));
    }
    let moved = store::move_chat(
        conn,
        chat_id,
        ("assigned", Some(from.as_str())),
        ChatMove {
            agent_id: Some(Some(to)),
            accepted_at: Some(None),
            first_response_at: Some(None),
            handover_note: Some(note),
            ..ChatMove::to("offered")
        },
    )?;
    if !moved {
        return Err(AppError::conflict(
            "chat_changed",
            "the chat changed meanwhile; try again",
        ));
    }
    store::count_transfer(conn, chat_id)?;
    store::event(conn, chat_id, "transferred", Some(from.as_str()), note, now)?;
    let mut effects = Effects::default();
    effects.push(Push::agent(
        from.as_str(),
        Out::TakenBack {
            chat: chat_id.to_owned(),
            reason: "transferred".to_owned(),
        },
    ));
    let chat = reload(conn, chat_id)?;
    effects.extend(offer(conn, &chat, to, false, 0, rules, now)?);
    Ok(effects)
}

pub fn rate(
    conn: &mut DbConn,
    chat_id: &str,
    score: i32,
    comment: Option<&str>,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    if !(1..=5).contains(&score) {
        return Err(AppError::field(
            "score",
            "out_of_range",
            "a rating is 1 to 5",
        ));
    }
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 1000) {
        return Err(AppError::field(
            "comment",
            "too_long",
            "a comment is at most 1000 characters",
        ));
    }
    let chat = store::chat(conn, chat_id)?.ok_or_else(not_found)?;
    if chat.status != "closed" {
        return Err(AppError::conflict(
            "chat_not_closed",
            "a chat can be rated once an agent has closed or answered it and it ended",
        ));
    }
    if !store::rate(conn, chat_id, score, comment, now)? {
        return Err(AppError::conflict("already_rated", "this chat is rated"));
    }
    store::event(conn, chat_id, "rated", chat.agent_id.as_deref(), None, now)?;
    let mut effects = Effects::default();
    let frame = Out::Rated {
        chat: chat_id.to_owned(),
        score,
    };
    effects.push(Push::customer(chat_id, frame.clone()));
    if let Some(agent) = chat.agent_id.as_deref() {
        effects.push(Push::agent(agent, frame));
    }
    Ok(effects)
}

// ----- presence -----

/// An agent socket opened.
/// An agent who was offline (not away) comes back online; the queues of their shift may
/// now be routed to them.
pub fn connected(
    conn: &mut DbConn,
    agent: &AccountId,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    store::connect(conn, agent.as_str(), now)?;
    let mut effects = Effects::default();
    if store::presence(conn, agent.as_str())?.is_some_and(|p| p.status == "offline") {
        effects.extend(set_presence(conn, agent, "online", now)?);
    }
    Ok(effects)
}

/// An agent socket closed. The agent's chats stay theirs for the grace period (the
/// ticker takes them back after it); offers are left to time out.
pub fn disconnected(
    conn: &mut DbConn,
    agent: &AccountId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    store::disconnect(conn, agent.as_str(), now)?;
    Ok(())
}

pub fn set_presence(
    conn: &mut DbConn,
    agent: &AccountId,
    status: &str,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    if !matches!(status, "online" | "away") {
        return Err(AppError::field(
            "status",
            "invalid_presence",
            "presence is online or away",
        ));
    }
    let mut effects = Effects::default();
    store::set_presence(conn, agent.as_str(), status, now)?;
    effects.push(Push::agent(
        agent.as_str(),
        Out::Presence {
            status: status.to_owned(),
        },
    ));
    if status == "online" {
        for (merchant, skill) in store::current_shift_of(conn, agent.as_str(), now)? {
            effects.queues.insert((merchant, skill));
        }
    }
    Ok(effects)
}

pub fn set_auto_accept(
    conn: &mut DbConn,
    agent: &AccountId,
    on: bool,
) -> Result<Effects, AppError> {
    store::set_auto_accept(conn, agent.as_str(), on)?;
    let mut effects = Effects::default();
    effects.push(Push::agent(agent.as_str(), Out::AutoAccept { on }));
    Ok(effects)
}

// ----- routing -----

/// The router's view of the agents checked in on shifts of the merchant and skill.
fn agent_states(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<Vec<(AgentState, bool)>, AppError> {
    Ok(store::on_shift(conn, merchant, skill, now)?
        .into_iter()
        .map(|a| {
            let state = AgentState {
                online: a.status.as_deref() == Some("online") && a.connections > 0,
                checked_in_for: BTreeSet::from([(
                    MerchantId(merchant.to_owned()),
                    skill.to_owned(),
                )]),
                active_chats: u32::try_from(a.active).unwrap_or(u32::MAX),
                // The agent's own setting, within what their level allows.
                own_limit: u32::try_from(a.own_limit)
                    .unwrap_or(0)
                    .min(rules.level_chat_caps.cap(a.level)),
                shift_limit: rules.shift_max_concurrent_chats,
                last_assigned_at: a.last_assigned_at,
                available_since: a.available_since.unwrap_or(now),
                assigned_today: 0,
                available_minutes_today: 0,
                id: AccountId(a.agent_id),
            };
            (state, a.auto_accept)
        })
        .collect())
}

/// How fast a queue drains: the concurrent chats its agents on shift can hold, and the
/// recent mean handle time.
fn pace(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    agents: &[AgentState],
) -> Result<(u32, i64), AppError> {
    let capacity = agents.iter().map(AgentState::capacity).sum();
    let handle =
        store::recent_handle_secs(conn, merchant, skill, 50)?.unwrap_or(DEFAULT_HANDLE_SECS);
    Ok((capacity, handle))
}

/// Offers `chat` to `agent`, or assigns it straight away when the agent auto-accepts.
fn offer(
    conn: &mut DbConn,
    chat: &ChatRow,
    agent: &str,
    auto_accept: bool,
    idle_secs: i64,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    let expires_at = now + Duration::seconds(i64::from(rules.offer_timeout_secs));
    let idle = i32::try_from(idle_secs.max(0)).unwrap_or(i32::MAX);
    store::assigned_now(conn, agent, now)?;
    if chat.status != "offered" {
        let moved = store::move_chat(
            conn,
            &chat.id,
            (&chat.status, None),
            ChatMove {
                agent_id: Some(Some(agent)),
                first_offered_at: chat.first_offered_at.or(Some(now)),
                ..ChatMove::to("offered")
            },
        )?;
        if !moved {
            return Ok(Effects::default());
        }
    }
    store::event(conn, &chat.id, "offered", Some(agent), None, now)?;
    if auto_accept {
        store::insert_offer(
            conn,
            &chat.id,
            agent,
            now,
            expires_at,
            idle,
            Some("auto_accepted"),
        )?;
        let chat = reload(conn, &chat.id)?;
        return assign(conn, &chat, agent, "auto_accepted", rules, now);
    }
    store::insert_offer(conn, &chat.id, agent, now, expires_at, idle, None)?;
    let chat = reload(conn, &chat.id)?;
    let mut effects = Effects::default();
    effects.push(Push::agent(
        agent,
        Out::Offer {
            card: card(conn, &chat, rules)?,
            expires_at,
        },
    ));
    Ok(effects)
}

/// Routes one queue: offers as many waiting chats as there are free eligible agents, then
/// tells every customer still waiting where they stand. Chats left while nobody was on
/// shift join the queue as soon as someone is.
///
/// With `announce` false (a recheck), customers hear only if a chat was offered.
pub fn dispatch(
    conn: &mut DbConn,
    merchant: &str,
    skill: &str,
    announce: bool,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<Effects, AppError> {
    store::lock_queue(conn, merchant, skill)?;
    let queue = store::queue(conn, merchant, skill, QUEUE_BATCH)?;
    let mut effects = Effects::default();
    if queue.is_empty() {
        return Ok(effects);
    }
    let (agents, auto): (Vec<AgentState>, Vec<bool>) =
        agent_states(conn, merchant, skill, rules, now)?
            .into_iter()
            .unzip();
    let requests: Vec<ChatRequest> = queue
        .iter()
        .map(|q| ChatRequest {
            merchant: MerchantId(q.chat.merchant_id.clone()),
            skill: q.chat.skill.clone(),
            customer: q.chat.customer_id.clone(),
            last_agent: q
                .last_agent
                .as_ref()
                .map(|(a, at)| (AccountId(a.clone()), *at)),
            declined_by: q.declined_by.iter().cloned().map(AccountId).collect(),
        })
        .collect();
    let decisions = routing::assign_queue(&requests, &agents, &rules.routing(), now);
    let mut offered = BTreeSet::new();
    for (index, agent) in decisions {
        let chat = &queue[index].chat;
        let Some(i) = agents.iter().position(|a| a.id == agent) else {
            continue;
        };
        let idle = (now - agents[i].idle_since()).num_seconds();
        let auto_accept = auto[i];
        effects.extend(offer(
            conn,
            chat,
            agent.as_str(),
            auto_accept,
            idle,
            rules,
            now,
        )?);
        offered.insert(index);
    }
    // Everyone still waiting: their place and an estimate.
    let announce = announce || !offered.is_empty();
    let (capacity, handle) = pace(conn, merchant, skill, &agents)?;
    let staffed = !agents.is_empty();
    let mut position = 0;
    for (index, q) in queue.iter().enumerate() {
        if offered.contains(&index) {
            continue;
        }
        position += 1;
        if q.chat.status == "left_message" {
            if staffed {
                store::move_chat(
                    conn,
                    &q.chat.id,
                    ("left_message", None),
                    ChatMove::to("queued"),
                )?;
            } else {
                continue;
            }
        }
        if !announce {
            continue;
        }
        effects.push(Push::customer(
            &q.chat.id,
            Out::Queue {
                chat: q.chat.id.clone(),
                position,
                estimated_wait_secs: routing::estimate_wait_secs(position, capacity, handle),
            },
        ));
    }
    Ok(effects)
}

/// The customer's place in the queue and the estimate, for a welcome frame.
pub fn standing(
    conn: &mut DbConn,
    chat: &ChatRow,
    rules: &ChatRules,
    now: NaiveDateTime,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    if chat.status != "queued" {
        return Ok((None, None));
    }
    let position = store::ahead_of(conn, chat)? + 1;
    let agents: Vec<AgentState> = agent_states(conn, &chat.merchant_id, &chat.skill, rules, now)?
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    let (capacity, handle) = pace(conn, &chat.merchant_id, &chat.skill, &agents)?;
    Ok((
        Some(position),
        routing::estimate_wait_secs(position, capacity, handle),
    ))
}

// ----- timers -----

/// One pass of the chat timers: expired offers go to the next agent, accepted chats
/// without a first reply and chats of agents gone past the grace period are taken back,
/// silent customers are warned and then closed.
///
/// `connected_here` are agents with a socket on this instance, marked seen first (the
/// caller passes them every so often, well within the grace period), so only agents whose
/// instance stopped refreshing them look gone.
pub fn tick(
    conn: &mut DbConn,
    rules: &ChatRules,
    now: NaiveDateTime,
    connected_here: &[String],
) -> Result<Effects, AppError> {
    store::touch(conn, connected_here, now)?;
    let mut effects = Effects::default();
    for (chat_id, agent) in store::expired_offers(conn, now)? {
        if let Some(chat) = store::lock_chat(conn, &chat_id)?
            && chat.status == "offered"
            && chat.agent_id.as_deref() == Some(agent.as_str())
        {
            effects.extend(withdraw_offer(conn, &chat, &agent, "timed_out", now)?);
        } else {
            store::decide_offer(conn, &chat_id, &agent, "withdrawn", now)?;
        }
    }
    let silent_cutoff = now - Duration::seconds(i64::from(rules.first_reply_limit_secs));
    for (chat_id, _) in store::silent_chats(conn, silent_cutoff)? {
        if let Some(chat) = store::lock_chat(conn, &chat_id)? {
            let mut taken = take_back(
                conn,
                &chat,
                "no_first_reply",
                "Taken back: the previous agent did not reply in time.",
                now,
            )?;
            if !taken.pushes.is_empty() {
                let chat = reload(conn, &chat_id)?;
                system_message(
                    conn,
                    &chat,
                    "We are finding another agent for you.",
                    now,
                    &mut taken,
                )?;
            }
            effects.extend(taken);
        }
    }
    let gone_cutoff = now - Duration::seconds(i64::from(rules.offline_grace_secs));
    for agent in store::gone_agents(conn, gone_cutoff)? {
        for chat in store::held_by(conn, &agent)? {
            effects.extend(take_back(
                conn,
                &chat,
                "agent_offline",
                "Taken back: the previous agent lost their connection.",
                now,
            )?);
        }
        store::set_presence(conn, &agent, "offline", now)?;
    }
    let warn_cutoff = now - Duration::minutes(i64::from(rules.idle_warning_minutes));
    for chat_id in store::idle_chats(conn, warn_cutoff)? {
        if store::set_idle_warned(conn, &chat_id, now)? {
            let chat = reload(conn, &chat_id)?;
            store::event(
                conn,
                &chat_id,
                "idle_warning",
                chat.agent_id.as_deref(),
                None,
                now,
            )?;
            let closes_at = now + Duration::minutes(i64::from(rules.idle_close_minutes));
            let frame = Out::IdleWarning {
                chat: chat_id.clone(),
                closes_at,
            };
            effects.push(Push::customer(&chat_id, frame.clone()));
            if let Some(agent) = chat.agent_id.as_deref() {
                effects.push(Push::agent(agent, frame));
            }
        }
    }
    let close_cutoff = now - Duration::minutes(i64::from(rules.idle_close_minutes));
    for chat_id in store::idle_expired(conn, close_cutoff)? {
        effects.extend(close(conn, &chat_id, Closer::System, Some("idle"), now)?);
    }
    effects.recheck.extend(store::waiting_queues(conn)?);
    Ok(effects)
}

// ----- intake -----

/// A new chat as a client describes it (the widget's `start` frame, the merchant API's
/// `POST /api/chats`), before validation.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartChat {
    /// The skill queue to join, e.g. `pre_sale`.
    pub skill: String,
    /// The customer's name as they gave it, shown to the agent.
    #[serde(default)]
    pub name: Option<String>,
    /// What the customer is known by: phone, account id, device id, channel handle.
    #[serde(default)]
    pub identities: Vec<IdentityInput>,
    /// The first message, if the customer wrote one before connecting.
    #[serde(default)]
    pub message: Option<FirstMessage>,
    /// What the chat is about, for the agent's piece rate: one of the pay plan's chat
    /// kinds (`pre_sale`, `after_sale`, `complaint`); absent, a standard chat. The agent
    /// may correct it later.
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// `phone`, `account_id`, `device_id` or `channel_handle`.
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstMessage {
    pub client_id: String,
    pub body: String,
}

/// Longest customer name accepted.
pub const MAX_NAME_CHARS: usize = 80;
/// Most identities one chat may carry.
pub const MAX_IDENTITIES: usize = 10;

/// Checks a new chat against the rules, reporting every bad field at once.
pub fn validate_start(
    raw: &StartChat,
    merchant: MerchantId,
    channel: &'static str,
    skills: &[crate::seats::rules::Skill],
    rules: &ChatRules,
    pay: &crate::payroll::plan::PayPlan,
    token_hash: String,
) -> Result<NewChatInput, AppError> {
    let mut errors = Vec::new();
    if let Some(kind) = &raw.kind
        && let Err(e) = check_kind(pay, kind)
    {
        errors.push(e);
    }
    if !skills.iter().any(|s| s.id == raw.skill) {
        errors.push(crate::error::FieldError::new(
            "skill",
            "unknown_skill",
            format!("no skill {:?}", raw.skill),
        ));
    }
    let name = raw
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if name
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
    {
        errors.push(crate::error::FieldError::new(
            "name",
            "too_long",
            format!("a name is at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if raw.identities.len() > MAX_IDENTITIES {
        errors.push(crate::error::FieldError::new(
            "identities",
            "too_many",
            format!("at most {MAX_IDENTITIES} identities"),
        ));
    }
    let pairs: Vec<(String, String)> = raw
        .identities
        .iter()
        .map(|i| (i.kind.clone(), i.value.clone()))
        .collect();
    let identities = match super::identity::parse_identities(&pairs) {
        Ok(identities) => identities,
        Err(bad) => {
            if let AppError::Validation(list) = AppError::from(bad) {
                errors.extend(list);
            }
            BTreeSet::new()
        }
    };
    if let Some(m) = &raw.message
        && let Err(AppError::Validation(list)) =
            super::protocol::check_message(&m.client_id, &m.body, rules.max_message_chars)
    {
        errors.extend(list.into_iter().map(|mut e| {
            e.field = format!("message.{}", e.field);
            e
        }));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(NewChatInput {
        merchant,
        skill: raw.skill.clone(),
        channel,
        identities,
        customer_name: name,
        first_message: raw
            .message
            .as_ref()
            .map(|m| (m.client_id.clone(), m.body.clone())),
        token_hash,
        kind: raw.kind.clone(),
    })
}

/// A chat kind must be one the pay plan prices.
pub fn check_kind(
    pay: &crate::payroll::plan::PayPlan,
    kind: &str,
) -> Result<(), crate::error::FieldError> {
    if pay.chat_kind_bp.contains_key(kind) {
        Ok(())
    } else {
        let known: Vec<&str> = pay.chat_kind_bp.keys().map(String::as_str).collect();
        Err(crate::error::FieldError::new(
            "kind",
            "unknown_chat_kind",
            format!("kind must be one of {}", known.join(", ")),
        ))
    }
}

/// The agent who holds or held `chat_id` sets its kind (`None`: a standard chat).
pub fn set_kind(
    conn: &mut DbConn,
    agent: &AccountId,
    chat_id: &str,
    kind: Option<&str>,
    pay: &crate::payroll::plan::PayPlan,
) -> Result<(), AppError> {
    if let Some(kind) = kind {
        check_kind(pay, kind).map_err(|e| AppError::Validation(vec![e]))?;
    }
    let chat = store::lock_chat(conn, chat_id)?
        .filter(|c| c.agent_id.as_deref() == Some(agent.as_str()) && c.accepted_at.is_some())
        .ok_or(AppError::NotFound)?;
    store::set_kind(conn, &chat.id, kind)?;
    Ok(())
}
