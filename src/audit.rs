//! The audit log (who changed what, for admin and security-relevant actions) and the
//! append-only lifecycle events that churn, pay and adherence are computed from.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::model::AccountId;
use crate::db::schema::{audit_log, lifecycle_events};
use crate::db::{DbConn, new_id};

pub struct AuditEntry<'a> {
    pub actor: Option<&'a AccountId>,
    /// Dotted verb, e.g. `admin.created`, `outbox.retried`, `password.reset`.
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub details: serde_json::Value,
}

pub fn record(conn: &mut DbConn, entry: AuditEntry<'_>, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(new_id()),
            audit_log::actor_account_id.eq(entry.actor),
            audit_log::action.eq(entry.action),
            audit_log::target_type.eq(entry.target_type),
            audit_log::target_id.eq(entry.target_id),
            audit_log::details.eq(entry.details.to_string()),
            audit_log::request_id.eq(crate::error::current_request_id()),
            audit_log::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    pub actor_account_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub details: String,
    pub request_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: String,
    pub actor_account_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        AuditView {
            id: r.id,
            actor_account_id: r.actor_account_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            request_id: r.request_id,
            created_at: r.created_at.and_utc(),
        }
    }
}

/// Newest first, keyset-paginated by id.
pub fn list(conn: &mut DbConn, before: Option<&str>, limit: i64) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before.to_owned()));
    }
    query.order(audit_log::id.desc()).limit(limit).load(conn)
}

pub struct LifecycleEvent<'a> {
    /// `agent`, `booking` or `shift`.
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub actor: Option<&'a AccountId>,
    pub reason: Option<&'a str>,
}

pub fn record_lifecycle(
    conn: &mut DbConn,
    event: LifecycleEvent<'_>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(lifecycle_events::table)
        .values((
            lifecycle_events::id.eq(new_id()),
            lifecycle_events::entity_type.eq(event.entity_type),
            lifecycle_events::entity_id.eq(event.entity_id),
            lifecycle_events::from_state.eq(event.from_state),
            lifecycle_events::to_state.eq(event.to_state),
            lifecycle_events::actor_account_id.eq(event.actor),
            lifecycle_events::reason.eq(event.reason),
            lifecycle_events::occurred_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
