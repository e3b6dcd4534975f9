//! The chat load test: thousands of agents and customers on real WebSockets against the
//! real service (release build, SQLite, in this process), exchanging messages at a
//! controlled aggregate rate for a fixed time.
//!
//!   cargo bench --bench chat_load
//!
//! Everything is set by environment variables (defaults in brackets):
//! - `CHAT_LOAD_AGENTS` [500]: agents checked in on a shift, each with one socket and
//!   auto-accept on.
//! - `CHAT_LOAD_CUSTOMERS` [2000]: customers in a chat with an agent at once.
//! - `CHAT_LOAD_WAITING` [customers / 50]: further customers beyond the agents' capacity,
//!   so chats are always waiting in the queues and a closed chat frees a slot for one of
//!   them (this is what the offer latency measures).
//! - `CHAT_LOAD_MERCHANTS` [agents / 10]: shops; the agents are split evenly over them
//!   and each customer writes to one shop's widget.
//! - `CHAT_LOAD_SLOTS` [customers / agents, rounded up]: chats an agent may hold at once
//!   (their own limit and the shift's, `shift_max_concurrent_chats`; 1-6).
//! - `CHAT_LOAD_RATE` [1000]: chat messages per second, both directions together.
//!   Customers in a chat send `rate / 2` a second between them, evenly spaced; the agent
//!   answers each message at once, which makes the other half.
//! - `CHAT_LOAD_CHAT_MSGS` [10]: customer messages in a chat, on average (each chat
//!   draws from half to one and a half times this); after the last answer the agent
//!   closes the chat and the customer starts a new one on a new socket.
//! - `CHAT_LOAD_SECS` [30]: the measured window, after `CHAT_LOAD_WARMUP_SECS` [5].
//! - `CHAT_LOAD_POOL` [the service's default: 2 on SQLite]: the service's database pool; `CHAT_LOAD_CLIENT_THREADS` [2]:
//!   the load client's tokio threads.
//!
//! Latencies are measured at the receiving socket from a timestamp in the message body
//! (the client and the service share this process's monotonic clock). The offer latency
//! is the time from an agent's `close` to that agent's next `assigned` frame. CPU is
//! counted per thread: the client's threads are named `load-client`, everything else is
//! the service (its workers, the blocking pool that runs SQLite, its timers).
//!
//! Per connection the service allows `messages_per_minute` with bursts of
//! `message_burst` (shipped: 60 and 10). A customer here sends at most one message a
//! second, within the shipped limit; an agent answers every customer of up to six chats,
//! so the bench's rules raise the limit to 600 a minute with bursts of 100 (the highest
//! the rules accept). Each socket is two file descriptors in this process (client and
//! service side); the bench raises its open-files limit as far as it needs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use cloudseat::accounts::model::{AccountId, MerchantId, Role};
use cloudseat::auth::jwt::JwtKeys;
use cloudseat::config::Settings;
use cloudseat::db::schema::{
    accounts, agents, bookings, chat_messages, chats, merchant_widget_keys, merchants,
    shift_assignments, shifts,
};
use cloudseat::startup::Application;
use diesel::prelude::*;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rand::RngExt;
use secrecy::SecretString;
use serde::Deserialize;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Phases of the run, broadcast to every client task.
const RAMP: u8 = 0;
const WARMUP: u8 = 1;
const MEASURE: u8 = 2;
/// Customers stop sending and agents stop closing; what is in flight arrives.
const DRAIN: u8 = 3;
const STOP: u8 = 4;

/// How long a handshake (connect, hello, start) may take before it counts as an error.
const HANDSHAKE_TIMEOUT: StdDuration = StdDuration::from_secs(60);

static BASE: OnceLock<Instant> = OnceLock::new();

/// Microseconds since the bench started: the timestamp carried in message bodies.
fn micros() -> u64 {
    BASE.get_or_init(Instant::now).elapsed().as_micros() as u64
}

fn env<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone)]
struct Config {
    agents: usize,
    customers: usize,
    waiting: usize,
    merchants: usize,
    slots: usize,
    rate: f64,
    chat_msgs: u32,
    secs: u64,
    warmup_secs: u64,
    pool: Option<u32>,
    client_threads: usize,
    /// Handshakes in flight at once while connecting.
    ramp: usize,
}

impl Config {
    fn from_env() -> Config {
        let agents: usize = env("CHAT_LOAD_AGENTS", 500).max(1);
        let customers: usize = env("CHAT_LOAD_CUSTOMERS", 2000).max(1);
        let slots: usize = env("CHAT_LOAD_SLOTS", customers.div_ceil(agents));
        assert!(
            (1..=6).contains(&slots),
            "CHAT_LOAD_SLOTS must be 1-6 (an agent's own limit); {customers} customers need more agents"
        );
        Config {
            agents,
            customers,
            waiting: env("CHAT_LOAD_WAITING", customers / 50),
            merchants: env("CHAT_LOAD_MERCHANTS", (agents / 10).max(1)).clamp(1, agents),
            slots,
            rate: env("CHAT_LOAD_RATE", 1000.0_f64).max(0.1),
            chat_msgs: env("CHAT_LOAD_CHAT_MSGS", 10_u32).max(1),
            secs: env("CHAT_LOAD_SECS", 30_u64).max(1),
            warmup_secs: env("CHAT_LOAD_WARMUP_SECS", 5_u64),
            pool: std::env::var_os("CHAT_LOAD_POOL").map(|_| env("CHAT_LOAD_POOL", 2_u32).max(1)),
            client_threads: env("CHAT_LOAD_CLIENT_THREADS", 2_usize).max(1),
            ramp: env("CHAT_LOAD_RAMP", 64_usize).max(1),
        }
    }

    /// Chats served at once: the customers, or the agents' capacity if smaller.
    fn in_chat(&self) -> usize {
        (self.customers + self.waiting).min(self.agents * self.slots)
    }

    /// Seconds between two messages of one customer.
    fn period(&self) -> f64 {
        self.in_chat() as f64 / (self.rate / 2.0)
    }
}

// ----------------------------------------------------------------------------- stats

/// What every client task reports into.
struct Stats {
    c2a: Mutex<Histogram<u64>>,
    a2c: Mutex<Histogram<u64>>,
    offer: Mutex<Histogram<u64>>,
    /// From `start` to `agent_joined`, for chats started during the measured window.
    wait: Mutex<Histogram<u64>>,
    /// Messages received by the other side during the measured window.
    c2a_window: AtomicU64,
    a2c_window: AtomicU64,
    /// Over the whole run.
    c_sent: AtomicU64,
    a_sent: AtomicU64,
    c2a_recv: AtomicU64,
    a2c_recv: AtomicU64,
    closes: AtomicU64,
    closes_window: AtomicU64,
    assigned: AtomicU64,
    offers: AtomicU64,
    joined: AtomicU64,
    chats_started: AtomicU64,
    taken_back: AtomicU64,
    agents_ready: AtomicU64,
    customers_ready: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn new() -> Stats {
        let h = || Mutex::new(Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).unwrap());
        Stats {
            c2a: h(),
            a2c: h(),
            offer: h(),
            wait: h(),
            c2a_window: AtomicU64::new(0),
            a2c_window: AtomicU64::new(0),
            c_sent: AtomicU64::new(0),
            a_sent: AtomicU64::new(0),
            c2a_recv: AtomicU64::new(0),
            a2c_recv: AtomicU64::new(0),
            closes: AtomicU64::new(0),
            closes_window: AtomicU64::new(0),
            assigned: AtomicU64::new(0),
            offers: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            chats_started: AtomicU64::new(0),
            taken_back: AtomicU64::new(0),
            agents_ready: AtomicU64::new(0),
            customers_ready: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    fn error(&self, what: impl Into<String>) {
        *self.errors.lock().unwrap().entry(what.into()).or_default() += 1;
    }

    fn record(h: &Mutex<Histogram<u64>>, micros: u64) {
        h.lock().unwrap().saturating_record(micros.max(1));
    }
}

/// Shared by every client task.
struct Ctx {
    cfg: Config,
    ws_base: String,
    stats: Stats,
    phase: watch::Receiver<u8>,
    ramp: Semaphore,
}

impl Ctx {
    fn phase(&self) -> u8 {
        *self.phase.borrow()
    }
}

/// The fields of a server frame the client looks at.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    chat: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    code: Option<String>,
    /// A chat's status in `welcome`; a number in `error` frames.
    #[serde(default)]
    status: Option<serde_json::Value>,
    #[serde(default)]
    card: Option<Card>,
}

#[derive(Deserialize)]
struct Card {
    chat: String,
}

/// The send time in a message body (`... t<micros>`), if it is one of ours.
fn sent_at(body: &str) -> Option<u64> {
    body.rsplit_once(" t").and_then(|(_, t)| t.parse().ok())
}

async fn send(ws: &mut Socket, frame: String) -> bool {
    ws.send(Message::Text(frame.into())).await.is_ok()
}

/// Reads frames until one of `kind`; errors on an `error` frame, a close or a timeout.
async fn until(ws: &mut Socket, kind: &str) -> Result<Frame, String> {
    let read = async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(text)) => {
                    let frame: Frame =
                        serde_json::from_str(&text).map_err(|e| format!("bad frame: {e}"))?;
                    if frame.kind == kind {
                        return Ok(frame);
                    }
                    if frame.kind == "error" {
                        return Err(format!(
                            "error frame before {kind}: {}",
                            frame.code.unwrap_or_default()
                        ));
                    }
                }
                Ok(Message::Close(c)) => {
                    return Err(format!(
                        "closed before {kind}: {}",
                        c.map(|c| c.reason.to_string()).unwrap_or_default()
                    ));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("socket error before {kind}: {e}")),
            }
        }
        Err(format!("socket ended before {kind}"))
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, read)
        .await
        .map_err(|_| format!("no {kind} within {HANDSHAKE_TIMEOUT:?}"))?
}

// ----------------------------------------------------------------------------- agents

async fn agent(ctx: Arc<Ctx>, token: String) {
    let mut phase = ctx.phase.clone();
    let permit = ctx.ramp.acquire().await.unwrap();
    let mut request = format!("{}/ws/agent", ctx.ws_base)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let connected =
        tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio_tungstenite::connect_async(request)).await;
    let mut ws = match connected {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return ctx.stats.error(format!("agent connect: {e}")),
        Err(_) => return ctx.stats.error("agent connect: timeout"),
    };
    if let Err(e) = until(&mut ws, "hello").await {
        return ctx.stats.error(format!("agent: {e}"));
    }
    if !send(&mut ws, r#"{"type":"auto_accept","on":true}"#.to_owned()).await {
        return ctx.stats.error("agent: send auto_accept");
    }
    if let Err(e) = until(&mut ws, "auto_accept").await {
        return ctx.stats.error(format!("agent: {e}"));
    }
    drop(permit);
    ctx.stats.agents_ready.fetch_add(1, Ordering::Relaxed);

    let cfg = &ctx.cfg;
    // Chat -> (customer messages so far, messages after which the agent closes it).
    let mut chats: HashMap<String, (u32, u32)> = HashMap::new();
    // When this agent closed chats that no new assignment has followed yet.
    let mut closes: VecDeque<(Instant, bool)> = VecDeque::new();
    let mut sent = 0u64;
    loop {
        let msg = tokio::select! {
            msg = ws.next() => msg,
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == STOP {
                    break;
                }
                continue;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(c))) => {
                let reason = c.map(|c| c.reason.to_string()).unwrap_or_default();
                ctx.stats
                    .error(format!("agent socket closed by server: {reason}"));
                return;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return ctx.stats.error(format!("agent socket: {e}")),
            None => return ctx.stats.error("agent socket ended"),
        };
        let now_phase = ctx.phase();
        let frame = match serde_json::from_str::<Frame>(&text) {
            Ok(frame) => frame,
            Err(e) => {
                ctx.stats.error(format!("agent: unparsable frame: {e}"));
                continue;
            }
        };
        match frame.kind.as_str() {
            "message" if frame.from.as_deref() == Some("customer") => {
                let (Some(chat), Some(body)) = (frame.chat, frame.body) else {
                    continue;
                };
                let received = micros();
                ctx.stats.c2a_recv.fetch_add(1, Ordering::Relaxed);
                if let Some(at) = sent_at(&body)
                    && now_phase == MEASURE
                {
                    ctx.stats.c2a_window.fetch_add(1, Ordering::Relaxed);
                    Stats::record(&ctx.stats.c2a, received.saturating_sub(at));
                }
                let entry = chats.entry(chat.clone()).or_insert((0, cfg.chat_msgs));
                entry.0 += 1;
                let done = entry.0 >= entry.1;
                sent += 1;
                let reply = format!(
                    r#"{{"type":"message","chat":"{chat}","client_id":"a{sent}","body":"re {} t{}"}}"#,
                    entry.0,
                    micros()
                );
                if !send(&mut ws, reply).await {
                    return ctx.stats.error("agent: send failed");
                }
                ctx.stats.a_sent.fetch_add(1, Ordering::Relaxed);
                if done && now_phase < DRAIN {
                    chats.remove(&chat);
                    closes.push_back((Instant::now(), now_phase == MEASURE));
                    if !send(&mut ws, format!(r#"{{"type":"close","chat":"{chat}"}}"#)).await {
                        return ctx.stats.error("agent: send failed");
                    }
                    ctx.stats.closes.fetch_add(1, Ordering::Relaxed);
                    if now_phase == MEASURE {
                        ctx.stats.closes_window.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            "message" => {}
            "assigned" => {
                let Some(card) = frame.card else { continue };
                let half = cfg.chat_msgs / 2;
                let limit = rand::rng().random_range(cfg.chat_msgs - half..=cfg.chat_msgs + half);
                chats.insert(card.chat, (0, limit.max(1)));
                ctx.stats.assigned.fetch_add(1, Ordering::Relaxed);
                if let Some((closed_at, in_window)) = closes.pop_front()
                    && in_window
                {
                    Stats::record(&ctx.stats.offer, closed_at.elapsed().as_micros() as u64);
                }
            }
            "offer" => {
                // Auto-accept is on; an offer means it was not: accept like a person would.
                ctx.stats.offers.fetch_add(1, Ordering::Relaxed);
                if let Some(card) = frame.card
                    && !send(
                        &mut ws,
                        format!(r#"{{"type":"accept","chat":"{}"}}"#, card.chat),
                    )
                    .await
                {
                    return ctx.stats.error("agent: send failed");
                }
            }
            "closed" => {
                if let Some(chat) = frame.chat {
                    chats.remove(&chat);
                }
            }
            "taken_back" => {
                ctx.stats.taken_back.fetch_add(1, Ordering::Relaxed);
                if let Some(chat) = frame.chat {
                    chats.remove(&chat);
                }
            }
            "error" => ctx.stats.error(format!(
                "agent error frame: {}",
                frame.code.unwrap_or_default()
            )),
            _ => {}
        }
    }
    let _ = ws.close(None).await;
}

// ----------------------------------------------------------------------------- customers

enum ChatEnd {
    /// The agent closed it: start another.
    Closed,
    /// The run is over.
    Stop,
    /// Something went wrong (counted): start another.
    Failed,
}

async fn customer(ctx: Arc<Ctx>, index: usize, key: String) {
    let mut first = true;
    // The customer's own cadence, kept across chats so that short chats do not add
    // messages: a tick missed between chats fires once when the next agent joins.
    let mut ticker: Option<tokio::time::Interval> = None;
    while ctx.phase() < DRAIN {
        match one_chat(&ctx, index, &key, first, &mut ticker).await {
            ChatEnd::Closed | ChatEnd::Failed => {}
            ChatEnd::Stop => return,
        }
        if first {
            first = false;
        }
    }
}

/// One chat of one customer, from `start` to `closed`.
async fn one_chat(
    ctx: &Ctx,
    index: usize,
    key: &str,
    first: bool,
    ticker: &mut Option<tokio::time::Interval>,
) -> ChatEnd {
    let mut phase = ctx.phase.clone();
    let permit = if first {
        Some(ctx.ramp.acquire().await.unwrap())
    } else {
        None
    };
    let ready = |ctx: &Ctx| {
        if first {
            ctx.stats.customers_ready.fetch_add(1, Ordering::Relaxed);
        }
    };
    let connected = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::connect_async(format!("{}/ws/customer", ctx.ws_base)),
    )
    .await;
    let mut ws = match connected {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => {
            ready(ctx);
            ctx.stats.error(format!("customer connect: {e}"));
            tokio::time::sleep(StdDuration::from_secs(1)).await;
            return ChatEnd::Failed;
        }
        Err(_) => {
            ready(ctx);
            ctx.stats.error("customer connect: timeout");
            return ChatEnd::Failed;
        }
    };
    let started_at = Instant::now();
    let window_start = ctx.phase() == MEASURE;
    let start = format!(
        r#"{{"type":"start","key":"{key}","skill":"general","name":"Customer {index}","identities":[{{"kind":"device_id","value":"bench-device-{index}"}}]}}"#
    );
    let opened = async {
        if !send(&mut ws, start).await {
            return Err("send start failed".to_owned());
        }
        until(&mut ws, "started").await?;
        until(&mut ws, "welcome").await
    }
    .await;
    drop(permit);
    ready(ctx);
    let welcome = match opened {
        Ok(welcome) => welcome,
        Err(e) => {
            ctx.stats.error(format!("customer: {e}"));
            return ChatEnd::Failed;
        }
    };
    ctx.stats.chats_started.fetch_add(1, Ordering::Relaxed);

    let period = StdDuration::from_secs_f64(ctx.cfg.period());
    // Once an agent has joined, one message every period; the customer's first ever
    // message comes after a random part of it so customers do not send in step.
    let joined = |ticker: &mut Option<tokio::time::Interval>| {
        ctx.stats.joined.fetch_add(1, Ordering::Relaxed);
        if window_start {
            Stats::record(&ctx.stats.wait, started_at.elapsed().as_micros() as u64);
        }
        if ticker.is_none() {
            let offset = period.mul_f64(rand::rng().random_range(0.0..1.0));
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            *ticker = Some(t);
        }
        true
    };
    // A chat routed between its creation and the socket's registration is already
    // assigned in the welcome (the `agent_joined` went to no socket).
    let mut active =
        welcome.status.as_ref().and_then(|s| s.as_str()) == Some("assigned") && joined(ticker);
    let mut sent = 0u64;
    let end = loop {
        let tick = async {
            match ticker.as_mut().filter(|_| active) {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let msg = tokio::select! {
            msg = ws.next() => msg,
            _ = tick => {
                // Customers write from the start (an agent must answer within the first
                // reply limit), and stop when the drain begins.
                if ctx.phase() < DRAIN {
                    sent += 1;
                    let frame = format!(
                        r#"{{"type":"message","client_id":"c{sent}","body":"hello {sent} t{}"}}"#,
                        micros()
                    );
                    if !send(&mut ws, frame).await {
                        ctx.stats.error("customer: send failed");
                        break ChatEnd::Failed;
                    }
                    ctx.stats.c_sent.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == STOP {
                    break ChatEnd::Stop;
                }
                continue;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(c))) => {
                let reason = c.map(|c| c.reason.to_string()).unwrap_or_default();
                ctx.stats
                    .error(format!("customer socket closed by server: {reason}"));
                return ChatEnd::Failed;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                ctx.stats.error(format!("customer socket: {e}"));
                return ChatEnd::Failed;
            }
            None => {
                ctx.stats.error("customer socket ended");
                return ChatEnd::Failed;
            }
        };
        let frame = match serde_json::from_str::<Frame>(&text) {
            Ok(frame) => frame,
            Err(e) => {
                ctx.stats.error(format!("customer: unparsable frame: {e}"));
                continue;
            }
        };
        match frame.kind.as_str() {
            "message" if frame.from.as_deref() == Some("agent") => {
                let received = micros();
                ctx.stats.a2c_recv.fetch_add(1, Ordering::Relaxed);
                if let Some(at) = frame.body.as_deref().and_then(sent_at)
                    && ctx.phase() == MEASURE
                {
                    ctx.stats.a2c_window.fetch_add(1, Ordering::Relaxed);
                    Stats::record(&ctx.stats.a2c, received.saturating_sub(at));
                }
            }
            "agent_joined" if !active => active = joined(ticker),
            "closed" => break ChatEnd::Closed,
            "error" => ctx.stats.error(format!(
                "customer error frame: {}",
                frame.code.unwrap_or_default()
            )),
            _ => {}
        }
    };
    let _ = ws.close(None).await;
    end
}

// ----------------------------------------------------------------------------- process

/// (VmRSS, VmHWM) of this process in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds used so far: (whole process, the load client's threads).
fn cpu_seconds() -> (f64, f64) {
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 a second).
    let ticks = |stat: &str| -> f64 {
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (n(11) + n(12)) / 100.0
    };
    let total = ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    let mut client = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == "load-client" {
                client +=
                    ticks(&std::fs::read_to_string(task.path().join("stat")).unwrap_or_default());
            }
        }
    }
    (total, client)
}

/// (busy, total) jiffies of the whole machine, from /proc/stat.
fn machine_jiffies() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0.0, 0.0);
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Raises the open-files limit to at least `needed`; returns the soft limit in force.
fn raise_nofile(needed: u64) -> u64 {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
    if soft >= needed {
        return soft;
    }
    // Raising the hard limit needs privileges; without them, go as far as the hard limit.
    if hard < needed && rlimit::setrlimit(rlimit::Resource::NOFILE, needed, needed).is_ok() {
        return needed;
    }
    rlimit::increase_nofile_limit(needed.min(hard)).unwrap_or(soft)
}

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn describe(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "no samples".to_owned();
    }
    format!(
        "p50 {:.1} p90 {:.1} p99 {:.1} p99.9 {:.1} max {:.1} ms ({} samples)",
        pct(h, 0.5),
        pct(h, 0.9),
        pct(h, 0.99),
        pct(h, 0.999),
        h.max() as f64 / 1000.0,
        h.len()
    )
}

// ----------------------------------------------------------------------------- seeding

fn write_rules(dir: &std::path::Path, slots: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for file in [
        "market.toml",
        "skills.toml",
        "pricing.toml",
        "cancellation.toml",
        "periods.toml",
        "shifts.toml",
        "pay.toml",
        "quality.toml",
        "levels.toml",
        "scorecards.toml",
        "churn.toml",
        "at_risk.toml",
    ] {
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seat-rules")
            .join(file);
        std::fs::copy(&shipped, dir.join(file)).unwrap();
    }
    // The shipped chat rules, but agents may hold `slots` chats and every connection may
    // send up to 600 messages a minute (an agent answers several customers).
    let chat = include_str!("../seat-rules/chat.toml")
        .replace(
            "shift_max_concurrent_chats = 5",
            &format!("shift_max_concurrent_chats = {slots}"),
        )
        .replace("messages_per_minute = 60", "messages_per_minute = 600")
        .replace("message_burst = 10", "message_burst = 100");
    assert!(chat.contains("messages_per_minute = 600"));
    std::fs::write(dir.join("chat.toml"), chat).unwrap();
}

/// Seeds `merchants` shops, each with a widget key and an active booking for the current
/// hours, and `agents` certified agents split evenly over them, each holding one of the
/// booking's shifts and checked in on it now. Returns the agents and the widget keys.
fn seed(db: &cloudseat::db::Db, cfg: &Config) -> (Vec<AccountId>, Vec<String>) {
    let mut conn = db.get_blocking().unwrap();
    let now = cloudseat::db::now();
    let starts = now - Duration::hours(1);
    let ends = now + Duration::hours(4);
    let agent_ids: Vec<AccountId> = (0..cfg.agents).map(|_| AccountId::new()).collect();
    let mut keys = Vec::new();
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        let account = |c: &mut cloudseat::db::DbConn,
                       id: &AccountId,
                       email: String,
                       role: &'static str,
                       merchant: Option<&MerchantId>| {
            diesel::insert_into(accounts::table)
                .values((
                    accounts::id.eq(id),
                    accounts::email.eq(email),
                    accounts::password_hash.eq("!"),
                    accounts::role.eq(role),
                    accounts::merchant_id.eq(merchant),
                    accounts::display_name.eq("Bench"),
                    accounts::locale.eq("en"),
                    accounts::time_zone.eq("Asia/Shanghai"),
                    accounts::password_changed_at.eq(now),
                    accounts::created_at.eq(now),
                    accounts::updated_at.eq(now),
                ))
                .execute(c)
        };
        let per_shop = cfg.agents.div_ceil(cfg.merchants);
        for (m, shop_agents) in agent_ids.chunks(per_shop).enumerate() {
            let merchant = MerchantId::new();
            let staff = AccountId::new();
            diesel::insert_into(merchants::table)
                .values((
                    merchants::id.eq(&merchant),
                    merchants::name.eq(format!("Bench Shop {m}")),
                    merchants::created_at.eq(now),
                ))
                .execute(c)?;
            account(
                c,
                &staff,
                format!("shop{m}@bench.example"),
                "merchant_staff",
                Some(&merchant),
            )?;
            let key = format!("wk_bench{m:06}{}", cloudseat::db::new_id().replace('-', ""));
            diesel::insert_into(merchant_widget_keys::table)
                .values((
                    merchant_widget_keys::merchant_id.eq(&merchant),
                    merchant_widget_keys::widget_key.eq(&key),
                    merchant_widget_keys::created_at.eq(now),
                ))
                .execute(c)?;
            keys.push(key);
            let booking = cloudseat::db::new_id();
            diesel::insert_into(bookings::table)
                .values((
                    bookings::id.eq(&booking),
                    bookings::merchant_id.eq(&merchant),
                    bookings::created_by.eq(&staff),
                    bookings::skill.eq("general"),
                    bookings::start_date.eq(starts.date()),
                    bookings::end_date.eq(ends.date()),
                    bookings::daily_start_hour.eq(0),
                    bookings::daily_end_hour.eq(24),
                    bookings::time_zone.eq("UTC"),
                    bookings::seats.eq(shop_agents.len() as i32),
                    bookings::seat_hours.eq(shop_agents.len() as i64 * 5),
                    bookings::status.eq("active"),
                    bookings::ruleset_version.eq("bench"),
                    bookings::quote.eq("{}"),
                    bookings::total_fen.eq(0_i64),
                    bookings::starts_at.eq(starts),
                    bookings::ends_at.eq(ends),
                    bookings::created_at.eq(now),
                    bookings::updated_at.eq(now),
                    bookings::confirmed_at.eq(now),
                ))
                .execute(c)?;
            for (seat, agent) in shop_agents.iter().enumerate() {
                let i = m * per_shop + seat;
                account(c, agent, format!("agent{i}@bench.example"), "agent", None)?;
                diesel::insert_into(agents::table)
                    .values((
                        agents::account_id.eq(agent),
                        agents::status.eq("certified"),
                        agents::status_changed_at.eq(now),
                        agents::created_at.eq(now),
                        agents::max_concurrent_chats.eq(cfg.slots as i32),
                        // The top level, whose cap (8) leaves `slots` (1-6) the only limit.
                        agents::level.eq(6),
                    ))
                    .execute(c)?;
                let shift = cloudseat::db::new_id();
                diesel::insert_into(shifts::table)
                    .values((
                        shifts::id.eq(&shift),
                        shifts::booking_id.eq(&booking),
                        shifts::merchant_id.eq(&merchant),
                        shifts::skill.eq("general"),
                        shifts::seat_no.eq(seat as i32 + 1),
                        shifts::starts_at.eq(starts),
                        shifts::ends_at.eq(ends),
                        shifts::status.eq("checked_in"),
                        shifts::agent_id.eq(Some(agent)),
                        shifts::created_at.eq(now),
                        shifts::updated_at.eq(now),
                    ))
                    .execute(c)?;
                diesel::insert_into(shift_assignments::table)
                    .values((
                        shift_assignments::id.eq(cloudseat::db::new_id()),
                        shift_assignments::shift_id.eq(&shift),
                        shift_assignments::agent_id.eq(agent),
                        shift_assignments::merchant_id.eq(&merchant),
                        shift_assignments::booking_id.eq(&booking),
                        shift_assignments::via.eq("claim"),
                        shift_assignments::starts_at.eq(starts),
                        shift_assignments::ends_at.eq(ends),
                        shift_assignments::claimed_at.eq(now - Duration::days(1)),
                        shift_assignments::checked_in_at.eq(Some(starts)),
                    ))
                    .execute(c)?;
            }
        }
        Ok(())
    })
    .unwrap();
    (agent_ids, keys)
}

// ----------------------------------------------------------------------------- main

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // Test runners list or run every target; the load test only runs under `cargo bench`.
    if !raw.iter().any(|a| a == "--bench") || raw.iter().any(|a| a == "--list") {
        return;
    }
    BASE.get_or_init(Instant::now);
    let cfg = Config::from_env();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.client_threads)
        .thread_name("load-client")
        .enable_all()
        .build()
        .unwrap();
    let main = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-main")
        .enable_all()
        .build()
        .unwrap();
    let failed = main.block_on(run(cfg, client.handle().clone()));
    client.shutdown_timeout(StdDuration::from_secs(5));
    main.shutdown_timeout(StdDuration::from_secs(5));
    if failed {
        std::process::exit(1);
    }
}

/// Runs the whole load test; true if it failed.
async fn run(cfg: Config, client: tokio::runtime::Handle) -> bool {
    let sockets = (cfg.agents + cfg.customers + cfg.waiting) as u64;
    // Client and service side of every socket, the database, listeners and some slack.
    let needed = sockets * 2 + 1024;
    let nofile = raise_nofile(needed);
    if nofile < needed {
        println!(
            "chat load: the open-files limit is {nofile}, {needed} needed; raise it (ulimit -n {needed})"
        );
        return true;
    }

    let dir = tempfile::tempdir().unwrap();
    let rules_dir = dir.path().join("seat-rules");
    write_rules(&rules_dir, cfg.slots);
    let settings = {
        let mut s = Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_owned(),
            database_url: Some(SecretString::from(format!(
                "sqlite://{}",
                dir.path().join("bench.db").display()
            ))),
            database_pool_size: cfg.pool,
            jwt_secret: Some(SecretString::from(SECRET.to_owned())),
            rules_dir,
            workers: Some(2),
            log: cloudseat::config::LogSettings {
                format: cloudseat::config::LogFormat::Human,
                filter: "error".into(),
            },
            ..Settings::default()
        };
        s.mail.outbox_dir = Some(dir.path().join("outbox"));
        s
    };
    let tick_millis = settings.chat.tick_millis;
    let pool_size = settings.pool_size();
    let app = Application::build(settings).await.expect("start");
    let ws_base = format!("ws://{}", app.address());
    let db = app.db.clone();
    let server = app.handle();
    let served = tokio::spawn(app.run_until_stopped());

    let seeded = Instant::now();
    let (agent_ids, keys) = {
        let db = db.clone();
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || seed(&db, &cfg))
            .await
            .unwrap()
    };
    let seed_secs = seeded.elapsed().as_secs_f64();
    let jwt = JwtKeys::new(SECRET.as_bytes(), Duration::hours(2));
    let tokens: Vec<String> = agent_ids
        .iter()
        .map(|a| jwt.issue(a, Role::Agent, None).unwrap())
        .collect();

    println!(
        "chat load [sqlite]: {} agents ({} chats each) in {} shops, {} customers in chats + {} waiting, {:.0} messages/s asked (one customer message every {:.2} s, each answered), ~{} customer messages a chat, {} s measured after {} s warm-up; pool {}, 2 service workers, {} client threads, open-files limit {nofile}",
        cfg.agents,
        cfg.slots,
        keys.len(),
        cfg.customers,
        cfg.waiting,
        cfg.rate,
        cfg.period(),
        cfg.chat_msgs,
        cfg.secs,
        cfg.warmup_secs,
        pool_size,
        cfg.client_threads,
    );
    println!(
        "  seeded {} shops and {} agents in {seed_secs:.1} s; chat timers every {tick_millis} ms; load average {}",
        keys.len(),
        cfg.agents,
        loadavg()
    );
    let (rss_start, _) = memory();

    let (phase_tx, phase_rx) = watch::channel(RAMP);
    let ctx = Arc::new(Ctx {
        cfg: cfg.clone(),
        ws_base,
        stats: Stats::new(),
        phase: phase_rx,
        ramp: Semaphore::new(cfg.ramp),
    });
    let mut tasks = Vec::new();

    // Agents first, all connected before any customer.
    let ramp_started = Instant::now();
    for token in tokens {
        tasks.push(client.spawn(agent(ctx.clone(), token)));
    }
    while (ctx.stats.agents_ready.load(Ordering::Relaxed) as usize) < cfg.agents
        && ctx.stats.errors.lock().unwrap().is_empty()
    {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let agents_secs = ramp_started.elapsed().as_secs_f64();
    let customers_started = Instant::now();
    for i in 0..cfg.customers + cfg.waiting {
        let key = keys[i % keys.len()].clone();
        tasks.push(client.spawn(customer(ctx.clone(), i, key)));
    }
    while (ctx.stats.customers_ready.load(Ordering::Relaxed) as usize) < cfg.customers + cfg.waiting
    {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let customers_secs = customers_started.elapsed().as_secs_f64();
    // Every chat that can be served is.
    let fill_deadline = Instant::now() + StdDuration::from_secs(60);
    while (ctx.stats.joined.load(Ordering::Relaxed) as usize) < cfg.in_chat()
        && Instant::now() < fill_deadline
    {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let fill_secs = customers_started.elapsed().as_secs_f64();
    let (rss_connected, _) = memory();
    println!(
        "  connected {} agents in {agents_secs:.1} s; {} customers started chats in {customers_secs:.1} s, {} chats assigned after {fill_secs:.1} s; RSS {rss_connected:.0} MiB",
        ctx.stats.agents_ready.load(Ordering::Relaxed),
        ctx.stats.customers_ready.load(Ordering::Relaxed),
        ctx.stats.joined.load(Ordering::Relaxed),
    );

    phase_tx.send(WARMUP).unwrap();
    tokio::time::sleep(StdDuration::from_secs(cfg.warmup_secs)).await;
    let (cpu0, client0) = cpu_seconds();
    let (busy0, total0) = machine_jiffies();
    let c_sent0 = ctx.stats.c_sent.load(Ordering::Relaxed);
    let a_sent0 = ctx.stats.a_sent.load(Ordering::Relaxed);
    let started0 = ctx.stats.chats_started.load(Ordering::Relaxed);
    let load_before = loadavg();
    let window = Instant::now();
    phase_tx.send(MEASURE).unwrap();
    tokio::time::sleep(StdDuration::from_secs(cfg.secs)).await;
    phase_tx.send(DRAIN).unwrap();
    let secs = window.elapsed().as_secs_f64();
    let (cpu1, client1) = cpu_seconds();
    let (busy1, total1) = machine_jiffies();
    let c_sent = ctx.stats.c_sent.load(Ordering::Relaxed) - c_sent0;
    let a_sent = ctx.stats.a_sent.load(Ordering::Relaxed) - a_sent0;
    let started = ctx.stats.chats_started.load(Ordering::Relaxed) - started0;
    let load_after = loadavg();
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let (rss_end, hwm_end) = memory();
    phase_tx.send(STOP).unwrap();
    let stop_deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
    for task in tasks {
        let _ = tokio::time::timeout_at(stop_deadline, task).await;
    }

    let s = &ctx.stats;
    let c2a = s.c2a_window.load(Ordering::Relaxed);
    let a2c = s.a2c_window.load(Ordering::Relaxed);
    println!(
        "  delivered in the window: {:.0} messages/s ({:.0} customer->agent, {:.0} agent->customer); sent {:.0}/s by customers, {:.0}/s by agents",
        (c2a + a2c) as f64 / secs,
        c2a as f64 / secs,
        a2c as f64 / secs,
        c_sent as f64 / secs,
        a_sent as f64 / secs,
    );
    println!(
        "  latency customer->agent: {}",
        describe(&s.c2a.lock().unwrap())
    );
    println!(
        "  latency agent->customer: {}",
        describe(&s.a2c.lock().unwrap())
    );
    println!(
        "  offer latency (agent's close -> that agent's next assigned): {}",
        describe(&s.offer.lock().unwrap())
    );
    println!(
        "  queue wait of chats started in the window (start -> agent_joined): {}",
        describe(&s.wait.lock().unwrap())
    );
    println!(
        "  chats: {} closed by agents in the window ({:.0}/s), {} started ({:.0}/s); whole run: {} assigned, {} offers not auto-accepted, {} taken back",
        s.closes_window.load(Ordering::Relaxed),
        s.closes_window.load(Ordering::Relaxed) as f64 / secs,
        started,
        started as f64 / secs,
        s.assigned.load(Ordering::Relaxed),
        s.offers.load(Ordering::Relaxed),
        s.taken_back.load(Ordering::Relaxed),
    );
    let c_total = s.c_sent.load(Ordering::Relaxed);
    let a_total = s.a_sent.load(Ordering::Relaxed);
    println!(
        "  whole run: customers sent {c_total}, agents received {}; agents sent {a_total}, customers received {}",
        s.c2a_recv.load(Ordering::Relaxed),
        s.a2c_recv.load(Ordering::Relaxed),
    );
    let errors = s.errors.lock().unwrap().clone();
    let error_total: u64 = errors.values().sum();
    if errors.is_empty() {
        println!("  errors: none");
    } else {
        let list: Vec<String> = errors.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!("  errors: {error_total}: {}", list.join("; "));
    }
    let cpu = cpu1 - cpu0;
    let client_cpu = client1 - client0;
    println!(
        "  CPU in the window (cores busy): service {:.2}, load client {:.2}; whole machine {:.0}% busy of 2 cores; load average {load_before} -> {load_after}",
        (cpu - client_cpu) / secs,
        client_cpu / secs,
        if total1 > total0 {
            (busy1 - busy0) / (total1 - total0) * 100.0
        } else {
            0.0
        },
    );
    println!(
        "  memory (RSS of this process: service and client): {rss_start:.0} MiB before connecting, {rss_connected:.0} MiB connected, {rss_end:.0} MiB at the end (peak {hwm_end:.0} MiB)"
    );
    let (stored, open): (i64, i64) = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get_blocking().unwrap();
            let stored = chat_messages::table.count().get_result(&mut conn).unwrap();
            let open = chats::table
                .filter(chats::status.eq_any(["queued", "offered", "assigned"]))
                .count()
                .get_result(&mut conn)
                .unwrap();
            (stored, open)
        })
        .await
        .unwrap()
    };
    println!("  database: {stored} messages stored, {open} chats still open after the run");
    server.stop(false).await;
    let _ = tokio::time::timeout(StdDuration::from_secs(15), served).await;
    // Failed when connections were lost or errors were more than one in a thousand
    // messages.
    let lost = (c_total + a_total)
        .saturating_sub(s.c2a_recv.load(Ordering::Relaxed) + s.a2c_recv.load(Ordering::Relaxed));
    error_total * 1000 > (c_total + a_total).max(1) || lost * 1000 > (c_total + a_total).max(1)
}
