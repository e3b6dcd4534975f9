//! A shop's live service figures: a pure function of its recent chats and of who is on its
//! shifts now. The dashboard page, the JSON snapshot, the server-sent event stream and the
//! mailed reports all show what [`snapshot`] and [`window`] compute.
//!
//! Definitions (seconds are whole seconds, as the chat metrics count them):
//! - **waiting**: chats `queued` or `offered` (no agent has accepted them yet); the
//!   **longest wait** is the oldest of them, from when it (last) joined the queue. Left
//!   messages (nobody was on shift) are counted apart.
//! - **first response**: from an agent's acceptance to their first reply. A chat is
//!   answered **within the target** (`first_response_target_secs` in `chat.toml`) when
//!   that is at most the target, as the quality score counts it.
//! - **service level** of a window: of the accepted chats whose outcome fell in the window,
//!   the share answered within the target. The outcome is the first reply (in or over the
//!   target), or, for a chat still unanswered when the target ran out (while it stayed
//!   open), the moment the target ran out: a miss. A chat closed before its target ran out
//!   without a reply counts in neither part.
//! - **handle time**: acceptance to close, of the chats closed in the window.
//! - **queue time**: creation to acceptance, of the chats accepted in the window.
//! - **rating**: the customers' ratings given in the window (at `rated_at`, or the close
//!   when that is missing), averaged.
//! - **arrived**: chats created in the window; **abandoned**: chats closed in the window
//!   without ever being accepted.
//!
//! A window is `[from, now]`: the last 15 minutes, or today since the market's midnight.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::continuity::share_bp;

/// Statuses of a chat nobody has accepted yet.
pub const WAITING: [&str; 2] = ["queued", "offered"];
/// Statuses of a chat that is not over.
pub const OPEN: [&str; 4] = ["queued", "offered", "assigned", "left_message"];
/// The short window of the live figures.
pub const RECENT_MINUTES: i64 = 15;

/// What the figures read of one chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChat {
    pub status: String,
    pub created_at: NaiveDateTime,
    pub queued_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub first_response_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub rating: Option<i32>,
    pub rated_at: Option<NaiveDateTime>,
}

/// The agents of the shop's shifts right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Staff {
    /// Checked in on one of the shop's shifts now.
    pub on_shift: u32,
    /// Of them, connected and online (taking chats).
    pub online: u32,
}

/// One window's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct WindowFigures {
    pub arrived: u32,
    /// First replies in the window.
    pub answered: u32,
    /// Of them, within the target.
    pub answered_in_target: u32,
    /// Chats whose target ran out in the window without a reply.
    pub missed: u32,
    /// `answered_in_target` over `answered + missed`, in basis points.
    pub service_level_bp: Option<u32>,
    pub avg_first_response_secs: Option<i64>,
    pub accepted: u32,
    pub avg_queue_secs: Option<i64>,
    pub closed: u32,
    pub avg_handle_secs: Option<i64>,
    pub abandoned: u32,
    pub ratings: u32,
    /// The mean rating times 100 (450 = 4.5), rounded down.
    pub avg_rating_x100: Option<u32>,
}

/// The live figures at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveSnapshot {
    pub at: DateTime<Utc>,
    /// Today in the market's zone (the `today` window's day).
    pub day: NaiveDate,
    pub time_zone: String,
    /// The first-response target the service level is measured against.
    pub target_secs: u32,
    pub waiting: u32,
    pub longest_wait_secs: Option<i64>,
    /// Accepted chats not closed yet.
    pub in_progress: u32,
    /// Messages left while nobody was on shift, not yet taken.
    pub left_messages: u32,
    pub agents_on_shift: u32,
    pub agents_online: u32,
    pub last_15_minutes: WindowFigures,
    pub today: WindowFigures,
}

impl LiveSnapshot {
    /// Whether anything but the instant differs: what the live stream sends on.
    pub fn same_figures(&self, other: &LiveSnapshot) -> bool {
        let mut a = self.clone();
        a.at = other.at;
        a == *other
    }
}

fn secs(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_seconds().max(0)
}

fn mean(values: &[i64]) -> Option<i64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() / values.len() as i64)
}

/// The figures of `[from, now]` over `chats`.
pub fn window(
    chats: &[LiveChat],
    from: NaiveDateTime,
    now: NaiveDateTime,
    target_secs: u32,
) -> WindowFigures {
    let inside = |t: NaiveDateTime| from <= t && t <= now;
    let target = i64::from(target_secs);
    let mut f = WindowFigures::default();
    let (mut first, mut queue, mut handle, mut rating_sum) = (vec![], vec![], vec![], 0i64);
    for c in chats {
        if inside(c.created_at) {
            f.arrived += 1;
        }
        if let Some(accepted) = c.accepted_at {
            if inside(accepted) {
                f.accepted += 1;
                queue.push(secs(c.created_at, accepted));
            }
            match c.first_response_at {
                Some(reply) if inside(reply) => {
                    let took = secs(accepted, reply);
                    f.answered += 1;
                    f.answered_in_target += u32::from(took <= target);
                    first.push(took);
                }
                Some(_) => {}
                None => {
                    let end = c.closed_at.unwrap_or(now).min(now);
                    let deadline = accepted + Duration::seconds(target);
                    if secs(accepted, end) > target && inside(deadline) {
                        f.missed += 1;
                    }
                }
            }
            if let Some(closed) = c.closed_at.filter(|t| inside(*t)) {
                f.closed += 1;
                handle.push(secs(accepted, closed));
            }
        } else if c.status == "abandoned" && c.closed_at.is_some_and(inside) {
            f.abandoned += 1;
        }
        if let Some(r) = c.rating
            && c.rated_at.or(c.closed_at).is_some_and(inside)
        {
            f.ratings += 1;
            rating_sum += i64::from(r);
        }
    }
    f.service_level_bp = share_bp(f.answered_in_target, f.answered + f.missed);
    f.avg_first_response_secs = mean(&first);
    f.avg_queue_secs = mean(&queue);
    f.avg_handle_secs = mean(&handle);
    f.avg_rating_x100 = (f.ratings > 0).then(|| (rating_sum * 100 / i64::from(f.ratings)) as u32);
    f
}

/// The chats waiting at `now` and how long the oldest of them has waited (seconds).
pub fn queue(chats: &[LiveChat], now: NaiveDateTime) -> (u32, Option<i64>) {
    let waiting: Vec<&LiveChat> = chats
        .iter()
        .filter(|c| WAITING.contains(&c.status.as_str()))
        .collect();
    (
        waiting.len() as u32,
        waiting.iter().map(|c| secs(c.queued_at, now)).max(),
    )
}

/// Where the live figures stand at `now`. `day_start` is the market's midnight of `day`.
pub struct Clockface {
    pub now: NaiveDateTime,
    pub day: NaiveDate,
    pub day_start: NaiveDateTime,
    pub time_zone: String,
}

/// The live figures: waiting chats and staff now, the last 15 minutes and today.
pub fn snapshot(
    chats: &[LiveChat],
    staff: Staff,
    clock: &Clockface,
    target_secs: u32,
) -> LiveSnapshot {
    let now = clock.now;
    let (waiting, longest_wait_secs) = queue(chats, now);
    LiveSnapshot {
        at: now.and_utc(),
        day: clock.day,
        time_zone: clock.time_zone.clone(),
        target_secs,
        waiting,
        longest_wait_secs,
        in_progress: chats.iter().filter(|c| c.status == "assigned").count() as u32,
        left_messages: chats.iter().filter(|c| c.status == "left_message").count() as u32,
        agents_on_shift: staff.on_shift,
        agents_online: staff.online,
        last_15_minutes: window(
            chats,
            now - Duration::minutes(RECENT_MINUTES),
            now,
            target_secs,
        ),
        today: window(chats, clock.day_start, now, target_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 10:`m`:`s` on a fixed day.
    fn t(m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 11)
            .unwrap()
            .and_hms_opt(10, m, s)
            .unwrap()
    }

    fn chat(status: &str, created: NaiveDateTime) -> LiveChat {
        LiveChat {
            status: status.into(),
            created_at: created,
            queued_at: created,
            accepted_at: None,
            first_response_at: None,
            closed_at: None,
            rating: None,
            rated_at: None,
        }
    }

    fn answered(created: NaiveDateTime, accept: i64, reply: i64) -> LiveChat {
        let accepted = created + Duration::seconds(accept);
        LiveChat {
            status: "assigned".into(),
            accepted_at: Some(accepted),
            first_response_at: Some(accepted + Duration::seconds(reply)),
            ..chat("assigned", created)
        }
    }

    /// Now is 10:30:00, target 30 s. Counted by hand:
    /// - two waiting (since 10:29:00 and 10:25:30): longest 270 s;
    /// - A: created 10:20:00, accepted +10 s, replied +30 s (in target), closed 10:28:00,
    ///   rated 5 at 10:28:30;
    /// - B: created 10:21:00, accepted +20 s, replied +31 s (late), still open;
    /// - C: created 10:22:00, accepted +5 s, no reply, still open: target ran out at
    ///   10:22:35, a miss;
    /// - D: created 10:26:00, accepted +4 s, no reply, closed by the customer at 10:26:20:
    ///   before the target, neither hit nor miss; handled 16 s;
    /// - E: created 10:10:00 (before the short window), accepted +60 s, replied +12 s,
    ///   closed 10:14:00, rated 3 at 10:14:00 (close, no `rated_at`);
    /// - F: abandoned: created 10:17:00, closed 10:18:00 unaccepted;
    /// - a left message.
    fn fixture() -> Vec<LiveChat> {
        let mut a = answered(t(20, 0), 10, 30);
        a.status = "closed".into();
        a.closed_at = Some(t(28, 0));
        a.rating = Some(5);
        a.rated_at = Some(t(28, 30));
        let b = answered(t(21, 0), 20, 31);
        let mut c = chat("assigned", t(22, 0));
        c.accepted_at = Some(t(22, 5));
        let mut d = chat("closed", t(26, 0));
        d.accepted_at = Some(t(26, 4));
        d.closed_at = Some(t(26, 20));
        let mut e = answered(t(10, 0), 60, 12);
        e.status = "closed".into();
        e.closed_at = Some(t(14, 0));
        e.rating = Some(3);
        let mut f = chat("abandoned", t(17, 0));
        f.closed_at = Some(t(18, 0));
        vec![
            chat("queued", t(29, 0)),
            chat("offered", t(25, 30)),
            a,
            b,
            c,
            d,
            e,
            f,
            chat("left_message", t(5, 0)),
        ]
    }

    fn clock() -> Clockface {
        Clockface {
            now: t(30, 0),
            day: NaiveDate::from_ymd_opt(2026, 11, 11).unwrap(),
            day_start: t(0, 0) - Duration::hours(10),
            time_zone: "Asia/Shanghai".into(),
        }
    }

    #[test]
    fn hand_counted_snapshot() {
        let staff = Staff {
            on_shift: 3,
            online: 2,
        };
        let s = snapshot(&fixture(), staff, &clock(), 30);
        assert_eq!((s.waiting, s.longest_wait_secs), (2, Some(270)));
        assert_eq!((s.in_progress, s.left_messages), (2, 1));
        assert_eq!((s.agents_on_shift, s.agents_online), (3, 2));

        // The last 15 minutes, from 10:15:00: A, B, C, D, F and both waiting arrived.
        let w = &s.last_15_minutes;
        assert_eq!(w.arrived, 7);
        assert_eq!((w.answered, w.answered_in_target, w.missed), (2, 1, 1));
        assert_eq!(w.service_level_bp, Some(3_333));
        // A 30 s, B 31 s.
        assert_eq!(w.avg_first_response_secs, Some(30));
        // Accepted: A 10, B 20, C 5, D 4 => 39 / 4 = 9.
        assert_eq!((w.accepted, w.avg_queue_secs), (4, Some(9)));
        // Closed: A (480 - 10 = 470 s) and D (16 s) => 243.
        assert_eq!((w.closed, w.avg_handle_secs), (2, Some(243)));
        assert_eq!(w.abandoned, 1);
        assert_eq!((w.ratings, w.avg_rating_x100), (1, Some(500)));

        // Today adds E (and the left message's arrival).
        let d = &s.today;
        assert_eq!(d.arrived, 9);
        assert_eq!((d.answered, d.answered_in_target, d.missed), (3, 2, 1));
        assert_eq!(d.service_level_bp, Some(5_000));
        // 30, 31, 12 => 24.
        assert_eq!(d.avg_first_response_secs, Some(24));
        // E handled 240 - 60 = 180 s: (470 + 16 + 180) / 3 = 222.
        assert_eq!((d.closed, d.avg_handle_secs), (3, Some(222)));
        // 5 and 3.
        assert_eq!((d.ratings, d.avg_rating_x100), (2, Some(400)));
    }

    #[test]
    fn a_quiet_shop_has_no_shares_and_the_stream_sees_no_change_as_time_passes() {
        let c = clock();
        let s = snapshot(&[], Staff::default(), &c, 30);
        assert_eq!(s.waiting, 0);
        assert_eq!(s.longest_wait_secs, None);
        assert_eq!(s.today, WindowFigures::default());
        assert_eq!(s.today.service_level_bp, None);
        let later = Clockface {
            now: c.now + Duration::seconds(2),
            ..clock()
        };
        let s2 = snapshot(&[], Staff::default(), &later, 30);
        assert!(s.same_figures(&s2));
        let busier = snapshot(&[chat("queued", c.now)], Staff::default(), &later, 30);
        assert!(!s.same_figures(&busier));
    }

    #[test]
    fn the_target_is_inclusive_in_whole_seconds() {
        let exactly = answered(t(20, 0), 0, 30);
        let mut over = answered(t(20, 0), 0, 30);
        over.first_response_at = over
            .first_response_at
            .map(|r| r + Duration::milliseconds(999));
        let late = answered(t(20, 0), 0, 31);
        let w = window(&[exactly, over, late], t(0, 0), t(30, 0), 30);
        assert_eq!((w.answered, w.answered_in_target), (3, 2));
    }

    fn arb_chat() -> impl Strategy<Value = LiveChat> {
        (
            0usize..6,
            0i64..3_600,
            prop::option::of(0i64..300),
            prop::option::of(0i64..120),
            prop::option::of(0i64..900),
            prop::option::of(1i32..=5),
        )
            .prop_map(|(status, created, accept, reply, close, rating)| {
                let statuses = [
                    "queued",
                    "offered",
                    "assigned",
                    "closed",
                    "abandoned",
                    "left_message",
                ];
                let created = t(0, 0) + Duration::seconds(created);
                let accepted = accept.map(|a| created + Duration::seconds(a));
                LiveChat {
                    status: statuses[status].into(),
                    created_at: created,
                    queued_at: created,
                    accepted_at: accepted,
                    first_response_at: accepted.zip(reply).map(|(a, r)| a + Duration::seconds(r)),
                    closed_at: close.map(|c| created + Duration::seconds(c)),
                    rating,
                    rated_at: None,
                }
            })
    }

    proptest! {
        /// Shares stay shares, the short window never holds more than the long one, and
        /// the service level agrees with its parts.
        #[test]
        fn windows_nest_and_shares_are_shares(
            chats in prop::collection::vec(arb_chat(), 0..40),
            later in 0i64..7_200,
        ) {
            let now = t(0, 0) + Duration::seconds(later);
            let short = window(&chats, now - Duration::minutes(15), now, 30);
            let long = window(&chats, now - Duration::hours(3), now, 30);
            for (s, l) in [
                (short.arrived, long.arrived),
                (short.answered, long.answered),
                (short.answered_in_target, long.answered_in_target),
                (short.missed, long.missed),
                (short.closed, long.closed),
                (short.abandoned, long.abandoned),
                (short.ratings, long.ratings),
            ] {
                prop_assert!(s <= l);
            }
            for w in [&short, &long] {
                prop_assert!(w.answered_in_target <= w.answered);
                prop_assert_eq!(
                    w.service_level_bp,
                    share_bp(w.answered_in_target, w.answered + w.missed)
                );
                if let Some(bp) = w.service_level_bp {
                    prop_assert!(bp <= 10_000);
                }
                if let Some(r) = w.avg_rating_x100 {
                    prop_assert!((100..=500).contains(&r));
                }
            }
        }
    }
}
