//! Operations analytics (issue 8): agent churn and retention computed from the lifecycle
//! event log and the days agents worked, never from a mutable status alone.
//!
//! - [`churn`]: the pure definitions (active spells, monthly churn, cohorts), tested against
//!   hand-computed fixtures and a day-by-day model.
//! - [`rules`]: `seat-rules/churn.toml` (inactivity, pay and quality bands, longest range).
//! - [`report`]: the admin's report (query checks, grouping, CSV), pure.
//! - [`store`]: the histories and group attributes read from the database in a few queries.
//! - [`routes`] and [`pages`]: the JSON/CSV API and the admin page.
//! - [`at_risk`]: the at-risk score from weekly warning signs (`seat-rules/at_risk.toml`),
//!   its facts loaded for the whole pool by [`at_risk_store`], served by [`at_risk_routes`]
//!   and [`at_risk_pages`] with the admins' [`follow_ups`].
//! - [`continuity`] and [`live`]: a shop's continuity of agents, rotation and renewals, and
//!   its live service figures (pure), served by [`merchant_routes`] and
//!   [`merchant_pages`] and mailed by [`merchant_reports`].
//! - [`operations`]: the admins' operations dashboard (sold against staffed seats per hour,
//!   no-shows today, queue health across shops, outbox and payroll), its facts loaded by
//!   [`operations_store`], served by [`operations_routes`] and [`operations_pages`].
//! - [`timeline`]: every agent's day as offline, away, idle or in chats, on or off shift,
//!   and the hours worked per shop; loaded by [`timeline_store`], served by
//!   [`timeline_routes`] and [`timeline_pages`].

pub mod at_risk;
pub mod at_risk_pages;
pub mod at_risk_routes;
pub mod at_risk_store;
pub mod churn;
pub mod follow_ups;
pub mod pages;
pub mod report;
pub mod routes;
pub mod rules;
pub mod store;

// The shop's side (issue 8): continuity and renewals, live service figures, the dashboard
// API, page and mailed reports.
pub mod continuity;
pub mod live;
pub mod merchant_dash;
pub mod merchant_pages;
pub mod merchant_reports;
pub mod merchant_routes;
pub mod merchant_store;

// The platform's side (issue 8): the admins' operations dashboard.
pub mod operations;
pub mod operations_pages;
pub mod operations_routes;
pub mod operations_store;
// The agent activity timeline (issue 8): presence, shifts and chats per local day, and the
// hours worked per shop.
pub mod timeline;
pub mod timeline_pages;
pub mod timeline_routes;
pub mod timeline_store;
