//! An agent's shift preferences and calendar feed.

use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ics;
use super::service::{calendar_event, viewer};
use super::store;
use crate::accounts::model::AccountId;
use crate::certification::mails::MailCtx;
use crate::db::schema::agents;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftPreferences {
    /// Let admins (and the auto-fill) assign open shifts within the declared availability.
    pub auto_assign: bool,
    /// Mail me when a shift for my skills becomes urgent (reopened after a no-show).
    pub urgent_alerts: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarLink {
    /// Subscribe to this URL in a calendar app. Anyone with it sees your shifts: keep it
    /// private, rotate it if it leaked.
    pub url: String,
}

pub async fn get(state: &AppState, agent: AccountId) -> Result<ShiftPreferences, AppError> {
    Ok(state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let (auto_assign, urgent_alerts) = agents::table
                .find(&agent)
                .select((agents::auto_assign, agents::urgent_alerts))
                .first(conn)
                .optional()?
                .ok_or(AppError::Forbidden { code: "wrong_role" })?;
            Ok(ShiftPreferences {
                auto_assign,
                urgent_alerts,
            })
        })
        .await?)
}

pub async fn set(
    state: &AppState,
    agent: AccountId,
    prefs: ShiftPreferences,
) -> Result<ShiftPreferences, AppError> {
    let clock = state.clock.clone();
    Ok(state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| -> Result<_, AppError> {
                let n = diesel::update(agents::table.find(&agent))
                    .set((
                        agents::auto_assign.eq(prefs.auto_assign),
                        agents::urgent_alerts.eq(prefs.urgent_alerts),
                    ))
                    .execute(conn)?;
                if n == 0 {
                    return Err(AppError::Forbidden { code: "wrong_role" });
                }
                crate::audit::record(
                    conn,
                    crate::audit::AuditEntry {
                        actor: Some(&agent),
                        action: "shift_preferences.changed",
                        target_type: "agent",
                        target_id: Some(agent.as_str()),
                        details: serde_json::json!({
                            "auto_assign": prefs.auto_assign,
                            "urgent_alerts": prefs.urgent_alerts,
                        }),
                    },
                    clock.now(),
                )?;
                Ok(prefs)
            })
        })
        .await?)
}

/// The feed URL, creating the secret on first use or replacing it with `rotate`.
pub async fn calendar_link(
    state: &AppState,
    agent: AccountId,
    rotate: bool,
) -> Result<CalendarLink, AppError> {
    let base = state.public_url.clone();
    let token = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| -> Result<String, AppError> {
                let current: Option<String> = agents::table
                    .find(&agent)
                    .select(agents::calendar_token)
                    .first::<Option<String>>(conn)
                    .optional()?
                    .ok_or(AppError::Forbidden { code: "wrong_role" })?;
                match current {
                    Some(token) if !rotate => Ok(token),
                    None => {
                        // Two first visits at once: the first token set is the one kept.
                        diesel::update(
                            agents::table
                                .find(&agent)
                                .filter(agents::calendar_token.is_null()),
                        )
                        .set(agents::calendar_token.eq(crate::auth::tokens::generate()))
                        .execute(conn)?;
                        agents::table
                            .find(&agent)
                            .select(agents::calendar_token)
                            .first::<Option<String>>(conn)?
                            .ok_or(AppError::NotFound)
                    }
                    Some(_) => {
                        let token = crate::auth::tokens::generate();
                        diesel::update(agents::table.find(&agent))
                            .set(agents::calendar_token.eq(&token))
                            .execute(conn)?;
                        Ok(token)
                    }
                }
            })
        })
        .await?;
    Ok(CalendarLink {
        url: format!("{base}/calendar/{token}.ics"),
    })
}

/// The feed: the agent's shifts from 30 days back to 90 days ahead, cancelled and given-up
/// ones marked cancelled so calendar apps remove them.
pub async fn feed(state: &AppState, token: String) -> Result<String, AppError> {
    let ctx = MailCtx::new(state);
    let now = state.clock.now();
    Ok(state
        .db
        .run(move |conn| -> Result<String, AppError> {
            if token.len() < 16 {
                return Err(AppError::NotFound);
            }
            // An agent who left takes their calendar with them.
            let agent: AccountId = agents::table
                .filter(agents::calendar_token.eq(&token))
                .filter(agents::status.ne("left"))
                .select(agents::account_id)
                .first(conn)
                .optional()?
                .ok_or(AppError::NotFound)?;
            let viewer = viewer(conn, &agent)?;
            let rows = store::assignments_of(
                conn,
                &agent,
                now - Duration::days(30),
                now + Duration::days(90),
            )?;
            let events: Vec<ics::ShiftEvent> = rows
                .iter()
                .map(|(a, listing)| {
                    let skill = ctx.skill(&listing.shift.skill, viewer.locale);
                    let mut event = calendar_event(&ctx, listing, &skill, now);
                    let kept = matches!(a.outcome.as_deref(), None | Some("worked"));
                    if !kept {
                        event.status = ics::Status::Cancelled;
                    }
                    event
                })
                .collect();
            Ok(ics::calendar(
                "cloudseat shifts",
                &ics::Method::Publish,
                &events,
                now,
            ))
        })
        .await?)
}
