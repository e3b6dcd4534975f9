//! Shifts: the job board where certified agents claim the seats merchants booked (issue 5,
//! in progress). So far the pure rules: claiming, auto-assignment, adherence and the
//! calendar export; the limits will be read from `seat-rules/`.

pub mod adherence;
pub mod assign;
pub mod autofill;
pub mod claim;
pub mod ics;
pub mod jobs;
pub mod pages;
pub mod prefs;
pub mod routes;
pub mod service;
pub mod staffing;
pub mod staffing_pages;
pub mod staffing_routes;
pub mod store;
