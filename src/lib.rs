//! cloudseat: a crowdsourced customer-service marketplace and workforce manager.
//!
//! Modules by domain (`accounts`, `seats`, and later `certification`, `shifts`, `chat`,
//! `quality`, `payroll`, `analytics`), each with its pure model, its store and its routes;
//! shared infrastructure beside them (`config`, `db`, `auth`, `error`, `mail`, `web`).
//! See `README.md` for running it and DESIGN.md for the picture.

rust_i18n::i18n!("src/web/locales", fallback = "en");

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod briefing;
pub mod certification;
pub mod chat;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod demo_history;
pub mod error;
pub mod mail;
pub mod merchant_api;
pub mod payroll;
pub mod quality;
pub mod seats;
pub mod shifts;
pub mod startup;
pub mod state;
pub mod web;
