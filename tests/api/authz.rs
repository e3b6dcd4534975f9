//! Who may call what: every endpoint against every role, including a second shop that must
//! not see the first one's data. A test below fails when an endpoint in the OpenAPI
//! document has no row here.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Session, TestApp, day};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Agent,
    ShopA,
    ShopB,
    Admin,
}

const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::Agent,
    Who::ShopA,
    Who::ShopB,
    Who::Admin,
];

/// Admins only; `admin` is what an admin gets.
fn admin_only(admin: u16) -> [(Who, u16); 5] {
    [
        (Who::Anonymous, 401),
        (Who::Agent, 403),
        (Who::ShopA, 403),
        (Who::ShopB, 403),
        (Who::Admin, admin),
    ]
}

/// The signed-in agent's own business: only the agent.
fn agent_only(ok: u16) -> [(Who, u16); 5] {
    [
        (Who::Anonymous, 401),
        (Who::Agent, ok),
        (Who::ShopA, 403),
        (Who::ShopB, 403),
        (Who::Admin, 403),
    ]
}

/// Changes to shop A's integration settings: its staff only (an admin may read them, not
/// create, rotate or revoke secrets), shop B learns nothing (404).
fn shop_a_only(ok: u16) -> [(Who, u16); 5] {
    [
        (Who::Anonymous, 401),
        (Who::Agent, 403),
        (Who::ShopA, ok),
        (Who::ShopB, 404),
        (Who::Admin, 403),
    ]
}

/// Shop A's own data: its staff and admins get `ok`, shop B learns nothing (404).
fn shop_a_data(ok: u16) -> [(Who, u16); 5] {
    [
        (Who::Anonymous, 401),
        (Who::Agent, 403),
        (Who::ShopA, ok),
        (Who::ShopB, 404),
        (Who::Admin, ok),
    ]
}

struct Cast {
    /// Shop A's bookings: one to read, one to confirm, one to cancel.
    bookings: [String; 3],
    /// An exam attempt of the agent's (on the `pre_sale` track).
    attempt: String,
    /// A quick reply of shop A's.
    quick_reply: String,
    agent: Session,
    shop_a: Session,
    shop_b: Session,
    admin: Session,
    sent_mail: String,
    /// Shop A's integration settings: an API key, two webhook endpoints (one to delete)
    /// and a delivery to the first.
    api_key: String,
    endpoint: String,
    doomed_endpoint: String,
    delivery: String,
    /// A chat of shop A's (a message left through its widget) and its customer.
    chat: String,
    customer: String,
}

impl Cast {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Agent => Some(&self.agent.access),
            Who::ShopA => Some(&self.shop_a.access),
            Who::ShopB => Some(&self.shop_b.access),
            Who::Admin => Some(&self.admin.access),
        }
    }
}

/// An endpoint that needs a role: the documented path, a concrete path, a body, and the
/// status each caller gets.
struct Rule {
    method: &'static str,
    documented: &'static str,
    path: String,
    body: Option<Value>,
    expect: [(Who, u16); 5],
}

/// A run (or dispute) id nobody has.
const NO_RUN: &str = "00000000-0000-7000-8000-000000000000";

fn rules(app: &TestApp, cast: &Cast) -> Vec<Rule> {
    let a = cast.shop_a.merchant_id();
    let invite = |who: &str| json!({"email": app.unique_email(who), "display_name": "Invitee"});
    let slot_start = app.clock.now().and_utc() + chrono::Duration::days(2);
    vec![
        Rule {
            method: "GET",
            documented: "/api/me",
            path: "/api/me".into(),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 200),
                (Who::ShopA, 200),
                (Who::ShopB, 200),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}",
            path: format!("/api/merchants/{a}"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/staff",
            path: format!("/api/merchants/{a}/staff"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/staff",
            path: format!("/api/merchants/{a}/staff"),
            body: Some(invite("staff")),
            expect: shop_a_data(201),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/admins",
            path: "/api/admin/admins".into(),
            body: Some(invite("newadmin")),
            expect: admin_only(201),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/outbox",
            path: "/api/admin/outbox".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/outbox/{outbox_id}/retry",
            path: format!("/api/admin/outbox/{}/retry", cast.sent_mail),
            body: None,
            // The mail was delivered, so even an admin gets "not failed".
            expect: admin_only(409),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/seat-rules/reload",
            path: "/api/admin/seat-rules/reload".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/bookings",
            path: "/api/bookings".into(),
            body: Some(
                json!({"skill": "pre_sale", "start_date": day(25), "end_date": day(25),
                              "daily_start_hour": 8, "daily_end_hour": 12, "seats": 1}),
            ),
            // Only shops book (an admin acts on existing bookings).
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 201),
                (Who::ShopB, 201),
                (Who::Admin, 403),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/bookings",
            path: "/api/bookings".into(),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 200),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/bookings/{booking_id}",
            path: format!("/api/bookings/{}", cast.bookings[0]),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/bookings/{booking_id}/confirm",
            path: format!("/api/bookings/{}/confirm", cast.bookings[1]),
            body: None,
            // Shop A confirms first; the admin then finds it no longer held.
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 409),
            ],
        },
        Rule {
            method: "POST",
            documented: "/api/bookings/{booking_id}/cancel",
            path: format!("/api/bookings/{}/cancel", cast.bookings[2]),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 409),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/capacity",
            path: format!(
                "/api/capacity?skill=general&from={}&to={}",
                day(21),
                day(22)
            ),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 200),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/profile",
            path: "/api/agents/me/profile".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/agents/me/profile",
            path: "/api/agents/me/profile".into(),
            body: Some(
                json!({"display_name": "Agent", "time_zone": "Asia/Shanghai", "languages": ["zh"],
                              "skills": ["general"], "availability": [], "max_concurrent_chats": 2}),
            ),
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/agents/me/leave",
            path: "/api/agents/me/leave".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/agents/me/return",
            path: "/api/agents/me/return".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/agents/{agent_id}/suspend",
            path: format!("/api/admin/agents/{}/suspend", cast.agent.id()),
            body: Some(json!({"reason": "authorization test"})),
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/agents/{agent_id}/reinstate",
            path: format!("/api/admin/agents/{}/reinstate", cast.agent.id()),
            body: Some(json!({"reason": "authorization test"})),
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents",
            path: "/api/admin/agents?skill=general&sort=-quality".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/export.csv",
            path: "/api/admin/agents/export.csv?status=applicant".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/timeline",
            path: format!("/api/admin/agents/{}/timeline", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        // The operations dashboard: admins only.
        Rule {
            method: "GET",
            documented: "/api/admin/operations",
            path: "/api/admin/operations?days=2".into(),
            body: None,
            expect: admin_only(200),
        },
        // At-risk agents and follow-ups: admins only; shops (A or B) see nothing.
        Rule {
            method: "GET",
            documented: "/api/admin/analytics/at-risk",
            path: "/api/admin/analytics/at-risk?min_score=0&skill=general".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/analytics/at-risk/export.csv",
            path: "/api/admin/analytics/at-risk/export.csv?min_score=0".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/agents/{agent_id}/follow-ups",
            path: format!("/api/admin/agents/{}/follow-ups", cast.agent.id()),
            body: Some(
                json!({"channel": "phone", "outcome": "staying", "note": "authorization test"}),
            ),
            expect: admin_only(201),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/follow-ups",
            path: format!("/api/admin/agents/{}/follow-ups", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/admin/exam-tracks/{skill}",
            path: "/api/admin/exam-tracks/general".into(),
            body: Some(
                json!({"exam_size": 2, "pass_percent": 80, "duration_minutes": 30,
                              "cooldown_hours": 24, "max_attempts_per_30_days": 3}),
            ),
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/exam-tracks",
            path: "/api/admin/exam-tracks".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/exam-tracks/{skill}/questions/import",
            path: "/api/admin/exam-tracks/general/questions/import".into(),
            body: Some(
                json!({"format": "toml", "content": "[[question]]\ntopic = \"t\"\nkind = \"single\"\nprompt = \"Pick A\"\noptions = [\"A\", \"B\"]\ncorrect = [1]\n"}),
            ),
            expect: admin_only(201),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/exam-tracks/{skill}/questions",
            path: "/api/admin/exam-tracks/general/questions".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/exams/{skill}/attempts",
            path: "/api/exams/general/attempts".into(),
            body: None,
            expect: agent_only(201),
        },
        Rule {
            method: "GET",
            documented: "/api/attempts/{attempt_id}",
            path: format!("/api/attempts/{}", cast.attempt),
            body: None,
            // Only its agent; the cast's agent owns this one.
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/attempts/{attempt_id}/answers",
            path: format!("/api/attempts/{}/answers", cast.attempt),
            body: Some(json!({"answers": []})),
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/attempts/{attempt_id}/submit",
            path: format!("/api/attempts/{}/submit", cast.attempt),
            body: None,
            expect: agent_only(200),
        },
        // Reviews, trials and certifications. Ids of nothing the caller owns: another
        // agent's trial answers exactly like a missing one (tests/api/trials.rs).
        Rule {
            method: "GET",
            documented: "/api/admin/exam-reviews",
            path: "/api/admin/exam-reviews".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/exam-reviews/{attempt_id}",
            // Submitted by the rows above, so a reviewer may read it.
            path: format!("/api/admin/exam-reviews/{}", cast.attempt),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/exam-reviews/{attempt_id}",
            path: format!("/api/admin/exam-reviews/{}", cast.attempt),
            body: Some(json!({"marks": []})),
            expect: admin_only(409),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/exam-tracks/{skill}/trial",
            path: "/api/admin/exam-tracks/pre_sale/trial".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/admin/exam-tracks/{skill}/trial",
            path: "/api/admin/exam-tracks/pre_sale/trial".into(),
            body: Some(
                serde_json::to_value(cloudseat::certification::trial::TrialRules::default())
                    .unwrap(),
            ),
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/trial-slots",
            path: "/api/admin/trial-slots".into(),
            body: Some(
                json!({"skill": "pre_sale", "starts_at": slot_start, "ends_at": slot_start + chrono::Duration::hours(2), "capacity": 5}),
            ),
            expect: admin_only(201),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/trial-slots",
            path: "/api/admin/trial-slots".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/trial-reviews",
            path: "/api/admin/trial-reviews".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/trial-reviews/{trial_id}",
            path: "/api/admin/trial-reviews/00000000-0000-7000-8000-000000000000".into(),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/trial-reviews/{trial_id}",
            path: "/api/admin/trial-reviews/00000000-0000-7000-8000-000000000000".into(),
            body: Some(json!({"marks": []})),
            expect: admin_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/trial-slots",
            path: "/api/trial-slots".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/trial-slots/{slot_id}/book",
            path: "/api/trial-slots/00000000-0000-7000-8000-000000000000/book".into(),
            body: None,
            // The cast's agent has passed no exam yet: let in, and told so.
            expect: agent_only(409),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/trials",
            path: "/api/agents/me/trials".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/certifications",
            path: "/api/agents/me/certifications".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/trials/{trial_id}",
            path: "/api/trials/00000000-0000-7000-8000-000000000000".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/trials/{trial_id}/cancel",
            path: "/api/trials/00000000-0000-7000-8000-000000000000/cancel".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/trials/{trial_id}/begin",
            path: "/api/trials/00000000-0000-7000-8000-000000000000/begin".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/trials/{trial_id}/replies",
            path: "/api/trials/00000000-0000-7000-8000-000000000000/replies".into(),
            body: Some(json!({"chat": 0, "text": "Hello"})),
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/trials/{trial_id}/finish",
            path: "/api/trials/00000000-0000-7000-8000-000000000000/finish".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/audit-log",
            path: "/api/admin/audit-log".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/shifts/open",
            path: "/api/shifts/open".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/shifts/mine",
            path: "/api/shifts/mine".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/shifts/swaps",
            path: "/api/shifts/swaps".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/shifts/{shift_id}/claim",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/claim".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/shifts/{shift_id}/release",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/release".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/shifts/{shift_id}/check-in",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/check-in".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/shifts/{shift_id}/check-out",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/check-out".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/shifts/{shift_id}/swap",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/swap".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/shifts/{shift_id}/take",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/take".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "DELETE",
            documented: "/api/shifts/{shift_id}/swap",
            path: "/api/shifts/00000000-0000-7000-8000-000000000000/swap".into(),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/shift-preferences",
            path: "/api/agents/me/shift-preferences".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/agents/me/shift-preferences",
            path: "/api/agents/me/shift-preferences".into(),
            body: Some(json!({"auto_assign": true, "urgent_alerts": false})),
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/calendar",
            path: "/api/agents/me/calendar".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/agents/me/calendar/rotate",
            path: "/api/agents/me/calendar/rotate".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/bookings/{booking_id}/staffing",
            path: format!("/api/bookings/{}/staffing", cast.bookings[0]),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/staffing",
            path: format!("/api/merchants/{a}/staffing"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/shifts/coverage",
            path: "/api/admin/shifts/coverage".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/shifts/no-shows",
            path: "/api/admin/shifts/no-shows".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/shifts/auto-fill",
            path: "/api/admin/shifts/auto-fill".into(),
            body: Some(json!({"days": 3})),
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/adherence",
            path: "/api/agents/me/adherence".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/adherence",
            path: format!("/api/admin/agents/{}/adherence", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/level",
            path: "/api/agents/me/level".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/level",
            path: format!("/api/admin/agents/{}/level", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchant/briefing",
            path: format!("/api/merchant/briefing?merchant_id={a}"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/merchant/briefing",
            path: format!("/api/merchant/briefing?merchant_id={a}"),
            body: Some(
                json!({"version": 0, "products": "Tea", "shipping": "", "returns": "", "other": ""}),
            ),
            // Shop A saves version 1 first, so the admin's save of version 0 is stale.
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 409),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/merchant/briefing/revisions",
            path: format!("/api/merchant/briefing/revisions?merchant_id={a}"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchant/quick-replies",
            path: format!("/api/merchant/quick-replies?merchant_id={a}"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchant/quick-replies/reorder",
            path: format!("/api/merchant/quick-replies/reorder?merchant_id={a}"),
            body: Some(json!({"ids": [cast.quick_reply]})),
            expect: shop_a_data(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/merchant/quick-replies/{quick_reply_id}",
            path: format!(
                "/api/merchant/quick-replies/{}?merchant_id={a}",
                cast.quick_reply
            ),
            body: Some(json!({"title": "Hi", "body": "Hi there"})),
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchant/quick-replies",
            path: format!("/api/merchant/quick-replies?merchant_id={a}"),
            body: Some(json!({"title": "Bye", "body": "Goodbye"})),
            expect: shop_a_data(201),
        },
        Rule {
            method: "DELETE",
            documented: "/api/merchant/quick-replies/{quick_reply_id}",
            path: format!(
                "/api/merchant/quick-replies/{}?merchant_id={a}",
                cast.quick_reply
            ),
            body: None,
            // Shop A deletes it first, so the admin finds nothing left.
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 204),
                (Who::ShopB, 404),
                (Who::Admin, 404),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/agent/merchants/{merchant_id}/briefing",
            path: format!("/api/agent/merchants/{a}/briefing"),
            body: None,
            // Only agents, and only around a shift of the shop (tests/api/briefing.rs).
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 404),
                (Who::ShopA, 403),
                (Who::ShopB, 403),
                (Who::Admin, 403),
            ],
        },
        // The integration layer. A session token is not an API key, whoever holds it.
        Rule {
            method: "GET",
            documented: "/api/merchant-api/whoami",
            path: "/api/merchant-api/whoami".into(),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 401),
                (Who::ShopA, 401),
                (Who::ShopB, 401),
                (Who::Admin, 401),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/widget-key",
            path: format!("/api/merchants/{a}/widget-key"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/widget-key/rotate",
            path: format!("/api/merchants/{a}/widget-key/rotate"),
            body: None,
            expect: shop_a_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/api-keys",
            path: format!("/api/merchants/{a}/api-keys"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/api-keys",
            path: format!("/api/merchants/{a}/api-keys"),
            body: Some(json!({"label": "authorization test"})),
            expect: shop_a_only(201),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/api-keys/{key_id}/revoke",
            path: format!("/api/merchants/{a}/api-keys/{}/revoke", cast.api_key),
            body: None,
            expect: shop_a_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/webhooks",
            path: format!("/api/merchants/{a}/webhooks"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/webhooks",
            path: format!("/api/merchants/{a}/webhooks"),
            body: Some(json!({"url": "http://127.0.0.1:9/hooks", "events": ["ping"]})),
            expect: shop_a_only(201),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}",
            path: format!("/api/merchants/{a}/webhooks/{}", cast.endpoint),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}",
            path: format!("/api/merchants/{a}/webhooks/{}", cast.endpoint),
            body: Some(
                json!({"url": "http://127.0.0.1:9/hooks", "events": ["ping", "chat.closed"]}),
            ),
            expect: shop_a_only(200),
        },
        Rule {
            method: "DELETE",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}",
            path: format!("/api/merchants/{a}/webhooks/{}", cast.doomed_endpoint),
            body: None,
            expect: shop_a_only(204),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}/rotate-secret",
            path: format!(
                "/api/merchants/{a}/webhooks/{}/rotate-secret",
                cast.endpoint
            ),
            body: None,
            expect: shop_a_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}/deliveries",
            path: format!("/api/merchants/{a}/webhooks/{}/deliveries", cast.endpoint),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry",
            path: format!(
                "/api/merchants/{a}/webhooks/{}/deliveries/{}/retry",
                cast.endpoint, cast.delivery
            ),
            body: None,
            // The ping has not failed for good, so even its shop is told "not failed".
            expect: shop_a_only(409),
        },
        Rule {
            method: "POST",
            documented: "/api/merchants/{merchant_id}/webhooks/{endpoint_id}/ping",
            path: format!("/api/merchants/{a}/webhooks/{}/ping", cast.endpoint),
            body: None,
            expect: shop_a_only(202),
        },
        // Live chat records. Agents see only chats they hold or took (tests/api/chat.rs).
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/chats",
            path: format!("/api/merchants/{a}/chats"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/chats/{chat_id}",
            path: format!("/api/chats/{}", cast.chat),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 404),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/customers/{customer_id}",
            path: format!("/api/customers/{}", cast.customer),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 404),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "PUT",
            documented: "/api/customers/{customer_id}/notes",
            path: format!("/api/customers/{}/notes", cast.customer),
            body: Some(json!({"notes": "Ordered 3 boxes of green tea on 11.11"})),
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/agent/chats",
            path: "/api/agent/chats".into(),
            body: None,
            expect: agent_only(200),
        },
        // How fairly shop A's chats went to its agents: its staff and admins; every shop's
        // at once for admins only (tests/api/chat_fairness.rs checks the figures).
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/chat-fairness",
            path: format!("/api/merchants/{a}/chat-fairness"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/chat-fairness",
            path: format!("/api/admin/chat-fairness?merchant_id={a}"),
            body: None,
            expect: admin_only(200),
        },
        // Quality. Shop A's chat was left as a message (no agent), so its reviewers get as
        // far as `chat_not_reviewable` (tests/api/quality.rs reviews served chats).
        Rule {
            method: "POST",
            documented: "/api/chats/{chat_id}/reviews",
            path: format!("/api/chats/{}/reviews", cast.chat),
            body: Some(json!({"scores": [{"criterion": "accuracy", "score": 4}]})),
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 409),
                (Who::ShopB, 404),
                (Who::Admin, 409),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/chats/{chat_id}/reviews",
            path: format!("/api/chats/{}/reviews", cast.chat),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/reviews",
            path: "/api/agents/me/reviews".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/quality",
            path: "/api/agents/me/quality".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/quality",
            path: format!("/api/admin/agents/{}/quality", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        // No review of the agent's exists here: the agent learns nothing more than 404.
        Rule {
            method: "POST",
            documented: "/api/reviews/{review_id}/dispute",
            path: "/api/reviews/0190a5c4-0000-7000-8000-000000000000/dispute".into(),
            body: Some(json!({"reason": "unfair"})),
            expect: agent_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/review-disputes",
            path: "/api/admin/review-disputes".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/review-disputes/{dispute_id}/resolve",
            path: "/api/admin/review-disputes/0190a5c4-0000-7000-8000-000000000000/resolve".into(),
            body: Some(json!({"decision": "reject", "answer": "the review stands"})),
            expect: admin_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/quality/sample",
            path: "/api/admin/quality/sample".into(),
            body: None,
            expect: admin_only(200),
        },
        // The model-chat library: admins and certified agents (the cast's agent is not).
        Rule {
            method: "GET",
            documented: "/api/model-chats",
            path: "/api/model-chats".into(),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 403),
                (Who::ShopB, 403),
                (Who::Admin, 200),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/model-chats/{model_chat_id}",
            path: "/api/model-chats/0190a5c4-0000-7000-8000-000000000000".into(),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 403),
                (Who::ShopB, 403),
                (Who::Admin, 404),
            ],
        },
        // Payroll: admins only; an agent sees only their own payslips (a run that does not
        // exist, or is not theirs, is 404); shops see nothing (tests/api/payroll.rs).
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/runs",
            path: "/api/admin/payroll/runs".into(),
            body: Some(json!({"from": "2020-01-01", "to": "2020-01-15"})),
            expect: admin_only(202),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/payroll/runs",
            path: "/api/admin/payroll/runs".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/payroll/runs/{run_id}",
            path: format!("/api/admin/payroll/runs/{NO_RUN}"),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/payroll/runs/{run_id}/payslips",
            path: format!("/api/admin/payroll/runs/{NO_RUN}/payslips"),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/runs/{run_id}/recompute",
            path: format!("/api/admin/payroll/runs/{NO_RUN}/recompute"),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/runs/{run_id}/publish",
            path: format!("/api/admin/payroll/runs/{NO_RUN}/publish"),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/runs/{run_id}/approve",
            path: format!("/api/admin/payroll/runs/{NO_RUN}/approve"),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/runs/{run_id}/mark-paid",
            path: format!("/api/admin/payroll/runs/{NO_RUN}/mark-paid"),
            body: Some(json!({"reference": "BANK-1"})),
            expect: admin_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/payroll/runs/{run_id}/bank-file.csv",
            path: format!("/api/admin/payroll/runs/{NO_RUN}/bank-file.csv"),
            body: None,
            expect: admin_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/payroll/disputes",
            path: "/api/admin/payroll/disputes".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/disputes/{dispute_id}/resolve",
            path: format!("/api/admin/payroll/disputes/{NO_RUN}/resolve"),
            body: Some(json!({"decision": "reject", "answer": "no"})),
            expect: admin_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/admin/payroll/adjustments",
            path: "/api/admin/payroll/adjustments".into(),
            body: Some(json!({"agent_id": NO_RUN, "amount_fen": 500, "reason": "missed shift"})),
            expect: admin_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/payroll/adjustments",
            path: "/api/admin/payroll/adjustments?status=pending".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/payslips",
            path: "/api/agents/me/payslips".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/earnings",
            path: "/api/agents/me/earnings".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/payslips/{run_id}",
            path: format!("/api/agents/me/payslips/{NO_RUN}"),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/payslips/{run_id}.csv",
            path: format!("/api/agents/me/payslips/{NO_RUN}.csv"),
            body: None,
            expect: agent_only(404),
        },
        Rule {
            method: "POST",
            documented: "/api/agents/me/payslips/{run_id}/disputes",
            path: format!("/api/agents/me/payslips/{NO_RUN}/disputes"),
            body: Some(json!({"line": NO_RUN, "reason": "short"})),
            expect: agent_only(404),
        },
        // Only the agent who took a chat classifies it; this one nobody took.
        Rule {
            method: "PUT",
            documented: "/api/chats/{chat_id}/kind",
            path: format!("/api/chats/{}/kind", cast.chat),
            body: Some(json!({"kind": "complaint"})),
            expect: agent_only(404),
        },
        // Shop A's staff close it; the admin then finds it closed.
        Rule {
            method: "POST",
            documented: "/api/chats/{chat_id}/close",
            path: format!("/api/chats/{}/close", cast.chat),
            body: Some(json!({"reason": "answered by phone"})),
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 200),
                (Who::ShopB, 404),
                (Who::Admin, 409),
            ],
        },
        // The chat API takes a shop's secret API key; a session token is none.
        Rule {
            method: "POST",
            documented: "/api/chats",
            path: "/api/chats".into(),
            body: Some(json!({"skill": "general"})),
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 401),
                (Who::ShopA, 401),
                (Who::ShopB, 401),
                (Who::Admin, 401),
            ],
        },
        Rule {
            method: "POST",
            documented: "/api/chats/{chat_id}/messages",
            path: format!("/api/chats/{}/messages", cast.chat),
            body: Some(json!({"client_id": "x", "body": "hi"})),
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 401),
                (Who::ShopA, 401),
                (Who::ShopB, 401),
                (Who::Admin, 401),
            ],
        },
        Rule {
            method: "GET",
            documented: "/api/chats/{chat_id}/messages",
            path: format!("/api/chats/{}/messages", cast.chat),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 401),
                (Who::ShopA, 401),
                (Who::ShopB, 401),
                (Who::Admin, 401),
            ],
        },
        // Churn and retention: admins only (tests/api/churn.rs has the figures).
        Rule {
            method: "GET",
            documented: "/api/admin/analytics/churn",
            path: "/api/admin/analytics/churn?from=2025-01&to=2025-02&group_by=skill".into(),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/analytics/churn.csv",
            path: "/api/admin/analytics/churn.csv?from=2025-01&to=2025-02".into(),
            body: None,
            expect: admin_only(200),
        },
        // The shop's service dashboard.
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/analytics/continuity",
            path: format!("/api/merchants/{a}/analytics/continuity"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/analytics/live",
            path: format!("/api/merchants/{a}/analytics/live"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/analytics/live/stream",
            path: format!("/api/merchants/{a}/analytics/live/stream"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/analytics/report-subscriptions",
            path: format!("/api/merchants/{a}/analytics/report-subscriptions"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "PUT",
            documented: "/api/merchants/{merchant_id}/analytics/report-subscriptions/me",
            path: format!("/api/merchants/{a}/analytics/report-subscriptions/me"),
            body: Some(json!({"daily": false, "weekly": true})),
            // Staff choose for themselves; an admin has no subscription to set.
            expect: shop_a_only(200),
        },
        // The activity timeline and the hours worked per shop.
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/activity",
            path: format!("/api/admin/agents/{}/activity", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/admin/agents/{agent_id}/activity.csv",
            path: format!("/api/admin/agents/{}/activity.csv", cast.agent.id()),
            body: None,
            expect: admin_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/activity",
            path: "/api/agents/me/activity".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/agents/me/activity.csv",
            path: "/api/agents/me/activity.csv".into(),
            body: None,
            expect: agent_only(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/worked-hours",
            path: format!("/api/merchants/{a}/worked-hours"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/worked-hours.csv",
            path: format!("/api/merchants/{a}/worked-hours.csv"),
            body: None,
            expect: shop_a_data(200),
        },
        Rule {
            method: "GET",
            documented: "/api/merchants/{merchant_id}/worked-hours/chats",
            path: format!(
                "/api/merchants/{a}/worked-hours/chats?agent_id={}&day={}",
                cast.agent.id(),
                day(0)
            ),
            body: None,
            expect: shop_a_data(200),
        },
        // Plain GETs, not upgrades: past authorization, the agent is told to upgrade.
        Rule {
            method: "GET",
            documented: "/ws/agent",
            path: "/ws/agent".into(),
            body: None,
            expect: [
                (Who::Anonymous, 401),
                (Who::Agent, 403),
                (Who::ShopA, 403),
                (Who::ShopB, 403),
                (Who::Admin, 403),
            ],
        },
    ]
}

/// Endpoints anyone may call (they authenticate by their body, or not at all).
const PUBLIC: [(&str, &str); 18] = [
    ("GET", "/api/seat-rules"),
    ("POST", "/api/estimates/staffing"),
    ("POST", "/api/quotes"),
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/verify-email"),
    ("POST", "/api/auth/password-reset"),
    ("POST", "/api/auth/password-reset/confirm"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/static/app.css"),
    ("GET", "/static/app.js"),
    // The chat widget shops embed in their own pages.
    ("GET", "/widget.js"),
    // The secret in the URL is the credential (calendar apps cannot sign in).
    ("GET", "/calendar/{token}.ics"),
    // The widget's socket: its first frame carries the widget key or the chat's secret
    // (tests/api/chat.rs covers both and the refusals).
    ("GET", "/ws/customer"),
];

async fn cast(app: &TestApp) -> Cast {
    let agent = app.agent("agent").await;
    let shop_a = app.merchant("Shop A").await;
    let shop_b = app.merchant("Shop B").await;
    let admin = app.admin().await;
    app.smtp.wait_for(&shop_b.email, "Confirm").await;
    let list: Value = app
        .get_as("/api/admin/outbox?status=sent&limit=1", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let sent_mail = list["items"][0]["id"]
        .as_str()
        .expect("a delivered mail")
        .to_owned();
    let mut bookings = Vec::new();
    for offset in 0..3 {
        let res = app
            .post_as(
                "/api/bookings",
                &shop_a.access,
                &json!({"skill": "pre_sale", "start_date": day(21 + offset), "end_date": day(21 + offset),
                        "daily_start_hour": 8, "daily_end_hour": 12, "seats": 1}),
            )
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        bookings.push(body["id"].as_str().unwrap().to_owned());
    }
    let bookings: [String; 3] = bookings.try_into().unwrap();
    let one_question = json!({"format": "toml", "content": "[[question]]\ntopic = \"t\"\nkind = \"single\"\nprompt = \"Pick A\"\noptions = [\"A\", \"B\"]\ncorrect = [1]\n"});
    for skill in ["general", "pre_sale"] {
        let rules = json!({"exam_size": 1, "pass_percent": 80, "duration_minutes": 30, "cooldown_hours": 0, "max_attempts_per_30_days": 0});
        let res = app
            .api
            .put(app.url(&format!("/api/admin/exam-tracks/{skill}")))
            .bearer_auth(&admin.access)
            .json(&rules)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = app
            .post_as(
                &format!("/api/admin/exam-tracks/{skill}/questions/import"),
                &admin.access,
                &one_question,
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let res = app
        .post_as("/api/exams/pre_sale/attempts", &agent.access, &json!({}))
        .await;
    assert_eq!(res.status(), 201);
    let attempt = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_as(
            "/api/merchant/quick-replies",
            &shop_a.access,
            &json!({"title": "Hello", "body": "Hello, how can I help?"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let quick_reply = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = shop_a.merchant_id();
    let created = |res: reqwest::Response| async move {
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let api_key = created(
        app.post_as(
            &format!("/api/merchants/{a}/api-keys"),
            &shop_a.access,
            &json!({"label": "cast"}),
        )
        .await,
    )
    .await;
    // Nothing listens on port 9: deliveries fail fast and are retried later.
    let hook = json!({"url": "http://127.0.0.1:9/hooks", "events": ["ping"]});
    let mut endpoints = Vec::new();
    for _ in 0..2 {
        endpoints.push(
            created(
                app.post_as(
                    &format!("/api/merchants/{a}/webhooks"),
                    &shop_a.access,
                    &hook,
                )
                .await,
            )
            .await,
        );
    }
    let res = app
        .post_as(
            &format!("/api/merchants/{a}/webhooks/{}/ping", endpoints[0]),
            &shop_a.access,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let delivery = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let [endpoint, doomed_endpoint]: [String; 2] = endpoints.try_into().unwrap();
    let key = crate::chat::widget_key(app, &shop_a).await;
    let (ws, chat, _) = crate::chat::start_chat(
        app,
        &key,
        json!({"message": {"client_id": "m1", "body": "Are you open?"}}),
    )
    .await;
    ws.close().await;
    let chat_id = chat.clone();
    let customer = app
        .with_db(move |c| {
            use cloudseat::db::schema::chats;
            use diesel::prelude::*;
            chats::table
                .find(&chat_id)
                .select(chats::customer_id)
                .first::<String>(c)
                .unwrap()
        })
        .await;
    Cast {
        bookings,
        attempt,
        quick_reply,
        agent,
        shop_a,
        shop_b,
        admin,
        sent_mail,
        api_key,
        endpoint,
        doomed_endpoint,
        delivery,
        chat,
        customer,
    }
}

both_backends! {
    async fn every_role_gets_what_it_may_and_nothing_more(app) {
        let cast = cast(&app).await;
        for rule in rules(&app, &cast) {
            for (who, expected) in rule.expect {
                let mut req = match rule.method {
                    "GET" => app.api.get(app.url(&rule.path)),
                    "PUT" => app.api.put(app.url(&rule.path)),
                    "DELETE" => app.api.delete(app.url(&rule.path)),
                    _ => app.api.post(app.url(&rule.path)),
                };
                if let Some(token) = cast.token(who) {
                    req = req.bearer_auth(token);
                }
                if let Some(body) = &rule.body {
                    // A fresh address per caller, so an allowed invite never collides.
                    let mut body = body.clone();
                    if body.get("email").is_some() {
                        body["email"] = json!(app.unique_email("invitee"));
                    }
                    req = req.json(&body);
                }
                let res = req.send().await.unwrap();
                assert_eq!(res.status().as_u16(), expected, "{:?} {} {}", who, rule.method, rule.path);
                if expected >= 400 {
                    assert_eq!(res.headers()["content-type"], "application/problem+json");
                }
            }
        }
    }

    async fn a_shop_never_sees_another_shops_staff(app) {
        let cast = cast(&app).await;
        let b = cast.shop_b.merchant_id();
        // Shop A asking for B's data by id gets exactly what a missing shop gets.
        let res = app.get_as(&format!("/api/merchants/{b}/staff"), &cast.shop_a.access).await;
        let body: Value = res.json().await.unwrap();
        let missing: Value = app
            .get_as("/api/merchants/00000000-0000-7000-8000-000000000000/staff", &cast.shop_a.access)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["code"], missing["code"]);
        // And A's own staff list holds only A's people.
        let own: Value = app
            .get_as(&format!("/api/merchants/{}/staff", cast.shop_a.merchant_id()), &cast.shop_a.access)
            .await
            .json()
            .await
            .unwrap();
        let emails: Vec<&str> = own["items"].as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap()).collect();
        assert_eq!(emails, [cast.shop_a.email.as_str()]);
    }
}

#[tokio::test]
async fn the_matrix_covers_every_documented_endpoint() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let cast = cast(&app).await;
    let doc: Value = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut covered: BTreeSet<(String, String)> = rules(&app, &cast)
        .iter()
        .filter(|r| r.expect.iter().map(|(w, _)| *w).collect::<Vec<_>>() == EVERYONE)
        .map(|r| (r.method.to_owned(), r.documented.to_owned()))
        .collect();
    covered.extend(PUBLIC.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Pages (text/html) have their own tests; every JSON endpoint must be in the matrix.
        for (method, op) in item.as_object().unwrap() {
            let tags = op["tags"].as_array().cloned().unwrap_or_default();
            if tags.iter().any(|t| t == "pages") {
                continue;
            }
            let key = (method.to_uppercase(), path.clone());
            assert!(
                covered.contains(&key),
                "{key:?} has no authorization rule in tests/api/authz.rs"
            );
        }
    }
}
