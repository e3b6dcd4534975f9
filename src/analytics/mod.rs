//! Operations analytics (issue 8): agent churn and retention computed from the lifecycle
//! event log and the days agents worked, never from a mutable status alone.
//!
//! - [`churn`]: the pure definitions (active spells, monthly churn, cohorts), tested against
//!   hand-computed fixtures and a day-by-day model.

pub mod churn;
