//! What agent levels read and write: each agent's current level and the monthly decisions
//! of [`super::levels::recompute`].

use diesel::prelude::*;

use crate::accounts::model::AccountId;
use crate::db::DbConn;
use crate::db::schema::agents;

/// The agent's current level (1, the lowest, for an unknown agent).
pub fn level_of(conn: &mut DbConn, agent: &AccountId) -> QueryResult<i32> {
    Ok(agents::table
        .find(agent.as_str())
        .select(agents::level)
        .first::<i32>(conn)
        .optional()?
        .unwrap_or(1))
}
