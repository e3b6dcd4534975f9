//! Live chat (issue 6, in progress). So far only the pure rules: the router's choice of
//! agent ([`routing`]) and One-ID linking of a chat's identities to one customer of a
//! merchant ([`identity`]). No store, routes or sockets yet.

pub mod identity;
pub mod routing;
