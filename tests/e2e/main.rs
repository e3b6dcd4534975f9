//! End-to-end tests: whole processes and a real browser.
//!
//! - `browser`: headless Chromium driven through chromedriver (WebDriver) against an
//!   in-process server from the API harness. Test names contain `browser`, so nextest
//!   runs them one at a time (see `.config/nextest.toml`).
//! - `payroll_browser`: the admin's payroll pages in the same browser, draft to paid.
//! - `cli`: the real `cloudseat` binary as an operator runs it (`serve`, `migrate`,
//!   `admin create`, `demo`), each in its own data directory.
//!
//! The per-test server, database and SMTP sink come from the API tests' harness.

#![allow(dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;

mod browser;
mod cli;
mod payroll_browser;
