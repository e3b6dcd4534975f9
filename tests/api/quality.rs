//! Quality: the period facts behind the score, reviews, disputes and model chats.

use chrono::{NaiveDate, NaiveDateTime};
use cloudseat::db::DbConn;
use cloudseat::db::schema::{chat_messages, chat_reviews, chats, model_chats, review_disputes};
use cloudseat::quality::score::Facts;
use diesel::prelude::*;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    ChatFixture, Session, at, field_codes, insert_chat, insert_customer, problem,
};

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
                let (x, y, z, w, v) = (
                    insert_customer(conn, &m),
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
                // A: unanswered, unrated; the customer is back exactly 48 h after it closed,
                // to the millisecond (the window is inclusive: reopened).
                insert_chat(conn, &ChatFixture {
                    customer: &v,
                    accepted: Some(at(1, 18, 0, 0, 0)),
                    closed: Some(at(1, 18, 30, 0, 250)),
                    ..base.clone()
                });
                insert_chat(conn, &ChatFixture {
                    customer: &v,
                    agent: None,
                    status: "abandoned",
                    created: at(3, 18, 30, 0, 250),
                    closed: Some(at(3, 18, 40, 0, 0)),
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
                closed: 4,
                reopened: 2,
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

/// Shop A, the agent who served its closed chat (rated 4, answered in 10 s) with a few
/// messages naming the customer, and the chat's id.
pub async fn reviewed_setup(app: &crate::helpers::TestApp) -> (Session, Session, String) {
    let shop = app.merchant("Review Shop").await;
    let agent = app.agent("Served Agent").await;
    let m = shop.merchant_id();
    let a = agent.id();
    let chat = app
        .with_db(move |conn| {
            let customer = insert_customer(conn, &m);
            let chat = insert_chat(
                conn,
                &ChatFixture {
                    merchant: &m,
                    customer: &customer,
                    agent: Some(&a),
                    status: "closed",
                    created: at(1, 9, 0, 0, 0),
                    accepted: Some(at(1, 9, 0, 0, 0)),
                    first_response: Some(at(1, 9, 0, 10, 0)),
                    closed: Some(at(1, 10, 0, 0, 0)),
                    rating: Some(4),
                },
            );
            diesel::update(chats::table.find(&chat))
                .set(chats::customer_name.eq("Zhang Min"))
                .execute(conn)
                .unwrap();
            for (seq, sender, body) in [
                (
                    1,
                    "customer",
                    "Hi, Zhang Min here, order E2026111100123 has not arrived",
                ),
                (
                    2,
                    "agent",
                    "Sorry Zhang Min! I will call you on 138-0013-8000 or mail zm@example.com",
                ),
            ] {
                diesel::insert_into(chat_messages::table)
                    .values((
                        chat_messages::chat_id.eq(&chat),
                        chat_messages::seq.eq(seq),
                        chat_messages::sender.eq(sender),
                        chat_messages::body.eq(body),
                        chat_messages::created_at.eq(at(1, 9, 1, seq as u32, 0)),
                    ))
                    .execute(conn)
                    .unwrap();
            }
            chat
        })
        .await;
    (shop, agent, chat)
}

/// Every criterion of the fixture's `general` scorecard at its top but `tone`.
pub fn full_scores(tone: i64) -> Value {
    json!({"scores": [
        {"criterion": "accuracy", "score": 4, "comment": "Checked the order"},
        {"criterion": "resolution", "score": 4},
        {"criterion": "tone", "score": tone, "comment": "A bit curt"},
        {"criterion": "process", "score": 2},
    ]})
}

both_backends! {
    async fn chats_are_reviewed_on_their_scorecard_by_admins_and_their_shop(app) {
        let (shop, agent, chat) = reviewed_setup(&app).await;
        let admin = app.admin().await;
        let other_shop = app.merchant("Other Shop").await;
        let other_agent = app.agent("Other Agent").await;
        let path = format!("/api/chats/{chat}/reviews");

        // accuracy 40% + resolution 30% + tone 2/4 of 20% + process 10% = 90.
        let res = app.post_as(&path, &admin.access, &full_scores(2)).await;
        assert_eq!(res.status(), 201);
        let review: Value = res.json().await.unwrap();
        assert_eq!(review["total_x100"], 9_000);
        assert_eq!(review["reviewer_role"], "admin");
        assert_eq!(review["track"], "general");
        assert_eq!(review["scores"][0]["comment"], "Checked the order");
        assert_eq!(review["scores"][2]["max"], 4);

        let res = app.post_as(&path, &shop.access, &full_scores(4)).await;
        assert_eq!(res.status(), 201);
        let by_shop: Value = res.json().await.unwrap();
        assert_eq!((by_shop["total_x100"].as_u64(), by_shop["reviewer_role"].as_str()), (Some(10_000), Some("merchant")));

        // Reviewing twice, another shop's chat, one's own chat, as another agent.
        problem(app.post_as(&path, &admin.access, &full_scores(3)).await, 409, "already_reviewed").await;
        problem(app.post_as(&path, &other_shop.access, &full_scores(3)).await, 404, "not_found").await;
        problem(app.post_as(&path, &agent.access, &full_scores(4)).await, 403, "own_chat").await;
        problem(app.post_as(&path, &other_agent.access, &full_scores(4)).await, 403, "wrong_role").await;
        problem(app.post_as("/api/chats/no-such-chat/reviews", &admin.access, &full_scores(4)).await, 404, "not_found").await;

        // Bad scores: each named.
        let other_admin = app.admin().await;
        let body = problem(app.post_as(&path, &other_admin.access, &full_scores(5)).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("scores[2].score".to_owned(), "out_of_scale".to_owned())]);
        let body = problem(app.post_as(&path, &other_admin.access, &full_scores(-1)).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("scores[2].score".to_owned(), "out_of_scale".to_owned())]);
        let body = problem(
            app.post_as(&path, &other_admin.access, &json!({"scores": [
                {"criterion": "speed", "score": 1},
                {"criterion": "accuracy", "score": 4},
                {"criterion": "accuracy", "score": 3},
            ]}))
            .await,
            422,
            "validation_failed",
        )
        .await;
        let codes = field_codes(&body);
        assert!(codes.contains(&("scores[0].criterion".to_owned(), "unknown_criterion".to_owned())), "{codes:?}");
        assert!(codes.contains(&("scores[2].criterion".to_owned(), "duplicate".to_owned())), "{codes:?}");
        let missing: Vec<&str> = body["errors"].as_array().unwrap().iter()
            .filter(|e| e["code"] == "missing_criterion")
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing.iter().any(|m| m.contains("`tone`")), "{missing:?}");

        // A chat still open is not reviewed.
        let m = shop.merchant_id();
        let a = agent.id();
        let open = app.with_db(move |conn| {
            let customer = insert_customer(conn, &m);
            insert_chat(conn, &ChatFixture {
                merchant: &m, customer: &customer, agent: Some(&a), status: "assigned",
                created: at(1, 9, 0, 0, 0), accepted: Some(at(1, 9, 0, 0, 0)),
                first_response: None, closed: None, rating: None,
            })
        }).await;
        problem(app.post_as(&format!("/api/chats/{open}/reviews"), &admin.access, &full_scores(4)).await, 409, "chat_not_reviewable").await;

        // The chat's reviews: its shop, admins and its agent read them; others do not.
        for who in [&admin, &shop, &agent] {
            let list: Value = app.get_as(&path, &who.access).await.json().await.unwrap();
            assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
        }
        problem(app.get_as(&path, &other_shop.access).await, 404, "not_found").await;
        problem(app.get_as(&path, &other_agent.access).await, 403, "wrong_role").await;

        // The agent's own reviews, newest first, paged, with the comments.
        let page: Value = app.get_as("/api/agents/me/reviews?limit=1", &agent.access).await.json().await.unwrap();
        assert_eq!(page["items"][0]["id"], by_shop["id"]);
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let page: Value = app.get_as(&format!("/api/agents/me/reviews?limit=1&cursor={cursor}"), &agent.access).await.json().await.unwrap();
        assert_eq!(page["items"][0]["id"], review["id"]);
        assert_eq!(page["items"][0]["scores"][2]["comment"], "A bit curt");
        assert!(page["next_cursor"].is_null());
        let theirs: Value = app.get_as("/api/agents/me/reviews", &other_agent.access).await.json().await.unwrap();
        assert_eq!(theirs["items"], json!([]));
    }

    async fn an_exemplary_chat_joins_the_library_masked(app) {
        let (_shop, _agent, chat) = reviewed_setup(&app).await;
        let admin = app.admin().await;
        let mut body = full_scores(4);
        body["exemplary"] = json!(true);
        let res = app.post_as(&format!("/api/chats/{chat}/reviews"), &admin.access, &body).await;
        assert_eq!(res.status(), 201);
        let c = chat.clone();
        let transcript: String = app.with_db(move |conn| {
            model_chats::table.filter(model_chats::chat_id.eq(&c)).select(model_chats::transcript).first(conn).unwrap()
        }).await;
        let lines: Value = serde_json::from_str(&transcript).unwrap();
        assert_eq!(lines[0]["body"], "Hi, [customer] here, order [order no.] has not arrived");
        assert_eq!(lines[1]["body"], "Sorry [customer]! I will call you on [phone] or mail [email]");
        assert_eq!(lines[1]["sender"], "agent");

        // The library: admins and certified agents read the masked snapshot only.
        let shop = app.merchant("Library Shop").await;
        let reader = app.agent("Reader").await;
        let list_path = "/api/model-chats?skill=general";
        problem(app.get_as(list_path, &reader.access).await, 403, "not_certified").await;
        problem(app.get_as(list_path, &shop.access).await, 403, "wrong_role").await;
        let r = reader.id();
        app.with_db(move |conn| {
            diesel::update(cloudseat::db::schema::agents::table.find(&r))
                .set(cloudseat::db::schema::agents::status.eq("certified"))
                .execute(conn)
                .unwrap();
        })
        .await;
        let list: Value = app.get_as(list_path, &reader.access).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list["items"][0]["messages"], 2);
        let id = list["items"][0]["id"].as_str().unwrap().to_owned();
        let one: Value = app.get_as(&format!("/api/model-chats/{id}"), &reader.access).await.json().await.unwrap();
        assert_eq!(one["transcript"], lines);
        assert!(!one.to_string().contains("Zhang"), "{one}");
        let by_admin: Value = app.get_as(&format!("/api/model-chats/{id}"), &admin.access).await.json().await.unwrap();
        assert_eq!(by_admin["id"], id.as_str());
        problem(app.get_as("/api/model-chats/no-such", &reader.access).await, 404, "not_found").await;
        let other: Value = app.get_as("/api/model-chats?skill=pre_sale", &admin.access).await.json().await.unwrap();
        assert_eq!(other["items"], json!([]));
    }

    async fn the_reviewed_agent_disputes_once_and_an_admin_resolves_it(app) {
        let (_shop, agent, chat) = reviewed_setup(&app).await;
        let admin = app.admin().await;
        let other_agent = app.agent("Bystander").await;
        let review: Value = app.post_as(&format!("/api/chats/{chat}/reviews"), &admin.access, &full_scores(0)).await.json().await.unwrap();
        assert_eq!(review["total_x100"], 8_000);
        let review_id = review["id"].as_str().unwrap().to_owned();
        let path = format!("/api/reviews/{review_id}/dispute");

        problem(app.post_as(&path, &other_agent.access, &json!({"reason": "not mine"})).await, 404, "not_found").await;
        let body = problem(app.post_as(&path, &agent.access, &json!({"reason": "  "})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("reason".to_owned(), "required".to_owned())]);
        let res = app.post_as(&path, &agent.access, &json!({"reason": "I was polite; see message 2"})).await;
        assert_eq!(res.status(), 201);
        let dispute: Value = res.json().await.unwrap();
        assert_eq!(dispute["status"], "open");
        problem(app.post_as(&path, &agent.access, &json!({"reason": "again"})).await, 409, "already_disputed").await;

        let queue: Value = app.get_as("/api/admin/review-disputes", &admin.access).await.json().await.unwrap();
        assert_eq!(queue["items"][0]["id"], dispute["id"]);

        let resolve = format!("/api/admin/review-disputes/{}/resolve", dispute["id"].as_str().unwrap());
        let body = problem(app.post_as(&resolve, &admin.access, &json!({"decision": "accept"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("amended_x100".to_owned(), "required".to_owned())]);
        let body = problem(app.post_as(&resolve, &admin.access, &json!({"decision": "reject"})).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("answer".to_owned(), "required".to_owned())]);
        let res = app.post_as(&resolve, &admin.access, &json!({"decision": "accept", "amended_x100": 9_000, "answer": "Fair point"})).await;
        assert_eq!(res.status(), 200);
        let resolved: Value = res.json().await.unwrap();
        assert_eq!((resolved["status"].as_str(), resolved["amended_x100"].as_u64()), (Some("accepted"), Some(9_000)));
        problem(app.post_as(&resolve, &admin.access, &json!({"decision": "reject", "answer": "no"})).await, 409, "already_resolved").await;
        app.smtp.wait_for(&agent.email, "review dispute").await;
        let audited = app.with_db(|conn| {
            cloudseat::db::schema::audit_log::table
                .filter(cloudseat::db::schema::audit_log::action.eq("review_dispute.resolved"))
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        }).await;
        assert_eq!(audited, 1);

        // The amended score counts: reviews 90, ratings 4 stars = 75, first reply in target
        // 100, resolved 100 -> 0.4*90 + 0.3*75 + 0.2*100 + 0.1*100 = 88.5.
        let q: Value = app.get_as("/api/agents/me/quality?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", &agent.access).await.json().await.unwrap();
        assert_eq!(q["score"]["score_x100"], 8_850, "{q}");
        assert_eq!(q["score"]["parts"][0]["value_x100"], 9_000);
        assert_eq!(q["trend"].as_array().unwrap().len(), 6);
        let same: Value = app.get_as(&format!("/api/admin/agents/{}/quality?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", agent.id()), &admin.access).await.json().await.unwrap();
        assert_eq!(same["score"], q["score"]);
        problem(app.get_as(&format!("/api/admin/agents/{}/quality", admin.id()), &admin.access).await, 404, "not_found").await;
        let body = problem(app.get_as("/api/agents/me/quality?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", &agent.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("to".to_owned(), "period_inverted".to_owned())]);

        // A review past the dispute window is not disputed.
        let later: Value = app.post_as(&format!("/api/chats/{chat}/reviews"), &app.admin().await.access, &full_scores(1)).await.json().await.unwrap();
        app.clock.advance(chrono::Duration::hours(73));
        let body = problem(
            app.post_as(&format!("/api/reviews/{}/dispute", later["id"].as_str().unwrap()), &agent.access, &json!({"reason": "late"})).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(field_codes(&body), [("review_id".to_owned(), "dispute_window_closed".to_owned())]);
    }
}

/// A period to sample: shop "Sample Shop", agent "Sampled A" with 14 chats closed on
/// 1 November (one rated 1 star, one answered in 45 s, the rest 4 stars in 5 s) and
/// "Sampled B" with 3 unrated ones. Returns the shop, the admin, both agents' ids and the
/// low-rated and slow chats.
pub struct SampleSetup {
    pub shop: Session,
    pub admin: Session,
    pub a: String,
    pub b: String,
    pub low: String,
    pub slow: String,
}

pub async fn sample_setup(app: &crate::helpers::TestApp) -> SampleSetup {
    let shop = app.merchant("Sample Shop").await;
    let admin = app.admin().await;
    let a = app.agent("Sampled A").await.id();
    let b = app.agent("Sampled B").await.id();
    let m = shop.merchant_id();
    let (aa, bb) = (a.clone(), b.clone());
    let (low, slow) = app
        .with_db(move |conn| {
            let customer = insert_customer(conn, &m);
            let chat = |conn: &mut DbConn,
                        agent: &str,
                        minute: u32,
                        rating: Option<i32>,
                        reply_secs: u32| {
                insert_chat(
                    conn,
                    &ChatFixture {
                        merchant: &m,
                        customer: &customer,
                        agent: Some(agent),
                        status: "closed",
                        created: at(1, 9, minute, 0, 0),
                        accepted: Some(at(1, 9, minute, 0, 0)),
                        first_response: Some(at(1, 9, minute, reply_secs, 0)),
                        closed: Some(at(1, 10, minute, 0, 0)),
                        rating,
                    },
                )
            };
            let low = chat(conn, &aa, 0, Some(1), 5);
            let slow = chat(conn, &aa, 1, Some(5), 45);
            for i in 2..14 {
                chat(conn, &aa, i, Some(4), 5);
            }
            for i in 0..3 {
                chat(conn, &bb, 20 + i, None, 5);
            }
            (low, slow)
        })
        .await;
    SampleSetup {
        shop,
        admin,
        a,
        b,
        low,
        slow,
    }
}

both_backends! {
    async fn the_review_sample_proposes_flagged_chats_then_draws_per_agent(app) {
        let SampleSetup { admin, a, b, low, slow, .. } = sample_setup(&app).await;
        let admin_token = admin.access.clone();
        let body = json!({"scores": [
            {"criterion": "accuracy", "score": 4}, {"criterion": "resolution", "score": 4},
            {"criterion": "tone", "score": 4}, {"criterion": "process", "score": 2},
        ]});
        assert_eq!(app.post_as(&format!("/api/chats/{low}/reviews"), &admin_token, &body).await.status(), 201);

        let path = "/api/admin/quality/sample?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z";
        let all: Value = app.get_as(path, &admin.access).await.json().await.unwrap();
        let items = all["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{all}");
        let of = |id: &str| items.iter().find(|i| i["agent_id"] == id).unwrap().clone();
        let sample_a = of(&a);
        // New (never certified): 10 chats of 14, the low rating and the slow reply first.
        assert_eq!(sample_a["new_agent"], true);
        assert_eq!(sample_a["closed_chats"], 14);
        let proposed = sample_a["proposed"].as_array().unwrap();
        assert_eq!(proposed.len(), 10);
        assert_eq!((proposed[0]["chat_id"].as_str(), proposed[0]["reason"].as_str(), proposed[0]["reviewed"].as_bool()), (Some(low.as_str()), Some("low_rating"), Some(true)));
        assert_eq!((proposed[1]["chat_id"].as_str(), proposed[1]["reason"].as_str(), proposed[1]["reviewed"].as_bool()), (Some(slow.as_str()), Some("slow_first_response"), Some(false)));
        assert!(proposed[2..].iter().all(|p| p["reason"] == "drawn" && p["reviewed"] == false));
        // Few chats: every one is proposed.
        assert_eq!(of(&b)["proposed"].as_array().unwrap().len(), 3);
        // The same sample every time, page by page.
        let first: Value = app.get_as(&format!("{path}&limit=1"), &admin.access).await.json().await.unwrap();
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let second: Value = app.get_as(&format!("{path}&limit=1&cursor={cursor}"), &admin.access).await.json().await.unwrap();
        assert_eq!(json!([first["items"][0], second["items"][0]]), all["items"]);
        assert!(second["next_cursor"].is_null());
        let body = problem(app.get_as("/api/admin/quality/sample?from=yesterday", &admin.access).await, 422, "validation_failed").await;
        assert_eq!(field_codes(&body), [("from".to_owned(), "invalid_instant".to_owned())]);
    }
}

/// Every chat's `next_chat_at` as the rule defines it, recomputed from scratch: the start
/// of the earliest other chat of the same customer with the same shop begun after the
/// chat closed; `None` while open or when there is none.
fn next_chats_from_scratch(conn: &mut DbConn) -> Vec<(String, Option<NaiveDateTime>)> {
    type Row = (String, String, String, NaiveDateTime, Option<NaiveDateTime>);
    let rows: Vec<Row> = chats::table
        .select((
            chats::id,
            chats::merchant_id,
            chats::customer_id,
            chats::created_at,
            chats::closed_at,
        ))
        .order(chats::id)
        .load(conn)
        .unwrap();
    rows.iter()
        .map(|(id, merchant, customer, _, closed)| {
            let next = closed.and_then(|closed| {
                rows.iter()
                    .filter(|o| &o.0 != id && &o.1 == merchant && &o.2 == customer && o.3 > closed)
                    .map(|o| o.3)
                    .min()
            });
            (id.clone(), next)
        })
        .collect()
}

/// Asserts that the stored `next_chat_at` of every chat follows the rule; returns them.
fn assert_next_chats(
    conn: &mut DbConn,
    step: &str,
) -> std::collections::BTreeMap<String, Option<NaiveDateTime>> {
    let stored: Vec<(String, Option<NaiveDateTime>)> = chats::table
        .select((chats::id, chats::next_chat_at))
        .order(chats::id)
        .load(conn)
        .unwrap();
    assert_eq!(stored, next_chats_from_scratch(conn), "after {step}");
    stored.into_iter().collect()
}

both_backends! {
    async fn next_chat_at_follows_every_write_of_a_customers_chats(app) {
        use cloudseat::accounts::model::MerchantId;
        use cloudseat::chat::identity::{Identity, IdentityKind};
        use std::collections::BTreeSet;

        let m = app.merchant("Next Chat Shop").await.merchant_id();
        let other_shop = app.merchant("Other Shop").await.merchant_id();
        app.with_db(move |conn| {
            let link = |conn: &mut DbConn, ids: &[(IdentityKind, &str)]| {
                let set: BTreeSet<Identity> =
                    ids.iter().map(|(k, v)| Identity::parse(*k, v).unwrap()).collect();
                conn.transaction(|c| {
                    cloudseat::chat::store::link_customer(c, &MerchantId(m.clone()), &set, None, at(1, 0, 0, 0, 0))
                })
                .unwrap()
                .0
            };
            let x = link(conn, &[(IdentityKind::Phone, "+8613800000001")]);
            let y = link(conn, &[(IdentityKind::DeviceId, "device-y")]);
            let base = ChatFixture {
                merchant: &m,
                customer: &x,
                agent: None,
                status: "closed",
                created: at(1, 10, 0, 0, 0),
                accepted: None,
                first_response: None,
                closed: Some(at(1, 11, 0, 0, 0)),
                rating: None,
            };
            let close = |conn: &mut DbConn, id: &str, when: Option<NaiveDateTime>| {
                diesel::update(chats::table.find(id))
                    .set((chats::status.eq(if when.is_some() { "closed" } else { "queued" }), chats::closed_at.eq(when)))
                    .execute(conn)
                    .unwrap();
            };

            // X's first chat, inserted closed: nothing after it yet.
            let a = insert_chat(conn, &base);
            assert_eq!(assert_next_chats(conn, "a closed chat")[&a], None);
            // X's next chat, inserted after a closed: a's next chat.
            let b = insert_chat(conn, &ChatFixture { status: "queued", created: at(1, 12, 0, 0, 0), closed: None, ..base.clone() });
            let s = assert_next_chats(conn, "a later chat");
            assert_eq!((s[&a], s[&b]), (Some(at(1, 12, 0, 0, 0)), None));
            // One begun earlier than b but inserted after it (and closed): the new next of a.
            let e = insert_chat(conn, &ChatFixture { created: at(1, 11, 30, 0, 0), closed: Some(at(1, 11, 45, 0, 0)), ..base.clone() });
            let s = assert_next_chats(conn, "an earlier chat inserted later");
            assert_eq!((s[&a], s[&e]), (Some(at(1, 11, 30, 0, 0)), Some(at(1, 12, 0, 0, 0))));
            // X writes again (p) while b is still open; b then closes before p began: p is
            // b's next chat although it was inserted before b closed.
            let p = insert_chat(conn, &ChatFixture { status: "queued", created: at(1, 12, 45, 0, 0), closed: None, ..base.clone() });
            close(conn, &b, Some(at(1, 12, 30, 0, 0)));
            assert_eq!(assert_next_chats(conn, "closing b")[&b], Some(at(1, 12, 45, 0, 0)));
            // Closed later than p began: p no longer counts for b.
            close(conn, &b, Some(at(1, 13, 0, 0, 0)));
            assert_eq!(assert_next_chats(conn, "closing b later")[&b], None);
            // A chat of X with another shop is no next chat; X's next one with this shop is.
            let c = insert_chat(conn, &ChatFixture { merchant: &other_shop, created: at(1, 14, 0, 0, 0), closed: Some(at(1, 14, 5, 0, 0)), ..base.clone() });
            let q = insert_chat(conn, &ChatFixture { created: at(2, 9, 0, 0, 0), closed: Some(at(2, 9, 10, 0, 0)), ..base.clone() });
            let s = assert_next_chats(conn, "another shop's chat");
            assert_eq!((s[&b], s[&c]), (Some(at(2, 9, 0, 0, 0)), None));
            // Y's chats: one closed at 13:10, one the next day.
            let f = insert_chat(conn, &ChatFixture { customer: &y, created: at(1, 13, 0, 0, 0), closed: Some(at(1, 13, 10, 0, 0)), ..base.clone() });
            let g = insert_chat(conn, &ChatFixture { customer: &y, status: "queued", created: at(3, 8, 0, 0, 0), closed: None, ..base.clone() });
            let s = assert_next_chats(conn, "the other customer's chats");
            assert_eq!((s[&f], s[&g]), (Some(at(3, 8, 0, 0, 0)), None));
            // One-ID: a chat carrying both identities merges X and Y; the absorbed one's
            // chats move to the survivor, whose chats then follow each other.
            let survivor = link(conn, &[(IdentityKind::Phone, "+8613800000001"), (IdentityKind::DeviceId, "device-y")]);
            let moved: i64 = chats::table.filter(chats::customer_id.eq(&survivor)).count().get_result(conn).unwrap();
            assert_eq!(moved, 8, "every chat now the survivor's");
            let s = assert_next_chats(conn, "the merge");
            // b closed at 13:00 when Y's f began (not after it): b's next is q the next
            // day, as is f's; e's is still b.
            assert_eq!((s[&b], s[&f]), (Some(at(2, 9, 0, 0, 0)), Some(at(2, 9, 0, 0, 0))));
            assert_eq!(s[&e], Some(at(1, 12, 0, 0, 0)));
            // Deleted: the chats it was next to look again.
            diesel::delete(chats::table.find(&b)).execute(conn).unwrap();
            assert_eq!(assert_next_chats(conn, "deleting b")[&e], Some(at(1, 12, 45, 0, 0)));
            diesel::delete(chats::table.find(&q)).execute(conn).unwrap();
            let s = assert_next_chats(conn, "deleting q");
            assert_eq!(s[&f], Some(at(3, 8, 0, 0, 0)));
            // Reopened (closed_at cleared): no next chat.
            close(conn, &f, None);
            assert_eq!(assert_next_chats(conn, "reopening f")[&f], None);
            let _ = (p, g);
        })
        .await;
    }
}
