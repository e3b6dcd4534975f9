//! Pure booking rules: what a valid booking request is, whether its dates are open to this
//! merchant yet, what it costs (a quote with a line-by-line breakdown), which hours of
//! inventory it takes and which shifts it becomes, and what a cancellation refunds.
//! No I/O here: the store and the use cases wrap these functions.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{PeakPeriod, Ruleset, Skill};
use crate::error::{FieldErrors, Invalid};

/// What a merchant asks for, as it arrives (numbers wide enough to catch nonsense such as
/// negative or absurd seat counts and report them as field errors).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    #[schema(example = "general")]
    pub skill: String,
    /// First day, `YYYY-MM-DD`, in the marketplace's time zone.
    #[schema(example = "2026-12-01")]
    pub start_date: String,
    /// Last day (inclusive).
    #[schema(example = "2026-12-12")]
    pub end_date: String,
    /// First hour of each day the seats are staffed (local time).
    #[schema(example = 8)]
    pub daily_start_hour: i64,
    /// End of each day's staffed hours (exclusive; 24 = midnight).
    #[schema(example = 24)]
    pub daily_end_hour: i64,
    #[schema(example = 20)]
    pub seats: i64,
}

/// A request that passed every rule of the ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBooking {
    pub skill: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub daily_start_hour: u8,
    pub daily_end_hour: u8,
    pub seats: u32,
}

impl ValidBooking {
    pub fn days(&self) -> u32 {
        ((self.end - self.start).num_days() + 1) as u32
    }

    pub fn hours_per_day(&self) -> u32 {
        u32::from(self.daily_end_hour - self.daily_start_hour)
    }

    pub fn seat_hours(&self) -> u64 {
        u64::from(self.days()) * u64::from(self.hours_per_day()) * u64::from(self.seats)
    }

    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.start.iter_days().take_while(move |d| *d <= self.end)
    }
}

/// The longest booking accepted in one request.
pub const MAX_DAYS: i64 = 120;

fn parse_date(raw: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new("invalid_date", "use a date like 2026-12-01"))
}

/// Checks a request against the ruleset, reporting every bad field at once.
pub fn validate(rules: &Ruleset, input: &BookingInput) -> Result<ValidBooking, FieldErrors> {
    let market = &rules.market;
    let mut errors = FieldErrors::new();
    let skill = errors.check(
        "skill",
        rules
            .skill(input.skill.trim())
            .map(|s| s.id.clone())
            .ok_or_else(|| {
                let known: Vec<&str> = rules.skills.iter().map(|s| s.id.as_str()).collect();
                Invalid::new(
                    "unknown_skill",
                    format!("choose one of: {}", known.join(", ")),
                )
            }),
    );
    let start = errors.check("start_date", parse_date(&input.start_date));
    let end = errors.check("end_date", parse_date(&input.end_date));
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errors.push(
                "end_date",
                Invalid::new("dates_reversed", "the last day is before the first day"),
            );
        } else if (e - s).num_days() + 1 > MAX_DAYS {
            errors.push(
                "end_date",
                Invalid::new(
                    "too_long",
                    format!("one booking covers at most {MAX_DAYS} days"),
                ),
            );
        }
    }
    let (open, close, block) = (
        i64::from(market.bookable_start_hour),
        i64::from(market.bookable_end_hour),
        i64::from(market.block_hours.max(1)),
    );
    let window =
        format!("seats can be booked from {open}:00 to {close}:00 in blocks of {block} hours");
    let hour = |h: i64, lo: i64, hi: i64| -> Result<u8, Invalid> {
        if h < lo || h > hi {
            Err(Invalid::new("outside_bookable_hours", window.clone()))
        } else if (h - open) % block != 0 {
            Err(Invalid::new("not_aligned", window.clone()))
        } else {
            Ok(h as u8)
        }
    };
    let daily_start = errors.check(
        "daily_start_hour",
        hour(input.daily_start_hour, open, close - block),
    );
    let daily_end = errors.check(
        "daily_end_hour",
        hour(input.daily_end_hour, open + block, close),
    );
    if let (Some(s), Some(e)) = (daily_start, daily_end)
        && e <= s
    {
        errors.push(
            "daily_end_hour",
            Invalid::new("hours_reversed", "the day's end is not after its start"),
        );
    }
    let seats = errors.check(
        "seats",
        if input.seats < i64::from(market.min_seats.max(1))
            || input.seats > i64::from(market.max_seats_per_booking)
        {
            Err(Invalid::new(
                "out_of_range",
                format!(
                    "book between {} and {} seats at a time",
                    market.min_seats.max(1),
                    market.max_seats_per_booking
                ),
            ))
        } else {
            Ok(input.seats as u32)
        },
    );
    let done = errors.is_empty();
    match (skill, start, end, daily_start, daily_end, seats) {
        (Some(skill), Some(start), Some(end), Some(ds), Some(de), Some(seats)) if done => {
            Ok(ValidBooking {
                skill,
                start,
                end,
                daily_start_hour: ds,
                daily_end_hour: de,
                seats,
            })
        }
        _ => Err(errors),
    }
}

/// Why the dates cannot be booked yet (or any more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    /// Booking starts tomorrow at the earliest.
    InThePast { date: NaiveDate },
    /// The date's peak (or the off-peak horizon) does not open until `opens_on`.
    NotOpen {
        date: NaiveDate,
        opens_on: NaiveDate,
        period_id: Option<String>,
        /// For a peak with a renewal window this merchant does not qualify for (or that has
        /// not started either), when renewing merchants may book.
        priority_opens_on: Option<NaiveDate>,
    },
}

/// Checks that every date is open to this merchant on `today` (local date). `renewed` holds
/// the ids of peaks the merchant booked (confirmed) before, which earns the renewal window
/// of the peak that `renews` them. Returns the peak of the first day, if any.
pub fn check_window(
    rules: &Ruleset,
    booking: &ValidBooking,
    today: NaiveDate,
    renewed: &HashSet<String>,
) -> Result<Option<String>, WindowError> {
    for date in booking.dates() {
        if date <= today {
            return Err(WindowError::InThePast { date });
        }
        match rules.period_on(date) {
            Some(p) => {
                if today >= p.opens_on() {
                    continue;
                }
                let renews = p.renews.as_ref().is_some_and(|prev| renewed.contains(prev));
                if renews && today >= p.priority_opens_on() {
                    continue;
                }
                return Err(WindowError::NotOpen {
                    date,
                    opens_on: p.opens_on(),
                    period_id: Some(p.id.clone()),
                    priority_opens_on: p.renews.as_ref().map(|_| p.priority_opens_on()),
                });
            }
            None => {
                let horizon = today + Duration::days(i64::from(rules.market.off_peak_opens_days));
                if date > horizon {
                    return Err(WindowError::NotOpen {
                        date,
                        opens_on: date
                            - Duration::days(i64::from(rules.market.off_peak_opens_days)),
                        period_id: None,
                        priority_opens_on: None,
                    });
                }
            }
        }
    }
    Ok(rules.period_on(booking.start).map(|p| p.id.clone()))
}

/// One explained amount of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuoteLine {
    /// `base`, `peak_multiplier`, `volume_discount` or `early_bird_discount`.
    pub kind: String,
    pub label_en: String,
    pub label_zh: String,
    /// Seat-hours the line applies to.
    pub seat_hours: u64,
    /// Price per seat-hour in fen, for base lines.
    pub unit_fen: Option<i64>,
    /// The multiplier or discount in basis points (10000 = 100%), for the other lines.
    pub rate_bp: Option<u32>,
    /// Signed: discounts are negative.
    pub amount_fen: i64,
}

/// The price of a booking, line by line, under one ruleset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub ruleset_version: String,
    pub skill: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub daily_start_hour: u8,
    pub daily_end_hour: u8,
    pub seats: u32,
    pub days: u32,
    pub seat_hours: u64,
    pub lines: Vec<QuoteLine>,
    /// The sum of the lines, in fen.
    pub total_fen: i64,
    #[schema(example = "CNY")]
    pub currency: String,
}

/// `amount × bp / 10000`, rounded half away from zero, in exact integer arithmetic.
pub fn apply_bp(amount: i64, bp: u32) -> i64 {
    let product = i128::from(amount) * i128::from(bp);
    let rounded = (product.abs() + 5_000) / 10_000;
    let signed = if product < 0 { -rounded } else { rounded };
    signed as i64
}

/// Formats fen as yuan for labels: 350000 -> "3,500.00".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let whole = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", fen % 100)
}

fn percent(bp: u32) -> String {
    let whole = bp / 100;
    match bp % 100 {
        0 => format!("{whole}%"),
        rest => format!("{whole}.{rest:02}%"),
    }
}

fn multiplier(bp: u32) -> String {
    let s = format!("{}.{:04}", bp / 10_000, bp % 10_000);
    format!("{}x", s.trim_end_matches('0').trim_end_matches('.'))
}

/// Prices a valid booking. Days are grouped by peak (or off-peak): each group gets a base
/// line and, when its multiplier is not 1x, a multiplier line; then the volume tier for the
/// booking's seat-hours and the early-bird discount (when `today` is far enough ahead) come
/// off the subtotal. Every amount is integer fen.
pub fn quote(rules: &Ruleset, skill: &Skill, booking: &ValidBooking, today: NaiveDate) -> Quote {
    let per_day = u64::from(booking.hours_per_day()) * u64::from(booking.seats);
    let mut lines = Vec::new();
    // Consecutive days under the same peak (None = off-peak) form one group.
    let mut groups: Vec<(Option<&PeakPeriod>, u32)> = Vec::new();
    for date in booking.dates() {
        let period = rules.period_on(date);
        match groups.last_mut() {
            Some((p, n)) if p.map(|p| &p.id) == period.map(|p| &p.id) => *n += 1,
            _ => groups.push((period, 1)),
        }
    }
    for (period, days) in groups {
        let seat_hours = per_day * u64::from(days);
        let base = seat_hours as i64 * skill.price_per_seat_hour_fen;
        let (name_en, name_zh, bp) = match period {
            Some(p) => (p.name_en.clone(), p.name_zh.clone(), p.multiplier_bp),
            None => (
                "off-peak".to_owned(),
                "平日".to_owned(),
                rules.market.off_peak_multiplier_bp,
            ),
        };
        lines.push(QuoteLine {
            kind: "base".into(),
            label_en: format!(
                "{} ({name_en}): {days} days × {} h × {} seats × ¥{}",
                skill.name_en,
                booking.hours_per_day(),
                booking.seats,
                yuan(skill.price_per_seat_hour_fen)
            ),
            label_zh: format!(
                "{}（{name_zh}）：{days} 天 × {} 小时 × {} 席 × ¥{}",
                skill.name_zh,
                booking.hours_per_day(),
                booking.seats,
                yuan(skill.price_per_seat_hour_fen)
            ),
            seat_hours,
            unit_fen: Some(skill.price_per_seat_hour_fen),
            rate_bp: None,
            amount_fen: base,
        });
        if bp != 10_000 {
            lines.push(QuoteLine {
                kind: "peak_multiplier".into(),
                label_en: format!("{name_en} price {}", multiplier(bp)),
                label_zh: format!("{name_zh} 价格系数 {}", multiplier(bp)),
                seat_hours,
                unit_fen: None,
                rate_bp: Some(bp),
                amount_fen: apply_bp(base, bp) - base,
            });
        }
    }
    let subtotal: i64 = lines.iter().map(|l| l.amount_fen).sum();
    let seat_hours = booking.seat_hours();
    let mut discounted = subtotal;
    if let Some(discount) = volume_discount(rules, subtotal, seat_hours) {
        discounted += discount.amount_fen;
        lines.push(discount);
    }
    if let Some(early) = &rules.pricing.early_bird {
        let ahead = (booking.start - today).num_days();
        if ahead >= i64::from(early.min_days_before_start) {
            let amount = -apply_bp(discounted, early.discount_bp);
            lines.push(QuoteLine {
                kind: "early_bird_discount".into(),
                label_en: format!(
                    "Early-bird discount {} (booked {ahead} days ahead)",
                    percent(early.discount_bp)
                ),
                label_zh: format!(
                    "早鸟折扣 {}（提前 {ahead} 天预订）",
                    percent(early.discount_bp)
                ),
                seat_hours,
                unit_fen: None,
                rate_bp: Some(early.discount_bp),
                amount_fen: amount,
            });
        }
    }
    let total_fen = lines.iter().map(|l| l.amount_fen).sum::<i64>().max(0);
    Quote {
        ruleset_version: rules.version.clone(),
        skill: skill.id.clone(),
        start_date: booking.start,
        end_date: booking.end,
        daily_start_hour: booking.daily_start_hour,
        daily_end_hour: booking.daily_end_hour,
        seats: booking.seats,
        days: booking.days(),
        seat_hours,
        lines,
        total_fen,
        currency: "CNY".into(),
    }
}

/// The graduated volume discount: each tier's rate applies to the seat-hours between its
/// threshold and the next tier's (like tax bands), so a larger booking never costs less
/// than a smaller one. The discount is spread over the subtotal in proportion, which keeps
/// it exact when days carry different peak multipliers.
fn volume_discount(rules: &Ruleset, subtotal: i64, seat_hours: u64) -> Option<QuoteLine> {
    let tiers = &rules.pricing.volume_tiers;
    let mut weighted: i128 = 0; // sum over bands of seat-hours x basis points
    let mut applied = Vec::new();
    for (i, tier) in tiers.iter().enumerate() {
        if seat_hours <= tier.min_seat_hours {
            break;
        }
        let band_end = tiers
            .get(i + 1)
            .map_or(seat_hours, |next| next.min_seat_hours.min(seat_hours));
        let band = band_end.saturating_sub(tier.min_seat_hours);
        if band > 0 {
            weighted += i128::from(band) * i128::from(tier.discount_bp);
            applied.push(*tier);
        }
    }
    if weighted == 0 || seat_hours == 0 {
        return None;
    }
    let denominator = i128::from(seat_hours) * 10_000;
    let numerator = i128::from(subtotal) * weighted;
    let amount = -((numerator + denominator / 2) / denominator) as i64;
    let effective_bp = (weighted * 100 / i128::from(seat_hours)) as u32; // hundredths of a bp
    let bands_en: Vec<String> = applied
        .iter()
        .map(|t| {
            format!(
                "{} from {} seat-hours",
                percent(t.discount_bp),
                t.min_seat_hours
            )
        })
        .collect();
    let bands_zh: Vec<String> = applied
        .iter()
        .map(|t| {
            format!(
                "{} 席时以上部分 {}",
                t.min_seat_hours,
                percent(t.discount_bp)
            )
        })
        .collect();
    Some(QuoteLine {
        kind: "volume_discount".into(),
        label_en: format!(
            "Volume discount, {} on average ({})",
            percent(effective_bp / 100),
            bands_en.join(", ")
        ),
        label_zh: format!(
            "批量折扣，平均 {}（{}）",
            percent(effective_bp / 100),
            bands_zh.join("，")
        ),
        seat_hours,
        unit_fen: None,
        rate_bp: Some(effective_bp / 100),
        amount_fen: amount,
    })
}

/// The UTC instant of a local date and hour (hour 24 is the next midnight). In zones with
/// daylight saving a skipped hour maps to the next valid instant and a repeated one to the
/// first; the marketplace's default zone (Asia/Shanghai) has neither.
pub fn local_hour_to_utc(tz: chrono_tz::Tz, date: NaiveDate, hour: u8) -> NaiveDateTime {
    let (date, hour) = if hour >= 24 {
        (date + Duration::days(1), 0)
    } else {
        (date, hour)
    };
    let local = date.and_hms_opt(u32::from(hour), 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
        chrono::LocalResult::None => {
            let later = local + Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.naive_utc())
                .unwrap_or(later)
        }
    }
}

/// Every hour of inventory the booking takes (UTC hour starts), in ascending order.
pub fn booked_hours(tz: chrono_tz::Tz, booking: &ValidBooking) -> Vec<NaiveDateTime> {
    let mut hours = Vec::with_capacity((booking.days() * booking.hours_per_day()) as usize);
    for date in booking.dates() {
        for h in booking.daily_start_hour..booking.daily_end_hour {
            hours.push(local_hour_to_utc(tz, date, h));
        }
    }
    hours.sort();
    hours.dedup();
    hours
}

/// The time blocks each seat is staffed in, per day (UTC start, end), in order. Each block
/// times each seat becomes one shift.
pub fn shift_blocks(
    tz: chrono_tz::Tz,
    booking: &ValidBooking,
    block_hours: u8,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let block = block_hours.max(1);
    let mut blocks = Vec::new();
    for date in booking.dates() {
        let mut h = booking.daily_start_hour;
        while h < booking.daily_end_hour {
            let end = (h + block).min(booking.daily_end_hour);
            blocks.push((
                local_hour_to_utc(tz, date, h),
                local_hour_to_utc(tz, date, end),
            ));
            h = end;
        }
    }
    blocks
}

/// The refund for cancelling a paid booking `days_before_start` days ahead.
pub fn refund_fen(rules: &Ruleset, paid_fen: i64, days_before_start: i64) -> (u32, i64) {
    let bp = rules.cancellation.refund_bp(days_before_start);
    (bp, apply_bp(paid_fen, bp).min(paid_fen).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seats::rules::{
        CancellationPolicy, EarlyBird, Market, PeakPeriod, Pricing, RefundStep, Skill, VolumeTier,
    };
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rules() -> Ruleset {
        Ruleset {
            version: "sha256:test".into(),
            market: Market {
                time_zone: chrono_tz::Asia::Shanghai,
                bookable_start_hour: 8,
                bookable_end_hour: 24,
                block_hours: 4,
                hold_minutes: 15,
                min_seats: 1,
                max_seats_per_booking: 500,
                off_peak_opens_days: 90,
                off_peak_multiplier_bp: 10_000,
            },
            skills: vec![Skill {
                id: "general".into(),
                name_en: "General".into(),
                name_zh: "通用".into(),
                seats_per_hour: 200,
                price_per_seat_hour_fen: 3500,
                agent_hourly_fen: 2400,
            }],
            periods: vec![
                PeakPeriod {
                    id: "d11_2026".into(),
                    name_en: "Double 11".into(),
                    name_zh: "双11".into(),
                    start: d("2026-10-20"),
                    end: d("2026-11-11"),
                    multiplier_bp: 18_000,
                    booking_opens_days_before: 60,
                    priority_days: 14,
                    renews: None,
                },
                PeakPeriod {
                    id: "d12_2026".into(),
                    name_en: "Double 12".into(),
                    name_zh: "双12".into(),
                    start: d("2026-12-01"),
                    end: d("2026-12-12"),
                    multiplier_bp: 14_000,
                    booking_opens_days_before: 60,
                    priority_days: 14,
                    renews: None,
                },
                PeakPeriod {
                    id: "d11_2027".into(),
                    name_en: "Double 11 2027".into(),
                    name_zh: "2027双11".into(),
                    start: d("2027-10-20"),
                    end: d("2027-11-11"),
                    multiplier_bp: 18_000,
                    booking_opens_days_before: 60,
                    priority_days: 14,
                    renews: Some("d11_2026".into()),
                },
            ],
            pricing: Pricing {
                volume_tiers: vec![
                    VolumeTier {
                        min_seat_hours: 500,
                        discount_bp: 300,
                    },
                    VolumeTier {
                        min_seat_hours: 2000,
                        discount_bp: 600,
                    },
                ],
                early_bird: Some(EarlyBird {
                    min_days_before_start: 45,
                    discount_bp: 500,
                }),
            },
            cancellation: CancellationPolicy {
                steps: vec![
                    RefundStep {
                        min_days_before_start: 30,
                        refund_bp: 10_000,
                    },
                    RefundStep {
                        min_days_before_start: 14,
                        refund_bp: 8_000,
                    },
                    RefundStep {
                        min_days_before_start: 0,
                        refund_bp: 0,
                    },
                ],
            },
            shifts: Default::default(),
            chat: Default::default(),
            pay: Default::default(),
            quality: Default::default(),
            levels: Default::default(),
            scorecards: Default::default(),
            churn: Default::default(),
            at_risk: Default::default(),
        }
    }

    fn input(start: &str, end: &str, hours: (i64, i64), seats: i64) -> BookingInput {
        BookingInput {
            skill: "general".into(),
            start_date: start.into(),
            end_date: end.into(),
            daily_start_hour: hours.0,
            daily_end_hour: hours.1,
            seats,
        }
    }

    fn valid(start: &str, end: &str, hours: (i64, i64), seats: i64) -> ValidBooking {
        validate(&rules(), &input(start, end, hours, seats)).unwrap()
    }

    #[test]
    fn a_worked_quote() {
        // Double 12: 12 days x 16 h x 20 seats = 3,840 seat-hours at ¥35 = 13,440,000 fen,
        // 1.4x adds 5,376,000. Volume, graduated: 1,500 seat-hours in the 3% band and 1,840
        // in the 6% band: 18,816,000 x (1500 x 300 + 1840 x 600) / (3840 x 10000) = 761,460.
        // 60 days ahead the 5% early bird: (18,816,000 - 761,460) x 5% = 902,727.
        let rules = rules();
        let b = valid("2026-12-01", "2026-12-12", (8, 24), 20);
        let q = quote(&rules, &rules.skills[0], &b, d("2026-10-02"));
        let amounts: Vec<i64> = q.lines.iter().map(|l| l.amount_fen).collect();
        assert_eq!(amounts, [13_440_000, 5_376_000, -761_460, -902_727]);
        assert_eq!(q.total_fen, 17_151_813);
        assert_eq!(q.lines[1].label_en, "Double 12 price 1.4x");
        assert_eq!(
            q.lines[2].label_en,
            "Volume discount, 4.04% on average (3% from 500 seat-hours, 6% from 2000 seat-hours)"
        );
    }

    #[test]
    fn days_across_a_peak_boundary_are_priced_per_segment() {
        let rules = rules();
        let b = valid("2026-11-29", "2026-12-02", (8, 12), 1);
        let q = quote(&rules, &rules.skills[0], &b, d("2026-11-01"));
        let kinds: Vec<&str> = q.lines.iter().map(|l| l.kind.as_str()).collect();
        assert_eq!(kinds, ["base", "base", "peak_multiplier"]);
        assert_eq!(q.lines[0].seat_hours, 8);
        assert_eq!(q.lines[1].seat_hours, 8);
        assert_eq!(q.total_fen, 8 * 3500 + 8 * 3500 * 14 / 10);
    }

    #[test]
    fn validation_reports_every_field() {
        let mut bad = input("2026-12-12", "2026-12-01", (6, 13), 0);
        bad.skill = "telepathy".into();
        let errors = validate(&rules(), &bad).unwrap_err().finish().unwrap_err();
        let crate::error::AppError::Validation(fields) = errors else {
            panic!()
        };
        let got: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f.field.as_str(), f.code.as_str()))
            .collect();
        assert!(got.contains(&("skill", "unknown_skill")));
        assert!(got.contains(&("end_date", "dates_reversed")));
        assert!(got.contains(&("daily_start_hour", "outside_bookable_hours")));
        assert!(got.contains(&("daily_end_hour", "not_aligned")));
        assert!(got.contains(&("seats", "out_of_range")));
        assert!(
            validate(&rules(), &input("2026-12-01", "2027-12-01", (8, 12), 1)).is_err(),
            "too long"
        );
        assert!(
            validate(
                &rules(),
                &input("2026-12-01", "2026-12-01", (8, 12), 1_000_000_000)
            )
            .is_err()
        );
        assert!(validate(&rules(), &input("01/12/2026", "2026-12-01", (8, 12), 1)).is_err());
    }

    #[test]
    fn peaks_open_on_time_and_early_for_renewals() {
        let rules = rules();
        let none = HashSet::new();
        let b = valid("2027-10-25", "2027-10-26", (8, 12), 1);
        // Opens 60 days before 2027-10-20, i.e. 2027-08-21; renewals 14 days earlier.
        let err = check_window(&rules, &b, d("2027-08-10"), &none).unwrap_err();
        assert_eq!(
            err,
            WindowError::NotOpen {
                date: d("2027-10-25"),
                opens_on: d("2027-08-21"),
                period_id: Some("d11_2027".into()),
                priority_opens_on: Some(d("2027-08-07")),
            }
        );
        let renewed: HashSet<String> = ["d11_2026".to_owned()].into();
        assert_eq!(
            check_window(&rules, &b, d("2027-08-10"), &renewed),
            Ok(Some("d11_2027".into()))
        );
        assert!(
            check_window(&rules, &b, d("2027-08-06"), &renewed).is_err(),
            "not before the window"
        );
        assert!(check_window(&rules, &b, d("2027-08-21"), &none).is_ok());
        // Off-peak: 90 days ahead at most; never today or earlier.
        let off = valid("2027-03-01", "2027-03-02", (8, 12), 1);
        assert!(check_window(&rules, &off, d("2026-11-23"), &none).is_err());
        assert!(check_window(&rules, &off, d("2026-12-15"), &none).is_ok());
        assert_eq!(
            check_window(&rules, &off, d("2027-03-01"), &none),
            Err(WindowError::InThePast {
                date: d("2027-03-01")
            })
        );
    }

    #[test]
    fn hours_and_shift_blocks_are_in_utc() {
        let b = valid("2026-12-01", "2026-12-02", (20, 24), 3);
        let hours = booked_hours(chrono_tz::Asia::Shanghai, &b);
        assert_eq!(hours.len(), 8);
        // 20:00 in Shanghai is 12:00 UTC; the last hour starts 23:00 local = 15:00 UTC.
        assert_eq!(hours[0].to_string(), "2026-12-01 12:00:00");
        assert_eq!(hours[3].to_string(), "2026-12-01 15:00:00");
        let blocks = shift_blocks(chrono_tz::Asia::Shanghai, &b, 4);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0].1.to_string(),
            "2026-12-01 16:00:00",
            "a block may end at local midnight"
        );
    }

    #[test]
    fn zones_with_daylight_saving_still_give_every_hour_once() {
        // New York, the night clocks go forward (2027-03-14): 02:00 does not exist.
        let b = ValidBooking {
            skill: "general".into(),
            start: d("2027-03-14"),
            end: d("2027-03-14"),
            daily_start_hour: 0,
            daily_end_hour: 4,
            seats: 1,
        };
        let hours = booked_hours(chrono_tz::America::New_York, &b);
        let mut sorted = hours.clone();
        sorted.dedup();
        assert_eq!(hours, sorted, "no hour twice");
        assert!(hours.len() >= 3);
    }

    #[test]
    fn refunds_follow_the_policy() {
        let rules = rules();
        assert_eq!(refund_fen(&rules, 100_000, 40), (10_000, 100_000));
        assert_eq!(refund_fen(&rules, 100_000, 20), (8_000, 80_000));
        assert_eq!(refund_fen(&rules, 100_000, 3), (0, 0));
        assert_eq!(refund_fen(&rules, 100_001, 20), (8_000, 80_001));
    }

    #[test]
    fn money_formats() {
        assert_eq!(yuan(8_962_800), "89,628.00");
        assert_eq!(yuan(-277_200), "-2,772.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(apply_bp(1_000, 14_000), 1_400);
        assert_eq!(apply_bp(5, 5_000), 3, "half away from zero");
        assert_eq!(apply_bp(-5, 5_000), -3);
    }

    proptest! {
        #[test]
        fn quote_total_is_the_sum_of_its_lines_and_never_negative(
            start_offset in 0i64..400,
            days in 1i64..60,
            start_block in 0i64..4,
            blocks in 1i64..4,
            seats in 1i64..500,
            booked_ahead in 1i64..200,
        ) {
            let rules = rules();
            let start = d("2026-09-01") + Duration::days(start_offset);
            let end = start + Duration::days(days - 1);
            let from = 8 + 4 * start_block;
            let to = (from + 4 * blocks).min(24);
            prop_assume!(to > from);
            let b = validate(&rules, &input(&start.to_string(), &end.to_string(), (from, to), seats)).unwrap();
            let q = quote(&rules, &rules.skills[0], &b, start - Duration::days(booked_ahead));
            prop_assert_eq!(q.total_fen, q.lines.iter().map(|l| l.amount_fen).sum::<i64>());
            prop_assert!(q.total_fen > 0);
            prop_assert_eq!(q.seat_hours, (days * (to - from) * seats) as u64);
            let base: u64 = q.lines.iter().filter(|l| l.kind == "base").map(|l| l.seat_hours).sum();
            prop_assert_eq!(base, q.seat_hours, "every seat-hour is priced exactly once");
            prop_assert_eq!(booked_hours(chrono_tz::Asia::Shanghai, &b).len() as u64 * seats as u64, q.seat_hours);
        }

        #[test]
        fn more_seats_never_cost_less_per_booking(seats in 1i64..499, ahead in 1i64..100) {
            let rules = rules();
            let today = d("2026-11-01") - Duration::days(ahead);
            let a = valid("2026-12-01", "2026-12-03", (8, 16), seats);
            let b = valid("2026-12-01", "2026-12-03", (8, 16), seats + 1);
            let qa = quote(&rules, &rules.skills[0], &a, today);
            let qb = quote(&rules, &rules.skills[0], &b, today);
            prop_assert!(qb.total_fen >= qa.total_fen);
        }

        #[test]
        fn refunds_never_exceed_what_was_paid(paid in 0i64..10_000_000_000, days in -10i64..400) {
            let (bp, refund) = refund_fen(&rules(), paid, days);
            prop_assert!(refund >= 0 && refund <= paid);
            prop_assert!(bp <= 10_000);
        }
    }
}
