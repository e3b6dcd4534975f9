//! Quality: the score an agent earns for a period ([`score`], pure) and the rules that
//! weigh it and sample chats for review ([`rules`], `seat-rules/quality.toml`).

pub mod rules;
pub mod score;
