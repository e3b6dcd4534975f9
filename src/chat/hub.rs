//! The sockets connected to this instance: which agent and which chat's customer each one
//! belongs to. Only a cache of who is listening here; what happened is in the database.
//! A use case returns the frames it caused ([`Push`]) and the hub delivers them after the
//! transaction commits, so nobody hears of a change that was rolled back.
//!
//! With several instances on one PostgreSQL database, the hub also hands every frame to the
//! [`super::bus`] relay, which delivers it to the other instances' sockets.
//!
//! Each socket has a bounded queue. A client that stops reading until its queue is full is
//! disconnected (it reconnects and resumes from the database) instead of growing memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc;

use super::bus::Relay;
use super::protocol::Out;

/// Frames waiting for one socket before it counts as stuck.
pub const SOCKET_QUEUE: usize = 512;

/// What a socket's writer task receives.
#[derive(Debug, Clone)]
pub enum Outbound {
    Text(Arc<str>),
    /// Close with a WebSocket close code and reason.
    Close(u16, String),
}

/// Who a frame is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Agent(String),
    /// Every socket of the chat's customer.
    Customer(String),
}

#[derive(Debug, Clone)]
pub struct Push {
    pub to: Target,
    pub frame: Out,
}

impl Push {
    pub fn agent(agent: &str, frame: Out) -> Push {
        Push {
            to: Target::Agent(agent.to_owned()),
            frame,
        }
    }

    pub fn customer(chat: &str, frame: Out) -> Push {
        Push {
            to: Target::Customer(chat.to_owned()),
            frame,
        }
    }
}

type Sockets = HashMap<Target, Vec<(u64, mpsc::Sender<Outbound>)>>;

#[derive(Default)]
pub struct Hub {
    sockets: Mutex<Sockets>,
    next: AtomicU64,
    /// Where frames go for the other instances, when there are any.
    relay: OnceLock<Relay>,
}

/// A registered socket; unregisters itself when dropped.
pub struct Registration {
    hub: Arc<Hub>,
    target: Target,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(&self.target, self.id);
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sockets> {
        match self.sockets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Adds a socket for `target`; frames for it arrive on the returned receiver.
    pub fn register(self: &Arc<Self>, target: Target) -> (Registration, mpsc::Receiver<Outbound>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        self.lock()
            .entry(target.clone())
            .or_default()
            .push((id, tx));
        (
            Registration {
                hub: self.clone(),
                target,
                id,
            },
            rx,
        )
    }

    fn unregister(&self, target: &Target, id: u64) {
        let mut sockets = self.lock();
        if let Some(list) = sockets.get_mut(target) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                sockets.remove(target);
            }
        }
    }

    /// Sends the relay every frame from now on (set once, at start-up).
    pub fn attach_relay(&self, relay: Relay) {
        if self.relay.set(relay).is_err() {
            tracing::warn!("a chat relay was already attached; keeping the first");
        }
    }

    /// Delivers each frame to every socket of its target, here and (through the relay) on
    /// the other instances, serializing it once.
    pub fn send(&self, pushes: Vec<Push>) {
        let relay = self.relay.get();
        for push in pushes {
            if relay.is_none() && !self.is_connected(&push.to) {
                continue;
            }
            let text: Arc<str> = match serde_json::to_string(&push.frame) {
                Ok(text) => text.into(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialize a chat frame");
                    continue;
                }
            };
            self.deliver_here(&push.to, text.clone());
            if let Some(relay) = relay {
                relay.publish(&push.to, text);
            }
        }
    }

    /// Delivers a serialized frame to the sockets of `target` on this instance only.
    pub fn deliver_here(&self, target: &Target, text: Arc<str>) {
        let mut sockets = self.lock();
        let Some(list) = sockets.get_mut(target) else {
            return;
        };
        list.retain(|(_, tx)| match tx.try_send(Outbound::Text(text.clone())) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(?target, "chat socket not reading; disconnecting it");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if list.is_empty() {
            sockets.remove(target);
        }
    }

    /// Closes every socket of `target` here (a revoked session, a suspended agent).
    pub fn close(&self, target: &Target, code: u16, reason: &str) {
        if let Some(list) = self.lock().remove(target) {
            for (_, tx) in list {
                let _ = tx.try_send(Outbound::Close(code, reason.to_owned()));
            }
        }
    }

    /// The agents with a socket on this instance.
    pub fn agents(&self) -> Vec<String> {
        self.lock()
            .keys()
            .filter_map(|t| match t {
                Target::Agent(id) => Some(id.clone()),
                Target::Customer(_) => None,
            })
            .collect()
    }

    pub fn is_connected(&self, target: &Target) -> bool {
        self.lock().get(target).is_some_and(|l| !l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_reach_every_socket_of_their_target_only() {
        let hub = Arc::new(Hub::default());
        let (_a1, mut rx1) = hub.register(Target::Agent("a".into()));
        let (_a2, mut rx2) = hub.register(Target::Agent("a".into()));
        let (_b, mut rx3) = hub.register(Target::Agent("b".into()));
        hub.send(vec![Push::agent("a", Out::Pong)]);
        for rx in [&mut rx1, &mut rx2] {
            match rx.recv().await {
                Some(Outbound::Text(t)) => assert_eq!(&*t, r#"{"type":"pong"}"#),
                other => panic!("{other:?}"),
            }
        }
        assert!(rx3.try_recv().is_err());
        let mut agents = hub.agents();
        agents.sort();
        assert_eq!(agents, ["a", "b"]);
    }

    #[tokio::test]
    async fn dropping_a_registration_unregisters_and_a_stuck_socket_is_dropped() {
        let hub = Arc::new(Hub::default());
        let (reg, _rx) = hub.register(Target::Customer("c".into()));
        assert!(hub.is_connected(&Target::Customer("c".into())));
        drop(reg);
        assert!(!hub.is_connected(&Target::Customer("c".into())));

        let (_reg, rx) = hub.register(Target::Customer("d".into()));
        for _ in 0..SOCKET_QUEUE {
            hub.send(vec![Push::customer("d", Out::Pong)]);
        }
        assert!(hub.is_connected(&Target::Customer("d".into())));
        hub.send(vec![Push::customer("d", Out::Pong)]);
        assert!(!hub.is_connected(&Target::Customer("d".into())));
        drop(rx);
    }
}
