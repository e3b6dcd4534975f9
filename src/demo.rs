//! `cloudseat demo`: fills an empty database with a believable small world (two shops with
//! staff, agents in every lifecycle state with their history, an admin, and bookings for the
//! next open peak: one confirmed with its shifts open to every certified agent, one on hold) so that the pages show a
//! living system. Every demo login shares one password, printed at the end.

use chrono::{Duration, NaiveDateTime};

use crate::accounts::model::{AccountId, AgentStatus, Locale, MerchantId, Role};
use crate::accounts::store::{self, NewAccount};
use crate::audit::{self, LifecycleEvent};
use crate::db::{DbConn, now, write_transaction};
use crate::seats::booking::BookingInput;
use crate::seats::rules::Ruleset;
use crate::seats::service as seats;

pub const DEMO_PASSWORD: &str = "demo-harbour-lantern-2026";

pub struct DemoLogin {
    pub email: String,
    pub role: Role,
    pub note: String,
}

struct Person<'a> {
    email: &'a str,
    name: &'a str,
    locale: Locale,
    zone: &'a str,
}

/// The path each demo agent took through the lifecycle, oldest step first.
fn history(status: AgentStatus) -> Vec<AgentStatus> {
    use AgentStatus::*;
    match status {
        Applicant => vec![Applicant],
        ExamPassed => vec![Applicant, ExamPassed],
        InTrial => vec![Applicant, ExamPassed, InTrial],
        Certified => vec![Applicant, ExamPassed, InTrial, Certified],
        Suspended => vec![Applicant, ExamPassed, InTrial, Certified, Suspended],
        Left => vec![Applicant, ExamPassed, InTrial, Certified, Left],
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database already has accounts; demo data only goes into an empty database")]
    NotEmpty,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn insert_person(
    conn: &mut DbConn,
    p: &Person<'_>,
    role: Role,
    merchant: Option<&MerchantId>,
    hash: &str,
    at: NaiveDateTime,
) -> Result<AccountId, DemoError> {
    let id = AccountId::new();
    store::insert_account(
        conn,
        &NewAccount {
            id: &id,
            email: p.email,
            password_hash: hash,
            role: role.as_str(),
            merchant_id: merchant,
            display_name: p.name,
            locale: p.locale.as_str(),
            time_zone: p.zone,
            email_verified_at: Some(at),
            password_changed_at: at,
            created_at: at,
            updated_at: at,
        },
    )?;
    Ok(id)
}

pub fn fill(conn: &mut DbConn, rules: &Ruleset) -> Result<Vec<DemoLogin>, DemoError> {
    use diesel::prelude::*;
    let accounts: i64 = crate::db::schema::accounts::table
        .count()
        .get_result(conn)?;
    if accounts > 0 {
        return Err(DemoError::NotEmpty);
    }
    let hash = crate::auth::password::hash_blocking(DEMO_PASSWORD)?;
    write_transaction(conn, |conn| {
        let now = now();
        let mut logins = Vec::new();

        let admin = Person {
            email: "admin@demo.cloudseat.localhost",
            name: "Zhou Min 周敏",
            locale: Locale::ZhCn,
            zone: "Asia/Shanghai",
        };
        let admin_id = insert_person(
            conn,
            &admin,
            Role::Admin,
            None,
            &hash,
            now - Duration::days(400),
        )?;
        logins.push(DemoLogin {
            email: admin.email.into(),
            role: Role::Admin,
            note: "platform admin".into(),
        });

        let shops = [
            (
                "Jade Garden Tea 茶语轩",
                vec![
                    Person {
                        email: "owner@jadegarden.demo.cloudseat.localhost",
                        name: "Chen Jing 陈静",
                        locale: Locale::ZhCn,
                        zone: "Asia/Shanghai",
                    },
                    Person {
                        email: "service@jadegarden.demo.cloudseat.localhost",
                        name: "Liu Yang 刘洋",
                        locale: Locale::ZhCn,
                        zone: "Asia/Shanghai",
                    },
                ],
                320,
            ),
            (
                "Northwind Outdoor 北风户外",
                vec![Person {
                    email: "ops@northwind.demo.cloudseat.localhost",
                    name: "Emma Clarke",
                    locale: Locale::En,
                    zone: "Asia/Hong_Kong",
                }],
                90,
            ),
        ];
        let mut owners: Vec<(AccountId, MerchantId)> = Vec::new();
        let mut history_shops = Vec::new();
        for (shop, staff, age_days) in shops {
            let mid = MerchantId::new();
            let joined = now - Duration::days(age_days);
            store::insert_merchant(conn, &mid, shop, joined)?;
            for (i, person) in staff.into_iter().enumerate() {
                let id = insert_person(
                    conn,
                    &person,
                    Role::MerchantStaff,
                    Some(&mid),
                    &hash,
                    joined,
                )?;
                let mut note = shop.to_owned();
                if i == 0 {
                    history_shops.push(crate::demo_history::Shop {
                        owner: id.clone(),
                        merchant: mid.clone(),
                        joined,
                    });
                    owners.push((id, mid.clone()));
                    // The shop front with the chat widget, for trying the customer side.
                    let (key, _) = crate::merchant_api::keys::widget_key(conn, &mid, now)?;
                    note = format!("{shop}; shop front: /demo/shop?key={}", key.widget_key);
                }
                logins.push(DemoLogin {
                    email: person.email.into(),
                    role: Role::MerchantStaff,
                    note,
                });
            }
        }

        let agents = [
            (
                "wang.fang",
                "Wang Fang 王芳",
                AgentStatus::Certified,
                210,
                Locale::ZhCn,
            ),
            (
                "li.na",
                "Li Na 李娜",
                AgentStatus::Certified,
                150,
                Locale::ZhCn,
            ),
            (
                "zhang.wei",
                "Zhang Wei 张伟",
                AgentStatus::Certified,
                95,
                Locale::ZhCn,
            ),
            (
                "sun.li",
                "Sun Li 孙丽",
                AgentStatus::InTrial,
                20,
                Locale::ZhCn,
            ),
            (
                "huang.lei",
                "Huang Lei 黄磊",
                AgentStatus::ExamPassed,
                12,
                Locale::ZhCn,
            ),
            (
                "zhao.min",
                "Zhao Min 赵敏",
                AgentStatus::Applicant,
                3,
                Locale::ZhCn,
            ),
            (
                "maria.santos",
                "Maria Santos",
                AgentStatus::Applicant,
                1,
                Locale::En,
            ),
            (
                "liu.hao",
                "Liu Hao 刘浩",
                AgentStatus::Suspended,
                180,
                Locale::ZhCn,
            ),
            (
                "chen.xin",
                "Chen Xin 陈欣",
                AgentStatus::Left,
                260,
                Locale::ZhCn,
            ),
        ];
        let mut demo_agents = Vec::new();
        for (handle, name, status, age_days, locale) in agents {
            let email = format!("{handle}@agents.demo.cloudseat.localhost");
            let joined = now - Duration::days(age_days);
            let person = Person {
                email: &email,
                name,
                locale,
                zone: "Asia/Shanghai",
            };
            let id = insert_person(conn, &person, Role::Agent, None, &hash, joined)?;
            let steps = history(status);
            // Spread the steps over the agent's time with us, the last one a few days ago.
            let span = Duration::days(age_days.max(1));
            let mut previous: Option<AgentStatus> = None;
            let mut demo = crate::certification::demo::DemoAgent {
                id: id.clone(),
                status,
                exam_passed_at: None,
                certified_at: None,
            };
            for (i, step) in steps.iter().enumerate() {
                let at = joined + span * i as i32 / steps.len() as i32;
                match step {
                    AgentStatus::ExamPassed => demo.exam_passed_at = Some(at),
                    AgentStatus::Certified => demo.certified_at = Some(at),
                    _ => {}
                }
                audit::record_lifecycle(
                    conn,
                    LifecycleEvent {
                        entity_type: "agent",
                        entity_id: id.as_str(),
                        from_state: previous.map(|p| p.as_str()),
                        to_state: step.as_str(),
                        actor: Some(&id),
                        reason: Some("demo history"),
                    },
                    at,
                )?;
                previous = Some(*step);
            }
            store::insert_agent(conn, &id, status.as_str(), joined)?;
            if matches!(status, AgentStatus::Suspended | AgentStatus::Left) {
                // Both were certified first; reinstating or coming back restores that.
                use crate::db::schema::agents;
                use diesel::prelude::*;
                diesel::update(agents::table.find(&id))
                    .set((
                        agents::previous_status.eq(AgentStatus::Certified.as_str()),
                        agents::left_reason
                            .eq((status == AgentStatus::Left).then_some("found_other_work")),
                    ))
                    .execute(conn)?;
            }
            logins.push(DemoLogin {
                email,
                role: Role::Agent,
                note: status.as_str().into(),
            });
            demo_agents.push(demo);
        }
        let skills: Vec<String> = rules.skills.iter().map(|s| s.id.clone()).collect();
        crate::certification::demo::seed(conn, &skills, &demo_agents, &admin_id, now).map_err(
            |e| DemoError::Other(anyhow::anyhow!("demo certification data failed: {e}")),
        )?;
        let history = crate::demo_history::fill(conn, rules, &admin_id, &history_shops, &hash, now)
            .map_err(|e| DemoError::Other(anyhow::anyhow!("demo history failed: {e:?}")))?;
        tracing::info!(
            agents = history.agents,
            bookings = history.bookings,
            shifts_worked = history.shifts_worked,
            chats = history.chats,
            payroll_runs = history.payroll_runs,
            "demo history written"
        );
        book_next_peak(conn, rules, &owners)?;
        Ok(logins)
    })
}

/// Books the next peak that is open: a confirmed booking (with its shifts) for the first
/// shop and a fresh hold for the second, through the same code as the API.
fn book_next_peak(
    conn: &mut DbConn,
    rules: &Ruleset,
    owners: &[(AccountId, MerchantId)],
) -> Result<(), DemoError> {
    let clock = crate::clock::Clock::default();
    let today = clock.today_in(rules.market.time_zone);
    let Some(peak) = rules
        .periods
        .iter()
        .find(|p| p.start > today && today >= p.opens_on())
    else {
        return Ok(());
    };
    let Some(skill) = rules.skills.first() else {
        return Ok(());
    };
    let request = |days: i64, seats: i64| BookingInput {
        skill: skill.id.clone(),
        start_date: peak.start.to_string(),
        end_date: (peak.start + Duration::days(days - 1))
            .min(peak.end)
            .to_string(),
        daily_start_hour: i64::from(rules.market.bookable_start_hour),
        daily_end_hour: i64::from(rules.market.bookable_end_hour),
        seats,
    };
    let to_demo =
        |e: crate::error::AppError| DemoError::Other(anyhow::anyhow!("demo booking failed: {e}"));
    if let Some((staff, merchant)) = owners.first() {
        let row = seats::place_tx(
            conn,
            rules,
            today,
            clock.now(),
            staff,
            merchant,
            &request(3, 20),
        )
        .map_err(to_demo)?;
        let actor = seats::Actor::Staff {
            account: staff.clone(),
            merchant: merchant.clone(),
        };
        let confirm = seats::ConfirmRequest {
            payment_reference: Some("DEMO-0001".into()),
            paid_fen: None,
        };
        seats::confirm_tx(conn, rules, clock.now(), &actor, &row.id, &confirm)
            .map_err(to_demo)?
            .map_err(to_demo)?;
        // As if confirmed before the early-access window: the demo's certified agents find
        // its shifts open on the job board straight away.
        {
            use crate::db::schema::bookings;
            use diesel::prelude::*;
            let earlier =
                clock.now() - Duration::hours(i64::from(rules.shifts.early_access_hours) + 1);
            diesel::update(bookings::table.find(&row.id))
                .set(bookings::confirmed_at.eq(earlier))
                .execute(conn)?;
        }
    }
    if let Some((staff, merchant)) = owners.get(1) {
        seats::place_tx(
            conn,
            rules,
            today,
            clock.now(),
            staff,
            merchant,
            &request(2, 8),
        )
        .map_err(to_demo)?;
    }
    Ok(())
}
