//! The shop's dashboard use cases, shared by the JSON API ([`super::merchant_routes`]), the
//! page ([`super::merchant_pages`]) and the mailed reports ([`super::merchant_reports`]):
//! the continuity report of a range of market days, the live snapshot and its event
//! stream, and the report subscriptions.

use std::time::Duration as StdDuration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{Duration, Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::continuity::{self, ContinuityFigures, Renewals};
use super::live::{self, Clockface, LiveSnapshot, RECENT_MINUTES};
use super::merchant_store;
use crate::accounts::model::{AccountId, MerchantId};
use crate::audit::{self, AuditEntry};
use crate::db::write_transaction;
use crate::error::{AppError, FieldErrors, Invalid};
use crate::shifts::claim::{local_date, local_midnight};
use crate::state::AppState;

/// The longest range a continuity report covers: five years.
pub const MAX_RANGE_MONTHS: u32 = 60;
/// The default range: this many weeks up to today.
pub const DEFAULT_WEEKS: i64 = 12;
/// How often the live stream recomputes the snapshot (it sends only on a change).
pub const STREAM_EVERY: StdDuration = StdDuration::from_secs(2);
/// A comment line keeps proxies from closing a quiet stream.
const KEEP_ALIVE_EVERY: u32 = 8;
/// A stream ends after this long and the browser reconnects (re-checking the session).
const STREAM_LIFETIME: StdDuration = StdDuration::from_secs(600);

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First market day, `YYYY-MM-DD` (default: the Monday eleven weeks before this
    /// week's, so twelve whole weeks).
    pub from: Option<String>,
    /// Last market day, included (default today); at most five years after `from`.
    pub to: Option<String>,
}

pub(crate) fn parse_day(raw: Option<&str>) -> Result<Option<NaiveDate>, Invalid> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Invalid::new("invalid_date", "a date is YYYY-MM-DD")),
    }
}

/// The range asked for, checked: both dates parse, `to` is not before `from`, and the
/// range is at most five years (`to` before `from` plus 60 months).
pub fn parse_range(q: &RangeQuery, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), AppError> {
    let mut errors = FieldErrors::new();
    let from = errors.check("from", parse_day(q.from.as_deref()));
    let to = errors.check("to", parse_day(q.to.as_deref()));
    let (Some(from), Some(to)) = (from, to) else {
        return Err(errors.into());
    };
    let to = to.unwrap_or(today);
    let from =
        from.unwrap_or_else(|| continuity::monday_of(to) - Duration::weeks(DEFAULT_WEEKS - 1));
    if to < from {
        return Err(AppError::field(
            "to",
            "period_inverted",
            "`to` must be on or after `from`",
        ));
    }
    let limit = from
        .checked_add_months(Months::new(MAX_RANGE_MONTHS))
        .unwrap_or(NaiveDate::MAX);
    if to >= limit {
        return Err(AppError::field(
            "to",
            "period_too_long",
            "a range covers at most five years",
        ));
    }
    Ok((from, to))
}

/// Continuity, rotation and renewals of a shop over a range of market days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContinuityReport {
    pub merchant_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    /// The definitions are in the notes of `src/analytics/continuity.rs`.
    #[serde(flatten)]
    pub figures: ContinuityFigures,
    pub renewals: Renewals,
}

/// Refuses a shop that does not exist (admins may name any).
pub(crate) fn require_shop(conn: &mut crate::db::DbConn, merchant: &str) -> Result<(), AppError> {
    crate::accounts::store::find_merchant(conn, &MerchantId(merchant.to_owned()))?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

pub async fn continuity_report(
    state: &AppState,
    merchant: String,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ContinuityReport, AppError> {
    let rules = state.rules();
    let zone = rules.market.time_zone;
    let today = state.clock.today_in(zone);
    let (start, end) = range_instants(zone, from, to);
    let (inputs, booked) = state
        .db
        .run({
            let merchant = merchant.clone();
            move |conn| -> Result<_, AppError> {
                require_shop(conn, &merchant)?;
                Ok((
                    merchant_store::continuity_inputs(conn, &merchant, start, end)?,
                    merchant_store::booked_periods(conn, &merchant)?,
                ))
            }
        })
        .await?;
    let figures = continuity::continuity(
        zone,
        from,
        to,
        &inputs.known_first,
        &inputs.shifts,
        &inputs.chats,
    );
    Ok(ContinuityReport {
        merchant_id: merchant,
        from,
        to,
        time_zone: zone.name().to_owned(),
        figures,
        renewals: continuity::renewals(&rules.periods, &booked, today, from, to),
    })
}

/// The live figures of a shop now.
pub async fn live_snapshot(state: &AppState, merchant: String) -> Result<LiveSnapshot, AppError> {
    let rules = state.rules();
    let zone = rules.market.time_zone;
    let now = state.clock.now();
    let day = local_date(zone, now);
    let clock = Clockface {
        now,
        day,
        day_start: local_midnight(zone, day),
        time_zone: zone.name().to_owned(),
    };
    let since = clock.day_start.min(now - Duration::minutes(RECENT_MINUTES));
    let (chats, staff) = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            require_shop(conn, &merchant)?;
            Ok((
                merchant_store::live_chats(conn, &merchant, since)?,
                merchant_store::staff_now(conn, &merchant, now)?,
            ))
        })
        .await?;
    Ok(live::snapshot(
        &chats,
        staff,
        &clock,
        rules.chat.first_response_target_secs,
    ))
}

/// One server-sent event carrying a snapshot.
pub fn snapshot_event(snapshot: &LiveSnapshot) -> Result<Bytes, AppError> {
    let data = serde_json::to_string(snapshot).map_err(AppError::internal)?;
    Ok(Bytes::from(format!("event: snapshot\ndata: {data}\n\n")))
}

struct StreamState {
    state: web::Data<AppState>,
    merchant: String,
    last: Option<LiveSnapshot>,
    started: tokio::time::Instant,
    quiet: u32,
}

/// The live figures as `text/event-stream`: a `snapshot` event at once, then one whenever
/// a figure changes (recomputed every [`STREAM_EVERY`]; the database is the source, so
/// changes made through any instance show). A comment every ~16 quiet seconds keeps the
/// connection open; after ten minutes the stream ends and the client reconnects.
pub fn live_stream(state: web::Data<AppState>, merchant: String) -> HttpResponse {
    let start = StreamState {
        state,
        merchant,
        last: None,
        started: tokio::time::Instant::now(),
        quiet: 0,
    };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            if s.started.elapsed() >= STREAM_LIFETIME {
                return None;
            }
            if s.last.is_some() {
                tokio::time::sleep(STREAM_EVERY).await;
            }
            match live_snapshot(&s.state, s.merchant.clone()).await {
                Ok(snap) if s.last.as_ref().is_none_or(|l| !l.same_figures(&snap)) => {
                    let event = snapshot_event(&snap);
                    s.last = Some(snap);
                    s.quiet = 0;
                    return match event {
                        Ok(bytes) => Some((Ok::<_, actix_web::Error>(bytes), s)),
                        Err(e) => Some((Err(e.into()), s)),
                    };
                }
                Ok(_) => {}
                // The shop is gone: nothing more to say.
                Err(AppError::NotFound) => return None,
                Err(e) => tracing::warn!(error = %e, "live dashboard figures failed; retrying"),
            }
            s.quiet += 1;
            if s.quiet >= KEEP_ALIVE_EVERY {
                s.quiet = 0;
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), s));
            }
        }
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}

// ----- report subscriptions -----

/// How often a report is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Daily,
    Weekly,
}

impl Cadence {
    pub const ALL: [Cadence; 2] = [Cadence::Daily, Cadence::Weekly];

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Cadence> {
        Cadence::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    pub cadence: Cadence,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionList {
    /// The shop's recipients, by address, daily before weekly.
    pub items: Vec<SubscriptionView>,
}

/// The caller's own choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MySubscriptions {
    /// Yesterday's figures every morning.
    pub daily: bool,
    /// Last week's figures every Monday.
    pub weekly: bool,
}

pub async fn list_subscriptions(
    state: &AppState,
    merchant: String,
) -> Result<SubscriptionList, AppError> {
    let rows = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            require_shop(conn, &merchant)?;
            Ok(merchant_store::subscriptions(conn, Some(&merchant))?)
        })
        .await?;
    Ok(SubscriptionList {
        items: rows
            .into_iter()
            .filter_map(|r| {
                Some(SubscriptionView {
                    cadence: Cadence::parse(&r.cadence)?,
                    account_id: r.account_id,
                    email: r.email,
                    display_name: r.display_name,
                    created_at: r.created_at.and_utc(),
                })
            })
            .collect(),
    })
}

/// What `account` receives from `merchant`.
pub fn mine_of(rows: &[merchant_store::SubscriptionRow], account: &str) -> MySubscriptions {
    let has = |c: Cadence| {
        rows.iter()
            .any(|r| r.account_id == account && r.cadence == c.as_str())
    };
    MySubscriptions {
        daily: has(Cadence::Daily),
        weekly: has(Cadence::Weekly),
    }
}

/// Sets the staff member's own subscriptions; each change is audited.
pub async fn set_my_subscriptions(
    state: &AppState,
    merchant: String,
    account: AccountId,
    wanted: MySubscriptions,
) -> Result<MySubscriptions, AppError> {
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<MySubscriptions, AppError> {
                for cadence in Cadence::ALL {
                    let on = match cadence {
                        Cadence::Daily => wanted.daily,
                        Cadence::Weekly => wanted.weekly,
                    };
                    let changed = merchant_store::set_subscription(
                        conn,
                        &merchant,
                        account.as_str(),
                        cadence.as_str(),
                        on,
                        now,
                    )?;
                    if changed {
                        audit::record(
                            conn,
                            AuditEntry {
                                actor: Some(&account),
                                action: if on {
                                    "report_subscription.opted_in"
                                } else {
                                    "report_subscription.opted_out"
                                },
                                target_type: "merchant",
                                target_id: Some(&merchant),
                                details: serde_json::json!({ "cadence": cadence.as_str() }),
                            },
                            now,
                        )?;
                    }
                }
                let rows = merchant_store::subscriptions(conn, Some(&merchant))?;
                Ok(mine_of(&rows, account.as_str()))
            })
        })
        .await
        .map_err(AppError::from)
}

/// The instants from the market's midnight of `from` to the one after `to`.
pub fn range_instants(
    zone: chrono_tz::Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> (NaiveDateTime, NaiveDateTime) {
    (
        local_midnight(zone, from),
        local_midnight(zone, to + Duration::days(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: Option<&str>, to: Option<&str>) -> RangeQuery {
        RangeQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }

    fn fields(e: AppError) -> Vec<(String, String)> {
        match e {
            AppError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_range_is_twelve_whole_weeks_to_today() {
        // Thursday 2026-11-12: from Monday 2026-08-24.
        let (from, to) = parse_range(&q(None, None), d("2026-11-12")).unwrap();
        assert_eq!((from, to), (d("2026-08-24"), d("2026-11-12")));
        // Sunday 2026-11-01 ends the week of Monday 2026-10-26.
        let (from, _) = parse_range(&q(None, Some("2026-11-01")), d("2026-11-12")).unwrap();
        assert_eq!(from, d("2026-08-10"));
    }

    #[test]
    fn bad_ranges_name_their_field() {
        let today = d("2026-11-12");
        assert_eq!(
            fields(parse_range(&q(Some("2026-13-01"), Some("yesterday")), today).unwrap_err()),
            [
                ("from".into(), "invalid_date".into()),
                ("to".into(), "invalid_date".into())
            ]
        );
        assert_eq!(
            fields(parse_range(&q(Some("2026-11-02"), Some("2026-11-01")), today).unwrap_err()),
            [("to".into(), "period_inverted".into())]
        );
        // Five years less a day is fine, five years is not.
        assert!(parse_range(&q(Some("2021-11-02"), Some("2026-11-01")), today).is_ok());
        assert_eq!(
            fields(parse_range(&q(Some("2021-11-01"), Some("2026-11-01")), today).unwrap_err()),
            [("to".into(), "period_too_long".into())]
        );
        // One day is a range.
        assert!(parse_range(&q(Some("2026-11-01"), Some("2026-11-01")), today).is_ok());
    }
}
