//! One integration test binary (faster to build than one per file), a module per feature.
//! Tests that touch storage run on SQLite and on PostgreSQL via `both_backends!`.

mod helpers;

mod admin_pages;
mod admin_pay_pages;
mod agent_pages;
mod agent_pay_pages;
mod agents;
mod at_risk;
mod auth;
mod authz;
mod bad_input;
mod briefing;
mod briefing_pages;
mod chat;
mod chat_fairness;
mod chat_relay;
mod churn;
mod cli;
mod earnings;
mod exam_pages;
mod exams;
mod levels;
mod mail;
mod merchant_api;
mod merchant_dash;
mod migrations;
mod openapi;
mod operations;
mod pages;
mod payroll;
mod payroll_corrections;
mod quality;
mod quality_pages;
mod review_pages;
mod seat_pages;
mod seats;
mod shift_pages;
mod shifts;
mod staffing;
mod talent_pool;
mod timeline;
mod trial_pages;
mod trials;
mod workspace_pages;
