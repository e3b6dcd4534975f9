//! The seat rules: the commented TOML files in `seat-rules/`, loaded and validated together
//! into one immutable [`Ruleset`].
//!
//! An admin edits these files by hand, so a mistake must be easy to find and fix in one go:
//! every problem is reported with its file, line and reason, and the loader keeps going after
//! the first one. The unit of recovery is one table: a syntax error stops its file, a wrong
//! type or unknown key stops its `[[skill]]` (or `[[period]]`, ...) table, and every rule
//! (ranges, ordering, overlaps, references) is checked on everything that parsed.
//!
//! The version is a hash of the files' contents, so that a booking or payroll run can record
//! exactly which rules priced it, and the same files give the same version on every machine.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::value::Datetime;

pub const MARKET_FILE: &str = "market.toml";
pub const SKILLS_FILE: &str = "skills.toml";
pub const PERIODS_FILE: &str = "periods.toml";
pub const PRICING_FILE: &str = "pricing.toml";
pub const CANCELLATION_FILE: &str = "cancellation.toml";
pub const SHIFTS_FILE: &str = "shifts.toml";
pub const CHAT_FILE: &str = "chat.toml";
pub const PAY_FILE: &str = "pay.toml";
pub const QUALITY_FILE: &str = "quality.toml";
pub const LEVELS_FILE: &str = "levels.toml";
pub const SCORECARDS_FILE: &str = "scorecards.toml";
pub const CHURN_FILE: &str = "churn.toml";
pub const AT_RISK_FILE: &str = "at_risk.toml";

/// Every file of a ruleset, sorted by name: the order in which they are hashed.
pub const RULE_FILES: [&str; 13] = [
    AT_RISK_FILE,
    CANCELLATION_FILE,
    CHAT_FILE,
    CHURN_FILE,
    LEVELS_FILE,
    MARKET_FILE,
    PAY_FILE,
    PERIODS_FILE,
    PRICING_FILE,
    QUALITY_FILE,
    SCORECARDS_FILE,
    SHIFTS_FILE,
    SKILLS_FILE,
];

/// Where `cloudseat rules check` looks when no folder is given.
pub const DEFAULT_DIR: &str = "./seat-rules";

/// `booking_opens_days_before` of a period that does not set it.
pub const DEFAULT_BOOKING_OPENS_DAYS_BEFORE: u32 = 60;
/// `priority_days` of a period that does not set it.
pub const DEFAULT_PRIORITY_DAYS: u32 = 14;

/// Basis points in 1.0x / 100%.
pub const FULL_BP: u32 = 10_000;
/// The largest multiplier accepted (10.0x): anything above is almost surely a typo.
const MAX_MULTIPLIER_BP: i64 = 100_000;
/// The furthest ahead (in days) any rule may reach, which keeps every derived date valid.
const MAX_DAYS: i64 = 3_650;
const MAX_ID_LEN: usize = 64;

/// The validated contents of `seat-rules/`. Outside tests it comes from [`load_dir`], so
/// holding one means every rule documented below has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// "sha256:" + first 16 hex chars of SHA-256 over every rule file (relative path + NUL +
    /// contents), sorted by path.
    pub version: String,
    pub market: Market,
    /// In file order, which is the order shown to merchants.
    pub skills: Vec<Skill>,
    /// Sorted by start; they never overlap.
    pub periods: Vec<PeakPeriod>,
    pub pricing: Pricing,
    pub cancellation: CancellationPolicy,
    pub shifts: ShiftRules,
    pub chat: ChatRules,
    pub pay: crate::payroll::plan::PayPlan,
    pub quality: crate::quality::rules::QualityRules,
    pub levels: crate::quality::levels::Levels,
    pub scorecards: crate::quality::scorecards::Scorecards,
    pub churn: crate::analytics::rules::ChurnRules,
    pub at_risk: crate::analytics::at_risk::AtRiskRules,
}

impl Ruleset {
    pub fn skill(&self, id: &str) -> Option<&Skill> {
        self.skills.iter().find(|s| s.id == id)
    }

    /// A skill's name in `locale`; its id if the rules no longer list it (old records).
    pub fn skill_name(&self, id: &str, locale: crate::accounts::model::Locale) -> String {
        self.skill(id)
            .map(|s| s.name(locale).to_owned())
            .unwrap_or_else(|| id.to_owned())
    }

    /// Every skill as (id, name in `locale`), in file order: for pickers and filters.
    pub fn skill_names(&self, locale: crate::accounts::model::Locale) -> Vec<(String, String)> {
        self.skills
            .iter()
            .map(|s| (s.id.clone(), s.name(locale).to_owned()))
            .collect()
    }

    /// The peak period a local date falls in; `None` means off-peak.
    pub fn period_on(&self, d: NaiveDate) -> Option<&PeakPeriod> {
        self.periods.iter().find(|p| p.contains(d))
    }

    pub fn period(&self, id: &str) -> Option<&PeakPeriod> {
        self.periods.iter().find(|p| p.id == id)
    }
}

/// When and how much can be booked, from `market.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    /// Zone in which period dates and daily hours are meant (Asia/Shanghai).
    pub time_zone: Tz,
    /// First bookable local hour, e.g. 8.
    pub bookable_start_hour: u8,
    /// End (exclusive, may be 24), e.g. 24.
    pub bookable_end_hour: u8,
    /// Shift granularity: bookings' daily hours align to blocks counted from
    /// `bookable_start_hour`; `(end - start) % block == 0`.
    pub block_hours: u8,
    /// How long an unconfirmed hold lasts (e.g. 15).
    pub hold_minutes: u32,
    /// Minimum booking size in seats (e.g. 1).
    pub min_seats: u32,
    /// E.g. 500.
    pub max_seats_per_booking: u32,
    /// How far ahead dates outside any peak can be booked (e.g. 90).
    pub off_peak_opens_days: u32,
    /// Price multiplier outside peaks in basis points, 10000 = 1.0x.
    pub off_peak_multiplier_bp: u32,
}

/// A skill merchants book seats for, from `skills.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// Slug `[a-z0-9_-]`, stored in bookings.
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    /// Inventory sold per hour; at least 1.
    pub seats_per_hour: u32,
    /// Base price of one seat for one hour, > 0, in fen.
    pub price_per_seat_hour_fen: i64,
    /// What an agent earns for an hour of this skill at quality multiplier 1.0, in fen;
    /// never more than the seat price, so the platform never pays more than it charges.
    pub agent_hourly_fen: i64,
}

impl Skill {
    pub fn name(&self, locale: crate::accounts::model::Locale) -> &str {
        match locale {
            crate::accounts::model::Locale::ZhCn => &self.name_zh,
            crate::accounts::model::Locale::En => &self.name_en,
        }
    }
}

/// How agents claim, leave and attend shifts, from `shifts.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftRules {
    /// Hours after a booking is confirmed during which only agents with early access (who
    /// served the merchant's previous booking, or whose level grants it) may claim.
    pub early_access_hours: u32,
    pub max_hours_per_day: u32,
    pub max_hours_per_week: u32,
    pub min_rest_hours: u32,
    /// Releasing at least this many hours before the start is free; later is "late".
    pub free_release_hours: u32,
    /// Check-in opens this many minutes before the start.
    pub check_in_opens_minutes: u32,
    /// A claimed shift not checked in this many minutes after its start is a no-show.
    pub no_show_grace_minutes: u32,
    /// Swaps close this many hours before the start.
    pub swap_cutoff_hours: u32,
    /// Reminder mail this many hours before the start.
    pub reminder_hours: u32,
    /// Added to the pay of a shift reopened after a no-show, in fen.
    pub urgent_bonus_fen: i64,
}

/// The values the shipped `shifts.toml` states, for tests and examples.
impl Default for ShiftRules {
    fn default() -> Self {
        ShiftRules {
            early_access_hours: 24,
            max_hours_per_day: 10,
            max_hours_per_week: 48,
            min_rest_hours: 8,
            free_release_hours: 24,
            check_in_opens_minutes: 30,
            no_show_grace_minutes: 10,
            swap_cutoff_hours: 2,
            reminder_hours: 2,
            urgent_bonus_fen: 3000,
        }
    }
}

impl ShiftRules {
    pub fn claim_limits(&self) -> crate::shifts::claim::Limits {
        crate::shifts::claim::Limits {
            max_hours_per_day: self.max_hours_per_day,
            max_hours_per_week: self.max_hours_per_week,
            min_rest_hours: self.min_rest_hours,
            early_access_hours: self.early_access_hours,
        }
    }
}

/// How live chats are routed and timed, from `chat.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatRules {
    /// An unanswered offer expires after this long and goes to the next agent.
    pub offer_timeout_secs: u32,
    /// An accepted chat without a first agent reply for this long is taken back.
    pub first_reply_limit_secs: u32,
    /// The first-response target (countdown and service level).
    pub first_response_target_secs: u32,
    /// How long a disconnected agent keeps their chats.
    pub offline_grace_secs: u32,
    /// A customer returns to their last agent within this many days; 0 is off.
    pub sticky_days: u32,
    /// The cap of concurrent chats on a shift.
    pub shift_max_concurrent_chats: u32,
    pub idle_warning_minutes: u32,
    pub idle_close_minutes: u32,
    pub max_message_chars: u32,
    pub messages_per_minute: u32,
    pub message_burst: u32,
    /// Each agent level's cap on concurrent chats (`levels.toml`), carried here so the
    /// router has every limit it applies in one value.
    pub level_chat_caps: crate::quality::levels::ChatCaps,
}

/// The values the shipped `chat.toml` states, for tests and examples.
impl Default for ChatRules {
    fn default() -> Self {
        ChatRules {
            offer_timeout_secs: 20,
            first_reply_limit_secs: 60,
            first_response_target_secs: 30,
            offline_grace_secs: 60,
            sticky_days: 7,
            shift_max_concurrent_chats: 5,
            idle_warning_minutes: 10,
            idle_close_minutes: 5,
            max_message_chars: 4000,
            messages_per_minute: 60,
            message_burst: 10,
            level_chat_caps: Default::default(),
        }
    }
}

impl ChatRules {
    pub fn routing(&self) -> crate::chat::routing::RoutingRules {
        crate::chat::routing::RoutingRules {
            sticky_days: self.sticky_days,
        }
    }
}

/// A named peak with its own multiplier and booking dates, from `periods.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeakPeriod {
    /// Slug `[a-z0-9_-]`, stored in bookings.
    pub id: String,
    pub name_en: String,
    pub name_zh: String,
    /// First day, inclusive, local date.
    pub start: NaiveDate,
    /// Last day, inclusive, local date.
    pub end: NaiveDate,
    /// E.g. 15000 = 1.5x; > 0.
    pub multiplier_bp: u32,
    /// Booking opens this many days before `start` (default 60).
    pub booking_opens_days_before: u32,
    /// Renewal window: merchants who booked `renews` may book this many days before the open
    /// date (default 14).
    pub priority_days: u32,
    /// Id of the previous edition of this peak (exists and ends before this one starts).
    pub renews: Option<String>,
}

impl PeakPeriod {
    /// The first local date on which anyone may book this period.
    pub fn opens_on(&self) -> NaiveDate {
        days_before(self.start, self.booking_opens_days_before)
    }

    /// The first local date on which merchants who booked `renews` may book. Without
    /// `renews` nobody has priority and this is [`opens_on`](Self::opens_on).
    pub fn priority_opens_on(&self) -> NaiveDate {
        if self.renews.is_none() {
            return self.opens_on();
        }
        days_before(self.opens_on(), self.priority_days)
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }
}

fn days_before(d: NaiveDate, days: u32) -> NaiveDate {
    // Validated rules stay far from the calendar's ends; a hand-built period saturates.
    d.checked_sub_days(Days::new(days.into()))
        .unwrap_or(NaiveDate::MIN)
}

/// Discounts, from `pricing.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing {
    /// Sorted ascending by `min_seat_hours`, discounts strictly increasing, each < 10000.
    pub volume_tiers: Vec<VolumeTier>,
    pub early_bird: Option<EarlyBird>,
}

/// A booking of at least `min_seat_hours` seat-hours gets `discount_bp` off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeTier {
    pub min_seat_hours: u64,
    pub discount_bp: u32,
}

/// A booking confirmed at least `min_days_before_start` days ahead gets `discount_bp` off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyBird {
    pub min_days_before_start: u32,
    pub discount_bp: u32,
}

/// Refunds by how early a booking is cancelled, from `cancellation.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationPolicy {
    /// Sorted by `min_days_before_start` descending; the last one is the 0-day step and
    /// refunds never grow as the start gets closer.
    pub steps: Vec<RefundStep>,
}

impl CancellationPolicy {
    /// The refund share for cancelling `days_before_start` days before the first day: the step
    /// with the largest `min_days_before_start` ≤ the days. Negative days (cancelling after
    /// the booking started) get the 0-day step.
    pub fn refund_bp(&self, days_before_start: i64) -> u32 {
        let days = days_before_start.max(0);
        self.steps
            .iter()
            .filter(|s| i64::from(s.min_days_before_start) <= days)
            .max_by_key(|s| s.min_days_before_start)
            .map_or(0, |s| s.refund_bp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundStep {
    pub min_days_before_start: u32,
    /// ≤ 10000.
    pub refund_bp: u32,
}

/// One problem in the rule files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is the file as a whole.
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

impl std::error::Error for RuleError {}

/// Every problem found, sorted by file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesErrors(pub Vec<RuleError>);

impl fmt::Display for RulesErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RulesErrors {}

/// Reads and validates every rule file in `dir`, reporting all problems found.
pub fn load_dir(dir: &Path) -> Result<Ruleset, RulesErrors> {
    if !dir.is_dir() {
        return Err(RulesErrors(vec![RuleError {
            file: dir.to_owned(),
            line: None,
            reason: format!(
                "not a folder; expected the seat rules folder with {}",
                RULE_FILES.join(", ")
            ),
        }]));
    }
    let mut errors = Vec::new();
    let mut hasher = Sha256::new();
    let mut files = HashMap::new();
    for name in RULE_FILES {
        let path = dir.join(name);
        let whole_file = |reason: String| RuleError {
            file: path.clone(),
            line: None,
            reason,
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                hasher.update(&bytes);
                match String::from_utf8(bytes) {
                    Ok(text) => {
                        files.insert(name, RuleFile::new(path, text));
                    }
                    Err(e) => errors.push(whole_file(format!("not UTF-8 text: {e}"))),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                errors.push(whole_file("missing file".to_owned()));
            }
            Err(e) => errors.push(whole_file(format!("cannot read: {e}"))),
        }
    }

    let market = load_file(&files, &mut errors, MARKET_FILE, load_market);
    let skills = load_file(&files, &mut errors, SKILLS_FILE, load_skills);
    let periods = load_file(&files, &mut errors, PERIODS_FILE, load_periods);
    let pricing = load_file(&files, &mut errors, PRICING_FILE, load_pricing);
    let cancellation = load_file(&files, &mut errors, CANCELLATION_FILE, load_cancellation);
    let shifts = load_file(&files, &mut errors, SHIFTS_FILE, load_shifts);
    let chat = load_file(&files, &mut errors, CHAT_FILE, load_chat);
    let pay = load_file(&files, &mut errors, PAY_FILE, crate::payroll::plan::load);
    let quality = load_file(
        &files,
        &mut errors,
        QUALITY_FILE,
        crate::quality::rules::load,
    );
    let levels = load_file(
        &files,
        &mut errors,
        LEVELS_FILE,
        crate::quality::levels::load,
    );
    let scorecards = load_file(&files, &mut errors, SCORECARDS_FILE, |r| {
        crate::quality::scorecards::load(r, skills.as_deref())
    });
    let churn = load_file(
        &files,
        &mut errors,
        CHURN_FILE,
        crate::analytics::rules::load,
    );
    let at_risk = load_file(
        &files,
        &mut errors,
        AT_RISK_FILE,
        crate::analytics::at_risk::load,
    );

    if let (
        Some(market),
        Some(skills),
        Some(periods),
        Some(pricing),
        Some(cancellation),
        Some(shifts),
        Some(mut chat),
        Some(pay),
        Some(quality),
        Some(levels),
        Some(scorecards),
        Some(churn),
        Some(at_risk),
    ) = (
        market,
        skills,
        periods,
        pricing,
        cancellation,
        shifts,
        chat,
        pay,
        quality,
        levels,
        scorecards,
        churn,
        at_risk,
    ) && errors.is_empty()
    {
        let digest = hex::encode(hasher.finalize());
        chat.level_chat_caps = crate::quality::levels::ChatCaps::of(&levels);
        return Ok(Ruleset {
            version: format!("sha256:{}", &digest[..16]),
            market,
            skills,
            periods,
            pricing,
            cancellation,
            shifts,
            chat,
            pay,
            quality,
            levels,
            scorecards,
            churn,
            at_risk,
        });
    }
    errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Err(RulesErrors(errors))
}

/// Runs one file's loader; what it built counts only when nothing in the file was wrong.
fn load_file<T>(
    files: &HashMap<&str, RuleFile>,
    errors: &mut Vec<RuleError>,
    name: &str,
    load: impl FnOnce(&mut Report<'_>) -> Option<T>,
) -> Option<T> {
    let file = files.get(name)?;
    let mut report = Report::new(file, errors);
    let built = load(&mut report);
    if report.clean() { built } else { None }
}

/// A rule file's text and where its lines start, to turn byte offsets into line numbers.
struct RuleFile {
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl RuleFile {
    fn new(path: PathBuf, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        RuleFile {
            path,
            text,
            line_starts,
        }
    }

    /// The 1-based line holding the byte at `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }
}

/// Collects the problems of one file.
pub(crate) struct Report<'a> {
    file: &'a RuleFile,
    errors: &'a mut Vec<RuleError>,
    before: usize,
}

impl<'a> Report<'a> {
    fn new(file: &'a RuleFile, errors: &'a mut Vec<RuleError>) -> Self {
        let before = errors.len();
        Report {
            file,
            errors,
            before,
        }
    }

    /// Nothing reported for this file so far.
    pub(crate) fn clean(&self) -> bool {
        self.errors.len() == self.before
    }

    pub(crate) fn push(&mut self, span: Option<Range<usize>>, reason: impl Into<String>) {
        self.errors.push(RuleError {
            file: self.file.path.clone(),
            line: span.map(|s| self.file.line_of(s.start)),
            reason: reason.into(),
        });
    }

    pub(crate) fn at(&mut self, span: Range<usize>, reason: impl Into<String>) {
        self.push(Some(span), reason);
    }

    pub(crate) fn toml(&mut self, err: &toml::de::Error) {
        // Admins write "whole numbers", not Rust types.
        let reason = err
            .message()
            .trim_end()
            .replace("expected i64", "expected a whole number");
        self.push(err.span(), reason);
    }

    /// The file as a top-level table, or `None` after reporting every syntax error.
    pub(crate) fn document(&mut self) -> Option<Spanned<DeTable<'a>>> {
        let file: &'a RuleFile = self.file;
        let (doc, syntax_errors) = DeTable::parse_recoverable(&file.text);
        for e in &syntax_errors {
            self.toml(e);
        }
        syntax_errors.is_empty().then_some(doc)
    }

    pub(crate) fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'a>>) -> Option<T> {
        T::deserialize(ValueDeserializer::from(value))
            .map_err(|e| self.toml(&e))
            .ok()
    }

    /// Splits a document into its known top-level keys, reporting any other key.
    pub(crate) fn sections(
        &mut self,
        doc: Spanned<DeTable<'a>>,
        known: &[&str],
    ) -> BTreeMap<String, Spanned<DeValue<'a>>> {
        let mut sections = BTreeMap::new();
        for (key, value) in doc.into_inner() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                sections.insert(name.to_owned(), value);
            } else {
                let expected = known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.at(
                    key.span(),
                    format!("unknown key `{}`, expected {expected}", key.get_ref()),
                );
            }
        }
        sections
    }

    /// The tables of a `[[key]]` list, each parsed on its own so that one bad table does not
    /// hide the problems of the next.
    pub(crate) fn tables<T: DeserializeOwned>(
        &mut self,
        key: &str,
        value: Option<Spanned<DeValue<'a>>>,
    ) -> Vec<Spanned<T>> {
        let Some(value) = value else {
            return Vec::new();
        };
        let span = value.span();
        match value.into_inner() {
            DeValue::Array(items) => items.into_iter().filter_map(|v| self.de(v)).collect(),
            _ => {
                self.at(span, format!("`{key}` must be a list of [[{key}]] tables"));
                Vec::new()
            }
        }
    }

    /// An integer within `min..=max`, converted to its field's type.
    pub(crate) fn int<T: TryFrom<i64>>(
        &mut self,
        label: &str,
        value: &Spanned<i64>,
        min: i64,
        max: i64,
    ) -> Option<T> {
        let v = *value.get_ref();
        let problem = if v < min {
            Some(match min {
                0 => format!("{label} must not be negative (got {v})"),
                1 => format!("{label} must be above 0 (got {v})"),
                _ => format!("{label} must be at least {min} (got {v})"),
            })
        } else if v > max {
            Some(format!("{label} must be at most {max} (got {v})"))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.at(value.span(), problem);
            return None;
        }
        let converted = T::try_from(v).ok();
        if converted.is_none() {
            self.at(value.span(), format!("{label} is out of range (got {v})"));
        }
        converted
    }

    /// A share in basis points that must stay below 100%.
    pub(crate) fn discount(&mut self, label: &str, value: &Spanned<i64>) -> Option<u32> {
        let v = *value.get_ref();
        if v >= i64::from(FULL_BP) {
            self.at(
                value.span(),
                format!("{label} must be below 10000 (100%) (got {v})"),
            );
            return None;
        }
        self.int(label, value, 0, i64::from(FULL_BP) - 1)
    }

    pub(crate) fn slug(&mut self, label: &str, value: &Spanned<String>) -> Option<String> {
        let id = value.get_ref();
        let valid = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            self.at(
                value.span(),
                format!(
                    "{label} `{id}` must be 1 to {MAX_ID_LEN} lowercase letters, digits, '_' or '-'"
                ),
            );
            return None;
        }
        Some(id.clone())
    }

    pub(crate) fn text(&mut self, label: &str, value: &Spanned<String>) -> Option<String> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            self.at(value.span(), format!("{label} must not be empty"));
            return None;
        }
        Some(text.to_owned())
    }

    pub(crate) fn date(&mut self, label: &str, value: &Spanned<Datetime>) -> Option<NaiveDate> {
        let dt = value.get_ref();
        let date = match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
            }
            _ => None,
        };
        if date.is_none() {
            self.at(
                value.span(),
                format!("{label} must be a plain date like 2026-12-01, without time (got {dt})"),
            );
        }
        date
    }
}

// ----- market.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMarket {
    time_zone: Spanned<String>,
    bookable_start_hour: Spanned<i64>,
    bookable_end_hour: Spanned<i64>,
    block_hours: Spanned<i64>,
    hold_minutes: Spanned<i64>,
    min_seats: Spanned<i64>,
    max_seats_per_booking: Spanned<i64>,
    off_peak_opens_days: Spanned<i64>,
    off_peak_multiplier_bp: Spanned<i64>,
}

fn load_market(r: &mut Report<'_>) -> Option<Market> {
    let doc = r.document()?;
    let span = doc.span();
    let raw: RawMarket = r.de(Spanned::new(span, DeValue::Table(doc.into_inner())))?;

    let time_zone = match raw.time_zone.get_ref().parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            r.at(
                raw.time_zone.span(),
                format!(
                    "unknown time zone `{}`; use an IANA name such as Asia/Shanghai",
                    raw.time_zone.get_ref()
                ),
            );
            None
        }
    };
    let start: Option<u8> = r.int("`bookable_start_hour`", &raw.bookable_start_hour, 0, 24);
    let end: Option<u8> = r.int("`bookable_end_hour`", &raw.bookable_end_hour, 0, 24);
    let block: Option<u8> = r.int("`block_hours`", &raw.block_hours, 1, 24);
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        r.at(
            raw.bookable_end_hour.span(),
            format!("`bookable_end_hour` ({e}) must be later than `bookable_start_hour` ({s})"),
        );
    } else if let (Some(s), Some(e), Some(b)) = (start, end, block)
        && (e - s) % b != 0
    {
        r.at(
            raw.block_hours.span(),
            format!(
                "`block_hours` ({b}) must divide the bookable window of {} hours ({s}:00 to {e}:00)",
                e - s
            ),
        );
    }
    let hold_minutes = r.int("`hold_minutes`", &raw.hold_minutes, 1, 24 * 60);
    let min_seats: Option<u32> = r.int("`min_seats`", &raw.min_seats, 1, u32::MAX.into());
    let max_seats: Option<u32> = r.int(
        "`max_seats_per_booking`",
        &raw.max_seats_per_booking,
        1,
        u32::MAX.into(),
    );
    if let (Some(min), Some(max)) = (min_seats, max_seats)
        && max < min
    {
        r.at(
            raw.max_seats_per_booking.span(),
            format!("`max_seats_per_booking` ({max}) must be at least `min_seats` ({min})"),
        );
    }
    let off_peak_opens_days = r.int(
        "`off_peak_opens_days`",
        &raw.off_peak_opens_days,
        1,
        MAX_DAYS,
    );
    let off_peak_multiplier_bp = r.int(
        "`off_peak_multiplier_bp`",
        &raw.off_peak_multiplier_bp,
        1,
        MAX_MULTIPLIER_BP,
    );
    Some(Market {
        time_zone: time_zone?,
        bookable_start_hour: start?,
        bookable_end_hour: end?,
        block_hours: block?,
        hold_minutes: hold_minutes?,
        min_seats: min_seats?,
        max_seats_per_booking: max_seats?,
        off_peak_opens_days: off_peak_opens_days?,
        off_peak_multiplier_bp: off_peak_multiplier_bp?,
    })
}

// ----- skills.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkill {
    id: Spanned<String>,
    name_en: Spanned<String>,
    name_zh: Spanned<String>,
    seats_per_hour: Spanned<i64>,
    price_per_seat_hour_fen: Spanned<i64>,
    agent_hourly_fen: Spanned<i64>,
}

fn load_skills(r: &mut Report<'_>) -> Option<Vec<Skill>> {
    let doc = r.document()?;
    let mut sections = r.sections(doc, &["skill"]);
    let raw: Vec<Spanned<RawSkill>> = r.tables("skill", sections.remove("skill"));
    if raw.is_empty() && r.clean() {
        r.push(None, "no skills: add at least one [[skill]] table");
    }
    let mut skills = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for item in &raw {
        let s = item.get_ref();
        let id = r.slug("skill id", &s.id);
        let label = format!("skill `{}`:", s.id.get_ref());
        if let Some(id) = &id {
            let line = r.file.line_of(s.id.span().start);
            if let Some(first) = first_line.get(id) {
                r.at(
                    s.id.span(),
                    format!("duplicate skill id `{id}` (first on line {first})"),
                );
            } else {
                first_line.insert(id.clone(), line);
            }
        }
        let name_en = r.text(&format!("{label} `name_en`"), &s.name_en);
        let name_zh = r.text(&format!("{label} `name_zh`"), &s.name_zh);
        let seats_per_hour = r.int(
            &format!("{label} `seats_per_hour`"),
            &s.seats_per_hour,
            1,
            u32::MAX.into(),
        );
        let price = r.int(
            &format!("{label} `price_per_seat_hour_fen`"),
            &s.price_per_seat_hour_fen,
            1,
            i64::MAX,
        );
        let agent_hourly = r.int(
            &format!("{label} `agent_hourly_fen`"),
            &s.agent_hourly_fen,
            1,
            i64::MAX,
        );
        if let (Some(price), Some(pay)) = (price, agent_hourly)
            && pay > price
        {
            r.at(
                s.agent_hourly_fen.span(),
                format!(
                    "{label} `agent_hourly_fen` ({pay}) must not exceed \
                     `price_per_seat_hour_fen` ({price}): agents would cost more than the seat"
                ),
            );
        }
        if let (
            Some(id),
            Some(name_en),
            Some(name_zh),
            Some(seats_per_hour),
            Some(price),
            Some(agent_hourly_fen),
        ) = (id, name_en, name_zh, seats_per_hour, price, agent_hourly)
            && agent_hourly_fen <= price
        {
            skills.push(Skill {
                id,
                name_en,
                name_zh,
                seats_per_hour,
                price_per_seat_hour_fen: price,
                agent_hourly_fen,
            });
        }
    }
    Some(skills)
}

// ----- shifts.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShifts {
    early_access_hours: Spanned<i64>,
    max_hours_per_day: Spanned<i64>,
    max_hours_per_week: Spanned<i64>,
    min_rest_hours: Spanned<i64>,
    free_release_hours: Spanned<i64>,
    check_in_opens_minutes: Spanned<i64>,
    no_show_grace_minutes: Spanned<i64>,
    swap_cutoff_hours: Spanned<i64>,
    reminder_hours: Spanned<i64>,
    urgent_bonus_fen: Spanned<i64>,
}

fn load_shifts(r: &mut Report<'_>) -> Option<ShiftRules> {
    let doc = r.document()?;
    let span = doc.span();
    let raw: RawShifts = r.de(Spanned::new(span, DeValue::Table(doc.into_inner())))?;
    let early_access_hours = r.int("`early_access_hours`", &raw.early_access_hours, 0, 24 * 14);
    let per_day: Option<u32> = r.int("`max_hours_per_day`", &raw.max_hours_per_day, 1, 24);
    let per_week: Option<u32> = r.int("`max_hours_per_week`", &raw.max_hours_per_week, 1, 168);
    if let (Some(day), Some(week)) = (per_day, per_week)
        && week < day
    {
        r.at(
            raw.max_hours_per_week.span(),
            format!("`max_hours_per_week` ({week}) must be at least `max_hours_per_day` ({day})"),
        );
    }
    let min_rest_hours = r.int("`min_rest_hours`", &raw.min_rest_hours, 0, 23);
    let free_release_hours = r.int("`free_release_hours`", &raw.free_release_hours, 0, 24 * 30);
    let check_in_opens_minutes = r.int(
        "`check_in_opens_minutes`",
        &raw.check_in_opens_minutes,
        0,
        240,
    );
    let no_show_grace_minutes = r.int(
        "`no_show_grace_minutes`",
        &raw.no_show_grace_minutes,
        1,
        120,
    );
    let swap_cutoff_hours = r.int("`swap_cutoff_hours`", &raw.swap_cutoff_hours, 0, 24 * 7);
    let reminder_hours = r.int("`reminder_hours`", &raw.reminder_hours, 1, 48);
    let urgent_bonus_fen = r.int("`urgent_bonus_fen`", &raw.urgent_bonus_fen, 0, 1_000_000);
    Some(ShiftRules {
        early_access_hours: early_access_hours?,
        max_hours_per_day: per_day?,
        max_hours_per_week: per_week?,
        min_rest_hours: min_rest_hours?,
        free_release_hours: free_release_hours?,
        check_in_opens_minutes: check_in_opens_minutes?,
        no_show_grace_minutes: no_show_grace_minutes?,
        swap_cutoff_hours: swap_cutoff_hours?,
        reminder_hours: reminder_hours?,
        urgent_bonus_fen: urgent_bonus_fen?,
    })
}

// ----- chat.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChat {
    offer_timeout_secs: Spanned<i64>,
    first_reply_limit_secs: Spanned<i64>,
    first_response_target_secs: Spanned<i64>,
    offline_grace_secs: Spanned<i64>,
    sticky_days: Spanned<i64>,
    shift_max_concurrent_chats: Spanned<i64>,
    idle_warning_minutes: Spanned<i64>,
    idle_close_minutes: Spanned<i64>,
    max_message_chars: Spanned<i64>,
    messages_per_minute: Spanned<i64>,
    message_burst: Spanned<i64>,
}

fn load_chat(r: &mut Report<'_>) -> Option<ChatRules> {
    let doc = r.document()?;
    let span = doc.span();
    let raw: RawChat = r.de(Spanned::new(span, DeValue::Table(doc.into_inner())))?;
    let offer_timeout_secs = r.int("`offer_timeout_secs`", &raw.offer_timeout_secs, 5, 300);
    let first_reply_limit_secs: Option<u32> = r.int(
        "`first_reply_limit_secs`",
        &raw.first_reply_limit_secs,
        10,
        600,
    );
    let target: Option<u32> = r.int(
        "`first_response_target_secs`",
        &raw.first_response_target_secs,
        1,
        600,
    );
    if let (Some(limit), Some(target)) = (first_reply_limit_secs, target)
        && target > limit
    {
        r.at(
            raw.first_response_target_secs.span(),
            format!(
                "`first_response_target_secs` ({target}) must be at most `first_reply_limit_secs` ({limit})"
            ),
        );
    }
    let offline_grace_secs = r.int("`offline_grace_secs`", &raw.offline_grace_secs, 5, 600);
    let sticky_days = r.int("`sticky_days`", &raw.sticky_days, 0, 90);
    let shift_max_concurrent_chats = r.int(
        "`shift_max_concurrent_chats`",
        &raw.shift_max_concurrent_chats,
        1,
        20,
    );
    let idle_warning_minutes = r.int("`idle_warning_minutes`", &raw.idle_warning_minutes, 1, 120);
    let idle_close_minutes = r.int("`idle_close_minutes`", &raw.idle_close_minutes, 1, 120);
    let max_message_chars = r.int("`max_message_chars`", &raw.max_message_chars, 1, 20_000);
    let messages_per_minute = r.int("`messages_per_minute`", &raw.messages_per_minute, 1, 600);
    let message_burst = r.int("`message_burst`", &raw.message_burst, 1, 100);
    Some(ChatRules {
        offer_timeout_secs: offer_timeout_secs?,
        first_reply_limit_secs: first_reply_limit_secs?,
        first_response_target_secs: target?,
        offline_grace_secs: offline_grace_secs?,
        sticky_days: sticky_days?,
        shift_max_concurrent_chats: shift_max_concurrent_chats?,
        idle_warning_minutes: idle_warning_minutes?,
        idle_close_minutes: idle_close_minutes?,
        max_message_chars: max_message_chars?,
        messages_per_minute: messages_per_minute?,
        message_burst: message_burst?,
        // Set from levels.toml once that is loaded too (see `load_dir`).
        level_chat_caps: Default::default(),
    })
}

// ----- periods.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    id: Spanned<String>,
    name_en: Spanned<String>,
    name_zh: Spanned<String>,
    start: Spanned<Datetime>,
    end: Spanned<Datetime>,
    multiplier_bp: Spanned<i64>,
    booking_opens_days_before: Option<Spanned<i64>>,
    priority_days: Option<Spanned<i64>>,
    renews: Option<Spanned<String>>,
}

fn load_periods(r: &mut Report<'_>) -> Option<Vec<PeakPeriod>> {
    let doc = r.document()?;
    let mut sections = r.sections(doc, &["period"]);
    // Every id written in the file, read before parsing: a `renews` naming a period whose
    // table is broken is that table's problem (already reported), not a dangling reference.
    let written_ids: Vec<String> = match sections.get("period").map(|v| v.get_ref()) {
        Some(DeValue::Array(items)) => items
            .iter()
            .filter_map(|item| item.get_ref().get("id")?.get_ref().as_str())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let raw: Vec<Spanned<RawPeriod>> = r.tables("period", sections.remove("period"));

    // Each valid period with the raw table it came from, for error positions.
    let mut built: Vec<(PeakPeriod, &RawPeriod)> = Vec::new();
    for item in &raw {
        let p = item.get_ref();
        let id = r.slug("period id", &p.id);
        let label = format!("period `{}`:", p.id.get_ref());
        let name_en = r.text(&format!("{label} `name_en`"), &p.name_en);
        let name_zh = r.text(&format!("{label} `name_zh`"), &p.name_zh);
        let start = r.date(&format!("{label} `start`"), &p.start);
        let end = r.date(&format!("{label} `end`"), &p.end);
        let dates = match (start, end) {
            (Some(s), Some(e)) if e < s => {
                r.at(
                    p.end.span(),
                    format!("{label} `end` ({e}) is before `start` ({s})"),
                );
                None
            }
            (Some(s), Some(e)) => Some((s, e)),
            _ => None,
        };
        let multiplier_bp = r.int(
            &format!("{label} `multiplier_bp`"),
            &p.multiplier_bp,
            1,
            MAX_MULTIPLIER_BP,
        );
        let opens = match &p.booking_opens_days_before {
            Some(v) => r.int(
                &format!("{label} `booking_opens_days_before`"),
                v,
                0,
                MAX_DAYS,
            ),
            None => Some(DEFAULT_BOOKING_OPENS_DAYS_BEFORE),
        };
        let priority = match &p.priority_days {
            Some(v) => r.int(&format!("{label} `priority_days`"), v, 0, MAX_DAYS),
            None => Some(DEFAULT_PRIORITY_DAYS),
        };
        let renews = match &p.renews {
            Some(v) => r.slug(&format!("{label} `renews`"), v).map(Some),
            None => Some(None),
        };
        if let (
            Some(id),
            Some(name_en),
            Some(name_zh),
            Some((start, end)),
            Some(multiplier_bp),
            Some(booking_opens_days_before),
            Some(priority_days),
            Some(renews),
        ) = (
            id,
            name_en,
            name_zh,
            dates,
            multiplier_bp,
            opens,
            priority,
            renews,
        ) {
            built.push((
                PeakPeriod {
                    id,
                    name_en,
                    name_zh,
                    start,
                    end,
                    multiplier_bp,
                    booking_opens_days_before,
                    priority_days,
                    renews,
                },
                p,
            ));
        }
    }

    for (j, (b, raw_b)) in built.iter().enumerate() {
        let earlier = &built[..j];
        if let Some((_, raw_a)) = earlier.iter().find(|(a, _)| a.id == b.id) {
            r.at(
                raw_b.id.span(),
                format!(
                    "duplicate period id `{}` (first on line {})",
                    b.id,
                    r.file.line_of(raw_a.id.span().start)
                ),
            );
        }
        for (a, raw_a) in earlier {
            if a.start <= b.end && b.start <= a.end {
                r.at(
                    raw_b.start.span(),
                    format!(
                        "period `{}` ({} to {}) overlaps period `{}` ({} to {}, line {})",
                        b.id,
                        b.start,
                        b.end,
                        a.id,
                        a.start,
                        a.end,
                        r.file.line_of(raw_a.start.span().start)
                    ),
                );
            }
        }
    }

    for (p, raw_p) in &built {
        let (Some(renews), Some(raw_renews)) = (&p.renews, &raw_p.renews) else {
            continue;
        };
        match built.iter().find(|(q, _)| &q.id == renews) {
            Some((q, _)) if q.id == p.id => {
                r.at(
                    raw_renews.span(),
                    format!("period `{}` cannot renew itself", p.id),
                );
            }
            Some((q, _)) if q.end >= p.start => r.at(
                raw_renews.span(),
                format!(
                    "period `{}` renews `{renews}`, which must end before it starts ({} ends {}, {} starts {})",
                    p.id, q.id, q.end, p.id, p.start
                ),
            ),
            Some(_) => {}
            None if written_ids.contains(renews) => {}
            None => r.at(
                raw_renews.span(),
                format!(
                    "period `{}` renews `{renews}`, which is not a period in this file",
                    p.id
                ),
            ),
        }
    }

    let mut periods: Vec<PeakPeriod> = built.into_iter().map(|(p, _)| p).collect();
    periods.sort_by_key(|p| p.start);
    Some(periods)
}

// ----- pricing.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVolumeTier {
    min_seat_hours: Spanned<i64>,
    discount_bp: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEarlyBird {
    min_days_before_start: Spanned<i64>,
    discount_bp: Spanned<i64>,
}

fn load_pricing(r: &mut Report<'_>) -> Option<Pricing> {
    let doc = r.document()?;
    let mut sections = r.sections(doc, &["volume_tier", "early_bird"]);
    let raw_tiers: Vec<Spanned<RawVolumeTier>> =
        r.tables("volume_tier", sections.remove("volume_tier"));

    let mut tiers: Vec<(VolumeTier, &RawVolumeTier)> = Vec::new();
    for item in &raw_tiers {
        let t = item.get_ref();
        let min = r.int(
            "volume tier `min_seat_hours`",
            &t.min_seat_hours,
            0,
            i64::MAX,
        );
        let discount = r.discount("volume tier `discount_bp`", &t.discount_bp);
        let (Some(min_seat_hours), Some(discount_bp)) = (min, discount) else {
            continue;
        };
        if let Some((prev, raw_prev)) = tiers.last() {
            let prev_line = r.file.line_of(raw_prev.min_seat_hours.span().start);
            if min_seat_hours <= prev.min_seat_hours {
                r.at(
                    t.min_seat_hours.span(),
                    format!(
                        "volume tiers must be listed by increasing `min_seat_hours`: {min_seat_hours} \
                         does not exceed {} (line {prev_line})",
                        prev.min_seat_hours
                    ),
                );
            }
            if discount_bp <= prev.discount_bp {
                r.at(
                    t.discount_bp.span(),
                    format!(
                        "a larger volume tier must give a larger discount: {discount_bp} bp does \
                         not exceed {} bp (line {prev_line})",
                        prev.discount_bp
                    ),
                );
            }
        }
        tiers.push((
            VolumeTier {
                min_seat_hours,
                discount_bp,
            },
            t,
        ));
    }

    let early_bird = match sections.remove("early_bird") {
        None => None,
        Some(value) => {
            let raw: Option<RawEarlyBird> = r.de(value);
            raw.and_then(|e| {
                let min_days = r.int(
                    "early bird `min_days_before_start`",
                    &e.min_days_before_start,
                    1,
                    MAX_DAYS,
                );
                let discount = r.discount("early bird `discount_bp`", &e.discount_bp);
                let max_tier = tiers.iter().map(|(t, _)| t.discount_bp).max();
                if let (Some(d), Some(t)) = (discount, max_tier)
                    && d + t >= FULL_BP
                {
                    r.at(
                        e.discount_bp.span(),
                        format!(
                            "the early-bird discount ({d} bp) plus the largest volume discount \
                             ({t} bp) must stay below 10000 (100%)"
                        ),
                    );
                }
                Some(EarlyBird {
                    min_days_before_start: min_days?,
                    discount_bp: discount?,
                })
            })
        }
    };

    Some(Pricing {
        volume_tiers: tiers.into_iter().map(|(t, _)| t).collect(),
        early_bird,
    })
}

// ----- cancellation.toml -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    min_days_before_start: Spanned<i64>,
    refund_bp: Spanned<i64>,
}

fn load_cancellation(r: &mut Report<'_>) -> Option<CancellationPolicy> {
    let doc = r.document()?;
    let mut sections = r.sections(doc, &["step"]);
    let raw: Vec<Spanned<RawStep>> = r.tables("step", sections.remove("step"));

    let mut steps: Vec<(RefundStep, &RawStep)> = Vec::new();
    for item in &raw {
        let s = item.get_ref();
        let days = r.int(
            "step `min_days_before_start`",
            &s.min_days_before_start,
            0,
            MAX_DAYS,
        );
        let refund = r.int("step `refund_bp`", &s.refund_bp, 0, FULL_BP.into());
        if let (Some(min_days_before_start), Some(refund_bp)) = (days, refund) {
            steps.push((
                RefundStep {
                    min_days_before_start,
                    refund_bp,
                },
                s,
            ));
        }
    }
    // Every table was read and in range: the missing 0-day step is a real hole, not the
    // echo of a step that failed to parse.
    let complete = r.clean();

    steps.sort_by_key(|(s, _)| std::cmp::Reverse(s.min_days_before_start));
    let file = r.file;
    let line = |raw: &RawStep| file.line_of(raw.min_days_before_start.span().start);
    let mut problems = Vec::new();
    for pair in steps.windows(2) {
        let ((earlier, raw_earlier), (later, raw_later)) = (&pair[0], &pair[1]);
        // `earlier` is further from the start; `later` is closer to it.
        if later.min_days_before_start == earlier.min_days_before_start {
            let (first, second) = if raw_earlier.min_days_before_start.span().start
                < raw_later.min_days_before_start.span().start
            {
                (raw_earlier, raw_later)
            } else {
                (raw_later, raw_earlier)
            };
            problems.push((
                second.min_days_before_start.span(),
                format!(
                    "two steps for {} days before start (first on line {})",
                    later.min_days_before_start,
                    line(first)
                ),
            ));
        } else if later.refund_bp > earlier.refund_bp {
            problems.push((
                raw_later.refund_bp.span(),
                format!(
                    "refunds may not grow as the start gets closer: {} bp at {} days is more than \
                     {} bp at {} days (line {})",
                    later.refund_bp,
                    later.min_days_before_start,
                    earlier.refund_bp,
                    earlier.min_days_before_start,
                    line(raw_earlier)
                ),
            ));
        }
    }
    for (span, reason) in problems {
        r.at(span, reason);
    }
    if complete
        && steps
            .last()
            .is_none_or(|(s, _)| s.min_days_before_start != 0)
    {
        r.push(
            None,
            "no step with `min_days_before_start = 0`: cancelling in the last days before the \
             start (or after it) would have no refund rule",
        );
    }

    Some(CancellationPolicy {
        steps: steps.into_iter().map(|(s, _)| s).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use tempfile::TempDir;

    use super::*;

    const MARKET: &str = r#"time_zone = "Asia/Shanghai"
bookable_start_hour = 8
bookable_end_hour = 24
block_hours = 4
hold_minutes = 15
min_seats = 1
max_seats_per_booking = 500
off_peak_opens_days = 90
off_peak_multiplier_bp = 10000
"#;

    const SKILLS: &str = r#"[[skill]]
id = "general"
name_en = "General"
name_zh = "通用客服"
seats_per_hour = 200
price_per_seat_hour_fen = 3500
agent_hourly_fen = 2400

[[skill]]
id = "cosmetics"
name_en = "Cosmetics"
name_zh = "美妆"
seats_per_hour = 40
price_per_seat_hour_fen = 6000
agent_hourly_fen = 3600
"#;

    const SHIFTS: &str = r#"early_access_hours = 24
max_hours_per_day = 10
max_hours_per_week = 48
min_rest_hours = 8
free_release_hours = 24
check_in_opens_minutes = 30
no_show_grace_minutes = 10
swap_cutoff_hours = 2
reminder_hours = 2
urgent_bonus_fen = 3000
"#;

    /// The shipped pay plan and quality rules.
    const PAY: &str = include_str!("../../seat-rules/pay.toml");
    const QUALITY: &str = include_str!("../../seat-rules/quality.toml");
    const LEVELS: &str = include_str!("../../seat-rules/levels.toml");
    const CHURN: &str = include_str!("../../seat-rules/churn.toml");
    const AT_RISK: &str = include_str!("../../seat-rules/at_risk.toml");
    /// The shipped scorecards, for this fixture's skills (`general`, `cosmetics`).
    fn scorecards() -> String {
        include_str!("../../seat-rules/scorecards.toml")
            .replace("track = \"pre_sale\"", "track = \"cosmetics\"")
    }

    const CHAT: &str = r#"offer_timeout_secs = 20
first_reply_limit_secs = 60
first_response_target_secs = 30
offline_grace_secs = 60
sticky_days = 7
shift_max_concurrent_chats = 5
idle_warning_minutes = 10
idle_close_minutes = 5
max_message_chars = 4000
messages_per_minute = 60
message_burst = 10
"#;

    const PERIODS: &str = r#"[[period]]
id = "d11_2026"
name_en = "Double 11 2026"
name_zh = "2026 双11"
start = 2026-10-20
end = 2026-11-11
multiplier_bp = 18000

[[period]]
id = "d11_2027"
name_en = "Double 11 2027"
name_zh = "2027 双11"
start = 2027-10-20
end = 2027-11-11
multiplier_bp = 18000
booking_opens_days_before = 90
priority_days = 21
renews = "d11_2026"
"#;

    const PRICING: &str = r#"[[volume_tier]]
min_seat_hours = 500
discount_bp = 300

[[volume_tier]]
min_seat_hours = 2000
discount_bp = 600

[early_bird]
min_days_before_start = 45
discount_bp = 500
"#;

    const CANCELLATION: &str = r#"[[step]]
min_days_before_start = 14
refund_bp = 10000

[[step]]
min_days_before_start = 2
refund_bp = 5000

[[step]]
min_days_before_start = 0
refund_bp = 0
"#;

    /// A third period, appended to `PERIODS`, whose `start` is on line 24.
    const THIRD_PERIOD: &str = r#"
[[period]]
id = "d12_2026"
name_en = "Double 12 2026"
name_zh = "2026 双12"
start = 2026-12-01
end = 2026-12-12
multiplier_bp = 14000
"#;

    fn base() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            (MARKET_FILE, MARKET.to_owned()),
            (SKILLS_FILE, SKILLS.to_owned()),
            (PERIODS_FILE, PERIODS.to_owned()),
            (PRICING_FILE, PRICING.to_owned()),
            (CANCELLATION_FILE, CANCELLATION.to_owned()),
            (SHIFTS_FILE, SHIFTS.to_owned()),
            (CHAT_FILE, CHAT.to_owned()),
            (PAY_FILE, PAY.to_owned()),
            (QUALITY_FILE, QUALITY.to_owned()),
            (LEVELS_FILE, LEVELS.to_owned()),
            (SCORECARDS_FILE, scorecards()),
            (CHURN_FILE, CHURN.to_owned()),
            (AT_RISK_FILE, AT_RISK.to_owned()),
        ])
    }

    fn write(files: &BTreeMap<&str, String>) -> TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    /// The base fixture with each `(file, old, new)` replacement applied once.
    fn edited(edits: &[(&str, &str, &str)]) -> BTreeMap<&'static str, String> {
        let mut files = base();
        for (name, old, new) in edits {
            let text = files.get_mut(*name).unwrap();
            assert!(text.contains(old), "{name} has no {old:?}");
            *text = text.replacen(old, new, 1);
        }
        files
    }

    fn load_edited(edits: &[(&str, &str, &str)]) -> Result<Ruleset, RulesErrors> {
        let dir = write(&edited(edits));
        load_dir(dir.path())
    }

    #[track_caller]
    fn errors_of(edits: &[(&str, &str, &str)]) -> Vec<RuleError> {
        match load_edited(edits) {
            Ok(_) => panic!("expected errors for {edits:?}"),
            Err(errors) => errors.0,
        }
    }

    #[track_caller]
    fn assert_has(errors: &[RuleError], file: &str, line: Option<usize>, needle: &str) {
        let found = errors.iter().any(|e| {
            e.file.file_name().and_then(|n| n.to_str()) == Some(file)
                && e.line == line
                && e.reason.contains(needle)
        });
        assert!(
            found,
            "no error {file}:{line:?} containing {needle:?} in:\n{}",
            RulesErrors(errors.to_vec())
        );
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn shipped_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("seat-rules")
    }

    // ----- the fixture itself and the shipped rules -----

    #[test]
    fn the_fixture_loads_with_defaults_and_sorted_periods() {
        let mut files = base();
        // Listed out of order in the file: the ruleset sorts periods by start.
        files.get_mut(PERIODS_FILE).unwrap().push_str(
            "\n[[period]]\nid = \"spring_2027\"\nname_en = \"Spring\"\nname_zh = \"年货节\"\n\
             start = 2027-01-18\nend = 2027-02-05\nmultiplier_bp = 13000\n",
        );
        let dir = write(&files);
        let rules = load_dir(dir.path()).unwrap();
        assert_eq!(rules.market.time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(rules.market.block_hours, 4);
        assert_eq!(
            rules
                .skills
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["general", "cosmetics"]
        );
        assert_eq!(
            rules
                .periods
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["d11_2026", "spring_2027", "d11_2027"]
        );
        let spring = rules.period("spring_2027").unwrap();
        assert_eq!(
            spring.booking_opens_days_before,
            DEFAULT_BOOKING_OPENS_DAYS_BEFORE
        );
        assert_eq!(spring.priority_days, DEFAULT_PRIORITY_DAYS);
        assert_eq!(spring.renews, None);
        let d11 = rules.period("d11_2027").unwrap();
        assert_eq!(d11.renews.as_deref(), Some("d11_2026"));
        assert_eq!((d11.booking_opens_days_before, d11.priority_days), (90, 21));
        assert_eq!(
            rules.pricing.volume_tiers,
            [
                VolumeTier {
                    min_seat_hours: 500,
                    discount_bp: 300
                },
                VolumeTier {
                    min_seat_hours: 2000,
                    discount_bp: 600
                }
            ]
        );
        assert_eq!(
            rules.pricing.early_bird,
            Some(EarlyBird {
                min_days_before_start: 45,
                discount_bp: 500
            })
        );
        assert_eq!(
            rules
                .cancellation
                .steps
                .iter()
                .map(|s| s.min_days_before_start)
                .collect::<Vec<_>>(),
            [14, 2, 0]
        );
    }

    #[test]
    fn optional_sections_may_be_left_out() {
        let mut files = base();
        files.insert(PRICING_FILE, "# no discounts\n".to_owned());
        files.insert(PERIODS_FILE, "# off-peak all year\n".to_owned());
        let dir = write(&files);
        let rules = load_dir(dir.path()).unwrap();
        assert!(rules.pricing.volume_tiers.is_empty());
        assert_eq!(rules.pricing.early_bird, None);
        assert!(rules.periods.is_empty());
    }

    #[test]
    fn the_shipped_rules_load_cleanly() {
        let rules = load_dir(&shipped_dir()).unwrap_or_else(|e| panic!("{e}"));
        assert!(rules.version.starts_with("sha256:"));
        assert_eq!(
            rules
                .skills
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            [
                "general",
                "pre_sale",
                "after_sale",
                "cosmetics",
                "language_en"
            ]
        );
        for (id, name, start, end, multiplier) in [
            (
                "double12_2026",
                "Double 12 2026",
                "2026-12-01",
                "2026-12-12",
                14_000,
            ),
            (
                "spring_festival_2027",
                "Spring Festival sale 2027",
                "2027-01-18",
                "2027-02-05",
                13_000,
            ),
            ("618_2027", "618 2027", "2027-05-20", "2027-06-18", 15_000),
            (
                "double11_2027",
                "Double 11 2027",
                "2027-10-20",
                "2027-11-11",
                18_000,
            ),
            (
                "double12_2027",
                "Double 12 2027",
                "2027-12-01",
                "2027-12-12",
                14_000,
            ),
        ] {
            let p = rules.period(id).unwrap_or_else(|| panic!("no {id}"));
            assert_eq!(p.name_en, name);
            assert_eq!((p.start, p.end), (date(start), date(end)), "{id}");
            assert_eq!(p.multiplier_bp, multiplier, "{id}");
        }
        let d11 = rules.period("double11_2027").unwrap();
        assert_eq!(d11.renews.as_deref(), Some("double11_2026"));
        assert!(rules.period("double11_2026").unwrap().end < d11.start);
        // Today (2026-11-23) is off-peak, between Double 11 and Double 12.
        assert_eq!(rules.period_on(date("2026-11-23")), None);
        assert_eq!(
            rules.period_on(date("2027-02-06")).map(|p| p.id.as_str()),
            None
        );
        assert_eq!(rules.cancellation.refund_bp(-3), 0);
        assert_eq!(rules.cancellation.refund_bp(60), FULL_BP);
        assert!(rules.periods.windows(2).all(|w| w[0].end < w[1].start));
    }

    #[test]
    fn the_version_hashes_every_rule_file_and_nothing_else() {
        let shipped = load_dir(&shipped_dir()).unwrap();
        let v = &shipped.version;
        assert_eq!(v.len(), "sha256:".len() + 16, "{v}");
        assert!(v["sha256:".len()..].bytes().all(|b| b.is_ascii_hexdigit()));

        // The same files elsewhere give the same version, and loading again changes nothing.
        let mut files: BTreeMap<&str, String> = RULE_FILES
            .iter()
            .map(|&name| {
                (
                    name,
                    std::fs::read_to_string(shipped_dir().join(name)).unwrap(),
                )
            })
            .collect();
        let dir = write(&files);
        assert_eq!(&load_dir(dir.path()).unwrap().version, v);
        assert_eq!(&load_dir(dir.path()).unwrap().version, v);

        // Other files in the folder are not rules.
        std::fs::write(dir.path().join("README.md"), "# notes\n").unwrap();
        assert_eq!(&load_dir(dir.path()).unwrap().version, v);

        // Any edit to any rule file, even a comment, is a new version.
        let mut seen = vec![v.clone()];
        for name in RULE_FILES {
            let original = files[name].clone();
            files.get_mut(name).unwrap().push_str("\n# edited\n");
            let version = load_dir(write(&files).path()).unwrap().version;
            assert!(!seen.contains(&version), "{name}: {version}");
            seen.push(version);
            files.insert(name, original);
        }
        assert_eq!(&load_dir(write(&files).path()).unwrap().version, v);
    }

    // ----- syntax and shape -----

    #[test]
    fn a_syntax_error_names_its_line_and_other_files_are_still_checked() {
        let errors = errors_of(&[
            (PERIODS_FILE, "id = \"d11_2027\"", "id = \"d11_2027"),
            (PRICING_FILE, "discount_bp = 600", "discount_bp = = 600"),
            (SKILLS_FILE, "seats_per_hour = 40", "seats_per_hour = 0"),
        ]);
        assert_has(&errors, PERIODS_FILE, Some(10), "");
        assert_has(&errors, PRICING_FILE, Some(7), "");
        assert_has(&errors, SKILLS_FILE, Some(13), "must be above 0");
        // Sorted by file and line.
        let mut sorted = errors.clone();
        sorted.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        assert_eq!(errors, sorted);
    }

    #[test]
    fn unknown_keys_are_reported_at_their_line_in_every_table() {
        let errors = errors_of(&[
            (MARKET_FILE, "hold_minutes", "hold_minute"),
            (SKILLS_FILE, "[[skill]]", "currency = \"CNY\"\n\n[[skill]]"),
            (PERIODS_FILE, "priority_days", "priority_dayz"),
            (
                CANCELLATION_FILE,
                "refund_bp = 5000",
                "refund_bp = 5000\nrefund_pct = 50",
            ),
            (
                PRICING_FILE,
                "min_days_before_start = 45",
                "min_days_before_start = 45\nlast_day = 2027-01-01",
            ),
        ]);
        assert_has(&errors, MARKET_FILE, Some(5), "unknown field `hold_minute`");
        assert_has(&errors, SKILLS_FILE, Some(1), "unknown key `currency`");
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(17),
            "unknown field `priority_dayz`",
        );
        assert_has(
            &errors,
            CANCELLATION_FILE,
            Some(8),
            "unknown field `refund_pct`",
        );
        assert_has(&errors, PRICING_FILE, Some(11), "unknown field `last_day`");
        assert_eq!(errors.len(), 5, "{}", RulesErrors(errors.clone()));
    }

    #[test]
    fn a_bad_table_does_not_hide_problems_in_the_next_one() {
        let errors = errors_of(&[
            (SKILLS_FILE, "seats_per_hour = 200", "seat_per_hour = 200"),
            (
                SKILLS_FILE,
                "price_per_seat_hour_fen = 6000",
                "price_per_seat_hour_fen = -1",
            ),
        ]);
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(5),
            "unknown field `seat_per_hour`",
        );
        assert_has(&errors, SKILLS_FILE, Some(14), "must be above 0");
    }

    #[test]
    fn a_missing_file_is_named() {
        let mut files = base();
        files.remove(SKILLS_FILE);
        let dir = write(&files);
        let errors = load_dir(dir.path()).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{}", RulesErrors(errors.clone()));
        assert_has(&errors, SKILLS_FILE, None, "missing file");
        assert_eq!(errors[0].file, dir.path().join(SKILLS_FILE));
    }

    #[test]
    fn a_missing_folder_is_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let errors = load_dir(&dir.path().join("nope")).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("not a folder"), "{}", errors[0]);
    }

    #[test]
    fn wrong_types_and_missing_keys_are_reported() {
        let errors = errors_of(&[
            (MARKET_FILE, "hold_minutes = 15", "hold_minutes = \"15\""),
            (PERIODS_FILE, "start = 2026-10-20", "start = \"2026-10-20\""),
            (
                PERIODS_FILE,
                "start = 2027-10-20",
                "start = 2027-10-20T08:00:00",
            ),
            (
                SKILLS_FILE,
                "price_per_seat_hour_fen = 3500",
                "price_per_seat_hour_fen = 35.0",
            ),
            (
                PRICING_FILE,
                "[[volume_tier]]\nmin_seat_hours = 500\n",
                "[[volume_tier]]\n",
            ),
        ]);
        assert_has(&errors, MARKET_FILE, Some(5), "invalid type: string");
        assert_has(&errors, PERIODS_FILE, Some(5), "invalid type: string");
        assert_has(&errors, PERIODS_FILE, Some(13), "must be a plain date");
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(6),
            "invalid type: floating point",
        );
        assert_has(&errors, SKILLS_FILE, Some(6), "expected a whole number");
        // A missing key is reported at its table's header.
        assert_has(
            &errors,
            PRICING_FILE,
            Some(1),
            "missing field `min_seat_hours`",
        );
    }

    // ----- market.toml -----

    #[test]
    fn a_bad_time_zone_is_reported() {
        let errors = errors_of(&[(MARKET_FILE, "Asia/Shanghai", "China/Beijing")]);
        assert_has(
            &errors,
            MARKET_FILE,
            Some(1),
            "unknown time zone `China/Beijing`",
        );
    }

    #[test]
    fn bookable_hours_must_be_within_the_day_and_in_order() {
        let errors = errors_of(&[
            (
                MARKET_FILE,
                "bookable_start_hour = 8",
                "bookable_start_hour = 25",
            ),
            (
                MARKET_FILE,
                "bookable_end_hour = 24",
                "bookable_end_hour = -1",
            ),
        ]);
        assert_has(&errors, MARKET_FILE, Some(2), "must be at most 24 (got 25)");
        assert_has(
            &errors,
            MARKET_FILE,
            Some(3),
            "must not be negative (got -1)",
        );

        // Start at or after the end, including an empty day starting at 24.
        for (start, end) in [("20", "12"), ("8", "8"), ("24", "24")] {
            let errors = errors_of(&[
                (
                    MARKET_FILE,
                    "bookable_start_hour = 8",
                    &format!("bookable_start_hour = {start}"),
                ),
                (
                    MARKET_FILE,
                    "bookable_end_hour = 24",
                    &format!("bookable_end_hour = {end}"),
                ),
            ]);
            assert_has(&errors, MARKET_FILE, Some(3), "must be later than");
            assert_eq!(errors.len(), 1, "{}", RulesErrors(errors.clone()));
        }
    }

    #[test]
    fn the_block_must_divide_the_bookable_window() {
        let errors = errors_of(&[(MARKET_FILE, "block_hours = 4", "block_hours = 5")]);
        assert_has(
            &errors,
            MARKET_FILE,
            Some(4),
            "must divide the bookable window of 16",
        );
        let errors = errors_of(&[(MARKET_FILE, "block_hours = 4", "block_hours = 0")]);
        assert_has(&errors, MARKET_FILE, Some(4), "must be above 0");
        assert!(load_edited(&[(MARKET_FILE, "block_hours = 4", "block_hours = 16")]).is_ok());
    }

    #[test]
    fn booking_sizes_and_multipliers_are_checked() {
        let errors = errors_of(&[
            (MARKET_FILE, "min_seats = 1", "min_seats = 10"),
            (
                MARKET_FILE,
                "max_seats_per_booking = 500",
                "max_seats_per_booking = 5",
            ),
            (
                MARKET_FILE,
                "off_peak_multiplier_bp = 10000",
                "off_peak_multiplier_bp = 0",
            ),
            (MARKET_FILE, "hold_minutes = 15", "hold_minutes = 0"),
        ]);
        assert_has(
            &errors,
            MARKET_FILE,
            Some(7),
            "must be at least `min_seats` (10)",
        );
        assert_has(&errors, MARKET_FILE, Some(9), "must be above 0");
        assert_has(&errors, MARKET_FILE, Some(5), "must be above 0");
    }

    // ----- skills.toml -----

    #[test]
    fn prices_must_be_positive() {
        let errors = errors_of(&[
            (
                SKILLS_FILE,
                "price_per_seat_hour_fen = 3500",
                "price_per_seat_hour_fen = -100",
            ),
            (
                SKILLS_FILE,
                "price_per_seat_hour_fen = 6000",
                "price_per_seat_hour_fen = 0",
            ),
        ]);
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(6),
            "skill `general`: `price_per_seat_hour_fen` must be above 0 (got -100)",
        );
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(14),
            "skill `cosmetics`: `price_per_seat_hour_fen` must be above 0 (got 0)",
        );
    }

    #[test]
    fn inventory_must_not_be_zero() {
        let errors = errors_of(&[(SKILLS_FILE, "seats_per_hour = 200", "seats_per_hour = 0")]);
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(5),
            "`seats_per_hour` must be above 0 (got 0)",
        );
    }

    #[test]
    fn skills_need_valid_unique_ids_and_names() {
        let errors = errors_of(&[
            (SKILLS_FILE, "id = \"cosmetics\"", "id = \"general\""),
            (SKILLS_FILE, "name_zh = \"美妆\"", "name_zh = \"  \""),
        ]);
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(10),
            "duplicate skill id `general` (first on line 2)",
        );
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(12),
            "`name_zh` must not be empty",
        );

        let errors = errors_of(&[(SKILLS_FILE, "id = \"general\"", "id = \"General Service\"")]);
        assert_has(&errors, SKILLS_FILE, Some(2), "lowercase letters, digits");

        let mut files = base();
        files.insert(SKILLS_FILE, "# nothing on sale\n".to_owned());
        let errors = load_dir(write(&files).path()).unwrap_err().0;
        assert_has(&errors, SKILLS_FILE, None, "no skills");
    }

    // ----- periods.toml -----

    #[test]
    fn overlapping_periods_name_both_at_the_second() {
        let third = THIRD_PERIOD.replace("start = 2026-12-01", "start = 2026-11-10");
        let mut files = base();
        files.get_mut(PERIODS_FILE).unwrap().push_str(&third);
        let errors = load_dir(write(&files).path()).unwrap_err().0;
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(24),
            "period `d12_2026` (2026-11-10 to 2026-12-12) overlaps period `d11_2026` \
             (2026-10-20 to 2026-11-11, line 5)",
        );
        assert_eq!(errors.len(), 1, "{}", RulesErrors(errors.clone()));

        // Touching on a single shared day is an overlap too; the day after is not.
        let mut files = base();
        let third = THIRD_PERIOD.replace("start = 2026-12-01", "start = 2026-11-11");
        files.get_mut(PERIODS_FILE).unwrap().push_str(&third);
        assert!(load_dir(write(&files).path()).is_err());
        let mut files = base();
        let third = THIRD_PERIOD.replace("start = 2026-12-01", "start = 2026-11-12");
        files.get_mut(PERIODS_FILE).unwrap().push_str(&third);
        assert!(load_dir(write(&files).path()).is_ok());
    }

    #[test]
    fn period_dates_and_multipliers_are_checked() {
        let errors = errors_of(&[
            (PERIODS_FILE, "end = 2026-11-11", "end = 2026-10-01"),
            (
                PERIODS_FILE,
                "multiplier_bp = 18000\nbooking",
                "multiplier_bp = 0\nbooking",
            ),
            (PERIODS_FILE, "priority_days = 21", "priority_days = -1"),
        ]);
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(6),
            "`end` (2026-10-01) is before `start` (2026-10-20)",
        );
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(15),
            "`multiplier_bp` must be above 0",
        );
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(17),
            "`priority_days` must not be negative",
        );
    }

    #[test]
    fn duplicate_period_ids_are_reported() {
        let mut files = base();
        let third = THIRD_PERIOD.replace("d12_2026", "d11_2026");
        files.get_mut(PERIODS_FILE).unwrap().push_str(&third);
        let errors = load_dir(write(&files).path()).unwrap_err().0;
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(21),
            "duplicate period id `d11_2026` (first on line 2)",
        );
    }

    #[test]
    fn renews_must_name_an_earlier_period() {
        let errors = errors_of(&[(
            PERIODS_FILE,
            "renews = \"d11_2026\"",
            "renews = \"d11_2025\"",
        )]);
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(18),
            "renews `d11_2025`, which is not a period",
        );

        let errors = errors_of(&[(
            PERIODS_FILE,
            "multiplier_bp = 18000\n\n",
            "multiplier_bp = 18000\nrenews = \"d11_2027\"\n\n",
        )]);
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(8),
            "period `d11_2026` renews `d11_2027`, which must end before it starts",
        );

        let errors = errors_of(&[(
            PERIODS_FILE,
            "renews = \"d11_2026\"",
            "renews = \"d11_2027\"",
        )]);
        assert_has(&errors, PERIODS_FILE, Some(18), "cannot renew itself");
    }

    #[test]
    fn renews_may_name_a_broken_period_but_not_a_missing_one() {
        // The renewed period has a typo: only the typo is reported, not a dangling `renews`.
        let typo = (
            PERIODS_FILE,
            "name_en = \"Double 11 2026\"",
            "nam_en = \"x\"",
        );
        let errors = errors_of(&[typo]);
        assert_eq!(errors.len(), 1, "{}", RulesErrors(errors.clone()));
        assert_has(&errors, PERIODS_FILE, Some(3), "unknown field `nam_en`");

        // A broken table elsewhere does not excuse a `renews` naming no period at all.
        let errors = errors_of(&[
            typo,
            (
                PERIODS_FILE,
                "renews = \"d11_2026\"",
                "renews = \"d11_2025\"",
            ),
        ]);
        assert_eq!(errors.len(), 2, "{}", RulesErrors(errors.clone()));
        assert_has(
            &errors,
            PERIODS_FILE,
            Some(18),
            "renews `d11_2025`, which is not a period",
        );
    }

    // ----- pricing.toml -----

    #[test]
    fn volume_tiers_must_increase() {
        let errors = errors_of(&[
            (
                PRICING_FILE,
                "min_seat_hours = 2000",
                "min_seat_hours = 400",
            ),
            (PRICING_FILE, "discount_bp = 600", "discount_bp = 300"),
        ]);
        assert_has(
            &errors,
            PRICING_FILE,
            Some(6),
            "increasing `min_seat_hours`: 400 does not exceed 500 (line 2)",
        );
        assert_has(
            &errors,
            PRICING_FILE,
            Some(7),
            "larger discount: 300 bp does not exceed 300 bp",
        );
    }

    #[test]
    fn discounts_must_stay_below_100_percent() {
        let errors = errors_of(&[
            (PRICING_FILE, "discount_bp = 300", "discount_bp = 10000"),
            (PRICING_FILE, "discount_bp = 500", "discount_bp = 12000"),
        ]);
        assert_has(
            &errors,
            PRICING_FILE,
            Some(3),
            "volume tier `discount_bp` must be below 10000 (100%) (got 10000)",
        );
        assert_has(
            &errors,
            PRICING_FILE,
            Some(11),
            "early bird `discount_bp` must be below 10000",
        );

        let errors = errors_of(&[(PRICING_FILE, "discount_bp = 500", "discount_bp = 9400")]);
        assert_has(
            &errors,
            PRICING_FILE,
            Some(11),
            "plus the largest volume discount (600 bp)",
        );
        let errors = errors_of(&[(PRICING_FILE, "discount_bp = 300", "discount_bp = -5")]);
        assert_has(&errors, PRICING_FILE, Some(3), "must not be negative");
    }

    #[test]
    fn agents_never_cost_more_than_the_seat() {
        let errors = errors_of(&[(
            SKILLS_FILE,
            "agent_hourly_fen = 3600",
            "agent_hourly_fen = 6001",
        )]);
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(15),
            "skill `cosmetics`: `agent_hourly_fen` (6001) must not exceed `price_per_seat_hour_fen` (6000)",
        );
        let errors = errors_of(&[(SKILLS_FILE, "agent_hourly_fen = 2400\n", "")]);
        assert_has(
            &errors,
            SKILLS_FILE,
            Some(1),
            "missing field `agent_hourly_fen`",
        );
    }

    // ----- chat.toml -----

    #[test]
    fn chat_rules_load_and_the_shipped_file_states_the_defaults() {
        assert_eq!(load_edited(&[]).unwrap().chat, ChatRules::default());
        assert_eq!(load_dir(&shipped_dir()).unwrap().chat, ChatRules::default());
        assert_eq!(ChatRules::default().routing().sticky_days, 7);
    }

    #[test]
    fn chat_rules_are_checked_with_their_lines() {
        let errors = errors_of(&[
            (
                CHAT_FILE,
                "offer_timeout_secs = 20",
                "offer_timeout_secs = 2",
            ),
            (
                CHAT_FILE,
                "first_response_target_secs = 30",
                "first_response_target_secs = 90",
            ),
            (CHAT_FILE, "message_burst = 10", "message_burst = 0"),
        ]);
        assert_has(&errors, CHAT_FILE, Some(1), "`offer_timeout_secs`");
        assert_has(
            &errors,
            CHAT_FILE,
            Some(3),
            "`first_response_target_secs` (90) must be at most `first_reply_limit_secs` (60)",
        );
        assert_has(&errors, CHAT_FILE, Some(11), "`message_burst`");
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    // ----- pay.toml -----

    /// The 1-based line of the shipped pay plan starting with `start`.
    fn pay_line(start: &str) -> usize {
        PAY.lines().position(|l| l.starts_with(start)).unwrap() + 1
    }

    #[test]
    fn the_shipped_pay_plan_states_the_defaults() {
        use crate::payroll::plan::PayPlan;
        assert_eq!(load_edited(&[]).unwrap().pay, PayPlan::default());
        assert_eq!(load_dir(&shipped_dir()).unwrap().pay, PayPlan::default());
    }

    #[test]
    fn a_negative_rate_or_unknown_word_in_the_pay_plan_is_named_with_its_line() {
        let errors = errors_of(&[
            (PAY_FILE, "after_sale = 12000", "after_sale = -12000"),
            (
                PAY_FILE,
                "period = \"semi_monthly\"",
                "period = \"fortnightly\"",
            ),
            (PAY_FILE, "rounding = \"half_up\"", "rounding = \"up\""),
            (
                PAY_FILE,
                "piece_rate_share_bp = 3000",
                "piece_rate_share_bp = 12000",
            ),
            (PAY_FILE, "complaint = 20000", "refund = 20000"),
        ]);
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("after_sale")),
            "`chat_kinds.after_sale` must be above 0 (got -12000)",
        );
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("period")),
            "\"fortnightly\"",
        );
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("rounding")),
            "`rounding` must be",
        );
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("piece_rate_share_bp")),
            "at most 10000",
        );
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("complaint")),
            "unknown chat kind `refund`",
        );
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("[chat_kinds]")),
            "must give `complaint`",
        );
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn quality_bands_need_a_zero_band_distinct_starts_and_rising_pay() {
        let errors = errors_of(&[(PAY_FILE, "[[quality_band]]", "[[quality_bands]]")]);
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("[[quality_band]]")),
            "unknown field `quality_bands`",
        );
        let errors = errors_of(&[(PAY_FILE, "min_score = 0", "min_score = 10")]);
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("min_score = 0")),
            "no quality band starts at 0 (the lowest starts at 10)",
        );
        let errors = errors_of(&[(PAY_FILE, "min_score = 85", "min_score = 95")]);
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("min_score = 85")),
            "two quality bands start at 95",
        );
        let errors = errors_of(&[(PAY_FILE, "multiplier_bp = 12000", "multiplier_bp = 9000")]);
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("min_score = 95")),
            "the band from 95 pays less (9000) than the band from 85 (10000)",
        );
        let errors = errors_of(&[(PAY_FILE, "multiplier_bp = 5000", "multiplier_bp = \"half\"")]);
        assert_has(
            &errors,
            PAY_FILE,
            Some(pay_line("multiplier_bp = 5000")),
            "expected a whole number",
        );
        assert_eq!(errors.len(), 1, "one bad band is reported once: {errors:?}");
    }

    // ----- at_risk.toml -----

    #[test]
    fn the_shipped_at_risk_rules_state_the_defaults() {
        use crate::analytics::at_risk::AtRiskRules;
        assert_eq!(load_edited(&[]).unwrap().at_risk, AtRiskRules::default());
        assert_eq!(
            load_dir(&shipped_dir()).unwrap().at_risk,
            AtRiskRules::default()
        );
    }

    #[test]
    fn at_risk_weights_must_add_up_and_thresholds_stay_in_range() {
        let line = |start: &str| AT_RISK.lines().position(|l| l.starts_with(start)).unwrap() + 1;
        let nth_line = |start: &str, n: usize| {
            AT_RISK
                .lines()
                .enumerate()
                .filter(|(_, l)| l.starts_with(start))
                .nth(n)
                .unwrap()
                .0
                + 1
        };
        let errors = errors_of(&[
            (AT_RISK_FILE, "weight = 20\n", "weight = 25\n"),
            (AT_RISK_FILE, "drop_bp = 3000", "drop_bp = 0"),
            (
                AT_RISK_FILE,
                "min_history_weeks = 2",
                "min_history_weeks = 7",
            ),
            (AT_RISK_FILE, "days = 14", "days = 14\nmin_count = 3"),
        ]);
        assert_has(
            &errors,
            AT_RISK_FILE,
            Some(line("[adherence_falling]")),
            "the sign weights must add up to 100, they add up to 105",
        );
        assert_has(
            &errors,
            AT_RISK_FILE,
            Some(nth_line("drop_bp", 1)),
            "`hours_dropping.drop_bp` must be above 0 (got 0)",
        );
        assert_has(
            &errors,
            AT_RISK_FILE,
            Some(line("min_history_weeks")),
            "`min_history_weeks` (7) must not exceed `baseline_weeks` (6)",
        );
        assert_has(
            &errors,
            AT_RISK_FILE,
            Some(line("days = 14") + 1),
            "`min_count` does not apply to `[no_recent_claims]`, which takes `days`",
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        // A missing threshold, an unknown key, a missing file.
        let errors = errors_of(&[(AT_RISK_FILE, "cv_bp = 5000\n", "")]);
        assert_has(
            &errors,
            AT_RISK_FILE,
            Some(line("[earnings_volatile]")),
            "`[earnings_volatile]` needs `cv_bp`",
        );
        let errors = errors_of(&[(
            AT_RISK_FILE,
            "recent_weeks = 2",
            "recent_weeks = 2\nrecnt = 1",
        )]);
        assert_has(
            &errors,
            AT_RISK_FILE,
            Some(line("recent_weeks") + 1),
            "unknown field `recnt`",
        );
        let mut files = base();
        files.remove(AT_RISK_FILE);
        let dir = write(&files);
        let errors = load_dir(dir.path()).unwrap_err().0;
        assert_has(&errors, AT_RISK_FILE, None, "missing file");
    }

    // ----- quality.toml -----

    #[test]
    fn the_shipped_quality_rules_state_the_defaults() {
        use crate::quality::rules::QualityRules;
        assert_eq!(load_edited(&[]).unwrap().quality, QualityRules::default());
        assert_eq!(
            load_dir(&shipped_dir()).unwrap().quality,
            QualityRules::default()
        );
    }

    #[test]
    fn the_shipped_churn_rules_state_the_defaults() {
        use crate::analytics::rules::ChurnRules;
        assert_eq!(load_edited(&[]).unwrap().churn, ChurnRules::default());
        assert_eq!(
            load_dir(&shipped_dir()).unwrap().churn,
            ChurnRules::default()
        );
    }

    #[test]
    fn churn_rules_name_the_line_of_each_problem() {
        let line = |start: &str| CHURN.lines().position(|l| l.starts_with(start)).unwrap() + 1;
        let errors = errors_of(&[
            (
                CHURN_FILE,
                "inactive_after_days = 30",
                "inactive_after_days = 0",
            ),
            (
                CHURN_FILE,
                "max_range_months = 60",
                "max_range_months = 600",
            ),
            (CHURN_FILE, "min_fen = 200000", "min_fen = 600000"),
            (CHURN_FILE, "id = \"excellent\"", "id = \"none\""),
            (CHURN_FILE, "min_score = 0", "min_score = 10"),
        ]);
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("inactive_after_days")),
            "`inactive_after_days` must be at least 7 (got 0)",
        );
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("max_range_months")),
            "`max_range_months` must be at most 120 (got 600)",
        );
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("min_fen = 500000")),
            "pay_band `min_fen` must increase from one band to the next: 500000 does not exceed 600000",
        );
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("id = \"excellent\"")),
            "`none` is reserved",
        );
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("min_score = 0")),
            "the first quality_band must start at `min_score = 0`",
        );
        assert_eq!(errors.len(), 5, "{errors:?}");
        // A wrong type or unknown key stops the file at its line; a missing one says so.
        let errors = errors_of(&[(CHURN_FILE, "inactive_after_days = 30", "inactive_days = 30")]);
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("inactive_after_days")),
            "unknown field `inactive_days`",
        );
        let errors = errors_of(&[(CHURN_FILE, "min_fen = 0", "min_fen = \"0\"")]);
        assert_has(
            &errors,
            CHURN_FILE,
            Some(line("min_fen = 0")),
            "expected a whole number",
        );
        let mut files = base();
        files.remove(CHURN_FILE);
        let dir = write(&files);
        let errors = load_dir(dir.path()).unwrap_err().0;
        assert_has(&errors, CHURN_FILE, None, "missing file");
    }

    #[test]
    fn quality_weights_must_add_up_and_windows_stay_in_range() {
        let line = |start: &str| QUALITY.lines().position(|l| l.starts_with(start)).unwrap() + 1;
        let errors = errors_of(&[
            (QUALITY_FILE, "ratings_bp = 3000", "ratings_bp = 2000"),
            (
                QUALITY_FILE,
                "dispute_window_hours = 72",
                "dispute_window_hours = 0",
            ),
            (
                QUALITY_FILE,
                "sample_slow_first_response = true",
                "sample_slow_first_response = 1",
            ),
        ]);
        assert_has(
            &errors,
            QUALITY_FILE,
            Some(line("sample_slow_first_response")),
            "expected a boolean",
        );
        assert_eq!(errors.len(), 1, "a wrong type stops the file: {errors:?}");
        let errors = errors_of(&[
            (QUALITY_FILE, "ratings_bp = 3000", "ratings_bp = 2000"),
            (
                QUALITY_FILE,
                "dispute_window_hours = 72",
                "dispute_window_hours = 0",
            ),
        ]);
        assert_has(
            &errors,
            QUALITY_FILE,
            Some(line("[weights]")),
            "the `weights` must add up to 10000 (100%), they add up to 9000",
        );
        assert_has(
            &errors,
            QUALITY_FILE,
            Some(line("dispute_window_hours")),
            "`dispute_window_hours` must be above 0",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    // ----- scorecards.toml -----

    /// The 1-based line of the `nth` (0-based) line equal to `needle` in the fixture.
    fn scorecard_line(needle: &str, nth: usize) -> usize {
        scorecards()
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == needle)
            .nth(nth)
            .unwrap()
            .0
            + 1
    }

    #[test]
    fn the_shipped_scorecards_load_and_fall_back_to_the_default_track() {
        let shipped = load_dir(&shipped_dir()).unwrap().scorecards;
        assert_eq!(shipped.default_track, "general");
        let general = shipped.for_skill("general");
        assert_eq!(general.criteria.len(), 4);
        assert_eq!(shipped.for_skill("pre_sale").track, "pre_sale");
        assert_eq!(shipped.for_skill("after_sale").track, "general");
        for card in &shipped.cards {
            let weights: u32 = card.criteria.iter().map(|c| c.weight_bp).sum();
            assert_eq!(weights, FULL_BP);
            for c in &card.criteria {
                assert_eq!(c.anchors.first().unwrap().score, 0);
                assert_eq!(c.anchors.last().unwrap().score, c.max);
            }
        }
        assert_eq!(load_edited(&[]).unwrap().scorecards.cards.len(), 2);
    }

    #[test]
    fn a_negative_scorecard_weight_is_refused_with_its_line() {
        let errors = errors_of(&[(SCORECARDS_FILE, "weight_bp = 4000", "weight_bp = -4000")]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("weight_bp = 4000", 0)),
            "scorecard `general`, criterion `accuracy`: `weight_bp` must be above 0 (got -4000)",
        );
    }

    #[test]
    fn a_zero_scorecard_weight_is_refused_with_its_line() {
        let errors = errors_of(&[(SCORECARDS_FILE, "weight_bp = 1000", "weight_bp = 0")]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("weight_bp = 1000", 0)),
            "criterion `process`: `weight_bp` must be above 0 (got 0)",
        );
    }

    #[test]
    fn scorecard_weights_must_add_up_to_10000() {
        let errors = errors_of(&[(SCORECARDS_FILE, "weight_bp = 1000", "weight_bp = 1500")]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("track = \"general\"", 0)),
            "scorecard `general`: the criteria's `weight_bp` must add up to 10000 (100%), they add up to 10500",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn a_scorecard_for_an_unknown_skill_is_refused() {
        let errors = errors_of(&[(SCORECARDS_FILE, "track = \"cosmetics\"", "track = \"toys\"")]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("track = \"cosmetics\"", 0)),
            "scorecard `track` `toys` is not a skill of skills.toml",
        );
    }

    #[test]
    fn duplicate_criteria_and_tracks_are_refused() {
        let errors = errors_of(&[(SCORECARDS_FILE, "id = \"resolution\"", "id = \"accuracy\"")]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("id = \"resolution\"", 0)),
            "scorecard `general`: a second criterion with id `accuracy`",
        );
        let errors = errors_of(&[(
            SCORECARDS_FILE,
            "track = \"cosmetics\"",
            "track = \"general\"",
        )]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("track = \"cosmetics\"", 0)),
            "a second scorecard for track `general`",
        );
    }

    #[test]
    fn anchors_must_cover_the_scale_and_stay_on_it() {
        // The `process` criterion (0..=2) loses its top anchor to a score above the scale.
        let errors = errors_of(&[(
            SCORECARDS_FILE,
            "score = 2\nen = \"Every step",
            "score = 3\nen = \"Every step",
        )]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("en = \"Every step followed\"", 0) - 1),
            "criterion `process`: anchor `score` must be at most 2 (got 3)",
        );
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("[[scorecard.criterion]]", 3)),
            "criterion `process`: anchor at least the bottom (0), the top (2) and a score between",
        );
        let errors = errors_of(&[(
            SCORECARDS_FILE,
            "default_track = \"general\"",
            "default_track = \"after_sale\"",
        )]);
        assert_has(
            &errors,
            SCORECARDS_FILE,
            Some(scorecard_line("default_track = \"general\"", 0)),
            "`default_track` `after_sale` has no [[scorecard]]",
        );
    }

    // ----- levels.toml -----

    #[test]
    fn the_shipped_levels_state_the_defaults() {
        use crate::quality::levels::Levels;
        assert_eq!(load_edited(&[]).unwrap().levels, Levels::default());
        assert_eq!(load_dir(&shipped_dir()).unwrap().levels, Levels::default());
    }

    #[test]
    fn levels_are_numbered_without_gaps_and_never_ask_or_grant_less_higher_up() {
        let at = |needle: &str| LEVELS.lines().position(|l| l == needle).unwrap() + 1;
        let errors = errors_of(&[(LEVELS_FILE, "number = 3", "number = 7")]);
        assert_has(
            &errors,
            LEVELS_FILE,
            Some(at("number = 4")),
            "expected 3 here, got 4",
        );
        let errors = errors_of(&[
            (
                LEVELS_FILE,
                "pay_multiplier_bp = 10600",
                "pay_multiplier_bp = 10100",
            ),
            (LEVELS_FILE, "keep_quality = 84", "keep_quality = 91"),
        ]);
        assert_has(
            &errors,
            LEVELS_FILE,
            Some(at("pay_multiplier_bp = 10600")),
            "level 4: `pay_multiplier_bp` (10100) is below level 3's (10400)",
        );
        assert_has(
            &errors,
            LEVELS_FILE,
            Some(at("keep_quality = 84")),
            "level 5: `keep_quality` (91) must be at most `min_quality` (90)",
        );
        let errors = errors_of(&[(
            LEVELS_FILE,
            "max_concurrent_chats = 2",
            "max_concurrent_chats = 0",
        )]);
        assert_has(
            &errors,
            LEVELS_FILE,
            Some(at("max_concurrent_chats = 2")),
            "must be above 0",
        );
        let errors = errors_of(&[(LEVELS_FILE, "min_hours = 0", "min_hours = 5")]);
        assert_has(
            &errors,
            LEVELS_FILE,
            Some(at("number = 1")),
            "level 1 is where every agent starts",
        );
    }

    // ----- shifts.toml -----

    #[test]
    fn shift_rules_load_into_claim_limits() {
        let rules = load_edited(&[]).unwrap();
        assert_eq!(rules.shifts, ShiftRules::default());
        let shipped = load_dir(&shipped_dir()).unwrap();
        assert_eq!(
            shipped.shifts,
            ShiftRules::default(),
            "the shipped file states the defaults"
        );
        let limits = rules.shifts.claim_limits();
        assert_eq!(
            (
                limits.max_hours_per_day,
                limits.max_hours_per_week,
                limits.min_rest_hours,
                limits.early_access_hours
            ),
            (10, 48, 8, 24)
        );
    }

    #[test]
    fn shift_rules_are_checked_with_their_lines() {
        let errors = errors_of(&[
            (
                SHIFTS_FILE,
                "max_hours_per_week = 48",
                "max_hours_per_week = 6",
            ),
            (SHIFTS_FILE, "min_rest_hours = 8", "min_rest_hours = 24"),
            (
                SHIFTS_FILE,
                "no_show_grace_minutes = 10",
                "no_show_grace_minutes = 0",
            ),
            (
                SHIFTS_FILE,
                "urgent_bonus_fen = 3000",
                "urgent_bonus_fen = -1",
            ),
        ]);
        assert_has(
            &errors,
            SHIFTS_FILE,
            Some(3),
            "`max_hours_per_week` (6) must be at least `max_hours_per_day` (10)",
        );
        assert_has(
            &errors,
            SHIFTS_FILE,
            Some(4),
            "`min_rest_hours` must be at most 23 (got 24)",
        );
        assert_has(
            &errors,
            SHIFTS_FILE,
            Some(7),
            "`no_show_grace_minutes` must be above 0 (got 0)",
        );
        assert_has(
            &errors,
            SHIFTS_FILE,
            Some(10),
            "`urgent_bonus_fen` must not be negative (got -1)",
        );
        assert_eq!(errors.len(), 4, "{}", RulesErrors(errors.clone()));

        let errors = errors_of(&[(
            SHIFTS_FILE,
            "reminder_hours = 2",
            "reminder_hours = 2\nremind = 1",
        )]);
        assert_has(&errors, SHIFTS_FILE, Some(10), "unknown field `remind`");
    }

    // ----- cancellation.toml -----

    #[test]
    fn the_refund_table_needs_a_zero_day_step() {
        let errors = errors_of(&[(
            CANCELLATION_FILE,
            "min_days_before_start = 0",
            "min_days_before_start = 1",
        )]);
        assert_has(
            &errors,
            CANCELLATION_FILE,
            None,
            "no step with `min_days_before_start = 0`",
        );
        let mut files = base();
        files.insert(CANCELLATION_FILE, "# no refunds table\n".to_owned());
        let errors = load_dir(write(&files).path()).unwrap_err().0;
        assert_has(&errors, CANCELLATION_FILE, None, "no step with");
    }

    #[test]
    fn refunds_may_not_grow_as_the_start_nears() {
        let errors = errors_of(&[(CANCELLATION_FILE, "refund_bp = 10000", "refund_bp = 4000")]);
        assert_has(
            &errors,
            CANCELLATION_FILE,
            Some(7),
            "refunds may not grow as the start gets closer: 5000 bp at 2 days is more than 4000 bp at 14 days (line 2)",
        );
    }

    #[test]
    fn steps_are_sorted_and_checked_for_duplicates_and_range() {
        // Listed in any order, the policy is sorted by days, most first.
        let mut files = base();
        files.insert(
            CANCELLATION_FILE,
            "[[step]]\nmin_days_before_start = 0\nrefund_bp = 0\n\n\
             [[step]]\nmin_days_before_start = 14\nrefund_bp = 10000\n"
                .to_owned(),
        );
        let rules = load_dir(write(&files).path()).unwrap();
        assert_eq!(
            rules.cancellation.steps,
            [
                RefundStep {
                    min_days_before_start: 14,
                    refund_bp: 10000
                },
                RefundStep {
                    min_days_before_start: 0,
                    refund_bp: 0
                }
            ]
        );

        let errors = errors_of(&[(
            CANCELLATION_FILE,
            "min_days_before_start = 2",
            "min_days_before_start = 14",
        )]);
        assert_has(
            &errors,
            CANCELLATION_FILE,
            Some(6),
            "two steps for 14 days before start (first on line 2)",
        );
        let errors = errors_of(&[(CANCELLATION_FILE, "refund_bp = 10000", "refund_bp = 10001")]);
        assert_has(&errors, CANCELLATION_FILE, Some(3), "must be at most 10000");
        // The out-of-range step is not echoed as a missing 0-day step or a growing refund.
        assert_eq!(errors.len(), 1, "{}", RulesErrors(errors.clone()));
    }

    // ----- all at once -----

    #[test]
    fn every_problem_in_every_file_is_reported_in_one_go() {
        let errors = errors_of(&[
            (MARKET_FILE, "Asia/Shanghai", "Mars/Olympus"),
            (MARKET_FILE, "block_hours = 4", "block_hours = 5"),
            (SKILLS_FILE, "seats_per_hour = 200", "seats_per_hour = 0"),
            (
                SKILLS_FILE,
                "price_per_seat_hour_fen = 6000",
                "price_per_seat_hour_fen = 0",
            ),
            (PERIODS_FILE, "renews = \"d11_2026\"", "renews = \"nope\""),
            (PRICING_FILE, "discount_bp = 300", "discount_bp = 10000"),
            (
                CANCELLATION_FILE,
                "min_days_before_start = 0",
                "min_days_before_start = 1",
            ),
        ]);
        let text = RulesErrors(errors.clone()).to_string();
        assert_eq!(errors.len(), 7, "{text}");
        assert_eq!(text.lines().count(), 7, "{text}");
        let files: Vec<_> = errors
            .iter()
            .map(|e| e.file.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            files,
            [
                CANCELLATION_FILE,
                MARKET_FILE,
                MARKET_FILE,
                PERIODS_FILE,
                PRICING_FILE,
                SKILLS_FILE,
                SKILLS_FILE
            ]
        );
    }

    #[test]
    fn errors_display_as_file_line_reason() {
        let with_line = RuleError {
            file: PathBuf::from("seat-rules/periods.toml"),
            line: Some(12),
            reason: "bad".to_owned(),
        };
        let without = RuleError {
            file: PathBuf::from("seat-rules/skills.toml"),
            line: None,
            reason: "missing file".to_owned(),
        };
        assert_eq!(with_line.to_string(), "seat-rules/periods.toml:12: bad");
        assert_eq!(without.to_string(), "seat-rules/skills.toml: missing file");
        assert_eq!(
            RulesErrors(vec![with_line, without]).to_string(),
            "seat-rules/periods.toml:12: bad\nseat-rules/skills.toml: missing file"
        );
    }

    #[test]
    fn byte_offsets_become_one_based_lines() {
        let file = RuleFile::new(PathBuf::from("x.toml"), "a = 1\n\nb = 2\n".to_owned());
        assert_eq!(file.line_of(0), 1);
        assert_eq!(file.line_of(5), 1); // the newline ends line 1
        assert_eq!(file.line_of(6), 2);
        assert_eq!(file.line_of(7), 3);
        assert_eq!(file.line_of(13), 4); // the end of the text
    }

    // ----- pure computations -----

    fn policy(steps: &[(u32, u32)]) -> CancellationPolicy {
        CancellationPolicy {
            steps: steps
                .iter()
                .map(|&(min_days_before_start, refund_bp)| RefundStep {
                    min_days_before_start,
                    refund_bp,
                })
                .collect(),
        }
    }

    #[test]
    fn refund_takes_the_step_with_the_most_days_not_above_the_days_left() {
        let p = policy(&[(30, 10000), (14, 8000), (7, 5000), (2, 2000), (0, 0)]);
        for (days, refund) in [
            (365, 10000),
            (30, 10000),
            (29, 8000),
            (14, 8000),
            (13, 5000),
            (7, 5000),
            (6, 2000),
            (2, 2000),
            (1, 0),
            (0, 0),
            (-1, 0),
            (i64::MIN, 0),
            (i64::MAX, 10000),
        ] {
            assert_eq!(p.refund_bp(days), refund, "{days} days");
        }
        // A policy whose 0-day step refunds something keeps refunding it after the start.
        assert_eq!(policy(&[(0, 1000)]).refund_bp(-5), 1000);
    }

    fn period(start: &str, end: &str, opens: u32, priority: u32, renews: bool) -> PeakPeriod {
        PeakPeriod {
            id: "p".to_owned(),
            name_en: "P".to_owned(),
            name_zh: "P".to_owned(),
            start: date(start),
            end: date(end),
            multiplier_bp: 15000,
            booking_opens_days_before: opens,
            priority_days: priority,
            renews: renews.then(|| "q".to_owned()),
        }
    }

    #[test]
    fn opening_dates_count_back_from_the_start() {
        let p = period("2027-10-20", "2027-11-11", 90, 21, true);
        assert_eq!(p.opens_on(), date("2027-07-22"));
        assert_eq!(p.priority_opens_on(), date("2027-07-01"));
        let p = period("2027-01-18", "2027-02-05", 60, 14, false);
        assert_eq!(p.opens_on(), date("2026-11-19"));
        assert_eq!(
            p.priority_opens_on(),
            p.opens_on(),
            "no renewal, no priority"
        );
        let p = period("2027-03-01", "2027-03-02", 1, 0, true);
        assert_eq!(p.opens_on(), date("2027-02-28"));
        assert_eq!(p.priority_opens_on(), p.opens_on());
    }

    #[test]
    fn a_period_contains_both_end_dates() {
        let p = period("2026-12-01", "2026-12-12", 60, 14, false);
        assert!(!p.contains(date("2026-11-30")));
        assert!(p.contains(date("2026-12-01")));
        assert!(p.contains(date("2026-12-12")));
        assert!(!p.contains(date("2026-12-13")));
    }

    #[test]
    fn lookups_find_skills_and_periods() {
        let rules = load_edited(&[]).unwrap();
        assert_eq!(rules.skill("cosmetics").unwrap().seats_per_hour, 40);
        assert!(rules.skill("Cosmetics").is_none());
        assert_eq!(rules.period("d11_2026").unwrap().end, date("2026-11-11"));
        assert!(rules.period("nope").is_none());
        assert_eq!(
            rules.period_on(date("2027-10-20")).map(|p| p.id.as_str()),
            Some("d11_2027")
        );
        assert_eq!(
            rules.period_on(date("2027-11-11")).map(|p| p.id.as_str()),
            Some("d11_2027")
        );
        assert_eq!(rules.period_on(date("2027-11-12")), None);
        assert_eq!(rules.period_on(date("2027-10-19")), None);
    }

    /// Valid policies: distinct days including 0, refunds never growing as days shrink.
    fn valid_policy() -> impl Strategy<Value = CancellationPolicy> {
        (
            proptest::collection::btree_set(1u32..400, 0..6),
            proptest::collection::vec(0u32..=FULL_BP, 7),
        )
            .prop_map(|(days, mut refunds)| {
                let mut days: Vec<u32> = days.into_iter().chain([0]).collect();
                days.sort_unstable_by(|a, b| b.cmp(a));
                refunds.truncate(days.len());
                refunds.sort_unstable_by(|a, b| b.cmp(a));
                policy(&days.into_iter().zip(refunds).collect::<Vec<_>>())
            })
    }

    proptest! {
        #[test]
        fn refunds_never_grow_as_the_start_nears(
            p in valid_policy(),
            days in -30i64..500,
            closer_by in 0i64..500,
        ) {
            let later = days - closer_by;
            prop_assert!(p.refund_bp(later) <= p.refund_bp(days));
            prop_assert!(p.steps.iter().any(|s| s.refund_bp == p.refund_bp(days)));
        }

        #[test]
        fn the_shipped_refunds_never_grow_as_the_start_nears(
            days in -30i64..500,
            closer_by in 0i64..500,
        ) {
            let p = shipped_policy();
            prop_assert!(p.refund_bp(days - closer_by) <= p.refund_bp(days));
        }
    }

    fn shipped_policy() -> &'static CancellationPolicy {
        static POLICY: std::sync::OnceLock<CancellationPolicy> = std::sync::OnceLock::new();
        POLICY.get_or_init(|| load_dir(&shipped_dir()).unwrap().cancellation)
    }
}
