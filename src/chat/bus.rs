//! Keeps the chat sockets of several instances in step through PostgreSQL notifications.
//!
//! Every instance serving the same PostgreSQL database runs one relay: a thread with its own
//! connection that `LISTEN`s on [`CHANNEL`]. When a use case commits, the [`Hub`] delivers its
//! frames to the sockets connected here and hands each frame to the relay, which publishes
//! it with `pg_notify`; the other instances' relays receive it and deliver it to *their*
//! sockets for the same target. A relay skips the notifications its own connection sent
//! (their sockets were served directly). So an offer made by a chat started on one instance
//! reaches the agent connected to another, and the customer hears that agent's reply.
//!
//! - Payloads are `SEQ|TARGET|FRAME`. PostgreSQL drops identical payloads sent in one
//!   transaction; the sender's running number keeps every frame distinct.
//! - A notification carries at most 8000 bytes. A larger frame (a long message, an
//!   assignment with its history) is written to `chat_relay` and only its row id is
//!   announced (`SEQ|r|ID`); rows are deleted after [`RELAY_KEEP_MINUTES`].
//! - The connection is diesel's (libpq), so it takes the same URL, TLS and socket options as
//!   the pool. diesel reads notifications without blocking, so the relay polls its
//!   connection every `chat.relay_poll_millis` (5 ms by default) when it has nothing to
//!   send: the delay a frame crossing instances may add, at the cost of one `recv` call.
//! - What is lost when the connection breaks is only frames in flight: the relay logs it,
//!   reconnects with backoff, and clients resume from the database when they reconnect, as
//!   after any network drop. Nothing about a chat is kept only in a frame.
//!
//! SQLite serves one instance, so there is nothing to relay there.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text};
use prometheus::IntCounterVec;
use tokio::sync::watch;

use super::hub::{Hub, Target};
use crate::db::schema::chat_relay;

/// The notification channel every instance listens on.
pub const CHANNEL: &str = "cloudseat_chat";
/// Frames waiting to be published before new ones are dropped (and counted).
const QUEUE: usize = 20_000;
/// Frames published in one statement.
const BATCH: usize = 500;
/// The largest payload sent inline: PostgreSQL refuses 8000 bytes and more.
const INLINE_MAX: usize = 7_900;
/// How long a large frame's row stays for the other instances to read.
pub const RELAY_KEEP_MINUTES: i64 = 5;
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A frame for the other instances.
#[derive(Debug, Clone)]
pub struct Frame {
    pub target: Target,
    pub text: Arc<str>,
}

/// How the hub hands frames to the relay thread: never blocks the caller.
pub struct Relay {
    tx: SyncSender<Frame>,
    counts: IntCounterVec,
}

impl Relay {
    pub fn publish(&self, target: &Target, text: Arc<str>) {
        let frame = Frame {
            target: target.clone(),
            text,
        };
        match self.tx.try_send(frame) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.counts.with_label_values(&["dropped"]).inc();
                tracing::warn!("chat relay queue full; a frame for other instances was dropped");
            }
            // The relay stopped (shutdown): the other instances' clients resume from the
            // database.
            Err(TrySendError::Disconnected(_)) => {
                self.counts.with_label_values(&["dropped"]).inc();
            }
        }
    }
}

/// What one notification says.
#[derive(Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    Inline {
        target: Target,
        frame: &'a str,
    },
    /// A large frame, to read from `chat_relay`.
    Stored {
        id: &'a str,
    },
}

impl Target {
    fn encode(&self) -> String {
        match self {
            Target::Agent(id) => format!("a:{id}"),
            Target::Customer(chat) => format!("c:{chat}"),
        }
    }

    fn decode(text: &str) -> Option<Target> {
        match text.split_once(':')? {
            ("a", id) if !id.is_empty() => Some(Target::Agent(id.to_owned())),
            ("c", chat) if !chat.is_empty() => Some(Target::Customer(chat.to_owned())),
            _ => None,
        }
    }
}

/// The notification for a frame, or `None` when it is too large to send inline.
pub fn encode(seq: u64, frame: &Frame) -> Option<String> {
    let payload = format!("{seq}|{}|{}", frame.target.encode(), frame.text);
    (payload.len() <= INLINE_MAX).then_some(payload)
}

/// The notification naming a stored frame.
pub fn encode_stored(seq: u64, id: &str) -> String {
    format!("{seq}|r|{id}")
}

pub fn decode(payload: &str) -> Option<Payload<'_>> {
    let mut parts = payload.splitn(3, '|');
    let _seq: u64 = parts.next()?.parse().ok()?;
    let target = parts.next()?;
    let rest = parts.next()?;
    if target == "r" {
        return (!rest.is_empty()).then_some(Payload::Stored { id: rest });
    }
    Some(Payload::Inline {
        target: Target::decode(target)?,
        frame: rest,
    })
}

/// The name the relay's connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "cloudseat-chat-relay";

/// `url` with the relay's application name, unless the URL names one already.
fn with_application_name(url: &str) -> String {
    if url.contains("application_name=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={APPLICATION_NAME}")
}

/// Starts the relay thread for `hub` on the database at `url` and attaches it to the hub.
/// The thread stops when `stop` says so or the hub is gone.
pub fn start(
    url: String,
    hub: &Arc<Hub>,
    counts: IntCounterVec,
    poll: Duration,
    stop: watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    hub.attach_relay(Relay {
        tx,
        counts: counts.clone(),
    });
    let worker = Worker {
        url: with_application_name(&url),
        hub: Arc::downgrade(hub),
        rx,
        counts,
        poll: poll.max(Duration::from_millis(1)),
        stop,
        seq: 0,
    };
    std::thread::Builder::new()
        .name("chat-relay".into())
        .spawn(move || worker.run())
}

struct Worker {
    url: String,
    hub: Weak<Hub>,
    rx: mpsc::Receiver<Frame>,
    counts: IntCounterVec,
    poll: Duration,
    stop: watch::Receiver<bool>,
    seq: u64,
}

/// Why a session on one connection ended.
enum Ended {
    Stopped,
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Ended {
    fn from(e: diesel::result::Error) -> Self {
        Ended::Failed(e)
    }
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

#[derive(Queryable)]
struct StoredFrame {
    id: String,
    target: String,
    frame: String,
}

impl Worker {
    fn stopped(&self) -> bool {
        *self.stop.borrow() || self.hub.strong_count() == 0
    }

    fn run(mut self) {
        let mut backoff = Duration::from_millis(100);
        while !self.stopped() {
            match PgConnection::establish(&self.url) {
                Ok(mut conn) => match self.session(&mut conn) {
                    Ended::Stopped => return,
                    Ended::Failed(e) => {
                        self.counts.with_label_values(&["errors"]).inc();
                        tracing::error!(error = %e, "chat relay connection failed; reconnecting");
                        backoff = Duration::from_millis(100);
                    }
                },
                Err(e) => {
                    self.counts.with_label_values(&["errors"]).inc();
                    tracing::error!(error = %e, "chat relay cannot connect; retrying");
                }
            }
            self.sleep(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Sleeps up to `d`, dropping (and counting) what arrives meanwhile: with no
    /// connection the frames cannot be published, and clients resume from the database.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if self.stopped() {
                return;
            }
            if self.rx.recv_timeout(left.min(self.poll * 20)).is_ok() {
                self.counts.with_label_values(&["dropped"]).inc();
            }
        }
    }

    fn session(&mut self, conn: &mut PgConnection) -> Ended {
        match self.listen(conn) {
            Ok(never) => match never {},
            Err(ended) => ended,
        }
    }

    fn listen(&mut self, conn: &mut PgConnection) -> Result<std::convert::Infallible, Ended> {
        diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(conn)?;
        let own = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(conn)?
            .pid;
        tracing::info!(pid = own, "chat relay listening");
        let mut cleaned = Instant::now();
        loop {
            if self.stopped() {
                return Err(Ended::Stopped);
            }
            let mut batch = Vec::new();
            match self.rx.recv_timeout(self.poll) {
                Ok(frame) => batch.push(frame),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(Ended::Stopped),
            }
            while batch.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(frame) => batch.push(frame),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                self.publish(conn, &batch)?;
            }
            self.receive(conn, own)?;
            if cleaned.elapsed() >= CLEANUP_EVERY {
                cleaned = Instant::now();
                let before = crate::db::now() - chrono::Duration::minutes(RELAY_KEEP_MINUTES);
                diesel::delete(chat_relay::table.filter(chat_relay::created_at.lt(before)))
                    .execute(conn)?;
            }
        }
    }

    fn publish(&mut self, conn: &mut PgConnection, batch: &[Frame]) -> Result<(), Ended> {
        let now = crate::db::now();
        let mut payloads = Vec::with_capacity(batch.len());
        for frame in batch {
            self.seq += 1;
            match encode(self.seq, frame) {
                Some(payload) => payloads.push(payload),
                None => {
                    let id = crate::db::new_id();
                    diesel::insert_into(chat_relay::table)
                        .values((
                            chat_relay::id.eq(&id),
                            chat_relay::target.eq(frame.target.encode()),
                            chat_relay::frame.eq(&*frame.text),
                            chat_relay::created_at.eq(now),
                        ))
                        .execute(conn)?;
                    payloads.push(encode_stored(self.seq, &id));
                }
            }
        }
        // One statement for the batch; pg_notify runs once per element, in order.
        diesel::sql_query("SELECT pg_notify($1, p) FROM unnest($2) AS p")
            .bind::<Text, _>(CHANNEL)
            .bind::<Array<Text>, _>(&payloads)
            .execute(conn)?;
        self.counts
            .with_label_values(&["published"])
            .inc_by(payloads.len() as u64);
        Ok(())
    }

    fn receive(&self, conn: &mut PgConnection, own: i32) -> Result<(), Ended> {
        let notes = conn
            .notifications_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|n| n.process_id != own && n.channel == CHANNEL)
            .collect::<Vec<_>>();
        if notes.is_empty() {
            return Ok(());
        }
        let Some(hub) = self.hub.upgrade() else {
            return Err(Ended::Stopped);
        };
        let decoded: Vec<Payload<'_>> = notes
            .iter()
            .filter_map(|n| {
                let payload = decode(&n.payload);
                if payload.is_none() {
                    tracing::warn!(payload = %n.payload, "chat relay ignored an unreadable notification");
                }
                payload
            })
            .collect();
        let stored_ids: Vec<&str> = decoded
            .iter()
            .filter_map(|p| match p {
                Payload::Stored { id } => Some(*id),
                Payload::Inline { .. } => None,
            })
            .collect();
        let mut stored: std::collections::HashMap<String, (Target, String)> =
            std::collections::HashMap::new();
        if !stored_ids.is_empty() {
            let rows: Vec<StoredFrame> = chat_relay::table
                .filter(chat_relay::id.eq_any(&stored_ids))
                .select((chat_relay::id, chat_relay::target, chat_relay::frame))
                .load(conn)?;
            for row in rows {
                if let Some(target) = Target::decode(&row.target) {
                    stored.insert(row.id, (target, row.frame));
                }
            }
        }
        let mut delivered = 0u64;
        for payload in decoded {
            match payload {
                Payload::Inline { target, frame } => {
                    hub.deliver_here(&target, frame.into());
                    delivered += 1;
                }
                Payload::Stored { id } => match stored.remove(id) {
                    Some((target, frame)) => {
                        hub.deliver_here(&target, frame.into());
                        delivered += 1;
                    }
                    None => tracing::warn!(id, "chat relay frame row already gone"),
                },
            }
        }
        self.counts
            .with_label_values(&["received"])
            .inc_by(delivered);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(target: Target, text: &str) -> Frame {
        Frame {
            target,
            text: text.into(),
        }
    }

    #[test]
    fn small_frames_travel_inline_and_read_back() {
        let f = frame(Target::Agent("ag-1".into()), r#"{"type":"pong"}"#);
        let payload = encode(7, &f).unwrap();
        assert_eq!(payload, r#"7|a:ag-1|{"type":"pong"}"#);
        assert_eq!(
            decode(&payload),
            Some(Payload::Inline {
                target: Target::Agent("ag-1".into()),
                frame: r#"{"type":"pong"}"#,
            })
        );
    }

    #[test]
    fn large_frames_are_stored_and_named() {
        let big = "字".repeat(4000); // 12,000 bytes of UTF-8
        assert!(encode(1, &frame(Target::Customer("c1".into()), &big)).is_none());
        let payload = encode_stored(2, "0190-abc");
        assert_eq!(decode(&payload), Some(Payload::Stored { id: "0190-abc" }));
    }

    #[test]
    fn the_connection_is_named_unless_the_url_names_it() {
        assert_eq!(
            with_application_name("postgres://u@h/db"),
            "postgres://u@h/db?application_name=cloudseat-chat-relay"
        );
        assert_eq!(
            with_application_name("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&application_name=cloudseat-chat-relay"
        );
        assert_eq!(
            with_application_name("postgres://h/db?application_name=x"),
            "postgres://h/db?application_name=x"
        );
    }

    #[test]
    fn unreadable_payloads_are_refused() {
        for bad in [
            "",
            "x|a:1|{}",
            "1|b:1|{}",
            "1|a:|{}",
            "1|a:1",
            "1|r|",
            "1|nocolon|{}",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn every_inline_payload_fits_and_round_trips(
            seq in any::<u64>(),
            agent in any::<bool>(),
            id in "[a-z0-9-]{1,40}",
            text in any::<String>(),
        ) {
            let target = if agent { Target::Agent(id) } else { Target::Customer(id) };
            let f = frame(target.clone(), &text);
            match encode(seq, &f) {
                Some(payload) => {
                    prop_assert!(payload.len() < 8000);
                    prop_assert_eq!(
                        decode(&payload),
                        Some(Payload::Inline { target, frame: text.as_str() })
                    );
                }
                None => prop_assert!(text.len() > INLINE_MAX - 70),
            }
        }
    }
}
