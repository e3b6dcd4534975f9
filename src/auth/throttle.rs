//! Failed-login throttling, per account (keyed by the normalised email, whether or not an
//! account exists, so a 429 reveals nothing) and per client IP. The state lives in the
//! database so every instance sees the same counts and a restart forgives nothing.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::login_throttle;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures inside `window` before the key is locked.
    pub max_failures: i32,
    pub window: Duration,
    /// The first lockout; each further failure while counting doubles it, up to `max_lockout`.
    pub base_lockout: Duration,
    pub max_lockout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttle, treat_none_as_null = true)]
pub struct ThrottleState {
    pub throttle_key: String,
    pub failures: i32,
    pub window_started_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

/// Seconds until the key may try again, if it is locked now.
pub fn retry_after(state: &ThrottleState, now: NaiveDateTime) -> Option<u64> {
    state
        .locked_until
        .filter(|until| *until > now)
        .map(|until| (until - now).num_seconds().max(1) as u64)
}

/// The state after one more failure.
pub fn record_failure(
    key: &str,
    previous: Option<ThrottleState>,
    now: NaiveDateTime,
    policy: &ThrottlePolicy,
) -> ThrottleState {
    let mut state = match previous {
        Some(s) if now - s.window_started_at < policy.window || retry_after(&s, now).is_some() => s,
        _ => ThrottleState {
            throttle_key: key.to_owned(),
            failures: 0,
            window_started_at: now,
            locked_until: None,
        },
    };
    state.failures = state.failures.saturating_add(1);
    if state.failures >= policy.max_failures {
        let doublings = (state.failures - policy.max_failures).min(16) as u32;
        let lockout = policy
            .base_lockout
            .checked_mul(1 << doublings)
            .unwrap_or(policy.max_lockout)
            .min(policy.max_lockout);
        state.locked_until = Some(now + lockout);
    }
    state
}

pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// The longest wait among the given keys, if any is locked.
pub fn check(conn: &mut DbConn, keys: &[String], now: NaiveDateTime) -> QueryResult<Option<u64>> {
    let states: Vec<ThrottleState> = login_throttle::table
        .filter(login_throttle::throttle_key.eq_any(keys))
        .load(conn)?;
    Ok(states.iter().filter_map(|s| retry_after(s, now)).max())
}

/// Records a failure for each key with its policy; call inside a write transaction.
pub fn fail(
    conn: &mut DbConn,
    keys: &[(String, ThrottlePolicy)],
    now: NaiveDateTime,
) -> QueryResult<()> {
    for (key, policy) in keys {
        let previous = login_throttle::table
            .find(key)
            .first::<ThrottleState>(conn)
            .optional()?;
        let existed = previous.is_some();
        let next = record_failure(key, previous, now, policy);
        if existed {
            diesel::update(login_throttle::table.find(key))
                .set(&next)
                .execute(conn)?;
        } else {
            diesel::insert_into(login_throttle::table)
                .values(&next)
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Forgets the failures of a key after a successful login.
pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: 5,
            window: Duration::minutes(15),
            base_lockout: Duration::minutes(1),
            max_lockout: Duration::hours(1),
        }
    }

    fn t0() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn locks_after_max_failures_and_doubles() {
        let mut state = None;
        for _ in 0..4 {
            state = Some(record_failure("k", state, t0(), &policy()));
            assert_eq!(retry_after(state.as_ref().unwrap(), t0()), None);
        }
        let fifth = record_failure("k", state, t0(), &policy());
        assert_eq!(retry_after(&fifth, t0()), Some(60));
        let sixth = record_failure("k", Some(fifth), t0(), &policy());
        assert_eq!(retry_after(&sixth, t0()), Some(120));
    }

    #[test]
    fn window_expiry_forgives() {
        let mut state = None;
        for _ in 0..4 {
            state = Some(record_failure("k", state, t0(), &policy()));
        }
        let later = t0() + Duration::minutes(16);
        let next = record_failure("k", state, later, &policy());
        assert_eq!(next.failures, 1);
        assert_eq!(retry_after(&next, later), None);
    }

    proptest! {
        #[test]
        fn lockout_never_exceeds_max(failures in 1usize..200, gap_secs in 0i64..120) {
            let mut state = None;
            let mut now = t0();
            for _ in 0..failures {
                state = Some(record_failure("k", state, now, &policy()));
                now += Duration::seconds(gap_secs);
            }
            let s = state.unwrap();
            if let Some(wait) = retry_after(&s, now - Duration::seconds(gap_secs)) {
                prop_assert!(wait as i64 <= policy().max_lockout.num_seconds());
            }
            prop_assert!(s.failures >= 1);
        }
    }
}
