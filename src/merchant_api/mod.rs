//! The merchant integration layer: what a shop's own systems and pages use to reach
//! cloudseat, and how cloudseat tells them what happened.
//!
//! - The **widget key** (`wk_...`, public, one per shop, rotatable) identifies the shop to
//!   the chat widget embedded in its pages: [`merchant_for_widget_key`].
//! - **Secret API keys** (`sk_...`, several per shop, shown once, stored as a digest) let a
//!   shop's back end call the API: the [`MerchantApiKey`] extractor.
//! - **Signed webhooks** tell a shop's endpoints about chat events: a use case calls
//!   [`enqueue`] in its transaction and `AppState::wake_webhooks` after commit; the
//!   [`sender::WebhookSender`] posts and retries.

pub mod keys;
pub mod pages;
pub mod routes;
pub mod sender;
pub mod service;
pub mod webhooks;

pub use keys::{MerchantApiKey, merchant_for_widget_key};
pub use webhooks::{EVENTS, enqueue};
