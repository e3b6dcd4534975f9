//! The service's idea of "now". Production reads the system clock; the integration tests
//! move it forward (to let a hold expire, or a booking window open) instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDate, NaiveDateTime};

#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// UTC now (microsecond precision, as stored).
    pub fn now(&self) -> NaiveDateTime {
        crate::db::now() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Today's date in `tz`.
    pub fn today_in(&self, tz: chrono_tz::Tz) -> NaiveDate {
        self.now().and_utc().with_timezone(&tz).date_naive()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::hours(2));
        let moved = other.now() - before;
        assert!(moved >= Duration::hours(2) && moved < Duration::hours(2) + Duration::seconds(5));
    }
}
