pub mod erlang;
