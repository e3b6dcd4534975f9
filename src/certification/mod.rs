//! Certification and the talent pool: the agent lifecycle (a pure state machine), agent
//! profiles, the online exam (pure rules), and (to come) trial shifts and certifications per
//! skill.

pub mod attempts;
pub mod banks;
pub mod exam;
pub mod exam_pages;
pub mod lifecycle;
pub mod my_exams;
pub mod pages;
pub mod profile;
pub mod routes;
pub mod service;
pub mod store;
