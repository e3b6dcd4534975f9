//! Certification and the talent pool: the agent lifecycle (a pure state machine), agent
//! profiles, the online exam (pure rules), and (to come) trial shifts and certifications per
//! skill.

pub mod admin_pages;
pub mod attempts;
pub mod banks;
pub mod exam;
pub mod lifecycle;
pub mod pages;
pub mod pool;
pub mod pool_routes;
pub mod profile;
pub mod routes;
pub mod service;
pub mod store;
