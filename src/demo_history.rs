//! Months of past activity for `cloudseat demo`, so that churn and retention, the at-risk
//! list and the shop's service dashboard have real figures to show on a fresh install.
//!
//! Everything is written in the demo's transaction and dated relative to `now`; the story
//! is fixed (a seeded generator, never the wall clock), so two demos differ only in when
//! they were made:
//!
//! - **agents**: a pool of extra agents who registered, passed the exam and the trial over
//!   the last eight months (a few before that, so the first months have people to work),
//!   moved through the real lifecycle ([`crate::certification::service::apply_event`]);
//!   about a quarter leave with one of the leave reasons, some of them come back, one is
//!   suspended after missing shifts, and a few drift away lately (fewer shifts, missed
//!   ones, lower ratings) for the at-risk list;
//! - **bookings**: both shops book fortnights of off-peak cover and every peak period of
//!   `periods.toml` that began in those months (the second shop skips every other peak, so
//!   its renewals show a miss) through the same code as the API
//!   ([`crate::seats::service::place_tx`] and [`crate::seats::service::confirm_tx`]), then
//!   move to active and completed as the housekeeping job would;
//! - **shifts**: claimed, checked in and out (a few late check-ins, releases, late releases
//!   and no-shows, some taken over as urgent shifts), with the agents' presence around
//!   them; the shift running now stays checked in, the next week's are partly claimed;
//! - **chats** on the worked shifts: customers (some coming back), the offer, acceptance,
//!   first response and close, a short conversation and, for many, a rating;
//! - **payroll**: a run per finished month, computed, published, approved and (but the
//!   last) paid through [`crate::payroll::service`], so churn by pay band has payslips.
//!
//! Mail the past would have sent (booking confirmations, payslips) is marked sent at the
//! moment it was written, so a fresh demo does not mail eight months of history.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::accounts::model::{AccountId, Locale, MerchantId, Role};
use crate::accounts::store::{self as accounts, NewAccount};
use crate::audit::{self, LifecycleEvent};
use crate::certification::lifecycle::{AgentEvent, Party};
use crate::certification::profile::LEAVE_REASONS;
use crate::db::schema::{
    agent_presence, agents, chat_events, chat_messages, chat_offers, chats, customer_identities,
    customers, lifecycle_events, outbox, presence_events, shift_assignments, shifts,
};
use crate::db::{DbConn, new_id};
use crate::error::AppError;
use crate::seats::booking::{BookingInput, local_hour_to_utc};
use crate::seats::rules::{PeakPeriod, Ruleset};
use crate::seats::service as seats;
use crate::shifts::store::ShiftRow;

/// How far back the history goes.
pub const HISTORY_DAYS: i64 = 243;
/// Extra agents in the pool.
pub const POOL_SIZE: usize = 40;
/// Off-peak cover is booked in stretches of at most this many days.
const OFF_PEAK_STRETCH: i64 = 14;
/// Rows per multi-row insert (well under SQLite's bound-variable limit).
const CHUNK: usize = 400;
/// The days counted as "lately" for agents drifting away (the at-risk list's recent weeks).
const RECENT_DAYS: i64 = 14;

// ----- a seeded generator -----

/// SplitMix64: small, fast and the same on every platform, which is all a demo needs.
#[derive(Debug, Clone)]
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi` (`lo` when the range is empty).
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u32) -> bool {
        (self.next_u64() % 100) < u64::from(percent)
    }

    /// An index into `weights`, each chosen in proportion to its weight; `None` when they
    /// add up to nothing.
    pub fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut pick = self.next_u64() % total;
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if pick < w {
                return Some(i);
            }
            pick -= w;
        }
        None
    }

    pub fn hex(&mut self, chars: usize) -> String {
        let mut out = String::with_capacity(chars);
        while out.len() < chars {
            out.push_str(&format!("{:016x}", self.next_u64()));
        }
        out.truncate(chars);
        out
    }
}

// ----- what is booked -----

/// A stretch of days one booking covers: off-peak, or a whole peak period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub period: Option<String>,
}

/// The bookings a shop active from `first` makes up to `last` (local days): every peak
/// period that begins in `first..=last` (whole, even when it runs past `last`), and the
/// off-peak days between them in stretches of at most [`OFF_PEAK_STRETCH`] days. A peak
/// that began before `first` is left out, and its days with it. Oldest first.
pub fn segments(first: NaiveDate, last: NaiveDate, periods: &[PeakPeriod]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut day = first;
    let mut off_start: Option<NaiveDate> = None;
    let close_off = |out: &mut Vec<Segment>, from: Option<NaiveDate>, to: NaiveDate| {
        if let Some(from) = from
            && from <= to
        {
            out.push(Segment {
                start: from,
                end: to,
                period: None,
            });
        }
    };
    while day <= last {
        if let Some(p) = periods.iter().find(|p| p.start <= day && day <= p.end) {
            close_off(&mut out, off_start.take(), day - Duration::days(1));
            if p.start >= first {
                out.push(Segment {
                    start: p.start,
                    end: p.end,
                    period: Some(p.id.clone()),
                });
            }
            day = p.end + Duration::days(1);
            continue;
        }
        let from = *off_start.get_or_insert(day);
        if (day - from).num_days() + 1 == OFF_PEAK_STRETCH {
            close_off(&mut out, off_start.take(), day);
        }
        day += Duration::days(1);
    }
    close_off(&mut out, off_start, last);
    out
}

/// Whether a shop books the `n`th peak (0-based) it could have: the first shop every one,
/// the second every other one (so one of its renewals is a miss).
pub fn books_peak(shop: usize, n: usize) -> bool {
    shop == 0 || n.is_multiple_of(2)
}

// ----- who the agents are -----

/// One extra agent's story, in local days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPlan {
    pub handle: String,
    pub name: String,
    pub locale: Locale,
    /// The shop they mostly work for (by index).
    pub home_shop: usize,
    /// Certified for the first skill, and the second too when true.
    pub second_skill: bool,
    pub registered: NaiveDate,
    pub exam_passed: NaiveDate,
    pub trial_started: NaiveDate,
    pub certified: NaiveDate,
    /// When they left and why (one of the leave reasons).
    pub left: Option<(NaiveDate, &'static str)>,
    pub returned: Option<NaiveDate>,
    pub suspended: Option<NaiveDate>,
    /// Works less, misses shifts and is rated lower in the last [`RECENT_DAYS`].
    pub drifting: bool,
}

impl AgentPlan {
    /// Whether the agent is in the certified pool (able to work) on `day`.
    pub fn in_pool(&self, day: NaiveDate) -> bool {
        if day < self.certified || self.suspended.is_some_and(|s| day >= s) {
            return false;
        }
        match self.left {
            Some((left, _)) if day >= left => self.returned.is_some_and(|r| day >= r),
            _ => true,
        }
    }

    /// The agent's status after their last event on or before `today`.
    pub fn status(&self) -> &'static str {
        if self.suspended.is_some() {
            "suspended"
        } else if self.left.is_some() && self.returned.is_none() {
            "left"
        } else {
            "certified"
        }
    }
}

const NAMES: [(&str, &str, bool); POOL_SIZE] = [
    ("xu.jing", "Xu Jing 徐静", true),
    ("daniel.ng", "Daniel Ng", false),
    ("he.yan", "He Yan 何燕", true),
    ("guo.qiang", "Guo Qiang 郭强", true),
    ("sophie.lam", "Sophie Lam", false),
    ("ma.lin", "Ma Lin 马琳", true),
    ("luo.ting", "Luo Ting 罗婷", true),
    ("kevin.ho", "Kevin Ho", false),
    ("zheng.hui", "Zheng Hui 郑慧", true),
    ("tang.yu", "Tang Yu 唐宇", true),
    ("feng.jie", "Feng Jie 冯杰", true),
    ("grace.wong", "Grace Wong", false),
    ("han.mei", "Han Mei 韩梅", true),
    ("cao.yang", "Cao Yang 曹阳", true),
    ("xie.na", "Xie Na 谢娜", true),
    ("priya.nair", "Priya Nair", false),
    ("deng.chao", "Deng Chao 邓超", true),
    ("peng.li", "Peng Li 彭丽", true),
    ("jiang.tao", "Jiang Tao 蒋涛", true),
    ("lucas.chan", "Lucas Chan", false),
    ("yuan.fang", "Yuan Fang 袁芳", true),
    ("cai.wen", "Cai Wen 蔡雯", true),
    ("song.jia", "Song Jia 宋佳", true),
    ("amy.tsang", "Amy Tsang", false),
    ("pan.hao", "Pan Hao 潘浩", true),
    ("du.juan", "Du Juan 杜鹃", true),
    ("wei.lan", "Wei Lan 魏兰", true),
    ("oliver.tan", "Oliver Tan", false),
    ("ye.qing", "Ye Qing 叶青", true),
    ("lu.xiao", "Lu Xiao 陆晓", true),
    ("shen.bo", "Shen Bo 沈波", true),
    ("hannah.lee", "Hannah Lee", false),
    ("qian.rui", "Qian Rui 钱蕊", true),
    ("fu.lei", "Fu Lei 傅磊", true),
    ("kong.xin", "Kong Xin 孔欣", true),
    ("mei.ling.ong", "Ong Mei Ling", false),
    ("yao.dan", "Yao Dan 姚丹", true),
    ("gao.feng", "Gao Feng 高峰", true),
    ("lin.yue", "Lin Yue 林悦", true),
    ("ryan.choi", "Ryan Choi", false),
];

/// Who is suspended (after missing shifts).
const SUSPENDED: usize = 10;
/// Who drifts away lately (when still in the pool and certified long enough).
const DRIFTING: [usize; 4] = [3, 14, 19, 26];

/// The pool's stories for a demo made on `today`: six agents certified before the
/// history starts, the rest spread over it (the last a couple of weeks ago).
pub fn agent_plans(today: NaiveDate) -> Vec<AgentPlan> {
    let first = today - Duration::days(HISTORY_DAYS);
    let later = (POOL_SIZE - 6) as i64;
    NAMES
        .iter()
        .enumerate()
        .map(|(i, (handle, name, zh))| {
            let n = i as i64;
            let certified = if i < 6 {
                first - Duration::days(7 + 6 * n)
            } else {
                first + Duration::days((n - 6) * (HISTORY_DAYS - 16) / later + n % 3)
            };
            let leaves = i % 4 == 1 && i != SUSPENDED;
            let left = leaves
                .then(|| {
                    let day = certified + Duration::days(25 + (n * 13) % 70);
                    (day <= today - Duration::days(4))
                        .then_some((day, LEAVE_REASONS[(i / 4) % LEAVE_REASONS.len()]))
                })
                .flatten();
            let returned = left
                .filter(|_| (i / 4) % 3 == 0)
                .map(|(day, _)| day + Duration::days(21 + n % 10))
                .filter(|day| *day <= today - Duration::days(2));
            let suspended = (i == SUSPENDED).then_some(today - Duration::days(18));
            let mut plan = AgentPlan {
                handle: (*handle).to_owned(),
                name: (*name).to_owned(),
                locale: if *zh { Locale::ZhCn } else { Locale::En },
                home_shop: i % 2,
                second_skill: i % 3 == 0,
                registered: certified - Duration::days(14),
                exam_passed: certified - Duration::days(10),
                trial_started: certified - Duration::days(6),
                certified,
                left,
                returned,
                suspended,
                drifting: false,
            };
            plan.drifting = DRIFTING.contains(&i)
                && plan.certified <= today - Duration::days(60)
                && plan.status() == "certified";
            plan
        })
        .collect()
}

// ----- what becomes of a shift -----

/// How a past shift went for the agent who first claimed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Worked,
    /// Given back more than the free-release cutoff before the start; someone else works it.
    Released,
    /// Given back inside the cutoff; someone else takes it over.
    ReleasedLate,
    /// Never checked in; sometimes someone takes it over as an urgent shift.
    NoShow,
}

/// The fate of a shift from a roll of 0..100: mostly worked; an agent drifting away (or
/// about to be suspended) misses and gives back far more.
pub fn fate(roll: u32, troubled: bool) -> Fate {
    let (no_show, late, released) = if troubled { (20, 35, 45) } else { (2, 4, 7) };
    match roll {
        r if r < no_show => Fate::NoShow,
        r if r < late => Fate::ReleasedLate,
        r if r < released => Fate::Released,
        _ => Fate::Worked,
    }
}

/// A customer's rating from a roll of 0..100: mostly 4 and 5, lower for an agent drifting
/// away.
pub fn rating(roll: u32, drifting: bool) -> i32 {
    let bands: [u32; 4] = if drifting {
        [10, 25, 55, 80]
    } else {
        [2, 5, 15, 45]
    };
    match roll {
        r if r < bands[0] => 1,
        r if r < bands[1] => 2,
        r if r < bands[2] => 3,
        r if r < bands[3] => 4,
        _ => 5,
    }
}

// ----- rows, as the real code writes them -----

#[derive(Insertable)]
#[diesel(table_name = shift_assignments)]
struct AssignmentInsert {
    id: String,
    shift_id: String,
    agent_id: String,
    merchant_id: String,
    booking_id: String,
    via: &'static str,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    claimed_at: NaiveDateTime,
    checked_in_at: Option<NaiveDateTime>,
    checked_out_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    outcome: Option<&'static str>,
}

#[derive(Insertable)]
#[diesel(table_name = lifecycle_events)]
struct EventInsert {
    id: String,
    entity_type: &'static str,
    entity_id: String,
    from_state: Option<&'static str>,
    to_state: &'static str,
    actor_account_id: Option<String>,
    reason: Option<&'static str>,
    occurred_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = presence_events)]
struct PresenceInsert {
    id: String,
    agent_id: String,
    status: &'static str,
    at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = agent_presence)]
struct PresenceRowInsert {
    agent_id: String,
    status: &'static str,
    status_since: NaiveDateTime,
    available_since: NaiveDateTime,
    last_assigned_at: Option<NaiveDateTime>,
    connections: i32,
    last_seen_at: NaiveDateTime,
    disconnected_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = customers)]
struct CustomerInsert {
    id: String,
    merchant_id: String,
    display_name: Option<String>,
    notes: String,
    merged_into: Option<String>,
    last_agent_id: Option<String>,
    last_served_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = customer_identities)]
struct IdentityInsert {
    merchant_id: String,
    kind: &'static str,
    value: String,
    customer_id: String,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = chats)]
struct ChatInsert {
    id: String,
    merchant_id: String,
    customer_id: String,
    skill: String,
    channel: &'static str,
    status: &'static str,
    agent_id: Option<String>,
    priority: i32,
    queued_at: NaiveDateTime,
    created_at: NaiveDateTime,
    first_offered_at: Option<NaiveDateTime>,
    accepted_at: Option<NaiveDateTime>,
    first_response_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
    closed_by: Option<&'static str>,
    close_reason: Option<&'static str>,
    last_seq: i32,
    customer_messages: i32,
    agent_messages: i32,
    transfers: i32,
    takebacks: i32,
    customer_read_seq: i32,
    agent_read_seq: i32,
    rating: Option<i32>,
    rating_comment: Option<&'static str>,
    rated_at: Option<NaiveDateTime>,
    customer_token_hash: String,
    customer_name: Option<String>,
    last_customer_at: NaiveDateTime,
    idle_warned_at: Option<NaiveDateTime>,
    handover_note: Option<String>,
    kind: Option<&'static str>,
    concurrent_at_accept: i32,
}

#[derive(Insertable)]
#[diesel(table_name = chat_messages)]
struct MessageInsert {
    chat_id: String,
    seq: i32,
    sender: &'static str,
    author_id: Option<String>,
    body: &'static str,
    client_id: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = chat_offers)]
struct OfferInsert {
    id: String,
    chat_id: String,
    agent_id: String,
    offered_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    idle_secs: i32,
    outcome: Option<&'static str>,
    decided_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = chat_events)]
struct ChatEventInsert {
    id: String,
    chat_id: String,
    at: NaiveDateTime,
    kind: &'static str,
    agent_id: Option<String>,
    note: Option<&'static str>,
}

/// Inserts `$rows` into `$table` in chunks, on either backend.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {{
        for chunk in $rows.chunks(CHUNK) {
            match &mut *$conn {
                DbConn::Pg(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
    }};
}

/// A conversation: (customer, agent) lines, in the customer's language.
const TALKS_ZH: [[&str; 4]; 4] = [
    [
        "你好，我的订单什么时候发货？",
        "您好！已为您查询，订单今天下午发出，请留意物流短信。",
        "好的，能开发票吗？",
        "可以的，发货时会随包裹附上电子发票。",
    ],
    [
        "这款茶适合送长辈吗？",
        "非常合适，礼盒装附手提袋，口感醇和。",
        "有没有小一点的规格？",
        "有 100 克装，也支持礼盒包装。",
    ],
    [
        "收到的商品有破损，怎么办？",
        "非常抱歉！请拍照发给我，我马上为您补发。",
        "照片已经发了。",
        "收到，补发已安排，单号稍后短信通知您。",
    ],
    [
        "活动优惠可以叠加吗？",
        "满减和店铺券可以叠加，平台券以结算页为准。",
        "明白了，谢谢。",
        "不客气，祝您购物愉快！",
    ],
];

const TALKS_EN: [[&str; 4]; 3] = [
    [
        "Hi, where is my order?",
        "Hello! It left our warehouse this morning; the courier delivers tomorrow.",
        "Can I change the address?",
        "Yes, I have updated it with the courier for you.",
    ],
    [
        "Is this tent waterproof?",
        "Yes, it is rated 3000 mm and the seams are taped.",
        "Does it come with stakes?",
        "It does: twelve aluminium stakes and a carry bag.",
    ],
    [
        "I'd like to return the boots, they are too small.",
        "Sorry about that! I have opened a free return; the label is in your mail.",
        "Can I swap for a bigger size instead?",
        "Of course, I have reserved size 43 for you.",
    ],
];

/// Conversation `pick` (modulo the count) in the customer's language.
fn talk(zh: bool, pick: usize) -> [&'static str; 4] {
    if zh {
        TALKS_ZH[pick % TALKS_ZH.len()]
    } else {
        TALKS_EN[pick % TALKS_EN.len()]
    }
}

const COMMENTS: [&str; 4] = [
    "Very helpful, thank you!",
    "回复很快，很专业",
    "问题解决了",
    "Took a while but sorted it out.",
];

/// What the history wrote, for the demo's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub agents: usize,
    pub bookings: usize,
    pub shifts_worked: usize,
    pub chats: usize,
    pub payroll_runs: usize,
}

/// A shop in the demo: its owner (who books) and when it joined.
pub struct Shop {
    pub owner: AccountId,
    pub merchant: MerchantId,
    pub joined: NaiveDateTime,
}

/// An agent of the pool as the writer tracks them.
struct Worker {
    id: String,
    plan: AgentPlan,
    /// The end of the last shift they hold.
    free_at: NaiveDateTime,
    blocks: HashMap<NaiveDate, u32>,
}

/// A shift the history had someone work (or working now).
struct Served {
    worker: usize,
    shop: usize,
    merchant: String,
    skill: String,
    start: NaiveDateTime,
    end: NaiveDateTime,
    peak: bool,
    running: bool,
}

/// Writes the history (see the module notes). Call inside the demo's transaction, after
/// the shops and the admin exist.
pub fn fill(
    conn: &mut DbConn,
    rules: &Ruleset,
    admin: &AccountId,
    shops: &[Shop],
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<Summary, AppError> {
    let tz = rules.market.time_zone;
    let today = crate::analytics::store::local_date(tz, now);
    let mut rng = Seeded::new(0x5EA7_2026);
    let mut summary = Summary::default();

    let mut workers = add_agents(conn, rules, admin, password_hash, tz, today)?;
    summary.agents = workers.len();

    let booked = book_history(conn, rules, shops, tz, today, now)?;
    summary.bookings = booked.len();

    let served = staff_shifts(conn, rules, &mut workers, booked, tz, now, &mut rng)?;
    summary.shifts_worked = served.iter().filter(|s| !s.running).count();
    write_presence(conn, &workers, &served, now)?;
    summary.chats = write_chats(conn, rules, &workers, &served, shops, now, &mut rng)?;
    summary.payroll_runs = run_payroll(conn, rules, admin, tz, today)?;

    // The past's mail went out when it was written.
    let before = now - Duration::hours(1);
    diesel::update(outbox::table.filter(outbox::created_at.lt(before)))
        .filter(outbox::status.eq("pending"))
        .set((
            outbox::status.eq("sent"),
            outbox::attempts.eq(1),
            outbox::sent_at.eq(outbox::created_at.nullable()),
        ))
        .execute(conn)?;
    Ok(summary)
}

/// At `hour` local time on `day`, UTC.
fn at(tz: Tz, day: NaiveDate, hour: u8) -> NaiveDateTime {
    local_hour_to_utc(tz, day, hour)
}

fn add_agents(
    conn: &mut DbConn,
    rules: &Ruleset,
    admin: &AccountId,
    hash: &str,
    tz: Tz,
    today: NaiveDate,
) -> Result<Vec<Worker>, AppError> {
    use crate::certification::service::apply_event;
    let skills: Vec<&str> = rules.skills.iter().map(|s| s.id.as_str()).collect();
    let Some(first_skill) = skills.first().copied() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for plan in agent_plans(today) {
        let id = AccountId::new();
        let registered = at(tz, plan.registered, 9) + Duration::minutes(plan.name.len() as i64);
        let email = format!("{}@agents.demo.cloudseat.localhost", plan.handle);
        accounts::insert_account(
            conn,
            &NewAccount {
                id: &id,
                email: &email,
                password_hash: hash,
                role: Role::Agent.as_str(),
                merchant_id: None,
                display_name: &plan.name,
                locale: plan.locale.as_str(),
                time_zone: tz.name(),
                email_verified_at: Some(registered + Duration::minutes(4)),
                password_changed_at: registered,
                created_at: registered,
                updated_at: registered,
            },
        )?;
        accounts::insert_agent(conn, &id, "applicant", registered)?;
        audit::record_lifecycle(
            conn,
            LifecycleEvent {
                entity_type: "agent",
                entity_id: id.as_str(),
                from_state: None,
                to_state: "applicant",
                actor: Some(&id),
                reason: Some("registered"),
            },
            registered,
        )?;
        let mut mine = vec![first_skill];
        if plan.second_skill
            && let Some(second) = skills.get(1)
        {
            mine.push(second);
        }
        let languages: &[&str] = match plan.locale {
            Locale::ZhCn => &["zh"],
            Locale::En => &["en", "zh"],
        };
        diesel::update(agents::table.find(&id))
            .set((
                agents::languages.eq(serde_json::to_string(languages).map_err(AppError::internal)?),
                agents::skills.eq(serde_json::to_string(&mine).map_err(AppError::internal)?),
                agents::max_concurrent_chats.eq(3),
            ))
            .execute(conn)?;
        apply_event(
            conn,
            &id,
            AgentEvent::PassExam,
            Party::System,
            None,
            Some(&format!("{first_skill} exam passed")),
            at(tz, plan.exam_passed, 14),
        )?;
        apply_event(
            conn,
            &id,
            AgentEvent::StartTrial,
            Party::Agent,
            Some(&id),
            None,
            at(tz, plan.trial_started, 10),
        )?;
        let certified = at(tz, plan.certified, 16);
        apply_event(
            conn,
            &id,
            AgentEvent::PassTrial,
            Party::Admin,
            Some(admin),
            Some(&format!("{first_skill} trial passed")),
            certified,
        )?;
        for skill in &mine {
            crate::certification::trials::grant(conn, &id, skill, certified, None)?;
        }
        if let Some(day) = plan.suspended {
            apply_event(
                conn,
                &id,
                AgentEvent::Suspend,
                Party::Admin,
                Some(admin),
                Some("missed shifts without notice"),
                at(tz, day, 11),
            )?;
        }
        if let Some((day, reason)) = plan.left {
            apply_event(
                conn,
                &id,
                AgentEvent::Leave,
                Party::Agent,
                Some(&id),
                Some(reason),
                at(tz, day, 20),
            )?;
        }
        if let Some(day) = plan.returned {
            apply_event(
                conn,
                &id,
                AgentEvent::Return,
                Party::Agent,
                Some(&id),
                None,
                at(tz, day, 9),
            )?;
        }
        out.push(Worker {
            id: id.0,
            plan,
            free_at: NaiveDateTime::MIN,
            blocks: HashMap::new(),
        });
    }
    Ok(out)
}

/// A confirmed booking of the history and its shifts.
struct Booked {
    shop: usize,
    peak: bool,
    confirmed_at: NaiveDateTime,
    shifts: Vec<ShiftRow>,
}

fn book_history(
    conn: &mut DbConn,
    rules: &Ruleset,
    shops: &[Shop],
    tz: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Vec<Booked>, AppError> {
    let Some(skill) = rules.skills.first() else {
        return Ok(Vec::new());
    };
    let market = &rules.market;
    let (open, close, block) = (
        i64::from(market.bookable_start_hour),
        i64::from(market.bookable_end_hour),
        i64::from(market.block_hours.max(1)),
    );
    // Two blocks a day off-peak (the second shop's later in the day), the whole day on a peak.
    let off_hours = |shop: usize| {
        let start = (open + block * shop as i64)
            .min(close - 2 * block)
            .max(open);
        (start, (start + 2 * block).min(close))
    };
    let mut out = Vec::new();
    let mut n = 0;
    for (k, shop) in shops.iter().enumerate() {
        let joined = crate::analytics::store::local_date(tz, shop.joined);
        let first = (today - Duration::days(HISTORY_DAYS)).max(joined + Duration::days(2));
        let mut peaks_seen = 0;
        for seg in segments(first, today, &rules.periods) {
            let period = seg
                .period
                .as_ref()
                .and_then(|id| rules.periods.iter().find(|p| &p.id == id));
            if period.is_some() {
                let book = books_peak(k, peaks_seen);
                peaks_seen += 1;
                if !book {
                    continue;
                }
            }
            let lead = match period {
                Some(p) => 14.min(i64::from(p.booking_opens_days_before)).max(1),
                None => 6,
            };
            let booked_on = (seg.start - Duration::days(lead)).max(joined + Duration::days(1));
            let created = at(tz, booked_on, 10).max(shop.joined + Duration::hours(1));
            let (daily_start, daily_end, seats) = match period {
                Some(_) => (
                    (open + block * k as i64).min(close - block),
                    close,
                    if k == 0 { 4 } else { 2 },
                ),
                None => {
                    let (s, e) = off_hours(k);
                    (s, e, if k == 0 { 2 } else { 1 })
                }
            };
            let input = BookingInput {
                skill: skill.id.clone(),
                start_date: seg.start.to_string(),
                end_date: seg.end.to_string(),
                daily_start_hour: daily_start,
                daily_end_hour: daily_end,
                seats,
            };
            let row = seats::place_tx(
                conn,
                rules,
                booked_on,
                created,
                &shop.owner,
                &shop.merchant,
                &input,
            )?;
            n += 1;
            let confirmed_at = created + Duration::minutes(8);
            let actor = seats::Actor::Staff {
                account: shop.owner.clone(),
                merchant: shop.merchant.clone(),
            };
            let request = seats::ConfirmRequest {
                payment_reference: Some(format!("DEMO-H{n:03}")),
                paid_fen: None,
            };
            let row = seats::confirm_tx(conn, rules, confirmed_at, &actor, &row.id, &request)??;
            // As the housekeeping job moves them: active at the first hour, completed after
            // the last.
            for (from, to, when) in [
                ("confirmed", "active", row.starts_at),
                ("active", "completed", row.ends_at),
            ] {
                if when > now {
                    break;
                }
                if crate::seats::store::transition(conn, &row.id, from, to, when)? {
                    audit::record_lifecycle(
                        conn,
                        LifecycleEvent {
                            entity_type: "booking",
                            entity_id: &row.id,
                            from_state: Some(from),
                            to_state: to,
                            actor: None,
                            reason: Some("schedule"),
                        },
                        when,
                    )?;
                }
            }
            let rows: Vec<ShiftRow> = shifts::table
                .filter(shifts::booking_id.eq(&row.id))
                .order((shifts::starts_at, shifts::seat_no))
                .select(ShiftRow::as_select())
                .load(conn)?;
            out.push(Booked {
                shop: k,
                peak: period.is_some(),
                confirmed_at,
                shifts: rows,
            });
        }
    }
    Ok(out)
}

/// Picks who works a shift starting at `start`: in the pool that day, free, at most two
/// blocks that day, mostly the shop's regulars; someone drifting away rarely. `None` when
/// nobody can.
fn pick(
    workers: &[Worker],
    shop: usize,
    start: NaiveDateTime,
    day: NaiveDate,
    recent_from: NaiveDate,
    except: Option<usize>,
    rng: &mut Seeded,
) -> Option<usize> {
    let weights: Vec<u32> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let able = Some(i) != except
                && w.plan.in_pool(day)
                && w.free_at <= start
                && w.blocks.get(&day).copied().unwrap_or(0) < 2;
            if !able {
                return 0;
            }
            let regular = if w.plan.home_shop == shop { 6 } else { 1 };
            // Nobody in the pool goes long without a shift unless they drift away.
            let idle = if w.free_at < start - Duration::days(8) {
                4
            } else {
                1
            };
            if w.plan.drifting && day >= recent_from {
                regular / 3
            } else {
                regular * 3 * idle
            }
        })
        .collect();
    rng.weighted(&weights)
}

#[allow(clippy::too_many_arguments)]
fn assignment(
    shift: &ShiftRow,
    agent: &str,
    via: &'static str,
    from: NaiveDateTime,
    claimed_at: NaiveDateTime,
    checked_in_at: Option<NaiveDateTime>,
    checked_out_at: Option<NaiveDateTime>,
    ended: Option<(NaiveDateTime, &'static str)>,
) -> AssignmentInsert {
    AssignmentInsert {
        id: new_id(),
        shift_id: shift.id.clone(),
        agent_id: agent.to_owned(),
        merchant_id: shift.merchant_id.clone(),
        booking_id: shift.booking_id.clone(),
        via,
        starts_at: from.max(shift.starts_at),
        ends_at: shift.ends_at,
        claimed_at,
        checked_in_at,
        checked_out_at,
        ended_at: ended.map(|(t, _)| t),
        outcome: ended.map(|(_, o)| o),
    }
}

fn shift_event(
    shift: &str,
    from: &'static str,
    to: &'static str,
    actor: Option<&str>,
    reason: &'static str,
    at: NaiveDateTime,
) -> EventInsert {
    EventInsert {
        id: new_id(),
        entity_type: "shift",
        entity_id: shift.to_owned(),
        from_state: Some(from),
        to_state: to,
        actor_account_id: actor.map(str::to_owned),
        reason: Some(reason),
        occurred_at: at,
    }
}

/// The final state of a shift the history touched.
struct ShiftState {
    status: &'static str,
    agent: Option<String>,
    urgent_bonus_fen: i64,
    updated_at: NaiveDateTime,
}

#[allow(clippy::too_many_arguments)]
fn staff_shifts(
    conn: &mut DbConn,
    rules: &Ruleset,
    workers: &mut [Worker],
    booked: Vec<Booked>,
    tz: Tz,
    now: NaiveDateTime,
    rng: &mut Seeded,
) -> Result<Vec<Served>, AppError> {
    let s = &rules.shifts;
    let grace = Duration::minutes(i64::from(s.no_show_grace_minutes));
    let free_release = Duration::hours(i64::from(s.free_release_hours));
    let early = Duration::hours(i64::from(s.early_access_hours));
    let today = crate::analytics::store::local_date(tz, now);
    let recent_from = today - Duration::days(RECENT_DAYS);
    let mut all: Vec<(usize, bool, NaiveDateTime, ShiftRow)> = booked
        .into_iter()
        .flat_map(|b| {
            let (shop, peak, confirmed) = (b.shop, b.peak, b.confirmed_at);
            b.shifts
                .into_iter()
                .map(move |sh| (shop, peak, confirmed, sh))
        })
        .collect();
    all.sort_by_key(|a| (a.3.starts_at, a.0, a.3.seat_no));

    let mut assignments = Vec::new();
    let mut events = Vec::new();
    let mut states: Vec<(String, ShiftState)> = Vec::new();
    let mut served = Vec::new();
    for (shop, peak, confirmed, shift) in all {
        let day = crate::analytics::store::local_date(tz, shift.starts_at);
        // Claims open to everyone a day after confirmation; agents claim days ahead.
        let claim_from = confirmed + early + Duration::hours(1);
        let claim_at = |rng: &mut Seeded, latest: NaiveDateTime| {
            let ahead = shift.starts_at - Duration::hours(rng.between(20, 200));
            ahead.max(claim_from).min(latest)
        };
        if shift.starts_at > now {
            // Next week's shifts are partly claimed already; the rest wait on the board.
            if shift.starts_at > now + Duration::days(7) || shift.seat_no > 2 || claim_from >= now {
                continue;
            }
            let Some(w) = pick(workers, shop, shift.starts_at, day, recent_from, None, rng) else {
                continue;
            };
            let claimed = claim_at(rng, now - Duration::minutes(30));
            let agent = workers[w].id.clone();
            workers[w].free_at = shift.ends_at;
            *workers[w].blocks.entry(day).or_default() += 1;
            assignments.push(assignment(
                &shift,
                &agent,
                "claim",
                shift.starts_at,
                claimed,
                None,
                None,
                None,
            ));
            events.push(shift_event(
                &shift.id,
                "open",
                "claimed",
                Some(&agent),
                "claim",
                claimed,
            ));
            states.push((
                shift.id.clone(),
                ShiftState {
                    status: "claimed",
                    agent: Some(agent),
                    urgent_bonus_fen: 0,
                    updated_at: claimed,
                },
            ));
            continue;
        }
        let running = shift.ends_at > now;
        let Some(first) = pick(workers, shop, shift.starts_at, day, recent_from, None, rng) else {
            continue;
        };
        let troubled = (workers[first].plan.drifting && day >= recent_from)
            || workers[first]
                .plan
                .suspended
                .is_some_and(|sd| day >= sd - Duration::days(RECENT_DAYS) && day < sd);
        let roll = rng.between(0, 99) as u32;
        let fate = if running || claim_from >= shift.starts_at - Duration::hours(2) {
            Fate::Worked
        } else {
            fate(roll, troubled)
        };
        let first_id = workers[first].id.clone();
        let claimed = claim_at(rng, shift.starts_at - Duration::hours(3));
        // Who works it in the end, from when, claimed when and how.
        let mut worker: Option<(usize, NaiveDateTime, NaiveDateTime, &'static str)> = None;
        let mut bonus = 0;
        events.push(shift_event(
            &shift.id,
            "open",
            "claimed",
            Some(&first_id),
            "claim",
            claimed,
        ));
        match fate {
            Fate::Worked => worker = Some((first, shift.starts_at, claimed, "claim")),
            Fate::Released | Fate::ReleasedLate => {
                let before = if fate == Fate::Released {
                    free_release + Duration::hours(rng.between(2, 48))
                } else {
                    Duration::hours(rng.between(2, 20))
                };
                let released = (shift.starts_at - before).max(claimed + Duration::minutes(5));
                // Late or not by the cutoff, as the release itself decides.
                let outcome = if released > shift.starts_at - free_release {
                    "released_late"
                } else {
                    "released"
                };
                assignments.push(assignment(
                    &shift,
                    &first_id,
                    "claim",
                    shift.starts_at,
                    claimed,
                    None,
                    None,
                    Some((released, outcome)),
                ));
                events.push(shift_event(
                    &shift.id,
                    "claimed",
                    "open",
                    Some(&first_id),
                    outcome,
                    released,
                ));
                *workers[first].blocks.entry(day).or_default() += 1;
                let retaken = released + (shift.starts_at - released) / 3;
                if let Some(w) = pick(
                    workers,
                    shop,
                    shift.starts_at,
                    day,
                    recent_from,
                    Some(first),
                    rng,
                ) {
                    events.push(shift_event(
                        &shift.id,
                        "open",
                        "claimed",
                        Some(&workers[w].id),
                        "claim",
                        retaken,
                    ));
                    worker = Some((w, shift.starts_at, retaken, "claim"));
                }
            }
            Fate::NoShow => {
                let missed = shift.starts_at + grace;
                assignments.push(assignment(
                    &shift,
                    &first_id,
                    "claim",
                    shift.starts_at,
                    claimed,
                    None,
                    None,
                    Some((missed, "no_show")),
                ));
                events.push(shift_event(
                    &shift.id, "claimed", "no_show", None, "no_show", missed,
                ));
                events.push(shift_event(
                    &shift.id, "no_show", "open", None, "urgent", missed,
                ));
                *workers[first].blocks.entry(day).or_default() += 1;
                bonus = s.urgent_bonus_fen;
                if rng.chance(60)
                    && let Some(w) = pick(
                        workers,
                        shop,
                        shift.starts_at,
                        day,
                        recent_from,
                        Some(first),
                        rng,
                    )
                {
                    let taken = missed + Duration::minutes(rng.between(4, 20));
                    events.push(shift_event(
                        &shift.id,
                        "open",
                        "claimed",
                        Some(&workers[w].id),
                        "claim",
                        taken,
                    ));
                    worker = Some((w, taken, taken, "claim"));
                }
            }
        }
        let Some((w, from, claimed_at, via)) = worker else {
            states.push((
                shift.id.clone(),
                ShiftState {
                    status: "open",
                    agent: None,
                    urgent_bonus_fen: bonus,
                    updated_at: shift.starts_at + grace,
                },
            ));
            continue;
        };
        let agent = workers[w].id.clone();
        workers[w].free_at = shift.ends_at;
        *workers[w].blocks.entry(day).or_default() += 1;
        // Most check in a few minutes early; a few are late.
        let checked_in = if from > shift.starts_at {
            from + Duration::minutes(rng.between(2, 5))
        } else if rng.chance(8) {
            shift.starts_at + Duration::minutes(rng.between(1, 8))
        } else {
            shift.starts_at - Duration::minutes(rng.between(1, 15))
        };
        events.push(shift_event(
            &shift.id,
            "claimed",
            "checked_in",
            Some(&agent),
            if checked_in > shift.starts_at {
                "late"
            } else {
                "on_time"
            },
            checked_in,
        ));
        let (out_at, ended) = if running {
            (None, None)
        } else if rng.chance(70) {
            // Checked out by the agent (at the end, or a little before).
            let out = if rng.chance(10) {
                shift.ends_at - Duration::minutes(rng.between(5, 25))
            } else {
                shift.ends_at
            };
            let at = if out < shift.ends_at {
                out
            } else {
                shift.ends_at + Duration::minutes(rng.between(0, 6))
            };
            events.push(shift_event(
                &shift.id,
                "checked_in",
                "completed",
                Some(&agent),
                "checked_out",
                at,
            ));
            (Some(out), Some((at, "worked")))
        } else {
            // Ended by the job at the shift's end.
            let at = shift.ends_at + Duration::seconds(rng.between(5, 55));
            events.push(shift_event(
                &shift.id,
                "checked_in",
                "completed",
                None,
                "ended",
                at,
            ));
            (Some(shift.ends_at), Some((at, "worked")))
        };
        assignments.push(assignment(
            &shift,
            &agent,
            via,
            from,
            claimed_at,
            Some(checked_in),
            out_at,
            ended,
        ));
        states.push((
            shift.id.clone(),
            ShiftState {
                status: if running { "checked_in" } else { "completed" },
                agent: Some(agent),
                urgent_bonus_fen: bonus,
                updated_at: ended.map_or(checked_in, |(t, _)| t),
            },
        ));
        served.push(Served {
            worker: w,
            shop,
            merchant: shift.merchant_id.clone(),
            skill: shift.skill.clone(),
            start: checked_in.max(from),
            // A running shift's chats so far all closed a little before now.
            end: out_at.unwrap_or(now - Duration::minutes(10)),
            peak,
            running,
        });
    }
    insert_all!(conn, shift_assignments::table, assignments);
    insert_all!(conn, lifecycle_events::table, events);
    for (id, st) in states {
        diesel::update(shifts::table.find(&id))
            .set((
                shifts::status.eq(st.status),
                shifts::agent_id.eq(st.agent),
                shifts::urgent_bonus_fen.eq(st.urgent_bonus_fen),
                shifts::updated_at.eq(st.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(served)
}

/// Online a minute before each check-in, offline a minute after each check-out (back-to-back
/// shifts are one stretch online); the agent on a running shift is left online.
fn write_presence(
    conn: &mut DbConn,
    workers: &[Worker],
    served: &[Served],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let mut by_worker: BTreeMap<usize, Vec<(NaiveDateTime, NaiveDateTime, bool)>> = BTreeMap::new();
    for s in served {
        by_worker.entry(s.worker).or_default().push((
            s.start - Duration::minutes(1),
            s.end + Duration::minutes(1),
            s.running,
        ));
    }
    let mut events = Vec::new();
    let mut rows = Vec::new();
    for (w, mut spans) in by_worker {
        spans.sort();
        let mut merged: Vec<(NaiveDateTime, NaiveDateTime, bool)> = Vec::new();
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.0 <= last.1 + Duration::minutes(10) => {
                    last.1 = last.1.max(span.1);
                    last.2 |= span.2;
                }
                _ => merged.push(span),
            }
        }
        let agent = &workers[w].id;
        for (on, off, running) in &merged {
            events.push(PresenceInsert {
                id: new_id(),
                agent_id: agent.clone(),
                status: "online",
                at: *on,
            });
            if !running {
                events.push(PresenceInsert {
                    id: new_id(),
                    agent_id: agent.clone(),
                    status: "offline",
                    at: *off,
                });
            }
        }
        if let Some((on, off, running)) = merged.last() {
            rows.push(PresenceRowInsert {
                agent_id: agent.clone(),
                status: if *running { "online" } else { "offline" },
                status_since: if *running { *on } else { *off },
                available_since: *on,
                last_assigned_at: None,
                connections: 0,
                last_seen_at: if *running { now } else { *off },
                disconnected_at: Some(if *running { now } else { *off }),
            });
        }
    }
    insert_all!(conn, presence_events::table, events);
    insert_all!(conn, agent_presence::table, rows);
    Ok(())
}

/// A customer of a shop as the writer tracks them.
struct CustomerState {
    row: CustomerInsert,
    zh: bool,
}

#[allow(clippy::too_many_arguments)]
fn write_chats(
    conn: &mut DbConn,
    rules: &Ruleset,
    workers: &[Worker],
    served: &[Served],
    shops: &[Shop],
    now: NaiveDateTime,
    rng: &mut Seeded,
) -> Result<usize, AppError> {
    const ZH_CUSTOMERS: [&str; 8] = [
        "张女士",
        "李先生",
        "王小姐",
        "陈先生",
        "刘女士",
        "杨同学",
        "赵先生",
        "黄女士",
    ];
    const EN_CUSTOMERS: [&str; 6] = ["Alex", "Jamie", "Morgan", "Taylor", "Chris", "Sam"];
    let offer_timeout = Duration::seconds(i64::from(rules.chat.offer_timeout_secs));
    let tz = rules.market.time_zone;
    let recent_from = crate::analytics::store::local_date(tz, now) - Duration::days(RECENT_DAYS);
    let mut customers_of: Vec<Vec<CustomerState>> = shops.iter().map(|_| Vec::new()).collect();
    let mut identities = Vec::new();
    let mut chat_rows = Vec::new();
    let mut messages = Vec::new();
    let mut offers = Vec::new();
    let mut events = Vec::new();
    let mut last_assigned: BTreeMap<usize, NaiveDateTime> = BTreeMap::new();
    for s in served {
        let minutes = (s.end - s.start).num_minutes();
        if minutes < 30 {
            continue;
        }
        let per_block = if s.peak {
            rng.between(5, 9)
        } else {
            rng.between(2, 5)
        };
        let count = (per_block * minutes / 240).max(1);
        let drifting = workers[s.worker].plan.drifting
            && crate::analytics::store::local_date(tz, s.start) >= recent_from;
        let agent = workers[s.worker].id.clone();
        let slot = (minutes - 25) / count;
        let mut busy_until: Vec<NaiveDateTime> = Vec::new();
        let mut idle_since = s.start;
        for c in 0..count {
            let t0 = s.start + Duration::minutes(5 + c * slot + rng.between(0, (slot - 1).max(0)));
            let customers = &mut customers_of[s.shop];
            // About a third are customers who came back.
            let k = if !customers.is_empty() && rng.chance(35) {
                rng.between(0, customers.len() as i64 - 1) as usize
            } else {
                let zh = s.shop == 0 || rng.chance(40);
                let name = if zh {
                    ZH_CUSTOMERS[rng.between(0, ZH_CUSTOMERS.len() as i64 - 1) as usize]
                } else {
                    EN_CUSTOMERS[rng.between(0, EN_CUSTOMERS.len() as i64 - 1) as usize]
                };
                let id = new_id();
                identities.push(IdentityInsert {
                    merchant_id: s.merchant.clone(),
                    kind: "phone",
                    value: format!(
                        "+86 1{}{:08}",
                        3 + s.shop,
                        customers.len() * 7919 % 100_000_000
                    ),
                    customer_id: id.clone(),
                    created_at: t0,
                });
                customers.push(CustomerState {
                    row: CustomerInsert {
                        id,
                        merchant_id: s.merchant.clone(),
                        display_name: Some(name.to_owned()),
                        notes: String::new(),
                        merged_into: None,
                        last_agent_id: None,
                        last_served_at: None,
                        created_at: t0,
                        updated_at: t0,
                    },
                    zh,
                });
                customers.len() - 1
            };
            let customer = &mut customers[k];
            let chat_id = new_id();
            let name = customer.row.display_name.clone();
            events.push(ChatEventInsert {
                id: new_id(),
                chat_id: chat_id.clone(),
                at: t0,
                kind: "queued",
                agent_id: None,
                note: None,
            });
            let talk = talk(customer.zh, rng.between(0, 11) as usize);
            messages.push(MessageInsert {
                chat_id: chat_id.clone(),
                seq: 1,
                sender: "customer",
                author_id: None,
                body: talk[0],
                client_id: Some(format!("c-{}", rng.hex(12))),
                created_at: t0,
            });
            let base = ChatInsert {
                id: chat_id.clone(),
                merchant_id: s.merchant.clone(),
                customer_id: customer.row.id.clone(),
                skill: s.skill.clone(),
                channel: "widget",
                status: "abandoned",
                agent_id: None,
                priority: 0,
                queued_at: t0,
                created_at: t0,
                first_offered_at: None,
                accepted_at: None,
                first_response_at: None,
                closed_at: None,
                closed_by: None,
                close_reason: None,
                last_seq: 1,
                customer_messages: 1,
                agent_messages: 0,
                transfers: 0,
                takebacks: 0,
                customer_read_seq: 1,
                agent_read_seq: 0,
                rating: None,
                rating_comment: None,
                rated_at: None,
                customer_token_hash: rng.hex(64),
                customer_name: name,
                last_customer_at: t0,
                idle_warned_at: None,
                handover_note: None,
                kind: None,
                concurrent_at_accept: 0,
            };
            // A few customers give up while queued.
            if rng.chance(3) {
                let gone = t0 + Duration::seconds(rng.between(40, 150));
                events.push(ChatEventInsert {
                    id: new_id(),
                    chat_id: chat_id.clone(),
                    at: gone,
                    kind: "closed",
                    agent_id: None,
                    note: Some("customer"),
                });
                chat_rows.push(ChatInsert {
                    closed_at: Some(gone),
                    closed_by: Some("customer"),
                    ..base
                });
                continue;
            }
            let offered = t0 + Duration::seconds(rng.between(1, if s.peak { 45 } else { 12 }));
            let accepted = offered + Duration::seconds(rng.between(2, 12));
            let first_response = accepted
                + Duration::seconds(if drifting {
                    rng.between(20, 120)
                } else {
                    rng.between(6, 40)
                });
            let follow_up = rng.chance(60);
            let mut last = first_response;
            let mut last_customer = t0;
            messages.push(MessageInsert {
                chat_id: chat_id.clone(),
                seq: 2,
                sender: "agent",
                author_id: Some(agent.clone()),
                body: talk[1],
                client_id: Some(format!("a-{}", rng.hex(12))),
                created_at: first_response,
            });
            if follow_up {
                let asked = last + Duration::seconds(rng.between(20, 90));
                let answered = asked + Duration::seconds(rng.between(15, 100));
                messages.push(MessageInsert {
                    chat_id: chat_id.clone(),
                    seq: 3,
                    sender: "customer",
                    author_id: None,
                    body: talk[2],
                    client_id: Some(format!("c-{}", rng.hex(12))),
                    created_at: asked,
                });
                messages.push(MessageInsert {
                    chat_id: chat_id.clone(),
                    seq: 4,
                    sender: "agent",
                    author_id: Some(agent.clone()),
                    body: talk[3],
                    client_id: Some(format!("a-{}", rng.hex(12))),
                    created_at: answered,
                });
                last_customer = asked;
                last = answered;
            }
            let closed = last + Duration::seconds(rng.between(60, 420));
            let by_agent = rng.chance(80);
            let concurrent = busy_until.iter().filter(|b| **b > accepted).count() as i32;
            busy_until.push(closed);
            let idle = (offered - idle_since).num_seconds().max(0);
            idle_since = idle_since.max(closed);
            last_assigned.insert(s.worker, offered);
            offers.push(OfferInsert {
                id: new_id(),
                chat_id: chat_id.clone(),
                agent_id: agent.clone(),
                offered_at: offered,
                expires_at: offered + offer_timeout,
                idle_secs: i32::try_from(idle).unwrap_or(i32::MAX),
                outcome: Some("accepted"),
                decided_at: Some(accepted),
            });
            for (kind, when, note) in [
                ("offered", offered, None),
                ("accepted", accepted, None),
                (
                    "closed",
                    closed,
                    Some(if by_agent { "agent" } else { "customer" }),
                ),
            ] {
                events.push(ChatEventInsert {
                    id: new_id(),
                    chat_id: chat_id.clone(),
                    at: when,
                    kind,
                    agent_id: Some(agent.clone()),
                    note,
                });
            }
            let rated = rng.chance(65).then(|| {
                let score = rating(rng.between(0, 99) as u32, drifting);
                let comment = rng
                    .chance(15)
                    .then(|| COMMENTS[rng.between(0, COMMENTS.len() as i64 - 1) as usize]);
                (
                    score,
                    comment,
                    closed + Duration::seconds(rng.between(10, 90)),
                )
            });
            if let Some((_, _, when)) = rated {
                events.push(ChatEventInsert {
                    id: new_id(),
                    chat_id: chat_id.clone(),
                    at: when,
                    kind: "rated",
                    agent_id: Some(agent.clone()),
                    note: None,
                });
            }
            let seq = if follow_up { 4 } else { 2 };
            customer.row.last_agent_id = Some(agent.clone());
            customer.row.last_served_at = Some(accepted);
            customer.row.updated_at = accepted;
            chat_rows.push(ChatInsert {
                status: "closed",
                agent_id: Some(agent.clone()),
                first_offered_at: Some(offered),
                accepted_at: Some(accepted),
                first_response_at: Some(first_response),
                closed_at: Some(closed),
                closed_by: Some(if by_agent { "agent" } else { "customer" }),
                last_seq: seq,
                customer_messages: seq / 2,
                agent_messages: seq / 2,
                customer_read_seq: seq,
                agent_read_seq: seq,
                rating: rated.map(|r| r.0),
                rating_comment: rated.and_then(|r| r.1),
                rated_at: rated.map(|r| r.2),
                last_customer_at: last_customer,
                kind: match rng.between(0, 9) {
                    0 => Some("complaint"),
                    1..=3 => Some("after_sale"),
                    4 | 5 => Some("pre_sale"),
                    _ => None,
                },
                concurrent_at_accept: concurrent,
                ..base
            });
        }
    }
    let customer_rows: Vec<CustomerInsert> =
        customers_of.into_iter().flatten().map(|c| c.row).collect();
    insert_all!(conn, customers::table, customer_rows);
    insert_all!(conn, customer_identities::table, identities);
    insert_all!(conn, chats::table, chat_rows);
    insert_all!(conn, chat_messages::table, messages);
    insert_all!(conn, chat_offers::table, offers);
    insert_all!(conn, chat_events::table, events);
    for (w, at) in last_assigned {
        diesel::update(agent_presence::table.find(&workers[w].id))
            .set(agent_presence::last_assigned_at.eq(at))
            .execute(conn)?;
    }
    Ok(chat_rows.len())
}

/// A payroll run per month that ended before today (within the history): computed,
/// published two days after the month, approved three days later and paid two days after
/// that; the last month's is approved but not yet paid when that is still to come.
fn run_payroll(
    conn: &mut DbConn,
    rules: &Ruleset,
    admin: &AccountId,
    tz: Tz,
    today: NaiveDate,
) -> Result<usize, AppError> {
    use crate::payroll::service;
    let first = today - Duration::days(HISTORY_DAYS);
    let mut month = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).unwrap_or(first);
    let mut runs = 0;
    loop {
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
        let last = next - Duration::days(1);
        let published_on = next + Duration::days(2);
        if published_on >= today {
            break;
        }
        let created = at(tz, next + Duration::days(1), 10);
        let id = service::create_run(conn, admin, month, last, rules, created)?;
        service::compute(conn, &id, rules, created + Duration::minutes(2));
        let run = crate::payroll::store::run(conn, &id)?.ok_or(AppError::NotFound)?;
        if run.status != "draft" {
            return Err(AppError::internal(anyhow::anyhow!(
                "demo payroll run for {month} ended {}: {}",
                run.status,
                run.error.unwrap_or_default()
            )));
        }
        service::publish(
            conn,
            admin,
            &id,
            service::DEFAULT_DISPUTE_HOURS,
            "",
            at(tz, published_on, 10),
        )?;
        let approved_on = published_on + Duration::days(3);
        if approved_on < today {
            service::approve(conn, admin, &id, "", at(tz, approved_on, 11))?;
            let paid_on = approved_on + Duration::days(2);
            if paid_on < today {
                service::mark_paid(
                    conn,
                    admin,
                    &id,
                    &format!("DEMO-PAY-{}", month.format("%Y%m")),
                    at(tz, paid_on, 15),
                )?;
            }
        }
        runs += 1;
        month = next;
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn period(id: &str, start: &str, end: &str) -> PeakPeriod {
        PeakPeriod {
            id: id.into(),
            name_en: id.into(),
            name_zh: id.into(),
            start: d(start),
            end: d(end),
            multiplier_bp: 15_000,
            booking_opens_days_before: 60,
            priority_days: 14,
            renews: None,
        }
    }

    #[test]
    fn segments_book_whole_peaks_and_fortnights_between() {
        let periods = [
            period("before", "2026-03-20", "2026-04-05"),
            period("double11", "2026-10-20", "2026-11-11"),
            period("double12", "2026-12-01", "2026-12-12"),
        ];
        let segs = segments(d("2026-04-01"), d("2026-12-05"), &periods);
        // The peak that began before the history is left out, days and all.
        assert_eq!(segs[0].start, d("2026-04-06"));
        assert_eq!(segs[0].end, d("2026-04-19"));
        assert_eq!(segs[0].period, None);
        let peaks: Vec<&Segment> = segs.iter().filter(|s| s.period.is_some()).collect();
        assert_eq!(peaks.len(), 2);
        assert_eq!(peaks[1].start, d("2026-12-01"));
        // A running peak is booked whole.
        assert_eq!(peaks[1].end, d("2026-12-12"));
        assert_eq!(segs.last().unwrap().period.as_deref(), Some("double12"));
    }

    #[test]
    fn the_second_shop_skips_every_other_peak() {
        assert!((0..5).all(|n| books_peak(0, n)));
        assert_eq!(
            (0..4).map(|n| books_peak(1, n)).collect::<Vec<_>>(),
            [true, false, true, false]
        );
    }

    #[test]
    fn the_pool_joins_leaves_returns_and_one_is_suspended() {
        let today = d("2026-12-05");
        let plans = agent_plans(today);
        assert_eq!(plans.len(), POOL_SIZE);
        let first = today - Duration::days(HISTORY_DAYS);
        let joined_in_history = plans.iter().filter(|p| p.certified >= first).count();
        assert!(joined_in_history >= 30, "{joined_in_history}");
        let left = plans.iter().filter(|p| p.left.is_some()).count();
        assert!((7..=12).contains(&left), "{left} left");
        assert!(plans.iter().any(|p| p.returned.is_some()));
        assert_eq!(plans.iter().filter(|p| p.suspended.is_some()).count(), 1);
        assert!(plans.iter().filter(|p| p.drifting).count() >= 2);
        let mut handles: Vec<&str> = plans.iter().map(|p| p.handle.as_str()).collect();
        handles.sort_unstable();
        handles.dedup();
        assert_eq!(handles.len(), POOL_SIZE);
    }

    #[test]
    fn troubled_agents_miss_more_and_ratings_are_mostly_good() {
        let missed = |troubled| {
            (0..100)
                .filter(|r| fate(*r, troubled) != Fate::Worked)
                .count()
        };
        assert_eq!(missed(false), 7);
        assert_eq!(missed(true), 45);
        let good = (0..100).filter(|r| rating(*r, false) >= 4).count();
        assert_eq!(good, 85);
        assert!((0..100).filter(|r| rating(*r, true) >= 4).count() < good);
    }

    #[test]
    fn the_generator_is_the_same_every_time() {
        let a: Vec<u64> = {
            let mut r = Seeded::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = Seeded::new(7);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_eq!(Seeded::new(1).weighted(&[0, 0]), None);
        assert_eq!(Seeded::new(1).weighted(&[0, 5, 0]), Some(1));
    }

    proptest! {
        #[test]
        fn segments_never_overlap_nor_cross_a_peak(
            start in 0i64..400,
            len in 0i64..300,
            peaks in proptest::collection::vec((0i64..700, 1i64..30), 0..5),
        ) {
            let base = d("2026-01-01");
            // Non-overlapping peaks, in order.
            let mut periods = Vec::new();
            let mut after = base;
            for (i, (gap, days)) in peaks.iter().enumerate() {
                let s = after + Duration::days(*gap % 90 + 1);
                let e = s + Duration::days(*days - 1);
                periods.push(PeakPeriod {
                    start: s,
                    end: e,
                    ..period(&format!("p{i}"), "2026-01-01", "2026-01-01")
                });
                after = e;
            }
            let first = base + Duration::days(start);
            let last = first + Duration::days(len);
            let segs = segments(first, last, &periods);
            for w in segs.windows(2) {
                prop_assert!(w[0].end < w[1].start);
            }
            for s in &segs {
                prop_assert!(s.start <= s.end);
                prop_assert!(s.start >= first);
                match &s.period {
                    None => {
                        prop_assert!((s.end - s.start).num_days() < OFF_PEAK_STRETCH);
                        prop_assert!(s.end <= last);
                        prop_assert!(periods.iter().all(|p| s.end < p.start || s.start > p.end));
                    }
                    Some(id) => {
                        let p = periods.iter().find(|p| &p.id == id).unwrap();
                        prop_assert_eq!((s.start, s.end), (p.start, p.end));
                        prop_assert!(p.start <= last);
                    }
                }
            }
            // Every off-peak day in the range is booked.
            let mut day = first;
            while day <= last {
                let peak_day = periods.iter().any(|p| p.start <= day && day <= p.end);
                if !peak_day {
                    prop_assert!(segs.iter().any(|s| s.start <= day && day <= s.end));
                }
                day += Duration::days(1);
            }
        }

        #[test]
        fn every_plan_is_in_order_and_ends_in_its_status(offset in 0i64..3000) {
            let today = d("2024-01-01") + Duration::days(offset);
            for p in agent_plans(today) {
                prop_assert!(p.registered < p.exam_passed);
                prop_assert!(p.exam_passed < p.trial_started);
                prop_assert!(p.trial_started < p.certified);
                prop_assert!(p.certified < today);
                if let Some((left, reason)) = p.left {
                    prop_assert!(left > p.certified && left < today);
                    prop_assert!(LEAVE_REASONS.contains(&reason));
                    prop_assert!(!p.in_pool(left));
                }
                if let Some(back) = p.returned {
                    prop_assert!(p.left.is_some_and(|(l, _)| back > l) && back < today);
                    prop_assert!(p.in_pool(back));
                }
                if let Some(s) = p.suspended {
                    prop_assert!(s > p.certified && !p.in_pool(s));
                    prop_assert!(p.left.is_none());
                }
                prop_assert_eq!(p.in_pool(today), p.status() == "certified");
            }
        }
    }
}
