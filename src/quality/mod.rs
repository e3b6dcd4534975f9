//! Quality: the score an agent earns for a period ([`score`], pure) and the rules that
//! weigh it and sample chats for review ([`rules`], `seat-rules/quality.toml`), and which
//! chats a period's review sample proposes ([`sampling`], pure); agent levels and their
//! monthly recomputation ([`levels`], `seat-rules/levels.toml`); the reviewers' pages (the
//! admin review queue, the review form, a shop's chats, disputes) and the agents' model-chat
//! library pages.

pub mod dispute_pages;
pub mod levels;
pub mod levels_pages;
pub mod levels_routes;
pub mod levels_store;
pub mod library;
pub mod library_pages;
pub mod masking;
pub mod quality_pages;
pub mod queue;
pub mod queue_pages;
pub mod review_pages;
pub mod reviews;
pub mod routes;
pub mod rules;
pub mod sampling;
pub mod score;
pub mod scorecards;
pub mod store;
