//! JSON API of the seat marketplace.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::booking::{self, BookingInput, Quote};
use super::erlang::{self, StaffingEstimate, StaffingRequest};
use super::rules::{self, Ruleset};
use super::service::{self, Actor, BookingView, ConfirmRequest};
use super::store::{self, BookingFilter};
use crate::accounts::model::{MerchantId, Role};
use crate::audit::{self, AuditEntry};
use crate::auth::{Admin, Caller, MerchantStaff};
use crate::error::{AppError, FieldError, Problem};
use crate::state::AppState;
use crate::web::api::{ApiJson, OptionalJson, Page, PageQuery};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(seat_rules)
        .service(reload_rules)
        .service(staffing_estimate)
        .service(create_quote)
        .service(create_booking)
        .service(list_bookings)
        .service(get_booking)
        .service(confirm_booking)
        .service(cancel_booking)
        .service(get_capacity);
}

pub(crate) fn actor(caller: Caller) -> Result<Actor, AppError> {
    match (caller.role, caller.merchant) {
        (Role::Admin, _) => Ok(Actor::Admin { account: caller.id }),
        (Role::MerchantStaff, Some(merchant)) => Ok(Actor::Staff {
            account: caller.id,
            merchant,
        }),
        _ => Err(AppError::Forbidden { code: "wrong_role" }),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkillView {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub seats_per_hour: u32,
    pub price_per_seat_hour_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// 10000 = 1.0x.
    pub multiplier_bp: u32,
    /// The day booking opens to everyone.
    pub opens_on: NaiveDate,
    /// The day merchants who booked `renews` may start booking.
    pub priority_opens_on: Option<NaiveDate>,
    pub renews: Option<String>,
    /// `past`, `running`, `open`, `priority` (only renewing merchants may book) or `upcoming`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierView {
    pub min_seat_hours: u64,
    pub discount_bp: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub min_days_before_start: u32,
    pub refund_bp: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// Content hash of the rule files; every booking records the version that priced it.
    pub version: String,
    pub time_zone: String,
    pub today: NaiveDate,
    pub bookable_start_hour: u8,
    pub bookable_end_hour: u8,
    pub block_hours: u8,
    pub hold_minutes: u32,
    pub min_seats: u32,
    pub max_seats_per_booking: u32,
    pub off_peak_opens_days: u32,
    pub off_peak_multiplier_bp: u32,
    pub skills: Vec<SkillView>,
    pub periods: Vec<PeriodView>,
    pub volume_tiers: Vec<TierView>,
    pub early_bird_min_days: Option<u32>,
    pub early_bird_discount_bp: Option<u32>,
    pub cancellation: Vec<RefundView>,
}

pub fn period_status(p: &rules::PeakPeriod, today: NaiveDate) -> &'static str {
    if today > p.end {
        "past"
    } else if today >= p.start {
        "running"
    } else if today >= p.opens_on() {
        "open"
    } else if p.renews.is_some() && today >= p.priority_opens_on() {
        "priority"
    } else {
        "upcoming"
    }
}

pub fn rules_view(rules: &Ruleset, today: NaiveDate) -> RulesView {
    let m = &rules.market;
    RulesView {
        version: rules.version.clone(),
        time_zone: m.time_zone.name().to_owned(),
        today,
        bookable_start_hour: m.bookable_start_hour,
        bookable_end_hour: m.bookable_end_hour,
        block_hours: m.block_hours,
        hold_minutes: m.hold_minutes,
        min_seats: m.min_seats,
        max_seats_per_booking: m.max_seats_per_booking,
        off_peak_opens_days: m.off_peak_opens_days,
        off_peak_multiplier_bp: m.off_peak_multiplier_bp,
        skills: rules
            .skills
            .iter()
            .map(|s| SkillView {
                id: s.id.clone(),
                name_en: s.name_en.clone(),
                name_zh: s.name_zh.clone(),
                seats_per_hour: s.seats_per_hour,
                price_per_seat_hour_fen: s.price_per_seat_hour_fen,
            })
            .collect(),
        periods: rules
            .periods
            .iter()
            .map(|p| PeriodView {
                id: p.id.clone(),
                name_en: p.name_en.clone(),
                name_zh: p.name_zh.clone(),
                start: p.start,
                end: p.end,
                multiplier_bp: p.multiplier_bp,
                opens_on: p.opens_on(),
                priority_opens_on: p.renews.as_ref().map(|_| p.priority_opens_on()),
                renews: p.renews.clone(),
                status: period_status(p, today).to_owned(),
            })
            .collect(),
        volume_tiers: rules
            .pricing
            .volume_tiers
            .iter()
            .map(|t| TierView {
                min_seat_hours: t.min_seat_hours,
                discount_bp: t.discount_bp,
            })
            .collect(),
        early_bird_min_days: rules
            .pricing
            .early_bird
            .as_ref()
            .map(|e| e.min_days_before_start),
        early_bird_discount_bp: rules.pricing.early_bird.as_ref().map(|e| e.discount_bp),
        cancellation: rules
            .cancellation
            .steps
            .iter()
            .map(|s| RefundView {
                min_days_before_start: s.min_days_before_start,
                refund_bp: s.refund_bp,
            })
            .collect(),
    }
}

/// The seat rules in force: version, periods with their open dates, skills and prices.
#[utoipa::path(tag = "seats", responses((status = 200, body = RulesView)))]
#[get("/api/seat-rules")]
async fn seat_rules(state: web::Data<AppState>) -> web::Json<RulesView> {
    let rules = state.rules();
    let today = state.clock.today_in(rules.market.time_zone);
    web::Json(rules_view(&rules, today))
}

/// Reload the rule files without a restart. Bookings keep the version that priced them.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new rules are in force", body = RulesView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A file is bad (`invalid_rules`); the old rules stay in force. Each error names `file:line`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/seat-rules/reload")]
async fn reload_rules(
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<web::Json<RulesView>, AppError> {
    let dir = state.settings.rules_dir.clone();
    let loaded = web::block(move || rules::load_dir(&dir))
        .await
        .map_err(AppError::internal)?;
    let new_rules = loaded.map_err(|errors| {
        AppError::Validation(
            errors
                .0
                .iter()
                .map(|e| {
                    let place = match e.line {
                        Some(line) => format!("{}:{line}", e.file.display()),
                        None => e.file.display().to_string(),
                    };
                    FieldError::new(place, "invalid_rules", e.reason.clone())
                })
                .collect(),
        )
    })?;
    let previous = state.rules().version.clone();
    let version = new_rules.version.clone();
    let actor = admin.0.id.clone();
    let clock = state.clock.clone();
    state
        .db
        .run(move |conn| {
            audit::record(
                conn,
                AuditEntry {
                    actor: Some(&actor),
                    action: "seat_rules.reloaded",
                    target_type: "ruleset",
                    target_id: Some(&version),
                    details: serde_json::json!({ "previous": previous }),
                },
                clock.now(),
            )
        })
        .await?;
    state.replace_rules(new_rules);
    let rules = state.rules();
    tracing::info!(version = %rules.version, "seat rules reloaded");
    Ok(web::Json(rules_view(
        &rules,
        state.clock.today_in(rules.market.time_zone),
    )))
}

/// How many seats a peak needs (Erlang C; see the response's `method`). Open to everyone.
#[utoipa::path(
    tag = "seats",
    request_body = StaffingRequest,
    responses(
        (status = 200, body = StaffingEstimate),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/estimates/staffing")]
async fn staffing_estimate(
    body: ApiJson<StaffingRequest>,
) -> Result<web::Json<StaffingEstimate>, AppError> {
    erlang::estimate(&body.0).map(web::Json).map_err(|errors| {
        AppError::Validation(
            errors
                .into_iter()
                .map(|(field, invalid)| FieldError::new(field, invalid.code, invalid.message))
                .collect(),
        )
    })
}

/// Price a booking request under the rules in force, line by line. Open to everyone.
#[utoipa::path(
    tag = "seats",
    request_body = BookingInput,
    responses(
        (status = 200, body = Quote),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/quotes")]
async fn create_quote(
    state: web::Data<AppState>,
    body: ApiJson<BookingInput>,
) -> Result<web::Json<Quote>, AppError> {
    Ok(web::Json(service::quote(&state, &body.0)?))
}

/// Hold seats for every hour the request covers, for the rules' hold time.
#[utoipa::path(
    tag = "seats",
    security(("bearer" = [])),
    request_body = BookingInput,
    responses(
        (status = 201, description = "Held; confirm before `hold_expires_at`", body = BookingView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a shop's staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sold_out` (with `full_hours`) or `booking_not_open` (with `opens_on`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/bookings")]
async fn create_booking(
    state: web::Data<AppState>,
    staff: MerchantStaff,
    body: ApiJson<BookingInput>,
) -> Result<HttpResponse, AppError> {
    let view = service::place(&state, &staff.caller.id, &staff.merchant, body.0).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingListFilter {
    /// `held`, `confirmed`, `active`, `completed` or `cancelled`.
    pub status: Option<String>,
    pub skill: Option<String>,
    /// A peak period id.
    pub period: Option<String>,
    /// Admins only: one shop's bookings.
    pub merchant_id: Option<String>,
}

/// Bookings, newest first: a shop sees its own, an admin everyone's.
#[utoipa::path(
    tag = "seats",
    security(("bearer" = [])),
    params(BookingListFilter, PageQuery),
    responses(
        (status = 200, body = Page<BookingView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/bookings")]
async fn list_bookings(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<BookingListFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<BookingView>>, AppError> {
    let (limit, cursor) = page.parse()?;
    let filter = filter.into_inner();
    if let Some(s) = &filter.status
        && !["held", "confirmed", "active", "completed", "cancelled"].contains(&s.as_str())
    {
        return Err(AppError::field(
            "status",
            "invalid_value",
            "status is one of held, confirmed, active, completed, cancelled",
        ));
    }
    let merchant = match actor(caller)? {
        Actor::Staff { merchant, .. } => Some(merchant),
        Actor::Admin { .. } => filter.merchant_id.map(MerchantId),
    };
    let store_filter = BookingFilter {
        merchant,
        status: filter.status,
        skill: filter.skill,
        period: filter.period,
    };
    let rows = state
        .db
        .run(move |c| store::list_bookings(c, &store_filter, cursor.as_deref(), limit + 1))
        .await?;
    let views = rows
        .into_iter()
        .map(BookingView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(Page::from_rows(
        views,
        limit,
        |v| v.id.clone(),
        |v| v,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingDetail {
    #[serde(flatten)]
    pub booking: BookingView,
    /// Shifts created for the booking (one per seat per time block per day, once confirmed).
    pub shifts: i64,
}

/// One booking with its price breakdown.
#[utoipa::path(
    tag = "seats",
    security(("bearer" = [])),
    params(("booking_id" = String, Path)),
    responses(
        (status = 200, body = BookingDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking, or another shop's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/bookings/{booking_id}")]
async fn get_booking(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<BookingDetail>, AppError> {
    let (booking, shifts) = service::get(&state, actor(caller)?, path.into_inner()).await?;
    Ok(web::Json(BookingDetail { booking, shifts }))
}

/// Confirm a held booking (payment happens outside cloudseat: this records the invoice and
/// the amount) and create its shifts.
#[utoipa::path(
    tag = "seats",
    security(("bearer" = [])),
    params(("booking_id" = String, Path)),
    request_body(content = ConfirmRequest, description = "Optional"),
    responses(
        (status = 200, body = BookingView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`hold_expired` or `not_held`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/bookings/{booking_id}/confirm")]
async fn confirm_booking(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: OptionalJson<ConfirmRequest>,
) -> Result<web::Json<BookingView>, AppError> {
    Ok(web::Json(
        service::confirm(&state, actor(caller)?, path.into_inner(), body.0).await?,
    ))
}

/// Cancel a booking; a paid one is refunded by the cancellation policy.
#[utoipa::path(
    tag = "seats",
    security(("bearer" = [])),
    params(("booking_id" = String, Path)),
    responses(
        (status = 200, body = BookingView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_cancelled` or `booking_started`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/bookings/{booking_id}/cancel")]
async fn cancel_booking(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<web::Json<BookingView>, AppError> {
    Ok(web::Json(
        service::cancel(&state, actor(caller)?, path.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CapacityQuery {
    pub skill: String,
    /// First day (local), `YYYY-MM-DD`.
    pub from: String,
    /// Last day (inclusive); at most 62 days after `from`.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityHour {
    pub hour_start: DateTime<Utc>,
    /// The hour in the marketplace's zone, `YYYY-MM-DD HH:MM`.
    pub local: String,
    pub capacity: i32,
    pub sold: i32,
    pub remaining: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityView {
    pub skill: String,
    pub time_zone: String,
    pub hours: Vec<CapacityHour>,
}

/// Seats left per bookable hour of a skill.
#[utoipa::path(
    tag = "seats",
    security(("bearer" = [])),
    params(CapacityQuery),
    responses(
        (status = 200, body = CapacityView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/capacity")]
async fn get_capacity(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<CapacityQuery>,
) -> Result<web::Json<CapacityView>, AppError> {
    actor(caller)?;
    let rules = state.rules();
    let view = capacity_view(&state, &rules, &q.skill, &q.from, &q.to).await?;
    Ok(web::Json(view))
}

/// The capacity grid (shared by the API and the admin heat map page).
pub async fn capacity_view(
    state: &AppState,
    rules: &Ruleset,
    skill: &str,
    from: &str,
    to: &str,
) -> Result<CapacityView, AppError> {
    let mut errors = crate::error::FieldErrors::new();
    let skill = errors.check(
        "skill",
        rules
            .skill(skill)
            .cloned()
            .ok_or_else(|| crate::error::Invalid::new("unknown_skill", "no such skill")),
    );
    let parse = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| crate::error::Invalid::new("invalid_date", "use YYYY-MM-DD"))
    };
    let from = errors.check("from", parse(from));
    let to = errors.check("to", parse(to));
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.push(
                "to",
                crate::error::Invalid::new("dates_reversed", "`to` is before `from`"),
            );
        } else if (t - f).num_days() > 62 {
            errors.push(
                "to",
                crate::error::Invalid::new("too_long", "at most 62 days at a time"),
            );
        }
    }
    errors.finish()?;
    let (Some(skill), Some(from), Some(to)) = (skill, from, to) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let tz = rules.market.time_zone;
    let m = &rules.market;
    let hours_per_day = m.bookable_end_hour - m.bookable_start_hour;
    let span = booking::ValidBooking {
        skill: skill.id.clone(),
        start: from,
        end: to,
        daily_start_hour: m.bookable_start_hour,
        daily_end_hour: m.bookable_start_hour + hours_per_day,
        seats: 1,
    };
    let hours = booking::booked_hours(tz, &span);
    let (Some(first), Some(last)) = (hours.first().copied(), hours.last().copied()) else {
        return Ok(CapacityView {
            skill: skill.id,
            time_zone: tz.name().into(),
            hours: Vec::new(),
        });
    };
    let id = skill.id.clone();
    let rows = state
        .db
        .run(move |c| store::inventory(c, Some(&id), first, last + Duration::hours(1)))
        .await?;
    let sold: std::collections::HashMap<_, _> = rows
        .into_iter()
        .map(|(_, h, cap, sold)| (h, (cap, sold)))
        .collect();
    Ok(CapacityView {
        skill: skill.id.clone(),
        time_zone: tz.name().into(),
        hours: hours
            .into_iter()
            .map(|h| {
                let (capacity, sold) = sold
                    .get(&h)
                    .copied()
                    .unwrap_or((skill.seats_per_hour as i32, 0));
                CapacityHour {
                    hour_start: h.and_utc(),
                    local: h
                        .and_utc()
                        .with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                    capacity,
                    sold,
                    remaining: capacity - sold,
                }
            })
            .collect(),
    })
}
