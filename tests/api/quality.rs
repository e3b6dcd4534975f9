//! Quality: the period facts behind the score, reviews, disputes and model chats.

use chrono::{NaiveDate, NaiveDateTime};
use cloudseat::db::DbConn;
use cloudseat::db::schema::{chat_reviews, chats, customers, review_disputes};
use cloudseat::quality::score::Facts;
use diesel::prelude::*;

use crate::both_backends;

fn at(day: u32, h: u32, m: u32, s: u32, ms: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_milli_opt(h, m, s, ms)
        .unwrap()
}

/// A customer of `merchant`, stored directly.
pub fn insert_customer(conn: &mut DbConn, merchant: &str) -> String {
    let id = cloudseat::db::new_id();
    diesel::insert_into(customers::table)
        .values((
            customers::id.eq(&id),
            customers::merchant_id.eq(merchant),
            customers::notes.eq(""),
            customers::created_at.eq(at(1, 0, 0, 0, 0)),
            customers::updated_at.eq(at(1, 0, 0, 0, 0)),
        ))
        .execute(conn)
        .unwrap();
    id
}

/// A chat stored directly, as the chat service leaves it: `created` .. `closed`, accepted
/// at `accepted` with the first reply at `first_response`.
#[derive(Clone)]
pub struct ChatFixture<'a> {
    pub merchant: &'a str,
    pub customer: &'a str,
    pub agent: Option<&'a str>,
    pub status: &'a str,
    pub created: NaiveDateTime,
    pub accepted: Option<NaiveDateTime>,
    pub first_response: Option<NaiveDateTime>,
    pub closed: Option<NaiveDateTime>,
    pub rating: Option<i32>,
}

pub fn insert_chat(conn: &mut DbConn, c: &ChatFixture<'_>) -> String {
    let id = cloudseat::db::new_id();
    diesel::insert_into(chats::table)
        .values((
            chats::id.eq(&id),
            chats::merchant_id.eq(c.merchant),
            chats::customer_id.eq(c.customer),
            chats::skill.eq("general"),
            chats::channel.eq("widget"),
            chats::status.eq(c.status),
            chats::agent_id.eq(c.agent),
            chats::queued_at.eq(c.created),
            chats::created_at.eq(c.created),
            chats::accepted_at.eq(c.accepted),
            chats::first_response_at.eq(c.first_response),
            chats::closed_at.eq(c.closed),
            chats::rating.eq(c.rating),
            chats::customer_token_hash.eq(format!("hash-{id}")),
            chats::last_customer_at.eq(c.created),
        ))
        .execute(conn)
        .unwrap();
    id
}

/// A review stored directly, with its dispute (`(status, amended)`) if any.
fn insert_review(
    conn: &mut DbConn,
    chat: &str,
    agent: &str,
    merchant: &str,
    reviewer: &str,
    total_x100: i32,
    dispute: Option<(&str, Option<i32>)>,
) {
    let id = cloudseat::db::new_id();
    let closed: Option<NaiveDateTime> = chats::table
        .find(chat)
        .select(chats::closed_at)
        .first(conn)
        .unwrap();
    diesel::insert_into(chat_reviews::table)
        .values((
            chat_reviews::id.eq(&id),
            chat_reviews::chat_id.eq(chat),
            chat_reviews::agent_id.eq(agent),
            chat_reviews::merchant_id.eq(merchant),
            chat_reviews::reviewer_id.eq(reviewer),
            chat_reviews::reviewer_role.eq("admin"),
            chat_reviews::track.eq("general"),
            chat_reviews::scores.eq("[]"),
            chat_reviews::total_x100.eq(total_x100),
            chat_reviews::exemplary.eq(false),
            chat_reviews::ruleset_version.eq("test"),
            chat_reviews::chat_closed_at.eq(closed.unwrap()),
            chat_reviews::created_at.eq(at(5, 0, 0, 0, 0)),
        ))
        .execute(conn)
        .unwrap();
    if let Some((status, amended)) = dispute {
        diesel::insert_into(review_disputes::table)
            .values((
                review_disputes::id.eq(cloudseat::db::new_id()),
                review_disputes::review_id.eq(&id),
                review_disputes::agent_id.eq(agent),
                review_disputes::reason.eq("unfair"),
                review_disputes::status.eq(status),
                review_disputes::amended_x100.eq(amended),
                review_disputes::resolved_by.eq(reviewer),
                review_disputes::created_at.eq(at(5, 1, 0, 0, 0)),
                review_disputes::resolved_at.eq(at(5, 2, 0, 0, 0)),
            ))
            .execute(conn)
            .unwrap();
    }
}

both_backends! {
    async fn period_facts_are_counted_per_agent_in_sql(app) {
        let shop = app.merchant("Facts Shop").await;
        let a = app.agent("Agent A").await.id();
        let b = app.agent("Agent B").await.id();
        let admin = app.admin().await.id();
        let staff = shop.id();
        let m = shop.merchant_id();
        let facts = app
            .with_db(move |conn| {
                let (x, y, z, w) = (
                    insert_customer(conn, &m),
                    insert_customer(conn, &m),
                    insert_customer(conn, &m),
                    insert_customer(conn, &m),
                );
                let base = ChatFixture {
                    merchant: &m,
                    customer: &x,
                    agent: Some(&a),
                    status: "closed",
                    created: at(1, 8, 0, 0, 0),
                    accepted: None,
                    first_response: None,
                    closed: None,
                    rating: None,
                };
                // A: 30.9 s to the first reply is 30 whole seconds, in the 30 s target; 5 stars.
                let c1 = insert_chat(conn, &ChatFixture {
                    accepted: Some(at(1, 9, 0, 0, 0)),
                    first_response: Some(at(1, 9, 0, 30, 900)),
                    closed: Some(at(1, 10, 0, 0, 0)),
                    rating: Some(5),
                    ..base.clone()
                });
                // A: 31 s is late; 2 stars; the customer is back the next day (reopened).
                let c2 = insert_chat(conn, &ChatFixture {
                    customer: &y,
                    accepted: Some(at(1, 10, 0, 0, 0)),
                    first_response: Some(at(1, 10, 0, 31, 0)),
                    closed: Some(at(1, 11, 0, 0, 0)),
                    rating: Some(2),
                    ..base.clone()
                });
                // ... that next chat closes on the period's end: not in the period.
                insert_chat(conn, &ChatFixture {
                    customer: &y,
                    created: at(1, 23, 50, 0, 0),
                    accepted: Some(at(1, 23, 50, 1, 0)),
                    first_response: Some(at(1, 23, 50, 2, 0)),
                    closed: Some(at(2, 0, 0, 0, 0)),
                    rating: Some(1),
                    ..base.clone()
                });
                // A: never answered, unrated; the customer is back after 49 h (resolved).
                insert_chat(conn, &ChatFixture {
                    customer: &z,
                    accepted: Some(at(1, 11, 0, 0, 0)),
                    closed: Some(at(1, 12, 0, 0, 0)),
                    ..base.clone()
                });
                insert_chat(conn, &ChatFixture {
                    customer: &z,
                    agent: None,
                    status: "abandoned",
                    created: at(3, 13, 0, 0, 0),
                    closed: Some(at(3, 13, 5, 0, 0)),
                    ..base.clone()
                });
                // A: closed the day before the period.
                let c4 = insert_chat(conn, &ChatFixture {
                    accepted: Some(at(1, 9, 0, 0, 0)),
                    created: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap().and_hms_opt(20, 0, 0).unwrap(),
                    closed: Some(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap().and_hms_opt(23, 59, 59).unwrap()),
                    rating: Some(1),
                    ..base.clone()
                });
                // B: exactly 30 s (in target), 4 stars; W's second chat began before this
                // one closed, so it does not reopen it.
                let c7 = insert_chat(conn, &ChatFixture {
                    customer: &w,
                    agent: Some(&b),
                    accepted: Some(at(1, 14, 0, 0, 0)),
                    first_response: Some(at(1, 14, 0, 30, 0)),
                    closed: Some(at(1, 15, 0, 0, 0)),
                    rating: Some(4),
                    ..base.clone()
                });
                insert_chat(conn, &ChatFixture {
                    customer: &w,
                    agent: Some(&b),
                    created: at(1, 14, 30, 0, 0),
                    accepted: Some(at(1, 14, 30, 0, 0)),
                    first_response: Some(at(1, 14, 30, 0, 0)),
                    closed: Some(at(1, 16, 0, 0, 0)),
                    rating: Some(3),
                    ..base.clone()
                });
                // B: an abandoned chat does not count (begun before the others closed, it
                // reopens neither).
                insert_chat(conn, &ChatFixture {
                    customer: &w,
                    agent: Some(&b),
                    status: "abandoned",
                    created: at(1, 14, 10, 0, 0),
                    closed: Some(at(1, 17, 0, 0, 0)),
                    rating: Some(1),
                    ..base.clone()
                });
                // Reviews: two of c1, one of c2 amended from 60 to 70 on dispute, one of the
                // chat before the period; B's review keeps its score, the dispute rejected.
                insert_review(conn, &c1, &a, &m, &admin, 8_000, None);
                insert_review(conn, &c1, &a, &m, &staff, 9_000, None);
                insert_review(conn, &c2, &a, &m, &admin, 6_000, Some(("accepted", Some(7_000))));
                insert_review(conn, &c4, &a, &m, &admin, 1_000, None);
                insert_review(conn, &c7, &b, &m, &admin, 5_000, Some(("rejected", None)));
                let facts = cloudseat::quality::store::period_facts(conn, at(1, 0, 0, 0, 0), at(2, 0, 0, 0, 0), 30, 48).unwrap();
                (facts, a, b)
            })
            .await;
        let (facts, a, b) = facts;
        assert_eq!(facts.len(), 2, "{facts:?}");
        assert_eq!(
            facts[&a],
            Facts {
                review_scores_x100: vec![7_000, 8_000, 9_000],
                ratings: vec![2, 5],
                answered: 2,
                answered_in_target: 1,
                closed: 3,
                reopened: 1,
            }
        );
        assert_eq!(
            facts[&b],
            Facts {
                review_scores_x100: vec![5_000],
                ratings: vec![3, 4],
                answered: 2,
                answered_in_target: 2,
                closed: 2,
                reopened: 0,
            }
        );
    }
}
