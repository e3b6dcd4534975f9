//! Piece-rate payroll: the pay plan from `seat-rules/pay.toml` ([`plan`]) and the pure
//! computation of an agent's payslip from their workload ([`pay`]).

pub mod pay;
pub mod plan;
