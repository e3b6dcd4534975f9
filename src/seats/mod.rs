//! The seat marketplace: the rules that price and limit seats (`rules`), the staffing
//! estimator (`erlang`), the pure booking rules (`booking`), and around them the store,
//! the use cases, the API and the background housekeeping.

pub mod booking;
pub mod erlang;
pub mod jobs;
pub mod mails;
pub mod pages;
pub mod routes;
pub mod rules;
pub mod service;
pub mod store;
