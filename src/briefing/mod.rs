//! The merchant's briefing for the agents on its seats (part of live chat, issue 6): four
//! plain-text sections (products, shipping, returns, other) saved with optimistic
//! concurrency and kept as revisions, and the shop's quick replies. Staff edit their own
//! shop's (admins any shop's); an agent reads a shop's while holding or about to hold one of
//! its shifts.
//!
//! The chat workspace shows it through [`agent_may_read`] and [`load_for_agent`].

pub mod model;
pub mod pages;
pub mod routes;
pub mod service;
pub mod store;

pub use store::{agent_may_read, load_for_agent};
