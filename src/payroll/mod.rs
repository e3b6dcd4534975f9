//! Piece-rate payroll: the pay plan from `seat-rules/pay.toml` ([`plan`]), the pure
//! computation of an agent's payslip from their workload ([`pay`]), the period's workloads
//! aggregated in SQL ([`aggregate`]), and payroll runs stored ([`store`]), computed and
//! moved through draft → published → approved → paid ([`service`]) and served
//! ([`routes`]); corrections after approval are [`adjustments`] carried into a later run.

pub mod adjustments;
pub mod admin_pages;
pub mod agent_pages;
pub mod aggregate;
pub mod earnings;
pub mod pay;
pub mod plan;
pub mod routes;
pub mod service;
pub mod store;
