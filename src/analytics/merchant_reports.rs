//! The opt-in service reports by mail: each subscriber of a shop gets the dashboard's
//! figures for the last complete market day (daily) or Monday-to-Sunday week (weekly),
//! once per period, through the mail outbox. Run from the background job loop
//! ([`crate::seats::jobs`]); a period is claimed in `notifications_sent` in the same
//! transaction that queues its mail, so neither a restart nor a second instance sends it
//! twice.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::QueryResult;

use super::continuity::{self, ContinuityFigures, monday_of};
use super::live::{self, WindowFigures};
use super::merchant_dash::{Cadence, range_instants};
use super::merchant_store::{self, SubscriptionRow};
use crate::accounts::model::{Locale, MerchantId};
use crate::db::{DbConn, write_transaction};
use crate::error::AppError;
use crate::mail::outbox;
use crate::mail::templates::{MailKind, render};
use crate::seats::rules::Ruleset;
use crate::seats::store::{claim_notification, notification_sent};
use crate::state::AppState;
use crate::web::i18n::{t, t_with};

/// A report, in words: what [`MailKind::ServiceReport`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMail {
    pub subject: String,
    pub lines: Vec<String>,
    pub link: String,
}

/// The last complete period of `cadence` before `today`: its first and last market day.
pub fn due_period(cadence: Cadence, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    match cadence {
        Cadence::Daily => {
            let yesterday = today - Duration::days(1);
            (yesterday, yesterday)
        }
        Cadence::Weekly => {
            let monday = monday_of(today);
            (monday - Duration::days(7), monday - Duration::days(1))
        }
    }
}

/// `bp` as a whole percent (rounded down), or a dash.
pub fn percent(bp: Option<u32>) -> String {
    bp.map_or_else(|| "–".to_owned(), |bp| format!("{}%", bp / 100))
}

/// Seconds in the reader's language, or a dash.
pub fn seconds(l: Locale, secs: Option<i64>) -> String {
    secs.map_or_else(
        || "–".to_owned(),
        |s| t_with(l, "merchant_dash.seconds", &[("n", &s.to_string())]),
    )
}

/// A mean rating kept times 100, with two decimals (`4.50`), or a dash.
pub fn rating(x100: Option<u32>) -> String {
    x100.map_or_else(|| "–".to_owned(), |r| format!("{}.{:02}", r / 100, r % 100))
}

/// The figures of one shop over one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodFigures {
    pub shop: String,
    pub service: WindowFigures,
    pub continuity: ContinuityFigures,
}

/// The report's words in `l`.
pub fn report_mail(
    l: Locale,
    cadence: Cadence,
    (first, last): (NaiveDate, NaiveDate),
    f: &PeriodFigures,
    target_secs: u32,
    link: String,
) -> ReportMail {
    let period = if first == last {
        first.to_string()
    } else {
        format!("{first} – {last}")
    };
    let s = &f.service;
    let c = &f.continuity;
    let n = |v: u32| v.to_string();
    let lines = vec![
        t_with(
            l,
            &format!("merchant_dash.mail.intro_{}", cadence.as_str()),
            &[("shop", &f.shop), ("period", &period)],
        ),
        t_with(
            l,
            "merchant_dash.mail.chats",
            &[
                ("arrived", &n(s.arrived)),
                ("answered", &n(s.answered)),
                ("abandoned", &n(s.abandoned)),
            ],
        ),
        t_with(
            l,
            "merchant_dash.mail.service_level",
            &[
                ("level", &percent(s.service_level_bp)),
                ("target", &seconds(l, Some(i64::from(target_secs)))),
                ("in_target", &n(s.answered_in_target)),
                ("missed", &n(s.missed)),
            ],
        ),
        t_with(
            l,
            "merchant_dash.mail.times",
            &[
                ("first", &seconds(l, s.avg_first_response_secs)),
                ("queue", &seconds(l, s.avg_queue_secs)),
                ("handle", &seconds(l, s.avg_handle_secs)),
            ],
        ),
        t_with(
            l,
            "merchant_dash.mail.rating",
            &[
                ("rating", &rating(s.avg_rating_x100)),
                ("ratings", &n(s.ratings)),
            ],
        ),
        t_with(
            l,
            "merchant_dash.mail.continuity",
            &[
                ("chats", &percent(c.chat_continuity_bp)),
                ("shifts", &percent(c.shift_continuity_bp)),
                ("agents", &n(c.agents)),
                ("new", &n(c.new_agents)),
            ],
        ),
        t(l, "merchant_dash.mail.opt_out").into_owned(),
    ];
    ReportMail {
        subject: t_with(
            l,
            &format!("merchant_dash.mail.subject_{}", cadence.as_str()),
            &[("shop", &f.shop), ("period", &period)],
        ),
        lines,
        link,
    }
}

/// The shop's figures over the market days `first..=last`.
pub fn period_figures(
    conn: &mut DbConn,
    rules: &Ruleset,
    merchant: &str,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<PeriodFigures, AppError> {
    let zone = rules.market.time_zone;
    let shop = crate::accounts::store::find_merchant(conn, &MerchantId(merchant.to_owned()))?
        .ok_or(AppError::NotFound)?
        .name;
    let (start, end) = range_instants(zone, first, last);
    let chats = merchant_store::live_chats(conn, merchant, start)?;
    // The period's last instant: the windows include their end.
    let last_instant = end - Duration::microseconds(1);
    let service = live::window(
        &chats,
        start,
        last_instant,
        rules.chat.first_response_target_secs,
    );
    let inputs = merchant_store::continuity_inputs(conn, merchant, start, end)?;
    Ok(PeriodFigures {
        shop,
        service,
        continuity: continuity::continuity(
            zone,
            first,
            last,
            &inputs.known_first,
            &inputs.shifts,
            &inputs.chats,
        ),
    })
}

fn kind_of(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Daily => "merchant_report_daily",
        Cadence::Weekly => "merchant_report_weekly",
    }
}

/// Which period a subscriber's report is for, and its key in `notifications_sent`.
fn claim_key(sub: &SubscriptionRow, first: NaiveDate) -> String {
    format!("{}:{}:{first}", sub.merchant_id, sub.account_id)
}

/// Queues every report due on `today` that has not gone out; returns how many.
pub fn send_due(
    conn: &mut DbConn,
    rules: &Ruleset,
    today: NaiveDate,
    now: NaiveDateTime,
    base_url: &str,
) -> Result<usize, AppError> {
    let subs = merchant_store::subscriptions(conn, None)?;
    let mut figures: BTreeMap<(String, NaiveDate, NaiveDate), PeriodFigures> = BTreeMap::new();
    let mut sent = 0;
    for sub in subs {
        let Some(cadence) = Cadence::parse(&sub.cadence) else {
            continue;
        };
        let period = due_period(cadence, today);
        let (kind, key) = (kind_of(cadence), claim_key(&sub, period.0));
        if notification_sent(conn, kind, &key)? {
            continue;
        }
        let cache_key = (sub.merchant_id.clone(), period.0, period.1);
        if !figures.contains_key(&cache_key) {
            let f = period_figures(conn, rules, &sub.merchant_id, period)?;
            figures.insert(cache_key.clone(), f);
        }
        let Some(f) = figures.get(&cache_key) else {
            continue;
        };
        let locale = Locale::parse(&sub.locale).unwrap_or_default();
        let link = format!(
            "{base_url}/seats/dashboard?from={}&to={}",
            period.0, period.1
        );
        let words = report_mail(
            locale,
            cadence,
            period,
            f,
            rules.chat.first_response_target_secs,
            link,
        );
        let mail = render(
            &sub.email,
            &sub.display_name,
            locale,
            &MailKind::ServiceReport(words),
        )
        .map_err(AppError::internal)?;
        sent += write_transaction(conn, |conn| -> QueryResult<usize> {
            if !claim_notification(conn, kind, &key, now)? {
                return Ok(0);
            }
            outbox::enqueue(conn, &mail, now)?;
            Ok(1)
        })?;
    }
    Ok(sent)
}

/// One pass of the job loop.
pub async fn tick(state: &AppState) -> usize {
    let rules = state.rules();
    let now = state.clock.now();
    let today = state.clock.today_in(rules.market.time_zone);
    let base = state.public_url.clone();
    match state
        .db
        .run(move |conn| send_due(conn, &rules, today, now, &base))
        .await
    {
        Ok(n) => {
            if n > 0 {
                tracing::info!(reports = n, "service reports queued");
                state.wake_outbox();
            }
            n
        }
        Err(e) => {
            let e: AppError = e.into();
            tracing::warn!(error = %e, "service reports failed; will retry");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_report_covers_the_last_complete_day_or_week() {
        // Wednesday 2026-11-11.
        assert_eq!(
            due_period(Cadence::Daily, d("2026-11-11")),
            (d("2026-11-10"), d("2026-11-10"))
        );
        assert_eq!(
            due_period(Cadence::Weekly, d("2026-11-11")),
            (d("2026-11-02"), d("2026-11-08"))
        );
        // On a Monday the week just ended is due.
        assert_eq!(
            due_period(Cadence::Weekly, d("2026-11-09")),
            (d("2026-11-02"), d("2026-11-08"))
        );
    }

    #[test]
    fn the_words_carry_the_figures_in_both_languages() {
        let f = PeriodFigures {
            shop: "Tea House".into(),
            service: WindowFigures {
                arrived: 12,
                answered: 10,
                answered_in_target: 8,
                missed: 2,
                service_level_bp: Some(6_666),
                avg_first_response_secs: Some(21),
                avg_rating_x100: Some(450),
                ratings: 4,
                ..WindowFigures::default()
            },
            continuity: continuity::continuity(
                chrono_tz::Asia::Shanghai,
                d("2026-11-10"),
                d("2026-11-10"),
                &BTreeMap::new(),
                &[],
                &[],
            ),
        };
        let period = (d("2026-11-10"), d("2026-11-10"));
        let en = report_mail(
            Locale::En,
            Cadence::Daily,
            period,
            &f,
            30,
            "http://x/d".into(),
        );
        assert!(
            en.subject.contains("Tea House") && en.subject.contains("2026-11-10"),
            "{}",
            en.subject
        );
        let text = en.lines.join("\n");
        for needle in ["12", "66%", "30 s", "21 s", "4.50"] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        let zh = report_mail(
            Locale::ZhCn,
            Cadence::Weekly,
            (d("2026-11-02"), d("2026-11-08")),
            &f,
            30,
            "http://x/d".into(),
        );
        assert!(
            zh.subject.contains("2026-11-02 – 2026-11-08"),
            "{}",
            zh.subject
        );
        assert!(zh.lines.join("\n").contains("30 秒"));
    }

    proptest! {
        /// Consecutive days' periods tile time: every day is in exactly one daily and one
        /// weekly report, and a report is always of days already over.
        #[test]
        fn periods_tile_and_are_in_the_past(offset in 0i64..2_000) {
            let today = d("2024-01-01") + Duration::days(offset);
            let (df, dl) = due_period(Cadence::Daily, today);
            prop_assert!(df == dl && dl < today);
            let (wf, wl) = due_period(Cadence::Weekly, today);
            prop_assert_eq!(wl - wf, Duration::days(6));
            prop_assert!(wl < today && today - wl <= Duration::days(7));
            let (nf, _) = due_period(Cadence::Weekly, today + Duration::days(7));
            prop_assert_eq!(nf, wf + Duration::days(7));
        }
    }
}
