//! Two instances on one PostgreSQL database serve the same chats: an agent connected to
//! one and a customer connected to the other hear each other through the chat relay
//! (LISTEN/NOTIFY), including frames too large for a notification.

use std::time::{Duration as StdDuration, Instant};

use cloudseat::chat::bus::APPLICATION_NAME;
use diesel::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::chat::{Ws, agent_ws, staffed, start_chat, widget_key};
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

/// A second instance on the first one's database, its clock where the first one's is.
async fn second_instance(first: &TestApp) -> TestApp {
    let url = first.db_url.clone();
    let second = spawn_app_with(Backend::Postgres, move |s| {
        s.database_url = Some(SecretString::from(url));
    })
    .await;
    second.clock.advance(first.clock.now() - second.clock.now());
    second
}

/// The backend pids of the relays' connections to the test database, once they listen.
async fn relay_backends(app: &TestApp) -> Vec<i32> {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    app.with_db(|c| {
        diesel::sql_query(format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = '{APPLICATION_NAME}' AND query <> ''"
        ))
        .load::<Pid>(c)
        .unwrap()
        .into_iter()
        .map(|p| p.pid)
        .collect()
    })
    .await
}

async fn relay_count(app: &TestApp, event: &str) -> u64 {
    let text = app
        .api
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = format!("cloudseat_chat_relay_frames_total{{event=\"{event}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&needle))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// The next message `ws` gets from the other side (its own come back as acks).
async fn message_from(ws: &mut Ws, from: &str) -> Value {
    loop {
        let message = ws.until("message").await;
        if message["from"] == from {
            return message;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_and_a_customer_on_different_instances_chat() {
    let first = spawn_app(Backend::Postgres).await;
    let (shop, agents) = staffed(&first, 1).await;
    let second = second_instance(&first).await;

    // The agent works on the first instance; the customer's widget reached the second.
    let (mut agent, _) = agent_ws(&first, &agents[0]).await;
    let key = widget_key(&first, &shop).await;
    let (mut customer, chat, _) = start_chat(
        &second,
        &key,
        json!({"message": {"client_id": "m1", "body": "Where is my parcel?"}}),
    )
    .await;

    // The second instance routed the chat; its offer reaches the agent on the first.
    let offer = agent.until("offer").await;
    assert_eq!(offer["card"]["chat"], chat.as_str());
    agent.send(json!({"type": "accept", "chat": chat})).await;
    let assigned = agent.until("assigned").await;
    assert_eq!(assigned["messages"][0]["body"], "Where is my parcel?");
    assert_eq!(
        customer.until("agent_joined").await["agent_name"],
        "Agent 0"
    );

    customer
        .send(json!({"type": "message", "client_id": "m2", "body": "Order 1001"}))
        .await;
    assert_eq!(
        message_from(&mut agent, "customer").await["body"],
        "Order 1001"
    );
    agent
        .send(json!({"type": "message", "chat": chat, "client_id": "a1", "body": "On its way."}))
        .await;
    assert_eq!(
        message_from(&mut customer, "agent").await["body"],
        "On its way."
    );

    // A frame over PostgreSQL's 8000-byte notification limit goes through the relay table.
    let long = "货".repeat(3000);
    agent
        .send(json!({"type": "message", "chat": chat, "client_id": "a2", "body": long}))
        .await;
    let got = message_from(&mut customer, "agent").await;
    assert_eq!(got["client_id"], "a2");
    assert_eq!(got["body"].as_str().unwrap(), long);

    // The relay's connections drop (a database restart, a network blip): both reconnect,
    // and frames flow again.
    let old = relay_backends(&first).await;
    assert_eq!(old.len(), 2, "one relay connection per instance");
    first
        .with_db(|c| {
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = '{APPLICATION_NAME}'"
            ))
            .execute(c)
            .unwrap();
        })
        .await;
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let now = relay_backends(&first).await;
        if now.len() == 2 && now.iter().all(|pid| !old.contains(pid)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relays did not reconnect: {now:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(relay_count(&first, "errors").await >= 1);
    customer
        .send(json!({"type": "message", "client_id": "m3", "body": "Thanks!"}))
        .await;
    assert_eq!(
        message_from(&mut agent, "customer").await["body"],
        "Thanks!"
    );

    agent.send(json!({"type": "close", "chat": chat})).await;
    assert_eq!(customer.until("closed").await["by"], "agent");
    customer
        .send(json!({"type": "rate", "score": 5, "comment": "quick"}))
        .await;
    assert_eq!(agent.until("rated").await["score"], 5);

    // Each instance received what the other published, and nothing was dropped.
    assert!(relay_count(&first, "received").await >= 3);
    assert!(relay_count(&second, "received").await >= 4);
    assert_eq!(relay_count(&first, "dropped").await, 0);
    assert_eq!(relay_count(&second, "dropped").await, 0);
    customer.close().await;
    agent.close().await;
}
