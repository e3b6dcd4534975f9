//! Accounts of every role: registration, sign-in sessions, email confirmation, password
//! reset, shop staff and admins.

pub mod model;
pub mod routes;
pub mod service;
pub mod store;
