//! Certification mails, written to the outbox in the transaction of the change they report,
//! in the agent's language and time zone.

use chrono::NaiveDateTime;

use crate::accounts::model::{AccountId, Locale, TimeZone};
use crate::accounts::service::account_locale;
use crate::accounts::store as accounts;
use crate::db::DbConn;
use crate::error::AppError;
use crate::mail::outbox;
use crate::mail::templates::{MailKind, render};

/// `t` in the agent's zone, e.g. `2026-11-24 09:00 (Asia/Shanghai)`.
pub fn local(zone: &str, t: NaiveDateTime) -> String {
    let zone = TimeZone::parse(zone).unwrap_or_default().0;
    format!(
        "{} ({})",
        t.and_utc().with_timezone(&zone).format("%Y-%m-%d %H:%M"),
        zone.name()
    )
}

/// What certification mails need beyond the database: where links point, and skill names
/// in both languages (mails name a skill as the pages do, never by its id).
#[derive(Debug, Clone)]
pub struct MailCtx {
    pub public_url: String,
    pub rules: std::sync::Arc<crate::seats::rules::Ruleset>,
}

impl MailCtx {
    pub fn new(state: &crate::state::AppState) -> Self {
        MailCtx {
            public_url: state.public_url.clone(),
            rules: state.rules(),
        }
    }

    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The skill's name in `locale` (its id if the rules no longer list it).
    pub fn skill(&self, id: &str, locale: Locale) -> String {
        self.rules.skill_name(id, locale)
    }
}

/// Who a mail goes to, as far as its wording is concerned.
pub struct Recipient {
    pub zone: String,
    pub locale: Locale,
}

/// Queues a mail to `agent`; `kind` is built for the agent's time zone and language.
pub fn send(
    conn: &mut DbConn,
    agent: &AccountId,
    kind: impl FnOnce(&Recipient) -> MailKind,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let account = accounts::find(conn, agent)?.ok_or(AppError::NotFound)?;
    let to = Recipient {
        zone: account.time_zone.clone(),
        locale: account_locale(&account),
    };
    let mail = render(&account.email, &account.display_name, to.locale, &kind(&to))
        .map_err(AppError::internal)?;
    outbox::enqueue(conn, &mail, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_are_named_in_the_recipients_language() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seat-rules");
        let ctx = MailCtx {
            public_url: "https://cs.example".into(),
            rules: std::sync::Arc::new(crate::seats::rules::load_dir(&dir).expect("shipped rules")),
        };
        assert_eq!(ctx.skill("general", Locale::En), "General customer service");
        assert_eq!(ctx.skill("general", Locale::ZhCn), "通用客服");
        assert_eq!(ctx.skill("retired", Locale::En), "retired");
        assert_eq!(ctx.link("/agent/trials"), "https://cs.example/agent/trials");
    }
}
