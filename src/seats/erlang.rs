//! Staffing estimator: how many agents a queue of live contacts needs to meet a service level.
//!
//! # Model
//!
//! Erlang C, the M/M/N queue: contacts arrive at random (a Poisson stream of λ per hour), each
//! takes an exponentially distributed handle time with mean AHT, nobody hangs up, and waiting
//! contacts form one first-come-first-served queue in front of N interchangeable agents. The
//! offered traffic `A = λ · AHT / 3600` (in Erlangs) is the average number of busy agents. With
//! `N ≤ A` the queue grows without bound, so only counts above `A` are answers.
//!
//! The formulas live in small pure functions, each documented with its own:
//! [`erlang_b`], [`erlang_c`], [`service_level`], [`asa`] and [`occupancy`].
//!
//! # Numerics
//!
//! The textbook form `C = (Aᴺ/N!)·N/(N−A) / (Σ Aᵏ/k! + …)` overflows `f64` once N passes about
//! 170, long before a 20,000-contacts-an-hour queue is staffed. Instead we use the Erlang B
//! recurrence `B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))`, whose every term lies in (0, 1], and
//! `C = N·B / (N − A·(1 − B))`. The count search walks that recurrence upward one agent at a
//! time from the smallest stable count, `⌊A⌋ + 1`, evaluating each candidate from the value it
//! already has, so an estimate costs about `A` divisions plus a few dozen exponentials: about
//! 10 µs at 20,000 contacts an hour and 4-minute AHT, under 1 µs at 1,200
//! (`benches/estimator.rs`, on a shared two-core machine).
//!
//! # Chat concurrency
//!
//! For chat, where one agent holds several conversations at once (`concurrency` above 1), we
//! use the *concurrency factor* method described by Call Centre Helper in "Erlang C for Chat?"
//! (<https://www.callcentrehelper.com/erlang-c-for-chat-206984.htm>, 2022): divide the chat
//! handle time by a concurrency factor and run plain Erlang C on the result,
//! `effective AHT = AHT / factor`. The factor is smaller than the number of chats, because an
//! agent allowed three chats is not always holding three and each chat stretches when it shares
//! the agent. The article's table, used here as published:
//!
//! | concurrent chats | 1 | 2   | 3   | 4   | 5   |
//! |------------------|---|-----|-----|-----|-----|
//! | factor           | 1 | 1.7 | 2.5 | 2.9 | 3.5 |
//!
//! The article calls the method "not ideal, but … the most widely used". We chose it because it
//! keeps every figure in agent units (`traffic_erlangs` is then the agents' workload
//! `λ · AHT / (3600 · factor)`, occupancy stays `A / N`, stability stays `N > A`), needs no
//! input the product does not already ask for, and reduces exactly to Erlang C for one chat at a
//! time. The alternatives we rejected: treating each agent as `concurrency` independent servers
//! (or dividing the voice answer by the concurrency, which the article's questioner asks about)
//! assumes capacity grows in proportion to concurrency, which Call Centre Helper and
//! ccPlanning's "Webchat & concurrency" lesson
//! (<https://ccplanning.net/courses/webchat-and-concurrency>) both say it does not; models that
//! inflate the handle time from message-composition times (e.g. US patent application
//! 2009/0316873, "Estimating number of agents for multiple chat channels") need timings we do
//! not collect.
//!
//! Limits of that choice, which callers should know:
//! - The published table stops at 5 chats. For 6 to 10 we keep the last published factor, 3.5,
//!   rather than invent one: more concurrency earns no further credit, so the answer may
//!   overstaff (it does not understaff relative to 5 chats).
//! - Dividing the AHT also speeds up the queue's dynamics, so chat service level and ASA are
//!   indicative. "Answered" means an agent picked the chat up, not that replies inside the chat
//!   were quick; concurrency is exactly what slows those down.
//! - `aht_seconds` for chat should be the wall-clock length of a chat as measured at the
//!   concurrency agents actually run.
//!
//! # Other limits
//!
//! Erlang C ignores abandonment (it overstates the agents needed when customers give up),
//! assumes a steady arrival rate within the hour (call it once per forecast interval) and
//! treats agents as identical. Shrinkage is applied after the queueing model:
//! `seats_to_schedule = ⌈seats_needed / (1 − shrinkage)⌉`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Invalid;
use Lower::{Above, AtLeast};
use Upper::{AtMost, Below};

/// The largest arrival rate accepted, in contacts per hour.
pub const MAX_CONTACTS_PER_HOUR: f64 = 1_000_000.0;
/// The longest average handle time accepted, in seconds (ten hours).
pub const MAX_AHT_SECONDS: f64 = 36_000.0;
/// The longest answer-time threshold accepted, in seconds.
pub const MAX_TARGET_SECONDS: f64 = 3_600.0;
/// The most chats one agent may be planned to hold at once.
pub const MAX_CONCURRENCY: u32 = 10;

/// Call Centre Helper's concurrency factors for 1 to 5 concurrent chats (see the module docs).
const CONCURRENCY_FACTORS: [f64; 5] = [1.0, 1.7, 2.5, 2.9, 3.5];

/// What to staff for: one interval's demand and the service goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffingRequest {
    /// Contacts (calls or chats) arriving per hour: more than 0, at most 1,000,000.
    pub contacts_per_hour: f64,
    /// Average handle time in seconds, including wrap-up: more than 0, at most 36,000.
    pub aht_seconds: f64,
    /// Contacts one agent handles at once: 1 for calls, up to 10 for chat. Default 1.
    #[serde(default = "default_concurrency")]
    #[schema(default = 1, minimum = 1, maximum = 10)]
    pub concurrency: u32,
    /// Service level goal in percent, e.g. 80 in "80% answered within 20 s": more than 0 and
    /// less than 100.
    pub target_percent: f64,
    /// The answer-time threshold in seconds, e.g. 20 in "80% within 20 s": 0 to 3,600.
    pub target_seconds: f64,
    /// Highest acceptable agent occupancy in percent (more than 0, at most 100); the count is
    /// raised until occupancy is at or below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_occupancy: Option<f64>,
    /// Share of paid time agents are unavailable (breaks, training, absence) in percent: at
    /// least 0 and less than 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrinkage_percent: Option<f64>,
}

fn default_concurrency() -> u32 {
    1
}

/// The answer. Figures are rounded to two decimals; the search itself uses full precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffingEstimate {
    /// The model used, in words (plain Erlang C, or Erlang C with a chat concurrency factor).
    pub method: String,
    /// The agents' workload in Erlangs: contacts per hour × effective AHT / 3600.
    pub traffic_erlangs: f64,
    /// Agents that must be on line: the fewest that meet the service level (and the occupancy
    /// cap, when one is given).
    pub seats_needed: u32,
    /// Agents to schedule so that `seats_needed` remain after shrinkage; equal to
    /// `seats_needed` without shrinkage.
    pub seats_to_schedule: u32,
    /// Predicted performance at `seats_needed` and its stable neighbours (two either side).
    pub predictions: Vec<StaffingPrediction>,
}

/// Predicted performance of one on-line agent count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffingPrediction {
    pub agents: u32,
    /// Percent of contacts answered within `target_seconds`.
    pub service_level_percent: f64,
    /// Average wait before an agent answers, over all contacts, in seconds.
    pub average_speed_of_answer_seconds: f64,
    /// Percent of agents' on-line time spent handling contacts.
    pub occupancy_percent: f64,
    /// Percent of contacts that wait at all.
    pub probability_of_waiting_percent: f64,
}

/// Validates `req` and estimates the seats it needs.
///
/// Every field is checked before anything is computed, so the caller gets all field errors at
/// once (field name and an [`Invalid`] with code `out_of_range`; NaN and infinities are out of
/// every range). A missing required field never gets here: the JSON extractor
/// ([`crate::web::api::parse_json`]) already reports it as `required`. Two combinations of
/// valid fields can still be refused: an occupancy cap or a shrinkage so close to its bound
/// that the count would not fit in a `u32` (over four billion seats).
pub fn estimate(req: &StaffingRequest) -> Result<StaffingEstimate, Vec<(&'static str, Invalid)>> {
    let inputs = validate(req)?;
    let plan = plan(&inputs)?;
    Ok(StaffingEstimate {
        method: method(inputs.concurrency, plan.concurrency_factor),
        traffic_erlangs: round2(plan.traffic_erlangs),
        seats_needed: plan.seats_needed,
        seats_to_schedule: plan.seats_to_schedule,
        predictions: plan
            .predictions
            .iter()
            .map(|p| StaffingPrediction {
                agents: p.agents,
                service_level_percent: round2(p.service_level * 100.0),
                average_speed_of_answer_seconds: round2(p.asa_seconds),
                occupancy_percent: round2(p.occupancy * 100.0),
                probability_of_waiting_percent: round2(p.probability_of_waiting * 100.0),
            })
            .collect(),
    })
}

/// The factor Call Centre Helper divides chat AHT by for `concurrency` simultaneous chats; 1
/// for calls, and the table's last value (3.5) beyond its last row (5 chats).
pub fn concurrency_factor(concurrency: u32) -> f64 {
    let last = CONCURRENCY_FACTORS.len() - 1;
    let index = usize::try_from(concurrency.max(1) - 1).map_or(last, |i| i.min(last));
    CONCURRENCY_FACTORS[index]
}

/// Erlang B: the probability that a contact offered `traffic` Erlangs finds all `servers`
/// busy when there is no queue.
///
/// Computed by the recurrence `B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))`, which needs no
/// factorials or powers and stays within (0, 1] for any `traffic ≥ 0`.
pub fn erlang_b(servers: u32, traffic: f64) -> f64 {
    let mut walk = ErlangBWalk::new(traffic);
    walk.advance_to(u64::from(servers));
    walk.b
}

/// Erlang C: the probability that a contact has to wait, with `agents` agents and `traffic`
/// Erlangs.
///
/// `C = N·B / (N − A·(1 − B))` with `B = erlang_b(N, A)`. For `N ≤ A` the queue is unstable
/// and every contact eventually waits, so the result is 1.
pub fn erlang_c(agents: u32, traffic: f64) -> f64 {
    let n = f64::from(agents);
    if n <= traffic {
        return 1.0;
    }
    erlang_c_from_b(n, traffic, erlang_b(agents, traffic))
}

/// Service level: the fraction of contacts answered within `target_seconds`.
///
/// `SL = 1 − C·e^(−(N − A)·t / AHT)`, where the waiting time of a contact that waits is
/// exponential with rate `(N − A) / AHT`. 0 for an unstable count (`N ≤ A`).
pub fn service_level(agents: u32, traffic: f64, aht_seconds: f64, target_seconds: f64) -> f64 {
    let n = f64::from(agents);
    if n <= traffic {
        return 0.0;
    }
    let c = erlang_c(agents, traffic);
    1.0 - waiting_beyond(c, n, traffic, aht_seconds, target_seconds)
}

/// Average speed of answer: the mean wait over all contacts, in seconds.
///
/// `ASA = C·AHT / (N − A)`; infinite for an unstable count (`N ≤ A`).
pub fn asa(agents: u32, traffic: f64, aht_seconds: f64) -> f64 {
    let n = f64::from(agents);
    if n <= traffic {
        return f64::INFINITY;
    }
    erlang_c(agents, traffic) * aht_seconds / (n - traffic)
}

/// Occupancy: the fraction of agents' time spent handling contacts, `A / N`. A value of 1 or
/// more means the count cannot keep up (the queue is unstable).
pub fn occupancy(agents: u32, traffic: f64) -> f64 {
    traffic / f64::from(agents)
}

/// `C` from an already known `B(N)`; `N > A` is the caller's promise.
fn erlang_c_from_b(n: f64, traffic: f64, b: f64) -> f64 {
    (n * b / (n - traffic * (1.0 - b))).clamp(0.0, 1.0)
}

/// `C·e^(−(N − A)·t / AHT)`: the fraction of contacts still waiting after `target_seconds`.
fn waiting_beyond(c: f64, n: f64, traffic: f64, aht_seconds: f64, target_seconds: f64) -> f64 {
    c * (-(n - traffic) * target_seconds / aht_seconds).exp()
}

/// The Erlang B recurrence as a walk over the server count, one step per server, remembering
/// the two values before the current one so that the neighbours of an answer need no second
/// pass.
struct ErlangBWalk {
    traffic: f64,
    /// The server count reached.
    n: u64,
    /// `B(n)`.
    b: f64,
    /// `B(n − 1)` and `B(n − 2)`; never read for negative indices.
    previous: [f64; 2],
}

impl ErlangBWalk {
    fn new(traffic: f64) -> Self {
        ErlangBWalk {
            traffic,
            n: 0,
            b: 1.0,
            previous: [1.0, 1.0],
        }
    }

    fn step(&mut self) {
        self.n += 1;
        let load = self.traffic * self.b;
        self.previous = [self.b, self.previous[0]];
        // Far above the traffic B underflows to 0 and stays there; n is below 2^53 here, so
        // the conversion is exact.
        self.b = load / (self.n as f64 + load);
    }

    fn advance_to(&mut self, target: u64) {
        while self.n < target {
            if self.b == 0.0 && self.previous[0] == 0.0 {
                // B stays 0 from here on: nothing left to compute.
                self.n = target;
                self.previous = [0.0, 0.0];
                return;
            }
            self.step();
        }
    }

    /// `B(k)` for `k` in `n − 2 ..= n`.
    fn recent(&self, k: u64) -> Option<f64> {
        match self.n.checked_sub(k)? {
            0 => Some(self.b),
            back @ (1 | 2) => Some(self.previous[back as usize - 1]),
            _ => None,
        }
    }
}

/// A request that passed validation.
#[derive(Debug, Clone, Copy)]
struct Inputs {
    contacts_per_hour: f64,
    aht_seconds: f64,
    concurrency: u32,
    target_percent: f64,
    target_seconds: f64,
    max_occupancy: Option<f64>,
    shrinkage_percent: Option<f64>,
}

/// One row of predictions at full precision (fractions, not percent).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Prediction {
    agents: u32,
    service_level: f64,
    asa_seconds: f64,
    occupancy: f64,
    probability_of_waiting: f64,
}

/// The estimate at full precision.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    concurrency_factor: f64,
    traffic_erlangs: f64,
    seats_needed: u32,
    seats_to_schedule: u32,
    predictions: Vec<Prediction>,
}

type FieldErrors = Vec<(&'static str, Invalid)>;

/// Checks every field, collecting all errors.
fn validate(req: &StaffingRequest) -> Result<Inputs, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut check = |field: &'static str, ok: bool, message: &str| {
        if !ok {
            errors.push((field, Invalid::new("out_of_range", message)));
        }
    };
    check(
        "contacts_per_hour",
        in_range(
            req.contacts_per_hour,
            Above(0.0),
            AtMost(MAX_CONTACTS_PER_HOUR),
        ),
        "contacts per hour must be more than 0 and at most 1000000",
    );
    check(
        "aht_seconds",
        in_range(req.aht_seconds, Above(0.0), AtMost(MAX_AHT_SECONDS)),
        "the average handle time must be more than 0 and at most 36000 seconds",
    );
    check(
        "concurrency",
        (1..=MAX_CONCURRENCY).contains(&req.concurrency),
        "concurrency must be a whole number from 1 to 10",
    );
    check(
        "target_percent",
        in_range(req.target_percent, Above(0.0), Below(100.0)),
        "the service level goal must be more than 0 and less than 100 percent",
    );
    check(
        "target_seconds",
        in_range(req.target_seconds, AtLeast(0.0), AtMost(MAX_TARGET_SECONDS)),
        "the answer-time threshold must be from 0 to 3600 seconds",
    );
    if let Some(cap) = req.max_occupancy {
        check(
            "max_occupancy",
            in_range(cap, Above(0.0), AtMost(100.0)),
            "the occupancy cap must be more than 0 and at most 100 percent",
        );
    }
    if let Some(shrinkage) = req.shrinkage_percent {
        check(
            "shrinkage_percent",
            in_range(shrinkage, AtLeast(0.0), Below(100.0)),
            "shrinkage must be at least 0 and less than 100 percent",
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Inputs {
        contacts_per_hour: req.contacts_per_hour,
        aht_seconds: req.aht_seconds,
        concurrency: req.concurrency,
        target_percent: req.target_percent,
        target_seconds: req.target_seconds,
        max_occupancy: req.max_occupancy,
        shrinkage_percent: req.shrinkage_percent,
    })
}

#[derive(Clone, Copy)]
enum Lower {
    Above(f64),
    AtLeast(f64),
}

#[derive(Clone, Copy)]
enum Upper {
    Below(f64),
    AtMost(f64),
}

/// Whether `value` is a finite number within the bounds (NaN and infinities never are).
fn in_range(value: f64, lower: Lower, upper: Upper) -> bool {
    let above = match lower {
        Above(min) => value > min,
        AtLeast(min) => value >= min,
    };
    let below = match upper {
        Below(max) => value < max,
        AtMost(max) => value <= max,
    };
    value.is_finite() && above && below
}

/// The search: the fewest agents meeting the service level, raised to the occupancy cap, then
/// the predictions around that count and the schedule after shrinkage.
fn plan(inputs: &Inputs) -> Result<Plan, FieldErrors> {
    let factor = concurrency_factor(inputs.concurrency);
    let aht = inputs.aht_seconds / factor;
    let traffic = inputs.contacts_per_hour * aht / 3600.0;
    let t = inputs.target_seconds;
    // The allowed fraction answered late, computed from the complement so that goals close to
    // 100% keep their precision.
    let allowed_late = (100.0 - inputs.target_percent) / 100.0;

    let mut walk = ErlangBWalk::new(traffic);
    walk.advance_to(smallest_stable_count(traffic));
    // Terminates: B, and so C, falls to 0 as the count grows, while `allowed_late > 0`.
    loop {
        let n = walk.n as f64;
        let c = erlang_c_from_b(n, traffic, walk.b);
        if waiting_beyond(c, n, traffic, aht, t) <= allowed_late {
            break;
        }
        walk.step();
    }

    let mut count = walk.n;
    if let Some(cap) = inputs.max_occupancy {
        count = count.max(count_for_occupancy(traffic, cap));
    }
    let seats_needed = u32::try_from(count).map_err(|_| {
        vec![(
            "max_occupancy",
            Invalid::new(
                "out_of_range",
                "this occupancy cap is too low for the traffic: it would need more than \
                 4294967295 seats",
            ),
        )]
    })?;
    walk.advance_to(count);

    let mut predictions = Vec::with_capacity(5);
    for k in count.saturating_sub(2)..=count + 2 {
        let b = match walk.recent(k) {
            Some(b) => b,
            None => {
                walk.advance_to(k);
                walk.b
            }
        };
        let Ok(agents) = u32::try_from(k) else {
            continue;
        };
        let n = f64::from(agents);
        if n <= traffic {
            continue;
        }
        let c = erlang_c_from_b(n, traffic, b);
        predictions.push(Prediction {
            agents,
            service_level: 1.0 - waiting_beyond(c, n, traffic, aht, t),
            asa_seconds: c * aht / (n - traffic),
            occupancy: traffic / n,
            probability_of_waiting: c,
        });
    }

    let seats_to_schedule = match inputs.shrinkage_percent {
        None => seats_needed,
        Some(shrinkage) => schedule_for_shrinkage(seats_needed, shrinkage).ok_or_else(|| {
            vec![(
                "shrinkage_percent",
                Invalid::new(
                    "out_of_range",
                    "this shrinkage is too high for the traffic: the schedule would need more \
                     than 4294967295 seats",
                ),
            )]
        })?,
    };

    Ok(Plan {
        concurrency_factor: factor,
        traffic_erlangs: traffic,
        seats_needed,
        seats_to_schedule,
        predictions,
    })
}

/// The smallest count above the traffic, `⌊A⌋ + 1`. (It equals `⌈A⌉ + 1` when the traffic is
/// a whole number and `⌈A⌉` otherwise, which is already stable.)
fn smallest_stable_count(traffic: f64) -> u64 {
    // Traffic is at most 10^7 Erlangs after validation, so the cast is exact.
    traffic.floor() as u64 + 1
}

/// Whether `agents` keeps occupancy at or below `cap_percent`, computed exactly as reported.
fn occupancy_within(agents: u64, traffic: f64, cap_percent: f64) -> bool {
    traffic / agents as f64 * 100.0 <= cap_percent
}

/// The fewest agents whose occupancy is at most `cap_percent`: `⌈A · 100 / cap⌉`, nudged by
/// one where floating point rounding put it on the wrong side of the bound. Saturates to
/// `u64::MAX` when the cap is absurdly low for the traffic.
fn count_for_occupancy(traffic: f64, cap_percent: f64) -> u64 {
    let estimate = (traffic * 100.0 / cap_percent).ceil();
    if !estimate.is_finite() || estimate >= u64::MAX as f64 {
        return u64::MAX;
    }
    let mut count = (estimate as u64).max(1);
    if count > 1 && occupancy_within(count - 1, traffic, cap_percent) {
        count -= 1;
    }
    if !occupancy_within(count, traffic, cap_percent) {
        count += 1;
    }
    count
}

/// `⌈seats / (1 − shrinkage)⌉`, or `None` when that does not fit in a `u32`.
fn schedule_for_shrinkage(seats: u32, shrinkage_percent: f64) -> Option<u32> {
    let available = 100.0 - shrinkage_percent;
    let needed = f64::from(seats) * 100.0;
    let mut scheduled = (needed / available).ceil();
    // 14 / (1 − 0.3) is 20.000000000000004 in floating point; one seat fewer is enough when
    // it already leaves `seats` on line.
    if scheduled >= 1.0 && (scheduled - 1.0) * available >= needed {
        scheduled -= 1.0;
    }
    if scheduled.is_finite() && scheduled <= f64::from(u32::MAX) {
        Some(scheduled as u32)
    } else {
        None
    }
}

fn method(concurrency: u32, factor: f64) -> String {
    if concurrency <= 1 {
        "Erlang C".to_owned()
    } else if concurrency as usize > CONCURRENCY_FACTORS.len() {
        format!(
            "Erlang C with chat concurrency factor {factor} for {concurrency} chats (Call Centre \
             Helper table, held at its last row, 5 chats): handle time divided by {factor}"
        )
    } else {
        format!(
            "Erlang C with chat concurrency factor {factor} for {concurrency} chats (Call Centre \
             Helper table): handle time divided by {factor}"
        )
    }
}

/// Rounds a reported figure to two decimals.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(
        contacts_per_hour: f64,
        aht_seconds: f64,
        target_percent: f64,
        target_seconds: f64,
    ) -> StaffingRequest {
        StaffingRequest {
            contacts_per_hour,
            aht_seconds,
            concurrency: 1,
            target_percent,
            target_seconds,
            max_occupancy: None,
            shrinkage_percent: None,
        }
    }

    fn prediction(estimate: &StaffingEstimate, agents: u32) -> &StaffingPrediction {
        estimate
            .predictions
            .iter()
            .find(|p| p.agents == agents)
            .unwrap_or_else(|| panic!("no prediction for {agents} agents: {estimate:?}"))
    }

    fn assert_close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    /// Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example",
    /// <https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm>: 100 calls in 30
    /// minutes, AHT 180 s, 80% answered within 20 s, maximum occupancy 85%, shrinkage 30%,
    /// trying counts upward from N = A + 1 = 11. Its figures as printed by two write-ups of the
    /// example:
    /// - pyworkforce, "Solving Queue Problems with ErlangC",
    ///   <https://pyworkforce.readthedocs.io/en/0.5.2/tutorials/erlangc_example.html>:
    ///   raw_positions 14, positions 20, service_level 0.888, occupancy 0.714,
    ///   waiting_probability 0.174.
    /// - R package ErlangC 0.1.0 README,
    ///   <https://stat.ethz.ch/CRAN/web/packages/ErlangC/readme/README.html>: traffic intensity
    ///   10; with 14 agents wait probability 0.1741319, service level 0.88835, average speed of
    ///   answer 7.83593701177724 s, occupancy 0.7142857; with 11 agents wait probability
    ///   0.6821182 and service level 0.3896138.
    #[test]
    fn matches_call_centre_helper_worked_example() {
        let req = StaffingRequest {
            max_occupancy: Some(85.0),
            shrinkage_percent: Some(30.0),
            ..request(200.0, 180.0, 80.0, 20.0)
        };
        let e = estimate(&req).unwrap();
        assert_eq!(e.method, "Erlang C");
        assert_eq!(e.traffic_erlangs, 10.0);
        assert_eq!(e.seats_needed, 14);
        assert_eq!(e.seats_to_schedule, 20);
        assert_eq!(
            e.predictions.iter().map(|p| p.agents).collect::<Vec<_>>(),
            [12, 13, 14, 15, 16]
        );
        let at14 = prediction(&e, 14);
        assert_eq!(at14.service_level_percent, 88.84);
        assert_eq!(at14.average_speed_of_answer_seconds, 7.84);
        assert_eq!(at14.occupancy_percent, 71.43);
        assert_eq!(at14.probability_of_waiting_percent, 17.41);
        // 13 agents miss the goal (79.56%), so 14 is the answer.
        assert!(prediction(&e, 13).service_level_percent < 80.0);

        // Full precision against the published decimals, within their last digit.
        assert_close(erlang_c(14, 10.0), 0.1741319, 5e-8);
        assert_close(service_level(14, 10.0, 180.0, 20.0), 0.88835, 5e-6);
        assert_close(asa(14, 10.0, 180.0), 7.83593701177724, 1e-9);
        assert_close(occupancy(14, 10.0), 0.7142857, 5e-8);
        assert_close(erlang_c(11, 10.0), 0.6821182, 5e-8);
        assert_close(service_level(11, 10.0, 180.0, 20.0), 0.3896138, 5e-8);

        // Without the optional inputs: the plain Erlang C count, nothing added.
        let plain = estimate(&request(200.0, 180.0, 80.0, 20.0)).unwrap();
        assert_eq!((plain.seats_needed, plain.seats_to_schedule), (14, 14));
    }

    /// "Erlang C calculator" help page,
    /// <http://personal.telefonica.terra.es/web/vr/erlang/eng/mcerlc.htm>: "If in one hour there
    /// are 600 calls with call length of 120 seconds, that is a traffic of 20 erlangs. For a
    /// target delay probability of 15% the number of circuits needed are 26. The average delay
    /// is 2.5 sec/CCS, so, 1800 total seconds or 3 seconds per call. If circuits are
    /// incremented to 30, delay is reduced to 2.5%. Those 30 circuits with 15% of delay could
    /// attend a traffic of 23.6 erlangs."
    ///
    /// A delay-probability goal of 15% is the service level goal "85% answered within 0 s".
    /// The page's 2.5 s/CCS is coarsely rounded: the exact figure is 2.39 s per 100 s of
    /// traffic (1721 s in total), which still rounds to its 3 s per call.
    #[test]
    fn matches_telefonica_erlang_c_calculator_example() {
        let e = estimate(&request(600.0, 120.0, 85.0, 0.0)).unwrap();
        assert_eq!(e.traffic_erlangs, 20.0);
        assert_eq!(e.seats_needed, 26);
        assert!(erlang_c(25, 20.0) > 0.15);
        let at26 = prediction(&e, 26);
        assert!(at26.probability_of_waiting_percent <= 15.0);
        assert_eq!(at26.average_speed_of_answer_seconds.round(), 3.0);
        assert_eq!((erlang_c(30, 20.0) * 1000.0).round(), 25.0);
        // 23.6 Erlangs is the most 30 circuits carry at 15% delay, to the page's one decimal.
        assert!(erlang_c(30, 23.6) <= 0.15);
        assert!(erlang_c(30, 23.7) > 0.15);
    }

    /// Patrick Hubers, "Erlang: Queuing and Staffing Functions for Contact Centers" (vignette
    /// of the R package Erlang), <https://rdrr.io/github/phubers/erlang/f/vignettes/vignette.Rmd>:
    /// 200 calls per half hour at an AHT of 3 minutes is 20 Erlangs; for 80% within 60 seconds
    /// "we need 23 agents to hit our service level target, we get an occupancy of 20/23 or 87%".
    #[test]
    fn matches_hubers_erlang_vignette_example() {
        let e = estimate(&request(400.0, 180.0, 80.0, 60.0)).unwrap();
        assert_eq!(e.traffic_erlangs, 20.0);
        assert_eq!(e.seats_needed, 23);
        assert_eq!(prediction(&e, 23).occupancy_percent.round(), 87.0);
        assert!(prediction(&e, 22).service_level_percent < 80.0);
    }

    /// Call Centre Helper, "Erlang C for Chat?",
    /// <https://www.callcentrehelper.com/erlang-c-for-chat-206984.htm>: concurrency factors
    /// 1, 1.7, 2.5, 2.9, 3.5 for 1 to 5 chats; an agent handling 3 chats with an AHT of 600 s is
    /// planned with an effective handle time of 600 / 2.5 = 240 s.
    #[test]
    fn chat_uses_the_call_centre_helper_concurrency_factor() {
        let chat = StaffingRequest {
            concurrency: 3,
            ..request(60.0, 600.0, 80.0, 30.0)
        };
        let e = estimate(&chat).unwrap();
        assert_eq!(e.traffic_erlangs, 4.0); // 60 an hour × 240 s
        assert!(e.method.contains("factor 2.5"), "{}", e.method);
        let as_voice = estimate(&request(60.0, 240.0, 80.0, 30.0)).unwrap();
        assert_eq!(e.seats_needed, as_voice.seats_needed);
        assert_eq!(e.predictions, as_voice.predictions);

        assert_eq!(
            (1..=5).map(concurrency_factor).collect::<Vec<_>>(),
            [1.0, 1.7, 2.5, 2.9, 3.5]
        );
        // Beyond the table's last row no further credit.
        for concurrency in 6..=10 {
            assert_eq!(concurrency_factor(concurrency), 3.5);
        }
        let ten = estimate(&StaffingRequest {
            concurrency: 10,
            ..chat.clone()
        })
        .unwrap();
        let five = estimate(&StaffingRequest {
            concurrency: 5,
            ..chat
        })
        .unwrap();
        assert_eq!(ten.seats_needed, five.seats_needed);
        assert!(ten.method.contains("last row"), "{}", ten.method);
    }

    #[test]
    fn recurrence_agrees_with_the_textbook_sum_where_that_does_not_overflow() {
        fn direct_c(n: u32, a: f64) -> f64 {
            let mut term = 1.0; // a^k / k!
            let mut sum = 0.0;
            for k in 0..n {
                sum += term;
                term *= a / f64::from(k + 1);
            }
            let top = term * f64::from(n) / (f64::from(n) - a);
            top / (sum + top)
        }
        for a in [0.5f64, 2.0, 7.5, 10.0, 20.0, 48.0] {
            let first = a.floor() as u32 + 1;
            for n in first..first + 25 {
                assert_close(erlang_c(n, a), direct_c(n, a), 1e-12);
            }
        }
        assert_close(erlang_b(1, 1.0), 0.5, 1e-15);
        assert_eq!(erlang_b(0, 3.0), 1.0);
    }

    #[test]
    fn unstable_counts_are_reported_as_such() {
        assert_eq!(erlang_c(10, 10.0), 1.0);
        assert_eq!(service_level(9, 10.0, 180.0, 20.0), 0.0);
        assert_eq!(asa(10, 10.0, 180.0), f64::INFINITY);
        assert!(occupancy(9, 10.0) > 1.0);
    }

    #[test]
    fn large_traffic_stays_finite_and_ordered() {
        let a = 100_000.0;
        let mut last = 1.0;
        for n in 100_001..102_000 {
            let c = erlang_c(n, a);
            assert!(c.is_finite() && c > 0.0 && c <= last, "C({n}) = {c}");
            last = c;
        }
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let req = StaffingRequest {
            contacts_per_hour: 0.0,
            aht_seconds: -1.0,
            concurrency: 0,
            target_percent: 100.0,
            target_seconds: 3601.0,
            max_occupancy: Some(0.0),
            shrinkage_percent: Some(100.0),
        };
        let errors = estimate(&req).unwrap_err();
        assert_eq!(
            errors.iter().map(|(field, _)| *field).collect::<Vec<_>>(),
            [
                "contacts_per_hour",
                "aht_seconds",
                "concurrency",
                "target_percent",
                "target_seconds",
                "max_occupancy",
                "shrinkage_percent",
            ]
        );
        assert!(
            errors
                .iter()
                .all(|(_, invalid)| invalid.code == "out_of_range")
        );

        let too_much = StaffingRequest {
            contacts_per_hour: 1_000_000.5,
            aht_seconds: 36_000.5,
            concurrency: 11,
            target_percent: 0.0,
            ..request(1.0, 1.0, 80.0, -0.5)
        };
        assert_eq!(estimate(&too_much).unwrap_err().len(), 5);

        for not_a_number in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let errors = estimate(&request(not_a_number, 180.0, 80.0, 20.0)).unwrap_err();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].0, "contacts_per_hour");
        }
    }

    #[test]
    fn the_bounds_themselves_are_accepted() {
        let lowest = StaffingRequest {
            max_occupancy: Some(100.0),
            shrinkage_percent: Some(0.0),
            ..request(f64::MIN_POSITIVE, f64::MIN_POSITIVE, 0.001, 0.0)
        };
        let e = estimate(&lowest).unwrap();
        assert_eq!((e.seats_needed, e.seats_to_schedule), (1, 1));

        let highest = StaffingRequest {
            concurrency: MAX_CONCURRENCY,
            ..request(MAX_CONTACTS_PER_HOUR, 240.0, 99.999, MAX_TARGET_SECONDS)
        };
        assert!(estimate(&highest).is_ok());
    }

    #[test]
    fn json_requests_default_concurrency_and_refuse_unknown_fields() {
        let req: StaffingRequest = serde_json::from_str(
            r#"{"contacts_per_hour": 200, "aht_seconds": 180, "target_percent": 80,
                "target_seconds": 20}"#,
        )
        .unwrap();
        assert_eq!(req.concurrency, 1);
        assert_eq!(req.max_occupancy, None);
        let unknown = serde_json::from_str::<StaffingRequest>(
            r#"{"contacts_per_hour": 200, "aht_seconds": 180, "target_percent": 80,
                "target_seconds": 20, "agents": 3}"#,
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn seats_that_do_not_fit_a_u32_are_refused_on_the_field_that_caused_them() {
        let cap = StaffingRequest {
            max_occupancy: Some(1e-6),
            ..request(1_000_000.0, 180.0, 80.0, 20.0)
        };
        let errors = estimate(&cap).unwrap_err();
        assert_eq!(errors[0].0, "max_occupancy");

        let shrinkage = StaffingRequest {
            shrinkage_percent: Some(99.999_999),
            ..request(1_000_000.0, 180.0, 80.0, 20.0)
        };
        let errors = estimate(&shrinkage).unwrap_err();
        assert_eq!(errors[0].0, "shrinkage_percent");
    }

    #[test]
    fn shrinkage_rounds_up_but_not_past_an_exact_quotient() {
        assert_eq!(schedule_for_shrinkage(14, 30.0), Some(20));
        assert_eq!(schedule_for_shrinkage(14, 0.0), Some(14));
        assert_eq!(schedule_for_shrinkage(15, 30.0), Some(22)); // 21.43
        assert_eq!(schedule_for_shrinkage(1, 50.0), Some(2));
        assert_eq!(schedule_for_shrinkage(3, 25.0), Some(4));
    }

    #[test]
    fn occupancy_cap_raises_the_count() {
        // 80/60 needs 23 agents at 20 Erlangs (86.96% busy); a cap of 85% needs 24.
        let capped = StaffingRequest {
            max_occupancy: Some(85.0),
            ..request(400.0, 180.0, 80.0, 60.0)
        };
        let e = estimate(&capped).unwrap();
        assert_eq!(e.seats_needed, 24);
        assert!(prediction(&e, 24).occupancy_percent <= 85.0);
        // Exactly on the cap is allowed: 10 Erlangs at 50% is 20 agents, not 21.
        assert_eq!(count_for_occupancy(10.0, 50.0), 20);
        assert_eq!(count_for_occupancy(10.0, 100.0), 10);
    }

    #[test]
    fn twenty_thousand_contacts_an_hour() {
        let e = estimate(&request(20_000.0, 240.0, 80.0, 20.0)).unwrap();
        assert_close(e.traffic_erlangs, 1333.33, 0.005);
        assert!(e.seats_needed > 1334 && e.seats_needed < 1400, "{e:?}");
        let at = prediction(&e, e.seats_needed);
        assert!(at.service_level_percent >= 80.0);
        assert!(prediction(&e, e.seats_needed - 1).service_level_percent < 80.0);
    }

    #[test]
    fn a_million_contacts_an_hour() {
        for aht in [240.0, MAX_AHT_SECONDS] {
            let req = StaffingRequest {
                max_occupancy: Some(95.0),
                shrinkage_percent: Some(35.0),
                ..request(MAX_CONTACTS_PER_HOUR, aht, 90.0, 10.0)
            };
            let e = estimate(&req).unwrap();
            assert_eq!(e.predictions.len(), 5);
            assert!(e.seats_to_schedule > e.seats_needed);
            assert!(finite(&e), "{e:?}");
        }
    }

    fn finite(e: &StaffingEstimate) -> bool {
        e.traffic_erlangs.is_finite()
            && e.predictions.iter().all(|p| {
                p.service_level_percent.is_finite()
                    && p.average_speed_of_answer_seconds.is_finite()
                    && p.occupancy_percent.is_finite()
                    && p.probability_of_waiting_percent.is_finite()
            })
    }

    /// Valid requests of ordinary size (up to about 20,000 Erlangs).
    fn ordinary_request() -> impl Strategy<Value = StaffingRequest> {
        (
            (0.01f64..20_000.0, 1.0f64..3_600.0, 1u32..=10),
            (1.0f64..99.9, 0.0f64..600.0),
            (
                proptest::option::of(10.0f64..=100.0),
                proptest::option::of(0.0f64..90.0),
            ),
        )
            .prop_map(
                |(
                    (contacts_per_hour, aht_seconds, concurrency),
                    (target_percent, target_seconds),
                    (max_occupancy, shrinkage_percent),
                )| StaffingRequest {
                    contacts_per_hour,
                    aht_seconds,
                    concurrency,
                    target_percent,
                    target_seconds,
                    max_occupancy,
                    shrinkage_percent,
                },
            )
    }

    /// Any valid request, out to the largest traffic accepted (10^7 Erlangs).
    fn any_valid_request() -> impl Strategy<Value = StaffingRequest> {
        (
            (
                1e-6f64..=MAX_CONTACTS_PER_HOUR,
                1e-3f64..=MAX_AHT_SECONDS,
                1u32..=10,
            ),
            (1e-3f64..99.999, 0.0f64..=MAX_TARGET_SECONDS),
            (
                proptest::option::of(1e-3f64..=100.0),
                proptest::option::of(0.0f64..99.999),
            ),
        )
            .prop_map(
                |(
                    (contacts_per_hour, aht_seconds, concurrency),
                    (target_percent, target_seconds),
                    (max_occupancy, shrinkage_percent),
                )| StaffingRequest {
                    contacts_per_hour,
                    aht_seconds,
                    concurrency,
                    target_percent,
                    target_seconds,
                    max_occupancy,
                    shrinkage_percent,
                },
            )
    }

    fn meets_goal(agents: u64, req: &StaffingRequest, traffic: f64) -> bool {
        let Ok(agents) = u32::try_from(agents) else {
            return true;
        };
        let aht = req.aht_seconds / concurrency_factor(req.concurrency);
        let late = 1.0 - service_level(agents, traffic, aht, req.target_seconds);
        late <= (100.0 - req.target_percent) / 100.0 + 1e-12
    }

    proptest! {
        #[test]
        fn service_level_never_falls_as_agents_are_added(
            traffic in 0.01f64..2_000.0,
            aht in 1.0f64..3_600.0,
            target_seconds in 0.0f64..600.0,
        ) {
            let first = smallest_stable_count(traffic) as u32;
            let mut last = service_level(first - 1, traffic, aht, target_seconds);
            for agents in first..first + 40 {
                let sl = service_level(agents, traffic, aht, target_seconds);
                prop_assert!(sl >= last - 1e-12, "SL({agents}) = {sl} < {last}");
                prop_assert!((0.0..=1.0).contains(&sl));
                last = sl;
            }
        }

        #[test]
        fn the_count_is_the_fewest_that_meets_goal_and_cap(req in ordinary_request()) {
            let plan = plan(&validate(&req).unwrap()).unwrap();
            let traffic = plan.traffic_erlangs;
            let count = u64::from(plan.seats_needed);
            prop_assert!(count as f64 > traffic);
            prop_assert!(meets_goal(count, &req, traffic));
            if let Some(cap) = req.max_occupancy {
                prop_assert!(occupancy_within(count, traffic, cap));
            }
            let fewer = count - 1;
            let fewer_is_enough = fewer as f64 > traffic
                && meets_goal(fewer, &req, traffic)
                && req.max_occupancy.is_none_or(|cap| occupancy_within(fewer, traffic, cap));
            prop_assert!(!fewer_is_enough, "{} agents would do: {plan:?}", fewer);
        }

        #[test]
        fn schedule_covers_the_seats_after_shrinkage(req in ordinary_request()) {
            let e = estimate(&req).unwrap();
            prop_assert!(e.seats_to_schedule >= e.seats_needed);
            let available = 1.0 - req.shrinkage_percent.unwrap_or(0.0) / 100.0;
            prop_assert!(f64::from(e.seats_to_schedule) * available >= f64::from(e.seats_needed) - 1e-6);
            prop_assert!(f64::from(e.seats_to_schedule - 1) * available < f64::from(e.seats_needed));
        }

        #[test]
        fn predictions_surround_the_count_and_report_it_under_the_cap(req in ordinary_request()) {
            let e = estimate(&req).unwrap();
            let at = prediction(&e, e.seats_needed);
            prop_assert!(at.service_level_percent >= (req.target_percent * 100.0).floor() / 100.0);
            if let Some(cap) = req.max_occupancy {
                prop_assert!(at.occupancy_percent <= cap + 0.005);
            }
            for p in &e.predictions {
                prop_assert!(p.agents + 2 >= e.seats_needed && p.agents <= e.seats_needed + 2);
                prop_assert!(f64::from(p.agents) > e.traffic_erlangs - 0.005);
            }
            prop_assert!(e.predictions.windows(2).all(|w| w[0].agents + 1 == w[1].agents));
        }
    }

    proptest! {
        // Each case may walk ten million steps of the recurrence in an unoptimised build.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn any_valid_request_gets_finite_figures_or_a_size_refusal(req in any_valid_request()) {
            match estimate(&req) {
                Ok(e) => {
                    prop_assert!(finite(&e), "{e:?}");
                    prop_assert!(!e.predictions.is_empty());
                    prop_assert!(e.seats_to_schedule >= e.seats_needed);
                }
                Err(errors) => {
                    // Only the documented refusals: a count that does not fit in a u32.
                    prop_assert!(errors.iter().all(|(field, invalid)| {
                        matches!(*field, "max_occupancy" | "shrinkage_percent")
                            && invalid.code == "out_of_range"
                    }), "{errors:?}");
                }
            }
        }
    }
}
