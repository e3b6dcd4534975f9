//! Live chat (issue 6, in progress). So far only the pure router's choice of agent
//! ([`routing`]); no store, routes or sockets yet.

pub mod routing;
