//! The seat marketplace: the rules that price and limit seats (`rules`) and the staffing
//! estimator (`erlang`).

pub mod erlang;
pub mod rules;
