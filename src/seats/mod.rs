//! Seats: the rules that price and limit them, and (soon) their inventory and bookings.

pub mod rules;
