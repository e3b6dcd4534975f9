//! Certification mails, written to the outbox in the transaction of the change they report,
//! in the agent's language and time zone.

use chrono::NaiveDateTime;

use crate::accounts::model::{AccountId, TimeZone};
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

/// Queues a mail to `agent`; `kind` is built from the agent's time zone.
pub fn send(
    conn: &mut DbConn,
    agent: &AccountId,
    kind: impl FnOnce(&str) -> MailKind,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let account = accounts::find(conn, agent)?.ok_or(AppError::NotFound)?;
    let mail = render(
        &account.email,
        &account.display_name,
        account_locale(&account),
        &kind(&account.time_zone),
    )
    .map_err(AppError::internal)?;
    outbox::enqueue(conn, &mail, now)?;
    Ok(())
}
