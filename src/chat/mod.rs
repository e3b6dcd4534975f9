//! Live chat: customers reach a merchant's agents on shift within seconds, and keep one
//! history across channels (One-ID).
//!
//! - [`routing`] and [`identity`] are the pure rules: which agent gets a chat, which
//!   customer a chat's identities belong to.
//! - [`store`] keeps chats, customers, offers and presence in the database; [`service`]
//!   holds the use cases, each one transaction returning the frames it caused.
//! - [`hub`] is this instance's map of open sockets (and [`bus`] relays its frames to the
//!   other instances on PostgreSQL), [`engine`] runs a use case and
//!   delivers its frames, and [`ticker`] drives the timers (offer timeouts, take-backs,
//!   idle customers).
//! - [`ws`] serves `/ws/agent` and `/ws/customer`, [`routes`] the JSON API for shops,
//!   admins and agents, [`api`] the chat API for shops' own front ends (secret API key),
//!   [`pages`] the agent's workspace page and the demo shop that embeds the customer widget.
//! - [`fairness`] measures how evenly chats went to agents (pure), from what
//!   [`fairness_store`] reads; [`fairness_routes`] serves the report to shops and admins.

pub mod api;
pub mod bus;
pub mod engine;
pub mod fairness;
pub mod fairness_routes;
pub mod fairness_store;
pub mod hub;
pub mod identity;
pub mod pages;
pub mod protocol;
pub mod routes;
pub mod routing;
pub mod service;
pub mod store;
pub mod ws;
