//! Seat marketplace use cases: quoting, holding seats, confirming, cancelling, and the
//! housekeeping that expires holds and moves bookings through their life.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::booking::{self, BookingInput, Quote, ValidBooking, WindowError};
use super::rules::Ruleset;
use super::store::{self, BookingRow, NewBooking, NewShift};
use crate::accounts::model::{AccountId, MerchantId};
use crate::accounts::{service::account_locale, store as accounts};
use crate::audit::{self, AuditEntry, LifecycleEvent};
use crate::db::{DbConn, new_id, write_transaction};
use crate::error::AppError;
use crate::mail::outbox;
use crate::mail::templates::{MailKind, render};
use crate::state::AppState;

/// A booking as the API shows it, times in UTC and dates in the marketplace's zone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingView {
    pub id: String,
    pub merchant_id: MerchantId,
    pub skill: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub daily_start_hour: i32,
    pub daily_end_hour: i32,
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    pub seats: i32,
    pub seat_hours: i64,
    /// `held`, `confirmed`, `active`, `completed` or `cancelled`.
    pub status: String,
    /// The ruleset version that priced this booking.
    pub ruleset_version: String,
    pub period_id: Option<String>,
    pub quote: Quote,
    pub total_fen: i64,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub invoice_number: Option<String>,
    pub paid_fen: Option<i64>,
    pub refund_fen: Option<i64>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl TryFrom<BookingRow> for BookingView {
    type Error = AppError;

    fn try_from(r: BookingRow) -> Result<Self, AppError> {
        let quote: Quote = serde_json::from_str(&r.quote).map_err(AppError::internal)?;
        Ok(BookingView {
            id: r.id,
            merchant_id: r.merchant_id,
            skill: r.skill,
            start_date: r.start_date,
            end_date: r.end_date,
            daily_start_hour: r.daily_start_hour,
            daily_end_hour: r.daily_end_hour,
            time_zone: r.time_zone,
            seats: r.seats,
            seat_hours: r.seat_hours,
            status: r.status,
            ruleset_version: r.ruleset_version,
            period_id: r.period_id,
            quote,
            total_fen: r.total_fen,
            hold_expires_at: r.hold_expires_at.map(|t| t.and_utc()),
            invoice_number: r.invoice_number,
            paid_fen: r.paid_fen,
            refund_fen: r.refund_fen,
            cancel_reason: r.cancel_reason,
            created_at: r.created_at.and_utc(),
            confirmed_at: r.confirmed_at.map(|t| t.and_utc()),
            cancelled_at: r.cancelled_at.map(|t| t.and_utc()),
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The merchant's payment reference, kept with the invoice (payment itself happens
    /// outside cloudseat).
    #[serde(default)]
    pub payment_reference: Option<String>,
    /// The amount paid, in fen; when given it must equal the booking's total.
    #[serde(default)]
    pub paid_fen: Option<i64>,
}

/// Who acts on a booking: the shop's own staff, or an admin on anyone's behalf.
#[derive(Debug, Clone)]
pub enum Actor {
    Staff {
        account: AccountId,
        merchant: MerchantId,
    },
    Admin {
        account: AccountId,
    },
}

impl Actor {
    fn account(&self) -> &AccountId {
        match self {
            Actor::Staff { account, .. } | Actor::Admin { account } => account,
        }
    }

    /// Another shop's booking is "not found", exactly like a missing one.
    pub(crate) fn may_touch(&self, row: &BookingRow) -> Result<(), AppError> {
        match self {
            Actor::Admin { .. } => Ok(()),
            Actor::Staff { merchant, .. } if *merchant == row.merchant_id => Ok(()),
            Actor::Staff { .. } => Err(AppError::NotFound),
        }
    }
}

/// Prices a request under the rules in force. Anyone may ask.
pub fn quote(state: &AppState, input: &BookingInput) -> Result<Quote, AppError> {
    let rules = state.rules();
    let valid = booking::validate(&rules, input).map_err(AppError::from)?;
    let skill = rules.skill(&valid.skill).ok_or(AppError::NotFound)?;
    Ok(booking::quote(
        &rules,
        skill,
        &valid,
        state.clock.today_in(rules.market.time_zone),
    ))
}

fn window_error(err: WindowError) -> AppError {
    match err {
        WindowError::InThePast { date } => AppError::field(
            "start_date",
            "in_the_past",
            format!("{date} has begun or passed; the earliest bookable day is tomorrow"),
        ),
        WindowError::NotOpen {
            date,
            opens_on,
            period_id,
            priority_opens_on,
        } => AppError::conflict_with(
            "booking_not_open",
            match &period_id {
                Some(p) => format!("booking for {date} ({p}) opens on {opens_on}"),
                None => format!("{date} is too far ahead; it can be booked from {opens_on}"),
            },
            serde_json::json!({
                "date": date,
                "opens_on": opens_on,
                "period_id": period_id,
                "priority_opens_on": priority_opens_on,
            }),
        ),
    }
}

/// The booking as the pure rules see it, and its zone (the one it was booked in).
fn as_valid(rules: &Ruleset, row: &BookingRow) -> (ValidBooking, chrono_tz::Tz) {
    let tz: chrono_tz::Tz = row.time_zone.parse().unwrap_or(rules.market.time_zone);
    let valid = ValidBooking {
        skill: row.skill.clone(),
        start: row.start_date,
        end: row.end_date,
        daily_start_hour: row.daily_start_hour as u8,
        daily_end_hour: row.daily_end_hour as u8,
        seats: row.seats as u32,
    };
    (valid, tz)
}

fn hours_of(rules: &Ruleset, row: &BookingRow) -> Result<Vec<NaiveDateTime>, AppError> {
    let (valid, tz) = as_valid(rules, row);
    Ok(booking::booked_hours(tz, &valid))
}

/// Gives an expired hold's seats back and marks it cancelled. Call in a write transaction.
fn expire_hold(
    conn: &mut DbConn,
    rules: &Ruleset,
    row: &BookingRow,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if !store::mark_cancelled(conn, &row.id, "held", "hold_expired", 0, now)? {
        return Ok(false);
    }
    store::release_seats(conn, &row.skill, &hours_of(rules, row)?, row.seats)?;
    audit::record_lifecycle(
        conn,
        LifecycleEvent {
            entity_type: "booking",
            entity_id: &row.id,
            from_state: Some("held"),
            to_state: "cancelled",
            actor: None,
            reason: Some("hold expired"),
        },
        now,
    )?;
    Ok(true)
}

/// Releases every expired hold; returns how many.
pub fn expire_holds(
    conn: &mut DbConn,
    rules: &Ruleset,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let mut n = 0;
    for row in store::expired_holds(conn, now)? {
        if expire_hold(conn, rules, &row, now)? {
            n += 1;
        }
    }
    Ok(n)
}

fn booking_mail(
    conn: &mut DbConn,
    row: &BookingRow,
    kind: impl FnOnce(crate::accounts::model::Locale) -> MailKind,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(account) = accounts::find(conn, &row.created_by)? else {
        return Ok(());
    };
    let locale = account_locale(&account);
    let mail = render(&account.email, &account.display_name, locale, &kind(locale))
        .map_err(AppError::internal)?;
    outbox::enqueue(conn, &mail, now)?;
    Ok(())
}

fn summary(
    row: &BookingRow,
    quote: &Quote,
    locale: crate::accounts::model::Locale,
) -> super::mails::BookingSummary {
    super::mails::BookingSummary::new(row, quote, locale)
}

/// Holds seats for every hour a request covers: the body of one write transaction, shared
/// by the API and by `cloudseat demo`. Returns the held booking.
#[allow(clippy::too_many_arguments)]
pub fn place_tx(
    conn: &mut DbConn,
    rules: &Ruleset,
    today: NaiveDate,
    now: NaiveDateTime,
    staff: &AccountId,
    merchant: &MerchantId,
    input: &BookingInput,
) -> Result<BookingRow, AppError> {
    let valid = booking::validate(rules, input).map_err(AppError::from)?;
    let skill = rules.skill(&valid.skill).ok_or(AppError::NotFound)?.clone();
    let tz = rules.market.time_zone;
    let hours = booking::booked_hours(tz, &valid);
    let renewed = store::booked_periods(conn, merchant)?;
    let period = booking::check_window(rules, &valid, today, &renewed).map_err(window_error)?;
    // Seats of holds that ran out go back before anyone is told "sold out".
    expire_holds(conn, rules, now)?;
    store::ensure_inventory(conn, &skill.id, &hours, skill.seats_per_hour as i32)?;
    let quote = booking::quote(rules, &skill, &valid, today);
    let id = new_id();
    let quote_json = serde_json::to_string(&quote).map_err(AppError::internal)?;
    let starts_at = *hours
        .first()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no hours")))?;
    let ends_at = *hours
        .last()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no hours")))?
        + Duration::hours(1);
    store::insert_booking(
        conn,
        &NewBooking {
            id: &id,
            merchant_id: merchant,
            created_by: staff,
            skill: &skill.id,
            start_date: valid.start,
            end_date: valid.end,
            daily_start_hour: i32::from(valid.daily_start_hour),
            daily_end_hour: i32::from(valid.daily_end_hour),
            time_zone: tz.name(),
            seats: valid.seats as i32,
            seat_hours: valid.seat_hours() as i64,
            status: "held",
            ruleset_version: &rules.version,
            period_id: period.as_deref(),
            quote: &quote_json,
            total_fen: quote.total_fen,
            hold_expires_at: Some(now + Duration::minutes(i64::from(rules.market.hold_minutes))),
            starts_at,
            ends_at,
            created_at: now,
            updated_at: now,
        },
    )?;
    audit::record_lifecycle(
        conn,
        LifecycleEvent {
            entity_type: "booking",
            entity_id: &id,
            from_state: None,
            to_state: "held",
            actor: Some(staff),
            reason: None,
        },
        now,
    )?;
    let row = store::find_booking(conn, &id)?.ok_or(AppError::NotFound)?;
    booking_mail(
        conn,
        &row,
        |l| MailKind::BookingHeld(summary(&row, &quote, l)),
        now,
    )?;
    // Seats last: the inventory rows stay locked only from here to the commit, and a
    // sold-out rolls back the booking, its event and its mail written above.
    if let Err(short) = store::take_seats(conn, &skill.id, &hours, valid.seats as i32)? {
        let full: Vec<serde_json::Value> = short
            .iter()
            .map(|(h, left)| {
                serde_json::json!({
                    "hour_start": h.and_utc(),
                    "local": h.and_utc().with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                    "seats_left": left,
                })
            })
            .collect();
        return Err(AppError::conflict_with(
            "sold_out",
            format!(
                "{} of the requested hours have fewer than {} {} seats left",
                full.len(),
                valid.seats,
                skill.id
            ),
            serde_json::json!({ "full_hours": full }),
        ));
    }
    Ok(row)
}

/// Places a hold on the inventory for every hour the request covers.
pub async fn place(
    state: &AppState,
    staff: &AccountId,
    merchant: &MerchantId,
    input: BookingInput,
) -> Result<BookingView, AppError> {
    let rules = state.rules();
    let today = state.clock.today_in(rules.market.time_zone);
    let clock = state.clock.clone();
    let staff = staff.clone();
    let merchant = merchant.clone();
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                place_tx(conn, &rules, today, clock.now(), &staff, &merchant, &input)
                    .and_then(BookingView::try_from)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

fn invoice_number(now: NaiveDateTime, id: &str) -> String {
    let tail: String = id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("CS-{}-{}", now.format("%Y%m%d"), tail.to_uppercase())
}

/// Confirms a held booking: records the invoice and creates one shift per seat per time
/// block per day, in the caller's write transaction. An expired hold is released and then
/// reported as the inner error (so that the release commits).
pub fn confirm_tx(
    conn: &mut DbConn,
    rules: &Ruleset,
    now: NaiveDateTime,
    actor: &Actor,
    id: &str,
    req: &ConfirmRequest,
) -> Result<Result<BookingRow, AppError>, AppError> {
    let row = store::find_booking(conn, id)?.ok_or(AppError::NotFound)?;
    actor.may_touch(&row)?;
    match row.status.as_str() {
        "held" => {}
        "cancelled" if row.cancel_reason.as_deref() == Some("hold_expired") => {
            return Err(AppError::conflict(
                "hold_expired",
                "the hold ran out and its seats were released; book again",
            ));
        }
        other => {
            return Err(AppError::conflict(
                "not_held",
                format!("only a held booking can be confirmed; this one is {other}"),
            ));
        }
    }
    if let Some(paid) = req.paid_fen
        && paid != row.total_fen
    {
        return Err(AppError::field(
            "paid_fen",
            "amount_mismatch",
            format!("the booking's total is {} fen", row.total_fen),
        ));
    }
    if row.hold_expires_at.is_some_and(|t| t <= now) {
        expire_hold(conn, rules, &row, now)?;
        return Ok(Err(AppError::conflict(
            "hold_expired",
            "the hold ran out and its seats were released; book again",
        )));
    }
    let invoice = invoice_number(now, &row.id);
    if !store::mark_confirmed(conn, &row.id, &invoice, row.total_fen, now)? {
        return Err(AppError::conflict(
            "not_held",
            "the booking changed meanwhile",
        ));
    }
    let (valid, tz) = as_valid(rules, &row);
    let blocks = booking::shift_blocks(tz, &valid, rules.market.block_hours);
    let mut shifts = Vec::with_capacity(blocks.len() * row.seats as usize);
    for (start, end) in &blocks {
        for seat in 1..=row.seats {
            shifts.push(NewShift {
                id: new_id(),
                booking_id: &row.id,
                merchant_id: &row.merchant_id,
                skill: &row.skill,
                seat_no: seat,
                starts_at: *start,
                ends_at: *end,
                status: "open",
                created_at: now,
                updated_at: now,
            });
        }
    }
    store::insert_shifts(conn, &shifts)?;
    audit::record_lifecycle(
        conn,
        LifecycleEvent {
            entity_type: "booking",
            entity_id: &row.id,
            from_state: Some("held"),
            to_state: "confirmed",
            actor: Some(actor.account()),
            reason: req.payment_reference.as_deref(),
        },
        now,
    )?;
    if let Actor::Admin { account } = &actor {
        audit::record(
            conn,
            AuditEntry {
                actor: Some(account),
                action: "booking.confirmed",
                target_type: "booking",
                target_id: Some(&row.id),
                details: serde_json::json!({ "invoice": invoice, "payment_reference": req.payment_reference }),
            },
            now,
        )?;
    }
    let row = store::find_booking(conn, &row.id)?.ok_or(AppError::NotFound)?;
    let quote: Quote = serde_json::from_str(&row.quote).map_err(AppError::internal)?;
    booking_mail(
        conn,
        &row,
        |l| MailKind::BookingConfirmed(summary(&row, &quote, l)),
        now,
    )?;
    Ok(Ok(row))
}

/// Confirms a held booking (see [`confirm_tx`]).
pub async fn confirm(
    state: &AppState,
    actor: Actor,
    id: String,
    req: ConfirmRequest,
) -> Result<BookingView, AppError> {
    let rules = state.rules();
    let clock = state.clock.clone();
    let row = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                confirm_tx(conn, &rules, clock.now(), &actor, &id, &req)
            })
        })
        .await??;
    state.wake_outbox();
    BookingView::try_from(row)
}

/// Cancels a booking with the refund the policy gives for how far ahead it is.
pub async fn cancel(state: &AppState, actor: Actor, id: String) -> Result<BookingView, AppError> {
    let rules = state.rules();
    let clock = state.clock.clone();
    let view = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<BookingView, AppError> {
                let now = clock.now();
                let row = store::find_booking(conn, &id)?.ok_or(AppError::NotFound)?;
                actor.may_touch(&row)?;
                let status = row.status.clone();
                match status.as_str() {
                    "held" | "confirmed" => {}
                    "cancelled" => return Err(AppError::conflict("already_cancelled", "this booking is already cancelled")),
                    other => {
                        return Err(AppError::conflict("booking_started", format!("a booking that is {other} can no longer be cancelled")));
                    }
                }
                if now >= row.starts_at {
                    return Err(AppError::conflict("booking_started", "the booking has started and can no longer be cancelled"));
                }
                let tz: chrono_tz::Tz = row.time_zone.parse().unwrap_or(rules.market.time_zone);
                let today = now.and_utc().with_timezone(&tz).date_naive();
                let days_before = (row.start_date - today).num_days();
                let (refund_bp, refund) = match row.paid_fen {
                    Some(paid) => booking::refund_fen(&rules, paid, days_before),
                    None => (0, 0),
                };
                if !store::mark_cancelled(conn, &row.id, &status, "cancelled", refund, now)? {
                    return Err(AppError::conflict("already_cancelled", "the booking changed meanwhile"));
                }
                store::release_seats(conn, &row.skill, &hours_of(&rules, &row)?, row.seats)?;
                let agents = store::cancel_shifts(conn, &row.id, now)?;
                audit::record_lifecycle(
                    conn,
                    LifecycleEvent {
                        entity_type: "booking",
                        entity_id: &row.id,
                        from_state: Some(&status),
                        to_state: "cancelled",
                        actor: Some(actor.account()),
                        reason: Some("cancelled"),
                    },
                    now,
                )?;
                if let Actor::Admin { account } = &actor {
                    audit::record(
                        conn,
                        AuditEntry {
                            actor: Some(account),
                            action: "booking.cancelled",
                            target_type: "booking",
                            target_id: Some(&row.id),
                            details: serde_json::json!({ "refund_fen": refund, "refund_bp": refund_bp }),
                        },
                        now,
                    )?;
                }
                let row = store::find_booking(conn, &row.id)?.ok_or(AppError::NotFound)?;
                let quote: Quote = serde_json::from_str(&row.quote).map_err(AppError::internal)?;
                booking_mail(
                    conn,
                    &row,
                    |l| MailKind::BookingCancelled(summary(&row, &quote, l), refund, refund_bp),
                    now,
                )?;
                for agent in agents {
                    if let Some(account) = accounts::find(conn, &agent)? {
                        let mail = render(
                            &account.email,
                            &account.display_name,
                            account_locale(&account),
                            &MailKind::ShiftsCancelled(summary(&row, &quote, account_locale(&account))),
                        )
                        .map_err(AppError::internal)?;
                        outbox::enqueue(conn, &mail, now)?;
                    }
                }
                BookingView::try_from(row)
            })
        })
        .await?;
    state.wake_outbox();
    Ok(view)
}

pub async fn get(
    state: &AppState,
    actor: Actor,
    id: String,
) -> Result<(BookingView, i64), AppError> {
    state
        .db
        .run(move |conn| -> Result<(BookingView, i64), AppError> {
            let row = store::find_booking(conn, &id)?.ok_or(AppError::NotFound)?;
            actor.may_touch(&row)?;
            let shifts = store::count_shifts(conn, &row.id)?;
            Ok((BookingView::try_from(row)?, shifts))
        })
        .await
        .map_err(AppError::from)
}

/// Moves bookings along by the clock: expired holds are released, confirmed bookings
/// become active at their first hour and completed after their last. Returns the number of
/// changes. Safe to run on several instances at once (every move is conditional).
pub fn housekeeping(
    conn: &mut DbConn,
    rules: &Ruleset,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    write_transaction(conn, |conn| -> Result<usize, AppError> {
        let mut n = expire_holds(conn, rules, now)?;
        for (from, to, by_end) in [
            ("confirmed", "active", false),
            ("active", "completed", true),
        ] {
            for id in store::due_for(conn, from, by_end, now)? {
                if store::transition(conn, &id, from, to, now)? {
                    audit::record_lifecycle(
                        conn,
                        LifecycleEvent {
                            entity_type: "booking",
                            entity_id: &id,
                            from_state: Some(from),
                            to_state: to,
                            actor: None,
                            reason: Some("schedule"),
                        },
                        now,
                    )?;
                    n += 1;
                }
            }
        }
        Ok(n)
    })
}

/// Mails every merchant who booked a peak that its successor's renewal window opens
/// tomorrow. Each (period, merchant) is mailed once, whatever restarts or instances.
pub fn renewal_notices(
    conn: &mut DbConn,
    rules: &Ruleset,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let mut sent = 0;
    for period in rules
        .periods
        .iter()
        .filter(|p| p.priority_opens_on() == today + Duration::days(1))
    {
        let Some(previous) = &period.renews else {
            continue;
        };
        for merchant in store::merchants_who_booked(conn, previous)? {
            sent += write_transaction(conn, |conn| -> Result<usize, AppError> {
                if !store::claim_notification(
                    conn,
                    "renewal_opens",
                    &format!("{}:{}", period.id, merchant),
                    now,
                )? {
                    return Ok(0);
                }
                let staff = accounts::list_staff(conn, &merchant, None, 50)?;
                for account in staff {
                    let locale = account_locale(&account);
                    let mail = render(
                        &account.email,
                        &account.display_name,
                        locale,
                        &MailKind::RenewalOpens {
                            period: match locale {
                                crate::accounts::model::Locale::ZhCn => period.name_zh.clone(),
                                crate::accounts::model::Locale::En => period.name_en.clone(),
                            },
                            priority_opens_on: period.priority_opens_on().to_string(),
                            opens_on: period.opens_on().to_string(),
                        },
                    )
                    .map_err(AppError::internal)?;
                    outbox::enqueue(conn, &mail, now)?;
                }
                Ok(1)
            })?;
        }
    }
    Ok(sent)
}
