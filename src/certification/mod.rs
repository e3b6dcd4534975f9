//! Certification and the talent pool: the agent lifecycle (a pure state machine), agent
//! profiles, the online exam (pure rules, attempts, reviews of written answers), trial
//! shifts with their scorecards, and the certifications per skill they grant.

pub mod admin_pages;
pub mod attempts;
pub mod banks;
pub mod demo;
pub mod exam;
pub mod exam_pages;
pub mod jobs;
pub mod lifecycle;
pub mod mails;
pub mod my_exams;
pub mod pages;
pub mod pool;
pub mod pool_routes;
pub mod profile;
pub mod review_pages;
pub mod reviews;
pub mod routes;
pub mod service;
pub mod store;
pub mod trial;
pub mod trial_pages;
pub mod trial_routes;
pub mod trials;
